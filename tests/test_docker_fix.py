"""digestpin-fix against a real Docker daemon and a real registry."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pytest

from digestpin_hooks.fix import main
from tests.stack import Stack


def run_fix(stack: Stack, *args: str) -> int:
    return main(['--docker-host', stack.host, *args])


@pytest.fixture(scope='module')
def images(stack: Stack) -> dict[str, str]:
    """Pushed images, by the name a Dockerfile uses -> their RepoDigest."""
    r = stack.registry
    pushed = {
        f'{r}/x/plain:1': 'plain',
        f'{r}/x/copy:2': 'copy',
        f'{r}/x/mount:3': 'mount',
        f'{r}/tools/syntax:1': 'syntax',
        f'{r}/x/latest': 'latest',
        f'{r}/x/arg:4': 'arg',
    }
    digests = {}
    for name, content in pushed.items():
        tag = name if ':' in name.rsplit('/', 1)[1] else f'{name}:latest'
        digests[name] = stack.push(tag, content)
    return digests


def write(tmp_path: Path, data: bytes, name: str = 'Dockerfile') -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize('case', (
    'plain', 'continued CRLF', 'ARG default', 'COPY --from', 'RUN --mount',
    'syntax', 'implicit latest',
))
def test_pins_match_docker_inspect(
        stack: Stack, images: dict[str, str], tmp_path: Path, case: str,
        capsys: pytest.CaptureFixture[str],
) -> None:
    r = stack.registry
    plain, copy, mount = f'{r}/x/plain:1', f'{r}/x/copy:2', f'{r}/x/mount:3'
    syntax, latest, arg = f'{r}/tools/syntax:1', f'{r}/x/latest', f'{r}/x/arg:4'
    d = images
    before, after = {
        'plain': (f'FROM {plain}\n', f'FROM {plain}@{d[plain]}\n'),
        'continued CRLF': (
            f'FROM \\\r\n# a comment\r\n\r\n   {plain} \\\r\n  AS base\r\n',
            f'FROM \\\r\n# a comment\r\n\r\n   {plain}@{d[plain]} \\\r\n  AS base\r\n',
        ),
        'ARG default': (
            f'ARG BASE={arg}\nFROM ${{BASE}}\n',
            f'ARG BASE={arg}@{d[arg]}\nFROM ${{BASE}}\n',
        ),
        'COPY --from': (
            f'FROM scratch\nCOPY --from={copy} /f /f\n',
            f'FROM scratch\nCOPY --from={copy}@{d[copy]} /f /f\n',
        ),
        'RUN --mount': (
            f'FROM scratch\nRUN --mount=type=bind,from={mount},target=/m true\n',
            f'FROM scratch\nRUN --mount=type=bind,from={mount}@{d[mount]},target=/m true\n',
        ),
        'syntax': (
            f'# syntax={syntax}\nFROM scratch\n',
            f'# syntax={syntax}@{d[syntax]}\nFROM scratch\n',
        ),
        'implicit latest': (
            f'FROM {latest} AS x', f'FROM {latest}@{d[latest]} AS x',
        ),
    }[case]
    path = write(tmp_path, before.encode())
    assert run_fix(stack, str(path)) == 1
    assert path.read_bytes() == after.encode()
    out = capsys.readouterr().out
    assert ' pinned ' in out and '@sha256:' in out
    # a second run finds nothing to do
    assert run_fix(stack, str(path)) == 0
    assert path.read_bytes() == after.encode()


def test_digest_is_docker_inspects(stack: Stack, images: dict[str, str]) -> None:
    plain = f'{stack.registry}/x/plain:1'
    inspected = stack.docker('inspect', '--format', '{{index .RepoDigests 0}}', plain)
    assert inspected == f'{stack.registry}/x/plain@{images[plain]}'


def test_already_pinned_is_untouched(
        stack: Stack, images: dict[str, str], tmp_path: Path,
) -> None:
    plain = f'{stack.registry}/x/plain:1'
    data = f'FROM {plain}@{images[plain]}\n'.encode()
    path = write(tmp_path, data)
    mtime = path.stat().st_mtime_ns
    assert run_fix(stack, str(path)) == 0
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


def test_absent_image_is_reported_not_guessed(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    absent = f'{stack.registry}/x/absent:9'
    data = f'FROM {absent}\n'.encode()
    path = write(tmp_path, data)
    assert run_fix(stack, str(path)) == 1
    assert path.read_bytes() == data
    assert capsys.readouterr().out == (
        f"{path}:1:6: DP001 '{absent}' left unpinned: the image is not "
        f'present locally (docker pull {absent}, or use --source pull)\n'
    )


def test_image_without_repo_digests(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    built = f'{stack.registry}/x/built-here:1'
    stack.build(built, 'never pushed')
    assert stack.repo_digests(built) == []
    data = f'FROM {built}\n'.encode()
    path = write(tmp_path, data)
    assert run_fix(stack, str(path)) == 1
    assert path.read_bytes() == data
    assert 'has no registry digest (built locally or loaded' in capsys.readouterr().out


def test_tag_whose_repo_digests_name_another_repository(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    plain = f'{stack.registry}/x/plain:1'
    alias = f'{stack.registry}/x/alias:1'
    stack.docker('tag', plain, alias)
    assert all('/x/plain@' in d for d in stack.repo_digests(alias))
    data = f'FROM {alias}\n'.encode()
    path = write(tmp_path, data)
    assert run_fix(stack, str(path)) == 1
    assert path.read_bytes() == data  # the x/plain digest is not x/alias's
    out = capsys.readouterr().out
    assert 'registry digests only for other repositories' in out
    assert 'only tagged locally under this name' in out


def test_source_pull_pulls_from_the_registry(
        stack: Stack, tmp_path: Path,
) -> None:
    name = f'{stack.registry}/x/pulled:1'
    digest = stack.push(name, 'to be pulled')
    stack.remove(name)
    assert not stack.has_image(name)
    path = write(tmp_path, f'FROM {name}\n'.encode())
    assert run_fix(stack, '--source', 'local', str(path)) == 1
    assert path.read_bytes() == f'FROM {name}\n'.encode()
    assert run_fix(stack, '--source', 'pull', str(path)) == 1
    assert path.read_bytes() == f'FROM {name}@{digest}\n'.encode()
    assert stack.has_image(name)
    assert stack.repo_digest(name) == digest


def test_source_registry_resolves_without_pulling(
        stack: Stack, tmp_path: Path,
) -> None:
    name = f'{stack.registry}/x/remote:1'
    digest = stack.push(name, 'stays remote')
    stack.remove(name)
    path = write(tmp_path, f'FROM {name}\n'.encode())
    assert run_fix(stack, '--source', 'registry', str(path)) == 1
    assert path.read_bytes() == f'FROM {name}@{digest}\n'.encode()
    assert not stack.has_image(name)


def test_no_keep_tag(stack: Stack, images: dict[str, str], tmp_path: Path) -> None:
    plain = f'{stack.registry}/x/plain:1'
    path = write(tmp_path, f'FROM {plain} AS a\n'.encode())
    assert run_fix(stack, '--no-keep-tag', str(path)) == 1
    assert path.read_bytes() == (
        f'FROM {stack.registry}/x/plain@{images[plain]} AS a\n'.encode()
    )


def test_dry_run_prints_a_diff_and_writes_nothing(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    plain = f'{stack.registry}/x/plain:1'
    data = f'FROM {plain}\nRUN true\n'.encode()
    path = write(tmp_path, data)
    assert run_fix(stack, '--dry-run', str(path)) == 1
    assert path.read_bytes() == data
    assert capsys.readouterr().out == (
        f'--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n'
        f'-FROM {plain}\n+FROM {plain}@{images[plain]}\n RUN true\n'
        f'{path}:1:6: would pin {plain} -> {plain}@{images[plain]}\n'
    )


def test_mode_and_other_bytes_are_kept(
        stack: Stack, images: dict[str, str], tmp_path: Path,
) -> None:
    plain = f'{stack.registry}/x/plain:1'
    data = (
        b'\xef\xbb\xbf# \xff\xfe not UTF-8\r\n'
        + f'FROM  {plain}   AS a\t\r\n'.encode() + b'LABEL x="\xe9"\r\n'
        + b'RUN echo \\\n  done'
    )
    path = write(tmp_path, data)
    os.chmod(path, 0o751)
    assert run_fix(stack, str(path)) == 1
    assert path.read_bytes() == data.replace(
        plain.encode(), f'{plain}@{images[plain]}'.encode(),
    )
    assert path.stat().st_mode & 0o7777 == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ['Dockerfile']


def test_partly_variable_reference_is_not_rewritten(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    data = f'ARG V=1\nFROM {stack.registry}/x/plain:${{V}}\n'.encode()
    path = write(tmp_path, data)
    assert run_fix(stack, str(path)) == 1
    assert path.read_bytes() == data
    assert 'pinning it would silently override a later --build-arg' in (
        capsys.readouterr().out
    )


def test_json_output(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    plain = f'{stack.registry}/x/plain:1'
    path = write(tmp_path, f'FROM {plain}\n'.encode())
    assert run_fix(stack, '--format', 'json', str(path)) == 1
    document = json.loads(capsys.readouterr().out)
    assert document == {
        'version': 1, 'findings': [], 'errors': [],
        'pins': [{
            'path': str(path), 'line': 1, 'column': 6, 'before': plain,
            'after': f'{plain}@{images[plain]}', 'digest': images[plain],
        }],
    }


def test_one_image_list_for_many_references(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    from digestpin_hooks.resolve import daemon
    calls: list[str] = []
    real = daemon.Daemon._call

    def counting(self: daemon.Daemon, what: Callable[[], object], **k: bool) -> object:
        calls.append(what.__name__)
        return real(self, what, **k)

    monkeypatch.setattr(daemon.Daemon, '_call', counting)
    lines = ''.join(f'FROM {name}\n' for name in images)
    write(tmp_path, lines.encode(), 'Dockerfile')
    write(tmp_path, lines.encode(), 'Dockerfile.two')
    assert run_fix(stack, str(tmp_path / 'Dockerfile'), str(tmp_path / 'Dockerfile.two')) == 1
    assert calls == ['images']


def test_daemon_found_through_docker_host(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = f'{stack.registry}/x/plain:1'
    path = write(tmp_path, f'FROM {plain}\n'.encode())
    monkeypatch.setenv('DOCKER_HOST', stack.host)
    assert main([str(path)]) == 1
    assert path.read_bytes() == f'FROM {plain}@{images[plain]}\n'.encode()


@pytest.mark.parametrize('how', ('docker context use', 'DOCKER_CONTEXT'))
def test_daemon_found_through_the_current_context(
        stack: Stack, images: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    """A context made by the real docker CLI, as Colima or Podman make one."""
    config = tmp_path / 'docker-config'
    env = {**stack.env, 'DOCKER_CONFIG': str(config)}
    env.pop('DOCKER_HOST')
    import subprocess
    subprocess.run(
        [stack.client, 'context', 'create', 'digestpin-test',
         '--docker', f'host={stack.host}'],
        env=env, check=True, capture_output=True,
    )
    monkeypatch.delenv('DOCKER_HOST', raising=False)
    monkeypatch.setenv('DOCKER_CONFIG', str(config))
    if how == 'DOCKER_CONTEXT':
        monkeypatch.setenv('DOCKER_CONTEXT', 'digestpin-test')
    else:
        subprocess.run(
            [stack.client, 'context', 'use', 'digestpin-test'],
            env=env, check=True, capture_output=True,
        )
    plain = f'{stack.registry}/x/plain:1'
    path = write(tmp_path, f'FROM {plain}\n'.encode())
    assert main([str(path)]) == 1
    assert path.read_bytes() == f'FROM {plain}@{images[plain]}\n'.encode()


def test_default_socket_when_nothing_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
) -> None:
    from digestpin_hooks.resolve.daemon import Endpoint
    from digestpin_hooks.resolve.daemon import find_endpoint
    monkeypatch.delenv('DOCKER_HOST', raising=False)
    monkeypatch.delenv('DOCKER_CONTEXT', raising=False)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path))
    assert find_endpoint() == Endpoint('unix:///var/run/docker.sock', None, 'the default socket')
    monkeypatch.setenv('DOCKER_CONTEXT', 'no-such-context')
    from digestpin_hooks.resolve.answers import SourceError
    with pytest.raises(SourceError, match="Docker context 'no-such-context' not found"):
        find_endpoint()


def test_tls_settings_come_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from digestpin_hooks.resolve.daemon import find_endpoint
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        (tmp_path / name).write_text('')
    monkeypatch.setenv('DOCKER_HOST', 'tcp://127.0.0.1:2376')
    monkeypatch.setenv('DOCKER_TLS_VERIFY', '1')
    monkeypatch.setenv('DOCKER_CERT_PATH', str(tmp_path))
    endpoint = find_endpoint()
    assert endpoint.host == 'tcp://127.0.0.1:2376'
    assert endpoint.tls.verify is True
    assert endpoint.tls.ca_cert == str(tmp_path / 'ca.pem')
    assert endpoint.tls.cert == (str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    assert endpoint.origin == 'DOCKER_HOST'
