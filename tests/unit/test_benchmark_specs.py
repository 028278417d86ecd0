"""The committed comparison specs under results/benchmark/ resolve, and the planner specs give every
planner the same number of candidate sequences per planning call."""

from pathlib import Path

import pytest
import torch

from mbrl_zoo.app.sweep import grid, load_spec
from mbrl_zoo.config import resolve
from mbrl_zoo.registry import TASKS

BENCHMARK = Path(__file__).resolve().parents[2] / "results" / "benchmark"
PLANNERS = ["cem", "random-shooting", "mppi", "icem", "gradient"]


def _configs(spec_path: Path):
    spec = load_spec(spec_path)
    cells = grid(spec.pairings, spec.tasks, spec.seeds, spec.grid, spec.pairing_set)
    return [resolve(c.pairing, c.overrides(spec.set, spec.steps)) for c in cells]


def _candidates_per_call(config) -> int:
    """Rows the planner's objective sees in one ``plan`` call (each row one candidate sequence)."""
    spec = TASKS.get(config.run.task).obj
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in spec.action_bounds())
    planner = config.make_planner(low, high, config.algorithm.horizon)
    seen = []

    def objective(actions: torch.Tensor) -> torch.Tensor:
        seen.append(actions.shape[0])
        return -(actions ** 2).sum(dim=(1, 2))

    planner.plan(objective, generator=torch.Generator().manual_seed(0))
    return sum(seen)


@pytest.mark.parametrize("name", PLANNERS)
def test_each_planner_spec_plans_about_250_candidates_per_call_on_both_models(name):
    configs = _configs(BENCHMARK / "planners" / name / "spec.yaml")
    assert {c.planner_name for c in configs} == {name}
    assert {c.algorithm.horizon for c in configs} == {25}
    models = {c.model_name for c in configs}
    assert models == ({"pe"} if name == "gradient" else {"oracle", "pe"})
    for config in {(c.pairing, c.run.task): c for c in configs}.values():
        assert 250 <= _candidates_per_call(config) <= 265, (name, config.pairing, config.run.task)
        assert config.algorithm.particles == (5 if config.pairing == "pets" else 1)


def test_the_propagation_spec_sweeps_petss_five_modes():
    configs = _configs(BENCHMARK / "propagation" / "spec.yaml")
    modes = {c.algorithm.propagation for c in configs}
    assert modes == {"expectation", "ds", "mm", "ts1", "tsinf"}
    assert len(configs) == 2 * 5 * 3


def test_every_matrix_cell_learns_after_its_random_warm_up():
    configs = _configs(BENCHMARK / "matrix.yaml")
    assert len(configs) == 162
    for config in configs:
        random_steps = getattr(config.algorithm, "random_steps", 0)
        assert random_steps <= config.run.steps // 3, (config.pairing, config.run.task, random_steps)
