"""digestpin-update and digestpin-verify against a real daemon and registry."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from digestpin_hooks import fix
from digestpin_hooks import update
from digestpin_hooks import verify
from tests.stack import manifest_digest
from tests.stack import push_index
from tests.stack import Stack


def run_update(stack: Stack, *args: str) -> int:
    return update.main(['--docker-host', stack.host, *args])


def run_verify(stack: Stack, *args: str) -> int:
    return verify.main(['--docker-host', stack.host, *args])


@pytest.fixture(params=('registry', 'daemon-registry'))
def source(request: pytest.FixtureRequest) -> str:
    """verify's two ways to the registry: itself, and through the daemon."""
    return str(request.param)


@pytest.mark.parametrize('source', ('pull', 'registry'))
def test_a_moved_tag_is_stale_then_updated(
        stack: Stack, tmp_path: Path, source: str,
        capsys: pytest.CaptureFixture[str],
) -> None:
    name = f'{stack.registry}/moving/{source}:1'
    old = stack.push(name, f'first {source}')
    path = tmp_path / 'Dockerfile'
    path.write_bytes(f'ARG BASE={name}@{old}\r\nFROM $BASE\r\n'.encode())
    assert run_verify(stack, str(path)) == 0
    assert capsys.readouterr().out == ''

    new = stack.push(name, f'second {source}')
    assert new != old
    assert run_verify(stack, str(path)) == 0  # DP006 is a warning
    assert capsys.readouterr().out == (
        f"{path}:1:10: DP006 '{name}@{old}' is stale: {name} now resolves "
        f'to {new}; check it and run digestpin-update\n'
    )
    assert run_verify(stack, '--strict', str(path)) == 1
    capsys.readouterr()

    assert run_update(stack, '--source', source, str(path)) == 1
    assert path.read_bytes() == f'ARG BASE={name}@{new}\r\nFROM $BASE\r\n'.encode()
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ['FILE', 'LINE', 'IMAGE', 'OLD', 'NEW']
    assert out[1].split() == [str(path), '1', name, old[:19], new[:19]]

    assert run_verify(stack, str(path)) == 0
    assert capsys.readouterr().out == ''
    assert run_update(stack, '--source', source, str(path)) == 0
    assert capsys.readouterr().out == 'every pin that follows a tag is current\n'


