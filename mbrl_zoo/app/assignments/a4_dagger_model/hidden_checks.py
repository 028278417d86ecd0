"""Hidden checks of assignment 4: run by the grader only, not copied into the student pack."""

import itertools

import torch

from mbrl_zoo.app.assignments.a4_dagger_model.public_checks import (
    EXPERT_MARKER, answers_of, expect_minibatch, learner_rows, minibatch, rows_of, run_loop)
from mbrl_zoo.app.grade import check, expect


@check(points=1, timeout_s=20)
def check_no_aggregation_ablation(submission):
    """With aggregate=False, M_{k+1} is fitted on the latest episode D_k alone (the ablation)."""
    spy, _ = run_loop(submission, [1.0, 2.0, 3.0], aggregate=False)
    for k, (_, learner) in enumerate(spy.fits[1:], start=1):
        rows = learner_rows(learner)
        expect(rows == rows_of(k), f"with aggregate=False, M_{k + 1} must be fitted on D_{k} alone; its learner data "
                                   f"held rows of episodes {sorted({j for j, _ in rows})}.")


@check(points=2, timeout_s=20)
def check_best_iterate(submission):
    """Iterates.best is the iteration of the highest real return (the first of equals) and
    Iterates.policy the policy executed there."""
    for returns, best in (([2.0, 5.0, 5.0, 1.0], 2), ([-3.0, -1.0, -2.0], 2), ([4.0, 4.0], 1), ([1.0, 2.0, 3.0], 3)):
        spy, result = run_loop(submission, returns)
        expect(result.best == best, f"with real returns {returns}, Iterates.best is {result.best!r}; expected {best} "
                                    "(the highest return, the first of equals).")
        policy = getattr(result.policy, "number", None)
        expect(policy == spy.executed[best - 1], f"with real returns {returns}, Iterates.policy must be pi_{best}, the "
                                                 f"policy executed in iteration {best}.")


@check(points=1, timeout_s=20)
def check_members_draw_their_own_rows(submission):
    """Each ensemble member draws its own rows, uniformly from each data set, with the generator
    given (the same seed, the same minibatch)."""
    first = expect_minibatch(minibatch(submission, 5, 7, 0.5, 64, 0, 4, seed=3), 4, 64)
    again = expect_minibatch(minibatch(submission, 5, 7, 0.5, 64, 0, 4, seed=3), 4, 64)
    other = expect_minibatch(minibatch(submission, 5, 7, 0.5, 64, 0, 4, seed=4), 4, 64)
    expect(torch.equal(first.obs, again.obs), "the same generator seed gave different minibatches; draw the rows "
                                              "with the generator given.")
    expect(not torch.equal(first.obs, other.obs), "different generator seeds gave the same minibatch; draw the rows "
                                                  "with the generator given.")
    expect(not all(torch.equal(first.obs[0], first.obs[m]) for m in range(1, 4)),
           "every ensemble member got the same rows; each member draws its own.")
    counts = {(marker, row): 0 for marker, rows in ((EXPERT_MARKER, 5), (1.0, 7)) for row in range(rows)}
    for index in range(40):
        batch = minibatch(submission, 5, 7, 0.5, 64, index, 4, seed=index)
        for marker, row in batch.obs[..., :2].reshape(-1, 2).tolist():
            counts[(marker, int(row))] += 1
    for marker, rows in ((EXPERT_MARKER, 5), (1.0, 7)):
        drawn = [counts[(marker, row)] for row in range(rows)]
        mean = sum(drawn) / rows
        expect(min(drawn) > 0.7 * mean and max(drawn) < 1.3 * mean,
               f"over 40 minibatches the {rows} {'expert' if marker < 0 else 'learner'} rows were drawn {drawn} "
               "times; draw them uniformly (torch.randint over all rows).")


ACTIONS = (-1.0, 0.0, 1.0)
HORIZON = 4


def _model_a(s, a):
    return s if s == 0 else s + a


def _model_b(s, a):
    return s + a if s == 0 else s


def _mpc_return(model):
    """The real return of the chain's 4-step episode under MPC in ``model``: exhaustive search over
    the 3^4 sequences (itertools.product lists them in the order -1 < 0 < +1), first of equals."""
    s, total = 0.0, 0.0
    for _ in range(HORIZON):
        best, best_value = None, None
        for sequence in itertools.product(ACTIONS, repeat=HORIZON):
            state, value = s, 0.0
            for a in sequence:
                state = model(state, a)
                value += state
            if best_value is None or value > best_value:
                best, best_value = sequence, value
        s += best[0]
        total += s
    return total


def _right_answers():
    expert_states = [0.0, 1.0, 2.0, 3.0]
    one_step = {name: sum((m(s, 1.0) - (s + 1.0)) ** 2 for s in expert_states)
                for name, m in (("A", _model_a), ("B", _model_b))}
    open_loop = {}
    for name, m in (("A", _model_a), ("B", _model_b)):
        s, error = 0.0, 0.0
        for t in range(HORIZON):
            s = m(s, 1.0)
            error += (s - (t + 1.0)) ** 2
        open_loop[name] = error
    returns = {"A": _mpc_return(_model_a), "B": _mpc_return(_model_b)}
    return {"lower_one_step_error_on_expert_states": min(one_step, key=one_step.get),
            "lower_four_step_error_on_expert_states": min(open_loop, key=open_loop.get),
            "return_of_planning_in_a": returns["A"], "return_of_planning_in_b": returns["B"],
            "better_model_to_plan_in": max(returns, key=returns.get),
            "error_that_bounds_the_return_gap": "learner"}


def _expect_right(submission, keys):
    answers, right = answers_of(submission), _right_answers()
    wrong = [key for key in keys if answers[key] != right[key]]
    expect(not wrong, f"{len(wrong)} of these {len(keys)} answers are wrong: {', '.join(wrong)}.")


@check(points=1, timeout_s=20)
def check_model_a_or_b_errors(submission):
    """Model A / Model B: the right model has the lower one-step and the lower four-step error on
    the expert's states."""
    _expect_right(submission, ["lower_one_step_error_on_expert_states", "lower_four_step_error_on_expert_states"])


@check(points=1, timeout_s=20)
def check_model_a_or_b_planning(submission):
    """Model A / Model B: the real returns of MPC in each model, and the better model to plan in."""
    _expect_right(submission, ["return_of_planning_in_a", "return_of_planning_in_b", "better_model_to_plan_in"])


@check(points=1, timeout_s=20)
def check_simulation_lemma(submission):
    """The simulation lemma bounds the return gap by the model's error on the states the policy
    itself visits."""
    _expect_right(submission, ["error_that_bounds_the_return_gap"])
