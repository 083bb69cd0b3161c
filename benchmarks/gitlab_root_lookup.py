"""What linting one file a repository's ``.gitlab-ci.yml`` includes costs,
as the repository grows: instructions (callgrind) of one lint after the
imports, in repositories of 1,000 and 100,000 unrelated files, for each
source tree given (``python benchmarks/gitlab_root_lookup.py TREE...``,
default this one).  The README's GitLab figures come from here.

One lint's cost is (three lints - one lint) / 2, each in a fresh
``python``: the imports, compiled or not, cancel out.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

LINTS = '''
import contextlib, io, sys
sys.path.insert(0, sys.argv[1])
from digestpin_hooks.lint import main
for _ in range(int(sys.argv[2])):
    with contextlib.redirect_stdout(io.StringIO()):
        main(['--kind', 'gitlab-ci', 'ci/build.yml'])
'''


def repository(top: str, files: int) -> str:
    """A root including ci/all.yml, which includes ci/build.yml, and
    ``files`` others, ten a folder."""
    repo = os.path.join(top, f'repo{files}')
    os.makedirs(os.path.join(repo, '.git'))
    os.makedirs(os.path.join(repo, 'ci'))
    for name, text in (
            ('.gitlab-ci.yml', 'include:\n  - local: ci/all.yml\nvariables:\n  V: "3.12"\n'),
            ('ci/all.yml', 'include: ci/build.yml\n'),
            ('ci/build.yml', 'build:\n  image: python:$V\n'),
    ):
        with open(os.path.join(repo, name), 'w') as f:
            f.write(text)
    for i in range(files // 10):
        folder = os.path.join(repo, 'src', f'm{i:05}')
        os.makedirs(folder)
        for j in range(10):
            open(os.path.join(folder, f'f{j}.py'), 'w').close()
    return repo


def instructions(tree: str, repo: str, lints: int) -> int:
    out = subprocess.run(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
         sys.executable, '-c', LINTS, tree, str(lints)],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stderr
    return int(out.split('Collected : ')[1].split()[0])


def main() -> None:
    trees = [os.path.abspath(t) for t in sys.argv[1:]] or [os.path.dirname(HERE)]
    with tempfile.TemporaryDirectory() as top:
        repos = [(files, repository(top, files)) for files in (1000, 100000)]
        for tree in trees:
            for files, repo in repos:
                one = (instructions(tree, repo, 3) - instructions(tree, repo, 1)) // 2
                print(f'{tree}: {files:,} files: {one / 1e6:,.1f} M instructions a lint')


if __name__ == '__main__':
    main()
