r"""Softmax attention and its masks: the shared primitives of the Transformers part.

Every chapter that needs attention (HWFA 9603, T-TA 7661, the recipes part) uses these
instead of writing its own (contract: shared/contracts/transformers.md). A mask is a
``torch.bool`` tensor with **True = may attend**, as in ``F.scaled_dot_product_attention``.

Row :math:`i` of the output is

.. math:: y_i = \sum_j \frac{e^{s\,\lambda_i\, q_i\cdot k_j}}{\sum_{j'\in A_i}
          e^{s\,\lambda_i\, q_i\cdot k_{j'}}}\, v_j \quad (j \in A_i),

with scale :math:`s` (default :math:`1/\sqrt d`), allowed set :math:`A_i` (the True entries of
row :math:`i`) and the optional entropy-invariant factor :math:`\lambda_i = \log n_i/\log N_0`,
:math:`n_i = |A_i|` (chapter *HWFA*, the final full-attention layer; chapter *Entropy-invariant
softmax* derives the factor). A row with no allowed key returns zeros.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks

__all__ = ["window_causal_mask", "self_mask", "softmax_attention"]


def window_causal_mask(n: int, w: int | None = None, *, device=None) -> Tensor:
    """``(n, n)`` bool mask, True iff ``0 <= i - j < w``: a token sees itself and ``w-1``
    predecessors (chapter *HWFA*, eq. eq-hwfa-window). ``w=None`` is the plain causal mask."""
    n = checks.integer(n, "n", minimum=1)
    i = torch.arange(n, device=device)
    diff = i[:, None] - i[None, :]
    if w is None:
        return diff >= 0
    w = checks.integer(w, "w", minimum=1)
    return (diff >= 0) & (diff < w)


def self_mask(n: int, *, device=None) -> Tensor:
    """``(n, n)`` bool mask ``~eye(n)``: every token but itself (chapter *T-TA*)."""
    n = checks.integer(n, "n", minimum=1)
    return ~torch.eye(n, dtype=torch.bool, device=device)


def softmax_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    *,
    scale: float | None = None,
    log_n_base: float | None = None,
) -> Tensor:
    r"""Masked softmax attention, optionally with the :math:`\log n_i/\log N_0` factor.

    ``q (..., n_q, d)``, ``k (..., n_k, d)``, ``v (..., n_k, d_v)`` → ``(..., n_q, d_v)``;
    ``mask`` broadcasts to ``(..., n_q, n_k)``. Dtype-preserving, differentiable; empty rows
    give zeros (never NaN).
    """
    checks.floating(q, "q", min_ndim=2)
    checks.floating(k, "k", min_ndim=2)
    checks.floating(v, "v", min_ndim=2)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"k must have the head size d={q.shape[-1]} of q, got shape {tuple(k.shape)}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"v must have the n_k={k.shape[-2]} rows of k, got shape {tuple(v.shape)}")
    n_k = k.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scale = checks.real(scale, "scale")
    out_dtype, work = q.dtype, checks.work_dtype(q.dtype)  # half precision runs in float32
    q, k, v = q.to(work), k.to(work), v.to(work)
    logits = scale * (q @ k.transpose(-1, -2))  # (..., n_q, n_k)
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            raise ValueError("mask must be a torch.bool tensor (True = may attend)")
        try:
            mask = mask.expand(torch.broadcast_shapes(mask.shape, logits.shape))
            logits, mask = torch.broadcast_tensors(logits, mask)
        except RuntimeError:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to {tuple(logits.shape)}"
            ) from None
    if log_n_base is not None:
        base = checks.real(log_n_base, "log_n_base", low=1.0, low_open=True)
        if mask is None:
            n_i = torch.full(logits.shape[:-1], float(n_k), dtype=logits.dtype, device=q.device)
        else:
            n_i = mask.sum(-1).to(logits.dtype)
        factor = torch.log(n_i.clamp_min(1.0)) / math.log(base)
        logits = logits * factor.unsqueeze(-1)
    if mask is None:
        return (torch.softmax(logits, dim=-1) @ v).to(out_dtype)
    neg = torch.finfo(logits.dtype).min
    logits = logits.masked_fill(~mask, neg)
    m = logits.detach().amax(dim=-1, keepdim=True)
    e = torch.exp(logits - m) * mask
    den = e.sum(-1, keepdim=True)
    p = e / torch.where(den > 0, den, torch.ones_like(den))
    return (p @ v).to(out_dtype)
