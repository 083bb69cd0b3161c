"""The hooks under real pre-commit, in a throw-away git repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.stack import Stack
from tests.worktree import copy_as_git_would_commit

ROOT = Path(__file__).resolve().parent.parent
H = 'b' * 64


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ('git', '-c', 'user.name=t', '-c', 'user.email=t@example.com', *args),
        cwd=cwd, capture_output=True, text=True, check=check,
    )


def snapshot_of(root: Path, dest: Path) -> str:
    """A git repo holding root's working tree as it is, like try-repo makes."""
    copy_as_git_would_commit(root, dest)
    git(dest, 'init', '-q')
    git(dest, 'add', '-A')
    git(dest, 'commit', '-qm', 'snapshot')
    return git(dest, 'rev-parse', 'HEAD').stdout.strip()


def test_the_snapshot_leaves_ignored_folders_out(tmp_path: Path) -> None:
    root = tmp_path / 'root'
    (root / '.venv' / 'lib').mkdir(parents=True)
    (root / 'pkg').mkdir()
    (root / '.gitignore').write_text('.venv/\n*.pyc\n')
    (root / '.venv' / 'lib' / 'big.py').write_text('x')
    (root / 'pkg' / 'a.py').write_text('a')
    (root / 'pkg' / 'a.pyc').write_text('c')
    (root / 'new.txt').write_text('untracked but not ignored')
    git(root, 'init', '-q')
    git(root, 'add', '.gitignore', 'pkg/a.py')
    git(root, 'commit', '-qm', 'base')
    snapshot_of(root, tmp_path / 'dest')
    committed = git(tmp_path / 'dest', 'ls-files').stdout.split()
    assert committed == ['.gitignore', 'new.txt', 'pkg/a.py']


@pytest.fixture(scope='module')
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    if shutil.which('git') is None:
        pytest.skip('git is not installed')
    base = tmp_path_factory.mktemp('precommit')
    rev = snapshot_of(ROOT, base / 'hooks')
    return base / 'hooks', rev, base / 'home'


def make_project(tmp_path: Path, hooks: tuple[Path, str, Path], hook_ids: list[str]) -> dict[str, str]:
    repo, rev, home = hooks
    git(tmp_path, 'init', '-q')
    ids = ''.join(f'    -   id: {h}\n' for h in hook_ids)
    (tmp_path / '.pre-commit-config.yaml').write_text(
        f'repos:\n-   repo: {repo}\n    rev: {rev}\n    hooks:\n{ids}',
    )
    env = {**os.environ, 'PRE_COMMIT_HOME': str(home)}
    subprocess.run(
        (sys.executable, '-m', 'pre_commit', 'install'),
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )
    git(tmp_path, 'add', '.pre-commit-config.yaml')
    return env


