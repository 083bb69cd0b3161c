"""Where credentials go (README, Safety): the registry client and the
credential helpers against hosts that try to get a login they are not owed.

A real registry does not name a hostile token realm, redirect to storage
that challenges on its own, answer over TLS and redirect to plain HTTP, or
send a Retry-After of ``²`` on demand: these are fake servers of the test's
own, on loopback (``tests/registries.py``), with a recording proxy and
credential helper programs the tests write.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.resolve.credentials import Logins
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import parse_url
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.resolve.registry import UrlError
from digestpin_hooks.verify import main as verify_main
from tests.fakes import FakeDaemon
from tests.fakes import http
from tests.fakes import VERSION
from tests.registries import Answer
from tests.registries import auths_entry
from tests.registries import BASIC
from tests.registries import DIGEST
from tests.registries import isolated_network
from tests.registries import non_loopback_address
from tests.registries import PASSWORD
from tests.registries import process_gone
from tests.registries import RecordingProxy
from tests.registries import Request
from tests.registries import ScriptedRegistry
from tests.registries import serve_index
from tests.registries import tls_certificate
from tests.registries import USER
from tests.registries import write_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_network(monkeypatch, tmp_path / 'home')


def basic_then(answer: Answer) -> ScriptedRegistry:
    """A registry that wants the user's basic login, then answers."""
    return ScriptedRegistry(lambda r: answer if r.headers.get('authorization') == BASIC else (
        401, {'WWW-Authenticate': 'Basic realm="test"'}, b''))


def log_in(home: Path, address: str) -> None:
    config = home / '.docker' / 'config.json'
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({'auths': {address: auths_entry()}}))


def pinned(tmp_path: Path, *addresses: str) -> Path:
    path = tmp_path / 'Dockerfile'
    path.write_text(''.join(f'FROM {a}/team/app:1@{DIGEST}\n' for a in addresses))
    return path


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out, err = capsys.readouterr()
    assert 'Traceback' not in err
    return [line for line in err.splitlines() if not line.startswith('summary: ')]


# --- one parser for every URL a registry names -------------------------------

@pytest.mark.parametrize(('url', 'problem'), (
    ('http://127.0.0.1:1@192.0.2.1/token', 'carries user information'),
    ('http://[::1/token', 'has an unbalanced [ or a malformed IPv6 address'),
    ('http://127.0.0.1]/token', 'has an unbalanced [ or a malformed IPv6 address'),
    ('http:///token', 'has no host'),
    ('http://127.0.0.1:65536/token', 'has a port out of range'),
    ('http://127.0.0.1:0/token', 'has a port out of range'),
    ('http://127.0.0.1:+1/token', 'has a malformed port'),
    ('http://evil\\.example/token', 'has a malformed host'),
    # an empty label, a label over 63 characters: no name (on main: 'a..b
    # sent an answer that could not be read (UnicodeError)', never asked)
    ('https://a..b/token', 'has a malformed host'),
    ('https://' + 'a' * 64 + '.example/token', 'has a malformed host'),
    ('file:///etc/passwd', 'is not an http or https URL'),
    ('http://exa mple/token', 'is empty, too long, or has blanks, control or non-ASCII characters'),
))
def test_parse_url_refuses(url: str, problem: str) -> None:
    with pytest.raises(UrlError) as refused:
        parse_url(url)
    assert str(refused.value) == problem


def test_parse_url_reads_hosts_as_parts() -> None:
    url = parse_url('HTTPS://Auth.Example:443/token?x=1#frag')
    assert (url.scheme, url.host, url.port, url.target) == ('https', 'auth.example', 443, '/token?x=1')
    assert url.text == 'https://auth.example/token?x=1'
    assert parse_url('http://[::1]:5000/t').text == 'http://[::1]:5000/t'
    assert parse_url('/v2/x', base=parse_url('https://r.example:5000/v2/y')).text == (
        'https://r.example:5000/v2/x')


