"""The Docker daemon: the only module that imports the docker SDK.

Finds the daemon as the Docker CLI does (``--docker-host``, then
``DOCKER_HOST`` with ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``, then the
current context from ``DOCKER_CONTEXT`` or ``~/.docker/config.json``, then
the default socket), and where Docker's default socket is missing, Podman's
(its Docker-compatible API serves the image list and pulls), bounds every call by a timeout, and turns every way a
daemon can fail into one SourceError line.
"""
from __future__ import annotations

import math
import os
import re

import docker.auth
import docker.errors
import docker.tls
import docker.utils
import docker.utils.config

from digestpin_hooks.model import Record
from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import split_domain
from digestpin_hooks.resolve.answers import digest_key
from digestpin_hooks.resolve.answers import DigestKey
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import INDEX_MEDIA_TYPES
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import OTHERS_ASKED
from digestpin_hooks.resolve.answers import platform_name
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.resolve.matching import checked_distribution
from digestpin_hooks.resolve.matching import checked_image_list
from digestpin_hooks.resolve.matching import from_distribution
from digestpin_hooks.resolve.matching import LocalImages
from digestpin_hooks.text import shortened

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import Collection
    from typing import Final
    from typing import Sequence

    from digestpin_hooks.reference import Reference
    from digestpin_hooks.resolve.answers import Answer
    from digestpin_hooks.resolve.answers import Key
    from digestpin_hooks.resolve.answers import SourceOptions

DEFAULT_HOST = 'unix:///var/run/docker.sock'
# the most of one answer read from the daemon (an image list, a
# distribution inspect, a pull's progress stream), decoded: a hostile one
# of gigabytes was held whole, as fast as the socket carried it
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# The daemon's wire format for a registry that failed.  The Engine API
# passes a registry's failure on in words only: a pull whose registry
# answers 429 or 5xx once its progress stream has begun ends the stream with
# ``{"error": "toomanyrequests: ..."}`` or ``{"error": "received unexpected
# HTTP status: 503 Service Unavailable"}``, with no status of its own.  This
# pattern, in _registry_failed() only, is the one place those words are
# read: everything else gets a Failed (the registry could not answer at that
# reference) or a Missing (the daemon says there is no such image for you).
_REGISTRY_FAILURE_RE = re.compile(r'\b(?:429|5\d\d)\b|toomanyrequests', re.I)
# The daemon's words for a registry that refused the login (none, or a
# wrong one) or the access, read in _registry_refused() only.  Asked of
# dockerd with a real htpasswd registry and a 403 one (tests/test_faults.py):
# a distribution inspect says 401 "unauthorized: authentication required",
# 403 "denied", and 500 "Head ...: no basic auth credentials" with no login
# at all; a pull says each of those words with 500.  Its own "pull access
# denied for ..., repository does not exist or may require 'docker login'"
# (Docker Hub's answer to a name that does not exist) stays a Missing.
_REGISTRY_REFUSAL_RE = re.compile(
    r'\bunauthorized\b|\bdenied\b|authentication required|no basic auth credentials', re.I,
)
# what a daemon source's Missing advises
LOGIN_HINT = 'check the name and your docker login'
HINT = (
    'start Docker (or podman system service), or point digestpin at a running daemon with DOCKER_HOST, '
    '`docker context use`, or --docker-host'
)


class Endpoint(Record):
    """The daemon to ask: its address, TLS settings and where they came from."""

    host: Final[str]
    tls: Final[Any]  # docker.tls.TLSConfig, or None
    origin: Final[str]  # where the host came from, for messages


def _config_dir() -> str | None:
    """The Docker CLI's folder, found as the credential files are (None
    without an absolute home: with HOME unset and no passwd entry, ~/.docker
    named a folder of the checkout under test, whose currentContext chose
    the daemon whose digests were written)."""
    from digestpin_hooks.resolve.credentials import docker_config_dir
    return docker_config_dir()


def _cli_config(config_path: object = None) -> dict[str, Any]:
    """The CLI's ``config.json`` in _config_dir(), read bounded (a regular
    file of at most MAX_SMALL_FILE_BYTES); ``{}`` when there is none or it
    cannot be read, as the SDK has it.

    It is also the SDK's ``load_general_config`` (``config_path`` is its
    argument, which its client never passes): the client reads the file as
    it is made and sends its ``HttpHeaders`` with every call to the daemon,
    as the CLI does.  Left to the SDK, the file was found as the SDK finds
    it: without a home, ``~/.docker/config.json`` of the current folder,
    the checkout being scanned, whose planted ``X-Registry-Auth`` replaced
    the user's login, read whole by ``json.load`` (a FIFO held the client
    until --timeout failed the source)."""
    import json
    folder = _config_dir()
    if folder is None:
        return {}
    try:
        config = json.loads(read_regular(
            os.path.join(folder, 'config.json'), MAX_SMALL_FILE_BYTES,
        ).data)
    except (OSError, ValueError, RecursionError):
        return {}
    return config if isinstance(config, dict) else {}


