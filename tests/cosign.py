"""A registry of the test's own (``docker-registry``, no daemon), images
pushed through its HTTP API, and signatures written as cosign writes them:

- the legacy layout (cosign's signature spec): tag ``sha256-<hex>.sig``, an
  OCI manifest whose layers are simple-signing payloads
  (``application/vnd.dev.cosign.simplesigning.v1+json``) with the base64
  signature in the annotation ``dev.cosignproject.cosign/signature``; tag
  ``sha256-<hex>.att``, layers of DSSE envelopes
  (``application/vnd.dsse.envelope.v1+json``) with a ``predicateType``
  annotation;
- Sigstore bundles (``application/vnd.dev.sigstore.bundle.v0.3+json``) as
  OCI 1.1 referrers: a manifest with ``artifactType``, the empty config,
  the bundle as its layer and ``subject`` the signed manifest, listed in the
  referrers tag schema's index (tag ``sha256-<hex>``), as cosign v3 writes
  them on a registry without the referrers API.

Keys are made by the tests with ``cryptography`` and sign as cosign does
(ECDSA with SHA-256 or SHA-384 for P-384, Ed25519, RSA PKCS#1 v1.5 or PSS).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from typing import Union

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stack import _wait
from tests.stack import free_port
from tests.stack import unavailable
from tests.stalls import run_unstalled

PrivateKey = Union[ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey]

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
EMPTY = 'application/vnd.oci.empty.v1+json'
SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
DSSE = 'application/vnd.dsse.envelope.v1+json'
BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
IN_TOTO = 'application/vnd.in-toto+json'
COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1'
SLSA = 'https://slsa.dev/provenance/v1'


def sha256(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def registry_only() -> Iterator[str]:
    """A real distribution registry on a free loopback port: its address."""
    import shutil
    if shutil.which('docker-registry') is None:
        unavailable('docker-registry is not installed (apt-get install docker-registry)')
    root = tempfile.mkdtemp(prefix='dpt', dir='/tmp')
    address = f'127.0.0.1:{free_port()}'
    config = os.path.join(root, 'registry.yml')
    with open(config, 'w') as f:
        f.write(
            'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n'
            f'    rootdirectory: {root}/data\nhttp:\n  addr: {address}\n',
        )
    log = open(os.path.join(root, 'registry.log'), 'wb')
    process = subprocess.Popen(
        ['docker-registry', 'serve', config], stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def up() -> bool:
        try:
            with urllib.request.urlopen(f'http://{address}/v2/', timeout=1):
                return True
        except OSError:
            return False
    try:
        _wait(up, 'the registry', 30, os.path.join(root, 'registry.log'))
        yield address
    finally:
        process.terminate()
        process.wait(10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


class Registry:
    """Pushes to one registry over its HTTP API."""

    def __init__(self, address: str) -> None:
        self.address = address

    def blob(self, repository: str, data: bytes) -> dict[str, Any]:
        """Upload ``data`` (monolithic); its descriptor (digest, size)."""
        digest = sha256(data)
        request = urllib.request.Request(
            f'http://{self.address}/v2/{repository}/blobs/uploads/', data=b'', method='POST',
        )
        with urllib.request.urlopen(request) as answer:
            location = answer.headers['Location']
        if location.startswith('/'):
            location = f'http://{self.address}{location}'
        separator = '&' if '?' in location else '?'
        request = urllib.request.Request(
            f'{location}{separator}digest={digest}', data=data, method='PUT',
            headers={'Content-Type': 'application/octet-stream'},
        )
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 201
        return {'digest': digest, 'size': len(data)}

    def manifest(self, repository: str, reference: str, manifest: dict[str, Any]) -> str:
        """PUT a manifest or index (at a tag, or at its own digest when
        ``reference`` is ''); its digest."""
        body = json.dumps(manifest).encode()
        digest = sha256(body)
        request = urllib.request.Request(
            f'http://{self.address}/v2/{repository}/manifests/{reference or digest}',
            data=body, method='PUT', headers={'Content-Type': manifest['mediaType']},
        )
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 201
        return digest

    def image(self, repository: str, tag: str, content: str) -> str:
        """A small single-platform OCI image at ``tag``; its digest."""
        layer = self.blob(repository, content.encode())
        config = self.blob(repository, json.dumps({
            'architecture': 'amd64', 'os': 'linux',
            'rootfs': {'type': 'layers', 'diff_ids': [layer['digest']]},
        }).encode())
        return self.manifest(repository, tag, {
            'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
            'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', **config},
            'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', **layer}],
        })

    def index(self, repository: str, tag: str, children: list[str]) -> str:
        """An OCI index of ``children`` (digests of manifests there)."""
        entries = []
        for number, child in enumerate(children):
            request = urllib.request.Request(
                f'http://{self.address}/v2/{repository}/manifests/{child}',
                headers={'Accept': OCI_MANIFEST},
            )
            with urllib.request.urlopen(request) as answer:
                size = len(answer.read())
            entries.append({
                'mediaType': OCI_MANIFEST, 'digest': child, 'size': size,
                'platform': {'architecture': ('amd64', 'arm64')[number % 2], 'os': 'linux'},
            })
        return self.manifest(repository, tag, {
            'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': entries,
        })

    def get_manifest_bytes(self, repository: str, reference: str) -> bytes:
        request = urllib.request.Request(
            f'http://{self.address}/v2/{repository}/manifests/{reference}',
            headers={'Accept': f'{OCI_MANIFEST}, {OCI_INDEX}'},
        )
        with urllib.request.urlopen(request) as answer:
            return bytes(answer.read())

    def get_manifest(self, repository: str, reference: str) -> dict[str, Any] | None:
        request = urllib.request.Request(
            f'http://{self.address}/v2/{repository}/manifests/{reference}',
            headers={'Accept': f'{OCI_MANIFEST}, {OCI_INDEX}'},
        )
        try:
            with urllib.request.urlopen(request) as answer:
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise


# -- keys and signing, as cosign signs ----------------------------------------

def new_key(kind: str = 'p256') -> PrivateKey:
    if kind == 'p256':
        return ec.generate_private_key(ec.SECP256R1())
    if kind == 'p384':
        return ec.generate_private_key(ec.SECP384R1())
    if kind == 'ed25519':
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def sign(key: PrivateKey, data: bytes, rsa_padding: str = 'pkcs1') -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = hashes.SHA384() if key.curve.name == 'secp384r1' else hashes.SHA256()
        return key.sign(data, ec.ECDSA(algorithm))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    scheme = padding.PKCS1v15() if rsa_padding == 'pkcs1' else padding.PSS(
        padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH,
    )
    return key.sign(data, scheme, hashes.SHA256())


def _der(tag: int, content: bytes) -> bytes:
    if len(content) < 0x80:
        return bytes([tag, len(content)]) + content
    size = len(content).to_bytes((len(content).bit_length() + 7) // 8, 'big')
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_items(data: bytes) -> list[bytes]:
    """The TLVs of a DER SEQUENCE's content, each whole."""
    items, at = [], 0
    while at < len(data):
        size, start = data[at + 1], at + 2
        if size & 0x80:
            count = size & 0x7F
            size, start = int.from_bytes(data[start:start + count], 'big'), start + count
        items.append(data[at:start + size])
        at = start + size
    return items


