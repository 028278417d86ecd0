"""MuZero-lite: act by tree search over a one-step model, learn a policy from the search and a
value from n-step returns (AlphaZero: Silver et al., Science 2018; MuZero: Schrittwieser et al.,
"Mastering Atari, Go, chess and shogi by planning with a learned model", Nature 2020), at CPU
scale on tasks with n discrete actions.

The model stays in observation space (the zoo's classical setting; MuZero's latent model is not
built here): ``mcts-model`` searches a learned one-step model (any registered dynamics model,
taking one-hot actions, fitted to every real transition every ``refit_every`` steps, with a
learned reward head when the model has one, the task's termination), ``oracle-mcts`` the exact
simulator (:data:`EXACT_STEPS`). Every search is :func:`planners.mcts.search`, whose settings are
the ``planner`` section (simulations B, max_depth, temperature, c1, c2, root noise, discount
gamma); its prior is the policy net's softmax, its leaf value the value net.

Each env step, with s_t (O,) the observation and n actions:

1. act: search from s_t (B simulations) and draw a_t ~ pi_t(a) ~ N(s_t, a)^(1/T) (the root's
   visit counts N at temperature T; uniform random actions for the first ``random_steps``);
2. store (s_t, a_t, r_t, s_t+1, terminated, truncated) and the policy target
   p_t(a) = N(s_t, a) / sum_b N(s_t, b) (n,) of the search (uniform after a random action);
3. learn: ``updates_per_step`` Adam steps on minibatches of M stored steps t with

       loss = -sum_a p_t(a) log softmax(f_pi(s_t))_a + (f_V(s_t) - z_t)^2,

   f_pi (O -> n) and f_V (O -> 1) two MLPs, and z_t the n-step bootstrapped return
   (:func:`n_step_targets`; k = ``td_steps``)

       z_t = sum_{j<m} gamma^j r_{t+j} + gamma^m (1 - terminated_{t+m-1}) f_V(s_{t+m}),

   m <= k cut at the first step that ends the episode or the stored data (a time limit or the
   newest step bootstraps from f_V of its next observation, a termination from 0), f_V the
   current value net under no gradient; and, for ``mcts-model``, refit the model every
   ``refit_every`` steps (:class:`~mbrl_zoo.models.environment.EnvironmentModel`).

Using search in different ways (Hamrick et al., "On the role of planning in model-based deep
reinforcement learning", ICLR 2021): ``search_learn`` (the policy targets p_t), ``search_data``
(the actions taken while training) and ``search_eval`` (the actions of evaluation episodes) each
either search to the planner's ``max_depth`` (True) or only one step deep (False: each action's
r + gamma f_V(s') compared by the same pUCT search with the same budget; a one-step lookahead).
One-Step = all False; Learn = ``search_learn`` only; Data = ``search_data`` only; Learn+Data =
both; Learn+Data+Eval = all three (vanilla MuZero, the default). Where the targets and the actions
search differently, each step runs both searches. Evaluation searches with ``eval_simulations``
B' (default B), no root noise and temperature 0, so a B x B' table is one setting per axis;
:func:`evaluate_run` scores a saved agent at any B'.

Shapes: observations (O,) float32, a stored action its one-hot row (n,); a minibatch holds
obs (M, O), policy targets (M, n), windows (M, k) of rewards, ends and next observations.
Cost per env step: one search (B step, prior and value calls on one row; two searches where
the uses differ) plus ``updates_per_step`` updates on M rows and M k value calls for the targets.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.config import RunConfig, from_dict
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.registry import ALGORITHMS, Pairing, register_pairing
from mbrl_zoo.runs import Run, episode_seed
from mbrl_zoo.settings import setting
from mbrl_zoo.tasks.classic import acrobot_step, cartpole_step
from planners.mcts import MCTSConfig, SearchResult, StepFn, model_step_fn, search

from algorithms.loop import EVAL_EPISODE_OFFSET, EnvLoop, Step, add_step, play_episode

action_space = "discrete"
"""The registry refuses this algorithm on tasks with continuous actions."""

EXACT_STEPS: dict[str, StepFn] = {"CartPole-v1": cartpole_step, "Acrobot-v1": acrobot_step}
"""Tasks whose exact simulator ``oracle-mcts`` searches: batched ``step_fn(obs (B, O) float64,
actions (B,)) -> (next_obs, reward, terminated)``."""


@dataclass(frozen=True)
class Config(FitSettings):
    """Settings of the MuZero-lite loop (the search's own are the ``planner`` section) and of
    the model fit (:class:`~mbrl_zoo.models.environment.FitSettings`, used by ``mcts-model``)."""

    random_steps: int = setting(0, ">= 0")
    """Uniform random actions before the first search (a learned model needs data first)."""
    td_steps: int = setting(10, "[1, 1000]")
    """k: rewards summed in the value target before bootstrapping."""
    eval_simulations: int | None = setting(None, "[1, 10**6]")
    """B', simulations of evaluation searches; None: the planner's ``simulations``."""
    search_learn: bool = True
    """Policy targets from a full-depth search (False: one step deep)."""
    search_data: bool = True
    """Actions while training from a full-depth search (False: one step deep)."""
    search_eval: bool = True
    """Actions of evaluation episodes from a full-depth search (False: one step deep)."""
    hidden: tuple[int, ...] = setting((64, 64), ">= 1", nonempty=True)
    """Hidden widths of the policy and the value MLPs."""
    value_init: float = 0.0
    """The value net's output when built (the output layers start at zero weights, so the prior
    starts uniform and the value equal everywhere): the value the search assumes for states it has
    learned nothing about. An optimistic value (Sutton and Barto 2018, sec. 2.6), at or above any
    state's, lets an untrained search tell actions apart by the terminations it sees: with
    +1 per step and discount gamma, 1 / (1 - gamma) makes every path that stays alive worth the
    same, whatever its depth."""
    lr: float = setting(1e-3, "> 0")
    """Adam's step size for both nets."""
    batch_size: int = setting(128, ">= 1")
    """M: stored steps per update; updates start once M are stored."""
    updates_per_step: int = setting(1, ">= 0")
    """Updates of both nets per env step (0: the nets stay as built)."""
    eval_every: int = setting(0, ">= 0")
    """Env steps between evaluations (0: none)."""
    eval_episodes: int = setting(1, ">= 1")
    refit_every: int = 1000
    buffer_capacity: int = 100_000
    fit_epochs: int = 20

    def check_run(self, config: RunConfig) -> None:
        """``oracle-mcts`` needs an exact simulator step for the task."""
        if config.model_name is None and config.run.task not in EXACT_STEPS:
            raise UserError(f"algorithm {config.algorithm_name!r} searches the task's exact simulator, which the zoo "
                            f"has for {', '.join(EXACT_STEPS)}, not for {config.run.task!r}; search a learned model "
                            f"there (pairing mcts-model).")


