"""BuildKit's shell lexer: variable expansion of one Dockerfile word, and
the words of a line as its parser lexes them to find heredocs.

Besides the expanded value this tracks *where the value stands in the file*
when it is one literal run of text (the word itself, the default inside
``${X:-default}``, or an ARG default reached through ``$X``): that span is
what a fix may rewrite without changing what the Dockerfile means.

One lexer serves both, with BuildKit's switches (RawQuotes, RawEscapes,
SkipUnsetEnv), so that quotes, escapes and ``${…}`` are read one way.
"""
from __future__ import annotations

import functools
import re

from digestpin_hooks.model import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Final
    from typing import Mapping

    Span = tuple[int, int]
    # relative (start, end) within the word -> file span, None when not contiguous
    Locate = Callable[[int, int], Span | None]


class Var(Record):
    """A build argument's or environment variable's value, and where it is
    written."""

    value: Final[str]
    span: Final[Span | None]  # file span of the value when it is literal text there
    line: Final[int]  # line that set it (0: not from the file)
    # where the value is written in the file, variables and all (None: not
    # from the file): the one place a value built from variables is reported
    written: Final[Span | None] = None
    # every place in the file the value was made from: an edit there changes it
    reads: Final[tuple[Span, ...]] = ()


class Expansion(Record):
    """A word after BuildKit's shell expansion, and whether it can be
    edited in place."""

    value: Final[str]
    unresolved: Final[tuple[str, ...]]  # variables used without any value
    span: Final[Span | None]  # where ``value`` stands in the file verbatim
    via: Final[str]  # the variable whose definition holds ``span``; '' otherwise
    has_variables: Final[bool]
    # where the values of the variables it looked up are written: a pin
    # written there changes this word too
    reads: Final[tuple[Span, ...]] = ()


# Go's unicode.IsSpace: BuildKit trims lines and splits words at these
GO_SPACE = (
    '\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
    '\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'
)
# GO_SPACE but the newline, as a character class: Python's \s is Go's
# unicode.IsSpace plus the four separators \x1c-\x1f, and a class by
# category compiles many times faster than one listing the characters
GO_BLANK = r'[^\S\n\x1c-\x1f]'
MAX_WORD = 256 * 1024  # characters one expanded word may reach
MAX_NESTING = 64  # ${A:-${B:-...}} levels
# places one word's variables are remembered to come from: past it they
# are one span over them all (more is then "shared", never less)
MAX_READS = 32


class ExpansionError(ValueError):
    """An expansion would grow without bound; the message is one line."""


class Budget:
    """Characters that expansion may still produce in one file.

    Each word is bounded by MAX_WORD as it grows, and the file as a whole by
    a budget linear in its size: ``ARG A1=$A0$A0`` repeated cannot turn a
    336-byte file into gigabytes.
    """

    def __init__(self, characters: int) -> None:
        self.remaining = characters

    def spend(self, characters: int) -> None:
        self.remaining -= characters
        if self.remaining < 0:
            raise ExpansionError(
                'variables expand to more text than the file could hold '
                '(refused as an expansion bomb)',
            )


_NAME = r'[A-Za-z_][A-Za-z0-9_]*'
# POSIX special parameters: BuildKit reads each as a name that is never set
_SPECIAL_PARAMETERS = frozenset('@*#?-$!0')
_EOF = '\ufffd'  # how Go prints the rune read at the end of the input


# The patterns below are compiled on first use: a lint of one file that
# needs none of them does not pay for them.

@functools.cache
def _whole_var_re() -> re.Pattern[str]:
    """A word that is one variable, ``$x`` or ``${x}``, maybe with a
    default (``${x:-d}``, ``${x-d}``)."""
    return re.compile(
        rf'\$(?:(?P<bare>{_NAME})(?![A-Za-z0-9_])|\{{(?P<name>{_NAME})'
        r'(?:(?P<op>:?-)(?P<default>[^$\'"\\`{}]*))?\})\Z',
    )


@functools.cache
def _identifier_re() -> re.Pattern[str]:
    """A name a --build-arg could set."""
    return re.compile(_NAME + r'\Z')


@functools.lru_cache(maxsize=None)
def _plain_run_re(specials: str) -> re.Pattern[str]:
    """A run of characters none of which is in ``specials``: text the
    lexer copies as it stands, taken at once rather than a character at a
    time (a long word or line is mostly such runs)."""
    return re.compile(f'[^{re.escape(specials)}]+')


@functools.lru_cache(maxsize=None)
def _go_spaces_re() -> re.Pattern[str]:
    """A run of Go's blanks (GO_SPACE), where the words of a line part."""
    return re.compile(f'[{re.escape(GO_SPACE)}]+')


