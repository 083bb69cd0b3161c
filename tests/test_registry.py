"""--source registry against real registries, with no Docker daemon in use:
the open registry of the stack, one with htpasswd basic auth and one with
token auth (a token server of the test's own, whose tokens the registry
checks for real); credentials from Docker's config.json, Podman's
auth.json and a real ``docker-credential-*`` program on PATH."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.credentials import Logins
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.update import main as update_main
from digestpin_hooks.verify import main as verify_main
from tests.output import without_summary
from tests.registries import auths_entry
from tests.registries import CountingProxy
from tests.registries import htpasswd_auth
from tests.registries import isolated_credentials
from tests.registries import PASSWORD
from tests.registries import ProbeHoldingProxy
from tests.registries import TokenServer
from tests.registries import USER
from tests.registries import write_helper
from tests.stack import manifest_digest
from tests.stack import push_index
from tests.stack import Stack

NO_DAEMON = ['--docker-host', 'unix:///nonexistent/docker.sock']


@pytest.fixture(scope='module')
def basic(stack: Stack) -> str:
    """A real registry with htpasswd basic auth over the stack's storage."""
    return stack.start_registry('basic', htpasswd_auth(Path(stack.root)))


@pytest.fixture(scope='module')
def token(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TokenServer]]:
    server = TokenServer(tmp_path_factory.mktemp('token'))
    yield stack.start_registry('token', server.auth()), server
    server.close()


@pytest.fixture(scope='module')
def image(stack: Stack) -> tuple[str, str]:
    """(repository, digest) of an image in the stack's storage."""
    digest = stack.push(f'{stack.registry}/direct/app:1', 'direct one')
    return 'direct/app', digest


@pytest.fixture(autouse=True)
def no_user_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_credentials(monkeypatch, tmp_path / 'home')
    monkeypatch.setenv('DOCKER_HOST', 'unix:///nonexistent/docker.sock')


def dockerfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / 'Dockerfile'
    path.write_text(text)
    return path


