"""Resolving and verifying 100 distinct references pushed to a real local
registry (docker-registry, started as the tests start it), in turns in one
run, on loopback and behind a delaying proxy of the benchmark's own that
makes each round trip 25 ms (12.5 ms each way, per chunk: what a registry
a few hundred km away costs), the TCP handshake of a new connection
included, as on a real link; the proxy's model before (connections free:
only data was delayed) is measured too, for continuity with the earlier
figures:

- ``digestpin-fix --dry-run --source registry`` (the registry asked directly);
- ``pindock run`` (pip extra ``bench``), on a fresh copy of the same file;
- 100 ``skopeo inspect`` calls (Debian's skopeo), one per reference;
- ``digestpin-verify --source registry`` on the pinned file, no trust policy.

Targets (issue 22): fix <= 0.5x pindock with 25 ms round trips, <= 1.0x on
loopback; verify <= 1.2x fix.

digestpin and pindock run from a fresh venv where both are installed as a
user installs them (``pip install .``, not editable: an editable install's
finder runs at every start of its venv's Python, which no user pays), the
pindock of the running Python's version; ``--venv DIR`` reuses one.

Needs what the test suite needs (dockerd, docker-registry, skopeo; root).
Run: python benchmarks/registry_speed.py [--runs N] [--venv DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from _common import fresh_install  # noqa: E402
from _common import paired_medians  # noqa: E402
from _common import ratio_line  # noqa: E402

REFERENCES = 100
ROUND_TRIP = 0.025
MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json'


def tag_everywhere(registry: str, repository: str, source_tag: str, count: int) -> list[str]:
    """``count`` tags of one pushed image, PUT through the registry API."""
    url = f'http://{registry}/v2/{repository}/manifests'
    request = urllib.request.Request(f'{url}/{source_tag}', headers={'Accept': MANIFEST_TYPE})
    with urllib.request.urlopen(request) as answer:
        manifest = answer.read()
    tags = []
    for n in range(count):
        tag = f't{n}'
        put = urllib.request.Request(
            f'{url}/{tag}', data=manifest, method='PUT',
            headers={'Content-Type': MANIFEST_TYPE},
        )
        with urllib.request.urlopen(put) as answer:
            assert answer.status == 201
        tags.append(tag)
    return tags


class DelayingProxy:
    """A TCP proxy on loopback to ``target``: every chunk, either way, is
    forwarded ``delay`` seconds after it arrived (in order), so a request
    and its answer cost two delays more, whatever the client.

    With ``handshake``, a new connection costs what TCP's handshake costs
    on a real link: its client's first bytes reach the registry three
    delays after the connection was accepted (SYN there, SYN-ACK back,
    the data there), not one.  The proxy accepts at once on loopback, so
    without it a client that opens a connection per request (pindock's
    Go client does here: 110 connections for 100 references) paid nothing
    for it, and one that keeps 8 connections alive gained nothing."""

    def __init__(self, target: tuple[str, int], delay: float, *, handshake: bool = True) -> None:
        self.target = target
        self.delay = delay
        self.handshake = handshake
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(256)
        self.address = f'127.0.0.1:{self.listener.getsockname()[1]}'
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            accepted = time.monotonic()
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            # the client's data waits for the handshake's round trip
            first_due = accepted + 3 * self.delay if self.handshake else 0.0
            for a, b, not_before in ((client, server, first_due), (server, client, 0.0)):
                threading.Thread(target=self._pump, args=(a, b, not_before), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, not_before: float) -> None:
        """Chunks are stamped as they arrive and sent when due: a delay, not
        a bandwidth limit (a second chunk does not wait for the first's);
        none is due before ``not_before``."""
        due: list[tuple[float, bytes]] = []
        ready = threading.Condition()
        done = []

        def send() -> None:
            while True:
                with ready:
                    ready.wait_for(lambda: due or done)
                    if not due:
                        break
                    when, chunk = due.pop(0)
                time.sleep(max(0.0, when - time.monotonic()))
                try:
                    sink.sendall(chunk)
                except OSError:
                    break
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                with ready:
                    due.append((max(time.monotonic() + self.delay, not_before), chunk))
                    ready.notify()
        except OSError:
            pass
        with ready:
            done.append(True)
            ready.notify()

    def close(self) -> None:
        self.listener.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--venv', help='reuse this venv (made with pip install . pindock when missing)')
    args = parser.parse_args()
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version
    try:
        pindock_spec = f'pindock=={version("pindock")}'
    except PackageNotFoundError:
        sys.exit('skipped: pindock is not installed (pip install -e ".[bench]")')
    work = tempfile.mkdtemp(prefix='dp-registry-speed-')
    try:
        python = fresh_install(args.venv or os.path.join(work, 'venv'), pindock_spec)
        bin_dir = os.path.dirname(python)
        fix = os.path.join(bin_dir, 'digestpin-fix')
        verify = os.path.join(bin_dir, 'digestpin-verify')
        pindock = os.path.join(bin_dir, 'pindock')
        for tool in ('skopeo', fix, verify, pindock):
            if shutil.which(tool) is None:
                sys.exit(f'skipped: {tool} is not installed')
        return run_all(args.runs, fix, verify, pindock)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_all(runs: int, fix: str, verify: str, pindock: str) -> int:
    """Push the image and its tags, then measure on loopback and behind
    the delaying proxy."""
    from tests.stack import start_stack

    def unavailable(reason: str) -> None:
        sys.exit(f'skipped: {reason}')

    for stack in start_stack(unavailable):
        repository = 'bench/app'
        stack.push(f'{stack.registry}/{repository}:base', 'bench')
        tags = tag_everywhere(stack.registry, repository, 'base', REFERENCES)
        host, port = stack.registry.rsplit(':', 1)
        proxies = [
            DelayingProxy((host, int(port)), ROUND_TRIP / 2),
            DelayingProxy((host, int(port)), ROUND_TRIP / 2, handshake=False),
        ]
        folder = tempfile.mkdtemp()
        try:
            measure(folder, stack.registry, repository, tags, 'loopback', runs, fix, verify, pindock)
            for proxy in proxies:
                where = (
                    f'{ROUND_TRIP * 1000:g} ms round trips'
                    if proxy.handshake else
                    f'{ROUND_TRIP * 1000:g} ms round trips for data only, new connections free '
                    f'(the proxy before the eleventh session)'
                )
                print(f'{where}: {round_trips(proxy.address, repository, tags[0])}')
                measure(
                    folder, proxy.address, repository, tags, where, runs, fix, verify, pindock,
                    skopeo=proxy.handshake,
                )
        finally:
            for proxy in proxies:
                proxy.close()
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def round_trips(registry: str, repository: str, tag: str) -> str:
    """What one question costs through the proxy, on a new connection and
    on a kept one (medians of 5): the model, measured."""
    import http.client
    host, port = registry.rsplit(':', 1)
    new: list[float] = []
    kept: list[float] = []
    for _ in range(5):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        for times in (new, kept):
            start = time.perf_counter()
            connection.request('HEAD', f'/v2/{repository}/manifests/{tag}', headers={'Accept': MANIFEST_TYPE})
            connection.getresponse().read()
            times.append(time.perf_counter() - start)
        connection.close()
    return (
        f'a question on a new connection {statistics.median(new) * 1000:.1f} ms, '
        f'on a kept one {statistics.median(kept) * 1000:.1f} ms'
    )


def measure(
        folder: str, registry: str, repository: str, tags: list[str], where: str,
        runs: int, fix: str, verify: str, pindock: str, *, skopeo: bool = True,
) -> None:
    text = ''.join(f'FROM {registry}/{repository}:{tag}\n' for tag in tags)
    path = os.path.join(folder, 'Dockerfile')
    theirs = os.path.join(folder, 'theirs', 'Dockerfile')
    pinned = os.path.join(folder, 'pinned', 'Dockerfile')
    for p in (theirs, pinned):
        os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    with open(pinned, 'w') as f:
        f.write(text)
    subprocess.run([fix, '--source', 'registry', pinned], capture_output=True)
    with open(pinned) as f:
        assert f.read().count('@sha256:') == REFERENCES, 'fix did not pin every reference'

    def fresh() -> None:  # pindock rewrites its file: it starts unpinned every turn
        with open(theirs, 'w') as f:
            f.write(text)

    skopeo_loop = ' '.join(
        f'skopeo inspect --tls-verify=false docker://{registry}/{repository}:{tag} >/dev/null &&'
        for tag in tags
    ) + ' true'
    commands = [
        [fix, '--dry-run', '--source', 'registry', path],
        [verify, '--source', 'registry', pinned],
        [pindock, 'run', theirs],
    ]
    if skopeo:
        commands.append(['sh', '-c', skopeo_loop])
    ours, verified, theirs_time, *skopeo_time = paired_medians(commands, runs, ok=(0, 1), prepare=fresh)
    fresh()
    subprocess.run([pindock, 'run', theirs], capture_output=True)
    with open(theirs) as f:
        pinned_by_pindock = f.read().count('@sha256:')
    print(f'{REFERENCES} distinct references, {where}, medians of {runs} runs in turns '
          f'(pindock pinned {pinned_by_pindock}):')
    target = '<= 1.0x' if where == 'loopback' else '<= 0.5x'
    print(ratio_line('  fix --source registry vs pindock run', ours, theirs_time, target))
    print(ratio_line('  verify (no trust policy) vs fix', verified, ours, '<= 1.2x'))
    if skopeo_time:
        print(ratio_line(f'  {REFERENCES} skopeo inspect calls vs fix', skopeo_time[0], ours, 'for scale'))


if __name__ == '__main__':
    raise SystemExit(main())
