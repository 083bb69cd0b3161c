"""Span splicing, the diff of a dry run, and a write refused when the file is
no longer the one read."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from digestpin_hooks.edit import _overlap
from digestpin_hooks.edit import apply_edits
from digestpin_hooks.edit import Edit
from digestpin_hooks.edit import pinned_text
from digestpin_hooks.edit import ReadBackError
from digestpin_hooks.edit import rewrite_file
from digestpin_hooks.edit import unified_diff
from digestpin_hooks.edit import WriteRefused
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import tag_key


def test_splicing_spans() -> None:
    assert apply_edits('FROM a:1\nFROM b:2\n', [Edit(5, 8, 'a:1@d'), Edit(14, 17, 'b:2@e')]) == (
        'FROM a:1@d\nFROM b:2@e\n'
    )
    assert apply_edits('abc', [Edit(1, 2, 'X'), Edit(1, 2, 'X')]) == 'aXc'
    with pytest.raises(ValueError, match='overlapping edits at 0'):
        apply_edits('abcdef', [Edit(0, 3, 'x'), Edit(2, 4, 'y')])


def test_a_diff_without_a_final_newline_and_on_a_dry_run(tmp_path: Path) -> None:
    assert unified_diff('D', 'FROM a:1', 'FROM a:2') == (
        '--- a/D\n+++ b/D\n@@ -1 +1 @@\n-FROM a:1\n\\ No newline at end of file\n'
        '+FROM a:2\n\\ No newline at end of file\n'
    )
    assert unified_diff('D', 'a\fb\n', 'a\fc\n') == (
        '--- a/D\n+++ b/D\n@@ -1 +1 @@\n-a\fb\n+a\fc\n'
    )
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    import io
    out = io.StringIO()
    assert rewrite_file(
        str(path), b'FROM a:1\n', b'FROM a:2\n', dry_run=True,
        old_text='FROM a:1\n', new_text='FROM a:2\n', stdout=out,
    )
    assert path.read_bytes() == b'FROM a:1\n'
    assert out.getvalue().endswith('-FROM a:1\n+FROM a:2\n')
    assert not rewrite_file(
        str(path), b'FROM a:1\n', b'FROM a:1\n', dry_run=False,
        old_text='', new_text='', stdout=out,
    )


def test_a_file_gone_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    os.unlink(path)
    path.mkdir()
    with pytest.raises(WriteRefused, match='changed since it was read'):
        rewrite_file(
            str(path), b'FROM a:1\n', b'FROM a:2\n', dry_run=False,
            old_text='', new_text='', stdout=None,  # type: ignore[arg-type]
        )


def test_a_file_replaced_since_it_was_read_is_not_read_before_it_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another file of as many bytes renamed over the one read (an editor's
    save, or a file of the attacker's): the write's check asks the device
    and inode of what it opened before reading a byte of it (on main: it
    read all of it, and a byte more, then refused)."""
    from digestpin_hooks.read.bounded import read_regular
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n' * 100_000)
    read = read_regular(str(path), 1 << 20)
    (tmp_path / 'other').write_bytes(b'FROM b:1\n' * 100_000)
    os.replace(tmp_path / 'other', path)
    counted = [0]
    os_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        data = os_read(fd, size)
        counted[0] += len(data)
        return data

    monkeypatch.setattr(os, 'read', counting_read)
    with pytest.raises(
        WriteRefused, match='^was replaced by another file since it was read: not written$',
    ):
        rewrite_file(
            str(path), read.data, b'FROM a:2\n', dry_run=False, old_text='', new_text='',
            stdout=None, identity=read.identity,  # type: ignore[arg-type]
        )
    assert counted == [0]
    assert path.read_bytes() == b'FROM b:1\n' * 100_000


def _dockerfile(text: str) -> LoadedFile:
    from digestpin_hooks.read.dockerfile.references import read_dockerfile
    doc, refs, _ = read_dockerfile(text.encode())
    return LoadedFile('Dockerfile', text.encode(), doc, refs)


DIGEST = 'sha256:' + 'd' * 64
OTHER = 'sha256:' + 'e' * 64


