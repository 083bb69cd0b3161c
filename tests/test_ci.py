"""CI files -> exact references, and exact bytes after a fix, per kind:
GitLab CI, Bitbucket Pipelines, CircleCI, Cloud Build, Drone/Woodpecker."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.fix import fix_files
from digestpin_hooks.read.files import files_in_folder
from digestpin_hooks.read.files import load
from digestpin_hooks.read.files import SkippedFile
from digestpin_hooks.read.kinds import yaml_kind
from tests.test_yaml_refs import digest_of
from tests.test_yaml_refs import knows_everything
from tests.test_yaml_refs import refs_of

CASES = {
    'gitlab: top level, default, jobs, services as strings and name: mappings': (
        '.gitlab-ci.yml',
        'image: ruby:3.3\n'
        'services: [postgres:16]\n'
        'default:\n  image: {name: "alpine:3", entrypoint: [""]}\n'
        'variables:\n  GO_IMAGE: golang:1.22\n'
        'stages: [test]\n'
        'test:\n  image: $GO_IMAGE\n  services:\n    - name: redis:7\n      alias: cache\n    - docker:dind\n'
        'deploy:\n  image: $CI_REGISTRY_IMAGE/deployer:1\n',
        [
            ('image', 1, 8, 'ruby:3.3', 'ruby:3.3', True),
            ('services[0]', 2, 12, 'postgres:16', 'postgres:16', True),
            ('default.image.name', 4, 18, 'alpine:3', 'alpine:3', True),
            ('test.image', 9, 10, 'golang:1.22', '$GO_IMAGE', True),
            ('test.services[0].name', 11, 13, 'redis:7', 'redis:7', True),
            ('test.services[1]', 13, 7, 'docker:dind', 'docker:dind', True),
            ('deploy.image', 15, 10, '$CI_REGISTRY_IMAGE/deployer:1', '$CI_REGISTRY_IMAGE/deployer:1', False),
        ],
    ),
    'gitlab: a hidden job anchor merged into two jobs is one reference, at the anchor': (
        '.gitlab-ci.yml',
        '.base: &base\n  image: node:20\n'
        'a:\n  <<: *base\n  script: [true]\n'
        'b:\n  <<: *base\n',
        [('.base.image', 2, 10, 'node:20', 'node:20', True)],
    ),
    'bitbucket: top, definitions, steps in parallel and stages, custom pipelines': (
        'bitbucket-pipelines.yml',
        'image: {name: "python:3.12", username: $U}\n'
        'definitions:\n  services:\n    db:\n      image: mysql:8\n'
        '  steps:\n    - step: &build\n        image: node:20\n'
        'pipelines:\n  default:\n    - step: *build\n'
        '    - parallel:\n        - step:\n            image: golang:1.22\n'
        '  custom:\n    deploy:\n      - stage:\n          steps:\n            - step:\n                image: "alpine:3"\n',
        [
            ('image.name', 1, 16, 'python:3.12', 'python:3.12', True),
            ('definitions.services.db.image', 5, 14, 'mysql:8', 'mysql:8', True),
            ('definitions.steps[0].step.image', 8, 16, 'node:20', 'node:20', True),
            ('pipelines.default[1].parallel[0].step.image', 14, 20, 'golang:1.22', 'golang:1.22', True),
            ('pipelines.custom.deploy[0].stage.steps[0].step.image', 20, 25, 'alpine:3', 'alpine:3', True),
        ],
    ),
    # Bitbucket runs a ``pipe: docker://IMAGE`` as a container of that
    # image (its ``atlassian/name:1.2.3`` pipes name a Bitbucket repository,
    # not an image); in ``after-script`` too, whose items are ``script``'s
    'bitbucket: docker:// pipes in script and after-script, not atlassian/ pipes': (
        'bitbucket-pipelines.yml',
        'pipelines:\n  default:\n    - step:\n        script:\n'
        '          - pipe: atlassian/aws-s3-deploy:1.1.0\n            variables: {S3_BUCKET: b}\n'
        '          - pipe: docker://acct/repo:1.0\n'
        '          - echo docker://not/a:pipe\n'
        '        after-script:\n'
        '          - pipe: "docker://ghcr.io/o/notify:2"\n'
        '            variables: {A: b}\n',
        [
            ('pipelines.default[0].step.script[1].pipe', 7, 28, 'acct/repo:1.0', 'acct/repo:1.0', True),
            ('pipelines.default[0].step.after-script[0].pipe', 10, 29,
             'ghcr.io/o/notify:2', 'ghcr.io/o/notify:2', True),
        ],
    ),
    'bitbucket: a pipe with a variable is DP003; one anchor used by two steps is one reference': (
        'bitbucket-pipelines.yml',
        'definitions:\n  steps:\n    - step: &s\n        script:\n'
        '          - pipe: docker://$REGISTRY/tool:1\n'
        'pipelines:\n  default:\n    - step: *s\n    - step:\n        script:\n'
        '          - pipe: &p docker://alpine:3\n'
        '    - step:\n        script:\n          - pipe: *p\n',
        [
            ('definitions.steps[0].step.script[0].pipe', 5, 28,
             '$REGISTRY/tool:1', '$REGISTRY/tool:1', False),
            ('pipelines.default[1].step.script[0].pipe', 11, 31, 'alpine:3', 'alpine:3', True),
        ],
    ),
    # a pipeline under definitions.pipelines is shared: the main file (or
    # another repository's) runs it by ``import:``, its steps' images and
    # docker:// pipes pulled as any step's
    'bitbucket: the steps of definitions.pipelines, their images and docker:// pipes': (
        'bitbucket-pipelines.yml',
        'export: true\ndefinitions:\n  pipelines:\n    shared:\n'
        '      - step:\n          image: node:20\n          script:\n'
        '            - pipe: docker://acct/tool:1\n'
        '      - parallel:\n          - step:\n              script:\n'
        '                - pipe: docker://acct/other:2\n'
        'pipelines:\n  custom:\n    run-shared:\n      import: shared-pipelines:main:shared\n',
        [
            ('definitions.pipelines.shared[0].step.image', 6, 18, 'node:20', 'node:20', True),
            ('definitions.pipelines.shared[0].step.script[0].pipe', 8, 30,
             'acct/tool:1', 'acct/tool:1', True),
            ('definitions.pipelines.shared[1].parallel[0].step.script[0].pipe', 12, 34,
             'acct/other:2', 'acct/other:2', True),
        ],
    ),
    'circleci: jobs and executors, orb parameters are DP003, machine images are not containers': (
        '.circleci/config.yml',
        'version: 2.1\n'
        'executors:\n  py:\n    docker:\n      - image: cimg/python:3.12\n'
        'jobs:\n  test:\n    docker:\n      - image: cimg/node:20.1\n      - image: "<< parameters.db >>"\n'
        '  vm:\n    machine:\n      image: ubuntu-2204:current\n',
        [
            ('executors.py.docker[0].image', 5, 16, 'cimg/python:3.12', 'cimg/python:3.12', True),
            ('jobs.test.docker[0].image', 9, 16, 'cimg/node:20.1', 'cimg/node:20.1', True),
            ('jobs.test.docker[1].image', 10, 17, '<< parameters.db >>', '<< parameters.db >>', False),
        ],
    ),
    'cloudbuild: steps[].name, substitutions with defaults, built-ins are DP003': (
        'cloudbuild.yaml',
        'substitutions:\n  _GO: "1.22"\n'
        'steps:\n- name: gcr.io/cloud-builders/docker\n'
        "- name: 'golang:${_GO}'\n"
        '- name: gcr.io/$PROJECT_ID/tool:1\n'
        'images: [gcr.io/x/pushed:1]\n',
        [
            ('steps[0].name', 4, 9, 'gcr.io/cloud-builders/docker', 'gcr.io/cloud-builders/docker', True),
            ('steps[1].name', 5, 10, 'golang:1.22', 'golang:${_GO}', False),
            ('steps[2].name', 6, 9, 'gcr.io/$PROJECT_ID/tool:1', 'gcr.io/$PROJECT_ID/tool:1', False),
        ],
    ),
    'cloudbuild as JSON': (
        'cloudbuild.json',
        '{"steps": [{"name": "ubuntu:24.04", "args": ["true"]}]}',
        [('steps[0].name', 1, 22, 'ubuntu:24.04', 'ubuntu:24.04', True)],
    ),
    'drone: every document, steps and services as lists, old pipeline: maps': (
        '.drone.yml',
        'kind: pipeline\nsteps:\n- name: test\n  image: golang:1.22\n'
        'services:\n- name: db\n  image: postgres:16\n'
        '---\npipeline:\n  build:\n    image: "node:20"\n',
        [
            ('steps[0].image', 4, 10, 'golang:1.22', 'golang:1.22', True),
            ('services[0].image', 7, 10, 'postgres:16', 'postgres:16', True),
            ('pipeline.build.image', 11, 13, 'node:20', 'node:20', True),
        ],
    ),
    'devcontainer: JSON with comments and a trailing comma; features are not images': (
        '.devcontainer/devcontainer.json',
        '{\n  // the base image\n  "name": "x",\n  /* pinned below */ "image": "mcr.microsoft.com/devcontainers/base:bookworm",\n'
        '  "features": {"ghcr.io/devcontainers/features/node:1": {}},\n}\n',
        [('image', 4, 32, 'mcr.microsoft.com/devcontainers/base:bookworm',
          'mcr.microsoft.com/devcontainers/base:bookworm', True)],
    ),
    'devcontainer: an escaped string is read, not rewritten': (
        '.devcontainer.json',
        '{"image": "node\\u003a20"}',
        [('image', 1, 11, 'node:20', '"node\\u003a20"', False)],
    ),
    'woodpecker: steps as a map, images through a variables anchor': (
        '.woodpecker/test.yaml',
        "variables:\n  - &go 'golang:1.22'\nsteps:\n  vendor:\n    image: *go\n  lint:\n    image: *go\n",
        [('variables[0]', 2, 10, 'golang:1.22', 'golang:1.22', True)],
    ),
}


@pytest.mark.parametrize(('name', 'text', 'expected'), CASES.values(), ids=list(CASES))
def test_references(tmp_path: Path, name: str, text: str, expected: list[tuple[object, ...]]) -> None:
    assert refs_of(tmp_path, name, text) == expected


def test_crlf_and_no_final_newline_keep_their_bytes(tmp_path: Path) -> None:
    path = tmp_path / '.gitlab-ci.yml'
    path.write_bytes(b'# keep\r\ntest:\r\n  image: "ruby:3.3"   # pinned soon\r\n  services: [redis]')
    fix_files([str(path)], knows_everything)
    assert path.read_bytes() == (
        b'# keep\r\ntest:\r\n  image: "ruby:3.3@' + digest_of('ruby:3.3').encode()
        + b'"   # pinned soon\r\n  services: [redis@' + digest_of('redis:latest').encode() + b']'
    )


FIXED = [
    ('bitbucket-pipelines.yml', 'image: node:20\n', 'image: node:20@{node:20}\n'),
    # only the image after docker:// changes; the alias reads the anchor's
    # pin; an atlassian/ pipe is a Bitbucket repository, left as it is
    ('bitbucket-pipelines.yml',
     'pipelines:\n  default:\n    - step:\n        script:\n'
     '          - pipe: atlassian/aws-s3-deploy:1.1.0\n'
     "          - pipe: 'docker://acct/repo:1.0'   # ours\n"
     '          - pipe: &p docker://alpine:3\n'
     '        after-script:\n          - pipe: docker://ghcr.io/o/notify\n'
     '    - step:\n        script:\n          - pipe: *p\n',
     'pipelines:\n  default:\n    - step:\n        script:\n'
     '          - pipe: atlassian/aws-s3-deploy:1.1.0\n'
     "          - pipe: 'docker://acct/repo:1.0@{acct/repo:1.0}'   # ours\n"
     '          - pipe: &p docker://alpine:3@{alpine:3}\n'
     '        after-script:\n          - pipe: docker://ghcr.io/o/notify@{ghcr.io/o/notify:latest}\n'
     '    - step:\n        script:\n          - pipe: *p\n'),
    ('.circleci/config.yml', 'jobs:\n  a:\n    docker:\n      - image: cimg/go:1.22\n',
     'jobs:\n  a:\n    docker:\n      - image: cimg/go:1.22@{cimg/go:1.22}\n'),
    ('cloudbuild.yaml', "steps:\n- name: 'gcr.io/cloud-builders/gcloud'\n",
     "steps:\n- name: 'gcr.io/cloud-builders/gcloud@{gcr.io/cloud-builders/gcloud:latest}'\n"),
    ('.woodpecker.yml', 'steps:\n  - image: &a alpine:3\n  - image: *a\n',
     'steps:\n  - image: &a alpine:3@{alpine:3}\n  - image: *a\n'),
]


def test_a_devcontainer_keeps_its_comments_commas_and_line_endings(tmp_path: Path) -> None:
    path = tmp_path / '.devcontainer' / 'go' / 'devcontainer.json'
    path.parent.mkdir(parents=True)
    before = b'// Go\r\n{\r\n\t"image": "golang:1.22", // the toolchain\r\n\t"runArgs": [],\r\n}'
    path.write_bytes(before)
    fix_files([str(path)], knows_everything)
    assert path.read_bytes() == before.replace(
        b'golang:1.22', b'golang:1.22@' + digest_of('golang:1.22').encode(),
    )


@pytest.mark.parametrize(('name', 'before', 'after'), FIXED, ids=[f[0] for f in FIXED])
def test_fix_exact_bytes(tmp_path: Path, name: str, before: str, after: str) -> None:
    import re
    expected = re.sub(r'\{([^}]+)\}', lambda m: digest_of(m.group(1)), after)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(before)
    fix_files([str(path)], knows_everything)
    assert path.read_text() == expected
    fix_files([str(path)], knows_everything)  # nothing left to pin
    assert path.read_text() == expected


PIPES = (
    'pipelines:\n  default:\n    - step:\n        script:\n'
    '          - pipe: atlassian/slack-notify:2.0.0\n'
    '          - pipe: docker://acct/repo:1.0\n'
    '          - pipe: docker://$REGISTRY/tool:1\n'
    '        after-script:\n          - pipe: "docker://busybox"\n'
)


def test_lint_reports_docker_pipes_at_their_image(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """Each ``pipe: docker://`` where its image starts (after docker://);
    a variable in it is DP003, as in any Bitbucket image; an atlassian/
    pipe is no finding."""
    from digestpin_hooks.lint import main
    (tmp_path / 'bitbucket-pipelines.yml').write_text(PIPES)
    monkeypatch.chdir(tmp_path)
    assert main(['bitbucket-pipelines.yml']) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(' ', 2)[:2] for line in lines if line.startswith('bitbucket-pipelines.yml:')] == [
        ['bitbucket-pipelines.yml:6:28:', 'DP001'],
        ['bitbucket-pipelines.yml:7:28:', 'DP003'],
        ['bitbucket-pipelines.yml:9:29:', 'DP002'],
    ]


def test_update_and_verify_follow_a_pinned_docker_pipe(tmp_path: Path) -> None:
    """update moves a pipe's pin in place (docker:// and the tag kept);
    verify asks about it and reports it stale on its line."""
    from digestpin_hooks.update import update_files
    from digestpin_hooks.verify import verify_files
    from tests.test_update import moved
    from tests.test_update import NEW
    from tests.test_update import OLD
    from tests.test_verify import asker
    from tests.test_verify import Manifest
    path = tmp_path / 'bitbucket-pipelines.yml'
    before = (
        'pipelines:\n  default:\n    - step:\n        script:\n'
        f'          - pipe: docker://acct/repo:1.0@{OLD}\n'
        '          - pipe: atlassian/slack-notify:2.0.0\n'
    )
    path.write_text(before)
    answers = {f'acct/repo@{OLD}': Manifest(OLD, True, ()), 'acct/repo:1.0': Manifest(NEW, True, ())}
    findings, errors = verify_files([str(path)], asker(answers))
    assert errors == []
    assert [(f.line, f.column, f.code, f.image) for f in findings] == [
        (5, 28, 'DP006', f'acct/repo:1.0@{OLD}'),
    ]
    updates, _, errors, changed = update_files([str(path)], moved)
    assert changed and errors == []
    assert [(u.line, u.image, u.old, u.new) for u in updates] == [(5, 'acct/repo:1.0', OLD, NEW)]
    assert path.read_text() == before.replace(OLD, NEW)


def test_a_value_both_a_step_image_and_a_docker_pipe_is_reported_not_written(tmp_path: Path) -> None:
    """One scalar read with docker:// as a pipe and whole as a step's image
    is two uses whose pins differ (after docker://, and after the whole
    text): both are reported, and fix writes neither, as for any value that
    images share but one pin cannot serve (each was one use, the other's
    finding lost)."""
    path = tmp_path / 'bitbucket-pipelines.yml'
    before = (
        'pipelines:\n  default:\n    - step:\n        image: &x docker://alpine:3\n'
        '        script:\n          - pipe: *x\n'
    )
    assert refs_of(tmp_path, 'bitbucket-pipelines.yml', before) == [
        ('pipelines.default[0].step.image', 4, 19, 'docker://alpine:3', 'docker://alpine:3', True),
        ('pipelines.default[0].step.image', 4, 28, 'alpine:3', 'alpine:3', True),
    ]
    _, findings, errors, changed = fix_files([str(path)], knows_everything)
    assert (errors, changed) == ([], False)
    assert path.read_text() == before
    assert [(f.column, f.code) for f in findings] == [(19, 'DP005'), (28, 'DP001')]
    assert 'its value is shared with line 4' in findings[1].message


def test_codes_and_messages(tmp_path: Path) -> None:
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(
        'variables:\n  IMG: alpine:3\n'
        'a:\n  image: $IMG\n'
        'b:\n  image: $CI_REGISTRY_IMAGE:1\n'
        'c:\n  # digestpin: ignore=DP002\n  image: busybox\n',
    )
    loaded = load(str(path))
    findings = findings_for(loaded.path, loaded.doc, loaded.refs)
    assert [(f.line, f.code) for f in findings] == [(4, 'DP001'), (6, 'DP003')]
    # pinned where the value is written (issue 24)
    assert findings[0].message.endswith(
        'pin it with digestpin-fix (alpine:3@sha256:<digest>) [the value of $IMG]',
    )
    assert 'no variables: value gives $CI_REGISTRY_IMAGE a value' in findings[1].message


@pytest.mark.parametrize(('path', 'kind'), (
    ('.gitlab-ci.yml', 'gitlab-ci'), ('ci/.gitlab-ci.yaml', 'gitlab-ci'),
    ('.gitlab/ci/build.yml', 'gitlab-ci'), ('bitbucket-pipelines.yml', 'bitbucket'),
    ('.circleci/config.yml', 'circleci'), ('cloudbuild.yaml', 'cloudbuild'),
    ('deploy/cloudbuild-release.yml', 'cloudbuild'), ('cloudbuild.json', 'cloudbuild'),
    ('.drone.yml', 'drone'), ('.woodpecker.yml', 'drone'), ('.woodpecker/test.yaml', 'drone'),
    ('.devcontainer.json', 'devcontainer'), ('.devcontainer/devcontainer.json', 'devcontainer'),
    ('.devcontainer/py/devcontainer.json', 'devcontainer'), ('devcontainer.json', ''),
    ('ci.yml', 'kubernetes'), ('package.json', ''),
))
def test_names(path: str, kind: str) -> None:
    assert yaml_kind(path) == kind


def test_a_folder_search_finds_every_ci_kind(tmp_path: Path) -> None:
    names = [
        '.gitlab-ci.yml', 'bitbucket-pipelines.yml', '.circleci/config.yml',
        'cloudbuild.yaml', '.drone.yml', '.woodpecker/a.yml', '.devcontainer/devcontainer.json',
        'other.yml',
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{}\n')
    found = sorted(Path(p).relative_to(tmp_path).as_posix() for p, _ in files_in_folder(str(tmp_path)))
    assert found == sorted(names[:-1])


def test_a_folder_search_follows_gitlab_local_includes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Files a .gitlab-ci.yml includes from its own project are read as
    GitLab CI whatever their names, nested includes and globs too; remote
    and template includes, and files outside the folder, are not."""
    from digestpin_hooks.lint import main
    files = {
        '.gitlab-ci.yml': (
            'include:\n  - local: /ci/build.yml\n  - ci/jobs/*.yml\n'
            '  - remote: https://example.com/x.yml\n  - template: Auto-DevOps.gitlab-ci.yml\n'
            '  - local: ../outside.yml\n'
        ),
        'ci/build.yml': 'include: ci/nested.yaml\nbuild:\n  image: golang:1.22\n',
        'ci/nested.yaml': 'n:\n  image: node:20\n',
        'ci/jobs/a.yml': 'a:\n  services: [redis:7]\n',
        'ci/unrelated.yml': 'apiVersion: v1\nkind: Pod\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path.parent / 'outside.yml').write_text('o:\n  image: evil:1\n')
    kinds = {
        Path(p).relative_to(tmp_path).as_posix(): kind for p, kind in files_in_folder(str(tmp_path))
    }
    assert kinds == {
        '.gitlab-ci.yml': 'auto', 'ci/build.yml': 'gitlab-ci', 'ci/jobs/a.yml': 'gitlab-ci',
        'ci/nested.yaml': 'gitlab-ci', 'ci/unrelated.yml': 'kubernetes',  # by its content
    }
    assert main([str(tmp_path), '--format', 'json']) == 1
    import json
    found = {(Path(f['path']).name, f['image']) for f in json.loads(capsys.readouterr().out)['findings']}
    assert found == {('build.yml', 'golang:1.22'), ('nested.yaml', 'node:20'), ('a.yml', 'redis:7')}


@pytest.mark.parametrize(('name', 'data'), (
    ('.gitlab-ci.yml', b'- a list\n'),
    ('.drone.yml', b'just text\n'),
    ('.devcontainer.json', b'[1, 2]'),
))
def test_a_file_that_is_not_its_kind_is_skipped(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SkippedFile, match='skipped: not a'):
        load(str(path))


ASSEMBLED = {
    'kustomize: block, flow, a digest already there, no newTag': (
        'kustomization.yaml',
        'images:\n'
        '- name: nginx\n  newTag: "1.25"  # soon pinned\n'
        '- {name: redis, newName: my/redis, newTag: "7"}\n'
        '- name: app\n  newName: me/app\n  newTag: v2\n  digest: sha256:' + 'a' * 64 + '\n'
        '- name: base\n  newName: me/base\n',
        [
            ('images[0]', 2, 3, 'nginx:1.25', True),
            ('images[1]', 4, 4, 'my/redis:7', True),
            ('images[2]', 5, 3, 'me/app:v2@sha256:' + 'a' * 64, True),
            ('images[3]', 9, 3, 'me/base', False),
        ],
    ),
    'helm: registry, repository, tag and digest; image strings; booleans are no images': (
        'chart/values.yaml',
        'image:\n  registry: docker.io\n  repository: bitnami/nginx\n  tag: "1.25.3"\n  digest: ""\n'
        'sidecar:\n  image:\n    repository: busybox\n    tag: 1.36\n'
        'initImage: alpine:3\n'
        'useStandaloneImage: true\n'
        'metrics:\n  image:\n    repository: prom/x\n    sha: ' + 'b' * 64 + '\n'
        'noTag:\n  image:\n    repository: x/y\n',
        [
            ('image', 2, 3, 'docker.io/bitnami/nginx:1.25.3', True),
            ('sidecar.image', 8, 5, 'busybox:1.36', True),
            ('initImage', 10, 12, 'alpine:3', True),
            ('metrics.image', 14, 5, 'prom/x@sha256:' + 'b' * 64, False),
            ('noTag.image', 18, 5, 'x/y', False),
        ],
    ),
}


@pytest.mark.parametrize(('name', 'text', 'expected'), ASSEMBLED.values(), ids=list(ASSEMBLED))
def test_assembled_references(tmp_path: Path, name: str, text: str, expected: list[tuple[object, ...]]) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / 'Chart.yaml').write_text('apiVersion: v2\nname: c\nversion: 1.0.0\n')
    path.write_text(text)
    loaded = load(str(path))
    assert [
        (ref.source, *loaded.doc.position(ref.span[0]), ref.image, ref.editable)
        for ref in loaded.refs
    ] == expected