def _no_config_file(config_path: object = None) -> None:
    """The SDK's own search for a config file (``$DOCKER_CONFIG``,
    ``~/.docker/config.json``, ``~/.dockercfg``, each read whole) finds
    none: its client's general settings are _cli_config(), and every login
    is handed to it (Daemon.login), so its auth lookup, which searches when
    the settings are empty, has nothing of its own to read."""
    return None


# The SDK's two readers of the CLI's file, replaced once for the process:
# this module is the only one that imports the SDK, and its client reads
# the file in its constructor, which takes no path
docker.utils.config.load_general_config = _cli_config
docker.utils.config.find_config_file = _no_config_file


def _current_context() -> str:
    name = os.environ.get('DOCKER_CONTEXT')
    if name:
        return name
    name = _cli_config().get('currentContext')
    return name if isinstance(name, str) and name else 'default'


def _context_endpoint(name: str) -> Endpoint:
    """Read a context from the CLI's store, as ``docker context use`` left it."""
    import hashlib
    import json
    digest = hashlib.sha256(name.encode()).hexdigest()
    folder = _config_dir()
    if folder is None:
        raise SourceError(f'Docker context {shortened(name)!r} not found (no home folder); {HINT}')
    contexts = os.path.join(folder, 'contexts')
    meta_path = os.path.join(contexts, 'meta', digest, 'meta.json')
    if not os.path.lexists(meta_path):
        raise SourceError(f'Docker context {shortened(name)!r} not found; {HINT}')
    try:
        meta = json.loads(read_regular(meta_path, MAX_SMALL_FILE_BYTES).data)
        docker_endpoint = meta['Endpoints']['docker']
        host = docker_endpoint['Host']
        if not isinstance(host, str):
            raise TypeError('the host is not a string')
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as e:
        raise SourceError(
            f'cannot read Docker context {shortened(name)!r}: {_short(e)}; {HINT}',
        ) from None
    tls_dir = os.path.join(contexts, 'tls', digest, 'docker')
    tls = None
    if os.path.isdir(tls_dir):
        def pem(kind: str) -> str | None:
            path = os.path.join(tls_dir, f'{kind}.pem')
            return path if os.path.exists(path) else None
        cert, key = pem('cert'), pem('key')
        tls = docker.tls.TLSConfig(
            client_cert=(cert, key) if cert and key else None,
            ca_cert=pem('ca'),
            verify=not docker_endpoint.get('SkipTLSVerify', False),
        )
    return Endpoint(host, tls, f'context {shortened(name)!r}')


def find_endpoint(docker_host: str | None = None) -> Endpoint:
    """Where the daemon is; SourceError (unreachable) when the setup is
    wrong, e.g. DOCKER_TLS_VERIFY without certificates."""
    try:
        endpoint = _find_endpoint(docker_host)
    except SourceError:
        raise
    except Exception as e:
        raise SourceError(
            f'cannot find the Docker daemon: {_short(e)}; {HINT}',
            unreachable=True,
        ) from None
    from digestpin_hooks.resolve.credentials import home_dir
    if _is_ssh(endpoint.host) and home_dir() is None:
        # the SDK's ssh:// (paramiko) reads ~/.ssh/config and known_hosts
        # where expanduser finds them: without a home, in the checkout,
        # whose ProxyCommand it ran.  The CLI's ssh finds ~/.ssh through
        # the passwd entry, and without one does not run.
        raise SourceError(
            f'cannot find the Docker daemon: {shortened(endpoint.host)} (from {endpoint.origin}) '
            f'is an ssh:// host, and there is no home folder whose ~/.ssh to read; {HINT}',
            unreachable=True,
        )
    return endpoint


def _is_ssh(host: str) -> bool:
    """Whether the SDK reaches ``host`` over ssh, its scheme read as the
    SDK's parse_host reads it (after blanks, in any case: ``SSH://``)."""
    from urllib.parse import urlsplit
    return urlsplit(host.strip()).scheme == 'ssh'


def _find_endpoint(docker_host: str | None) -> Endpoint:
    if docker_host:
        # DOCKER_TLS_VERIFY and DOCKER_CERT_PATH apply to the host given as
        # to DOCKER_HOST, as they do to the CLI's -H: it was asked in plain
        # HTTP, which anyone on the way could answer for the daemon
        kwargs = docker.utils.kwargs_from_env({**_tls_environment(), 'DOCKER_HOST': docker_host})
        return Endpoint(docker_host, kwargs.get('tls'), '--docker-host')
    if os.environ.get('DOCKER_HOST'):
        kwargs = docker.utils.kwargs_from_env(_tls_environment())
        return Endpoint(kwargs['base_url'], kwargs.get('tls'), 'DOCKER_HOST')
    name = _current_context()
    if name != 'default':
        return _context_endpoint(name)
    if not os.path.exists(DEFAULT_HOST[len('unix://'):]):
        for socket_path in podman_sockets():
            if os.path.exists(socket_path):
                return Endpoint(f'unix://{socket_path}', None, 'the Podman socket')
    return Endpoint(DEFAULT_HOST, None, 'the default socket')


