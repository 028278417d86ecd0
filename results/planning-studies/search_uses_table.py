"""The table of the "using search in different ways" sweeps (search-uses/spec.yaml, 25 simulations,
and search-uses/B50/spec.yaml, 50): per task, budget and variant, over seeds, the mean return of
each run's last 5 training episodes that the budget did not cut, and of evaluation episodes acting
by one-step search or (Learn+Data+Eval) by full-depth search, both with the training budget of
simulations.

Usage: python results/planning-studies/search_uses_table.py [EPISODES]   (default 3; two processes)
(writes search-uses/table.csv, a row per run and variant, and search-uses/table.md)
"""

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from algorithms.muzero_lite import evaluate_run
from mbrl_zoo.app.sweep import load_spec
from mbrl_zoo.io import atomic_write_text

HERE = Path(__file__).resolve().parent / "search-uses"
VARIANTS = [  # name, search_learn, search_data, full-depth evaluation
    ("One-Step", False, False, False), ("Learn", True, False, False), ("Data", False, True, False),
    ("Learn+Data", True, True, False), ("Learn+Data+Eval", True, True, True)]


SPECS = [HERE / "spec.yaml", HERE / "B50" / "spec.yaml"]


def run_folder(root: Path, task: str, learn: bool, data: bool, seed: int) -> Path:
    flag = {False: "false", True: "true"}
    return (root / "oracle-mcts" / task / f"algorithm.search_learn={flag[learn]}"
            / f"algorithm.search_data={flag[data]}" / f"seed{seed}")


def main(episodes: int = 3, workers: int = 2) -> None:
    jobs = []
    for path in SPECS:
        spec = load_spec(path)
        jobs += [(path.parent, task, spec.set["planner"]["simulations"], variant, seed, episodes)
                 for task in spec.tasks for variant in VARIANTS for seed in spec.seeds]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        table = pd.DataFrame(list(pool.map(evaluated, *zip(*jobs))))
    atomic_write_text(HERE / "table.csv", table.to_csv(index=False))
    lines = ["| task | simulations | variant | full-depth search for | training return, last 5 | "
             f"evaluation return, {episodes} episodes | evaluation by seed |", "|---|---|---|---|---|---|---|"]
    for (task, simulations, name), group in table.groupby(["task", "simulations", "variant"], sort=False):
        learn, data, deep_eval = next(v[1:] for v in VARIANTS if v[0] == name)
        uses = ", ".join(u for u, on in (("targets", learn), ("acting", data), ("evaluation", deep_eval)) if on)
        train, evaluation = group["training_return"], group["evaluation_return"]
        lines.append(f"| {task} | {simulations} | {name} | {uses or 'none'} | "
                     f"{train.mean():.1f} ± {train.std(ddof=0):.1f} | {evaluation.mean():.1f} ± {evaluation.std(ddof=0):.1f} | "
                     f"{', '.join(f'{v:.0f}' for v in evaluation)} |")
    atomic_write_text(HERE / "table.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


def evaluated(root: Path, task: str, simulations: int, variant: tuple, seed: int, episodes: int) -> dict:
    """A run's row: its training return (last 5 whole episodes) and its evaluation return."""
    torch.set_num_threads(1)
    name, learn, data, deep_eval = variant
    run = run_folder(root, task, learn, data, seed)
    metrics = pd.read_csv(run / "metrics.csv")
    scored = metrics[metrics["cut"] != 1] if "cut" in metrics else metrics
    evaluation = evaluate_run(run, episodes=episodes, deep=deep_eval)
    row = {"task": task, "simulations": simulations, "variant": name, "seed": seed,
           "training_return": scored["return"].tail(5).mean(), "evaluation_return": float(np.mean(evaluation))}
    print(row, flush=True)
    return row


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
