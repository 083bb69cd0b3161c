"""Registries asked directly, without a daemon: the OCI distribution API.

What it asks is small: the digest a tag names (``HEAD`` of the manifest,
``Docker-Content-Digest``), and for verify the manifest itself (``GET``;
its bytes must hash to the digest asked for, and to the header when one is
sent), an index's platforms, and a single image's platform from its config
blob.  Authentication is the challenge flow every public registry uses
(``WWW-Authenticate: Bearer realm=…``, or Basic), with the user's own
credentials (``credentials``).

``requests`` carries the HTTP (a well-kept library the docker SDK already
brings); the rest is here because no registry client on PyPI does what the
hooks promise (see the README: bounded answers, one deadline, no credential
to another host, Docker's and Podman's credential files).

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
  ``NO_PROXY`` applies to the other hosts;
- a malformed answer (a header of the wrong shape) is a Failed answer for
  its reference or is ignored, never an exception in a worker thread;
- one deadline (``--timeout``) for the whole run: the main thread stops
  waiting then, whatever a registry drips;
- a bounded pool of kept-alive connections per registry
  (CONNECTIONS_PER_REGISTRY, each with its own thread), a bounded number of
  registries at a time; each reference asked once, the answers in the
  order asked;
- one token per registry host and scope, fetched once however many
  connections wait for it; a 429 holds back every connection to that
  registry (its Retry-After, else a second), not the other registries.
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import ipaddress
import json
import os
import re
import threading
import time
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

import requests

from digestpin_hooks.model import Record
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import INDEX_MEDIA_TYPES
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import platform_name
from digestpin_hooks.resolve.credentials import Credential
from digestpin_hooks.resolve.credentials import credential_for
from digestpin_hooks.resolve.credentials import CredentialError
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
# connections (and threads) per registry.  Six is what browsers open per
# host; registries' rate limits (Docker Hub's, GHCR's) count requests, not
# connections.  Measured with 100 references behind 25 ms round trips
# (benchmarks/registry_speed.py's proxy): 1 connection 3.03 s, 4 1.05 s,
# 6 0.88 s, 8 0.81 s, 16 1.15 s (threads fighting for the GIL on 2 cores);
# past 6 the gain is under 10 %, while each connection costs a TLS
# handshake on a real registry.
CONNECTIONS_PER_REGISTRY = 6
# how long past the deadline a thread waits for another that is bounded by
# the same deadline (a token fetch, a credential helper) to report, and the
# main thread for the workers: their one-line reason is kept
LOCK_GRACE = 0.2
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
    the host 192.0.2.1); an unbalanced ``[``; an empty or malformed host; a
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
        if not _HOST_NAME_RE.match(host):
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
    a named host.  (``requests`` reads it otherwise: ``IP:port`` never
    matched, so such a host went through the proxy, and ``example.com``
    matched ``badexample.com``.)"""
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(url.host)
    except ValueError:
        address = None
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
        try:
            entry_address = ipaddress.ip_address(host)
        except ValueError:
            entry_address = None
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
            credentials: Callable[[str, float], Credential | None] = credential_for,
            connections: int = 1,
    ) -> None:
        self.domain = domain
        self.host = api_host(domain)
        self.deadline = deadline
        self.insecure = _insecure_set(insecure)
        self.credentials = credentials
        self.scheme = ''  # https, or http once https failed where allowed
        self.session = requests.Session()
        # no setting from the environment is merged in by requests (its
        # proxies would send loopback through a proxy, its ~/.netrc would
        # send a login the user gave for something else): proxies are
        # chosen per request (_proxies), the CA bundle variables kept
        self.session.trust_env = False
        self.verify: str | bool = (
            os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or True
        )
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4, pool_maxsize=max(1, connections), max_retries=0,
        )
        self.session.mount('https://', adapter)
        self.session.mount('http://', adapter)
        # (scheme, host, port) and scope -> the Authorization header for it
        self.authorization: dict[tuple[tuple[str, str, int], str], str] = {}
        self._credential: Credential | None = None
        self._credential_read = False
        self._credential_error = ''
        self._own: Url | None = None
        # the threads share what is learnt once: the user's credential, each
        # scope's token (fetched under the scope's lock, so the token server
        # is asked once per scope however many connections were refused
        # together), and when a 429 lets the registry be asked again
        self._lock = threading.Lock()
        self._credential_lock = threading.Lock()
        self._scope_locks: dict[str, threading.Lock] = {}
        self._not_before = 0.0

    def close(self) -> None:
        self.session.close()

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
        _release(response)
        digest = response.headers.get('Docker-Content-Digest', '')
        if not digest:
            return self._manifest(query)
        self._check_digest(digest, query)
        media_type = response.headers.get('Content-Type', '').split(';')[0].strip()
        return Manifest(digest, media_type in INDEX_MEDIA_TYPES, ())

    def _manifest(self, query: Query) -> Manifest:
        response = self._request('GET', query, f'manifests/{query.reference}')
        body = self._body(response, MAX_MANIFEST_BYTES, 'manifest')
        header = response.headers.get('Docker-Content-Digest', '')
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
        try:
            manifest = json.loads(body)
        except (ValueError, RecursionError):
            raise _fail('the manifest is not JSON') from None
        if not isinstance(manifest, dict):
            raise _fail('the manifest is not a JSON object')
        media_type = manifest.get('mediaType') or response.headers.get(
            'Content-Type', '',
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
        algorithm = digest.split(':', 1)[0]
        if f'{algorithm}:' + hashlib.new(algorithm, body).hexdigest() != digest:
            raise _fail('the image config does not match its digest; not used')
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
    ) -> requests.Response:
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
                challenge = response.headers.get('WWW-Authenticate', '')
                _release(response)
                self._renew(challenge, scope, url, sent.get(url.origin, ''))
                answered.add(url.origin)
                continue

            if status == 429 and retries < MAX_RETRIES:
                _release(response)
                wait = _retry_after(response.headers.get('Retry-After'))
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
            _release(response)
            what = f'{self.domain}/{query.repository}'
            if status in absent:
                raise _Stop(Missing(f'{what} has no manifest {query.reference} ({status})'))
            if status == 401 and not self.is_own(url):
                raise _fail(
                    f'{url.netloc}, where {self.host} redirected, refused anonymous '
                    f'access to {what} (401)',
                )
            if status == 401:
                credential = self._credential
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

    def _renew(self, challenge: str, scope: str, url: Url, refused: str) -> None:
        """Answer the challenge of the host at ``url`` for ``scope``, which
        refused the Authorization header ``refused`` ('' for none), once for
        all the connections: those refused meanwhile with the same header
        wait, then take the new one."""
        with self._lock:
            scope_lock = self._scope_locks.setdefault(scope, threading.Lock())
        # whoever holds the lock is bounded by the deadline too: a little
        # past it, its outcome (a credential helper that hung) is this
        # request's as well
        acquired = scope_lock.acquire(
            timeout=max(0.0, self.deadline.end - time.monotonic()) + LOCK_GRACE,
        )
        if self._credential_error:
            if acquired:
                scope_lock.release()
            raise _fail(self._credential_error)
        if not acquired:
            self.deadline.remaining()  # _Stop: past the deadline
            raise _fail(f'the token of {self.host} did not come within {self.deadline.seconds:g} s (--timeout)')
        try:
            if self.authorization.get((url.origin, scope), '') == refused:
                self.authorization[url.origin, scope] = self._authorize(challenge, scope, url)
        finally:
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
    ) -> tuple[requests.Response, Url]:
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
            location = response.headers.get('Location', '')
            _release(response)
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
    ) -> tuple[requests.Response, Url]:
        """The response, and the URL it came from: the registry's own
        host is tried over HTTPS first, then over HTTP where allowed.
        ``guessed``: ``url`` was built before its scheme was known; another
        connection may have learnt meanwhile that HTTPS fails there."""
        timeout = self.deadline.remaining()
        if guessed and self.scheme == 'http' and url.scheme == 'https' and self.is_own(url):
            url = self.own_url(url.target, 'http')
        if not self.scheme and self.is_own(url):
            plain = self.own_url(url.target, 'http')
            if self.plain_http_allowed(plain):
                # as Docker does for insecure registries: HTTPS first, then HTTP
                try:
                    response = self._raw(method, url, headers, timeout)
                except _Stop:
                    self.scheme = 'http'
                    return self._raw(method, plain, headers, self.deadline.remaining()), plain
                self.scheme = 'https'
                return response, url
            self.scheme = 'https'
        return self._raw(method, url, headers, timeout), url

    def _proxies(self, url: Url) -> dict[str, str]:
        """The proxy for a request, chosen here: never one for loopback
        (Go's rule), else HTTP(S)_PROXY as NO_PROXY allows."""
        if loopback_host(url.host) or no_proxy_for(
                url, os.environ.get('NO_PROXY') or os.environ.get('no_proxy') or '',
        ):
            return {}
        settings = {k: v for k, v in getproxies_environment().items() if k != 'no'}
        proxy = requests.utils.select_proxy(url.text, settings)
        return {url.scheme: proxy} if proxy else {}

    def _raw(
            self, method: str, url: Url, headers: dict[str, str], timeout: float,
    ) -> requests.Response:
        host = url.netloc
        # the adapter, not Session.send: that one reads Location itself (and
        # raises on a malformed one) and keeps cookies across hosts
        prepared = self.session.prepare_request(
            requests.Request(method, url.text, headers=headers),
        )
        proxies = self._proxies(url)
        try:
            return self.session.get_adapter(url.text).send(
                prepared, stream=True, timeout=(timeout, timeout),
                verify=self.verify, proxies=proxies,
            )
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as e:
            if not proxies:
                raise _fail(
                    f'{host} sent an answer that could not be read ({type(e).__name__})',
                ) from None
            # the user's proxy setting, not the registry: named by its
            # variable, never printed (it may hold a password)
            raise _fail(
                f'the proxy set for {host} (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) '
                f'is not a usable http or https proxy URL',
            ) from None
        except requests.exceptions.Timeout:
            raise _fail(f'{host} did not answer within {self.deadline.seconds:g} s (--timeout)') from None
        except requests.exceptions.SSLError:
            raise _fail(f'TLS with {host} failed (a plain HTTP registry must be listed as insecure)') from None
        except requests.exceptions.ConnectionError:
            raise _Stop(Failed(f'cannot connect to {host}', unreachable=True)) from None
        except requests.exceptions.RequestException as e:
            raise _fail(f'{host} sent an answer that could not be read ({type(e).__name__})') from None

    def _body(self, response: requests.Response, limit: int, what: str) -> bytes:
        host = urlsplit(response.url).netloc
        length = _ascii_number(response.headers.get('Content-Length'))
        if length is not None and length > limit:
            response.close()
            raise _fail(f'{host} sent a {what} over {limit // 1024} KiB; not read')
        chunks = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise _fail(f'{host} sent a {what} over {limit // 1024} KiB; not read')
                chunks.append(chunk)
                self.deadline.remaining()
        except requests.exceptions.RequestException:
            raise _fail(f'{host} broke off the {what}') from None
        finally:
            response.close()
        return b''.join(chunks)

    # -- authentication --------------------------------------------------

    def _user_credential(self) -> Credential | None:
        with self._credential_lock:  # one helper run, whatever the threads
            return self._read_credential()

    def _read_credential(self) -> Credential | None:
        if not self._credential_read:
            self._credential_read = True
            try:
                self._credential = self.credentials(self.domain, self.deadline.remaining())
            except CredentialError as e:
                self._credential_error = f'credentials for {self.domain}: {e}'
        if self._credential_error:  # the same line for every query
            raise _fail(self._credential_error)
        return self._credential

    def _authorize(self, challenge: str, scope: str, url: Url) -> str:
        """The Authorization header the challenge of the host at ``url``
        asks for: with the user's credentials only when that host is the
        registry itself; a host it redirected to is answered anonymously."""
        own = self.is_own(url)
        who = self.host if own else f'{url.netloc}, where {self.host} redirected,'
        scheme, params = parse_challenge(challenge)
        credential = self._user_credential() if own else None
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
        response = self._raw('GET', realm.replace(target=target), headers, self.deadline.remaining())
        if response.status_code != 200:
            response.close()
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
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            raise _fail(f'the token server of {self.host} did not answer JSON') from None
        token = answer.get('token') or answer.get('access_token') if isinstance(answer, dict) else None
        if not isinstance(token, str) or not _TOKEN_RE.match(token):
            raise _fail(f'the token server of {self.host} answered no usable token')
        return f'Bearer {token}'


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
    algorithm = digest.split(':', 1)[0]
    return f'{algorithm}:' + hashlib.new(algorithm, body).hexdigest()


def _internal_error(e: Exception) -> Failed:
    """A bug of ours (or a library's) met on some answer: a failure of that
    one reference, in one line; the other references are still asked."""
    message = ' '.join(str(e).split())[:200]
    return Failed(f'internal error: {type(e).__name__}: {message} (please report it)')


def _release(response: requests.Response) -> None:
    """Done with an answer whose body does not matter: a small body is read
    so that the connection is kept for the next request; a large one (or a
    broken one) closes it."""
    length = _ascii_number(response.headers.get('Content-Length'))
    if response.request.method == 'HEAD' or (length is not None and length <= 64 * 1024):
        try:
            response.raw.drain_conn()
        except Exception:  # a connection that breaks is not kept: that is all
            response.close()
            return
        response.raw.release_conn()
        return
    response.close()


def _basic(credential: Credential) -> str:
    pair = f'{credential.username}:{credential.secret}'.encode()
    return 'Basic ' + base64.b64encode(pair).decode()


def ask_all(
        queries: Sequence[Query],
        timeout: float,
        insecure: Iterable[str] = (),
        credentials: Callable[[str, float], Credential | None] = credential_for,
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
        for worker in workers:
            worker.join(max(0.0, ends.end - time.monotonic()) + 2 * LOCK_GRACE)
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
