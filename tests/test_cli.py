"""cli: the command line a hook without its own options reads without
argparse is read exactly as argparse reads it; every other line is left to
argparse."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digestpin_hooks import cli
from digestpin_hooks import lint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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



@pytest.mark.parametrize('enabled_before', (True, False))
def test_the_collector_is_off_while_a_command_runs_and_as_it_was_after(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, enabled_before: bool,
) -> None:
    """The cyclic collector's passes over a large file's nodes made its lint
    grow faster than its input (issue 22's growth row): a command runs with
    it off, and leaves it as the caller had it, on or off, even when the
    command fails."""
    import gc
    seen: list[bool] = []

    def command(_args: object) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError('a bug of ours')

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lint, 'run', command)
    if not enabled_before:
        gc.disable()
    try:
        assert lint.main(['Dockerfile']) == 2
        assert (seen, gc.isenabled()) == ([False], enabled_before)
    finally:
        gc.enable()


def test_a_gitlab_file_leaves_no_cyclic_garbage_with_the_collector_off(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """With the collector off while a command runs, a cycle a file's reading
    made is never freed: a GitLab file's jobs (extends merged, variables
    expanded) each left one, which held the file's scalars and merged jobs
    for the rest of the run (300 such files: 311 MB peak against 113 MB
    with the collector on).  Nothing of ours is left to the collector."""
    import gc
    (tmp_path / '.gitlab-ci.yml').write_text(
        'variables:\n  A: "${B:-x}"\n  C: "$A/img:1"\n'
        '.base: {image: "$C", variables: {D: "1"}}\n'
        + ''.join(f'job{i}:\n  extends: .base\n  variables: {{A: "r{i}"}}\n' for i in range(20)),
    )
    monkeypatch.chdir(tmp_path)
    lint.main(['.gitlab-ci.yml'])  # the modules it imports, imported
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        lint.main(['.gitlab-ci.yml'])
        gc.collect()
        ours = sorted({
            getattr(o, '__qualname__', '') if callable(o) else type(o).__qualname__
            for o in gc.garbage
            if (getattr(getattr(o, '__code__', None), 'co_filename', '') or
                getattr(type(o), '__module__', '')).replace(os.sep, '.').find('digestpin_hooks') >= 0
        })
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    capsys.readouterr()
    assert ours == []


def test_failed_connections_leave_no_cyclic_garbage_with_the_collector_off(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A connection refused left its error, whose traceback held the frames
    that held it, a cycle for the collector, off while a command runs: every
    failed reference's frames (and the connection) stayed to the end of
    the run (3,000 of them: 47 MB peak against 31 MB with it on).  What is
    left to the collector does not grow with the references asked."""
    import gc
    import socket
    closed = socket.socket()  # bound, never listening: connections refused
    closed.bind(('127.0.0.1', 0))
    host = f'127.0.0.1:{closed.getsockname()[1]}'
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path))  # no login to look up
    monkeypatch.setenv('HOME', str(tmp_path))

    def left_after(references: int) -> int:
        (tmp_path / 'Dockerfile').write_text(''.join(
            f'FROM {host}/img{i}:1 AS s{i}\n' for i in range(references)
        ))
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            fix.main([
                '--source', 'registry', '--insecure-registry', host, '--dry-run', 'Dockerfile',
            ])
            gc.collect()
            return sum(
                1 for o in gc.garbage
                if 'digestpin_hooks' in getattr(getattr(o, '__code__', None), 'co_filename', '')
                or 'digestpin_hooks' in getattr(getattr(o, 'f_code', None), 'co_filename', '')
                or getattr(type(o), '__module__', '').startswith('digestpin_hooks')
            )
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    try:
        left_after(1)  # the modules it imports, imported
        few, many = left_after(2), left_after(20)
    finally:
        closed.close()
    capsys.readouterr()
    assert many == few


# fix, update and verify: their add_* options read by the same rule
from digestpin_hooks import fix  # noqa: E402
from digestpin_hooks import update  # noqa: E402
from digestpin_hooks import verify  # noqa: E402

HOOKS = {'fix': fix, 'update': update, 'verify': verify}


