"""Public checks of assignment 4 (DAgger-style model learning): run them on your file with

    python public_checks.py            # every public check on dagger.py
    python public_checks.py --quick    # without the end-to-end cart-pole run (about a minute)

Each check runs in its own process with a time limit; the table shows each one's points and,
on a failure, why. The grader runs these and a few hidden ones.
"""

import math
from dataclasses import dataclass

import torch

from mbrl_zoo.app.grade import CheckFailed, check, expect, expect_tensor, need
from mbrl_zoo.types import Batch

OBS_DIM, ACT_DIM = 3, 2


def marked(rows, marker):
    """A Batch of ``rows`` transitions whose obs are (marker, row number, 0): every row says which
    data set it came from and which row it was."""
    obs = torch.stack([torch.full((rows,), float(marker)), torch.arange(rows, dtype=torch.float32),
                       torch.zeros(rows)], dim=1)
    return Batch(obs, torch.full((rows, ACT_DIM), float(marker)), obs + 1, torch.full((rows,), float(marker)),
                 torch.zeros(rows, dtype=torch.bool), torch.zeros(rows, dtype=torch.bool))


EXPERT_MARKER = -1.0


@dataclass(frozen=True)
class Token:
    """What the spies' fit and plan return: model k (the k-th fit) or the policy planned in model k."""

    kind: str
    number: int


class Spy:
    """``fit``, ``plan`` and ``execute`` that record how the loop calls them. Fit number k returns
    model k; plan(model k) returns policy k; execution number j returns the episode D_j (j + 2
    rows marked j) and the real return ``returns[j - 1]``."""

    def __init__(self, returns):
        self.returns = list(returns)
        self.fits, self.plans, self.executed = [], [], []

    def fit(self, expert, learner):
        self.fits.append((expert, learner))
        return Token("model", len(self.fits))

    def plan(self, model):
        expect(isinstance(model, Token) and model.kind == "model",
               f"plan must be given what fit returned (a model); got {model!r}.")
        self.plans.append(model.number)
        return Token("policy", model.number)

    def execute(self, policy):
        expect(isinstance(policy, Token) and policy.kind == "policy",
               f"execute must be given what plan returned (a policy); got {policy!r}.")
        self.executed.append(policy.number)
        j = len(self.executed)
        expect(j <= len(self.returns), f"the loop executed more than the {len(self.returns)} episodes of "
                                       f"{len(self.returns)} iterations.")
        return episode(j), self.returns[j - 1]


def episode(j):
    """D_j: the j-th executed episode's transitions (j + 2 rows, marked j)."""
    return marked(j + 2, j)


def run_loop(submission, returns, aggregate=True, expert_rows=5):
    """The submitted loop run on the spies for ``len(returns)`` iterations: (spy, its result)."""
    spy = Spy(returns)
    result = need(submission, "dagger_model_learning")(marked(expert_rows, EXPERT_MARKER), spy.fit, spy.plan,
                                                        spy.execute, len(returns), aggregate=aggregate)
    for name in ("returns", "best", "policy"):
        expect(hasattr(result, name), f"dagger_model_learning must return an Iterates; got {type(result).__name__}.")
    return spy, result


def learner_rows(learner):
    """The (episode j, row) pairs of a learner data set, sorted: which rows of which D_j it holds."""
    expect(isinstance(learner, Batch), f"fit's learner data must be a Batch; got {type(learner).__name__}.")
    expect_tensor(learner.obs, (len(learner), OBS_DIM), "the learner data's obs")
    return sorted((int(j), int(r)) for j, r in learner.obs[:, :2].tolist())


def rows_of(*episodes):
    return sorted((j, r) for j in episodes for r in range(j + 2))


