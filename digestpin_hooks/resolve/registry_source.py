"""The ``registry`` source: tags and pins as questions to the registries
themselves (``registry``, no daemon), each answered at its own key."""
from __future__ import annotations

from digestpin_hooks.resolve.answers import digest_key
from digestpin_hooks.resolve.answers import DigestKey
from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Manifest
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import OTHERS_ASKED
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Deadline
from digestpin_hooks.resolve.registry import Query

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection
    from typing import Mapping
    from typing import Sequence

    from digestpin_hooks.reference import Reference
    from digestpin_hooks.resolve.answers import Answer
    from digestpin_hooks.resolve.answers import Key
    from digestpin_hooks.resolve.answers import SourceOptions


def _query(key: TagKey | DigestKey, full: bool = False, platform: bool = True) -> Query:
    """``docker.io/library/node`` -> the registry ``docker.io``, the
    repository ``library/node``."""
    domain, _, repository = key.repository.partition('/')
    reference = key.tag if isinstance(key, TagKey) else key.digest
    return Query(domain, repository, reference, full, platform)


def _unreachable(answers: Mapping[Query, object]) -> None:
    """SourceError (unreachable) when no registry could be connected to at
    all: the machine is offline, which verify --offline-ok forgives."""
    failed = [a for a in answers.values() if isinstance(a, Failed)]
    if answers and len(failed) == len(answers) and all(a.unreachable for a in failed):
        hosts = sorted({a.reason for a in failed})
        raise SourceError(
            '; '.join(hosts[:3]) + ('; …' if len(hosts) > 3 else '')
            + ': no registry could be reached',
            unreachable=True,
        )


class RegistrySource:
    """``--source registry``: the OCI distribution API, with the user's
    credentials; one deadline (``--timeout``) for all the questions."""

    def __init__(self, options: SourceOptions) -> None:
        self.timeout = options.timeout
        self.insecure = options.insecure
        self.connections = options.connections

    def digests(self, keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        """The digest each registry serves for each name:tag (for a
        multi-platform image, its index)."""
        queries = {key: _query(key) for key in keys}
        answers = ask_all(
            list(queries.values()), self.timeout, self.insecure,
            connections=self.connections,
        )
        said: dict[TagKey, Answer] = {}
        for key, query in queries.items():
            answer = answers[query]
            if isinstance(answer, Manifest):
                said[key] = Found(answer.digest)
            elif isinstance(answer, Missing):
                said[key] = Missing(
                    f'the registry has no tag {key.tag!r}: {answer.reason}',
                    f'check the name and tag of {familiar(key)}',
                )
            else:
                said[key] = Failed(
                    f'the registry could not be asked: {answer.reason}',
                    answer.unreachable, OTHERS_ASKED,
                )
        return said

    def manifests(
            self, pins: Sequence[Reference], platformed: Collection[DigestKey] = frozenset(),
    ) -> dict[Key, Answer]:
        """Each pin's digest (the manifest, its platforms) and its tag (the
        digest it names now).

        Two requests a pin, all at once: the manifest and the tag.  A single
        image's platform (its config, a third request) is asked only for a
        pin in ``platformed`` (it names a platform), and, in a second round
        within the same deadline, for one whose tag now names an index (the
        finding names the platform pinned)."""
        questions: dict[Key, Query] = {}
        for reference in pins:
            at_digest = digest_key(reference)
            earlier = questions.get(at_digest)
            questions[at_digest] = _query(
                at_digest, full=True,
                platform=at_digest in platformed or (earlier is not None and earlier.platform),
            )
            if reference.tag:
                at_tag = tag_key(reference)
                questions[at_tag] = _query(at_tag)
        deadline = Deadline(self.timeout)  # one for both rounds
        answers = ask_all(
            list(questions.values()), self.timeout, self.insecure,
            connections=self.connections, deadline=deadline,
        )
        again: dict[Key, Query] = {}
        for reference in pins:
            at_digest = digest_key(reference)
            digest_answer = answers[questions[at_digest]]
            tag_query = questions.get(tag_key(reference)) if reference.tag else None
            tag_answer = answers[tag_query] if tag_query is not None else None
            if (
                not questions[at_digest].platform and isinstance(digest_answer, Manifest)
                and not digest_answer.is_index
                and isinstance(tag_answer, Manifest) and tag_answer.is_index
            ):
                again[at_digest] = questions[at_digest].replace(platform=True)
        if again:
            answers.update(ask_all(
                list(again.values()), self.timeout, self.insecure,
            connections=self.connections, deadline=deadline,
            ))
            questions.update(again)
        _unreachable(answers)
        said: dict[Key, Answer] = {}
        for key, query in questions.items():
            answer = answers[query]
            said[key] = Found(answer.digest, answer) if isinstance(answer, Manifest) else answer
        return said