def _tls_environment() -> dict[str, str]:
    """The environment the SDK reads DOCKER_HOST's TLS settings from, its
    ``DOCKER_CERT_PATH``, when not set and TLS is asked for, the CLI's
    folder (_config_dir()), where the CLI reads the certificates.  The SDK
    read ``~/.docker`` whatever ``DOCKER_CONFIG`` said, and without a home
    ``~/.docker`` of the current folder, the checkout being scanned, whose
    ``ca.pem`` then vouched for the daemon; with no folder to read, TLS is
    a setup error.

    TLS is asked for as the CLI asks for it: ``DOCKER_TLS_VERIFY`` (any
    value but empty) for TLS that checks the daemon's certificate;
    ``DOCKER_TLS`` alone (the CLI's ``--tls``, which the SDK does not read)
    for TLS with the client certificate that checks none of the daemon's,
    where the SDK spoke plain HTTP, which the CLI never does then.  With
    neither, ``DOCKER_CERT_PATH`` is not read: the CLI speaks plain HTTP,
    and the SDK took that folder alone for TLS that checks no
    certificate, whoever answered for the daemon."""
    environment = dict(os.environ)
    asked = 'DOCKER_TLS_VERIFY' if environment.get('DOCKER_TLS_VERIFY') else (
        'DOCKER_TLS' if environment.get('DOCKER_TLS') else ''
    )
    if not asked:
        environment.pop('DOCKER_CERT_PATH', None)
        return environment  # no TLS, as the CLI
    # the SDK checks the daemon's certificate when DOCKER_TLS_VERIFY is set
    # (not empty), and speaks TLS that checks none when only
    # DOCKER_CERT_PATH is: DOCKER_TLS alone is that
    if environment.get('DOCKER_CERT_PATH'):
        return environment  # the user's certificates
    folder = _config_dir()
    if folder is None:
        raise SourceError(
            f'cannot find the Docker daemon: {asked} is set without '
            'DOCKER_CERT_PATH, and there is no DOCKER_CONFIG or home folder to find '
            f'the certificates in; {HINT}',
            unreachable=True,
        )
    environment['DOCKER_CERT_PATH'] = folder
    return environment


def podman_sockets() -> list[str]:
    """Where ``podman system service`` listens by default: the user's
    (rootless) socket, then the system's.  A relative XDG_RUNTIME_DIR is
    ignored, as the XDG specification says: it named a socket of the
    current folder, the checkout under test."""
    sockets = []
    runtime = os.environ.get('XDG_RUNTIME_DIR', '')
    if os.path.isabs(runtime):
        sockets.append(os.path.join(runtime, 'podman', 'podman.sock'))
    sockets.append('/run/podman/podman.sock')
    return sockets


def _short(error: BaseException) -> str:
    text = ' '.join(str(error).split())
    return text[:300] or type(error).__name__


