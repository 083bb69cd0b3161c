"""The sources digests and manifests come from, picked by ``--source``.

Every hook asks through one of these: ``resolver`` (fix and update: a
digest per name:tag) and ``asker`` (verify: what the registry or the local
images say of each pin), over four sources:

- ``local``: the daemon's image list (RepoDigests);
- ``pull``: the same after the daemon pulls;
- ``registry``: the registries themselves (``registry``, no daemon);
- ``daemon-registry``: the registry through the daemon's distribution
  endpoint (Docker only: Podman does not serve it).

``signatures`` and ``trusted`` add the trust policy's signature checks
(``trust``), asked of the registry whatever the source.

The docker SDK, requests and cryptography are imported only when a source
is asked, so lint imports none of them.
"""
from __future__ import annotations


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Mapping
    from typing import Sequence

    from digestpin_hooks.check.pins import Manifest
    from digestpin_hooks.check.pins import Pinned
    from digestpin_hooks.check.pins import Unanswered
    from digestpin_hooks.model import TrustRule
    from digestpin_hooks.resolve.matching import Asker
    from digestpin_hooks.resolve.matching import ImageKey
    from digestpin_hooks.resolve.matching import Resolution
    from digestpin_hooks.resolve.matching import Resolver
    from digestpin_hooks.resolve.trust import Verdict

    # (normalized name, digest) -> the rule that applies and its verdict;
    # absent: no rule matches the name, it is not checked
    SignatureChecker = Callable[
        [Sequence[tuple[str, str]]], Mapping[tuple[str, str], tuple[TrustRule, Verdict]],
    ]


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


def signatures(
        rules: Sequence[TrustRule], timeout: float, insecure: Sequence[str] = (),
        trust_root: str = '',
) -> SignatureChecker:
    """Check pinned digests against the first trust rule that matches each
    name; names no rule matches are not checked (absent from the answer).
    One deadline for the run: the checks have what ``timeout`` has left
    since this checker was made (with the digests asked before them)."""
    import time
    started = time.monotonic()

    def check(
            pins: Sequence[tuple[str, str]],
    ) -> Mapping[tuple[str, str], tuple[TrustRule, Verdict]]:
        from digestpin_hooks.model import trust_rule_for
        subjects = {}
        for name, digest in pins:
            rule = trust_rule_for(rules, name)
            if rule is not None:
                from digestpin_hooks.resolve.trust import Subject
                domain, _, repository = name.partition('/')
                subjects[name, digest] = Subject(domain, repository, digest, rule)
        if not subjects:
            return {}
        from digestpin_hooks.resolve.trust import check_signatures
        left = max(0.5, timeout - (time.monotonic() - started))
        verdicts = check_signatures(subjects.values(), left, insecure, trust_root)
        return {
            pin: (subject.rule, verdicts[subject]) for pin, subject in subjects.items()
        }
    return check


def trusted(
        resolve: Resolver, rules: Sequence[TrustRule], timeout: float,
        insecure: Sequence[str] = (), trust_root: str = '',
) -> Resolver:
    """``resolve``, whose digests that fail their trust rule are not given:
    the reference stays unpinned, with the reason (fix, update)."""
    if not rules:
        return resolve
    check = signatures(rules, timeout, insecure, trust_root)

    def resolve_trusted(keys: Sequence[ImageKey]) -> dict[ImageKey, Resolution]:
        resolutions = resolve(keys)
        found = {key: (key[0], r.digest) for key, r in resolutions.items() if r.digest}
        verdicts = check(list(found.values()))
        from digestpin_hooks.resolve.matching import Resolution
        from digestpin_hooks.resolve.trust import explain
        from digestpin_hooks.resolve.trust import TRUSTED
        for key, pin in found.items():
            if pin not in verdicts:
                continue  # no rule matches the name
            rule, verdict = verdicts[pin]
            if verdict.outcome == TRUSTED:
                continue
            code, message = explain(verdict, rule, pin[1])
            resolutions[key] = Resolution(
                '', f'{code}: {message}' if code else message,
                'not pinned: the trust policy does not accept it' if code
                else 'the signatures must be checked before it is pinned',
                untrusted=bool(code),
            )
        return resolutions
    return resolve_trusted
