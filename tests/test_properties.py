"""Properties over arbitrary input, for every command.

Arbitrary bytes, Dockerfile-ish and YAML-ish text, and daemon answers of any
JSON shape: a command never raises or prints a traceback, exits 0, 1 or 2,
answers within a deadline (a hang detector; growth itself is measured as a
ratio in test_hostile), and a file changes only by digests inserted at
reference spans.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any
from typing import Callable

import pytest
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.lint import main as lint_main
from digestpin_hooks.update import main as update_main
from digestpin_hooks.verify import main as verify_main
from tests.fakes import FakeDaemon
from tests.fakes import http
from tests.fakes import VERSION

DOCKERFILE_FRAGMENTS = (
    'FROM ', 'FROM --platform=linux/amd64 ', 'ARG ', 'RUN --mount=from=',
    'COPY --from=', 'ONBUILD ', 'ENV ', ' AS ', 'example.com/app:1', 'a:1',
    'x@sha256:' + 'a' * 64, '$B', '${B:-a:1}', '${B#*/}', 'B=c:3', '<<EOF',
    'EOF', '"', "'", '\\', '`', '# escape=`', '# syntax=d/df:1',
    '# digestpin: ignore', '#', ' ', '\t', '\r', '\n', '\n', '\\\n', '\xe9',
    '\x1b', '[', ':', '@', '/', '=', ',',
)
YAML_FRAGMENTS = (
    'services:', 'image: ', 'containers:', '- ', 'jobs:', 'container: ',
    'apiVersion: v1', 'kind: Pod', '  ', '    ', '\n', '\n', '"', "'", '&a ',
    '*a', '<<: ', '{', '}', '[', ']', ', ', 'a:1', 'example.com/app:1',
    '${X:-b:2}', '$', '#', '# digestpin: ignore', '---\n', ':', '|', '\r\n',
)
NAMES = ('Dockerfile', 'compose.yaml', 'k8s.yaml', '.github/workflows/ci.yml')

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from([
        'sha256:' + 'b' * 64, 'example.com/app:1', 'example.com/app@sha256:' + 'b' * 64,
        'Digest: sha256:' + 'b' * 64, 'application/vnd.oci.image.index.v1+json',
    ]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from([
            'Id', 'RepoTags', 'RepoDigests', 'Descriptor', 'digest', 'mediaType',
            'Platforms', 'os', 'architecture', 'variant', 'status', 'error',
        ]) | st.text(max_size=4),
        children, max_size=5,
    ),
    max_leaves=12,
)
REFERENCES = (
    'a:1', 'example.com/app:1', 'example.com/app:1@sha256:' + 'b' * 64,
    'example.com/app@sha256:' + 'b' * 64, 'node', '$B', '${B:-a:1}', 'Bad:1',
    'a:1\x1b[2J', 'a@sha256:evil', '127.0.0.1:5000/x/y:2', '"a:1"',
)
structured_dockerfiles = st.lists(
    st.tuples(
        st.sampled_from([
            'FROM {}', 'FROM --platform=linux/arm64 {} AS s', 'ARG B={}',
            'COPY --from={} /a /b', 'RUN --mount=type=bind,from={} true',
            '# digestpin: ignore\nFROM {}', 'ONBUILD COPY --from={} a b',
        ]),
        st.sampled_from(REFERENCES),
    ).map(lambda t: t[0].format(t[1])),
    min_size=1, max_size=6,
).map(lambda lines: ('\n'.join(lines) + '\n').encode())
structured_compose = st.lists(st.sampled_from(REFERENCES), min_size=1, max_size=4).map(
    lambda refs: ('services:\n' + ''.join(
        f'  s{k}:\n    image: {ref}\n' for k, ref in enumerate(refs)
    )).encode(),
)
# (file name, content): structured files under the name of their kind
files = (
    st.tuples(st.just('Dockerfile'), structured_dockerfiles)
    | st.tuples(st.just('compose.yaml'), structured_compose)
    | st.tuples(st.sampled_from(NAMES), st.binary(max_size=300))
    | st.tuples(st.just('Dockerfile'), st.lists(
        st.sampled_from(DOCKERFILE_FRAGMENTS), max_size=30,
    ).map(lambda p: ''.join(p).encode()))
    | st.tuples(st.sampled_from(NAMES[1:]), st.lists(
        st.sampled_from(YAML_FRAGMENTS), max_size=30,
    ).map(lambda p: ''.join(p).encode()))
)
COMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], list[str]]] = {
    'lint': (lint_main, []),
    'fix local': (fix_main, ['--source', 'local']),
    'fix pull': (fix_main, ['--source', 'pull']),
    'fix registry': (fix_main, ['--source', 'daemon-registry']),
    'update pull': (update_main, ['--source', 'pull']),
    'update registry': (update_main, ['--source', 'daemon-registry']),
    'verify registry': (verify_main, ['--source', 'daemon-registry']),
    'verify local': (verify_main, ['--source', 'local']),
}
DIGEST_RE = re.compile(rb'@sha256:[0-9a-f]{64}')

DAEMON = FakeDaemon({})


def answer_with(value: Any) -> bytes:
    return http('200 OK', json.dumps(value).encode())


def run(command: str, path: str, output_format: str) -> tuple[int, str, str]:
    main, args = COMMANDS[command]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([
            *args, '--docker-host', f'unix://{DAEMON.path}', '--timeout', '2',
            '--format', output_format, path,
        ] if command != 'lint' else ['--format', output_format, path])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
@settings(
    max_examples=400, deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    file=files,
    command=st.sampled_from(list(COMMANDS)),
    output_format=st.sampled_from(['text', 'json', 'sarif', 'github']),
    images=json_values, distribution=json_values, pull=json_values,
)
def test_any_input_any_answer(
        file: tuple[str, bytes], command: str, output_format: str,
        images: Any, distribution: Any, pull: Any,
) -> None:
    name, content = file
    DAEMON.rules = {
        '/version': http('200 OK', VERSION),
        '/images/json': answer_with(images),
        '/distribution/': answer_with(distribution),
        '/images/create': answer_with(pull),
        '/json': answer_with(distribution),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(content)
        code, stdout, stderr = run(command, path, output_format)
        with open(path, 'rb') as f:
            after = f.read()
    output = stdout + stderr
    assert code in (0, 1, 2), output
    assert 'internal error' not in output and 'Traceback' not in output, output
    assert '\x1b' not in output
    # nothing but digests inserted at reference spans
    assert DIGEST_RE.sub(b'', after) == DIGEST_RE.sub(b'', content)
    if output_format in ('json', 'sarif'):
        json.loads(stdout)  # exactly one document, whatever failed


@settings(max_examples=200, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.lists(st.sampled_from(DOCKERFILE_FRAGMENTS), max_size=30).map(
    lambda p: ''.join(p).encode(),
))
def test_fix_with_every_digest_known_only_inserts_digests(content: bytes) -> None:
    """A daemon that knows every tag the file names: whatever fix pins, the
    file minus the inserted digests is the file it read, byte for byte."""
    digest = 'sha256:' + 'e' * 64
    tags = sorted({
        word.decode() for word in re.findall(rb'[a-z0-9./]+:[0-9a-z]+', content)
    } | {'a:1', 'example.com/app:1', 'c:3'})
    DAEMON.rules = {
        '/version': http('200 OK', VERSION),
        '/images/json': answer_with([
            {'Id': 'sha256:' + f'{k:064x}', 'RepoTags': [tag],
             'RepoDigests': [f'{tag.rpartition(":")[0]}@{digest}']}
            for k, tag in enumerate(tags)
        ]),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'Dockerfile')
        with open(path, 'wb') as f:
            f.write(content)
        code, stdout, stderr = run('fix local', path, 'text')
        output = stdout + stderr
        with open(path, 'rb') as f:
            after = f.read()
    assert code in (0, 1, 2), output
    assert 'internal error' not in output, output
    assert after.replace(f'@{digest}'.encode(), b'') == content.replace(f'@{digest}'.encode(), b'')
