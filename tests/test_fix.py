"""The fixer's core with a resolver that knows every image: no daemon needed."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.fix import fix_file
from digestpin_hooks.fix import fix_files
from digestpin_hooks.fix import plan_file
from digestpin_hooks.read.dockerfile.parser import Dockerfile
from digestpin_hooks.read.dockerfile.parser import parse
from digestpin_hooks.read.dockerfile.references import image_refs
from digestpin_hooks.read.files import load
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.read.files import UnreadableFile
from digestpin_hooks.reference import parse_reference
from digestpin_hooks.reference import Reference
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.text import encode
from tests.corpus import CORPUS
from tests.corpus import oracle_entries
from tests.corpus import require_corpus

from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from digestpin_hooks.resolve.answers import Answer


def fake_digest(key: TagKey) -> str:
    return 'sha256:' + hashlib.sha256(familiar(key).encode()).hexdigest()


def knows_everything(keys: list[TagKey]) -> dict[TagKey, Answer]:
    return {key: Found(fake_digest(key)) for key in keys}


def fixed(data: bytes, *, keep_tag: bool = True) -> bytes:
    doc = parse(data)
    plan = plan_file(LoadedFile('Dockerfile', data, doc, image_refs(doc)))
    keys = [tag_key(parsed) for _, _, parsed in plan.wanted if parsed is not None]
    text, _, _, _ = fix_file(plan, knows_everything(keys), keep_tag=keep_tag)
    return encode(text, doc.bom)


D = fake_digest


@pytest.mark.parametrize(
    ('before', 'after'),
    (
        (b'FROM node:20\n', f'FROM node:20@{D(TagKey("docker.io/library/node", "20"))}\n'.encode()),
        (b'from  ubuntu  as b', f'from  ubuntu@{D(TagKey("docker.io/library/ubuntu", "latest"))}  as b'.encode()),
        (b'ARG B="node:20"\nFROM $B\n', f'ARG B="node:20@{D(TagKey("docker.io/library/node", "20"))}"\nFROM $B\n'.encode()),
        (b'ARG B\nFROM ${B:-a/b:1}\n', f'ARG B\nFROM ${{B:-a/b:1@{D(TagKey("docker.io/a/b", "1"))}}}\n'.encode()),
        (b'ARG V=1\nFROM a:${V}\n', b'ARG V=1\nFROM a:${V}\n'),
        (b'FROM $UNSET\n', b'FROM $UNSET\n'),
        (b'FROM Bad:1\n', b'FROM Bad:1\n'),
        (b'# escape=`\nFROM mcr.microsoft.com/w:1 `\n  AS x\n',
         f'# escape=`\nFROM mcr.microsoft.com/w:1@{D(TagKey("mcr.microsoft.com/w", "1"))} `\n  AS x\n'.encode()),
    ),
)
def test_fix_text(before: bytes, after: bytes) -> None:
    assert fixed(before) == after
    assert fixed(after) == after  # fixing twice changes nothing


def test_fix_parses_each_reference_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check parses a reference to find it, and fix pins that parse: it
    does not parse the reference again to plan or to write the pin."""
    import digestpin_hooks.check.findings
    import digestpin_hooks.fix
    parsed: list[str] = []

    def counting(text: str) -> Reference:
        parsed.append(text)
        return parse_reference(text)
    for module in (digestpin_hooks.check.findings, digestpin_hooks.fix):
        monkeypatch.setattr(module, 'parse_reference', counting, raising=False)
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM node:20\nFROM ubuntu\n')
    pins, left, errors, changed = fix_files([str(path)], knows_everything, allow=['other/*'])
    assert (len(pins), left, errors, changed) == (2, [], [], True)
    assert parsed == ['node:20', 'ubuntu']


def test_no_keep_tag() -> None:
    digest = D(TagKey('ghcr.io/o/r', 'v1'))
    assert fixed(b'FROM ghcr.io/o/r:v1\n', keep_tag=False) == f'FROM ghcr.io/o/r@{digest}\n'.encode()


