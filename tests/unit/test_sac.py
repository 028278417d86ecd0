"""SAC (Haarnoja et al. 2018): seeded determinism, save/load, temperature tuning, and (slow)
Pendulum-v1 solved to >= -300."""

import json

import numpy as np
import pytest
import torch

from algorithms.sac import SACAgent
from mbrl_zoo.types import Batch

OBS, ACT = 3, 2


def random_batch(seed: int, size: int = 64) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randn(size, OBS, generator=g),
        act=torch.rand(size, ACT, generator=g) * 4 - 2,
        next_obs=torch.randn(size, OBS, generator=g),
        rew=torch.randn(size, generator=g),
        terminated=torch.rand(size, generator=g) < 0.1,
        truncated=torch.zeros(size, dtype=torch.bool),
    )


def make_agent(seed: int = 0, **kwargs) -> SACAgent:
    return SACAgent(OBS, ACT, -2 * np.ones(ACT), 2 * np.ones(ACT), hidden=(32, 32), seed=seed, **kwargs)


def flat_params(agent: SACAgent) -> torch.Tensor:
    networks = agent.state_dict()["networks"]
    tensors = [t for net in ("actor", "critic", "target_critic") for t in networks[net].values()]
    return torch.cat([t.flatten() for t in tensors + [networks["log_alpha"].reshape(1)]])


def test_update_is_deterministic_under_a_seed():
    stats = []
    params = []
    for _ in range(2):
        agent = make_agent(seed=7)
        stats.append([agent.update(random_batch(i)) for i in range(5)])
        params.append(flat_params(agent))
    assert stats[0] == stats[1]
    assert torch.equal(params[0], params[1])
    other = make_agent(seed=8)
    other.update(random_batch(0))
    assert not torch.equal(flat_params(other), params[0])


def test_actions_lie_in_the_bounds_and_deterministic_actions_repeat():
    agent = make_agent()
    obs = torch.randn(100, OBS) * 10
    act = agent.act(obs)
    assert act.shape == (100, ACT) and act.abs().max() <= 2.0
    assert torch.equal(agent.act(obs, deterministic=True), agent.act(obs, deterministic=True))
    single = agent.act(np.zeros(OBS, dtype=np.float32))
    assert isinstance(single, np.ndarray) and single.shape == (ACT,)


def test_save_load_round_trip_continues_identically():
    agent = make_agent(seed=1)
    for i in range(3):
        agent.update(random_batch(i))
    state = agent.state_dict()
    copy = make_agent(seed=99)
    copy.load_state_dict(state)
    assert torch.equal(flat_params(copy), flat_params(agent))
    assert agent.update(random_batch(10)) == copy.update(random_batch(10))
    assert torch.equal(flat_params(copy), flat_params(agent))
    obs = torch.randn(4, OBS)
    assert torch.equal(agent.act(obs), copy.act(obs))


def test_entropy_tuning_moves_alpha_towards_the_target():
    """The temperature rises while the policy's entropy is below the target and falls while above."""
    below = make_agent(target_entropy=5.0)
    above = make_agent(target_entropy=-10.0)
    for i in range(30):
        below.update(random_batch(i))
        above.update(random_batch(i))
    assert below.alpha > 1.0 > above.alpha
    fixed = make_agent(learn_alpha=False, init_alpha=0.2)
    fixed.update(random_batch(0))
    assert fixed.alpha == pytest.approx(0.2)


@pytest.mark.slow
def test_sac_solves_pendulum(tmp_path):
    """Model-free SAC, run as the ``sac`` pairing, brings Pendulum-v1 to >= -300 (mean of 5
    deterministic evaluation episodes) within 6000 env steps."""
    import mbrl_zoo.tasks  # noqa: F401  (registers the tasks)
    from algorithms import sac
    from mbrl_zoo.config import resolve
    from mbrl_zoo.runs import Run

    config = resolve("sac", {"run": {"task": "Pendulum-v1", "seed": 0, "steps": 6000},
                             "algorithm": {"random_steps": 1000, "eval_every": 2000, "eval_episodes": 5}})
    run = Run(tmp_path, config.to_dict(), total_steps=config.run.steps, quiet=True)
    sac.train(config, run)
    run.close()
    final = [row for row in run.rows if "eval_return" in row][-1]
    assert final["env_step"] == 6000
    assert final["eval_return"] >= -300, json.dumps(run.rows[-5:])


def plain_update(agent: SACAgent, batch: Batch) -> None:
    """SAC's update written step by step (Haarnoja et al. 2018b, Algorithm 1), with separate
    backward passes, the critics frozen by ``requires_grad_`` for the actor's step and a
    per-parameter Polyak loop: the reference the agent's fused update must reproduce."""
    with torch.no_grad():
        next_act, next_log_prob = agent.policy(batch.next_obs)
        next_x = torch.cat([batch.next_obs, next_act], -1).expand(2, -1, -1)
        soft = agent.target_critic(next_x).squeeze(-1) - agent.log_alpha.exp() * next_log_prob
        target = batch.rew + agent.discount * (~batch.terminated).float() * soft.min(0).values
    q = agent.critic(torch.cat([batch.obs, batch.act], -1).expand(2, -1, -1)).squeeze(-1)
    agent.critic_optim.zero_grad()
    (0.5 * (q - target).pow(2).mean(-1).sum()).backward()
    agent.critic_optim.step()

    alpha = agent.log_alpha.detach().exp()
    agent.critic.requires_grad_(False)
    act, log_prob = agent.policy(batch.obs)
    q_pi = agent.critic(torch.cat([batch.obs, act], -1).expand(2, -1, -1)).squeeze(-1)
    agent.actor_optim.zero_grad()
    (alpha * log_prob - q_pi.min(0).values).mean().backward()
    agent.actor_optim.step()
    agent.critic.requires_grad_(True)
    agent.alpha_optim.zero_grad()
    (-(agent.log_alpha * (log_prob.detach() + agent.target_entropy)).mean()).backward()
    agent.alpha_optim.step()
    with torch.no_grad():
        for target_param, param in zip(agent.target_critic.parameters(), agent.critic.parameters()):
            target_param.mul_(1 - agent.tau).add_(agent.tau * param)


def test_update_equals_the_plain_update():
    """Three updates of the agent and of the step-by-step reference from the same state agree to
    float rounding in every network, the temperature and the noise generator's position."""
    agent, reference = make_agent(seed=3), make_agent(seed=3)
    for i in range(3):
        agent.update(random_batch(20 + i, size=256))
        plain_update(reference, random_batch(20 + i, size=256))
    torch.testing.assert_close(flat_params(agent), flat_params(reference), rtol=1e-5, atol=1e-6)
    assert torch.equal(agent.generator.get_state(), reference.generator.get_state())
    assert not torch.equal(flat_params(agent), flat_params(make_agent(seed=3)))