def test_kustomize_and_helm_fixes_write_the_field_the_tool_reads(tmp_path: Path) -> None:
    """Kustomize: a digest: key added in the entry's own indentation and
    line endings (a trailing comment stays on its line), or inside a flow
    mapping.  Helm: the chart's digest: field when there is one, else the
    tag as "1.2@sha256:…"."""
    kustomization = tmp_path / 'kustomization.yaml'
    kustomization.write_bytes(
        b'images:\r\n  - name: nginx\r\n    newTag: "1.25"  # soon pinned\r\n'
        b'  - {name: redis, newTag: "7"}',
    )
    chart = tmp_path / 'chart'
    chart.mkdir()
    (chart / 'Chart.yaml').write_text('apiVersion: v2\nname: c\nversion: 1.0.0\n')
    values = chart / 'values.yaml'
    values.write_text(
        'image:\n  repository: bitnami/nginx\n  tag: "1.25.3"   # the app\n  digest:\n'
        'sidecar:\n  image: {repository: busybox, tag: \'1.36\'}\n',
    )
    fix_files([str(kustomization), str(values)], knows_everything)
    assert kustomization.read_bytes() == (
        b'images:\r\n  - name: nginx\r\n    newTag: "1.25"  # soon pinned\r\n'
        b'    digest: ' + digest_of('nginx:1.25').encode() + b'\r\n'
        b'  - {name: redis, newTag: "7", digest: ' + digest_of('redis:7').encode() + b'}'
    )
    assert values.read_text() == (
        'image:\n  repository: bitnami/nginx\n  tag: "1.25.3"   # the app\n'
        f'  digest: {digest_of("bitnami/nginx:1.25.3")}\n'
        f"sidecar:\n  image: {{repository: busybox, tag: '1.36@{digest_of('busybox:1.36')}'}}\n"
    )
    before = kustomization.read_bytes(), values.read_bytes()
    fix_files([str(kustomization), str(values)], knows_everything)  # nothing left
    assert (kustomization.read_bytes(), values.read_bytes()) == before


