"""Property: whatever a user types for a numeric setting of any registered pairing (NaN, +-inf,
negative, zero, huge, the wrong type), :func:`mbrl_zoo.config.resolve` either accepts it or
refuses it with a UserError naming ``section.key``; and the command line then either runs a
couple of steps or exits 2 leaving no folder behind, never with a traceback.

Every numeric field of every section of every pairing meets the classic bad values below; then
``hypothesis`` draws more (any float, any integer, lists, text). The default run draws few examples
(derandomised, so it repeats); the tests marked slow draw many more, at random.
"""

import contextlib
import io
import json
import math
import tempfile
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import mbrl_zoo.app  # noqa: F401  (registers every component)
from mbrl_zoo.app.cli import main
from mbrl_zoo.config import RunSettings, parse_set, resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, MODELS, PAIRINGS, PLANNERS
from mbrl_zoo.settings import show

SECTIONS = {"run": None, "model": None, "planner": None, "algorithm": None}
"""Section -> None when every bad value must be handled, or the reason its cases may still fail
(they run as xfail(strict=False)): covering the algorithm section is setting its value to None."""

CLASSIC = [math.nan, math.inf, -math.inf, 0, -1, -0.5, 10**18, 1e300, "text", True, [1, 1]]
"""Bad values every numeric field meets: NaN, infinities, zero, negatives, huge, wrong types."""

FAST = settings(max_examples=12, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
DEEP = settings(max_examples=400, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A command-line example costs up to seconds and its values are a short list already, so a
# failing one is reported as drawn rather than shrunk.
FAST_CLI = settings(FAST, max_examples=6, phases=[Phase.explicit, Phase.generate])
DEEP_CLI = settings(DEEP, max_examples=40, phases=[Phase.explicit, Phase.generate])

ANY_VALUE = st.one_of(st.sampled_from(CLASSIC), st.floats(), st.integers(), st.text(max_size=4),
                      st.lists(st.integers(-3, 10**9), max_size=4), st.booleans(), st.none())


def _is_numeric(annotation) -> bool:
    """int or float, alone, optional or as tuple elements (bool is neither)."""
    if annotation in (int, float):
        return True
    return any(_is_numeric(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis)


def _config_class(pairing: str, section: str):
    """The settings dataclass ``section`` of ``pairing`` resolves to (None: it uses none)."""
    defaults = resolve(pairing)
    if section == "run":
        return RunSettings
    if section == "algorithm":
        return ALGORITHMS.get(defaults.algorithm_name).config_class()
    name = getattr(defaults, f"{section}_name")
    return None if name is None else (MODELS if section == "model" else PLANNERS).get(name).config_class()


def _numeric_keys(pairing: str, section: str) -> list[str]:
    cls = _config_class(pairing, section)
    return [] if cls is None else [k for k, v in typing.get_type_hints(cls).items() if _is_numeric(v)]


def _marks(section: str) -> list:
    pending = SECTIONS[section]
    return [pytest.mark.xfail(reason=pending, strict=False)] if pending else []


def _params() -> list:
    """pytest params over pairings x sections that have numeric settings, pending ones xfail."""
    return [pytest.param(pairing, section, marks=_marks(section), id=f"{pairing}-{section}")
            for pairing in PAIRINGS.names() for section in SECTIONS if _numeric_keys(pairing, section)]


def accepted_or_refused_by_name(pairing: str, section: str, key: str, value) -> bool:
    """Resolve ``pairing`` with ``section.key = value``: True if accepted; a refusal must be a
    UserError naming ``section.key``; anything else fails the test."""
    try:
        resolve(pairing, {section: {key: value}})
    except UserError as exc:
        assert f"{section}.{key}" in str(exc), f"{section}.{key}={show(value)}: {exc}"
        return False
    return True


@pytest.mark.parametrize("pairing, section", _params())
def test_every_numeric_setting_meets_the_classic_bad_values(pairing, section):
    for key in _numeric_keys(pairing, section):
        refused = [not accepted_or_refused_by_name(pairing, section, key, value) for value in CLASSIC]
        assert refused[CLASSIC.index(math.nan)] and refused[CLASSIC.index("text")], f"{key}: NaN and text pass"


def _drawn(pairing: str, section: str, data) -> None:
    key = data.draw(st.sampled_from(_numeric_keys(pairing, section)), label="key")
    accepted_or_refused_by_name(pairing, section, key, data.draw(ANY_VALUE, label="value"))


@pytest.mark.parametrize("pairing, section", _params())
@FAST
@given(data=st.data())
def test_any_value_is_accepted_or_refused_by_name(pairing, section, data):
    _drawn(pairing, section, data)


@pytest.mark.slow
@pytest.mark.parametrize("pairing, section", _params())
@DEEP
@given(data=st.data())
def test_any_value_is_accepted_or_refused_by_name_deep(pairing, section, data):
    _drawn(pairing, section, data)


def as_typed(value) -> str:
    """``value`` as a user types it after ``--set key=``."""
    if isinstance(value, (bool, list)) or value is None:
        return json.dumps(value)
    return repr(value) if isinstance(value, float) else str(value)


def _command_line_case(section: str, data) -> None:
    """One drawn pairing, key and classic bad value through ``mbrl-zoo run ... --steps 2``."""
    pairing = data.draw(st.sampled_from([p for p in PAIRINGS.names() if _numeric_keys(p, section)]), label="pairing")
    # run.steps is the budget itself, which --steps 2 overrides: the run section keeps only the seed.
    keys = [k for k in _numeric_keys(pairing, section) if (section, k) != ("run", "steps")]
    key = data.draw(st.sampled_from(keys), label="key")
    value = data.draw(st.sampled_from(CLASSIC), label="value")
    assignment = f"{section}.{key}={as_typed(value)}"
    parsed = parse_set([assignment])[section][key]
    assert parsed == value or (isinstance(value, float) and math.isnan(value) and math.isnan(parsed))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["run", pairing, "--steps", "2", "--quiet", "--out", str(out), "--set", assignment])
        assert code in (0, 2), f"{assignment}: exit {code}: {err.getvalue()}"
        if code == 2:
            assert not out.exists(), f"{assignment} left {sorted(p.name for p in out.iterdir())}"
            assert err.getvalue().count("error:") == 1 and "Traceback" not in err.getvalue()
        else:
            assert (out / "metrics.csv").exists()


def _section_params() -> list:
    return [pytest.param(section, marks=_marks(section)) for section in SECTIONS]


@pytest.mark.parametrize("section", _section_params())
@FAST_CLI
@given(data=st.data())
def test_the_command_line_runs_or_exits_2_leaving_nothing(section, data):
    _command_line_case(section, data)


@pytest.mark.slow
@pytest.mark.parametrize("section", _section_params())
@DEEP_CLI
@given(data=st.data())
def test_the_command_line_runs_or_exits_2_leaving_nothing_deep(section, data):
    _command_line_case(section, data)
