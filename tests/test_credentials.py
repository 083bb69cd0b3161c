"""Where credentials come from (``resolve/credentials.py``), file by file, without a
registry: Docker's and Podman's files, in Podman's documented order."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Sequence

import pytest

from digestpin_hooks.resolve.credentials import auth_files
from digestpin_hooks.resolve.credentials import credential_for
from digestpin_hooks.resolve.credentials import CredentialError
from tests.registries import auths_entry
from tests.registries import isolated_credentials
from tests.registries import write_helper


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    isolated_credentials(monkeypatch, tmp_path / 'home')
    return tmp_path / 'home'


def _user_and_secret(host: str) -> tuple[str, str]:
    found = credential_for(host, 5)
    assert found is not None
    return found.username, found.secret

def docker_config(home: Path, config: object) -> None:
    path = home / '.docker' / 'config.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))


def test_the_order_of_the_files(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'a.json'))
    monkeypatch.setenv('XDG_RUNTIME_DIR', str(tmp_path / 'run'))
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'docker'))
    assert auth_files() == [
        str(tmp_path / 'a.json'), str(tmp_path / 'run' / 'containers' / 'auth.json'),
        str(home / '.config' / 'containers' / 'auth.json'), str(tmp_path / 'docker' / 'config.json'),
    ]


def test_the_first_file_that_knows_the_host_wins(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    podman = tmp_path / 'podman.json'
    podman.write_text(json.dumps({'auths': {'ghcr.io': auths_entry('podman', 'p1')}}))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(podman))
    docker_config(home, {'auths': {'ghcr.io': auths_entry('docker', 'd1'), 'quay.io': auths_entry('docker', 'd2')}})
    assert _user_and_secret('ghcr.io') == ('podman', 'p1')
    assert _user_and_secret('quay.io') == ('docker', 'd2')
    assert credential_for('gcr.io', 5) is None


@pytest.mark.parametrize('key', ('https://index.docker.io/v1/', 'docker.io', 'index.docker.io', 'registry-1.docker.io'))
def test_docker_hub_goes_by_several_names(home: Path, key: str) -> None:
    docker_config(home, {'auths': {key: auths_entry('hub', 'h')}})
    assert _user_and_secret('docker.io') == ('hub', 'h')


def test_an_entry_without_a_password_and_a_helper_without_one_fall_through(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A credsStore helper that has nothing for the host, and an auths entry
    with only an identity token, give no credential: the next file is read."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    write_helper(bin_dir, 'empty', {})
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    podman = tmp_path / 'podman.json'
    podman.write_text(json.dumps({'credsStore': 'empty', 'auths': {'ghcr.io': {}}}))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(podman))
    docker_config(home, {'auths': {'ghcr.io': {'identitytoken': 't'}}})
    assert credential_for('ghcr.io', 5) is None


@pytest.mark.parametrize('config', (
    {'auths': None},
    {'credHelpers': None, 'auths': None},
    {'auths': {'ghcr.io': None}},
    {'credsStore': None, 'auths': {'ghcr.io': None}},
))
def test_null_is_what_docker_reads_it_as_nothing(home: Path, config: object) -> None:
    """Go's encoding/json reads null as the zero value, without an error:
    ``"auths": null`` is no login, as the docker CLI reads it (it was an
    error that failed every question to the registry)."""
    docker_config(home, config)
    assert credential_for('ghcr.io', 5) is None


@pytest.mark.parametrize('helper', (None, ''))
def test_a_credential_helper_named_empty_means_the_file_itself(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, helper: object,
) -> None:
    """docker/cli's GetCredentialsStore: a credHelpers entry for the host
    that names no helper (null, or "") makes the file the store: its auths
    entry is read, and the credsStore helper is not run (it would answer
    'stored', and fail the test)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    write_helper(bin_dir, 'store', {'ghcr.io': ('stored', 's'), 'quay.io': ('stored', 's')})
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    docker_config(home, {
        'credHelpers': {'ghcr.io': helper}, 'credsStore': 'store',
        'auths': {'ghcr.io': auths_entry('file', 'f')},
    })
    assert _user_and_secret('ghcr.io') == ('file', 'f')
    assert _user_and_secret('quay.io') == ('stored', 's')  # other hosts: the store



