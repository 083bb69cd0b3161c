"""BuildKit's shell lexer and its patterns (``#``, ``%``, ``/``): values,
refusals in its words, bounds; and its blanks."""
from __future__ import annotations

import json
import re

import pytest

from digestpin_hooks.read.dockerfile.parser import arg_words
from digestpin_hooks.read.dockerfile.patterns import replace
from digestpin_hooks.read.dockerfile.patterns import segments
from digestpin_hooks.read.dockerfile.patterns import trim_prefix
from digestpin_hooks.read.dockerfile.patterns import trim_suffix
from digestpin_hooks.read.dockerfile.shell import expand
from digestpin_hooks.read.dockerfile.shell import ExpansionError
from digestpin_hooks.read.dockerfile.shell import go_quote
from digestpin_hooks.read.dockerfile.shell import GO_BLANK
from digestpin_hooks.read.dockerfile.shell import GO_SPACE
from digestpin_hooks.read.dockerfile.shell import shell_words
from digestpin_hooks.read.dockerfile.shell import ShellError
from digestpin_hooks.read.dockerfile.shell import Var


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


def _kept_after_trimming(count: int) -> int:
    """Python memory still held once ``count`` distinct longest suffixes
    (the patterns read backwards) are trimmed and every result dropped."""
    import tracemalloc
    tracemalloc.start()
    try:
        for k in range(count):
            assert trim_suffix(f'x{k}-a', f'x{k}*', longest=True) == ''
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_memory_kept_by_patterns_does_not_grow_with_their_number() -> None:
    # the patterns are a file's own: a cache of each one a run met kept
    # about 400 bytes of each to the run's end, however many a file has;
    # re's own cache and ours are bounded, past them nothing more is kept
    few, many = _kept_after_trimming(1000), _kept_after_trimming(4000)
    assert many < few * 1.25, (few, many)


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


def test_go_blank_is_go_space_but_the_newline() -> None:
    blank = re.compile(GO_BLANK)
    matched = {chr(c) for c in range(0x110000) if blank.match(chr(c))}
    assert matched == set(GO_SPACE) - {'\n'}


@pytest.mark.parametrize(('line', 'words'), (
    ('a\x1cb c', ['a\x1cb', 'c']),  # \x1c is \s to Python, no blank to Go
    ('ab\u3000c\xa0d\x85e', ['ab', 'c', 'd', 'e']),
    ('a"b c"d e', ['a"b c"d', 'e']),
))
def test_words_split_at_gos_blanks_only(line: str, words: list[str]) -> None:
    assert [word for word, _, _ in arg_words(line, 0, '\\')] == words


def test_escapes_stay_raw_in_double_quotes_of_a_pattern() -> None:
    # processDoubleQuote keeps the escape when its processStopOn has
    # RawEscapes (the word of # % and /), as BuildKit's does
    assert word('${V#"\\x"}', {'V': '\\x'}) == ''
    assert word('"\\x"', {}) == '\\x'


@pytest.mark.parametrize(('text', 'raw', 'words'), (
    ('RUN <<EOF cat', True, ['RUN', '<<EOF', 'cat']),
    ('RUN << \tEOF', True, ['RUN', '<< \tEOF']),
    ('RUN <<\vEOF', True, ['RUN', '<<', 'EOF']),
    ('a"b c"d \'e f\' g\\ h', True, ['a"b c"d', "'e f'", 'g\\ h']),
    ('a"b c"d \'e f\' g\\ h', False, ['ab cd', 'e f', 'g h']),
    ('$X ${Y:-a b} ${Z/p/r}', True, ['$X', '${Y:-a', 'b}', '${Z/p/r}']),
    ("'' x", False, ['x']),
))
def test_words_as_buildkit_lexes_a_line_for_heredocs(
        text: str, raw: bool, words: list[str],
) -> None:
    assert shell_words(text, raw=raw) == words


@pytest.mark.parametrize('text', ('a "b', "a 'b", 'a ${', 'a ${}', 'a ${X:Z}'))
def test_the_lexer_refuses_these_lines(text: str) -> None:
    with pytest.raises(ShellError):
        shell_words(text, raw=True)


@pytest.mark.parametrize('text', (
    '', 'a:${v:i}', 'say "hi"', 'C:\\path', ''.join(map(chr, range(0x20))) + '\x7f',
    'é ü 漢 \u2028 \U0001f600', '\ud800 lone', '\\u0041 stays written',
))
def test_go_quote_writes_what_json_dumps_writes(text: str) -> None:
    # BuildKit's messages quote a word; the quoting lint's messages have
    # always had is json.dumps's, kept without importing json for it
    assert go_quote(text) == json.dumps(text, ensure_ascii=False)