@pytest.mark.parametrize(('name', 'chart', 'kind'), (
    ('kustomization.yaml', False, 'kustomize'), ('base/kustomization.yml', False, 'kustomize'),
    ('Kustomization', False, 'kustomize'), ('chart/values.yaml', True, 'helm'),
    ('chart/values-prod.yaml', True, 'helm'), ('values.yaml', False, 'kubernetes'),
))
def test_helm_and_kustomize_names(tmp_path: Path, name: str, chart: bool, kind: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if chart:
        (path.parent / 'Chart.yaml').write_text('name: c\n')
    assert yaml_kind(str(path)) == kind


@pytest.mark.parametrize('name', ('.gitlab-ci.yml', 'chart/values.yaml', 'kustomization.yaml'))
def test_a_template_that_is_no_yaml_yet_is_skipped(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / 'Chart.yaml').write_text('name: c\n')
    path.write_text('{{- if .Values.x }}\nimage: {{ .Values.image }}\n{{- end }}\n')
    with pytest.raises(SkippedFile, match='skipped: a template'):
        load(str(path))


PINNED = 'alpine@sha256:' + 'a' * 64
# every kind, a pinned image then the same key again unpinned (an image
# as each kind's tool names it): what each tool does is what we read
DUPLICATES = {
    'compose': ('compose.yaml', f'services:\n  a:\n    image: {PINNED}\n    image: alpine:latest\n'),
    'kubernetes': ('pod.yaml', f'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: {PINNED}\n      image: alpine:latest\n'),
    'actions': ('.github/workflows/ci.yml', f'jobs:\n  a:\n    container: {PINNED}\n    container: alpine:latest\n'),
    'gitlab-ci': ('.gitlab-ci.yml', f'job:\n  image: {PINNED}\n  image: alpine:latest\n'),
    'bitbucket': ('bitbucket-pipelines.yml', f'image: {PINNED}\nimage: alpine:latest\n'),
    'circleci': ('.circleci/config.yml', f'jobs:\n  a:\n    docker:\n      - image: {PINNED}\n        image: alpine:latest\n'),
    'cloudbuild': ('cloudbuild.yaml', f'steps:\n  - name: {PINNED}\n    name: alpine:latest\n'),
    'drone': ('.drone.yml', f'steps:\n  - image: {PINNED}\n    image: alpine:latest\n'),
    'devcontainer': ('.devcontainer.json', f'{{"image": "{PINNED}",\n "image": "alpine:latest"}}'),
    'helm': ('values.yaml', f'image: {PINNED}\nimage: alpine:latest\n'),
    'kustomize': ('kustomization.yaml', 'images:\n  - name: alpine\n    newTag: "3"\n    newTag: latest\n'),
}
# the outcome: the later key read (a finding on its line, exit 1), or the
# file refused (one error line, exit 2)
DUPLICATE_OUTCOMES = {
    'compose': (2, "compose.yaml: error: line 4: duplicate key 'image' (first on line 3)"),
    'kubernetes': (2, "pod.yaml: error: line 6: duplicate key 'image' (first on line 5)"),
    'actions': (2, ".github/workflows/ci.yml: error: line 4: duplicate key 'container' (first on line 3)"),
    'gitlab-ci': (1, ".gitlab-ci.yml:3:10: DP001 'alpine:latest' is not pinned"),
    'bitbucket': (2, "bitbucket-pipelines.yml: error: line 2: duplicate key 'image' (first on line 1)"),
    'circleci': (2, ".circleci/config.yml: error: line 5: duplicate key 'image' (first on line 4)"),
    'cloudbuild': (2, "cloudbuild.yaml: error: line 3: duplicate key 'name' (first on line 2)"),
    'drone': (2, ".drone.yml: error: line 3: duplicate key 'image' (first on line 2)"),
    'devcontainer': (1, ".devcontainer.json:2:12: DP001 'alpine:latest' is not pinned"),
    'helm': (1, "values.yaml:2:8: DP001 'alpine:latest' is not pinned"),
    'kustomize': (2, "kustomization.yaml: error: line 4: duplicate key 'newTag' (first on line 3)"),
}


def test_every_yaml_kind_says_how_its_tool_reads_duplicate_keys() -> None:
    from digestpin_hooks.read.kinds import LATER_WINS
    from digestpin_hooks.read.kinds import REFUSE
    from digestpin_hooks.read.kinds import TABLE
    assert {
        kind.name: kind.duplicates for kind in TABLE if kind.name != 'dockerfile'
    } == {
        kind: (LATER_WINS if status == 1 else REFUSE)
        for kind, (status, _) in DUPLICATE_OUTCOMES.items()
    }
    assert sorted(DUPLICATES) == sorted(DUPLICATE_OUTCOMES)


@pytest.mark.parametrize('kind', list(DUPLICATES))
def test_duplicate_keys_are_read_as_each_tool_reads_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        kind: str,
) -> None:
    from digestpin_hooks.lint import main
    name, text = DUPLICATES[kind]
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    (tmp_path / 'Chart.yaml').write_text('name: c\n')
    monkeypatch.chdir(tmp_path)
    status, line = DUPLICATE_OUTCOMES[kind]
    assert main([name, '--kind', kind]) == status
    out, err = capsys.readouterr()
    lines = (out if status == 1 else err).splitlines()
    assert len([x for x in lines if not x.startswith('summary:')]) == 1, out + err
    assert lines[0].startswith(line), lines[0]


