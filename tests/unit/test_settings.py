"""Declared settings: ranges, finiteness, index lists and cross-field rules, each refusal naming
``section.key``, the value and what is allowed; every built-in model and planner declares them."""

import dataclasses
import math
from dataclasses import dataclass

import pytest

import mbrl_zoo.app  # noqa: F401  (registers every component)
from mbrl_zoo.config import merge, parse_set, resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import MODELS, PLANNERS
from mbrl_zoo.settings import SettingError, build_dataclass, parse_range, rule_of, setting


@dataclass(frozen=True)
class Example:
    size: int = setting(4, ">= 1")
    fraction: float = setting(0.5, "(0, 1]")
    momentum: float = setting(0.1, "[0, 1)")
    seed: int = setting(0, "[0, 2**32)", note="env resets take non-negative seeds")
    widths: tuple[int, ...] = setting((8, 8), ">= 1", nonempty=True)
    dims: tuple[int, ...] | None = setting(None, ">= 0", unique=True)
    scale: float = 1.0
    unbounded: float = setting(math.inf, finite=False)
    smaller: int = setting(2, ">= 1")

    def __post_init__(self):
        if self.smaller > self.size:
            raise SettingError({"smaller": self.smaller, "size": self.size}, "smaller must be at most size")


@dataclass(frozen=True)
class Derived(Example):
    size: int = 16


@pytest.mark.parametrize("values, message", [
    ({"size": 0}, "part.size=0 is not allowed: it must be >= 1."),
    ({"fraction": 0.0}, "part.fraction=0.0 is not allowed: it must lie in (0, 1]."),
    ({"momentum": 1}, "part.momentum=1.0 is not allowed: it must lie in [0, 1)."),
    ({"momentum": float("nan")}, "part.momentum=nan is not allowed: it must be a finite number in [0, 1)."),
    ({"scale": float("inf")}, "part.scale=inf is not allowed: it must be a finite number."),
    ({"scale": -math.inf}, "part.scale=-inf is not allowed: it must be a finite number."),
    ({"seed": 2**32}, "part.seed=4294967296 is not allowed: it must lie in [0, 2**32) (env resets take non-negative "
                      "seeds)."),
    ({"widths": [8, 0]}, "part.widths=[8, 0] is not allowed: every element must be >= 1."),
    ({"widths": []}, "part.widths=[] is not allowed: it needs at least one element."),
    ({"dims": [1, 3, 1]}, "part.dims=[1, 3, 1] is not allowed: each element may appear once, and 1 repeats."),
    ({"dims": [-1]}, "part.dims=[-1] is not allowed: every element must be >= 0."),
    ({"smaller": 5}, "part.smaller=5, part.size=4 are not allowed together: smaller must be at most size."),
    ({"scale": 10**400}, "part.scale=" + str(10**400) + " is too large for a float"),
    ({"size": "4"}, "part.size='4' has the wrong type (str); expected int."),
    ({"sise": 4}, "unknown key part.sise; valid keys of part (Example): dims, fraction, momentum, scale, seed, "
                  "size, smaller, unbounded, widths. Did you mean part.size?"),
])
def test_each_refusal_names_the_key_the_value_and_what_is_allowed(values, message):
    with pytest.raises(UserError) as info:
        build_dataclass(Example, values, "part")
    assert str(info.value).startswith(message), str(info.value)


def test_values_inside_their_ranges_are_kept():
    built = build_dataclass(Example, {"size": 1, "smaller": 1, "fraction": 1, "momentum": 0, "seed": 2**32 - 1,
                                      "dims": [0, 2], "widths": [1], "unbounded": -math.inf}, "part")
    assert (built.size, built.fraction, built.momentum, built.dims, built.widths) == (1, 1.0, 0.0, (0, 2), (1,))
    assert built.unbounded == -math.inf and build_dataclass(Example, {"dims": None}, "part").dims is None


def test_a_subclass_overriding_a_default_keeps_the_parents_range():
    assert build_dataclass(Derived, {}, "part").size == 16
    assert rule_of(Derived, "size") is rule_of(Example, "size")
    with pytest.raises(UserError, match=r"part\.size=0 is not allowed: it must be >= 1"):
        build_dataclass(Derived, {"size": 0}, "part")


def test_a_default_outside_its_own_range_is_refused_by_name():
    @dataclass(frozen=True)
    class Broken:
        rate: float = setting(-1.0, "> 0")

    with pytest.raises(UserError, match=r"part\.rate=-1\.0 is not allowed: it must be > 0"):
        build_dataclass(Broken, {}, "part")


@pytest.mark.parametrize("text, inside, outside", [
    (">= 1", [1, 5, math.inf], [0.999, -1]),
    ("> 0", [1e-300, 3], [0, -1e-300]),
    ("< 1", [0.99, -5], [1, 2]),
    ("<= 10", [10, -3], [10.5]),
    ("[0, 1)", [0, 0.5], [1, -0.1]),
    ("(0, 1]", [1, 1e-9], [0, 1.1]),
    ("[0, 2**32)", [0, 2**32 - 1], [2**32, -1]),
    ("[-inf, 0]", [-math.inf, 0], [1e-9]),
])
def test_ranges_parse_comparisons_and_intervals(text, inside, outside):
    rule = parse_range(text)
    assert all(v in rule for v in inside) and not any(v in rule for v in outside)


