"""Text that is safe to print: every control, line break and byte that was not
UTF-8 escaped, nothing else."""
from __future__ import annotations

import pytest

from digestpin_hooks.text import printable
from digestpin_hooks.text import printable_lines
from digestpin_hooks.text import valid_unicode


def test_printable_text() -> None:
    assert printable('plain') == 'plain'
    assert printable('a\nb\x1b[2J\x07\x9b\u2028') == 'a\\x0ab\\x1b[2J\\x07\\x9b\\u2028'
    assert printable('caf\udce9') == 'caf\\xe9'
    # bidirectional controls: shown as written, never reordering the line
    assert printable('app\u202e1:lmth\u2066x\u2069\u200f') == 'app\\u202e1:lmth\\u2066x\\u2069\\u200f'
    assert printable_lines('a\x1b\nb\n') == 'a\\x1b\nb\n'
    assert valid_unicode('caf\udce9\x1b') == 'caf\\xe9\x1b'


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_only_controls_line_breaks_bidi_controls_and_surrogates_are_escaped() -> None:
    # printable's fast path (str.isprintable) must keep every other character
    escaped = {
        chr(c) for c in range(0x110000)
        if printable(chr(c)) != chr(c)
    }
    expected = {chr(c) for c in (
        *range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029,
        0x061c, 0x200e, 0x200f, *range(0x202a, 0x202f), *range(0x2066, 0x206a),
    )}
    assert escaped == expected | {chr(c) for c in range(0xd800, 0xe000)}
