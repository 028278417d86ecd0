"""The simulator as a dynamics model: any planner can be run with a perfect model."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.registry import register_model


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

    Speed: a Python loop over rows (exactness needs the env's own ``step``: observations such as
    Reacher's or Ant's read quantities MuJoCo computes inside the step, which a batched
    ``mujoco.rollout`` does not return). Measured on this 2-core machine: about 45 us per row
    for HalfCheetah-v5 (5 substeps) and 30 us for cart-pole, i.e. ~0.3 s for the 7,000 rows of
    one PETS horizon step and ~20 s for a whole CEM planning call (525,000 rows). ``member`` and
    ``generator`` are accepted and ignored (E = 1, deterministic). Outputs keep ``obs``'s dtype;
    pass float64 to keep the simulator's precision.
    """

    deterministic = True

    def __init__(self, obs_dim: int, act_dim: int, task: Any = None):
        super().__init__()
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
        got = (int(np.prod(self.env.observation_space.shape)), int(np.prod(self.env.action_space.shape)))
        if got != (self.obs_dim, self.act_dim):
            raise UserError(f"oracle: task {task.name!r} has (obs_dim, act_dim) = {got}, "
                            f"not the ({self.obs_dim}, {self.act_dim}) it was built for.")

    def step(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        """Next observations (B, O) float64 from ``obs`` (B, O) and ``act`` (B, A)."""
        out = np.empty((obs.shape[0], self.obs_dim))
        for row in range(obs.shape[0]):
            qpos, qvel = self.state_from_obs(obs[row])
            self.sim.set_state(qpos, qvel)
            self.sim.data.qacc_warmstart[:] = 0.0
            out[row] = self.sim.step(act[row])[0]
        return out

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
