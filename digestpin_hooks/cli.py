"""The command-line options the hooks share, and the configuration under them."""
from __future__ import annotations

import sys

from digestpin_hooks.check.findings import RULES
from digestpin_hooks.check.findings import WARNING
from digestpin_hooks.read.kinds import KINDS
from digestpin_hooks.read.kinds import TABLE
from digestpin_hooks.report.formats import FORMATS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from argparse import Namespace as Arguments
    from typing import Callable
    from typing import Sequence
    from typing import TextIO

    from digestpin_hooks.check.findings import Finding
    from digestpin_hooks.model import FileError
else:
    # what common_arguments returns: argparse's Namespace to type checkers
    # (a bag of attributes alike), without importing argparse
    from types import SimpleNamespace as Arguments

DEFAULT_TIMEOUT = 10.0
# --connections: resolve/registry.py's CONNECTIONS_PER_REGISTRY, where the
# measurement behind it is (the lint path does not import resolve/)
DEFAULT_CONNECTIONS = 8
# the codes --strict turns into errors
WARNING_CODES = tuple(code for code, rule in RULES.items() if rule.severity == WARNING)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what pre-commit and CI send to cancel) or SIGHUP (the
    terminal closed): unwinds like ^C, so that a temporary file being
    written is removed and no credential helper is left running."""

    def __init__(self, signum: int, said: str) -> None:
        super().__init__(said)
        self.status = 128 + signum  # as a shell reports a process it ended
        self.said = said


# the signals that end a run, and what its last line says of each (SIGINT
# is ^C: KeyboardInterrupt); SIGHUP is not on every system
_STOPPING = {'SIGTERM': 'terminated', 'SIGINT': 'interrupted', 'SIGHUP': 'hung up'}


def _ignore(signum: int, frame: object) -> None:
    """A signal that came while the run unwinds (_stop)."""


def _ignore_stopping(handler: object) -> None:
    """Handle every signal that ends a run with ``handler`` from now on."""
    import _signal  # type: ignore[import-not-found,unused-ignore]
    for name in _STOPPING:
        number = getattr(_signal, name, None)
        if number is not None:
            _signal.signal(number, handler)


def _stop(signum: int, frame: object) -> None:
    """SIGTERM, ^C (SIGINT) or SIGHUP: the first unwinds the run; another
    one of any while it unwinds (the credential helpers being killed, a
    temporary file removed, the message, the exit) is ignored: raised
    there, it cut that short (a helper off the list of running ones and
    not killed yet was left running) or escaped the run as a traceback.
    A helper started after this (a worker thread's, until the exit) is
    killed with SIGKILL, as every helper is."""
    import _signal  # type: ignore[import-not-found,unused-ignore]
    # a handler that does nothing, not SIG_IGN, until the run has unwound
    # (run): two signals at once (SIGTERM and ^C) are both noted before
    # either handler runs, and the second, found ignored, was Python's
    # "OSError: Signal 15 ignored due to race condition" traceback
    _ignore_stopping(_ignore)
    said = 'terminated'
    for name, words in _STOPPING.items():
        if getattr(_signal, name, None) == signum:
            said = words
    if signum == _signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum, said)


def seconds(text: str) -> float:
    """A --timeout value: a finite number of seconds above 0."""
    try:
        return _seconds(text)
    except ValueError as e:
        import argparse
        raise argparse.ArgumentTypeError(str(e)) from None


def _seconds(text: str) -> float:
    """seconds' check without argparse: ValueError says why not."""
    from digestpin_hooks.config import MAX_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f'not a number: {text!r}') from None
    if not 0 < value <= MAX_TIMEOUT:  # also false for nan
        raise ValueError(f'must be above 0 and at most {MAX_TIMEOUT:g} seconds, not {text!r}')
    return value


def connection_count(text: str) -> int:
    """A --connections value: a whole number from 1 to MAX_CONNECTIONS."""
    try:
        return _connection_count(text)
    except ValueError as e:
        import argparse
        raise argparse.ArgumentTypeError(str(e)) from None


def _connection_count(text: str) -> int:
    """connection_count's check without argparse: ValueError says why not."""
    from digestpin_hooks.config import MAX_CONNECTIONS
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not (
        1 <= int(text) <= MAX_CONNECTIONS
    ):
        raise ValueError(f'must be a whole number from 1 to {MAX_CONNECTIONS}, not {text!r}')
    return int(text)


def formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter without its import of shutil (5 ms a commit)."""
    import argparse
    import os
    width = int(os.environ.get('COLUMNS', '80') or 80) - 2
    return argparse.HelpFormatter(prog, width=max(width, 40))


def parser_for(prog: str, description: str) -> argparse.ArgumentParser:
    import argparse
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=formatter,
    )
    add_version(parser, prog)
    return parser


def add_version(parser: argparse.ArgumentParser, prog: str) -> None:
    from digestpin_hooks import __version__
    parser.add_argument(
        '--version', action='version', version=f'{prog} {__version__}',
    )


def _kinds_in_words() -> str:
    """The table's kinds, as the help lists them: 'A, B and C'."""
    titles = [kind.title for kind in TABLE]
    return ', '.join(titles[:-1]) + ' and ' + titles[-1]


def add_common(parser: argparse.ArgumentParser) -> None:
    import argparse
    parser.add_argument(
        'filenames', nargs='*', metavar='PATH',
        help=f'files ({_kinds_in_words()}), or folders to search (default: '
        'the current one)',
    )
    parser.add_argument(
        '--format', choices=FORMATS, default='text', dest='output_format',
        help='output format (default: text)',
    )
    parser.add_argument(
        '--kind', choices=KINDS, default='auto',
        help='read the files as this kind (default: by their names; other '
        '*.yaml/*.yml files are read as Kubernetes manifests)',
    )
    parser.add_argument(
        '--strict', action=argparse.BooleanOptionalAction, default=None,
        help=f'report warnings ({", ".join(WARNING_CODES)}) as errors',
    )
    parser.add_argument(
        '--allow', action='append', metavar='GLOB',
        help='exempt images whose name matches GLOB (repeatable; adds to '
        'the configuration)',
    )
    parser.add_argument(
        '--ignore', action='append', metavar='CODE',
        help='do not report CODE, in any case (repeatable; adds to the '
        'configuration)',
    )


# options as common_arguments reads them: option -> (dest, what, detail),
# with what FLAG (detail: the value it sets), CHOICE (detail: the values
# allowed), LIST (repeatable: each value appended) or VALUE (detail: the
# argparse type, without argparse: the value, or ValueError);
# each table alike its add_* function (tests/test_cli.py compares them)
FLAG, CHOICE, LIST, VALUE = 'flag', 'choice', 'list', 'value'
if TYPE_CHECKING:
    PlainOptions = dict[str, tuple[str, str, object]]
    # a table and the defaults of its dests
    PlainTable = tuple[PlainOptions, dict[str, object]]
COMMON_OPTIONS: PlainOptions = {
    '--strict': ('strict', FLAG, True), '--no-strict': ('strict', FLAG, False),
    '--format': ('output_format', CHOICE, FORMATS), '--kind': ('kind', CHOICE, KINDS),
    '--allow': ('allow', LIST, None), '--ignore': ('ignore', LIST, None),
}
_COMMON_DEFAULTS = {
    'output_format': 'text', 'kind': 'auto', 'strict': None, 'allow': None,
    'ignore': None,
}


def common_arguments(
        argv: Sequence[str], options: PlainOptions | None = None,
        defaults: dict[str, object] | None = None,
) -> Arguments | None:
    """What add_common's parser (with the parser's other ``options`` and
    their ``defaults``: plain_arguments) makes of ``argv`` when it is
    a line as pre-commit writes one: options spelled out in full (``--kind
    k`` or ``--kind=k``) with valid values, then the file names.  None for
    every other line (help, --version, an abbreviation, an error, an option
    after a file name, a word that starts with '-'), which argparse then
    parses.

    Importing argparse and building its parser (with gettext and locale)
    is about a fifth of a one-file lint's instructions, 2% of fix
    --source registry's; what it would make of these lines is exactly
    this (tests/test_cli.py compares the two)."""
    table = COMMON_OPTIONS if options is None else {**COMMON_OPTIONS, **options}
    values: dict[str, object] = {**_COMMON_DEFAULTS, **(defaults or {})}
    lists: dict[str, list[str]] = {}
    at = 0
    while at < len(argv) and argv[at].startswith('-'):
        option, equals, value = argv[at].partition('=')
        at += 1
        if option not in table:
            return None  # not an option of the parser's, or abbreviated
        dest, what, detail = table[option]
        if what == FLAG:
            if equals:
                return None
            values[dest] = detail
            continue
        if not equals:
            if at == len(argv):
                return None
            value = argv[at]
            at += 1
        if value[:1] in ('', '-'):
            return None  # no value, or one argparse may read otherwise
        if what == LIST:
            lists.setdefault(dest, []).append(value)
        elif what == CHOICE and value in detail:  # type: ignore[operator]
            values[dest] = value
        elif what == VALUE:
            try:
                values[dest] = detail(value)  # type: ignore[operator]
            except ValueError:
                return None  # argparse says why
        else:
            return None  # not a valid choice: argparse says why
    names = list(argv[at:])
    if any(name[:1] in ('', '-') for name in names):
        return None
    values.update(lists)
    return Arguments(filenames=names, **values)