@pytest.mark.parametrize(('realm', 'problem'), (
    ('http://127.0.0.1:1@192.0.2.1/token', 'carries user information'),  # 9aa18fa: sent there
    ('http://127.0.0.1:1@{other}/token', 'carries user information'),
    ('http://[::1/token', 'has an unbalanced [ or a malformed IPv6 address'),
    ('http:///token', 'has no host'),
    ('http://127.0.0.1:99999/token', 'has a port out of range'),
))
def test_a_malformed_token_realm_is_one_line_and_gets_no_login(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], realm: str, problem: str,
) -> None:
    """``http://127.0.0.1:1@HOST/`` names HOST, which is not loopback: the
    login must not go there in clear text (9aa18fa sent it)."""
    elsewhere = ScriptedRegistry(lambda r: (200, {}, b'{"token": "t"}'), host='0.0.0.0')
    other = f'{non_loopback_address()}:{elsewhere.address.rpartition(":")[2]}'
    registry = ScriptedRegistry(lambda r: (
        401, {'WWW-Authenticate': f'Bearer realm="{realm.format(other=other)}",service="x"'}, b''))
    try:
        log_in(tmp_path / 'home', registry.address)
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '3', str(path)]) == 2
        assert error_lines(capsys) == [
            f'{path}: error: line 1: cannot verify \'{registry.address}/team/app:1@{DIGEST}\': '
            f'{registry.address} named a token realm that {problem}; not used',
        ]
        assert elsewhere.requests == []
    finally:
        registry.close()
        elsewhere.close()


@pytest.mark.parametrize(('location', 'problem'), (
    ('http://127.0.0.1:1@192.0.2.1/v2/', 'carries user information'),
    ('http://[::1/v2/', 'has an unbalanced [ or a malformed IPv6 address'),
    ('http://:5000/v2/', 'has no host'),
    ('http://127.0.0.1:70000/v2/', 'has a port out of range'),
))
def test_a_malformed_redirect_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], location: str, problem: str,
) -> None:
    registry = ScriptedRegistry(lambda r: (307, {'Location': location}, b''))
    try:
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '3', str(path)]) == 2
        assert error_lines(capsys) == [
            f'{path}: error: line 1: cannot verify \'{registry.address}/team/app:1@{DIGEST}\': '
            f'{registry.address} redirected to an address that {problem}; not followed',
        ]
    finally:
        registry.close()


# --- a login answers only its own registry -----------------------------------

