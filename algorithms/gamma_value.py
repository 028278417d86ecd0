"""Values from a gamma-model (Janner, Mordatch and Levine 2020, "Generative Temporal Difference
Learning for Infinite-Horizon Prediction"): what gamma-MVE and the ``pets-gamma`` terminal value share.

A gamma-model mu of discount g (:class:`~mbrl_zoo.models.gamma.GammaModel`) draws s_e = s_K with
P(K = k) = (1 - g) g^(k-1), k >= 1. For a reward rho(x) collected at every visited state x,

    sum_{k>=1} g^(k-1) rho(s_k) = E_{s_e ~ mu(. | s, a)} [rho(s_e)] / (1 - g)      (Sec. 4).

**The state reward.** The zoo's tasks score transitions, ``reward_fn(obs, act, next_obs)``, and
an occupancy draw is one state with neither the action taken there nor the state after it. The
zoo scores an occupancy state x as the transition that stays at x,

    rho(x) = (1 - end(x)) reward_fn(x, a_x, x),     end(x) = termination_fn(x, a_x, x),

with a_x the acting policy's action at x where it is known (gamma-MVE: a draw of the SAC
policy) and the middle of the action box where it is not (an MPC policy has no action at a
state it has not planned from). This is exact for rewards of one state (InvertedPendulum's
alive bonus, the cart-pole's upright and centred terms); a reward of the action is read at a_x,
and one of the change obs -> next_obs reads zero change. A state that the task ends is
absorbing (as the gamma-model's training treats it) and pays nothing.

**Changing the discount** (Janner et al. 2020, Sec. 5). The n-fold composition of a g-model
(x_n ~ mu(. | x_{n-1}, pi(x_{n-1})), x_0 = s) lands after a sum of n geometric delays, and a
geometric number of such steps is again geometric: with

    beta = (gamma - g) / (1 - g),    alpha_n = (1 - beta) beta^(n-1),     (n = 1, 2, ...)

mu_gamma = sum_n alpha_n mu_g^n for any gamma in [g, 1), so a g-model predicts the occupancy
of a longer discount gamma, and truncating the sum at n = H leaves the weight beta^H of the
draws beyond x_H, whose value a critic supplies (gamma-MVE).
"""

from __future__ import annotations

import torch
from torch import nn

from mbrl_zoo.buffer import ReplayBuffer
from mbrl_zoo.errors import UserError
from mbrl_zoo.models.gamma import GammaModel, td_step
from mbrl_zoo.tasks.spec import RewardFn, TerminationFn
from mbrl_zoo.types import Batch


def composition_weights(gamma: float, model_discount: float, horizon: int) -> tuple[torch.Tensor, float]:
    """alpha_n (H,) for n = 1..H and the remaining weight beta^H of the module docstring: the
    occupancy of discount ``gamma`` as a mixture of a ``model_discount``-model's n-fold rollouts."""
    if not 0.0 <= model_discount <= gamma < 1.0 or horizon < 1:
        raise UserError(f"composing a gamma-model needs 0 <= model discount <= discount < 1 and horizon >= 1; "
                        f"got model discount {model_discount!r}, discount {gamma!r}, horizon {horizon!r}.")
    beta = (gamma - model_discount) / (1.0 - model_discount)
    n = torch.arange(horizon, dtype=torch.float64)
    return ((1.0 - beta) * beta ** n).float(), float(beta ** horizon)


def occupancy_reward(reward_fn: RewardFn, termination_fn: TerminationFn, obs: torch.Tensor,
                     act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """rho(x) (N,) of occupancy states ``obs`` (N, O) at actions ``act`` (N, A) (module
    docstring) and ``alive`` (N,) float, 0 at states the task ends."""
    alive = (~termination_fn(obs, act, obs).reshape(-1).bool()).float()
    return alive * reward_fn(obs, act, obs).reshape(-1).float(), alive


class GammaValue(nn.Module):
    """A terminal value V(s) (B, O) -> (B,) for MPC from a state-conditioned gamma-model of the
    policy that collected the data (Janner et al. 2020, Sec. 4):

        V(s) ~= rho(s) + gamma E_{s_e ~ mu(. | s)} [rho(s_e)] / (1 - gamma),

    the return of the acting policy from s, sum_{k>=0} gamma^k rho(s_k), with rho the state
    reward of the module docstring at the middle action ``mid_action`` (A,).

    **Which policy.** The MPC policy replans at every state; asking it for a' = pi(s') at every
    bootstrap state of every TD minibatch would cost a full plan each. The gamma-model is instead
    conditioned on the state alone (its action input held at zero) and trained by generative
    TD on the logged transitions, s' with probability 1 - gamma (always for a terminated one),
    otherwise a draw of its target copy at s': the occupancy of the data's own policy, the
    planner of the latest trials after the first random steps (as the TD(0) value of
    :mod:`algorithms.state_value` evaluates it). ``samples`` draws average each value.
    """

    def __init__(self, model: GammaModel, reward_fn: RewardFn, termination_fn: TerminationFn,
                 mid_action: torch.Tensor, samples: int, generator: torch.Generator):
        super().__init__()
        if samples < 1:
            raise UserError(f"algorithm.gamma_samples must be >= 1, got {samples!r}.")
        self.model, self.reward_fn, self.termination_fn = model, reward_fn, termination_fn
        self.samples, self.generator = int(samples), generator
        self.register_buffer("mid_action", torch.as_tensor(mid_action, dtype=torch.float32).reshape(-1))

    def _no_action(self, rows: int) -> torch.Tensor:
        return torch.zeros(rows, self.model.act_dim)

    def state_reward(self, obs: torch.Tensor) -> torch.Tensor:
        """rho (N,) of states (N, O) at the middle action."""
        return occupancy_reward(self.reward_fn, self.termination_fn, obs,
                                self.mid_action.expand(obs.shape[0], -1))[0]

    @torch.no_grad()
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        obs = obs.to(torch.float32)
        rows, gamma = obs.shape[0], self.model.discount
        draws = self.model.sample(obs.repeat(self.samples, 1), self._no_action(rows * self.samples), self.generator)
        later = self.state_reward(draws.to(torch.float32)).reshape(self.samples, rows).mean(0)
        return self.state_reward(obs) + gamma * later / (1.0 - gamma)

    def fit(self, buffer: ReplayBuffer, *, updates: int, batch_size: int, lr: float, tau: float,
            generator: torch.Generator) -> dict[str, float]:
        """``updates`` generative-TD steps (Adam, ``lr``; target Polyak ``tau``) on minibatches of
        ``batch_size`` logged transitions of ``buffer``, with the action input at zero. The
        normaliser statistics are those of the first fit (see :meth:`GammaModel.set_normalizers`).
        A fresh Adam each fit, as :class:`~algorithms.state_value.StateValue` does. Returns the
        last step's loss."""
        if not bool(self.model.fitted):
            data = buffer.all()
            self.model.set_normalizers(Batch(data.obs, self._no_action(len(data.obs)), data.next_obs, data.rew,
                                             data.terminated, data.truncated))
        optimizer = torch.optim.Adam(self.model.density.parameters(), lr=lr)
        loss = float("nan")
        for _ in range(updates):
            batch = buffer.sample(batch_size, generator)
            rows = batch.obs.shape[0]
            batch = Batch(batch.obs, self._no_action(rows), batch.next_obs, batch.rew, batch.terminated,
                          batch.truncated)
            loss = td_step(self.model, optimizer, batch, lambda next_obs: self._no_action(next_obs.shape[0]), tau,
                           generator)
        return {"gamma_loss": loss}
