"""The registry source asks each registry over a bounded pool of kept-alive
connections: observed from a scripted registry of the test's own that
counts the requests in flight at once, the connections that carried them,
the token server's visits and the requests sent while a 429 holds the
registry back.  Counts and ratios only, never absolute times."""
from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.credentials import Logins
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import CONNECTIONS_PER_REGISTRY
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.verify import main as verify_main
from tests.registries import isolated_credentials
from tests.registries import Request
from tests.registries import ScriptedRegistry

INDEX_TYPE = 'application/vnd.oci.image.index.v1+json'


@pytest.fixture(autouse=True)
def no_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_credentials(monkeypatch, tmp_path / 'home')


def anonymous(domain: str) -> Logins:
    return Logins()


def digest_of(path: str) -> str:
    """Each tag its own digest, so that an answer given to the wrong
    reference shows."""
    return 'sha256:' + hashlib.sha256(path.rsplit('/', 1)[1].encode()).hexdigest()


class InFlight:
    """Counts the requests being answered at once.  Each request waits (at
    most ``hold`` seconds) until ``expected`` are in flight, so that the
    maximum observed does not depend on how busy the machine is."""

    def __init__(self, expected: int, hold: float = 2.0) -> None:
        self.expected = expected
        self.hold = hold
        self.now = 0
        self.most = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.now += 1
            self.most = max(self.most, self.now)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.now >= self.expected, self.hold)

    def __exit__(self, *args: object) -> None:
        with self.changed:
            self.now -= 1


def head_answer(request: Request) -> tuple[int, dict[str, str], bytes]:
    return 200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': digest_of(request.path)}, b''


@pytest.mark.parametrize('connections', [CONNECTIONS_PER_REGISTRY, 2])
def test_one_registry_is_asked_over_a_bounded_pool_of_kept_alive_connections(connections: int) -> None:
    flight = InFlight(connections)

    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        with flight:
            return head_answer(request)

    registry = ScriptedRegistry(answer)
    try:
        queries = [Query(registry.address, 'team/app', f't{n}') for n in range(4 * connections)]
        answers = ask_all(queries, 30, credentials=anonymous, connections=connections)
        # in the order asked, each its own answer
        assert list(answers) == queries
        assert [a.digest for a in answers.values() if isinstance(a, Manifest)] == [
            digest_of(f'/{q.reference}') for q in queries
        ]
        assert flight.most == connections  # concurrent, and never past the bound
        carried = [r.connection for r in registry.requests]
        assert len(carried) == len(queries)  # each asked once
        # kept alive: the pool's connections carried every request
        assert len(set(carried)) == connections
    finally:
        registry.close()


def test_the_default_pool_is_between_four_and_eight() -> None:
    assert 4 <= CONNECTIONS_PER_REGISTRY <= 8


def test_one_token_per_scope_however_many_connections_wait_for_it() -> None:
    token_requests: list[str] = []

    def token(request: Request) -> tuple[int, dict[str, str], bytes]:
        token_requests.append(request.path)
        time.sleep(0.05)  # the other connections are ready meanwhile
        return 200, {}, b'{"token": "t"}'

    realm = ScriptedRegistry(token)
    flight = InFlight(CONNECTIONS_PER_REGISTRY)

    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.headers.get('authorization') != 'Bearer t':
            return 401, {'WWW-Authenticate': f'Bearer realm="http://{realm.address}/token",service="s"'}, b''
        with flight:
            return head_answer(request)

    registry = ScriptedRegistry(answer)
    try:
        queries = [
            Query(registry.address, repository, f't{n}')
            for n in range(3 * CONNECTIONS_PER_REGISTRY) for repository in ('team/a', 'team/b')
        ]
        answers = ask_all(queries, 30, credentials=anonymous)
        assert [a for a in answers.values() if not isinstance(a, Manifest)] == []
        assert sorted(token_requests) == [
            '/token?scope=repository%3Ateam%2Fa%3Apull&service=s',
            '/token?scope=repository%3Ateam%2Fb%3Apull&service=s',
        ]
        # only the first requests of each scope went without the token
        refused = [r for r in registry.requests if 'authorization' not in r.headers]
        assert len(refused) <= 2 * CONNECTIONS_PER_REGISTRY
        assert flight.most == CONNECTIONS_PER_REGISTRY
    finally:
        registry.close()
        realm.close()


