"""Issue 22's growth row: the CPU a lint costs per 10 times more input, in
one process, the garbage collector as the command line sets it (frozen,
its threshold raised while the run lasts).  Target: at most x11.

- a Dockerfile of FROM stages, 10,000 and 100,000;
- a Compose file of services, 1,000 and 10,000;
- a Kustomization of images, 10,000 and 100,000.

Each size is linted in a fresh process (``python -c``, the package as it
is imported from this checkout), and only the lint is timed (process time
around ``lint.main``, best of ``--runs``): the interpreter's start, which
does not grow, is no part of the ratio.  Sizes in turns, so that the
machine's load falls on both alike.

Run: python benchmarks/growth_speed.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from _common import environment  # noqa: E402

# the lint of one file in a process of its own: its CPU seconds, printed
TIMED = '''
import contextlib, io, sys, time
sys.path.insert(0, sys.argv[1])
from digestpin_hooks.lint import main
with contextlib.redirect_stdout(io.StringIO()):
    start = time.process_time()
    main([sys.argv[2]])
    print(time.process_time() - start, file=sys.stderr)
'''


def dockerfile(stages: int) -> bytes:
    return b''.join(b'FROM alpine:3.%d AS s%d\nRUN true\n' % (i % 20, i) for i in range(stages))


def compose(services: int) -> bytes:
    return b'services:\n' + b''.join(
        b'  s%d:\n    image: nginx:1.%d\n    ports: ["80"]\n' % (i, i % 30) for i in range(services)
    )


def kustomization(images: int) -> bytes:
    return b'images:\n' + b''.join(
        b'  - name: img%d\n    newTag: "1.%d"\n' % (i, i) for i in range(images)
    )


CASES = (
    ('Dockerfile FROM stages', 'Dockerfile', dockerfile, 10_000),
    ('Compose services', 'compose.yaml', compose, 1_000),
    ('Kustomize images', 'kustomization.yaml', kustomization, 10_000),
)


def lint_seconds(path: str) -> float:
    result = subprocess.run(
        (sys.executable, '-c', TIMED, ROOT, path),
        env=environment(), capture_output=True, text=True,
    )
    return float(result.stderr.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='dp-growth-') as work:
        for label, name, make, small in CASES:
            paths = []
            for size in (small, small * 10):
                folder = os.path.join(work, f'{name}-{size}')
                os.mkdir(folder)
                path = os.path.join(folder, name)
                with open(path, 'wb') as f:
                    f.write(make(size))
                paths.append(path)
            best = [float('inf'), float('inf')]
            lint_seconds(paths[0])  # bytecode written, caches warm
            for _ in range(args.runs):
                for k, path in enumerate(paths):
                    best[k] = min(best[k], lint_seconds(path))
            print(
                f'growth, {label} {small:,} -> {small * 10:,}: {best[1] * 1000:.1f} ms vs '
                f'{best[0] * 1000:.1f} ms = x{best[1] / best[0]:.1f} (target <= x11)',
                flush=True,
            )
    return 0


if __name__ == '__main__':
    sys.exit(main())
