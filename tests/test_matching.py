"""resolve/matching.py: the daemon's image list and distribution answers,
matched to a key: a digest only from the same repository."""
from __future__ import annotations

import pytest

from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import TagKey
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
    answer = LocalImages(IMAGES).resolve(TagKey(*key))
    if digest:
        assert answer == Found(digest)
    else:
        assert isinstance(answer, Missing)
        assert reason in answer.reason
        assert answer.hint


def test_distribution_answer() -> None:
    key = TagKey('r/x', '1')
    assert from_distribution(key, {'Descriptor': {'digest': A}}) == Found(A)
    assert from_distribution(key, {'Descriptor': {'digest': 'nope'}}) == Failed(
        'the registry gave no valid digest for r/x:1',
        hint='check the image name, or try --source pull',
    )
    assert isinstance(from_distribution(key, {}), Failed)