def test_a_redirect_targets_own_challenge_is_answered_anonymously(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The registry (basic login) sends the manifest from storage, which
    challenges on its own with a token realm: the realm is asked without
    the user's login, storage gets only its own token."""
    realm = ScriptedRegistry(lambda r: (200, {}, b'{"token": "storage-token"}'))
    storage = ScriptedRegistry(lambda r: serve_index(r) if r.headers.get(
        'authorization') == 'Bearer storage-token' else (
        401, {'WWW-Authenticate': f'Bearer realm="http://{realm.address}/token",service="s"'}, b''))
    registry = ScriptedRegistry(lambda r: (
        307, {'Location': f'http://{storage.address}{r.path}'}, b'',
    ) if r.headers.get('authorization') == BASIC else (
        401, {'WWW-Authenticate': 'Basic realm="test"'}, b''))
    try:
        log_in(tmp_path / 'home', registry.address)
        path = pinned(tmp_path, registry.address)
        assert verify_main([str(path)]) == 0, capsys.readouterr()
        assert realm.requests and all('authorization' not in r.headers for r in realm.requests)
        assert {r.headers.get('authorization', '') for r in storage.requests} == {
            '', 'Bearer storage-token'}
        assert any(r.headers.get('authorization') == BASIC for r in registry.requests)
    finally:
        for server in (registry, storage, realm):
            server.close()


def test_a_redirect_targets_basic_challenge_gets_no_login(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    storage = ScriptedRegistry(lambda r: (401, {'WWW-Authenticate': 'Basic realm="s"'}, b''))
    registry = basic_then((307, {'Location': f'http://{storage.address}/v2/blob'}, b''))
    try:
        log_in(tmp_path / 'home', registry.address)
        path = pinned(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        assert error_lines(capsys) == [
            f'{path}: error: line 1: cannot verify \'{registry.address}/team/app:1@{DIGEST}\': '
            f'{storage.address}, where {registry.address} redirected, asks for a login; '
            f'the credentials of {registry.address} are not sent there',
        ]
        assert all('authorization' not in r.headers for r in storage.requests)
    finally:
        registry.close()
        storage.close()


@pytest.mark.parametrize('variable', ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'))
def test_https_never_redirects_to_plain_http(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], variable: str,
) -> None:
    """A registry over HTTPS (trusted through the CA bundle variable) may
    not send the client to plain HTTP, even on loopback."""
    cert = tls_certificate(tmp_path / 'tls')
    monkeypatch.setenv(variable, str(cert[0]))
    plain = ScriptedRegistry(serve_index)
    registry = ScriptedRegistry(lambda r: (
        307, {'Location': f'http://{plain.address}{r.path}'}, b'') if r.path.endswith('/1') else
        serve_index(r), tls=cert)
    try:
        path = pinned(tmp_path, registry.address)
        path.write_text(f'FROM {registry.address}/team/app:2@{DIGEST}\n')
        assert verify_main([str(path)]) == 0, capsys.readouterr()  # HTTPS works
        path = pinned(tmp_path, registry.address)
        assert verify_main([str(path)]) == 2
        assert error_lines(capsys) == [
            f'{path}: error: line 1: cannot verify \'{registry.address}/team/app:1@{DIGEST}\': '
            f'{registry.address} redirected from HTTPS to plain HTTP; not followed',
        ]
        assert plain.requests == []
    finally:
        registry.close()
        plain.close()


# --- proxies -------------------------------------------------------------------

@pytest.mark.parametrize('name', ('127.0.0.1', 'localhost'))
def test_loopback_never_goes_through_a_proxy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], name: str,
) -> None:
    proxy = RecordingProxy()
    registry = ScriptedRegistry(serve_index)
    try:
        for variable in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy'):
            monkeypatch.setenv(variable, proxy.url)
        path = pinned(tmp_path, registry.address.replace('127.0.0.1', name))
        assert verify_main([str(path)]) == 0, capsys.readouterr()
        assert proxy.requests == []
        assert registry.requests
    finally:
        registry.close()
        proxy.close()


@contextlib.contextmanager
def beyond_loopback(tmp_path: Path) -> Iterator[tuple[RecordingProxy, ScriptedRegistry, str, Path]]:
    """A recording proxy, and a registry on an address of this machine
    that is not loopback (where proxy settings apply): the proxy, the
    registry, its address, and a Dockerfile pinned to an image of it."""
    proxy = RecordingProxy()
    registry = ScriptedRegistry(serve_index, host='0.0.0.0')
    try:
        address = f'{non_loopback_address()}:{registry.address.rpartition(":")[2]}'
        yield proxy, registry, address, pinned(tmp_path, address)
    finally:
        registry.close()
        proxy.close()


def test_other_hosts_go_through_the_proxy_unless_no_proxy_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    with beyond_loopback(tmp_path) as (proxy, _, address, path):
        monkeypatch.setenv('HTTP_PROXY', proxy.url)
        monkeypatch.setenv('HTTPS_PROXY', proxy.url)
        assert verify_main(['--insecure-registry', address, str(path)]) == 0, capsys.readouterr()
        assert f'CONNECT {address}' in proxy.requests  # HTTPS first, as Docker does
        assert f'GET http://{address}/v2/team/app/manifests/{DIGEST}' in proxy.requests
        proxy.requests.clear()
        monkeypatch.setenv('NO_PROXY', address.rpartition(':')[0])
        assert verify_main(['--insecure-registry', address, str(path)]) == 0, capsys.readouterr()
        assert proxy.requests == []


@pytest.mark.parametrize('userinfo', ('', 'puser:s3cret-proxy@'))
def test_a_proxy_setting_without_a_scheme_is_an_http_proxy_as_in_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        userinfo: str,
) -> None:
    """Go's ``parseProxy`` reads a setting whose scheme is none of http,
    https and socks5 as ``http://`` and the setting: ``squid:3128`` (which
    parses as scheme ``squid``) and ``user:secret@squid:3128`` (scheme
    ``user``) are HTTP proxies to Docker (the CLI asked, in
    tests/test_daemon.py).  On main they were refused as 'not a usable
    http or https proxy URL': every reference of a registry not on
    loopback failed where Docker asks through the proxy."""
    with beyond_loopback(tmp_path) as (proxy, _, address, path):
        setting = f'{userinfo}localhost:{proxy.url.rpartition(":")[2]}'
        monkeypatch.setenv('HTTP_PROXY', setting)
        monkeypatch.setenv('HTTPS_PROXY', setting)
        assert verify_main(['--insecure-registry', address, str(path)]) == 0, capsys.readouterr()
        assert f'CONNECT {address}' in proxy.requests
        assert f'GET http://{address}/v2/team/app/manifests/{DIGEST}' in proxy.requests