@pytest.mark.parametrize(
    ('text', 'planned', 'problem'),
    (
        # the pin written into part of the reference (a reader's wrong span)
        ('FROM a:1\nFROM b:2\n', {0: (Edit(6, 8, f'a:1@{DIGEST}'), DIGEST)},
         f"line 1: 'a:1' would read 'aa:1@{DIGEST}', not pinned to {DIGEST}"),
        # another digest than the one resolved
        ('FROM a:1\nFROM b:2\n', {0: (Edit(5, 8, f'a:1@{OTHER}'), DIGEST)},
         f"line 1: 'a:1' would read 'a:1@{OTHER}', not pinned to {DIGEST}"),
        # the right pin, and a reference nobody meant to change changed
        ('FROM a:1\nFROM b:2\n', {0: (Edit(5, 9, f'a:1@{DIGEST}\nFROM c:2\n# '), DIGEST)},
         "line 2: 'b:2' would read 'c:2'"),
        ('FROM a:1\nFROM b:2\n', {0: (Edit(5, 8, f'a:1@{DIGEST}\nFROM c:3'), DIGEST)},
         'the pinned text has 3 image references, not 2'),
        ('FROM a:1\n', {0: (Edit(5, 8, 'a:1 b c'), DIGEST)},
         'the pinned text no longer reads (dockerfile parse error on line 1: '
         'FROM requires either one or three arguments)'),
    ),
)
def test_a_text_that_does_not_read_back_as_its_pins_is_refused(
        text: str, planned: dict[int, tuple[Edit, str]], problem: str,
) -> None:
    with pytest.raises(ReadBackError) as caught:
        pinned_text(_dockerfile(text), planned)
    assert str(caught.value) == problem


def test_a_text_that_reads_back_as_its_pins_is_made() -> None:
    loaded = _dockerfile('FROM a:1\nFROM b:2\n')
    assert pinned_text(loaded, {1: (Edit(14, 17, f'b:2@{DIGEST}'), DIGEST)}) == (
        f'FROM a:1\nFROM b:2@{DIGEST}\n', {},
    )


def test_a_fix_that_does_not_read_back_writes_nothing_of_that_file() -> None:
    """A reader whose span is wrong (here made by hand) cannot make fix
    write a digest elsewhere: the read-back refuses the file."""
    from digestpin_hooks.fix import fix_file
    from digestpin_hooks.fix import plan_file
    loaded = _dockerfile('FROM a:1\nFROM b:2\n')
    wrong = loaded.refs[0].replace(span=(6, 8))
    plan = plan_file(loaded.replace(refs=[wrong, loaded.refs[1]]))
    keys = [tag_key(parsed) for _, _, parsed in plan.wanted if parsed is not None]
    with pytest.raises(ReadBackError, match="line 1: 'a:1' would read"):
        fix_file(plan, {key: Found(DIGEST) for key in keys}, keep_tag=True)


@pytest.mark.parametrize(
    ('edit', 'read', 'overlap'),
    (
        ((0, 3), (2, 5), True), ((0, 3), (3, 5), False), ((3, 3), (0, 5), True),
        ((5, 5), (0, 5), False), ((3, 3), (3, 3), True), ((0, 5), (3, 3), True),
    ),
)
def test_what_an_edit_changes(edit: tuple[int, int], read: tuple[int, int], overlap: bool) -> None:
    assert _overlap(edit, read) is overlap


def test_tempfile_is_imported_to_write_not_before() -> None:
    """tempfile (with shutil: 10 million instructions) is for the write;
    fix and update import it only when they write a file, so a dry run
    or a tree already pinned does without it."""
    code = (
        'import sys\n'
        'import digestpin_hooks.fix, digestpin_hooks.update, digestpin_hooks.edit\n'
        "print('tempfile' in sys.modules, 'shutil' in sys.modules)\n"
    )
    out = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True, check=True).stdout
    assert out == 'False False\n'


def _between_the_temporary_file_and_the_last_look(
        monkeypatch: pytest.MonkeyPatch, meanwhile: object,
) -> None:
    """Run ``meanwhile`` (another hook, another process) at the first fsync
    of a write: the temporary file is written, its mode set, the last look
    not yet taken."""
    fsync = os.fsync
    done = [False]

    def racing_fsync(fd: int) -> None:
        if not done[0]:
            done[0] = True
            meanwhile()  # type: ignore[operator]
        fsync(fd)

    monkeypatch.setattr(os, 'fsync', racing_fsync)


