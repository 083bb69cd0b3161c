"""File bytes <-> text that keeps every byte, and positions within it."""
from __future__ import annotations

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


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column in characters) of an offset; a BOM is not in
    ``text``, so it is not counted."""
    line_start = text.rfind('\n', 0, offset) + 1
    return text.count('\n', 0, offset) + 1, offset - line_start + 1


def line_above(text: str, offset: int) -> str:
    """The line before the one holding ``offset`` ('' on the first line)."""
    line_start = text.rfind('\n', 0, offset) + 1
    if line_start == 0:
        return ''
    return text[text.rfind('\n', 0, line_start - 1) + 1:line_start - 1]
