"""Our reading of Compose files and dev container configurations against
the tools that pull their images: Docker Compose v2.40.3
(``corpus-yaml/oracles/ORACLE-compose.jsonl``) and ``@devcontainers/cli``
0.89.0 (``corpus-kinds/oracles/ORACLE-devcontainer.jsonl``); their README
says how each was asked.  tests/test_real_tools.py asks the tools again.

A file agrees when every image the tool pulls unpinned is reported (and
nothing else), an invalid one or a malformed digest with DP005 / DP004, and
a reference the tool makes of an unset variable has DP003 where it is
written.  Compared are distinct references of a file: a value merged into
several services through a YAML anchor is one reference where it is
written, where Compose has a row per service.  The named exceptions below
are documented choices, each tested on its own.
"""
from __future__ import annotations

import os
import re
from typing import Any

import pytest

from digestpin_hooks.check.findings import classify
from digestpin_hooks.model import ImageRef
from digestpin_hooks.read.files import load
from tests.corpus import CORPUS_KINDS
from tests.corpus import CORPUS_YAML
from tests.corpus import kind_oracle

# Compose refuses these files for a reason that is not about an image (a
# missing env_file, a key its schema does not know, a config without a
# source); we check their images all the same: they are what Compose pulls
# once the file is corrected, and a refusal is no reason to let them pass.
COMPOSE_REFUSES_FOR_ANOTHER_REASON = re.compile(
    r"env file \S+ not found|additional properties '[^']+'(?:, '[^']+')* not allowed"
    r'|one of file\|environment\|content must be set',
)
# A ``${templateOption:…}`` placeholder of a dev container *template*
# source: the template tool fills it in before the CLI ever reads the file,
# and the CLI itself passes it through as an invalid reference.  Until it is
# filled in, the image is unknown: DP003, not DP005.
TEMPLATE_OPTION = '${templateOption:'
# where the CLI pulls an image that is not written in devcontainer.json: the
# Dockerfile's FROM or the Compose file it names, checked as files of their
# own kind (and not in the corpus, which holds devcontainer.json only)
ELSEWHERE = {'build', 'build FROM', 'build FROM (compose)', 'compose service', 'compose service (built)'}

CODE_STATES = {'DP001': 'unpinned', 'DP002': 'unpinned', 'DP004': 'baddigest', 'DP005': 'invalid'}

Answer = set[tuple[str, str]]


def ours(refs: list[ImageRef]) -> Answer:
    """(state as the oracles name it, image) of each reference we report;
    ('DP003', the reference as written) for an unresolved variable."""
    found = set()
    for ref in refs:
        result = classify(ref)
        if result is None:
            continue  # pinned
        if result[0] == 'DP003':
            found.add(('DP003', ref.image))
        else:
            found.add((CODE_STATES[result[0]], ref.image))
    return found


def compose_expected(rows: list[dict[str, Any]]) -> Answer:
    """What Compose pulls unpinned (or cannot pull), by distinct reference."""
    wanted = set()
    for row in rows:
        if row['unresolved'] and not row['build']:
            # Compose blanks an unset variable (``postgres:``, or no image
            # at all); we answer DP003 where it is written
            wanted.add(('DP003', row['raw']))
        elif row['pulled'] and row['state'] != 'pinned':
            wanted.add((row['state'], row['image']))
    return wanted


def compare_compose() -> tuple[dict[str, int], list[Any]]:
    by_file = kind_oracle(CORPUS_YAML, 'ORACLE-compose')
    counts = dict.fromkeys(('files', 'agree', 'refused', 'references', 'agreeing'), 0)
    disagreements: list[Any] = []
    for path, rows in sorted(by_file.items()):
        counts['files'] += 1
        loaded = load(os.path.join(CORPUS_YAML, path), 'compose')
        got = ours(loaded.refs)
        if rows[0].get('refused'):
            if COMPOSE_REFUSES_FOR_ANOTHER_REASON.search(rows[0]['error']):
                counts['refused'] += 1
            else:
                disagreements.append((path, rows[0]['error'], sorted(got)))
            continue
        wanted = compose_expected(rows)
        counts['references'] += len(wanted)
        counts['agreeing'] += len(wanted & got)
        if wanted == got:
            counts['agree'] += 1
        else:
            disagreements.append((path, sorted(wanted - got), sorted(got - wanted)))
    return counts, disagreements


def test_compose_agrees_with_docker_compose(capsys: pytest.CaptureFixture[str]) -> None:
    counts, disagreements = compare_compose()
    with capsys.disabled():
        print(
            f'\n[compose v2.40.3 corpus-yaml] files agree: '
            f'{counts["agree"] + counts["refused"]}/{counts["files"]} '
            f'({counts["refused"]} refused by Compose for another reason, read anyway); '
            f'references Compose pulls unpinned or cannot pull: '
            f'{counts["agreeing"]}/{counts["references"]}',
        )
    assert disagreements == []
    assert counts['agree'] + counts['refused'] == counts['files'] == 231
    assert counts['refused'] == 7
    assert counts['references'] > 350


