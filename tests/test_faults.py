"""Daemons and registries that fail: missing, hanging, garbage, 500, 429.

Files stay as they were.

A real daemon cannot be made to misbehave on demand, so a small fake server
on a unix socket plays each fault.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digestpin_hooks.fix import main
from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.update import main as update_main
from digestpin_hooks.verify import main as verify_main
from tests.fakes import FakeDaemon
from tests.fakes import http
from tests.fakes import VERSION
from tests.output import without_summary
from tests.registries import DIGEST
from tests.registries import Request
from tests.registries import ScriptedRegistry
from tests.stack import Stack
from tests.test_registry_faults import run_resolving_nothing
from tests.timing import PAST_DEADLINE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = b'FROM example.com/team/app:1\r\nRUN true\n'


def check_untouched(tmp_path: Path, code: int, err: str, host: str) -> None:
    assert code == 2
    assert (tmp_path / 'Dockerfile').read_bytes() == DOCKERFILE
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Dockerfile']
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f'digestpin-fix: error: cannot use the Docker daemon at {host} (from --docker-host): ')
    assert lines[0].endswith('start Docker (or podman system service), or point digestpin at a running daemon with DOCKER_HOST, `docker context use`, or --docker-host')


def test_missing_socket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    host = f'unix://{tmp_path}/no.sock'
    code = main(['--docker-host', host, str(tmp_path / 'Dockerfile')])
    check_untouched(tmp_path, code, capsys.readouterr().err, host)


def test_refused_tcp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    host = f'tcp://127.0.0.1:{port}'
    code = main(['--docker-host', host, str(tmp_path / 'Dockerfile')])
    check_untouched(tmp_path, code, capsys.readouterr().err, host)


@pytest.mark.parametrize(
    ('fake', 'what'),
    (
        ({'/version': None}, 'hangs at once'),
        ({'/version': http('200 OK', VERSION), '/images/json': None}, 'hangs on the image list'),
        ({'/version': http('200 OK', b'<html>not json'), }, 'garbage version'),
        ({'/version': http('200 OK', VERSION), '/images/json': http('200 OK', b'\x00\xffgarbage')}, 'garbage image list'),
        ({'/version': http('200 OK', VERSION), '/images/json': http('200 OK', b'{"not": "a list"}')}, 'wrong JSON shape'),
        ({'/version': http('500 Internal Server Error', b'{"message":"boom"}')}, '500 at once'),
        ({'/version': http('200 OK', VERSION), '/images/json': http('500 Internal Server Error', b'{"message":"boom"}')}, '500 on the image list'),
        ({'/': b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'}, 'short body then close'),
    ),
    indirect=['fake'],
)
def test_faulty_daemon(
        fake: FakeDaemon, what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    host = f'unix://{fake.path}'
    start = time.monotonic()
    code = main(['--docker-host', host, '--timeout', '1', str(tmp_path / 'Dockerfile')])
    assert time.monotonic() - start < 8, what
    check_untouched(tmp_path, code, capsys.readouterr().err, host)


@pytest.mark.parametrize(('fake', 'sentence'), (
    ({'/version': None}, 'timed out: no complete answer within 1 s (--timeout)'),
    ({'/version': http('200 OK', VERSION), '/images/json': None}, 'timed out: no complete answer within 1 s (--timeout)'),
    ({'/version': http('200 OK', b'<html>not json')}, 'its answer is not JSON'),
    ({'/version': http('500 Internal Server Error', b'{"message":"boom"}')}, 'it answered 500: boom'),
    ({'/': b'garbage\r\n\r\n'}, 'its answer is not HTTP'),
    ({'/version': http('200 OK', VERSION), '/images/json': http('200 OK', b'{"not": "a list"}')},
     'the image list is not a list'),
), indirect=['fake'])
def test_a_daemon_failure_is_one_sentence(
        fake: FakeDaemon, sentence: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Not the SDK's nested exceptions (``('Connection aborted.',
    BadStatusLine('garbage'))``): what went wrong, in words."""
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    host = f'unix://{fake.path}'
    assert main(['--docker-host', host, '--timeout', '1', str(tmp_path / 'Dockerfile')]) == 2
    assert capsys.readouterr().err == (
        f'digestpin-fix: error: cannot use the Docker daemon at {host} (from '
        f'--docker-host): {sentence}; start Docker (or podman system service), '
        f'or point digestpin at a running daemon with DOCKER_HOST, `docker '
        f'context use`, or --docker-host\n'
    )


