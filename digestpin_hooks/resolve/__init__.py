"""Resolve: references -> digests and manifest facts, from a daemon or a
registry.  The only code that talks to either.

``sources`` picks a source by ``--source`` and gives every hook the same
two callables: a resolver (fix, update) and an asker (verify).  ``daemon``
is the Docker Engine API through the docker SDK (local, pull,
daemon-registry); ``registry`` the OCI distribution API asked directly, with
``credentials`` as Docker and Podman keep them (``registry_source`` adapts
its answers); ``matching`` decides, from what was answered, which digest
pins a reference, never guessing.  Nothing on the lint path imports this.
"""
