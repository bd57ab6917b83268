"""Verified code behind *Derivations from Scientific Spaces, executed*.

One module per part of the book (``softmax``, ``losses``, ``rope``, ``diffusion``, ...),
plus ``book``: the runtime every chapter starts with (set-up and claims).
Importing ``lib`` has no side effects; ``lib.book.Chapter`` does the per-chapter set-up.
"""
