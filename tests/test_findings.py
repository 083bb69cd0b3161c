"""Dockerfile bytes -> exact findings (line, column, code, image)."""
from __future__ import annotations

import gc
import weakref

import pytest

from digestpin_hooks.check.findings import allowed
from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.check.findings import Policy
from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.references import image_refs

H = 'a' * 64
PIN = f'@sha256:{H}'


def lint(data: bytes, **kwargs: object) -> list[tuple[int, int, str, str]]:
    doc = parse(data)
    found = findings_for('Dockerfile', doc, image_refs(doc), policy=Policy(**kwargs))  # type: ignore[arg-type]
    return [(f.line, f.column, f.code, f.image) for f in found]


CASES = {
    'tag': (b'FROM node:20-alpine\n', [(1, 6, 'DP001', 'node:20-alpine')]),
    'implicit latest': (b'FROM ubuntu\n', [(1, 6, 'DP002', 'ubuntu')]),
    'registry port no tag': (
        b'FROM localhost:5000/team/app\n',
        [(1, 6, 'DP002', 'localhost:5000/team/app')],
    ),
    'pinned with tag': (f'FROM node:20{PIN}\n'.encode(), []),
    'pinned without tag': (f'FROM node{PIN} AS x\n'.encode(), []),
    'malformed digest': (
        b'FROM node@sha256:abc123\n', [(1, 6, 'DP004', 'node@sha256:abc123')],
    ),
    'unknown algorithm': (
        f'FROM node@md5:{H}\n'.encode(), [(1, 6, 'DP004', f'node@md5:{H}')],
    ),
    'upper-case hex': (
        f'FROM node@sha256:{H.upper()}\n'.encode(),
        [(1, 6, 'DP004', f'node@sha256:{H.upper()}')],
    ),
    'invalid reference': (b'FROM Node:20\n', [(1, 6, 'DP005', 'Node:20')]),
    'platform flag': (
        b'FROM --platform=linux/amd64 node:20 AS b\n',
        [(1, 29, 'DP001', 'node:20')],
    ),
    'unknown flag is not the image': (
        b'FROM --foo=bar node:20\n', [(1, 16, 'DP001', 'node:20')],
    ),
    'lower-case keyword': (b'from node:20 as b\n', [(1, 6, 'DP001', 'node:20')]),
    'quoted image': (b'FROM "node:20"\n', [(1, 7, 'DP001', 'node:20')]),
    'scratch': (b'FROM scratch\n', []),
    'FROM finds a stage exactly as AS lower-cased it': (
        b'FROM node:20 AS Build\nFROM BUILD\nFROM build AS x\n',
        [(1, 6, 'DP001', 'node:20'), (2, 6, 'DP005', 'BUILD')],
    ),
    'stage defined later is an image': (
        b'FROM build\nFROM node:20 AS build\n',
        [(1, 6, 'DP002', 'build'), (2, 6, 'DP001', 'node:20')],
    ),
    'continuation with comment and blanks after the escape': (
        b'FROM \\  \n# comment\n\n  node:20 \\\t\n  AS x\n',
        [(4, 3, 'DP001', 'node:20')],
    ),
    'CRLF': (b'FROM node:20\r\nRUN x\r\n', [(1, 6, 'DP001', 'node:20')]),
    'BOM not counted': (
        b'\xef\xbb\xbfFROM node:20\n', [(1, 6, 'DP001', 'node:20')],
    ),
    'no final newline': (b'FROM a:1', [(1, 6, 'DP001', 'a:1')]),
    'bytes that are not UTF-8': (
        b'FROM a:1\nRUN echo \xff\xfe\nLABEL x=\xe9\n',
        [(1, 6, 'DP001', 'a:1')],
    ),
    'columns are characters': (
        'FROM a@sha256:{} AS b\nCOPY --chown=é:é --from=c:2 x y\n'.format(H).encode(),
        [(2, 25, 'DP001', 'c:2')],
    ),
    'escape directive (backtick)': (
        b'# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n'
        b'  AS base\nRUN dir \\\nFROM x:1\n',
        [
            (2, 6, 'DP001', 'mcr.microsoft.com/windows/servercore:ltsc2022'),
            (5, 6, 'DP001', 'x:1'),
        ],
    ),
    'heredoc bodies are not instructions': (
        b'FROM a:1\nRUN <<EOF\nFROM b:2\nEOF\nCOPY <<-EOT /x\n\tFROM c:3\n'
        b'\tEOT\nRUN <<"A" cat && \\\n  echo\nFROM e:5\nA\nFROM d:4\n',
        [(1, 6, 'DP001', 'a:1'), (12, 6, 'DP001', 'd:4')],
    ),
    'heredoc word in quotes is no heredoc': (
        b'FROM a:1\nRUN echo "<<EOF"\nFROM b:2\n',
        [(1, 6, 'DP001', 'a:1'), (3, 6, 'DP001', 'b:2')],
    ),
    'COPY --from image': (
        b'FROM a:1 AS s\nFROM scratch\nCOPY --from=S /a /b\n'
        b'COPY --from=busybox:1.36 /a /b\nCOPY --from=scratch /a /b\n',
        [(1, 6, 'DP001', 'a:1'), (4, 13, 'DP001', 'busybox:1.36')],
    ),
    'COPY --from stage index': (
        b'FROM a:1\nFROM scratch\nCOPY --from=0 /x /y\n', [(1, 6, 'DP001', 'a:1')],
    ),
    'ONBUILD COPY --from': (
        b'FROM a:1\nONBUILD COPY --from=c:3 /x /y\n',
        [(1, 6, 'DP001', 'a:1'), (2, 21, 'DP001', 'c:3')],
    ),
    'RUN --mount from': (
        b'FROM a:1 AS s\nFROM scratch\nRUN --mount=type=cache,from=b:2,target=/x '
        b'--mount=from=S,target=/y --mount=type=secret,id=x true\n',
        [(1, 6, 'DP001', 'a:1'), (3, 29, 'DP001', 'b:2')],
    ),
    'RUN --mount from=0 is an image named 0': (
        b'FROM scratch\nRUN --mount=from=0,target=/y true\n',
        [(2, 18, 'DP002', '0')],
    ),
    'RUN --mount types tmpfs and ssh still pull': (
        b'FROM scratch\nRUN --mount=type=TMPFS,from=b:2 --mount=type=ssh,from=c:3 true\n',
        [(2, 29, 'DP001', 'b:2'), (2, 55, 'DP001', 'c:3')],
    ),
    'quoted --mount values are read, not edited': (
        b'FROM scratch\nRUN --mount="type=bind,from=b:2,target=/x" '
        b'--mount=type=bind,"from=c:3",target=/y true\n',
        [(2, 13, 'DP001', 'b:2'), (2, 52, 'DP001', 'c:3')],
    ),
    'syntax directive': (
        f'# syntax=docker/dockerfile:1\nFROM a{PIN}\n'.encode(),
        [(1, 10, 'DP001', 'docker/dockerfile:1')],
    ),
    'syntax comment after an instruction is no directive': (
        f'FROM a{PIN}\n# syntax=docker/dockerfile:1\n'.encode(), [],
    ),
    'syntax after another comment is no directive': (
        b'# hello\n# syntax=x:1\nFROM scratch\n', [],
    ),
    'global ARG default': (
        b'ARG BASE=node:20\nFROM $BASE\n', [(1, 10, 'DP001', 'node:20')],
    ),
    'global ARG in braces': (
        b'ARG BASE=node:20\nFROM ${BASE} AS b\n', [(1, 10, 'DP001', 'node:20')],
    ),
    'default inside the FROM': (
        b'ARG BASE\nFROM ${BASE:-node:20}\n', [(2, 14, 'DP001', 'node:20')],
    ),
    'ARG without default: DP003': (
        b'ARG BASE\nFROM $BASE\n', [(2, 6, 'DP003', '$BASE')],
    ),
    'stage ARG does not feed FROM': (
        f'FROM a{PIN}\nARG BASE=node:20\nFROM $BASE\n'.encode(),
        [(3, 6, 'DP003', '$BASE')],
    ),
    'partly variable': (
        b'ARG V=3.12\nFROM python:${V}-slim\n',
        [(2, 6, 'DP001', 'python:3.12-slim')],
    ),
    'one ARG feeding two FROMs is one finding': (
        b'ARG B=a:1\nFROM $B\nARG B=c:3\nFROM $B\n', [(1, 7, 'DP001', 'a:1')],
    ),
    'quoted ARG default': (
        b'ARG B="node:20"\nFROM $B\n', [(1, 8, 'DP001', 'node:20')],
    ),
    'ARG built from another ARG: at its default': (
        b'ARG REG=ghcr.io\nARG IMG=$REG/o/r:1\nFROM $IMG\n',
        [(2, 9, 'DP001', 'ghcr.io/o/r:1')],
    ),
    'ARG that names a stage': (
        b'ARG S=build\nFROM a:1 AS build\nFROM $S\n', [(2, 6, 'DP001', 'a:1')],
    ),
    'build platform args': (
        b'FROM --platform=$BUILDPLATFORM golang:1.22 AS b\n'
        b'FROM alpine:${TARGETARCH}\n',
        [
            (1, 32, 'DP001', 'golang:1.22'),
            (2, 6, 'DP003', 'alpine:${TARGETARCH}'),
        ],
    ),
    'ONBUILD COPY --from with a variable': (
        b'FROM a:1\nONBUILD COPY --from=$X /a /b\n',
        [(1, 6, 'DP001', 'a:1'), (2, 21, 'DP003', '$X')],
    ),
    'pragma, all codes': (
        b'# digestpin: ignore\nFROM node:20\nFROM ubuntu\n',
        [(3, 6, 'DP002', 'ubuntu')],
    ),
    'pragma with codes': (
        b'FROM x:1\n# digestpin: ignore=DP002\nFROM node:20\n',
        [(1, 6, 'DP001', 'x:1'), (3, 6, 'DP001', 'node:20')],
    ),
    'pragma above the ARG': (
        b'# digestpin: ignore=DP001\nARG B=a:1\nFROM $B\n', [],
    ),
    'pragma above the FROM an ARG feeds': (
        b'ARG B=a:1\n# digestpin: ignore\nFROM $B\n', [],
    ),
}


