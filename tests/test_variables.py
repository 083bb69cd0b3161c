"""Compose and CI interpolation, and the .env file beside a Compose file."""
from __future__ import annotations

import pytest

from digestpin_hooks.read.variables import interpolate
from digestpin_hooks.read.variables import DotenvError
from digestpin_hooks.read.variables import read_dotenv
from digestpin_hooks.read.variables import valid_template


@pytest.mark.parametrize(('text', 'expected'), (
    ('A=1', {'A': '1'}),
    ('export A=1', {'A': '1'}),
    ('  A = spaced  ', {'A': 'spaced'}),
    ('A="quoted # not a comment"', {'A': 'quoted # not a comment'}),
    ('A="line\\nbreak \\"q\\""', {'A': 'line\nbreak "q"'}),
    ("A='single $X'", {'A': 'single $X'}),
    # a quoted value runs on to its closing quote, over lines: a quote
    # after a backslash does not close it (as compose-go reads it)
    ('A="x\nIMG=b:1\n"\nB=2', {'A': 'x\nIMG=b:1\n', 'B': '2'}),
    ("A='x\nIMG=b:1'\nB=2", {'A': 'x\nIMG=b:1', 'B': '2'}),
    ('A="x\\"\n"', {'A': 'x"\n'}),
    # the quote is escaped by an odd run of backslashes only: \\ is an
    # escaped backslash, and the quote after it closes the value
    ('A="x\\\\"\nIMG=b:1', {'A': 'x\\', 'IMG': 'b:1'}),
    ('A="x\\\\\\\\"\nIMG=b:1', {'A': 'x\\\\', 'IMG': 'b:1'}),
    ("A='x\\\\'\nIMG=b:1", {'A': 'x\\\\', 'IMG': 'b:1'}),
    # in single quotes \' is the quote itself
    ("A='x\\''", {'A': "x'"}),
    # what follows a closing quote on its line is read as further lines
    # are (compose-go reads on from the quote)
    ('A="x" IMG=b:1', {'A': 'x', 'IMG': 'b:1'}),
    ("A='x'IMG=b:1", {'A': 'x', 'IMG': 'b:1'}),
    ('A="x"\tB="y" C=z\nD=1', {'A': 'x', 'B': 'y', 'C': 'z', 'D': '1'}),
    ('A="x\ny" IMG=b:1\nB=2', {'A': 'x\ny', 'IMG': 'b:1', 'B': '2'}),
    # (a comment there is none; nor a word without = or :)
    ('A="x" # IMG=b:1\nB=2', {'A': 'x', 'B': '2'}),
    ('A="x"#IMG=b:1', {'A': 'x'}),
    ('A="x"junk\nB=2', {'A': 'x', 'B': '2'}),
    # in double quotes Go's escapes \a \b \f \r \t \v stand for what they
    # escape, and \$ for a $ that starts no variable (compose-go)
    ('A="x\\ty\\rz\\a\\b\\f\\v"', {'A': 'x\ty\rz\a\b\f\v'}),
    ('B=1\nA="\\$B"', {'B': '1', 'A': '$B'}),
    ('A="\\\\$B"', {'A': '\\'}),  # (an escaped backslash, then $B)
    ('A=value # comment', {'A': 'value'}),
    ('A=va#lue', {'A': 'va#lue'}),
    ('# comment\n\nnot_a_line\n1A=x\nB=2', {'B': '2'}),
    ('exportA=1', {'exportA': '1'}),
    # Compose's .env also takes YAML's way of writing a value: the key ends
    # at the first = or : (docker compose v2.40.3 reads each of these)
    ('IMG: example.com/b:1', {'IMG': 'example.com/b:1'}),
    ('IMG:example.com/b:1 # c', {'IMG': 'example.com/b:1'}),
    ('export IMG : "b:1"', {'IMG': 'b:1'}),
    ('A:1=2\nB=x:y', {'A': '1=2', 'B': 'x:y'}),
    ('A-B=1\n[section]\nA.B=2\nA[0]=3', {'A-B': '1', 'A.B': '2'}),
    # a byte order mark that starts the file is no part of the first key
    ('\ufeffIMG=b:1', {'IMG': 'b:1'}),
    # values unquoted or in double quotes are interpolated with the lines
    # above them, as Compose does; a variable none sets is empty
    ('T=2\nIMG=b:$T', {'T': '2', 'IMG': 'b:2'}),
    ('IMG="b:${T:-2}"', {'IMG': 'b:2'}),
    ("T=2\nIMG='b:$T'", {'T': '2', 'IMG': 'b:$T'}),
    ('IMG=$UNSET', {'IMG': ''}),
    ('IMG=b:$$T', {'IMG': 'b:$T'}),
    ('IMG=${T:-b:2}\nT=c:3', {'IMG': 'b:2', 'T': 'c:3'}),
    ('A=1\nA=$A-x', {'A': '1-x'}),
    # Compose ends a line at \n only: a comment runs on over \r, \v, \x1c
    # or U+2028, and a value keeps them (a lone \r ending it aside)
    ('# c\rIMG=b:2', {}),
    ('# c\x0bIMG=b:2\n# d\u2028IMG=c:3\n# e\x1cIMG=d:4', {}),
    ('X=1\x0bIMG=b:2\r\nY=2\r', {'X': '1\x0bIMG=b:2', 'Y': '2'}),
    # Go's case-insensitive [a-z] of compose-go's name pattern takes the
    # long s and the Kelvin sign (they fold to s and k): a name, and a key
    ('\u017f=b:2\nIMG=${\u017f}\nK=$\u212a', {'\u017f': 'b:2', 'IMG': 'b:2', 'K': ''}),
))
def test_dotenv(text: str, expected: dict[str, str]) -> None:
    assert read_dotenv(text) == expected


