"""Hostile answers to the registry transport (``http.client`` under a pool
of ours): what a registry sends in the headers and the body of its answers
costs its bounds, not what the registry likes.  Fake servers, because a
real registry sends none of this."""
from __future__ import annotations

import hashlib
import socket
import struct
import time
import zlib
from pathlib import Path

import pytest

from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.verify import main as verify_main
from tests.registries import EMPTY_INDEX
from tests.registries import EMPTY_INDEX_DIGEST
from tests.registries import AcceptingServer
from tests.registries import INDEX_TYPE
from tests.registries import isolated_network
from tests.registries import ScriptedRegistry

MANIFEST = EMPTY_INDEX
DIGEST = EMPTY_INDEX_DIGEST


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_network(monkeypatch, tmp_path / 'home')


class RawServer(AcceptingServer):
    """A loopback server that answers every HTTP request with ``answer``
    (status line, headers and body as bytes, written as they are) and then
    closes: for answers ``http.server`` will not write (no Content-Length
    and no chunks, the body ending where the connection does).  A TLS
    handshake is closed unanswered: no TLS is spoken here."""

    def __init__(self, answer: bytes, reset: bool = False) -> None:
        self.answer = answer
        self.reset = reset  # the connection ends in a reset (RST), not a close
        self.requests: list[bytes] = []
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                request = b''
                while b'\r\n\r\n' not in request:
                    data = connection.recv(65536)
                    if not data or data[:1] == b'\x16':  # closed, or a TLS handshake
                        return
                    request += data
                self.requests.append(request)
                connection.sendall(self.answer)
                if self.reset:
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            except OSError:  # the client stopped reading
                pass


def gzipped(data: bytes, times: int) -> bytes:
    for _ in range(times):
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        data = compressor.compress(data) + compressor.flush()
    return data


def ask_manifest(registry: ScriptedRegistry | RawServer, timeout: float = 20) -> object:
    query = Query(registry.address, 'team/app', DIGEST, full=True)
    return ask_all([query], timeout)[query]


@pytest.mark.parametrize(('codings', 'expected'), (
    (5, Manifest(DIGEST, True, ())),
    (6, None),
    # one header line of 64 KiB: 13,000 decoders of 7 KB each (some 90 MB),
    # and http.client reads 100 such lines (over 9 GB) before the body
    (13_000, None),
))
def test_content_codings_are_undone_five_deep_at_most(codings: int, expected: object) -> None:
    """``Content-Encoding: gzip,gzip,…``: every coding named was a
    decoder made before the first byte of the body was read, whatever
    their number.  Five are undone (urllib3 2.6's bound); a sixth refuses
    the answer, before any decoder is made."""
    body = gzipped(MANIFEST, min(codings, 6))
    registry = ScriptedRegistry(lambda r: (
        200, {'Content-Encoding': ','.join(['gzip'] * codings), 'Content-Type': INDEX_TYPE},
        body,
    ))
    try:
        assert ask_manifest(registry) == (expected or Failed(
            f'{registry.address} sent a manifest in more than 5 content codings; not read',
        ))
    finally:
        registry.close()


