"""CPU cost of one MBPO env step (Janner et al. 2019), split into its parts.

Per env step MBPO pays for: the env step and one policy action; G SAC updates on mixed
minibatches; and, amortised over the ``refit_every`` steps between fits, one model fit on
the real buffer and ``rollout_batch_size`` branched k-step model rollouts. This script builds
those pieces as ``mbpo`` builds them (the task's preset, the ``pe`` model), fills the real buffer
with ``--real-steps`` random transitions, times each part and prints one JSON line:

    ms_per_env_step = ms_env_and_policy + ms_sac_updates + ms_model_rollouts + ms_model_training

with ``ms_model_rollouts = rollout_s / refit_every * 1000`` and likewise for training. A
cProfile summary of one model fit, one rollout batch and ``refit_every`` learning steps (the
work between two fits) goes to stderr.

    python benchmarks/mbpo_cost.py --task InvertedPendulum-v5
    python benchmarks/mbpo_cost.py --task Hopper-v5 --rollout-length 15
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from algorithms import mbpo, sac  # noqa: E402
from algorithms.loop import add_step, play_episode  # noqa: E402
from algorithms.model_rollouts import branched_rollouts, mixed_batch  # noqa: E402
from mbrl_zoo.buffer import ReplayBuffer  # noqa: E402
from mbrl_zoo.models.environment import EnvironmentModel  # noqa: E402
from mbrl_zoo.config import resolve  # noqa: E402
import mbrl_zoo.app  # noqa: E402,F401  (registers every component)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="InvertedPendulum-v5")
    parser.add_argument("--real-steps", type=int, default=5000, help="random transitions the model is fitted to")
    parser.add_argument("--rollout-length", type=int, default=1, help="k of the rollouts timed")
    parser.add_argument("--updates", type=int, default=None, help="G (default: the task's preset)")
    parser.add_argument("--rollout-batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--fit-epochs", type=int, default=None, help="cap on fit epochs (default: the config's)")
    parser.add_argument("--update-reps", type=int, default=200, help="SAC updates timed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    overrides = {k: v for k, v in (("updates_per_step", args.updates), ("rollout_batch_size", args.rollout_batch_size),
                                  ("fit_epochs", args.fit_epochs)) if v is not None}
    config = resolve("mbpo", {"run": {"task": args.task, "seed": args.seed}, "algorithm": overrides})
    cfg: mbpo.Config = config.algorithm
    spec = config.task_spec()
    env = spec.make_env()
    obs_dim, act_dim = spec.dims()
    low, high = spec.action_bounds()
    torch.manual_seed(args.seed)
    model = EnvironmentModel(config.make_model(obs_dim, act_dim), spec, cfg)
    agent = sac.SACAgent(obs_dim, act_dim, low, high, hidden=tuple(cfg.hidden), lr=cfg.lr, discount=cfg.discount,
                         tau=cfg.tau, target_entropy=cfg.target_entropy, seed=args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    real = ReplayBuffer(obs_dim, act_dim, args.real_steps)
    episode = 0
    while len(real) < args.real_steps:
        for step in play_episode(env, lambda o: rng.uniform(low, high), episode):
            add_step(real, step)
            if len(real) == args.real_steps:
                break
        episode += 1
    imagined = ReplayBuffer(obs_dim, act_dim, cfg.rollout_batch_size * args.rollout_length)

    start = time.perf_counter()
    fit_stats = model.refit(real, generator)
    fit_s = time.perf_counter() - start

    def rollouts() -> int:
        starts = real.sample(cfg.rollout_batch_size, generator).obs
        batch = branched_rollouts(model.dynamics, starts, lambda o: agent.policy(o)[0], args.rollout_length,
                                  spec.reward_fn, spec.termination_fn, generator)
        imagined.add_batch(batch)
        return len(batch)

    start = time.perf_counter()
    made = rollouts()
    rollout_s = time.perf_counter() - start

    def update() -> None:
        agent.update(mixed_batch(real, imagined, cfg.batch_size, cfg.real_ratio, generator))

    for _ in range(10):
        update()
    start = time.perf_counter()
    for _ in range(args.update_reps):
        update()
    update_ms = (time.perf_counter() - start) / args.update_reps * 1000

    steps, start, obs = 0, time.perf_counter(), env.reset(seed=args.seed)[0]
    while steps < 1000:
        obs, _, terminated, truncated, _ = env.step(agent.act(obs))
        steps += 1
        if terminated or truncated:
            obs = env.reset()[0]
    env_ms = (time.perf_counter() - start) / steps * 1000

    parts = {
        "ms_env_and_policy": env_ms,
        "ms_sac_updates": cfg.updates_per_step * update_ms,
        "ms_model_rollouts": rollout_s / cfg.refit_every * 1000,
        "ms_model_training": fit_s / cfg.refit_every * 1000,
    }
    result = {
        "task": args.task, "threads": args.threads, "model": config.model_name,
        "model_settings": dataclasses.asdict(config.model), "G": cfg.updates_per_step,
        "batch_size": cfg.batch_size, "rollout_batch_size": cfg.rollout_batch_size, "rollout_length": args.rollout_length,
        "refit_every": cfg.refit_every, "real_steps": args.real_steps,
        "ms_per_env_step": sum(parts.values()), **parts,
        "sac_update_ms": update_ms, "fit_s": fit_s, "fit_epochs": fit_stats.get("model_fit_epochs"),
        "rollout_s": rollout_s, "imagined_transitions": made,
    }

    profile = cProfile.Profile()
    profile.enable()
    model.refit(real, generator)
    rollouts()
    for _ in range(cfg.refit_every):
        update()
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(15)
    print(text.getvalue(), file=sys.stderr)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
