"""YAML files -> exact references, and exact bytes after a fix, per kind."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any
from typing import Callable

import pytest

from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.fix import fix_files
from digestpin_hooks.model import FileError
from digestpin_hooks.read.files import load
from digestpin_hooks.read.files import UnreadableFile
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.resolve.answers import Found


def digest_of(name: str) -> str:
    return 'sha256:' + hashlib.sha256(name.encode()).hexdigest()


def knows_everything(keys: list[TagKey]) -> dict[TagKey, Found]:
    return {key: Found(digest_of(familiar(key))) for key in keys}


def refs_of(tmp_path: Path, name: str, text: str | bytes, kind: str = 'auto', env: str | None = None) -> list[tuple[str, int, int, str, str, bool]]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    if env is not None:
        (path.parent / '.env').write_text(env)
    loaded = load(str(path), kind)
    result = []
    for ref in loaded.refs:
        line, column = loaded.doc.position(ref.span[0])
        result.append((ref.source, line, column, ref.image, ref.written, ref.editable))
    return result


COMPOSE = {
    'every quoting style and flow style': (
        'services:\n'
        '  plain:\n    image: nginx:1.25\n'
        "  single:\n    image: 'redis:7'\n"
        '  double:\n    image: "postgres:16"   # comment\n'
        '  flow: {image: busybox, command: ["true"]}\n',
        None,
        [
            ('services.plain.image', 3, 12, 'nginx:1.25', 'nginx:1.25', True),
            ('services.single.image', 5, 13, 'redis:7', 'redis:7', True),
            ('services.double.image', 7, 13, 'postgres:16', 'postgres:16', True),
            ('services.flow.image', 8, 17, 'busybox', 'busybox', True),
        ],
    ),
    'build: names the image it builds': (
        'services:\n  app:\n    build: .\n    image: me/app:dev\n  db:\n    image: mysql\n',
        None,
        [('services.db.image', 6, 12, 'mysql', 'mysql', True)],
    ),
    'anchors: found once, at the anchor; merge keys apply': (
        'x-base: &base\n  image: alpine:3\n  restart: always\n'
        'services:\n  a:\n    <<: *base\n  b:\n    <<: *base\n    image: node:20\n'
        '  c:\n    <<: *base\n',
        None,
        [
            ('services.a.image', 2, 10, 'alpine:3', 'alpine:3', True),
            ('services.b.image', 9, 12, 'node:20', 'node:20', True),
        ],
    ),
    'interpolation with defaults, no .env': (
        'services:\n'
        '  a:\n    image: ${IMAGE:-nginx:1.25}\n'
        '  b:\n    image: "postgres:${PG_VERSION:-16}"\n'
        '  c:\n    image: $$literal\n'
        '  d:\n    image: ${MISSING}\n',
        None,
        [
            ('services.a.image', 3, 21, 'nginx:1.25', 'nginx:1.25', True),
            ('services.b.image', 5, 13, 'postgres:16', 'postgres:${PG_VERSION:-16}', False),
            ('services.c.image', 7, 12, '$literal', '$$literal', False),
            ('services.d.image', 9, 12, '${MISSING}', '${MISSING}', False),
        ],
    ),
    'interpolation with .env': (
        'services:\n  a:\n    image: ${IMAGE:-nginx:1.25}\n  b:\n    image: "postgres:${PG_VERSION:-16}"\n'
        '  d:\n    image: ${MISSING}\n',
        'IMAGE=caddy:2\nPG_VERSION=15\nMISSING=redis:7 # comment\n',
        [
            ('services.a.image', 3, 12, 'caddy:2', '${IMAGE:-nginx:1.25}', False),
            ('services.b.image', 5, 13, 'postgres:15', 'postgres:${PG_VERSION:-16}', False),
            ('services.d.image', 7, 12, 'redis:7', '${MISSING}', False),
        ],
    ),
    'CRLF and a BOM': (
        b'\xef\xbb\xbfservices:\r\n  web:\r\n    image: nginx\r\n',
        None,
        [('services.web.image', 3, 12, 'nginx', 'nginx', True)],
    ),
}


@pytest.mark.parametrize(('text', 'env', 'expected'), list(COMPOSE.values()), ids=list(COMPOSE))
def test_compose(tmp_path: Path, text: str, env: str | None, expected: list[tuple[object, ...]]) -> None:
    assert refs_of(tmp_path, 'compose.yaml', text, env=env) == expected


KUBERNETES = {
    'pod, deployment, cronjob, list; multi-document': (
        'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n'
        '  initContainers:\n  - {name: i, image: "busybox"}\n'
        '---\n'
        'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n'
        '      containers:\n        - name: b\n          image: redis:7\n'
        '      ephemeralContainers:\n        - name: d\n          image: \'debug:1\'\n'
        '---\n'
        'apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n'
        '        spec:\n          containers:\n          - image: cron:1\n'
        '---\n'
        'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  spec:\n    containers:\n'
        '    - image: listed:1\n',
        [
            ('spec.containers[0].image', 6, 12, 'nginx:1.25', 'nginx:1.25', True),
            ('spec.initContainers[0].image', 8, 23, 'busybox', 'busybox', True),
            ('spec.template.spec.containers[0].image', 17, 18, 'redis:7', 'redis:7', True),
            ('spec.template.spec.ephemeralContainers[0].image', 20, 19, 'debug:1', 'debug:1', True),
            ('spec.jobTemplate.spec.template.spec.containers[0].image', 30, 20, 'cron:1', 'cron:1', True),
            ('items[0].spec.containers[0].image', 39, 14, 'listed:1', 'listed:1', True),
        ],
    ),
    'variables are DP003, anchors once': (
        'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - &c {name: a, image: $REGISTRY/app:1}\n'
        '  initContainers:\n  - *c\n',
        [('spec.containers[0].image', 5, 25, '$REGISTRY/app:1', '$REGISTRY/app:1', False)],
    ),
}


@pytest.mark.parametrize(('text', 'expected'), list(KUBERNETES.values()), ids=list(KUBERNETES))
def test_kubernetes(tmp_path: Path, text: str, expected: list[tuple[object, ...]]) -> None:
    assert refs_of(tmp_path, 'deploy/app.yaml', text) == expected


ACTIONS = {
    'workflow: container, services, docker:// steps': (
        '.github/workflows/ci.yml',
        'on: [push]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    container: node:20\n'
        '    services:\n      db:\n        image: postgres:16\n'
        '    steps:\n      - uses: actions/checkout@v4\n      - uses: docker://alpine:3.19\n'
        '  b:\n    container:\n      image: "python:3.12"\n      options: --cpus 1\n'
        '    steps:\n      - uses: docker://ghcr.io/o/t:${{ matrix.v }}\n',
        [
            ('jobs.a.container', 5, 16, 'node:20', 'node:20', True),
            ('jobs.a.services.db.image', 8, 16, 'postgres:16', 'postgres:16', True),
            ('jobs.a.steps[1].uses', 11, 24, 'alpine:3.19', 'alpine:3.19', True),
            ('jobs.b.container.image', 14, 15, 'python:3.12', 'python:3.12', True),
            ('jobs.b.steps[0].uses', 17, 24, 'ghcr.io/o/t:${{ matrix.v }}',
             'ghcr.io/o/t:${{ matrix.v }}', False),
        ],
    ),
    'action metadata': (
        'action.yml',
        "name: x\nruns:\n  using: 'docker'\n  image: 'docker://ghcr.io/o/a:1'\n",
        [('runs.image', 4, 20, 'ghcr.io/o/a:1', 'ghcr.io/o/a:1', True)],
    ),
    'action built from a Dockerfile': (
        'action.yaml', 'runs:\n  using: docker\n  image: Dockerfile\n', [],
    ),
}


@pytest.mark.parametrize(('name', 'text', 'expected'), list(ACTIONS.values()), ids=list(ACTIONS))
def test_actions(tmp_path: Path, name: str, text: str, expected: list[tuple[object, ...]]) -> None:
    assert refs_of(tmp_path, name, text) == expected


def test_findings_codes_and_pragma(tmp_path: Path) -> None:
    path = tmp_path / 'compose.yml'
    path.write_text(
        'services:\n  a:\n    image: nginx\n  b:\n    # digestpin: ignore\n    image: redis:7\n'
        '  c:\n    image: ${NOPE}\n  d:\n    image: "Bad:1"\n',
    )
    loaded = load(str(path))
    found = findings_for(str(path), loaded.doc, loaded.refs)
    assert [(f.line, f.column, f.code, f.source) for f in found] == [
        (3, 12, 'DP002', 'services.a.image'),
        (8, 12, 'DP003', 'services.c.image'),
        (10, 13, 'DP005', 'services.d.image'),
    ]


FIXED = [
    (
        'compose.yaml',
        b'# keep me\r\nservices:\r\n  web: {image: "nginx:1.25", ports: ["80:80"]}\r\n'
        b'  app:\r\n    image: ${APP:-me/app:1}   # trailing\r\n  x:\r\n    image: &i redis\r\n'
        b'  y:\r\n    image: *i',
        b'# keep me\r\nservices:\r\n  web: {image: "nginx:1.25@' + digest_of('nginx:1.25').encode()
        + b'", ports: ["80:80"]}\r\n  app:\r\n    image: ${APP:-me/app:1@' + digest_of('me/app:1').encode()
        + b'}   # trailing\r\n  x:\r\n    image: &i redis@' + digest_of('redis:latest').encode()
        + b'\r\n  y:\r\n    image: *i',
    ),
    (
        'k8s/pod.yaml',
        b"---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: 'nginx'\n    name: a\n",
        b"---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: 'nginx@"
        + digest_of('nginx:latest').encode() + b"'\n    name: a\n",
    ),
    (
        '.github/workflows/w.yaml',
        b'on: push\njobs:\n  j:\n    steps:\n      - uses: "docker://alpine:3"\n',
        b'on: push\njobs:\n  j:\n    steps:\n      - uses: "docker://alpine:3@'
        + digest_of('alpine:3').encode() + b'"\n',
    ),
]


@pytest.mark.parametrize(('name', 'before', 'after'), FIXED, ids=[f[0] for f in FIXED])
def test_fix_exact_bytes(tmp_path: Path, name: str, before: bytes, after: bytes) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(before)
    fix_files([str(path)], knows_everything)
    assert path.read_bytes() == after
    fix_files([str(path)], knows_everything)
    assert path.read_bytes() == after


BAD = {
    'invalid YAML': ('compose.yaml', b'services:\n  a: [\n', 'invalid YAML: line 3'),
    'not a Compose file': ('compose.yaml', b'- a\n- b\n', 'not a Compose file: no services mapping at the top'),
    'not a workflow': ('.github/workflows/x.yml', b'name: x\n', 'not a GitHub Actions workflow'),
    'not a manifest': ('k.yaml', b'a: 1\n', 'not a Kubernetes manifest: no document has apiVersion and kind'),
    'duplicate keys': ('compose.yaml', b'services:\n  a:\n    image: x\n    image: y\n', "line 4: duplicate key 'image' (first on line 3)"),
    # libyaml may stop first (at 1000 levels), with its own words
    'deep nesting': ('compose.yaml', b'services: ' + b'[' * 5000 + b']' * 5000 + b'\n',
                     ('nested more than 256 levels deep', 'exceeded maximum nesting depth')),
    'deep block nesting': ('compose.yaml', b'services:\n' + b''.join(
        b' ' * i + b'k:\n' for i in range(1, 400)), 'nested more than 256 levels deep'),
    'not UTF-8': ('compose.yaml', b'services:\n  a:\n    image: \xff\n', 'not UTF-8 (byte 26), which YAML must be'),
    'alias to nothing': ('compose.yaml', b'services: *nope\n', 'alias *nope names no finished anchor'),
    'huge': ('compose.yaml', b'services: {}\n' + b'#' * (9 * 1024 * 1024), 'larger than 8 MiB'),
}


@pytest.mark.parametrize(('name', 'data', 'message'), list(BAD.values()), ids=list(BAD))
def test_bad_yaml_is_a_clear_error(tmp_path: Path, name: str, data: bytes, message: str | tuple[str, ...]) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with pytest.raises(UnreadableFile) as e:
        load(str(path))
    alternatives = message if isinstance(message, tuple) else (message,)
    assert any(m in str(e.value) for m in alternatives), str(e.value)
    assert '\n' not in str(e.value)


BILLION_LAUGHS = (
    b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + b''.join(
        f'{n}: &{n} [{",".join([f"*{p}"] * 9)}]\n'.encode()
        for p, n in zip('abcdefgh', 'bcdefghi')
    )
    + b'services:\n  web:\n    image: *i\n'
)


def test_yaml_bomb_is_rejected_fast_and_small(tmp_path: Path) -> None:
    import subprocess
    import sys
    path = tmp_path / 'compose.yaml'
    path.write_bytes(BILLION_LAUGHS)
    # a fresh parent, so that its children's peak memory is this run's alone
    measure = (
        'import resource, subprocess, sys, time\n'
        'start = time.monotonic()\n'
        'result = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n'
        'elapsed = time.monotonic() - start\n'
        'peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n'
        'sys.stdout.write(f"{result.returncode} {elapsed} {peak}\\n")\n'
        'sys.stdout.write(result.stdout)\n'
        'sys.stderr.write(result.stderr)\n'
    )
    outer = subprocess.run(
        (sys.executable, '-c', measure, sys.executable, '-m', 'digestpin_hooks', 'fix', str(path)),
        capture_output=True, text=True,
    )
    first, _, stdout = outer.stdout.partition('\n')
    code, elapsed_text, peak_text = first.split()
    result = subprocess.CompletedProcess((), int(code), stdout, outer.stderr)
    elapsed, peak_kib = float(elapsed_text), int(peak_text)
    assert result.returncode == 2
    assert result.stdout == ''
    assert result.stderr == (
        f'{path}: error: line 7: aliases would expand to more than 1000000 '
        f'nodes (a YAML bomb?)\n'
    )
    assert path.read_bytes() == BILLION_LAUGHS
    assert elapsed < 1.0
    assert peak_kib < 100 * 1024


def test_too_many_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node limit, lowered so that the test builds a thousand nodes,
    not a million."""
    from digestpin_hooks.read import yaml_nodes
    monkeypatch.setattr(yaml_nodes, 'MAX_NODES', 1000)
    path = tmp_path / 'compose.yaml'
    path.write_bytes(b'services: {}\nx: [' + b'0,' * 1000 + b'0]\n')
    with pytest.raises(UnreadableFile, match='more than 1000 nodes'):
        load(str(path))
    path.write_bytes(b'services: {}\nx: [' + b'0,' * 990 + b'0]\n')
    load(str(path))


@pytest.mark.parametrize('command', ('lint', 'fix', 'update', 'verify'))
def test_bad_yaml_on_the_command_line(
        tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str],
) -> None:
    from digestpin_hooks.__main__ import main
    bad = tmp_path / 'docker-compose.yml'
    data = b'services:\n  a:\n    image: x:1\n    image: y:1\n'
    bad.write_bytes(data)
    good = tmp_path / 'compose.override.yaml'
    good.write_bytes(b'services:\n  a:\n    image: "a@sha256:' + b'0' * 64 + b'"\n')
    argv = [command, str(bad), str(good)]
    if command != 'lint':
        argv[1:1] = ['--docker-host', f'unix://{tmp_path}/none.sock']
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert f"{bad}: error: line 4: duplicate key 'image' (first on line 3)" in err.splitlines()
    assert 'Traceback' not in err
    assert bad.read_bytes() == data


def test_actions_job_container_with_docker_prefix(tmp_path: Path) -> None:
    """The runner strips docker:// from job and service containers: the
    rest is the image, and a fix keeps the prefix."""
    from digestpin_hooks.fix import fix_files
    from digestpin_hooks.resolve.answers import Found
    digest = 'sha256:' + 'c' * 64
    path = tmp_path / '.github' / 'workflows' / 'ci.yml'
    path.parent.mkdir(parents=True)
    path.write_text(
        'jobs:\n  a:\n    container: docker://rust:1.90.0\n'
        '    services:\n      db:\n        image: "docker://postgres:16"\n'
        '  b:\n    container:\n      image: docker://alpine:3\n',
    )
    loaded = load(str(path))
    assert [(r.source, r.image) for r in loaded.refs] == [
        ('jobs.a.container', 'rust:1.90.0'),
        ('jobs.a.services.db.image', 'postgres:16'),
        ('jobs.b.container.image', 'alpine:3'),
    ]
    fix_files([str(path)], lambda keys: {k: Found(digest) for k in keys})
    assert path.read_text() == (
        f'jobs:\n  a:\n    container: docker://rust:1.90.0@{digest}\n'
        f'    services:\n      db:\n        image: "docker://postgres:16@{digest}"\n'
        f'  b:\n    container:\n      image: docker://alpine:3@{digest}\n'
    )


