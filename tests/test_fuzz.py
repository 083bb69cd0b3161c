"""Random and mutated Dockerfiles: never raise, and FROM reads as BuildKit's."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.read.dockerfile.parser import _continuation_re
from digestpin_hooks.read.dockerfile.parser import comments_only
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.references import image_refs
from digestpin_hooks.read.dockerfile.references import read_dockerfile
from digestpin_hooks.read.dockerfile.references import valid_stage_name

dockerfile = pytest.importorskip('dockerfile')

FRAGMENTS = (
    'FROM', 'from', 'FROM --platform=$BUILDPLATFORM', 'ARG', 'RUN', 'COPY',
    'COPY --from=', 'RUN --mount=type=bind,from=', 'ONBUILD', 'ENV', ' AS ',
    ' as ', 'node:20', 'ubuntu', 'x@sha256:' + 'a' * 64, 'scratch', '$B',
    '${B:-a:1}', 'B=c:3', '<<EOF', '<<-EOT', 'EOF', '\tEOT', '"', "'", '\\',
    '`', '# escape=`', '# syntax=d/df:1', '# digestpin: ignore', '#', ' ',
    '\t', '\r', '\n', '\n', '\n', '\\\n', '\\ \n', '\xe9', '\ufeff', '[',
    '["a"]', '{', '}', ':', '@', '/', '=', ',',
)

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(''.join)
mutated = st.tuples(
    texts, st.binary(max_size=6), st.integers(min_value=0, max_value=400),
).map(lambda t: (lambda b: b[:t[2]] + t[1] + b[t[2]:])(t[0].encode()))


def _our_from_images(data: bytes) -> set[tuple[int, str]] | None:
    """(line, image as written) of each FROM reference the product reports
    that is written plainly (no variable, quote or escape); None when it
    refuses the file."""
    try:
        _, refs, _ = read_dockerfile(data)
    except DockerfileError:
        return None
    return {
        (ref.line, ref.written) for ref in refs
        if ref.source == 'FROM' and ref.editable and not ref.has_variables
    }


def _their_froms(data: bytes) -> list[tuple[int, str | None]] | None:
    try:
        commands = dockerfile.parse_string(
            data.decode('utf-8', 'surrogateescape').encode(
                'utf-8', 'surrogateescape',
            ).decode('utf-8', 'replace'),
        )
    except dockerfile.GoParseError:
        return None
    return [
        (c.start_line, c.value[0] if c.value else None)
        for c in commands if (c.cmd or '').lower() == 'from'
    ]


def _their_lines(data: bytes) -> list[tuple[str, int, int]]:
    return [
        ((c.cmd or '').lower(), c.start_line, c.end_line)
        for c in dockerfile.parse_string(data.decode('utf-8'))
    ]


def _lint(data: bytes) -> None:
    """Read as the linter reads: BuildKit's refusals are DockerfileError,
    anything else escaping is a bug."""
    try:
        doc, refs, _ = read_dockerfile(data)
    except DockerfileError:
        return
    findings_for('Dockerfile', doc, refs)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_random_dockerfiles(text: str) -> None:
    """Every plainly written FROM image the product reports is a FROM's
    first argument in BuildKit's own parse, on the same line; and every
    instruction is where BuildKit's parser puts it."""
    data = text.encode('utf-8')
    _lint(data)
    theirs = _their_froms(data)
    ours = _our_from_images(data)
    if theirs is not None and ours is not None:
        assert ours <= {(line, image) for line, image in theirs if image}
        instructions = [
            (i.cmd, i.start_line, i.end_line)
            for i in parse(data, join_all=True).instructions
        ]
        assert instructions == _their_lines(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated)
def test_mutated_dockerfiles_never_raise(data: bytes) -> None:
    _lint(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _lint(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_fast_scan_finds_what_the_full_walk_finds(text: str) -> None:
    """The regex-led scan of files without heredocs equals the line walk."""
    data = text.encode('utf-8')
    try:
        fast = image_refs(parse(data))
    except DockerfileError:
        return
    assert fast == image_refs(parse(data, join_all=True))


# what comments_only tells without compiling a pattern
COMMENTS_ONLY = re.compile(r'(?:[ \t\r\f\v]*(?:#[^\n]*)?(?:\n|\Z))*\Z')


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.sampled_from(('#', ' ', '\t', '\r', '\f', '\v', '\n', 'a', '\x1c', '\x85', '\xa0')), max_size=30).map(''.join),
    st.integers(min_value=0, max_value=32),
)
def test_comments_only_is_the_pattern(text: str, end: int) -> None:
    assert comments_only(text, end) is (COMMENTS_ONLY.match(text, 0, end) is not None)


def _continuation_backtracking(escape: str) -> re.Pattern[str]:
    """_continuation_re as first written: the escape found by trying each
    character of a line for ``[^e\\n]`` then the escape."""
    e = re.escape(escape)
    skip = r'[^\S\n\x1c-\x1f]*+(?:#[^\n]*+)?\n'
    continued = rf'(?:[^\n]*[^{e}\n])?{e}[ \t]*+\r*+\n'
    return re.compile(rf'(?:{skip}|{continued})*[^\n]*\n?')


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
@settings(max_examples=2000, deadline=None)
@given(
    st.lists(st.sampled_from((
        '\\', '`', ' ', '\t', '\r', '\n', '#', 'a', '\x1c', '\xa0', '\u3000',
        '\\\n', '\\ \n', '\\\r\n', '`\n', '#\\\n', '\\\\\n',
    )), max_size=30).map(''.join),
    st.sampled_from(('\\', '`')),
    st.integers(min_value=0, max_value=8),
)
def test_continuation_is_the_backtracking_pattern(text: str, escape: str, line: int) -> None:
    # from the start of a line, as instruction_at matches it
    start = 0
    for _ in range(line):
        start = text.find('\n', start) + 1
        if start == 0:
            return
    fast = _continuation_re(escape).match(text, start)
    slow = _continuation_backtracking(escape).match(text, start)
    assert fast is not None and slow is not None
    assert fast.end() == slow.end()


# BuildKit's stage names, which valid_stage_name tells without a pattern
STAGE_NAME = re.compile(r'[a-z][a-z0-9-_.]*\Z')


@settings(max_examples=1000, deadline=None)
@given(st.text('az09-_./:A \n\u0131\u212a', max_size=12))
def test_valid_stage_name_is_the_pattern(name: str) -> None:
    assert valid_stage_name(name) is (STAGE_NAME.match(name) is not None)
