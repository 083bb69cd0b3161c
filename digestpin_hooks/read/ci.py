"""CI files -> the YAML scalars that name images: GitLab CI, Bitbucket
Pipelines, CircleCI, Google Cloud Build, Drone and Woodpecker; and dev
containers' ``devcontainer.json`` (JSON with comments, read by ``jsonc``).

Each walker reads where the kind's own tool takes an image from, and yields
the scalar with its key path; ``yaml_refs`` turns them into references
(exact spans, interpolation, aliases found once at their anchor).  The
variables each kind fills in itself (GitLab ``variables:``, Cloud Build
``substitutions:``) are returned for interpolation; any other ``$NAME`` is
only known when the pipeline runs (DP003).
"""
from __future__ import annotations

from digestpin_hooks.model import ALSO_A_COMMAND
from digestpin_hooks.model import EXPANSION_BUDGET
from digestpin_hooks.model import Record
from digestpin_hooks.read.found import Found
from digestpin_hooks.read.found import Pipeline
from digestpin_hooks.read.variables import expand_as_gitlab
from digestpin_hooks.read.variables import gitlab_fixed
from digestpin_hooks.read.variables import go_expansions
from digestpin_hooks.read.variables import go_name
from digestpin_hooks.read.variables import InterpolationError
from digestpin_hooks.read.variables import MAX_VALUE
from digestpin_hooks.read.variables import TooLong
from digestpin_hooks.read.yaml_nodes import get
from digestpin_hooks.read.yaml_nodes import items
from digestpin_hooks.read.yaml_nodes import NotOfKind
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import YamlError
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence
from digestpin_hooks.text import shortened

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import Final
    from typing import Iterator

    from digestpin_hooks.read.yaml_nodes import Node


def _image(node: Node, key: Scalar, path: str) -> Iterator[Found]:
    """``image: name`` or ``image: {name: name, …}`` (GitLab, Bitbucket)."""
    held = _image_node(node)
    if held is not None:
        scalar, own_key = held
        yield Found(path, scalar, key) if own_key is None else Found(
            shortened(f'{path}.name'), scalar, own_key,
        )


def _mappings(documents: list[Node | None]) -> list[YamlMapping]:
    return [d for d in documents if isinstance(d, YamlMapping)]


def _require(documents: list[Node | None], what: str) -> list[YamlMapping]:
    mappings = _mappings(documents)
    if any(d is not None for d in documents) and not mappings:
        raise NotOfKind(f'not a {what} file: no mapping at the top')
    return mappings


# GitLab's global keywords: everything else at the top is a job (or a
# hidden job, ``.name:``, the usual home of templates and anchors)
_GITLAB_GLOBAL = frozenset((
    'include', 'stages', 'variables', 'workflow', 'cache', 'before_script',
    'after_script', 'types', 'spec', 'default', 'image', 'services',
))
# GitLab's own limits: extends 11 levels deep, !reference 10
_MAX_EXTENDS = 11
_MAX_REFERENCE = 10
# how many values the ``!reference`` tags of a pipeline may flatten into
# lists: tags naming lists that each hold one large list grow as their
# product (n lists of one of n values: n**2), far past any pipeline's
_MAX_FLATTENED = 1_000_000
# the keys of a job that say which images it pulls, and with what values
# (a ``trigger:`` job starts another pipeline and runs no container)
_GITLAB_JOB_KEYS = ('image', 'services', 'variables', 'inherit', 'extends', 'trigger')
# Found.expansion of the uses past it: one reference for them all
_PAST_BUDGET = -1
# how many uses with different values a file's images may have besides
# one each: a template's services each used with the value each of its
# jobs gives make the product of their numbers (30 KB made 438,000
# references), where the largest pipelines make a few thousand
MAX_USES = 100_000
# the own variables of a job whose images read none of them (Found marks)
_NONE_READ = 'none read'
# not expanded yet (None: past the budget)
_UNKNOWN: dict[str, str] = {}


class _Reference(Record):
    """A ``!reference [job, key, …]`` tag, resolved when the job is merged."""

    path: Final[tuple[str, ...]]


if TYPE_CHECKING:
    # a job as plain values: dicts, lists, _Reference and Scalars as written
    Plain = Any
    # variables: name -> (its value as written, whether it is expanded)
    _Variables = dict[str, tuple[Scalar, bool]]
    # which top variables a job takes: all (True), none (False), those named
    _Inherited = bool | frozenset[str]
    # the scalars an image: or services: value writes images in, each with
    # its own key when it has one (``name:``)
    _Written = list[tuple[Scalar, Scalar | None]]
    # what a use of a value reads: the values it names, expanded (as
    # Found.env), the scalars of this file its expansion read (Found.reads),
    # the names it read, which values they had (Found.expansion), and the
    # first name of no variable a value read (Found.not_a_name)
    _Use = tuple[
        tuple[tuple[str, str], ...], tuple[Scalar, ...], frozenset[str], int,
        tuple[str, str] | tuple[()],
    ]


def _plain(node: Node, depth: int = 0, made: dict[tuple[int, int], Plain] | None = None) -> Plain:
    """A node as dicts and lists (``<<`` merges applied), its scalars kept
    as the nodes they are, so that an image is found where it is written.
    A node is made plain once at each depth (``made``, by its id): the
    aliases that use it share what it is made (each was a copy: lists of
    aliases of lists of aliases, 400 bytes, made 400,000 values)."""
    if depth > 64:
        return None
    if isinstance(node, Scalar):
        return node
    if made is None:
        made = {}
    at = (id(node), depth)
    if at in made:
        return made[at]
    result: Plain
    if isinstance(node, YamlSequence):
        if node.tag == '!reference':
            result = _Reference(tuple(
                item.value for item in node.items if isinstance(item, Scalar)
            ))
        else:
            result = [_plain(item, depth + 1, made) for item in node.items]
    else:
        result = {key: _plain(value, depth + 1, made) for key, value, _ in items(node)}
    made[at] = result
    return result