@pytest.mark.parametrize("text", ["=> 1", "[1, 0]", "(0 1)", "> one", ""])
def test_a_malformed_range_fails_where_it_is_declared(text):
    with pytest.raises(ValueError, match="setting range"):
        setting(1, text)


def test_number_literals_that_yaml_leaves_as_text_are_floats_on_the_command_line():
    parsed = parse_set(["planner.learning_rate=1e-3", "planner.temperature=nan", "model.hidden=-inf",
                        "run.task=cartpole-swingup", "planner.x=1e3x"])
    assert parsed["planner"]["learning_rate"] == 1e-3 and math.isnan(parsed["planner"]["temperature"])
    assert parsed["model"]["hidden"] == -math.inf
    assert parsed["run"]["task"] == "cartpole-swingup" and parsed["planner"]["x"] == "1e3x"


@pytest.mark.parametrize("pairing, assignment, message", [
    ("pets", "model.angle_dims=[1, 1]", "model.angle_dims=[1, 1] is not allowed: each element may appear once"),
    ("pets", "model.angle_dims=[-2]", "model.angle_dims=[-2] is not allowed: every element must be >= 0"),
    ("pets", "model.hidden=0", "model.hidden=0 is not allowed: it must be >= 1"),
    ("pets", "model.num_elites=8", "model.num_elites=8, model.ensemble_size=7 are not allowed together"),
    ("pets", "planner.momentum=nan", "planner.momentum=nan is not allowed: it must be a finite number in [0, 1)"),
    ("pets", "planner.initial_std=inf", "planner.initial_std=inf is not allowed"),
    ("pets", "planner.elite_fraction=1.5", "planner.elite_fraction=1.5 is not allowed: it must lie in (0, 1]"),
    ("pets", "planner.name=gradient", None),
    ("pets", "planner.name=icem", None),
    ("rs-mpc", "planner.population_size=0", "planner.population_size=0 is not allowed: it must lie in [1, 10**7] (a "
                                            "cap that keeps one iteration's candidates in memory)"),
    ("oracle-cem", "planner.iterations=1e18", "planner.iterations=1000000000000000000 is not allowed: it must lie in "
                                             "[1, 10**5]"),
    ("sac", "algorithm.lr=nan", "algorithm.lr=nan is not allowed: it must be a finite number"),
    ("sac", "algorithm.target_entropy=-inf", "algorithm.target_entropy=-inf is not allowed"),
    ("pets", "run.seed=-1", "run.seed=-1 is not allowed: it must lie in [0, 2**32)"),
    ("pets", "run.steps=0", "run.steps=0 is not allowed: it must be >= 1 (environment steps in all, --steps)"),
])
def test_bad_values_of_built_in_components_are_refused_when_the_config_is_resolved(pairing, assignment, message):
    overrides = parse_set([assignment])
    if message is None:  # switching the planner: its own defaults must pass its own rules
        resolve(pairing, overrides)
        return
    with pytest.raises(UserError) as info:
        resolve(pairing, overrides)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("assignments, message", [
    (["planner.name=gradient", "planner.learning_rate=-1"], "planner.learning_rate=-1.0 is not allowed: it must lie in (0, 100]"),
    (["planner.name=icem", "planner.num_elites=400"], "planner.num_elites=400, planner.population_size=300 are not "
                                                      "allowed together"),
    (["planner.name=mppi", "planner.smoothing=1"], "planner.smoothing=1.0 is not allowed: it must lie in [0, 1)"),
    (["model.name=mixture", "model.components=0"], "model.components=0 is not allowed: it must be >= 1"),
])
def test_each_planners_and_models_own_ranges_apply_after_switching_to_it(assignments, message):
    with pytest.raises(UserError) as info:
        resolve("pets", merge({"run": {"task": "InvertedPendulum-v5"}}, parse_set(assignments)))
    assert str(info.value).startswith(message), str(info.value)


BUILT_IN = {"models": ["deterministic", "gaussian", "pe", "laplace", "mixture", "fullcov-gaussian", "oracle", "gamma"],
            "planners": ["random-shooting", "cem", "mppi", "icem", "gradient"]}


@pytest.mark.parametrize("registry, name", [(MODELS, n) for n in BUILT_IN["models"]]
                         + [(PLANNERS, n) for n in BUILT_IN["planners"]])
def test_every_built_in_model_and_planner_declares_its_config(registry, name):
    """Each has an explicit frozen Config dataclass (nothing synthesised from its signature)
    whose every numeric field declares a range, and whose defaults pass their own rules."""
    entry = registry.get(name)
    config = entry.obj.Config
    assert entry.config_class() is config and dataclasses.is_dataclass(config)
    assert config.__dataclass_params__.frozen
    build_dataclass(config, {}, registry.kind)
    for field in dataclasses.fields(config):
        if field.type in ("int", "float", "int | None", "tuple[int, ...] | None"):
            assert rule_of(config, field.name).range is not None, f"{name}: {field.name} declares no range"