def _api_error(error: KeyError | TypeError) -> Exception:
    """The APIError the SDK meant to raise for an error answer whose JSON
    has no ``message`` (``{}``, a list): the SDK reads
    ``response.json()['message']`` and raises KeyError or TypeError instead,
    while handling the HTTP error, which is its context.  Any other error is
    returned as it is."""
    http_error = error.__context__
    response = getattr(http_error, 'response', None)
    if not isinstance(getattr(response, 'status_code', None), int):
        return error
    return docker.errors.APIError(
        str(http_error), response=response,
        explanation=(getattr(response, 'text', '') or '').strip(),
    )


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception inside it, outermost first: the docker
    SDK wraps requests, which wraps urllib3, which wraps the OSError (in
    ``__cause__``, ``__context__``, ``args`` and urllib3's ``reason``)."""
    found: list[BaseException] = []
    todo = [error]
    while todo:
        e = todo.pop(0)
        if any(e is seen for seen in found) or len(found) > 20:
            continue
        found.append(e)
        inner = [e.__cause__, e.__context__, getattr(e, 'reason', None), *e.args]
        todo.extend(i for i in inner if isinstance(i, BaseException))
    return found


def _is_timeout(error: BaseException) -> bool:
    """Ours (``_within``), a socket's, or requests' and urllib3's
    (``ReadTimeout``, ``ReadTimeoutError``), which are no TimeoutError."""
    return isinstance(error, TimeoutError) or 'Timeout' in type(error).__name__


class _TimedOut(SourceError):
    """A daemon call that ran past ``--timeout``."""


def _sentence(error: BaseException, seconds: float) -> str:
    """Why the daemon could not be used, in words: never the repr of the
    SDK's nested exceptions (``('Connection aborted.', FileNotFoundError(2,
    …))``), which says the same thing to no one."""
    import http.client
    import json
    chain = _chain(error)
    for e in chain:
        if isinstance(e, OSError) and e.errno is not None:
            if isinstance(e, FileNotFoundError):
                return 'there is no socket at that path'
            if isinstance(e, ConnectionRefusedError):
                return 'it refused the connection'
            if isinstance(e, PermissionError):
                return 'permission denied'
            return f'{(e.strerror or str(e)).rstrip(".")}'
    for e in chain:
        if isinstance(e, docker.errors.APIError):
            return f'it answered {e.status_code or 500}: {_short(Exception(e.explanation or e))}'
        if _is_timeout(e):
            return f'timed out: no complete answer within {seconds:g} s (--timeout)'
        if isinstance(e, http.client.RemoteDisconnected):
            return 'it closed the connection without answering'
        if isinstance(e, http.client.HTTPException):
            return 'its answer is not HTTP'
        if isinstance(e, json.JSONDecodeError):
            return 'its answer is not JSON'
    # an exception of several arguments prints as their tuple's repr
    # (``('Connection aborted.', …)``): the outer one says it better
    return _short(error) if len(chain[-1].args) > 1 else _short(chain[-1])


def _registry_failed(status: int | None, message: str) -> bool:
    """Whether the daemon says that the registry failed (429, 5xx), not
    that there is no such image: from the status of its answer, or, for a
    pull whose stream has begun (``status`` None), from the words of the
    stream's error (the daemon's wire format: _REGISTRY_FAILURE_RE)."""
    if status is not None:
        return status == 429 or status >= 500
    return _REGISTRY_FAILURE_RE.search(message) is not None


def _registry_refused(status: int | None, message: str, name: str) -> bool:
    """Whether the daemon says that the registry refused the login or the
    access (401, 403), which a login (or another one) may mend: from the
    status of its answer, or, where the daemon answers 500 or the pull's
    stream ends in an error (``status`` None), from its words
    (_REGISTRY_REFUSAL_RE), those that name something left out: the
    reference ``name`` is the user's (``denied.example/app``, ``app:denied``),
    and the host that could not be looked up is no refusal."""
    if status in (401, 403):
        return True
    if status is not None and status < 500:
        return False
    words = _words_naming_nothing(message, name)
    return (
        _REGISTRY_REFUSAL_RE.search(words) is not None
        and 'repository does not exist' not in message
    )


def _words_naming_nothing(message: str, name: str) -> str:
    """``message`` without its words that name a host, URL, path or
    reference (a '/', '.', ':' or '@' within them) and without the host,
    the last name and the tag of ``name`` standing alone."""
    host, rest = split_domain(name)
    path, _, tag = rest.partition('@')[0].rpartition(':')
    if '/' in tag:  # no tag: the colon was the host's port
        path, tag = rest.partition('@')[0], ''
    own = {
        piece.lower()
        for piece in (host.rpartition(':')[0] or host, path.rpartition('/')[2], tag)
        if piece
    }
    kept = []
    for word in message.split():
        bare = word.strip('"\'()[]{},;.:')
        if not any(c in bare for c in '/.:@') and bare.lower() not in own:
            kept.append(word)
    return ' '.join(kept)


def _within(seconds: float, function: Callable[[], Any]) -> Any:
    """``function()``, or TimeoutError once ``seconds`` have passed.

    The SDK's timeout bounds each socket read, so a daemon that drips one
    byte at a time, or a pull that sends a little progress now and then,
    would never time out.  The call runs in a daemon thread instead, and the
    deadline is for the whole answer; a call past it is abandoned.
    """
    import threading
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome['value'] = function()
        except BaseException as e:  # handed to the caller below
            outcome['error'] = e
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f'timed out: no complete answer within {seconds:g} s')
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def _bounded(raw: Any) -> None:
    """Bound what is read of urllib3's answer ``raw`` to MAX_ANSWER_BYTES,
    decoded: requests reads it through ``read_chunked`` (chunked) or
    ``read``, the SDK's stream through ``read``, and neither calls the
    other.  A read asks for no more than the bound's rest and one byte."""
    left = [MAX_ANSWER_BYTES]
    read, read_chunked = raw.read, raw.read_chunked

    def taken(data: bytes) -> bytes:
        left[0] -= len(data)
        if left[0] < 0:
            raise ConnectionError(
                f'its answer is longer than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB',
            )
        return data

    def bounded_read(amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        most = left[0] + 1
        return taken(read(most if amt is None else min(amt, most), *args, **kwargs))

    def bounded_chunks(amt: int | None = None, *args: Any, **kwargs: Any) -> Any:
        most = left[0] + 1
        for data in read_chunked(most if amt is None else min(amt, most), *args, **kwargs):
            yield taken(data)
            most = left[0] + 1
    raw.read, raw.read_chunked = bounded_read, bounded_chunks


def _daemon_proxies(url: str) -> dict[str, str]:
    """The proxy of a call to a daemon not on loopback, as Go's
    ProxyFromEnvironment (the CLI's) chooses it: ``HTTP_PROXY`` or
    ``HTTPS_PROXY`` by the URL's scheme, none where ``NO_PROXY``, read as Go
    reads it (registry.no_proxy_for), exempts the host.  requests read
    ``NO_PROXY`` otherwise (an entry with a port never matched: a daemon
    the user exempted was reached through the proxy) and took
    ``ALL_PROXY``, which the CLI never sends a call through."""
    from urllib.parse import urlsplit

    from digestpin_hooks.resolve.registry import environment_no_proxy
    from digestpin_hooks.resolve.registry import environment_proxies
    from digestpin_hooks.resolve.registry import no_proxy_for
    from digestpin_hooks.resolve.registry import parse_url
    from digestpin_hooks.resolve.registry import proxy_url
    from digestpin_hooks.resolve.registry import UrlError
    scheme = urlsplit(url).scheme
    setting = environment_proxies().get(scheme) if scheme in ('http', 'https') else None
    if setting is None:
        return {}
    no_proxy = environment_no_proxy()
    try:
        exempt = bool(no_proxy) and no_proxy_for(parse_url(url), no_proxy)
    except UrlError:  # (a host no NO_PROXY entry can name)
        exempt = False
    # without a scheme, http:// as the CLI reads it (registry.proxy_url)
    return {} if exempt else {scheme: proxy_url(setting.value)}


def _no_login(request: Any) -> Any:
    """A requests auth that adds nothing (_Client.prepare_request)."""
    return request


class _Client(docker.APIClient):
    """The SDK's client, following no redirect: a daemon never answers with
    one, and requests followed it to any host with every header but
    Authorization, the registry's credentials (X-Registry-Auth) too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's client, the CLI's ``HttpHeaders`` taken from the SDK,
        which put them over a call's own headers (prepare_request puts them
        under).  Its first call, ``/version`` as it is made, sets none of
        its own: the SDK's way gives it what the CLI's gives."""
        self._http_headers: dict[str, Any] = {}
        super().__init__(*args, **kwargs)
        configs: dict[str, Any] = getattr(self, '_general_configs', {})  # (not in the stubs)
        headers = configs.pop('HttpHeaders', None)
        self._http_headers = headers if isinstance(headers, dict) else {}

    def send(self, request: Any, **kwargs: Any) -> Any:
        """requests' send, each answer's body bounded (_bounded): it is
        read here, after the bound is set, unless the caller streams it."""
        stream = kwargs.get('stream', False)
        response = super().send(request, **{**kwargs, 'stream': True})
        _bounded(response.raw)
        if not stream:
            response.content  # noqa: B018 (read, as requests does unless streaming)
        return response

    def prepare_request(self, request: Any) -> Any:
        """requests' prepare_request, without the login it looks up in
        ``~/.netrc`` for a request that carries none: it sent the user's
        (a ``default`` entry's, for any host) to the daemon, in the clear to
        a ``tcp://`` one, and without a home read the checkout's (a FIFO
        held every call).  The CLI reads no ``.netrc``; the SDK gives no
        login of its own (X-Registry-Auth is a header).  The CLI's
        ``HttpHeaders`` go with it, under its own headers."""
        if not request.auth:
            request.auth = _no_login
        if self._http_headers:
            # as the CLI: HttpHeaders first, the call's own over them (the
            # SDK put them over the call's: an X-Registry-Auth there, another
            # registry's login, went with every pull)
            # (names told apart in any case, as HTTP's are)
            own = dict(request.headers or {})
            taken = {str(name).lower() for name in own}
            request.headers = {
                **{
                    name: value for name, value in self._http_headers.items()
                    if str(name).lower() not in taken
                },
                **own,
            }
        return super().prepare_request(request)

    def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any,
    ) -> Any:
        """requests' settings from the environment, as the CLI takes them:
        no proxy for a daemon on loopback (Go's rule: a ``tcp://127.0.0.1``
        daemon is reached directly, ``HTTP_PROXY`` or not), where requests
        sent every call through the proxy, a pull's registry login
        (X-Registry-Auth) in the clear with it; another's as Go chooses it
        (_daemon_proxies); and the daemon's own TLS check (its ``ca.pem``, or none with
        SkipTLSVerify), where requests put ``REQUESTS_CA_BUNDLE`` or
        ``CURL_CA_BUNDLE`` in its place."""
        from urllib.parse import urlsplit

        from digestpin_hooks.resolve.registry import loopback_host
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if loopback_host(urlsplit(url).hostname or ''):
            settings['proxies'] = {}
        else:
            settings['proxies'] = _daemon_proxies(url)
        settings['verify'] = self.verify  # the SDK's, from the TLS settings
        return settings

    def get_redirect_target(self, resp: Any) -> None:
        if resp.is_redirect:
            resp.close()
            raise ConnectionError(
                f'it answered {resp.status_code}, a redirect, which is not followed',
            )
        return None


