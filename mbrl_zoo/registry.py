"""The registry: one table per kind of component, filled by decorators.

A student's model, planner, task or algorithm joins the zoo with one decorator::

    from mbrl_zoo.registry import register_model

    @register_model("my-model", tags={"learned"})
    class MyModel(DynamicsModel):
        def __init__(self, obs_dim: int, act_dim: int, hidden: int = 64): ...

and is then accepted everywhere by name (``--set model.name=my-model``, ``--plugin my_model.py``).

Settings of a component are its ``Config``: a frozen dataclass on the class (``CEM.Config``,
``MLPDynamics.Config``, an algorithm module's ``Config``) whose fields have defaults, docstrings
and declared ranges (:func:`mbrl_zoo.settings.setting`), checked when a run's config is resolved.
Every built-in component declares one. A plug-in that declares none (a student's one-file model)
gets one made from its constructor's keyword arguments: each argument after the ones the caller
supplies (``obs_dim``, ``act_dim``, ``task`` for models; bounds and ``horizon`` for planners) becomes
a setting with the argument's default and annotation, checked for type and finiteness only; an
argument without a default is refused, naming the file and line. Capability ``tags``
(``"ensemble"``, ``"differentiable"``, ``"simulator"``, ...) let algorithms and planners refuse a
pairing that cannot work, with the reason, before any work starts.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mbrl_zoo.errors import UserError, located, source_file, unknown_name


def first_sentence(doc: str) -> str:
    """The first sentence of ``doc``'s first paragraph, its lines joined: up to the first full stop
    outside parentheses that is followed by an upper-case word or ends the paragraph (so that
    "et al. 2018" and "i.e. heavier" do not end it)."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    depth = 0
    for i, char in enumerate(paragraph):
        depth += (char == "(") - (char == ")")
        rest = paragraph[i + 1 : i + 3]
        if char == "." and depth == 0 and (not rest or (rest[0] == " " and rest[1:].isupper())):
            return paragraph[: i + 1]
    return paragraph


@dataclass(frozen=True)
class Entry:
    """One registered component.

    ``obj`` is the class or factory; ``tags`` are its capabilities (for models) or requirements
    (``requires`` on planners and algorithms); ``skip`` lists constructor arguments the caller
    supplies (dimensions, task) rather than the user's config; ``kind`` is the table's
    (``"model"``, ``"planner"``, ...), for messages.
    """

    name: str
    obj: Any
    tags: frozenset[str] = frozenset()
    requires: frozenset[str] = frozenset()
    skip: tuple[str, ...] = ()
    kind: str = "component"

    @property
    def summary(self) -> str:
        """The first sentence of the docstring (what ``mbrl-zoo list`` shows)."""
        return first_sentence(inspect.getdoc(self.obj) or "")

    def config_class(self) -> type:
        """The dataclass of the component's settings: its ``Config`` when it declares one, else
        one made from its constructor's keyword arguments (the same class on every call, so
        configs compare equal)."""
        key = (self.name, id(self.obj), self.skip)
        if key not in _CONFIG_CLASSES:
            _CONFIG_CLASSES[key] = _config_class(self)
        return _CONFIG_CLASSES[key]

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """Call the component's class or factory. A failure other than a :class:`UserError` is
        reported as the component's own: a UserError naming it, the file and line where it
        failed (inside the component's own file when the traceback passes through it) and the
        error, so that a plug-in whose constructor raises exits 2 instead of with a traceback."""
        try:
            return self.obj(*args, **kwargs)
        except UserError:
            raise
        except Exception as exc:  # a plug-in's constructor may fail in any way; report where
            where = located(exc, source_file(self.obj))
            raise UserError(f"{self.kind} {self.name!r} failed to build: {where}") from None


_CONFIG_CLASSES: dict[tuple, type] = {}


def _config_class(entry: Entry) -> type:
    explicit = getattr(entry.obj, "Config", None)
    if dataclasses.is_dataclass(explicit):
        return explicit
    return _config_from_signature(entry)