def parsed_by_hook(hook: str, argv: list[str]) -> dict[str, object]:
    module = HOOKS[hook]
    parser = cli.parser_for(module.PROG, module.DESCRIPTION)
    module.add_arguments(parser)
    return vars(parser.parse_args(argv))


DAEMON_PLAIN = [
    [],
    ['Dockerfile'],
    ['--source', 'registry', 'f'],
    ['--source=local', '--source', 'registry'],
    ['--timeout', '2.5', '--connections', '4', 'f'],
    ['--timeout=1e1', '--connections=16', '--timeout', ' 3', 'f'],
    ['--timeout', '3600', '--connections', '08'],
    ['--docker-host', 'unix:///run/d.sock', '--docker-host=tcp://a:2375', 'f'],
    ['--insecure-registry', 'a:5000', '--insecure-registry=b', 'f'],
    ['--trust-root', 'root.json', '--strict', '--format', 'json', 'f'],
    ['--allow', 'x', '--ignore', 'dp003', '--kind', 'compose', '--source', 'registry', 'f'],
]
HOOK_PLAIN = {
    'fix': [['--dry-run', 'f'], ['--keep-tag', '--no-keep-tag', '--dry-run'], ['--no-keep-tag', 'f']],
    'update': [['--dry-run', 'f'], ['--dry-run', '--source', 'pull', 'f']],
    'verify': [['--offline-ok', 'f'], ['--verbose', '--offline-ok', '--source', 'local', 'f']],
}
DAEMON_OTHER = [
    ['--timeout', '0', 'f'], ['--timeout', 'nan'], ['--timeout=inf'], ['--timeout', '3601'],
    ['--timeout', 'x'], ['--timeout', '-1', 'f'], ['--timeout='], ['--timeout'],
    ['--connections', '0'], ['--connections', '17'], ['--connections', '1.0'],
    ['--connections', '²'], ['--connections=00004'], ['--connections', ' 4'],
    ['--source', 'nope', 'f'], ['--source'], ['--sour', 'registry'], ['--docker-host', '-H'],
    ['--insecure-registry'], ['--dry', 'f'], ['--dry-run=yes', 'f'], ['--keep-tag=no'],
    ['f', '--dry-run'], ['--offline'], ['--verbose=1'], ['-h'], ['--version'],
]


@pytest.mark.parametrize('hook', sorted(HOOKS))
def test_a_plain_line_of_each_hook_is_read_as_its_parser_reads_it(hook: str) -> None:
    module = HOOKS[hook]
    for argv in PLAIN + DAEMON_PLAIN + HOOK_PLAIN[hook]:
        args = cli.plain_arguments(argv, module.PLAIN)
        assert args is not None, argv
        assert vars(args) == parsed_by_hook(hook, argv), argv


@pytest.mark.parametrize('hook', sorted(HOOKS))
def test_any_other_line_of_each_hook_is_left_to_argparse(hook: str) -> None:
    module = HOOKS[hook]
    for argv in OTHER + DAEMON_OTHER:
        if argv in HOOK_PLAIN[hook]:
            continue
        plain = cli.plain_arguments(argv, module.PLAIN)
        assert plain is None, argv


@pytest.mark.parametrize('hook', sorted(HOOKS))
def test_every_short_line_of_each_hook_read_without_argparse_reads_as_argparse_reads_it(
        hook: str, capsys: pytest.CaptureFixture[str],
) -> None:
    module = HOOKS[hook]
    words = [
        'f', '-', '', '--dry-run', '--keep-tag', '--offline-ok', '--source',
        'registry', '--timeout', '0', '2', '--connections', '17', '--connections=3',
        '--insecure-registry', '--strict', '--dry',
    ]
    plain = 0
    for size in range(4):
        for argv in itertools.product(words, repeat=size):
            args = cli.plain_arguments(list(argv), module.PLAIN)
            if args is None:
                continue
            plain += 1
            assert vars(args) == parsed_by_hook(hook, list(argv)), argv
    assert plain == {'fix': 566, 'update': 438, 'verify': 438}[hook]
    assert capsys.readouterr() == ('', '')


