import numpy as np
import pytest
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models import OracleModel, build_model, validate_model
from mbrl_zoo.models.diagnostics import (disagreement_vs_error, kstep_by_ensemble_size, kstep_error,
                                         random_transitions, simulate_open_loop)
from mbrl_zoo.tasks import get_task


@pytest.fixture(scope="module")
def cheetah():
    return get_task("HalfCheetah-v5")


def test_oracle_reproduces_env_step_exactly(cheetah):
    env = cheetah.make_env()
    sim = env.unwrapped
    oracle = OracleModel(*cheetah.dims(), task=cheetah)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    worst = 0.0
    for t in range(40):
        act = rng.uniform(-1, 1, size=6)
        if t % 2 == 0:  # the env in exactly the state the oracle rebuilds: solver warm start cleared
            sim.data.qacc_warmstart[:] = 0.0
        next_obs, *_ = env.step(act)
        predicted = oracle.mean(torch.as_tensor(obs)[None], torch.as_tensor(act)[None])[0].numpy()
        if t % 2 == 0:
            assert np.array_equal(predicted, next_obs), t
        worst = max(worst, float(np.abs(predicted - next_obs).max()))
        obs = next_obs
    assert worst < 1e-9  # along the trajectory only the solver's warm start differs
    validate_model(oracle)
    assert torch.equal(oracle.sample(torch.as_tensor(obs)[None], torch.as_tensor(act)[None]),
                       oracle.predict(torch.as_tensor(obs)[None], torch.as_tensor(act)[None])[0][0])


def test_oracle_refuses_a_task_without_state_from_obs():
    with pytest.raises(UserError, match="state_from_obs.*'Pusher-v5'"):
        OracleModel(23, 7, task=get_task("Pusher-v5"))
    with pytest.raises(UserError, match="needs a MuJoCo task"):
        build_model("oracle", 18, 6)


def test_kstep_error_of_the_oracle_is_zero_and_grows_for_an_untrained_model(cheetah):
    data = simulate_open_loop(cheetah, starts=6, horizon=4, seed=0)
    assert data.obs.shape == (6, 5, 18) and data.act.shape == (6, 4, 6)
    oracle = build_model("oracle", 18, 6, task=cheetah)
    assert float(kstep_error(oracle, data).max()) < 1e-12
    model = build_model("pe", 18, 6, task=cheetah, hidden=16, layers=1)
    model.update_normalizers(random_transitions(cheetah, 50))
    errors = kstep_error(model, data)
    assert errors.shape == (4,) and bool((errors > 0).all())
    sampled = kstep_error(model, data, sample=True, generator=torch.Generator().manual_seed(0))
    assert sampled.shape == (4,)
    sizes = kstep_by_ensemble_size(model, data, sizes=(1, 7))
    assert set(sizes) == {1, 7}
    batch = random_transitions(cheetah, 30, seed=1)
    assert batch.obs.shape == (30, 18) and batch.rew.shape == (30,)
    disagreement, error, rank_corr = disagreement_vs_error(model, batch)
    assert disagreement.shape == error.shape == (30,) and -1 <= rank_corr <= 1
