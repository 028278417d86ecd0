"""Soft actor-critic (Haarnoja et al. 2018a, "Soft Actor-Critic: Off-Policy Maximum Entropy Deep
Reinforcement Learning with a Stochastic Actor"; 2018b, "Soft Actor-Critic Algorithms and
Applications"): twin Q-functions with Polyak-averaged targets, a tanh-squashed Gaussian policy and
automatic tuning of the entropy temperature alpha towards a target entropy.

:class:`SACAgent` is the learner that Dyna, MBPO, MB-MF, MVE and STEVE reuse (``act``,
``update``, ``state_dict``); :func:`train` is the model-free baseline (the ``sac`` pairing).

Hyperparameter defaults are those of Haarnoja et al. 2018b, Table 1: Adam with learning rate
3e-4, discount 0.99, Polyak factor 0.005, batch 256, two hidden layers of 256 ReLU units, a
replay buffer of 1e6 and target entropy -dim(A).
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.device import generator_state, load_generator_state, seeded_generator
from mbrl_zoo.models.layers import StackedMLP
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run
from mbrl_zoo.settings import setting
from mbrl_zoo.types import Batch

from algorithms.loop import EnvLoop, add_step

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
"""Bounds of the policy's log standard deviation, as in Haarnoja et al.'s implementation."""


@dataclass(frozen=True)
class AgentSettings:
    """Settings of the SAC learner itself (Haarnoja et al. 2018b, Table 1): what
    :meth:`SACAgent.for_loop` reads. Algorithms that train an agent away from the env loop
    (``dagger-model`` with ``policy: sac``) take these alone."""

    hidden: tuple[int, ...] = setting((256, 256), ">= 1", nonempty=True)
    """Hidden layer widths of the actor and of each Q-network."""
    lr: float = setting(3e-4, "> 0")
    """Adam learning rate of actor, critics and temperature."""
    discount: float = setting(0.99, "[0, 1]")
    tau: float = setting(0.005, "(0, 1]")
    """Polyak factor of the target critics: target <- (1 - tau) target + tau critic."""
    batch_size: int = setting(256, ">= 1")
    init_alpha: float = setting(1.0, "> 0")
    learn_alpha: bool = True
    target_entropy: float | None = None
    """Entropy the temperature steers the policy towards; None means -dim(A)."""


@dataclass(frozen=True)
class InteractionSettings:
    """Settings of the loop that feeds an agent from the env: updates per step, the random warm-up,
    the replay buffer and evaluations."""

    updates_per_step: int = setting(1, ">= 0")
    """Gradient steps per environment step (G in Janner et al. 2019)."""
    random_steps: int = setting(5000, ">= 0")
    """Environment steps taken with uniformly random actions before the policy acts and learns."""
    buffer_capacity: int = setting(1_000_000, ">= 1")
    eval_every: int = setting(5000, ">= 0")
    """Environment steps between evaluations of the deterministic policy (0: never)."""
    eval_episodes: int = setting(1, ">= 1")


@dataclass(frozen=True)
class Config(AgentSettings, InteractionSettings):
    """Settings of SAC (Haarnoja et al. 2018b, Table 1) and of its interaction loop. Algorithms
    of the SAC family list both parents beside their own (one level of inheritance)."""


def _squashed_log_prob(u: torch.Tensor, noise: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log-density (B,) of tanh(u) where u = mean + exp(log_std) * noise, all (B, A)."""
    gaussian = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
    # log(1 - tanh(u)^2), written stably as 2 (log 2 - u - softplus(-2u)).
    jacobian = 2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))
    return (gaussian - jacobian).sum(-1)