def test_fix_of_a_plain_line_imports_no_argparse(tmp_path: Path) -> None:
    # argparse, its parser and gettext: 2% of fix --source registry's
    # instructions, before its first request
    f = tmp_path / 'Dockerfile'
    f.write_bytes(b'FROM a:1@sha256:' + b'a' * 64 + b'\n')
    code = (
        'import sys\n'
        'from digestpin_hooks.fix import main\n'
        f'rc = main(["--source", "registry", "--timeout", "5", "--dry-run", {str(f)!r}])\n'
        "print(sorted({'argparse', 'gettext'} & set(sys.modules)))\n"
        'raise SystemExit(rc)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == '[]'


def table_of(parser: object) -> dict[str, tuple[str, str, object]]:
    """Each long option of an argparse parser as common_arguments' tables
    spell it: (dest, FLAG and the value it stores, CHOICE and the choices,
    LIST, or VALUE and the type)."""
    import argparse
    table: dict[str, tuple[str, str, object]] = {}
    for action in parser._actions:  # type: ignore[attr-defined]
        for option in action.option_strings:
            if not option.startswith('--') or option == '--help' or option == '--version':
                continue
            if isinstance(action, argparse.BooleanOptionalAction):
                table[option] = (action.dest, cli.FLAG, not option.startswith('--no-'))
            elif isinstance(action, (argparse._StoreConstAction, argparse._StoreTrueAction,
                                     argparse._StoreFalseAction)):
                table[option] = (action.dest, cli.FLAG, action.const)
            elif isinstance(action, argparse._AppendAction):
                table[option] = (action.dest, cli.LIST, None)
            elif action.choices is not None:
                table[option] = (action.dest, cli.CHOICE, tuple(action.choices))
            else:  # its check, which the table calls without argparse's wrapper
                table[option] = (action.dest, cli.VALUE, _check_name(action.type or str))
    return table


def _check_name(check: object) -> str:
    """``seconds`` for argparse's ``seconds`` and the tables' ``_seconds``
    (the same check, raising ValueError instead of argparse's error)."""
    return str(getattr(check, '__name__', check)).lstrip('_')


@pytest.mark.parametrize('hook', ['lint', *sorted(HOOKS)])
def test_each_hooks_table_names_its_parsers_options_alike(hook: str) -> None:
    """The tables read a plain line without argparse: an option the parser
    lacks would be taken without argparse's refusal, one the table lacks
    (or reads otherwise) would be read otherwise; every option, its dest,
    its kind and its choices or type agree."""
    module = lint if hook == 'lint' else HOOKS[hook]
    parser = cli.parser_for(module.PROG, module.DESCRIPTION)
    module.add_arguments(parser)
    tables = (cli.COMMON_OPTIONS, *(options for options, _ in getattr(module, 'PLAIN', ())))
    ours = {
        option: (dest, what, _check_name(detail) if what == cli.VALUE else detail)
        for table in tables for option, (dest, what, detail) in table.items()
    }
    assert ours == table_of(parser)


@pytest.mark.parametrize(('number', 'status', 'said'), [
    ('SIGTERM', 143, 'digestpin-lint: terminated'),
    ('SIGINT', 130, 'digestpin-lint: interrupted'),
])
def test_a_signal_while_the_configuration_is_read_ends_in_one_line(
        tmp_path: Path, number: str, status: int, said: str,
) -> None:
    """SIGTERM or ^C while the configuration file is read (a pyproject.toml
    of a megabyte takes a second to parse): the run's handler was set, and
    what it raised came before the run's own handling of it, so it
    escaped as a traceback, exit status 1."""
    (tmp_path / '.git').mkdir()
    (tmp_path / 'pyproject.toml').write_text('[tool.digestpin]\nstrict = true\n')
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    code = (
        'import os, signal\n'
        'from digestpin_hooks import config, lint\n'
        'read = config._read\n'
        'def read_then_signal(path):\n'
        f'    os.kill(os.getpid(), signal.{number})\n'
        '    return read(path)\n'
        'config._read = read_then_signal\n'
        "raise SystemExit(lint.main(['Dockerfile']))\n"
    )
    result = subprocess.run(
        (sys.executable, '-c', code), capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert (result.returncode, result.stderr.splitlines()) == (status, [said])


def _console_entries() -> dict[str, str]:
    """setup.cfg's console scripts: name -> 'module:function'."""
    import configparser
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, 'setup.cfg'))
    lines = config['options.entry_points']['console_scripts'].strip().splitlines()
    return {name.strip(): target.strip() for name, target in (line.split('=') for line in lines)}


