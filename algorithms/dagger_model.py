"""DAgger-style model learning with a planner in the loop (Ross & Bagnell, "Agnostic System
Identification for Model-Based Reinforcement Learning", ICML 2012, Algorithm 1)::

    collect D_expert = {(s, a, s')} from an expert;  D_learner <- {}
    fit a model M_1 on D_expert; compute pi_1 in M_1
    for i = 1..N:
        execute pi_i in the real world, collect D_i;  D_learner <- D_learner U D_i
        M_{i+1} <- Train(f D_expert + (1 - f) D_learner)       (f = expert_fraction, per minibatch)
        compute pi_{i+1} in M_{i+1}
    return the best of the policies executed, by real return

Planning in a model fitted only to the expert's states (classical system identification) fails
where the learner's own policy leads the system elsewhere; refitting on the learner's states
bounds the model error under the state distribution the policy meets, which by the simulation
lemma bounds the gap between planned and real return. Iteration i executes pi_i for
``episodes_per_iteration`` real episodes; their mean return is pi_i's real return. The run stops
after ``iterations`` iterations (or at ``run.steps``, whichever comes first); the last
iteration's data is not fitted again, since no later policy would be executed.

"Compute pi_i in M_i" is one of two things (``policy``):

- ``mpc``: pi_i is the MPC policy of :class:`~planners.mpc.MPCPolicy` planning in M_i with the
  run's planner as it acts.
- ``sac``: one SAC agent (Haarnoja et al. 2018) is trained in M_i, Dyna-style, for
  ``sac_updates_per_iteration`` updates on branched model rollouts from states of D_expert U
  D_learner (:func:`train_in_model`), starting from where it stood after M_{i-1} (a warm start);
  pi_i is its greedy policy a = tanh(mu(s)), scaled to the action box.

Neither adds exploration noise to the real episodes. The run's checkpoint keeps the best iterate
(``best``: its iteration, real return, model and, for ``sac``, agent), so it can act again.

Expert sources (``expert``): ``oracle`` (MPC with the run's planner on the simulator itself,
:class:`~mbrl_zoo.models.oracle.OracleModel`; tasks whose observation is the state), a run folder
whose checkpoint holds a SAC ``agent`` (its greedy policy acts) or a ``model`` (MPC with this
run's planner on it; from a ``dagger-model`` run, those of its best iterate), or a ``.npz`` data
set (:func:`load_expert_dataset`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from mbrl_zoo.buffer import ReplayBuffer, episode_spans
from mbrl_zoo.device import seeded_generator
from mbrl_zoo.config import RunConfig, from_dict
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.diagnostics import trajectory_errors
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.registry import ALGORITHMS, MODELS, Pairing, register_pairing
from mbrl_zoo.runs import Run, episode_seed, read_run
from mbrl_zoo.settings import SettingError, setting
from mbrl_zoo.types import Batch
from planners.mpc import MPCPolicy, MPCSettings

from algorithms.loop import EnvLoop, Policy, add_step, play_episode
from algorithms.model_rollouts import branched_rollouts, mixed_batch
from algorithms.sac import AgentSettings, SACAgent

EXPERT_EPISODE_OFFSET = 2_000_000_000
"""The expert's episodes take their reset seeds from episode indices above this, disjoint from the
learner's and the evaluations'."""
DATASET_KEYS = ("obs", "act", "next_obs", "reward", "terminated")
"""Arrays an expert ``.npz`` data set must hold (see :func:`load_expert_dataset`)."""
ITERATION_COLUMNS = ("iteration_return", "best_iteration", "best_return", "model_1step_nmse_learner",
                     "model_hstep_nmse_learner", "model_1step_nmse_expert", "model_hstep_nmse_expert",
                     "model_return_gap", "model_return_gap_abs")
"""metrics.csv columns filled only in the row of an iteration's last episode."""


