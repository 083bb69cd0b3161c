"""The image-reference grammar of Docker's distribution/reference library.

Pure functions: parse a reference as written, validate its digest, and
normalise a familiar name (``node``) to its full form
(``docker.io/library/node``) the way the Docker CLI and daemon do.
"""
from __future__ import annotations

import re

from digestpin_hooks.model import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

DEFAULT_DOMAIN = 'docker.io'
LEGACY_DOMAIN = 'index.docker.io'
OFFICIAL_REPO_PREFIX = 'library/'
DEFAULT_TAG = 'latest'
NAME_TOTAL_LENGTH_MAX = 255

# Hex lengths of the algorithms go-digest registers; anything else is unknown.
DIGEST_HEX_LENGTHS = {'sha256': 64, 'sha384': 96, 'sha512': 128}

_ALNUM = r'[a-z0-9]+'
_SEPARATOR = r'(?:[._]|__|[-]+)'
_PATH_COMPONENT = rf'{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*'
_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN_NAME = rf'{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*'
_IPV6 = r'\[(?:[a-fA-F0-9:]+)\]'
_HOST = rf'(?:{_DOMAIN_NAME}|{_IPV6})'
_DOMAIN = rf'{_HOST}(?::[0-9]+)?'
_TAG = r'[\w][\w.-]{0,127}'
_DIGEST = r'[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]+'

_PATH_RE = re.compile(rf'{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z', re.ASCII)
_DOMAIN_RE = re.compile(rf'{_DOMAIN}\Z', re.ASCII)
_TAG_RE = re.compile(rf'{_TAG}\Z', re.ASCII)
_DIGEST_RE = re.compile(rf'{_DIGEST}\Z', re.ASCII)
_IDENTIFIER_RE = re.compile(r'[a-f0-9]{64}\Z')


class Reference(Record):
    """A syntactically valid reference, split as written (not normalised)."""

    domain: Final[str]  # '' when the reference names none
    path: Final[str]
    tag: Final[str]  # '' when absent
    digest: Final[str]  # '' when absent; may be malformed, see digest_problem()

    @property
    def name(self) -> str:
        return f'{self.domain}/{self.path}' if self.domain else self.path

    @property
    def normalized_name(self) -> str:
        """``node`` -> ``docker.io/library/node``, as Docker normalises it."""
        domain = self.domain or DEFAULT_DOMAIN
        if domain == LEGACY_DOMAIN:
            domain = DEFAULT_DOMAIN
        path = self.path
        if domain == DEFAULT_DOMAIN and '/' not in path:
            path = OFFICIAL_REPO_PREFIX + path
        return f'{domain}/{path}'

    @property
    def normalized_tag(self) -> str:
        return self.tag or DEFAULT_TAG

    def with_digest(self, digest: str, *, keep_tag: bool = True) -> str:
        """The reference as written, pinned to ``digest``."""
        tag = f':{self.tag}' if self.tag and keep_tag else ''
        return f'{self.name}{tag}@{digest}'


class InvalidReference(ValueError):
    """The text is not a valid image reference (DP005)."""


def split_domain(name: str) -> tuple[str, str]:
    """Split off the registry the way Docker decides that one is named."""
    first, sep, rest = name.partition('/')
    if not sep:
        return '', name
    if (
        '.' in first or ':' in first or first == 'localhost'
        or first.lower() != first
    ):
        return first, rest
    return '', name


def parse_reference(text: str) -> Reference:
    """Parse ``text`` as ``[domain/]path[:tag][@digest]``.

    Raises InvalidReference with the reason when ``text`` breaks the grammar.
    A digest that has the right overall shape but an unknown algorithm or a
    wrong length is *not* rejected here: see digest_problem().
    """
    if not text:
        raise InvalidReference('the reference is empty')
    remainder, at, digest = text.partition('@')
    if at and not digest:
        raise InvalidReference('nothing follows "@"')
    # a ':' after the last '/' separates the tag
    slash = remainder.rfind('/')
    colon = remainder.rfind(':')
    if colon > slash:
        name, tag = remainder[:colon], remainder[colon + 1:]
        if not _TAG_RE.match(tag):
            raise InvalidReference(f'invalid tag {tag!r}')
    else:
        name, tag = remainder, ''
    if not name:
        raise InvalidReference('the repository name is empty')
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f'repository name longer than {NAME_TOTAL_LENGTH_MAX} characters',
        )
    domain, path = split_domain(name)
    if domain and not _DOMAIN_RE.match(domain):
        raise InvalidReference(f'invalid registry {domain!r}')
    if not _PATH_RE.match(path):
        if path.lower() != path and _PATH_RE.match(path.lower()):
            raise InvalidReference('repository name must be lowercase')
        raise InvalidReference(f'invalid repository name {path!r}')
    if not domain and _IDENTIFIER_RE.match(path):
        raise InvalidReference(
            'a 64-character hexadecimal string is an image ID, not a name',
        )
    return Reference(domain, path, tag, digest)


def digest_problem(digest: str) -> str | None:
    """Why ``digest`` is not a valid content digest, or None when it is."""
    algorithm, colon, hex_part = digest.partition(':')
    if not colon or not _DIGEST_RE.match(digest):
        return 'expected <algorithm>:<hex>, e.g. sha256:<64 hex digits>'
    expected = DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        return f'unknown digest algorithm {algorithm!r}'
    if len(hex_part) != expected:
        return (
            f'{algorithm} needs {expected} hex digits, '
            f'this one has {len(hex_part)}'
        )
    if hex_part.lower() != hex_part:
        return 'the hex digits must be lower-case'
    return None