@pytest.mark.parametrize(('text', 'images'), (
    # Ruby's Psych assigns in order: a later << replaces an own key before
    # it (the job's own image is then no reference: GitLab never runs it)
    ('.a: &a {image: a:1}\njob:\n  image: own:1\n  <<: *a\n', [('.a.image', 'a:1')]),
    ('.a: &a {image: a:1}\njob:\n  <<: *a\n  image: own:1\n', [('.a.image', 'a:1'), ('job.image', 'own:1')]),
    ('.a: &a {image: a:1}\njob:\n  image: own:1\n  <<: *a\n  image: last:1\n', [('.a.image', 'a:1'), ('job.image', 'last:1')]),
))
def test_gitlab_merge_keys_are_assigned_in_order(
        tmp_path: Path, text: str, images: list[tuple[str, str]],
) -> None:
    assert [(r[0], r[3]) for r in refs_of(tmp_path, '.gitlab-ci.yml', text)] == images


def test_a_later_merge_wins_and_in_a_list_the_earlier_mapping() -> None:
    from digestpin_hooks.read.yaml_nodes import compose_documents
    from digestpin_hooks.read.yaml_nodes import get
    from digestpin_hooks.read.yaml_nodes import Scalar
    text = 'a: &a {image: a:1}\nb: &b {image: b:1}\nj1:\n  <<: *a\n  <<: *b\nj2:\n  <<: [*a, *b]\n'
    top = compose_documents(text, later_wins=True)[0]
    for job, image in (('j1', 'b:1'), ('j2', 'a:1')):
        entry = get(get(top, job)[0], 'image')  # type: ignore[index]
        assert entry is not None and isinstance(entry[0], Scalar)
        assert entry[0].value == image


def test_gitlab_job_variables_override_top_level_ones(tmp_path: Path) -> None:
    text = (
        f'variables:\n  IMG: {PINNED}\n  SVC: {PINNED}\n'
        'job:\n  variables:\n    IMG: alpine:latest\n    SVC: {value: "redis:7"}\n'
        '  image: $IMG\n  services: [$SVC]\n'
        'other:\n  image: $IMG\n'
    )
    assert refs_of(tmp_path, '.gitlab-ci.yml', text) == [
        ('job.image', 8, 10, 'alpine:latest', '$IMG', True),
        ('job.services[0]', 9, 14, 'redis:7', '$SVC', True),
        ('other.image', 11, 10, PINNED, '$IMG', True),
    ]


def gitlab_wildcard(pattern: str) -> re.Pattern[str]:
    """The expression GitLab makes of an include's wildcard path
    (Repository#search_files_by_wildcard_path), in Python's syntax: the
    path escaped, then ``**/``, ``**`` and ``*`` un-escaped in that order
    (DOTALL: the one named difference, see Glob)."""
    text = ''.join(re.escape(c) for c in pattern)
    text = text.replace(r'\*\*/', '(.*?/)?').replace(r'\*\*', '.*?').replace(r'\*', '([^/])*?')
    return re.compile(text, re.DOTALL)


@pytest.mark.parametrize(('pattern', 'name', 'matched'), (
    ('ci/*.yml', 'ci/a.yml', True), ('ci/*.yml', 'ci/x/a.yml', False),
    ('ci/**.yml', 'ci/x/a.yml', True), ('ci/**/*.yml', 'ci/x/y/a.yml', True),
    ('ci/**/*.yml', 'ci/a.yml', True), ('**/z.yml', 'z.yml', True),
    ('ci/[ab].yml', 'ci/a.yml', False), ('ci/[ab].yml', 'ci/[ab].yml', True),
    ('ci/?.yml', 'ci/a.yml', False), ('ci/?.yml', 'ci/?.yml', True),
    ('ci/{a,b}.yml', 'ci/a.yml', False), ('ci/{a,b}.yml', 'ci/{a,b}.yml', True),
    ('ci/*.y', 'ci/a.yml', False), ('*', '', True), ('**', 'a/b', True),
    ('***/w.yml', 'ci/x/w.yml', True), ('***/w.yml', 'x/w.yml', True), ('***/w.yml', 'w.yml', True),
    ('**/***', 'a/b/c', True), ('*a*a*a*c', 'a' * 50, False), ('a.*', 'a.yml', True),
    ('a.*', 'ab', False), ('\\*', '\\x', True), ('^a$*', '^a$b', True),
))
def test_include_wildcards_match_as_gitlab_matches(pattern: str, name: str, matched: bool) -> None:
    from digestpin_hooks.read.files import Glob
    assert Glob(pattern).matches(name) == matched
    assert (gitlab_wildcard(pattern).fullmatch(name) is not None) == matched


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_include_wildcards_match_as_gitlab_does_on_generated_pairs() -> None:
    import random
    from digestpin_hooks.read.files import Glob
    generator = random.Random(19)
    for _ in range(20_000):
        pattern = ''.join(generator.choice('ab/[]!-*?.\n') for _ in range(generator.randint(0, 10)))
        name = ''.join(generator.choice('ab/]-![*?.\n') for _ in range(generator.randint(0, 10)))
        expected = gitlab_wildcard(pattern).fullmatch(name) is not None
        assert Glob(pattern).matches(name) == expected, (pattern, name)