# (a double-quoted .env value, what Compose reads: docker compose v2.40.3,
# asked again by tests/test_real_tools.py).  compose-go reads ``\\0`` and
# up to three digits after it as an octal escape when Go takes the digits
# as one (three octal ones, at most 377), else drops the 0.
DOTENV_OCTAL_ESCAPES = (
    ('\\0101:1', 'A:1'),
    ('\\0101\\0101', 'AA'),
    ('\\01234', 'S4'),
    ('\\0377', '\u00ff'),
    ('\\00101', '\x081'),
    ('\\0400', '\\400'),
    ('\\0189', '\\189'),
    ('\\012', '\\12'),
    ('\\0', '\\'),
    ('\\0a', '\\a'),
    ('\\101', '\\101'),
    ('\\\\0101', '\\0101'),
)


@pytest.mark.parametrize(('written', 'value'), DOTENV_OCTAL_ESCAPES)
def test_dotenv_reads_octal_escapes_as_compose_go(written: str, value: str) -> None:
    """On main ``A="\\0101"`` was ``\\0101``, where Compose reads ``A``."""
    assert read_dotenv(f'A="{written}"\n') == {'A': value}


@pytest.mark.parametrize(('text', 'refusal'), (
    ('A="unclosed', 'line 1: unterminated quoted value "unclosed'),
    ("B=1\nA='x\nC=2\n", "line 2: unterminated quoted value 'x"),
    ('A="x\\"\n', 'line 1: unterminated quoted value "x\\"'),
    ('A="a"b"', 'line 1: unexpected character "\\"" in variable name'),
    ('A="""', 'line 1: unexpected character "\\"" in variable name'),
    ('A="x\ny" B="z\nC=1', 'line 2: unterminated quoted value "z'),
    ('A=1\nnot a line\n', 'line 2: key cannot contain a space'),
    ('export A B=1', 'line 1: key cannot contain a space'),
    ('A B: 1', 'line 1: key cannot contain a space'),
    # a key holds letters, digits and _ . - [ ] only: compose-go names the
    # first other character, before any space
    ('A/B=x', 'line 1: unexpected character "/" in variable name'),
    ('A=1\n"A"=x', 'line 2: unexpected character "\\"" in variable name'),
    ('A$B', 'line 1: unexpected character "$" in variable name'),
    ('A=1\n\ufeffIMG=b:1', 'line 2: unexpected character "\\ufeff" in variable name'),
    ('export A B\\C: 1', 'line 1: unexpected character "\\\\" in variable name'),
    # an interpolation compose-go cannot parse (its template pattern: a
    # name, then } or :- - :? ? :+ +, then the closing }) in a value not
    # in single quotes
    ('IMG=b:1\nA=${B:-x', 'line 2: invalid template: ${B:-x'),
    ('A="${B"', 'line 1: invalid template: ${B'),
    ('A=${}', 'line 1: invalid template: ${}'),
    ('A=x${B.C}', 'line 1: invalid template: x${B.C}'),
    ('A=${B:x}', 'line 1: invalid template: ${B:x}'),
    ('A=${1}', 'line 1: invalid template: ${1}'),
    ('A=${B:-${C}', 'line 1: invalid template: ${B:-${C}'),
    # a line break inside ${...}: compose-go's pattern reads a default up
    # to a } on its own line (Go's . is no line break), \n in double
    # quotes too
    ('A="${B:-x\\ny}"', 'line 1: invalid template: ${B:-x\ny}'),
    ('IMG=b:1\nA="${B:-${C:-x}\n}"', 'line 2: invalid template: ${B:-${C:-x}\n}'),
))
def test_dotenv_compose_refuses(text: str, refusal: str) -> None:
    """What Compose cannot read in a .env, and refuses the project for
    (docker compose v2.40.3; tests/test_real_tools.py asks it again): on
    main such a line was dropped and the file read on."""
    with pytest.raises(DotenvError) as raised:
        read_dotenv(text)
    assert str(raised.value) == refusal


