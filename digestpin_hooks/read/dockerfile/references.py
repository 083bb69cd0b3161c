"""A parsed Dockerfile -> every place BuildKit v0.32 would pull an image.

``FROM`` (global ``ARG`` scope, the automatic platform ARGs, stages looked
up exactly as ``AS`` lower-cased them), ``COPY --from`` and ``RUN --mount
from=`` (stages looked up case-insensitively, no variables), ``ONBUILD``
triggers, and the ``# syntax=`` directive; each reference with the span a
fix may rewrite.  What BuildKit refuses is a DockerfileError naming its
reason, as its own message says it.
"""
from __future__ import annotations

import functools
import re

from digestpin_hooks.model import ARG_DEFAULT
from digestpin_hooks.model import ARG_DEFAULT_BUILT
from digestpin_hooks.model import BUILT_FROM_VARIABLES
from digestpin_hooks.model import COPY_FROM_VARIABLE
from digestpin_hooks.model import DEFAULT_IN_EXPRESSION
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import NO_DEFAULT
from digestpin_hooks.model import QUOTED
from digestpin_hooks.model import SOURCE_ARG
from digestpin_hooks.model import VARIES_WITH_PLATFORM
from digestpin_hooks.read.dockerfile.parser import arg_words
from digestpin_hooks.read.dockerfile.parser import args_start as args_at
from digestpin_hooks.read.dockerfile.parser import Dockerfile
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.parser import extract_flags
from digestpin_hooks.read.dockerfile.parser import Instruction
from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.parser import split_command
from digestpin_hooks.read.dockerfile.refusals import check_instructions
from digestpin_hooks.read.dockerfile.refusals import UnknownSyntax
from digestpin_hooks.read.dockerfile.shell import Budget
from digestpin_hooks.read.dockerfile.shell import expand
from digestpin_hooks.read.dockerfile.shell import Expansion
from digestpin_hooks.read.dockerfile.shell import ExpansionError
from digestpin_hooks.read.dockerfile.shell import MAX_WORD
from digestpin_hooks.read.dockerfile.shell import ShellError
from digestpin_hooks.read.dockerfile.shell import Var

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator
    from digestpin_hooks.read.dockerfile.parser import ReadFlags
    from digestpin_hooks.read.dockerfile.shell import Locate
    from digestpin_hooks.read.dockerfile.shell import Span

SOURCE_FROM = 'FROM'
SOURCE_COPY = 'COPY --from'
SOURCE_MOUNT = 'RUN --mount'
SOURCE_SYNTAX = 'syntax'
SOURCE_ONBUILD_COPY = 'ONBUILD COPY --from'
SOURCE_ONBUILD_MOUNT = 'ONBUILD RUN --mount'
_WORD_RE = re.compile(r'[^\t\v\f\r ]+')
# instructions whose arguments can name an image or feed one
_INTERESTING = frozenset(('from', 'copy', 'run', 'arg', 'onbuild'))
# BuildKit's stage names, ``^[a-z][a-z0-9-_.]*$``, told by str methods
_STAGE_NAME_FIRST = 'abcdefghijklmnopqrstuvwxyz'
_STAGE_NAME_REST = _STAGE_NAME_FIRST + '0123456789-_.'
_COPY_FROM_VARIABLE = (
    'variable expansion is not supported for --from, define a new stage with '
    'FROM using ARG from global scope as a workaround'
)
_MOUNT_FROM_VARIABLE = (
    "'from' doesn't support variable expansion, define alias stage instead"
)


def _csv_fields(value: str) -> list[tuple[str, int, bool]]:
    """A --mount value as one CSV record (Go's encoding/csv): each field
    with its offset in ``value`` and whether it was quoted."""
    fields: list[tuple[str, int, bool]] = []
    i = 0
    n = len(value)
    while True:
        if i < n and value[i] == '"':
            out = []
            j = i + 1
            while j < n:
                if value[j] == '"':
                    if value[j + 1:j + 2] == '"':
                        out.append('"')
                        j += 2
                        continue
                    break
                out.append(value[j])
                j += 1
            fields.append((''.join(out), i, True))
            comma = value.find(',', j)
        else:
            comma = value.find(',', i)
            end = n if comma < 0 else comma
            fields.append((value[i:end], i, False))
        if comma < 0:
            return fields
        i = comma + 1


