"""Keyless signatures: a Sigstore bundle checked by the ``sigstore``
package's verifier against a trusted root, and its certificate against a
trust rule's issuer and identity.

The verifier (``Verifier.verify_dsse``) does every cryptographic step: the
certificate's chain to the root's certificate authority, its SCT, the
transparency-log entry (inclusion proof, signed checkpoint and inclusion
promise), the signing time within the certificate's validity, the DSSE
signature, and the log entry's agreement with the bundle.  None of it is
written here.  What is: ``IdentityRegexp``, the one policy the package lacks
(``identity-regexp =``: the whole identity must match, as cosign's
``--certificate-identity-regexp`` is used), and the choice of trusted root:
``--trust-root FILE``, else the Sigstore public-good root that the installed
``sigstore`` package ships — read from the package, never fetched, so that
a commit-time check works offline.

``sigstore`` (Python 3.10+, and heavy: pydantic, tuf, rfc3161-client) is an
extra, ``digestpin_hooks[keyless]``, imported here only and only when a
keyless rule is checked; without it such a rule is a one-line error.
"""
from __future__ import annotations

from digestpin_hooks.model import Record
from digestpin_hooks.resolve.answers import SourceError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from cryptography.x509 import Certificate
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier as Verifier  # for resolve.trust's types
    from sigstore.verify.policy import VerificationPolicy

    from digestpin_hooks.model import TrustRule

INSTALL = "pip install 'digestpin_hooks[keyless]'"
PUBLIC_GOOD = 'the Sigstore public-good root'
MAX_TRUST_ROOT_BYTES = 4 * 1024 * 1024
ISSUER_OIDS = ('1.3.6.1.4.1.57264.1.8', '1.3.6.1.4.1.57264.1.1')  # v2 (DER), v1 (raw)


class Checked(Record):
    """What the verifier concluded of one bundle under one rule: the
    payload it vouches for (``accepted``), else whether the bundle is
    sound but by another signer (``signer`` set), else why it is not one
    (``problem``)."""

    accepted: Final[bool]
    payload: Final[bytes]
    signer: Final[str]  # whom a sound bundle's certificate names
    problem: Final[str]  # why the bundle does not verify at all


def _sigstore() -> None:
    """The extra is there, or a one-line error naming how to install it."""
    try:
        import sigstore.verify  # noqa: F401
    except ImportError:
        raise SourceError(
            f'keyless trust rules (issuer =) need the sigstore package (Python '
            f'3.10+): {INSTALL}',
        ) from None


def load_verifier(trust_root: str) -> Verifier:
    """A verifier for ``trust_root`` (a ``trusted_root.json``), or for the
    public-good root the package ships when it is ''; SourceError when the
    package is missing or the root cannot be read: a rule that cannot
    hold fails the run, before any registry is asked."""
    _sigstore()
    from sigstore.verify import Verifier

    from digestpin_hooks.read.bounded import ReadError
    where = f'--trust-root {trust_root}' if trust_root else PUBLIC_GOOD
    try:
        root = _trusted_root(trust_root)
        return Verifier(trusted_root=root)
    except ReadError as e:  # its message says what it is
        raise SourceError(f'{where}: {e}') from None
    except OSError as e:
        raise SourceError(f'{where}: cannot read: {e.strerror or e}') from None
    except Exception as e:  # pydantic, protobuf, the package's own errors
        detail = ' '.join(str(e).split())[:200]
        raise SourceError(f'{where}: not a Sigstore trusted root: {detail}') from None


def _trusted_root(path: str) -> TrustedRoot:
    from sigstore.models import TrustedRoot
    if path:
        # a regular file of bounded size first: a FIFO must not hang a commit
        from digestpin_hooks.read.bounded import read_regular
        read_regular(path, MAX_TRUST_ROOT_BYTES)
        return TrustedRoot.from_file(path)
    # the copy in the package (what its TUF client starts from): no fetch
    from importlib.resources import as_file
    from importlib.resources import files
    shipped = files('sigstore._store').joinpath(
        'https%3A%2F%2Ftuf-repo-cdn.sigstore.dev', 'trusted_root.json',
    )
    with as_file(shipped) as shipped_path:
        return TrustedRoot.from_file(str(shipped_path))


