"""How far ahead a gamma-model sees, against the simulator and against rolling out a one-step model.

Collects N transitions of a policy (uniform random, or with ``--gains K`` the noisy linear
feedback a = clip(K . obs + noise (high - low) / 2 N(0, 1)), a policy that keeps
InvertedPendulum's pole up: the long occupancies of a policy that survives), trains for each
discount a gamma-model (Janner et al. 2020; :func:`mbrl_zoo.models.fit_gamma`) on them under
that same policy, and one
one-step ``gaussian`` model (:func:`mbrl_zoo.models.fit.fit`). From ``--starts`` held-out start
states it then draws ``--samples`` occupancy states s_e per start three ways:
- ``truth``: the simulator (the ``oracle`` model) rolled out K ~ Geometric(1 - discount) steps
  under the policy, absorbing at the task's terminations (:func:`rollout_occupancy`);
- ``one_step``: the same with the learned one-step model in place of the simulator (its errors
  compound over K steps);
- ``gamma``: one call of the gamma-model.
For each it reports ``mean_nmse``, the squared error of the per-start occupancy mean against the
truth's, divided by the variance of the states in the data and averaged over dims and starts
(0 = exact; 1 = off by one state spread), and ``std_ratio``, the per-start standard deviation of
s_e against the truth's (averaged; 1 = right spread); ``fit_s`` and ``sample_ms`` (all starts).
Prints one JSON line per discount.

Usage: python benchmarks/gamma_model.py --task InvertedPendulum-v5 --transitions 10000 --discounts 0.5,0.8,0.9
       python benchmarks/gamma_model.py --gains 1,10,1,1 --noise 0.3 --discounts 0.9,0.97,0.99
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.models import GammaModel, build_model, fit_gamma, rollout_occupancy
from mbrl_zoo.models.diagnostics import random_transitions
from mbrl_zoo.models.fit import fit, take
from mbrl_zoo.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="InvertedPendulum-v5")
    parser.add_argument("--transitions", type=int, default=10000)
    parser.add_argument("--discounts", default="0.5,0.8,0.9")
    parser.add_argument("--td-steps", type=int, default=4000, help="generative-TD steps per gamma-model")
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument("--samples", type=int, default=200, help="occupancy draws per start state")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gains", default="", help="K, one per obs dim: the noisy linear policy (default: random)")
    parser.add_argument("--noise", type=float, default=0.3, help="its Gaussian noise, in action half-ranges")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    task = get_task(args.task)
    obs_dim, act_dim = task.dims()
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in task.action_bounds())
    policy_noise = torch.Generator().manual_seed(args.seed + 1)
    gains = torch.tensor([float(k) for k in args.gains.split(",")]) if args.gains else None
    if gains is not None and gains.shape != (obs_dim,):
        raise UserError(f"--gains needs {obs_dim} numbers for {args.task} (one per obs dim), got {args.gains!r}.")

    def policy(obs: torch.Tensor) -> torch.Tensor:
        """Actions (B, A) for obs (B, O): the linear feedback with noise, or uniform random."""
        if gains is None:
            return low + (high - low) * torch.rand(obs.shape[0], act_dim, generator=policy_noise)
        noise = args.noise * (high - low) / 2 * torch.randn(obs.shape[0], act_dim, generator=policy_noise)
        feedback = (obs.to(torch.float32) @ gains).unsqueeze(-1)
        return torch.minimum(torch.maximum(feedback + noise, low), high)

    def act_np(obs):
        return policy(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))[0].numpy()

    data = random_transitions(task, args.transitions, seed=args.seed, policy=act_np if gains is not None else None)
    data = type(data)(*(c.float() if c.is_floating_point() else c for c in
                        (data.obs, data.act, data.next_obs, data.rew, data.terminated, data.truncated)))
    order = torch.randperm(len(data.obs), generator=torch.Generator().manual_seed(args.seed))
    starts, train = data.obs[order[: args.starts]], take(data, order[args.starts:])
    state_var = train.next_obs.var(0).clamp_min(1e-12)

    began = time.perf_counter()
    one_step = build_model("gaussian", obs_dim, act_dim, task=task)
    fit(one_step, train, epochs=200, patience=10, generator=torch.Generator().manual_seed(args.seed))
    one_step_fit_s = time.perf_counter() - began
    oracle = build_model("oracle", obs_dim, act_dim, task=task)
    first_act = policy(starts.repeat(args.samples, 1))

    def score(draws: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
        mean_nmse = ((draws.mean(0) - truth.mean(0)).square() / state_var).mean().item()
        std_ratio = (draws.std(0) / truth.std(0).clamp_min(1e-6)).mean().item()
        return {"mean_nmse": round(mean_nmse, 4), "std_ratio": round(std_ratio, 3)}

    for discount in (float(d) for d in args.discounts.split(",")):
        generator = torch.Generator().manual_seed(args.seed + 2)
        truth = rollout_occupancy(oracle, starts, policy, discount, args.samples, task.termination_fn,
                                  generator=generator)
        began = time.perf_counter()
        with torch.no_grad():
            rolled = rollout_occupancy(one_step, starts, policy, discount, args.samples, task.termination_fn,
                                       generator=generator)
        one_step_ms = 1e3 * (time.perf_counter() - began)
        gamma = GammaModel(obs_dim, act_dim, task, discount=discount, generator=torch.Generator().manual_seed(args.seed))
        began = time.perf_counter()
        stats = fit_gamma(gamma, train, policy, args.td_steps, generator=generator)
        gamma_fit_s = time.perf_counter() - began
        began = time.perf_counter()
        with torch.no_grad():
            drawn = gamma.sample(starts.repeat(args.samples, 1), first_act, generator).reshape(args.samples, *starts.shape)
        gamma_ms = 1e3 * (time.perf_counter() - began)
        print(json.dumps({
            "benchmark": "gamma_model", "task": args.task, "transitions": args.transitions, "discount": discount,
            "policy": f"linear {args.gains} noise {args.noise}" if gains is not None else "random",
            "starts": args.starts, "samples": args.samples,
            "gamma": {**score(drawn, truth), "fit_s": round(gamma_fit_s, 1), "sample_ms": round(gamma_ms, 1),
                      "td_steps": args.td_steps, "final_td_loss": round(sum(stats.losses[-100:]) / len(stats.losses[-100:]), 3)},
            "one_step": {**score(rolled, truth), "fit_s": round(one_step_fit_s, 1), "sample_ms": round(one_step_ms, 1)},
            "truth_mean_steps": round(1.0 / (1.0 - discount), 1),
        }), flush=True)


if __name__ == "__main__":
    main()
