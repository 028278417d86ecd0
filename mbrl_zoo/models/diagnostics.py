"""Model diagnostics for notebooks: errors against the simulator, k-step open-loop error,
ensemble disagreement against true error, and plots of them.

Errors are normalised per dimension so that dims of different scales count alike:
``nmse = mean_d  E[(prediction_d - truth_d)^2] / Var(truth_d - start_d)``, where ``start`` is the
state the prediction started from (one step earlier for one-step errors, k steps for k-step
errors). 1.0 is the error of always predicting the average change; delta and non-delta models
are held to the same denominator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.types import Batch


CONSTANT_STD = 1e-6
"""A target dim whose change has a std at most this is constant (as in the models' normalisers)."""


def normalized_mse(pred: torch.Tensor, start: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``pred`` (..., B, O) against ``truth`` (B, O), normalised by Var over rows of
    ``truth - start`` per dim, averaged over dims: shape (...).

    Dims that do not change in ``truth`` (std of ``truth - start`` at most 1e-6: a goal position
    fixed within an episode, as in Reacher and Pusher) have no variance to normalise by and are
    left out of the average; dividing by ~0 would let them swamp every other dim. If no dim
    changes, the plain MSE averaged over dims is returned."""
    var = (truth - start).var(dim=0, unbiased=False)
    changing = var > CONSTANT_STD**2
    squared = (pred - truth).square().mean(dim=-2)
    if not bool(changing.any()):
        return squared.mean(dim=-1)
    return (squared[..., changing] / var[changing]).mean(dim=-1)


def random_transitions(task: Any, transitions: int, seed: int = 0, policy: Any = None) -> Batch:
    """``transitions`` steps of a uniform random policy in ``task``'s env (episodes restart on
    termination or time limit), as a Batch of float64 tensors (N, ...). ``policy(obs (O,)) ->
    act (A,)`` (numpy) acts instead of the random one when given."""
    env = task.make_env()
    rng = np.random.default_rng(seed)
    env.action_space.seed(int(rng.integers(2**31)))
    columns: dict[str, list] = {k: [] for k in ("obs", "act", "next_obs", "rew", "terminated", "truncated")}
    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    for _ in range(transitions):
        act = env.action_space.sample() if policy is None else policy(obs)
        next_obs, rew, terminated, truncated, _ = env.step(act)
        for key, value in zip(columns, (obs, act, next_obs, rew, terminated, truncated)):
            columns[key].append(value)
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    return Batch(**{k: torch.as_tensor(np.asarray(v)) for k, v in columns.items()})


@dataclass(frozen=True)
class OpenLoopData:
    """Simulator trajectories under fixed action sequences: ``obs`` (N, H+1, O) float64, starting
    from N different simulator states, and ``act`` (N, H, A)."""

    obs: torch.Tensor
    act: torch.Tensor

    @property
    def horizon(self) -> int:
        return self.act.shape[1]


def simulate_open_loop(task: Any, starts: int, horizon: int, seed: int = 0, stride: int = 10,
                       warmup: int = 20) -> OpenLoopData:
    """Collect ``starts`` start states from a random-policy run of ``task`` (one every ``stride``
    steps after ``warmup`` steps of each episode), then, from each, reset the MuJoCo simulator to
    that full state and apply ``horizon`` uniform random actions, recording observations."""
    env = task.make_env()
    sim = env.unwrapped
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    states = []
    env.reset(seed=int(rng.integers(2**31)))
    step = 0
    while len(states) < starts:
        _, _, terminated, truncated, _ = env.step(rng.uniform(low, high))
        step += 1
        if step > warmup and step % stride == 0:
            states.append((sim.data.qpos.copy(), sim.data.qvel.copy()))
        if terminated or truncated:
            env.reset()
            step = 0
    obs = np.empty((starts, horizon + 1) + env.observation_space.shape)
    act = rng.uniform(low, high, size=(starts, horizon) + low.shape)
    for n, (qpos, qvel) in enumerate(states):
        sim.set_state(qpos, qvel)
        obs[n, 0] = sim._get_obs()
        for k in range(horizon):
            obs[n, k + 1] = sim.step(act[n, k])[0]
    env.close()
    return OpenLoopData(torch.as_tensor(obs), torch.as_tensor(act))


@torch.no_grad()
def kstep_error(model: DynamicsModel, data: OpenLoopData, members: Sequence[int] | None = None,
                sample: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """Open-loop error (H,) of ``model`` against the simulator: entry k-1 is the normalised MSE of
    the predicted state k steps after the start, the model fed its own predictions.

    Propagation: the elites' average mean (``members=None``), the average mean of the given
    ``members`` (e.g. the first e, to study ensemble size), or with ``sample=True`` one sampled
    trajectory per start, row n kept on elite ``n mod K`` (PETS's TS-inf).
    """
    truth, act = data.obs, data.act
    obs = truth[:, 0]
    elites = model.elites
    member = elites[torch.arange(obs.shape[0]) % elites.numel()]
    errors = []
    for k in range(data.horizon):
        if sample:
            obs = model.sample(obs, act[:, k], member, generator)
        elif members is None:
            obs = model.mean(obs, act[:, k])
        else:
            obs = model.predict(obs, act[:, k])[0][list(members)].mean(dim=0)
        errors.append(normalized_mse(obs, truth[:, 0], truth[:, k + 1]))
    return torch.stack(errors)


@torch.no_grad()
def trajectory_errors(predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                      reward_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                      episodes: Sequence[Batch], horizon: int, stride: int = 1) -> dict[str, float | None]:
    """A model's errors along real trajectories: the two sides of the simulation lemma (Kearns &
    Singh 2002; Ross & Bagnell 2012), measured on the state distribution the ``episodes`` (each a
    Batch of one episode's T consecutive transitions) were played under.

    ``predict(obs (B, O), act (B, A)) -> next_obs (B, O)`` is the model's point prediction and
    ``reward_fn(obs, act, next_obs) -> (B,)`` scores its transitions. Returns

    - ``one_step_nmse``: :func:`normalized_mse` of ``predict(s_t, a_t)`` against ``s_{t+1}`` over
      every transition;
    - ``h_step_nmse``: from every ``stride``-th step t with t + H <= T, the model fed its own
      predictions under the executed actions a_t..a_{t+H-1}; :func:`normalized_mse` of its s_{t+H}
      against the real one (start s_t);
    - ``return_gap`` / ``return_gap_abs``: the mean over those windows of the predicted H-step
      return sum_k r(s^_k, a_k, s^_{k+1}) minus the real sum_k r_{t+k}, and of its absolute value.

    H-step figures are None when no episode is H steps long.
    """
    none = {"h_step_nmse": None, "return_gap": None, "return_gap_abs": None}
    episodes = [e for e in episodes if len(e) > 0]
    if not episodes:
        return {"one_step_nmse": None, **none}
    obs = torch.cat([e.obs for e in episodes]).float()
    act = torch.cat([e.act for e in episodes]).float()
    next_obs = torch.cat([e.next_obs for e in episodes]).float()
    out: dict[str, float | None] = {"one_step_nmse": float(normalized_mse(predict(obs, act), obs, next_obs))}
    starts = [(e, t) for e in episodes for t in range(0, len(e) - horizon + 1, stride)]
    if not starts:
        return {**out, **none}
    start = torch.stack([e.obs[t] for e, t in starts]).float()                       # (W, O)
    actions = torch.stack([e.act[t: t + horizon] for e, t in starts]).float()        # (W, H, A)
    truth = torch.stack([e.next_obs[t + horizon - 1] for e, t in starts]).float()    # (W, O)
    real = torch.stack([e.rew[t: t + horizon].sum() for e, t in starts]).double()    # (W,)
    state, predicted = start, torch.zeros(len(starts), dtype=torch.float64)
    for k in range(horizon):
        following = predict(state, actions[:, k])
        predicted += reward_fn(state, actions[:, k], following).double()
        state = following
    gap = predicted - real
    return {**out, "h_step_nmse": float(normalized_mse(state, start, truth)), "return_gap": float(gap.mean()),
            "return_gap_abs": float(gap.abs().mean())}


def kstep_by_ensemble_size(model: DynamicsModel, data: OpenLoopData,
                           sizes: Sequence[int] | None = None) -> dict[int, torch.Tensor]:
    """:func:`kstep_error` (H,) of the mean of the first e members, for each e in ``sizes``
    (default 1..E)."""
    sizes = range(1, model.ensemble_size + 1) if sizes is None else sizes
    return {e: kstep_error(model, data, members=range(e)) for e in sizes}


@torch.no_grad()
def disagreement_vs_error(model: DynamicsModel, data: Batch) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Per transition (B,): the ensemble's disagreement (variance over members of their mean
    predictions) and the true squared error of the members' average, both per dim divided by
    Var(next_obs - obs) and averaged over dims; and their Spearman rank correlation, i.e. how well
    disagreement flags the transitions the model gets wrong (cf. Chua et al. 2018; Kurutach et al.
    2018)."""
    mean, _ = model.predict(data.obs, data.act)
    truth, obs = data.next_obs.to(mean.dtype), data.obs.to(mean.dtype)
    scale = (truth - obs).var(dim=0, unbiased=False).clamp_min(1e-12)
    disagreement = (mean.var(dim=0, unbiased=False) / scale).mean(dim=-1)
    error = ((mean.mean(dim=0) - truth).square() / scale).mean(dim=-1)
    ranks = [torch.argsort(torch.argsort(x)).double() for x in (disagreement, error)]
    spearman = float(torch.corrcoef(torch.stack(ranks))[0, 1])
    return disagreement, error, spearman


def plot_kstep(curves: Mapping[str, torch.Tensor], ax: Any = None, title: str = "open-loop prediction error"):
    """Plot k-step error curves {label: (H,)} on a log scale; returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for label, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), torch.as_tensor(curve).cpu().numpy(), marker="o", ms=3, label=str(label))
    ax.set(xlabel="steps ahead k", ylabel="normalised MSE", yscale="log", title=title)
    ax.legend()
    return ax


def plot_disagreement(disagreement: torch.Tensor, error: torch.Tensor, ax: Any = None):
    """Scatter of true error against ensemble disagreement (log-log); returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 5))[1]
    ax.scatter(disagreement.cpu().numpy(), error.cpu().numpy(), s=4, alpha=0.5)
    ax.set(xlabel="ensemble disagreement (normalised)", ylabel="true squared error (normalised)",
           xscale="log", yscale="log")
    return ax


