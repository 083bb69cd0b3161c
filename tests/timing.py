"""CPU time of our own code, for the growth tests."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """No line tracer (coverage's, under CI) while a growth test measures:
    the tracer's cost per line made a 1 MB lint seven times slower, so that
    the growth tests were a third of the suite, and it is no part of what
    they measure.  The code they run is covered by the other tests."""
    trace = sys.gettrace()  # this thread's: the code measured starts none
    sys.settrace(None)
    try:
        yield
    finally:
        sys.settrace(trace)


# How far past its --timeout a run in a subprocess may end, in seconds:
# the interpreter's start and the docker SDK's import, under coverage on a
# loaded machine (3.05 s for a 2 s --timeout once in CI, two other jobs
# running).  Below the one try of glibc's resolver (5 s) that the deadline
# tests are there to catch, and far below the 10 s of its retries.
PAST_DEADLINE = 2.0
