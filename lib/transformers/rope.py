"""Rotary position embedding (RoPE) and the lower bound on its base.

Chapter *The RoPE base lower bound* (``chapters/transformers/rope-base-bound.md``), after
Su Jianlin, kexue.fm/archives/10122, and Men et al. (2024), *Base of RoPE Bounds Context
Length* (arXiv:2405.14591).

Conventions (the chapter's): a head of even size ``d`` is split into the *interleaved* pairs
``(x[2i], x[2i+1])``, ``i = 0 .. d/2-1``; pair ``i`` at position ``n`` is rotated by the angle
``n * theta_i`` with ``theta_i = base**(-2i/d)``. The quantity behind the bound is

.. math:: f_b(m) = \\sum_{i=0}^{d/2-1} \\cos\big(m\\, b^{-2i/d}\big),

and a base ``b`` is *feasible* for a training length ``L`` when ``f_b(m) >= 0`` for every
integer ``0 <= m < L``. Phases ``m * theta_0 = m`` reach ``10**6`` rad, so everything that
decides a sign is computed in float64; the fast evaluators below are exact up to a stated
rounding bound and hand every value inside that bound to the direct float64 sum
(:func:`cos_sum`), which is the reference definition of a sign.

Sections follow the chapter: RoPE itself, the cosine sum, feasibility, the article's search,
the continuous (certified) search, and the ``d -> infinity`` asymptotics.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lib import checks

__all__ = [
    "thetas",
    "rope_matrix",
    "apply_rope",
    "cos_sum",
]


_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------
def _check_d(d) -> int:
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d <= 0 or d % 2:
        raise ValueError(f"d must be a positive even integer, got {d!r}")
    return int(d)


def _check_length(length, name: str = "length") -> int:
    return checks.integer(length, name, minimum=1)


def _check_base(base) -> np.ndarray:
    if isinstance(base, Tensor):
        base = base.detach().cpu().numpy()
    b = np.asarray(base, dtype=np.float64)
    if not np.all(np.isfinite(b)) or not np.all(b > 1):
        raise ValueError(f"base must be finite and > 1, got {base!r}")
    return b


def _check_scalar_base(base) -> float:
    b = _check_base(base)
    if b.ndim:
        raise ValueError(f"base must be a scalar here, got shape {b.shape}")
    return float(b)


def _check_rotary_dims(rotary_dims, d: int) -> int:
    if rotary_dims is None:
        return d
    if (
        isinstance(rotary_dims, bool)
        or not isinstance(rotary_dims, int | np.integer)
        or not 2 <= rotary_dims <= d
        or rotary_dims % 2
    ):
        raise ValueError(f"rotary_dims must be an even integer in [2, d={d}], got {rotary_dims!r}")
    return int(rotary_dims)


# ---------------------------------------------------------------------------------------
# RoPE (chapter section "RoPE in one line", eqs. eq-rope-base-bound-rotation, -relative)
# ---------------------------------------------------------------------------------------
def thetas(d: int, base, *, rotary_dims: int | None = None) -> np.ndarray:
    r"""The ``d/2`` RoPE frequencies :math:`\theta_i = b^{-2i/d}`, float64.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-thetas). ``base`` may be an
    array: the result has shape ``base.shape + (d//2,)``. With ``rotary_dims = r < d``
    (partial RoPE, as in GPT-NeoX), only the first ``r/2`` pairs rotate, with
    :math:`\theta_i = b^{-2i/r}`, and the other ``(d-r)/2`` frequencies are 0
    (eq. eq-rope-base-bound-partial). The power is evaluated exactly as ``base ** (-2 * i / d)``
    with ``i`` a float64 ``arange``, the expression of the article's code.
    """
    d = _check_d(d)
    r = _check_rotary_dims(rotary_dims, d)
    b = _check_base(base)
    i = np.arange(d // 2, dtype=np.float64)
    if r == d:
        return b[..., None] ** (-2 * i / d)
    th = np.zeros(b.shape + (d // 2,))
    th[..., : r // 2] = b[..., None] ** (-2 * i[: r // 2] / r)
    return th


def rope_matrix(position, d: int, base, *, dtype: torch.dtype = torch.float64) -> Tensor:
    r"""The dense ``(d, d)`` RoPE matrix :math:`\mathcal R_n` (reference implementation).

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-rotation): block diagonal with
    the 2x2 rotations :math:`\rho(n\theta_i)` on the interleaved pairs. ``position`` is a real
    scalar (fractional positions are allowed, e.g. for position interpolation). The angles
    are formed in float64 and the result is cast to ``dtype``.
    """
    d = _check_d(d)
    pos = float(position)
    if not math.isfinite(pos):
        raise ValueError(f"position must be finite, got {position!r}")
    phase = torch.from_numpy(pos * thetas(d, _check_scalar_base(base)))
    c, s = torch.cos(phase), torch.sin(phase)
    R = torch.zeros(d, d, dtype=torch.float64)
    idx = torch.arange(0, d, 2)
    R[idx, idx] = c
    R[idx, idx + 1] = -s
    R[idx + 1, idx] = s
    R[idx + 1, idx + 1] = c
    return R.to(dtype)


def apply_rope(x: Tensor, positions, base) -> Tensor:
    r"""Rotate ``x`` of shape ``(..., n, d)`` by RoPE at ``positions`` (``n`` reals).

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-rotation), in the efficient
    form ``x * cos + rotate_pairs(x) * sin``: for each interleaved pair
    ``(x[2i], x[2i+1])`` at position ``p``,
    ``(x[2i] cos p*theta_i - x[2i+1] sin p*theta_i, x[2i] sin p*theta_i + x[2i+1] cos p*theta_i)``.
    Equals ``rope_matrix(p, d, base) @ x[p]`` for every row; then
    ``<apply_rope(q, m), apply_rope(k, n)> = <q, R_{n-m} k>`` (eq. rope-base-bound-relative).
    Angles are computed in float64 (``p * theta_0 = p`` can be 1e6 rad) and cast to
    ``x.dtype``; dtype and device of ``x`` are preserved and the map is differentiable in
    ``x``.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError("x must be a floating-point torch.Tensor of shape (..., n, d)")
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., n, d), got {tuple(x.shape)}")
    n, d = x.shape[-2], x.shape[-1]
    if d == 0 or d % 2:
        raise ValueError(f"x must have shape (..., n, d) with d even and > 0, got {tuple(x.shape)}")
    pos = torch.as_tensor(
        positions.detach().cpu() if isinstance(positions, Tensor) else positions,
        dtype=torch.float64,
    )
    if pos.shape != (n,):
        raise ValueError(f"positions must have shape (n,) = ({n},), got {tuple(pos.shape)}")
    if not torch.isfinite(pos).all():
        raise ValueError("positions must be finite")
    th = torch.from_numpy(thetas(d, _check_scalar_base(base)))
    phase = pos[:, None] * th[None, :]
    cos = torch.cos(phase).to(device=x.device, dtype=x.dtype)
    sin = torch.sin(phase).to(device=x.device, dtype=x.dtype)
    xe, xo = x[..., 0::2], x[..., 1::2]
    return torch.stack((xe * cos - xo * sin, xe * sin + xo * cos), dim=-1).flatten(-2)


