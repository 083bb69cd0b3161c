"""Registry credentials as Docker and Podman users already have them.

Looked up in the order Podman documents (containers-auth.json(5)), which
ends with Docker's own file, so one order serves both:

1. ``$REGISTRY_AUTH_FILE``;
2. ``$XDG_RUNTIME_DIR/containers/auth.json`` (what ``podman login`` writes);
3. ``~/.config/containers/auth.json``;
4. ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``;

a home or ``$XDG_RUNTIME_DIR`` that is not an absolute path is not looked
in: it would be a folder of the checkout being scanned.

Within a file, as the Docker CLI does: ``credHelpers[host]`` names a
``docker-credential-NAME`` program, else ``credsStore`` names one for every
host, else ``auths[host]`` holds ``auth`` (base64 ``user:password``) or
``username``/``password``; an ``auths`` key may name a namespace
(``host/team``), as Podman's files may hold one, and is the login of that
namespace's repositories only.  For a repository, the most specific key
of the first file that has one for it wins (logins_for, credential_in).

A secret never leaves this module except as the ``Credential`` the registry
client sends to the host it belongs to; no message names one.  Helper
programs are the user's own (named by the user's files, never by a scanned
repository), found only in absolute ``PATH`` entries (an empty or relative
entry, which would find a repository's own ``./docker-credential-x``, is
passed over and the search goes on), run without a shell in ``/`` with
only those entries on ``PATH``, in a process group of their own, which is
killed on every way out (answer, timeout, error, ^C, SIGTERM, the end of
the run), their output bounded and their stderr discarded.
"""
from __future__ import annotations

import atexit
import base64
import errno
import os
import re
import select
import stat
import threading
import time

from digestpin_hooks.model import Record
from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
from digestpin_hooks.read.bounded import read_regular

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Final

DOCKER_HUB_KEY = 'https://index.docker.io/v1/'
# the names Docker Hub goes by in credential files
DOCKER_HUB_HOSTS = frozenset(('docker.io', 'index.docker.io', 'registry-1.docker.io'))
_HELPER_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z')
MAX_HELPER_OUTPUT = 64 * 1024
# helpers running now, each the leader of its own process group
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()
_ending = False  # set at exit: no helper starts after that


class Credential(Record):
    """A user name and secret for one registry, and where it came from."""

    username: Final[str]
    secret: Final[str] = ''  # the password or token; never printed
    origin: Final[str] = ''  # where it came from, for messages (a file, a helper)

    def __repr__(self) -> str:  # a stray repr() must not show the secret
        return f'Credential(username={self.username!r}, origin={self.origin!r})'


class Unusable(Record):
    """A login the user's files name for some repositories that cannot be
    used (a malformed entry, a file that cannot be read): why, in words
    that name the file or helper only.  Only a lookup that reaches it
    fails, as skopeo's does: a broken key of one team fails no lookup
    another team's key answers first."""

    reason: Final[str]


class Helper(Record):
    """A ``docker-credential-NAME`` program the files name for the whole
    registry ``host``, run only when a lookup reaches it (it may take
    seconds, or pop up a keychain prompt).  ``final``: a ``credHelpers``
    entry, whose file decides, so that a helper with nothing for the host
    ends the lookup; a ``credsStore`` with nothing passes it on to the next
    file."""

    name: Final[str]
    host: Final[str]
    final: Final[bool] = True


class Logins(Record):
    """What the user's files give for one registry, by the repositories
    each login is for, in the order they are looked up: ``('', login)`` is
    the whole registry's, ``('team', login)`` that of ``host/team`` and the
    repositories under it (a key Podman's files may hold,
    containers-auth.json(5)), never another namespace's.  A login is a
    credential, a helper to ask, or why it cannot be used; each is
    looked at only by a lookup that reaches it (credential_in)."""

    scoped: Final[tuple[tuple[str, Credential | Unusable | Helper], ...]] = ()


def _covers(namespace: str, repository: str) -> bool:
    """Whether a login for ``namespace`` ('' for the whole registry) is
    for ``repository`` (``team/app``): ``team`` covers ``team/x``, not
    ``team2/x``."""
    return not namespace or repository == namespace or repository.startswith(namespace + '/')


