"""Which digest pins a reference: matching daemon answers, never guessing.

Pure functions over what the daemon said (its image list, a distribution
inspect): ``daemon`` asks, this module decides.  A digest is taken only
from a ``RepoDigests`` entry (or a registry answer) for the very repository
the reference names; anything else is a reason to leave the reference alone.
"""
from __future__ import annotations

from digestpin_hooks.reference import digest_problem
from digestpin_hooks.reference import InvalidReference
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import Reference

from digestpin_hooks.resolve.answers import Failed
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Iterable


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'{what} is not a list of strings')
    return value


def checked_image_list(answer: Any) -> list[dict[str, Any]]:
    """The daemon's ``/images/json`` answer, or ValueError naming what in it
    is malformed (nothing of it is printed)."""
    if not isinstance(answer, list):
        raise ValueError('the image list is not a list')
    for image in answer:
        if not isinstance(image, dict):
            raise ValueError('the image list holds an entry that is not an object')
        _strings(image.get('RepoTags'), 'an image\'s RepoTags')
        _strings(image.get('RepoDigests'), 'an image\'s RepoDigests')
    return answer


def checked_distribution(answer: Any) -> dict[str, Any]:
    """A distribution inspect answer with the types verify and fix read, or
    ValueError.  The digest itself is checked where it is used."""
    if not isinstance(answer, dict):
        raise ValueError('the registry answer is not a JSON object')
    descriptor = answer.get('Descriptor')
    if not isinstance(descriptor, dict):
        raise ValueError('the registry answer has no Descriptor object')
    for key in ('digest', 'mediaType'):
        if not isinstance(descriptor.get(key, ''), str):
            raise ValueError(f'the Descriptor\'s {key} is not a string')
    platforms = answer.get('Platforms')
    if platforms is not None:
        if not isinstance(platforms, list) or not all(
            isinstance(p, dict) and all(
                isinstance(p.get(k, ''), str) for k in ('os', 'architecture', 'variant')
            ) for p in platforms
        ):
            raise ValueError('the registry answer\'s Platforms are malformed')
    return answer


def _normalized(text: str) -> Reference | None:
    try:
        return parse_reference(text)
    except InvalidReference:
        return None


class LocalImages:
    """The daemon's image list, indexed by normalised tag."""

    def __init__(self, images: Iterable[dict[str, Any]]) -> None:
        self.by_tag: dict[TagKey, list[dict[str, Any]]] = {}
        for image in images:
            for tag in image.get('RepoTags') or ():
                ref = _normalized(tag)
                if ref is not None and ref.tag:
                    self.by_tag.setdefault(tag_key(ref), []).append(image)

    def __contains__(self, key: TagKey) -> bool:
        return key in self.by_tag

    def resolve(self, key: TagKey) -> Found | Missing:
        name = familiar(key)
        images = self.by_tag.get(key)
        if not images:
            return Missing(
                'the image is not present locally',
                f'docker pull {name}, or use --source pull',
            )
        digests: set[str] = set()
        others: set[str] = set()
        for image in images:
            for entry in image.get('RepoDigests') or ():
                repo, _, digest = entry.partition('@')
                ref = _normalized(repo)
                if ref is None or digest_problem(digest) is not None:
                    continue
                if ref.normalized_name == key.repository:
                    digests.add(digest)
                else:
                    others.add(repo)
        if len(digests) == 1:
            return Found(digests.pop())
        if len(digests) > 1:
            return Missing(
                'the local image records several digests for this '
                'repository (' + ', '.join(sorted(digests)) + ')',
                f'docker pull {name} to settle which one it is, or use '
                f'--source registry',
            )
        if others:
            return Missing(
                'the local image has registry digests only for other '
                'repositories (' + ', '.join(sorted(others)) + '): it was '
                'only tagged locally under this name',
                f'pin the repository it was pulled from, or push it: docker '
                f'push {name}',
            )
        return Missing(
            'the local image has no registry digest (built locally or '
            'loaded, never pushed or pulled)',
            f'push it (docker push {name}) or pull it from its registry',
        )


def from_distribution(key: TagKey, answer: dict[str, Any]) -> Found | Failed:
    """A registry's answer (the daemon's distribution inspect) for ``key``."""
    descriptor = answer.get('Descriptor') if isinstance(answer, dict) else None
    digest = descriptor.get('digest') if isinstance(descriptor, dict) else None
    if not isinstance(digest, str) or digest_problem(digest) is not None:
        return Failed(
            f'the registry gave no valid digest for {familiar(key)}',
            hint='check the image name, or try --source pull',
        )
    return Found(digest)
