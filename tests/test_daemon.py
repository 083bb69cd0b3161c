"""resolve/daemon.py without a daemon: where it is found, how its answers
become typed answers, and that a daemon that is not there is one SourceError
line for every daemon source (the runs against a real daemon are in
test_docker_fix.py and test_docker_update_verify.py, but for the one about
what the SDK itself reads of a home that is not there)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from digestpin_hooks.reference import parse_reference
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import OTHERS_ASKED
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import SourceOptions
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.resolve.daemon import DaemonRegistrySource
from digestpin_hooks.resolve.daemon import find_endpoint
from digestpin_hooks.resolve.daemon import HINT
from digestpin_hooks.resolve.daemon import LOGIN_HINT
from digestpin_hooks.resolve.daemon import LocalSource
from digestpin_hooks.resolve.daemon import manifest_from
from digestpin_hooks.resolve.daemon import PullSource
from tests.fakes import FakeDaemon
from tests.fakes import http
from tests.fakes import knows
from tests.stack import Stack

A = 'sha256:' + 'a' * 64


def test_docker_host_comes_first() -> None:
    endpoint = find_endpoint('unix:///elsewhere.sock')
    assert (endpoint.host, endpoint.tls, endpoint.origin) == ('unix:///elsewhere.sock', None, '--docker-host')


@pytest.mark.parametrize(('answer', 'expected'), (
    ({'Descriptor': {'digest': A, 'mediaType': 'application/vnd.oci.image.index.v1+json'},
      'Platforms': [{'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}]},
     Found(A, Manifest(A, True, ('linux/arm64/v8',)))),
    ({'Descriptor': {'digest': A, 'mediaType': 'application/vnd.oci.image.manifest.v1+json'}},
     Found(A, Manifest(A, False, ()))),
    # a malformed digest is neither used nor printed: the pin's DP007
    ({'Descriptor': {'digest': 'sha256:zz'}}, Missing('the registry answered with a malformed digest')),
))
def test_a_distribution_answer_is_a_typed_answer(answer: dict[str, object], expected: object) -> None:
    assert manifest_from(answer) == expected


@pytest.mark.parametrize('source', (LocalSource, PullSource, DaemonRegistrySource))
def test_no_daemon_is_one_source_error_line(tmp_path: Path, source: type[LocalSource]) -> None:
    host = f'unix://{tmp_path}/none.sock'
    asked = source(SourceOptions(host, 2.0))
    message = (
        f'cannot use the Docker daemon at {host} (from --docker-host): there is '
        f'no socket at that path; {HINT}'
    )
    with pytest.raises(SourceError) as failed:
        if source is DaemonRegistrySource:
            asked.manifests([parse_reference(f'a:1@{A}')])
        else:
            asked.digests([TagKey('docker.io/library/a', '1')])
    assert str(failed.value) == message


@pytest.mark.parametrize(('error', 'expected'), (
    # the daemon's words once the stream has begun: the registry failed
    ('toomanyrequests: You have reached your pull rate limit', lambda host: Failed(
        f'the registry failed through the Docker daemon at {host}: toomanyrequests: '
        f'You have reached your pull rate limit; try again later', hint=OTHERS_ASKED,
    )),
    ('received unexpected HTTP status: 503 Service Unavailable', lambda host: Failed(
        f'the registry failed through the Docker daemon at {host}: received '
        f'unexpected HTTP status: 503 Service Unavailable; try again later',
        hint=OTHERS_ASKED,
    )),
    # ... or there is no such image
    ('manifest for example.com/team/app:1 not found: manifest unknown', lambda host: Missing(
        'docker pull failed: manifest for example.com/team/app:1 not found: manifest unknown',
        LOGIN_HINT,
    )),
))
def test_a_pull_stream_error_is_a_typed_answer(error: str, expected: object) -> None:
    """A pull whose registry fails after its stream began says so in words
    only: they become a Failed (or a Missing) at that key, not the run's end."""
    import json
    stream = b'{"status":"Pulling from team/app","id":"1"}\r\n' + json.dumps(
        {'errorDetail': {'message': error}, 'error': error},
    ).encode() + b'\r\n'
    # as the daemon streams it: chunked, one JSON object a line
    chunked = (
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
        b'Transfer-Encoding: chunked\r\n\r\n'
        + f'{len(stream):x}\r\n'.encode() + stream + b'\r\n0\r\n\r\n'
    )
    fake = FakeDaemon({**knows({}), '/images/create': chunked})
    try:
        host = f'unix://{fake.path}'
        key = TagKey('example.com/team/app', '1')
        answers = PullSource(SourceOptions(host, 2.0)).digests([key])
    finally:
        fake.close()
    assert answers == {key: expected(host)}  # type: ignore[operator]


