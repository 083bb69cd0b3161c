"""Findings and errors -> text, JSON, SARIF or GitHub workflow commands.

One shape per kind of line; stdout carries the report, stderr the errors
(also inside the JSON and SARIF documents, so that they stay one document).
"""
from __future__ import annotations

import sys

from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import Shared
from digestpin_hooks.check.findings import TooLong
from digestpin_hooks.model import FileError
from digestpin_hooks.model import Note
from digestpin_hooks.text import printable
from digestpin_hooks.text import valid_unicode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Iterable
    from typing import Sequence
    from typing import TextIO

JSON_VERSION = 1
FORMATS = ('text', 'json', 'sarif', 'github')


def error_line(error: FileError) -> str:
    if not error.path:  # the run's, not a file's: its message says whose
        return error.message
    if error.skipped:
        return f'{error.path}: note: {error.message}'
    return f'{error.path}: error: {error.message}'


def finding_line(finding: Finding) -> str:
    return (
        f'{finding.path}:{finding.line}:{finding.column}: {finding.code} '
        f'{finding.message}'
    )


def shared_message(image: str, line: int, shared: Shared | TooLong, left: str) -> str:
    """Why a reference on ``line`` is ``left`` as it is: its value is shared,
    or its pin would make its line too long for its tool."""
    if isinstance(shared, TooLong):
        return (
            f'{image!r} {left}: pinned, line {shared.line} would be longer than '
            f'the {shared.limit:,} bytes BuildKit reads; shorten the line'
        )
    others = ', '.join(str(n) for n in shared.lines)
    where = '' if shared.value_line == line else f' on line {shared.value_line}'
    return (
        f'{image!r} {left}: its value{where} is shared with '
        f'line{"s" if len(shared.lines) > 1 else ""} {others}: pin by hand'
    )


def note_line(note: Note) -> str:
    return f'{note.path}:{note.line}:{note.column}: {note.message}'


def summary_line(
        findings: Sequence[Finding], errors: Sequence[FileError], done: str = '',
) -> str:
    """One line that closes a text report: the findings counted by code and
    file, what the command did (``done``: "3 pinned"), the files it could not
    handle.  '' when there is nothing to say."""
    by_code: dict[str, int] = {}
    for finding in findings:
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
    files = len({finding.path for finding in findings})
    failed = sum(1 for error in errors if not error.skipped)
    return _summary(by_code, files, failed, len(errors) - failed, done)


def _summary(by_code: dict[str, int], files: int, failed: int, skipped: int, done: str) -> str:
    """summary_line from counts: findings by code, the files they are in,
    the files that failed and those skipped."""
    parts = []
    findings = sum(by_code.values())
    if findings:
        codes = ', '.join(f'{code} {count}' for code, count in sorted(by_code.items()))
        parts.append(
            f'{_counted(findings, "finding")} ({codes}) in '
            f'{_counted(files, "file")}',
        )
    if done:
        parts.append(done)
    if failed:
        parts.append(_counted(failed, 'error'))
    if skipped:
        parts.append(f'{_counted(skipped, "file")} skipped')
    return f'summary: {"; ".join(parts)}' if parts else ''


def verified_line(pins: int, files: int) -> str:
    """verify's part of the summary: how many pins the answers checked."""
    return f'{_counted(pins, "pin")} verified in {_counted(files, "file")}'


def _counted(count: int, noun: str) -> str:
    return f'{count} {noun}{"" if count == 1 else "s"}'


