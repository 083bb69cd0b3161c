"""The project as users install it: version, changelog and install lines
agree; the sdist and wheel build; the wheel's console scripts and every hook
id of ``.pre-commit-hooks.yaml`` run from the built tree."""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

import digestpin_hooks
from tests.stack import Stack
from tests.worktree import copy_as_git_would_commit

ROOT = Path(__file__).resolve().parent.parent
VERSION = digestpin_hooks.__version__


HOOKS_URL = 'https://github.com/digestpin/digestpin-hooks'
# what an install line may name until a release is tagged: a branch, a
# commit hash, or the hash the README's own ls-remote line finds
WORKING_REF = re.compile(r'main|[0-9a-f]{40}|\$commit')
LS_REMOTE = f'commit=$(git ls-remote {HOOKS_URL} refs/heads/main | cut -f1)'


def install_lines() -> list[tuple[str, str]]:
    """(file, line) for every line of the README and examples/ that installs
    the hooks from the repository (not the local ``pip install .``)."""
    texts = [('README.md', (ROOT / 'README.md').read_text())] + [
        (path.name, path.read_text()) for path in sorted((ROOT / 'examples').glob('*.yml'))
    ]
    return [
        (name, line) for name, text in texts for line in text.splitlines()
        if 'pip install' in line and HOOKS_URL in line
    ]


def test_version_changelog_and_install_lines_agree() -> None:
    changelog = (ROOT / 'CHANGELOG.md').read_text()
    headings = re.findall(r'^## (\S+)', changelog, re.MULTILINE)
    released = [h for h in headings if h != 'Unreleased']
    assert headings.index(released[0]) <= 1  # at most Unreleased above it
    assert released[0] == VERSION
    readme = (ROOT / 'README.md').read_text()
    # no tag exists yet: every rev is a branch pre-commit autoupdate --freeze
    # turns into a hash, never a tag that is not there
    assert set(re.findall(r'^\s*rev: (\S+)', readme, re.MULTILINE)) == {'main'}
    installs = install_lines()
    assert {name for name, _ in installs} == {
        'README.md', 'digestpin-update.yml', 'digestpin-verify.yml',
    }
    for name, line in installs:
        (ref,) = re.findall(rf'{re.escape(HOOKS_URL)}@([^"\s]+)', line)
        assert WORKING_REF.fullmatch(ref), (name, line)
        if ref == '$commit':
            assert name == 'README.md' and LS_REMOTE in readme
    assert 'pip install digestpin-hooks' not in readme
    assert not re.search(r'@v\d|rev: v\d', readme + ''.join(line for _, line in installs))


def test_autoupdate_freeze_turns_rev_main_into_a_hash(tmp_path: Path) -> None:
    """The README's configuration as given, against a copy of this
    repository's hook list on a branch ``main`` without tags: ``pre-commit
    autoupdate --freeze`` writes the commit hash."""
    hooks = tmp_path / 'hooks'
    hooks.mkdir()
    shutil.copy(ROOT / '.pre-commit-hooks.yaml', hooks)
    git(hooks, 'init', '-q', '-b', 'main')
    git(hooks, 'add', '-A')
    git(hooks, 'commit', '-qm', 'hooks')
    head = subprocess.run(
        ('git', 'rev-parse', 'HEAD'), cwd=hooks, capture_output=True, text=True, check=True,
    ).stdout.strip()
    readme = (ROOT / 'README.md').read_text()
    block = readme[readme.index('```yaml\nrepos:\n') + len('```yaml\n'):]
    block = block[:block.index('```')]
    assert f'repo: {HOOKS_URL}\n    rev: main' in block
    project = tmp_path / 'project'
    project.mkdir()
    git(project, 'init', '-q')
    config = project / '.pre-commit-config.yaml'
    config.write_text(block.replace(HOOKS_URL, str(hooks)))
    frozen = subprocess.run(
        (sys.executable, '-m', 'pre_commit', 'autoupdate', '--freeze'),
        cwd=project, capture_output=True, text=True,
        env={**os.environ, 'PRE_COMMIT_HOME': str(tmp_path / 'home')},
    )
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    (rev,) = re.findall(r'^    rev: (\S+)', config.read_text(), re.MULTILINE)
    assert rev == head


def console_scripts() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / 'setup.cfg')
    entries = config['options.entry_points']['console_scripts']
    return [line.split('=')[0].strip() for line in entries.strip().splitlines()]


