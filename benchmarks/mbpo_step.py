"""Time MBPO's env step (Janner et al. 2019, Algorithm 2) after warm-up, as a run pays for it.

The pieces are those ``mbpo`` runs (the ``pe`` ensemble, :class:`algorithms.sac.SACAgent`,
:func:`algorithms.model_rollouts.branched_rollouts` and ``mixed_batch``,
:func:`mbrl_zoo.models.fit.fit`), at the settings on the command line; the defaults are
Hopper-v5's preset with k = 1: 7 members (5 elites) of 4 x 200 SiLU, 400 model rollouts per env
step launched as one batch of 100,000 every 250 steps, G = 20 SAC updates on minibatches of 256
with 5% real transitions, SAC with two 256-unit layers.

The real buffer is filled with ``--real-steps`` uniform-random transitions and the model fitted
once for exactly ``--fit-epochs`` epochs (timed, reported apart). Then ``--warmup`` env steps
run untimed and ``--steps`` are timed; each is one env step of the policy, at every
``--model-train-freq``-th step a batch of branched rollouts (the first timed step makes one),
then G SAC updates. One JSON line:

    ms_per_env_step = ms_env_policy_and_updates + ms_rollouts_per_env_step

where the rollout batch's time is spread over the ``--model-train-freq`` steps it serves; a fit
every ``--model-train-freq`` steps would add ``ms_fit_per_env_step`` (at ``--fit-epochs``).

    python benchmarks/mbpo_step.py --threads 1 --steps 100

``benchmarks/peers/compare.py mbpo-step`` runs it beside mbrl-lib's MBPO at the same settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import mbrl_zoo.app  # noqa: E402,F401  (registers every component)
from algorithms.model_rollouts import branched_rollouts, mixed_batch  # noqa: E402
from algorithms.sac import SACAgent  # noqa: E402
from mbrl_zoo.buffer import ReplayBuffer  # noqa: E402
from mbrl_zoo.models.fit import fit  # noqa: E402
from mbrl_zoo.registry import MODELS, TASKS  # noqa: E402
from mbpo_settings import add_arguments, timed_window  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="Hopper-v5")
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    spec = TASKS.get(args.task).obj
    env = spec.make_env()
    obs_dim, act_dim = int(np.prod(env.observation_space.shape)), int(np.prod(env.action_space.shape))
    low, high = env.action_space.low, env.action_space.high
    model = MODELS.get("pe").obj(obs_dim=obs_dim, act_dim=act_dim, ensemble_size=args.ensemble,
                                 num_elites=args.elites, hidden=200, layers=4, activation="silu")
    agent = SACAgent(obs_dim, act_dim, low, high, hidden=(args.sac_hidden, args.sac_hidden),
                     target_entropy=args.target_entropy, seed=args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    real = ReplayBuffer(obs_dim, act_dim, args.real_steps + args.warmup + args.steps)
    obs, _ = env.reset(seed=args.seed)

    def env_step(act: np.ndarray) -> None:
        nonlocal obs
        next_obs, rew, terminated, truncated, _ = env.step(act)
        real.add(obs, act, next_obs, float(rew), bool(terminated), bool(truncated))
        obs = env.reset()[0] if terminated or truncated else next_obs

    while len(real) < args.real_steps:
        env_step(rng.uniform(low, high).astype(np.float32))
    start = time.perf_counter()
    fit(model, real.all(), epochs=args.fit_epochs, patience=args.fit_epochs, generator=generator)
    fit_s = time.perf_counter() - start

    rollout_batch = args.rollouts_per_step * args.model_train_freq
    imagined = ReplayBuffer(obs_dim, act_dim, rollout_batch * args.rollout_length)

    def rollouts() -> None:
        starts = real.sample(rollout_batch, generator).obs
        imagined.add_batch(branched_rollouts(model, starts, lambda o: agent.policy(o)[0], args.rollout_length,
                                             spec.reward_fn, spec.termination_fn, generator))

    def sac_updates() -> None:
        for _ in range(args.updates_per_step):
            agent.update(mixed_batch(real, imagined, args.batch_size, args.real_ratio, generator))

    timed = timed_window(lambda: env_step(agent.act(obs)), rollouts, sac_updates, args, fit_s)
    settings = {k: getattr(args, k) for k in ("task", "ensemble", "elites", "rollouts_per_step", "model_train_freq",
                                              "rollout_length", "updates_per_step", "batch_size", "sac_hidden",
                                              "real_ratio")}
    print(json.dumps({
        **timed, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "settings": {**settings, "model_hidden": 200, "model_layers": 4, "target_update_interval": 1,
                     "learn_alpha": True},
    }))


if __name__ == "__main__":
    main()