def valid_strings(value: Any) -> Any:
    """A JSON-able value whose every string is valid Unicode (no lone
    surrogates from bytes that were not UTF-8)."""
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {valid_strings(k): valid_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [valid_strings(v) for v in value]
    return value


def finding_dict(finding: Finding) -> dict[str, Any]:
    document = finding.as_dict()
    del document['replacement']  # SARIF carries it as a fix
    return document


def json_document(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        'version': JSON_VERSION,
        'findings': [finding_dict(f) for f in findings],
        'errors': [
            {'path': e.path, 'message': e.message, **({'line': e.line} if e.line else {})}
            for e in errors if not e.skipped
        ],
        **({'skipped': [
            {'path': e.path, 'message': e.message} for e in errors if e.skipped
        ]} if any(e.skipped for e in errors) else {}),
    }
    document.update(extra or {})
    return document


def _escape_data(text: str) -> str:
    return text.replace('%', '%25').replace('\r', '%0D').replace('\n', '%0A')


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(':', '%3A').replace(',', '%2C')


def github_line(
        kind: str, path: str, message: str, *, line: int = 0, column: int = 0,
        end_line: int = 0, end_column: int = 0, title: str = '',
) -> str:
    """A workflow command: ``::error file=…,line=…,col=…::message``."""
    properties = [f'file={_escape_property(path)}']
    if line:
        properties.append(f'line={line}')
    if column:
        properties.append(f'col={column}')
    if end_line:
        properties.append(f'endLine={end_line}')
    if end_column:
        properties.append(f'endColumn={end_column}')
    if title:
        properties.append(f'title={_escape_property(title)}')
    return f'::{kind} {",".join(properties)}::{_escape_data(message)}'


def github_lines(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        notes: Sequence[Note],
) -> list[str]:
    lines = [
        github_line(
            'notice', n.path, n.message, line=n.line, column=n.column,
        ) for n in notes
    ]
    lines.extend(
        github_line(
            'error' if f.severity == 'error' else 'warning', f.path,
            f'{f.code} {f.message}', line=f.line, column=f.column,
            end_line=f.end_line, end_column=f.end_column, title=f.code,
        ) for f in findings
    )
    lines.extend(
        github_line('notice' if e.skipped else 'error', e.path, e.message, line=e.line)
        for e in errors
    )
    return lines


def report(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        output_format: str,
        *,
        notes: Sequence[Note] = (),
        extra: dict[str, Any] | None = None,
        more_lines: Sequence[str] = (),
        done: str = '',
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
) -> None:
    """Write one command's report.

    ``notes`` are what a command reports besides findings (pins, updates) in
    the line formats; ``extra`` is their form in the JSON document;
    ``more_lines`` are more text lines, for the text format only; ``done``
    says what the command did, for the text summary on stderr.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if output_format == 'json':
        import json
        json.dump(
            valid_strings(json_document(findings, errors, extra)), stdout, indent=2,
        )
        stdout.write('\n')
    elif output_format == 'sarif':
        import json

        from digestpin_hooks.report.sarif import sarif_log
        json.dump(valid_strings(sarif_log(findings, errors)), stdout, indent=2)
        stdout.write('\n')
    elif output_format == 'github':
        _write_lines(stdout, github_lines(findings, errors, notes))
        return  # the workflow commands already carry the errors
    else:
        # notes (pins) and findings together, in line order within each
        # file, the files in the order they were given
        order: dict[str, int] = {}
        for path in [*(f.path for f in findings), *(n.path for n in notes)]:
            order.setdefault(path, len(order))
        lines = sorted(
            [((order[n.path], n.line, n.column), note_line(n)) for n in notes]
            + [((order[f.path], f.line, f.column), finding_line(f)) for f in findings],
            key=lambda pair: pair[0],
        )
        # with a command's own text lines (update's table)
        _write_lines(stdout, [*(line for _, line in lines), *more_lines])
    for error in errors:
        print(printable(error_line(error)), file=stderr)
    if output_format == 'text' and (findings or done):
        # after a report on stdout; errors alone are their own lines already
        summary = summary_line(findings, errors, done)
        if summary:
            print(printable(summary), file=stderr)


def _write_lines(stream: TextIO, lines: Iterable[str]) -> None:
    """Lines as ``print`` writes each, in one call: where output is
    unbuffered (PYTHONUNBUFFERED, common in CI), each ``print`` is two
    system calls, 200 for fix's report of 100 pins, each waking whatever
    reads the pipe."""
    text = ''.join(printable(line) + '\n' for line in lines)
    if text:
        stream.write(text)


class TextReport:
    """lint's text report, written as each file is done: what ``report``
    writes in the text format, byte for byte (the findings of a file in
    line order, the files in the order they are done, each error as it
    comes, the summary last), with counts kept instead of the findings."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.by_code: dict[str, int] = {}
        self.paths: set[str] = set()  # the files with findings
        self.failed = 0
        self.skipped = 0
        self.error_found = False  # a finding of error severity

    def add(self, findings: Sequence[Finding], error: FileError | None = None) -> None:
        """One file's findings (any order), or its error.  A file's lines
        are written in one call: where output is unbuffered
        (``PYTHONUNBUFFERED``, as in many CI environments), each ``print``
        is two system calls, which cost the corpus lint more time than its
        reading saved."""
        lines = []
        if len(findings) > 1:
            findings = sorted(findings, key=lambda f: (f.line, f.column))
        for finding in findings:
            lines.append(printable(finding_line(finding)) + '\n')
            self.by_code[finding.code] = self.by_code.get(finding.code, 0) + 1
            self.paths.add(finding.path)
            self.error_found = self.error_found or finding.severity == 'error'
        if lines:
            self.stdout.write(''.join(lines))
        if error is not None:
            print(printable(error_line(error)), file=self.stderr)
            if error.skipped:
                self.skipped += 1
            else:
                self.failed += 1

    def close(self) -> None:
        """The summary line, when there were findings."""
        if self.by_code:
            summary = _summary(self.by_code, len(self.paths), self.failed, self.skipped, '')
            print(printable(summary), file=self.stderr)

    def exit_status(self) -> int:
        """As cli.exit_status: 2 for a file not handled, 1 for an error."""
        return 2 if self.failed else int(self.error_found)


def report_failure(
        prog: str, error: Exception, output_format: str = 'text', kind: str = 'error',
        file_errors: Sequence[FileError] = (),
) -> None:
    """A run-level failure (the daemon, the registry): on stderr after the
    files that could not be read before it, and in the json and sarif
    formats also as the one document stdout always carries."""
    message = f'{prog}: {kind}: {error}'
    if output_format in ('json', 'sarif'):
        report([], [*file_errors, FileError('', message)], output_format)
        return
    if output_format == 'github':
        print(printable(f'::error ::{_escape_data(message)}'), file=sys.stdout)
    for file_error in file_errors:
        print(printable(error_line(file_error)), file=sys.stderr)
    print(printable(message), file=sys.stderr)
