"""This tree against an earlier revision, side by side, as ratios.

Three measures, the commands of both trees run in turns so that the
machine's load falls on both alike:

1. lint of the whole corpus in one process;
2. lint of one file, as pre-commit runs it;
3. fix of 300 files whose references all carry digests (nothing to pin:
   no daemon is asked).

The earlier revision is checked out into a temporary git worktree (git is
run on this repository only, never on the corpus).  Each process runs from
a neutral folder, so that neither tree shadows the other on sys.path.

Run: python benchmarks/against_rev.py [--rev REV] [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import corpus_files  # noqa: E402
from _common import environment  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = (
    'import sys; from digestpin_hooks.{hook} import main; '
    'raise SystemExit(main(sys.argv[1:]))'
)


def pinned_files(folder: str) -> list[str]:
    digest = 'sha256:' + 'a' * 64
    paths = []
    for k in range(300):
        path = os.path.join(folder, f'{k}.Dockerfile')
        with open(path, 'w') as f:
            f.write(
                f'# syntax=docker/dockerfile:1@{digest}\n'
                f'ARG BASE=golang:1.{k}@{digest}\nFROM $BASE AS build\n'
                f'RUN --mount=type=cache,from=cache:{k}@{digest},target=/c go build\n'
                f'FROM gcr.io/distroless/static:{k}@{digest}\n'
                f'COPY --from=build /app /app\n',
            )
        paths.append(path)
    return paths


def timed_in_turns(
        commands: list[tuple[list[str], dict[str, str]]], runs: int, cwd: str,
) -> list[float]:
    import statistics
    import time
    times: list[list[float]] = [[] for _ in commands]
    for round_ in range(runs + 1):
        for k, (command, env) in enumerate(commands):
            start = time.perf_counter()
            result = subprocess.run(command, env=env, cwd=cwd, capture_output=True)
            elapsed = time.perf_counter() - start
            if result.returncode not in (0, 1, 2):
                sys.exit(f'{command[:3]} failed: {result.stderr.decode(errors="replace")[-300:]}')
            if round_:
                times[k].append(elapsed)
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rev', default='HEAD~1', help='the revision to compare with')
    parser.add_argument('--runs', type=int, default=7)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='dpbench')
    earlier = os.path.join(work, 'earlier')
    subprocess.run(
        ('git', '-C', ROOT, 'worktree', 'add', '--detach', '-q', earlier, args.rev),
        check=True,
    )
    try:
        neutral = os.path.join(work, 'cwd')
        os.mkdir(neutral)
        pinned = os.path.join(work, 'pinned')
        os.mkdir(pinned)
        measures = {
            'lint, whole corpus': ('lint', corpus_files()),
            'lint, one file': ('lint', [os.path.join(ROOT, 'examples', 'Dockerfile')]),
            'fix, 300 files with nothing to pin': ('fix', pinned_files(pinned)),
        }
        print(f'this tree against {args.rev} (medians of {args.runs}, in turns)')
        for label, (hook, files) in measures.items():
            commands = [
                ([sys.executable, '-c', RUN.format(hook=hook), *files],
                 {**environment(), 'PYTHONPATH': tree})
                for tree in (ROOT, earlier)
            ]
            ours, theirs = timed_in_turns(commands, args.runs, neutral)
            print(
                f'{label}: {ours * 1000:.1f} ms vs {theirs * 1000:.1f} ms = '
                f'{ours / theirs:.2f}x',
            )
    finally:
        subprocess.run(
            ('git', '-C', ROOT, 'worktree', 'remove', '--force', earlier),
            check=False,
        )
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
