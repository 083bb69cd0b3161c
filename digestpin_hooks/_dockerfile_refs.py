"""A parsed Dockerfile -> every place BuildKit would pull an image.

``FROM`` (with global ``ARG`` scope and earlier stage names), ``COPY
--from``, ``RUN --mount from=`` (with the stage's ``ARG``/``ENV``), and the
``# syntax=`` directive; each reference with the span a fix may rewrite.
"""
from __future__ import annotations

import re

from digestpin_hooks._dockerfile import arg_words
from digestpin_hooks._dockerfile import Dockerfile
from digestpin_hooks._dockerfile import extract_flags
from digestpin_hooks._dockerfile import Instruction
from digestpin_hooks._dockerfile import split_command
from digestpin_hooks._dockerfile import DockerfileError
from digestpin_hooks._expand import Budget
from digestpin_hooks._expand import expand
from digestpin_hooks._expand import ExpansionError
from digestpin_hooks._expand import MAX_WORD
from digestpin_hooks._expand import Expansion
from digestpin_hooks._expand import Var
from digestpin_hooks._records import NamedTuple
from digestpin_hooks._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Iterator
    from digestpin_hooks._expand import Locate
    from digestpin_hooks._expand import Span

SOURCE_FROM = 'FROM'
SOURCE_COPY = 'COPY --from'
SOURCE_MOUNT = 'RUN --mount'
SOURCE_SYNTAX = 'syntax'
SOURCE_ARG = 'ARG'
_WORD_RE = re.compile(r'[^\t\v\f\r ]+')
# instructions whose arguments can name an image or feed one
_INTERESTING = frozenset(('from', 'copy', 'run', 'arg', 'onbuild', 'env'))
_NOT_FROM_MOUNT_TYPES = frozenset(('tmpfs', 'secret', 'ssh'))


class ImageRef(NamedTuple):
    """One place where BuildKit would fetch an image."""

    source: str  # SOURCE_*
    image: str  # as written, variables substituted (not normalised)
    written: str  # the text at ``span``
    span: Span  # where the finding points; exactly ``image`` if ``editable``
    editable: bool
    instruction_line: int  # where the instruction starts (pragma lookup)
    unresolved: tuple[str, ...]  # variables with no value: DP003
    note: str  # how the reference came about, for messages
    platform: str  # FROM --platform, raw
    feeds: tuple[int, ...]  # for ARG defaults: the FROM lines they feed
    has_variables: bool = False  # the instruction writes it with variables


def _csv_fields(value: str) -> list[tuple[str, int]]:
    """Split a --mount value into fields with their offsets (encoding/csv)."""
    fields = []
    start = 0
    quoted = False
    for k, ch in enumerate(value):
        if ch == '"':
            quoted = not quoted
        elif ch == ',' and not quoted:
            fields.append((value[start:k], start))
            start = k + 1
    fields.append((value[start:], start))
    return fields


# ARGs BuildKit defines for FROM lines; their values depend on the build
BUILTIN_PLATFORM_ARGS = (
    'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT',
    'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT',
)

_BUILTIN_VARS = {
    name: Var('', None, 0, known=False) for name in BUILTIN_PLATFORM_ARGS
}


class _Scope:
    """The variables and stages known at one point of the Dockerfile."""

    def __init__(self, budget: Budget) -> None:
        # global ARGs (before the first FROM), and the ones BuildKit adds
        self.meta: dict[str, Var] = dict(_BUILTIN_VARS)
        self.stage: dict[str, Var] = {}  # ARG and ENV of the current stage
        self.stages: set[str] = set()  # names, lower-cased
        self.in_stage = False
        self.budget = budget  # what expansion may still produce in the file

    def is_stage(self, name: str) -> bool:
        if name.isdigit():
            return True
        return name.lower() in self.stages

    def add_stage(self, name: str) -> None:
        self.stages.add(name)  # '' for an unnamed stage, as BuildKit keeps it


def _locator(ins: Instruction, word_start: int) -> Locate:
    def locate(start: int, end: int) -> Span | None:
        return ins.span(word_start + start, word_start + end)
    return locate


