"""mbrl_zoo.results: the tidy episode table, which episodes count toward a final return, and the
per-group and across-task summaries, on run folders with known metrics."""

import numpy as np
import pandas as pd
import pytest

from mbrl_zoo import results
from mbrl_zoo.errors import UserError


def test_load_gives_one_row_per_episode_with_the_settings_that_differ(tmp_path, make_run):
    sweep = tmp_path / "sweep"
    make_run(sweep / "a", "pets", 0, [1.0, 2.0], planner={"name": "cem", "population_size": 100})
    make_run(sweep / "b", "pets", 1, [3.0], planner={"name": "cem", "population_size": 100})
    make_run(sweep / "c", "pets", 0, [4.0, 5.0, 6.0], planner={"name": "cem", "population_size": 200})
    make_run(tmp_path / "sac", "sac", 0, [7.0], task="Pendulum-v1")
    frame = results.load([sweep, tmp_path / "sac"])
    assert len(frame) == 2 + 1 + 3 + 1
    assert list(frame.columns[:6]) == ["pairing", "task", "seed", "label", "planner.population_size", "folder"]
    assert list(frame.columns[-1:]) == ["scored"] and {"folder", "env_step", "episode", "return"} <= set(frame.columns)
    assert list(frame["planner.population_size"].iloc[:6]) == [100, 100, 100, 200, 200, 200]
    assert pd.isna(frame["planner.population_size"].iloc[6])  # sac is not split by it
    assert list(frame["label"].unique()) == ["pets planner.population_size=100", "pets planner.population_size=200",
                                             "sac"]
    assert list(frame["seed"]) == [0, 0, 1, 0, 0, 0, 0]
    by_group = frame.groupby("label")["return"].mean()
    assert by_group["pets planner.population_size=100"] == pytest.approx(2.0)
    assert frame["scored"].all()
    with pytest.raises(UserError, match="is not a run folder"):
        results.load([tmp_path / "missing"])


def test_budget_cut_and_random_warm_up_episodes_do_not_count(tmp_path, make_run):
    # Episodes end at 100, 200, ..., 600; the warm-up is the first 200 steps; the last was cut.
    folder = make_run(tmp_path / "run", "pets", 0, [50.0, 60.0, 10.0, 20.0, 30.0, 3.0],
                      cut=[None, 0, 0, 0, 0, 1], algorithm={"random_steps": 200})
    [run] = results.load_runs([folder])
    assert list(results.scored(run.metrics, run.settings)) == [False, False, True, True, True, False]
    assert results.final_return(run.metrics, run.settings) == pytest.approx(20.0)
    assert results.final_return(run.metrics, run.settings, window=1) == pytest.approx(30.0)
    assert results.best_return(run.metrics, run.settings) == 30.0
    assert results.steps_to(run.metrics, run.settings, 15.0) == 400  # not 100: that episode acted at random
    assert results.steps_to(run.metrics, run.settings, 40.0) is None
    assert list(results.not_cut(run.metrics)["return"]) == [50.0, 60.0, 10.0, 20.0, 30.0]
    assert list(results.load([folder])["scored"]) == [False, False, True, True, True, False]
    # A run whose only episode was cut has no final return yet; without the column nothing is cut.
    [only] = results.load_runs([make_run(tmp_path / "short", "sac", 0, [5.0], cut=[1])])
    assert results.final_return(only.metrics, only.settings) is None
    [old] = results.load_runs([make_run(tmp_path / "old", "sac", 0, [5.0, 6.0])])
    assert results.final_return(old.metrics, old.settings) == pytest.approx(5.5)


def test_group_stats_give_mean_std_and_a_bootstrap_interval():
    stats = results.group_stats([1.0, 2.0, 3.0, None])
    assert stats["n"] == 3 and stats["mean"] == pytest.approx(2.0) and stats["std"] == pytest.approx(1.0)
    assert 1.0 <= stats["ci_low"] < 2.0 < stats["ci_high"] <= 3.0
    assert results.group_stats([4.0]) == {"n": 1, "mean": 4.0, "std": 0.0, "ci_low": 4.0, "ci_high": 4.0}
    assert results.group_stats([None])["mean"] is None


