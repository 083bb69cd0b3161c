"""BuildKit v0.32's rules, one table row each: what is pulled, what is no
image, and what BuildKit refuses (with its own words).

The oracles (test_buildkit_032) check the same against BuildKit itself on
real and generated files; these rows say each rule where a reader can see it.
"""
from __future__ import annotations

import re

import pytest

from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.read.dockerfile.parser import detect_syntax
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.references import read_dockerfile

H = 'a' * 64


def lint(data: bytes) -> list[tuple[int, str, str]]:
    """(line, code, image or written text) of each finding."""
    doc, refs, unknown = read_dockerfile(data)
    found = findings_for('Dockerfile', doc, refs, unknown=unknown)
    return sorted((f.line, f.code, f.image or f.written) for f in found)


PULLED = {
    # quoted --mount values: the flag is unquoted, its value read as CSV
    'mount value in quotes': (
        b'FROM scratch\nRUN --mount="type=bind,from=busybox:1,target=/x" true\n',
        [(2, 'DP001', 'busybox:1')],
    ),
    'mount field in quotes': (
        b'FROM scratch\nRUN --mount=type=bind,"from=busybox:1",target=/y true\n',
        [(2, 'DP001', 'busybox:1')],
    ),
    'mount field in CSV quotes': (
        b'FROM scratch\nRUN --mount=type=bind,\\"from=busybox:1\\",target=/y true\n',
        [(2, 'DP001', 'busybox:1')],
    ),
    'mount keys and types in any case': (
        b'FROM scratch\nRUN --mount=TYPE=CACHE,FROM=busybox:1,target=/y true\n',
        [(2, 'DP001', 'busybox:1')],
    ),
    # the shell lexer's forms since BuildKit 0.13
    'longest prefix ##': (b'ARG V=a/b/c:1\nFROM ${V##*/}\n', [(2, 'DP001', 'c:1')]),
    'longest suffix %%': (b'ARG V=x:1-a-b\nFROM ${V%%-*}\n', [(2, 'DP001', 'x:1')]),
    'replace every match //': (b'ARG V=a-b:1\nFROM ${V//-/_}\n', [(2, 'DP001', 'a_b:1')]),
    'brackets are literal in patterns': (b'ARG V=[x]a:1\nFROM ${V#[x]}\n', [(2, 'DP001', 'a:1')]),
    '? matches one character': (b'ARG V=a:3.19\nFROM ${V%.?9}\n', [(2, 'DP001', 'a:3')]),
    # special parameters expand to nothing
    '$$ is empty': (b'FROM alp$$ine:3\n', [(1, 'DP001', 'alpine:3')]),
    '$1 is empty': (b'FROM alpine$1:3\n', [(1, 'DP001', 'alpine:3')]),
    '$@ is empty': (b'FROM alpine$@:3\n', [(1, 'DP001', 'alpine:3')]),
    'a pattern on an unset variable is empty, no DP003': (
        b'FROM alpine:3${V#x}\n', [(1, 'DP001', 'alpine:3')],
    ),
    # automatic platform ARGs
    'a stage reached through TARGETOS (moby/moby)': (
        b'FROM busybox:1 AS tini-linux\nFROM tini-${TARGETOS}\n',
        [(1, 'DP001', 'busybox:1')],
    ),
    'an image that varies by platform stays DP003': (
        b'FROM ${TARGETARCH}/alpine:3\n', [(1, 'DP003', '${TARGETARCH}/alpine:3')],
    ),
    'BUILDOS in a global ARG': (b'ARG I=debian:${BUILDOS}\nFROM $I\n', [(1, 'DP001', 'debian:linux')]),
    'TARGETSTAGE is the stage built': (
        b'FROM img:${TARGETSTAGE} AS final\n', [(1, 'DP001', 'img:final')],
    ),
    'a global ARG TARGETARCH without a value keeps the automatic one': (
        b'ARG TARGETARCH\nFROM tini-${TARGETARCH} AS x\nFROM busybox:1 AS tini-amd64\n',
        [(2, 'DP003', 'tini-${TARGETARCH}'), (3, 'DP001', 'busybox:1')],
    ),
    'a global ARG with a value overrides the automatic one': (
        b'ARG TARGETARCH=arm64\nFROM busybox:${TARGETARCH}\n', [(2, 'DP001', 'busybox:arm64')],
    ),
    'a global ARG without a value is unset, not empty': (
        b'ARG X\nFROM ${X-alpine:3}\n', [(2, 'DP001', 'alpine:3')],
    ),
    # stage lookup
    'FROM finds a stage only as AS lower-cased it': (
        b'FROM golang:1 AS Build\nFROM BUILD\n', [(1, 'DP001', 'golang:1'), (2, 'DP005', 'BUILD')],
    ),
    'FROM Scratch is no scratch': (b'FROM Scratch\n', [(1, 'DP005', 'Scratch')]),
    '--from is case-insensitive': (
        b'FROM golang:1 AS Build\nFROM scratch\nCOPY --from=BUILD /a /b\n', [(1, 'DP001', 'golang:1')],
    ),
    '--from=scratch is no image': (b'FROM scratch\nCOPY --from=scratch /a /b\n', []),
    'RUN --mount from=0 is an image named 0': (
        b'FROM scratch\nRUN --mount=from=0,target=/x true\n', [(2, 'DP002', '0')],
    ),
    'ONBUILD RUN --mount from= counts': (
        b'FROM scratch\nONBUILD RUN --mount=from=busybox:1,target=/x true\n',
        [(2, 'DP001', 'busybox:1')],
    ),
    'ONBUILD COPY --from a stage defined later is that stage': (
        b'FROM alpine:3 AS base\nONBUILD COPY --from=tools /a /b\nFROM busybox:1 AS tools\n',
        [(1, 'DP001', 'alpine:3'), (3, 'DP001', 'busybox:1')],
    ),
    # heredocs
    'a heredoc written << EOF': (
        b'FROM alpine:3\nRUN << EOF\nFROM evil:1\nEOF\n', [(1, 'DP001', 'alpine:3')],
    ),
    # heredocs are found by BuildKit's own lexer over the line
    # (heredocsFromLine): where it refuses the line, there is no heredoc
    'no heredoc on a line with an unmatched quote': (
        b'FROM alpine:3\nRUN <<EOF echo "x\nFROM busybox:1\n',
        [(1, 'DP001', 'alpine:3'), (3, 'DP001', 'busybox:1')],
    ),
    'no heredoc on a line with a bad ${}': (
        b'FROM alpine:3\nRUN <<EOF echo ${}\nFROM busybox:1\n',
        [(1, 'DP001', 'alpine:3'), (3, 'DP001', 'busybox:1')],
    ),
    "words end at Go's blanks (a no-break space here)": (
        b'FROM alpine:3\nRUN <<EOF\xc2\xa0cat\nFROM evil:1\nEOF\n', [(1, 'DP001', 'alpine:3')],
    ),
    'only blanks right after << join the name': (
        b'FROM alpine:3\nRUN cat <<-  EOF\nFROM busybox:1\n',
        [(1, 'DP001', 'alpine:3'), (3, 'DP001', 'busybox:1')],
    ),
    'an escaped quote inside double quotes does not end them': (
        b'FROM alpine:3\nRUN echo "a\\"b" <<EOF\nFROM evil:1\nEOF\n', [(1, 'DP001', 'alpine:3')],
    ),
    'a name in quotes is unquoted, an unset $NAME kept': (
        b'FROM alpine:3\nRUN <<"E"O\\F cat\nFROM evil:1\nEOF\nRUN <<$X\nFROM evil:2\n$X\n',
        [(1, 'DP001', 'alpine:3')],
    ),
    '<<"" names no heredoc': (
        b'FROM alpine:3\nRUN echo <<"" x\nFROM busybox:1\n',
        [(1, 'DP001', 'alpine:3'), (3, 'DP001', 'busybox:1')],
    ),
    # the syntax directive, as DetectSyntax finds it
    'an indented # syntax is not seen': (b'  # syntax=docker/dockerfile:1\nFROM scratch\n', []),
    'a #! first line is skipped': (
        b'#!/usr/bin/env buildctl\n# syntax=docker/dockerfile:1\nFROM scratch\n',
        [(2, 'DP001', 'docker/dockerfile:1')],
    ),
    'only the first word of the value': (
        b'# syntax=docker/dockerfile:1 --foo\nFROM scratch\n', [(1, 'DP001', 'docker/dockerfile:1')],
    ),
    'after a BOM': (
        b'\xef\xbb\xbf# syntax=docker/dockerfile:1\nFROM scratch\n', [(1, 'DP001', 'docker/dockerfile:1')],
    ),
    'after # check=': (
        b'# check=skip=all\n# syntax=docker/dockerfile:1\nFROM scratch\n',
        [(2, 'DP001', 'docker/dockerfile:1')],
    ),
    'a second # syntax does not make the file unreadable': (
        b'# syntax=docker/dockerfile:1\n# syntax=other:2\nFROM scratch\n',
        [(1, 'DP001', 'docker/dockerfile:1')],
    ),
    'a JSON document\'s syntax key': (
        b'{"syntax": "docker/dockerfile:1"}\n',
        [(1, 'DP001', 'docker/dockerfile:1'), (1, 'DP010', '{"syntax":')],
    ),
    'a JSON syntax key spelled with an escape': (
        b'{"\\u0073yntax": "docker/dockerfile:1"}\n',
        [(1, 'DP001', 'docker/dockerfile:1'), (1, 'DP010', '{"\\u0073yntax":')],
    ),
    'a JSON document without one': (
        b'{"a": "docker/dockerfile:1"}\n', [(1, 'DP010', '{"a":')],
    ),
    # BuildKit reads the JSON with Go's json.Unmarshal into a map
    'a JSON document after a #! line': (
        b'#!/usr/bin/env buildctl\n{"syntax": "docker/dockerfile:1"}\n',
        [(2, 'DP001', 'docker/dockerfile:1'), (2, 'DP010', '{"syntax":')],
    ),
    'a JSON syntax key nested as deep as Go reads (10,000)': (
        b'{"syntax": "docker/dockerfile:1", "a": ' + b'[' * 9999 + b']' * 9999 + b'}\n',
        [(1, 'DP001', 'docker/dockerfile:1'), (1, 'DP010', '{"syntax":')],
    ),
    'no syntax from JSON nested deeper than Go reads': (
        b'{"syntax": "docker/dockerfile:1", "a": ' + b'[' * 10000 + b']' * 10000 + b'}\n',
        [(1, 'DP010', '{"syntax":')],
    ),
    'no syntax from JSON that Go refuses (NaN)': (
        b'{"syntax": "docker/dockerfile:1", "a": NaN}\n', [(1, 'DP010', '{"syntax":')],
    ),
    'no syntax from JSON that Go refuses (a trailing comma)': (
        b'{"syntax": "docker/dockerfile:1",}\n', [(1, 'DP010', '{"syntax":')],
    ),
    # a number Go's strconv.ParseFloat refuses fails json.Unmarshal into any
    'no syntax from JSON that Go refuses (a number past float64)': (
        b'{"syntax": "docker/dockerfile:1", "a": [1, -1e309]}\n', [(1, 'DP010', '{"syntax":')],
    ),
    'no syntax from JSON whose long exponent Go reads as an overflow': (
        b'{"syntax": "docker/dockerfile:1", "a": 1' + b'0' * 20000 + b'e-123456}\n',
        [(1, 'DP010', '{"syntax":')],
    ),
    'a JSON number whose long exponent Go reads as 0': (
        b'{"syntax": "docker/dockerfile:1", "a": 0.' + b'0' * 20000 + b'1e123456}\n',
        [(1, 'DP001', 'docker/dockerfile:1'), (1, 'DP010', '{"syntax":')],
    ),
    'a map key is matched exactly: SYNTAX is another key': (
        b'{"SYNTAX": "docker/dockerfile:1"}\n', [(1, 'DP010', '{"SYNTAX":')],
    ),
    'of a repeated JSON key the last counts': (
        b'{"syntax": "a/b:1", "syntax": "docker/dockerfile:1"}\n',
        [(1, 'DP001', 'docker/dockerfile:1'), (1, 'DP010', '{"syntax":')],
    ),
    'a repeated JSON key whose last value is no string': (
        b'{"syntax": "docker/dockerfile:1", "syntax": 1}\n', [(1, 'DP010', '{"syntax":')],
    ),
    'only the top-level syntax key': (
        b'{"a": {"syntax": "docker/dockerfile:1"}}\n', [(1, 'DP010', '{"a":')],
    ),
    'only a JSON object': (b'[{"syntax": "docker/dockerfile:1"}]\n', [(1, 'DP010', '[{"syntax":')]),
    # what BuildKit does not know: DP010, and the rest is read
    'an unknown instruction': (
        b'FROM alpine:3\nFROOM debian:12\nFROM busybox:1\n',
        [(1, 'DP001', 'alpine:3'), (2, 'DP010', 'FROOM'), (3, 'DP001', 'busybox:1')],
    ),
    'an unknown flag': (
        b'FROM alpine:3\nADD --from=nginx:1 /a /b\n', [(1, 'DP001', 'alpine:3'), (2, 'DP010', '--from')],
    ),
    'COPY --parents and --exclude are known': (
        b'FROM alpine:3\nCOPY --parents --exclude=*.md ./ /x\n', [(1, 'DP001', 'alpine:3')],
    ),
    'flag words use the escape character of the file': (
        b'# escape=`\nFROM scratch\nCOPY --from=a`:1 /a /b\n', [(3, 'DP001', 'a:1')],
    ),
    # DP003 where a --build-arg is needed
    'a blank base name from an unset variable': (b'FROM $BASE\n', [(1, 'DP003', '$BASE')]),
}


