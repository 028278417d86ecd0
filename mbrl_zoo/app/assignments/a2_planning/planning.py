"""Assignment 2: planning over action sequences, and model-predictive control.

A planner searches action sequences (H, A) inside the action box for the one that MAXIMISES an
objective ``objective(actions (N, H, A)) -> (N,)``: a batch of N candidate sequences in, one
return per candidate out. With a dynamics model, that return is the sum of rewards the model
predicts for the sequence (``mbrl_zoo.rollout.make_objective`` builds such an objective).
Candidates whose return is NaN or inf rank last, never first.

* :class:`RandomShooting`: the best of N uniform draws (Nagabandi et al. 2018, RS-MPC).
* :class:`CEM`: the cross-entropy method (Rubinstein 1999) as PETS plans with it (Chua et al.
  2018): sample from a Gaussian, refit it to the best candidates, repeat.
* :func:`shift_plan` and :func:`mpc_episode`: receding-horizon control. Plan, execute the first
  action, then plan again from the next state, starting the search from the rest of the
  previous plan (warm start).

Both planners keep the zoo's ``planners.base.Planner`` contract, so every algorithm plans with
them::

    mbrl-zoo --plugin planning.py run pets --task cartpole-balance --set planner.name=hw2-cem

Shapes: H horizon, A action dims, N candidates.
"""

from __future__ import annotations

import torch

from mbrl_zoo.registry import register_planner
from mbrl_zoo.rollout import make_objective
from planners.base import Callback, Objective, Planner


@register_planner("hw2-random-shooting")
class RandomShooting(Planner):
    """The best of ``population_size`` action sequences drawn uniformly in the action box."""

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int,
                 population_size: int = 1000):
        super().__init__(action_low, action_high, horizon)
        self.population_size = int(population_size)

    def plan(self, objective: Objective, init_mean: torch.Tensor | None = None,
             generator: torch.Generator | None = None, callback: Callback | None = None) -> torch.Tensor:
        """Return the candidate (H, A) with the highest objective among ``population_size``
        sequences drawn uniformly in ``[action_low, action_high]`` (plus ``init_mean`` (H, A)
        when given); NaN or inf returns rank last. Draw with ``generator``.
        """
        ### BEGIN SOLUTION
        shape = (self.population_size, self.horizon, self.action_low.shape[0])
        uniform = torch.rand(shape, generator=generator)
        candidates = self.action_low + uniform * (self.action_high - self.action_low)
        if init_mean is not None:
            candidates = torch.cat([candidates, self.initial_mean(init_mean).unsqueeze(0)])
        returns = objective(candidates)
        returns = torch.where(torch.isfinite(returns), returns, torch.full_like(returns, -torch.inf))
        return candidates[torch.argmax(returns)].clone()
        ### END SOLUTION


@register_planner("hw2-cem")
class CEM(Planner):
    """The cross-entropy method: a per-step, per-dimension Gaussian over sequences, refitted to
    its elites for ``iterations`` rounds (Chua et al. 2018).

    ``initial_std`` is in units of the half-width of the action box; the new mean and std after
    each round are ``momentum * old + (1 - momentum) * elites'``.
    """

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, horizon: int,
                 population_size: int = 200, elite_fraction: float = 0.1, iterations: int = 5,
                 initial_std: float = 0.5, momentum: float = 0.1):
        super().__init__(action_low, action_high, horizon)
        self.population_size = int(population_size)
        self.num_elites = max(2, round(elite_fraction * population_size))
        self.iterations = int(iterations)
        self.initial_std = float(initial_std)
        self.momentum = float(momentum)

    def plan(self, objective: Objective, init_mean: torch.Tensor | None = None,
             generator: torch.Generator | None = None, callback: Callback | None = None) -> torch.Tensor:
        """Return the mean (H, A) of the search distribution after ``iterations`` rounds of:
        draw ``population_size`` sequences from N(mean, std^2) clipped to the action box, keep
        the ``num_elites`` with the highest objective (NaN or inf rank last), move mean and std
        towards the elites' mean and std. Start from ``init_mean`` (the box's middle when None)
        and ``initial_std`` half-widths; draw with ``generator``; after each round call
        ``callback(round, {"best": ..., "elite_mean": ...})`` when given.
        """
        ### BEGIN SOLUTION
        mean = self.initial_mean(init_mean)
        std = (self.initial_std * self.half_range).expand_as(mean).clone()
        for round_ in range(self.iterations):
            noise = torch.randn((self.population_size, *mean.shape), generator=generator)
            candidates = torch.clamp(mean + std * noise, self.action_low, self.action_high)
            returns = objective(candidates)
            returns = torch.where(torch.isfinite(returns), returns, torch.full_like(returns, -torch.inf))
            elite_returns, elite_index = torch.topk(returns, self.num_elites)
            elites = candidates[elite_index]
            mean = self.momentum * mean + (1 - self.momentum) * elites.mean(dim=0)
            std = self.momentum * std + (1 - self.momentum) * elites.std(dim=0)
            if callback is not None:
                callback(round_, {"best": float(elite_returns[0]), "elite_mean": float(elite_returns.mean())})
        return mean
        ### END SOLUTION


def shift_plan(plan: torch.Tensor, steps: int, fill: torch.Tensor) -> torch.Tensor:
    """Return the warm start of the next search (H, A): ``plan`` (H, A) without its first
    ``steps`` actions (those executed since it was made), padded at the end with ``fill`` (A,)
    back to H actions."""
    ### BEGIN SOLUTION
    steps = min(int(steps), plan.shape[0])
    return torch.cat([plan[steps:], fill.to(plan.dtype).expand(steps, -1)])
    ### END SOLUTION


def mpc_episode(env, model, planner: Planner, reward_fn, termination_fn=None, *, seed: int = 0,
                particles: int = 1, propagation: str = "expectation", generator: torch.Generator | None = None,
                max_steps: int | None = None) -> float:
    """Run one episode of the gymnasium ``env`` under model-predictive control and return its
    return (the sum of the env's rewards).

    Reset ``env`` with ``seed``. At every step build the objective of the current observation
    with ``make_objective(model, obs, reward_fn, termination_fn, particles=..., propagation=...,
    generator=...)``, plan with ``planner`` (warm start: the previous plan shifted by one step
    with :func:`shift_plan`, padded with ``planner.midpoint``; None at the first step), and
    execute the plan's first action. Stop when the episode terminates or is truncated, or after
    ``max_steps`` steps.
    """
    ### BEGIN SOLUTION
    obs, _ = env.reset(seed=seed)
    plan, total, steps = None, 0.0, 0
    while True:
        objective = make_objective(model, obs, reward_fn, termination_fn, particles=particles,
                                   propagation=propagation, generator=generator)
        start = None if plan is None else shift_plan(plan, 1, planner.midpoint)
        plan = planner.plan(objective, start, generator)
        obs, reward, terminated, truncated, _ = env.step(plan[0].numpy())
        total += float(reward)
        steps += 1
        if terminated or truncated or (max_steps is not None and steps >= max_steps):
            return total
    ### END SOLUTION
