"""Text that is safe to print: every control, line break and byte that was not
UTF-8 escaped, nothing else."""
from __future__ import annotations

from digestpin_hooks.text import printable
from digestpin_hooks.text import printable_lines
from digestpin_hooks.text import valid_unicode


def test_printable_text() -> None:
    assert printable('plain') == 'plain'
    assert printable('a\nb\x1b[2J\x07\x9b\u2028') == 'a\\x0ab\\x1b[2J\\x07\\x9b\\u2028'
    assert printable('caf\udce9') == 'caf\\xe9'
    assert printable_lines('a\x1b\nb\n') == 'a\\x1b\nb\n'
    assert valid_unicode('caf\udce9\x1b') == 'caf\\xe9\x1b'


def test_only_controls_line_breaks_and_surrogates_are_escaped() -> None:
    # printable's fast path (str.isprintable) must keep every other character
    escaped = {
        chr(c) for c in range(0x110000)
        if printable(chr(c)) != chr(c)
    }
    expected = {chr(c) for c in (*range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029)}
    assert escaped == expected | {chr(c) for c in range(0xd800, 0xe000)}