def _merged(base: Plain, over: Plain) -> Plain:
    """GitLab's deep merge (``extends``, includes): hashes merged key by
    key, anything else (lists included) replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for key, value in over.items():
            result[key] = _merged(result[key], value) if key in result else value
        return result
    return over


def _merged_all(layers: list[Plain]) -> Plain:
    """``_merged`` of each layer over the ones before, in one pass: a hash
    this builds is merged into in place, one a layer holds copied once
    (merging each layer into a copy of all before it cost the square of
    their number: a job extending 12,500 templates)."""
    built: dict[int, dict[str, Plain]] = {}  # id -> a hash this made

    def into(base: Plain, over: Plain) -> Plain:
        if not (isinstance(base, dict) and isinstance(over, dict)):
            return over
        if id(base) not in built:
            base = dict(base)
            built[id(base)] = base
        for key, value in over.items():
            base[key] = into(base[key], value) if key in base else value
        return base

    result: Plain = {}
    try:
        for layer in layers:
            result = into(result, layer)
    finally:
        # ``into`` holds itself (its cell), and with it ``built``: a cycle
        # that only the collector frees, off while a command runs (every
        # job's merge was kept to the end of the run)
        del into
    return result


def _false(value: Plain) -> bool:
    return isinstance(value, Scalar) and value.value in ('false', 'False', 'FALSE')


def _inherited(inherit: Plain, what: str) -> _Inherited:
    """What ``inherit: {what: …}`` lets a job take of the default keywords
    or the global variables: all (True), none (``false``), those a list
    names."""
    if not isinstance(inherit, dict) or what not in inherit:
        return True
    value = inherit[what]
    if isinstance(value, list):
        return frozenset(v.value for v in value if isinstance(v, Scalar))
    return not _false(value)


def _takes(inherited: _Inherited, name: str) -> bool:
    """Whether what ``_inherited`` says a job takes holds ``name``."""
    return inherited if isinstance(inherited, bool) else name in inherited


def _inherits(inherit: Plain, what: str, name: str) -> bool:
    """Whether ``inherit: {what: …}`` lets a job take ``name`` (a default
    keyword or a global variable)."""
    return _takes(_inherited(inherit, what), name)


class _GitlabPipeline:
    """Jobs as GitLab merges them: the files of a pipeline deep-merged in
    order, ``extends`` (lists, levels), ``!reference``, ``default:`` and
    ``inherit:``, job variables over global ones."""

    def __init__(self, layers: list[list[Node | None]]) -> None:
        self.top: dict[str, Plain] = {}
        made: dict[tuple[int, int], Plain] = {}  # _plain's, for the whole pipeline
        for documents in layers:
            for top in _mappings(documents):
                layer = {}
                for key, value, _ in items(top):
                    if key in ('variables', 'default', 'image', 'services', 'inherit'):
                        layer[key] = _plain(value, 0, made)
                    elif key not in _GITLAB_GLOBAL and isinstance(value, YamlMapping):
                        layer[key] = {
                            k: _plain(v, 0, made) for k, v, _ in items(value)
                            if k in _GITLAB_JOB_KEYS
                        }
                    else:
                        layer[key] = None
                self.top = _merged(self.top, layer)
        self.extended: dict[str, Plain] = {}
        self._globals: list[_Variables] = []  # once resolved
        self._default_images: dict[str, list[Scalar]] = {}  # once resolved
        # a job's own variables, once per mapping (jobs that extend one
        # template share its) or ``!reference``: (what they were read from,
        # name -> value, name -> place)
        self._own: dict[object, tuple[Plain, _Variables, dict[str, int]]] = {}
        # (id of a value, depth) -> (it, kept alive for its id; resolved)
        self._resolved: dict[tuple[int, int], tuple[Plain, Plain]] = {}
        self._flattened = 0  # values the tags flattened into lists so far
        # (key, id of a resolved value) -> (it, kept alive; its image scalars)
        self._scalars: dict[tuple[str, int], tuple[Plain, list[Scalar]]] = {}

    def jobs(self) -> list[str]:
        return [
            key for key, value in self.top.items()
            if key not in _GITLAB_GLOBAL and isinstance(value, dict)
        ]

    def job(self, name: str, depth: int = 0) -> Plain:
        """A job with what it extends merged in (own keys winning)."""
        if name in self.extended:
            return self.extended[name]
        own = self.top.get(name)
        if not isinstance(own, dict) or name in _GITLAB_GLOBAL:
            return {}
        if depth > _MAX_EXTENDS:
            return own
        self.extended[name] = own  # a cycle reads the job as it is written
        parents = own.get('extends')
        parents = parents if isinstance(parents, list) else [parents]
        # a template named twice is merged in once, where it is last
        # named: merged again over the others, it gives what it gave
        # (each read in the order they are named: in a cycle, the one
        # read first is the one read as it is written)
        named = [parent.value for parent in parents if isinstance(parent, Scalar)]
        read = {parent: self.job(parent, depth + 1) for parent in named}
        result = _merged_all([
            *(read[parent] for parent in list(dict.fromkeys(reversed(named)))[::-1]),
            {k: v for k, v in own.items() if k != 'extends'},
        ])
        self.extended[name] = result
        return result

    def resolved(self, value: Plain, depth: int = 0) -> Plain:
        """``value`` with its ``!reference`` tags replaced by what they
        name; each value once at each depth (the same object for every
        tag that names it), and a list without a value it holds already:
        lists of tags naming lists of tags, 80 a level, flattened to 80**4
        values (a 9 KB file hung), and the images are the same."""
        if isinstance(value, Scalar) or value is None:
            return value
        key = (id(value), depth)
        if key not in self._resolved:
            self._resolved[key] = (value, self._resolve(value, depth))
        return self._resolved[key][1]

    def _resolve(self, value: Plain, depth: int) -> Plain:
        if isinstance(value, _Reference):
            if depth >= _MAX_REFERENCE or not value.path:
                return None
            first, *rest = value.path
            target = self.job(first) if first not in _GITLAB_GLOBAL else self.top.get(first)
            for key in rest:
                target = target.get(key) if isinstance(target, dict) else None
            return self.resolved(target, depth + 1)
        if isinstance(value, list):
            out: list[Plain] = []
            held: set[int] = set()
            for item in value:
                item_resolved = self.resolved(item, depth + 1)
                flattened = isinstance(item, _Reference) and isinstance(item_resolved, list)
                # (GitLab flattens a tag's list in a list)
                if flattened:
                    self._flattened += len(item_resolved)
                    if self._flattened > _MAX_FLATTENED:
                        raise YamlError(
                            f'!reference: the tags flatten more than {_MAX_FLATTENED:,} '
                            'values into lists',
                        )
                for one in (item_resolved if flattened else [item_resolved]):
                    if id(one) not in held:
                        held.add(id(one))
                        out.append(one)
            return out
        if isinstance(value, dict):
            return {k: self.resolved(v, depth + 1) for k, v in value.items()}
        return value

    def default(self, key: str) -> Plain:
        default = self.top.get('default')
        if isinstance(default, dict) and key in default:
            return self.resolved(default[key])
        return self.resolved(self.top.get(key))  # the old global image:

    def images(self, job: Plain) -> list[tuple[list[Scalar], str]]:
        """The scalars a merged job takes its images from: its own, and
        those of ``default:`` (with the key: the same list for every job)."""
        inherit = self.resolved(job.get('inherit'))
        found: list[tuple[list[Scalar], str]] = []
        for key in ('image', 'services'):
            value = self.resolved(job.get(key))
            if value is None and _inherits(inherit, 'default', key):
                if key not in self._default_images:
                    self._default_images[key] = _image_scalars(key, self.default(key))
                found.append((self._default_images[key], key))
            else:
                # (once for every job whose value is the same: an alias's)
                at = (key, id(value))
                if at not in self._scalars:
                    self._scalars[at] = (value, _image_scalars(key, value))
                found.append((self._scalars[at][1], ''))
        return found

    def top_variables(self) -> _Variables:
        """The top ``variables:``, resolved once (every job reads them)."""
        if not self._globals:
            self._globals.append(_values(self.resolved(self.top.get('variables'))))
        return self._globals[0]

    def own_key(self, job: Plain) -> object:
        """What tells a job's own ``variables:`` from another's: jobs with
        the same key have the same."""
        written = job.get('variables')
        if isinstance(written, _Reference):
            return written.path  # (each job's tag is its own node)
        return id(written)

    def own_variables(self, job: Plain) -> tuple[_Variables, dict[str, int]]:
        """A job's own ``variables:`` (name -> value, name -> place), once
        for every job that has the same: each copied them before."""
        key = self.own_key(job)
        if key not in self._own:
            written = job.get('variables')
            values = _values(self.resolved(written))
            self._own[key] = (written, values, {name: i for i, name in enumerate(values)})
        _, values, places = self._own[key]
        return values, places


def _image_scalars(key: str, value: Plain) -> list[Scalar]:
    found: list[Scalar] = []
    for entry in (value if key == 'services' and isinstance(value, list) else [value]):
        if isinstance(entry, dict):
            entry = entry.get('name')
        if isinstance(entry, Scalar):
            found.append(entry)
    return found


def _values(layer: Plain) -> dict[str, tuple[Scalar, bool]]:
    """A ``variables:`` mapping: name -> (its value as written, whether it
    is expanded); a value that is no scalar is none."""
    values: dict[str, tuple[Scalar, bool]] = {}
    if isinstance(layer, dict):
        for name, value in layer.items():
            expand = True
            if isinstance(value, dict):
                expand = not _false(value.get('expand'))
                value = value.get('value')
            if isinstance(value, Scalar):
                values[name] = (value, expand)
    return values


def _expanded(values: dict[str, tuple[Scalar, bool]]) -> dict[str, str]:
    """The variables' values as the runner expands them (Go's os.Expand,
    no ``${VAR:-default}``): recursively, ``$$`` a literal ``$``, a value
    with ``expand: false`` as written; a value that names a variable
    nobody sets (or a cycle) is left out, so an image made of it is DP003,
    but a name no variable outside this file can have (``IMG:-x``) is
    empty, as the runner reads it."""
    return _expanded_within(values, None) or {}


def _expanded_within(
        values: dict[str, tuple[Scalar, bool]], budget: int | None,
) -> dict[str, str] | None:
    """_expanded; None once the values make more than ``budget``
    characters in all (a value past MAX_VALUE is left out without one)."""
    done: dict[str, str | None] = {}
    left = [MAX_VALUE if budget is None else budget]  # of the budget

    def value_of(name: str, trail: tuple[str, ...]) -> str | None:
        if name in done:
            return done[name]
        if name in trail or len(trail) > 64:
            return None
        scalar, expand = values[name]
        result: str | None = scalar.value
        if expand and '$' in scalar.value:
            names = _gitlab_names(scalar.value)
            env = {}
            for other in names:
                if other in values:
                    inner = value_of(other, (*trail, name))
                    if inner is not None:
                        env[other] = inner
                elif not go_name(other):
                    # (``IMG:-x`` of ``${IMG:-x}``: no variable GitLab sets
                    # outside this file has such a name, and the runner
                    # reads it as empty)
                    env[other] = ''
            try:
                interpolated = expand_as_gitlab(scalar.value, env, left[0])
                result = None if interpolated.unresolved else interpolated.value
            except TooLong:
                if budget is not None:
                    raise
                result = None
            except InterpolationError:
                result = None
            if budget is not None and result is not None:
                left[0] -= len(result)
                if left[0] < 0:
                    raise TooLong('past the budget')
        done[name] = result
        return result

    out = {}
    try:
        for name in values:
            value = value_of(name, ())
            if value is not None:
                out[name] = value
    except TooLong:
        return None
    finally:
        # ``value_of`` holds itself (its cell), and with it ``values`` and
        # ``done``: a cycle the collector, off while a command runs, would
        # have to free (as in _merged_all)
        del value_of
    return out


def _names(value: str) -> list[str]:
    import re
    return re.findall(r'\$\{?([A-Za-z_][A-Za-z0-9_]*)', value)


def _gitlab_names(value: str) -> list[str]:
    """The variables a GitLab value names, as the runner's os.Expand finds
    them (``${IMG:-x}`` names ``IMG:-x``), but those it answers itself
    (``$$``, ``$1``)."""
    return [
        name for _, _, name in go_expansions(value) if name and gitlab_fixed(name) is None
    ]


def _gitlab_whole_variable(value: str) -> str:
    """The name when a GitLab value is exactly one variable, as the
    runner's os.Expand reads it (``$NAME``, ``${NAME}``, ``${IMG:-x}``)."""
    if not value.startswith('$'):
        return ''
    found = go_expansions(value)
    if len(found) != 1 or found[0][1] != len(value) or gitlab_fixed(found[0][2]) is not None:
        return ''
    return found[0][2]


