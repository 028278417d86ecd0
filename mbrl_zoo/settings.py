"""Settings dataclasses and their checks: one mechanism for every section of a run's config.

Every component's settings are a frozen dataclass (its ``Config``), built from the user's values by
:func:`build_dataclass` when a config is resolved (:func:`mbrl_zoo.config.resolve`), before any
results folder exists, and again when a component is built from Python with keyword arguments.
Building checks, in this order:

1. every key is a field and every value has the field's type (:func:`coerce`);
2. every number is finite (no NaN or +-inf), also inside tuples, unless the field says
   ``finite=False``;
3. each field's declared range (:func:`setting`);
4. the cross-field rules the dataclass declares in its own ``__post_init__`` (run by the
   constructor), which raise :class:`SettingError`.

Each refusal is a :class:`~mbrl_zoo.errors.UserError` naming the key as ``section.key``, the value
and what is allowed, e.g. ``planner.elite_fraction=1.5 is not allowed: it must lie in (0, 1].``

Declaring settings (a planner's, a model's or an algorithm's ``Config``)::

    @dataclass(frozen=True)
    class Config:
        population_size: int = setting(350, ">= 2")
        \"\"\"Candidate sequences per iteration.\"\"\"
        elite_fraction: float = setting(0.1, "(0, 1]")
        hidden: tuple[int, ...] = setting((256, 256), ">= 1", nonempty=True)   # each width >= 1
        angle_dims: tuple[int, ...] | None = setting(None, ">= 0", unique=True)
        target_entropy: float | None = None        # a plain default: any finite number (or None)

        def __post_init__(self):                   # rules that involve several fields
            if self.num_elites > self.population_size:
                raise SettingError({"num_elites": self.num_elites, "population_size": self.population_size},
                                   "num_elites must be at most population_size")

A range is a comparison (``"> 0"``, ``">= 1"``, ``"< 1"``, ``"<= 10"``) or an interval
(``"[0, 1)"``, ``"(0, 1]"``, ``"[0, 2**32)"``; ``inf`` allowed); on a tuple it applies to every
element. ``None`` passes every check of an optional field. A subclass that only changes a
default (``ensemble_size: int = 7``) keeps the range its parent declared.

Adopting this in an existing ``Config`` changes field declarations only: ``lr: float = 3e-4``
becomes ``lr: float = setting(3e-4, "> 0")``, and a check such as ``if self.lr <= 0: raise
UserError(...)`` in ``__post_init__`` is deleted. Finiteness needs no declaration at all.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from mbrl_zoo.errors import UserError

METADATA_KEY = "mbrl_zoo.setting"


class SettingError(UserError):
    """A value (or a combination of values) of a settings dataclass that its rules refuse.

    ``values`` maps the field names involved to their values; ``rule`` says what is allowed. The
    message names each key as ``section.key`` once :meth:`in_section` has given the section
    (:func:`build_dataclass` does), and as the bare field name before.
    """

    def __init__(self, values: dict[str, Any], rule: str, section: str | None = None):
        self.values, self.rule, self.section = dict(values), rule, section
        prefix = f"{section}." if section else ""
        shown = ", ".join(f"{prefix}{key}={show(value)}" for key, value in self.values.items())
        verb = "is not allowed" if len(self.values) == 1 else "are not allowed together"
        super().__init__(f"{shown} {verb}: {rule}.")

    def in_section(self, section: str) -> "SettingError":
        """The same error with its keys named ``section.key``."""
        return self if self.section is not None else SettingError(self.values, self.rule, section)


def show(value: Any) -> str:
    """A value as a user writes it in YAML or ``--set``: tuples as lists, strings quoted."""
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)


@dataclass(frozen=True)
class Range:
    """A numeric range parsed from a rule such as ``">= 1"`` or ``"[0, 1)"``."""

    text: str
    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False

    def __contains__(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below

    @property
    def phrase(self) -> str:
        """``"be >= 1"`` or ``"lie in [0, 1)"``: what a value must do, for messages."""
        return f"lie in {self.text}" if self.is_interval else f"be {self.text}"

    @property
    def of_number(self) -> str:
        """``">= 1"`` or ``"in [0, 1)"``: what follows "a finite number" in messages."""
        return f"in {self.text}" if self.is_interval else self.text

    @property
    def is_interval(self) -> bool:
        return self.text[0] in "[("


_COMPARISON = re.compile(r"^(>=|>|<=|<)\s*(\S+)$")
_INTERVAL = re.compile(r"^([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])$")


def parse_range(text: str) -> Range:
    """Parse a comparison (``"> 0"``) or an interval (``"[0, 1)"``); a malformed rule is a
    programming error (ValueError at import time)."""
    text = " ".join(text.split())
    if match := _COMPARISON.match(text):
        op, bound = match.group(1), _number(match.group(2), text)
        if op.startswith(">"):  # the open side includes its infinity ("> 0" admits inf where finite=False)
            return Range(text, low=bound, low_closed=op == ">=", high_closed=True)
        return Range(text, high=bound, high_closed=op == "<=", low_closed=True)
    if match := _INTERVAL.match(text):
        low, high = _number(match.group(2), text), _number(match.group(3), text)
        if not low < high:
            raise ValueError(f"setting range {text!r} is empty.")
        return Range(text, low, high, match.group(1) == "[", match.group(4) == "]")
    raise ValueError(f"setting range {text!r} is neither a comparison ('>= 1') nor an interval ('[0, 1)').")


def _number(text: str, rule: str) -> float:
    base, power, exponent = text.partition("**")
    try:
        return float(base) ** float(exponent) if power else float(text)
    except ValueError:
        raise ValueError(f"setting range {rule!r}: {text!r} is not a number.") from None


@dataclass(frozen=True)
class Rule:
    """What :func:`setting` declares about one field."""

    range: Range | None = None
    unique: bool = False
    nonempty: bool = False
    finite: bool = True
    note: str = ""


def setting(default: Any, rule: str | None = None, *, unique: bool = False, nonempty: bool = False,
            finite: bool = True, note: str = "") -> Any:
    """A dataclass field with ``default`` and a declared range.

    ``rule``: a comparison or interval (see the module docstring), applied to the value or to each
    element of a tuple; ``unique``: a tuple's elements must differ (index lists); ``nonempty``: a
    tuple needs at least one element; ``finite=False`` lets NaN and +-inf through; ``note``: why,
    appended to the message in parentheses. List, dict and set defaults are copied per instance.
    """
    metadata = {METADATA_KEY: Rule(None if rule is None else parse_range(rule), unique, nonempty, finite, note)}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def rule_of(cls: type, name: str) -> Rule:
    """The :class:`Rule` of field ``name``: declared on ``cls``'s field or, when that field only
    overrides a default, on the nearest parent dataclass that declared one; none: finite only."""
    for klass in cls.__mro__:
        declared = getattr(klass, "__dataclass_fields__", {}).get(name)
        if declared is not None and METADATA_KEY in declared.metadata:
            return declared.metadata[METADATA_KEY]
    return Rule()


def check_value(cls: type, name: str, value: Any) -> None:
    """Raise :class:`SettingError` (no section yet) if ``value`` breaks field ``name``'s rule."""
    rule = rule_of(cls, name)
    note = f" ({rule.note})" if rule.note else ""
    items = list(value) if isinstance(value, (tuple, list)) else None
    if items is not None:
        if rule.nonempty and not items:
            raise SettingError({name: value}, f"it needs at least one element{note}")
        if rule.unique:
            repeated = sorted({v for v in items if items.count(v) > 1}, key=repr)
            if repeated:
                raise SettingError({name: value}, f"each element may appear once, and {show(repeated[0])} "
                                                  f"repeats{note}")
    for item in (items if items is not None else [value]):
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, float) and rule.finite and not math.isfinite(item):
            what = "every element must be" if items is not None else "it must be"
            expected = f" {rule.range.of_number}" if rule.range else ""
            raise SettingError({name: value}, f"{what} a finite number{expected}{note}")
        if rule.range is not None and isinstance(item, (int, float)) and item not in rule.range:
            what = "every element must" if items is not None else "it must"
            raise SettingError({name: value}, f"{what} {rule.range.phrase}{note}")