# (value, whether compose-go's template parser takes it: docker compose
# v2.40.3, asked again by tests/test_real_tools.py)
VALID_TEMPLATES = (
    ('${A}\n${B:-x}\n$$\n', True),
    ('${A:-x\ry}', True),
    ('${A:-x}\n}', True),
    ('${A:-x\ny}', False),
    ('${A:-${B:-x}\n}', False),
    ('${A:-${B}x\n}', False),
    # deeper than the interpolation's limit, and longer: judged all the same
    ('${A:-' * 70 + 'x' + '}' * 70, True),
    ('${A:-' * 70 + '${}' + '}' * 70, False),
    ('${A:-' * 70, False),
    ('${A:-' + 'x' * 300_000 + '}${', False),
    ('$$' * 270_000 + '${', False),
    ('${A:-' + 'x' * 300_000 + '}', True),
    # names: [_a-z][_a-z0-9]* as Go's (?i) folds it, the long s and the
    # Kelvin sign too, not the dotless i or the dotted I
    ('${\u017f:-x}', True),
    ('${A\u212a\u017f}', True),
    ('${\u0131:-x}', False),
    ('${\u0130}', False),
    ('${\u00e9}', False),
)


@pytest.mark.parametrize(('value', 'valid'), VALID_TEMPLATES)
def test_valid_template_is_compose_gos(value: str, valid: bool) -> None:
    """A template compose-go refuses is refused however deep or long it
    is (past 64 nested defaults, or 262,144 characters, it was not judged,
    and a file Compose refuses was read on), and one of a line break
    inside ``${...}`` too."""
    assert valid_template(value) is valid


ENV = {'SET': 'v', 'EMPTY': ''}


