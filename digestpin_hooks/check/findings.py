"""Image references -> findings: codes, severities, messages, suppressions."""
from __future__ import annotations

from digestpin_hooks.model import ALSO_A_COMMAND
from digestpin_hooks.model import ARG_DEFAULT
from digestpin_hooks.model import ARG_DEFAULT_BUILT
from digestpin_hooks.model import AS_WRITTEN
from digestpin_hooks.model import AT_RUN_TIME
from digestpin_hooks.model import BASH_OPERATION
from digestpin_hooks.model import BUILT_FROM_VARIABLES
from digestpin_hooks.model import CLOUDBUILD_BUILT_INS
from digestpin_hooks.model import CLOUDBUILD_VALUES
from digestpin_hooks.model import COPY_FROM_VARIABLE
from digestpin_hooks.model import DEFAULT_IN_EXPRESSION
from digestpin_hooks.model import DYNAMIC_VALUE
from digestpin_hooks.model import EMPTY_UNLESS_SET
from digestpin_hooks.model import ESCAPED
from digestpin_hooks.model import EXPANSION_BUDGET
from digestpin_hooks.model import FORM_NOT_EDITED
from digestpin_hooks.model import GITLAB_VALUES
from digestpin_hooks.model import IMAGE_VOLUME
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import IN_A_STRING
from digestpin_hooks.model import LONGER_THAN_ANY
from digestpin_hooks.model import NAMES_A_BUILD
from digestpin_hooks.model import NEVER_CLOSED
from digestpin_hooks.model import NO_DEFAULT
from digestpin_hooks.model import NO_NEW_TAG
from digestpin_hooks.model import NO_TAG_APP_VERSION
from digestpin_hooks.model import NO_VALUE
from digestpin_hooks.model import NOT_A_NAME
from digestpin_hooks.model import NOT_A_NAME_IN_VALUE
from digestpin_hooks.model import NOT_A_SUBSTITUTION
from digestpin_hooks.model import ONLY_DYNAMIC
from digestpin_hooks.model import QUOTED
from digestpin_hooks.model import Record
from digestpin_hooks.model import SOURCE_ARG
from digestpin_hooks.model import TEMPLATE_PARAMETER
from digestpin_hooks.model import TEMPLATE_VALUE
from digestpin_hooks.model import TOO_LONG
from digestpin_hooks.model import UNTAGGED
from digestpin_hooks.model import VALUE_OF
from digestpin_hooks.model import VARIES_WITH_PLATFORM
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.reference import InvalidReference
from digestpin_hooks.reference import MAX_REFERENCE_LENGTH
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import Reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection
    from typing import Final
    from typing import Iterable
    from typing import Sequence

    from digestpin_hooks.model import Document
    from digestpin_hooks.read.dockerfile.refusals import UnknownSyntax


ERROR = 'error'
WARNING = 'warning'


class Rule(Record):
    """One finding code: its severity, name, one-line summary and how to fix it."""

    severity: Final[str]
    name: Final[str]
    short: Final[str]
    help: Final[str]  # how to fix it


