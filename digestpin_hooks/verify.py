"""digestpin-verify: check that every pin is real, current and multi-platform.

For each pinned reference it asks the registry (directly by default;
through the daemon with ``--source daemon-registry``) about the pinned
digest and about the tag:

- DP006 the tag now resolves to another digest (stale pin);
- DP007 the pinned digest does not exist in that repository;
- DP008 the pin is one platform's manifest of the tag's multi-platform index;
- DP009 ``FROM --platform=`` or Compose's ``platform:`` names a platform
  the pinned image lacks.

With a trust policy (``[[tool.digestpin.trust]]``), the registry is also
asked who signed each pinned digest a rule covers, whatever the source:

- DP011 no signature the rule accepts;
- DP012 signed, but not with the rule's key (the message names the signer);
- DP013 an attestation the rule requires is missing.

It never edits files.  ``--source local`` checks against local images only:
DP006 from the local tag, DP009 from a local image with the pinned digest.
"""
from __future__ import annotations

import sys

from digestpin_hooks import cli
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import make_finding
from digestpin_hooks.check.findings import statement_starts
from digestpin_hooks.check.findings import waived
from digestpin_hooks.check.pins import check_pin
from digestpin_hooks.check.pins import pinned_refs
from digestpin_hooks.config import VERIFY_SOURCES
from digestpin_hooks.model import failures
from digestpin_hooks.model import FileError
from digestpin_hooks.model import Note
from digestpin_hooks.read.files import load_all
from digestpin_hooks.read.files import paths_or_here
from digestpin_hooks.report.formats import report
from digestpin_hooks.report.formats import report_failure
from digestpin_hooks.report.formats import verified_line
from digestpin_hooks.resolve.answers import digest_key
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.sources import open_source
from digestpin_hooks.resolve.sources import signatures
from digestpin_hooks.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any
    from typing import Collection
    from typing import Iterable
    from typing import Mapping
    from typing import Sequence
    from digestpin_hooks.check.pins import Pinned
    from digestpin_hooks.model import TrustRule
    from digestpin_hooks.resolve.trust import Verdict
    from digestpin_hooks.resolve.answers import DigestKey
    from digestpin_hooks.resolve.answers import Manifests
    from digestpin_hooks.resolve.sources import SignatureChecker


PROG = 'digestpin-verify'
DESCRIPTION = (
    'Check that pinned digests exist, are current and fit the platform.'
)


def verify_files(
        paths: Iterable[str], ask: Manifests, **options: Any,
) -> tuple[list[Finding], list[FileError]]:
    """``verified_files`` without the paths of the pins it checked: the
    findings and errors alone, as callers that print no summary want them."""
    findings, errors, _ = verified_files(paths, ask, **options)
    return findings, errors


def verified_files(
        paths: Iterable[str],
        ask: Manifests,
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
        check_signatures: SignatureChecker | None = None,
        offline_ok: bool = False,
        signatures: list[dict[str, Any]] | None = None,
) -> tuple[list[Finding], list[FileError], list[str]]:
    """Findings DP006-DP009 for every pin, from what ``ask`` says of them
    (the daemon's sources, or a test's own answers), and DP011-DP013 from
    ``check_signatures`` (the trust policy); and the path of every pin the
    answers checked (one entry a pin), for the summary line: a silent
    success would not say whether anything was asked at all.
    ``signatures`` receives, per pin, which rule applied and what its check
    concluded (the JSON report's ``signatures``); ``offline_ok``: a registry
    that cannot be reached for signatures is a note, not an error."""
    files, errors = load_all(paths, kind)
    pins = [pin for loaded in files for pin in pinned_refs(loaded, allow)]
    checked: list[str] = []
    if not pins:
        return [], errors, checked
    try:
        answers = ask(
            [p.reference for p in pins],
            {digest_key(p.reference) for p in pins if p.ref.platforms},
        )
    except SourceError as e:
        raise e.after(errors) from None
    findings: list[Finding] = []
    starts: dict[str, dict[int, int]] = {}
    if check_signatures is not None:
        # a digest the registry does not have (DP007) or could not be asked
        # about (an error already) has no signatures worth asking for
        signed = [
            p for p in pins
            if not isinstance(answers.get(digest_key(p.reference)), (Missing, Failed))
        ]
        try:
            verdicts = check_signatures([digest_key(p.reference) for p in signed])
        except SourceError as e:
            raise e.after(errors) from None
        for p in signed:
            _signature_findings(
                p, verdicts, findings, errors, starts, strict=strict,
                ignore=ignore, offline_ok=offline_ok, checked=signatures,
            )
    for p in pins:
        at_tag = answers.get(tag_key(p.reference)) if p.reference.tag else None
        at_digest = answers.get(digest_key(p.reference)) or Missing(
            'no answer for the digest',
        )
        failure = next(
            (a for a in (at_digest, at_tag) if isinstance(a, Failed)), None,
        )
        if failure is not None:
            # the source could not be asked: an error at the pin, not a finding
            reason = failure.reason
            line, _ = p.loaded.doc.position(p.ref.span[0])
            errors.append(FileError(
                p.loaded.path, f'line {line}: cannot verify {p.ref.image!r}: {reason}',
                line,
            ))
            continue
        checked.append(p.loaded.path)
        for code, message, replacement in check_pin(p, at_digest, at_tag):
            doc = p.loaded.doc
            if code in ignore or waived(
                doc, p.ref, code,
                starts.setdefault(p.loaded.path, statement_starts(doc)),
            ):
                continue
            findings.append(make_finding(
                p.loaded.path, doc, p.ref, code, message, strict, replacement,
            ))
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    return findings, errors, checked