def credential_in(
        logins: Logins, repository: str, timeout: float,
        asked: dict[Helper, Credential | CredentialError | None] | None = None,
) -> Credential | None:
    """The first login of ``logins`` for ``repository`` that gives one: the
    most specific of the first file that has one; a helper is run only
    when the lookup reaches it, and once for all the lookups that share
    ``asked`` (its answer, or why it failed, kept there).  CredentialError
    when the lookup reaches a login that cannot be used."""
    for namespace, login in logins.scoped:
        if not _covers(namespace, repository):
            continue
        if isinstance(login, Credential):
            return login
        if isinstance(login, Unusable):
            raise CredentialError(login.reason)
        answers = {} if asked is None else asked
        if login not in answers:
            try:
                answers[login] = from_helper(login.name, login.host, timeout)
            except CredentialError as e:
                answers[login] = e
        answer = answers[login]
        if isinstance(answer, CredentialError):
            raise CredentialError(str(answer))
        if answer is not None or login.final:
            return answer
    return None


class CredentialError(Exception):
    """A credential source is broken; the message names the source only."""


def auth_files() -> list[str]:
    """The files to look in, in order (missing ones are skipped).

    A home or runtime folder that is not an absolute path would name files
    of the current folder, the checkout being scanned, and its planted
    login or ``credsStore``: with HOME unset and a user id without a passwd
    entry (a container run as an arbitrary user) ``expanduser`` gives
    ``~`` back, and the XDG Base Directory specification says a relative
    ``XDG_RUNTIME_DIR`` is to be ignored.  Their files are not read.  The
    files the user names (``REGISTRY_AUTH_FILE``, ``DOCKER_CONFIG``) are
    read wherever they are."""
    files = []
    if os.environ.get('REGISTRY_AUTH_FILE'):
        files.append(os.environ['REGISTRY_AUTH_FILE'])
    runtime = os.environ.get('XDG_RUNTIME_DIR', '')
    if os.path.isabs(runtime):
        files.append(os.path.join(runtime, 'containers', 'auth.json'))
    home = home_dir()
    if home is not None:
        files.append(os.path.join(home, '.config', 'containers', 'auth.json'))
    docker = docker_config_dir()
    if docker is not None:
        files.append(os.path.join(docker, 'config.json'))
    return files


def home_dir() -> str | None:
    """The user's home; None when it is not an absolute path (auth_files:
    ``~`` without HOME or a passwd entry, a folder of the checkout)."""
    home = os.path.expanduser('~')
    return home if os.path.isabs(home) else None


def docker_config_dir() -> str | None:
    """The Docker CLI's folder: ``$DOCKER_CONFIG``, else ``~/.docker``; None
    when there is no absolute home to find it in (auth_files: it would be
    a folder of the checkout).  The daemon source reads its contexts there."""
    if os.environ.get('DOCKER_CONFIG'):
        return os.environ['DOCKER_CONFIG']
    home = home_dir()
    return os.path.join(home, '.docker') if home is not None else None


def _server_key(host: str) -> str:
    """The key Docker's files and helpers know the registry ``host`` by
    (Docker Hub's ``https://index.docker.io/v1/``)."""
    return DOCKER_HUB_KEY if host in DOCKER_HUB_HOSTS else host


