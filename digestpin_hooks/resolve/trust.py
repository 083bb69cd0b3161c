"""Who signed a pin: cosign signatures and attestations, found in the
registry that holds the image and checked against a trust rule's key.

A digest proves that bytes never change, not whose they are.  For a pin an
image rule (``[[tool.digestpin.trust]]``) covers, the registry is asked for
what cosign attaches to the pinned digest, in both layouts it writes:

- Sigstore bundles as OCI referrers: ``GET /v2/<name>/referrers/<digest>``,
  else the referrers tag schema (tag ``sha256-<hex>`` holding an index).
  Each listed manifest is opened and its ``subject`` and layers read, never
  the index entry's ``artifactType`` (some cosign versions wrote the empty
  config type there);
- the legacy tags ``sha256-<hex>.sig`` (simple-signing payloads, the
  signature in the layer annotation) and ``sha256-<hex>.att`` (DSSE
  envelopes of in-toto statements).

As cosign does, the digest decides: a simple-signing payload counts when its
``critical.image.docker-manifest-digest`` is exactly the pinned digest, a
DSSE statement when the pinned digest is one of its subjects (cosign v3 signs
statements of predicate type ``https://sigstore.dev/cosign/sign/v1``).  A
signature copied with the image to a mirror stays valid; one for another
digest (a child manifest's) is no signature.  Key-based signatures are
checked with ``cryptography`` (ECDSA P-256/P-384, Ed25519, RSA PKCS#1 v1.5
and PSS), without a transparency-log entry, so that the check works offline,
unless the rule says ``tlog = true`` (then resolve.tlog checks the entry of
the signature and of each required attestation).

Every answer is bounded and every digest checked, as in ``registry``: at
most MAX_REFERRERS manifests opened, MAX_LAYERS layers read of each, no
payload or bundle over MAX_SIGNATURE_BYTES, not more than
MAX_SIGNATURES_TOTAL_BYTES of them for one digest in one layout (the rest
is a failure to ask), and a bundle listed again (by another referrer, or as
another layer) read once.  ``cryptography`` is imported here, in
resolve.tlog and in resolve.keyless only, and only verify, fix and update
import these modules.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time

from digestpin_hooks.model import Record
from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.registry import api_host
from digestpin_hooks.resolve.registry import Deadline
from digestpin_hooks.resolve.registry import MAX_MANIFEST_BYTES
from digestpin_hooks.resolve.registry import MAX_REGISTRIES_AT_ONCE
from digestpin_hooks.resolve.registry import Registry
from digestpin_hooks.resolve import tlog
from digestpin_hooks.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import Final
    from typing import Iterable
    from typing import Sequence
    from typing import TypeGuard
    from typing import Union

    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from digestpin_hooks.model import TrustRule
    from digestpin_hooks.resolve.keyless import Verifier

    PublicKey = Union[EllipticCurvePublicKey, Ed25519PublicKey, RSAPublicKey]

SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
DSSE_LAYER = 'application/vnd.dsse.envelope.v1+json'
BUNDLE_PREFIX = 'application/vnd.dev.sigstore.bundle'  # v0.1 … v0.3, +json
SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate'
IN_TOTO_PAYLOAD = 'application/vnd.in-toto+json'
IN_TOTO_STATEMENTS = (
    'https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1',
)
COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1'  # what cosign v3 signs
MAX_SIGNATURE_BYTES = 1024 * 1024  # a payload, an envelope, a bundle
MAX_SIGNATURES_TOTAL_BYTES = 16 * MAX_SIGNATURE_BYTES  # read in one layout for one digest
MAX_REFERRERS = 64  # manifests opened from one referrers list
MAX_LAYERS = 16  # layers read of one signature manifest
MAX_SIGNATURES = 8  # signatures read of one envelope
MAX_SIGNER_CHARACTERS = 200
# what a registry without the referrers API answers for it: 404 (the OCI
# spec), 400, 405 or 406 (routes it does not know), 501
NO_REFERRERS_API = (400, 404, 405, 406, 501)

# what a check concludes; the hooks turn these into codes and words
TRUSTED = 'trusted'
UNSIGNED = 'unsigned'  # DP011
OTHER_SIGNER = 'other-signer'  # DP012
ATTESTATION_MISSING = 'attestation-missing'  # DP013
FAILED = 'failed'  # the registry could not be asked: an error at the pin


class Subject(Record):
    """One pinned digest to check, in its repository, under its rule."""

    domain: Final[str]
    repository: Final[str]
    digest: Final[str]
    rule: Final[TrustRule]


class Verdict(Record):
    """What the check of one Subject concludes (TRUSTED … FAILED), with its
    detail: who signed instead (OTHER_SIGNER), the predicate types missing
    (ATTESTATION_MISSING), why the registry could not be asked (FAILED)."""

    outcome: Final[str]
    detail: Final[str]
    unreachable: Final[bool]  # FAILED for want of any connection


class Signed(Record):
    """A signature found for the pinned digest, not yet checked: the bytes
    it signs (a simple-signing payload, or a DSSE envelope's PAE)."""

    data: Final[bytes]
    signature: Final[bytes]
    predicate_type: Final[str]  # '' for a simple-signing payload
    signer: Final[str]  # whom its certificate or key hint names, else ''
    bundle: Final[bytes] = b''  # the Sigstore bundle it came in (keyless checks)
    payload: Final[bytes] = b''  # a DSSE envelope's payload ('': ``data`` is)
    entries: Final[tuple[tlog.LogEntry, ...]] = ()  # log entries it came with
    envelope: Final[bytes] = b''  # a legacy .att layer: the envelope as logged


class _Broken(Exception):
    """The registry could not be asked about signatures: a Failed answer."""

    def __init__(self, answer: Failed) -> None:
        super().__init__(answer.reason)
        self.answer = answer


# -- keys ------------------------------------------------------------------

def load_key(path: str, number: int) -> PublicKey:
    """A trust rule's public key (PEM, as ``cosign generate-key-pair``
    writes it), or SourceError: a rule that cannot hold fails the run."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    where = f'trust rule {number}: key {path}'
    try:
        data = read_regular(path, MAX_SMALL_FILE_BYTES).data
    except OSError as e:
        raise SourceError(f'{where}: cannot read: {e.strerror or e}') from None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SourceError(f'{where}: not a PEM public key') from None
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in ('secp256r1', 'secp384r1'):
        return key
    if isinstance(key, (ed25519.Ed25519PublicKey, rsa.RSAPublicKey)):
        return key
    raise SourceError(
        f'{where}: not an ECDSA P-256/P-384, Ed25519 or RSA key (what cosign signs with)',
    )


def _der(key: PublicKey) -> bytes:
    """The key's DER SubjectPublicKeyInfo, as a log entry's key is compared."""
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.hazmat.primitives.serialization import PublicFormat
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: PublicKey) -> str:
    """``SHA256:<base64>`` of the key's DER SubjectPublicKeyInfo: what
    cosign puts in a bundle's key hint, so the two can be compared."""
    return 'SHA256:' + base64.b64encode(hashlib.sha256(_der(key)).digest()).decode()


def verifies(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies with ``key``, as cosign
    signs: ECDSA with SHA-256 (P-384 also SHA-384, what newer cosign
    uses), Ed25519 over the data itself, RSA PKCS#1 v1.5 or PSS with SHA-256."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric import rsa
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            choices: list[hashes.HashAlgorithm] = [hashes.SHA256()]
            if key.curve.name == 'secp384r1':
                choices.insert(0, hashes.SHA384())
            for algorithm in choices:
                try:
                    key.verify(signature, data, ec.ECDSA(algorithm))
                    return True
                except InvalidSignature:
                    continue
            return False
        if isinstance(key, rsa.RSAPublicKey):
            for scheme in (
                padding.PKCS1v15(),
                padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
            ):
                try:
                    key.verify(signature, data, scheme, hashes.SHA256())
                    return True
                except InvalidSignature:
                    continue
            return False
        key.verify(signature, data)
        return True
    except (InvalidSignature, ValueError):
        return False


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what an envelope signs."""
    kind = payload_type.encode()
    return b'DSSEv1 %d %s %d %s' % (len(kind), kind, len(payload), payload)


# -- reading what the registry holds -----------------------------------------

def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


class _Ambiguous(dict):  # type: ignore[type-arg]
    """A JSON object of a signed payload that names a key twice, exactly or
    in another case: Python keeps the last exact name, Go's encoding/json
    (cosign) the last name equal to the field's in any case, others the
    first, so readers disagree about what was signed."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    count = len(pairs)
    read = dict(pairs)
    if (
        len(read) < count or len({k.casefold() for k in read}) < count
        or len({k.lower().upper() for k in read}) < count  # Go's folding
    ):
        return _Ambiguous(read)
    return read


def _signed_json(data: bytes) -> Any:
    """A signed payload's JSON; the objects that name a key twice are
    _Ambiguous, and those whose fields decide what is signed do not count."""
    try:
        return json.loads(data, object_pairs_hook=_object)
    except (ValueError, RecursionError):
        return None


def _plain(value: Any) -> TypeGuard[dict[str, Any]]:
    """Whether ``value`` is a JSON object that names each key once."""
    return isinstance(value, dict) and not isinstance(value, _Ambiguous)


def _clean(text: str) -> str:
    """A name a registry answer gave, fit for one line of a message."""
    text = printable(text)
    if len(text) > MAX_SIGNER_CHARACTERS:
        return text[:MAX_SIGNER_CHARACTERS] + '…'
    return text


def _certificate_signer(der_or_pem: bytes) -> str:
    """Whom a signing certificate names (its SAN), for a DP012 message.
    The certificate is a registry's answer, not yet checked: ``cryptography``
    raises more than ValueError for it (DuplicateExtension,
    UnsupportedGeneralNameType), and any of it is one it cannot read."""
    from cryptography import x509
    try:
        if der_or_pem.lstrip().startswith(b'-----BEGIN'):
            certificate = x509.load_pem_x509_certificate(der_or_pem)
        else:
            certificate = x509.load_der_x509_certificate(der_or_pem)
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName,
        ).value
        values = [str(v) for v in names.get_values_for_type(x509.UniformResourceIdentifier)]
        values += names.get_values_for_type(x509.RFC822Name)
        named = ', '.join(values) or certificate.subject.rfc4514_string()
    except Exception:  # ExtensionNotFound, or what a hostile DER makes it raise
        return 'a certificate digestpin cannot read'
    return 'certificate for ' + _clean(named)


def _bundle_signer(bundle: dict[str, Any]) -> str:
    material = bundle.get('verificationMaterial')
    if not isinstance(material, dict):
        return ''
    hint = material.get('publicKey', {}).get('hint') if isinstance(material.get('publicKey'), dict) else None
    if isinstance(hint, str) and hint:
        return f'key {_clean(hint)}'
    raw = None
    if isinstance(material.get('certificate'), dict):
        raw = material['certificate'].get('rawBytes')
    elif isinstance(material.get('x509CertificateChain'), dict):
        chain = material['x509CertificateChain'].get('certificates')
        if isinstance(chain, list) and chain and isinstance(chain[0], dict):
            raw = chain[0].get('rawBytes')
    der = tlog.base64_value(raw)
    return _certificate_signer(der) if der else ''


def _statement_for(statement: Any, digest: str) -> str | None:
    """The predicate type of an in-toto statement that has ``digest`` as a
    subject, else None.  A statement without one (``''``) is none: in
    Signed, '' marks a simple-signing payload, which counts as a signature."""
    if not _plain(statement) or statement.get('_type') not in IN_TOTO_STATEMENTS:
        return None
    algorithm, _, hex_part = digest.partition(':')
    subjects = statement.get('subject')
    predicate_type = statement.get('predicateType')
    if not isinstance(subjects, list) or not isinstance(predicate_type, str) or not predicate_type:
        return None
    for subject in subjects:
        digests = subject.get('digest') if _plain(subject) else None
        if _plain(digests) and digests.get(algorithm) == hex_part:
            return predicate_type
    return None


def _from_envelope(
        envelope: Any, digest: str, signer: str, bundle: bytes = b'',
        entries: tuple[tlog.LogEntry, ...] = (), raw: bytes = b'',
) -> list[Signed]:
    """The signatures of a DSSE envelope whose statement is about ``digest``
    (``raw``: its bytes as stored, which an ``intoto`` log entry hashes)."""
    if not isinstance(envelope, dict) or envelope.get('payloadType') != IN_TOTO_PAYLOAD:
        return []
    payload = tlog.base64_value(envelope.get('payload'))
    signatures = envelope.get('signatures')
    if payload is None or not isinstance(signatures, list):
        return []
    predicate_type = _statement_for(_signed_json(payload), digest)
    if predicate_type is None:
        return []
    data = pae(IN_TOTO_PAYLOAD, payload)
    found = []
    for entry in signatures[:MAX_SIGNATURES]:
        signature = tlog.base64_value(entry.get('sig')) if isinstance(entry, dict) else None
        if signature:
            found.append(Signed(
                data, signature, predicate_type, signer, bundle, payload, entries, raw,
            ))
    return found


class _Reader:
    """The questions about one subject, through one registry connection."""

    def __init__(self, registry: Registry, subject: Subject) -> None:
        self.registry = registry
        self.subject = subject
        self.signature_bytes = 0  # read by this look, against MAX_SIGNATURES_TOTAL_BYTES
        self.overflow: Failed | None = None  # a look that stopped there

    def get(
            self, path: str, limit: int, what: str, absent: tuple[int, ...] = (404,),
    ) -> bytes | None:
        """The body, None when the registry has nothing there (404, or
        another of ``absent``)."""
        answer = self.registry.fetch(self.subject.repository, path, limit, what, absent)
        if isinstance(answer, Missing):
            return None
        if isinstance(answer, Failed):
            raise _Broken(answer)
        return answer

    def by_digest(self, kind: str, digest: Any, limit: int, what: str) -> bytes | None:
        """A manifest or blob by its digest, its bytes checked against it
        (None: absent, malformed or not matching: not used)."""
        if not isinstance(digest, str) or digest_problem(digest) is not None:
            return None
        body = self.get(f'{kind}/{digest}', limit, what)
        if body is None:
            return None
        algorithm = digest.partition(':')[0]
        if f'{algorithm}:' + hashlib.new(algorithm, body).hexdigest() != digest:
            return None
        return body

    def layers(self, manifest: Any) -> list[dict[str, Any]]:
        if not isinstance(manifest, dict) or not isinstance(manifest.get('layers'), list):
            return []
        return [layer for layer in manifest['layers'][:MAX_LAYERS] if isinstance(layer, dict)]

    def blob(self, layer: dict[str, Any]) -> bytes | None:
        size = layer.get('size')
        if isinstance(size, int) and not 0 <= size <= MAX_SIGNATURE_BYTES:
            return None  # not asked for at all: 50 MB of "signature" is not one
        if self.signature_bytes > MAX_SIGNATURES_TOTAL_BYTES:
            return None
        body = self.by_digest('blobs', layer.get('digest'), MAX_SIGNATURE_BYTES, 'signature layer')
        self.signature_bytes += len(body or b'')
        if self.signature_bytes > MAX_SIGNATURES_TOTAL_BYTES:
            # each layer within its bound, but a thousand of them are no
            # signatures: what they would cost to keep is not spent; what
            # was read before still counts, the rest is a failure to ask
            self.overflow = Failed(
                f'{api_host(self.subject.domain)} sent over '
                f'{MAX_SIGNATURES_TOTAL_BYTES // 1024 // 1024} MiB of signature layers for '
                f'{self.subject.digest}; the rest not read',
            )
            return None
        return body

    def legacy(self, suffix: str) -> list[Signed]:
        """What the ``sha256-<hex>.sig`` or ``.att`` tag holds."""
        tag = self.subject.digest.replace(':', '-') + suffix
        self.signature_bytes = 0
        body = self.get(f'manifests/{tag}', MAX_MANIFEST_BYTES, 'signature manifest')
        found: list[Signed] = []
        for layer in self.layers(_json(body) if body else None):
            annotations = layer.get('annotations')
            annotations = annotations if isinstance(annotations, dict) else {}
            certificate = annotations.get(CERTIFICATE_ANNOTATION)
            # JSON can hold half a UTF-16 pair ("\ud800"), which no codec
            # encodes strictly; a PEM is ASCII, so such a one is unreadable
            signer = (
                _certificate_signer(certificate.encode('utf-8', 'replace'))
                if isinstance(certificate, str) and certificate else ''
            )
            entry = tlog.legacy_entry(annotations.get(tlog.BUNDLE_ANNOTATION))
            entries = (entry,) if entry else ()
            if layer.get('mediaType') == SIMPLE_SIGNING:
                signature = tlog.base64_value(annotations.get(SIGNATURE_ANNOTATION))
                if not signature:
                    continue
                payload = self.blob(layer)
                if payload is not None and self._simple_signing_for(payload):
                    found.append(Signed(payload, signature, '', signer, entries=entries))
            elif layer.get('mediaType') == DSSE_LAYER:
                envelope = self.blob(layer)
                if envelope is not None:
                    found += _from_envelope(
                        _json(envelope), self.subject.digest, signer, entries=entries,
                        raw=envelope,
                    )
        return found

    def _simple_signing_for(self, payload: bytes) -> bool:
        document = _signed_json(payload)
        critical = document.get('critical') if _plain(document) else None
        image = critical.get('image') if _plain(critical) else None
        return _plain(image) and image.get('docker-manifest-digest') == self.subject.digest

    def referrers(self) -> list[Signed]:
        """The Sigstore bundles attached to the digest as referrers: the
        API where the registry has it, else the tag schema's index.  A
        registry without the API answers one of NO_REFERRERS_API; one that
        answers 200 with a list too large or no index at all is broken or
        hostile: _Broken, reported unless another signature verifies."""
        digest = self.subject.digest
        self.signature_bytes = 0
        body = self.get(
            f'referrers/{digest}', MAX_MANIFEST_BYTES, 'referrers list', NO_REFERRERS_API,
        )
        index = _json(body) if body is not None else None
        if body is not None and not (
            isinstance(index, dict) and isinstance(index.get('manifests'), list)
        ):
            raise _Broken(Failed(
                f'{api_host(self.subject.domain)} sent a referrers list that is not an '
                f'OCI index; not used',
            ))
        if body is None:
            body = self.get(
                f'manifests/{digest.replace(":", "-")}', MAX_MANIFEST_BYTES, 'referrers index',
            )
            index = _json(body) if body else None
        entries = index.get('manifests') if isinstance(index, dict) else None
        found: list[Signed] = []
        bundles_read: set[str] = set()  # layer digests: one bundle listed again is read once
        listed = dict.fromkeys(
            entry['digest'] for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict) and isinstance(entry.get('digest'), str)
        )
        for listed_digest in list(listed)[:MAX_REFERRERS]:
            body = self.by_digest('manifests', listed_digest, MAX_MANIFEST_BYTES, 'referrer manifest')
            manifest = _json(body) if body else None
            subject = manifest.get('subject') if isinstance(manifest, dict) else None
            if not isinstance(subject, dict) or subject.get('digest') != digest:
                continue
            for layer in self.layers(manifest):
                media_type = layer.get('mediaType')
                if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_PREFIX):
                    continue
                if not isinstance(layer.get('digest'), str) or layer['digest'] in bundles_read:
                    continue
                bundles_read.add(layer['digest'])
                raw = self.blob(layer) or b'null'
                bundle = _json(raw)
                if isinstance(bundle, dict):
                    found += _from_envelope(
                        bundle.get('dsseEnvelope'), digest, _bundle_signer(bundle), raw,
                        tlog.bundle_entries(bundle),
                    )
        return found


