"""Compose's variable interpolation, and the ``.env`` file beside a Compose file.

``$$`` is a literal ``$``; ``$NAME`` and ``${NAME}``; ``${NAME:-default}``
(unset or empty), ``${NAME-default}`` (unset), ``${NAME:+other}``,
``${NAME+other}``, ``${NAME:?error}``, ``${NAME?error}``; defaults may hold
further interpolation.  Values come from the ``.env`` file only, not from the
shell that happens to run the hook: a lint result must not depend on it.
"""
from __future__ import annotations

import re

from digestpin_hooks.model import Record
from digestpin_hooks.text import shortened

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Mapping

# a name: compose-go's ``(?i:[_a-z][_a-z0-9]*)``, whose Go case folding
# takes the long s and the Kelvin sign too (they fold to s and k: Compose
# reads ``${\u017f:-x}``), and not the dotless i nor the dotted I (which
# Python's re.IGNORECASE would take).  These patterns are compiled by
# re's own cache at their first use (re.compile where they are used), not
# at import: the two characters past Latin-1 make each cost 0.3-0.45 ms to
# compile, which a file with no ``$`` (most) need not pay
_LETTER = 'A-Za-z\u017f\u212a'
_NAME = f'[{_LETTER}_][{_LETTER}0-9_]*'
_WHOLE_DEFAULT = (
    fr'\$\{{(?P<name>[{_LETTER}_][{_LETTER}0-9_]*)(?P<op>:?-)(?P<default>[^${{}}]*)\}}\Z'
)
# what valid_template looks at: a ``$``, a ``}`` that closes a default, a
# line break no default may hold.  This and the marks below are pattern
# strings, compiled by re's cache at first use: a lint whose values hold
# no ``$`` never compiles them
_TEMPLATE_MARK = '[$}\n]'
# a .env key that is kept: one that starts as a name does
_KEY = f'[{_LETTER}_][{_LETTER}0-9_.-]*'
# where a .env key ends, and the blanks before its value
_SEPARATOR_RE = re.compile('[=:]')
_BLANKS_RE = re.compile(r'\s*')
# what compose-go's .env reader takes in a key besides letters and digits
# (docker compose v2.40.3 refuses any other: ``unexpected character``); its
# blanks (a space, then, is refused on its own)
_DOTENV_KEY_OTHERS = frozenset('_.-[] \t\v\f\r\x85\xa0')
# what the interpolation reads text up to: a ``$``, a ``}`` that may close one
_INTERPOLATION_MARK = '[$}]'
# and inside a default, where compose-go counts each ``{``
_IN_ARGUMENT_MARK = '[${}]'
# how long one interpolated value may grow (BuildKit's limit of one expanded
# variable): ``${A}`` written 2,000 times, A 200,000 characters long, made a
# value of 400 MB, and GitLab variables of ten others each, 12 deep, 10**12
MAX_VALUE = 262_144
# how many characters a .env file's expanded values may add up to
MAX_DOTENV_EXPANDED = 4 * MAX_VALUE


class InterpolationError(ValueError):
    """The value cannot be interpolated safely; the message is one line."""


class TooLong(InterpolationError):
    """The value would be longer than the limit it was interpolated with."""


class DotenvError(ValueError):
    """A ``.env`` line compose-go cannot read, for which Compose refuses
    the project: ``line N: why``, one line."""


class Interpolated(Record):
    """A value after Compose (or CI) interpolation."""

    value: Final[str]
    unresolved: Final[tuple[str, ...]]
    span: Final[tuple[int, int] | None]  # where ``value`` stands verbatim in the raw text
    has_variables: Final[bool]
    # the first ``${NAME:?message}`` (or ``?``) whose NAME has no value:
    # (NAME, its message expanded), for which compose-go stops
    missing: Final[tuple[str, str] | None] = None
    # longer than the ``longest`` it was interpolated with: ``value`` is
    # not made ('', and ``missing`` None), no image being that long (n
    # images reading one value of n characters each made it: n**2)
    too_long: Final[bool] = False


