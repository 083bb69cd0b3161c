"""--source local and pull against a real Podman's Docker-compatible API
(``podman system service``), found through DOCKER_HOST or its own socket."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.update import main as update_main
from digestpin_hooks.verify import main as verify_main
from tests.stack import Podman
from tests.stack import Stack
from tests.stack import start_podman


@pytest.fixture(scope='module')
def runtime_dir() -> Iterator[str]:
    """An XDG_RUNTIME_DIR whose podman/podman.sock is where a rootless
    Podman listens by default."""
    folder = tempfile.mkdtemp(prefix='xdg', dir='/tmp')
    yield folder
    import shutil
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope='module')
def podman(stack: Stack, runtime_dir: str) -> Iterator[Podman]:
    yield from start_podman(stack, os.path.join(runtime_dir, 'podman', 'podman.sock'))


@pytest.fixture(scope='module')
def image(stack: Stack) -> tuple[str, str]:
    name = f'{stack.registry}/podman/app:1'
    return name, stack.push(name, 'for podman')


def test_pull_then_local_through_podman(
        podman: Podman, image: tuple[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DOCKER_HOST names Podman's socket: pull pins what Podman pulled, and
    local reads Podman's RepoDigests; verify --source local agrees."""
    monkeypatch.setenv('DOCKER_HOST', podman.host)
    name, digest = image
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {name}\n')
    assert fix_main(['--source', 'local', str(path)]) == 1
    assert 'the image is not present locally' in capsys.readouterr().out
    assert fix_main(['--source', 'pull', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{digest}\n'
    path.write_text(f'FROM {name}\n')
    assert fix_main(['--source', 'local', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{digest}\n'
    assert verify_main(['--source', 'local', str(path)]) == 0
    assert update_main(['--source', 'pull', str(path)]) == 0


def test_podmans_own_socket_is_found_without_docker_host(
        podman: Podman, runtime_dir: str, image: tuple[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No DOCKER_HOST, no context, no /var/run/docker.sock: the rootless
    Podman socket under XDG_RUNTIME_DIR is used."""
    if os.path.exists('/var/run/docker.sock'):
        pytest.fail('this test needs a machine without /var/run/docker.sock')
    monkeypatch.delenv('DOCKER_HOST', raising=False)
    monkeypatch.delenv('DOCKER_CONTEXT', raising=False)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'no-docker-config'))
    monkeypatch.setenv('XDG_RUNTIME_DIR', runtime_dir)
    name, digest = image
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {name}\n')
    assert fix_main(['--source', 'pull', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{digest}\n'


def test_daemon_registry_is_not_served_by_podman(
        podman: Podman, image: tuple[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """Podman has no /distribution endpoint: the README says to use
    --source registry; the failure is one line at the reference."""
    name, digest = image
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {name}@{digest}\n')
    assert update_main(['--docker-host', podman.host, '--source', 'daemon-registry', str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f'{path}: error: line 1: cannot update ')
    assert path.read_text() == f'FROM {name}@{digest}\n'
