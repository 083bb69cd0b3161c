"""Resolve: references -> digests and manifest facts, from a daemon or a
registry.  The only code that talks to either.

``answers`` holds what every source is asked and answers (typed keys;
``Found``, ``Missing``, ``Failed``, ``Untrusted``; ``SourceError``), which
check and the hooks import.  ``sources`` is the table of ``--source``: one
class per source, each answering ``digests(keys)`` (fix, update) and
``manifests(pins)`` (verify).  ``daemon`` is the Docker Engine API through
the docker SDK (local, pull, daemon-registry); ``registry`` the OCI
distribution API asked directly, with ``credentials`` as Docker and Podman
keep them (``registry_source`` is its source); ``matching`` decides, from
what was answered, which digest pins a reference, never guessing.  Nothing on the lint path imports this.
"""
