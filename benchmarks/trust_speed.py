"""``digestpin-verify`` of 100 signed pins with a trust policy, against the
same run without one, in turns in one run: what checking who signed each
pin costs.

A registry of its own (``docker-registry``, no daemon); 100 distinct images,
half signed in cosign's legacy layout (``.sig``), half with a Sigstore bundle
in the referrers tag schema, by one ECDSA P-256 key made here.  No target is
set yet: the figure is what the README reports.

Needs ``docker-registry``.  Run: python benchmarks/trust_speed.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402

PINS = 100


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    verify = os.path.join(os.path.dirname(sys.executable), 'digestpin-verify')
    if shutil.which('docker-registry') is None:
        sys.exit('skipped: docker-registry is not installed')
    from tests.cosign import new_key
    from tests.cosign import public_pem
    from tests.cosign import Registry
    from tests.cosign import registry_only
    from tests.cosign import sign_bundle
    from tests.cosign import sign_legacy

    for address in registry_only():
        registry = Registry(address)
        key = new_key()
        lines = []
        for n in range(PINS):
            repository = f'signed/app{n}'
            digest = registry.image(repository, '1', f'image {n}')
            if n % 2:
                sign_bundle(registry, repository, digest, key)
            else:
                sign_legacy(registry, repository, digest, key)
            lines.append(f'FROM {address}/{repository}:1@{digest}\n')
        folder = tempfile.mkdtemp()
        try:
            trusted, plain = (os.path.join(folder, name) for name in ('trusted', 'plain'))
            for root in (trusted, plain):
                os.makedirs(os.path.join(root, '.git'))
                with open(os.path.join(root, 'Dockerfile'), 'w') as f:
                    f.writelines(lines)
            with open(os.path.join(trusted, 'cosign.pub'), 'wb') as f:
                f.write(public_pem(key))
            with open(os.path.join(trusted, 'pyproject.toml'), 'w') as f:
                f.write(
                    f'[[tool.digestpin.trust]]\nimages = ["{address}/signed/*"]\n'
                    'key = "cosign.pub"\n',
                )
            with_policy, without = paired_medians([
                ['sh', '-c', f'cd {trusted} && {verify} --timeout 60 Dockerfile'],
                ['sh', '-c', f'cd {plain} && {verify} --timeout 60 Dockerfile'],
            ], args.runs, ok=(0,))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(f'verify of {PINS} signed pins, medians of {args.runs} runs in turns:')
        print(ratio_line('with a trust policy vs without', with_policy, without, 'none yet'))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