@dataclass(frozen=True)
class Config(MPCSettings, FitSettings, AgentSettings):
    """Settings of DAgger-style model learning: planning (:class:`~planners.mpc.MPCSettings`),
    model fitting (:class:`~mbrl_zoo.models.environment.FitSettings`, PETS's values; the model is
    refitted once per iteration, so ``refit_every`` is not used), the SAC learner's
    (:class:`~algorithms.sac.AgentSettings`, for ``policy: sac``) and:

    ``iterations`` N: policies pi_1..pi_N executed. ``episodes_per_iteration``: real episodes of
    each. ``expert_fraction`` f: share of every fit minibatch drawn from D_expert (the rest from
    D_learner), whatever the sizes of the two. ``expert``: ``oracle``, a run folder or a ``.npz``
    data set. ``expert_steps``: transitions of D_expert (an acting expert plays that many steps;
    a data set gives its first that many rows). ``expert_noise``: std of Gaussian noise added to
    the acting expert's actions, as a fraction of the half-width of the action box.
    ``aggregate``: true: D_learner <- D_learner U D_i; false: D_learner <- D_i. ``refit``: false
    keeps M_1 (classical system identification). ``policy``: ``mpc`` (plan in M_i with the run's
    planner) or ``sac`` (the greedy policy of a SAC agent trained in M_i, :func:`train_in_model`).
    ``diagnostic_horizon`` H and ``diagnostic_stride``: the H-step errors start every that many
    steps of an episode.

    Which settings apply to which ``policy``: ``discount`` to both (the planned return's discount,
    the planning expert's included; SAC's, where it must be < 1). The SAC learner's settings (``hidden``, ``lr``, ``tau``,
    ``batch_size``, ``init_alpha``, ``learn_alpha``, ``target_entropy``) and ``sac_updates_per_iteration``,
    ``rollout_length``, ``rollout_batch_size``, ``rollout_every``, ``model_buffer_size`` and
    ``real_ratio`` apply only to ``sac``: with ``mpc`` a value other than the default is refused
    (:data:`SAC_ONLY`). MPC's settings (``horizon``, ``particles``, ``propagation``, ...) are the
    learner's planner's with ``mpc``; with ``sac`` they configure only an expert that plans
    (``oracle`` or a model run) and are otherwise unused.
    """

    iterations: int = setting(10, ">= 1")
    episodes_per_iteration: int = setting(1, ">= 1")
    expert_fraction: float = setting(0.5, "[0, 1]", note="the share of every fit minibatch drawn from the expert's data")
    expert: str = "oracle"
    expert_steps: int = setting(1000, ">= 0")
    expert_noise: float = setting(0.0, ">= 0")
    aggregate: bool = True
    refit: bool = True
    policy: Literal["mpc", "sac"] = "mpc"
    sac_updates_per_iteration: int = setting(2000, ">= 0")
    """U: SAC updates in each model M_i (pi_i is the agent after them)."""
    rollout_length: int = setting(5, ">= 1")
    """k: model steps per branched rollout."""
    rollout_batch_size: int = setting(400, ">= 1")
    """Start states drawn from D_expert U D_learner per round of rollouts."""
    rollout_every: int = setting(250, ">= 1")
    """SAC updates between two rounds of rollouts (the first round precedes the first update)."""
    model_buffer_size: int = setting(100_000, ">= 1")
    """Imagined transitions kept within an iteration; the oldest are dropped first."""
    real_ratio: float = setting(0.05, "[0, 1]")
    """Share of every SAC minibatch drawn from D_expert U D_learner (Janner et al. 2019's 0.05)."""
    diagnostic_horizon: int = setting(10, ">= 1")
    diagnostic_stride: int = setting(5, ">= 1")
    buffer_capacity: int = setting(1_000_000, ">= 1")
    fit_epochs: int = 50
    fit_batch_size: int = 32
    fit_holdout_ratio: float = 0.1

    def __post_init__(self):
        MPCSettings.__post_init__(self)
        FitSettings.__post_init__(self)
        if self.expert_fraction > 0.0 and self.expert_steps == 0:
            raise UserError(f"algorithm.expert_fraction={self.expert_fraction} draws from the expert's data, but "
                            "algorithm.expert_steps=0 collects none; set expert_fraction=0 or expert_steps > 0.")
        if not self.expert.strip():
            raise UserError("algorithm.expert is empty; give 'oracle', a run folder or a .npz data set.")
        if self.policy == "sac" and self.discount >= 1.0:
            raise SettingError({"discount": self.discount, "policy": self.policy},
                               "SAC's soft Q-values need discount < 1 (Haarnoja et al. 2018 use 0.99); "
                               "set algorithm.discount=0.99 with policy='sac'")
        if self.policy == "mpc":
            defaults = {f.name: f.default for f in fields(self)}
            for name in SAC_ONLY:
                if getattr(self, name) != defaults[name]:
                    raise SettingError({name: getattr(self, name)},
                                       "it trains the SAC policy, so it applies only with algorithm.policy='sac' "
                                       "(this run plans with policy='mpc')")

    def check_run(self, config: RunConfig) -> None:
        """Refuse (:class:`UserError`) an expert source that cannot act on (or describe) the task
        of ``config``, before any results folder exists."""
        if self.expert_steps > 0:
            expert_source(config)