RULES = {
    'DP001': Rule(
        ERROR, 'TagWithoutDigest', 'Image referenced by a tag without a digest',
        'A tag can move to other content. Pin the reference to its digest '
        '(name:tag@sha256:...), e.g. with digestpin-fix.',
    ),
    'DP002': Rule(
        ERROR, 'ImplicitLatest', 'Image without a tag or digest (implicit latest)',
        'An untagged reference pulls whatever latest is today. Pin it to a '
        'digest, e.g. with digestpin-fix.',
    ),
    'DP003': Rule(
        WARNING, 'UnresolvedVariable',
        'Image reference with a variable that no default resolves',
        'The image is only known at build time. Give the ARG a default that '
        'is a pinned image, or pin the image where the value is set.',
    ),
    'DP004': Rule(
        ERROR, 'MalformedDigest', 'Malformed digest',
        'The digest must be a known algorithm with the right number of '
        'lower-case hex digits, e.g. sha256 and 64 digits. Pin it again.',
    ),
    'DP005': Rule(
        ERROR, 'InvalidReference', 'Not a valid image reference',
        'Docker cannot parse the reference (names are lower-case; tags are '
        'at most 128 letters, digits, _ . -). Correct the name.',
    ),
    'DP006': Rule(
        WARNING, 'StalePin', 'Stale pin: the tag now resolves to another digest',
        'The tag moved, so the pin no longer matches what the tag says. Run '
        'digestpin-update to take the new digest after checking it.',
    ),
    'DP007': Rule(
        ERROR, 'UnknownDigest', 'Pinned digest does not exist in the repository',
        'The digest is mistyped, deleted, or copied from another image. '
        'digestpin-update pins a name:tag@digest reference again to its '
        "tag's digest (digestpin-fix leaves pinned references alone); "
        'without a tag, pin it by hand.',
    ),
    'DP008': Rule(
        ERROR, 'PlatformSpecificPin',
        'Pinned digest is one platform of a multi-platform image',
        'Builds on other platforms get the wrong architecture. Pin the '
        "tag's image index digest instead.",
    ),
    'DP009': Rule(
        ERROR, 'PlatformNotProvided',
        'FROM --platform names a platform the pinned image does not provide',
        'Pin an image (index) that provides the platform, or change '
        '--platform.',
    ),
    'DP010': Rule(
        WARNING, 'UnknownSyntax',
        'Instruction or flag BuildKit v0.32 does not know',
        'It may be newer syntax (then the # syntax= frontend must know it) '
        'or a typo, which BuildKit refuses. The rest of the file is checked.',
    ),
    'DP011': Rule(
        ERROR, 'UnsignedPin',
        'Pinned digest has no signature the trust policy accepts',
        'A trust rule ([[tool.digestpin.trust]]) covers the image, and no '
        'signature for this exact digest is attached in the registry. Sign '
        'it (cosign sign --key ...) or pin a digest that is signed.',
    ),
    'DP012': Rule(
        ERROR, 'UntrustedSigner',
        'Pinned digest is signed, but not by the signer the trust policy names',
        'A signature for this digest is attached, but it does not verify '
        "with the rule's key (another signer, or a tampered payload). Check "
        'who publishes the image before trusting it.',
    ),
    'DP013': Rule(
        ERROR, 'AttestationMissing',
        'Pinned digest lacks an attestation the trust policy requires',
        "The rule's attestations list predicate types (e.g. SLSA provenance) "
        "that must be attached for this digest, signed with the rule's key "
        '(and, with tlog = true, recorded in a transparency log).',
    ),
}


_CODE_CHARACTERS = frozenset(
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,',
)


def pragma_codes(line: str) -> frozenset[str] | None:
    """The codes of a ``# digestpin: ignore[=CODE,...]`` comment line.

    None: the line is no pragma; an empty set: all codes.  Read with str
    methods: a regular expression for it backtracked over long blank runs.
    """
    rest = line.strip()
    if not rest.startswith('#'):
        return None
    rest = rest[1:].lstrip()
    if not rest.startswith('digestpin:'):
        return None
    rest = rest[len('digestpin:'):].lstrip()
    if not rest.startswith('ignore'):
        return None
    rest = rest[len('ignore'):].strip()
    if not rest:
        return frozenset()
    if rest[0] != '=':
        return None
    codes = rest[1:].strip()
    if not codes or not all(c in _CODE_CHARACTERS or c.isspace() for c in codes):
        return None
    return frozenset(c.strip().upper() for c in codes.split(',') if c.strip())


class Finding(Record):
    """What check reports about one reference: where it starts and ends
    (1-based lines and columns), which rule, and the words of the message."""

    path: Final[str]
    line: Final[int]
    column: Final[int]
    end_line: Final[int]
    end_column: Final[int]
    code: Final[str]
    severity: Final[str]
    source: Final[str]
    image: Final[str]
    written: Final[str]
    message: Final[str]
    replacement: Final[str] = ''  # text for the span that fixes it, when known


