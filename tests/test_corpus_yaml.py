"""The YAML corpus: our references against an independent YAML walk, and a
fix of every file that changes only image references."""
from __future__ import annotations

import collections
import hashlib
import re
from typing import Any

import pytest
import yaml

from digestpin_hooks.fix import fix_file
from digestpin_hooks.fix import Pin
from digestpin_hooks.fix import Plan
from digestpin_hooks.fix import plan_file
from digestpin_hooks.read.files import load
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.read.yaml_refs import parse_yaml
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.text import encode
from tests.corpus import require_yaml_corpus
from tests.corpus import yaml_corpus_files


class Tolerant(getattr(yaml, 'CSafeLoader', yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's, when PyYAML has it) that takes
    custom tags (!Ref …) as plain data."""


Tolerant.add_multi_constructor(
    '!', lambda loader, suffix, node: (
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def walk(kind: str, documents: list[Any]) -> list[str]:
    """Image strings, counted as the corpus README counts them, except that
    a mapping reached again through an alias is counted once."""
    found: list[str] = []
    seen: set[object] = set()

    def add(value: Any, holder: object) -> None:
        # PyYAML builds a node once: a mapping reached again through an alias
        # is the same dict, a value merged in by ``<<`` the same str
        keys = {holder, ('value', id(value))}
        if keys & seen:
            return
        seen.update(keys)
        if isinstance(value, str) and value:
            found.append(value)

    def mapping(value: Any) -> dict[Any, Any]:
        return value if isinstance(value, dict) else {}

    if kind == 'compose':
        services = mapping(mapping(documents[0]).get('services'))
        built = {
            s.get('image') for s in services.values() if isinstance(s, dict) and 'build' in s
        }
        for service in services.values():
            if isinstance(service, dict) and 'build' not in service:
                add(service.get('image'), id(service))
            # volumes of type image, which Compose pulls (the oracle's
            # ``svc:volume N`` rows), unless a service builds that image
            volumes = service.get('volumes') if isinstance(service, dict) else None
            for volume in volumes if isinstance(volumes, list) else ():
                if isinstance(volume, dict) and volume.get('type') == 'image' and (
                    volume.get('source') not in built
                ):
                    add(volume.get('source'), id(volume))
    elif kind == 'kubernetes':
        def visit(node: Any, root: bool = False) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == 'status' and (root or 'apiVersion' in node and 'kind' in node):
                        continue  # what the cluster reports, not what it pulls
                    if key == 'image' and not isinstance(value, (dict, list)):
                        add(value if isinstance(value, str) else None, ('image', id(node)))
                    else:
                        visit(value)
            elif isinstance(node, list):
                for item in node:
                    visit(item)
        for document in documents:
            visit(document, root=True)
    else:
        top = mapping(documents[0])
        for job in mapping(top.get('jobs')).values():
            if not isinstance(job, dict):
                continue
            def runner(image: Any) -> Any:  # the runner strips docker://
                if isinstance(image, str) and image.startswith('docker://'):
                    return image[len('docker://'):]
                return image
            container = job.get('container')
            if isinstance(container, dict):
                add(runner(container.get('image')), id(container))
            else:
                add(runner(container), ('container', id(job)))
            for service in mapping(job.get('services')).values():
                if isinstance(service, dict):
                    add(runner(service.get('image')), id(service))
            steps = job.get('steps')
            for step in steps if isinstance(steps, list) else ():
                uses = step.get('uses') if isinstance(step, dict) else None
                if isinstance(uses, str) and uses.startswith('docker://'):
                    add(uses[len('docker://'):], id(step))
        runs = top.get('runs')
        if isinstance(runs, dict) and str(runs.get('using', '')).lower() == 'docker':
            image = runs.get('image')
            if isinstance(image, str) and image.startswith('docker://'):
                add(image[len('docker://'):], id(runs))
    return found


VARIABLE = '<a reference with variables>'


def test_every_reference_a_yaml_walk_finds(capsys: pytest.CaptureFixture[str]) -> None:
    require_yaml_corpus()
    totals: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    disagreements = []
    for path, kind in yaml_corpus_files():
        with open(path, 'rb') as f:
            data = f.read()
        documents = list(yaml.load_all(data, Loader=Tolerant))
        # references with variables are compared by number: our image is
        # the interpolated value, the walk's the text as written
        expected = collections.Counter(
            VARIABLE if '$' in value else value for value in walk(kind, documents)
        )
        loaded = load(path, kind)
        ours = collections.Counter(
            VARIABLE if ref.has_variables else ref.image for ref in loaded.refs
        )
        totals[kind]['walk'] += sum(expected.values())
        totals[kind]['agree'] += sum((expected & ours).values())
        if expected != ours:
            disagreements.append((path, expected - ours, ours - expected))
    assert disagreements == []
    with capsys.disabled():
        print('\n[corpus-yaml] ' + '; '.join(
            f'{kind}: {t["agree"]}/{t["walk"]} references agree'
            for kind, t in sorted(totals.items())
        ))


def fake_digest(key: TagKey) -> str:
    return 'sha256:' + hashlib.sha256(familiar(key).encode()).hexdigest()


def fixed_with_fake_digests(loaded: LoadedFile) -> tuple[Plan, bytes, list[Pin], set[str]]:
    """A file fixed with a made-up digest for each reference: (its plan,
    the fixed bytes, the pins, the '@digest' texts inserted)."""
    plan = plan_file(loaded)
    keys = [tag_key(parsed) for _, _, parsed in plan.wanted if parsed is not None]
    text, file_pins, _, _ = fix_file(
        plan, {k: Found(fake_digest(k)) for k in keys}, keep_tag=True,
    )
    return plan, encode(text, loaded.doc.bom), file_pins, {f'@{fake_digest(k)}' for k in keys}


def refixed(loaded: LoadedFile, data: bytes, kind: str) -> Plan:
    """The fix plan of a fixed file, read again."""
    doc, refs = parse_yaml(data, loaded.path, kind)
    return plan_file(loaded.replace(data=data, doc=doc, refs=refs))


def _strip_pins(value: Any, inserted: set[str]) -> Any:
    if isinstance(value, str):
        return re.sub(r'@sha256:[0-9a-f]{64}', lambda m: '' if m.group() in inserted else m.group(), value)
    if isinstance(value, list):
        return [_strip_pins(v, inserted) for v in value]
    if isinstance(value, dict):
        return {k: _strip_pins(v, inserted) for k, v in value.items()}
    return value


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_fixing_every_file_changes_only_image_references() -> None:
    require_yaml_corpus()
    pinned_files = pins = 0
    for path, kind in yaml_corpus_files():
        loaded = load(path, kind)
        plan, data, file_pins, inserted = fixed_with_fake_digests(loaded)
        restored = re.sub(
            rb'@sha256:[0-9a-f]{64}',
            lambda m: b'' if m.group().decode() in inserted else m.group(), data,
        )
        assert restored == loaded.data, path
        before = list(yaml.load_all(loaded.data, Loader=Tolerant))
        after = list(yaml.load_all(data, Loader=Tolerant))
        assert _strip_pins(after, inserted) == before, path
        if file_pins:
            pinned_files += 1
            pins += len(file_pins)
            # the fixed file itself, read again: one digest each, and a
            # second fix has nothing left to pin
            again = refixed(loaded, data, kind)
            assert all(ref.image.count('@sha256:') <= 1 for ref in again.loaded.refs), path
            assert not [key for _, _, key in again.wanted if key is not None], path
    assert pinned_files > 400 and pins > 800