def test_fix_update_verify_without_any_daemon(
        stack: Stack, image: tuple[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """DOCKER_HOST points nowhere: the registry itself answers."""
    repository, digest = image
    name = f'{stack.registry}/{repository}:1'
    path = dockerfile(tmp_path, f'FROM {name}\n')
    assert fix_main(['--source', 'registry', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{digest}\n'
    assert verify_main([str(path)]) == 0
    assert update_main(['--source', 'registry', str(path)]) == 0
    assert 'every pin that follows a tag is current' in capsys.readouterr().out
    # the tag moves: verify sees it (DP006), update follows it
    moved = stack.push(f'{stack.registry}/{repository}:1', 'direct two')
    try:
        assert verify_main(['--strict', str(path)]) == 1
        assert 'DP006' in capsys.readouterr().out
        assert update_main(['--source', 'registry', str(path)]) == 1
        assert path.read_text() == f'FROM {name}@{moved}\n'
    finally:
        stack.push(f'{stack.registry}/{repository}:1', 'direct one')


def test_a_multi_platform_tag_pins_its_index(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A manifest list pushed through the registry API: fix pins the index;
    verify reads its platforms (DP008 for a child, DP009 for a platform)."""
    stack.build(f'{stack.registry}/direct/multi:amd64', 'amd64 one', 'linux/amd64')
    stack.docker('push', '-q', f'{stack.registry}/direct/multi:amd64')
    stack.build(f'{stack.registry}/direct/multi:arm64', 'arm64 one', 'linux/arm64')
    stack.docker('push', '-q', f'{stack.registry}/direct/multi:arm64')
    index = push_index(stack, 'direct/multi', '1', ['amd64', 'arm64'])
    child = manifest_digest(stack, 'direct/multi', 'amd64')
    name = f'{stack.registry}/direct/multi:1'
    path = dockerfile(tmp_path, f'FROM {name}\n')
    assert fix_main(['--source', 'registry', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{index}\n'
    capsys.readouterr()
    path.write_text(
        f'FROM {name}@{child}\nFROM --platform=linux/s390x {name}@{index}\n'
        f'FROM --platform=linux/arm64 {name}@{index}\n',
    )
    assert verify_main([str(path), '--format', 'json']) == 1
    findings = json.loads(capsys.readouterr().out)['findings']
    assert [(f['line'], f['code']) for f in findings] == [(1, 'DP008'), (2, 'DP009')]
    assert index in findings[0]['message']


CREDENTIAL_SOURCES = ('docker auths', 'docker username', 'REGISTRY_AUTH_FILE',
                      'XDG_RUNTIME_DIR', 'credHelpers', 'credsStore')


def provide_credentials(
        how: str, address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        password: str = PASSWORD,
) -> None:
    home = tmp_path / 'home'
    docker_config = home / '.docker' / 'config.json'
    docker_config.parent.mkdir(parents=True, exist_ok=True)
    if how == 'docker auths':
        config = {'auths': {address: auths_entry(password=password)}}
    elif how == 'docker username':
        config = {'auths': {f'http://{address}': {'username': USER, 'password': password}}}
    elif how == 'REGISTRY_AUTH_FILE':
        auth_file = tmp_path / 'podman-auth.json'
        auth_file.write_text(json.dumps({'auths': {address: auths_entry(password=password)}}))
        monkeypatch.setenv('REGISTRY_AUTH_FILE', str(auth_file))
        return
    elif how == 'XDG_RUNTIME_DIR':
        runtime = tmp_path / 'run'
        (runtime / 'containers').mkdir(parents=True)
        (runtime / 'containers' / 'auth.json').write_text(
            json.dumps({'auths': {address: auths_entry(password=password)}}),
        )
        monkeypatch.setenv('XDG_RUNTIME_DIR', str(runtime))
        return
    else:
        bin_dir = tmp_path / 'bin'
        bin_dir.mkdir()
        write_helper(bin_dir, 'dptest', {address: (USER, password)})
        monkeypatch.setenv('PATH', f'{bin_dir}:{__import__("os").environ["PATH"]}')
        config = (
            {'credHelpers': {address: 'dptest'}} if how == 'credHelpers'
            else {'credsStore': 'dptest'}
        )
    docker_config.write_text(json.dumps(config))


@pytest.mark.parametrize('how', CREDENTIAL_SOURCES)
def test_basic_auth_with_the_users_own_credentials(
        basic: str, image: tuple[str, str], tmp_path: Path, how: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    repository, digest = image
    provide_credentials(how, basic, tmp_path, monkeypatch)
    name = f'{basic}/{repository}:1'
    path = dockerfile(tmp_path, f'FROM {name}\n')
    assert fix_main(['--source', 'registry', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{digest}\n'
    assert verify_main([str(path)]) == 0
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err


@pytest.mark.parametrize('how', ('docker auths', 'credHelpers'))
def test_wrong_credentials_are_one_line_and_never_printed(
        basic: str, image: tuple[str, str], tmp_path: Path, how: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    repository, digest = image
    provide_credentials(how, basic, tmp_path, monkeypatch, password='wrong-secret-xyz')
    text = f'FROM {basic}/{repository}:1@{digest}\n'
    path = dockerfile(tmp_path, text)
    for main in (update_main, verify_main):
        args = ['--source', 'registry'] if main is update_main else []
        assert main([*args, str(path)]) == 2
        out, err = capsys.readouterr()
        (line,) = err.splitlines()
        assert line.startswith(f'{path}: error: line 1: cannot ')
        assert '(401)' in line and 'refused the credentials' in line
        assert 'wrong-secret-xyz' not in out + err
        assert path.read_text() == text


def test_no_credentials_for_a_registry_that_asks_for_them(
        basic: str, image: tuple[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    repository, _ = image
    path = dockerfile(tmp_path, f'FROM {basic}/{repository}:1\n')
    assert fix_main(['--source', 'registry', str(path)]) == 1
    out = capsys.readouterr().out
    assert 'asks for a login and no credential for it was found' in out


def test_token_auth_checked_by_the_registry(
        token: tuple[str, TokenServer], image: tuple[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    address, server = token
    repository, digest = image
    provide_credentials('credHelpers', address, tmp_path, monkeypatch)
    name = f'{address}/{repository}:1'
    path = dockerfile(tmp_path, f'FROM {name}\nFROM {address}/{repository}:1@{digest}\n')
    server.requests.clear()
    assert fix_main(['--source', 'registry', str(path)]) == 1
    assert path.read_text() == f'FROM {name}@{digest}\n' * 2
    # the token was asked for with the user's login, for a pull of this repository
    assert server.requests
    assert server.requests[0]['scope'] == f'repository:{repository}:pull'
    assert server.requests[0]['service'] == 'digestpin-test'
    assert server.requests[0]['authorization'].startswith('Basic ')
    assert verify_main([str(path)]) == 0
    assert PASSWORD not in ''.join(capsys.readouterr())


def test_a_token_the_registry_does_not_trust_is_refused(
        stack: Stack, image: tuple[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The registry's check of the token is real: one signed with another
    key is refused, and the run says so at the reference."""
    server = TokenServer(tmp_path / 'untrusted', untrusted=True)
    try:
        # the registry trusts server.cert; the tokens are signed by another key
        address = stack.start_registry('untrusting', server.auth())
        repository, digest = image
        provide_credentials('docker auths', address, tmp_path, monkeypatch)
        text = f'FROM {address}/{repository}:1@{digest}\n'
        path = dockerfile(tmp_path, text)
        assert update_main(['--source', 'registry', str(path)]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f'{path}: error: line 1: cannot update ')
        assert '401' in line
        assert path.read_text() == text
    finally:
        server.close()


def test_a_name_the_registry_does_not_have(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """404 of a name: fix leaves it (a finding), update and verify say so."""
    name = f'{stack.registry}/no/such:1'
    path = dockerfile(tmp_path, f'FROM {name}\n')
    assert fix_main(['--source', 'registry', str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"DP001 '{name}' left unpinned: the registry has no tag '1'" in out
    assert without_summary(err) == ''
    pinned = f'FROM {name}@sha256:{"7" * 64}\n'
    path.write_text(pinned)
    assert update_main(['--source', 'registry', str(path)]) == 2
    assert 'has no manifest 1 (404)' in capsys.readouterr().err
    assert verify_main([str(path)]) == 1
    assert 'DP007' in capsys.readouterr().out
    assert path.read_text() == pinned


TAGS = 12  # more references than connections: the pool is what bounds them


@pytest.fixture(scope='module')
def many_tags(stack: Stack) -> tuple[str, str]:
    """(repository, digest): one image pushed, its manifest put under TAGS
    tags through the registry's API."""
    import urllib.request
    digest = stack.push(f'{stack.registry}/pool/app:0', 'pool one')
    manifest_type = 'application/vnd.docker.distribution.manifest.v2+json'
    base = f'http://{stack.registry}/v2/pool/app/manifests'
    request = urllib.request.Request(f'{base}/0', headers={'Accept': manifest_type})
    with urllib.request.urlopen(request) as answer:
        manifest = answer.read()
    for tag in range(1, TAGS):
        request = urllib.request.Request(
            f'{base}/{tag}', data=manifest, method='PUT',
            headers={'Content-Type': manifest_type},
        )
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 201
    return 'pool/app', digest


@pytest.mark.parametrize(('connections', 'given_by'), ((1, 'flag'), (3, 'flag'), (8, 'flag'), (3, 'config'), (1, 'config')))
def test_no_more_connections_to_a_registry_than_allowed(
        stack: Stack, many_tags: tuple[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        connections: int, given_by: str,
) -> None:
    """--connections N (or connections = N): fix and verify hold N
    connections to the registry at once, never more, counted by a TCP proxy
    in front of the real registry (which holds each request until N are
    open, so that all N are seen however busy the machine is)."""
    repository, digest = many_tags
    proxy = CountingProxy(stack.registry, hold=connections)
    try:
        (tmp_path / '.git').mkdir()
        monkeypatch.chdir(tmp_path)
        flags = ['--connections', str(connections)] if given_by == 'flag' else []
        if given_by == 'config':
            (tmp_path / 'pyproject.toml').write_text(f'[tool.digestpin]\nconnections = {connections}\n')
        names = [f'{proxy.address}/{repository}:{tag}' for tag in range(TAGS)]
        path = dockerfile(tmp_path, ''.join(f'FROM {name}\n' for name in names))
        assert fix_main(['--source', 'registry', *flags, str(path)]) == 1
        assert path.read_text() == ''.join(f'FROM {name}@{digest}\n' for name in names)
        assert (proxy.most, proxy.accepted >= connections) == (connections, True)
        proxy.reset()
        capsys.readouterr()
        assert verify_main([*flags, str(path)]) == 0
        assert proxy.most == connections
    finally:
        proxy.close()


@pytest.mark.parametrize(('full', 'method'), ((False, 'HEAD'), (True, 'GET')))
def test_requests_to_a_plain_loopback_registry_do_not_wait_for_the_tls_probe(
        stack: Stack, many_tags: tuple[str, str], full: bool, method: str,
) -> None:
    """On loopback the TLS probe's round trip is not waited for: while a
    proxy in front of the real registry (plain HTTP) holds the probe's
    handshake, each of the other seven connections (of eight) has sent
    its first question, over plain HTTP and without credentials (fix's
    HEAD, verify's GET); their answers are used once the probe found no
    TLS, and every later question goes straight to plain HTTP."""
    repository, digest = many_tags
    proxy = ProbeHoldingProxy(stack.registry, hold=1.0)
    try:
        queries = [Query(proxy.address, repository, str(tag), full=full, platform=False) for tag in range(TAGS)]
        answers = ask_all(queries, 30, credentials=lambda host: Logins(), connections=8)
        assert list(answers.values()) == [Manifest(digest, False, ())] * TAGS
        assert [data for data in proxy.first if data[0] == b'TLS'] == [(b'TLS', True)]  # one probe
        early = [data for data, before in proxy.first if before and data != b'TLS']
        assert len(early) == 7
        assert {data.split(b' ', 1)[0] for data in early} == {method.encode()}
        assert [b'authorization' in data.lower() for data in early] == [False] * 7
    finally:
        proxy.close()
