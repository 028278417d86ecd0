"""mbrl-lib 0.2.0's side of the peer benchmarks; runs in the peer's venv (``setup.sh``).

Each subcommand builds its objects with mbrl-lib's own functions and configs (composed by Hydra
from the config files installed with the package, as its ``examples/main.py`` would) and prints
one JSON line on stdout. ``benchmarks/peers/compare.py`` runs it beside ours; it can be run alone:

    benchmarks/peers/.venv/bin/python benchmarks/peers/mbrl_lib_bench.py plan --reps 5
    benchmarks/peers/.venv/bin/python benchmarks/peers/mbrl_lib_bench.py mbpo-step --steps 250
    benchmarks/peers/.venv/bin/python benchmarks/peers/mbrl_lib_bench.py pets-cartpole --max-minutes 25

``plan``: one PETS planning call (``agent.act``) at mbrl-lib's default cart-pole settings
(``overrides=pets_cartpole``: 7 members, 5 elites, 4 x 200 SiLU, TS-1 "random_model"
propagation, CEM population 350, 10% elites, 5 iterations, horizon 15, 20 particles) on a model
fitted briefly to random transitions (speed does not depend on the weights).

``mbpo-step``: MBPO's env step (Janner et al. 2019) on Hopper at the settings given on the
command line: the real buffer is filled with random transitions, the model fitted once for a
fixed number of epochs (timed apart), then ``--steps`` env steps are timed, each one env step of
the policy, at every ``freq_train_model``-th step ``effective_model_rollouts_per_step *
freq_train_model`` branched model rollouts, then G SAC updates, in the order of mbrl-lib's
``mbrl.algorithms.mbpo.train``. The rollout batch's time is spread over the
``freq_train_model`` steps it serves.

``pets-cartpole``: mbrl-lib's own ``mbrl.algorithms.pets.train`` at its default cart-pole
config, stopped at the first trial whose return reaches ``--target`` or, mid-trial, after
``--max-minutes``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch
from mbpo_settings import add_arguments, timed_window

warnings.filterwarnings("ignore", category=UserWarning, module="hydra")
warnings.filterwarnings("ignore", category=DeprecationWarning)

import hydra  # noqa: E402
import hydra.utils  # noqa: E402
import omegaconf  # noqa: E402

import mbrl  # noqa: E402
import mbrl.algorithms.mbpo  # noqa: E402
import mbrl.env.termination_fns  # noqa: E402
import mbrl.models  # noqa: E402
import mbrl.planning  # noqa: E402
import mbrl.util.common  # noqa: E402
import mbrl.util.env  # noqa: E402
from mbrl.planning.sac_wrapper import SACAgent  # noqa: E402
from mbrl.third_party.pytorch_sac_pranz24.sac import SAC  # noqa: E402


def compose(algorithm: str, overrides: str, extra: list[str] = ()) -> omegaconf.DictConfig:
    """mbrl-lib's config for ``algorithm`` on ``overrides``, composed from the installed
    ``mbrl/examples/conf`` on the CPU.

    Hydra >= 1.1 instantiates nested ``_target_`` configs recursively, the Hydra 1.0 that
    mbrl-lib 0.2.0 was written for did not: the planning agent keeps its optimizer config and
    the model its activation config as configs, so recursion is turned off for those two.
    """
    conf = os.path.join(os.path.dirname(mbrl.__file__), "examples", "conf")
    with hydra.initialize_config_dir(config_dir=conf, version_base="1.1"):
        return hydra.compose("main", overrides=[
            f"algorithm={algorithm}", f"overrides={overrides}", "device=cpu",
            "+dynamics_model._recursive_=false", "+algorithm.agent._recursive_=false", *extra])


def fit_model(cfg, model, buffer, epochs: int) -> float:
    """Fit ``model`` to ``buffer`` for exactly ``epochs`` epochs with mbrl-lib's trainer; seconds."""
    omegaconf.OmegaConf.set_struct(cfg, False)
    cfg.overrides.num_epochs_train_model = epochs
    cfg.overrides.patience = epochs
    trainer = mbrl.models.ModelTrainer(model, optim_lr=cfg.overrides.model_lr, weight_decay=cfg.overrides.model_wd)
    start = time.perf_counter()
    mbrl.util.common.train_model_and_save_model_and_data(model, trainer, cfg.overrides, buffer, work_dir=None)
    return time.perf_counter() - start