class Daemon:
    """One connection to the daemon; every call has ``timeout`` seconds to
    complete, and every answer is checked before it is used."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        # the host as error lines show it (DOCKER_HOST or a context's Host
        # may be long: the start says which daemon, as a file's long values)
        self.shown_host = shortened(endpoint.host)
        self.timeout = timeout
        # registries a call through the daemon ran past the timeout for
        # (_via_registry); the threads only add to it
        self.hung: set[str] = set()
        if endpoint.tls is not None and not endpoint.tls.verify:
            # TLS that checks no certificate was asked for (DOCKER_TLS, a
            # context's SkipTLSVerify), and the CLI speaks it without a
            # word: urllib3 warned on every call, in lines of its own on
            # stderr, where one line per message is the rule
            import warnings
            warnings.filterwarnings('ignore', message='Unverified HTTPS request')
        try:
            # whole seconds for each socket read; _within bounds the call.
            # The client asks /version as it is made (version='auto'): the
            # resolution of a tcp:// host's name, which no socket timeout
            # bounds (glibc: 5 s a try, a nameserver that never answers
            # kept the run 10 s past a 2 s --timeout), the connect and that
            # answer, however it drips, all within --timeout too
            self.api: docker.APIClient = _within(timeout, lambda: _Client(
                base_url=endpoint.host, tls=endpoint.tls,
                timeout=max(1, math.ceil(timeout)), version='auto',
            ))
        except Exception as e:
            raise self.error(e, unreachable=True) from None

    def error(self, e: BaseException, *, unreachable: bool = False) -> SourceError:
        return SourceError(
            f'cannot use the Docker daemon at {self.shown_host} (from '
            f'{self.endpoint.origin}): {_sentence(e, self.timeout)}; {HINT}',
            unreachable=unreachable,
        )

    def _registry_failure(self, words: str, advice: str) -> Failed:
        return Failed(
            f'the registry failed through the Docker daemon at '
            f'{self.shown_host}: {words}; {advice}',
        )

    def _registry_refusal(self, words: str, name: str) -> Failed:
        registry = split_domain(name)[0]
        return Failed(
            f'the registry refused access through the Docker daemon at '
            f'{self.shown_host}: {words}; log in '
            f'({"docker login " + registry if registry else "docker login"}) '
            f'as a user that may pull it, and check the name',
        )

    def _within_deadline(self, function: Callable[[], Any]) -> Any:
        """Run one SDK call within the deadline.  APIError is raised as it
        is; every other failure is the daemon's."""
        try:
            try:
                return _within(self.timeout, function)
            except (KeyError, TypeError) as e:
                raise _api_error(e) from None
        except docker.errors.APIError:
            raise
        except Exception as e:  # refused, hung, garbage: all the daemon's
            if any(_is_timeout(inner) for inner in _chain(e)):
                raise _TimedOut(str(self.error(e))) from None
            raise self.error(e) from None

    def _call(self, function: Callable[[], Any]) -> Any:
        """One SDK call of the daemon's own: APIError about one image
        (unknown) is raised as it is; a 429 or 5xx is the daemon's."""
        try:
            return self._within_deadline(function)
        except docker.errors.APIError as e:
            if _registry_failed(e.status_code or 500, ''):
                raise self.error(e) from None
            raise

    def _via_registry(
            self, function: Callable[[], Any], name: str,
            progressed: Callable[[], bool] = lambda: False,
    ) -> Any:
        """Run one SDK call that the daemon answers from a registry about
        the image ``name``: its answer, or what it says of that one
        reference.  Missing: the daemon says there is no such image (for
        you); Failed: the registry refused the login or the access (401,
        403), or answered 429 or 5xx, or this call hung or was garbled.
        The daemon answered ``/version`` before, so neither is the whole
        source's failure.

        Once a call about one registry runs past ``--timeout`` without
        ``progressed()`` (a pull that sent progress is a large image, not
        a hang), that registry's references not yet asked are Failed
        without a call: a daemon or registry that hangs on every reference
        costs one ``--timeout``, not one for each batch of eight calls."""
        registry = split_domain(name)[0] or 'docker.io'
        if registry in self.hung:
            return Failed(
                f'not asked: a call about {registry} through the Docker daemon '
                f'at {self.shown_host} ran past --timeout '
                f'({self.timeout:g} s) before it',
                hint='raise --timeout, or try again later',
            )
        try:
            return self._within_deadline(function)
        except docker.errors.APIError as e:
            status = e.status_code or 500
            words = _short(Exception(e.explanation or e))
            if _registry_refused(status, words, name):
                return self._registry_refusal(words, name)
            if _registry_failed(status, ''):
                return self._registry_failure(
                    f'{status} {words}', 'try again later, or use --source local',
                )
            return Missing(words)
        except _TimedOut:
            # the daemon answered /version: no advice to start it
            late = (
                f'no complete answer from the Docker daemon at '
                f'{self.shown_host} within {self.timeout:g} s (--timeout)'
            )
            if progressed():
                return Failed(late, hint='raise --timeout for images this large')
            self.hung.add(registry)
            return Failed(
                late, hint=f'{registry}\'s references after it are not asked in this run',
            )
        except SourceError as e:
            return Failed(str(e))

    def images(self) -> list[dict[str, Any]]:
        """``GET /images/json``: every local image, in one call."""
        try:
            answer = self._call(self.api.images)
        except docker.errors.APIError as e:  # no image list: no daemon to use
            raise self.error(e) from None
        try:
            return checked_image_list(answer)
        except ValueError as e:
            raise self.error(e) from None

    def pull(self, repository: str, tag: str) -> Found | Missing | Failed | None:
        """Pull one image: Found (the digest the registry gave for the tag,
        as ``docker pull`` prints it), Missing or Failed (why not), None
        when the pull said no digest (the image list has it).

        Only the digest and the first error of the progress stream are kept,
        and the whole pull has ``timeout`` seconds.
        """
        events: list[bool] = []  # one item once the pull sent progress
        login = self.login(repository)
        if isinstance(login, Failed):
            return login

        def pull_events() -> tuple[str, str]:
            digest = ''
            for event in self.api.pull(
                    repository, tag, stream=True, decode=True, auth_config=login,
            ):
                if not events:
                    events.append(True)
                if not isinstance(event, dict):
                    raise ValueError('garbled pull progress')
                if event.get('error'):
                    return '', str(event['error'])
                status = event.get('status')
                if isinstance(status, str) and status.startswith('Digest: '):
                    digest = status[len('Digest: '):].strip()
            return digest, ''
        answer = self._via_registry(pull_events, f'{repository}:{tag}', lambda: bool(events))
        if isinstance(answer, Missing):
            return Missing(f'docker pull failed: {answer.reason}', LOGIN_HINT)
        if isinstance(answer, Failed):
            return answer
        digest, message = answer
        if message:
            words = _short(Exception(message))
            if _registry_refused(None, message, f'{repository}:{tag}'):
                return self._registry_refusal(words, repository)
            if _registry_failed(None, message):
                return self._registry_failure(words, 'try again later')
            return Missing(f'docker pull failed: {words}', LOGIN_HINT)
        if digest and digest_problem(digest) is not None:
            return Failed(str(self.error(ValueError('the pull reported a malformed digest'))))
        return Found(digest) if digest else None

    def login(self, reference: str) -> dict[str, str] | Failed:
        """The login the daemon is sent for ``reference``'s registry
        (X-Registry-Auth), found as the registry source finds it
        (credentials.credential_for: helpers in absolute PATH entries
        only, no home that is not absolute), ``{}`` for none.  Left to
        the SDK, its own lookup ran a credsStore's helper found through a
        relative PATH entry (``.``: the checkout being scanned)."""
        from digestpin_hooks.resolve.credentials import credential_for
        from digestpin_hooks.resolve.credentials import CredentialError
        from digestpin_hooks.resolve.credentials import DOCKER_HUB_KEY
        domain, repository = parse_reference(reference).normalized_name.split('/', 1)
        try:
            credential = credential_for(domain, self.timeout, repository)
        except CredentialError as e:
            return Failed(f'credentials for {domain}: {e}')
        if credential is None:
            return {}  # sent as it is: the SDK looks up nothing of its own
        return {
            'username': credential.username, 'password': credential.secret,
            'serveraddress': DOCKER_HUB_KEY if domain == 'docker.io' else domain,
        }

    def distribution(self, reference: str) -> dict[str, Any] | Missing | Failed:
        """The registry's descriptor of ``reference``, or why there is none
        (Missing: the reason is the daemon's words)."""
        login = self.login(reference)
        if isinstance(login, Failed):
            return login
        answer = self._via_registry(
            # public API, untyped in types-docker
            lambda: self.api.inspect_distribution(  # type: ignore[no-untyped-call]
                reference, auth_config=login,
            ),
            reference,
        )
        if isinstance(answer, (Missing, Failed)):
            return answer
        try:
            return checked_distribution(answer)
        except ValueError as e:
            return Failed(str(self.error(e)))

    def image(self, reference: str) -> dict[str, Any] | None:
        """``docker image inspect``; None when there is no such local image."""
        try:
            answer = self._call(
                lambda: self.api.inspect_image(reference),  # type: ignore[no-untyped-call]
            )
        except docker.errors.APIError:
            return None
        if not isinstance(answer, dict):
            raise self.error(ValueError('the image answer is not a JSON object'))
        return answer

    def close(self) -> None:
        self.api.close()