def _der_content(item: bytes) -> bytes:
    """The content of one TLV, without its tag and length."""
    size = item[1]
    return item[2 + (size & 0x7F if size & 0x80 else 0):]


def certificate_with_a_duplicate_extension() -> bytes:
    """A self-signed certificate (DER) whose extensions name the SAN twice,
    which ``cryptography`` parses but refuses to list (DuplicateExtension)."""
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'duplicate')])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(datetime.datetime(2040, 1, 1))
        .add_extension(x509.SubjectAlternativeName([
            x509.UniformResourceIdentifier('https://example.com/signer'),
        ]), False)
        .sign(key, hashes.SHA256())
    )
    tbs, algorithm, signature = _der_items(_der_content(
        certificate.public_bytes(serialization.Encoding.DER),
    ))
    *fields, extensions = _der_items(_der_content(tbs))
    listed = _der_items(_der_content(_der_items(_der_content(extensions))[0]))
    doubled = _der(0xA3, _der(0x30, b''.join(listed * 2)))
    return _der(0x30, _der(0x30, b''.join([*fields, doubled])) + algorithm + signature)


def simple_signing(image: str, digest: str) -> bytes:
    return json.dumps({
        'critical': {
            'identity': {'docker-reference': image},
            'image': {'docker-manifest-digest': digest},
            'type': 'cosign container image signature',
        },
        'optional': None,
    }, separators=(',', ':')).encode()


