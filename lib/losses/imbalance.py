"""Class imbalance: smooth accuracy/F1, F1-weighted BCE, focal loss, logit adjustment.

Chapter *Class imbalance* (kexue.fm/archives/7708).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import (
    _check_class_logits,
    _check_class_target,
)

__all__ = [
    "smooth_accuracy_binary",
    "smooth_f1_binary",
    "f1_weighted_bce",
    "focal_loss",
    "logit_adjusted_ce",
]


def smooth_accuracy_binary(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    r"""Smoothed binary accuracy :math:`y\,\sigma(z) + (1-y)\,\sigma(-z)` (a score, not a loss).

    Chapter *Class imbalance: re-weighting vs modified losses*, eq. (eq-class-imbalance-acc):
    the hard prediction :math:`\mathbb 1[z>0]` replaced by :math:`p=\sigma(z)`. Its logit
    gradient for a positive is :math:`p(1-p)`, which vanishes on badly wrong samples.
    ``target`` holds 0/1 labels with the shape of ``logits``.
    """
    work = _check_class_logits(logits, reduction)
    checks.binary_labels(target, logits, "target", "logits")
    z = logits.to(work)
    y = target.to(work)
    acc = y * torch.sigmoid(z) + (1 - y) * torch.sigmoid(-z)
    return checks.reduce(acc, reduction, logits.dtype)


def smooth_f1_binary(logits: Tensor, target: Tensor) -> Tensor:
    r"""Smoothed F1 :math:`2\sum_i y_i p_i / \sum_i (y_i + p_i)` over all elements, :math:`p=\sigma(z)`.

    Chapter *Class imbalance*, eq. (eq-class-imbalance-f1). A set-level score (no
    ``reduction``). Returns 0 when the denominator underflows to 0 (no positives and all
    :math:`p` rounded to 0).
    """
    work = _check_class_logits(logits, "mean")
    checks.binary_labels(target, logits, "target", "logits")
    p = torch.sigmoid(logits.to(work))
    y = target.to(work)
    den = (y + p).sum()
    tiny = torch.finfo(work).tiny
    return (2 * (y * p).sum() / den.clamp_min(tiny)).to(logits.dtype)


def f1_weighted_bce(
    logits: Tensor, target: Tensor, reduction: str = "mean", *, f1: float | Tensor | None = None
) -> Tensor:
    r"""BCE re-weighted by the current smoothed F1: positives :math:`1-F_1/2`, negatives :math:`F_1/2`.

    Chapter *Class imbalance*, eq. (eq-class-imbalance-f1-bce):
    :math:`-y(1-\tfrac12F_1)\log\sigma(z)-(1-y)\tfrac12F_1\log\sigma(-z)` with :math:`F_1`
    held constant (computed from the batch under ``no_grad`` unless given as ``f1``). Its
    gradient is the smooth-F1 gradient with the rule :math:`\nabla p\to\nabla\log p`
    applied per sample.
    """
    work = _check_class_logits(logits, reduction)
    checks.binary_labels(target, logits, "target", "logits")
    if f1 is None:
        with torch.no_grad():
            f1 = smooth_f1_binary(logits, target).to(work)
    else:
        f1 = torch.as_tensor(f1, dtype=work, device=logits.device).detach()
        if f1.numel() != 1 or not (0 <= float(f1) <= 1):
            raise ValueError(f"f1 must be a scalar in [0, 1], got {f1}")
    z = logits.to(work)
    y = target.to(work)
    half = f1 / 2
    logsig = torch.nn.functional.logsigmoid
    loss = -(y * (1 - half) * logsig(z) + (1 - y) * half * logsig(-z))
    return checks.reduce(loss, reduction, logits.dtype)


def focal_loss(logits: Tensor, target: Tensor, gamma: float, reduction: str = "mean") -> Tensor:
    r"""Focal loss :math:`-(1-p_t)^\gamma\log p_t` (Lin et al. 2017); ``gamma = 0`` is CE.

    Chapter *Class imbalance*, eq. (eq-class-imbalance-focal): its logit gradient is CE's
    gradient times the non-negative weight :math:`(1-p)^\gamma[1-\gamma p\log p/(1-p)]`.

    Two forms, chosen by ``target``:

    * integer class indices ``target [...]`` with ``logits [..., C]``: softmax form,
      :math:`p_t = \mathrm{softmax}(z)_t`;
    * 0/1 labels with the shape of ``logits`` (any dtype): sigmoid form,
      :math:`p_t = \sigma(\pm z)` (the softmax form with logits :math:`(0, z)`).

    Stable for any finite logits: :math:`\log p_t` and :math:`\log(1-p_t)` are both taken
    from logsumexp differences (never ``1 - p``), so the weight is exact even when
    :math:`p_t` rounds to 1. Half-precision inputs are computed in float32 and returned in
    their own dtype.
    """
    work = _check_class_logits(logits, reduction)
    if not (isinstance(gamma, int | float) and math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
    z = logits.to(work)
    if not (isinstance(target, Tensor) and target.shape == logits.shape):
        _check_class_target(logits, target)
        t = target.unsqueeze(-1)
        lse = torch.logsumexp(z, dim=-1, keepdim=True)
        log_pt = (z.gather(-1, t) - lse).squeeze(-1)
        own = torch.nn.functional.one_hot(target, z.shape[-1]).bool()
        others = z.masked_fill(own, -math.inf)
        log_1m_pt = (torch.logsumexp(others, dim=-1, keepdim=True) - lse).squeeze(-1)
    else:
        checks.binary_labels(target, logits, "target", "logits")
        s = 2 * target.to(work) - 1
        log_pt = torch.nn.functional.logsigmoid(s * z)
        log_1m_pt = torch.nn.functional.logsigmoid(-s * z)
    loss = -torch.exp(gamma * log_1m_pt) * log_pt
    return checks.reduce(loss, reduction, logits.dtype)


def logit_adjusted_ce(
    logits: Tensor,
    target: Tensor,
    log_prior: Tensor,
    tau: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    r"""Logit-adjusted cross-entropy :math:`-\log\mathrm{softmax}(z + \tau\log\pi)_y` (Menon et al.).

    Chapter *Class imbalance*, eq. (eq-class-imbalance-la). **Sign convention:** the
    *training* loss adds :math:`+\tau\log\pi_i` to every logit (rare classes get a negative
    offset, so they must win by the margin :math:`\tau\log(\pi_i/\pi_y)`); at *inference*
    predict with the raw ``logits``. (The equivalent post-hoc form trains plain CE and
    predicts with ``logits - tau * log_prior``; doing both double-counts the prior.)

    ``logits [..., C]``, integer ``target [...]``, ``log_prior [C]`` finite (it need not be
    normalised: a constant shift cancels in the softmax). ``tau >= 0``; ``tau = 0`` is CE.
    """
    work = _check_class_logits(logits, reduction)
    _check_class_target(logits, target)
    if not isinstance(log_prior, Tensor):
        log_prior = torch.as_tensor(log_prior)
    if log_prior.shape != logits.shape[-1:]:
        raise ValueError(
            f"log_prior must have shape ({logits.shape[-1]},), got {tuple(log_prior.shape)}"
        )
    if not torch.isfinite(log_prior).all():
        raise ValueError("log_prior must be finite (a class with prior 0 has log_prior -inf)")
    if not (isinstance(tau, int | float) and math.isfinite(tau) and tau >= 0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    z = logits.to(work) + tau * log_prior.to(dtype=work, device=logits.device)
    c = z.shape[-1]
    loss = torch.nn.functional.cross_entropy(
        z.reshape(-1, c), target.reshape(-1), reduction="none"
    )
    return checks.reduce(loss.reshape(target.shape), reduction, logits.dtype)