class SACAgent:
    """A SAC learner for a continuous action box [low, high]^A.

    ``act`` maps observations (O,) or (B, O) to actions in the env's bounds, (A,) or (B, A);
    ``update`` takes one gradient step on a :class:`Batch` of (B, ...) tensors whose actions are
    in the env's bounds. All randomness (initial weights, policy noise) comes from the agent's
    own ``generator``, seeded by ``seed``, so two agents built and fed alike compute the same
    numbers on CPU. ``state_dict`` holds networks, optimisers and generator: everything a
    resumed run needs.
    """

    def __init__(self, obs_dim: int, act_dim: int, action_low, action_high, *,
                 hidden: tuple[int, ...] = (256, 256), lr: float = 3e-4, discount: float = 0.99,
                 tau: float = 0.005, init_alpha: float = 1.0, learn_alpha: bool = True,
                 target_entropy: float | None = None, seed: int = 0):
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.discount, self.tau, self.learn_alpha = float(discount), float(tau), bool(learn_alpha)
        self.target_entropy = -float(act_dim) if target_entropy is None else float(target_entropy)
        low = torch.as_tensor(np.asarray(action_low), dtype=torch.float32)
        high = torch.as_tensor(np.asarray(action_high), dtype=torch.float32)
        self.action_center, self.action_scale = (high + low) / 2, (high - low) / 2
        self.generator = seeded_generator(seed)
        self.actor = StackedMLP(1, obs_dim, 2 * act_dim, hidden, self.generator)
        self.critic = StackedMLP(2, obs_dim + act_dim, 1, hidden, self.generator)
        self.target_critic = StackedMLP(2, obs_dim + act_dim, 1, hidden, self.generator)
        self.target_critic.load_state_dict(self.critic.state_dict())
        self.target_critic.requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(init_alpha)))
        # Fused Adam: the default update up to rounding, in one kernel per step instead of a
        # loop over parameter tensors (benchmarks/sac_update_speed.py times the update).
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), lr=lr, fused=True)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=lr, fused=True)
        self.alpha_optim = torch.optim.Adam([self.log_alpha], lr=lr, fused=True)
        # load_state_dict copies into these tensors, so the lists stay valid.
        self._actor_params = list(self.actor.parameters())
        self._critic_params = list(self.critic.parameters())
        self._target_critic_params = list(self.target_critic.parameters())

    @classmethod
    def for_loop(cls, cfg: AgentSettings, loop: EnvLoop) -> "SACAgent":
        """Build the agent that the SAC settings ``cfg`` describe for the task of ``loop``,
        seeded by the run's seed."""
        return cls(loop.obs_dim, loop.act_dim, loop.low, loop.high, hidden=tuple(cfg.hidden), lr=cfg.lr,
                   discount=cfg.discount, tau=cfg.tau, init_alpha=cfg.init_alpha, learn_alpha=cfg.learn_alpha,
                   target_entropy=cfg.target_entropy, seed=loop.seed)

    @property
    def alpha(self) -> float:
        return self.log_alpha.exp().item()

    # the policy --------------------------------------------------------------------------------
    def policy(self, obs: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions in the env's bounds (B, A) and their log-probabilities (B,) for obs (B, O).

        The Gaussian draw u is squashed by tanh (Haarnoja et al. 2018a, Appendix C); the log
        density is that of the squashed action in [-1, 1]^A, before the affine map to the bounds.
        A deterministic action is tanh of the mean, with log-probability 0.
        """
        mean, log_std = self._gaussian(obs)
        if deterministic:
            return self.action_center + self.action_scale * torch.tanh(mean), torch.zeros(obs.shape[0])
        noise = torch.randn(mean.shape, generator=self.generator)
        u = mean + log_std.exp() * noise
        return self.action_center + self.action_scale * torch.tanh(u), _squashed_log_prob(u, noise, log_std)

    def log_prob(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """Log-density (B,) of env-bounded actions act (B, A) at obs (B, O) under the policy, as
        :meth:`policy` measures it; for behaviour cloning. Actions on the bounds are moved 1e-6
        inside so that atanh stays finite."""
        mean, log_std = self._gaussian(obs)
        squashed = ((act - self.action_center) / self.action_scale).clamp(-1 + 1e-6, 1 - 1e-6)
        u = torch.atanh(squashed)
        return _squashed_log_prob(u, (u - mean) / log_std.exp(), log_std)

    def _gaussian(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and clamped log standard deviation (B, A) each of the pre-squash Gaussian."""
        mean, log_std = self.actor(obs.unsqueeze(0))[0].chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False):
        """Action for obs (O,) or (B, O), numpy or torch; returns the same kind, (A,) or (B, A)."""
        is_numpy = not isinstance(obs, torch.Tensor)
        x = torch.as_tensor(np.asarray(obs) if is_numpy else obs, dtype=torch.float32)
        single = x.ndim == 1
        action, _ = self.policy(x.unsqueeze(0) if single else x, deterministic)
        action = action[0] if single else action
        return action.cpu().numpy() if is_numpy else action

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """The deterministic action (A,) for obs (O,): tanh of the policy's mean (for evaluation)."""
        return self.act(obs, deterministic=True)

    def q_values(self, obs: torch.Tensor, act: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Both critics' values (2, B) of obs (B, O) and env-bounded actions (B, A)."""
        x = torch.cat([obs, act], dim=-1).unsqueeze(0).expand(2, -1, -1)
        return (self.target_critic if target else self.critic)(x).squeeze(-1)

    # learning ----------------------------------------------------------------------------------
    def update(self, batch: Batch, update_actor: bool = True) -> dict[str, float]:
        """One gradient step of critics, actor and temperature, then the target update.

        ``batch`` holds (B, ...) tensors. Returns floats ``q_loss``, ``q_mean`` and, when
        ``update_actor`` (False: critics only, e.g. to fit a critic to a cloned policy first),
        ``pi_loss``, ``alpha``, ``alpha_loss`` and ``entropy`` (minus the mean log-probability).
        """
        stats = self.update_critic(batch.obs, batch.act, self.soft_td_target(batch))
        if update_actor:
            stats.update(self.update_actor(batch.obs))
        self.update_target_critic()
        return stats

    @torch.no_grad()
    def soft_value(self, obs: torch.Tensor) -> torch.Tensor:
        """One-sample soft value of obs (B, O) under the target critics, (2, B): each critic's
        Q'(s, a) - alpha log pi(a | s) for one action a ~ pi(. | s), the same a for both."""
        act, log_prob = self.policy(obs)
        return self.q_values(obs, act, target=True) - self.log_alpha.exp() * log_prob

    def soft_td_target(self, batch: Batch) -> torch.Tensor:
        """The one-step soft TD target (B,): r + discount (1 - terminated) min_j [Q'_j(s', a') -
        alpha log pi(a' | s')] with a' ~ pi(. | s') (Haarnoja et al. 2018b, Eq. 3 with the clipped
        double-Q of Fujimoto et al. 2018)."""
        alive = (~batch.terminated).float()
        return batch.rew + self.discount * alive * self.soft_value(batch.next_obs).min(0).values

    def update_critic(self, obs: torch.Tensor, act: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One gradient step of both critics towards ``target`` (B,) at obs (B, O) and
        env-bounded act (B, A); the target critics are left as they are."""
        q = self.q_values(obs, act)
        q_loss = 0.5 * (q - target).pow(2).mean(-1).sum()
        self.critic_optim.zero_grad(set_to_none=True)
        q_loss.backward()
        self.critic_optim.step()
        return {"q_loss": q_loss.item(), "q_mean": q.detach().mean().item()}

    def update_actor(self, obs: torch.Tensor) -> dict[str, float]:
        """One gradient step of the actor at obs (B, O), then one of the temperature."""
        alpha = self.log_alpha.detach().exp()
        act, log_prob = self.policy(obs)
        pi_loss = (alpha * log_prob - self.q_values(obs, act).min(0).values).mean()
        alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
        # One backward pass for both losses (pi_loss sees alpha detached, alpha_loss the
        # log-probabilities detached, so neither reaches the other's parameters). Naming the
        # inputs differentiates through the critics without computing or storing their gradients.
        self.actor_optim.zero_grad(set_to_none=True)
        if self.learn_alpha:
            self.alpha_optim.zero_grad(set_to_none=True)
            (pi_loss + alpha_loss).backward(inputs=self._actor_params + [self.log_alpha])
            self.actor_optim.step()
            self.alpha_optim.step()
        else:
            pi_loss.backward(inputs=self._actor_params)
            self.actor_optim.step()
        return {"pi_loss": pi_loss.item(), "alpha": alpha.item(), "alpha_loss": alpha_loss.item(),
                "entropy": -log_prob.detach().mean().item()}

    @torch.no_grad()
    def update_target_critic(self) -> None:
        """Polyak step: target <- (1 - tau) target + tau critic."""
        torch._foreach_lerp_(self._target_critic_params, self._critic_params, self.tau)

    # saving ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Networks, optimisers and the noise generator: everything :meth:`load_state_dict` needs.

        A snapshot (deep copy): later updates of the agent leave it unchanged, and an agent that
        loads it shares no tensors with this one."""
        networks = {"actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
                    "target_critic": self.target_critic.state_dict(), "log_alpha": self.log_alpha.detach()}
        return copy.deepcopy({"networks": networks, "actor_optim": self.actor_optim.state_dict(),
                              "critic_optim": self.critic_optim.state_dict(),
                              "alpha_optim": self.alpha_optim.state_dict(), "generator": generator_state(self.generator)})

    def load_state_dict(self, state: dict) -> None:
        networks = state["networks"]
        self.actor.load_state_dict(networks["actor"])
        self.critic.load_state_dict(networks["critic"])
        self.target_critic.load_state_dict(networks["target_critic"])
        with torch.no_grad():
            self.log_alpha.copy_(networks["log_alpha"])
        self.actor_optim.load_state_dict(state["actor_optim"])
        self.critic_optim.load_state_dict(state["critic_optim"])
        self.alpha_optim.load_state_dict(state["alpha_optim"])
        load_generator_state(self.generator, state["generator"])


def train(config: RunConfig, run: Run) -> None:
    """Model-free SAC on ``config.run.task`` for ``config.run.steps`` env steps (Haarnoja et al.
    2018b, Algorithm 1): uniform random actions for ``random_steps`` steps, then act with the
    stochastic policy and take ``updates_per_step`` gradient steps per env step on minibatches
    from the replay buffer."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    agent = SACAgent.for_loop(cfg, loop)
    real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
    loop.keep(agent=agent, real=real)
    loop.evaluate_with(agent.greedy)
    for obs in loop:
        action = loop.random_action() if loop.env_step < cfg.random_steps else agent.act(obs)
        add_step(real, loop.step(action))
        if loop.env_step >= cfg.random_steps:
            for _ in range(cfg.updates_per_step):
                loop.stats.update(agent.update(real.sample(cfg.batch_size, loop.streams.torch)))


ALGORITHMS.add("sac", sys.modules[__name__])
register_pairing(Pairing(
    "sac", algorithm="sac",
    description="model-free soft actor-critic, the baseline of the Dyna family (Haarnoja et al. 2018)",
))
