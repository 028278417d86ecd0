"""Figures and table of results/dagger-model from its runs' metrics.csv files.

Run from the repository root after run.sh (and run_sac.sh): python results/dagger-model/plot.py
Writes return_by_iteration.png, simulation_lemma.png and table.md beside this file."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
PAIRINGS = ("dagger-model", "train-once", "learner-only", "no-aggregation", "dagger-model-sac")


def load() -> pd.DataFrame:
    frames = []
    for path in sorted(HERE.glob("*/*/seed*/metrics.csv")):
        frame = pd.read_csv(path).dropna(subset=["iteration_return"])
        frames.append(frame.assign(task=path.parts[-4], pairing=path.parts[-3], seed=path.parts[-2]))
    return pd.concat(frames, ignore_index=True)


def markdown(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def main() -> None:
    data = load()
    tasks = sorted(data["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        part = data[data["task"] == task]
        for pairing in PAIRINGS:
            curve = part[part["pairing"] == pairing].groupby("iteration")["iteration_return"]
            if len(curve):
                mean = curve.mean()
                ax.plot(mean.index, mean.values, marker="o", label=pairing)
                ax.fill_between(mean.index, curve.min().values, curve.max().values, alpha=0.15)
        expert = part["expert_return"].dropna()
        if len(expert):
            ax.axhline(expert.mean(), color="k", ls="--", label="expert (CEM on the simulator)")
        ax.set(title=task, xlabel="iteration i", ylabel="real return of pi_i (mean, seed range)")
        ax.xaxis.get_major_locator().set_params(integer=True)
    # one legend for all panels, below them: inside a panel it hides the curves
    handles = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(HERE / "return_by_iteration.png", dpi=120)

    fig, axes = plt.subplots(len(tasks), 2, figsize=(10, 3.2 * len(tasks)), squeeze=False)
    for row, task in zip(axes, tasks):
        for ax, horizon in zip(row, ("1step", "hstep")):
            for pairing in ("dagger-model", "train-once", "no-aggregation"):
                part = data[(data["task"] == task) & (data["pairing"] == pairing)].groupby("iteration")
                for where, style in (("learner", "-"), ("expert", ":")):
                    mean = part[f"model_{horizon}_nmse_{where}"].mean()
                    ax.plot(mean.index, mean.values, style, marker="o", label=f"{pairing}, {where} states")
            ax.set(yscale="log", xlabel="iteration i", ylabel=f"model nMSE ({horizon.replace('step', '-step')})",
                   title=f"{task}: M_i's {'one-step' if horizon == '1step' else 'H-step'} error")
            ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(HERE / "simulation_lemma.png", dpi=120)

    last = data.sort_values("iteration").groupby(["task", "pairing", "seed"]).tail(1)
    table = last.groupby(["task", "pairing"]).agg(
        seeds=("seed", "nunique"), expert_return=("expert_return", "mean"),
        best_return=("best_return", "mean"), final_return=("iteration_return", "mean"),
        hstep_learner=("model_hstep_nmse_learner", "mean"), hstep_expert=("model_hstep_nmse_expert", "mean"),
        return_gap_abs=("model_return_gap_abs", "mean"))
    (HERE / "table.md").write_text(markdown(table.round(2).reset_index()))
    print(table.round(2).to_string())


if __name__ == "__main__":
    main()