def _signature_findings(
        p: Pinned,
        verdicts: Mapping[DigestKey, tuple[TrustRule, Verdict]],
        findings: list[Finding],
        errors: list[FileError],
        starts: dict[str, dict[int, int]],
        *,
        strict: bool,
        ignore: Collection[str],
        offline_ok: bool,
        checked: list[dict[str, Any]] | None,
) -> None:
    """DP011-DP013 (or an error) for one pin, from its verdict."""
    from digestpin_hooks.resolve.trust import explain
    from digestpin_hooks.resolve.trust import TRUSTED
    digest = p.reference.digest
    ruled = verdicts.get(digest_key(p.reference))
    rule, verdict = ruled if ruled else (None, None)
    doc = p.loaded.doc
    line, _ = doc.position(p.ref.span[0])
    if checked is not None:
        checked.append({
            'path': p.loaded.path, 'line': line, 'image': p.ref.image,
            'checked': verdict is not None,
            'result': verdict.outcome if verdict else 'no trust rule matches the image',
            'detail': verdict.detail if verdict else '',
        })
    if rule is None or verdict is None or verdict.outcome == TRUSTED:
        return
    code, message = explain(verdict, rule, digest)
    if not code:
        errors.append(FileError(
            p.loaded.path, f'line {line}: {message}', line,
            skipped=offline_ok and verdict.unreachable,
        ))
        return
    if code in ignore or waived(
        doc, p.ref, code, starts.setdefault(p.loaded.path, statement_starts(doc)),
    ):
        return
    findings.append(make_finding(p.loaded.path, doc, p.ref, code, message, strict, ''))


# add_arguments' options as a plain command line is read without argparse
PLAIN: tuple[cli.PlainTable, ...] = (cli.daemon_options(VERIFY_SOURCES), ({
    '--offline-ok': ('offline_ok', cli.FLAG, True),
    '--verbose': ('verbose', cli.FLAG, True),
}, {'offline_ok': False, 'verbose': False}))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_common(parser)
    cli.add_daemon(parser, VERIFY_SOURCES)
    parser.add_argument(
        '--offline-ok', action='store_true',
        help='when no registry can be reached (with a daemon source: no '
        'daemon answers), warn and exit 0 instead of failing',
    )
    parser.add_argument(
        '--verbose', action='store_true',
        help='also say, for each pin, what the trust policy concluded (signed '
        'with which key, or not checked: no rule matches the image)',
    )


def _by(signer: str) -> str:
    """A trusted verdict's signer: a key's fingerprint, else a certificate."""
    return f'with key {signer}' if signer.startswith('SHA256:') else f'by {signer}'


def run(args: argparse.Namespace) -> int:
    signed: list[dict[str, Any]] = []
    try:
        findings, errors, checked = verified_files(
            paths_or_here(args.filenames),
            open_source(
                args.source, args.docker_host, args.timeout,
                insecure=args.insecure_registries, connections=args.connections,
            ).manifests,
            strict=args.strict, allow=args.allow, ignore=args.ignore,
            kind=args.kind,
            check_signatures=signatures(
                args.trust, args.timeout, args.insecure_registries, args.trust_root,
            ) if args.trust else None,
            offline_ok=args.offline_ok, signatures=signed,
        )
    except SourceError as e:
        if args.offline_ok and e.unreachable:
            print(printable(
                f'digestpin-verify: warning: pins not verified, offline: {e}',
            ), file=sys.stderr)
            report(
                [], e.file_errors, args.output_format,
                extra={'verified': False, 'not_verified_because': str(e)},
            )
            return 2 if failures(e.file_errors) else 0
        report_failure(
            'digestpin-verify', e, args.output_format, file_errors=e.file_errors,
        )
        return 2
    extra: dict[str, Any] = {'verified': True}
    if args.trust:
        extra['signatures'] = signed
    notes = [
        Note(c['path'], c['line'], 0, (
            f'{c["image"]!r} signed {_by(c["detail"])}' if c['result'] == 'trusted'
            else f'{c["image"]!r} not checked for signatures: no trust rule matches it'
        ))
        for c in signed if c['result'] == 'trusted' or not c['checked']
    ] if args.verbose else []
    # say what was checked, also when that is nothing (a silent success
    # would not say); errors and notes alone are their own lines
    counted = checked or not errors
    report(
        findings, errors, args.output_format, extra=extra, notes=notes,
        done=verified_line(len(checked), len(set(checked))) if counted else '',
    )
    return cli.exit_status(findings, errors)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main_for(
        PROG, DESCRIPTION, add_arguments, run, argv,
        plain=PLAIN,
    )


if __name__ == '__main__':
    raise SystemExit(main())
