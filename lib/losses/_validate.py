"""Argument checks of the losses, built on ``lib.checks`` (the book's one dialect).

Each helper names the argument it rejects; the losses call these and nothing else.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks


def _check_logits(logits: Tensor, name: str = "logits") -> float:
    """Floating logits with a non-empty last (label) dimension, no NaN or +inf (``-inf``
    marks an absent label); returns max |logits| from one ``aminmax`` pass."""
    checks.floating(logits, name)
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty label dimension (last), got shape {tuple(logits.shape)}")
    lo, hi = torch.aminmax(logits.detach())
    if not bool(hi < float("inf")):
        raise ValueError(f"{name} contains NaN or +inf")
    return max(-float(lo), float(hi))


def _no_shift_needed(max_abs: float, dtype: torch.dtype, n: int) -> bool:
    r"""``n`` terms :math:`e^{\pm s}` cannot overflow, so :math:`\log(1+\sum e^{\pm s})` needs no
    max-shift: terms that underflow are negligible next to the threshold class's 1."""
    return max_abs <= math.log(torch.finfo(dtype).max) - math.log(n) - 1


def _check_mask(mask: Tensor | None, shape: torch.Size, name: str = "logits") -> Tensor | None:
    return checks.bool_mask(mask, shape, "mask", of=name)


def _check_targets_shape(targets, logits: Tensor) -> None:
    checks.same_shape(logits, targets, "logits", "targets")


def _check_pair(s, t, dim: int) -> None:
    """Two floating score tensors of one shape with a non-empty ``dim`` (the KL losses)."""
    checks.floating(s, "s")
    checks.floating(t, "t")
    checks.same_shape(s, t, "s", "t")
    if s.dim() == 0 or s.shape[dim] == 0:
        raise ValueError(f"s has an empty (or no) dimension dim={dim}")


def _check_class_logits(logits: Tensor, reduction: str) -> torch.dtype:
    """Finite, non-empty floating ``logits`` and a valid ``reduction``; the dtype to compute in."""
    checks.finite(logits, "logits")
    if logits.numel() == 0:
        raise ValueError(f"logits is empty (shape {tuple(logits.shape)})")
    checks.reduction(reduction)
    return checks.work_dtype(logits.dtype)


def _check_class_target(logits: Tensor, target: Tensor) -> None:
    """``logits [..., C]`` (C >= 2) with integer class indices ``target [...]``."""
    if logits.dim() < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have a class dimension of size >= 2, got {tuple(logits.shape)}")
    checks.class_index(target, logits, "target", "logits")


def _scores_and_index(x: Tensor, index: Tensor, xname: str, iname: str, min_k: int):
    """Finite floating ``x [..., K]`` (K >= ``min_k``) and an integer index per row.

    Returns ``x`` in its working dtype (half precision upcast to float32; the callers cast
    the result back) and ``index`` as int64.
    """
    checks.floating(x, xname)
    if x.dim() < 1 or x.shape[-1] < min_k:
        why = " (the positive and at least one negative)" if min_k == 2 else ""
        raise ValueError(
            f"{xname} must have at least {min_k} entries along its last dimension{why}, "
            f"got shape {tuple(x.shape)}"
        )
    checks.finite(x, xname)
    index = checks.class_index(index, x, iname, xname)
    return x.to(checks.work_dtype(x.dtype)), index