@pytest.mark.parametrize('coding', ('gzip', 'deflate'))
def test_a_coded_body_that_decodes_to_nothing_is_bounded_as_sent(coding: str) -> None:
    """12 MiB of empty stored deflate blocks (5 bytes each, no output) after
    a gzip or zlib header: the 4 MiB bound counted decoded bytes only, so
    all of it was read (gzip: an empty manifest; deflate: every byte kept
    and copied again for each read while no output came, some 1.2 GB of
    copying).  What is read off the connection is bounded too."""
    header = b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff' if coding == 'gzip' else b'\x78\x9c'
    registry = RawServer(
        b'HTTP/1.1 200 OK\r\nContent-Encoding: ' + coding.encode() + b'\r\n'
        b'Connection: close\r\n\r\n' + header + b'\x00\x00\x00\xff\xff' * (12 * 1024 * 1024 // 5),
    )
    try:
        assert ask_manifest(registry) == Failed(
            f'{registry.address} sent a manifest over 4096 KiB; not read',
        )
    finally:
        registry.close()


@pytest.mark.parametrize(('answer', 'reset', 'why'), (
    (b'SSH-2.0-OpenSSH_9.6\r\n', False, 'not an HTTP status line'),
    # HTTP/0.9: the body alone, no status line
    (MANIFEST, False, 'not an HTTP status line'),
    (b'HTTP/1.1 200 OK\r\nX-Pad: ' + b'a' * 70_000 + b'\r\n\r\n', False, 'a line over 64 KiB'),
    (b'HTTP/1.1 200 OK\r\n' + b'X-Pad: a\r\n' * 101 + b'\r\n', False, 'more than 100 header lines'),
    (b'', False, 'closed without an answer'),
    (b'', True, 'the connection was reset'),
    (b'HTTP/1.1 200 OK\r\n', True, 'the connection was reset'),
))
def test_a_registry_that_answers_garbage_was_reached(
        answer: bytes, reset: bool, why: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """A registry that accepts the connection, reads the request and then
    sends what is not HTTP (or resets) was reached: it fails at that
    reference, and verify --offline-ok does not forgive it as being
    offline (on main: 'cannot connect', unreachable, forgiven)."""
    registry = RawServer(answer, reset)
    try:
        reason = f'{registry.address} accepted the connection but its answer could not be read ({why})'
        assert ask_manifest(registry) == Failed(reason)
        assert registry.requests
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {registry.address}/team/app@{DIGEST}\n')
        assert verify_main(['--offline-ok', str(path)]) == 2
        out, err = capsys.readouterr()
        assert err.splitlines()[0] == f"{path}: error: line 1: cannot verify '{registry.address}/team/app@{DIGEST}': {reason}", err
    finally:
        registry.close()


def tag_digest(tag: str) -> str:
    """A digest of its own for each tag a test asks for."""
    return 'sha256:' + hashlib.sha256(tag.encode()).hexdigest()


class InterimFirst(AcceptingServer):
    """A registry that answers every HEAD with its tag's own digest, over
    kept-alive connections; the request for ``tag`` is first answered
    ``interim`` (a 1xx line and its headers), and its final answer comes
    ``later`` seconds after, as a CDN sends ``103 Early Hints`` before the
    answer its origin takes time to give.  A TLS handshake is closed
    unanswered: no TLS is spoken here."""

    def __init__(self, tag: str, interim: bytes, later: float) -> None:
        self.tag = tag
        self.interim = interim
        self.later = later
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        with connection:
            buffer = b''
            try:
                while True:
                    while b'\r\n\r\n' not in buffer:
                        data = connection.recv(65536)
                        if not data or data[:1] == b'\x16':
                            return
                        buffer += data
                    head, _, buffer = buffer.partition(b'\r\n\r\n')
                    tag = head.split(b' ')[1].decode().rpartition('/')[2]
                    if tag == self.tag:
                        connection.sendall(self.interim)
                        time.sleep(self.later)
                    connection.sendall((
                        f'HTTP/1.1 200 OK\r\nDocker-Content-Digest: {tag_digest(tag)}\r\n'
                        f'Content-Type: {INDEX_TYPE}\r\nContent-Length: 0\r\n\r\n'
                    ).encode())
            except OSError:  # the client closed the connection
                pass


@pytest.mark.parametrize('interim', (
    b'HTTP/1.1 103 Early Hints\r\nLink: </v2/>; rel=preload\r\n\r\n',
    b'HTTP/1.1 102 Processing\r\n\r\n',
    b'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n',
))
def test_an_interim_answer_is_not_taken_for_the_answer(interim: bytes) -> None:
    """An interim answer (``103 Early Hints``, ``102 Processing``) before
    the answer to ``a``, which comes 0.2 s later, over one kept-alive
    connection: each tag is pinned to its own digest.  (On main the 1xx
    was read as the answer to ``a``, a failure, the connection kept, and
    ``a``'s answer, arriving once ``b`` was asked, read as ``b``'s: every
    later tag of the connection pinned to the digest of the one before.)"""
    server = InterimFirst('a', interim, 0.2)
    try:
        queries = [Query(server.address, 'team/app', tag) for tag in 'abcd']
        answers = ask_all(queries, 10, connections=1)
        assert {query.reference: answers[query] for query in queries} == {
            tag: Manifest(tag_digest(tag), True, ()) for tag in 'abcd'
        }
    finally:
        server.close()


def test_a_switching_protocols_answer_ends_its_connection() -> None:
    """``101 Switching Protocols``, never asked for, to ``a``: its question
    fails and the connection, which no longer speaks HTTP, is not kept;
    ``a``'s answer coming after it is never read as ``b``'s."""
    server = InterimFirst('a', b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', 0.2)
    try:
        queries = [Query(server.address, 'team/app', tag) for tag in 'abcd']
        answers = ask_all(queries, 10, connections=1)
        assert {query.reference: answers[query] for query in queries} == {
            'a': Failed(
                f'{server.address} accepted the connection but its answer could not '
                f'be read (101 Switching Protocols, never asked for)',
            ),
            **{tag: Manifest(tag_digest(tag), True, ()) for tag in 'bcd'},
        }
    finally:
        server.close()



@pytest.mark.parametrize(('padding', 'cut'), ((0, 8), (100_000, 16)))
def test_a_coded_body_whose_stream_ends_early_is_no_answer(padding: int, cut: int) -> None:
    """A tag answered without a digest header is its body's hash.  A gzip
    body whose stream stops early (its last ``cut`` bytes not sent,
    Content-Length agreeing) was taken whole: the manifest without its
    checksum, or, where the manifest ends in white space, a shorter JSON
    text, a tag pinned to the digest of a manifest no registry holds.
    Go's reader (Docker's) says unexpected EOF; so does this one."""
    whole = gzipped(MANIFEST + b'\n' * padding, 1)
    registry = ScriptedRegistry(lambda r: (200, {
        'Content-Encoding': 'gzip', 'Content-Type': INDEX_TYPE,
    }, whole[:-cut] if r.method == 'GET' else b''))
    try:
        for full in (False, True):
            query = Query(registry.address, 'team/app', '1', full=full)
            assert ask_all([query], 10)[query] == Failed(f'{registry.address} broke off the manifest')
    finally:
        registry.close()
