"""Logins for one namespace of a registry (``host/team`` keys of Podman's
``auth.json``, containers-auth.json(5)), against a real registry with
htpasswd auth, with skopeo (containers/image, whose lookup Podman's is) as
the oracle of which login goes where."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Query
from tests.registries import auths_entry
from tests.registries import EMPTY_INDEX_DIGEST
from tests.registries import htpasswd_auth
from tests.registries import isolated_network
from tests.registries import PASSWORD
from tests.registries import ScriptedRegistry
from tests.registries import serve_empty_index
from tests.registries import USER
from tests.stack import Stack
from tests.stack import unavailable


def _skopeo() -> str:
    """skopeo, the oracle (unavailable when it is not installed)."""
    skopeo = shutil.which('skopeo')
    if skopeo is None:
        unavailable('skopeo is not installed')
    assert skopeo is not None
    return skopeo


def _skopeo_reads(skopeo: str, image: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """skopeo's ``inspect --raw`` of ``image`` (plain HTTP allowed), run
    with ``args`` and only PATH and ``env`` in its environment."""
    return subprocess.run(
        [skopeo, 'inspect', '--raw', '--tls-verify=false', *args, f'docker://{image}'],
        capture_output=True, text=True, timeout=60,
        env={'PATH': os.environ.get('PATH', os.defpath), **env},
    )


def _wanting_the_login() -> ScriptedRegistry:
    """A registry that serves an empty index to USER's login, and asks
    anyone else for one."""
    want = 'Basic ' + auths_entry(USER, PASSWORD)['auth']
    return ScriptedRegistry(lambda r: serve_empty_index(r) if r.headers.get('authorization') == want else (
        401, {'WWW-Authenticate': 'Basic realm="test"'}, b''))


def test_a_login_for_a_namespace_goes_to_its_repositories_only(
        stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """An ``auth.json`` with a wrong login for the whole registry, then the
    right one for ``host/nslogin``: skopeo (asked below) sends the right
    one for ``nslogin/app`` and is refused ``nsother/app``.  fix pins the
    one and says the registry refused the login for the other.  On main
    every repository got the first key of the host in the file, the
    whole registry's: both were refused (and a login given for one team
    went to every other team's images)."""
    skopeo = _skopeo()
    address = stack.start_registry('namespaced-login', htpasswd_auth(Path(stack.root)))
    digests = {
        repository: stack.push(f'{stack.registry}/{repository}:1', f'namespaced login {repository}')
        for repository in ('nslogin/app', 'nsother/app')
    }
    wrong = 'not-the-password-Zm9vYmFy'
    auth = tmp_path / 'auth.json'
    auth.write_text(json.dumps({'auths': {
        address: auths_entry(USER, wrong),
        f'{address}/nslogin': auths_entry(USER, PASSWORD),
    }}))
    for repository, pulled in (('nslogin/app', True), ('nsother/app', False)):
        answer = _skopeo_reads(
            skopeo, f'{address}/{repository}:1', '--authfile', str(auth), HOME=str(tmp_path),
        )
        assert (answer.returncode == 0, repository) == (pulled, repository), answer.stderr
    isolated_network(monkeypatch, tmp_path / 'home')
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(auth))
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {address}/nslogin/app:1\nFROM {address}/nsother/app:1\n')
    code = fix_main(['--source', 'registry', '--timeout', '20', str(path)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert path.read_text() == (
        f'FROM {address}/nslogin/app:1@{digests["nslogin/app"]}\nFROM {address}/nsother/app:1\n'
    )
    assert f'{address} refused the credentials from {auth} for {address}/nsother/app (401)' in out
    assert wrong not in out + err and PASSWORD not in out + err


def test_a_lookup_reads_only_what_it_reaches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Podman's ``auth.json`` holds ``host/team`` and a broken
    ``host/other``; Docker's ``config.json`` after it names a helper for
    the host that is not installed.  skopeo (asked below) sends the team's
    login for ``team/app`` and reads nothing more; it fails ``other/app``
    on its broken entry and ``stranger/app`` on the missing helper.  On
    main every lookup of the host read every key and every file: the
    broken entry of another team, or the helper of a later file, failed
    ``team/app``, whose login the first file held."""
    skopeo = _skopeo()
    registry = _wanting_the_login()
    try:
        address = registry.address
        home, runtime = tmp_path / 'home', tmp_path / 'run'
        (runtime / 'containers').mkdir(parents=True)
        (runtime / 'containers' / 'auth.json').write_text(json.dumps({'auths': {
            f'{address}/other': {'auth': '!!not base64'},
            f'{address}/team': auths_entry(USER, PASSWORD),
        }}))
        (home / '.docker').mkdir(parents=True)
        (home / '.docker' / 'config.json').write_text(json.dumps({
            'credHelpers': {address: 'absent-helper'},
        }))
        for repository, pulled in (('team/app', True), ('other/app', False), ('stranger/app', False)):
            answer = _skopeo_reads(
                skopeo, f'{address}/{repository}:1', HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
            )
            assert (answer.returncode == 0, repository) == (pulled, repository), answer.stderr
        isolated_network(monkeypatch, home)
        monkeypatch.setenv('XDG_RUNTIME_DIR', str(runtime))
        queries = [Query(address, repository, '1') for repository in ('team/app', 'other/app', 'stranger/app')]
        answers = ask_all(queries, 10)
        assert [answers[query] for query in queries] == [
            Manifest(EMPTY_INDEX_DIGEST, True, ()),
            Failed(f'credentials for {address}: {runtime}/containers/auth.json: '
                   f'an auth value is not base64 of user:password'),
            Failed(f'credentials for {address}: the credential helper '
                   f'docker-credential-absent-helper is not on PATH'),
        ]
    finally:
        registry.close()


def test_a_helper_named_for_a_namespace_is_not_the_registrys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``credHelpers`` keys name hosts only (Docker looks the host up by its
    exact key; containers-auth.json(5): namespaces are for ``auths``): a
    ``host/team`` key there names no helper of the host, and the host's
    ``auths`` login is sent (skopeo, asked below, does so).  On main it was
    taken for another spelling of the host: its helper ran for every
    repository of the registry, and its answer, the whole registry's
    login, went to all of them."""
    skopeo = _skopeo()
    registry = _wanting_the_login()
    try:
        address = registry.address
        home = tmp_path / 'home'
        (home / '.docker').mkdir(parents=True)
        (home / '.docker' / 'config.json').write_text(json.dumps({
            'credHelpers': {f'{address}/team': 'absent-helper'},
            'auths': {address: auths_entry(USER, PASSWORD)},
        }))
        answer = _skopeo_reads(skopeo, f'{address}/team/app:1', HOME=str(home))
        assert answer.returncode == 0, answer.stderr
        isolated_network(monkeypatch, home)
        queries = [Query(address, repository, '1') for repository in ('team/app', 'other/app')]
        answers = ask_all(queries, 10)
        assert [answers[query] for query in queries] == [Manifest(EMPTY_INDEX_DIGEST, True, ())] * 2
    finally:
        registry.close()