@pytest.mark.parametrize('script', sorted(_console_entries()))
def test_a_ctrl_c_while_a_console_script_imports_its_hook_ends_in_one_line(
        tmp_path: Path, script: str,
) -> None:
    """^C before the run has set its handlers (the hook's modules being
    imported, up to 45 ms into a registry run) met Python's own handler:
    a KeyboardInterrupt traceback.  The script is run as pip writes it
    (import the entry, call it), the ^C sent while a module every hook
    needs is imported."""
    module, function = _console_entries()[script].split(':')
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    code = (
        'import os, signal, sys\n'
        'def interrupt(event, arguments):\n'
        "    if event == 'import' and arguments[0] == 'digestpin_hooks.check.findings':\n"
        '        os.kill(os.getpid(), signal.SIGINT)\n'
        'sys.addaudithook(interrupt)\n'
        f'from {module} import {function}\n'
        f'sys.argv = [{script!r}, *sys.argv[1:]]\n'
        f'sys.exit({function}())\n'
    )
    words = ['lint', 'Dockerfile'] if script == 'digestpin' else ['Dockerfile']
    result = subprocess.run(
        (sys.executable, '-c', code, *words), capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert (result.returncode, result.stderr.splitlines()) == (130, [f'{script}: interrupted'])


@pytest.mark.parametrize('moment', ('import', 'run'))
def test_a_ctrl_c_with_stderr_closed_says_nothing_on_stdout(
        tmp_path: Path, moment: str,
) -> None:
    """Started with fd 2 closed (``2>&-``), Python's sys.stderr is None,
    and print(file=None) prints to stdout: a ^C while the hook is imported
    (console.py) or while it runs (cli.run) put 'digestpin-lint:
    interrupted' into stdout, where --format json promises one document.
    Now nothing is said, and the status is 130."""
    (tmp_path / '.git').mkdir()
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    code = (
        'import os, signal, sys\n'
        'def interrupt(event, arguments):\n'
        f"    if event == 'import' and arguments[0] == 'digestpin_hooks.check.findings' and {moment == 'import'}:\n"
        '        os.kill(os.getpid(), signal.SIGINT)\n'
        'sys.addaudithook(interrupt)\n'
        'from digestpin_hooks.console import lint\n'
        f"if {moment == 'run'}:\n"
        '    from digestpin_hooks import config\n'
        '    read = config._read\n'
        '    def read_then_signal(path):\n'
        '        os.kill(os.getpid(), signal.SIGINT)\n'
        '        return read(path)\n'
        '    config._read = read_then_signal\n'
        "    (open('pyproject.toml', 'w').write('[tool.digestpin]\\nstrict = true\\n'))\n"
        "sys.argv = ['digestpin-lint', '--format', 'json', 'Dockerfile']\n"
        'sys.exit(lint())\n'
    )
    result = subprocess.run(  # (the shell closes fd 2, then is Python)
        ('sh', '-c', 'exec "$0" -c "$1" 2>&-', sys.executable, code),
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert (result.returncode, result.stdout) == (130, '')


def test_a_ctrl_c_while_python_m_imports_the_hooks_ends_in_one_line(tmp_path: Path) -> None:
    """``python -m digestpin_hooks`` (promised, as the console scripts are)
    imported every hook at the top of __main__, outside console.py's
    guard: a ^C then was a KeyboardInterrupt traceback, status 1.  The ^C
    is sent by a sitecustomize's audit hook while a module every hook
    needs is imported, the interpreter started as ``-m`` starts it."""
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text(
        'import os, signal, sys\n'
        'def interrupt(event, arguments):\n'
        "    if event == 'import' and arguments[0] == 'digestpin_hooks.check.findings':\n"
        '        os.kill(os.getpid(), signal.SIGINT)\n'
        'sys.addaudithook(interrupt)\n',
    )
    result = subprocess.run(
        (sys.executable, '-m', 'digestpin_hooks', 'lint', 'Dockerfile'),
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, 'PYTHONPATH': os.pathsep.join((str(site), ROOT))},
    )
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
        130, '', ['digestpin: interrupted'],
    )