@functools.lru_cache(maxsize=None)
def _ascii_name_re() -> re.Pattern[str]:
    """The ASCII characters processName takes into a name."""
    return re.compile('[A-Za-z0-9_]+')


class ShellError(ExpansionError):
    """BuildKit's lexer refuses the word (its message, as BuildKit says it)."""


class _Lexer:
    """BuildKit's shell lexer (frontend/dockerfile/shell/lex.go) for one
    word, bounded in depth and in the text it may produce."""

    def __init__(
            self, word: str, env: Mapping[str, Var], escape: str, budget: Budget,
            *, raw_quotes: bool = False, keep_unset: bool = False,
    ) -> None:
        self.s = word
        self.raw_quotes = raw_quotes  # RawQuotes: quotes stay in the text
        self.keep_unset = keep_unset  # SkipUnsetEnv: an unset $X stays as written
        self.raw_escapes = False  # RawEscapes of the processStopOn running
        self.i = 0
        self.env = env
        self.escape = escape
        self.unresolved: list[str] = []
        self.budget = budget
        self.depth = 0
        self.produced = 0  # characters variables added to this word
        self.reads: dict[Span, None] = {}  # where the values looked up stand

    def lookup(self, name: str) -> Var | None:
        """The variable ``name``; where its value is written is noted."""
        var = self.env.get(name)
        if var is not None:
            for span in (var.written, var.span, *var.reads):
                if span is not None:
                    self.reads[span] = None
        return var

    def grown(self, out: list[str], piece: str) -> None:
        """Append an expanded ``piece`` to ``out``, within the word and
        file bounds (``out`` holds at most one word, so its pieces from
        variables are counted against both)."""
        self.budget.spend(len(piece))
        self.produced += len(piece)
        if self.produced > MAX_WORD:
            raise ExpansionError(
                f'a variable expands to more than {MAX_WORD} characters',
            )
        out.append(piece)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ''

    def get(self, name: str) -> str | None:
        """The value of ``name``; None when unset (noted for DP003 when it
        is a name a --build-arg could set)."""
        var = self.lookup(name)
        if var is None:
            if _identifier_re().match(name):
                self.unresolved.append(name)
            return None
        return var.value

    def word(self, stop: str = '', raw_escapes: bool = False) -> str:
        """processStopOn: up to ``stop`` (consumed) or the end."""
        outer_raw_escapes, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._word(stop, raw_escapes)
        finally:
            self.raw_escapes = outer_raw_escapes

    def _word(self, stop: str, raw_escapes: bool) -> str:
        out: list[str] = []
        s = self.s
        plain = _plain_run_re('$\'"' + self.escape + stop)
        while self.i < len(s):
            ch = s[self.i]
            if stop and ch == stop:
                self.i += 1
                return ''.join(out)
            if ch == '$':
                self.grown(out, self.dollar())
            elif ch == "'":
                out.append(self.single_quoted())
            elif ch == '"':
                self.grown(out, self.double_quoted())
            elif ch == self.escape:
                self.i += 1
                if raw_escapes:
                    out.append(ch)
                if self.i >= len(s):
                    break
                out.append(s[self.i])
                self.i += 1
            else:
                run = plain.match(s, self.i)
                assert run is not None  # ch itself is one
                out.append(run.group())
                self.i = run.end()
        if stop:
            raise ShellError(
                f'unexpected end of statement while looking for matching {stop}',
            )
        return ''.join(out)

    def single_quoted(self) -> str:
        self.i += 1
        end = self.s.find("'", self.i)
        if end < 0:
            raise ShellError(
                'unexpected end of statement while looking for matching single-quote',
            )
        text = self.s[self.i:end]
        self.i = end + 1
        return f"'{text}'" if self.raw_quotes else text

    def double_quoted(self) -> str:
        out: list[str] = []
        s = self.s
        plain = _plain_run_re('"$' + self.escape)
        self.i += 1
        while True:
            if self.i >= len(s):
                raise ShellError(
                    'unexpected end of statement while looking for matching '
                    'double-quote',
                )
            ch = s[self.i]
            if ch == '"':
                self.i += 1
                text = ''.join(out)
                return f'"{text}"' if self.raw_quotes else text
            if ch == '$':
                self.grown(out, self.dollar())
                continue
            if ch != self.escape:
                run = plain.match(s, self.i)
                assert run is not None  # ch itself is one
                out.append(run.group())
                self.i = run.end()
                continue
            self.i += 1
            if self.raw_escapes:
                out.append(ch)
            if self.peek() in ('"', '$', self.escape):
                ch = s[self.i]
                self.i += 1
            out.append(ch)

    def name(self) -> str:
        """processName: digits, one special parameter, or a name."""
        s = self.s
        start = self.i
        if self.i < len(s) and s[self.i].isdecimal():
            while self.i < len(s) and s[self.i].isdecimal():
                self.i += 1
            return s[start:self.i]
        if self.i < len(s) and s[self.i] in _SPECIAL_PARAMETERS:
            self.i += 1
            return s[start:self.i]
        ascii_head = _ascii_name_re().match(s, self.i)
        if ascii_head is not None:
            self.i = ascii_head.end()
        while self.i < len(s) and (
            s[self.i].isalpha() or s[self.i].isdecimal() or s[self.i] == '_'
        ):
            self.i += 1
        return s[start:self.i]

    def dollar(self) -> str:
        self.i += 1
        if self.peek() != '{':
            name = self.name()
            if not name:
                return '$'
            if self.keep_unset and name not in self.env:
                return '$' + name
            return self.get(name) or ''
        self.i += 1
        ch = self.peek()
        if not ch:
            raise ShellError("syntax error: missing '}'")
        if ch in '{}:':
            raise ShellError('syntax error: bad substitution')
        name = self.name()
        op = self.peek() or _EOF
        self.i += 1
        if op == '}':
            if self.keep_unset and name not in self.env:
                return '${' + name + '}'
            return self.get(name) or ''
        if op == '/':
            return self.replace(name)
        null_is_unset = op == ':'
        if null_is_unset:
            op = self.peek() or _EOF
            self.i += 1
            if op not in '-+?':
                raise ShellError(f'unsupported modifier (:{op}) in substitution')
        elif op not in '-+?#%':
            raise ShellError(f'unsupported modifier ({op}) in substitution')
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpansionError(f'variables nested more than {MAX_NESTING} deep')
        argument = self.until('}', op in '#%', "missing '}'")
        self.depth -= 1
        if self.keep_unset and name not in self.env:
            return '${' + name + (':' if null_is_unset else '') + op + argument + '}'
        if op in '#%':
            # an unset variable is empty here: no --build-arg is implied
            var = self.lookup(name)
            return _trim(var.value if var is not None else '', op, argument)
        var = self.lookup(name)
        value: str | None = None if var is None else var.value
        present = value is not None and (not null_is_unset or value != '')
        if op == '-':
            return value if present and value is not None else argument
        if op == '+':
            return argument if present else ''
        # '?': an unset variable is DP003 (a --build-arg would set it); a
        # set but empty one under ':?' is BuildKit's error
        if value is None:
            self.get(name)  # noted as unresolved
            return ''
        if not present:
            raise ShellError(f'{name}: {argument or "is not allowed to be empty"}')
        return value

    def until(self, stop: str, raw_escapes: bool, missing: str) -> str:
        """The word up to ``stop``; at the end of the input BuildKit says
        what is missing."""
        try:
            return self.word(stop, raw_escapes=raw_escapes)
        except ShellError:
            if self.i >= len(self.s):
                raise ShellError(f'syntax error: {missing}') from None
            raise

    def possible_heredoc(self) -> str:
        """processPossibleHeredoc: ``<<`` takes the spaces, tabs and CRs
        after it into its word (``<< EOF`` is one word)."""
        start = self.i
        self.i += 1
        if self.peek() == '<':
            self.i += 1
            while self.peek() in (' ', '\t', '\r'):
                self.i += 1
        return self.s[start:self.i]

    def words(self) -> list[str]:
        """processStopOn over the whole text with its word splitting
        (wordsStruct): Go's blanks end a word; quoted text, escaped
        characters and ``<<`` with its blanks stay in it; the text a ``$``
        gives is split like plain text."""
        self.raw_escapes = self.raw_quotes
        found: list[str] = []
        word: list[str] = []  # its pieces
        length = 0  # its characters: a word of none (``''``) is no word

        spaces = _go_spaces_re()

        def add(text: str, raw: bool) -> None:
            nonlocal length
            if raw:
                word.append(text)
                length += len(text)
                return
            at = 0
            for blanks in spaces.finditer(text):
                if blanks.start() > at:
                    word.append(text[at:blanks.start()])
                    length += blanks.start() - at
                if length:
                    found.append(''.join(word))
                    word.clear()
                    length = 0
                at = blanks.end()
            if at < len(text):
                word.append(text[at:])
                length += len(text) - at
        s = self.s
        plain = _plain_run_re('$<\'"' + self.escape)
        while self.i < len(s):
            ch = s[self.i]
            if ch == '$':
                add(self.dollar(), raw=False)
            elif ch == '<':
                add(self.possible_heredoc(), raw=True)
            elif ch == "'":
                add(self.single_quoted(), raw=True)
            elif ch == '"':
                add(self.double_quoted(), raw=True)
            elif ch == self.escape:
                self.i += 1
                if self.raw_escapes:
                    add(ch, raw=True)
                if self.i >= len(s):
                    break
                add(s[self.i], raw=True)
                self.i += 1
            else:
                run = plain.match(s, self.i)
                assert run is not None  # ch itself is one
                add(run.group(), raw=False)
                self.i = run.end()
        if length:
            found.append(''.join(word))
        return found

    def replace(self, name: str) -> str:
        """${V/pattern/replacement} and ${V//pattern/replacement}."""
        every = self.peek() == '/'
        if every:
            self.i += 1
        pattern = self.until('/', True, "missing '/' in ${}")
        replacement = self.until('}', True, "missing '}'")
        if self.keep_unset and name not in self.env:
            return '${' + name + '/' + pattern + '/' + replacement + '}'
        var = self.lookup(name)
        value = var.value if var is not None else ''
        from digestpin_hooks.read.dockerfile.patterns import replace
        try:
            return replace(value, pattern, replacement, every=every)
        except ValueError as e:
            raise ShellError(
                f'invalid pattern ({pattern}) in substitution: {e}',
            ) from None