def test_a_hard_link_made_before_the_last_look_is_not_split(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On main the last look asked only the device and inode: the rename
    split the link made meanwhile (the other name kept the old bytes)."""
    from digestpin_hooks.read.bounded import read_regular
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    read = read_regular(str(path), 1 << 20)
    _between_the_temporary_file_and_the_last_look(
        monkeypatch, lambda: os.link(path, tmp_path / 'other'),
    )
    with pytest.raises(
        WriteRefused, match='^has 2 hard links: rewriting would split them; not written$',
    ):
        rewrite_file(
            str(path), read.data, b'FROM a:2\n', dry_run=False, old_text='', new_text='',
            stdout=None, identity=read.identity,  # type: ignore[arg-type]
        )
    assert path.read_bytes() == b'FROM a:1\n'
    assert os.stat(path).st_nlink == 2
    assert sorted(os.listdir(tmp_path)) == ['Dockerfile', 'other']


@pytest.mark.parametrize(('mode', 'owner'), [
    (0o755, None),  # another hook made it executable
    (0o600, None),
    (0o644, (1000, 1001)),  # chowned meanwhile (run as root)
])
def test_a_mode_or_owner_changed_before_the_last_look_is_the_one_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int,
        owner: tuple[int, int] | None,
) -> None:
    """The file is written (its bytes are those read) with the mode and
    owner it has at the last look (on main: those of the first, undoing
    the chmod or chown made in between)."""
    if owner is not None and os.geteuid() != 0:
        pytest.fail('run as root (CI is): a chown to another user needs it')
    from digestpin_hooks.read.bounded import read_regular
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    os.chmod(path, 0o644)
    read = read_regular(str(path), 1 << 20)

    def meanwhile() -> None:
        os.chmod(path, mode)
        if owner is not None:
            os.chown(path, *owner)

    _between_the_temporary_file_and_the_last_look(monkeypatch, meanwhile)
    assert rewrite_file(
        str(path), read.data, b'FROM a:2\n', dry_run=False, old_text='', new_text='',
        stdout=None, identity=read.identity,  # type: ignore[arg-type]
    )
    st = os.stat(path)
    assert path.read_bytes() == b'FROM a:2\n'
    assert oct(st.st_mode & 0o7777) == oct(mode)
    assert (st.st_uid, st.st_gid) == (owner or (os.geteuid(), os.getegid()))
    assert os.listdir(tmp_path) == ['Dockerfile']


@pytest.mark.parametrize('mode', [0o4777, 0o2777, 0o6777])
def test_a_setuid_file_written_by_another_user_loses_the_bit(mode: int) -> None:
    """Not root, the rewritten file cannot keep its owner and becomes the
    writer's: a setuid or setgid bit kept would make it run as the writer
    (on main it was kept), so it is dropped, as ``cp -p`` drops it."""
    if os.geteuid() != 0:
        pytest.fail('run as root (CI is): the file must belong to another user')
    nobody = 65534
    # a folder the other user can reach (pytest's tmp_path is root's alone)
    with tempfile.TemporaryDirectory(prefix='dp-setuid-') as folder:
        os.chmod(folder, 0o777)
        path = Path(folder) / 'Dockerfile'
        path.write_bytes(b'FROM a:1\n')
        os.chmod(path, mode)  # root's, and anyone may write it
        read = read_regular(str(path), 1 << 20)
        egid, euid = os.getegid(), os.geteuid()
        os.setegid(nobody)
        os.seteuid(nobody)  # given back below: the real user stays root
        try:
            assert rewrite_file(
                str(path), read.data, b'FROM a:2\n', dry_run=False, old_text='', new_text='',
                stdout=None, identity=read.identity,  # type: ignore[arg-type]
            )
        finally:
            os.seteuid(euid)
            os.setegid(egid)
        st = os.stat(path)
        assert path.read_bytes() == b'FROM a:2\n'
        assert (st.st_uid, st.st_gid) == (nobody, nobody)
        assert oct(st.st_mode & 0o7777) == oct(mode & 0o777)