@pytest.mark.parametrize(('number', 'status', 'said'), [
    ('SIGTERM', 143, 'digestpin-lint: terminated'),
    ('SIGHUP', 129, 'digestpin-lint: hung up'),
    ('SIGINT', 130, 'digestpin-lint: interrupted'),
])
def test_a_signal_after_the_run_returned_says_what_it_was(
        tmp_path: Path, number: str, status: int, said: str,
) -> None:
    """The run's handlers stay set once it returns: a SIGTERM then (what
    pre-commit and CI send to cancel) raised the run's Terminated outside
    its handling, and console.py, catching it as the KeyboardInterrupt it
    is, said 'interrupted', status 130."""
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    code = (
        'import os, signal, sys\n'
        'from digestpin_hooks.console import lint\n'
        'from digestpin_hooks import cli\n'
        'run = cli.run\n'
        'def run_then_signal(*arguments):\n'
        '    status = run(*arguments)\n'
        f'    os.kill(os.getpid(), signal.{number})\n'
        '    return status\n'
        'cli.run = run_then_signal\n'
        "sys.argv = ['digestpin-lint', 'Dockerfile']\n"
        'sys.exit(lint())\n'
    )
    result = subprocess.run(
        (sys.executable, '-c', code), capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert (result.returncode, result.stderr.splitlines()) == (
        status, ['summary: 1 finding (DP001 1) in 1 file', said],
    )


@pytest.mark.parametrize('output_format', ('text', 'json', 'sarif', 'github'))
@pytest.mark.parametrize('held', (False, True))
def test_a_report_to_a_closed_pipe_is_one_line_and_status_2(
        tmp_path: Path, output_format: str, held: bool,
) -> None:
    """stdout a pipe whose reader is gone (``| head -1`` once head has its
    line): one line that says so, status 2 (the report did not reach its
    reader), nothing at exit.  ``held``: two Compose files, one extending
    the other, so that lint holds the text report to the end of the run.
    On main: 'internal error: BrokenPipeError ... please report it'."""
    files = ['Dockerfile']
    (tmp_path / '.git').mkdir()
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    if held:
        (tmp_path / 'other').mkdir()
        (tmp_path / 'compose.yaml').write_bytes(b'services:\n  x:\n    image: a:1\n')
        (tmp_path / 'other' / 'compose.yaml').write_bytes(
            b'services:\n  web:\n    extends: {file: ../compose.yaml, service: x}\n'
            b'    build: .\n',
        )
        files = ['compose.yaml', 'Dockerfile', 'other/compose.yaml']
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            (sys.executable, '-m', 'digestpin_hooks', 'lint', '--format', output_format, *files),
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, 'PYTHONPATH': ROOT},
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr.splitlines()) == (
        2, ['digestpin-lint: stdout is closed (broken pipe): the report was cut short'],
    )


