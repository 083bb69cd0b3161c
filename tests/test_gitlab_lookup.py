"""A GitLab root's local includes named by path are looked up alone: the
repository is listed only when an include is a glob, and then each folder
once; what is found is what listing the whole tree found."""
from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from digestpin_hooks.read import files
from tests.test_ci import _repository_with_a_root

BUILD_FINDING = (
    "ci/build.yml:2:10: DP001 'python:3.12' is not pinned to a digest: tag "
    "'3.12' can move; it is made of variables, which digestpin-fix leaves (the "
    'value may be set elsewhere when it runs): pin it where the value is set '
    '(python:3.12@sha256:<digest>) [built from variables]\n'
)


def _listings(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """Each folder os.scandir lists from now on, counted."""
    listed: collections.Counter[str] = collections.Counter()
    scandir = os.scandir

    def counting(path: str) -> os.ScandirIterator[str]:
        listed[os.path.normpath(path)] += 1
        return scandir(path)

    monkeypatch.setattr(os, 'scandir', counting)
    return listed


def _unrelated(repository: Path, count: int) -> None:
    """``count`` files no pipeline names, ten a folder."""
    for i in range(count // 10):
        folder = repository / 'src' / f'm{i:04}'
        folder.mkdir(parents=True)
        for j in range(10):
            (folder / f'f{j}.py').write_bytes(b'')


def _lint_build(
        repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> collections.Counter[str]:
    from digestpin_hooks.lint import main
    monkeypatch.chdir(repository)
    listed = _listings(monkeypatch)
    assert main(['--kind', 'gitlab-ci', 'ci/build.yml']) == 1
    assert capsys.readouterr().out == BUILD_FINDING
    monkeypatch.undo()
    return collections.Counter({
        os.path.relpath(os.path.realpath(path), repository.resolve()): n
        for path, n in listed.items()
    })


def test_a_pipeline_of_named_includes_lists_no_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ci/build.yml given alone: the root and ci/all.yml name their
    includes, so the repository (1,000 other files) is not listed."""
    repository = _repository_with_a_root(tmp_path)
    _unrelated(repository, 1000)
    assert _lint_build(repository, monkeypatch, capsys) == {}


def test_a_glob_lists_each_folder_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ci/all.yml includes ci/b*.yml: the repository is listed, each folder
    once (not .git), and the glob finds ci/build.yml as before."""
    repository = _repository_with_a_root(tmp_path)
    (repository / 'ci' / 'all.yml').write_text("include: 'ci/b*.yml'\n")
    _unrelated(repository, 30)
    listed = _lint_build(repository, monkeypatch, capsys)
    assert listed == {
        '.': 1, 'ci': 1, 'src': 1, 'src/m0000': 1, 'src/m0001': 1, 'src/m0002': 1,
    }


def test_without_a_glob_the_lookup_does_not_grow_with_the_repository(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1,000 and 10,000 unrelated files: no folder listed either way, while
    a glob lists 101 and 1,001 folders (the counter does see the tree)."""
    small, large = tmp_path / 'small', tmp_path / 'large'
    counts = {}
    for top, size in ((small, 1000), (large, 10000)):
        top.mkdir()
        repository = _repository_with_a_root(top)
        _unrelated(repository, size)
        counts[size, 'named'] = sum(_lint_build(repository, monkeypatch, capsys).values())
        (repository / 'ci' / 'all.yml').write_text("include: 'ci/b*.yml'\n")
        counts[size, 'glob'] = sum(_lint_build(repository, monkeypatch, capsys).values())
    assert counts == {
        (1000, 'named'): 0, (1000, 'glob'): 103,
        (10000, 'named'): 0, (10000, 'glob'): 1003,
    }


NAMES = [
    'ci/build.yml', '/ci/build.yml', 'ci/./build.yml', 'ci//build.yml',
    'ci/../ci/build.yml', 'ci/build.yml/', './ci/build.yml', 'ci/missing.yml',
    'ci', 'ci/sub', 'ci/sub/deep.yml', 'ci/link.yml', 'linked-ci/build.yml',
    'ci/fifo.yml', '.git/config.yml', '.GIT/x.yml', '.hg/x.yml', 'ci/sub/.svn/y.yml', 'ci/.git',
    '../outside.yml', '../repo/ci/build.yml', '/../outside.yml', 'ci/../../outside.yml',
    'ci/a\x00b.yml', '', '.', '/', '.gitlab-ci.yml', 'ci/build.yml/../build.yml',
    'ci/\u00e9t\u00e9.yml', 'ci/spaced name.yml',
]


def _tricky(tmp_path: Path) -> Path:
    repository = tmp_path / 'repo'
    (repository / 'ci' / 'sub' / '.svn').mkdir(parents=True)
    (repository / '.git').mkdir()
    (repository / '.hg').mkdir()
    (repository / '.git' / 'config.yml').write_text('x: 1\n')
    (repository / '.GIT').mkdir()
    (repository / '.GIT' / 'x.yml').write_text('x: 1\n')
    (repository / '.hg' / 'x.yml').write_text('x: 1\n')
    (repository / 'ci' / 'sub' / '.svn' / 'y.yml').write_text('x: 1\n')
    (repository / 'ci' / '.git').write_text('a file named .git\n')
    for name in ('build.yml', 'sub/deep.yml', 'spaced name.yml', '\u00e9t\u00e9.yml'):
        (repository / 'ci' / name).write_text('x: 1\n')
    (tmp_path / 'outside.yml').write_text('x: 1\n')
    (repository / 'ci' / 'link.yml').symlink_to('build.yml')
    (repository / 'linked-ci').symlink_to('ci')
    os.mkfifo(repository / 'ci' / 'fifo.yml')
    import json
    (repository / '.gitlab-ci.yml').write_text(
        'include:\n' + ''.join(f'  - local: {json.dumps(n)}\n' for n in NAMES if n),
    )
    return repository


@pytest.mark.parametrize('where', ['absolute', 'relative', 'here', 'through a link'])
def test_a_named_include_is_found_as_the_walk_finds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str,
) -> None:
    """Each name looked up alone finds what the whole tree's listing found,
    in the same order: normalised, inside the folder, a regular file, no
    symlink on the way, nothing in .git/.hg/.svn (a file named .git is a
    file); and it lists no folder."""
    repository = _tricky(tmp_path)
    (tmp_path / 'link').symlink_to('repo')
    monkeypatch.chdir(tmp_path)
    root = {
        'absolute': str(repository / '.gitlab-ci.yml'),
        'relative': 'repo/.gitlab-ci.yml',
        'here': '.gitlab-ci.yml',
        'through a link': 'link/.gitlab-ci.yml',
    }[where]
    if where == 'here':
        monkeypatch.chdir(repository)
    folder = os.path.dirname(root) or '.'
    walked = [os.path.normpath(p) for p in files._walk(folder)]
    expected = files._GitlabIncludes(walked).of(os.path.normpath(root))
    listed = _listings(monkeypatch)
    found = files._GitlabIncludes(None, folder=folder).of(os.path.normpath(root))
    assert listed == {}
    assert found == expected
    top = os.path.dirname(os.path.normpath(root))
    assert [os.path.relpath(p, top or '.') for p in found] == [
        'ci/build.yml', 'ci/sub/deep.yml', 'ci/.git', 'ci/\u00e9t\u00e9.yml',
        'ci/spaced name.yml',
    ]
