"""Where credentials go, tried again as an attacker would: hostile answers
of registries, token servers, credential helpers and credential files that
``tests/test_where_credentials_go.py`` does not try.  Each test states the
exact outcome; the servers are the test's own, on loopback
(``tests/registries.py``), for what a real registry does not do on demand.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import sys
import time
import zlib
from pathlib import Path
from typing import Iterable
from urllib.parse import urlencode

import pytest

from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.credentials import Credential
from digestpin_hooks.resolve.credentials import credential_for
from digestpin_hooks.resolve.credentials import CredentialError
from digestpin_hooks.resolve.credentials import Logins
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import no_proxy_for
from digestpin_hooks.resolve.registry import parse_url
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.verify import main as verify_main
from tests.registries import EMPTY_INDEX
from tests.registries import EMPTY_INDEX_DIGEST
from tests.registries import serve_empty_index
from tests.registries import Answer
from tests.registries import BASIC
from tests.registries import INDEX_TYPE
from tests.registries import isolated_network
from tests.registries import non_loopback_address
from tests.registries import PASSWORD
from tests.registries import process_gone
from tests.registries import RecordingProxy
from tests.registries import Request
from tests.registries import ScriptedRegistry
from tests.registries import USER


# an empty index: what the digest-header cases hash
MANIFEST = EMPTY_INDEX
DIGEST = EMPTY_INDEX_DIGEST


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_network(monkeypatch, tmp_path / 'home')


served = serve_empty_index


def basic_then_served() -> ScriptedRegistry:
    """A registry that wants the user's basic login, then answers."""
    return ScriptedRegistry(lambda r: served(r) if r.headers.get('authorization') == BASIC else (
        401, {'WWW-Authenticate': 'Basic realm="test"'}, b''))


def the_login(host: str) -> Logins:
    return Logins((('', Credential(USER, PASSWORD, 'test')),))


def ask(registry: ScriptedRegistry, reference: str = DIGEST, timeout: float = 5) -> object:
    query = Query(registry.address, 'team/app', reference, full=':' in reference)
    return ask_all([query], timeout, credentials=the_login)[query]


def pinned(tmp_path: Path, address: str) -> Path:
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {address}/team/app:1@{DIGEST}\n')
    return path


def config(home: Path, text: str) -> None:
    path = home / '.docker' / 'config.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def helper(folder: Path, name: str, body: str) -> None:
    """A ``docker-credential-NAME`` program running ``body`` (Python)."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / f'docker-credential-{name}'
    program.write_text(f'#!{sys.executable}\nimport json, os, subprocess, sys\nsys.stdin.read()\n{body}')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line of a run, checked free of the secret and of
    control characters."""
    out, err = capsys.readouterr()
    for text in (out, err):
        assert PASSWORD not in text and base64.b64encode(PASSWORD.encode()).decode() not in text
        assert not any(ord(c) < 32 and c != '\n' or ord(c) == 127 for c in text)
    lines = [line for line in err.splitlines() if not line.startswith('summary: ')]
    assert len(lines) == 1, err
    return lines[0]


def cannot_verify(path: Path, address: str, reason: str) -> str:
    return f'{path}: error: line 1: cannot verify \'{address}/team/app:1@{DIGEST}\': {reason}'


# --- credentials that cannot be sent -------------------------------------------

def test_a_lone_surrogate_in_a_credential_file_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """JSON's ``\\ud800`` escape gives a password that cannot be encoded
    (on main: 'internal error: UnicodeEncodeError … please report it')."""
    registry = basic_then_served()
    try:
        config(tmp_path / 'home', '{"auths": {"%s": {"username": "al\\ud800ice", "password": "%s"}}}'
               % (registry.address, PASSWORD))
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '5', str(path)]) == 2
        assert one_error(capsys) == cannot_verify(
            path, registry.address,
            f'credentials for {registry.address}: {tmp_path / "home" / ".docker" / "config.json"}: '
            f'a username or password is not valid UTF-8 text',
        )
        assert registry.requests[-1].headers.get('authorization') is None
    finally:
        registry.close()