# ARGs BuildKit defines for FROM lines (and TARGETSTAGE, the stage built)
BUILTIN_PLATFORM_ARGS = (
    'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT',
    'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT',
)
# the platforms a FROM is read for: a value the same on all of them is what
# the build uses; one that differs varies with the target (DP003)
PLATFORMS = (('linux', 'amd64', ''), ('linux', 'arm64', ''))


def valid_stage_name(name: str) -> bool:
    """Whether ``name`` (lower-cased) is one BuildKit takes for a stage:
    what ``[a-z][a-z0-9-_.]*\\Z`` matches, without compiling it
    (tests/test_fuzz.py holds them alike)."""
    return name[:1] != '' and name[0] in _STAGE_NAME_FIRST and not name.strip(
        _STAGE_NAME_REST,
    )


@functools.cache
def _platform_part_re() -> re.Pattern[str]:
    """A part of a platform, compiled on first use (a FROM --platform that
    is no variable)."""
    return re.compile(r'[A-Za-z0-9_.-]+\Z')


@functools.lru_cache(maxsize=64)
def _automatic_args(platform: tuple[str, str, str], target_stage: str) -> dict[str, Var]:
    os_, arch, variant = platform
    name = f'{os_}/{arch}' + (f'/{variant}' if variant else '')
    values = {
        'BUILDPLATFORM': name, 'BUILDOS': os_, 'BUILDARCH': arch,
        'BUILDVARIANT': variant, 'TARGETPLATFORM': name, 'TARGETOS': os_,
        'TARGETARCH': arch, 'TARGETVARIANT': variant,
        'TARGETSTAGE': target_stage,
    }
    return {key: Var(value, None, 0) for key, value in values.items()}


class _Scope:
    """What is known at one point of the Dockerfile."""

    def __init__(
            self, budget: Budget, target_stage: str,
            platforms: tuple[tuple[str, str, str], ...] = PLATFORMS,
    ) -> None:
        # the global ARGs, once for each platform a build may target
        self.metas: list[dict[str, Var]] = [
            dict(_automatic_args(platforms[0], target_stage)),
        ] if len(platforms) == 1 else [
            dict(_automatic_args(platform, target_stage)) for platform in platforms
        ]
        self.stage: dict[str, Var] = {}  # ARG and ENV of the current stage
        # the stages defined so far: their names lower-cased ('' unnamed)
        self.defined: set[str] = set()
        self.current = -1  # the index of the stage being read
        self.all_stage_names: dict[str, int] = {}  # every stage of the file
        self.stage_count = 0
        self.in_stage = False
        self.budget = budget  # what expansion may still produce in the file


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
        platforms: tuple[str, ...] = (),
) -> ImageRef:
    word_span = ins.span(word_start, word_end)
    if word_span is None:
        first = ins.offset(word_start)
        word_span = (first, first)
    span = exp.span
    if (
            span is not None and not exp.unresolved and not exp.has_variables
            and (span == word_span or ins.start <= span[0] < ins.end)
    ):
        # the common case, an image written plainly: the record the cases
        # below end with, made at once
        return ImageRef(
            source=source, image=exp.value, written=doc.text[span[0]:span[1]],
            span=span, editable=True, line=ins.start_line, platforms=platforms,
            has_variables=False, reads=exp.reads,
        )
    # the word as written, where it stands: what the cases below change
    at = ImageRef(
        source=source, image=exp.value, written=doc.text[word_span[0]:word_span[1]],
        span=word_span, editable=False, line=ins.start_line, platforms=platforms,
        has_variables=exp.has_variables, reads=exp.reads,
    )
    if exp.unresolved:
        return at.replace(
            image=word, written=word, unresolved=exp.unresolved,
            has_variables=True, how=NO_DEFAULT,
        )
    if exp.span is None:
        return at.replace(
            how=BUILT_FROM_VARIABLES if exp.has_variables else QUOTED,
        )
    at = at.replace(
        written=doc.text[exp.span[0]:exp.span[1]], span=exp.span, editable=True,
    )
    if exp.span != word_span and not ins.start <= exp.span[0] < ins.end:
        # the whole image is an ARG default defined elsewhere
        line, _ = doc.position(exp.span[0])
        return at.replace(
            source=SOURCE_ARG, line=line, feeds=(ins.start_line,),
            has_variables=True, how=ARG_DEFAULT, via=exp.via, detail=source,
        )
    if exp.has_variables:
        return at.replace(how=DEFAULT_IN_EXPRESSION)
    return at


