"""Findings -> a SARIF 2.1.0 log, for code scanning (GitHub and others)."""
from __future__ import annotations

import os
from urllib.parse import quote

from digestpin_hooks import __version__
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import RULES
from digestpin_hooks.model import failures
from digestpin_hooks.model import FileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Sequence

SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json'
INFORMATION_URI = 'https://github.com/digestpin/digestpin-hooks'
_LEVELS = {'error': 'error', 'warning': 'warning'}


def _uri(path: str) -> str:
    """A relative path as a URI reference; absolute ones as file URIs.
    Only the system's own separator is a ``/``: on POSIX a backslash is a
    character of a file name (``a\\Dockerfile``, another file than
    ``a/Dockerfile``), percent-encoded like any other."""
    posix = path.replace(os.sep, '/')
    if posix.startswith('./'):
        posix = posix[2:]
    if posix.startswith('/'):
        return 'file://' + quote(posix)
    return quote(posix)


def _rules() -> list[dict[str, Any]]:
    return [
        {
            'id': code,
            'name': rule.name,
            'shortDescription': {'text': rule.short},
            'fullDescription': {'text': f'{rule.short}. {rule.help}'},
            'help': {'text': rule.help, 'markdown': rule.help},
            'defaultConfiguration': {'level': _LEVELS[rule.severity]},
            'properties': {'tags': ['supply-chain', 'docker']},
        }
        for code, rule in RULES.items()
    ]


def _region(finding: Finding) -> dict[str, int]:
    return {
        'startLine': finding.line,
        'startColumn': finding.column,
        'endLine': finding.end_line,
        'endColumn': finding.end_column,
    }


def _fingerprints(findings: Sequence[Finding]) -> list[str]:
    """Each finding's ``imageReference/v1``: its rule, source and image,
    which stay when lines move.  Code scanning takes the results of one
    fingerprint in a file for one alert, so a later finding of the same
    three in the same file (two stages FROM one image) is told apart by
    ``#2``, ``#3``... in line order; the first keeps the plain one, so a
    file with one of each keeps its alerts."""
    # a file as code scanning sees it, by its URI: ``Dockerfile`` and
    # ``./Dockerfile`` are one
    uris = [_uri(finding.path) for finding in findings]
    order = sorted(range(len(findings)), key=lambda i: (
        uris[i], findings[i].line, findings[i].column,
    ))
    used: set[tuple[str, str]] = set()
    prints = [''] * len(findings)
    for i in order:
        finding = findings[i]
        base = value = f'{finding.code}:{finding.source}:{finding.image}'
        occurrence = 1
        while (uris[i], value) in used:
            occurrence += 1
            value = f'{base}#{occurrence}'
        used.add((uris[i], value))
        prints[i] = value
    return prints


def _result(finding: Finding, rule_index: dict[str, int], fingerprint: str) -> dict[str, Any]:
    location = {
        'artifactLocation': {'uri': _uri(finding.path)},
        'region': _region(finding),
    }
    result: dict[str, Any] = {
        'ruleId': finding.code,
        'ruleIndex': rule_index[finding.code],
        'level': _LEVELS[finding.severity],
        'message': {'text': finding.message},
        'locations': [{'physicalLocation': location}],
        'partialFingerprints': {
            'imageReference/v1': fingerprint,
        },
    }
    if finding.replacement:
        result['fixes'] = [{
            'description': {
                'text': f'Replace {finding.written} with {finding.replacement}',
            },
            'artifactChanges': [{
                'artifactLocation': {'uri': _uri(finding.path)},
                'replacements': [{
                    'deletedRegion': _region(finding),
                    'insertedContent': {'text': finding.replacement},
                }],
            }],
        }]
    return result


def _notification(error: FileError) -> dict[str, Any]:
    notification: dict[str, Any] = {
        'level': 'note' if error.skipped else 'error',
        'message': {'text': error.message},
    }
    if error.path:  # '' for a failure of the run (the daemon, a registry)
        notification['locations'] = [{'physicalLocation': {
            'artifactLocation': {'uri': _uri(error.path)},
        }}]
    return notification


def sarif_log(findings: Sequence[Finding], errors: Sequence[FileError]) -> dict[str, Any]:
    rules = _rules()
    rule_index = {rule['id']: i for i, rule in enumerate(rules)}
    return {
        '$schema': SCHEMA,
        'version': '2.1.0',
        'runs': [{
            'tool': {'driver': {
                'name': 'digestpin',
                'informationUri': INFORMATION_URI,
                'version': __version__,
                'rules': rules,
            }},
            'columnKind': 'unicodeCodePoints',
            'results': [
                _result(f, rule_index, fingerprint)
                for f, fingerprint in zip(findings, _fingerprints(findings))
            ],
            'invocations': [{
                'executionSuccessful': not failures(errors),
                'toolExecutionNotifications': [
                    _notification(error) for error in errors
                ],
            }],
        }],
    }