def test_fix_files_writes_only_changed_files(tmp_path: Path) -> None:
    pinned = tmp_path / 'pinned' / 'Dockerfile'
    pinned.parent.mkdir()
    pinned.write_bytes(b'FROM a@sha256:' + b'1' * 64 + b'\n')
    os.utime(pinned, ns=(1, 1))
    loose = tmp_path / 'Dockerfile'
    loose.write_bytes(b'FROM a:1\n')
    pins, left, errors, changed = fix_files(
        [str(pinned), str(loose)], knows_everything,
    )
    assert changed and not left and not errors
    assert [(p.path, p.line, p.column, p.before) for p in pins] == [(str(loose), 1, 6, 'a:1')]
    assert pinned.stat().st_mtime_ns == 1


def test_symlink_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / 'real.Dockerfile'
    target.write_bytes(b'FROM a:1\n')
    link = tmp_path / 'Dockerfile'
    link.symlink_to(target.name)
    fix_files([str(link)], knows_everything)
    assert link.is_symlink()
    assert target.read_bytes().startswith(b'FROM a:1@sha256:')


def test_unreadable_file_is_an_error_others_fixed(tmp_path: Path) -> None:
    (tmp_path / 'ok').write_bytes(b'FROM a:1\n')
    pins, _, errors, _ = fix_files(
        [str(tmp_path / 'missing'), str(tmp_path / 'ok')], knows_everything,
    )
    assert [e.path for e in errors] == [str(tmp_path / 'missing')]
    assert len(pins) == 1


_DIGEST_RE = re.compile(rb'@sha256:[0-9a-f]{64}')


def _instructions(text: str) -> list[tuple[object, ...]]:
    import dockerfile
    return [
        (c.cmd, c.sub_cmd, c.json, c.start_line, c.end_line, c.flags, c.value, c.heredocs)
        for c in dockerfile.parse_string(text)
    ]


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_corpus_round_trip() -> None:
    """Fixing every corpus file changes only image references."""
    require_corpus()
    pytest.importorskip('dockerfile')
    files = pins = 0
    for entry in oracle_entries():
        path = os.path.join(CORPUS, entry['file'])
        try:
            loaded = load(path)
        except UnreadableFile:
            continue
        plan = plan_file(loaded)
        keys = [tag_key(parsed) for _, _, parsed in plan.wanted if parsed is not None]
        text, file_pins, left, _ = fix_file(plan, knows_everything(keys), keep_tag=True)
        data = encode(text, loaded.doc.bom)
        inserted = {f'@{D(k)}'.encode() for k in keys}
        assert re.sub(
            rb'@sha256:[0-9a-f]{64}',
            lambda m: b'' if m.group() in inserted else m.group(), data,
        ) == loaded.data, entry['file']
        if not entry['parse_error']:
            strip = lambda s: _DIGEST_RE.sub(  # noqa: E731
                lambda m: b'' if m.group() in inserted else m.group(), s.encode('utf-8', 'surrogateescape'),
            ).decode('utf-8', 'surrogateescape')
            theirs_before = _instructions(loaded.doc.text)
            theirs_after = [
                tuple(strip(x) if isinstance(x, str) else tuple(strip(y) if isinstance(y, str) else y for y in x) if isinstance(x, tuple) else x for x in ins)
                for ins in _instructions(text)
            ]
            assert theirs_after == theirs_before, entry['file']
        doc = parse(data)
        still = [f for f in findings_for(path, doc, image_refs(doc)) if f.code in ('DP001', 'DP002')]
        not_editable = [f for f in still if not _editable_at(doc, f)]
        assert still == not_editable, entry['file']
        files += 1
        pins += len(file_pins)
    # the files BuildKit v0.32 reads (it refuses 65 of the 2,927)
    assert files > 2800 and pins > 2850


def _editable_at(doc: Dockerfile, finding: Finding) -> bool:
    """Whether the reference behind a finding could have been rewritten."""
    return any(
        ref.editable and doc.position(ref.span[0]) == (finding.line, finding.column)
        for ref in image_refs(doc)
    )


