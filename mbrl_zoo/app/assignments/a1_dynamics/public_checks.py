"""Public checks of assignment 1 (dynamics models): run them on your file with

    python public_checks.py            # every public check on dynamics.py
    python public_checks.py --quick    # without the end-to-end PETS run (a few minutes)

Each check runs in its own process with a time limit; the table shows each one's points and,
on a failure, why. The grader runs these and a few hidden checks.
"""

import torch

from mbrl_zoo.app.grade import check, expect, expect_close, expect_tensor, need


def _model(submission, obs_dim=4, act_dim=2, ensemble_size=3, hidden=32, layers=2):
    cls = need(submission, "ProbabilisticEnsemble")
    return cls(obs_dim=obs_dim, act_dim=act_dim, ensemble_size=ensemble_size, hidden=hidden, layers=layers)


@check(points=2, timeout_s=20)
def check_delta_targets(submission):
    """delta_targets returns next_obs - obs and next_obs_from_delta undoes it."""
    obs = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    next_obs = torch.tensor([[1.5, -2.5, 0.5], [2.0, 3.0, 1.0]])
    delta = expect_tensor(need(submission, "delta_targets")(obs, next_obs), (2, 3), "delta_targets")
    expect_close(delta, next_obs - obs, "delta_targets(obs, next_obs)")
    back = expect_tensor(need(submission, "next_obs_from_delta")(obs, next_obs - obs), (2, 3), "next_obs_from_delta")
    expect_close(back, next_obs, "next_obs_from_delta(obs, next_obs - obs)")


