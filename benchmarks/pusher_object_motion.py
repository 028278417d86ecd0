"""Did a Pusher-v5 run push the object? Reads the replay buffer in a run's checkpoint.

Pusher's return mixes three terms (object-goal distance, 0.5 x fingertip-object distance, control
cost), so a rising return can be reaching alone. Per episode (Pusher-v5's 100 steps or
``pusher-pets``'s 150, split where the buffer marks an episode's end) this prints the object's
distance to the goal at the start and the end, how far the object moved, and the fingertip's
closest approach, from the observations (tips_arm at dims 14:17, object 17:20, goal 20:23).

Usage: python benchmarks/pusher_object_motion.py RUN_DIR/checkpoint.pt [--first 3]
Prints one JSON line: {"episodes": n, "pushed_episodes": k, "per_episode": [...], ...}, where an
episode counts as pushed when the object ends at least 1 cm nearer the goal than it started;
``--first`` names the random-policy episodes, left out of the counts.
"""

from __future__ import annotations

import argparse
import json

import torch

from mbrl_zoo.buffer import episode_spans
from mbrl_zoo.errors import UserError

TIP, OBJECT, GOAL = slice(14, 17), slice(17, 20), slice(20, 23)
PUSHED_M = 0.01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--first", type=int, default=2, help="random-policy episodes at the start")
    args = parser.parse_args()
    buffer = torch.load(args.checkpoint, map_location="cpu", weights_only=False)["state"]["parts"]["real"]
    spans, rows = episode_spans(buffer), int(buffer["size"])
    obs = torch.as_tensor(buffer["obs"][:rows], dtype=torch.float64)
    next_obs = torch.as_tensor(buffer["next_obs"][:rows], dtype=torch.float64)
    if obs.shape[1] < 23:  # 25 in benchmarks/pusher_oracle.py (cylinder velocity appended)
        raise SystemExit(f"expected Pusher's 23-dim observations, got {obs.shape[1]}")
    episodes = []
    for number, (start, end) in enumerate(spans, start=1):
        first, last = obs[start], next_obs[end]
        tips = (next_obs[start:end + 1, TIP] - next_obs[start:end + 1, OBJECT]).norm(dim=1)
        episodes.append({
            "episode": number,
            "goal_distance_start": round(float((first[OBJECT] - first[GOAL]).norm()), 4),
            "goal_distance_end": round(float((last[OBJECT] - last[GOAL]).norm()), 4),
            "object_moved": round(float((last[OBJECT] - first[OBJECT]).norm()), 4),
            "closest_tip_object": round(float(tips.min()), 4),
        })
    planned = episodes[args.first:]
    pushed = [e for e in planned if e["goal_distance_start"] - e["goal_distance_end"] >= PUSHED_M]
    print(json.dumps({
        "benchmark": "pusher_object_motion", "checkpoint": args.checkpoint, "episodes": len(planned),
        "pushed_episodes": len(pushed), "moved_episodes": sum(e["object_moved"] >= PUSHED_M for e in planned),
        "pushed_at": [e["episode"] for e in pushed], "per_episode": episodes,
    }))


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None
