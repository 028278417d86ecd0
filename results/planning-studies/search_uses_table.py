"""The table of the "using search in different ways" runs (search_uses.sh): per variant, the mean
return of the last 5 training episodes that the budget did not cut, and the mean return of 3
evaluation episodes acting by one-step search, or (Learn+Data+Eval) by full-depth search.

Usage: python results/planning-studies/search_uses_table.py [SEED]   (writes search-uses/table-seedSEED.md)
"""

import sys
from pathlib import Path

import pandas as pd

from algorithms.muzero_lite import evaluate_run

HERE = Path(__file__).resolve().parent / "search-uses"
VARIANTS = [("One-Step", "learn-false-data-false", False), ("Learn", "learn-true-data-false", False),
            ("Data", "learn-false-data-true", False), ("Learn+Data", "learn-true-data-true", False),
            ("Learn+Data+Eval", "learn-true-data-true", True)]


def main(seed: int = 0, episodes: int = 3) -> None:
    lines = ["| variant | search for targets | for acting | for evaluation | training return (last 5) | "
             f"evaluation return ({episodes} episodes) |", "|---|---|---|---|---|---|"]
    for name, folder, deep_eval in VARIANTS:
        run = HERE / folder / f"seed{seed}"
        rows = pd.read_csv(run / "metrics.csv")
        scored = rows[rows["cut"] != 1] if "cut" in rows else rows
        evaluation = evaluate_run(run, episodes=episodes, deep=deep_eval)
        learn, data = "learn-true" in folder, "data-true" in folder
        marks = ["full" if used else "1 step" for used in (learn, data, deep_eval)]
        lines.append(f"| {name} | {' | '.join(marks)} | {scored['return'].tail(5).mean():.1f} | "
                     f"{sum(evaluation) / episodes:.1f} |")
    (HERE / f"table-seed{seed}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