def test_the_connections_that_wait_for_a_token_that_never_comes_say_so() -> None:
    """One connection asks the token realm, which never answers; the
    others refused for the same scope wait for that token.  The asker's
    reason is the realm's silence, the others' the token that did not
    come, not the deadline's own words at their next step ("no complete
    answer"), which said nothing of what they had waited for."""
    released = threading.Event()

    def token(request: Request) -> tuple[int, dict[str, str], bytes]:
        released.wait(30)
        return 200, {}, b'{"token": "t"}'

    realm = ScriptedRegistry(token)

    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        return 401, {'WWW-Authenticate': f'Bearer realm="http://{realm.address}/token",service="s"'}, b''

    registry = ScriptedRegistry(answer)
    try:
        queries = [Query(registry.address, 'team/a', f't{n}') for n in range(4)]
        answers = ask_all(queries, 1, credentials=anonymous)
        assert sorted(answers.values(), key=repr) == [
            Failed(f'{realm.address} did not answer within 1 s (--timeout)'),
            *[Failed(f'the token of {registry.address} did not come within 1 s (--timeout)')] * 3,
        ]
        assert [r.path for r in realm.requests] == ['/token?scope=repository%3Ateam%2Fa%3Apull&service=s']
    finally:
        released.set()
        registry.close()
        realm.close()


def test_a_429_holds_back_every_connection_to_that_registry_only() -> None:
    retry_after = 1.0
    slowed: list[float] = []  # when the 429 was sent
    arrived: list[float] = []
    lock = threading.Lock()

    def limited(request: Request) -> tuple[int, dict[str, str], bytes]:
        with lock:
            arrived.append(time.monotonic())
            if not slowed and len(arrived) == CONNECTIONS_PER_REGISTRY:
                slowed.append(time.monotonic())
                return 429, {'Retry-After': f'{retry_after:g}'}, b''
        # long enough for the client to read the 429 before the requests
        # on their way meanwhile are answered: at 0.02 s, a busy machine
        # (the whole suite under coverage) let their threads send again
        # before the 429's thread had told the pool to wait
        time.sleep(0.15)
        return head_answer(request)

    other_arrived: list[float] = []

    def other(request: Request) -> tuple[int, dict[str, str], bytes]:
        other_arrived.append(time.monotonic())
        time.sleep(0.02)
        return head_answer(request)

    busy = ScriptedRegistry(limited)
    calm = ScriptedRegistry(other)
    try:
        count = 8 * CONNECTIONS_PER_REGISTRY
        # the other registry two rounds, not eight: held back, its second
        # round would come a second after the 429; not held back, within a
        # tenth of it, where eight rounds under the suite's load once took
        # 1.03 s (CI, 2026-12-07) and failed a pool that held nothing back
        calm_count = 2 * CONNECTIONS_PER_REGISTRY
        queries = [
            *(Query(busy.address, 'team/app', f't{n}') for n in range(count)),
            *(Query(calm.address, 'team/app', f't{n}') for n in range(calm_count)),
        ]
        answers = ask_all(queries, 30, credentials=anonymous)
        assert [a for a in answers.values() if not isinstance(a, Manifest)] == []
        (sent,) = slowed
        during = [t for t in arrived if sent < t < sent + 0.9 * retry_after]
        # only requests already on their way when the 429 came: the pool
        # waits as one (a pool that did not would send most of the rest)
        assert len(during) < CONNECTIONS_PER_REGISTRY
        # the other registry was not held back: it was done meanwhile
        assert len(other_arrived) == calm_count
        assert max(other_arrived) < sent + retry_after
    finally:
        busy.close()
        calm.close()


