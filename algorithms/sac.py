"""Soft actor-critic (Haarnoja et al. 2018a, "Soft Actor-Critic: Off-Policy Maximum Entropy Deep
Reinforcement Learning with a Stochastic Actor"; 2018b, "Soft Actor-Critic Algorithms and
Applications"): twin Q-functions with Polyak-averaged targets, a tanh-squashed Gaussian policy and
automatic tuning of the entropy temperature alpha towards a target entropy.

:class:`SACAgent` is the learner that Dyna, MBPO and MB-MF reuse (``act``, ``update``,
``state_dict``); :func:`train` is the model-free baseline (the ``sac`` pairing). The pieces every
interaction loop of this package shares (:class:`Interaction`, :func:`play_episode`,
:func:`evaluate`, :class:`Counters`, :class:`RandomStreams`) live here too.

Hyperparameter defaults are those of Haarnoja et al. 2018b, Table 1: Adam with learning rate
3e-4, discount 0.99, Polyak factor 0.005, batch 256, two hidden layers of 256 ReLU units, a
replay buffer of 1e6 and target entropy -dim(A).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run, episode_seed, final_info
from mbrl_zoo.types import Batch

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
"""Bounds of the policy's log standard deviation, as in Haarnoja et al.'s implementation."""
EVAL_EPISODE_OFFSET = 1_000_000_000
"""Evaluation episodes take their reset seeds from episode indices above this, disjoint from
the training episodes' indices."""


@dataclass(frozen=True)
class Config:
    """Settings of SAC (Haarnoja et al. 2018b, Table 1) and of its interaction loop."""

    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the actor and of each Q-network."""
    lr: float = 3e-4
    """Adam learning rate of actor, critics and temperature."""
    gamma: float = 0.99
    tau: float = 0.005
    """Polyak factor of the target critics: target <- (1 - tau) target + tau critic."""
    batch_size: int = 256
    init_alpha: float = 1.0
    learn_alpha: bool = True
    target_entropy: float | None = None
    """Entropy the temperature steers the policy towards; None means -dim(A)."""
    updates_per_step: int = 1
    """Gradient steps per environment step (G in Janner et al. 2019)."""
    random_steps: int = 5000
    """Environment steps taken with uniformly random actions before the policy acts and learns."""
    buffer_capacity: int = 1_000_000
    eval_every: int = 5000
    """Environment steps between evaluations of the deterministic policy (0: never)."""
    eval_episodes: int = 1
    checkpoint_every: int = 5000
    """A checkpoint is written at the first episode end after every this many env steps."""

    def __post_init__(self):
        for name in ("batch_size", "buffer_capacity", "eval_episodes", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise UserError(f"algorithm.{name} must be >= 1, got {getattr(self, name)!r}.")
        for name in ("random_steps", "updates_per_step", "eval_every"):
            if getattr(self, name) < 0:
                raise UserError(f"algorithm.{name} must be >= 0, got {getattr(self, name)!r}.")
        if not self.hidden or min(self.hidden) < 1 or not 0.0 < self.tau <= 1.0 or not 0.0 <= self.gamma <= 1.0:
            raise UserError(f"algorithm.hidden={list(self.hidden)!r} needs positive widths, tau={self.tau!r} must "
                            f"lie in (0, 1] and gamma={self.gamma!r} in [0, 1].")


class StackedMLP(nn.Module):
    """E independent ReLU MLPs evaluated together, one batched matmul per layer.

    Input (E, B, I) -> output (E, B, O). Weights are initialised from ``generator`` with
    PyTorch's default ``nn.Linear`` range U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so that an agent
    built from a seed is the same on every run.
    """

    def __init__(self, members: int, in_dim: int, out_dim: int, hidden: tuple[int, ...],
                 generator: torch.Generator):
        super().__init__()
        dims = (in_dim, *hidden, out_dim)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            weight = torch.empty(members, fan_in, fan_out).uniform_(-bound, bound, generator=generator)
            bias = torch.empty(members, 1, fan_out).uniform_(-bound, bound, generator=generator)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)
            if i < last:
                x = torch.relu(x)
        return x


def _squashed_log_prob(u: torch.Tensor, noise: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log-density (B,) of tanh(u) where u = mean + exp(log_std) * noise, all (B, A)."""
    gaussian = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
    # log(1 - tanh(u)^2), written stably as 2 (log 2 - u - softplus(-2u)).
    jacobian = 2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))
    return (gaussian - jacobian).sum(-1)


