"""Shell patterns (``*``, ``?``, ``[...]``) matched against the ends of a value.

``${X#pattern}`` removes the shortest prefix of X that the pattern matches,
``${X%pattern}`` the shortest suffix.  Trying every prefix with fnmatch
costs the square of the value's length; here the pattern is an automaton
whose set of live states is one Python integer (a bit per pattern piece), so
one pass over the value finds every prefix length that matches.
"""
from __future__ import annotations

from digestpin_hooks._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Callable

    # None: ``*``; a _Literal: that character; else a character predicate
    Piece = Callable[[str], bool] | str | None

STAR = None


def _bracket(pattern: str, i: int) -> tuple[Callable[[str], bool], int] | None:
    """The ``[...]`` class starting at ``pattern[i]``, as fnmatch reads it,
    and where it ends; None when it is not closed (then ``[`` is literal)."""
    j = i + 1
    negate = pattern[j:j + 1] == '!'
    if negate:
        j += 1
    start = j
    if pattern[j:j + 1] == ']':
        j += 1
    close = pattern.find(']', j)
    if close < 0:
        return None
    body = pattern[start:close]
    ranges: list[tuple[str, str]] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == '-':
            ranges.append((body[k], body[k + 2]))
            k += 3
        else:
            ranges.append((body[k], body[k]))
            k += 1

    def matches(ch: str) -> bool:
        inside = any(low <= ch <= high for low, high in ranges)
        return inside != negate
    return matches, close + 1


class _Literal(str):
    """A piece that matches one given character."""


def _any(ch: str) -> bool:
    return True


def pieces(pattern: str) -> list[Piece]:
    """The pattern as pieces: one a character, STAR for each run of ``*``."""
    found: list[Piece] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == '*':
            if not found or found[-1] is not STAR:
                found.append(STAR)
            i += 1
        elif ch == '?':
            found.append(_any)
            i += 1
        elif ch == '[' and (bracket := _bracket(pattern, i)) is not None:
            found.append(bracket[0])
            i = bracket[1]
        else:
            found.append(_Literal(ch))
            i += 1
    return found


def matching_prefixes(value: str, pattern_pieces: list[Piece]) -> list[int]:
    """Every length k such that the pattern matches ``value[:k]`` whole."""
    size = len(pattern_pieces)
    stars = 0
    anything = 0  # pieces that match every character
    literal_masks: dict[str, int] = {}
    classes: list[tuple[int, Callable[[str], bool]]] = []
    for k, piece in enumerate(pattern_pieces):
        if piece is STAR:
            stars |= 1 << k
        elif isinstance(piece, str):
            literal_masks[piece] = literal_masks.get(piece, 0) | 1 << k
        elif piece is _any:
            anything |= 1 << k
        else:
            classes.append((k, piece))
    accept = 1 << size
    masks: dict[str, int] = {}

    def closure(states: int) -> int:
        # a star may match nothing: its state also stands at the next piece
        # (runs of stars are one piece, so one step is enough)
        return states | ((states & stars) << 1)

    states = closure(1)
    lengths = [0] if states & accept else []
    for index, ch in enumerate(value):
        mask = masks.get(ch)
        if mask is None:
            mask = anything | literal_masks.get(ch, 0)
            for k, predicate in classes:
                if predicate(ch):
                    mask |= 1 << k
            masks[ch] = mask
        states = closure(((states & mask) << 1) | (states & stars))
        if not states:
            break
        if states & accept:
            lengths.append(index + 1)
    return lengths


def remove_shortest_prefix(value: str, pattern: str) -> str:
    lengths = matching_prefixes(value, pieces(pattern))
    return value[lengths[0]:] if lengths else value


def remove_shortest_suffix(value: str, pattern: str) -> str:
    reversed_pieces = list(reversed(pieces(pattern)))
    lengths = matching_prefixes(value[::-1], reversed_pieces)
    return value[:len(value) - lengths[0]] if lengths else value