# GitLab's own merging: what each job pulls, where it is written
# (source, line, image, editable)
GITLAB_PIPELINES = {
    'nested variables are expanded recursively': (
        'variables:\n  A: "1.0"\n  IMG: "alpine:${A}"\njob:\n  image: $IMG\n',
        [('job.image', 5, 'alpine:1.0', False)],
    ),
    'a variable set in the job that extends a template': (
        '.t:\n  image: "python:$V"\njob:\n  extends: .t\n  variables:\n    V: "3.12"\n',
        [('.t.image', 2, 'python:3.12', False)],
    ),
    'extends: multi-level, a list (later wins), hashes merged deep': (
        '.a:\n  image: {name: "node:18", entrypoint: [""]}\n'
        '.b:\n  extends: .a\n  variables: {N: "20"}\n'
        '.c:\n  image: {entrypoint: ["/bin/sh"]}\n  services: [redis:6]\n'
        '.d:\n  services: [redis:7]\n'
        'job:\n  extends: [.b, .c, .d]\n',
        [('.a.image.name', 2, 'node:18', True), ('.d.services[0]', 10, 'redis:7', True),
         ('.c.services[0]', 8, 'redis:6', True)],  # no job uses it: as written
    ),
    'a template used with two values is one reference per image': (
        '.t:\n  image: "python:$V"\n'
        'a:\n  extends: .t\n  variables: {V: "3.11"}\n'
        'b:\n  extends: .t\n  variables: {V: "3.12"}\n'
        'c:\n  extends: .t\n  variables: {V: "3.12"}\n',
        [('.t.image', 2, 'python:3.11', False), ('.t.image', 2, 'python:3.12', False)],
    ),
    '!reference, default: and inherit:': (
        'default:\n  image: ruby:3.3\n  services: [postgres:16]\n'
        '.svc:\n  services: [redis:7]\n'
        'a:\n  script: [x]\n'
        'b:\n  inherit: {default: false}\n  services: [!reference [.svc, services]]\n'
        'c:\n  inherit: {default: [services]}\n  image: !reference [.svc, services, 0]\n'
        '.tpl:\n  image: "node:$N"\n'
        'd:\n  image: !reference [.tpl, image]\n  variables: {N: "20"}\n',
        [('default.image', 2, 'ruby:3.3', True), ('default.services[0]', 3, 'postgres:16', True),
         ('.svc.services[0]', 5, 'redis:7', True), ('.tpl.image', 15, 'node:20', False)],
    ),
    'inherit: variables: false or a list; $$ escapes; expand: false': (
        'variables:\n  TAG: "1"\n  OTHER: "2"\n  RAW: {value: "busybox:$$1", expand: false}\n'
        '  ESC: "x$$TAG"\n'
        'a:\n  inherit: {variables: false}\n  image: "alpine:$TAG"\n'
        'b:\n  inherit: {variables: [OTHER]}\n  image: "debian:$OTHER"\n'
        'c:\n  image: "nginx:$TAG"\n'
        'd:\n  image: $ESC\n',
        [('a.image', 8, 'alpine:$TAG', False), ('b.image', 11, 'debian:2', False),
         ('c.image', 13, 'nginx:1', False), ('d.image', 15, 'x$TAG', False)],
    ),
    'a trigger job runs no container: default: gives it no image': (
        # gitlab-shell's build-package-and-qa: without its trigger, the
        # default image with no variables was a false DP003
        'variables:\n  IMG: "alpine:3.19"\ndefault:\n  image: $IMG\n'
        'a:\n  script: [x]\n'
        'bridge:\n  trigger: {project: other/project}\n  inherit: {variables: false}\n',
        [('default.image', 4, 'alpine:3.19', True)],
    ),
}


@pytest.mark.parametrize(
    ('text', 'expected'), GITLAB_PIPELINES.values(), ids=list(GITLAB_PIPELINES),
)
def test_gitlab_jobs_are_read_as_gitlab_merges_them(
        tmp_path: Path, text: str, expected: list[tuple[object, ...]],
) -> None:
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(text)
    loaded = load(str(path))
    got = [
        (ref.source, loaded.doc.position(ref.span[0])[0], ref.image, ref.editable)
        for ref in loaded.refs
    ]
    assert sorted(got) == sorted(expected)


def test_a_job_without_the_variable_it_uses_is_dp003(tmp_path: Path) -> None:
    """An unset variable stays DP003, in a job as in a template no job uses."""
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(
        'variables:\n  A: "alpine:$CI_COMMIT_TAG"\n'
        '.unused:\n  image: "python:$V"\njob:\n  image: $A\n',
    )
    loaded = load(str(path))
    assert [(ref.source, ref.unresolved) for ref in loaded.refs] == [
        ('.unused.image', ('V',)), ('job.image', ('A',)),
    ]


def test_a_gitlab_image_past_the_expansion_budget_is_dp003_not_expanded(tmp_path: Path) -> None:
    """An image whose variables read or make more than EXPANSION_BUDGET
    (1,024) characters is not expanded: DP003, saying so, never pinned; a
    job that sets the variable to an image is read as ever, and so is an
    image whose variables stay within the budget."""
    made = ''.join(f'$A{i}' for i in range(1, 151))  # 642 characters
    values = ''.join(f'  A{i}: x\n' for i in range(1, 151))
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(
        f'variables:\n  A0: "{made}"\n{values}  B: "{made}{made}"\n'
        f'  C: {"c" * 300}\n  D: "$C$C$C$C"\n'
        'near:\n  image: $A0\n'  # 792 characters read, 150 made: expanded
        'read:\n  image: $B\n'  # 1,434 read
        'made:\n  image: $D\n'  # 308 read, 1,200 made
        'own:\n  image: $B\n  variables: {B: "alpine:3"}\n',
    )
    loaded = load(str(path))
    assert [(ref.source, ref.image[:3], ref.unresolved, ref.how) for ref in loaded.refs] == [
        ('near.image', 'xxx', (), 'built-from-variables'),
        ('read.image', '$B', ('B',), 'too-long'),
        ('made.image', '$D', ('D',), 'too-long'),
        ('own.image', 'alp', (), 'value-of'),
    ]
    messages = [f.message for f in findings_for(str(path), loaded.doc, loaded.refs)]
    assert messages[1] == (
        "'$B' cannot be checked: not expanded: its variables read or make more than "
        '1,024 characters (no reference that can be pulled is longer than 780); pin the '
        'image where the value is set'
    )
    assert [f.code for f in findings_for(str(path), loaded.doc, loaded.refs)] == [
        'DP002', 'DP003', 'DP003', 'DP001',
    ]


@pytest.mark.parametrize('given', ('folder', 'files'))
def test_the_root_files_variables_and_templates_reach_its_includes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str,
) -> None:
    """GitLab merges the root file and its local includes into one
    pipeline: the root's variables and default: reach the jobs of the
    included files, and a job extends a template of another file."""
    from digestpin_hooks.lint import main
    (tmp_path / 'ci').mkdir()
    (tmp_path / '.gitlab-ci.yml').write_text(
        'include:\n  - local: ci/jobs.yml\n'
        'variables:\n  PY: "3.12"\n  BASE: alpine:3.19\n'
        '.root-template:\n  image: "node:$NODE"\n',
    )
    (tmp_path / 'ci' / 'jobs.yml').write_text(
        '.t:\n  image: "python:$PY"\na:\n  extends: .t\nb:\n  image: $BASE\n'
        'c:\n  extends: .root-template\n  variables: {NODE: "20"}\n',
    )
    import json
    arguments = (
        [str(tmp_path)] if given == 'folder'
        else ['--kind', 'gitlab-ci', str(tmp_path / '.gitlab-ci.yml'), str(tmp_path / 'ci' / 'jobs.yml')]
    )
    assert main([*arguments, '--format', 'json']) == 1
    found = sorted(
        (Path(f['path']).name, f['line'], f['code'], f['image'])
        for f in json.loads(capsys.readouterr().out)['findings']
    )
    assert found == [
        ('.gitlab-ci.yml', 7, 'DP001', 'node:20'),
        ('jobs.yml', 2, 'DP001', 'python:3.12'),
        ('jobs.yml', 6, 'DP001', 'alpine:3.19'),
    ]


def _repository_with_a_root(tmp_path: Path) -> Path:
    """A repository whose root pipeline includes ci/all.yml, which
    includes ci/build.yml; ci/other.yml is included by nothing."""
    repository = tmp_path / 'repo'
    (repository / '.git').mkdir(parents=True)
    (repository / 'ci').mkdir()
    (repository / '.gitlab-ci.yml').write_text(
        'include:\n  - local: ci/all.yml\n'
        'variables:\n  V: "3.12"\n'
        'default:\n  services: [postgres:16]\n'
        'root-job:\n  image: alpine:3.19\n',
    )
    (repository / 'ci' / 'all.yml').write_text('include: ci/build.yml\n')
    (repository / 'ci' / 'build.yml').write_text(
        'build:\n  image: python:$V\n',
    )
    (repository / 'ci' / 'other.yml').write_text(
        'other:\n  image: python:$V\n',
    )
    return repository


def test_an_included_file_given_alone_is_read_in_its_roots_pipeline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pre-commit passes only the changed file: ci/build.yml, which the
    repository's .gitlab-ci.yml includes (through ci/all.yml), is read as
    GitLab reads it, with the root's variables (python:3.12, DP001, not
    DP003); only its own findings are reported, not the root's."""
    from digestpin_hooks.lint import main
    monkeypatch.chdir(_repository_with_a_root(tmp_path))
    assert main(['--kind', 'gitlab-ci', 'ci/build.yml']) == 1
    assert capsys.readouterr().out == (
        "ci/build.yml:2:10: DP001 'python:3.12' is not pinned to a digest: tag "
        "'3.12' can move; it is made of variables, which digestpin-fix leaves (the "
        'value may be set elsewhere when it runs): pin it where the value is set '
        '(python:3.12@sha256:<digest>) [built from variables]\n'
    )
    # given with its root, the root's own findings are reported too
    assert main(['--kind', 'gitlab-ci', 'ci/build.yml', '.gitlab-ci.yml', '--format', 'json']) == 1
    import json
    found = sorted(
        (f['path'], f['line'], f['code'], f['image'])
        for f in json.loads(capsys.readouterr().out)['findings']
    )
    assert found == [
        ('.gitlab-ci.yml', 6, 'DP001', 'postgres:16'),
        ('.gitlab-ci.yml', 8, 'DP001', 'alpine:3.19'),
        ('ci/build.yml', 2, 'DP001', 'python:3.12'),
    ]


