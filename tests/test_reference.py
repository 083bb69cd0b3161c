from __future__ import annotations

import pytest

from digestpin_hooks.reference import digest_problem
from digestpin_hooks.reference import InvalidReference
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import Reference

D64 = 'sha256:' + 'a' * 64


@pytest.mark.parametrize(
    ('text', 'domain', 'path', 'tag', 'digest'),
    (
        ('node', '', 'node', '', ''),
        ('node:20-alpine', '', 'node', '20-alpine', ''),
        (f'node@{D64}', '', 'node', '', D64),
        (f'node:20@{D64}', '', 'node', '20', D64),
        ('library/node', '', 'library/node', '', ''),
        ('localhost/x', 'localhost', 'x', '', ''),
        ('localhost:5000/team/app', 'localhost:5000', 'team/app', '', ''),
        ('ghcr.io/o/r:v1.2', 'ghcr.io', 'o/r', 'v1.2', ''),
        ('[::1]:5000/a/b:c', '[::1]:5000', 'a/b', 'c', ''),
        ('a__b/c-d.e---f:_x', '', 'a__b/c-d.e---f', '_x', ''),
        ('mcr.microsoft.com/windows/servercore:ltsc2022', 'mcr.microsoft.com',
         'windows/servercore', 'ltsc2022', ''),
    ),
)
def test_parse_valid(text: str, domain: str, path: str, tag: str, digest: str) -> None:
    assert parse_reference(text) == Reference(domain, path, tag, digest)


@pytest.mark.parametrize(('text', 'domain', 'path', 'tag', 'digest'), (
    # ParseNormalizedNamed refuses 64 hex digits only as the whole text
    ('a' * 64 + ':latest', '', 'a' * 64, 'latest', ''),
    ('a' * 64 + '@' + D64, '', 'a' * 64, '', D64),
    # reference.Parse bounds the path without its registry (255)
    ('registry.example.com/' + 'a' * 255, 'registry.example.com', 'a' * 255, '', ''),
    ('a' * 247, '', 'a' * 247, '', ''),
    ('team/' + 'a' * 250, '', 'team/' + 'a' * 250, '', ''),
))
def test_parse_valid_as_distribution_reference_reads_it(
        text: str, domain: str, path: str, tag: str, digest: str,
) -> None:
    """On main, each of these was refused: the image ID test took a
    tagged name, and the length bound counted the registry's name but not
    docker.io's library/."""
    assert parse_reference(text) == Reference(domain, path, tag, digest)


@pytest.mark.parametrize(
    ('text', 'reason'),
    (
        ('', 'empty'),
        ('Node:20', 'must be lowercase'),
        ('node:', 'invalid tag'),
        ('node:-x', 'invalid tag'),
        ('node:' + 'x' * 129, 'invalid tag'),
        ('no de', 'invalid repository name'),
        ('node/', 'invalid repository name'),
        ('-node', 'invalid repository name'),
        ('node@', 'nothing follows'),
        ('a' * 64, 'image ID'),
        # the path once normalised, as reference.Parse bounds it
        ('a' * 248, 'longer than 255'),
        ('docker.io/' + 'a' * 248 + ':1', 'longer than 255'),
        ('example.com/' + 'a' * 256, 'longer than 255'),
        # a long part is cut in the reason: the finding names it whole
        ('x' * 100 + '-.io/a', r"invalid registry 'x{80}'… \(104 characters\)$"),
        ('bad_host.io:x/y', 'invalid registry'),
        ('x' * 256, 'longer than 255'),
    ),
)
def test_parse_invalid(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason):
        parse_reference(text)


@pytest.mark.parametrize(
    ('text', 'normalized', 'tag'),
    (
        ('node', 'docker.io/library/node', 'latest'),
        ('node:20', 'docker.io/library/node', '20'),
        ('user/app:1', 'docker.io/user/app', '1'),
        ('docker.io/node', 'docker.io/library/node', 'latest'),
        ('index.docker.io/library/node:1', 'docker.io/library/node', '1'),
        ('127.0.0.1:5000/x/y:t', '127.0.0.1:5000/x/y', 't'),
        ('localhost/node', 'localhost/node', 'latest'),
    ),
)
def test_normalise(text: str, normalized: str, tag: str) -> None:
    ref = parse_reference(text)
    assert (ref.normalized_name, ref.normalized_tag) == (normalized, tag)


@pytest.mark.parametrize(
    ('digest', 'problem'),
    (
        (D64, None),
        ('sha512:' + 'b' * 128, None),
        ('sha384:' + 'c' * 96, None),
        ('sha256:abc123', 'sha256 needs 64 hex digits, this one has 6'),
        ('sha256:' + 'A' * 64, 'the hex digits must be lower-case'),
        ('md5:' + 'a' * 32, "unknown digest algorithm 'md5'"),
        ('sha256:' + 'g' * 64, 'expected <algorithm>:<hex>'),
        ('nocolon', 'expected <algorithm>:<hex>'),
    ),
)
def test_digest_problem(digest: str, problem: str | None) -> None:
    result = digest_problem(digest)
    if problem is None:
        assert result is None
    else:
        assert result is not None and result.startswith(problem)


def test_with_digest() -> None:
    ref = parse_reference('node:20')
    assert ref.with_digest(D64) == f'node:20@{D64}'
    assert ref.with_digest(D64, keep_tag=False) == f'node@{D64}'


def test_a_short_reference_is_parsed_once_a_long_one_is_not_kept() -> None:
    # the files of a repository name the same images: a text parsed lately
    # is answered by the same (immutable) record; a long one, which a
    # hostile file can make megabytes long, is parsed again, not kept
    assert parse_reference('node:20') is parse_reference('node:20')
    long = 'r' * 600 + '.io/app:1'
    assert parse_reference(long) == parse_reference(long) == Reference('r' * 600 + '.io', 'app', '1', '')
    assert parse_reference(long) is not parse_reference(long)