def _whole_variable(value: str) -> str:
    """The variable's name when a value is exactly ``$NAME`` or ``${NAME}``."""
    import re
    m = re.fullmatch(r'\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})', value)
    return (m.group(1) or m.group(2)) if m else ''


def gitlab(
        documents: list[Node | None], layers: list[list[Node | None]] | None = None,
) -> Iterator[Found]:
    """Each image scalar of this file, once per set of values it is used
    with: in every job GitLab runs (extends, ``!reference``, ``default:``
    and ``inherit:`` applied, over ``layers``: the pipeline's files, this
    one among them), and where no job uses it (a template, a hidden job)
    with the values of the file's own globals and its job, as written."""
    from digestpin_hooks.read.yaml_nodes import written_paths
    mappings = _require(documents, 'GitLab CI')
    written = list(_gitlab_written(mappings))
    # each image's key: the last that writes it (each list once, at the
    # last entry that holds it)
    last = {id(scalars): (at, key, scalars) for at, (_, key, scalars) in enumerate(written)}
    keys = {
        id(scalar): own_key or key
        for _, key, scalars in sorted(last.values(), key=lambda entry: entry[0])
        for scalar, own_key in scalars
    }
    # the paths of the images written here; in a pipeline of several files,
    # of every node, which tell the variables written here from the others'
    # (read alone, every variable is this file's)
    paths = written_paths(documents, set(keys) if layers is None else None)
    pipeline = _GitlabPipeline(layers if layers is not None else [documents])
    used: set[int] = set()
    seen: set[tuple[int, int]] = set()  # (scalar, expansion): its uses so far
    once: set[int] = set()  # the scalars used so far
    # each distinct set of expanded values a use read, numbered: a use is
    # told from another by its number, its env holds only the values it
    # names (each job held, hashed and copied all a variable made of many
    # others read)
    expansions: dict[tuple[tuple[tuple[str, str], ...], tuple[str, str] | tuple[()]], int] = {}
    # the variables expanded, by the scalars they are (most jobs have the
    # same: the global ones)
    # (None: past EXPANSION_BUDGET)
    expanded: dict[tuple[tuple[str, int, bool], ...], dict[str, str] | None] = {}
    top = pipeline.top_variables()
    position = {name: i for i, name in enumerate(top)}
    # what a value makes of the top variables a job takes, by the names it
    # holds and those it takes (most jobs take all): the same for every job
    # that sets none of the variables it reads, so a job costs its own
    # variables and images, never the top ones again
    shared: dict[tuple[frozenset[str], _Inherited], _Use] = {}

    def written_here(scalar: Scalar) -> bool:
        return layers is None or id(scalar) in paths

    def use(
            direct: frozenset[str], value: Callable[[str], tuple[Scalar, bool] | None],
            order: Callable[[str], tuple[int, int]],
    ) -> _Use:
        """What a value of the ``direct`` names reads: only the variables
        it is made of (expanding one reads no other), in the order of the
        job's variables (the top ones, then its own), which the expansion
        follows."""
        closure, within = _closure(direct, value, EXPANSION_BUDGET)
        if not within:
            return (), (), frozenset(closure), _PAST_BUDGET, ()
        values = {n: v for n in sorted(closure, key=order) if (v := value(n)) is not None}
        written = tuple((name, id(held), expand) for name, (held, expand) in values.items())
        env = expanded.get(written, _UNKNOWN)
        if env is _UNKNOWN:
            env = expanded[written] = _expanded_within(values, EXPANSION_BUDGET)
        if env is None:
            return (), (), frozenset(closure), _PAST_BUDGET, ()
        every = tuple(sorted(env.items()))
        # (the expansion made it empty: said as the cause of what is left)
        not_a_name = next((
            (name, other) for name, (held, expand) in values.items() if expand
            for other in _gitlab_names(held.value)
            if other not in values and not go_name(other)
        ), ())
        return (
            tuple((name, value) for name, value in every if name in direct),
            tuple(values[n][0] for n in sorted(values) if written_here(values[n][0])),
            frozenset(closure),
            expansions.setdefault((every, not_a_name), len(expansions) + 1),
            not_a_name,
        )

    def top_use(direct: frozenset[str], inherited: _Inherited) -> _Use:
        """What a value of the ``direct`` names makes of the top variables
        a job takes (``inherited``), once for every job that takes them."""
        known = shared.get((direct, inherited))
        if known is None:
            def taken(name: str) -> tuple[Scalar, bool] | None:
                return top[name] if name in top and _takes(inherited, name) else None

            def order(name: str) -> tuple[int, int]:
                # (a name not taken has no value here: its place is none)
                return (0, position[name]) if taken(name) is not None else (1, 0)
            known = shared[direct, inherited] = use(direct, taken, order)
        return known

    # the names the images of a list read, by the list and what the job
    # takes: a job whose own variables are none of them uses the list as a
    # job without any (jobs of a variable of their own each went through a
    # template's many services)
    read_by: dict[tuple[int, _Inherited], frozenset[str]] = {}

    def reads_of(scalars: list[Scalar], inherited: _Inherited) -> frozenset[str]:
        at = (id(scalars), inherited)
        if at not in read_by:
            read_by[at] = frozenset().union(*(
                top_use(frozenset(_gitlab_names(s.value)), inherited)[2]
                for s in scalars if id(s) in keys
            ))
        return read_by[at]

    def uses(job: Plain | None, scalars: list[Scalar]) -> Iterator[Found]:
        inherit = pipeline.resolved(job.get('inherit')) if job is not None else None
        own, own_position = pipeline.own_variables(job) if job is not None else ({}, {})
        inherited = _inherited(inherit, 'variables')

        def taken(name: str) -> tuple[Scalar, bool] | None:
            return top[name] if name in top and _takes(inherited, name) else None

        def value(name: str) -> tuple[Scalar, bool] | None:
            return own[name] if name in own else taken(name)

        def order(name: str) -> tuple[int, int]:
            if taken(name) is not None:
                return (0, position[name])
            return (1, own_position.get(name, 0))

        for scalar in scalars:
            if id(scalar) not in keys:
                continue  # written in another file of the pipeline
            direct = frozenset(_gitlab_names(scalar.value))
            known = top_use(direct, inherited)
            if not own.keys().isdisjoint(known[2]):
                known = use(direct, value, order)  # the job sets one it reads
            here, reads, _, expansion, not_a_name = known
            if (id(scalar), expansion) in seen:
                continue
            seen.add((id(scalar), expansion))
            if id(scalar) not in once:
                once.add(id(scalar))
            elif len(seen) - len(once) > MAX_USES:
                raise YamlError(
                    f'its jobs use its images with more than {MAX_USES:,} different '
                    'sets of values',
                )
            whole = _gitlab_whole_variable(scalar.value)
            holder = value(whole) if whole else None
            if expansion == _PAST_BUDGET:
                yield Found(
                    paths.get(id(scalar), ''), scalar, keys[id(scalar)], env=(),
                    expansion=expansion, too_long=True,
                )
                continue
            yield Found(
                paths.get(id(scalar), ''), scalar, keys[id(scalar)], env=here, expansion=expansion,
                value_of=holder[0] if holder is not None and written_here(holder[0]) else None,
                reads=reads, not_a_name=not_a_name,
            )

    defaults_alone: set[str] = set()
    # (the images' list, the job's own variables, what it inherits) of the
    # uses made: a job with the same is used the same (jobs sharing one
    # services list by an alias each went through all of it)
    made: set[tuple[int, object, _Inherited]] = set()
    for name in pipeline.jobs():
        if name.startswith('.'):
            continue  # a hidden job is never run: only what uses it is
        job = pipeline.job(name)
        if job.get('trigger') is not None:
            continue  # a bridge to another pipeline: GitLab gives it no image
        inherited = _inherited(pipeline.resolved(job.get('inherit')), 'variables')
        own_values = pipeline.own_variables(job)[0]
        alone = not own_values and inherited is True
        for scalars, default in pipeline.images(job):
            if default and alone:
                # the default's images with the top variables: once for
                # every job that has them so (their uses would be the same)
                if default in defaults_alone:
                    continue
                defaults_alone.add(default)
            # (the lists are the pipeline's, alive while it is)
            own_key = pipeline.own_key(job)
            if not own_values or own_values.keys().isdisjoint(reads_of(scalars, inherited)):
                own_key = _NONE_READ
            mark = (id(scalars), own_key, inherited)
            if mark in made:
                continue
            made.add(mark)
            used.update(id(s) for s in scalars)
            yield from uses(job, scalars)
    # what no job uses, with the values where it is written (once for
    # every job with the same list and values)
    unused: dict[int, list[Scalar]] = {}  # id of a written list -> what no job uses of it
    left: set[tuple[int, object, _Inherited]] = set()
    for job_name, _, images in written:
        if id(images) not in unused:
            unused[id(images)] = [s for s, _ in images if id(s) not in used]
        if not unused[id(images)]:
            continue
        own = pipeline.job(job_name) if job_name else None
        own = own if own else None
        mark = (id(images), None, True) if own is None else (
            id(images), pipeline.own_key(own),
            _inherited(pipeline.resolved(own.get('inherit')), 'variables'),
        )
        if mark in left:
            continue
        left.add(mark)
        yield from uses(own, unused[id(images)])