# a value several references read (a YAML anchor used through aliases, an
# ARG default used by several FROMs) is pinned only when every reference
# that reads it gets that very edit; else the file stays as it is and each
# such reference says with which lines it shares the value
HELM_SHARED_TAG = (
    b'a:\n  image:\n    repository: example.com/a\n    tag: &t "1.0"\n'
    b'b:\n  image:\n    repository: example.com/b\n    tag: *t\n'
)
HELM_SHARED_TAG_ONE_DIGEST_FIELD = (
    b'a:\n  image:\n    repository: example.com/a\n    tag: &t "1.0"\n    digest: ""\n'
    b'b:\n  image:\n    repository: example.com/b\n    tag: *t\n'
)
HELM_ONE_IMAGE_EMPTY_ANCHOR = (
    b'a:\n  image:\n    repository: example.com/a\n    tag: "1.0"\n    digest: &d\n'
    b'b:\n  image:\n    repository: example.com/a\n    tag: "1.0"\n    digest: *d\n'
)
KUSTOMIZE_ALIAS_TAG = (
    b'images:\n- name: example.com/a\n  newTag: &t "1.0"\n'
    b'- name: example.com/b\n  newTag: *t\n'
)
KUSTOMIZE_SHARED_DIGEST = (
    b'images:\n- name: example.com/a\n  newTag: "1.0"\n  digest: &d ""\n'
    b'- name: example.com/b\n  newTag: "1.0"\n  digest: *d\n'
)
DOCKERFILE_WHOLE_AND_PART = b'ARG IMG=example.com/a:1.0\nFROM $IMG\nFROM ${IMG}-slim\n'
DOCKERFILE_WHOLE_AND_CHAINED = (
    b'ARG IMG=example.com/a:1.0\nARG SLIM=${IMG}-slim\nFROM $IMG\nFROM $SLIM\n'
)
COMPOSE_X_ANCHOR = (
    b'x-img: &img example.com/a:1.0\nservices:\n  a:\n    image: *img\n'
    b'  b:\n    image: *img\n'
)
GITLAB_MERGE_KEY = (
    b'.base: &base\n  image: example.com/a:1.0\nj1:\n  <<: *base\n  script: [x]\n'
    b'j2:\n  <<: *base\n  script: [y]\n'
)
A = D(TagKey('example.com/a', '1.0'))
B = D(TagKey('example.com/b', '1.0'))


def _shared(image: str, value: str, lines: str) -> str:
    return f'{image!r} left unpinned: its value{value} is shared with {lines}: pin by hand'


@pytest.mark.parametrize(
    ('name', 'before', 'after', 'left'),
    (
        ('values.yaml', HELM_SHARED_TAG, HELM_SHARED_TAG, [
            (3, _shared('example.com/a:1.0', ' on line 4', 'line 7')),
            (7, _shared('example.com/b:1.0', ' on line 4', 'line 3')),
        ]),
        # a's own digest field is free, but b's pin would go into the tag a reads
        ('values.yaml', HELM_SHARED_TAG_ONE_DIGEST_FIELD,
         HELM_SHARED_TAG_ONE_DIGEST_FIELD.replace(b'digest: ""', f'digest: "{A}"'.encode()), [
            (8, _shared('example.com/b:1.0', ' on line 4', 'line 3')),
        ]),
        # b's digest goes into b's entry, after its alias: not after the anchor
        ('kustomization.yaml', KUSTOMIZE_ALIAS_TAG,
         KUSTOMIZE_ALIAS_TAG.replace(b'&t "1.0"\n', f'&t "1.0"\n  digest: {A}\n'.encode())
         + f'  digest: {B}\n'.encode(), []),
        ('kustomization.yaml', KUSTOMIZE_SHARED_DIGEST, KUSTOMIZE_SHARED_DIGEST, [
            (2, _shared('example.com/a:1.0', ' on line 4', 'line 5')),
            (5, _shared('example.com/b:1.0', ' on line 4', 'line 2')),
        ]),
        ('Dockerfile', DOCKERFILE_WHOLE_AND_PART, DOCKERFILE_WHOLE_AND_PART, [
            (1, _shared('example.com/a:1.0', '', 'line 3')),
            (3, "'example.com/a:1.0-slim' is not pinned to a digest"),
        ]),
        ('Dockerfile', DOCKERFILE_WHOLE_AND_CHAINED, DOCKERFILE_WHOLE_AND_CHAINED, [
            (1, _shared('example.com/a:1.0', '', 'line 2')),
            (2, "'example.com/a:1.0-slim' is not pinned to a digest"),
        ]),
        # one scalar, one image: every reader gets the same digest; an empty
        # anchored value is written after its anchor
        ('values.yaml', HELM_ONE_IMAGE_EMPTY_ANCHOR, HELM_ONE_IMAGE_EMPTY_ANCHOR.replace(
            b'&d\n', f'&d {A}\n'.encode()), []),
        ('compose.yaml', COMPOSE_X_ANCHOR, COMPOSE_X_ANCHOR.replace(
            b'a:1.0\n', f'a:1.0@{A}\n'.encode(), 1), []),
        ('.gitlab-ci.yml', GITLAB_MERGE_KEY, GITLAB_MERGE_KEY.replace(
            b'a:1.0\n', f'a:1.0@{A}\n'.encode()), []),
    ),
)
def test_shared_values(
        tmp_path: Path, name: str, before: bytes, after: bytes, left: list[tuple[int, str]],
) -> None:
    path = tmp_path / name
    if name == 'values.yaml':
        (tmp_path / 'Chart.yaml').write_bytes(b'name: c\n')
    path.write_bytes(before)
    pins, found, errors, changed = fix_files([str(path)], knows_everything)
    assert errors == []
    assert path.read_bytes() == after
    assert changed == (after != before)
    assert len(found) == len(left)
    assert [(f.line, f.message[:len(m)]) for f, (_, m) in zip(found, left)] == left
    # what fix says it pinned is exactly what the file now holds
    # (two references that share one value are two pins of one digest)
    assert {p.digest for p in pins} == {
        m.decode() for m in re.findall(rb'sha256:[0-9a-f]{64}', after)
    }


