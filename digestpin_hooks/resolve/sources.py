"""The sources digests and manifests come from: the table of ``--source``.

A source is one class, constructed from ``SourceOptions``, that answers
``digests(keys)`` (fix and update: what digest each name:tag names now)
and ``manifests(pins)`` (verify: what each pin's digest and tag are), with
the answer types of ``answers``.  ``SOURCES`` names each class as
``'module:Class'``, imported only when that source is asked, so that the
docker SDK, http.client and cryptography are loaded only by the source
that needs them (and lint imports none of them):

- ``local``: the daemon's image list (RepoDigests);
- ``pull``: the same after the daemon pulls;
- ``registry``: the registries themselves (``registry``, no daemon);
- ``daemon-registry``: the registry through the daemon's distribution
  endpoint (Docker only: Podman does not serve it).

``signatures`` and ``trusted`` add the trust policy's signature checks
(``trust``), asked of the registry whatever the source.
"""
from __future__ import annotations

from digestpin_hooks.resolve.answers import DigestKey
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import SourceOptions
from digestpin_hooks.resolve.answers import Untrusted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Collection
    from typing import Mapping
    from typing import Sequence

    from digestpin_hooks.model import TrustRule
    from digestpin_hooks.reference import Reference
    from digestpin_hooks.resolve.answers import Answer
    from digestpin_hooks.resolve.answers import Digests
    from digestpin_hooks.resolve.answers import Key
    from digestpin_hooks.resolve.answers import Source
    from digestpin_hooks.resolve.answers import TagKey
    from digestpin_hooks.resolve.trust import Verdict

    # pinned digests -> the rule that applies to each and its verdict;
    # absent: no rule matches the name, it is not checked
    SignatureChecker = Callable[
        [Sequence[DigestKey]], Mapping[DigestKey, tuple[TrustRule, Verdict]],
    ]

# --source -> the class that answers for it
SOURCES = {
    'local': 'digestpin_hooks.resolve.daemon:LocalSource',
    'pull': 'digestpin_hooks.resolve.daemon:PullSource',
    'daemon-registry': 'digestpin_hooks.resolve.daemon:DaemonRegistrySource',
    'registry': 'digestpin_hooks.resolve.registry_source:RegistrySource',
}


def open_source(
        name: str, docker_host: str | None, timeout: float, *,
        refresh: bool = False, insecure: Sequence[str] = (), connections: int = 8,
) -> Source:
    """The source ``--source name`` names.  Its module is imported when it
    is first asked, not before: a run with nothing to resolve loads neither
    the docker SDK nor http.client."""
    return _Deferred(
        name, SourceOptions(docker_host, timeout, refresh, tuple(insecure), connections),
    )


class _Deferred:
    """A source of the table, imported and built on its first question."""

    def __init__(self, name: str, options: SourceOptions) -> None:
        self.name = name
        self.options = options
        self.source: Source | None = None

    def _asked(self) -> Source:
        if self.source is None:
            import importlib
            module, _, cls = SOURCES[self.name].partition(':')
            self.source = getattr(importlib.import_module(module), cls)(self.options)
        return self.source

    def digests(self, keys: Sequence[TagKey]) -> Mapping[TagKey, Answer]:
        return self._asked().digests(keys)

    def manifests(
            self, pins: Sequence[Reference], platformed: Collection[DigestKey] = frozenset(),
    ) -> Mapping[Key, Answer]:
        return self._asked().manifests(pins, platformed)


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
            pins: Sequence[DigestKey],
    ) -> Mapping[DigestKey, tuple[TrustRule, Verdict]]:
        from digestpin_hooks.model import trust_rule_for
        subjects = {}
        for pin in pins:
            rule = trust_rule_for(rules, pin.repository)
            if rule is not None:
                from digestpin_hooks.resolve.trust import Subject
                domain, _, repository = pin.repository.partition('/')
                subjects[pin] = Subject(domain, repository, pin.digest, rule)
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
        digests: Digests, rules: Sequence[TrustRule], timeout: float,
        insecure: Sequence[str] = (), trust_root: str = '',
) -> Digests:
    """``digests``, whose digests that fail their trust rule are not given:
    the reference stays unpinned, with the reason (fix, update)."""
    if not rules:
        return digests
    check = signatures(rules, timeout, insecure, trust_root)

    def digests_trusted(keys: Sequence[TagKey]) -> Mapping[TagKey, Answer]:
        answers = dict(digests(keys))
        found = {
            key: DigestKey(key.repository, a.digest) for key, a in answers.items()
            if isinstance(a, Found)
        }
        verdicts = check(list(found.values()))
        from digestpin_hooks.resolve.answers import Failed
        from digestpin_hooks.resolve.trust import explain
        from digestpin_hooks.resolve.trust import TRUSTED
        for key, pin in found.items():
            if pin not in verdicts:
                continue  # no rule matches the name
            rule, verdict = verdicts[pin]
            if verdict.outcome == TRUSTED:
                continue
            code, message = explain(verdict, rule, pin.digest)
            answers[key] = Untrusted(
                pin.digest, f'{code}: {message}',
                'not pinned: the trust policy does not accept it',
            ) if code else Failed(
                message, verdict.unreachable,
                'the signatures must be checked before it is pinned',
            )
        return answers
    return digests_trusted
