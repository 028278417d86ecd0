"""The one transition container shared by buffers, models and learners."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass(frozen=True)
class Batch:
    """A batch of transitions, batch-first.

    Shapes: ``obs`` and ``next_obs`` (B, O), ``act`` (B, A), ``rew`` (B,), ``terminated`` and
    ``truncated`` (B,) bool. An ensemble's bootstrap batch puts a member axis first: (E, B, ...).
    """

    obs: torch.Tensor
    act: torch.Tensor
    next_obs: torch.Tensor
    rew: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor

    def __len__(self) -> int:
        return self.obs.shape[-2]

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})