def test_a_shared_value_leaves_only_its_file_alone(tmp_path: Path) -> None:
    """Overlapping edits once failed the whole run (ValueError): now the
    file with the shared value stays as it is, and the others are pinned."""
    (tmp_path / 'Chart.yaml').write_bytes(b'name: c\n')
    (tmp_path / 'values.yaml').write_bytes(HELM_SHARED_TAG)
    (tmp_path / 'Dockerfile').write_bytes(b'FROM example.com/a:1.0\n')
    pins, left, errors, changed = fix_files(
        [str(tmp_path / 'values.yaml'), str(tmp_path / 'Dockerfile')], knows_everything,
    )
    assert changed and errors == []
    assert [(p.path, p.after) for p in pins] == [
        (str(tmp_path / 'Dockerfile'), f'example.com/a:1.0@{A}'),
    ]
    assert (tmp_path / 'Dockerfile').read_bytes() == f'FROM example.com/a:1.0@{A}\n'.encode()
    assert (tmp_path / 'values.yaml').read_bytes() == HELM_SHARED_TAG
    assert [(f.path, f.line) for f in left] == [
        (str(tmp_path / 'values.yaml'), 3), (str(tmp_path / 'values.yaml'), 7),
    ]


def test_shared_value_cli_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from digestpin_hooks.fix import main
    from tests.fakes import FakeDaemon
    from tests.fakes import knows
    path = tmp_path / 'Dockerfile'
    path.write_bytes(DOCKERFILE_WHOLE_AND_PART)
    daemon = FakeDaemon(knows({'example.com/a:1.0': 'sha256:' + 'c' * 64}))
    try:
        code = main(['--docker-host', f'unix://{daemon.path}', str(path)])
    finally:
        daemon.close()
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[0] == (
        f"{path}:1:9: DP001 'example.com/a:1.0' left unpinned: its value is "
        f"shared with line 3: pin by hand"
    )
    assert ': pinned ' not in out
    assert path.read_bytes() == DOCKERFILE_WHOLE_AND_PART


def test_fix_applies_all_edits_of_a_file_in_one_pass(tmp_path: Path) -> None:
    """3,200 references in 11 MB cost at most 20 times what 320 in 1.1 MB
    cost (10 is linear; splicing edit by edit, which copied the whole text
    for each, made it 60-100).  CPU time, the least of a few runs, so that
    a busy machine cannot decide it; 20, not 15: 11 MB does not stay in the
    caches that 1.1 MB does, and with the other xdist worker busy the
    linear code measured 15.0 once (9.6-10.4 alone)."""
    import time

    from tests.timing import untraced

    def cost(count: int) -> float:
        path = tmp_path / str(count) / 'Dockerfile'
        path.parent.mkdir()
        data = b''.join(
            b'FROM example.com/app%d:1\n# %s\n' % (k, b'x' * 3400) for k in range(count)
        )
        best = float('inf')
        for _ in range(3):
            path.write_bytes(data)
            start = time.process_time()
            with untraced():
                pins, left, errors, _ = fix_files([str(path)], knows_everything)
            best = min(best, time.process_time() - start)
            assert (len(pins), left, errors) == (count, [], [])
        return best

    small, large = cost(320), cost(3200)
    print(f'[growth] fix, 3,200 / 320 references = {large / small:.1f}')
    assert large / small <= 20


