"""The CI file corpus (``../shared/corpus-kinds``): our references against
the independent extractor's EXPECTED.jsonl, kind by kind, and a fix of every
file that inserts only digests.

Compared are the file, the key path where the value is written (an anchor's
path for a value used through aliases) and the line where the value
starts; for a reference without variables also the image.  Kinds not read
yet (helm-values, kustomize) are not compared: see the README.
"""
from __future__ import annotations

import collections
import json
import os
import re
from typing import Any

import pytest
import yaml

from digestpin_hooks.model import pin_edit
from digestpin_hooks.read.files import load
from digestpin_hooks.read.files import UnreadableFile
from digestpin_hooks.read.jsonc import parse_jsonc
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence
from digestpin_hooks.resolve.answers import tag_key
from tests.corpus import CORPUS_KINDS
from tests.corpus import KIND_NAMES
from tests.corpus import kinds_corpus_bytes
from tests.corpus import kinds_corpus_files
from tests.corpus import kinds_expected
from tests.corpus import require_kinds_corpus
from tests.test_corpus_yaml import _strip_pins
from tests.test_corpus_yaml import fake_digest
from tests.test_corpus_yaml import fixed_with_fake_digests
from tests.test_corpus_yaml import refixed
from tests.test_corpus_yaml import Tolerant

# the two files the corpus keeps as realistic YAML errors
UNPARSABLE = {
    'circleci/CircleCI-Public__circleci-yaml-language-server/test-files__.circleci__invalid-files__yaml-errors.yml',
    'gitlab-ci/renovatebot__renovate/lib__modules__manager__gitlabci____fixtures____gitlab-ci.4.yaml',
}


# A named difference: Bitbucket runs a step's ``pipe: docker://IMAGE`` (in
# ``script`` or ``after-script``) as a container of that image, pulled as
# written, and we read each as a reference of the Bitbucket kind; the
# independent extractor skipped ``pipe:`` entries, so EXPECTED.jsonl has no
# row of them.  Each is listed with its image (the text after docker://),
# so that any other extra of ours is a disagreement.
_LOREM = 'bitbucket/LoremFooBar__resharper-inspections-bitbucket-pipe/bitbucket-pipelines.yml'
_LINKEDIN = (
    'bitbucket/LinkedInLearning__advanced-bitbucket-pipelines-3925184/'
    'ch2_using_pipes_in_pipelines__02_02_use_a_pipe_in_a_pipeline_configuration__'
    'Shenanigans__bitbucket-pipelines.yml'
)
DOCKER_PIPES = {
    (_LOREM, 'definitions.steps[0].step.script[4].pipe', 22):
        'loremfoobar/resharper-inspections-bitbucket-pipe:1.1.0',
    (_LOREM, 'definitions.steps[0].step.script[11].pipe', 46):
        'loremfoobar/reportgenerator-coverage-bitbucket-pipe:1.0.0',
    (
        'bitbucket/renovatebot__renovate/'
        'lib__modules__manager__bitbucket-pipelines____fixtures____bitbucket-pipelines.yml',
        'pipelines.default[0].step.script[1].pipe', 53,
    ): 'jfrogecosystem/jfrog-setup-cli:2.0.2',
    (_LINKEDIN, 'pipelines.default[0].step.script[0].pipe', 8): 'docker.io/hello-world:latest',
    (_LINKEDIN, 'pipelines.default[1].step.script[0].pipe', 13):
        'public.ecr.aws/docker/library/hello-world:linux',
    (
        'bitbucket/cyberark__conjur-bitbucket-pipe/bitbucket-pipelines.yml',
        'pipelines.default[1].step.script[2].pipe', 21,
    ): 'cyberark/conjur-bitbucket-pipe:edge',
}
_DOCKER_PIPE_RE = re.compile(rb'^ *- pipe: *docker://', re.MULTILINE)


