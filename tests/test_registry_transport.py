"""The registry source's own HTTP transport (``http.client`` under a pool of
ours): what it sends to a proxy, which proxies it refuses, when it loads
the CA bundle, and that a kept connection the server closed is replaced.
The safety rules themselves are shown in test_where_credentials_go.py,
test_attack_credentials.py and test_registry_*.py."""
from __future__ import annotations

import base64
import os
import http.server
import select
import ssl
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from typing import Callable

import pytest

from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.credentials import Credential
from digestpin_hooks.resolve.credentials import Logins
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Deadline
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.resolve.registry import Registry
from tests.registries import EMPTY_INDEX
from tests.registries import EMPTY_INDEX_DIGEST
from tests.registries import serve_empty_index
from tests.registries import AcceptingServer
from tests.registries import Answer
from tests.registries import INDEX_TYPE
from tests.registries import isolated_network
from tests.registries import LoopbackServer
from tests.registries import non_loopback_address
from tests.registries import PASSWORD
from tests.registries import Request
from tests.registries import ScriptedRegistry
from tests.registries import tls_certificate
from tests.registries import USER

MANIFEST = EMPTY_INDEX
DIGEST = EMPTY_INDEX_DIGEST
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROXY_LOGIN = 'Basic ' + base64.b64encode(b'puser:s3cret-proxy').decode()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_network(monkeypatch, tmp_path / 'home')


served = serve_empty_index


def the_login(host: str) -> Logins:
    return Logins((('', Credential(USER, PASSWORD, 'test')),))


class AnsweringProxy(LoopbackServer):
    """A loopback forward proxy that answers itself, as the registry would
    (so the registry's name need not resolve): it records each request line
    with its headers; CONNECT is refused (502)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Proxied(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _answer(self) -> None:
                outer.requests.append((
                    f'{self.command} {self.path}', {k.lower(): v for k, v in self.headers.items()},
                ))
                if self.command == 'CONNECT':
                    status, headers, body = 502, {}, b''
                else:
                    status, headers, body = served(Request(self.command, self.path, {}, 0))
                self.send_response(status)
                for key, value in {'Content-Length': str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            do_GET = do_HEAD = do_CONNECT = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.serve(socketserver.ThreadingTCPServer(('127.0.0.1', 0), Proxied))


def test_a_proxy_gets_its_login_in_the_connect_and_the_forwarded_request(
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An insecure registry behind an http:// proxy: HTTPS first, in a
    CONNECT tunnel, then plain HTTP as an absolute URL; the proxy's login
    (its URL's user information) goes to the proxy with both, and the
    registry's name is never looked up here (the proxy is asked for it)."""
    proxy = AnsweringProxy()
    try:
        login = proxy.url.replace('http://', 'http://puser:s3cret-proxy@')
        monkeypatch.setenv('HTTP_PROXY', login)
        monkeypatch.setenv('HTTPS_PROXY', login)
        query = Query('registry.invalid:5000', 'team/app', '1')
        answer = ask_all([query], 5, insecure=['registry.invalid:5000'], credentials=the_login)
        assert answer == {query: Manifest(DIGEST, True, ())}
        assert [(line, headers.get('proxy-authorization')) for line, headers in proxy.requests] == [
            ('CONNECT registry.invalid:5000', PROXY_LOGIN),
            ('HEAD http://registry.invalid:5000/v2/team/app/manifests/1', PROXY_LOGIN),
        ]
        assert proxy.requests[1][1]['host'] == 'registry.invalid:5000'
    finally:
        proxy.close()