@pytest.mark.parametrize(('host', 'helpers', 'expected'), (
    # the exact key names no helper: the file, though a key of another
    # spelling of the host, written first, names one
    ('ghcr.io', {'https://ghcr.io': 'store', 'ghcr.io': ''}, ('file', 'f')),
    ('ghcr.io', {'https://ghcr.io/v1/': 'store', 'ghcr.io': None}, ('file', 'f')),
    # the exact key names one: it is run, though another spelling said none
    ('ghcr.io', {'https://ghcr.io': '', 'ghcr.io': 'store'}, ('stored', 's')),
    # Docker Hub's key is https://index.docker.io/v1/
    ('docker.io', {'docker.io': 'store', 'https://index.docker.io/v1/': ''}, ('file', 'f')),
))
def test_the_credential_helper_of_the_exact_key_decides(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str,
        helpers: dict[str, object], expected: tuple[str, str],
) -> None:
    """docker/cli looks the host up in credHelpers by its exact key (the
    host; Docker Hub's https://index.docker.io/v1/): that entry decides
    whether a helper is run, whichever other spellings of the host come
    first (the first spelling of any kind decided, and ran a helper the
    docker CLI does not run for that host)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    write_helper(bin_dir, 'store', {'ghcr.io': ('stored', 's'), 'https://index.docker.io/v1/': ('stored', 's')})
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    docker_config(home, {
        'credHelpers': helpers,
        'auths': {'ghcr.io': auths_entry('file', 'f'), 'https://index.docker.io/v1/': auths_entry('file', 'f')},
    })
    assert _user_and_secret(host) == expected

def test_a_credential_file_that_is_a_folder(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / 'auth.json').mkdir()
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'auth.json'))
    with pytest.raises(CredentialError) as refused:
        credential_for('ghcr.io', 5)
    # on main: '<path>: <path>'
    assert str(refused.value) == f'{tmp_path / "auth.json"}: is a folder, not a file'


@pytest.mark.parametrize(('config', 'message'), (
    ({'credHelpers': []}, 'credHelpers is not an object'),
    # Go's encoding/json refuses these (the docker CLI then reads the file
    # as empty, with a warning): they were read as no store, no login
    ({'credsStore': 0}, 'credsStore is not a string'),
    ({'credsStore': []}, 'credsStore is not a string'),
    ({'auths': {'ghcr.io': {'auth': 5}}}, 'an auth value is not a string'),
    ({'auths': {'ghcr.io': {'username': 'u', 'password': 5}}}, 'a username or password is not a string'),
    ({'auths': {'ghcr.io': 'x'}}, 'an auths entry is not an object'),
    ({'auths': {'ghcr.io': {'auth': 'bm9jb2xvbg=='}}}, 'not base64 of user:password'),
    ({'credHelpers': {'ghcr.io': 'missing'}}, 'docker-credential-missing is not on PATH'),
))
def test_malformed_files(home: Path, config: object, message: str) -> None:
    docker_config(home, config)
    with pytest.raises(CredentialError, match=message):
        credential_for('ghcr.io', 5)


def test_a_fifo_or_a_huge_credential_file_is_an_error_not_a_hang(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    fifo = tmp_path / 'auth.fifo'
    os.mkfifo(fifo)
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(fifo))
    with pytest.raises(CredentialError, match='not a regular file'):
        credential_for('ghcr.io', 5)
    huge = tmp_path / 'huge.json'
    with open(huge, 'wb') as f:
        f.truncate(200 * 1024 * 1024)  # sparse: no disk used
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(huge))
    with pytest.raises(CredentialError, match='larger than the limit'):
        credential_for('ghcr.io', 5)


def test_a_symlinked_credential_file_is_read_as_docker_reads_it(
        home: Path, tmp_path: Path,
) -> None:
    """The user's own config may be a link (dotfile managers): it is
    followed, as Docker follows it; it is never a file of a scanned tree."""
    target = tmp_path / 'dotfiles' / 'config.json'
    target.parent.mkdir()
    target.write_text(json.dumps({'auths': {'ghcr.io': auths_entry('u', 'p')}}))
    (home / '.docker').mkdir(parents=True)
    (home / '.docker' / 'config.json').symlink_to(target)
    assert _user_and_secret('ghcr.io') == ('u', 'p')


@pytest.mark.parametrize('answer', (
    '{"Username": 7, "Secret": "s"}', '{"Username": "u"}', '["u", "s"]',
    '{"Username": "u\\u0007\\u001b[2J", "Secret": "s"}',
))
def test_a_helper_answer_of_the_wrong_shape(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, answer: str,
) -> None:
    import stat
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    helper = bin_dir / 'docker-credential-odd'
    helper.write_text(f"#!/bin/sh\ncat >/dev/null\nprintf '%s' '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    docker_config(home, {'credsStore': 'odd'})
    if 'u0007' in answer:
        # control characters in a username are sent, never printed
        assert _user_and_secret('ghcr.io')[0] == 'u\x07\x1b[2J'
        return
    with pytest.raises(CredentialError, match='docker-credential-odd'):
        credential_for('ghcr.io', 5)


def test_a_helper_answer_written_as_a_wait_times_out_is_read(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """The helper writes its answer and exits just after a wait for its
    output timed out, before the run looks whether it has exited (a busy
    machine): the answer is in the pipe and is read (on main: 'did not
    answer JSON', its answer never read).  The first wait is made to time
    out only once the helper has answered and exited."""
    import select as real_select
    from types import SimpleNamespace

    from digestpin_hooks.resolve import credentials
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    write_helper(bin_dir, 'store', {'ghcr.io': ('u', 'p')})
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    docker_config(home, {'credsStore': 'store'})
    waits: list[float] = []

    def select(
            read: Sequence[int], write: Sequence[int], error: Sequence[int], timeout: float,
    ) -> tuple[list[int], list[int], list[int]]:
        waits.append(timeout)
        if len(waits) == 1:
            real_select.select(read, (), (), 5)  # its answer has come
            time.sleep(0.5)  # and it has exited
            return [], [], []
        ready = real_select.select(read, write, error, timeout)
        return list(ready[0]), list(ready[1]), list(ready[2])
    monkeypatch.setattr(credentials, 'select', SimpleNamespace(select=select))
    assert _user_and_secret('ghcr.io') == ('u', 'p')


def _checkout_with_credential_files(folder: Path) -> None:
    """A scanned checkout holding the credential files a relative name
    would find: ``~/.docker/config.json``, ``run/containers/auth.json``."""
    for relative in ('~/.docker/config.json', '~/.config/containers/auth.json',
                     'run/containers/auth.json'):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({'auths': {'ghcr.io': auths_entry('checkout', 'planted')}}))


def test_no_home_reads_no_credential_file_of_the_checkout(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """HOME unset and a user id with no passwd entry (a container run as
    an arbitrary user): ``os.path.expanduser('~')`` gives ``~`` back, and
    ``~/.docker/config.json`` named a file of the current folder, the
    checkout (on main: its planted login was used, and a ``credsStore``
    there would run the helper it names).  No home: no home's files."""
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)
    checkout = tmp_path / 'checkout'
    _checkout_with_credential_files(checkout)
    monkeypatch.chdir(checkout)
    monkeypatch.delenv('HOME')
    monkeypatch.setattr(pwd, 'getpwuid', no_entry)
    assert auth_files() == []
    assert credential_for('ghcr.io', 5) is None


