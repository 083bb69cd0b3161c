"""Linting YAML costs what, per reference, next to linting Dockerfiles?

Builds trees with the same number of image references: a mixed one (the
whole YAML corpus, under the names Compose, Kubernetes and Actions files
have, plus Dockerfiles) and one of Dockerfiles only; then the CI files of
``corpus-kinds`` (GitLab CI, Bitbucket, CircleCI, Cloud Build, Drone and
Woodpecker, dev containers, Helm values, Kustomize, under their kinds' names) and Dockerfiles with as many
references.  Times ``digestpin-lint`` over each (medians, in turns) and
prints the ratios.

Run: python benchmarks/yaml_speed.py [--runs N]
"""
from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from _common import corpus_files  # noqa: E402
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402
from _common import SHARED  # noqa: E402

CORPUS_YAML = os.path.join(SHARED, 'corpus-yaml')
CORPUS_KINDS = os.path.join(SHARED, 'corpus-kinds')
# corpus-kinds kind -> the name its tool reads (in a folder of its own)
CI_NAMES = {
    'gitlab-ci': '.gitlab-ci.yml', 'bitbucket': 'bitbucket-pipelines.yml',
    'circleci': '.circleci/config.yml', 'cloudbuild': 'cloudbuild.yaml',
    'drone-woodpecker': '.drone.yml', 'devcontainer': '.devcontainer/devcontainer.json',
    'helm-values': 'chart/values.yaml', 'kustomize': 'kustomization.yaml',
}


def ci_files() -> list[tuple[str, str]]:
    """(path, conventional name) of every file of corpus-kinds."""
    manifest = os.path.join(CORPUS_KINDS, 'MANIFEST.tsv')
    if not os.path.isfile(manifest):
        sys.exit(f'skipped: the CI file corpus is not at {CORPUS_KINDS}')
    with open(manifest, encoding='utf-8') as f:
        rows = [line.rstrip('\n').split('\t') for line in f][1:]
    found = []
    for row in rows:
        if row[1] in CI_NAMES:
            name = CI_NAMES[row[1]]
            if row[0].endswith('.json'):
                name = 'cloudbuild.json'
            found.append((os.path.join(CORPUS_KINDS, row[0]), name))
    return found


def yaml_files() -> list[tuple[str, str, str]]:
    """(path, kind, original path) of the YAML corpus."""
    manifest = os.path.join(CORPUS_YAML, 'MANIFEST.tsv')
    if not os.path.isfile(manifest):
        sys.exit(f'skipped: the YAML corpus is not at {CORPUS_YAML}')
    with open(manifest, encoding='utf-8') as f:
        rows = [line.rstrip('\n').split('\t') for line in f][1:]
    return [(os.path.join(CORPUS_YAML, r[0]), r[1], r[4]) for r in rows]


def conventional_name(number: int, kind: str, original: str) -> str:
    if kind == 'compose':
        return f'compose/{number:04d}/compose.yaml'
    if kind == 'kubernetes':
        return f'k8s/{number:04d}.yaml'
    if os.path.basename(original) in ('action.yml', 'action.yaml'):
        return f'actions/{number:04d}/action.yml'
    return f'.github/workflows/{number:04d}.yml'


def count_refs(paths: list[str]) -> int:
    from digestpin_hooks.read.files import load
    from digestpin_hooks.read.files import UnreadableFile
    total = 0
    for path in paths:
        try:
            total += len(load(path).refs)
        except UnreadableFile:
            pass
    return total


def compare(
        label: str, lint: str, ours: tuple[list[str], int],
        base: tuple[list[str], int], runs: int,
) -> None:
    """Lint both trees in turns; print the ratio and its cost per reference."""
    (our_files, our_refs), (base_files, base_refs) = ours, base
    our_time, base_time = paired_medians([[lint, *our_files], [lint, *base_files]], runs)
    print(ratio_line(label, our_time, base_time, 'reported'))
    print(f'per reference: {(our_time / our_refs) / (base_time / base_refs):.2f}x')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    lint = shutil.which('digestpin-lint', path=os.path.dirname(sys.executable))
    if lint is None:
        sys.exit('install the package first: pip install .')
    work = tempfile.mkdtemp(prefix='dpy', dir='/tmp')
    try:
        mixed: list[str] = []
        for number, (path, kind, original) in enumerate(yaml_files()):
            dest = os.path.join(work, 'mixed', conventional_name(number, kind, original))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(path, dest)
            mixed.append(dest)
        yaml_refs = count_refs(mixed)
        # copies of the same Dockerfiles serve when one pass is not enough
        dockerfiles = itertools.cycle(corpus_files())

        def take(target: int, folder: str) -> list[str]:
            taken: list[str] = []
            refs = 0
            number = 0
            while refs < target:
                source = next(dockerfiles)
                number += 1
                dest = os.path.join(work, folder, f'{number:04d}', 'Dockerfile')
                os.makedirs(os.path.dirname(dest))
                shutil.copyfile(source, dest)
                found = count_refs([dest])
                if found:
                    taken.append(dest)
                    refs += found
            return taken

        mixed_dockerfiles = take(yaml_refs, 'mixed-dockerfiles')
        mixed += mixed_dockerfiles
        total = count_refs(mixed)
        only = take(total, 'dockerfiles-only')
        only_refs = count_refs(only)
        print(
            f'mixed tree: {len(mixed)} files, {total} references '
            f'({yaml_refs} in {len(mixed) - len(mixed_dockerfiles)} YAML files); '
            f'Dockerfiles only: {len(only)} files, {only_refs} references',
        )
        compare('lint, mixed tree vs Dockerfiles only', lint, (mixed, total), (only, only_refs), args.runs)

        ci: list[str] = []
        for number, (path, name) in enumerate(ci_files()):
            dest = os.path.join(work, 'ci', f'{number:04d}', name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(path, dest)
            if name == 'chart/values.yaml':  # a chart's values: Chart.yaml beside
                with open(os.path.join(os.path.dirname(dest), 'Chart.yaml'), 'w') as f:
                    f.write('apiVersion: v2\nname: c\nversion: 1.0.0\n')
            ci.append(dest)
        ci_refs = count_refs(ci)
        ci_dockerfiles = take(ci_refs, 'ci-dockerfiles')
        ci_dockerfile_refs = count_refs(ci_dockerfiles)
        print(
            f'CI files: {len(ci)} files, {ci_refs} references; Dockerfiles: '
            f'{len(ci_dockerfiles)} files, {ci_dockerfile_refs} references',
        )
        compare(
            'lint, CI files vs Dockerfiles', lint, (ci, ci_refs),
            (ci_dockerfiles, ci_dockerfile_refs), args.runs,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
