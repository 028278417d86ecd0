"""EnvironmentModel: reward and termination from the task (else the model's reward head), refits
that skip a model with nothing to learn, and a state_dict that restores weights and optimiser."""

import pytest
import torch

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.errors import UserError
from mbrl_zoo.models import build_model
from mbrl_zoo.models.base import DynamicsModel
from mbrl_zoo.models.environment import EnvironmentModel, FitSettings
from mbrl_zoo.tasks.spec import TaskSpec


def reward_is_obs(obs, act, next_obs):
    return next_obs[:, 0]


def past_three(obs, act, next_obs):
    return next_obs[:, 0] > 3


class Still(DynamicsModel):
    """No parameters: the next state is the state."""

    def __init__(self):
        super().__init__()
        self.obs_dim, self.act_dim = 1, 1

    def sample(self, obs, act, member=None, generator=None):
        return obs


def filled_buffer(rows: int = 64) -> ReplayBuffer:
    buffer = ReplayBuffer(2, 1, 1000)
    g = torch.Generator().manual_seed(0)
    for _ in range(rows):
        obs, act = torch.randn(2, generator=g), torch.rand(1, generator=g)
        buffer.add(obs, act, obs + 0.1 * act, 0.0, False)
    return buffer


def test_reward_and_termination_come_from_the_task_else_the_models_reward_head():
    task = TaskSpec(name="t", env_id="Pendulum-v1", reward_fn=reward_is_obs, termination_fn=past_three)
    model = EnvironmentModel(Still(), task, FitSettings())
    assert (model.reward_fn, model.termination_fn) == (reward_is_obs, past_three)
    no_reward = TaskSpec(name="t", env_id="Pendulum-v1", reward_fn=None, termination_fn=past_three)
    headed = Still()
    headed.reward_fn = lambda o, a, n: torch.zeros(o.shape[0])
    assert EnvironmentModel(headed, no_reward, FitSettings()).reward_fn is headed.reward_fn
    with pytest.raises(UserError, match="no reward_fn"):
        EnvironmentModel(Still(), no_reward, FitSettings())


def test_a_model_without_parameters_is_never_fitted():
    task = TaskSpec(name="t", env_id="Pendulum-v1", reward_fn=reward_is_obs)
    model = EnvironmentModel(Still(), task, FitSettings())
    assert not model.trainable and model.refit(filled_buffer(), torch.Generator()) == {}


def test_refit_logs_the_kept_epoch_and_state_dict_restores_weights_and_optimizer():
    task = TaskSpec(name="t", env_id="Pendulum-v1", reward_fn=reward_is_obs)
    settings = FitSettings(fit_epochs=3, fit_batch_size=16)
    model = EnvironmentModel(build_model("gaussian", 2, 1, hidden=16, layers=2), task, settings)
    stats = model.refit(filled_buffer(), torch.Generator().manual_seed(1))
    assert model.trainable and stats["model_fit_epochs"] <= 3 and 1 <= stats["model_kept_epoch"] <= 3
    copy = EnvironmentModel(build_model("gaussian", 2, 1, hidden=16, layers=2), task, settings)
    copy.load_state_dict(model.state_dict())
    again = [m.refit(filled_buffer(80), torch.Generator().manual_seed(2)) for m in (model, copy)]
    drop = {"model_fit_s"}
    assert [{k: v for k, v in s.items() if k not in drop} for s in again][0] == \
           [{k: v for k, v in s.items() if k not in drop} for s in again][1]