@check(points=2, timeout_s=20)
def check_expert_count(submission):
    """expert_count gives floor((i + 1) f B) - floor(i f B) expert rows to minibatch i, so that any
    number of minibatches holds the share f of expert rows to within one row."""
    fn = need(submission, "expert_count")
    cases = [(32, 0.5, [16, 16, 16]), (10, 0.3, [3, 3, 3, 3]), (32, 1 / 3, [10, 11, 11, 10, 11, 11]),
             (256, 0.05, [12, 13, 13, 13, 13]), (7, 0.0, [0, 0]), (7, 1.0, [7, 7])]
    for batch_size, fraction, expected in cases:
        got = [fn(batch_size, fraction, i) for i in range(len(expected))]
        for value in got:
            expect(isinstance(value, int) and not isinstance(value, bool),
                   f"expert_count must return an int; got {type(value).__name__}.")
        expect(got == expected, f"expert_count({batch_size}, {fraction:.4g}, i) for i = 0..{len(expected) - 1}: got "
                                f"{got}, expected {expected}.")
    total = sum(fn(32, 0.3, i) for i in range(1000))
    expect(abs(total - 0.3 * 32 * 1000) <= 1, f"1000 minibatches of 32 at f = 0.3 hold {total} expert rows in all; "
                                               f"expected {0.3 * 32 * 1000:g} to within one row.")


def minibatch(submission, expert_rows, learner_rows_, fraction, batch_size, index, members, seed=0):
    """The submitted mixed_minibatch on marked data sets (expert rows marked -1, learner rows 1)."""
    return need(submission, "mixed_minibatch")(marked(expert_rows, EXPERT_MARKER), marked(learner_rows_, 1),
                                               fraction, batch_size, index, members,
                                               torch.Generator().manual_seed(seed))


def expect_minibatch(batch, members, batch_size):
    """``batch`` if it is a Batch of tensors (E, B, ...) (``members`` > 1) or (B, ...)."""
    expect(isinstance(batch, Batch), f"mixed_minibatch must return a mbrl_zoo.types.Batch; got "
                                     f"{type(batch).__name__}.")
    lead = (members, batch_size) if members > 1 else (batch_size,)
    what = f"mixed_minibatch(members={members}, batch_size={batch_size})"
    expect_tensor(batch.obs, (*lead, OBS_DIM), f"{what} obs", dtype=torch.float32)
    expect_tensor(batch.act, (*lead, ACT_DIM), f"{what} act", dtype=torch.float32)
    expect_tensor(batch.next_obs, (*lead, OBS_DIM), f"{what} next_obs", dtype=torch.float32)
    expect_tensor(batch.rew, lead, f"{what} rew", dtype=torch.float32)
    expect_tensor(batch.terminated, lead, f"{what} terminated", dtype=torch.bool)
    expect_tensor(batch.truncated, lead, f"{what} truncated", dtype=torch.bool)
    expect(bool((batch.next_obs == batch.obs + 1).all()), f"{what} mixes up rows: obs and next_obs of one "
                                                          "transition must come from the same row.")
    return batch


@check(points=2, timeout_s=20)
def check_mixed_minibatch_contract(submission):
    """mixed_minibatch returns a Batch of tensors (E, B, ...) for an ensemble of E members and
    (B, ...) for one model, every row a whole transition of one of the two data sets."""
    for members, batch_size in ((3, 16), (1, 16), (5, 7)):
        batch = expect_minibatch(minibatch(submission, 6, 9, 0.5, batch_size, 0, members), members, batch_size)
        known = (batch.obs[..., 0] == EXPERT_MARKER) | (batch.obs[..., 0] == 1)
        expect(bool(known.all()), "mixed_minibatch returned rows that are in neither data set.")


@check(points=2, timeout_s=20)
def check_mixed_minibatch_share(submission):
    """Every member's minibatch i holds expert_count(B, f, i) expert rows and the rest learner rows,
    whatever the sizes of the two data sets."""
    for fraction, batch_size, members in ((0.5, 32, 3), (0.25, 16, 2), (0.75, 16, 1), (0.0, 8, 2), (1.0, 8, 2)):
        for sizes in ((4, 40), (40, 4)):
            for index in range(3):
                batch = expect_minibatch(minibatch(submission, *sizes, fraction, batch_size, index, members),
                                         members, batch_size)
                per_member = (batch.obs[..., 0] == EXPERT_MARKER).reshape(members, batch_size).sum(1).tolist()
                expected = int(fraction * batch_size)
                expect(per_member == [expected] * members,
                       f"with expert_fraction={fraction}, batch_size={batch_size}, {sizes[0]} expert and {sizes[1]} "
                       f"learner rows, the members' minibatch {index} held {per_member} expert rows; expected "
                       f"{expected} each.")


