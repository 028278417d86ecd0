"""Run configuration: a pairing's defaults (and its preset for the task), then YAML, then ``--set``
overrides, all type-checked.

A run's config has four sections. ``run`` holds ``task``, ``seed`` and ``steps``; ``algorithm``,
``model`` and ``planner`` hold the settings of those components, i.e. their ``Config``
dataclass or constructor keyword arguments (see :mod:`mbrl_zoo.registry`). ``model.name`` and
``planner.name`` swap the component; the pairing's settings for the component it named are then
dropped, since they were chosen for that component.

Overrides arrive as ``{"planner": {"population_size": 200}}`` (from YAML) or the strings
``"planner.population_size=200"`` (from ``--set``; values parse as YAML scalars). Unknown
sections or keys and ill-typed values raise :class:`UserError` naming the key and the valid keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, MODELS, PAIRINGS, PLANNERS, TASKS, Entry, check_compatible

SECTIONS = ("run", "algorithm", "model", "planner")


@dataclass(frozen=True)
class RunSettings:
    """The ``run`` section: which task, which seed, how many environment steps in all."""

    task: str = "cartpole-swingup"
    seed: int = 0
    steps: int = 2000

    def __post_init__(self):
        if not 0 <= self.seed < 2**32:
            raise UserError(f"run.seed must lie in [0, 2**32) (env resets take non-negative seeds), got {self.seed}.")
        if self.steps < 1:
            raise UserError(f"run.steps (--steps) must be >= 1 environment step, got {self.steps}.")


@dataclass(frozen=True)
class RunConfig:
    """A fully resolved run: the pairing it came from and each section's settings.

    ``model``/``planner`` are ``None`` for algorithms that use none; ``*_name`` says which
    registered component the settings belong to.
    """

    pairing: str
    run: RunSettings
    algorithm_name: str
    algorithm: Any
    model_name: str | None
    model: Any
    planner_name: str | None
    planner: Any

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``config.json``); :func:`resolve` of it gives this config back."""
        out: dict[str, Any] = {"pairing": self.pairing, "run": dataclasses.asdict(self.run)}
        out["algorithm"] = dataclasses.asdict(self.algorithm)
        for section in ("model", "planner"):
            name = getattr(self, f"{section}_name")
            out[section] = None if name is None else {"name": name, **dataclasses.asdict(getattr(self, section))}
        return out

    def task_spec(self):
        """The registered :class:`~mbrl_zoo.tasks.spec.TaskSpec` of ``run.task``."""
        return TASKS.get(self.run.task).obj

    def make_model(self, obs_dim: int, act_dim: int):
        """Build the configured dynamics model for these dimensions."""
        entry = MODELS.get(self.model_name)
        extra = {"task": self.task_spec()} if "task" in inspect.signature(entry.obj).parameters else {}
        return entry.obj(obs_dim=obs_dim, act_dim=act_dim, **extra, **dataclasses.asdict(self.model))

    def make_planner(self, action_low, action_high, horizon: int):
        """Build the configured planner for these action bounds (A,) and horizon H."""
        entry = PLANNERS.get(self.planner_name)
        return entry.obj(action_low=action_low, action_high=action_high, horizon=horizon,
                         **dataclasses.asdict(self.planner))


def parse_set(assignments: list[str]) -> dict[str, dict[str, Any]]:
    """Turn ``["planner.population_size=200", ...]`` into ``{"planner": {"population_size": 200}}``."""
    return parse_dotted(assignments, f"SECTION.KEY=VALUE (e.g. planner.population_size=200); sections: "
                                     f"{', '.join(SECTIONS)}")


def parse_dotted(assignments: list[str], form: str) -> dict[str, dict[str, Any]]:
    """``["A.KEY=VALUE", ...]`` -> ``{"A": {"KEY": VALUE}}``, each value read as YAML (numbers,
    booleans, lists) or kept as text; an item of another shape raises a UserError citing ``form``."""
    nested: dict[str, dict[str, Any]] = {}
    for text in assignments:
        key, sep, raw = text.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not section or not dot or not name:
            raise UserError(f"--set {text!r} is not of the form {form}.")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        nested.setdefault(section, {})[name] = value
    return nested


def load_yaml(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a YAML override file whose top-level keys are sections."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise UserError(f"config file {str(path)!r} does not exist.") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UserError(
            f"config file {str(path)!r} must map sections ({', '.join(SECTIONS)}) to key: value tables."
        )
    return data