@check(points=2, timeout_s=20)
def check_normalization_stats(submission):
    """normalization_stats gives the per-dimension mean and population std, std 1 on constant dims."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(500, 3, generator=generator) * torch.tensor([2.0, 0.5, 0.0]) + torch.tensor([1.0, -3.0, 7.0])
    out = need(submission, "normalization_stats")(x)
    expect(isinstance(out, tuple) and len(out) == 2, "normalization_stats must return a tuple (mean, std).")
    mean, std = out
    expect_close(expect_tensor(mean, (3,), "normalization_stats mean"), x.mean(0), "the mean")
    expected_std = torch.tensor([x[:, 0].std(unbiased=False), x[:, 1].std(unbiased=False), 1.0])
    expect_close(expect_tensor(std, (3,), "normalization_stats std"), expected_std,
                 "the std (population std, divide by N; 1 on the constant third dim)")


@check(points=2, timeout_s=20)
def check_gaussian_nll(submission):
    """gaussian_nll equals the Gaussian negative log-density averaged over the last dim."""
    generator = torch.Generator().manual_seed(2)
    mean, log_var, target = (torch.randn(3, 5, 4, generator=generator) for _ in range(3))
    expected = -torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(target).mean(-1)
    out = expect_tensor(need(submission, "gaussian_nll")(mean, log_var, target), (3, 5), "gaussian_nll")
    expect_close(out, expected, "gaussian_nll", atol=1e-4)


@check(points=1, timeout_s=20)
def check_soft_bound_log_var(submission):
    """soft_bound_log_var keeps values in [low, high], leaves the middle nearly alone and is monotone."""
    raw = torch.linspace(-40.0, 20.0, 601)
    low, high = torch.tensor(-10.0), torch.tensor(0.5)
    out = expect_tensor(need(submission, "soft_bound_log_var")(raw, low, high), (601,), "soft_bound_log_var")
    expect(bool((out >= low - 1e-3).all() and (out <= high + 1e-3).all()),
           f"soft_bound_log_var left [-10, 0.5]: outputs from {out.min():.3g} to {out.max():.3g}.")
    expect(bool((out[1:] >= out[:-1] - 1e-6).all()), "soft_bound_log_var must increase with its input.")
    middle = (raw > -6) & (raw < -3)
    expect_close(out[middle], raw[middle], "soft_bound_log_var well inside the bounds (the identity)", atol=0.05)


@check(points=2, timeout_s=20)
def check_bootstrap_indices(submission):
    """bootstrap_indices draws (E, N) indices with replacement, a different resample per member."""
    fn = need(submission, "bootstrap_indices")
    rows, members = 2000, 5
    index = expect_tensor(fn(rows, members, torch.Generator().manual_seed(3)), (members, rows), "bootstrap_indices")
    expect(index.dtype == torch.long, f"bootstrap_indices must return long (int64) indices, got {index.dtype}.")
    expect(bool((index >= 0).all() and (index < rows).all()), f"indices must lie in [0, {rows}).")
    unique = torch.tensor([row.unique().numel() / rows for row in index])
    expect(bool(((unique > 0.58) & (unique < 0.68)).all()),
           f"a resample with replacement holds ~63% of the rows once or more; got {unique.tolist()}.")
    for a in range(members):
        for b in range(a + 1, members):
            expect(not torch.equal(index[a].sort().values, index[b].sort().values),
                   f"members {a} and {b} got the same resample; draw each member's independently.")
    again = fn(rows, members, torch.Generator().manual_seed(3))
    expect(torch.equal(again, index), "bootstrap_indices must take its randomness from `generator`.")


@check(points=3, timeout_s=30)
def check_model_contract(submission):
    """The model keeps the DynamicsModel contract: shapes, dtypes, finite values, a trainable loss."""
    from mbrl_zoo.models.base import validate_model
    from mbrl_zoo.types import Batch

    model = _model(submission)
    generator = torch.Generator().manual_seed(4)
    validate_model(model, rows=5, generator=generator)
    obs, act = torch.randn(6, 4, generator=generator), torch.rand(6, 2, generator=generator) * 2 - 1
    with torch.no_grad():
        mean, var = model.predict(obs, act)
        expect_tensor(mean, (3, 6, 4), "predict (mean)", dtype=torch.float32)
        expect_tensor(var, (3, 6, 4), "predict (variance)", dtype=torch.float32)
        expect(bool((var > 0).all()), "predict's variances must be positive.")
        member = torch.tensor([0, 1, 2, 2, 1, 0])
        picked = expect_tensor(model.mean(obs, act, member), (6, 4), "mean(obs, act, member)", dtype=torch.float32)
        expect_close(picked, mean[member, torch.arange(6)], "mean(obs, act, member) against predict's member means")
        expect_close(expect_tensor(model.mean(obs, act), (6, 4), "mean(obs, act)"), mean.mean(0),
                     "mean(obs, act) against the average of predict's member means")
        draw = model.sample(obs, act, member, torch.Generator().manual_seed(5))
        expect_tensor(draw, (6, 4), "sample(obs, act, member, generator)", dtype=torch.float32)
        expect(torch.equal(draw, model.sample(obs, act, member, torch.Generator().manual_seed(5))),
               "sample must take all its randomness from `generator` (the same seed gave different draws).")
    batch = Batch(obs, act, obs + 0.1, torch.zeros(6), torch.zeros(6, dtype=torch.bool), torch.zeros(6, dtype=torch.bool))
    stacked = Batch(*(t.expand(3, *t.shape) for t in (batch.obs, batch.act, batch.next_obs, batch.rew,
                                                      batch.terminated, batch.truncated)))
    for what, data in (("a (B, ...) batch", batch), ("an (E, B, ...) batch", stacked)):
        loss, info = model.loss(data)
        expect_tensor(loss, (), f"loss on {what}")
        expect(isinstance(info, dict), f"loss must return (scalar, dict of floats); got a {type(info).__name__}.")
        model.zero_grad()
        loss.backward()
        grads = [p.grad for p in model.net.parameters()]
        expect(all(g is not None and bool(torch.isfinite(g).all()) for g in grads),
               f"the loss on {what} must give finite gradients to every weight of `net`.")


@check(points=6, timeout_s=420, slow=True, task="cartpole-balance", target=190.0, steps=1000, seed=0,
       model={"hidden": 64, "layers": 3, "ensemble_size": 5})
def check_pets_cartpole(submission, task, target, steps, seed, model):
    """PETS with your model balances the cart-pole (return >= 190 of 200) within 1000 env steps."""
    from mbrl_zoo.app.assignments.support import registered_name, train_until
    from mbrl_zoo.registry import MODELS

    name = registered_name(MODELS, need(submission, "ProbabilisticEnsemble"), '@register_model("hw1-ensemble", ...)')
    solved = train_until("pets", task, target=target, steps=steps, seed=seed,
                         overrides={"model": {"name": name, **model}})
    return solved.verdict(f"PETS with {name}", task, target, steps, seed)


if __name__ == "__main__":
    from mbrl_zoo.app.grade import run_public_checks

    raise SystemExit(run_public_checks(__file__, "dynamics.py"))
