"""Every registered model x planner pairing runs a few MPC steps on every registered task, through
the same config path as ``mbrl-zoo run`` and the one acting path every planning algorithm uses
(tiny networks and populations: this checks that the pieces fit together, not that they learn);
a pairing the registry refuses is refused with its reason (the discrete planner mcts on every
continuous task, every continuous planner on every discrete task). Then every algorithm that plans or
learns a model runs two env steps with every model (and planner), or refuses the pairing before
any folder exists."""

import csv

import numpy as np
import pytest
import torch

import mbrl_zoo
import mbrl_zoo.app  # noqa: F401  (registers every component)
from mbrl_zoo.config import resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.registry import MODELS, PLANNERS, TASKS
from planners import MPCPolicy


PLANNER_SETTINGS = {
    "random-shooting": {"population_size": 6},
    "cem": {"population_size": 6, "iterations": 2, "elite_fraction": 0.5},
    "mppi": {"population_size": 6, "iterations": 1},
    "icem": {"population_size": 6, "num_elites": 2, "iterations": 2},
    "gradient": {"population_size": 2, "iterations": 2},
    "mcts": {"simulations": 2},
}
LEARNED_SETTINGS = {"ensemble_size": 2, "num_elites": 2, "hidden": 8, "layers": 1}
SHIPPED_MODELS = [e.name for e in MODELS if e.obj.__module__.startswith("mbrl_zoo.")]  # not tests' plugins
CONTINUOUS_TASKS = [name for name in TASKS.names() if not TASKS.get(name).obj.discrete]
DISCRETE_TASKS = [name for name in TASKS.names() if TASKS.get(name).obj.discrete]


def _model_settings(name: str) -> dict:
    return {"name": name, **(LEARNED_SETTINGS if "learned" in MODELS.get(name).tags else {})}


def test_the_grid_covers_every_shipped_model_and_planner():
    assert set(PLANNER_SETTINGS) == set(PLANNERS.names())
    assert {"deterministic", "gaussian", "pe", "laplace", "mixture", "fullcov-gaussian", "oracle", "gamma"} \
        <= set(SHIPPED_MODELS)


@pytest.mark.parametrize("task", CONTINUOUS_TASKS)
def test_every_model_and_planner_runs_mpc_steps_on_the_task(task):
    spec = TASKS.get(task).obj
    env = spec.make_env()
    dims, (low, high) = spec.dims(), spec.action_bounds()
    refused = []
    for model_name in SHIPPED_MODELS:
        for planner_name in PLANNERS.names():
            overrides = {"run": {"task": task}, "algorithm": {"horizon": 3, "particles": 2},
                         "model": _model_settings(model_name),
                         "planner": {"name": planner_name, **PLANNER_SETTINGS[planner_name]}}
            try:
                config = resolve("pets", overrides)
            except UserError as exc:
                if f"planner {planner_name!r} cannot work on task {task!r}" in str(exc):
                    assert (not spec.differentiable_reward and planner_name == "gradient") or \
                        (planner_name == "mcts" and "finite set of actions" in str(exc))
                    continue
                assert f"cannot work with model {model_name!r}" in str(exc)
                refused.append((model_name, planner_name))
                continue
            torch.manual_seed(0)
            try:
                model = config.make_model(*dims)
            except UserError as exc:  # the oracle on a task whose observation is not the full state
                assert model_name == "oracle" and spec.state_from_obs is None and "state_from_obs" in str(exc)
                continue
            policy = MPCPolicy(config.make_planner(low, high, config.algorithm.horizon),
                               EnvironmentModel(model, spec, config.algorithm), config.algorithm,
                               torch.Generator().manual_seed(0))
            obs, _ = env.reset(seed=0)
            for _ in range(2):
                action = policy(obs)
                assert action.shape == env.action_space.shape, (model_name, planner_name)
                assert np.all(np.isfinite(action)) and np.all(action >= low - 1e-6) \
                    and np.all(action <= high + 1e-6), (model_name, planner_name, action)
                obs, *_ = env.step(action.astype(np.float32))
    env.close()
    # Otherwise only occupancy models (no one-step contract) and the gradient planner with models it
    # cannot differentiate are refused.
    assert refused and all("occupancy" in MODELS.get(m).tags
                           or (p == "gradient" and "differentiable" not in MODELS.get(m).tags) for m, p in refused)