@check(points=2, timeout_s=20)
def check_loop_contract(submission):
    """dagger_model_learning executes one episode per iteration, fits as many models as it executes
    policies, and returns every iteration's real return in order."""
    for returns in ([1.0, 3.0, 2.0, 0.5], [7.0]):
        spy, result = run_loop(submission, returns)
        n = len(returns)
        expect(len(spy.executed) == n, f"{n} iterations executed {len(spy.executed)} episodes; expected {n}.")
        expect(len(spy.fits) == n, f"{n} iterations fitted {len(spy.fits)} models; expected {n} (M_1 to M_{n}: "
                                   "no fit after the last episode).")
        got = result.returns
        expect(isinstance(got, list) and all(isinstance(r, float) for r in got),
               f"Iterates.returns must be a list of floats; got {got!r}.")
        expect(got == returns, f"Iterates.returns is {got}; the episodes returned {returns}.")
        expect(isinstance(result.best, int) and 1 <= result.best <= n,
               f"Iterates.best must be an iteration number 1..{n}; got {result.best!r}.")


@check(points=3, timeout_s=20)
def check_loop_executes_the_latest_iterate(submission):
    """Iteration i executes pi_i, planned in M_i: the model fitted after iteration i - 1's episode."""
    spy, _ = run_loop(submission, [1.0, 2.0, 3.0, 4.0])
    for i, planned_in in enumerate(spy.executed, start=1):
        expect(planned_in == i, f"iteration {i} executed the policy planned in M_{planned_in}; it must execute "
                                f"pi_{i}, planned in M_{i} (models by the order of fit calls; executed: "
                                f"{['M_%d' % k for k in spy.executed]}).")


@check(points=2, timeout_s=20)
def check_loop_fits_on_expert_and_learner_data(submission):
    """Every fit gets the whole expert data set; M_1 gets no learner data, and every later fit the
    learner's transitions of the episode just played."""
    spy, _ = run_loop(submission, [1.0, 2.0, 3.0, 4.0], expert_rows=6)
    expert = marked(6, EXPERT_MARKER)
    for k, (given_expert, learner) in enumerate(spy.fits, start=1):
        expect(isinstance(given_expert, Batch) and given_expert.obs.shape == expert.obs.shape
               and torch.equal(given_expert.obs, expert.obs),
               f"fit number {k} was not given the whole expert data set as its first argument.")
        rows = learner_rows(learner)
        if k == 1:
            expect(not rows and learner.obs.shape == (0, OBS_DIM),
                   f"M_1 must be fitted on the expert's data alone: give fit a learner Batch of 0 rows (obs of shape "
                   f"(0, {OBS_DIM})); got {len(rows)} rows of shape {tuple(learner.obs.shape)}.")
        else:
            expect(set(rows_of(k - 1)) <= set(rows) and all(j >= 1 for j, _ in rows),
                   f"fit number {k} (M_{k}) must get the transitions of D_{k - 1}, the episode just played, as "
                   f"learner data; it got {len(rows)} rows of episodes {sorted({j for j, _ in rows})}.")


@check(points=3, timeout_s=20)
def check_loop_aggregates_learner_data(submission):
    """M_{k+1} is fitted on every learner transition so far: D_1 U ... U D_k, each row once."""
    spy, _ = run_loop(submission, [1.0, 2.0, 3.0, 4.0])
    for k, (_, learner) in enumerate(spy.fits[1:], start=1):
        rows = learner_rows(learner)
        expect(rows == rows_of(*range(1, k + 1)),
               f"M_{k + 1} must be fitted on D_1 U ... U D_{k} ({len(rows_of(*range(1, k + 1)))} rows); its learner "
               f"data held {len(rows)} rows of episodes {sorted({j for j, _ in rows})}.")


