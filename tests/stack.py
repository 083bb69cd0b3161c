"""A real Docker daemon and a real registry, started for the test session.

Debian's ``docker.io`` gives ``dockerd`` and ``docker-registry`` gives the
CNCF distribution registry.  The daemon runs privately (its own data root and
socket, no bridge, no iptables, vfs storage) and the registry listens on a
free loopback port, which the daemon treats as an insecure registry without
being told.  Without them the tests that need them skip with the reason, and
under CI (``CI`` set) they fail instead: CI must run them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Callable

CLIENTS = ('/usr/bin/docker', '/usr/local/bin/docker', 'docker')


def unavailable(reason: str) -> None:
    """Skip the tests that need the stack, or fail them under CI."""
    import pytest
    if os.environ.get('CI'):
        pytest.fail(f'CI must run the Docker tests, but {reason}')
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def _wait(predicate, what: str, seconds: float, log: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    with open(log, errors='replace') as f:
        tail = f.read()[-2000:]
    raise RuntimeError(f'{what} did not start in {seconds}s:\n{tail}')


class Stack:
    def __init__(self, root: str) -> None:
        self.root = root
        self.socket = os.path.join(root, 'd.sock')
        self.host = f'unix://{self.socket}'
        self.port = free_port()
        self.registry = f'127.0.0.1:{self.port}'
        self.processes: list[subprocess.Popen[bytes]] = []
        client = next((c for c in CLIENTS if shutil.which(c)), None)
        assert client is not None
        self.client = shutil.which(client) or client
        self.env = {**os.environ, 'DOCKER_HOST': self.host}
        self.env.pop('DOCKER_CONTEXT', None)
        self.env['DOCKER_CONFIG'] = os.path.join(root, 'config')

    def start(self) -> None:
        config = os.path.join(self.root, 'registry.yml')
        with open(config, 'w') as f:
            f.write(
                'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n'
                f'    rootdirectory: {self.root}/registry\n'
                f'  delete:\n    enabled: true\nhttp:\n  addr: {self.registry}\n',
            )
        self._spawn('registry', ['docker-registry', 'serve', config])
        self._spawn('dockerd', [
            'dockerd', '--data-root', f'{self.root}/data',
            '--exec-root', f'{self.root}/exec', '--pidfile', f'{self.root}/pid',
            '-H', self.host, '--bridge=none', '--iptables=false',
            '--ip6tables=false', '--storage-driver=vfs',
        ])
        _wait(self._registry_up, 'the registry', 30, f'{self.root}/registry.log')
        _wait(self._daemon_up, 'dockerd', 60, f'{self.root}/dockerd.log')

    def start_registry(self, name: str, auth: str) -> str:
        """Another real registry over the same storage (so it serves every
        image pushed to the open one), with ``auth`` (YAML under ``auth:``);
        its address."""
        address = f'127.0.0.1:{free_port()}'
        config = os.path.join(self.root, f'{name}.yml')
        with open(config, 'w') as f:
            f.write(
                'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n'
                f'    rootdirectory: {self.root}/registry\n'
                f'http:\n  addr: {address}\nauth:\n{auth}',
            )
        self._spawn(name, ['docker-registry', 'serve', config])

        def up() -> bool:
            try:
                urllib.request.urlopen(f'http://{address}/v2/', timeout=1)
            except urllib.error.HTTPError as e:
                return e.code == 401  # it answers, and asks for a login
            except OSError:
                return False
            return True
        _wait(up, name, 30, os.path.join(self.root, f'{name}.log'))
        return address

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(os.path.join(self.root, f'{name}.log'), 'wb')
        self.processes.append(subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        ))

    def _registry_up(self) -> bool:
        try:
            with urllib.request.urlopen(f'http://{self.registry}/v2/', timeout=1):
                return True
        except OSError:
            return False

    def _daemon_up(self) -> bool:
        return os.path.exists(self.socket) and subprocess.run(
            [self.client, 'version'], env=self.env, capture_output=True,
        ).returncode == 0

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def docker(self, *args: str, input: bytes | None = None) -> str:
        result = subprocess.run(
            [self.client, *args], env=self.env, capture_output=True,
            input=input,
        )
        if result.returncode != 0:
            raise AssertionError(
                f'docker {" ".join(args)} failed: '
                f'{result.stderr.decode(errors="replace")}',
            )
        return result.stdout.decode().strip()

    def build(self, tag: str, content: str, platform: str = '') -> None:
        """A tiny FROM scratch image whose one file holds ``content``."""
        context = tempfile.mkdtemp(dir=self.root)
        with open(os.path.join(context, 'f'), 'w') as f:
            f.write(content)
        with open(os.path.join(context, 'Dockerfile'), 'w') as f:
            f.write('FROM scratch\nCOPY f /f\n')
        flags = ['--platform', platform] if platform else []
        self.docker('build', '-q', *flags, '-t', tag, context)

    def push(self, tag: str, content: str) -> str:
        """Build and push ``tag``; the digest ``docker inspect`` then records."""
        self.build(tag, content)
        self.docker('push', '-q', tag)
        return self.repo_digest(tag)

    def repo_digest(self, tag: str) -> str:
        entry = self.docker(
            'inspect', '--format', '{{index .RepoDigests 0}}', tag,
        )
        return entry.partition('@')[2]

    def repo_digests(self, tag: str) -> list[str]:
        return json.loads(
            self.docker('inspect', '--format', '{{json .RepoDigests}}', tag),
        )

    def has_image(self, tag: str) -> bool:
        return subprocess.run(
            [self.client, 'image', 'inspect', tag], env=self.env,
            capture_output=True,
        ).returncode == 0

    def remove(self, tag: str) -> None:
        self.docker('rmi', '-f', tag)


def start_stack(
        unavailable: Callable[[str], None] = unavailable,
) -> Iterator[Stack]:
    for tool in ('dockerd', 'docker-registry'):
        if shutil.which(tool) is None:
            unavailable(
                f'{tool} is not installed (apt-get install docker.io '
                f'docker-registry)',
            )
    if not any(shutil.which(c) for c in CLIENTS):
        unavailable('no docker client is installed')
    if os.geteuid() != 0:
        unavailable('dockerd needs root')
    stack = Stack(tempfile.mkdtemp(prefix='dp', dir='/tmp'))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def push_index(stack: Stack, repository: str, tag: str, children: list[str]) -> str:
    """Push a Docker manifest list of ``children`` (tags in ``repository``)
    through the registry's HTTP API; returns its digest."""
    import hashlib
    manifest_type = 'application/vnd.docker.distribution.manifest.v2+json'
    list_type = 'application/vnd.docker.distribution.manifest.list.v2+json'
    base = f'http://{stack.registry}/v2/{repository}/manifests'
    entries = []
    for child in children:
        request = urllib.request.Request(
            f'{base}/{child}', headers={'Accept': manifest_type},
        )
        with urllib.request.urlopen(request) as answer:
            body = answer.read()
        config_digest = json.loads(body)['config']['digest']
        config_url = f'http://{stack.registry}/v2/{repository}/blobs/{config_digest}'
        with urllib.request.urlopen(config_url) as answer:
            config = json.loads(answer.read())
        platform = {'architecture': config['architecture'], 'os': config['os']}
        if config.get('variant'):
            platform['variant'] = config['variant']
        entries.append({
            'mediaType': manifest_type,
            'digest': 'sha256:' + hashlib.sha256(body).hexdigest(),
            'size': len(body),
            'platform': platform,
        })
    index = json.dumps({
        'schemaVersion': 2, 'mediaType': list_type, 'manifests': entries,
    }).encode()
    request = urllib.request.Request(
        f'{base}/{tag}', data=index, method='PUT',
        headers={'Content-Type': list_type},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 201
    return 'sha256:' + hashlib.sha256(index).hexdigest()


def manifest_digest(stack: Stack, repository: str, tag: str) -> str:
    """The digest the registry serves for a tag (what a pull would pin)."""
    request = urllib.request.Request(
        f'http://{stack.registry}/v2/{repository}/manifests/{tag}', method='HEAD',
        headers={'Accept': ', '.join((
            'application/vnd.docker.distribution.manifest.list.v2+json',
            'application/vnd.docker.distribution.manifest.v2+json',
            'application/vnd.oci.image.index.v1+json',
            'application/vnd.oci.image.manifest.v1+json',
        ))},
    )
    with urllib.request.urlopen(request) as answer:
        return str(answer.headers['Docker-Content-Digest'])


class Podman:
    """``podman system service`` on a private socket (root, vfs storage),
    trusting the stack's plain-HTTP registry."""

    def __init__(self, stack: Stack, socket_path: str) -> None:
        self.root = tempfile.mkdtemp(prefix='pm', dir='/tmp')
        self.socket = socket_path
        self.host = f'unix://{socket_path}'
        registries = os.path.join(self.root, 'registries.conf')
        with open(registries, 'w') as f:
            f.write(
                'unqualified-search-registries = []\n[[registry]]\n'
                f'location = "{stack.registry}"\ninsecure = true\n',
            )
        os.makedirs(os.path.dirname(socket_path), exist_ok=True)
        log = open(os.path.join(self.root, 'podman.log'), 'wb')
        self.process = subprocess.Popen(
            [
                'podman', '--root', f'{self.root}/root', '--runroot', f'{self.root}/run',
                '--storage-driver=vfs', '--events-backend=file',
                '--cgroup-manager=cgroupfs', 'system', 'service', '--time=0', self.host,
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, 'CONTAINERS_REGISTRIES_CONF': registries},
        )
        _wait(self._up, 'podman system service', 30, os.path.join(self.root, 'podman.log'))

    def _up(self) -> bool:
        if not os.path.exists(self.socket):
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.socket)
                s.sendall(b'GET /_ping HTTP/1.0\r\n\r\n')
                return b'OK' in s.recv(4096)
            except OSError:
                return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_podman(
        stack: Stack, socket_path: str, unavailable: Callable[[str], None] = unavailable,
) -> Iterator[Podman]:
    if shutil.which('podman') is None:
        unavailable('podman is not installed (apt-get install podman)')
    podman = Podman(stack, socket_path)
    try:
        yield podman
    finally:
        podman.stop()
