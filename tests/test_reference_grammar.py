"""The reference grammar as reference.py writes it (each piece once, the
patterns compiled on first use, a tag, a path of one component, an image
ID and a registered algorithm's digest told by str methods) accepts exactly what the compositions of
distribution/reference's regexp.go accept, kept below as they were first
written here.  A pin must never land in the wrong image: the corpus's
references and generated strings are tried in both."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from digestpin_hooks import reference
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.reference import InvalidReference
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import split_domain
from digestpin_hooks.reference import valid_path
from digestpin_hooks.reference import valid_tag
from tests.corpus import oracle_entries
from tests.corpus import require_corpus

# regexp.go's compositions, piece by piece
_ALNUM = r'[a-z0-9]+'
_SEPARATOR = r'(?:[._]|__|[-]+)'
_PATH_COMPONENT = rf'{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*'
_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN_NAME = rf'{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*'
_IPV6 = r'\[(?:[a-fA-F0-9:]+)\]'
_HOST = rf'(?:{_DOMAIN_NAME}|{_IPV6})'
_DOMAIN = rf'{_HOST}(?::[0-9]+)?'
_DIGEST = r'[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]+'
GO_PATH = re.compile(rf'{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z', re.ASCII)
GO_DOMAIN = re.compile(rf'{_DOMAIN}\Z', re.ASCII)
GO_DIGEST = re.compile(rf'{_DIGEST}\Z', re.ASCII)
GO_IDENTIFIER = re.compile(r'[a-f0-9]{64}\Z')
GO_TAG = re.compile(r'[\w][\w.-]{0,127}\Z', re.ASCII)
BAD_DIGEST = 'expected <algorithm>:<hex>, e.g. sha256:<64 hex digits>'

# the characters the grammar tells apart, and some it refuses
NAME_CHARACTERS = 'ab09Z-._/_:[]@ \n\u0131\u212a'
st_name = st.text(NAME_CHARACTERS, max_size=24)
st_hex = st.text('0123456789abcdefABCDEFg:', max_size=70)


def path_accepted(path: str) -> bool:
    return valid_path(path)


def domain_accepted(domain: str) -> bool:
    return reference._domain_re().match(domain) is not None


def is_image_id(path: str) -> bool:
    """What parse_reference says of a valid path without a registry."""
    try:
        parse_reference(path)
    except InvalidReference as e:
        return 'image ID' in str(e)
    return False


def agree(text: str) -> None:
    """Every piece of ``text`` that parse_reference checks, and ``text``
    itself in each role, is accepted by both grammars alike."""
    remainder, _, digest = text.partition('@')
    name = remainder
    if remainder.rfind(':') > remainder.rfind('/'):
        name = remainder[:remainder.rfind(':')]
    domain, path = split_domain(name)
    for candidate in {text, remainder, name, domain, path, path.lower(), digest}:
        assert path_accepted(candidate) is (GO_PATH.match(candidate) is not None), candidate
        assert domain_accepted(candidate) is (GO_DOMAIN.match(candidate) is not None), candidate
        assert valid_tag(candidate) is (GO_TAG.match(candidate) is not None), candidate
        assert (digest_problem(candidate) == BAD_DIGEST) is (
            GO_DIGEST.match(candidate) is None
        ), candidate
        if GO_PATH.match(candidate):
            assert is_image_id(candidate) is (GO_IDENTIFIER.match(candidate) is not None)


def images(node: Any) -> Iterator[str]:
    """Every ``image`` the BuildKit oracle records, wherever it stands."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'image' and isinstance(value, str):
                yield value
            else:
                yield from images(value)
    elif isinstance(node, list):
        for item in node:
            yield from images(item)


def test_the_corpus_references_read_alike() -> None:
    require_corpus()
    seen = {image for entry in oracle_entries() for image in images(entry)}
    assert len(seen) == 942  # the distinct references of the oracle
    for text in seen:
        agree(text)


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
@given(st_name)
@example('a__b/c-d.e---f')
@example('')
@example('localhost/')
@example('a___b')
@example('a/-b')
@example('localhost:5000')
@example('[::1]:5000')
@example('a-.b')
@example('a.-b')
@example('-a.b')
@example('a-')
@example('a' * 63 + 'b')
@settings(max_examples=3000)
def test_names_read_alike(text: str) -> None:
    agree(text)
    agree(text + '/' + text)


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
@given(st.sampled_from(('sha256', 'sha384', 'sha512', 'md5', 'sha256+b64', 'x.y', '1a', '')), st_hex)
@example('sha256', 'a' * 64)
@example('sha256', 'A' * 64)
@example('sha256', '')
@example('sha256', ':')
@settings(max_examples=2000)
def test_digests_read_alike(algorithm: str, hex_part: str) -> None:
    agree('a@' + algorithm + ':' + hex_part)
    agree('a@' + algorithm + hex_part)


@given(st.text('0123456789abcdefg', min_size=62, max_size=66))
@example('a' * 64)
@example('0' * 64)
@example('a' * 63 + 'g')
@settings(max_examples=1000)
def test_image_ids_read_alike(text: str) -> None:
    agree(text)


@given(st.text('aZ09_.-:\u0131\u212a\xe9 ', min_size=120, max_size=140))
@example('a' * 128)
@example('a' * 129)
@example('_' + '-' * 127)
@settings(max_examples=500)
def test_long_tags_read_alike(text: str) -> None:
    agree(text)
    agree('a:' + text)
