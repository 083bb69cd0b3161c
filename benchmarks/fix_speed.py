"""How digestpin-fix talks to the daemon and how fast it is, in one run.

(a) Engine API calls for a file of 50 distinct references pinned from the
    local daemon, counted by a proxy in front of the daemon socket (besides
    /_ping and /version; target: at most 2, whatever the number).
(b) digestpin-fix on a copy of the corpus where every reference already has
    a digest, against digestpin-lint on the same files (target <= 1.2x).
(c) Pinning the 50-reference file against ``pindock run`` resolving through
    the same test registry (target <= 3x).

Needs what the test suite needs (dockerd, docker-registry; root).
Run: python benchmarks/fix_speed.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from _common import corpus_files  # noqa: E402
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402

REFERENCES = 50


class CountingProxy:
    """A unix socket in front of the daemon's that counts HTTP requests."""

    REQUEST_RE = re.compile(rb'(?:GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.[01]\r\n')

    def __init__(self, upstream: str, folder: str) -> None:
        self.upstream = upstream
        self.path = os.path.join(folder, 'proxy.sock')
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen()
        self.paths: list[str] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            daemon = socket.socket(socket.AF_UNIX)
            daemon.connect(self.upstream)
            threading.Thread(target=self.pump, args=(client, daemon, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(daemon, client, False), daemon=True).start()

    def pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if count:
                    self.paths.extend(
                        m.group(1).decode() for m in self.REQUEST_RE.finditer(data)
                    )
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def calls(self) -> list[str]:
        return [
            p for p in self.paths
            if not re.search(r'/_ping$|/version$', p.split('?')[0])
        ]


def stack_or_exit() -> Iterator[object]:
    from tests import stack as stack_module

    def unavailable(reason: str) -> None:
        sys.exit(f'skipped: {reason}')

    yield from stack_module.start_stack(unavailable)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    bindir = os.path.dirname(sys.executable)
    fix = shutil.which('digestpin-fix', path=bindir)
    lint = shutil.which('digestpin-lint', path=bindir)
    if fix is None or lint is None:
        sys.exit('install the package first: pip install .')
    work = tempfile.mkdtemp(prefix='dpb', dir='/tmp')
    try:
        for stack in stack_or_exit():
            run(stack, fix, lint, work, args.runs)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run(stack, fix: str, lint: str, work: str, runs: int) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    base = f'{stack.registry}/bench/base:1'
    stack.build(base, 'benchmark')
    names = [f'{stack.registry}/bench/image{i}:v{i}' for i in range(REFERENCES)]
    for name in names:
        stack.docker('tag', base, name)
        stack.docker('push', '-q', name)
    dockerfile = ''.join(
        f'FROM {name} AS s{i}\n' for i, name in enumerate(names)
    )
    target = os.path.join(work, 'fifty', 'Dockerfile')
    os.makedirs(os.path.dirname(target))

    # (a) API calls, through the counting proxy
    proxy = CountingProxy(stack.socket, work)
    with open(target, 'w') as f:
        f.write(dockerfile)
    result = subprocess.run(
        [fix, '--docker-host', f'unix://{proxy.path}', target],
        capture_output=True, text=True,
    )
    pinned = result.stdout.count(' pinned ')
    print(
        f'(a) {pinned} of {REFERENCES} references pinned with '
        f'{len(proxy.calls())} Engine API calls besides /_ping and /version: '
        f'{proxy.calls()} (target <= 2)',
    )

    # (b) nothing to resolve: fix against lint on a pinned copy of the corpus
    files = corpus_files()
    copy = os.path.join(work, 'corpus')
    copies = []
    for i, path in enumerate(files):
        dest = os.path.join(copy, f'{i:04d}', os.path.basename(path))
        os.makedirs(os.path.dirname(dest))
        shutil.copyfile(path, dest)
        copies.append(dest)
    pin_everything(copies)
    ours, theirs = paired_medians(
        [[fix, '--docker-host', 'unix:///nonexistent', *copies], [lint, *copies]],
        runs,
    )
    print(ratio_line('(b) fix vs lint, corpus already pinned', ours, theirs, '<= 1.2x'))

    # (c) pinning the 50-reference file, against pindock through the registry
    pindock = shutil.which('pindock')
    if pindock is None:
        print('(c) skipped: install pindock (pip install .[bench])')
        return

    path = os.path.join(work, 'c', 'Dockerfile')
    os.makedirs(os.path.dirname(path))

    def fresh() -> None:
        with open(path, 'w') as f:
            f.write(dockerfile)

    host = ['--docker-host', stack.host]
    ours_local, ours_registry, theirs = paired_medians(
        [
            [fix, *host, path],
            [fix, *host, '--source', 'registry', path],
            [pindock, 'run', path],
        ],
        runs, prepare=fresh,
    )
    print(ratio_line(
        '(c) fix --source local vs pindock run, 50 references',
        ours_local, theirs, '<= 3x',
    ))
    print(ratio_line(
        '(c) fix --source registry vs pindock run, 50 references',
        ours_registry, theirs, 'reported',
    ))


def pin_everything(paths: list[str]) -> None:
    """Give every reference a digest, as a resolver that knows all would."""
    import hashlib

    from digestpin_hooks.fix import fix_files
    try:
        from digestpin_hooks.resolve.answers import familiar
        from digestpin_hooks.resolve.answers import Found

        def answer(digest: str) -> object:
            return Found(digest)
    except ImportError:  # a revision before resolve/answers.py
        from digestpin_hooks.resolve.matching import familiar  # type: ignore[no-redef]
        from digestpin_hooks.resolve.matching import Resolution  # type: ignore[attr-defined]

        def answer(digest: str) -> object:
            return Resolution(digest, '', '')

    def resolver(keys):  # type: ignore[no-untyped-def]
        return {
            key: answer('sha256:' + hashlib.sha256(familiar(key).encode()).hexdigest())
            for key in keys
        }

    fix_files(paths, resolver)


if __name__ == '__main__':
    raise SystemExit(main())
