r"""SimBERT / RoFormer-Sim: the UniLM mask, the three losses, and a mini SimBERT.

Chapter *SimBERTv2: RoFormer-Sim* (``chapters/recipes/simbert-v2.md``), after Su Jianlin,
kexue.fm/archives/8454 (background 7427 for SimBERT v1, 8265 for RoPE). In chapter order:

* :func:`unilm_mask`, :func:`causal_mask` — Eq. (eq-simbert-v2-mask): query ``i`` may attend
  key ``j`` iff ``c_j <= c_i`` with ``c = cumsum(segment_ids)``;
* :func:`unilm_seq2seq_loss` — Eq. (eq-simbert-v2-gen): token-weighted cross-entropy on the
  target segment;
* :func:`inbatch_pair_contrastive_loss` — Eq. (eq-simbert-v2-con): in-batch softmax over the
  other rows, positives at ``(2k, 2k+1)``;
* :func:`cosine_matrix_distill_loss` — Eq. (eq-simbert-v2-distill): squared difference of the
  two cosine matrices;
* the toy: a synthetic paraphrase language (:func:`sample_meanings`, :func:`realize`,
  :func:`pack_pairs`), a tiny RoPE Transformer with the UniLM mask (:class:`TinyUniLM`),
  training (:func:`train_simbert`), sentence vectors, retrieval recall and greedy generation.

Torch in / torch out for tensors (dtype and device kept, inputs never modified); the language
functions are NumPy in / NumPy out; randomness only through an explicit
``numpy.random.Generator`` or seed. RoPE and attention come from :mod:`lib.transformers`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lib import checks
from lib.transformers import apply_rope, softmax_attention

__all__ = [
    "unilm_mask",
    "causal_mask",
    "unilm_seq2seq_loss",
    "inbatch_pair_contrastive_loss",
    "cosine_matrix_distill_loss",
    "PAD", "CLS", "SEP", "N_SPECIAL",
    "sample_meanings",
    "realize",
    "concepts_of",
    "is_paraphrase",
    "pack_pairs",
    "TinyUniLM",
    "train_simbert",
    "sentence_vectors",
    "recall_at_k",
    "generate_greedy",
]


# ---------------------------------------------------------------------------------------
# masks (section "The UniLM mask")
# ---------------------------------------------------------------------------------------
def unilm_mask(segment_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    """``(B, T, T)`` bool, True = query ``i`` may attend key ``j`` iff ``c_j <= c_i``,
    ``c = cumsum(segment_ids, 1)`` (chapter *SimBERTv2*, Eq. (eq-simbert-v2-mask)).

    ``attention_mask`` (B, T) bool or 0/1, True = real token, blanks padded *keys* only.
    """
    checks.tensor(segment_ids, "segment_ids", ndim=2)
    if segment_ids.is_floating_point() or segment_ids.is_complex() or segment_ids.dtype == torch.bool:
        raise ValueError(f"segment_ids must be an integer tensor, got dtype {segment_ids.dtype}")
    if not ((segment_ids == 0) | (segment_ids == 1)).all():
        raise ValueError("segment_ids must contain only 0 and 1")
    c = segment_ids.long().cumsum(1)
    out = c[:, None, :] <= c[:, :, None]
    if attention_mask is not None:
        if not isinstance(attention_mask, Tensor) or attention_mask.shape != segment_ids.shape:
            raise ValueError(f"attention_mask must have the shape {tuple(segment_ids.shape)} of "
                             f"segment_ids, got {checks._shape(attention_mask)}")
        am = checks.bool_mask(attention_mask, segment_ids.shape, "attention_mask")
        out = out & am[:, None, :]
    return out


def causal_mask(T: int, device=None) -> Tensor:
    """``(T, T)`` bool, ``out[i, j] = j <= i`` (chapter *SimBERTv2*: the all-target UniLM mask)."""
    T = checks.integer(T, "T", minimum=1)
    i = torch.arange(T, device=device)
    return i[None, :] <= i[:, None]


# ---------------------------------------------------------------------------------------
# the three losses (sections "Generation", "Retrieval", "Distillation")
# ---------------------------------------------------------------------------------------
def unilm_seq2seq_loss(logits: Tensor, token_ids: Tensor, segment_ids: Tensor) -> Tensor:
    """Token-weighted mean cross-entropy of the target tokens (chapter *SimBERTv2*,
    Eq. (eq-simbert-v2-gen)): ``logits[:, t]`` predicts ``token_ids[:, t+1]``, weight
    ``segment_ids[:, t+1]``; padding (segment 0) is excluded. 0-d, dtype of ``logits``."""
    checks.floating(logits, "logits", ndim=3)
    checks.tensor(token_ids, "token_ids", ndim=2)
    checks.tensor(segment_ids, "segment_ids", ndim=2)
    if token_ids.shape != logits.shape[:2] or segment_ids.shape != logits.shape[:2]:
        raise ValueError(f"token_ids and segment_ids must have shape {tuple(logits.shape[:2])}, got "
                         f"{tuple(token_ids.shape)} and {tuple(segment_ids.shape)}")
    if token_ids.numel() and (int(token_ids.min()) < 0 or int(token_ids.max()) >= logits.shape[-1]):
        raise ValueError(f"token_ids must lie in [0, {logits.shape[-1]})")
    w = segment_ids[:, 1:].to(checks.work_dtype(logits.dtype))
    if float(w.sum()) <= 0:
        raise ValueError("segment_ids: no target token (sum of segment_ids[:, 1:] is 0)")
    lg = logits[:, :-1].to(checks.work_dtype(logits.dtype))
    ce = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), token_ids[:, 1:].reshape(-1).long(),
                         reduction="none").view_as(w)
    return ((ce * w).sum() / w.sum()).to(logits.dtype)


def inbatch_pair_contrastive_loss(vecs: Tensor, scale: float = 20.0, reduction: str = "mean") -> Tensor:
    r"""In-batch contrastive loss with positives ``(2k, 2k+1)`` (chapter *SimBERTv2*,
    Eq. (eq-simbert-v2-con)): ``loss_i = logsumexp_{j != i} S_ij - S_{i, i^1}``,
    ``S = scale * cos``. Default scale 20 (roformer-sim ``stage1.py``; SimBERT v1 used 30)."""
    checks.floating(vecs, "vecs", ndim=2)
    B = vecs.shape[0]
    if B < 2 or B % 2:
        raise ValueError(f"vecs must have an even number B >= 2 of rows, got {B}")
    scale = checks.real(scale, "scale")
    checks.reduction(reduction)
    v = F.normalize(vecs.to(checks.work_dtype(vecs.dtype)), dim=1)
    S = scale * (v @ v.T)
    S = S.masked_fill(torch.eye(B, dtype=torch.bool, device=v.device), -math.inf)
    target = torch.arange(B, device=v.device) ^ 1
    loss = torch.logsumexp(S, dim=1) - S[torch.arange(B, device=v.device), target]
    return checks.reduce(loss, reduction, vecs.dtype)


def cosine_matrix_distill_loss(student: Tensor, teacher: Tensor, lam: float = 100.0) -> Tensor:
    r"""``lam / n^2 * sum_ij (cos(t_i, t_j) - cos(s_i, s_j))^2`` over all pairs incl. the
    diagonal (chapter *SimBERTv2*, Eq. (eq-simbert-v2-distill); ``train/stage2.py``).
    The teacher is detached; widths may differ. 0-d, dtype of ``student``."""
    checks.floating(student, "student", ndim=2)
    checks.floating(teacher, "teacher", ndim=2)
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(f"teacher must have the {student.shape[0]} rows of student, got {teacher.shape[0]}")
    lam = checks.real(lam, "lam")
    w = checks.work_dtype(student.dtype)
    s = F.normalize(student.to(w), dim=1)
    t = F.normalize(teacher.detach().to(w), dim=1)
    return (lam * ((t @ t.T - s @ s.T) ** 2).mean()).to(student.dtype)


# ---------------------------------------------------------------------------------------
# the synthetic paraphrase language (section "A mini SimBERT")
# ---------------------------------------------------------------------------------------
PAD, CLS, SEP, N_SPECIAL = 0, 1, 2, 3


def sample_meanings(n: int, length: int, n_concepts: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, length)`` int array of concept ids, uniform in ``[0, n_concepts)`` (a "meaning")."""
    n = checks.integer(n, "n", minimum=1)
    length = checks.integer(length, "length", minimum=1)
    n_concepts = checks.integer(n_concepts, "n_concepts", minimum=2)
    return checks.generator(rng).integers(0, n_concepts, size=(n, length))


