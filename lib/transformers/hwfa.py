r"""Hybrid window-full attention (HWFA) and the receptive field of stacked window attention.

Chapter *HWFA: global length extrapolation*
(``chapters/transformers/hwfa-length-extrapolation.md``), after Su Jianlin,
kexue.fm/archives/9603.

* :func:`receptive_field` and :func:`hwfa_window`: the counting rule :math:`R=(w-1)L+1`
  (eq. eq-hwfa-length-extrapolation-rf) and Su's window rule
  :math:`(w-1)(L-1)+1\le\alpha N` (eq. eq-hwfa-length-extrapolation-rule).
* A tiny attention-only causal LM whose layers are one of :data:`LAYER_KINDS`, vectorised
  over ``M`` independent models (every parameter has a leading model dimension, so several
  seeds train in one batched run; Adam is element-wise, so this is exactly ``M`` separate
  trainings):

  - ``"window"``: causal window attention of width ``w`` with RoPE;
  - ``"full_rope"``: full causal attention with RoPE (the usual baseline);
  - ``"full_logn"``: full causal attention without RoPE, logits times
    :math:`\log n_i/\log N` (:math:`n_i=i+1` visible keys, :math:`N` the training length):
    HWFA's last layer.

  The input is a token embedding plus a *token shift* (an embedding of the previous token, a
  width-2 causal convolution), the same for every kind of model.
* The toy language of the chapter's experiment (plain Markov text, or a string repeated to
  fill the sequence), a trainer and the accuracy split into local and copied letters.

Attention and masks are the part's shared primitives (:mod:`lib.transformers.attention`),
RoPE is :func:`lib.transformers.rope.apply_rope`. Tensors in, tensors out; randomness only
through an explicit ``generator=`` (torch) or ``rng=`` (NumPy).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lib import checks

from .attention import softmax_attention, window_causal_mask
from .rope import apply_rope

__all__ = [
    "receptive_field",
    "hwfa_window",
    "LAYER_KINDS",
    "init_lm",
    "lm_hidden",
    "lm_logits",
    "markov_successors",
    "toy_language_tokens",
    "train_lms",
    "split_accuracy",
]

#: The three kinds of attention layer (module docstring).
LAYER_KINDS = ("window", "full_rope", "full_logn")


# ---------------------------------------------------------------------------------------
# the counting rules (sections 1 and 3)
# ---------------------------------------------------------------------------------------
def receptive_field(w: int, L: int) -> int:
    """``(w-1)*L + 1``: how many input positions one output of ``L`` stacked causal window
    layers of width ``w`` can depend on (chapter *HWFA*, eq. eq-hwfa-length-extrapolation-rf).
    """
    w = checks.integer(w, "w", minimum=1)
    L = checks.integer(L, "L", minimum=1)
    return (w - 1) * L + 1


def hwfa_window(N: int, L: int, alpha: float = 0.75) -> int:
    """The largest integer ``w >= 1`` with ``(w-1)*(L-1) + 1 <= alpha*N`` (equality counts).

    Chapter *HWFA*, eq. eq-hwfa-length-extrapolation-rule: the ``L-1`` window layers of an
    ``L``-layer HWFA model keep their joint receptive field within ``alpha`` of the training
    length ``N``. ``alpha`` is taken as the exact rational value of the float, so the
    comparison has no rounding: ``hwfa_window(512, 24) == 17``.
    """
    N = checks.integer(N, "N", minimum=1)
    L = checks.integer(L, "L", minimum=2)
    a = checks.real(alpha, "alpha", low=0.0, high=1.0, low_open=True)
    budget = Fraction(a) * N
    if budget < 1:
        raise ValueError(f"alpha*N must be >= 1 (one token), got alpha={alpha!r}, N={N}")
    return math.floor((budget - 1) / (L - 1)) + 1


# ---------------------------------------------------------------------------------------
# the tiny language model (sections 1, 2 and 4)
# ---------------------------------------------------------------------------------------
def _check_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str) or not hasattr(kinds, "__len__") or len(kinds) < 1:
        raise ValueError(f"kinds must be a non-empty sequence of layer kinds, got {kinds!r}")
    return tuple(checks.choice(k, "kinds", LAYER_KINDS) for k in kinds)


def _check_heads(d: int, n_heads) -> int:
    H = checks.integer(n_heads, "n_heads", minimum=1)
    if d % H or (d // H) % 2:
        raise ValueError(f"n_heads must split d_model={d} into heads of even size, got {H}")
    return H


def init_lm(kinds, *, vocab_size: int, d_model: int = 32, n_heads: int = 1, n_models: int = 1,
            n_out: int | None = None, generator: torch.Generator | None = None,
            dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
    """Random parameters of ``n_models`` tiny attention-only LMs with the layer ``kinds``.

    Chapter *HWFA*, §4. Every tensor has the leading model dimension ``M = n_models``:
    ``emb`` and ``emb_prev (M, vocab_size, d)`` (token and token-shift embeddings; the
    vocabulary includes BOS), per layer ``i`` the projections ``i.q``, ``i.k``, ``i.v``,
    ``i.o (M, d, d)``, and the read-out ``out (M, d, n_out)`` (default
    ``n_out = vocab_size``). Embeddings are ``N(0, 1)``, weights ``N(0, 1/d)``, the output
    projections ``i.o`` scaled by ``1/sqrt(2L)``; no biases, no norm gains, no position
    embedding. Drawn in float64 from ``generator``, then cast to ``dtype``.
    """
    kinds = _check_kinds(kinds)
    V = checks.integer(vocab_size, "vocab_size", minimum=2)
    d = checks.integer(d_model, "d_model", minimum=2)
    _check_heads(d, n_heads)
    M = checks.integer(n_models, "n_models", minimum=1)
    n_out = V if n_out is None else checks.integer(n_out, "n_out", minimum=1)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")

    def normal(*shape, std):
        return torch.randn(M, *shape, generator=generator, dtype=torch.float64).mul_(std).to(dtype)

    p = {"emb": normal(V, d, std=1.0), "emb_prev": normal(V, d, std=1.0),
         "out": normal(d, n_out, std=d**-0.5)}
    for i in range(len(kinds)):
        for name in "qkv":
            p[f"{i}.{name}"] = normal(d, d, std=d**-0.5)
        p[f"{i}.o"] = normal(d, d, std=d**-0.5 / math.sqrt(2 * len(kinds)))
    return p


def _rms(x: Tensor) -> Tensor:
    return F.rms_norm(x, x.shape[-1:], eps=1e-6)


def _lin(x: Tensor, W: Tensor) -> Tensor:
    """``(M, ..., d) @ (M, d, e)`` as one batched matmul over the models."""
    return torch.bmm(x.flatten(1, -2), W).view(*x.shape[:-1], W.shape[-1])


def lm_hidden(params: dict[str, Tensor], x: Tensor, kinds, *, window: int, train_len: int,
              n_heads: int = 1, rope_base: float = 10000.0) -> Tensor:
    r"""The pre-norm residual attention stack on inputs ``x (M, B, T, d)`` → ``(M, B, T, d)``.

    Chapter *HWFA*, eq. eq-hwfa-length-extrapolation-layer: layer ``i`` adds
    ``Attn_i(rms(x)) @ W_o`` to ``x``, with the attention of ``kinds[i]`` (module docstring)
    through :func:`softmax_attention`. RoPE uses the positions ``0..T-1``; ``"full_logn"``
    passes ``log_n_base=train_len``. Differentiable in ``x`` and the parameters,
    dtype-preserving.
    """
    kinds = _check_kinds(kinds)
    checks.floating(x, "x", ndim=4)
    M, _, T, d = x.shape
    if params["emb"].shape[0] != M or params["emb"].shape[-1] != d:
        raise ValueError(f"x must have shape (M={params['emb'].shape[0]}, B, T, "
                         f"d={params['emb'].shape[-1]}), got {tuple(x.shape)}")
    w = checks.integer(window, "window", minimum=1)
    N = checks.integer(train_len, "train_len", minimum=2)
    H = _check_heads(d, n_heads)
    pos = torch.arange(T, dtype=torch.float64)
    causal = window_causal_mask(T, device=x.device)
    masks = {"window": window_causal_mask(T, w, device=x.device), "full_rope": causal,
             "full_logn": causal}

    def heads(t):  # (M, B, T, d) -> (M, B, H, T, d/H)
        return t.unflatten(-1, (H, d // H)).transpose(-2, -3)

    for i, kind in enumerate(kinds):
        h = _rms(x)
        q, k, v = (heads(_lin(h, params[f"{i}.{n}"])) for n in "qkv")
        if kind != "full_logn":
            q, k = apply_rope(q, pos, rope_base), apply_rope(k, pos, rope_base)
        a = softmax_attention(q, k, v, masks[kind], log_n_base=N if kind == "full_logn" else None)
        x = x + _lin(a.transpose(-2, -3).flatten(-2), params[f"{i}.o"])
    return x


def lm_logits(params: dict[str, Tensor], tokens: Tensor, kinds, **kw) -> Tensor:
    """Next-token logits ``(M, B, T, n_out)`` for integer ``tokens (M, B, T)`` (chapter *HWFA*, §4).

    Input ``emb[x_t] + emb_prev[x_{t-1}]`` (no shift at ``t = 0``), then :func:`lm_hidden`
    (keyword arguments passed on), a final RMS norm and the read-out ``out``. ValueError for
    non-integer tokens, a wrong leading dimension, or ids outside the embedding table.
    """
    checks.tensor(tokens, "tokens", ndim=3)
    if tokens.dtype.is_floating_point or tokens.dtype in (torch.bool, torch.complex64):
        raise ValueError(f"tokens must be an integer tensor, got {tokens.dtype}")
    M, V_in = params["emb"].shape[:2]
    if tokens.shape[0] != M:
        raise ValueError(f"tokens must have the leading dimension M={M}, got {tuple(tokens.shape)}")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= V_in):
        raise ValueError(f"tokens must be ids in [0, {V_in}), got the range "
                         f"[{int(tokens.min())}, {int(tokens.max())}]")
    m = torch.arange(M, device=tokens.device)[:, None, None]
    x = params["emb"][m, tokens] + F.pad(params["emb_prev"][m, tokens[..., :-1]], (0, 0, 1, 0))
    return _lin(_rms(lm_hidden(params, x, kinds, **kw)), params["out"])


# ---------------------------------------------------------------------------------------
# the toy language and the experiment (section 4)
# ---------------------------------------------------------------------------------------
def markov_successors(vocab: int, n_succ: int, *, rng: np.random.Generator) -> np.ndarray:
    """``(vocab, n_succ)`` int array: the distinct successors of each letter, in rank order.

    Chapter *HWFA*, §4: letter ``a`` is followed by ``succ[a, r]`` with probability
    ``probs[r]`` (:func:`toy_language_tokens`). Each row is a uniformly random ordered choice
    of ``n_succ`` distinct letters.
    """
    V = checks.integer(vocab, "vocab", minimum=2)
    k = checks.integer(n_succ, "n_succ", minimum=1, maximum=V)
    checks.generator(rng)
    return np.stack([rng.permutation(V)[:k] for _ in range(V)])


def toy_language_tokens(succ, probs, periods, length: int, *, rng: np.random.Generator) -> Tensor:
    """Sequences of the toy language: ``BOS`` then plain text or a repeated string.

    Chapter *HWFA*, §4. ``periods`` (integer array, any shape) holds one period per sequence.
    A period ``P >= length - 1`` gives **plain text**: a Markov chain whose first letter is
    uniform and whose letter ``a`` is followed by ``succ[a, r]`` with probability
    ``probs[r]`` (local structure). A period ``P < length - 1`` gives a **repeated string**:
    ``P`` distinct uniformly random letters (so ``P <= V``) repeated to fill the sequence (a
    copy dependency at distance ``P``, nothing local to learn). BOS is id ``V = len(succ)``.
    Returns int64 tokens of shape ``periods.shape + (length,)``.
    """
    succ = np.asarray(succ)
    if succ.ndim != 2 or not np.issubdtype(succ.dtype, np.integer):
        raise ValueError(f"succ must be a 2-D integer array, got {succ.dtype} {succ.shape}")
    V, k = succ.shape
    if succ.min() < 0 or succ.max() >= V:
        raise ValueError(f"succ must hold letters in [0, {V})")
    p = checks.float64_array(probs, "probs")
    if p.shape != (k,) or np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
        raise ValueError(f"probs must be a distribution over the {k} successors, got {probs!r}")
    T = checks.integer(length, "length", minimum=2)
    P = np.asarray(periods)
    if not np.issubdtype(P.dtype, np.integer) or P.size == 0 or P.min() < 1:
        raise ValueError("periods must be a non-empty integer array of periods >= 1")
    checks.generator(rng)
    shape, P = P.shape, np.minimum(P.reshape(-1), T - 1)
    rep = P < T - 1
    if rep.any() and P[rep].max() > V:
        raise ValueError(f"periods of repeated strings must be <= V={V} (distinct letters)")
    n = P.size
    text = np.empty((n, T - 1), dtype=np.int64)
    text[:, 0] = rng.integers(0, V, size=n)
    ranks = rng.choice(k, size=(n, T - 1), p=p)
    for j in range(1, T - 1):
        text[:, j] = succ[text[:, j - 1], ranks[:, j]]
    if rep.any():
        string = np.argsort(rng.random((int(rep.sum()), V)), axis=1)  # distinct letters
        j = np.arange(T - 1)
        text[rep] = np.take_along_axis(string, j[None, :] % P[rep, None], axis=1)
    tokens = np.concatenate([np.full((n, 1), V, dtype=np.int64), text], axis=1)
    return torch.from_numpy(tokens.reshape(*shape, T))


def train_lms(kinds, succ, probs, *, n_models: int, steps: int, batch: int, length: int,
              periods: tuple[int, int], p_plain: float, window: int,
              generator: torch.Generator, rng: np.random.Generator, lr: float = 1e-2,
              d_model: int = 32, n_heads: int = 1) -> tuple[dict[str, Tensor], Tensor]:
    """Train ``n_models`` LMs of the layer ``kinds`` with Adam on the toy language.

    Chapter *HWFA*, §4. Every step, every model gets its own ``batch`` sequences of
    ``length`` tokens (``train_len = length``): plain text with probability ``p_plain``,
    otherwise a repeated string with a period uniform on the inclusive range ``periods``.
    The loss is the next-token cross-entropy over all letters, averaged per model and summed
    over models (so each model's gradient is its own). Learning rate: linear warm-up over
    10 % of the steps, then cosine decay to 0. Returns ``(params, losses (steps, M))``,
    float32.
    """
    kinds = _check_kinds(kinds)
    M = checks.integer(n_models, "n_models", minimum=1)
    S = checks.integer(steps, "steps", minimum=1)
    B = checks.integer(batch, "batch", minimum=1)
    lo, hi = (checks.integer(v, "periods", minimum=1) for v in periods)
    if lo > hi:
        raise ValueError(f"periods must be (lo, hi) with lo <= hi, got {periods!r}")
    pp = checks.real(p_plain, "p_plain", low=0.0, high=1.0)
    V = np.asarray(succ).shape[0]
    params = init_lm(kinds, vocab_size=V + 1, d_model=d_model, n_heads=n_heads, n_models=M,
                     n_out=V, generator=generator)  # BOS (id V) is never a target
    params = {k: v.requires_grad_() for k, v in params.items()}
    opt = torch.optim.Adam(params.values(), lr=checks.real(lr, "lr", low=0.0, low_open=True))
    warm = max(1, S // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, 0.5 * (1 + math.cos(math.pi * s / S))))
    losses = torch.empty(S, M)
    for s in range(S):
        P = np.where(rng.random((M, B)) < pp, length, rng.integers(lo, hi + 1, size=(M, B)))
        tokens = toy_language_tokens(succ, probs, P, length, rng=rng)
        logits = lm_logits(params, tokens[..., :-1], kinds, window=window, train_len=length,
                           n_heads=n_heads)
        ce = F.cross_entropy(logits.flatten(0, 2), tokens[..., 1:].flatten(), reduction="none")
        per_model = ce.view(M, -1).mean(1)
        opt.zero_grad()
        per_model.sum().backward()
        opt.step()
        sched.step()
        losses[s] = per_model.detach()
    return {k: v.detach() for k, v in params.items()}, losses


def split_accuracy(logits: Tensor, tokens: Tensor, periods) -> tuple[Tensor, Tensor]:
    """Per-model accuracy ``(M,)`` on local and on copied letters (chapter *HWFA*, §4).

    ``logits (M, B, T-1, V)`` predict ``tokens[..., 1:]`` of ``tokens (M, B, T)`` from
    :func:`toy_language_tokens` with ``periods (M, B)``. *Local*: letters ``j >= 1`` of plain
    text (``P >= T-1``; letter 0 follows BOS and is uniform). *Copied*: letters ``j > P`` of
    repeated strings (letter ``P`` starts the second copy; no earlier match announces it).
    Returns ``(acc_local, acc_copied)`` in float64, pooled over the batch; ValueError if a
    model has no letter of one class (never a NaN).
    """
    checks.tensor(logits, "logits", ndim=4)
    checks.tensor(tokens, "tokens", ndim=3)
    P = torch.as_tensor(np.asarray(periods) if not isinstance(periods, Tensor) else periods)
    if logits.shape[:3] != (*tokens.shape[:2], tokens.shape[2] - 1):
        raise ValueError(f"logits must have shape (M, B, T-1, V) for tokens {tuple(tokens.shape)}, "
                         f"got {tuple(logits.shape)}")
    if P.shape != tokens.shape[:2]:
        raise ValueError(f"periods must have shape {tuple(tokens.shape[:2])}, got {tuple(P.shape)}")
    hit = (logits.argmax(-1) == tokens[..., 1:]).double()
    T = tokens.shape[-1]
    j = torch.arange(T - 1)
    P = P[..., None].to(j.device)
    out = []
    for name, m in (("local", (P >= T - 1) & (j >= 1)), ("copied", (P < T - 1) & (j > P))):
        cnt = m.sum((1, 2))
        if (cnt == 0).any():
            raise ValueError(f"periods leave no {name} letter for some model")
        out.append((hit * m).sum((1, 2)) / cnt)
    return out[0], out[1]
