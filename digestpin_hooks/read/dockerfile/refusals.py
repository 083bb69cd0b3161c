"""What BuildKit v0.32's instruction parser refuses, beyond image references.

A file BuildKit refuses is reported as BuildKit reports it (one line, exit
2) rather than linted as if the build worked: a flag without its value, a
flag given twice, an unknown ``RUN --network`` mode, ``ENV x`` without a
value, ``HEALTHCHECK`` without arguments.  A flag or instruction BuildKit does
not know may be newer syntax than v0.32, so it is only noted (DP010) and the
file is read on.

The instructions that name images are checked as they are read; ENV, LABEL
and HEALTHCHECK (which the fast scan does not read) are found by regular
expressions that only a line starting with them can match.
"""
from __future__ import annotations

import functools
import re

from digestpin_hooks.model import Record
from digestpin_hooks.read.dockerfile.parser import arg_words
from digestpin_hooks.read.dockerfile.parser import command_word
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.parser import extract_flags
from digestpin_hooks.read.dockerfile.parser import Instruction
from digestpin_hooks.read.dockerfile.parser import InstructionFinder
from digestpin_hooks.read.dockerfile.parser import KNOWN_INSTRUCTIONS
from digestpin_hooks.read.dockerfile.parser import split_command
from digestpin_hooks.read.dockerfile.shell import GO_BLANK
from digestpin_hooks.read.dockerfile.shell import go_quote
from digestpin_hooks.read.dockerfile.shell import GO_SPACE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Final
    from digestpin_hooks.read.dockerfile.parser import Dockerfile
    from digestpin_hooks.read.dockerfile.parser import ReadFlags

BOOL, STRING, STRINGS = 'bool', 'string', 'strings'
# the flags each instruction takes in BuildKit v0.32, and their kinds
FLAGS = {
    'add': {
        'chown': STRING, 'chmod': STRING, 'link': BOOL, 'keep-git-dir': BOOL,
        'checksum': STRING, 'unpack': BOOL, 'exclude': STRINGS,
    },
    'copy': {
        'from': STRING, 'chown': STRING, 'chmod': STRING, 'link': BOOL,
        'parents': BOOL, 'exclude': STRINGS,
    },
    'from': {'platform': STRING},
    'run': {'mount': STRINGS, 'network': STRING, 'security': STRING},
}
NETWORK_MODES = frozenset(('default', 'none', 'host'))


class UnknownSyntax(Record):
    """An instruction or flag BuildKit v0.32 does not know (DP010)."""

    line: Final[int]
    offset: Final[int]  # where the word stands in the file
    word: Final[str]
    what: Final[str]  # 'instruction', or the instruction a flag was given to


def _parse_error(ins: Instruction, message: str) -> DockerfileError:
    return DockerfileError(
        f'dockerfile parse error on line {ins.start_line}: {message}',
        located=True,
    )


def check_flags(
        ins: Instruction, cmd: str, escape: str,
        flags: list[tuple[str, int, int]] | None = None,
) -> list[UnknownSyntax]:
    """BuildKit's BFlags.Parse over one instruction's flags (``flags``:
    extract_flags' of them, when read already): DockerfileError for what it
    refuses, UnknownSyntax for flags it does not know."""
    known = FLAGS.get(cmd)
    if flags is None:
        _, flags = extract_flags(ins.line, ins.args, escape)
    unknown: list[UnknownSyntax] = []
    used: set[str] = set()
    for flag, raw_start, _ in flags:
        name, eq, value = flag[2:].partition('=')
        kind = (known or {}).get(name)
        if kind is None:
            unknown.append(UnknownSyntax(
                ins.start_line, ins.offset(raw_start), f'--{name}', cmd.upper(),
            ))
            continue
        if name in used and kind != STRINGS:
            raise _parse_error(ins, f'duplicate flag specified: --{name}')
        used.add(name)
        if kind == BOOL:
            if eq and not value:
                raise _parse_error(ins, f'missing a value on flag: --{name}')
            if value.lower() not in ('', 'true', 'false'):
                raise _parse_error(
                    ins, f'expecting boolean value for flag {name}, not: {value}',
                )
        elif not eq:
            raise _parse_error(ins, f'missing a value on flag: --{name}')
        if cmd == 'run' and name == 'network' and value not in NETWORK_MODES:
            raise _parse_error(ins, f'invalid network mode "{value}"')
    return unknown


