"""resolve/tlog.py on hostile log entries: what a registry's signature
layer or bundle carries is read without an exception, whatever its JSON
types, depth or size; only a well-formed entry is an entry."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from digestpin_hooks.resolve import tlog

BODY = base64.b64encode(b'{"kind": "hashedrekord"}').decode()
SET = base64.b64encode(b'set').decode()
GOOD_PAYLOAD = {'body': BODY, 'integratedTime': 1700000000, 'logIndex': 7, 'logID': 'AB12'}


def annotation(**changes: Any) -> str:
    return json.dumps({'SignedEntryTimestamp': SET, 'Payload': {**GOOD_PAYLOAD, **changes}})


def test_a_well_formed_legacy_entry_is_read() -> None:
    assert tlog.legacy_entry(annotation()) == tlog.LogEntry(
        b'{"kind": "hashedrekord"}', 1700000000, 7, 'ab12', b'set',
    )


@pytest.mark.parametrize('value', (
    None, 42, ['a'], '', 'not json', '[]', '"text"', '{"Payload": []}',
    '[' * 100_000 + ']' * 100_000,  # deeper than the JSON reader goes
    annotation(body='not base64!'),
    annotation(body=123),
    annotation(integratedTime='soon'),
    annotation(integratedTime=True),
    annotation(integratedTime=1.5),
    annotation(integratedTime='1' * 40),
    annotation(logIndex=-1),
    annotation(logIndex=2 ** 63),
    annotation(integratedTime='9' * 19),
    annotation(integratedTime='\u0661\u0662'),  # digits, but not ASCII ones
    annotation(logIndex=None),
    annotation(logID=''),
    annotation(logID=['ab']),
    json.dumps({'SignedEntryTimestamp': 5, 'Payload': GOOD_PAYLOAD}),
), ids=repr)
def test_a_malformed_legacy_entry_is_no_entry(value: Any) -> None:
    assert tlog.legacy_entry(value) is None


def bundle(entry: Any) -> dict[str, Any]:
    return {'verificationMaterial': {'tlogEntries': [entry]}}


GOOD_ENTRY = {
    'canonicalizedBody': BODY, 'inclusionPromise': {'signedEntryTimestamp': SET},
    'logId': {'keyId': base64.b64encode(b'\xab\x12').decode()},
    'integratedTime': '1700000000', 'logIndex': '7',
}


def test_a_well_formed_bundle_entry_is_read() -> None:
    assert tlog.bundle_entries(bundle(GOOD_ENTRY)) == (tlog.LogEntry(
        b'{"kind": "hashedrekord"}', 1700000000, 7, 'ab12', b'set',
    ),)


@pytest.mark.parametrize('material', (
    {}, {'verificationMaterial': None}, {'verificationMaterial': {'tlogEntries': 'x'}},
    bundle(None), bundle([GOOD_ENTRY]), bundle({**GOOD_ENTRY, 'inclusionPromise': None}),
    bundle({**GOOD_ENTRY, 'inclusionPromise': {'signedEntryTimestamp': 7}}),
    bundle({**GOOD_ENTRY, 'logId': 'ab12'}),
    bundle({**GOOD_ENTRY, 'logId': {'keyId': ''}}),
    bundle({**GOOD_ENTRY, 'integratedTime': {}}),
    bundle({**GOOD_ENTRY, 'logIndex': '-7'}),
), ids=repr)
def test_a_malformed_bundle_entry_is_none(material: dict[str, Any]) -> None:
    assert tlog.bundle_entries(material) == ()


def test_only_the_first_entries_of_a_long_list_are_read() -> None:
    material = {'verificationMaterial': {'tlogEntries': [GOOD_ENTRY] * 100_000}}
    assert len(tlog.bundle_entries(material)) == tlog.MAX_ENTRIES


@pytest.mark.parametrize('body', (
    b'', b'\xff\xfe', b'[]', b'null', b'{"spec": []}', b'[' * 100_000,
    b'{"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {"data": [], "signature": {}}}',
    b'{"kind": "dsse", "apiVersion": "0.0.1", "spec": {"signatures": {}}}',
    b'{"kind": "intoto", "apiVersion": "0.0.2", "spec": {"content": 5}}',
    b'{"kind": "rekord", "apiVersion": "0.0.1", "spec": {}}',
), ids=repr)
def test_a_malformed_body_logs_nothing(body: bytes) -> None:
    assert tlog.logs(body, b'payload', b'signature', b'key') in (tlog.UNSUPPORTED, tlog.OTHER_SIGNATURE)
