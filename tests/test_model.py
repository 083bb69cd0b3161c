"""Records (model.Record): values that compare, hash, print and copy like
the NamedTuples they replace, without importing typing at run time."""
from __future__ import annotations

import copy
import pickle

import pytest

from digestpin_hooks.check.findings import Policy
from digestpin_hooks.model import ARG_DEFAULT
from digestpin_hooks.model import AS_WRITTEN
from digestpin_hooks.model import BUILT_FROM_VARIABLES
from digestpin_hooks.model import FileError
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import _COMPILE_AFTER
from digestpin_hooks.model import Note
from digestpin_hooks.model import QUOTED
from digestpin_hooks.model import Record
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence
from digestpin_hooks.resolve.credentials import Credential

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final


def ref(**changes: object) -> ImageRef:
    base = ImageRef('FROM', 'node:20', 'node:20', (5, 12), True, 1)
    return base.replace(**changes)


def test_defaults_and_keywords() -> None:
    error = FileError('Dockerfile', 'cannot read')
    assert (error.path, error.message, error.line, error.skipped) == ('Dockerfile', 'cannot read', 0, False)
    assert FileError('a', 'b', skipped=True).skipped is True


def test_equal_when_of_one_class_with_equal_fields() -> None:
    assert ref() == ref()
    assert ref() != ref(how=QUOTED)
    assert ref(span=(5, 12)) == ref()
    # another record with the same values, or a tuple of them, is not equal
    assert Note('a', 1, 2, 'm') != FileError('a', 'm', 1)
    assert Note('a', 1, 2, 'm') != ('a', 1, 2, 'm')


def test_hash_follows_equality() -> None:
    assert hash(ref()) == hash(ref())
    assert len({ref(), ref(), ref(how=QUOTED)}) == 2
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
    changed = original.replace(how=BUILT_FROM_VARIABLES, feeds=(3,))
    assert (changed.how, changed.feeds, changed.image) == (BUILT_FROM_VARIABLES, (3,), 'node:20')
    assert (original.how, original.feeds) == (AS_WRITTEN, ())
    assert type(changed) is ImageRef


def test_replace_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match='nmae'):
        Note('a', 1, 2, 'm').replace(nmae='b')


def test_as_dict_in_field_order() -> None:
    assert Note('D', 3, 6, 'pinned').as_dict() == {'path': 'D', 'line': 3, 'column': 6, 'message': 'pinned'}
    assert list(ref().as_dict())[:3] == ['source', 'image', 'written']


def test_fields_are_the_declared_ones_in_order() -> None:
    assert Note._fields == ('path', 'line', 'column', 'message')
    assert ImageRef._fields[-8:] == (
        'edit_at', 'digest_edit', 'reads', 'left', 'reads_unpinned', 'values_from', 'via', 'detail',
    )
    # (a twentieth field cost the Dockerfile corpus lint 0.35 MiB of peak
    # memory: model.py, ImageRef.detail)
    assert len(ImageRef._fields) == 19
    assert Credential._fields == ('username', 'secret', 'origin')


def test_a_field_cannot_be_set_or_deleted() -> None:
    note = Note('D', 3, 6, 'pinned')
    with pytest.raises(AttributeError, match="Note is immutable: cannot set 'line'"):
        note.line = 4  # type: ignore[misc]
    with pytest.raises(AttributeError, match="Note is immutable: cannot set 'line'"):
        del note.line  # type: ignore[misc]
    with pytest.raises(AttributeError, match="Note is immutable: cannot set 'other'"):
        note.other = 1  # type: ignore[attr-defined]
    assert note == Note('D', 3, 6, 'pinned')
    assert type(note) is Note


def test_hash_of_a_record_with_list_fields() -> None:
    """A YAML node's children are a list the reader fills after making the
    node: the hash leaves such a field out, so it never raises and does not
    change as the list grows."""
    child = Scalar('a', '', 3, 4, 1)
    mapping = YamlMapping([], 0, 1)
    before = hash(mapping)
    mapping.pairs.append((child, child))
    assert hash(mapping) == before
    assert hash(YamlSequence([child], 0, 1)) == hash(YamlSequence([child], 0, 1))
    assert {YamlSequence([child], 0, 1), YamlSequence([child], 0, 1)} == {YamlSequence([child], 0, 1)}
    assert YamlSequence([child], 0, 1) != YamlSequence([], 0, 1)


def test_copy_and_pickle_rebuild_through_the_constructor() -> None:
    original = ref(how=ARG_DEFAULT, via='IMG', detail='FROM')
    assert copy.copy(original) == original
    assert copy.deepcopy(original) == original
    assert pickle.loads(pickle.dumps(original)) == original
    assert type(copy.copy(original)) is ImageRef


class Point(Record):
    """A record of the test's own, whose calls the tests below count."""

    x: Final[int]
    y: Final[int]
    label: Final[str] = ''


def test_the_constructor_is_the_same_before_and_after_it_is_compiled() -> None:
    """A class's first calls bind their arguments without compiling; later
    calls use a compiled constructor: both take the same arguments, fill
    the same record and refuse the same mistakes."""
    seen = []
    for _ in range(_COMPILE_AFTER + 2):
        compiled = '__new__' in Point.__dict__
        point = Point(1, y=2)
        seen.append(compiled)
        assert (point.x, point.y, point.label, type(point)) == (1, 2, '', Point), compiled
        assert Point(1, 2, 'a').label == 'a'
        assert Point(y=1, x=2, label='b') == Point(2, 1, 'b')
        with pytest.raises(TypeError, match=r"Point\(\) missing 1 required positional argument: 'y'"):
            Point(1)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match=r'Point\(\) takes from 3 to 4 positional arguments but 5'):
            Point(1, 2, 'a', 4)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match=r"Point\(\) got an unexpected keyword argument 'z'"):
            Point(1, 2, z=3)  # type: ignore[call-arg]
        with pytest.raises(AttributeError, match='immutable'):
            point.x = 3  # type: ignore[misc]
    assert seen[0] is False and seen[-1] is True


def test_a_field_without_a_default_after_one_with_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match='Bad: a field without a default follows one with a default'):
        class Bad(Record):
            a: Final[int] = 0
            b: Final[int]


class Triple(Record):
    """Three fields, as Point: the two share their compiled code, each with
    its own names."""

    first: Final[str]
    second: Final[str]
    third: Final[int] = 3


def test_records_of_one_size_each_store_their_own_fields() -> None:
    for _ in range(_COMPILE_AFTER + 1):
        point, triple = Point(1, 2, 'p'), Triple('a', 'b')
    assert '__new__' in Point.__dict__ and '__new__' in Triple.__dict__
    assert (point.x, point.y, point.label) == (1, 2, 'p')
    assert (triple.first, triple.second, triple.third) == ('a', 'b', 3)
    assert repr(Triple(second='b', first='a')) == "Triple(first='a', second='b', third=3)"
