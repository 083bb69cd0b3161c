"""Who signed a pin: the trust policy against a real registry, with
signatures and attestations written as cosign writes them (tests/cosign.py)
by keys made here; nothing of the verifier is mocked."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from typing import Callable

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.update import main as update_main
from digestpin_hooks.verify import main as verify_main
from tests.cosign import attest_legacy
from tests.cosign import b64
from tests.cosign import BUNDLE
from tests.cosign import COSIGN_SIGN
from tests.cosign import bundle_tlog_entry
from tests.cosign import cosign_bundle_annotation
from tests.cosign import dsse_entry
from tests.cosign import EMPTY
from tests.cosign import hashedrekord
from tests.cosign import IN_TOTO
from tests.cosign import intoto_entry
from tests.cosign import new_key
from tests.cosign import OCI_INDEX
from tests.cosign import OCI_MANIFEST
from tests.cosign import pae
from tests.cosign import PrivateKey
from tests.cosign import public_pem
from tests.cosign import Rekor
from tests.cosign import referrer_index_add
from tests.cosign import Registry
from tests.cosign import registry_only
from tests.cosign import sign_bundle
from tests.cosign import sign_legacy
from tests.cosign import sign
from tests.cosign import SIMPLE_SIGNING
from tests.cosign import SLSA
from tests.cosign import trusted_root
from tests.output import without_summary
from tests.registries import Answer
from tests.registries import isolated_credentials
from tests.registries import Request
from tests.registries import ScriptedRegistry

pytestmark = pytest.mark.docker  # a real registry (docker-registry)
MiB = 1024 * 1024
NO_DAEMON = ['--docker-host', 'unix:///nonexistent/docker.sock']


@pytest.fixture(scope='module')
def registry() -> Iterator[Registry]:
    for address in registry_only():
        yield Registry(address)


@pytest.fixture(scope='module')
def key() -> PrivateKey:
    return new_key('p256')


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: PrivateKey) -> Path:
    """A repository whose pyproject.toml trusts ``key`` for the test
    registry's ``signed/*`` images, and requires SLSA provenance of
    ``attested/*`` ones."""
    isolated_credentials(monkeypatch, tmp_path / 'home')
    monkeypatch.setenv('DOCKER_HOST', 'unix:///nonexistent/docker.sock')
    root = tmp_path / 'repo'
    (root / '.git').mkdir(parents=True)
    (root / 'keys').mkdir()
    (root / 'keys' / 'cosign.pub').write_bytes(public_pem(key))
    monkeypatch.chdir(root)
    return root


def policy(root: Path, registry: Registry, extra: str = '') -> None:
    (root / 'pyproject.toml').write_text(
        '[tool.digestpin]\nsource = "registry"\n\n'
        '[[tool.digestpin.trust]]\n'
        f'images = ["{registry.address}/attested/*"]\n'
        'key = "keys/cosign.pub"\n'
        f'attestations = ["{SLSA}"]\n\n'
        '[[tool.digestpin.trust]]\n'
        f'images = ["{registry.address}/signed/*", "{registry.address}/other/*"]\n'
        'key = "keys/cosign.pub"\n' + extra,
    )


def pinned(root: Path, registry: Registry, repository: str, tag: str, digest: str) -> Path:
    path = root / 'Dockerfile'
    path.write_text(f'FROM {registry.address}/{repository}:{tag}@{digest}\n')
    return path


VERIFIED_ONE = 'summary: 1 pin verified in 1 file\n'


def run_verify(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    status = verify_main([*NO_DAEMON, *extra, str(root / 'Dockerfile')])
    out, err = capsys.readouterr()
    return status, out, err


def finding(root: Path, registry: Registry, code: str, message: str) -> str:
    return f'{root / "Dockerfile"}:1:6: {code} {message}\n'


RULE2 = 'trust rule 2 (key {key})'


def rule2(root: Path) -> str:
    return RULE2.format(key=root / 'keys' / 'cosign.pub')


_counter = iter(range(10**6))


def fresh(registry: Registry, repository: str, tag: str = '1') -> str:
    """A new image (a digest no other test signed) at ``tag``."""
    return registry.image(repository, tag, f'content {next(_counter)} {time.time()}')


# -- verify: what counts as a signature ---------------------------------------

@pytest.mark.parametrize('layout', ('legacy', 'bundle', 'bundle-empty-type'))
def test_signed_with_the_key_passes(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str,
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/app')
    if layout == 'legacy':
        sign_legacy(registry, 'signed/app', digest, key)
    else:
        # the index entry's artifactType is not trusted: the manifest is read
        sign_bundle(
            registry, 'signed/app', digest, key,
            index_artifact_type=BUNDLE if layout == 'bundle' else EMPTY,
        )
    pinned(repo, registry, 'signed/app', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    status, out, _ = run_verify(repo, capsys, '--format', 'json')
    assert status == 0
    assert json.loads(out)['signatures'] == [{
        'path': str(repo / 'Dockerfile'), 'line': 1,
        'image': f'{registry.address}/signed/app:1@{digest}', 'checked': True,
        'result': 'trusted', 'detail': json.loads(out)['signatures'][0]['detail'],
    }]
    fingerprint = json.loads(out)['signatures'][0]['detail']
    assert fingerprint.startswith('SHA256:') and len(fingerprint) == 51
    assert run_verify(repo, capsys, '--verbose') == (0, (
        f'{repo / "Dockerfile"}:1:0: {registry.address + "/signed/app:1@" + digest!r} '
        f'signed with key {fingerprint}\n'
    ), VERIFIED_ONE)


@pytest.mark.parametrize(('kind', 'rsa_padding'), (
    ('p384', 'pkcs1'), ('ed25519', 'pkcs1'), ('rsa', 'pkcs1'), ('rsa', 'pss'),
))
def test_every_key_type_cosign_signs_with(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
        kind: str, rsa_padding: str,
) -> None:
    other = new_key(kind)
    (repo / 'keys' / 'cosign.pub').write_bytes(public_pem(other))
    policy(repo, registry)
    digest = fresh(registry, 'signed/keys')
    sign_legacy(registry, 'signed/keys', digest, other, rsa_padding=rsa_padding)
    pinned(repo, registry, 'signed/keys', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


def test_unsigned_is_dp011(registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/unsigned')
    pinned(repo, registry, 'signed/unsigned', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011', f'{digest} has no signature that {rule2(repo)} accepts',
    ))


@pytest.mark.parametrize('layout', ('legacy', 'bundle'))
def test_signed_by_another_key_is_dp012_naming_the_signer(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str], layout: str,
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/other-key')
    stranger = new_key()
    if layout == 'legacy':
        sign_legacy(registry, 'signed/other-key', digest, stranger)
        who = 'an unknown key'
    else:
        sign_bundle(registry, 'signed/other-key', digest, stranger, hint='stranger-key-hint')
        who = 'key stranger-key-hint'
    pinned(repo, registry, 'signed/other-key', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP012',
        f'{digest} is signed, but not with the key of {rule2(repo)}: signed by {who}',
    ))


@pytest.mark.parametrize('layout', ('legacy', 'bundle'))
def test_a_signature_for_another_digest_is_no_signature(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str,
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/copied')
    elsewhere = fresh(registry, 'signed/copied', 'elsewhere')
    # a valid signature by the right key, but of another digest, stored
    # where this digest's signatures are looked for
    if layout == 'legacy':
        sign_legacy(registry, 'signed/copied', digest, key, payload_digest=elsewhere)
    else:
        sign_bundle(registry, 'signed/copied', digest, key, subject_digest=elsewhere)
    pinned(repo, registry, 'signed/copied', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011', f'{digest} has no signature that {rule2(repo)} accepts',
    ))


def test_a_statement_of_no_predicate_type_is_no_signature(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/untyped')
    # signed by the key and about this digest, but of predicate type '':
    # no cosign signature (https://sigstore.dev/cosign/sign/v1), whatever else
    sign_bundle(registry, 'signed/untyped', digest, key, predicate_type='')
    pinned(repo, registry, 'signed/untyped', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011', f'{digest} has no signature that {rule2(repo)} accepts',
    ))


def _ambiguous_simple_signing(image: str, digest: str, other: str, case: str) -> bytes:
    if case == 'folded':
        # Go's encoding/json (cosign) matches a key to a field whatever its
        # case and keeps the last: it reads ``other``
        inner = f'"docker-manifest-digest":"{digest}","Docker-Manifest-Digest":"{other}"'
    else:
        inner = f'"docker-manifest-digest":"{other}","docker-manifest-digest":"{digest}"'
    return (
        '{"critical":{"identity":{"docker-reference":"%s"},"image":{%s},'
        '"type":"cosign container image signature"},"optional":null}' % (image, inner)
    ).encode()


def _ambiguous_statement(digest: str, other: str, case: str) -> bytes:
    subject = '[{"name":"image","digest":{"sha256":"%s"}}]'
    mine, theirs = subject % digest.partition(':')[2], subject % other.partition(':')[2]
    head = '{"_type":"https://in-toto.io/Statement/v1",'
    if case == 'folded-subject':
        body = f'"subject":{mine},"Subject":{theirs},"predicateType":"{COSIGN_SIGN}"'
    elif case == 'folded-type':
        body = f'"subject":{mine},"predicateType":"{COSIGN_SIGN}","PREDICATETYPE":"{SLSA}"'
    else:
        body = f'"subject":{theirs},"predicateType":"{COSIGN_SIGN}","subject":{mine}'
    return (head + body + ',"predicate":{}}').encode()


@pytest.mark.parametrize('case', (
    'legacy-folded', 'legacy-exact', 'bundle-folded-subject', 'bundle-folded-type',
    'bundle-exact',
))
def test_a_payload_with_duplicate_keys_is_no_signature(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        case: str,
) -> None:
    """A signed payload that names a field twice (exactly, or in another
    case, which Go's encoding/json reads as the same field) says two
    things: readers disagree which one it signs, so it signs nothing."""
    from tests.cosign import attach_bundle
    from tests.cosign import envelope
    policy(repo, registry)
    digest = fresh(registry, 'signed/ambiguous')
    other = fresh(registry, 'signed/ambiguous', 'other')
    layout, _, kind = case.partition('-')
    if layout == 'legacy':
        payload = _ambiguous_simple_signing(
            f'{registry.address}/signed/ambiguous', digest, other, kind,
        )
        assert json.loads(payload)['critical']['image']['docker-manifest-digest'] == digest
        layer = {
            'mediaType': SIMPLE_SIGNING, **registry.blob('signed/ambiguous', payload),
            'annotations': {'dev.cosignproject.cosign/signature': b64(sign(key, payload))},
        }
        sign_legacy(registry, 'signed/ambiguous', other, key)  # a .sig tag to copy
        registry.manifest('signed/ambiguous', digest.replace(':', '-') + '.sig', {
            **registry.get_manifest('signed/ambiguous', other.replace(':', '-') + '.sig'),
            'layers': [layer],
        })
    else:
        payload = _ambiguous_statement(digest, other, kind)
        read = json.loads(payload)
        assert read['predicateType'] == COSIGN_SIGN
        assert read['subject'][0]['digest']['sha256'] == digest.partition(':')[2]
        attach_bundle(registry, 'signed/ambiguous', digest, {
            'mediaType': BUNDLE, 'verificationMaterial': {'publicKey': {'hint': ''}},
            'dsseEnvelope': envelope(key, payload),
        })
    pinned(repo, registry, 'signed/ambiguous', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011', f'{digest} has no signature that {rule2(repo)} accepts',
    ))


def test_a_tampered_payload_does_not_verify(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/tampered')
    sign_legacy(registry, 'signed/tampered', digest, key, tamper=True)
    pinned(repo, registry, 'signed/tampered', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP012',
        f'{digest} is signed, but not with the key of {rule2(repo)}: signed by an unknown key',
    ))


def test_a_signature_of_a_child_manifest_does_not_sign_the_index(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    children = [fresh(registry, 'signed/multi', 'a'), fresh(registry, 'signed/multi', 'b')]
    index = registry.index('signed/multi', '2', children)
    sign_legacy(registry, 'signed/multi', children[0], key)
    sign_bundle(registry, 'signed/multi', children[1], key)
    pinned(repo, registry, 'signed/multi', '2', index)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011', f'{index} has no signature that {rule2(repo)} accepts',
    ))
    sign_legacy(registry, 'signed/multi', index, key)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


def test_a_digest_the_registry_lacks_is_dp007_only(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    fresh(registry, 'signed/absent')
    digest = 'sha256:' + '0' * 64
    pinned(repo, registry, 'signed/absent', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert status == 1
    assert [line.split()[1] for line in out.splitlines()] == ['DP007']


def test_an_image_no_rule_matches_is_not_checked(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'free/app')
    pinned(repo, registry, 'free/app', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    assert run_verify(repo, capsys, '--verbose') == (0, (
        f'{repo / "Dockerfile"}:1:0: {registry.address + "/free/app:1@" + digest!r} '
        f'not checked for signatures: no trust rule matches it\n'
    ), VERIFIED_ONE)
    status, out, _ = run_verify(repo, capsys, '--format', 'json')
    assert status == 0
    assert json.loads(out)['signatures'] == [{
        'path': str(repo / 'Dockerfile'), 'line': 1,
        'image': f'{registry.address}/free/app:1@{digest}', 'checked': False,
        'result': 'no trust rule matches the image', 'detail': '',
    }]


def test_codes_in_sarif_and_github_output(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/formats')
    pinned(repo, registry, 'signed/formats', '1', digest)
    status, out, _ = run_verify(repo, capsys, '--format', 'sarif')
    assert status == 1
    run = json.loads(out)['runs'][0]
    assert [r['ruleId'] for r in run['results']] == ['DP011']
    assert run['tool']['driver']['rules'][10]['name'] == 'UnsignedPin'
    status, out, _ = run_verify(repo, capsys, '--format', 'github')
    assert status == 1
    assert out.startswith(f'::error file={repo / "Dockerfile"},line=1,')
    assert 'DP011' in out


# -- attestations --------------------------------------------------------------

@pytest.mark.parametrize('layout', ('legacy', 'bundle'))
def test_required_attestation(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str,
) -> None:
    policy(repo, registry)
    rule1 = f'trust rule 1 (key {repo / "keys" / "cosign.pub"})'
    digest = fresh(registry, 'attested/app')
    sign_legacy(registry, 'attested/app', digest, key)
    pinned(repo, registry, 'attested/app', '1', digest)
    missing = finding(
        repo, registry, 'DP013', f'{digest} lacks the attestation {rule1} requires: {SLSA}',
    )
    assert run_verify(repo, capsys)[:2] == (1, missing)
    # an attestation of another digest, and one by another key: still missing
    other = fresh(registry, 'attested/app', 'other')
    if layout == 'legacy':
        attest_legacy(registry, 'attested/app', digest, key, SLSA, subject_digest=other)
        attest_legacy(registry, 'attested/app', digest, new_key(), SLSA)
    else:
        sign_bundle(registry, 'attested/app', digest, key, predicate_type=SLSA, subject_digest=other)
        sign_bundle(registry, 'attested/app', digest, new_key(), predicate_type=SLSA)
    assert run_verify(repo, capsys)[:2] == (1, missing)
    if layout == 'legacy':
        attest_legacy(registry, 'attested/app', digest, key, SLSA)
    else:
        sign_bundle(registry, 'attested/app', digest, key, predicate_type=SLSA)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


# -- fix and update ------------------------------------------------------------

def test_fix_writes_only_digests_that_pass(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    good = fresh(registry, 'signed/fix-good')
    sign_legacy(registry, 'signed/fix-good', good, key)
    bad = fresh(registry, 'signed/fix-bad')
    free = fresh(registry, 'free/fix')
    path = repo / 'Dockerfile'
    a = registry.address
    path.write_text(f'FROM {a}/signed/fix-good:1\nFROM {a}/signed/fix-bad:1\nFROM {a}/free/fix:1\n')
    assert fix_main([*NO_DAEMON, str(path)]) == 1
    out, err = capsys.readouterr()
    assert path.read_text() == (
        f'FROM {a}/signed/fix-good:1@{good}\nFROM {a}/signed/fix-bad:1\nFROM {a}/free/fix:1@{free}\n'
    )
    assert without_summary(out).splitlines()[1] == (
        f'{path}:2:6: DP001 {a + "/signed/fix-bad:1"!r} left unpinned: DP011: {bad} has no '
        f'signature that {rule2(repo)} accepts (not pinned: the trust policy does not accept it)'
    )


def test_update_moves_a_pin_only_to_a_digest_that_passes(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    old = fresh(registry, 'signed/moving')
    sign_legacy(registry, 'signed/moving', old, key)
    path = pinned(repo, registry, 'signed/moving', '1', old)
    new = fresh(registry, 'signed/moving')  # the tag moved to an unsigned image
    assert update_main([*NO_DAEMON, str(path)]) == 1
    out, err = capsys.readouterr()
    assert path.read_text() == f'FROM {registry.address}/signed/moving:1@{old}\n'
    assert out == (
        f'{path}:1:0: {registry.address + "/signed/moving:1@" + old!r} not updated: DP011: '
        f'{new} has no signature that {rule2(repo)} accepts\n'
    )
    sign_bundle(registry, 'signed/moving', new, key)
    assert update_main([*NO_DAEMON, str(path)]) == 1  # changed
    capsys.readouterr()
    assert path.read_text() == f'FROM {registry.address}/signed/moving:1@{new}\n'


# -- errors, offline, lint -------------------------------------------------------

def test_an_unreadable_key_is_one_line_and_exit_2(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    (repo / 'keys' / 'cosign.pub').write_text('not a key\n')
    digest = fresh(registry, 'signed/badkey')
    pinned(repo, registry, 'signed/badkey', '1', digest)
    assert run_verify(repo, capsys) == (2, '', (
        f'digestpin-verify: error: trust rule 2: key {repo / "keys" / "cosign.pub"}: '
        f'not a PEM public key\n'
    ))


def test_an_unreachable_registry_is_an_error_forgiven_by_offline_ok(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from digestpin_hooks.model import TrustRule
    from digestpin_hooks.resolve.answers import DigestKey
    from digestpin_hooks.resolve.answers import Found
    from digestpin_hooks.resolve.answers import Manifest
    from digestpin_hooks.resolve.sources import signatures
    from digestpin_hooks.verify import verify_files
    from tests.stack import free_port
    dead = f'127.0.0.1:{free_port()}'
    digest = 'sha256:' + 'a' * 64
    path = repo / 'Dockerfile'
    path.write_text(f'FROM {dead}/signed/app@{digest}\n')
    rules = (TrustRule((f'{dead}/*',), str(repo / 'keys' / 'cosign.pub'), '', '', '', (), False, 1),)
    for offline_ok in (False, True):
        findings, errors = verify_files(
            [str(path)], lambda pins, platformed: {
                DigestKey(f'{dead}/signed/app', digest): Found(digest, Manifest(digest, False, ())),
            },
            check_signatures=signatures(rules, 5.0), offline_ok=offline_ok,
        )
        assert findings == []
        assert [(e.message, e.skipped) for e in errors] == [(
            f'line 1: cannot check the signatures of {digest}: cannot connect to {dead}',
            offline_ok,
        )]


def test_lint_never_loads_the_trust_code(registry: Registry, repo: Path) -> None:
    policy(repo, registry)
    (repo / 'Dockerfile').write_text(f'FROM {registry.address}/signed/app:1\n')
    result = subprocess.run(
        (sys.executable, '-c', (
            'import sys\n'
            'from digestpin_hooks.lint import main\n'
            'status = main(["Dockerfile"])\n'
            "assert not [m for m in sys.modules if m.split('.')[0] == 'cryptography'], 'cryptography'\n"
            "assert 'digestpin_hooks.resolve.trust' not in sys.modules\n"
            'sys.exit(status)\n'
        )),
        capture_output=True, text=True, cwd=repo,
    )
    assert (result.returncode, result.stderr.splitlines()[-1:]) == (1, ['summary: 1 finding (DP001 1) in 1 file'])


# -- hostile answers -------------------------------------------------------------

def test_a_50_mb_signature_layer_is_not_read(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/huge')
    huge = registry.blob('signed/huge', b'x' * (50 * 1024 * 1024))
    declared = {
        'mediaType': SIMPLE_SIGNING, **huge,
        'annotations': {'dev.cosignproject.cosign/signature': b64(b'sig')},
    }
    # declared as 50 MB: never asked for; the real signature beside it counts
    sign_legacy(registry, 'signed/huge', digest, key, extra_layers=[declared])
    pinned(repo, registry, 'signed/huge', '1', digest)
    started = time.monotonic()
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    # declared small, sent huge: the read stops at the bound, an error
    other = fresh(registry, 'signed/huge')
    sign_legacy(registry, 'signed/huge', other, key, extra_layers=[{**declared, 'size': 100}])
    pinned(repo, registry, 'signed/huge', '1', other)
    status, out, err = run_verify(repo, capsys)
    assert (status, out) == (2, '')
    assert err == (
        f'{repo / "Dockerfile"}: error: line 1: cannot check the signatures of {other}: '
        f'{registry.address} sent a signature layer over 1024 KiB; not read\n'
        'summary: 1 pin verified in 1 file; 1 error\n'
    )
    assert time.monotonic() - started < 20


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_a_huge_referrers_index_is_read_within_bounds(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/crowded')
    # 100 real manifests that are no signature, listed over and over in an
    # index of almost 4 MiB (about 19,000 entries)
    decoys = [fresh(registry, 'signed/crowded', 'decoy') for _ in range(100)]
    entries = [
        {'mediaType': OCI_MANIFEST, 'digest': decoys[i % 100], 'size': 500, 'artifactType': BUNDLE}
        for i in range(18500)
    ]
    body = json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': entries})
    assert 3.5 * 1024 * 1024 < len(body) < 4 * 1024 * 1024
    registry.manifest('signed/crowded', digest.replace(':', '-'), {
        'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': entries,
    })
    pinned(repo, registry, 'signed/crowded', '1', digest)
    started = time.monotonic()
    status, out, _ = run_verify(repo, capsys)
    assert time.monotonic() - started < 20
    assert (status, out) == (1, finding(
        repo, registry, 'DP011', f'{digest} has no signature that {rule2(repo)} accepts',
    ))


def _padded_bundle(digest: str, size: int, salt: str = '') -> bytes:
    """A bundle of about ``size`` bytes about ``digest`` that no key signed:
    a statement padded out in its predicate, eight signatures of junk."""
    from tests.cosign import statement
    payload = statement(digest, COSIGN_SIGN, {'pad': salt + 'x' * (size * 3 // 4 - 400)})
    return json.dumps({
        'mediaType': BUNDLE, 'verificationMaterial': {'publicKey': {'hint': 'junk'}},
        'dsseEnvelope': {
            'payloadType': IN_TOTO, 'payload': b64(payload),
            'signatures': [{'keyid': '', 'sig': b64(b'junk %d' % n)} for n in range(8)],
        },
    }).encode()


def test_one_bundle_listed_a_thousand_times_is_read_once(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """64 referrers of 16 layers each, all one bundle of almost 1 MiB: the
    bounds allow each, and the bundle was read and kept 1,024 times (1 GB
    asked for, over 2 GB kept: a MemoryError under 400 MiB)."""
    policy(repo, registry)
    digest = fresh(registry, 'signed/repeated')
    bundle = registry.blob('signed/repeated', _padded_bundle(digest, 1000 * 1024))
    empty = registry.blob('signed/repeated', b'{}')
    for number in range(64):
        referrer = registry.manifest('signed/repeated', '', {
            'schemaVersion': 2, 'mediaType': OCI_MANIFEST, 'artifactType': BUNDLE,
            'config': {'mediaType': EMPTY, **empty},
            'layers': [{'mediaType': BUNDLE, **bundle}] * 16,
            'subject': {'mediaType': OCI_MANIFEST, 'digest': digest, 'size': 1},
            'annotations': {'number': str(number)},
        })
        referrer_index_add(registry, 'signed/repeated', digest, {
            'mediaType': OCI_MANIFEST, 'digest': referrer, 'size': 1, 'artifactType': BUNDLE,
        })
    pinned(repo, registry, 'signed/repeated', '1', digest)
    result = subprocess.run(
        (sys.executable, '-m', 'digestpin_hooks', 'verify', *NO_DAEMON, 'Dockerfile'),
        cwd=repo, capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (400 * MiB, 400 * MiB)),
        env={**os.environ, 'PYTHONPATH': str(Path(__file__).parent.parent)},
    )
    assert (result.returncode, result.stdout) == (1, (
        f'Dockerfile:1:6: DP012 {digest} is signed, but not with the key of '
        f'{rule2(repo)}: signed by key junk\n'
    )), result.stderr


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_over_16_mib_of_bundles_are_not_read(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    """20 different bundles of almost 1 MiB each, none signed: the reading
    stops past 16 MiB, an error unless another signature verifies."""
    from tests.cosign import attach_bundle
    policy(repo, registry)
    digest = fresh(registry, 'signed/many-bundles')
    for number in range(20):
        attach_bundle(
            registry, 'signed/many-bundles', digest,
            _padded_bundle(digest, 1000 * 1024, salt=str(number)),
        )
    pinned(repo, registry, 'signed/many-bundles', '1', digest)
    status, out, err = run_verify(repo, capsys)
    assert (status, out, err) == (2, '', (
        f'{repo / "Dockerfile"}: error: line 1: cannot check the signatures of {digest}: '
        f'{registry.address} sent over 16 MiB of signature layers for {digest}; the rest '
        'not read\nsummary: 1 pin verified in 1 file; 1 error\n'
    ))
    sign_legacy(registry, 'signed/many-bundles', digest, key)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


def test_control_characters_from_the_registry_are_escaped(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry)
    digest = fresh(registry, 'signed/escape')
    # the hint is the signer a DP012 message names
    sign_bundle(registry, 'signed/escape', digest, new_key(), hint='evil\x1b[31m\nDP000 fake')
    pinned(repo, registry, 'signed/escape', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP012',
        f'{digest} is signed, but not with the key of {rule2(repo)}: signed by '
        f'key evil\\x1b[31m\\x0aDP000 fake',
    ))


@pytest.mark.parametrize('layout', ('legacy', 'bundle'))
def test_a_certificate_cryptography_cannot_list_is_no_signature(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str,
) -> None:
    """A signer's certificate whose SAN extension is there twice: its
    extensions raise DuplicateExtension, not ValueError; it names nobody
    and hides no signature beside it."""
    from tests.cosign import attach_bundle
    from tests.cosign import certificate_with_a_duplicate_extension
    from tests.cosign import envelope
    from tests.cosign import simple_signing
    from tests.cosign import statement
    policy(repo, registry)
    digest = fresh(registry, 'signed/duplicate-extension')
    stranger = new_key()
    der = certificate_with_a_duplicate_extension()
    if layout == 'legacy':
        payload = simple_signing(f'{registry.address}/signed/duplicate-extension', digest)
        pem = b'-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % (
            b64(der).encode()
        )
        hostile = {
            'mediaType': SIMPLE_SIGNING, **registry.blob('signed/duplicate-extension', payload),
            'annotations': {
                'dev.cosignproject.cosign/signature': b64(sign(stranger, payload)),
                'dev.sigstore.cosign/certificate': pem.decode(),
            },
        }
        sign_legacy(registry, 'signed/duplicate-extension', digest, key, extra_layers=[hostile])
    else:
        attach_bundle(registry, 'signed/duplicate-extension', digest, {
            'mediaType': BUNDLE,
            'verificationMaterial': {'certificate': {'rawBytes': b64(der)}},
            'dsseEnvelope': envelope(stranger, statement(digest, COSIGN_SIGN)),
        })
        sign_legacy(registry, 'signed/duplicate-extension', digest, key)
    pinned(repo, registry, 'signed/duplicate-extension', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


def test_a_certificate_annotation_with_a_lone_surrogate_is_no_signature(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    """JSON may escape half a UTF-16 pair (``"\\ud800"``): a string Python
    cannot encode, in the annotation that holds the signer's certificate."""
    from tests.cosign import simple_signing
    policy(repo, registry)
    digest = fresh(registry, 'signed/surrogate')
    payload = simple_signing(f'{registry.address}/signed/surrogate', digest)
    hostile = {
        'mediaType': SIMPLE_SIGNING, **registry.blob('signed/surrogate', payload),
        'annotations': {
            'dev.cosignproject.cosign/signature': b64(sign(new_key(), payload)),
            'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\ud800',
        },
    }
    sign_legacy(registry, 'signed/surrogate', digest, key, extra_layers=[hostile])
    pinned(repo, registry, 'signed/surrogate', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


def test_a_deeply_nested_bundle_is_no_signature(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.cosign import attach_bundle
    policy(repo, registry)
    digest = fresh(registry, 'signed/nested')
    # JSON nested far past the parser's recursion limit
    nested = b'{"mediaType": "%s", "dsseEnvelope": %s%s}' % (
        BUNDLE.encode(), b'[' * 100000, b']' * 100000,
    )
    attach_bundle(registry, 'signed/nested', digest, nested)
    pinned(repo, registry, 'signed/nested', '1', digest)
    status, out, err = run_verify(repo, capsys)
    assert (status, out, err) == (1, finding(
        repo, registry, 'DP011', f'{digest} has no signature that {rule2(repo)} accepts',
    ), 'summary: 1 finding (DP011 1) in 1 file; 1 pin verified in 1 file\n')  # no traceback


# -- tlog = true: a transparency-log entry required ------------------------------

def tlog_policy(
        root: Path, registry: Registry, trust_root: bool = True, attested: bool = False,
) -> None:
    """Images of ``logged/*`` must be signed with the key and logged in a
    log of ``sigstore/trusted_root.json`` (else the public-good root);
    ``attested``: with SLSA provenance, also signed and logged."""
    (root / 'pyproject.toml').write_text(
        '[tool.digestpin]\nsource = "registry"\n'
        + ('trust-root = "sigstore/trusted_root.json"\n' if trust_root else '')
        + '\n[[tool.digestpin.trust]]\n'
        f'images = ["{registry.address}/logged/*"]\n'
        'key = "keys/cosign.pub"\ntlog = true\n'
        + (f'attestations = ["{SLSA}"]\n' if attested else ''),
    )


def trusting(root: Path, *logs: Rekor) -> None:
    (root / 'sigstore').mkdir(exist_ok=True)
    (root / 'sigstore' / 'trusted_root.json').write_text(json.dumps(trusted_root(*logs)))


def rule1(root: Path) -> str:
    return f'trust rule 1 (key {root / "keys" / "cosign.pub"})'


def logged_signature(
        registry: Registry, repository: str, digest: str, key: PrivateKey, layout: str,
        rekor: Rekor | None, fault: str = '', other: Rekor | None = None,
) -> None:
    """Sign ``digest`` in ``layout``, with the entry ``rekor`` logs of the
    signature (none when ``rekor`` is None), spoiled as ``fault`` says:
    ``unknown-log``: logged by ``other``, a log the root does not name;
    ``forged``: ``other``'s SET under ``rekor``'s log ID; ``time``: the
    integrated time moved after the SET; ``signature``, ``key``,
    ``payload``: the entry logs another signature, key or payload."""
    stranger = new_key()

    def entry(payload: bytes, signature: bytes) -> dict[str, Any] | None:
        if rekor is None:
            return None
        public = public_pem(key)
        if fault == 'signature':
            signature = sign(key, payload if layout == 'legacy' else pae(IN_TOTO, payload))
        if fault == 'key':
            public = public_pem(stranger)
        if fault == 'payload':
            payload += b' '
        proposed = (
            hashedrekord(payload, signature, public) if layout == 'legacy'
            else dsse_entry(payload, signature, public, b'{}')
        )
        logged = (other if fault in ('unknown-log', 'forged') else rekor)
        assert logged is not None
        made = logged.log(proposed)
        if fault == 'forged':
            made['logID'] = rekor.log_id
        if fault == 'time':
            made['integratedTime'] -= 3600
        return made

    if layout == 'legacy':
        def annotate(payload: bytes, signature: bytes) -> dict[str, str]:
            made = entry(payload, signature)
            return cosign_bundle_annotation(made) if made else {}
        sign_legacy(registry, repository, digest, key, annotate=annotate)
    else:
        def log(payload: bytes, signature: bytes) -> list[dict[str, Any]]:
            made = entry(payload, signature)
            return [bundle_tlog_entry(made, 'dsse')] if made else []
        sign_bundle(registry, repository, digest, key, log=log)


@pytest.mark.parametrize('layout', ('legacy', 'bundle'))
def test_tlog_a_signature_logged_in_the_trusted_log_passes(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str,
) -> None:
    rekor = Rekor()
    tlog_policy(repo, registry)
    trusting(repo, rekor)
    digest = fresh(registry, 'logged/app')
    logged_signature(registry, 'logged/app', digest, key, layout, rekor)
    pinned(repo, registry, 'logged/app', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    # the same signature, its log entry not required: passes too
    (repo / 'pyproject.toml').write_text(
        (repo / 'pyproject.toml').read_text().replace('tlog = true', 'tlog = false'),
    )
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


@pytest.mark.parametrize('layout', ('legacy', 'bundle'))
@pytest.mark.parametrize(('fault', 'why'), (
    ('missing', 'no transparency-log entry (tlog = true)'),
    ('unknown-log', 'its transparency-log entry is from a log the trusted root does not name'),
    ('forged', "its transparency-log entry's signed entry timestamp does not verify"),
    ('time', "its transparency-log entry's signed entry timestamp does not verify"),
    ('signature', 'its transparency-log entry logs another signature'),
    ('key', 'its transparency-log entry logs another signature'),
    ('payload', 'its transparency-log entry logs another signature'),
))
def test_tlog_a_signature_without_a_good_entry_is_dp011(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str, fault: str, why: str,
) -> None:
    rekor = Rekor()
    tlog_policy(repo, registry)
    trusting(repo, rekor)
    digest = fresh(registry, 'logged/bad')
    logged_signature(
        registry, 'logged/bad', digest, key, layout, None if fault == 'missing' else rekor,
        fault, Rekor(),
    )
    pinned(repo, registry, 'logged/bad', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011',
        f'{digest} has no signature that {rule1(repo)} accepts: signed with the key, but {why}',
    ))


def test_tlog_the_log_must_be_in_the_trust_root(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
) -> None:
    rekor, other = Rekor(), Rekor()
    tlog_policy(repo, registry)
    trusting(repo, other, rekor)  # of two logs, the second
    digest = fresh(registry, 'logged/second')
    logged_signature(registry, 'logged/second', digest, key, 'legacy', rekor)
    pinned(repo, registry, 'logged/second', '1', digest)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    trusting(repo, other)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011',
        f'{digest} has no signature that {rule1(repo)} accepts: signed with the key, but '
        'its transparency-log entry is from a log the trusted root does not name',
    ))
    # the log's key retired before the entry's time
    root = trusted_root(rekor)
    root['tlogs'][0]['publicKey']['validFor']['end'] = '2021-01-01T00:00:00.000Z'
    (repo / 'sigstore' / 'trusted_root.json').write_text(json.dumps(root))
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP011',
        f'{digest} has no signature that {rule1(repo)} accepts: signed with the key, but '
        "its transparency-log entry's time is outside the log key's validity",
    ))
    # a trust root that cannot be read: one line, exit 2
    (repo / 'sigstore' / 'trusted_root.json').write_text('{"tlogs": [{"publicKey": 1}]}')
    assert run_verify(repo, capsys) == (2, '', (
        f'digestpin-verify: error: --trust-root {repo / "sigstore" / "trusted_root.json"}: '
        'not a Sigstore trusted root: tlogs entry 1 has no usable publicKey and logId\n'
    ))


def test_tlog_without_a_trust_root_uses_the_public_good_root_without_importing_sigstore(
        registry: Registry, repo: Path, key: PrivateKey,
) -> None:
    pytest.importorskip('sigstore')  # the root it ships (the keyless extra)
    rekor = Rekor()
    tlog_policy(repo, registry, trust_root=False)
    digest = fresh(registry, 'logged/public')
    logged_signature(registry, 'logged/public', digest, key, 'legacy', rekor)
    pinned(repo, registry, 'logged/public', '1', digest)
    result = subprocess.run(
        (sys.executable, '-c', (
            'import sys\n'
            'from digestpin_hooks.verify import main\n'
            f'status = main({NO_DAEMON!r} + ["Dockerfile"])\n'
            "assert not [m for m in sys.modules if m.split('.')[0] == 'sigstore'], 'sigstore'\n"
            'sys.exit(status)\n'
        )),
        capture_output=True, text=True, cwd=repo,
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, finding(
        repo, registry, 'DP011',
        f'{digest} has no signature that {rule1(repo)} accepts: signed with the key, but '
        'its transparency-log entry is from a log the trusted root does not name',
    ).replace(str(repo / 'Dockerfile'), 'Dockerfile'), 'summary: 1 finding (DP011 1) in 1 file; 1 pin verified in 1 file\n')


def logged_attestation(
        registry: Registry, repository: str, digest: str, key: PrivateKey, layout: str,
        rekor: Rekor | None, fault: str = '', other: Rekor | None = None,
) -> None:
    """Attest SLSA provenance of ``digest`` with ``key`` in ``layout``
    (legacy ``.att``: an ``intoto`` 0.0.2 entry, ``intoto-0.0.1`` the
    older one; ``bundle``: a ``dsse`` entry), logged by ``rekor`` (not at
    all when None), spoiled as ``fault`` says: ``key``: the entry names
    another key; ``forged``: ``other``'s SET under ``rekor``'s log ID;
    ``envelope``: the entry hashes another envelope."""
    public = public_pem(new_key() if fault == 'key' else key)

    def made(proposed: dict[str, Any]) -> dict[str, Any]:
        logged = other if fault == 'forged' else rekor
        assert logged is not None and rekor is not None
        entry = logged.log(proposed)
        if fault == 'forged':
            entry['logID'] = rekor.log_id
        return entry

    if layout.startswith('legacy'):
        def annotate(envelope_json: bytes, payload: bytes, signature: bytes) -> dict[str, str]:
            if rekor is None:
                return {}
            if fault == 'envelope':
                envelope_json += b' '
            version = '0.0.1' if layout == 'legacy-intoto-0.0.1' else '0.0.2'
            return cosign_bundle_annotation(made(
                intoto_entry(envelope_json, payload, signature, public, version),
            ))
        attest_legacy(registry, repository, digest, key, SLSA, annotate=annotate)
    else:
        def log(payload: bytes, signature: bytes) -> list[dict[str, Any]]:
            if rekor is None:
                return []
            return [bundle_tlog_entry(made(dsse_entry(payload, signature, public, b'{}')), 'dsse')]
        sign_bundle(registry, repository, digest, key, predicate_type=SLSA, log=log)


@pytest.mark.parametrize('layout', ('legacy', 'legacy-intoto-0.0.1', 'bundle'))
def test_tlog_a_logged_attestation_passes(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str,
) -> None:
    rekor = Rekor()
    tlog_policy(repo, registry, attested=True)
    trusting(repo, rekor)
    digest = fresh(registry, 'logged/attested')
    signature_layout = 'bundle' if layout == 'bundle' else 'legacy'
    logged_signature(registry, 'logged/attested', digest, key, signature_layout, rekor)
    pinned(repo, registry, 'logged/attested', '1', digest)
    assert run_verify(repo, capsys)[:2] == (1, finding(
        repo, registry, 'DP013', f'{digest} lacks the attestation {rule1(repo)} requires: {SLSA}',
    ))
    logged_attestation(registry, 'logged/attested', digest, key, layout, rekor)
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


ATTESTATION_FAULTS = (
    ('missing', 'no transparency-log entry (tlog = true)'),
    ('key', 'its transparency-log entry logs another signature'),
    ('forged', "its transparency-log entry's signed entry timestamp does not verify"),
)


@pytest.mark.parametrize(('layout', 'fault', 'why'), (
    *(('legacy', fault, why) for fault, why in ATTESTATION_FAULTS),
    *(('bundle', fault, why) for fault, why in ATTESTATION_FAULTS),
    # a bundle's envelope is re-serialized: only the .att layer's is hashed
    ('legacy', 'envelope', 'its transparency-log entry logs another signature'),
))
def test_tlog_an_attestation_without_a_good_entry_is_dp013(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        layout: str, fault: str, why: str,
) -> None:
    rekor = Rekor()
    tlog_policy(repo, registry, attested=True)
    trusting(repo, rekor)
    digest = fresh(registry, 'logged/unlogged')
    logged_signature(registry, 'logged/unlogged', digest, key, layout, rekor)
    logged_attestation(
        registry, 'logged/unlogged', digest, key, layout,
        None if fault == 'missing' else rekor, fault, Rekor(),
    )
    pinned(repo, registry, 'logged/unlogged', '1', digest)
    status, out, _ = run_verify(repo, capsys)
    assert (status, out) == (1, finding(
        repo, registry, 'DP013', f'{digest} lacks the attestation {rule1(repo)} requires: '
        f'{SLSA} (signed with the key, but {why})',
    ))
    # the same attestation, its log entry not required: passes
    (repo / 'pyproject.toml').write_text(
        (repo / 'pyproject.toml').read_text().replace('tlog = true', 'tlog = false'),
    )
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)


# -- the referrers API (registry 2.8 lacks it: a fake in front of the real one) --

REFERRERS = '/referrers/'


def referrers_api(
        real: Registry, answer: Callable[[Request], Answer],
) -> ScriptedRegistry:
    """A registry with the referrers API: ``answer`` serves
    ``GET /v2/<name>/referrers/<digest>``; every other request is passed to
    the real registry and its answer given back as it came."""
    import urllib.error
    import urllib.request

    def handle(request: Request) -> Answer:
        if REFERRERS in request.path:
            return answer(request)
        asked = urllib.request.Request(
            f'http://{real.address}{request.path}', method=request.method,
            headers={'Accept': request.headers.get('accept', '*/*')},
        )
        try:
            with urllib.request.urlopen(asked) as got:
                status, headers, body = got.status, got.headers, got.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        return status, {
            name: headers[name] for name in ('Content-Type', 'Docker-Content-Digest')
            if headers.get(name)
        }, body

    return ScriptedRegistry(handle)


