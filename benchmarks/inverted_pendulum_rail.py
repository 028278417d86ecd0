"""Why did an InvertedPendulum-v5 run's episodes end? Reads a run's checkpoint (buffer and model).

The cart's slider is limited to x in [-1, 1]; hitting that limit stops the cart abruptly and the
pole falls soon after. Per episode (split where the buffer marks an end) this prints the length,
the cart's position at the end and whether the cart reached the rail (|x| >= 0.98) within the
episode's last 10 steps; the counts leave out the random-policy episodes (``random_steps``). For the learned model saved in the checkpoint it prints the one-step
mean absolute error of its mean prediction per observation dimension (x, angle, x velocity,
angular velocity), separately on the transitions that end at the rail and on all others: a model
that has not learned the rail's stop predicts the cart sliding on, so a planner using it does not
avoid the rail.

Usage: python benchmarks/inverted_pendulum_rail.py RUN_DIR [--last 20]
(the run folder: ``config.json`` and ``checkpoint.pt``). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from mbrl_zoo.buffer import episode_spans
from mbrl_zoo.errors import UserError
from mbrl_zoo.models import build_model
from mbrl_zoo.runs import read_run
from mbrl_zoo.tasks import get_task

RAIL_X = 0.98
LAST_STEPS = 10


def mean_per_dim(error: torch.Tensor) -> list[float] | None:
    """Column means of ``error`` (N, 4), rounded; None when there are no rows."""
    return [round(float(v), 4) for v in error.mean(0)] if len(error) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--last", type=int, default=20, help="episodes listed one by one (the rest are counted)")
    args = parser.parse_args()
    config, state = read_run(args.run, "InvertedPendulum-v5")
    buffer = state["parts"]["real"]
    rows = int(buffer["size"])
    obs = torch.as_tensor(buffer["obs"][:rows], dtype=torch.float32)
    act = torch.as_tensor(buffer["act"][:rows], dtype=torch.float32)
    next_obs = torch.as_tensor(buffer["next_obs"][:rows], dtype=torch.float32)
    episodes = []
    for start, end in episode_spans(buffer):
        tail = next_obs[max(start, end - LAST_STEPS + 1):end + 1, 0]
        episodes.append({"first_step": start, "steps": end - start + 1, "final_x": round(float(next_obs[end, 0]), 3),
                         "at_rail": bool((tail.abs() >= RAIL_X).any())})
    at_rail = next_obs[:, 0].abs() >= RAIL_X

    settings = {key: value for key, value in config["model"].items() if key != "name"}
    task = get_task("InvertedPendulum-v5")
    model = build_model(config["model"]["name"], obs.shape[1], act.shape[1], task=task, **settings)
    model.load_state_dict(state["parts"]["model"]["dynamics"])
    with torch.no_grad():
        error = (model.mean(obs, act) - next_obs).abs()
    planned = [e for e in episodes if e["first_step"] >= config["algorithm"].get("random_steps", 0)]
    failed = [e for e in planned if e["steps"] < 1000]
    print(json.dumps({
        "benchmark": "inverted_pendulum_rail", "run": str(args.run), "env_steps": rows,
        "planned_episodes": len(planned), "episodes_of_1000": len(planned) - len(failed),
        "failed_at_rail": sum(e["at_rail"] for e in failed), "failed_elsewhere": sum(not e["at_rail"] for e in failed),
        "rail_transitions": int(at_rail.sum()),
        "model_abs_error_at_rail": mean_per_dim(error[at_rail]),
        "model_abs_error_elsewhere": mean_per_dim(error[~at_rail]),
        "last_episodes": episodes[len(episodes) - args.last:] if args.last > 0 else [],
    }))


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None
