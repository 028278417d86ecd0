import os

os.environ.setdefault("MUJOCO_GL", "disable")

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield


def write_run(folder, pairing, seed, returns, *, task="cartpole-balance", episode_steps=100, cut=None,
              wall_s=None, machine=None, **sections):
    """A run folder as ``mbrl-zoo run`` writes one: ``config.json`` (``sections`` maps a section to
    its settings, e.g. ``algorithm={"random_steps": 200}``), ``metrics.csv`` with an episode per
    return ending every ``episode_steps`` env steps (a ``cut`` column when given) and, when given,
    ``machine.json``."""
    import json

    import pandas as pd

    folder.mkdir(parents=True)
    config = {"pairing": pairing, "run": {"task": task, "seed": seed, "steps": episode_steps * len(returns)},
              "algorithm": {"horizon": 15, **sections.get("algorithm", {})},
              "model": sections.get("model"), "planner": sections.get("planner")}
    (folder / "config.json").write_text(json.dumps(config))
    metrics = {"env_step": [episode_steps * (i + 1) for i in range(len(returns))],
               "episode": list(range(1, len(returns) + 1)), "return": returns,
               "wall_s": wall_s or [float(i + 1) for i in range(len(returns))]}
    if cut is not None:
        metrics["cut"] = cut
    pd.DataFrame(metrics).to_csv(folder / "metrics.csv", index=False)
    if machine is not None:
        (folder / "machine.json").write_text(json.dumps(machine))
    return folder


@pytest.fixture
def make_run():
    """:func:`write_run`, for tests that build run folders by hand."""
    return write_run