def check_instructions(
        doc: Dockerfile, read_flags: dict[int, ReadFlags] | None = None,
) -> list[UnknownSyntax]:
    """Every check of this module over a parsed file; DockerfileError for
    the first refusal, else what BuildKit does not know, in line order.

    ``read_flags``, when given, gets extract_flags' reading of each
    instruction whose flags are checked, by where it starts: image_refs
    reads the same flags (2,170 instructions over the corpus)."""
    unknown = [
        UnknownSyntax(line, offset, word, 'instruction')
        for line, offset, word in doc.unknown
    ] if doc.unknown else []
    for ins in doc.instructions:
        if ins.cmd in FLAGS and '--' in ins.line:
            read = extract_flags(ins.line, ins.args, doc.escape)
            if read_flags is not None:
                read_flags[ins.start] = read
            unknown.extend(check_flags(ins, ins.cmd, doc.escape, read[1]))
    text = doc.lowered or doc.text
    # most files have no HEALTHCHECK: their pattern has no branch for it
    # (its text has nothing it could match), half a million instructions
    # less to compile in a lint of one file
    with_healthcheck = doc.lowered is None or 'healthcheck' in doc.lowered
    pattern = _lines_to_check(
        doc.escape, doc.lowered is None, doc.unknown is None, with_healthcheck,
    )
    finder: InstructionFinder | None = None
    # the unknown branch's group closes last in it: lastindex tells it
    unknown_group = pattern.groupindex['unknown']
    # where the continued instruction last met ends: a match before it is
    # on a line that continues it, dropped without walking back to the line
    # it continues (a continued RUN with comments between its lines has a
    # match after each comment: 5,050 matches in 1,300 instructions over
    # the corpus)
    continued_until = 0
    for line_start, m in _line_matches(pattern, text):
        if line_start < continued_until:
            continue
        found: re.Match[str] | None = m
        while found is not None and found.lastindex is None:
            # a comment line ending in the escape (the one branch without a
            # group): the pattern skips the line after it, but BuildKit
            # drops a comment before it looks for a continuation.  That
            # line is tried alone, behind a newline of its own that no
            # lookbehind sees past (the finder tells if it continues)
            line_start = text.index('\n', line_start) + 1
            end = text.find('\n', line_start)
            found = pattern.match(
                '\n' + (text[line_start:] if end < 0 else text[line_start:end + 1]),
            )
        if found is None:
            continue
        if finder is None:
            # made on first use: most files have no line to look at
            finder = InstructionFinder(doc)
        if found.lastindex == unknown_group:
            # the most common match (a line after a comment inside a
            # continued instruction: the pattern cannot look two lines
            # back), decided here rather than in _check_line
            if finder.scanner.continues_before(line_start):
                continued_until = finder.scanner.continued_end(line_start)
            else:
                _add_unknown(doc, line_start, found, unknown)
            continue
        _check_line(doc, line_start, found, finder, unknown)
    if len(unknown) > 1:
        unknown.sort(key=lambda u: (u.line, u.offset))
    return unknown