def _closure(
        names: frozenset[str], value: Callable[[str], tuple[Scalar, bool] | None], budget: int,
) -> tuple[set[str], bool]:
    """The variables a value names, and those their values name, …; and
    whether their values' text is within ``budget`` characters.  Past it,
    the names read so far, whose values alone decided that it was passed
    (another job's value of any other changes nothing)."""
    todo = list(names)
    out: set[str] = set()
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        held = value(name)
        if held is not None:
            budget -= len(held[0].value)
            if budget < 0:
                return out, False  # (its text not even searched)
            todo.extend(_gitlab_names(held[0].value))
    return out, True


def _gitlab_written(mappings: list[YamlMapping]) -> Iterator[tuple[str, Scalar, _Written]]:
    """Where images are written, with the job ('' for none) and the key:
    ``image`` and ``services`` at the top, in ``default:`` and in every
    job, hidden jobs included.  The scalars of one node are one list,
    however many jobs use it by an alias (each job's were found again)."""
    lists: dict[int, tuple[Node, _Written]] = {}  # id of a node -> (it; its scalars)

    def of_job(job: YamlMapping) -> Iterator[tuple[Scalar, _Written]]:
        for name in ('image', 'services'):
            entry = get(job, name)
            if entry is None:
                continue
            node, key = entry
            if id(node) not in lists:
                lists[id(node)] = (node, _written_images(name, node))
            yield key, lists[id(node)][1]

    for top in mappings:
        yield from (('', *entry) for entry in of_job(top))
        default = get(top, 'default')
        if default is not None and isinstance(default[0], YamlMapping):
            yield from (('', *entry) for entry in of_job(default[0]))
        for key, value, _ in items(top):
            if key in _GITLAB_GLOBAL:
                continue
            if isinstance(value, YamlMapping):
                yield from ((key, *entry) for entry in of_job(value))