def _dotenv_entry(line: str) -> tuple[str, str] | None:
    """(key, raw value) of a ``KEY=VALUE`` or ``KEY: VALUE`` line; None for
    any other line; DotenvError (without its line) for a key compose-go
    refuses, with ``=`` or without: one that holds a space (``foo bar``) or
    a character no name holds (``A/B``, a BOM not at the start).

    The key ends at the first ``=`` or ``:``, as in Compose's reader, which
    takes YAML's way of writing a value too: a ``KEY: VALUE`` line skipped
    left a default pinned that Compose does not use.  Written with str
    methods, not a regular expression: a line of 64k blanks must cost one
    pass, not a backtracking search.
    """
    rest = line.strip()
    if not rest or rest[0] == '#':
        return None
    if rest.startswith('export') and rest[6:7].isspace():
        rest = rest[6:].lstrip()
    ends = [at for at in (rest.find('='), rest.find(':')) if at >= 0]
    key = rest[:min(ends)].rstrip() if ends else rest
    odd = next((c for c in key if not _in_dotenv_key(c)), None)
    if odd is not None:
        raise DotenvError(f'unexpected character {_go_char(odd)} in variable name')
    if ' ' in key:
        raise DotenvError('key cannot contain a space')
    if not ends or re.fullmatch(_KEY, key) is None:
        return None
    return key, rest[min(ends) + 1:].strip()


def _in_dotenv_key(char: str) -> bool:
    """Whether compose-go takes ``char`` in a key: a letter or a digit of
    any script, ``_ . - [ ]``, or a blank (a space is refused after)."""
    return char.isalpha() or char.isnumeric() or char in _DOTENV_KEY_OTHERS


def _go_char(char: str) -> str:
    """``char`` quoted as Go's %q quotes it, for the printable ones."""
    if char in '"\\':
        return f'"\\{char}"'
    return f'"{char}"' if char.isprintable() else f'"\\u{ord(char):04x}"'


def _closing_quote(text: str, quote: str, start: int) -> int:
    """Where the quote that closes a value standing from ``start`` (just
    past its opening quote) is: the first ``quote`` after an even run of
    backslashes, as compose-go finds it (a backslash escapes the character
    after it: ``"x\\"`` is not closed, ``"x\\\\"`` is); -1 for none.
    The backslashes behind each quote are counted once: linear."""
    at = text.find(quote, start)
    while at >= 0:
        run = at
        while run > start and text[run - 1] == '\\':
            run -= 1
        if (at - run) % 2 == 0:
            return at
        at = text.find(quote, at + 1)
    return -1


def _without_comment(value: str) -> str:
    """An unquoted value up to a ``#`` that follows a blank."""
    hash_at = value.find('#')
    while hash_at > 0:
        if value[hash_at - 1].isspace():
            return value[:hash_at].strip()
        hash_at = value.find('#', hash_at + 1)
    return value


# what a backslash escape in double quotes stands for (compose-go's
# expandEscapes: Go's escapes, and \$ a $ that starts no variable, written
# $$ for the interpolation after); any other is kept as written
_ESCAPES = {
    'n': '\n', '"': '"', '\\': '\\', 'a': '\a', 'b': '\b', 'f': '\f', 'r': '\r',
    't': '\t', 'v': '\v', '$': '$$',
}


def _double_quoted(raw: str) -> str:
    """What stands between double quotes, its escapes (``\\"``, ``\\n``,
    ``\\t``, ``\\$``...) read as ``_ESCAPES`` says, and ``\\0`` with up
    to three digits after it as compose-go reads it (_octal)."""
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == '\\' and i + 1 < len(raw):
            following = raw[i + 1]
            if following == '0':
                digits = re.compile(_OCTAL_DIGITS).match(raw, i + 2)
                out.append(_octal(digits.group() if digits is not None else ''))
                i = digits.end() if digits is not None else i + 2
                continue
            out.append(_ESCAPES.get(following, ch + following))
            i += 2
            continue
        out.append(ch)
        i += 1
    return ''.join(out)


