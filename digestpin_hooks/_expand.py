"""Variable expansion of one Dockerfile word, as BuildKit's shell lexer does it.

Besides the expanded value this tracks *where the value stands in the file*
when it is one literal run of text (the word itself, the default inside
``${X:-default}``, or an ARG default reached through ``$X``): that span is
what a fix may rewrite without changing what the Dockerfile means.
"""
from __future__ import annotations

import re

from digestpin_hooks._records import NamedTuple
from digestpin_hooks._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Callable
    from typing import Mapping

    Span = tuple[int, int]
    # relative (start, end) within the word -> file span, None when not contiguous
    Locate = Callable[[int, int], Span | None]


class Var(NamedTuple):
    value: str
    span: Span | None  # file span of the value when it is literal text there
    line: int  # line that set it (0: not from the file)
    known: bool = True  # False: set at build time (TARGETARCH), value unknown


class Expansion(NamedTuple):
    value: str
    unresolved: tuple[str, ...]  # variables used without any value
    span: Span | None  # where ``value`` stands in the file verbatim
    via: str  # the variable whose definition holds ``span``; '' otherwise
    has_variables: bool


MAX_WORD = 256 * 1024  # characters one expanded word may reach
MAX_NESTING = 64  # ${A:-${B:-...}} levels


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
_WHOLE_VAR_RE = re.compile(
    rf'\$(?:(?P<bare>{_NAME})|\{{(?P<name>{_NAME})'
    r'(?:(?P<op>:?-)(?P<default>[^$\'"\\`{}]*))?\})\Z',
)
_SPECIAL_RE = re.compile(r'[$\'"]')
_NAME_RE = re.compile(_NAME)


class _Lexer:
    def __init__(
            self, word: str, env: Mapping[str, Var], escape: str, budget: Budget,
    ) -> None:
        self.s = word
        self.i = 0
        self.env = env
        self.escape = escape
        self.unresolved: list[str] = []
        self.budget = budget
        self.depth = 0
        self.produced = 0  # characters variables added to this word

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

    def lookup(self, name: str) -> str | None:
        """The value of ``name``, None when unset; notes unknown values."""
        var = self.env.get(name)
        if var is None:
            return None
        if not var.known:
            self.unresolved.append(name)
        return var.value

    def word(self, stop: str = '') -> str:
        out: list[str] = []
        s = self.s
        while self.i < len(s):
            ch = s[self.i]
            if stop and ch == stop:
                return ''.join(out)
            self.i += 1
            if ch == self.escape:
                if self.i < len(s):
                    out.append(s[self.i])
                    self.i += 1
            elif ch == "'":
                end = s.find("'", self.i)
                end = len(s) if end < 0 else end
                out.append(s[self.i:end])
                self.i = end + 1
            elif ch == '"':
                self.grown(out, self.double_quoted())
            elif ch == '$':
                self.grown(out, self.dollar())
            else:
                out.append(ch)
        return ''.join(out)

    def double_quoted(self) -> str:
        out: list[str] = []
        s = self.s
        while self.i < len(s):
            ch = s[self.i]
            self.i += 1
            if ch == '"':
                break
            if ch == '$':
                self.grown(out, self.dollar())
            elif ch == self.escape and self.i < len(s) and s[self.i] in (
                '"', '$', self.escape,
            ):
                out.append(s[self.i])
                self.i += 1
            else:
                out.append(ch)
        return ''.join(out)

    def dollar(self) -> str:
        s = self.s
        if self.i >= len(s):
            return '$'
        if s[self.i] != '{':
            m = _NAME_RE.match(s, self.i)
            if m is None:
                return '$'
            self.i = m.end()
            return self.value_of(m.group())
        m = _NAME_RE.match(s, self.i + 1)
        if m is None:
            # ${} or ${1}: BuildKit rejects it; keep the text, it is no name
            self.unresolved.append(s[self.i - 1:])
            self.i = len(s)
            return ''
        name = m.group()
        self.i = m.end()
        if self.i >= len(s):
            self.unresolved.append(name)
            return ''
        ch = s[self.i]
        if ch == '}':
            self.i += 1
            return self.value_of(name)
        colon = ch == ':'
        if colon:
            self.i += 1
        op = s[self.i] if self.i < len(s) else ''
        self.i += 1
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpansionError(
                f'variables nested more than {MAX_NESTING} deep',
            )
        arg = self.word(stop='}')
        self.depth -= 1
        self.i += 1  # the closing brace
        var = self.env.get(name)
        present = var is not None and (
            not var.known or var.value != '' or not colon
        )
        value = self.lookup(name) if present and op != '+' else None
        if op == '-':
            return value if present and value is not None else arg
        if op == '+':
            return arg if present else ''
        if op == '?':
            if present and value is not None:
                return value
            self.unresolved.append(name)
            return ''
        # ${X#pattern}, ${X%pattern}, ${X/a/b}: computed, never a literal pin
        if var is None:
            self.unresolved.append(name)
            return ''
        return _apply_pattern(self.lookup(name) or '', op, arg)

    def value_of(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            self.unresolved.append(name)
            return ''
        return value


def _apply_pattern(value: str, op: str, arg: str) -> str:
    if op == '#':
        from digestpin_hooks._glob import remove_shortest_prefix
        return remove_shortest_prefix(value, arg)
    if op == '%':
        from digestpin_hooks._glob import remove_shortest_suffix
        return remove_shortest_suffix(value, arg)
    if op == '/':
        pattern, _, replacement = arg.partition('/')
        return value.replace(pattern, replacement, 1)
    return value


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
    if not _SPECIAL_RE.search(word) and escape not in word:
        return Expansion(word, (), locate(0, len(word)), '', False)
    lexer = _Lexer(word, env, escape, budget or Budget(MAX_WORD))
    value = lexer.word()
    unresolved = tuple(dict.fromkeys(lexer.unresolved))
    has_variables = '$' in word
    span: Span | None = None
    via = ''
    m = _WHOLE_VAR_RE.match(word)
    if m is not None:
        name = m.group('bare') or m.group('name')
        var = env.get(name)
        op = m.group('op')
        present = var is not None and var.known and (
            var.value != '' or op == '-'
        )
        if present and var is not None:
            span, via = var.span, name
        elif op is not None:
            span = locate(m.start('default'), m.end('default'))
    elif len(word) >= 2 and word[0] == word[-1] and word[0] in '"\'':
        inner = word[1:-1]
        if not _SPECIAL_RE.search(inner) and escape not in inner:
            span = locate(1, len(word) - 1)
    return Expansion(value, unresolved, span, via, has_variables)
