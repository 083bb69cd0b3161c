"""resolve/registry_source.py, the ``registry`` source: each question
answered at its own typed key, against a scripted loopback registry (a real
one does not fail one tag on demand)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from digestpin_hooks.reference import parse_reference
from digestpin_hooks.resolve.answers import DigestKey
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import SourceOptions
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.resolve.registry_source import RegistrySource
from tests.registries import isolated_credentials
from tests.registries import Request
from tests.registries import ScriptedRegistry
from tests.stack import free_port

INDEX = json.dumps({
    'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
    'manifests': [],
}).encode()
INDEX_DIGEST = 'sha256:' + hashlib.sha256(INDEX).hexdigest()
INDEX_TYPE = 'application/vnd.oci.image.index.v1+json'


@pytest.fixture(autouse=True)
def no_user_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_credentials(monkeypatch, tmp_path / 'home')


def tags(request: Request) -> tuple[int, dict[str, str], bytes]:
    """Tag 1 and the index's digest: the index; tag busy: 503; else 404."""
    reference = request.path.rsplit('/', 1)[-1]
    if reference in ('1', INDEX_DIGEST):
        return 200, {'Content-Type': INDEX_TYPE, 'Docker-Content-Digest': INDEX_DIGEST}, INDEX
    if reference == 'busy':
        return 503, {}, b'busy'
    return 404, {}, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}'


@pytest.fixture
def registry() -> object:
    served = ScriptedRegistry(tags)
    yield served
    served.close()


def source() -> RegistrySource:
    return RegistrySource(SourceOptions(None, 5.0))


def test_digests_answer_each_tag_at_its_key(registry: ScriptedRegistry) -> None:
    name = f'{registry.address}/team/app'
    answers = source().digests([TagKey(name, '1'), TagKey(name, 'gone'), TagKey(name, 'busy')])
    assert answers[TagKey(name, '1')] == Found(INDEX_DIGEST)
    gone = answers[TagKey(name, 'gone')]
    assert isinstance(gone, Missing) and gone.hint == f'check the name and tag of {name}:gone'
    busy = answers[TagKey(name, 'busy')]
    assert isinstance(busy, Failed) and not busy.unreachable
    assert busy.reason.startswith('the registry could not be asked: ')


def test_a_5xx_at_the_tag_fails_that_question_only(registry: ScriptedRegistry) -> None:
    """A 503 at the tag is Failed at the tag's key; the digest is still
    Found, with its manifest: only a registry that cannot be reached at all
    fails the source."""
    name = f'{registry.address}/team/app'
    answers = source().manifests([parse_reference(f'{name}:busy@{INDEX_DIGEST}')])
    assert answers[DigestKey(name, INDEX_DIGEST)] == Found(
        INDEX_DIGEST, Manifest(INDEX_DIGEST, True, ()),
    )
    busy = answers[TagKey(name, 'busy')]
    assert isinstance(busy, Failed) and not busy.unreachable


def test_no_registry_reachable_is_a_source_error() -> None:
    dead = f'127.0.0.1:{free_port()}'
    with pytest.raises(SourceError) as failed:
        source().manifests([parse_reference(f'{dead}/team/app:1@{INDEX_DIGEST}')])
    assert failed.value.unreachable
    assert str(failed.value) == f'cannot connect to {dead}: no registry could be reached'