def n_step_targets(rew: torch.Tensor, terminated: torch.Tensor, stop: torch.Tensor, next_value: torch.Tensor,
                   discount: float) -> torch.Tensor:
    """z (M,) from windows (M, k) of k consecutive steps t..t+k-1 each: rewards ``rew``,
    ``terminated`` and ``stop`` (bool: the data does not go on after this step, a time limit or
    the newest step) and ``next_value`` f_V(s_{j+1}) of each step j:
    z = sum_{j<m} gamma^j r_j + gamma^m (1 - terminated_{m-1}) next_value_{m-1}, with m the
    steps up to and including the first that terminates or stops (k if none)."""
    rows, k = rew.shape
    ends = terminated | stop
    ended_before = (ends.long().cumsum(1) - ends.long()) > 0
    powers = discount ** torch.arange(k, dtype=torch.float64)
    rewards = torch.where(ended_before, 0.0, rew.double() * powers).sum(1)
    last = torch.where(ends.any(1), ends.long().argmax(1), k - 1)
    row = torch.arange(rows)
    tail = torch.where(terminated[row, last], 0.0, next_value[row, last].double())
    return rewards + discount ** (last + 1).double() * tail


class SearchRecord:
    """The steps of the run in the order taken, with their policy targets: a ring of up to
    ``capacity`` steps. Storage: ``obs``/``next_obs`` (C, O), ``rew`` (C,), ``terminated``/
    ``truncated`` (C,) bool, ``policy`` (C, n); step number i (0 = the run's first) lives in row
    i mod C, and rows ``added - len .. added - 1`` are held."""

    def __init__(self, obs_dim: int, num_actions: int, capacity: int):
        self.capacity, self.added = int(capacity), 0
        self.obs = torch.zeros(self.capacity, obs_dim)
        self.next_obs = torch.zeros(self.capacity, obs_dim)
        self.rew = torch.zeros(self.capacity)
        self.terminated = torch.zeros(self.capacity, dtype=torch.bool)
        self.truncated = torch.zeros(self.capacity, dtype=torch.bool)
        self.policy = torch.zeros(self.capacity, num_actions)

    def __len__(self) -> int:
        return min(self.added, self.capacity)

    def add(self, step: Step, policy: torch.Tensor) -> None:
        row = self.added % self.capacity
        self.obs[row] = torch.as_tensor(step.obs, dtype=torch.float32)
        self.next_obs[row] = torch.as_tensor(step.next_obs, dtype=torch.float32)
        self.rew[row], self.terminated[row], self.truncated[row] = step.rew, step.terminated, step.truncated
        self.policy[row] = policy
        self.added += 1

    def sample(self, size: int, k: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``size`` steps drawn uniformly: obs (M, O), policy (M, n), and windows (M, k) of the
        steps from each on (``rew``, ``terminated``, ``stop``, and their next observations
        (M, k, O)); steps past the newest repeat it and are cut off by its ``stop``."""
        newest = self.added - 1
        start = newest - len(self) + 1 + torch.randint(len(self), (size,), generator=generator)
        steps = torch.minimum(start[:, None] + torch.arange(k), torch.tensor(newest))
        rows = steps % self.capacity
        stop = self.truncated[rows] | (steps == newest)
        first = rows[:, 0]
        return (self.obs[first], self.policy[first], self.rew[rows], self.terminated[rows], stop,
                self.next_obs[rows])

    def state_dict(self) -> dict:
        held = torch.arange(self.added - len(self), self.added) % self.capacity
        return {"added": self.added, **{name: getattr(self, name)[held].clone() for name in
                                        ("obs", "next_obs", "rew", "terminated", "truncated", "policy")}}

    def load_state_dict(self, state: dict) -> None:
        self.added = int(state["added"])
        held = torch.arange(self.added - state["rew"].shape[0], self.added) % self.capacity
        for name in ("obs", "next_obs", "rew", "terminated", "truncated", "policy"):
            getattr(self, name)[held] = state[name]


def mlp(sizes: list[int]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


class PolicyValue:
    """The policy net f_pi (O -> n logits) and the value net f_V (O -> 1), with one Adam."""

    def __init__(self, obs_dim: int, num_actions: int, hidden: tuple[int, ...], lr: float, value_init: float):
        self.policy_net = mlp([obs_dim, *hidden, num_actions])
        self.value_net = mlp([obs_dim, *hidden, 1])
        with torch.no_grad():  # untrained: uniform priors and the same value everywhere
            for output in (self.policy_net[-1], self.value_net[-1]):
                output.weight.zero_()
                output.bias.zero_()
            self.value_net[-1].bias.fill_(value_init)
        self.optimizer = torch.optim.Adam([*self.policy_net.parameters(), *self.value_net.parameters()], lr=lr)

    def prior(self, obs: torch.Tensor) -> torch.Tensor:
        """Search priors softmax(f_pi(obs)) (B, n) float64 of obs (B, O)."""
        return torch.softmax(self.policy_net(obs.float()), -1).double()

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """f_V(obs) (B,) of obs (B, O)."""
        return self.value_net(obs.float()).squeeze(-1).double()

    def update(self, record: SearchRecord, batch_size: int, k: int, discount: float,
               generator: torch.Generator) -> dict[str, float]:
        """One Adam step on the policy and value losses of ``batch_size`` stored steps."""
        obs, target_policy, rew, terminated, stop, next_obs = record.sample(batch_size, k, generator)
        with torch.no_grad():
            next_value = self.value(next_obs.reshape(-1, next_obs.shape[-1])).reshape(rew.shape)
        z = n_step_targets(rew, terminated, stop, next_value, discount).float()
        policy_loss = -(target_policy * F.log_softmax(self.policy_net(obs), -1)).sum(-1).mean()
        value_loss = (self.value_net(obs).squeeze(-1) - z).square().mean()
        self.optimizer.zero_grad()
        (policy_loss + value_loss).backward()
        self.optimizer.step()
        return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "value_target": z.mean().item()}

    def state_dict(self) -> dict:
        return {"policy": self.policy_net.state_dict(), "value": self.value_net.state_dict(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.policy_net.load_state_dict(state["policy"])
        self.value_net.load_state_dict(state["value"])
        self.optimizer.load_state_dict(state["optimizer"])


def searcher(config: RunConfig, nets: PolicyValue, model: EnvironmentModel | None,
             ) -> Callable[[np.ndarray, MCTSConfig | None, object], SearchResult]:
    """``search_from(obs (O,), config, generator) -> SearchResult`` of one root, with the nets'
    prior and value, through the learned ``model`` or (None) the task's exact step; ``config``
    None searches with the planner's settings."""
    settings: MCTSConfig = config.make_planner().config
    if model is None:
        step_fn, dtype = EXACT_STEPS[config.run.task], torch.float64
    else:
        step_fn, dtype = learned_step_fn(model, config.task_spec()), torch.float32

    def search_from(obs: np.ndarray, search_config: MCTSConfig | None, generator: object) -> SearchResult:
        root = torch.as_tensor(obs, dtype=dtype)[None]
        return search(root, step_fn, nets.prior, nets.value, search_config or settings, generator)

    return search_from


def learned_step_fn(model: EnvironmentModel, task) -> StepFn:
    """The learned model's step: its mean next observation, its reward head when it learns one
    (else the task's reward) and the task's termination."""
    learns_reward = getattr(getattr(model.dynamics, "config", None), "learn_reward", False)
    reward_fn = model.dynamics.reward_fn if learns_reward else model.reward_fn
    return model_step_fn(model.dynamics, task, reward_fn=reward_fn, termination_fn=model.termination_fn)


def greedy(search_from: Callable, settings: MCTSConfig, cfg: Config, seed: int, simulations: int | None = None,
           deep: bool | None = None) -> Callable[[np.ndarray], int]:
    """The evaluation policy obs (O,) -> action index: the most visited action of a search with
    B' = ``simulations`` (default ``cfg.eval_simulations``, else B), to full depth or one step
    (``deep``, default ``cfg.search_eval``), without root noise. Ties are broken by draws seeded
    with the state itself, so an evaluation depends on nothing else."""
    deep = cfg.search_eval if deep is None else deep
    evaluation = dataclasses.replace(settings, simulations=simulations or cfg.eval_simulations or settings.simulations,
                                     max_depth=settings.max_depth if deep else 1, temperature=0.0,
                                     dirichlet_fraction=0.0)

    def act(obs: np.ndarray) -> int:
        ties = [seed, 2, *np.asarray(obs, dtype=np.float32).view(np.uint32).tolist()]
        return int(search_from(obs, evaluation, ties).action[0])

    return act


def evaluate_run(folder: str | Path, simulations: int | None = None, episodes: int = 10,
                 deep: bool | None = None) -> list[float]:
    """Returns of ``episodes`` evaluation episodes (reset seeds disjoint from training's) of the
    agent a run saved in ``folder`` (its last checkpoint), acting by :func:`greedy` with B' =
    ``simulations``: how a search budget at test time does on an agent trained with another."""
    folder = Path(folder)
    config = from_dict(json.loads((folder / "config.json").read_text()))
    cfg: Config = config.algorithm
    spec = config.task_spec()
    obs_dim, act_dim = spec.dims()
    parts = torch.load(folder / "checkpoint.pt", weights_only=False)["state"]["parts"]
    nets = PolicyValue(obs_dim, spec.num_actions, cfg.hidden, cfg.lr, cfg.value_init)
    nets.load_state_dict(parts["nets"])
    model = None
    if config.model_name is not None:
        model = EnvironmentModel(config.make_model(obs_dim, act_dim), spec, cfg)
        model.load_state_dict(parts["model"])
    policy = greedy(searcher(config, nets, model), config.make_planner().config, cfg, config.run.seed,
                    simulations, deep)
    env = spec.make_env()
    try:
        return [sum(step.rew for step in play_episode(
            env, policy, episode_seed(config.run.seed, 2 * EVAL_EPISODE_OFFSET + k), spec.num_actions))
            for k in range(episodes)]
    finally:
        env.close()


def train(config: RunConfig, run: Run) -> None:
    """MuZero-lite (module docstring) for ``config.run.steps`` env steps."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run, eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)
    mcts: MCTSConfig = config.make_planner().config
    deep = {True: mcts, False: dataclasses.replace(mcts, max_depth=1)}
    nets = PolicyValue(loop.obs_dim, loop.num_actions, cfg.hidden, cfg.lr, cfg.value_init)
    record = SearchRecord(loop.obs_dim, loop.num_actions, cfg.buffer_capacity)
    parts, model = {"nets": nets, "record": record}, None
    if config.model_name is not None:
        model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
        real = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)
        parts.update(model=model, real=real)
    loop.keep(**parts)
    search_from = searcher(config, nets, model)
    loop.evaluate_with(greedy(search_from, mcts, cfg, loop.seed))
    for obs in loop:
        if loop.env_step < cfg.random_steps:
            action, target = loop.random_action(), None
        else:
            acted = search_from(obs, deep[cfg.search_data], loop.streams.numpy)
            action, target = int(acted.action[0]), acted
            if cfg.search_learn != cfg.search_data:
                target = search_from(obs, deep[cfg.search_learn], loop.streams.numpy)
        step = loop.step(action)
        if target is None:
            record.add(step, torch.full((loop.num_actions,), 1.0 / loop.num_actions))
        else:
            visits = target.visit_counts[0].float()
            record.add(step, visits / visits.sum())
            loop.stats["root_value"] = float(acted.root_value[0])
        if model is not None:
            add_step(real, step)
            steps_learning = loop.env_step - cfg.random_steps
            if steps_learning >= 0 and steps_learning % cfg.refit_every == 0:
                with loop.phase("fitting the model"):
                    loop.stats.update(model.refit(real, loop.streams.torch))
        if len(record) >= cfg.batch_size:
            for _ in range(cfg.updates_per_step):
                loop.stats.update(nets.update(record, cfg.batch_size, cfg.td_steps, mcts.discount, loop.streams.torch))


ALGORITHMS.add("muzero-lite", sys.modules[__name__], requires={"model", "planner"})
ALGORITHMS.add("muzero-lite-oracle", sys.modules[__name__], requires={"planner"})

SEARCH = {"simulations": 25, "discount": 0.99, "temperature": 0.0}
"""The pairings' search: gamma = 0.99 (CartPole's values stay below 100) and the most visited
action (T = 0; the root noise still explores), as a 500-step balance tolerates few random
pushes: on CartPole-v1, oracle runs at T = 0.5 stayed near 100-250 over 1,500 steps where T = 0
reached 500 within them."""

OPTIMISTIC = {"CartPole-v1": {"algorithm": {"value_init": 100.0}}}
"""Per-task presets: CartPole-v1's optimistic value 1 / (1 - 0.99) (Acrobot's -1 per step makes the
default 0 optimistic already)."""

register_pairing(Pairing(
    "mcts-model", "muzero-lite", "deterministic", "mcts",
    {"algorithm": {"random_steps": 1000}, "model": {"hidden": 200, "layers": 3, "learn_reward": True},
     "planner": dict(SEARCH)},
    "MuZero-lite (Schrittwieser et al. 2020) on a learned one-step model in observation space: pUCT search "
    "with policy prior and value nets", task_settings=OPTIMISTIC, task="CartPole-v1"))
register_pairing(Pairing(
    "oracle-mcts", "muzero-lite-oracle", None, "mcts", {"planner": {**SEARCH, "simulations": 50}},
    "AlphaZero-style search on the exact simulator (Silver et al. 2018), policy and value nets learned from it",
    task_settings=OPTIMISTIC, task="CartPole-v1"))