def statement(digest: str, predicate_type: str, predicate: dict[str, Any] | None = None) -> bytes:
    return json.dumps({
        '_type': 'https://in-toto.io/Statement/v1',
        'subject': [{'name': 'image', 'digest': {'sha256': digest.partition(':')[2]}}],
        'predicateType': predicate_type,
        'predicate': predicate or {},
    }).encode()


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b'DSSEv1 %d %s %d %s' % (len(kind), kind, len(payload), payload)


def envelope(key: PrivateKey, payload: bytes) -> dict[str, Any]:
    return {
        'payloadType': IN_TOTO, 'payload': b64(payload),
        'signatures': [{'keyid': '', 'sig': b64(sign(key, pae(IN_TOTO, payload)))}],
    }


def _config(registry: Registry, repository: str) -> dict[str, Any]:
    # what cosign writes as the config of a signature image
    return {
        'mediaType': 'application/vnd.oci.image.config.v1+json',
        **registry.blob(repository, json.dumps({
            'architecture': '', 'os': '', 'config': {},
            'rootfs': {'type': 'layers', 'diff_ids': []},
        }).encode()),
    }


def legacy_tag(digest: str, suffix: str) -> str:
    return digest.replace(':', '-') + suffix


def sign_legacy(
        registry: Registry, repository: str, digest: str, key: PrivateKey, *,
        payload_digest: str = '', tamper: bool = False, rsa_padding: str = 'pkcs1',
        extra_layers: list[dict[str, Any]] | None = None,
        annotate: Callable[[bytes, bytes], dict[str, str]] | None = None,
) -> None:
    """``cosign sign --key``, legacy layout: one more simple-signing layer
    in the ``.sig`` manifest.  ``payload_digest``: the digest the payload
    names (another one: a signature copied to the wrong place);
    ``tamper``: the payload changed after signing; ``annotate``: more
    annotations of (payload, signature), e.g. the Rekor bundle."""
    payload = simple_signing(f'{registry.address}/{repository}', payload_digest or digest)
    signature = sign(key, payload, rsa_padding)
    more = annotate(payload, signature) if annotate else {}
    if tamper:
        payload = payload.replace(b'cosign container image signature', b'cosign container image signaturE')
    layer = {
        'mediaType': SIMPLE_SIGNING, **registry.blob(repository, payload),
        'annotations': {'dev.cosignproject.cosign/signature': b64(signature), **more},
    }
    tag = legacy_tag(digest, '.sig')
    existing = registry.get_manifest(repository, tag)
    layers = (existing['layers'] if existing else []) + (extra_layers or []) + [layer]
    registry.manifest(repository, tag, {
        'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
        'config': _config(registry, repository), 'layers': layers,
    })


def attest_legacy(
        registry: Registry, repository: str, digest: str, key: PrivateKey,
        predicate_type: str, *, subject_digest: str = '',
        annotate: Callable[[bytes, bytes, bytes], dict[str, str]] | None = None,
) -> None:
    """``cosign attest --key``, legacy layout: a DSSE layer in ``.att``;
    ``annotate``: more annotations of (envelope, payload, signature), e.g.
    the Rekor bundle of its ``intoto`` entry."""
    payload = statement(subject_digest or digest, predicate_type, {'builder': {'id': 'test'}})
    dsse = envelope(key, payload)
    envelope_json = json.dumps(dsse).encode()
    more = annotate(
        envelope_json, payload, base64.b64decode(dsse['signatures'][0]['sig']),
    ) if annotate else {}
    layer = {
        'mediaType': DSSE,
        **registry.blob(repository, envelope_json),
        'annotations': {
            'dev.cosignproject.cosign/signature': '', 'predicateType': predicate_type,
            **more,
        },
    }
    tag = legacy_tag(digest, '.att')
    existing = registry.get_manifest(repository, tag)
    registry.manifest(repository, tag, {
        'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
        'config': _config(registry, repository),
        'layers': (existing['layers'] if existing else []) + [layer],
    })


def referrer_index_add(registry: Registry, repository: str, digest: str, entry: dict[str, Any]) -> None:
    """Add ``entry`` to the referrers tag schema's index (tag ``sha256-<hex>``)."""
    tag = digest.replace(':', '-')
    existing = registry.get_manifest(repository, tag)
    registry.manifest(repository, tag, {
        'schemaVersion': 2, 'mediaType': OCI_INDEX,
        'manifests': (existing['manifests'] if existing else []) + [entry],
    })


