"""Public checks of assignment 3 (Dyna/MBPO model rollouts): run them on your file with

    python public_checks.py            # every public check on rollouts.py
    python public_checks.py --quick    # without the end-to-end MBPO run (a few minutes)

Each check runs in its own process with a time limit; the table shows each one's points and,
on a failure, why. The grader runs these and a few hidden checks.
"""

import torch

from mbrl_zoo.app.grade import check, expect, expect_close, expect_tensor, need
from mbrl_zoo.models.base import DynamicsModel


class CounterModel(DynamicsModel):
    """A deterministic toy model: dim 0 counts steps (+1 per step), dim 1 keeps the start
    state's id, dim 2 adds the action. ``members`` records the ``member`` argument of each call."""

    deterministic = True

    def __init__(self):
        super().__init__()
        self.obs_dim, self.act_dim, self.ensemble_size = 3, 1, 1
        self.members = []

    def sample(self, obs, act, member=None, generator=None):
        self.members.append(member)
        return obs + torch.cat([torch.ones_like(obs[:, :1]), torch.zeros_like(obs[:, :1]), act], dim=-1)

    def mean(self, obs, act, member=None):
        return self.sample(obs, act, member)

    def predict(self, obs, act):
        mean = self.mean(obs, act)
        return mean[None], torch.zeros_like(mean)[None]


def half_policy(obs):
    """Action 0.5 in every state."""
    return torch.full((obs.shape[0], 1), 0.5)


def reward_of(obs, act, next_obs):
    """Reward: the counter after the step, plus ten times the start id (tells rows apart)."""
    return next_obs[:, 0] + 10 * next_obs[:, 1]


def starts(counters):
    """Start states (N, 3): counter ``counters[i]``, id i, dim 2 zero."""
    counters = torch.as_tensor(counters, dtype=torch.float32)
    return torch.stack([counters, torch.arange(len(counters), dtype=torch.float32), torch.zeros(len(counters))], 1)


def expect_batch(batch, obs_dim, act_dim):
    """``batch`` if it is a Batch of M transitions with the shapes and dtypes of the docstring."""
    for name in ("obs", "act", "next_obs", "rew", "terminated", "truncated"):
        expect(hasattr(batch, name), f"branched_rollouts must return a mbrl_zoo.types.Batch; got {type(batch).__name__}.")
    rows = batch.obs.shape[0] if isinstance(batch.obs, torch.Tensor) else -1
    expect_tensor(batch.obs, (rows, obs_dim), "branched_rollouts' obs", dtype=torch.float32)
    expect_tensor(batch.act, (rows, act_dim), "branched_rollouts' act")
    expect_tensor(batch.next_obs, (rows, obs_dim), "branched_rollouts' next_obs", dtype=torch.float32)
    expect_tensor(batch.rew, (rows,), "branched_rollouts' rew", dtype=torch.float32)
    expect_tensor(batch.terminated, (rows,), "branched_rollouts' terminated", dtype=torch.bool)
    expect_tensor(batch.truncated, (rows,), "branched_rollouts' truncated", dtype=torch.bool)
    return batch


def rollouts(submission, start_obs, length, termination_fn):
    batch = need(submission, "branched_rollouts")(CounterModel(), start_obs, half_policy, length, reward_of,
                                                  termination_fn, torch.Generator().manual_seed(0))
    return expect_batch(batch, 3, 1)


def never(obs, act, next_obs):
    return torch.zeros(obs.shape[0], dtype=torch.bool)


def at_four(obs, act, next_obs):
    """Terminal when the counter reaches 4."""
    return next_obs[:, 0] >= 4


@check(points=2, timeout_s=20)
def check_rollout_length(submission):
    """rollout_length follows MBPO's schedule: min_len, a linear ramp rounded down, max_len."""
    fn = need(submission, "rollout_length")
    cases = [((20, 100, 1, 15), {0: 1, 20: 1, 21: 1, 26: 2, 60: 8, 99: 14, 100: 15, 150: 15}),
             ((1, 15, 1, 1), {0: 1, 5: 1, 20: 1}),
             ((0, 4, 1, 3), {0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 9: 3}),
             ((5, 5, 2, 6), {4: 2, 5: 6, 6: 6})]
    for schedule, expected in cases:
        got = {epoch: fn(epoch, schedule) for epoch in expected}
        for epoch, value in got.items():
            expect(isinstance(value, int) and not isinstance(value, bool),
                   f"rollout_length must return an int; got {type(value).__name__} at epoch {epoch}.")
        expect(got == expected, f"rollout_length with schedule {schedule}: got {got}, expected {expected}.")


