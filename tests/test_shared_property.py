"""The property behind every write: fix and update never put a digest into
a reference that did not resolve to it.

Files of every kind are generated with values shared through YAML anchors,
aliases and merge keys, and through ARG defaults used whole and in part;
the resolver (what every --source becomes, see resolve/sources.py) knows a
random part of the images, each at a digest of its own.  Read again with
the hooks' own reader, every reference either reads exactly as before or is
its own name and tag at the digest its own key resolved to.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Sequence

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from digestpin_hooks.fix import fix_files
from digestpin_hooks.read.files import load
from digestpin_hooks.reference import InvalidReference
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.update import update_files

from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from digestpin_hooks.resolve.answers import Answer

IMAGES = ('example.com/a:1', 'example.com/b:1', 'example.com/a:2', 'c:3')
OLD = 'sha256:' + '0' * 64


def digest_of(key: TagKey) -> str:
    return 'sha256:' + hashlib.sha256(repr((key.repository, key.tag)).encode()).hexdigest()


def _value(draw: st.DrawFn, anchors: list[str], prefix: str, written: str) -> str:
    """A scalar written plainly, under a new anchor, or as an alias."""
    choice = draw(st.sampled_from(('plain', 'anchor', 'alias') if anchors else ('plain', 'anchor')))
    if choice == 'alias':
        return '*' + draw(st.sampled_from(anchors))
    if choice == 'anchor':
        anchors.append(f'{prefix}{len(anchors)}')
        return f'&{anchors[-1]} {written}'
    return written


@st.composite
def helm(draw: st.DrawFn) -> tuple[str, str]:
    tags: list[str] = []
    digests: list[str] = []
    lines = []
    for k in range(draw(st.integers(1, 5))):
        name, _, tag = draw(st.sampled_from(IMAGES)).rpartition(':')
        lines += [f'i{k}:', '  image:', f'    repository: {name}']
        lines.append(f'    tag: {_value(draw, tags, "t", draw(st.sampled_from((f"{tag!r}", f"{tag}@{OLD}"))))}')
        if draw(st.booleans()):
            lines.append(f'    digest: {_value(draw, digests, "d", draw(st.sampled_from(("", OLD))))}')
    return 'values.yaml', '\n'.join(lines) + '\n'


@st.composite
def kustomize(draw: st.DrawFn) -> tuple[str, str]:
    tags: list[str] = []
    digests: list[str] = []
    lines = ['images:']
    for _ in range(draw(st.integers(1, 5))):
        name, _, tag = draw(st.sampled_from(IMAGES)).rpartition(':')
        lines += [f'- name: {name}', f'  newTag: {_value(draw, tags, "t", repr(tag))}']
        if draw(st.booleans()):
            lines.append(f'  digest: {_value(draw, digests, "d", OLD)}')
    return 'kustomization.yaml', '\n'.join(lines) + '\n'


@st.composite
def kustomize_merged(draw: st.DrawFn) -> tuple[str, str]:
    """Entries that merge anchored entries (``- <<: *e0``), so that a
    digest key added to one entry is read by others."""
    anchors: list[str] = []
    lines = ['images:']
    for k in range(draw(st.integers(1, 5))):
        name, _, tag = draw(st.sampled_from(IMAGES)).rpartition(':')
        body = []
        if anchors and draw(st.booleans()):
            merged = draw(st.lists(st.sampled_from(anchors), min_size=1, max_size=2, unique=True))
            body.append(f'<<: [{", ".join("*" + m for m in merged)}]')
        if draw(st.booleans()) or not body:
            body.append(f'name: {name}')
        if draw(st.booleans()) or len(body) == 1:
            body.append(f'newTag: "{tag}"')
        if draw(st.booleans()):
            body.append(f'digest: {draw(st.sampled_from(("", OLD, "~")))}')
        if draw(st.booleans()):
            anchors.append(f'e{k}')
            lines += [f'- &e{k}'] + [f'  {line}' for line in body]
        else:
            lines += [f'- {body[0]}'] + [f'  {line}' for line in body[1:]]
    return 'kustomization.yaml', '\n'.join(lines) + '\n'


@st.composite
def compose(draw: st.DrawFn) -> tuple[str, str]:
    anchors: list[str] = []
    lines = []
    for k in range(draw(st.integers(0, 2))):
        anchors.append(f'x{k}')
        lines.append(f'x-{k}: &x{k} {draw(st.sampled_from(IMAGES))}')
    lines.append('services:')
    for k in range(draw(st.integers(1, 4))):
        lines += [f'  s{k}:', f'    image: {_value(draw, anchors, "y", draw(st.sampled_from(IMAGES)))}']
    return 'compose.yaml', '\n'.join(lines) + '\n'


@st.composite
def gitlab(draw: st.DrawFn) -> tuple[str, str]:
    templates: list[str] = []
    images: list[str] = []
    lines = []
    for k in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            templates.append(f'b{k}')
            lines += [f'.b{k}: &b{k}', f'  image: {_value(draw, images, "i", draw(st.sampled_from(IMAGES)))}']
        lines += [f'j{k}:', '  script: [x]']
        if templates and draw(st.booleans()):
            lines.append(f'  <<: *{draw(st.sampled_from(templates))}')
        else:
            lines.append(f'  image: {_value(draw, images, "i", draw(st.sampled_from(IMAGES)))}')
    return '.gitlab-ci.yml', '\n'.join(lines) + '\n'


@st.composite
def kubernetes(draw: st.DrawFn) -> tuple[str, str]:
    images: list[str] = []
    lines = ['apiVersion: v1', 'kind: Pod', 'spec:', '  containers:']
    for k in range(draw(st.integers(1, 4))):
        lines += [f'  - name: c{k}', f'    image: {_value(draw, images, "c", draw(st.sampled_from(IMAGES)))}']
    return 'pod.yaml', '\n'.join(lines) + '\n'


@st.composite
def dockerfile(draw: st.DrawFn) -> tuple[str, str]:
    names: list[str] = []
    lines = []
    for k in range(draw(st.integers(1, 3))):
        if names and draw(st.booleans()):
            lines.append(f'ARG A{k}=${{{draw(st.sampled_from(names))}}}-slim')
        else:
            lines.append(f'ARG A{k}={draw(st.sampled_from(IMAGES))}')
        names.append(f'A{k}')
    for _ in range(draw(st.integers(1, 4))):
        lines.append(draw(st.sampled_from((
            f'FROM ${draw(st.sampled_from(names))}',
            f'FROM ${{{draw(st.sampled_from(names))}}}-slim',
            f'FROM {draw(st.sampled_from(IMAGES))}',
        ))))
    return 'Dockerfile', '\n'.join(lines) + '\n'


# (file name, its first lines, one entry's lines with {v} for an image value)
CI_FILES = (
    ('.github/workflows/ci.yml', ['jobs:'], ['  j{k}:', '    runs-on: x', '    container: {v}']),
    ('.github/workflows/ci.yml', ['jobs:'], ['  j{k}:', '    runs-on: x', '    services:',
                                             '      s:', '        image: {v}']),
    ('bitbucket-pipelines.yml', ['definitions:', '  services:'], ['    s{k}:', '      image: {v}']),
    ('.circleci/config.yml', ['version: 2.1', 'jobs:'], ['  j{k}:', '    docker:', '    - image: {v}']),
    ('cloudbuild.yaml', ['steps:'], ['- name: {v}']),
    ('.drone.yml', ['kind: pipeline', 'steps:'], ['- name: s{k}', '  image: {v}']),
)


@st.composite
def ci(draw: st.DrawFn) -> tuple[str, str]:
    name, lines, entry = draw(st.sampled_from(CI_FILES))
    lines = list(lines)
    anchors: list[str] = []
    for k in range(draw(st.integers(1, 4))):
        value = _value(draw, anchors, 'a', draw(st.sampled_from(IMAGES)))
        lines += [line.format(k=k, v=value) for line in entry]
    return name, '\n'.join(lines) + '\n'


devcontainer = st.sampled_from(IMAGES).map(
    lambda image: ('.devcontainer.json', f'// x\n{{"image": "{image}",}}\n'),
)
FILES = st.one_of(
    helm(), kustomize(), kustomize_merged(), compose(), gitlab(), kubernetes(), dockerfile(), ci(), devcontainer,
)


def _key(image: str) -> TagKey | None:
    try:
        return tag_key(parse_reference(image))
    except InvalidReference:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=FILES, known=st.sets(st.sampled_from(IMAGES)), command=st.sampled_from(('fix', 'update')))
def test_a_digest_lands_only_in_a_reference_that_resolved_to_it(
        file: tuple[str, str], known: set[str], command: str,
) -> None:
    name, text = file
    known_keys = {_key(image) for image in known}

    def resolver(keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        return {
            key: Found(digest_of(key)) if key in known_keys
            else Missing('not found', 'pull it') for key in keys
        }

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.path.join(folder, 'Chart.yaml'), 'w') as f:
            f.write('name: c\n')
        with open(path, 'w') as f:
            f.write(text)
        before = load(path)
        assert before.refs, text  # a file of its kind, with references
        if command == 'fix':
            _, _, errors, _ = fix_files([path], resolver, stdout=io.StringIO())
        else:
            _, _, errors, _ = update_files([path], resolver, stdout=io.StringIO())
        # an image it cannot resolve is update's error; the read-back never fails
        assert [e.message for e in errors if 'cannot update' not in e.message] == []
        after = load(path)
    assert len(after.refs) == len(before.refs), text
    for old, new in zip(before.refs, after.refs):
        if new.image == old.image:
            continue
        old_reference, new_reference = parse_reference(old.image), parse_reference(new.image)
        key = tag_key(old_reference)
        assert key in known_keys, (text, old.image, new.image)
        assert new_reference.digest == digest_of(key), (text, old.image, new.image)
        assert (new_reference.name, new_reference.tag) == (old_reference.name, old_reference.tag)
