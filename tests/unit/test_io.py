import json

import pytest

from mbrl_zoo.io import atomic_write, atomic_write_json


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "a" / "metrics.json"
    atomic_write_json(path, {"x": 1})
    atomic_write_json(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "config.json"
    atomic_write_json(path, {"keep": True})

    def explode(f):
        f.write(b"{\"half\": ")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(path, explode)
    assert json.loads(path.read_text()) == {"keep": True}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
