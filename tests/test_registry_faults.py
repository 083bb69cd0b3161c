"""--source registry against registries that misbehave, from a scripted fake
(a real registry does not send a wrong digest header or a 5 MB manifest on
demand): each fault is one line at the reference, the file untouched, and
credentials never reach another host."""
from __future__ import annotations

import hashlib
import shutil
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from typing import Mapping

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.resolve.registry import _addresses
from digestpin_hooks.resolve.registry import api_host
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import CONNECTIONS_PER_REGISTRY
from digestpin_hooks.resolve.registry import is_loopback
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.update import main as update_main
from digestpin_hooks.verify import main as verify_main
from tests.registries import AcceptingServer
from tests.registries import auths_entry
from tests.registries import BASIC
from tests.registries import DIGEST
from tests.registries import INDEX_TYPE
from tests.registries import isolated_credentials
from tests.registries import MANIFEST
from tests.registries import PASSWORD
from tests.registries import Request
from tests.registries import ScriptedRegistry
from tests.registries import tls_certificate
from tests.registries import USER
from tests.timing import PAST_DEADLINE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



@pytest.fixture(autouse=True)
def no_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_credentials(monkeypatch, tmp_path / 'home')
    monkeypatch.setenv('DOCKER_HOST', 'unix:///nonexistent/docker.sock')


def serve_manifest(request: Request, body: bytes = MANIFEST, digest: str = DIGEST) -> tuple[int, dict[str, str], bytes]:
    if request.path == '/v2/':
        return 200, {}, b'{}'
    if '/manifests/sha256:' in request.path and not request.path.endswith(DIGEST):
        return 404, {}, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}'
    if '/manifests/' in request.path:
        return 200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': digest}, body
    return 404, {}, b''


def pinned_file(tmp_path: Path, address: str, repository: str = 'team/app') -> tuple[Path, str]:
    text = f'FROM {address}/{repository}:1@{DIGEST}\n'
    path = tmp_path / 'Dockerfile'
    path.write_text(text)
    return path, text


def one_error(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f'{path}: error: line 1: cannot ')
    return line


def test_a_sound_registry_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = ScriptedRegistry(serve_manifest)
    try:
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 0, capsys.readouterr()
    finally:
        registry.close()


def test_a_digest_header_that_does_not_match_the_bytes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registry = ScriptedRegistry(lambda r: serve_manifest(r, digest='sha256:' + '9' * 64))
    try:
        path, text = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        assert 'do not match the Docker-Content-Digest header' in one_error(capsys, path)
        assert path.read_text() == text
    finally:
        registry.close()


def test_bytes_that_do_not_hash_to_the_pinned_digest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    other = MANIFEST.replace(b'amd64', b'arm64')
    registry = ScriptedRegistry(lambda r: serve_manifest(
        r, body=other, digest='sha256:' + hashlib.sha256(other).hexdigest(),
    ))
    try:
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        assert 'do not match the digest asked for' in one_error(capsys, path)
    finally:
        registry.close()