def test_a_gitlab_file_no_root_includes_is_read_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ci/other.yml is included by no file of the root's pipeline: read
    alone, as before, $V has no value; and a root outside the repository
    (above the folder with the .git) is not read."""
    from digestpin_hooks.lint import main
    repository = _repository_with_a_root(tmp_path)
    monkeypatch.chdir(repository)
    expected = (
        "ci/other.yml:2:10: DP003 'python:$V' cannot be checked: no variables: value "
        'gives $V a value; give the variable a pinned value in '
        'variables: (VAR: image@sha256:...)\n'
    )
    assert main(['--kind', 'gitlab-ci', 'ci/other.yml']) == 0
    assert capsys.readouterr().out == expected
    # the repository is ci/'s own: the .gitlab-ci.yml above it is another's
    (repository / 'ci' / '.git').mkdir()
    assert main(['--kind', 'gitlab-ci', 'ci/build.yml']) == 0
    assert capsys.readouterr().out == expected.replace('other.yml', 'build.yml')
    # a root that is a link (here to one outside the repository) is not read
    (repository / 'ci' / '.git').rmdir()
    (repository / '.gitlab-ci.yml').rename(tmp_path / 'outside.yml')
    (repository / '.gitlab-ci.yml').symlink_to(tmp_path / 'outside.yml')
    assert main(['--kind', 'gitlab-ci', 'ci/build.yml']) == 0
    assert capsys.readouterr().out == expected.replace('other.yml', 'build.yml')


def test_fix_pins_a_gitlab_variable_where_it_is_defined(tmp_path: Path) -> None:
    """Issue 24: ``image: $BASE_IMAGE`` is pinned in ``variables:``, once,
    however many jobs use it whole."""
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(
        'variables:\n  BASE_IMAGE: alpine:3.19\n'
        'a:\n  image: $BASE_IMAGE\nb:\n  services: ["${BASE_IMAGE}"]\n',
    )
    pins, left, errors, changed = fix_files([str(path)], knows_everything)
    assert (len(pins), left, errors, changed) == (2, [], [], True)
    assert path.read_text() == (
        f'variables:\n  BASE_IMAGE: alpine:3.19@{digest_of("alpine:3.19")}\n'
        'a:\n  image: $BASE_IMAGE\nb:\n  services: ["${BASE_IMAGE}"]\n'
    )


def test_fix_leaves_a_gitlab_variable_other_images_are_made_of(tmp_path: Path) -> None:
    """When another image is made of the same value, a pin there would
    change it too: fix leaves it and says why."""
    text = (
        'variables:\n  BASE: alpine:3.19\n'
        'a:\n  image: $BASE\nb:\n  image: ${BASE}-slim\n'
    )
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(text)
    pins, left, errors, changed = fix_files([str(path)], knows_everything)
    assert (pins, errors, changed) == ([], [], False)
    assert [(f.line, f.message) for f in left if f.line == 4] == [(4, (
        "'alpine:3.19' left unpinned: its value on line 2 is shared with line 6: pin by hand"
    ))]
    assert path.read_text() == text


@pytest.mark.parametrize(('text', 'expected'), (
    (  # axes: one reference per row, at the row's value
        'matrix:\n  GO_VERSION:\n    - "1.21"\n    - "1.22"\n'
        'steps:\n  build:\n    image: golang:${GO_VERSION}\n',
        [('steps.build.image', 3, 'golang:1.21', '1.21', False),
         ('steps.build.image', 4, 'golang:1.22', '1.22', False)],
    ),
    (  # include rows (Drone 0.8's pipeline: too)
        'matrix:\n  include:\n    - {IMAGE: "golang:1.21", DB: x}\n    - {IMAGE: "golang:1.22"}\n'
        'pipeline:\n  build:\n    image: $IMAGE\n  other:\n    image: busybox:1\n',
        [('pipeline.build.image', 3, 'golang:1.21', 'golang:1.21', True),
         ('pipeline.build.image', 4, 'golang:1.22', 'golang:1.22', True),
         ('pipeline.other.image', 9, 'busybox:1', 'busybox:1', True)],
    ),
))
def test_woodpecker_matrix_rows_are_one_reference_each(
        tmp_path: Path, text: str, expected: list[tuple[object, ...]],
) -> None:
    path = tmp_path / '.woodpecker.yml'
    path.write_text(text)
    loaded = load(str(path))
    assert [
        (ref.source, loaded.doc.position(ref.span[0])[0], ref.image, ref.written, ref.editable)
        for ref in loaded.refs
    ] == expected


def test_fix_pins_a_matrix_row_that_is_the_whole_image(tmp_path: Path) -> None:
    path = tmp_path / '.woodpecker.yml'
    path.write_text(
        'matrix:\n  IMAGE: [golang:1.21, golang:1.22]\n  GO: ["1.21"]\n'
        'steps:\n  a:\n    image: ${IMAGE}\n  b:\n    image: golang:$GO\n',
    )
    pins, left, errors, changed = fix_files([str(path)], knows_everything)
    assert (len(pins), errors, changed) == (2, [], True)
    assert [f.image for f in left] == ['golang:1.21']  # made of a part: by hand
    assert path.read_text() == (
        f'matrix:\n  IMAGE: [golang:1.21@{digest_of("golang:1.21")}, '
        f'golang:1.22@{digest_of("golang:1.22")}]\n  GO: ["1.21"]\n'
        'steps:\n  a:\n    image: ${IMAGE}\n  b:\n    image: golang:$GO\n'
    )


def test_the_names_in_a_reference_tag_are_no_images(tmp_path: Path) -> None:
    """``services: !reference [.t, services]`` takes .t's services: the
    job name and the key in the tag are no images (they were DP005 and
    DP001, and fix wrote a digest into the tag, breaking the pipeline)."""
    text = (
        '.t:\n  services: [redis:7]\n'
        'default:\n  services: !reference [.t, services]\n'
        'job:\n  services: !reference [.t, services]\n  script: x\n'
        'services: !reference [.t, services]\n'
    )
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(text)
    loaded = load(str(path))
    assert [(ref.source, ref.image) for ref in loaded.refs] == [('.t.services[0]', 'redis:7')]
    pins, left, errors, changed = fix_files([str(path)], knows_everything)
    assert (len(pins), left, errors, changed) == (1, [], [], True)
    assert path.read_text() == text.replace('redis:7', f'redis:7@{digest_of("redis:7")}')


# GitLab images expand as the runner expands them: Go's os.Expand
# (executors/docker expandImageName -> Variables.ExpandValue), which has
# no ``${VAR:-default}``: ``${IMG:-alpine:3}`` is one variable named
# ``IMG:-alpine:3``, which nothing sets, and the runner pulls no image
@pytest.mark.parametrize(('variables', 'image', 'expected'), (
    ('', '"${IMG:-alpine:3}"', ('${IMG:-alpine:3}', ('IMG:-alpine:3',), 'not-a-name')),
    ('IMG: alpine:3', '"${IMG:-alpine:3}"', ('${IMG:-alpine:3}', ('IMG:-alpine:3',), 'not-a-name')),
    ('V: alpine:3', '"${V-x:1}"', ('${V-x:1}', ('V-x:1',), 'not-a-name')),
    ('V: alpine:3', '"alpine:3${V:+-slim}"', ('alpine:3${V:+-slim}', ('V:+-slim',), 'not-a-name')),
    ('', '"$1alpine:3$$$"', ('alpine:3$$', (), 'built-from-variables')),  # a last $ is kept
    ('', '"${}alpine:3"', ('alpine:3', (), 'built-from-variables')),
    ('', '"${alpine:3"', ('alpine:3', (), 'built-from-variables')),
    # variables' own values expand the same way (ExpandWith)
    ('B: alpine:3\n  A: "${B:-x}"', '"$A"', ('', (), 'not-a-name-in-value')),
    ('B: x\n  A: "alpine:3${B:+-slim}"', '"$A"', ('alpine:3', (), 'not-a-name-in-value')),
    ('A: "$$1$2alpine:3"', '"$A"', ('$1alpine:3', (), 'built-from-variables')),
))
def test_gitlab_images_expand_as_the_runner_expands_them(
        tmp_path: Path, variables: str, image: str, expected: tuple[object, ...],
) -> None:
    path = tmp_path / '.gitlab-ci.yml'
    top = f'variables:\n  {variables}\n' if variables else ''
    path.write_text(f'{top}job:\n  image: {image}\n  services: [{image}]\n  script: x\n')
    loaded = load(str(path))
    assert [(ref.image, ref.unresolved, ref.how) for ref in loaded.refs] == [expected] * 2


def test_a_gitlab_default_expression_is_dp003_and_fix_leaves_it(tmp_path: Path) -> None:
    """What lint says of ``${IMG:-alpine:3}`` in a GitLab file, and that
    fix writes nothing into it; the advice for an unset variable is a
    pinned value in variables:, never a ``${VAR:-...}`` the runner would
    read as a variable nobody sets."""
    path = tmp_path / '.gitlab-ci.yml'
    text = 'j:\n  image: ${IMG:-alpine:3}\n  script: x\nk:\n  image: python:$W\n  script: x\n'
    path.write_text(text)
    loaded = load(str(path))
    findings = findings_for(loaded.path, loaded.doc, loaded.refs)
    assert [(f.line, f.code, f.message) for f in findings] == [
        (2, 'DP003',
         "'${IMG:-alpine:3}' cannot be checked: GitLab reads ${IMG:-alpine:3} as one "
         "variable named 'IMG:-alpine:3', which has no value (GitLab has no default "
         'syntax); give the variable a pinned value in variables: (VAR: image@sha256:...)'),
        (5, 'DP003',
         "'python:$W' cannot be checked: no variables: value gives $W a value; "
         'give the variable a pinned value in variables: (VAR: image@sha256:...)'),
    ]
    fix_files([str(path)], knows_everything)
    assert path.read_text() == text


def test_a_gitlab_default_expression_in_a_variables_value_is_named(tmp_path: Path) -> None:
    """``A: "${B:-x}"`` is empty to the runner (one variable named
    ``B:-x``, which no setting outside the file can have), so ``image: $A``
    pulls nothing: DP005, as the runner has it, and the message names the
    variable whose value holds the expression and says why it is empty."""
    path = tmp_path / '.gitlab-ci.yml'
    text = (
        'variables:\n  A: "${B:-x}"\n  C: "$D"\n  D: "alpine${E:-:3}"\n'
        'j:\n  image: $A\n  script: x\nk:\n  image: $C\n  script: x\n'
    )
    path.write_text(text)
    loaded = load(str(path))
    findings = findings_for(loaded.path, loaded.doc, loaded.refs)
    assert [(f.line, f.code, f.message) for f in findings] == [
        (6, 'DP005',
         "'' is not a valid image reference: the reference is empty [in the value of $A, "
         "GitLab reads ${B:-x} as one variable named 'B:-x', which has no value "
         '(GitLab has no ${VAR:-default})]'),
        (9, 'DP002',
         "'alpine' has no tag or digest (implicit latest); it is made of variables, which "
         'digestpin-fix leaves (the value may be set elsewhere when it runs): pin it where '
         "the value is set (alpine@sha256:<digest>) [in the value of $D, GitLab reads "
         "${E:-:3} as one variable named 'E:-:3', which has no value (GitLab has no "
         '${VAR:-default})]'),
    ]


@pytest.mark.parametrize(('name', 'said', 'them', 'advice'), (
    ('gcr.io/$PROJECT_ID/builder:1', '$PROJECT_ID is', 'it', 'its value'),
    ('gcr.io/$PROJECT_ID/builder:$SHORT_SHA', '$PROJECT_ID, $SHORT_SHA are', 'them', 'their values'),
))
def test_cloudbuild_built_in_substitutions_are_not_given_a_default(
        tmp_path: Path, name: str, said: str, them: str, advice: str,
) -> None:
    """Cloud Build sets $PROJECT_ID, $SHORT_SHA and its other default
    substitutions itself, for each build; a user's own substitutions begin
    with an underscore, so ``substitutions:`` cannot give them a default
    (cloud.google.com/build/docs/configuring-builds/substitute-variable-values).
    The advice was a default in substitutions:, for 112 references of the
    corpus."""
    assert _cloudbuild_step_findings(tmp_path, name) == [
        (2, 'DP003',
         f"'{name}' cannot be checked: {said} set by Cloud Build for each build "
         f'(no substitutions: value can set {them}); write {advice} into the image, '
         'then pin it with digestpin-fix'),
    ]


def test_a_gitlab_default_expression_in_a_part_of_the_image_is_not_called_the_image(
        tmp_path: Path,
) -> None:
    """``D: "$A$E"`` with ``A: "${B:-x}"`` makes ``busybox``, the value of
    $E: the finding said it was ``the value of $A`` (empty); it names $A as
    the value that holds the expression, not as the image."""
    path = tmp_path / '.gitlab-ci.yml'
    path.write_text(
        'variables:\n  A: "${B:-x}"\n  D: "$A$E"\n  E: "busybox"\n'
        'j:\n  image: $D\n  script: x\n',
    )
    loaded = load(str(path))
    findings = findings_for(loaded.path, loaded.doc, loaded.refs)
    assert [(f.line, f.code, f.message.rsplit(' [', 1)[1]) for f in findings] == [
        (6, 'DP002',
         "in the value of $A, GitLab reads ${B:-x} as one variable named 'B:-x', which "
         'has no value (GitLab has no ${VAR:-default})]'),
    ]


def _cloudbuild_step_findings(tmp_path: Path, name: str) -> list[tuple[int, str, str]]:
    """(line, code, message) of each finding of a cloudbuild.yaml whose one
    step's image is ``name``."""
    path = tmp_path / 'cloudbuild.yaml'
    path.write_text(f'steps:\n- name: {name}\n')
    loaded = load(str(path))
    return [(f.line, f.code, f.message) for f in findings_for(loaded.path, loaded.doc, loaded.refs)]


