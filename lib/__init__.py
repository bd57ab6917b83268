"""Verified code behind *Derivations from Scientific Spaces, executed*.

``lib/`` shows the book's table of contents: one package per part, one module per topic, in
the order the chapters use them —

* ``softmax`` (Softmax & logsumexp), ``losses`` (Classification losses), ``transformers``
  (Transformers & attention, RoPE included), ``generative`` (Generative models),
  ``optimization``, ``geometry``, ``numbertheory``, ``recipes`` (the later parts);
* shared by every part: ``book`` (the chapter runtime: seeding, claims, measured values,
  source numbers) with its rendering in ``display`` (claims tables, result tables),
  ``plotting`` (figure style), ``stats`` (standard errors,
  paired bootstrap, t-tests), ``metrics`` (F1, balanced accuracy, ECE, Spearman) and
  ``checks`` (the one argument-checking dialect).

Each part's ``__init__`` re-exports its public functions (``from lib.losses import
multilabel_ce``). Procedures an article publishes that a chapter shows failing live in a
module that says so (``lib.softmax.as_published``). Importing ``lib`` has no side effects;
``lib.book.Chapter`` does the per-chapter set-up.
"""
