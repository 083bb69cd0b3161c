"""Which image each FROM pulls, asked of the daemon's own BuildKit.

``DOCKER_BUILDKIT=1 docker build --progress=plain`` of a Dockerfile made of
FROM and COPY --from lines prints ``load metadata for IMAGE`` for each image
BuildKit resolves: a real check of ARG scope and stage names.  Only images in
the test registry are named, so no build reaches outside this machine.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.references import image_refs
from digestpin_hooks.reference import parse_reference
from tests.stack import Stack
from tests.test_buildkit_rules import CONTINUATION_CASES
from tests.test_buildkit_rules import CONTINUATION_V032_ONLY
from tests.test_buildkit_rules import parse_outcome

CASES = {
    'global ARG feeds FROM, stage ARG does not': (
        'ARG BASE={g}\nFROM $BASE AS one\nARG BASE={s}\nFROM ${{BASE}} AS two\n'
        'FROM one AS three\nFROM scratch\n'
        'COPY --from=one /f /1\nCOPY --from=two /f /2\nCOPY --from=three /f /3\n'
    ),
    'default in the FROM when the ARG has none': (
        'ARG BASE\nFROM ${{BASE:-{d}}} AS one\nFROM scratch\nCOPY --from=one /f /1\n'
    ),
    'the last global definition wins': (
        'ARG BASE={s}\nARG BASE={g}\nFROM $BASE AS one\nFROM scratch\nCOPY --from=one /f /1\n'
    ),
    'an ARG naming a stage is the stage': (
        'ARG S=one\nFROM {g} AS one\nFROM $S AS two\nFROM scratch\nCOPY --from=two /f /1\n'
    ),
    'COPY --from an image and a stage index': (
        'FROM {g} AS one\nFROM scratch\nCOPY --from={d} /f /1\nCOPY --from=0 /f /2\n'
    ),
    'continued FROM with comments in between': (
        'FROM \\\n# a comment\n\n  {d} \\\n  AS one\nFROM scratch\nCOPY --from=one /f /1\n'
    ),
}


@pytest.fixture(scope='module')
def images(stack: Stack) -> dict[str, str]:
    names = {
        'g': f'{stack.registry}/bk/global:1',
        's': f'{stack.registry}/bk/stage:1',
        'd': f'{stack.registry}/bk/default:1',
    }
    for key, name in names.items():
        stack.push(name, key)
    return names


def buildkit_loads(stack: Stack, folder: Path) -> set[str]:
    client = '/usr/bin/docker' if os.path.exists('/usr/bin/docker') else stack.client
    result = subprocess.run(
        [client, 'build', '--no-cache', '--progress=plain', str(folder)],
        env={**stack.env, 'DOCKER_BUILDKIT': '1'}, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # stages' images as "load metadata for IMAGE", COPY --from images as a
    # step "#N FROM IMAGE" (resolved ones carry @sha256:…)
    loaded = re.findall(r'load metadata for (\S+)', result.stderr)
    loaded += re.findall(r'(?m)^#\d+ (?:\[[^\]]*\] )?FROM (\S+)', result.stderr)
    return {name.partition('@')[0] for name in loaded}


@pytest.mark.parametrize('case', list(CASES))
def test_our_images_are_the_ones_buildkit_pulls(
        stack: Stack, images: dict[str, str], tmp_path: Path, case: str,
) -> None:
    text = CASES[case].format(**images)
    (tmp_path / 'Dockerfile').write_text(text)
    theirs = buildkit_loads(stack, tmp_path)
    ours = {
        parse_reference(ref.image).name + ':' + parse_reference(ref.image).normalized_tag
        for ref in image_refs(parse(text.encode()))
    }
    assert ours == theirs


def buildkit_outcome(stack: Stack, folder: Path) -> tuple[int | None, str] | None:
    """None when the daemon's BuildKit builds the file, else (line, message)
    of its refusal (line None where its message names none)."""
    client = '/usr/bin/docker' if os.path.exists('/usr/bin/docker') else stack.client
    result = subprocess.run(
        [client, 'build', '--progress=plain', str(folder)],
        env={**stack.env, 'DOCKER_BUILDKIT': '1'}, capture_output=True, text=True,
        timeout=300,
    )
    if result.returncode == 0:
        return None
    m = re.search(
        r'failed to create LLB definition: (?:dockerfile parse error line (\d+): )?(.*)',
        result.stderr,
    )
    assert m is not None, result.stderr[-2000:]
    return (int(m.group(1)) if m.group(1) else None), m.group(2).strip()


LIVE_CONTINUATION = {
    name: case for name, case in CONTINUATION_CASES.items()
    if name.removesuffix(' (escape=`)') not in CONTINUATION_V032_ONLY
}


@pytest.mark.parametrize('case', list(LIVE_CONTINUATION))
def test_instructions_end_where_buildkit_ends_them(
        stack: Stack, tmp_path: Path, case: str,
) -> None:
    """FROM scratch files only, nothing pulled: one build per row of the
    table, BuildKit's outcome against the table and against our reader."""
    data, outcome = LIVE_CONTINUATION[case]
    (tmp_path / 'Dockerfile').write_bytes(data)
    theirs = buildkit_outcome(stack, tmp_path)
    ours = parse_outcome(data)
    assert ours == outcome
    if theirs is None:
        assert outcome is None
    else:
        assert outcome is not None
        line, message = theirs
        assert (line or outcome[0], message) == outcome