def test_no_home_reads_no_docker_context_of_the_checkout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HOME unset and a user id with no passwd entry (a container run as
    an arbitrary user): ``os.path.expanduser('~')`` gives ``~`` back, and
    the CLI's ``~/.docker`` named a folder of the current folder, the
    checkout, whose ``currentContext`` chose the daemon to ask (and trust
    the digests of).  No home: no home's context."""
    import hashlib
    import json
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)
    checkout = tmp_path / 'checkout'
    config = checkout / '~' / '.docker'
    meta = config / 'contexts' / 'meta' / hashlib.sha256(b'planted').hexdigest()
    meta.mkdir(parents=True)
    (config / 'config.json').write_text(json.dumps({'currentContext': 'planted'}))
    (meta / 'meta.json').write_text(json.dumps({
        'Name': 'planted', 'Endpoints': {'docker': {'Host': 'tcp://planted.example:2375'}},
    }))
    monkeypatch.chdir(checkout)
    for name in ('HOME', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, 'getpwuid', no_entry)
    assert 'planted' not in find_endpoint().host


def test_a_relative_xdg_runtime_dir_names_no_podman_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG Base Directory specification: a relative ``XDG_RUNTIME_DIR``
    is invalid and ignored.  Read, it named ``run/podman/podman.sock`` of
    the current folder, the checkout, where a planted symlink chose the
    socket to ask; an absolute one is the user's socket, first."""
    from digestpin_hooks.resolve.daemon import podman_sockets
    monkeypatch.setenv('XDG_RUNTIME_DIR', 'run')
    assert podman_sockets() == ['/run/podman/podman.sock']
    monkeypatch.setenv('XDG_RUNTIME_DIR', '/run/user/1000')
    assert podman_sockets() == ['/run/user/1000/podman/podman.sock', '/run/podman/podman.sock']


def _no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOME unset and a user id with no passwd entry (a container run as an
    arbitrary user): ``os.path.expanduser('~')`` gives ``~`` back."""
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)
    for name in ('HOME', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, 'getpwuid', no_entry)


@pytest.mark.parametrize('planted', ('HttpHeaders', 'FIFO'))
def test_the_sdk_reads_no_config_of_the_checkout_without_a_home(
        stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], planted: str,
) -> None:
    """The SDK's client reads the CLI's ``config.json`` as it is made, where
    the SDK finds it: without a home, ``~/.docker/config.json`` of the
    current folder, the checkout, which no credential lookup of ours reads.
    Its ``HttpHeaders`` went with every call to the daemon, over ours: a
    planted ``X-Registry-Auth`` replaced the user's login
    (``REGISTRY_AUTH_FILE``), and the daemon was refused; a FIFO there held
    the client (an unbounded ``open``) until --timeout failed the whole
    source.  The SDK now reads what we read: no home, no file."""
    import base64
    import json
    from digestpin_hooks.fix import main as fix_main
    from tests.registries import htpasswd_auth
    from tests.registries import PASSWORD
    from tests.registries import USER
    address = stack.start_registry(f'sdk-config-{planted}', htpasswd_auth(Path(stack.root)))
    image = f'{stack.registry}/sdk-config/{planted.lower()}:1'
    digest = stack.push(image, f'the sdk reads no planted config {planted}')
    reference = f'{address}/sdk-config/{planted.lower()}:1'
    login = tmp_path / 'auth.json'
    login.write_text(json.dumps({'auths': {address: {
        'auth': base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode(),
    }}}))
    checkout = tmp_path / 'checkout'
    planted_folder = checkout / '~' / '.docker'
    planted_folder.mkdir(parents=True)
    if planted == 'HttpHeaders':
        wrong = json.dumps({'username': USER, 'password': 'planted-wrong', 'serveraddress': address})
        (planted_folder / 'config.json').write_text(json.dumps({'HttpHeaders': {
            'X-Registry-Auth': base64.urlsafe_b64encode(wrong.encode()).decode(),
        }}))
    else:
        os.mkfifo(planted_folder / 'config.json')
    (checkout / 'Dockerfile').write_text(f'FROM {reference}\n')
    monkeypatch.chdir(checkout)
    _no_home(monkeypatch)
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(login))
    code = fix_main([
        '--docker-host', stack.host, '--timeout', '3', '--source', 'daemon-registry', 'Dockerfile',
    ])
    out, err = capsys.readouterr()
    assert (code, out) == (1, f'Dockerfile:1:6: pinned {reference} -> {reference}@{digest}\n'), out + err
    assert (checkout / 'Dockerfile').read_text() == f'FROM {reference}@{digest}\n'


def test_the_sdk_reads_the_users_config_where_the_credentials_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The user's own ``HttpHeaders`` still go to the daemon, as the CLI
    sends them: the SDK's client is given ``$DOCKER_CONFIG/config.json``,
    read bounded (a file past MAX_SMALL_FILE_BYTES is none), and its own
    search for a file finds nothing."""
    import json

    import docker.utils.config

    from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
    config = tmp_path / 'config.json'
    config.write_text(json.dumps({'HttpHeaders': {'X-Meta-Source': 'ci'}}))
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path))
    assert docker.utils.config.load_general_config() == {'HttpHeaders': {'X-Meta-Source': 'ci'}}
    assert docker.utils.config.find_config_file() is None
    config.write_text(json.dumps({'HttpHeaders': {'X-Meta-Source': 'ci'}}) + ' ' * MAX_SMALL_FILE_BYTES)
    assert docker.utils.config.load_general_config() == {}