def test_every_reference_the_independent_extractor_finds(
        capsys: pytest.CaptureFixture[str],
) -> None:
    require_kinds_corpus()
    expected: dict[str, set[tuple[str, str, int]]] = collections.defaultdict(set)
    images: dict[tuple[str, str, int], str] = {}
    errors = set()
    for row in kinds_expected():
        if row['kind'] not in KIND_NAMES:
            continue
        if 'error' in row:
            errors.add(row['file'])
            continue
        key = (row['file'], row['key'], row['line'])
        expected[row['kind']].add(key)
        if not row['variables']:
            images[key] = row['image']
    assert errors == UNPARSABLE
    ours: dict[str, set[tuple[str, str, int]]] = collections.defaultdict(set)
    unreadable = set()
    wrong_images = []
    pipes: dict[tuple[str, str, int], str] = {}
    for relative, kind in kinds_corpus_files():
        if kind not in KIND_NAMES:
            continue
        try:
            loaded = load(os.path.join(CORPUS_KINDS, relative), KIND_NAMES[kind])
        except UnreadableFile:
            unreadable.add(relative)
            continue
        for ref in loaded.refs:
            line = loaded.doc.position(ref.span[0])[0]
            if kind == 'drone-woodpecker' and ref.has_variables and b'matrix:' in loaded.data:
                # a named difference: a matrix row's reference is reported
                # at the row's value, the extractor's at its image: key
                line = ref.line
            key = (relative, ref.source, line)
            if key in DOCKER_PIPES:  # not in EXPECTED: see DOCKER_PIPES
                pipes[key] = ref.image
                continue
            ours[kind].add(key)
            if key in images and not ref.has_variables and ref.image != images[key]:
                wrong_images.append((key, ref.image, images[key]))
    assert unreadable == UNPARSABLE
    assert wrong_images == []
    assert pipes == DOCKER_PIPES
    assert not set(DOCKER_PIPES) & expected['bitbucket']
    report = []
    for kind in KIND_NAMES:
        assert ours[kind] == expected[kind], (
            kind, sorted(expected[kind] - ours[kind])[:5], sorted(ours[kind] - expected[kind])[:5],
        )
        report.append(f'{kind}: {len(ours[kind] & expected[kind])}/{len(expected[kind])}')
    with capsys.disabled():
        print('\n[corpus-kinds] references agree: ' + '; '.join(report))


def test_every_docker_pipe_of_the_corpus_is_a_named_difference() -> None:
    """DOCKER_PIPES holds every ``- pipe: docker://`` line of the Bitbucket
    files, each is read as a reference, and no ``atlassian/…`` pipe (a
    Bitbucket repository, not an image) is."""
    require_kinds_corpus()
    lines = set()
    read = set()
    atlassian = 0
    for relative, data in kinds_corpus_bytes('bitbucket'):
        lines |= {
            (relative, data.count(b'\n', 0, m.start()) + 1) for m in _DOCKER_PIPE_RE.finditer(data)
        }
        loaded = load(os.path.join(CORPUS_KINDS, relative), KIND_NAMES['bitbucket'])
        for ref in loaded.refs:
            if ref.source.endswith('.pipe'):
                assert not ref.image.startswith('atlassian/'), (relative, ref.source)
                read.add((relative, loaded.doc.position(ref.span[0])[0]))
        atlassian += data.count(b'pipe: atlassian/')
    assert lines == {(relative, line) for relative, _, line in DOCKER_PIPES}
    assert read == lines
    assert atlassian >= 10  # (the corpus has such pipes to leave alone)


INSERTION_RE = re.compile(r'(?:\r?\n *digest: |, digest: | |@)?sha256:[0-9a-f]{64}')


def _unpinned(after: Any, before: Any, inserted: set[str]) -> Any:
    """``after`` with the pins a fix wrote taken out again: digests after a
    reference, and digest fields filled or added (set back to what they
    were, or removed)."""
    if isinstance(after, dict) and isinstance(before, dict):
        result = {}
        for key, value in after.items():
            if key == 'digest' and isinstance(value, str) and f'@{value}' in inserted:
                if key in before:
                    result[key] = before[key]
                continue
            result[key] = _unpinned(value, before.get(key), inserted)
        return result
    if isinstance(after, list) and isinstance(before, list) and len(after) == len(before):
        return [_unpinned(a, b, inserted) for a, b in zip(after, before)]
    return _strip_pins(after, inserted)


def plain(data: bytes) -> Any:
    """A JSON-with-comments file as Python data, through our reader."""
    def value(node: Any) -> Any:
        if isinstance(node, YamlMapping):
            return {k.value: value(v) for k, v in node.pairs}
        if isinstance(node, YamlSequence):
            return [value(v) for v in node.items]
        if node.style == '"':
            return node.value
        return json.loads(node.value)
    (root,) = parse_jsonc(data.decode())
    return value(root)