def check_one(
        registry: Registry, subject: Subject, key: PublicKey,
        log_keys: dict[str, tlog.LogKey] | None = None,
) -> Verdict:
    """The verdict on one pinned digest under its key rule; with
    ``log_keys`` (``tlog = true``) a signature counts only with a log entry
    that resolve.tlog accepts for it under those keys."""
    reader = _Reader(registry, subject)
    found: list[Signed] = []
    failure: Failed | None = None
    looks: list[Callable[[], list[Signed]]] = [reader.referrers, lambda: reader.legacy('.sig')]
    if subject.rule.attestations:
        looks.append(lambda: reader.legacy('.att'))  # attestations only
    signed = False
    unlogged: dict[Signed, str] = {}  # signed with the key, not logged: why
    der = _der(key) if log_keys is not None else b''

    def accepted(s: Signed) -> bool:
        if not verifies(key, s.signature, s.data):
            return False
        if log_keys is None:
            return True
        if s not in unlogged:
            unlogged[s] = tlog.check(
                s.entries, s.payload or s.data, s.signature, der, log_keys, s.envelope,
            )
        return not unlogged[s]

    for look in looks:
        try:
            found += look()
        except _Broken as broken:
            failure = failure or broken.answer
        failure = failure or reader.overflow
        signed = any(accepted(s) for s in found if s.predicate_type in ('', COSIGN_SIGN))
        if signed and not subject.rule.attestations:
            break  # enough: the rest would be asked for nothing
    signatures = [s for s in found if s.predicate_type in ('', COSIGN_SIGN)]
    if not signed:
        if failure is not None:
            return Verdict(FAILED, failure.reason, failure.unreachable)
        reasons = [why for why in unlogged.values() if why]
        if reasons:
            # a specific fault of an entry says more than a missing one
            why = next((r for r in reasons if r != tlog.MISSING), reasons[0])
            return Verdict(UNSIGNED, f'signed with the key, but {why}', False)
        if signatures:
            signers = sorted({s.signer for s in signatures if s.signer})
            return Verdict(OTHER_SIGNER, '; '.join(signers[:3]) or 'an unknown key', False)
        return Verdict(UNSIGNED, '', False)
    missing = []
    for wanted in subject.rule.attestations:
        candidates = [s for s in found if s.predicate_type == wanted]
        if any(accepted(s) for s in candidates):
            continue
        # signed with the key but not logged (tlog = true): say why
        faults = [unlogged[s] for s in candidates if unlogged.get(s)]
        fault = next((r for r in faults if r != tlog.MISSING), faults[0]) if faults else ''
        missing.append(
            _clean(wanted) + (f' (signed with the key, but {fault})' if fault else ''),
        )
    if missing:
        if failure is not None:
            return Verdict(FAILED, failure.reason, failure.unreachable)
        return Verdict(ATTESTATION_MISSING, ', '.join(missing), False)
    return Verdict(TRUSTED, fingerprint(key), False)


