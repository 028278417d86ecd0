"""How did a HalfCheetah-v5 run's episodes go? Reads the replay buffer from a run's checkpoint.

HalfCheetah's return is the forward velocity summed over the episode, less an action cost, and
nothing ends an episode early: a cheetah that flips onto its back keeps going for the rest of the
1,000 steps, usually slowly. Per episode (split where the buffer marks an end) this prints the
return, the mean forward velocity, the largest absolute body pitch and how many steps the torso
spent upside down (the cosine of its pitch below 0), and the step at which that first happened.
The zoo's HalfCheetah-v5 observation is the whole state, qpos (root x first) then qvel, so the
pitch is index 2 and the forward velocity index 9.

Usage: python benchmarks/halfcheetah_posture.py results/pets/HalfCheetah-v5/seed2 [--first 1]
(the run folder of a ``pets`` or ``sac`` run: ``config.json`` and ``checkpoint.pt``). Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from mbrl_zoo.buffer import episode_spans
from mbrl_zoo.errors import UserError
from mbrl_zoo.runs import read_run

PITCH, FORWARD_VELOCITY = 2, 9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--first", type=int, default=0, help="episodes to skip (e.g. 1: the random-policy trial)")
    args = parser.parse_args()
    state = read_run(args.run, "HalfCheetah-v5")[1]
    buffer = state["parts"]["real"]
    next_obs, rew = buffer["next_obs"], buffer["rew"]
    episodes = []
    for number, (start, end) in enumerate(episode_spans(buffer), start=1):
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
        "benchmark": "halfcheetah_posture", "run": str(args.run), "env_steps": int(buffer["size"]),
        "episodes_upside_down": sum(e["steps_upside_down"] > 0 for e in episodes), "episodes": episodes,
    }))


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:
        raise SystemExit(f"error: {exc}") from None
