"""Model diagnostics for notebooks: errors against the simulator, k-step open-loop error,
ensemble disagreement against true error, and plots of them.

Errors are normalised per dimension so that dims of different scales count alike:
``nmse = mean_d  E[(prediction_d - truth_d)^2] / Var(truth_d - start_d)``, where ``start`` is the
state the prediction started from (one step earlier for one-step errors, k steps for k-step
errors). 1.0 is the error of always predicting the average change; delta and non-delta models
are held to the same denominator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

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
