"""Output formats: exact text, JSON and GitHub lines; SARIF against its schema."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import make_finding
from digestpin_hooks.check.findings import pinned_reference
from digestpin_hooks.check.pins import check_pin
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.check.pins import Pinned
from digestpin_hooks.lint import main as lint_main
from digestpin_hooks.model import FileError
from digestpin_hooks.model import Note
from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.references import image_refs
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.report.formats import report
from digestpin_hooks.report.sarif import sarif_log
from tests.corpus import sarif_schema

A = 'sha256:' + 'a' * 64
B = 'sha256:' + 'b' * 64


def verify_findings(path: str, data: bytes, at_digest: Manifest, at_tag: Manifest) -> list[Finding]:
    doc = parse(data)
    loaded = LoadedFile(path, data, doc, image_refs(doc))
    found = []
    for ref in loaded.refs:
        reference = pinned_reference(ref)
        assert reference is not None
        for code, message, replacement in check_pin(
            Pinned(loaded, ref, reference), Found(at_digest.digest, at_digest),
            Found(at_tag.digest, at_tag),
        ):
            found.append(make_finding(path, doc, ref, code, message, False, replacement))
    return found


@pytest.fixture
def findings() -> list[Finding]:
    stale = verify_findings(
        'sub dir/Dockerfile', f'FROM reg.io/a/b:1@{A} AS x\n'.encode(),
        Manifest(A, False, ('linux/amd64',)), Manifest(B, False, ('linux/amd64',)),
    )
    child = verify_findings(
        'Dockerfile', f'FROM --platform=linux/s390x reg.io/m:2@{A}\n'.encode(),
        Manifest(A, False, ('linux/arm64',)), Manifest(B, True, ('linux/amd64', 'linux/arm64')),
    )
    doc = parse(b'FROM node:20\n')
    lint = make_finding('Dockerfile', doc, image_refs(doc)[0], 'DP001', "'node:20' is not pinned", False)
    return [lint, *stale, *child]


def test_verify_findings_and_replacements(findings: list[Finding]) -> None:
    assert [(f.path, f.line, f.column, f.code, f.severity, f.replacement) for f in findings] == [
        ('Dockerfile', 1, 6, 'DP001', 'error', ''),
        ('sub dir/Dockerfile', 1, 6, 'DP006', 'warning', f'reg.io/a/b:1@{B}'),
        ('Dockerfile', 1, 29, 'DP008', 'error', f'reg.io/m:2@{B}'),
        ('Dockerfile', 1, 29, 'DP009', 'error', ''),
    ]


def test_sarif_is_valid_against_the_official_schema(findings: list[Finding]) -> None:
    jsonschema = pytest.importorskip('jsonschema')
    schema = sarif_schema()
    log = sarif_log(findings, [FileError('bad/Dockerfile', 'binary file (it contains NUL bytes)')])
    jsonschema.validate(log, schema)
    run = log['runs'][0]
    assert [r['id'] for r in run['tool']['driver']['rules']] == [f'DP{i:03}' for i in range(1, 14)]
    assert all(r['help']['text'] and r['shortDescription']['text'] for r in run['tool']['driver']['rules'])
    stale = run['results'][1]
    assert stale['ruleId'] == 'DP006' and stale['level'] == 'warning'
    assert stale['locations'][0]['physicalLocation']['artifactLocation']['uri'] == 'sub%20dir/Dockerfile'
    assert stale['fixes'][0]['artifactChanges'][0]['replacements'] == [{
        'deletedRegion': {'startLine': 1, 'startColumn': 6, 'endLine': 1, 'endColumn': 90},
        'insertedContent': {'text': f'reg.io/a/b:1@{B}'},
    }]
    assert 'fixes' not in run['results'][0]
    assert run['invocations'][0]['executionSuccessful'] is False


def test_sarif_from_the_command_line_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip('jsonschema')
    (tmp_path / 'Dockerfile').write_bytes(b'FROM ubuntu\nFROM Bad:1\n')
    assert lint_main(['--format', 'sarif', str(tmp_path / 'Dockerfile')]) == 1
    log = json.loads(capsys.readouterr().out)
    jsonschema.validate(log, sarif_schema())
    assert [r['ruleId'] for r in log['runs'][0]['results']] == ['DP002', 'DP005']


def test_sarif_fingerprints_tell_apart_each_finding_of_a_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Code scanning takes the results of one fingerprint in a file for one
    alert: two stages FROM one image (and a COPY --from of it) are three
    alerts, each kept (on main the two FROMs had one fingerprint, and the
    second stage's went unseen).  The first of each keeps the fingerprint
    it had; another file's are its own."""
    text = 'FROM node:20 AS a\nRUN x\nFROM node:20 AS b\nCOPY --from=node:20 /x /y\nFROM node:20\n'
    for name in ('Dockerfile', 'other.Dockerfile'):
        (tmp_path / name).write_text(text)
    paths = [str(tmp_path / 'Dockerfile'), str(tmp_path / 'other.Dockerfile')]
    assert lint_main(['--format', 'sarif', *paths]) == 1
    results = json.loads(capsys.readouterr().out)['runs'][0]['results']
    assert [
        (r['locations'][0]['physicalLocation']['artifactLocation']['uri'].rpartition('/')[2],
         r['locations'][0]['physicalLocation']['region']['startLine'],
         r['partialFingerprints']['imageReference/v1'])
        for r in results
    ] == [
        (name, line, fingerprint)
        for name in ('Dockerfile', 'other.Dockerfile')
        for line, fingerprint in (
            (1, 'DP001:FROM:node:20'), (3, 'DP001:FROM:node:20#2'),
            (4, 'DP001:COPY --from:node:20'), (5, 'DP001:FROM:node:20#3'),
        )
    ]