# the digits compose-go's escape pattern takes after ``\\0`` (Go's ``\\d``:
# ASCII digits only); compiled at first use, as the marks above are
_OCTAL_DIGITS = '[0-9]{1,3}'


def _octal(digits: str) -> str:
    """``\\0`` and the ``digits`` after it, as compose-go's dotenv reads
    them: the character they name when Go takes them as an octal escape
    (three octal digits, at most 377: ``\\0101`` is ``A``), else a
    backslash and the digits (the 0 dropped: ``\\012`` is ``\\12``,
    ``\\0`` is ``\\``).  Before, ``\\0101`` was read as written, where
    Compose reads ``A``."""
    if len(digits) == 3 and '8' not in digits and '9' not in digits:
        code = int(digits, 8)
        if code <= 0o377:
            return chr(code)
    return '\\' + digits


def _single_quoted(raw: str) -> str:
    """What stands between single quotes: ``\\'`` is the quote, any other
    backslash is itself (compose-go)."""
    return raw.replace("\\'", "'")


def read_dotenv(text: str) -> dict[str, str]:
    """KEY=VALUE lines, with optional ``export``, quotes and ``#`` comments;
    a quoted value runs on to its closing quote, over lines, and what
    follows that quote on its line is read as a line of its own, as
    compose-go reads on from it (``A="x" IMG=b:1`` sets IMG).  DotenvError
    for what Compose refuses the project for: a quote never closed, a key
    with a space."""
    values: dict[str, str] = {}
    budget = MAX_DOTENV_EXPANDED
    # Compose drops a byte order mark that starts the file (elsewhere it
    # is a character no key holds)
    text = text[1:] if text[:1] == '\ufeff' else text
    # lines end at \n only, as Compose reads them: str.splitlines also
    # splits at \r, \v, \x1c, U+2028..., which made '# c\rIMG=b:2' set IMG
    number = 1  # the line ``at`` stands on
    at = 0  # where the next line (or what follows a closing quote) starts
    line_end = -1  # where the line ``at`` stands on ends (its \n)
    while at <= len(text):
        if at > line_end:
            line_end = text.find('\n', at)
            line_end = len(text) if line_end < 0 else line_end
        # a quoted value's line is read only up to its opening quote, the
        # rest searched in the text: a line of many values, each read on
        # after the last one's quote, cost a copy of the line each
        end = line_end
        separator = _SEPARATOR_RE.search(text, at, line_end)
        if separator is not None:
            blanks = _BLANKS_RE.match(text, separator.end(), line_end)
            opening = blanks.end() if blanks else separator.end()
            if text[opening:opening + 1] in ('"', "'"):
                end = opening + 1
        line = text[at:end]
        try:
            entry = _dotenv_entry(line)
        except DotenvError as e:
            raise DotenvError(f'line {number}: {e}') from None
        if entry is None:
            at, number = line_end + 1, number + 1
            continue
        key, value = entry
        quote = value[:1]
        first = number  # the line the value starts on
        if quote in ('"', "'"):
            # found in the text, not line by line: a quote never closed
            # costs one search, not one a line after it
            close = _closing_quote(text, quote, end)
            if close < 0:
                written = shortened(text[end - 1:line_end].rstrip())
                raise DotenvError(f'line {number}: unterminated quoted value {written}')
            raw = text[end:close]
            number += raw.count('\n')
            at = close + 1  # read on from the closing quote
            value = _single_quoted(raw) if quote == "'" else _double_quoted(raw)
        else:
            at, number = line_end + 1, number + 1
            value = _without_comment(value)
        if quote != "'" and '$' in value:
            if not valid_template(value):
                raise DotenvError(f'line {first}: invalid template: {shortened(value)}')
            expanded = _expanded(value, values, budget)
            if expanded.missing is not None:
                raise DotenvError(f'line {first}: {_missing_words(*expanded.missing)}')
            budget -= len(expanded.value)
            value = expanded.value
        values[key] = value
    return values


