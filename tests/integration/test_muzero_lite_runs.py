"""Both MuZero-lite pairings run a few steps end to end on CartPole-v1 (and oracle-mcts on Acrobot-v1); the search-use switches
of Hamrick et al. 2021 choose the depth of each search; a run killed mid-episode resumes to the
same metrics; bad input exits 2 and leaves no folder."""

import csv

import pytest

import algorithms.loop
import algorithms.muzero_lite as muzero_lite
import mbrl_zoo
from mbrl_zoo.app.cli import main
from mbrl_zoo.runs import Run

SMALL = {"algorithm": {"batch_size": 8, "td_steps": 3, "hidden": [8], "random_steps": 20, "refit_every": 20,
                       "fit_epochs": 2, "eval_every": 30, "eval_simulations": 2},
         "planner": {"simulations": 4, "max_depth": 3}}
MODEL = {"hidden": 16, "layers": 2}


def run(folder, pairing: str, steps: int = 60, resume: bool = False, task: str = "CartPole-v1",
        **algorithm) -> list[dict]:
    overrides = {"algorithm": {**SMALL["algorithm"], **algorithm}, "planner": SMALL["planner"],
                 **({"model": MODEL} if pairing == "mcts-model" else {})}
    mbrl_zoo.train(pairing, task, steps=steps, seed=3, out=folder, overrides=overrides, quiet=True, resume=resume)
    with open(folder / "metrics.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("pairing, task", [("mcts-model", "CartPole-v1"), ("oracle-mcts", "CartPole-v1"),
                                           ("oracle-mcts", "Acrobot-v1")])
def test_pairing_runs_learns_and_evaluates(tmp_path, pairing, task):
    rows = run(tmp_path, pairing, task=task)
    assert int(rows[-1]["env_step"]) == 60 and sum(int(r["episode_steps"]) for r in rows) == 60
    assert rows[-1]["policy_loss"] and rows[-1]["value_loss"] and rows[-1]["eval_return"]
    assert ("model_loss" in rows[-1]) == (pairing == "mcts-model")


@pytest.mark.parametrize("switches, acting, targets, evaluating", [
    ({}, 3, 3, 3),                                                                     # Learn+Data+Eval
    ({"search_eval": False}, 3, 3, 1),                                                 # Learn+Data
    ({"search_learn": False, "search_eval": False}, 3, 1, 1),                          # Data
    ({"search_data": False, "search_eval": False}, 1, 3, 1),                           # Learn
    ({"search_learn": False, "search_data": False, "search_eval": False}, 1, 1, 1),    # One-Step
])
def test_search_switches_choose_the_depth_of_each_search(tmp_path, monkeypatch, switches, acting, targets, evaluating):
    calls = []
    search = muzero_lite.search

    def spy(root, step_fn, prior_fn, value_fn, config, generator):
        calls.append((config.max_depth, config.simulations, config.dirichlet_fraction))
        return search(root, step_fn, prior_fn, value_fn, config, generator)

    monkeypatch.setattr(muzero_lite, "search", spy)
    run(tmp_path, "oracle-mcts", steps=30, random_steps=0, **switches)
    training = [c for c in calls if c[1] == 4]
    assert {c[1:] for c in calls if c not in training} == {(2, 0.0)}  # evaluation: B' = 2, no root noise
    assert {c[0] for c in calls if c not in training} == {evaluating}
    expected = [acting] if acting == targets else [acting, targets]
    assert [c[0] for c in training] == expected * 30


class Killed(Exception):
    pass


@pytest.mark.parametrize("pairing", ["mcts-model", "oracle-mcts"])
def test_resume_after_a_kill_reaches_the_same_metrics(tmp_path, monkeypatch, pairing):
    monkeypatch.setattr(algorithms.loop, "CHECKPOINT_EVERY_S", 0.0)
    whole = run(tmp_path / "whole", pairing)
    advance = Run.advance

    def dies(self, env_step, **postfix):
        advance(self, env_step, **postfix)
        if env_step == int(whole[0]["env_step"]) + 3:
            raise Killed

    monkeypatch.setattr(Run, "advance", dies)
    with pytest.raises(Killed):
        run(tmp_path / "cut", pairing)
    monkeypatch.setattr(Run, "advance", advance)
    resumed = run(tmp_path / "cut", pairing, resume=True)
    drop = ("episode_s", "wall_s", "model_fit_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed] == \
        [{k: v for k, v in r.items() if k not in drop} for r in whole]


@pytest.mark.parametrize("argv, message", [
    (["--set", "planner.simulations=0"], "planner.simulations=0 is not allowed"),
    (["--set", "planner.max_depth=0"], "planner.max_depth=0 is not allowed"),
    (["--set", "planner.temperature=-0.5"], "planner.temperature=-0.5 is not allowed: it must be >= 0"),
    (["--task", "cartpole-balance-discrete"], "not for 'cartpole-balance-discrete'"),
    (["--task", "Pendulum-v1"], "cannot work on task 'Pendulum-v1'"),
])
def test_bad_input_exits_2_before_any_folder(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    args = ["--task", "CartPole-v1", *argv] if "--task" not in argv else argv
    assert main(["run", "oracle-mcts", *args, "--steps", "10", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_a_saved_agent_is_evaluated_at_any_search_budget(tmp_path):
    run(tmp_path, "oracle-mcts", steps=40, random_steps=0)
    first = muzero_lite.evaluate_run(tmp_path, simulations=3, episodes=2)
    assert len(first) == 2 and all(1 <= r <= 500 for r in first)
    assert muzero_lite.evaluate_run(tmp_path, simulations=3, episodes=2) == first  # seeded: the same episodes