def _config_from_signature(entry: Entry) -> type:
    """A frozen dataclass of ``entry``'s constructor keyword arguments, for a plug-in without a
    ``Config``: each argument not in ``entry.skip`` is a field with its default and annotation."""
    try:
        signature = inspect.signature(entry.obj, eval_str=True)
    except Exception as exc:  # an annotation naming something undefined, a non-callable object
        raise UserError(f"{entry.kind} {entry.name!r}: its settings cannot be read from its constructor's "
                        f"signature ({located(exc)}); declare a Config dataclass on it instead.") from None
    specs = []
    for param in signature.parameters.values():
        if param.name in entry.skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty:
            supplied = ", ".join(entry.skip) or "(none)"
            raise UserError(
                f"{entry.kind} {entry.name!r} ({_definition(entry.obj)}): constructor argument {param.name!r} "
                f"has no default, so it cannot be a setting; give it one (every setting needs a default) or "
                f"declare a Config dataclass on the class. The caller supplies only: {supplied}."
            )
        annotation = Any if param.annotation is inspect.Parameter.empty else param.annotation
        default = param.default
        if isinstance(default, (list, dict, set)):
            specs.append((param.name, annotation, field(default_factory=lambda d=default: type(d)(d))))
        else:
            specs.append((param.name, annotation, field(default=default)))
    name = "".join(part.capitalize() for part in entry.name.replace("_", "-").split("-")) + "Config"
    return dataclasses.make_dataclass(name, specs, frozen=True)


def _definition(obj: Any) -> str:
    """``file, line N`` where ``obj``'s constructor (or ``obj`` itself) is defined, when known."""
    target = getattr(obj, "__init__", obj) if inspect.isclass(obj) else obj
    path = source_file(target) or source_file(obj)
    try:
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return str(path) if path else f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
    return f"{path}, line {line}"


