"""The example workflows parse, and every digestpin command in them is valid."""
from __future__ import annotations

import os
import shlex

import pytest

from digestpin_hooks.__main__ import COMMANDS

EXAMPLES = os.path.join(os.path.dirname(__file__), '..', 'examples')


def commands_in(workflow: dict[str, object]) -> list[list[str]]:
    found = []
    for job in workflow['jobs'].values():  # type: ignore[attr-defined]
        for step in job['steps']:
            for line in step.get('run', '').splitlines():
                words = shlex.split(line.split('>')[0]) if 'digestpin ' in line else []
                if words[:1] == ['digestpin'] and not line.lstrip().startswith(('echo', '#')):
                    found.append(words[1:])
    return found


@pytest.mark.parametrize('name', ('digestpin-update.yml', 'digestpin-verify.yml'))
def test_example_workflow(name: str) -> None:
    yaml = pytest.importorskip('yaml')
    with open(os.path.join(EXAMPLES, name)) as f:
        workflow = yaml.safe_load(f)
    commands = commands_in(workflow)
    assert commands
    import argparse
    for argv in commands:
        module, _ = COMMANDS[argv[0]]
        parser = argparse.ArgumentParser(exit_on_error=False)
        module.add_arguments(parser)  # type: ignore[attr-defined]
        parser.parse_args(argv[1:])  # raises on an option we do not have


def test_the_keyless_signing_example_signs_with_the_jobs_identity() -> None:
    """What the README's keyless rule trusts: the workflow asks GitHub for
    an OIDC token and signs the pushed digest with it."""
    yaml = pytest.importorskip('yaml')
    with open(os.path.join(EXAMPLES, 'cosign-sign-keyless.yml')) as f:
        workflow = yaml.safe_load(f)
    assert workflow['permissions']['id-token'] == 'write'
    steps = workflow['jobs']['release']['steps']
    assert steps[-1]['run'] == 'cosign sign --yes "ghcr.io/acme/base@${{ steps.push.outputs.digest }}"'
    with open(os.path.join(EXAMPLES, '..', 'README.md')) as f:
        readme = f.read()
    identity = 'https://github.com/acme/base/.github/workflows/release.yml@refs/heads/main'
    assert f'identity = "{identity}"' in readme
