import types
from dataclasses import dataclass
from typing import Literal

import pytest

from planners.base import Planner
from mbrl_zoo.config import coerce, load_yaml, merge, parse_set, resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, MODELS, PAIRINGS, PLANNERS, TASKS, Pairing, register_pairing
from mbrl_zoo.tasks.spec import TaskSpec


@dataclass(frozen=True)
class AlgoConfig:
    horizon: int = 15
    discount: float = 0.99
    propagation: Literal["ts1", "tsinf", "expectation"] = "tsinf"


class TinyModel:
    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 32, ensemble_size: int = 1,
                 layers: tuple[int, ...] = (32, 32)):
        pass


class TinyPlanner(Planner):
    def __init__(self, action_low, action_high, horizon: int, population_size: int = 100,
                 temperature: float | None = None):
        pass


@pytest.fixture(autouse=True)
def components():
    algo = types.SimpleNamespace(Config=AlgoConfig, __doc__="test algorithm")
    ALGORITHMS.add("_algo", algo, requires={"model", "planner"})
    MODELS.add("_model", TinyModel, tags={"learned"})
    MODELS.add("_other_model", TinyModel, tags={"learned"})
    PLANNERS.add("_planner", TinyPlanner)
    TASKS.add("_task", TaskSpec(name="_task", env_id="Pendulum-v1", reward_fn=None))
    register_pairing(Pairing("_pair", "_algo", "_model", "_planner",
                             {"model": {"hidden": 64}, "planner": {"population_size": 50}},
                             task_settings={"_task": {"algorithm": {"horizon": 30}, "model": {"hidden": 128}}}))
    TASKS.add("_task2", TaskSpec(name="_task2", env_id="Pendulum-v1", reward_fn=None))
    yield
    for reg, name in ((ALGORITHMS, "_algo"), (MODELS, "_model"), (MODELS, "_other_model"),
                      (PLANNERS, "_planner"), (TASKS, "_task"), (TASKS, "_task2"), (PAIRINGS, "_pair")):
        reg.remove(name)


def test_pairing_defaults_then_task_preset_then_overrides_in_order():
    cfg = resolve("_pair", {"run": {"task": "_task2"}})
    assert (cfg.model.hidden, cfg.planner.population_size, cfg.algorithm.horizon) == (64, 50, 15)
    cfg = resolve("_pair", {"run": {"task": "_task"}})
    assert (cfg.model.hidden, cfg.planner.population_size, cfg.algorithm.horizon) == (128, 50, 30)
    cfg = resolve("_pair", {"run": {"task": "_task"}, "algorithm": {"horizon": 7}})
    assert cfg.algorithm.horizon == 7
    over = merge({"planner": {"population_size": 70}}, parse_set(["planner.population_size=200",
                                                                 "algorithm.discount=0.9", "run.task=_task"]))
    cfg = resolve("_pair", over)
    assert (cfg.planner.population_size, cfg.algorithm.discount) == (200, 0.9)


def test_to_dict_round_trips_through_resolve():
    cfg = resolve("_pair", parse_set(["run.task=_task", "model.layers=[8, 8, 8]", "planner.temperature=0.5"]))
    d = cfg.to_dict()
    assert d["model"] == {"name": "_model", "hidden": 128, "ensemble_size": 1, "layers": (8, 8, 8)}
    overrides = {k: v for k, v in d.items() if k != "pairing"}
    assert resolve("_pair", overrides) == cfg


def test_switching_model_drops_pairing_settings_for_old_model():
    cfg = resolve("_pair", parse_set(["run.task=_task", "model.name=_other_model"]))
    assert (cfg.model_name, cfg.model.hidden) == ("_other_model", 32)
    assert cfg.algorithm.horizon == 30  # the algorithm's preset still applies


@pytest.mark.parametrize("assignment, message", [
    ("planner.populaton_size=5", "unknown key planner.populaton_size; valid keys of planner"),
    ("planner.populaton_size=5", "Did you mean planner.population_size?"),
    ("planner.population_size=lots", "planner.population_size='lots' has the wrong type (str); expected int"),
    ("planner.population_size=2.5", "expected int"),
    ("algorithm.propagation=ts2", "choose one of: 'ts1', 'tsinf', 'expectation'"),
    ("model.layers=7", "expected tuple"),
    ("optimizer.lr=3", "unknown config section 'optimizer'"),
    ("run.task=Cheetah", "unknown task 'Cheetah'"),
    ("model.name=gausian", "unknown model 'gausian'"),
    ("planner.population_size", "not of the form SECTION.KEY=VALUE"),
])
def test_bad_overrides_name_key_and_valid_choices(assignment, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        resolve("_pair", merge({"run": {"task": "_task"}}, parse_set([assignment])))


def test_valid_keys_are_listed():
    with pytest.raises(UserError) as info:
        resolve("_pair", {"run": {"task": "_task"}, "model": {"hiden": 3}})
    assert "ensemble_size, hidden, layers, name" not in str(info.value)
    assert "valid keys of model (ModelConfig): ensemble_size, hidden, layers" in str(info.value)


def test_coerce_rules():
    assert coerce(3, float, "k") == 3.0 and isinstance(coerce(3, float, "k"), float)
    assert coerce(None, float | None, "k") is None
    assert coerce([1, 2], tuple[int, ...], "k") == (1, 2)
    with pytest.raises(UserError):
        coerce(1, bool, "k")
    with pytest.raises(UserError):
        coerce(True, int, "k")


def test_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("planner:\n  population_size: 77\nrun:\n  task: _task\n")
    assert resolve("_pair", load_yaml(path)).planner.population_size == 77
    path.write_text("- just a list\n")
    with pytest.raises(UserError, match="must map sections"):
        load_yaml(path)
    with pytest.raises(UserError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")


def test_exponent_floats_without_a_dot_read_as_floats_everywhere(tmp_path):
    # YAML 1.1 reads 5e-5 as text; JSON, YAML 1.2 and Python's repr all write it so.
    from mbrl_zoo.app.sweep import load_spec, parse_grid
    from mbrl_zoo.config import read_yaml

    assert read_yaml("[5e-5, 1E3, -2.5e+2, 1.0e-3, 5, 5.0, '5e-5', e5, 1e, inf]") == [
        5e-5, 1000.0, -250.0, 1e-3, 5, 5.0, "5e-5", "e5", "1e", "inf"]
    path = tmp_path / "c.yaml"
    path.write_text('{"algorithm": {"fit_weight_decay": 5e-05}, "run": {"task": "_task"}}')
    assert load_yaml(path) == {"algorithm": {"fit_weight_decay": 5e-05}, "run": {"task": "_task"}}
    assert parse_set(["model.lr=1e-4"]) == {"model": {"lr": 1e-4}}
    assert parse_grid(["model.lr=1e-4,3e-4"]) == {"model.lr": [1e-4, 3e-4]}
    (tmp_path / "study.yaml").write_text("pairings: [rs-mpc]\ntasks: [cartpole-balance]\n"
                                         "pairing_set:\n  rs-mpc: {planner.temperature: 5e-1}\n")
    assert load_spec(tmp_path / "study.yaml").pairing_set == {"rs-mpc": {"planner.temperature": 0.5}}