def valid_template(value: str) -> bool:
    """Whether compose-go's template parser takes ``value``: each ``${``
    a name, then ``}`` or an operator (``:-``, ``-``, ``:?``, ``?``, ``:+``,
    ``+``) and a closing ``}`` on the same line (its pattern reads a
    default with Go's ``.``, which is no line break); Compose refuses the
    project for a .env value it cannot parse (``Invalid template``), and a
    Compose file for any such value in it (``invalid interpolation
    format``).  Judged in one pass, with a count of the ``${`` open, not
    by interpolating: however deep or long (Compose has no limit; ours of
    262,144 characters, and once of 64 nested, left such a value
    unjudged)."""
    mark_re = re.compile(_TEMPLATE_MARK)
    open_braces = 0
    at = 0
    while True:
        mark = mark_re.search(value, at)
        if mark is None:
            return open_braces == 0
        at = mark.end()
        char = mark.group()
        if char == '}':
            open_braces = max(0, open_braces - 1)  # (outside any ``${``, text)
        elif char == '\n':
            if open_braces:
                return False
        elif value.startswith('$', at):  # ``$$``, a ``$``
            at += 1
        elif value.startswith('{', at):
            name = re.compile(_NAME).match(value, at + 1)
            if name is None:
                return False
            at = name.end()
            if value.startswith('}', at):
                at += 1
                continue
            at += value.startswith(':', at)
            if value[at:at + 1] not in ('-', '+', '?'):
                return False
            at += 1
            open_braces += 1
        # (else a bare ``$NAME``, or a ``$`` before no name: text)


def _expanded(value: str, values: Mapping[str, str], budget: int) -> Interpolated:
    """A value not in single quotes with the lines above it expanded, as
    Compose reads it (``IMG=$UNSET`` is empty, so ``${IMG:-a:1}`` is
    ``a:1``; ``${C:?need C}`` with no C above is what Compose refuses the
    project for, said by ``missing``); as written when it cannot be
    expanded safely, or when the file's expanded values would pass
    ``budget`` characters (ten thousand lines each copying a long value
    made gigabytes)."""
    try:
        return interpolate(value, values, max(0, min(MAX_VALUE, budget)))
    except InterpolationError:
        return Interpolated(value, (), None, True)


def _missing_words(name: str, message: str) -> str:
    """compose-go's words for a ``${NAME:?message}`` NAME has no value for,
    and the condition: the shell's NAME, which we do not read, wins over
    any line of the .env (Compose takes the project then)."""
    said = f'required variable {name} is missing a value'
    said = f'{said}: {shortened(message)}' if message else said
    return f'{said}, unless the shell that runs Compose sets {name}'


class _Frame(Record):
    """A ``${NAME:-``, ``${NAME+``... whose argument is being read."""

    name: Final[str]
    colon: Final[bool]
    op: Final[str]
    start: Final[int]  # where its argument's pieces start in the output
    length: Final[int]  # the output's length (characters) there
    size: Final[int]  # its parent's size of expanded pieces so far


