"""The gamma-model's pairings end to end: ``gamma-mve`` (SAC on gamma-model-expanded critic
targets) and ``pets-gamma`` (PETS with a gamma-model terminal value) run a few hundred env steps
through ``resolve`` + ``Run`` and log their learners' losses; a run killed inside an episode
resumes to the same metrics as one never stopped."""

import csv

import pytest

import algorithms.gamma_mve  # noqa: F401  (registers gamma-mve)
import algorithms.loop
import algorithms.mpc  # noqa: F401  (registers pets-gamma)
from mbrl_zoo.config import resolve
from mbrl_zoo.registry import ALGORITHMS
from mbrl_zoo.runs import Run

TASK = "InvertedPendulum-v5"
SETTINGS = {
    "gamma-mve": {"algorithm": {"random_steps": 50, "gamma_warmup": 20, "gamma_batch_size": 32, "horizon": 2,
                                "hidden": [32, 32], "batch_size": 32, "eval_every": 100},
                  "model": {"hidden": 32, "layers": 2, "components": 2}},
    "pets-gamma": {"algorithm": {"random_steps": 50, "refit_every": 60, "fit_epochs": 2, "horizon": 5,
                                 "particles": 2, "value_updates": 20, "gamma_hidden": 32, "gamma_layers": 2,
                                 "gamma_components": 2, "gamma_samples": 4},
                   "model": {"hidden": 32, "layers": 2, "ensemble_size": 2, "num_elites": 2},
                   "planner": {"population_size": 20, "iterations": 2}},
}
TIMINGS = {"episode_s", "wall_s", "model_fit_s", "plan_ms_per_step"}


class Interrupted(Exception):
    pass


class InterruptedRun(Run):
    """A run that stops (as if killed) at env step 137, inside an episode."""

    def advance(self, env_step, **postfix):
        if env_step == 137:
            raise Interrupted
        super().advance(env_step, **postfix)


def train(tmp_path, pairing: str, steps: int = 200, resume: bool = False, run_class: type = Run) -> list[dict]:
    config = resolve(pairing, {"run": {"task": TASK, "seed": 1, "steps": steps}, **SETTINGS[pairing]})
    run = run_class(tmp_path, config.to_dict(), total_steps=steps, quiet=True, resume=resume)
    try:
        ALGORITHMS.get(config.algorithm_name).obj.train(config, run)
    finally:
        run.close()
    with open(tmp_path / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k not in TIMINGS} for row in csv.DictReader(f)]


@pytest.mark.parametrize("pairing, columns", [("gamma-mve", ("gamma_loss", "q_loss", "eval_return")),
                                               ("pets-gamma", ("gamma_loss", "model_loss"))])
def test_the_pairing_runs_and_logs_its_gamma_model(tmp_path, pairing, columns):
    rows = train(tmp_path, pairing)
    assert rows and int(rows[-1]["env_step"]) == 200
    for column in columns:
        values = [float(r[column]) for r in rows if r.get(column) not in (None, "")]
        assert values and all(v == v for v in values), f"no finite {column} logged"


@pytest.mark.parametrize("pairing", ["gamma-mve", "pets-gamma"])
def test_a_killed_run_resumes_to_the_same_metrics(tmp_path, monkeypatch, pairing):
    whole = train(tmp_path / "whole", pairing, steps=220)
    monkeypatch.setattr(algorithms.loop, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every step
    with pytest.raises(Interrupted):
        train(tmp_path / "split", pairing, steps=220, run_class=InterruptedRun)
    assert train(tmp_path / "split", pairing, steps=220, resume=True) == whole
