"""Registries that ask for credentials, the token server one of them trusts,
credential files and a credential helper program, and a scripted fake
registry for the faults a real one does not produce on demand."""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import socket
import socketserver
import ssl
import stat
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable

USER = 'alice'
PASSWORD = 'pa55-w0rd-never-printed'
BASIC = 'Basic ' + base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode()

# what a scripted registry serves for a manifest: a one-platform index
INDEX_TYPE = 'application/vnd.oci.image.index.v1+json'
MANIFEST = json.dumps({
    'schemaVersion': 2, 'mediaType': INDEX_TYPE,
    'manifests': [{
        'mediaType': 'application/vnd.oci.image.manifest.v1+json',
        'digest': 'sha256:' + '1' * 64, 'size': 10,
        'platform': {'os': 'linux', 'architecture': 'amd64'},
    }],
}).encode()
DIGEST = 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()
# a scripted answer: status, headers, body
Answer = tuple[int, dict[str, str], bytes]
# an empty index: what the transport tests serve and hash
EMPTY_INDEX = json.dumps({'schemaVersion': 2, 'mediaType': INDEX_TYPE, 'manifests': []}).encode()
EMPTY_INDEX_DIGEST = 'sha256:' + hashlib.sha256(EMPTY_INDEX).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def htpasswd_auth(root: Path) -> str:
    """The ``auth:`` YAML of a registry with basic auth for USER."""
    import bcrypt
    path = root / 'htpasswd'
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f'{USER}:{hashed}\n')
    return f'  htpasswd:\n    realm: digestpin-basic\n    path: {path}\n'