def test_a_pin_past_buildkits_line_limit_is_left_and_the_others_are_made(tmp_path: Path) -> None:
    """A pin that would carry a FROM line past BuildKit's 65,535-byte line
    limit would make a file BuildKit refuses: that reference is left
    unpinned, with why (a finding, not an internal error), and the other
    references, of that file and the others, are pinned (on main: 'internal
    error: the pinned text no longer reads …', nothing of that file pinned)."""
    long_line = b'FROM example.com/a:1.0 AS ' + b's' * (65535 - 30) + b'\n'
    (tmp_path / 'long.Dockerfile').write_bytes(long_line + b'FROM example.com/a:1.0\n')
    (tmp_path / 'Dockerfile').write_bytes(b'FROM example.com/a:1.0\n')
    pins, left, errors, changed = fix_files(
        [str(tmp_path / 'long.Dockerfile'), str(tmp_path / 'Dockerfile')], knows_everything,
    )
    assert (tmp_path / 'long.Dockerfile').read_bytes() == long_line + f'FROM example.com/a:1.0@{A}\n'.encode()
    assert (tmp_path / 'Dockerfile').read_bytes() == f'FROM example.com/a:1.0@{A}\n'.encode()
    assert [(p.path, p.line) for p in pins] == [
        (str(tmp_path / 'long.Dockerfile'), 2), (str(tmp_path / 'Dockerfile'), 1),
    ]
    assert errors == []
    assert changed
    assert [(f.path, f.line, f.code, f.message) for f in left] == [(
        str(tmp_path / 'long.Dockerfile'), 1, 'DP001',
        "'example.com/a:1.0' left unpinned: pinned, line 1 would be longer than "
        "the 65,535 bytes BuildKit reads; shorten the line",
    )]


@pytest.mark.parametrize(('bom', 'newline', 'pinned_bytes', 'pinned'), (
    # BuildKit's scanner holds the whole physical line, its \r and a
    # leading BOM too: asked of Docker 20.10's BuildKit, a first line of
    # 65,533 bytes after a BOM is refused, 65,532 read; a CRLF line of
    # 65,534 bytes and its \r read, of 65,535 and its \r refused
    (False, b'\n', 65535, True),
    (False, b'\n', 65536, False),
    (True, b'\n', 65532, True),
    (True, b'\n', 65533, False),
    (False, b'\r\n', 65535, True),  # with its \r
    (False, b'\r\n', 65536, False),
))
def test_the_line_limit_counts_what_buildkits_scanner_holds(
        tmp_path: Path, bom: bool, newline: bytes, pinned_bytes: int, pinned: bool,
) -> None:
    """A pin that would make the first line, after a BOM, 65,533 to 65,535
    bytes long was made (on main): a file BuildKit refuses, which our own
    reader read back (it counted the line without the BOM)."""
    head = b'FROM example.com/a:1.0 AS '
    pin = f'@{A}'.encode()
    # the stage name's length makes the pinned line (its \r included) that long
    name = b's' * (pinned_bytes - len(newline) + 1 - len(head) - len(pin))
    line = head + name + newline
    data = (b'\xef\xbb\xbf' if bom else b'') + line + b'FROM example.com/a:1.0' + newline
    path = tmp_path / 'Dockerfile'
    path.write_bytes(data)
    pins, left, errors, _ = fix_files([str(path)], knows_everything)
    assert len(line.replace(b' AS ', pin + b' AS ', 1).rstrip(b'\n')) == pinned_bytes
    assert errors == []
    assert [p.line for p in pins] == ([1, 2] if pinned else [2])
    assert [(f.line, f.message) for f in left] == ([] if pinned else [(
        1, "'example.com/a:1.0' left unpinned: pinned, line 1 would be longer than "
        "the 65,535 bytes BuildKit reads; shorten the line",
    )])
