"""Gymnasium's discrete classic-control tasks: CartPole-v1 and Acrobot-v1.

Batched torch reward and termination functions of ``(obs (B, O), act (B, n), next_obs (B, O))``
(``act`` one-hot, unused by both rewards), and :func:`cartpole_step`, CartPole-v1's dynamics
stepped for a whole batch at once, for search with the exact simulator.

* CartPole-v1 (Barto, Sutton and Anderson, "Neuronlike adaptive elements that can solve difficult
  learning control problems", 1983): observation (4,) ``[x, x_dot, theta, theta_dot]``, actions
  {0: push left, 1: push right} with 10 N; the episode ends when ``|x| > 2.4`` m or
  ``|theta| > 12`` degrees, and the reward is 1 for every step, the terminating one included
  (500 steps, return 500 = balanced throughout).
* Acrobot-v1 (Sutton, "Generalization in reinforcement learning: successful examples using
  sparse coarse coding", NeurIPS 1996): observation (6,) ``[cos q1, sin q1, cos q2, sin q2,
  q1_dot, q2_dot]``, torques {-1, 0, 1} on the elbow; the episode ends when the tip rises above
  one link length over the pivot, ``-cos q1 - cos(q1 + q2) > 1``, and the reward is -1 for every
  step that does not end it, 0 for the one that does (500 steps, return -500 = never got there).

Both envs compute termination from their float64 state and return a float32 observation, so a
state within float32 rounding of a threshold could be judged differently from the observation;
``check_task`` holds the functions to the envs on random transitions.
"""

from __future__ import annotations

import math

import torch

Tensor = torch.Tensor

# CartPole-v1's constants, as documented by gymnasium.
CARTPOLE_GRAVITY = 9.8
CARTPOLE_CART_MASS = 1.0
CARTPOLE_POLE_MASS = 0.1
CARTPOLE_HALF_POLE_LENGTH = 0.5
CARTPOLE_FORCE = 10.0
CARTPOLE_DT = 0.02
CARTPOLE_TRACK_LIMIT = 2.4
CARTPOLE_FALL_ANGLE = 12 * 2 * math.pi / 360
CARTPOLE_EPISODE_LENGTH = 500
ACROBOT_EPISODE_LENGTH = 500


CARTPOLE_LIMITS = (CARTPOLE_TRACK_LIMIT, CARTPOLE_FALL_ANGLE)
"""Largest ``|x|`` and ``|theta|`` that do not end the episode."""


def _cartpole_out_of_bounds(next_obs: Tensor) -> Tensor:
    position_and_angle = next_obs[..., ::2].abs()
    limits = torch.tensor(CARTPOLE_LIMITS, dtype=next_obs.dtype, device=next_obs.device)
    return (position_and_angle > limits).any(-1) | ~torch.isfinite(next_obs).all(-1)


def cartpole_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """The cart left the track or the pole leaned past 12 degrees (or the state is not finite):
    (B,) bool."""
    return _cartpole_out_of_bounds(next_obs)


def cartpole_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """1 for every step, the one that ends the episode included: (B,)."""
    return torch.ones(next_obs.shape[:-1], dtype=next_obs.dtype, device=next_obs.device)


def cartpole_step(obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """CartPole-v1 stepped for a batch: ``(next_obs (B, 4), reward (B,), terminated (B,) bool)``
    from states ``obs`` (B, 4) and action indices ``actions`` (B,) in {0, 1}.

    The frictionless cart-pole's equations of motion as gymnasium documents them (Barto et al.
    1983; Florian, "Correct equations for the dynamics of the cart-pole system", 2007), integrated
    by one explicit Euler step of 0.02 s (positions move with the old velocities). Computed in
    ``obs``'s dtype: with float64 states (the env's own ``state``) it reproduces the env to
    rounding. Written with few tensor operations, as a search calls it on small batches.
    """
    theta, theta_dot = obs[..., 2], obs[..., 3]
    force = actions.to(obs.dtype).mul(2.0 * CARTPOLE_FORCE).sub_(CARTPOLE_FORCE)
    cos, sin = torch.cos(theta), torch.sin(theta)
    total_mass = CARTPOLE_CART_MASS + CARTPOLE_POLE_MASS
    pole_moment = CARTPOLE_POLE_MASS * CARTPOLE_HALF_POLE_LENGTH
    push = (force + pole_moment * theta_dot.square() * sin) / total_mass
    inertia = CARTPOLE_HALF_POLE_LENGTH * (4.0 / 3.0 - CARTPOLE_POLE_MASS / total_mass * cos.square())
    theta_acc = (CARTPOLE_GRAVITY * sin - cos * push) / inertia
    x_acc = push - pole_moment / total_mass * theta_acc * cos
    rates = torch.stack([obs[..., 1], x_acc, theta_dot, theta_acc], -1)
    next_obs = obs + CARTPOLE_DT * rates
    terminated = _cartpole_out_of_bounds(next_obs)
    return next_obs, cartpole_reward(obs, actions, next_obs), terminated


def acrobot_termination(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """The tip rose above one link length over the pivot, ``-cos q1 - cos(q1 + q2) > 1``: (B,) bool."""
    cos1, sin1, cos2, sin2 = next_obs[..., :4].unbind(-1)
    cos12 = cos1 * cos2 - sin1 * sin2
    return -cos1 - cos12 > 1.0


def acrobot_reward(obs: Tensor, act: Tensor, next_obs: Tensor) -> Tensor:
    """-1 for a step that does not reach the goal height, 0 for the one that does: (B,)."""
    return acrobot_termination(obs, act, next_obs).to(next_obs.dtype) - 1.0
