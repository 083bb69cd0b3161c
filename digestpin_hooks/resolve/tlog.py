"""Transparency-log entries of key-based signatures (``tlog = true``): a
Rekor entry's signed entry timestamp (SET) checked against the trusted
root's log key, and its body against the signature it is said to log.

A key rule normally needs no log, so that a commit-time check works
offline; ``tlog = true`` asks that the signature was also recorded in a
transparency log, so that a stolen key's signatures are at least public.
The ``sigstore`` verifier checks log entries only of bundles that carry a
certificate (it cannot load a key-based bundle), so the check is here,
with ``cryptography``, and as narrow as the SET itself:

- the SET is the log's signature over the RFC 8785 canonical JSON of
  ``{body, integratedTime, logID, logIndex}`` (the body base64, the log ID
  hex), what cosign's ``VerifySET`` and sigstore's ``_verify_set`` check.
  Legacy ``.sig`` layers carry it in the ``dev.sigstore.cosign/bundle``
  annotation (``{SignedEntryTimestamp, Payload: {body, integratedTime,
  logIndex, logID}}``), bundles as ``tlogEntries[].inclusionPromise``;
- the log ID must be a log of the trusted root (``tlogs[].logId.keyId``),
  the SET verify with that log's key, and the integrated time lie within
  the key's ``validFor``;
- the body must log this very signature: ``hashedrekord`` 0.0.1 (cosign
  ``sign --key`` of a simple-signing payload) with the payload's SHA-256,
  the signature, and the rule's key; ``dsse`` 0.0.1 (a DSSE envelope in a
  bundle) with the payload's SHA-256 and a signature entry that is this
  signature with the rule's key as verifier; ``intoto`` 0.0.2 (cosign
  ``attest --key``, legacy ``.att``: the Rekor bundle in the same
  annotation) with the SHA-256 of the envelope as stored and of its
  payload, and a signature entry that is this signature with the rule's
  key (0.0.1, older cosign: the two hashes and the key).  Attestations a
  rule requires are checked as signatures are.

An inclusion proof (Merkle path and signed checkpoint) is not asked for:
the SET is the log's promise, what cosign accepts offline.  The trusted
root is ``--trust-root FILE``, else the public-good ``trusted_root.json``
the ``sigstore`` package ships, read as a file (the package is not
imported, never fetched).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json

from digestpin_hooks.model import Record
from digestpin_hooks.resolve.answers import SourceError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Final

    from typing import Union

    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    LogPublicKey = Union[EllipticCurvePublicKey, Ed25519PublicKey]

MAX_TRUST_ROOT_BYTES = 4 * 1024 * 1024  # as resolve.keyless
MAX_ENTRIES = 4  # log entries looked at for one signature
BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle'
PUBLIC_GOOD = 'the Sigstore public-good root'
INSTALL = "pip install 'digestpin_hooks[keyless]'"

# why an entry does not do (a Verdict's detail, after "signed with the key, but ")
MISSING = 'no transparency-log entry (tlog = true)'
UNKNOWN_LOG = 'its transparency-log entry is from a log the trusted root does not name'
BAD_SET = "its transparency-log entry's signed entry timestamp does not verify"
OUT_OF_TIME = "its transparency-log entry's time is outside the log key's validity"
OTHER_SIGNATURE = 'its transparency-log entry logs another signature'
UNSUPPORTED = 'its transparency-log entry is of a kind digestpin does not read'


class LogEntry(Record):
    """A log entry as a signature carries it, not yet checked."""

    body: Final[bytes]  # the canonicalized body
    integrated_time: Final[int]
    log_index: Final[int]
    log_id: Final[str]  # hex, as the SET signs it
    signed_entry_timestamp: Final[bytes]


class LogKey(Record):
    """One transparency log of the trusted root: its key and validity."""

    key: Final[LogPublicKey]
    start: Final[float]  # POSIX seconds; 0: no start given
    end: Final[float]  # POSIX seconds; 0: no end


def base64_value(value: Any) -> bytes | None:
    """The bytes a JSON string holds in standard base64, or None when it
    is no string or not strict base64 (registry and log answers are
    hostile: no padding errors raised, no characters skipped)."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _integer(value: Any) -> int | None:
    """A log index or time as the log writes it (a non-negative int64): a
    JSON number (legacy) or a string of digits (protobuf JSON); None for
    anything else, so that one entry is read one way only."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and 0 <= value < 2 ** 63:
        return value
    return None


def legacy_entry(annotation: Any) -> LogEntry | None:
    """The entry of a ``dev.sigstore.cosign/bundle`` annotation, if well formed."""
    if not isinstance(annotation, str):
        return None
    try:
        document = json.loads(annotation)
    except (ValueError, RecursionError):
        return None
    payload = document.get('Payload') if isinstance(document, dict) else None
    if not isinstance(payload, dict):
        return None
    body = base64_value(payload.get('body'))
    timestamp = base64_value(document.get('SignedEntryTimestamp'))
    integrated_time = _integer(payload.get('integratedTime'))
    log_index = _integer(payload.get('logIndex'))
    log_id = payload.get('logID')
    if (
        body is None or timestamp is None or integrated_time is None or log_index is None
        or not isinstance(log_id, str) or not log_id
    ):
        return None
    return LogEntry(body, integrated_time, log_index, log_id.lower(), timestamp)


def bundle_entries(bundle: dict[str, Any]) -> tuple[LogEntry, ...]:
    """The entries of a Sigstore bundle that carry an inclusion promise."""
    material = bundle.get('verificationMaterial')
    entries = material.get('tlogEntries') if isinstance(material, dict) else None
    found = []
    for entry in entries[:MAX_ENTRIES] if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        promise = entry.get('inclusionPromise')
        log_id = entry.get('logId')
        body = base64_value(entry.get('canonicalizedBody'))
        timestamp = base64_value(promise.get('signedEntryTimestamp')) if isinstance(promise, dict) else None
        key_id = base64_value(log_id.get('keyId')) if isinstance(log_id, dict) else None
        integrated_time = _integer(entry.get('integratedTime'))
        log_index = _integer(entry.get('logIndex'))
        if (
            body is None or timestamp is None or not key_id or integrated_time is None
            or log_index is None
        ):
            continue
        found.append(LogEntry(body, integrated_time, log_index, key_id.hex(), timestamp))
    return tuple(found)


# -- the trusted root's logs --------------------------------------------------

def _seconds(value: Any) -> float:
    """POSIX seconds of an RFC 3339 time (``validFor``), 0 when absent;
    ValueError when not a time."""
    if value is None:
        return 0.0
    if not isinstance(value, str):
        raise ValueError('a time is not a string')
    import datetime
    import re
    # Python 3.9's fromisoformat reads neither Z nor every fraction
    text = re.sub(r'\.\d+', '', value.strip()).replace('Z', '+00:00').replace('z', '+00:00')
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _public_good() -> str:
    """The path of the public-good ``trusted_root.json`` in the installed
    ``sigstore`` package, found without importing the package."""
    import importlib.util
    import os
    spec = importlib.util.find_spec('sigstore')
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = os.path.join(
            folder, '_store', 'https%3A%2F%2Ftuf-repo-cdn.sigstore.dev', 'trusted_root.json',
        )
        if os.path.isfile(path):
            return path
    raise SourceError(
        f'tlog = true without --trust-root uses {PUBLIC_GOOD}, which the sigstore '
        f'package ships (Python 3.10+): {INSTALL}, or give --trust-root FILE',
    )


def load_log_keys(trust_root: str) -> dict[str, LogKey]:
    """The logs of ``trust_root`` (a ``trusted_root.json``; '' for the
    public-good one), by hex log ID; SourceError when it cannot be read or
    names no log: a rule that cannot hold fails the run."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    from digestpin_hooks.read.bounded import read_regular
    from digestpin_hooks.read.bounded import ReadError
    path = trust_root or _public_good()
    where = f'--trust-root {trust_root}' if trust_root else PUBLIC_GOOD
    try:
        data = read_regular(path, MAX_TRUST_ROOT_BYTES).data
    except ReadError as e:
        raise SourceError(f'{where}: {e}') from None
    except OSError as e:
        raise SourceError(f'{where}: cannot read: {e.strerror or e}') from None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise SourceError(f'{where}: not a Sigstore trusted root: not JSON') from None
    logs = document.get('tlogs') if isinstance(document, dict) else None
    keys: dict[str, LogKey] = {}
    for number, log in enumerate(logs if isinstance(logs, list) else [], 1):
        try:
            public = log['publicKey']
            key_id = base64_value(log['logId']['keyId'])
            der = base64_value(public['rawBytes'])
            if not key_id or der is None:
                raise ValueError('no key')
            valid = public.get('validFor') or {}
            key = load_der_public_key(der)
            if not isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
                raise ValueError('not a key a log signs with')
            keys[key_id.hex()] = LogKey(
                key, _seconds(valid.get('start')), _seconds(valid.get('end')),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SourceError(
                f'{where}: not a Sigstore trusted root: tlogs entry {number} has no '
                f'usable publicKey and logId',
            ) from None
    if not keys:
        raise SourceError(f'{where}: names no transparency log (tlogs)')
    return keys


# -- checking one entry -------------------------------------------------------

def canonical(entry: LogEntry) -> bytes:
    """What the SET signs: RFC 8785 JSON of the four fields (ASCII strings
    and integers only, so sorted keys and no spaces are exactly that)."""
    return json.dumps({
        'body': base64.b64encode(entry.body).decode(),
        'integratedTime': entry.integrated_time,
        'logID': entry.log_id,
        'logIndex': entry.log_index,
    }, sort_keys=True, separators=(',', ':')).encode()


def _set_verifies(key: LogPublicKey, signature: bytes, data: bytes) -> bool:
    """Whether a log's SET verifies: ECDSA with SHA-256 (SHA-384 on P-384,
    as the trusted root's ``PKIX_ECDSA_P384_SHA_384`` says) or Ed25519, the
    keys Rekor signs with."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algorithm: hashes.HashAlgorithm = (
                hashes.SHA384() if key.curve.name == 'secp384r1' else hashes.SHA256()
            )
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            key.verify(signature, data)
        return True
    except (InvalidSignature, ValueError):
        return False


def _same_key(pem_b64: Any, key_der: bytes) -> bool:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from cryptography.hazmat.primitives.serialization import PublicFormat
    pem = base64_value(pem_b64)
    if pem is None:
        return False
    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError):
        return False  # a certificate: not the rule's key anyway
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == key_der


def _hash_is(value: Any, data: bytes) -> bool:
    return (
        isinstance(value, dict) and value.get('algorithm') == 'sha256'
        and value.get('value') == hashlib.sha256(data).hexdigest()
    )


def _same_signature(value: Any, signature: bytes) -> bool:
    """Whether an ``intoto`` entry's ``sig`` is ``signature``: Rekor stores
    the envelope's base64 signature text base64-encoded once more."""
    text = base64_value(value)
    return text is not None and base64_value(text.decode('ascii', 'replace')) == signature


def _intoto(
        version: Any, spec: dict[str, Any], payload: bytes, signature: bytes, key_der: bytes,
        envelope: bytes,
) -> str:
    """'' when an ``intoto`` entry (cosign ``attest --key``, legacy
    ``.att``) logs this envelope: its ``content.hash`` is the SHA-256 of
    the envelope as uploaded (the ``.att`` layer; unknown for an envelope
    re-serialized in a bundle, where the payload hash, signature and key
    bind it), ``content.payloadHash`` the payload's.  0.0.2 (cosign
    today) holds the envelope's signatures with their keys; 0.0.1 (cosign
    before 2.0) the key beside the hash of the envelope, which holds the
    signature."""
    content = spec.get('content')
    if not isinstance(content, dict):
        return UNSUPPORTED
    if not _hash_is(content.get('payloadHash'), payload) or (
        envelope and not _hash_is(content.get('hash'), envelope)
    ):
        return OTHER_SIGNATURE
    if version == '0.0.1':
        if envelope and _same_key(spec.get('publicKey'), key_der):
            return ''
        return OTHER_SIGNATURE
    logged = content.get('envelope')
    signatures = logged.get('signatures') if isinstance(logged, dict) else None
    if not isinstance(signatures, list):
        return UNSUPPORTED
    if any(
        isinstance(s, dict) and _same_signature(s.get('sig'), signature)
        and _same_key(s.get('publicKey'), key_der)
        for s in signatures[:MAX_ENTRIES]
    ):
        return ''
    return OTHER_SIGNATURE


def logs(
        body: bytes, payload: bytes, signature: bytes, key_der: bytes, envelope: bytes = b'',
) -> str:
    """'' when the entry body logs ``signature`` of ``payload`` by the key
    whose DER is ``key_der`` (for a DSSE signature, ``envelope``: the
    envelope's bytes as stored, b'' when re-serialized); else why not
    (OTHER_SIGNATURE, UNSUPPORTED)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return UNSUPPORTED
    if not isinstance(document, dict):
        return UNSUPPORTED
    spec = document.get('spec')
    kind, version = document.get('kind'), document.get('apiVersion')
    if not isinstance(spec, dict):
        return UNSUPPORTED
    if kind == 'intoto' and version in ('0.0.1', '0.0.2'):
        return _intoto(version, spec, payload, signature, key_der, envelope)
    if version != '0.0.1':
        return UNSUPPORTED
    if kind == 'hashedrekord':
        data = spec.get('data')
        logged = spec.get('signature')
        if not isinstance(data, dict) or not isinstance(logged, dict):
            return UNSUPPORTED
        public = logged.get('publicKey')
        if (
            _hash_is(data.get('hash'), payload)
            and base64_value(logged.get('content')) == signature
            and isinstance(public, dict) and _same_key(public.get('content'), key_der)
        ):
            return ''
        return OTHER_SIGNATURE
    if kind == 'dsse':
        signatures = spec.get('signatures')
        if not isinstance(signatures, list):
            return UNSUPPORTED
        if _hash_is(spec.get('payloadHash'), payload) and any(
            isinstance(s, dict) and base64_value(s.get('signature')) == signature
            and _same_key(s.get('verifier'), key_der)
            for s in signatures[:MAX_ENTRIES]
        ):
            return ''
        return OTHER_SIGNATURE
    return UNSUPPORTED


def check(
        entries: tuple[LogEntry, ...], payload: bytes, signature: bytes, key_der: bytes,
        log_keys: dict[str, LogKey], envelope: bytes = b'',
) -> str:
    """'' when one of ``entries`` is a log's promise, under the trusted
    root, that ``signature`` of ``payload`` by the key was logged; else
    why not (of the last entry tried: one reason is enough)."""
    why = MISSING
    for entry in entries[:MAX_ENTRIES]:
        log = log_keys.get(entry.log_id)
        if log is None:
            why = UNKNOWN_LOG
            continue
        if not _set_verifies(log.key, entry.signed_entry_timestamp, canonical(entry)):
            why = BAD_SET
            continue
        if entry.integrated_time < log.start or (log.end and entry.integrated_time > log.end):
            why = OUT_OF_TIME
            continue
        why = logs(entry.body, payload, signature, key_der, envelope)
        if not why:
            return ''
    return why