def test_aggregate_normalises_each_task_and_takes_the_iqm():
    # Task x spans 0..10, task y 100..300; a's runs normalise to 0, 0.5 and 0, 0.5; b's to 1, 1, 1, 1.
    finals = pd.DataFrame({"task": ["x", "x", "x", "y", "y", "y"], "label": ["a", "a", "b", "a", "a", "b"],
                           "final_return": [0.0, 5.0, 10.0, 100.0, 200.0, 300.0]})
    finals = pd.concat([finals, pd.DataFrame({"task": ["x", "y"], "label": ["b", "b"], "final_return": [10.0, 300.0]})])
    table = results.aggregate(finals).set_index("label")
    assert table.loc["a", "tasks"] == 2 and table.loc["a", "runs"] == 4
    assert table.loc["a", "iqm"] == pytest.approx(0.25)  # middle half of [0, 0, 0.5, 0.5]
    assert table.loc["b", "iqm"] == table.loc["b", "iqm_low"] == table.loc["b", "iqm_high"] == pytest.approx(1.0)
    assert 0.0 <= table.loc["a", "iqm_low"] <= 0.25 <= table.loc["a", "iqm_high"] <= 0.5

    # A task that only b ran on is left out of every label's score, and out of the normalisation.
    more = pd.concat([finals, pd.DataFrame({"task": ["z", "z"], "label": ["b", "b"], "final_return": [-5.0, 7.0]})])
    assert results.shared_tasks(more) == ["x", "y"]
    pd.testing.assert_frame_equal(results.aggregate(more), results.aggregate(finals))
    assert results.shared_tasks(pd.DataFrame({"task": ["x", "y"], "label": ["a", "b"], "final_return": [1.0, 2.0]})) == []

    # Given a study's tasks x, y, z, b (which ran all three) is scored over all of them and a is left
    # out; given tasks nobody ran all of, the shared-task rule holds.
    assert results.complete_labels(more, ["x", "y", "z"]) == ["b"]
    study = results.aggregate(more, tasks=["x", "y", "z"])
    assert study[["label", "tasks", "runs"]].values.tolist() == [["b", 3, 6]]
    # b alone sets every range: x and y (equal runs) normalise to 0, z to 0 and 1; middle half all 0
    assert study["iqm"].iloc[0] == pytest.approx(0.0) and study["mean"].iloc[0] == pytest.approx(1 / 6)
    pd.testing.assert_frame_equal(results.aggregate(more, tasks=["x", "w"]), results.aggregate(finals))


def test_machine_is_recorded_and_read_back(tmp_path, make_run):
    info = results.machine()
    assert info["cpu"] and info["threads"] >= 1
    folder = make_run(tmp_path / "run", "pets", 0, [1.0], machine=info)
    assert results.read_machine(folder) == info
    assert results.read_machine(tmp_path) is None


def test_groups_order_numbers_by_size(tmp_path, make_run):
    for i, size in enumerate([100, 8, 16]):
        make_run(tmp_path / f"r{i}", "pets", 0, [1.0], planner={"name": "cem", "population_size": size})
    runs = results.load_runs([tmp_path])
    assert [label for _, label in results.groups(runs)] == [f"pets planner.population_size={n}" for n in (8, 16, 100)]
    assert np.all([r.differ == ("planner.population_size",) for r in runs])


def test_cpu_names_lose_their_trademark_signs_and_filler():
    assert results.short_cpu("Intel(R) Xeon(R) Processor @ 2.80GHz") == "Intel Xeon @ 2.80GHz"
    assert results.short_cpu("AMD EPYC 7B13 64-Core Processor") == "AMD EPYC 7B13 64-Core"
    assert results.short_cpu("AMD EPYC") == "AMD EPYC"
