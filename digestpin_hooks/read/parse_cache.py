"""One run's parses of Compose texts, kept so that each text is parsed
once however many readers take it (``yaml_nodes.parse_once``).

Apart from the YAML reader, so that a run that reads no YAML (a
Dockerfile's lint) opens and closes its run without importing that reader
and ``contextlib``: 0.7 ms of a one-file lint, an eighth of what the
one-file row may spend over ``python -c pass``.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import TypeVar

    T = TypeVar('T')

# the last KEPT_PARSES texts are kept, as many as the files Compose's
# includes may reach, and no more than KEPT_CHARS characters of them:
# every Compose file a run reads passes here, and 40 of 500 KB kept held
# 1.4 GB of nodes (one file's parse, up to yaml_nodes.MAX_BYTES, is held
# while it is read anyway; the parses kept are at most an eighth of that).
# A longer text is parsed each time it is asked for.
KEPT_PARSES = 150
KEPT_CHARS = 1024 * 1024
kept: dict[tuple[str, bool], Any] | None = None  # (text, later_wins) -> its parse
kept_chars = 0  # the characters of the texts kept
_open_runs = 0  # the runs (open_run) not closed yet


def open_run() -> None:
    """A run begins: until the outermost run closes, kept_parse keeps
    what it parsed."""
    global kept, kept_chars, _open_runs
    _open_runs += 1
    if kept is None:
        kept, kept_chars = {}, 0


def close_run() -> None:
    """A run ends: with the outermost, every parse kept is let go."""
    global kept, kept_chars, _open_runs
    _open_runs -= 1
    if not _open_runs:
        kept, kept_chars = None, 0


def kept_parse(key: tuple[str, bool], parse: Callable[[], T]) -> T:
    """``parse()``, or what it gave for the same ``key`` (a text and how it
    is read) earlier in the run; the least recently used let go first."""
    global kept_chars
    text = key[0]
    if kept is None or len(text) > KEPT_CHARS:
        return parse()
    found: T | None = kept.pop(key, None)
    if found is None:
        found = parse()
        kept_chars += len(text)
        while kept and (len(kept) >= KEPT_PARSES or kept_chars > KEPT_CHARS):
            oldest = next(iter(kept))  # the least recently used
            del kept[oldest]
            kept_chars -= len(oldest[0])
    kept[key] = found  # the most recent, last
    return found