@pytest.mark.parametrize('how', ('missing socket', 'refused', 'not a socket'))
def test_an_unreachable_daemon_is_one_sentence(
        how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    if how == 'refused':
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            host = f'tcp://127.0.0.1:{s.getsockname()[1]}'
        sentence = 'it refused the connection'
    elif how == 'missing socket':
        host = f'unix://{tmp_path}/no.sock'
        sentence = 'there is no socket at that path'
    else:
        (tmp_path / 'plain').write_text('')
        host = f'unix://{tmp_path}/plain'
        sentence = 'it refused the connection'
    assert main(['--docker-host', host, str(tmp_path / 'Dockerfile')]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f'digestpin-fix: error: cannot use the Docker daemon at {host} (from '
        f'--docker-host): {sentence}; start Docker',
    ), err


@pytest.mark.parametrize(
    'fake',
    ({'/version': http('200 OK', VERSION), '/distribution/': http('500 Internal Server Error', b'{"message":"registry down"}')},),
    indirect=True,
)
def test_registry_500_through_the_daemon(
        fake: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    host = f'unix://{fake.path}'
    code = main(['--docker-host', host, '--source', 'daemon-registry', str(tmp_path / 'Dockerfile')])
    out, err = capsys.readouterr()
    assert code == 1
    assert err == "summary: 1 finding (DP001 1) in 1 file\n"
    assert (tmp_path / 'Dockerfile').read_bytes() == DOCKERFILE
    assert out == (
        f"{tmp_path / 'Dockerfile'}:1:6: DP001 'example.com/team/app:1' left "
        f'unpinned: the registry failed through the Docker daemon at {host}: '
        f'500 registry down; try again later, or use --source local (the '
        f'other references were asked all the same)\n'
    )


def test_no_daemon_needed_when_nothing_to_resolve(tmp_path: Path) -> None:
    pinned = b'FROM a@sha256:' + b'c' * 64 + b'\nFROM $UNSET\n'
    (tmp_path / 'Dockerfile').write_bytes(pinned)
    code = main(['--docker-host', 'unix:///nonexistent.sock', str(tmp_path / 'Dockerfile')])
    assert code == 0
    assert (tmp_path / 'Dockerfile').read_bytes() == pinned


def test_killed_between_temporary_file_and_rename(tmp_path: Path) -> None:
    """SIGKILL at the rename: the original stays whole, the temporary is complete."""
    original = b'FROM example.com/a:1\nRUN true\n'
    (tmp_path / 'Dockerfile').write_bytes(original)
    digest = 'sha256:' + 'd' * 64
    code = f'''
import os, signal
from digestpin_hooks import edit, fix
from digestpin_hooks.resolve.answers import Found
def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)
edit.os.replace = die
resolver = lambda keys: {{k: Found({digest!r}) for k in keys}}
fix.fix_files([{str(tmp_path / 'Dockerfile')!r}], resolver)
'''
    result = subprocess.run((sys.executable, '-c', code), capture_output=True)
    assert result.returncode == -9, result.stderr
    assert (tmp_path / 'Dockerfile').read_bytes() == original
    (temporary,) = [p for p in tmp_path.iterdir() if p.name != 'Dockerfile']
    assert temporary.name.startswith('.digestpin-') and temporary.name.endswith('.tmp')
    assert temporary.read_bytes() == original.replace(b'a:1', f'a:1@{digest}'.encode())


def failing_registry(mode: str) -> ScriptedRegistry:
    """A registry on loopback that fails every manifest request one way."""
    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path == '/v2/':
            return 200, {'Content-Type': 'application/json'}, b'{}'
        if mode == 'hang':
            return 0, {}, b''
        if mode == 'garbage':
            return 200, {'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json'}, b'\x00not a manifest'
        code = int(mode)
        error = 'TOOMANYREQUESTS' if code == 429 else 'UNKNOWN'
        return code, {'Content-Type': 'application/json'}, json.dumps(
            {'errors': [{'code': error, 'message': f'fake {code}'}]},
        ).encode()
    return ScriptedRegistry(answer)


NETWORK_COMMANDS = {
    'fix --source pull': (fix_main, ['--source', 'pull'], False),
    'fix --source daemon-registry': (fix_main, ['--source', 'daemon-registry'], False),
    'update --source pull': (update_main, ['--source', 'pull'], True),
    'update --source daemon-registry': (update_main, ['--source', 'daemon-registry'], True),
    'verify --source daemon-registry': (verify_main, ['--source', 'daemon-registry'], True),
    # the registry asked directly (the daemon is not used)
    'fix --source registry': (fix_main, ['--source', 'registry'], False),
    'update --source registry': (update_main, ['--source', 'registry'], True),
    'verify': (verify_main, [], True),
}


@pytest.mark.parametrize('mode', ('hang', '500', '429'))
@pytest.mark.parametrize('command', list(NETWORK_COMMANDS))
def test_registry_faults_behind_a_real_daemon(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: str, mode: str,
) -> None:
    registry = failing_registry(mode)
    try:
        main_, args, pinned = NETWORK_COMMANDS[command]
        image = f'{registry.address}/team/app:1'
        if pinned:
            image += '@sha256:' + '4' * 64
        data = f'FROM {image}\r\nRUN true\n'.encode()
        (tmp_path / 'Dockerfile').write_bytes(data)
        start = time.monotonic()
        code = main_(['--docker-host', stack.host, '--timeout', '2', *args, str(tmp_path / 'Dockerfile')])
        elapsed = time.monotonic() - start
    finally:
        registry.close()
    out, err = capsys.readouterr()
    assert (tmp_path / 'Dockerfile').read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Dockerfile']
    assert elapsed < 15
    if command.startswith('fix'):
        # one registry's failure belongs to its reference: a finding at it
        # (the other references would be pinned), not the end of the run
        assert code == 1, out + err
        assert without_summary(err) == ''
        (said,) = out.splitlines()
        assert said.startswith(f'{tmp_path / "Dockerfile"}:1:6: DP001 ')
        assert 'left unpinned' in said
    elif command.startswith('update'):
        assert code == 2, err
        (said,) = err.splitlines()
        assert said.startswith(f'{tmp_path / "Dockerfile"}: error: line 1: cannot update ')
    elif command == 'verify':
        # asked directly, the failure is the pin's: an error at its line
        assert code == 2, err
        (said,) = err.splitlines()
        assert said.startswith(f'{tmp_path / "Dockerfile"}: error: line 1: cannot verify ')
    else:
        assert code == 2, err
        (said,) = err.splitlines()
    # the fake registry's address may itself hold the digits of a status
    said = said.replace(registry.address, 'REGISTRY')
    if mode == 'hang':
        assert 'timed out' in said or 'within 2 s (--timeout)' in said, said
    else:
        assert re.search(rf'\b{mode}\b|too ?many ?requests', said, re.I), said


@pytest.mark.parametrize(
    ('fake', 'command', 'at_pin'),
    [
        # verify asks about each pin once the daemon answered: its failure
        # there (the registry's 429 or 5xx, a hang, garbage) is the pin's
        (rules, command, command == 'verify' and '/distribution/' in rules)
        for command in ('update', 'verify')
        for rules in (
            {'/version': None},
            {'/version': http('200 OK', VERSION), '/distribution/': None, '/images/': None},
            {'/version': http('200 OK', VERSION), '/distribution/': http('429 Too Many Requests', b'{"message":"toomanyrequests: slow down"}'),
             '/images/create': http('429 Too Many Requests', b'{"message":"toomanyrequests: slow down"}')},
            {'/version': http('200 OK', VERSION), '/distribution/': http('500 Internal Server Error', b'{"message":"boom"}'),
             '/images/create': http('500 Internal Server Error', b'{"message":"boom"}')},
            {'/version': http('200 OK', VERSION), '/distribution/': http('200 OK', b'<garbage'), '/images/create': http('200 OK', b'<garbage')},
        )
    ],
    indirect=['fake'],
)
def test_update_and_verify_with_a_faulty_daemon(
        fake: FakeDaemon, command: str, at_pin: bool, tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    data = b'FROM example.com/team/app:1@sha256:' + b'5' * 64 + b'\n'
    (tmp_path / 'Dockerfile').write_bytes(data)
    main_ = update_main if command == 'update' else verify_main
    start = time.monotonic()
    code = main_([
        '--docker-host', f'unix://{fake.path}', '--timeout', '1',
        '--source', 'daemon-registry' if command == 'verify' else 'pull',
        str(tmp_path / 'Dockerfile'),
    ])
    assert time.monotonic() - start < 8
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    if at_pin:
        assert err.startswith(
            f"{tmp_path / 'Dockerfile'}: error: line 1: cannot verify "
            f"'example.com/team/app:1@sha256:{'5' * 64}': ",
        ), err
    else:
        assert err.startswith(f'digestpin-{command}: error: ')
    assert (tmp_path / 'Dockerfile').read_bytes() == data


@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_one_failing_registry_leaves_the_others_pinned(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    """A good and a failing registry in one file: the good reference is
    pinned, the other is a finding at its own line, naming why."""
    good = f'{stack.registry}/faults/good:{source}'
    digest = stack.push(good, f'good for {source}')
    stack.remove(good)  # so that --source pull must pull it
    registry = failing_registry('500')
    try:
        bad = f'{registry.address}/team/app:1'
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {good}\nFROM {bad}\n')
        code = fix_main(['--docker-host', stack.host, '--timeout', '5', '--source', source, str(path)])
    finally:
        registry.close()
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert path.read_text() == f'FROM {good}@{digest}\nFROM {bad}\n'
    lines = out.splitlines()
    assert lines[0] == f'{path}:1:6: pinned {good} -> {good}@{digest}'
    assert lines[1].startswith(f"{path}:2:6: DP001 '{bad}' left unpinned: ")
    assert re.search(r'\b500\b', lines[1].replace(registry.address, 'REGISTRY'))


@pytest.mark.parametrize(('fake', 'body'), (
    ({'/version': http('200 OK', VERSION), '/distribution/': http('404 Not Found', b'{}')}, '{}'),
    ({'/version': http('200 OK', VERSION), '/distribution/': http('404 Not Found', b'[]')}, '[]'),
), indirect=['fake'])
def test_a_daemon_error_without_a_message_is_still_that_error(
        fake: FakeDaemon, body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The docker SDK reads an error's JSON ``message`` and raises KeyError
    (or TypeError) when there is none: the answer is still a 404 about this
    image, not a daemon failure named ``'message'``."""
    (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
    host = f'unix://{fake.path}'
    code = main(['--docker-host', host, '--source', 'daemon-registry', str(tmp_path / 'Dockerfile')])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert err == 'summary: 1 finding (DP001 1) in 1 file\n'
    assert out == (
        f"{tmp_path / 'Dockerfile'}:1:6: DP001 'example.com/team/app:1' left "
        f'unpinned: the registry did not resolve it: {body} (check the name '
        f'and your docker login)\n'
    )


def throttling_registry(code: int) -> ScriptedRegistry:
    """A registry on loopback that answers every manifest request 429 with
    a Retry-After (rate limited), or 503 (down for now)."""
    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path == '/v2/':
            return 200, {'Content-Type': 'application/json'}, b'{}'
        headers = {'Content-Type': 'application/json'}
        if code == 429:
            headers['Retry-After'] = '1'
        error = 'TOOMANYREQUESTS' if code == 429 else 'UNAVAILABLE'
        return code, headers, json.dumps(
            {'errors': [{'code': error, 'message': f'fake {code}'}]},
        ).encode()
    return ScriptedRegistry(answer)


@pytest.mark.parametrize('code', (429, 503))
@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_a_throttled_registry_fails_its_own_reference_in_fix(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, code: int,
) -> None:
    """Behind the real daemon, a registry that answers 429 (Retry-After) or
    503 fails the reference it holds, not the run: the good one is pinned."""
    good = f'{stack.registry}/faults/throttled-{code}:{source}'
    digest = stack.push(good, f'good beside a {code} for {source}')
    stack.remove(good)  # so that --source pull must pull it
    registry = throttling_registry(code)
    try:
        bad = f'{registry.address}/team/app:1'
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {good}\nFROM {bad}\n')
        code_ = fix_main(['--docker-host', stack.host, '--timeout', '10', '--source', source, str(path)])
    finally:
        registry.close()
    out, err = capsys.readouterr()
    assert code_ == 1, out + err
    assert path.read_text() == f'FROM {good}@{digest}\nFROM {bad}\n'
    # the daemon's status: a pull's 429 is its 500, with the registry's words
    status = {429: f'{429 if source == "daemon-registry" else 500} toomanyrequests: fake 429', 503: (
        '500 received unexpected HTTP status: 503 Service Unavailable'
    )}[code]
    assert out == (
        f'{path}:1:6: pinned {good} -> {good}@{digest}\n'
        f"{path}:2:6: DP001 '{bad}' left unpinned: the registry failed through "
        f'the Docker daemon at {stack.host}: {status}; try again later, or use '
        f'--source local (the other references were asked all the same)\n'
    )
    assert err == 'summary: 1 finding (DP001 1) in 1 file; 1 pinned\n'


@pytest.mark.parametrize('offline_ok', ((), ('--offline-ok',)))
@pytest.mark.parametrize('code', (429, 503))
def test_a_throttled_registry_fails_its_own_pin_in_verify(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        code: int, offline_ok: tuple[str, ...],
) -> None:
    """verify --source daemon-registry: a registry behind the real daemon
    that answers 429 (Retry-After) or 503 fails its own pin, not the run."""
    good = f'{stack.registry}/faults/verify-throttled-{code}:1'
    digest = stack.push(good, f'good beside a {code} in verify')
    registry = throttling_registry(code)
    try:
        bad = f'{registry.address}/team/app:1@sha256:' + '4' * 64
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM {good}@{digest}\nFROM {bad}\n')
        code_ = verify_main([
            '--docker-host', stack.host, '--timeout', '10', '--source', 'daemon-registry',
            *offline_ok, str(path),
        ])
    finally:
        registry.close()
    out, err = capsys.readouterr()
    # the good pin is verified; the other is an error at its line (exit 2),
    # which --offline-ok does not forgive: the registry answered
    assert code_ == 2, out + err
    assert out == ''
    status = {429: '429 toomanyrequests: fake 429', 503: (
        '500 received unexpected HTTP status: 503 Service Unavailable'
    )}[code]
    assert err == (
        f"{path}: error: line 2: cannot verify '{bad}': the registry failed "
        f'through the Docker daemon at {stack.host}: {status}; try again later, '
        f'or use --source local\n'
        f'summary: 1 pin verified in 1 file; 1 error\n'
    )


def denying_registry() -> ScriptedRegistry:
    """A registry that answers 403 to every manifest request (the real
    registry answers 401 without a login, never 403)."""
    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path == '/v2/':
            return 200, {'Content-Type': 'application/json'}, b'{}'
        return 403, {'Content-Type': 'application/json'}, json.dumps(
            {'errors': [{'code': 'DENIED', 'message': 'requested access to the resource is denied'}]},
        ).encode()
    return ScriptedRegistry(answer)


@pytest.mark.parametrize('login', ('none', 'wrong', 'denied'))
@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_a_registry_that_refuses_the_login_fails_its_reference_with_advice_to_log_in(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, source: str, login: str,
) -> None:
    """Behind the real daemon, a registry with htpasswd auth asked with no
    login (the daemon: 500 "no basic auth credentials") or a wrong one (401
    "unauthorized: authentication required"; a pull: 500), or one that
    answers 403 (the daemon: "denied"), fails the reference: an
    authentication error to mend by logging in, not "no such tag", and
    without the credential in any word."""
    from tests.registries import htpasswd_auth
    from tests.registries import USER
    if login == 'denied':
        registry = denying_registry()
        address = registry.address
    else:
        address = stack.start_registry(f'refusing-{source}-{login}', htpasswd_auth(Path(stack.root)))
    config = tmp_path / 'config'
    config.mkdir()
    wrong = 'not-the-password-Zm9vYmFy'
    auths = {} if login == 'none' else {address: {'auth': base64.b64encode(f'{USER}:{wrong}'.encode()).decode()}}
    (config / 'config.json').write_text(json.dumps({'auths': auths}))
    monkeypatch.setenv('DOCKER_CONFIG', str(config))
    good = f'{stack.registry}/faults/refused-{source}-{login}:1'
    digest = stack.push(good, f'good beside a refusal {source} {login}')
    stack.remove(good)  # so that --source pull must pull it
    bad = f'{address}/direct/app:1'
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {good}\nFROM {bad}\n')
    try:
        code = fix_main(['--docker-host', stack.host, '--timeout', '10', '--source', source, str(path)])
    finally:
        if login == 'denied':
            registry.close()
    out, err = capsys.readouterr()
    words = {
        'none': f'Head "http://{address}/v2/direct/app/manifests/1": no basic auth credentials',
        'wrong': 'unauthorized: authentication required',
        'denied': 'denied',
    }[login]
    assert code == 1, out + err
    assert path.read_text() == f'FROM {good}@{digest}\nFROM {bad}\n'
    assert out == (
        f'{path}:1:6: pinned {good} -> {good}@{digest}\n'
        f"{path}:2:6: DP001 '{bad}' left unpinned: the registry refused access "
        f'through the Docker daemon at {stack.host}: {words}; log in (docker login '
        f'{address}) as a user that may pull it, and check the name (the other '
        f'references were asked all the same)\n'
    )
    assert err == 'summary: 1 finding (DP001 1) in 1 file; 1 pinned\n'
    assert wrong not in out + err


@pytest.mark.parametrize('login', ('wrong', 'denied'))
def test_a_registry_that_refuses_the_login_fails_its_pin_in_verify(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, login: str,
) -> None:
    """verify --source daemon-registry: a pin whose registry refuses the
    login (401) or the access (403) is an error at its line that says to
    log in, not a pin whose tag is gone."""
    from tests.registries import htpasswd_auth
    from tests.registries import USER
    if login == 'denied':
        registry = denying_registry()
        address = registry.address
    else:
        address = stack.start_registry('refusing-verify', htpasswd_auth(Path(stack.root)))
    config = tmp_path / 'config'
    config.mkdir()
    wrong = 'not-the-password-Zm9vYmFy'
    (config / 'config.json').write_text(json.dumps({'auths': {
        address: {'auth': base64.b64encode(f'{USER}:{wrong}'.encode()).decode()},
    }}))
    monkeypatch.setenv('DOCKER_CONFIG', str(config))
    bad = f'{address}/direct/app:1@sha256:' + '4' * 64
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {bad}\n')
    try:
        code = verify_main([
            '--docker-host', stack.host, '--timeout', '10', '--source', 'daemon-registry', str(path),
        ])
    finally:
        if login == 'denied':
            registry.close()
    out, err = capsys.readouterr()
    words = 'unauthorized: authentication required' if login == 'wrong' else 'denied'
    assert code == 2, out + err
    assert out == ''
    assert err == (
        f"{path}: error: line 1: cannot verify '{bad}': the registry refused access "
        f'through the Docker daemon at {stack.host}: {words}; log in (docker login '
        f'{address}) as a user that may pull it, and check the name\n'
    )
    assert wrong not in out + err


@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_a_registry_named_denied_that_cannot_be_reached_is_no_refusal(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    """Behind the real daemon, a registry host that does not resolve,
    named ``unauthorized.denied.invalid``, is a registry that could not
    answer (try again later), not one that refused the login: the words of
    the daemon's message that name the host are not read for a refusal
    (they were: 'log in (docker login denied.invalid)')."""
    bad = 'unauthorized.denied.invalid/app:denied'
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {bad}\n')
    code = fix_main(['--docker-host', stack.host, '--timeout', '10', '--source', source, str(path)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert path.read_text() == f'FROM {bad}\n'
    assert 'log in' not in out, out
    assert re.fullmatch(
        rf"{re.escape(str(path))}:1:6: DP001 '{re.escape(bad)}' left unpinned: the registry "
        rf'failed through the Docker daemon at {re.escape(stack.host)}: 500 '
        r'Get "https://unauthorized\.denied\.invalid/v2/": dial tcp: lookup '
        r'unauthorized\.denied\.invalid on \S+: no such host; try again later, or use '
        r'--source local \(the other references were asked all the same\)\n',
        out,
    ), out


@pytest.mark.parametrize('source', ('pull', 'daemon-registry'))
def test_a_registrys_message_reaches_the_terminal_escaped(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    """Behind the real daemon, a registry whose error message holds a
    terminal escape, a line break and bidirectional controls (which showed
    the line in another order) has them printed escaped."""
    hostile = 'gone\u202e1:lmth\u2066 \x1b[2J\u2069'

    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path == '/v2/':
            return 200, {'Content-Type': 'application/json'}, b'{}'
        return 404, {'Content-Type': 'application/json'}, json.dumps(
            {'errors': [{'code': 'MANIFEST_UNKNOWN', 'message': hostile}]},
        ).encode()
    registry = ScriptedRegistry(answer)
    bad = f'{registry.address}/app:1'
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {bad}\n')
    try:
        code = fix_main(['--docker-host', stack.host, '--timeout', '10', '--source', source, str(path)])
    finally:
        registry.close()
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert 'gone\\u202e1:lmth\\u2066 \\x1b[2J\\u2069' in out, out
    assert all(c.isprintable() for c in out.replace('\n', '')), repr(out)


FAST_DIGEST = 'sha256:' + '6' * 64


@pytest.mark.parametrize('fake', [{
    '/version': http('200 OK', VERSION),
    '/images/json': http('200 OK', b'[]'),
    '/distribution/slow.example': None,  # hangs
    'fromImage=slow.example': None,
    '/distribution/fast.example': http('200 OK', json.dumps({
        'Descriptor': {
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'digest': FAST_DIGEST, 'size': 1,
        },
        'Platforms': [{'os': 'linux', 'architecture': 'amd64'}],
    }).encode()),
    'fromImage=fast.example': http('200 OK', json.dumps(
        {'status': f'Digest: {FAST_DIGEST}'},
    ).encode()),
}], indirect=True)
@pytest.mark.parametrize('source', ('daemon-registry', 'pull'))
def test_a_registry_that_hangs_behind_the_daemon_costs_one_timeout(
        fake: FakeDaemon, source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """20 references of a registry that hangs: the first eight calls run
    past --timeout together, the other twelve are not asked (they would
    cost two more timeouts); another registry's reference is still pinned."""
    data = b''.join(b'FROM slow.example/team/app%d:1\n' % i for i in range(20))
    data += b'FROM fast.example/team/app:1\n'
    (tmp_path / 'Dockerfile').write_bytes(data)
    code = fix_main(['--docker-host', f'unix://{fake.path}', '--source', source,
                     '--timeout', '1', str(tmp_path / 'Dockerfile')])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    asked = [p for p in fake.requests if 'slow.example' in p]
    assert len(asked) == 8, asked
    assert (tmp_path / 'Dockerfile').read_bytes() == data.replace(
        b'fast.example/team/app:1', f'fast.example/team/app:1@{FAST_DIGEST}'.encode(),
    )
    *said, pinned = out.splitlines()
    assert pinned.endswith(f'pinned fast.example/team/app:1 -> fast.example/team/app:1@{FAST_DIGEST}')
    assert len(said) == 20, out
    timed_out = [line for line in said if 'within 1 s (--timeout)' in line]
    assert len(timed_out) == 8
    assert all(line.endswith(
        f'left unpinned: no complete answer from the Docker daemon at unix://{fake.path} '
        "within 1 s (--timeout) (slow.example's references after it are not asked in this run)",
    ) for line in timed_out), out
    not_asked = [line for line in said if 'not asked: a call about slow.example' in line]
    assert len(not_asked) == 12
    assert all(line.endswith(
        f'through the Docker daemon at unix://{fake.path} ran past --timeout (1 s) '
        'before it (raise --timeout, or try again later)',
    ) for line in not_asked)


@pytest.mark.parametrize('fake', [{
    '/version': http('200 OK', VERSION),
    '/images/json': http('200 OK', b'[]'),
    '/distribution/docker.io/localhost/': http('200 OK', json.dumps({
        'Descriptor': {
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'digest': FAST_DIGEST, 'size': 1,
        },
        'Platforms': [{'os': 'linux', 'architecture': 'amd64'}],
    }).encode()),
    'fromImage=docker.io%2Flocalhost%2Fhub': http('200 OK', json.dumps(
        {'status': f'Digest: {FAST_DIGEST}'},
    ).encode()),
    '/distribution/localhost/': None,  # the registry localhost hangs
    'fromImage=localhost': None,
}], indirect=True)
@pytest.mark.parametrize('source', ('daemon-registry', 'pull'))
def test_a_docker_hub_repository_named_like_a_registry_is_asked_as_itself(
        fake: FakeDaemon, source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """docker.io/localhost/hub is Docker Hub's: the daemon is asked about
    it by its whole name (``localhost/hub`` names the registry localhost),
    and the registry localhost hanging leaves it asked."""
    data = b'FROM localhost/app:1\nFROM docker.io/localhost/hub:1\n'
    (tmp_path / 'Dockerfile').write_bytes(data)
    code = fix_main(['--docker-host', f'unix://{fake.path}', '--source', source,
                     '--timeout', '1', str(tmp_path / 'Dockerfile')])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert (tmp_path / 'Dockerfile').read_bytes() == data.replace(
        b'hub:1', f'hub:1@{FAST_DIGEST}'.encode(),
    )
    asked = sorted(
        p.split('?')[-1] if source == 'pull' else p
        for p in fake.requests if 'fromImage' in p or '/distribution/' in p
    )
    assert asked == ([
        'tag=1&fromImage=docker.io%2Flocalhost%2Fhub', 'tag=1&fromImage=localhost%2Fapp',
    ] if source == 'pull' else [
        '/v1.41/distribution/docker.io/localhost/hub:1/json',
        '/v1.41/distribution/localhost/app:1/json',
    ])


def pull_progress_forever(conn: socket.socket) -> None:
    """A pull that keeps sending progress: a large image, not a hang."""
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')
    for _ in range(50):
        event = b'{"status":"Downloading","progressDetail":{}}\r\n'
        conn.sendall(b'%x\r\n%s\r\n' % (len(event), event))
        time.sleep(0.1)


@pytest.mark.parametrize('fake', [{
    '/version': http('200 OK', VERSION),
    '/images/json': http('200 OK', b'[]'),
    'fromImage=large.example': pull_progress_forever,
}], indirect=True)
def test_a_pull_that_sends_progress_past_the_timeout_is_no_hang(
        fake: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull past --timeout that sent progress is of a large image: the
    other references of its registry are still pulled, and the advice is
    to raise --timeout."""
    data = b''.join(b'FROM large.example/team/app%d:1\n' % i for i in range(10))
    (tmp_path / 'Dockerfile').write_bytes(data)
    code = fix_main(['--docker-host', f'unix://{fake.path}', '--source', 'pull',
                     '--timeout', '1', str(tmp_path / 'Dockerfile')])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert len([p for p in fake.requests if 'large.example' in p]) == 10
    said = out.splitlines()
    assert len(said) == 10, out
    assert all(line.endswith(
        f'left unpinned: no complete answer from the Docker daemon at unix://{fake.path} '
        'within 1 s (--timeout) (raise --timeout for images this large)',
    ) for line in said), out
    assert (tmp_path / 'Dockerfile').read_bytes() == data


@pytest.mark.parametrize('tls', (False, True))
def test_a_daemon_whose_name_is_never_resolved_is_unreachable_by_the_timeout(
        tls: bool, tmp_path: Path,
) -> None:
    """``DOCKER_HOST=tcp://NAME:2375`` where no nameserver answers: the
    SDK resolved NAME as its client was made, bounded by no socket timeout
    (glibc: 5 s a try, retried), and the run ended 10 s in, past a 2 s
    --timeout.  It ends at the timeout, the daemon unreachable (verify
    --offline-ok forgives it), with or without DOCKER_TLS_VERIFY."""
    environment = {'DOCKER_HOST': 'tcp://hang.test:2375'}
    if tls:
        certificates = tmp_path / 'certificates'
        certificates.mkdir()
        for name in ('ca', 'cert', 'key'):
            (certificates / f'{name}.pem').write_text('')  # never read: no host to talk to
        environment.update(DOCKER_TLS_VERIFY='1', DOCKER_CERT_PATH=str(certificates))
    daemon_error = (
        'cannot use the Docker daemon at tcp://hang.test:2375 (from DOCKER_HOST): timed out: '
        'no complete answer within 2 s (--timeout); start Docker (or podman system service), '
        'or point digestpin at a running daemon with DOCKER_HOST, `docker context use`, or '
        '--docker-host\n'
    )
    outcome = run_resolving_nothing(
        tmp_path, 'FROM example.com/a:1', 'fix', '--timeout', '2', environment=environment,
    )
    assert (outcome['code'], outcome['stdout'], outcome['stderr']) == (
        2, '', f'digestpin-fix: error: {daemon_error}',
    )
    assert outcome['took'] <= 2 + PAST_DEADLINE
    for offline_ok, code, said in ((True, 0, 'warning: pins not verified, offline'), (False, 2, 'error')):
        outcome = run_resolving_nothing(
            tmp_path, f'FROM example.com/a@{DIGEST}', 'verify', '--source', 'daemon-registry',
            '--timeout', '2', *(('--offline-ok',) if offline_ok else ()), environment=environment,
        )
        assert (outcome['code'], outcome['stdout'], outcome['stderr']) == (
            code, '', f'digestpin-verify: {said}: {daemon_error}',
        )
        assert outcome['took'] <= 2 + PAST_DEADLINE


def test_a_daemon_that_drips_its_version_is_unreachable_by_the_timeout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The SDK asks ``/version`` as its client is made, each socket read
    bounded by --timeout but not the answer: a daemon that sends a byte
    of it every 0.3 s kept the run for as long as it dripped."""
    def drip(conn: socket.socket) -> None:
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n')
        for _ in range(20):  # 6 s of it, then the close: a short answer
            conn.sendall(b' ')
            time.sleep(0.3)
    fake = FakeDaemon({'/version': drip})
    try:
        (tmp_path / 'Dockerfile').write_bytes(DOCKERFILE)
        host = f'unix://{fake.path}'
        start = time.monotonic()
        code = main(['--docker-host', host, '--timeout', '1', str(tmp_path / 'Dockerfile')])
        took = time.monotonic() - start
    finally:
        fake.close()
    assert (code, capsys.readouterr().err) == (2, (
        f'digestpin-fix: error: cannot use the Docker daemon at {host} (from --docker-host): '
        f'timed out: no complete answer within 1 s (--timeout); start Docker (or podman system '
        f'service), or point digestpin at a running daemon with DOCKER_HOST, `docker context '
        f'use`, or --docker-host\n'
    ))
    assert took <= 1 + 1


@pytest.mark.parametrize('command, source, rules', (
    ('fix', 'daemon-registry', {'/distribution': None}),
    ('fix', 'pull', {'/images/json': http('200 OK', b'[]'), '/images/create': None}),
    ('verify', 'daemon-registry', {'/distribution': None}),
))
def test_a_signal_while_daemon_calls_hang_ends_the_run_at_once(
        command: str, source: str, rules: dict[str, bytes | None], tmp_path: Path,
) -> None:
    """SIGTERM, ^C, or both at once, while the daemon's calls about three
    references hang (a registry behind it that never answers): the run
    ends at once, in one line.  The calls ran in a ThreadPoolExecutor,
    whose exit waits for every call, and each call waited for its
    --timeout: the run went on until the deadline (60 s) after the
    signal."""
    fake = FakeDaemon({'/version': http('200 OK', VERSION), **rules})
    digest = 'sha256:' + 'a' * 64
    pins = ''.join(
        f'FROM example.com/a{i}:1' + (f'@{digest}' if command == 'verify' else '') + '\n'
        for i in range(3)
    ).encode()
    path = tmp_path / 'Dockerfile'
    path.write_bytes(pins)
    outcomes = []
    ended = {'SIGTERM': (143, 'terminated'), 'SIGINT': (130, 'interrupted')}
    try:
        for sent in (('SIGTERM',), ('SIGINT',), ('SIGTERM', 'SIGINT')):
            asked = len(fake.requests)
            child = subprocess.Popen(
                (sys.executable, '-m', 'digestpin_hooks', command, '--source', source,
                 '--docker-host', f'unix://{fake.path}', '--timeout', '60', str(path)),
                env={**os.environ, 'PYTHONPATH': ROOT}, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )
            end = time.monotonic() + 20
            hung = next(iter(k for k, v in rules.items() if v is None))
            while sum(hung in r for r in fake.requests[asked:]) < 3:
                assert time.monotonic() < end, fake.requests
                time.sleep(0.005)
            for name in sent:
                child.send_signal(getattr(signal, name))
            try:
                out, err = child.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                out, err = child.communicate()
                err = 'still running 10 s after the signal\n'
            code, said = child.returncode, err.splitlines()
            outcomes.append((sent, code, out, said))
    finally:
        fake.close()
    assert [
        (sent, code, out, said) for sent, code, out, said in outcomes
        if (code, said) not in [
            (ended[name][0], [f'digestpin-{command}: {ended[name][1]}']) for name in sent
        ] or out != ''
    ] == []
    assert path.read_bytes() == pins


@pytest.mark.parametrize('source, path', (
    ('pull', '/images/create'), ('daemon-registry', '/distribution'),
))
@pytest.mark.parametrize('status', ('301 Moved Permanently', '302 Found', '307 Temporary Redirect'))
def test_a_daemon_that_redirects_sends_no_credential_elsewhere(
        source: str, path: str, status: str, tmp_path: Path,
) -> None:
    """A tcp:// daemon that answers a call carrying the registry's
    credentials (X-Registry-Auth) with a redirect to another host: the
    SDK followed it and sent them there, header and all (requests drops
    only Authorization on another host).  No redirect is followed: the
    other host is never asked, and the reference says what the daemon
    answered."""
    import threading
    elsewhere: list[bytes] = []
    other = socket.create_server(('127.0.0.1', 0))
    daemon = socket.create_server(('127.0.0.1', 0))
    location = f'http://localhost:{other.getsockname()[1]}/elsewhere'

    def serve_other() -> None:
        while True:
            try:
                conn, _ = other.accept()
            except OSError:
                return
            with conn:
                elsewhere.append(conn.recv(65536))
                conn.sendall(http('200 OK', b'{}'))

    def answer(conn: socket.socket) -> None:
        buffer = b''
        with conn:
            while True:
                while b'\r\n\r\n' not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b'\r\n\r\n')
                asked = head.split(b' ')[1].decode()
                if '/version' in asked:
                    conn.sendall(http('200 OK', VERSION))
                elif '/images/json' in asked:
                    conn.sendall(http('200 OK', b'[]'))
                elif path in asked:
                    conn.sendall(
                        f'HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n'.encode(),
                    )
                else:
                    conn.sendall(http('404 Not Found', b'{}'))

    def serve_daemon() -> None:
        while True:
            try:
                conn, _ = daemon.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()
    threading.Thread(target=serve_other, daemon=True).start()
    threading.Thread(target=serve_daemon, daemon=True).start()
    home = tmp_path / 'home'
    (home / '.docker').mkdir(parents=True)
    (home / '.docker' / 'config.json').write_text(json.dumps(
        {'auths': {'example.com': {'auth': base64.b64encode(b'user:secret').decode()}}},
    ))
    dockerfile = tmp_path / 'Dockerfile'
    dockerfile.write_bytes(b'FROM example.com/team/app:1\n')
    host = f'tcp://127.0.0.1:{daemon.getsockname()[1]}'
    try:
        child = subprocess.run(
            (sys.executable, '-m', 'digestpin_hooks', 'fix', '--source', source,
             '--docker-host', host, '--timeout', '5', str(dockerfile)),
            env={**os.environ, 'PYTHONPATH': ROOT, 'HOME': str(home)},
            capture_output=True, text=True, timeout=60,
        )
    finally:
        other.close()
        daemon.close()
    assert elsewhere == []
    summary = 'summary: 1 finding (DP001 1) in 1 file\n'
    assert (child.returncode, child.stderr, child.stdout.splitlines()[0]) == (1, summary, (
        f"{dockerfile}:1:6: DP001 'example.com/team/app:1' left unpinned: cannot use the "
        f'Docker daemon at {host} (from --docker-host): it answered {status[:3]}, a redirect, '
        f'which is not followed; start Docker (or podman system service), or point digestpin '
        f'at a running daemon with DOCKER_HOST, `docker context use`, or --docker-host (the '
        f'other references were asked all the same)'
    ))
    assert dockerfile.read_bytes() == b'FROM example.com/team/app:1\n'


@pytest.mark.parametrize('path, chunked', (
    ('/version', False), ('/version', True), ('/images/json', False), ('/images/json', True),
))
def test_a_daemon_answer_of_256_mib_is_read_to_64_mib_only(
        path: str, chunked: bool, tmp_path: Path,
) -> None:
    """A daemon whose /version or image list is 256 MiB (of spaces, sent
    as fast as the socket takes them, with a Content-Length or chunked):
    the SDK held each answer whole, whatever its size (a daemon sending
    gigabytes used as much memory as it sent within --timeout).  The run
    reads 64 MiB of it and says so, in one line: the daemon had sent less
    than 64 MiB and its socket's buffers when the client went away."""
    size = 256 * 1024 * 1024
    piece = b' ' * (1024 * 1024)
    sent = [0]

    def huge(conn: socket.socket) -> None:
        encoding = b'Transfer-Encoding: chunked' if chunked else f'Content-Length: {size}'.encode()
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n' + encoding + b'\r\n\r\n')
        for _ in range(size // len(piece)):
            conn.sendall(b'100000\r\n' + piece + b'\r\n' if chunked else piece)
            sent[0] += len(piece)
        if chunked:
            conn.sendall(b'0\r\n\r\n')
    fake = FakeDaemon({'/version': http('200 OK', VERSION), path: huge})
    dockerfile = tmp_path / 'Dockerfile'
    dockerfile.write_bytes(DOCKERFILE)
    host = f'unix://{fake.path}'
    try:
        child = subprocess.run(
            (sys.executable, '-m', 'digestpin_hooks', 'fix', '--source', 'local',
             '--docker-host', host, '--timeout', '60', str(dockerfile)),
            env={**os.environ, 'PYTHONPATH': ROOT}, capture_output=True, text=True, timeout=120,
        )
    finally:
        fake.close()
    assert (child.returncode, child.stdout, child.stderr) == (2, '', (
        f'digestpin-fix: error: cannot use the Docker daemon at {host} (from --docker-host): '
        f'its answer is longer than 64 MiB; start Docker (or podman system service), or point '
        f'digestpin at a running daemon with DOCKER_HOST, `docker context use`, or --docker-host\n'
    ))
    assert sent[0] < 64 * 1024 * 1024 + 8 * len(piece)
    assert dockerfile.read_bytes() == DOCKERFILE