SAC_ONLY = tuple(f.name for f in fields(AgentSettings) if f.name != "discount") + (
    "sac_updates_per_iteration", "rollout_length", "rollout_batch_size", "rollout_every", "model_buffer_size",
    "real_ratio")
"""Settings that only ``policy: sac`` reads; :class:`Config` refuses other values than their defaults with ``mpc``."""


# expert sources ---------------------------------------------------------------------------------
def load_expert_dataset(path: str | Path, obs_dim: int, act_dim: int) -> Batch:
    """Read an expert data set: an ``.npz`` file (``numpy.savez``) of N transitions holding

    ``obs`` (N, O), ``act`` (N, A), ``next_obs`` (N, O), ``reward`` (N,) and ``terminated`` (N,)
    (bool or 0/1), and optionally ``truncated`` (N,) marking the last transition of an episode cut
    by a time limit. Rows are in the order played, so consecutive rows up to a terminated or
    truncated mark form one episode. Refuses a file that is missing, lacks a key, has NaNs or
    infinities, or whose shapes do not match the task's O and A."""
    path = Path(path)
    try:
        with np.load(path) as arrays:
            data = {key: np.asarray(arrays[key]) for key in arrays.files}
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read expert data set {str(path)!r} as an .npz file ({error}).") from error
    missing = [key for key in DATASET_KEYS if key not in data]
    if missing:
        raise UserError(f"expert data set {str(path)!r} lacks {missing}; it needs arrays {list(DATASET_KEYS)} "
                        "(optionally 'truncated').")
    n = len(data["obs"])
    expected = {"obs": (n, obs_dim), "act": (n, act_dim), "next_obs": (n, obs_dim), "reward": (n,),
                "terminated": (n,), "truncated": (n,)}
    for key, shape in expected.items():
        if key in data and data[key].shape != shape:
            raise UserError(f"expert data set {str(path)!r}: {key} has shape {data[key].shape}, expected {shape} "
                            f"(the task has {obs_dim} observation and {act_dim} action dimensions).")
        if key in data and not np.isfinite(data[key].astype(np.float64)).all():
            raise UserError(f"expert data set {str(path)!r}: {key} holds NaN or infinite values.")
    truncated = data.get("truncated", np.zeros(n, dtype=bool))
    return Batch(obs=torch.as_tensor(data["obs"], dtype=torch.float32),
                 act=torch.as_tensor(data["act"], dtype=torch.float32),
                 next_obs=torch.as_tensor(data["next_obs"], dtype=torch.float32),
                 rew=torch.as_tensor(data["reward"], dtype=torch.float32),
                 terminated=torch.as_tensor(data["terminated"]).bool(), truncated=torch.as_tensor(truncated).bool())


