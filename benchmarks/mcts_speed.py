"""Simulations per second of pUCT search (``planners.mcts``) on CartPole-v1, and an oracle episode.

Speed: times :func:`planners.mcts.search` from ``--starts`` CartPole-v1 states (resets), ``--repeats``
times each, with uniform priors and two step functions,

* ``oracle``: the exact simulator, :func:`mbrl_zoo.tasks.classic.cartpole_step` on float64 states;
* ``ensemble``: a learned probabilistic ensemble of 4 x 200 MLPs (the registry's ``pe``: 7 members,
  5 elites), fitted for ``--fit-epochs`` epochs on random transitions with one-hot actions, stepped
  by its mean over elites (:func:`planners.mcts.model_step_fn`),

each with two value functions: ``zero`` (V = 0: the search and the model alone, the cost a learned
value network's call would add to) and ``rollout`` (one uniformly random rollout of
``--rollout-depth`` steps through the same step function, the no-learning baseline), on each of
``--threads``. Prints one JSON line: the median simulations per second of each combination.

Episode (``--episode``): plays one CartPole-v1 episode (reset seed ``--seed``) acting by oracle
search with ``--simulations`` simulations per step from the env's exact state, uniform priors,
values from ``--rollouts`` random rollouts of ``--rollout-depth`` steps, no root noise and
temperature 0; prints one JSON line with the return (500 = balanced throughout) and timings.

Usage: python benchmarks/mcts_speed.py [--simulations 50] [--threads 1 2] [--repeats 3]
       python benchmarks/mcts_speed.py --episode [--simulations 50] [--rollouts 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import gymnasium as gym
import torch

from mbrl_zoo.models import build_model, fit
from mbrl_zoo.tasks import get_task
from mbrl_zoo.tasks.check import record_random_transitions
from mbrl_zoo.tasks.classic import cartpole_step
from planners.mcts import MCTSConfig, model_step_fn, random_rollout_value, search, uniform_prior

TASK = "CartPole-v1"


def zero_value(obs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(obs.shape[0], dtype=torch.float64)


def fitted_ensemble(epochs: int, seed: int):
    """The registry's ``pe`` (7 members of 4 x 200) fitted briefly on random CartPole-v1 transitions."""
    task = get_task(TASK)
    torch.manual_seed(seed)
    model = build_model("pe", *task.dims(), task=task, hidden=200, layers=4)
    data = record_random_transitions(task, transitions=2000, seed=seed)
    data = dataclasses.replace(data, **{name: getattr(data, name).float()
                                        for name in ("obs", "act", "next_obs", "rew")})
    fit(model, data, epochs=epochs, generator=torch.Generator().manual_seed(seed))
    return model.eval()


def start_states(count: int, dtype: torch.dtype) -> list[torch.Tensor]:
    env = gym.make(TASK)
    states = []
    for seed in range(count):
        env.reset(seed=seed)
        states.append(torch.as_tensor(env.unwrapped.state, dtype=dtype)[None])
    return states


def sims_per_second(step_fn, value_fn, states: list[torch.Tensor], config: MCTSConfig, repeats: int) -> float:
    """Median over ``repeats`` rounds of (simulations run / seconds) over all ``states``."""
    search(states[0], step_fn, uniform_prior(2), value_fn, config, generator=0)  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for index, state in enumerate(states):
            search(state, step_fn, uniform_prior(2), value_fn, config, generator=index)
        rates.append(config.simulations * len(states) / (time.perf_counter() - start))
    return statistics.median(rates)


def speed(args: argparse.Namespace) -> dict:
    config = MCTSConfig(simulations=args.simulations, temperature=0.0, dirichlet_fraction=0.0)
    task = get_task(TASK)
    ensemble = fitted_ensemble(args.fit_epochs, args.seed)
    steps = {"oracle": (cartpole_step, torch.float64), "ensemble": (model_step_fn(ensemble, task), torch.float32)}
    figures: dict = {}
    for name, (step_fn, dtype) in steps.items():
        states = start_states(args.starts, dtype)
        values = {"zero": zero_value,
                  "rollout": random_rollout_value(step_fn, 2, depth=args.rollout_depth, discount=config.discount,
                                                  generator=torch.Generator().manual_seed(args.seed))}
        for threads in args.threads:
            torch.set_num_threads(threads)
            for value_name, value_fn in values.items():
                rate = sims_per_second(step_fn, value_fn, states, config, args.repeats)
                cell = figures.setdefault(name, {}).setdefault(f"{threads}_threads", {})
                cell[f"{value_name}_value"] = round(rate, 1)
    return {"benchmark": "mcts_speed", "task": TASK, "simulations": args.simulations,
            "rollout_depth": args.rollout_depth, "starts": args.starts, "repeats": args.repeats,
            "ensemble": "pe 7 members (5 elites) x 4 x 200, mean over elites", "sims_per_s": figures}


def episode(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads[0])
    config = MCTSConfig(simulations=args.simulations, max_depth=args.max_depth, temperature=0.0,
                        dirichlet_fraction=0.0, c1=args.c1, discount=args.discount)
    value_fn = random_rollout_value(cartpole_step, 2, depth=args.rollout_depth, rollouts=args.rollouts,
                                    discount=args.discount, generator=torch.Generator().manual_seed(args.seed))
    env = get_task(TASK).make_env()
    env.reset(seed=args.seed)
    total, steps, largest_x = 0.0, 0, 0.0
    start = time.perf_counter()
    done = False
    while not done:
        state = torch.as_tensor(env.unwrapped.state, dtype=torch.float64)[None]
        result = search(state, cartpole_step, uniform_prior(2), value_fn, config, generator=steps)
        obs, reward, terminated, truncated, _ = env.step(int(result.action[0]))
        total, steps, done = total + reward, steps + 1, terminated or truncated
        largest_x = max(largest_x, abs(float(obs[0])))
    seconds = time.perf_counter() - start
    return {"benchmark": "mcts_episode", "task": TASK, "seed": args.seed, "return": total, "steps": steps,
            "simulations": args.simulations, "rollouts": args.rollouts, "rollout_depth": args.rollout_depth,
            "c1": args.c1, "discount": args.discount, "max_depth": args.max_depth,
            "largest_cart_offset_m": round(largest_x, 3), "seconds": round(seconds, 1),
            "ms_per_step": round(1e3 * seconds / steps, 1), "threads": args.threads[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=50)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--rollout-depth", type=int, default=20)
    parser.add_argument("--fit-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episode", action="store_true", help="play one oracle-search episode instead")
    parser.add_argument("--rollouts", type=int, default=1, help="random rollouts per leaf (episode)")
    parser.add_argument("--c1", type=float, default=MCTSConfig.c1)
    parser.add_argument("--discount", type=float, default=MCTSConfig.discount)
    parser.add_argument("--max-depth", type=int, default=MCTSConfig.max_depth)
    args = parser.parse_args()
    print(json.dumps(episode(args) if args.episode else speed(args)))


if __name__ == "__main__":
    main()