def _stages(doc: Dockerfile) -> tuple[dict[str, int], int, str]:
    """Every stage name of the file (lower-cased) -> its index, how many
    stages there are, and TARGETSTAGE (the last one's name: what a plain
    build builds).  --from may name a stage defined later, which fails the
    build but is no image."""
    names: dict[str, int] = {}
    index = 0
    last = ''
    for ins in doc.instructions:
        if ins.cmd != 'from':
            continue
        words: list[str] = _WORD_RE.findall(ins.line)
        # FROM [--flags] image AS name: _from_refs checks the word count
        last = ''
        if len(words) >= 4 and words[-2].lower() == 'as':
            last = words[-1].lower()
            names.setdefault(last, index)
        index += 1
    return names, index, last


def read_dockerfile(data: bytes) -> tuple[Dockerfile, list[ImageRef], list[UnknownSyntax]]:
    """Bytes -> (the file, its image references, what BuildKit v0.32 does
    not know in it), or DockerfileError where BuildKit refuses the file:
    its parser first, its instruction parser next, its converter last."""
    doc = parse(data)
    read_flags: dict[int, ReadFlags] = {}
    unknown = check_instructions(doc, read_flags)
    return doc, image_refs(doc, read_flags), unknown


def image_refs(
        doc: Dockerfile, read_flags: dict[int, ReadFlags] | None = None,
) -> list[ImageRef]:
    """Every place BuildKit would pull an image, with ARG scope applied;
    ``read_flags``: the flags check_instructions read, by where their
    instruction starts, not read again.

    Raises DockerfileError where BuildKit refuses the file.
    """
    refs: list[ImageRef] = []
    for directive in doc.directives:
        if directive.name == 'syntax':
            refs.append(ImageRef(
                source=SOURCE_SYNTAX,
                image=directive.value,
                written=directive.value,
                span=directive.span,
                # not a JSON value written with escapes: left to the user
                editable=doc.text[directive.span[0]:directive.span[1]] == directive.value,
                line=directive.line,
            ))
    # a file that names no automatic ARG reads the same on every platform;
    # so does one whose FROM and ARG lines expand no variable (only a word
    # with ``$`` reads the platforms' values, and only such a word can
    # spend more of the budget for two platforms than for one)
    platforms: tuple[tuple[str, str, str], ...] = PLATFORMS[:1]
    plain = True  # no FROM or ARG line expands a variable
    named = False  # an instruction that may look a stage up (COPY --from...)
    for ins in doc.instructions:
        if ins.cmd != 'from' and ins.cmd != 'arg':
            named = True
        elif plain and '$' in ins.line:
            plain = False
            if (
                ('BUILD' in doc.text or 'TARGET' in doc.text)
                and any(name in doc.text for name in BUILTIN_PLATFORM_ARGS)
            ):
                platforms = PLATFORMS
    # the stages' names are looked up by COPY --from and RUN --mount, and
    # the last one's is TARGETSTAGE, which only a variable reads
    all_stage_names, stage_count, target_stage = (
        ({}, 0, '') if plain and not named else _stages(doc)
    )
    # expansion may produce four times the file's text, and a little more
    scope = _Scope(Budget(4 * len(doc.text) + MAX_WORD), target_stage, platforms)
    scope.all_stage_names, scope.stage_count = all_stage_names, stage_count
    if doc.stageless:
        raise DockerfileError(
            f'line {doc.stageless}: no build stage in current context',
        )
    line = 0
    try:
        for ins in doc.instructions:
            line = ins.start_line
            if ins.line and ins.cmd in _INTERESTING:
                if ins.cmd == 'arg':  # defines, names no image
                    _define_args(doc, ins, ins.args, scope)
                else:
                    refs.extend(_instruction_refs(
                        doc, ins, ins.cmd, 0, scope,
                        read_flags.get(ins.start) if read_flags else None,
                    ))
    except (ExpansionError, DockerfileError) as e:
        located = isinstance(e, DockerfileError) and e.located
        message = str(e) if located else f'line {line}: {e}'
        raise DockerfileError(message, located=True) from None
    return _merge_arg_refs(refs)


