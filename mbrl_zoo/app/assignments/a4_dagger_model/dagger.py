"""Assignment 4: DAgger-style model learning with a planner in the loop.

Ross & Bagnell ("Agnostic System Identification for Model-Based Reinforcement Learning", ICML
2012, Algorithm 1) fit a model to an expert's transitions, plan in it, execute the plan in the
real system, and refit on a mixture of the expert's data and every transition the learner's own
policies have met::

    D_expert = {(s, a, s')} from the expert;  D_learner <- {}
    M_1 <- Train(D_expert);  pi_1 <- plan in M_1
    for i = 1..N:
        execute pi_i in the real system, collect D_i and its real return R_i
        D_learner <- D_learner U D_i
        M_{i+1} <- Train(f D_expert + (1 - f) D_learner)     (f: the expert fraction)
        pi_{i+1} <- plan in M_{i+1}
    return the pi_i with the highest real return R_i

Planning in a model fitted only to the expert's states fails where the learner's own policy
takes the system elsewhere; by the simulation lemma, the gap between the return a model predicts
for a policy and its real return is bounded by the model's error under the states that policy
visits. You write:

* :func:`expert_count` and :func:`mixed_minibatch`: the minibatches of a fit on
  ``f D_expert + (1 - f) D_learner``, a weighted mixture (every minibatch draws the share f from
  the expert's data, whatever the sizes of the two sets), not one data set with duplicated rows.
* :func:`dagger_model_learning`: the iteration loop above, given the pieces that fit a model,
  plan in it and execute a policy.
* :func:`model_a_or_b`: your answers to the handout's Model A / Model B question.

The grader runs the zoo's model fitting (``mbrl_zoo.models.fit.fit``) with your
:func:`mixed_minibatch` and your loop with the zoo's ensemble, CEM planner and MPC on cart-pole.
Shapes: O observation dims, A action dims, E ensemble members, B minibatch rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch

from mbrl_zoo.models.fit import concat, take, take_member
from mbrl_zoo.types import Batch

Fit = Callable[[Batch, Batch], Any]
"""``fit(expert, learner) -> model``: trains the model on minibatches that draw the expert
fraction of their rows from ``expert`` and the rest from ``learner`` (only ``expert`` while
``learner`` has no rows) and returns the fitted model."""
Plan = Callable[[Any], Any]
"""``plan(model) -> policy``: the MPC policy that plans in ``model``."""
Execute = Callable[[Any], tuple[Batch, float]]
"""``execute(policy) -> (transitions, real_return)``: one real episode of ``policy``, its
transitions (a Batch of T rows) and its real return."""


@dataclass(frozen=True)
class Iterates:
    """What :func:`dagger_model_learning` returns: ``returns[i - 1]`` is the real return R_i of
    pi_i (i = 1..N), ``best`` the i of the highest R_i (the first of equals), ``policy`` that pi_i."""

    returns: list[float]
    best: int
    policy: Any


def expert_count(batch_size: int, expert_fraction: float, index: int) -> int:
    """Return how many rows of minibatch number ``index`` (0, 1, 2, ...) come from the expert's data:
    ``floor((index + 1) f B) - floor(index f B)`` (B = ``batch_size``, f = ``expert_fraction``),
    so that the first n minibatches hold ``floor(n f B)`` expert rows in all, within one row of
    the share f however many minibatches are drawn. Add 1e-9 before each floor, so that products
    such as 0.3 x 10 = 2.9999999999999996 count as the whole number they stand for."""
    ### BEGIN SOLUTION
    return int((index + 1) * expert_fraction * batch_size + 1e-9) - int(index * expert_fraction * batch_size + 1e-9)
    ### END SOLUTION


def mixed_minibatch(expert: Batch, learner: Batch, expert_fraction: float, batch_size: int, index: int,
                    members: int, generator: torch.Generator | None = None) -> Batch:
    """Return minibatch number ``index`` of a fit on ``expert_fraction`` D_expert + (1 -
    ``expert_fraction``) D_learner: ``expert_count(batch_size, expert_fraction, index)`` rows
    drawn uniformly with replacement from ``expert`` and the rest of the ``batch_size`` rows from
    ``learner`` (both hold at least one row; tensors (N, ...)).

    Each of the ``members`` ensemble members draws its own rows (draw indices with
    ``torch.randint(..., generator=generator)``; ``take(data, rows)`` picks rows (E, k) of
    ``data`` as tensors (E, k, ...)). Returns a Batch of tensors (E, B, ...) when ``members`` > 1,
    else (B, ...) (``take_member(batch, 0)``), expert rows first.
    """
    ### BEGIN SOLUTION
    k = expert_count(batch_size, expert_fraction, index)
    from_expert = torch.randint(len(expert), (members, k), generator=generator)
    from_learner = torch.randint(len(learner), (members, batch_size - k), generator=generator)
    drawn = (take(expert, from_expert), take(learner, from_learner))
    mixed = Batch(**{f.name: torch.cat([getattr(part, f.name) for part in drawn], dim=1) for f in fields(Batch)})
    return mixed if members > 1 else take_member(mixed, 0)
    ### END SOLUTION


def dagger_model_learning(expert: Batch, fit: Fit, plan: Plan, execute: Execute, iterations: int,
                          aggregate: bool = True) -> Iterates:
    """Run Ross & Bagnell 2012's loop for ``iterations`` N and return the :class:`Iterates`.

    Start with an empty D_learner (a Batch of 0 rows with ``expert``'s shapes: every field of
    ``expert`` cut to ``[:0]``), fit M_1 = ``fit(expert, learner)`` and plan pi_1 = ``plan(M_1)``.
    Iteration i executes pi_i once (``execute(pi_i)``, the only real episode of that iteration),
    then, unless i = N, puts its transitions D_i into D_learner (``aggregate``: D_learner U D_i,
    with ``concat(first, second)``; otherwise D_i alone, the no-aggregation ablation), fits
    M_{i+1} = ``fit(expert, D_learner)`` and plans pi_{i+1} in it. So N policies are executed and
    N models fitted; no model is fitted after the last episode, since no later policy would run.
    """
    ### BEGIN SOLUTION
    learner = Batch(**{f.name: getattr(expert, f.name)[:0] for f in fields(Batch)})
    policy = plan(fit(expert, learner))
    returns: list[float] = []
    best, best_policy = 0, None
    for i in range(1, iterations + 1):
        data, real_return = execute(policy)
        returns.append(float(real_return))
        if best == 0 or returns[-1] > returns[best - 1]:
            best, best_policy = i, policy
        if i == iterations:
            break
        learner = concat(learner, data) if aggregate else data
        model = fit(expert, learner)
        policy = plan(model)
    return Iterates(returns, best, best_policy)
    ### END SOLUTION


def model_a_or_b() -> dict[str, Any]:
    """Return your answers to the handout's Model A / Model B question: a dict with the six keys
    below.

    The chain: states s (integers), actions a in {-1, 0, +1}, s' = s + a, reward r = s', start
    s = 0, episodes of 4 steps. The expert always moves right: 0 -> 1 -> 2 -> 3 -> 4 (return 10).
    Model A predicts every transition correctly except those from s = 0, where it predicts no
    move whatever the action; Model B predicts only the transitions from s = 0 correctly and no
    move everywhere else. MPC plans in a model over all 3^4 action sequences of 4 steps, takes
    the sequence of highest predicted return (among equals the first in the order -1 < 0 < +1,
    compared action by action), executes its first action and plans again.

    * ``lower_one_step_error_on_expert_states``: the model whose one-step predictions of the
      expert's 4 transitions have the lower mean squared error ("A" or "B").
    * ``lower_four_step_error_on_expert_states``: the model whose open-loop prediction of the
      expert's trajectory (its own predictions fed back, the expert's actions) has the lower mean
      squared error over the 4 predicted states ("A" or "B").
    * ``return_of_planning_in_a``, ``return_of_planning_in_b``: the real return of the 4-step
      episode that MPC in that model plays in the chain.
    * ``better_model_to_plan_in``: "A" or "B", by those returns.
    * ``error_that_bounds_the_return_gap``: by the simulation lemma, the gap between the return a
      model predicts for a policy and the policy's real return is bounded by the model's error
      on which states: "expert" (those the expert visits) or "learner" (those the policy itself
      visits)?
    """
    ### BEGIN SOLUTION
    return {
        "lower_one_step_error_on_expert_states": "A",
        "lower_four_step_error_on_expert_states": "B",
        "return_of_planning_in_a": -2.0,
        "return_of_planning_in_b": 2.0,
        "better_model_to_plan_in": "B",
        "error_that_bounds_the_return_gap": "learner",
    }
    ### END SOLUTION
