"""Every dagger-model pairing runs a few short iterations on cart-pole balance end to end, and a
run killed in the middle of an episode resumes to the same metrics (with the MPC policy and with
SAC trained in the model)."""

import csv

import pytest
import torch

import algorithms.dagger_model
import algorithms.loop
from algorithms.sac import SACAgent
from mbrl_zoo.config import check_buildable, resolve
from mbrl_zoo.models.environment import EnvironmentModel
from mbrl_zoo.registry import ALGORITHMS
from mbrl_zoo.runs import Run

TINY = {"iterations": 3, "expert_steps": 60, "horizon": 4, "particles": 2, "fit_epochs": 2,
        "diagnostic_horizon": 3}
TINY_SAC = {"hidden": [16, 16], "batch_size": 16, "sac_updates_per_iteration": 20, "rollout_every": 10,
            "rollout_batch_size": 8, "rollout_length": 2}


def train(folder, pairing: str, resume: bool = False, run_class: type = Run, **algorithm) -> list[dict]:
    settings = {**TINY, **({"expert_steps": 0} if pairing == "learner-only" else {}),
                **(TINY_SAC if pairing == "dagger-model-sac" else {}), **algorithm}
    config = resolve(pairing, {"run": {"task": "cartpole-balance", "seed": 2, "steps": 400},
                               "algorithm": settings, "model": {"hidden": 16, "layers": 2, "ensemble_size": 2,
                                                                "num_elites": 2},
                               "planner": {"population_size": 12, "iterations": 2}})
    check_buildable(config)
    run = run_class(folder, config.to_dict(), total_steps=400, quiet=True, resume=resume)
    try:
        ALGORITHMS.get(config.algorithm_name).obj.train(config, run)
    finally:
        run.close()
    with open(folder / "metrics.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("pairing", ["dagger-model", "train-once", "learner-only", "no-aggregation",
                                     "dagger-model-sac"])
def test_pairing_runs_its_iterations(tmp_path, pairing, monkeypatch):
    fitted = []
    refit = EnvironmentModel.refit

    def spy(self, real, generator, other=None, other_share=0.0):
        fitted.append((len(real), 0 if other is None else len(other), other_share))
        return refit(self, real, generator, other, other_share)

    monkeypatch.setattr(EnvironmentModel, "refit", spy)
    rows = train(tmp_path, pairing)
    assert [int(float(r["iteration"])) for r in rows] == [1, 2, 3]
    returns = [float(r["iteration_return"]) for r in rows]
    assert float(rows[-1]["best_return"]) == max(returns)
    assert returns[int(float(rows[-1]["best_iteration"])) - 1] == max(returns)
    assert all(r["model_1step_nmse_learner"] for r in rows)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["state"]["parts"]["best"]
    assert state["iteration"] == int(float(rows[-1]["best_iteration"])) and state["model"] is not None
    lengths = [int(r["episode_steps"]) for r in rows]
    expert = 0 if pairing == "learner-only" else 60
    # M_1 on D_expert, then (except train-once) one refit after each iteration but the last.
    expected = {"dagger-model": [(0, expert, 1.0), (lengths[0], expert, 0.5), (sum(lengths[:2]), expert, 0.5)],
                "dagger-model-sac": [(0, expert, 1.0), (lengths[0], expert, 0.5), (sum(lengths[:2]), expert, 0.5)],
                "no-aggregation": [(0, expert, 1.0), (lengths[0], expert, 0.5), (lengths[1], expert, 0.5)],
                "learner-only": [(0, 0, 1.0), (lengths[0], 0, 0.0), (sum(lengths[:2]), 0, 0.0)],
                "train-once": [(0, expert, 1.0)]}[pairing]
    assert fitted == expected
    if pairing != "learner-only":
        assert float(rows[0]["expert_return"]) > 0 and rows[0]["model_1step_nmse_expert"]


class Killed(Exception):
    pass


def test_sac_is_trained_in_every_model_and_kept_across_iterations(tmp_path, monkeypatch):
    trained = []
    train_in_model = algorithms.dagger_model.train_in_model

    def spy(agent, model, real, cfg, generator):
        trained.append(len(real))
        return train_in_model(agent, model, real, cfg, generator)

    monkeypatch.setattr(algorithms.dagger_model, "train_in_model", spy)
    rows = train(tmp_path, "dagger-model-sac")
    lengths = [int(r["episode_steps"]) for r in rows]
    # pi_1 in M_1 from D_expert's 60 states, pi_2 and pi_3 from D_expert U D_learner.
    assert trained == [60, 60 + lengths[0], 60 + sum(lengths[:2])]
    parts = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["state"]["parts"]
    assert "policy" not in parts
    # One agent, warm-started: 20 updates in each of the 3 models.
    assert parts["agent"]["actor_optim"]["state"][0]["step"] == 60
    assert all(float(r["q_loss"]) >= 0 and 0 < float(r["rollout_mean_steps"]) <= 2 for r in rows)
    best = parts["best"]
    assert best["agent"] is not None and best["model"] is not None
    agent = SACAgent(4, 1, [-1.0], [1.0], hidden=(16, 16))
    agent.load_state_dict(best["agent"])
    # pi_3 executed after the last training: the best agent is the final one exactly when it is pi_3.
    same = torch.equal(best["agent"]["networks"]["actor"]["weights.0"], parts["agent"]["networks"]["actor"]["weights.0"])
    assert same == (best["iteration"] == 3)
    assert agent.greedy(torch.zeros(4).numpy()).shape == (1,)