@pytest.mark.parametrize('variable', ('ALL_PROXY', 'all_proxy'))
def test_all_proxy_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        variable: str,
) -> None:
    """Docker (Go's ``httpproxy``) never sends a request through
    ``ALL_PROXY``, often a SOCKS proxy set for curl: on main a registry not
    on loopback was asked through it, and a ``socks5://`` one failed every
    reference ('not a usable http or https proxy URL')."""
    with beyond_loopback(tmp_path) as (proxy, registry, address, path):
        for setting in (proxy.url, 'socks5://127.0.0.1:1'):
            monkeypatch.setenv(variable, setting)
            assert verify_main(['--insecure-registry', address, str(path)]) == 0, capsys.readouterr()
        assert proxy.requests == []
        assert registry.requests


def test_an_upper_case_proxy_variable_wins_as_in_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """``HTTPS_PROXY`` over ``https_proxy`` (and ``HTTP_PROXY`` over
    ``http_proxy``) where both are set, as Go reads them (on main the
    lower-case one won, as in urllib, and the registry Docker reaches
    through the one proxy was asked through the other)."""
    with beyond_loopback(tmp_path) as (proxy, _, address, path):
        for name in ('HTTP_PROXY', 'HTTPS_PROXY'):
            monkeypatch.setenv(name, proxy.url)
            monkeypatch.setenv(name.lower(), 'socks5://127.0.0.1:1')
        assert verify_main(['--insecure-registry', address, str(path)]) == 0, capsys.readouterr()
        assert f'CONNECT {address}' in proxy.requests
        assert f'GET http://{address}/v2/team/app/manifests/{DIGEST}' in proxy.requests


# --- credential helpers --------------------------------------------------------

def helper_config(home: Path, name: str) -> None:
    config = home / '.docker' / 'config.json'
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({'credsStore': name}))


@pytest.mark.parametrize('relative', ('', '.', 'bin'))
def test_a_helper_is_found_only_in_absolute_path_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], relative: str,
) -> None:
    """The scanned repository's own docker-credential-x (found through an
    empty or relative PATH entry) never runs; the search goes on to the
    user's helper in an absolute entry."""
    repository = tmp_path / 'repository'
    (repository / 'bin').mkdir(parents=True)
    marker = tmp_path / 'ran'
    for folder in (repository, repository / 'bin'):
        planted = folder / 'docker-credential-x'
        planted.write_text(f'#!/bin/sh\ntouch {marker}\n')
        planted.chmod(0o755)
    user_bin = tmp_path / 'user-bin'
    user_bin.mkdir()
    registry = basic_then(serve_index(Request('GET', '/v2/team/app/manifests/x', {}, 0)))
    try:
        write_helper(user_bin, 'x', {registry.address: (USER, PASSWORD)})
        helper_config(tmp_path / 'home', 'x')
        monkeypatch.chdir(repository)
        monkeypatch.setenv('PATH', f'{relative}:{user_bin}:{os.environ["PATH"]}')
        path = pinned(tmp_path, registry.address)
        assert verify_main([str(path)]) == 0, capsys.readouterr()
        assert not marker.exists()
        # with the user's helper gone, the planted one is still not run
        (user_bin / 'docker-credential-x').unlink()
        assert verify_main([str(path)]) == 2
        assert error_lines(capsys) == [
            f'{path}: error: line 1: cannot verify \'{registry.address}/team/app:1@{DIGEST}\': '
            f'credentials for {registry.address}: the credential helper '
            f'docker-credential-x is not on PATH',
        ]
        assert not marker.exists()
    finally:
        registry.close()


