"""Registries asked directly, without a daemon: the OCI distribution API.

What it asks is small: the digest a tag names (``HEAD`` of the manifest,
``Docker-Content-Digest``), and for verify the manifest itself (``GET``;
its bytes must hash to the digest asked for, and to the header when one is
sent), an index's platforms, and a single image's platform from its config
blob.  Authentication is the challenge flow every public registry uses
(``WWW-Authenticate: Bearer realm=…``, or Basic), with the user's own
credentials (``credentials``).

The standard library's ``http.client`` carries the HTTP, over a pool of
our own: importing ``requests`` cost more CPU than a hundred requests on
loopback, and its session and adapter more per request than the request
itself (README, "Why http.client carries the HTTP").  The rest is here
because no registry client on PyPI does what the hooks promise (see the
README: bounded answers, one deadline, no credential to another host,
Docker's and Podman's credential files).

Rules kept for hostile registries:

- every answer is bounded (manifests 4 MiB, tokens and configs 1 MiB) and
  every digest checked before it is used or printed;
- every URL a registry names (token realm, ``Location``) is parsed once by
  ``parse_url``; hosts are compared as parsed hosts, never as text, and
  what is sent is rebuilt from the parsed parts;
- credentials go only to the registry's own host, and to the token realm
  its own challenge names (as Docker does) only over HTTPS or to loopback;
  a redirect to another host is followed without them, and that host's own
  challenge is answered anonymously;
- plain HTTP only to loopback and to hosts the user lists as insecure, and
  a redirect never goes from HTTPS to HTTP;
- loopback never goes through a proxy (Go's rule, which Docker follows);
  ``NO_PROXY`` applies to the other hosts; a proxy is an ``http://`` one
  (HTTPS goes through it in a CONNECT tunnel, verified end to end), its
  login sent to it alone;
- TLS verifies every certificate and host name, against
  ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` when set, else certifi's
  bundle, as ``requests`` did; ``~/.netrc`` is never read;
- a malformed answer (a header of the wrong shape) is a Failed answer for
  its reference or is ignored, never an exception in a worker thread;
- one deadline (``--timeout``) for the whole run: the main thread stops
  waiting then, whatever a registry drips, and every name's resolution,
  connect and read of a socket ends then, so that no thread reads on;
- a bounded pool of kept-alive connections per registry (``--connections``,
  CONNECTIONS_PER_REGISTRY by default, each with its own thread), a bounded number of
  registries at a time; each reference asked once, the answers in the
  order asked;
- one token per registry host and scope, fetched once however many
  connections wait for it; a 429 holds back every connection to that
  registry (its Retry-After, else a second), not the other registries.
"""
from __future__ import annotations

import base64
import email.utils
import errno
import http.client
import io
import ipaddress
import os
import re
import select
import socket
import ssl
import threading
import time
import zlib
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

from digestpin_hooks import __version__
from digestpin_hooks.model import Record
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import INDEX_MEDIA_TYPES
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import platform_name
from digestpin_hooks.resolve.credentials import Credential
from digestpin_hooks.resolve.credentials import CredentialError
from digestpin_hooks.resolve.credentials import credential_in
from digestpin_hooks.resolve.credentials import Helper
from digestpin_hooks.resolve.credentials import Logins
from digestpin_hooks.resolve.credentials import logins_for
from digestpin_hooks.resolve.credentials import stop_helpers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import Final
    from typing import Iterable
    from typing import Sequence

MANIFEST_MEDIA_TYPES = (
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
)
ACCEPT = ', '.join(MANIFEST_MEDIA_TYPES)
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution spec's own limit
MAX_SMALL_BYTES = 1024 * 1024  # a token answer, an image config
MAX_REDIRECTS = 3
MAX_RETRIES = 3  # 429 answers honoured in a row
MAX_REGISTRIES_AT_ONCE = 8
# connections (and threads) per registry; registries' rate limits (Docker
# Hub's, GHCR's) count requests, not connections.  Measured with 100
# references behind 25 ms round trips (benchmarks/registry_speed.py's
# proxy), fix in wall time, medians of 5 in turns: 4 connections 940 ms,
# 6 741 ms, 8 600 ms, 12 460 ms, 16 451 ms (over requests, before: 1 3.03 s,
# 6 0.88 s, 8 0.81 s, 16 1.15 s, its CPU per request made the threads
# fight for the GIL).  Eight is the top of the range issue 22 asks for;
# each connection costs a TLS handshake on a real registry.  The default of
# --connections (cli.DEFAULT_CONNECTIONS; 1 to config.MAX_CONNECTIONS).
CONNECTIONS_PER_REGISTRY = 8
# the hosts a registry's idle connections are kept for, counted as
# connections × this, whichever hosts they go to: its own, its token realm
# and its blob storage (Docker Hub's three).  One kept for each host a
# registry redirected to let a hostile one hold a file descriptor open per
# name it made up, until the process could open no more and every other
# registry's connections failed ('cannot connect').
KEPT_HOSTS = 3
# how long past the deadline a thread waits for another that is bounded by
# the same deadline (a token fetch, a credential helper) to report, and the
# main thread for the workers: their one-line reason is kept
LOCK_GRACE = 0.2
# the longest a signal taken by another thread waits for the main thread to
# wake and run its handler (join_by)
SIGNAL_LATENCY = 0.05
DOCKER_HUB = 'docker.io'
DOCKER_HUB_API = 'registry-1.docker.io'
# one piece of WWW-Authenticate: a parameter (name=token or name="quoted",
# with backslash escapes), or an auth scheme, which starts a new challenge
_CHALLENGE_PART_RE = re.compile(
    r'(?P<name>[A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*'
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^,\s"]*))'
    r'|(?P<scheme>[A-Za-z][A-Za-z0-9_.-]*)',
)
_TOKEN_RE = re.compile(r'[\x21-\x7e]{1,16384}\Z')  # printable, no blanks
_URL_RE = re.compile(r'[\x21-\x7e]{1,8192}\Z')  # printable ASCII, no blanks
_HOST_NAME_RE = re.compile(r'[a-z0-9_]([a-z0-9_.-]{0,252}[a-z0-9_])?\Z')
_ASCII_NUMBER_RE = re.compile(r'[0-9]{1,18}\Z')
DEFAULT_PORTS = {'https': 443, 'http': 80}
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = f'digestpin/{__version__}'
MAX_DRAINED = 64 * 1024  # a body read only to keep its connection
# content codings undone at most (urllib3 2.6's bound): each is a decoder
# of some 7 KB made before the body is read, and a header line of 64 KiB
# names 13,000 of them
MAX_CODINGS = 5


class Query(Record):
    """One question: what ``domain/repository`` says of ``reference`` (a tag
    or a digest); ``full``: the platforms too (a GET), not just the digest;
    ``platform``: with ``full``, a single image's platform too, read from
    its config (one more request, asked only where an answer needs it)."""

    domain: Final[str]  # 'docker.io', 'ghcr.io', '127.0.0.1:5000'
    repository: Final[str]  # 'library/node'
    reference: Final[str]  # '20' or 'sha256:…'
    full: Final[bool] = False
    platform: Final[bool] = True


class _Stop(Exception):
    """Ends one question with a Failed or Missing answer."""

    def __init__(self, answer: Missing | Failed) -> None:
        super().__init__(answer.reason)
        self.answer = answer


def _fail(reason: str) -> _Stop:
    return _Stop(Failed(reason))


def _unreachable(stop: _Stop) -> bool:
    return isinstance(stop.answer, Failed) and stop.answer.unreachable


class Url(Record):
    """A URL a registry named (a token realm, a ``Location``), as
    ``parse_url`` read it.  Hosts are compared as these parts, and what is
    sent is ``text``, rebuilt from them: the host compared is the host
    contacted, whatever another parser would make of the original text."""

    scheme: Final[str]  # 'https' or 'http'
    host: Final[str]  # lower case; an IPv6 address without its brackets
    port: Final[int]  # as written, else the scheme's default
    target: Final[str]  # path and query: '/v2/team/app/manifests/1'

    @property
    def origin(self) -> tuple[str, str, int]:
        """What credentials and tokens are kept for."""
        return self.scheme, self.host, self.port

    @property
    def netloc(self) -> str:
        host = f'[{self.host}]' if ':' in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f'{host}:{self.port}'

    @property
    def text(self) -> str:
        return f'{self.scheme}://{self.netloc}{self.target}'


class UrlError(ValueError):
    """Why a URL is refused, as the end of a sentence: 'carries user
    information'."""


