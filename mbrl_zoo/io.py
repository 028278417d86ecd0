"""Atomic file writes: write to a temporary file in the same folder, then rename over the target.

A reader (or a resumed run) therefore sees either the old file or the new one, never a torn one.
The file gets the permissions the user's umask gives a new file (``0666 & ~umask``, e.g. 0644),
as ``open(path, "w")`` would, not the 0600 of :func:`tempfile.mkstemp`. A write killed before
its rename leaves a hidden ``.NAME.*.tmp`` beside the target; :func:`remove_stale_temporaries`
clears them.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import torch


TEMP_SUFFIX = ".tmp"


def current_umask() -> int:
    """The process's umask (read from /proc where possible, since setting it to read it back
    briefly changes it for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _chmod(fd: int, path: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:
        os.chmod(path, mode)


def remove_stale_temporaries(folder: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes of ``names`` left in ``folder``
    (``.NAME.<random>.tmp``), and return them. Call it only where no other writer is active."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for name in names:
        for stray in folder.glob(f".{glob.escape(name)}.*{TEMP_SUFFIX}"):
            if stray.is_file():
                stray.unlink(missing_ok=True)
                removed.append(stray)
    return removed


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path`` and rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        _chmod(fd, tmp, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))
