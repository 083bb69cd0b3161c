"""read/files.py: what is read, and how often."""
from __future__ import annotations

from pathlib import Path

import pytest

from digestpin_hooks.read import yaml_nodes
from digestpin_hooks.read import yaml_refs
from digestpin_hooks.read.files import load_all


def test_a_gitlab_pipeline_parses_its_root_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A root that includes files of its project is read again as one
    pipeline: the root read alone keeps its documents, in which its
    includes are found and which the pipeline takes; an included file is
    parsed alone and once to find its own includes (the pipeline takes
    those), and each file read with the pipeline takes its documents from
    it.  Each was parsed four times."""
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
    assert [parsed.count(f.read_text()) for f in (root, included)] == [1, 2]
