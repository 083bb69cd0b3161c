"""Fake servers, for the faults a real daemon or registry cannot produce on
demand: a hang, garbage, a slow drip, a 500, hostile answers."""
from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from typing import Callable
from typing import Union

VERSION = (
    b'{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12"}'
)


def http(status: str, body: bytes, content_type: bytes = b'application/json') -> bytes:
    return (
        f'HTTP/1.1 {status}\r\n'.encode() + b'Content-Type: ' + content_type
        + f'\r\nContent-Length: {len(body)}\r\n\r\n'.encode() + body
    )


# what a rule answers: raw bytes, None to hang, or a function that writes
# to the connection itself (to drip, to stream slowly)
Rule = Union[bytes, None, Callable[[socket.socket], None]]


class FakeDaemon:
    """Answers each request by a rule: (path part -> Rule); 404 otherwise."""

    def __init__(
            self, rules: dict[str, Rule], tcp: bool = False,
            tls: tuple[str, str] | None = None, address: str = '127.0.0.1',
    ) -> None:
        """``tcp``: on TCP at ``address`` (loopback unless told), not a unix
        socket; ``tls``: over TLS with that certificate and key (files), on
        TCP."""
        self.rules = rules
        self.tls = None
        if tls is not None:
            import ssl
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
            tcp = True
        self.folder = tempfile.mkdtemp(prefix='dpf', dir='/tmp')
        self.path = os.path.join(self.folder, 's.sock')
        if tcp:  # at ``host``
            self.server = socket.create_server((address, 0))
            self.host = f'tcp://{address}:{self.server.getsockname()[1]}'
        else:
            self.server = socket.socket(socket.AF_UNIX)
            self.server.bind(self.path)
            self.server.listen()
            self.host = f'unix://{self.path}'
        self.stop = threading.Event()
        self.requests: list[str] = []
        self.heads: list[bytes] = []  # each request's line and headers, as sent
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:  # the client refused the certificate
                conn.close()
                return
        with conn:
            buffer = b''
            while not self.stop.is_set():
                while b'\r\n\r\n' not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b'\r\n\r\n')
                path = head.split(b' ')[1].decode()
                self.heads.append(head)
                self.requests.append(path)
                rule = next(
                    (v for k, v in self.rules.items() if k in path), http('404 Not Found', b'{}'),
                )
                if rule is None:  # hang
                    self.stop.wait(60)
                    return
                if callable(rule):
                    try:
                        rule(conn)
                    except OSError:
                        pass  # the client gave up, as it should
                    return
                conn.sendall(rule)

    def close(self) -> None:
        self.stop.set()
        self.server.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
        os.rmdir(self.folder)


def knows(images: dict[str, str], delay: threading.Event | None = None) -> dict[str, Rule]:
    """Rules of a daemon whose local images are ``images`` (name:tag ->
    digest); with ``delay``, the image list waits until it is set."""
    body = json.dumps([
        {
            'Id': 'sha256:' + f'{k:064x}', 'RepoTags': [tag],
            'RepoDigests': [f'{tag.rpartition(":")[0]}@{digest}'],
        }
        for k, (tag, digest) in enumerate(images.items())
    ]).encode()
    answer = http('200 OK', body)
    if delay is None:
        return {'/version': http('200 OK', VERSION), '/images/json': answer}

    def slow(conn: socket.socket) -> None:
        delay.wait(30)
        conn.sendall(answer)
    return {'/version': http('200 OK', VERSION), '/images/json': slow}
