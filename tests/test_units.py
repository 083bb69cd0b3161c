"""The small pure pieces, one table each: Compose interpolation and .env,
BuildKit's shell patterns and lexer errors, printable text, bounded reads,
span splicing and refused writes."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from digestpin_hooks.read.dockerfile.parser import GO_BLANK
from digestpin_hooks.read.dockerfile.parser import GO_SPACE
from digestpin_hooks.read.dockerfile.shell import expand
from digestpin_hooks.read.dockerfile.shell import ExpansionError
from digestpin_hooks.read.dockerfile.shell import ShellError
from digestpin_hooks.read.dockerfile.shell import Var
from digestpin_hooks.read.dockerfile.patterns import replace
from digestpin_hooks.read.dockerfile.patterns import segments
from digestpin_hooks.read.dockerfile.patterns import trim_prefix
from digestpin_hooks.read.dockerfile.patterns import trim_suffix
from digestpin_hooks.read.variables import interpolate
from digestpin_hooks.read.variables import InterpolationError
from digestpin_hooks.read.variables import read_dotenv
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.bounded import ReadError
from digestpin_hooks.edit import apply_edits
from digestpin_hooks.edit import Edit
from digestpin_hooks.edit import rewrite_file
from digestpin_hooks.edit import unified_diff
from digestpin_hooks.edit import WriteRefused
from digestpin_hooks.text import printable
from digestpin_hooks.text import printable_lines
from digestpin_hooks.text import valid_unicode


@pytest.mark.parametrize(('text', 'expected'), (
    ('A=1', {'A': '1'}),
    ('export A=1', {'A': '1'}),
    ('  A = spaced  ', {'A': 'spaced'}),
    ('A="quoted # not a comment"', {'A': 'quoted # not a comment'}),
    ('A="line\\nbreak \\"q\\""', {'A': 'line\nbreak "q"'}),
    ("A='single $X'", {'A': 'single $X'}),
    ('A="unclosed', {'A': 'unclosed'}),
    ('A=value # comment', {'A': 'value'}),
    ('A=va#lue', {'A': 'va#lue'}),
    ('# comment\n\nnot a line\n1A=x\nB=2', {'B': '2'}),
    ('exportA=1', {'exportA': '1'}),
))
def test_dotenv(text: str, expected: dict[str, str]) -> None:
    assert read_dotenv(text) == expected


ENV = {'SET': 'v', 'EMPTY': ''}


@pytest.mark.parametrize(('text', 'value', 'unresolved'), (
    ('$$SET', '$SET', ()),
    ('${SET}', 'v', ()),
    ('$SET-$UNSET', 'v-', ('UNSET',)),
    ('${UNSET:-d}', 'd', ()),
    ('${EMPTY:-d}', 'd', ()),
    ('${EMPTY-d}', '', ()),
    ('${SET:+alt}', 'alt', ()),
    ('${EMPTY:+alt}', '', ()),
    ('${EMPTY+alt}', 'alt', ()),
    ('${UNSET+alt}', '', ()),
    ('${SET:?must}', 'v', ()),
    ('${UNSET?must}', '', ('UNSET',)),
    ('${EMPTY:?must}', '', ('EMPTY',)),
    ('${UNSET:-${SET}}', 'v', ()),
    ('${1bad}', '', ('${1bad}',)),
    ('${SET!x}', '', ('SET',)),
    ('a$', 'a$', ()),
))
def test_interpolation(text: str, value: str, unresolved: tuple[str, ...]) -> None:
    result = interpolate(text, ENV)
    assert (result.value, result.unresolved) == (value, unresolved)


def test_interpolation_nesting_is_bounded() -> None:
    with pytest.raises(InterpolationError, match='nested more than 64 deep'):
        interpolate('${A:-' * 65 + 'x' + '}' * 65, {})


def test_a_whole_default_is_where_the_value_stands() -> None:
    assert interpolate('${IMG:-nginx:1}', {}).span == (7, 14)
    assert interpolate('${IMG:-nginx:1}', {'IMG': 'x'}).span is None


@pytest.mark.parametrize(('value', 'pattern', 'shortest', 'longest'), (
    ('a/b/c', '*/', 'b/c', 'c'),
    ('a/b/c', 'x', 'a/b/c', 'a/b/c'),
    ('a*b', 'a\\*', 'b', 'b'),
    ('a?b', 'a\\?', 'b', 'b'),
    ('a\\b', 'a\\\\', 'b', 'b'),
    ('}x', '\\}', 'x', 'x'),
    ('abc', '?', 'bc', 'bc'),
    ('', '*', '', ''),
))
def test_prefix_patterns(value: str, pattern: str, shortest: str, longest: str) -> None:
    assert trim_prefix(value, pattern, longest=False) == shortest
    assert trim_prefix(value, pattern, longest=True) == longest


def test_suffix_patterns() -> None:
    assert trim_suffix('x:1-a-b', '-*', longest=False) == 'x:1-a'
    assert trim_suffix('x:1-a-b', '-*', longest=True) == 'x:1'
    assert trim_suffix('a*', '\\*', longest=False) == 'a'


def test_replacements() -> None:
    assert replace('a-b-c', '-', '_', every=False) == 'a_b-c'
    assert replace('a-b-c', '-', '_', every=True) == 'a_b_c'
    assert replace('abc', '', '-', every=True) == '-a-b-c-'
    assert replace('abab', 'b*', '[$0]', every=True) == 'a[bab]'
    assert replace('aXa', 'X', '$$', every=True) == 'a$a'
    assert replace('abc', 'z', 'y', every=False) == 'abc'


def test_an_escape_buildkit_refuses() -> None:
    with pytest.raises(ValueError, match="invalid escape '\\\\x'"):
        segments('a\\x')


def word(text: str, env: dict[str, str] | None = None) -> str:
    variables = {name: Var(value, None, 0) for name, value in (env or {}).items()}
    return expand(text, variables, lambda start, end: None).value


@pytest.mark.parametrize(('text', 'message'), (
    ('${', "syntax error: missing '}'"),
    ('${}', 'syntax error: bad substitution'),
    ('${:x}', 'syntax error: bad substitution'),
    ('${V:-x', "syntax error: missing '}'"),
    ('${V/x', "syntax error: missing '/' in ${}"),
    ('${V/x/y', "syntax error: missing '}'"),
    ('${V#a\\x}', "invalid pattern (a\\x) in substitution: invalid escape '\\x'"),
    ('${V!x}', 'unsupported modifier (!) in substitution'),
    ("'open", 'unexpected end of statement while looking for matching single-quote'),
    ('"open', 'unexpected end of statement while looking for matching double-quote'),
))
def test_what_the_lexer_refuses(text: str, message: str) -> None:
    with pytest.raises(ShellError) as refused:
        word(text, {'V': 'a'})
    assert str(refused.value).endswith(message)


@pytest.mark.parametrize(('text', 'value'), (
    ('"a\\"b\\$c\\\\d\\e"', 'a"b$c\\d\\e'),
    ("'$V'", '$V'),
    ('a\\ b', 'a b'),
    ('${V:?}', 'a'),
    ('${V##a}', ''),
    ('${V%%a}', ''),
    ('${V//a/b}', 'b'),
    ('$V$1$@x', 'ax'),
))
def test_the_lexer(text: str, value: str) -> None:
    assert word(text, {'V': 'a'}) == value


def test_a_word_is_bounded() -> None:
    big = {'B': 'x' * 200_000}
    with pytest.raises(ExpansionError, match='more than 262144 characters'):
        word('$B$B', big)


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


def test_go_blank_is_go_space_but_the_newline() -> None:
    blank = re.compile(GO_BLANK)
    matched = {chr(c) for c in range(0x110000) if blank.match(chr(c))}
    assert matched == set(GO_SPACE) - {'\n'}


def test_bounded_reads(tmp_path: Path) -> None:
    path = tmp_path / 'f'
    path.write_bytes(b'x' * 10)
    assert read_regular(str(path), 10).data == b'x' * 10
    with pytest.raises(ReadError, match='larger than the limit of 9 bytes'):
        read_regular(str(path), 9)
    with pytest.raises(IsADirectoryError):
        read_regular(str(tmp_path), 10)
    with pytest.raises(ReadError, match='cannot read: No such file'):
        read_regular(str(tmp_path / 'none'), 10)
    link = tmp_path / 'link'
    link.symlink_to(path)
    with pytest.raises(ReadError, match='is a symbolic link'):
        read_regular(str(link), 10, follow=False)
    assert read_regular(str(link), 10).data == b'x' * 10


def test_splicing_spans() -> None:
    assert apply_edits('FROM a:1\nFROM b:2\n', [Edit(5, 8, 'a:1@d'), Edit(14, 17, 'b:2@e')]) == (
        'FROM a:1@d\nFROM b:2@e\n'
    )
    assert apply_edits('abc', [Edit(1, 2, 'X'), Edit(1, 2, 'X')]) == 'aXc'
    with pytest.raises(ValueError, match='overlapping edits at 0'):
        apply_edits('abcdef', [Edit(0, 3, 'x'), Edit(2, 4, 'y')])


def test_a_diff_without_a_final_newline_and_on_a_dry_run(tmp_path: Path) -> None:
    assert unified_diff('D', 'FROM a:1', 'FROM a:2') == (
        '--- a/D\n+++ b/D\n@@ -1 +1 @@\n-FROM a:1\n\\ No newline at end of file\n'
        '+FROM a:2\n\\ No newline at end of file\n'
    )
    assert unified_diff('D', 'a\fb\n', 'a\fc\n') == (
        '--- a/D\n+++ b/D\n@@ -1 +1 @@\n-a\fb\n+a\fc\n'
    )
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    import io
    out = io.StringIO()
    assert rewrite_file(
        str(path), b'FROM a:1\n', b'FROM a:2\n', dry_run=True,
        old_text='FROM a:1\n', new_text='FROM a:2\n', stdout=out,
    )
    assert path.read_bytes() == b'FROM a:1\n'
    assert out.getvalue().endswith('-FROM a:1\n+FROM a:2\n')
    assert not rewrite_file(
        str(path), b'FROM a:1\n', b'FROM a:1\n', dry_run=False,
        old_text='', new_text='', stdout=out,
    )


def test_a_file_gone_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    os.unlink(path)
    path.mkdir()
    with pytest.raises(WriteRefused, match='changed since it was read'):
        rewrite_file(
            str(path), b'FROM a:1\n', b'FROM a:2\n', dry_run=False,
            old_text='', new_text='', stdout=None,  # type: ignore[arg-type]
        )
