"""Hidden checks of assignment 1: run by the grader only, not copied into the student pack."""

import torch

from mbrl_zoo.app.grade import CheckFailed, check, expect, expect_close, expect_tensor, need
from mbrl_zoo.types import Batch


def _batch(obs, act, next_obs):
    rows = obs.shape[0]
    return Batch(obs, act, next_obs, torch.zeros(rows), torch.zeros(rows, dtype=torch.bool),
                 torch.zeros(rows, dtype=torch.bool))


@check(points=2, timeout_s=30)
def check_normalizers_from_training_inputs(submission):
    """update_normalizers takes input statistics from [obs, act] and target statistics from the
    delta targets of the data it is given, and nothing else changes them."""
    generator = torch.Generator().manual_seed(11)
    obs = torch.randn(400, 3, generator=generator) * torch.tensor([2.0, 0.3, 1.0]) + torch.tensor([3.0, -1.0, 0.0])
    act = torch.rand(400, 2, generator=generator) * torch.tensor([0.5, 2.0]) - torch.tensor([0.0, 1.0])
    next_obs = obs + torch.randn(400, 3, generator=generator) * 0.1 + torch.tensor([0.5, 0.0, -0.2])
    model = need(submission, "ProbabilisticEnsemble")(obs_dim=3, act_dim=2, ensemble_size=2, hidden=16, layers=1)
    model.update_normalizers(_batch(obs, act, next_obs))
    stats = need(submission, "normalization_stats")
    in_mean, in_std = stats(torch.cat([obs, act], -1))
    out_mean, out_std = stats(need(submission, "delta_targets")(obs, next_obs))
    for buffer, expected, what in ((model.input_mean, in_mean, "input_mean: statistics of [obs, act]"),
                                   (model.input_std, in_std, "input_std: statistics of [obs, act]"),
                                   (model.target_mean, out_mean, "target_mean: statistics of the delta targets"),
                                   (model.target_std, out_std, "target_std: statistics of the delta targets")):
        expect_close(buffer, expected.to(buffer.dtype), f"the model's {what}", atol=1e-4)
    kept = [t.clone() for t in (model.input_mean, model.input_std, model.target_mean, model.target_std)]
    other = _batch(obs[:50] * 5 + 1, act[:50] * 0.1, obs[:50] * 5 + 3)
    model.loss(other)
    with torch.no_grad():
        model.predict(other.obs, other.act)
    now = (model.input_mean, model.input_std, model.target_mean, model.target_std)
    expect(all(torch.equal(a, b) for a, b in zip(kept, now)),
           "loss or predict changed the normalisation statistics; only update_normalizers (called by fit "
           "with the training rows) may set them.")