def _merge_arg_refs(refs: list[ImageRef]) -> list[ImageRef]:
    """One ARG default feeding several FROMs is one reference."""
    if len(refs) < 2:
        return refs  # (nothing to merge)
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
            merged[index] = merged[index].replace(feeds=tuple(feeds))
    return merged


def _parse_error(ins: Instruction, message: str) -> DockerfileError:
    return DockerfileError(
        f'dockerfile parse error on line {ins.start_line}: {message}',
        located=True,
    )


def _instruction_refs(
        doc: Dockerfile,
        ins: Instruction,
        cmd: str,
        start: int,
        scope: _Scope,
        read: ReadFlags | None = None,
) -> Iterator[ImageRef]:
    line = ins.line
    # (an ONBUILD trigger's arguments start after its own command)
    args_start = args_at(line[start:]) + start if start else ins.args
    flags_end, flags = read or extract_flags(line, args_start, doc.escape)
    if cmd == 'from':
        yield from _from_refs(doc, ins, flags_end, flags, scope)
    elif cmd == 'copy':
        yield from _copy_refs(doc, ins, scope, flags, onbuild=start > 0)
    elif cmd == 'run':
        yield from _mount_refs(doc, ins, scope, flags, onbuild=start > 0)
    elif cmd == 'onbuild' and start == 0:
        sub_cmd, _ = split_command(line[args_start:])
        if sub_cmd == 'onbuild':
            raise _parse_error(ins, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if sub_cmd in ('from', 'maintainer'):
            raise _parse_error(ins, f"{sub_cmd.upper()} isn't allowed as an ONBUILD trigger")
        if sub_cmd in ('copy', 'run'):
            # the trigger runs in a downstream build, so no variables apply
            yield from _instruction_refs(doc, ins, sub_cmd, args_start, scope)


def _define_args(
        doc: Dockerfile, ins: Instruction, args_start: int, scope: _Scope,
) -> None:
    """ARG in the global scope (once for each platform) or in a stage."""
    for word, word_start, word_end in arg_words(ins.line, args_start, doc.escape):
        name, eq, raw = word.partition('=')
        locate = _locator(ins, word_start + len(name) + 1)
        if scope.in_stage:
            if not eq:
                # ARG NAME in a stage brings in the global (or automatic) value
                value = scope.metas[0].get(name)
                if value is not None:
                    scope.stage[name] = value
                continue
            try:
                exp = expand(raw, scope.stage, locate, doc.escape, scope.budget)
            except ShellError:
                # BuildKit reads a stage ARG's default only where it is
                # used, and no image reference can use it
                scope.stage.pop(name, None)
                continue
            scope.stage[name] = Var(
                exp.value, exp.span, ins.start_line, reads=exp.reads,
            )
            continue
        for meta in scope.metas:
            if not eq:
                # a global ARG without a value is unset, except that it
                # leaves an automatic platform ARG as BuildKit fills it
                if name not in BUILTIN_PLATFORM_ARGS and name != 'TARGETSTAGE':
                    meta.pop(name, None)
                continue
            exp = expand(raw, meta, locate, doc.escape, scope.budget)
            if exp.unresolved:
                meta.pop(name, None)
            else:
                meta[name] = Var(
                    exp.value, exp.span, ins.start_line,
                    ins.span(word_start + len(name) + 1, word_end),
                    exp.reads,
                )


def _expand_everywhere(
        doc: Dockerfile, scope: _Scope, word: str, locate: Locate,
) -> tuple[Expansion, bool]:
    """``word`` expanded for every platform: (the first expansion, whether
    all platforms give the same value)."""
    first = expand(word, scope.metas[0], locate, doc.escape, scope.budget)
    if '$' not in word:
        return first, True
    same = all(
        expand(word, meta, locate, doc.escape, scope.budget).value == first.value
        for meta in scope.metas[1:]
    )
    return first, same


def _checked_platform(
        doc: Dockerfile, ins: Instruction, raw: str, scope: _Scope,
) -> str:
    """FROM --platform's value, as BuildKit refuses an empty or malformed
    one; '' when it varies with the build (it names $BUILDPLATFORM...)."""
    exp, same = _expand_everywhere(doc, scope, raw, _nowhere)
    if not same:
        return raw
    value = exp.value
    if not value:
        raise DockerfileError(f'empty platform value from expression {raw}')
    parts = value.split('/')
    for part in parts:
        if not _platform_part_re().match(part):
            raise DockerfileError(
                f'failed to parse platform {raw}: "{part}" is an invalid '
                f'component of "{value}": platform specifier component must '
                f'match "^[A-Za-z0-9_.-]+$": invalid argument',
            )
    return raw


def _nowhere(start: int, end: int) -> Span | None:
    return None  # values that are never edited: no span to report


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
    stage_name = ''
    if len(words) == 3 and words[1][0].lower() == 'as':
        stage_name = words[2][0].lower()
        if not valid_stage_name(stage_name):
            raise _parse_error(ins, (
                f'invalid name for build stage: "{words[2][0]}", name can\'t '
                f'start with a number or contain symbols'
            ))
    elif len(words) != 1:
        raise _parse_error(ins, 'FROM requires either one or three arguments')
    platforms: tuple[str, ...] = ()
    for flag, _, _ in flags:
        if flag.startswith('--platform='):
            platform = flag[len('--platform='):]
            _checked_platform(doc, ins, platform, scope)
            platforms = (platform,)
    scope.in_stage = True
    scope.stage = {}
    word, word_start, word_end = words[0]
    escape = doc.escape
    if '$' not in word and "'" not in word and '"' not in word and escape not in word:
        span = ins.span(word_start, word_end)
        if span is not None:
            # the common case, an image written plainly on one line: what
            # expand() and _ref_from_expansion make of it, without them
            is_stage = word in scope.defined
            scope.current += 1
            scope.defined.add(stage_name)
            if not is_stage and word != 'scratch':
                yield ImageRef(
                    SOURCE_FROM, word, doc.text[span[0]:span[1]], span, True,
                    ins.start_line, platforms=platforms,
                )
            return
    exp, same = _expand_everywhere(doc, scope, word, _locator(ins, word_start))
    image = exp.value
    # FROM names a stage defined before it, exactly as AS lower-cased it
    is_stage = same and not exp.unresolved and image in scope.defined
    scope.current += 1
    scope.defined.add(stage_name)
    if not same:
        yield ImageRef(
            source=SOURCE_FROM,
            image=word,
            written=word,
            span=ins.span(word_start, word_end) or (ins.offset(word_start),) * 2,
            editable=False,
            line=ins.start_line,
            unresolved=tuple(
                name for name in BUILTIN_PLATFORM_ARGS if name in word
            ) or ('TARGETPLATFORM',),
            how=VARIES_WITH_PLATFORM,
            platforms=platforms,
            has_variables=True,
        )
        return
    if is_stage or (not exp.unresolved and image == 'scratch'):
        return
    if not image and not exp.unresolved:
        raise DockerfileError(f'base name ({word}) should not be blank')
    ref = _ref_from_expansion(
        doc, ins, SOURCE_FROM, exp, word, word_start, word_end, platforms,
    )
    yield _at_arg_default(doc, ref, word, scope) or ref


@functools.cache
def _one_variable_re() -> re.Pattern[str]:
    """A word that is one variable, compiled on first use (a FROM with
    variables in it)."""
    return re.compile(
        r'\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))\Z',
    )


def _at_arg_default(
        doc: Dockerfile, ref: ImageRef, word: str, scope: _Scope,
) -> ImageRef | None:
    """A FROM that is one global ARG whose default is built from variables
    (``ARG IMG=nginx:${TAG}``), reported at that default: one place, one
    finding, however many FROMs use it.  None for any other FROM."""
    if ref.editable or ref.unresolved or not ref.has_variables:
        return None
    match = _one_variable_re().match(word)
    if match is None:
        return None
    name = match.group(1) or match.group(2)
    var = scope.metas[0].get(name)
    if var is None or var.written is None:
        return None
    line, _ = doc.position(var.written[0])
    return ref.replace(
        source=SOURCE_ARG, span=var.written, line=line,
        written=doc.text[var.written[0]:var.written[1]], feeds=(ref.line,),
        how=ARG_DEFAULT_BUILT, via=name,
    )


def _flag_values(
        ins: Instruction, flags: list[tuple[str, int, int]], prefix: str,
) -> Iterator[tuple[str, str, int, int]]:
    """(value, value as written, start, end in the logical line) of each
    flag ``prefix`` + value, e.g. ``--from=``; quotes and escapes are
    removed from the value as BuildKit removes them."""
    for flag, raw_start, raw_end in flags:
        if flag.startswith(prefix):
            start = raw_start + len(prefix)
            yield flag[len(prefix):], ins.line[start:raw_end], start, raw_end


def _stage_reference(
        scope: _Scope, name: str, *, onbuild: bool, by_index: bool,
) -> bool:
    """Whether --from / from= ``name`` is a stage (case-insensitive, or an
    index for COPY), as BuildKit looks it up; DockerfileError for one it
    refuses.  An ONBUILD trigger runs downstream: any stage of the file."""
    index = scope.all_stage_names.get(name.lower())
    if index is None and by_index:
        try:
            index = int(name)
        except ValueError:
            return False
        if index < 0 or index >= scope.stage_count:
            if onbuild:
                return False
            raise DockerfileError(f'invalid stage index {index}')
    if index is None:
        return False
    if not onbuild and index >= scope.current:
        raise DockerfileError(
            f'stage "{name}" needs to be defined before current stage',
        )
    return True


def _copy_refs(
        doc: Dockerfile, ins: Instruction, scope: _Scope,
        flags: list[tuple[str, int, int]], *, onbuild: bool,
) -> Iterator[ImageRef]:
    source = SOURCE_ONBUILD_COPY if onbuild else SOURCE_COPY
    for value, written, value_start, value_end in _flag_values(ins, flags, '--from='):
        if not value:
            continue
        if '$' in value:
            if not onbuild:
                raise DockerfileError(_COPY_FROM_VARIABLE)
            span = ins.span(value_start, value_end) or (ins.offset(value_start),) * 2
            yield ImageRef(
                source=SOURCE_COPY,
                image=written,
                written=written,
                span=span,
                editable=False,
                line=ins.start_line,
                unresolved=(value,),
                how=COPY_FROM_VARIABLE,
                has_variables=True,
            )
            continue
        if _stage_reference(scope, value, onbuild=onbuild, by_index=True):
            continue
        if value == 'scratch':
            continue
        exp = Expansion(value, (), ins.span(value_start, value_end) if written == value else None, '', False)
        yield _ref_from_expansion(
            doc, ins, source, exp, value, value_start, value_end,
        )


def _mount_refs(
        doc: Dockerfile, ins: Instruction, scope: _Scope,
        flags: list[tuple[str, int, int]], *, onbuild: bool,
) -> Iterator[ImageRef]:
    for value, written, value_start, value_end in _flag_values(ins, flags, '--mount='):
        options: dict[str, tuple[str, int, bool]] = {}
        for field, offset, quoted in _csv_fields(value):
            key, eq, field_value = field.partition('=')
            options[key.strip().lower()] = (field_value, offset + len(key) + 1, quoted)
        if 'from' not in options:
            continue
        mount_type = options.get('type', ('bind', 0, False))[0].lower()
        source, offset, quoted = options['from']
        if mount_type == 'secret':
            if onbuild:
                continue
            raise DockerfileError('secret mount should not have a from')
        if '$' in source:
            if onbuild:
                continue
            raise _parse_error(ins, _MOUNT_FROM_VARIABLE)
        if not source or source == 'scratch':
            continue
        # from= is a stage name or an image: no index lookup for mounts
        if _stage_reference(scope, source, onbuild=onbuild, by_index=False):
            continue
        verbatim = written == value and not quoted
        if verbatim:
            start, end = value_start + offset, value_start + offset + len(source)
        else:
            # quotes moved it: the finding points at the whole flag value,
            # and nothing is edited
            start, end = value_start, value_end
        exp = Expansion(
            source, (), ins.span(start, end) if verbatim else None, '', False,
        )
        yield _ref_from_expansion(
            doc, ins, SOURCE_ONBUILD_MOUNT if onbuild else SOURCE_MOUNT, exp,
            source, start, end,
        )
