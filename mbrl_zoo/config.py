"""Run configuration: a pairing's defaults (and its preset for the task), then YAML, then ``--set``
overrides, all type-checked.

A run's config has four sections. ``run`` holds ``task``, ``seed`` and ``steps``; ``algorithm``,
``model`` and ``planner`` hold the settings of those components, i.e. their ``Config``
dataclass or constructor keyword arguments (see :mod:`mbrl_zoo.registry`). ``model.name`` and
``planner.name`` swap the component; the pairing's settings for the component it named are then
dropped, since they were chosen for that component.

Overrides arrive as ``{"planner": {"population_size": 200}}`` (from YAML) or the strings
``"planner.population_size=200"`` (from ``--set``; values parse as YAML scalars, and number
literals that YAML 1.1 leaves as text, ``1e-3``, ``nan``, ``inf``, as floats). Every section is
built and checked by :func:`mbrl_zoo.settings.build_dataclass`: unknown sections or keys,
ill-typed values, NaN or infinite numbers, values outside a field's declared range and broken
cross-field rules raise :class:`UserError` naming ``section.key``, the value and what is allowed,
before anything is built or written. Keys of earlier versions are refused with their new name.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mbrl_zoo.device import DEVICE_PATTERN, check_device
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, MODELS, PAIRINGS, PLANNERS, TASKS, Entry, action_space_of, check_compatible
from mbrl_zoo.settings import SettingError, build_dataclass, coerce, setting

__all__ = ["RunConfig", "RunSettings", "build_dataclass", "check_buildable", "coerce", "from_dict", "load_yaml",
           "merge", "parse_set", "resolve", "upgrade"]

SECTIONS = ("run", "algorithm", "model", "planner")
FLOAT_LITERAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+|[+-]?(nan|inf|infinity)", re.IGNORECASE)


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader reading ``5e-5`` (an exponent without a dot, as JSON, YAML 1.2 and
    Python's ``repr`` write it) as a float; plain YAML 1.1 reads it as text, so a config file
    saying ``fit_weight_decay: 5e-5`` would be refused as a string."""


YamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$"),
                                 list("+-.0123456789"))


def read_yaml(text: str) -> Any:
    """``text`` as YAML (safe tags only; exponent floats as floats, see :class:`YamlLoader`)."""
    return yaml.load(text, Loader=YamlLoader)
"""Number literals that YAML 1.1 reads as text: exponents without a dot (``1e-3``), ``nan``, ``inf``."""
DEFAULT_LEARNING_STEPS = 2000
"""Env steps after the random warm-up (``algorithm.random_steps``) of a run given no ``--steps``."""

RENAMED_KEYS = {
    ("algorithm", "model_train_every"): "refit_every",
    ("algorithm", "model_train_freq"): "refit_every",
    ("algorithm", "gamma"): "discount",
}
"""Keys of earlier versions and the key that holds the same setting now: one name per idea (the
refit period of every model-learning algorithm, the discount of every learner and planner)."""
REMOVED_KEYS = {
    ("algorithm", "checkpoint_every"): "runs now checkpoint at every episode end, every minute inside long episodes and at the end",
}
"""Keys of earlier versions that no setting replaces, with the reason."""