def _written_images(name: str, node: Node) -> _Written:
    """The scalars an ``image:`` or ``services:`` value writes images in."""
    if name == 'image':
        return [held for held in (_image_node(node),) if held is not None]
    # (a ``!reference`` tag names a job and keys: what it takes is found
    # where that is written)
    if not isinstance(node, YamlSequence) or node.tag == '!reference':
        return []
    return [held for service in node.items if (held := _image_node(service)) is not None]


def _image_node(node: Node) -> tuple[Scalar, Scalar | None] | None:
    """The scalar of ``image: name`` or ``image: {name: name, …}``, with
    its key when it has its own (``name:``)."""
    if isinstance(node, YamlMapping):
        name = get(node, 'name')
        return (name[0], name[1]) if name is not None and isinstance(name[0], Scalar) else None
    return (node, None) if isinstance(node, Scalar) else None


MAX_INCLUDES = 150  # GitLab's own limit of included files per pipeline


def gitlab_local_includes(documents: list[Node | None]) -> list[str]:
    """The ``include:`` entries that name files of the same project:
    ``include: path``, ``- local: path`` (or ``- path``); remote, project,
    template and component includes point elsewhere and are left."""
    names: list[str] = []
    for top in _mappings(documents):
        include = get(top, 'include')
        if include is None:
            continue
        entries = include[0].items if isinstance(include[0], YamlSequence) else [include[0]]
        for entry in entries:
            if isinstance(entry, YamlMapping):
                local = get(entry, 'local')
                entry = local[0] if local is not None else entry
            if isinstance(entry, Scalar) and entry.value and '://' not in entry.value:
                names.append(entry.value)
    return names[:MAX_INCLUDES]


