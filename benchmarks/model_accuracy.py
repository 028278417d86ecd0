"""Accuracy of every registered learned model on random-policy transitions of a task.

Collects N transitions with a uniform random policy, keeps 10% aside as a test set, fits each
model (tag ``learned``) on the rest with :func:`mbrl_zoo.models.fit.fit` (its own 20% holdout for
early stopping and elites), and prints one JSON line per model:

    {"model", "delta", "ensemble_size", "holdout_nmse", "nll", "kstep_nmse": {"1", "5", "15"},
     "fit_s", "epochs"}

``holdout_nmse``: normalised MSE (see :mod:`mbrl_zoo.models.diagnostics`) of the next state
predicted as the elites' average mean, on the test set; 1.0 = predicting the average change.
``nll``: per-dimension NLL of the test next states (nats, averaged over elites), null for point
predictors. ``kstep_nmse``: open-loop error k steps ahead against the simulator, reset to
``--starts`` start states and driven by random actions, the model fed its own mean predictions.
Models listed in ``--non-delta`` run a second time with ``delta=False``.

Usage: python benchmarks/model_accuracy.py --task HalfCheetah-v5 --transitions 20000 --json
"""

from __future__ import annotations

import argparse
import json

import torch

from mbrl_zoo.models import build_model
from mbrl_zoo.models.diagnostics import kstep_error, normalized_mse, random_transitions, simulate_open_loop
from mbrl_zoo.models.fit import fit, take
from mbrl_zoo.registry import MODELS
from mbrl_zoo.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="HalfCheetah-v5")
    parser.add_argument("--transitions", type=int, default=20000)
    parser.add_argument("--json", action="store_true", help="only the JSON lines (no progress on stderr)")
    parser.add_argument("--models", default=None, help="comma-separated names (default: every learned model)")
    parser.add_argument("--non-delta", default="pe", help="models also run with delta=False (comma-separated)")
    parser.add_argument("--epochs", type=int, default=100, help="cap on epochs per fit (early stopping first)")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--starts", type=int, default=200, help="start states for the k-step error")
    parser.add_argument("--horizon", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    task = get_task(args.task)
    obs_dim, act_dim = task.dims()
    names = args.models.split(",") if args.models else [e.name for e in MODELS if "learned" in e.tags]
    runs = [(name, True) for name in names] + [(n, False) for n in args.non_delta.split(",") if n in names]
    data = random_transitions(task, args.transitions, seed=args.seed)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))
    test, train = take(data, order[: len(data) // 10]), take(data, order[len(data) // 10:])
    open_loop = simulate_open_loop(task, args.starts, args.horizon, seed=args.seed + 1)
    ks = sorted({1, 5, args.horizon})

    for name, delta in runs:
        torch.manual_seed(args.seed)
        model = build_model(name, obs_dim, act_dim, task=task, delta=delta)
        log = None if args.json else (lambda s, n=name: print(f"{n} epoch {s.epoch} loss {s.train_loss:.4f} "
                                                               f"holdout nmse {s.holdout_nmse:.4f}", flush=True))
        stats = fit(model, train, epochs=args.epochs, patience=args.patience,
                    generator=torch.Generator().manual_seed(args.seed), on_epoch=log)
        with torch.no_grad():
            nmse = normalized_mse(model.mean(test.obs, test.act), test.obs, test.next_obs)
            nll = model.nll(test) if hasattr(model, "nll") else None
            kstep = kstep_error(model, open_loop)
        print(json.dumps({
            "model": name, "delta": delta, "ensemble_size": model.ensemble_size,
            "holdout_nmse": round(float(nmse), 5),
            "nll": None if nll is None else round(float(nll[model.elites].mean()), 4),
            "kstep_nmse": {str(k): round(float(kstep[k - 1]), 5) for k in ks},
            "fit_s": round(stats.seconds, 1), "epochs": len(stats.epochs),
        }), flush=True)


if __name__ == "__main__":
    main()
