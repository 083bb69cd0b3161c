"""Findings and errors -> text or JSON on stdout, one shape per kind of line."""
from __future__ import annotations

import sys
from typing import Any
from typing import NamedTuple
from typing import Sequence
from typing import TextIO

from digestpin_hooks._findings import Finding

JSON_VERSION = 1


class FileError(NamedTuple):
    path: str
    message: str


def error_line(error: FileError) -> str:
    return f'{error.path}: error: {error.message}'


def finding_line(finding: Finding) -> str:
    return (
        f'{finding.path}:{finding.line}:{finding.column}: {finding.code} '
        f'{finding.message}'
    )


def write_errors(errors: Sequence[FileError], stream: TextIO) -> None:
    for error in errors:
        print(error_line(error), file=stream)


def json_document(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        **extra: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    document: dict[str, Any] = {
        'version': JSON_VERSION,
        'findings': [f._asdict() for f in findings],
        'errors': [e._asdict() for e in errors],
    }
    document.update(extra)
    return document


def report(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        output_format: str,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
) -> None:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if output_format == 'json':
        import json
        json.dump(json_document(findings, errors), stdout, indent=2)
        stdout.write('\n')
        write_errors(errors, stderr)
        return
    for finding in findings:
        print(finding_line(finding), file=stdout)
    write_errors(errors, stderr)