@pytest.mark.parametrize(
    ('data', 'expected'), list(CASES.values()), ids=list(CASES),
)
def test_findings(data: bytes, expected: list[tuple[int, int, str, str]]) -> None:
    assert lint(data) == expected


def test_dp003_is_a_warning_unless_strict() -> None:
    doc = parse(b'ARG B\nFROM $B\n')
    (finding,) = findings_for('D', doc, image_refs(doc))
    assert finding.severity == 'warning'
    (finding,) = findings_for('D', doc, image_refs(doc), policy=Policy(strict=True))
    assert finding.severity == 'error'


@pytest.mark.parametrize(
    ('allow', 'expected'),
    (
        ((), [(1, 6, 'DP002', 'localhost:5000/team/app'), (2, 6, 'DP001', 'node:20')]),
        (('localhost:5000/*',), [(2, 6, 'DP001', 'node:20')]),
        (('node',), [(1, 6, 'DP002', 'localhost:5000/team/app')]),
        (('docker.io/library/*',), [(1, 6, 'DP002', 'localhost:5000/team/app')]),
        (('node:1*',), [(1, 6, 'DP002', 'localhost:5000/team/app'), (2, 6, 'DP001', 'node:20')]),
    ),
)
def test_allow(allow: tuple[str, ...], expected: list[tuple[int, int, str, str]]) -> None:
    data = b'FROM localhost:5000/team/app\nFROM node:20\n'
    assert lint(data, allow=allow) == expected