def expert_source(config: RunConfig) -> tuple[str, object]:
    """What ``algorithm.expert`` names, checked against the run's task: ``("oracle", None)``,
    ``("dataset", Batch)``, ``("agent", (run config dict, saved state))`` or ``("model", (saved
    RunConfig, saved state))``."""
    cfg: Config = config.algorithm
    spec = config.task_spec()
    obs_dim, act_dim = spec.dims()
    if cfg.expert == "oracle":
        if not spec.obs_is_state:
            raise UserError(f"algorithm.expert='oracle' plans on the simulator, which needs a task whose observation "
                            f"is the state (TaskSpec.obs_is_state); task {spec.name!r} is not one. Give a run "
                            "folder or an .npz data set as algorithm.expert.")
        return "oracle", None
    path = Path(cfg.expert)
    if path.suffix == ".npz":
        return "dataset", load_expert_dataset(path, obs_dim, act_dim)
    if not path.is_dir():
        raise UserError(f"algorithm.expert={cfg.expert!r} is neither 'oracle', a run folder nor an .npz data set.")
    saved_config, state = read_run(path, task=spec.name)
    parts = dict(state.get("parts", {}))
    # A dagger-model run's result is its best iterate, not its last: that one acts.
    best = parts.get("best")
    if isinstance(best, dict):
        parts.update({key: best[key] for key in ("agent", "model") if best.get(key) is not None})
    if "agent" in parts:
        if "hidden" not in saved_config.get("algorithm", {}):
            raise UserError(f"the run in {str(path)!r} saved an agent this algorithm cannot rebuild (no SAC settings).")
        return "agent", (saved_config, parts["agent"])
    if "model" in parts:
        return "model", (from_dict(saved_config), parts["model"])
    raise UserError(f"the run in {str(path)!r} saved neither an agent nor a model ({sorted(parts)}); "
                    "give a SAC run, a model-learning run, 'oracle' or an .npz data set.")


def expert_policy(config: RunConfig, loop: EnvLoop, kind: str, source: object, generator: torch.Generator) -> Policy:
    """The policy that plays the expert: MPC on the simulator (``oracle``) or on a saved model, or a
    saved SAC agent's greedy policy."""
    cfg: Config = config.algorithm
    if kind == "agent":
        saved_config, state = source
        sac = saved_config["algorithm"]
        agent = SACAgent(loop.obs_dim, loop.act_dim, loop.low, loop.high, hidden=tuple(sac["hidden"]))
        agent.load_state_dict(state)
        return agent.greedy
    if kind == "oracle":
        dynamics = MODELS.get("oracle").obj(obs_dim=loop.obs_dim, act_dim=loop.act_dim, task=loop.spec)
        settings = replace(cfg, particles=1, propagation="expectation")
    else:
        saved, state = source
        dynamics = saved.make_model(loop.obs_dim, loop.act_dim)
        settings = cfg
    model = EnvironmentModel(dynamics, loop.spec, cfg)
    if kind == "model":
        model.load_state_dict(state)
    planner = config.make_planner(loop.low, loop.high, cfg.horizon)
    return MPCPolicy(planner, model, settings, generator)


def collect_expert(config: RunConfig, loop: EnvLoop, into: ReplayBuffer) -> float | None:
    """Fill ``into`` with ``expert_steps`` expert transitions (the last episode cut, marked
    truncated) and return the expert's mean return over its complete episodes (over the one cut
    episode when none completed; None for a data set without complete episodes). Acting experts
    play a separate env with reset seeds disjoint from the learner's, their actions perturbed by
    ``expert_noise``."""
    cfg: Config = config.algorithm
    kind, source = expert_source(config)
    if kind == "dataset":
        data = source
        rows = min(len(data), cfg.expert_steps)
        ends = (data.terminated | data.truncated)[:rows].clone()
        ends[-1] = True
        into.add_batch(Batch(data.obs[:rows], data.act[:rows], data.next_obs[:rows], data.rew[:rows],
                             data.terminated[:rows], ends & ~data.terminated[:rows]))
        complete = (data.terminated | data.truncated)[:rows]
        if not bool(complete.any()):
            return None
        last = int(complete.nonzero()[-1, 0]) + 1
        return float(data.rew[:last].sum()) / int(complete.sum())
    generator = seeded_generator(loop.seed + 7)
    rng = np.random.default_rng([loop.seed, 7])
    policy = expert_policy(config, loop, kind, source, generator)
    half_width = (loop.high - loop.low) / 2

    def noisy(obs: np.ndarray) -> np.ndarray:
        action = policy(obs)
        if cfg.expert_noise > 0:
            action = np.clip(action + cfg.expert_noise * half_width * rng.standard_normal(loop.act_dim),
                             loop.low, loop.high)
        return action

    env = loop.spec.make_env()
    returns, partial, episode = [], 0.0, 0
    while len(into) < cfg.expert_steps:
        if isinstance(policy, MPCPolicy):
            policy.reset()
        partial = 0.0
        for step in play_episode(env, noisy, episode_seed(loop.seed, EXPERT_EPISODE_OFFSET + episode)):
            last = len(into) + 1 == cfg.expert_steps
            partial += step.rew
            into.add(step.obs, step.act, step.next_obs, step.rew, step.terminated, step.truncated or last)
            if last and not (step.terminated or step.truncated):
                break
        else:
            returns.append(partial)
        episode += 1
    env.close()
    return float(np.mean(returns)) if returns else partial


