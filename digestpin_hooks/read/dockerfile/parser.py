"""Read a Dockerfile the way BuildKit's parser does, keeping where each piece is.

BuildKit (frontend/dockerfile/parser) reads physical lines, keeps parser
directives only at the top, joins continuation lines (dropping comment and
blank lines inside them), and skips heredoc bodies.  The reader below follows
it step by step, but unlike the Go parser it remembers where every piece of a
logical line came from, so that each word has an exact span in the file.
What the instructions mean (stages, ARG scope, flags) is ``references``.

dockerfile-parse is not used on this path: it reads ``FROM`` inside a heredoc
body as an instruction, takes unknown flags for the image, does not honour
``# escape=`` in continuations and keeps no offsets.  The tests compare this
reader with BuildKit's own parser instead.
"""
from __future__ import annotations

import functools
import re

from digestpin_hooks.model import Record
from digestpin_hooks.read.dockerfile.shell import ExpansionError
from digestpin_hooks.read.dockerfile.shell import GO_BLANK
from digestpin_hooks.read.dockerfile.shell import go_quote
from digestpin_hooks.read.dockerfile.shell import GO_SPACE
from digestpin_hooks.read.dockerfile.shell import shell_words
from digestpin_hooks.text import BOM
from digestpin_hooks.text import decode
from digestpin_hooks.text import line_above
from digestpin_hooks.text import LineIndex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Iterator
    from digestpin_hooks.read.dockerfile.shell import Span
    # extract_flags' reading: where the arguments start, and each flag
    ReadFlags = tuple[int, list[tuple[str, int, int]]]

MAX_LINE_BYTES = 65535  # bufio.MaxScanTokenSize - 1, BuildKit's limit
_ARG_SEP_RE = re.compile(r'[\t\v\f\r ]+')  # BuildKit's reWhitespace
_CMD_RE = re.compile(r'[^\t\v\f\r ]+')
_DIRECTIVE_BLANKS = '\t\n\f\r '
_AFTER_ANY = float('inf')  # sorts after every file offset in a piece
_KNOWN_DIRECTIVES = frozenset(('escape', 'syntax', 'check'))
_HEREDOC_COMMANDS = frozenset(('add', 'copy', 'run'))
_HEREDOC_OPENERS = _HEREDOC_COMMANDS | {'onbuild'}
# every instruction BuildKit v0.32 knows; another is newer syntax, or a typo
KNOWN_INSTRUCTIONS = frozenset((
    'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from',
    'healthcheck', 'label', 'maintainer', 'onbuild', 'run', 'shell',
    'stopsignal', 'user', 'volume', 'workdir',
))


# The patterns below are compiled on first use: a lint of one file that
# needs none of them does not pay for them (compiling is a cost of every
# run, as long as the pattern).

@functools.cache
def _plain_flag_re() -> re.Pattern[str]:
    """A flag without quotes or either escape character, up to a blank or
    the end of the line: the word stands as written."""
    return re.compile('[^\'"\\\\` \t\n\v\f\r\x85\xa0]+(?=[ \t\n\v\f\r\x85\xa0]|\\Z)')


@functools.cache
def _plain_word_re() -> re.Pattern[str]:
    """A word without quotes or escapes, up to a blank or the end of the
    line (a word holding one of \\x1c-\\x1f, which \\s has and Go's blanks
    have not, is no match here: the careful path reads it)."""
    return re.compile(r'[^\'"\\\s]+(?=[^\S\x1c-\x1f]|\Z)')


@functools.cache
def _directive_re() -> re.Pattern[str]:
    r"""BuildKit's ``^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`` up to
    the value; the value is cut with str methods (see _directive_value),
    since ``(.+?)\s*$`` backtracks quadratically over a long run of blanks."""
    return re.compile(r'#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=')


@functools.cache
def _heredoc_re() -> re.Pattern[str]:
    r"""BuildKit's reHeredoc, ``^(\d*)<<(-?)\s*([^<]*)$`` (Go's \s is ASCII)."""
    return re.compile(r'(\d*)<<(-?)[\t\n\f\r ]*([^<]*)\Z')


class DockerfileError(ValueError):
    """BuildKit would refuse to read the file; the message says why.
    ``located``: the message already names the line, as BuildKit's parse
    errors do (``dockerfile parse error on line 3: …``)."""

    def __init__(self, message: str, *, located: bool = False) -> None:
        super().__init__(message)
        self.located = located