def test_update_local_dry_run_and_json(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    name = f'{stack.registry}/moving/local:1'
    old = stack.push(name, 'local one')
    new = stack.push(name, 'local two')  # the local tag follows the push
    path = tmp_path / 'Dockerfile'
    data = f'# syntax={name}@{old}\nFROM {stack.registry}/moving/local@{old}\n'.encode()
    path.write_bytes(data)
    assert run_update(stack, '--source', 'local', '--dry-run', '--format', 'json', str(path)) == 1
    assert path.read_bytes() == data
    out, diff = capsys.readouterr()
    # stdout is exactly one JSON document; the diff goes to stderr
    assert diff == (
        f'--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n'
        f'-# syntax={name}@{old}\n+# syntax={name}@{new}\n'
        f' FROM {stack.registry}/moving/local@{old}\n'
    )
    assert json.loads(out) == {
        'version': 1, 'findings': [], 'errors': [],
        'updates': [{'path': str(path), 'line': 1, 'image': name, 'old': old, 'new': new}],
        'notes': [{
            'path': str(path), 'line': 2, 'column': 6,
            'message': (
                f"'{stack.registry}/moving/local@{old}' is pinned by "
                'digest alone: there is no tag to follow, left as it is'
            ),
        }],
        'refused': [],
    }


@pytest.fixture(scope='module')
def multi(stack: Stack) -> dict[str, str]:
    """A two-platform index x/multi:1 over x/multi:amd64 and x/multi:arm64."""
    repository = 'x/multi'
    digests = {}
    for platform in ('linux/amd64', 'linux/arm64'):
        tag = f'{stack.registry}/{repository}:{platform.split("/")[1]}'
        stack.build(tag, f'content for {platform}', platform=platform)
        stack.docker('push', '-q', tag)
        digests[platform] = manifest_digest(stack, repository, platform.split('/')[1])
    digests['index'] = push_index(stack, repository, '1', ['amd64', 'arm64'])
    assert manifest_digest(stack, repository, '1') == digests['index']
    return digests


def test_pin_to_the_index_passes(
        stack: Stack, multi: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_text(
        f'FROM --platform=linux/arm64 {stack.registry}/x/multi:1@{multi["index"]}\n',
    )
    assert run_verify(stack, '--source', source, str(path)) == 0
    assert capsys.readouterr().out == ''


def test_pin_to_one_platform_is_dp008(
        stack: Stack, multi: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    image = f'{stack.registry}/x/multi:1@{multi["linux/arm64"]}'
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {image}\n')
    assert run_verify(stack, '--source', source, '--format', 'json', str(path)) == 1
    (finding,) = json.loads(capsys.readouterr().out)['findings']
    assert finding['code'] == 'DP008'
    assert finding['message'] == (
        f"'{image}' pins the linux/arm64 manifest only, while "
        f'{stack.registry}/x/multi:1 is a multi-platform index: builds on '
        f'other platforms get the wrong architecture; pin the index '
        f'{multi["index"]} instead'
    )


def test_platform_the_index_lacks_is_dp009(
        stack: Stack, multi: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    image = f'{stack.registry}/x/multi:1@{multi["index"]}'
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM --platform=linux/s390x {image} AS s\nFROM --platform=$BUILDPLATFORM {image}\n')
    assert run_verify(stack, '--source', source, str(path)) == 1
    assert capsys.readouterr().out == (
        f"{path}:1:29: DP009 '{image}' provides linux/amd64, linux/arm64, "
        f'not --platform=linux/s390x\n'
    )


def test_unknown_digest_is_dp007(
        stack: Stack, multi: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], source: str,
) -> None:
    missing = 'sha256:' + 'e' * 64
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {stack.registry}/x/multi@{missing}\n')
    mtime = path.stat().st_mtime_ns
    assert run_verify(stack, '--source', source, str(path)) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        f"{path}:1:6: DP007 '{stack.registry}/x/multi@{missing}': the digest "
        f'{missing} does not exist in {stack.registry}/x/multi (',
    )
    assert path.stat().st_mtime_ns == mtime  # verify never edits


def test_verify_local_source(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    name = f'{stack.registry}/moving/verify-local:1'
    old = stack.push(name, 'a')
    new = stack.push(name, 'b')
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {name}@{old}\n')
    assert run_verify(stack, '--source', 'local', '--strict', str(path)) == 1
    assert f'now resolves to {new}' in capsys.readouterr().out


def test_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_text('FROM a:1@sha256:' + 'f' * 64 + '\n')
    host = f'unix://{tmp_path}/none.sock'
    assert verify.main(['--source', 'daemon-registry', '--docker-host', host, str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'digestpin-verify: error: cannot use the Docker daemon at {host}')
    assert verify.main(['--source', 'daemon-registry', '--docker-host', host, '--offline-ok', str(path)]) == 0
    assert capsys.readouterr().err.startswith(
        'digestpin-verify: warning: pins not verified, offline: cannot use the Docker daemon',
    )


def test_image_with_two_digests_of_its_repository_is_not_guessed(
        stack: Stack, multi: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
) -> None:
    """Pulling the index gives the local amd64 image a second RepoDigest."""
    from digestpin_hooks.fix import main as fix_main
    stack.docker('pull', '-q', f'{stack.registry}/x/multi:1')
    digests = stack.repo_digests(f'{stack.registry}/x/multi:amd64')
    assert len({d.partition('@')[2] for d in digests}) == 2
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM {stack.registry}/x/multi:amd64\nFROM {stack.registry}/x/multi:1\n')
    assert fix_main(['--docker-host', stack.host, str(path)]) == 1
    out = capsys.readouterr().out
    assert 'the local image records several digests for this repository' in out
    assert path.read_text().splitlines()[0] == f'FROM {stack.registry}/x/multi:amd64'
    # the pulled tag, asked of the registry, is not ambiguous: its index
    assert fix_main(['--docker-host', stack.host, '--source', 'registry', str(path)]) == 1
    assert path.read_text().splitlines() == [
        f'FROM {stack.registry}/x/multi:amd64@{multi["linux/amd64"]}',
        f'FROM {stack.registry}/x/multi:1@{multi["index"]}',
    ]


def test_dp007_is_repaired_by_update_not_fix_and_verify_counts_its_pins(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """DP007's advice is what works: fix leaves a pinned reference alone,
    update pins it again from its tag; verify says how many pins it
    checked, also when all is well."""
    name = f'{stack.registry}/repair/dp007:1'
    digest = stack.push(name, 'dp007')
    missing = 'sha256:' + 'd' * 64
    broken = tmp_path / 'Dockerfile'
    broken.write_text(f'FROM {name}@{missing}\n')
    good = tmp_path / 'compose.yaml'
    good.write_text(f'services:\n  web:\n    image: {name}@{digest}\n')
    assert run_verify(stack, str(broken), str(good)) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{broken}:1:6: DP007 '{name}@{missing}': the digest {missing} does not exist in ")
    assert out.endswith('; pin it again with digestpin-update (from its tag) or by hand\n')
    assert err == 'summary: 1 finding (DP007 1) in 1 file; 2 pins verified in 2 files\n'

    assert fix.main(['--docker-host', stack.host, '--source', 'registry', str(broken)]) == 0
    assert broken.read_text() == f'FROM {name}@{missing}\n'
    capsys.readouterr()
    assert run_update(stack, '--source', 'registry', str(broken)) == 1
    assert broken.read_text() == f'FROM {name}@{digest}\n'
    capsys.readouterr()

    assert run_verify(stack, str(broken), str(good)) == 0
    assert capsys.readouterr() == ('', 'summary: 2 pins verified in 2 files\n')
    assert run_verify(stack, '--format', 'json', str(good)) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)['verified'] is True
    assert err == ''
