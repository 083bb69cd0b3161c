"""The write paths attacked with hostile files: a run never writes a digest
into a reference it did not resolve, never changes another byte, never
crashes, and says "pinned" only for what is on disk.  Each case states the
exact outcome."""
from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from digestpin_hooks.fix import fix_files
from digestpin_hooks.fix import main as fix_main
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import TagKey
from tests.fakes import FakeDaemon
from tests.fakes import knows

A = 'sha256:' + 'a' * 64
B = 'sha256:' + 'b' * 64
IMAGES = {'example.com/a:1': A, 'example.com/b:1': B}


def fix(*args: str) -> int:
    daemon = FakeDaemon(knows(IMAGES))
    try:
        return fix_main(['--docker-host', f'unix://{daemon.path}', *args])
    finally:
        daemon.close()


def test_a_file_named_twice_is_pinned_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """``. Dockerfile``, ``./Dockerfile`` and a symlink to it name one file:
    once read twice, the second write was refused and the run said both
    "pinned" and "not pinned" for one reference, with exit status 2."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'Dockerfile').write_bytes(b'FROM example.com/a:1\n')
    os.symlink('Dockerfile', tmp_path / 'link.Dockerfile')
    assert fix('.', 'Dockerfile', './Dockerfile', 'link.Dockerfile') == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'Dockerfile:1:6: pinned example.com/a:1 -> example.com/a:1@{A}',
    ]
    assert err.splitlines() == ['summary: 1 pinned']
    assert (tmp_path / 'Dockerfile').read_bytes() == f'FROM example.com/a:1@{A}\n'.encode()


def resolves(keys: Sequence[TagKey]) -> dict[TagKey, Found | Missing]:
    """The resolver every --source becomes, knowing example.com/a:1 and b:1."""
    return {
        key: Found(IMAGES[f'{key.repository}:{key.tag}'])
        if f'{key.repository}:{key.tag}' in IMAGES else Missing('not found', 'pull it')
        for key in keys
    }


@pytest.mark.parametrize(
    ('before', 'after'),
    (
        # two entries: each digest key went to the end of the file, one
        # place for both, and they were reported as sharing a value
        (b'images:\r- name: example.com/a\r  newTag: "1"\r- name: example.com/b\r  newTag: "1"\r',
         f'images:\r- name: example.com/a\r  newTag: "1"\r  digest: {A}\r'
         f'- name: example.com/b\r  newTag: "1"\r  digest: {B}\r'.encode()),
        # one entry: the key was indented by the whole text before it, and
        # the read-back refused the file (internal error, exit 2)
        (b'images:\r- name: example.com/a\r  newTag: "1"\r',
         f'images:\r- name: example.com/a\r  newTag: "1"\r  digest: {A}\r'.encode()),
        # no final line break: the new line ends as the one above
        (b'images:\r- name: example.com/a\r  newTag: "1"',
         f'images:\r- name: example.com/a\r  newTag: "1"\r  digest: {A}'.encode()),
        (b'images:\r\n- name: example.com/a\r\n  newTag: "1"',
         f'images:\r\n- name: example.com/a\r\n  newTag: "1"\r\n  digest: {A}'.encode()),
    ),
)
def test_kustomize_digest_key_in_a_file_of_lone_cr_line_breaks(
        tmp_path: Path, before: bytes, after: bytes,
) -> None:
    """YAML ends a line at a lone \\r too (old Mac files; Go's yaml and
    PyYAML agree): the digest key is added at the end of its own entry."""
    path = tmp_path / 'kustomization.yaml'
    path.write_bytes(before)
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert (errors, left, changed) == ([], [], True)
    assert path.read_bytes() == after
    assert [p.after for p in pins] == [
        f'example.com/a:1@{A}', f'example.com/b:1@{B}',
    ][:len(pins)]
    assert len(pins) == after.count(b'digest: ')


DEPLOYMENT_LABELLED = b'''apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {image: nginx}
  annotations:
    image: example.com/a:1
spec:
  selector:
    matchLabels:
      image: nginx
  template:
    metadata:
      labels:
        image: nginx
    spec:
      nodeSelector: {image: nginx}
      containers:
      - name: a
        image: example.com/a:1
'''


def test_labels_and_annotations_named_image_are_not_pinned(tmp_path: Path) -> None:
    """A label's value cannot hold a digest (63 characters of
    [A-Za-z0-9_.-]): fix wrote one into each ``image:`` label, selector
    and node selector, so kubectl refused the manifest (and a Deployment's
    selector cannot change).  Only the container's image is pinned."""
    path = tmp_path / 'deploy.yaml'
    path.write_bytes(DEPLOYMENT_LABELLED)
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert (errors, left, changed) == ([], [], True)
    assert [(p.line, p.after) for p in pins] == [(20, f'example.com/a:1@{A}')]
    assert path.read_bytes() == DEPLOYMENT_LABELLED.replace(
        b'        image: example.com/a:1\n', f'        image: example.com/a:1@{A}\n'.encode(),
    )


