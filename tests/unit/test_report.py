"""``mbrl-zoo report``: the Markdown table of a small hand-made sweep, from its run folders and
from its summary.csv, with known final returns, steps to a threshold, wall times and machine."""

import pytest

from mbrl_zoo.app.cli import main
from mbrl_zoo.app.report import parse_thresholds, report
from mbrl_zoo.app.sweep import Cell, summary_row, write_summary
from mbrl_zoo.errors import UserError

MACHINE = {"cpu": "Test(R) Chip 9000 Processor", "threads": 1}  # shown as "Test Chip 9000"


@pytest.fixture
def sweep(tmp_path, make_run):
    """pets seeds 0 and 1 (a 100-step random warm-up; seed 0's last episode cut by the budget) and
    sac seed 0, all on cartpole-balance, with the sweep's summary.csv."""
    root = tmp_path / "sweep"
    cells = [Cell("pets", "cartpole-balance", 0), Cell("pets", "cartpole-balance", 1),
             Cell("sac", "cartpole-balance", 0)]
    make_run(cells[0].folder(root), "pets", 0, [0.0, 10.0, 20.0, 30.0], cut=[0, 0, 0, 1],
             algorithm={"random_steps": 100}, machine=MACHINE)
    make_run(cells[1].folder(root), "pets", 1, [0.0, 30.0, 40.0, 50.0], cut=[0, 0, 0, 0],
             algorithm={"random_steps": 100}, machine=MACHINE)
    make_run(cells[2].folder(root), "sac", 0, [5.0, 6.0], machine=MACHINE)
    write_summary(cells, [summary_row(c, c.folder(root)) for c in cells], root)
    return root


def test_report_of_a_sweep(sweep):
    # pets: seed 0 scores episodes 2 and 3 (the first acted at random, the last was cut): 15;
    # seed 1 scores 30, 40, 50: 40. Mean 27.5, std 17.7, and the two seeds bound the interval.
    text = report([sweep], {"cartpole-balance": 25.0})
    lines = text.splitlines()
    assert lines[0] == ("| task | pairing | seeds | env steps | final return | 95% CI | env steps to threshold "
                        "| wall time |")
    assert lines[2] == ("| cartpole-balance | pets | 2 | 400 | 27.5 ± 17.7 | [15.0, 40.0] | 200 (1/2 seeds) "
                        "| 4.0 ± 0.0 s |")
    assert lines[3] == ("| cartpole-balance | sac | 1 | 200 | 5.5 ± 0.0 | [5.5, 5.5] | not reached (0/1 seeds) "
                        "| 2.0 ± 0.0 s |")
    assert "Machine: Test Chip 9000, 1 torch thread." in text
    assert "Thresholds: cartpole-balance ≥ 25." in text
    assert "Across tasks" not in text  # one task


def test_report_from_summary_csv_alone_gives_the_same_returns(sweep, tmp_path):
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "summary.csv").write_text((sweep / "summary.csv").read_text())
    for path in (alone, alone / "summary.csv"):
        lines = report([path]).splitlines()
        assert lines[2] == "| cartpole-balance | pets | 2 | 400 | 27.5 ± 17.7 | [15.0, 40.0] | 4.0 ± 0.0 s |"
        assert "Machine: unknown." in report([path])
    with pytest.raises(UserError, match="needs each run's metrics.csv"):
        report([alone], {"cartpole-balance": 1.0})


def test_report_names_each_rows_machine_when_they_differ(sweep, make_run):
    make_run(sweep / "sac" / "Pendulum-v1" / "seed0", "sac", 0, [-100.0, -50.0], task="Pendulum-v1")
    text = report([sweep])
    lines = text.splitlines()
    assert lines[0].endswith("| wall time | machine |")
    assert lines[2].startswith("| Pendulum-v1 | sac |") and lines[2].endswith("| unknown |")
    assert lines[4].endswith("| Test Chip 9000, 1 torch thread |")
    # pets ran on balance alone, so the aggregate compares the pairings there and names the task left out
    assert "Across tasks (cartpole-balance: the tasks every pairing has a scored run on; left out: Pendulum-v1)" in text
    assert "| pets | 1 | 2 |" in text and "| sac | 1 | 1 |" in text