def attach_bundle(
        registry: Registry, repository: str, digest: str, bundle: dict[str, Any] | bytes, *,
        predicate_type: str = COSIGN_SIGN, index_artifact_type: str = BUNDLE,
        tag_schema: bool = True,
) -> str:
    """A bundle as cosign v3 attaches it: a referrer manifest of the
    subject ``digest``, listed in the tag schema's index (unless not
    ``tag_schema``: a registry with the referrers API lists it); its digest."""
    request = urllib.request.Request(
        f'http://{registry.address}/v2/{repository}/manifests/{digest}', method='HEAD',
        headers={'Accept': f'{OCI_MANIFEST}, {OCI_INDEX}'},
    )
    with urllib.request.urlopen(request) as answer:
        subject_size = int(answer.headers['Content-Length'])
        subject_type = answer.headers['Content-Type']
    empty = registry.blob(repository, b'{}')
    layer = registry.blob(
        repository, bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode(),
    )
    manifest = {
        'schemaVersion': 2, 'mediaType': OCI_MANIFEST, 'artifactType': BUNDLE,
        'config': {'mediaType': EMPTY, **empty},
        'layers': [{'mediaType': BUNDLE, **layer}],
        'subject': {'mediaType': subject_type, 'digest': digest, 'size': subject_size},
        'annotations': {
            'dev.sigstore.bundle.content': 'dsse-envelope',
            'dev.sigstore.bundle.predicateType': predicate_type,
        },
    }
    referrer = registry.manifest(repository, '', manifest)
    if not tag_schema:
        return referrer
    referrer_index_add(registry, repository, digest, {
        'mediaType': OCI_MANIFEST, 'digest': referrer,
        'size': len(json.dumps(manifest).encode()), 'artifactType': index_artifact_type,
    })
    return referrer


