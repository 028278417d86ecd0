import json
import os
import stat

import pytest

from mbrl_zoo.io import atomic_torch_save, atomic_write, atomic_write_json, current_umask, remove_stale_temporaries


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


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_mode_the_users_umask_gives(tmp_path, umask):
    """Not mkstemp's 0600: a colleague (or a notebook server running as another user) reads them
    as they read any file this user makes."""
    old = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "config.json", {"x": 1})
        atomic_torch_save({"x": 1}, tmp_path / "checkpoint.pt")
        (tmp_path / "plain.txt").write_text("made by open()")
    finally:
        os.umask(old)
    for name in ("config.json", "checkpoint.pt", "plain.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name
    assert current_umask() == old


def test_only_the_temporaries_of_the_named_files_are_removed(tmp_path):
    for name in (".metrics.csv.a1b2.tmp", ".checkpoint.pt.zz.tmp", ".notes.txt.a1.tmp", "metrics.csv", ".metrics.csv"):
        (tmp_path / name).write_text("x")
    removed = remove_stale_temporaries(tmp_path, ["metrics.csv", "checkpoint.pt"])
    assert sorted(p.name for p in removed) == [".checkpoint.pt.zz.tmp", ".metrics.csv.a1b2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".metrics.csv", ".notes.txt.a1.tmp", "metrics.csv"]
    assert remove_stale_temporaries(tmp_path / "missing", ["metrics.csv"]) == []
