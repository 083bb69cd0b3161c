"""Dockerfiles as BuildKit v0.32 reads them.

``parser`` (lines, continuations, heredocs, directives, exact offsets) ->
``references`` (stages, ARG scope, the automatic platform ARGs: every place
an image is pulled), with ``shell`` (BuildKit's shell lexer, ``${…}``
forms), ``patterns`` (its ``#``/``%``/``/`` patterns) and ``refusals``
(what BuildKit refuses beyond image references).
"""
