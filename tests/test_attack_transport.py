"""Hostile answers to the registry transport (``http.client`` under a pool
of ours): what a registry sends in the headers and the body of its answers
costs its bounds, not what the registry likes.  Fake servers, because a
real registry sends none of this."""
from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest

from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Query
from tests.registries import INDEX_TYPE
from tests.registries import isolated_network
from tests.registries import ScriptedRegistry

MANIFEST = json.dumps({'schemaVersion': 2, 'mediaType': INDEX_TYPE, 'manifests': []}).encode()
DIGEST = 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_network(monkeypatch, tmp_path / 'home')


def gzipped(data: bytes, times: int) -> bytes:
    for _ in range(times):
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        data = compressor.compress(data) + compressor.flush()
    return data


def ask_manifest(registry: ScriptedRegistry, timeout: float = 20) -> object:
    query = Query(registry.address, 'team/app', DIGEST, full=True)
    return ask_all([query], timeout)[query]


@pytest.mark.parametrize(('codings', 'expected'), (
    (5, Manifest(DIGEST, True, ())),
    (6, None),
    # one header line of 64 KiB: 13,000 decoders of 7 KB each (some 90 MB),
    # and http.client reads 100 such lines (over 9 GB) before the body
    (13_000, None),
))
def test_content_codings_are_undone_five_deep_at_most(codings: int, expected: object) -> None:
    """``Content-Encoding: gzip,gzip,…``: every coding named was a
    decoder made before the first byte of the body was read, whatever
    their number.  Five are undone (urllib3 2.6's bound); a sixth refuses
    the answer, before any decoder is made."""
    body = gzipped(MANIFEST, min(codings, 6))
    registry = ScriptedRegistry(lambda r: (
        200, {'Content-Encoding': ','.join(['gzip'] * codings), 'Content-Type': INDEX_TYPE},
        body,
    ))
    try:
        assert ask_manifest(registry) == (expected or Failed(
            f'{registry.address} sent a manifest in more than 5 content codings; not read',
        ))
    finally:
        registry.close()
