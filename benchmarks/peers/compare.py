"""Ours beside the peer (mbrl-lib 0.2.0), measured in one command on one machine.

Each subcommand runs our benchmark (in this interpreter's environment) and mbrl-lib's
(``mbrl_lib_bench.py`` in the peer's venv, made by ``setup.sh``) as separate processes, in
alternating order over ``--rounds`` rounds, prints one JSON line with both timings, their ratio
and the machine (CPU model, cores, threads, torch version, date, load average), and appends it to
``results/benchmarks/<name>.jsonl``:

    python benchmarks/peers/compare.py plan            # one PETS planning call, cart-pole defaults
    python benchmarks/peers/compare.py mbpo-step       # MBPO's env step on Hopper, same settings
    python benchmarks/peers/compare.py pets-cartpole   # PETS time to solve cart-pole (long: see README)

``plan`` also reports each side's share of the float32 matmul peak that ``plan_speed.py``
measures in each round. ``ratio`` is always mbrl-lib's wall-clock time over ours (above 1: ours is
faster); ``cpu_ratio`` the same for the process CPU time, which other work on a shared machine
disturbs far less than the wall clock.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(HERE))

from mbpo_settings import add_arguments as add_mbpo_arguments  # noqa: E402


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(threads: int) -> dict:
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads, "torch": torch.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "load_avg_1min": os.getloadavg()[0]}


def run_json(command: list[str]) -> dict:
    """Run ``command`` and return the JSON object on the last line of its stdout."""
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
                              str(ROOT), os.environ.get("PYTHONPATH")]))})
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command[:3])} ... exited with {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(ours: list[str], theirs: list[str], rounds: int) -> list[dict]:
    """``rounds`` pairs of runs, ours first in odd rounds and theirs first in even ones, so that
    a drift in the machine's load weighs on both sides alike."""
    results = []
    for r in range(rounds):
        order = [("ours", ours), ("mbrl_lib", theirs)]
        pair = dict((name, run_json(cmd)) for name, cmd in (order if r % 2 == 0 else order[::-1]))
        results.append(pair)
        print(f"round {r + 1}/{rounds}: " + ", ".join(f"{k} {v.get('ms_per_call', v.get('ms_per_env_step')):.0f} ms"
                                                      for k, v in pair.items()), file=sys.stderr)
    return results


def peer_python(args) -> str:
    path = Path(args.peer_python)
    if not path.exists():
        raise SystemExit(f"no peer venv at {path}: run `bash benchmarks/peers/setup.sh` first "
                         "(or give --peer-python).")
    return str(path)


def plan(args) -> dict:
    from plan_speed import flops_per_row

    ours = [sys.executable, str(ROOT / "benchmarks" / "plan_speed.py"), "--json", "--reps", str(args.reps),
            "--threads", str(args.threads)]
    theirs = [peer_python(args), str(HERE / "mbrl_lib_bench.py"), "--threads", str(args.threads), "plan",
              "--reps", str(args.reps)]
    rounds = interleaved(ours, theirs, args.rounds)
    s = rounds[0]["mbrl_lib"]["settings"]
    expected = {"population": 350, "iterations": 5, "horizon": 15, "particles": 20, "ensemble": 7, "elites": 5,
                "hidden": 200, "layers": 4, "propagation": "random_model", "obs_dim": 4, "act_dim": 1}
    if s != expected:
        raise SystemExit(f"mbrl-lib's cart-pole settings {s} differ from plan_speed.py's defaults {expected}.")
    rows = s["iterations"] * s["population"] * s["particles"] * s["horizon"]
    gflop = rows * flops_per_row(s["obs_dim"] + s["act_dim"], s["hidden"], s["layers"], s["obs_dim"]) / 1e9
    per_round = []
    for r in rounds:
        ours_ms, theirs_ms, peak = r["ours"]["ms_per_call"], r["mbrl_lib"]["ms_per_call"], r["ours"]["matmul_peak_gflops"]
        ours_cpu, theirs_cpu = r["ours"]["cpu_ms_per_call"], r["mbrl_lib"]["cpu_ms_per_call"]
        per_round.append({"ours_ms": ours_ms, "mbrl_lib_ms": theirs_ms, "ratio": theirs_ms / ours_ms,
                          "ours_cpu_ms": ours_cpu, "mbrl_lib_cpu_ms": theirs_cpu, "cpu_ratio": theirs_cpu / ours_cpu,
                          "matmul_peak_gflops": peak,
                          "ours_fraction_of_peak": gflop / (ours_ms / 1e3) / peak,
                          "mbrl_lib_fraction_of_peak": gflop / (theirs_ms / 1e3) / peak})
    return {"benchmark": "plan_call", "settings": s, "gflop_per_call": gflop, "reps_per_round": args.reps,
            **medians(per_round), "rounds": per_round}