# ---------------------------------------------------------------------------------------------
# Value estimates by rollout length (the bias/variance trade-off of MVE, Feinberg et al. 2018,
# and of MBPO's short branched rollouts, Janner et al. 2019)
# ---------------------------------------------------------------------------------------------

Policy = Callable[[torch.Tensor], torch.Tensor]
"""A fixed deterministic policy: observations (B, O) -> actions (B, A)."""


@torch.no_grad()
def policy_returns(model: DynamicsModel, obs0: torch.Tensor, policy: Policy, reward_fn: Callable,
                   steps: int, discount: float, termination_fn: Callable | None = None) -> torch.Tensor:
    """Discounted return ``sum_{t<steps} discount^t r_t`` (N,) of ``policy`` from each start ``obs0``
    (N, O), stepping ``model``'s mean prediction (with the simulator oracle: the true return, the
    simulator reset to each start state). Rewards after a termination count zero."""
    obs, alive = obs0, torch.ones(obs0.shape[0], dtype=obs0.dtype)
    total = torch.zeros_like(alive)
    for t in range(steps):
        act = policy(obs)
        next_obs = model.mean(obs, act)
        total += discount**t * alive * reward_fn(obs, act, next_obs).to(alive.dtype)
        if termination_fn is not None:
            alive = alive * (~termination_fn(obs, act, next_obs)).to(alive.dtype)
        obs = next_obs
    return total


