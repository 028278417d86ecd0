"""One-step error of a trained mcts-model's learned Acrobot-v1 model against the exact step
(mbrl_zoo.tasks.classic.acrobot_step), on the states of 5 episodes of uniformly random torques
(the data the model is fitted to before it acts) and of 5 episodes that swing up by torquing with
the elbow's spin (the states an agent must reach to end an episode early).

Usage: python results/planning-studies/acrobot_model_error.py RUN_FOLDER   (one with its checkpoint.pt)
(acrobot/model_error.jsonl holds its lines for the two runs under acrobot/)
"""

import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from algorithms.muzero_lite import learned_step_fn
from mbrl_zoo.config import from_dict
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.tasks.classic import acrobot_step

DIMS = ["cos q1", "sin q1", "cos q2", "sin q2", "dq1", "dq2"]


def main(folder: Path) -> None:
    config = from_dict(json.loads((folder / "config.json").read_text()))
    spec = config.task_spec()
    model = EnvironmentModel(config.make_model(*spec.dims()), spec, config.algorithm)
    model.load_state_dict(torch.load(folder / "checkpoint.pt", weights_only=False)["state"]["parts"]["model"])
    step = learned_step_fn(model, spec)
    env, rng = gym.make("Acrobot-v1"), np.random.default_rng(0)
    policies = {"random torques": lambda obs: int(rng.integers(3)), "swing-up": lambda obs: 2 if obs[5] > 0 else 0}
    for name, policy in policies.items():
        states, actions = [], []
        for episode in range(5):
            obs, _ = env.reset(seed=episode)
            for _ in range(500):
                states.append(obs)
                actions.append(policy(obs))
                obs, _, terminated, truncated, _ = env.step(actions[-1])
                if terminated or truncated:
                    break
        obs, act = torch.tensor(np.array(states)), torch.tensor(actions)
        with torch.no_grad():
            predicted, _, _ = step(obs, act)
        exact, _, _ = acrobot_step(obs.double(), act)
        error = (predicted.double() - exact).abs()
        print(json.dumps({"run": str(folder), "states": name, "transitions": len(states),
                          "mean_abs_error": dict(zip(DIMS, error.mean(0).numpy().round(4).tolist())),
                          "max_abs_error": dict(zip(DIMS, error.max(0).values.numpy().round(3).tolist()))}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
