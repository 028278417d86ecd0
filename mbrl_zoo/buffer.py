"""A bounded replay buffer of transitions, stored as torch tensors that grow up to its capacity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_torch_save
from mbrl_zoo.types import Batch

_FIELDS = ("obs", "act", "next_obs", "rew", "terminated", "truncated")


class ReplayBuffer:
    """Ring buffer of up to ``capacity`` transitions; the oldest are overwritten once full.

    Storage: ``obs``/``next_obs`` (C', O) and ``act`` (C', A) float32, ``rew`` (C',) float32,
    ``terminated``/``truncated`` (C',) bool, where the allocated rows C' grow (doubling) with the
    transitions stored, up to ``capacity``: a buffer of a million transitions costs memory only
    for those it holds.
    """

    INITIAL_ROWS = 1024

    def __init__(self, obs_dim: int, act_dim: int, capacity: int):
        if capacity < 1:
            raise UserError(f"buffer capacity must be a positive integer, got {capacity!r}.")
        self.obs_dim, self.act_dim, self.capacity = int(obs_dim), int(act_dim), int(capacity)
        self._allocate(min(self.capacity, self.INITIAL_ROWS))
        self._next = 0
        self._size = 0

    def _allocate(self, rows: int) -> None:
        """(Re)allocate storage for ``rows`` transitions, keeping the first ``len(self)`` rows."""
        shapes = {"obs": (self.obs_dim,), "act": (self.act_dim,), "next_obs": (self.obs_dim,), "rew": (),
                  "terminated": (), "truncated": ()}
        for name, shape in shapes.items():
            dtype = torch.bool if name in ("terminated", "truncated") else torch.float32
            storage = torch.zeros((rows, *shape), dtype=dtype)
            if hasattr(self, name):
                kept = min(self._size, rows)
                storage[:kept] = getattr(self, name)[:kept]
            setattr(self, name, storage)

    def _make_room(self, n: int) -> None:
        """Grow the storage (before it has wrapped) so that ``n`` more rows fit or it reaches capacity."""
        allocated = self.obs.shape[0]
        if allocated < self.capacity and self._size + n > allocated:
            self._allocate(min(self.capacity, max(self._size + n, 2 * allocated)))

    def __len__(self) -> int:
        return self._size

    def add(self, obs, act, next_obs, rew: float, terminated: bool, truncated: bool = False) -> None:
        """Store one transition (arrays or tensors of shapes (O,), (A,), (O,))."""
        self._make_room(1)
        i = self._next
        self.obs[i] = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        self.act[i] = torch.as_tensor(np.asarray(act), dtype=torch.float32)
        self.next_obs[i] = torch.as_tensor(np.asarray(next_obs), dtype=torch.float32)
        self.rew[i] = float(rew)
        self.terminated[i] = bool(terminated)
        self.truncated[i] = bool(truncated)
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def add_batch(self, batch: Batch) -> None:
        """Store a batch of transitions (B, ...); wraps around, keeping the newest when B > capacity."""
        n = len(batch)
        rows = [getattr(batch, f) for f in _FIELDS]
        if n > self.capacity:
            rows = [r[n - self.capacity :] for r in rows]
            n = self.capacity
        self._make_room(n)
        index = (self._next + torch.arange(n)) % self.capacity
        for name, values in zip(_FIELDS, rows):
            getattr(self, name)[index] = values.to(getattr(self, name).dtype)
        self._next = (self._next + n) % self.capacity
        self._size = min(self._size + n, self.capacity)

    def resize(self, capacity: int) -> None:
        """Change the capacity in place, keeping the newest ``min(len, capacity)`` transitions
        (MBPO's model buffer follows the rollout length this way)."""
        if capacity < 1:
            raise UserError(f"buffer capacity must be a positive integer, got {capacity!r}.")
        if capacity == self.capacity:
            return
        newest = self.all()
        self.capacity, self._size, self._next = int(capacity), 0, 0
        self._allocate(min(self.capacity, self.INITIAL_ROWS))
        self.add_batch(newest)

    def _gather(self, index: torch.Tensor) -> Batch:
        return Batch(*(getattr(self, f)[index] for f in _FIELDS))

    def all(self) -> Batch:
        """Every stored transition, oldest first: tensors (len, ...)."""
        start = self._next if self._size == self.capacity else 0
        return self._gather((start + torch.arange(self._size)) % self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement: tensors (batch_size, ...)."""
        if self._size == 0:
            raise UserError("cannot sample from an empty replay buffer; add transitions first.")
        return self._gather(torch.randint(self._size, (batch_size,), generator=generator))

    def bootstrap_indices(self, ensemble_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One bootstrap resample per ensemble member (Efron 1979; Chua et al. 2018): (E, len)
        indices into :meth:`all`, each row drawn uniformly with replacement."""
        return torch.randint(self._size, (ensemble_size, self._size), generator=generator)

    def state_dict(self) -> dict:
        return {"capacity": self.capacity, "next": self._next, "size": self._size,
                **{f: getattr(self, f)[: self._size].clone() for f in _FIELDS}}

    def load_state_dict(self, state: dict) -> None:
        """Hold exactly the saved transitions, with the saved capacity."""
        if state["obs"].shape[1:] != self.obs.shape[1:] or state["act"].shape[1:] != self.act.shape[1:]:
            raise UserError(
                f"buffer state of obs shape {tuple(state['obs'].shape[1:])} and action shape "
                f"{tuple(state['act'].shape[1:])} does not fit a buffer of obs shape {tuple(self.obs.shape[1:])} "
                f"and action shape {tuple(self.act.shape[1:])}."
            )
        size = state["size"]
        self.capacity, self._size = int(state["capacity"]), 0
        self._allocate(max(size, min(self.capacity, self.INITIAL_ROWS)))
        for f in _FIELDS:
            getattr(self, f)[:size] = state[f]
        self._next, self._size = state["next"], size

    def save(self, path: str | Path) -> None:
        atomic_torch_save({"obs_dim": self.obs_dim, "act_dim": self.act_dim, **self.state_dict()}, path)

    @classmethod
    def load(cls, path: str | Path) -> "ReplayBuffer":
        state = torch.load(path, map_location="cpu", weights_only=True)
        buffer = cls(state["obs_dim"], state["act_dim"], state["capacity"])
        buffer.load_state_dict(state)
        return buffer


def episode_spans(state: dict) -> list[tuple[int, int]]:
    """(first, last) row of each episode in a saved buffer (:meth:`ReplayBuffer.state_dict`), in
    order: an episode ends at a transition marked terminated or truncated, and rows after the last
    such mark (an episode still going) are left out. Refuses (:class:`UserError`) a buffer that
    has wrapped around, whose rows are no longer in the order they were added."""
    size = int(state["size"])
    if size > int(state["capacity"]) or int(state["next"]) != size % int(state["capacity"]):
        raise UserError("the buffer has wrapped around (more transitions than its capacity); "
                        "its episodes are no longer in order.")
    ends = (torch.as_tensor(state["terminated"][:size]) | torch.as_tensor(state["truncated"][:size]))
    ends = ends.nonzero()[:, 0].tolist()
    return list(zip([0] + [end + 1 for end in ends[:-1]], ends))