def random_buffer(cfg, env, steps: int, seed: int):
    """A replay buffer of ``steps`` transitions of the uniform-random policy, as mbrl-lib makes one."""
    dtype = np.double if cfg.algorithm.get("normalize_double_precision", False) else np.float32
    buffer = mbrl.util.common.create_replay_buffer(
        cfg, env.observation_space.shape, env.action_space.shape, rng=np.random.default_rng(seed),
        obs_type=dtype, action_type=dtype, reward_type=dtype)
    mbrl.util.common.rollout_agent_trajectories(env, steps, mbrl.planning.RandomAgent(env), {},
                                                replay_buffer=buffer)
    return buffer


def plan(args) -> dict:
    cfg = compose("pets", "pets_cartpole")
    env, term_fn, reward_fn = mbrl.util.env.EnvHandler.make_env(cfg)
    torch.manual_seed(args.seed)
    model = mbrl.util.common.create_one_dim_tr_model(cfg, env.observation_space.shape, env.action_space.shape)
    buffer = random_buffer(cfg, env, args.random_steps, args.seed)
    fit_model(cfg, model, buffer, args.fit_epochs)
    model_env = mbrl.models.ModelEnv(env, model, term_fn, reward_fn,
                                     generator=torch.Generator().manual_seed(args.seed))
    agent = mbrl.planning.create_trajectory_optim_agent_for_model(
        model_env, cfg.algorithm.agent, num_particles=cfg.algorithm.num_particles)
    obs, _ = env.reset(seed=args.seed)
    times, cpu_times = [], []
    for i in range(args.warmup + args.reps):
        agent.reset()
        start, start_cpu = time.perf_counter(), time.process_time()
        agent.act(obs)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - start_cpu)
    o, d = cfg.overrides, cfg.dynamics_model
    return {
        "ms_per_call": statistics.median(times) * 1e3, "cpu_ms_per_call": statistics.median(cpu_times) * 1e3,
        "reps": args.reps,
        "settings": {"population": o.cem_population_size, "iterations": o.cem_num_iters,
                     "horizon": o.planning_horizon, "particles": cfg.algorithm.num_particles,
                     "ensemble": d.ensemble_size, "elites": o.num_elites, "hidden": d.hid_size,
                     "layers": d.num_layers, "propagation": d.propagation_method,
                     "obs_dim": int(env.observation_space.shape[0]), "act_dim": int(env.action_space.shape[0])},
    }


def mbpo_step(args) -> dict:
    cfg = compose("mbpo", "mbpo_hopper", [
        f"dynamics_model.ensemble_size={args.ensemble}", f"overrides.num_elites={args.elites}",
        f"overrides.effective_model_rollouts_per_step={args.rollouts_per_step}",
        f"overrides.freq_train_model={args.model_train_freq}",
        f"overrides.num_sac_updates_per_step={args.updates_per_step}",
        f"overrides.sac_batch_size={args.batch_size}", f"overrides.sac_hidden_size={args.sac_hidden}",
        f"overrides.sac_target_update_interval={args.target_update_interval}",
        f"overrides.sac_automatic_entropy_tuning={args.learn_alpha}",
        f"overrides.sac_target_entropy={args.target_entropy}",
        f"algorithm.real_data_ratio={args.real_ratio}", f"seed={args.seed}"])
    o = cfg.overrides
    env, term_fn, _ = mbrl.util.env.EnvHandler.make_env(cfg)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    # The SAC learner of mbrl-lib's MBPO, given the env's own action box.
    agent = SACAgent(SAC(obs_shape[0], env.action_space, cfg.algorithm.agent.args))
    model = mbrl.util.common.create_one_dim_tr_model(cfg, obs_shape, act_shape)
    real = random_buffer(cfg, env, args.real_steps, args.seed)
    fit_s = fit_model(cfg, model, real, args.fit_epochs)

    model_env = mbrl.models.ModelEnv(env, model, term_fn, None, generator=torch.Generator().manual_seed(args.seed))
    rollout_batch = o.effective_model_rollouts_per_step * o.freq_train_model
    trains_per_epoch = int(np.ceil(o.epoch_length / o.freq_train_model))
    imagined = mbrl.util.ReplayBuffer(args.rollout_length * rollout_batch * trains_per_epoch, obs_shape, act_shape,
                                      rng=np.random.default_rng(args.seed))
    rng = np.random.default_rng(args.seed)
    updates = 0
    obs, _ = env.reset(seed=args.seed)

    def env_step() -> None:
        nonlocal obs
        next_obs, _, terminated, truncated, _ = mbrl.util.common.step_env_and_add_to_buffer(env, obs, agent, {}, real)
        obs = env.reset()[0] if terminated or truncated else next_obs

    def rollouts() -> None:
        mbrl.algorithms.mbpo.rollout_model_and_populate_sac_buffer(
            model_env, real, agent, imagined, cfg.algorithm.sac_samples_action, args.rollout_length, rollout_batch)

    def sac_updates() -> None:
        # As mbrl-lib's loop: each update draws its whole batch from one buffer, the real one
        # with probability real_data_ratio.
        nonlocal updates
        for _ in range(o.num_sac_updates_per_step):
            buffer = real if rng.random() < cfg.algorithm.real_data_ratio else imagined
            agent.sac_agent.update_parameters(buffer, o.sac_batch_size, updates, None, reverse_mask=True)
            updates += 1

    return {**timed_window(env_step, rollouts, sac_updates, args, fit_s), "settings": {
        "env": o.env, "ensemble": cfg.dynamics_model.ensemble_size, "elites": o.num_elites,
        "model_hidden": cfg.dynamics_model.hid_size, "model_layers": cfg.dynamics_model.num_layers,
        "rollouts_per_step": o.effective_model_rollouts_per_step, "model_train_freq": o.freq_train_model,
        "rollout_length": args.rollout_length, "updates_per_step": o.num_sac_updates_per_step,
        "batch_size": o.sac_batch_size, "sac_hidden": o.sac_hidden_size,
        "target_update_interval": o.sac_target_update_interval, "learn_alpha": o.sac_automatic_entropy_tuning,
        "real_ratio": cfg.algorithm.real_data_ratio}}