def test_allow_lists_are_not_kept_alive() -> None:
    """--allow is compiled once for the run; the lists a long-lived caller
    passes before it are not kept (the cache was unbounded, keyed by id())."""
    class Patterns(list[str]):
        pass
    lists = [Patterns([f'img{k}:*', 'node']) for k in range(3)]
    kept = [weakref.ref(patterns) for patterns in lists]
    assert [allowed('img1:2', patterns) for patterns in lists] == [False, True, False]
    del lists
    gc.collect()
    assert [ref() is None for ref in kept] == [True, True, False]


def test_source_written_and_end() -> None:
    doc = parse(b'ARG B="node:20"\nFROM $B\nFROM python:${V:-3}-slim\n')
    found = findings_for('D', doc, image_refs(doc))
    assert [(f.source, f.written, f.end_line, f.end_column) for f in found] == [
        ('ARG', 'node:20', 1, 15),
        ('FROM', 'python:${V:-3}-slim', 3, 25),
    ]
    assert 'FROM on line 2' in found[0].message


@pytest.mark.parametrize(('data', 'advice'), (
    (b'FROM node:20\n', 'pin it with digestpin-fix (node:20@sha256:<digest>)'),
    (b'ARG V=20\nFROM node:${V}\n', 'it is partly made of variables, which digestpin-fix leaves'),
    (b'FROM "node":20\n', 'it is written with quotes, escapes or across lines, which digestpin-fix leaves'),
    (b'FROM $IMG\n', 'give the ARG a default (pinned), or pin the image where the value is set'),
    (b'FROM ${TARGETARCH}/alpine:3\n', "name each platform's image, or pin the index the tag names"),
    (b'FROM a:1@sha256:' + H.encode() + b'\nONBUILD COPY --from=$X /a /b\n', 'name a stage (FROM $IMAGE AS src) and copy from it'),
))
def test_advice_matches_what_fix_will_do(data: bytes, advice: str) -> None:
    doc = parse(data)
    (finding,) = findings_for('Dockerfile', doc, image_refs(doc))
    assert advice in finding.message


