"""A learned state value V(s) for planning beyond the horizon.

An MPC planner that scores H-step imagined returns cannot prefer, among candidates that all
collect the same reward within the horizon, the one that leaves the system in a better state:
on InvertedPendulum (+1 per step while the pole is up) every surviving candidate ties and the
cart drifts to the end of its rail (results/pets/README.md). Adding ``discount^H V(s_H)`` to the
H-step return puts the long-run consequences into the score, as in "Plan Online, Learn Offline"
(Lowrey et al., ICLR 2019) and model-based value expansion (Feinberg et al. 2018).

V is fitted by TD(0) on the real transitions, ``V(s) <- r + discount (1 - terminated) V'(s')``
with a Polyak-averaged target V' (truncated episodes bootstrap, terminated ones do not): the
value of the policy that collected the data, which is the planner itself after the first trials.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.models.layers import StackedMLP
from mbrl_zoo.models.normalizer import Normalizer


class StateValue(nn.Module):
    """V(s) (B, O) -> (B,): a ReLU MLP on standardised observations, with a target copy.

    ``hidden``: hidden layer widths. Weights start from ``generator``. Observation statistics are
    refreshed from the data at every :meth:`fit` and saved with the module.
    """

    def __init__(self, obs_dim: int, hidden: tuple[int, ...], generator: torch.Generator):
        super().__init__()
        self.obs_norm = Normalizer(obs_dim)
        self.net = StackedMLP(1, obs_dim, 1, hidden, generator)
        self.target = copy.deepcopy(self.net).requires_grad_(False)

    def forward(self, obs: torch.Tensor, target: bool = False) -> torch.Tensor:
        x = self.obs_norm.normalize(obs.to(torch.float32)).unsqueeze(0)
        return (self.target if target else self.net)(x)[0, :, 0]

    def fit(self, buffer: ReplayBuffer, *, discount: float, updates: int, batch_size: int, lr: float,
            tau: float, generator: torch.Generator) -> dict[str, float]:
        """``updates`` Adam steps on the squared TD(0) error of minibatches of ``batch_size``
        transitions drawn from ``buffer``; the target moves by ``tau`` after each step. Returns
        the last step's loss and the mean value of the data's observations."""
        data = buffer.all()
        self.obs_norm.fit(data.obs)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=lr, fused=True)
        loss = torch.zeros(())
        for _ in range(updates):
            batch = buffer.sample(batch_size, generator)
            with torch.no_grad():
                alive = (~batch.terminated).to(torch.float32)
                td_target = batch.rew + discount * alive * self(batch.next_obs, target=True)
            loss = (self(batch.obs) - td_target).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for param, target_param in zip(self.net.parameters(), self.target.parameters()):
                    target_param.lerp_(param, tau)
        with torch.no_grad():
            mean_value = float(self(data.obs).mean())
        return {"value_loss": loss.item(), "value_mean": mean_value}