MODEL_A_OR_B_CHOICES = {
    "lower_one_step_error_on_expert_states": ("A", "B"),
    "lower_four_step_error_on_expert_states": ("A", "B"),
    "return_of_planning_in_a": None,
    "return_of_planning_in_b": None,
    "better_model_to_plan_in": ("A", "B"),
    "error_that_bounds_the_return_gap": ("expert", "learner"),
}
"""The keys of model_a_or_b's answers and their choices (None: a number)."""


def answers_of(submission):
    """model_a_or_b's answers, checked for form: a dict with every key, each answer one of its choices."""
    answers = need(submission, "model_a_or_b")()
    expect(isinstance(answers, dict), f"model_a_or_b must return a dict; got {type(answers).__name__}.")
    missing = sorted(set(MODEL_A_OR_B_CHOICES) - set(answers))
    extra = sorted(set(answers) - set(MODEL_A_OR_B_CHOICES))
    expect(not missing and not extra, f"model_a_or_b's answers lack {missing} and have unknown keys {extra}.")
    for key, choices in MODEL_A_OR_B_CHOICES.items():
        value = answers[key]
        if choices is None:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            expect(ok, f"model_a_or_b's {key!r} must be a number; got {value!r}.")
        else:
            expect(value in choices, f"model_a_or_b's {key!r} must be one of {list(choices)}; got {value!r}.")
    return answers


@check(points=1, timeout_s=20)
def check_model_a_or_b_form(submission):
    """model_a_or_b answers every part of the Model A / Model B question with one of its choices."""
    answers_of(submission)


class _Reached(BaseException):  # not an Exception: a loop that catches those still stops
    pass


@check(points=6, timeout_s=300, slow=True, task="cartpole-balance", target=190.0, iterations=6, seed=0,
       algorithm={"expert_steps": 50, "expert_fraction": 0.5, "horizon": 10, "particles": 2, "fit_epochs": 20},
       planner={"population_size": 50, "iterations": 2},
       model={"hidden": 32, "layers": 2, "ensemble_size": 3, "num_elites": 3})
def check_dagger_cartpole(submission, task, target, iterations, seed, algorithm, planner, model):
    """Your loop and your minibatch mix, with the zoo's ensemble and CEM-MPC, balance the cart-pole
    (return >= 190 of 200) within 6 iterations from 50 expert transitions (planning in a model
    fitted to those alone, the first policy falls within 10 to 60 steps)."""
    from mbrl_zoo.app.assignments.support import dagger_pieces, plug_mixed_minibatch

    plug_mixed_minibatch(need(submission, "mixed_minibatch"))
    pieces = dagger_pieces(task, seed, {"algorithm": algorithm, "planner": planner, "model": model})
    returns = []

    def execute(policy):
        if len(returns) == iterations:
            raise CheckFailed(f"the loop executed more than the {iterations} episodes of {iterations} iterations.")
        data, real_return = pieces.execute(policy)
        returns.append(real_return)
        if real_return >= target:
            raise _Reached
        return data, real_return

    try:
        need(submission, "dagger_model_learning")(pieces.expert, pieces.fit, pieces.plan, execute, iterations)
    except _Reached:
        by_iteration = [round(r) for r in returns]
        return f"return {returns[-1]:g} at iteration {len(returns)} (returns by iteration {by_iteration})"
    raise CheckFailed(f"DAgger with your loop did not reach a return of {target:g} on {task} within {iterations} "
                      f"iterations from {len(pieces.expert)} expert transitions (seed {seed}; returns by iteration "
                      f"{[round(r) for r in returns]}).")


if __name__ == "__main__":
    from mbrl_zoo.app.grade import run_public_checks

    raise SystemExit(run_public_checks(__file__, "dagger.py"))