class _Parser:
    """compose-go's interpolation, read with an explicit stack of the
    ``${`` open, not by recursion: Compose reads a template nested at any
    depth (it pulls ``x`` of ``${A:-${A:-...x...}}`` 70 or 1,000 deep),
    and so must we, with no RecursionError and no limit of our own.  Each
    character is read once and each piece of the output kept once: an
    argument taken stays where it is in the one output list, one dropped
    is cut from its end, so a template nested as deep as it is long costs
    linear time, not a copy of each argument at each level.

    An argument ends where compose-go ends it: at the ``}`` that closes
    each ``{`` written in it (a ``$${``'s too; the character after a ``{``
    is not counted), else, when a ``{`` is never closed, at its last
    ``}`` (its pattern's greedy match), what follows being read after it;
    not at its first ``}``, which made ``${A:-$${B}x}`` ``${Bx}``, not
    ``${B}x``, and ``${B:-x{y}z}`` with B set ``vz}``."""

    def __init__(
            self, text: str, env: Mapping[str, str], limit: int, longest: int | None = None,
    ) -> None:
        self.s = text
        self.limit = limit
        self.env = env
        self.unresolved: list[str] = []
        # the first ${NAME:?message} whose NAME has no value: (NAME, message;
        # '' when longer than ``longest``)
        self.missing: tuple[str, str] | None = None
        # the longest value (and message) to join, None: any within the
        # limit.  The pieces are kept by reference until joined, so that
        # reading on costs the text, not the values it reads; the limit is
        # checked as ever
        self.longest = longest
        self.length = 0  # of the value read, once run

    def too_long(self) -> bool:
        return self.longest is not None and self.length > self.longest

    def run(self) -> str:
        s = self.s
        env = self.env
        name_re = re.compile(_NAME)
        mark_re = re.compile(_INTERPOLATION_MARK)
        in_argument_re = re.compile(_IN_ARGUMENT_MARK)
        out: list[str] = []
        length = 0  # characters in out
        size = 0  # of the current level's expanded pieces: refused past the limit
        frames: list[_Frame] = []
        # of each frame: the ``{`` of its argument not closed yet, and
        # (pieces, length) of out before the last ``}`` it took as text
        # since its last nested frame ((-1, 0): none)
        braces: list[int] = []
        closes: list[tuple[int, int]] = []
        i = 0
        while True:
            if i >= len(s) or (frames and s[i] == '}' and not braces[-1]):
                if not frames:
                    break
                # a ``}`` closes the innermost ``${`` once its braces are;
                # the end of the text closes each one left, innermost
                # first, at the last ``}`` it took as text if any
                i += 1
                rest: list[str] = []
                if i > len(s) and closes[-1][0] >= 0:
                    at, length = closes[-1]
                    rest = out[at + 1:]
                    del out[at:]
                frame = frames.pop()
                braces.pop()
                closes.pop()
                name = frame.name
                present = name in env and (not frame.colon or env[name] != '')
                if frame.op == '?' and not present:
                    # Compose stops with the message (the argument is read
                    # first, as compose-go does, so an inner one is the
                    # first: ``${A:?${B:?b}}``)
                    self.unresolved.append(name)
                    if self.missing is None:
                        long = self.longest is not None and length - frame.length > self.longest
                        self.missing = (name, '' if long else ''.join(out[frame.start:]))
                    taken: str | None = ''
                elif frame.op == '?' or (frame.op == '-' and present):
                    taken = env[name]
                elif frame.op == '-' or present:  # (``+``, present)
                    taken = None  # the argument, where it stands
                else:
                    taken = ''
                if taken is not None:
                    del out[frame.start:]
                    out.append(taken)
                    length = frame.length + len(taken)
                size = frame.size + length - frame.length
                if rest:
                    out.extend(rest)
                    read = sum(map(len, rest))
                    length += read
                    size += read
                self._check(size)
                continue
            ch = s[i]
            if frames and ch in '{}':
                # a brace of an argument, text: counted (the character
                # after a ``{`` is not, as compose-go skips it)
                if ch == '}':
                    braces[-1] -= 1
                    closes[-1] = (len(out), length)
                    piece = ch
                    i += 1
                else:
                    braces[-1] += 1
                    piece = s[i:i + 2] if s[i + 1:i + 2] in ('{', '}') else ch
                    i += len(piece)
                out.append(piece)
                length += len(piece)
                size += len(piece)
                self._check(size)
                continue
            if ch != '$':
                # text up to the next ``$`` (or ``}`` that may close one,
                # or ``{`` an argument counts)
                mark = (in_argument_re if frames else mark_re).search(s, i + 1)
                end = len(s) if mark is None else mark.start()
                out.append(s[i:end])
                length += end - i
                i = end
                continue
            nxt = s[i + 1:i + 2]
            if nxt == '$':
                piece = '$'
                i += 2
            elif nxt == '{':
                i += 2
                m = name_re.match(s, i)
                if m is None:
                    self.unresolved.append(s[i - 2:])
                    i = len(s)
                    continue
                name = m.group()
                i = m.end()
                if s[i:i + 1] == '}':
                    i += 1
                    piece = self.value(name)
                else:
                    colon = s[i:i + 1] == ':'
                    i += colon
                    op = s[i:i + 1]
                    i += 1
                    if op not in ('-', '+', '?'):
                        self.unresolved.append(name)
                        i = len(s)
                        continue
                    if frames:
                        closes[-1] = (-1, 0)  # (its last ``}`` may be this one's)
                    frames.append(_Frame(name, colon, op, len(out), length, size))
                    braces.append(0)
                    closes.append((-1, 0))
                    size = 0
                    continue
            else:
                m = name_re.match(s, i + 1)
                if m is None:
                    piece = '$'
                    i += 1
                else:
                    i = m.end()
                    piece = self.value(m.group())
            out.append(piece)
            length += len(piece)
            size += len(piece)
            self._check(size)
        self.length = length
        return '' if self.too_long() else ''.join(out)

    def _check(self, size: int) -> None:
        if size > self.limit:
            raise TooLong(
                f'a value would be longer than {self.limit:,} characters once '
                f'its variables are expanded',
            )

    def value(self, name: str) -> str:
        if name not in self.env:
            self.unresolved.append(name)
            return ''
        return self.env[name]


