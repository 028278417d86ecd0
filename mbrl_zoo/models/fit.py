"""One training function for every learned dynamics model.

``fit`` needs only the contract (``loss``, ``predict``, ``ensemble_size``): a student's model gets
held-out evaluation, early stopping, bootstrap resampling and elite selection for free. Models
that have them also get ``update_normalizers(train)``, ``nll(holdout)`` and ``set_elites(...)``.
The recipe follows PETS (Chua et al. 2018) as implemented in mbrl-lib (Pineda et al. 2021):
Adam with L2 weight decay, one bootstrap resample per member, early stopping on held-out error,
elites = the members best on held-out data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel, check_prediction
from mbrl_zoo.models.diagnostics import normalized_mse
from mbrl_zoo.types import Batch

EVAL_CHUNK = 8192
"""Held-out rows evaluated at once (bounds memory at E x chunk x hidden activations)."""


@dataclass(frozen=True)
class EpochStats:
    """One epoch of :func:`fit`. Held-out figures are averaged over members; ``holdout_nmse`` is
    :func:`~mbrl_zoo.models.diagnostics.normalized_mse` and ``holdout_nll`` the per-dimension NLL
    (None for point predictors or without held-out data)."""

    epoch: int
    train_loss: float
    holdout_mse: float | None
    holdout_nmse: float | None
    holdout_nll: float | None
    seconds: float


@dataclass
class FitStats:
    """What :func:`fit` did. ``best_epoch`` is the epoch whose weights were kept (from 1);
    ``member_nmse`` (E,) is each member's held-out error with them. Pass ``optimizer`` back to
    the next ``fit`` so that a refit continues Adam's moments too."""

    epochs: list[EpochStats]
    best_epoch: int
    elites: list[int]
    member_nmse: list[float]
    optimizer: torch.optim.Optimizer
    seconds: float

    @property
    def last(self) -> EpochStats:
        return self.epochs[-1]

    def summary(self) -> dict[str, float | int | None]:
        """JSON-ready figures of this fit: epochs run, the kept epoch, the last train loss, the
        elites' mean held-out normalised MSE, the last held-out NLL and the seconds taken."""
        elite_nmse = sum(self.member_nmse[e] for e in self.elites) / len(self.elites)
        return {"epochs": len(self.epochs), "best_epoch": self.best_epoch, "train_loss": self.last.train_loss,
                "holdout_nmse": elite_nmse if self.last.holdout_nmse is not None else None,
                "holdout_nll": self.last.holdout_nll, "seconds": self.seconds}