def _threads(count: int) -> int:
    return max(1, min(8, count))


def _each(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[function(item) for item in items]``, asked by _threads(len(items))
    daemon threads; the first error, in the order of ``items``, is raised
    once every item is answered.  The main thread waits for them waking
    every SIGNAL_LATENCY (join_by) and leaves them behind when a signal
    ends the run: a ThreadPoolExecutor's exit, and the interpreter's, waited
    for every call, each for its --timeout, and SIGTERM or ^C while the
    daemon's calls hung ended the run only at the deadline."""
    import threading
    from digestpin_hooks.resolve.registry import join_by
    lock = threading.Lock()
    waiting = list(reversed(range(len(items))))  # popped from the end: in order
    values: dict[int, Any] = {}
    errors: dict[int, BaseException] = {}

    def work() -> None:
        while True:
            with lock:
                if not waiting:
                    return
                index = waiting.pop()
            try:
                value = function(items[index])
            except BaseException as e:  # raised by the main thread below
                with lock:
                    errors[index] = e
            else:
                with lock:
                    values[index] = value
    threads = [threading.Thread(target=work, daemon=True) for _ in range(_threads(len(items)))]
    for thread in threads:
        thread.start()
    join_by(threads, math.inf)
    if errors:
        raise errors[min(errors)]
    return [values[index] for index in range(len(items))]


def manifest_from(answer: dict[str, Any]) -> Found | Missing:
    """What a checked distribution answer says; Missing (as verify has
    always read it: DP007) when its digest is not a valid one, which is then
    neither used nor printed."""
    descriptor = answer.get('Descriptor') or {}
    digest = descriptor.get('digest', '')
    if not isinstance(digest, str) or digest_problem(digest) is not None:
        return Missing('the registry answered with a malformed digest')
    platforms = tuple(
        platform_name(p) for p in answer.get('Platforms') or () if isinstance(p, dict)
    )
    return Found(digest, Manifest(
        digest, descriptor.get('mediaType') in INDEX_MEDIA_TYPES, platforms,
    ))


class LocalSource:
    """``--source local``: the daemon's image list (RepoDigests), one call
    for all keys; for verify, the local image of each pinned digest."""

    def __init__(self, options: SourceOptions) -> None:
        self.options = options

    def daemon(self) -> Daemon:
        return Daemon(find_endpoint(self.options.docker_host), self.options.timeout)

    def digests(self, keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        daemon = self.daemon()
        try:
            local = LocalImages(daemon.images())
            return {key: local.resolve(key) for key in keys}
        finally:
            daemon.close()

    def manifests(
            self, pins: Sequence[Reference], platformed: Collection[DigestKey] = frozenset(),
    ) -> dict[Key, Answer]:
        """The pinned image's platform, when it is local; the tag's local
        digest, when the tag is local (else nothing is said of the tag)."""
        daemon = self.daemon()
        try:
            local = LocalImages(daemon.images())
            answers: dict[Key, Answer] = {}
            for reference in pins:
                at_digest = digest_key(reference)
                image = daemon.image(familiar(at_digest))
                platforms: tuple[str, ...] = ()
                if image is not None:
                    platforms = (platform_name({
                        'os': image.get('Os'), 'architecture': image.get('Architecture'),
                        'variant': image.get('Variant'),
                    }),)
                answers[at_digest] = Found(
                    reference.digest, Manifest(reference.digest, False, platforms),
                )
                if reference.tag:
                    at_tag = local.resolve(tag_key(reference))
                    if isinstance(at_tag, Found):
                        answers[tag_key(reference)] = at_tag
            return answers
        finally:
            daemon.close()


class PullSource(LocalSource):
    """``--source pull``: the local image list after the daemon pulls the
    keys missing locally (every key with ``refresh``)."""

    def digests(self, keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        daemon = self.daemon()
        try:
            local = LocalImages(daemon.images())
            wanted = [k for k in keys if self.options.refresh or k not in local]

            def pull(key: TagKey) -> Answer | None:
                repository, _, tag = familiar(key).rpartition(':')
                answer = daemon.pull(repository, tag)
                if isinstance(answer, Failed):
                    # this reference's registry failed: the rest are asked
                    # all the same, unless it hung (its hint says so)
                    return answer if answer.hint else answer.replace(hint=OTHERS_ASKED)
                return answer
            pulled: dict[TagKey, Answer] = {}
            for key, answer in zip(wanted, _each(pull, wanted)):
                if answer is not None:
                    pulled[key] = answer
            if len(pulled) < len(keys) and wanted:
                local = LocalImages(daemon.images())
            return {key: pulled.get(key) or local.resolve(key) for key in keys}
        finally:
            daemon.close()


class DaemonRegistrySource(LocalSource):
    """``--source daemon-registry``: the registry through the daemon's
    distribution endpoint (Docker only: Podman does not serve it)."""

    def digests(self, keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        daemon = self.daemon()
        try:
            def ask(key: TagKey) -> Answer:
                answer = daemon.distribution(familiar(key))
                if isinstance(answer, Failed):
                    # this reference's registry failed: the rest are asked
                    # all the same, unless it hung (its hint says so)
                    return answer if answer.hint else answer.replace(hint=OTHERS_ASKED)
                if isinstance(answer, Missing):
                    return Missing(
                        f'the registry did not resolve it: {answer.reason}', LOGIN_HINT,
                    )
                return from_distribution(key, answer)
            return dict(zip(keys, _each(ask, keys)))
        finally:
            daemon.close()

    def manifests(
            self, pins: Sequence[Reference], platformed: Collection[DigestKey] = frozenset(),
    ) -> dict[Key, Answer]:
        """One distribution inspect per distinct name@digest and name:tag."""
        wanted: list[Key] = sorted({
            key for reference in pins for key in (
                (digest_key(reference), tag_key(reference)) if reference.tag
                else (digest_key(reference),)
            )
        }, key=familiar)
        daemon = self.daemon()
        try:
            def ask(key: Key) -> Answer:
                answer = daemon.distribution(familiar(key))
                if isinstance(answer, (Missing, Failed)):
                    return answer  # a 429 or 5xx: an error at this pin only
                return manifest_from(answer)
            return dict(zip(wanted, _each(ask, wanted)))
        finally:
            daemon.close()
