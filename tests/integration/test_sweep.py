"""``mbrl-zoo sweep``: a grid of pairings x tasks x seeds gives one folder per cell, a summary row
per cell and a curves plot; bad input leaves nothing; re-running resumes; processes and Ray give
the same numbers as running the cells one after another."""

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
from mbrl_zoo.results import read_machine

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
        # Episodes that ended within the random warm-up (algorithm.random_steps=20) or were cut by
        # the step budget (cut == 1, where metrics.csv has the column) do not count.
        returns = [float(m["return"]) for m in metrics
                   if int(m["env_step"]) > 20 and float(m.get("cut") or 0) != 1]
        assert float(row["best_return"]) == max(returns)
        assert float(row["final_return"]) == pytest.approx(sum(returns[-5:]) / len(returns[-5:]))
    assert (tmp_path / "s" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "summary:" in capsys.readouterr().out

    before = (tmp_path / "s" / "pets" / "cartpole-balance" / "seed0" / "metrics.csv").read_text()
    assert _sweep(tmp_path / "s") == 0  # finished cells are resumed and stop at once
    assert _summary(tmp_path / "s") == rows
    assert (tmp_path / "s" / "pets" / "cartpole-balance" / "seed0" / "metrics.csv").read_text() == before

    # Finished cells kept without their checkpoints (as committed results are) are skipped too.
    for seed in (0, 1):
        (tmp_path / "s" / "rs-mpc" / "cartpole-balance" / f"seed{seed}" / "checkpoint.pt").unlink()
    assert _sweep(tmp_path / "s") == 0
    assert _summary(tmp_path / "s") == rows

    # Cells it cannot continue are refused before any cell runs: a smaller budget, other settings,
    # a longer budget for a run without its checkpoint.
    for extra, message in ((["--steps", "30"], "it already has 60 env steps, more than --steps 30"),
                           (["--set", "planner.iterations=2"], "settings differ from the saved run"),
                           (["--steps", "80"], "holds a run of 60 env steps in")):
        assert _sweep(tmp_path / "s", *extra) == 2
        assert message in capsys.readouterr().err
        assert (tmp_path / "s" / "pets" / "cartpole-balance" / "seed0" / "metrics.csv").read_text() == before


RS_GRID = ["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "1", *TINY]


@pytest.fixture(scope="module")
def pool_summary(tmp_path_factory):
    """The summary of a two-cell grid run by two local worker processes, each on one torch thread
    (as its cells' machine.json say)."""
    out = tmp_path_factory.mktemp("pool")
    assert main([*RS_GRID, "--out", str(out), "--workers", "2"]) == 0
    for seed in (0, 1):
        assert read_machine(out / "rs-mpc" / "cartpole-balance" / f"seed{seed}")["threads"] == 1
    return _summary(out)


def test_worker_processes_give_the_same_numbers(tmp_path, pool_summary):
    assert main([*RS_GRID, "--out", str(tmp_path / "a")]) == 0
    assert _summary(tmp_path / "a") == pool_summary


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux's /proc")
def test_a_terminated_sweep_stops_its_workers_and_resumes(tmp_path):
    """SIGTERM to a sweep running cells in worker processes (as `kill` or a batch scheduler sends
    it, to the parent alone) stops the workers at once, not after their cells, and leaves each
    cell a checkpoint to resume from."""
    out = tmp_path / "s"
    argv = [sys.executable, "-m", "mbrl_zoo", *RS_GRID, "--steps", "100000", "--out", str(out), "--workers", "2"]
    sweep = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        checkpoints = [out / "rs-mpc" / "cartpole-balance" / f"seed{seed}" / "checkpoint.pt" for seed in (0, 1)]
        deadline = time.monotonic() + 120
        while not all(c.exists() for c in checkpoints):
            assert sweep.poll() is None and time.monotonic() < deadline, sweep.stderr.read() if sweep.poll() else ""
            time.sleep(0.2)
        workers = _children(sweep.pid)
        assert len(workers) >= 2
        sweep.send_signal(signal.SIGTERM)
        assert sweep.wait(timeout=30) == 128 + signal.SIGTERM
        assert "run the same command again to resume" in sweep.stderr.read()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        for pid in [sweep.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert all(c.exists() for c in checkpoints)


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


GRID_SETTINGS = {"algorithm.random_steps": 20, "algorithm.horizon": 4, "algorithm.fit_epochs": 2, "model.hidden": 16}


def _spec(path, sizes):
    lines = ["pairings: [rs-mpc]", "tasks: [cartpole-balance]", "seeds: [0]", "steps: 40",
             f"grid:\n  planner.population_size: {list(sizes)}",
             "set:\n" + "\n".join(f"  {k}: {v}" for k, v in GRID_SETTINGS.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_grid_and_spec_sweeps_agree_and_a_spec_sweep_resumes_skipping_finished_cells(tmp_path, capsys):
    fixed = [f"--set={k}={v}" for k, v in GRID_SETTINGS.items()]
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--seeds", "0", "--steps", "40",
                 "--grid", "planner.population_size=8,16", *fixed, "--out", str(tmp_path / "flags")]) == 0
    for size in (8, 16):
        assert (tmp_path / "flags" / "rs-mpc" / "cartpole-balance" / f"planner.population_size={size}" / "seed0"
                / "metrics.csv").is_file()
    rows = _summary(tmp_path / "flags")
    assert [r["planner.population_size"] for r in rows] == ["8", "16"]
    assert list(rows[0])[:4] == ["pairing", "task", "planner.population_size", "seed"]
    err = capsys.readouterr().err
    assert "[1/2] rs-mpc cartpole-balance planner.population_size=8 seed0: final return" in err
    assert "[2/2] rs-mpc cartpole-balance planner.population_size=16 seed0: final return" in err

    # The study's spec, first with one value: the sweep writes beside the spec.
    spec = _spec(tmp_path / "study" / "study.yaml", [8])
    assert main(["sweep", "--spec", str(spec), "--quiet"]) == 0
    first = tmp_path / "study" / "rs-mpc" / "cartpole-balance" / "planner.population_size=8" / "seed0" / "metrics.csv"
    before = first.read_text()
    capsys.readouterr()
    # Then with both: the finished cell is skipped and the summary is the one the flags gave.
    _spec(spec, [8, 16])
    assert main(["sweep", "--spec", str(spec)]) == 0
    assert first.read_text() == before
    err = capsys.readouterr().err
    assert "[1/2] rs-mpc cartpole-balance planner.population_size=8 seed0: already finished" in err
    assert "2 cells (1 already finished) in" in err
    assert _summary(tmp_path / "study") == rows


def test_pairings_tasks_and_seeds_beside_a_spec_run_a_part_of_it(tmp_path, capsys):
    spec = _spec(tmp_path / "study" / "study.yaml", [8, 16])
    assert main(["sweep", "--spec", str(spec), "--seeds", "0", "--quiet"]) == 0  # the spec's only seed
    cells = tmp_path / "study" / "rs-mpc" / "cartpole-balance"
    assert sorted(p.name for p in cells.iterdir()) == ["planner.population_size=16", "planner.population_size=8"]
    spec.write_text(spec.read_text().replace("seeds: [0]", "seeds: [0, 1]"))
    assert main(["sweep", "--spec", str(spec), "--seeds", "1", "--pairings", "rs-mpc", "--tasks", "cartpole-balance",
                 "--quiet"]) == 0
    assert [r["seed"] for r in _summary(tmp_path / "study")] == ["1", "1"]  # the part this command ran
    capsys.readouterr()
    assert main(["sweep", "--spec", str(spec)]) == 0  # the whole spec: every cell already finished
    err = capsys.readouterr().err
    assert "4 cells (4 already finished) in" in err
    assert [r["seed"] for r in _summary(tmp_path / "study")] == ["0", "1", "0", "1"]


@pytest.mark.parametrize("argv, message", [
    (["--grid", "planner.popsize=8,16"], "unknown key planner.popsize"),
    (["--grid", "planner.population_size=8,lots"], "planner.population_size='lots' has the wrong type"),
    (["--grid", "run.seed=1,2"], "the sweep sets run.seed from --seeds"),
    (["--grid", "planner.population_size"], "is not of the form SECTION.KEY=V1,V2"),
    (["--grid", "population_size=8"], "is not SECTION.KEY with a section among"),
    (["--grid", "planner.population_size=8,8"], "names 8 more than once"),
    (["--grid", "planner.population_size=8,8.0"], "resolve to the same settings"),
    (["--grid", "planner.population_size=8,16", "--set", "planner.population_size=4"],
     "given both as a fixed value"),
])
def test_bad_grids_exit_2_before_writing_anything(argv, message, tmp_path, capsys):
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--steps", "10", *argv,
                 "--out", str(tmp_path / "s")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("text, extra, message", [
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\n", ["--steps", "1"], "--steps cannot be given beside it"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\n", ["--seeds", "0", "7"],
     "--seeds 7: not in --spec"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\n", ["--pairings", "pets"],
     "whose pairings are rs-mpc; --pairings beside a spec picks a part of its cells"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nseed: [1]\n", [], "unknown key 'seed'; valid keys: pairings"),
    ("pairings: [rs-mpc]\n", [], "needs tasks"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\ngrid:\n  planner.population_size: 8\n", [],
     "needs a non-empty list of values"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nset:\n  planner.popsize: 8\n", [], "unknown key planner.popsize"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nsteps: many\n", [], "steps must be a whole number"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nset:\n  run.seed: 3\n", [], "give it as the spec's seeds"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nsteps: {Reacher-v5: 10}\n", [],
     "steps per task must name exactly the spec's tasks"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\npairing_set:\n  pets: {planner.population_size: 8}\n", [],
     "pairing_set names 'pets', which is not among the spec's pairings ['rs-mpc']"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nset: {planner.population_size: 8}\n"
     "pairing_set:\n  rs-mpc: {planner.population_size: 16}\n", [],
     "planner.population_size is given both in pairing_set rs-mpc and in set"),
    ("pairings: [rs-mpc, sac]\ntasks: [cartpole-balance]\npairing_set:\n  sac: {planner.population_size: 8}\n", [],
     "pairing 'sac' uses no planner"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\npairing_set:\n  rs-mpc: {run.steps: 8}\n", [],
     "give it as the spec's steps"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nthresholds: {Reacher-v5: -5}\n", [],
     "thresholds names task 'Reacher-v5', which is not among the spec's tasks ['cartpole-balance']"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nthresholds: {cartpole-balance: high}\n", [],
     "thresholds cartpole-balance: expected a finite return, got 'high'"),
    ("pairings: [rs-mpc]\ntasks: [cartpole-balance]\nthresholds: [190]\n", [], "thresholds must map tasks to returns, got [190]"),
])
def test_bad_specs_exit_2_before_writing_anything(text, extra, message, tmp_path, capsys):
    (tmp_path / "study.yaml").write_text(text)
    assert main(["sweep", "--spec", str(tmp_path / "study.yaml"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["study.yaml"]


def test_a_spec_gives_each_task_its_own_budget():
    from mbrl_zoo.app.sweep import grid, load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "results" / "benchmark" / "matrix.yaml")
    cells = grid(spec.pairings, spec.tasks, spec.seeds)
    budgets = {c.task: c.overrides({}, spec.steps)["run"]["steps"] for c in cells}
    assert budgets == spec.steps and budgets["InvertedPendulum-v5"] == 10000
    assert {c.task: spec.budget(c) for c in cells} == budgets
    assert [c.name() for c in spec.cells()] == [c.name() for c in cells]
    assert spec.thresholds["InvertedPendulum-v5"] == 1000.0


def test_a_spec_without_steps_gives_each_cell_its_pairings_own_budget(tmp_path):
    from mbrl_zoo.app.sweep import load_spec
    from mbrl_zoo.config import resolve

    (tmp_path / "study.yaml").write_text("pairings: [rs-mpc, sac]\ntasks: [cartpole-balance]\nseeds: [0]\n")
    spec = load_spec(tmp_path / "study.yaml")
    for cell in spec.cells():
        assert spec.budget(cell) == resolve(cell.pairing, {"run": {"task": "cartpole-balance"}}).run.steps


def test_pairing_set_fixes_a_setting_in_one_pairings_cells_without_a_folder_level(tmp_path):
    from mbrl_zoo.app.sweep import check_cells, grid, load_spec

    (tmp_path / "study.yaml").write_text(
        "pairings: [rs-mpc, sac]\ntasks: [cartpole-balance]\nseeds: [0]\nset: {run.threads: 1}\n"
        "pairing_set:\n  rs-mpc: {planner.population_size: 64, algorithm.horizon: 7}\n  sac: {algorithm.hidden: [32]}\n")
    spec = load_spec(tmp_path / "study.yaml")
    cells = grid(spec.pairings, spec.tasks, spec.seeds, spec.grid, spec.pairing_set)
    rs_mpc, sac = check_cells(cells, spec.set, spec.steps)
    assert rs_mpc["planner"]["population_size"] == 64 and rs_mpc["algorithm"]["horizon"] == 7
    assert tuple(sac["algorithm"]["hidden"]) == (32,) and rs_mpc["run"]["threads"] == sac["run"]["threads"] == 1
    assert [c.folder(tmp_path) for c in cells] == [tmp_path / "rs-mpc" / "cartpole-balance" / "seed0",
                                                   tmp_path / "sac" / "cartpole-balance" / "seed0"]


def test_a_dry_run_checks_and_lists_the_cells_and_runs_nothing(tmp_path, capsys):
    spec = _spec(tmp_path / "study" / "study.yaml", [8])
    assert main(["sweep", "--spec", str(spec), "--quiet"]) == 0
    _spec(spec, [8, 16])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert main(["sweep", "--spec", str(spec), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "rs-mpc cartpole-balance planner.population_size=8 seed0: finished",
        "rs-mpc cartpole-balance planner.population_size=16 seed0: runs 40 env steps",
        f"2 cells: 1 finished, 1 to run, in {spec.parent}"]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    # bad input fails as the sweep itself would
    assert main(["sweep", "--pairings", "rs-mpc", "--tasks", "cartpole-balance", "--grid", "planner.popsize=8",
                 "--out", str(tmp_path / "bad"), "--dry-run"]) == 2
    assert "unknown key planner.popsize" in capsys.readouterr().err and not (tmp_path / "bad").exists()
