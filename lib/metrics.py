"""Metrics of the book's experiments (metrics are not losses): micro-F1 and its best
threshold, balanced accuracy, expected calibration error, Spearman correlation.

Each docstring names the chapter that uses it. Torch in, 0-d/1-d float64 torch out, except
:func:`spearman` (NumPy/array-like in, float out: SciPy's ``spearmanr``).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from lib import checks

__all__ = [
    "micro_f1",
    "best_f1_threshold",
    "balanced_accuracy",
    "expected_calibration_error",
    "spearman",
]


def micro_f1(logits: Tensor, targets: Tensor, threshold: float | Tensor = 0.0, start_dim: int = 0) -> Tensor:
    r"""Micro-averaged F1 of the prediction ``logits > threshold`` against 0/1 ``targets``.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), section 5:
    :math:`F_1 = 2\,TP/(\#\text{predicted} + \#\text{true})`, counted over all dims from
    ``start_dim`` on (``start_dim=1``: one F1 per entry of dim 0, e.g. per task; then
    ``threshold`` may be a tensor with one threshold per entry). 0/0 (nothing predicted,
    nothing true) gives 1.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {tuple(targets.shape)}")
    thr = torch.as_tensor(threshold, dtype=logits.dtype, device=logits.device)
    thr = thr.reshape(thr.shape + (1,) * (logits.dim() - thr.dim()))
    pred, true = logits > thr, targets > 0
    dims = tuple(range(start_dim, logits.dim()))
    tp = (pred & true).sum(dims)
    denom = pred.sum(dims) + true.sum(dims)
    return torch.where(denom > 0, 2 * tp / denom.clamp_min(1), torch.ones_like(tp, dtype=torch.float64))


def best_f1_threshold(logits: Tensor, targets: Tensor, start_dim: int = 0) -> Tensor:
    r"""The threshold that maximises :func:`micro_f1` exactly (over dims from ``start_dim``).

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), section 5 (the
    tuned threshold BCE needs): sort the scores, count true positives cumulatively, take the
    best cut, and return the midpoint between the last score kept and the first dropped.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {tuple(targets.shape)}")
    lead = logits.shape[:start_dim]
    sc, order = logits.reshape(lead + (-1,)).sort(dim=-1, descending=True)
    y = (targets.reshape(lead + (-1,)) > 0).to(torch.float64).gather(-1, order)
    m = sc.shape[-1]
    if m == 0:
        raise ValueError("logits is empty")
    f1 = 2 * y.cumsum(-1) / (torch.arange(1, m + 1, dtype=torch.float64) + y.sum(-1, keepdim=True))
    i = f1.argmax(-1, keepdim=True)
    below = torch.cat([sc[..., 1:], sc[..., -1:] - 1], dim=-1)  # keeping all: 1 below the last
    return ((sc.gather(-1, i) + below.gather(-1, i)) / 2).squeeze(-1)



def balanced_accuracy(logits: Tensor, target: Tensor) -> Tensor:
    r"""Mean over classes of the per-class recall of ``argmax(logits, -1)`` (float64 scalar).

    Chapter *Class imbalance*: the metric logit adjustment targets. Classes absent from
    ``target`` are left out of the mean.
    """
    checks.finite(logits, "logits", min_ndim=1)
    if logits.shape[-1] < 2 or logits.numel() == 0:
        raise ValueError(f"logits must have a class dimension of size >= 2, got {tuple(logits.shape)}")
    checks.class_index(target, logits, "target", "logits")
    pred = logits.argmax(dim=-1).reshape(-1)
    t = target.reshape(-1)
    c = logits.shape[-1]
    hits = torch.bincount(t[pred == t], minlength=c).double()
    counts = torch.bincount(t, minlength=c).double()
    present = counts > 0
    return (hits[present] / counts[present]).mean()


def expected_calibration_error(
    probs: Tensor, target: Tensor, n_bins: int = 15, dim: int = -1
) -> Tensor:
    r"""Expected calibration error with ``n_bins`` equal-width confidence bins.

    Chapter *Over-confidence of cross-entropy: TaiLr*, eq. (eq-tailr-overconfidence-ece):
    :math:`\mathrm{ECE} = \sum_b \frac{|B_b|}{n}\,\bigl|\mathrm{acc}(B_b) -
    \mathrm{conf}(B_b)\bigr|`, where the confidence is :math:`\max_c p_c` and bin
    :math:`b` holds confidences in :math:`((b-1)/B, b/B]`. ``probs [..., C]`` along ``dim``
    (rows summing to 1), ``target [...]``; returns a 0-d tensor in ``[0, 1]``.
    """
    if not isinstance(probs, Tensor) or not probs.is_floating_point():
        raise ValueError("probs must be a floating-point torch.Tensor")
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    probs = probs.movedim(dim, -1)
    checks.finite(probs, "probs", min_ndim=1)
    target = checks.class_index(target, probs, "target", "probs")
    work = probs.to(checks.work_dtype(probs.dtype))
    if (work < 0).any() or (work > 1).any():
        raise ValueError("probs must lie in [0, 1]")
    if ((work.sum(-1) - 1).abs() > 1e-3).any():
        raise ValueError(f"probs must sum to 1 along dim={dim}")
    if target.numel() == 0:
        raise ValueError("target is empty: the ECE of no samples is undefined")
    conf, pred = work.reshape(-1, work.shape[-1]).max(dim=-1)
    correct = (pred == target.reshape(-1)).to(conf.dtype)
    bins = torch.clamp(torch.ceil(conf * n_bins).long() - 1, 0, n_bins - 1)
    count = conf.new_zeros(n_bins).index_add_(0, bins, torch.ones_like(conf))
    gap = conf.new_zeros(n_bins).index_add_(0, bins, correct - conf)
    return (gap.abs().sum() / count.sum()).to(probs.dtype)


def spearman(x, y) -> float:
    """Spearman rank correlation of two 1-D samples (SciPy's ``spearmanr``; ties get mean
    ranks). Chapters *BERT-whitening* and *Geodesic distance* (retrieval quality against a
    known similarity). ``ValueError`` for shapes that differ or fewer than 3 values."""
    a = checks.float64_array(x, "x")
    b = checks.float64_array(y, "y")
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"y must be 1-D with the shape of x {a.shape}, got {b.shape}")
    if a.size < 3:
        raise ValueError(f"x needs at least 3 values, got {a.size}")
    if np.all(a == a[0]) or np.all(b == b[0]):
        raise ValueError("x and y must not be constant (the rank correlation is undefined)")
    return float(stats.spearmanr(a, b).statistic)