def _host_of(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``index.docker.io``; a key's host."""
    key = key.strip()
    for prefix in ('https://', 'http://'):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.split('/', 1)[0].lower()


def _namespace_of(key: str, host: str) -> str | None:
    """The repositories an ``auths`` key is for on ``host``: '' for all of
    them, ``team`` for ``host/team`` and those under it; None for another
    registry's key.  A key with a scheme (``https://index.docker.io/v1/``,
    as Docker writes Docker Hub's) names the whole registry, its path an
    API version; after a host without one, a path is a namespace, as
    Podman reads it (containers-auth.json(5)).  Docker takes any key for
    its host alone: a login given for one namespace went to all of them."""
    key = key.strip()
    for prefix in ('https://', 'http://'):
        if key.startswith(prefix):
            return '' if _same_registry(key, host) else None
    key_host, _, path = key.partition('/')
    return path.strip('/') if _same_registry(key_host, host) else None


def _same_registry(key: str, host: str) -> bool:
    key_host = _host_of(key)
    if host in DOCKER_HUB_HOSTS:
        return key_host in DOCKER_HUB_HOSTS
    return key_host == host


def _read_config(path: str) -> dict[str, object] | None:
    try:
        data = read_regular(path, MAX_SMALL_FILE_BYTES).data
    except IsADirectoryError:  # its message is the bare path
        raise CredentialError(f'{path}: is a folder, not a file') from None
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None  # no such file: the next one is looked at
        raise CredentialError(f'{path}: {e}') from None
    return _json_object(data, path, 'is not valid JSON', 'is not a JSON object')


def _json_object(data: bytes, who: str, not_json: str, not_object: str) -> dict[str, object]:
    # json is imported where a file or a helper's answer is read, not with
    # this module: a registry that asks for no login needs none of it
    import json
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise CredentialError(f'{who} {not_json}') from None
    if not isinstance(value, dict):
        raise CredentialError(f'{who} {not_object}')
    return value


def _from_auths(entry: object, path: str) -> Credential | None:
    if not isinstance(entry, dict):
        raise CredentialError(f'{path}: an auths entry is not an object')
    encoded = entry.get('auth')
    # what Go's encoding/json refuses (a number for a string field) fails
    # the file, as null does not
    if encoded is not None and not isinstance(encoded, str):
        raise CredentialError(f'{path}: an auth value is not a string')
    name, password = entry.get('username'), entry.get('password')
    if any(value is not None and not isinstance(value, str) for value in (name, password)):
        raise CredentialError(f'{path}: a username or password is not a string')
    if encoded:
        # ValueError: a non-ASCII str is refused with a plain one, bad
        # base64 with binascii.Error, bytes not UTF-8 with UnicodeDecodeError
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            raise CredentialError(f'{path}: an auth value is not base64 of user:password') from None
        username, colon, secret = decoded.partition(':')
        if not colon:
            raise CredentialError(f'{path}: an auth value is not base64 of user:password')
        return Credential(username, secret, path)
    if isinstance(name, str) and isinstance(password, str) and name:
        if not _sendable(name, password):
            raise CredentialError(f'{path}: a username or password is not valid UTF-8 text')
        return Credential(name, password, path)
    return None  # e.g. only an identitytoken, or a marker left by a credsStore


def _sendable(*texts: str) -> bool:
    """Whether the texts can be sent (as UTF-8): JSON's ``\\ud800`` escape
    gives a lone surrogate, which cannot be encoded."""
    try:
        for text in texts:
            text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _helper(name: object, path: str) -> str:
    if not isinstance(name, str) or not _HELPER_NAME_RE.match(name):
        raise CredentialError(f'{path}: a credential helper name is malformed')
    return name


def from_helper(helper: str, host: str, timeout: float) -> Credential | None:
    """``docker-credential-HELPER get``: the credential it holds for the host,
    None when it has none."""
    program = find_program(f'docker-credential-{helper}')
    if program is None:
        raise CredentialError(
            f'the credential helper docker-credential-{helper} is not on PATH',
        )
    server = _server_key(host)
    returncode, output = _run_bounded(program, server.encode(), timeout, helper)
    if len(output) > MAX_HELPER_OUTPUT:
        raise CredentialError(f'docker-credential-{helper} answered too much')
    if returncode != 0:
        # "credentials not found in native keychain": no credential, no error
        return None
    answer = _json_object(
        output, f'docker-credential-{helper}', 'did not answer JSON',
        'did not answer a JSON object',
    )
    username, secret = answer.get('Username'), answer.get('Secret')
    if not isinstance(username, str) or not isinstance(secret, str):
        raise CredentialError(
            f'docker-credential-{helper} answered without Username and Secret strings',
        )
    if not username and not secret:
        return None
    if not _sendable(username, secret):
        raise CredentialError(
            f'docker-credential-{helper} answered a Username or Secret that is not valid UTF-8 text',
        )
    if username == '<token>':
        raise CredentialError(
            f'docker-credential-{helper} holds an identity token for {host}, '
            f'which digestpin does not use: log in with a password or access token',
        )
    return Credential(username, secret, f'docker-credential-{helper}')


def _absolute_path_entries() -> list[str]:
    """The absolute entries of ``PATH``: an empty or relative one
    (``PATH=/usr/bin:`` or ``.``) names a folder of wherever a program
    runs, the folder being scanned when that is where it runs."""
    return [
        folder for folder in os.environ.get('PATH', os.defpath).split(os.pathsep)
        if os.path.isabs(folder)
    ]


def find_program(name: str) -> str | None:
    """``name`` in the absolute ``PATH`` entries only: a relative entry
    would find the program in the folder being scanned; it is passed over
    and the search goes on (Go's ``exec.LookPath``, which Docker uses,
    refuses such a hit instead)."""
    for folder in _absolute_path_entries():
        candidate = os.path.join(folder, name)
        try:
            mode = os.stat(candidate).st_mode
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(mode) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the helper's process group (what it started too), once,
    whichever thread comes first, then reap it."""
    _kill(process)
    # only once killed (here or by another thread): its group id cannot
    # belong to another process while it is killed
    process.wait()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the helper's process group, unless another thread did; off the
    list of running helpers only once killed, so that an exception between
    the two (^C) leaves it killed, or listed for the exit to kill."""
    # imported here, with subprocess (which imports it): its enums of every
    # signal are three million instructions of each registry run
    import signal
    with _RUNNING_LOCK:
        if process not in _RUNNING:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already
        _RUNNING.discard(process)


def stop_helpers() -> None:
    """Kill every helper still running (the end of a run, ^C, SIGTERM):
    all of them before any is reaped, so that a signal while one is
    reaped leaves none running."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill(process)
    for process in running:
        process.wait()


def _at_exit() -> None:
    global _ending
    with _RUNNING_LOCK:
        _ending = True
    # the process is ending: a signal now (a first SIGTERM, a ^C) could
    # only cut the killing of the last helpers short, with a traceback
    import _signal  # type: ignore[import-not-found,unused-ignore]
    try:
        # those the run ends on (cli's _stop); SIGHUP is not on every system
        for name in ('SIGTERM', 'SIGINT', 'SIGHUP'):
            if hasattr(_signal, name):
                _signal.signal(getattr(_signal, name), _signal.SIG_IGN)
    except ValueError:
        pass  # not the main thread: its signals raise nothing here
    stop_helpers()


atexit.register(_at_exit)


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the helper has exited, left unreaped (where ``waitid`` can do
    that) so that its group can still be killed."""
    if not hasattr(os, 'waitid'):  # macOS: reaped here, its group killed after
        return process.poll() is not None
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _run_bounded(program: str, given: bytes, timeout: float, helper: str) -> tuple[int, bytes]:
    """(exit status, at most MAX_HELPER_OUTPUT + 1 bytes of stdout) of
    ``program get``; its process group is killed on every way out: once it
    has answered, at the deadline, once it says too much, on an error.

    The answer is what the helper wrote before it exited: a process it
    started may keep the pipe open after that (Go's ``cmd.Output``, which
    Docker uses, then waits for ever); it is not waited for."""
    import subprocess  # here: most runs read a credential file, or none
    # what the helper runs by name (docker-credential-gcloud runs gcloud)
    # is found as the helper was: never in the folder being scanned, which
    # a relative PATH entry names where the helper runs (Docker starts it
    # there, with PATH as it is)
    environment = dict(os.environ, PATH=os.pathsep.join(_absolute_path_entries()))
    with _RUNNING_LOCK:
        if _ending:
            raise CredentialError(f'docker-credential-{helper} not run: the run is ending')
        try:
            process = subprocess.Popen(
                (program, 'get'), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, start_new_session=True,
                cwd='/', env=environment,
            )
        except OSError as e:
            raise CredentialError(
                f'cannot run docker-credential-{helper}: {e.strerror or e}',
            ) from None
        _RUNNING.add(process)
    assert process.stdin is not None and process.stdout is not None
    end = time.monotonic() + max(0.1, timeout)
    chunks: list[bytes] = []
    size = 0
    answered = False
    try:
        try:  # a few bytes: the pipe holds them, whether the helper reads or not
            process.stdin.write(given)
            process.stdin.close()
        except OSError:
            pass  # a helper that does not read: its answer says the rest
        out = process.stdout.fileno()
        while size <= MAX_HELPER_OUTPUT:
            left = end - time.monotonic()
            if left <= 0:
                break
            if select.select((out,), (), (), min(left, 0.05))[0]:
                chunk = os.read(out, 64 * 1024)
                if not chunk:  # the end of its output: it has exited or will
                    answered = True
                    break
                chunks.append(chunk)
                size += len(chunk)
            elif _exited(process):
                # all it wrote is in the pipe now, though the wait may have
                # timed out just before the last of it came
                size += _drain(out, chunks, MAX_HELPER_OUTPUT + 1 - size)
                answered = True
                break
        exited = answered and (_exited(process) or _exits_by(process, end))
    finally:
        _kill_group(process)
        process.stdout.close()
    output = b''.join(chunks)
    if size > MAX_HELPER_OUTPUT:
        return -1, output
    if not exited:
        raise CredentialError(
            f'docker-credential-{helper} did not answer before the deadline (--timeout)',
        )
    return process.returncode, output


def _drain(out: int, chunks: list[bytes], limit: int) -> int:
    """Read what the pipe holds now, without waiting (a process the helper
    started may hold it open), until ``limit`` bytes: how many were read."""
    size = 0
    while size < limit and select.select((out,), (), (), 0)[0]:
        chunk = os.read(out, 64 * 1024)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return size


def _exits_by(process: subprocess.Popen[bytes], end: float) -> bool:
    """Whether the helper, which closed its output, exits by ``end``."""
    while time.monotonic() < end:
        time.sleep(0.01)
        if _exited(process):
            return True
    return False


def credential_for(host: str, timeout: float, repository: str = '') -> Credential | None:
    """What the user's files give for ``repository`` (``team/app``; '' for
    a login of the whole registry) of the registry ``host`` (``docker.io``
    for Docker Hub); None for anonymous access."""
    return credential_in(logins_for(host), repository, timeout)


def logins_for(host: str) -> Logins:
    """Every login the user's files give for the registry ``host``, in the
    order they are looked up: file by file, each file's most specific key
    first, up to the first one for the whole registry (a helper is one,
    unless a ``credsStore`` with nothing passes on), after which none is
    looked at.  Nothing is run and nothing fails here: a helper, or a
    file or entry that cannot be used, is a login that a lookup reaching
    it runs, or fails on (credential_in), as Podman's lookup does."""
    host = host.lower()
    scoped: list[tuple[str, Credential | Unusable | Helper]] = []
    for path in auth_files():
        try:
            of_file, whole = _file_logins(path, host)
        except CredentialError as e:
            # the file's logins cannot be known: a lookup that gets this
            # far fails, one an earlier file answered does not
            scoped.append(('', Unusable(str(e))))
            break
        scoped.extend(of_file)
        if whole:
            break
    return Logins(tuple(scoped))


def _file_logins(
        path: str, host: str,
) -> tuple[list[tuple[str, Credential | Unusable | Helper]], bool]:
    """The logins of one file for ``host``, the most specific first, and
    whether they end the lookup (one is for the whole registry); the
    file's CredentialError when it cannot be read as a whole."""
    config = _read_config(path)
    if config is None:
        return [], False
    # null is what Go's encoding/json reads as the zero value, without
    # an error: no helpers, no store, no logins
    helpers = config.get('credHelpers')
    if helpers is None:
        helpers = {}
    if not isinstance(helpers, dict):
        raise CredentialError(f'{path}: credHelpers is not an object')
    store = config.get('credsStore')
    if store is not None and not isinstance(store, str):  # Go refuses the file
        raise CredentialError(f'{path}: credsStore is not a string')
    # docker/cli looks the host up by its exact key, whose entry decides
    # (one naming no helper too); another spelling of the host is read
    # when that key is not there, the first of them.  A key that names a
    # namespace (host/team) is no spelling of the host: neither Docker nor
    # Podman reads one there, and its helper, asked for the host, would
    # give the whole registry's login to every namespace
    exact = _server_key(host)
    key = exact if exact in helpers else next(
        (key for key in helpers if isinstance(key, str) and _namespace_of(key, host) == ''), None,
    )
    if key is not None:
        helper = helpers[key]
        if helper is not None and helper != '':
            return [('', Helper(_helper(helper, path), host))], True
        # docker/cli's GetCredentialsStore: a helper named empty makes
        # the file itself the store, credsStore unasked
        store = None
    if store:
        return [('', Helper(_helper(store, path), host, final=False))], False
    auths = config.get('auths')
    if auths is None:
        auths = {}
    if not isinstance(auths, dict):
        raise CredentialError(f'{path}: auths is not an object')
    of_file: list[tuple[str, Credential | Unusable | Helper]] = []
    for key, entry in auths.items():
        namespace = _namespace_of(key, host) if isinstance(key, str) else None
        if namespace is None or entry is None:
            continue
        try:
            credential = _from_auths(entry, path)
        except CredentialError as e:
            of_file.append((namespace, Unusable(str(e))))
            continue
        if credential is not None:
            of_file.append((namespace, credential))
    # the most specific first (of keys alike, the first in the file)
    of_file.sort(key=lambda pair: -pair[0].count('/') - bool(pair[0]))
    return of_file, any(not namespace for namespace, _ in of_file)