def referrers_index(*entries: dict[str, Any]) -> Answer:
    return 200, {'Content-Type': OCI_INDEX}, json.dumps({
        'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': list(entries),
    }).encode()


def api_policy(root: Path, fake: ScriptedRegistry) -> None:
    (root / 'pyproject.toml').write_text(
        '[tool.digestpin]\nsource = "registry"\n\n[[tool.digestpin.trust]]\n'
        f'images = ["{fake.address}/*"]\nkey = "keys/cosign.pub"\n',
    )


def api_pin(root: Path, fake: ScriptedRegistry, repository: str, digest: str) -> None:
    (root / 'Dockerfile').write_text(f'FROM {fake.address}/{repository}:1@{digest}\n')


def asked(fake: ScriptedRegistry) -> list[str]:
    return [f'{r.method} {r.path}' for r in fake.requests]


@pytest.mark.parametrize('listed_type', (BUNDLE, EMPTY, 'application/vnd.example.lie'))
def test_referrers_api_a_bundle_it_lists_is_found_and_verified(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        listed_type: str,
) -> None:
    digest = fresh(registry, 'api/app')
    # in no tag schema index: only the referrers API tells of it
    referrer = sign_bundle(registry, 'api/app', digest, key, tag_schema=False)
    stranger = sign_bundle(registry, 'api/app', digest, new_key(), tag_schema=False)
    size = len(registry.get_manifest_bytes('api/app', referrer))

    def answer(request: Request) -> Answer:
        if request.path != f'/v2/api/app/referrers/{digest}':
            return referrers_index()
        # the index entry's artifactType is not trusted: the manifest is opened
        return referrers_index(
            {'mediaType': OCI_MANIFEST, 'digest': stranger, 'size': size, 'artifactType': BUNDLE},
            {'mediaType': OCI_MANIFEST, 'digest': referrer, 'size': size, 'artifactType': listed_type},
        )
    fake = referrers_api(registry, answer)
    try:
        api_policy(repo, fake)
        api_pin(repo, fake, 'api/app', digest)
        assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
        paths = asked(fake)
        assert f'GET /v2/api/app/referrers/{digest}' in paths
        assert f'GET /v2/api/app/manifests/{referrer}' in paths
        # the API answered: the tag schema and the legacy tag were not asked
        assert not [p for p in paths if '/manifests/sha256-' in p]
    finally:
        fake.close()