# diagnostics ------------------------------------------------------------------------------------
def episodes_of(buffer: ReplayBuffer) -> list[Batch]:
    """The complete episodes of ``buffer`` (rows up to a terminated or truncated mark), each a Batch
    of its T transitions."""
    data = buffer.all()
    return [Batch(*(getattr(data, f)[first: last + 1] for f in ("obs", "act", "next_obs", "rew", "terminated",
                                                                 "truncated")))
            for first, last in episode_spans(buffer.state_dict())]


def model_diagnostics(model: EnvironmentModel, learner: list[Batch], expert: list[Batch], cfg: Config) -> dict:
    """The simulation lemma's two sides for the model pi_i planned in: its one-step and H-step
    normalised errors against the real transitions of pi_i's episodes (``learner``) and of the
    expert's (``expert``), and the H-step return it predicts for pi_i's executed actions minus the
    real return (mean signed and mean absolute)."""
    horizon, stride = cfg.diagnostic_horizon, cfg.diagnostic_stride
    out = {}
    for name, episodes in (("learner", learner), ("expert", expert)):
        if not episodes:
            continue
        errors = trajectory_errors(model.dynamics.mean, model.reward_fn, episodes, horizon, stride)
        out[f"model_1step_nmse_{name}"] = errors["one_step_nmse"]
        out[f"model_hstep_nmse_{name}"] = errors["h_step_nmse"]
        if name == "learner":
            out["model_return_gap"] = errors["return_gap"]
            out["model_return_gap_abs"] = errors["return_gap_abs"]
    return out


def empty(buffer: ReplayBuffer) -> None:
    """Drop every transition of ``buffer``, keeping its capacity."""
    buffer.load_state_dict(ReplayBuffer(buffer.obs_dim, buffer.act_dim, buffer.capacity).state_dict())


def gather(learner: ReplayBuffer, latest: ReplayBuffer, aggregate: bool) -> None:
    """D_learner <- D_learner U D_i (``aggregate``) or D_learner <- D_i (the no-aggregation ablation)."""
    if not aggregate:
        empty(learner)
    learner.add_batch(latest.all())


def union(first: ReplayBuffer, second: ReplayBuffer) -> ReplayBuffer:
    """A new buffer holding every transition of ``first`` and then of ``second`` (D_expert U D_learner)."""
    out = ReplayBuffer(first.obs_dim, first.act_dim, max(len(first) + len(second), 1))
    for buffer in (first, second):
        if len(buffer) > 0:
            out.add_batch(buffer.all())
    return out


