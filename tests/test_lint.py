"""digestpin-lint as a command: output, exit status, files and errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from digestpin_hooks.__main__ import main as digestpin_main
from digestpin_hooks.lint import main
from digestpin_hooks.read.kinds import is_dockerfile_name
from tests.output import without_summary

H = 'a' * 64


def write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_text_output_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path / 'Dockerfile', b'FROM ubuntu\nFROM node:20 AS b\n')
    assert main([f]) == 1
    out, err = capsys.readouterr()
    assert out == (
        f"{f}:1:6: DP002 'ubuntu' has no tag or digest (implicit latest); "
        f'pin it with digestpin-fix (ubuntu@sha256:<digest>)\n'
        f"{f}:2:6: DP001 'node:20' is not pinned to a digest: tag '20' can "
        f'move; pin it with digestpin-fix (node:20@sha256:<digest>)\n'
    )
    assert err == 'summary: 2 findings (DP001 1, DP002 1) in 1 file\n'


def test_clean_file_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path / 'Dockerfile', f'FROM node:20@sha256:{H}\n'.encode())
    assert main([f]) == 0
    assert capsys.readouterr() == ('', '')


def test_warning_only_exits_0_and_strict_1(tmp_path: Path) -> None:
    f = write(tmp_path / 'Dockerfile', b'ARG B\nFROM $B\n')
    assert main([f]) == 0
    assert main(['--strict', f]) == 1


def test_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path / 'Dockerfile', b'ARG B=node:20\nFROM $B\n')
    missing = str(tmp_path / 'nope' / 'Dockerfile')
    assert main(['--format', 'json', f, missing]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        'version': 1,
        'findings': [{
            'path': f, 'line': 1, 'column': 7, 'end_line': 1,
            'end_column': 14, 'code': 'DP001', 'severity': 'error',
            'source': 'ARG', 'image': 'node:20', 'written': 'node:20',
            'message': (
                "'node:20' is not pinned to a digest: tag '20' can move; pin "
                'it with digestpin-fix (node:20@sha256:<digest>) [default of '
                'ARG B on line 1, used by FROM on line 2]'
            ),
        }],
        'errors': [
            {'path': missing, 'message': 'cannot read: No such file or directory'},
        ],
    }
    assert err == f'{missing}: error: cannot read: No such file or directory\n'


@pytest.mark.parametrize(
    ('data', 'message'),
    (
        (b'FROM a\0b\n', 'binary file (it contains NUL bytes)'),
        (b'FROM a:1\nRUN ' + b'x' * 70000 + b'\n',
         'line 2: dockerfile line greater than max allowed size of 65535'),
        # the BOM is in BuildKit's scanner's buffer too (asked of Docker
        # 20.10's BuildKit: 65,532 bytes after it are read, 65,533 refused)
        (b'\xef\xbb\xbf#' + b'x' * 65532 + b'\nFROM a:1\n',
         'line 1: dockerfile line greater than max allowed size of 65535'),
        (b'# escape=x\nFROM a:1\n', "line 1: invalid escape token 'x' does not match ` or \\"),
        (b'FROM a:1\nRUN <<EOF\necho\n', 'line 2: unterminated heredoc <<EOF'),
    ),
)
def test_unreadable_files_are_named_and_others_still_linted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, message: str,
) -> None:
    bad = write(tmp_path / 'bad' / 'Dockerfile', data)
    good = write(tmp_path / 'good' / 'Dockerfile', b'FROM node:20\n')
    assert main([bad, good]) == 2
    out, err = capsys.readouterr()
    assert without_summary(err) == f'{bad}: error: {message}\n'
    assert out.startswith(f'{good}:1:6: DP001')


def test_a_folder_argument_is_searched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in (
        'Dockerfile', 'Containerfile', 'Dockerfile.dev', 'Containerfile.x',
        'api.Dockerfile', 'web.dockerfile', 'sub/Dockerfile',
    ):
        write(tmp_path / name, b'FROM a:1\n')
    write(tmp_path / 'README.md', b'FROM a:1\n')
    write(tmp_path / '.git' / 'Dockerfile', b'FROM a:1\n')
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    found = sorted(line.split(':')[0] for line in out.splitlines())
    assert found == sorted(str(tmp_path / n) for n in (
        'Dockerfile', 'Containerfile', 'Dockerfile.dev', 'Containerfile.x',
        'api.Dockerfile', 'web.dockerfile', 'sub/Dockerfile',
    ))


def test_folder_search_never_runs_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """git is not asked (it would run the tree's own .git/config), so files
    git ignores are searched too, and .git itself never is."""
    subprocess.run(('git', 'init', '-q', str(tmp_path)), check=True)
    marker = tmp_path / 'fsmonitor-ran'
    with open(tmp_path / '.git' / 'config', 'a') as f:
        f.write(f'[core]\n\tfsmonitor = touch {marker}\n')
    write(tmp_path / '.gitignore', b'ignored/\n')
    write(tmp_path / '.git' / 'Dockerfile', b'FROM a:1\n')
    ignored = write(tmp_path / 'ignored' / 'Dockerfile', b'FROM a:1\n')
    kept = write(tmp_path / 'kept' / 'Dockerfile', b'FROM a:1\n')
    assert main([str(tmp_path)]) == 1
    paths = [line.split(':')[0] for line in capsys.readouterr().out.splitlines()]
    assert paths == [ignored, kept]
    assert not marker.exists()


def test_no_argument_means_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    write(tmp_path / 'Dockerfile', b'FROM a:1\n')
    monkeypatch.chdir(tmp_path)
    assert main([]) == 1
    assert capsys.readouterr().out.startswith('Dockerfile:1:6: DP001')


def test_digestpin_lint_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path / 'Dockerfile', b'FROM a:1\n')
    assert digestpin_main(['lint', '--allow', 'a', f]) == 0
    assert digestpin_main(['lint', f]) == 1


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(['--format', 'xml'])
    assert e.value.code == 2


@pytest.mark.parametrize('argv', (
    ['lint', '--fromat', 'json'],
    ['lint', 'Dockerfile', '--fromat'],
))
def test_a_mistyped_option_shows_the_subcommand_usage(
        argv: list[str], capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as e:
        digestpin_main(argv)
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith('usage: digestpin lint [-h] [--version] [--format')
    assert err.endswith('\ndigestpin lint: error: unrecognized arguments: --fromat\n')


def test_a_mistyped_option_before_the_command_is_the_top_level_s(
        capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as e:
        digestpin_main(['--fromat', 'lint'])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        'usage: digestpin [-h] [--version] COMMAND ...\n'
        'digestpin: error: unrecognized arguments: --fromat\n'
    )


@pytest.mark.parametrize(('text', 'argv'), (
    (b'FROM a:1\n', ['--ignore', 'dp001']),
    (b'FROM a:1\n', ['--ignore', 'Dp001']),
    (b'# digestpin: ignore=dp001\nFROM a:1\n', []),
))
def test_codes_are_read_in_any_case(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: bytes, argv: list[str],
) -> None:
    f = write(tmp_path / 'Dockerfile', text)
    assert main([*argv, f]) == 0
    assert capsys.readouterr() == ('', '')


def test_an_unknown_code_is_named_as_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    f = write(tmp_path / 'Dockerfile', b'FROM a:1\n')
    assert main(['--ignore', 'dp099', f]) == 2
    assert capsys.readouterr() == ('', "digestpin-lint: error: --ignore: unknown code 'dp099'\n")


def test_lint_never_imports_docker(tmp_path: Path) -> None:
    f = write(tmp_path / 'Dockerfile', b'FROM a:1\n')
    code = (
        'import sys\nbefore = set(sys.modules)\n'
        'from digestpin_hooks.lint import main\n'
        f'rc = main([{f!r}])\n'
        "assert not any(m == 'docker' or m.startswith('docker.') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('docker'))\n"
        "assert 'dockerfile_parse' not in sys.modules\n"
        "assert not {'requests', 'urllib3', 'http.client', 'ssl'} & set(sys.modules), "
        "'a network library'\n"
        "assert not [m for m in sys.modules if m.startswith('digestpin_hooks.resolve')], "
        "'the resolve step'\n"
        "assert 'digestpin_hooks.edit' not in sys.modules\n"
        '# nor the modules that cost most at every commit\n'
        "new = set(sys.modules) - before\n"
        "assert not new & {'yaml', 'json', 'subprocess', 'shutil', 'inspect', 'typing'}, new\n"
        '# nor the YAML reader (and contextlib) for a Dockerfile: 0.7 ms\n'
        "assert not new & {'digestpin_hooks.read.yaml_nodes', 'contextlib'}, new\n"
        'raise SystemExit(rc)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    # a failed assertion exits 1 too: its traceback is on stderr
    assert result.stderr == 'summary: 1 finding (DP001 1) in 1 file\n'
    assert result.returncode == 1
    assert result.stdout.startswith(f'{f}:1:6: DP001')


# where lint compiles a pattern (the module and function that asks), in
# the order it does, for a Dockerfile of the common lines: FROM an official
# image by tag, ENV, RUN with flags, COPY
COMMON_PATTERNS = [
    'digestpin_hooks.read.dockerfile.parser <module>',  # BuildKit's reWhitespace
    'digestpin_hooks.read.dockerfile.parser <module>',  # a command's word
    'digestpin_hooks.read.dockerfile.parser _candidate_re',  # the fast scan
    'digestpin_hooks.read.dockerfile.refusals _lines_to_check',
]


@pytest.mark.parametrize(('data', 'compiled', 'rc', 'err'), (
    (
        b'FROM alpine:3.23\nENV A=1\nRUN apk add --no-cache curl \\\n  && true\nCOPY a /b\n',
        COMMON_PATTERNS, 1, 'summary: 1 finding (DP001 1) in 1 file\n',
    ),
    # a HEALTHCHECK line: its branch of the refusals' pattern
    (
        b'FROM alpine:3.23\nHEALTHCHECK --interval=5s\n',
        [
            *COMMON_PATTERNS, 'healthcheck',
            'digestpin_hooks.read.dockerfile.parser _plain_flag_re',
        ], 2,
        'FILE: error: dockerfile parse error on line 2: HEALTHCHECK requires '
        'at least one argument\n',
    ),
    # a registry, a path of two components, a digest of an algorithm not
    # registered, an ARG default, a stage name: each part's pattern
    (
        b'ARG B=ghcr.io/o/r:1\nFROM $B AS build\nFROM a@md5:ab\n',
        [
            *COMMON_PATTERNS,
            'digestpin_hooks.read.dockerfile.parser _plain_word_re',
            'digestpin_hooks.read.dockerfile.shell _plain_run_re',
            'digestpin_hooks.read.dockerfile.shell _ascii_name_re',
            'digestpin_hooks.read.dockerfile.shell _whole_var_re',
            'digestpin_hooks.reference _domain_re',
            'digestpin_hooks.reference _path_re',
            'digestpin_hooks.reference _digest_re',
        ],
        1, 'summary: 2 findings (DP001 1, DP004 1) in 1 file\n',
    ),
))
def test_lint_compiles_only_the_patterns_a_file_needs(
        tmp_path: Path, data: bytes, compiled: list[str], rc: int, err: str,
) -> None:
    # compiling a pattern is a cost of every run, about as long as the
    # pattern: what a file does not need is compiled on first use or told
    # by str methods (a tag, a path of one component, a sha256 digest)
    f = write(tmp_path / 'Dockerfile', data)
    code = (
        'import re._compiler, sys\n'
        'compile = re._compiler.compile\n'
        'made = []\n'
        'def recorded(pattern, flags=0):\n'
        '    frame = sys._getframe(1)\n'
        "    while not frame.f_globals['__name__'].startswith('digestpin_hooks'):\n"
        '        frame = frame.f_back\n'
        "    made.append(f\"{frame.f_globals['__name__']} {frame.f_code.co_name}\")\n"
        "    if '(?P<healthcheck>healthcheck)' in str(pattern):\n"
        "        made.append('healthcheck')\n"
        '    return compile(pattern, flags)\n'
        're._compiler.compile = recorded\n'
        'from digestpin_hooks.lint import main\n'
        f'rc = main([{f!r}])\n'
        'print(made, file=sys.stderr)\n'
        'raise SystemExit(rc)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    errors, made = result.stderr.rsplit('\n', 2)[0], result.stderr.rsplit('\n', 2)[1]
    assert (result.returncode, errors + '\n' if errors else '') == (rc, err.replace('FILE', f))
    assert made == repr(compiled)


@pytest.mark.parametrize(('data', 'rc', 'out', 'err'), (
    # text that starts as a JSON document, no syntax key in it
    (
        b'{"from": "a:1"}\n', 0,
        "FILE:1:1: DP010 unknown instruction '{\"from\":': BuildKit v0.32 does not "
        'know it (newer syntax, or a typo BuildKit refuses); the rest of the file '
        'is checked\n',
        'summary: 1 finding (DP010 1) in 1 file\n',
    ),
    # a word BuildKit refuses to expand, quoted in the message
    (
        b'FROM a:${v:i}\n', 2, '',
        'FILE: error: line 1: failed to process "a:${v:i}": unsupported modifier '
        '(:i) in substitution\n',
    ),
))
def test_lint_imports_no_json_for_a_message_or_a_document_without_syntax(
        tmp_path: Path, data: bytes, rc: int, out: str, err: str,
) -> None:
    # json is 200 kB of a lint's memory: imported only to read a JSON
    # document's syntax key, never to quote a word
    f = write(tmp_path / 'Dockerfile', data)
    code = (
        'import sys\n'
        'from digestpin_hooks.lint import main\n'
        f'rc = main([{f!r}])\n'
        "print('imported json:', 'json' in sys.modules, file=sys.stderr)\n"
        'raise SystemExit(rc)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (
        rc, out.replace('FILE', f), err.replace('FILE', f) + 'imported json: False\n',
    )


def test_lint_of_a_compose_file_loads_no_other_kinds_reader(tmp_path: Path) -> None:
    # the Dockerfile reader is a third of lint's own imports: a commit
    # that touches a Compose file only does not pay for it, nor for the
    # readers of Helm values, Kustomize and dev containers, nor for the CI
    # kinds' (digestpin_hooks.read.ci: 2 million instructions a run)
    f = write(tmp_path / 'compose.yaml', b'services:\n  web:\n    image: a:1\n')
    code = (
        'import sys\n'
        'from digestpin_hooks.lint import main\n'
        f'rc = main([{f!r}])\n'
        "readers = ('digestpin_hooks.read.dockerfile.', 'digestpin_hooks.read.assembled', "
        "'digestpin_hooks.read.jsonc', 'digestpin_hooks.read.ci')\n"
        'print(sorted(m for m in sys.modules if m.startswith(readers)))\n'
        'raise SystemExit(rc)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    first, loaded = result.stdout.splitlines()
    assert first.startswith(f"{f}:3:12: DP001 'a:1' is not pinned")
    assert loaded == '[]'


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    f = write(tmp_path / 'Dockerfile', b'\xff\xfe\x00garbage')
    result = subprocess.run(
        (sys.executable, '-m', 'digestpin_hooks', 'lint', f, str(tmp_path / 'x')),
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert 'Traceback' not in result.stderr
    assert result.stderr.splitlines() == [
        f'{f}: error: binary file (it contains NUL bytes)',
        f'{tmp_path / "x"}: error: cannot read: No such file or directory',
    ]


def test_an_internal_error_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from digestpin_hooks import lint

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError('something\nunexpected')

    monkeypatch.setattr(lint, 'lint_files', broken)
    monkeypatch.delenv('DIGESTPIN_DEBUG', raising=False)
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        'digestpin-lint: internal error: RuntimeError: something unexpected '
        '(run with DIGESTPIN_DEBUG=1 for details, and please report it)\n'
    )
    monkeypatch.setenv('DIGESTPIN_DEBUG', '1')
    with pytest.raises(RuntimeError):
        main([str(tmp_path)])


def test_folder_search_finds_compose_actions_and_manifests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Kinds by name, and Kubernetes manifests by their content; a YAML file
    that is neither (even invalid) is left out without a word."""
    write(tmp_path / 'compose.yaml', b'services:\n  a:\n    image: a:1\n')
    write(tmp_path / '.github' / 'workflows' / 'ci.yml', b'on: push\njobs:\n  j:\n    container: b:1\n')
    write(tmp_path / 'tools' / 'action.yml', b'runs:\n  using: docker\n  image: docker://c:1\n')
    write(tmp_path / 'k8s' / 'pod.yaml', b'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: d:1\n')
    write(tmp_path / 'other.yaml', b'not: [valid\n')
    assert main([str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    images = sorted(line.split("'")[1] for line in out.splitlines())
    assert images == ['a:1', 'b:1', 'c:1', 'd:1']
    assert err == 'summary: 4 findings (DP001 4) in 4 files\n'


def test_folder_search_finds_manifests_by_content(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """`digestpin-lint k8s/` with an unpinned Deployment inside reports it
    (it printed nothing and exited 0); any *.yaml/*.yml no kind claims by
    name is a manifest when a document has top-level apiVersion and kind;
    kinds by name keep their kinds, and a chart's templates/ stay skipped."""
    deployment = write(tmp_path / 'k8s' / 'app' / 'deployment.yml', (
        b'---\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n'
        b'      containers:\n      - image: nginx:1.25\n'
    ))
    write(tmp_path / 'k8s' / 'notes.yaml', b'image: a:1\nkind: not-a-manifest\n')
    write(tmp_path / 'k8s' / 'list.yaml', b'items: []\n---\n{apiVersion: v1, kind: Pod, spec: {containers: [{image: "b:1"}]}}\n')
    write(tmp_path / 'k8s' / 'kustomization.yaml', (
        b'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n'
        b'images:\n- name: c\n  newTag: "1"\n'
    ))
    write(tmp_path / 'k8s' / 'chart' / 'Chart.yaml', b'apiVersion: v2\nname: c\nversion: 1.0.0\n')
    write(tmp_path / 'k8s' / 'chart' / 'templates' / 'pod.yaml', (
        b'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: e:1\n'
    ))
    write(tmp_path / 'k8s' / 'broken.yaml', b'apiVersion: v1\nkind: [\n')
    assert main([str(tmp_path / 'k8s')]) == 1
    out, err = capsys.readouterr()
    assert [line.split(': ', 1)[0] for line in out.splitlines()] == [
        f'{tmp_path / "k8s" / "kustomization.yaml"}:4:3',
        f'{tmp_path / "k8s" / "list.yaml"}:3:58', f'{deployment}:8:16',
    ]
    assert err == 'summary: 3 findings (DP001 3) in 3 files\n'


@pytest.mark.parametrize('command', (main, lambda argv: digestpin_main(['verify', *argv])))
def test_a_folder_search_that_finds_nothing_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: Callable[[list[str]], int],
) -> None:
    write(tmp_path / 'README.md', b'FROM a:1\n')
    write(tmp_path / 'config.yaml', b'image: a:1\n')
    assert command([str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ('', (
        f'{tmp_path}: note: no file to check in this folder (no Dockerfile, no '
        f'file of a kind by its name, no Kubernetes manifest)\n'
    ))


def test_kind_option_reads_any_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / 'stack.yml', b'services:\n  a:\n    image: a:1\n')
    assert main(['--kind', 'compose', path]) == 1
    assert capsys.readouterr().out.startswith(f"{path}:3:12: DP001 'a:1'")
    # by its name a Kubernetes manifest, which it is not: a note, no failure
    assert main([path]) == 0
    assert capsys.readouterr().err == (
        f'{path}: note: skipped: not a Kubernetes manifest: no document has '
        f'apiVersion and kind\n'
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from digestpin_hooks import __version__
    with pytest.raises(SystemExit) as e:
        main(['--version'])
    assert e.value.code == 0
    assert capsys.readouterr().out == f'digestpin-lint {__version__}\n'


NAMES = (
    'Dockerfile', 'Dockerfile.dev', 'Dockerfile-dev', 'Containerfile',
    'Containerfile.ubi', 'api.Dockerfile', 'web.dockerfile', 'x.containerfile',
    'y.Containerfile', 'Dockerfile_x', 'Dockerfiles', 'dockerfile', 'notes.txt',
)


def test_folder_search_and_the_readme_files_override_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a folder search takes is what the README's ``files:`` matches."""
    import re
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), 'README.md')) as f:
        files_line = next(line for line in f if line.strip().startswith('files: (^|/)(Dockerfile'))
    pattern = re.compile(files_line.split('files: ', 1)[1].strip())
    for name in NAMES:
        write(tmp_path / name, b'FROM a:1\n')
    assert main([str(tmp_path)]) == 1
    found = sorted(os.path.basename(line.split(':')[0]) for line in capsys.readouterr().out.splitlines())
    assert found == sorted(name for name in NAMES if pattern.search(name))
    assert 'Dockerfile-dev' in found and 'x.containerfile' in found


def test_helm_charts_under_the_kubernetes_hooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """values.yaml and templates/*.yaml match the kubernetes hooks' files:
    each is said to be skipped once, and the run exits on the rest."""
    chart = tmp_path / 'deploy' / 'chart'
    write(chart / 'Chart.yaml', b'apiVersion: v2\nname: chart\nversion: 0.1.0\n')
    values = write(chart / 'values.yaml', b'image:\n  repository: nginx\n  tag: "1.27"\n')
    template = write(chart / 'templates' / 'deployment.yaml', (
        b'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n'
        b'      containers:\n      - image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n'
    ))
    manifest = write(tmp_path / 'deploy' / 'pod.yaml', (
        b'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: busybox:1\n'
    ))
    assert main(['--kind', 'kubernetes', values, template, manifest]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{manifest}:5:12: DP001 'busybox:1'")
    assert err.splitlines() == [
        f'{values}: note: skipped: not a Kubernetes manifest: no document has apiVersion and kind',
        f'{template}: note: skipped: a template ({{{{ }}}}), not a manifest yet',
        'summary: 1 finding (DP001 1) in 1 file; 2 files skipped',
    ]
    assert main(['--kind', 'kubernetes', '--format', 'github', values]) == 0
    assert capsys.readouterr().out.startswith(f'::notice file={values}::skipped: ')


def test_an_arg_partly_made_of_variables_is_one_finding_at_its_default(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """``ARG IMG=name:${TAG}`` used by three FROMs is one finding, where the
    value is written, as a wholly literal default is (issue 11)."""
    body = (
        'ARG TAG=1.2\n'
        'ARG IMG=nginx/nginx-ingress:${TAG}\n'
        'FROM ${IMG} AS a\n'
        'FROM ${IMG} AS b\n'
        '# digestpin: ignore=DP002\n'
        'FROM $IMG\n'
    )
    (tmp_path / 'Dockerfile').write_text(body)
    assert main([str(tmp_path / 'Dockerfile'), '--format', 'json']) == 1
    findings = json.loads(capsys.readouterr().out)['findings']
    assert [(f['code'], f['line'], f['column'], f['written']) for f in findings] == [
        ('DP001', 2, 9, 'nginx/nginx-ingress:${TAG}'),
    ]
    assert 'used by FROM on lines 3, 4, 6' in findings[0]['message']
    # a pragma above any one FROM it feeds waives the one finding
    (tmp_path / 'Dockerfile').write_text(body.replace('ignore=DP002', 'ignore=DP001'))
    assert main([str(tmp_path / 'Dockerfile')]) == 0


@pytest.mark.parametrize(('name', 'is_dockerfile'), (
    ('Dockerfile', True), ('Containerfile', True), ('Dockerfile.dev', True),
    ('Dockerfile-alpine', True), ('Dockerfile.', True), ('app.Dockerfile', True),
    ('app.dockerfile', True), ('x.Containerfile', True), ('x.containerfile', True),
    ('Dockerfiles', False), ('dockerfile', False), ('Dockerfile_x', False),
    ('.dockerignore', False), ('app.DOCKERFILE', False), ('Dockerfile\n.x', False),
    ('a\n.Dockerfile', True),
))
def test_which_names_are_dockerfiles(name: str, is_dockerfile: bool) -> None:
    # the names the README's files: override matches, so that a folder
    # search takes what pre-commit gives
    assert is_dockerfile_name(name) is is_dockerfile


EXTENDED = b'services:\n  webapp:\n    image: nginx:1.25\n  other:\n    image: not/this:1\n'


def test_compose_extends_file_brings_its_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given only the extending file, the image of the service it extends in
    another file is reported where it is written; its other services are
    not, and a service with its own image: takes none (issue 21)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / '.git').mkdir()
    write(tmp_path / 'common' / 'services.yml', EXTENDED)
    write(tmp_path / 'app' / 'compose.yaml', (
        b'services:\n  web:\n    extends:\n      file: ../common/services.yml\n      service: webapp\n'
        b'  own:\n    extends: {file: ../common/services.yml, service: other}\n    image: redis:7\n'
        b'  local:\n    extends: web\n'
    ))
    assert main(['app/compose.yaml']) == 1
    out, err = capsys.readouterr()
    assert [line.split(' is not')[0] for line in out.splitlines()] == [
        "app/compose.yaml:8:12: DP001 'redis:7'",
        "common/services.yml:3:12: DP001 'nginx:1.25'",
    ]
    assert err == 'summary: 2 findings (DP001 2) in 2 files\n'


@pytest.mark.parametrize(('extended', 'message'), (
    (b'services:\n  webapp:\n    extends: {file: ../app/compose.yaml, service: web}\n',
     "services.web extends a cycle of services (back to 'web' in app/compose.yaml)"),
    (None, 'services.web extends ../outside.yml, outside the repository ({top}): not read'),
))
def test_compose_extends_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        extended: bytes | None, message: str,
) -> None:
    """A cycle (Compose refuses it) and a file outside the repository (not
    read) are one error line each, exit 2."""
    repository = tmp_path / 'repo'
    monkeypatch.chdir(repository.parent)
    (repository / '.git').mkdir(parents=True)
    write(tmp_path / 'outside.yml', EXTENDED)
    if extended is not None:
        write(repository / 'common' / 'services.yml', extended)
        target = '../common/services.yml'
    else:
        target = '../../outside.yml'
    write(repository / 'app' / 'compose.yaml', (
        f'services:\n  web:\n    extends: {{file: {target}, service: webapp}}\n'.encode()
    ))
    monkeypatch.chdir(repository)
    assert main(['app/compose.yaml']) == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.splitlines()[0] == 'app/compose.yaml: error: ' + message.format(top=repository)


def test_compose_extends_is_followed_a_bounded_depth(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A chain of extends across files is followed MAX_EXTENDS deep (lowered
    here to 2), then one error line."""
    from digestpin_hooks.read import files
    monkeypatch.chdir(tmp_path)
    (tmp_path / '.git').mkdir()
    for n in range(1, 4):
        write(tmp_path / f's{n}.yml', f'services:\n  s{n}:\n    extends: {{file: s{n + 1}.yml, service: s{n + 1}}}\n'.encode())
    write(tmp_path / 's4.yml', b'services:\n  s4:\n    image: nginx:1.25\n')
    write(tmp_path / 'compose.yaml', b'services:\n  web:\n    extends: {file: s1.yml, service: s1}\n')
    assert main(['compose.yaml']) == 1
    assert capsys.readouterr().out.startswith("s4.yml:3:12: DP001 'nginx:1.25'")
    monkeypatch.setattr(files, 'MAX_EXTENDS', 2)
    assert main(['compose.yaml']) == 2
    out, err = capsys.readouterr()
    assert (out, err.splitlines()[0]) == ('', 'compose.yaml: error: services.web extends more than 2 services deep')


@pytest.mark.parametrize(('name', 'text', 'note'), (
    ('compose.yaml', b'foo: 1\n', 'not a Compose file: no services mapping at the top'),
    ('.github/workflows/ci.yml', b'on: push\n', 'not a GitHub Actions workflow (no jobs mapping) or action (no runs mapping)'),
))
def test_a_file_not_of_its_kind_is_skipped_with_a_note_and_exit_0(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str, text: bytes, note: str,
) -> None:
    """As the README says once: skipped, a note, exit 0 (not an error)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_bytes(text)
    assert main([name]) == 0
    assert capsys.readouterr() == ('', f'{name}: note: skipped: {note}\n')


def test_strict_help_names_every_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """--strict turns every warning into an error: its help names the
    codes from the table of rules, DP010 among them."""
    with pytest.raises(SystemExit) as exit_status:
        main(['--help'])
    assert exit_status.value.code == 0
    assert 'report warnings (DP003, DP006, DP010) as errors' in ' '.join(capsys.readouterr().out.split())


def _peak_of_lint(paths: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Peak Python memory (tracemalloc) of one text lint of ``paths``, its
    report going nowhere (so that the report is not what grows)."""
    import tracemalloc
    with open(os.devnull, 'w') as nowhere:
        monkeypatch.setattr(sys, 'stdout', nowhere)
        monkeypatch.setattr(sys, 'stderr', nowhere)
        tracemalloc.start()
        try:
            assert main(paths) == 1
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            monkeypatch.undo()


@pytest.mark.parametrize('last', (
    b'',
    # words a Compose file names others by: a Dockerfile that has them
    # (a path, a flag) is let go as well, not kept for the Compose files'
    # includes and extends at the end
    b'RUN cp -r include /usr/include && rsync --include="*.h" a b\n',
    b'LABEL extends=base\n',
))
def test_text_lint_holds_one_file_at_a_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, last: bytes,
) -> None:
    # each file's reading (bytes, instructions, references, about 10 kB
    # here) is let go once its findings are written: what stays per file is
    # its path, a few hundred bytes
    body = b'FROM node:20\n' + b''.join(
        b'RUN echo step %d && apt-get install -y package-%d\n' % (k, k) for k in range(60)
    ) + last
    paths = [write(tmp_path / f'{k:04d}' / 'Dockerfile', body) for k in range(600)]
    small = _peak_of_lint(paths[:60], monkeypatch)
    large = _peak_of_lint(paths, monkeypatch)
    assert (large - small) / (600 - 60) < 2048, (small, large)


def test_text_lint_writes_each_file_in_turn(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # the files in the order given, each file's findings in line order;
    # errors on stderr as they come; the summary last
    a = write(tmp_path / 'a' / 'Dockerfile', b'FROM b:1\nFROM a:1\n')
    b = write(tmp_path / 'compose.yaml', b'services:\n  x:\n    image: c:1\n')
    missing = str(tmp_path / 'missing')
    assert main([b, missing, a]) == 2
    out, err = capsys.readouterr()
    assert without_summary(out).splitlines() == [
        f"{b}:3:12: DP001 'c:1' is not pinned to a digest: tag '1' can move; "
        'pin it with digestpin-fix (c:1@sha256:<digest>)',
        f"{a}:1:6: DP001 'b:1' is not pinned to a digest: tag '1' can move; "
        'pin it with digestpin-fix (b:1@sha256:<digest>)',
        f"{a}:2:6: DP001 'a:1' is not pinned to a digest: tag '1' can move; "
        'pin it with digestpin-fix (a:1@sha256:<digest>)',
    ]
    assert err == (
        f'{missing}: error: cannot read: No such file or directory\n'
        'summary: 3 findings (DP001 3) in 2 files; 1 error\n'
    )


def test_text_lint_reads_a_file_named_twice_once_under_its_own_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # the streamed report keeps load_all's choice: a link's target named
    # after it is reported under its own name, once; a second plain name
    # of a file already reported is not read again
    target = write(tmp_path / 'Dockerfile', b'FROM a:1\n')
    os.symlink('Dockerfile', tmp_path / 'link.Dockerfile')
    other = write(tmp_path / 'b' / 'Dockerfile', b'FROM b:1\n')
    assert main([other, str(tmp_path / 'link.Dockerfile'), target, other]) == 1
    out, _ = capsys.readouterr()
    assert [line.split(': ')[0] for line in out.splitlines()] == [
        f'{other}:1:6', f'{target}:1:6',
    ]


BASE_PULLS_A = 'services:\n  x:\n    image: a:1\n'
WEB_BUILDS_A = (
    'services:\n  web:\n    extends: {file: ../docker-compose.yml, service: x}\n    build: .\n'
)


@pytest.mark.parametrize(('files', 'given', 'events'), (
    # one Compose file among other files: each handed on as it is read
    ({'docker-compose.yml': BASE_PULLS_A, 'Dockerfile': 'FROM b:1\n'},
     ['docker-compose.yml', 'Dockerfile'],
     ['read docker-compose.yml', 'docker-compose.yml pin it with digestpin-fix',
      'read Dockerfile', 'Dockerfile pin it with digestpin-fix']),
    # a later Compose file may build its image (here it does): held to the
    # end of the run, in order, the advice NAMES_A_BUILD's
    ({'docker-compose.yml': BASE_PULLS_A, 'other/compose.yaml': WEB_BUILDS_A,
      'Dockerfile': 'FROM b:1\n'},
     ['docker-compose.yml', 'Dockerfile', 'other/compose.yaml'],
     ['read docker-compose.yml', 'read Dockerfile', 'read other/compose.yaml',
      'docker-compose.yml its value also names the image another service builds',
      'Dockerfile pin it with digestpin-fix']),
    # the extending file first (it has no findings): held from the file
    # that has some on, its advice given once the run has read both
    ({'docker-compose.yml': BASE_PULLS_A, 'other/compose.yaml': WEB_BUILDS_A,
      'Dockerfile': 'FROM b:1\n'},
     ['Dockerfile', 'other/compose.yaml', 'docker-compose.yml'],
     ['read Dockerfile', 'Dockerfile pin it with digestpin-fix', 'read other/compose.yaml',
      'read docker-compose.yml',
      'docker-compose.yml its value also names the image another service builds']),
), ids=('one Compose file', 'a later one builds its image', 'the extending one first'))
def test_lint_hands_on_each_file_as_it_is_read_unless_a_later_one_may_build_its_image(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        files: dict[str, str], given: list[str], events: list[str],
) -> None:
    """What lint hands on (the text report writes it at once) comes as
    each file is read, in the order read; from a Compose file with
    findings on, while a later file may be a Compose file, it is held to
    the end of the run, in the same order, so that an image a later file's
    service extends and builds is advised as fix leaves it (NAMES_A_BUILD)."""
    from digestpin_hooks.check.findings import Finding
    from digestpin_hooks.lint import lint_files
    from digestpin_hooks.model import FileError
    from digestpin_hooks.read import files as files_module
    for name, text in files.items():
        write(tmp_path / name, text.encode())
    (tmp_path / '.git').mkdir()
    monkeypatch.chdir(tmp_path)
    seen: list[str] = []
    load = files_module.load

    def read(path: str, kind: str = 'auto') -> object:
        seen.append(f'read {path}')
        return load(path, kind)

    def each(found: list[Finding], error: FileError | None) -> None:
        assert error is None
        seen.extend(
            f'{f.path} {f.message.split("; ", 1)[1].split(" (", 1)[0]}' for f in found
        )

    monkeypatch.setattr(files_module, 'load', read)
    assert lint_files(given, each=each) == ([], [])
    assert seen == events


def test_advice_given_again_is_given_at_each_finding_of_a_shortened_key_path_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two services of long names (their first 91 and last 82 characters
    alike) each mount a volume of a:1, an image another project's service
    builds (it extends the first): the findings reported first are given
    NAMES_A_BUILD's advice once that project is read, each at its own
    place.  They were told by their key path, the same once shortened: the
    first volume's finding (line 5) was replaced by the second's (line 9),
    reported twice."""
    from digestpin_hooks.lint import lint_files
    first, second = 'a' * 95 + 'x' * 20 + 'z' * 90, 'a' * 95 + 'y' * 20 + 'z' * 90
    volume = '    volumes:\n      - {type: image, source: a:1, target: /m}\n'
    write(tmp_path / 'docker-compose.yml', (
        f'services:\n  {first}:\n    image: a:1\n{volume}  {second}:\n    image: b:1\n{volume}'
    ).encode())
    write(tmp_path / 'other' / 'compose.yaml', (
        f'services:\n  web:\n    extends: {{file: ../docker-compose.yml, service: {first}}}\n'
        '    build: .\n'
    ).encode())
    (tmp_path / '.git').mkdir()
    monkeypatch.chdir(tmp_path)
    findings, errors = lint_files(['docker-compose.yml', 'other/compose.yaml'])
    assert errors == []
    assert sorted((f.line, f.column, f.image) for f in findings) == [
        (3, 12, 'a:1'), (5, 31, 'a:1'), (7, 12, 'b:1'), (9, 31, 'a:1'),
    ]


def test_the_compose_bytes_held_for_extends_are_bounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bytes of the Compose files of a run are held for a service of a
    later file that may extend one, up to a bound (8 MiB): the files past
    it are read again, their identity asked first, if one is extended.  On
    main every file's bytes were held to the end of the run: 40 files of
    1 MiB took 36 MiB more at peak than 4 did (1 MiB a file)."""
    pad = b'#' + b'x' * 1022 + b'\n'
    body = b'services:\n  x:\n    image: a:1\n' + pad * 1024
    paths = [write(tmp_path / f'{k:02d}' / 'compose.yaml', body) for k in range(40)]
    small = _peak_of_lint(paths[:4], monkeypatch)
    large = _peak_of_lint(paths, monkeypatch)
    assert large - small < 8 * 1024 * 1024, (small, large)
