"""``mbrl-zoo compare``: returns at equal env steps from known metrics, labels that keep a
pairing's variants apart, and bad input refused before anything is written."""

import json

import pandas as pd
import pytest

from mbrl_zoo.app.cli import main
from mbrl_zoo.app.compare import comparison_table, label_colours, load_runs, plot_runs, returns_at
from mbrl_zoo.errors import UserError


def make_run(folder, pairing, seed, returns, episode_steps=100, task="cartpole-balance", **algorithm):
    folder.mkdir(parents=True)
    config = {"pairing": pairing, "run": {"task": task, "seed": seed, "steps": 1000},
              "algorithm": {"horizon": 15, **algorithm}, "model": None, "planner": None}
    (folder / "config.json").write_text(json.dumps(config))
    steps = [episode_steps * (i + 1) for i in range(len(returns))]
    pd.DataFrame({"env_step": steps, "episode": range(1, len(returns) + 1), "return": returns}).to_csv(
        folder / "metrics.csv", index=False)
    return folder


def test_returns_at_averages_the_last_episodes_ended_by_the_step(tmp_path):
    [run] = load_runs([make_run(tmp_path / "a", "pets", 0, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])])
    assert returns_at(run, 600) == pytest.approx((2 + 3 + 4 + 5 + 6) / 5)
    assert returns_at(run, 450, window=2) == pytest.approx((3 + 4) / 2)  # episodes ended at 300 and 400
    assert returns_at(run, 100, window=5) == 1.0  # fewer episodes than the window
    assert returns_at(run, 50) is None  # no episode ended yet
    assert returns_at(run, 601) is None  # the run has not reached the step


def test_table_has_a_row_per_run_and_a_mean_over_the_seeds_that_reached_each_step(tmp_path):
    runs = load_runs([make_run(tmp_path / "p0", "pets", 0, [10.0, 20.0, 30.0]),
                      make_run(tmp_path / "p1", "pets", 1, [30.0, 40.0]),
                      make_run(tmp_path / "s0", "sac", 0, [-1.0, -2.0, -3.0, -4.0])])
    table = comparison_table(runs, at=[200, 300], window=1)
    assert list(table["label"]) == ["pets", "pets", "pets", "sac", "sac"]
    assert list(table["seed"]) == ["0", "1", "mean", "0", "mean"]
    pets_mean = table[(table["label"] == "pets") & (table["seed"] == "mean")].iloc[0]
    assert pets_mean["return@200"] == pytest.approx((20 + 40) / 2) and pets_mean["seeds_at_200"] == 2
    assert pets_mean["return@300"] == pytest.approx(30.0) and pets_mean["seeds_at_300"] == 1  # seed 1 stopped at 200
    assert table.iloc[3]["return@300"] == -3.0 and table.iloc[3]["episodes"] == 4 and table.iloc[3]["env_steps"] == 400


def test_a_folder_of_runs_stands_for_the_runs_below_it(tmp_path):
    make_run(tmp_path / "sweep" / "pets" / "seed1", "pets", 1, [1.0])
    make_run(tmp_path / "sweep" / "pets" / "seed0", "pets", 0, [1.0])
    lone = make_run(tmp_path / "lone", "sac", 0, [1.0])
    runs = load_runs([tmp_path / "sweep", lone])
    assert [(r.pairing, r.seed) for r in runs] == [("pets", 0), ("pets", 1), ("sac", 0)]


def test_runs_of_one_pairing_with_other_settings_get_their_own_label(tmp_path):
    runs = load_runs([make_run(tmp_path / "a", "pets", 0, [1.0], matmul_dtype="float32"),
                      make_run(tmp_path / "b", "pets", 0, [2.0], matmul_dtype="bfloat16"),
                      make_run(tmp_path / "c", "sac", 0, [3.0], matmul_dtype="float32")])
    assert [r.label for r in runs] == ["pets algorithm.matmul_dtype=float32", "pets algorithm.matmul_dtype=bfloat16",
                                       "sac"]
    # A setting that an older run's config.json lacks does not split the group.
    runs = load_runs([make_run(tmp_path / "old", "sac", 1, [1.0]), make_run(tmp_path / "new", "sac", 2, [1.0], tau=0.01)])
    assert [r.label for r in runs] == ["sac", "sac"]


@pytest.mark.parametrize("case, message", [
    ("twice", "is given twice"),
    ("same-seed", "both 'pets' on cartpole-balance with seed 0"),
    ("not-a-run", "is not a run folder .* and holds none"),
])
def test_bad_folders_are_refused(tmp_path, case, message):
    a = make_run(tmp_path / "a", "pets", 0, [1.0])
    (tmp_path / "empty").mkdir()
    others = {"twice": [a], "same-seed": [make_run(tmp_path / "b", "pets", 0, [2.0])],
              "not-a-run": [tmp_path / "empty"]}[case]
    with pytest.raises(UserError, match=message):
        load_runs([a, *others])


