"""Image references -> findings: codes, severities, messages, suppressions."""
from __future__ import annotations

import re
from typing import Iterable
from typing import NamedTuple
from typing import Sequence

from digestpin_hooks._dockerfile import Dockerfile
from digestpin_hooks._dockerfile import ImageRef
from digestpin_hooks._dockerfile import SOURCE_ARG
from digestpin_hooks._reference import digest_problem
from digestpin_hooks._reference import InvalidReference
from digestpin_hooks._reference import parse_reference

ERROR = 'error'
WARNING = 'warning'

# code -> (severity, short description): the rule table of the README
RULES = {
    'DP001': (ERROR, 'image referenced by a tag without a digest'),
    'DP002': (ERROR, 'image without tag or digest (implicit latest)'),
    'DP003': (WARNING, 'image reference with a variable no default resolves'),
    'DP004': (ERROR, 'malformed digest'),
    'DP005': (ERROR, 'not a valid image reference'),
}

_PRAGMA_RE = re.compile(
    r'\s*#\s*digestpin:\s*ignore(?:\s*=\s*(?P<codes>[A-Za-z0-9,\s]+?))?\s*\Z',
)


class Finding(NamedTuple):
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    severity: str
    source: str
    image: str
    written: str
    message: str


def classify(ref: ImageRef) -> tuple[str, str] | None:
    """(code, message) for a reference, None when it is pinned."""
    if ref.unresolved:
        return 'DP003', (
            f'{ref.written!r} cannot be checked: {ref.note}; give the ARG a '
            f'default (pinned), or pin the image where the value is set'
        )
    image = ref.image
    try:
        parsed = parse_reference(image)
    except InvalidReference as e:
        return 'DP005', f'{image!r} is not a valid image reference: {e}'
    if parsed.digest:
        problem = digest_problem(parsed.digest)
        if problem is None:
            return None
        return 'DP004', f'{image!r} has a malformed digest: {problem}'
    if parsed.tag:
        return 'DP001', (
            f'{image!r} is not pinned to a digest: tag {parsed.tag!r} can '
            f'move; pin it with digestpin-fix '
            f'({parsed.with_digest("sha256:<digest>")})'
        )
    return 'DP002', (
        f'{image!r} has no tag or digest (implicit latest); pin it with '
        f'digestpin-fix ({parsed.with_digest("sha256:<digest>")})'
    )


def _suppressed_codes(doc: Dockerfile, line_offset: int) -> frozenset[str] | None:
    """Codes a ``# digestpin: ignore`` pragma above the line waives.

    None: no pragma; an empty set: all codes.
    """
    m = _PRAGMA_RE.match(doc.line_above(line_offset))
    if m is None:
        return None
    codes = m.group('codes')
    if not codes:
        return frozenset()
    return frozenset(c.strip().upper() for c in codes.split(',') if c.strip())


def _allowed(image: str, allow: Sequence[str]) -> bool:
    if not allow:
        return False
    import fnmatch
    try:
        parsed = parse_reference(image)
    except InvalidReference:
        names = {image}
    else:
        names = {image, parsed.name, parsed.normalized_name}
    return any(
        fnmatch.fnmatchcase(name, pattern)
        for pattern in allow for name in names
    )


def _waived(
        doc: Dockerfile, ref: ImageRef, code: str, starts: dict[int, int],
) -> bool:
    """Whether a pragma above the reference's instruction (or a FROM it
    feeds) waives ``code``."""
    for line in (ref.instruction_line, *ref.feeds):
        # the syntax directive is no instruction: its own offset stands in
        codes = _suppressed_codes(doc, starts.get(line, ref.span[0]))
        if codes is not None and (not codes or code in codes):
            return True
    return False


def checked_refs(
        path: str,
        doc: Dockerfile,
        refs: Iterable[ImageRef],
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
) -> list[tuple[ImageRef, Finding]]:
    """Each reference that is not pinned, allowed or waived, with its finding."""
    found = []
    starts: dict[int, int] = {}
    for ref in refs:
        result = classify(ref)
        if result is None:
            continue
        code, message = result
        if ref.unresolved:
            # the written text is all there is to match an --allow against
            if _allowed(ref.written, allow):
                continue
        elif _allowed(ref.image, allow):
            continue
        if not starts:
            starts = {ins.start_line: ins.start for ins in doc.instructions}
        if _waived(doc, ref, code, starts):
            continue
        severity = RULES[code][0]
        if strict:
            severity = ERROR
        if ref.source == SOURCE_ARG or ref.note and not ref.unresolved:
            message = f'{message} [{ref.note}]'
        line, column = doc.position(ref.span[0])
        end_line, end_column = doc.position(ref.span[1])
        found.append((ref, Finding(
            path, line, column, end_line, end_column, code, severity,
            ref.source, ref.image, ref.written, message,
        )))
    found.sort(key=lambda pair: (pair[1].line, pair[1].column, pair[1].code))
    return found


def findings_for(
        path: str,
        doc: Dockerfile,
        refs: Iterable[ImageRef],
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
) -> list[Finding]:
    return [
        finding for _, finding in checked_refs(
            path, doc, refs, strict=strict, allow=allow,
        )
    ]
