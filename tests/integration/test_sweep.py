"""``mbrl-zoo sweep``: a grid of pairings x tasks x seeds gives one folder per cell, a summary row
per cell and a curves plot; bad input leaves nothing; re-running resumes; worker processes, a Ray
the sweep starts itself and a Ray cluster started by hand give the same numbers as running the
cells one after another."""

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mbrl_zoo.app.cli import main
from mbrl_zoo.app.sweep import RAY_LOOPBACK_SWITCH

# Every Ray of these tests, and this process's side of it, stays on 127.0.0.1; Ray reads the
# switch when it is first imported, so it is set before any test runs.
os.environ[RAY_LOOPBACK_SWITCH] = "0"

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


RS_GRID = ["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1", *TINY]


@pytest.fixture(scope="module")
def pool_summary(tmp_path_factory):
    """The summary of a two-cell grid run by two local worker processes."""
    out = tmp_path_factory.mktemp("pool")
    assert main([*RS_GRID, "--out", str(out), "--workers", "2"]) == 0
    return _summary(out)


def test_worker_processes_give_the_same_numbers(tmp_path, pool_summary):
    assert main([*RS_GRID, "--out", str(tmp_path / "a")]) == 0
    assert _summary(tmp_path / "a") == pool_summary


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


def test_a_local_ray_gives_the_same_numbers_and_is_stopped_after(tmp_path, pool_summary):
    assert main([*RS_GRID, "--out", str(tmp_path / "r"), "--ray"]) == 0
    assert _summary(tmp_path / "r") == pool_summary
    import ray  # with the dev extra

    assert not ray.is_initialized()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path):
    """A one-node Ray cluster started as a user would (``ray start --head``) on a free port of
    127.0.0.1; yields its address and stops it after the test.

    ``--block`` keeps the head in the foreground, so that ending that one process stops this
    cluster only (``ray stop`` would stop every Ray of the machine)."""
    ray_cli = Path(sys.executable).with_name("ray")
    port = _free_port()
    log = tmp_path / "ray_head.log"
    with open(log, "w") as out:
        head = subprocess.Popen(
            [str(ray_cli if ray_cli.exists() else "ray"), "start", "--head", "--block", f"--port={port}",
             "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def test_a_ray_cluster_at_an_address_gives_the_same_numbers(tmp_path, pool_summary, ray_head):
    assert main([*RS_GRID, "--out", str(tmp_path / "c"), "--ray", ray_head]) == 0
    assert _summary(tmp_path / "c") == pool_summary
