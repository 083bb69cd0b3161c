"""The table of kinds (read/kinds.py) and what comes from it: names,
``--kind``, the help, the reader's dispatch and ``.pre-commit-hooks.yaml``."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digestpin_hooks.read.kinds import BY_NAME
from digestpin_hooks.read.kinds import imported
from digestpin_hooks.read.kinds import KINDS
from digestpin_hooks.read.kinds import TABLE
from digestpin_hooks.read.kinds import yaml_kind
from scripts.hooks_file import all_files
from scripts.hooks_file import hooks_file

ROOT = Path(__file__).resolve().parent.parent

# a name of each kind (and names of none) -> the kind its name says
NAMES = (
    ('Dockerfile', 'dockerfile'), ('sub/Dockerfile.dev', 'dockerfile'),
    ('Dockerfile-dev', 'dockerfile'), ('web.dockerfile', 'dockerfile'),
    ('x/Containerfile', 'dockerfile'), ('api.Containerfile', 'dockerfile'),
    ('cloudbuild.yaml', 'cloudbuild'), ('ci/release-cloudbuild.json', 'cloudbuild'),
    ('kustomization.yaml', 'kustomize'), ('base/Kustomization', 'kustomize'),
    ('.devcontainer.json', 'devcontainer'), ('.devcontainer/py/devcontainer.json', 'devcontainer'),
    ('compose.yaml', 'compose'), ('a/docker-compose.prod.yml', 'compose'),
    ('chart/values.yaml', 'helm'), ('chart/values-prod.yml', 'helm'),
    ('.github/workflows/ci.yml', 'actions'), ('tools/action.yaml', 'actions'),
    ('.gitlab-ci.yml', 'gitlab-ci'), ('.gitlab/ci/build.yaml', 'gitlab-ci'),
    ('bitbucket-pipelines.yml', 'bitbucket'), ('.circleci/config.yml', 'circleci'),
    ('.drone.yml', 'drone'), ('.woodpecker/test.yaml', 'drone'),
    ('k8s/pod.yaml', 'kubernetes'), ('deploy/app/web.yml', 'kubernetes'),
    ('notes.txt', ''), ('devcontainer.json', ''), ('Dockerfiles', ''),
    ('config.yaml', ''), ('package.json', ''),
)


def test_every_kind_is_in_the_table_once() -> None:
    assert KINDS == ('auto', *(kind.name for kind in TABLE))
    assert len(set(KINDS)) == len(KINDS)
    assert set(KINDS) == {
        'auto', 'dockerfile', 'compose', 'kubernetes', 'actions', 'gitlab-ci',
        'bitbucket', 'circleci', 'cloudbuild', 'drone', 'devcontainer', 'helm',
        'kustomize',
    }


@pytest.mark.parametrize('kind', [k for k in TABLE if k.walker], ids=lambda k: k.name)
def test_every_reader_the_table_names_exists(kind: object) -> None:
    from digestpin_hooks.read.kinds import Kind
    assert isinstance(kind, Kind)
    assert callable(imported(kind.walker))
    if kind.variables:
        assert callable(imported(kind.variables)) and kind.variables_from


@pytest.mark.parametrize(('path', 'kind'), NAMES)
def test_a_kinds_name_test_and_its_hooks_files_pattern_agree(
        tmp_path: Path, path: str, kind: str,
) -> None:
    """What the folder search and --kind auto take by name is what the
    kind's hooks take: the name test (``claims``) and ``files:`` agree."""
    full = tmp_path / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text('')
    if kind == 'helm':
        (full.parent / 'Chart.yaml').write_text('name: c\n')
    claimed = [k.name for k in TABLE if k.claims is not None and k.claims(str(full), full.name, str(full).split('/'))]
    patterns = [k.name for k in TABLE if re.search(k.files, path)]
    assert claimed[:1] == ([kind] if kind not in ('', 'kubernetes') else [])
    assert patterns == ([kind] if kind else [])
    assert (re.search(all_files(), path) is not None) == bool(kind)
    if kind and kind != 'dockerfile':
        assert yaml_kind(str(full)) == kind
    if kind not in ('', 'dockerfile', 'kubernetes'):
        # the endings a name must have for a kind to be asked at all
        assert full.name.endswith(BY_NAME[kind].endings)


