"""What the assignments' checks share: finding a submission's registered components and running a
zoo pairing with them until it solves a task."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mbrl_zoo.app.grade import CheckFailed
from mbrl_zoo.registry import Registry


def registered_name(table: Registry, obj: Any, decorator: str) -> str:
    """The name under which ``obj`` (a submitted class) is registered in ``table``, or a
    :class:`CheckFailed` asking for the ``decorator`` line of the starter file."""
    for entry in table:
        if entry.obj is obj:
            return entry.name
    raise CheckFailed(f"{obj.__name__} is not registered; keep the line {decorator} above it, as in the starter file.")


@dataclass(frozen=True)
class Solved:
    """Where a run reached its target: ``env_step`` and ``episode`` (None: not within the budget),
    with every episode's return up to there."""

    env_step: int | None
    episode: int | None
    returns: list[float]

    def verdict(self, what: str, task: str, target: float, steps: int, seed: int) -> str:
        """The check's note when solved; a :class:`CheckFailed` naming ``what`` ran, the budget
        and the best episode when not."""
        if self.env_step is None:
            best = max(self.returns, default=float("nan"))
            raise CheckFailed(f"{what} did not reach a return of {target:g} on {task} within {steps} env steps "
                              f"(seed {seed}; best episode {best:g}).")
        return f"return >= {target:g} in episode {self.episode}, after {self.env_step} env steps"


class _Reached(Exception):
    pass


def train_until(pairing: str, task: str, *, target: float, steps: int, seed: int = 0,
                overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Solved:
    """Run ``pairing`` on ``task`` (``mbrl_zoo.train``, the command line's path) for at most
    ``steps`` env steps, stopping after the first episode whose return reaches ``target``.

    Stopping early is what keeps an end-to-end check within its time limit; the run's episode
    log (``mbrl_zoo.runs.Run.log_episode``) is watched for the target in this (the check's own,
    disposable) process.
    """
    from mbrl_zoo.app import train
    from mbrl_zoo.runs import Run

    returns: list[float] = []
    reached: list[tuple[int, int]] = []
    original = Run.log_episode

    def log_episode(self, env_step: int, episode: int, episode_return: float, *args: Any, **kwargs: Any) -> None:
        original(self, env_step, episode, episode_return, *args, **kwargs)
        returns.append(float(episode_return))
        if episode_return >= target:
            reached.append((env_step, episode))
            raise _Reached

    Run.log_episode = log_episode
    try:
        with tempfile.TemporaryDirectory(prefix="mbrl_zoo_check_") as out:
            train(pairing, task, steps=steps, seed=seed, out=f"{out}/run", overrides=overrides, quiet=True)
    except _Reached:
        pass
    finally:
        Run.log_episode = original
    if reached:
        return Solved(reached[0][0], reached[0][1], returns)
    return Solved(None, None, returns)
