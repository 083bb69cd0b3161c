"""The registry client's reading of answers, one rule at a time, against a
scripted loopback server (no daemon, no real registry needed)."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.read.jsonc import parse_jsonc
from digestpin_hooks.read.yaml_nodes import YamlError
from digestpin_hooks.resolve.registry import _retry_after
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Missing
from digestpin_hooks.resolve.registry import parse_challenge
from digestpin_hooks.resolve.registry import Query
from digestpin_hooks.verify import main as verify_main
from tests.registries import Handler
from tests.registries import isolated_credentials
from tests.registries import Request
from tests.registries import ScriptedRegistry

CONFIG = json.dumps({'os': 'linux', 'architecture': 'arm64', 'variant': 'v8'}).encode()
CONFIG_DIGEST = 'sha256:' + hashlib.sha256(CONFIG).hexdigest()
IMAGE = json.dumps({
    'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': CONFIG_DIGEST, 'size': len(CONFIG)},
    'layers': [],
}).encode()
IMAGE_DIGEST = 'sha256:' + hashlib.sha256(IMAGE).hexdigest()


@pytest.fixture(autouse=True)
def no_user_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolated_credentials(monkeypatch, tmp_path / 'home')


def single_image(request: Request, config: bytes = CONFIG) -> tuple[int, dict[str, str], bytes]:
    if '/manifests/' in request.path:
        return 200, {'Content-Type': 'application/vnd.oci.image.manifest.v1+json'}, IMAGE
    if request.path.endswith(f'/blobs/{CONFIG_DIGEST}'):
        return 200, {}, config
    return 404, {}, b''


def ask(handler, reference: str = IMAGE_DIGEST, full: bool = True) -> object:  # type: ignore[no-untyped-def]
    registry = ScriptedRegistry(handler)
    try:
        query = Query(registry.address, 'team/app', reference, full)
        return ask_all([query], 5)[query]
    finally:
        registry.close()


def test_a_single_image_platform_comes_from_its_config() -> None:
    assert ask(single_image) == Manifest(IMAGE_DIGEST, False, ('linux/arm64/v8',))


def test_dp009_from_a_single_image_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = ScriptedRegistry(single_image)
    try:
        path = tmp_path / 'Dockerfile'
        path.write_text(f'FROM --platform=linux/amd64 {registry.address}/team/app@{IMAGE_DIGEST}\n')
        assert verify_main([str(path)]) == 1
        assert 'DP009' in capsys.readouterr().out
    finally:
        registry.close()


@pytest.mark.parametrize(('handler', 'reason'), (
    (lambda r: single_image(r, config=CONFIG + b' '), 'the image config does not match its digest'),
    (lambda r: (200, {}, b'not json') if '/manifests/' in r.path else (404, {}, b''),
     'the manifest bytes do not match the digest asked for'),
    (lambda r: (200, {'Docker-Content-Digest': 'sha256:XYZ'}, IMAGE), 'malformed Docker-Content-Digest'),
    (lambda r: (404, {}, b''), 'has no manifest'),
    (lambda r: (403, {}, b''), 'denied access'),
    (lambda r: (401, {'WWW-Authenticate': 'Negotiate'}, b''), 'authentication digestpin does not know'),
    (lambda r: (401, {'WWW-Authenticate': 'Bearer realm="ftp://x/token"'}, b''),
     'named a token realm that is not an http or https URL; not used'),
    (lambda r: (401, {'WWW-Authenticate': 'Basic realm="x"'}, b''), 'no credential for it was found'),
    (lambda r: (302, {'Location': r.path}, b''), 'redirected more than 3 times'),
    (lambda r: (302, {'Location': 'http://192.0.2.1/x'}, b''),
     'redirected to plain HTTP at 192.0.2.1, neither loopback nor listed as insecure; not followed'),
    (lambda r: (302, {'Location': 'gopher://x/y'}, b''),
     'redirected to an address that is not an http or https URL; not followed'),
    (lambda r: (429, {'Retry-After': 'soon'}, b''), '429 Too Many Requests'),
))
def test_answers_that_are_not_used(handler, reason: str) -> None:  # type: ignore[no-untyped-def]
    answer = ask(handler)
    assert isinstance(answer, (Failed, Missing)), answer
    assert reason in answer.reason, answer


def test_a_tag_answered_with_another_digest_is_not_used() -> None:
    other = 'sha256:' + '1' * 64
    answer = ask(lambda r: (200, {'Docker-Content-Digest': other}, b''), reference=IMAGE_DIGEST, full=False)
    assert isinstance(answer, Failed) and 'another digest' in answer.reason


def test_a_head_without_digest_header_falls_back_to_the_bytes() -> None:
    answer = ask(single_image, reference='1', full=False)
    assert answer == Manifest(IMAGE_DIGEST, False, ('linux/arm64/v8',))


def token_server_answering(token_body: bytes, challenge: str = '') -> Handler:
    """A registry whose token endpoint (its own /token) answers ``token_body``."""
    def handler(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path.startswith('/token'):
            return 200, {}, token_body
        realm = f'http://{request.headers["host"]}/token'
        return 401, {'WWW-Authenticate': f'Bearer realm="{realm}"{challenge}'}, b''
    return handler


def test_a_token_server_that_answers_garbage() -> None:
    answer = ask(token_server_answering(
        b'{"token": "has spaces and\\nnewlines"}', ',service="s"',
    ))
    assert isinstance(answer, Failed) and 'no usable token' in answer.reason


@pytest.mark.parametrize(('header', 'expected'), (
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull"',
     ('bearer', {'realm': 'https://auth.docker.io/token', 'service': 'registry.docker.io',
                 'scope': 'repository:library/node:pull'})),
    ('Basic realm=x', ('basic', {'realm': 'x'})),
    ('', ('', {})),
))
def test_parse_challenge(header: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_challenge(header) == expected


def test_retry_after_forms() -> None:
    assert _retry_after('7') == 7.0
    assert _retry_after('Wed, 21 Oct 2015 07:28:00 GMT') == 0.0  # in the past
    assert _retry_after('soon') is None
    assert _retry_after(None) is None


@pytest.mark.parametrize(('text', 'message'), (
    ('{"a": 1', 'unclosed bracket'),
    ('{"a": "b\\q"}', 'malformed escape'),
    ('{"a": "\\u12"}', 'malformed \\u escape'),
    ('{"a": "line\nbreak"}', 'unterminated string'),
    ('{1: 2}', 'expected a string key'),
    ('[1]]', 'more than one value at the top'),
    ('{"a": 1]', "unexpected ']'"),
    ('/* open', 'unterminated /* comment'),
    ('{"a": @}', "unexpected '@'"),
))
def test_jsonc_errors(text: str, message: str) -> None:
    with pytest.raises(YamlError, match=re.escape(message)):
        parse_jsonc(text)


def test_jsonc_empty_and_escapes() -> None:
    assert parse_jsonc('') == [None]
    (root,) = parse_jsonc('// only\n["\\u0041\\n\\"", {}, []]')
    assert root is not None


def _by_tag(body: bytes, config: bytes = CONFIG) -> object:
    def handler(request: Request) -> tuple[int, dict[str, str], bytes]:
        if '/manifests/' in request.path:
            return 200, {}, body
        if request.path.endswith(f'/blobs/{CONFIG_DIGEST}'):
            return 200, {}, config
        return 404, {}, b''
    return ask(handler, reference='1', full=True)


@pytest.mark.parametrize(('body', 'reason'), (
    (b'[]', 'the manifest is not a JSON object'),
    (b'{"mediaType": 7}', "the manifest's mediaType is not a string"),
    (b'[' * 100_000, 'the manifest is not JSON'),
))
def test_manifests_of_the_wrong_shape(body: bytes, reason: str) -> None:
    answer = _by_tag(body)
    assert isinstance(answer, Failed) and reason in answer.reason, answer


def test_an_image_config_of_the_wrong_shape() -> None:
    config = json.dumps({'os': 'linux', 'architecture': 7}).encode()
    image = IMAGE.replace(CONFIG_DIGEST.encode(), ('sha256:' + hashlib.sha256(config).hexdigest()).encode())

    def handler(request: Request) -> tuple[int, dict[str, str], bytes]:
        if '/manifests/' in request.path:
            return 200, {}, image
        return 200, {}, config
    answer = ask(handler, reference='1', full=True)
    assert isinstance(answer, Failed) and 'the image config is malformed' in answer.reason


def test_index_platforms_of_the_wrong_shape_are_left_out() -> None:
    index = json.dumps({
        'mediaType': 'application/vnd.oci.image.index.v1+json',
        'manifests': [
            {'platform': {'os': 'linux', 'architecture': 7}}, 'not an entry',
            {'platform': {'os': 'unknown', 'architecture': 'unknown'}},
            {'platform': {'os': 'linux', 'architecture': 'amd64'}},
        ],
    }).encode()
    answer = _by_tag(index)
    assert answer == Manifest('sha256:' + hashlib.sha256(index).hexdigest(), True, ('linux/amd64',))


def test_a_token_of_the_wrong_type() -> None:
    answer = ask(token_server_answering(b'{"token": 7, "access_token": ["x"]}'))
    assert isinstance(answer, Failed) and 'no usable token' in answer.reason
