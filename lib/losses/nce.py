"""InfoNCE and FlatNCE.

Chapter *FlatNCE* (kexue.fm/archives/8586).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import (
    _scores_and_index,
)

__all__ = [
    "info_nce",
    "flatnce",
]


def _nce_log_xi(scores: Tensor, index: Tensor) -> Tensor:
    r""":math:`\log\xi = \mathrm{lse}_{i\ne t}(s_i - s_t)` along the last dimension."""
    pos = scores.gather(-1, index.unsqueeze(-1))
    is_pos = torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, index.unsqueeze(-1), True)
    return torch.logsumexp((scores - pos).masked_fill(is_pos, float("-inf")), dim=-1)


def info_nce(scores: Tensor, positive_index: Tensor, reduction: str = "mean") -> Tensor:
    r"""InfoNCE (cross-entropy over candidates) computed in the log domain.

    Chapter *FlatNCE and floating-point error* (kexue.fm/archives/8586), eq. (eq-flatnce-ce):
    :math:`-\log\bigl(e^{s_t}/\sum_i e^{s_i}\bigr) = \log(1+\xi)` with
    :math:`\xi = \sum_{i\ne t} e^{s_i - s_t}`, evaluated as
    ``logaddexp(log xi, 0)`` from :math:`\log\xi = \mathrm{lse}_{i\ne t}(s_i - s_t)`. Unlike
    ``lse(s) - s_t`` it never forms :math:`1 + \xi`, so a small :math:`\xi` (a well-separated
    positive) keeps its relative accuracy in the value and in the gradient.

    ``scores [..., K]`` (candidates last, ``K >= 2``: at least one negative),
    ``positive_index [...]`` integer in ``[0, K)``; ``reduction`` ``"none" | "mean" | "sum"``.
    float16/bfloat16 are computed in float32 and cast back.
    """
    checks.reduction(reduction)
    work, index = _scores_and_index(scores, positive_index, "scores", "positive_index", 2)
    log_xi = _nce_log_xi(work, index)
    return checks.reduce(torch.logaddexp(log_xi, torch.zeros_like(log_xi)), reduction, scores.dtype)


def flatnce(scores: Tensor, positive_index: Tensor, reduction: str = "mean") -> Tensor:
    r"""FlatNCE of Chen et al. (2021) in Su's primitive form :math:`\log\xi`.

    Chapter *FlatNCE and floating-point error* (kexue.fm/archives/8586), eq.
    (eq-flatnce-primitive): :math:`\log\sum_{i\ne t} e^{s_i - s_t} =
    \mathrm{lse}_{i\ne t}(s_i) - s_t`, whose gradient is that of the paper's
    :math:`\xi/\mathrm{sg}(\xi)` (value 1; eq. (eq-flatnce-sg)) and, per sample,
    :math:`(1+\xi)/\xi` times InfoNCE's (eq. (eq-flatnce-reweight)). It can be negative and is
    unbounded below; computed in the log domain, it stays accurate for any :math:`\xi`.

    ``scores [..., K]`` (candidates last, ``K >= 2``: the log-sum over no negatives would be
    :math:`-\infty`), ``positive_index [...]`` integer in ``[0, K)``; ``reduction``
    ``"none" | "mean" | "sum"``. float16/bfloat16 are computed in float32 and cast back.
    """
    checks.reduction(reduction)
    work, index = _scores_and_index(scores, positive_index, "scores", "positive_index", 2)
    return checks.reduce(_nce_log_xi(work, index), reduction, scores.dtype)