def test_an_https_proxy_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS to the proxy itself (inside which the registry's TLS would run)
    is not spoken: one line naming the variables, never the URL, and
    nothing is sent."""
    proxy = AnsweringProxy()
    try:
        monkeypatch.setenv('HTTPS_PROXY', proxy.url.replace('http://', 'https://puser:s3cret-proxy@'))
        query = Query('registry.example:5000', 'team/app', '1')
        assert ask_all([query], 5, credentials=the_login) == {query: Failed(
            'the proxy set for registry.example:5000 (HTTPS_PROXY) '
            'is an https:// proxy URL, which digestpin does not use: name the proxy with '
            'http:// (the registry\'s TLS runs end to end through it)',
        )}
        assert proxy.requests == []
    finally:
        proxy.close()


def test_a_plain_loopback_registry_needs_no_ca_bundle(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """HTTPS is tried first (it is not spoken there), and the CA bundle,
    whose loading costs more than a hundred requests, is not read for it:
    one that cannot be read does not matter (on main: an internal error)."""
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(tmp_path / 'no-such-bundle.pem'))
    registry = ScriptedRegistry(served)
    try:
        query = Query(registry.address, 'team/app', '1')
        assert ask_all([query], 5, credentials=the_login) == {query: Manifest(DIGEST, True, ())}
    finally:
        registry.close()


def test_a_loopback_tls_registry_is_verified_against_the_bundle(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """The handshake that tells whether a loopback registry speaks TLS
    trusts nothing and carries no request; the request goes over a
    connection verified against the bundle: trusted when the bundle names
    the registry's certificate, a TLS failure (not plain HTTP) otherwise."""
    cert = tls_certificate(tmp_path / 'tls')
    other = tls_certificate(tmp_path / 'other')
    registry = ScriptedRegistry(served, tls=cert)
    try:
        query = Query(registry.address, 'team/app', '1')
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(cert[0]))
        assert ask_all([query], 5, credentials=the_login) == {query: Manifest(DIGEST, True, ())}
        assert [r.method for r in registry.requests] == ['HEAD']
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(other[0]))
        answer = ask_all([query], 5, credentials=the_login)[query]
        assert answer == Failed(
            f'TLS with {registry.address} failed: its certificate is not trusted '
            f'(self-signed certificate)',
        )
        assert [r.method for r in registry.requests] == ['HEAD']
    finally:
        registry.close()


def test_a_kept_connection_the_registry_closed_is_replaced() -> None:
    """The registry closes every connection after one answer without saying
    so (no ``Connection: close``): each later request finds its kept
    connection closed and asks again on a new one, once."""
    def closing(request: Request) -> Answer:
        return served(request)
    registry = ScriptedRegistry(closing)
    original = registry.server.RequestHandlerClass
    original.close_connection = True  # type: ignore[attr-defined]

    class OneAnswer(original):  # type: ignore[misc, valid-type]
        def handle(self) -> None:
            self.handle_one_request()

    registry.server.RequestHandlerClass = OneAnswer
    try:
        queries = [Query(registry.address, 'team/app', str(n)) for n in range(5)]
        answers = ask_all(queries, 5, credentials=the_login, connections=1)
        assert list(answers.values()) == [Manifest(DIGEST, True, ())] * 5
        assert [r.path for r in registry.requests] == [f'/v2/team/app/manifests/{n}' for n in range(5)]
        assert registry.connections == 6  # and the handshake that found no TLS
    finally:
        registry.close()


def test_whether_a_registry_speaks_tls_is_asked_once() -> None:
    """Eight connections start together on a plain-HTTP loopback registry:
    one handshake finds that it speaks no TLS, and the eight requests go
    straight to plain HTTP, each connection kept for its next request."""
    registry = ScriptedRegistry(served)
    original = registry.server.RequestHandlerClass

    class Slow(original):  # type: ignore[misc, valid-type]
        def setup(self) -> None:  # every thread has started before any handshake ends
            time.sleep(0.3)
            super().setup()

    registry.server.RequestHandlerClass = Slow
    try:
        queries = [Query(registry.address, 'team/app', str(n)) for n in range(40)]
        answers = ask_all(queries, 5, credentials=the_login, connections=8)
        assert list(answers.values()) == [Manifest(DIGEST, True, ())] * 40
        assert len(registry.requests) == 40
        # one handshake, and at most one connection per thread (fewer when
        # a thread finds another's kept connection idle)
        assert registry.connections <= 1 + 8
    finally:
        registry.close()


