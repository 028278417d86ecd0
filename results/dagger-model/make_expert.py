"""Write an expert data set (the ``.npz`` format of ``algorithms.dagger_model.load_expert_dataset``)
from a SAC run's greedy policy.

    python results/dagger-model/make_expert.py RUN_DIR OUT.npz [--steps 1000] [--noise 0.0] [--seed 0]

Plays ``--steps`` transitions (whole episodes, the last one cut and marked truncated) of the run's
task with the saved agent acting greedily, its actions perturbed by Gaussian noise of std
``--noise`` half-widths of the action box (clipped to the box) so that the data cover more than
the one trajectory a perfect policy keeps to, and prints the returns of the complete episodes.
"""

import argparse

import numpy as np

import algorithms  # noqa: F401  (registers the pairings)
from algorithms.loop import play_episode
from algorithms.sac import SACAgent
from mbrl_zoo.registry import TASKS
from mbrl_zoo.runs import episode_seed, read_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config, state = read_run(args.run_dir)
    spec = TASKS.get(config["run"]["task"]).obj
    env = spec.make_env()
    obs_dim, act_dim = spec.dims()
    low, high = spec.action_bounds()
    agent = SACAgent(obs_dim, act_dim, low, high, hidden=tuple(config["algorithm"]["hidden"]))
    agent.load_state_dict(state["parts"]["agent"])
    rng = np.random.default_rng(args.seed)
    low, high = np.asarray(low, dtype=np.float32), np.asarray(high, dtype=np.float32)

    def noisy(obs: np.ndarray) -> np.ndarray:
        action = agent.greedy(obs)
        return np.clip(action + args.noise * (high - low) / 2 * rng.standard_normal(act_dim), low, high)

    rows = {key: [] for key in ("obs", "act", "next_obs", "reward", "terminated", "truncated")}
    returns, episode = [], 0
    while len(rows["obs"]) < args.steps:
        total = 0.0
        for step in play_episode(env, noisy, episode_seed(args.seed, episode)):
            last = len(rows["obs"]) + 1 == args.steps
            for key, value in zip(rows, (step.obs, step.act, step.next_obs, step.rew, step.terminated,
                                         step.truncated or last)):
                rows[key].append(value)
            total += step.rew
            if last:
                break
        if step.terminated or step.truncated:
            returns.append(total)
        episode += 1
    np.savez(args.out, **{key: np.asarray(values) for key, values in rows.items()})
    print({"transitions": len(rows["obs"]), "complete_episode_returns": returns})


if __name__ == "__main__":
    main()
