"""verify over answers of our own: no Docker, every code and path.

The daemon and registry runs are in test_docker_update_verify; these give
verify_files an asker that answers as a registry would.
"""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import pytest

from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import Reference
from digestpin_hooks.resolve.answers import DigestKey
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.verify import main as verify_main
from digestpin_hooks.verify import verify_files

from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from digestpin_hooks.resolve.answers import Answer
    from digestpin_hooks.resolve.answers import Key

OLD = 'sha256:' + '1' * 64
NEW = 'sha256:' + '2' * 64
CHILD = 'sha256:' + '3' * 64
INDEX = 'application/vnd.oci.image.index.v1+json'


def typed(answers: Mapping[str, Manifest | str | None]) -> dict[Key, Answer]:
    """``a@sha256:…`` and ``a:1`` -> the typed keys a source answers at; a
    Manifest is Found, a str is Missing (why), None says nothing."""
    said: dict[Key, Answer] = {}
    for text, answer in answers.items():
        if answer is None:
            continue
        reference = parse_reference(text)
        key: Key = (
            DigestKey(reference.normalized_name, reference.digest) if reference.digest
            else TagKey(reference.normalized_name, reference.normalized_tag)
        )
        said[key] = Found(answer.digest, answer) if isinstance(answer, Manifest) else Missing(answer)
    return said


def asker(answers: Mapping[str, Manifest | str | None]):  # type: ignore[no-untyped-def]
    def ask(pins: Sequence[Reference], platformed: object) -> Mapping[Key, Answer]:
        return typed(answers)
    return ask


def verify(tmp_path: Path, text: str, answers: Mapping[str, Manifest | str | None], **kwargs: object) -> list[tuple[int, str, str]]:
    path = tmp_path / 'Dockerfile'
    path.write_text(text)
    findings, errors = verify_files([str(path)], asker(answers), **kwargs)  # type: ignore[arg-type]
    assert errors == []
    return [(f.line, f.code, f.severity) for f in findings]


def test_current_pin_is_clean(tmp_path: Path) -> None:
    answers = {f'a@{OLD}': Manifest(OLD, True, ()), 'a:1': Manifest(OLD, True, ())}
    assert verify(tmp_path, f'FROM a:1@{OLD}\n', answers) == []


def test_stale_pin_is_dp006_a_warning(tmp_path: Path) -> None:
    answers = {f'a@{OLD}': Manifest(OLD, True, ()), 'a:1': Manifest(NEW, True, ())}
    assert verify(tmp_path, f'FROM a:1@{OLD}\n', answers) == [(1, 'DP006', 'warning')]
    assert verify(tmp_path, f'FROM a:1@{OLD}\n', answers, strict=True) == [(1, 'DP006', 'error')]
    assert verify(tmp_path, f'FROM a:1@{OLD}\n', answers, ignore=['DP006']) == []


def test_unknown_digest_is_dp007(tmp_path: Path) -> None:
    answers = {f'a@{OLD}': 'manifest unknown', 'a:1': Manifest(NEW, True, ())}
    assert verify(tmp_path, f'FROM a:1@{OLD}\n', answers) == [(1, 'DP007', 'error')]


def test_one_platform_of_an_index_is_dp008(tmp_path: Path) -> None:
    answers = {f'a@{CHILD}': Manifest(CHILD, False, ('linux/amd64',)), 'a:1': Manifest(NEW, True, ())}
    assert verify(tmp_path, f'FROM a:1@{CHILD}\n', answers) == [(1, 'DP008', 'error')]


def test_a_platform_the_image_lacks_is_dp009(tmp_path: Path) -> None:
    answers = {
        f'a@{OLD}': Manifest(OLD, True, ('linux/amd64', 'linux/arm64')),
        'a:1': Manifest(OLD, True, ()),
    }
    text = f'FROM --platform=linux/s390x a:1@{OLD}\nFROM --platform=linux/arm64 a:1@{OLD}\n'
    assert verify(tmp_path, text, answers) == [(1, 'DP009', 'error')]


