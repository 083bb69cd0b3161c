"""Issue 22's lint rows, each as a ratio against a baseline run alongside.

Every lint command runs from a fresh non-editable install (``pip install
.`` into a new venv, as pre-commit installs a hook), so that an editable
install's finder is not part of the figures; the baselines run with that
venv's Python.  Medians of alternating runs (``_common.paired_medians``).

1. the Dockerfile corpus in one process vs a bare read + one regex (<= 4x);
2. one Dockerfile vs ``python -c pass`` (<= 2.5x);
3. one Compose file vs ``python -c pass`` (<= 3x);
4. corpus-yaml and corpus-kinds, under their kinds' names, vs a process
   that runs ``yaml.load_all`` with ``CSafeLoader`` over each file (<= 1.25x);
5. peak memory (maximum resident set) of lint over the Dockerfile corpus
   (<= 20 MiB), next to that of an empty script given the same arguments:
   in one process given every file's absolute name, and as pre-commit runs
   the hook (names relative to the repository, split into command lines
   as its ``xargs.partition`` splits them: at most 128 KiB and
   files / CPUs a line).

Run: python benchmarks/lint_targets.py [--runs N] [--venv DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from _common import CORPUS  # noqa: E402
from _common import corpus_files  # noqa: E402
from _common import environment  # noqa: E402
from _common import fresh_install  # noqa: E402
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402
from lint_speed import BARE  # noqa: E402
from yaml_speed import ci_files  # noqa: E402
from yaml_speed import conventional_name  # noqa: E402
from yaml_speed import yaml_files  # noqa: E402

YAML_BASELINE = (
    'import sys, yaml\n'
    'for path in sys.argv[1:]:\n'
    "    with open(path, 'rb') as f:\n"
    '        data = f.read()\n'
    '    try:\n'
    '        list(yaml.load_all(data, Loader=yaml.CSafeLoader))\n'
    '    except yaml.YAMLError:\n'
    '        pass\n'
)
COMPOSE = '''\
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    depends_on: [db, cache]
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example
  cache:
    image: redis:7-alpine
'''


# runs a command as its own process (forked from this small one, which
# reads the command from a file so that its own pages stay few), then
# writes the child's peak resident set (ru_maxrss, KiB).  A forked child's
# peak is the larger of its own and the pages it shared with this process
# at the fork (about 9 MiB), and no other process's: one started by vfork
# (subprocess, posix_spawn) carries the forking benchmark's pages.  No code
# of ours runs in the measured process: a wrapper inside it (runpy, atexit)
# added its own imports, 0.9 MiB, to every figure.
PEAK = (
    'import os, sys\n'
    'with open(sys.argv[2]) as f:\n'
    "    argv = f.read().split('\\0')\n"
    'pid = os.fork()\n'
    'if pid == 0:\n'
    '    try:\n'
    '        os.execv(argv[0], argv)\n'
    '    finally:\n'
    '        os._exit(127)\n'
    '_, _, usage = os.wait4(pid, 0)\n'
    "with open(sys.argv[1], 'w') as f:\n"
    '    f.write(str(usage.ru_maxrss))\n'
)


def peak_rss(python: str, command: list[str], cwd: str, work: str = '') -> float:
    """The peak resident set of one run of the script ``command[0]`` (run
    by ``python``) in ``cwd``, MiB (written to a file in ``work``, by
    default ``cwd``)."""
    out = os.path.join(work or cwd, 'peak')
    given = os.path.join(work or cwd, 'command')
    with open(given, 'w') as f:
        f.write('\0'.join([python, *command]))
    subprocess.run(
        [python, '-c', PEAK, out, given], cwd=cwd, env=environment(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(out) as f:
        return int(f.read()) / 1024


def precommit_chunks(command: list[str], names: list[str]) -> list[list[str]]:
    """``names`` split into command lines as pre-commit runs a hook that is
    not ``require_serial`` (its ``xargs.partition``): at most 2**17 bytes
    of command line (less where ARG_MAX, less the environment and 2,048,
    is smaller), at most ceil(names / CPUs) names a line."""
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
    environ = sum(len(k) + len(v) + 2 + 8 for k, v in os.environb.items())
    limit = max(min(os.sysconf('SC_ARG_MAX') - 2048 - environ, 2 ** 17), 2 ** 12)
    most = max(4, -(-len(names) // jobs))
    base = len(' '.join(command).encode()) + 1
    chunks: list[list[str]] = [[]]
    size = base
    for name in names:
        length = len(name.encode()) + 1
        if chunks[-1] and (size + length > limit or len(chunks[-1]) >= most):
            chunks.append([])
            size = base
        chunks[-1].append(name)
        size += length
    return chunks


def copied_yaml(work: str) -> tuple[list[str], list[str]]:
    """corpus-yaml and corpus-kinds copied under their kinds' names."""
    ours = []
    for number, (path, kind, original) in enumerate(yaml_files()):
        dest = os.path.join(work, 'yaml', conventional_name(number, kind, original))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(path, dest)
        ours.append(dest)
    kinds = []
    for number, (path, name) in enumerate(ci_files()):
        dest = os.path.join(work, 'kinds', f'{number:04d}', name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(path, dest)
        if name == 'chart/values.yaml':
            with open(os.path.join(os.path.dirname(dest), 'Chart.yaml'), 'w') as f:
                f.write('apiVersion: v2\nname: c\nversion: 1.0.0\n')
        kinds.append(dest)
    return ours, kinds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument(
        '--venv', help='reuse this venv (made with pip install . when missing)',
    )
    parser.add_argument(
        '--only', choices=('corpus', 'one', 'yaml', 'memory'), action='append',
    )
    args = parser.parse_args()
    only = set(args.only or ('corpus', 'one', 'yaml', 'memory'))
    work = tempfile.mkdtemp(prefix='dplint')
    try:
        python = fresh_install(args.venv or os.path.join(work, 'venv'))
        lint = [os.path.join(os.path.dirname(python), 'digestpin-lint')]
        files = corpus_files()
        if 'corpus' in only:
            ours, bare = paired_medians(
                [[*lint, *files], [python, '-c', BARE, *files]], args.runs,
            )
            print(ratio_line(
                f'lint, Dockerfile corpus ({len(files)} files) vs bare read + '
                'one regex', ours, bare, '<= 4x',
            ))
        if 'one' in only:
            one = next(f for f in files if 'docker-node' in f)
            compose = os.path.join(work, 'compose.yaml')
            with open(compose, 'w') as f:
                f.write(COMPOSE)
            ours, nothing, compose_time = paired_medians(
                [[*lint, one], [python, '-c', 'pass'], [*lint, compose]],
                args.runs * 3,
            )
            print(ratio_line(
                'lint, one Dockerfile vs python -c pass', ours, nothing, '<= 2.5x',
            ))
            print(ratio_line(
                'lint, one Compose file vs python -c pass', compose_time, nothing,
                '<= 3x',
            ))
        if 'yaml' in only:
            yaml_tree, kinds_tree = copied_yaml(work)
            for label, tree in (('corpus-yaml', yaml_tree), ('corpus-kinds', kinds_tree)):
                ours, base = paired_medians(
                    [[*lint, *tree], [python, '-c', YAML_BASELINE, *tree]], args.runs,
                )
                print(ratio_line(
                    f'lint, {label} ({len(tree)} files) vs yaml.load_all with '
                    'CSafeLoader per file', ours, base, '<= 1.25x',
                ))
        if 'memory' in only:
            ours = max(peak_rss(python, [*lint, *files], work) for _ in range(3))
            empty = os.path.join(work, 'empty.py')
            with open(empty, 'w') as f:
                f.write('pass\n')
            nothing = max(peak_rss(python, [empty], work) for _ in range(3))
            # the interpreter's own copies of thousands of arguments are
            # megabytes before any code runs: the same arguments to nothing
            given = max(peak_rss(python, [empty, *files], work) for _ in range(3))
            print(
                f'peak memory, lint of the Dockerfile corpus in one process '
                f'({len(files)} absolute names): {ours:.1f} MiB '
                f'(target <= 20 MiB); an empty script: {nothing:.1f} MiB, with '
                f'the same {len(files)} arguments: {given:.1f} MiB',
            )
            # as pre-commit runs the hook: names relative to the repository
            # (here the corpus folder), split into its command lines
            names = [os.path.relpath(f, CORPUS) for f in files]
            chunks = precommit_chunks(lint, names)
            peaks = [
                max(peak_rss(python, [*lint, *chunk], CORPUS, work) for _ in range(3))
                for chunk in chunks
            ]
            given = max(
                max(peak_rss(python, [empty, *chunk], CORPUS, work) for _ in range(3))
                for chunk in chunks
            )
            print(
                f'peak memory, lint of the Dockerfile corpus as pre-commit runs '
                f'it ({len(chunks)} processes of up to {max(map(len, chunks))} '
                f'relative names): {max(peaks):.1f} MiB (target <= 20 MiB); an '
                f'empty script given the largest of those lines: {given:.1f} MiB',
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
