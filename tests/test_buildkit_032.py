"""Our reading against BuildKit v0.32.2's own (ORACLE-buildkit-0.32.jsonl for
the corpus, buildkit-cases/ORACLE.jsonl for 141 generated cases written five
ways each).

A file agrees when we refuse what BuildKit refuses (for the same reason) and,
where it reads the file, report exactly the unpinned images it pulls.  Three
answers are documented choices, counted as agreement only where they stand
at the very reference BuildKit stopped on:

- DP003 where BuildKit needs a --build-arg (a variable with no value in the
  file: a blank base name, ``${V?}`` unset, a name built on an unset ARG);
- DP004/DP005 where BuildKit cannot parse the stage name as a reference;
- DP010 (a warning, read on) for an instruction or flag BuildKit does not
  know: it may be newer syntax than v0.32.
"""
from __future__ import annotations

import os
import re
from typing import Any

import pytest

from digestpin_hooks.check.findings import classify
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.references import read_dockerfile
from digestpin_hooks.read.dockerfile.references import SOURCE_ARG
from tests.corpus import buildkit_032_rows
from tests.corpus import CASES
from tests.corpus import CORPUS
from tests.corpus import ORACLE_032
from tests.corpus import require_buildkit_032

DP003_ANSWERS = re.compile(r'should not be blank|failed to process "\$\{\w+\?')
DP005_ANSWERS = re.compile(r'invalid reference format')
DP010_ANSWERS = re.compile(r'unknown (?:instruction|flag)')
# files we refuse for another of BuildKit's reasons than the one it names
# first: BuildKit stops at the first error in its own order of checks
OTHER_FIRST_REASON = {
    # its parser checks CMD's JSON array before the converter sees the
    # instruction before FROM, which we check first
    'moby__buildkit__parser-testfiles/frontend__dockerfile__parser__testfiles-negative__shykes-nested-json__Dockerfile',
    'openshift__imagebuilder/dockerfile__parser__testfiles-negative__shykes-nested-json__Dockerfile',
    # a blank base name (BuildKit's first) and a COPY --from=$VAR further
    # down (our first: we answer the blank name with DP003 and read on)
    'containers__buildah/tests__bud__from-with-arg__Containerfile',
    # "{{" is an unknown instruction: a DP010 warning, and the FROM line
    # after it then has too many arguments
    'docker-library__mysql/Dockerfile.oracle',
    # BuildKit parses every stage name before any --platform; an invalid
    # name is DP004 for us, and the empty platform further down refuses it
    'renovatebot__renovate/lib__modules__manager__dockerfile____fixtures____2.Dockerfile',
}

Key = tuple[str, int]


def expected(rows: list[dict[str, Any]]) -> tuple[str, set[tuple[str, int, str]], dict[Key, str]]:
    """(BuildKit's refusal or '', unpinned images it pulls, references or
    instructions it stopped on and why)."""
    refusal = next(
        r['file_error'] or r['error'] for r in rows if r['kind'] == 'file'
    )
    pulls = set()
    stopped: dict[Key, str] = {}
    for r in rows:
        if r['kind'] == 'file':
            continue
        kind = r['kind'].replace('ONBUILD ', '')
        if r['error']:
            stopped[(kind, r['line'])] = r['error']
        elif not (r['stage_ref'] or r['scratch'] or r['digest']):
            pulls.add((kind, r['line'], r['image']))
    return refusal, pulls, stopped


def ours(data: bytes) -> tuple[str, set[tuple[str, int, str]], dict[Key, str]]:
    """(our refusal or '', unpinned images we report, code at each place)."""
    try:
        _, refs, unknown = read_dockerfile(data)
    except DockerfileError as e:
        return str(e), set(), {}
    reported = set()
    codes: dict[Key, str] = {('error', u.line): 'DP010' for u in unknown}
    for ref in refs:
        result = classify(ref)
        if result is None:
            continue
        kind = 'FROM' if ref.source == SOURCE_ARG else ref.source.replace('ONBUILD ', '')
        for line in ref.feeds if ref.source == SOURCE_ARG else (ref.line,):
            codes[(kind, line)] = result[0]
            if result[0] != 'DP003':
                reported.add((kind, line, ref.image))
    return '', reported, codes


def answered_at_the_reference(stopped: dict[Key, str], codes: dict[Key, str]) -> bool:
    """Whether each place BuildKit stopped has our documented answer."""
    for place, reason in stopped.items():
        if DP003_ANSWERS.search(reason):
            wanted = {'DP003'}
        elif DP005_ANSWERS.search(reason):
            wanted = {'DP003', 'DP004', 'DP005'}
        elif DP010_ANSWERS.search(reason):
            wanted = {'DP010'}
        else:
            return False
        if codes.get(place) not in wanted:
            return False
    return True


def compare(oracle: str, folder: str) -> tuple[int, int, int, int, list[Any]]:
    """(files, agreeing files, references compared, agreeing) and the
    disagreements."""
    rows_by_file = buildkit_032_rows(oracle)
    agreeing_files = compared = agreeing = 0
    disagreements: list[Any] = []
    for path, rows in sorted(rows_by_file.items()):
        with open(os.path.join(folder, path), 'rb') as f:
            data = f.read()
        refusal, pulls, stopped = expected(rows)
        our_refusal, reported, codes = ours(data)
        if refusal and our_refusal:
            if refusal in our_refusal or path in OTHER_FIRST_REASON:
                agreeing_files += 1
            else:
                disagreements.append((path, refusal, our_refusal))
            continue
        if our_refusal:
            disagreements.append((path, 'BuildKit reads it', our_refusal))
            continue
        if refusal and not answered_at_the_reference(stopped, codes):
            disagreements.append((path, refusal, 'we read it'))
            continue
        dp003 = {place for place, code in codes.items() if code == 'DP003'}
        wanted = {p for p in pulls if p[:2] not in dp003}
        got = {r for r in reported if r[:2] not in stopped}
        compared += len(wanted)
        agreeing += len(wanted & got)
        if wanted == got:
            agreeing_files += 1
        else:
            disagreements.append((path, sorted(wanted - got), sorted(got - wanted)))
    return len(rows_by_file), agreeing_files, compared, agreeing, disagreements


@pytest.mark.parametrize('which', ('buildkit-cases', 'corpus'))
def test_agrees_with_buildkit_032(which: str, capsys: pytest.CaptureFixture[str]) -> None:
    require_buildkit_032()
    if which == 'corpus':
        oracle, folder = ORACLE_032, CORPUS
    else:
        oracle, folder = os.path.join(CASES, 'ORACLE.jsonl'), os.path.join(CASES, 'files')
    files, agreeing_files, compared, agreeing, disagreements = compare(oracle, folder)
    with capsys.disabled():
        print(
            f'\n[buildkit v0.32 {which}] files agree: {agreeing_files}/{files}; '
            f'references BuildKit pulls unpinned: {agreeing}/{compared}',
        )
    assert disagreements == []
    assert agreeing_files == files
    assert compared > (3500 if which == 'corpus' else 700)


def test_the_cases_are_all_compared() -> None:
    require_buildkit_032()
    names = os.listdir(os.path.join(CASES, 'files'))
    assert {name.split('.')[-2] for name in names} == {'lf', 'crlf', 'bom', 'bomcrlf', 'nofinal'}
    assert len({name.split('.')[0] for name in names}) == 141
    assert set(buildkit_032_rows(os.path.join(CASES, 'ORACLE.jsonl'))) == set(names)