@torch.no_grad()
def value_estimates(model: DynamicsModel, obs0: torch.Tensor, policy: Policy, reward_fn: Callable,
                    value_fn: Callable[[torch.Tensor], torch.Tensor], horizons: Sequence[int], discount: float,
                    particles: int = 1, termination_fn: Callable | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """H-step model-based value estimates of ``policy`` from each start state, for each H in
    ``horizons``: shape (len(horizons), E * particles, N), where E = ``model.ensemble_size``.

    ``V_H(s_0) = sum_{t<H} discount^t r(s_t, a_t, s_{t+1}) + discount^H V(s_H)``, ``a_t = policy(s_t)``,
    with ``s_{t+1}`` sampled from one ensemble member kept for the whole rollout (TS-inf, Chua et
    al. 2018) and ``V = value_fn`` (N,) the terminal value (the critic of MVE, Feinberg et al. 2018);
    H = 0 is the critic alone. Column ``e * particles + p`` is particle p of member e. A terminated
    rollout earns no reward and no terminal value after its termination.
    """
    horizons = [int(h) for h in horizons]
    if not horizons or min(horizons) < 0:
        raise UserError(f"horizons={horizons!r} must be a non-empty list of integers >= 0.")
    members, n = model.ensemble_size, obs0.shape[0]
    copies = members * particles
    obs = obs0.repeat(copies, 1)  # row (e * particles + p) * N + i
    member = torch.arange(members).repeat_interleave(particles * n)
    alive = torch.ones(copies * n, dtype=obs0.dtype)
    reward = torch.zeros_like(alive)
    out = torch.empty(len(horizons), copies * n, dtype=obs0.dtype)
    for t in range(max(horizons) + 1):
        for i, h in enumerate(horizons):
            if h == t:
                out[i] = reward + discount**t * alive * value_fn(obs).reshape(-1).to(alive.dtype)
        if t == max(horizons):
            break
        act = policy(obs)
        next_obs = model.sample(obs, act, member, generator)
        reward = reward + discount**t * alive * reward_fn(obs, act, next_obs).to(alive.dtype)
        if termination_fn is not None:
            alive = alive * (~termination_fn(obs, act, next_obs)).to(alive.dtype)
        obs = next_obs
    return out.reshape(len(horizons), copies, n)


def value_error_decomposition(estimates: torch.Tensor, truth: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split the mean squared error of value estimates into bias and variance.

    ``estimates`` (S, H, M, N): S models fitted on different data seeds, H rollout lengths, M
    estimates per model (ensemble members x particles), N start states; ``truth`` (N,) the true
    returns. Returns tensors (H,), each averaged over start states:

    - ``bias2``: ``(mean over s, m of the estimate - truth)^2``;
    - ``var_model``: variance over the M estimates of one model (members and particles), averaged
      over models;
    - ``var_data``: variance over data seeds of each model's mean estimate;
    - ``mse``: ``bias2 + var_model + var_data``, which equals the mean over s, m of
      ``(estimate - truth)^2`` (population variances, so the split is exact).
    """
    if estimates.dim() != 4 or truth.shape != estimates.shape[-1:]:
        raise UserError(f"estimates must be (S, H, M, N) and truth (N,); got {tuple(estimates.shape)} and "
                        f"{tuple(truth.shape)}.")
    per_model = estimates.mean(dim=2)  # (S, H, N)
    bias2 = (per_model.mean(dim=0) - truth).square().mean(dim=-1)
    var_model = estimates.var(dim=2, unbiased=False).mean(dim=(0, -1))
    var_data = per_model.var(dim=0, unbiased=False).mean(dim=-1)
    return {"bias2": bias2, "var_model": var_model, "var_data": var_data, "mse": bias2 + var_model + var_data}


def fit_value_function(obs: torch.Tensor, returns: torch.Tensor, hidden: int = 64, steps: int = 2000,
                       batch_size: int = 256, lr: float = 1e-3,
                       generator: torch.Generator | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A critic for :func:`value_estimates`: an MLP (O -> hidden -> hidden -> 1, SiLU) regressed on
    Monte Carlo returns ``returns`` (N,) from states ``obs`` (N, O), inputs and targets
    standardised. Returns a function of observations (B, O) -> values (B,)."""
    x, y = obs.float(), returns.float()
    x_mean, x_std = x.mean(0), x.std(0).clamp_min(1e-6)
    y_mean, y_std = y.mean(), y.std().clamp_min(1e-6)
    if generator is not None:
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.SiLU(), torch.nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    xs, ys = (x - x_mean) / x_std, (y - y_mean) / y_std
    for _ in range(steps):
        rows = torch.randint(len(xs), (min(batch_size, len(xs)),), generator=generator)
        loss = (net(xs[rows]).squeeze(-1) - ys[rows]).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def value(o: torch.Tensor) -> torch.Tensor:
        return (net((o.float() - x_mean) / x_std).squeeze(-1) * y_std + y_mean).to(o.dtype)

    return value


# ---------------------------------------------------------------------------------------------
# Ensemble calibration (Lakshminarayanan et al. 2017; Chua et al. 2018)
# ---------------------------------------------------------------------------------------------

@torch.no_grad()
def ensemble_predictive(model: DynamicsModel, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ensemble's predictive mean and variance of ``next_obs``, each (B, O), moment-matched
    over all E members: ``mean = avg_e mu_e``, ``var = avg_e sigma_e^2 + Var_e mu_e`` (aleatoric
    plus epistemic, Lakshminarayanan et al. 2017). A point predictor has sigma_e^2 = 0."""
    means, variances = model.predict(obs, act)
    return means.mean(dim=0), variances.mean(dim=0) + means.var(dim=0, unbiased=False)


def gaussian_nll(mean: torch.Tensor, var: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gaussian negative log-likelihood per dim (nats), averaged over dims: ``mean``, ``var``,
    ``target`` (..., O) -> (...). Variances are floored at 1e-12."""
    var = var.clamp_min(1e-12)
    return 0.5 * ((target - mean).square() / var + var.log() + math.log(2 * math.pi)).mean(dim=-1)


def interval_coverage(mean: torch.Tensor, var: torch.Tensor, target: torch.Tensor,
                      widths: Sequence[float]) -> torch.Tensor:
    """Share (len(widths),) of the entries of ``target`` (B, O) inside ``mean +- w * sqrt(var)``
    for each width w in ``widths`` (in standard deviations), over all rows and dims. A calibrated
    Gaussian covers 0.683 at w = 1 and 0.954 at w = 2."""
    z = (target - mean).abs() / var.clamp_min(1e-24).sqrt()
    return torch.stack([(z <= w).double().mean() for w in widths])


def reliability(mean: torch.Tensor, var: torch.Tensor, target: torch.Tensor,
                levels: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)) -> torch.Tensor:
    """Observed share (len(levels),) of targets inside the central Gaussian interval of each
    nominal probability in ``levels`` (a reliability diagram: calibrated = on the diagonal, below
    it = overconfident)."""
    widths = [math.sqrt(2.0) * float(torch.erfinv(torch.tensor(float(p), dtype=torch.float64))) for p in levels]
    return interval_coverage(mean, var, target, widths)