class Shared(Record):
    """Why fix (or update) leaves a reference as it is: the text its pin
    would change is read by other references too (a YAML anchor used
    through aliases, an ARG default used by several FROMs), and they would
    not all get the same digest.  report/ says it in words."""

    value_line: Final[int]  # where the shared value is written
    lines: Final[tuple[int, ...]]  # the other references that read it


class TooLong(Record):
    """Why fix (or update) leaves a reference as it is: its pin would make
    line ``line`` longer than the ``limit`` bytes its reader takes
    (BuildKit's 65,535 for a Dockerfile line), a file the tool then
    refuses.  report/ says it in words."""

    line: Final[int]
    limit: Final[int]


def pinned_reference(ref: ImageRef) -> Reference | None:
    """The parsed reference when ``ref`` is pinned to a valid digest."""
    if ref.unresolved:
        return None
    try:
        parsed = parse_reference(ref.image)
    except InvalidReference:
        return None
    if not parsed.digest or digest_problem(parsed.digest) is not None:
        return None
    return parsed


# the places of a Dockerfile; a YAML reference's source is its key path
_DOCKERFILE_SOURCES = frozenset((
    'FROM', 'COPY --from', 'RUN --mount', 'syntax', 'ARG',
    'ONBUILD COPY --from', 'ONBUILD RUN --mount',
))


def _dp003_advice(ref: ImageRef) -> str:
    """What to do about a variable no default resolves, in the words of the
    file's own kind."""
    if ref.unresolved == (UNTAGGED,):  # Helm values, Kustomize images
        return 'give it a tag (tag:, newTag:), then pin it with digestpin-fix'
    if ref.how == VARIES_WITH_PLATFORM:
        return 'name each platform\'s image, or pin the index the tag names'
    if ref.source not in _DOCKERFILE_SOURCES:
        if ref.how == NOT_A_NAME or ref.how == NO_VALUE and ref.values_from == GITLAB_VALUES:
            # (the runner has no ``${VAR:-default}``: it would pull nothing)
            return f'give the variable a pinned value in {ref.values_from} (VAR: image@sha256:...)'
        if ref.how == NOT_A_SUBSTITUTION:
            return (
                'write a substitution as Cloud Build documents it (${_VAR}, with a '
                f'pinned default in {ref.values_from}), or the image itself'
            )
        if ref.how == DYNAMIC_VALUE:
            return (
                f'give the variable a pinned default in {ref.values_from} that names '
                'no other substitution (_VAR: image@sha256:...), or write the image itself'
            )
        if _set_by_cloud_build(ref):
            values = 'its value' if len(ref.unresolved) == 1 else 'their values'
            return f'write {values} into the image, then pin it with digestpin-fix'
        if ref.how == NO_VALUE and ref.values_from == CLOUDBUILD_VALUES:
            # Cloud Build reads bash-style ``${_VAR:-x}`` only with dynamic
            # substitutions: BuildOptions.dynamicSubstitutions, "whether or
            # not to apply bash style string operations to the
            # substitutions", always on for triggered builds (the API's
            # BuildOptions).  Without it ``${_X:-d}`` is no use of _X: a
            # gcloud builds submit --substitutions _X=... was refused, "key
            # "_X" in the substitution data is not matched in the template"
            # (datacommonsorg/website#6392).  A default in ``substitutions:``
            # is read by every build
            # (cloud.google.com/build/docs/configuring-builds/substitute-variable-values)
            return (
                f'give the variable a pinned default in {ref.values_from} '
                '(_VAR: image@sha256:...); a ${_VAR:-...} default needs dynamic '
                'substitutions (options: dynamicSubstitutions: true, or a trigger)'
            )
        if ref.how == NO_VALUE or ref.how == EMPTY_UNLESS_SET:
            return (
                'give the variable a pinned default (${VAR:-image@sha256:...}) '
                f'or a value in {ref.values_from}'
            )
        return 'pin the image where the value is set'
    if ref.source in ('COPY --from', 'ONBUILD COPY --from'):
        return 'name a stage (FROM $IMAGE AS src) and copy from it'
    return 'give the ARG a default (pinned), or pin the image where the value is set'