def test_the_deadline_still_bounds_a_pool_of_hanging_connections() -> None:
    registry = ScriptedRegistry(lambda r: (0, {}, b''))  # every request hangs
    try:
        queries = [Query(registry.address, 'team/app', f't{n}') for n in range(3 * CONNECTIONS_PER_REGISTRY)]
        # long enough for all the connections to be made on a busy machine
        # (at 1 s, one of eight was sometimes not asked before the deadline)
        timeout = 2.5
        started = time.monotonic()
        answers = ask_all(queries, timeout, credentials=anonymous)
        took = time.monotonic() - started
        assert list(answers) == queries
        assert all(isinstance(a, Failed) for a in answers.values())
        assert took < 3 * timeout
        # the pool asked concurrently: every connection hung on its own query
        assert len({r.connection for r in registry.requests}) == CONNECTIONS_PER_REGISTRY
    finally:
        registry.close()


CONFIG = json.dumps({'os': 'linux', 'architecture': 'arm64'}).encode()
CONFIG_DIGEST = 'sha256:' + hashlib.sha256(CONFIG).hexdigest()
IMAGE = json.dumps({
    'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': CONFIG_DIGEST, 'size': len(CONFIG)},
    'layers': [],
}).encode()
IMAGE_DIGEST = 'sha256:' + hashlib.sha256(IMAGE).hexdigest()
INDEX = json.dumps({'schemaVersion': 2, 'mediaType': INDEX_TYPE, 'manifests': [{
    'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': IMAGE_DIGEST,
    'size': len(IMAGE), 'platform': {'os': 'linux', 'architecture': 'arm64'},
}]}).encode()
INDEX_DIGEST = 'sha256:' + hashlib.sha256(INDEX).hexdigest()


def single_images(request: Request) -> tuple[int, dict[str, str], bytes]:
    """Every tag names the single image, but ``multi``, which names an index."""
    if request.path.endswith('/manifests/multi'):
        return 200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': INDEX_DIGEST}, INDEX
    if '/manifests/' in request.path:
        return 200, {
            'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
            'Docker-Content-Digest': IMAGE_DIGEST,
        }, IMAGE
    if request.path.endswith(f'/blobs/{CONFIG_DIGEST}'):
        return 200, {}, CONFIG
    return 404, {}, b''


def test_verify_asks_two_requests_a_pin_where_no_platform_is_needed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registry = ScriptedRegistry(single_images)
    try:
        path = tmp_path / 'Dockerfile'
        pins = 10
        path.write_text(''.join(
            f'FROM {registry.address}/team/app{n}:1@{IMAGE_DIGEST}\n' for n in range(pins)
        ))
        assert verify_main(['--timeout', '10', str(path)]) == 0
        asked = sorted((r.method, r.path.split('/', 4)[4]) for r in registry.requests)
        # the manifest by digest and the tag, nothing else: no config read
        assert asked == sorted(
            [('GET', f'manifests/{IMAGE_DIGEST}')] * pins + [('HEAD', 'manifests/1')] * pins,
        )
    finally:
        registry.close()


def test_verify_reads_a_single_image_platform_where_a_finding_needs_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    registry = ScriptedRegistry(single_images)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(
            f'FROM --platform=linux/amd64 {registry.address}/team/a:1@{IMAGE_DIGEST}\n'
            f'FROM {registry.address}/team/b:multi@{IMAGE_DIGEST}\n'
            f'FROM {registry.address}/team/c:1@{IMAGE_DIGEST}\n',
        )
        assert verify_main(['--timeout', '10', str(path)]) == 1
        assert capsys.readouterr().out.splitlines()[:2] == [
            f"{path}:1:29: DP009 '{registry.address}/team/a:1@{IMAGE_DIGEST}' provides "
            f'linux/arm64, not --platform=linux/amd64',
            f"{path}:2:6: DP008 '{registry.address}/team/b:multi@{IMAGE_DIGEST}' pins the "
            f'linux/arm64 manifest only, while {registry.address}/team/b:multi is a '
            f'multi-platform index: builds on other platforms get the wrong '
            f'architecture; pin the index {INDEX_DIGEST} instead',
        ]
        configs = sorted(r.path for r in registry.requests if '/blobs/' in r.path)
        # the two pins whose finding names a platform, not the third
        assert configs == [f'/v2/team/{n}/blobs/{CONFIG_DIGEST}' for n in 'ab']
    finally:
        registry.close()