def test_compose_advice_is_in_compose_words(tmp_path: object) -> None:
    from digestpin_hooks.read.yaml_refs import parse_yaml
    doc, refs = parse_yaml(b'services:\n  a:\n    image: ${REG}/team/web:1.0\n', 'compose.yaml', 'compose')
    (finding,) = findings_for('compose.yaml', doc, refs)
    assert 'give the variable a pinned default (${VAR:-image@sha256:...}) or a value in .env' in finding.message
    assert 'ARG' not in finding.message


@pytest.mark.parametrize(('name', 'kind', 'data', 'advice'), (
    ('compose.yaml', 'compose', b'services:\n  a:\n    image: ${REG}/team/web:1.0\n',
     'a pinned default (${VAR:-image@sha256:...}) or a value in .env'),
    # (the runner has no ${VAR:-default}: it would read one variable)
    ('.gitlab-ci.yml', 'gitlab-ci', b'build:\n  image: ${REG}/team/web:1.0\n  script: [make]\n',
     'a pinned value in variables: (VAR: image@sha256:...)'),
    ('cloudbuild.yaml', 'cloudbuild', b'steps:\n- name: ${_REG}/team/web:1.0\n',
     'a pinned default in substitutions: (_VAR: image@sha256:...); a ${_VAR:-...} '
     'default needs dynamic substitutions (options: dynamicSubstitutions: true, or a trigger)'),
))
def test_a_variable_without_a_value_gets_advice_in_its_kinds_words(
        name: str, kind: str, data: bytes, advice: str,
) -> None:
    """The reason is data (ImageRef.how, and the kind's variables_from):
    GitLab's advice names variables:, Cloud Build's substitutions:, as
    Compose's names .env; no advice is chosen by the words of a note."""
    from digestpin_hooks.read.yaml_refs import parse_yaml
    doc, refs = parse_yaml(data, name, kind)
    (finding,) = findings_for(name, doc, refs)
    assert finding.code == 'DP003'
    assert finding.message.endswith(f'; give the variable {advice}'), finding.message