def _certificates(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        (folder / name).write_text('')
    return folder


def test_tls_certificates_without_docker_cert_path_are_in_docker_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``DOCKER_TLS_VERIFY`` without ``DOCKER_CERT_PATH``: the Docker CLI
    reads the certificates in its own folder, ``$DOCKER_CONFIG`` (asked
    below: it names the file it could not open), where the SDK read
    ``~/.docker`` whatever ``DOCKER_CONFIG`` says."""
    import subprocess
    client = _docker_client()
    empty = tmp_path / 'empty-config'
    empty.mkdir()
    environment = {
        'PATH': os.environ.get('PATH', os.defpath), 'HOME': str(tmp_path / 'home'),
        'DOCKER_CONFIG': str(empty), 'DOCKER_HOST': 'tcp://127.0.0.1:1', 'DOCKER_TLS_VERIFY': '1',
    }
    cli = subprocess.run(
        (client, 'version'), env=environment, capture_output=True, text=True, timeout=10,
    )
    assert f'open {empty / "ca.pem"}: no such file or directory' in cli.stderr, cli.stderr
    _certificates(tmp_path / 'home' / '.docker')
    config = _certificates(tmp_path / 'config')
    for name in ('DOCKER_CERT_PATH', 'DOCKER_CONTEXT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('DOCKER_CONFIG', str(config))
    monkeypatch.setenv('DOCKER_HOST', 'tcp://127.0.0.1:2376')
    monkeypatch.setenv('DOCKER_TLS_VERIFY', '1')
    endpoint = find_endpoint()
    assert endpoint.tls.ca_cert == str(config / 'ca.pem')
    assert endpoint.tls.cert == (str(config / 'cert.pem'), str(config / 'key.pem'))


def test_no_home_reads_no_tls_certificates_of_the_checkout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``DOCKER_TLS_VERIFY`` without ``DOCKER_CERT_PATH``, ``DOCKER_CONFIG``
    or a home: the SDK took ``~/.docker/ca.pem`` of the current folder, the
    checkout, as the authority that vouches for the daemon (and its
    ``cert.pem`` and ``key.pem`` as the user's).  No home, no certificates:
    a setup error, as certificates that are not there are."""
    checkout = tmp_path / 'checkout'
    _certificates(checkout / '~' / '.docker')
    monkeypatch.chdir(checkout)
    _no_home(monkeypatch)
    monkeypatch.setenv('DOCKER_HOST', 'tcp://127.0.0.1:2376')
    monkeypatch.setenv('DOCKER_TLS_VERIFY', '1')
    with pytest.raises(SourceError) as failed:
        find_endpoint()
    assert str(failed.value) == (
        'cannot find the Docker daemon: DOCKER_TLS_VERIFY is set without '
        'DOCKER_CERT_PATH, and there is no DOCKER_CONFIG or home folder to find '
        f'the certificates in; {HINT}'
    )
    assert failed.value.unreachable


# the SDK reads the scheme in any case, after blanks
@pytest.mark.parametrize('host', ('ssh://ci@daemon.invalid', ' SSH://ci@daemon.invalid'))
def test_no_home_reads_no_ssh_config_of_the_checkout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        host: str,
) -> None:
    """An ``ssh://`` daemon: the SDK (with paramiko, its ``ssh`` extra)
    reads ``~/.ssh/config`` and ``~/.ssh/known_hosts`` where
    ``os.path.expanduser`` finds them; without a home, in the current
    folder, the checkout, whose ``ProxyCommand`` it ran (here it touched
    ``ran``).  The Docker CLI's ``ssh`` finds ``~/.ssh`` through the passwd
    entry, and without one refuses to run.  No home: no ssh:// daemon."""
    import paramiko  # noqa: F401 (the SDK's ssh:// support; without it nothing is read)

    from digestpin_hooks.fix import main as fix_main
    ran = tmp_path / 'ran'
    checkout = tmp_path / 'checkout'
    (checkout / '~' / '.ssh').mkdir(parents=True)
    (checkout / '~' / '.ssh' / 'config').write_text(f'Host *\n  ProxyCommand touch {ran}\n')
    (checkout / 'Dockerfile').write_text('FROM example.com/app:1\n')
    monkeypatch.chdir(checkout)
    _no_home(monkeypatch)
    monkeypatch.setenv('USER', 'ci')  # paramiko's %u, without a passwd entry
    code = fix_main(['--docker-host', host, '--timeout', '2', 'Dockerfile'])
    out, err = capsys.readouterr()
    assert not ran.exists()
    assert (code, out) == (2, '')
    assert err == (
        f'digestpin-fix: error: cannot find the Docker daemon: {host} (from '
        f'--docker-host) is an ssh:// host, and there is no home folder whose '
        f'~/.ssh to read; {HINT}\n'
    )