class IdentityRegexp:
    """The certificate's OIDC issuer is ``issuer`` and one of its identities
    (SAN: URI, e-mail, Sigstore other-name) matches ``pattern`` whole
    (``re.fullmatch``): ``https://github.com/acme/.*`` does not accept
    ``https://github.com/acme/x@evil.example``'s prefix trick, nor a
    pattern match in the middle of another name.  The ``sigstore`` package
    has exact identities only (``Identity``)."""

    def __init__(self, issuer: str, pattern: str) -> None:
        import re
        from sigstore.verify.policy import OIDCIssuer
        self._issuer = OIDCIssuer(issuer)
        # ASCII classes, as in cosign's patterns (Go's RE2): \w, \d, \s
        # and \b match no letter, digit or space outside ASCII, so that a
        # pattern accepts no name cosign's would refuse
        self._pattern = re.compile(pattern, re.ASCII)

    def verify(self, cert: Certificate) -> None:
        from sigstore.errors import VerificationError
        self._issuer.verify(cert)
        identities = _identities(cert)
        if not any(self._pattern.fullmatch(name) for name in identities):
            raise VerificationError(
                f'no identity matches {self._pattern.pattern}: {sorted(identities)}',
            )


def policy(rule: TrustRule) -> VerificationPolicy:
    """The sigstore policy of a keyless rule."""
    if rule.identity_regexp:
        return IdentityRegexp(rule.issuer, rule.identity_regexp)
    from sigstore.verify.policy import Identity
    return Identity(identity=rule.identity, issuer=rule.issuer)


def _identities(cert: Certificate) -> set[str]:
    from cryptography import x509
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found = {str(v) for v in names.get_values_for_type(x509.UniformResourceIdentifier)}
    found.update(names.get_values_for_type(x509.RFC822Name))
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id.dotted_string == '1.3.6.1.4.1.57264.1.7':  # a username
            username = _utf8_string(other.value)
            if username is not None:
                found.add(username)
    return found


def _utf8_string(der: bytes) -> str | None:
    """The text of a DER UTF8String (tag 0x0C, then its length, short or
    long form), as cosign reads the username SAN's value; None for any
    other value (cosign reads none), one whose length is not the bytes
    that follow, or one that is not UTF-8."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, start = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:  # BER's indefinite length, or past 4 GiB
            return None
        length, start = int.from_bytes(der[2:2 + count], 'big'), 2 + count
    if start + length != len(der):
        return None
    try:
        return der[start:].decode('utf-8')
    except UnicodeDecodeError:  # Go's asn1 refuses it: no name to cosign
        return None


def _issuer(cert: Certificate) -> str:
    from cryptography import x509
    for oid in ISSUER_OIDS:
        try:
            value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value
        except x509.ExtensionNotFound:
            continue
        raw = getattr(value, 'value', b'')
        if oid.endswith('.8') and raw[:1] == b'\x0c' and len(raw) >= 2:
            raw = raw[2:] if raw[1] < 0x80 else raw[2 + (raw[1] & 0x7F):]  # UTF8String
        return bytes(raw).decode('utf-8', 'replace')
    return ''


def signer(cert: Certificate) -> str:
    """Whom a certificate names: its identities and issuer; never an error
    (a certificate the verifier accepted may still hold extensions
    ``cryptography`` refuses to list, DuplicateExtension, or a subject it
    cannot put in words)."""
    try:
        names = ', '.join(sorted(_identities(cert))) or cert.subject.rfc4514_string()
        issuer = _issuer(cert)
    except Exception as e:
        return f'a certificate whose names cannot be read ({type(e).__name__})'
    return f'certificate for {names}' + (f' (issuer {issuer})' if issuer else '')


class _AnySigner:
    """Accepts any certificate: the verifier's other checks still run, so
    that a bundle that fails the rule's policy can be told apart as sound
    but by another signer (DP012) from one that does not verify (DP011)."""

    def verify(self, cert: Certificate) -> None:
        return None


def check(verifier: Verifier, rule: TrustRule, bundle_json: bytes) -> Checked:
    """One bundle under one keyless rule.  A hostile bundle may make the
    parser or verifier raise anything: it is then no signature, with why."""
    from sigstore.models import Bundle
    try:
        bundle = Bundle.from_json(bundle_json)
    except Exception as e:
        return Checked(False, b'', '', f'not a bundle sigstore reads: {_short(e)}')
    try:
        _, payload = verifier.verify_dsse(bundle, policy(rule))
        return Checked(True, payload, signer(bundle.signing_certificate), '')
    except Exception as refused:
        try:
            verifier.verify_dsse(bundle, _AnySigner())
        except Exception as e:
            return Checked(False, b'', '', _short(e))
        return Checked(False, b'', signer(bundle.signing_certificate), _short(refused))


def _short(error: Exception) -> str:
    text = ' '.join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:160] + '…'