def daemon_options(sources: Sequence[str]) -> PlainTable:
    """add_daemon's options and defaults, as common_arguments reads them."""
    return {
        '--source': ('source', CHOICE, tuple(sources)),
        '--docker-host': ('docker_host', VALUE, str),
        '--timeout': ('timeout', VALUE, _seconds),
        '--connections': ('connections', VALUE, _connection_count),
        '--insecure-registry': ('insecure_registries', LIST, None),
        '--trust-root': ('trust_root', VALUE, str),
    }, {
        'source': None, 'docker_host': None, 'timeout': None, 'connections': None,
        'insecure_registries': None, 'trust_root': None,
        'default_source': sources[0], 'sources': tuple(sources),
    }


def plain_arguments(
        argv: Sequence[str], plain: Sequence[PlainTable] = (),
) -> Arguments | None:
    """common_arguments with add_common's options and those of ``plain``."""
    options: PlainOptions = {}
    defaults: dict[str, object] = {}
    for more, their_defaults in plain:
        options.update(more)
        defaults.update(their_defaults)
    return common_arguments(argv, options, defaults)


def dry_run_options() -> PlainTable:
    """add_dry_run's option and default."""
    return {'--dry-run': ('dry_run', FLAG, True)}, {'dry_run': False}


def rewrite_options() -> PlainTable:
    """add_rewrite's options and defaults (add_dry_run's with them)."""
    options, defaults = dry_run_options()
    return {
        '--keep-tag': ('keep_tag', FLAG, True), '--no-keep-tag': ('keep_tag', FLAG, False),
        **options,
    }, {'keep_tag': None, **defaults}


def add_daemon(parser: argparse.ArgumentParser, sources: Sequence[str]) -> None:
    """--source (``sources``, the first the default), --docker-host,
    --timeout, --connections, --insecure-registry and --trust-root."""
    from digestpin_hooks.config import MAX_CONNECTIONS
    default = sources[0]
    parser.add_argument(
        '--source', choices=sources,
        help=f'where digests come from (default: {default})',
    )
    parser.set_defaults(default_source=default, sources=tuple(sources))
    parser.add_argument(
        '--docker-host', metavar='URL',
        help='the daemon to ask (default: as the docker CLI finds it)',
    )
    parser.add_argument(
        '--timeout', type=seconds, metavar='SECONDS',
        help=f'seconds allowed, whole answers included: with --source '
        f'registry, for all of the run\'s registry requests together; with a '
        f'daemon source, for each daemon call (default: {DEFAULT_TIMEOUT:g})',
    )
    parser.add_argument(
        '--connections', type=connection_count, metavar='N',
        help=f'with --source registry, at most N connections to each registry '
        f'at once (1 to {MAX_CONNECTIONS}; default: {DEFAULT_CONNECTIONS})',
    )
    parser.add_argument(
        '--insecure-registry', action='append', metavar='HOST[:PORT]',
        dest='insecure_registries',
        help='a registry that may be asked over plain HTTP with --source '
        'registry (repeatable; loopback registries always may)',
    )
    parser.add_argument(
        '--trust-root', metavar='FILE',
        help='a Sigstore trusted_root.json for keyless trust rules and the '
        'log keys of tlog = true (default: the public-good root the sigstore '
        'package ships; never fetched)',
    )


