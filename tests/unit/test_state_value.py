"""The learned terminal value of ``pets-value``: TD(0) reaches the known values of a terminating
chain, truncation bootstraps, and bad settings are refused."""

import re

import pytest
import torch

from mbrl_zoo.settings import build_dataclass

from algorithms.mpc import Config
from algorithms.state_value import StateValue
from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.errors import UserError

GAMMA = 0.5


def chain(length: int, truncate: bool) -> ReplayBuffer:
    """States 0..length-1 (obs = [k]), reward 1 per step. The last step terminates or, with
    ``truncate``, is cut off by a time limit while staying in the last state (a self-loop that
    would go on, so its value is 1 / (1 - gamma))."""
    buffer = ReplayBuffer(1, 1, 100)
    for k in range(length):
        last = k == length - 1
        next_state = k if last and truncate else k + 1
        buffer.add([k], [0.0], [next_state], 1.0, terminated=last and not truncate, truncated=last and truncate)
    return buffer


def fitted(buffer: ReplayBuffer) -> StateValue:
    generator = torch.Generator().manual_seed(0)
    value = StateValue(1, (32, 32), generator)
    value.fit(buffer, discount=GAMMA, updates=500, batch_size=32, lr=1e-2, tau=0.1, generator=generator)
    return value


def test_td_fit_reaches_the_discounted_steps_to_go_of_a_terminating_chain():
    value = fitted(chain(5, truncate=False))
    with torch.no_grad():
        got = value(torch.arange(5.0).unsqueeze(1))
    steps_to_go = 5 - torch.arange(5.0)
    expected = (1 - GAMMA ** steps_to_go) / (1 - GAMMA)  # 1.9375 1.875 1.75 1.5 1
    torch.testing.assert_close(got, expected, atol=0.06, rtol=0)


def test_truncated_episodes_bootstrap_instead_of_ending():
    value = fitted(chain(5, truncate=True))
    with torch.no_grad():
        got = value(torch.arange(5.0).unsqueeze(1))
    torch.testing.assert_close(got, torch.full((5,), 1 / (1 - GAMMA)), atol=0.06, rtol=0)


@pytest.mark.parametrize("settings, message", [
    ({"terminal_value": True}, "discount < 1"),
    ({"discount": 0.0}, "algorithm.discount=0.0 is not allowed: it must lie in (0, 1]"),
    ({"value_tau": 0.0}, "value_tau"),
])
def test_bad_value_settings_are_refused(settings, message):
    with pytest.raises(UserError, match=re.escape(message)):
        build_dataclass(Config, settings, "algorithm")