@pytest.mark.parametrize('data', (
    b'include:\n  - other/compose.yaml\n',
    b'volumes:\n  data: {}\n',
    b'name: x\nnetworks:\n  n: {}\nx-common: &c {}\n',
))
def test_a_compose_file_without_services_has_nothing_to_check(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / 'compose.yaml'
    path.write_bytes(data)
    assert load(str(path)).refs == []


def test_a_yaml_file_that_is_no_compose_file_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / 'compose.yaml'
    path.write_bytes(b'hello: world\n')
    with pytest.raises(UnreadableFile, match='not a Compose file'):
        load(str(path))


def test_kubernetes_custom_resources_name_images_at_any_depth(tmp_path: Path) -> None:
    """Argo Workflows, Tekton and operators: every image: key with a string
    value is a reference, a Tekton parameter is DP003, not an untagged name."""
    from digestpin_hooks.check.findings import findings_for
    path = tmp_path / 'k8s' / 'pipeline.yaml'
    path.parent.mkdir()
    path.write_text(
        'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n'
        '  - name: a\n    container:\n      image: alpine:3\n'
        '  - name: b\n    script:\n      image: python:3.12\n    sidecars:\n    - image: redis:7\n'
        '---\napiVersion: tekton.dev/v1\nkind: Task\nspec:\n  stepTemplate:\n    image: busybox:1\n'
        '  steps:\n  - image: golang:$(params.version)\n'
        '---\napiVersion: example.com/v1\nkind: Operated\nspec:\n  image: app:2\n'
        '  replicas: 1\n  images: [not, these]\n',
    )
    loaded = load(str(path))
    assert [(r.source, r.image) for r in loaded.refs] == [
        ('spec.templates[0].container.image', 'alpine:3'),
        ('spec.templates[1].script.image', 'python:3.12'),
        ('spec.templates[1].sidecars[0].image', 'redis:7'),
        ('spec.stepTemplate.image', 'busybox:1'),
        ('spec.steps[0].image', 'golang:$(params.version)'),
        ('spec.image', 'app:2'),
    ]
    codes = [(f.line, f.code) for f in findings_for(str(path), loaded.doc, loaded.refs)]
    assert codes == [(7, 'DP001'), (10, 'DP001'), (12, 'DP001'), (18, 'DP001'), (20, 'DP003'), (25, 'DP001')]


ARGO_WORKFLOW = (
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: hello-\n'
    'spec:\n  entrypoint: main\n  templates:\n  - name: main\n'
    '    inputs:\n      parameters:\n      - name: msg\n'
    '    container:\n      image: busybox:1.36\n'
    '      command: [echo, "{{inputs.parameters.msg}}"]\n'
)


def test_braces_in_a_valid_manifest_make_no_template(tmp_path: Path) -> None:
    """Argo's ``{{inputs.parameters.x}}`` in a string of a file that parses
    leaves the file a manifest; in an image it is DP003 (issue 21)."""
    assert refs_of(tmp_path, 'argo/hello.yaml', ARGO_WORKFLOW) == [
        ('spec.templates[0].container.image', 13, 14, 'busybox:1.36', 'busybox:1.36', True),
    ]
    path = tmp_path / 'argo' / 'param.yaml'
    path.write_text(ARGO_WORKFLOW.replace('busybox:1.36', '"busybox:{{inputs.parameters.v}}"'))
    loaded = load(str(path))
    assert [(f.line, f.column, f.code, f.message) for f in findings_for(str(path), loaded.doc, loaded.refs)] == [
        (13, 15, 'DP003', "'busybox:{{inputs.parameters.v}}' cannot be checked: a template "
         'parameter, only known when the file is rendered; pin the image where the value is set'),
    ]




def test_a_compose_volume_key_path_under_a_long_service_name_is_shortened(tmp_path: Path) -> None:
    """A volume's key path longer than 200 characters is its first and
    last 100, as error lines show one: each volume of a service of a long
    name copied it whole (500 KB: 1.4 GB).  The image's path is as ever
    (one a service), and the service is read as every other."""
    name = 's' * 300
    assert refs_of(tmp_path, 'compose.yaml', (
        f'services:\n  ? {name}\n  :\n    image: a:1\n    volumes:\n'
        '      - {type: image, source: b:1, target: /x}\n'
    )) == [
        (f'services.{name}.image', 4, 12, 'a:1', 'a:1', True),
        (f'services.{"s" * 91}\u2026{"s" * 82}.volumes[0].source', 6, 31, 'b:1', 'b:1', True),
    ]



# two services whose volumes' key paths, shortened, are the same (names of
# 205 characters alike in their first 91 and last 82); a later document or
# file mounts another image at the first one's target, which Compose pulls
# in place of v:1 (asked: tests/test_real_tools.py)
_LONG_A = 'a' * 95 + 'x' * 20 + 'z' * 90
_LONG_B = 'a' * 95 + 'y' * 20 + 'z' * 90
_IMAGE_VOLUME = '    volumes:\n      - {type: image, source: %s, target: /m}\n'
_ALIKE_WHEN_SHORTENED = (
    f'services:\n  {_LONG_A}:\n    image: s:1\n' + _IMAGE_VOLUME % 'v:1'
    + f'  {_LONG_B}:\n    image: t:1\n' + _IMAGE_VOLUME % 'w:1'
)
_REMOUNTED = f'services:\n  {_LONG_A}:\n' + _IMAGE_VOLUME % 'u:1'
SHORTENED_ALIKE = {
    'documents': {'compose.yaml': f'{_ALIKE_WHEN_SHORTENED}---\n{_REMOUNTED}'},
    'include entry': {
        'compose.yaml': 'include:\n  - path: [base.yml, over.yml]\n',
        'base.yml': _ALIKE_WHEN_SHORTENED, 'over.yml': _REMOUNTED,
    },
}


@pytest.mark.parametrize('case', sorted(SHORTENED_ALIKE))
def test_volumes_whose_shortened_key_paths_are_alike_are_told_apart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A volume is known by its service and place, not by its key path in
    words: two services of long names whose volumes' paths are the same
    once shortened are two services, and the image a later document or
    file mounts at one's target is pulled in place of that one's only
    (v:1 was reported, and pinned, as the other's path was pulled)."""
    tree(tmp_path, SHORTENED_ALIKE[case])
    assert _shortened(_LONG_A) == _shortened(_LONG_B)
    assert sorted(image for *_, image in images(tmp_path, ['compose.yaml'], monkeypatch)) == [
        's:1', 't:1', 'u:1', 'w:1',
    ]


def _shortened(name: str) -> str:
    from digestpin_hooks.text import shortened
    return shortened(f'services.{name}.volumes[0].source')


# file linted -> its files, the image one variable of ``value``
MADE_OF_ONE_VALUE: dict[str, Callable[[str], dict[str, str]]] = {
    'compose.yaml': lambda value: {
        'compose.yaml': 'services:\n  s:\n    image: ${A}\n', '.env': f'A={value}\n',
    },
    'cloudbuild.yaml': lambda value: {
        'cloudbuild.yaml': f'substitutions:\n  _A: "{value}"\nsteps:\n- name: $_A\n',
    },
    '.woodpecker.yml': lambda value: {
        '.woodpecker.yml': f'matrix:\n  A: ["{value}"]\nsteps:\n  s:\n    image: $A\n',
    },
}


@pytest.mark.parametrize('name', list(MADE_OF_ONE_VALUE))
def test_an_image_its_variables_make_longer_than_any_reference_is_dp005_unmade(
        tmp_path: Path, name: str,
) -> None:
    """An image its variables make longer than EXPANSION_BUDGET (1,024)
    characters is DP005, said with its text as written, and not made:
    Compose expands it whole (tests/test_real_tools.py asks it) and pulls
    a name no registry can have; each use made it and printed it whole.
    One of 1,024 characters is made and parsed as before."""
    texts = {}
    for length in (1024, 1025):
        folder = tmp_path / str(length)
        for written, text in MADE_OF_ONE_VALUE[name]('a' * length).items():
            (folder / written).parent.mkdir(parents=True, exist_ok=True)
            (folder / written).write_text(text)
        loaded = load(str(folder / name))
        [ref] = loaded.refs
        [finding] = findings_for(str(folder / name), loaded.doc, loaded.refs)
        texts[length] = (len(ref.image), finding.code, finding.message.split(': ', 1)[1])
    assert texts[1024] == (1024, 'DP005', texts[1024][2])
    assert texts[1024][2].startswith('repository name longer than 255 characters')
    written = {'compose.yaml': '${A}', 'cloudbuild.yaml': '$_A', '.woodpecker.yml': '$A'}[name]
    assert texts[1025] == (len(written), 'DP005', (
        'no reference that can be pulled is longer than 780 characters [its variables make it '
        'longer than 1,024 characters, so it is not expanded]'
    ))


@pytest.mark.parametrize(('name', 'chart', 'text', 'message'), (
    ('chart/templates/deploy.yaml', True, ARGO_WORKFLOW, 'skipped: a template ({{ }}), not a manifest yet'),
    ('chart/templates/sub/deploy.yaml', True, ARGO_WORKFLOW, 'skipped: a template ({{ }}), not a manifest yet'),
    ('k8s/deploy.yaml', False, ARGO_WORKFLOW + '{{- if .Values.x }}\n  extra: [\n{{- end }}\n',
     'skipped: a template ({{ }}) that is no valid YAML before it is rendered'),
))
def test_what_stays_a_template(tmp_path: Path, name: str, chart: bool, text: str, message: str) -> None:
    """A chart's templates/ are templates even when they parse; elsewhere
    only a file with {{ }} that does not parse is."""
    from digestpin_hooks.read.files import SkippedFile
    if chart:
        (tmp_path / 'chart').mkdir()
        (tmp_path / 'chart' / 'Chart.yaml').write_text('apiVersion: v2\nname: c\nversion: 1.0.0\n')
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    with pytest.raises(SkippedFile) as e:
        load(str(path), 'kubernetes')
    assert str(e.value).startswith(message)


def test_a_templates_folder_outside_a_chart_holds_manifests(tmp_path: Path) -> None:
    assert refs_of(tmp_path, 'templates/hello.yaml', ARGO_WORKFLOW, 'kubernetes') == [
        ('spec.templates[0].container.image', 13, 14, 'busybox:1.36', 'busybox:1.36', True),
    ]


STATUS = (
    'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n'
    'status:\n  containerStatuses:\n  - image: nginx:1.24\n    imageID: x\n'
    '---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n'
    '  spec:\n    containers:\n    - image: redis:7\n'
    '  status:\n    initContainerStatuses:\n    - image: redis:6\n'
)


def test_status_is_never_read_nor_rewritten(tmp_path: Path) -> None:
    """status: is what the cluster reports, nothing pulls from it."""
    assert refs_of(tmp_path, 'captured.yaml', STATUS) == [
        ('spec.containers[0].image', 5, 12, 'nginx:1.25', 'nginx:1.25', True),
        ('items[0].spec.containers[0].image', 18, 14, 'redis:7', 'redis:7', True),
    ]
    path = tmp_path / 'captured.yaml'
    fix_files([str(path)], knows_everything)
    assert path.read_text() == STATUS.replace(
        'nginx:1.25', f'nginx:1.25@{digest_of("nginx:1.25")}',
    ).replace('redis:7', f'redis:7@{digest_of("redis:7")}')


HELD = (
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n'
    '  - name: make\n    resource:\n      action: create\n      manifest: |\n'
    '        apiVersion: v1\n        kind: Pod\n        spec:\n          containers:\n'
    '          # digestpin: ignore\n          - image: nginx:1.25\n'
    '          - image: "redis:{{inputs.parameters.v}}"\n'
    '          - {name: a, image: \'alpine:3\'}\n'
    '  - name: folded\n    resource:\n      manifest: >\n'
    '        apiVersion: v1\n\n        kind: Pod\n\n        spec: {containers: [{image: busybox:1}]}\n'
    '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plugin\n  labels:\n'
    '    workflows.argoproj.io/configmap-type: ExecutorPlugin\n'
    'data:\n  sidecar.container: "apiVersion: v1\\nkind: Container\\nimage: python:3.12\\n"\n'
    '  not-a-manifest: |\n    image: nope:1\n    kind: x\n'
    '  last: |-\n    apiVersion: v1\n    kind: Pod\n    spec:\n      containers:\n      - image: node:20\n'
)


def test_manifests_held_in_strings(tmp_path: Path) -> None:
    """Argo's resource.manifest, an executor plugin's ConfigMap: read as
    manifests, each reference at its place in the file; pinnable in a
    literal block, reported at the string otherwise."""
    assert refs_of(tmp_path, 'wf.yaml', HELD) == [
        ('spec.templates[0].resource.manifest.spec.containers[0].image', 14, 20, 'nginx:1.25', 'nginx:1.25', True),
        ('spec.templates[0].resource.manifest.spec.containers[1].image', 15, 21,
         'redis:{{inputs.parameters.v}}', 'redis:{{inputs.parameters.v}}', False),
        ('spec.templates[0].resource.manifest.spec.containers[2].image', 16, 31, 'alpine:3', 'alpine:3', True),
        ('spec.templates[1].resource.manifest.spec.containers[0].image', 19, 17, 'busybox:1', 'busybox:1', False),
        ('data.sidecar.container.image', 33, 22, 'python:3.12', 'python:3.12', False),
        ('data.last.spec.containers[0].image', 42, 16, 'node:20', 'node:20', True),
    ]
    path = tmp_path / 'wf.yaml'
    loaded = load(str(path))
    assert [(f.line, f.code, f.message.split('; ')[-1]) for f in findings_for(str(path), loaded.doc, loaded.refs)] == [
        (15, 'DP003', 'pin the image where the value is set'),
        (16, 'DP001', 'pin it with digestpin-fix (alpine:3@sha256:<digest>)'),
        (19, 'DP001', 'it stands in a manifest held in a string that is not a literal block (|), '
         'where digestpin-fix cannot write a pin byte for byte: pin it by hand (busybox:1@sha256:<digest>)'),
        (33, 'DP001', 'it stands in a manifest held in a string that is not a literal block (|), '
         'where digestpin-fix cannot write a pin byte for byte: pin it by hand (python:3.12@sha256:<digest>)'),
        (42, 'DP001', 'pin it with digestpin-fix (node:20@sha256:<digest>)'),
    ]
    fix_files([str(path)], knows_everything)
    assert path.read_text() == HELD.replace(
        "'alpine:3'", f"'alpine:3@{digest_of('alpine:3')}'",
    ).replace('node:20', f'node:20@{digest_of("node:20")}')


def test_manifests_held_in_strings_are_read_three_deep(tmp_path: Path) -> None:
    """Strings within strings: each level is read again, so the depth is
    bounded; the fourth level is only a string."""
    def held(level: int) -> str:
        inner = f'image: level{level}:1\n'
        if level < 4:
            inner += 'data:\n  next: |\n' + ''.join(f'    {line}\n' for line in held(level + 1).splitlines())
        return f'apiVersion: v1\nkind: Pod{level}\n{inner}'
    text = held(0)
    assert [(source, image, editable) for source, _, _, image, _, editable in refs_of(tmp_path, 'deep.yaml', text)] == [
        ('image', 'level0:1', True),
        ('data.next.image', 'level1:1', True),
        ('data.next.data.next.image', 'level2:1', True),
        ('data.next.data.next.data.next.image', 'level3:1', True),
    ]
    assert 'level4:1' in text


IMAGE_VOLUMES = (
    'services:\n  app:\n    image: alpine:3\n    volumes:\n'
    '      - type: image\n        source: nginx:alpine\n        target: /srv\n'
    '      - type: bind\n        source: ./data\n        target: /data\n'
    '      - ./cache:/cache\n'
    '  made:\n    build: .\n    image: me/made:1\n'
    '  uses:\n    image: busybox:1\n    volumes: [{type: image, source: me/made:1, target: /m}]\n'
)


def test_compose_volumes_of_type_image(tmp_path: Path) -> None:
    """Compose pulls a volume's image (as Docker Compose v2.40.3 does in the
    corpus oracle's ``app:volume 0`` row); not an image a service builds."""
    assert refs_of(tmp_path, 'compose.yaml', IMAGE_VOLUMES) == [
        ('services.app.image', 3, 12, 'alpine:3', 'alpine:3', True),
        ('services.app.volumes[0].source', 6, 17, 'nginx:alpine', 'nginx:alpine', True),
        ('services.uses.image', 16, 12, 'busybox:1', 'busybox:1', True),
    ]
    path = tmp_path / 'compose.yaml'
    fix_files([str(path)], knows_everything)
    assert path.read_text() == IMAGE_VOLUMES.replace(
        'alpine:3', f'alpine:3@{digest_of("alpine:3")}',
    ).replace('nginx:alpine', f'nginx:alpine@{digest_of("nginx:alpine")}').replace(
        'busybox:1\n', f'busybox:1@{digest_of("busybox:1")}\n',
    )


KRM_FUNCTION = (
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fn\n  annotations:\n'
    '    config.kubernetes.io/function: |\n      container:\n        image: gcr.io/kpt-fn/set-namespace:v0.1\n'
    '    other/annotation: |\n      container:\n        image: not/read:1\n'
)


def test_a_krm_function_annotation_is_read(tmp_path: Path) -> None:
    """kpt and kustomize run the container a KRM function's annotation names."""
    assert refs_of(tmp_path, 'fn.yaml', KRM_FUNCTION) == [
        ('metadata.annotations.config.kubernetes.io/function.container.image', 8, 16,
         'gcr.io/kpt-fn/set-namespace:v0.1', 'gcr.io/kpt-fn/set-namespace:v0.1', True),
    ]


def test_compose_extends_file_is_pinned_where_written(tmp_path: Path) -> None:
    """fix pins the image an extending file takes from another where it is
    written, and nothing else of that file."""
    (tmp_path / '.git').mkdir()
    common = tmp_path / 'common.yml'
    common.write_text('services:\n  base:\n    image: nginx:1.25\n  other:\n    image: redis:7\n')
    app = tmp_path / 'app' / 'compose.yaml'
    app.parent.mkdir()
    before = 'services:\n  web:\n    extends: {file: ../common.yml, service: base}\n'
    app.write_text(before)
    fix_files([str(app)], knows_everything)
    assert app.read_text() == before
    assert common.read_text() == (
        f'services:\n  base:\n    image: nginx:1.25@{digest_of("nginx:1.25")}\n'
        '  other:\n    image: redis:7\n'
    )


@pytest.mark.parametrize(('name', 'kind', 'data'), (
    ('compose.yaml', 'compose', b'web: 1\n'),
    ('k8s/a.yaml', 'kubernetes', b'a: 1\n'),
    ('.github/workflows/a.yml', 'actions', b'name: x\n'),
    ('.gitlab-ci.yml', 'gitlab-ci', b'- a\n'),
    ('kustomization.yaml', 'kustomize', b'- a\n'),
))
def test_a_file_not_of_its_kind_is_a_typed_refusal(name: str, kind: str, data: bytes) -> None:
    """read/files.py skips it by its type (NotOfKind), never by the words
    of its message."""
    from digestpin_hooks.read.yaml_nodes import NotOfKind
    from digestpin_hooks.read.yaml_refs import parse_yaml
    with pytest.raises(NotOfKind, match=r'^not a '):
        parse_yaml(data, name, kind)


def tree(root: Path, files: dict[str, str | bytes]) -> None:
    """A repository (a .git folder) holding ``files``."""
    (root / '.git').mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)


def lint(
        root: Path, argv: list[str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, str, str]:
    from digestpin_hooks.lint import main
    monkeypatch.chdir(root)
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def images(root: Path, given: list[str], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int, str]]:
    """(path, service key, line, image) of every reference read from ``given``."""
    from digestpin_hooks.read.files import load_all
    monkeypatch.chdir(root)
    loaded, errors = load_all(given)
    assert [e for e in errors if not e.skipped] == []
    return sorted(
        (file.path, ref.source, file.doc.position(ref.span[0])[0], ref.image)
        for file in loaded for ref in file.refs
    )


INCLUDED = 'services:\n  web:\n    image: nginx:1.25\n'


@pytest.mark.parametrize('entry', (
    '- sub/web.yml',
    '- path: sub/web.yml',
    '- path: [sub/web.yml]',
    '- {path: ./sub/../sub/web.yml, project_directory: sub}',
))
@pytest.mark.parametrize('given', ('compose.yaml', '.'))
def test_compose_include_brings_its_images(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        entry: str, given: str,
) -> None:
    """Given only the root file, or its folder (where the included file's
    name is of no kind), the images of the files it includes are reported
    where they are written (issue 21)."""
    tree(tmp_path, {
        'compose.yaml': f'include:\n  {entry}\nservices:\n  db:\n    image: redis:7\n',
        'sub/web.yml': INCLUDED,
    })
    status, out, err = lint(tmp_path, [given], capsys, monkeypatch)
    assert status == 1
    assert [line.split(' is not')[0] for line in out.splitlines()] == [
        "compose.yaml:5:12: DP001 'redis:7'",
        "sub/web.yml:3:12: DP001 'nginx:1.25'",
    ]
    assert err == 'summary: 2 findings (DP001 2) in 2 files\n'


def test_compose_include_is_pinned_where_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fix given the root pins the included file's image in that file, and
    changes no other byte of either file."""
    root = 'include:\r\n  - path: sub/web.yml  # the web part\r\n'
    included = (
        '# web\r\nservices:\r\n  web:\r\n    image: "nginx:1.25"   # pinned by fix\r\n'
        '  built:\r\n    build: .\r\n    image: mine:1\r\n'
    )
    tree(tmp_path, {'compose.yaml': root, 'sub/web.yml': included})
    monkeypatch.chdir(tmp_path)
    fix_files(['compose.yaml'], knows_everything)
    assert (tmp_path / 'compose.yaml').read_bytes() == root.encode()
    assert (tmp_path / 'sub' / 'web.yml').read_bytes() == included.replace(
        'nginx:1.25', f'nginx:1.25@{digest_of("nginx:1.25")}',
    ).encode()


@pytest.mark.parametrize(('files', 'findings', 'errors'), (
    ({'compose.yaml': 'include:\n  - a.yml\n',
      'a.yml': 'include:\n  - b.yml\nservices:\n  a:\n    image: alpine:3\n',
      'b.yml': 'include:\n  - a.yml\n'},
     ["a.yml:5:12: DP001 'alpine:3'"],
     ['b.yml: error: include cycle: compose.yaml includes a.yml includes b.yml includes a.yml']),
    ({'compose.yaml': 'include:\n  - compose.yaml\nservices:\n  a:\n    image: alpine:3\n'},
     ["compose.yaml:5:12: DP001 'alpine:3'"],
     ['compose.yaml: error: include cycle: compose.yaml includes compose.yaml']),
    ({'compose.yaml': 'include:\n  - ../../etc/passwd\nservices:\n  a:\n    image: alpine:3\n'},
     ["compose.yaml:5:12: DP001 'alpine:3'"],
     ['compose.yaml: error: includes ../../etc/passwd, outside the repository ({top}): not read']),
    ({'compose.yaml': 'include:\n  - sub/a.yml\n',
      'sub/a.yml': 'include:\n  - missing.yml\nservices:\n  a:\n    image: alpine:3\n'},
     ["sub/a.yml:5:12: DP001 'alpine:3'"],
     ['sub/a.yml: error: includes sub/missing.yml: cannot read: No such file or directory']),
    ({'compose.yaml': 'include:\n  - path: a.yml\n    env_file: missing.env\n', 'a.yml': INCLUDED},
     [],
     ['compose.yaml: error: include: env_file missing.env: cannot read: No such file or directory']),
    ({'compose.yaml': 'include: a.yml\n', 'a.yml': INCLUDED},
     [],
     ['compose.yaml: error: include: an entry names no file (Compose refuses it)']),
    # a .env Compose cannot read: that of a file without images of its
    # own, that of an entry's project folder, an entry's env_file
    ({'compose.yaml': 'include:\n  - a.yml\n', 'a.yml': INCLUDED, '.env': 'A="x\n'},
     [],
     ['compose.yaml: error: .env: line 1: unterminated quoted value "x (Compose refuses the project)']),
    ({'compose.yaml': 'include:\n  - path: sub/a.yml\n    project_directory: sub\n'
                      'services:\n  b:\n    image: alpine:3\n',
      'sub/a.yml': INCLUDED, 'sub/.env': 'A B=1\n'},
     ["compose.yaml:6:12: DP001 'alpine:3'"],
     ['compose.yaml: error: include: sub/.env: line 1: key cannot contain a space '
      '(Compose refuses the project)']),
    ({'compose.yaml': 'include:\n  - path: a.yml\n    env_file: e.env\n', 'a.yml': INCLUDED,
      'e.env': "IMG='b:1\n"},
     [],
     ["compose.yaml: error: include: env_file e.env: line 1: unterminated quoted value 'b:1"]),
    # the .env of an entry's project folder outside the repository: not
    # read, and Compose reads it (IMG=b:1 there), so ${IMG:-a:1} is no
    # answer (it was read as empty: a:1 reported, and pinned by fix)
    ({'compose.yaml': 'include:\n  - path: a.yml\n    project_directory: ../etc\n',
      'a.yml': 'services:\n  a:\n    image: ${IMG:-a:1}\n'},
     [],
     ['compose.yaml: error: include: ../etc/.env: not read (outside the repository '
      '({top})); Compose reads it, so the values it gives are unknown']),
))
def test_compose_include_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        files: dict[str, str], findings: list[str], errors: list[str],
) -> None:
    """What Compose refuses (a cycle, a missing file or env_file, an
    include that is no list) and what is not read (outside the repository)
    is one error line each, exit 2; the images read are still reported."""
    repository = tmp_path / 'repo'
    tree(repository, files)
    (tmp_path / 'etc').mkdir()
    (tmp_path / 'etc' / 'passwd').write_text(INCLUDED)
    (tmp_path / 'etc' / '.env').write_text('IMG=b:1\n')
    status, out, err = lint(repository, ['compose.yaml'], capsys, monkeypatch)
    assert status == 2
    assert [line.split(' is not')[0] for line in out.splitlines()] == findings
    assert [line for line in err.splitlines() if not line.startswith('summary:')] == [
        e.format(top=repository) for e in errors
    ]


def test_compose_include_is_read_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file included twice, by two files, and given too, is read once."""
    tree(tmp_path, {
        'compose.yaml': 'include:\n  - compose.web.yml\n  - path: [compose.web.yml]\n  - compose.other.yml\n',
        'compose.other.yml': 'include:\n  - ./compose.web.yml\n',
        'compose.web.yml': INCLUDED,
    })
    for given in (['compose.yaml'], ['compose.yaml', 'compose.web.yml'], ['compose.web.yml', 'compose.yaml', 'compose.other.yml']):
        status, out, err = lint(tmp_path, given, capsys, monkeypatch)
        assert (status, [line.split(' is not')[0] for line in out.splitlines()], err) == (
            1, ["compose.web.yml:3:12: DP001 'nginx:1.25'"], 'summary: 1 finding (DP001 1) in 1 file\n',
        ), given


def test_compose_include_remote_is_a_note(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A remote include (an OCI artifact, a git repository) is not read:
    one note, no failure."""
    tree(tmp_path, {'compose.yaml': (
        'include:\n  - oci://registry.example/app:1\n  - git@github.com:o/r.git\n'
        '  - path: https://github.com/o/r.git#main:compose.yaml\n'
    )})
    status, out, err = lint(tmp_path, ['compose.yaml'], capsys, monkeypatch)
    assert (status, out) == (0, '')
    assert err.splitlines() == [
        'compose.yaml: note: include: oci://registry.example/app:1 is not read (a remote include)',
        'compose.yaml: note: include: git@github.com:o/r.git is not read (a remote include)',
        'compose.yaml: note: include: https://github.com/o/r.git#main:compose.yaml is not read (a remote include)',
    ]


def test_compose_includes_are_bounded(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most MAX_INCLUDES files (lowered here to 2) from one file given,
    then one error line."""
    from digestpin_hooks.read import ci
    tree(tmp_path, {
        'compose.yaml': 'include: [a1.yml]\n',
        **{f'a{n}.yml': f'include: [a{n + 1}.yml]\nservices:\n  s{n}:\n    image: alpine:{n}\n' for n in range(1, 4)},
        'a4.yml': INCLUDED,
    })
    status, out, _ = lint(tmp_path, ['compose.yaml'], capsys, monkeypatch)
    assert (status, len(out.splitlines())) == (1, 4)
    monkeypatch.setattr(ci, 'MAX_INCLUDES', 2)
    status, out, err = lint(tmp_path, ['compose.yaml'], capsys, monkeypatch)
    assert status == 2
    assert [line.split(' is not')[0] for line in out.splitlines()] == [
        "a1.yml:4:12: DP001 'alpine:1'", "a2.yml:4:12: DP001 'alpine:2'",
    ]
    assert err.splitlines()[0] == 'a2.yml: error: includes more than 2 files: the rest are not read'


# include cases whose images Compose v2.40.3 was asked (tests/test_real_tools.py
# asks it again): the included file's values are the including file's,
# then its env_file's (the later file's first), else its project's .env
INCLUDE_VALUES: dict[str, dict[str, str]] = {
    'nested, the root .env first': {
        '.env': 'TAG=root\nROOTONLY=r\n',
        'sub/.env': 'TAG=sub\nSUBONLY=s\n',
        'compose.yaml': 'include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: nginx:${TAG}\n',
        'sub/compose.yaml': 'include:\n  - deeper/x.yaml\nservices:\n  s:\n    image: alpine:${TAG}-${SUBONLY}-${ROOTONLY}\n',
        'sub/deeper/x.yaml': 'services:\n  d:\n    image: busybox:${TAG:-none}-${SUBONLY:-none}\n',
    },
    'env_file, the later first; project_directory': {
        'envs/e.env': 'A=ef\nC=c\n',
        'sub/.env': 'A=subenv\nB=subb\n',
        'pd/.env': 'A=pd\n',
        'compose.yaml': (
            'include:\n  - path: sub/compose.yaml\n    env_file: [envs/e.env, sub/.env]\n'
            '  - path: other/x.yaml\n    project_directory: pd\n'
            '  - path: third/y.yaml\n    env_file: envs/e.env\n'
        ),
        'sub/compose.yaml': 'services:\n  s:\n    image: alpine:${A:-u}-${B:-u}-${C:-u}\n',
        'other/x.yaml': 'include:\n  - deeper/z.yaml\nservices:\n  o:\n    image: busybox:${A:-u}\n',
        'pd/deeper/z.yaml': 'services:\n  z:\n    image: redis:${A:-u}\n',
        'third/.env': 'C=third\n',
        'third/y.yaml': 'services:\n  t:\n    image: nginx:${A:-u}-${C:-u}\n',
    },
}


@pytest.mark.parametrize(('case', 'expected'), (
    ('nested, the root .env first', [
        ('compose.yaml', 'services.web.image', 5, 'nginx:root'),
        ('sub/compose.yaml', 'services.s.image', 5, 'alpine:root-s-r'),
        ('sub/deeper/x.yaml', 'services.d.image', 3, 'busybox:root-s'),
    ]),
    ('env_file, the later first; project_directory', [
        ('other/x.yaml', 'services.o.image', 5, 'busybox:pd'),
        ('pd/deeper/z.yaml', 'services.z.image', 3, 'redis:pd'),
        ('sub/compose.yaml', 'services.s.image', 3, 'alpine:subenv-subb-c'),
        ('third/y.yaml', 'services.t.image', 3, 'nginx:ef-c'),
    ]),
))
def test_compose_include_values_are_those_compose_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
        expected: list[tuple[str, str, int, str]],
) -> None:
    tree(tmp_path, dict(INCLUDE_VALUES[case]))
    assert images(tmp_path, ['compose.yaml'], monkeypatch) == expected


def test_compose_include_values_are_read_back_after_a_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An included file is read back, after a fix, with the values the
    root gives it (its TAG=8 over the included project's TAG=9), so the pin
    is written: read back alone, redis:${TAG} would read otherwise."""
    tree(tmp_path, {
        '.env': 'TAG=8\n',
        'compose.yaml': 'include:\n  - sub/web.yml\n',
        'sub/.env': 'TAG=9\n',
        'sub/web.yml': 'services:\n  web:\n    image: ${IMAGE:-nginx:1.25}\n  db:\n    image: redis:${TAG}\n',
    })
    monkeypatch.chdir(tmp_path)
    fix_files(['compose.yaml'], knows_everything)
    assert (tmp_path / 'sub' / 'web.yml').read_text() == (
        f'services:\n  web:\n    image: ${{IMAGE:-nginx:1.25@{digest_of("nginx:1.25")}}}\n'
        '  db:\n    image: redis:${TAG}\n'
    )


# an include entry that merges an override file over its main file (as
# ``-f main.yml -f override.yml``): what Compose v2.40.3 pulls of it is asked
# in tests/test_real_tools.py
INCLUDE_MERGES = {
    'image replaced, build added': {
        'compose.yaml': (
            'include:\n  - path: [main.yml, override.yml]\n'
            'services:\n  root:\n    image: busybox:1.36\n'
        ),
        'main.yml': (
            'services:\n  web:\n    image: nginx:1.25\n  db:\n    image: postgres:16\n'
            '  side:\n    image: redis:7\n  built:\n    build: .\n'
        ),
        'override.yml': (
            'services:\n  web:\n    image: nginx:1.27\n  extra:\n    build: .\n'
            '  side:\n    build: .\n  built:\n    image: mine:2\n  new:\n    image: memcached:1\n'
        ),
    },
    'volumes by target, three files': {
        'compose.yaml': 'include:\n  - path: [main.yml, mid.yml, override.yml]\n',
        'main.yml': (
            'services:\n  b:\n    image: b:1\n    volumes:\n'
            '      - {type: image, source: v:1, target: /srv}\n'
            '      - {type: image, source: w:1, target: /other}\n'
            '      - {type: image, source: x:1, target: /short}\n'
        ),
        'mid.yml': 'services:\n  b:\n    image: b:2\n    volumes:\n      - {type: image, source: v:2, target: /srv}\n',
        'override.yml': 'services:\n  b:\n    volumes:\n      - ./here:/short\n  c:\n    image: c:3\n',
    },
}
# the same, with Compose's merge tags and extends: (what Compose pulls is
# compared by image, as an extended service's image is written under
# another service's name)
INCLUDE_TAGS = {
    'reset and override tags': {
        'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
        'main.yml': (
            'services:\n  web:\n    image: nginx:1.25\n    volumes:\n'
            '      - {type: image, source: v:1, target: /a}\n'
            '      - {type: image, source: w:1, target: /b}\n'
            '  db:\n    image: postgres:16\n    build: .\n'
            '  cache:\n    image: redis:7\n    volumes: [{type: image, source: x:1, target: /x}]\n'
            '  gone:\n    image: gone:1\n'
            '  kept:\n    image: memcached:1\n'
        ),
        'override.yml': (
            'services:\n  web:\n    image: !reset null\n    build: .\n    volumes: !override\n'
            '      - {type: image, source: alpine:3.20, target: /c}\n'
            '  db:\n    build: !reset\n    image: postgres:17\n'
            '  cache: !override\n    image: redis:8\n    volumes: [{type: image, source: !reset x:2, target: /y}]\n'
            '  gone: !reset\n'
            '  kept:\n    volumes:\n      - !reset {type: image, source: y:1, target: /y}\n'
            '      - {type: image, source: busybox:1.36, target: /z}\n'
        ),
    },
    'build reset, image kept': {
        'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
        'main.yml': 'services:\n  web:\n    image: a:1\n    build: .\n',
        'override.yml': 'services:\n  web:\n    build: !reset\n  db:\n    image: redis:7\n',
    },
    'services reset, three files': {
        'compose.yaml': 'include:\n  - path: [main.yml, mid.yml, override.yml]\n',
        'main.yml': 'services:\n  a:\n    image: a:1\n  b:\n    image: b:1\n',
        'mid.yml': 'services: !reset\n',
        'override.yml': (
            'services:\n  b:\n    image: b:2\n    volumes: !reset []\n  c:\n    image: c:3\n'
            '    volumes: [{type: image, source: d:4, target: /d}, {type: image, source: e:5, target: /e}]\n'
        ),
    },
    'extends in the override file': {
        'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
        'main.yml': (
            'services:\n  web:\n    image: nginx:1.25\n    volumes:\n'
            '      - {type: image, source: mv:1, target: /a}\n'
            '      - {type: image, source: mw:1, target: /b}\n'
            '  api:\n    image: api:1\n  own:\n    image: own:1\n'
        ),
        'override.yml': (
            'services:\n  web:\n    extends: {file: base.yml, service: base}\n'
            '  api:\n    extends: builder\n  builder:\n    build: .\n    image: mine:1\n'
            '  own:\n    extends: local\n  local:\n    image: local:2\n'
        ),
        'base.yml': (
            'services:\n  base:\n    image: base:1\n    volumes:\n'
            '      - {type: image, source: bv:1, target: /a}\n'
        ),
    },
    'extends in the main file, replaced': {
        'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
        'main.yml': (
            'services:\n  web:\n    extends: {file: base.yml, service: base}\n'
            '  api:\n    extends: {file: base.yml, service: other}\n'
            '  kept:\n    extends: {file: base.yml, service: kept}\n'
        ),
        'override.yml': 'services:\n  web:\n    image: nginx:1.27\n  api:\n    build: .\n',
        'base.yml': (
            'services:\n  base:\n    image: base:1\n    volumes:\n'
            '      - {type: image, source: bv:1, target: /a}\n'
            '  other:\n    image: other:1\n  kept:\n    image: kept:1\n'
        ),
    },
    'volume of an image another file builds': {
        'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
        'main.yml': (
            'services:\n  app:\n    image: me/app:1\n  web:\n    image: nginx:1.25\n'
            '    volumes: [{type: image, source: me/app:1, target: /x}]\n'
        ),
        'override.yml': 'services:\n  app:\n    build: .\n',
    },
}


@pytest.mark.parametrize(('case', 'findings'), (
    ('image replaced, build added', [
        "compose.yaml:5:12: DP001 'busybox:1.36'",
        "main.yml:5:12: DP001 'postgres:16'",
        "override.yml:3:12: DP001 'nginx:1.27'",
        "override.yml:11:12: DP001 'memcached:1'",
    ]),
    ('volumes by target, three files', [
        "main.yml:6:31: DP001 'w:1'",
        "mid.yml:3:12: DP001 'b:2'",
        "mid.yml:5:31: DP001 'v:2'",
        "override.yml:6:12: DP001 'c:3'",
    ]),
))
def test_compose_include_merges_its_override_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        case: str, findings: list[str],
) -> None:
    """``include: [{path: [main.yml, override.yml]}]`` merges the later
    files over the first as Compose does: an image a later file replaces,
    or that a build in any of them makes a built one, and a volume a later
    file mounts at the same target are not pulled, so not reported; what
    wins is reported where it is written."""
    tree(tmp_path, INCLUDE_MERGES[case])
    status, out, err = lint(tmp_path, ['compose.yaml'], capsys, monkeypatch)
    assert status == 1
    assert [line.split(' is not')[0] for line in out.splitlines()] == findings
    assert err == 'summary: 4 findings (DP001 4) in 3 files\n'


def test_compose_include_merge_keeps_what_another_include_pulls(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A main file one project merges an override over and another
    includes alone: that other project pulls its image, so it is reported,
    whichever project is read first."""
    tree(tmp_path, {
        'a/compose.yaml': 'include:\n  - path: [../main.yml, ../override.yml]\n',
        'b/compose.yaml': 'include:\n  - ../main.yml\n',
        'main.yml': 'services:\n  web:\n    image: nginx:1.25\n',
        'override.yml': 'services:\n  web:\n    image: nginx:1.27\n',
    })
    for given in (['a/compose.yaml', 'b/compose.yaml'], ['b/compose.yaml', 'a/compose.yaml']):
        status, out, err = lint(tmp_path, given, capsys, monkeypatch)
        assert status == 1
        assert sorted(line.split(' is not')[0] for line in out.splitlines()) == [
            "main.yml:3:12: DP001 'nginx:1.25'", "override.yml:3:12: DP001 'nginx:1.27'",
        ], given
    status, out, err = lint(tmp_path, ['a/compose.yaml'], capsys, monkeypatch)
    assert [line.split(' is not')[0] for line in out.splitlines()] == [
        "override.yml:3:12: DP001 'nginx:1.27'",
    ]


# a file one project includes alone, another by an entry whose later file
# resets its build (that project pulls its image); both entries in one
# project make Compose refuse the service defined twice (asked in
# tests/test_real_tools.py)
BUILT_THEN_RESET = {
    'x/compose.yaml': 'include:\n  - ../a.yml\n',
    'y/compose.yaml': 'include:\n  - path: [../a.yml, ../b.yml]\n',
    'z/compose.yaml': 'include:\n  - ../a.yml\n  - path: [../a.yml, ../b.yml]\n',
    'a.yml': 'services:\n  web: {image: a:1, build: .}\n',
    'b.yml': 'services:\n  web:\n    build: !reset\n',
}


@pytest.mark.parametrize('given', (
    ['x/compose.yaml', 'y/compose.yaml'], ['y/compose.yaml', 'x/compose.yaml'],
    ['z/compose.yaml'], ['y/compose.yaml'],
))
def test_compose_file_included_alone_and_by_an_entry_resetting_its_build(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        given: list[str],
) -> None:
    """The image of a file included alone, then by an entry whose later
    file resets its build, is reported, whichever is read first: on main,
    read alone first, it was not (the entry's reset came too late).  In
    one project (z) Compose refuses the service defined twice; it is
    reported there too, as either definition may be the one kept."""
    tree(tmp_path, BUILT_THEN_RESET)
    status, out, err = lint(tmp_path, given, capsys, monkeypatch)
    assert (status, [line.split(' is not')[0] for line in out.splitlines()], err) == (
        1, ["a.yml:2:16: DP001 'a:1'"], 'summary: 1 finding (DP001 1) in 1 file\n',
    )
    fix_files(given, knows_everything)
    assert (tmp_path / 'a.yml').read_text() == BUILT_THEN_RESET['a.yml'].replace(
        'a:1', f'a:1@{digest_of("a:1")}',
    )


def test_compose_include_merge_pins_the_winner_where_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fix given the root pins the image that wins the merge, in the
    override file, byte-exactly, and leaves the replaced one alone."""
    root = 'include:\n  - path: [main.yml, override.yml]\n'
    main = 'services:\n  web:\n    image: nginx:1.25   # replaced\n'
    override = '# ours\r\nservices:\r\n  web:\r\n    image: "nginx:1.27"  # wins\r\n'
    tree(tmp_path, {'compose.yaml': root, 'main.yml': main, 'override.yml': override})
    monkeypatch.chdir(tmp_path)
    fix_files(['compose.yaml'], knows_everything)
    assert (tmp_path / 'compose.yaml').read_bytes() == root.encode()
    assert (tmp_path / 'main.yml').read_bytes() == main.encode()
    assert (tmp_path / 'override.yml').read_bytes() == override.replace(
        'nginx:1.27', f'nginx:1.27@{digest_of("nginx:1.27")}',
    ).encode()


def test_compose_build_reset_pins_the_built_image_where_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image written beside a build that a later file of the include
    entry, or a later document, removes is pulled: fix pins it (the pinned
    text is read back with the merge's view of it)."""
    main = 'services:\n  web:\n    image: a:1\n    build: .\n'
    tree(tmp_path, {
        'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
        'main.yml': main, 'override.yml': 'services:\n  web:\n    build: !reset\n',
        'compose.two.yaml': main + '---\nservices:\n  web:\n    build: !reset\n',
    })
    monkeypatch.chdir(tmp_path)
    fix_files(['compose.yaml', 'compose.two.yaml'], knows_everything)
    pinned = main.replace('a:1', f'a:1@{digest_of("a:1")}')
    assert (tmp_path / 'main.yml').read_text() == pinned
    assert (tmp_path / 'compose.two.yaml').read_text() == (
        pinned + '---\nservices:\n  web:\n    build: !reset\n'
    )


def test_compose_include_conflict_is_checked_on_both_sides(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Named exception: a service the root and an included file both
    define, differently, makes Compose refuse the project ("services.web
    conflicts with imported resource", asked in tests/test_real_tools.py);
    both images are still reported, as either definition may be the one
    kept, like the other refusals for reasons outside an image."""
    tree(tmp_path, {
        'compose.yaml': 'include:\n  - inc.yml\nservices:\n  web:\n    image: nginx:1\n',
        'inc.yml': 'services:\n  web:\n    image: nginx:2\n',
    })
    status, out, err = lint(tmp_path, ['compose.yaml'], capsys, monkeypatch)
    assert (status, [line.split(' is not')[0] for line in out.splitlines()], err) == (
        1, ["compose.yaml:5:12: DP001 'nginx:1'", "inc.yml:3:12: DP001 'nginx:2'"],
        'summary: 2 findings (DP001 2) in 2 files\n',
    )


@pytest.mark.parametrize(('case', 'findings'), (
    ('reset and override tags', [
        "main.yml:16:12: DP001 'memcached:1'",
        "override.yml:6:31: DP001 'alpine:3.20'",
        "override.yml:9:12: DP001 'postgres:17'",
        "override.yml:11:12: DP001 'redis:8'",
        "override.yml:12:44: DP001 'x:2'",
        "override.yml:17:31: DP001 'busybox:1.36'",
    ]),
    ('services reset, three files', [
        "override.yml:3:12: DP001 'b:2'",
        "override.yml:6:12: DP001 'c:3'",
        "override.yml:7:37: DP001 'd:4'",
        "override.yml:7:77: DP001 'e:5'",
    ]),
    ('extends in the override file', [
        "main.yml:6:31: DP001 'mw:1'",
        "override.yml:12:12: DP001 'local:2'",
        "base.yml:3:12: DP001 'base:1'",
        "base.yml:5:31: DP001 'bv:1'",
    ]),
    ('extends in the main file, replaced', [
        "override.yml:3:12: DP001 'nginx:1.27'",
        "base.yml:5:31: DP001 'bv:1'",
        "base.yml:9:12: DP001 'kept:1'",
    ]),
    ('build reset, image kept', [
        "main.yml:3:12: DP001 'a:1'",
        "override.yml:5:12: DP001 'redis:7'",
    ]),
    ('volume of an image another file builds', [
        "main.yml:5:12: DP001 'nginx:1.25'",
        "main.yml:6:37: DP001 'me/app:1'",
    ]),
))
def test_compose_include_merge_follows_merge_tags_and_extends(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        case: str, findings: list[str],
) -> None:
    """A later file of an include entry: its ``!reset`` removes what the
    earlier files set (an image, a build, volumes, a service, all
    services), its ``!override`` replaces it whole (a ``!reset`` inside is
    not applied, as in Compose); its ``extends:`` is resolved before it is
    merged, so the extended service's image and volumes replace the
    earlier ones; a volume of an image another file builds is still
    pulled.  What Compose v2.40.3 pulls is asked in tests/test_real_tools.py."""
    (tmp_path / '.git').mkdir()
    tree(tmp_path, INCLUDE_TAGS[case])
    status, out, err = lint(tmp_path, ['compose.yaml'], capsys, monkeypatch)
    assert status == 1
    assert [line.split(' is not')[0] for line in out.splitlines()] == findings
    files = len({line.split(':')[0] for line in findings})
    assert err == (
        f'summary: {len(findings)} findings (DP001 {len(findings)}) in {files} '
        f'file{"s" if files > 1 else ""}\n'
    )


# merge tags in a file given alone: Compose applies !reset to the file
# itself (not inside an !override value); asked in tests/test_real_tools.py
SINGLE_TAGS = (
    'services:\n'
    '  web:\n    image: !reset nginx:1.25\n    build: .\n'
    '  api:\n    image: !override api:1\n    volumes:\n'
    '      - !reset {type: image, source: a:1, target: /a}\n'
    '      - {type: image, source: !reset b:1, target: /b}\n'
    '      - {type: image, source: c:1, target: /c}\n'
    '  db:\n    image: &db redis:7\n    volumes: !override\n'
    '      - {type: image, source: !reset d:1, target: /d}\n'
    '  gone: !reset\n    image: gone:1\n'
)


DB = '  db:\n    image: redis:7\n'
# (text, the images Compose pulls): a tag is Compose's !reset when yaml.v3
# resolves it to "!reset", whatever its spelling; the checks in
# tests/test_real_tools.py ask Compose itself
TAG_SPELLINGS = {
    'under %TAG ! redefined, !reset is another tag': (
        '%TAG ! tag:example.com,2000:\n---\nservices:\n  web: !reset\n    image: nginx:1\n' + DB,
        ['nginx:1', 'redis:7'],
    ),
    'a verbatim !<!reset>': (
        'services:\n  web: !<!reset>\n    image: nginx:1\n' + DB, ['redis:7'],
    ),
    '!e!reset under %TAG !e! !': (
        '%TAG !e! !\n---\nservices:\n  web: !e!reset\n    image: nginx:1\n' + DB, ['redis:7'],
    ),
    'a %-escape in the tag': (
        'services:\n  web: !re%73et\n    image: nginx:1\n' + DB, ['redis:7'],
    ),
    '!!reset is another tag': (
        'services:\n  web: !!reset\n    image: nginx:1\n' + DB, ['nginx:1', 'redis:7'],
    ),
    'a volume source tagged !<!reset>': (
        'services:\n  web:\n    image: nginx:1\n    volumes:\n'
        '      - {type: image, source: !<!reset> v:1, target: /v}\n' + DB,
        ['nginx:1', 'redis:7'],
    ),
    'a volume source tagged !reset under %TAG ! redefined': (
        '%TAG ! tag:example.com,2000:\n---\nservices:\n  web:\n    image: nginx:1\n    volumes:\n'
        '      - {type: image, source: !reset v:1, target: /v}\n' + DB,
        ['nginx:1', 'redis:7', 'v:1'],
    ),
    # Compose (compose-go) reads every document of a file, merging each
    # over the ones before as a later file; a %TAG holds for its document
    'a second document, its !reset under the first one\'s %TAG': (
        '%TAG ! tag:example.com,2000:\n---\nservices:\n  web:\n    image: nginx:1\n'
        '---\nservices:\n  api: !reset\n    image: httpd:2\n' + DB,
        ['nginx:1', 'redis:7'],
    ),
    'a second document after ... with its own %TAG': (
        'services:\n  web:\n    image: nginx:1\n...\n%TAG ! tag:example.com,2000:\n---\n'
        'services:\n  api: !reset\n    image: httpd:2\n'
        '    volumes: [{type: image, source: v:1, target: /v}]\n' + DB,
        ['httpd:2', 'nginx:1', 'redis:7', 'v:1'],
    ),
}


@pytest.mark.parametrize('case', sorted(TAG_SPELLINGS))
def test_compose_tags_are_read_as_the_parser_resolves_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """On main the tag was read from the text: ``!reset`` under a ``%TAG``
    that makes it another tag hid an image Compose pulls."""
    text, pulled = TAG_SPELLINGS[case]
    tree(tmp_path, {'compose.yaml': text})
    assert sorted(image for _, _, _, image in images(tmp_path, ['compose.yaml'], monkeypatch)) == pulled


# (files, the images Compose pulls): Compose reads each document of a
# file, following the include: and extends: of each, and a first document
# with no services (only name:, x-...) is a Compose file's too
COMPOSE_DOCUMENTS = {
    'include: in a second document': (
        {'compose.yaml': 'services:\n  web:\n    image: nginx:1\n---\ninclude:\n  - inc.yml\n',
         'inc.yml': 'services:\n  api:\n    image: httpd:2\n'},
        ['httpd:2', 'nginx:1'],
    ),
    'extends: in a second document': (
        {'compose.yaml': (
            'services:\n  web:\n    image: nginx:1\n---\nservices:\n'
            '  api:\n    extends: {file: base.yml, service: b}\n'
        ), 'base.yml': 'services:\n  b:\n    image: httpd:2\n'},
        ['httpd:2', 'nginx:1'],
    ),
    'build reset in a second document': (
        {'compose.yaml': (
            'services:\n  web:\n    image: a:1\n    build: .\n  db:\n    image: b:1\n'
            '    build: .\n---\nservices:\n  web:\n    build: !reset\n'
        )},
        ['a:1'],
    ),
    'build reset, overridden, set again': (
        {'compose.yaml': (
            'services:\n  web: {image: a:1, build: .}\n  api: {image: c:1, build: .}\n'
            '  db: {image: d:1, build: .}\n---\nservices:\n  web: {build: !reset null}\n'
            '  api: {build: !reset null}\n  db: !override {image: e:1}\n---\n'
            'services:\n  api: {build: ./again}\n'
        )},
        ['a:1', 'e:1'],
    ),
    'a first document with no services': (
        {'compose.yaml': 'name: p\nx-a: 1\n---\nservices:\n  web:\n    image: nginx:1\n'},
        ['nginx:1'],
    ),
    # a later document merged over the earlier ones, as a later file is:
    # on main what it replaced, reset or made built was still reported
    'a build added in a later document': (
        {'compose.yaml': (
            'services:\n  web:\n    image: a:1\n  db:\n    image: r:1\n'
            '---\nservices:\n  web:\n    build: .\n'
        )},
        ['r:1'],
    ),
    'an image replaced in a later document, built by the first': (
        {'compose.yaml': (
            'services:\n  web:\n    image: a:1\n    build: .\n  db:\n    image: r:1\n'
            '---\nservices:\n  web:\n    image: a:2\n'
        )},
        ['r:1'],
    ),
    'images and volumes replaced, a service reset, in later documents': (
        {'compose.yaml': (
            'services:\n  web:\n    image: a:1\n'
            '    volumes: [{type: image, source: v:1, target: /v}, {type: image, source: w:1, target: /w}]\n'
            '  gone:\n    image: g:1\n  db:\n    image: r:1\n'
            '---\nservices:\n  web:\n    image: a:2\n'
            '    volumes: [{type: image, source: v:2, target: /v}]\n  gone: !reset\n'
        )},
        ['a:2', 'r:1', 'v:2', 'w:1'],
    ),
    'services reset, a service overridden, in later documents': (
        {'compose.yaml': (
            'services:\n  web:\n    image: a:1\n  db:\n    image: r:1\n---\nservices: !reset\n'
            '---\nservices:\n  c:\n    image: c:1\n    build: .\n'
            '    volumes: [{type: image, source: v:1, target: /v}]\n'
            '---\nservices:\n  c: !override\n    image: c:2\n'
        )},
        ['c:2'],
    ),
    'an anchor\'s image one service pulls, another builds from a later document': (
        {'compose.yaml': (
            'x-i: &i b:1\nservices:\n  web:\n    image: *i\n  api:\n    image: *i\n'
            '---\nservices:\n  api:\n    build: .\n'
        )},
        ['b:1'],
    ),
    # an include entry's files of several documents: each document merged
    # in order (on main only a file's first was a layer of the merge)
    'an include entry\'s override of documents': (
        {'compose.yaml': 'include:\n  - path: [main.yml, over.yml]\n',
         'main.yml': (
             'services:\n  web:\n    image: a:1\n  api:\n    image: b:1\n    build: .\n'
             '  db:\n    image: r:1\n  gone:\n    image: g:1\n'
         ),
         'over.yml': (
             'x-a: 1\n---\nservices:\n  web:\n    image: a:2\n  api:\n    build: !reset\n'
             '---\nservices:\n  db:\n    build: .\n  gone: !reset\n'
         )},
        ['a:2', 'b:1'],
    ),
    'an include entry\'s main file of documents': (
        {'compose.yaml': 'include:\n  - path: [main.yml, over.yml]\n',
         'main.yml': (
             'services:\n  db:\n    image: r:1\n---\nservices:\n  web:\n    image: a:1\n'
             '    build: .\n  api:\n    image: b:1\n---\nservices:\n  web:\n    image: a:2\n'
         ),
         'over.yml': 'services:\n  web:\n    build: !reset\n  api:\n    image: b:2\n'},
        ['a:2', 'b:2', 'r:1'],
    ),
    # a service that extends one of its own document takes that one's image
    # before the documents (or the entry's files) are merged: what a later
    # one does to the extended service does not change it (on main its
    # image, pulled by the extending service, was not reported)
    'a service extended in its document, made built by a later one': (
        {'compose.yaml': (
            'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n'
            '---\nservices:\n  base:\n    build: .\n'
        )},
        ['a:1'],
    ),
    'a service extended in its document, replaced and reset by later ones': (
        {'compose.yaml': (
            'services:\n  x:\n    image: x:1\n---\nservices:\n  base:\n    image: a:1\n'
            '  web:\n    extends: {service: base}\n  b2:\n    image: b:1\n'
            '  w2:\n    extends: b2\n---\nservices:\n  base:\n    image: a:2\n  b2: !reset\n'
        )},
        ['a:1', 'a:2', 'b:1', 'x:1'],
    ),
    'a built service extended in its document, the build reset on the other': (
        {'compose.yaml': (
            'services:\n  base:\n    image: a:1\n    build: .\n  web:\n    extends: base\n'
            '---\nservices:\n  web:\n    build: !reset\n'
        )},
        ['a:1'],
    ),
    'an include entry whose later file builds a service the first extends': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': 'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n',
         'b.yml': 'services:\n  base:\n    build: .\n'},
        ['a:1'],
    ),
    # the entry's later file removes the build the first file's service
    # takes from another file's: Compose pulls the image written there
    'an include entry resetting the build a service takes from another file': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': 'services:\n  web:\n    extends: {file: base.yml, service: x}\n',
         'base.yml': 'services:\n  x:\n    image: a:1\n    build: .\n',
         'b.yml': 'services:\n  web:\n    build: !reset\n'},
        ['a:1'],
    ),
    'one document: a service extending another builds the image it takes': (
        {'compose.yaml': (
            'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n    build: .\n'
        )},
        ['a:1'],
    ),
    # a service whose build: !reset removes the build of the service it
    # extends pulls its image (it was not followed: not reported)
    'one document: a service removing the build of another file\'s it extends': (
        {'compose.yaml': (
            'services:\n  web:\n    extends: {file: base.yml, service: x}\n    build: !reset null\n'
        ), 'base.yml': 'services:\n  x:\n    image: a:1\n    build: .\n'},
        ['a:1'],
    ),
    # an anchor's image used by two services: the one extended (or not
    # replaced) is not the first to use it (on main the use kept was the
    # first's, then dropped with it: not reported)
    'one document: a service extending the second use of another file\'s anchor': (
        {'compose.yaml': 'services:\n  api:\n    extends: {file: base.yml, service: y}\n',
         'base.yml': 'x-i: &i a:1\nservices:\n  x:\n    image: *i\n  y:\n    image: *i\n'},
        ['a:1'],
    ),
    'an include entry replacing the first use of an anchor': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': 'services:\n  x:\n    image: &i a:1\n  y:\n    image: *i\n',
         'b.yml': 'services:\n  x:\n    image: c:1\n'},
        ['a:1', 'c:1'],
    ),
    'an include entry whose later file replaces a service the first extends': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': 'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n',
         'b.yml': 'services:\n  base:\n    image: a:2\n'},
        ['a:1', 'a:2'],
    ),
}


# A service that writes its own image and extends one of another file:
# Compose merges in the volumes of every service on the way (their images
# replaced by its own); on main the extended file was not read for them.
# (path, source, image) of each reference, and the images Compose pulls.
_VOLUME = '    volumes:\n      - {type: image, source: v:1, target: /m}\n'
EXTENDS_WITH_AN_IMAGE: dict[str, tuple[dict[str, str], list[tuple[str, str, str]], list[str]]] = {
    'its own image': (
        {'compose.yaml': 'services:\n  s:\n    image: s:1\n    extends: {file: b.yml, service: b}\n',
         'b.yml': 'services:\n  b:\n    image: b:1\n' + _VOLUME},
        [('b.yml', 'services.b.volumes[0].source', 'v:1'),
         ('compose.yaml', 'services.s.image', 's:1')],
        ['s:1', 'v:1'],
    ),
    'its own image, built': (
        {'compose.yaml': (
            'services:\n  s:\n    image: s:1\n    build: .\n'
            '    extends: {file: b.yml, service: b}\n'
        ), 'b.yml': 'services:\n  b:\n    image: b:1\n' + _VOLUME},
        [('b.yml', 'services.b.volumes[0].source', 'v:1')],
        ['v:1'],
    ),
    'a service on the way writes its image': (
        {'compose.yaml': 'services:\n  s:\n    extends: {file: m.yml, service: m}\n',
         'm.yml': (
             'services:\n  m:\n    image: m:1\n    build: .\n'
             '    extends: {file: sub/b.yml, service: b}\n'
         ),
         'sub/b.yml': 'services:\n  b:\n    image: b:1\n' + _VOLUME},
        [('sub/b.yml', 'services.b.volumes[0].source', 'v:1')],
        ['v:1'],
    ),
    'its own image, then a service with none': (
        {'compose.yaml': 'services:\n  s:\n    image: s:1\n    extends: {file: m.yml, service: m}\n',
         'm.yml': 'services:\n  m:\n    extends: {file: b.yml, service: b}\n  other:\n    image: o:1\n',
         'b.yml': 'services:\n  b:\n    image: b:1\n' + _VOLUME},
        [('b.yml', 'services.b.volumes[0].source', 'v:1'),
         ('compose.yaml', 'services.s.image', 's:1')],
        ['s:1', 'v:1'],
    ),
}


# A service that writes its own image and extends one of its document
# that builds (or one on the way does): Compose builds that image, so does
# not pull it; on main it was reported (and pinned: a build renamed).
# (the images we report, and Compose pulls)
EXTENDS_A_BUILD_HERE: dict[str, tuple[str, list[str]]] = {
    'the service extended builds': (
        'services:\n  s:\n    extends: base\n    image: r:1\n'
        '  base:\n    build: .\n    image: b:1\n',
        [],
    ),
    'a service two on the way builds': (
        'services:\n  s:\n    extends: m\n    image: r:1\n  m:\n    extends: {service: base}\n'
        '    image: t:1\n  base:\n    build: .\n  u:\n    extends: s\n  p:\n    image: p:1\n',
        ['p:1'],
    ),
    'its own build reset': (
        'services:\n  s:\n    extends: base\n    image: r:1\n    build: !reset\n'
        '  base:\n    build: .\n    image: b:1\n',
        ['r:1'],
    ),
    # (not 'a build reset on the way': Compose then builds or pulls r:1 as
    # its Go map orders the services, a draw; we report it)
}


@pytest.mark.parametrize('case', sorted(EXTENDS_A_BUILD_HERE))
def test_compose_extends_a_build_with_an_image_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A service writing its own image takes the build of the service of
    its document it extends: that image is built, not reported (on main
    it was)."""
    text, pulled = EXTENDS_A_BUILD_HERE[case]
    tree(tmp_path, {'compose.yaml': text})
    assert sorted(
        image for _, _, _, image in images(tmp_path, ['compose.yaml'], monkeypatch)
    ) == pulled


# A service that writes its own image, no build, and extends one of
# another file that builds (or one on the way does): Compose builds its
# image.  Read after the file was reported, it stays reported, and is
# never written (NAMES_A_BUILD: a digest renames the build, which Docker
# refuses); on main fix pinned it.  The named exception of README's
# "Compose: what the reader follows".  (files, and the images Compose pulls)
EXTENDS_A_BUILD_ELSEWHERE: dict[str, tuple[dict[str, str], list[str]]] = {
    'the service extended builds': (
        {'compose.yaml': (
            'services:\n  s:\n    image: r:1\n    extends: {file: b.yml, service: b}\n'
            '  p:\n    image: p:1\n'
        ), 'b.yml': 'services:\n  b:\n    build: .\n'},
        ['p:1'],
    ),
    'one on the way writes an image, the last builds': (
        {'compose.yaml': 'services:\n  s:\n    image: r:1\n    extends: {file: m.yml, service: m}\n',
         'm.yml': 'services:\n  m:\n    image: m:1\n    extends: {file: sub/b.yml, service: b}\n',
         'sub/b.yml': 'services:\n  b:\n    image: b:1\n    build: .\n'},
        [],
    ),
}


@pytest.mark.parametrize('case', sorted(EXTENDS_A_BUILD_ELSEWHERE))
def test_compose_extends_a_build_elsewhere_with_an_image_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """Its image, built, is reported, never written (on main fix pinned
    it); what is pulled is reported as ever."""
    from digestpin_hooks.model import NAMES_A_BUILD
    from digestpin_hooks.read.files import load_all
    files, pulled = EXTENDS_A_BUILD_ELSEWHERE[case]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    loaded, errors = load_all(['compose.yaml'])
    assert errors == []
    assert sorted(
        (file.path, ref.source, ref.image, ref.editable, ref.left)
        for file in loaded for ref in file.refs
    ) == sorted(
        [('compose.yaml', 'services.s.image', 'r:1', False, NAMES_A_BUILD)]
        + [('compose.yaml', 'services.p.image', image, True, '') for image in pulled]
    )


# ``build:`` null: Compose refuses the file (``services.web.build must be
# a string``); once corrected it pulls the image unless a build is
# written, so the image is reported (on main it was taken as built, and
# silently left); a ``build: !reset`` is still Compose's reset
BUILD_NULL = (
    'services:\n  web:\n    image: nginx:1.25\n    build:\n  db:\n    image: redis:7\n'
    '    build: ~\n  q:\n    image: q:1\n    build: !reset\n  api:\n    image: a:1\n'
    '    build: .\n  x:\n    image: x:1\n    extends: b\n  b:\n    image: b:1\n    build: null\n'
)


def test_compose_build_null_is_no_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A null ``build:`` makes no image one that is built: each is
    reported (on main those beside a null build were not)."""
    tree(tmp_path, {'compose.yaml': BUILD_NULL})
    assert images(tmp_path, ['compose.yaml'], monkeypatch) == [
        ('compose.yaml', 'services.b.image', 18, 'b:1'),
        ('compose.yaml', 'services.db.image', 6, 'redis:7'),
        ('compose.yaml', 'services.q.image', 9, 'q:1'),
        ('compose.yaml', 'services.web.image', 3, 'nginx:1.25'),
        ('compose.yaml', 'services.x.image', 15, 'x:1'),
    ]


@pytest.mark.parametrize('case', sorted(EXTENDS_WITH_AN_IMAGE))
def test_compose_extends_with_an_image_takes_the_volumes_of_another_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A service writing its own image that extends one of another file
    mounts that one's volumes of type image: their images are reported
    where they are written (on main they were not: the file was not read),
    the extended images, replaced, are not."""
    files, refs, _ = EXTENDS_WITH_AN_IMAGE[case]
    tree(tmp_path, dict(files))
    assert [
        (path, source, image)
        for path, source, _, image in images(tmp_path, ['compose.yaml'], monkeypatch)
    ] == refs


@pytest.mark.parametrize('case', sorted(COMPOSE_DOCUMENTS))
def test_compose_documents_after_the_first_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """On main only a file's first document was read: an image of a later
    one that Compose pulls was not reported."""
    files, pulled = COMPOSE_DOCUMENTS[case]
    tree(tmp_path, dict(files))
    assert sorted(image for _, _, _, image in images(tmp_path, ['compose.yaml'], monkeypatch)) == pulled


def test_compose_merge_tags_in_a_file_given_alone(tmp_path: Path) -> None:
    """A file given alone is read as Compose reads it: a ``!reset`` value
    is removed, so its image is not reported; inside an ``!override``
    value it is kept, as Compose keeps it; a tagged image is pinned after
    its tag, byte-exactly."""
    assert refs_of(tmp_path, 'compose.yaml', SINGLE_TAGS) == [
        ('services.api.image', 6, 22, 'api:1', 'api:1', True),
        ('services.api.volumes[1].source', 10, 31, 'c:1', 'c:1', True),
        ('services.db.image', 12, 16, 'redis:7', 'redis:7', True),
        ('services.db.volumes[0].source', 14, 38, 'd:1', 'd:1', True),
    ]
    path = tmp_path / 'compose.yaml'
    fix_files([str(path)], knows_everything)
    pinned = SINGLE_TAGS
    for image in ('api:1', 'c:1', 'redis:7', 'd:1'):
        pinned = pinned.replace(f' {image}', f' {image}@{digest_of(image)}')
    assert path.read_text() == pinned


def test_compose_reset_image_alone_is_the_files_error_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``image: !reset nginx`` and no build: Compose refuses the project,
    pulling nothing; so do we, one error line (it was read on, nothing
    said)."""
    tree(tmp_path, {'compose.yaml': 'services:\n  web:\n    image: !reset nginx:1.25\n'})
    assert lint(tmp_path, ['compose.yaml'], capsys, monkeypatch) == (2, '', (
        'compose.yaml: error: line 3: services.web.image is removed by !reset and the '
        'service builds nothing: Compose refuses the file\n'
    ))


def test_compose_include_merge_pins_a_tagged_winner_where_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fix pins the image that wins with ``!override``, after its tag,
    byte-exactly, and leaves what ``!reset`` removed and what is replaced
    alone."""
    root = 'include:\n  - path: [main.yml, override.yml]\n'
    main = (
        'services:\n  web:\n    image: nginx:1.25\n  db:\n    image: redis:7\n'
        '    volumes: [{type: image, source: v:1, target: /v}]\n'
    )
    override = (
        '# ours\r\nservices:\r\n  web:\r\n    image: !override "nginx:1.27"  # wins\r\n'
        '  db:\r\n    image: !reset\r\n    build: .\r\n    volumes: !override\r\n'
        "      - {type: image, source: !!str 'w:2', target: /w}\r\n"
    )
    tree(tmp_path, {'compose.yaml': root, 'main.yml': main, 'override.yml': override})
    monkeypatch.chdir(tmp_path)
    fix_files(['compose.yaml'], knows_everything)
    assert (tmp_path / 'compose.yaml').read_bytes() == root.encode()
    assert (tmp_path / 'main.yml').read_bytes() == main.encode()
    assert (tmp_path / 'override.yml').read_bytes() == override.replace(
        'nginx:1.27', f'nginx:1.27@{digest_of("nginx:1.27")}',
    ).replace("'w:2'", f"'w:2@{digest_of('w:2')}'").encode()


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Parses of each text (by its first line) from now on: the parse
    function patched where every reader finds it."""
    from digestpin_hooks.read import yaml_nodes
    from digestpin_hooks.read import yaml_refs
    parse = yaml_nodes.compose_documents
    counts: dict[str, int] = {}

    def counting(text: str, **options: bool) -> list[yaml_nodes.Node | None]:
        first = text.split('\n', 1)[0]
        counts[first] = counts.get(first, 0) + 1
        return parse(text, **options)
    monkeypatch.setattr(yaml_nodes, 'compose_documents', counting)
    monkeypatch.setattr(yaml_refs, 'compose_documents', counting)
    return counts


def test_each_compose_file_of_an_include_is_parsed_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A root that includes an entry of two files (layers), the first of
    which extends a service of a third: each file's text is parsed once,
    for its include:, its extends, its layer and its own reading (the
    included file was parsed 5 times, its override 4, the extended 3)."""
    tree(tmp_path, {
        'compose.yaml': '# root\ninclude:\n  - path: [inc.yml, over.yml]\nservices:\n  r:\n    image: r:1\n',
        'inc.yml': (
            '# inc\nservices:\n  web:\n    extends:\n      file: base.yml\n      service: base\n'
            '  db:\n    image: postgres:16\n'
        ),
        'over.yml': '# over\nservices:\n  db:\n    image: postgres:17\n',
        'base.yml': '# base\nservices:\n  base:\n    image: nginx:1\n',
    })
    counts = _counting_parses(monkeypatch)
    assert [(source, image) for _, source, _, image in images(tmp_path, ['compose.yaml'], monkeypatch)] == [
        ('services.base.image', 'nginx:1'), ('services.r.image', 'r:1'),
        ('services.db.image', 'postgres:17'),
    ]
    assert counts == {'# root': 1, '# inc': 1, '# over': 1, '# base': 1}


def test_the_parses_kept_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A root including 150 files (151 texts) keeps at most 150 parses at
    any time, and none once the run is over."""
    from digestpin_hooks.read import parse_cache
    from digestpin_hooks.read import yaml_nodes
    tree(tmp_path, {
        'compose.yaml': 'include:\n' + ''.join(f'  - f{k}.yml\n' for k in range(150)),
        **{f'f{k}.yml': f'services:\n  s{k}:\n    image: i{k}:1\n' for k in range(150)},
    })
    parse = yaml_nodes.compose_documents
    held: list[int] = []

    def watching(text: str, **options: bool) -> list[yaml_nodes.Node | None]:
        held.append(len(parse_cache.kept or ()))
        return parse(text, **options)
    monkeypatch.setattr(yaml_nodes, 'compose_documents', watching)
    found = images(tmp_path, ['compose.yaml'], monkeypatch)
    assert len(found) == 150
    assert max(held) == parse_cache.KEPT_PARSES == 150
    assert parse_cache.kept is None


def test_the_parses_kept_are_bounded_in_characters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twelve Compose files of 200 KB read in one run keep at most 1 MiB of
    texts parsed at any time (all twelve, 2.4 MB, were kept: 40 files of
    500 KB held 1.4 GB of nodes), and a file of more than 1 MiB none."""
    from digestpin_hooks.read import parse_cache
    from digestpin_hooks.read import yaml_nodes

    def services(count: int) -> str:
        return ''.join(f'  s{i}:\n    image: i{i}:1\n    x: {"y" * 380}\n' for i in range(count))
    tree(tmp_path, {
        **{f'c{k}/compose.yaml': f'# {k:02}\nservices:\n{services(500)}' for k in range(12)},
        'big/compose.yaml': 'services:\n' + services(2_800),
    })
    parse = yaml_nodes.compose_documents
    held: list[int] = []

    def watching(text: str, **options: bool) -> list[yaml_nodes.Node | None]:
        held.append(sum(len(text) for text, _ in parse_cache.kept or ()))
        return parse(text, **options)
    monkeypatch.setattr(yaml_nodes, 'compose_documents', watching)
    paths = [f'c{k}/compose.yaml' for k in range(12)] + ['big/compose.yaml']
    assert len(images(tmp_path, paths, monkeypatch)) == 12 * 500 + 2_800
    assert len(held) == 13
    assert max(held) == 5 * len(f'# 00\nservices:\n{services(500)}')
    assert parse_cache.kept is None


@pytest.mark.parametrize('files', (
    {'compose.yaml': 'x-img: &img a:1\nservices:\n  web:\n    image: *img\n  api:\n    image: *img\n    build: .\n'},
    {'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
     'main.yml': (
         'x-img: &img a:1\nservices:\n  web:\n    image: *img\n    build: .\n'
         '  api:\n    image: *img\n    build: .\n'
     ),
     'override.yml': 'services:\n  web:\n    build: !reset\n'},
), ids=('one file', 'include entry whose later file resets a build'))
def test_an_image_whose_anchor_also_names_a_build_is_reported_not_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str],
) -> None:
    """``web`` pulls ``a:1``, ``api`` builds and tags ``a:1``, both from
    one anchor: a pin written there would rename api's build (Docker
    refuses to tag a build with a digest).  On main fix wrote it."""
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    pins, left, errors, _ = fix_files(['compose.yaml'], knows_everything)
    assert (pins, errors) == ([], [])
    assert [(f.path, f.line, f.image, f.message) for f in left] == [(
        'compose.yaml' if len(files) == 1 else 'main.yml', 1, 'a:1',
        "'a:1' is not pinned to a digest: tag '1' can move; its value also names "
        'the image another service builds (shared through an anchor, extends: or an '
        'include entry), which a pin would rename: give the building service an image '
        'of its own, then pin this one '
        '(a:1@sha256:<digest>)',
    )]
    for name, text in files.items():
        assert (tmp_path / name).read_text() == text


def test_compose_image_a_later_document_builds_is_never_pinned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image a later document replaces in a service that builds, and
    an anchor's image a later document's build makes another service's
    built one: Compose builds them (asked in tests/test_real_tools.py), so
    fix pins neither; the anchored one, also pulled by ``web``, is
    reported with advice.  On main fix pinned both."""
    files = {
        'compose.yaml': (
            'services:\n  web:\n    image: a:1\n    build: .\n---\nservices:\n  web:\n    image: a:2\n'
        ),
        'compose.anchor.yaml': (
            'x-i: &i b:1\nservices:\n  web:\n    image: *i\n  api:\n    image: *i\n'
            '---\nservices:\n  api:\n    build: .\n'
        ),
    }
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    pins, left, errors, _ = fix_files(sorted(files), knows_everything)
    assert (pins, errors) == ([], [])
    assert [(f.path, f.line, f.image, f.message) for f in left] == [(
        'compose.anchor.yaml', 1, 'b:1',
        "'b:1' is not pinned to a digest: tag '1' can move; its value also names "
        'the image another service builds (shared through an anchor, extends: or an '
        'include entry), which a pin would rename: give the building service an image '
        'of its own, then pin this one '
        '(b:1@sha256:<digest>)',
    )]
    for name, text in files.items():
        assert (tmp_path / name).read_text() == text


@pytest.mark.parametrize('text', (
    # one document: web builds the image it takes from base
    'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n    build: .\n',
    # two: a later document gives web a build
    'services:\n  base:\n    image: a:1\n  web:\n    extends: {service: base}\n'
    '---\nservices:\n  web:\n    build: .\n',
))
def test_compose_image_a_service_extending_its_writer_builds_is_not_pinned(
        tmp_path: Path, text: str,
) -> None:
    """``base`` pulls ``a:1``; ``web`` extends it and builds, its image
    named by base's ``image:`` (Compose v2.40.3: base pulls a:1, web
    builds a:1).  It is reported, and left: a digest written there would
    rename web's build (on main it was pinned)."""
    assert refs_of(tmp_path, 'compose.yaml', text) == [
        ('services.base.image', 3, 12, 'a:1', 'a:1', False),
    ]
    path = tmp_path / 'compose.yaml'
    fix_files([str(path)], knows_everything)
    assert path.read_text() == text


@pytest.mark.parametrize('given', (
    ['p1.yml', 'compose.yaml'], ['compose.yaml', 'p1.yml'], ['base.yml', 'compose.yaml'],
    ['compose.yaml', 'base.yml'],
))
def test_compose_build_reset_of_an_extended_file_in_any_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: list[str],
) -> None:
    """a.yml extends base.yml's built service; an entry [a.yml, b.yml]
    removes the build (Compose v2.40.3 pulls a:1, asked in
    tests/test_real_tools.py): reported, whichever file is given first, and
    with a.yml included alone too (on main never reported)."""
    tree(tmp_path, {
        'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n', 'p1.yml': 'include:\n  - a.yml\n',
        'a.yml': 'services:\n  web:\n    extends: {file: base.yml, service: x}\n',
        'base.yml': 'services:\n  x:\n    image: a:1\n    build: .\n',
        'b.yml': 'services:\n  web:\n    build: !reset\n',
    })
    assert images(tmp_path, given, monkeypatch) == [('base.yml', 'services.x.image', 3, 'a:1')]


