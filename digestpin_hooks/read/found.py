"""What the YAML walkers find: a scalar where a kind names an image, and
the files of a GitLab pipeline read together.  The Compose, Kubernetes and
Actions walkers (yaml_refs) and the CI walkers (ci) share these records;
they live here, not in ci, so that a lint of Compose files does not load
the CI readers (a thousand lines a run that reads none of their kinds)."""
from __future__ import annotations

from digestpin_hooks.model import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from digestpin_hooks.read.yaml_nodes import Node
    from digestpin_hooks.read.yaml_nodes import Scalar

    # what Compose's merge of an include entry's files does not pull of one
    # of them: an image by its source (``services.NAME.image``, whole), an
    # image volume by (service, place in its volumes): never by a key path
    # shortened, which two services of long names may share
    LeftOut = str | tuple[str, int]


class Found(Record):
    """A YAML scalar where a kind names an image, with its key path."""

    path: Final[str]  # the key path, e.g. services.web.image
    node: Final[Scalar]
    key: Final[Scalar]
    platform: Final[str] = ''
    prefix: Final[str] = ''  # 'docker://' before the image in the value
    # every value the kind's tool fills in for this use of the scalar, when
    # the walker knows them (a GitLab job's variables, a matrix row); None:
    # the file's own (the table of kinds' ``variables``)
    env: Final[tuple[tuple[str, str], ...] | None] = None
    # uses of one scalar are one when their env and this are the same: a
    # GitLab use's env holds only the variables its value names, this
    # numbers the values of all those their expansion read (0: none)
    expansion: Final[int] = 0
    # where the use is reported, when not at ``node`` (a matrix row's value)
    at: Final[Scalar | None] = None
    # the scalar that holds the whole image when the value is one variable
    # (``image: $BASE``): a pin is written there
    value_of: Final[Scalar | None] = None
    # the scalars of this file its value is made of (variables' values): a
    # pin written in one of them changes this use too
    reads: Final[tuple[Scalar, ...]] = ()
    # Compose: the service whose use it is (its key path, shortened when
    # long, cannot say which)
    service: Final[str] = ''
    # Compose: an image volume's place in its service's volumes (-1: none);
    # with ``service``, which volume it is, as its key path, shortened when
    # long, cannot say either (two services' may be alike)
    volume: Final[int] = -1
    # why fix leaves it, when the walker knows (ImageRef.left: NAMES_A_BUILD,
    # ALSO_A_COMMAND)
    left: Final[str] = ''
    # its variables read or make more than EXPANSION_BUDGET characters: it
    # is not expanded (TOO_LONG), no image reference being that long
    too_long: Final[bool] = False
    # GitLab: (a variable its value reads, a name in that variable's value
    # that no variable can have, ``B:-x`` of ``A: "${B:-x}"``), which the
    # runner expands to nothing; () when none
    not_a_name: Final[tuple[str, str] | tuple[()]] = ()


class Pipeline(Record):
    """The files GitLab merges into one pipeline: the root file's local
    includes in order, then the root file (whose keys win), each as its
    parsed documents; a file of it is read with the others."""

    files: Final[list[tuple[str, list[Node | None]]]]