@check(points=2, timeout_s=20)
def check_rollout_contract(submission):
    """branched_rollouts without terminations: N x length transitions in step order, each step
    continuing from the previous next state, with the policy's actions and the rewards."""
    start = starts([0.0, 1.0, 5.0])
    batch = rollouts(submission, start, 3, never)
    expect(batch.obs.shape[0] == 9, f"3 rollouts of 3 steps without terminations make 9 transitions; got "
                                    f"{batch.obs.shape[0]}.")
    expected_obs = torch.cat([start + torch.tensor([float(k), 0.0, 0.5 * k]) for k in range(3)])
    expect_close(batch.obs, expected_obs, "obs (step by step, each continuing from the previous next_obs)")
    expect_close(batch.next_obs, expected_obs + torch.tensor([1.0, 0.0, 0.5]), "next_obs")
    expect_close(batch.act, torch.full((9, 1), 0.5), "act (the policy's actions)")
    expect_close(batch.rew, reward_of(batch.obs, batch.act, batch.next_obs), "rew (reward_fn of each transition)")


@check(points=3, timeout_s=20)
def check_rollouts_stop_at_terminations(submission):
    """Each rollout ends with its first terminal transition (marked terminated), and no
    transition starts from a terminal state."""
    counters = [0.0, 1.0, 2.0, 3.0, 4.5]
    batch = rollouts(submission, starts(counters), 5, at_four)
    for i, counter in enumerate(counters):
        mine = batch.obs[:, 1] == i
        steps = int(mine.sum())
        expected = min(5, max(1, int(4 - counter)))
        expect(steps == expected, f"the rollout from counter {counter:g} (terminal at 4) should make {expected} "
                                  f"transitions, made {steps}.")
        flags = batch.terminated[mine]
        expect(bool(flags[-1]) and not bool(flags[:-1].any()),
               f"the rollout from counter {counter:g} must end with its terminal transition, marked terminated "
               f"(flags {flags.tolist()}).")


@check(points=2, timeout_s=20)
def check_mixed_batch(submission):
    """mixed_batch draws int(batch_size * real_ratio) real transitions and the rest imagined
    (all real while the imagined buffer is empty)."""
    from mbrl_zoo.buffer import ReplayBuffer
    from mbrl_zoo.types import Batch

    def filled(count, reward):
        buffer = ReplayBuffer(2, 1, 1000)
        buffer.add_batch(Batch(torch.randn(count, 2), torch.zeros(count, 1), torch.randn(count, 2),
                               torch.full((count,), reward), torch.zeros(count, dtype=torch.bool),
                               torch.zeros(count, dtype=torch.bool)))
        return buffer

    fn = need(submission, "mixed_batch")
    real, imagined = filled(300, 1.0), filled(500, 0.0)
    for size, ratio in ((256, 0.05), (100, 0.5), (64, 1.0), (50, 0.0), (33, 0.1)):
        batch = fn(real, imagined, size, ratio, torch.Generator().manual_seed(0))
        expect_tensor(batch.obs, (size, 2), f"mixed_batch(batch_size={size}, real_ratio={ratio}) obs")
        got = int(batch.rew.sum())
        expect(got == int(size * ratio), f"mixed_batch(batch_size={size}, real_ratio={ratio}) drew {got} real "
                                         f"transitions; expected int({size} * {ratio}) = {int(size * ratio)}.")
    empty = ReplayBuffer(2, 1, 10)
    batch = fn(real, empty, 40, 0.05, torch.Generator().manual_seed(0))
    expect_tensor(batch.rew, (40,), "mixed_batch with an empty imagined buffer")
    expect(int(batch.rew.sum()) == 40, "while the imagined buffer is empty, every transition must be real.")


@check(points=6, timeout_s=360, slow=True, task="InvertedPendulum-v5", target=50.0, steps=1000, seed=0,
       algorithm={"updates_per_step": 5, "random_steps": 200, "refit_every": 100, "rollout_batch_size": 2000,
                  "epoch_length": 200, "rollout_schedule": [1, 4, 1, 3], "fit_epochs": 20, "hidden": [128, 128],
                  "eval_every": 0},
       model={"hidden": 64, "layers": 3, "ensemble_size": 5, "num_elites": 3})
def check_mbpo_inverted_pendulum(submission, task, target, steps, seed, algorithm, model):
    """The zoo's MBPO with your three functions keeps the inverted pendulum up for 50 steps
    (return >= 50; a random policy gets ~5) within 1000 env steps."""
    from algorithms import mbpo
    from mbrl_zoo.app.assignments.support import train_until

    for name in ("branched_rollouts", "mixed_batch", "rollout_length"):
        if not hasattr(mbpo, name):
            raise RuntimeError(f"algorithms.mbpo no longer calls {name}; this check must follow it")
        setattr(mbpo, name, need(submission, name))
    solved = train_until("mbpo", task, target=target, steps=steps, seed=seed,
                         overrides={"algorithm": algorithm, "model": model})
    return solved.verdict("MBPO with your rollouts", task, target, steps, seed)


if __name__ == "__main__":
    from mbrl_zoo.app.grade import run_public_checks

    raise SystemExit(run_public_checks(__file__, "rollouts.py"))