def _trim(value: str, op: str, argument: str) -> str:
    """${V#p} ${V##p} ${V%p} ${V%%p}: shortest or (doubled) longest match."""
    from digestpin_hooks.read.dockerfile.patterns import trim_prefix
    from digestpin_hooks.read.dockerfile.patterns import trim_suffix
    longest = argument[:1] == op
    if longest:
        argument = argument[1:]
    try:
        if op == '#':
            return trim_prefix(value, argument, longest=longest)
        return trim_suffix(value, argument, longest=longest)
    except ValueError as e:
        raise ShellError(
            f'invalid pattern ({argument}) in substitution: {e}',
        ) from None


def shell_words(text: str, *, raw: bool) -> list[str]:
    """``text`` split into words as BuildKit's parser lexes a line to find
    heredocs (``raw``: RawQuotes and RawEscapes, quotes and escapes kept)
    and a heredoc's name (not ``raw``), unset variables kept as written.

    Raises ShellError where BuildKit's lexer does (an unmatched quote, a bad
    ``${…}``), ExpansionError past the bounds.
    """
    lexer = _Lexer(
        text, {}, '\\', Budget(4 * MAX_WORD), raw_quotes=raw, keep_unset=True,
    )
    return lexer.words()


def go_quote(text: str) -> str:
    """Go's %q of a string, as BuildKit's messages quote a word (as
    json.dumps with ensure_ascii=False writes it: json is not imported for
    an error message, 200 kB of a corpus lint's memory)."""
    # what json.dumps escapes, and how (built here: only a message needs it)
    escapes = {code: f'\\u{code:04x}' for code in range(0x20)}
    escapes.update({
        0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r',
        ord('"'): '\\"', ord('\\'): '\\\\',
    })
    return '"' + text.translate(escapes) + '"'