def build_dataclass(cls: type, values: dict[str, Any], section: str) -> Any:
    """Instantiate the settings dataclass ``cls`` from ``values`` (the rest take their defaults),
    checking keys, types, finiteness, declared ranges and the class's cross-field rules; every
    refusal is a :class:`UserError` naming ``section.key``."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = _type_hints(cls)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "(none)"
            close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
            hint = f" Did you mean {section}.{close[0]}?" if close else ""
            raise UserError(f"unknown key {section}.{key}; valid keys of {section} ({cls.__name__}): {valid}.{hint}")
        checked[key] = coerce(value, hints.get(key, Any), f"{section}.{key}")
    try:
        for name, field in fields.items():
            if name in checked:
                check_value(cls, name, checked[name])
            elif field.default is not dataclasses.MISSING:
                check_value(cls, name, field.default)
            elif field.default_factory is not dataclasses.MISSING:
                check_value(cls, name, field.default_factory())
            else:
                raise UserError(f"{section}.{name} has no default; give it a value (--set {section}.{name}=...).")
        return cls(**checked)
    except SettingError as exc:
        raise exc.in_section(section) from None


@functools.lru_cache(maxsize=512)
def _type_hints(cls: type) -> dict[str, Any]:
    """The evaluated field annotations of ``cls`` (evaluating them is most of a build's time)."""
    return typing.get_type_hints(cls)


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """Return ``value`` as ``annotation`` (int, float, bool, str, tuples, lists, Optional, Literal)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(value, option, key)
            except UserError:
                continue
        raise _bad_type(key, value, annotation)
    if origin is typing.Literal:
        if value in args:
            return value
        raise UserError(f"{key}={show(value)} is not allowed; choose one of: {', '.join(map(repr, args))}.")
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
            try:
                return float(value)
            except OverflowError:
                raise UserError(f"{key}={value!r} is too large for a float (at most about 1.8e308).") from None
        raise _bad_type(key, value, annotation)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _bad_type(key, value, annotation)
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise _bad_type(key, value, annotation)
    return value


def _describe(annotation: Any) -> str:
    """``annotation`` in words: ``bool or one of 'td', 'gamma'`` for a union with a Literal."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(annotation)))
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _bad_type(key: str, value: Any, annotation: Any) -> UserError:
    name = _describe(annotation)
    return UserError(f"{key}={show(value)} has the wrong type ({type(value).__name__}); expected {name}.")
