"""CI files -> the YAML scalars that name images: GitLab CI, Bitbucket
Pipelines, CircleCI, Google Cloud Build, Drone and Woodpecker; and dev
containers' ``devcontainer.json`` (JSON with comments, read by ``jsonc``).

Each walker reads where the kind's own tool takes an image from, and yields
the scalar with its key path; ``yaml_refs`` turns them into references
(exact spans, interpolation, aliases found once at their anchor).  The
variables each kind fills in itself (GitLab ``variables:``, Cloud Build
``substitutions:``) are returned for interpolation; any other ``$NAME`` is
only known when the pipeline runs (DP003).
"""
from __future__ import annotations

from digestpin_hooks.model import Record
from digestpin_hooks.read.kinds import GITLAB
from digestpin_hooks.read.yaml_nodes import get
from digestpin_hooks.read.yaml_nodes import items
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import YamlError
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Iterator

    from digestpin_hooks.read.yaml_nodes import Node


class Found(Record):
    """A YAML scalar where a CI kind names an image, with its key path."""

    path: Final[str]  # the key path, e.g. services.web.image
    node: Final[Scalar]
    key: Final[Scalar]
    platform: Final[str] = ''
    prefix: Final[str] = ''  # 'docker://' before the image in the value
    # variables of the job that override the file's (GitLab job variables:)
    variables: Final[tuple[tuple[str, str], ...]] = ()


def _image(node: Node, key: Scalar, path: str) -> Iterator[Found]:
    """``image: name`` or ``image: {name: name, …}`` (GitLab, Bitbucket)."""
    if isinstance(node, Scalar):
        yield Found(path, node, key)
    elif isinstance(node, YamlMapping):
        name = get(node, 'name')
        if name is not None and isinstance(name[0], Scalar):
            yield Found(f'{path}.name', name[0], name[1])


def _mappings(documents: list[Node | None]) -> list[YamlMapping]:
    return [d for d in documents if isinstance(d, YamlMapping)]


def _require(documents: list[Node | None], what: str) -> list[YamlMapping]:
    mappings = _mappings(documents)
    if any(d is not None for d in documents) and not mappings:
        raise YamlError(f'not a {what} file: no mapping at the top')
    return mappings


# GitLab's global keywords: everything else at the top is a job (or a
# hidden job, ``.name:``, the usual home of templates and anchors)
_GITLAB_GLOBAL = frozenset((
    'include', 'stages', 'variables', 'workflow', 'cache', 'before_script',
    'after_script', 'types', 'spec',
))


def _gitlab_job(job: YamlMapping, path: str) -> Iterator[Found]:
    """A job's images, with its own ``variables:``, which GitLab lets
    override the top-level ones in its ``image:`` and ``services:``."""
    found: list[Found] = []
    image = get(job, 'image')
    if image is not None:
        found.extend(_image(image[0], image[1], f'{path}image'))
    services = get(job, 'services')
    if services is not None and isinstance(services[0], YamlSequence):
        for i, service in enumerate(services[0].items):
            found.extend(_image(service, services[1], f'{path}services[{i}]'))
    variables = tuple(_variables(job).items()) if path else ()
    for f in found:
        yield f.replace(variables=variables) if variables else f


def gitlab(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'GitLab CI'):
        yield from _gitlab_job(top, '')
        for key, value, _ in items(top):
            if key in _GITLAB_GLOBAL or key in ('image', 'services'):
                continue
            if isinstance(value, YamlMapping):
                yield from _gitlab_job(value, f'{key}.')


MAX_INCLUDES = 150  # GitLab's own limit of included files per pipeline


def gitlab_local_includes(documents: list[Node | None]) -> list[str]:
    """The ``include:`` entries that name files of the same project:
    ``include: path``, ``- local: path`` (or ``- path``); remote, project,
    template and component includes point elsewhere and are left."""
    names: list[str] = []
    for top in _mappings(documents):
        include = get(top, 'include')
        if include is None:
            continue
        entries = include[0].items if isinstance(include[0], YamlSequence) else [include[0]]
        for entry in entries:
            if isinstance(entry, YamlMapping):
                local = get(entry, 'local')
                entry = local[0] if local is not None else entry
            if isinstance(entry, Scalar) and entry.value and '://' not in entry.value:
                names.append(entry.value)
    return names[:MAX_INCLUDES]


def _variables(mapping: YamlMapping) -> dict[str, str]:
    """A mapping's ``variables:``: ``NAME: value`` or ``NAME: {value: …}``."""
    values: dict[str, str] = {}
    variables = get(mapping, 'variables')
    if variables is None or not isinstance(variables[0], YamlMapping):
        return values
    for name, value, _ in items(variables[0]):
        if isinstance(value, YamlMapping):
            inner = get(value, 'value')
            value = inner[0] if inner is not None else value
        if isinstance(value, Scalar):
            values[name] = value.value
    return values


