"""The image-reference grammar of Docker's distribution/reference library.

Pure functions: parse a reference as written, validate its digest, and
normalise a familiar name (``node``) to its full form
(``docker.io/library/node``) the way the Docker CLI and daemon do.
"""
from __future__ import annotations

import functools
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
# the longest reference that can be pulled: a registry host DNS can name
# (253) and its port (``:65535``), ``/``, the path (255: the grammar's bound
# on it), ``:`` and a tag (128), ``@`` and a sha512 digest (7 + 128); the
# grammar itself bounds no host
MAX_REFERENCE_LENGTH = 253 + 6 + 1 + NAME_TOTAL_LENGTH_MAX + 1 + 128 + 1 + 7 + 128

# Hex lengths of the algorithms go-digest registers; anything else is unknown.
DIGEST_HEX_LENGTHS = {'sha256': 64, 'sha384': 96, 'sha512': 128}

# The grammar of distribution/reference (regexp.go), written so that each
# piece is compiled once: a path is alphanumeric runs parted by separators,
# ``/`` among them (components parted by ``/``, each runs parted by ``.``,
# ``_``, ``__`` or dashes, is the same language), and a domain component
# is one alphanumeric, then optionally more ending in one (the same as
# reference's ``[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]``).
# tests/test_reference_grammar.py checks both against the compositions of
# regexp.go.  Compiling is a cost of every run, as long as the pattern, so
# each is compiled on first use, and the most common forms are told by str
# methods: a tag, a path of one component (``node``), an image ID, a digest
# of a registered algorithm.
_PATH_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789'
_DOMAIN_COMPONENT = r'[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?'
_DOMAIN_PATTERN = (
    rf'(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])'
    r'(?::[0-9]+)?\Z'
)
_DIGEST_PATTERN = r'[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]+\Z'
_HEX = '0123456789abcdef'
# a tag, ``[\w][\w.-]{0,127}`` (ASCII): a word character, then up to 127
# of them, dots and dashes
_WORD_CHARACTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'
_TAG_CHARACTERS = _WORD_CHARACTERS + '.-'
_ANY_CASE_HEX = _HEX + 'ABCDEF'


@functools.cache
def _path_re() -> re.Pattern[str]:
    """Compiled on first use: a path of one alphanumeric run needs none."""
    return re.compile(r'[a-z0-9]+(?:(?:[._/]|__|-+)[a-z0-9]+)*\Z', re.ASCII)


@functools.cache
def _domain_re() -> re.Pattern[str]:
    """Compiled on first use: most references name no registry."""
    return re.compile(_DOMAIN_PATTERN, re.ASCII)


@functools.cache
def _digest_re() -> re.Pattern[str]:
    """Compiled on first use: a registered algorithm is checked by
    digest_problem without it."""
    return re.compile(_DIGEST_PATTERN, re.ASCII)


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


def _shown(part: str) -> str:
    """A part of a reference in a reason, quoted and cut at 80 characters:
    the finding names the whole reference already, and a part of a 60 KiB
    line repeated in its reason would double what is printed."""
    return repr(part) if len(part) <= 80 else repr(part[:80]) + f'… ({len(part):,} characters)'


def valid_tag(tag: str) -> bool:
    """Whether ``tag`` is one the grammar takes."""
    return 0 < len(tag) <= 128 and tag[0] in _WORD_CHARACTERS and not tag.strip(
        _TAG_CHARACTERS,
    )


def valid_path(path: str) -> bool:
    """Whether ``path`` is a repository path the grammar takes."""
    if path and not path.strip(_PATH_ALPHANUMERIC):
        return True  # one alphanumeric run (``node``): no pattern compiled
    return _path_re().match(path) is not None


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
    if len(text) <= _REMEMBERED_LENGTH:
        return _remembered_parse(text)
    return _parse(text)


# The same images recur over a repository's files: a lint of the 2,960-file
# corpus parses 3,700 references, of which the 64 last parsed answer 2,650
# (47 million instructions of 2,195).  What is kept is bounded: 64 texts
# of at most 512 characters (a hostile file's megabyte-long "image" is
# parsed, not kept past its file); a Reference is immutable, so sharing one
# is safe, and a text refused raises every time.
_REMEMBERED_LENGTH = 512


def _parse(text: str) -> Reference:
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
        if not valid_tag(tag):
            raise InvalidReference(f'invalid tag {_shown(tag)}')
    else:
        name, tag = remainder, ''
    if not name:
        raise InvalidReference('the repository name is empty')
    # reference's anchoredIdentifierRegexp, [a-f0-9]{64}, over the whole
    # text (ParseNormalizedNamed): an image ID; with a tag it is a name
    if len(text) == 64 and not text.strip(_HEX):
        raise InvalidReference(
            'a 64-character hexadecimal string is an image ID, not a name',
        )
    domain, path = split_domain(name)
    if len(path) > NAME_TOTAL_LENGTH_MAX:  # before its pattern: a bound
        # normalising only lengthens, so this is reference.Parse's refusal
        raise InvalidReference(
            f'repository name longer than {NAME_TOTAL_LENGTH_MAX} characters',
        )
    if domain and not _domain_re().match(domain):
        raise InvalidReference(f'invalid registry {_shown(domain)}')
    if not valid_path(path):
        if path.lower() != path and valid_path(path.lower()):
            raise InvalidReference('repository name must be lowercase')
        raise InvalidReference(f'invalid repository name {_shown(path)}')
    reference = Reference(domain, path, tag, digest)
    # reference.Parse bounds the path once normalised, without its domain
    # (docker.io's library/ counted, a registry's own name not)
    if len(path) > NAME_TOTAL_LENGTH_MAX - len('library/') and len(
        reference.normalized_name.partition('/')[2],
    ) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f'repository name longer than {NAME_TOTAL_LENGTH_MAX} characters',
        )
    return reference


_remembered_parse = functools.lru_cache(maxsize=64)(_parse)


def digest_problem(digest: str) -> str | None:
    """Why ``digest`` is not a valid content digest, or None when it is."""
    algorithm, colon, hex_part = digest.partition(':')
    # a registered algorithm's name matches the grammar's algorithm part:
    # then hex digits are all the digest needs, and the digests most files
    # hold need no pattern compiled
    if algorithm in DIGEST_HEX_LENGTHS:
        valid = bool(hex_part) and not hex_part.strip(_ANY_CASE_HEX)
    else:
        valid = _digest_re().match(digest) is not None
    if not colon or not valid:
        return 'expected <algorithm>:<hex>, e.g. sha256:<64 hex digits>'
    expected = DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        return f'unknown digest algorithm {_shown(algorithm)}'
    if len(hex_part) != expected:
        return (
            f'{algorithm} needs {expected} hex digits, '
            f'this one has {len(hex_part)}'
        )
    if hex_part.lower() != hex_part:
        return 'the hex digits must be lower-case'
    return None
