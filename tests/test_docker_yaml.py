"""Compose, Kubernetes, Actions and CI files: fix then update against the real stack."""
from __future__ import annotations

from pathlib import Path

import pytest

from digestpin_hooks.__main__ import main
from tests.stack import Stack

TEMPLATES = {
    'compose.yaml': (
        '# comment kept\r\nx-base: &base\r\n  image: "{a}"\r\nservices:\r\n'
        '  one:\r\n    <<: *base\r\n  two: {{image: \'{b}\', ports: ["80"]}}\r\n'
        '  built:\r\n    build: .\r\n    image: {a}\r\n'
    ),
    'deploy/app.yaml': (
        'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n'
        '      containers:\n      - name: a   # the app\n        image: {a}\n'
        '---\napiVersion: v1\nkind: Pod\nspec:\n  initContainers: [{{name: i, image: "{b}"}}]'
    ),
    '.github/workflows/ci.yml': (
        'on: push\njobs:\n  test:\n    container: {a}\n    services:\n      db:\n'
        '        image: \'{b}\'\n    steps:\n      - uses: docker://{b}\n'
    ),
    '.gitlab-ci.yml': (
        'variables:\n  GIT_DEPTH: "1"\n.base: &base\n  image: {{name: "{a}"}}\n'
        'test:\n  <<: *base\n  services: [\'{b}\']\r\n'
    ),
    'bitbucket-pipelines.yml': (
        'image: {a}\npipelines:\n  default:\n    - step:\n        image: "{b}"\n'
        '        script: [true]'
    ),
    '.circleci/config.yml': (
        'version: 2.1\njobs:\n  t:\n    docker:\n      - image: {a}   # primary\n'
        '      - image: \'{b}\'\n'
    ),
    'cloudbuild.yaml': "steps:\n- name: {a}\n- name: '{b}'\n  args: [x]\n",
    '.woodpecker/ci.yaml': 'steps:\n  a:\n    image: {a}\n---\nservices:\n  - image: "{b}"\n',
    '.devcontainer/devcontainer.json': '{{\r\n  // the image\r\n  "image": "{a}", /* b */\r\n}}',
}


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_fix_then_update_exact_bytes(
        stack: Stack, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str],
) -> None:
    slug = name.replace('/', '-').replace('.', '-').strip('-')
    a, b = f'{stack.registry}/yaml/{slug}-a:1', f'{stack.registry}/yaml/{slug}-b:2'
    a1, b1 = stack.push(a, f'{slug} a one'), stack.push(b, f'{slug} b one')
    template = TEMPLATES[name]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(template.format(a=a, b=b).encode())
    host = ['--docker-host', stack.host]

    assert main(['fix', *host, str(path)]) == 1
    if name == 'compose.yaml':  # the built service names what it builds
        expected = template.format(a=f'{a}@{a1}', b=f'{b}@{b1}').replace(
            f'build: .\r\n    image: {a}@{a1}', f'build: .\r\n    image: {a}',
        )
    else:
        expected = template.format(a=f'{a}@{a1}', b=f'{b}@{b1}')
    assert path.read_bytes() == expected.encode()
    assert main(['verify', *host, str(path)]) == 0
    assert main(['fix', *host, str(path)]) == 0
    capsys.readouterr()

    a2, b2 = stack.push(a, f'{slug} a two'), stack.push(b, f'{slug} b two')
    assert main(['verify', *host, str(path)]) == 0  # DP006 warnings
    assert capsys.readouterr().out.count(' DP006 ') == expected.count('@sha256:')
    assert main(['update', *host, str(path)]) == 1
    assert path.read_bytes() == expected.replace(a1, a2).replace(b1, b2).encode()
    assert main(['verify', '--strict', *host, str(path)]) == 0


def test_helm_values_and_kustomize_fix_verify_update(
        stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Assembled references on the real stack: fix writes the digest field
    (Helm's digest:, else its tag; Kustomize's added digest:), verify reads
    it, update moves it."""
    a, b = f'{stack.registry}/assembled/a', f'{stack.registry}/assembled/b'
    a1, b1 = stack.push(f'{a}:1', 'assembled a one'), stack.push(f'{b}:2', 'assembled b one')
    chart = tmp_path / 'chart'
    chart.mkdir()
    (chart / 'Chart.yaml').write_text('apiVersion: v2\nname: c\nversion: 1.0.0\n')
    values = chart / 'values.yaml'
    values.write_text(
        f'image:\n  repository: {a}\n  tag: "1"\n  digest: ""\n'
        f'worker:\n  image:\n    repository: {b}\n    tag: "2"   # kept\n',
    )
    kustomization = tmp_path / 'kustomization.yaml'
    kustomization.write_text(f'images:\n- name: app\n  newName: {a}\n  newTag: "1"\n')
    files = [str(values), str(kustomization)]
    host = ['--docker-host', stack.host]
    assert main(['fix', *host, *files]) == 1
    assert values.read_text() == (
        f'image:\n  repository: {a}\n  tag: "1"\n  digest: "{a1}"\n'
        f'worker:\n  image:\n    repository: {b}\n    tag: "2@{b1}"   # kept\n'
    )
    assert kustomization.read_text() == (
        f'images:\n- name: app\n  newName: {a}\n  newTag: "1"\n  digest: {a1}\n'
    )
    assert main(['verify', '--strict', *host, *files]) == 0
    capsys.readouterr()
    a2, b2 = stack.push(f'{a}:1', 'assembled a two'), stack.push(f'{b}:2', 'assembled b two')
    assert main(['verify', *host, *files]) == 0
    assert capsys.readouterr().out.count(' DP006 ') == 3
    assert main(['update', '--source', 'registry', *files]) == 1
    assert values.read_text() == (
        f'image:\n  repository: {a}\n  tag: "1"\n  digest: "{a2}"\n'
        f'worker:\n  image:\n    repository: {b}\n    tag: "2@{b2}"   # kept\n'
    )
    assert kustomization.read_text().endswith(f'  digest: {a2}\n')
    assert main(['verify', '--strict', *host, *files]) == 0
