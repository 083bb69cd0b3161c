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

from digestpin_hooks._dockerfile import arg_words
from digestpin_hooks._dockerfile import DockerfileError
from digestpin_hooks._dockerfile import extract_flags
from digestpin_hooks._dockerfile import GO_SPACE
from digestpin_hooks._dockerfile import Instruction
from digestpin_hooks._dockerfile import instructions_at
from digestpin_hooks._dockerfile import split_command
from digestpin_hooks._records import NamedTuple
from digestpin_hooks._records import TYPE_CHECKING

if TYPE_CHECKING:
    from digestpin_hooks._dockerfile import Dockerfile

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


class UnknownSyntax(NamedTuple):
    """An instruction or flag BuildKit v0.32 does not know (DP010)."""

    line: int
    offset: int  # where the word stands in the file
    word: str
    what: str  # 'instruction', or the instruction a flag was given to


def _parse_error(ins: Instruction, message: str) -> DockerfileError:
    return DockerfileError(
        f'dockerfile parse error on line {ins.start_line}: {message}',
    )


def check_flags(ins: Instruction, cmd: str, start: int, escape: str) -> list[UnknownSyntax]:
    """BuildKit's BFlags.Parse over one instruction's flags: DockerfileError
    for what it refuses, UnknownSyntax for flags it does not know."""
    known = FLAGS.get(cmd)
    args_start = split_command(ins.line[start:])[1] + start
    _, flags = extract_flags(ins.line, args_start, escape)
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


def check_instructions(doc: Dockerfile) -> list[UnknownSyntax]:
    """Every check of this module over a parsed file; DockerfileError for
    the first refusal, else what BuildKit does not know, in line order."""
    unknown = [
        UnknownSyntax(line, offset, word, 'instruction')
        for line, offset, word in doc.unknown
    ]
    for ins in doc.instructions:
        if ins.cmd in FLAGS:
            unknown.extend(check_flags(ins, ins.cmd, 0, doc.escape))
    unknown.extend(_flags_of_other_instructions(doc))
    _check_name_values(doc)
    _check_healthchecks(doc)
    unknown.sort()
    return unknown


@functools.lru_cache(maxsize=None)
def _other_flags_re() -> re.Pattern[str]:
    """Instructions that take no flags (HEALTHCHECK's are not checked),
    written with one: BuildKit knows none of them."""
    blank = '[' + re.escape(GO_SPACE.replace('\n', '')) + ']'
    commands = 'arg|cmd|entrypoint|env|expose|label|maintainer|shell|stopsignal|user|volume|workdir'
    return re.compile(rf'^{blank}*({commands}){blank}+--', re.M | re.I)


def _flags_of_other_instructions(doc: Dockerfile) -> list[UnknownSyntax]:
    found: list[UnknownSyntax] = []
    instruction_at = instructions_at(doc)
    for m in _other_flags_re().finditer(doc.text):
        ins = instruction_at(m.start())
        if ins is not None:
            found.extend(check_flags(ins, m.group(1).lower(), 0, doc.escape))
    return found


@functools.lru_cache(maxsize=None)
def _name_value_re(escape: str) -> re.Pattern[str]:
    """ENV and LABEL lines that may be malformed: one word only, or a first
    word with ``=`` followed by more (each must then hold ``=``)."""
    blank = '[' + re.escape(GO_SPACE.replace('\n', '')) + ']'
    return re.compile(
        rf'^{blank}*(env|label){blank}+(?:[^\s=]+{blank}*\r?$|\S*=.*\s\S)',
        re.M | re.I,
    )


def _check_name_values(doc: Dockerfile) -> None:
    """parseNameVal: ``ENV name value`` needs the value; with ``=`` in the
    first word, every word needs one."""
    instruction_at = instructions_at(doc)
    for m in _name_value_re(doc.escape).finditer(doc.text):
        ins = instruction_at(m.start())
        if ins is None:
            continue
        key = m.group(1).upper()
        rest = ins.line[split_command(ins.line)[1]:]
        words = [w for w, _, _ in arg_words(rest, 0, doc.escape)]
        if not words:
            continue
        if '=' not in words[0]:
            if len(re.split('[\t\v\f\r ]+', rest.strip(GO_SPACE), maxsplit=1)) < 2:
                raise _parse_error(ins, f'{key} must have two arguments')
            continue
        for word in words:
            if '=' not in word:
                raise _parse_error(ins, (
                    f"Syntax error - can't find = in \"{word}\". Must be of "
                    f'the form: name=value'
                ))


@functools.lru_cache(maxsize=None)
def _healthcheck_re() -> re.Pattern[str]:
    blank = '[' + re.escape(GO_SPACE.replace('\n', '')) + ']'
    return re.compile(
        rf'^{blank}*healthcheck(?:{blank}+--\S*)*{blank}*\r?$', re.M | re.I,
    )


def _check_healthchecks(doc: Dockerfile) -> None:
    instruction_at = instructions_at(doc)
    for m in _healthcheck_re().finditer(doc.text):
        ins = instruction_at(m.start())
        if ins is not None and ins.line.strip(GO_SPACE).lower() == m.group().strip(GO_SPACE).lower():
            raise _parse_error(ins, 'HEALTHCHECK requires at least one argument')