def test_only_a_name_with_a_kinds_ending_is_asked() -> None:
    # a kind with no ending rule would be asked about every name
    assert all(kind.endings for kind in TABLE[1:] if kind.claims is not None)
    assert yaml_kind('a/22__alpine3.23__Dockerfile') == ''
    assert yaml_kind('a/x.Dockerfile.yaml') == 'kubernetes'


def test_the_help_lists_every_kind() -> None:
    result = subprocess.run(
        (sys.executable, '-m', 'digestpin_hooks', 'lint', '--help'),
        capture_output=True, text=True, env={**os.environ, 'COLUMNS': '1000'}, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    titles = [kind.title for kind in TABLE]
    assert f"files ({', '.join(titles[:-1])} and {titles[-1]}), or folders" in result.stdout
    assert '{' + ','.join(KINDS) + '}' in result.stdout


def test_the_committed_hooks_file_is_what_the_script_writes() -> None:
    """Run ``python scripts/hooks_file.py`` after changing the table."""
    assert (ROOT / '.pre-commit-hooks.yaml').read_text(encoding='utf-8') == hooks_file()
    result = subprocess.run(
        (sys.executable, 'scripts/hooks_file.py', '--check'), cwd=ROOT,
        capture_output=True, text=True,
    )
    assert (result.returncode, result.stderr) == (0, '')


def test_the_hooks_file_has_four_hooks_per_kind_and_four_for_all() -> None:
    hooks = yaml.safe_load(hooks_file())
    ids = [hook['id'] for hook in hooks]
    commands = ('lint', 'fix', 'update', 'verify')
    assert ids[:4] == [f'digestpin-{c}-all' for c in commands]
    assert sorted(ids) == sorted(
        [f'digestpin-{c}-all' for c in commands] + [f'digestpin-{c}' for c in commands]
        + [f'digestpin-{c}-{k.name}' for k in TABLE[1:] for c in commands],
    )
    by_id = {hook['id']: hook for hook in hooks}
    for command in commands:
        every = by_id[f'digestpin-{command}-all']
        # not types_or: identify gives Kustomization, Dockerfile-dev and
        # web.dockerfile no tags
        assert (every['entry'], every['types'], every['files']) == (
            f'digestpin-{command}', ['file'], '|'.join(k.files for k in TABLE),
        )
        assert by_id[f'digestpin-{command}']['types'] == ['dockerfile']
        for kind in TABLE[1:]:
            hook = by_id[f'digestpin-{command}-{kind.name}']
            assert hook['entry'] == f'digestpin-{command} --kind {kind.name}'
            assert hook['files'] == kind.files
            assert hook.get('types', hook.get('types_or')) == list(kind.types)
        assert all(
            (hook.get('stages') == ['manual']) == (command == 'update')
            and hook.get('verbose', False) == (command == 'verify')
            for hook in hooks if hook['entry'].split()[0] == f'digestpin-{command}'
        )
    assert BY_NAME['cloudbuild'].types == ('yaml', 'json')
    assert by_id['digestpin-lint-cloudbuild']['types_or'] == ['yaml', 'json']


def test_the_readmes_hooks_table_shows_each_kinds_pattern() -> None:
    """README's per-kind hooks table says exactly what each hook takes."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    rows = dict(re.findall(
        r'^\| `digestpin-\{lint,fix,update,verify\}-([a-z-]+)` \| `(.+?)`', readme, re.MULTILINE,
    ))
    assert rows == {kind.name: kind.files for kind in TABLE[1:]}
    assert re.search(r'^    -   id: digestpin-lint-all$', readme, re.MULTILINE)
