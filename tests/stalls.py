"""Running the tools the tests ask (node scripts, Docker Compose, the CI
tools' oracles) so that one stalled process does not fail a run.

They answer in well under 2 s.  Once, in CI, a node process gave no
output at all for 60 s and failed the run (the cause was not seen: it
never happened again in 360 runs, six at a time on two cores).  What the
tools compute here is a function of their input, so a stalled run is
killed and asked again, at most ``attempts`` times; the test fails if
every attempt stalls, and where each stalled run waited (each thread's
state and kernel wait channel) is in the message, and in a warning when
a later attempt answered."""
from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Sequence
from typing import IO
from typing import Any


def run_unstalled(
        argv: Sequence[str], *, seconds: float, attempts: int = 3,
        stdout: IO[str] | None = None, **popen: Any,
) -> subprocess.CompletedProcess[str]:
    """``argv``'s answer (text; stdout to ``stdout`` when given, which is
    emptied before each attempt), as subprocess.run gives it with
    ``timeout=seconds`` and stdin from /dev/null, except that a run that
    times out is asked again."""
    stalls: list[list[str]] = []
    for _attempt in range(attempts):
        if stdout is not None:
            stdout.seek(0)
            stdout.truncate()
        with subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, **popen,
        ) as process:
            try:
                out, err = process.communicate(timeout=seconds)
            except subprocess.TimeoutExpired:
                stalls.append(where_it_waits(process.pid))
                process.kill()
                process.communicate()
                continue
        if stalls:
            warnings.warn(f'{argv[0]} gave no answer in {seconds:g} s, then did: {stalls}')
        return subprocess.CompletedProcess(argv, process.returncode, out, err)
    raise AssertionError(f'{argv[0]} gave no answer in {seconds:g} s, {attempts} times: {stalls}')


def where_it_waits(pid: int) -> list[str]:
    """The state and kernel wait channel of each thread of ``pid``: what a
    stalled process was doing, for the failure message."""
    threads = []
    for task in sorted(os.listdir(f'/proc/{pid}/task')):
        try:
            with open(f'/proc/{pid}/task/{task}/stat') as stat_file:
                stat = stat_file.read()
            with open(f'/proc/{pid}/task/{task}/wchan') as wchan_file:
                wchan = wchan_file.read()
        except OSError:
            continue
        threads.append(f'{task} {stat.rpartition(")")[2].split()[0]} {wchan}')
    return threads
