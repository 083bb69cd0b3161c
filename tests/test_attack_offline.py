"""What verify --offline-ok forgives as being offline, attacked: a refused
connection is 'unreachable' only while no connection of that registry was
accepted.  A registry that answered and then named a token realm or a
redirect target that refuses, or that refuses a connection after it
accepted one (its TLS probe, an earlier request), chose which question
goes unanswered: that is a failure at the reference, never forgiven.
Fake servers, because a real registry does none of this on demand."""
from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Callable

import pytest

from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.verify import main as verify_main
from tests.registries import DIGEST
from tests.registries import INDEX_TYPE
from tests.registries import isolated_network
from tests.registries import MANIFEST
from tests.registries import non_loopback_address
from tests.registries import RecordingProxy
from tests.registries import Request
from tests.registries import ScriptedRegistry


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_network(monkeypatch, tmp_path / 'home')


def refused_address() -> str:
    """A loopback port nobody listens on: connecting there is refused."""
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    return f'127.0.0.1:{port}'


def verify_offline_ok(
        address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {address}/team/app@{DIGEST}\n')
    code = verify_main(['--offline-ok', str(path)])
    _, err = capsys.readouterr()
    return code, err.replace(f'{path}: error: line 1: cannot verify \'{address}/team/app@{DIGEST}\': ', '')


@pytest.mark.parametrize('named', ('realm', 'redirect'))
def test_a_refusing_host_the_registry_names_is_not_offline(
        named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The registry answers every request (a 401 whose token realm, or a
    307 whose Location, is a host that refuses connections): the machine
    is online.  On main: 'no registry could be reached', exit 0 under
    --offline-ok, the pin never verified."""
    elsewhere = refused_address()

    def handler(request: Request) -> tuple[int, dict[str, str], bytes]:
        if named == 'realm':
            return 401, {'WWW-Authenticate': f'Bearer realm="http://{elsewhere}/token",service="x"'}, b''
        return 307, {'Location': f'http://{elsewhere}/v2/team/app/manifests/x'}, b''

    registry = ScriptedRegistry(handler)
    try:
        code, err = verify_offline_ok(registry.address, tmp_path, capsys)
        assert (code, err) == (2, (
            f'cannot connect to {elsewhere}, named by {registry.address}, which answered (not offline)\n'
        ))
        assert registry.requests
    finally:
        registry.close()


class RefusesLater:
    """A loopback server that serves connections one at a time with
    ``serve`` until it returns False, then stops listening: every later
    connection is refused."""

    def __init__(self, serve: Callable[[socket.socket], bool]) -> None:
        self.socket = socket.create_server(('127.0.0.1', 0))
        self.address = f'127.0.0.1:{self.socket.getsockname()[1]}'
        self.serve = serve
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        listening = True
        while listening:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            with connection:
                try:
                    listening = self.serve(connection)
                except OSError:
                    listening = False
                if not listening:
                    self.socket.close()  # refused from now on

    def close(self) -> None:
        self.socket.close()


def test_a_registry_that_accepts_the_tls_probe_and_refuses_the_request_is_not_offline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """On loopback HTTPS is probed first: the host accepts that connection,
    closes it at the handshake, and refuses the plain HTTP one.  On main:
    unreachable, forgiven by --offline-ok."""
    server = RefusesLater(lambda connection: not connection.recv(1))
    try:
        code, err = verify_offline_ok(server.address, tmp_path, capsys)
        assert (code, err) == (2, (
            f'cannot connect to {server.address} again, after it accepted a connection (not offline)\n'
        ))
        assert server.accepted == 1
    finally:
        server.close()


def test_a_registry_that_drops_a_kept_connection_and_refuses_the_next_is_not_offline() -> None:
    """The registry answers the first question, reads the second on the same
    connection, closes it unanswered and refuses the new connection the
    retry opens: it chose which question goes unanswered.  On main that one
    was unreachable, which verify --offline-ok forgives per pin for the
    signature checks."""
    head = (
        b'HTTP/1.1 200 OK\r\nContent-Type: ' + INDEX_TYPE.encode()
        + b'\r\nDocker-Content-Digest: ' + DIGEST.encode() + b'\r\nContent-Length: '
        + str(len(MANIFEST)).encode() + b'\r\n\r\n'
    )

    def serve(connection: socket.socket) -> bool:
        received = connection.recv(65536)
        if received[:1] == b'\x16':  # the TLS probe of a loopback host: no TLS here
            return True
        while received.count(b'\r\n\r\n') < 1:
            received += connection.recv(65536)
        connection.sendall(head)  # the first question's answer
        while received.count(b'\r\n\r\n') < 2:
            received += connection.recv(65536)
        return False  # the second question read: closed unanswered, and no more

    server = RefusesLater(serve)
    try:
        first = Query(server.address, 'team/app', 'one')
        second = Query(server.address, 'team/app', 'two')
        answers = ask_all([first, second], 20, connections=1)
        assert answers[second] == Failed(
            f'cannot connect to {server.address} again, after it accepted a connection (not offline)',
        )
        assert not answers[second].unreachable
        assert server.accepted == 2  # the TLS probe, then the one that answered
    finally:
        server.close()


def test_a_connection_not_accepted_within_the_deadline_after_one_was_says_so() -> None:
    """The registry accepts the TLS probe, then takes no more connections
    (its queue full: the plain connection's SYN is dropped) until the
    deadline: it was reached, and the reason is the deadline, not a
    refusal (should the request's connection be queued first, it is not
    answered either: the same reason)."""
    filler: list[socket.socket] = []
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(0)
    address = f'127.0.0.1:{server.getsockname()[1]}'

    def accept_one() -> None:
        connection, _ = server.accept()
        connection.close()  # the TLS probe: no TLS here
        # the accept queue full from now on: new connections are not accepted
        try:
            filler.append(socket.create_connection(server.getsockname(), timeout=3))
        except OSError:  # the request's connection came first and was queued
            pass

    threading.Thread(target=accept_one, daemon=True).start()
    try:
        query = Query(address, 'team/app', 'one')
        assert ask_all([query], 1.5)[query] == Failed(f'{address} did not answer within 1.5 s (--timeout)')
    finally:
        for connection in filler:
            connection.close()
        server.close()


@pytest.mark.parametrize(('status', 'forgiven'), (
    (502, True), (503, True), (504, True), (403, False), (407, False),
))
def test_a_proxy_that_cannot_reach_the_registry_is_offline(
        status: int, forgiven: bool, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """Behind a proxy, being offline is the proxy answering the CONNECT
    that it cannot reach the host (502, 503, 504), which --offline-ok
    forgives as it forgives a refused connection without a proxy; the
    proxy's own refusal (403, 407) is a failure, not being offline.  On
    main every status was a failure."""
    proxy = RecordingProxy(connect_status=status)
    try:
        monkeypatch.setenv('HTTPS_PROXY', proxy.url)
        address = f'{non_loopback_address()}:9'
        code, err = verify_offline_ok(address, tmp_path, capsys)
        assert proxy.requests == [f'CONNECT {address}']
    finally:
        proxy.close()
    if forgiven:
        assert (code, err) == (0, (
            f'digestpin-verify: warning: pins not verified, offline: cannot connect to '
            f'{address} (the proxy answered {status} to CONNECT): no registry could be reached\n'
        ))
    else:
        assert (code, err) == (2, f'the proxy refused the tunnel to {address} ({status})\n')


def test_a_plain_http_registry_reached_through_the_proxy_is_not_offline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """An insecure registry behind a proxy that answers 502 to the CONNECT
    of the HTTPS attempt: the plain HTTP request through the proxy reaches
    it, and it does not answer in time.  That is a failure, not being
    offline; on main the CONNECT's 502 was the answer, forgiven."""
    proxy = RecordingProxy(connect_status=502)
    registry = ScriptedRegistry(lambda request: (0, {}, b''), host='0.0.0.0')  # hangs
    try:
        address = f'{non_loopback_address()}:{registry.address.rpartition(":")[2]}'
        monkeypatch.setenv('HTTP_PROXY', proxy.url)
        monkeypatch.setenv('HTTPS_PROXY', proxy.url)
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {address}/team/app@{DIGEST}\n')
        code = verify_main([
            '--offline-ok', '--timeout', '1', '--insecure-registry', address, str(path),
        ])
        _, err = capsys.readouterr()
        assert proxy.requests == [
            f'CONNECT {address}', f'GET http://{address}/v2/team/app/manifests/{DIGEST}',
        ]
        assert [r.path for r in registry.requests] == [f'/v2/team/app/manifests/{DIGEST}']
    finally:
        registry.stop.set()
        registry.close()
        proxy.close()
    assert (code, err) == (2, (
        f'{path}: error: line 1: cannot verify \'{address}/team/app@{DIGEST}\': '
        f'{address} did not answer within 1 s (--timeout)\n'
    ))
