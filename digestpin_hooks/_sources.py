"""The sources digests and manifests come from, picked by ``--source``.

Every hook asks through one of these functions: ``daemon_resolver`` (fix
and update: a digest per name:tag) and ``daemon_asker`` (verify: what the
registry or the local images say of each pin).  The docker SDK is imported
only when one of them is called, so lint never imports it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Mapping
    from typing import Sequence

    from digestpin_hooks._pins import Manifest
    from digestpin_hooks._pins import Pinned
    from digestpin_hooks._resolve import Asker
    from digestpin_hooks._resolve import ImageKey
    from digestpin_hooks._resolve import Resolution
    from digestpin_hooks._resolve import Resolver


def daemon_resolver(
        source: str, docker_host: str | None, timeout: float, *, refresh: bool = False,
) -> Resolver:
    """Resolve through the daemon's ``source``; the SDK is imported only
    when the resolver is called (lint never imports it)."""
    def resolve(keys: Sequence[ImageKey]) -> dict[ImageKey, Resolution]:
        from digestpin_hooks._docker import resolve_digests
        return resolve_digests(keys, source, docker_host, timeout, refresh=refresh)
    return resolve


def daemon_asker(source: str, docker_host: str | None, timeout: float) -> Asker:
    """Ask the daemon about pins: its local images, or the registry."""
    def ask(pins: Sequence[Pinned]) -> Mapping[str, Manifest | str | None]:
        from digestpin_hooks import _docker
        if source == 'local':
            return _docker.ask_local(pins, docker_host, timeout)
        return _docker.ask_registry(pins, docker_host, timeout)
    return ask
