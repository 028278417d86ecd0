"""The simulator as a dynamics model: any planner can be run with a perfect model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
import torch
from mujoco import rollout

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.registry import register_model


@dataclass(frozen=True)
class OracleSettings:
    """The oracle has no settings: it is the task's own simulator, exact by construction. Its
    config section is ``model.name=oracle`` alone."""


@register_model("oracle", tags={"simulator"})
class OracleModel(DynamicsModel):
    """MuJoCo itself: for each row, put the simulator in the state the observation was taken in
    (``task.state_from_obs``), apply the action with the env's own ``step`` and return its
    observation.

    Exactness: the warm start of MuJoCo's constraint solver is zeroed before every row, so the
    result is a function of (obs, act) alone. It equals ``env.step`` bit for bit when the env is
    in that same state (e.g. right after a reset); along a real trajectory the env's solver warm
    start (and, for HalfCheetah, the unobserved x position) differ, which changes contact
    solutions within solver tolerance (differences of about 1e-13 seen on HalfCheetah-v5).

    Speed: where the observation is the state (``task.obs_is_state``: InvertedPendulum,
    cart-pole, Swimmer, HalfCheetah), all rows of a call go through one ``mujoco.rollout`` call,
    the env's ``frame_skip`` physics steps each, on one MuJoCo data per torch thread; the result
    equals the env's ``step`` bit for bit (tested). Elsewhere a Python loop over rows runs the
    env's own ``step`` (observations such as Reacher's or Ant's read quantities MuJoCo computes
    inside the step, which ``mujoco.rollout`` does not return), so the cost per row is the env's
    own step plus Python overhead (``benchmarks/oracle_speed.py`` times both paths).
    ``member`` and ``generator`` are accepted and ignored (E = 1, deterministic). Outputs keep
    ``obs``'s dtype; pass float64 to keep the simulator's precision.
    """

    Config = OracleSettings
    deterministic = True

    def __init__(self, obs_dim: int, act_dim: int, task: Any = None):
        super().__init__()
        if getattr(task, "num_actions", None) is not None:
            raise UserError(f"the oracle model applies continuous actions to the simulator; task {task.name!r} has "
                            f"{task.num_actions} discrete actions (search it with planners.mcts and a step function).")
        state_from_obs = getattr(task, "state_from_obs", None)
        if state_from_obs is None:
            name = getattr(task, "name", task)
            raise UserError(
                f"the oracle model needs a MuJoCo task whose observation determines the simulator state "
                f"(TaskSpec.state_from_obs); task {name!r} has none, so the simulator cannot be reset "
                "to an observed state. Use a learned model (e.g. 'pe') for this task."
            )
        self.obs_dim, self.act_dim, self.ensemble_size = int(obs_dim), int(act_dim), 1
        self.state_from_obs = state_from_obs
        self.env = task.make_env()
        self.env.reset(seed=0)
        self.sim = self.env.unwrapped
        self.obs_is_state = bool(getattr(task, "obs_is_state", False))
        self._rollout_data: list[mujoco.MjData] = []
        got = (int(np.prod(self.env.observation_space.shape)), int(np.prod(self.env.action_space.shape)))
        if got != (self.obs_dim, self.act_dim):
            raise UserError(f"oracle: task {task.name!r} has (obs_dim, act_dim) = {got}, "
                            f"not the ({self.obs_dim}, {self.act_dim}) it was built for.")

    def step(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        """Next observations (B, O) float64 from ``obs`` (B, O) and ``act`` (B, A)."""
        if self.obs_is_state:
            return self._step_rollout(obs, act)
        out = np.empty((obs.shape[0], self.obs_dim))
        for row in range(obs.shape[0]):
            qpos, qvel = self.state_from_obs(obs[row])
            self.sim.set_state(qpos, qvel)
            self.sim.data.qacc_warmstart[:] = 0.0
            out[row] = self.sim.step(act[row])[0]
        return out

    def _step_rollout(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        """:meth:`step` for an observation ``concat(qpos, qvel)``, all rows in one ``mujoco.rollout``.

        Each row starts from the env's full physics state after reset with qpos and qvel
        replaced by the row's observation, the solver warm start zeroed, and holds its action for
        the env's ``frame_skip`` physics steps, as ``env.step`` does."""
        model = self.sim.model
        layout = mujoco.mjtState.mjSTATE_FULLPHYSICS
        start = np.empty(mujoco.mj_stateSize(model, layout))
        mujoco.mj_getState(model, self.sim.data, start, layout)
        qpos_at = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_TIME)  # layout: time, qpos, qvel, ...
        states = np.repeat(start[None], obs.shape[0], axis=0)
        states[:, qpos_at : qpos_at + self.obs_dim] = obs
        threads = max(1, torch.get_num_threads())
        while len(self._rollout_data) < threads:
            self._rollout_data.append(mujoco.MjData(model))
        final, _ = rollout.rollout(model, self._rollout_data[:threads], states, act[:, None, :],
                                   nstep=self.sim.frame_skip, initial_warmstart=np.zeros((1, model.nv)))
        return final[:, -1, qpos_at : qpos_at + self.obs_dim]

    def mean(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None) -> torch.Tensor:
        """The simulator's next observation (B, O)."""
        if obs.shape[-1] != self.obs_dim or act.shape[-1] != self.act_dim or obs.dim() != 2:
            raise UserError(f"oracle expects obs (B, {self.obs_dim}) and act (B, {self.act_dim}); "
                            f"got {tuple(obs.shape)} and {tuple(act.shape)}.")
        as_numpy = (t.detach().to("cpu", torch.float64).numpy() for t in (obs, act))
        return torch.as_tensor(self.step(*as_numpy), dtype=obs.dtype, device=obs.device)

    def sample(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Same as :meth:`mean`: the simulator is deterministic."""
        return self.mean(obs, act)

    def predict(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (1, B, O) and zero variance (1, B, O)."""
        mean = self.mean(obs, act).unsqueeze(0)
        return mean, torch.zeros_like(mean)

    def loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        raise UserError("the oracle model is the simulator; it has nothing to train (do not fit it).")

    def close(self) -> None:
        self.env.close()
