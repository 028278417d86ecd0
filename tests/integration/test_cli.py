"""The command line as a new user meets it: errors exit 2 with one paragraph and leave nothing
behind; a run writes its folder, is deterministic, and resumes after an interruption."""

import csv
import json
from pathlib import Path

import pytest

from mbrl_zoo import runs
from mbrl_zoo.app.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# A PETS run small enough for a unit-speed test: 2 short episodes on cart-pole swing-up.
SMALL = ["--task", "cartpole-swingup", "--steps", "60", "--quiet",
         "--set", "algorithm.random_steps=20", "--set", "algorithm.refit_every=20",
         "--set", "algorithm.horizon=5", "--set", "algorithm.particles=4", "--set", "algorithm.fit_epochs=2",
         "--set", "planner.population_size=20", "--set", "planner.iterations=2",
         "--set", "model.ensemble_size=2", "--set", "model.num_elites=2", "--set", "model.hidden=16",
         "--set", "run.steps=60"]


def _episode_length_30(monkeypatch):
    from mbrl_zoo.tasks import get_task

    spec = get_task("cartpole-swingup")
    monkeypatch.setattr(type(spec), "make_env", lambda self, **kw: __import__("gymnasium").make(
        self.env_id, max_episode_steps=30, **{**self.env_kwargs, **kw}))


def _rows(folder: Path):
    with open(folder / "metrics.csv") as f:
        return [(r["env_step"], r["episode"], r["return"]) for r in csv.DictReader(f)]


