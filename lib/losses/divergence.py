"""Symmetric KL divergences for GlobalPointer: softmax and per-label sigmoid forms.

Chapter *GlobalPointer KL* (kexue.fm/archives/9039).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import (
    _check_mask,
    _check_pair,
)

__all__ = [
    "symmetric_kl_softmax",
    "symmetric_kl_sigmoid",
]


def symmetric_kl_softmax(s: Tensor, t: Tensor, dim: int = -1) -> Tensor:
    r"""Symmetric KL :math:`KL(p\|q)+KL(q\|p)` of ``p = softmax(s)``, ``q = softmax(t)``.

    Chapter *A "KL divergence" for GlobalPointer* (kexue.fm/archives/9039), eq.
    (eq-globalpointer-kl-softmax):
    :math:`D = \sum_i (p_i-q_i)(s_i-t_i) = \langle \mathrm{softmax}(s)-\mathrm{softmax}(t),
    s-t\rangle`. The logit difference is taken after centring by the log-partition
    (``log_softmax(s) - log_softmax(t)``: ``s - t`` minus a constant whose contribution
    cancels, the chapter's step 2), so a large common shift of ``s`` or ``t`` adds no
    rounding error. Reduces ``dim``; dtype and device are
    preserved (float16/bfloat16 are computed in float32).

    Masked classes: a class that is ``-inf`` in *both* ``s`` and ``t`` has probability 0
    under both and contributes 0 (with zero gradient). ``-inf`` in only one of them makes
    the divergence infinite and raises ``ValueError``, as do NaN, ``+inf``, a row with no
    finite logit, a shape mismatch and an empty ``dim``.
    """
    _check_pair(s, t, dim)
    for name, x in (("s", s), ("t", t)):
        if torch.isnan(x).any() or (x == float("inf")).any():
            raise ValueError(f"{name} contains NaN or +inf")
    s_off, t_off = torch.isneginf(s), torch.isneginf(t)
    if (s_off != t_off).any():
        raise ValueError("s and t must be -inf at the same positions (otherwise the divergence is infinite)")
    if s_off.all(dim=dim).any():
        raise ValueError(f"s has a row with no finite logit along dim={dim}")
    cd = checks.work_dtype(s.dtype)
    s32, t32 = s.to(cd), t.to(cd)
    log_p = torch.log_softmax(s32, dim=dim)
    log_q = torch.log_softmax(t32, dim=dim)
    # A class off in both has p = q = 0; its log-ratio (-inf) - (-inf) is set to 0.
    log_ratio = torch.where(s_off, 0.0, log_p - log_q)
    d = (log_p.exp() - log_q.exp()) * log_ratio
    return d.sum(dim=dim).to(s.dtype)


def symmetric_kl_sigmoid(s: Tensor, t: Tensor, mask: Tensor | None = None, *, dim: int = -1) -> Tensor:
    r"""GlobalPointer's divergence :math:`D_{\rm GP}(s,t)=\sum_i(\sigma(s_i)-\sigma(t_i))(s_i-t_i)`.

    Chapter *A "KL divergence" for GlobalPointer* (kexue.fm/archives/9039), eq.
    (eq-globalpointer-kl-gp): the sum over labels
    of the symmetric KL of the Bernoulli pairs :math:`[\sigma(s_i), 1-\sigma(s_i)]` and
    :math:`[\sigma(t_i), 1-\sigma(t_i)]` (eq. eq-globalpointer-kl-bernoulli). Each term is
    computed as :math:`\sigma(a)\,\sigma(-b)\,(1-e^{-|s_i-t_i|})\,|s_i-t_i|` with
    :math:`a=\max(s_i,t_i)`, :math:`b=\min(s_i,t_i)` — the same number, but every factor is
    in :math:`[0, 1]` or is :math:`|s_i-t_i|`, so nothing overflows and the relative error
    stays at a few ulps even when :math:`s_i\approx t_i` (where the plain difference of
    sigmoids cancels).

    ``mask`` (bool or 0/1, broadcastable to ``s``; ``True`` = keep) removes positions: they
    contribute 0 with zero gradient whatever their values (``-inf``, ``-1e12``, NaN), and an
    all-masked row gives 0. Kept positions must be finite. Reduces ``dim`` (flatten
    GlobalPointer's ``(heads, L, L)`` into it); dtype and device are preserved
    (float16/bfloat16 are computed in float32; a float16 *total* above 65504 is not
    representable and becomes ``inf``).
    """
    _check_pair(s, t, dim)
    keep = _check_mask(mask, s.shape, "s's shape")
    if keep is None:
        keep = torch.ones_like(s, dtype=torch.bool)
    for name, x in (("s", s), ("t", t)):
        if (keep & ~torch.isfinite(x)).any():
            raise ValueError(f"{name} must be finite at unmasked positions")
    cd = checks.work_dtype(s.dtype)
    s32 = torch.where(keep, s.to(cd), 0.0)
    t32 = torch.where(keep, t.to(cd), 0.0)
    a, b = torch.maximum(s32, t32), torch.minimum(s32, t32)
    gap = a - b
    d = torch.sigmoid(a) * torch.sigmoid(-b) * (-torch.expm1(-gap)) * gap
    return torch.where(keep, d, 0.0).sum(dim=dim).to(s.dtype)