def _ref_from_expansion(
        doc: Dockerfile,
        ins: Instruction,
        source: str,
        exp: Expansion,
        word: str,
        word_start: int,
        word_end: int,
        platform: str = '',
) -> ImageRef:
    word_span = ins.span(word_start, word_end)
    if word_span is None:
        first = ins.offset(word_start)
        word_span = (first, first)
    if exp.unresolved:
        return ImageRef(
            source, word, word, word_span, False, ins.start_line,
            exp.unresolved, 'no default gives ' + ', '.join(
                f'${name}' for name in exp.unresolved
            ) + ' a value', platform, (), True,
        )
    if exp.span is not None and exp.span != word_span and not (
        ins.start <= exp.span[0] < ins.end
    ):
        # the whole image is an ARG default defined elsewhere
        line, _ = doc.position(exp.span[0])
        return ImageRef(
            SOURCE_ARG, exp.value, doc.text[exp.span[0]:exp.span[1]],
            exp.span, True, line, (),
            f'default of ARG {exp.via} on line {line}, used by {source} on '
            f'line {ins.start_line}', platform, (ins.start_line,), True,
        )
    if exp.span is not None:
        note = 'the default in a variable expression' if exp.has_variables else ''
        return ImageRef(
            source, exp.value, doc.text[exp.span[0]:exp.span[1]], exp.span,
            True, ins.start_line, (), note, platform, (), exp.has_variables,
        )
    if exp.has_variables:
        note = 'built from variables'
    else:
        note = 'written with quotes, escapes or across lines'
    return ImageRef(
        source, exp.value, doc.text[word_span[0]:word_span[1]], word_span,
        False, ins.start_line, (), note, platform, (), exp.has_variables,
    )


def image_refs(doc: Dockerfile) -> list[ImageRef]:
    """Every place BuildKit would pull an image, with ARG scope applied."""
    refs: list[ImageRef] = []
    for directive in doc.directives:
        if directive.name == 'syntax':
            refs.append(ImageRef(
                SOURCE_SYNTAX, directive.value, directive.value,
                directive.span, True, directive.line, (), '', '', (),
            ))
    # expansion may produce four times the file's text, and a little more
    scope = _Scope(Budget(4 * len(doc.text) + MAX_WORD))
    try:
        for ins in doc.instructions:
            if ins.line and ins.cmd in _INTERESTING:
                refs.extend(_instruction_refs(doc, ins, ins.cmd, 0, scope))
    except ExpansionError as e:
        raise DockerfileError(f'line {ins.start_line}: {e}') from None
    return _merge_arg_refs(refs)


def _merge_arg_refs(refs: list[ImageRef]) -> list[ImageRef]:
    """One ARG default feeding several FROMs is one reference."""
    merged: list[ImageRef] = []
    # span -> (index in merged, every FROM line it feeds)
    by_span: dict[Span, tuple[int, list[int]]] = {}
    for ref in refs:
        if ref.source != SOURCE_ARG:
            merged.append(ref)
            continue
        seen = by_span.get(ref.span)
        if seen is None:
            by_span[ref.span] = (len(merged), list(ref.feeds))
            merged.append(ref)
        else:
            seen[1].extend(ref.feeds)
    for index, feeds in by_span.values():
        if len(feeds) > 1:
            old = merged[index]
            note = old.note.rsplit(' on line', 1)[0] + ' on lines ' + ', '.join(
                str(f) for f in feeds
            )
            merged[index] = old._replace(feeds=tuple(feeds), note=note)
    return merged


def _instruction_refs(
        doc: Dockerfile,
        ins: Instruction,
        cmd: str,
        start: int,
        scope: _Scope,
) -> Iterator[ImageRef]:
    line = ins.line
    args_start = split_command(line[start:])[1] + start
    if cmd == 'arg':
        _define_args(doc, ins, args_start, scope)
        return
    if cmd == 'env':
        _define_env(doc, ins, args_start, scope)
        return
    flags_end, flags = extract_flags(line, args_start)
    if cmd == 'from':
        yield from _from_refs(doc, ins, flags_end, flags, scope)
    elif cmd == 'copy':
        yield from _copy_refs(doc, ins, flags, scope)
    elif cmd == 'run':
        yield from _mount_refs(doc, ins, flags, scope)
    elif cmd == 'onbuild' and start == 0:
        sub = line[args_start:]
        sub_cmd, _ = split_command(sub)
        if sub_cmd == 'copy':
            # the trigger runs in a downstream build: no ARG scope applies
            trigger_scope = _Scope(scope.budget)
            trigger_scope.stages = scope.stages
            yield from _instruction_refs(
                doc, ins, 'copy', args_start, trigger_scope,
            )


def _define_args(
        doc: Dockerfile, ins: Instruction, args_start: int, scope: _Scope,
) -> None:
    for word, word_start, _ in arg_words(ins.line, args_start, doc.escape):
        name, eq, raw = word.partition('=')
        env = scope.stage if scope.in_stage else scope.meta
        if not eq:
            if scope.in_stage and name in scope.meta:
                # ARG NAME in a stage brings in the global value
                env[name] = scope.meta[name]
            else:
                env.pop(name, None)
            continue
        exp = expand(raw, env, _locator(ins, word_start + len(name) + 1),
                     doc.escape, scope.budget)
        if exp.unresolved:
            env.pop(name, None)
        else:
            env[name] = Var(exp.value, exp.span, ins.start_line)


