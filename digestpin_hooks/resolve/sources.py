"""The sources digests and manifests come from, picked by ``--source``.

Every hook asks through one of these: ``resolver`` (fix and update: a
digest per name:tag) and ``asker`` (verify: what the registry or the local
images say of each pin), over four sources:

- ``local``: the daemon's image list (RepoDigests);
- ``pull``: the same after the daemon pulls;
- ``registry``: the registries themselves (``registry``, no daemon);
- ``daemon-registry``: the registry through the daemon's distribution
  endpoint (Docker only: Podman does not serve it).

The docker SDK and requests are imported only when a source is asked, so
lint imports neither.
"""
from __future__ import annotations


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping
    from typing import Sequence

    from digestpin_hooks.check.pins import Manifest
    from digestpin_hooks.check.pins import Pinned
    from digestpin_hooks.check.pins import Unanswered
    from digestpin_hooks.resolve.matching import Asker
    from digestpin_hooks.resolve.matching import ImageKey
    from digestpin_hooks.resolve.matching import Resolution
    from digestpin_hooks.resolve.matching import Resolver


def resolver(
        source: str, docker_host: str | None, timeout: float, *,
        refresh: bool = False, insecure: Sequence[str] = (),
) -> Resolver:
    """Resolve name:tag keys from ``source``."""
    def resolve(keys: Sequence[ImageKey]) -> dict[ImageKey, Resolution]:
        if source == 'registry':
            from digestpin_hooks.resolve.registry_source import resolve_digests
            return resolve_digests(keys, timeout, insecure)
        from digestpin_hooks.resolve.daemon import resolve_digests as from_daemon
        return from_daemon(
            keys, 'registry' if source == 'daemon-registry' else source,
            docker_host, timeout, refresh=refresh,
        )
    return resolve


def asker(
        source: str, docker_host: str | None, timeout: float, *,
        insecure: Sequence[str] = (),
) -> Asker:
    """Ask about pins: the registries, the daemon's local images, or the
    registry through the daemon."""
    def ask(pins: Sequence[Pinned]) -> Mapping[str, Manifest | str | Unanswered | None]:
        if source == 'registry':
            from digestpin_hooks.resolve.registry_source import ask_registry
            return ask_registry(pins, timeout, insecure)
        from digestpin_hooks.resolve import daemon
        if source == 'local':
            return daemon.ask_local(pins, docker_host, timeout)
        return daemon.ask_registry(pins, docker_host, timeout)
    return ask