def test_sarif_names_a_file_with_a_backslash_as_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """On POSIX a backslash is a character of a file name: ``a\\Dockerfile``
    and ``a/Dockerfile`` are two files, and their results two URIs (on
    main both were ``a/Dockerfile``, with one fingerprint: code scanning
    made one alert of them, placed in the other file)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'a').mkdir()
    for name in ('a\\Dockerfile', 'a/Dockerfile'):
        (tmp_path / name).write_text('FROM node:20\n')
    assert lint_main(['--format', 'sarif', 'a\\Dockerfile', 'a/Dockerfile']) == 1
    results = json.loads(capsys.readouterr().out)['runs'][0]['results']
    assert sorted(
        (r['locations'][0]['physicalLocation']['artifactLocation']['uri'],
         r['partialFingerprints']['imageReference/v1'])
        for r in results
    ) == [('a%5CDockerfile', 'DP001:FROM:node:20'), ('a/Dockerfile', 'DP001:FROM:node:20')]


def test_sarif_fingerprints_are_told_apart_by_the_file_code_scanning_sees(
        findings: list[Finding],
) -> None:
    """``Dockerfile`` and ``./Dockerfile`` are one artifact (one URI): a
    finding of each is two results of that file, and two fingerprints."""
    first = findings[0]
    again = first.replace(path='./' + first.path, line=first.line + 1, end_line=first.end_line + 1)
    results = sarif_log([first, again], [])['runs'][0]['results']
    prints = [r['partialFingerprints']['imageReference/v1'] for r in results]
    uris = {r['locations'][0]['physicalLocation']['artifactLocation']['uri'] for r in results}
    assert (len(uris), prints[1]) == (1, prints[0] + '#2')


def test_github_lines_exact(findings: list[Finding], capsys: pytest.CaptureFixture[str]) -> None:
    report(
        findings[:2], [FileError('x,y:z', 'cannot read: gone')], 'github',
        notes=[Note('Dockerfile', 3, 6, 'pinned a:1 -> a:1@' + A)],
    )
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'::notice file=Dockerfile,line=3,col=6::pinned a:1 -> a:1@{A}',
        "::error file=Dockerfile,line=1,col=6,endLine=1,endColumn=13,title=DP001::DP001 'node:20' is not pinned",
        f'::warning file=sub dir/Dockerfile,line=1,col=6,endLine=1,endColumn=90,title=DP006::DP006 '
        f"'reg.io/a/b:1@{A}' is stale: reg.io/a/b:1 now resolves to {B}; check it and run digestpin-update",
        '::error file=x%2Cy%3Az::cannot read: gone',
    ]
    assert err == ''


def test_json_exact(findings: list[Finding], capsys: pytest.CaptureFixture[str]) -> None:
    report(findings[1:2], [], 'json')
    assert json.loads(capsys.readouterr().out) == {
        'version': 1,
        'findings': [{
            'path': 'sub dir/Dockerfile', 'line': 1, 'column': 6, 'end_line': 1,
            'end_column': 90, 'code': 'DP006', 'severity': 'warning', 'source': 'FROM',
            'image': f'reg.io/a/b:1@{A}', 'written': f'reg.io/a/b:1@{A}',
            'message': f"'reg.io/a/b:1@{A}' is stale: reg.io/a/b:1 now resolves to {B}; check it and run digestpin-update",
        }],
        'errors': [],
    }


def test_github_escapes_newlines_and_percent(capsys: pytest.CaptureFixture[str]) -> None:
    report([], [FileError('a%b', 'line one\nline two\r')], 'github')
    assert capsys.readouterr().out == '::error file=a%25b::line one%0Aline two%0D\n'


def test_undecodable_bytes_never_crash_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / 'Dockerfile').write_bytes(b'FROM no\xffde:1\n')
    assert lint_main([str(tmp_path / 'Dockerfile')]) == 1
    assert "DP005 'no\\udcffde:1' is not a valid image reference" in capsys.readouterr().out


def test_text_puts_pins_and_findings_in_line_order(capsys: pytest.CaptureFixture[str]) -> None:
    from digestpin_hooks.check.findings import Finding
    later = Finding('D', 5, 6, 5, 9, 'DP001', 'error', 'FROM', 'b:2', 'b:2', "'b:2' is not pinned")
    report([later], [], 'text', notes=[Note('D', 2, 6, 'pinned a:1 -> a:1@x')])
    assert capsys.readouterr().out == (
        "D:2:6: pinned a:1 -> a:1@x\nD:5:6: DP001 'b:2' is not pinned\n"
    )


def test_a_text_report_ends_with_one_summary_line(
        findings: list[Finding], capsys: pytest.CaptureFixture[str],
) -> None:
    """Counts by code, files, what was done, errors and skipped files, on
    stderr after the error lines; never in the document formats."""
    errors = [
        FileError('bad', 'cannot read: No such file or directory'),
        FileError('chart/values.yaml', 'skipped: not a Kubernetes manifest', skipped=True),
    ]
    report(findings, errors, 'text', done='2 pinned')
    err = capsys.readouterr().err.splitlines()
    assert err == [
        'bad: error: cannot read: No such file or directory',
        'chart/values.yaml: note: skipped: not a Kubernetes manifest',
        f'summary: {len(findings)} findings (DP001 1, DP006 1, DP008 1, DP009 1) '
        'in 2 files; 2 pinned; 1 error; 1 file skipped',
    ]
    for output_format in ('json', 'sarif', 'github'):
        report(findings, errors, output_format, done='2 pinned')
        assert 'summary' not in capsys.readouterr().err
    # a clean run and a run with errors alone print no summary
    report([], [], 'text')
    report([], errors[:1], 'text')
    assert capsys.readouterr().err == 'bad: error: cannot read: No such file or directory\n'


class _CountingStream:
    """A text stream that keeps each write: the calls a report makes."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def test_the_text_report_writes_each_files_lines_in_one_call() -> None:
    """Where output is unbuffered (PYTHONUNBUFFERED, common in CI), every
    write is a system call: one a file, not two a line."""
    from digestpin_hooks.report.formats import TextReport
    stdout, stderr = _CountingStream(), _CountingStream()
    text = TextReport(stdout, stderr)  # type: ignore[arg-type]

    def finding(line: int) -> Finding:
        return Finding(
            'Dockerfile', line, 6, line, 14, 'DP001', 'error', 'FROM', 'a:1', 'a:1',
            "'a:1' is not pinned to a digest",
        )
    text.add([finding(2), finding(1)])
    text.add([])
    assert stdout.writes == [
        "Dockerfile:1:6: DP001 'a:1' is not pinned to a digest\n"
        "Dockerfile:2:6: DP001 'a:1' is not pinned to a digest\n",
    ]


@pytest.mark.parametrize('output_format', ('text', 'github'))
def test_a_report_writes_its_lines_in_one_call(output_format: str) -> None:
    """fix's report of its pins (and any line format's): one write for all
    the lines, not two a line, each a system call where output is
    unbuffered and a wake-up of whatever reads the pipe."""
    stdout, stderr = _CountingStream(), _CountingStream()
    notes = [Note('Dockerfile', line, 6, f'would pin a:{line} -> a:{line}@sha256:1') for line in (1, 2, 3)]
    report([], [], output_format, notes=notes, done='3 would be pinned', stdout=stdout, stderr=stderr)  # type: ignore[arg-type]
    assert stdout.writes == [{
        'text': ''.join(f'Dockerfile:{n}:6: would pin a:{n} -> a:{n}@sha256:1\n' for n in (1, 2, 3)),
        'github': ''.join(
            f'::notice file=Dockerfile,line={n},col=6::would pin a:{n} -> a:{n}@sha256:1\n' for n in (1, 2, 3)
        ),
    }[output_format]]