@pytest.mark.parametrize(('sent', 'status', 'said'), [
    ('SIGTERM', 143, 'terminated'),
    ('SIGHUP', 129, 'hung up'),
])
@pytest.mark.parametrize('script', ('digestpin-fix', 'digestpin'))
def test_any_signal_while_a_console_script_imports_its_hook_ends_in_one_line(
        tmp_path: Path, script: str, sent: str, status: int, said: str,
) -> None:
    """SIGTERM or SIGHUP (what CI and pre-commit send to cancel, a closed
    terminal) before the run has set its handlers, while the hook's modules
    are imported (up to 130 ms into ``python -m digestpin_hooks fix``): only
    ^C had a handler there, and the process was killed by the signal, with
    no line (status -15, -1)."""
    module, function = _console_entries()[script].split(':')
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    code = (
        'import os, signal, sys\n'
        'def interrupt(event, arguments):\n'
        "    if event == 'import' and arguments[0] == 'digestpin_hooks.check.findings':\n"
        f'        os.kill(os.getpid(), signal.{sent})\n'
        'sys.addaudithook(interrupt)\n'
        f'from {module} import {function}\n'
        f'sys.argv = [{script!r}, *sys.argv[1:]]\n'
        f'sys.exit({function}())\n'
    )
    words = ['fix', 'Dockerfile'] if script == 'digestpin' else ['Dockerfile']
    result = subprocess.run(
        (sys.executable, '-c', code, *words), capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert (result.returncode, result.stderr.splitlines()) == (status, [f'{script}: {said}'])
    assert (tmp_path / 'Dockerfile').read_bytes() == b'FROM a:1\n'


@pytest.mark.parametrize('number', ('SIGTERM', 'SIGHUP', 'SIGINT'))
def test_a_signal_once_the_console_script_returned_changes_nothing(
        tmp_path: Path, number: str,
) -> None:
    """A signal between the entry point's return and the exit (the
    console script's ``sys.exit(lint())``) met the run's handler, whose
    exception escaped every handling: a traceback and status 1.  The run
    is over: its report and status stand."""
    (tmp_path / 'Dockerfile').write_bytes(b'FROM a:1\n')
    code = (
        'import os, signal, sys\n'
        'from digestpin_hooks.console import lint\n'
        "sys.argv = ['digestpin-lint', 'Dockerfile']\n"
        'status = lint()\n'
        f'os.kill(os.getpid(), signal.{number})\n'
        'sys.exit(status)\n'
    )
    result = subprocess.run(
        (sys.executable, '-c', code), capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert (result.returncode, result.stderr.splitlines()) == (
        1, ['summary: 1 finding (DP001 1) in 1 file'],
    )


def test_python_m_imports_no_module_of_the_current_folder(tmp_path: Path) -> None:
    """``python -m`` puts the current folder first on ``sys.path`` (unless
    ``-P``), before the standard library and the installed packages: every
    module the hooks import on first use (``yaml`` for a Compose file,
    ``json``, ``ssl``, ``http``, ``subprocess`` for a registry, the docker
    SDK) was the checkout's own ``yaml.py`` or ``json.py`` when the run
    was started in the checkout, as CI starts it, and ran its code.  The
    console scripts' folder is their own; ``python -m digestpin_hooks`` now
    leaves the current folder off ``sys.path`` as it starts, as ``-P``
    would."""
    ran = tmp_path / 'ran'
    checkout = tmp_path / 'checkout'
    checkout.mkdir()
    for name in ('yaml', 'json', 'base64', 'hashlib', 'ssl', 'socket', 'select', 'http',
                 'subprocess', 'signal', 'zlib', 'ipaddress', 'email', 'docker', 'requests'):
        (checkout / f'{name}.py').write_text(f'open({str(ran)!r}, "a").write({name!r} + " ")\n')
    (checkout / 'compose.yaml').write_text('services:\n  web:\n    image: nginx:1\n')
    (checkout / 'Dockerfile').write_text('FROM 127.0.0.1:1/team/app:1@sha256:' + 'a' * 64 + '\n')
    outcomes = []
    for command in (('lint', 'compose.yaml'), ('verify', '--source', 'registry', '--timeout', '2', 'Dockerfile')):
        result = subprocess.run(
            (sys.executable, '-m', 'digestpin_hooks', *command),
            capture_output=True, text=True, cwd=checkout,
            env={**os.environ, 'PYTHONPATH': ROOT, 'HOME': str(tmp_path)},
        )
        outcomes.append((result.returncode, result.stdout.splitlines(), result.stderr.splitlines()))
    assert not ran.exists(), ran.read_text()
    assert outcomes == [
        (1, [
            "compose.yaml:3:12: DP001 'nginx:1' is not pinned to a digest: tag '1' can move; "
            'pin it with digestpin-fix (nginx:1@sha256:<digest>)',
        ], ['summary: 1 finding (DP001 1) in 1 file']),
        (2, [], ['digestpin-verify: error: cannot connect to 127.0.0.1:1: no registry could be reached']),
    ]