def interpolate(
        text: str, env: Mapping[str, str], limit: int = MAX_VALUE, longest: int | None = None,
) -> Interpolated:
    """``text`` with the variables of ``env`` expanded; TooLong once the
    expanded variables in it pass ``limit`` characters.  With ``longest``,
    a value longer than that is ``too_long``, and not made."""
    if '$' not in text:
        return Interpolated(text, (), (0, len(text)), False)
    parser = _Parser(text, env, limit, longest)
    value = parser.run()
    unresolved = tuple(dict.fromkeys(parser.unresolved))
    if parser.too_long():
        return Interpolated('', unresolved, None, True, too_long=True)
    literal = None
    m = re.match(_WHOLE_DEFAULT, text)
    if m is not None:
        name, colon = m.group('name'), m.group('op') == ':-'
        present = name in env and (not colon or env[name] != '')
        if not present:
            literal = m.span('default')
    return Interpolated(value, unresolved, literal, True, parser.missing)


class _EveryNameSet(dict[str, str]):
    """Values in which every name is set, to ``_``."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> str:
        return '_'


def always_empty(text: str) -> bool:
    """Whether ``text`` interpolates to nothing whatever its variables
    hold (``''``, ``${A:+}``, ``${A+}${B:+${C:+}}``): with every name set
    it is empty only when it is made of ``${NAME:+...}`` and ``${NAME+...}``
    alone, each holding the same, whose value is empty or nothing.
    False for a template compose-go cannot parse."""
    if '$' not in text:
        return text == ''
    if not valid_template(text):
        return False
    try:
        return interpolate(text, _EveryNameSet()).value == ''
    except InterpolationError:
        return False


# Go's os.Expand, as the GitLab Runner expands image names and variables'
# values (common/spec/variables.go: ``os.Expand(value, b.Get)``): no
# ``${NAME:-default}`` or any other operator; ``${`` to the first ``}`` is
# one name, whatever it holds
_GO_SPECIAL = frozenset('*#$@!?-0123456789')  # os.Expand's isShellSpecialVar
_GO_NAME = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_')
# the names the runner's Variables.Get answers before any variable: ``$$``
# is a ``$``, the shell's parameters (but ``-``) are empty
_GITLAB_FIXED: Final = {'$': '$', **{c: '' for c in '*#@!?0123456789'}}


def go_expansions(text: str) -> list[tuple[int, int, str]]:
    """Each ``$…`` Go's os.Expand replaces in ``text``: (start, end, name),
    the name '' where it eats bad syntax (``${}``, ``${`` with no ``}``),
    in one pass.  A ``$`` it keeps (last, or before no name) is none."""
    found: list[tuple[int, int, str]] = []
    length = len(text)
    close = text.find('}')  # the next ``}``, -1 when none is left
    at = text.find('$')
    while 0 <= at < length - 1:
        rest = at + 1
        if text[rest] == '{':
            if length - rest > 2 and text[rest + 1] in _GO_SPECIAL and text[rest + 2] == '}':
                found.append((at, rest + 3, text[rest + 1]))
                end = rest + 3
            else:
                if 0 <= close <= rest:  # (else the same: one search for many ``${``)
                    close = text.find('}', rest + 1)
                if close < 0:  # bad syntax: ``${`` eaten, the rest is text
                    found.append((at, rest + 1, ''))
                    end = rest + 1
                else:  # (``${}``: bad syntax, eaten)
                    found.append((at, close + 1, text[rest + 1:close]))
                    end = close + 1
        elif text[rest] in _GO_SPECIAL:
            found.append((at, rest + 1, text[rest]))
            end = rest + 1
        else:
            end = rest
            while end < length and text[end] in _GO_NAME:
                end += 1
            if end > rest:
                found.append((at, end, text[rest:end]))
            # (else the ``$`` is kept, and what follows it is text)
        at = text.find('$', end)
    return found


def go_name(name: str) -> bool:
    """Whether ``name`` is all ASCII letters, digits and ``_``: what
    os.Expand reads after a bare ``$``, and the only names GitLab's CI/CD
    settings let a variable have (``IMG:-x`` of ``${IMG:-x}`` is none: only
    a file's own ``variables:`` could set it)."""
    return bool(name) and all(c in _GO_NAME for c in name)


def gitlab_fixed(name: str) -> str | None:
    """What the runner's Variables.Get gives ``name`` whatever the
    variables (``$`` -> ``$``, ``1`` -> ''), else None."""
    return _GITLAB_FIXED.get(name)


def expand_as_gitlab(text: str, env: Mapping[str, str], limit: int = MAX_VALUE) -> Interpolated:
    """``text`` as the GitLab Runner expands it (Go's os.Expand over
    Variables.Get), the variables of ``env`` filled in; a name ``env``
    lacks is unresolved (its value is only known when the pipeline runs,
    or, like ``IMG:-alpine:3`` of ``${IMG:-alpine:3}``, never set); TooLong
    once the expanded variables pass ``limit`` characters."""
    if '$' not in text:
        return Interpolated(text, (), (0, len(text)), False)
    out: list[str] = []
    unresolved: dict[str, None] = {}
    size = 0  # of the variables' values: refused past the limit
    copied = 0
    for start, end, name in go_expansions(text):
        out.append(text[copied:start])
        copied = end
        if not name:
            continue
        fixed = gitlab_fixed(name)
        value = fixed if fixed is not None else env.get(name)
        if value is None:
            unresolved[name] = None
            continue
        size += len(value)
        if size > limit:
            raise TooLong(
                f'a value would be longer than {limit:,} characters once '
                f'its variables are expanded',
            )
        out.append(value)
    out.append(text[copied:])
    return Interpolated(''.join(out), tuple(unresolved), None, True)