# an include entry whose merge builds, for one service, the image another
# pulls: (files, the services of Compose v2.40.3's merged project as
# (image, whether built), asked in tests/test_real_tools.py, and what we
# report: (path, source, line, image)); each reported, never written
ENTRY_BUILDS_A_PULLED_IMAGE = {
    # web takes base's image (extends), the entry's later file builds it
    'a later file builds a service extending another': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': 'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n',
         'b.yml': 'services:\n  web:\n    build: .\n'},
        {'base': ('a:1', False), 'web': ('a:1', True)},
        [('a.yml', 'services.base.image', 3, 'a:1')],
    ),
    # (the build given by a later document of a.yml: left on main already,
    # by the file's own reading of its documents, 06354bb)
    # api and web both extend another file's x: the later file builds web
    'a later file builds a service extending another file': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': (
             'services:\n  api:\n    extends: {file: base.yml, service: x}\n'
             '  web:\n    extends: {file: base.yml, service: x}\n'
         ),
         'base.yml': 'services:\n  x:\n    image: a:1\n',
         'b.yml': 'services:\n  web:\n    build: .\n'},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    # web extends base, which extends another file's x
    'a later file builds a service extending a chain to another file': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': (
             'services:\n  base:\n    extends: {file: base.yml, service: x}\n'
             '  web:\n    extends: base\n'
         ),
         'base.yml': 'services:\n  x:\n    image: a:1\n',
         'b.yml': 'services:\n  web:\n    build: .\n'},
        {'base': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    # base's image is an anchor api uses too; web extends base
    'a later file builds a service extending one of an anchor': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': (
             'x-i: &i a:1\nservices:\n  base:\n    image: *i\n  api:\n    image: *i\n'
             '  web:\n    extends: base\n'
         ),
         'b.yml': 'services:\n  web:\n    build: .\n'},
        {'api': ('a:1', False), 'base': ('a:1', False), 'web': ('a:1', True)},
        [('a.yml', 'services.base.image', 1, 'a:1')],
    ),
    # web's own image is the anchor api uses: the later file builds web
    'a later file builds a service whose image is an anchor': (
        {'compose.yaml': 'include:\n  - path: [a.yml, b.yml]\n',
         'a.yml': 'x-i: &i a:1\nservices:\n  api:\n    image: *i\n  web:\n    image: *i\n',
         'b.yml': 'services:\n  web:\n    build: .\n'},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('a.yml', 'services.api.image', 1, 'a:1')],
    ),
}