def check_one_keyless(registry: Registry, subject: Subject, verifier: Verifier) -> Verdict:
    """The verdict on one pinned digest under its keyless rule: the
    Sigstore bundles attached to it, each checked by the ``sigstore``
    verifier (resolve.keyless).  A bundle that verifies but names another
    signer is OTHER_SIGNER; one that does not verify at all (chain, SCT,
    log inclusion, validity) is no signature, and the first reason is
    kept.  The legacy ``.sig`` layout carries no inclusion proof the
    verifier accepts: it is looked at only to say so."""
    from digestpin_hooks.resolve import keyless
    rule = subject.rule
    reader = _Reader(registry, subject)
    try:
        found = reader.referrers()
    except _Broken as broken:
        return Verdict(FAILED, broken.answer.reason, broken.answer.unreachable)
    if reader.overflow is not None:
        return Verdict(FAILED, reader.overflow.reason, False)
    kinds: dict[bytes, str] = {}
    for signed in found:
        if signed.bundle:
            kinds.setdefault(signed.bundle, signed.predicate_type)
    accepted: dict[str, str] = {}  # predicate type: who signed it
    others: list[str] = []
    problems: list[str] = []
    wanted = {COSIGN_SIGN, *rule.attestations}
    # signatures first: without one, the attestations are not looked at
    for bundle in sorted(kinds, key=lambda b: kinds[b] != COSIGN_SIGN):
        kind = kinds[bundle]
        if wanted <= set(accepted) or (kind != COSIGN_SIGN and COSIGN_SIGN not in accepted):
            break
        if kind not in wanted or kind in accepted:
            continue
        checked = keyless.check(verifier, rule, bundle)
        if checked.accepted:
            # what the verifier vouched for must itself be about this digest
            vouched = _statement_for(_signed_json(checked.payload), subject.digest)
            if vouched is not None:
                accepted.setdefault(vouched, checked.signer)
        elif kind == COSIGN_SIGN and checked.signer:
            others.append(_clean(checked.signer))
        elif kind == COSIGN_SIGN:
            problems.append(_clean(checked.problem))
    if COSIGN_SIGN not in accepted:
        if others:
            return Verdict(OTHER_SIGNER, '; '.join(sorted(set(others))[:3]), False)
        if problems:
            return Verdict(UNSIGNED, f'a Sigstore bundle does not verify: {problems[0]}', False)
        try:
            legacy = reader.legacy('.sig')
        except _Broken:
            legacy = []
        if legacy:
            return Verdict(UNSIGNED, (
                "cosign's legacy .sig signatures cannot be checked keyless (no "
                'inclusion proof): sign with the bundle format (cosign v3)'
            ), False)
        return Verdict(UNSIGNED, '', False)
    missing = [wanted_type for wanted_type in rule.attestations if wanted_type not in accepted]
    if missing:
        return Verdict(ATTESTATION_MISSING, ', '.join(_clean(m) for m in missing), False)
    return Verdict(TRUSTED, _clean(accepted[COSIGN_SIGN]), False)