def test_a_pragma_waives_it(tmp_path: Path) -> None:
    answers = {f'a@{OLD}': Manifest(OLD, True, ()), 'a:1': Manifest(NEW, True, ())}
    assert verify(tmp_path, f'# digestpin: ignore=DP006\nFROM a:1@{OLD}\n', answers) == []


def test_a_daemon_failure_keeps_the_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / 'Dockerfile').write_text(f'FROM a:1@{OLD}\n')
    (tmp_path / 'bad.Dockerfile').write_bytes(b'FROM a:1\0\n')

    def fails(pins: Sequence[Reference], platformed: object) -> Mapping[Key, Answer]:
        raise SourceError('no daemon', unreachable=True)
    with pytest.raises(SourceError) as failed:
        verify_files([str(tmp_path / 'Dockerfile'), str(tmp_path / 'bad.Dockerfile')], fails)
    assert failed.value.unreachable
    assert [e.path for e in failed.value.file_errors] == [str(tmp_path / 'bad.Dockerfile')]


def test_no_pin_asks_nothing(tmp_path: Path) -> None:
    def never(pins: Sequence[Reference], platformed: object) -> Mapping[Key, Answer]:
        raise AssertionError('asked')
    (tmp_path / 'Dockerfile').write_text('FROM a:1\n')
    assert verify_files([str(tmp_path / 'Dockerfile')], never) == ([], [])


def test_offline_json_says_nothing_was_verified(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from digestpin_hooks.verify import main
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM a:1@{OLD}\n')
    code = main(['--offline-ok', '--source', 'daemon-registry', '--format', 'json', '--docker-host', f'unix://{tmp_path}/none.sock', str(path)])
    out, err = capsys.readouterr()
    assert code == 0
    document = json.loads(out)
    assert document['verified'] is False
    assert 'cannot use the Docker daemon' in document['not_verified_because']
    assert err.startswith('digestpin-verify: warning: pins not verified, offline: ')


def test_verify_with_no_pin_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_text('FROM a:1\n')
    assert verify_main([str(path)]) == 0
    assert capsys.readouterr() == ('', 'summary: 0 pins verified in 0 files\n')


def test_help_says_what_timeout_and_offline_ok_mean(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv('COLUMNS', '500')  # one line per option
    with pytest.raises(SystemExit):
        verify_main(['--help'])
    lines = capsys.readouterr().out.splitlines()
    assert '  --timeout SECONDS     seconds allowed, whole answers included: with --source registry, for all of the run\'s registry requests together; with a daemon source, for each daemon call (default: 10)' in lines
    assert '  --offline-ok          when no registry can be reached (with a daemon source: no daemon answers), warn and exit 0 instead of failing' in lines


@pytest.mark.parametrize(('dotenv', 'said'), (
    # a platform the .env gives with control characters: said escaped
    ('P="linux/\x1b[2Jarm64"\n', 'not platform: linux/\\x1b[2Jarm64'),
    # one longer than any image name is not made, and not checked
    ('P=' + 'x' * 2000 + '\n', None),
))
def test_a_hostile_compose_platform_from_the_env(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], dotenv: str, said: str | None,
) -> None:
    from digestpin_hooks.report.formats import report
    (tmp_path / 'compose.yaml').write_text(f'services:\n  a:\n    image: a:1@{OLD}\n    platform: ${{P}}\n')
    (tmp_path / '.env').write_text(dotenv)
    answers = {f'a@{OLD}': Manifest(OLD, True, ('linux/amd64',)), 'a:1': Manifest(OLD, True, ())}
    findings, errors = verify_files([str(tmp_path / 'compose.yaml')], asker(answers))  # type: ignore[arg-type]
    assert errors == []
    assert [f.code for f in findings] == (['DP009'] if said else [])
    report(findings, [], 'text')
    out = capsys.readouterr().out
    assert '\x1b' not in out
    if said:
        assert out.rstrip('\n').endswith(said), out