def add_dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print a unified diff and write nothing',
    )


def add_rewrite(parser: argparse.ArgumentParser) -> None:
    import argparse
    parser.add_argument(
        '--keep-tag', action=argparse.BooleanOptionalAction, default=None,
        help='write name:tag@digest (default) or, with --no-keep-tag, '
        'name@digest',
    )
    add_dry_run(parser)


def apply_config(args: argparse.Namespace) -> None:
    """Fill what the command line left open from the configuration file."""
    from digestpin_hooks.config import load_config
    from digestpin_hooks.check.findings import RULES
    config = load_config().values
    args.strict = args.strict if args.strict is not None else config.get('strict', False)
    args.allow = [*config.get('allow', ()), *(args.allow or ())]
    # codes in any case, as in pragmas: dp001 is DP001
    given = [*config.get('ignore', ()), *(args.ignore or ())]
    args.ignore = [code.upper() for code in given]
    unknown = [code for code in given if code.upper() not in RULES]
    if unknown:
        from digestpin_hooks.config import ConfigError
        raise ConfigError(f'--ignore: unknown code {unknown[0]!r}')
    if hasattr(args, 'keep_tag') and args.keep_tag is None:
        args.keep_tag = config.get('keep_tag', True)
    if hasattr(args, 'default_source'):
        if args.source is None:
            source = config.get('source', args.default_source)
            if source not in args.sources:
                source = args.default_source
            args.source = source
        # the daemon and the plain-HTTP registries are the command line's
        # (config.MACHINE_KEYS): they choose where registry logins go
        args.insecure_registries = list(args.insecure_registries or ())
        args.trust = config.get('trust', ())
        if args.trust_root is None:
            args.trust_root = config.get('trust_root', '')
        if args.timeout is None:
            args.timeout = config.get('timeout', DEFAULT_TIMEOUT)
        if args.timeout <= 0:
            from digestpin_hooks.config import ConfigError
            raise ConfigError('--timeout must be above 0')
        if args.connections is None:
            args.connections = config.get('connections', DEFAULT_CONNECTIONS)


_freezes_at_exit = False  # run() has asked for gc.freeze at exit


def run(
        prog: str,
        command: Callable[[argparse.Namespace], int],
        args: argparse.Namespace,
) -> int:
    try:
        # the C module under signal: signal's own import builds enums of
        # every signal and handler (3% of a one-file lint's instructions)
        import _signal as signal  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # an interpreter without it
        import signal  # type: ignore[no-redef,unused-ignore]

    # a signal is the run's to report from the moment its handler is set:
    # one while the configuration was read (a pyproject.toml of a megabyte
    # parses for a second) escaped as a traceback
    try:
        try:
            for name in _STOPPING:
                number = getattr(signal, name, None)
                # one ignored by whoever started us (nohup, a background job
                # of a shell) stays ignored, as Python itself leaves SIGINT
                if number is not None and signal.getsignal(number) != signal.SIG_IGN:
                    signal.signal(number, _stop)
        except ValueError:
            pass  # not the main thread (a test): signals keep their handlers
        return _configured_run(prog, command, args)
    except Terminated as e:
        _ignored_from_now()
        _last_word(f'{prog}: {e.said}')
        return e.status
    except KeyboardInterrupt:
        _ignored_from_now()
        _last_word(f'{prog}: interrupted')
        return 130


def _ignored_from_now() -> None:
    """Once the run has unwound, the signals that end a run are SIG_IGN:
    the interpreter's end sets a Python handler (_ignore) back to the
    default action, and a second SIGTERM then killed the process (status
    -15, not 143).  A second signal noted with the first has been handled
    by now, by _ignore, at the first instruction after _stop."""
    import _signal  # type: ignore[import-not-found,unused-ignore]
    try:
        _ignore_stopping(_signal.SIG_IGN)
    except ValueError:
        pass  # not the main thread (a test): signals keep their handlers


def _last_word(line: str) -> None:
    """Say why the run ended, where stderr may be gone (a closed terminal
    whose SIGHUP ended it: EIO), without a traceback either way; never on
    stdout (``sys.stderr`` is None when fd 2 was closed at the start, and
    print(file=None) prints to stdout, which carries a json report)."""
    stderr = sys.stderr
    try:
        if stderr is not None:
            print(line, file=stderr)
    except OSError:
        pass