def test_a_lone_surrogate_from_a_helper_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    helper(tmp_path / 'bin', 'odd', f'print(\'{{"Username": "alice", "Secret": "\\\\ud800{PASSWORD}"}}\')\n')
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}:{os.environ["PATH"]}')
    config(tmp_path / 'home', json.dumps({'credsStore': 'odd'}))
    registry = basic_then_served()
    try:
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '5', str(path)]) == 2
        assert one_error(capsys) == cannot_verify(
            path, registry.address,
            f'credentials for {registry.address}: docker-credential-odd answered a Username '
            f'or Secret that is not valid UTF-8 text',
        )
    finally:
        registry.close()


# --- WWW-Authenticate as registries write it ---------------------------------

def token_for_login(request: Request) -> Answer:
    """A token server: a token for the user's login, 401 otherwise."""
    if request.headers.get('authorization') != BASIC:
        return 401, {}, b''
    return 200, {'Content-Type': 'application/json'}, b'{"token": "t0ken"}'


@pytest.mark.parametrize('challenge', (
    # the parameters of the second challenge are not the first's (on main:
    # realm="registry" replaced the token realm: 'not an http or https URL')
    'Bearer realm="http://{token}/token",service="svc", Basic realm="registry"',
    # Docker's client takes Bearer first, wherever it stands
    'Basic realm="registry", Bearer realm="http://{token}/token",service="svc"',
    # a quoted value with an escaped quote ends at the closing quote
    'Bearer service="a \\"quoted\\" svc",realm="http://{token}/token"',
))
def test_several_challenges_are_read_apart(challenge: str) -> None:
    token = ScriptedRegistry(token_for_login)
    registry = ScriptedRegistry(
        lambda r: served(r) if r.headers.get('authorization') == 'Bearer t0ken' else (
            401, {'WWW-Authenticate': challenge.format(token=token.address)}, b''),
    )
    try:
        answer = ask(registry, '1')
        assert answer == Manifest(DIGEST, True, ()), answer
        assert [r.headers.get('authorization') for r in token.requests] == [BASIC]
        service = 'a "quoted" svc' if 'quoted' in challenge else 'svc'
        assert token.requests[0].path == '/token?' + urlencode(
            {'scope': 'repository:team/app:pull', 'service': service},
        )
        # the registry itself never saw the password: the token went there
        assert {r.headers.get('authorization') for r in registry.requests} == {None, 'Bearer t0ken'}
    finally:
        token.close()
        registry.close()


# --- digests ---------------------------------------------------------------------

SHA512 = 'sha512:' + hashlib.sha512(MANIFEST).hexdigest()


@pytest.mark.parametrize(('header', 'expected'), (
    # each digest checked by its own algorithm (on main: the bytes were
    # hashed by the header's sha512 and compared with the sha256 asked for)
    (SHA512, Manifest(DIGEST, True, ())),
    ('sha512:' + '0' * 128, Failed(
        f'the manifest bytes do not match the Docker-Content-Digest header (sha512:{"0" * 128}); not used',
    )),
    ('sha256:' + '0' * 64, Failed(
        f'the manifest bytes do not match the Docker-Content-Digest header (sha256:{"0" * 64}); not used',
    )),
))
def test_a_digest_header_of_another_algorithm(header: str, expected: object) -> None:
    registry = ScriptedRegistry(lambda r: (
        200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': header}, MANIFEST))
    try:
        assert ask(registry) == expected
    finally:
        registry.close()


def test_a_manifest_that_is_not_the_digest_asked_for() -> None:
    other = MANIFEST + b' '
    registry = ScriptedRegistry(lambda r: (200, {'Content-Type': INDEX_TYPE}, other))
    try:
        assert ask(registry) == Failed('the manifest bytes do not match the digest asked for; not used')
    finally:
        registry.close()


# --- credential helpers ------------------------------------------------------------

def test_a_helper_whose_child_holds_its_output_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The helper answers and exits; a process it started keeps stdout open.
    Its answer is used (on main: 'did not answer before the deadline', exit
    2), and the child, in the helper's process group, is killed."""
    pid_file = tmp_path / 'child'
    helper(tmp_path / 'bin', 'forks', (
        'child = subprocess.Popen(["sleep", "300"])\n'
        f'open({str(pid_file)!r}, "w").write(str(child.pid))\n'
        f'print(json.dumps({{"Username": "{USER}", "Secret": "{PASSWORD}"}}), flush=True)\n'
    ))
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}:{os.environ["PATH"]}')
    config(tmp_path / 'home', json.dumps({'credsStore': 'forks'}))
    registry = basic_then_served()
    try:
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '5', str(path)]) == 0
        out, err = capsys.readouterr()
        assert PASSWORD not in out + err and 'error' not in err
        assert process_gone(int(pid_file.read_text()))
    finally:
        registry.close()


