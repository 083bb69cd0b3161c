"""resolve/answers.py: the typed keys and answers every source speaks."""
from __future__ import annotations

import pytest

from digestpin_hooks.reference import parse_reference
from digestpin_hooks.resolve.answers import digest_key
from digestpin_hooks.resolve.answers import DigestKey
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey

A = 'sha256:' + 'a' * 64


@pytest.mark.parametrize(('key', 'text'), (
    (TagKey('docker.io/library/node', '20'), 'node:20'),
    (TagKey('docker.io/mine/app', '1'), 'mine/app:1'),
    (TagKey('ghcr.io/o/app', 'v1'), 'ghcr.io/o/app:v1'),
    (DigestKey('docker.io/library/node', A), f'node@{A}'),
    (DigestKey('127.0.0.1:5000/team/app', A), f'127.0.0.1:5000/team/app@{A}'),
    # a short name that would read back as another image keeps its domain
    (TagKey('docker.io/localhost/app', '1'), 'docker.io/localhost/app:1'),
    (TagKey('docker.io/my.org/app', '1'), 'docker.io/my.org/app:1'),
    (TagKey('docker.io/library/team/app', '1'), 'library/team/app:1'),
    (TagKey('localhost/app', '1'), 'localhost/app:1'),
))
def test_familiar_names(key: TagKey | DigestKey, text: str) -> None:
    assert familiar(key) == text


def test_a_reference_is_asked_by_its_normalised_keys() -> None:
    """Two spellings of one image ask one question: the keys are records of
    the normalised name, never the text as written."""
    short, long = parse_reference(f'node:20@{A}'), parse_reference(f'docker.io/library/node:20@{A}')
    assert tag_key(short) == tag_key(long) == TagKey('docker.io/library/node', '20')
    assert digest_key(short) == digest_key(long) == DigestKey('docker.io/library/node', A)
    assert len({tag_key(short), digest_key(short), tag_key(long), digest_key(long)}) == 2


def test_a_tag_key_is_not_a_digest_key() -> None:
    assert TagKey('r/x', A) != DigestKey('r/x', A)


def test_answers_are_records() -> None:
    assert Found(A) == Found(A, None)
    assert Missing('gone') == Missing('gone', '')
    assert Failed('429').unreachable is False
    with pytest.raises(AttributeError):
        Found(A).digest = 'x'  # type: ignore[misc]


def test_a_source_error_keeps_the_unreadable_files() -> None:
    from digestpin_hooks.model import FileError
    error = SourceError('no daemon', unreachable=True).after([FileError('a', 'bad')])
    assert (str(error), error.unreachable, error.file_errors) == (
        'no daemon', True, (FileError('a', 'bad'),),
    )