def test_an_ipv6_registry_is_named_in_brackets_in_the_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """An IPv6 registry through a proxy: the CONNECT names it in the
    authority form RFC 9110 gives an IPv6 address, ``[2001:db8::1]:5000``,
    as requests (urllib3) sent it, with a Host header; http.client before
    Python 3.11.9 sent ``CONNECT 2001:db8::1:5000``, which a proxy refuses
    or reads as the address 2001:db8::1:5000 (another host)."""
    proxy = AnsweringProxy()
    try:
        login = proxy.url.replace('http://', 'http://puser:s3cret-proxy@')
        monkeypatch.setenv('HTTP_PROXY', login)
        monkeypatch.setenv('HTTPS_PROXY', login)
        query = Query('[2001:db8::1]:5000', 'team/app', '1')
        answer = ask_all([query], 5, insecure=['[2001:db8::1]:5000'], credentials=the_login)
        assert answer == {query: Manifest(DIGEST, True, ())}
        assert [(line, headers.get('proxy-authorization')) for line, headers in proxy.requests] == [
            ('CONNECT [2001:db8::1]:5000', PROXY_LOGIN),
            ('HEAD http://[2001:db8::1]:5000/v2/team/app/manifests/1', PROXY_LOGIN),
        ]
        assert [headers['host'] for _, headers in proxy.requests] == ['[2001:db8::1]:5000'] * 2
    finally:
        proxy.close()


class TunnellingProxy(LoopbackServer):
    """A forward proxy that opens CONNECT tunnels (to this machine only)
    and relays their bytes: it records each CONNECT line and its headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Tunnel(http.server.BaseHTTPRequestHandler):
            def do_CONNECT(self) -> None:  # noqa: N802
                outer.requests.append((
                    f'CONNECT {self.path}', {k.lower(): v for k, v in self.headers.items()},
                ))
                host, _, port = self.path.rpartition(':')
                with socket.create_connection((host.strip('[]'), int(port)), timeout=5) as upstream:
                    self.send_response(200)
                    self.end_headers()
                    sides = {self.connection: upstream, upstream: self.connection}
                    while True:
                        for readable in select.select(list(sides), [], [], 5)[0]:
                            data = readable.recv(65536)
                            if not data:
                                return
                            sides[readable].sendall(data)

            def log_message(self, *args: object) -> None:
                pass

        self.serve(socketserver.ThreadingTCPServer(('127.0.0.1', 0), Tunnel))


def test_https_through_a_tunnel_is_verified_end_to_end(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A TLS registry (not loopback, so the proxy is used) through a proxy
    that relays the tunnel: the proxy gets its login in the CONNECT, with
    a Host header; the registry gets the request and no proxy login, over
    TLS verified against the bundle."""
    address = non_loopback_address()
    cert = tls_certificate(tmp_path / 'tls', address)
    registry = ScriptedRegistry(served, host=address, tls=cert)
    proxy = TunnellingProxy()
    try:
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(cert[0]))
        monkeypatch.setenv('HTTPS_PROXY', proxy.url.replace('http://', 'http://puser:s3cret-proxy@'))
        domain = f'{address}:{registry.server.server_address[1]}'
        query = Query(domain, 'team/app', '1')
        assert ask_all([query], 5, credentials=the_login) == {query: Manifest(DIGEST, True, ())}
        assert [(line, headers.get('proxy-authorization'), headers.get('host'))
                for line, headers in proxy.requests] == [(f'CONNECT {domain}', PROXY_LOGIN, domain)]
        assert [(r.method, r.path, 'proxy-authorization' in r.headers) for r in registry.requests] == [
            ('HEAD', '/v2/team/app/manifests/1', False),
        ]
    finally:
        proxy.close()
        registry.close()


@pytest.mark.parametrize(('variable', 'said'), (
    ('', 'certifi\'s CA bundle cannot be read (pip install certifi, or name a bundle '
         'in REQUESTS_CA_BUNDLE)'),
    ('REQUESTS_CA_BUNDLE', 'the CA bundle (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) cannot be '
                           'read as certificates'),
))
def test_a_ca_bundle_that_cannot_be_read_is_named(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, said: str,
) -> None:
    """No certifi and no variable: the line names certifi, not two
    variables the user never set; a variable that names no bundle is named."""
    monkeypatch.setitem(sys.modules, 'certifi', None)  # its import fails
    if variable:
        monkeypatch.setenv(variable, str(tmp_path / 'no-such-bundle.pem'))
    query = Query('registry.invalid', 'team/app', '1')
    assert ask_all([query], 5, credentials=the_login) == {query: Failed(said)}


def expired_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that expired yesterday."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now - datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert, key_path = folder / 'expired.pem', folder / 'expired.key'
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert, key_path


