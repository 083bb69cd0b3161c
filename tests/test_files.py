"""read/files.py: what is read, and how often."""
from __future__ import annotations

from pathlib import Path

import pytest

from digestpin_hooks.read import yaml_nodes
from digestpin_hooks.read import yaml_refs
from digestpin_hooks.read.files import load_all


def test_a_gitlab_pipeline_parses_each_file_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A root that includes files of its project is read again as one
    pipeline: the documents of each file read alone are those its
    includes are found in and those the pipeline takes, and each file read
    with the pipeline takes them from it: a file is parsed once (it was
    four times)."""
    compose = yaml_nodes.compose_documents
    parsed: list[str] = []

    def counting(text: str, **options: bool) -> list[yaml_nodes.Node | None]:
        parsed.append(text)
        return compose(text, **options)
    monkeypatch.setattr(yaml_nodes, 'compose_documents', counting)
    monkeypatch.setattr(yaml_refs, 'compose_documents', counting)
    root = tmp_path / '.gitlab-ci.yml'
    root.write_text("include: ['/ci/a.yml']\nvariables: {V: '1'}\nb:\n  extends: .a\n")
    (tmp_path / 'ci').mkdir()
    included = tmp_path / 'ci' / 'a.yml'
    included.write_text('.a:\n  image: a:$V\n')
    loaded, errors = load_all([str(root), str(included)], 'gitlab-ci')
    assert errors == []
    assert [
        (ref.source, ref.image, ref.line) for f in loaded for ref in f.refs
    ] == [('.a.image', 'a:1', 2)]
    assert sorted(parsed.count(f.read_text()) for f in (root, included)) == [1, 1]