ALGORITHM_SETTINGS = {
    "mpc": {"random_steps": 1, "refit_every": 1, "fit_epochs": 1, "horizon": 3, "particles": 2},
    "mbmf": {"random_steps": 1, "mpc_steps": 2, "refit_every": 1, "fit_epochs": 1, "horizon": 3, "particles": 2,
             "dagger_iterations": 0, "hidden": [8], "batch_size": 2, "critic_warmup_updates": 1},
    "dyna": {"random_steps": 1, "refit_every": 1, "fit_epochs": 1, "rollouts_per_step": 4, "hidden": [8],
             "batch_size": 2},
    "mbpo": {"random_steps": 1, "refit_every": 1, "fit_epochs": 1, "rollout_batch_size": 4, "hidden": [8],
             "batch_size": 2, "updates_per_step": 1},
    "mve": {"random_steps": 1, "refit_every": 1, "fit_epochs": 1, "hidden": [8], "batch_size": 2},
    "steve": {"random_steps": 1, "refit_every": 1, "fit_epochs": 1, "hidden": [8], "batch_size": 2},
}
PAIRING_OF = {"mpc": "pets", "mbmf": "mbmf", "dyna": "dyna", "mbpo": "mbpo", "mve": "mve", "steve": "steve"}


def _cases():
    """Every algorithm with every model and every planner; those beyond each algorithm's own
    planner with every model, and every planner with the deterministic model, are marked slow."""
    for algorithm, pairing in PAIRING_OF.items():
        planners = [p for p in PLANNERS.names() if p != "mcts"] if algorithm in ("mpc", "mbmf") else [None]
        for model in SHIPPED_MODELS:
            for planner in planners:
                quick = planner in (None, "cem") or model == "deterministic"
                yield pytest.param(algorithm, pairing, model, planner, marks=() if quick else pytest.mark.slow)


@pytest.mark.parametrize("algorithm, pairing, model, planner", list(_cases()))
def test_every_model_and_planner_trains_two_steps_under_every_model_based_algorithm(
        tmp_path, algorithm, pairing, model, planner):
    overrides = {"algorithm": dict(ALGORITHM_SETTINGS[algorithm]),
                 "model": {**_model_settings(model), **({"hidden": 8} if "learned" in MODELS.get(model).tags else {})}}
    if planner is not None:
        overrides["planner"] = {"name": planner, **PLANNER_SETTINGS[planner]}
    out = tmp_path / "run"
    try:
        mbrl_zoo.train(pairing, "cartpole-swingup", steps=2, out=out, overrides=overrides, quiet=True)
    except UserError as exc:
        assert not out.exists(), "a refused pairing leaves no folder"
        assert "occupancy" in MODELS.get(model).tags or (planner == "gradient" and "differentiable" not in
                                                         MODELS.get(model).tags), str(exc)
        return
    with open(out / "metrics.csv") as f:
        assert int(list(csv.DictReader(f))[-1]["env_step"]) == 2


@pytest.mark.parametrize("task", DISCRETE_TASKS)
def test_every_planner_or_algorithm_for_continuous_actions_is_refused_on_a_discrete_task(task):
    spec = TASKS.get(task).obj
    for planner_name in PLANNERS.names():
        with pytest.raises(UserError) as error:
            resolve("pets", {"run": {"task": task}, "planner": {"name": planner_name}})
        refuser = "algorithm 'mpc'" if planner_name == "mcts" else f"planner {planner_name!r}"
        assert f"{refuser} cannot work on task {task!r}" in str(error.value)
        assert f"{spec.num_actions} discrete actions" in str(error.value)
