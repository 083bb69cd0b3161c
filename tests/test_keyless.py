"""Keyless trust rules against a private Sigstore made here, offline:
tests/sigstore_mock.js drives @sigstore/mock (its CA issues certificates
with the OIDC issuer extension and an SCT, its log returns inclusion
promises, proofs and signed checkpoints) and writes the trusted_root.json
of that Sigstore; the bundles are pushed to a real registry as cosign v3
attaches them (tests/cosign.py), and checked by the ``sigstore`` package's
verifier through ``--trust-root``.  Nothing of the verifier is mocked."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.verify import main as verify_main
from tests.cosign import attach_bundle
from tests.cosign import new_key
from tests.cosign import node_answer
from tests.cosign import Registry
from tests.cosign import registry_only
from tests.cosign import sign_legacy
from tests.cosign import SLSA
from tests.output import without_summary
from tests.registries import isolated_credentials

pytestmark = pytest.mark.docker  # a real registry (docker-registry)
NO_DAEMON = ['--docker-host', 'unix:///nonexistent/docker.sock']
HERE = Path(__file__).resolve().parent

GITHUB = 'https://token.actions.githubusercontent.com'
RELEASE = 'https://github.com/acme/base/.github/workflows/release.yml@refs/heads/main'
FORK = 'https://github.com/mallory/base/.github/workflows/release.yml@refs/heads/main'
GITLAB = 'https://gitlab.com'
COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1'
VERIFIED_ONE = 'summary: 1 pin verified in 1 file\n'


def private_sigstore(*signatures: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(trusted root, bundles) of a fresh private Sigstore that signed
    ``signatures`` (digest, identity, issuer, and optionally predicateType,
    certificateAgeSeconds, inclusion)."""
    requests = [{'predicateType': COSIGN_SIGN, **s} for s in signatures]
    made = node_answer('sigstore_mock.js', {'signatures': requests})
    return made['trustedRoot'], made['bundles']


@pytest.fixture(scope='module')
def registry() -> Iterator[Registry]:
    pytest.importorskip('sigstore')
    for address in registry_only():
        yield Registry(address)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolated_credentials(monkeypatch, tmp_path / 'home')
    monkeypatch.setenv('DOCKER_HOST', 'unix:///nonexistent/docker.sock')
    root = tmp_path / 'repo'
    (root / '.git').mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def policy(root: Path, registry: Registry, signer: str, extra: str = '') -> None:
    """Images of ``keyless/*`` must be signed by ``signer`` (TOML lines);
    the trust root is the config's ``trust-root``, from the file's folder."""
    (root / 'pyproject.toml').write_text(
        '[tool.digestpin]\nsource = "registry"\ntrust-root = "sigstore/trusted_root.json"\n\n'
        '[[tool.digestpin.trust]]\n'
        f'images = ["{registry.address}/keyless/*"]\n' + signer + extra,
    )


def exactly(identity: str = RELEASE, issuer: str = GITHUB) -> str:
    return f'issuer = "{issuer}"\nidentity = "{identity}"\n'


_counter = iter(range(10**6))


def signed_image(
        root: Path, registry: Registry, *signatures: dict[str, Any], subject: str = '',
) -> str:
    """A new image in ``keyless/app``, the bundles of ``signatures`` (for
    its digest unless they name another) attached to it, the private
    Sigstore's root in ``sigstore/trusted_root.json`` and the pin in the
    Dockerfile; the digest."""
    digest = registry.image('keyless/app', '1', f'content {next(_counter)} {time.time()}')
    trusted_root, bundles = private_sigstore(*({'digest': digest, **s} for s in signatures))
    (root / 'sigstore').mkdir(exist_ok=True)
    (root / 'sigstore' / 'trusted_root.json').write_text(json.dumps(trusted_root))
    for signature, bundle in zip(signatures, bundles):
        attach_bundle(
            registry, 'keyless/app', subject or digest, bundle,
            predicate_type=signature.get('predicateType', COSIGN_SIGN),
        )
    (root / 'Dockerfile').write_text(f'FROM {registry.address}/keyless/app:1@{digest}\n')
    return digest