class SACAgent(nn.Module):
    """A SAC learner for a continuous action box [low, high]^A.

    ``act`` maps observations (O,) or (B, O) to actions in the env's bounds, (A,) or (B, A);
    ``update`` takes one gradient step on a :class:`Batch` of (B, ...) tensors whose actions are
    in the env's bounds. All randomness (initial weights, policy noise) comes from the agent's
    own ``generator``, seeded by ``seed``, so two agents built and fed alike compute the same
    numbers on CPU.
    """

    def __init__(self, obs_dim: int, act_dim: int, action_low, action_high, *,
                 hidden: tuple[int, ...] = (256, 256), lr: float = 3e-4, gamma: float = 0.99,
                 tau: float = 0.005, init_alpha: float = 1.0, learn_alpha: bool = True,
                 target_entropy: float | None = None, seed: int = 0):
        super().__init__()
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.gamma, self.tau, self.learn_alpha = float(gamma), float(tau), bool(learn_alpha)
        self.target_entropy = -float(act_dim) if target_entropy is None else float(target_entropy)
        low = torch.as_tensor(np.asarray(action_low), dtype=torch.float32)
        high = torch.as_tensor(np.asarray(action_high), dtype=torch.float32)
        self.register_buffer("action_center", (high + low) / 2)
        self.register_buffer("action_scale", (high - low) / 2)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.actor = StackedMLP(1, obs_dim, 2 * act_dim, hidden, self.generator)
        self.critic = StackedMLP(2, obs_dim + act_dim, 1, hidden, self.generator)
        self.target_critic = StackedMLP(2, obs_dim + act_dim, 1, hidden, self.generator)
        self.target_critic.load_state_dict(self.critic.state_dict())
        self.target_critic.requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(init_alpha)))
        # Fused Adam: the default update up to rounding, ~10% less time per SAC update on a CPU.
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), lr=lr, fused=True)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=lr, fused=True)
        self.alpha_optim = torch.optim.Adam([self.log_alpha], lr=lr, fused=True)

    @classmethod
    def from_config(cls, cfg: Config, obs_dim: int, act_dim: int, action_low, action_high,
                    seed: int) -> "SACAgent":
        """Build the agent that the SAC settings ``cfg`` describe."""
        return cls(obs_dim, act_dim, action_low, action_high, hidden=tuple(cfg.hidden), lr=cfg.lr,
                   gamma=cfg.gamma, tau=cfg.tau, init_alpha=cfg.init_alpha, learn_alpha=cfg.learn_alpha,
                   target_entropy=cfg.target_entropy, seed=seed)

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
        return action.numpy() if is_numpy else action

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
        """The one-step soft TD target (B,): r + gamma (1 - terminated) min_j [Q'_j(s', a') -
        alpha log pi(a' | s')] with a' ~ pi(. | s') (Haarnoja et al. 2018b, Eq. 3 with the clipped
        double-Q of Fujimoto et al. 2018)."""
        alive = (~batch.terminated).float()
        return batch.rew + self.gamma * alive * self.soft_value(batch.next_obs).min(0).values

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
        # The actor's gradient flows through the critics without updating them.
        self.critic.requires_grad_(False)
        act, log_prob = self.policy(obs)
        pi_loss = (alpha * log_prob - self.q_values(obs, act).min(0).values).mean()
        self.actor_optim.zero_grad(set_to_none=True)
        pi_loss.backward()
        self.actor_optim.step()
        self.critic.requires_grad_(True)

        alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
        if self.learn_alpha:
            self.alpha_optim.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_optim.step()
        return {"pi_loss": pi_loss.item(), "alpha": alpha.item(), "alpha_loss": alpha_loss.item(),
                "entropy": -log_prob.detach().mean().item()}

    @torch.no_grad()
    def update_target_critic(self) -> None:
        """Polyak step: target <- (1 - tau) target + tau critic."""
        for target_param, param in zip(self.target_critic.parameters(), self.critic.parameters()):
            target_param.lerp_(param, self.tau)

    # saving ------------------------------------------------------------------------------------
    def full_state(self) -> dict:
        """Networks, optimisers and the noise generator: everything :meth:`load_full_state` needs.

        A snapshot (deep copy): later updates of the agent leave it unchanged, and an agent that
        loads it shares no tensors with this one."""
        return copy.deepcopy({"modules": self.state_dict(), "actor_optim": self.actor_optim.state_dict(),
                "critic_optim": self.critic_optim.state_dict(), "alpha_optim": self.alpha_optim.state_dict(),
                "generator": self.generator.get_state()})

    def load_full_state(self, state: dict) -> None:
        self.load_state_dict(state["modules"])
        self.actor_optim.load_state_dict(state["actor_optim"])
        self.critic_optim.load_state_dict(state["critic_optim"])
        self.alpha_optim.load_state_dict(state["alpha_optim"])
        self.generator.set_state(state["generator"])