def realize(meanings, rng: np.random.Generator, n_synonyms: int = 2, swap_prob: float = 0.15) -> np.ndarray:
    """One surface sentence per meaning: concept ``c`` becomes word ``N_SPECIAL + c*n_synonyms + j``
    with a uniform synonym ``j``; then, left to right, each adjacent pair is swapped with
    probability ``swap_prob`` (a swapped pair is not swapped again). Same shape as ``meanings``."""
    m = np.asarray(meanings)
    if m.ndim != 2 or not np.issubdtype(m.dtype, np.integer) or (m < 0).any():
        raise ValueError("meanings must be a 2-D array of non-negative integers")
    k = checks.integer(n_synonyms, "n_synonyms", minimum=1)
    p = checks.real(swap_prob, "swap_prob", low=0.0, high=1.0)
    checks.generator(rng)
    words = N_SPECIAL + m * k + rng.integers(0, k, size=m.shape)
    coins = rng.random(m.shape) < p
    for r in range(m.shape[0]):
        i = 0
        while i < m.shape[1] - 1:
            if coins[r, i]:
                words[r, [i, i + 1]] = words[r, [i + 1, i]]
                i += 2
            else:
                i += 1
    return words


def concepts_of(words, n_synonyms: int = 2) -> np.ndarray:
    """The concept id of each word (inverse of :func:`realize` up to order); -1 for specials."""
    w = np.asarray(words)
    k = checks.integer(n_synonyms, "n_synonyms", minimum=1)
    if not np.issubdtype(w.dtype, np.integer):
        raise ValueError("words must be an integer array")
    return np.where(w >= N_SPECIAL, (w - N_SPECIAL) // k, -1)


def is_paraphrase(words, meaning, n_synonyms: int = 2) -> bool:
    """Is the 1-D sentence ``words`` a realization of ``meaning`` (same concepts, order up to
    disjoint adjacent swaps, as :func:`realize` produces)? Greedy left-to-right match."""
    c = concepts_of(words, n_synonyms)
    m = np.asarray(meaning)
    if c.ndim != 1 or m.shape != c.shape:
        raise ValueError(f"meaning must be 1-D with the shape of words {c.shape}, got {m.shape}")
    i, L = 0, len(m)
    while i < L:
        if c[i] == m[i]:
            i += 1
        elif i + 1 < L and c[i] == m[i + 1] and c[i + 1] == m[i]:
            i += 2
        else:
            return False
    return True


def pack_pairs(a, b) -> tuple[Tensor, Tensor]:
    """UniLM inputs for paraphrase pairs: rows ``2k = [CLS] a_k [SEP] b_k [SEP]`` and
    ``2k+1 = [CLS] b_k [SEP] a_k [SEP]`` (each pair both ways, the contrastive layout).
    ``a, b`` (n, L) int arrays → ``(token_ids, segment_ids)``, LongTensors (2n, 2L+3)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"b must be 2-D with the shape of a {a.shape}, got {b.shape}")
    n, L = a.shape
    src = np.stack([a, b], 1).reshape(2 * n, L)
    tgt = np.stack([b, a], 1).reshape(2 * n, L)
    col = np.full((2 * n, 1), 0)
    tok = np.concatenate([col + CLS, src, col + SEP, tgt, col + SEP], 1)
    seg = np.concatenate([np.zeros((2 * n, L + 2), int), np.ones((2 * n, L + 1), int)], 1)
    return torch.as_tensor(tok, dtype=torch.long), torch.as_tensor(seg, dtype=torch.long)


# ---------------------------------------------------------------------------------------
# a tiny RoFormer with the UniLM mask
# ---------------------------------------------------------------------------------------
class TinyUniLM(nn.Module):
    """Pre-LN Transformer with RoPE attention (``lib.transformers.apply_rope`` on q and k,
    base 1e4) and the UniLM mask; token + segment embeddings, no absolute positions; a tied
    output layer and a linear pooler on the [CLS] state (``with_pool='linear'``).
    ``forward(token_ids, segment_ids) -> (hidden (B,T,d), logits (B,T,V))``.
    Parameters are drawn from ``torch.manual_seed(seed)`` inside a forked RNG."""

    def __init__(self, vocab_size: int, d_model: int = 32, n_heads: int = 2, n_layers: int = 2,
                 seed: int = 0):
        super().__init__()
        self.vocab_size = checks.integer(vocab_size, "vocab_size", minimum=N_SPECIAL + 1)
        d = checks.integer(d_model, "d_model", minimum=2)
        self.n_heads = checks.integer(n_heads, "n_heads", minimum=1)
        if d % (2 * self.n_heads):
            raise ValueError(f"d_model must be a multiple of 2*n_heads, got {d}")
        checks.integer(n_layers, "n_layers", minimum=1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(checks.integer(seed, "seed"))
            self.tok = nn.Embedding(vocab_size, d)
            self.seg = nn.Embedding(2, d)
            self.blocks = nn.ModuleList(nn.ModuleDict({
                "ln1": nn.LayerNorm(d), "qkv": nn.Linear(d, 3 * d), "o": nn.Linear(d, d),
                "ln2": nn.LayerNorm(d), "ff": nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(),
                                                            nn.Linear(4 * d, d))})
                for _ in range(n_layers))
            self.ln = nn.LayerNorm(d)
            self.pool = nn.Linear(d, d)
            nn.init.normal_(self.tok.weight, std=d ** -0.5)
            nn.init.normal_(self.seg.weight, std=d ** -0.5)

    def forward(self, token_ids: Tensor, segment_ids: Tensor, attention_mask: Tensor | None = None):
        checks.tensor(token_ids, "token_ids", ndim=2)
        if segment_ids.shape != token_ids.shape:
            raise ValueError("segment_ids must have the shape of token_ids")
        mask = unilm_mask(segment_ids, attention_mask)[:, None]  # (B, 1, T, T)
        B, T = token_ids.shape
        h = self.n_heads
        x = self.tok(token_ids) + self.seg(segment_ids)
        pos = torch.arange(T, dtype=torch.float64)
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](x)).view(B, T, 3, h, -1).permute(2, 0, 3, 1, 4)
            a = softmax_attention(apply_rope(q, pos, 1e4), apply_rope(k, pos, 1e4), v, mask)
            x = x + blk["o"](a.transpose(1, 2).reshape(B, T, -1))
            x = x + blk["ff"](blk["ln2"](x))
        x = self.ln(x)
        return x, x @ self.tok.weight.T

    def sentence_vector(self, hidden: Tensor) -> Tensor:
        """The pooled [CLS] state: the sentence embedding."""
        return self.pool(hidden[:, 0])


def train_simbert(model: TinyUniLM, rng: np.random.Generator, *, steps: int = 250, pairs: int = 16,
                  length: int = 6, n_concepts: int = 16, n_synonyms: int = 2, swap_prob: float = 0.15,
                  contrastive: bool = True, scale: float = 20.0, lr: float = 5e-3) -> list[float]:
    """Train ``model`` in place on fresh paraphrase pairs each step: loss = generation
    (Eq. eq-simbert-v2-gen) + ``contrastive`` × in-batch loss (Eq. eq-simbert-v2-con) on the
    pooled [CLS] vectors. Adam. Returns the total loss per step."""
    steps = checks.integer(steps, "steps", minimum=1)
    checks.generator(rng)
    opt = torch.optim.Adam(model.parameters(), lr=checks.real(lr, "lr", low=0, low_open=True), foreach=True)
    dtype = next(model.parameters()).dtype
    hist = []
    for _ in range(steps):
        m = sample_meanings(pairs, length, n_concepts, rng)
        tok, seg = pack_pairs(realize(m, rng, n_synonyms, swap_prob), realize(m, rng, n_synonyms, swap_prob))
        hidden, logits = model(tok, seg)
        loss = unilm_seq2seq_loss(logits, tok, seg)
        if contrastive:
            loss = loss + inbatch_pair_contrastive_loss(model.sentence_vector(hidden), scale).to(dtype)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(loss.item())
    return hist


def _source_only(words) -> tuple[Tensor, Tensor]:
    w = np.asarray(words)
    col = np.zeros((w.shape[0], 1), int)
    tok = torch.as_tensor(np.concatenate([col + CLS, w, col + SEP], 1), dtype=torch.long)
    return tok, torch.zeros_like(tok)


@torch.no_grad()
def sentence_vectors(model: TinyUniLM, words) -> Tensor:
    """Embeddings of sentences ``words`` (n, L): ``[CLS] w [SEP]`` alone, pooled [CLS] state."""
    tok, seg = _source_only(words)
    return model.sentence_vector(model(tok, seg)[0])


def recall_at_k(queries: Tensor, keys: Tensor, k: int = 1) -> Tensor:
    """Per query ``i`` (float 0/1): is key ``i`` among the ``k`` keys of largest cosine?
    ``queries``, ``keys`` (n, h) → (n,) in the dtype of ``queries``."""
    checks.floating(queries, "queries", ndim=2)
    checks.floating(keys, "keys", ndim=2)
    if keys.shape != queries.shape:
        raise ValueError(f"keys must have the shape of queries {tuple(queries.shape)}")
    k = checks.integer(k, "k", minimum=1, maximum=queries.shape[0])
    S = F.normalize(queries, dim=1) @ F.normalize(keys, dim=1).T
    pos = S.diagonal()
    rank = (S > pos[:, None]).sum(1)  # ties count in the query's favour
    return (rank < k).to(queries.dtype)


@torch.no_grad()
def generate_greedy(model: TinyUniLM, words, length: int) -> np.ndarray:
    """Greedy decoding of ``length`` target tokens after ``[CLS] w [SEP]`` (UniLM seq2seq);
    returns an (n, length) int array."""
    length = checks.integer(length, "length", minimum=1)
    tok, seg = _source_only(words)
    for _ in range(length):
        logits = model(tok, seg)[1][:, -1]
        logits[:, :N_SPECIAL] = -math.inf  # a word, not a special token
        nxt = logits.argmax(-1, keepdim=True)
        tok, seg = torch.cat([tok, nxt], 1), torch.cat([seg, torch.ones_like(nxt)], 1)
    return tok[:, -length:].numpy()
