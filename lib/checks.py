"""Argument checks shared by every part of ``lib`` (one dialect for the whole book).

Each check raises ``ValueError`` whose message starts with the argument's name and says what
was expected and what arrived (type, dtype or shape), never returning a silently wrong value.
Checks return the validated value (converted where that is their job), so a public function
reads ``n = checks.integer(n, "n", minimum=1)``.

Also here, because every loss uses them: the ``reduction=`` argument (:func:`reduction`,
:func:`reduce`) and the one way half precision is computed (:func:`work_dtype`).
"""

from __future__ import annotations

import math
import operator

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "tensor",
    "floating",
    "no_nan",
    "finite",
    "probability",
    "same_shape",
    "bool_mask",
    "class_index",
    "binary_labels",
    "integer",
    "real",
    "choice",
    "generator",
    "float64_array",
    "REDUCTIONS",
    "reduction",
    "reduce",
    "work_dtype",
]


def _shape(x) -> str:
    return str(tuple(x.shape)) if hasattr(x, "shape") else type(x).__name__


# -- tensors -------------------------------------------------------------------------------
def tensor(x, name: str, *, ndim: int | None = None, min_ndim: int = 0) -> Tensor:
    """``x`` must be a ``torch.Tensor`` (of ``ndim`` dims exactly, or at least ``min_ndim``)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(x.shape)}")
    if x.dim() < min_ndim:
        raise ValueError(f"{name} needs at least {min_ndim} dims, got shape {tuple(x.shape)}")
    return x


def floating(x, name: str, *, ndim: int | None = None, min_ndim: int = 0) -> Tensor:
    """A floating-point tensor (any float dtype)."""
    tensor(x, name, ndim=ndim, min_ndim=min_ndim)
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def no_nan(x, name: str, **kw) -> Tensor:
    """A floating tensor without NaN (infinities allowed, e.g. masked logits)."""
    floating(x, name, **kw)
    if torch.isnan(x.detach()).any():
        raise ValueError(f"{name} contains NaN")
    return x


def finite(x, name: str, **kw) -> Tensor:
    """A floating tensor whose every entry is finite."""
    floating(x, name, **kw)
    if not torch.isfinite(x.detach()).all():
        raise ValueError(f"{name} must be finite (it contains NaN or inf)")
    return x


def probability(p, name: str = "p", *, dim: int = -1) -> Tensor:
    """Non-negative entries summing to 1 along ``dim`` (to ~1000 ulp per entry)."""
    no_nan(p, name)
    if (p < 0).any():
        raise ValueError(f"{name} must be non-negative")
    tol = 1e3 * torch.finfo(p.dtype).eps * max(p.shape[dim], 1)
    if ((p.sum(dim=dim) - 1).abs() > tol).any():
        raise ValueError(f"{name} must sum to 1 along dim={dim}")
    return p


def same_shape(a, b, name_a: str, name_b: str) -> None:
    """``a`` and ``b`` are tensors/arrays of one shape."""
    if not hasattr(b, "shape") or tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{name_b} must have the shape of {name_a} {_shape(a)}, got {_shape(b)}")


def bool_mask(mask, shape, name: str = "mask", *, of: str = "logits") -> Tensor | None:
    """``mask`` (bool, or only 0/1 values; True = keep) broadcast to ``shape``; ``None`` passes."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        if not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"{name} must be boolean (or hold only 0 and 1)")
        mask = mask != 0
    try:
        return mask.expand(shape)
    except RuntimeError:
        raise ValueError(
            f"{name} of shape {tuple(mask.shape)} does not broadcast to {of} {tuple(shape)}"
        ) from None


def class_index(index, scores, name: str = "target", scores_name: str = "logits") -> Tensor:
    """Integer class indices, one per row of ``scores [..., K]``: shape ``scores.shape[:-1]``,
    values in ``[0, K)``. Returns ``index`` as int64."""
    if not isinstance(index, Tensor) or index.is_floating_point() or index.is_complex() \
            or index.dtype == torch.bool:
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise ValueError(f"{name} must be an integer torch.Tensor of class indices, got {got}")
    if index.shape != scores.shape[:-1]:
        raise ValueError(
            f"{name} must have shape {tuple(scores.shape[:-1])} (that of {scores_name} without "
            f"its last dimension), got {tuple(index.shape)}"
        )
    k = scores.shape[-1]
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= k):
        raise ValueError(f"{name} values must lie in [0, {k - 1}]")
    return index.long()


def binary_labels(target, like, name: str = "target", like_name: str = "logits") -> Tensor:
    """A tensor of 0/1 labels with the shape of ``like``."""
    if not isinstance(target, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(target).__name__}")
    same_shape(like, target, like_name, name)
    if not ((target == 0) | (target == 1)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return target


# -- Python scalars ------------------------------------------------------------------------
def integer(n, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (Python or NumPy, not bool) within ``[minimum, maximum]``."""
    if isinstance(n, bool) or isinstance(n, Tensor):
        raise ValueError(f"{name} must be an integer, got {n!r}")
    try:
        v = operator.index(n)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {n!r}") from None
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v}")
    return v


def real(
    x,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number within the stated bounds (open or closed at each end)."""
    if isinstance(x, bool):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {x!r}") from None
    bad = not math.isfinite(v)
    if low is not None:
        bad |= v <= low if low_open else v < low
    if high is not None:
        bad |= v >= high if high_open else v > high
    if bad:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be finite and in {lo}, {hi}, got {x!r}")
    return v


def choice(value, name: str, options) -> str:
    """One of ``options``."""
    if value not in tuple(options):
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def generator(rng, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` (randomness in ``lib`` is always explicit)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name} must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def float64_array(a, name: str, *, finite_only: bool = True) -> np.ndarray:
    """``a`` (array-like or tensor) as a float64 NumPy array; finite unless told otherwise."""
    if isinstance(a, Tensor):
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a real array, got {type(a).__name__}") from e
    if finite_only and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


# -- reductions and precision --------------------------------------------------------------
REDUCTIONS = ("none", "mean", "sum")


def reduction(value: str, name: str = "reduction") -> str:
    """One of ``'none'``, ``'mean'``, ``'sum'``."""
    return choice(value, name, REDUCTIONS)


def reduce(loss: Tensor, how: str, dtype: torch.dtype | None = None) -> Tensor:
    """Apply ``reduction`` over every element, then cast to ``dtype``.

    An empty batch has no mean: ``ValueError`` rather than a silent NaN.
    """
    if how == "mean":
        if loss.numel() == 0:
            raise ValueError("reduction='mean' needs at least one sample, got an empty batch")
        loss = loss.mean()
    elif how == "sum":
        loss = loss.sum()
    return loss if dtype is None else loss.to(dtype)


def work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The book's one rule for half precision: compute float16/bfloat16 in float32."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
