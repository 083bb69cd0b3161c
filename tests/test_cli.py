"""cli: the command line a hook without its own options reads without
argparse is read exactly as argparse reads it; every other line is left to
argparse."""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from digestpin_hooks import cli
from digestpin_hooks import lint


def parsed_by_argparse(argv: list[str]) -> dict[str, object]:
    parser = cli.parser_for(lint.PROG, lint.DESCRIPTION)
    lint.add_arguments(parser)
    return vars(parser.parse_args(argv))


# lines as pre-commit writes them: the hook's args, then the file names
PLAIN = [
    [],
    ['Dockerfile'],
    ['a/Dockerfile', 'compose.yaml', 'x y.yml', 'a=b', 'Dockerfile.--x'],
    ['--strict', 'Dockerfile'],
    ['--no-strict'],
    ['--strict', '--no-strict', 'f'],
    ['--format', 'json', 'f'],
    ['--format=sarif', '--format', 'github', 'f'],
    ['--kind', 'compose', 'f', 'g'],
    ['--kind=kubernetes'],
    ['--allow', 'ghcr.io/me/*', '--allow=x', 'f'],
    ['--ignore', 'dp003', '--ignore=DP010', '--allow', 'a=b', 'f'],
    ['--allow', 'x y', '--format', 'text', '--kind', 'auto', '--strict', 'f'],
]
# lines argparse reads (or refuses) in its own way: help, errors,
# abbreviations, values that look like options, options after a file name
OTHER = [
    ['-h'], ['--help'], ['--version'], ['--help', 'f'],
    ['--format', 'xml', 'f'], ['--format=', 'f'], ['--format'], ['--kind', 'nope'],
    ['--form', 'json'], ['--stric', 'f'], ['--strict=yes', 'f'], ['--bogus', 'f'],
    ['-s', 'f'], ['--', 'f'], ['-', 'f'], ['f', '-'], ['f', '--strict'],
    ['f', '--format', 'json'], ['--allow', '-x', 'f'], ['--allow', '', 'f'],
    ['--allow=', 'f'], ['--allow', '--strict'], ['--ignore'], ['f', ''], ['', 'f'],
    ['--allow=-x', 'f'], ['f', '-1'],
]


@pytest.mark.parametrize('argv', PLAIN)
def test_a_plain_line_is_read_as_argparse_reads_it(argv: list[str]) -> None:
    args = cli.common_arguments(argv)
    assert args is not None
    assert vars(args) == parsed_by_argparse(argv)


@pytest.mark.parametrize('argv', OTHER)
def test_any_other_line_is_left_to_argparse(argv: list[str]) -> None:
    assert cli.common_arguments(argv) is None


def test_every_short_line_read_without_argparse_reads_as_argparse_reads_it(
        capsys: pytest.CaptureFixture[str],
) -> None:
    # every line of up to three words from these: whatever is read without
    # argparse is what argparse reads
    words = [
        'f', '-', '--', '', '--strict', '--no-strict', '--format', 'json',
        '--format=text', '--kind', 'compose', '--allow', '--allow=a', '-x',
        '--ignore', 'DP001', '--s', '--help',
    ]
    plain = 0
    for size in range(4):
        for argv in itertools.product(words, repeat=size):
            args = cli.common_arguments(list(argv))
            if args is None:
                continue
            plain += 1
            assert vars(args) == parsed_by_argparse(list(argv)), argv
    assert plain == 443
    assert capsys.readouterr() == ('', '')


def test_lint_of_one_file_imports_no_argparse(tmp_path: Path) -> None:
    # argparse imports gettext, whose first message imports locale: an
    # eighth of a one-file lint's instructions; signal's enums 3% more
    f = tmp_path / 'Dockerfile'
    f.write_bytes(b'FROM a:1\n')
    code = (
        'import sys\n'
        'from digestpin_hooks.lint import main\n'
        f'rc = main(["--strict", "--format", "text", {str(f)!r}])\n'
        "print(sorted({'argparse', 'gettext', 'locale', 'signal'} & set(sys.modules)))\n"
        'raise SystemExit(rc)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == '[]'


def test_help_and_errors_still_come_from_argparse(
        capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        lint.main(['--format', 'xml', 'f'])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.splitlines()[-1] == (
        "digestpin-lint: error: argument --format: invalid choice: 'xml' "
        "(choose from 'text', 'json', 'sarif', 'github')"
    )


def test_everything_is_frozen_out_of_the_collector_at_the_process_end(tmp_path: Path) -> None:
    """The interpreter's last collections walk no object (a twentieth of
    fix --source registry's instructions): at exit, after the commands
    a process ran (one exit function however many), every object is
    frozen; in between, nothing stays frozen."""
    f = tmp_path / 'Dockerfile'
    f.write_bytes(b'FROM a:1\n')
    code = (
        'import atexit, gc\n'
        'from digestpin_hooks.lint import main\n'
        'before = atexit._ncallbacks()\n'
        f'main([{str(f)!r}]); main([{str(f)!r}])\n'
        'print(atexit._ncallbacks() - before, gc.get_freeze_count())\n'
        'atexit._run_exitfuncs()\n'
        'print(gc.get_freeze_count() > 1_000, len(gc.get_objects()) < 100)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ['1 0', 'True True']