def gitlab_variables(path: str, documents: list[Node | None]) -> dict[str, str]:
    """Top-level ``variables:``, a job's own override them (``Found``);
    ``path``, unused, as the table of kinds passes it to every kind."""
    values: dict[str, str] = {}
    for top in _mappings(documents):
        values.update(_variables(top))
    return values


def _bitbucket_steps(node: Node, path: str) -> Iterator[Found]:
    """Every ``step:`` at any depth under the pipelines (in ``parallel``,
    ``stage`` and named pipelines alike), and its image."""
    todo: list[tuple[Node, str]] = [(node, path)]
    while todo:
        here, here_path = todo.pop()
        if isinstance(here, YamlSequence):
            todo.extend(
                (item, f'{here_path}[{i}]') for i, item in reversed(list(enumerate(here.items)))
            )
        elif isinstance(here, YamlMapping):
            children = []
            for key, value, _ in items(here):
                child_path = f'{here_path}.{key}' if here_path else key
                if key == 'step' and isinstance(value, YamlMapping):
                    image = get(value, 'image')
                    if image is not None:
                        yield from _image(image[0], image[1], f'{child_path}.image')
                    continue
                children.append((value, child_path))
            todo.extend(reversed(children))


def bitbucket(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'Bitbucket Pipelines'):
        image = get(top, 'image')
        if image is not None:
            yield from _image(image[0], image[1], 'image')
        definitions = get(top, 'definitions')
        if definitions is not None:
            services = get(definitions[0], 'services')
            if services is not None and isinstance(services[0], YamlMapping):
                for name, service, _ in items(services[0]):
                    image = get(service, 'image')
                    if image is not None:
                        yield from _image(
                            image[0], image[1], f'definitions.services.{name}.image',
                        )
            steps = get(definitions[0], 'steps')
            if steps is not None:
                yield from _bitbucket_steps(steps[0], 'definitions.steps')
        pipelines = get(top, 'pipelines')
        if pipelines is not None:
            yield from _bitbucket_steps(pipelines[0], 'pipelines')


def _circleci_config(top: YamlMapping, prefix: str) -> Iterator[Found]:
    for section in ('jobs', 'executors'):
        entries = get(top, section)
        if entries is None or not isinstance(entries[0], YamlMapping):
            continue
        for name, entry, _ in items(entries[0]):
            docker = get(entry, 'docker')
            if docker is None or not isinstance(docker[0], YamlSequence):
                continue
            for i, container in enumerate(docker[0].items):
                image = get(container, 'image')
                if image is not None and isinstance(image[0], Scalar):
                    yield Found(
                        f'{prefix}{section}.{name}.docker[{i}].image', image[0], image[1],
                    )


def circleci(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'CircleCI'):
        yield from _circleci_config(top, '')
        orbs = get(top, 'orbs')
        if orbs is not None and isinstance(orbs[0], YamlMapping):
            for name, orb, _ in items(orbs[0]):
                if isinstance(orb, YamlMapping):  # an inline orb, not name@version
                    yield from _circleci_config(orb, f'orbs.{name}.')


def cloudbuild(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'Cloud Build'):
        steps = get(top, 'steps')
        if steps is None or not isinstance(steps[0], YamlSequence):
            continue
        for i, step in enumerate(steps[0].items):
            name = get(step, 'name')
            if name is not None and isinstance(name[0], Scalar):
                yield Found(f'steps[{i}].name', name[0], name[1])


def cloudbuild_substitutions(path: str, documents: list[Node | None]) -> dict[str, str]:
    """``substitutions:`` defaults (user substitutions begin with ``_``;
    ``path``, unused, as the table of kinds passes it to every kind)."""
    values: dict[str, str] = {}
    for top in _mappings(documents):
        substitutions = get(top, 'substitutions')
        if substitutions is None or not isinstance(substitutions[0], YamlMapping):
            continue
        for name, value, _ in items(substitutions[0]):
            if isinstance(value, Scalar):
                values[name] = value.value
    return values


def drone(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'Drone or Woodpecker'):
        for section in ('steps', 'services', 'pipeline', 'clone'):
            entries = get(top, section)
            if entries is None:
                continue
            node = entries[0]
            if isinstance(node, YamlSequence):
                named = [(str(i), f'[{i}]', step) for i, step in enumerate(node.items)]
            elif isinstance(node, YamlMapping):
                named = [(name, f'.{name}', step) for name, step, _ in items(node)]
            else:
                continue
            for _, suffix, step in named:
                image = get(step, 'image')
                if image is not None and isinstance(image[0], Scalar):
                    yield Found(f'{section}{suffix}.image', image[0], image[1])


def devcontainer(documents: list[Node | None]) -> Iterator[Found]:
    """The top-level ``image`` (a Dockerfile or Compose build has none)."""
    for top in _require(documents, 'dev container'):
        image = get(top, 'image')
        if image is not None and isinstance(image[0], Scalar) and image[0].style == '"':
            yield Found('image', image[0], image[1])