def _stdout_gone() -> None:
    """Point stdout at /dev/null, so that the flush at exit of what is
    left in its buffer does not fail again (Python's own word for it)."""
    import os
    try:
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):
        return  # no descriptor of its own (a test's capture)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _configured_run(
        prog: str,
        command: Callable[[argparse.Namespace], int],
        args: argparse.Namespace,
) -> int:
    from digestpin_hooks.config import ConfigError
    from digestpin_hooks.text import printable
    try:
        apply_config(args)
    except ConfigError as e:
        print(printable(f'{prog}: error: {e}'), file=sys.stderr)
        return 2
    import gc
    # a command builds a node per YAML value or Dockerfile line, all alive
    # until it ends, and the cyclic collector's passes over them grew with
    # everything made before: 100k Kustomize images took 16-18 times as long
    # as 10k, 100k FROM stages 11-12 times with its threshold raised a
    # hundredfold, 9.6-9.8 with it off.  A command makes next to no cyclic
    # garbage (38 objects for the 2,960 files of the Dockerfile corpus), and
    # reference counting frees the rest, so the collector is off while it
    # runs (as Mercurial's nogc does for its large builds)
    was_enabled = gc.isenabled()
    gc.disable()
    # and at the process's end everything is frozen (atexit runs before the
    # interpreter's last collections): its memory is freed all the same,
    # without the collector walking every object of every module first, 21
    # million instructions of fix --source registry's 415 (callgrind).
    # Once a process, however many commands a caller runs in it
    global _freezes_at_exit
    if not _freezes_at_exit:
        import atexit
        atexit.register(gc.freeze)
        _freezes_at_exit = True
    try:
        return command(args)
    except BrokenPipeError:
        # its reader gone (``| head -1``): no bug of ours, but the report
        # did not reach it
        _stdout_gone()
        _last_word(f'{prog}: stdout is closed (broken pipe): the report was cut short')
        return 2
    except Exception as e:
        # a bug of ours: one line, not a traceback (DIGESTPIN_DEBUG=1 shows it)
        import os
        if os.environ.get('DIGESTPIN_DEBUG'):
            raise
        message = ' '.join(str(e).split())[:300]
        print(printable(
            f'{prog}: internal error: {type(e).__name__}: {message} (run with '
            f'DIGESTPIN_DEBUG=1 for details, and please report it)',
        ), file=sys.stderr)
        return 2
    finally:
        if was_enabled:
            gc.enable()


def reported(findings: Sequence[Finding], errors: Sequence[FileError], output_format: str) -> int:
    """Report findings and errors, and return the exit status they make."""
    from digestpin_hooks.report.formats import report
    report(findings, errors, output_format)
    return exit_status(findings, errors)


def exit_status(findings: Sequence[Finding], errors: Sequence[FileError]) -> int:
    """2 when a file could not be handled (a file skipped on purpose aside),
    1 for an error-severity finding, else 0: one policy for every hook."""
    from digestpin_hooks.model import failures
    if failures(errors):
        return 2
    return int(any(f.severity == 'error' for f in findings))


def main_for(
        prog: str,
        description: str,
        add_arguments: Callable[[argparse.ArgumentParser], None],
        command: Callable[[argparse.Namespace], int],
        argv: Sequence[str] | None,
        *,
        common_only: bool = False,
        plain: Sequence[PlainTable] = (),
) -> int:
    """A hook's ``main``: its parser, then ``run`` with the shared
    configuration, signal and error handling.  A hook whose options are
    add_common's alone (``common_only``), or add_common's and the tables
    of ``plain`` (the hook's other add_* functions, as daemon_options and
    rewrite_options give them), reads a plain command line without
    argparse (common_arguments)."""
    if common_only or plain:
        args = plain_arguments(sys.argv[1:] if argv is None else argv, plain)
        if args is not None:
            return run(prog, command, args)
    parser = parser_for(prog, description)
    add_arguments(parser)
    return run(prog, command, parser.parse_args(argv))


def diff_stream(output_format: str) -> TextIO:
    """Where --dry-run's diff goes: stdout in text, stderr in the other
    formats, whose stdout is exactly one document (or workflow commands)."""
    return sys.stdout if output_format == 'text' else sys.stderr
