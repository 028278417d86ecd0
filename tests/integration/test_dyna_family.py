"""The Dyna family end to end: each pairing (sac, dyna, mbpo, mbmf, mve, steve) and each model
inside Dyna and MBPO runs a few hundred env steps through ``resolve`` + ``Run`` into a tmp folder
and writes metrics; MBPO and STEVE run with a single model too; runs killed in the middle of an
episode resume to the same metrics, and a run extended with more steps equals a fresh run."""

import csv
import dataclasses

import pytest

import algorithms.dyna  # noqa: F401  (registers dyna)
import algorithms.loop
import algorithms.mbmf  # noqa: F401  (registers mbmf)
import algorithms.mbpo
import algorithms.mve  # noqa: F401  (registers mve)
import algorithms.sac  # noqa: F401  (registers sac)
import algorithms.steve  # noqa: F401  (registers steve)
from mbrl_zoo.config import resolve
from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import ALGORITHMS, MODELS
from mbrl_zoo.runs import Run


TASK = "InvertedPendulum-v5"
SMALL_SAC = {"hidden": [32, 32], "batch_size": 32, "eval_every": 100}
SMALL_FIT = {"fit_epochs": 2, "fit_batch_size": 64}
SMALL_MODEL = {"hidden": 32, "layers": 2}
SETTINGS = {
    "sac": {"random_steps": 50},
    "dyna": {"random_steps": 50, "updates_per_step": 2, "refit_every": 60, "rollouts_per_step": 16,
             "rollout_length": 2, **SMALL_FIT},
    "mbpo": {"random_steps": 50, "updates_per_step": 2, "epoch_length": 60, "refit_every": 60,
             "rollout_batch_size": 200, "rollout_schedule": [0, 2, 1, 3], **SMALL_FIT},
    "mbmf": {"random_steps": 30, "mpc_steps": 90, "refit_every": 60, "horizon": 4, "dagger_iterations": 1,
             "dagger_steps": 40, "bc_epochs": 2, "critic_warmup_updates": 10, **SMALL_FIT},
    "mve": {"random_steps": 50, "horizon": 2, "refit_every": 60, **SMALL_FIT},
    "steve": {"random_steps": 50, "horizon": 2, "refit_every": 60, **SMALL_FIT},
}


def train(tmp_path, pairing: str, steps: int = 200, model: dict | None = None, planner: dict | None = None,
          resume: bool = False, run_class: type = Run, **algorithm) -> list[dict]:
    overrides = {"run": {"task": TASK, "seed": 1, "steps": steps},
                 "algorithm": {**SMALL_SAC, **SETTINGS[pairing], **algorithm}}
    if model is not None:
        overrides["model"] = model
    if planner is not None:
        overrides["planner"] = planner
    config = resolve(pairing, overrides)
    run = run_class(tmp_path, config.to_dict(), total_steps=steps, quiet=True, resume=resume)
    try:
        ALGORITHMS.get(config.algorithm_name).obj.train(config, run)
    finally:
        run.close()
    with open(tmp_path / "metrics.csv") as f:
        return list(csv.DictReader(f))


def check_rows(rows: list[dict], steps: int, *columns: str) -> None:
    assert rows and int(rows[-1]["env_step"]) == steps
    assert [int(r["episode"]) for r in rows] == list(range(1, len(rows) + 1))  # as mpc numbers them
    for column in ("eval_return", "final_reward_survive", *columns):
        assert any(r.get(column) not in (None, "") for r in rows), f"no {column} logged"


def test_sac_pairing_runs(tmp_path):
    check_rows(train(tmp_path, "sac"), 200, "q_loss", "alpha")
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "learning_curve.png").exists()


def small(name: str, **settings) -> dict:
    """Model overrides: a small network for the learned MLP families, none for the oracle."""
    fields = {f.name for f in dataclasses.fields(MODELS.get(name).config_class())}
    return {"name": name, **({**SMALL_MODEL, **settings} if "hidden" in fields else {})}


@pytest.mark.parametrize("name", [e.name for e in MODELS if "occupancy" not in e.tags])
def test_dyna_runs_with_every_registered_one_step_model(tmp_path, name):
    rows = train(tmp_path, "dyna", model=small(name))
    check_rows(rows, 200, "q_loss", *(["model_loss"] if "learned" in MODELS.get(name).tags else []))


@pytest.mark.parametrize("name", [e.name for e in MODELS if "ensemble" in e.tags])
def test_mbpo_runs_with_every_ensemble(tmp_path, name):
    rows = train(tmp_path, "mbpo", model=small(name, ensemble_size=3, num_elites=2))
    check_rows(rows, 200, "q_loss", "model_loss", "rollout_len", "model_buffer")
    # Fits at epochs 0, 1, 2 of schedule [0, 2, 1, 3]: k = 1, 2, 3; the model buffer keeps one
    # epoch of rollouts, at most 200 * k transitions.
    logged = [(float(r["rollout_len"]), float(r["model_buffer"])) for r in rows if r.get("rollout_len")]
    assert sorted({k for k, _ in logged}) == [1.0, 2.0, 3.0]
    assert all(size <= 200 * k for k, size in logged)


def test_mbmf_pairing_runs_all_three_phases(tmp_path):
    rows = train(tmp_path, "mbmf", model=small("deterministic"), planner={"population_size": 50})
    check_rows(rows, 200, "bc_loss", "q_loss", "model_loss")
    assert {float(r["phase"]) for r in rows} == {0.0, 1.0, 2.0}


