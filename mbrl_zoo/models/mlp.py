"""Learned MLP dynamics: one ensemble module shared by every likelihood family.

:class:`MLPDynamics` holds what all learned models share -- inputs and targets, normalisation,
stacked ensemble weights, routing rows to members, elites, learned reward and termination heads,
saving. A family (deterministic, Gaussian, Laplace, mixture, full covariance; see
:mod:`mbrl_zoo.models.families`) adds only its output head: how raw network outputs become a
distribution, and that distribution's mean, variance, samples and negative log-likelihood.

Inputs are ``[obs with angle dims as (sin, cos), act]``, standardised; targets are
``next_obs - obs`` (delta, Chua et al. 2018; Nagabandi et al. 2018) or ``next_obs``, plus the
reward when learned, standardised. Statistics are float64 buffers in the state dict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_torch_save
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.models.layers import EnsembleMLP, Routing
from mbrl_zoo.models.normalizer import Normalizer
from mbrl_zoo.settings import SettingError, build_dataclass, setting
from mbrl_zoo.types import Batch

Params = tuple[torch.Tensor, ...]
"""A family's distribution parameters, each with leading dims (members, rows) or (rows,)."""


class LogVarianceBounds(nn.Module):
    """Learnable soft bounds on a log-variance, one pair per member and dimension (E, 1, D).

    ``hi - softplus(hi - x)`` then ``lo + softplus(x - lo)`` keeps the log-variance smoothly
    inside ``[lo, hi]``; a penalty ``0.01 * (sum hi - sum lo)`` (averaged over members) pulls the
    bounds together so that the model cannot claim arbitrarily low or high variance outside the
    training data (Chua et al. 2018, appendix A.1).
    """

    def __init__(self, ensemble_size: int, dim: int, low: float = -10.0, high: float = 0.5):
        super().__init__()
        self.low = nn.Parameter(torch.full((ensemble_size, 1, dim), low))
        self.high = nn.Parameter(torch.full((ensemble_size, 1, dim), high))

    def of(self, members: torch.Tensor | None, dims: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(low, high) of members ``members`` (G,) (None: all), viewed to broadcast against a
        log-variance (G, W, ..., D) with ``dims`` dims."""
        low, high = (self.low, self.high) if members is None else (self.low[members], self.high[members])
        shape = (low.shape[0],) + (1,) * (dims - 2) + (low.shape[-1],)
        return low.view(shape), high.view(shape)

    def forward(self, log_var: torch.Tensor, members: torch.Tensor | None) -> torch.Tensor:
        """``log_var`` (G, W, ..., D) of members ``members`` (G,) (None: all) -> bounded, same shape."""
        return self.bound(log_var, *self.of(members, log_var.dim()))

    @staticmethod
    def bound(log_var: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """The soft-bounded log-variance, ``low``/``high`` broadcasting against ``log_var``."""
        log_var = F.softplus(high - log_var).neg_().add_(high)
        return F.softplus(log_var.sub_(low)).add_(low)

    @staticmethod
    def std(log_var: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """``exp(bound(log_var) / 2)``, the standard deviation, without logarithms: with x the raw
        log-variance, ``exp(bound(x)) = e^lo (1 + 1 / (e^(lo - hi) + e^(lo - x)))``, one
        exponential per element instead of two softplus and an exponential (a third of the time
        of a sampling head). Agrees with the direct form to float32 rounding (relative 1e-6).
        ``lo - x`` is capped at 80 so that neither the value nor its gradient overflows far below
        the lower bound; there the std already equals the lower bound's to float32 precision."""
        ratio = torch.exp((low - log_var).clamp_(max=80.0)) + (low - high).exp()
        return (1.0 + ratio.reciprocal()).sqrt() * (0.5 * low).exp()

    def penalty(self) -> torch.Tensor:
        return 0.01 * (self.high.sum() - self.low.sum()) / self.high.shape[0]


MAX_WEIGHTS = 2**31
"""Cap on the weights of a model's network that do not depend on the task's dimensions (8 GiB of
float32): beyond it building the model would exhaust memory rather than fail cleanly."""


def check_network_size(sizes: dict[str, int], heads: int = 1) -> None:
    """Raise :class:`SettingError` naming ``sizes`` (``ensemble_size``, ``layers``, ``hidden``
    and, for a mixture, ``components``) when ``ensemble_size x hidden x (layers x hidden +
    heads)`` -- the hidden layers' weights plus the output layer's per target dim -- exceeds
    :data:`MAX_WEIGHTS`."""
    members, layers, hidden = sizes.get("ensemble_size", 1), sizes["layers"], sizes["hidden"]
    weights = members * hidden * (layers * hidden + heads)
    if weights > MAX_WEIGHTS:
        raise SettingError(sizes, f"they make a network of at least {Decimal(weights):.3g} weights, more than the 2**31 "
                                  "(8 GiB of float32) a dynamics model may hold")


@dataclass(frozen=True)
class MLPSettings:
    """Settings of every learned MLP dynamics model (its registry config)."""

    ensemble_size: int = setting(1, ">= 1")
    """E: members trained on separate bootstrap resamples of the data (Chua et al. 2018)."""
    num_elites: int | None = setting(None, ">= 1")
    """Members used for propagation, the best on held-out data after each fit (at most E); None
    keeps all E."""
    hidden: int = setting(200, ">= 1")
    """Width of every hidden layer."""
    layers: int = setting(4, ">= 1")
    """Number of hidden layers."""
    activation: Literal["silu", "relu", "tanh", "elu"] = "silu"
    delta: bool = True
    """Predict ``next_obs - obs`` instead of ``next_obs``."""
    normalize: bool = True
    """Standardise inputs and targets with statistics of the training data."""
    angle_dims: tuple[int, ...] | None = setting(None, ">= 0", unique=True, note="indices of observation dims")
    """Observation dims fed to the network as (sin, cos), each in [0, obs_dim) and named once;
    None takes the task's ``angle_dims``."""
    learn_reward: bool = False
    """Add a reward output (one more target dim), exposed as :meth:`MLPDynamics.reward_fn`."""
    learn_termination: bool = False
    """Add a termination logit trained with cross-entropy, exposed as ``termination_fn``."""

    def __post_init__(self):
        if self.num_elites is not None and self.num_elites > self.ensemble_size:
            raise SettingError({"num_elites": self.num_elites, "ensemble_size": self.ensemble_size},
                               "num_elites must lie in [1, ensemble_size], or be null to keep every member")
        check_network_size({"ensemble_size": self.ensemble_size, "layers": self.layers, "hidden": self.hidden})


class MLPDynamics(DynamicsModel):
    """Base of the learned models: an ensemble of E MLPs with stacked weights and a family head.

    Subclasses implement :meth:`head_size`, :meth:`_distribution`, :meth:`_mean`,
    :meth:`_variance`, :meth:`_draw` and :meth:`_nll`, all in standardised target units with
    target dim D = ``obs_dim`` (+1 with a learned reward).
    """

    Config = MLPSettings
    has_likelihood = True
    """False for a point predictor: :meth:`nll` then returns None."""

    def __init__(self, obs_dim: int, act_dim: int, task: Any = None, *,
                 generator: torch.Generator | None = None, **settings: Any):
        super().__init__()
        self.config = build_dataclass(self.Config, settings, "model")
        cfg = self.config
        self.obs_dim, self.act_dim, self.ensemble_size = int(obs_dim), int(act_dim), cfg.ensemble_size
        angle_dims = cfg.angle_dims if cfg.angle_dims is not None else getattr(task, "angle_dims", ())
        self.angle_dims = tuple(sorted(int(d) for d in angle_dims))
        if any(not 0 <= d < self.obs_dim for d in self.angle_dims) or len(set(self.angle_dims)) < len(self.angle_dims):
            raise SettingError({"angle_dims": self.angle_dims},
                               f"each index must lie in [0, obs_dim) = [0, {self.obs_dim}) and appear once "
                               f"(observation dims of {getattr(task, 'name', 'the task')})", "model")
        plain = [d for d in range(self.obs_dim) if d not in self.angle_dims]
        self.register_buffer("_plain_dims", torch.tensor(plain, dtype=torch.long), persistent=False)
        self.register_buffer("_angle_dims", torch.tensor(self.angle_dims, dtype=torch.long), persistent=False)
        in_dim = self.obs_dim + len(self.angle_dims) + self.act_dim
        self.target_dim = self.obs_dim + int(cfg.learn_reward)
        self.input_norm = Normalizer(in_dim, cfg.normalize)
        self.target_norm = Normalizer(self.target_dim, cfg.normalize)
        out_dim = self.head_size(self.target_dim) + int(cfg.learn_termination)
        self.net = EnsembleMLP(cfg.ensemble_size, in_dim, out_dim, cfg.hidden, cfg.layers, cfg.activation,
                               generator)
        self.bounds = LogVarianceBounds(cfg.ensemble_size, self.target_dim) if self.has_likelihood else None
        elites = cfg.ensemble_size if cfg.num_elites is None else cfg.num_elites
        self.register_buffer("elite_members", torch.arange(elites))
        self._last_routing: tuple[bool, torch.Tensor, Routing] | None = None

    # --- the family's part -------------------------------------------------------------------

    def head_size(self, dim: int) -> int:
        """Raw outputs the head needs for a D-dim target."""
        raise NotImplementedError

    def _distribution(self, raw: torch.Tensor, members: torch.Tensor | None) -> Params:
        """Raw outputs (G, W, head_size) of members ``members`` (G,) (None: all E) -> parameters."""
        raise NotImplementedError

    def _mean(self, params: Params) -> torch.Tensor:
        """(..., D) mean of the distribution."""
        raise NotImplementedError

    def _variance(self, params: Params) -> torch.Tensor:
        """(..., D) per-dimension variance of the distribution."""
        raise NotImplementedError

    def _draw(self, params: Params, generator: torch.Generator | None) -> torch.Tensor:
        """(..., D) one sample per row, noise from ``generator``."""
        raise NotImplementedError

    def _nll(self, params: Params, target: torch.Tensor) -> torch.Tensor:
        """(...) negative log-likelihood of ``target`` (..., D), summed over D (nats)."""
        raise NotImplementedError

    def _penalty(self) -> torch.Tensor | float:
        """Extra training loss of the head: the log-variance bound penalty."""
        return 0.0 if self.bounds is None else self.bounds.penalty()

    # --- inputs, targets, routing ------------------------------------------------------------

    @property
    def _dtype(self) -> torch.dtype:
        return self.net.layers[0].weight.dtype

    @property
    def elites(self) -> torch.Tensor:
        """(K,) long: the members used by ``mean``/``sample`` when ``member`` is None."""
        return self.elite_members

    def set_elites(self, members: torch.Tensor | list[int]) -> None:
        """Keep ``members`` (K,) (K = ``num_elites``) as the elites, e.g. the best on held-out data."""
        members = torch.as_tensor(members, dtype=torch.long, device=self.elite_members.device)
        if members.shape != self.elite_members.shape or not bool(((members >= 0) & (members < self.ensemble_size)).all()):
            raise UserError(f"elites must be {self.elite_members.numel()} member indices in [0, {self.ensemble_size}), "
                            f"got {members.tolist()}.")
        self.elite_members.copy_(members)

    def _features(self, obs: torch.Tensor, act: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Network inputs before standardisation, in ``dtype`` (default the weights'):
        (..., O + #angles + A)."""
        if obs.shape[-1] != self.obs_dim or act.shape[-1] != self.act_dim or obs.shape[:-1] != act.shape[:-1]:
            raise UserError(f"{type(self).__name__} expects obs (..., {self.obs_dim}) and act (..., {self.act_dim}) "
                            f"with the same leading dims; got {tuple(obs.shape)} and {tuple(act.shape)}.")
        obs, act = obs.to(dtype or self._dtype), act.to(dtype or self._dtype)
        if not self.angle_dims:
            return torch.cat([obs, act], dim=-1)
        angles = obs.index_select(-1, self._angle_dims)
        return torch.cat([obs.index_select(-1, self._plain_dims), torch.sin(angles), torch.cos(angles), act], dim=-1)

    def _raw_target(self, obs: torch.Tensor, next_obs: torch.Tensor, rew: torch.Tensor,
                    dtype: torch.dtype | None = None) -> torch.Tensor:
        """Targets before standardisation, in ``dtype`` (default the weights'): (..., D). The
        difference is taken in the data's precision, before any cast."""
        target = (next_obs - obs if self.config.delta else next_obs).to(dtype or self._dtype)
        if self.config.learn_reward:
            target = torch.cat([target, rew.to(target.dtype).unsqueeze(-1)], dim=-1)
        return target

    def _to_obs(self, obs: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """Standardised target mean (..., D) -> next observation (..., O)."""
        out = self.target_norm.denormalize(mean[..., : self.obs_dim], self.obs_dim)
        return out.add_(obs.to(out.dtype)) if self.config.delta else out

    def _split(self, raw: torch.Tensor, members: torch.Tensor | None) -> tuple[Params, torch.Tensor | None]:
        """Raw outputs -> (family parameters, termination logits (...) or None)."""
        if self.config.learn_termination:
            return self._distribution(raw[..., :-1], members), raw[..., -1]
        return self._distribution(raw, members), None

    def _all_members(self, obs: torch.Tensor, act: torch.Tensor,
                     members: torch.Tensor | None = None) -> tuple[Params, torch.Tensor | None]:
        """Every member in ``members`` (default all) on every row: parameters (E', B, ...)."""
        x = self.input_norm.normalize(self._features(obs, act))
        count = self.ensemble_size if members is None else members.shape[0]
        if x.dim() == 2:
            x = x.expand(count, *x.shape)
        return self._split(self.net(x, members), members)

    def _per_row(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor) -> tuple[Params, Routing]:
        """Row b through member ``member[b]`` only: parameters (G, W, ...) of the rows grouped
        per member, and the routing whose ``ungroup_rows`` puts a per-row result (G, W, ...)
        back in row order (B, ...). Callers reduce to what they need (a mean, a draw) before
        ungrouping, so that rows are moved once."""
        routing = self._routing_of(member, obs)
        x = routing.group_rows(self.input_norm.normalize(self._features(obs, act)))
        params, _ = self._split(self.net(x, routing.members), routing.members)
        return params, routing

    def _routing_of(self, member: torch.Tensor, obs: torch.Tensor) -> Routing:
        """The checked routing of rows to ``member`` (B,). TS-inf passes the same members at every
        horizon step, so the last routing is kept with a copy of its members and reused when they
        are equal (a comparison of B integers) instead of being built and checked anew, a cost that
        weighs most on small calls; TS-1's fresh members each step pay only the comparison and a
        copy."""
        member = torch.as_tensor(member, dtype=torch.long, device=obs.device)
        if member.shape != obs.shape[:1]:
            raise UserError(f"member must have shape ({obs.shape[0]},) (one index per row), got {tuple(member.shape)}.")
        # Routings made under inference mode hold inference tensors, which autograd refuses.
        inference = torch.is_inference_mode_enabled()
        cached = self._last_routing
        if (cached is not None and cached[0] == inference and cached[1].shape == member.shape
                and cached[1].device == member.device and torch.equal(cached[1], member)):
            return cached[2]
        if member.numel() and not 0 <= int(member.min()) <= int(member.max()) < self.ensemble_size:
            raise UserError(f"member indices must lie in [0, {self.ensemble_size}); got {int(member.min())}..{int(member.max())}.")
        # Two slices per member: an even number of equal matmuls, which two threads share evenly
        # (an odd count, e.g. 5 elites, leaves one thread idle for the last matmul).
        routing = Routing.of(member, self.ensemble_size, parts=2)
        self._last_routing = (inference, member.clone(), routing)
        return routing

    # --- the DynamicsModel contract ----------------------------------------------------------

    def predict(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's predictive mean and variance of ``next_obs`` (E, B, O) from obs (B, O)."""
        params, _ = self._all_members(obs, act)
        var = self._variance(params) * self.target_norm.scale(params[0].dtype) ** 2
        return self._to_obs(obs, self._mean(params)), var[..., : self.obs_dim]

    def mean(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None) -> torch.Tensor:
        """Expected next observation (B, O): of member ``member[b]`` for row b, or, with
        ``member=None``, the average of the elites' means."""
        if member is None:
            params, _ = self._all_members(obs, act, self.elite_members)
            return self._to_obs(obs, self._mean(params).mean(dim=0))
        params, routing = self._per_row(obs, act, member)
        return self._to_obs(obs, routing.ungroup_rows(self._mean(params)))

    def sample(self, obs: torch.Tensor, act: torch.Tensor, member: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw of the next observation (B, O) from member ``member[b]``'s predictive
        distribution (a uniformly drawn elite when ``member`` is None), noise from ``generator``."""
        if member is None:
            pick = torch.randint(self.elite_members.numel(), obs.shape[:1], generator=generator, device=obs.device)
            member = self.elite_members[pick]
        params, routing = self._per_row(obs, act, member)
        return self._to_obs(obs, routing.ungroup_rows(self._draw(params, generator)))

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean per-dimension NLL (MSE for a point predictor) of the standardised targets, plus the
        head's penalty and the termination cross-entropy. Tensors (B, ...) or (E, B, ...)."""
        obs, act, next_obs, rew, done = batch.obs, batch.act, batch.next_obs, batch.rew, batch.terminated
        if obs.dim() == 2:
            obs, act, next_obs, rew, done = (t.expand(self.ensemble_size, *t.shape)
                                            for t in (obs, act, next_obs, rew, done))
        params, logit = self._all_members(obs, act)
        target = self.target_norm.normalize(self._raw_target(obs, next_obs, rew))
        fit_term = self._nll(params, target).mean() / self.target_dim
        total = fit_term + self._penalty()
        info = {("nll" if self.has_likelihood else "mse"): fit_term.item()}
        if logit is not None:
            bce = F.binary_cross_entropy_with_logits(logit, done.to(logit.dtype))
            total = total + bce
            info["termination_bce"] = bce.item()
        info["loss"] = total.item()
        return total, info

    # --- learned reward and termination ------------------------------------------------------

    def reward_fn(self, obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """Learned reward (B,): the elites' average predicted mean (``next_obs`` is unused)."""
        if not self.config.learn_reward:
            raise UserError(f"{type(self).__name__} has no reward head; build it with learn_reward=True.")
        params, _ = self._all_members(obs, act, self.elite_members)
        mean = self._mean(params).mean(dim=0)
        return self.target_norm.denormalize(mean)[..., self.obs_dim]

    def termination_fn(self, obs: torch.Tensor, act: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """Learned termination (B,) bool: the elites' average probability above one half."""
        if not self.config.learn_termination:
            raise UserError(f"{type(self).__name__} has no termination head; build it with learn_termination=True.")
        _, logit = self._all_members(obs, act, self.elite_members)
        return torch.sigmoid(logit).mean(dim=0) > 0.5

    # --- training support --------------------------------------------------------------------

    def update_normalizers(self, data: Batch) -> None:
        """Set input and target statistics from the training transitions ``data`` (N, ...)."""
        self.input_norm.fit(self._features(data.obs, data.act, torch.float64))
        self.target_norm.fit(self._raw_target(data.obs, data.next_obs, data.rew, torch.float64))

    def nll(self, data: Batch) -> torch.Tensor | None:
        """Per-member NLL (E,) of ``data``'s targets, per dimension, in the data's own units
        (nats; the standardisation's log-scale is added back, so delta and non-delta models
        compare). None for a point predictor."""
        if not self.has_likelihood:
            return None
        params, _ = self._all_members(data.obs, data.act)
        target = self.target_norm.normalize(self._raw_target(data.obs, data.next_obs, data.rew))
        per_dim = self._nll(params, target).mean(dim=-1) / self.target_dim
        return per_dim + torch.log(self.target_norm.divisor(per_dim.dtype)).mean()

    def settings(self) -> dict[str, Any]:
        """Constructor settings that rebuild this model without its task (angle dims resolved)."""
        return {**dataclasses.asdict(self.config), "angle_dims": self.angle_dims}


def save_model(model: MLPDynamics, path: str | Path) -> None:
    """Write ``model`` (class, dims, settings, weights, normalisers, elites) to ``path`` atomically."""
    cls = type(model)
    atomic_torch_save({"class": f"{cls.__module__}:{cls.__qualname__}", "obs_dim": model.obs_dim,
                       "act_dim": model.act_dim, "settings": model.settings(),
                       "state_dict": model.state_dict()}, path)


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> MLPDynamics:
    """Rebuild a model written by :func:`save_model` (no task needed)."""
    saved = torch.load(path, map_location=map_location, weights_only=True)
    classes = {f"{c.__module__}:{c.__qualname__}": c for c in _subclasses(MLPDynamics)}
    cls = classes.get(saved["class"])
    if cls is None:
        raise UserError(f"{str(path)!r} holds a model of class {saved['class']!r}, which is not imported; "
                        f"import the module that defines it first. Known classes: {', '.join(sorted(classes))}.")
    model = cls(saved["obs_dim"], saved["act_dim"], **saved["settings"])
    model.load_state_dict(saved["state_dict"])
    return model


def _subclasses(cls: type) -> list[type]:
    """``cls`` and every class derived from it, at any depth."""
    out = [cls]
    for sub in cls.__subclasses__():
        out += _subclasses(sub)
    return out
