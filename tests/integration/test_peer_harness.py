"""The peer benchmarks' shared pieces: MBPO's step order and its per-env-step arithmetic, the
medians of interleaved rounds, and our side of the MBPO step run end to end at toy size."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from compare import medians  # noqa: E402
from mbpo_settings import add_arguments, timed_window  # noqa: E402


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_timed_window_runs_env_step_rollouts_then_updates_and_spreads_a_batch_over_its_steps():
    calls = []
    args = _args("--warmup", "2", "--steps", "4", "--model-train-freq", "3")
    out = timed_window(lambda: calls.append("env"), lambda: calls.append("rollouts"), lambda: calls.append("updates"),
                       args, fit_seconds=0.6)
    warmup = ["env", "rollouts", "updates", "env", "updates"]
    timed = ["env", "rollouts", "updates", "env", "updates", "env", "updates", "env", "rollouts", "updates"]
    assert calls == warmup + timed
    for prefix in ("", "cpu_"):
        assert out[f"{prefix}ms_per_env_step"] == pytest.approx(
            out[f"{prefix}ms_env_policy_and_updates"] + out[f"{prefix}ms_rollouts_per_env_step"])
        assert out[f"{prefix}ms_rollouts_per_env_step"] == pytest.approx(out[f"{prefix}rollout_batch_s"] / 3 * 1e3)
    assert out["ms_fit_per_env_step"] == pytest.approx(200.0) and out["steps"] == 4


def test_medians_take_each_float_field_over_rounds():
    rounds = [{"ratio": 1.0, "ours_ms": 3.0, "parts": {}}, {"ratio": 3.0, "ours_ms": 1.0, "parts": {}},
              {"ratio": 2.0, "ours_ms": 2.0, "parts": {}}]
    assert medians(rounds) == {"ratio": 2.0, "ours_ms": 2.0}


def test_our_mbpo_step_benchmark_prints_its_timing_and_settings():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "mbpo_step.py"), "--task", "InvertedPendulum-v5", "--steps", "3",
         "--warmup", "1", "--real-steps", "300", "--fit-epochs", "1", "--ensemble", "3", "--elites", "2",
         "--rollouts-per-step", "2", "--model-train-freq", "2", "--updates-per-step", "2", "--batch-size", "16",
         "--sac-hidden", "16"], capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["settings"]["updates_per_step"] == 2 and result["settings"]["ensemble"] == 3
    assert result["steps"] == 3 and result["threads"] == 1
    assert 0 < result["ms_rollouts_per_env_step"] < result["ms_per_env_step"]
    assert result["ms_per_env_step"] == pytest.approx(result["ms_env_policy_and_updates"]
                                                      + result["ms_rollouts_per_env_step"])