class Instruction(Record):
    """One instruction as BuildKit reads it: its logical line and where
    each piece of it stands in the file."""

    cmd: Final[str]  # lower-cased, as BuildKit dispatches it
    start_line: Final[int]  # 1-based physical lines
    end_line: Final[int]  # the last line, heredoc bodies included
    start: Final[int]  # file offset where its first line starts
    end: Final[int]  # file offset after its last line
    line: Final[str]  # the logical line: continuations joined, comments dropped
    # (index in ``line``, file offset) where each joined piece starts
    pieces: Final[tuple[tuple[int, int], ...]]
    # index in ``line`` where the arguments start (args_start's), found
    # where the command is: the checks and readers of the instruction
    # would each search for it again
    args: Final[int]

    def offset(self, index: int) -> int:
        """File offset of ``line[index]`` (a binary search over the pieces:
        an instruction continued over thousands of lines stays linear)."""
        pieces = self.pieces
        if len(pieces) == 1:  # the common case: one physical line
            return pieces[0][1] + index - pieces[0][0]
        from bisect import bisect_right  # here: only a joined line needs it
        k = max(bisect_right(self.pieces, (index, _AFTER_ANY)) - 1, 0)
        start, offset = self.pieces[k]
        return offset + index - start

    def span(self, start: int, end: int) -> Span | None:
        """File span of ``line[start:end]``, None when it crosses a join."""
        if len(self.pieces) == 1:  # no join to cross
            shift = self.pieces[0][1] - self.pieces[0][0]
            return start + shift, end + shift
        first = self.offset(start)
        if end == start:
            return first, first
        last = self.offset(end - 1)
        if last - first != end - 1 - start:
            return None
        return first, last + 1


class Directive(Record):
    """A parser directive (``# syntax=``, ``# escape=``, ``# check=``)."""

    name: Final[str]
    value: Final[str]
    span: Final[Span]
    line: Final[int]


@functools.cache
def _syntax_re() -> re.Pattern[str]:
    """DetectSyntax's name and ``=``, compiled on first use (most files
    start with an instruction)."""
    return re.compile(r'([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=')


def _syntax_in_comments(text: str, prefix: str) -> Directive | None:
    """BuildKit's DetectSyntax over ``prefix`` comment lines at the top.

    Unlike the parser's own directives, the line must start with the
    comment prefix (an indented ``# syntax=`` is not seen), a ``#!`` first
    line is skipped, a repeated directive ends the search, and only the
    value's first word names the frontend image.
    """
    offset = 0
    number = 1
    if text.startswith('#!'):
        end = text.find('\n')
        if end < 0:
            return None
        offset = end + 1
        number = 2
    seen: set[str] = set()
    while offset < len(text):
        end = text.find('\n', offset)
        end = len(text) if end < 0 else end
        line = text[offset:end]
        if line.endswith('\r'):
            line = line[:-1]  # Go's bufio.ScanLines drops it
        if not line.startswith(prefix):
            return None
        body = line[len(prefix):]
        lead = len(body) - len(body.lstrip(GO_SPACE))
        body = body[lead:]
        m = _syntax_re().match(body)
        value_at = _directive_value(body, m.end()) if m else None
        if m is None or value_at is None:
            return None
        name = m.group(1).lower()
        if name not in _KNOWN_DIRECTIVES or name in seen:
            return None
        seen.add(name)
        if name == 'syntax':
            value = body[value_at[0]:value_at[1]].split(' ', 1)[0]
            start = offset + len(prefix) + lead + value_at[0]
            return Directive('syntax', value, (start, start + len(value)), number)
        offset = end + 1
        number += 1
    return None


# Go's encoding/json refuses a document nested deeper than this
# (maxNestingDepth in its scanner); Python's json gives up at 1,000
_GO_JSON_MAX_DEPTH = 10000
# one token of strict JSON after its blanks: punctuation, a string, or a
# number or literal; each character of a string is read one way only, so a
# string that does not end costs one pass
_GO_JSON_TOKEN = (
    r'[ \t\n\r]*(?:([{}\[\],:])'
    r'|("(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")'
    r'|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null))'
)
_INFINITY = float('inf')
# what the reader of a JSON document expects next
_VALUE, _VALUE_OR_CLOSE, _KEY, _KEY_OR_CLOSE, _COLON, _NEXT = range(6)


@functools.cache
def _go_exponent_re() -> re.Pattern[str]:
    """A number's exponent as Go's strconv reads it: its digits count only
    until the value passes 10,000, so at most the first five after leading
    zeros.  Compiled on first use (a JSON document's number)."""
    return re.compile(r'[eE]([+-]?)0*([0-9]{0,5})[0-9]*$')


def detect_syntax(text: str) -> Directive | None:
    """The frontend image BuildKit's DetectSyntax finds: ``# syntax=``,
    else ``// syntax=``, else a JSON document's ``syntax`` key (after a
    ``#!`` first line, as for the comments)."""
    first = text[:1]
    if first not in ('#', '/', '{') and not text.lstrip()[:1] == '{':
        return None  # the common case: the file starts with an instruction
    found = _syntax_in_comments(text, '#')
    if found is None and (first == '/' or text.startswith('#!')):
        # (a first line starting with # but not #! is no // comment: the
        # search for them is not started, in half the files)
        found = _syntax_in_comments(text, '//')
    if found is not None:
        return found
    begin = text.find('\n') + 1 if text.startswith('#!') else 0
    if begin == 0 and text.startswith('#!'):
        return None  # a #! line alone: nothing after it
    if not text[begin:].lstrip(' \t\n\r').startswith('{'):
        return None
    return _json_syntax(text, begin)


