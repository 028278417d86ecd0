"""Errors the user can cause and fix.

Every error raised because of bad input (an unknown name, a bad config key or value, an
incompatible pairing, an env id gymnasium does not know, a student's model returning the wrong
shape) is a :class:`UserError`. The CLI prints its message as one paragraph on stderr and exits
with code 2; library callers catch it like any ``ValueError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(ValueError):
    """Bad input: the message names the value, what was expected and the valid choices."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UserError:
    """Build the error for an unknown ``name`` of ``kind``, listing valid names and the closest one."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    choices = ", ".join(valid) if valid else "(none registered)"
    return UserError(f"unknown {kind} {name!r}.{hint} Valid {kind} names: {choices}.")