def test_the_jsonc_reader_agrees_with_json() -> None:
    """On every dev container file json itself can read (no comments, no
    trailing commas), our reader gives the same data."""
    require_kinds_corpus()
    compared = 0
    for relative, data in kinds_corpus_bytes('devcontainer'):
        try:
            expected = json.loads(data)
        except ValueError:
            continue
        assert plain(data) == expected, relative
        compared += 1
    assert compared >= 30


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_fixing_every_file_inserts_only_digests() -> None:
    require_kinds_corpus()
    pins = unconstructed = 0
    for relative, kind in kinds_corpus_files():
        if kind not in KIND_NAMES or relative in UNPARSABLE:
            continue
        path = os.path.join(CORPUS_KINDS, relative)
        loaded = load(path, KIND_NAMES[kind])
        plan, data, file_pins, inserted = fixed_with_fake_digests(loaded)
        # every edit keeps the text it replaces and adds only a digest:
        # '@digest' after a reference or a Helm tag, the digest in an empty
        # field, or a digest: key added to a Kustomize entry
        for ref, _, parsed in plan.wanted:
            if parsed is None:
                continue
            digest = fake_digest(tag_key(parsed))
            start, end, new = pin_edit(ref, digest, parsed.with_digest(digest))
            original = loaded.doc.text[start:end]
            assert new.startswith(original), (relative, ref.source)
            assert INSERTION_RE.fullmatch(new[len(original):]), (relative, ref.source, new)
        if kind == 'devcontainer':
            # JSON with comments: PyYAML cannot read it, our reader (checked
            # against json below) can
            assert _strip_pins(plain(data), inserted) == plain(loaded.data), relative
            pins += len(file_pins)
            continue
        try:
            before = list(yaml.load_all(loaded.data, Loader=Tolerant))
        except yaml.YAMLError:
            # what PyYAML refuses to construct though the kind's tool takes
            # it (a repeated anchor name in ethereum/solidity's CircleCI
            # config, a merge of a scalar): the bytes are checked above
            unconstructed += 1
            continue
        after = list(yaml.load_all(data, Loader=Tolerant))
        assert _unpinned(after, before, inserted) == before, relative
        pins += len(file_pins)
        if file_pins:
            replan = refixed(loaded, data, KIND_NAMES[kind])
            assert not [parsed for _, _, parsed in replan.wanted if parsed is not None], relative
    assert pins > 500
    assert unconstructed <= 5  # of 570 files


ORACLES = os.path.join(CORPUS_KINDS, 'oracles')
def _pipeline_tree(root: str, closure: list[str], into: str) -> str:
    """The root file and its local includes at their paths in the
    repository, as gitlab-ci-local read them; the root's path there."""
    import shutil
    original = {}
    with open(os.path.join(CORPUS_KINDS, 'MANIFEST.tsv')) as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split('\t')
            original[fields[0]] = fields[4]
    for path in closure:
        target = os.path.join(into, original[path])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(CORPUS_KINDS, path), target)
    return os.path.join(into, original[root])


# An image written where no job of the pipeline runs with it: a hidden
# template no job extends (GNOME glib's ``.coverity``), the top-level
# ``image:``/``services:`` of a file with no job (Renovate's fixtures).
# GitLab pulls it in no job of this pipeline, so gitlab-ci-local has no row
# of it; we report it, with the values where it is written, because a
# template file is there to be used: by a job added later, or by another
# pipeline that includes the file (``include: project:``, which we do not
# follow), and a pin there is harmless.  Each such report is listed, so
# that any other extra is a disagreement.
_RENOVATE_FIXTURE = (
    'gitlab-ci/renovatebot__renovate/'
    'lib__modules__manager__gitlabci____fixtures____gitlab-ci.{}.yaml'
)
NO_JOB_USES_IT = {
    ('gitlab-ci/GNOME__glib/.gitlab-ci.yml', '.coverity.image'),
    *((_RENOVATE_FIXTURE.format(1), s) for s in ('image.name', 'services[0]', 'services[1]')),
    *((_RENOVATE_FIXTURE.format(5), s) for s in ('image.name', 'services[0]', 'services[1].name')),
    *((_RENOVATE_FIXTURE.format(7), s) for s in (
        'image.name', 'services[0].name', 'services[1].name', 'services[2].name',
        'services[3].name',
    )),
}


CODE_STATES = {'DP001': 'unpinned', 'DP002': 'unpinned', 'DP004': 'baddigest', 'DP005': 'invalid'}


def _gitlab_ours(loaded: list[Any]) -> dict[tuple[str, str], list[str]]:
    """(state as the oracle names it, image) of each reference we report
    in a pipeline, with where each is written; ('DP003', the image as
    written) for one made of a variable no file sets."""
    from digestpin_hooks.check.findings import classify
    found: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for file in loaded:
        for ref in file.refs:
            result = classify(ref)
            if result is None:
                continue  # pinned
            state = 'DP003' if result[0] == 'DP003' else CODE_STATES[result[0]]
            found[state, ref.image].append(ref.source)
    return found


