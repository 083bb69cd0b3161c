"""Shared helpers for the benchmarks: timing medians of whole processes."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.environ.get(
    'DIGESTPIN_SHARED', os.path.join(HERE, '..', '..', 'shared'),
)
CORPUS = os.path.join(SHARED, 'corpus')


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop('PYTHONDONTWRITEBYTECODE', None)  # as an installed package runs
    return env


def paired_medians(
        commands: Sequence[Sequence[str]],
        runs: int,
        *,
        ok: Sequence[int] = (0, 1, 2),
        prepare: Callable[[], None] | None = None,
) -> list[float]:
    """Median wall times of several commands, run in turns (a, b, a, b, …)
    so that the machine's ups and downs fall on all of them alike."""
    env = environment()
    times: list[list[float]] = [[] for _ in commands]
    for i in range(runs + 1):
        for k, command in enumerate(commands):
            if prepare is not None:
                prepare()
            start = time.perf_counter()
            result = subprocess.run(command, env=env, capture_output=True)
            elapsed = time.perf_counter() - start
            if result.returncode not in ok:
                sys.exit(
                    f'{command[0]} failed ({result.returncode}): '
                    f'{result.stderr.decode(errors="replace")[-500:]}',
                )
            if i:  # the first round warms caches and writes bytecode
                times[k].append(elapsed)
    return [statistics.median(t) for t in times]


def corpus_files() -> list[str]:
    if not os.path.isdir(CORPUS):
        sys.exit(f'skipped: the Dockerfile corpus is not at {CORPUS}')
    files = []
    for folder in sorted(os.listdir(CORPUS)):
        path = os.path.join(CORPUS, folder)
        if os.path.isdir(path):
            files.extend(
                os.path.join(path, name) for name in sorted(os.listdir(path))
                if name != 'result'
            )
    return files


def ratio_line(label: str, ours: float, baseline: float, target: str) -> str:
    return (
        f'{label}: {ours * 1000:.1f} ms vs {baseline * 1000:.1f} ms = '
        f'{ours / baseline:.3f}x (target {target})'
    )


def fresh_install(venv: str, *also: str) -> str:
    """A venv with this tree installed as pre-commit installs a hook (not
    editable), and the packages ``also`` beside it; its Python.  An
    editable install's finder runs at every start of its venv's Python
    (17 ms of a 90 ms ``fix`` in ``-X importtime``), which no user pays."""
    python = os.path.join(venv, 'bin', 'python')
    again: list[str] = []
    if os.path.exists(python):  # this tree as it is now, over the last one
        again = ['--force-reinstall', '--no-deps']
    else:
        subprocess.run([sys.executable, '-m', 'venv', venv], check=True)
    subprocess.run(
        [python, '-m', 'pip', 'install', '-q', *again, ROOT], check=True,
        cwd=tempfile.gettempdir(),
    )
    if also:
        subprocess.run(
            [python, '-m', 'pip', 'install', '-q', *also], check=True,
            cwd=tempfile.gettempdir(),
        )
    return python
