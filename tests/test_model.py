"""Records (model.Record): values that compare, hash, print and copy like
the NamedTuples they replace, without importing typing at run time."""
from __future__ import annotations

import pytest

from digestpin_hooks.check.findings import Policy
from digestpin_hooks.model import FileError
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import Note
from digestpin_hooks.resolve.credentials import Credential


def ref(**changes: object) -> ImageRef:
    base = ImageRef('FROM', 'node:20', 'node:20', (5, 12), True, 1)
    return base.replace(**changes)


def test_defaults_and_keywords() -> None:
    error = FileError('Dockerfile', 'cannot read')
    assert (error.path, error.message, error.line, error.skipped) == ('Dockerfile', 'cannot read', 0, False)
    assert FileError('a', 'b', skipped=True).skipped is True


def test_equal_when_of_one_class_with_equal_fields() -> None:
    assert ref() == ref()
    assert ref() != ref(note='x')
    assert ref(span=(5, 12)) == ref()
    # another record with the same values, or a tuple of them, is not equal
    assert Note('a', 1, 2, 'm') != FileError('a', 'm', 1)
    assert Note('a', 1, 2, 'm') != ('a', 1, 2, 'm')


def test_hash_follows_equality() -> None:
    assert hash(ref()) == hash(ref())
    assert len({ref(), ref(), ref(note='x')}) == 2
    assert {Policy(): 1}[Policy()] == 1


def test_repr_names_every_field() -> None:
    assert repr(Note('D', 3, 6, 'pinned')) == "Note(path='D', line=3, column=6, message='pinned')"


def test_a_record_may_print_less() -> None:
    # the one record that holds a secret says what it is, never the secret
    credential = Credential('user', 's3cret', 'helper')
    assert 's3cret' not in repr(credential)
    assert credential == Credential('user', 's3cret', 'helper')


def test_replace_copies_and_leaves_the_original() -> None:
    original = ref()
    changed = original.replace(note='from a variable', feeds=(3,))
    assert (changed.note, changed.feeds, changed.image) == ('from a variable', (3,), 'node:20')
    assert (original.note, original.feeds) == ('', ())
    assert type(changed) is ImageRef


def test_replace_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match='nmae'):
        Note('a', 1, 2, 'm').replace(nmae='b')


def test_as_dict_in_field_order() -> None:
    assert Note('D', 3, 6, 'pinned').as_dict() == {'path': 'D', 'line': 3, 'column': 6, 'message': 'pinned'}
    assert list(ref().as_dict())[:3] == ['source', 'image', 'written']


def test_fields_are_the_declared_ones_in_order() -> None:
    assert Note._fields == ('path', 'line', 'column', 'message')
    assert ImageRef._fields[-4:] == ('edit_at', 'digest_edit', 'reads', 'left')
    assert Credential._fields == ('username', 'secret', 'origin')