def test_cli_writes_the_table_and_curves_and_exits_2_on_bad_input_writing_nothing(tmp_path, capsys):
    a = make_run(tmp_path / "runs" / "a", "pets", 0, [1.0, 2.0, 3.0])
    b = make_run(tmp_path / "runs" / "b", "sac", 0, [4.0, 5.0])
    out = tmp_path / "out"
    assert main(["compare", str(a), str(b), "--at", "200", "--window", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["return@200"]) == [1.5, 1.5, 4.5, 4.5]
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "return@200" in capsys.readouterr().out

    for argv, message in (([str(a), "--column", "eval_return"], "has no column 'eval_return'"),
                          ([str(a), "--at", "0"], "--at steps must be >= 1"),
                          ([str(a), str(tmp_path / "missing")], "is not a run folder")):
        assert main(["compare", *argv, "--out", str(tmp_path / "bad")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()
    (tmp_path / "a-file").write_text("x")
    assert main(["compare", str(a), "--out", str(tmp_path / "a-file")]) == 2
    assert "is a file" in capsys.readouterr().err and (tmp_path / "a-file").read_text() == "x"


def test_without_at_the_table_gives_final_returns_and_an_interval_per_group(tmp_path, capsys):
    a = make_run(tmp_path / "p0", "pets", 0, [10.0, 20.0, 30.0])
    b = make_run(tmp_path / "p1", "pets", 1, [30.0, 40.0])
    table = comparison_table(load_runs([a, b]))
    assert list(table["final_return"][:2]) == [20.0, 35.0] and pd.isna(table["final_return_low"][0])
    mean = table.iloc[2]
    assert (mean["seed"], mean["final_return"], mean["seeds"]) == ("mean", 27.5, 2)
    # Two seeds: resampled means are 20, 27.5 and 35, so the 95% interval spans the two.
    assert (mean["final_return_low"], mean["final_return_high"]) == (20.0, 35.0)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    assert "27.5 [20.0, 35.0]" in capsys.readouterr().out


def test_written_tables_carry_no_float_noise(tmp_path):
    # (0.1 + 0.2) / 2 is 0.15000000000000002 in floating point.
    a = make_run(tmp_path / "a", "pets", 0, [0.1, 0.2])
    assert main(["compare", str(a), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "comparison.csv").read_text()
    assert ",0.15," in text and "0.15000000000000002" not in text


def test_budget_cut_episodes_leave_final_returns_and_curves(tmp_path):
    a = make_run(tmp_path / "a", "pets", 0, [10.0, 20.0, 2.0])
    metrics = pd.read_csv(a / "metrics.csv").assign(cut=[0, None, 1])
    metrics.to_csv(a / "metrics.csv", index=False)
    [run] = load_runs([a])
    assert comparison_table([run], at=[300])[["final_return", "return@300"]].iloc[0].tolist() == [15.0, 15.0]


def test_runs_on_several_tasks_get_an_across_task_aggregate(tmp_path, capsys):
    runs = [make_run(tmp_path / f"{p}{t}", p, 0, [r], task=task)
            for p, rs in (("pets", (1.0, 100.0)), ("sac", (3.0, 300.0)))
            for t, (task, r) in enumerate(zip(("cartpole-balance", "Pendulum-v1"), rs))]
    assert main(["compare", *map(str, runs), "--out", str(tmp_path / "out")]) == 0
    aggregate = pd.read_csv(tmp_path / "out" / "aggregate.csv").set_index("label")
    assert aggregate.loc["pets", "iqm"] == 0.0 and aggregate.loc["sac", "iqm"] == 1.0
    assert aggregate.loc["sac", "tasks"] == 2
    assert "across the tasks every label has runs on" in capsys.readouterr().out

    # No task that both ran: no aggregate, and the command says so.
    apart = [make_run(tmp_path / "apart-pets", "pets", 0, [1.0]),
             make_run(tmp_path / "apart-sac", "sac", 0, [2.0], task="Pendulum-v1")]
    assert main(["compare", *map(str, apart), "--out", str(tmp_path / "apart")]) == 0
    assert "no task on which every label has runs" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "apart" / "aggregate.csv").empty


def test_a_pairing_keeps_its_colour_in_every_tasks_panel(tmp_path):
    runs = load_runs([make_run(tmp_path / "a", "sac", 0, [1.0, 2.0], task="Reacher-v5"),
                      make_run(tmp_path / "b", "pets", 0, [1.0, 2.0], task="cartpole-balance"),
                      make_run(tmp_path / "c", "pets", 0, [3.0, 4.0], task="Reacher-v5"),
                      make_run(tmp_path / "d", "rs-mpc", 0, [3.0, 4.0], task="cartpole-balance")])
    colours = label_colours(runs)
    assert sorted(colours) == ["pets", "rs-mpc", "sac"]
    assert len(set(colours.values())) == 3  # one colour per pairing, whichever panels it is in
    plot_runs(runs, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
