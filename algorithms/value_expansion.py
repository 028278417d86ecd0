"""What MVE and STEVE share: critic targets that look H steps ahead through a learned model.

Model-based value expansion (Feinberg et al. 2018, "Model-Based Value Estimation for Efficient
Model-Free Reinforcement Learning") replaces the one-step TD target of a real transition
(s, a, r, s') by an H-step one: from s' the model and the current policy imagine H steps, and
the target sums their discounted rewards before bootstrapping from the target critic. STEVE
(Buckman et al. 2018, "Sample-Efficient Reinforcement Learning with Stochastic Ensemble Value
Expansion") forms the candidate targets of every horizon i = 0..H, once per ensemble member and
target critic, and averages the horizons weighted by the inverse variance of their candidates.

Both use a soft actor-critic learner (Haarnoja et al. 2018; the papers used DDPG), so every
imagined state's value carries the entropy bonus: with x_0 = s', a_t ~ pi(. | x_t),
x_{t+1} ~ model(x_t, a_t), r_t = reward(x_t, a_t, x_{t+1}), d_t = termination(...) and
alive_t = prod_{k<t} (1 - d_k), the soft value of s' expanded to horizon i is

    V_i(s') = sum_{t<i} gamma^t alive_t (r_t - alpha log pi(a_t | x_t))
              + gamma^i alive_i (Q'(x_i, a_i) - alpha log pi(a_i | x_i)),

and the candidate target of (s, a) is T_i = r + gamma (1 - terminated) V_i(s'). T_0 is SAC's
own target. (gamma is the ``discount`` setting.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mbrl_zoo.models.environment import FitSettings
from mbrl_zoo.settings import setting
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn

from algorithms import sac
from algorithms.sac import SACAgent


@dataclass(frozen=True)
class Config(sac.AgentSettings, sac.InteractionSettings, FitSettings):
    """The settings of MVE and STEVE: SAC's, model fitting's and the imagination horizon."""

    random_steps: int = 1000
    """Uniform-random env steps before the first model fit and the first update."""
    horizon: int = setting(3, "[1, 1000]")
    """H: imagined steps in every critic target (MVE), the longest expansion mixed into it (STEVE;
    Buckman et al. 2018 use 3)."""


@dataclass(frozen=True)
class Imagined:
    """H imagined steps from N start states, every tensor indexed by the step t first.

    ``obs`` (H+1, N, O): x_0 (the start states) to x_H; ``act`` (H+1, N, A) and ``log_prob``
    (H+1, N): a_t ~ pi(. | x_t) and its log-density, a_H being the action the critic values at
    the horizon; ``rew`` (H, N) r_t; ``continues`` (H, N) float 1 - d_t; ``tail`` (H+1, 2, N):
    each target critic's Q'(x_t, a_t). A non-finite prediction ends its row as a termination
    would (its value from there on is 0).
    """

    obs: torch.Tensor
    act: torch.Tensor
    log_prob: torch.Tensor
    rew: torch.Tensor
    continues: torch.Tensor
    tail: torch.Tensor

    @property
    def alive(self) -> torch.Tensor:
        """(H+1, N) float alive_t = prod_{k<t} (1 - d_k): 1 until a predicted end, 0 after it."""
        return torch.cat([torch.ones_like(self.continues[:1]), self.continues.cumprod(0)])


@torch.no_grad()
def imagine(model, agent: SACAgent, start_obs: torch.Tensor, horizon: int, member: torch.Tensor | None,
            reward_fn: RewardFn, termination_fn: TerminationFn,
            generator: torch.Generator | None = None) -> Imagined:
    """Roll ``model`` out for ``horizon`` steps from ``start_obs`` (N, O) under ``agent``'s policy.

    ``member`` (N,) long fixes the ensemble member of each row for the whole rollout (STEVE's
    per-member trajectories); None lets the model draw a random elite per row and step, as
    MBPO does. Policy noise comes from the agent's generator, model noise from ``generator``.
    """
    if horizon < 1:
        raise ValueError(f"imagine needs horizon >= 1, got {horizon!r}")
    obs, acts, log_probs, rews, continues = [start_obs], [], [], [], []
    for _ in range(horizon):
        act, log_prob = agent.policy(obs[-1])
        next_obs = model.sample(obs[-1], act, member=member, generator=generator)
        finite = torch.isfinite(next_obs).all(-1)
        next_obs = torch.where(finite.unsqueeze(-1), next_obs, obs[-1])
        rew = torch.where(finite, reward_fn(obs[-1], act, next_obs).reshape(-1).float(), 0.0)
        ended = termination_fn(obs[-1], act, next_obs).reshape(-1).bool() | ~finite
        acts.append(act)
        log_probs.append(log_prob)
        rews.append(rew)
        continues.append((~ended).float())
        obs.append(next_obs)
    act, log_prob = agent.policy(obs[-1])
    acts.append(act)
    log_probs.append(log_prob)
    obs_t, act_t = torch.stack(obs), torch.stack(acts)
    rows = obs_t.shape[0] * obs_t.shape[1]
    tail = agent.q_values(obs_t.reshape(rows, -1), act_t.reshape(rows, -1), target=True)
    return Imagined(obs_t, act_t, torch.stack(log_probs), torch.stack(rews), torch.stack(continues),
                    tail.reshape(2, obs_t.shape[0], -1).transpose(0, 1))


def candidate_targets(rew: torch.Tensor, terminated: torch.Tensor, imagined: Imagined, gamma: float,
                      alpha: float) -> torch.Tensor:
    """T_i (H+1, 2, N) of N real transitions with rewards ``rew`` (N,) and ``terminated`` (N,)
    bool whose next states started ``imagined``: for every horizon i = 0..H and target critic j,
    r + gamma (1 - terminated) V_i (module docstring), V_i bootstrapping from critic j."""
    horizon = imagined.rew.shape[0]
    discount = gamma ** torch.arange(horizon + 1, dtype=torch.float32).unsqueeze(-1)  # (H+1, 1)
    soft_rew = imagined.alive[:-1] * discount[:-1] * (imagined.rew - alpha * imagined.log_prob[:-1])
    prefix = torch.cat([soft_rew.new_zeros(1, soft_rew.shape[1]), soft_rew.cumsum(0)])  # (H+1, N)
    tail = (imagined.alive * discount).unsqueeze(1) * (imagined.tail - alpha * imagined.log_prob.unsqueeze(1))
    value = prefix.unsqueeze(1) + tail  # (H+1, 2, N)
    return rew + gamma * (~terminated).float() * value


def td_k_targets(imagined: Imagined, gamma: float, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """MVE's TD-k targets of the imagined pairs (x_t, a_t), t = 0..H-1 (Feinberg et al. 2018, Sec. 3.1):
    r_t + gamma (1 - d_t) V(x_{t+1}) with V expanded to the horizon H and bootstrapped from the
    smaller target critic, so the critic also learns the states the model visits. Returns targets
    (H, N) and a mask (H, N) of the pairs that are alive (reached before any predicted end)."""
    horizon = imagined.rew.shape[0]
    value = imagined.tail[-1].min(0).values - alpha * imagined.log_prob[-1]  # V(x_H), (N,)
    targets = []
    for t in reversed(range(horizon)):
        q_target = imagined.rew[t] + gamma * imagined.continues[t] * value
        targets.append(q_target)
        value = q_target - alpha * imagined.log_prob[t]
    return torch.stack(targets[::-1]), imagined.alive[:-1] > 0


def inverse_variance_mix(candidates: torch.Tensor, eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """STEVE's target (Buckman et al. 2018, Eq. 3) from candidates (H+1, C, N), C estimates of
    each horizon's target: sum_i w_i mean_i with w_i proportional to 1 / var_i over the C
    candidates (the population variance plus ``eps``). Returns the target (N,) and the weights
    (H+1, N)."""
    mean = candidates.mean(1)
    precision = 1.0 / (candidates.var(1, unbiased=False) + eps)
    weights = precision / precision.sum(0, keepdim=True)
    return (weights * mean).sum(0), weights
