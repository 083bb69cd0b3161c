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


def _entry(hook: str, prog: str) -> Callable[[], int]:
    """The console script of ``digestpin_hooks.<hook>``, whose ``main``
    reads ``sys.argv``."""
    def start() -> int:
        try:
            # __import__ rather than importlib.import_module: importlib and
            # the warnings it imports cost a one-file lint 2% more
            # instructions (callgrind)
            module = __import__(f'digestpin_hooks.{hook}', fromlist=['main'])
            main: Callable[[], int] = module.main
            return main()
        except KeyboardInterrupt as e:
            # or cli.Terminated, one: a SIGTERM or SIGHUP the run's handler
            # raised outside the run's own handling (after it returned)
            said: str = getattr(e, 'said', 'interrupted')
            status: int = getattr(e, 'status', 130)
            import _signal  # type: ignore[import-not-found,unused-ignore]
            _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # a second ^C: the line still comes
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
