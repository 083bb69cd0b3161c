"""resolve/sources.py, the table of sources: ``--source`` names one class,
imported only when asked, each answering ``digests`` and ``manifests``."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digestpin_hooks.config import FIX_SOURCES
from digestpin_hooks.config import SOURCES as CONFIG_SOURCES
from digestpin_hooks.config import UPDATE_SOURCES
from digestpin_hooks.config import VERIFY_SOURCES
from digestpin_hooks.resolve.sources import SOURCES


def test_every_source_the_options_name_is_in_the_table() -> None:
    assert set(CONFIG_SOURCES) == set(SOURCES)
    assert set(FIX_SOURCES) | set(UPDATE_SOURCES) | set(VERIFY_SOURCES) <= set(SOURCES)


@pytest.mark.parametrize('name', sorted(SOURCES))
def test_each_source_is_one_class_that_answers_both_questions(name: str) -> None:
    module, _, cls = SOURCES[name].partition(':')
    source = getattr(importlib.import_module(module), cls)
    assert isinstance(source, type)
    assert callable(source.digests) and callable(source.manifests)


def test_the_registry_source_loads_no_docker_sdk() -> None:
    """A source is imported only when it is asked: --source registry never
    loads the docker SDK, and a source not yet asked loads neither."""
    code = (
        'import sys\n'
        'from digestpin_hooks.resolve.sources import open_source\n'
        "s = open_source('registry', None, 5.0)\n"
        "print('http.client' in sys.modules, end=' ')\n"
        's.digests([])\n'
        "print('http.client' in sys.modules, 'docker' in sys.modules, 'requests' in sys.modules)\n"
    )
    out = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True, check=True).stdout
    assert out == 'False True False False\n'


def test_trusted_passes_answers_through_without_rules() -> None:
    from digestpin_hooks.resolve.answers import Found
    from digestpin_hooks.resolve.answers import TagKey
    from digestpin_hooks.resolve.sources import trusted

    def digests(keys):  # type: ignore[no-untyped-def]
        return {key: Found('sha256:' + 'a' * 64) for key in keys}
    assert trusted(digests, (), 5.0) is digests
    assert trusted(digests, (), 5.0)([TagKey('r/x', '1')]) == {TagKey('r/x', '1'): Found('sha256:' + 'a' * 64)}


def test_the_registry_source_loads_no_subprocess_signal_or_hashlib_before_it_needs_them(tmp_path: Path) -> None:
    """``subprocess`` (some 2 ms to import) and ``signal`` (its enums of
    every signal: 3 million instructions) are loaded to run a credential
    helper, not for a run that reads a credential file or none; hashlib
    (11 million instructions: OpenSSL's digests listed) to hash a body,
    which fix's HEAD answers do not carry."""
    home = tmp_path / 'home'
    (home / '.docker').mkdir(parents=True)
    (home / '.docker' / 'config.json').write_text('{"auths": {}}')
    code = (
        'import sys\n'
        'from digestpin_hooks.resolve.sources import open_source\n'
        "open_source('registry', None, 5.0).digests([])\n"
        'from digestpin_hooks.resolve.credentials import credential_for\n'
        "print(credential_for('127.0.0.1:1', 5.0), 'subprocess' in sys.modules, 'signal' in sys.modules, 'hashlib' in sys.modules)\n"
    )
    environment = {'PATH': os.environ['PATH'], 'HOME': str(home)}
    out = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True, check=True, env=environment)
    assert out.stdout == 'None False False False\n'


def test_the_registry_source_loads_no_json_before_a_body_is_read() -> None:
    """json (some 1.3 ms to import, before the first request) is for a
    manifest, a config, a token or a credential file: a tag's HEAD answer
    carries its digest, so fix --source registry of a registry that asks
    for no login reads no JSON at all."""
    code = (
        'import sys\n'
        'from digestpin_hooks.resolve.sources import open_source\n'
        "open_source('registry', None, 5.0).digests([])\n"
        'import digestpin_hooks.resolve.credentials\n'
        "print('json' in sys.modules)\n"
    )
    out = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True, check=True).stdout
    assert out == 'False\n'
