"""The console scripts' entry points: each imports its hook and runs it.

A run sets its signal handlers (``cli.run``) only once its hook's modules
are imported, 20 to 45 ms into the process (the registry's path imports
http.client and ssl).  A ^C before that met Python's own handler, whose
KeyboardInterrupt came out of the import as a traceback.  Nothing has been
read, written or started by then, so there is nothing to undo: the run
ends as an interrupted run ends, in one line with status 130.  The entry
points are here, not on each hook's ``main``, because the console script
imports the module it names before it calls anything.
"""
from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable


# the signals that end a run, what the run says of each, and its status
_ENDING = (('SIGINT', 'interrupted', 130), ('SIGTERM', 'terminated', 143), ('SIGHUP', 'hung up', 129))


class _Ended(KeyboardInterrupt):
    """A SIGTERM or SIGHUP before the run set its handlers (_early)."""

    def __init__(self, said: str, status: int) -> None:
        super().__init__(said)
        self.said = said
        self.status = status


def _nothing(signum: int, frame: object) -> None:
    """A signal once one has ended the run, or once it has returned."""


def _handled_by(handler: object) -> None:
    """Every signal that ends a run handled by ``handler`` from now on;
    not one ignored by whoever started us (nohup), as cli.run leaves it."""
    import _signal  # type: ignore[import-not-found,unused-ignore]
    for name, _, _ in _ENDING:
        number = getattr(_signal, name, None)
        if number is not None and _signal.getsignal(number) != _signal.SIG_IGN:
            _signal.signal(number, handler)


def _early(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP before cli.run sets its handlers: it killed the
    process (status -15 or -1, no line), as ^C met Python's own handler."""
    import _signal  # type: ignore[import-not-found,unused-ignore]
    _handled_by(_nothing)  # another one at once: no second exception
    for name, said, status in _ENDING:
        if getattr(_signal, name, None) == signum:
            raise _Ended(said, status)
    raise _Ended('terminated', 143)


def _over() -> None:
    """The run is over (returned, or said why it ended): a signal from now
    to the exit changes nothing.  A handler that does nothing first, which
    the signals noted meanwhile run (signal.signal runs them before it
    sets one), then SIG_IGN, which the interpreter's end keeps."""
    import _signal  # type: ignore[import-not-found,unused-ignore]
    try:
        _handled_by(_nothing)
        _handled_by(_signal.SIG_IGN)
    except ValueError:
        pass  # not the main thread (a test): signals keep their handlers


def _entry(hook: str, prog: str) -> Callable[[], int]:
    """The console script of ``digestpin_hooks.<hook>``, whose ``main``
    reads ``sys.argv``."""
    def start() -> int:
        try:
            try:
                # SIGTERM and SIGHUP end the run in one line from here on,
                # as ^C does (Python's own handler)
                import _signal  # type: ignore[import-not-found,unused-ignore]
                for name in ('SIGTERM', 'SIGHUP'):
                    number = getattr(_signal, name, None)
                    if number is not None and _signal.getsignal(number) != _signal.SIG_IGN:
                        _signal.signal(number, _early)
            except ValueError:
                pass  # not the main thread (a test): signals keep their handlers
            # __import__ rather than importlib.import_module: importlib and
            # the warnings it imports cost a one-file lint 2% more
            # instructions (callgrind)
            module = __import__(f'digestpin_hooks.{hook}', fromlist=['main'])
            main: Callable[[], int] = module.main
            returned = main()
            # within the try: a signal until the handlers are quiet is said
            _over()
            return returned
        except KeyboardInterrupt as e:
            # or cli.Terminated, or _Ended: a SIGTERM or SIGHUP the run's
            # handler raised outside the run's own handling (after it
            # returned), or _early's
            said: str = getattr(e, 'said', 'interrupted')
            status: int = getattr(e, 'status', 130)
            while True:  # another one: the line still comes
                try:  # (one noted meanwhile may raise until they are quiet,
                    _over()  # ^C's own handler during the import)
                    break
                except KeyboardInterrupt:
                    continue
            # (cli._last_word's way of saying it, written here: cli may be
            # the very module whose import the ^C broke off)
            stderr = sys.stderr  # None when started with fd 2 closed:
            try:  # print(file=None) would say it on stdout, a report's
                if stderr is not None:
                    print(f'{prog}: {said}', file=stderr)
            except OSError:
                pass  # stderr gone with the terminal
            return status
    start.__name__ = hook
    start.__qualname__ = hook
    return start


digestpin = _entry('__main__', 'digestpin')
lint = _entry('lint', 'digestpin-lint')
fix = _entry('fix', 'digestpin-fix')
update = _entry('update', 'digestpin-update')
verify = _entry('verify', 'digestpin-verify')