def _pin_advice(ref: ImageRef, pinned: str) -> str:
    """How to pin it: with digestpin-fix where fix can edit the text, else
    where its value is set."""
    if ref.editable:
        return f'pin it with digestpin-fix ({pinned})'
    if ref.left == NAMES_A_BUILD:
        return (
            f'its value also names the image another service builds (shared '
            f'through an anchor, extends: or an include entry), which a pin '
            f'would rename: give the building service an image of its own, '
            f'then pin this one ({pinned})'
        )
    if ref.left == ALSO_A_COMMAND:
        return (
            "its value, written once behind an anchor, is also a line of a script "
            "(a command), which a pin would change: write the pipe's value on its own, "
            f'then pin it ({pinned})'
        )
    if ref.left == IN_A_STRING:
        return (
            f'it stands in a manifest held in a string that is not a literal '
            f'block (|), where digestpin-fix cannot write a pin byte for byte: '
            f'pin it by hand ({pinned})'
        )
    if ref.has_variables and ref.source in _DOCKERFILE_SOURCES:
        return (
            f'it is partly made of variables, which digestpin-fix leaves '
            f'(pinning it would silently override a later --build-arg): pin '
            f'it where the value is set ({pinned})'
        )
    if ref.has_variables:
        return (
            f'it is made of variables, which digestpin-fix leaves (the value '
            f'may be set elsewhere when it runs): pin it where the value is '
            f'set ({pinned})'
        )
    return (
        f'it is written with quotes, escapes or across lines, which '
        f'digestpin-fix leaves: write it plainly, or pin it by hand ({pinned})'
    )


def classify(ref: ImageRef) -> tuple[str, str] | None:
    """(code, message) for a reference, None when it is pinned."""
    result = _classified(ref)
    return None if result is None else result[:2]


def _classified(ref: ImageRef) -> tuple[str, str, Reference | None] | None:
    """(code, message, the reference parsed: None when it has unresolved
    variables or does not parse), None when it is pinned.  The one parse
    of the reference that check and fix make."""
    if ref.unresolved:
        return 'DP003', (
            f'{ref.written!r} cannot be checked: {how_words(ref)}; {_dp003_advice(ref)}'
        ), None
    image = ref.image
    if ref.how == LONGER_THAN_ANY:  # (made longer than any: not made, not parsed)
        return 'DP005', (
            f'{image!r} is not a valid image reference: no reference that can '
            f'be pulled is longer than {MAX_REFERENCE_LENGTH} characters'
        ), None
    try:
        parsed = parse_reference(image)
    except InvalidReference as e:
        return 'DP005', f'{image!r} is not a valid image reference: {e}', None
    if parsed.digest:
        problem = digest_problem(parsed.digest)
        if problem is None:
            return None
        return 'DP004', f'{image!r} has a malformed digest: {problem}', parsed
    advice = _pin_advice(ref, parsed.with_digest('sha256:<digest>'))
    if parsed.tag:
        return 'DP001', (
            f'{image!r} is not pinned to a digest: tag {parsed.tag!r} can '
            f'move; {advice}'
        ), parsed
    return 'DP002', f'{image!r} has no tag or digest (implicit latest); {advice}', parsed


def _suppressed_codes(doc: Document, line_offset: int) -> frozenset[str] | None:
    """Codes a ``# digestpin: ignore`` pragma above the line waives.

    None: no pragma; an empty set: all codes.
    """
    return pragma_codes(doc.line_above(line_offset))