def pets_cartpole(args) -> dict:
    import mbrl.algorithms.pets as pets

    cfg = compose("pets", "pets_cartpole", [f"seed={args.seed}"])
    env, term_fn, reward_fn = mbrl.util.env.EnvHandler.make_env(cfg)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    trials, state = [], {"return": 0.0, "steps": 0, "start": time.perf_counter()}
    step_and_add = mbrl.util.common.step_env_and_add_to_buffer

    class Stop(Exception):
        pass

    def recorded_step(env_, obs, agent, *rest, **kwargs):
        # pets.train looks this function up at every step: recording here leaves its loop as it is.
        out = step_and_add(env_, obs, agent, *rest, **kwargs)
        state["return"] += float(out[1])
        state["steps"] += 1
        minutes = (time.perf_counter() - state["start"]) / 60
        ended, out_of_time = out[2] or out[3], minutes >= args.max_minutes
        if ended or out_of_time:
            # A trial still running when time is up is recorded as cut: its return is partial.
            trials.append({"return": state["return"], "env_step": state["steps"], "minutes": round(minutes, 3),
                           "random": isinstance(agent, mbrl.planning.RandomAgent), "cut": not ended})
            state["return"] = 0.0
            if (ended and trials[-1]["return"] >= args.target) or out_of_time:
                raise Stop
        return out

    mbrl.util.common.step_env_and_add_to_buffer = recorded_step
    try:
        with tempfile.TemporaryDirectory(prefix="mbrl_lib_pets_") as work_dir:
            pets.train(env, term_fn, reward_fn, cfg, silent=True, work_dir=work_dir)
    except Stop:
        pass
    finally:
        mbrl.util.common.step_env_and_add_to_buffer = step_and_add
    solved = next((t for t in trials if t["return"] >= args.target and not t["cut"]), None)
    return {"target": args.target, "solved": solved is not None,
            "minutes": solved["minutes"] if solved else None, "trial": trials.index(solved) + 1 if solved else None,
            "env_step": solved["env_step"] if solved else None, "max_minutes": args.max_minutes,
            "trials": trials, "seed": args.seed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--random-steps", type=int, default=1000)
    p.add_argument("--fit-epochs", type=int, default=5)
    m = sub.add_parser("mbpo-step")
    add_arguments(m)
    m.add_argument("--target-update-interval", type=int, default=1)
    m.add_argument("--learn-alpha", choices=["true", "false"], default="true")
    c = sub.add_parser("pets-cartpole")
    c.add_argument("--target", type=float, default=190.0)
    c.add_argument("--max-minutes", type=float, default=25.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = {"plan": plan, "mbpo-step": mbpo_step, "pets-cartpole": pets_cartpole}[args.command]
    result = {"peer": "mbrl-lib", "version": mbrl.__version__, "torch": torch.__version__,
              "threads": torch.get_num_threads(), **run(args)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