def parse_url(text: str, base: Url | None = None) -> Url:
    """The one reading of every URL a registry names, relative to ``base``
    (where the answer came from) when given.  Refused (UrlError): anything
    but http(s); user information (``http://127.0.0.1:1@192.0.2.1/`` names
    the host 192.0.2.1); an unbalanced ``[``; an empty or malformed host
    (an empty label, one over 63 characters); a
    port that is not 1-65535; blanks, control or non-ASCII characters."""
    if not _URL_RE.match(text):
        raise UrlError('is empty, too long, or has blanks, control or non-ASCII characters')
    try:
        parts = urlsplit(urljoin(base.text, text) if base is not None else text)
    except ValueError:  # 'Invalid IPv6 URL'
        raise UrlError('has an unbalanced [ or a malformed IPv6 address') from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlError('is not an http or https URL')
    netloc = parts.netloc
    if '@' in netloc:
        raise UrlError('carries user information')
    if netloc.startswith('['):
        host, bracket, port_part = netloc[1:].partition(']')
        if not bracket:
            raise UrlError('has an unbalanced [ or a malformed IPv6 address')
        try:
            host = str(ipaddress.IPv6Address(host)) if '%' not in host else ''
        except ValueError:
            host = ''
        if not host:
            raise UrlError('has an unbalanced [ or a malformed IPv6 address')
    elif '[' in netloc or ']' in netloc:
        raise UrlError('has an unbalanced [ or a malformed IPv6 address')
    else:
        host, colon, port_text = netloc.partition(':')
        port_part = colon + port_text
        host = host.lower()
        if not host:
            raise UrlError('has no host')
        # labels of 1-63 characters, as DNS (and the IDNA codec http.client
        # and ssl encode a name with) takes them: 'a..b' is no name
        if not _HOST_NAME_RE.match(host) or any(not 0 < len(label) < 64 for label in host.split('.')):
            raise UrlError('has a malformed host')
    port = DEFAULT_PORTS[scheme]
    if port_part not in ('', ':'):
        digits = port_part[1:]
        if not port_part.startswith(':') or not _ASCII_NUMBER_RE.match(digits):
            raise UrlError('has a malformed port')
        port = int(digits)
        if not 0 < port < 65536:
            raise UrlError('has a port out of range')
    target = (parts.path or '/') + (f'?{parts.query}' if parts.query else '')
    return Url(scheme, host, port, target)


def loopback_host(host: str) -> bool:
    """A parsed host (no port, no brackets): ``localhost``, 127.0.0.0/8, ::1,
    and 127.0.0.0/8 mapped into IPv6 (``::ffff:127.0.0.1``), as Go's
    ``IP.IsLoopback`` reads it (Python's own answer for a mapped address
    changed in 3.13)."""
    if host == 'localhost':
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback(host: str) -> bool:
    """A registry domain (``localhost:5000``, ``[::1]:5000``, ``::1``),
    parsed: ``127.0.0.1:1@192.0.2.1`` is not loopback."""
    try:
        return loopback_host(parse_url(f'http://{host}/').host)
    except UrlError:
        return ':' in host and loopback_host(host)  # a bare IPv6 address


