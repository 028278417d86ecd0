"""Per-dimension standardisation with float64 statistics, kept in a model's state dict."""

from __future__ import annotations

import torch
from torch import nn


class Normalizer(nn.Module):
    """``(x - mean) / std`` per dimension; statistics are float64 buffers saved with the model.

    Dimensions whose standard deviation is below ``eps`` (constant in the data) are stored with
    std 0: :meth:`normalize` only shifts them (dividing by ~0 would blow them up) and
    :meth:`denormalize` returns their constant whatever the network outputs, so that a model
    never predicts a change in a dimension that never changed in its training targets (a goal
    position, Pusher's cylinder height). With std 1 there instead, the network's small output
    error in that dimension (~1e-3) came out in observation units: on ``pusher-pets`` it moved
    the goal and the cylinder's height ~1 mm per imagined step, more than any real step of the
    cylinder away from contact. Until :meth:`fit` is called (or with ``enabled=False``) it is the
    identity.
    """

    def __init__(self, dim: int, enabled: bool = True, eps: float = 1e-6):
        super().__init__()
        self.enabled = enabled
        self.eps = eps
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("std", torch.ones(dim, dtype=torch.float64))

    def fit(self, x: torch.Tensor) -> None:
        """Set the statistics from ``x`` (N, D), accumulated in float64."""
        if not self.enabled:
            return
        x = x.detach().to(torch.float64).reshape(-1, self.mean.shape[0])
        std = x.std(dim=0, unbiased=False)
        self.mean.copy_(x.mean(dim=0))
        self.std.copy_(torch.where(std < self.eps, torch.zeros_like(std), std))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., D) standardised (constant dims only shifted), in ``x``'s dtype."""
        return (x - self.mean.to(x.dtype)).div_(self.divisor(x.dtype))

    def denormalize(self, x: torch.Tensor, dims: int | None = None) -> torch.Tensor:
        """Inverse of :meth:`normalize`; with ``dims``, ``x`` (..., dims) holds only the first
        ``dims`` dimensions."""
        std, mean = self.std[:dims].to(x.dtype), self.mean[:dims].to(x.dtype)
        return torch.addcmul(mean, x, std)

    def scale(self, dtype: torch.dtype) -> torch.Tensor:
        """The std (D,) in ``dtype``, 0 on constant dims: predicted variances scale by its square
        (a constant dim is predicted exactly, with variance 0)."""
        return self.std.to(dtype)

    def divisor(self, dtype: torch.dtype) -> torch.Tensor:
        """What :meth:`normalize` divides by (D,): the std, 1 on constant dims. Densities of
        standardised values scale by its inverse."""
        return torch.where(self.std > 0, self.std, torch.ones_like(self.std)).to(dtype)