def slow_helper(folder: Path, pids: Path, then: str) -> None:
    """A helper that starts a child of its own (in its process group), notes
    both process ids, then does ``then``."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / 'docker-credential-slow'
    program.write_text(
        f'#!{sys.executable}\n'
        'import subprocess, sys, time\n'
        'sys.stdin.read()\n'
        'child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL,\n'
        '                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n'
        f'open({str(pids)!r}, "w").write(f"{{child.pid}} {{__import__(\'os\').getpid()}}")\n'
        + then,
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def both_pids(pids: Path) -> list[int]:
    end = time.monotonic() + 10
    while not (pids.exists() and ' ' in pids.read_text()):
        assert time.monotonic() < end, 'the helper never started'
        time.sleep(0.05)
    return [int(p) for p in pids.read_text().split()]


@pytest.mark.parametrize(('then', 'status', 'problem'), (
    ('import json\nprint(json.dumps({"Username": "alice", "Secret": "pa55-w0rd-never-printed"}))\n',
     0, ''),
    ('time.sleep(300)\n', 2, 'docker-credential-slow did not answer before the deadline (--timeout)'),
    ('print("not json")\n', 2, 'docker-credential-slow did not answer JSON'),
))
def test_no_helper_outlives_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], then: str, status: int, problem: str,
) -> None:
    """Answer, timeout, error: the helper's whole process group is killed,
    what it started too."""
    pids = tmp_path / 'pids'
    slow_helper(tmp_path / 'bin', pids, then)
    monkeypatch.setenv('PATH', f'{tmp_path / "bin"}:{os.environ["PATH"]}')
    helper_config(tmp_path / 'home', 'slow')
    registry = basic_then(serve_index(Request('GET', '/v2/team/app/manifests/x', {}, 0)))
    try:
        path = pinned(tmp_path, registry.address)
        assert verify_main(['--timeout', '2', str(path)]) == status
        assert error_lines(capsys) == ([
            f'{path}: error: line 1: cannot verify \'{registry.address}/team/app:1@{DIGEST}\': '
            f'credentials for {registry.address}: {problem}',
        ] if problem else [])
        assert all(process_gone(pid) for pid in both_pids(pids))
    finally:
        registry.close()


@pytest.mark.parametrize(('sent', 'status', 'said'), (
    (signal.SIGTERM, 143, 'digestpin-verify: terminated'),
    (signal.SIGINT, 130, 'digestpin-verify: interrupted'),
))
def test_a_signal_ends_the_helper_too(
        tmp_path: Path, sent: signal.Signals, status: int, said: str,
) -> None:
    pids = tmp_path / 'pids'
    slow_helper(tmp_path / 'bin', pids, 'time.sleep(300)\n')
    helper_config(tmp_path / 'home', 'slow')
    registry = basic_then(serve_index(Request('GET', '/v2/team/app/manifests/x', {}, 0)))
    try:
        path = pinned(tmp_path, registry.address)
        env = {**os.environ, 'PYTHONPATH': ROOT, 'HOME': str(tmp_path / 'home'),
               'PATH': f'{tmp_path / "bin"}:{os.environ["PATH"]}'}
        child = subprocess.Popen(
            (sys.executable, '-m', 'digestpin_hooks', 'verify', '--timeout', '60', str(path)),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        helper_pids = both_pids(pids)
        child.send_signal(sent)
        _, err = child.communicate(timeout=20)
        assert (child.returncode, err.splitlines()) == (status, [said])
        assert all(process_gone(pid) for pid in helper_pids)
    finally:
        registry.close()



@pytest.mark.parametrize(('number', 'status', 'said', 'tries'), [
    # tries: enough that the run fails without the fix (SIGTERM went wrong
    # in a third of tries, ^C in about a sixth, SIGHUP in every one)
    (signal.SIGTERM, 143, 'terminated', 12),
    (signal.SIGINT, 130, 'interrupted', 24),
    (signal.SIGHUP, 129, 'hung up', 4),
])
def test_a_second_signal_leaves_no_helper_running(
        tmp_path: Path, number: int, status: int, said: str, tries: int,
) -> None:
    """SIGTERM twice (or ^C, or SIGHUP: a closed terminal), the second at
    any moment of the first's unwinding (the helpers of four registries
    being killed, the message, the exit): every helper is killed, and the
    run ends once, with the signal's status and one line.  The
    second signal used to cut that short: a helper taken off the list of
    running ones and not killed yet was left running, and a Terminated
    raised after the run's own handler escaped as a traceback (exit
    status 1).  The gap between the signals sweeps 0 to 11 ms (the
    unwinding takes some 20 ms)."""
    registries = [
        basic_then(serve_index(Request('GET', '/v2/team/app/manifests/x', {}, 0)))
        for _ in range(4)
    ]
    outcomes = []
    try:
        for attempt in range(tries):
            folder = tmp_path / str(attempt)
            pids = folder / 'pids'
            pids.mkdir(parents=True)
            program = folder / 'bin' / 'docker-credential-slow'
            program.parent.mkdir()
            program.write_text(  # its pid, as a file's name once it runs; then it waits
                f'#!{sys.executable}\n'
                'import os, sys, time\n'
                'sys.stdin.read()\n'
                f'open(os.path.join({str(pids)!r}, str(os.getpid())), "x").close()\n'
                'time.sleep(300)\n',
            )
            program.chmod(program.stat().st_mode | stat.S_IXUSR)
            helper_config(folder / 'home', 'slow')
            path = pinned(folder, *(registry.address for registry in registries))
            env = {**os.environ, 'PYTHONPATH': ROOT, 'HOME': str(folder / 'home'),
                   'PATH': f'{program.parent}:{os.environ["PATH"]}'}
            child = subprocess.Popen(
                (sys.executable, '-m', 'digestpin_hooks', 'verify', '--timeout', '60', str(path)),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            end = time.monotonic() + 10
            while len(list(pids.iterdir())) < len(registries):
                assert time.monotonic() < end, 'the helpers never started'
                time.sleep(0.002)
            child.send_signal(number)
            time.sleep(attempt % 12 * 0.001)
            child.send_signal(number)
            _, err = child.communicate(timeout=20)
            running = [int(p.name) for p in pids.iterdir() if not process_gone(int(p.name))]
            for pid in running:  # not left behind by the test either
                os.killpg(pid, signal.SIGKILL)
            outcomes.append((child.returncode, err.splitlines(), running))
        assert outcomes == [(status, [f'digestpin-verify: {said}'], [])] * tries
    finally:
        for registry in registries:
            registry.close()

def test_two_signals_at_once_end_the_run_at_once_in_one_line(tmp_path: Path) -> None:
    """SIGTERM and ^C sent together while four credential helpers (on an
    absolute PATH entry) sleep: the run ends at once, as the first signal
    its handler ran says, in one line, every helper killed.  Both signals
    were often taken by worker threads, whose waits they do not break,
    and the main thread, waiting for the workers until the deadline, ran
    no handler before then (a quarter of tries went on past 5 s of a
    --timeout of 60); once it woke, the signal found ignored by the first
    one's handler was Python's "Signal 15 ignored due to race condition"
    traceback."""
    tries = 16
    registries = [
        basic_then(serve_index(Request('GET', '/v2/team/app/manifests/x', {}, 0)))
        for _ in range(4)
    ]
    outcomes = []
    try:
        for attempt in range(tries):
            folder = tmp_path / str(attempt)
            pids = folder / 'pids'
            pids.mkdir(parents=True)
            program = folder / 'bin' / 'docker-credential-slow'
            program.parent.mkdir()
            program.write_text(  # its pid, as a file's name once it runs; then it waits
                f'#!{sys.executable}\n'
                'import os, sys, time\n'
                'sys.stdin.read()\n'
                f'open(os.path.join({str(pids)!r}, str(os.getpid())), "x").close()\n'
                'time.sleep(300)\n',
            )
            program.chmod(program.stat().st_mode | stat.S_IXUSR)
            helper_config(folder / 'home', 'slow')
            path = pinned(folder, *(registry.address for registry in registries))
            env = {**os.environ, 'PYTHONPATH': ROOT, 'HOME': str(folder / 'home'),
                   'PATH': f'{program.parent}:{os.environ["PATH"]}'}
            child = subprocess.Popen(
                (sys.executable, '-m', 'digestpin_hooks', 'verify', '--timeout', '60', str(path)),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            end = time.monotonic() + 10
            while len(list(pids.iterdir())) < len(registries):
                assert time.monotonic() < end, 'the helpers never started'
                time.sleep(0.002)
            child.send_signal(signal.SIGTERM)
            child.send_signal(signal.SIGINT)
            try:
                _, err = child.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                _, err = child.communicate()
                err = 'still running 5 s after the signals\n'
            running = [int(p.name) for p in pids.iterdir() if not process_gone(int(p.name))]
            for pid in running:  # not left behind by the test either
                os.killpg(pid, signal.SIGKILL)
            outcomes.append((child.returncode, err.splitlines(), running))
        # whichever of the two the handler ran first (both noted at once: ^C)
        ended = [(130, ['digestpin-verify: interrupted'], []), (143, ['digestpin-verify: terminated'], [])]
        assert [outcome for outcome in outcomes if outcome not in ended] == []
    finally:
        for registry in registries:
            registry.close()


# --- malformed answers never raise ---------------------------------------------

def test_retry_after_of_non_ascii_digits_is_ignored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """``'²'.isdigit()`` is true and ``float('²')`` raises: the header is
    ignored (the default wait), and every reference is answered."""
    asked: list[str] = []

    def once(request: Request) -> Answer:
        asked.append(request.path)
        if 'app1' in request.path and asked.count(request.path) == 1:
            return 429, {'Retry-After': '²'}, b''
        return serve_index(request)
    registry = ScriptedRegistry(once)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(''.join(
            f'FROM {registry.address}/team/app{n}@{DIGEST}\n' for n in (1, 2)))
        assert verify_main(['--timeout', '5', str(path)]) == 0, capsys.readouterr()
    finally:
        registry.close()


@pytest.mark.parametrize('length', ('²', '-5', 'x' * 40))
def test_a_content_length_of_the_wrong_shape(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], length: str,
) -> None:
    """Answered with a Content-Length that is no number: ignored (the body
    is read to the end of the connection, within its bound)."""
    def wrong_length(request: Request) -> Answer:
        status, headers, body = serve_index(request)
        return status, {**headers, 'Content-Length': length, 'Connection': 'close'}, body
    registry = ScriptedRegistry(wrong_length)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {registry.address}/team/app:1\n')
        assert fix_main(['--source', 'registry', '--timeout', '5', str(path)]) == 1
        assert path.read_text() == f'FROM {registry.address}/team/app:1@{DIGEST}\n'
        assert verify_main(['--timeout', '5', str(path)]) == 0, capsys.readouterr()
    finally:
        registry.close()


def test_content_lengths_that_disagree_are_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """``Content-Length: 1,2`` (which the HTTP library refuses) fails that
    reference in one line; the other reference is still pinned."""
    def wrong_length(request: Request) -> Answer:
        status, headers, body = serve_index(request)
        if 'app1' in request.path:
            headers = {**headers, 'Content-Length': '1,2', 'Connection': 'close'}
        return status, headers, body
    registry = ScriptedRegistry(wrong_length)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {registry.address}/team/app1:1\nFROM {registry.address}/team/app2:1\n')
        assert fix_main(['--source', 'registry', '--timeout', '5', str(path)]) == 1
        assert path.read_text() == (
            f'FROM {registry.address}/team/app1:1\nFROM {registry.address}/team/app2:1@{DIGEST}\n')
        out, _ = capsys.readouterr()
        assert out.splitlines()[0] == (
            f'{path}:1:6: DP001 \'{registry.address}/team/app1:1\' left unpinned: the '
            f'registry could not be asked: {registry.address} sent an answer that could not '
            f'be read (InvalidHeader) (the other references were asked all the same)')
    finally:
        registry.close()


def test_an_exception_in_a_worker_fails_only_its_own_references() -> None:
    """Whatever goes wrong while one registry is asked is that reference's
    failure, at once, not a false 'no complete answer within 5 s' for it."""
    broken = ScriptedRegistry(lambda r: (401, {'WWW-Authenticate': 'Basic realm="x"'}, b''))
    sound = ScriptedRegistry(serve_index)

    def credentials(host: str) -> Logins:
        raise RuntimeError(f'boom at {host}')
    try:
        queries = [Query(broken.address, 'team/app', DIGEST, True),
                   Query(sound.address, 'team/app', DIGEST, True)]
        start = time.monotonic()
        answers = ask_all(queries, 5, credentials=credentials)
        assert time.monotonic() - start < 3
        assert answers[queries[0]] == Failed(
            f'credentials for {broken.address}: internal error: RuntimeError: boom at '
            f'{broken.address} (please report it)')
        assert not isinstance(answers[queries[1]], Failed)
    finally:
        broken.close()
        sound.close()


def test_a_realm_met_while_the_tls_probe_is_in_flight_gets_no_login(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """On loopback the first questions go out over plain HTTP while one
    connection probes for TLS (``_ask_while_probing``): a realm that names
    another host through user information, met by 8 references on their
    several connections at once, gets no login from any of them."""
    elsewhere = ScriptedRegistry(lambda r: (200, {}, b'{"token": "t"}'), host='0.0.0.0')
    other = f'{non_loopback_address()}:{elsewhere.address.rpartition(":")[2]}'
    realm = f'http://127.0.0.1:1@{other}/token'
    registry = ScriptedRegistry(lambda r: (
        401, {'WWW-Authenticate': f'Bearer realm="{realm}",service="x"'}, b''))
    try:
        log_in(tmp_path / 'home', registry.address)
        path = tmp_path / 'Dockerfile'
        path.write_text(''.join(f'FROM {registry.address}/team/app{k}:1\n' for k in range(8)))
        code = fix_main(['--dry-run', '--source', 'registry', '--timeout', '5', str(path)])
        out, err = capsys.readouterr()
        assert 'Traceback' not in err
        assert code == 1
        assert out.splitlines() == [
            f"{path}:{k + 1}:6: DP001 '{registry.address}/team/app{k}:1' left unpinned: "
            f'the registry could not be asked: {registry.address} named a token realm '
            f'that carries user information; not used (the other references were '
            f'asked all the same)'
            for k in range(8)
        ]
        assert registry.connections > 2  # the probe's, and several asking meanwhile
        assert all('authorization' not in r.headers for r in registry.requests)
        assert elsewhere.requests == []
    finally:
        registry.close()
        elsewhere.close()


@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_the_repositorys_file_sends_no_login_to_a_daemon_it_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        source: str,
) -> None:
    """A pull request's pyproject.toml naming a daemon of its author's
    (``tcp://HOST:2375`` in real life; a socket here), read by a CI job
    that runs fix or verify on the checkout: the daemon was asked, with
    the CI user's login for the image's registry in X-Registry-Auth, and
    the digest it made up was written.  Nothing is asked of it now."""
    isolated_network(monkeypatch, tmp_path / 'home')
    log_in(tmp_path / 'home', 'registry.example.com')
    daemon = FakeDaemon({'/version': http('200 OK', VERSION)})
    try:
        (tmp_path / '.git').mkdir()
        (tmp_path / 'pyproject.toml').write_text(
            f'[tool.digestpin]\ndocker-host = "unix://{daemon.path}"\nsource = "{source}"\n',
        )
        (tmp_path / 'Dockerfile').write_text('FROM registry.example.com/team/app:1\n')
        monkeypatch.chdir(tmp_path)
        code = fix_main(['Dockerfile'])
        assert daemon.requests == []
        assert code == 2
        assert verify_main(['Dockerfile']) == 2
        assert daemon.requests == []
        assert 'docker-host cannot be set in a file' in capsys.readouterr().err
        assert (tmp_path / 'Dockerfile').read_text() == 'FROM registry.example.com/team/app:1\n'
    finally:
        daemon.close()


def _registry_auth(head: bytes) -> dict[str, str] | None:
    """The X-Registry-Auth a request to the daemon carried, decoded."""
    import base64
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'x-registry-auth':
            decoded: dict[str, str] = json.loads(base64.urlsafe_b64decode(value.strip() + b'=='))
            return decoded
    return None


@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_the_daemons_logins_come_from_no_helper_of_a_relative_path_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        source: str,
) -> None:
    """The login sent to the daemon with a pull (X-Registry-Auth) is found
    as the registry source finds it: the docker SDK's own lookup ran the
    credsStore's ``docker-credential-NAME`` from a relative PATH entry
    (``.``: the checkout being scanned), a program of the pull request's.
    Now the helper is looked for in absolute entries only (not found: the
    reference fails, the daemon is asked nothing for it), and a login of
    the user's files is what the daemon is sent."""
    from tests.fakes import knows
    isolated_network(monkeypatch, tmp_path / 'home')
    config = tmp_path / 'home' / '.docker' / 'config.json'
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({'credsStore': 'planted'}))
    checkout = tmp_path / 'checkout'
    checkout.mkdir()
    ran = tmp_path / 'ran'
    helper = checkout / 'docker-credential-planted'
    helper.write_text(f'#!/bin/sh\ntouch {ran}\necho \'{{"Username":"x","Secret":"y"}}\'\n')
    helper.chmod(0o755)
    (checkout / 'Dockerfile').write_text('FROM example.com/team/app:1\n')
    monkeypatch.chdir(checkout)
    monkeypatch.setenv('PATH', f'.:{os.environ["PATH"]}')
    daemon = FakeDaemon(knows({}))
    try:
        arguments = ['--docker-host', f'unix://{daemon.path}', '--source', source, '--timeout', '5']
        assert fix_main([*arguments, 'Dockerfile']) == 1
        assert not ran.exists()
        assert 'credentials for example.com: the credential helper docker-credential-planted ' \
            'is not on PATH' in capsys.readouterr().out
        asked = [h for h in daemon.heads if b'/images/create' in h or b'/distribution/' in h]
        assert asked == []
        # the user's own login, from the file: sent to the daemon
        config.write_text(json.dumps({'auths': {'example.com': auths_entry()}}))
        fix_main([*arguments, 'Dockerfile'])
        sent = [_registry_auth(h) for h in daemon.heads if b'/images/create' in h or b'/distribution/' in h]
        assert sent and all(
            auth is not None and (auth['username'], auth['password']) == (USER, PASSWORD)
            for auth in sent
        ), sent
    finally:
        daemon.close()