def gitlab_variables(path: str, documents: list[Node | None]) -> dict[str, str]:
    """Top-level ``variables:`` as GitLab expands them (each reference of
    the walker carries its job's own); ``path``, unused, as the table of
    kinds passes it to every kind."""
    return _expanded(_GitlabPipeline([documents]).top_variables())


# what a Bitbucket pipe that names a Docker image begins with: Bitbucket
# pulls the rest as written (any registry) and runs it as the pipe's
# container; any other pipe (``atlassian/aws-s3-deploy:1.1.0``) names a
# Bitbucket repository, not an image.  (yaml_refs.DOCKER_PREFIX, which
# imports this module)  A scheme is case-insensitive (RFC 3986 §3.1), and
# blanks a quoted value keeps before it are read past (_docker_pipe_prefix)
_DOCKER_PIPE = 'docker://'
# the lists of a step whose items may be pipes: ``after-script`` takes what
# ``script`` takes (Atlassian's schema gives both one type)
_BITBUCKET_SCRIPTS = ('script', 'after-script')


def _bitbucket_pipes(
        step: YamlMapping, path: str, read: set[int], commands: set[int],
) -> Iterator[Found]:
    """The ``- pipe: docker://IMAGE`` items of a step's scripts, each with
    ``docker://`` (as written) as its prefix (the image, and a pin, come
    after it); the
    ids of the scalars that are commands go to ``commands``.  A list that
    aliases share is read once (``read``, by id)."""
    for name in _BITBUCKET_SCRIPTS:
        script = get(step, name)
        if script is None or not isinstance(script[0], YamlSequence) or id(script[0]) in read:
            continue
        read.add(id(script[0]))
        for i, item in enumerate(script[0].items):
            if not isinstance(item, YamlMapping):
                if isinstance(item, Scalar):
                    commands.add(id(item))
                continue  # a command
            pipe = get(item, 'pipe')
            if pipe is not None and isinstance(pipe[0], Scalar):
                prefix = _docker_pipe_prefix(pipe[0].value)
                if prefix:
                    yield Found(
                        shortened(f'{path}.{name}[{i}].pipe'), pipe[0], pipe[1], prefix=prefix,
                    )