def merge(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Later layers win, key by key within a section."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            out.setdefault(section, {}).update(values)
    return out


def resolve(pairing_name: str, overrides: dict[str, dict[str, Any]] | None = None) -> RunConfig:
    """Resolve a pairing plus overrides into a checked :class:`RunConfig` (nothing is built)."""
    pairing = PAIRINGS.get(pairing_name).obj
    overrides = {k: dict(v) for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(SECTIONS))
    if unknown:
        raise UserError(f"unknown config section {unknown[0]!r}; valid sections: {', '.join(SECTIONS)}.")

    run = build_dataclass(RunSettings, overrides.get("run", {}), "run")
    TASKS.get(run.task)
    defaults = pairing.settings_for(run.task)
    algorithm_entry = ALGORITHMS.get(pairing.algorithm)
    algorithm = build_dataclass(
        algorithm_entry.config_class(),
        {**defaults.get("algorithm", {}), **overrides.get("algorithm", {})},
        "algorithm",
    )
    chosen: dict[str, tuple[str | None, Any]] = {}
    for section, registry, default in (("model", MODELS, pairing.model), ("planner", PLANNERS, pairing.planner)):
        values = dict(overrides.get(section, {}))
        name = values.pop("name", default)
        if name is None:
            if values:
                raise UserError(f"pairing {pairing_name!r} uses no {section} (algorithm {algorithm_entry.name!r} "
                                f"takes none), so {section}.{sorted(values)[0]} does not apply.")
            chosen[section] = (None, None)
            continue
        entry: Entry = registry.get(str(name))
        base = defaults.get(section, {}) if name == default else {}
        chosen[section] = (entry.name, build_dataclass(entry.config_class(), {**base, **values}, section))
    check_compatible(algorithm_entry.name, chosen["model"][0], chosen["planner"][0])
    planner_name = chosen["planner"][0]
    if planner_name and "differentiable" in PLANNERS.get(planner_name).requires \
            and not TASKS.get(run.task).obj.differentiable_reward:
        raise UserError(
            f"planner {planner_name!r} cannot work on task {run.task!r}: its reward is piecewise constant in "
            "the actions (+1 per step while alive), so the return has no useful gradient. "
            f"Planners that fit: {', '.join(n for n in PLANNERS.names() if 'differentiable' not in PLANNERS.get(n).requires)}."
        )
    return RunConfig(pairing_name, run, algorithm_entry.name, algorithm,
                     chosen["model"][0], chosen["model"][1], chosen["planner"][0], chosen["planner"][1])


def build_dataclass(cls: type, values: dict[str, Any], section: str) -> Any:
    """Instantiate dataclass ``cls`` from ``values``, checking every key and value's type."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "(none)"
            close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
            hint = f" Did you mean {section}.{close[0]}?" if close else ""
            raise UserError(f"unknown key {section}.{key}; valid keys of {section} ({cls.__name__}): {valid}.{hint}")
        checked[key] = coerce(value, hints.get(key, Any), f"{section}.{key}")
    return cls(**checked)


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """Return ``value`` as ``annotation`` (int, float, bool, str, tuples, lists, Optional, Literal)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(value, option, key)
            except UserError as exc:
                errors.append(exc)
        raise _bad_type(key, value, annotation)
    if origin is typing.Literal:
        if value in args:
            return value
        raise UserError(f"{key}={value!r} is not allowed; choose one of: {', '.join(map(repr, args))}.")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _bad_type(key, value, annotation)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise _bad_type(key, value, annotation)
            items = [coerce(v, a, key) for v, a in zip(value, args)]
        else:
            items = [coerce(v, args[0] if args else Any, key) for v in value]
        return origin(items)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise _bad_type(key, value, annotation)
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _bad_type(key, value, annotation)
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _bad_type(key, value, annotation)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _bad_type(key, value, annotation)
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise _bad_type(key, value, annotation)
    return value


def _bad_type(key: str, value: Any, annotation: Any) -> UserError:
    name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    return UserError(f"{key}={value!r} has the wrong type ({type(value).__name__}); expected {name}.")


def check_buildable(config: RunConfig) -> None:
    """Build the task's env, the model and the planner of ``config`` once, and check the task's
    reward and termination against its env on 100 random transitions, so that a bad env id, a bad
    setting value or a model breaking its contract fails before any results folder exists."""
    from mbrl_zoo.models.base import validate_model
    from mbrl_zoo.tasks import check_task

    spec = config.task_spec()
    check = check_task(spec, transitions=100, seed=config.run.seed)
    if not check.ok:
        raise UserError(f"task {spec.name!r} disagrees with its environment ({check}); "
                        "fix its reward_fn/termination_fn (mbrl-zoo check-tasks shows all tasks).")
    obs_dim, act_dim = spec.dims()
    low, high = spec.action_bounds()
    if config.model_name is not None:
        model = config.make_model(obs_dim, act_dim)
        validate_model(model)
        if "ensemble" in ALGORITHMS.get(config.algorithm_name).requires and model.ensemble_size < 2:
            raise UserError(
                f"algorithm {config.algorithm_name!r} needs an ensemble, but model {config.model_name!r} has "
                f"ensemble_size={model.ensemble_size}; use model 'pe' or --set model.ensemble_size=7.")
    if config.planner_name is not None:
        config.make_planner(low, high, getattr(config.algorithm, "horizon", 1))