def run_verify(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    status = verify_main([*NO_DAEMON, *extra, str(root / 'Dockerfile')])
    out, err = capsys.readouterr()
    return status, out, err


def signer(identity: str = RELEASE, issuer: str = GITHUB) -> str:
    return f'certificate for {identity} (issuer {issuer})'


def rule(identity: str = RELEASE, issuer: str = GITHUB) -> str:
    return f'trust rule 1 (issuer {issuer}, identity {identity})'


def test_the_right_identity_passes(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry, exactly())
    digest = signed_image(repo, registry, {'identity': RELEASE, 'issuer': GITHUB})
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    image = f'{registry.address}/keyless/app:1@{digest}'
    assert run_verify(repo, capsys, '--verbose') == (
        0, f'{repo / "Dockerfile"}:1:0: {image!r} signed by {signer()}\n', VERIFIED_ONE,
    )
    status, out, _ = run_verify(repo, capsys, '--format', 'json')
    assert (status, json.loads(out)['signatures']) == (0, [{
        'path': str(repo / 'Dockerfile'), 'line': 1, 'image': image, 'checked': True,
        'result': 'trusted', 'detail': signer(),
    }])


def test_the_trust_root_on_the_command_line_wins(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Another private Sigstore's root does not vouch for this one's
    certificates: the bundle does not verify (DP011), and --trust-root
    with the right root overrides the configured one."""
    policy(repo, registry, exactly())
    digest = signed_image(repo, registry, {'identity': RELEASE, 'issuer': GITHUB})
    (repo / 'right.json').write_bytes((repo / 'sigstore' / 'trusted_root.json').read_bytes())
    other, _ = private_sigstore({'digest': digest, 'identity': RELEASE, 'issuer': GITHUB})
    (repo / 'sigstore' / 'trusted_root.json').write_text(json.dumps(other))
    status, out, _ = run_verify(repo, capsys)
    assert status == 1
    assert out.startswith(
        f'{repo / "Dockerfile"}:1:6: DP011 {digest} has no signature that {rule()} '
        f'accepts: a Sigstore bundle does not verify: ',
    )
    assert out.count('\n') == 1
    assert run_verify(repo, capsys, '--trust-root', str(repo / 'right.json')) == (
        0, '', VERIFIED_ONE,
    )


@pytest.mark.parametrize(('identity', 'issuer'), (
    (FORK, GITHUB),  # the wrong identity
    (RELEASE, GITLAB),  # the right name from the wrong issuer
))
def test_another_signer_is_dp012_naming_who_signed(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
        identity: str, issuer: str,
) -> None:
    policy(repo, registry, exactly())
    digest = signed_image(repo, registry, {'identity': identity, 'issuer': issuer})
    assert run_verify(repo, capsys) == (1, (
        f'{repo / "Dockerfile"}:1:6: DP012 {digest} is signed, but not by the signer of '
        f'{rule()}: signed by {signer(identity, issuer)}\n'
    ), 'summary: 1 finding (DP012 1) in 1 file; 1 pin verified in 1 file\n')


@pytest.mark.parametrize(('pattern', 'passes'), (
    ('https://github.com/acme/.*', True),
    ('https://github\\.com/acme/base/\\.github/workflows/release\\.yml@refs/heads/.+', True),
    # anchored at both ends: a match inside the identity is no match
    ('acme/base', False),
    ('https://github.com/acme/base/.github/workflows/release.yml', False),
    ('https://github.com/mallory/.*', False),
))
def test_identity_regexp_matches_the_whole_identity(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
        pattern: str, passes: bool,
) -> None:
    policy(repo, registry, f'issuer = "{GITHUB}"\nidentity-regexp = \'{pattern}\'\n')
    digest = signed_image(repo, registry, {'identity': RELEASE, 'issuer': GITHUB})
    if passes:
        assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    else:
        assert run_verify(repo, capsys)[:2] == (1, (
            f'{repo / "Dockerfile"}:1:6: DP012 {digest} is signed, but not by the signer '
            f'of trust rule 1 (issuer {GITHUB}, identity-regexp {pattern}): signed by '
            f'{signer()}\n'
        ))


@pytest.mark.parametrize(('broken', 'reason'), (
    # the CA's clock an hour behind: the certificate (10 minutes) had
    # expired when the log saw the signature
    ({'certificateAgeSeconds': 3600}, 'failed to build timestamp certificate chain'),
    # no inclusion promise nor proof: the log never vouched for it
    ({'inclusion': False}, 'not a bundle sigstore reads'),
))
def test_a_bundle_that_does_not_verify_is_no_signature(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
        broken: dict[str, Any], reason: str,
) -> None:
    policy(repo, registry, exactly())
    digest = signed_image(repo, registry, {'identity': RELEASE, 'issuer': GITHUB, **broken})
    status, out, err = run_verify(repo, capsys)
    assert (status, err) == (1, 'summary: 1 finding (DP011 1) in 1 file; 1 pin verified in 1 file\n')
    assert out.startswith(
        f'{repo / "Dockerfile"}:1:6: DP011 {digest} has no signature that {rule()} '
        f'accepts: a Sigstore bundle does not verify: {reason}',
    ), out
    assert out.count('\n') == 1


def test_a_hostile_bundle_is_no_signature(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A sound bundle's envelope with its verification material nested
    900 deep and a control character in it: whatever sigstore's parser
    raises is the reason, on one escaped line."""
    policy(repo, registry, exactly())
    digest = registry.image('keyless/app', '1', f'content {next(_counter)} {time.time()}')
    trusted_root, bundles = private_sigstore(
        {'digest': digest, 'identity': RELEASE, 'issuer': GITHUB},
    )
    (repo / 'sigstore').mkdir()
    (repo / 'sigstore' / 'trusted_root.json').write_text(json.dumps(trusted_root))
    hostile = dict(bundles[0])
    hostile['verificationMaterial'] = json.loads(
        '{"\\u001b[2J": ' + '[' * 900 + ']' * 900 + '}',
    )
    attach_bundle(registry, 'keyless/app', digest, hostile)
    (repo / 'Dockerfile').write_text(f'FROM {registry.address}/keyless/app:1@{digest}\n')
    status, out, _ = run_verify(repo, capsys)
    assert status == 1
    assert out.startswith(
        f'{repo / "Dockerfile"}:1:6: DP011 {digest} has no signature that {rule()} '
        f'accepts: a Sigstore bundle does not verify: not a bundle sigstore reads: ',
    ), out
    assert out.count('\n') == 1 and '\x1b' not in out


def test_a_bundle_for_another_digest_is_no_signature(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A sound bundle whose statement is about another digest, attached
    to this one, signs nothing here."""
    policy(repo, registry, exactly())
    other = registry.image('keyless/app', 'other', f'other {next(_counter)} {time.time()}')
    digest = registry.image('keyless/app', '1', f'content {next(_counter)} {time.time()}')
    trusted_root, bundles = private_sigstore(
        {'digest': other, 'identity': RELEASE, 'issuer': GITHUB},
    )
    (repo / 'sigstore').mkdir()
    (repo / 'sigstore' / 'trusted_root.json').write_text(json.dumps(trusted_root))
    attach_bundle(registry, 'keyless/app', digest, bundles[0])
    (repo / 'Dockerfile').write_text(f'FROM {registry.address}/keyless/app:1@{digest}\n')
    assert run_verify(repo, capsys)[:2] == (1, (
        f'{repo / "Dockerfile"}:1:6: DP011 {digest} has no signature that {rule()} accepts\n'
    ))


def test_a_legacy_sig_signature_is_no_keyless_signature_and_says_why(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """cosign's ``.sig`` layout has a log entry without an inclusion
    proof, which the verifier does not take: DP011, saying what to do."""
    policy(repo, registry, exactly())
    digest = signed_image(repo, registry)  # no bundle at all
    sign_legacy(registry, 'keyless/app', digest, new_key('p256'))
    assert run_verify(repo, capsys)[:2] == (1, (
        f'{repo / "Dockerfile"}:1:6: DP011 {digest} has no signature that {rule()} '
        "accepts: cosign's legacy .sig signatures cannot be checked keyless (no inclusion "
        'proof): sign with the bundle format (cosign v3)\n'
    ))


def test_required_attestations_signed_by_the_same_identity(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry, exactly(), f'attestations = ["{SLSA}"]\n')
    signature = {'identity': RELEASE, 'issuer': GITHUB}
    signed_image(repo, registry, signature, {**signature, 'predicateType': SLSA})
    assert run_verify(repo, capsys) == (0, '', VERIFIED_ONE)
    # the provenance by another identity is not the rule's
    digest = signed_image(
        repo, registry, signature, {'identity': FORK, 'issuer': GITHUB, 'predicateType': SLSA},
    )
    assert run_verify(repo, capsys)[:2] == (1, (
        f'{repo / "Dockerfile"}:1:6: DP013 {digest} lacks the attestation {rule()} '
        f'requires: {SLSA}\n'
    ))


def test_fix_does_not_pin_a_digest_another_identity_signed(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    policy(repo, registry, exactly())
    digest = signed_image(repo, registry, {'identity': FORK, 'issuer': GITHUB})
    (repo / 'Dockerfile').write_text(f'FROM {registry.address}/keyless/app:1\n')
    assert fix_main([*NO_DAEMON, str(repo / 'Dockerfile')]) == 1
    out, _ = capsys.readouterr()
    assert (repo / 'Dockerfile').read_text() == f'FROM {registry.address}/keyless/app:1\n'
    assert without_summary(out) == (
        f'{repo / "Dockerfile"}:1:6: DP001 {registry.address + "/keyless/app:1"!r} left '
        f'unpinned: DP012: {digest} is signed, but not by the signer of {rule()}: signed by '
        f'{signer(FORK)} (not pinned: the trust policy does not accept it)\n'
    )


@pytest.mark.parametrize(('content', 'message'), (
    (None, 'cannot read: No such file or directory'),
    ('{"mediaType": "x"}', 'not a Sigstore trusted root: '),
))
def test_an_unusable_trust_root_is_one_line_and_exit_2(
        registry: Registry, repo: Path, capsys: pytest.CaptureFixture[str],
        content: str | None, message: str,
) -> None:
    policy(repo, registry, exactly())
    signed_image(repo, registry, {'identity': RELEASE, 'issuer': GITHUB})
    path = repo / 'sigstore' / 'trusted_root.json'
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    status, out, err = run_verify(repo, capsys)
    assert (status, out) == (2, '')
    assert err.startswith(f'digestpin-verify: error: --trust-root {path}: {message}'), err
    assert err.count('\n') == 1


def test_without_the_sigstore_package_a_keyless_rule_is_one_line(
        registry: Registry, repo: Path,
) -> None:
    policy(repo, registry, exactly())
    signed_image(repo, registry, {'identity': RELEASE, 'issuer': GITHUB})
    result = subprocess.run(
        (sys.executable, '-c', (
            'import sys\n'
            "sys.modules['sigstore'] = None  # as if not installed\n"
            'from digestpin_hooks.verify import main\n'
            "sys.exit(main(['--docker-host', 'unix:///nonexistent/docker.sock', 'Dockerfile']))\n"
        )),
        capture_output=True, text=True, cwd=repo,
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, '', (
        'digestpin-verify: error: keyless trust rules (issuer =) need the sigstore '
        "package (Python 3.10+): pip install 'digestpin_hooks[keyless]'\n"
    ))


def test_the_public_good_root_is_read_from_the_package_not_fetched() -> None:
    """Without --trust-root, the root the package ships: loaded with no
    network (this machine has none to Sigstore), and it vouches for none
    of the private Sigstore's certificates."""
    pytest.importorskip('sigstore')
    from digestpin_hooks.resolve.keyless import load_verifier
    verifier = load_verifier('')
    roots = verifier._trusted_root.get_fulcio_certs()
    assert any('sigstore.dev' in c.subject.rfc4514_string() for c in roots)


def test_lint_never_loads_sigstore(registry: Registry, repo: Path) -> None:
    policy(repo, registry, exactly())
    (repo / 'Dockerfile').write_text(f'FROM {registry.address}/keyless/app:1\n')
    result = subprocess.run(
        (sys.executable, '-c', (
            'import sys\n'
            'from digestpin_hooks.lint import main\n'
            'status = main(["Dockerfile"])\n'
            "assert not [m for m in sys.modules if m.split('.')[0] in ('sigstore', 'pydantic')]\n"
            "assert 'digestpin_hooks.resolve.keyless' not in sys.modules\n"
            'sys.exit(status)\n'
        )),
        capture_output=True, text=True, cwd=repo,
    )
    assert (result.returncode, result.stderr.splitlines()[-1:]) == (
        1, ['summary: 1 finding (DP001 1) in 1 file'],
    )


def test_whom_a_certificate_names_is_said_even_when_it_cannot_be_listed() -> None:
    """A certificate the trusted CA issued and the verifier accepted whose
    extensions ``cryptography`` refuses to list (its SAN twice: it raises
    DuplicateExtension) raised out of ``keyless.check`` as it named the
    signer, after the signature had verified: an internal error for the
    whole run.  Whom it names is then said to be unreadable."""
    from cryptography import x509

    from digestpin_hooks.resolve.keyless import signer
    from tests.cosign import certificate_with_a_duplicate_extension
    cert = x509.load_der_x509_certificate(certificate_with_a_duplicate_extension())
    assert signer(cert) == 'a certificate whose names cannot be read (DuplicateExtension)'


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 0x80
    return bytes((0x0C, len(data))) + data


def _fulcio_like(username: bytes, issuer: str = GITHUB) -> Any:
    """A self-signed certificate naming a signer as Fulcio does: the
    Sigstore username SAN (an otherName whose value is ``username``, DER)
    and the issuer extensions (v2: a DER UTF8String; v1: the raw text)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'sigstore')])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(datetime.datetime(2040, 1, 1))
        .add_extension(x509.SubjectAlternativeName([
            x509.OtherName(x509.ObjectIdentifier('1.3.6.1.4.1.57264.1.7'), username),
        ]), False)
        .add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier('1.3.6.1.4.1.57264.1.8'), _der_utf8(issuer),
        ), False)
        .add_extension(x509.UnrecognizedExtension(  # v1: the raw text
            x509.ObjectIdentifier('1.3.6.1.4.1.57264.1.1'), issuer.encode(),
        ), False)
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(('username', 'named'), (
    (_der_utf8('alice'), {'alice'}),
    # a length in the long form (past 127 bytes)
    (b'\x0c\x81\x82' + b'a' * 130, {'a' * 130}),
    # not a UTF8String (cosign reads a UTF8String only), or not UTF-8 (Go's
    # asn1 refuses it): no name
    (b'\x13\x05alice', set()),
    (b'\x0c\x06al\xffice', set()),
))
def test_the_username_san_is_read_as_its_utf8string(username: bytes, named: set[str]) -> None:
    """The value of an otherName is DER: its tag and length are no part of
    the name (they were read as two characters of it, and no pattern
    written for the name matched)."""
    pytest.importorskip('sigstore')
    from digestpin_hooks.resolve.keyless import signer
    from digestpin_hooks.resolve.keyless import _identities
    assert _identities(_fulcio_like(username)) == named
    if named == {'alice'}:
        assert signer(_fulcio_like(username)) == f'certificate for alice (issuer {GITHUB})'


@pytest.mark.parametrize(('name', 'pattern', 'passes'), (
    ('alice', r'\w+', True),
    ('alice-1', r'\w+-\d', True),
    # cosign's patterns are Go's (RE2): \w, \d and \s are ASCII there
    ('ålice', r'\w+', False),
    ('alice-١', r'\w+-\d', False),
))
def test_identity_regexp_classes_are_ascii_as_in_cosign(name: str, pattern: str, passes: bool) -> None:
    pytest.importorskip('sigstore')
    from sigstore.errors import VerificationError

    from digestpin_hooks.resolve.keyless import IdentityRegexp
    certificate = _fulcio_like(_der_utf8(name))
    if passes:
        IdentityRegexp(GITHUB, pattern).verify(certificate)
    else:
        with pytest.raises(VerificationError):
            IdentityRegexp(GITHUB, pattern).verify(certificate)