def _docker_pipe_prefix(value: str) -> str:
    """What comes before the image of a pipe that names one, as written
    (``docker://``, ``DOCKER://``, ``  docker://``): none documents other
    than ``docker://`` but none names a Bitbucket repository either, and a
    pin after it is harmless if Bitbucket pulls nothing from it, where an
    unpinned image it pulls would go unreported.  '' for any other pipe."""
    scheme = len(value) - len(value.lstrip(' \t'))
    end = scheme + len(_DOCKER_PIPE)
    return value[:end] if value[scheme:end].lower() == _DOCKER_PIPE else ''


def _bitbucket_steps(
        node: Node, path: str, read: set[int], commands: set[int],
) -> Iterator[Found]:
    """Every ``step:`` at any depth under the pipelines (in ``parallel``,
    ``stage`` and named pipelines alike), its image and its Docker pipes
    (a step that aliases share is read once: ``read``, by id); the ids of
    its scripts' commands go to ``commands``."""
    todo: list[tuple[Node, str]] = [(node, path)]
    seen: set[int] = set()  # a node aliases use is looked in once
    while todo:
        here, here_path = todo.pop()
        if id(here) in seen:
            continue
        seen.add(id(here))
        # (each path shortened as it is made, as yaml_nodes._words makes
        # it whole: each item under a long key copied it whole)
        if isinstance(here, YamlSequence):
            todo.extend(
                (item, shortened(f'{here_path}[{i}]'))
                for i, item in reversed(list(enumerate(here.items)))
            )
        elif isinstance(here, YamlMapping):
            children = []
            for key, value, _ in items(here):
                child_path = shortened(f'{here_path}.{key}' if here_path else key)
                if key == 'step' and isinstance(value, YamlMapping):
                    if id(value) in read:
                        continue
                    read.add(id(value))
                    image = get(value, 'image')
                    if image is not None:
                        yield from _image(image[0], image[1], shortened(f'{child_path}.image'))
                    yield from _bitbucket_pipes(value, child_path, read, commands)
                    continue
                children.append((value, child_path))
            todo.extend(reversed(children))


def bitbucket(documents: list[Node | None]) -> Iterator[Found]:
    """The images of a Bitbucket Pipelines file; a pipe whose scalar is
    also a line of a script (one anchor) is left to the user
    (ALSO_A_COMMAND): a pin would change that command too."""
    commands: set[int] = set()  # the scalars that are lines of a script, by id
    found = list(_bitbucket(documents, commands))
    for each in found:
        if each.prefix and id(each.node) in commands:
            each = each.replace(left=ALSO_A_COMMAND)
        yield each


def _bitbucket(documents: list[Node | None], commands: set[int]) -> Iterator[Found]:
    read: set[int] = set()  # the steps and scripts read, by id
    for top in _require(documents, 'Bitbucket Pipelines'):
        image = get(top, 'image')
        if image is not None:
            yield from _image(image[0], image[1], 'image')
        definitions = get(top, 'definitions')
        if definitions is not None:
            services = get(definitions[0], 'services')
            if services is not None and isinstance(services[0], YamlMapping):
                for name, service, _ in items(services[0]):
                    image = get(service, 'image')
                    if image is not None:
                        yield from _image(
                            image[0], image[1], f'definitions.services.{name}.image',
                        )
            steps = get(definitions[0], 'steps')
            if steps is not None:
                yield from _bitbucket_steps(steps[0], 'definitions.steps', read, commands)
            # shared pipelines: run where a pipeline ``import:``s them (this
            # file's, or another repository's when ``export: true``)
            shared = get(definitions[0], 'pipelines')
            if shared is not None:
                yield from _bitbucket_steps(shared[0], 'definitions.pipelines', read, commands)
        pipelines = get(top, 'pipelines')
        if pipelines is not None:
            yield from _bitbucket_steps(pipelines[0], 'pipelines', read, commands)


def _circleci_config(top: YamlMapping, prefix: str) -> Iterator[Found]:
    seen: set[int] = set()  # a docker: list aliases share is read once
    for section in ('jobs', 'executors'):
        entries = get(top, section)
        if entries is None or not isinstance(entries[0], YamlMapping):
            continue
        for name, entry, _ in items(entries[0]):
            docker = get(entry, 'docker')
            if docker is None or not isinstance(docker[0], YamlSequence) or id(docker[0]) in seen:
                continue
            seen.add(id(docker[0]))
            # (its key path in words once, shortened as yaml_nodes._words
            # makes it: each container copied a long name whole)
            entry_path = shortened(f'{prefix}{section}.{name}')
            for i, container in enumerate(docker[0].items):
                image = get(container, 'image')
                if image is not None and isinstance(image[0], Scalar):
                    yield Found(
                        shortened(f'{entry_path}.docker[{i}].image'), image[0], image[1],
                    )


