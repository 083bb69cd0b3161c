"""Where the shared corpora live; tests skip with a visible reason without them."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get(
    'DIGESTPIN_SHARED', os.path.join(HERE, '..', '..', 'shared'),
)
CORPUS = os.path.join(SHARED, 'corpus')
ORACLE = os.path.join(CORPUS, 'ORACLE.jsonl')
ORACLE_032 = os.path.join(CORPUS, 'ORACLE-buildkit-0.32.jsonl')
CASES = os.path.join(SHARED, 'buildkit-cases')
SARIF_SCHEMA = os.path.join(SHARED, 'schemas', 'sarif-2.1.0.json')


def sarif_schema() -> dict[str, Any]:
    """The official SARIF 2.1.0 schema, from the shared folder."""
    if not os.path.isfile(SARIF_SCHEMA):
        pytest.skip(f'the SARIF schema is not at {SARIF_SCHEMA}')
    with open(SARIF_SCHEMA, encoding='utf-8') as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def require_corpus() -> None:
    if not os.path.isfile(ORACLE):
        pytest.skip(f'the Dockerfile corpus is not at {CORPUS}')


def oracle_entries() -> Iterator[dict[str, Any]]:
    with open(ORACLE, encoding='utf-8') as f:
        for line in f:
            yield json.loads(line)


def corpus_files() -> list[str]:
    return [
        os.path.join(CORPUS, entry['file']) for entry in oracle_entries()
    ]

CORPUS_YAML = os.path.join(SHARED, 'corpus-yaml')


def require_yaml_corpus() -> None:
    if not os.path.isfile(os.path.join(CORPUS_YAML, 'MANIFEST.tsv')):
        pytest.skip(f'the YAML corpus is not at {CORPUS_YAML}')


def yaml_corpus_files() -> list[tuple[str, str]]:
    """(path, kind) of every file in the YAML corpus."""
    with open(os.path.join(CORPUS_YAML, 'MANIFEST.tsv'), encoding='utf-8') as f:
        rows = [line.rstrip('\n').split('\t') for line in f][1:]
    return [(os.path.join(CORPUS_YAML, row[0]), row[1]) for row in rows]


def kind_oracle(corpus: str, name: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``oracles/NAME.jsonl`` of a shared corpus (what a
    consuming tool answered, see the oracles' README) by file; skips when
    the corpus has none."""
    path = os.path.join(corpus, 'oracles', f'{name}.jsonl')
    if not os.path.isfile(path):
        pytest.skip(f'the oracle {name} is not at {path}')
    by_file: dict[str, list[dict[str, Any]]] = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            row = json.loads(line)
            by_file.setdefault(row['path'], []).append(row)
    return by_file


def require_buildkit_032() -> None:
    for path in (ORACLE_032, os.path.join(CASES, 'ORACLE.jsonl')):
        if not os.path.isfile(path):
            pytest.skip(f'the BuildKit v0.32 oracle is not at {path}')


def buildkit_032_rows(oracle: str) -> dict[str, list[dict[str, Any]]]:
    """ORACLE-buildkit-0.32 rows (one per reference, then one per file) by
    file."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    with open(oracle, encoding='utf-8') as f:
        for line in f:
            row = json.loads(line)
            by_file.setdefault(row['path'], []).append(row)
    return by_file


def refused_by_buildkit_032() -> set[str]:
    """Corpus files BuildKit v0.32 refuses (their reason is in the row)."""
    return {
        path for path, rows in buildkit_032_rows(ORACLE_032).items()
        if any(r['kind'] == 'file' and (r['file_error'] or r['error']) for r in rows)
    }

CORPUS_KINDS = os.path.join(SHARED, 'corpus-kinds')
# the corpus's kind names -> ours (--kind)
KIND_NAMES = {
    'gitlab-ci': 'gitlab-ci', 'bitbucket': 'bitbucket', 'circleci': 'circleci',
    'cloudbuild': 'cloudbuild', 'drone-woodpecker': 'drone',
    'devcontainer': 'devcontainer', 'helm-values': 'helm', 'kustomize': 'kustomize',
}


def require_kinds_corpus() -> None:
    if not os.path.isfile(os.path.join(CORPUS_KINDS, 'EXPECTED.jsonl')):
        pytest.skip(f'the CI and deployment file corpus is not at {CORPUS_KINDS}')


def kinds_corpus_files() -> list[tuple[str, str]]:
    """(path relative to the corpus, corpus kind) of every file."""
    with open(os.path.join(CORPUS_KINDS, 'MANIFEST.tsv'), encoding='utf-8') as f:
        rows = [line.rstrip('\n').split('\t') for line in f][1:]
    return [(row[0], row[1]) for row in rows]


def kinds_corpus_bytes(kind: str) -> Iterator[tuple[str, bytes]]:
    """(path relative to the corpus, its bytes) of every file of ``kind``."""
    for relative, its_kind in kinds_corpus_files():
        if its_kind == kind:
            with open(os.path.join(CORPUS_KINDS, relative), 'rb') as f:
                yield relative, f.read()


def kinds_expected() -> list[dict[str, Any]]:
    with open(os.path.join(CORPUS_KINDS, 'EXPECTED.jsonl'), encoding='utf-8') as f:
        return [json.loads(line) for line in f]
