"""A run's folder: ``config.json``, ``metrics.csv``, ``checkpoint.pt``, ``learning_curve.png``.

An algorithm's ``train(config, run)`` loop calls :meth:`Run.log_episode` after each episode and
:meth:`Run.save_checkpoint` at episode boundaries; on ``--resume`` it starts from
:meth:`Run.load_checkpoint`. Every file is written atomically (temp file + rename), and the
checkpoint carries the metrics rows and the global RNG states, so an interrupted run resumed from
its last checkpoint reaches the same metrics as an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mbrl_zoo.errors import UserError
from mbrl_zoo.io import (atomic_torch_save, atomic_write, atomic_write_json, atomic_write_text,
                         remove_stale_temporaries)

METRIC_COLUMNS = ("env_step", "episode", "return", "episode_steps", "episode_s", "wall_s")
"""Leading columns of ``metrics.csv``; algorithms may append their own (e.g. ``model_loss``)."""

CURVE_REFRESH_S = 60.0
"""Seconds between redraws of ``learning_curve.png`` during a run (drawing one costs ~0.2 s), so
that a run killed before :meth:`Run.close` leaves a curve at most this old beside its metrics."""


def final_info(info: dict[str, Any]) -> dict[str, float]:
    """The env's numeric scalar ``info`` entries at an episode's last step, as ``final_<key>``
    metrics columns: how an episode ended beyond its return, e.g. Pusher's ``final_reward_dist``
    (minus the object's distance to the goal) or HalfCheetah's ``final_x_position``."""
    return {f"final_{key}": float(value) for key, value in info.items()
            if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))}


class Run:
    """The results folder of one run, with its progress bar.

    ``total_steps`` sizes the progress bar; ``quiet`` silences it; ``label`` names the run on it
    (default: the folder's name). A folder that already holds a run is refused unless ``resume``
    (continue it) or ``overwrite`` (replace its run files). Temporary files that a killed run's
    interrupted writes left behind are removed on opening.
    """

    RUN_FILES = ("config.json", "metrics.csv", "checkpoint.pt", "learning_curve.png", "machine.json")

    def __init__(self, out_dir: str | Path, config: dict[str, Any], total_steps: int,
                 quiet: bool = False, resume: bool = False, overwrite: bool = False, label: str | None = None):
        self.out_dir = Path(out_dir)
        self.label = label or self.out_dir.name
        self.config = config
        self.total_steps = int(total_steps)
        self.quiet = quiet
        self.rows: list[dict[str, Any]] = []
        self._elapsed_before = 0.0
        self._start = time.perf_counter()
        self._episode_start = self._start
        self._curve_drawn_at: float | None = None
        self._bar = None
        checkpoint = self.out_dir / "checkpoint.pt"
        if resume:
            if not checkpoint.exists():
                raise UserError(f"--resume: {str(self.out_dir)!r} has no checkpoint.pt to resume from.")
            check_resumable(self.out_dir, config)
        elif overwrite:
            for name in self.RUN_FILES:
                (self.out_dir / name).unlink(missing_ok=True)
        elif (self.out_dir / "metrics.csv").exists() or checkpoint.exists():
            raise UserError(
                f"results folder {str(self.out_dir)!r} already holds a run; pass --resume to continue it, "
                "--overwrite to replace it, or --out to write elsewhere."
            )
        # A run killed inside an atomic write leaves a hidden temporary beside the file, which
        # no later write replaces; this run now owns the folder, so clear them.
        remove_stale_temporaries(self.out_dir, self.RUN_FILES)
        # Imported before the run starts, not at its first curve: a Ctrl-C or SIGTERM that cut
        # the import short would leave matplotlib half-initialised for the curve drawn at close.
        new_figure()
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission
            raise UserError(f"cannot make the results folder {str(self.out_dir)!r}: {exc.strerror} "
                            f"({exc.filename}); pass --out a folder path that can be created.") from None
        atomic_write_json(self.out_dir / "config.json", config)

    # progress ---------------------------------------------------------------------------------
    def _progress(self):
        if self._bar is None and not self.quiet:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total_steps, unit="step", dynamic_ncols=True,
                             desc=self.label, initial=self.rows[-1]["env_step"] if self.rows else 0)
        return self._bar

    def set_phase(self, phase: str) -> None:
        """Show what the run is doing now (``random actions``, ``fitting the model``, ...) beside
        its name on the progress bar, at once (a long fit would otherwise freeze the bar unexplained)."""
        bar = self._progress()
        if bar is not None:
            bar.set_description(f"{self.label} [{phase}]", refresh=True)

    def advance(self, env_step: int, **postfix: float) -> None:
        """Move the progress bar to ``env_step`` (call as often as convenient)."""
        bar = self._progress()
        if bar is not None:
            bar.update(env_step - bar.n)
            if postfix:
                bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)

    # metrics ----------------------------------------------------------------------------------
    def wall_s(self) -> float:
        """Seconds of work in this run, summed over resumed segments."""
        return self._elapsed_before + time.perf_counter() - self._start

    def log_episode(self, env_step: int, episode: int, episode_return: float, episode_steps: int,
                    **extra: float | None) -> None:
        """Append one row to ``metrics.csv`` (rewritten atomically; ``episode`` is 1 for the first
        episode), redraw ``learning_curve.png`` at the first episode and then at most every
        :data:`CURVE_REFRESH_S` seconds, and update the progress bar. ``extra`` columns hold floats;
        ``None`` leaves the cell empty."""
        now = time.perf_counter()
        row = {"env_step": int(env_step), "episode": int(episode), "return": float(episode_return),
               "episode_steps": int(episode_steps), "episode_s": now - self._episode_start,
               "wall_s": self.wall_s(), **{k: None if v is None else float(v) for k, v in extra.items()}}
        self._episode_start = now
        self.rows.append(row)
        self._write_metrics()
        if self._curve_drawn_at is None or now - self._curve_drawn_at >= CURVE_REFRESH_S:
            self._draw_curve()
        self.advance(env_step, ret=episode_return)

    def _write_metrics(self) -> None:
        columns = list(METRIC_COLUMNS)
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.out_dir / "metrics.csv", text.getvalue())

    # checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Save the algorithm's ``state`` with the metrics so far and the global RNG states."""
        atomic_torch_save({
            "state": state,
            "rows": self.rows,
            "wall_s": self.wall_s(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        }, self.out_dir / "checkpoint.pt")

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The state last saved, with metrics and RNG states restored; ``None`` for a fresh run."""
        path = self.out_dir / "checkpoint.pt"
        if not path.exists():
            return None
        saved = torch.load(path, map_location="cpu", weights_only=False)
        self.rows = list(saved["rows"])
        self._elapsed_before = saved["wall_s"]
        self._start = self._episode_start = time.perf_counter()
        torch.set_rng_state(saved["rng"]["torch"])
        np.random.set_state(saved["rng"]["numpy"])
        random.setstate(saved["rng"]["python"])
        self._write_metrics()
        return saved["state"]

    # the end ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the progress bar and draw ``learning_curve.png`` from every episode logged."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.rows:
            self._draw_curve()

    def _draw_curve(self) -> None:
        plot_learning_curve(self.rows, self.out_dir / "learning_curve.png",
                            title=f"{self.config.get('pairing', '')} on {self.config.get('run', {}).get('task', '')}")
        self._curve_drawn_at = time.perf_counter()


def new_figure(**kwargs: Any):
    """A matplotlib ``Figure`` outside pyplot: drawing and saving it neither switches nor uses
    pyplot's backend (a notebook that calls ``train`` keeps its inline figures) and no global
    figure list holds on to it. Its Agg canvas is attached here, not at the first save, so that
    opening a run imports the whole drawing stack."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def plot_learning_curve(rows: list[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Episode return against environment steps, saved atomically as a PNG: whole episodes joined
    by a line, the episode the step budget cut (``cut`` = 1) as a hollow marker apart, and the
    returns of evaluation episodes (``eval_return``) where a run logs them."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    whole = [r for r in rows if not r.get("cut")]
    ax.plot([r["env_step"] for r in whole], [r["return"] for r in whole], marker="o", markersize=3,
            label="episode return")
    cut = [r for r in rows if r.get("cut")]
    if cut:
        ax.plot([r["env_step"] for r in cut], [r["return"] for r in cut], linestyle="none", marker="o",
                markerfacecolor="none", color="C0", label="episode cut by the step budget")
    evaluated = [r for r in rows if r.get("eval_return") is not None]
    if evaluated:
        ax.plot([r["env_step"] for r in evaluated], [r["eval_return"] for r in evaluated], marker="s",
                markersize=4, color="C1", label="evaluation (deterministic policy)")
    if cut or evaluated:
        ax.legend(fontsize=8)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))


def episode_seed(seed: int, episode: int) -> int:
    """The env reset seed of ``episode`` in a run seeded ``seed``: resets need no saved env state."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def read_run(out_dir: str | Path, task: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run folder's ``config.json`` (as a dict) and the algorithm state saved in its
    ``checkpoint.pt``, read on the CPU without restoring anything. Refuses (:class:`UserError`) a
    folder without them, or a run of another task than ``task`` when one is given."""
    import json

    out_dir = Path(out_dir)
    missing = [name for name in ("config.json", "checkpoint.pt") if not (out_dir / name).is_file()]
    if missing:
        raise UserError(f"{str(out_dir)!r} has no {' or '.join(missing)}; give the folder of a run that saved one.")
    config = json.loads((out_dir / "config.json").read_text())
    if task is not None and config["run"]["task"] != task:
        raise UserError(f"expected a run on {task}, but {str(out_dir)!r} ran {config['run']['task']!r}.")
    return config, torch.load(out_dir / "checkpoint.pt", map_location="cpu", weights_only=False)["state"]


def read_metrics(out_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of a run folder's ``metrics.csv`` (empty cells as None, numbers as float, the
    step and episode columns as int); an empty list when there is none yet."""
    path = Path(out_dir) / "metrics.csv"
    if not path.exists():
        return []
    rows = []
    for raw in csv.DictReader(path.open(newline="")):
        row = {k: (None if v == "" else float(v)) for k, v in raw.items()}
        for key in ("env_step", "episode", "episode_steps"):
            if row.get(key) is not None:
                row[key] = int(row[key])
        rows.append(row)
    return rows


def check_resumable(out_dir: str | Path, config: dict[str, Any]) -> None:
    """Refuse (:class:`UserError`) to continue the run saved in ``out_dir`` under ``config`` (a
    ``config.json`` dict) when any setting but ``run.steps``, ``run.threads`` and ``run.device`` differs from the
    saved one, or when
    ``run.steps`` is below the env steps the run has already logged."""
    out_dir = Path(out_dir)
    _check_same_config(out_dir / "config.json", config)
    metrics = out_dir / "metrics.csv"
    rows = list(csv.DictReader(metrics.open(newline=""))) if metrics.exists() else []
    done, steps = (int(float(rows[-1]["env_step"])) if rows else 0), config["run"]["steps"]
    if steps < done:
        raise UserError(f"cannot continue the run in {str(out_dir)!r}: it already has {done} env steps, more than "
                        f"--steps {steps}; pass --steps {done} or more to extend it.")


def _check_same_config(saved_path: Path, config: dict[str, Any]) -> None:
    import json

    saved = json.loads(saved_path.read_text())
    from mbrl_zoo.registry import PAIRINGS

    if saved.get("pairing") in PAIRINGS:
        # Read the saved settings as this version would resolve them (renamed keys, new defaults).
        from mbrl_zoo.config import from_dict

        saved = from_dict(saved).to_dict()
    ignore = {"steps", "threads", "device"}
    differ = [
        f"{section}.{key}"
        for section in sorted(set(saved) | set(config))
        for key in sorted(_keys(saved.get(section)) | _keys(config.get(section)))
        if key not in ignore and _get(saved.get(section), key) != _get(config.get(section), key)
    ]
    if differ:
        raise UserError(
            f"--resume: the settings differ from the saved run in {str(saved_path)!r} at {', '.join(differ)}; "
            "resume with the same pairing, task, seed and --set values (only run.steps may change)."
        )


def _keys(section: Any) -> set[str]:
    return set(section) if isinstance(section, dict) else {""}


def _get(section: Any, key: str) -> Any:
    if isinstance(section, dict):
        value = section.get(key)
        return list(value) if isinstance(value, tuple) else value
    return section
