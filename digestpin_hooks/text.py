"""File bytes <-> text that keeps every byte, positions within it, and text
that is safe to print."""
from __future__ import annotations

import re

BOM = b'\xef\xbb\xbf'


def decode(data: bytes, errors: str = 'surrogateescape') -> tuple[str, bool]:
    """Bytes -> text that encodes back to the same bytes, and whether a BOM led.

    With the default ``surrogateescape`` bytes that are not UTF-8 survive as
    lone surrogates; ``strict`` raises UnicodeDecodeError on them instead.
    """
    bom = data.startswith(BOM)
    return (data[3:] if bom else data).decode('utf-8', errors), bom


def encode(text: str, bom: bool) -> bytes:
    data = text.encode('utf-8', 'surrogateescape')
    return BOM + data if bom else data


class LineIndex:
    """Offsets -> 1-based (line, column), linear however many are asked.

    The first few lookups count newlines (in C, and most files have a
    finding or two); past them the newlines are indexed once and each
    lookup is a binary search, so a file with a reference on every line
    stays linear.
    """

    COUNTED_LOOKUPS = 8

    def __init__(self, text: str) -> None:
        self.text = text
        self.lookups = 0
        self._starts: list[int] | None = None

    def starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            at = find('\n')
            while at >= 0:
                starts.append(at + 1)
                at = find('\n', at + 1)
            self._starts = starts
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        if self._starts is None and self.lookups < self.COUNTED_LOOKUPS:
            self.lookups += 1
            return position(self.text, offset)
        # imported here: most files need no index (bisect is 0.7 million
        # instructions of a one-file lint's start-up)
        from bisect import bisect_right
        starts = self.starts()
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column in characters) of an offset; a BOM is not in
    ``text``, so it is not counted.  One lookup: use LineIndex for many."""
    line_start = text.rfind('\n', 0, offset) + 1
    return text.count('\n', 0, offset) + 1, offset - line_start + 1


def line_above(text: str, offset: int) -> str:
    """The line before the one holding ``offset`` ('' on the first line)."""
    line_start = text.rfind('\n', 0, offset) + 1
    if line_start == 0:
        return ''
    return text[text.rfind('\n', 0, line_start - 1) + 1:line_start - 1]


# C0 and C1 controls, DEL, and the characters terminals or CI logs take for
# a line break; the bidirectional controls, with which a name or a
# registry's message shows its text in another order than it is (Trojan
# Source, CVE-2021-42574: 'app\u202e1:lmth' shows as 'apphtml:1'); lone
# surrogates are the bytes that were not UTF-8
# (compiled on first use, through re's cache: most text is printable)
_UNPRINTABLE = (
    '[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]'
)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    if 0xdc80 <= code <= 0xdcff:  # a byte surrogateescape kept
        return f'\\x{code - 0xdc00:02x}'
    if code <= 0xff:
        return f'\\x{code:02x}'
    return f'\\u{code:04x}'


# how many characters of a file's key path or value an error line shows
MAX_SHOWN = 200


def shortened(text: str) -> str:
    """``text`` as an error line shows a file's key path or value: one
    longer than MAX_SHOWN characters (a key or a .env value may be a
    megabyte) as its first and last half of them, ``…`` between; the
    start says where, the end which key."""
    if len(text) <= MAX_SHOWN:
        return text
    half = MAX_SHOWN // 2
    return f'{text[:half]}\u2026{text[-half:]}'


def printable(text: str) -> str:
    """One line of text that any stream and terminal can take as it is.

    Control characters (newlines, ESC, BEL, ...) and bytes that were not
    UTF-8 become backslash escapes: a file name or a daemon's message can
    neither start a line of its own nor drive the terminal.
    """
    if text.isprintable():  # no control, line break or surrogate at all
        return text
    return re.sub(_UNPRINTABLE, _escape, text)


def printable_lines(text: str) -> str:
    """Like printable, but the newlines of a multi-line text (a diff) stay."""
    return '\n'.join(printable(line) for line in text.split('\n'))


def valid_unicode(text: str) -> str:
    """Text with no lone surrogates (bytes that were not UTF-8 become
    ``\\xNN``), so that a JSON or SARIF string is valid Unicode; JSON
    escapes control characters itself."""
    return re.sub('[\ud800-\udfff]', _escape, text)