def _gitlab_theirs(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """What gitlab-ci-local's merge pulls unpinned (GitLab's variable
    rules applied), and ('DP003', as written) where a variable no file
    sets (CI_* and the like) is part of the image."""
    wanted = set()
    for row in rows:
        if row['unresolved'] or row['predefined']:
            wanted.add(('DP003', row['raw']))
        elif row['state'] != 'pinned':
            wanted.add((row['state'], row['image']))
    return wanted


def compare_gitlab(tmp_path: Any) -> tuple[dict[str, list[int]], dict[str, Any], set[Any]]:
    """Per pipeline the oracle answered, what gitlab-ci-local pulls against
    what we report, both ways: counts per mode ([agreeing, theirs, ours]),
    the disagreements, and the extras explained by NO_JOB_USES_IT."""
    from digestpin_hooks.read.files import load_all
    rows: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    with open(os.path.join(ORACLES, 'ORACLE-gitlab.jsonl')) as f:
        for line in f:
            row = json.loads(line)
            rows[row['path']].append(row)
    counts: dict[str, list[int]] = {'strict': [0, 0, 0], 'stubbed': [0, 0, 0]}
    disagreements: dict[str, Any] = {}
    explained = set()
    with open(os.path.join(ORACLES, 'UNITS-gitlab.jsonl')) as f:
        units = [json.loads(line) for line in f]
    for number, unit in enumerate(units):
        mode = unit['mode']
        if mode not in counts:
            continue
        root = _pipeline_tree(unit['path'], unit['closure'], str(tmp_path / str(number)))
        if os.path.basename(root) in ('.gitlab-ci.yml', '.gitlab-ci.yaml'):
            loaded, _ = load_all([os.path.dirname(root)])  # a folder search
        else:  # a test fixture, given as a file of the kind
            loaded, _ = load_all([root], 'gitlab-ci')
        ours = _gitlab_ours(loaded)
        theirs = _gitlab_theirs(rows[unit['path']])
        agree = theirs & set(ours)
        counts[mode][0] += len(agree)
        counts[mode][1] += len(theirs)
        counts[mode][2] += len(ours)
        missed = sorted(theirs - set(ours))
        extra = []
        for answer in sorted(set(ours) - theirs):
            sources = {(unit['path'], source) for source in ours[answer]}
            if sources <= NO_JOB_USES_IT:
                explained |= sources
                counts[mode][2] -= 1  # not counted against us: see NO_JOB_USES_IT
            else:
                extra.append((answer, sorted(ours[answer])))
        if missed or extra:
            disagreements[unit['path']] = (mode, missed, extra)
    return counts, disagreements, explained


def test_gitlab_agrees_with_gitlab_ci_local(
        tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    """Per pipeline, what gitlab-ci-local's merge pulls (with GitLab's
    variable rules) and what we report, both ways: every unpinned image it
    pulls is one we report, with its image, and every reference we report
    is one it pulls (or is DP003 where it leaves a variable unset), but the
    images no job uses (NO_JOB_USES_IT).  In the stubbed pipelines (the
    stubs' own jobs are not in the corpus, so their answers are a lower
    bound) the same holds: nothing missed, every extra explained."""
    require_kinds_corpus()
    counts, disagreements, explained = compare_gitlab(tmp_path)
    with capsys.disabled():
        print('\n[gitlab-ci-local 4.75.1 corpus-kinds] ' + '; '.join(
            f'{mode}: {agree}/{theirs} of what it pulls reported, '
            f'{agree}/{ours} of what we report pulled'
            for mode, (agree, theirs, ours) in counts.items()
        ) + f' ({len(explained)} more reported where no job uses them)')
    assert disagreements == {}
    assert explained == NO_JOB_USES_IT
    assert counts == {'strict': [47, 47, 47], 'stubbed': [87, 87, 87]}


def test_an_image_no_job_uses_is_reported_where_it_is_written(tmp_path: Any) -> None:
    """The named exception: GNOME glib's ``.coverity`` template, which no
    job extends, pulls nothing in its pipeline, so gitlab-ci-local has no
    row of it; we report its image with the pipeline's values."""
    from digestpin_hooks.check.findings import classify
    require_kinds_corpus()
    path = 'gitlab-ci/GNOME__glib/.gitlab-ci.yml'
    with open(os.path.join(ORACLES, 'ORACLE-gitlab.jsonl')) as f:
        theirs = [json.loads(line) for line in f]
    theirs = [row for row in theirs if row['path'] == path]
    assert len(theirs) > 10
    assert not any('coverity' in row['image'] or '.coverity' in row['job'] for row in theirs)
    data = open(os.path.join(CORPUS_KINDS, path), 'rb').read()
    assert b'extends: .coverity' not in data and b'- .coverity' not in data
    loaded = load(os.path.join(CORPUS_KINDS, path))
    coverity = [ref for ref in loaded.refs if ref.source == '.coverity.image']
    assert [(ref.image, ref.written, classify(ref)[0]) for ref in coverity] == [  # type: ignore[index]
        ('registry.gitlab.gnome.org/gnome/glib/coverity:v7', '${COVERITY_IMAGE}', 'DP001'),
    ]