class Registry:
    """A table of named components of one kind (``"model"``, ``"planner"``, ...)."""

    def __init__(self, kind: str, skip: tuple[str, ...] = ()):
        self.kind = kind
        self._skip = skip
        self._entries: dict[str, Entry] = {}

    def register(
        self,
        name: str,
        *,
        tags: Iterable[str] = (),
        requires: Iterable[str] = (),
        skip: tuple[str, ...] | None = None,
    ) -> Callable[[Any], Any]:
        """Decorator: add ``obj`` under ``name``. A name already taken is refused."""

        def add(obj: Any) -> Any:
            self.add(name, obj, tags=tags, requires=requires, skip=skip)
            return obj

        return add

    def add(
        self,
        name: str,
        obj: Any,
        *,
        tags: Iterable[str] = (),
        requires: Iterable[str] = (),
        skip: tuple[str, ...] | None = None,
    ) -> Entry:
        if not isinstance(name, str) or not name:
            raise UserError(f"a {self.kind} name must be a non-empty string, got {name!r}.")
        if name in self._entries:
            taken = self._entries[name].obj
            raise UserError(
                f"{self.kind} name {name!r} is already registered (by "
                f"{getattr(taken, '__module__', '?')}.{getattr(taken, '__qualname__', taken)!s}); "
                "choose another name."
            )
        entry = Entry(name, obj, frozenset(tags), frozenset(requires), self._skip if skip is None else skip, self.kind)
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Drop an entry (tests and notebooks that re-register a component)."""
        self.get(name)
        del self._entries[name]

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, self._entries) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self.entries())

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]


TASKS = Registry("task")
MODELS = Registry("model", skip=("obs_dim", "act_dim", "task"))
PLANNERS = Registry("planner", skip=("action_low", "action_high", "horizon"))
ALGORITHMS = Registry("algorithm")
PAIRINGS = Registry("pairing")

register_task = TASKS.register
register_model = MODELS.register
register_planner = PLANNERS.register
register_algorithm = ALGORITHMS.register


@dataclass(frozen=True)
class Pairing:
    """A named recipe: an algorithm with a model and a planner and their settings.

    ``settings`` maps a section (``"algorithm"``, ``"model"``, ``"planner"``) to overrides of that
    component's defaults, e.g. ``{"model": {"ensemble_size": 5}, "planner": {"iterations": 5}}``.
    ``model`` or ``planner`` is ``None`` when the algorithm uses none (model-free SAC).
    ``task_settings`` maps a task name to more overrides of the same form, applied after
    ``settings`` on that task (per-task presets, e.g. MBPO's rollout schedule per environment).
    ``task`` is the task a run of the pairing takes when none is named (None: ``run.task``'s
    default), e.g. a discrete task for a pairing that works only with discrete actions.
    """

    name: str
    algorithm: str
    model: str | None = None
    planner: str | None = None
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    task_settings: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    task: str | None = None

    def settings_for(self, task: str) -> dict[str, dict[str, Any]]:
        """``settings`` with the task's preset (if any) merged over them, section by section."""
        preset = self.task_settings.get(task, {})
        return {section: {**self.settings.get(section, {}), **preset.get(section, {})}
                for section in set(self.settings) | set(preset)}

    @property
    def summary(self) -> str:
        return self.description


def register_pairing(pairing: Pairing) -> Pairing:
    """Add a pairing to the ``PAIRINGS`` table (names must be unique)."""
    PAIRINGS.add(pairing.name, pairing)
    return pairing


ACTION_SPACES = ("continuous", "discrete")
_WORKS_WITH = {"continuous": "it works with continuous actions within box bounds",
               "discrete": "it works with a finite set of actions (one index per action)"}


def action_space_of(component: Any) -> str:
    """The kind of actions a planner class or algorithm module works with, ``"continuous"`` or
    ``"discrete"``: its ``action_space`` attribute, or ``"continuous"`` when it declares none."""
    kind = getattr(component, "action_space", "continuous")
    if kind not in ACTION_SPACES:
        name = getattr(component, "__qualname__", getattr(component, "__name__", component))
        raise UserError(f"{name}.action_space is {kind!r}; expected one of {', '.join(map(repr, ACTION_SPACES))}.")
    return kind


def _check_action_spaces(algo: Entry, planner: Entry | None, task: str | None) -> None:
    """Refuse a planner or algorithm on a task with the other kind of actions, and a planner whose
    kind of actions differs from its algorithm's."""
    components = [(kind, entry) for kind, entry in (("planner", planner), ("algorithm", algo)) if entry is not None]
    if task is not None:
        spec = TASKS.get(task).obj
        num_actions = getattr(spec, "num_actions", None)
        has = "continuous" if num_actions is None else "discrete"
        described = "continuous actions in a box" if num_actions is None else f"{num_actions} discrete actions"
        for kind, entry in components:
            needs = action_space_of(entry.obj)
            if needs != has:
                table = PLANNERS if kind == "planner" else ALGORITHMS
                fit = [e.name for e in table if action_space_of(e.obj) == has]
                raise UserError(
                    f"{kind} {entry.name!r} cannot work on task {task!r}: {_WORKS_WITH[needs]}, and {task!r} has "
                    f"{described}. {kind.capitalize()}s for {has} actions: {', '.join(fit) or '(none registered)'}."
                )
    if planner is not None and action_space_of(planner.obj) != action_space_of(algo.obj):
        fit = [e.name for e in PLANNERS if action_space_of(e.obj) == action_space_of(algo.obj)]
        raise UserError(
            f"planner {planner.name!r} works with {action_space_of(planner.obj)} actions and algorithm {algo.name!r} "
            f"with {action_space_of(algo.obj)} ones; planners that fit {algo.name!r}: {', '.join(fit) or '(none)'}."
        )


def check_compatible(algorithm: str, model: str | None, planner: str | None, task: str | None = None) -> None:
    """Refuse, with the reason, an algorithm/model/planner combination that cannot work (on ``task``).

    An algorithm or planner lists in ``requires`` the model capabilities it needs; a model
    lists its capabilities in ``tags``. ``requires={"model"}`` / ``{"planner"}`` on an
    algorithm means it needs that component at all; naming a component that the algorithm does
    not take is refused too, as the run would silently ignore it. A planner class or algorithm
    module declares the actions it works with in an ``action_space`` attribute (``"discrete"``;
    continuous when absent, see :func:`action_space_of`): a task with the other kind of actions
    (``TaskSpec.num_actions``) is refused, and so is a planner of the other kind than its algorithm.
    """
    algo = ALGORITHMS.get(algorithm)
    model_entry = MODELS.get(model) if model is not None else None
    planner_entry = PLANNERS.get(planner) if planner is not None else None
    for component, named in (("model", model_entry), ("planner", planner_entry)):
        if component in algo.requires and named is None:
            raise UserError(f"algorithm {algorithm!r} needs a {component}; name one with --set {component}.name=...")
        if component not in algo.requires and named is not None:
            takers = [a.name for a in ALGORITHMS if component in a.requires]
            raise UserError(f"algorithm {algorithm!r} uses no {component}, so {component} {named.name!r} would be "
                            f"ignored; algorithms that take a {component}: {', '.join(takers)}.")
    _check_action_spaces(algo, planner_entry, task)
    if model_entry is None:
        return
    for owner, entry in (("algorithm", algo), ("planner", planner_entry)):
        if entry is None:
            continue
        if "occupancy" in model_entry.tags and "occupancy" not in entry.requires:
            fit = [m.name for m in MODELS if "occupancy" not in m.tags]
            raise UserError(
                f"{owner} {entry.name!r} cannot work with model {model!r}: it steps a one-step model "
                f"(next state from state and action), and {model!r} predicts discounted state occupancy "
                f"(a gamma-model). Models that fit: {', '.join(fit)}."
            )
        missing = sorted(entry.requires - {"model", "planner"} - model_entry.tags)
        if missing:
            fit = [m.name for m in MODELS if set(missing) <= m.tags]
            raise UserError(
                f"{owner} {entry.name!r} cannot work with model {model!r}: it needs a model that is "
                f"{' and '.join(missing)}, and {model!r} is tagged {sorted(model_entry.tags)}. "
                f"Models that fit: {', '.join(fit) or '(none)'}."
            )
