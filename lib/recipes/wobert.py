"""WoBERT (kexue.fm 7758): the word-granularity pieces of a Chinese BERT, at toy scale.

Chapter ``chapters/recipes/wobert.md``. Four pieces, in the order the chapter uses them:

* :func:`fmm_segment` -- forward maximum matching, the transparent reference segmenter
  (Eq. ``eq-wobert-fmm``);
* :func:`pretokenize` -- segment first, keep in-vocabulary pieces whole, split the rest into
  characters (Eq. ``eq-wobert-pretok``), the tokenizer hook WoBERT adds to BERT's;
* :func:`init_word_embeddings` -- a new word's embedding is the mean of its characters'
  embeddings (Eq. ``eq-wobert-init``);
* :func:`transformer_flops` -- forward FLOPs of Transformer encoder layers as a function of the
  sequence length (Eq. ``eq-wobert-flops``).

Strings in, lists of strings out for the tokenizers; torch tensors in/out for the embeddings;
Python numbers for the FLOP count. No global state and no randomness.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor

from lib import checks

__all__ = ["fmm_segment", "pretokenize", "init_word_embeddings", "transformer_flops"]


def fmm_segment(text: str, words, max_len: int | None = None) -> list[str]:
    """Forward maximum matching (chapter *wobert*, Eq. ``eq-wobert-fmm``).

    At position ``i`` take the longest ``text[i:i+L]`` with ``2 <= L <= max_len`` that is in
    ``words``; if there is none, take the single character ``text[i]``; continue after the
    piece. Every character (whitespace included) lands in exactly one piece, so
    ``"".join(fmm_segment(text, words)) == text``.

    ``words`` is any container supporting ``in``; ``max_len`` defaults to the length of its
    longest word (1 when empty -- then every piece is one character).
    ValueError: ``text`` not a str; ``max_len`` not an integer >= 1.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if max_len is None:
        max_len = max((len(w) for w in words), default=1)
    else:
        max_len = checks.integer(max_len, "max_len", minimum=1)
    out, i, n = [], 0, len(text)
    while i < n:
        step = 1
        for L in range(min(max_len, n - i), 1, -1):
            if text[i:i + L] in words:
                step = L
                break
        out.append(text[i:i + step])
        i += step
    return out


def pretokenize(text: str, vocab, segment: Callable[[str], Iterable[str]],
                unk_token: str = "[UNK]") -> list[str]:
    """Segment, keep known words, fall back to characters (chapter *wobert*, Eq.
    ``eq-wobert-pretok``).

    ``segment`` maps the text to an iterable of pieces (e.g. ``functools.partial(fmm_segment,
    words=W)`` or ``lambda s: jieba.cut(s, HMM=False)``). For each piece in order: an empty or
    whitespace-only piece is dropped; a piece in ``vocab`` is kept whole; any other piece is
    split into characters, whitespace characters are dropped, a character in ``vocab`` is kept
    and any other becomes ``unk_token``. ``vocab`` is any container supporting ``in``.
    ValueError: ``text`` not a str; ``segment`` not callable or yielding a non-str piece;
    ``unk_token`` not a str.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not callable(segment):
        raise ValueError(f"segment must be callable (text -> pieces), got {type(segment).__name__}")
    if not isinstance(unk_token, str):
        raise ValueError(f"unk_token must be a str, got {type(unk_token).__name__}")
    out: list[str] = []
    for piece in segment(text):
        if not isinstance(piece, str):
            raise ValueError(f"segment must yield str pieces, got {type(piece).__name__}")
        if not piece.strip():
            continue
        if piece in vocab:
            out.append(piece)
            continue
        out.extend(c if c in vocab else unk_token for c in piece if not c.isspace())
    return out


def init_word_embeddings(char_emb: Tensor, char_vocab: Mapping[str, int],
                         words: Sequence[str]) -> Tensor:
    """Mean-of-characters initialisation of word embeddings (chapter *wobert*, Eq.
    ``eq-wobert-init``).

    ``char_emb`` (V, d) floating tensor, ``char_vocab`` maps a character to its row, ``words`` a
    sequence of str. Row ``k`` of the result is the mean of ``char_emb[char_vocab[c]]`` over the
    characters ``c`` of ``words[k]`` counted with multiplicity ("一一二" -> (2 e一 + e二)/3).
    Returns shape (len(words), d) with the dtype and device of ``char_emb``; the input is not
    modified. ValueError: ``char_emb`` not a 2-D floating tensor; ``words`` a bare str; an empty
    word; a character not in ``char_vocab`` or whose row is outside [0, V).
    """
    char_emb = checks.floating(char_emb, "char_emb", ndim=2)
    if isinstance(words, str):
        raise ValueError("words must be a sequence of str, not a single str")
    V = char_emb.shape[0]
    rows, owner, counts = [], [], []
    for k, w in enumerate(words):
        if not isinstance(w, str) or not w:
            raise ValueError(f"words[{k}] must be a non-empty str, got {w!r}")
        for c in w:
            if c not in char_vocab:
                raise ValueError(f"char_vocab has no entry for {c!r} (in words[{k}] = {w!r})")
            r = char_vocab[c]
            if not 0 <= r < V:
                raise ValueError(f"char_vocab[{c!r}] = {r} is outside [0, {V}) of char_emb")
            rows.append(r)
            owner.append(k)
        counts.append(len(w))
    dev = char_emb.device
    out = torch.zeros(len(counts), char_emb.shape[1], dtype=char_emb.dtype, device=dev)
    if rows:
        picked = char_emb.index_select(0, torch.tensor(rows, device=dev))
        out = out.index_add(0, torch.tensor(owner, device=dev), picked)
        out = out / torch.tensor(counts, dtype=char_emb.dtype, device=dev)[:, None]
    return out


def transformer_flops(n, h, layers: int = 1):
    """Forward FLOPs of ``layers`` Transformer encoder layers on ``n`` tokens of width ``h``
    (chapter *wobert*, Eq. ``eq-wobert-flops``):
    ``layers * (24 n h^2 + 4 n^2 h)``.

    ``24 n h^2``: the Q, K, V and output projections (4 h x h) and a 4h-wide FFN (2 x 4h x h),
    i.e. 12 h^2 multiply-adds per token; ``4 n^2 h``: scores ``QK^T`` and the weighted sum of
    values, n^2 h multiply-adds each; 2 FLOPs per multiply-add. Softmax, LayerNorm, biases and
    the embedding/output layers are left out. ``n`` may be a non-integer mean length; integer
    inputs give the exact integer. ValueError: ``n < 0``; ``h <= 0``; ``layers`` not an
    integer >= 1.
    """
    layers = checks.integer(layers, "layers", minimum=1)
    n_ = checks.real(n, "n", low=0.0)
    h_ = checks.real(h, "h", low=0.0, low_open=True)
    if isinstance(n, numbers.Integral) and isinstance(h, numbers.Integral):
        n_, h_ = int(n), int(h)  # exact integer arithmetic
    return layers * (24 * n_ * h_**2 + 4 * n_**2 * h_)
