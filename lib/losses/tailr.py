"""TaiLr: the tempered cross-entropy that down-weights low-probability targets.

Chapter *Over-confidence of cross-entropy: TaiLr* (kexue.fm/archives/9526).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import (
    _scores_and_index,
)

__all__ = [
    "tailr_weight",
    "tailr_loss",
]


def _tailr_log_mix(logp: Tensor, gamma: float) -> Tensor:
    r""":math:`\log(\gamma + (1-\gamma)p)` from :math:`\log p`, accurate for every ``gamma``.

    With :math:`u = (1-\gamma)(1-p)` the argument is :math:`1-u`: for :math:`u \le 1/2` use
    ``log1p(-u)`` (no cancellation as ``gamma -> 1`` or ``p -> 1``; ``1 - p`` is
    ``-expm1(log p)``); otherwise the argument is below 1/2 and
    ``logaddexp(log gamma, log(1-gamma) + log p)`` is accurate (and finite as ``p -> 0``).
    """
    if gamma == 0.0:
        return logp
    if gamma == 1.0:
        return torch.zeros_like(logp)
    u = (1.0 - gamma) * -torch.expm1(logp)
    near_one = u <= 0.5
    a = torch.log1p(-torch.where(near_one, u, torch.zeros_like(u)))
    b = torch.logaddexp(torch.full_like(logp, math.log(gamma)), math.log1p(-gamma) + logp)
    return torch.where(near_one, a, b)


def _tailr_weight_from_logp(logp: Tensor, gamma: float, min_weight: float) -> Tensor:
    with torch.no_grad():
        return torch.exp(logp - _tailr_log_mix(logp, gamma)).clamp(min=min_weight, max=1.0)


def tailr_weight(logits: Tensor, target: Tensor, gamma: float, min_weight: float = 0.0) -> Tensor:
    r"""TaiLr's per-sample weight :math:`\max\bigl(b, w_\gamma(p)\bigr)`, detached.

    Chapter *Over-confidence of cross-entropy: TaiLr* (kexue.fm/archives/9526), eq.
    (eq-tailr-overconfidence-grad): :math:`w_\gamma(p) = p / (\gamma + (1-\gamma)p) \in [p, 1]` with
    :math:`p = \mathrm{softmax}(\text{logits})_{\text{target}}`, floored at ``min_weight``
    :math:`= b`. ``logits [..., C]`` (classes last), ``target [...]``; returns ``[...]``
    without gradient, dtype of ``logits``. ``gamma = 0`` gives 1 (cross-entropy),
    ``gamma = 1`` gives ``p``.
    """
    gamma = checks.real(gamma, "gamma", low=0.0, high=1.0)
    min_weight = checks.real(min_weight, "min_weight", low=0.0, high=1.0)
    work, target = _scores_and_index(logits, target, "logits", "target", 1)
    logp = torch.log_softmax(work, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return _tailr_weight_from_logp(logp, gamma, min_weight).to(logits.dtype)


def tailr_loss(
    logits: Tensor,
    target: Tensor,
    gamma: float,
    min_weight: float = 0.0,
    mode: str = "closed",
    reduction: str = "mean",
) -> Tensor:
    r"""TaiLr loss of Ji et al. (2023), in closed form or as a stop-gradient weighted NLL.

    Chapter *Over-confidence of cross-entropy: TaiLr* (kexue.fm/archives/9526).

    * ``mode="closed"``, eq. (eq-tailr-overconfidence-loss):
      :math:`\mathcal L_\gamma = -\log\bigl(\gamma + (1-\gamma)p\bigr)/(1-\gamma)`, with
      :math:`p = \mathrm{softmax}(\text{logits})_{\text{target}}`. ``gamma = 0`` is exactly
      cross-entropy; ``gamma = 1`` is the limit :math:`1 - p` (eq.
      (eq-tailr-overconfidence-limit)); values of ``gamma`` close to 1 are computed without
      cancellation (no division ``0/0``). Its gradient is :math:`w_\gamma(p)` times that of
      cross-entropy (eq. (eq-tailr-overconfidence-grad)).
      ``min_weight`` must be 0 here (a floored weight has no simple primitive).
    * ``mode="weighted"`` (the chapter's section 4): :math:`-\mathrm{sg}[\max(b, w_\gamma(p))]\log p`
      with :math:`b` = ``min_weight`` (the form the paper's code trains with). Same gradient
      as the closed form when ``min_weight = 0``; its *value* is not the closed form's.

    ``logits [..., C]`` (classes last), ``target [...]`` integer in ``[0, C)``;
    ``reduction`` is ``"none" | "mean" | "sum"`` over the leading dimensions. float16 and
    bfloat16 inputs are computed in float32 and the result is cast back.
    """
    gamma = checks.real(gamma, "gamma", low=0.0, high=1.0)
    min_weight = checks.real(min_weight, "min_weight", low=0.0, high=1.0)
    if mode not in ("closed", "weighted"):
        raise ValueError(f"mode must be 'closed' or 'weighted', got {mode!r}")
    if mode == "closed" and min_weight != 0.0:
        raise ValueError("min_weight must be 0 with mode='closed' (use mode='weighted')")
    checks.reduction(reduction)
    work, target = _scores_and_index(logits, target, "logits", "target", 1)
    logp = torch.log_softmax(work, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    if mode == "weighted":
        loss = -_tailr_weight_from_logp(logp, gamma, min_weight) * logp
    elif gamma == 1.0:
        loss = -torch.expm1(logp)
    else:
        loss = -_tailr_log_mix(logp, gamma) / (1.0 - gamma)
    return checks.reduce(loss, reduction, logits.dtype)