def commit(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ('git', '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'x'),
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )


def test_lint_hook_blocks_a_tag_and_passes_a_pin(
        tmp_path: Path, hooks_repo: tuple[Path, str, Path],
) -> None:
    env = make_project(tmp_path, hooks_repo, ['digestpin-lint'])
    (tmp_path / 'Dockerfile').write_text('FROM node:20\n')
    git(tmp_path, 'add', 'Dockerfile')
    blocked = commit(tmp_path, env)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    output = blocked.stdout + blocked.stderr  # git passes hook output on
    assert "Dockerfile:1:6: DP001 'node:20' is not pinned to a digest" in output
    assert git(tmp_path, 'log', check=False).returncode != 0  # nothing committed

    (tmp_path / 'Dockerfile').write_text(f'FROM node:20@sha256:{H}\n')
    git(tmp_path, 'add', 'Dockerfile')
    passed = commit(tmp_path, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    output = passed.stdout + passed.stderr
    assert 'digestpin lint' in output and 'Passed' in output


def test_fix_hook_pins_then_the_commit_goes_through(
        tmp_path: Path, hooks_repo: tuple[Path, str, Path], stack: Stack,
) -> None:
    image = f'{stack.registry}/x/precommit:1'
    digest = stack.push(image, 'pre-commit')
    env = make_project(tmp_path, hooks_repo, ['digestpin-fix'])
    env['DOCKER_HOST'] = stack.host
    (tmp_path / 'Dockerfile').write_text(f'FROM {image}\n')
    git(tmp_path, 'add', 'Dockerfile')
    stopped = commit(tmp_path, env)
    output = stopped.stdout + stopped.stderr
    assert stopped.returncode == 1, output
    assert 'files were modified by this hook' in output
    assert f'Dockerfile:1:6: pinned {image} -> {image}@{digest}' in output
    assert (tmp_path / 'Dockerfile').read_text() == f'FROM {image}@{digest}\n'

    git(tmp_path, 'add', 'Dockerfile')
    passed = commit(tmp_path, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert git(tmp_path, 'show', 'HEAD:Dockerfile').stdout == f'FROM {image}@{digest}\n'


def test_yaml_hooks_read_only_their_own_files(
        tmp_path: Path, hooks_repo: tuple[Path, str, Path],
) -> None:
    env = make_project(tmp_path, hooks_repo, [
        'digestpin-lint', 'digestpin-lint-compose', 'digestpin-lint-actions',
        'digestpin-lint-kubernetes',
    ])
    # YAML that is none of the kinds, and not even valid: no hook may read it
    (tmp_path / 'config.yaml').write_text('a: [\n')
    (tmp_path / 'compose.yaml').write_text('services:\n  web:\n    image: nginx:1.25\n')
    (tmp_path / 'k8s').mkdir()
    (tmp_path / 'k8s' / 'pod.yaml').write_text(
        'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: busybox\n',
    )
    git(tmp_path, 'add', '.')
    blocked = commit(tmp_path, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "compose.yaml:3:12: DP001 'nginx:1.25'" in output
    assert "k8s/pod.yaml:5:12: DP002 'busybox'" in output
    assert 'config.yaml' not in output


def test_lint_all_reads_every_kind_by_its_name_in_one_run(
        tmp_path: Path, hooks_repo: tuple[Path, str, Path],
) -> None:
    """One hook id for every kind: Dockerfiles (Dockerfile-dev too, which
    identify gives no tag), Compose files and Kustomizations (``Kustomization``
    neither), each read as its own kind; other YAML is not read."""
    env = make_project(tmp_path, hooks_repo, ['digestpin-lint-all'])
    (tmp_path / 'Dockerfile-dev').write_text('FROM node:20\n')
    (tmp_path / 'compose.yaml').write_text('services:\n  web:\n    image: nginx:1.25\n')
    (tmp_path / 'base').mkdir()
    (tmp_path / 'base' / 'Kustomization').write_text(
        'images:\n- name: redis\n  newTag: "7"\n',
    )
    (tmp_path / 'config.yaml').write_text('a: [\n')
    git(tmp_path, 'add', '.')
    blocked = commit(tmp_path, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "Dockerfile-dev:1:6: DP001 'node:20' is not pinned to a digest" in output
    assert "compose.yaml:3:12: DP001 'nginx:1.25' is not pinned to a digest" in output
    assert "base/Kustomization:2:3: DP001 'redis:7' is not pinned to a digest" in output
    assert 'summary: 3 findings (DP001 3) in 3 files' in output
    assert 'config.yaml' not in output


def readme_block_after(heading: str) -> str:
    """The first YAML block of the README after ``heading``."""
    readme = (ROOT / 'README.md').read_text()
    rest = readme[readme.index(heading):]
    return rest[rest.index('```yaml\n') + len('```yaml\n'):rest.index('\n```', rest.index('```yaml'))]


def test_on_pre_commit_ci_lint_needs_no_network_nor_daemon(
        tmp_path: Path, hooks_repo: tuple[Path, str, Path],
) -> None:
    """The README's pre-commit.ci configuration, run as pre-commit.ci runs
    it: hook environments installed first, then the hooks in a network
    namespace of their own (no network at all) with no Docker daemon and the
    ``ci: skip`` ids in SKIP. lint runs and finds the tag; the skipped ids
    are exactly the ones that fail there."""
    repo, rev, home = hooks_repo
    config = yaml.safe_load(readme_block_after('### On pre-commit.ci'))
    skip = config['ci']['skip']
    assert config['repos'][0]['rev'] == 'main'
    config['repos'][0].update(repo=str(repo), rev=rev)
    hooks = {h['id']: h for h in yaml.safe_load((ROOT / '.pre-commit-hooks.yaml').read_text())}
    assert {h['id'] for h in config['repos'][0]['hooks']} == {'digestpin-lint-all', *skip}
    assert all(hooks[h]['entry'].split()[0] != 'digestpin-lint' for h in skip)

    git(tmp_path, 'init', '-q')
    (tmp_path / '.pre-commit-config.yaml').write_text(yaml.safe_dump(config))
    (tmp_path / 'Dockerfile').write_text('FROM node:20\nFROM example.com/a:1@sha256:' + 'c' * 64 + '\n')
    git(tmp_path, 'add', '-A')
    env = {
        **os.environ, 'PRE_COMMIT_HOME': str(home), 'PRE_COMMIT_COLOR': 'never',
        'DOCKER_HOST': f'unix://{tmp_path}/no-daemon.sock',
    }
    subprocess.run(
        (sys.executable, '-m', 'pre_commit', 'install-hooks'),
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )

    def offline(hook_id: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ('unshare', '--net', '--', sys.executable, '-m', 'pre_commit', 'run',
             '--all-files', '--hook-stage', 'manual', hook_id),
            cwd=tmp_path, env={**env, **more}, capture_output=True, text=True,
        )
    daemon = (
        f'cannot use the Docker daemon at unix://{tmp_path}/no-daemon.sock '
        f'(from DOCKER_HOST): there is no socket at that path'
    )
    why = {
        'digestpin-fix-all': f'digestpin-fix: error: {daemon}',
        'digestpin-update-all': f'digestpin-update: error: {daemon}',
        'digestpin-verify-all': 'digestpin-verify: error: cannot connect to example.com: no registry could be reached',
    }
    lint = offline('digestpin-lint-all')
    assert lint.returncode == 1, lint.stdout + lint.stderr
    assert "Dockerfile:1:6: DP001 'node:20' is not pinned to a digest" in lint.stdout
    for hook_id in skip:
        skipped = offline(hook_id, SKIP=','.join(skip))
        assert skipped.returncode == 0, skipped.stdout
        assert skipped.stdout.startswith(f'{hooks[hook_id]["name"]}')
        assert skipped.stdout.splitlines()[0].endswith('Skipped'), skipped.stdout
        ran = offline(hook_id)
        assert ran.returncode == 1, ran.stdout  # pre-commit's 1 for any failure
        assert why[hook_id] in ran.stdout, ran.stdout
