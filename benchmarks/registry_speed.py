"""Resolving 100 distinct references from a local registry, three ways, in
turns in one run:

- ``digestpin-fix --source registry`` (the registry asked directly);
- ``digestpin-fix --source daemon-registry`` (the daemon's distribution
  endpoint, the path before the direct source);
- 100 ``skopeo inspect`` calls (Debian's skopeo), one per reference.

Targets: direct <= 0.5x the daemon path; 100 skopeo calls >= 5x direct.
Both fix runs are ``--dry-run`` (the same file is resolved every turn).

Needs what the test suite needs (dockerd, docker-registry, skopeo; root).
Run: python benchmarks/registry_speed.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402

REFERENCES = 100
MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json'


def tag_everywhere(registry: str, repository: str, source_tag: str, count: int) -> list[str]:
    """``count`` tags of one pushed image, PUT through the registry API."""
    url = f'http://{registry}/v2/{repository}/manifests'
    request = urllib.request.Request(f'{url}/{source_tag}', headers={'Accept': MANIFEST_TYPE})
    with urllib.request.urlopen(request) as answer:
        manifest = answer.read()
    tags = []
    for n in range(count):
        tag = f't{n}'
        put = urllib.request.Request(
            f'{url}/{tag}', data=manifest, method='PUT',
            headers={'Content-Type': MANIFEST_TYPE},
        )
        with urllib.request.urlopen(put) as answer:
            assert answer.status == 201
        tags.append(tag)
    return tags


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    for tool in ('skopeo', 'digestpin-fix'):
        if shutil.which(tool) is None and not os.path.exists(
            os.path.join(os.path.dirname(sys.executable), tool),
        ):
            sys.exit(f'skipped: {tool} is not installed')
    from tests.stack import start_stack

    def unavailable(reason: str) -> None:
        sys.exit(f'skipped: {reason}')

    fix = os.path.join(os.path.dirname(sys.executable), 'digestpin-fix')
    for stack in start_stack(unavailable):
        repository = 'bench/app'
        stack.push(f'{stack.registry}/{repository}:base', 'bench')
        tags = tag_everywhere(stack.registry, repository, 'base', REFERENCES)
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, 'Dockerfile')
            with open(path, 'w') as f:
                f.writelines(f'FROM {stack.registry}/{repository}:{tag}\n' for tag in tags)
            skopeo_loop = ' '.join(
                f'skopeo inspect --tls-verify=false docker://{stack.registry}/{repository}:{tag} >/dev/null &&'
                for tag in tags
            ) + ' true'
            direct, daemon, skopeo = paired_medians([
                [fix, '--dry-run', '--source', 'registry', path],
                [fix, '--dry-run', '--source', 'daemon-registry', '--docker-host', stack.host, path],
                ['sh', '-c', skopeo_loop],
            ], args.runs, ok=(0, 1))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(f'{REFERENCES} distinct references from a local registry, medians of {args.runs} runs in turns:')
        print(ratio_line('direct (--source registry) vs the daemon path (--source daemon-registry)', direct, daemon, '<= 0.5x'))
        print(ratio_line(f'{REFERENCES} skopeo inspect calls vs direct', skopeo, direct, '>= 5x'))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
