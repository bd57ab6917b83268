"""The n-tasks-of-m-classes generalisation of the multi-label CE (an unsuccessful attempt).

Chapter *The n x m attempt* (kexue.fm/archives/9158): the truncated and centred losses the
article tries, kept with the measurements that show where they fall short.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks

__all__ = [
    "nm_loss_truncated",
    "nm_loss_centered",
]


def _kl_nm_check_nm(S, T) -> None:
    checks.floating(S, "S")
    checks.floating(T, "T")
    if S.shape != T.shape:
        raise ValueError(f"S and T must have the same shape, got {tuple(S.shape)} and {tuple(T.shape)}")
    if S.dim() < 2:
        raise ValueError(f"S must have shape [..., n, m], got {tuple(S.shape)}")
    if S.shape[-1] < 2:
        raise ValueError(f"S needs m >= 2 classes in its last dimension, got m={S.shape[-1]}")
    if S.shape[-2] == 0:
        raise ValueError("S has no tasks (n = 0)")
    if not torch.isfinite(S).all():
        raise ValueError("S must be finite")
    if torch.isnan(T).any() or (T < 0).any() or (T > 1).any():
        raise ValueError("T must lie in [0, 1]")
    cd = checks.work_dtype(T.dtype)
    rows = T.to(cd).sum(dim=-1)
    tol = 10 * T.shape[-1] * torch.finfo(T.dtype).eps
    if not (((rows - 1).abs() <= tol) | (rows.abs() <= tol)).all():
        raise ValueError("every row of T must sum to 1 (or be all zero: an ignored padding row)")


def _kl_nm_lse_others(s: Tensor) -> Tensor:
    r""":math:`\log\sum_{k\ne j} e^{s_k}` for every ``j`` along the last dim, in O(m).

    For ``j`` not the arg-max, ``softmax_j <= 1/2`` and :math:`\mathrm{lse}(s)+\log(1-
    \mathrm{softmax}_j)` is accurate; for the arg-max the lse of the other entries is taken
    directly (the subtraction would cancel there).
    """
    lse = torch.logsumexp(s, dim=-1, keepdim=True)
    top = s.argmax(dim=-1, keepdim=True)
    is_top = torch.zeros_like(s, dtype=torch.bool).scatter_(-1, top, True)
    p = torch.exp(torch.where(is_top, -1.0, s - lse))  # exp(-1) at the top, never used
    rest_of_top = torch.logsumexp(s.masked_fill(is_top, float("-inf")), dim=-1, keepdim=True)
    return torch.where(is_top, rest_of_top, lse + torch.log1p(-p))


def _kl_nm_log1p_sum(x: Tensor, t: Tensor) -> Tensor:
    r""":math:`\sum_j\log(1+\sum_i t_{ij}e^{x_{ij}})` over ``[..., n, m]``; ``t = 0`` terms are
    dropped exactly (masked to :math:`-\infty` before the lse, never clipped)."""
    pos = t > 0
    z = torch.where(pos, x + torch.log(torch.where(pos, t, 1.0)), float("-inf"))
    # log(1 + e^y) with y = lse_i z_ij, as max(y, 0) + log1p(e^{-|y|}): keeps tiny losses
    # to full relative precision. A class with no t > 0 gets y = 0 in place of -inf (so the
    # lse has a finite gradient) and is then dropped.
    some = pos.any(dim=-2)
    y = torch.logsumexp(torch.where(some.unsqueeze(-2), z, 0.0), dim=-2)
    sp = y.clamp_min(0) + torch.log1p(torch.exp(-y.abs()))
    return torch.where(some, sp, 0.0).sum(dim=-1)


def nm_loss_truncated(S: Tensor, T: Tensor) -> Tensor:
    r"""First-order truncation :math:`l_1` of softmax CE over n tasks of m classes.

    Chapter *An unsuccessful attempt: n tasks of m classes* (kexue.fm/archives/9158), eq.
    (eq-nm-multiclass-attempt-l1):
    :math:`l_1=\sum_j\log\bigl(1+\sum_i\sum_{k\ne j}t_{ij}\,e^{s_{ik}-s_{ij}}\bigr)`, with
    ``S``, ``T`` of shape ``[..., n, m]`` (tasks ``i``, classes ``j``); the sum over tasks
    sits inside the log. Returns one value per leading index (shape ``S.shape[:-2]``). For
    ``m = 2`` it is the soft-label multi-label loss of logits ``s[..., 0] - s[..., 1]``.

    Computed as ``softplus(lse_i(log t_ij + lse_{k!=j} s_ik - s_ij))`` (an O(nm) stable
    form); ``t_ij = 0`` entries are masked out, not clipped. ``T`` must lie in ``[0, 1]``
    with rows summing to 1; an all-zero row is an ignored padding row (no loss, zero
    gradient). ``S`` must be finite, ``m >= 2``. float16/bfloat16 are computed in float32.
    """
    _kl_nm_check_nm(S, T)
    cd = checks.work_dtype(S.dtype)
    s, t = S.to(cd), T.to(cd)
    return _kl_nm_log1p_sum(_kl_nm_lse_others(s) - s, t).to(S.dtype)


def nm_loss_centered(S: Tensor, T: Tensor) -> Tensor:
    r"""Reverse-engineered loss :math:`l_3` whose soft-label optimum is ``T = softmax(S)``.

    Chapter *An unsuccessful attempt: n tasks of m classes* (kexue.fm/archives/9158), eq.
    (eq-nm-multiclass-attempt-l3):
    :math:`l_3=\sum_j\log\bigl(1+\sum_i t_{ij}\,e^{\bar s_i-s_{ij}}\bigr)`,
    :math:`\bar s_i=\frac1m\sum_j s_{ij}`. Shapes, masking and validation as in
    :func:`nm_loss_truncated`. With hard labels it only asks the target logit to beat the
    row *mean*, so it can be near 0 with the wrong arg-max (the chapter's failure case).
    """
    _kl_nm_check_nm(S, T)
    cd = checks.work_dtype(S.dtype)
    s, t = S.to(cd), T.to(cd)
    return _kl_nm_log1p_sum(s.mean(dim=-1, keepdim=True) - s, t).to(S.dtype)
