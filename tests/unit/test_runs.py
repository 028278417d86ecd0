"""Run folders: atomic metrics, checkpoints, resume to identical metrics, determinism."""

import csv
import os

import gymnasium as gym
import numpy as np
import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import atomic_write
from mbrl_zoo.runs import Run, episode_seed, final_info, read_run


class Interrupt(Exception):
    pass


def train_random_policy(run: Run, seed: int, steps: int, interrupt_at_step: int | None = None) -> None:
    """A tiny stochastic learner: a random linear policy whose weights drift each episode."""
    env = gym.make("Pendulum-v1", max_episode_steps=50)
    state = run.load_checkpoint()
    if state is None:
        torch.manual_seed(seed)
        state = {"env_step": 0, "episode": 0, "weights": torch.randn(3),
                 "rng": np.random.default_rng(seed).bit_generator.state}
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]
    while state["env_step"] < steps:
        obs, _ = env.reset(seed=episode_seed(seed, state["episode"]))
        total, done, n = 0.0, False, 0
        while not done:
            act = np.tanh(state["weights"].numpy() @ obs) * 2 + rng.normal(0, 0.1)
            obs, rew, terminated, truncated, _ = env.step(np.array([act], dtype=np.float32))
            total, n, done = total + rew, n + 1, terminated or truncated
            state["env_step"] += 1
            if state["env_step"] == interrupt_at_step:
                raise Interrupt
        state["episode"] += 1
        state["weights"] = state["weights"] + 0.1 * torch.randn(3)  # global torch RNG on purpose
        state["rng"] = rng.bit_generator.state
        run.log_episode(state["env_step"], state["episode"], total, n)
        run.save_checkpoint(state)


def _read(path):
    with open(path) as f:
        return [(r["env_step"], r["episode"], r["return"]) for r in csv.DictReader(f)]


CONFIG = {"pairing": "test", "run": {"task": "Pendulum-v1", "seed": 3, "steps": 200}}


