"""Every committed reference run still resolves to the settings it ran with: each key of its
``config.json`` (renamed keys under their names of today) has the same value in the config that
this version resolves from it, so that ``--resume`` and ``mbrl-zoo compare`` read them alike."""

import json
from pathlib import Path

import pytest

import mbrl_zoo.app  # noqa: F401  (registers every component)
from mbrl_zoo.config import from_dict, upgrade
from mbrl_zoo.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "results").rglob("config.json"))


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def test_there_are_reference_runs():
    assert len(CONFIGS) > 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "results")))
def test_a_reference_run_resolves_to_its_own_settings(path):
    saved = upgrade(json.loads(path.read_text()))
    resolved = from_dict(saved).to_dict()
    for section, values in saved.items():
        if not isinstance(values, dict):
            assert resolved[section] == values
            continue
        for key, value in values.items():
            assert _plain(resolved[section][key]) == _plain(value), f"{section}.{key}"


def test_old_key_names_are_refused_with_their_new_name():
    with pytest.raises(UserError, match="algorithm.model_train_freq is now called algorithm.refit_every"):
        mbrl_zoo.app.train("mbpo", "Hopper-v5", overrides={"algorithm": {"model_train_freq": 100}})
    with pytest.raises(UserError, match="algorithm.gamma is now called algorithm.discount"):
        mbrl_zoo.app.train("sac", "Pendulum-v1", overrides={"algorithm": {"gamma": 0.9}})
    with pytest.raises(UserError, match="checkpoint_every is no longer a setting"):
        mbrl_zoo.app.train("sac", "Pendulum-v1", overrides={"algorithm": {"checkpoint_every": 9}})