def test_cloudbuild_advice_is_what_cloud_build_reads(tmp_path: Path) -> None:
    """Cloud Build reads ``${_VAR:-default}`` only with dynamic
    substitutions (options.dynamicSubstitutions, always on for triggered
    builds); a default in ``substitutions:`` is read by every build, so
    that is the advice."""
    assert _cloudbuild_step_findings(tmp_path, '$_IMG') == [
        (2, 'DP003',
         "'$_IMG' cannot be checked: no default or substitutions: value gives $_IMG a "
         'value; give the variable a pinned default in substitutions: (_VAR: '
         'image@sha256:...); a ${_VAR:-...} default needs dynamic substitutions '
         '(options: dynamicSubstitutions: true, or a trigger)'),
    ]



_NO_SUBSTITUTION = (
    'Cloud Build documents a substitution as $NAME or ${{NAME}} (a name it sets '
    'itself, such as PROJECT_ID, or one of your own, beginning with _)'
)


@pytest.mark.parametrize(('name', 'said'), (
    ('${}', '${} names no substitution'),
    ('${1A}', '${1A} names no substitution'),
    ('a:${}1', '${} names no substitution'),
    ('${_B', '${_B is never closed'),
    ('${_B:-x', '${_B:-x is never closed'),
    ('${_A:-${_B}', '${_A:-${_B} is never closed'),
))
def test_cloudbuild_says_a_dollar_brace_that_names_no_substitution_as_written(
        tmp_path: Path, name: str, said: str,
) -> None:
    """A ``${`` with no name after it (``${}``, ``${1A}``) or no ``}`` to
    close it names no substitution Cloud Build documents (``$NAME`` or
    ``${NAME}``, built-in or beginning with ``_``: cloud.google.com/build/
    docs/configuring-builds/substitute-variable-values): one DP003 that
    says so, as written.  The message said ``$${}`` (a ``$`` added to
    text that has one), ``${_B`` was the substitution _B without a value,
    to be given a default that would not close it, and ``${_B:-x`` the
    image ``x`` (DP002)."""
    assert _cloudbuild_step_findings(tmp_path, name) == [
        (2, 'DP003',
         f"'{name}' cannot be checked: {said}: " + _NO_SUBSTITUTION.format()
         + '; write a substitution as Cloud Build documents it (${_VAR}, with a '
         'pinned default in substitutions:), or the image itself'),
    ]


_BASH_OPERATION = (
    'is a bash operation, which Cloud Build applies only with dynamic substitutions '
    '(a trigger, or options: dynamicSubstitutions: true), when the build runs; '
    'without them it is left as written, which names no image'
)


@pytest.mark.parametrize(('name', 'said'), (
    ('${_B/a/b}', '${_B/a/b}'),
    ('${_B//a/b}', '${_B//a/b}'),
    ('${_B:=x}', '${_B:=x}'),
    ('${_B=x}', '${_B=x}'),
    ('${_B,,}', '${_B,,}'),
    ('${_B^^}', '${_B^^}'),
    ('${_B#x}', '${_B#x}'),
    ('${_B%:*}', '${_B%:*}'),
    ('${_B:1:2}', '${_B:1:2}'),
    ('${#_B}', '${#_B}'),
    ('${_B:+x}', '${_B:+x}'),
    ('${_B:?x}', '${_B:?x}'),
    ('gcr.io/p/${_B/a/b}:1', '${_B/a/b}'),
    ('${_A:-${_B/a/b}}', '${_B/a/b}'),
))
def test_cloudbuild_says_a_bash_operation_is_only_known_when_the_build_runs(
        tmp_path: Path, name: str, said: str,
) -> None:
    """Cloud Build names a substitution ``$_FOO`` or ``${_FOO}``; "If your
    build is invoked by a trigger, the dynamicSubstitutions field is always
    set to true ... If your build is invoked manually, you must set the
    dynamicSubstitutions field to true for bash parameter expansions to be
    interpreted when running your build" (cloud.google.com/build/docs/
    configuring-builds/substitute-variable-values, "Dynamic
    substitutions").  Without them the text is left as written:
    cloud-build-local's subst.FindTemplateParameters (Google's own
    emulator) matches only ``$NAME`` and ``${NAME}``, and its bash
    operations (drone/envsubst: ``/``, ``//``, ``:=``, ``,,``, ``^^``,
    ``#``, ``%``, ``:n:len``, ``${#var}``) are evaluated only when
    options.dynamicSubstitutions is set.  Either way what the image is
    made of ``$_B`` is only known when the build runs: one DP003 that says
    so.  It said that no default or substitutions: value gives $_B a value
    (it has one here), and ``${_B:+x}`` was Compose's: the image ``x``."""
    path = tmp_path / 'cloudbuild.yaml'
    path.write_text(f'substitutions:\n  _B: "alpine:3"\nsteps:\n- name: "{name}"\n')
    loaded = load(str(path))
    assert [(f.line, f.code, f.message) for f in findings_for(loaded.path, loaded.doc, loaded.refs)] == [
        (4, 'DP003',
         f"'{name}' cannot be checked: {said} {_BASH_OPERATION}; write a substitution as "
         'Cloud Build documents it (${_VAR}, with a pinned default in substitutions:), '
         'or the image itself'),
    ]