def _check_line(
        doc: Dockerfile, line_start: int, m: re.Match[str],
        finder: InstructionFinder, unknown: list[UnknownSyntax],
) -> None:
    """The checks of the line at ``line_start``, which ``m`` matched."""
    if m.group('unknown'):
        if not finder.continues_before(line_start):
            _add_unknown(doc, line_start, m, unknown)
        return
    found = finder.at(line_start)
    if found is None:
        return
    if m.group('joined') is not None:
        # the first word runs into the next line: the command is the
        # joined line's (a line of the escape alone starts one too)
        if found.cmd not in KNOWN_INSTRUCTIONS:
            if doc.unknown is None:
                start = line_start + m.start('joined') - m.start() - 1
                unknown.append(UnknownSyntax(
                    found.start_line, start, command_word(found.line),
                    'instruction',
                ))
        elif found.cmd in ('env', 'label'):
            _check_name_value(doc, found, found.cmd.upper())
        elif found.cmd == 'healthcheck':
            _check_healthcheck(doc, found)
        elif found.cmd in _NO_FLAGS:
            unknown.extend(check_flags(found, found.cmd, doc.escape))
    elif m.group('name_value'):
        _check_name_value(doc, found, m.group('name_value').upper())
    elif m.group('healthcheck'):
        _check_healthcheck(doc, found)
    else:
        unknown.extend(check_flags(found, m.group('no_flags'), doc.escape))


def _add_unknown(
        doc: Dockerfile, line_start: int, m: re.Match[str], unknown: list[UnknownSyntax],
) -> None:
    """The first word of the line, which ``m`` matched, as an unknown
    instruction."""
    word = m.group('unknown')
    # the match starts at the newline before the line
    start = line_start + m.start('unknown') - m.start() - 1
    unknown.append(UnknownSyntax(
        doc.position(start)[0], start, doc.text[start:start + len(word)], 'instruction',
    ))


def _check_healthcheck(doc: Dockerfile, ins: Instruction) -> None:
    args_end, _ = extract_flags(ins.line, split_command(ins.line)[1], doc.escape)
    if not ins.line[args_end:].strip(GO_SPACE):
        raise _parse_error(ins, 'HEALTHCHECK requires at least one argument')


# the instructions that take no flags
_NO_FLAGS = (
    'arg', 'cmd', 'entrypoint', 'env', 'expose', 'label', 'maintainer',
    'shell', 'stopsignal', 'user', 'volume', 'workdir',
)