def bundle_for(
        key: PrivateKey, subject_digest: str, predicate_type: str = COSIGN_SIGN,
        hint: str = '', log: Callable[[bytes, bytes], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A Sigstore bundle v0.3 with a DSSE envelope, key-based: no log
    entry, or those ``log`` gives for (payload, signature)."""
    payload = statement(subject_digest, predicate_type)
    dsse = envelope(key, payload)
    entries = log(payload, base64.b64decode(dsse['signatures'][0]['sig'])) if log else []
    return {
        'mediaType': BUNDLE,
        'verificationMaterial': {'publicKey': {'hint': hint}, 'tlogEntries': entries},
        'dsseEnvelope': dsse,
    }


def sign_bundle(
        registry: Registry, repository: str, digest: str, key: PrivateKey, *,
        subject_digest: str = '', predicate_type: str = COSIGN_SIGN, hint: str = '',
        index_artifact_type: str = BUNDLE,
        log: Callable[[bytes, bytes], list[dict[str, Any]]] | None = None,
        tag_schema: bool = True,
) -> str:
    """``cosign sign --key`` (v3, bundle format) or ``cosign attest``."""
    return attach_bundle(
        registry, repository, digest,
        bundle_for(key, subject_digest or digest, predicate_type, hint, log),
        predicate_type=predicate_type, index_artifact_type=index_artifact_type,
        tag_schema=tag_schema,
    )


# -- a transparency log of the test's own (tlog = true) -----------------------

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = os.path.join(HERE, '.node', 'node_modules')  # .ci/run installs @sigstore/mock
# seconds a node script may take (they answer in about 0.3 s): tests/stalls.py
NODE_SECONDS = 30


def node_answer(script: str, request: dict[str, Any]) -> dict[str, Any]:
    """What ``script`` (beside this file, on @sigstore/mock) prints for
    ``request``, as JSON."""
    import shutil
    node = shutil.which('node')
    if node is None or not os.path.isdir(os.path.join(MODULES, '@sigstore', 'mock')):
        unavailable('needs node and @sigstore/mock in tests/.node (.ci/run installs them)')
    answer = run_unstalled(
        (node, os.path.join(HERE, script), json.dumps(request)), seconds=NODE_SECONDS,
        env={**os.environ, 'SIGSTORE_MOCK_MODULES': MODULES},
    )
    assert answer.returncode == 0, answer.stderr
    return dict(json.loads(answer.stdout))


class Rekor:
    """A private Rekor: a log key made here; entries recorded, canonicalized
    and their SETs signed by @sigstore/mock's log (tests/rekor_mock.js)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        self.der = der
        self.log_id = hashlib.sha256(der).hexdigest()

    def tlog(self) -> dict[str, Any]:
        """This log as a trusted_root.json ``tlogs`` entry names it."""
        return {
            'baseUrl': 'https://rekor.digestpin.test', 'hashAlgorithm': 'SHA2_256',
            'publicKey': {
                'rawBytes': b64(self.der), 'keyDetails': 'PKIX_ECDSA_P256_SHA_256',
                'validFor': {'start': '2020-01-01T00:00:00Z'},
            },
            'logId': {'keyId': b64(bytes.fromhex(self.log_id))},
        }

    def log(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """Record ``proposed``: {body, integratedTime, logID, logIndex,
        signedEntryTimestamp} as Rekor v1 answers."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        answer = node_answer('rekor_mock.js', {'entries': [{'key': pem, 'proposed': proposed}]})
        return dict(answer['entries'][0])


def trusted_root(*logs: Rekor) -> dict[str, Any]:
    """A trusted_root.json that names ``logs`` (and no CA: key rules only)."""
    return {
        'mediaType': 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        'tlogs': [log.tlog() for log in logs],
        'certificateAuthorities': [], 'ctlogs': [], 'timestampAuthorities': [],
    }


def hashedrekord(payload: bytes, signature: bytes, public: bytes) -> dict[str, Any]:
    """The hashedrekord 0.0.1 entry ``cosign sign --key`` proposes."""
    return {
        'apiVersion': '0.0.1', 'kind': 'hashedrekord',
        'spec': {
            'data': {'hash': {'algorithm': 'sha256', 'value': hashlib.sha256(payload).hexdigest()}},
            'signature': {'content': b64(signature), 'publicKey': {'content': b64(public)}},
        },
    }


def dsse_entry(payload: bytes, signature: bytes, public: bytes, envelope_json: bytes) -> dict[str, Any]:
    """The dsse 0.0.1 entry Rekor records of a DSSE envelope."""
    return {
        'apiVersion': '0.0.1', 'kind': 'dsse',
        'spec': {
            'envelopeHash': {'algorithm': 'sha256', 'value': hashlib.sha256(envelope_json).hexdigest()},
            'payloadHash': {'algorithm': 'sha256', 'value': hashlib.sha256(payload).hexdigest()},
            'signatures': [{'signature': b64(signature), 'verifier': b64(public)}],
        },
    }


def intoto_entry(
        envelope_json: bytes, payload: bytes, signature: bytes, public: bytes,
        version: str = '0.0.2',
) -> dict[str, Any]:
    """The ``intoto`` entry Rekor records of ``cosign attest --key`` (legacy
    layout) as it canonicalizes it (rekor pkg/types/intoto): the envelope
    without its payload, each signature base64-encoded once more beside
    the signer's PEM key (0.0.2, cosign today), or only the key (0.0.1,
    cosign before 2.0); the SHA-256 of the envelope as uploaded and of the
    payload."""
    content: dict[str, Any] = {
        'hash': {'algorithm': 'sha256', 'value': hashlib.sha256(envelope_json).hexdigest()},
        'payloadHash': {'algorithm': 'sha256', 'value': hashlib.sha256(payload).hexdigest()},
    }
    if version == '0.0.1':
        return {
            'apiVersion': '0.0.1', 'kind': 'intoto',
            'spec': {'content': content, 'publicKey': b64(public)},
        }
    content['envelope'] = {
        'payloadType': IN_TOTO,
        'signatures': [{'publicKey': b64(public), 'sig': b64(b64(signature).encode())}],
    }
    return {'apiVersion': '0.0.2', 'kind': 'intoto', 'spec': {'content': content}}


def cosign_bundle_annotation(entry: dict[str, Any]) -> dict[str, str]:
    """The ``dev.sigstore.cosign/bundle`` annotation cosign writes of an entry."""
    return {'dev.sigstore.cosign/bundle': json.dumps({
        'SignedEntryTimestamp': entry['signedEntryTimestamp'],
        'Payload': {
            'body': entry['body'], 'integratedTime': entry['integratedTime'],
            'logIndex': entry['logIndex'], 'logID': entry['logID'],
        },
    })}


def bundle_tlog_entry(entry: dict[str, Any], kind: str) -> dict[str, Any]:
    """An entry as a Sigstore bundle's ``tlogEntries`` holds it (protobuf JSON)."""
    return {
        'logIndex': str(entry['logIndex']),
        'logId': {'keyId': b64(bytes.fromhex(entry['logID']))},
        'kindVersion': {'kind': kind, 'version': '0.0.1'},
        'integratedTime': str(entry['integratedTime']),
        'inclusionPromise': {'signedEntryTimestamp': entry['signedEntryTimestamp']},
        'canonicalizedBody': entry['body'],
    }
