"""Read: files -> image references, one reader per kind of file.

``files`` turns arguments into the files to read (regular files only,
bounded, no symlink out of the folder asked for) and hands each to its
kind's reader (``kinds`` says which); every reader produces the same
``model.ImageRef`` records with exact spans and pragma lines, or a
``model.FileError``.  Nothing here touches a daemon or the network.
"""