class _AllowList:
    """``--allow`` patterns compiled once: exact names in a set, the globs as
    one regular expression (fnmatch's own cache holds 32k patterns and
    would recompile every pattern of a longer list for every reference)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        import fnmatch
        import re
        self.source = patterns
        self.exact = {p for p in patterns if not any(c in p for c in '*?[')}
        globs = [p for p in dict.fromkeys(patterns) if p not in self.exact]
        self.globs = re.compile(
            '|'.join(fnmatch.translate(p) for p in globs),
        ) if globs else None

    def matches(self, name: str) -> bool:
        return name in self.exact or (
            self.globs is not None and self.globs.match(name) is not None
        )


# the allow list of the run (one, from the options), compiled once; a
# one-entry cache, so that a long-lived caller's lists are not kept alive
_compiled_allow: list[_AllowList] = []


def allowed(image: str, allow: Sequence[str]) -> bool:
    if not allow:
        return False
    try:
        parsed: Reference | None = parse_reference(image)
    except InvalidReference:
        parsed = None
    return _allowed_as(image, parsed, allow)


def _allowed_as(image: str, parsed: Reference | None, allow: Sequence[str]) -> bool:
    """Whether ``--allow`` exempts ``image``, already parsed (None: it does
    not parse)."""
    if not allow:
        return False
    if not _compiled_allow or _compiled_allow[0].source is not allow:
        _compiled_allow[:] = [_AllowList(allow)]
    allow_list = _compiled_allow[0]
    names = {image} if parsed is None else {image, parsed.name, parsed.normalized_name}
    return any(allow_list.matches(name) for name in names)


def waived(
        doc: Document, ref: ImageRef, code: str, starts: dict[int, int],
) -> bool:
    """Whether a pragma above the reference's instruction (or a FROM it
    feeds) waives ``code``."""
    for line in (ref.line, *ref.feeds):
        # the syntax directive is no instruction: its own offset stands in
        codes = pragma_codes(doc.line_above(starts.get(line, ref.span[0])))
        if codes is not None and (not codes or code in codes):
            return True
    return False


def statement_starts(doc: Document) -> dict[int, int]:
    """Line -> offset of each instruction, for waived()."""
    return doc.statement_starts()


def make_finding(
        path: str,
        doc: Document,
        ref: ImageRef,
        code: str,
        message: str,
        strict: bool,
        replacement: str = '',
) -> Finding:
    severity = ERROR if strict else RULES[code].severity
    start, end = ref.span
    line, column = doc.position(start)
    if start <= end and doc.text.find('\n', start, end) < 0:  # one line: one lookup
        end_line, end_column = line, column + end - start
    else:
        end_line, end_column = doc.position(end)
    return Finding(
        path, line, column, end_line, end_column, code, severity,
        ref.source, ref.image, ref.written, message, replacement,
    )


class Policy(Record):
    """What the options say about findings: --strict, --allow, --ignore."""

    strict: Final[bool] = False
    allow: Final[Sequence[str]] = ()
    ignore: Final[Collection[str]] = ()


# how a reference came about (ImageRef.how), in words; the reasons whose
# words take fields of the reference are in how_words()
_HOW_WORDS: Final = {
    AS_WRITTEN: '',
    VARIES_WITH_PLATFORM: 'the image varies with the platform the build targets',
    COPY_FROM_VARIABLE: (
        'BuildKit does not expand variables in --from; name a stage (FROM '
        '$IMAGE AS src) and copy from it'
    ),
    AT_RUN_TIME: 'its value is only known when it runs',
    TEMPLATE_PARAMETER: 'a template parameter, only known when the file is rendered',
    TEMPLATE_VALUE: 'a template value, only known when it is rendered',
    NO_NEW_TAG: 'no newTag: the tag is the one the base manifests name',
    NO_TAG_APP_VERSION: 'no tag: the chart renders its appVersion from Chart.yaml',
    BUILT_FROM_VARIABLES: 'built from variables',
    DEFAULT_IN_EXPRESSION: 'the default in a variable expression',
    QUOTED: 'written with quotes, escapes or across lines',
    ESCAPED: 'written with escapes or across lines',
    FORM_NOT_EDITED: 'written in a form digestpin-fix does not edit',
    LONGER_THAN_ANY: (
        f'its variables make it longer than {EXPANSION_BUDGET:,} characters, '
        f'so it is not expanded'
    ),
    TOO_LONG: (
        f'not expanded: its variables read or make more than {EXPANSION_BUDGET:,} '
        f'characters (no reference that can be pulled is longer than '
        f'{MAX_REFERENCE_LENGTH})'
    ),
}


def _set_by_cloud_build(ref: ImageRef) -> bool:
    """Whether every variable left without a value is one Cloud Build sets
    itself ($PROJECT_ID ...), which no ``substitutions:`` default can."""
    return (
        ref.how == NO_VALUE and ref.values_from == CLOUDBUILD_VALUES
        and bool(ref.unresolved) and CLOUDBUILD_BUILT_INS.issuperset(ref.unresolved)
    )


def how_words(ref: ImageRef) -> str:
    """How the reference came about (its ``how``), in words: the one place
    a reader's reason becomes text."""
    how = ref.how
    if _set_by_cloud_build(ref):
        names = ', '.join(f'${name}' for name in ref.unresolved)
        are, them = ('is', 'it') if len(ref.unresolved) == 1 else ('are', 'them')
        return (
            f'{names} {are} set by Cloud Build for each build (no '
            f'{ref.values_from} value can set {them})'
        )
    if how == NO_VALUE and ref.values_from == GITLAB_VALUES:
        # (the runner has no ``${VAR:-default}``: no words suggest one)
        names = ', '.join(f'${name}' for name in ref.unresolved)
        return f'no {ref.values_from} value gives {names} a value'
    if how == EMPTY_UNLESS_SET:
        # (the .env's value, if any, is empty: the shell's wins over it)
        names = ', '.join(f'${name}' for name in ref.unresolved)
        refused = (
            '`compose up` fails to pull an image volume whose source is empty'
            if ref.detail == IMAGE_VOLUME else 'Compose refuses a service whose image is empty'
        )
        return (
            f'it is empty unless the shell that runs Compose sets {names} (its '
            f"variables win over the {ref.values_from}'s, and are not read), and {refused}"
        )
    if how == NO_DEFAULT or how == NO_VALUE:
        names = ', '.join(f'${name}' for name in ref.unresolved)
        where = f' or {ref.values_from} value' if how == NO_VALUE else ''
        return f'no default{where} gives {names} a value'
    if how == DYNAMIC_VALUE:
        return (
            f'the value of ${ref.via} names other substitutions, which Cloud Build '
            'expands only with dynamic substitutions (a trigger, or options: '
            'dynamicSubstitutions: true), when the build runs; without them it is left '
            'as written, which names no image'
        )
    if ref.detail == ONLY_DYNAMIC and how in (DEFAULT_IN_EXPRESSION, BUILT_FROM_VARIABLES):
        return (
            f'{_HOW_WORDS[how]}: Cloud Build reads a bash default (${{_VAR:-...}}) only '
            'with dynamic substitutions (a trigger, or options: dynamicSubstitutions: '
            'true); without them it is left as written, which names no image'
        )
    if how == NOT_A_SUBSTITUTION and ref.detail == BASH_OPERATION:
        return (
            f'{ref.via} is a bash operation, which Cloud Build applies only with '
            'dynamic substitutions (a trigger, or options: dynamicSubstitutions: '
            'true), when the build runs; without them it is left as written, which '
            'names no image'
        )
    if how == NOT_A_SUBSTITUTION:
        wrong = 'is never closed' if ref.detail == NEVER_CLOSED else 'names no substitution'
        return (
            f'{ref.via} {wrong}: Cloud Build documents a substitution as $NAME or '
            '${NAME} (a name it sets itself, such as PROJECT_ID, or one of your own, '
            'beginning with _)'
        )
    if how == VALUE_OF:
        return f'the value of ${ref.via}'
    if how == NOT_A_NAME:
        return (
            f'GitLab reads ${{{ref.via}}} as one variable named {ref.via!r}, which has '
            f'no value (GitLab has no default syntax)'
        )
    if how == NOT_A_NAME_IN_VALUE:
        return (
            # (``via`` holds the expression; the image may be made of more
            # than its value: ``$A$E``)
            f'in the value of ${ref.via}, GitLab reads ${{{ref.detail}}} as one '
            f'variable named {ref.detail!r}, which has no value (GitLab has no '
            '${VAR:-default})'
        )
    if how == ARG_DEFAULT:
        return f'default of ARG {ref.via} on line {ref.line}, used by {ref.detail}'
    if how == ARG_DEFAULT_BUILT:
        return (
            f'default of ARG {ref.via} on line {ref.line}, built from variables, '
            f'used by FROM'
        )
    return _HOW_WORDS[how]