@pytest.mark.parametrize(('text', 'value', 'unresolved'), (
    ('$$SET', '$SET', ()),
    ('${SET}', 'v', ()),
    ('$SET-$UNSET', 'v-', ('UNSET',)),
    ('${UNSET:-d}', 'd', ()),
    ('${EMPTY:-d}', 'd', ()),
    ('${EMPTY-d}', '', ()),
    ('${SET:+alt}', 'alt', ()),
    ('${EMPTY:+alt}', '', ()),
    ('${EMPTY+alt}', 'alt', ()),
    ('${UNSET+alt}', '', ()),
    ('${SET:?must}', 'v', ()),
    ('${UNSET?must}', '', ('UNSET',)),
    ('${EMPTY:?must}', '', ('EMPTY',)),
    ('${UNSET:-${SET}}', 'v', ()),
    ('${1bad}', '', ('${1bad}',)),
    ('${SET!x}', '', ('SET',)),
    ('a$', 'a$', ()),
    ('x$\u212a', 'x', ('\u212a',)),
    ('${\u017f:-d}', 'd', ()),
    ('x$\u0131', 'x$\u0131', ()),
))
def test_interpolation(text: str, value: str, unresolved: tuple[str, ...]) -> None:
    result = interpolate(text, ENV)
    assert (result.value, result.unresolved) == (value, unresolved)


# (template, its value with B=v and A unset, as Compose reads it: docker
# compose v2.40.3, asked again by tests/test_real_tools.py).  compose-go
# ends a ``${A:-...}`` at the ``}`` that closes each ``{`` of its argument
# (a ``$${`` one too; the character after a ``{`` is not looked at), else,
# a ``{`` never closed, at the last ``}``: not at its first ``}``.
BRACES_IN_DEFAULTS = (
    ('${A:-$${B}x}', '${B}x'),
    ('${A:-x{y}z}', 'x{y}z'),
    ('${B:-x{y}z}w}', 'vw}'),
    ('${A:-{{x}}y}', '{{x}y}'),
    ('${A:-{"k": [1]}}', '{"k": [1]}'),
    ('${B:+{$B}}', '{v}'),
    ('${A:-{x}', '{x'),
    ('${B:-{x}', 'v'),
    ('${A:-{${B}}', '{v'),
    ('${A:-x}y}', 'xy}'),
    ('${A:-$$}}', '$}'),
)


# A named exception: (template, Compose's value, ours).  A default whose
# ``{`` never closes ends at its last ``}``, which compose-go finds before
# it reads what the default holds; a default nested in it whose ``{`` never
# closes either ends, for compose-go, before that last ``}``, and for us,
# who read a template once, left to right, at it.  Left so: it takes a
# ``{`` never closed in two nested defaults, and a second reading of each.
BRACES_NEVER_CLOSED_TWICE = ('${A:-{${C:-{x}}', '{{x', '{{x}')


def test_a_brace_never_closed_in_two_nested_defaults_is_a_named_exception() -> None:
    text, _, ours = BRACES_NEVER_CLOSED_TWICE
    assert interpolate(text, {'B': 'v'}).value == ours


@pytest.mark.parametrize(('text', 'value'), BRACES_IN_DEFAULTS)
def test_interpolation_ends_a_default_where_compose_does(text: str, value: str) -> None:
    """A default holding braces ends where compose-go ends it: on main it
    ended at its first ``}``, so ``${A:-$${B}x}`` was ``${Bx}`` and
    ``${B:-x{y}z}`` with B set ``vz}``."""
    assert interpolate(text, {'B': 'v'}).value == value


@pytest.mark.parametrize(('text', 'value', 'unresolved'), (
    ('${A:-' * 65 + 'x' + '}' * 65, 'x', ()),
    ('${A:-y' * 10_000 + '}' * 10_000, 'y' * 10_000, ()),
    ('${SET:+' * 5_000 + '$SET' + '}' * 5_000, 'v', ()),
    ('${EMPTY:-${SET+' * 5_000 + 'z' + '}}' * 5_000, 'z', ()),
    ('${A:?' * 3_000 + 'm' + '}' * 3_000, '', ('A',)),
    ('${A:-' * 100 + '${1', '', ('${1',)),
))
def test_interpolation_reads_any_depth(
        text: str, value: str, unresolved: tuple[str, ...],
) -> None:
    """Compose reads a template nested at any depth (it pulls ``x`` of
    one 70 deep): so do we, with no RecursionError and no limit of our
    own (it was "variables nested more than 64 deep")."""
    result = interpolate(text, ENV)
    assert (result.value, result.unresolved) == (value, unresolved)


