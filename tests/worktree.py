"""The checkout's files as a push would hold them, for the tests that build
or install from a copy of it (pre-commit's, the release's).

Copying the whole folder took .venv, coverage data and the like along (152
MB committed per pre-commit run), and .ci/tools' consuming tools (269 MB,
Node among them) into every release build; git's own listing is what a
push would hold.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def files_git_would_commit(root: Path) -> list[str]:
    """Tracked and untracked files that .gitignore does not exclude."""
    listed = subprocess.run(
        ('git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'),
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout
    return sorted(name for name in set(listed.split('\0')) if name and (root / name).is_file())


def copy_as_git_would_commit(root: Path, dest: Path) -> None:
    """Copy into ``dest`` (made here) the files git would commit of ``root``."""
    dest.mkdir(parents=True)
    for name in files_git_would_commit(root):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, dest / name)