def test_files_compose_refuses_are_read_for_their_images() -> None:
    """The named exception: the seven files Compose refuses, each for a
    reason outside its images, and what we report in one of them."""
    by_file = kind_oracle(CORPUS_YAML, 'ORACLE-compose')
    refused = {path: rows[0]['error'] for path, rows in by_file.items() if rows[0].get('refused')}
    assert len(refused) == 7
    assert all(COMPOSE_REFUSES_FOR_ANOTHER_REASON.search(e) for e in refused.values())
    path = 'compose/docker__compose__pkg__e2e__fixtures__env_file__compose.yaml'
    assert refused[path].startswith('env file /doesnotexist/.env not found')
    assert ours(load(os.path.join(CORPUS_YAML, path), 'compose').refs) == {
        ('unpinned', 'nginx:latest'), ('unpinned', 'alpine'),
    }


def test_an_unset_variable_is_dp003_where_compose_blanks_it() -> None:
    """The named exception: Compose makes ``postgres:${TAG}`` ``postgres:``
    (and ``${IMG}`` no image) with TAG and IMG unset; we say DP003."""
    by_file = kind_oracle(CORPUS_YAML, 'ORACLE-compose')
    path = 'compose/Haxxnet__Compose-Examples__examples__mattermost__docker-compose.yml'
    rows = {row['service']: row for row in by_file[path]}
    assert (rows['postgres']['image'], rows['postgres']['state']) == ('postgres:', 'invalid')
    assert ours(load(os.path.join(CORPUS_YAML, path), 'compose').refs) == {
        ('DP003', 'postgres:${POSTGRES_IMAGE_TAG}'),
        ('DP003', 'mattermost/${MATTERMOST_IMAGE}:${MATTERMOST_IMAGE_TAG}'),
    }
    path = 'compose/yiisoft__yii2__tests__docker-compose.mysql.yml'
    rows = {row['service']: row for row in by_file[path]}
    assert (rows['mysql']['image'], rows['mysql']['pulled']) == (None, False)
    assert ours(load(os.path.join(CORPUS_YAML, path), 'compose').refs) == {
        ('DP003', '${DOCKER_MYSQL_IMAGE}'),
    }


def compare_devcontainer() -> tuple[dict[str, int], list[Any]]:
    by_file = kind_oracle(CORPUS_KINDS, 'ORACLE-devcontainer')
    counts = dict.fromkeys(('files', 'agree', 'template', 'references', 'agreeing', 'elsewhere'), 0)
    disagreements: list[Any] = []
    for path, rows in sorted(by_file.items()):
        counts['files'] += 1
        got = ours(load(os.path.join(CORPUS_KINDS, path), 'devcontainer').refs)
        counts['elsewhere'] += sum(r['source'] in ELSEWHERE and r['pulled'] for r in rows)
        wanted = set()
        template = False
        for row in rows:
            if row['source'] != 'image':
                continue
            if TEMPLATE_OPTION in row['image']:
                template = True
                wanted.add(('DP003', row['image']))
            elif row['state'] != 'pinned':
                wanted.add((row['state'], row['image']))
        counts['references'] += len(wanted)
        counts['agreeing'] += len(wanted & got)
        if wanted == got:
            counts['agree'] += 1
            counts['template'] += template
        else:
            disagreements.append((path, sorted(wanted - got), sorted(got - wanted)))
    return counts, disagreements


def test_devcontainer_agrees_with_the_devcontainers_cli(
        capsys: pytest.CaptureFixture[str],
) -> None:
    counts, disagreements = compare_devcontainer()
    with capsys.disabled():
        print(
            f'\n[devcontainers/cli 0.89.0 corpus-kinds] files agree: '
            f'{counts["agree"]}/{counts["files"]} ({counts["template"]} with a '
            f'${{templateOption:…}} placeholder: DP003); images the CLI pulls '
            f'from devcontainer.json: {counts["agreeing"]}/{counts["references"]}; '
            f'{counts["elsewhere"]} more from the Dockerfile or Compose file it names',
        )
    assert disagreements == []
    assert counts['agree'] == counts['files'] == 77
    assert counts['template'] == 13
    assert counts['references'] == 66


def test_template_options_are_dp003_where_the_cli_passes_them_through() -> None:
    """The named exception: the CLI reads a template source's
    ``${templateOption:imageVariant}`` as part of the image (an invalid
    reference); we report DP003, the image being unknown until the template
    is applied."""
    by_file = kind_oracle(CORPUS_KINDS, 'ORACLE-devcontainer')
    placeholders = {
        path: row for path, rows in by_file.items() for row in rows
        if row['image'] and TEMPLATE_OPTION in row['image']
    }
    assert len(placeholders) == 13
    assert {row['state'] for row in placeholders.values()} == {'invalid'}
    assert all(p.startswith('devcontainer/devcontainers__templates/src__') for p in placeholders)
    path = 'devcontainer/devcontainers__templates/src__go__.devcontainer__devcontainer.json'
    refs = load(os.path.join(CORPUS_KINDS, path), 'devcontainer').refs
    assert [(classify(ref) or ('',))[0] for ref in refs] == ['DP003']
    assert ours(refs) == {('DP003', placeholders[path]['image'])}


def test_images_pulled_from_other_files_are_not_read_from_devcontainer_json() -> None:
    """A ``build`` or ``dockerComposeFile`` configuration names no image:
    the CLI pulls the Dockerfile's FROM or the Compose services, which are
    checked as files of their own kind."""
    by_file = kind_oracle(CORPUS_KINDS, 'ORACLE-devcontainer')
    elsewhere = {
        path for path, rows in by_file.items()
        if all(row['source'] in ELSEWHERE for row in rows)
    }
    assert len(elsewhere) == 11
    for path in elsewhere:
        assert load(os.path.join(CORPUS_KINDS, path), 'devcontainer').refs == [], path