@dataclass(frozen=True)
class RunSettings:
    """The ``run`` section: which task, which seed, how many environment steps in all, and how
    many CPU threads torch uses.

    ``threads`` is 1 by default: on a CPU that other work shares, torch's OpenMP threads wait for
    each other at every parallel region and a run can slow down tenfold or more; a second thread
    pays (about 1.4-1.8x on the planning call) only on otherwise idle cores. Results can differ in
    the last bits between thread counts (the order of float sums), so compare runs at equal
    threads; ``--resume`` accepts another thread count."""

    task: str = "cartpole-swingup"
    """A registered task (``mbrl-zoo list tasks``)."""
    seed: int = setting(0, "[0, 2**32)", note="env resets take non-negative seeds")
    """Seeds the env resets, the networks' initialisation and every random stream."""
    steps: int = setting(2000, ">= 1", note="environment steps in all, --steps")
    """Environment steps in all; the episode running when they end is cut there (marked ``cut``)."""
    threads: int = setting(1, "[1, 1024]", note="torch CPU threads, --threads")
    """Torch's CPU threads for this run."""
    device: str = "cpu"
    """Where networks, buffers and random generators live: ``cpu``, ``cuda`` or ``cuda:N``
    (:mod:`mbrl_zoo.device`); the environment stays on the CPU. ``--resume`` accepts another device."""

    def __post_init__(self):
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise SettingError({"device": self.device}, "it must be 'cpu', 'cuda' or 'cuda:N'")


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
        return entry.build(obs_dim=obs_dim, act_dim=act_dim, **extra, **dataclasses.asdict(self.model))

    def make_planner(self, action_low=None, action_high=None, horizon: int = 1):
        """Build the configured planner: a continuous one for these action bounds (A,) and horizon H,
        a discrete one (``action_space = "discrete"``: mcts) from its settings alone."""
        entry = PLANNERS.get(self.planner_name)
        if action_space_of(entry.obj) == "discrete":
            return entry.build(**dataclasses.asdict(self.planner))
        return entry.build(action_low=action_low, action_high=action_high, horizon=horizon,
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
            value = read_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and FLOAT_LITERAL.fullmatch(value.strip()):
            value = float(value)
        nested.setdefault(section, {})[name] = value
    return nested


def load_yaml(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a YAML override file whose top-level keys are sections."""
    try:
        data = read_yaml(Path(path).read_text()) or {}
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

    run = build_dataclass(RunSettings, {**({"task": pairing.task} if pairing.task else {}), **overrides.get("run", {})},
                          "run")
    TASKS.get(run.task)
    defaults = pairing.settings_for(run.task)
    algorithm_entry = ALGORITHMS.get(pairing.algorithm)
    refuse_old_keys(algorithm_entry.config_class(), overrides.get("algorithm", {}), "algorithm")
    algorithm = build_dataclass(
        algorithm_entry.config_class(),
        {**defaults.get("algorithm", {}), **overrides.get("algorithm", {})},
        "algorithm",
    )
    warm_up = getattr(algorithm, "random_steps", 0)
    if "steps" not in overrides.get("run", {}) and run.steps <= warm_up:
        # Without --steps, a run learns for a while after its random warm-up.
        run = dataclasses.replace(run, steps=warm_up + DEFAULT_LEARNING_STEPS)
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
    check_compatible(algorithm_entry.name, chosen["model"][0], chosen["planner"][0], task=run.task)
    planner_name = chosen["planner"][0]
    spec = TASKS.get(run.task).obj
    if planner_name and PLANNERS.get(planner_name).obj.needs_gradients and not spec.differentiable_reward:
        fit = [n for n in PLANNERS.names() if not PLANNERS.get(n).obj.needs_gradients
               and action_space_of(PLANNERS.get(n).obj) == spec.action_space_kind]
        raise UserError(
            f"planner {planner_name!r} cannot work on task {run.task!r}: its reward is piecewise constant in "
            f"the actions (+1 per step while alive), so the return has no useful gradient. Planners that fit: "
            f"{', '.join(fit)}."
        )
    return RunConfig(pairing_name, run, algorithm_entry.name, algorithm,
                     chosen["model"][0], chosen["model"][1], chosen["planner"][0], chosen["planner"][1])


def upgrade(saved: dict[str, Any]) -> dict[str, Any]:
    """A ``config.json`` dict written by an earlier version, with renamed keys under their current
    names (:data:`RENAMED_KEYS`) and removed ones (:data:`REMOVED_KEYS`) dropped."""
    out = {}
    for section, values in saved.items():
        if not isinstance(values, dict):
            out[section] = values
            continue
        out[section] = {}
        for key, value in values.items():
            if (section, key) in REMOVED_KEYS:
                continue
            out[section][RENAMED_KEYS.get((section, key), key)] = value
    return out


def from_dict(saved: dict[str, Any]) -> RunConfig:
    """The :class:`RunConfig` of a ``config.json`` dict (:meth:`RunConfig.to_dict`), of this
    version or an earlier one (:func:`upgrade`): every setting it names, the current defaults
    for settings added since."""
    saved = upgrade(saved)
    overrides = {section: dict(values) for section, values in saved.items()
                 if section in SECTIONS and isinstance(values, dict)}
    return resolve(saved["pairing"], overrides)


def refuse_old_keys(cls: type, values: dict[str, Any], section: str) -> None:
    """Refuse (:class:`UserError`) a key of an earlier version that ``cls`` no longer has, naming
    the key that holds its setting now (:data:`RENAMED_KEYS`) or why it is gone (:data:`REMOVED_KEYS`)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key in fields:
            continue
        renamed = RENAMED_KEYS.get((section, key))
        if renamed in fields:
            raise UserError(f"{section}.{key} is now called {section}.{renamed}; set {section}.{renamed}={value!r}.")
        if (section, key) in REMOVED_KEYS:
            raise UserError(f"{section}.{key} is no longer a setting: {REMOVED_KEYS[(section, key)]}.")


def check_buildable(config: RunConfig) -> None:
    """Build the task's env, the model and the planner of ``config`` once, and check the task's
    reward and termination against its env on 100 random transitions, so that a bad env id, a bad
    setting value, a component whose constructor fails (named with its file and line, see
    :meth:`~mbrl_zoo.registry.Entry.build`) or a model breaking its contract on its first call
    (:func:`~mbrl_zoo.models.base.validate_model`) fails before any results folder exists. An
    algorithm ``Config`` with a ``check_run(config)`` method checks there what needs the task or
    the filesystem (e.g. that a file it reads exists and fits the task)."""
    from mbrl_zoo.models.base import validate_model
    from mbrl_zoo.tasks import check_task

    check_device(config.run.device)
    spec = config.task_spec()
    check = check_task(spec, transitions=100, seed=config.run.seed)
    if not check.ok:
        raise UserError(f"task {spec.name!r} disagrees with its environment ({check}); "
                        "fix its reward_fn/termination_fn (mbrl-zoo check-tasks shows all tasks).")
    obs_dim, act_dim = spec.dims()
    low, high = (None, None) if spec.discrete else spec.action_bounds()
    if config.model_name is not None:
        model = config.make_model(obs_dim, act_dim)
        if "occupancy" not in MODELS.get(config.model_name).tags:  # a gamma-model is no one-step model
            validate_model(model, name=config.model_name)
    if config.planner_name is not None:
        config.make_planner(low, high, getattr(config.algorithm, "horizon", 1))
    check_run = getattr(config.algorithm, "check_run", None)
    if callable(check_run):
        check_run(config)