def train_in_model(agent: SACAgent, model: EnvironmentModel, real: ReplayBuffer, cfg: Config,
                   generator: torch.Generator) -> dict[str, float]:
    """Dyna-style SAC in the model (Sutton 1991; MBPO's branched rollouts, Janner et al. 2019):
    ``sac_updates_per_iteration`` U updates of ``agent``. Before update u = 0, R, 2R, ... (R =
    ``rollout_every``), ``rollout_batch_size`` B start states s_0 (B, O) are drawn uniformly from
    ``real`` (D_expert U D_learner) and rolled out for k = ``rollout_length`` steps in the model
    under the agent's stochastic policy (:func:`~algorithms.model_rollouts.branched_rollouts`,
    at most B k transitions), into an imagined buffer of ``model_buffer_size`` rows that starts
    empty (rollouts of an earlier model are not reused). Each update's minibatch of ``batch_size``
    rows draws ``real_ratio`` of them from ``real`` and the rest from the imagined buffer
    (:func:`~algorithms.model_rollouts.mixed_batch`). Returns the last update's SAC statistics and
    ``rollout_mean_steps`` (model steps per rollout of the last round, <= k); nothing when
    ``real`` is empty (no state to branch from) or U = 0."""
    if len(real) == 0 or cfg.sac_updates_per_iteration == 0:
        return {}
    imagined = ReplayBuffer(real.obs_dim, real.act_dim, cfg.model_buffer_size)
    stats: dict[str, float] = {}
    for update in range(cfg.sac_updates_per_iteration):
        if update % cfg.rollout_every == 0:
            starts = real.sample(cfg.rollout_batch_size, generator).obs
            rollouts = branched_rollouts(model.dynamics, starts, lambda obs: agent.policy(obs)[0], cfg.rollout_length,
                                         model.reward_fn, model.termination_fn, generator)
            imagined.add_batch(rollouts)
            stats["rollout_mean_steps"] = len(rollouts) / cfg.rollout_batch_size
        stats.update(agent.update(mixed_batch(real, imagined, cfg.batch_size, cfg.real_ratio, generator)))
    return stats


def better(candidate: float, best: float | None) -> bool:
    """Whether an iterate of real return ``candidate`` replaces the best so far (the first of equals stays)."""
    return best is None or candidate > best


# the algorithm ----------------------------------------------------------------------------------
def train(config: RunConfig, run: Run) -> None:
    """Ross & Bagnell 2012's loop for ``iterations`` iterations (within ``run.steps`` env steps)."""
    cfg: Config = config.algorithm
    loop = EnvLoop(config, run)
    model = EnvironmentModel(config.make_model(loop.obs_dim, loop.act_dim), loop.spec, cfg)
    expert = ReplayBuffer(loop.obs_dim, loop.act_dim, max(cfg.expert_steps, 1))
    learner = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)  # D_learner
    latest = ReplayBuffer(loop.obs_dim, loop.act_dim, cfg.buffer_capacity)   # D_i
    progress = {"iteration": 1, "returns": [], "episode_return": 0.0, "expert_return": None, "started": False,
                "finished": False}
    best = {"iteration": None, "return": None, "model": None, "agent": None}
    if cfg.policy == "mpc":
        mpc, agent = MPCPolicy(config.make_planner(loop.low, loop.high, cfg.horizon), model, cfg,
                               loop.streams.torch), None
        act, acting = mpc, {"policy": mpc}
    else:  # one agent, trained further in every new model (a warm start)
        mpc, agent = None, SACAgent.for_loop(cfg, loop)
        act, acting = agent.greedy, {"agent": agent}
    loop.keep(model=model, **acting, expert=expert, learner=learner, latest=latest, progress=progress, best=best)

    def compute_policy() -> None:
        # pi_i in M_i: MPC plans in the model as it acts; SAC is trained in it now.
        if agent is not None:
            with loop.phase("training SAC in the model"):
                loop.stats.update(train_in_model(agent, model, union(expert, learner), cfg, loop.streams.torch))

    if not progress["started"]:
        # D_expert, then M_1 <- Train(D_expert) and pi_1 in M_1.
        if cfg.expert_steps > 0:
            progress["expert_return"] = collect_expert(config, loop, expert)
        with loop.phase("fitting the model"):
            loop.stats.update(model.refit(learner, loop.streams.torch, other=expert, other_share=1.0))
        compute_policy()
        progress["started"] = True
    expert_episodes = episodes_of(expert)
    if progress["finished"]:
        loop.total_steps = loop.env_step
    for obs in loop:
        if loop.episode_started and mpc is not None:
            mpc.reset()
        step = loop.step(act(obs))
        add_step(latest, step)
        progress["episode_return"] += step.rew
        if not (step.terminated or step.truncated):
            continue
        # An episode of pi_i ended: its row carries the iteration's figures when it was the last.
        for column in ITERATION_COLUMNS:
            loop.stats.pop(column, None)
        loop.stats.update(iteration=progress["iteration"], expert_return=progress["expert_return"])
        if mpc is not None:
            loop.stats["plan_ms_per_step"] = mpc.ms_per_call
        progress["returns"].append(progress["episode_return"])
        progress["episode_return"] = 0.0
        if len(progress["returns"]) < cfg.episodes_per_iteration:
            continue
        i, real_return = progress["iteration"], float(np.mean(progress["returns"]))
        loop.stats.update(model_diagnostics(model, episodes_of(latest), expert_episodes, cfg))
        if better(real_return, best["return"]):
            best.update({"iteration": i, "return": real_return, "model": model.state_dict(),
                         "agent": None if agent is None else agent.state_dict()})
        loop.stats.update(iteration_return=real_return, best_iteration=best["iteration"], best_return=best["return"])
        if i == cfg.iterations:
            progress["finished"] = True
            loop.total_steps = loop.env_step  # pi_N was the last policy to execute
            continue
        # D_learner <- D_learner U D_i (or D_i alone), M_{i+1} <- Train(f D_expert + (1 - f) D_learner),
        # then pi_{i+1} in M_{i+1}.
        gather(learner, latest, cfg.aggregate)
        if cfg.refit:
            with loop.phase("fitting the model"):
                loop.stats.update(model.refit(learner, loop.streams.torch, other=expert, other_share=cfg.expert_fraction))
        compute_policy()
        empty(latest)
        progress.update(iteration=i + 1, returns=[])