def test_an_answer_too_large(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = b' ' * (5 * 1024 * 1024)
    registry = ScriptedRegistry(lambda r: serve_manifest(r, body=huge))
    try:
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        assert 'over 4096 KiB; not read' in one_error(capsys, path)
    finally:
        registry.close()


def test_a_drip_fed_manifest_meets_the_deadline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registry = ScriptedRegistry(serve_manifest, drip=True)
    try:
        path, _ = pinned_file(tmp_path, registry.address)
        start = time.monotonic()
        assert verify_main(['--timeout', '1', str(path)]) == 2
        assert time.monotonic() - start < 4
        assert '1 s (--timeout)' in one_error(capsys, path)
    finally:
        registry.close()


def test_a_hang_past_the_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = ScriptedRegistry(lambda r: (0, {}, b''))
    try:
        path, text = pinned_file(tmp_path, registry.address)
        start = time.monotonic()
        assert update_main(['--source', 'registry', '--timeout', '1', str(path)]) == 2
        assert time.monotonic() - start < 4
        assert '(--timeout)' in one_error(capsys, path)
        assert path.read_text() == text
    finally:
        registry.close()



class SlowHandshakes(AcceptingServer):
    """A loopback registry that speaks TLS slowly: the first handshake (the
    hooks' TLS probe) is answered after ``hold`` seconds, with a certificate
    the probe does not trust (so it finds TLS spoken); every later one is
    never answered.  ``closed`` holds the time.monotonic() at which the
    client closed each connection."""

    def __init__(self, cert: tuple[Path, Path], hold: float) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.hold = hold
        self.accepted = 0
        self.closed: list[float] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        with self.lock:
            self.accepted += 1
            first = self.accepted == 1
        with connection:
            if first:
                time.sleep(self.hold)
                try:
                    self.context.wrap_socket(connection, server_side=True).close()
                except (OSError, ssl.SSLError):  # the probe trusts no certificate
                    pass
                return
            try:
                while connection.recv(65536):  # the ClientHello, never answered
                    pass
            except OSError:
                pass
            with self.lock:
                self.closed.append(time.monotonic())


def test_no_connection_outlives_the_deadline_after_a_slow_tls_probe(tmp_path: Path) -> None:
    """The TLS probe took most of the run; the request's own connection then
    had the whole timeout again (what was left when the request began), so
    its thread held a connection open past the deadline, for up to the
    probe's length.  Every connect and handshake now ends at the deadline:
    the connection is closed by then and the answer is the thread's own
    timeout, not the run's fallback."""
    timeout = 2.0
    server = SlowHandshakes(tls_certificate(tmp_path / 'tls'), hold=0.6 * timeout)
    try:
        query = Query(server.address, 'team/app', '1')
        start = time.monotonic()
        answer = ask_all([query], timeout)[query]
        deadline = time.monotonic() + 2 * timeout
        while not server.closed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.accepted == 2  # the probe, and the request's own connection
        assert (server.closed[0] - start) / timeout <= 1.15
        assert answer == Failed(f'{server.address} did not answer within 2 s (--timeout)')
    finally:
        server.close()


def test_a_slow_tls_registry_ends_the_command_within_its_timeout(tmp_path: Path) -> None:
    """The command itself returns within --timeout and a small grace (its
    main thread never waited for a connecting thread past the deadline),
    with the one timeout message."""
    timeout = 2.0
    server = SlowHandshakes(tls_certificate(tmp_path / 'tls'), hold=0.6 * timeout)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {server.address}/team/app:1\n')
        start = time.monotonic()
        result = subprocess.run(
            (sys.executable, '-m', 'digestpin_hooks', 'fix', '--source', 'registry',
             '--timeout', f'{timeout:g}', str(path)),
            env={**os.environ, 'PYTHONPATH': ROOT}, capture_output=True, text=True, timeout=30,
        )
        took = time.monotonic() - start
        assert result.returncode == 1, result.stderr
        assert (result.stdout.splitlines(), result.stderr.splitlines()) == ([
            f"{path}:1:6: DP001 '{server.address}/team/app:1' left unpinned: the registry "
            f'could not be asked: {server.address} did not answer within 2 s (--timeout) '
            f'(the other references were asked all the same)',
        ], ['summary: 1 finding (DP001 1) in 1 file'])
        assert took / timeout <= 1.5
    finally:
        server.close()


@pytest.mark.parametrize('status', (500, 503, 403))
def test_a_failing_status(tmp_path: Path, capsys: pytest.CaptureFixture[str], status: int) -> None:
    registry = ScriptedRegistry(lambda r: (status, {}, b'{"errors": []}'))
    try:
        path, text = pinned_file(tmp_path, registry.address)
        assert update_main(['--source', 'registry', str(path)]) == 2
        line = one_error(capsys, path)
        assert f'answered {status} ' in line or f'({status})' in line, line
        assert path.read_text() == text
    finally:
        registry.close()


def test_retry_after_is_honoured_within_the_timeout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    answered: list[float] = []

    def slow_down_once(request: Request) -> tuple[int, dict[str, str], bytes]:
        answered.append(time.monotonic())
        if len(answered) == 1:
            return 429, {'Retry-After': '1'}, b''
        return serve_manifest(request)
    registry = ScriptedRegistry(slow_down_once)
    try:
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main(['--timeout', '5', str(path)]) == 0, capsys.readouterr()
        # the digest and the tag asked at once, then the one refused again,
        # a Retry-After later
        assert len(answered) == 3
        assert answered[2] - answered[0] >= 1
    finally:
        registry.close()


def test_retry_after_past_the_timeout_is_not_waited_for(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registry = ScriptedRegistry(lambda r: (429, {'Retry-After': '120'}, b''))
    try:
        path, _ = pinned_file(tmp_path, registry.address)
        start = time.monotonic()
        assert verify_main(['--timeout', '3', str(path)]) == 2
        assert time.monotonic() - start < 2
        assert '429 Too Many Requests' in one_error(capsys, path)
    finally:
        registry.close()


def test_a_registry_that_refuses_connections(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        address = f'127.0.0.1:{s.getsockname()[1]}'  # closed once the block ends
    path, text = pinned_file(tmp_path, address)
    assert update_main(['--source', 'registry', str(path)]) == 2
    assert f'cannot connect to {address}' in one_error(capsys, path)
    # no registry reachable at all is being offline, which --offline-ok forgives
    assert verify_main([str(path)]) == 2
    capsys.readouterr()
    assert verify_main(['--offline-ok', str(path)]) == 0
    assert 'pins not verified, offline' in capsys.readouterr().err
    assert path.read_text() == text


def test_credentials_never_follow_a_redirect_to_another_host(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """The registry wants basic auth and sends the manifest from another
    host (as registries send blobs to storage): the manifest is fetched,
    checked, and the other host never sees the Authorization header."""
    storage = ScriptedRegistry(serve_manifest)

    def redirecting(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.headers.get('authorization') != BASIC:
            return 401, {'WWW-Authenticate': 'Basic realm="test"'}, b''
        return 307, {'Location': f'http://{storage.address}{request.path}'}, b''
    registry = ScriptedRegistry(redirecting)
    try:
        config = tmp_path / 'home' / '.docker' / 'config.json'
        config.parent.mkdir(parents=True)
        config.write_text(json.dumps({'auths': {registry.address: auths_entry()}}))
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 0, capsys.readouterr()
        assert storage.requests
        assert all('authorization' not in r.headers for r in storage.requests)
        assert any(r.headers.get('authorization') == BASIC for r in registry.requests)
        assert PASSWORD not in ''.join(capsys.readouterr())
    finally:
        registry.close()
        storage.close()


def test_a_token_realm_on_plain_http_elsewhere_gets_no_credentials(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Only HTTPS (or loopback) token realms receive the user's login."""
    registry = ScriptedRegistry(lambda r: (
        401, {'WWW-Authenticate': 'Bearer realm="http://192.0.2.1/token",service="x"'}, b'',
    ))
    try:
        config = tmp_path / 'home' / '.docker' / 'config.json'
        config.parent.mkdir(parents=True)
        config.write_text(json.dumps({'auths': {registry.address: auths_entry()}}))
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        assert 'plain HTTP token realm; not used' in one_error(capsys, path)
    finally:
        registry.close()


def test_each_reference_is_asked_once_over_a_bounded_pool(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registry = ScriptedRegistry(serve_manifest)
    try:
        lines = ''.join(
            f'FROM {registry.address}/team/app{n}:1@{DIGEST}\n' for n in range(3)
        )
        for name in ('a', 'b'):
            (tmp_path / name).mkdir()
            (tmp_path / name / 'Dockerfile').write_text(lines * 2)
        assert verify_main([str(tmp_path / 'a' / 'Dockerfile'), str(tmp_path / 'b' / 'Dockerfile')]) == 0
        asked = [(r.method, r.path) for r in registry.requests]
        assert len(asked) == len(set(asked)) == 6  # the digest and the tag of each
        # at most the pool's kept-alive connections carried them (HTTPS
        # attempts before, as Docker makes for a loopback registry, carried none)
        assert len({r.connection for r in registry.requests}) <= CONNECTIONS_PER_REGISTRY
    finally:
        registry.close()


def non_loopback_address() -> str:
    """An address of this machine that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(('192.0.2.1', 9))  # no packet is sent: only a route is chosen
        return str(s.getsockname()[0])


def test_plain_http_only_for_loopback_and_listed_registries(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = ScriptedRegistry(serve_manifest, host='0.0.0.0')
    try:
        address = f'{non_loopback_address()}:{registry.address.rsplit(":", 1)[1]}'
        assert not is_loopback(address)
        path, _ = pinned_file(tmp_path, address)
        assert verify_main([str(path)]) == 2
        assert f'TLS with {address} failed' in one_error(capsys, path)
        assert verify_main(['--insecure-registry', address, str(path)]) == 0
        capsys.readouterr()
        # never from the repository's file, which comes with the code it
        # checks: the registry is not asked at all
        (tmp_path / 'pyproject.toml').write_text(
            f'[tool.digestpin]\ninsecure-registries = ["{address}"]\n',
        )
        monkeypatch.chdir(tmp_path)
        connections = registry.connections
        assert verify_main(['Dockerfile']) == 2
        assert 'insecure-registries cannot be set in a file' in capsys.readouterr().err
        assert registry.connections == connections
    finally:
        registry.close()


@pytest.mark.parametrize(('host', 'loopback'), (
    ('localhost:5000', True), ('127.0.0.1', True), ('127.9.9.9:80', True),
    ('[::1]:5000', True), ('::1', True), ('ghcr.io', False), ('10.0.0.1:5000', False),
    ('localhost.example.com', False),
))
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_docker_hub_names() -> None:
    from digestpin_hooks.reference import parse_reference
    from digestpin_hooks.resolve.answers import tag_key
    from digestpin_hooks.resolve.registry_source import _query
    query = _query(tag_key(parse_reference('node:20')))
    assert (query.domain, query.repository) == ('docker.io', 'library/node')
    assert api_host(query.domain) == 'registry-1.docker.io'
    query = _query(tag_key(parse_reference('ghcr.io/o/r:1')))
    assert (query.domain, query.repository) == ('ghcr.io', 'o/r')
    assert api_host('ghcr.io') == 'ghcr.io'


def test_fix_pins_from_the_head_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = ScriptedRegistry(serve_manifest)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {registry.address}/team/app:1\n')
        assert fix_main(['--source', 'registry', str(path)]) == 1
        assert path.read_text() == f'FROM {registry.address}/team/app:1@{DIGEST}\n'
        assert [r.method for r in registry.requests if '/manifests/' in r.path] == ['HEAD']
    finally:
        registry.close()


def test_one_failing_registry_is_reported_at_its_own_pins(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    good = ScriptedRegistry(serve_manifest)
    bad = ScriptedRegistry(lambda r: (500, {}, b''))
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(
            f'FROM {bad.address}/team/app:1@{DIGEST}\n'
            f'FROM {good.address}/team/app:1@{"sha256:" + "e" * 64}\n',
        )
        assert verify_main(['--format', 'json', str(path)]) == 2
        document = json.loads(capsys.readouterr().out)
        assert [(e['line'], 'answered 500' in e['message']) for e in document['errors']] == [(1, True)]
        # the good registry was still asked: its pin's digest is unknown there
        assert [(f['line'], f['code']) for f in document['findings']] == [(2, 'DP007')]
    finally:
        good.close()
        bad.close()


@pytest.mark.parametrize(('config', 'complaint'), (
    ('{"auths": []}', 'auths is not an object'),
    ('{"auths": {"HOST": {"auth": "not base64!"}}}', 'not base64 of user:password'),
    ('{"credHelpers": {"HOST": "../../bin/sh"}}', 'credential helper name is malformed'),
    ('{"credsStore": "nosuchhelper"}', 'docker-credential-nosuchhelper is not on PATH'),
    ('[1, 2]', 'is not a JSON object'),
    ('{', 'is not valid JSON'),
))
def test_a_broken_credential_file_is_one_line_without_secrets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, complaint: str,
) -> None:
    registry = ScriptedRegistry(lambda r: (401, {'WWW-Authenticate': 'Basic realm="x"'}, b''))
    try:
        docker_config = tmp_path / 'home' / '.docker' / 'config.json'
        docker_config.parent.mkdir(parents=True)
        docker_config.write_text(config.replace('HOST', registry.address))
        path, text = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        line = one_error(capsys, path)
        assert complaint in line, line
        assert path.read_text() == text
    finally:
        registry.close()


def test_a_credential_never_shows_its_secret() -> None:
    from digestpin_hooks.resolve.credentials import Credential
    credential = Credential(USER, PASSWORD, 'config.json')
    assert PASSWORD not in repr(credential) and PASSWORD not in str(credential)


@pytest.mark.parametrize(('script', 'complaint'), (
    ('import time\ntime.sleep(30)\n', 'did not answer before the deadline (--timeout)'),
    ('import sys\nsys.stdout.write("x" * 10_000_000)\n', 'answered too much'),
    ('print("not json")\n', 'did not answer JSON'),
    ('print(\'{"Username": "<token>", "Secret": "refresh"}\')\n', 'identity token'),
))
def test_a_misbehaving_credential_helper_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], script: str, complaint: str,
) -> None:
    import os
    import stat
    registry = ScriptedRegistry(lambda r: (401, {'WWW-Authenticate': 'Basic realm="x"'}, b''))
    try:
        bin_dir = tmp_path / 'bin'
        bin_dir.mkdir()
        helper = bin_dir / 'docker-credential-bad'
        helper.write_text('#!/usr/bin/env python3\nimport sys\nsys.stdin.read()\n' + script)
        helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
        config = tmp_path / 'home' / '.docker' / 'config.json'
        config.parent.mkdir(parents=True)
        config.write_text(json.dumps({'credsStore': 'bad'}))
        path, text = pinned_file(tmp_path, registry.address)
        start = time.monotonic()
        assert verify_main(['--timeout', '2', str(path)]) == 2
        assert time.monotonic() - start < 6
        assert complaint in one_error(capsys, path)
        assert path.read_text() == text
    finally:
        registry.close()


def test_proxies_from_the_environment_apply_and_netrc_is_never_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """HTTPS_PROXY/NO_PROXY are honoured as for any HTTP client; a ~/.netrc
    with a login for the registry is not sent (credentials come from the
    registry files only)."""
    registry = ScriptedRegistry(serve_manifest)
    try:
        (tmp_path / 'home' / '.netrc').write_text(
            'machine 127.0.0.1 login netrcuser password netrcsecret\n',
        )
        monkeypatch.setenv('NO_PROXY', '127.0.0.1')
        monkeypatch.setenv('HTTP_PROXY', 'http://192.0.2.1:9')
        path, _ = pinned_file(tmp_path, registry.address)
        assert verify_main([str(path)]) == 0, capsys.readouterr()
        assert all('authorization' not in r.headers for r in registry.requests)
    finally:
        registry.close()


def test_a_host_whose_first_address_has_no_socket_family_here(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """localhost named ::1 first (as /etc/hosts does) on a machine whose
    kernel runs without IPv6 (ipv6.disable=1: no AF_INET6 socket can be
    made, EAFNOSUPPORT): the next address, 127.0.0.1, is tried, as
    socket.create_connection does.  The deadline's own connect made the
    socket outside its try, so the host was 'cannot connect', unreachable
    (what verify --offline-ok forgives), with the registry up.  The kernel
    without IPv6 is what a test cannot have on demand: its one effect,
    socket() refusing the family, is what stands in for it."""
    import errno
    registry = ScriptedRegistry(serve_manifest)
    real_getaddrinfo, real_socket = socket.getaddrinfo, socket.socket
    asked: list[object] = []

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list[object]:
        found = list(real_getaddrinfo(host, port, *args, **kwargs))  # type: ignore[arg-type]
        if host in ('localhost', b'localhost'):  # (the registry's hosts go as ASCII bytes)
            asked.append(host)
            found.insert(0, (socket.AF_INET6, socket.SOCK_STREAM, 6, '', ('::1', port, 0, 0)))
        return found

    def no_ipv6(family: int = -1, *args: object, **kwargs: object) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, 'Address family not supported by protocol')
        return real_socket(family, *args, **kwargs)  # type: ignore[arg-type]

    try:
        port = registry.address.rsplit(':', 1)[1]
        path, _ = pinned_file(tmp_path, f'localhost:{port}')
        monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
        monkeypatch.setattr(socket, 'socket', no_ipv6)
        assert verify_main(['--timeout', '10', str(path)]) == 0, capsys.readouterr()
        assert len(registry.requests) >= 1
        assert asked  # ::1 was named first
    finally:
        monkeypatch.undo()
        registry.close()


# run in a network and mount namespace of its own: loopback up, a
# resolv.conf naming a nameserver at 127.0.0.1:53, where a UDP socket of
# the test's own takes every query and answers none (what a real resolver
# does not do on demand: hang); a realm registry on loopback when asked for
UNANSWERED_DNS = '''
import json, os, socket, subprocess, sys, threading, time
sys.path.insert(0, os.environ['ROOT'])
from tests.registries import ScriptedRegistry
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(('127.0.0.1', 53))
queries = []
def listen():
    while True:
        queries.append(dns.recvfrom(4096)[0])
threading.Thread(target=listen, daemon=True).start()
address = 'hang.test:5000'
if os.environ['REALM']:
    registry = ScriptedRegistry(lambda request: (401, {
        'WWW-Authenticate': 'Bearer realm="https://hang.test/token",service="x"',
    }, b''))
    address = registry.address
path = os.path.join(os.environ['WORK'], 'Dockerfile')
with open(path, 'w') as f:
    f.write(os.environ['FROM'].replace('ADDRESS', address) + '\\n')
start = time.monotonic()
result = subprocess.run(
    (sys.executable, '-m', 'digestpin_hooks', *sys.argv[1:], path),
    capture_output=True, text=True, timeout=60,
)
print(json.dumps({
    'took': time.monotonic() - start, 'queries': len(queries), 'address': address,
    'code': result.returncode, 'stdout': result.stdout, 'stderr': result.stderr,
}))
'''


def run_resolving_nothing(
        tmp_path: Path, line: str, *args: str, realm: bool = False,
        environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``python -m digestpin_hooks ARGS Dockerfile`` where no name is ever
    resolved, the Dockerfile's one line ``line`` (``ADDRESS``: the
    registry, hang.test:5000 or the realm registry on loopback), with
    ``environment`` added to its own; what it printed and its exit code,
    how long it took, the DNS queries seen."""
    if os.geteuid() != 0 or not shutil.which('unshare'):
        pytest.skip('needs root and unshare for a network namespace of its own')
    resolv = tmp_path / 'resolv.conf'
    resolv.write_text('nameserver 127.0.0.1\n')
    result = subprocess.run(
        ('unshare', '--mount', '--net', '--propagation', 'private', 'sh', '-c',
         f'ip link set lo up && mount --bind {resolv} /etc/resolv.conf && '
         f'exec {sys.executable} -c "$0" "$@"', UNANSWERED_DNS, *args),
        env={
            **os.environ, 'ROOT': ROOT, 'PYTHONPATH': ROOT, 'WORK': str(tmp_path),
            'FROM': line, 'REALM': 'yes' if realm else '', **(environment or {}),
        },
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout)
    assert outcome['queries'], outcome  # the names went to the resolver, for real
    return outcome


def test_a_registry_whose_name_is_never_resolved_is_unreachable_by_the_timeout(tmp_path: Path) -> None:
    """The system resolver (glibc: 5 s a try, retried, for each address
    family) kept the run past --timeout when no nameserver answered, the
    run's own wait for its threads ending at the deadline, with the
    fallback reason (not unreachable, so verify --offline-ok did not
    forgive it).  The name's resolution ends at the deadline, and the host
    is unreachable, as one whose connect was not answered by then."""
    outcome = run_resolving_nothing(tmp_path, 'FROM ADDRESS/a:1', 'fix', '--source', 'registry', '--timeout', '2')
    assert (outcome['code'], outcome['stdout'], outcome['stderr']) == (1, (
        f"{tmp_path / 'Dockerfile'}:1:6: DP001 'hang.test:5000/a:1' left unpinned: the registry "
        f'could not be asked: cannot connect to hang.test:5000 (the other references were asked '
        f'all the same)\n'
    ), 'summary: 1 finding (DP001 1) in 1 file\n')
    assert outcome['took'] <= 2 + PAST_DEADLINE
    for offline_ok, code, said in ((True, 0, 'warning: pins not verified, offline'), (False, 2, 'error')):
        outcome = run_resolving_nothing(
            tmp_path, f'FROM ADDRESS/a@{DIGEST}', 'verify', '--timeout', '2',
            *(('--offline-ok',) if offline_ok else ()),
        )
        assert (outcome['code'], outcome['stdout'], outcome['stderr']) == (code, '', (
            f'digestpin-verify: {said}: cannot connect to hang.test:5000: no registry could be reached\n'
        ))
        assert outcome['took'] <= 2 + PAST_DEADLINE


def test_a_token_realm_whose_name_is_never_resolved_ends_at_the_timeout(tmp_path: Path) -> None:
    """The registry answered, a 401 naming a token realm whose host no
    nameserver resolves: the realm did not answer within --timeout, a
    failure at the reference (the reason the connection's own, not the
    run's fallback), never being offline."""
    outcome = run_resolving_nothing(
        tmp_path, 'FROM ADDRESS/a:1', 'fix', '--source', 'registry', '--timeout', '2', realm=True,
    )
    address = outcome['address']
    assert (outcome['code'], outcome['stdout'], outcome['stderr']) == (1, (
        f"{tmp_path / 'Dockerfile'}:1:6: DP001 '{address}/a:1' left unpinned: the registry could "
        f'not be asked: hang.test did not answer within 2 s (--timeout) (the other references '
        f'were asked all the same)\n'
    ), 'summary: 1 finding (DP001 1) in 1 file\n')
    assert outcome['took'] <= 2 + PAST_DEADLINE
    outcome = run_resolving_nothing(
        tmp_path, f'FROM ADDRESS/a@{DIGEST}', 'verify', '--offline-ok', '--timeout', '2', realm=True,
    )
    address = outcome['address']
    assert (outcome['code'], outcome['stdout'], outcome['stderr']) == (2, '', (
        f"{tmp_path / 'Dockerfile'}: error: line 1: cannot verify '{address}/a@{DIGEST}': "
        f'hang.test did not answer within 2 s (--timeout)\n'
    ))
    assert outcome['took'] <= 2 + PAST_DEADLINE


# run in a network and mount namespace of its own: 10.9.9.9 on its
# loopback device (an address that is not loopback, reached without a
# network), /etc/hosts naming localhost HOSTS; a registry on 10.9.9.9 that
# asks for a login, the user's login for localhost:PORT in DOCKER_CONFIG
LOCALHOST_ELSEWHERE = '''
import json, os, subprocess, sys
sys.path.insert(0, os.environ['ROOT'])
from tests.registries import auths_entry, ScriptedRegistry
registry = ScriptedRegistry(
    lambda request: (401, {'WWW-Authenticate': 'Basic realm="x"'}, b''), host='10.9.9.9',
)
port = registry.address.rsplit(':', 1)[1]
work = os.environ['WORK']
with open(os.path.join(work, 'config.json'), 'w') as f:
    json.dump({'auths': {f'localhost:{port}': auths_entry()}}, f)
path = os.path.join(work, 'Dockerfile')
with open(path, 'w') as f:
    f.write(f'FROM localhost:{port}/a:1\\n')
result = subprocess.run(
    (sys.executable, '-m', 'digestpin_hooks', 'fix', '--source', 'registry', '--timeout', '5', path),
    capture_output=True, text=True, timeout=60, env={**os.environ, 'DOCKER_CONFIG': work},
)
print(json.dumps({
    'port': port, 'code': result.returncode, 'stdout': result.stdout, 'stderr': result.stderr,
    'requests': [(r.method, r.path, 'authorization' in r.headers) for r in registry.requests],
}))
'''


@pytest.mark.parametrize('hosts', ('10.9.9.9 localhost\n', '10.9.9.9 localhost\n127.0.0.1 localhost\n'))
def test_localhost_is_reached_only_at_a_loopback_address(tmp_path: Path, hosts: str) -> None:
    """localhost is loopback by its name (plain HTTP, no proxy), but the
    system resolves it: /etc/hosts (or, without it there, a DNS answer)
    naming 10.9.9.9 had the login for localhost:PORT sent there in clear
    text (on main: a HEAD, then the HEAD with Authorization).  Only its
    loopback addresses are connected to, as Docker takes a registry as
    insecure only when its addresses are loopback; none: cannot connect."""
    if os.geteuid() != 0 or not shutil.which('unshare'):
        pytest.skip('needs root and unshare for a network namespace of its own')
    (tmp_path / 'hosts').write_text(hosts)
    result = subprocess.run(
        ('unshare', '--mount', '--net', '--propagation', 'private', 'sh', '-c',
         f'ip link set lo up && ip addr add 10.9.9.9/32 dev lo && '
         f'mount --bind {tmp_path / "hosts"} /etc/hosts && exec {sys.executable} -c "$0"',
         LOCALHOST_ELSEWHERE),
        env={**os.environ, 'ROOT': ROOT, 'PYTHONPATH': ROOT, 'WORK': str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    port = outcome['port']
    assert (outcome['requests'], outcome['code'], outcome['stdout'], outcome['stderr']) == ([], 1, (
        f"{tmp_path / 'Dockerfile'}:1:6: DP001 'localhost:{port}/a:1' left unpinned: the registry "
        f'could not be asked: cannot connect to localhost:{port} (the other references were '
        f'asked all the same)\n'
    ), 'summary: 1 finding (DP001 1) in 1 file\n')


@pytest.mark.parametrize(('host', 'family', 'where'), (
    ('127.0.0.1', socket.AF_INET, ('127.0.0.1', 5000)),
    ('::1', socket.AF_INET6, ('::1', 5000, 0, 0)),  # [::1], as http.client and parse_url give it
))
def test_an_address_is_read_at_once_and_a_name_is_resolved_by_the_deadline(
        host: str, family: socket.AddressFamily, where: tuple[object, ...],
) -> None:
    """A literal address is no name to resolve: read as one even past the
    deadline (no resolver thread, no wait: loopback's hot path); a name
    past it is not resolved at all, the connect's own timeout."""
    passed = time.monotonic() - 1
    assert _addresses(host, 5000, passed) == [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', where)]
    # a resolver that never answers: a thread started for it stays (on
    # main one was started past the deadline too, then left behind)
    never = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def hanging(name: object, *args: object) -> object:
        if len(args) < 5:  # a name's resolution, not the read of an address
            never.wait()
        return real_getaddrinfo(name, *args)  # type: ignore[arg-type]

    before = set(threading.enumerate())
    try:
        socket.getaddrinfo = hanging  # type: ignore[assignment]
        with pytest.raises(socket.timeout):
            _addresses('localhost', 5000, passed)
        assert [t.name for t in set(threading.enumerate()) - before] == []
    finally:
        socket.getaddrinfo = real_getaddrinfo
        never.set()