# ---------------------------------------------------------------------------------------
# the cosine sum f_b(m) (section "The expected advantage of a similar key", eq-rope-base-bound-f)
# ---------------------------------------------------------------------------------------
def cos_sum(m, d: int, base, *, rotary_dims: int | None = None):
    r""":math:`f_b(m) = \sum_{i<d/2} \cos(m\,\theta_i)`, float64, broadcasting ``m`` and ``base``.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-f): the expected score margin
    of a similar key over a random one is :math:`2\sigma^2 f_b(m)`. ``m`` may be
    fractional (position interpolation evaluates :math:`f_b(m/k)`); ``rotary_dims`` selects
    partial RoPE (eq. eq-rope-base-bound-partial). This direct float64 sum is the *reference*
    the fast feasibility routines defer to near zero. A torch ``m`` gives a float64 tensor
    on its device; otherwise a NumPy array (or scalar).
    """
    as_torch = isinstance(m, Tensor)
    device = m.device if as_torch else None
    mm = np.asarray(m.detach().cpu().numpy() if as_torch else m, dtype=np.float64)
    if not np.all(np.isfinite(mm)):
        raise ValueError("m must be finite")
    th = thetas(d, base, rotary_dims=rotary_dims)
    mm, thb = np.broadcast_arrays(mm[..., None], th)
    shape = mm.shape[:-1]
    mf, tf = mm.reshape(-1, th.shape[-1]), thb.reshape(-1, th.shape[-1])
    out = np.empty(mf.shape[0])
    step = 1 << 14
    for s in range(0, mf.shape[0], step):
        out[s : s + step] = np.cos(mf[s : s + step] * tf[s : s + step]).sum(-1)
    out = out.reshape(shape)
    if as_torch:
        return torch.from_numpy(out).to(device)
    return out[()] if out.ndim == 0 else out


def _direct(m: np.ndarray, d: int, base: float) -> np.ndarray:
    """The reference sum of :func:`cos_sum` for integer ``m`` and one base, unchecked."""
    i = np.arange(d // 2, dtype=np.float64)
    th = np.float64(base) ** (-2 * i / d)
    return np.cos(np.asarray(m, dtype=np.float64)[:, None] * th).sum(-1)