def test_run_writes_files_and_is_deterministic(tmp_path):
    for name in ("a", "b"):
        run = Run(tmp_path / name, CONFIG, total_steps=200, quiet=True)
        train_random_policy(run, seed=3, steps=200)
        run.close()
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["checkpoint.pt", "config.json", "learning_curve.png", "metrics.csv"]
    rows = _read(tmp_path / "a" / "metrics.csv")
    assert [r[:2] for r in rows] == [("50", "1"), ("100", "2"), ("150", "3"), ("200", "4")]
    assert rows == _read(tmp_path / "b" / "metrics.csv")
    assert (tmp_path / "a" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_learning_curve_is_drawn_at_the_first_episode_then_at_most_every_refresh(tmp_path, monkeypatch):
    """A run killed before ``close`` still has a curve; drawing it is throttled, not per episode."""
    from mbrl_zoo import runs

    drawn = []
    monkeypatch.setattr(runs, "plot_learning_curve", lambda rows, path, title="": drawn.append(len(rows)))
    monkeypatch.setattr(runs, "CURVE_REFRESH_S", 1e9)
    run = Run(tmp_path / "r", CONFIG, total_steps=200, quiet=True)
    for episode in range(1, 4):
        run.log_episode(50 * episode, episode, -1.0, 50)
    assert drawn == [1]
    monkeypatch.setattr(runs, "CURVE_REFRESH_S", 0.0)
    run.log_episode(200, 4, -1.0, 50)
    run.close()
    assert drawn == [1, 4, 4]


def test_resume_after_interruption_reaches_same_metrics(tmp_path):
    whole = Run(tmp_path / "whole", CONFIG, total_steps=200, quiet=True)
    train_random_policy(whole, seed=3, steps=200)

    broken = Run(tmp_path / "broken", CONFIG, total_steps=200, quiet=True)
    with pytest.raises(Interrupt):
        train_random_policy(broken, seed=3, steps=200, interrupt_at_step=120)  # mid-episode 3
    torch.manual_seed(12345)  # the resumed process starts with other global RNG state
    assert len(_read(tmp_path / "broken" / "metrics.csv")) == 2
    resumed = Run(tmp_path / "broken", CONFIG, total_steps=200, quiet=True, resume=True)
    train_random_policy(resumed, seed=3, steps=200)
    assert _read(tmp_path / "broken" / "metrics.csv") == _read(tmp_path / "whole" / "metrics.csv")


def test_existing_run_is_not_overwritten_and_resume_checks_config(tmp_path):
    run = Run(tmp_path / "r", CONFIG, total_steps=100, quiet=True)
    train_random_policy(run, seed=3, steps=100)
    with pytest.raises(UserError, match="already holds a run"):
        Run(tmp_path / "r", CONFIG, total_steps=100, quiet=True)
    other = {**CONFIG, "run": {**CONFIG["run"], "seed": 4}}
    with pytest.raises(UserError, match="run.seed"):
        Run(tmp_path / "r", other, total_steps=100, quiet=True, resume=True)
    longer = {**CONFIG, "run": {**CONFIG["run"], "steps": 400}}
    Run(tmp_path / "r", longer, total_steps=400, quiet=True, resume=True)  # only steps may change
    with pytest.raises(UserError, match="no checkpoint"):
        Run(tmp_path / "empty", CONFIG, total_steps=100, quiet=True, resume=True)


def test_episode_seeds_differ_and_repeat():
    assert episode_seed(0, 0) == episode_seed(0, 0)
    assert len({episode_seed(s, e) for s in range(3) for e in range(50)}) == 150


def test_overwrite_replaces_a_finished_run_with_identical_metrics(tmp_path):
    first = Run(tmp_path / "r", CONFIG, total_steps=100, quiet=True)
    train_random_policy(first, seed=3, steps=100)
    before = _read(tmp_path / "r" / "metrics.csv")
    (tmp_path / "r" / "notes.txt").write_text("kept")  # files that are not run files stay
    again = Run(tmp_path / "r", CONFIG, total_steps=100, quiet=True, overwrite=True)
    assert not (tmp_path / "r" / "metrics.csv").exists() and not (tmp_path / "r" / "checkpoint.pt").exists()
    train_random_policy(again, seed=3, steps=100)
    assert _read(tmp_path / "r" / "metrics.csv") == before
    assert (tmp_path / "r" / "notes.txt").read_text() == "kept"


def test_final_info_keeps_the_numeric_scalars_of_the_last_steps_info():
    info = {"reward_dist": np.float64(-0.25), "reward_ctrl": np.float32(-1.5), "steps": 3,
            "success": True, "flag": np.bool_(False), "contacts": np.zeros(3), "name": "x"}
    assert final_info(info) == {"final_reward_dist": -0.25, "final_reward_ctrl": -1.5, "final_steps": 3.0}
    env = gym.make("Pendulum-v1")
    env.reset(seed=0)
    assert final_info(env.step(np.zeros(1, dtype=np.float32))[4]) == {}


def test_read_run_gives_the_config_and_the_saved_state_and_refuses_other_folders(tmp_path):
    run = Run(tmp_path / "r", {"run": {"task": "Pendulum-v1", "seed": 0, "steps": 10}}, total_steps=10, quiet=True)
    run.save_checkpoint({"env_step": 7})
    run.close()
    config, state = read_run(tmp_path / "r", "Pendulum-v1")
    assert config["run"]["task"] == "Pendulum-v1" and state == {"env_step": 7}
    with pytest.raises(UserError, match="expected a run on Hopper-v5, but .* ran 'Pendulum-v1'"):
        read_run(tmp_path / "r", "Hopper-v5")
    with pytest.raises(UserError, match="has no config.json or checkpoint.pt"):
        read_run(tmp_path)


def _killed_inside_a_write(path) -> list:
    """End a (forked) process abruptly, as ``kill -9`` would, inside an atomic write of ``path``
    after it wrote half the file; return the hidden temporaries it left beside ``path``."""
    child = os.fork()
    if child == 0:  # no cleanup may run in the child: os._exit skips every except and finally
        atomic_write(path, lambda f: (f.write(b"half"), f.flush(), os._exit(9)))
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 9
    return sorted(p.name for p in path.parent.glob(f".{path.name}.*.tmp"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="simulates kill -9 with os.fork")
@pytest.mark.parametrize("mode", ["fresh", "resume", "overwrite"])
def test_temporaries_of_a_write_killed_midway_are_removed_when_a_run_opens_its_folder(tmp_path, mode):
    folder = tmp_path / "r"
    if mode != "fresh":
        run = Run(folder, CONFIG, total_steps=100, quiet=True)
        train_random_policy(run, seed=3, steps=100)
    assert len(_killed_inside_a_write(folder / "checkpoint.pt")) == 1
    assert len(_killed_inside_a_write(folder / "metrics.csv")) == 1
    (folder / ".notes.txt.x1.tmp").write_text("not a run file")
    if mode != "fresh":
        with pytest.raises(UserError, match="already holds a run"):  # refused: the folder is left alone
            Run(folder, CONFIG, total_steps=100, quiet=True)
        assert len(list(folder.glob(".checkpoint.pt.*.tmp"))) == 1
    Run(folder, CONFIG, total_steps=100, quiet=True, resume=mode == "resume", overwrite=mode == "overwrite")
    assert sorted(p.name for p in folder.glob(".*")) == [".notes.txt.x1.tmp"]


def test_curves_leave_the_session_backend_alone(tmp_path):
    """A notebook that trains or compares keeps its own matplotlib backend and pyplot state: the
    learning curve and the compare figure are drawn on a bare Figure and still written as PNGs."""
    script = f"""
import sys, matplotlib
matplotlib.use("pdf")
from mbrl_zoo.runs import plot_learning_curve
import mbrl_zoo.app.compare  # the compare figure's module must not pull in pyplot either
rows = [dict(env_step=50 * i, episode=i, **{{"return": float(i)}}) for i in range(1, 4)]
plot_learning_curve(rows, r"{tmp_path}/curve.png", title="t")
assert matplotlib.get_backend() == "pdf", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_opening_a_run_imports_everything_its_curve_needs(tmp_path):
    """A SIGTERM or Ctrl-C that lands inside a lazy import leaves matplotlib half-loaded and the
    curve drawn at close then fails; opening the run must already have loaded the Agg renderer."""
    script = f"""
import sys
from mbrl_zoo.runs import Run
assert "matplotlib.backends.backend_agg" not in sys.modules
Run(r"{tmp_path}/run", {{"pairing": "x"}}, total_steps=10, quiet=True)
assert "matplotlib.backends.backend_agg" in sys.modules
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