@pytest.mark.parametrize('status', (404, 400, 405))
def test_referrers_api_absent_falls_back_to_the_tag_schema(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        status: int,
) -> None:
    digest = fresh(registry, 'api/old')
    sign_bundle(registry, 'api/old', digest, key)  # listed in the tag schema's index
    fake = referrers_api(registry, lambda request: (status, {}, b'{"errors": []}'))
    try:
        api_policy(repo, fake)
        api_pin(repo, fake, 'api/old', digest)
        assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
        paths = [p for p in asked(fake) if p.startswith('GET')]
        tag = digest.replace(':', '-')
        assert paths.index(f'GET /v2/api/old/referrers/{digest}') < paths.index(
            f'GET /v2/api/old/manifests/{tag}',
        )
    finally:
        fake.close()


def test_referrers_api_a_huge_list_is_read_within_bounds(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    digest = fresh(registry, 'api/crowded')
    # almost 4 MiB: 18,500 entries naming manifests the registry lacks
    entries = [
        {'mediaType': OCI_MANIFEST, 'digest': 'sha256:%064x' % i, 'size': 500, 'artifactType': BUNDLE}
        for i in range(18500)
    ]
    listing = referrers_index(*entries)
    assert 3.5 * 1024 * 1024 < len(listing[2]) < 4 * 1024 * 1024
    fake = referrers_api(registry, lambda request: listing)
    try:
        api_policy(repo, fake)
        api_pin(repo, fake, 'api/crowded', digest)
        started = time.monotonic()
        status, out, _ = run_verify(repo, capsys)
        assert time.monotonic() - started < 20
        assert (status, out) == (1, (
            f'{repo / "Dockerfile"}:1:6: DP011 {digest} has no signature that trust rule 1 '
            f'(key {repo / "keys" / "cosign.pub"}) accepts\n'
        ))
        opened = [p for p in asked(fake) if '/manifests/sha256:' in p and digest not in p]
        assert len(opened) == 64  # MAX_REFERRERS, not 18,500
    finally:
        fake.close()


@pytest.mark.parametrize(('body', 'why'), (
    (b'[' * 5 * 1024 * 1024, 'sent a referrers list over 4096 KiB; not read'),
    (b'<html>not json</html>', 'sent a referrers list that is not an OCI index; not used'),
    (b'{"manifests": {"a": 1}}', 'sent a referrers list that is not an OCI index; not used'),
))
def test_referrers_api_an_oversized_or_garbage_list_is_reported(
        registry: Registry, repo: Path, key: PrivateKey, capsys: pytest.CaptureFixture[str],
        body: bytes, why: str,
) -> None:
    digest = fresh(registry, 'api/garbage')
    fake = referrers_api(registry, lambda request: (200, {'Content-Type': OCI_INDEX}, body))
    try:
        api_policy(repo, fake)
        api_pin(repo, fake, 'api/garbage', digest)
        status, out, err = run_verify(repo, capsys)
        assert (status, out, err) == (2, '', (
            f'{repo / "Dockerfile"}: error: line 1: cannot check the signatures of {digest}: '
            f'{fake.address} {why}\n'
            'summary: 1 pin verified in 1 file; 1 error\n'
        ))
        # a signature that verifies elsewhere (the legacy tag) still counts
        sign_legacy(registry, 'api/garbage', digest, key)
        assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    finally:
        fake.close()