def test_no_home_reads_no_netrc_of_the_checkout(
        stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """The SDK's client is a requests session, which looks each request's
    host up in ``~/.netrc`` (as ``os.path.expanduser`` finds it) for a
    login to send the daemon: without a home, ``~/.netrc`` of the current
    folder, the checkout, whose FIFO held every call (``open``) until
    --timeout failed the whole source.  No ``.netrc`` is read (the
    registry source reads none either)."""
    from digestpin_hooks.fix import main as fix_main
    image = f'{stack.registry}/sdk-netrc/app:1'
    digest = stack.push(image, 'the sdk reads no planted netrc')
    checkout = tmp_path / 'checkout'
    (checkout / '~').mkdir(parents=True)
    os.mkfifo(checkout / '~' / '.netrc')
    (checkout / 'Dockerfile').write_text(f'FROM {image}\n')
    monkeypatch.chdir(checkout)
    _no_home(monkeypatch)
    monkeypatch.delenv('NETRC', raising=False)
    code = fix_main([
        '--docker-host', stack.host, '--timeout', '3', '--source', 'daemon-registry', 'Dockerfile',
    ])
    out, err = capsys.readouterr()
    assert (code, out) == (1, f'Dockerfile:1:6: pinned {image} -> {image}@{digest}\n'), out + err


def test_the_users_netrc_login_never_goes_to_the_daemon(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a home, requests took the user's ``~/.netrc`` login for the
    daemon's host (its ``default`` entry for any host) and sent it to the
    daemon as ``Authorization``: a remote ``tcp://`` daemon got the password
    of whatever the file was for, in the clear without TLS.  The Docker CLI
    reads no ``.netrc``; neither does the SDK's client now."""
    home = tmp_path / 'home'
    home.mkdir()
    (home / '.netrc').write_text('default login netrc-user password netrc-secret\n')
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.delenv('NETRC', raising=False)
    fake = FakeDaemon(knows({}))
    try:
        LocalSource(SourceOptions(f'unix://{fake.path}', 2.0)).digests(
            [TagKey('example.com/team/app', '1')],
        )
    finally:
        fake.close()
    assert fake.heads
    assert not [head for head in fake.heads if b'authorization' in head.lower()]


@pytest.mark.parametrize('name', ('127.0.0.1', 'localhost'))
def test_a_loopback_daemon_is_never_reached_through_a_proxy(
        monkeypatch: pytest.MonkeyPatch, name: str,
) -> None:
    """``HTTP_PROXY`` set and a ``tcp://`` daemon on loopback: the Docker
    CLI goes to the daemon (asked below: the proxy sees nothing), as Go's
    rule keeps loopback off every proxy; requests, under the SDK, sent
    every call through the proxy, the registry login of a pull
    (X-Registry-Auth) in the clear with it, and let the proxy answer for
    the daemon."""
    import subprocess

    from tests.registries import RecordingProxy
    client = _docker_client()
    fake = FakeDaemon(knows({}), tcp=True)
    proxy = RecordingProxy()
    host = fake.host.replace('127.0.0.1', name)
    try:
        for variable in ('NO_PROXY', 'no_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv('HTTP_PROXY', proxy.url)
        cli = subprocess.run(
            (client, 'images'), capture_output=True, timeout=10,
            env={'PATH': os.environ['PATH'], 'HOME': '/nonexistent', 'HTTP_PROXY': proxy.url, 'DOCKER_HOST': host},
        )
        assert (cli.returncode, proxy.requests) == (0, []), cli.stderr
        asked = len(fake.requests)
        LocalSource(SourceOptions(host, 2.0)).digests([TagKey('example.com/team/app', '1')])
    finally:
        proxy.close()
        fake.close()
    assert proxy.requests == []
    assert len(fake.requests) > asked


def test_a_long_context_name_or_daemon_host_is_shortened_in_error_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A context's name (``DOCKER_CONTEXT``, or ``currentContext`` of a
    ``config.json`` of up to 1 MiB) and a daemon's host (``DOCKER_HOST``,
    ``--docker-host``, a context's ``Host``) are shown as a file's long
    values are, their first and last 100 characters (text.shortened): the
    error line held each whole."""
    from digestpin_hooks.text import shortened
    for name in ('DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path))
    monkeypatch.setenv('DOCKER_CONTEXT', 'c' * 300)
    with pytest.raises(SourceError) as failed:
        find_endpoint()
    assert str(failed.value) == f"Docker context '{'c' * 100}\u2026{'c' * 100}' not found; {HINT}"
    host = f'unix://{tmp_path}/{"d" * 300}.sock'
    with pytest.raises(SourceError) as failed:
        LocalSource(SourceOptions(host, 2.0)).digests([TagKey('example.com/team/app', '1')])
    said = str(failed.value)
    assert said.startswith(f'cannot use the Docker daemon at {shortened(host)} (from --docker-host): ')
    assert len(said) < 600, said


def _registry_auth_of_pulls(heads: list[bytes]) -> list[dict[str, str]]:
    """The X-Registry-Auth of each pull (``/images/create``) of ``heads``,
    decoded, and the X-Meta-Source beside it."""
    import base64
    import json
    found = []
    for head in heads:
        request_line, *lines = head.split(b'\r\n')
        if b'/images/create' not in request_line:
            continue
        fields = {
            name.strip().lower().decode(): value.strip().decode()
            for name, _, value in (line.partition(b':') for line in lines)
        }
        auth = fields.get('x-registry-auth', '')
        login = json.loads(base64.urlsafe_b64decode(auth + '=' * (-len(auth) % 4)) or b'{}')
        found.append({
            'username': login.get('username', ''), 'serveraddress': login.get('serveraddress', ''),
            'x-meta-source': fields.get('x-meta-source', ''),
        })
    return found


def test_http_headers_never_replace_the_registry_login_of_a_pull(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI's ``config.json`` ``HttpHeaders`` go with every call, but
    never in place of the headers a call sets itself: the Docker CLI sends
    them first and its own over them (asked below: a pull's
    X-Registry-Auth is the registry's login).  The SDK put them over the
    call's: an ``X-Registry-Auth`` there (another registry's login) went
    with every pull, and the daemon handed that login to the registry
    pulled from."""
    import base64
    import json
    import subprocess
    client = _docker_client()
    other = json.dumps({'username': 'other', 'password': 'other-secret', 'serveraddress': 'other.example'})
    (tmp_path / 'config.json').write_text(json.dumps({
        'HttpHeaders': {
            'X-Registry-Auth': base64.urlsafe_b64encode(other.encode()).decode(),
            'X-Meta-Source': 'ci',
        },
        'auths': {'example.com': {'auth': base64.b64encode(b'user:secret').decode()}},
    }))
    for name in ('DOCKER_HOST', 'DOCKER_CONTEXT', 'REGISTRY_AUTH_FILE', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path))
    pulled = b'{"status":"Digest: sha256:' + b'a' * 64 + b'"}\r\n'
    fake = FakeDaemon({**knows({}), '/images/create': http('200 OK', pulled)})
    try:
        subprocess.run(
            (client, 'pull', 'example.com/team/app:1'), capture_output=True, timeout=10,
            env={'PATH': os.environ['PATH'], 'HOME': str(tmp_path), 'DOCKER_CONFIG': str(tmp_path), 'DOCKER_HOST': fake.host},
        )
        asked = len(fake.heads)
        PullSource(SourceOptions(fake.host, 2.0)).digests([TagKey('example.com/team/app', '1')])
    finally:
        fake.close()
    own = {'username': 'user', 'serveraddress': 'example.com', 'x-meta-source': 'ci'}
    assert _registry_auth_of_pulls(fake.heads[:asked]) == [own]
    assert _registry_auth_of_pulls(fake.heads[asked:]) == [own]


def test_a_pull_is_sent_the_login_of_its_namespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pull through the daemon is sent the login the registry source
    would send for that repository (credentials.logins_for): Podman's
    ``host/team`` key for ``team/app``, the whole registry's for
    ``other/app`` (on main: the first key of the host, for both)."""
    import base64
    import json
    auth = tmp_path / 'auth.json'
    auth.write_text(json.dumps({'auths': {
        'example.com': {'auth': base64.b64encode(b'whole:secret').decode()},
        'example.com/team': {'auth': base64.b64encode(b'team:secret').decode()},
    }}))
    for name in ('DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(auth))
    pulled = b'{"status":"Digest: sha256:' + b'a' * 64 + b'"}\r\n'
    fake = FakeDaemon({**knows({}), '/images/create': http('200 OK', pulled)})
    try:
        PullSource(SourceOptions(fake.host, 2.0)).digests([
            TagKey('example.com/team/app', '1'), TagKey('example.com/other/app', '1'),
        ])
    finally:
        fake.close()
    assert sorted(login['username'] for login in _registry_auth_of_pulls(fake.heads)) == [
        'team', 'whole',
    ]


@pytest.mark.parametrize(('entry', 'proxied'), (('{address}:{port}', False), ('{address}:1', True)))
def test_no_proxy_is_read_for_a_daemon_as_the_docker_cli_reads_it(
        monkeypatch: pytest.MonkeyPatch, entry: str, proxied: bool,
) -> None:
    """``HTTP_PROXY`` and a ``NO_PROXY`` entry of the daemon's address and
    port (a ``tcp://`` daemon not on loopback): the Docker CLI goes to the
    daemon directly (asked below), as Go reads ``NO_PROXY``; requests, under
    the SDK, never matched an entry with a port and sent every call through
    the proxy, a pull's registry login (X-Registry-Auth) with it.  An entry
    of another port leaves the daemon behind the proxy, for both."""
    import subprocess

    from tests.registries import RecordingProxy
    client, address = _docker_client_and_own_address()
    fake = FakeDaemon(knows({}), tcp=True, address=address)
    proxy = RecordingProxy()
    no_proxy = entry.format(address=address, port=fake.host.rpartition(':')[2])
    try:
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        environment = {'HTTP_PROXY': proxy.url, 'NO_PROXY': no_proxy}
        cli = subprocess.run(
            (client, 'images'), capture_output=True, timeout=10,
            env={'PATH': os.environ['PATH'], 'HOME': '/nonexistent', 'DOCKER_HOST': fake.host, **environment},
        )
        assert bool(proxy.requests) == proxied, cli.stderr
        proxy.requests.clear()
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        LocalSource(SourceOptions(fake.host, 2.0)).digests([TagKey('example.com/team/app', '1')])
    finally:
        proxy.close()
        fake.close()
    assert bool(proxy.requests) == proxied


PROXY_VARIABLES = (
    'NO_PROXY', 'no_proxy', 'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy',
    'ALL_PROXY', 'all_proxy',
)


def _cli_and_local_source_reach(
        fake: FakeDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        environment: dict[str, str],
) -> None:
    """The Docker CLI (``-H``) and the local source, each given
    ``environment`` and no other Docker or proxy variable, reach ``fake``
    (the source's question answered: no such image)."""
    import subprocess
    cli = subprocess.run(
        (_docker_client(), '-H', fake.host, 'version'), capture_output=True, timeout=10,
        env={'PATH': os.environ['PATH'], 'HOME': str(tmp_path), **environment},
    )
    assert cli.returncode == 0, cli.stderr
    for name in ('DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    key_asked = TagKey('example.com/team/app', '1')
    answers = LocalSource(SourceOptions(fake.host, 2.0)).digests([key_asked])
    assert isinstance(answers[key_asked], Missing)


def _tls_daemon(tmp_path: Path) -> tuple[FakeDaemon, Path]:
    """A fake daemon speaking TLS with a certificate of its own, and a
    folder as ``DOCKER_CERT_PATH`` names one: that certificate as
    ``ca.pem``, and as the client's ``cert.pem`` and ``key.pem``."""
    import shutil

    from tests.registries import tls_certificate
    cert, key = tls_certificate(tmp_path / 'daemon')
    certificates = tmp_path / 'certs'
    certificates.mkdir()
    for name, source in (('ca.pem', cert), ('cert.pem', cert), ('key.pem', key)):
        shutil.copy(source, certificates / name)
    return FakeDaemon(knows({}), tls=(str(cert), str(key))), certificates


@pytest.mark.parametrize('verify', ('1', '0'))
def test_docker_tls_verify_applies_to_the_docker_host_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verify: str,
) -> None:
    """``--docker-host tcp://…`` with ``DOCKER_TLS_VERIFY`` set (any value
    but empty: ``0`` too) and ``DOCKER_CERT_PATH``: the Docker CLI speaks
    TLS to the host it is given (``-H``, asked below), checked against
    that ``ca.pem``.  We spoke plain HTTP to it: a TLS daemon failed the
    source, and anyone on the way could answer for the daemon (its
    digests written) and read a pull's registry login (X-Registry-Auth)."""
    fake, certificates = _tls_daemon(tmp_path)
    environment = {'DOCKER_TLS_VERIFY': verify, 'DOCKER_CERT_PATH': str(certificates)}
    try:
        _cli_and_local_source_reach(fake, tmp_path, monkeypatch, environment)
    finally:
        fake.close()
    endpoint = find_endpoint(fake.host)
    assert (endpoint.tls.ca_cert, endpoint.tls.verify) == (str(certificates / 'ca.pem'), True)


def test_docker_cert_path_alone_asks_for_no_tls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``DOCKER_CERT_PATH`` without ``DOCKER_TLS_VERIFY``: the Docker CLI
    speaks plain HTTP to a ``tcp://`` daemon (asked below, of a daemon that
    speaks nothing else), as it does without the variable.  The SDK took the
    folder alone for TLS that checks no certificate: the plain daemon the
    CLI reaches failed the source, and a TLS one was answered for by anyone
    on the way."""
    certificates = _certificates(tmp_path / 'certs')
    fake = FakeDaemon(knows({}))
    try:
        _cli_and_local_source_reach(
            fake, tmp_path, monkeypatch, {'DOCKER_CERT_PATH': str(certificates)},
        )
    finally:
        fake.close()
    assert find_endpoint(fake.host).tls is None
    monkeypatch.setenv('DOCKER_HOST', fake.host)
    assert find_endpoint().tls is None


def _docker_client() -> str:
    """The Docker CLI, the oracle of how it reaches a daemon (unavailable
    when no client is installed)."""
    import shutil

    from tests.stack import CLIENTS
    from tests.stack import unavailable
    client = next((shutil.which(c) for c in CLIENTS if shutil.which(c)), None)
    if client is None:
        unavailable('no docker client is installed')
    assert client is not None
    return client


def test_docker_tls_asks_for_tls_that_checks_no_certificate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``DOCKER_TLS`` (the CLI's ``--tls``) without ``DOCKER_TLS_VERIFY``:
    the Docker CLI speaks TLS to the daemon, with the client certificate of
    ``DOCKER_CERT_PATH``, and does not check the daemon's (asked below, of
    a TLS daemon whose certificate its ``ca.pem`` did not sign).  On main
    the variable was not read: the daemon was spoken to in plain HTTP,
    where the CLI never does, and a TLS one failed the source."""
    import shutil
    import subprocess
    import warnings

    from tests.registries import tls_certificate
    client = _docker_client()
    server_cert, server_key = tls_certificate(tmp_path / 'server')
    other_cert, _ = tls_certificate(tmp_path / 'other')
    certificates = tmp_path / 'certs'
    client_cert, client_key = tls_certificate(certificates)
    client_cert.rename(certificates / 'cert.pem')
    client_key.rename(certificates / 'key.pem')
    shutil.copy(other_cert, certificates / 'ca.pem')
    fake = FakeDaemon(knows({}), tls=(str(server_cert), str(server_key)))
    try:
        cli = subprocess.run(
            (client, '-H', fake.host, 'version'), capture_output=True, timeout=10,
            env={
                'PATH': os.environ['PATH'], 'HOME': str(tmp_path),
                'DOCKER_TLS': '1', 'DOCKER_CERT_PATH': str(certificates),
            },
        )
        assert cli.returncode == 0, cli.stderr
        monkeypatch.setenv('DOCKER_TLS', '1')
        monkeypatch.setenv('DOCKER_CERT_PATH', str(certificates))
        for name in ('DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', *PROXY_VARIABLES):
            monkeypatch.delenv(name, raising=False)
        key_asked = TagKey('example.com/team/app', '1')
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter('always')
            answers = LocalSource(SourceOptions(fake.host, 2.0)).digests([key_asked])
    finally:
        fake.close()
    assert isinstance(answers[key_asked], Missing)
    # the CLI says nothing of it; urllib3 warned on every call, in lines
    # of its own on stderr
    assert [str(w.message) for w in warned] == []
    endpoints = [find_endpoint(fake.host)]
    monkeypatch.setenv('DOCKER_HOST', fake.host)
    endpoints.append(find_endpoint())
    for endpoint in endpoints:
        assert endpoint.tls is not None and endpoint.tls.verify is False
        assert endpoint.tls.cert == (str(certificates / 'cert.pem'), str(certificates / 'key.pem'))


def _docker_client_and_own_address() -> tuple[str, str]:
    """The Docker CLI, to ask how it reaches a ``tcp://`` daemon, and an
    address of this machine that is not loopback, where the proxy settings
    apply (unavailable without it)."""
    from tests.stack import unavailable
    client = _docker_client()
    address = _own_address()
    if not address:
        unavailable('no address but loopback')
    return client, address


def _own_address() -> str:
    """An address of this machine that is not loopback (its way out), or
    '' when it has none."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(('192.0.2.1', 9))  # (UDP: nothing is sent)
        except OSError:
            return ''
        address = str(probe.getsockname()[0])
    return '' if address.startswith('127.') else address


@pytest.mark.parametrize('variable', ('ALL_PROXY', 'all_proxy'))
def test_a_daemon_is_never_reached_through_all_proxy(
        monkeypatch: pytest.MonkeyPatch, variable: str,
) -> None:
    """``ALL_PROXY`` (an HTTP proxy) set and a ``tcp://`` daemon not on
    loopback: the Docker CLI never sends a call through it (asked below:
    the proxy sees nothing; 28.2 goes to the daemon directly, as Go's
    ProxyFromEnvironment reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY only,
    and 20.10 refuses it, ``proxy: unknown scheme: http``, its dialer
    taking SOCKS only); requests, under the SDK, sent every call through
    it, a pull's registry login (X-Registry-Auth) in the clear with it.
    ``HTTP_PROXY`` is still taken, as the CLI takes it."""
    import subprocess

    from tests.registries import RecordingProxy
    client, address = _docker_client_and_own_address()
    fake = FakeDaemon(knows({}), tcp=True, address=address)
    proxy = RecordingProxy()
    try:
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(variable, proxy.url)
        cli = subprocess.run(
            (client, 'images'), capture_output=True, timeout=10,
            env={'PATH': os.environ['PATH'], 'HOME': '/nonexistent', variable: proxy.url, 'DOCKER_HOST': fake.host},
        )
        assert proxy.requests == [], cli.stderr
        asked = len(fake.requests)
        LocalSource(SourceOptions(fake.host, 2.0)).digests([TagKey('example.com/team/app', '1')])
        assert proxy.requests == []
        assert len(fake.requests) > asked
        monkeypatch.setenv('HTTP_PROXY', proxy.url)
        LocalSource(SourceOptions(fake.host, 2.0)).digests([TagKey('example.com/team/app', '1')])
        assert proxy.requests
    finally:
        proxy.close()
        fake.close()


@pytest.mark.parametrize('userinfo', ('', 'puser:s3cret-proxy@'))
def test_a_proxy_setting_without_a_scheme_is_an_http_proxy_as_the_cli_reads_it(
        monkeypatch: pytest.MonkeyPatch, userinfo: str,
) -> None:
    """``HTTP_PROXY=localhost:PORT`` (scheme ``localhost`` to a URL parser)
    or ``user:secret@localhost:PORT`` (scheme ``user``) and a ``tcp://``
    daemon not on loopback: the Docker CLI calls it through that HTTP proxy
    (asked below: the proxy sees its call), as Go's ``parseProxy`` puts
    ``http://`` before a setting of another scheme.  requests, under the
    SDK, refused the one ('Please check proxy URL. It is malformed') and
    read the other as a proxy of scheme ``localhost``."""
    import subprocess

    from tests.registries import RecordingProxy
    client, address = _docker_client_and_own_address()
    fake = FakeDaemon(knows({}), tcp=True, address=address)
    proxy = RecordingProxy()
    try:
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        setting = f'{userinfo}localhost:{proxy.url.rpartition(":")[2]}'
        subprocess.run(
            (client, 'images'), capture_output=True, timeout=10,
            env={'PATH': os.environ['PATH'], 'HOME': '/nonexistent', 'HTTP_PROXY': setting,
                 'DOCKER_HOST': fake.host},
        )
        assert proxy.requests
        proxy.requests.clear()
        monkeypatch.setenv('HTTP_PROXY', setting)
        answers = LocalSource(SourceOptions(fake.host, 2.0)).digests([TagKey('example.com/team/app', '1')])
        assert proxy.requests, answers
    finally:
        proxy.close()
        fake.close()


def test_a_tls_daemon_is_checked_against_its_own_ca_not_requests_ca_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``DOCKER_TLS_VERIFY`` with ``DOCKER_CERT_PATH``'s ``ca.pem`` (or a
    context's): the daemon's certificate is checked against that CA, as the
    Docker CLI checks it (asked below, with ``REQUESTS_CA_BUNDLE`` naming
    another: it answers).  requests, under the SDK, put
    ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) in its place: a bundle
    that does not hold the daemon's CA failed the source, and one that holds
    public CAs let any certificate for the host's name speak for the
    daemon."""
    import subprocess
    import warnings

    from tests.registries import tls_certificate
    client = _docker_client()
    fake, certificates = _tls_daemon(tmp_path)
    other, _ = tls_certificate(tmp_path / 'other')
    environment = {
        'DOCKER_HOST': fake.host, 'DOCKER_TLS_VERIFY': '1', 'DOCKER_CERT_PATH': str(certificates),
        'REQUESTS_CA_BUNDLE': str(other), 'CURL_CA_BUNDLE': str(other),
    }
    try:
        cli = subprocess.run(
            (client, 'images'), capture_output=True, timeout=10,
            env={'PATH': os.environ['PATH'], 'HOME': str(tmp_path), **environment},
        )
        assert cli.returncode == 0, cli.stderr
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        for name in ('DOCKER_CONTEXT', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'):
            monkeypatch.delenv(name, raising=False)
        key_asked = TagKey('example.com/team/app', '1')
        answers = LocalSource(SourceOptions(None, 2.0)).digests([key_asked])
    finally:
        fake.close()
    assert isinstance(answers[key_asked], Missing)
