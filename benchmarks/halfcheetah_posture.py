"""How did a HalfCheetah-v5 run's episodes go? Reads the replay buffer from a run's checkpoint.

HalfCheetah's return is the forward velocity summed over the episode, less an action cost, and
nothing ends an episode early: a cheetah that flips onto its back keeps going for the rest of the
1,000 steps, usually slowly. Per episode (split where the buffer marks an end) this prints the
return, the mean forward velocity, the largest absolute body pitch and how many steps the torso
spent upside down (the cosine of its pitch below 0; observation index 1 is the pitch, index 8
the forward velocity), and the step at which that first happened.

Usage: python benchmarks/halfcheetah_posture.py results/pets/HalfCheetah-v5/seed2 [--first 1]
(the run folder of a ``pets`` or ``sac`` run: ``config.json`` and ``checkpoint.pt``). Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

PITCH, FORWARD_VELOCITY = 1, 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--first", type=int, default=0, help="episodes to skip (e.g. 1: the random-policy trial)")
    args = parser.parse_args()
    config = json.loads((args.run / "config.json").read_text())
    if config["run"]["task"] != "HalfCheetah-v5":
        raise SystemExit(f"expected a HalfCheetah-v5 run, got task {config['run']['task']!r}")
    state = torch.load(args.run / "checkpoint.pt", map_location="cpu", weights_only=False)["state"]
    buffer = state["buffer"] if "buffer" in state else state["learner"]["buffer"]  # mpc / sac checkpoints
    rows = int(buffer["size"])
    if int(buffer["next"]) != rows % int(buffer["capacity"]):
        raise SystemExit("the buffer has wrapped around; episodes are no longer in order")
    next_obs, rew = buffer["next_obs"][:rows], buffer["rew"][:rows]
    ends = (buffer["terminated"][:rows] | buffer["truncated"][:rows]).nonzero()[:, 0].tolist()
    episodes = []
    for number, (start, end) in enumerate(zip([0] + [e + 1 for e in ends[:-1]], ends), start=1):
        if number <= args.first:
            continue
        pitch = next_obs[start:end + 1, PITCH]
        upside_down = (pitch.cos() < 0).nonzero()[:, 0]
        episodes.append({
            "episode": number, "steps": end - start + 1, "return": round(float(rew[start:end + 1].sum()), 1),
            "mean_forward_velocity": round(float(next_obs[start:end + 1, FORWARD_VELOCITY].mean()), 2),
            "max_abs_pitch_deg": round(math.degrees(float(pitch.abs().max())), 1),
            "steps_upside_down": int(upside_down.numel()),
            "first_upside_down_step": int(upside_down[0]) + 1 if upside_down.numel() else None,
        })
    print(json.dumps({
        "benchmark": "halfcheetah_posture", "run": str(args.run), "env_steps": rows,
        "episodes_upside_down": sum(e["steps_upside_down"] > 0 for e in episodes), "episodes": episodes,
    }))


if __name__ == "__main__":
    main()
