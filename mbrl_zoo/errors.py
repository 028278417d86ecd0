"""Errors the user can cause and fix.

Every error raised because of bad input (an unknown name, a bad config key or value, an
incompatible pairing, an env id gymnasium does not know, a student's model returning the wrong
shape) is a :class:`UserError`. The CLI prints its message as one paragraph on stderr and exits
with code 2; library callers catch it like any ``ValueError``.
"""

from __future__ import annotations

import difflib
import inspect
import traceback
from collections.abc import Iterable
from pathlib import Path


class UserError(ValueError):
    """Bad input: the message names the value, what was expected and the valid choices."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UserError:
    """Build the error for an unknown ``name`` of ``kind``, listing valid names and the closest one."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    choices = ", ".join(valid) if valid else "(none registered)"
    return UserError(f"unknown {kind} {name!r}.{hint} Valid {kind} names: {choices}.")


def source_file(obj: object) -> Path | None:
    """The file that defines class or function ``obj`` (None for built-ins and objects without one)."""
    try:
        found = inspect.getsourcefile(obj if inspect.isclass(obj) or inspect.isroutine(obj) else type(obj))
    except TypeError:
        return None
    return Path(found) if found else None


def located(exc: BaseException, path: str | Path | None = None) -> str:
    """``file, line N: Type: message`` of ``exc``: at the deepest frame inside ``path`` when the
    traceback passes through it (a plug-in's own line rather than the library's), else at the
    deepest frame; a SyntaxError at the line it names."""
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}, line {exc.lineno}: SyntaxError: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    target = Path(path).resolve() if path is not None else None
    inside = [f for f in frames if target is not None and Path(f.filename).resolve() == target]
    frame = (inside or frames or [None])[-1]
    where = f"{frame.filename}, line {frame.lineno}: " if frame is not None else ""
    return f"{where}{type(exc).__name__}: {exc}"
