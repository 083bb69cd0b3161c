"""update over a resolver of our own: no Docker, exact bytes.

The daemon and registry runs are in test_docker_update_verify.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import Missing
from digestpin_hooks.resolve.answers import TagKey
from digestpin_hooks.update import update_files

from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from digestpin_hooks.resolve.answers import Answer

OLD = 'sha256:' + '1' * 64
NEW = 'sha256:' + '2' * 64


def moved(keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
    """Every tag now at NEW, but ``gone``'s, which the registry lost."""
    return {
        key: Missing('manifest unknown', 'check the name')
        if key.repository.endswith('/gone') else Found(NEW)
        for key in keys
    }


class Moved:
    """A source whose tags have all moved (``moved``), for ``main``."""

    def digests(self, keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        return moved(keys)


def test_pins_follow_their_tags_and_nothing_else_changes(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    data = (
        f'ARG V=2\r\nFROM a:1@{OLD} AS x\r\nFROM b@{OLD}\r\n'
        f'FROM c:${{V}}@{OLD}\r\nFROM d:1@{NEW}'
    ).encode()
    path.write_bytes(data)
    updates, notes, errors, changed = update_files([str(path)], moved)
    assert changed and errors == []
    assert path.read_bytes() == data.replace(f'a:1@{OLD}'.encode(), f'a:1@{NEW}'.encode())
    assert [(u.line, u.image, u.old, u.new) for u in updates] == [(2, 'a:1', OLD, NEW)]
    assert [n.line for n in notes] == [3, 4]  # digest alone; partly variable
    assert 'no tag to follow' in notes[0].message
    assert 'partly made of variables' in notes[1].message


def test_a_tag_the_registry_lost_is_an_error_and_stays(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    data = f'FROM r.io/gone:1@{OLD}\nFROM a:1@{OLD}\n'.encode()
    path.write_bytes(data)
    updates, _, errors, changed = update_files([str(path)], moved)
    assert [e.message for e in errors] == [
        f"line 1: cannot update 'r.io/gone:1@{OLD}': manifest unknown (check the name)",
    ]
    assert [u.image for u in updates] == ['a:1']
    assert path.read_bytes() == data.replace(f'a:1@{OLD}'.encode(), f'a:1@{NEW}'.encode())


def test_dry_run_writes_nothing_and_shows_the_diff(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    data = f'FROM a:1@{OLD}\n'.encode()
    path.write_bytes(data)
    out = io.StringIO()
    updates, _, _, changed = update_files([str(path)], moved, dry_run=True, stdout=out)
    assert changed and len(updates) == 1
    assert path.read_bytes() == data
    assert f'-FROM a:1@{OLD}\n+FROM a:1@{NEW}\n' in out.getvalue()


def test_ignored_or_waived_dp006_moves_nothing(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    data = f'FROM a:1@{OLD}\n# digestpin: ignore=DP006\nFROM b:1@{OLD}\n'.encode()
    path.write_bytes(data)
    updates, notes, _, changed = update_files([str(path)], moved, ignore=['DP006'])
    assert (updates, notes, changed) == ([], [], False)
    updates, notes, _, _ = update_files([str(path)], moved)
    assert [u.line for u in updates] == [1]
    assert [n.line for n in notes] == [3] and 'waives DP006' in notes[0].message


def test_strict_fails_on_pins_left_as_they_are(tmp_path: Path, monkeypatch: object) -> None:
    """update --strict: a pin it cannot follow (no tag) is a failure."""
    from digestpin_hooks import update
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM b@{OLD}\n')
    monkeypatch.setattr(update, "open_source", lambda *a, **k: Moved())  # type: ignore[attr-defined]
    assert update.main([str(path)]) == 0
    assert update.main(['--strict', str(path)]) == 1


def test_github_update_errors_carry_their_line(tmp_path: Path, monkeypatch: object, capsys: object) -> None:
    from digestpin_hooks import update
    path = tmp_path / 'Dockerfile'
    path.write_text(f'FROM a:1@{OLD}\nFROM r.io/gone:1@{OLD}\n')
    monkeypatch.setattr(update, "open_source", lambda *a, **k: Moved())  # type: ignore[attr-defined]
    assert update.main(['--dry-run', '--format', 'github', str(path)]) == 2
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert f'::error file={path},line=2::line 2: cannot update' in out


def test_a_pin_other_references_read_moves_only_with_them(tmp_path: Path) -> None:
    """One tag (with its pin) read by two Helm images through an alias: the
    images' tags now point to different digests, so neither is moved (it
    was a ValueError that stopped the run), and each says why."""
    (tmp_path / 'Chart.yaml').write_bytes(b'name: c\n')
    path = tmp_path / 'values.yaml'
    data = (
        f'a:\n  image:\n    repository: example.com/a\n    tag: &t "1.0@{OLD}"\n'
        f'b:\n  image:\n    repository: example.com/b\n    tag: *t\n'
        f'c:\n  image:\n    repository: example.com/c\n    tag: "1.0@{OLD}"\n'
    ).encode()
    path.write_bytes(data)
    newer = 'sha256:' + '3' * 64

    def apart(keys: Sequence[TagKey]) -> dict[TagKey, Answer]:
        return {
            key: Found(newer if key.repository.endswith('/b') else NEW)
            for key in keys
        }

    updates, notes, errors, changed = update_files([str(path)], apart)
    assert errors == []
    assert changed
    assert [(u.line, u.image, u.new) for u in updates] == [(11, 'example.com/c:1.0', NEW)]
    # only c's own tag, the last line, moved
    assert path.read_bytes() == data[:data.rindex(b'@')] + f'@{NEW}"\n'.encode()
    assert [(n.line, n.message) for n in notes] == [
        (3, f"'example.com/a:1.0@{OLD}' left at its digest: its value on line 4 "
            f'is shared with line 7: pin by hand'),
        (7, f"'example.com/b:1.0@{OLD}' left at its digest: its value on line 4 "
            f'is shared with line 3: pin by hand'),
    ]


def test_a_pin_update_cannot_edit_says_why(tmp_path: Path) -> None:
    """A pin written across lines, or as a folded YAML scalar, holds no
    variable: it was said to be "partly made of variables", sending the
    user to look for one."""
    dockerfile = tmp_path / 'Dockerfile'
    dockerfile.write_bytes(f'FROM a:1\\\n@{OLD}\nFROM c:${{V:-1}}@{OLD}\n'.encode())
    compose = tmp_path / 'compose.yaml'
    compose.write_bytes(f'services:\n  a:\n    image: >-\n      a:1@{OLD}\n'.encode())
    updates, notes, errors, changed = update_files(
        [str(dockerfile), str(compose)], moved, stdout=io.StringIO(),
    )
    assert (updates, errors, changed) == ([], [], False)
    assert [(n.path, n.line, n.message) for n in notes] == [
        (str(dockerfile), 1, (
            f"'a:1@{OLD}' is written with quotes, escapes or across lines: "
            f'update it by hand'
        )),
        (str(dockerfile), 3, (
            f"'c:1@{OLD}' is partly made of variables: update it where the value is set"
        )),
        (str(compose), 3, (
            f"'a:1@{OLD}' is written with escapes or across lines: update it by hand"
        )),
    ]