def check_signatures(
        subjects: Iterable[Subject], timeout: float, insecure: Sequence[str] = (),
        trust_root: str = '',
) -> dict[Subject, Verdict]:
    """Every subject's verdict: registries in parallel (at most
    MAX_REGISTRIES_AT_ONCE), one connection each, within ``timeout``.
    The keys and the trusted root are read first: a rule whose key cannot
    be read, or a keyless rule without a usable root or ``sigstore``
    package, fails the run (SourceError) before any registry is asked."""
    subjects = list(dict.fromkeys(subjects))
    keys: dict[str, PublicKey] = {}
    verifier: Verifier | None = None
    log_keys: dict[str, tlog.LogKey] | None = None
    for subject in subjects:
        rule = subject.rule
        if not rule.key:
            if verifier is None:
                from digestpin_hooks.resolve.keyless import load_verifier
                verifier = load_verifier(trust_root)
            continue
        if rule.key not in keys:
            keys[rule.key] = load_key(rule.key, rule.number)
        if rule.tlog and log_keys is None:
            log_keys = tlog.load_log_keys(trust_root)
    deadline = Deadline(timeout)
    by_domain: dict[str, list[Subject]] = {}
    for subject in subjects:
        by_domain.setdefault(subject.domain, []).append(subject)
    verdicts: dict[Subject, Verdict] = {}
    lock = threading.Lock()
    pending = list(by_domain.items())

    def work() -> None:
        while True:
            with lock:
                if not pending:
                    return
                domain, domain_subjects = pending.pop()
            registry = Registry(domain, deadline, insecure)
            try:
                for subject in domain_subjects:
                    try:
                        if subject.rule.key:
                            verdict = check_one(
                                registry, subject, keys[subject.rule.key],
                                log_keys if subject.rule.tlog else None,
                            )
                        else:
                            assert verifier is not None
                            verdict = check_one_keyless(registry, subject, verifier)
                    except Exception as e:  # a bug of ours: one line, no traceback
                        verdict = Verdict(FAILED, f'internal error: {type(e).__name__}', False)
                    with lock:
                        verdicts[subject] = verdict
            finally:
                registry.close()

    workers = [
        threading.Thread(target=work, daemon=True)
        for _ in range(min(MAX_REGISTRIES_AT_ONCE, len(by_domain)))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(0.0, deadline.end - time.monotonic()) + 0.05)
    with lock:
        return {
            subject: verdicts.get(subject) or Verdict(
                FAILED, f'{api_host(subject.domain)} gave no complete answer within '
                f'{timeout:g} s (--timeout)', False,
            )
            for subject in subjects
        }