def test_a_whole_default_is_where_the_value_stands() -> None:
    assert interpolate('${IMG:-nginx:1}', {}).span == (7, 14)
    assert interpolate('${IMG:-nginx:1}', {'IMG': 'x'}).span is None


# Go's os.Expand over the GitLab Runner's Variables.Get (common/spec/
# variables.go), worked by hand from Go's source: no operators, ``${`` to
# the first ``}`` one name, the shell's parameters one character
GO = {'SET': 'v', 'EMPTY': '', '-': 'dash'}


@pytest.mark.parametrize(('text', 'value', 'unresolved'), (
    ('$SET', 'v', ()),
    ('${SET}', 'v', ()),
    ('$SET-$UNSET', 'v-', ('UNSET',)),
    ('${SET:-d}', '', ('SET:-d',)),
    ('${UNSET:-alpine:3}', '', ('UNSET:-alpine:3',)),
    ('${SET-d}', '', ('SET-d',)),
    ('${SET:+alt}', '', ('SET:+alt',)),
    ('${SET:?must}', '', ('SET:?must',)),
    ('${UNSET:-${SET}}', '}', ('UNSET:-${SET',)),  # the name ends at the first }
    ('$$SET', '$SET', ()),  # Get("$") is "$"
    ('${$}', '$', ()),
    ('$1a', 'a', ()),  # a digit is a name of one character, always empty
    ('${1}a', 'a', ()),
    ('$*$#$@$!$?x', 'x', ()),
    ('$-', 'dash', ()),  # Get("-") reads the variables
    ('${}a', 'a', ()),  # bad syntax: ${} eaten
    ('${alpine:3', 'alpine:3', ()),  # bad syntax: ${ eaten, the rest is text
    ('a$', 'a$', ()),  # a last $ is kept
    ('a$.b', 'a$.b', ()),  # no name after it: kept
    ('$SET_1.x', '.x', ('SET_1',)),
    ('$é', '$é', ()),  # names are ASCII
))
def test_gitlab_expansion_is_go_os_expand(text: str, value: str, unresolved: tuple[str, ...]) -> None:
    from digestpin_hooks.read.variables import expand_as_gitlab
    result = expand_as_gitlab(text, GO)
    assert (result.value, result.unresolved) == (value, unresolved)


@pytest.mark.parametrize('unit', ('${', '$', '${x}', '$A}', '${}'))
def test_gitlab_expansion_is_bounded_and_linear(unit: str) -> None:
    """Texts of many ``${`` without a ``}`` (the search for the next ``}``
    made once, not from each), of ``$``, of names, of ``${}``: 10x the text
    costs at most 15 times as much in CPU time (best of three, measured
    again while over, as the growth tests do); a search from each ``${``
    costs 100 times."""
    import time
    from digestpin_hooks.read.variables import expand_as_gitlab
    from digestpin_hooks.read.variables import TooLong
    from tests.timing import untraced
    with pytest.raises(TooLong):
        expand_as_gitlab('$A' * 2_000, {'A': 'a' * 200})

    def cost(count: int) -> float:
        text = unit * count
        best = float('inf')
        for _ in range(3):
            start = time.process_time()
            with untraced():
                expand_as_gitlab(text, {'A': 'a'})
            best = min(best, time.process_time() - start)
        return best
    ratios: list[float] = []
    while len(ratios) < 3 and (not ratios or ratios[-1] > 15):
        ratios.append(cost(200_000) / cost(20_000))
    assert min(ratios) <= 15


def test_dotenv_expansion_is_bounded() -> None:
    """Lines each copying a long value: their expansions stop at a budget
    (the rest stay as written), not at gigabytes."""
    from digestpin_hooks.read.variables import MAX_DOTENV_EXPANDED
    text = 'A=' + 'x' * 200_000 + '\n' + 'B=$A\n' * 50
    values = read_dotenv(text)
    assert values['B'] == '$A'  # past the budget: as written
    assert sum(map(len, values.values())) <= MAX_DOTENV_EXPANDED + len(text)
