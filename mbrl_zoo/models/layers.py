"""Stacked-weight ensemble layers and the routing of rows to ensemble members.

An ensemble of E networks is one module whose weights carry a leading member axis, so that all
members run in one batched matmul (``torch.baddbmm`` over ``(E, B, in) @ (E, in, out)``) instead of
a Python loop over members, as in PETS (Chua et al. 2018, "Deep Reinforcement Learning in a
Handful of Trials using Probabilistic Dynamics Models").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"silu": F.silu, "relu": F.relu, "tanh": torch.tanh, "elu": F.elu}
IN_PLACE = {"silu": partial(F.silu, inplace=True), "relu": torch.relu_, "tanh": torch.tanh_,
            "elu": partial(F.elu, inplace=True)}


class EnsembleLinear(nn.Module):
    """The parameters of E independent affine maps ``x @ weight[e] + bias[e]``: weights
    (E, in, out), biases (E, 1, out); :class:`EnsembleMLP` applies them. Weights start from a
    truncated normal with std ``1 / (2 sqrt(in))`` and biases from zero, the initialisation of
    the PETS reference code (Chua et al. 2018).
    """

    def __init__(self, ensemble_size: int, in_features: int, out_features: int,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ensemble_size, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(ensemble_size, 1, out_features))
        std = 1.0 / (2.0 * math.sqrt(in_features))
        nn.init.trunc_normal_(self.weight, std=std, a=-2 * std, b=2 * std, generator=generator)


class EnsembleMLP(nn.Module):
    """E multilayer perceptrons with stacked weights: ``(E', B, in) -> (E', B, out)``.

    ``layers`` hidden layers of width ``hidden`` with ``activation`` between them and a linear
    output layer. ``members`` (E',) long, when given, selects which members' weights apply to the
    E' slices of the input (e.g. only the elites, or only the members some rows were routed to).

    Without autograd (planning under ``torch.inference_mode``/``no_grad``) two things are reused
    across calls, as a planning call makes the same call at every horizon step of every CEM
    iteration: hidden activations are written, in place, into two scratch tensors of the call's
    shape (fresh multi-megabyte tensors on every layer would page-fault on every call), and the
    weights gathered for ``members`` are kept until the members or the weights change (an in-place
    update, a load, :meth:`matmuls_in`), as gathering them is a copy of every member's weights. Not
    thread-safe for concurrent calls.
    """

    def __init__(self, ensemble_size: int, in_features: int, out_features: int, hidden: int = 200,
                 layers: int = 4, activation: str = "silu", generator: torch.Generator | None = None):
        super().__init__()
        widths = [in_features] + [hidden] * layers + [out_features]
        self.layers = nn.ModuleList(
            EnsembleLinear(ensemble_size, a, b, generator) for a, b in zip(widths[:-1], widths[1:])
        )
        self.activation = activation
        self._scratch: tuple[tuple, list[torch.Tensor]] | None = None
        self._matmul_params: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._gathered: tuple[tuple, list[tuple[torch.Tensor, torch.Tensor]]] | None = None

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        params = self._params_of(members)
        out_dtype = x.dtype
        x = x.to(params[0][0].dtype)
        scratch = None if torch.is_grad_enabled() else self._scratch_for(x)
        for i, (weight, bias) in enumerate(params):
            if i == len(params) - 1:
                return torch.baddbmm(bias, x, weight).to(out_dtype)
            if scratch is None:
                x = ACTIVATIONS[self.activation](torch.baddbmm(bias, x, weight))
            else:
                x = IN_PLACE[self.activation](torch.baddbmm(bias, x, weight, out=scratch[i % 2]))
        raise AssertionError("unreachable: the last layer returns")

    def _params_of(self, members: torch.Tensor | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight (E', in, out), bias (E', 1, out)) per layer for ``members`` (E',) (None: all E)."""
        params = self._matmul_params or [(layer.weight, layer.bias) for layer in self.layers]
        if members is None:
            return params
        if torch.is_grad_enabled():
            return [(weight[members], bias[members]) for weight, bias in params]
        # The parameters' version counters move with every in-place change (optimiser step,
        # load_state_dict); their addresses change when they are replaced (.to, matmuls_in).
        key = (tuple(members.tolist()), params[0][0].dtype,
               tuple((layer.weight._version, layer.bias._version) for layer in self.layers),
               tuple((weight.data_ptr(), bias.data_ptr()) for weight, bias in params))
        if self._gathered is None or self._gathered[0] != key:
            self._gathered = (key, [(weight[members], bias[members]) for weight, bias in params])
        return self._gathered[1]

    @contextmanager
    def matmuls_in(self, dtype: torch.dtype) -> Iterator[None]:
        """Inside the block, run every layer in ``dtype`` on copies of the weights cast once on
        entry: inputs are cast to ``dtype`` and outputs back to the input's dtype, so only the
        network's own arithmetic changes precision. For planning with ``torch.bfloat16`` on CPUs
        with bf16 matrix units (AMX, AVX512-BF16), where its matmuls run faster than float32 at
        planning sizes (``benchmarks/plan_speed.py --matmul-dtype bfloat16`` measures both). No
        gradient reaches the weights inside the block (do not train there); gradients with respect
        to the inputs still flow. ``dtype`` equal to the weights' is a no-op.
        """
        if dtype == self.layers[0].weight.dtype:
            yield
            return
        self._matmul_params = [(layer.weight.detach().to(dtype), layer.bias.detach().to(dtype))
                               for layer in self.layers]
        self._gathered = None
        try:
            yield
        finally:
            self._matmul_params = self._gathered = None

    def _scratch_for(self, x: torch.Tensor) -> list[torch.Tensor]:
        shape = (x.shape[0], x.shape[1], self.layers[0].weight.shape[-1])
        key = (shape, x.dtype, x.device, torch.is_inference_mode_enabled())
        if self._scratch is None or self._scratch[0] != key:
            self._scratch = (key, [x.new_empty(shape) for _ in range(2)])
        return self._scratch[1]


@dataclass(frozen=True)
class Routing:
    """Where each of B rows sits once rows are grouped by ensemble member.

    Each member present gets ``parts`` consecutive slices of its rows; the grouped tensor is
    (G, W, ...) with G = ``parts`` x the members present, ``members`` (G,) naming each slice's
    member and W the longest slice, shorter slices padded. Flattened to (G W, ...), slot
    ``position[i]`` holds input row i and slot j holds input row ``source[j]`` (B for a padding
    slot). Both directions are then one ``index_select``, which costs a third to a half of
    advanced indexing on this project's CPUs.
    """

    members: torch.Tensor
    position: torch.Tensor
    source: torch.Tensor
    width: int

    @staticmethod
    def of(member: torch.Tensor, ensemble_size: int, parts: int = 1) -> "Routing":
        """Group the rows of ``member`` (B,) long in ``[0, E)``, each member's rows in ``parts``
        slices. With equal shares per member (TS-inf, or TS-1 with even splits) divisible by
        ``parts``, W = B / G and nothing is padded."""
        rows, device = member.shape[0], member.device
        # rank[i]: how many preceding rows share row i's member (a counting sort, linear in B,
        # where a stable argsort is B log B)
        seen = F.one_hot(member, ensemble_size).cumsum(0)
        rank = seen.gather(1, member.unsqueeze(1)).squeeze(1) - 1
        counts = seen[-1] if rows else torch.zeros(ensemble_size, dtype=torch.long, device=device)
        present = counts > 0
        length = (counts + parts - 1) // parts  # slice length of each member
        width = int(length.max())
        # A member's slices start at slot `first` of the flattened (G W) layout; a row's slice
        # is rank // length, each preceding slice of its member leaving width - length slots unused.
        first = (torch.cumsum(present, 0) - present.long()) * parts * width
        row_length = length[member]
        position = first[member] + rank + torch.div(rank, row_length, rounding_mode="floor") * (width - row_length)
        members = present.nonzero().squeeze(1).repeat_interleave(parts)
        source = torch.full((members.shape[0] * width,), rows, dtype=torch.long, device=device)
        source[position] = torch.arange(rows, device=device)
        return Routing(members, position, source, width)

    def group_rows(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, D) -> (G, W, D), padding rows zero."""
        if self.source.shape[0] != x.shape[0]:
            x = torch.cat([x, x.new_zeros(1, x.shape[-1])])
        return x.index_select(0, self.source).view(self.members.shape[0], self.width, x.shape[-1])

    def ungroup_rows(self, y: torch.Tensor) -> torch.Tensor:
        """(G, W, ...) -> (B, ...) in the original row order."""
        return y.flatten(0, 1).index_select(0, self.position)


class StackedMLP(nn.Module):
    """E independent ReLU MLPs evaluated together, one batched matmul per layer.

    Input (E, B, I) -> output (E, B, O). Weights are initialised from ``generator`` with
    PyTorch's default ``nn.Linear`` range U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so that an agent
    built from a seed is the same on every run.
    """

    def __init__(self, members: int, in_dim: int, out_dim: int, hidden: tuple[int, ...],
                 generator: torch.Generator):
        super().__init__()
        dims = (in_dim, *hidden, out_dim)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            weight = torch.empty(members, fan_in, fan_out).uniform_(-bound, bound, generator=generator)
            bias = torch.empty(members, 1, fan_out).uniform_(-bound, bound, generator=generator)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)
            if i < last:
                x = torch.relu(x)
        return x
