"""Matching the daemon's image list: a digest only from the same repository."""
from __future__ import annotations

import pytest

from digestpin_hooks.resolve.matching import familiar
from digestpin_hooks.resolve.matching import from_distribution
from digestpin_hooks.resolve.matching import LocalImages

A = 'sha256:' + 'a' * 64
B = 'sha256:' + 'b' * 64

IMAGES = [
    {'Id': 'sha256:1', 'RepoTags': ['node:20'], 'RepoDigests': [f'node@{A}']},
    {'Id': 'sha256:2', 'RepoTags': ['ghcr.io/o/app:1', 'mine/app:1'], 'RepoDigests': [f'ghcr.io/o/app@{B}']},
    {'Id': 'sha256:3', 'RepoTags': ['built:1'], 'RepoDigests': []},
    {'Id': 'sha256:4', 'RepoTags': ['multi:1'], 'RepoDigests': [f'multi@{A}', f'multi@{B}']},
    {'Id': 'sha256:5', 'RepoTags': None, 'RepoDigests': [f'dangling@{A}']},
    {'Id': 'sha256:6', 'RepoTags': ['localhost:5000/x:2'], 'RepoDigests': ['localhost:5000/x@sha256:bad']},
]


@pytest.mark.parametrize(
    ('key', 'digest', 'reason'),
    (
        (('docker.io/library/node', '20'), A, ''),
        (('ghcr.io/o/app', '1'), B, ''),
        (('docker.io/mine/app', '1'), '', 'registry digests only for other repositories (ghcr.io/o/app)'),
        (('docker.io/library/built', '1'), '', 'has no registry digest'),
        (('docker.io/library/multi', '1'), '', 'several digests for this repository'),
        (('docker.io/library/node', 'latest'), '', 'not present locally'),
        (('localhost:5000/x', '2'), '', 'has no registry digest'),
    ),
)
def test_local_resolution(key: tuple[str, str], digest: str, reason: str) -> None:
    resolution = LocalImages(IMAGES).resolve(key)
    assert resolution.digest == digest
    assert reason in resolution.reason
    if not digest:
        assert resolution.hint


def test_familiar_names() -> None:
    assert familiar(('docker.io/library/node', '20')) == 'node:20'
    assert familiar(('docker.io/mine/app', '1')) == 'mine/app:1'
    assert familiar(('ghcr.io/o/app', 'v1')) == 'ghcr.io/o/app:v1'


def test_distribution_answer() -> None:
    assert from_distribution(('r/x', '1'), {'Descriptor': {'digest': A}}).digest == A
    assert from_distribution(('r/x', '1'), {'Descriptor': {'digest': 'nope'}}).digest == ''
    assert from_distribution(('r/x', '1'), {}).digest == ''
