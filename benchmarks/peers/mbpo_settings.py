"""The settings of the timed MBPO env step, one argument list for both sides of the comparison
(``benchmarks/mbpo_step.py`` for ours, ``mbrl_lib_bench.py mbpo-step`` for mbrl-lib's).

Defaults: Hopper's MBPO preset (Janner et al. 2019, Appendix C) with k = 1: 7 members (5 elites),
400 model rollouts per env step launched as one batch every 250 steps, G = 20 SAC updates on
minibatches of 256 holding 5% real transitions, SAC with two hidden layers of 256.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=100, help="env steps timed")
    parser.add_argument("--warmup", type=int, default=10, help="env steps run before timing")
    parser.add_argument("--real-steps", type=int, default=5000, help="random transitions in the real buffer")
    parser.add_argument("--fit-epochs", type=int, default=5, help="epochs of the one model fit (timed apart)")
    parser.add_argument("--ensemble", type=int, default=7)
    parser.add_argument("--elites", type=int, default=5)
    parser.add_argument("--rollouts-per-step", type=int, default=400)
    parser.add_argument("--model-train-freq", type=int, default=250, help="env steps between rollout batches")
    parser.add_argument("--rollout-length", type=int, default=1, help="k")
    parser.add_argument("--updates-per-step", type=int, default=20, help="G")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sac-hidden", type=int, default=256)
    parser.add_argument("--target-entropy", type=float, default=-1.0)
    parser.add_argument("--real-ratio", type=float, default=0.05)


def timed_window(mbpo_step: Callable[[int], None], args, rollout_seconds: list[float], fit_seconds: float) -> dict:
    """Run ``args.warmup`` steps of ``mbpo_step(i)``, then time ``args.steps`` more (the first of
    which makes a rollout batch, appending its seconds to ``rollout_seconds``); :func:`timing`."""
    for i in range(args.warmup):
        mbpo_step(i)
    rollout_seconds.clear()
    start = time.perf_counter()
    for i in range(args.steps):
        mbpo_step(i)
    return timing(time.perf_counter() - start, rollout_seconds, fit_seconds, args)


def timing(step_seconds: float, rollout_seconds: list[float], fit_seconds: float, args) -> dict:
    """The JSON fields of a timed window: ``step_seconds`` for ``args.steps`` env steps including
    the rollout batches made in them (``rollout_seconds``, one per batch). Per env step: the steps'
    own time (env, policy, SAC updates) plus a batch's time over the steps it serves; the fit's
    time per env step (one fit per batch) is reported apart."""
    batch_s = sum(rollout_seconds) / len(rollout_seconds)
    own_ms = (step_seconds - sum(rollout_seconds)) / args.steps * 1e3
    rollout_ms = batch_s / args.model_train_freq * 1e3
    return {"ms_per_env_step": own_ms + rollout_ms, "ms_env_policy_and_updates": own_ms,
            "ms_rollouts_per_env_step": rollout_ms, "rollout_batch_s": batch_s, "steps": args.steps,
            "fit_s": fit_seconds, "fit_epochs": args.fit_epochs,
            "ms_fit_per_env_step": fit_seconds / args.model_train_freq * 1e3, "real_steps": args.real_steps}