def fit(
    model: DynamicsModel,
    data: Batch,
    *,
    epochs: int = 100,
    batch_size: int = 256,
    holdout_ratio: float = 0.2,
    patience: int = 5,
    min_improvement: float = 0.01,
    lr: float = 1e-3,
    weight_decay: float = 5e-5,
    bootstrap: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    other: Batch | None = None,
    other_share: float = 0.0,
) -> FitStats:
    """Train ``model`` on all transitions in ``data`` (tensors (N, ...)); returns per-epoch stats.

    About ``holdout_ratio`` of the rows are held out, chosen by :func:`holdout_rows`: a transition is
    held out or not by its content, so it stays on the same side at every refit. A refit starts
    from the weights of the last one; a split drawn anew would hold out rows those weights had
    trained on, and early stopping would follow an optimistic held-out error. Each member trains on its own bootstrap
    resample of the rest (``bootstrap=True``, E > 1; otherwise all rows in its own order) in
    minibatches (E, ``batch_size``, ...). After each epoch the held-out normalised MSE, averaged
    over members, is measured; training stops after ``patience`` epochs without a relative
    improvement of ``min_improvement``, and the weights of this call's best epoch are restored.
    The weights from before the call are not a candidate: new transitions (states the model has
    not seen, often with an overconfident variance there) can make the first epochs' held-out
    error worse than the old weights', and keeping those weights would start the next refit from
    the same place, fail the same way and never learn the new data. Then the ``num_elites``
    members with the lowest held-out error become the elites. Weight decay is L2 on weight
    matrices only.

    With a second data set ``other`` and 0 < ``other_share`` < 1, every minibatch draws
    ``other_share`` of its rows from ``other``'s training rows and the rest from ``data``'s
    (:func:`mixed_minibatch`), whatever the sizes of the two sets: the weighted mixture of Ross &
    Bagnell 2012 (DAgger for system identification, e.g. 50% expert and 50% learner data), not a
    data set with duplicated rows. Each set has its own holdout (by :func:`holdout_rows`); the
    held-out figures are measured on both together. An epoch is as many minibatches as the two
    training sets hold rows; each member draws its own rows (with replacement), so no bootstrap
    resample is added. With ``other_share`` 0 (or ``other`` empty) ``other`` is ignored; with 1
    (or ``data`` empty) only ``other`` is fitted.
    """
    if other is not None and not 0.0 <= other_share <= 1.0:
        raise UserError(f"fit's other_share={other_share!r} must lie in [0, 1].")
    if other is not None and (other_share == 1.0 or len(data) == 0):
        data, other = other, None
    if other is not None and (other_share == 0.0 or len(other) == 0):
        other = None
    start = time.perf_counter()
    n = len(data) + (len(other) if other is not None else 0)
    if not any(p.requires_grad for p in model.parameters()):
        raise UserError(f"model {type(model).__name__} has no trainable parameters; there is nothing to fit.")
    if n < 2 or not 0.0 <= holdout_ratio < 1.0 or epochs < 1 or batch_size < 1:
        raise UserError(f"fit needs >= 2 transitions (got {n}), 0 <= holdout_ratio < 1 (got {holdout_ratio}), "
                        f"epochs >= 1 (got {epochs}) and batch_size >= 1 (got {batch_size}).")
    members = model.ensemble_size
    holdout, train = split(data, holdout_ratio)
    other_train = None
    if other is not None:
        other_holdout, other_train = split(other, holdout_ratio)
        holdout = concat(holdout, other_holdout)
        if len(train) == 0 or len(other_train) == 0:
            raise UserError(f"fit with two data sets needs training rows in both; got {len(train)} and "
                            f"{len(other_train)} after holding out {holdout_ratio:.0%}. Collect more transitions.")
    held = len(holdout)
    n_train = len(train)
    if hasattr(model, "update_normalizers"):
        model.update_normalizers(train if other_train is None else concat(train, other_train))
    if other_train is not None:
        rows = None
    elif bootstrap and members > 1:
        rows = torch.randint(n_train, (members, n_train), generator=generator)
    else:
        rows = torch.arange(n_train).expand(members, n_train)
    optimizer = optimizer or make_optimizer(model, lr, weight_decay)

    best, best_epoch, best_state, waited = float("inf"), 0, None, 0
    history: list[EpochStats] = []
    drawn = 0  # minibatches drawn so far from two data sets
    for epoch in range(1, epochs + 1):
        if other_train is None:
            shuffled = rows.gather(1, torch.argsort(torch.rand(members, n_train, generator=generator), dim=1))
            minibatches = (take(train, picked if members > 1 else picked[0])
                           for picked in shuffled.split(batch_size, dim=1))
        else:
            count = -(-(n_train + len(other_train)) // batch_size)
            minibatches = (mixed_minibatch(train, other_train, other_share, batch_size, drawn + j, members, generator)
                           for j in range(count))
            drawn += count
        losses = []
        for minibatch in minibatches:
            loss, _ = model.loss(minibatch)
            if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                raise UserError(f"model {type(model).__name__}.loss must return a scalar tensor first; "
                                f"got {type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        mse = score = nll = None
        if held:
            scores, mse, nll = evaluate(model, holdout)
            score = float(scores.mean())
            if score < best * (1.0 - min_improvement):
                best, best_epoch, best_state, waited = score, epoch, snapshot(model), 0
            else:
                waited += 1
        else:
            best_epoch = epoch
        stats = EpochStats(epoch, sum(losses) / len(losses), mse, score, nll, time.perf_counter() - start)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
        if held and waited >= patience:
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    scores, _, _ = evaluate(model, holdout if held else take(train, torch.arange(min(n_train, EVAL_CHUNK))))
    elites = torch.argsort(scores)[: model.elites.numel()]
    if hasattr(model, "set_elites"):
        model.set_elites(elites.sort().values)
    return FitStats(history, best_epoch, model.elites.tolist(), scores.tolist(), optimizer,
                    time.perf_counter() - start)


HASH_PRIME = 2**31 - 1
_HASH_SEED = 20181203  # fixed: the split must not depend on the run's seed or the machine


def holdout_rows(data: Batch, ratio: float) -> torch.Tensor:
    """(N,) bool: which transitions of ``data`` are held out, about ``ratio`` of them.

    Row i is held out when u_i < ``ratio``, where u_i in [0, 1) is a universal hash (multiply
    and add modulo the prime 2^31 - 1, fixed multipliers) of the float32 bit patterns of its
    ``obs`` and ``act``. The same transition gets the same u_i wherever it sits in ``data`` and
    whatever else ``data`` holds; identical transitions share a side. Should every row fall in
    the holdout (a handful of rows), none is held out.
    """
    if ratio <= 0.0 or len(data) == 0:
        return torch.zeros(len(data), dtype=torch.bool)
    rows = torch.cat([data.obs.reshape(len(data), -1), data.act.reshape(len(data), -1)], 1)
    bits = rows.to(torch.float32).contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    generator = torch.Generator().manual_seed(_HASH_SEED)
    multipliers = torch.randint(1, HASH_PRIME, (bits.shape[1] + 2,), generator=generator, device="cpu").to(bits.device)
    mixed = ((bits % HASH_PRIME) * multipliers[:-2] % HASH_PRIME).sum(1) % HASH_PRIME
    u = (mixed * multipliers[-2] + multipliers[-1]) % HASH_PRIME
    held_out = u.to(torch.float64) / HASH_PRIME < ratio
    return held_out if not bool(held_out.all()) else torch.zeros_like(held_out)


def split(data: Batch, ratio: float) -> tuple[Batch, Batch]:
    """``(holdout, train)``: the rows of ``data`` that :func:`holdout_rows` holds out, and the rest."""
    held_out = holdout_rows(data, ratio)
    return take(data, held_out.nonzero().squeeze(1)), take(data, (~held_out).nonzero().squeeze(1))


def concat(first: Batch, second: Batch) -> Batch:
    """The rows of ``first`` then those of ``second`` (tensors (N1 + N2, ...)), in ``first``'s dtypes."""
    columns = {}
    for f in fields(first):
        head = getattr(first, f.name)
        columns[f.name] = torch.cat([head, getattr(second, f.name).to(head.dtype)])
    return Batch(**columns)


def mixed_count(batch_size: int, share: float, index: int) -> int:
    """How many rows of minibatch number ``index`` (0, 1, ...) come from the second set:
    ``floor((index + 1) s B) - floor(index s B)``, so that any run of consecutive minibatches holds
    ``s B`` such rows per minibatch to within one row in all (B = ``batch_size``, s = ``share``)."""
    return int((index + 1) * share * batch_size + 1e-9) - int(index * share * batch_size + 1e-9)


def mixed_minibatch(first: Batch, second: Batch, share: float, batch_size: int, index: int, members: int,
                    generator: torch.Generator | None = None) -> Batch:
    """Minibatch number ``index`` of a fit on two data sets: :func:`mixed_count` rows drawn uniformly
    (with replacement) from ``second`` and the rest of ``batch_size`` from ``first``, each of the
    ``members`` drawing its own; tensors (E, B, ...) when ``members`` > 1, else (B, ...)."""
    k = mixed_count(batch_size, share, index)
    rows_first = torch.randint(len(first), (members, batch_size - k), generator=generator)
    rows_second = torch.randint(len(second), (members, k), generator=generator)
    parts = [take(first, rows_first), take(second, rows_second)]
    mixed = Batch(**{f.name: torch.cat([getattr(p, f.name).to(getattr(parts[0], f.name).dtype) for p in parts], dim=1)
                     for f in fields(first)})
    return mixed if members > 1 else take_member(mixed, 0)


def take_member(data: Batch, member: int) -> Batch:
    """The rows of one member of a (E, B, ...) batch: tensors (B, ...)."""
    return Batch(**{f.name: getattr(data, f.name)[member] for f in fields(data)})


def make_optimizer(model: DynamicsModel, lr: float = 1e-3, weight_decay: float = 5e-5) -> torch.optim.Adam:
    """Adam with L2 ``weight_decay`` on parameters named ``*weight`` (not biases or variance bounds).

    PyTorch's fused Adam: the same update as its default (multi-tensor) one up to rounding, in
    one pass over the parameters. At PETS's minibatches of 32 the matmuls are small, so the
    optimiser's per-tensor steps are a large share of a fit's time on a CPU; one fused pass cuts
    that share."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    decayed = [p for name, p in named if name.endswith("weight")]
    plain = [p for name, p in named if not name.endswith("weight")]
    return torch.optim.Adam([{"params": decayed, "weight_decay": weight_decay},
                             {"params": plain, "weight_decay": 0.0}], lr=lr, fused=True)


@torch.no_grad()
def evaluate(model: DynamicsModel, data: Batch) -> tuple[torch.Tensor, float, float | None]:
    """Per-member normalised MSE (E,) of the predicted mean next observation on ``data``, the MSE in
    observation units (averaged over members, rows, dims) and the mean per-dim NLL (or None)."""
    means, nll_sums = [], []
    for first in range(0, len(data), EVAL_CHUNK):
        chunk = take(data, torch.arange(first, min(first + EVAL_CHUNK, len(data))))
        mean, _ = model.predict(chunk.obs, chunk.act)
        means.append(check_prediction(model, "predict", mean, len(chunk), model.ensemble_size))
        nll = model.nll(chunk) if hasattr(model, "nll") else None
        if nll is not None:
            nll_sums.append(nll.mean() * len(chunk))
    mean = torch.cat(means, dim=1)
    target = data.next_obs.to(mean.dtype)
    nmse = normalized_mse(mean, data.obs.to(mean.dtype), target)
    nll = float(sum(nll_sums)) / len(data) if nll_sums else None
    return nmse, float((mean - target).square().mean()), nll


def snapshot(model: DynamicsModel) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state dict (the weights to restore after early stopping)."""
    return {name: value.clone() for name, value in model.state_dict().items()}


def take(data: Batch, rows: torch.Tensor) -> Batch:
    """The transitions at ``rows`` ((K,) -> tensors (K, ...); (E, K) -> (E, K, ...))."""
    return Batch(**{f.name: getattr(data, f.name)[rows] for f in fields(data)})
