"""Per-dimension standardisation with float64 statistics, kept in a model's state dict."""

from __future__ import annotations

import torch
from torch import nn


class Normalizer(nn.Module):
    """``(x - mean) / std`` per dimension; statistics are float64 buffers saved with the model.

    Dimensions whose standard deviation is below ``eps`` (constant in the data) are left unscaled,
    so that they do not blow up. Until :meth:`fit` is called (or with ``enabled=False``) it is the
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
        self.std.copy_(torch.where(std < self.eps, torch.ones_like(std), std))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) -> (..., D) standardised, in ``x``'s dtype."""
        return (x - self.mean.to(x.dtype)).div_(self.std.to(x.dtype))

    def denormalize(self, x: torch.Tensor, dims: int | None = None) -> torch.Tensor:
        """Inverse of :meth:`normalize`; with ``dims``, ``x`` (..., dims) holds only the first
        ``dims`` dimensions."""
        std, mean = self.std[:dims].to(x.dtype), self.mean[:dims].to(x.dtype)
        return torch.addcmul(mean, x, std)

    def scale(self, dtype: torch.dtype) -> torch.Tensor:
        """The std (D,) in ``dtype``: variances scale by its square, densities by its inverse."""
        return self.std.to(dtype)