def test_cli_writes_the_file_and_refuses_bad_thresholds(sweep, tmp_path, capsys):
    out = tmp_path / "table.md"
    assert main(["report", str(sweep), "--threshold", "cartpole-balance=25", "--out", str(out)]) == 0
    assert out.read_text() == capsys.readouterr().out
    for bad, message in (("Hopper-v5=1", "names task 'Hopper-v5', which no run here ran; tasks: cartpole-balance"),
                         ("cartpole-balance", "is not of the form TASK=RETURN"),
                         ("cartpole-balance=high", "is not of the form TASK=RETURN")):
        assert main(["report", str(sweep), "--threshold", bad, "--out", str(tmp_path / "bad.md")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "bad.md").exists()
    assert main(["report", str(tmp_path / "nothing")]) == 2
    with pytest.raises(UserError, match="twice"):
        parse_thresholds(["a=1", "a=2"])


def test_the_run_commands_last_return_skips_a_budget_cut_episode(tmp_path, make_run):
    from mbrl_zoo.app.cli import run_summary

    cut = make_run(tmp_path / "cut", "sac", 0, [150.0, 200.0, 40.0], cut=[0, None, 1])
    assert run_summary(cut)["last_return"] == 200.0 and run_summary(cut)["episodes"] == 3
    assert run_summary(make_run(tmp_path / "old", "sac", 0, [150.0, 40.0]))["last_return"] == 40.0


@pytest.fixture
def spec_sweep(tmp_path, make_run):
    """A spec of pets and sac on balance and swing-up, seeds 0 and 1, 400 env steps per cell: pets
    finished both seeds on balance, sac seed 0 finished on swing-up, sac seed 1 on swing-up stopped
    at 200 steps (with its checkpoint); the other cells never started."""
    spec = tmp_path / "study" / "spec.yaml"
    spec.parent.mkdir()
    spec.write_text("pairings: [pets, sac]\ntasks: [cartpole-balance, cartpole-swingup]\nseeds: [0, 1]\n"
                    "steps: 400\nthresholds: {cartpole-balance: 25}\n")
    root = spec.parent
    make_run(root / "pets" / "cartpole-balance" / "seed0", "pets", 0, [0.0, 10.0, 20.0, 30.0])
    make_run(root / "pets" / "cartpole-balance" / "seed1", "pets", 1, [0.0, 30.0, 40.0, 50.0])
    make_run(root / "sac" / "cartpole-swingup" / "seed0", "sac", 0, [1.0, 2.0, 3.0, 4.0], task="cartpole-swingup")
    unfinished = make_run(root / "sac" / "cartpole-swingup" / "seed1", "sac", 1, [9.0, 9.0], task="cartpole-swingup")
    (unfinished / "checkpoint.pt").write_bytes(b"")
    return spec


def test_report_of_a_spec_takes_its_finished_cells_and_thresholds_and_names_the_rest(spec_sweep):
    from mbrl_zoo.app.report import spec_report

    text = spec_report(spec_sweep)
    rows = [line for line in text.splitlines() if line.startswith("| cartpole-")]
    # pets: means 15 and 30, over 25 first at steps 400 and 200; sac: the finished seed alone (mean
    # 2.5), the one stopped at 200 steps (returns of 9) left out, no threshold on swing-up
    assert rows == ["| cartpole-balance | pets | 2 | 400 | 22.5 ± 10.6 | [15.0, 30.0] | 300 ± 141 | 4.0 ± 0.0 s |",
                    "| cartpole-swingup | sac | 1 | 400 | 2.5 ± 0.0 | [2.5, 2.5] | - | 4.0 ± 0.0 s |"]
    assert "Thresholds: cartpole-balance ≥ 25." in text
    assert text.endswith("Cells: 3 of the spec's 8 finished; not yet: pets on cartpole-swingup; "
                         "sac on cartpole-balance, cartpole-swingup (seed 1).\n")
    # a threshold from the command line joins the spec's; one for a task nobody finished is dropped
    assert "cartpole-swingup ≥ 2" in spec_report(spec_sweep, {"cartpole-swingup": 2.0})
    with pytest.raises(UserError, match="already gives"):
        spec_report(spec_sweep, {"cartpole-balance": 30.0})
    with pytest.raises(UserError, match="'Hopper-v5', which spec .* does not run"):
        spec_report(spec_sweep, {"Hopper-v5": 1.0})


def test_report_of_a_finished_spec_says_so(spec_sweep, make_run):
    from mbrl_zoo.app.report import spec_report

    root = spec_sweep.parent
    (root / "sac" / "cartpole-swingup" / "seed1" / "checkpoint.pt").unlink()
    for pairing, task, seed in (("pets", "cartpole-swingup", 0), ("pets", "cartpole-swingup", 1),
                                ("sac", "cartpole-balance", 0), ("sac", "cartpole-balance", 1)):
        make_run(root / pairing / task / f"seed{seed}", pairing, seed, [1.0] * 4, task=task)
    # the sac seed stopped at 200 of its 400 steps is still not finished
    assert spec_report(spec_sweep).endswith("not yet: sac on cartpole-swingup (seed 1).\n")
    import shutil
    shutil.rmtree(root / "sac" / "cartpole-swingup" / "seed1")
    make_run(root / "sac" / "cartpole-swingup" / "seed1", "sac", 1, [1.0] * 4, task="cartpole-swingup")
    assert spec_report(spec_sweep).endswith("\nCells: all 8 of the spec finished.\n")


def test_cli_report_and_compare_of_a_spec(spec_sweep, tmp_path, capsys):
    out = tmp_path / "table.md"
    assert main(["report", "--spec", str(spec_sweep), "--out", str(out)]) == 0
    assert out.read_text() == capsys.readouterr().out
    assert main(["compare", "--spec", str(spec_sweep), "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    assert "not finished yet: pets on cartpole-swingup; sac on cartpole-balance, cartpole-swingup (seed 1)" in printed
    import pandas as pd
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert sorted(zip(table["label"], table["task"], table["seed"].astype(str))) == [
        ("pets", "cartpole-balance", "0"), ("pets", "cartpole-balance", "1"), ("pets", "cartpole-balance", "mean"),
        ("sac", "cartpole-swingup", "0"), ("sac", "cartpole-swingup", "mean")]
    # run folders and a spec together, or neither, or a spec with nothing finished: refused
    for args in (["report"], ["report", str(spec_sweep.parent), "--spec", str(spec_sweep)], ["compare"]):
        assert main(args) == 2
        assert "--spec FILE.yaml (one of the" in capsys.readouterr().err
    empty = tmp_path / "empty.yaml"
    empty.write_text("pairings: [pets]\ntasks: [cartpole-balance]\nsteps: 400\n")
    assert main(["report", "--spec", str(empty), "--out", str(tmp_path / "none.md")]) == 2
    assert "none of the 3 cells of spec" in capsys.readouterr().err and not (tmp_path / "none.md").exists()


def test_a_spec_reports_across_every_task_the_pairings_that_ran_them_all(spec_sweep, make_run, tmp_path, capsys):
    from mbrl_zoo.app.report import spec_report

    root = spec_sweep.parent
    for seed in (0, 1):
        make_run(root / "pets" / "cartpole-swingup" / f"seed{seed}", "pets", seed, [5.0 * (seed + 1)] * 4,
                 task="cartpole-swingup")
    text = spec_report(spec_sweep)
    # sac has swing-up alone: by the plain rule the aggregate would shrink to swing-up; here it
    # keeps both tasks and leaves sac out
    assert ("Across tasks (cartpole-balance, cartpole-swingup: every task, over the pairings with scored runs on "
            "all of them; left out: sac)") in text
    assert "| pets | 2 | 4 |" in text and "| sac |" not in text.split("Across tasks")[1]
    # compare --spec's aggregate.csv follows the same rule
    assert main(["compare", "--spec", str(spec_sweep), "--out", str(tmp_path / "cmp")]) == 0
    assert "across every task of the spec, over the labels that ran them all" in capsys.readouterr().out
    import pandas as pd
    across = pd.read_csv(tmp_path / "cmp" / "aggregate.csv")
    assert across[["label", "tasks", "runs"]].values.tolist() == [["pets", 2, 4]]