def test_mve_pairing_trains_critics_on_imagined_pairs(tmp_path):
    rows = train(tmp_path, "mve", model=small("deterministic"))
    check_rows(rows, 200, "q_loss", "model_loss", "imagined_pairs")
    assert max(float(r["imagined_pairs"]) for r in rows if r.get("imagined_pairs")) > 32  # up to 2 x 32


def test_steve_pairing_logs_its_effective_horizon(tmp_path):
    rows = train(tmp_path, "steve", model=small("pe", ensemble_size=3, num_elites=2))
    check_rows(rows, 200, "q_loss", "model_loss", "steve_horizon")
    assert all(0.0 <= float(r["steve_horizon"]) <= 2.0 for r in rows if r.get("steve_horizon"))


@pytest.mark.parametrize("pairing", ["mbpo", "steve"])
def test_ensemble_pairings_run_with_a_single_model(tmp_path, pairing):
    """An ensemble of one: MBPO draws every imagined step from it; STEVE's mix then weighs the
    horizons by the two critics' disagreement alone."""
    check_rows(train(tmp_path, pairing, model=small("gaussian")), 200, "q_loss", "model_loss")


class Interrupted(Exception):
    pass


class InterruptedRun(Run):
    """A run that stops (as if killed) when it reaches env step ``stop_at``, inside an episode."""

    stop_at = 137

    def advance(self, env_step, **postfix):
        if env_step == self.stop_at:
            raise Interrupted
        super().advance(env_step, **postfix)


TIMINGS = {"episode_s", "wall_s", "model_fit_s", "plan_ms_per_step"}


def without_timings(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in rows]


@pytest.mark.parametrize("pairing, model", [
    ("sac", None),
    ("dyna", small("gaussian")),
    ("mbpo", small("pe", ensemble_size=2, num_elites=1)),
    ("mbmf", small("deterministic")),
    ("mve", small("deterministic")),
    ("steve", small("pe", ensemble_size=2, num_elites=2)),
])
def test_a_run_killed_inside_an_episode_resumes_to_the_same_metrics(tmp_path, monkeypatch, pairing, model):
    planner = {"population_size": 50} if pairing == "mbmf" else None
    whole = train(tmp_path / "whole", pairing, steps=220, model=model, planner=planner)
    monkeypatch.setattr(algorithms.loop, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every step
    with pytest.raises(Interrupted):
        train(tmp_path / "split", pairing, steps=220, model=model, planner=planner, run_class=InterruptedRun)
    split = train(tmp_path / "split", pairing, steps=220, model=model, planner=planner, resume=True)
    assert without_timings(split) == without_timings(whole)


@pytest.mark.parametrize("pairing, model", [("sac", None), ("mbpo", small("pe", ensemble_size=2, num_elites=1))])
def test_a_run_extended_with_more_steps_equals_a_fresh_run(tmp_path, pairing, model):
    """A run whose budget ends inside an episode marks that episode ``cut``; resumed to 220 steps
    it goes on with that episode, as a 220-step run does."""
    fresh = train(tmp_path / "fresh", pairing, steps=220, model=model)
    ends = [int(r["env_step"]) for r in fresh]
    cut = next(a + 2 for a, b in zip(ends, ends[1:]) if a > 100 and b - a > 4)
    short = train(tmp_path / "extended", pairing, steps=cut, model=model)
    assert short[-1]["cut"] == "1.0" and all(r.get("cut") in (None, "") for r in short[:-1])
    extended = train(tmp_path / "extended", pairing, steps=220, model=model, resume=True)
    assert without_timings(extended) == without_timings(fresh)


def test_the_mbpo_pairing_applies_the_task_preset_under_user_overrides():
    config = resolve("mbpo", {"run": {"task": "Hopper-v5"}})
    assert config.algorithm.rollout_schedule == (20, 100, 1, 15)
    assert config.to_dict()["algorithm"]["updates_per_step"] == 20
    pendulum = resolve("mbpo", {"run": {"task": "InvertedPendulum-v5"}}).algorithm
    assert (pendulum.epoch_length, pendulum.random_steps, pendulum.target_entropy) == (250, 500, -0.05)
    plain = resolve("mbpo", {"run": {"task": "Swimmer-v5"}}).algorithm  # no preset: the defaults
    assert plain.updates_per_step == algorithms.mbpo.Config().updates_per_step
    overridden = resolve("mbpo", {"run": {"task": "Hopper-v5"}, "algorithm": {"updates_per_step": 5}})
    assert overridden.algorithm.updates_per_step == 5
    assert overridden.algorithm.rollout_schedule == (20, 100, 1, 15)


class PhaseRecordingRun(Run):
    phases: list[str] = []

    def set_phase(self, phase):
        type(self).phases.append(phase)
        super().set_phase(phase)


def test_the_progress_bar_names_the_phase_as_it_changes(tmp_path):
    """Random warm-up, fitting the model (shown before the fit starts, so a long fit explains the
    still bar), then acting."""
    PhaseRecordingRun.phases = []
    train(tmp_path, "mbpo", steps=120, model=small("pe", ensemble_size=2, num_elites=1), run_class=PhaseRecordingRun)
    phases = PhaseRecordingRun.phases
    assert phases[0] == "random actions" and "fitting the model" in phases
    assert phases.index("fitting the model") < len(phases) - 1 - phases[::-1].index("acting")