ALGORITHMS.add("dagger-model", sys.modules[__name__], requires={"model", "planner"})

DAGGER_TASK_SETTINGS = {
    # One 1000-step expert episode of CEM on the simulator (it balances for all 1000 steps);
    # 100 candidates x 3 iterations x 5 particles, as pets-value's preset, plan a 15-step horizon.
    "InvertedPendulum-v5": {"algorithm": {"particles": 5, "expert_steps": 1000},
                            "planner": {"population_size": 100, "iterations": 3}},
    # pets's preset: 100 x 3 CEM, 5 particles; 200-step episodes.
    "cartpole-balance": {"algorithm": {"particles": 5, "expert_steps": 400},
                         "planner": {"population_size": 100, "iterations": 3}},
}
"""Per-task presets shared by the dagger-model pairings."""

_COMMON = {"propagation": "tsinf"}
register_pairing(Pairing(
    "dagger-model", "dagger-model", "pe", "cem", {"algorithm": dict(_COMMON)},
    "DAgger-style model learning (Ross & Bagnell 2012): refit on 50% expert + 50% learner data, plan with CEM",
    task_settings=DAGGER_TASK_SETTINGS))
register_pairing(Pairing(
    "train-once", "dagger-model", "pe", "cem", {"algorithm": {**_COMMON, "refit": False, "expert_fraction": 1.0}},
    "classical system identification: fit once on the expert's data, plan, never refit",
    task_settings=DAGGER_TASK_SETTINGS))
register_pairing(Pairing(
    "learner-only", "dagger-model", "pe", "cem",
    {"algorithm": {**_COMMON, "expert_fraction": 0.0, "expert_steps": 0}},
    "DAgger-style loop without expert data: refit on the learner's own episodes (PETS's loop)",
    task_settings={task: {**s, "algorithm": {**s["algorithm"], "expert_steps": 0}}
                   for task, s in DAGGER_TASK_SETTINGS.items()}))
register_pairing(Pairing(
    "dagger-model-sac", "dagger-model", "pe", "cem", {"algorithm": {**_COMMON, "policy": "sac", "discount": 0.99}},
    "DAgger-style model learning with SAC trained in each refitted model (Dyna-style) as the policy",
    task_settings=DAGGER_TASK_SETTINGS))
register_pairing(Pairing(
    "no-aggregation", "dagger-model", "pe", "cem", {"algorithm": {**_COMMON, "aggregate": False}},
    "DAgger-style model learning fitted on the expert's data and the latest iteration's only",
    task_settings=DAGGER_TASK_SETTINGS))
