"""``mbrl-zoo sweep``: a grid of pairings x tasks x seeds gives one folder per cell, a summary row
per cell and a curves plot; bad input leaves nothing; re-running resumes; processes and Ray give
the same numbers as running the cells one after another."""

import csv
import importlib.util

import pytest

from mbrl_zoo.app.cli import main

TINY = ["--steps", "60", "--quiet", "--set", "algorithm.random_steps=20", "--set", "algorithm.horizon=4",
        "--set", "algorithm.fit_epochs=2", "--set", "planner.population_size=16", "--set", "model.hidden=16"]


def _summary(folder):
    with open(folder / "summary.csv") as f:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(f)]


def _sweep(out, *extra):
    return main(["sweep", "--pairings", "pets", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1",
                 "--out", str(out), *TINY, *extra])


def test_sweep_writes_every_cell_a_summary_and_curves_and_resumes(tmp_path, capsys):
    assert _sweep(tmp_path / "s") == 0
    rows = _summary(tmp_path / "s")
    assert [(r["pairing"], r["seed"]) for r in rows] == [("pets", "0"), ("pets", "1"), ("rs-mpc", "0"), ("rs-mpc", "1")]
    for row in rows:
        cell = tmp_path / "s" / row["pairing"] / "cartpole-balance" / f"seed{row['seed']}"
        with open(cell / "metrics.csv") as f:
            metrics = list(csv.DictReader(f))
        assert int(row["episodes"]) == len(metrics) and int(row["env_steps"]) == int(metrics[-1]["env_step"]) == 60
        returns = [float(m["return"]) for m in metrics]
        assert float(row["best_return"]) == max(returns)
        assert float(row["final_return"]) == pytest.approx(sum(returns[-5:]) / len(returns[-5:]))
    assert (tmp_path / "s" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "summary:" in capsys.readouterr().out

    before = (tmp_path / "s" / "pets" / "cartpole-balance" / "seed0" / "metrics.csv").read_text()
    assert _sweep(tmp_path / "s") == 0  # finished cells are resumed and stop at once
    assert _summary(tmp_path / "s") == rows
    assert (tmp_path / "s" / "pets" / "cartpole-balance" / "seed0" / "metrics.csv").read_text() == before

    # Cells it cannot continue are refused before any cell runs: a smaller budget, other settings.
    for extra, message in ((["--steps", "30"], "it already has 60 env steps, more than --steps 30"),
                           (["--set", "planner.iterations=2"], "settings differ from the saved run")):
        assert _sweep(tmp_path / "s", *extra) == 2
        assert message in capsys.readouterr().err
        assert (tmp_path / "s" / "pets" / "cartpole-balance" / "seed0" / "metrics.csv").read_text() == before


def test_worker_processes_give_the_same_numbers(tmp_path):
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1",
                 "--out", str(tmp_path / "a"), *TINY]) == 0
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1",
                 "--out", str(tmp_path / "b"), "--workers", "2", *TINY]) == 0
    assert _summary(tmp_path / "a") == _summary(tmp_path / "b")


@pytest.mark.parametrize("argv, message", [
    (["--pairings", "petz", "--tasks", "cartpole-balance"], "unknown pairing 'petz'"),
    (["--pairings", "pets", "sac", "--tasks", "cartpole-balance", "--set", "planner.iterations=2"],
     "pairing 'sac' uses no planner"),
    (["--pairings", "pets", "--tasks", "cartpole-balance", "Hopper"], "unknown task 'Hopper'"),
    (["--pairings", "pets", "--tasks", "cartpole-balance", "--workers", "0"], "workers must be >= 1"),
    (["--pairings", "pets", "--tasks", "cartpole-balance", "--seeds", "0", "1", "0"],
     "--seeds names 0 more than once"),
])
def test_bad_sweeps_exit_2_before_writing_anything(argv, message, tmp_path, capsys):
    assert main(["sweep", *argv, "--out", str(tmp_path / "s")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is an optional extra")
def test_ray_gives_the_same_numbers(tmp_path):
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1",
                 "--out", str(tmp_path / "a"), *TINY]) == 0
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1",
                 "--out", str(tmp_path / "b"), "--ray", *TINY]) == 0
    assert _summary(tmp_path / "a") == _summary(tmp_path / "b")