@functools.lru_cache(maxsize=None)
def _lines_to_check(
    escape: str, ignore_case: bool, with_unknown: bool, with_healthcheck: bool,
) -> re.Pattern[str]:
    """One pass over the (lower-cased) text for the lines BuildKit may
    refuse that the fast scan does not read:

    - ``no_flags``: an instruction that takes no flags, given one;
    - ``name_value``: ENV or LABEL with one word only, or with a word
      without ``=`` after a first one with it ([^\\s=]* before each ``=``
      leaves one way to split a word: no backtracking on hostile lines);
    - ``healthcheck``: HEALTHCHECK with nothing but flags (without
      ``with_healthcheck``, for a lower-cased text that does not hold the
      word, its group is there as an alternative that never matches);
    - ``joined``: a first word that runs into the next line (an escape
      at its end, BuildKit's ``[^e]e[ \\t]*$``, or the escape alone): the
      command is the joined line's;
    - ``unknown``: a first word that is no instruction.

    The lines right after one ending in an unescaped escape are not tried
    (continuations), but for a comment line BuildKit drops the comment
    before it looks for an escape: a comment line ending so is matched by
    the one branch without a group, for the caller to try the next line
    alone, behind a newline of its own (no second pattern to compile).

    The pattern starts with the newline before a line: one that starts
    with ``^`` under ``re.M`` is tried at every character, and a literal
    first character lets the engine skip to the next newline (a third less
    time over the corpus).  The first line is matched behind a newline of
    its own (_line_matches), not by a second pattern, whose compiling was
    5 million instructions of every lint of a Dockerfile (4%).
    """
    blank = GO_BLANK
    e = re.escape(escape)
    no_flags = '|'.join(_NO_FLAGS)
    # the first letters of the instructions the named branches look for
    named_first = ''.join(sorted({word[0] for word in (*_NO_FLAGS, 'healthcheck')}))
    known = '|'.join(sorted(KNOWN_INSTRUCTIONS))
    # an escape ending the first word, not escaped itself: the word goes on
    # on the next line that is neither blank nor a comment
    joined_end = rf'(?<={e})(?<!{e}{e})[ \t]*+\r*+$'
    joined = rf'(?P<joined>\S*+{joined_end})'
    # one guard before both branches: a known instruction ending its word
    # (or followed by an escape that does not join it to the next line) is
    # neither joined nor unknown.  RUN, FROM and COPY lines fail here at
    # once instead of reading their first word for the joined branch (7
    # million instructions over the corpus), and the instructions are
    # compiled into one alternation, not two.  Without the unknown branch,
    # its group is still there (the callers ask for it) as an alternative
    # that never matches
    not_known = rf'(?!(?:{known})(?:[\t\v\f\r ]|$|{e}(?!\S*+{joined_end})))'
    unknown = r'|(?P<unknown>[^\s#]\S*)' if with_unknown else '|(?P<unknown>(?!))'
    healthcheck = (
        rf'(?P<healthcheck>healthcheck)(?:{blank}+--\S*)*{blank}*\r?$'
        if with_healthcheck else '(?P<healthcheck>(?!))'
    )
    # a comment line ending as the lookbehinds below skip the line after;
    # no group (a group costs every comment line: 7 million instructions
    # over the corpus): the caller tells it by ``lastindex`` being None
    comment = rf'|#[^\n]*+(?:(?<=[^{e}]{e})|(?<=[^{e}]{e}\r))(?=\n)'
    # the lookbehinds skip the lines right after an escaped newline
    # (continuations); the blanks are taken possessively (no branch starts
    # with one), a blank or comment line fails at once (every branch starts
    # with neither), and a line whose first letter starts none of the named
    # branches (RUN, FROM, COPY...) goes straight to the unknown one.  The
    # alternations stay flat: grouped by first letter they took 4 million
    # instructions off the corpus but 100 µs more to compile, in every run
    line = (
        rf'{blank}*+(?:(?=[^\s#])(?:(?=[{named_first}])(?:'
        rf'(?P<no_flags>{no_flags}){blank}+--|'
        rf'(?P<name_value>env|label){blank}++(?:[^\s=]++{blank}*+\r?$|'
        rf'[^\s=]*+=\S*+(?:{blank}++[^\s=]*+=\S*+)*+{blank}++[^\s=]++(?=\s|$))|'
        + healthcheck +
        rf')|{not_known}(?:{joined}{unknown})){comment})'
    )
    flags = re.M | (re.I if ignore_case else 0)
    skip = rf'(?<![^{e}]{e}\n)(?<![^{e}]{e}\r\n)'
    return re.compile(rf'\n{skip}{line}', flags)


def _line_matches(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, re.Match[str]]]:
    """(start of the line, match) for each line the pattern matches behind
    the newline before it: the first line behind one put before a copy of
    it (nothing the pattern reads crosses a line's end), every other line
    where it stands in ``text``."""
    end = text.find('\n')
    m = pattern.match('\n' + (text if end < 0 else text[:end + 1]))
    if m:
        yield 0, m
    for m in pattern.finditer(text):
        yield m.start() + 1, m


def _check_name_value(doc: Dockerfile, ins: Instruction, key: str) -> None:
    """parseNameVal: ``ENV name value`` needs the value; with ``=`` in the
    first word, every word needs one."""
    # BuildKit's splitCommand trims the line's blanks, a \r too
    rest = ins.line[split_command(ins.line)[1]:].strip(GO_SPACE)
    words = [w for w, _, _ in arg_words(rest, 0, doc.escape)]
    if words and words[-1] == doc.escape:
        words.pop()  # parseWords skips an escape ending the line
    if not words:
        return
    if '=' not in words[0]:
        if len(re.split('[\t\v\f\r ]+', rest.strip(GO_SPACE), maxsplit=1)) < 2:
            raise _parse_error(ins, f'{key} must have two arguments')
        return
    for word in words:
        if '=' not in word:
            raise _parse_error(ins, (
                f"Syntax error - can't find = in {go_quote(word)}. Must be of "
                f'the form: name=value'
            ))