def mbpo_step(args) -> dict:
    shared = []
    for name in ("steps", "warmup", "real_steps", "fit_epochs", "ensemble", "elites", "rollouts_per_step",
                 "model_train_freq", "rollout_length", "updates_per_step", "batch_size", "sac_hidden",
                 "target_entropy", "real_ratio"):
        shared += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    ours = [sys.executable, str(ROOT / "benchmarks" / "mbpo_step.py"), "--threads", str(args.threads),
            "--task", "Hopper-v5", *shared]
    theirs = [peer_python(args), str(HERE / "mbrl_lib_bench.py"), "--threads", str(args.threads), "mbpo-step", *shared]
    rounds = interleaved(ours, theirs, args.rounds)
    per_round = []
    for r in rounds:
        o, t = r["ours"], r["mbrl_lib"]
        per_round.append({"ours_ms": o["ms_per_env_step"], "mbrl_lib_ms": t["ms_per_env_step"],
                          "ratio": t["ms_per_env_step"] / o["ms_per_env_step"],
                          "ours_cpu_ms": o["cpu_ms_per_env_step"], "mbrl_lib_cpu_ms": t["cpu_ms_per_env_step"],
                          "cpu_ratio": t["cpu_ms_per_env_step"] / o["cpu_ms_per_env_step"],
                          "ours_parts_ms": parts(o), "mbrl_lib_parts_ms": parts(t),
                          "ours_fit_s": o["fit_s"], "mbrl_lib_fit_s": t["fit_s"]})
    return {"benchmark": "mbpo_env_step", "task": "Hopper-v5 (mbrl-lib: Hopper-v4, its gymnasium 0.26)",
            "settings": rounds[0]["ours"]["settings"], "mbrl_lib_settings": rounds[0]["mbrl_lib"]["settings"],
            "fit_epochs": args.fit_epochs, **medians(per_round),
            "target_ratio": 2.0, "rounds": per_round}


def parts(result: dict) -> dict:
    """Wall-clock milliseconds per env step by part (CPU milliseconds under ``cpu_``)."""
    return {"env_policy_and_updates": result["ms_env_policy_and_updates"],
            "rollouts": result["ms_rollouts_per_env_step"], "fit_apart": result["ms_fit_per_env_step"],
            "cpu_env_policy_and_updates": result["cpu_ms_env_policy_and_updates"],
            "cpu_rollouts": result["cpu_ms_rollouts_per_env_step"]}


def medians(per_round: list[dict]) -> dict:
    """Medians over rounds of the per-round numbers (the ratio is the median of the rounds' ratios)."""
    keys = [k for k, v in per_round[0].items() if isinstance(v, float)]
    return {k: statistics.median(r[k] for r in per_round) for k in keys}


def pets_cartpole(args) -> dict:
    theirs = run_json([peer_python(args), str(HERE / "mbrl_lib_bench.py"), "--threads", str(args.threads),
                       "--seed", str(args.seed), "pets-cartpole", "--target", str(args.target),
                       "--max-minutes", str(args.max_minutes)])
    ours = run_json([sys.executable, str(ROOT / "benchmarks" / "time_to_solve.py"), "--seeds", str(args.seed),
                     "--target", str(args.target), "--threads", str(args.threads)])
    ours_minutes = ours["seeds"][0]["minutes"]
    return {"benchmark": "pets_cartpole_time_to_solve", "target": args.target, "seed": args.seed,
            "ours_minutes": ours_minutes, "mbrl_lib_minutes": theirs["minutes"],
            "ratio": theirs["minutes"] / ours_minutes if theirs["minutes"] and ours_minutes else None,
            "ours": ours, "mbrl_lib": theirs}


NAMES = {"plan": "plan_call_vs_mbrl_lib", "mbpo-step": "mbpo_step_vs_mbrl_lib",
         "pets-cartpole": "pets_cartpole_vs_mbrl_lib"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-python", default=str(HERE / ".venv" / "bin" / "python"))
    parser.add_argument("--out-dir", default=str(ROOT / "results" / "benchmarks"),
                        help="where <name>.jsonl is appended to")
    parser.add_argument("--no-save", action="store_true", help="print the JSON line only")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="one PETS planning call at mbrl-lib's cart-pole defaults")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=5, help="timed calls per side and round (median)")
    p.add_argument("--threads", type=int, default=2)
    m = sub.add_parser("mbpo-step", help="MBPO's env step on Hopper")
    m.add_argument("--rounds", type=int, default=2)
    m.add_argument("--threads", type=int, default=1)
    add_mbpo_arguments(m)
    c = sub.add_parser("pets-cartpole", help="PETS time to solve cart-pole balance (mbrl-lib's run, then ours)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--target", type=float, default=190.0)
    c.add_argument("--max-minutes", type=float, default=25.0, help="stop mbrl-lib's run after this long")
    c.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    run = {"plan": plan, "mbpo-step": mbpo_step, "pets-cartpole": pets_cartpole}[args.command]
    start = machine(args.threads)
    result = run(args)
    line = json.dumps({**result, "machine": {**start, "load_avg_1min_end": os.getloadavg()[0]},
                       "command": "python benchmarks/peers/compare.py " + " ".join(sys.argv[1:])})
    print(line)
    if not args.no_save:
        out = Path(args.out_dir) / f"{NAMES[args.command]}.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
