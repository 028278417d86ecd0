"""The sweep's feedback: a line per finished cell with its return and time, an ETA from the cells
run so far, and a closing count; and grid parsing into cells and folders."""

import io
from pathlib import Path

import pytest

from mbrl_zoo.app.sweep import Cell, Progress, duration, grid, parse_grid
from mbrl_zoo.errors import UserError


def test_a_line_per_cell_with_an_eta_over_the_cells_that_run_at_once():
    cells = [Cell("pets", "cartpole-balance", s, (("planner.population_size", 100),)) for s in range(4)]
    stream, now = io.StringIO(), [0.0]
    progress = Progress(cells, finished=[True, False, False, False], stream=stream, clock=lambda: now[0])
    progress.parallel = 2
    progress.cell_done(0, {"final_return": 12.34, "wall_s": 30.0})
    progress.cell_done(2, {"final_return": None, "wall_s": 20.0})
    progress.cell_done(1, {"final_return": 5.0, "wall_s": 40.0})
    progress.cell_done(3, {"final_return": 7.0, "wall_s": 30.0})
    now[0] = 75.0
    progress.close()
    assert stream.getvalue().splitlines() == [
        "[1/4] pets cartpole-balance planner.population_size=100 seed0: already finished, final return 12.3, 30 s",
        # two cells left to run, 20 s per cell so far, two at once: 20 s
        "[2/4] pets cartpole-balance planner.population_size=100 seed2: no scored episode, 20 s; ETA 20 s",
        "[3/4] pets cartpole-balance planner.population_size=100 seed1: final return 5.0, 40 s; ETA 15 s",
        "[4/4] pets cartpole-balance planner.population_size=100 seed3: final return 7.0, 30 s",
        "4 cells (1 already finished) in 1 min 15 s",
    ]
    quiet = Progress(cells, [False] * 4, quiet=True, stream=stream)
    quiet.cell_done(0, {"final_return": 1.0, "wall_s": 1.0})
    assert len(stream.getvalue().splitlines()) == 5


def test_durations_read_naturally():
    assert [duration(s) for s in (4.26, 42.4, 200.0, 7500.0)] == ["4.3 s", "42 s", "3 min 20 s", "2 h 05 min"]


def test_grids_multiply_and_name_their_folders():
    settings = parse_grid(["planner.population_size=100,200", "algorithm.horizon=5,10", "model.name=pe"])
    assert settings == {"planner.population_size": [100, 200], "algorithm.horizon": [5, 10], "model.name": ["pe"]}
    cells = grid(["pets"], ["cartpole-balance"], [0, 1], settings)
    assert len(cells) == 2 * 2 * 1 * 2
    assert cells[1].folder(Path("out")) == Path(
        "out/pets/cartpole-balance/planner.population_size=100/algorithm.horizon=5/model.name=pe/seed1")
    assert cells[2].overrides({"planner": {"iterations": 2}}, 30) == {
        "planner": {"iterations": 2, "population_size": 100}, "algorithm": {"horizon": 10}, "model": {"name": "pe"},
        "run": {"task": "cartpole-balance", "seed": 0, "steps": 30}}
    assert grid(["pets"], ["cartpole-balance"], [0, 1]) == [Cell("pets", "cartpole-balance", 0),
                                                          Cell("pets", "cartpole-balance", 1)]


def test_grid_values_holding_commas_come_as_one_yaml_list():
    settings = parse_grid(["algorithm.rollout_schedule=[[1, 15, 1, 1], [1,15,5,5]]", "algorithm.hidden=[[64,64]]"])
    assert settings == {"algorithm.rollout_schedule": [[1, 15, 1, 1], [1, 15, 5, 5]], "algorithm.hidden": [[64, 64]]}
    cells = grid(["mbpo"], ["InvertedPendulum-v5"], [0], settings)
    assert cells[1].folder(Path("out")) == Path(
        "out/mbpo/InvertedPendulum-v5/algorithm.rollout_schedule=[1,15,5,5]/algorithm.hidden=[64,64]/seed0")


@pytest.mark.parametrize("items, message", [
    (["planner.population_size=1", "planner.population_size=2"], "is given twice"),
    (["algorithm.hidden=[[64,64]"], "not a YAML list of values"),
    (["algorithm.hidden=[64]: 3"], "not a YAML list of values"),
    (["algorithm.hidden=[]"], "needs a non-empty list"),
    (["model.name=a/b"], "hold no '/'"),
    (["run.steps=10,20"], "the sweep sets run.steps from --steps"),
])
def test_bad_grids_are_refused(items, message):
    with pytest.raises(UserError, match=message):
        parse_grid(items)