def signer_of(rule: TrustRule) -> str:
    """Whom a rule trusts, as its messages name it."""
    if rule.key:
        return f'key {rule.key}'
    if rule.identity:
        return f'issuer {rule.issuer}, identity {rule.identity}'
    return f'issuer {rule.issuer}, identity-regexp {rule.identity_regexp}'


def explain(verdict: Verdict, rule: TrustRule, digest: str) -> tuple[str, str]:
    """(code, message) of a verdict that is not TRUSTED; the code is ''
    for FAILED (the registry could not be asked: an error, not a finding)."""
    which = f'trust rule {rule.number} ({signer_of(rule)})'
    if verdict.outcome == UNSIGNED:
        because = f': {verdict.detail}' if verdict.detail else ''
        return 'DP011', f'{digest} has no signature that {which} accepts{because}'
    if verdict.outcome == OTHER_SIGNER:
        return 'DP012', (
            f'{digest} is signed, but not '
            f'{"with the key of" if rule.key else "by the signer of"} {which}: '
            f'signed by {verdict.detail}'
        )
    if verdict.outcome == ATTESTATION_MISSING:
        return 'DP013', (
            f'{digest} lacks the attestation {which} requires: {verdict.detail}'
        )
    return '', f'cannot check the signatures of {digest}: {verdict.detail}'