def test_an_expired_certificate_is_a_failure_not_being_offline(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A registry whose certificate expired was reached: the TLS handshake
    failed on what it presented.  That is a failure at the reference, which
    verify --offline-ok does not forgive (on main: the handshake failed, the
    plain HTTP tried next on loopback broke, 'cannot connect', forgiven)."""
    from digestpin_hooks.verify import main as verify_main

    cert = expired_certificate(tmp_path / 'tls')
    registry = ScriptedRegistry(served, tls=cert)
    try:
        monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(cert[0]))
        reason = f'TLS with {registry.address} failed: its certificate is not trusted (certificate has expired)'
        query = Query(registry.address, 'team/app', '1')
        assert ask_all([query], 5, credentials=the_login) == {query: Failed(reason)}
        path = tmp_path / 'Dockerfile'
        digest = 'sha256:' + 'a' * 64
        path.write_text(f'FROM {registry.address}/team/app@{digest}\n')
        assert verify_main(['--offline-ok', str(path)]) == 2
        err = capsys.readouterr().err
        assert err.splitlines()[0] == f"{path}: error: line 1: cannot verify '{registry.address}/team/app@{digest}': {reason}", err
        assert registry.requests == []
    finally:
        registry.close()


class ScriptedConnections(AcceptingServer):
    """A loopback server that plays one script per HTTP connection, in the
    order they come (a TLS handshake is closed unanswered): each script is
    given the connection and the first request read on it."""

    def __init__(self, *scripts: Callable[[socket.socket], None]) -> None:
        self.scripts = list(scripts)
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                first = connection.recv(1, socket.MSG_PEEK)
                if not first or first == b'\x16' or not self.scripts:
                    return
                self.scripts.pop(0)(connection)
            except OSError:  # the client went away
                pass


def read_request(connection: socket.socket) -> bytes:
    request = b''
    while b'\r\n\r\n' not in request:
        data = connection.recv(65536)
        if not data:
            raise ConnectionError('closed')
        request += data
    return request


HEAD_ANSWER = (
    f'HTTP/1.1 200 OK\r\nDocker-Content-Digest: {DIGEST}\r\nContent-Type: {INDEX_TYPE}\r\n'
    f'Content-Length: 10\r\n\r\n'
).encode()


def test_the_retry_on_a_new_connection_has_what_is_left_of_the_deadline() -> None:
    """The kept connection is closed without an answer 1.5 s into a 3 s
    deadline; the request is asked again on a new connection, which never
    answers: that one has what is left of the deadline, not the timeout
    computed before the first attempt (on main: the run took 4.5 s)."""
    def keeps_then_closes(connection: socket.socket) -> None:
        read_request(connection)
        connection.sendall(HEAD_ANSWER)
        read_request(connection)
        time.sleep(1.5)  # then closed unanswered

    def never_answers(connection: socket.socket) -> None:
        read_request(connection)
        while connection.recv(65536):
            pass

    server = ScriptedConnections(keeps_then_closes, never_answers)
    try:
        deadline = Deadline(3)
        registry = Registry(server.address, deadline, (), the_login, 1)
        assert registry.ask(Query(server.address, 'team/app', '1')) == Manifest(DIGEST, True, ())
        assert registry.ask(Query(server.address, 'team/app', '2')) == Failed(
            f'{server.address} did not answer within 3 s (--timeout)',
        )
        assert time.monotonic() - deadline.end < 0.5
        registry.close()
    finally:
        server.close()


def test_no_worker_outlives_the_deadline_on_endless_interim_answers() -> None:
    """A registry that answers every request with ``100 Continue`` lines,
    one every 20 ms, forever: http.client reads them in a loop of its own,
    each read well within any socket timeout.  The run returns at the
    deadline, and its threads end with it: the socket times out at what is
    left of the deadline (on main: the worker read on, unseen)."""
    def endless_continue(connection: socket.socket) -> None:
        read_request(connection)
        while True:
            connection.sendall(b'HTTP/1.1 100 Continue\r\n\r\n')
            time.sleep(0.02)

    server = ScriptedConnections(endless_continue)
    before = set(threading.enumerate())
    try:
        query = Query(server.address, 'team/app', '1')
        start = time.monotonic()
        answer = ask_all([query], 2, credentials=the_login)[query]
        assert time.monotonic() - start < 3
        assert answer == Failed(f'{server.address} did not answer within 2 s (--timeout)')
        time.sleep(0.5)
        assert [
            t for t in threading.enumerate() if t not in before and t.name != 'fake-server'
        ] == []
    finally:
        server.close()


class BothProtocols(LoopbackServer):
    """A registry that speaks TLS and plain HTTP on one port (by the first
    byte a connection sends), as a host may: over TLS it serves MANIFEST
    to the user's login (401 Basic otherwise); over plain HTTP it answers
    with ``lure`` (a wrong digest, a challenge for the login).  The first
    TLS handshake, the hooks' probe, is held ``hold`` seconds.  A request
    for the tag ``broken`` over TLS has its connection closed without an
    answer.  Every request is recorded with the protocol it came by."""

    def __init__(
            self, address: str, cert: tuple[Path, Path], lure: Answer, hold: float,
            broken: str = '',
    ) -> None:
        self.requests: list[tuple[str, Request]] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        login = 'Basic ' + base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode()
        outer = self
        handshakes = []
        lock = threading.Lock()

        class Served(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _serve(self) -> None:
                tls = isinstance(self.connection, ssl.SSLSocket)
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, 0)
                with lock:
                    outer.requests.append(('https' if tls else 'http', request))
                if not tls:
                    status, headers, body = lure
                elif broken and request.path.endswith(f'/manifests/{broken}'):
                    self.close_connection = True  # closed without an answer
                    return
                elif request.headers.get('authorization') != login:
                    status, headers, body = 401, {'WWW-Authenticate': 'Basic realm="r"'}, b''
                else:
                    status, headers, body = serve_empty_index(request)
                self.send_response(status)
                self.send_header('Content-Length', str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            do_GET = do_HEAD = _serve  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        class Server(socketserver.ThreadingTCPServer):
            def finish_request(self, request: Any, client_address: Any) -> None:
                if request.recv(1, socket.MSG_PEEK) == b'\x16':
                    with lock:
                        handshakes.append(1)
                        first = len(handshakes) == 1
                    if first:
                        time.sleep(hold)
                    try:
                        request = context.wrap_socket(request, server_side=True)
                    except (OSError, ssl.SSLError):  # the probe trusts no certificate
                        return
                super().finish_request(request, client_address)

        server = Server((address, 0), Served)
        server.handle_error = lambda *args: None  # type: ignore[method-assign]
        self.serve(server)
        host = f'[{address}]' if ':' in address else address
        self.address = f'{host}:{server.server_address[1]}'


@pytest.mark.parametrize('lure', (
    (200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': 'sha256:' + 'e' * 64}, b''),
    (401, {'WWW-Authenticate': 'Basic realm="r"'}, b''),
    (307, {'Location': '/v2/team/app/manifests/elsewhere'}, b''),
))
@pytest.mark.parametrize('where', ('loopback', 'insecure'))
def test_no_plain_http_answer_is_used_when_the_registry_speaks_tls(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lure: Answer, where: str,
) -> None:
    """A registry that speaks TLS, and plain HTTP on the same port with
    other answers.  On loopback, while its TLS probe is held, the other
    seven connections ask over plain HTTP, anonymously; those answers are
    never read: every answer comes over TLS, the login goes over TLS
    alone, and nothing a plain answer says (a digest, a challenge, a
    redirect) is followed.  A host merely listed as insecure is probed
    before anything is sent to it in clear text."""
    address = '127.0.0.1' if where == 'loopback' else non_loopback_address()
    cert = tls_certificate(tmp_path / 'tls', address)
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(cert[0]))
    registry = BothProtocols(address, cert, lure, hold=1.0)
    try:
        queries = [Query(registry.address, 'team/app', str(n)) for n in range(16)]
        insecure = [registry.address] if where == 'insecure' else []
        answers = ask_all(queries, 10, insecure=insecure, credentials=the_login, connections=8)
        assert list(answers.values()) == [Manifest(DIGEST, True, ())] * 16
        plain = [request for scheme, request in registry.requests if scheme == 'http']
        assert len(plain) == (7 if where == 'loopback' else 0)
        assert [(r.method, r.headers.get('authorization')) for r in plain] == [('HEAD', None)] * len(plain)
        assert {r.path for scheme, r in registry.requests} == {f'/v2/team/app/manifests/{n}' for n in range(16)}
    finally:
        registry.close()


@pytest.mark.parametrize('lure', (
    (200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': 'sha256:' + 'e' * 64}, b''),
    (401, {'WWW-Authenticate': 'Basic realm="r"'}, b''),
))
@pytest.mark.parametrize('where', ('loopback', 'insecure'))
def test_a_failed_tls_request_never_falls_back_to_plain_http(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lure: Answer, where: str,
) -> None:
    """The same registry, which speaks TLS, closes the TLS connection of
    the first request for tag 5 (one of the eight that start together,
    before any has learnt the scheme) without an answer, and again on the
    new connection.  Tag 5 fails for that; nothing is asked over plain
    HTTP but the anonymous requests held while the probe is in flight.
    (On main the failed HTTPS request fell back to plain HTTP, as for a
    host that speaks no TLS: the plain answer was used, a wrong digest
    pinned for tag 5, or its challenge answered with the login in clear
    text; and the registry's scheme, set to http by that one connection,
    sent later requests of the others in clear text too.)"""
    address = '127.0.0.1' if where == 'loopback' else non_loopback_address()
    cert = tls_certificate(tmp_path / 'tls', address)
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(cert[0]))
    registry = BothProtocols(address, cert, lure, hold=1.0, broken='5')
    try:
        queries = [Query(registry.address, 'team/app', str(n)) for n in range(16)]
        insecure = [registry.address] if where == 'insecure' else []
        answers = ask_all(queries, 10, insecure=insecure, credentials=the_login, connections=8)
        assert {query.reference: answers[query] for query in queries} == {
            str(n): Manifest(DIGEST, True, ()) if n != 5 else Failed(
                f'{registry.address} accepted the connection but its answer could '
                f'not be read (closed without an answer)',
            )
            for n in range(16)
        }
        plain = [request for scheme, request in registry.requests if scheme == 'http']
        assert len(plain) == (7 if where == 'loopback' else 0)
        assert [(r.method, r.headers.get('authorization')) for r in plain] == [('HEAD', None)] * len(plain)
    finally:
        registry.close()


@pytest.mark.parametrize(('named', 'certified', 'pinned'), (
    ('127.0.0.1', '127.0.0.1', True),
    ('localhost', 'localhost', True),
    ('localhost', '127.0.0.1', False),  # the certificate is for another name: refused
))
def test_a_registry_run_never_imports_the_idna_codec(
        tmp_path: Path, named: str, certified: str, pinned: bool,
) -> None:
    """Host names go to the resolver and to TLS as the ASCII bytes they
    are: from a str, getaddrinfo and ssl encode them with the IDNA codec,
    whose import (encodings.idna, stringprep, unicodedata) cost every
    registry run 1.3-1.9 ms.  The host name is still verified against the
    certificate."""
    cert = tls_certificate(tmp_path / 'tls', certified)
    registry = ScriptedRegistry(served, tls=cert)
    try:
        address = f'{named}:{registry.address.rpartition(":")[2]}'
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {address}/team/app:1\n')
        result = subprocess.run(
            (sys.executable, '-X', 'importtime', '-m', 'digestpin_hooks', 'fix',
             '--source', 'registry', str(path)),
            env={**os.environ, 'PYTHONPATH': ROOT, 'REQUESTS_CA_BUNDLE': str(cert[0])},
            capture_output=True, text=True, timeout=60,
        )
        imported = [line.rpartition('|')[2].strip() for line in result.stderr.splitlines()]
        assert [name for name in imported if name in ('encodings.idna', 'stringprep')] == []
        said = [line for line in result.stderr.splitlines() if not line.startswith('import time:')]
        if pinned:
            assert (result.returncode, said) == (1, ['summary: 1 pinned'])
            assert path.read_text() == f'FROM {address}/team/app:1@{DIGEST}\n'
        else:
            assert result.returncode == 1
            assert f'TLS with {address} failed: its certificate is not trusted (Hostname mismatch' in result.stdout
            assert path.read_text() == f'FROM {address}/team/app:1\n'
    finally:
        registry.close()
