"""Our reading of the corpus against BuildKit's parser (ORACLE.jsonl and live)."""
from __future__ import annotations

import os
from typing import Any

import pytest

from digestpin_hooks.model import ImageRef
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.references import image_refs
from digestpin_hooks.read.dockerfile.references import read_dockerfile
from tests.corpus import CORPUS
from tests.corpus import oracle_entries
from tests.corpus import refused_by_buildkit_032
from tests.corpus import require_corpus

Key = tuple[str, int, str]


def _expected(entry: dict[str, Any]) -> tuple[set[Key], int]:
    """References BuildKit reads without variables, and how many have them."""
    found: set[Key] = set()
    with_variables = 0
    for f in entry['from']:
        if f['kind'] == 'variable' or '$' in (f['image'] or ''):
            with_variables += 1
        elif f['kind'] in ('tag', 'untagged', 'digest'):
            found.add(('FROM', f['line'], f['image']))
    for c in entry['copy_from']:
        # value None: a flag without '=', which BuildKit 0.12 rejects
        if c['value'] and not (c['is_stage_ref'] or c['is_stage_index']):
            if c['has_variable']:
                with_variables += 1
            else:
                found.add(('COPY --from', c['line'], c['value']))
    for m in entry['mount_from']:
        if m['value'] and not (m['is_stage_ref'] or m['is_stage_index']):
            if m['has_variable']:
                with_variables += 1
            else:
                found.add(('RUN --mount', m['line'], m['value']))
    return found, with_variables


def _ours(refs: list[ImageRef], onbuild_lines: set[int]) -> set[Key]:
    return {
        (r.source, r.line, r.written if r.editable else r.image)
        for r in refs
        if r.source in ('FROM', 'COPY --from', 'RUN --mount')
        and not r.has_variables
        # the binding drops the flags of ONBUILD sub-instructions
        and r.line not in onbuild_lines
    }


def test_corpus_agrees_with_buildkit(capsys: pytest.CaptureFixture[str]) -> None:
    require_corpus()
    expected_total = agreed = 0
    variable_refs = 0
    variable_outcomes: dict[str, int] = {}
    disagreements = []
    refused = refused_by_buildkit_032()
    for entry in oracle_entries():
        with open(os.path.join(CORPUS, entry['file']), 'rb') as f:
            data = f.read()
        error = entry['parse_error']
        try:
            refs = read_dockerfile(data)[1]
        except DockerfileError as e:
            # refused as v0.12.5's parser or as v0.32 (see test_buildkit_032)
            assert error or entry['file'] in refused, (
                f'{entry["file"]}: we fail ({e}), BuildKit reads it'
            )
            continue
        assert not error, (entry['file'], error)
        if entry['file'] in refused:
            # read on (DP003, DP005, DP010), but no longer v0.12.5's reading
            # (FROM BUG_stage is an image now): test_buildkit_032 has them
            continue
        expected, with_variables = _expected(entry)
        ours = _ours(refs, {o['line'] for o in entry['onbuild']})
        expected_total += len(expected)
        agreed += len(expected & ours)
        if expected != ours:
            disagreements.append(
                (entry['file'], sorted(expected - ours), sorted(ours - expected)),
            )
        variable_refs += with_variables
        for r in refs:
            if r.has_variables:
                outcome = 'DP003 (no default)' if r.unresolved else (
                    f'resolved, reported at the {r.source} line'
                    if r.source == 'ARG' else
                    'resolved, edited in place' if r.editable else
                    'resolved, partly variable'
                )
                variable_outcomes[outcome] = variable_outcomes.get(outcome, 0) + 1
    assert disagreements == []
    assert agreed == expected_total > 2850
    with capsys.disabled():
        print(
            f'\n[oracle v0.12.5, on the files v0.32 reads] references without variables: {agreed}/'
            f'{expected_total} agree (100%); with variables (BuildKit leaves '
            f'them unexpanded): {variable_refs}; our outcomes for them: '
            f'{dict(sorted(variable_outcomes.items()))}',
        )


def test_instructions_match_live_buildkit_parser() -> None:
    """Every instruction's command and lines, against the binding itself."""
    require_corpus()
    dockerfile = pytest.importorskip('dockerfile')
    compared = 0
    for entry in oracle_entries():
        if entry['parse_error']:
            continue
        path = os.path.join(CORPUS, entry['file'])
        with open(path, 'rb') as f:
            data = f.read()
        theirs = [
            (c.cmd.lower(), c.start_line, c.end_line)
            for c in dockerfile.parse_file(path)
        ]
        ours = [
            (i.cmd, i.start_line, i.end_line)
            for i in parse(data, join_all=True).instructions
        ]
        assert ours == theirs, entry['file']
        compared += len(ours)
    assert compared > 25000


DOCKERFILE_PARSE_PITFALLS = {
    # heredoc body: dockerfile-parse 2.0.1 takes its FROM for an instruction
    'heredoc': b'FROM a:1\nRUN <<EOF\nFROM b:2\nEOF\n',
    # unknown flag: dockerfile-parse 2.0.1 takes the flag for the image
    'unknown flag': b'FROM --foo=bar a:1\n',
}


@pytest.mark.parametrize(
    'data', list(DOCKERFILE_PARSE_PITFALLS.values()), ids=list(DOCKERFILE_PARSE_PITFALLS),
)
def test_where_dockerfile_parse_differs_we_follow_buildkit(data: bytes) -> None:
    """Why the reader does not rely on dockerfile-parse (see read/dockerfile/parser.py)."""
    dockerfile = pytest.importorskip('dockerfile')
    dockerfile_parse = pytest.importorskip('dockerfile_parse')
    buildkit = [
        c.value[0] for c in dockerfile.parse_string(data.decode()) if c.cmd.lower() == 'from'
    ]
    parser = dockerfile_parse.DockerfileParser(fileobj=__import__('io').BytesIO(data))
    assert parser.parent_images != buildkit  # the pitfall is real
    ours = [r.image for r in image_refs(parse(data))]
    assert ours == buildkit


def test_fast_scan_equals_full_walk_on_the_corpus() -> None:
    require_corpus()
    compared = 0
    for entry in oracle_entries():
        with open(os.path.join(CORPUS, entry['file']), 'rb') as f:
            data = f.read()
        try:
            fast = image_refs(parse(data))
        except DockerfileError:
            continue
        assert fast == image_refs(parse(data, join_all=True)), entry['file']
        compared += len(fast)
    assert compared > 3500
