"""Neutral records the steps share: what could not be read, and what a
command reports besides findings."""
from __future__ import annotations

from typing import NamedTuple


class FileError(NamedTuple):
    path: str
    message: str


class Note(NamedTuple):
    """Something a command did or noticed that is not a finding (a pin)."""

    path: str
    line: int
    column: int
    message: str