def _lexed(text: str, escape: str) -> bool:
    """Whether the lexer changes anything in ``text``: a ``$``, a quote or
    the escape is in it."""
    return '$' in text or "'" in text or '"' in text or escape in text


def expand(
        word: str,
        env: Mapping[str, Var],
        locate: Locate,
        escape: str = '\\',
        budget: Budget | None = None,
) -> Expansion:
    """Expand ``word`` with ``env``; ``locate`` maps word offsets to the file.

    Raises ExpansionError when the value would pass MAX_WORD characters,
    nest deeper than MAX_NESTING, or overspend ``budget``.
    """
    if not _lexed(word, escape):
        return Expansion(word, (), locate(0, len(word)), '', False)
    lexer = _Lexer(word, env, escape, budget or Budget(4 * MAX_WORD))
    try:
        value = lexer.word()
    except ShellError as e:
        raise ShellError(f'failed to process {go_quote(word)}: {e}') from None
    unresolved = tuple(dict.fromkeys(lexer.unresolved))
    has_variables = '$' in word
    span: Span | None = None
    via = ''
    # the pattern starts with ``$``: other words need it not compiled
    m = _whole_var_re().match(word) if word[:1] == '$' else None
    if m is not None:
        name = m.group('bare') or m.group('name')
        var = env.get(name)
        op = m.group('op')
        present = var is not None and (var.value != '' or op == '-')
        if present and var is not None:
            span, via = var.span, name
        elif op is not None:
            span = locate(m.start('default'), m.end('default'))
    elif len(word) >= 2 and word[0] == word[-1] and word[0] in '"\'':
        inner = word[1:-1]
        if not _lexed(inner, escape):
            span = locate(1, len(word) - 1)
    reads = tuple(lexer.reads)
    if len(reads) > MAX_READS:  # a long ARG chain: one span over them all
        reads = ((min(r[0] for r in reads), max(r[1] for r in reads)),)
    return Expansion(value, unresolved, span, via, has_variables, reads)