@pytest.mark.parametrize(('body', 'problem'), (
    # more than 64 KiB, never a newline
    ('os.write(1, b"{" + b"x" * 10_000_000)\n', 'docker-credential-h answered too much'),
    # binary and terminal escapes around the secret: not JSON, none of it printed
    (f'os.write(1, b"\\x1b[31m\\xff\\xfe{PASSWORD}\\n")\n', 'docker-credential-h did not answer JSON'),
    # JSON cut off after the secret
    (f'print(\'{{"Username": "a", "Secret": "{PASSWORD}"\')\n', 'docker-credential-h did not answer JSON'),
    (f'print(json.dumps(["{PASSWORD}"]))\n', 'docker-credential-h did not answer a JSON object'),
    ('print(\'{"Username": "a", "Secret": NaN}\')\n',
     'docker-credential-h answered without Username and Secret strings'),
))
def test_a_hostile_helper_answer_is_one_line_without_the_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        body: str, problem: str,
) -> None:
    helper(tmp_path / 'bin', 'h', body)
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}:{os.environ["PATH"]}')
    config(tmp_path / 'home', json.dumps({'credsStore': 'h'}))
    registry = basic_then_served()
    try:
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '5', str(path)]) == 2
        assert one_error(capsys) == cannot_verify(
            path, registry.address, f'credentials for {registry.address}: {problem}',
        )
        assert all(r.headers.get('authorization') is None for r in registry.requests)
    finally:
        registry.close()


# --- proxies --------------------------------------------------------------------

@pytest.mark.parametrize('proxy', (
    'http://puser:s3cret-proxy@proxy.invalid:99999',
    'http://puser:s3cret-proxy@[proxy',
    # without a scheme it is http://, as Go reads it (the user's name is no
    # scheme: test_a_proxy_setting_without_a_scheme_is_an_http_proxy_as_in_go)
    'puser:s3cret-proxy@proxy.invalid:99999',
    'ftp://puser:s3cret-proxy@proxy.invalid:21',
))
def test_a_malformed_proxy_setting_is_named_not_printed(
        monkeypatch: pytest.MonkeyPatch, proxy: str,
) -> None:
    """The user's proxy setting is at fault, not the registry (on main:
    '… sent an answer that could not be read (InvalidURL)'); the proxy URL,
    which may hold a password, is not printed.  Nothing is sent: the
    setting fails before any connection."""
    monkeypatch.setenv('HTTPS_PROXY', proxy)
    host = f'{non_loopback_address()}:9'
    answer = ask_all([Query(host, 'team/app', '1')], 5, credentials=the_login)
    assert list(answer.values()) == [Failed(
        f'the proxy set for {host} (HTTPS_PROXY) is not '
        f'a usable http or https proxy URL',
    )]


