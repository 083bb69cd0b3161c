"""Helpers for reading what a command printed."""
from __future__ import annotations


def without_summary(err: str) -> str:
    """stderr without the summary line a text report ends with, for tests
    about the lines before it."""
    lines = err.splitlines(keepends=True)
    if lines and lines[-1].startswith('summary: '):
        lines.pop()
    return ''.join(lines)