# a service that extends another file's service and builds (its own
# build:, one a merge key gives, or one of a service it extends on the way)
# while another pulls the image there: no include entry needed (on main
# fix pinned base.yml's a:1, renaming the build)
BASE = 'services:\n  x:\n    image: a:1\n'
EXTENDS_X = '    extends: {file: base.yml, service: x}\n'
EXTENDER_BUILDS_A_PULLED_IMAGE = {
    'a service extending another file\'s builds': (
        {'compose.yaml': f'services:\n  web:\n{EXTENDS_X}    build: .\n  api:\n{EXTENDS_X}',
         'base.yml': BASE},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    'a merge key gives the build of a service extending another file\'s': (
        {'compose.yaml': (
            f'x-b: &b\n  build: .\nservices:\n  web:\n    <<: *b\n{EXTENDS_X}  api:\n{EXTENDS_X}'
        ), 'base.yml': BASE},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    'a service extends one that builds and extends another file\'s': (
        {'compose.yaml': (
            'services:\n  web:\n    extends: {file: m.yml, service: m}\n'
            f'  api:\n{EXTENDS_X}'
        ), 'm.yml': f'services:\n  m:\n{EXTENDS_X}    build: .\n', 'base.yml': BASE},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    'an include entry\'s file extending another file\'s builds': (
        {'compose.yaml': 'include:\n  - path: [a.yml]\n',
         'a.yml': f'services:\n  web:\n{EXTENDS_X}    build: .\n  api:\n{EXTENDS_X}',
         'base.yml': BASE},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    # the build given by a later document of the extending file's (which
    # no include entry merges with others)
    'a later document builds a service extending another file\'s': (
        {'compose.yaml': (
            f'services:\n  web:\n{EXTENDS_X}  api:\n{EXTENDS_X}---\nservices:\n  web:\n    build: .\n'
        ), 'base.yml': BASE},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    'a later document of a file included alone builds a service extending another file\'s': (
        {'compose.yaml': 'include:\n  - a.yml\n',
         'a.yml': f'services:\n  web:\n{EXTENDS_X}  api:\n{EXTENDS_X}---\nservices:\n  web:\n    build: .\n',
         'base.yml': BASE},
        {'api': ('a:1', False), 'web': ('a:1', True)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    # the entry's later file removes the build web takes from x; api, of
    # the including file, takes x's build and builds a:1 there
    'a service of another file keeping the build an entry removes': (
        {'compose.yaml': f'include:\n  - path: [a.yml, b.yml]\nservices:\n  api:\n{EXTENDS_X}',
         'a.yml': f'services:\n  web:\n{EXTENDS_X}',
         'b.yml': 'services:\n  web:\n    build: !reset\n',
         'base.yml': 'services:\n  x:\n    image: a:1\n    build: .\n'},
        {'api': ('a:1', True), 'web': ('a:1', False)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    # the file extended is included alone (x pulls a:1 in the project, and
    # base.yml alone pulls it too): read, and handed on, before web is
    # read (on main pinned there)
    'a service extending a file included alone builds': (
        {'compose.yaml': f'include:\n  - base.yml\nservices:\n  web:\n{EXTENDS_X}    build: .\n',
         'base.yml': BASE},
        {'web': ('a:1', True), 'x': ('a:1', False)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
    # an include entry's later file extends its earlier file's service and
    # builds: the merge builds a:1 for web, under another service's name
    'an entry\'s later file builds, extending its earlier file\'s service': (
        {'compose.yaml': 'include:\n  - path: [base.yml, b.yml]\n',
         'base.yml': BASE, 'b.yml': f'services:\n  web:\n{EXTENDS_X}    build: .\n'},
        {'web': ('a:1', True), 'x': ('a:1', False)},
        [('base.yml', 'services.x.image', 3, 'a:1')],
    ),
}
BUILDS_A_PULLED_IMAGE = {**ENTRY_BUILDS_A_PULLED_IMAGE, **EXTENDER_BUILDS_A_PULLED_IMAGE}


@pytest.mark.parametrize('case', sorted(BUILDS_A_PULLED_IMAGE))
def test_compose_image_an_include_entry_builds_is_reported_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """The image is pulled by one service and built, under its name, for
    another by the entry's merge: reported, left (NAMES_A_BUILD).  On
    main it was editable: fix pinned it."""
    from digestpin_hooks.model import NAMES_A_BUILD
    from digestpin_hooks.read.files import load_all
    files, _, reported = BUILDS_A_PULLED_IMAGE[case]
    tree(tmp_path, files)
    assert images(tmp_path, ['compose.yaml'], monkeypatch) == reported
    loaded, _ = load_all(['compose.yaml'])
    assert sorted(
        (file.path, ref.editable, ref.left) for file in loaded for ref in file.refs
    ) == [(path, False, NAMES_A_BUILD) for path, _, _, _ in reported]


NAMES_A_BUILD_MESSAGE = (
    "'a:1' is not pinned to a digest: tag '1' can move; its value also names "
    'the image another service builds (shared through an anchor, extends: or an '
    'include entry), which a pin would rename: give the building service an image '
    'of its own, then pin this one (a:1@sha256:<digest>)'
)


@pytest.mark.parametrize('case', sorted(BUILDS_A_PULLED_IMAGE))
def test_compose_image_an_include_entry_builds_is_never_pinned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """fix leaves every file byte-identical and says why (a digest at
    a:1 would rename the build, which Docker refuses).  On main it pinned
    a:1."""
    files, _, reported = BUILDS_A_PULLED_IMAGE[case]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    pins, left, errors, _ = fix_files(['compose.yaml'], knows_everything)
    assert (pins, errors) == ([], [])
    assert [(f.path, f.line, f.image, f.message) for f in left] == [(
        path, line, 'a:1', NAMES_A_BUILD_MESSAGE,
    ) for path, _, line, _ in reported]
    for name, text in files.items():
        assert (tmp_path / name).read_text() == text


# a service of one project read in the run extends another project's
# service and builds its image (Compose v2.40.3 asked in tests/test_real_
# tools.py): (files, the files given, what fix leaves: (path, line))
VOLUME_OF_A = (
    'services:\n  x:\n    image: a:1\n    volumes:\n'
    '      - type: image\n        source: a:1\n        target: /m\n'
)
BUILT_BY_ANOTHER_PROJECT = {
    # two files given: other/compose.yaml's web builds a:1, which
    # docker-compose.yml's x pulls
    'two files given': (
        {'docker-compose.yml': BASE, 'other/compose.yaml': (
            'services:\n  web:\n    extends: {file: ../docker-compose.yml, service: x}\n'
            '    build: .\n'
        )},
        ['docker-compose.yml', 'other/compose.yaml'],
        [('docker-compose.yml', 3)],
    ),
    # the same, given the other way round
    'two files given, the extending one first': (
        {'docker-compose.yml': BASE, 'other/compose.yaml': (
            'services:\n  web:\n    extends: {file: ../docker-compose.yml, service: x}\n'
            '    build: .\n'
        )},
        ['other/compose.yaml', 'docker-compose.yml'],
        [('docker-compose.yml', 3)],
    ),
    # x mounts a volume of its image (Compose >= 2.35 pulls it): web,
    # extending x, builds a:1 and mounts it; a pin there would mount the
    # registry's a:1 instead (on main fix pinned the volume's source)
    'two files given, a volume of the image built': (
        {'docker-compose.yml': VOLUME_OF_A, 'other/compose.yaml': (
            'services:\n  web:\n    extends: {file: ../docker-compose.yml, service: x}\n'
            '    build: .\n'
        )},
        ['docker-compose.yml', 'other/compose.yaml'],
        [('docker-compose.yml', 3), ('docker-compose.yml', 6)],
    ),
    # base.yml included alone, and given too, defines the service x that
    # the including file defines again, extending it and building (Compose
    # refuses compose.yaml's project: x conflicts with the imported one;
    # base.yml's own pulls a:1): left, as the build is written
    'a file given and included alone, its service defined again': (
        {'compose.yaml': 'include: [base.yml]\nservices:\n  x:\n' + EXTENDS_X + '    build: .\n',
         'base.yml': BASE},
        ['base.yml', 'compose.yaml'],
        [('base.yml', 3)],
    ),
    # base.yml given (pulling a:1) is merged by inc.yaml's include entry
    # with o.yml, which adds a build to x: inc.yaml's project builds a:1
    # (on main the given file's reading won and pinned it)
    'a file given, an include entry merging it builds its image': (
        {'base.yml': BASE, 'o.yml': 'services:\n  x:\n    build: .\n',
         'inc.yaml': 'include:\n  - path: [base.yml, o.yml]\n'},
        ['base.yml', 'inc.yaml'],
        [('base.yml', 3)],
    ),
}

# the other way round: base.yml builds a:1, which another project of the
# run pulls, its build removed (Compose v2.40.3 asked in tests/test_real_
# tools.py): reported, never written (on main, when base.yml was read
# first, given or included, the image was no finding at all)
BUILDS_AND_PULLED = 'services:\n  x:\n    image: a:1\n    build: .\n'
RESETS_X = (
    'services:\n  web:\n    extends: {file: base.yml, service: x}\n'
    '    build: !reset null\n'
)
PULLED_BY_ANOTHER_PROJECT = {
    'a service of another file given extends it, its build reset': (
        {'base.yml': BUILDS_AND_PULLED, 'compose.yaml': RESETS_X},
        ['base.yml', 'compose.yaml'],
        [('base.yml', 3)],
    ),
    'a service of the including file extends it, its build reset': (
        {'base.yml': BUILDS_AND_PULLED, 'compose.yaml': 'include: [base.yml]\n' + RESETS_X},
        ['compose.yaml'],
        [('base.yml', 3)],
    ),
    'a file given, an include entry merging it resets its build': (
        {'base.yml': BUILDS_AND_PULLED, 'o.yml': 'services:\n  x:\n    build: !reset null\n',
         'inc.yaml': 'include:\n  - path: [base.yml, o.yml]\n'},
        ['base.yml', 'inc.yaml'],
        [('base.yml', 3)],
    ),
}


@pytest.mark.parametrize('case', sorted(PULLED_BY_ANOTHER_PROJECT))
def test_compose_image_another_project_of_the_run_pulls_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A file read (given or included) before the project whose service
    or include entry removes its build and pulls the image: fix reports
    the image, never writes it (the file's own project builds it), in
    either order of the files given."""
    files, given, left_at = PULLED_BY_ANOTHER_PROJECT[case]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    for order in (given, given[::-1]):
        pins, left, errors, _ = fix_files(order, knows_everything, kind='compose')
        assert (pins, errors) == ([], [])
        assert [(f.path, f.line, f.image, f.message) for f in left] == [(
            path, line, 'a:1', NAMES_A_BUILD_MESSAGE,
        ) for path, line in left_at]
        for name, text in files.items():
            assert (tmp_path / name).read_text() == text



@pytest.mark.parametrize('output_format', ('text', 'json', 'sarif', 'github'))
@pytest.mark.parametrize('case', sorted(PULLED_BY_ANOTHER_PROJECT))
def test_lint_reports_an_image_another_project_of_the_run_pulls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], case: str, output_format: str,
) -> None:
    """lint reports what each project of the run pulls, whatever the
    order of the files given: the image base.yml builds and another project
    pulls (its build removed) once, in every format, under the name given,
    with fix's reason (on main, base.yml read first as its own project,
    where a:1 is built, let go: nothing for a:1 at all)."""
    import json
    files, given, left_at = PULLED_BY_ANOTHER_PROJECT[case]
    tree(tmp_path, files)
    given = [f'./{name}' for name in given]  # reported as given
    for order in (given, given[::-1]):
        status, out, err = lint(
            tmp_path, ['--kind', 'compose', '--format', output_format, *order],
            capsys, monkeypatch,
        )
        assert status == 1
        place = [
            ('./' + path if './' + path in given else path, line) for path, line in left_at
        ]
        if output_format == 'text':
            assert (out, err) == (''.join(
                f'{path}:{line}:12: DP001 {NAMES_A_BUILD_MESSAGE}\n' for path, line in place
            ), 'summary: 1 finding (DP001 1) in 1 file\n')
        elif output_format == 'json':
            assert (json.loads(out), err) == ({'version': 1, 'findings': [{
                'path': path, 'line': line, 'column': 12, 'end_line': line,
                'end_column': 15, 'code': 'DP001', 'severity': 'error',
                'source': 'services.x.image', 'image': 'a:1', 'written': 'a:1',
                'message': NAMES_A_BUILD_MESSAGE,
            } for path, line in place], 'errors': []}, '')
        elif output_format == 'sarif':
            assert (json.loads(out)['runs'][0]['results'], err) == ([{
                'ruleId': 'DP001', 'ruleIndex': 0, 'level': 'error',
                'message': {'text': NAMES_A_BUILD_MESSAGE},
                'locations': [{'physicalLocation': {
                    'artifactLocation': {'uri': path},
                    'region': {
                        'startLine': line, 'startColumn': 12, 'endLine': line,
                        'endColumn': 15,
                    },
                }}],
                'partialFingerprints': {'imageReference/v1': 'DP001:services.x.image:a:1'},
            } for path, line in left_at], '')
        else:
            assert (out, err) == (''.join(
                f'::error file={path},line={line},col=12,endLine={line},endColumn=15,'
                f'title=DP001::DP001 {NAMES_A_BUILD_MESSAGE}\n' for path, line in place
            ), '')


@pytest.mark.parametrize('gone', (False, True))
def test_lint_of_a_file_changed_before_another_project_pulls_its_image_is_one_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gone: bool,
) -> None:
    """base.yml, handed on and let go, is read again for the image another
    project pulls: changed since it was read (another file there: its
    identity differs), it is one line of error, not the findings of other
    bytes (on main: nothing at all)."""
    from digestpin_hooks.lint import lint_files
    files, given, _ = PULLED_BY_ANOTHER_PROJECT[
        'a service of another file given extends it, its build reset'
    ]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    for order in (given, given[::-1]):
        (tmp_path / 'base.yml').write_text(files['base.yml'])
        done: list[tuple[list[str], FileError | None]] = []

        def each(found: list[Finding], error: FileError | None) -> None:
            done.append(([f.message for f in found], error))
            if len(done) == len(given):  # both given read: base.yml let go
                if gone:  # another file of that name, with other bytes
                    (tmp_path / 'base.yml').unlink()
                    (tmp_path / 'base.yml').write_text(
                        files['base.yml'].replace('a:1', 'a:2'),
                    )
                else:  # the same file, written again
                    with open(tmp_path / 'base.yml', 'a') as f:
                        f.write('# changed\n')

        assert lint_files(order, kind='compose', each=each) == ([], [])
        assert done == [([], None), ([], None), ([], FileError('base.yml', (
            'changed since it was read: the images another project of the run '
            'pulls from it not checked'
        )))]


@pytest.mark.parametrize('swap', ('fifo', 'link out of the tree', 'link to /dev/zero'))
def test_lint_of_a_file_swapped_for_a_hostile_one_before_it_is_read_again_is_one_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: str,
) -> None:
    """base.yml, let go, swapped right before it is read again for the
    image another project pulls: a FIFO (a read would wait for a writer),
    a link to a file of the same bytes outside the tree, a link to an
    endless device.  Each is one line of error at once: no hang, no
    findings of another file's bytes, no traceback."""
    from digestpin_hooks.lint import lint_files
    from digestpin_hooks.read import bounded
    files, given, _ = PULLED_BY_ANOTHER_PROJECT[
        'a service of another file given extends it, its build reset'
    ]
    repository = tmp_path / 'repository'
    repository.mkdir()
    tree(repository, files)
    outside = tmp_path / 'outside.yml'
    outside.write_text(files['base.yml'])
    monkeypatch.chdir(repository)
    armed: list[bool] = []
    read_regular = bounded.read_regular

    def swapped_then_read(path: str, limit: int, **options: Any) -> bounded.ReadFile:
        if armed and not armed[0]:  # the next read is lint's reading again
            armed[0] = True
            (repository / 'base.yml').unlink()
            if swap == 'fifo':
                os.mkfifo(repository / 'base.yml')
            else:
                target = outside if swap == 'link out of the tree' else Path('/dev/zero')
                (repository / 'base.yml').symlink_to(target)
        return read_regular(path, limit, **options)

    monkeypatch.setattr(bounded, 'read_regular', swapped_then_read)
    done: list[tuple[list[str], FileError | None]] = []

    def each(found: list[Finding], error: FileError | None) -> None:
        done.append(([f.message for f in found], error))
        if len(done) == len(given):  # both given read and let go
            armed.append(False)

    start = time.monotonic()
    assert lint_files(given, kind='compose', each=each) == ([], [])
    assert time.monotonic() - start < 10
    assert armed == [True]
    assert done == [([], None), ([], None), ([], FileError('base.yml', (
        'changed since it was read: the images another project of the run '
        'pulls from it not checked'
    )))]


NOT_CHECKED = 'the images another project of the run pulls from it not checked'


WHEN = ('once both are read', 'right before it is read again')


def lint_reading_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: Callable[[Path], None],
        when: str,
) -> tuple[list[tuple[list[str], FileError | None]], int]:
    """lint of base.yml and compose.yaml (base.yml builds a:1, compose.yaml
    extends it, its build reset, and pulls a:1), ``swap`` done to the
    repository ``when``: once both are read and let go (before what
    compose.yaml makes of base.yml is known: it follows the extends into
    base.yml again), or right before lint reads base.yml again for a:1:
    what lint handed on for each file, and the bytes os.read gave from the
    swap on."""
    from digestpin_hooks.lint import lint_files
    from digestpin_hooks.read import bounded
    files, given, _ = PULLED_BY_ANOTHER_PROJECT[
        'a service of another file given extends it, its build reset'
    ]
    repository = tmp_path / 'repository'
    repository.mkdir()
    tree(repository, files)
    monkeypatch.chdir(repository)
    counted: list[int] = []
    read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        data = read(fd, size)
        if counted:
            counted[0] += len(data)
        return data

    monkeypatch.setattr(os, 'read', counting_read)
    armed: list[bool] = []
    read_regular = bounded.read_regular

    def swapped_then_read(path: str, limit: int, **options: Any) -> bounded.ReadFile:
        if armed and not counted:  # (only read/elsewhere.py reads it through here)
            swap(repository)
            counted.append(0)
        return read_regular(path, limit, **options)

    monkeypatch.setattr(bounded, 'read_regular', swapped_then_read)
    done: list[tuple[list[str], FileError | None]] = []

    def each(found: list[Finding], error: FileError | None) -> None:
        done.append(([f.message for f in found], error))
        if len(done) == len(given):  # both given read and let go
            if when == WHEN[0]:
                swap(repository)
                counted.append(0)
            armed.append(True)

    assert lint_files(given, kind='compose', each=each) == ([], [])
    assert counted  # swapped
    return done, counted[0]


@pytest.mark.parametrize('swap', ('a link to a file outside', 'another file renamed over it'))
@pytest.mark.parametrize('when', WHEN)
def test_lint_reads_no_byte_of_a_file_swapped_in_before_it_reads_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: str, when: str,
) -> None:
    """The file opened to be read again is asked its identity (fstat of
    what was opened) before a byte is read: a link to an 8 MiB file outside
    the repository, or such a file renamed over base.yml, is one line of
    error and not one byte of it read (on main: 8 MiB and a byte read, then
    thrown away as its identity differed; before lint's reading again, the
    following of compose.yaml's extends had read it too, 8 MiB, unchecked,
    and made no record of base.yml: no line at all for the file renamed
    over it)."""
    big = tmp_path / 'outside.yml'
    with open(big, 'wb') as f:
        f.truncate(8 * 1024 * 1024)  # sparse: no disk taken

    def swapped(repository: Path) -> None:
        if swap == 'a link to a file outside':
            (repository / 'base.yml').unlink()
            (repository / 'base.yml').symlink_to(big)
        else:
            os.replace(big, repository / 'base.yml')

    done, read = lint_reading_again(tmp_path, monkeypatch, swapped, when)
    if swap == 'a link to a file outside' and when == WHEN[0]:  # told before it is opened
        said = FileError('compose.yaml', (
            f'services.web extends base.yml, outside the repository '
            f'({tmp_path / "repository"}): not read'
        ), 2)
    else:
        said = FileError('base.yml', f'changed since it was read: {NOT_CHECKED}')
    assert (done, read) == ([([], None), ([], None), ([], said)], 0)


@pytest.mark.parametrize('when', WHEN)
def test_lint_says_why_a_file_it_reads_again_cannot_be_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str,
) -> None:
    """base.yml's read permission removed before it is read again: the
    line says so (as root, read with the effective user nobody, which a
    mode of 000 keeps out), not that it changed (on main: 'changed since
    it was read' right before; nothing at all before the records were
    made, the extends followed into base.yml failing silently)."""
    euid = os.geteuid()

    def unreadable(repository: Path) -> None:
        os.chmod(repository / 'base.yml', 0)
        if euid == 0:
            os.seteuid(65534)  # given back below: the real user stays root

    try:
        done, _ = lint_reading_again(tmp_path, monkeypatch, unreadable, when)
    finally:
        if os.geteuid() != euid:
            os.seteuid(euid)
    assert done == [([], None), ([], None), ([], FileError(
        'base.yml', f'cannot be read again (permission denied): {NOT_CHECKED}',
    ))]


@pytest.mark.parametrize('when', WHEN)
def test_lint_of_a_file_that_vanished_before_it_is_read_again_is_one_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str,
) -> None:
    """base.yml removed once read and let go, before what other files make
    of it is known: lint cannot tell whether it builds the image
    compose.yaml pulls, and says in one line that it is gone (on main: no
    record was made, so nothing was said at all)."""
    done, _ = lint_reading_again(
        tmp_path, monkeypatch, lambda repository: (repository / 'base.yml').unlink(), when,
    )
    assert done == [([], None), ([], None), ([], FileError(
        'base.yml', f'cannot be read again (no such file or directory): {NOT_CHECKED}',
    ))]


@pytest.mark.parametrize('when', WHEN)
def test_lint_of_a_file_rewritten_its_mtime_put_back_before_it_is_read_again_is_one_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str,
) -> None:
    """base.yml rewritten in place, the same size (a:1 made b:1), its
    modification time put back with os.utime: its change time, which only
    the kernel sets, tells it (on main: the identity matched, and lint
    reported nothing of it, or b:1, bytes it never checked as read)."""

    def rewritten(repository: Path) -> None:
        path = repository / 'base.yml'
        before = path.stat()
        # until the clock the kernel stamps files with has moved on
        probe = repository / 'probe'
        probe.write_bytes(b'')
        while probe.stat().st_ctime_ns <= before.st_ctime_ns:
            os.utime(probe)
        probe.unlink()
        data = path.read_bytes()
        assert data.count(b'a:1') == 1
        with open(path, 'r+b') as f:
            f.write(data.replace(b'a:1', b'b:1'))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = path.stat()
        assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
            before.st_ino, before.st_size, before.st_mtime_ns,
        )

    done, _ = lint_reading_again(tmp_path, monkeypatch, rewritten, when)
    assert done == [([], None), ([], None), ([], FileError(
        'base.yml', f'changed since it was read: {NOT_CHECKED}',
    ))]


@pytest.mark.parametrize('swap', ('fifo', 'another file'))
def test_compose_file_of_the_run_swapped_before_its_services_are_followed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: str,
) -> None:
    """base.yml, given and read, is swapped right before the services
    extending it are followed: for a FIFO (a read would wait for a writer)
    or another file whose x builds nothing.  Its services are those of the
    bytes the run read it as: the image compose.yaml's project pulls is
    reported and left, at once (on main base.yml was read again from disk:
    the FIFO a silent skip, the other file's bytes taken, nothing reported
    either way)."""
    from digestpin_hooks.read import files as files_module
    files, given, left_at = PULLED_BY_ANOTHER_PROJECT[
        'a service of another file given extends it, its build reset'
    ]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    extended = files_module._extended

    def swapped_then_followed(*args: object) -> object:
        (tmp_path / 'base.yml').unlink()
        if swap == 'fifo':
            os.mkfifo(tmp_path / 'base.yml')
        else:
            (tmp_path / 'base.yml').write_text('services:\n  x:\n    image: a:1\n')
        return extended(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module, '_extended', swapped_then_followed)
    for order in (given, given[::-1]):
        (tmp_path / 'base.yml').unlink()
        (tmp_path / 'base.yml').write_text(files['base.yml'])
        start = time.monotonic()
        pins, left, errors, _ = fix_files(order, knows_everything, kind='compose')
        assert time.monotonic() - start < 10
        assert (pins, errors) == ([], [])
        assert [(f.path, f.line, f.image, f.message) for f in left] == [(
            path, line, 'a:1', NAMES_A_BUILD_MESSAGE,
        ) for path, line in left_at]


def test_compose_file_of_the_run_extended_is_opened_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file given whose service another file given extends is opened
    once in the run, whichever is given first (on main twice: read again
    to follow the services extending it)."""
    from digestpin_hooks.read.files import load_all
    files, given, left_at = PULLED_BY_ANOTHER_PROJECT[
        'a service of another file given extends it, its build reset'
    ]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    real_open = os.open
    opened: list[str] = []

    def counted(path: str, flags: int, *args: int, **kwargs: int) -> int:
        opened.append(os.path.basename(os.fsdecode(path)))
        return real_open(path, flags, *args, **kwargs)

    for order in (given, given[::-1]):
        opened.clear()
        monkeypatch.setattr(os, 'open', counted)
        loaded, errors = load_all(order, 'compose')
        monkeypatch.setattr(os, 'open', real_open)
        assert errors == []
        assert [(file.path, ref.image) for file in loaded for ref in file.refs] == [
            (path, 'a:1') for path, _ in left_at
        ]
        assert sorted(name for name in opened if name.endswith(('.yml', '.yaml'))) == [
            'base.yml', 'compose.yaml',
        ]


def test_lint_of_a_changed_file_two_projects_pull_from_is_one_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """base.yml builds a:1 and b:1; one project pulls a:1 (an include
    entry resets x's build), another b:1 (a service extends y, its build
    reset): two records of base.yml, each read again.  Changed since it
    was read, base.yml is one line of error (on main: the same line twice,
    one a record)."""
    from digestpin_hooks.lint import lint_files
    files = {
        'base.yml': (
            'services:\n  x:\n    image: a:1\n    build: .\n'
            '  y:\n    image: b:1\n    build: .\n'
        ),
        'o.yml': 'services:\n  x:\n    build: !reset null\n',
        'inc.yaml': 'include:\n  - path: [base.yml, o.yml]\n',
        'c1.yaml': (
            'services:\n  web:\n    extends: {file: base.yml, service: y}\n'
            '    build: !reset null\n'
        ),
    }
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    given = ['base.yml', 'c1.yaml', 'inc.yaml']
    for order in (given, given[::-1]):
        (tmp_path / 'base.yml').write_text(files['base.yml'])
        done: list[tuple[list[str], FileError | None]] = []

        def each(found: list[Finding], error: FileError | None) -> None:
            done.append(([f.message for f in found], error))
            if len(done) == 4:  # the files given and o.yml read: base.yml let go
                with open(tmp_path / 'base.yml', 'a') as f:
                    f.write('# changed\n')

        assert lint_files(order, kind='compose', each=each) == ([], [])
        assert done == [([], None)] * 4 + [([], FileError('base.yml', (
            'changed since it was read: the images another project of the run '
            'pulls from it not checked'
        )))]
        (tmp_path / 'base.yml').write_text(files['base.yml'])
        found, errors = lint_files(order, kind='compose')  # unchanged: both, once each
        assert ([(f.path, f.line, f.image) for f in found], errors) == (
            [('base.yml', 3, 'a:1'), ('base.yml', 6, 'b:1')], [],
        )


@pytest.mark.parametrize('output_format', ('text', 'json', 'sarif', 'github'))
@pytest.mark.parametrize('case', sorted(BUILT_BY_ANOTHER_PROJECT))
def test_lint_advises_as_fix_leaves_an_image_another_project_of_the_run_builds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], case: str, output_format: str,
) -> None:
    """The image (or a volume of it) that the writing file's own project
    pulls and another project of the run builds is reported once, in every
    format and either order, with the advice fix's reason gives
    (NAMES_A_BUILD), not "pin it with digestpin-fix", which fix then does
    not do (on main: the advice to pin it whenever the writing file was
    read, and let go, first)."""
    import json
    files, given, left_at = BUILT_BY_ANOTHER_PROJECT[case]
    tree(tmp_path, files)
    given = [f'./{name}' for name in given]  # reported as given
    for order in (given, given[::-1]):
        status, out, err = lint(
            tmp_path, ['--kind', 'compose', '--format', output_format, *order],
            capsys, monkeypatch,
        )
        assert status == 1
        place = [
            ('./' + path if './' + path in given else path, line,
             12 if line == 3 else 17,
             'services.x.image' if line == 3 else 'services.x.volumes[0].source')
            for path, line in left_at
        ]
        if output_format == 'text':
            assert (out, err) == (''.join(
                f'{path}:{line}:{column}: DP001 {NAMES_A_BUILD_MESSAGE}\n'
                for path, line, column, _ in place
            ), f'summary: {len(place)} finding{"s" if len(place) > 1 else ""} '
               f'(DP001 {len(place)}) in 1 file\n')
        elif output_format == 'json':
            assert (json.loads(out), err) == ({'version': 1, 'findings': [{
                'path': path, 'line': line, 'column': column, 'end_line': line,
                'end_column': column + 3, 'code': 'DP001', 'severity': 'error',
                'source': source, 'image': 'a:1', 'written': 'a:1',
                'message': NAMES_A_BUILD_MESSAGE,
            } for path, line, column, source in place], 'errors': []}, '')
        elif output_format == 'sarif':
            assert [
                (r['message']['text'], r['locations'][0]['physicalLocation']['region']['startLine'])
                for r in json.loads(out)['runs'][0]['results']
            ] == [(NAMES_A_BUILD_MESSAGE, line) for _, line, _, _ in place]
            assert err == ''
        else:
            assert (out, err) == (''.join(
                f'::error file={path},line={line},col={column},endLine={line},'
                f'endColumn={column + 3},title=DP001::DP001 {NAMES_A_BUILD_MESSAGE}\n'
                for path, line, column, _ in place
            ), '')


@pytest.mark.parametrize('case', sorted(BUILT_BY_ANOTHER_PROJECT))
def test_compose_image_another_project_of_the_run_builds_is_never_pinned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], case: str,
) -> None:
    """The file that writes the image is read (and handed on) before, or
    apart from, the file whose service builds it: fix leaves every file
    byte-identical and says why, in either order (on main it pinned a:1,
    renaming the build, which Docker refuses); lint's finding is the
    image the writer's own project pulls, as it was."""
    from digestpin_hooks.lint import lint_files
    files, given, left_at = BUILT_BY_ANOTHER_PROJECT[case]
    tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    assert [(f.path, f.line, f.code) for f in lint_files(given, kind='compose')[0]] == [
        (path, line, 'DP001') for path, line in left_at
    ]
    pins, left, errors, _ = fix_files(given, knows_everything, kind='compose')
    assert (pins, errors) == ([], [])
    assert [(f.path, f.line, f.image, f.message) for f in left] == [(
        path, line, 'a:1', NAMES_A_BUILD_MESSAGE,
    ) for path, line in left_at]
    for name, text in files.items():
        assert (tmp_path / name).read_text() == text


@pytest.mark.parametrize('folder', ('base', '.', 'sub/..'))
def test_compose_extends_of_a_folder_is_one_line_saying_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str,
) -> None:
    """``extends: {file: <a folder>}``: one line that says it is a
    directory (on main the line was the bare path, ``base: error: base``;
    before it, an internal error)."""
    from digestpin_hooks.read.files import load_all
    tree(tmp_path, {
        '.git/HEAD': '',
        'base/.keep': '',
        'sub/.keep': '',
        'compose.yaml': (
            'services:\n  x:\n    image: a:1\n'
            f'  web:\n    extends: {{file: {folder}, service: x}}\n    build: .\n'
        ),
    })
    monkeypatch.chdir(tmp_path)
    loaded, errors = load_all(['compose.yaml'], 'compose')
    assert [file.path for file in loaded] == ['compose.yaml']
    assert [(e.path, e.message) for e in errors] == [(os.path.normpath(folder), 'is a directory')]


def test_a_compose_file_alone_in_a_folder_that_cannot_be_listed_is_not_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What Compose refuses of a default-named file alone (a service with
    neither image nor build) is refused only when no other Compose file
    lies beside it; a folder that cannot be listed (readable but not
    searchable to us, which root cannot be made to meet) may hold one, so
    nothing is refused on a guess and the file's images are read."""
    from digestpin_hooks.read import yaml_refs
    path = tmp_path / 'compose.yaml'
    path.write_text('services:\n  web:\n    image: a:1\n  worker:\n    command: x\n')
    with pytest.raises(UnreadableFile, match='worker has neither an image nor a build'):
        load(str(path))
    assert yaml_refs.overridden_beside(str(path)) is False

    def unlistable(folder: str) -> Any:
        raise PermissionError(13, 'Permission denied', folder)
    monkeypatch.setattr(os, 'scandir', unlistable)
    assert yaml_refs.overridden_beside(str(path)) is True
    assert [ref.image for ref in load(str(path)).refs] == ['a:1']


@pytest.mark.parametrize(('written', 'dotenv', 'platforms'), (
    ('${P:-linux/arm64}', '', ('linux/arm64',)),
    ('${P:-linux/arm64}', 'P=linux/s390x\n', ('linux/s390x',)),
    ('linux/${ARCH}', 'ARCH=arm64\n', ('linux/arm64',)),
    # what the project's values leave unknown stays as written: unchecked
    ('${P}', '', ('${P}',)),
    ('${P:?say which}', '', ('${P:?say which}',)),
    ('${P:-}', '', ('${P:-}',)),
))
def test_a_compose_platform_with_variables_is_read_with_the_projects_values(
        tmp_path: Path, written: str, dotenv: str, platforms: tuple[str, ...],
) -> None:
    """A service's ``platform:`` is interpolated as its image is (verify
    checks it: DP009); one whose value the project leaves unknown is kept
    as written, with its ``$``, which no check reads."""
    (tmp_path / 'compose.yaml').write_text(
        f'services:\n  a:\n    image: a:1\n    platform: "{written}"\n',
    )
    if dotenv:
        (tmp_path / '.env').write_text(dotenv)
    assert [ref.platforms for ref in load(str(tmp_path / 'compose.yaml')).refs] == [platforms]