def circleci(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'CircleCI'):
        yield from _circleci_config(top, '')
        orbs = get(top, 'orbs')
        if orbs is not None and isinstance(orbs[0], YamlMapping):
            for name, orb, _ in items(orbs[0]):
                if isinstance(orb, YamlMapping):  # an inline orb, not name@version
                    yield from _circleci_config(orb, f'orbs.{name}.')


def cloudbuild(documents: list[Node | None]) -> Iterator[Found]:
    for top in _require(documents, 'Cloud Build'):
        steps = get(top, 'steps')
        if steps is None or not isinstance(steps[0], YamlSequence):
            continue
        for i, step in enumerate(steps[0].items):
            name = get(step, 'name')
            if name is not None and isinstance(name[0], Scalar):
                yield Found(f'steps[{i}].name', name[0], name[1])


def cloudbuild_substitutions(path: str, documents: list[Node | None]) -> dict[str, str]:
    """``substitutions:`` defaults (user substitutions begin with ``_``;
    ``path``, unused, as the table of kinds passes it to every kind)."""
    values: dict[str, str] = {}
    for top in _mappings(documents):
        substitutions = get(top, 'substitutions')
        if substitutions is None or not isinstance(substitutions[0], YamlMapping):
            continue
        for name, value, _ in items(substitutions[0]):
            if isinstance(value, Scalar):
                values[name] = value.value
    return values


# Woodpecker's bound on the rows of a matrix (pipeline/frontend/yaml/matrix)
MAX_MATRIX_ROWS = 25


def _matrix(top: YamlMapping) -> list[tuple[tuple[str, str, Scalar], ...]]:
    """The rows of a Woodpecker (or Drone 0.8) ``matrix:``: each axis's
    values crossed, or the ``include:`` rows as written; each row's values
    with the scalars they are written in."""
    matrix = get(top, 'matrix')
    if matrix is None or not isinstance(matrix[0], YamlMapping):
        return []
    include = get(matrix[0], 'include')
    rows: list[tuple[tuple[str, str, Scalar], ...]] = []
    if include is not None and isinstance(include[0], YamlSequence):
        for row in include[0].items[:MAX_MATRIX_ROWS]:
            if isinstance(row, YamlMapping):
                rows.append(tuple(
                    (name, value.value, value) for name, value, _ in items(row)
                    if isinstance(value, Scalar)
                ))
        return rows
    # the axes crossed until they make more than MAX_MATRIX_ROWS rows,
    # crossed once (each axis copied every row made so far: many axes of
    # one value cost the square of their number)
    axes: list[list[tuple[str, str, Scalar]]] = []
    count = 1
    for name, axis, _ in items(matrix[0]):
        if not isinstance(axis, YamlSequence):
            continue
        axes.append([(name, v.value, v) for v in axis.items if isinstance(v, Scalar)])
        count *= len(axes[-1])
        if count > MAX_MATRIX_ROWS:
            break
    import itertools
    return list(itertools.islice(itertools.product(*axes), MAX_MATRIX_ROWS)) if axes else []


def _rows(
        found: Found, rows: list[tuple[tuple[str, str, Scalar], ...]],
        places: list[dict[str, int]],
) -> Iterator[Found]:
    """One use of an image per matrix row it names a variable of, reported
    at the row's value (the first the image names); a pin is written there
    when the image is that value whole.  Its env holds the row's values
    the image names (``places``: each row's names -> their place in it),
    not the whole row: each use held and copied all of a long row."""
    names = set(_names(found.node.value))
    whole = _whole_variable(found.node.value)
    used = False
    for row, place in zip(rows, places):
        named = [row[i] for i in sorted(place[name] for name in names if name in place)]
        if not named:
            continue
        used = True
        yield found.replace(
            env=tuple((name, value) for name, value, _ in named), at=named[0][2],
            value_of=named[0][2] if whole == named[0][0] else None,
        )
    if not used:
        yield found


def drone(documents: list[Node | None]) -> Iterator[Found]:
    """Each step's (and service's) image, once for each matrix row it
    names a variable of; a file whose images are used more than MAX_USES
    times besides once each is an error, as GitLab's (25 rows of 40,000
    steps, 1.5 MB, made a million references: 40 s and 1.65 GB)."""
    extra = 0  # uses besides one an image
    for top in _require(documents, 'Drone or Woodpecker'):
        rows = _matrix(top)
        places = [{name: i for i, (name, _, _) in enumerate(row)} for row in rows]
        for section in ('steps', 'services', 'pipeline', 'clone'):
            entries = get(top, section)
            if entries is None:
                continue
            node = entries[0]
            if isinstance(node, YamlSequence):
                named = [(str(i), f'[{i}]', step) for i, step in enumerate(node.items)]
            elif isinstance(node, YamlMapping):
                named = [(name, f'.{name}', step) for name, step, _ in items(node)]
            else:
                continue
            for _, suffix, step in named:
                image = get(step, 'image')
                if image is not None and isinstance(image[0], Scalar):
                    found = Found(f'{section}{suffix}.image', image[0], image[1])
                    if rows and '$' in image[0].value:
                        uses = list(_rows(found, rows, places))
                        extra += len(uses) - 1
                        if extra > MAX_USES:
                            raise YamlError(
                                f'its steps use its images with more than {MAX_USES:,} '
                                'different sets of values',
                            )
                        yield from uses
                    else:
                        yield found


def devcontainer(documents: list[Node | None]) -> Iterator[Found]:
    """The top-level ``image`` (a Dockerfile or Compose build has none)."""
    for top in _require(documents, 'dev container'):
        image = get(top, 'image')
        if image is not None and isinstance(image[0], Scalar) and image[0].style == '"':
            yield Found('image', image[0], image[1])

