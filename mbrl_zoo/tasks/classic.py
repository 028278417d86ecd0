"""Gymnasium's discrete classic-control tasks: CartPole-v1 and Acrobot-v1.

Batched torch reward and termination functions of ``(obs (B, O), act (B, n), next_obs (B, O))``
(``act`` one-hot, unused by both rewards), and :func:`cartpole_step` and :func:`acrobot_step`,
each task's dynamics stepped for a whole batch at once, for search with the exact simulator.

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
# Acrobot-v1's constants, as documented by gymnasium (the "book" dynamics, no torque noise).
ACROBOT_LINK_LENGTH = 1.0
ACROBOT_LINK_MASS = 1.0
ACROBOT_CENTRE_OF_MASS = 0.5
ACROBOT_MOMENT_OF_INERTIA = 1.0
ACROBOT_GRAVITY = 9.8
ACROBOT_DT = 0.2
ACROBOT_TORQUES = (-1.0, 0.0, 1.0)
ACROBOT_MAX_SPEEDS = (4 * math.pi, 9 * math.pi)


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


def _acrobot_accelerations(q1: Tensor, q2: Tensor, dq1: Tensor, dq2: Tensor, torque: Tensor
                           ) -> tuple[Tensor, Tensor]:
    """Angular accelerations of the two links (the equations of motion of Sutton and Barto,
    "Reinforcement Learning: An Introduction", 1998, sec. 11.3): with both links of length l, mass m, centre of mass at l_c and moment of
    inertia I,

        d1 = m l_c^2 + m (l^2 + l_c^2 + 2 l l_c cos q2) + 2 I,    d2 = m (l_c^2 + l l_c cos q2) + I,
        phi2 = m l_c g cos(q1 + q2 - pi/2),
        phi1 = -m l l_c sin q2 (dq2^2 + 2 dq1 dq2) + (m l_c + m l) g cos(q1 - pi/2) + phi2,
        ddq2 = (torque + d2 / d1 phi1 - m l l_c dq1^2 sin q2 - phi2) / (m l_c^2 + I - d2^2 / d1),
        ddq1 = -(d2 ddq2 + phi1) / d1.
    """
    m, l, lc, inertia, g = (ACROBOT_LINK_MASS, ACROBOT_LINK_LENGTH, ACROBOT_CENTRE_OF_MASS,
                            ACROBOT_MOMENT_OF_INERTIA, ACROBOT_GRAVITY)
    cos2, sin2 = torch.cos(q2), torch.sin(q2)
    d1 = m * lc**2 + m * (l**2 + lc**2 + 2 * l * lc * cos2) + 2 * inertia
    d2 = m * (lc**2 + l * lc * cos2) + inertia
    phi2 = m * lc * g * torch.sin(q1 + q2)  # cos(x - pi/2) = sin(x)
    phi1 = -m * l * lc * sin2 * (dq2.square() + 2 * dq1 * dq2) + (m * lc + m * l) * g * torch.sin(q1) + phi2
    ddq2 = (torque + d2 / d1 * phi1 - m * l * lc * dq1.square() * sin2 - phi2) / (m * lc**2 + inertia - d2.square() / d1)
    ddq1 = -(d2 * ddq2 + phi1) / d1
    return ddq1, ddq2


def acrobot_step(obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Acrobot-v1 stepped for a batch: ``(next_obs (B, 6), reward (B,), terminated (B,) bool)`` from
    observations ``obs`` (B, 6) and action indices ``actions`` (B,) in {0, 1, 2} (torques -1, 0, 1).

    The angles come back from their cosines and sines; one classical Runge-Kutta (RK4) step of
    0.2 s integrates :func:`_acrobot_accelerations` with the torque held; the angular speeds are
    then clipped to 4 pi and 9 pi rad/s. Computed in ``obs``'s dtype: from the env's float64 state
    it reproduces the env to rounding, from its float32 observation to float32 rounding.
    """
    q1 = torch.atan2(obs[..., 1], obs[..., 0])
    q2 = torch.atan2(obs[..., 3], obs[..., 2])
    state = torch.stack([q1, q2, obs[..., 4], obs[..., 5]], -1)
    torque = actions.to(obs.dtype) - 1.0

    def rates(s: Tensor) -> Tensor:
        ddq1, ddq2 = _acrobot_accelerations(*s.unbind(-1), torque)
        return torch.stack([s[..., 2], s[..., 3], ddq1, ddq2], -1)

    k1 = rates(state)
    k2 = rates(state + ACROBOT_DT / 2 * k1)
    k3 = rates(state + ACROBOT_DT / 2 * k2)
    k4 = rates(state + ACROBOT_DT * k3)
    q1, q2, dq1, dq2 = (state + ACROBOT_DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)).unbind(-1)
    dq1 = dq1.clamp(-ACROBOT_MAX_SPEEDS[0], ACROBOT_MAX_SPEEDS[0])
    dq2 = dq2.clamp(-ACROBOT_MAX_SPEEDS[1], ACROBOT_MAX_SPEEDS[1])
    next_obs = torch.stack([torch.cos(q1), torch.sin(q1), torch.cos(q2), torch.sin(q2), dq1, dq2], -1)
    terminated = acrobot_termination(obs, actions, next_obs)
    return next_obs, acrobot_reward(obs, actions, next_obs), terminated