@pytest.fixture(scope='module')
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel), built by ``python -m build`` from a copy of the tree
    (the wheel is built from the sdist, so the sdist must be complete)."""
    base = tmp_path_factory.mktemp('release')
    tree = base / 'tree'
    copy_as_git_would_commit(ROOT, tree)
    subprocess.run(
        (sys.executable, '-m', 'build', '--outdir', str(base / 'dist'), str(tree)),
        check=True, capture_output=True,
    )
    (sdist,) = (base / 'dist').glob('*.tar.gz')
    (wheel,) = (base / 'dist').glob('*.whl')
    assert sdist.name == f'digestpin_hooks-{VERSION}.tar.gz'
    assert wheel.name == f'digestpin_hooks-{VERSION}-py3-none-any.whl'
    return sdist, wheel


def test_the_wheel_installs_and_every_console_script_runs(
        built: tuple[Path, Path], tmp_path: Path,
) -> None:
    _, wheel = built
    venv = tmp_path / 'venv'
    # no pip of its own (ensurepip was a third of this test's CPU): this
    # environment's pip installs into it, as test_dependencies does
    subprocess.run((sys.executable, '-m', 'venv', '--without-pip', str(venv)), check=True)
    subprocess.run(
        (sys.executable, '-m', 'pip', '--python', str(venv / 'bin' / 'python'), 'install',
         '-q', '--disable-pip-version-check', str(wheel)),
        check=True, capture_output=True,
    )
    scripts = console_scripts()
    assert len(scripts) == 5
    for script in scripts:
        result = subprocess.run(
            (str(venv / 'bin' / script), '--version'),
            capture_output=True, text=True, cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [script, VERSION]
    (tmp_path / 'Dockerfile').write_text('FROM node:20\n')
    lint = subprocess.run(
        (str(venv / 'bin' / 'digestpin'), 'lint', 'Dockerfile'),
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert lint.returncode == 1
    assert lint.stdout.startswith("Dockerfile:1:6: DP001 'node:20'")
    # the test-only parser is not installed with the wheel
    probe = subprocess.run(
        (str(venv / 'bin' / 'python'), '-c', 'import dockerfile_parse'),
        capture_output=True,
    )
    assert probe.returncode != 0


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ('git', '-c', 'user.name=t', '-c', 'user.email=t@example.com', *args),
        cwd=cwd, check=True, capture_output=True,
    )


def test_every_hook_id_runs_from_the_sdist_through_pre_commit(
        built: tuple[Path, Path], tmp_path: Path, stack: Stack,
) -> None:
    """Each hook id against files of its kind whose images are pinned to a
    real registry: all pass (update and verify through the real daemon);
    then a tag is blocked by lint and pinned by fix.

    The configuration is the one ``pre-commit try-repo`` writes (every id,
    sorted, at the repository's commit), run with one pre-commit store:
    try-repo makes a store of its own at each call, and the three calls
    installed the hooks' environment three times (a third of this test's
    CPU each)."""
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / 'unpacked', filter='data')
    hooks_repo = tmp_path / 'unpacked' / sdist.name[:-len('.tar.gz')]
    git(hooks_repo, 'init', '-q')
    git(hooks_repo, 'add', '-A')
    git(hooks_repo, 'commit', '-qm', 'sdist')

    name = f'{stack.registry}/release/app:1'
    pinned = f'{name}@{stack.push(name, "release")}'
    project = tmp_path / 'project'
    files = {
        'Dockerfile': f'FROM {pinned}\n',
        'compose.yaml': f'services:\n  web:\n    image: {pinned}\n',
        'k8s/pod.yaml': (
            f'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n'
            f'  containers:\n  - name: c\n    image: {pinned}\n'
        ),
        '.github/workflows/ci.yml': (
            f'on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n'
            f'    container: {pinned}\n    steps:\n    - run: true\n'
        ),
        '.gitlab-ci.yml': f'test:\n  image: {pinned}\n  script: [true]\n',
        'bitbucket-pipelines.yml': (
            f'image: {pinned}\npipelines:\n  default:\n    - step:\n        script: [true]\n'
        ),
        '.circleci/config.yml': f'version: 2.1\njobs:\n  b:\n    docker:\n      - image: {pinned}\n',
        'cloudbuild.json': f'{{"steps": [{{"name": "{pinned}"}}]}}\n',
        '.drone.yml': f'kind: pipeline\nsteps:\n- name: a\n  image: {pinned}\n',
        '.devcontainer/devcontainer.json': f'{{\n  // the image\n  "image": "{pinned}",\n}}',
        'chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\n',
        'chart/values.yaml': f'image:\n  repository: {name.rsplit(":", 1)[0]}\n  tag: "1"\n  digest: {pinned.partition("@")[2]}\n',
        'overlay/kustomization.yaml': (
            f'images:\n- name: app\n  newName: {name.rsplit(":", 1)[0]}\n  newTag: "1"\n'
            f'  digest: {pinned.partition("@")[2]}\n'
        ),
    }
    for relative, text in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    git(project, 'init', '-q')
    git(project, 'add', '-A')
    env = {
        **stack.env, 'PRE_COMMIT_HOME': str(tmp_path / 'home'),
        'PRE_COMMIT_COLOR': 'never',
    }

    hooks = yaml.safe_load((hooks_repo / '.pre-commit-hooks.yaml').read_text())
    head = subprocess.run(
        ('git', 'rev-parse', 'HEAD'), cwd=hooks_repo, capture_output=True, text=True, check=True,
    ).stdout.strip()
    config = tmp_path / 'pre-commit-config.yaml'
    config.write_text(yaml.safe_dump({'repos': [{
        'repo': str(hooks_repo), 'rev': head,
        'hooks': [{'id': hook['id']} for hook in sorted(hooks, key=lambda hook: hook['id'])],
    }]}))

    def run_hooks(*hook_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            (sys.executable, '-m', 'pre_commit', 'run', '--config', str(config),
             *hook_id, '--all-files', '--hook-stage', 'manual'),
            cwd=project, env=env, capture_output=True, text=True,
        )

    # no id: every hook of the repository, in one environment
    every = run_hooks()
    assert every.returncode == 0, (every.stdout, every.stderr)
    assert len(hooks) == 52  # 4 per kind, and 4 for every kind
    for hook in hooks:
        # each found its file ("Skipped" would mean no file matched)
        assert re.search(
            rf'^{re.escape(hook["name"])}\.+Passed$', every.stdout, re.MULTILINE,
        ), (hook['id'], every.stdout)

    (project / 'Dockerfile').write_text(f'FROM {name}\n')
    git(project, 'add', 'Dockerfile')
    blocked = run_hooks('digestpin-lint')
    assert blocked.returncode == 1
    assert f"Dockerfile:1:6: DP001 '{name}'" in blocked.stdout
    fixed = run_hooks('digestpin-fix')
    assert fixed.returncode == 1  # pre-commit fails a hook that changed files
    assert (project / 'Dockerfile').read_text() == f'FROM {pinned}\n'