def test_list_prints_every_table(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for heading in ("tasks:", "models:", "planners:", "algorithms:", "pairings:"):
        assert heading in out
    assert "cartpole-swingup" in out and "pets" in out and "cem" in out
    assert "mcts" in out and "CartPole-v1" in out and "Acrobot-v1" in out
    # summaries are whole first sentences, wrapped under the description column
    assert "      Cholesky factor L whose diagonal" in out and "its observation. [simulator]" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "[algorithm=mpc model=pe planner=cem]" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "petz", "--task", "cartpole-swingup"], "unknown pairing 'petz'. Did you mean 'pets'?"),
    (["run", "pets", "--task", "HalfCheetah"], "unknown task 'HalfCheetah'. Did you mean 'HalfCheetah-v5'?"),
    (["run", "pets", "--set", "planner.popsize=3"], "unknown key planner.popsize; valid keys of planner"),
    (["run", "pets", "--set", "planner.population_size=many"], "planner.population_size='many' has the wrong type"),
    (["run", "pets", "--set", "planner.population_size=-4"], "population_size"),
    (["run", "pets", "--set", "algorithm.propagation=ts3"], "choose one of"),
    (["run", "pets", "--set", "model.name=oracle", "--set", "planner.name=gradient"],
     "planner 'gradient' cannot work with model 'oracle'"),
    (["--plugin", str(FIXTURES / "bad_tasks.py"), "run", "pets", "--task", "typo-env"],
     "gymnasium cannot make env 'HalfCheeta-v5'"),
    (["--plugin", str(FIXTURES / "bad_tasks.py"), "run", "pets", "--task", "wrong-reward"],
     "task 'wrong-reward' disagrees with its environment"),
    (["--plugin", str(FIXTURES / "wrong_shape_model.py"), "run", "rs-mpc", "--set", "model.name=student-wrong-shape"],
     "returned shape"),
    (["run", "pets", "--resume", "--overwrite"], "pass one of them"),
    (["run", "pets", "--task", "cartpole-balance", "--set", "planner.name=gradient"],
     "planner 'gradient' cannot work on task 'cartpole-balance'"),
    (["run", "pets", "--resume"], "no checkpoint.pt"),
    (["run", "pets", "--steps", "0"], "run.steps=0 is not allowed: it must be >= 1 (environment steps in all, --steps)"),
    (["run", "pets", "--seed", "-1"], "run.seed=-1 is not allowed: it must lie in [0, 2**32)"),
    (["run", "pets", "--threads", "1000000000000"], "run.threads=1000000000000 is not allowed: it must lie in [1, 1024]"),
    (["run", "pets", "--set", "model.angle_dims=[1, 1]"], "model.angle_dims=[1, 1] is not allowed: each element may "
                                                          "appear once, and 1 repeats"),
    (["run", "pets", "--set", "model.angle_dims=[9]"], "model.angle_dims=[9] is not allowed: each index must lie in "
                                                       "[0, obs_dim) = [0, 4)"),
    (["run", "pets", "--set", "model.hidden=0"], "model.hidden=0 is not allowed: it must be >= 1"),
    (["run", "pets", "--set", "model.layers=1000000"], "model.ensemble_size=7, model.layers=1000000, model.hidden=200 "
                                                       "are not allowed together"),
    (["run", "pets", "--set", "planner.momentum=nan"], "planner.momentum=nan is not allowed: it must be a finite number"),
    (["run", "pets", "--set", "planner.initial_std=-inf"], "planner.initial_std=-inf is not allowed"),
    (["run", "oracle-cem", "--task", "cartpole-balance", "--set", "planner.initial_std=1e300"],
     "planner.initial_std=1e+300 is not allowed: it must lie in (0, 1000]"),
    (["run", "pets", "--set", "planner.name=mppi", "--set", "planner.temperature=1e-300"],
     "planner.temperature=1e-300 is not allowed: it must lie in [1e-8, 1e8]"),
    (["run", "pets", "--set", "planner.name=gradient", "--set", "planner.learning_rate=-1"],
     "planner.learning_rate=-1.0 is not allowed: it must lie in (0, 100]"),
    (["run", "sac", "--set", "algorithm.lr=nan"], "algorithm.lr=nan is not allowed: it must be a finite number"),
    (["run", "sac", "--set", "algorithm.target_entropy=nan"], "algorithm.target_entropy=nan is not allowed"),
    (["--plugin", str(FIXTURES / "plugin_syntax_error.py"), "list"],
     f"plugin {str(FIXTURES / 'plugin_syntax_error.py')!r} failed to import: {FIXTURES / 'plugin_syntax_error.py'}, "
     "line 6: SyntaxError: '(' was never closed"),
    (["--plugin", str(FIXTURES / "plugin_missing_import.py"), "run", "pets"],
     f"{FIXTURES / 'plugin_missing_import.py'}, line 5: ModuleNotFoundError: No module named 'a_module_nobody_installed'"),
    (["run", "sac", "--set", "planner.name=cem"],
     "algorithm 'sac' uses no planner, so planner 'cem' would be ignored; algorithms that take a planner: dagger-model, mbmf, mpc, muzero-lite, muzero-lite-oracle"),
    (["run", "sac", "--set", "model.name=pe"], "algorithm 'sac' uses no model"),
    (["run"], "the following arguments are required: pairing"),
    (["run", "dagger-model", "--task", "Reacher-v5"], "algorithm.expert='oracle' plans on the simulator"),
    (["run", "dagger-model", "--set", "algorithm.expert=nowhere.npz"], "cannot read expert data set 'nowhere.npz'"),
    (["run", "dagger-model", "--set", "algorithm.expert_fraction=2"], "algorithm.expert_fraction=2.0 is not allowed: it must lie in [0, 1]"),
    (["run", "dagger-model", "--set", "algorithm.sac_updates_per_iteration=10"],
     "algorithm.sac_updates_per_iteration=10 is not allowed: it trains the SAC policy, so it applies only with "
     "algorithm.policy='sac'"),
    (["run", "dagger-model-sac", "--set", "algorithm.discount=1"],
     "algorithm.discount=1.0, algorithm.policy='sac' are not allowed together: SAC's soft Q-values need discount < 1"),
    (["run", "dagger-model-sac", "--set", "algorithm.rollout_every=0"],
     "algorithm.rollout_every=0 is not allowed: it must be >= 1"),
    (["run", "pets", "--task", "CartPole-v1"],
     "planner 'cem' cannot work on task 'CartPole-v1': it works with continuous actions within box bounds, and "
     "'CartPole-v1' has 2 discrete actions. Planners for discrete actions: mcts."),
    (["run", "pets", "--task", "cartpole-balance", "--set", "planner.name=mcts"],
     "planner 'mcts' cannot work on task 'cartpole-balance': it works with a finite set of actions"),
    (["run", "sac", "--task", "Acrobot-v1"], "algorithm 'sac' cannot work on task 'Acrobot-v1'"),
    (["run", "pets", "--task", "CartPole-v1", "--set", "planner.name=mcts", "--set", "planner.simulations=0"],
     "planner.simulations=0 is not allowed: it must lie in [1, 10**6]"),
    (["run", "pets", "--task", "CartPole-v1", "--set", "planner.name=mcts", "--set", "planner.max_depth=0"],
     "planner.max_depth=0 is not allowed: it must lie in [1, 1000]"),
    (["run", "pets", "--task", "CartPole-v1", "--set", "planner.name=mcts", "--set", "planner.temperature=-1"],
     "planner.temperature=-1.0 is not allowed: it must be >= 0"),
])
def test_bad_input_exits_2_with_one_paragraph_and_no_folder(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if argv == ["run"] else _no_raise() as _:
        code = main(argv)
        assert code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert err.count("error:") == 1
    assert not (tmp_path / "results").exists()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("pairing", ["pets", "sac"])
def test_a_run_stops_at_its_step_budget_inside_an_episode(tmp_path, capsys, monkeypatch, pairing):
    """``--steps 45`` with 30-step episodes: 45 env steps, the second episode cut after 15 steps and
    marked ``cut`` in metrics.csv; its last transition is stored as it happened (no time limit: a
    longer budget goes on with that episode), for MPC as for SAC's loop."""
    import torch

    _episode_length_30(monkeypatch)
    args = ([a.replace("60", "45") for a in SMALL] if pairing == "pets" else
            ["--task", "cartpole-swingup", "--steps", "45", "--quiet", "--set", "algorithm.batch_size=8",
             "--set", "algorithm.random_steps=20"])
    assert main(["run", pairing, *args, "--out", str(tmp_path / pairing)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["env_steps"], summary["episodes"]) == (45, 2)
    with open(tmp_path / pairing / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["episode_steps"]) for r in rows] == [30, 15] and [r["cut"] for r in rows] == ["", "1.0"]
    buffer = torch.load(tmp_path / pairing / "checkpoint.pt", weights_only=False)["state"]["parts"]["real"]
    ends = (buffer["truncated"] | buffer["terminated"])[:45].nonzero().squeeze(1).tolist()
    assert ends == [29]


def test_run_writes_folder_and_is_deterministic(tmp_path, capsys, monkeypatch):
    _episode_length_30(monkeypatch)
    for name in ("a", "b"):
        assert main(["run", "pets", *SMALL, "--out", str(tmp_path / name)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["env_steps"] == 60 and summary["episodes"] == 2
    folder = tmp_path / "a"
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "config.json", "learning_curve.png",
                                                      "machine.json", "metrics.csv"]
    assert json.loads((folder / "machine.json").read_text())["threads"] >= 1
    config = json.loads((folder / "config.json").read_text())
    assert config["planner"]["population_size"] == 20 and config["model"]["name"] == "pe"
    assert _rows(folder) == _rows(tmp_path / "b")
    with open(folder / "metrics.csv") as f:
        header = next(csv.reader(f))
    assert header[:6] == ["env_step", "episode", "return", "episode_steps", "episode_s", "wall_s"]


def test_a_run_logs_how_each_episode_ended_from_the_envs_info(tmp_path):
    """Pusher's info holds the reward terms; their values at the last step become columns (the
    object's final distance to the goal is minus ``final_reward_dist``)."""
    small = [a.replace("cartpole-swingup", "Pusher-v5") for a in SMALL]
    assert main(["run", "pets", *small, "--set", "run.steps=100", "--set", "algorithm.random_steps=100",
                 "--out", str(tmp_path / "p")]) == 0
    with open(tmp_path / "p" / "metrics.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert {"final_reward_dist", "final_reward_ctrl", "final_reward_near"} <= set(row)
    assert -2.0 < float(row["final_reward_dist"]) < 0.0


@pytest.mark.parametrize("pairing, extra", [
    ("pets", []),
    ("pets-value", ["--set", "algorithm.value_updates=20", "--set", "algorithm.value_hidden=[16]"]),
])
def test_interrupted_run_resumes_to_same_metrics(pairing, extra, tmp_path, monkeypatch, capsys):
    _episode_length_30(monkeypatch)
    args = [pairing, *SMALL, *extra]
    assert main(["run", *args, "--out", str(tmp_path / "whole")]) == 0

    advance = runs.Run.advance

    def interrupt_mid_second_episode(self, env_step, **postfix):
        if env_step == 45:
            raise KeyboardInterrupt
        advance(self, env_step, **postfix)

    monkeypatch.setattr(runs.Run, "advance", interrupt_mid_second_episode)
    assert main(["run", *args, "--out", str(tmp_path / "cut")]) == 130
    assert len(_rows(tmp_path / "cut")) == 1
    monkeypatch.setattr(runs.Run, "advance", advance)
    assert main(["run", *args, "--out", str(tmp_path / "cut")]) == 2  # no silent overwrite
    assert main(["run", *args, "--out", str(tmp_path / "cut"), "--resume"]) == 0
    assert _rows(tmp_path / "cut") == _rows(tmp_path / "whole")


@pytest.mark.parametrize("plugin, argv, message, line_with", [
    ("plugin_no_default.py", ["config", "rs-mpc", "--set", "model.name=student-no-default"],
     "model 'student-no-default' ({path}, line {line}): constructor argument 'width' has no default", "def __init__"),
    ("plugin_raising.py", ["run", "rs-mpc", "--set", "model.name=student-raises"],
     "model 'student-raises' failed to build: {path}, line {line}: IndexError: list index out of range", "self.layers ="),
    ("plugin_raising.py", ["run", "rs-mpc", "--set", "planner.name=student-raises"],
     "planner 'student-raises' failed to build: {path}, line {line}: ZeroDivisionError: float division by zero",
     "self.scale ="),
])
def test_a_plugin_component_that_cannot_be_configured_or_built_exits_2_naming_file_and_line(
        plugin, argv, message, line_with, capsys, tmp_path, monkeypatch):
    """The plug-in imports; its component fails when the config is resolved or it is first built.
    Either is the plug-in's fault, reported at its own file and line, before any folder exists."""
    monkeypatch.chdir(tmp_path)
    path = FIXTURES / plugin
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if line_with in text)
    assert main(["--plugin", str(path), *argv, "--task", "cartpole-balance"]) == 2
    err = capsys.readouterr().err
    assert message.format(path=path, line=line) in err, err
    assert "Traceback" not in err and err.count("error:") == 1
    assert not (tmp_path / "results").exists()


def test_student_model_plugin_runs_through_the_cli(tmp_path, monkeypatch):
    _episode_length_30(monkeypatch)
    argv = ["--plugin", str(FIXTURES / "student_model.py"), "run", "rs-mpc", "--set", "model.name=student-linear",
            "--task", "cartpole-swingup", "--steps", "60", "--quiet", "--set", "algorithm.random_steps=30",
            "--set", "planner.population_size=50", "--out", str(tmp_path / "student")]
    assert main(argv) == 0
    assert len(_rows(tmp_path / "student")) == 2


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``mbrl-zoo config pets | head -1``: no traceback when the pipe closes early (here it is
    closed before the command writes anything, so that its first write fails)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "mbrl_zoo", "config", "pets"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_inverted_pendulum_rail_diagnostic_reads_a_run(tmp_path, capsys, monkeypatch):
    """benchmarks/inverted_pendulum_rail.py splits a real run's buffer into its episodes."""
    import importlib.util
    import sys

    folder = tmp_path / "ip"
    small = [*SMALL[:-2], "--task", "InvertedPendulum-v5", "--set", "run.steps=80",
             "--set", "algorithm.random_steps=40", "--set", "algorithm.refit_every=40"]
    assert main(["run", "pets", *small, "--out", str(folder)]) == 0
    capsys.readouterr()
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "inverted_pendulum_rail.py"
    module_spec = importlib.util.spec_from_file_location("inverted_pendulum_rail", path)
    rail = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(rail)
    monkeypatch.setattr(sys, "argv", ["inverted_pendulum_rail.py", str(folder), "--last", "1000"])
    rail.main()
    out = json.loads(capsys.readouterr().out)
    with open(folder / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    lengths = [int(r["episode_steps"]) for r in rows if not r.get("cut")]  # whole episodes
    assert [e["steps"] for e in out["last_episodes"]] == lengths
    assert out["env_steps"] == sum(int(r["episode_steps"]) for r in rows)
    planned = [e for e in out["last_episodes"] if e["first_step"] >= 40]
    assert out["planned_episodes"] == len(planned)
    assert out["failed_at_rail"] + out["failed_elsewhere"] + out["episodes_of_1000"] == len(planned)
    assert len(out["model_abs_error_elsewhere"]) == 4


def test_a_terminated_run_closes_its_folder_and_exits_143(tmp_path):
    """``kill`` (SIGTERM) mid-run: the run's ``finally`` still closes it (curve drawn from every
    logged episode), stderr says how to resume, exit code 128 + 15, no traceback."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "mbrl_zoo", "run", "sac", "--task", "Pendulum-v1", "--steps",
                             "1000000", "--quiet", "--out", str(out)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out / "metrics.csv").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert (out / "metrics.csv").exists(), proc.stderr.read().decode()
    proc.send_signal(signal.SIGTERM)
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM, stderr
    assert "resume with the same command and --resume" in stderr and "Traceback" not in stderr
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "learning_curve.png").stat().st_mtime_ns >= (out / "metrics.csv").stat().st_mtime_ns


@pytest.mark.parametrize("command, hint", [
    (["run", "pets"], "resume with the same command and --resume"),
    (["sweep", "--pairings", "pets", "--tasks", "cartpole-balance"], "run the same command again to resume"),
])
def test_ctrl_c_says_how_to_resume_that_command(command, hint, monkeypatch, capsys):
    from mbrl_zoo.app import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, command[0], interrupted)
    assert main(command) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted; ") and hint in err and "Traceback" not in err


@pytest.mark.parametrize("out", ["a_file", "a_file/run"])
def test_an_out_path_through_a_file_exits_2(out, tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    assert main(["run", "pets", "--task", "cartpole-balance", "--steps", "5", "--quiet",
                 "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert "cannot make the results folder" in err and "Traceback" not in err
    assert (tmp_path / "a_file").read_text() == "not a folder"


def test_resume_refuses_a_budget_below_the_steps_already_run(tmp_path, capsys):
    out = str(tmp_path / "r")
    base = ["run", "rs-mpc", "--task", "cartpole-balance", "--quiet", "--out", out]
    assert main([*base, "--steps", "30"]) == 0
    config = (tmp_path / "r" / "config.json").read_text()
    assert main([*base, "--steps", "20", "--resume"]) == 2
    assert "it already has 30 env steps, more than --steps 20" in capsys.readouterr().err
    assert (tmp_path / "r" / "config.json").read_text() == config
    assert main([*base, "--steps", "45", "--resume"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["env_steps"] == 45


def test_halfcheetah_posture_diagnostic_reads_a_run(tmp_path, capsys, monkeypatch):
    """benchmarks/halfcheetah_posture.py: one entry per episode of a real run, whose returns are the
    logged ones, read from the observation dims that hold the pitch and forward velocity."""
    import importlib.util
    import sys

    folder = tmp_path / "hc"
    assert main(["run", "sac", "--task", "HalfCheetah-v5", "--steps", "1500", "--quiet", "--out", str(folder)]) == 0
    capsys.readouterr()
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "halfcheetah_posture.py"
    module_spec = importlib.util.spec_from_file_location("halfcheetah_posture", path)
    posture = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(posture)
    monkeypatch.setattr(sys, "argv", ["halfcheetah_posture.py", str(folder)])
    posture.main()
    out = json.loads(capsys.readouterr().out)
    with open(folder / "metrics.csv") as f:
        logged = list(csv.DictReader(f))
    assert [int(r["episode_steps"]) for r in logged] == [1000, 500] and logged[-1]["cut"] == "1.0"
    assert [e["steps"] for e in out["episodes"]] == [1000]  # the episode the budget cut is still going
    assert [e["return"] for e in out["episodes"]] == [round(float(logged[0]["return"]), 1)]
    # The indices it reads are the torso's pitch (the rooty joint) and forward velocity.
    from mbrl_zoo.tasks import get_task

    env = get_task("HalfCheetah-v5").make_env()
    env.reset(seed=0)
    obs = env.step(env.action_space.sample())[0]
    data, model = env.unwrapped.data, env.unwrapped.model
    rooty = model.jnt_qposadr[model.joint("rooty").id]
    assert obs[posture.PITCH] == data.qpos[rooty] and obs[posture.FORWARD_VELOCITY] == data.qvel[0]
    env.close()


def test_runs_use_one_torch_thread_unless_told_and_record_it(tmp_path, capsys, monkeypatch):
    """A loaded CPU slows torch's threads down by waiting: one thread by default, --threads N
    on demand, recorded as run.threads (and not held against --resume)."""
    import torch

    _episode_length_30(monkeypatch)
    assert main(["run", "pets", *SMALL, "--out", str(tmp_path / "one")]) == 0
    assert torch.get_num_threads() == 1
    assert json.loads((tmp_path / "one" / "config.json").read_text())["run"]["threads"] == 1
    assert main(["run", "pets", *SMALL, "--threads", "2", "--out", str(tmp_path / "two")]) == 0
    assert torch.get_num_threads() == 2
    assert main(["run", "pets", *SMALL, "--threads", "1", "--out", str(tmp_path / "two"), "--resume"]) == 0
    torch.set_num_threads(1)


def test_a_budget_within_the_random_warm_up_is_named_in_one_line(tmp_path, capsys):
    """Without --steps a run learns past its warm-up; a --steps within it gets one warning line."""
    from mbrl_zoo.config import resolve

    assert resolve("sac", {"run": {"task": "InvertedPendulum-v5"}}).run.steps == 5000 + 2000
    assert resolve("pets", {"run": {"task": "cartpole-balance"}}).run.steps == 2000
    assert main(["run", "sac", "--task", "Pendulum-v1", "--steps", "30", "--quiet", "--out", str(tmp_path / "s")]) == 0
    err = capsys.readouterr().err
    assert "run.steps=30 ends within the random warm-up (algorithm.random_steps=5000)" in err


def test_runs_write_under_runs_by_default_never_into_committed_results(tmp_path, capsys, monkeypatch):
    _episode_length_30(monkeypatch)
    monkeypatch.chdir(tmp_path)
    args = [a for a in SMALL]
    assert main(["run", "pets", *args]) == 0
    assert (tmp_path / "runs" / "pets" / "cartpole-swingup" / "seed0" / "metrics.csv").exists()
    assert not (tmp_path / "results").exists()


def test_the_learning_curve_draws_cut_episodes_and_evaluations_apart(tmp_path):
    from matplotlib import image

    from mbrl_zoo.runs import plot_learning_curve

    rows = [{"env_step": 10, "return": 1.0}, {"env_step": 20, "return": 2.0, "eval_return": 3.0},
            {"env_step": 25, "return": 0.5, "cut": 1.0}]
    plot_learning_curve(rows, tmp_path / "c.png", "t")
    plot_learning_curve(rows[:2], tmp_path / "whole.png", "t")
    assert image.imread(tmp_path / "c.png").shape[:2] == (400, 600)
    assert (tmp_path / "c.png").read_bytes() != (tmp_path / "whole.png").read_bytes()