class TokenServer:
    """A token endpoint (``auth: token:`` of distribution): checks basic
    auth and signs a JWT (RS256 with openssl) whose x5c certificate the
    registry trusts; the registry verifies every token for real.

    ``untrusted``: sign with another key, which the registry must refuse.
    """

    def __init__(self, root: Path, untrusted: bool = False) -> None:
        self.root = root
        self.requests: list[dict[str, str]] = []
        root.mkdir(parents=True, exist_ok=True)
        self.key, self.cert = self._keypair('trusted')
        self.signing_key, self.signing_cert = (
            self._keypair('untrusted') if untrusted else (self.key, self.cert)
        )
        self.x5c = base64.b64encode(subprocess.run(
            ('openssl', 'x509', '-in', str(self.signing_cert), '-outform', 'der'),
            check=True, capture_output=True,
        ).stdout).decode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                server.requests.append({
                    'authorization': self.headers.get('Authorization', ''), **query,
                })
                expected = 'Basic ' + base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode()
                if self.headers.get('Authorization') != expected:
                    self.send_response(401)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                body = json.dumps({'token': server.token(query.get('scope', ''))}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.address = f'127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _keypair(self, name: str) -> tuple[Path, Path]:
        key, cert = self.root / f'{name}.key', self.root / f'{name}.pem'
        subprocess.run((
            'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout',
            str(key), '-out', str(cert), '-days', '1', '-subj', f'/CN={name}',
        ), check=True, capture_output=True)
        return key, cert

    def auth(self) -> str:
        """The ``auth:`` YAML of a registry that trusts this server."""
        return (
            f'  token:\n    realm: http://{self.address}/token\n'
            f'    service: digestpin-test\n    issuer: digestpin-token-server\n'
            f'    rootcertbundle: {self.cert}\n'
        )

    def token(self, scope: str) -> str:
        access = []
        if scope.startswith('repository:'):
            _, name, actions = scope.split(':')
            access.append({'type': 'repository', 'name': name, 'actions': actions.split(',')})
        now = int(time.time())
        header = {'alg': 'RS256', 'typ': 'JWT', 'x5c': [self.x5c]}
        claims = {
            'iss': 'digestpin-token-server', 'sub': USER, 'aud': 'digestpin-test',
            'exp': now + 300, 'nbf': now - 10, 'iat': now, 'jti': str(now),
            'access': access,
        }
        signed = f'{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}'
        signature = subprocess.run(
            ('openssl', 'dgst', '-sha256', '-sign', str(self.signing_key)),
            input=signed.encode(), check=True, capture_output=True,
        ).stdout
        return f'{signed}.{b64url(signature)}'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_helper(folder: Path, name: str, hosts: dict[str, tuple[str, str]]) -> Path:
    """A real ``docker-credential-NAME`` program: ``get`` reads a server URL
    on stdin and answers its credential, or fails as Docker's helpers do."""
    program = folder / f'docker-credential-{name}'
    program.write_text(
        '#!/usr/bin/env python3\n'
        'import json, sys\n'
        f'HOSTS = {hosts!r}\n'
        'if sys.argv[1:] != ["get"]:\n'
        '    sys.exit(2)\n'
        'server = sys.stdin.read().strip()\n'
        'if server not in HOSTS:\n'
        '    print("credentials not found in native keychain")\n'
        '    sys.exit(1)\n'
        'user, secret = HOSTS[server]\n'
        'print(json.dumps({"ServerURL": server, "Username": user, "Secret": secret}))\n',
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return program


def auths_entry(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {'auth': base64.b64encode(f'{user}:{password}'.encode()).decode()}


Handler = Callable[['Request'], tuple[int, dict[str, str], bytes]]


class Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], connection: int) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.connection = connection


class LoopbackServer:
    """A test's server on a thread of its own, its handler threads daemons
    (a hung client never holds the test up); ``close()`` stops it."""

    server: socketserver.ThreadingTCPServer
    url: str

    def serve(self, server: socketserver.ThreadingTCPServer) -> None:
        server.daemon_threads = True
        self.server = server
        self.url = f'http://127.0.0.1:{server.server_address[1]}'
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AcceptingServer:
    """A loopback socket server below HTTP, for answers no HTTP server
    writes: each connection is handed to ``serve`` on a daemon thread named
    ``fake-server`` (so that a test counting the client's threads can tell
    them apart); ``close()`` stops accepting."""

    def __init__(self) -> None:
        self.socket = socket.create_server(('127.0.0.1', 0))
        self.address = f'127.0.0.1:{self.socket.getsockname()[1]}'
        threading.Thread(target=self._accept, daemon=True, name='fake-server').start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            threading.Thread(
                target=self.serve, args=(connection,), daemon=True, name='fake-server',
            ).start()

    def serve(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.socket.close()


class ScriptedRegistry(LoopbackServer):
    """A loopback HTTP/1.1 server whose answers a test writes: for faults a
    real registry does not produce on demand (a wrong digest header, a
    redirect elsewhere, a huge answer, 429 with Retry-After).  It records
    every request and the connection it came on."""

    def __init__(
            self, handler: Handler, *, drip: bool = False, host: str = '127.0.0.1',
            tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.requests: list[Request] = []
        self.connections = 0
        self.stop = threading.Event()
        outer = self

        class Served(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def setup(self) -> None:
                super().setup()
                with lock:
                    outer.connections += 1
                    self.number = outer.connections

            def _serve(self) -> None:
                request = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                    self.number,
                )
                with lock:
                    outer.requests.append(request)
                status, headers, body = handler(request)
                if status == 0:  # hang
                    outer.stop.wait(30)
                    return
                self.send_response(status)
                headers = {'Content-Length': str(len(body)), **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command == 'HEAD':
                    return
                if drip:
                    for byte in body:
                        if outer.stop.wait(0.2):
                            return
                        self.wfile.write(bytes((byte,)))
                        self.wfile.flush()
                else:
                    self.wfile.write(body)

            do_GET = do_HEAD = _serve  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        lock = threading.Lock()
        server = socketserver.ThreadingTCPServer((host, 0), Served)
        # a client that stops reading (too large, past the deadline) is expected
        server.handle_error = lambda *args: None  # type: ignore[method-assign]
        if tls is not None:  # HTTPS with the certificate of tls_certificate()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.serve(server)
        self.address = f'127.0.0.1:{self.server.server_address[1]}'

    def close(self) -> None:
        self.stop.set()
        super().close()


def isolated_credentials(monkeypatch: object, home: Path) -> None:
    """No credential file of the machine's user is read: HOME and every
    variable that names one point into ``home``."""
    for name in ('REGISTRY_AUTH_FILE', 'XDG_RUNTIME_DIR', 'DOCKER_CONFIG'):
        monkeypatch.delenv(name, raising=False)  # type: ignore[attr-defined]
    monkeypatch.setenv('HOME', str(home))  # type: ignore[attr-defined]
    os.makedirs(home, exist_ok=True)


def isolated_network(monkeypatch: object, home: Path) -> None:
    """As ``isolated_credentials``, and no daemon, proxy or CA bundle of
    the machine's environment either."""
    isolated_credentials(monkeypatch, home)
    monkeypatch.setenv('DOCKER_HOST', 'unix:///nonexistent/docker.sock')  # type: ignore[attr-defined]
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'REQUESTS_CA_BUNDLE',
                 'CURL_CA_BUNDLE'):
        monkeypatch.delenv(name, raising=False)  # type: ignore[attr-defined]
        monkeypatch.delenv(name.lower(), raising=False)  # type: ignore[attr-defined]


def serve_empty_index(request: Request) -> Answer:
    """The empty index for every manifest asked for; 404 for anything else."""
    if '/manifests/' in request.path:
        return 200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': EMPTY_INDEX_DIGEST}, EMPTY_INDEX
    return 404, {}, b''


def serve_index(request: Request) -> Answer:
    """A registry that has every manifest asked for: MANIFEST."""
    if '/manifests/' in request.path:
        return 200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': DIGEST}, MANIFEST
    return 404, {}, b''


def tls_certificate(folder: Path, address: str = '127.0.0.1') -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for ``address`` (an IP
    address, or a name: ``localhost``): a client trusts it when
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE names it."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / 'loopback.pem', folder / 'loopback.key'
    subprocess.run((
        'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', str(key),
        '-out', str(cert), '-days', '1', '-subj', f'/CN={address}',
        '-addext', f'subjectAltName={"DNS" if address == "localhost" else "IP"}:{address}',
    ), check=True, capture_output=True)
    return cert, key


class RecordingProxy(LoopbackServer):
    """A loopback HTTP forward proxy that records every request line it is
    sent (``GET http://host/path``, ``CONNECT host:443``) and forwards plain
    HTTP; it refuses CONNECT (502, or ``connect_status``), so HTTPS through
    it fails."""

    def __init__(self, connect_status: int = 502) -> None:
        self.requests: list[str] = []
        outer = self

        class Proxied(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _forward(self) -> None:
                outer.requests.append(f'{self.command} {self.path}')
                if self.command == 'CONNECT':
                    self.send_response(connect_status)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                import http.client
                target = urllib.parse.urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.netloc, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != 'proxy-connection'}
                upstream.request(self.command, target.path + (f'?{target.query}' if target.query else ''),
                                 headers=headers)
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ('connection', 'transfer-encoding', 'keep-alive'):
                        self.send_header(key, value)
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)
                upstream.close()

            do_GET = do_HEAD = do_CONNECT = _forward  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.serve(http.server.ThreadingHTTPServer(('127.0.0.1', 0), Proxied))


def non_loopback_address() -> str:
    """An address of this machine that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(('192.0.2.1', 9))  # no packet is sent: only a route is chosen
        return str(s.getsockname()[0])


def process_gone(pid: int, within: float = 3.0) -> bool:
    """Whether the process ``pid`` has ended (a zombie counts as ended: its
    parent may be a PID 1 that does not reap), waiting up to ``within``."""
    end = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
            with open(f'/proc/{pid}/stat') as f:
                if f.read().rpartition(')')[2].split()[0] == 'Z':
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


class CountingProxy:
    """A loopback TCP proxy in front of a real registry that counts the
    connections a client holds open to it at once (``most``) and in all
    (``accepted``).

    One thread handles every socket, and in each round it reads what has
    arrived (data and closes) before it accepts new connections: a client
    that closes one connection and then opens another (the hooks' TLS probe
    before plain HTTP) is never counted twice at once, since on loopback
    the close arrives first.

    ``hold``: a request is forwarded once ``hold`` connections are open (or
    two seconds after it came), so that a client allowed ``hold``
    connections opens them all however busy the machine is: none can take
    over another's connection meanwhile.  A TLS handshake is never held
    (the probe waits for no one)."""

    def __init__(self, upstream: str, hold: int = 1) -> None:
        import selectors
        self.upstream = upstream
        self.hold = hold
        self.most = 0
        self.accepted = 0
        self.open = 0
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.setblocking(False)
        self.address = f'127.0.0.1:{self.listener.getsockname()[1]}'
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.peers: dict[socket.socket, socket.socket] = {}
        self.clients: set[socket.socket] = set()
        self.tls: set[socket.socket] = set()
        # a client's held request bytes, and when they came
        self.held: dict[socket.socket, tuple[float, bytes]] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        with self.lock:
            self.most = self.open
            self.accepted = 0

    def _close(self, sock: socket.socket) -> None:
        peer = self.peers.pop(sock, None)
        for one in (sock, peer):
            if one is None:
                continue
            self.peers.pop(one, None)
            self.held.pop(one, None)
            self.tls.discard(one)
            if one in self.clients:
                self.clients.discard(one)
                with self.lock:
                    self.open -= 1
            try:
                self.selector.unregister(one)
            except (KeyError, ValueError):
                pass
            one.close()

    def _forward(self, sock: socket.socket, data: bytes) -> None:
        peer = self.peers[sock]
        if sock in self.clients and sock not in self.tls:
            if sock in self.held or (not data.startswith(b'\x16') and self.open < self.hold):
                when, before = self.held.get(sock, (time.monotonic(), b''))
                self.held[sock] = (when, before + data)
                return
            if data.startswith(b'\x16'):
                self.tls.add(sock)
        try:
            peer.sendall(data)
        except OSError:
            self._close(sock)

    def _release(self) -> None:
        now = time.monotonic()
        for sock, (when, data) in list(self.held.items()):
            if self.open >= self.hold or now - when >= 2.0:
                del self.held[sock]
                try:
                    self.peers[sock].sendall(data)
                except OSError:
                    self._close(sock)

    def _serve(self) -> None:
        import selectors
        while not self.stop.is_set():
            ready = self.selector.select(0.05)
            accepting = False
            for key, _ in ready:
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    accepting = True
                    continue
                while sock in self.peers:
                    try:
                        data = sock.recv(65536, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    except OSError:
                        data = b''
                    if not data:
                        self._close(sock)
                        break
                    self._forward(sock, data)
            if accepting:
                while True:
                    try:
                        client, _ = self.listener.accept()
                    except BlockingIOError:
                        break
                    host, _, port = self.upstream.rpartition(':')
                    upstream = socket.create_connection((host, int(port)), timeout=5)
                    upstream.setblocking(True)
                    client.setblocking(True)
                    self.peers[client] = upstream
                    self.peers[upstream] = client
                    self.clients.add(client)
                    with self.lock:
                        self.open += 1
                        self.accepted += 1
                        self.most = max(self.most, self.open)
                    self.selector.register(client, selectors.EVENT_READ)
                    self.selector.register(upstream, selectors.EVENT_READ)
            self._release()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in list(self.peers):
            sock.close()
        self.listener.close()


class ProbeHoldingProxy(AcceptingServer):
    """A loopback TCP proxy in front of a real registry that holds every TLS
    handshake (the hooks' probe of a loopback host) ``hold`` seconds before
    forwarding it.  It records each connection's first bytes (``b'TLS'``
    for a handshake), and whether no handshake had been let through yet
    when they came: what a client sent before it could know whether the
    host speaks TLS."""

    def __init__(self, upstream: str, hold: float) -> None:
        host, port = upstream.rsplit(':', 1)
        self.upstream = (host, int(port))
        self.hold = hold
        self.passed = 0  # handshakes let through
        self.first: list[tuple[bytes, bool]] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        import select
        upstream = None
        try:
            data = connection.recv(65536)
            tls = data.startswith(b'\x16')
            with self.lock:
                self.first.append((b'TLS' if tls else data, self.passed == 0))
            if tls:
                time.sleep(self.hold)
                with self.lock:
                    self.passed += 1
            upstream = socket.create_connection(self.upstream)
            upstream.sendall(data)
            while data:
                readable, _, _ = select.select([connection, upstream], [], [], 10)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        break
                    (upstream if sock is connection else connection).sendall(data)
                if not readable:
                    break
        except OSError:
            pass
        finally:
            connection.close()
            if upstream is not None:
                upstream.close()