def test_a_json_syntax_value_is_pinned_where_the_key_stands() -> None:
    """The span is the syntax key's own value, not the first equal string:
    a pin written there would leave the frontend image as it was."""
    text = '{"a": "docker/dockerfile:1",\n "syntax": "docker/dockerfile:1"}\n'
    found = detect_syntax(text)
    assert found is not None
    assert (found.value, found.span, found.line) == ('docker/dockerfile:1', (41, 60), 2)
    assert text[41:60] == 'docker/dockerfile:1'


def test_a_json_syntax_value_written_with_escapes_is_left_to_the_user() -> None:
    _, refs, _ = read_dockerfile(b'{"syntax": "docker\\/dockerfile:1"}\n')
    assert [(r.image, r.span, r.editable) for r in refs] == [('docker/dockerfile:1', (12, 32), False)]


@pytest.mark.parametrize(('data', 'expected'), list(PULLED.values()), ids=list(PULLED))
def test_what_buildkit_pulls(data: bytes, expected: list[tuple[int, str, str]]) -> None:
    assert lint(data) == expected


REFUSED = {
    'a comment after FROM': (b'FROM a:1 # the base\n', 'dockerfile parse error on line 1: FROM requires either one or three arguments'),
    'CR-only line endings': (b'FROM a:1\rRUN true\rFROM b:2\r', 'dockerfile parse error on line 1: FROM requires either one or three arguments'),
    'an invalid stage name': (b'FROM a:1 AS 1stage\n', 'dockerfile parse error on line 1: invalid name for build stage: "1stage", name can\'t start with a number or contain symbols'),
    'a stage name from a variable': (b'FROM a:1 AS ${X}\n', 'dockerfile parse error on line 1: invalid name for build stage: "${X}", name can\'t start with a number or contain symbols'),
    'a duplicated flag': (b'FROM a:1\nCOPY --from=a --from=b /a /b\n', 'dockerfile parse error on line 2: duplicate flag specified: --from'),
    'a flag without its value': (b'FROM a:1\nCOPY --chmod /a /b\n', 'dockerfile parse error on line 2: missing a value on flag: --chmod'),
    'an unknown network mode': (b'FROM a:1\nRUN --network=fake true\n', 'dockerfile parse error on line 2: invalid network mode "fake"'),
    'ENV without a value': (b'FROM a:1\nENV x\n', 'dockerfile parse error on line 2: ENV must have two arguments'),
    'ENV with a word without =': (b'FROM a:1\nENV K=V # comment\n', 'dockerfile parse error on line 2: Syntax error - can\'t find = in "#". Must be of the form: name=value'),
    'HEALTHCHECK without arguments': (b'FROM a:1\nHEALTHCHECK --interval=5s\n', 'dockerfile parse error on line 2: HEALTHCHECK requires at least one argument'),
    'HEALTHCHECK without arguments in a file with a heredoc': (b'FROM a:1\nRUN <<EOF\ntrue\nEOF\nHEALTHCHECK\n', 'dockerfile parse error on line 5: HEALTHCHECK requires at least one argument'),
    'a blank base name from a set variable': (b'ARG V=\nFROM ${V:+busybox:1}\n', 'line 2: base name (${V:+busybox:1}) should not be blank'),
    'an unsupported modifier': (b'ARG V=a:1\nFROM ${V:#x}\n', 'line 2: failed to process "${V:#x}": unsupported modifier (:#) in substitution'),
    'a substring': (b'ARG V=a:1\nFROM ${V:0:3}\n', 'line 2: failed to process "${V:0:3}": unsupported modifier (:0) in substitution'),
    'a missing brace': (b'FROM ${V\n', 'line 1: failed to process "${V": unsupported modifier (\ufffd) in substitution'),
    'an error in a global ARG default': (b'ARG V=${X:#y}\nFROM a:1\n', 'line 1: failed to process "${X:#y}": unsupported modifier (:#) in substitution'),
    'RUN --mount from a variable': (b'FROM a:1\nARG I=b:2\nRUN --mount=from=$I,target=/x true\n', "dockerfile parse error on line 3: 'from' doesn't support variable expansion, define alias stage instead"),
    'COPY --from a variable': (b'FROM a:1\nCOPY --from=$X /a /b\n', 'line 2: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround'),
    '--from a stage defined later': (b'FROM a:1\nCOPY --from=later /a /b\nFROM b:2 AS later\n', 'line 2: stage "later" needs to be defined before current stage'),
    '--from the stage itself': (b'FROM a:1 AS self\nCOPY --from=self /a /b\n', 'line 2: stage "self" needs to be defined before current stage'),
    'a negative stage index': (b'FROM a:1\nCOPY --from=-1 /a /b\n', 'line 2: invalid stage index -1'),
    'a secret mount with from': (b'FROM a:1\nRUN --mount=type=secret,id=s,from=b:2 true\n', 'line 2: secret mount should not have a from'),
    'ONBUILD FROM': (b'FROM a:1\nONBUILD FROM b:2\n', "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"),
    'ONBUILD ONBUILD': (b'FROM a:1\nONBUILD ONBUILD RUN true\n', "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    'an instruction before any FROM': (b'LABEL a=b\nFROM a:1\n', 'line 1: no build stage in current context'),
    'an empty platform': (b'ARG P\nFROM --platform=$P a:1\n', 'line 2: empty platform value from expression $P'),
    'an empty file': (b'', 'the Dockerfile cannot be empty'),
    'comments only': (b'# nothing\n', 'file with no instructions'),
}


@pytest.mark.parametrize(('data', 'message'), list(REFUSED.values()), ids=list(REFUSED))
def test_what_buildkit_refuses(data: bytes, message: str) -> None:
    with pytest.raises(DockerfileError) as refused:
        read_dockerfile(data)
    assert str(refused.value) == message


# Where an instruction ends, with the escape character (backslash, and a
# backtick under ``# escape=```) written {e}: each row's outcome is what the
# BuildKit of the test stack's dockerd said when it built the file (one
# build per row and escape, test_buildkit_semantics), and BuildKit v0.32's
# parser.go reads it alike: a comment line is dropped before a continuation
# is looked for; inside one, comment and blank lines are skipped; the
# escape continues a line when nothing but blanks follows it (a \r before
# the newline too) and no escape comes before it.  None: BuildKit reads
# the file; else (line, message) of its refusal, or of the unknown
# instruction it names (the line where the instruction starts).
CONTINUATION = {
    'a comment ending in the escape does not continue': (
        'FROM scratch\n# c {e}\nENV x\n', (3, 'ENV must have two arguments'),
    ),
    'nor with blanks after the escape': (
        'FROM scratch\n# c {e} \t\nENV x\n', (3, 'ENV must have two arguments'),
    ),
    'nor with CRLF line ends': (
        'FROM scratch\r\n# c {e}\r\nENV x\r\n', (3, 'ENV must have two arguments'),
    ),
    'nor an indented one': (
        'FROM scratch\n   # c {e}\nENV x\n', (3, 'ENV must have two arguments'),
    ),
    'nor two of them': (
        'FROM scratch\n# a {e}\n# b {e}\nENV x\n', (4, 'ENV must have two arguments'),
    ),
    'nor before HEALTHCHECK': (
        'FROM scratch\n# c {e}\nHEALTHCHECK\n', (3, 'HEALTHCHECK requires at least one argument'),
    ),
    'nor before an unknown instruction': (
        'FROM scratch\n# c {e}\nFOO bar\n', (3, 'unknown instruction: FOO'),
    ),
    'a comment line inside a continuation is skipped': (
        'FROM scratch\nENV a=b {e}\n# c\nc=d\n', None,
    ),
    'even one ending in the escape': (
        'FROM scratch\nENV a=b {e}\n# c {e}\nc=d\n', None,
    ),
    'an empty line inside a continuation is skipped': (
        'FROM scratch\nENV a=b {e}\n\nc=d\n', None,
    ),
    'a line of blanks inside a continuation is skipped': (
        'FROM scratch\nENV a=b {e}\n \t \nc=d\n', None,
    ),
    'a line of blanks, then a word without =': (
        'FROM scratch\nENV a=b {e}\n   \nFOO\n',
        (2, 'Syntax error - can\'t find = in "FOO". Must be of the form: name=value'),
    ),
    'an escaped escape does not continue': (
        'FROM scratch\nENV a=b{e}{e}\nc=d\n', (3, 'unknown instruction: C=D'),
    ),
    'nor with blanks after it': (
        'FROM scratch\nENV a=b{e}{e} \t\nc=d\n', (3, 'unknown instruction: C=D'),
    ),
    'nor with CRLF line ends ': (
        'FROM scratch\r\nENV a=b{e}{e}\r\nc=d\r\n', (3, 'unknown instruction: C=D'),
    ),
    'nor three escapes': (
        'FROM scratch\nENV a=b{e}{e}{e}\nc=d\n', (3, 'unknown instruction: C=D'),
    ),
    'the next line is an instruction of its own': (
        'FROM scratch\nENV a=b{e}{e}\nENV x\n', (3, 'ENV must have two arguments'),
    ),
    'the escape with blanks after it continues': (
        'FROM scratch\nENV a=b {e} \t\nc=d\n', None,
    ),
    'the escape before CRLF continues': (
        'FROM scratch\r\nENV a=b {e}\r\nc=d\r\n', None,
    ),
    'the escape, CR and a blank does not continue': (
        'FROM scratch\nENV a=b {e}\r \nc=d\n', (3, 'unknown instruction: C=D'),
    ),
    'a line of the escape alone starts an instruction': (
        'FROM scratch\n{e}\nENV x\n', (2, 'ENV must have two arguments'),
    ),
    'with blanks after the escape': (
        'FROM scratch\n{e} \t\nENV x\n', (2, 'ENV must have two arguments'),
    ),
    'with a comment after it': (
        'FROM scratch\n{e}\n# c\nENV x\n', (2, 'ENV must have two arguments'),
    ),
    'an unknown instruction after it': (
        'FROM scratch\n{e}\nFOO x\n', (2, 'unknown instruction: FOO'),
    ),
    'a command running into the next line': (
        'FROM scratch\nENV{e}\n x\n', (2, 'ENV must have two arguments'),
    ),
    'a command split over two lines': ('FROM scratch\nEN{e}\nV a=b\n', None),
}
# BuildKit v0.32 trims every \r before the newline (trimNewline); the
# dockerd of the test stack is older (Go's ScanLines trims one, and this
# line does not continue there): this row's value is v0.32's parser.go's
CONTINUATION_V032_ONLY = {
    'the escape before two CRs continues': ('FROM scratch\nENV a=b {e}\r\r\nc=d\n', None),
}


def continuation_cases() -> dict[str, tuple[bytes, tuple[int, str] | None]]:
    """Each row of CONTINUATION twice: with the backslash, then with a
    backtick after ``# escape=``` (one line further down)."""
    cases = {}
    for name, (text, outcome) in {**CONTINUATION, **CONTINUATION_V032_ONLY}.items():
        cases[name] = (text.format(e='\\').encode(), outcome)
        # the other escape is a plain character now (backslashes included)
        shifted = None if outcome is None else (outcome[0] + 1, outcome[1])
        newline = '\r\n' if text.startswith('FROM scratch\r\n') else '\n'
        backtick = f'# escape=`{newline}' + text.format(e='`')
        cases[f'{name} (escape=`)'] = (backtick.encode(), shifted)
    return cases


CONTINUATION_CASES = continuation_cases()


def parse_outcome(data: bytes) -> tuple[int, str] | None:
    """What our reader says of a file, as BuildKit says it: None when it
    reads the file, else (line, message) of the first refusal or unknown
    instruction."""
    try:
        _, _, unknown = read_dockerfile(data)
    except DockerfileError as refused:
        m = re.fullmatch(r'dockerfile parse error on line (\d+): (.*)', str(refused), re.S)
        assert m is not None, str(refused)
        return int(m.group(1)), m.group(2)
    for u in unknown:
        if u.what == 'instruction':
            return u.line, f'unknown instruction: {u.word.upper()}'
    return None


@pytest.mark.parametrize(
    ('data', 'outcome'), list(CONTINUATION_CASES.values()), ids=list(CONTINUATION_CASES),
)
def test_where_an_instruction_ends(data: bytes, outcome: tuple[int, str] | None) -> None:
    assert parse_outcome(data) == outcome


def test_an_instructions_flags_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # the refusals' check reads the flags of FROM, COPY and RUN, and hands
    # what it read to the reference reader, which read them again
    from digestpin_hooks.read.dockerfile import parser
    from digestpin_hooks.read.dockerfile import references
    from digestpin_hooks.read.dockerfile import refusals
    read: list[str] = []

    def extract_flags(
            line: str, start: int, escape: str = '\\',
    ) -> tuple[int, list[tuple[str, int, int]]]:
        read.append(line)
        return parser.extract_flags(line, start, escape)
    monkeypatch.setattr(refusals, 'extract_flags', extract_flags)
    monkeypatch.setattr(references, 'extract_flags', extract_flags)
    data = (
        b'FROM --platform=linux/amd64 a:1 AS a\n'
        b'FROM b:2\n'
        b'COPY --from=a /x /y\n'
        b'RUN --mount=type=cache,from=c:3,target=/c true\n'
    )
    _, refs, _ = read_dockerfile(data)
    assert [(ref.line, ref.image) for ref in refs] == [(1, 'a:1'), (2, 'b:2'), (4, 'c:3')]
    # the checks' three, then the one without flags, which they skip
    assert read == [
        'FROM --platform=linux/amd64 a:1 AS a',
        'COPY --from=a /x /y',
        'RUN --mount=type=cache,from=c:3,target=/c true',
        'FROM b:2',
    ]


def test_lines_of_one_continued_instruction_are_walked_back_once(
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the line after each comment of a continued RUN is a match of the
    # refusals' pattern (its first word is no instruction): the first walks
    # back to the line it continues, the others are known to continue it
    from digestpin_hooks.read.dockerfile.parser import _Scanner
    walked: list[int] = []
    continues_before = _Scanner.continues_before

    def counted(self: _Scanner, offset: int) -> bool:
        walked.append(offset)
        return continues_before(self, offset)
    monkeypatch.setattr(_Scanner, 'continues_before', counted)
    data = (
        b'FROM a:1\n'
        b'RUN a \\\n  # one\n  b \\\n  # two\n  c \\\n\n  d\n'
        b'nosuch x\n'
    )
    _, refs, unknown = read_dockerfile(data)
    assert [(ref.line, ref.image) for ref in refs] == [(1, 'a:1')]
    assert [(u.line, u.word) for u in unknown] == [(9, 'nosuch')]
    assert walked == [data.index(b'  b'), data.index(b'nosuch')]