# pieces shared by the interaction loops of sac, dyna, mbpo and mbmf ----------------------------
@dataclass
class Counters:
    """Where a run stands: env steps taken, episodes finished, the next checkpoint and evaluation."""

    env_step: int = 0
    episode: int = 0
    next_checkpoint: int = 0
    next_eval: int = 0
    evaluations: int = 0
    last: dict[str, float] = field(default_factory=dict)
    """The latest learner statistics, logged with the next episode."""

    def due(self, every: int, name: str) -> bool:
        """True (and the next deadline moved on) when ``name`` (``checkpoint``/``eval``) is due."""
        attr = f"next_{name}"
        if every <= 0 or self.env_step < getattr(self, attr):
            return False
        setattr(self, attr, (self.env_step // every + 1) * every)
        return True


class RandomStreams:
    """The loop's own randomness, seeded from the run's seed: ``torch`` (a torch.Generator for
    minibatches and model rollouts) and ``numpy`` (a np.random.Generator for random actions)."""

    def __init__(self, seed: int):
        self.torch = torch.Generator().manual_seed(int(seed) + 1)
        self.numpy = np.random.default_rng([int(seed), 1])

    def state(self) -> dict:
        return {"torch": self.torch.get_state(), "numpy": self.numpy.bit_generator.state}

    def load(self, state: dict) -> None:
        self.torch.set_state(state["torch"])
        self.numpy.bit_generator.state = state["numpy"]


@dataclass(frozen=True)
class Step:
    """One env transition: arrays obs (O,), act (A,), next_obs (O,), scalars and the env's info."""

    obs: np.ndarray
    act: np.ndarray
    next_obs: np.ndarray
    rew: float
    terminated: bool
    truncated: bool
    info: dict


def play_episode(env: gym.Env, policy: Callable[[np.ndarray], np.ndarray], reset_seed: int) -> Iterator[Step]:
    """Yield the transitions of one episode of ``env`` under ``policy`` (obs (O,) -> act (A,)),
    reset with ``reset_seed``; stop early by leaving the loop."""
    obs, _ = env.reset(seed=reset_seed)
    while True:
        act = np.asarray(policy(obs), dtype=np.float32)
        next_obs, rew, terminated, truncated, info = env.step(act)
        yield Step(obs, act, next_obs, float(rew), bool(terminated), bool(truncated), info)
        if terminated or truncated:
            return
        obs = next_obs


def evaluate(agent: SACAgent, env: gym.Env, seed: int, index: int, episodes: int = 1) -> float:
    """Mean return of the deterministic policy over ``episodes`` episodes of ``env``, reset
    with seeds disjoint from the training episodes' (evaluation ``index`` of the run)."""
    returns = []
    for k in range(episodes):
        reset_seed = episode_seed(seed, EVAL_EPISODE_OFFSET + index * episodes + k)
        returns.append(sum(s.rew for s in play_episode(env, lambda o: agent.act(o, True), reset_seed)))
    return float(np.mean(returns))


def add_step(buffer: ReplayBuffer, step: Step) -> None:
    buffer.add(step.obs, step.act, step.next_obs, step.rew, step.terminated, step.truncated)


def resized(buffer: ReplayBuffer, capacity: int) -> ReplayBuffer:
    """``buffer`` itself when its capacity is already ``capacity``, else a new buffer of that
    capacity holding the newest ``min(len(buffer), capacity)`` of its transitions."""
    if buffer.capacity == capacity:
        return buffer
    out = ReplayBuffer(buffer.obs_dim, buffer.act_dim, capacity)
    if len(buffer):
        out.add_batch(buffer.all())
    return out


def restored_buffer(state: dict, obs_dim: int, act_dim: int, capacity: int) -> ReplayBuffer:
    """A buffer of ``capacity`` holding the transitions of a saved buffer ``state`` (whose own
    capacity may differ, e.g. when a resumed run has more steps)."""
    buffer = ReplayBuffer(obs_dim, act_dim, state["capacity"])
    buffer.load_state_dict(state)
    return resized(buffer, capacity)


def env_dims(env: gym.Env) -> tuple[int, int, np.ndarray, np.ndarray]:
    """``(obs_dim, act_dim, action_low (A,), action_high (A,))`` of a box-action env."""
    obs_dim = int(np.prod(env.observation_space.shape))
    act_dim = int(np.prod(env.action_space.shape))
    return obs_dim, act_dim, env.action_space.low.astype(np.float32), env.action_space.high.astype(np.float32)


class Interaction:
    """The env loop every learner of this package shares, over ``config.run.steps`` env steps.

    It owns the training and evaluation envs, the loop's :class:`RandomStreams` and
    :class:`Counters`. :meth:`play` runs episodes whose resets are seeded by
    ``episode_seed(seed, episode)``, so a run resumed at an episode boundary needs no env
    state; after each episode it evaluates the agent's deterministic policy when due, logs one
    row (return, the latest learner statistics in ``counters.last``, ``eval_return`` when
    evaluated) and checkpoints when due and at the end. It seeds the global torch RNG with the
    run's seed, so that components initialised from it (a model's weights) are reproducible.
    """

    def __init__(self, config: RunConfig, run: Run):
        self.run, self.cfg = run, config.algorithm
        self.seed, self.total_steps = config.run.seed, config.run.steps
        torch.manual_seed(self.seed)
        spec = config.task_spec()
        self.env, self.eval_env = spec.make_env(), spec.make_env()
        self.obs_dim, self.act_dim, self.low, self.high = env_dims(self.env)
        self.streams = RandomStreams(self.seed)
        self.counters = Counters()

    def buffer_capacity(self) -> int:
        """Real-buffer size: ``buffer_capacity``, or fewer when the run has fewer steps."""
        return min(self.cfg.buffer_capacity, max(self.total_steps, 1))

    def random_action(self) -> np.ndarray:
        """A uniform draw from the action box, (A,)."""
        return self.streams.numpy.uniform(self.low, self.high).astype(np.float32)

    def resume(self) -> dict | None:
        """The learner's state of the last checkpoint (loop state restored), or None when fresh."""
        saved = self.run.load_checkpoint()
        if saved is None:
            return None
        self.streams.load(saved["streams"])
        self.counters = Counters(**saved["counters"])
        return saved["learner"]

    def play(self, policy: Callable[[np.ndarray], np.ndarray], on_step: Callable[[Step], None],
             agent: SACAgent, learner_state: Callable[[], dict]) -> None:
        """Run episodes until ``total_steps`` env steps: act with ``policy`` (obs (O,) -> act (A,)),
        call ``on_step(step)`` after each env step (``counters.env_step`` already counts it)."""
        counters, cfg = self.counters, self.cfg
        while counters.env_step < self.total_steps:
            episode_return, episode_steps = 0.0, 0
            for step in play_episode(self.env, policy, episode_seed(self.seed, counters.episode)):
                counters.env_step += 1
                if counters.env_step >= self.total_steps and not step.terminated:
                    step = replace(step, truncated=True)  # the budget cuts the episode as a time limit
                episode_return += step.rew
                episode_steps += 1
                on_step(step)
                self.run.advance(counters.env_step)
                if counters.env_step >= self.total_steps:
                    break
            counters.episode += 1
            finished = counters.env_step >= self.total_steps
            extras = {**counters.last, **final_info(step.info)}
            if counters.due(cfg.eval_every, "eval") or (finished and cfg.eval_every > 0):
                extras["eval_return"] = evaluate(agent, self.eval_env, self.seed, counters.evaluations,
                                                 cfg.eval_episodes)
                counters.evaluations += 1
            self.run.log_episode(counters.env_step, counters.episode, episode_return, episode_steps, **extras)
            if counters.due(cfg.checkpoint_every, "checkpoint") or finished:
                self.run.save_checkpoint({"learner": learner_state(), "streams": self.streams.state(),
                                          "counters": asdict(counters)})
        self.env.close()
        self.eval_env.close()


# the model-free baseline -------------------------------------------------------------------------
def train(config: RunConfig, run: Run) -> None:
    """Model-free SAC on ``config.run.task`` for ``config.run.steps`` env steps (Haarnoja et al.
    2018b, Algorithm 1): uniform random actions for ``random_steps`` steps, then act with the
    stochastic policy and take ``updates_per_step`` gradient steps per env step on minibatches
    from the replay buffer."""
    cfg: Config = config.algorithm
    loop = Interaction(config, run)
    agent = SACAgent.from_config(cfg, loop.obs_dim, loop.act_dim, loop.low, loop.high, loop.seed)
    buffer = ReplayBuffer(loop.obs_dim, loop.act_dim, loop.buffer_capacity())
    saved = loop.resume()
    if saved is not None:
        agent.load_full_state(saved["agent"])
        buffer = restored_buffer(saved["buffer"], loop.obs_dim, loop.act_dim, loop.buffer_capacity())

    def policy(obs: np.ndarray) -> np.ndarray:
        return loop.random_action() if loop.counters.env_step < cfg.random_steps else agent.act(obs)

    def learn(step: Step) -> None:
        add_step(buffer, step)
        if loop.counters.env_step >= cfg.random_steps:
            for _ in range(cfg.updates_per_step):
                loop.counters.last = agent.update(buffer.sample(cfg.batch_size, loop.streams.torch))

    loop.play(policy, learn, agent, lambda: {"agent": agent.full_state(), "buffer": buffer.state_dict()})


ALGORITHMS.add("sac", sys.modules[__name__])
register_pairing(Pairing(
    "sac", algorithm="sac",
    description="model-free soft actor-critic, the baseline of the Dyna family (Haarnoja et al. 2018)",
))
