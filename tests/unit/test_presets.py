"""Per-task presets of the registered pairings: each resolves on its task to exactly the values it
names, and a preset that cites a committed run reproduces that run's settings."""

import dataclasses
import json
from pathlib import Path

import pytest

import algorithms  # noqa: F401  (registers the algorithms and their pairings)
from mbrl_zoo.config import resolve
from mbrl_zoo.registry import PAIRINGS

RESULTS = Path(__file__).resolve().parents[2] / "results"
PRESETS = [(name, task) for name in PAIRINGS.names() for task in PAIRINGS.get(name).obj.task_settings]


def test_there_are_presets_to_check():
    assert ("pets", "InvertedPendulum-v5") in PRESETS and ("mbpo", "Hopper-v5") in PRESETS


@pytest.mark.parametrize("pairing,task", PRESETS)
def test_each_preset_resolves_to_the_values_it_names(pairing, task):
    config = resolve(pairing, {"run": {"task": task}})
    for section, values in PAIRINGS.get(pairing).obj.task_settings[task].items():
        resolved = dataclasses.asdict(getattr(config, section))
        for key, value in values.items():
            same = tuple(resolved[key]) == tuple(value) if isinstance(value, (list, tuple)) else resolved[key] == value
            assert same, (section, key, resolved[key], value)


def test_the_inverted_pendulum_pets_preset_is_the_committed_run():
    """results/pets/InvertedPendulum-v5/seed0-cem200x5 was run with explicit --set values; the
    preset must give the same settings, so that `mbrl-zoo run pets --task InvertedPendulum-v5`
    repeats it."""
    committed = json.loads((RESULTS / "pets" / "InvertedPendulum-v5" / "seed0-cem200x5" / "config.json").read_text())
    preset = resolve("pets", {"run": {"task": "InvertedPendulum-v5", "steps": committed["run"]["steps"]}}).to_dict()
    preset = json.loads(json.dumps(preset))  # tuples as JSON lists
    # Settings added since the run (e.g. the gamma-model value's) keep their defaults; every
    # setting the run names must match.
    assert {section: {key: preset[section][key] for key in values} if isinstance(values, dict) else preset[section]
            for section, values in committed.items()} == committed