@pytest.mark.parametrize(('settings', 'read'), (
    ({'HTTPS_PROXY': 'ftp://proxy.invalid:21'}, 'HTTPS_PROXY'),
    ({'https_proxy': 'ftp://proxy.invalid:21'}, 'https_proxy'),
    ({'HTTPS_PROXY': '', 'https_proxy': 'ftp://proxy.invalid:21'}, 'https_proxy'),
    ({'HTTPS_PROXY': 'ftp://proxy.invalid:21', 'https_proxy': 'http://proxy.invalid:3128'},
     'HTTPS_PROXY'),
    ({'https_proxy': 'https://proxy.invalid:3128'}, 'https_proxy'),
))
def test_a_refused_proxy_setting_names_the_variable_it_was_read_from(
        monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], read: str,
) -> None:
    """Go reads ``HTTPS_PROXY``, else ``https_proxy`` (an empty one is
    unset): the refusal names the one the setting came from (on main it
    said HTTPS_PROXY when only ``https_proxy`` was set, and the user
    looked for a variable that was not there)."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    host = f'{non_loopback_address()}:9'
    answer = list(ask_all([Query(host, 'team/app', '1')], 5, credentials=the_login).values())
    assert len(answer) == 1 and isinstance(answer[0], Failed)
    assert answer[0].reason.startswith(f'the proxy set for {host} ({read}) is ')


def test_a_proxy_login_never_reaches_a_loopback_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = RecordingProxy()
    registry = ScriptedRegistry(served)
    try:
        login = proxy.url.replace('http://', 'http://puser:s3cret-proxy@')
        for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'):
            monkeypatch.setenv(name, login)
        assert ask(registry, '1') == Manifest(DIGEST, True, ())
        assert proxy.requests == []
        assert [sorted(r.headers) for r in registry.requests] == [
            ['accept', 'accept-encoding', 'connection', 'host', 'user-agent'],
        ]
    finally:
        proxy.close()
        registry.close()


@pytest.mark.parametrize('spelling', ('[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]'))
def test_loopback_mapped_into_ipv6_never_goes_through_a_proxy(
        monkeypatch: pytest.MonkeyPatch, spelling: str,
) -> None:
    """``::ffff:127.0.0.1`` is loopback, as Go's ``IP.IsLoopback`` (which
    Docker's proxy rule uses) reads it (on main: sent to the proxy as
    ``CONNECT [::ffff:7f00:1]:PORT``, and Python 3.13 reads it otherwise than
    3.11)."""
    proxy = RecordingProxy()
    registry = ScriptedRegistry(served)
    try:
        for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'):
            monkeypatch.setenv(name, proxy.url)
        query = Query(f'{spelling}:{registry.address.split(":")[1]}', 'team/app', '1')
        assert ask_all([query], 5, credentials=the_login) == {query: Manifest(DIGEST, True, ())}
        assert proxy.requests == []
        assert [r.path for r in registry.requests] == ['/v2/team/app/manifests/1']
    finally:
        proxy.close()
        registry.close()


def test_no_proxy_with_an_address_and_its_port_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """``NO_PROXY=192.0.2.2:5000`` exempts that registry, as in Go (on main,
    read by ``requests``, it never matched an address host: the login of a
    plain-HTTP insecure registry went through the proxy in clear text)."""
    proxy = RecordingProxy()
    registry = ScriptedRegistry(lambda r: served(r) if r.headers.get('authorization') == BASIC else (
        401, {'WWW-Authenticate': 'Basic realm="test"'}, b''), host='0.0.0.0')
    try:
        address = f'{non_loopback_address()}:{registry.address.rpartition(":")[2]}'
        monkeypatch.setenv('HTTP_PROXY', proxy.url)
        monkeypatch.setenv('HTTPS_PROXY', proxy.url)
        monkeypatch.setenv('NO_PROXY', f'example.com,{address}')
        query = Query(address, 'team/app', '1')
        answer = ask_all([query], 5, insecure=[address], credentials=the_login)
        assert answer == {query: Manifest(DIGEST, True, ())}
        assert proxy.requests == []
        assert [r.headers.get('authorization') for r in registry.requests] == [None, BASIC]
    finally:
        proxy.close()
        registry.close()


@pytest.mark.parametrize(('url', 'no_proxy', 'exempt'), (
    ('http://192.0.2.2:5000/', '192.0.2.2:5000', True),
    ('http://192.0.2.2:5000/', '192.0.2.2:5001', False),
    ('http://192.0.2.2:5000/', '192.0.2.2', True),
    ('http://192.0.2.2:5000/', '192.0.2.0/24', True),
    ('http://192.0.2.2:5000/', '192.0.3.0/24', False),
    ('http://192.0.2.2:5000/', '.192.0.2.2', False),
    ('http://192.0.2.2:5000/', '[192.0.2.2]', False),
    ('http://192.0.2.2:5000/', '*', True),
    ('http://[2001:db8::1]:5000/', '[2001:db8::1]:5000', True),
    ('http://[2001:db8::1]:5000/', '2001:db8::1', True),
    ('http://[2001:db8::1]:5000/', '2001:db8::/32', True),
    # an IPv4 address mapped into IPv6 is that address (Go's IP.Equal and
    # IPNet.Contains): on main such a registry went through the proxy
    ('http://[::ffff:192.0.2.2]:5000/', '192.0.2.2', True),
    ('http://[::ffff:192.0.2.2]:5000/', '192.0.2.2:5000', True),
    ('http://[::ffff:192.0.2.2]:5000/', '192.0.2.0/24', True),
    ('http://[::ffff:192.0.2.2]:5000/', '192.0.3.0/24', False),
    ('http://192.0.2.2:5000/', '::ffff:192.0.2.2', True),
    ('http://192.0.2.2:5000/', '[::ffff:192.0.2.2]:5000', True),
    ('https://registry.example/', 'registry.example', True),
    ('https://registry.example/', 'REGISTRY.example:443', True),
    ('https://registry.example/', 'registry.example:5000', False),
    ('https://mirror.registry.example/', 'registry.example', True),
    ('https://mirror.registry.example/', '*.registry.example', True),
    ('https://registry.example/', '.registry.example', False),
    ('https://badregistry.example/', 'registry.example', False),
    ('https://registry.example/', ' , ,registry.example ', True),
    ('https://registry.example/', '', False),
))
def test_no_proxy_is_read_as_go_reads_it(url: str, no_proxy: str, exempt: bool) -> None:
    assert no_proxy_for(parse_url(url), no_proxy) is exempt


# --- redirects and realms (these hold: kept as regression tests) ---------------

def test_a_redirect_chain_back_to_the_registry() -> None:
    """A -> B -> A: the token A's challenge earned goes to A both times, B
    (another port of the same host) gets nothing, the login goes to the
    token server once."""
    token = ScriptedRegistry(token_for_login)
    other = ScriptedRegistry(lambda r: (307, {'Location': f'http://{registry.address}/v2/back'}, b''))

    def own(request: Request) -> Answer:
        if request.headers.get('authorization') != 'Bearer t0ken':
            return 401, {'WWW-Authenticate': f'Bearer realm="http://{token.address}/token"'}, b''
        if request.path == '/v2/back':
            return 200, {'Content-Type': INDEX_TYPE}, MANIFEST
        return 307, {'Location': f'http://{other.address}/v2/there'}, b''
    registry = ScriptedRegistry(own)
    try:
        assert ask(registry) == Manifest(DIGEST, True, ())
        assert [r.headers.get('authorization') for r in token.requests] == [BASIC]
        assert [(r.path, r.headers.get('authorization')) for r in other.requests] == [
            ('/v2/there', None),
        ]
        assert [(r.path, r.headers.get('authorization')) for r in registry.requests] == [
            (f'/v2/team/app/manifests/{DIGEST}', None),
            (f'/v2/team/app/manifests/{DIGEST}', 'Bearer t0ken'),
            ('/v2/back', 'Bearer t0ken'),
        ]
    finally:
        for server in (token, other, registry):
            server.close()


def test_a_token_realm_that_redirects_is_not_followed() -> None:
    """The realm got the login; its redirect is not followed, so the login
    reaches no third host."""
    third = ScriptedRegistry(token_for_login)
    token = ScriptedRegistry(lambda r: (307, {'Location': f'http://{third.address}/token'}, b''))
    registry = ScriptedRegistry(lambda r: (
        401, {'WWW-Authenticate': f'Bearer realm="http://{token.address}/token"'}, b''))
    try:
        assert ask(registry) == Failed(f'the token server of {registry.address} answered 307')
        assert third.requests == []
    finally:
        for server in (third, token, registry):
            server.close()


@pytest.mark.parametrize(('location', 'reason'), (
    # spellings of loopback that are not read as loopback: refused for plain HTTP
    ('http://0x7f.1:{port}/v2/x', 'redirected to plain HTTP at 0x7f.1:{port}, neither loopback nor '
                                  'listed as insecure; not followed'),
    ('http://127.1:{port}/v2/x', 'redirected to plain HTTP at 127.1:{port}, neither loopback nor '
                                 'listed as insecure; not followed'),
    ('http://2130706433:{port}/v2/x', 'redirected to plain HTTP at 2130706433:{port}, neither '
                                      'loopback nor listed as insecure; not followed'),
    ('http://[fe80::1%25eth0]:{port}/v2/x', 'redirected to an address that has an unbalanced [ or '
                                            'a malformed IPv6 address; not followed'),
    ('http://localhost.:{port}/v2/x', 'redirected to an address that has a malformed host; not followed'),
    ('http://127.0.0.1%40127.0.0.1:{port}/v2/x', 'redirected to an address that has a malformed '
                                                 'host; not followed'),
    ('http://127.0.0.1:{port}%2f@127.0.0.2/v2/x', 'redirected to an address that carries user '
                                                  'information; not followed'),
    ('http://127.0.0.1:{port}\t/v2/x', 'redirected to an address that is empty, too long, or has '
                                       'blanks, control or non-ASCII characters; not followed'),
))
def test_odd_spellings_of_a_redirect_target(location: str, reason: str) -> None:
    """The registry, once it has the login, redirects to a spelling of
    another host: one line, and nothing is sent there."""
    target = ScriptedRegistry(served)
    port = target.address.split(':')[1]
    registry = ScriptedRegistry(lambda r: (
        307, {'Location': location.format(port=port)}, b'',
    ) if r.headers.get('authorization') == BASIC else (
        401, {'WWW-Authenticate': 'Basic realm="test"'}, b'',
    ))
    try:
        assert ask(registry) == Failed(f'{registry.address} {reason.format(port=port)}')
        assert target.requests == []
    finally:
        target.close()
        registry.close()


# --- bounded answers (these hold) ----------------------------------------------

def gzip_of(chunks: Iterable[bytes]) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b''.join(compressor.compress(c) for c in chunks) + compressor.flush()


def test_a_gzip_bomb_manifest_is_refused_at_the_limit() -> None:
    """256 MiB of zeros in two layers of gzip (a few KB on the wire),
    sent as ``Content-Encoding: gzip, gzip``: refused at the 4 MiB limit of
    decoded bytes, not decoded whole."""
    bomb = gzip_of([gzip_of(b'\0' * (1 << 20) for _ in range(256))])
    assert len(bomb) < 8 * 1024
    registry = ScriptedRegistry(lambda r: (
        200, {'Content-Encoding': 'gzip, gzip', 'Content-Type': INDEX_TYPE}, bomb))
    try:
        assert ask(registry, timeout=20) == Failed(
            f'{registry.address} sent a manifest over 4096 KiB; not read',
        )
    finally:
        registry.close()


@pytest.mark.parametrize(('retry_after', 'said'), (
    ('99999999999999999', '1e+17'),
    ('Fri, 31 Dec 9999 23:59:59 GMT', None),
))
def test_a_huge_retry_after_is_not_slept(retry_after: str, said: str | None) -> None:
    registry = ScriptedRegistry(lambda r: (429, {'Retry-After': retry_after}, b''))
    try:
        start = time.monotonic()
        answer = ask(registry, timeout=5)
        assert time.monotonic() - start < 4  # the deadline is 5 s
        assert isinstance(answer, Failed)
        prefix = f'429 Too Many Requests from {registry.address}: asked to wait '
        assert answer.reason.startswith(prefix)
        assert answer.reason.endswith(' s, past the deadline (--timeout)')
        if said is not None:
            assert answer.reason == f'{prefix}{said} s, past the deadline (--timeout)'
    finally:
        registry.close()


def test_hostile_platform_names_are_printed_escaped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A registry's platform strings (control characters, a line
    separator, a lone surrogate) reach the DP009 message escaped."""
    index = json.dumps({'schemaVersion': 2, 'mediaType': INDEX_TYPE, 'manifests': [{
        'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': 'sha256:' + '1' * 64,
        'size': 1, 'platform': {'os': 'li\x1b[31mnux\n\ud800', 'architecture': 'amd64\u2028x'},
    }]}).encode()
    digest = 'sha256:' + hashlib.sha256(index).hexdigest()
    registry = ScriptedRegistry(lambda r: (
        200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': digest}, index))
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM --platform=linux/arm64 {registry.address}/team/app:1@{digest}\n')
        assert verify_main(['--source', 'registry', '--timeout', '5', str(path)]) == 1
        out, err = capsys.readouterr()
        assert out.splitlines()[0] == (
            f"{path}:1:29: DP009 '{registry.address}/team/app:1@{digest}' provides "
            f'li\\x1b[31mnux\\x0a\\ud800/amd64\\u2028x, not --platform=linux/arm64'
        )
    finally:
        registry.close()


@pytest.mark.parametrize('name', ('../../bin/sh', '/bin/sh', 'x/y', '..', 'x y', 5))
def test_a_helper_name_that_could_name_another_program(tmp_path: Path, name: object) -> None:
    """``credHelpers`` names a ``docker-credential-NAME`` on PATH, never a
    path: a name with ``/``, ``..`` first, blanks or of another type is
    refused before anything runs.  (An empty name runs nothing either: the
    file is then the store, as docker/cli reads it; test_credentials.)"""
    config(tmp_path / 'home', json.dumps({'credHelpers': {'127.0.0.1:5000': name}}))
    with pytest.raises(CredentialError) as refused:
        credential_for('127.0.0.1:5000', 5)
    assert str(refused.value) == (
        f'{tmp_path / "home" / ".docker" / "config.json"}: a credential helper name is malformed'
    )


@pytest.mark.parametrize('auth', ('é', '\ud800', 'YWxp\u00a0Y2U6cA=='))
def test_an_auth_value_of_non_ascii_characters_is_one_line_for_every_reference(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], auth: str,
) -> None:
    """``base64`` refuses a non-ASCII str with a plain ValueError, not the
    binascii.Error it raises for bad base64 (on main: 'asks for a login
    and no credential for it was found' for each reference, the file's
    fault unnamed, after 'internal error: ValueError' for the first
    question asked)."""
    registry = basic_then_served()
    try:
        config(tmp_path / 'home', json.dumps({'auths': {registry.address: {'auth': auth}}}))
        path = tmp_path / 'Dockerfile'
        path.write_text(''.join(f'FROM {registry.address}/team/app:{n}@{DIGEST}\n' for n in (1, 2)))
        assert verify_main(['--timeout', '5', str(path)]) == 2
        out, err = capsys.readouterr()
        reason = (
            f'credentials for {registry.address}: {tmp_path / "home" / ".docker" / "config.json"}: '
            f'an auth value is not base64 of user:password'
        )
        assert [line for line in err.splitlines() if not line.startswith('summary: ')] == [
            f'{path}: error: line {n}: cannot verify \'{registry.address}/team/app:{n}@{DIGEST}\': {reason}'
            for n in (1, 2)
        ]
        assert all(r.headers.get('authorization') is None for r in registry.requests)
    finally:
        registry.close()


def test_a_credential_lookup_that_breaks_fails_every_question_alike() -> None:
    """A bug met while the user's credential is read (a library's
    exception the lookup does not expect): every question of that registry
    says so (on main: the first said 'internal error', the others were
    asked anonymously and said 'no credential for it was found', as if
    the user had none)."""
    def broken(host: str) -> Logins:
        raise ValueError('unexpected')
    registry = ScriptedRegistry(lambda r: (401, {'WWW-Authenticate': 'Basic realm="test"'}, b''))
    try:
        queries = [Query(registry.address, 'team/app', tag) for tag in ('1', '2', '3')]
        answers = ask_all(queries, 5, credentials=broken, connections=1)
        assert list(answers.values()) == [Failed(
            f'credentials for {registry.address}: internal error: ValueError: unexpected '
            f'(please report it)',
        )] * 3
        assert all(r.headers.get('authorization') is None for r in registry.requests)
    finally:
        registry.close()


def test_a_compose_env_file_sets_nothing_the_credential_lookup_or_a_helper_sees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A checkout cannot set the user's environment, but its Compose
    ``.env`` is read (for ``${IMG}``): what it sets is for interpolation
    only, never exported.  Its ``DOCKER_CONFIG``, ``REGISTRY_AUTH_FILE``
    and ``HOME`` name no file to read, its ``PATH`` finds no helper, and
    the user's helper runs without its ``BASH_ENV``, ``ENV``,
    ``PYTHONPATH``, ``PYTHONSTARTUP`` or ``NODE_OPTIONS`` (each would run
    the checkout's code)."""
    registry = basic_then_served()
    checkout = tmp_path / 'checkout'
    checkout.mkdir()
    planted = {
        'DOCKER_CONFIG': str(checkout / 'planted'), 'REGISTRY_AUTH_FILE': str(checkout / 'planted.json'),
        'HOME': str(checkout), 'PATH': '.', 'BASH_ENV': './evil.sh', 'ENV': './evil.sh',
        'PYTHONPATH': '.', 'PYTHONSTARTUP': './evil.py', 'NODE_OPTIONS': '--require ./evil.js',
    }
    login = json.dumps({'auths': {registry.address: {
        'auth': base64.b64encode(b'planted:wrong').decode(),
    }}})
    (checkout / 'planted').mkdir()
    (checkout / 'planted' / 'config.json').write_text(login)
    (checkout / 'planted.json').write_text(login)
    reference = f'{registry.address}/team/app:1@{DIGEST}'
    (checkout / '.env').write_text(''.join(
        f'{name}={value}\n' for name, value in {**planted, 'IMG': reference}.items()
    ))
    (checkout / 'compose.yaml').write_text('services:\n  web:\n    image: ${IMG}\n')
    seen = tmp_path / 'seen.json'
    helper(tmp_path / 'bin', 'user', (
        f'json.dump(dict(os.environ), open({str(seen)!r}, "w"))\n'
        f'print(json.dumps({{"Username": {USER!r}, "Secret": {PASSWORD!r}}}))\n'
    ))
    config(tmp_path / 'home', json.dumps({'credsStore': 'user'}))
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}:{os.environ["PATH"]}')
    monkeypatch.chdir(checkout)
    try:
        code = verify_main(['--source', 'registry', '--timeout', '5', 'compose.yaml'])
    finally:
        registry.close()
    out, err = capsys.readouterr()
    assert code == 0, out + err
    # asked without a login first (the registry's 401 names the scheme), then the user's
    assert {request.headers.get('authorization') for request in registry.requests} == {None, BASIC}
    environment = json.loads(seen.read_text())
    assert {name: environment.get(name) for name in planted} == {
        name: os.environ.get(name) if name != 'PATH' else environment['PATH'] for name in planted
    }
    assert environment['HOME'] == str(tmp_path / 'home')
    assert environment['PATH'].split(':')[0] == str(tmp_path / 'bin')
