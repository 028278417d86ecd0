"""Monte-Carlo tree search with the pUCT rule, for tasks with discrete actions, over any one-step
model: AlphaZero's search (Silver et al., "A general reinforcement learning algorithm that masters
chess, shogi, and Go through self-play", Science 2018) with MuZero's rewards, discount and
min-max normalised values (Schrittwieser et al., "Mastering Atari, Go, chess and shogi by
planning with a learned model", Nature 2020, appendix B).

The search sees the model through three batched functions (B rows, n actions, O obs dims):

* ``step_fn(obs (B, O), actions (B,) long) -> (next_obs (B, O), reward (B,), terminated (B,) bool)``:
  the exact simulator (e.g. :func:`mbrl_zoo.tasks.classic.cartpole_step`) or a learned model
  (:func:`model_step_fn`);
* ``prior_fn(obs (B, O)) -> (B, n)``: policy priors, rows summing to 1 (:func:`uniform_prior`
  for the no-learning baseline, a policy network's softmax otherwise);
* ``value_fn(obs (B, O)) -> (B,)``: the expected discounted return from a non-terminal state
  (:func:`random_rollout_value` for the baseline, a value network otherwise).

:func:`search` grows B independent trees, one per root observation, together. Each simulation:

1. *selection* -- from the root, take in every node ``s`` the action maximising
   ``Qbar(s, a) + P(s, a) sqrt(sum_b N(s, b)) / (1 + N(s, a)) (c1 + log((sum_b N(s, b) + c2 + 1) / c2))``
   (MuZero's eq. 2), until an edge not yet expanded, a terminal node, or ``max_depth`` edges;
   ties go to the larger prior, then to one drawn uniformly (so no action is favoured by its
   index: with uniform priors, a fixed order would bias the visit counts);
2. *expansion* -- one ``step_fn`` call on the new edges of all trees at once, then one
   ``prior_fn`` and one ``value_fn`` call on the new non-terminal nodes;
3. *backup* -- with ``G`` the new node's value (0 if terminal; a node already in the tree at
   ``max_depth`` gives its stored value again), every edge on the path from the leaf up gets
   ``N(s, a) += 1``, ``W(s, a) += G`` and then ``G = r(s, a) + discount G``.

``Q(s, a) = r(s, a) + discount W(s, a) / N(s, a)``, normalised by the smallest and largest Q the
tree has seen so far: ``Qbar = (Q - min) / (max - min)``, in [0, 1]. An edge not yet visited, and
every edge while the tree has seen no two different Q values, has ``Qbar = 0`` (as MuZero's
pseudocode scores unvisited children). At the root, the priors are mixed with Dirichlet noise,
``(1 - fraction) P + fraction Dir(alpha)``, for exploration while acting.

The tree keeps one outcome per edge, so a stochastic model is searched as the deterministic
model of the draws it made. The result is the root's visit counts, the policy
``pi(a) ~ N(root, a)^(1 / temperature)`` (temperature 0: its limit, uniform over the most
visited actions), an action drawn from it, and the root value, the mean return of the simulations.

Cost per simulation: one ``step_fn``, one ``prior_fn`` and one ``value_fn`` call on at most B rows
(for all B trees together; none for a tree whose path ended in a terminal or ``max_depth``
node), plus the bookkeeping: selection walks the path's d edges, a Python loop of about 30
numpy operations per edge, each over the (B, n) statistics of the trees still descending;
the backup updates every edge of every path in about 35 operations whatever d is (the returns
along all paths come from one (B, d + 1) x (d + 1, d + 1) product). O(d n B) work in O(d)
vectorised steps; for one tree and a cheap model the Python overhead of those steps dominates
(``benchmarks/mcts_speed.py`` measures simulations per second). Memory: arrays of
(B, simulations + 1, n) for the edges and a (B, simulations + 1, O) tensor of observations,
allocated once per search.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import register_planner
from mbrl_zoo.settings import setting

Tensor = torch.Tensor
StepFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]
"""``step_fn(obs (B, O), actions (B,) long) -> (next_obs (B, O), reward (B,), terminated (B,) bool)``."""
PriorFn = Callable[[Tensor], Tensor]
"""``prior_fn(obs (B, O)) -> (B, n)`` policy priors, each row non-negative and summing to 1."""
ValueFn = Callable[[Tensor], Tensor]
"""``value_fn(obs (B, O)) -> (B,)`` expected discounted return from each (non-terminal) state."""
Seed = np.random.Generator | int | None
"""The root noise, the tie-breaks and the action draw come from a numpy Generator, or one seeded
with this int (None: fresh entropy)."""


@dataclass(frozen=True)
class MCTSConfig:
    """Settings of :func:`search`; bad values raise UserError (a run's config names them
    ``planner.KEY`` from the declared ranges). Defaults are MuZero's (appendix B and its Atari
    settings) where it has one."""

    simulations: int = setting(50, "[1, 10**6]")
    """Simulations per search (>= 1); each adds at most one node to each tree."""
    max_depth: int = setting(50, "[1, 1000]", note="the search keeps a (depth + 1)^2 table of discounts")
    """Most transitions from the root a simulation follows (>= 1); a node at that depth is a leaf
    whose value estimate is backed up again on each visit."""
    temperature: float = setting(1.0, ">= 0")
    """T >= 0 of the acting policy ``pi(a) ~ N(root, a)^(1 / T)``; 0 takes the most visited action
    (one of them at random on a tie)."""
    c1: float = setting(1.25, "> 0")
    """pUCT's exploration weight at small visit counts (> 0)."""
    c2: float = setting(19652.0, "> 0")
    """pUCT's visit scale (> 0) at which the exploration weight starts to grow as log(visits)."""
    dirichlet_alpha: float = setting(0.25, "> 0")
    """Concentration (> 0) of the Dirichlet noise mixed into the root priors."""
    dirichlet_fraction: float = setting(0.25, "[0, 1]")
    """Weight in [0, 1] of that noise; 0 turns it off (evaluation)."""
    discount: float = setting(0.997, "[0, 1]")
    """Discount in [0, 1] of rewards along a path and of the leaf value."""

    def __post_init__(self) -> None:
        for name in ("simulations", "max_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"mcts {name} must be an integer >= 1, got {value!r}.")
        rules = (("temperature", lambda v: v >= 0, ">= 0"), ("c1", lambda v: v > 0, "> 0"),
                 ("c2", lambda v: v > 0, "> 0"), ("dirichlet_alpha", lambda v: v > 0, "> 0"),
                 ("dirichlet_fraction", lambda v: 0 <= v <= 1, "in [0, 1]"),
                 ("discount", lambda v: 0 <= v <= 1, "in [0, 1]"))
        for name, ok, rule in rules:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not ok(value):
                raise UserError(f"mcts {name} must be a finite number {rule}, got {value!r}.")


@dataclass(frozen=True)
class SearchResult:
    """What :func:`search` returns for B roots and n actions (CPU tensors).

    ``action`` (B,) long: the action to take, drawn from ``policy``; ``visit_counts`` (B, n) long:
    N(root, a), summing to ``simulations``; ``policy`` (B, n) float64: the visit-count policy at the
    configured temperature; ``root_value`` (B,) float64: the mean return of the simulations from
    the root; ``q_values`` (B, n) float64: Q(root, a), NaN for actions never tried;
    ``root_prior`` (B, n) float64: the priors the root was searched with, noise included.
    """

    action: Tensor
    visit_counts: Tensor
    policy: Tensor
    root_value: Tensor
    q_values: Tensor
    root_prior: Tensor


PRIOR, VISITS, Q = 0, 1, 2
"""Rows of the per-edge statistics that selection reads together (``_Trees.stats``)."""


class _Trees:
    """B search trees in preallocated flat arrays. Node k of tree b (0: the root, k: the node made
    by simulation k) has slot ``b * nodes + k``; its edge for action a has id ``slot * n + a``.
    ``stats`` (slots, 3, n) holds each edge's prior, visit count and Q, ``children`` (slots, n)
    the slot an edge leads to (-1 while it is not expanded). Flat ids keep every gather and
    scatter a one-dimensional ``take``/``put``, the cheapest numpy indexing."""

    def __init__(self, root_obs: Tensor, root_prior: np.ndarray, config: MCTSConfig, rng: np.random.Generator):
        batch, num_actions = root_prior.shape
        self.config, self.num_actions, self.nodes, self.rng = config, num_actions, config.simulations + 1, rng
        slots = batch * self.nodes
        self.rows = np.arange(batch)
        self.roots = self.rows * self.nodes
        self.stats = np.zeros((slots, 3, num_actions))
        self.stats[self.roots, PRIOR] = root_prior
        self.children = np.full(slots * num_actions, -1, dtype=np.int64)
        self.reward = np.zeros(slots * num_actions)
        self.value_sum = np.zeros(slots * num_actions)
        self.terminal = np.zeros(slots, dtype=bool)
        self.leaf_value = np.zeros(slots)
        self.node_visits = np.zeros(slots, dtype=np.int64)  # sum_b N(s, b)
        # pUCT's exploration weight sqrt(T) (c1 + log((T + c2 + 1) / c2)) for every T a node can reach
        total = np.arange(config.simulations + 1.0)
        self.exploration = np.sqrt(total) * (config.c1 + np.log1p((total + 1.0) / config.c2))
        self.obs = root_obs.new_empty((slots, root_obs.shape[1]))
        self.obs[torch.from_numpy(self.roots)] = root_obs
        self.q_low = np.full(batch, np.inf)
        self.q_high = np.full(batch, -np.inf)
        # Qbar = (Q - offset) * scale: offset = min Q and scale = 1 / (max - min) once the tree has
        # seen two different Q values, scale 0 (Qbar = 0) before.
        self.q_offset = np.zeros((batch, 1))
        self.q_scale = np.zeros((batch, 1))
        self.root_return_sum = np.zeros(batch)
        # discounts[d, k] = discount^(k - d) for k >= d, else 0: the return from level d of a path
        # is sum_k discounts[d, k] x_k over its rewards x_0 .. x_(L-1) followed by the leaf value x_L.
        levels = np.arange(config.max_depth + 1)
        ahead = levels[None, :] - levels[:, None]
        self.discounts = np.where(ahead >= 0, config.discount ** np.maximum(ahead, 0), 0.0)

    def select(self, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The pUCT action (R,) at node ``slots[i]`` of tree ``rows[i]``."""
        stats = self.stats.take(slots, 0)
        prior, visits, q = stats[:, PRIOR], stats[:, VISITS], stats[:, Q]
        q_bar = (q - self.q_offset.take(rows, 0)) * self.q_scale.take(rows, 0) * (visits > 0)
        weight = self.exploration.take(self.node_visits.take(slots))[:, None]
        score = q_bar + prior * weight / (1.0 + visits)
        best = score == score.max(-1, keepdims=True)
        if best.sum() == rows.size:
            return score.argmax(-1)
        tied_prior = np.where(best, prior, -1.0)
        best = tied_prior == tied_prior.max(-1, keepdims=True)
        return np.where(best, self.rng.random(best.shape), -1.0).argmax(-1)

    def simulate(self, index: int, step_fn: StepFn, prior_fn: PriorFn, value_fn: ValueFn) -> None:
        """Simulation number ``index`` (>= 1) in every tree: select, expand into node ``index``, back up."""
        limit, n = self.config.max_depth, self.num_actions
        path = np.zeros((self.rows.size, limit), dtype=np.int64)  # edge ids, level by level
        depth = np.zeros(self.rows.size, dtype=np.int64)
        slots = self.roots.copy()  # ends as the slot the path leads to, -1: its last edge is new
        active = self.rows
        for level in range(limit):
            current = slots.take(active)
            edges = current * n + self.select(active, current)
            path[active, level] = edges
            child = self.children.take(edges)
            slots[active] = child
            depth[active] = level + 1
            if level + 1 == limit:
                break
            active = active[(child >= 0) & ~self.terminal.take(np.maximum(child, 0))]
            if active.size == 0:
                break
        new = np.flatnonzero(slots < 0)
        if new.size:
            slots[new] = self._expand(new * self.nodes + index, path[new, depth[new] - 1], step_fn, prior_fn, value_fn)
        self._backup(path, depth, self.leaf_value.take(slots))

    def _expand(self, slots: np.ndarray, edges: np.ndarray, step_fn: StepFn, prior_fn: PriorFn,
                value_fn: ValueFn) -> np.ndarray:
        """Step the edges ``edges`` into the new nodes ``slots``; returns ``slots``."""
        n = self.num_actions
        obs = self.obs[torch.from_numpy(edges // n)]
        next_obs, reward, terminated = _checked_step(step_fn(obs, torch.from_numpy(edges % n)), obs)
        self.children[edges] = slots
        self.obs[torch.from_numpy(slots)] = next_obs
        self.reward[edges] = _finite("step_fn reward", reward)
        done = terminated.cpu().numpy()
        self.terminal[slots] = done
        if not done.all():
            live = slots[~done]
            live_obs = next_obs[torch.from_numpy(~done)] if done.any() else next_obs
            self.stats[live, PRIOR] = _checked_prior(prior_fn(live_obs), live.size, n)
            self.leaf_value[live] = _finite("value_fn", _checked_value(value_fn(live_obs), live.size))
        return slots

    def _backup(self, path: np.ndarray, depth: np.ndarray, leaf_value: np.ndarray) -> None:
        """Back the leaf values (B,) up each tree's path of ``depth`` edges (MuZero's backup), all
        levels at once: the returns along every path come from one product with ``discounts``."""
        n, longest = self.num_actions, int(depth.max())
        trees, levels = np.nonzero(np.arange(longest) < depth[:, None])  # every edge on a path
        edges = path[trees, levels]
        reward = self.reward.take(edges)
        steps = np.zeros((self.rows.size, longest + 1))
        steps[trees, levels] = reward
        steps[self.rows, depth] = leaf_value
        returns = steps @ self.discounts[: longest + 1, : longest + 1].T  # (B, L + 1): return from each level
        # A path visits a node at most once, so its edge ids are distinct: += adds to each once.
        self.value_sum[edges] += returns[trees, levels + 1]
        parents = edges // n
        self.node_visits[parents] += 1
        visits_at = edges + parents * (2 * n) + VISITS * n  # flat index into stats
        self.stats.reshape(-1)[visits_at] += 1
        q = reward + self.config.discount * self.value_sum.take(edges) / self.stats.reshape(-1).take(visits_at)
        self.stats.reshape(-1)[visits_at + (Q - VISITS) * n] = q
        np.minimum.at(self.q_low, trees, q)
        np.maximum.at(self.q_high, trees, q)
        span = self.q_high - self.q_low
        seen_two = span > 0
        self.q_offset[:, 0] = np.where(seen_two, self.q_low, 0.0)
        self.q_scale[:, 0] = np.where(seen_two, 1.0 / np.where(seen_two, span, 1.0), 0.0)
        self.root_return_sum += returns[:, 0]


def _finite(what: str, values: np.ndarray) -> np.ndarray:
    if not np.isfinite(values).all():
        raise UserError(f"mcts: {what} returned non-finite values ({values[~np.isfinite(values)][:3].tolist()} ...); "
                        "a search cannot rank them.")
    return values


def _checked_step(output: Any, obs: Tensor) -> tuple[Tensor, np.ndarray, Tensor]:
    rows = obs.shape[0]
    expected = f"(next_obs {tuple(obs.shape)}, reward ({rows},), terminated ({rows},))"
    if not isinstance(output, tuple) or len(output) != 3 or not all(isinstance(x, Tensor) for x in output):
        raise UserError(f"mcts: step_fn must return three tensors {expected}; got {type(output).__name__}.")
    next_obs, reward, terminated = output
    if next_obs.shape != obs.shape or reward.shape != (rows,) or terminated.shape != (rows,):
        got = tuple(tuple(x.shape) for x in output)
        raise UserError(f"mcts: step_fn returned shapes {got}; expected {expected}.")
    return next_obs, reward.detach().double().cpu().numpy(), terminated.bool()


def _checked_prior(prior: Any, rows: int, num_actions: int | None) -> np.ndarray:
    """``prior`` as float64 (rows, n) after checking its shape (and, with ``num_actions=None``, that
    its rows are distributions)."""
    shape = (rows, num_actions) if num_actions is not None else None
    if not isinstance(prior, Tensor) or prior.ndim != 2 or prior.shape[0] != rows or \
            (shape is not None and tuple(prior.shape) != shape):
        got = tuple(prior.shape) if isinstance(prior, Tensor) else type(prior).__name__
        raise UserError(f"mcts: prior_fn returned {got}; expected a tensor of shape "
                        f"({rows}, {num_actions if num_actions is not None else 'num_actions'}).")
    return prior.detach().double().cpu().numpy()


def _checked_value(value: Any, rows: int) -> np.ndarray:
    if not isinstance(value, Tensor) or tuple(value.shape) != (rows,):
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise UserError(f"mcts: value_fn returned {got}; expected a tensor of shape ({rows},).")
    return value.detach().double().cpu().numpy()


def visit_policy(visits: np.ndarray, temperature: float) -> np.ndarray:
    """``pi(a) ~ N(a)^(1 / temperature)`` row by row of visit counts (B, n): (B, n) float64.
    Temperature 0 is the limit: uniform over each row's most visited actions."""
    visits = np.asarray(visits, dtype=np.float64)
    if temperature == 0:
        most = visits == visits.max(-1, keepdims=True)
        return most / most.sum(-1, keepdims=True)
    with np.errstate(divide="ignore"):
        logits = np.log(visits) / temperature
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def search(
    root_obs: Tensor,
    step_fn: StepFn,
    prior_fn: PriorFn,
    value_fn: ValueFn,
    config: MCTSConfig = MCTSConfig(),
    generator: Seed = None,
) -> SearchResult:
    """Run ``config.simulations`` pUCT simulations from each of the B roots ``root_obs`` (B, O) and
    act on the result (see the module docstring). ``generator`` seeds the root's Dirichlet noise,
    the tie-breaks and the draw of the action: the same seed gives the same result. The number of actions n is
    the width of ``prior_fn(root_obs)``. Runs under ``torch.no_grad()``.
    """
    if not isinstance(root_obs, Tensor) or root_obs.ndim != 2 or root_obs.shape[0] < 1:
        got = tuple(root_obs.shape) if isinstance(root_obs, Tensor) else type(root_obs).__name__
        raise UserError(f"mcts: root_obs must be a tensor of shape (B, O) with B >= 1 roots; got {got}.")
    if not isinstance(config, MCTSConfig):
        raise UserError(f"mcts: config must be an MCTSConfig, got {type(config).__name__}.")
    rng = np.random.default_rng(generator)
    batch = root_obs.shape[0]
    with torch.no_grad():
        prior = _checked_prior(prior_fn(root_obs), batch, None)
        if prior.shape[1] < 2 or not np.isfinite(prior).all() or (prior < 0).any() or \
                not np.allclose(prior.sum(-1), 1.0, atol=1e-4):
            raise UserError(f"mcts: prior_fn must give each root a distribution over n >= 2 actions (non-negative, "
                            f"summing to 1); got rows {prior[:2].round(4).tolist()}{' ...' if batch > 2 else ''}.")
        if config.dirichlet_fraction > 0:
            noise = rng.dirichlet(np.full(prior.shape[1], config.dirichlet_alpha), size=batch)
            prior = (1.0 - config.dirichlet_fraction) * prior + config.dirichlet_fraction * noise
        trees = _Trees(root_obs, prior, config, rng)
        for index in range(1, config.simulations + 1):
            trees.simulate(index, step_fn, prior_fn, value_fn)
    root_stats = trees.stats[trees.roots]
    visits = root_stats[:, VISITS].astype(np.int64)
    policy = visit_policy(visits, config.temperature)
    action = np.array([rng.choice(policy.shape[1], p=row) for row in policy])
    q_values = np.where(visits > 0, root_stats[:, Q], np.nan)
    return SearchResult(
        action=torch.from_numpy(action),
        visit_counts=torch.from_numpy(visits),
        policy=torch.from_numpy(policy),
        root_value=torch.from_numpy(trees.root_return_sum / config.simulations),
        q_values=torch.from_numpy(q_values),
        root_prior=torch.from_numpy(root_stats[:, PRIOR].copy()),
    )


@register_planner("mcts")
class MCTS:
    """Monte-Carlo tree search with the pUCT rule for discrete actions (AlphaZero, MuZero): priors,
    values, min-max normalised Q, root Dirichlet noise, a visit-count policy.

    ``MCTS(**settings)`` holds an :class:`MCTSConfig` (unknown or bad settings raise UserError);
    :meth:`search` runs :func:`search` with it. It works on discrete tasks only
    (``action_space``), and searches through explicit step, prior and value functions rather
    than the continuous planners' ``plan(objective)``.
    """

    action_space = "discrete"
    needs_gradients = False
    Config = MCTSConfig

    def __init__(self, **settings: Any):
        valid = [f.name for f in dataclasses.fields(MCTSConfig)]
        unknown = sorted(set(settings) - set(valid))
        if unknown:
            raise UserError(f"unknown mcts setting {unknown[0]!r}; valid settings: {', '.join(valid)}.")
        self.config = MCTSConfig(**settings)

    def search(self, root_obs: Tensor, step_fn: StepFn, prior_fn: PriorFn, value_fn: ValueFn,
               generator: Seed = None) -> SearchResult:
        """:func:`search` with this planner's settings."""
        return search(root_obs, step_fn, prior_fn, value_fn, self.config, generator)


def uniform_prior(num_actions: int) -> PriorFn:
    """``prior_fn`` giving every action probability 1 / ``num_actions``: (B, n)."""
    if num_actions < 2:
        raise UserError(f"uniform_prior needs num_actions >= 2, got {num_actions}.")

    def prior(obs: Tensor) -> Tensor:
        return torch.full((obs.shape[0], num_actions), 1.0 / num_actions, dtype=torch.float64)

    return prior


def random_rollout_value(step_fn: StepFn, num_actions: int, depth: int, rollouts: int = 1, discount: float = 1.0,
                         generator: torch.Generator | None = None) -> ValueFn:
    """``value_fn`` estimating V(s) as the mean discounted return of ``rollouts`` uniformly random
    action sequences of ``depth`` steps from each state (the classic MCTS rollout; Coulom 2006,
    Kocsis and Szepesvari 2006): ``depth`` ``step_fn`` calls on B x ``rollouts`` rows per call.
    A rollout stops collecting reward at its first termination."""
    if num_actions < 2 or depth < 1 or rollouts < 1 or not 0.0 <= discount <= 1.0:
        raise UserError(f"random_rollout_value needs num_actions >= 2, depth >= 1, rollouts >= 1 and 0 <= discount "
                        f"<= 1; got {num_actions}, {depth}, {rollouts}, {discount}.")

    def value(obs: Tensor) -> Tensor:
        states = obs.repeat_interleave(rollouts, 0)
        all_actions = torch.randint(num_actions, (depth, states.shape[0]), generator=generator)
        total = torch.zeros(states.shape[0], dtype=torch.float64)
        alive = torch.ones(states.shape[0], dtype=torch.bool)
        for step, actions in enumerate(all_actions):
            states, reward, terminated = step_fn(states, actions)
            total += torch.where(alive, reward.double(), 0.0).mul_(discount**step)
            alive &= ~terminated.bool()
            if not bool(alive.any()):
                break
        return total.view(obs.shape[0], rollouts).mean(1)

    return value


def model_step_fn(model: Any, task: Any, reward_fn: Callable | None = None,
                  termination_fn: Callable | None = None) -> StepFn:
    """``step_fn`` of a learned one-step model on a discrete ``task``: action indices become the
    task's one-hot actions (``task.encode_actions``, the models' input), the next observation is
    the model's mean prediction (``model.mean``, over its elite members for an ensemble), and the
    reward and termination come from ``reward_fn`` / ``termination_fn`` (default: the task's; pass
    a model's learned heads to use those)."""
    reward_fn = task.reward_fn if reward_fn is None else reward_fn
    termination_fn = task.termination_fn if termination_fn is None else termination_fn
    if reward_fn is None:
        raise UserError(f"model_step_fn: task {task.name!r} has no reward_fn; pass the model's learned one.")

    def step(obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        act = task.encode_actions(actions, dtype=obs.dtype)
        next_obs = model.mean(obs, act)
        return next_obs, reward_fn(obs, act, next_obs), termination_fn(obs, act, next_obs)

    return step