def test_a_relative_xdg_runtime_dir_is_not_read(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """The XDG Base Directory specification: a relative path in
    ``XDG_RUNTIME_DIR`` is invalid and ignored (on main: read against the
    current folder, the checkout)."""
    checkout = tmp_path / 'checkout'
    _checkout_with_credential_files(checkout)
    monkeypatch.chdir(checkout)
    monkeypatch.setenv('XDG_RUNTIME_DIR', 'run')
    assert auth_files() == [
        str(home / '.config' / 'containers' / 'auth.json'), str(home / '.docker' / 'config.json'),
    ]
    assert credential_for('ghcr.io', 5) is None


def test_what_a_helper_runs_is_never_found_in_the_scanned_folder(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """A helper is often a script that runs another program by its name
    (``docker-credential-gcloud`` runs ``gcloud``).  Started in the folder
    being scanned, with the user's ``PATH`` as it is, a relative or empty
    entry there (``.``, ``PATH=/usr/bin:``, ``bin``) found that program in
    the stranger's checkout (on main: the checkout's ``./gcloud`` ran).
    The helper runs in ``/``, with only the absolute entries of ``PATH``,
    the ones it was itself found in."""
    import stat
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    helper = bin_dir / 'docker-credential-wrapper'
    helper.write_text(
        '#!/bin/sh\n'
        'cat >/dev/null\n'
        f'pwd > {tmp_path / "cwd"}\n'
        f'printf "%s" "$PATH" > {tmp_path / "path"}\n'
        'tool 2>/dev/null\n'
        'printf \'{"Username": "u", "Secret": "s"}\'\n',
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    checkout = tmp_path / 'checkout'
    (checkout / 'bin').mkdir(parents=True)
    for folder in (checkout, checkout / 'bin'):
        tool = folder / 'tool'
        tool.write_text(f'#!/bin/sh\ntouch {tmp_path / "ran"}\n')
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.chdir(checkout)
    monkeypatch.setenv('PATH', f'.:bin::{bin_dir}:/usr/bin:/bin:')
    docker_config(home, {'credsStore': 'wrapper'})
    assert _user_and_secret('ghcr.io') == ('u', 's')
    assert not (tmp_path / 'ran').exists()
    assert (tmp_path / 'cwd').read_text().strip() == '/'
    assert (tmp_path / 'path').read_text() == f'{bin_dir}:/usr/bin:/bin'


def test_an_absolute_path_entry_is_the_users_own_wherever_it_points(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """An absolute ``PATH`` entry inside the folder being scanned
    (``$PWD/bin``, as CI jobs add a repository's tools) is the user's
    statement, as Docker's ``exec.LookPath`` takes it (asked: ``docker
    pull`` runs the helper found there, and not through ``bin``): the
    helper found there runs, as a symlink there to the checkout does.  A
    folder of the checkout put on ``PATH`` gives it every program found
    there (``git``, ``python3``), which no refusal of one helper would take
    back; only a relative entry, which names the checkout unasked, is
    passed over."""
    import shutil
    import stat
    import subprocess

    from tests.stack import CLIENTS
    from tests.stack import unavailable
    checkout = tmp_path / 'checkout'
    (checkout / 'bin').mkdir(parents=True)
    (tmp_path / 'linked').mkdir()
    for folder, name in ((checkout / 'bin', 'inside'), (checkout, 'linked')):
        program = folder / f'docker-credential-{name}'
        program.write_text(
            f'#!/bin/sh\ncat >/dev/null\ntouch {tmp_path / "ran"}\n'
            f'printf \'{{"Username": "{name}", "Secret": "s"}}\'\n',
        )
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
    (tmp_path / 'linked' / 'docker-credential-linked').symlink_to(checkout / 'docker-credential-linked')
    monkeypatch.chdir(checkout)
    docker_config(home, {'credsStore': 'inside'})
    client = next((shutil.which(c) for c in CLIENTS if shutil.which(c)), None)
    if client is None:
        unavailable('no docker client is installed')
    assert client is not None
    for path, runs in ((f'{checkout / "bin"}:/usr/bin:/bin', True), ('bin:/usr/bin:/bin', False)):
        subprocess.run(
            (client, 'pull', 'ghcr.io/team/app:1'), capture_output=True, timeout=10,
            env={'PATH': path, 'HOME': str(home), 'DOCKER_HOST': f'unix://{tmp_path}/none.sock'},
        )
        assert (tmp_path / 'ran').exists() is runs, path
        (tmp_path / 'ran').unlink(missing_ok=True)
    monkeypatch.setenv('PATH', f'{checkout / "bin"}:{tmp_path / "linked"}:/usr/bin:/bin')
    assert _user_and_secret('ghcr.io') == ('inside', 's')
    docker_config(home, {'credsStore': 'linked'})
    assert _user_and_secret('ghcr.io') == ('linked', 's')
    monkeypatch.setenv('PATH', 'bin:/usr/bin:/bin')
    docker_config(home, {'credsStore': 'inside'})
    with pytest.raises(CredentialError, match='not on PATH'):
        credential_for('ghcr.io', 5)


def test_a_login_for_a_namespace_is_for_its_repositories_only(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """containers-auth.json(5): ``host/team/app``, then ``host/team``, then
    ``host``, file by file; a key with a scheme is the whole registry's
    (its path an API version); ``team`` covers ``team/x``, not ``team2/x``.
    A later file is read only when an earlier one has no login for the
    whole registry."""
    podman = tmp_path / 'auth.json'
    podman.write_text(json.dumps({'auths': {
        'reg.example/team': auths_entry('team', 't'),
        'reg.example/team/app': auths_entry('app', 'a'),
        'other.example': auths_entry('other', 'o'),
    }}))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(podman))
    docker_config(home, {'auths': {
        'https://reg.example/v1/': auths_entry('whole', 'w'),
        'reg.example/team2': auths_entry('team2', 't2'),
    }})

    def user(host: str, repository: str) -> str | None:
        found = credential_for(host, 5, repository)
        return None if found is None else found.username

    assert [user('reg.example', repository) for repository in (
        'team/app', 'team/app/sub', 'team/other', 'team', 'team2/x', 'teams/x', '',
    )] == ['app', 'app', 'team', 'team', 'team2', 'whole', 'whole']
    assert user('other.example', 'team/app') == 'other'
    # the first file has the whole registry's: Docker's team2 key is not read
    podman.write_text(json.dumps({'auths': {'reg.example': auths_entry('first', 'f')}}))
    assert [user('reg.example', repository) for repository in ('team/app', 'team2/x')] == [
        'first', 'first',
    ]


def test_a_helper_runs_only_for_a_lookup_that_reaches_it(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Podman's file holds ``reg.example/team``; Docker's, read after it,
    a ``credsStore``.  The team's repositories take the first file's
    login and the store is not run for them (a helper may pop up a
    keychain prompt, or take seconds); another repository asks it (on
    main every lookup of the host ran it)."""
    podman = tmp_path / 'auth.json'
    podman.write_text(json.dumps({'auths': {'reg.example/team': auths_entry('team', 't')}}))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(podman))
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    runs = tmp_path / 'runs'
    program = write_helper(bin_dir, 'store', {'reg.example': ('stored', 's')})
    program.write_text(program.read_text().replace(
        'import json, sys\n', f'import json, sys\nopen({str(runs)!r}, "a").write("run\\n")\n', 1,
    ))
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    docker_config(home, {'credsStore': 'store'})
    found = credential_for('reg.example', 5, 'team/app')
    assert (found and found.username, runs.exists()) == ('team', False)
    found = credential_for('reg.example', 5, 'other/app')
    assert (found and found.username, runs.read_text()) == ('stored', 'run\n')


def test_a_lookup_among_many_namespace_keys_costs_linear_time(
        home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """An auth file of 15,000 namespace keys for one registry (near the
    1 MiB a credential file may hold) costs at most 15 times what 1,500
    cost to read and look a repository up in (the keys sorted most
    specific first, each looked at once)."""
    from tests.timing import untraced

    def cpu(keys: int) -> float:
        path = tmp_path / f'{keys}.json'
        path.write_text(json.dumps({'auths': {
            f'r.io/t{k}': auths_entry(f'u{k}', 's') for k in range(keys)
        }}))
        monkeypatch.setenv('REGISTRY_AUTH_FILE', str(path))
        best = float('inf')
        for _ in range(3):
            start = time.process_time()
            found = credential_for('r.io', 5, f't{keys - 1}/app')
            best = min(best, time.process_time() - start)
        assert found is not None and found.username == f'u{keys - 1}'
        return best

    with untraced():
        small, large = cpu(1_500), cpu(15_000)
    ratio = large / small
    print(f'[growth] namespace keys, 15,000 / 1,500 = {ratio:.1f}')
    assert ratio <= 15
