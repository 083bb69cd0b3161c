"""The ``registry`` source: references and pins as questions to the
registries themselves (``registry``), their answers as the resolver and
asker types every hook reads."""
from __future__ import annotations

from digestpin_hooks.check.pins import Manifest
from digestpin_hooks.check.pins import Unanswered
from digestpin_hooks.resolve.matching import DaemonError
from digestpin_hooks.resolve.matching import familiar
from digestpin_hooks.resolve.matching import ImageKey
from digestpin_hooks.resolve.matching import Resolution
from digestpin_hooks.resolve.registry import ask_all
from digestpin_hooks.resolve.registry import Deadline
from digestpin_hooks.resolve.registry import Failed
from digestpin_hooks.resolve.registry import Missing
from digestpin_hooks.resolve.registry import Query

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping
    from typing import Sequence

    from digestpin_hooks.check.pins import Pinned


def _query(
        normalized_name: str, reference: str, full: bool = False, platform: bool = True,
) -> Query:
    """``docker.io/library/node`` -> the registry ``docker.io``, the
    repository ``library/node``."""
    domain, _, repository = normalized_name.partition('/')
    return Query(domain, repository, reference, full, platform)


def _unreachable(answers: Mapping[Query, object]) -> None:
    """DaemonError (unreachable) when no registry could be connected to at
    all: the machine is offline, which verify --offline-ok forgives."""
    failed = [a for a in answers.values() if isinstance(a, Failed)]
    if answers and len(failed) == len(answers) and all(a.unreachable for a in failed):
        hosts = sorted({a.reason for a in failed})
        raise DaemonError(
            '; '.join(hosts[:3]) + ('; …' if len(hosts) > 3 else '')
            + ': no registry could be reached',
            unreachable=True,
        )


def resolve_digests(
        keys: Sequence[ImageKey], timeout: float, insecure: Sequence[str],
) -> dict[ImageKey, Resolution]:
    """The digest each registry serves for each name:tag (for a
    multi-platform image, its index)."""
    queries = {key: _query(key[0], key[1]) for key in keys}
    answers = ask_all(list(queries.values()), timeout, insecure)
    resolutions = {}
    for key, query in queries.items():
        answer = answers[query]
        if isinstance(answer, Manifest):
            resolutions[key] = Resolution(answer.digest, '', '')
        elif isinstance(answer, Missing):
            resolutions[key] = Resolution(
                '', f'the registry has no tag {key[1]!r}: {answer.reason}',
                f'check the name and tag of {familiar(key)}',
            )
        else:
            resolutions[key] = Resolution(
                '', f'the registry could not be asked: {answer.reason}',
                'the other references were resolved',
            )
    return resolutions


def ask_registry(
        pins: Sequence[Pinned], timeout: float, insecure: Sequence[str],
) -> dict[str, Manifest | str | Unanswered]:
    """Each pin's digest (the manifest, its platforms) and its tag (the
    digest it names now), keyed as verify reads them.

    Two requests a pin, all at once: the manifest and the tag.  A single
    image's platform (its config, a third request) is asked only for a pin
    that names a platform, and, in a second round, for one whose tag now
    names an index (the finding names the platform pinned)."""
    questions: dict[str, Query] = {}
    for p in pins:
        reference = p.reference
        name = reference.normalized_name
        text = f'{reference.name}@{reference.digest}'
        earlier = questions.get(text)
        questions[text] = _query(
            name, reference.digest, full=True,
            platform=bool(p.ref.platform) or (earlier is not None and earlier.platform),
        )
        if reference.tag:
            questions[f'{reference.name}:{reference.tag}'] = _query(name, reference.tag)
    deadline = Deadline(timeout)  # one for both rounds
    answers = ask_all(list(questions.values()), timeout, insecure, deadline=deadline)
    again = {}
    for p in pins:
        reference = p.reference
        text = f'{reference.name}@{reference.digest}'
        at_digest = answers[questions[text]]
        tag_query = questions.get(f'{reference.name}:{reference.tag}') if reference.tag else None
        at_tag = answers[tag_query] if tag_query is not None else None
        if (
            not questions[text].platform and isinstance(at_digest, Manifest)
            and not at_digest.is_index and isinstance(at_tag, Manifest) and at_tag.is_index
        ):
            again[text] = questions[text].replace(platform=True)
    if again:
        answers.update(ask_all(list(again.values()), timeout, insecure, deadline=deadline))
        questions.update(again)
    _unreachable(answers)
    said: dict[str, Manifest | str | Unanswered] = {}
    for text, query in questions.items():
        answer = answers[query]
        if isinstance(answer, Missing):
            said[text] = answer.reason
        elif isinstance(answer, Failed):
            said[text] = Unanswered(answer.reason)
        else:
            said[text] = answer
    return said