HELM_LABELLED = b'''podLabels:
  image: nginx
commonAnnotations:
  image: example.com/b:1
nodeSelector: {image: nginx}
image:
  repository: example.com/a
  tag: "1"
'''


def test_helm_values_for_labels_and_annotations_are_not_pinned(tmp_path: Path) -> None:
    """A chart renders ``podLabels`` and the like into labels, which cannot
    hold a digest: fix pinned ``podLabels.image`` and the release failed."""
    (tmp_path / 'Chart.yaml').write_bytes(b'name: c\n')
    path = tmp_path / 'values.yaml'
    path.write_bytes(HELM_LABELLED)
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert (errors, left, changed) == ([], [], True)
    assert [(p.line, p.after) for p in pins] == [(7, f'example.com/a:1@{A}')]
    assert path.read_bytes() == HELM_LABELLED.replace(b'"1"', f'"1@{A}"'.encode())


def test_a_file_named_by_a_link_out_of_the_repository_and_by_itself(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Read once, the file is written under its own name: the link, which
    points out of its repository, is never written through."""
    (tmp_path / 'repo' / '.git').mkdir(parents=True)
    (tmp_path / 'outside').mkdir()
    target = tmp_path / 'outside' / 'Dockerfile'
    target.write_bytes(b'FROM example.com/a:1\n')
    link = tmp_path / 'repo' / 'Dockerfile'
    os.symlink(target, link)
    assert fix(str(link), str(target)) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'{target}:1:6: pinned example.com/a:1 -> example.com/a:1@{A}',
    ]
    assert err.splitlines() == ['summary: 1 pinned']
    assert target.read_bytes() == f'FROM example.com/a:1@{A}\n'.encode()
    assert os.readlink(link) == str(target)


@pytest.mark.parametrize(
    ('name', 'before', 'after'),
    (
        # filled, the field read as null (PyYAML) or was refused (Go's yaml)
        ('kustomization.yaml', b'images:\n- name: example.com/a\n  newTag: "1"\n  digest: !!null\n', None),
        ('kustomization.yaml', b'images:\n- name: example.com/a\n  newTag: "1"\n  digest: &d !!null ~\n', None),
        # "1@sha256:..." is no integer: the values no longer parsed
        ('values.yaml', b'image:\n  repository: example.com/a\n  tag: !!int 1\n', None),
        # a string's own tag stays, and the pin is made
        ('kustomization.yaml', b'images:\n- name: example.com/a\n  newTag: "1"\n  digest: !!str\n',
         f'images:\n- name: example.com/a\n  newTag: "1"\n  digest: !!str {A}\n'.encode()),
        ('values.yaml', b'image:\n  repository: example.com/a\n  tag: !!str 1\n',
         f'image:\n  repository: example.com/a\n  tag: !!str 1@{A}\n'.encode()),
    ),
)
def test_a_field_tagged_other_than_a_string_is_not_edited(
        tmp_path: Path, name: str, before: bytes, after: bytes | None,
) -> None:
    (tmp_path / 'Chart.yaml').write_bytes(b'name: c\n')
    path = tmp_path / name
    path.write_bytes(before)
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert errors == []
    assert path.read_bytes() == (after or before)
    assert changed == (after is not None)
    assert [p.after for p in pins] == ([f'example.com/a:1@{A}'] if after else [])
    assert [f.message.endswith('[written in a form digestpin-fix does not edit]') for f in left] == (
        [] if after else [True]
    )


KUSTOMIZE_MERGED_ENTRY = b'''images:
- &x
  name: example.com/a
  newTag: "1"
- <<: *x
  name: example.com/b
'''


def knows_a_only(keys: Sequence[TagKey]) -> dict[TagKey, Found | Missing]:
    return {
        key: Found(A) if key == TagKey('example.com/a', '1')
        else Missing('not found', 'pull it') for key in keys
    }


def test_a_digest_key_added_to_an_entry_another_merges(tmp_path: Path) -> None:
    """b merges a's entry: a digest key added to a's entry is b's too,
    unless b gets its own.  With b unresolved, a's key would have pinned b
    to a's digest: the read-back refused the file as an internal error
    (exit 2); now a is left as shared, and nothing fails."""
    path = tmp_path / 'kustomization.yaml'
    path.write_bytes(KUSTOMIZE_MERGED_ENTRY)
    pins, left, errors, changed = fix_files([str(path)], knows_a_only, stdout=io.StringIO())
    assert (pins, errors, changed) == ([], [], False)
    assert [(f.line, f.message) for f in left] == [
        (3, "'example.com/a:1' left unpinned: its value on line 4 is shared with "
            "line 5: pin by hand"),
        (5, "'example.com/b:1' left unpinned: not found (pull it)"),
    ]
    assert path.read_bytes() == KUSTOMIZE_MERGED_ENTRY
    # both resolved: each entry gets its own key, b's winning over a's
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert (left, errors, changed) == ([], [], True)
    assert [p.after for p in pins] == [f'example.com/a:1@{A}', f'example.com/b:1@{B}']
    assert path.read_bytes() == KUSTOMIZE_MERGED_ENTRY.replace(
        b'"1"\n', f'"1"\n  digest: {A}\n'.encode(),
    ) + f'  digest: {B}\n'.encode()


@pytest.mark.parametrize('properties', ('&x ', '!!map ', '&x !!map ', '&x\n  '))
def test_a_digest_key_in_a_flow_entry_after_its_anchor_or_tag(
        tmp_path: Path, properties: str,
) -> None:
    """``- &x {name: …}``: the entry is a flow mapping although its text
    starts at the anchor.  Taken for a block, it got a line after its
    brace, and the read-back failed the whole file (internal error)."""
    before = f'images:\n- {properties}{{name: example.com/a, newTag: "1"}}\n'
    path = tmp_path / 'kustomization.yaml'
    path.write_text(before)
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert (left, errors, changed) == ([], [], True)
    assert [p.after for p in pins] == [f'example.com/a:1@{A}']
    assert path.read_text() == before.replace('"1"}', f'"1", digest: {A}}}')


KUSTOMIZE_MERGED_LIST = b'''images:
- &e0
  name: example.com/a
  newTag: "1"
  digest:
- &e1
  name: example.com/a
  newTag: "1"
- <<: [*e1, *e0]
  newTag: "2"
'''


@pytest.mark.parametrize('known', (
    {TagKey('example.com/a', '1')}, {TagKey('example.com/a', '1'), TagKey('example.com/a', '2')},
))
def test_a_merged_digest_loses_to_a_key_added_to_a_mapping_merged_before(
        tmp_path: Path, known: set[TagKey],
) -> None:
    """The third entry reads e0's empty digest through ``<<: [*e1, *e0]``;
    a key added to e1, merged first, would win over it.  Found by the
    shared-value property: the read-back failed the file."""
    path = tmp_path / 'kustomization.yaml'
    path.write_bytes(KUSTOMIZE_MERGED_LIST)

    def resolver(keys: Sequence[TagKey]) -> dict[TagKey, Found | Missing]:
        return {
            key: Found(IMAGES['example.com/a:1'] if key.tag == '1' else B)
            if key in known else Missing('not found', 'pull it') for key in keys
        }

    pins, left, errors, changed = fix_files([str(path)], resolver, stdout=io.StringIO())
    assert (pins, errors, changed) == ([], [], False)
    assert path.read_bytes() == KUSTOMIZE_MERGED_LIST
    third = (
        "its value on line 5 is shared with line 3: pin by hand"
        if TagKey('example.com/a', '2') in known else 'not found (pull it)'
    )
    assert [(f.line, f.message) for f in left] == [
        (3, "'example.com/a:1' left unpinned: its value on line 5 is shared with "
            "line 9: pin by hand"),
        (7, "'example.com/a:1' left unpinned: its value on line 8 is shared with "
            "line 9: pin by hand"),
        (9, f"'example.com/a:2' left unpinned: {third}"),
    ]


WORKFLOW = (
    'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n'
    '  - name: t\n    resource:\n      manifest: |4-\n'
    '          apiVersion: argoproj.io/v1alpha1\n          kind: Workflow\n'
    '          spec:\n            templates:\n            - resource:\n'
    '                manifest: |\n                  apiVersion: v1\n'
    '                  kind: Pod\n                  metadata: {{name: "{{{{x}}}}"}}\n'
    '                  spec:\n                    containers:\n'
    '                    - {{name: a, image: example.com/a:1{a}}}\n'
    '                    - {{name: b, image: "{{{{inputs.image}}}}"}}\n'
)


@pytest.mark.parametrize(
    ('name', 'before', 'after'),
    (
        # a manifest held in a literal block held in another, with an
        # indentation indicator and {{ }}: pinned in place, byte for byte
        ('wf.yaml', WORKFLOW.format(a=''), WORKFLOW.format(a=f'@{A}')),
        # one flow line, the same image twice: two pins, nothing else moves
        ('compose.yaml', 'services: {{a: {{image: example.com/a:1{a}}}, '
                         'b: {{image: example.com/a:1{a}}}}}\r\n', None),
        # a here-document's FROM is text, not an instruction
        ('Dockerfile', 'FROM example.com/a:1{a}\nRUN <<EOF\nFROM example.com/b:1\nEOF\n', None),
        # BOM, CRLF, a comment between key and value, no final line break
        ('compose.yaml', '\ufeffservices:\r\n  a:\r\n    image:   # c\r\n'
                         '      example.com/a:1{a}', None),
        # GitLab reads the earlier of <<: [*t, *u]: j's image is t's
        ('.gitlab-ci.yml', '.t: &t\n  image: example.com/a:1{a}\n.u: &u\n  image: example.com/b:1{b}\n'
                           'j:\n  <<: [*t, *u]\n  script: [x]\n', None),
    ),
)
def test_hostile_files_that_hold(tmp_path: Path, name: str, before: str, after: str | None) -> None:
    if after is None:
        before, after = before.format(a='', b=''), before.format(a=f'@{A}', b=f'@{B}')
    path = tmp_path / name
    path.write_bytes(before.encode())
    pins, left, errors, changed = fix_files([str(path)], resolves, stdout=io.StringIO())
    assert (errors, changed) == ([], True)
    assert path.read_bytes() == after.encode()
    assert sorted(p.after for p in pins) == sorted(
        f'{image}@{digest}' for image, digest in IMAGES.items()
        for _ in range(after.count(digest))
    )
    assert [f.line for f in left] == ([20] if name == 'wf.yaml' else [])


@pytest.mark.parametrize('line', (b'IMG: example.com/b:1\n', b'IMG:example.com/b:1\n'))
def test_a_compose_default_the_env_file_overrides_in_yaml_style_is_not_pinned(
        tmp_path: Path, line: bytes,
) -> None:
    """``.env`` may write ``KEY: value`` (docker compose v2.40.3 reads it):
    the line was skipped, so the default Compose does not use was pinned,
    and the image it pulls went unreported."""
    compose = b'services:\n  a:\n    image: ${IMG:-example.com/a:1}\n'
    (tmp_path / 'compose.yaml').write_bytes(compose)
    (tmp_path / '.env').write_bytes(line)
    pins, left, errors, changed = fix_files(
        [str(tmp_path / 'compose.yaml')], resolves, stdout=io.StringIO(),
    )
    assert (pins, errors, changed) == ([], [], False)
    assert (tmp_path / 'compose.yaml').read_bytes() == compose
    assert [(f.line, f.code, f.message.split(' is not')[0]) for f in left] == [
        (3, 'DP001', "'example.com/b:1'"),
    ]


def knows_any(keys: Sequence[TagKey]) -> dict[TagKey, Found | Missing]:
    """A resolver with a digest for every name: what the file lets through
    is what is tested, not what a registry holds."""
    return {key: Found(A) for key in keys}


POD = b'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: %s\n'


def test_an_image_tagged_other_than_a_string_is_not_edited(tmp_path: Path) -> None:
    """Go's yaml.v3 (kubectl) refuses "1@sha256:..." as an !!int: the
    file would no longer parse once pinned."""
    path = tmp_path / 'pod.yaml'
    before = POD % b'!!int 1'
    path.write_bytes(before)
    pins, left, errors, changed = fix_files([str(path)], knows_any, stdout=io.StringIO())
    assert (pins, errors, changed) == ([], [], False)
    assert path.read_bytes() == before
    assert [f.message.endswith('[written in a form digestpin-fix does not edit]') for f in left] == [True]


def test_a_compose_volume_source_tagged_other_than_a_string_refuses_the_file(
        tmp_path: Path,
) -> None:
    """Compose refuses such a source (``must be a string``), as it refuses
    such an image (the test below): the file's one error, nothing written
    (tests/test_real_tools.py asks Compose)."""
    path = tmp_path / 'compose.yaml'
    before = b'services:\n  a:\n    volumes:\n    - {type: image, source: !!int 1, target: /x}\n'
    path.write_bytes(before)
    pins, left, errors, changed = fix_files([str(path)], knows_any, stdout=io.StringIO())
    assert (pins, left, changed) == ([], [], False)
    assert [e.message for e in errors] == [
        'line 4: services.a.volumes[0].source is a number, not a string: Compose refuses the file',
    ]
    assert path.read_bytes() == before


@pytest.mark.parametrize('before', (
    b'services:\n  a:\n    image: !!int 1\n',
    b'services:\n  a:\n    image: !!float 1.5\n',
    b'services:\n  a:\n    image: &i !!bool true\n',
    b'services:\n  a:\n    image: !<tag:yaml.org,2002:int> 1\n',
    b'%TAG !e! tag:yaml.org,2002:\n---\nservices:\n  a:\n    image: !e!int 1\n',
    # ! alone is no tag to yaml.v3: 1 is resolved, an int
    b'services:\n  a:\n    image: ! 1\n',
))
def test_a_compose_image_tagged_other_than_a_string_is_a_file_compose_refuses(
        tmp_path: Path, before: bytes,
) -> None:
    """Compose refuses the whole file (``services.a.image must be a
    string``): one error, nothing written (it was a finding left unedited)."""
    path = tmp_path / 'compose.yaml'
    path.write_bytes(before)
    pins, left, errors, changed = fix_files([str(path)], knows_any, stdout=io.StringIO())
    assert (pins, left, changed) == ([], [], False)
    assert [e.message.endswith('not a string: Compose refuses the file') for e in errors] == [True]
    assert path.read_bytes() == before


@pytest.mark.parametrize('tag', (b'!!str ', b'!custom ', b'!override '))
def test_an_image_tagged_a_string_is_pinned(tmp_path: Path, tag: bytes) -> None:
    """The tags that leave it a string (or that Compose reads as one)."""
    path = tmp_path / 'compose.yaml'
    path.write_bytes(b'services:\n  a:\n    image: ' + tag + b'1\n')
    pins, left, errors, changed = fix_files([str(path)], knows_any, stdout=io.StringIO())
    assert (left, errors, changed) == ([], [], True)
    assert path.read_bytes() == b'services:\n  a:\n    image: ' + tag + f'1@{A}\n'.encode()


@pytest.mark.parametrize(('dotenv', 'pinned'), (
    # IMG is empty (Compose: "a:1" is what runs), not "$UNSET"
    (b'IMG=$UNSET\n', True),
    # IMG is example.com/b:1 (what Compose pulls), not "example.com/b:$T"
    (b'T=1\nIMG=example.com/b:$T\n', False),
))
def test_a_compose_default_and_an_env_file_value_built_of_variables(
        tmp_path: Path, dotenv: bytes, pinned: bool,
) -> None:
    """Compose interpolates a ``.env`` value with the lines above it; the
    reader took ``$UNSET`` for the image (DP005), so the default Compose
    pulls was neither reported nor pinned."""
    compose = b'services:\n  a:\n    image: ${IMG:-example.com/a:1}\n'
    (tmp_path / 'compose.yaml').write_bytes(compose)
    (tmp_path / '.env').write_bytes(dotenv)
    pins, left, errors, changed = fix_files(
        [str(tmp_path / 'compose.yaml')], resolves, stdout=io.StringIO(),
    )
    assert (errors, changed) == ([], pinned)
    if pinned:
        assert left == []
        assert (tmp_path / 'compose.yaml').read_bytes() == compose.replace(
            b'a:1}', f'a:1@{A}}}'.encode(),
        )
    else:
        assert [(f.code, f.message.split(' is not')[0]) for f in left] == [
            ('DP001', "'example.com/b:1'"),
        ]
        assert (tmp_path / 'compose.yaml').read_bytes() == compose