def _json_syntax(text: str, begin: int) -> Directive | None:
    """The ``syntax`` key of the JSON document at ``text[begin:]``, read as
    BuildKit reads it, with Go's json.Unmarshal into a map: the document
    must be strict JSON (no NaN, no trailing comma, nothing after it)
    nested at most 10,000 deep; the key is matched exactly once unescaped
    (``SYNTAX`` is another key); of a repeated key the last counts.

    One pass with a stack of its own, not ``json.loads``, which gives up
    on nesting Go reads (a frontend image hidden behind 1,000 brackets),
    takes NaN where Go refuses the document, and tells no span.  The span
    is the value's text between its quotes, so that a pin lands on this
    key and not on an equal string elsewhere.
    """
    token = re.compile(_GO_JSON_TOKEN)  # re's cache: compiled once a run
    stack: list[str] = []
    key = ''  # the last key read of the top-level object
    found: tuple[str, int, int] | None = None  # value, start, end of quotes
    expect = _VALUE
    at = begin
    while True:
        m = token.match(text, at)
        if m is None:
            return None
        at = m.end()
        punct, string = m.group(1, 2)
        opens = punct in ('{', '[')
        if expect in (_VALUE, _VALUE_OR_CLOSE) and (opens or punct is None):
            if not stack and punct != '{':
                return None  # Go reads no other document into a map
            if stack == ['{'] and key == 'syntax':  # of repeated keys, the last
                found = None if string is None else (
                    _json_string(string), m.start(2), m.end(2),
                )
            if opens:
                stack.append(punct)
                if len(stack) > _GO_JSON_MAX_DEPTH:
                    return None
                expect = _KEY_OR_CLOSE if punct == '{' else _VALUE_OR_CLOSE
            else:
                if _go_number_overflows(m.group(3)):
                    return None  # Go's Unmarshal errs, the document is dropped
                expect = _NEXT
        elif expect in (_KEY, _KEY_OR_CLOSE) and string is not None:
            if stack == ['{']:
                key = _json_string(string)
            expect = _COLON
        elif punct == ':' and expect == _COLON:
            expect = _VALUE
        elif punct == ',' and expect == _NEXT:
            expect = _KEY if stack[-1] == '{' else _VALUE
        elif punct == '}' and expect in (_NEXT, _KEY_OR_CLOSE) and stack[-1] == '{':
            stack.pop()
            expect = _NEXT
        elif punct == ']' and expect in (_NEXT, _VALUE_OR_CLOSE) and stack[-1] == '[':
            stack.pop()
            expect = _NEXT
        else:
            return None
        if not stack:
            break
    if text[at:].strip(' \t\n\r') or found is None or not found[0]:
        return None
    value, start, end = found
    return Directive('syntax', value, (start + 1, end - 1), text.count('\n', 0, start) + 1)


def _go_number_overflows(literal: str | None) -> bool:
    """Whether Go's ``strconv.ParseFloat`` refuses this JSON number (out
    of float64's range: json.Unmarshal into ``any`` then fails the whole
    document), ``None`` and the literals true, false, null being no number.

    Both sides round correctly; only the exponent is read Go's way, which
    stops adding its digits past 10,000 (``0.<20,000 zeros>1e123456`` is 0
    to Go, ``1<20,000 zeros>e-123456`` overflows).
    """
    if literal is None or literal[-1] in 'el':  # true, false, null
        return False
    exponent = _go_exponent_re().search(literal)
    if exponent is not None:
        sign, digits = exponent.group(1, 2)
        literal = literal[:exponent.start()] + 'e' + sign + (digits or '0')
    return abs(float(literal)) == _INFINITY


def _json_string(token: str) -> str:
    """A JSON string token's value (json only for one with escapes: it is
    not imported for nothing)."""
    if '\\' not in token:
        return token[1:-1]
    import json
    value: str = json.loads(token)
    return value


class Dockerfile(Record):
    """A Dockerfile as BuildKit v0.32 parses it, with what the checks need
    to point into its text."""

    text: Final[str]  # decoded with surrogateescape, BOM removed
    bom: Final[bool]
    directives: Final[tuple[Directive, ...]]
    instructions: Final[tuple[Instruction, ...]]
    escape: Final[str]
    lines: Final[LineIndex]  # offsets -> line and column, built on first use
    # (line, offset, word) of instructions BuildKit v0.32 does not know;
    # None: not looked for yet (the fast scan leaves it to the checks)
    unknown: Final[tuple[tuple[int, int, str], ...] | None] = ()
    stageless: Final[int] = 0  # line of an instruction before any FROM (not ARG)
    # where every instruction starts, when heredocs made the parser walk
    # every line (else a line is an instruction when the one before it that
    # counts does not continue)
    starts: Final[frozenset[int] | None] = None
    lowered: Final[str | None] = None  # the text lower-cased, when the scan made it

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column in characters) of a file offset."""
        return self.lines.position(offset)

    def statement_starts(self) -> dict[int, int]:
        """Line -> offset of each instruction read (pragmas stand above)."""
        return {ins.start_line: ins.start for ins in self.instructions}

    def line_above(self, offset: int) -> str:
        """The physical line before the one holding ``offset``."""
        return line_above(self.text, offset)


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """BuildKit's lineContinuationRegex: an unescaped escape token at the end."""
    trimmed = line.rstrip(' \t')
    if trimmed[-1:] == escape and (len(trimmed) == 1 or trimmed[-2] != escape):
        return trimmed[:-1], True
    return line, False