def _nowhere(start: int, end: int) -> Span | None:
    return None  # ENV values are never edited: no span to report


def _define_env(
        doc: Dockerfile, ins: Instruction, args_start: int, scope: _Scope,
) -> None:
    """ENV NAME=value in a stage: it feeds ``RUN --mount from=$NAME``."""
    if not scope.in_stage:
        return
    for word, _, _ in arg_words(ins.line, args_start, doc.escape):
        name, eq, raw = word.partition('=')
        if eq:
            exp = expand(raw, scope.stage, _nowhere, doc.escape, scope.budget)
            scope.stage[name] = Var(exp.value, None, ins.start_line)


def _from_refs(
        doc: Dockerfile,
        ins: Instruction,
        flags_end: int,
        flags: list[tuple[str, int, int]],
        scope: _Scope,
) -> Iterator[ImageRef]:
    line = ins.line
    words = [
        (m.group(), m.start(), m.end())
        for m in _WORD_RE.finditer(line, flags_end)
    ]
    platform = ''
    for flag, _, _ in flags:
        if flag.startswith('--platform='):
            platform = flag[len('--platform='):]
    scope.in_stage = True
    scope.stage = {}
    stage_name = ''
    if len(words) == 3 and words[1][0].lower() == 'as':
        stage_name = words[2][0].lower()
    if not words:
        scope.add_stage(stage_name)
        return
    word, word_start, word_end = words[0]
    exp = expand(
        word, scope.meta, _locator(ins, word_start), doc.escape, scope.budget,
    )
    image = exp.value
    is_stage = not exp.unresolved and image.lower() in scope.stages
    scope.add_stage(stage_name)
    if is_stage or (not exp.unresolved and image.lower() == 'scratch'):
        return
    yield _ref_from_expansion(
        doc, ins, SOURCE_FROM, exp, word, word_start, word_end, platform,
    )


def _flag_values(
        ins: Instruction, flags: list[tuple[str, int, int]], prefix: str,
) -> Iterator[tuple[str, str, int, int]]:
    """(value, value as written, start, end in the logical line) of each
    flag written as ``prefix`` + value, e.g. ``--from=``."""
    for flag, raw_start, raw_end in flags:
        if ins.line.startswith(prefix, raw_start, raw_end):
            start = raw_start + len(prefix)
            yield flag[len(prefix):], ins.line[start:raw_end], start, raw_end


def _copy_refs(
        doc: Dockerfile,
        ins: Instruction,
        flags: list[tuple[str, int, int]],
        scope: _Scope,
) -> Iterator[ImageRef]:
    for value, written, value_start, value_end in _flag_values(ins, flags, '--from='):
        if not value or scope.is_stage(value):
            continue
        if '$' in value:
            # BuildKit does not expand variables in COPY --from
            span = ins.span(value_start, value_end) or (ins.offset(value_start),) * 2
            yield ImageRef(
                SOURCE_COPY, written, written, span, False, ins.start_line,
                (value,),
                'BuildKit does not expand variables in COPY --from; name a '
                'stage (FROM $IMAGE AS src) and copy from it', '', (), True,
            )
            continue
        exp = expand(
            written, {}, _locator(ins, value_start), budget=scope.budget,
        )
        yield _ref_from_expansion(
            doc, ins, SOURCE_COPY, exp, value, value_start, value_end,
        )


def _mount_refs(
        doc: Dockerfile,
        ins: Instruction,
        flags: list[tuple[str, int, int]],
        scope: _Scope,
) -> Iterator[ImageRef]:
    for _, written, value_start, _ in _flag_values(ins, flags, '--mount='):
        fields = _csv_fields(written)
        options = {}
        for field, offset in fields:
            key, _, value = field.partition('=')
            options[key.strip().lower()] = (value, offset + len(key) + 1)
        if options.get('type', ('bind',))[0].lower() in _NOT_FROM_MOUNT_TYPES:
            continue
        if 'from' not in options:
            continue
        value, offset = options['from']
        start = value_start + offset
        exp = expand(
            value, scope.stage, _locator(ins, start), doc.escape, scope.budget,
        )
        if not exp.unresolved and (
            scope.is_stage(exp.value) or exp.value == ''
        ):
            continue
        yield _ref_from_expansion(
            doc, ins, SOURCE_MOUNT, exp, value, start, start + len(value),
        )
