"""BuildKit's shell patterns: ``${V#p}``, ``${V##p}``, ``${V%p}``, ``${V%%p}``,
``${V/p/r}`` and ``${V//p/r}``.

BuildKit (since v0.13) turns the pattern into a Go regular expression: ``*``
is ``.*?`` (shortest) or ``.*`` (longest), ``?`` is ``.``, a backslash
escapes ``*``, ``?`` and itself, and everything else, brackets included, is
literal.  Such a pattern is a row of fixed-width segments with stars between
them, so the match a backtracking engine would find first can be found
segment by segment: each segment at its earliest occurrence, and for the
longest match the last one at its latest.  Every search is of one
fixed-width segment, so no input makes this backtrack: a hostile
``${X##*a*a*a*a*c}`` costs as much as a plain one.
"""
from __future__ import annotations

import functools
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    Segment = re.Pattern[str]

_ANY = object()  # ``?``: one character other than a newline, like Go's ``.``


def segments(pattern: str) -> list[tuple[Segment, int]]:
    """(search pattern, width) of each run between stars, in order.

    Raises ValueError for an escape BuildKit refuses.
    """
    runs: list[list[object]] = [[]]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == '*':
            runs.append([])
        elif ch == '?':
            runs[-1].append(_ANY)
        elif ch == '\\':
            following = pattern[i:i + 1]
            if following in ('}', '/'):
                continue  # escaped for ${}, not part of the pattern
            if following not in ('*', '?', '\\'):
                raise ValueError(f"invalid escape '\\{following or chr(0xfffd)}'")
            runs[-1].append(following)
            i += 1
        else:
            runs[-1].append(ch)
    return [
        (re.compile(''.join('.' if c is _ANY else re.escape(str(c)) for c in run)), len(run))
        for run in runs
    ]


def _earliest(segment: tuple[Segment, int], text: str, start: int) -> int:
    """Where the segment first matches at or after ``start``; -1 if nowhere."""
    m = segment[0].search(text, start)
    return -1 if m is None else m.start()


def _latest(
        segment: tuple[Segment, int], text: str, start: int, backwards: str,
) -> int:
    """Where the segment last matches at or after ``start``; -1 if nowhere.

    The reversed segment's first match in ``backwards`` (the text reversed)
    is the last one.
    """
    pattern, width = segment
    if width == 0:
        return len(text)
    m = _reversed(pattern).search(backwards)
    if m is None:
        return -1
    found = len(text) - m.start() - width
    return found if found >= start else -1


def _reversed(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern of a segment read backwards (escapes stay whole)."""
    return _reversed_text(pattern.pattern)


# bounded: the patterns are a file's own, and a cache of every one a run
# met kept about 400 bytes of each to the run's end (a 16 MiB Dockerfile
# has room for 800,000 of them)
@functools.lru_cache(maxsize=256)
def _reversed_text(text: str) -> re.Pattern[str]:
    return re.compile(''.join(reversed(re.findall(r'\\.|.', text, re.S))))


def _match(
        segs: list[tuple[Segment, int]], text: str, start: int, *,
        longest: bool, backwards: str = '',
) -> tuple[int, int] | None:
    """The match starting at ``start`` (the first segment must be there):
    (start, end), or None."""
    first = segs[0]
    if first[0].match(text, start) is None:
        return None
    position = start + first[1]
    if len(segs) == 1:
        return start, position
    for segment in segs[1:-1]:
        found = _earliest(segment, text, position)
        if found < 0:
            return None
        position = found + segment[1]
    last = segs[-1]
    if longest:
        found = _latest(last, text, position, backwards or text[::-1])
    else:
        found = _earliest(last, text, position)
    if found < 0:
        return None
    return start, found + last[1]


def trim_prefix(value: str, pattern: str, *, longest: bool) -> str:
    """``${V#pattern}`` (shortest) or ``${V##pattern}`` (longest)."""
    matched = _match(segments(pattern), value, 0, longest=longest)
    return value if matched is None else value[matched[1]:]


def trim_suffix(value: str, pattern: str, *, longest: bool) -> str:
    """``${V%pattern}``: BuildKit reverses the value and the pattern."""
    reversed_pattern = ''.join(reversed(re.findall(r'\\.|.', pattern, re.S)))
    return trim_prefix(value[::-1], reversed_pattern, longest=longest)[::-1]


def _find(
        segs: list[tuple[Segment, int]], text: str, start: int, backwards: str,
) -> tuple[int, int] | None:
    """Go's leftmost-first match of the greedy pattern at or after
    ``start``: the leftmost start whose rest can match, then the longest."""
    first = _earliest(segs[0], text, start)
    if first < 0:
        return None
    # a later start leaves the rest less room: this one or none
    return _match(segs, text, first, longest=True, backwards=backwards)


def _expand_template(replacement: str, matched: str) -> str:
    """Go's Regexp.Expand of a ReplaceAllString template: ``$$`` is ``$``,
    ``$0`` the match, other ``$name`` (no groups here) empty."""
    def one(m: re.Match[str]) -> str:
        if m.group() == '$$':
            return '$'
        name = m.group(1) or m.group(2)
        if name is None:
            return m.group()
        return matched if name == '0' else ''
    return re.sub(r'\$\$|\$\{(\w+)\}|\$(\w+)|\$', one, replacement)


def replace(value: str, pattern: str, replacement: str, *, every: bool) -> str:
    """``${V/pattern/replacement}``, or every match with ``//``."""
    segs = segments(pattern)
    backwards = value[::-1]
    if not every:
        found = _find(segs, value, 0, backwards)
        if found is None:
            return value
        return value[:found[0]] + replacement + value[found[1]:]
    # regexp.ReplaceAllString, empty matches included
    out: list[str] = []
    last_end = 0
    search = 0
    while search <= len(value):
        found = _find(segs, value, search, backwards)
        if found is None:
            break
        start, end = found
        out.append(value[last_end:start])
        if end > last_end or start == 0:
            out.append(_expand_template(replacement, value[start:end]))
        last_end = end
        search = search + 1 if end <= search else end
    out.append(value[last_end:])
    return ''.join(out)
