"""Gamma-model-based value expansion with a soft actor-critic learner (gamma-MVE; Janner, Mordatch
and Levine 2020, "Generative Temporal Difference Learning for Infinite-Horizon Prediction", Sec. 5).

**The paper's estimator.** With a gamma-model mu of discount g <= gamma (the critic's discount)
and its n-fold composition x_n ~ mu(. | x_{n-1}, pi(x_{n-1})), the value of discount gamma is

    V(s_t) ~= 1 / (1 - gamma) sum_{n=1}^{H} alpha_n E_{x_n} [r(x_n)] + beta^H E_{x_H} [V(x_H)],

    beta = (gamma - g) / (1 - g),    alpha_n = (1 - beta) beta^(n-1)

(:mod:`algorithms.gamma_value`): MVE's H one-step rewards become H geometrically long jumps,
and g = 0 gives MVE itself. The paper's gamma-models are GANs or normalising flows over a state
reward r(s), its critic is a state value, and each target averages the model's draws.

**The zoo's estimator.** The same expansion for SAC's soft Q and the zoo's transition rewards.
For a real transition (s, a, r, s', d), x_0 = s, x_1 ~ mu(. | s, a) (the real action), then
a_n ~ pi(. | x_n) and x_{n+1} ~ mu(. | x_n, a_n), one draw per row. With the state reward
rho(x_n) = (1 - end(x_n)) reward_fn(x_n, a_n, x_n) (:func:`~algorithms.gamma_value.occupancy_reward`,
exact for rewards of one state) and the soft reward rho~(x_n) = rho(x_n) - alpha (1 - end(x_n))
log pi(a_n | x_n), the target of the critics at (s, a) is

    y = r + (1 - d) [ gamma / (1 - gamma) sum_{n=1}^{H} alpha_n rho~(x_n)
                      + beta^H (1 - end(x_H)) (min_j Q'_j(x_H, a_H) - reward_fn(x_H, a_H, x_H)) ],

because sum_{k>=1} gamma^k rho~(s_k) = gamma / (1 - gamma) E_{mu_gamma}[rho~] and the draws past x_H
are, by the geometric delays' lack of memory, mu_gamma's draws from (x_H, a_H), worth
(1 - gamma) (Q'(x_H, a_H) - rho(x_H)) / gamma in that expectation (the entropy bonus at x_H
cancels). ``model.discount`` = g = gamma and H = 1 make y = r + gamma / (1 - gamma) rho~(x_1)
(the gamma-model as the whole value, no critic bootstrap); g = 0 makes it MVE of horizon H - 1
from a model next state x_1 instead of the real s'.

The gamma-model learns the occupancy of the current SAC policy as it changes: after
``random_steps`` it takes ``gamma_warmup`` generative-TD steps on all real data (a' ~ pi(. | s')
of the policy of the time, bootstrapping from its own Polyak-averaged target copy, as
:func:`~mbrl_zoo.models.gamma.fit_gamma` does), then ``gamma_updates_per_step`` steps after every
env step. The critics learn the real pairs only; the actor and temperature learn as in SAC.

Shapes: ``batch`` (N, ...) real transitions; draws x_n (N, O), a_n (N, A); alpha_n (H,);
targets (N,).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.gamma import GammaModel, fit_gamma, td_step
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.settings import setting
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch

from algorithms import sac
from algorithms.gamma_value import composition_weights, occupancy_reward
from algorithms.loop import EnvLoop, add_step
from algorithms.sac import SACAgent

__all__ = ["Config", "gamma_mve_targets", "train"]


@dataclass(frozen=True)
class Config(sac.AgentSettings, sac.InteractionSettings):
    """SAC's settings and the gamma-model's training and use (its discount g, network and
    mixture are the ``model`` section's ``discount``, ``hidden``, ``layers``, ``components``)."""

    random_steps: int = 1000
    """Uniform-random env steps before the gamma-model's warm-up and the first update."""
    horizon: int = setting(1, "[1, 1000]")
    """H: gamma-model compositions in every critic target (the paper's value-expansion depth)."""
    gamma_warmup: int = setting(1000, ">= 0")
    """Generative-TD steps on all real data when the random steps end."""
    gamma_updates_per_step: int = setting(1, ">= 0")
    """Generative-TD steps after every later env step."""
    gamma_batch_size: int = setting(256, ">= 1")
    gamma_lr: float = setting(1e-3, "> 0")
    gamma_tau: float = setting(0.005, "(0, 1]")
    """Polyak factor of the gamma-model's target copy."""


@torch.no_grad()
def gamma_mve_targets(model, agent: SACAgent, batch: Batch, horizon: int, reward_fn: RewardFn,
                      termination_fn: TerminationFn, generator: torch.Generator | None = None) -> torch.Tensor:
    """The gamma-MVE critic targets y (N,) of the real transitions ``batch`` (N, ...) (module
    docstring). ``model`` is the gamma-model (``sample(obs, act, generator)``, ``discount`` = g);
    ``agent`` gives pi, alpha, the discount gamma and the target critics. Policy noise comes from
    the agent's generator, occupancy draws from ``generator``."""
    gamma, alpha = agent.discount, agent.alpha
    weights, tail_weight = composition_weights(gamma, model.discount, horizon)
    obs, act = batch.obs, batch.act
    expansion = torch.zeros_like(batch.rew)
    for n in range(horizon):
        obs = model.sample(obs, act, generator=generator).to(batch.obs.dtype)
        act, log_prob = agent.policy(obs)
        rho, alive = occupancy_reward(reward_fn, termination_fn, obs, act)
        expansion += weights[n] * (rho - alpha * alive * log_prob)
    bootstrap = agent.q_values(obs, act, target=True).min(0).values - reward_fn(obs, act, obs).reshape(-1).float()
    value = gamma / (1.0 - gamma) * expansion + tail_weight * alive * bootstrap
    return batch.rew + (~batch.terminated).float() * value


def train(config: RunConfig, run: Run) -> None:
    """Gamma-MVE-SAC for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    gamma_model: GammaModel = config.make_model(loop.obs_dim, loop.act_dim)
    if gamma_model.discount > cfg.discount:
        raise UserError(f"model.discount={gamma_model.discount} must not exceed algorithm.discount={cfg.discount}: "
                        "gamma-MVE composes a gamma-model of a shorter discount into the critic's.")
    agent = SACAgent.for_loop(cfg, loop)
    optimizer = torch.optim.Adam(gamma_model.density.parameters(), lr=cfg.gamma_lr)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    reward_fn, termination_fn = loop.spec.reward_fn, loop.spec.termination_fn
    if reward_fn is None:
        raise UserError(f"gamma-mve needs a task with a known reward_fn to score occupancy states; task "
                        f"{loop.spec.name!r} has none.")
    loop.keep(agent=agent, gamma_model=gamma_model, gamma_optimizer=optimizer, real=real)
    loop.evaluate_with(agent.greedy)

    def pi(obs: torch.Tensor) -> torch.Tensor:
        return agent.policy(obs)[0]

    for obs in loop:
        action = loop.random_action() if loop.env_step < cfg.random_steps else agent.act(obs)
        add_step(real, loop.step(action))
        if loop.env_step < cfg.random_steps:
            continue
        if not bool(gamma_model.fitted):  # the first learning step: normalisers and warm-up
            fit = fit_gamma(gamma_model, real.all(), pi, cfg.gamma_warmup, cfg.gamma_batch_size, tau=cfg.gamma_tau,
                            optimizer=optimizer, generator=loop.streams.torch)
            loop.stats["gamma_loss"] = fit.losses[-1] if fit.losses else float("nan")
        else:
            for _ in range(cfg.gamma_updates_per_step):
                loop.stats["gamma_loss"] = td_step(gamma_model, optimizer, real.sample(
                    cfg.gamma_batch_size, loop.streams.torch), pi, cfg.gamma_tau, loop.streams.torch)
        for _ in range(cfg.updates_per_step):
            batch = real.sample(cfg.batch_size, loop.streams.torch)
            target = gamma_mve_targets(gamma_model, agent, batch, cfg.horizon, reward_fn, termination_fn,
                                       loop.streams.torch)
            loop.stats.update(agent.update_critic(batch.obs, batch.act, target))
            loop.stats.update(agent.update_actor(batch.obs))
            agent.update_target_critic()


ALGORITHMS.add("gamma-mve", sys.modules[__name__], requires={"model", "occupancy"})
register_pairing(Pairing(
    "gamma-mve", algorithm="gamma-mve", model="gamma",
    settings={"model": {"discount": 0.9, "hidden": 200, "layers": 3, "components": 5}},
    description="gamma-MVE (Janner et al. 2020): SAC critics on targets expanded by gamma-model occupancy draws",
))