@functools.cache
def _long_line_re() -> re.Pattern[str]:
    """Lines that may be too long, compiled on first use (only a text of
    16,384 characters can hold one).  Anchored at line starts: unanchored,
    a line one character short of the count is tried again from each of
    its characters (quadratic)."""
    return re.compile(r'^[^\n]{%d,}' % (MAX_LINE_BYTES // 4 + 1), re.M)


def line_bytes(line: str, first: bool, bom: bool) -> int:
    """The bytes of a physical line (its \\r included) that BuildKit's
    scanner holds: a leading BOM is in its buffer too, stripped only after
    the first line is read."""
    return len(line.encode('utf-8', 'surrogateescape')) + (len(BOM) if first and bom else 0)


def _check_line_lengths(text: str, bom: bool) -> None:
    # a character takes at most 4 bytes: only long lines need encoding, and
    # only a text of that many characters can hold one (even after a BOM:
    # 16,383 characters are at most 65,532 bytes)
    if len(text) <= MAX_LINE_BYTES // 4:
        return
    for m in _long_line_re().finditer(text):
        if line_bytes(m.group(), m.start() == 0, bom) > MAX_LINE_BYTES:
            number = text.count('\n', 0, m.start()) + 1
            raise DockerfileError(
                f'line {number}: dockerfile line greater than max allowed '
                f'size of {MAX_LINE_BYTES}',
            )


def _directive_value(line: str, after_equals: int) -> tuple[int, int] | None:
    r"""Where ``(.+?)\s*$`` puts the value, None when it does not match.

    Blanks after ``=`` are skipped and trailing ones dropped; a value of
    blanks only is its last blank, as the regular expression has it.
    """
    rest = line[after_equals:]
    if not rest:
        return None
    lead = len(rest) - len(rest.lstrip(_DIRECTIVE_BLANKS))
    if lead == len(rest):
        return len(line) - 1, len(line)
    trimmed = rest.rstrip(_DIRECTIVE_BLANKS)
    return after_equals + lead, after_equals + len(trimmed)


def _read_directives(text: str) -> tuple[list[Directive], str]:
    """Parser directives: comment lines of ``# key=value`` at the very top."""
    directives: list[Directive] = []
    escape = '\\'
    if text[:1] != '#' and text[:1] not in GO_SPACE:
        return directives, escape  # the common case: an instruction first
    offset = 0
    number = 1
    while offset <= len(text):
        end = text.find('\n', offset)
        end = len(text) if end < 0 else end
        content = text[offset:end].rstrip('\r\n')
        stripped = content.lstrip(GO_SPACE)
        m = _directive_re().match(stripped)
        name = m.group(1).lower() if m else ''
        value_at = _directive_value(stripped, m.end()) if m else None
        if m is None or value_at is None or name not in _KNOWN_DIRECTIVES:
            break
        if any(d.name == name for d in directives):
            break  # a repeated directive is a comment (BuildKit v0.32)
        value = stripped[value_at[0]:value_at[1]]
        if name == 'escape':
            if value not in ('\\', '`'):
                raise DockerfileError(
                    f'line {number}: invalid escape token {value!r} '
                    f'does not match ` or \\',
                )
            escape = value
        start = offset + len(content) - len(stripped) + value_at[0]
        directives.append(
            Directive(name, value, (start, start + len(value)), number),
        )
        offset = end + 1
        number += 1
    return directives, escape


def _join(raw: str, start: int, escape: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The logical line of an instruction's raw lines, with its pieces."""
    stripped = raw.lstrip(GO_SPACE)
    offset = start + len(raw) - len(stripped)
    if '\n' not in stripped.rstrip('\n'):
        line = stripped.rstrip('\r\n')
        return _trim_continuation(line, escape)[0], ((0, offset),)
    physical = stripped.split('\n')
    body, continued = _trim_continuation(physical[0].rstrip('\r'), escape)
    parts = [body]
    pieces = [(0, offset)]
    length = len(body)
    offset += len(physical[0]) + 1
    for content in physical[1:]:
        line_offset = offset
        offset += len(content) + 1
        content = content.rstrip('\r')
        after = content.lstrip(GO_SPACE)
        if not continued or not after or after[0] == '#':
            continue
        body, continued = _trim_continuation(content, escape)
        pieces.append((length, line_offset))
        parts.append(body)
        length += len(body)
    return ''.join(parts), tuple(pieces)


def _needs_join(cmd: str, raw: str, has_mounts: bool) -> bool:
    """Whether an instruction can name or feed an image, or open a heredoc."""
    if cmd == 'from' or cmd == 'arg':
        return True
    if cmd == 'env':
        return has_mounts  # ENV values only feed RUN --mount from=
    if cmd == 'onbuild':
        return True  # its trigger may be refused (ONBUILD FROM): always read
    if cmd in _HEREDOC_OPENERS:
        return '<<' in raw or _has_flags(raw, cmd)
    return False


def _has_flags(raw: str, cmd: str) -> bool:
    """Whether the instruction's arguments start with a ``--`` flag (or may,
    behind a continuation): its flags are then checked as BuildKit does."""
    head = raw.lstrip(GO_SPACE)[len(cmd):]
    rest = head.lstrip(' \t\v\f\r')
    return rest.startswith('--') or rest[:1] in ('\\', '`', '\n', '')


def _continues(line: str, escape: str) -> bool:
    """Whether a physical line ends with a line-continuation escape token."""
    last = line[-1:]
    if last != escape and last not in ' \t\r':
        return False  # the common case, decided without copying the line
    return _trim_continuation(line.rstrip('\r'), escape)[1]


@functools.lru_cache(maxsize=None)
def _continuation_re(escape: str) -> re.Pattern[str]:
    """The rest of a continued instruction, from the line after its first.

    Comment and blank lines are skipped, continued lines (an escape token
    not preceded by another, then blanks) go on, and the first other line
    ends the instruction.  One regex call instead of a Python loop a line:
    a continued line costs it a few steps only.
    """
    e = re.escape(escape)
    blank = GO_BLANK
    # possessive where what follows cannot start with what was taken (each
    # branch takes one whole line, and what follows the loop always
    # matches: nothing is ever given back)
    skip = rf'{blank}*+(?:#[^\n]*+)?\n'
    # the escape not preceded by another: the line is taken whole, then
    # given back to the last escape on it (the engine skips to it, as a
    # literal follows the repeat), which the lookbehind checks.  Written as
    # ``(?:[^\n]*[^e\n])?e`` it matched the same lines (tests/test_fuzz.py)
    # but backtracked through each line one character at a time, trying
    # the class then the escape: the last line of every continued
    # instruction, which has no escape, cost that at each character.  Tried
    # before ``skip``, whose blanks a continued line would read first
    continued = rf'[^\n]*{e}(?<!{e}{e})[ \t]*+\r*+\n'
    return re.compile(rf'(?:{continued}|{skip})*+[^\n]*+\n?')


@functools.lru_cache(maxsize=None)
def _candidate_re(escape: str, with_env: bool) -> re.Pattern[str]:
    """Lines that may start an instruction able to name or feed an image.

    FROM, ARG and ONBUILD always; ADD, COPY and RUN only when flags (``--``) or
    a continuation follow the command, since flags come first; ENV only in
    files with ``--mount`` (ENV can only feed ``RUN --mount from=``).
    """
    e = re.escape(escape)
    blank = GO_BLANK
    end = rf'(?=[\t\v\f\r ]|{e}|$)'
    commands = [
        rf'(?:from|arg|onbuild){end}',
        rf'(?:add|copy|run)(?:[\t\v\f\r ]+(?:--|{e}[ \t]*\r*$)|{e}[ \t]*\r*$)',
    ]
    if with_env:
        commands.append(rf'env{end}')
    # searched in the lower-cased text behind a newline: the literal first
    # character lets the regex engine jump from line to line; the blanks are
    # taken possessively (none is a letter: giving one back cannot match)
    return re.compile(
        rf'\n{blank}*+(?=[facore])(?:{"|".join(commands)})', re.MULTILINE,
    )


class _Scanner:
    """Walks one file's text instruction by instruction."""

    def __init__(self, text: str, escape: str, join_all: bool) -> None:
        self.text = text
        self.escape = escape
        self.join_all = join_all
        # whether ENV can feed an image (RUN --mount from=): asked only
        # when not every instruction is joined
        self.has_mounts = not join_all and '--mount' in text
        # (line, offset, word) of instructions BuildKit does not know
        self.unknown: list[tuple[int, int, str]] = []
        self.starts: list[int] = []  # of every instruction read
        self.lowered: str | None = None
        # an offset above which the text is blank and comment lines only
        self.comments_until = 0

    def is_skipped(self, line: str) -> bool:
        head = line.lstrip(GO_SPACE)
        return not head or head[0] == '#'

    def instruction_at(
            self, start: int, line_number: int,
    ) -> tuple[Instruction | None, int, int]:
        """The instruction whose first line starts at ``start`` (line
        ``line_number``), where the next one may start, and its line."""
        text = self.text
        escape = self.escape
        size = len(text)
        eol = text.find('\n', start)
        if eol < 0:
            eol = size
        first = text[start:eol]
        offset = eol + 1
        head = first.lstrip(GO_SPACE)
        start_line = line_number
        last = head[-1:]
        continued = (last == escape or last in ' \t\r') and _continues(
            head, escape,
        )
        if continued and offset < size:
            # compiled on first use: a file may continue no instruction the
            # fast scan reads
            block = _continuation_re(escape).match(text, offset)
            assert block is not None  # it matches the empty string
            end = block.end()
            line_number += text.count('\n', offset, end)
            if end > offset and text[end - 1] != '\n':
                line_number += 1  # a last line without a newline
            offset = end
            raw = text[start:offset].rstrip('\n') if offset > start else first
        else:
            raw = first
        m = _CMD_RE.match(head)
        word = m.group() if m else ''
        cmd = word.lower()
        command_joined = continued and (m is None or m.end() >= len(
            head.rstrip(' \t\r'),
        ))
        if command_joined:
            # the command itself runs into the continuation (or the first
            # line is the escape alone): BuildKit names the joined one
            word = command_word(_join(raw, start, escape)[0])
            cmd = word.lower()
        self.starts.append(start)
        if cmd not in KNOWN_INSTRUCTIONS and m is not None:
            self.unknown.append((start_line, start + len(first) - len(head), word))
        if cmd != 'from' and not self.join_all and not _needs_join(
            cmd, raw, self.has_mounts,
        ):
            return None, offset, line_number
        if continued:
            line, pieces = _join(raw, start, escape)
        else:
            # one line, not ending in the escape: what _join makes of it
            line = head.rstrip('\r')
            pieces = ((0, start + len(first) - len(head)),)
        if command_joined or m is None:
            args = args_start(line)
        else:
            # the line starts with the command (``head`` has no leading
            # blank; a join comes after the separator that ends it): the
            # arguments start after the separators that follow it
            rest = line[m.end():]
            args = len(line) - len(rest.lstrip('\t\v\f\r '))
        end_line = line_number
        if '<<' in line:
            for name, chomp in _heredocs(cmd, line):
                while offset < size:
                    eol = text.find('\n', offset)
                    if eol < 0:
                        eol = size
                    candidate = text[offset:eol].rstrip('\r')
                    offset = eol + 1
                    line_number += 1
                    if chomp:
                        candidate = candidate.lstrip('\t')
                    if candidate == name:
                        break
                else:
                    raise DockerfileError(
                        f'line {start_line}: unterminated heredoc <<{name}',
                    )
            end_line = line_number
        return Instruction(
            cmd, start_line, end_line, start, min(offset, size), line, pieces, args,
        ), offset, line_number

    def every_line(self) -> Iterator[Instruction]:
        """BuildKit's own walk: every physical line, in order."""
        text = self.text
        size = len(text)
        line_number = 0  # of the line before ``offset``
        offset = 0
        while offset < size:
            eol = text.find('\n', offset)
            if eol < 0:
                eol = size
            line_number += 1
            if self.is_skipped(text[offset:eol]):
                offset = eol + 1
                continue
            ins, offset, line_number = self.instruction_at(offset, line_number)
            if ins is not None:
                yield ins

    def continues_before(self, offset: int) -> bool:
        """Whether the line at ``offset`` continues an instruction: the line
        before it that is neither blank nor a comment ends with the escape.
        Only the blank and comment lines in between are walked."""
        text = self.text
        escape = self.escape
        line_start = offset
        while line_start > 0:
            previous = text.rfind('\n', 0, line_start - 1) + 1
            if text[previous] == '#':
                line_start = previous  # a comment, as instruction_start tells it
                continue
            head = text[previous:line_start - 1].lstrip(GO_SPACE)
            line_start = previous
            if head and head[0] != '#':  # neither blank nor a comment
                # (_continues' own first test, without a call for most lines)
                last = head[-1]
                return (last == escape or last in ' \t\r') and _continues(head, escape)
        return False

    def continued_end(self, offset: int) -> int:
        """Where the instruction that the line at ``offset`` continues
        ends: that line and the rest, read as instruction_at reads the
        lines after an instruction's first."""
        block = _continuation_re(self.escape).match(self.text, offset)
        assert block is not None  # it matches the empty string
        return block.end()

    def instruction_start(self, offset: int, floor: int = 0) -> int:
        """Where the instruction holding the line at ``offset`` starts: go
        back while the previous line that counts is a continued one.

        ``floor``: where an instruction read before ends (the line there
        starts one): the walk stops at it, rather than crossing the blank
        and comment lines above to that instruction's last line, which
        does not continue."""
        text = self.text
        escape = self.escape
        start = offset
        line_start = offset
        while line_start > floor:
            previous = text.rfind('\n', 0, line_start - 1) + 1
            if text[previous] == '#':
                # a comment from the line's start (a file's header is
                # many), told without copying the line
                line_start = previous
                continue
            head = text[previous:line_start - 1].lstrip(GO_SPACE)
            line_start = previous
            if not head or head[0] == '#':
                continue  # a blank or comment line
            # (_continues' own first test, without a call for most lines)
            last = head[-1]
            if last != escape and last not in ' \t\r' or not _continues(head, escape):
                break
            start = previous
        else:
            if start == offset and line_start == 0:
                # every line above is blank or a comment: what parse asks
                # comments_only next, told by this walk over the same lines
                self.comments_until = offset
        return start

    def candidates(self) -> Iterator[Instruction]:
        """Only the instructions that can matter, found by one regex.

        Valid where no heredoc can hide lines (the caller checks for
        ``<<``): then a line starts an instruction exactly when the previous
        line that is neither blank nor a comment does not continue.
        """
        text = self.text
        pattern = _candidate_re(self.escape, self.has_mounts)
        lowered = text.lower()
        self.lowered = lowered if len(lowered) == len(text) else None
        if len(lowered) != len(text):
            # a character whose lower case is longer would shift offsets
            yield from self.every_line()
            return
        done = 0  # offset after the last instruction read
        line_number = 1  # of ``counted``
        counted = 0
        # behind the added newline, a match at i is the line starting at i
        for m in pattern.finditer('\n' + lowered):
            at = m.start()
            if at < done:
                continue  # inside the instruction just read
            start = self.instruction_start(at, done) if at else 0
            if start < done:
                continue
            line_number += text.count('\n', counted, start)
            counted = start
            ins, done, _ = self.instruction_at(start, line_number)
            if ins is not None:
                yield ins


def comments_only(text: str, end: int) -> bool:
    r"""Whether ``text[:end]`` is blank and comment lines only: what
    ``(?:[ \t\r\f\v]*(?:#[^\n]*)?(?:\n|\Z))*\Z`` matches, told without
    compiling it (tests/test_fuzz.py holds them alike)."""
    for line in text[:end].split('\n'):
        head = line.lstrip(' \t\r\f\v')
        if head and head[0] != '#':
            return False
    return True


def _before_first_stage(
        text: str, escape: str, first_from: int, comments_until: int = 0,
) -> tuple[int, bool]:
    """(line of the first instruction other than ARG before the first FROM,
    or 0; whether there is any instruction there).  ``comments_until``: an
    offset above which the text is known to hold no instruction."""
    if first_from <= comments_until or comments_only(text, first_from):
        return 0, False  # the common case: comments and blank lines only
    scanner = _Scanner(text[:first_from], escape, True)
    any_instruction = False
    for ins in scanner.every_line():
        any_instruction = True
        if ins.cmd != 'arg' and ins.cmd in KNOWN_INSTRUCTIONS:
            return ins.start_line, True
    return 0, any_instruction or bool(scanner.unknown)


def parse(data: bytes, *, join_all: bool = False) -> Dockerfile:
    """Read ``data`` into instructions, as BuildKit's parser.Parse does.

    Only instructions that can name or feed an image are kept, with their
    logical line joined; ``join_all`` keeps and joins every instruction.
    """
    # find, not ``in``: bytes' ``in`` first tries the operand as an integer
    # and raises (and drops) a TypeError for every bytes operand
    if data.find(b'\0') >= 0:
        raise DockerfileError('binary file (it contains NUL bytes)')
    text, bom = decode(data)
    if len(text) > MAX_LINE_BYTES // 4:  # (only then can a line be too long)
        _check_line_lengths(text, bom)
    directives, escape = _read_directives(text)
    if directives:
        # the parser reads a syntax directive as a comment; the frontend
        # image is what DetectSyntax finds, by its own rules
        directives = [d for d in directives if d.name != 'syntax']
    syntax = detect_syntax(text)
    if syntax is not None:
        directives.append(syntax)
    if not text:
        raise DockerfileError('the Dockerfile cannot be empty')
    scanner = _Scanner(text, escape, join_all)
    starts: frozenset[int] | None = None
    unknown: list[tuple[int, int, str]] | None = None
    # a heredoc needs ``<<``; one character is looked for by memchr, and
    # three files in four have no ``<`` at all: asked first, it spares them
    # the slower search for two (1.5 ms instead of 4.7 over the corpus)
    if join_all or '<' in text and '<<' in text:
        instructions = tuple(scanner.every_line())
        unknown = scanner.unknown
        starts = frozenset(scanner.starts)
    else:
        # unknown instructions are found with the other checks, in one pass
        instructions = tuple(scanner.candidates())
    first_from = len(text)
    for ins in instructions:
        if ins.cmd == 'from':
            first_from = ins.start
            break
    stageless, any_before = _before_first_stage(
        text, escape, first_from, scanner.comments_until,
    )
    if first_from == len(text) and not any_before:
        raise DockerfileError('file with no instructions')
    return Dockerfile(
        text, bom, tuple(directives), instructions, escape, LineIndex(text),
        None if unknown is None else tuple(unknown), stageless, starts,
        scanner.lowered,
    )


class InstructionFinder:
    """Instructions at given offsets of a parsed file, for the checks that
    find lines by regular expression.  One scanner serves every call."""

    def __init__(self, doc: Dockerfile) -> None:
        self.doc = doc
        self.scanner = _Scanner(doc.text, doc.escape, True)

    def continues_before(self, offset: int) -> bool:
        """Whether the line at ``offset`` continues an instruction."""
        return self.scanner.continues_before(offset)

    def at(self, offset: int) -> Instruction | None:
        """The instruction whose first line starts at ``offset``, every line
        joined; None when that line continues another instruction or lies
        in a heredoc body."""
        return _instruction_at(self.doc, self.scanner, offset)


def _instruction_at(doc: Dockerfile, scanner: _Scanner, offset: int) -> Instruction | None:
    if doc.starts is not None:
        if offset not in doc.starts:
            return None
    elif scanner.continues_before(offset):
        return None
    line = doc.lines.position(offset)[0]
    return scanner.instruction_at(offset, line)[0]


def command_word(line: str) -> str:
    """The command of a logical line as written (splitCommand's first
    word), empty for a blank line."""
    m = _CMD_RE.search(line)
    return m.group() if m else ''


def split_command(line: str) -> tuple[str, int]:
    """(lower-cased command, index where its arguments start)."""
    lead = len(line) - len(line.lstrip(GO_SPACE))
    m = _ARG_SEP_RE.search(line, lead)
    if m is None:
        return line[lead:].rstrip(GO_SPACE).lower(), len(line)
    return line[lead:m.start()].lower(), m.end()


def args_start(line: str) -> int:
    """split_command's index where the arguments start, without the
    command lower-cased."""
    m = _ARG_SEP_RE.search(line, len(line) - len(line.lstrip(GO_SPACE)))
    return len(line) if m is None else m.end()


def _is_json_array(args: str) -> bool:
    rest = args.lstrip(GO_SPACE)
    if not rest.startswith('['):
        return False
    import json
    try:
        value = json.loads(rest)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _heredocs(cmd: str, line: str) -> list[tuple[str, bool]]:
    """Heredocs an instruction opens: (terminator, strip leading tabs)."""
    start = split_command(line)[1]
    if cmd == 'onbuild':
        cmd, sub_start = split_command(line[start:].lstrip(GO_SPACE))
        start = len(line) - len(line[start:].lstrip(GO_SPACE)) + sub_start
    if cmd not in _HEREDOC_COMMANDS:
        return []
    flags_end, _ = extract_flags(line, start)
    if _is_json_array(line[flags_end:]):
        return []
    try:
        words = shell_words(line, raw=True)
    except ExpansionError:
        return []  # BuildKit ignores its lexer's error here: no heredoc
    found = []
    for word in words:
        m = _heredoc_re().match(word)
        if m is None or not m.group(3):
            continue
        rest = m.group(3)
        try:
            names = shell_words(rest, raw=False)
        except ExpansionError as e:
            raise DockerfileError(f'failed to process {go_quote(rest)}: {e}') from None
        if len(names) == 1:  # a heredoc's name is one word
            found.append((names[0], m.group(2) == '-'))
    return found


def extract_flags(
        line: str, start: int, escape: str = '\\',
) -> ReadFlags:
    """BuildKit's extractBuilderFlags from ``line[start:]``, with the file's
    escape character.

    Returns where the arguments start and each flag as (value with quotes
    and escapes removed, raw start, raw end).
    """
    flags: list[tuple[str, int, int]] = []
    n = len(line)
    i = start
    space = ' \t\n\v\f\r\x85\xa0'
    while True:
        while i < n and line[i] in space:
            i += 1
        if i >= n - 1 or line[i] != '-' or line[i + 1] != '-':
            return i, flags
        word_start = i
        plain = _plain_flag_re().match(line, i)
        if plain is not None:  # no quotes or escapes: the word as written
            i = plain.end()
            if plain.group() == '--':
                return i, flags
            flags.append((plain.group(), word_start, i))
            continue
        out = []
        while i < n and line[i] not in space:
            ch = line[i]
            if ch in '\'"':
                end = i + 1
                while end < n and line[end] != ch:
                    if line[end] == escape and end + 1 < n:
                        out.append(line[end + 1])
                        end += 2
                        continue
                    out.append(line[end])
                    end += 1
                i = end + 1
                continue
            if ch == escape:
                if i + 1 < n:
                    out.append(line[i + 1])
                i += 2
                continue
            out.append(ch)
            i += 1
        i = min(i, n)
        word = ''.join(out)
        if word == '--':
            return i, flags
        flags.append((word, word_start, i))


@functools.lru_cache(maxsize=None)
def _word_run_re(escape: str) -> re.Pattern[str]:
    """A run of a word's characters that are neither quotes nor ``escape``
    (nor Go's blanks, which end the word): arg_words takes it at once."""
    return re.compile(f'[^{re.escape(GO_SPACE + escape)}\'"]+')


@functools.lru_cache(maxsize=None)
def _double_quoted_re(escape: str) -> re.Pattern[str]:
    """The inside of a double-quoted run: ``escape`` takes the character
    after it, whatever it is."""
    e = re.escape(escape)
    return re.compile(f'(?:[^"{e}]++|{e}[\\s\\S])*+')


def arg_words(line: str, start: int, escape: str) -> list[tuple[str, int, int]]:
    """BuildKit's parseWords: blank-separated, quotes and escapes kept."""
    words = []
    i = start
    n = len(line)
    while i < n:
        while i < n and line[i] in GO_SPACE:
            i += 1
        if i >= n:
            break
        word_start = i
        plain = _plain_word_re().match(line, i)
        if plain is not None and escape != '`':
            i = plain.end()
            words.append((plain.group(), word_start, i))
            continue
        plain_run = _word_run_re(escape)
        while i < n and line[i] not in GO_SPACE:
            ch = line[i]
            if ch == escape:
                i += 2
                continue
            if ch == "'":  # no escapes inside
                j = line.find("'", i + 1)
                i = n if j < 0 else j + 1
                continue
            if ch == '"':
                inside = _double_quoted_re(escape).match(line, i + 1)
                assert inside is not None  # it matches the empty string
                j = inside.end()
                i = j + 1 if j < n and line[j] == '"' else n
                continue
            run = plain_run.match(line, i)
            assert run is not None  # ch itself is one
            i = run.end()
        i = min(i, n)
        words.append((line[word_start:i], word_start, i))
    return words