def _note(ref: ImageRef) -> str:
    """How the reference came about; for an ARG default, the lines of the
    FROMs it feeds."""
    words = how_words(ref)
    if ref.source != SOURCE_ARG:
        return words
    lines = ', '.join(str(line) for line in ref.feeds)
    return f'{words} on line{"s" if len(ref.feeds) > 1 else ""} {lines}'


def checked_refs(
        path: str, doc: Document, refs: Iterable[ImageRef], policy: Policy,
) -> list[tuple[ImageRef, Finding, Reference | None]]:
    """Each reference that is not pinned, allowed or waived, with its
    finding, and the reference parsed (None: it has unresolved variables or
    does not parse), which fix uses rather than parse it again."""
    strict, allow, ignore = policy.strict, policy.allow, policy.ignore
    found = []
    starts: dict[int, int] = {}
    for ref in refs:
        result = _classified(ref)
        if result is None:
            continue
        code, message, parsed = result
        if code in ignore:
            continue
        if ref.unresolved:
            # the written text is all there is to match an --allow against
            if allowed(ref.written, allow):
                continue
        elif allow and _allowed_as(ref.image, parsed, allow):
            continue
        if not starts:
            starts = statement_starts(doc)
        if waived(doc, ref, code, starts):
            continue
        if ref.source == SOURCE_ARG or ref.how != AS_WRITTEN and not ref.unresolved:
            message = f'{message} [{_note(ref)}]'
        found.append((ref, make_finding(path, doc, ref, code, message, strict), parsed))
    if len(found) > 1:
        found.sort(key=lambda each: (each[1].line, each[1].column, each[1].code))
    return found