_ONLY_DYNAMIC = (
    'Cloud Build reads a bash default (${_VAR:-...}) only with dynamic substitutions '
    '(a trigger, or options: dynamicSubstitutions: true); without them it is left as '
    'written, which names no image'
)


@pytest.mark.parametrize(('substitutions', 'name', 'column', 'said', 'default'), (
    ('', '${_B:-alpine:3}', 16, "'alpine:3' is not pinned to a digest: tag '3' can move; "
     'pin it with digestpin-fix (alpine:3@sha256:<digest>) [the default in a variable '
     'expression: ', 'alpine:3'),
    ('', 'gcr.io/p/x:${_T-1}', 10, "'gcr.io/p/x:1' is not pinned to a digest: tag '1' can "
     'move; it is made of variables, which digestpin-fix leaves (the value may be set '
     'elsewhere when it runs): pin it where the value is set (gcr.io/p/x:1@sha256:<digest>) '
     '[built from variables: ', ''),
    ('substitutions:\n  _B: "alpine:3"\n', '${_B:-busybox}', 10,
     "'alpine:3' is not pinned to a digest: tag '3' can move; it is made of variables, "
     'which digestpin-fix leaves (the value may be set elsewhere when it runs): pin it '
     'where the value is set (alpine:3@sha256:<digest>) [built from variables: ', ''),
))
def test_cloudbuild_reads_a_default_as_bash_does_and_says_only_dynamic_substitutions_do(
        tmp_path: Path, substitutions: str, name: str, column: int, said: str, default: str,
) -> None:
    """A tested exception: ``${_B:-alpine:3}`` is read as bash reads it
    (the image ``alpine:3``, whose pin fix writes in the default), though
    Cloud Build reads it so only with dynamic substitutions ("If your build
    is invoked by a trigger, the dynamicSubstitutions field is always set
    to true ... If your build is invoked manually, you must set the
    dynamicSubstitutions field to true for bash parameter expansions to be
    interpreted": cloud.google.com/build/docs/configuring-builds/
    substitute-variable-values, "Dynamic substitutions").  Without them
    the template names substitutions as ``$_FOO`` or ``${_FOO}`` alone
    (the same page; cloud-build-local's subst.FindTemplateParameters), so
    the text stays as written, which is no image reference: such a build
    pulls nothing from it, and a pin in the default changes nothing for
    it.  The finding now says so; it said only "the default in a variable
    expression", as if every build read it.  (``gcr.io/p/x:${_T-1}``: fix
    leaves a default that is only part of the image, as before.)"""
    path = tmp_path / 'cloudbuild.yaml'
    before = f'{substitutions}steps:\n- name: "{name}"\n'
    path.write_text(before)
    loaded = load(str(path))
    line = before.count('\n')
    assert [
        (f.line, f.column, f.code, f.message)
        for f in findings_for(loaded.path, loaded.doc, loaded.refs)
    ] == [(line, column, 'DP001', f'{said}{_ONLY_DYNAMIC}]')]
    if default:  # the default, the whole image, is pinned where it is written
        fix_files([str(path)], knows_everything)
        assert path.read_text() == before.replace(
            f'{default}}}', f'{default}@{digest_of(default)}}}',
        )


@pytest.mark.parametrize(('before', 'column'), (
    ('pipelines:\n  default:\n    - step:\n        script:\n'
     '          - &p docker://alpine:3.19\n          - pipe: *p\n', 25),
    ('pipelines:\n  default:\n    - step:\n        script:\n'
     '          - pipe: &p docker://alpine:3.19\n          - *p\n', 31),
    ('pipelines:\n  default:\n    - step:\n        script:\n'
     '          - pipe: &p docker://alpine:3.19\n'
     '    - step:\n        script: [true]\n        after-script:\n          - *p\n', 31),
))
def test_a_pipe_whose_value_is_also_a_script_line_is_reported_not_written(
        tmp_path: Path, before: str, column: int,
) -> None:
    """One scalar used through an anchor as a ``pipe:`` and as a line of a
    script (a command the step's shell runs): a pin written for the pipe
    would change that command too.  As for anything ambiguous (a YAML
    value shared by uses one pin cannot serve), it is reported, not
    written; fix wrote the digest into the command."""
    path = tmp_path / 'bitbucket-pipelines.yml'
    path.write_text(before)
    loaded = load(str(path))
    findings = findings_for(loaded.path, loaded.doc, loaded.refs)
    assert [(f.line, f.column, f.code) for f in findings] == [(5, column, 'DP001')]
    assert findings[0].message.endswith(
        "its value, written once behind an anchor, is also a line of a script "
        "(a command), which a pin would change: write the pipe's value on its own, "
        'then pin it (alpine:3.19@sha256:<digest>)',
    )
    _, _, errors, changed = fix_files([str(path)], knows_everything)
    assert (errors, changed) == ([], False)
    assert path.read_text() == before


def test_a_docker_pipe_is_read_whatever_the_case_of_its_scheme_and_blanks_before_it(
        tmp_path: Path,
) -> None:
    """A pipe that names a Docker image is written ``pipe: docker://IMAGE``
    (the form the pipes' own pages give); no Atlassian page found
    (support.atlassian.com/bitbucket-cloud/docs/what-are-pipes,
    .../write-a-pipe-for-bitbucket-pipelines) says anything of
    ``DOCKER://`` or of blanks before it.  A URI's scheme is
    case-insensitive ("schemes are case-insensitive", RFC 3986 §3.1), so
    ``DOCKER://alpine:3`` names the image ``alpine:3``; a quoted value
    keeps its leading blanks, which a reader that trims reads the same.
    Either way a pin after the scheme is harmless: if Bitbucket reads the
    value as a pipe's repository instead, it fails with or without it,
    and if it pulls the image, an unpinned one was pulled unreported.  So
    each is read: reported where its image starts, and pinned there; they
    were no finding at all."""
    path = tmp_path / 'bitbucket-pipelines.yml'
    before = (
        'pipelines:\n  default:\n    - step:\n        script:\n'
        '          - pipe: DOCKER://alpine:3\n'
        '          - pipe: "  docker://busybox:1"\n'
        '          - pipe: Docker://acct/repo:1.0\n'
    )
    path.write_text(before)
    loaded = load(str(path))
    assert [
        (f.line, f.column, f.code) for f in findings_for(loaded.path, loaded.doc, loaded.refs)
    ] == [(5, 28, 'DP001'), (6, 31, 'DP001'), (7, 28, 'DP001')]
    fix_files([str(path)], knows_everything)
    assert path.read_text() == before.replace(
        'alpine:3', f'alpine:3@{digest_of("alpine:3")}',
    ).replace(
        'busybox:1"', f'busybox:1@{digest_of("busybox:1")}"',
    ).replace(
        'acct/repo:1.0', f'acct/repo:1.0@{digest_of("acct/repo:1.0")}',
    )


@pytest.mark.parametrize(('value', 'name', 'said'), (
    ('"${_LOCATION}-docker.pkg.dev/${PROJECT_ID}/r/test-image"', '${_IMAGE_NAME}', '_IMAGE_NAME'),
    ('"gcr.io/$PROJECT_ID/x:1"', 'gcr.io/p/y:1', ''),  # a value the image does not read
    ('"${_B/a/b}"', '$_IMAGE_NAME', '_IMAGE_NAME'),
    ('"${_B:-alpine:3}"', 'x/${_IMAGE_NAME}', '_IMAGE_NAME'),
))
def test_cloudbuild_a_substitution_whose_value_names_others_is_known_only_when_the_build_runs(
        tmp_path: Path, value: str, name: str, said: str,
) -> None:
    """"You can reference the value of another variable within a
    user-defined substitution by setting the dynamicSubstitutions option
    to true ... If your build is invoked by a trigger, the
    dynamicSubstitutions field is always set to true" (cloud.google.com/
    build/docs/configuring-builds/substitute-variable-values, "Dynamic
    substitutions", whose example is ``_IMAGE_NAME:
    '${_LOCATION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/test-image'``
    used as ``${_IMAGE_NAME}``).  Such a value is expanded when the build
    runs, and only with dynamic substitutions (cloud-build-local's
    subst.SubstituteBuildFields evaluates the substitutions' values only
    when options.dynamicSubstitutions is set); without them it is left as
    written.  One DP003 that says so; it was a DP005 calling the value as
    written an invalid reference ("invalid repository name
    '${PROJECT_ID}/r'")."""
    path = tmp_path / 'cloudbuild.yaml'
    path.write_text(
        f'substitutions:\n  _B: "alpine:3"\n  _IMAGE_NAME: {value}\n'
        f'steps:\n- name: "{name}"\n',
    )
    loaded = load(str(path))
    findings = [(f.line, f.code, f.message) for f in findings_for(loaded.path, loaded.doc, loaded.refs)]
    if not said:
        assert [(line, code) for line, code, _ in findings] == [(5, 'DP001')]
        return
    assert findings == [
        (5, 'DP003',
         f"'{name}' cannot be checked: the value of ${said} names other substitutions, "
         'which Cloud Build expands only with dynamic substitutions (a trigger, or '
         'options: dynamicSubstitutions: true), when the build runs; without them it '
         'is left as written, which names no image; give the variable a pinned default '
         'in substitutions: that names no other substitution (_VAR: image@sha256:...), '
         'or write the image itself'),
    ]