@pytest.mark.parametrize("pairing", ["dagger-model", "dagger-model-sac"])
def test_resume_after_a_kill_reaches_the_same_metrics(tmp_path, monkeypatch, pairing):
    monkeypatch.setattr(algorithms.loop, "CHECKPOINT_EVERY_S", 0.0)
    whole = train(tmp_path / "whole", pairing)

    class Dies(Run):
        def advance(self, env_step, **postfix):
            super().advance(env_step, **postfix)
            if env_step == int(whole[0]["env_step"]) + 3:
                raise Killed

    with pytest.raises(Killed):
        train(tmp_path / "cut", pairing, run_class=Dies)
    resumed = train(tmp_path / "cut", pairing, resume=True)
    drop = ("episode_s", "wall_s", "model_fit_s", "plan_ms_per_step")
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed] == \
        [{k: v for k, v in r.items() if k not in drop} for r in whole]


def test_a_sac_run_and_a_data_set_serve_as_experts(tmp_path):
    import numpy as np

    import algorithms.sac  # noqa: F401  (registers sac)

    sac = resolve("sac", {"run": {"task": "cartpole-balance", "seed": 0, "steps": 40},
                          "algorithm": {"hidden": [16, 16], "random_steps": 20, "batch_size": 16}})
    run = Run(tmp_path / "sac", sac.to_dict(), total_steps=40, quiet=True)
    ALGORITHMS.get("sac").obj.train(sac, run)
    run.close()
    rows = train(tmp_path / "from-sac", "dagger-model", iterations=1, expert=str(tmp_path / "sac"), expert_steps=30)
    assert len(rows) == 1 and float(rows[0]["expert_return"]) > 0 and rows[0]["model_1step_nmse_expert"]

    n = 30
    g = np.random.default_rng(0)
    obs = g.normal(size=(n + 1, 4)) * 0.05
    path = tmp_path / "expert.npz"
    np.savez(path, obs=obs[:-1], act=g.uniform(-1, 1, (n, 1)), next_obs=obs[1:], reward=np.ones(n),
             terminated=np.zeros(n, dtype=bool), truncated=np.eye(n, dtype=bool)[-1])
    rows = train(tmp_path / "from-npz", "dagger-model", iterations=1, expert=str(path), expert_steps=30)
    assert float(rows[0]["expert_return"]) == 30.0


def test_an_expert_run_of_another_task_is_refused(tmp_path):
    import algorithms.sac  # noqa: F401  (registers sac)
    from mbrl_zoo.errors import UserError

    sac = resolve("sac", {"run": {"task": "InvertedPendulum-v5", "seed": 0, "steps": 5},
                          "algorithm": {"hidden": [8], "random_steps": 5}})
    run = Run(tmp_path / "sac", sac.to_dict(), total_steps=5, quiet=True)
    ALGORITHMS.get("sac").obj.train(sac, run)
    run.close()
    with pytest.raises(UserError, match="expected a run on cartpole-balance"):
        check_buildable(resolve("dagger-model", {"run": {"task": "cartpole-balance"},
                                                 "algorithm": {"expert": str(tmp_path / "sac")}}))


def test_a_model_learning_run_serves_as_expert(tmp_path):
    import algorithms.mpc  # noqa: F401  (registers pets)

    pets = resolve("pets", {"run": {"task": "cartpole-balance", "seed": 0, "steps": 40},
                            "algorithm": {"random_steps": 20, "refit_every": 20, "horizon": 4, "particles": 2,
                                          "fit_epochs": 2},
                            "model": {"hidden": 16, "layers": 2, "ensemble_size": 2, "num_elites": 2},
                            "planner": {"population_size": 12, "iterations": 2}})
    run = Run(tmp_path / "pets", pets.to_dict(), total_steps=40, quiet=True)
    ALGORITHMS.get("mpc").obj.train(pets, run)
    run.close()
    rows = train(tmp_path / "from-pets", "dagger-model", iterations=1, expert=str(tmp_path / "pets"), expert_steps=20)
    assert len(rows) == 1 and float(rows[0]["expert_return"]) > 0