@check(points=2, timeout_s=30)
def check_samples_follow_prediction(submission):
    """sample draws row b from member member[b]'s Gaussian: the draws' mean and variance match
    predict (with the log-variance narrowed to about -12, so that the members lie apart)."""
    generator = torch.Generator().manual_seed(12)
    model = need(submission, "ProbabilisticEnsemble")(obs_dim=3, act_dim=1, ensemble_size=3, hidden=32, layers=2)
    data = _batch(torch.randn(200, 3, generator=generator), torch.rand(200, 1, generator=generator),
                  torch.randn(200, 3, generator=generator))
    model.update_normalizers(data)
    # A narrow spread, so that the members' means lie many spreads apart: through the bounds, and
    # through the bounding function itself (a wrong bound is the soft_bound_log_var check's business).
    submission.soft_bound_log_var = lambda raw, low, high: torch.full_like(raw, -12.0)
    with torch.no_grad():
        need(model, "min_log_var").fill_(-16.0)
        need(model, "max_log_var").fill_(-12.0)
    draws = 6000
    obs = torch.randn(1, 3, generator=generator).expand(draws, 3)
    act = torch.full((draws, 1), 0.3)
    with torch.no_grad():
        mean, var = model.predict(obs[:1], act[:1])
        expect_tensor(mean, (3, 1, 3), "predict (mean)")
        expect_tensor(var, (3, 1, 3), "predict (variance)")
        apart = ((mean[:, None, 0] - mean[None, :, 0]).abs() / var[:, None, 0].sqrt()).amax(-1)
        expect(bool((apart + torch.eye(3) * 1e9 > 1.0).all()),
               "the members predict the same mean; give each member its own weights (they start different).")
        for m in range(3):
            member = torch.full((draws,), m, dtype=torch.long)
            sample = expect_tensor(model.sample(obs, act, member, generator), (draws, 3), "sample")
            spread = var[m, 0].sqrt()
            error = ((sample.mean(0) - mean[m, 0]) / spread).abs().max().item()
            expect(error < 0.1, f"draws of member {m} do not centre on its predicted mean (off by {error:.2f} "
                                "predicted standard deviations).")
            ratio = (sample.var(0) / var[m, 0]).tolist()
            expect(all(0.85 < r < 1.15 for r in ratio),
                   f"draws of member {m} have {[round(r, 2) for r in ratio]} times the predicted variance; "
                   "scale the normal noise by the predicted standard deviation.")


@check(points=3, timeout_s=120, rows=2000, noise=0.05, epochs=40, tolerance=0.015)
def check_fits_linear_system(submission, rows, noise, epochs, tolerance):
    """Trained by the zoo's fit, the model learns a known linear system: its mean within the
    tolerance (normalised error; delta targets and normalisation make it ~0.003, absolute targets
    ~0.03), its predicted standard deviation within a factor ~1.7 of its actual error."""
    from mbrl_zoo.models.fit import fit

    generator = torch.Generator().manual_seed(13)
    drift = torch.tensor([[0.0, 1.0, 0.0], [-1.0, -0.2, 0.3], [0.2, 0.0, -0.5]])
    control = torch.tensor([[0.0, 0.5], [1.0, 0.0], [0.3, -0.7]])

    def transitions(count):
        obs = torch.randn(count, 3, generator=generator)
        act = torch.rand(count, 2, generator=generator) * 2 - 1
        clean = obs + 0.1 * (obs @ drift.T + act @ control.T)
        return obs, act, clean

    obs, act, clean = transitions(rows)
    data = _batch(obs, act, clean + noise * torch.randn(clean.shape, generator=generator))
    model = need(submission, "ProbabilisticEnsemble")(obs_dim=3, act_dim=2, ensemble_size=3, hidden=64, layers=2)
    fit(model, data, epochs=epochs, batch_size=64, generator=generator)
    test_obs, test_act, test_clean = transitions(2000)
    test_next = test_clean + noise * torch.randn(test_clean.shape, generator=generator)
    with torch.no_grad():
        mean, var = model.predict(test_obs, test_act)
    expect_tensor(mean, (3, 2000, 3), "predict (mean)")
    expect_tensor(var, (3, 2000, 3), "predict (variance)")
    error = ((mean.mean(0) - test_clean).square().mean(0) / (test_clean - test_obs).var(0)).mean().item()
    if error > tolerance:
        raise CheckFailed(f"after fit, the mean prediction's normalised error is {error:.3f} (allowed {tolerance}); "
                          "the model does not learn a linear system accurately (are its targets deltas, its inputs "
                          "and targets standardised?).")
    # Calibration: each member's predicted spread against its actual error on noisy test data.
    std = var.mean().sqrt().item()
    actual = (mean - test_next).square().mean().sqrt().item()
    expect(0.6 < std / actual < 1.7,
           f"the predicted standard deviation is {std:.3g} where the predictions are off by {actual:.3g} (RMS); "
           "trained with the Gaussian NLL, the variance should match the error.")
    return f"normalised error {error:.4f}, predicted std {std:.3f}, actual error {actual:.3f} (noise {noise})"