class RedirectingEverywhere:
    """A loopback registry that redirects each tag ``n`` to a host of its
    own (``127.0.0.X``, one of ``hosts`` addresses of the loopback block,
    each listening), whose every answer is the tag's digest, over
    kept-alive connections.  Counts the connections open at once, of all
    the hosts together, as each is accepted: those the client has not
    closed by then (told by the socket, not by when a thread of this
    server got round to seeing the close, which lags on a busy machine)."""

    def __init__(self, hosts: int) -> None:
        self.lock = threading.Lock()
        self.accepted: list[socket.socket] = []
        self.most = 0
        self.sockets = [socket.create_server(('127.0.0.1', 0))] + [
            socket.create_server((f'127.0.0.{10 + n}', 0)) for n in range(hosts)
        ]
        self.address = f'127.0.0.1:{self.sockets[0].getsockname()[1]}'
        self.mirrors = [f'127.0.0.{10 + n}:{s.getsockname()[1]}' for n, s in enumerate(self.sockets[1:])]
        for server in self.sockets:
            threading.Thread(target=self.accept, args=(server,), daemon=True).start()

    @staticmethod
    def closed_by_client(connection: socket.socket) -> bool:
        try:
            return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b''
        except BlockingIOError:  # open, nothing sent
            return False
        except OSError:  # reset
            return True

    def accept(self, server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed
                return
            with self.lock:
                self.accepted = [c for c in self.accepted if not self.closed_by_client(c)]
                self.accepted.append(connection)
                self.most = max(self.most, len(self.accepted))
            threading.Thread(target=self.serve, args=(connection, server is self.sockets[0]), daemon=True).start()

    def serve(self, connection: socket.socket, own: bool) -> None:
        try:
            buffer = b''
            while True:
                while b'\r\n\r\n' not in buffer:
                    data = connection.recv(65536)
                    if not data or data[:1] == b'\x16':  # closed, or a TLS handshake
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b'\r\n\r\n')
                path = head.split(b' ')[1].decode()
                if own:
                    mirror = self.mirrors[int(path.rpartition('/t')[2]) % len(self.mirrors)]
                    answer = f'HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{mirror}{path}\r\n'
                else:
                    answer = (
                        f'HTTP/1.1 200 OK\r\nDocker-Content-Digest: {digest_of(path)}\r\n'
                        f'Content-Type: {INDEX_TYPE}\r\n'
                    )
                connection.sendall(f'{answer}Content-Length: 0\r\n\r\n'.encode())
        except OSError:  # the client closed the connection
            pass
        finally:
            with self.lock:  # not closed while the accepting thread looks at it
                if connection in self.accepted:
                    self.accepted.remove(connection)
                connection.close()

    def close(self) -> None:
        for server in self.sockets:
            server.close()


def test_the_connections_kept_for_hosts_a_registry_redirects_to_are_bounded() -> None:
    """A registry that redirects each of 160 tags to one of 80 hosts (of
    the loopback block), each of which answers keep-alive: every tag is
    answered, and the connections open at once stay within what the pool
    keeps for three hosts (its own, a token realm, a blob store) and the
    eight in use.  (On main one was kept for every host redirected to, 88
    open at once: a registry redirecting to as many hosts as the process
    may open files made every other registry's connections of the run
    fail, 'cannot connect'.)"""
    registry = RedirectingEverywhere(80)
    try:
        queries = [Query(registry.address, 'team/app', f't{n}') for n in range(160)]
        answers = ask_all(queries, 30, credentials=anonymous, connections=8)
        assert [answers[query] for query in queries] == [
            Manifest(digest_of(f'/{query.reference}'), True, ()) for query in queries
        ]
        assert registry.most <= 8 * 3 + 8
    finally:
        registry.close()