def _unknown_syntax_findings(
        path: str, doc: Document, unknown: Iterable[UnknownSyntax],
        strict: bool, ignore: Collection[str],
) -> list[Finding]:
    """DP010 for each instruction or flag BuildKit v0.32 does not know."""
    found: list[Finding] = []
    if 'DP010' in ignore:
        return found
    for item in unknown:
        codes = _suppressed_codes(doc, item.offset)
        if codes is not None and (not codes or 'DP010' in codes):
            continue
        if item.what == 'instruction':
            message = (
                f'unknown instruction {item.word!r}: BuildKit v0.32 does not '
                f'know it (newer syntax, or a typo BuildKit refuses); the rest '
                f'of the file is checked'
            )
        else:
            message = (
                f'unknown flag {item.word} for {item.what}: BuildKit v0.32 '
                f'does not know it (newer syntax, or a typo BuildKit refuses); '
                f'the rest of the file is checked'
            )
        line, column = doc.position(item.offset)
        end_line, end_column = doc.position(item.offset + len(item.word))
        found.append(Finding(
            path, line, column, end_line, end_column, 'DP010',
            ERROR if strict else WARNING, item.what, '', item.word, message,
        ))
    return found


_NO_OPTIONS: Final = Policy()


def findings_for(
        path: str,
        doc: Document,
        refs: Iterable[ImageRef],
        *,
        policy: Policy = _NO_OPTIONS,
        unknown: Iterable[UnknownSyntax] = (),
) -> list[Finding]:
    """Every finding of one file, in line order: its references', and DP010
    for the ``unknown`` instructions and flags.  ``policy``: the run's
    options, one record for every file of a run."""
    found = [
        finding for _, finding, _ in checked_refs(path, doc, refs, policy)
    ]
    if unknown:
        found.extend(_unknown_syntax_findings(path, doc, unknown, policy.strict, policy.ignore))
        found.sort(key=lambda f: (f.line, f.column, f.code))
    return found


def unknown_syntax_findings(
        path: str, doc: Document, unknown: Iterable[UnknownSyntax], *,
        strict: bool = False, ignore: Collection[str] = (),
) -> list[Finding]:
    """DP010 only, for a command that reports the rest its own way (fix)."""
    return _unknown_syntax_findings(path, doc, unknown, strict, ignore)
