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


def _clocks() -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds: CPU time is far less disturbed than wall time by
    other work on a shared machine (with one thread it is the step's own work)."""
    return time.perf_counter(), time.process_time()


def timed_window(env_step: Callable[[], None], rollout_batch: Callable[[], None], sac_updates: Callable[[], None],
                 args, fit_seconds: float) -> dict:
    """MBPO's env step as Janner et al. 2019 (Algorithm 2) and mbrl-lib order it: ``env_step()``,
    at every ``args.model_train_freq``-th step ``rollout_batch()``, then ``sac_updates()`` (G of
    them). ``args.warmup`` steps run first, then ``args.steps`` are timed, the first of which
    makes a rollout batch. Per env step, in wall-clock and CPU milliseconds: the steps' own time
    (env, policy, SAC updates) plus a batch's time over the ``model_train_freq`` steps it serves;
    the time of one model fit per batch is reported apart (``ms_fit_per_env_step``)."""
    batches = []

    def step(i: int) -> None:
        env_step()
        if i % args.model_train_freq == 0:
            begin = _clocks()
            rollout_batch()
            batches.append([end - start for end, start in zip(_clocks(), begin)])
        sac_updates()

    for i in range(args.warmup):
        step(i)
    batches.clear()
    begin = _clocks()
    for i in range(args.steps):
        step(i)
    window = [end - start for end, start in zip(_clocks(), begin)]
    out = {}
    for k, prefix in enumerate(("", "cpu_")):
        batch_s = sum(b[k] for b in batches) / len(batches)
        own_ms = (window[k] - sum(b[k] for b in batches)) / args.steps * 1e3
        rollout_ms = batch_s / args.model_train_freq * 1e3
        out.update({f"{prefix}ms_per_env_step": own_ms + rollout_ms, f"{prefix}ms_env_policy_and_updates": own_ms,
                    f"{prefix}ms_rollouts_per_env_step": rollout_ms, f"{prefix}rollout_batch_s": batch_s})
    return {**out, "steps": args.steps, "fit_s": fit_seconds, "fit_epochs": args.fit_epochs,
            "ms_fit_per_env_step": fit_seconds / args.model_train_freq * 1e3, "real_steps": args.real_steps}