def no_proxy_for(url: Url, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``url`` from the proxy, read as Go's
    ``httpproxy`` (which Docker uses) reads it: ``*``; a CIDR block or an
    IP address (``[v6]``), with ``:port`` or not, for an address host; a
    domain (``example.com`` covers itself and its subdomains, ``.example.com``
    and ``*.example.com`` its subdomains only), with ``:port`` or not, for
    a named host; an IPv4 address mapped into IPv6 is the IPv4 address.
    (``requests`` reads it otherwise: ``IP:port`` never
    matched, so such a host went through the proxy, and ``example.com``
    matched ``badexample.com``.)"""
    address = _ip_address(url.host)
    port = str(url.port)
    for entry in no_proxy.lower().split(','):
        entry = entry.strip()
        if not entry:
            continue
        if entry == '*':
            return True
        if '/' in entry:
            try:
                block = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                block = None
            if block is not None:
                if address is not None and address.version == block.version and address in block:
                    return True
                continue
        host, entry_port = _split_host_port(entry)
        if not host:
            continue
        entry_address = _ip_address(host)
        if entry_address is not None:
            if address == entry_address and entry_port in ('', port):
                return True
            continue
        if address is not None or entry_port not in ('', port):
            continue
        if host.startswith('*.'):
            host = host[1:]
        if url.host.endswith(host if host.startswith('.') else '.' + host) or url.host == host:
            return True
    return False


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address host as NO_PROXY compares it; an IPv4 address mapped into
    IPv6 (``::ffff:192.0.2.2``) is that IPv4 address, as Go's ``IP.Equal``
    and ``IPNet.Contains`` take it.  None for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _split_host_port(entry: str) -> tuple[str, str]:
    """``host:port``, ``[v6]:port`` -> (host, port); anything else (a bare
    IPv6 address, no port) -> (entry, '') as Go's ``SplitHostPort`` fails."""
    if entry.startswith('['):
        host, bracket, rest = entry[1:].partition(']')
        if bracket and rest.startswith(':') and _ASCII_NUMBER_RE.match(rest[1:]):
            return host, rest[1:]
        return entry, ''
    host, colon, port = entry.partition(':')
    if colon and ':' not in port:
        return host, port
    return entry, ''


def _disagreeing_lengths(header: str) -> bool:
    """Content-Length lines (joined) that name two sizes: ``1,2``, or two
    lines ``1`` and ``2``.  Refused as urllib3 refuses them (which body
    ends where is then anybody's guess); one size named twice is that size,
    and a value that is no number is ignored (read to the connection's
    end, within the bound)."""
    if ',' not in header:
        return False
    sizes = set()
    for value in header.split(','):
        try:
            sizes.add(int(value))
        except ValueError:
            return False
    return len(sizes) > 1


def _ascii_number(value: str | None) -> int | None:
    """A header that must be a number (Content-Length, Retry-After): ASCII
    digits only (``'²'.isdigit()`` is true, ``int('²')`` raises)."""
    value = (value or '').strip()
    return int(value) if _ASCII_NUMBER_RE.match(value) else None


def api_host(domain: str) -> str:
    """Where a registry's API is: Docker Hub's is not docker.io itself."""
    return DOCKER_HUB_API if domain in (DOCKER_HUB, 'index.docker.io') else domain


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` -> ('bearer', {realm: …, service: …}).

    A header may hold several challenges (``Basic realm="x", Bearer
    realm="…"``, or two header lines joined with a comma): they are read
    apart, each with its own parameters, and one is chosen as Docker's
    client does, Bearer before Basic, else the first."""
    challenges: list[tuple[str, dict[str, str]]] = []
    for m in _CHALLENGE_PART_RE.finditer(header[:8192]):
        if m.group('scheme'):
            challenges.append((m.group('scheme').lower(), {}))
        elif m.group('name') and challenges:
            quoted = m.group('quoted')
            challenges[-1][1][m.group('name').lower()] = (
                re.sub(r'\\(.)', r'\1', quoted) if quoted is not None else m.group('token')
            )
    for wanted in ('bearer', 'basic'):
        for challenge in challenges:
            if challenge[0] == wanted:
                return challenge
    return challenges[0] if challenges else ('', {})


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait, or None when Retry-After is absent or malformed
    (which is ignored: the default wait applies)."""
    if not value:
        return None
    seconds = _ascii_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        return None


class _Discarded(Exception):
    """A request whose answer was not to be read (``_raw``'s ``hold``):
    its connection is closed unread."""


class _Oversize(Exception):
    """A body past its limit (the caller says which limit, in its words)."""


class _TooManyCodings(Exception):
    """A body in more than MAX_CODINGS content codings: not read."""


class Proxy(Record):
    """An ``http://`` proxy as the user's setting names it: where it is,
    and the Proxy-Authorization its user information makes ('' for none),
    sent to the proxy alone (in the CONNECT of a tunnel, or with a plain
    HTTP request it forwards), never to a registry."""

    url: Final[Url]
    authorization: Final[str]


class ProxySetting(Record):
    """A proxy variable's value, and its name: a refusal names the very
    variable the user set (``https_proxy``, not ``HTTPS_PROXY``), never
    the value, which may hold a password."""

    variable: Final[str]
    value: Final[str]


def environment_proxies() -> dict[str, ProxySetting]:
    """The proxy settings by scheme (``http``, ``https``), as Go's
    ``httpproxy.FromEnvironment`` reads them (Docker's daemon and CLI,
    skopeo and Podman all do): ``HTTPS_PROXY``, else ``https_proxy``;
    ``HTTP_PROXY``, else ``http_proxy`` (empty is unset); the HTTP one
    ignored under CGI (``REQUEST_METHOD`` set: httpoxy).  ``ALL_PROXY``,
    often a SOCKS proxy set for curl, is not read: Docker never sends a
    request through it (requests did, and a ``socks5://`` one failed every
    reference).  Here so that importing ``urllib.request`` is not paid."""
    proxies = {}
    for scheme in ('http', 'https'):
        for variable in (f'{scheme.upper()}_PROXY', f'{scheme}_proxy'):
            value = os.environ.get(variable)
            if value:
                proxies[scheme] = ProxySetting(variable, value)
                break
    if os.environ.get('REQUEST_METHOD'):
        proxies.pop('http', None)
    return proxies


def environment_no_proxy() -> str:
    """``NO_PROXY``, else ``no_proxy``, as Go's ``httpproxy`` reads it
    (no_proxy_for reads its entries)."""
    return os.environ.get('NO_PROXY') or os.environ.get('no_proxy') or ''


def proxy_url(text: str) -> str:
    """A proxy setting as Go's ``parseProxy`` reads it (Docker's): one
    without ``scheme://`` is ``http://`` and the setting.  ``squid:3128``
    and ``user:secret@squid:3128`` parse as schemes ``squid`` and
    ``user``, which Go takes for none (it knows http, https and socks5
    only); urllib3, under requests, refused the one and took ``user``
    for the other's scheme."""
    return text if '://' in text else 'http://' + text


def parse_proxy(text: str) -> Proxy:
    """A proxy setting: ``http://[user[:password]@]host[:port]``, or without
    its scheme (``squid:3128``, proxy_url); UrlError for anything else,
    ``https://`` proxies included (TLS to the proxy itself, inside which
    the registry's own TLS would run, is not spoken here)."""
    scheme, separator, rest = proxy_url(text).partition('://')
    if not separator or scheme.lower() != 'http':
        raise UrlError('is not an http:// proxy URL')
    netloc = rest.split('/', 1)[0].split('?', 1)[0].split('#', 1)[0]
    userinfo, at, hostport = netloc.rpartition('@')
    url = parse_url(f'http://{hostport}/')
    authorization = ''
    if at:
        username, _, password = userinfo.partition(':')
        if username:
            try:
                pair = f'{unquote(username)}:{unquote(password)}'.encode('latin-1')
            except UnicodeEncodeError:
                raise UrlError('has a login that is not Latin-1') from None
            authorization = 'Basic ' + base64.b64encode(pair).decode()
    return Proxy(url, authorization)


# one TLS context per CA bundle (path, size and change time) for the whole
# process: loading a bundle of some 140 certificates costs more CPU than a
# dozen requests, and every connection of every thread can share one
_TLS_LOCK = threading.Lock()
_TLS_CONTEXTS: dict[tuple[str, int, int], ssl.SSLContext] = {}


class _Context(ssl.SSLContext):
    """A client context that hands ssl an ASCII host name as bytes: from a
    str, ssl encodes it with the IDNA codec, whose import (encodings.idna,
    stringprep, unicodedata) cost every registry run 1.3-1.9 ms (-X
    importtime), 5.2 million instructions.  Every
    host parse_url and parse_proxy took is ASCII, in labels of 1-63
    characters, which the codec returns as they are."""

    def wrap_socket(
            self, sock: socket.socket, server_side: bool = False,
            do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
            server_hostname: str | bytes | None = None, session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        if isinstance(server_hostname, str) and server_hostname.isascii():
            server_hostname = server_hostname.encode('ascii')
        return super().wrap_socket(
            sock, server_side, do_handshake_on_connect, suppress_ragged_eofs,
            server_hostname, session,
        )


def tls_context(bundle: str) -> ssl.SSLContext:
    """A client context that verifies the certificate chain against
    ``bundle`` (a file or a folder, as ``requests`` took
    ``REQUESTS_CA_BUNDLE``) and the host name, TLS 1.2 at least (urllib3's
    floor); OSError or ssl.SSLError when the bundle cannot be used."""
    status = os.stat(bundle)
    key = (bundle, status.st_size, status.st_mtime_ns)
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(key)
        if context is None:
            context = _Context(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(['http/1.1'])
            if os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
            _TLS_CONTEXTS[key] = context
        return context


def _untrusting_context() -> ssl.SSLContext:
    """A client context that trusts no certificate at all (no CA loaded,
    verification required): its handshakes only tell whether a host speaks
    TLS.  One for the process."""
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(('', 0, 0))
        if context is None:
            context = _Context(ssl.PROTOCOL_TLS_CLIENT)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(['http/1.1'])
            _TLS_CONTEXTS['', 0, 0] = context
        return context


def default_bundle() -> str:
    """The CA bundle ``requests`` used when no variable names one."""
    import certifi  # requests' own dependency, and so the docker SDK's
    return str(certifi.where())


def dropped(connection: http.client.HTTPConnection) -> bool:
    """A kept connection that cannot carry another request: closed, or
    readable while idle (the server closed it, or sent what was not asked
    for), as urllib3 checks before reusing one."""
    sock = connection.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        if hasattr(select, 'poll'):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class _Layer:
    """One content coding undone, as urllib3 undid it for requests (gzip
    with several members, trailing garbage after the first ignored;
    deflate as zlib, else raw), never making more than its bound:
    _Oversize first.  A gzip bomb costs its bound, not its size."""

    def __init__(self, coding: str, limit: int) -> None:
        self.gzip = coding in ('gzip', 'x-gzip')
        self.object = zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)
        self.limit = limit
        self.size = 0
        self.first = True  # no output yet: deflate may still turn out raw
        self.seen = b''
        self.later_member = False
        self.done = False  # after a broken later gzip member: the rest ignored
        self.fed = False

    def feed(self, data: bytes) -> bytes:
        out = []
        self.fed = self.fed or bool(data)
        while data and not self.done:
            if self.first and not self.gzip:
                self.seen += data
            try:
                piece = self.object.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                if self.first and not self.gzip:
                    self.first = False
                    self.object = zlib.decompressobj(-zlib.MAX_WBITS)
                    data, self.seen = self.seen, b''
                    continue
                if self.later_member:
                    self.done = True
                    break
                raise
            self.size += len(piece)
            if self.size > self.limit:
                raise _Oversize()
            if piece:
                out.append(piece)
                if self.first:
                    self.first, self.seen = False, b''
            data = b''
            if self.object.eof and self.gzip and self.object.unused_data:
                data = self.object.unused_data
                self.object = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self.later_member = True
        return b''.join(out)

    def finish(self) -> None:
        """At the body's end: zlib.error when a stream was begun and not
        ended.  What it decoded so far was taken as the whole body (as
        urllib3 took it): a tag's answer without a digest header is its
        body's hash, so a manifest cut short in its trailing white space
        pinned the digest of a text no registry holds.  Go's readers,
        Docker's, say unexpected EOF."""
        if self.fed and not self.done and not self.object.eof:
            raise zlib.error('the coded body ends before its stream does')


def decoders(content_encoding: str, limit: int) -> list[_Layer]:
    """The codings to undo, last applied first, as urllib3 chose them: one
    it knows (gzip, x-gzip, deflate), or a list naming one it knows (the
    others then read as deflate); anything else is read as it is.
    _TooManyCodings past MAX_CODINGS, before any decoder is made."""
    codings = [c.strip() for c in content_encoding.lower().split(',')]
    known = ('gzip', 'x-gzip', 'deflate')
    if content_encoding.lower() in known or (len(codings) > 1 and any(c in known for c in codings)):
        if len(codings) > MAX_CODINGS:
            raise _TooManyCodings()
        return [_Layer(coding, limit) for coding in reversed(codings)]
    return []


def _left(end: float) -> float:
    """Seconds left until ``end``; socket.timeout, as a socket's own
    timeout would say, once it has passed."""
    left = end - time.monotonic()
    if left <= 0:
        raise socket.timeout('past the deadline')
    return left


def _addresses(host: str, port: int, end: float) -> list[tuple[Any, Any, int, str, Any]]:
    """The addresses of ``host`` to connect to, found by the deadline
    ``end`` (socket.timeout once it has passed, as a connect that was not
    answered by then).  An address (``127.0.0.1``, ``::1``) is read as
    one, at once; a name is resolved by the system (/etc/hosts, DNS) on a
    daemon thread that is left behind at the deadline: a resolver that
    never answers (a token realm's host on a stranger's pull request, a
    broken resolver in a build container) kept the worker for its own
    timeouts, 5 s a try by default, past --timeout, and the question got
    the run's fallback reason, not this connection's.  The host goes as
    bytes when it is ASCII (every host parse_url and parse_proxy took
    is): from a str, getaddrinfo imports the IDNA codec to encode it."""
    name: str | bytes = host
    try:
        name = host.encode('ascii')
    except UnicodeEncodeError:  # the system's encoding, as before, and its error
        pass
    try:
        return socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass  # a name, not an address
    found: list[list[tuple[Any, Any, int, str, Any]] | Exception] = []

    def resolve() -> None:
        try:
            found.append(socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM))
        except Exception as e:  # raised where the connection is made
            found.append(e)

    left = _left(end)  # past the deadline: no thread started, to be left behind
    resolver = threading.Thread(target=resolve, daemon=True, name='digestpin-resolve')
    resolver.start()
    resolver.join(left)
    if not found:
        raise socket.timeout(f'{host} was not resolved by the deadline')
    if isinstance(found[0], Exception):
        raise found[0]
    if host == 'localhost':
        # loopback by its name (plain HTTP, no proxy: loopback_host): only
        # a loopback address, as Docker takes a registry as insecure only
        # when its addresses are; /etc/hosts or a DNS answer naming another
        # had its credentials sent in clear text over the network
        kept = [address for address in found[0] if loopback_host(address[4][0])]
        if not kept:
            raise OSError(errno.EADDRNOTAVAIL, f'{host} resolves to no loopback address')
        return kept
    return found[0]


def _connect_by(connection: http.client.HTTPConnection, end: float) -> None:
    """Make ``connection`` connect by the deadline ``end``: each address of
    its host is given what is left of it, and the socket then times out at
    it.  http.client gives the connect and then the TLS handshake (after
    a proxy's CONNECT) the whole timeout each, taken when the connection
    was made: a thread that started connecting late (after a TLS probe
    that took most of the run) or to a host slow to accept and then to
    answer the handshake went on past the deadline, for up to the time
    left when it began.  A host name is resolved by the deadline too
    (``_addresses``)."""
    def create_connection(
            address: tuple[str, int], timeout: object = None, source_address: object = None,
    ) -> socket.socket:
        host, port = address
        error: OSError | None = None
        for family, kind, protocol, _, where in _addresses(host, port, end):
            sock = None
            try:
                # made in the try, as socket.create_connection makes it: a
                # family the kernel lacks (::1 first, IPv6 disabled) is one
                # address that failed, not the host
                sock = socket.socket(family, kind, protocol)
                sock.settimeout(_left(end))
                sock.connect(where)
            except OSError as e:
                if sock is not None:
                    sock.close()
                error = e
                continue
            # the handshake and the request: a connect that ended right at
            # the deadline times out at the next step, a host reached
            sock.settimeout(max(end - time.monotonic(), 0.001))
            return sock
        try:
            raise error if error is not None else OSError(f'no address for {host}')
        finally:
            # (as socket.create_connection does: the error's traceback holds
            # this frame, which held the error)
            error = None

    # http.client's own hook for making the socket (an attribute it sets
    # to socket.create_connection, which its stubs do not declare)
    connection._create_connection = create_connection  # type: ignore[attr-defined]


class _DeadlineIO(io.RawIOBase):
    """The socket's reader under an answer, whose timeout is set to what is
    left of the deadline before each read: http.client reads status lines
    (1xx answers, without end), headers and chunk trailers in loops of its
    own, and a registry that drips them within any fixed timeout would keep
    the thread reading long after the run returned."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, end: float) -> None:
        super().__init__()
        self.raw = raw
        self.sock = sock
        self.end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self.sock.settimeout(_left(self.end))
        return self.raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self.raw.close()
        super().close()


def _response_class(deadline: Deadline) -> type[http.client.HTTPResponse]:
    """http.client's answer, read through _DeadlineIO: one class for a
    registry's deadline, set on each of its connections."""

    class DeadlineResponse(http.client.HTTPResponse):
        def __init__(
                self, sock: socket.socket, debuglevel: int = 0,
                method: str | None = None, url: str | None = None,
        ) -> None:
            super().__init__(sock, debuglevel, method, url)
            raw = self.fp.detach()  # the socket's own reader, its reference kept
            self.fp = io.BufferedReader(_DeadlineIO(raw, sock, deadline.end))

        def _read_status(self) -> tuple[str, int, str]:
            """The status line of the final answer.  http.client skips
            ``100 Continue`` alone and took any other interim answer
            (``103 Early Hints``, which CDNs send, ``102 Processing``) for
            the answer itself: a failure without a body, its connection
            kept, and the real answer, arriving later, read as the next
            request's on that connection, every later answer of it one
            request behind.  They are skipped here, headers and all, as
            Go's client skips them (the deadline bounds how many); a
            ``101 Switching Protocols``, never asked for, leaves no HTTP
            on the connection: _Upgraded."""
            while True:
                version, status, reason = super()._read_status()  # type: ignore[misc]
                if status == 101:
                    raise _Upgraded()
                if not 101 < status < 200:
                    return version, status, reason
                http.client.parse_headers(self.fp)  # bounded as any answer's

    return DeadlineResponse


class _Upgraded(http.client.HTTPException):
    """A ``101 Switching Protocols`` answer: no request of ours asks for one."""


# what a proxy answers to CONNECT when it cannot reach the host itself (Bad
# Gateway, Service Unavailable, Gateway Timeout); a 403 or 407 is its refusal
_PROXY_CANNOT_REACH = frozenset((502, 503, 504))


class _ProxyRefused(OSError):
    """The proxy answered the CONNECT with another status than 200."""

    def __init__(self, status: int) -> None:
        super().__init__(f'the proxy answered {status} to CONNECT')
        self.status = status


def _unreadable(host: str, e: BaseException) -> str:
    """The reason for a host that accepted the connection and then sent what
    cannot be read as an HTTP answer, by the kind of error (never by its
    message, which may carry what the host sent)."""
    if isinstance(e, http.client.RemoteDisconnected):
        why = 'closed without an answer'
    elif isinstance(e, ConnectionError):
        why = 'the connection was reset'
    elif isinstance(e, http.client.LineTooLong):
        why = 'a line over 64 KiB'
    elif isinstance(e, http.client.BadStatusLine):
        why = 'not an HTTP status line'
    elif isinstance(e, _Upgraded):
        why = '101 Switching Protocols, never asked for'
    elif type(e) is http.client.HTTPException:  # http.client's only plain one
        why = 'more than 100 header lines'
    elif isinstance(e, ssl.SSLError):
        why = 'the TLS session broke off'
    else:
        why = type(e).__name__
    return f'{host} accepted the connection but its answer could not be read ({why})'


class _Tunnel(http.client.HTTPSConnection):
    """HTTPS to ``registry`` in a CONNECT tunnel through ``proxy``, the
    proxy's login in the CONNECT alone.  The CONNECT is ours: http.client
    before Python 3.11.9 named an IPv6 registry without its brackets
    (``CONNECT 2001:db8::1:5000``, which a proxy refuses or reads as the
    address 2001:db8::1:5000), where urllib3 sent RFC 9110's
    ``[2001:db8::1]:5000``."""

    def __init__(self, proxy: Proxy, registry: Url, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(proxy.url.host, proxy.url.port, timeout=timeout, context=context)
        # http.client then calls _tunnel, and verifies the registry's name
        self.set_tunnel(registry.host, registry.port)
        host = f'[{registry.host}]' if ':' in registry.host else registry.host
        authority = f'{host}:{registry.port}'
        lines = [f'CONNECT {authority} HTTP/1.1', f'Host: {authority}']
        if proxy.authorization:
            lines.append(f'Proxy-Authorization: {proxy.authorization}')
        self.connect_request = ('\r\n'.join(lines) + '\r\n\r\n').encode('ascii')

    def _tunnel(self) -> None:
        self.send(self.connect_request)
        response = self.response_class(self.sock, method='CONNECT')
        try:
            response.begin()  # its status line and headers, bounded as any answer's
        finally:
            response.close()  # its file only: the socket carries the TLS next
        if response.status != 200:
            self.close()
            raise _ProxyRefused(response.status)


class Answer:
    """An HTTP answer whose body is not read yet, on the connection that
    carried it; the connection goes back to its registry's pool once the
    body is read whole, and is closed otherwise."""

    __slots__ = ('response', 'connection', 'give_back', 'method', 'host')

    def __init__(
            self, response: http.client.HTTPResponse,
            connection: http.client.HTTPConnection,
            give_back: Callable[[http.client.HTTPConnection], None],
            method: str, host: str,
    ) -> None:
        self.response = response
        self.connection = connection
        self.give_back = give_back
        self.method = method
        self.host = host  # as messages name it: 'host:port'

    @property
    def status_code(self) -> int:
        return self.response.status

    def header(self, name: str) -> str:
        """A header's lines joined with ', ' (as urllib3 joined them for
        requests: two digest headers are one malformed value, two
        challenges are read apart), '' when absent."""
        values = self.response.headers.get_all(name)
        return ', '.join(values) if values else ''

    def read(self, limit: int, deadline: Deadline | None = None) -> bytes:
        """The whole body; _Oversize past ``limit`` bytes, decoded or as
        sent (as Content-Length is checked: a coded body that decodes to
        nothing, empty deflate blocks without end, is not read whole),
        IncompleteRead when it ends before its Content-Length.  One read
        of the socket at a time, the deadline checked after each.  The
        connection is kept when the body was read whole and the server
        keeps it open."""
        chunks = []
        size = 0
        sent = 0
        whole = False
        try:
            layers = decoders(self.header('Content-Encoding'), limit)
            while True:
                chunk = self.response.read1(64 * 1024)
                if not chunk:
                    break
                sent += len(chunk)
                if sent > limit:
                    raise _Oversize()
                for layer in layers:
                    chunk = layer.feed(chunk)
                size += len(chunk)
                if size > limit:
                    raise _Oversize()
                chunks.append(chunk)
                if deadline is not None:
                    deadline.remaining()
            if self.response.length:  # read1 does not raise it itself
                raise http.client.IncompleteRead(b''.join(chunks), self.response.length)
            for layer in layers:
                layer.finish()
            whole = True
        finally:
            keep = whole and not self.response.will_close and self.connection.sock is not None
            self.response.close()  # its file only: the socket stays with the connection
            if keep:
                self.give_back(self.connection)
            else:
                self.connection.close()
        return b''.join(chunks)

    def release(self) -> None:
        """Done with an answer whose body does not matter: a small body is
        read so that the connection is kept for the next request; a large
        one (or a broken one) closes it."""
        length = _ascii_number(self.header('Content-Length'))
        if self.method == 'HEAD' or (length is not None and length <= MAX_DRAINED):
            try:
                self.read(MAX_DRAINED)
            except Exception:  # a connection that breaks is not kept: that is all
                return
            return
        self.close()

    def close(self) -> None:
        self.response.close()
        self.connection.close()


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise _fail(f'no complete answer within {self.seconds:g} s (--timeout)')
        return left


class Registry:
    """One registry host, asked from up to ``connections`` threads at once,
    each over its own kept-alive connection; it holds the tokens it was
    given, per host and repository, for all of them."""

    def __init__(
            self, domain: str, deadline: Deadline, insecure: Iterable[str],
            credentials: Callable[[str], Logins] = logins_for,
            connections: int = 1,
    ) -> None:
        self.domain = domain
        self.host = api_host(domain)
        self.deadline = deadline
        self.insecure = _insecure_set(insecure)
        self.credentials = credentials
        self.scheme = ''  # https, or http once https failed where allowed
        # read from the environment once: the proxy variables (never
        # ~/.netrc, whose login the user gave for something else), and the
        # CA bundle ('' for certifi's)
        self.proxies = environment_proxies()
        self.no_proxy = environment_no_proxy()
        self.bundle = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or ''
        # idle kept-alive connections by (scheme, host, port) and proxy; at
        # most ``connections`` idle per key (each thread holds one at a time)
        self.connections = max(1, connections)
        self._idle: dict[tuple[tuple[str, str, int], Proxy | None], list[http.client.HTTPConnection]] = {}
        self._idle_lock = threading.Lock()
        # (scheme, host, port) and scope -> the Authorization header for it
        self.authorization: dict[tuple[tuple[str, str, int], str], str] = {}
        self._logins = Logins()
        # each helper's answer, asked once for all the repositories it is for
        self._helper_answers: dict[Helper, Credential | CredentialError | None] = {}
        self._credential_read = False
        self._credential_error = ''  # the files could not be read: every query's failure
        # repository -> why its login could not be had (a broken entry, a
        # helper that failed): the failure of every query of it
        self._credential_failures: dict[str, str] = {}
        self._own: Url | None = None
        # the threads share what is learnt once: the user's credential, each
        # scope's token (fetched under the scope's lock, so the token server
        # is asked once per scope however many connections were refused
        # together), and when a 429 lets the registry be asked again
        self._lock = threading.Lock()
        self._credential_lock = threading.Lock()
        self._scope_locks: dict[str, threading.Lock] = {}
        self._tls_lock = threading.Lock()
        self._tls: bool | None = None  # whether the own host speaks TLS, once asked
        # the own host was seen to speak TLS: by the probe's own handshake
        # (not through a proxy's tunnel, where nothing is learnt before the
        # request), or by an answer over HTTPS
        self._tls_seen = False
        # a connection has taken on the TLS probe of a loopback host (the
        # others ask over plain HTTP meanwhile: _ask_while_probing), and
        # the probe has ended, whatever it found
        self._probing = False
        self._probed = threading.Event()
        # a TCP connection was accepted (the registry, its TLS probe, a
        # proxy): from then on a refused connection is no longer offline
        self._reached = False
        # every answer is read with the socket timing out at the deadline
        self._response_class = _response_class(deadline)
        self._not_before = 0.0

    def close(self) -> None:
        with self._idle_lock:
            idle = [c for connections in self._idle.values() for c in connections]
            self._idle.clear()
        for connection in idle:
            connection.close()

    def own_url(self, target: str, scheme: str = '') -> Url:
        """The registry's own URL for ``target``, by ``scheme``, else by the
        scheme found to work, else HTTPS."""
        if self._own is None:
            try:
                self._own = parse_url(f'https://{self.host}/')
            except UrlError as e:
                raise _fail(f'the registry name {self.host} {e}') from None
        scheme = scheme or self.scheme or 'https'
        explicit = self.host.rpartition(']')[2].count(':') == 1
        port = self._own.port if explicit else DEFAULT_PORTS[scheme]
        return Url(scheme, self._own.host, port, target)

    def is_own(self, url: Url) -> bool:
        """The registry itself (its credentials may go there), by parsed
        host and port, over either scheme."""
        return url.origin == self.own_url(url.target, url.scheme).origin

    def plain_http_allowed(self, url: Url) -> bool:
        """Loopback or listed as insecure, by parsed host (and port when the
        list gives one)."""
        return loopback_host(url.host) or (url.host, url.port) in self.insecure or (
            (url.host, 0) in self.insecure and url.port == DEFAULT_PORTS[url.scheme]
        )

    # -- the questions -------------------------------------------------

    def ask(self, query: Query) -> Manifest | Missing | Failed:
        try:
            if query.full:
                return self._manifest(query)
            return self._digest(query)
        except _Stop as stop:
            return stop.answer
        except Exception as e:
            return _internal_error(e)

    def fetch(
            self, repository: str, path: str, limit: int, what: str,
            absent: tuple[int, ...] = (404,),
    ) -> bytes | Missing | Failed:
        """The body of ``GET /v2/<repository>/<path>`` (a manifest, a blob,
        the referrers list), at most ``limit`` bytes, asked as every other
        question is (credentials, deadline, redirects): what the signature
        checks of ``trust`` read.  The caller checks digests.  ``absent``:
        the statuses that mean nothing is there (Missing), not a failure."""
        try:
            response = self._request(
                'GET', Query(self.domain, repository, path), path, absent,
            )
            return self._body(response, limit, what)
        except _Stop as stop:
            return stop.answer

    def _digest(self, query: Query) -> Manifest:
        """The digest the registry serves for a tag (HEAD); the bytes are
        fetched and hashed only when no digest header comes with it."""
        response = self._request('HEAD', query, f'manifests/{query.reference}')
        response.release()
        digest = response.header('Docker-Content-Digest')
        if not digest:
            return self._manifest(query)
        self._check_digest(digest, query)
        media_type = response.header('Content-Type').split(';')[0].strip()
        return Manifest(digest, media_type in INDEX_MEDIA_TYPES, ())

    def _manifest(self, query: Query) -> Manifest:
        response = self._request('GET', query, f'manifests/{query.reference}')
        body = self._body(response, MAX_MANIFEST_BYTES, 'manifest')
        header = response.header('Docker-Content-Digest')
        if header and digest_problem(header) is not None:
            raise _fail('the registry sent a malformed Docker-Content-Digest header')
        # the bytes must match the header and the digest asked for, each by
        # its own algorithm (a registry may name sha512 when asked by sha256)
        if header and _hashed(body, header) != header:
            raise _fail(
                f'the manifest bytes do not match the Docker-Content-Digest '
                f'header ({header}); not used',
            )
        if ':' in query.reference and _hashed(body, query.reference) != query.reference:
            raise _fail('the manifest bytes do not match the digest asked for; not used')
        digest = (
            query.reference if ':' in query.reference
            else header or _hashed(body, 'sha256:')
        )
        # json imported here, not with the module: a HEAD answer carries its
        # digest, so fix --source registry never needs it
        import json
        try:
            manifest = json.loads(body)
        except (ValueError, RecursionError):
            raise _fail('the manifest is not JSON') from None
        if not isinstance(manifest, dict):
            raise _fail('the manifest is not a JSON object')
        media_type = manifest.get('mediaType') or response.header(
            'Content-Type',
        ).split(';')[0].strip()
        if not isinstance(media_type, str):
            raise _fail('the manifest\'s mediaType is not a string')
        if media_type in INDEX_MEDIA_TYPES or isinstance(manifest.get('manifests'), list):
            return Manifest(digest, True, self._index_platforms(manifest))
        if not query.platform:
            return Manifest(digest, False, ())
        return Manifest(digest, False, self._image_platform(query, manifest))

    @staticmethod
    def _index_platforms(manifest: dict[str, Any]) -> tuple[str, ...]:
        platforms = []
        for entry in manifest.get('manifests') or ():
            platform = entry.get('platform') if isinstance(entry, dict) else None
            if isinstance(platform, dict) and all(
                isinstance(platform.get(k, ''), str) for k in ('os', 'architecture', 'variant')
            ) and platform.get('os') != 'unknown':  # attestations
                platforms.append(platform_name(platform))
        return tuple(platforms)

    def _image_platform(self, query: Query, manifest: dict[str, Any]) -> tuple[str, ...]:
        config = manifest.get('config')
        digest = config.get('digest') if isinstance(config, dict) else None
        if not isinstance(digest, str) or digest_problem(digest) is not None:
            return ()
        response = self._request('GET', query, f'blobs/{digest}')
        body = self._body(response, MAX_SMALL_BYTES, 'image config')
        if _hashed(body, digest) != digest:
            raise _fail('the image config does not match its digest; not used')
        import json
        try:
            image = json.loads(body)
        except (ValueError, RecursionError):
            raise _fail('the image config is not JSON') from None
        if not isinstance(image, dict) or not all(
            isinstance(image.get(k, ''), str) for k in ('os', 'architecture', 'variant')
        ):
            raise _fail('the image config is malformed')
        if not image.get('os') or not image.get('architecture'):
            return ()
        return (platform_name(image),)

    @staticmethod
    def _check_digest(digest: str, query: Query) -> None:
        if digest_problem(digest) is not None:
            raise _fail('the registry sent a malformed Docker-Content-Digest header')
        if ':' in query.reference and digest != query.reference:
            raise _fail('the registry answered for another digest; not used')

    # -- HTTP ----------------------------------------------------------

    def _url(self, query: Query, path: str) -> Url:
        return self.own_url(f'/v2/{query.repository}/{path}')

    def _request(
            self, method: str, query: Query, path: str, absent: tuple[int, ...] = (404,),
    ) -> Answer:
        """One API request with authentication, 429 waits and redirects;
        a 2xx response (its body not read yet) or _Stop (Missing for the
        ``absent`` statuses)."""
        scope = f'repository:{query.repository}:pull'
        answered: set[tuple[str, str, int]] = set()  # hosts whose challenge was answered
        retries = 0
        while True:
            self._wait_turn()
            sent: dict[tuple[str, str, int], str] = {}
            guessed = not self.scheme  # HTTPS until a connection learns otherwise
            response, url = self._send_following(
                method, self._url(query, path), scope, sent, guessed,
            )
            status = response.status_code
            if status == 401 and url.origin not in answered:
                challenge = response.header('WWW-Authenticate')
                response.release()
                self._renew(challenge, scope, url, sent.get(url.origin, ''), query.repository)
                answered.add(url.origin)
                continue

            if status == 429 and retries < MAX_RETRIES:
                response.release()
                wait = _retry_after(response.header('Retry-After') or None)
                wait = 1.0 if wait is None else wait
                if wait >= self.deadline.remaining():
                    raise _fail(
                        f'429 Too Many Requests from {self.host}: asked to wait '
                        f'{wait:g} s, past the deadline (--timeout)',
                    )
                with self._lock:
                    self._not_before = max(self._not_before, time.monotonic() + wait)
                retries += 1
                continue
            if 200 <= status < 300:
                return response
            response.release()
            what = f'{self.domain}/{query.repository}'
            if status in absent:
                raise _Stop(Missing(f'{what} has no manifest {query.reference} ({status})'))
            if status == 401 and not self.is_own(url):
                raise _fail(
                    f'{url.netloc}, where {self.host} redirected, refused anonymous '
                    f'access to {what} (401)',
                )
            if status == 401:
                credential = self._user_credential(query.repository)
                if credential is None:
                    raise _fail(
                        f'{self.host} refused anonymous access to {what} (401): '
                        f'log in (docker login / podman login)',
                    )
                raise _fail(
                    f'{self.host} refused the credentials from '
                    f'{credential.origin} for {what} (401): log in again '
                    f'(docker login / podman login)',
                )
            if status == 403:
                raise _fail(f'{self.host} denied access to {what} (403)')
            if status == 429:
                raise _fail(
                    f'429 Too Many Requests from {self.host}, still after '
                    f'{MAX_RETRIES} waits',
                )
            raise _fail(f'{self.host} answered {status} for {what}')

    def _renew(
            self, challenge: str, scope: str, url: Url, refused: str, repository: str,
    ) -> None:
        """Answer the challenge of the host at ``url`` for ``scope``, which
        refused the Authorization header ``refused`` ('' for none), once for
        all the connections: those refused meanwhile with the same header
        wait, then take the new one."""
        with self._lock:
            scope_lock = self._scope_locks.setdefault(scope, threading.Lock())
        # whoever holds the lock is bounded by the deadline too: a little
        # past it, its outcome (a credential helper that hung) is this
        # request's as well
        waited = not scope_lock.acquire(blocking=False)
        acquired = not waited or scope_lock.acquire(
            timeout=max(0.0, self.deadline.end - time.monotonic()) + LOCK_GRACE,
        )
        try:
            failure = self._credential_error or self._credential_failures.get(repository)
            if failure:
                raise _fail(failure)
            renewed = self.authorization.get((url.origin, scope), '') != refused
            if waited and not renewed and (not acquired or time.monotonic() >= self.deadline.end):
                # the wait for another connection's token (its realm slow
                # or hung) took the run: that is this request's reason, not
                # the deadline's own words at its next step
                raise _fail(
                    f'the token of {self.host} did not come within '
                    f'{self.deadline.seconds:g} s (--timeout)',
                )
            if not renewed:
                self.authorization[url.origin, scope] = self._authorize(
                    challenge, scope, url, repository,
                )
        finally:
            if acquired:
                scope_lock.release()

    def _wait_turn(self) -> None:
        """Wait while a 429 of this registry holds every connection back;
        _Stop when the wait would pass the deadline."""
        wait = self._not_before - time.monotonic()
        if wait > 0:
            if wait >= self.deadline.remaining():
                raise _fail(
                    f'429 Too Many Requests from {self.host}: asked to wait '
                    f'{wait:g} s, past the deadline (--timeout)',
                )
            time.sleep(wait)

    def _send_following(
            self, method: str, url: Url, scope: str,
            sent: dict[tuple[str, str, int], str], guessed: bool = False,
    ) -> tuple[Answer, Url]:
        """Send, following redirects by hand; each host gets only the
        Authorization header its own challenge earned, so the registry's
        credentials never reach a host it redirects to (``sent``: which
        header went to each host).  The response and the URL it came from."""
        for _ in range(MAX_REDIRECTS + 1):
            headers = {'Accept': ACCEPT}
            authorization = self.authorization.get((url.origin, scope), '')
            if authorization:
                headers['Authorization'] = authorization
            sent[url.origin] = authorization
            response, url = self._send(method, url, headers, guessed)
            guessed = False
            if response.status_code not in REDIRECTS:
                return response, url
            location = response.header('Location')
            response.release()
            try:
                target = parse_url(location, base=url)
            except UrlError as e:
                raise _fail(f'{self.host} redirected to an address that {e}; not followed') from None
            if target.scheme == 'http' and url.scheme == 'https':
                raise _fail(f'{self.host} redirected from HTTPS to plain HTTP; not followed')
            if target.scheme == 'http' and not self.plain_http_allowed(target):
                raise _fail(
                    f'{self.host} redirected to plain HTTP at {target.netloc}, '
                    f'neither loopback nor listed as insecure; not followed',
                )
            if response.status_code == 303:
                method = 'GET'
            url = target
        raise _fail(f'{self.host} redirected more than {MAX_REDIRECTS} times')

    def _send(
            self, method: str, url: Url, headers: dict[str, str], guessed: bool = False,
    ) -> tuple[Answer, Url]:
        """The response, and the URL it came from: the registry's own
        host is tried over HTTPS first, then over HTTP where allowed.
        ``guessed``: ``url`` was built before its scheme was known; another
        connection may have learnt meanwhile that HTTPS fails there."""
        self.deadline.remaining()  # _Stop: past the deadline
        if guessed and self.scheme == 'http' and url.scheme == 'https' and self.is_own(url):
            url = self.own_url(url.target, 'http')
        if not self.scheme and self.is_own(url):
            plain = self.own_url(url.target, 'http')
            if self.plain_http_allowed(plain):
                early = self._ask_while_probing(method, plain, headers)
                if early is not None:
                    return early, plain
                # as Docker does for insecure registries: HTTPS first, then HTTP
                try:
                    if not self._tls_spoken(url):
                        raise _fail('no TLS')
                    response = self._raw(method, url, headers)
                except _Stop as tls_failure:
                    with self._lock:
                        # plain HTTP only to a host not seen to speak TLS:
                        # where its handshake was seen, or another
                        # connection was answered over HTTPS meanwhile, a
                        # failed HTTPS request (closed, reset, timed out)
                        # is this question's answer.  Falling back sent
                        # the question, and then the login its plain
                        # answer's challenge asked for, in clear text, used
                        # that answer's digest, and set the scheme of
                        # every other connection to http.
                        if self._tls_seen:
                            raise
                        self.scheme = 'http'
                    try:
                        return self._raw(method, plain, headers), plain
                    except _Stop:
                        if self._tls and not _unreachable(tls_failure):
                            # it speaks TLS: why HTTPS failed is the answer
                            raise tls_failure from None
                        # HTTPS connected to nothing (a proxy that could not
                        # reach it, which says nothing of TLS): the plain
                        # request's failure is the answer, not being offline
                        raise
                self.scheme = 'https'
                self._tls_seen = True
                return response, url
            self.scheme = 'https'
        return self._raw(method, url, headers), url

    def _tls_spoken(self, url: Url) -> bool:
        """``_speaks_tls``, learnt once per registry: the connections that
        start together wait for the first one's handshake (bounded by the
        deadline) instead of each making its own."""
        acquired = self._tls_lock.acquire(
            timeout=max(0.0, self.deadline.end - time.monotonic()) + LOCK_GRACE,
        )
        if not acquired:
            self.deadline.remaining()  # _Stop: past the deadline
            raise _fail(f'{self.host} did not answer within {self.deadline.seconds:g} s (--timeout)')
        try:
            if self._tls is None:
                try:
                    self._tls = self._speaks_tls(url, self.deadline.remaining())
                finally:
                    self._probed.set()
            return self._tls
        finally:
            self._tls_lock.release()

    def _ask_while_probing(
            self, method: str, plain: Url, headers: dict[str, str],
    ) -> Answer | None:
        """The answer over plain HTTP to a loopback registry's own host,
        asked while another connection's TLS probe is in flight, so that
        the probe's round trip is not waited for before every request:
        None when this connection is the one to probe, or when the answer
        may not be used (the caller then asks as before: HTTPS first).

        Why this is safe:

        - the request goes out only while no scheme is known, to loopback
          (nothing crosses a network: a host merely listed as insecure is
          probed first, so that no repository name goes in clear text to
          a host that speaks TLS), and only without an Authorization
          header (none exists before a challenge was answered, and no
          challenge is answered before the probe ends);
        - its answer is not even read before the probe has ended (the
          request is held in ``_raw``): it is used only when the host was
          found to speak no TLS, where the request would have gone over
          plain HTTP anyway, the same request on the same connection.  A
          host that speaks TLS gets its plain-HTTP connection closed
          unread, and the question is asked over HTTPS as if this had
          not happened: no status, header, redirect or challenge of that
          answer is ever seen, so no credential follows it;
        - a plain-HTTP request that fails (refused, broken off) is
          forgotten too: the request is asked again as before, so that
          its failure reads as it did (offline or not);
        - the probe holds this connection's place: each thread holds one
          connection at a time, the prober its probe, so --connections
          still bounds the connections open at once;
        - the wait for the probe is bounded by the deadline, as the probe
          is."""
        if not loopback_host(plain.host) or 'Authorization' in headers:
            return None
        with self._lock:
            if self._probed.is_set():
                return None  # the scheme is known: asked as before
            if not self._probing:
                self._probing = True  # this connection probes, as before
                return None

        def verdict() -> bool:
            """True when the host was found to speak no TLS: then, and only
            then, the plain answer may be read."""
            self._probed.wait(max(0.0, self.deadline.end - time.monotonic()) + LOCK_GRACE)
            return self._tls is False

        try:
            answer = self._raw(method, plain, headers, hold=verdict)
        except (_Stop, _Discarded):
            return None
        self.scheme = 'http'
        return answer

    def _speaks_tls(self, url: Url, timeout: float) -> bool:
        """Whether the registry's own host (loopback or listed as insecure,
        where HTTP may follow) begins a TLS handshake, learnt without the
        CA bundle, whose loading costs more CPU than a hundred requests on
        loopback: a handshake against no trust anchor at all fails at the
        certificate when the host speaks TLS (which the request then asks
        over a connection verified against the bundle), and before it
        when it does not.  This connection carries no request, whatever
        its outcome; through a proxy, the request itself finds out."""
        if self._proxy(url) is not None:
            return True
        connection = http.client.HTTPSConnection(
            url.host, url.port, timeout=timeout, context=_untrusting_context(),
        )
        _connect_by(connection, self.deadline.end)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError:
            self._reached = self._tls_seen = True
            return True
        except (OSError, http.client.HTTPException, ValueError):
            # accepted, then no handshake: reached all the same
            self._reached = self._reached or connection.sock is not None
            return False
        finally:
            connection.close()
        self._reached = self._tls_seen = True
        return True  # no anchor verified it: the request's own handshake decides

    def _proxy(self, url: Url) -> Proxy | None:
        """The proxy for a request, chosen here: never one for loopback
        (Go's rule), else HTTPS_PROXY or HTTP_PROXY by the URL's scheme as
        NO_PROXY allows (environment_proxies)."""
        if loopback_host(url.host) or no_proxy_for(url, self.no_proxy):
            return None
        setting = self.proxies.get(url.scheme)
        if setting is None:
            return None
        if setting.value[:8].lower() == 'https://':
            raise _fail(
                f'the proxy set for {url.netloc} ({setting.variable}) '
                f'is an https:// proxy URL, which digestpin does not use: name the proxy '
                f'with http:// (the registry\'s TLS runs end to end through it)',
            )
        try:
            return parse_proxy(setting.value)
        except UrlError:
            # the user's proxy setting, not the registry: named by its
            # variable, never printed (it may hold a password)
            raise _fail(
                f'the proxy set for {url.netloc} ({setting.variable}) '
                f'is not a usable http or https proxy URL',
            ) from None

    def _connect(self, url: Url, proxy: Proxy | None, timeout: float) -> http.client.HTTPConnection:
        """A new connection (not opened yet: http.client opens it with the
        first request), which connects by the deadline: HTTPS verified
        against the CA bundle, through the proxy in a CONNECT tunnel whose
        TLS is the registry's, end to end; plain HTTP to the proxy, which
        is sent the absolute URL."""
        connection = self._new_connection(url, proxy, timeout)
        _connect_by(connection, self.deadline.end)
        return connection

    def _new_connection(self, url: Url, proxy: Proxy | None, timeout: float) -> http.client.HTTPConnection:
        if url.scheme == 'http':
            where = proxy.url if proxy is not None else url
            return http.client.HTTPConnection(where.host, where.port, timeout=timeout)
        try:
            context = tls_context(self.bundle or default_bundle())
        except (OSError, ssl.SSLError, ImportError):
            raise _fail(
                'the CA bundle (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) cannot be read '
                'as certificates' if self.bundle else
                'certifi\'s CA bundle cannot be read (pip install certifi, or name a '
                'bundle in REQUESTS_CA_BUNDLE)',
            ) from None
        if proxy is None:
            return http.client.HTTPSConnection(url.host, url.port, timeout=timeout, context=context)
        return _Tunnel(proxy, url, timeout, context)

    def _take(self, key: tuple[tuple[str, str, int], Proxy | None]) -> http.client.HTTPConnection | None:
        """An idle connection for ``key`` that can still carry a request."""
        while True:
            with self._idle_lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                connection = idle.pop()
            if not dropped(connection):
                return connection
            connection.close()

    def _give_back(
            self, key: tuple[tuple[str, str, int], Proxy | None], connection: http.client.HTTPConnection,
    ) -> None:
        with self._idle_lock:
            idle = self._idle.get(key, [])
            kept = sum(len(connections) for connections in self._idle.values())
            if len(idle) < self.connections and kept < self.connections * KEPT_HOSTS:
                self._idle.setdefault(key, idle).append(connection)
                return
        connection.close()

    def _raw(
            self, method: str, url: Url, headers: dict[str, str],
            hold: Callable[[], bool] | None = None,
    ) -> Answer:
        """One request, its answer's body not read yet.  A kept connection
        the server closed meanwhile is replaced once (GET and HEAD only are
        sent, so asking again is safe).  ``hold``: asked once the request
        is sent, before anything of the answer is read; when it says no,
        the connection is closed unread (_Discarded)."""
        host = url.netloc
        proxy = self._proxy(url)
        key = (url.origin, proxy)
        sent = {
            'User-Agent': USER_AGENT, 'Accept-Encoding': 'gzip, deflate',
            'Connection': 'keep-alive', **headers,
        }
        target = url.target
        if proxy is not None and url.scheme == 'http':
            target = url.text  # the proxy forwards it; its login is for it alone
            if proxy.authorization:
                sent['Proxy-Authorization'] = proxy.authorization
        for attempt in range(2):
            # what is left now, not what was when the request began (a TLS
            # probe may have taken most of it meanwhile)
            timeout = self.deadline.remaining()
            connection = self._take(key)
            kept = connection is not None
            if connection is None:
                connection = self._connect(url, proxy, timeout)
                connection.response_class = self._response_class
                try:
                    connection.connect()
                except BaseException as e:
                    error = self._not_connected(e, connection, url)
                    connection.close()
                    try:
                        raise error from None
                    finally:
                        # its traceback holds this frame, which held it: a
                        # cycle only the collector frees, off while a
                        # command runs (each failed connection's frames
                        # were kept to the end of the run)
                        del error
                self._reached = True
            else:
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
            try:
                connection.request(method, target, headers=sent)
                if hold is not None and not hold():
                    raise _Discarded()
                response = connection.getresponse()
            except BaseException as e:
                connection.close()
                if isinstance(e, _Discarded):
                    raise
                if kept and attempt == 0 and isinstance(e, (ConnectionError, http.client.BadStatusLine)):
                    continue  # closed while idle: a new connection asks again
                if isinstance(e, socket.timeout):
                    raise _fail(f'{host} did not answer within {self.deadline.seconds:g} s (--timeout)') from None
                if isinstance(e, (OSError, http.client.HTTPException, ValueError)):
                    # it was reached: what came back is not HTTP, or broke off
                    raise _fail(_unreadable(host, e)) from None
                raise
            answer = Answer(response, connection, lambda c: self._give_back(key, c), method, host)
            if not response.chunked and _disagreeing_lengths(answer.header('Content-Length')):
                answer.close()
                raise _fail(f'{host} sent an answer that could not be read (InvalidHeader)')
            return answer
        raise AssertionError('unreachable')  # pragma: no cover

    def _not_connected(
            self, e: BaseException, connection: http.client.HTTPConnection, url: Url,
    ) -> BaseException:
        """Why a new connection could not carry a request.  Only a
        connection never accepted (no such name, refused, no route, no
        answer to the connect within the deadline) is unreachable, which
        is what verify --offline-ok forgives as being offline, and only
        while no connection of this registry was accepted: a token realm
        or a redirect's host that refuses was named by a registry that
        answered, and a registry that refuses a connection after
        accepting one chose which question goes unanswered.  A host
        that accepted it and then failed the TLS handshake (an expired or
        untrusted certificate, no TLS spoken), or a proxy that refused
        the tunnel, was reached: that is a failure at the reference, never
        forgiven, as a careful user expects of a certificate that
        expired or of someone in the middle."""
        host = url.netloc
        if isinstance(e, _ProxyRefused):
            if e.status in _PROXY_CANNOT_REACH and not self._reached:
                # the proxy could not reach the host either: offline behind
                # a proxy, as a refused connection is without one
                return _Stop(Failed(
                    f'cannot connect to {host} (the proxy answered {e.status} to CONNECT)',
                    unreachable=True,
                ))
            return _fail(f'the proxy refused the tunnel to {host} ({e.status})')
        if not isinstance(e, (OSError, http.client.HTTPException, ValueError)):
            return e  # ^C, SIGTERM, a bug: not ours to turn into an answer
        if connection.sock is None and isinstance(e, OSError):
            # the TCP connection itself (to the registry, or to the proxy)
            if not self._reached:
                return _Stop(Failed(f'cannot connect to {host}', unreachable=True))
            if isinstance(e, socket.timeout):
                return _fail(f'{host} did not answer within {self.deadline.seconds:g} s (--timeout)')
            if self.is_own(url):
                return _fail(f'cannot connect to {host} again, after it accepted a connection (not offline)')
            return _fail(f'cannot connect to {host}, named by {self.host}, which answered (not offline)')
        if isinstance(e, ssl.SSLCertVerificationError):
            why = ' '.join(str(e.verify_message).split())[:200]
            return _fail(f'TLS with {host} failed: its certificate is not trusted ({why})')
        if isinstance(e, ssl.SSLError):
            return _fail(f'TLS with {host} failed (a plain HTTP registry must be listed as insecure)')
        if isinstance(e, socket.timeout):
            return _fail(f'{host} did not answer within {self.deadline.seconds:g} s (--timeout)')
        return _fail(_unreadable(host, e))

    def _body(self, response: Answer, limit: int, what: str) -> bytes:
        host = response.host
        length = _ascii_number(response.header('Content-Length'))
        if length is not None and length > limit:
            response.close()
            raise _fail(f'{host} sent a {what} over {limit // 1024} KiB; not read')
        try:
            return response.read(limit, self.deadline)
        except _Oversize:
            raise _fail(f'{host} sent a {what} over {limit // 1024} KiB; not read') from None
        except _TooManyCodings:
            raise _fail(f'{host} sent a {what} in more than {MAX_CODINGS} content codings; not read') from None
        except socket.timeout:  # the socket's own timeout is the deadline
            raise _fail(f'no complete answer within {self.deadline.seconds:g} s (--timeout)') from None
        except (OSError, http.client.HTTPException, ValueError, zlib.error):
            raise _fail(f'{host} broke off the {what}') from None

    # -- authentication --------------------------------------------------

    def _user_credential(self, repository: str) -> Credential | None:
        """The user's login for ``repository`` of this registry (the
        files read, and each helper run, once, whatever the threads and
        repositories); a login that cannot be used fails the repositories
        it is for, not the others (credential_in)."""
        with self._credential_lock:
            logins = self._read_logins()
            try:
                return credential_in(
                    logins, repository, self.deadline.remaining(), self._helper_answers,
                )
            except CredentialError as e:
                failure = self._credential_failures[repository] = f'credentials for {self.domain}: {e}'
                raise _fail(failure) from None
            except _Stop:
                raise
            except Exception as e:
                # a bug met while a helper was asked: every question says
                # so, none goes on as if the user had no credential
                self._credential_error = (
                    f'credentials for {self.domain}: {_internal_error(e).reason}'
                )
                raise _fail(self._credential_error) from None

    def _read_logins(self) -> Logins:
        if not self._credential_read:
            self._credential_read = True
            try:
                self._logins = self.credentials(self.domain)
            except CredentialError as e:
                self._credential_error = f'credentials for {self.domain}: {e}'
            except Exception as e:
                # a bug met while reading it: every question says so, none
                # goes on as if the user had no credential
                self._credential_error = (
                    f'credentials for {self.domain}: {_internal_error(e).reason}'
                )
        if self._credential_error:  # the same line for every query
            raise _fail(self._credential_error)
        return self._logins

    def _authorize(self, challenge: str, scope: str, url: Url, repository: str) -> str:
        """The Authorization header the challenge of the host at ``url``
        asks for: with the user's credentials only when that host is the
        registry itself; a host it redirected to is answered anonymously."""
        own = self.is_own(url)
        who = self.host if own else f'{url.netloc}, where {self.host} redirected,'
        scheme, params = parse_challenge(challenge)
        credential = self._user_credential(repository) if own else None
        if scheme == 'basic':
            if credential is None:
                raise _fail(
                    f'{self.host} asks for a login and no credential for it was '
                    f'found (docker login / podman login)' if own else
                    f'{who} asks for a login; the credentials of {self.host} are not sent there',
                )
            return _basic(credential)
        if scheme != 'bearer' or not params.get('realm'):
            raise _fail(f'{who} asks for authentication digestpin does not know')
        try:
            realm = parse_url(params['realm'])
        except UrlError as e:
            raise _fail(f'{who} named a token realm that {e}; not used') from None
        if realm.scheme == 'http' and not self.plain_http_allowed(realm):
            raise _fail(f'{who} names a plain HTTP token realm; not used')
        query = {'scope': scope}
        if params.get('service'):
            query['service'] = params['service']
        headers = {}
        if credential is not None:
            headers['Authorization'] = _basic(credential)
        target = realm.target + ('&' if '?' in realm.target else '?') + urlencode(query)
        response = self._raw('GET', realm.replace(target=target), headers)
        if response.status_code != 200:
            response.release()
            if response.status_code == 401:
                raise _fail(
                    f'the token server of {self.host} refused the credentials'
                    f'{" from " + credential.origin if credential else ""} (401): '
                    f'log in again (docker login / podman login)',
                )
            raise _fail(
                f'the token server of {self.host} answered {response.status_code}',
            )
        body = self._body(response, MAX_SMALL_BYTES, 'token answer')
        import json
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            raise _fail(f'the token server of {self.host} did not answer JSON') from None
        token = answer.get('token') or answer.get('access_token') if isinstance(answer, dict) else None
        if not isinstance(token, str) or not _TOKEN_RE.match(token):
            raise _fail(f'the token server of {self.host} answered no usable token')
        return f'Bearer {token}'


def join_by(threads: Iterable[threading.Thread], end: float) -> None:
    """Wait for ``threads`` until ``end`` (time.monotonic()), waking every
    SIGNAL_LATENCY seconds: the main thread runs the run's signal handlers
    only when it wakes, and a thread waiting for a lock is woken by a
    signal only when the kernel hands the signal to that very thread.  Two
    signals at once (SIGTERM and ^C) were taken by the worker threads in a
    quarter of tries, and the run went on until its deadline (60 s with
    --timeout 60) before it ended as terminated."""
    for thread in threads:
        while thread.is_alive():
            left = end - time.monotonic()
            if left <= 0:
                return
            thread.join(min(left, SIGNAL_LATENCY))


def _insecure_set(entries: Iterable[str]) -> frozenset[tuple[str, int]]:
    """``--insecure-registry`` entries as parsed (host, port); port 0 for an
    entry without one (it stands for the scheme's default port)."""
    parsed = set()
    for entry in entries:
        try:
            url = parse_url(f'http://{entry.strip()}/')
        except UrlError:
            continue  # names no host: it cannot match one
        explicit = entry.strip().rpartition(']')[2].count(':') == 1
        parsed.add((url.host, url.port if explicit else 0))
    return frozenset(parsed)


def _hashed(body: bytes, digest: str) -> str:
    """The digest of ``body`` by the algorithm of ``digest`` (checked well
    formed before): ``sha256:…``."""
    # imported here: fix's HEAD answers carry their digest, and hashlib's
    # import (OpenSSL's digests listed) is 11 million instructions
    import hashlib
    algorithm = digest.split(':', 1)[0]
    return f'{algorithm}:' + hashlib.new(algorithm, body).hexdigest()


def _internal_error(e: Exception) -> Failed:
    """A bug of ours (or a library's) met on some answer: a failure of that
    one reference, in one line; the other references are still asked."""
    message = ' '.join(str(e).split())[:200]
    return Failed(f'internal error: {type(e).__name__}: {message} (please report it)')


def _basic(credential: Credential) -> str:
    pair = f'{credential.username}:{credential.secret}'.encode()
    return 'Basic ' + base64.b64encode(pair).decode()


def ask_all(
        queries: Sequence[Query],
        timeout: float,
        insecure: Iterable[str] = (),
        credentials: Callable[[str], Logins] = logins_for,
        connections: int = CONNECTIONS_PER_REGISTRY,
        deadline: Deadline | None = None,
) -> dict[Query, Manifest | Missing | Failed]:
    """Every distinct query answered, in the order asked: registries in
    parallel (at most MAX_REGISTRIES_AT_ONCE), each over at most
    ``connections`` kept-alive connections, one thread each, taking its
    queries in turn.  The whole run has ``timeout`` seconds (``deadline``,
    when a caller asks in rounds); what is not answered by then is Failed."""
    ends: Deadline = deadline or Deadline(timeout)
    by_domain: dict[str, list[Query]] = {}
    for query in dict.fromkeys(queries):
        by_domain.setdefault(query.domain, []).append(query)
    answers: dict[Query, Manifest | Missing | Failed] = {}
    lock = threading.Lock()
    pending = list(by_domain.items())

    def ask_one_registry(domain: str, domain_queries: list[Query]) -> None:
        count = max(1, min(connections, len(domain_queries)))
        registry = Registry(domain, ends, insecure, credentials, count)
        waiting = list(reversed(domain_queries))  # popped from the end: in order

        def ask_in_turn() -> None:
            while True:
                with lock:
                    if not waiting:
                        return
                    query = waiting.pop()
                try:
                    answer = registry.ask(query)
                except Exception as e:  # ask() returns every error: a last guard
                    answer = _internal_error(e)
                with lock:
                    answers[query] = answer

        threads = [threading.Thread(target=ask_in_turn, daemon=True) for _ in range(count)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(0.0, ends.end - time.monotonic()) + 2 * LOCK_GRACE)
        finally:
            if not any(thread.is_alive() for thread in threads):
                registry.close()

    def work() -> None:
        while True:
            with lock:
                if not pending:
                    return
                domain, domain_queries = pending.pop(0)
            ask_one_registry(domain, domain_queries)

    # daemon threads: one stuck on a dripping registry is abandoned at the
    # deadline, and does not keep the process alive after it
    workers = [
        threading.Thread(target=work, daemon=True)
        for _ in range(min(MAX_REGISTRIES_AT_ONCE, len(by_domain)))
    ]
    try:
        for worker in workers:
            worker.start()
        join_by(workers, max(ends.end, time.monotonic()) + 2 * LOCK_GRACE)
    finally:
        # answered, timed out, ^C or SIGTERM: no credential helper outlives
        # the questions
        stop_helpers()
    with lock:
        return {
            query: answers.get(query) or Failed(
                f'{api_host(query.domain)} gave no complete answer within '
                f'{ends.seconds:g} s (--timeout)',
            )
            for query in dict.fromkeys(queries)
        }
