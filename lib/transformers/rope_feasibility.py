"""Deciding whether a RoPE base is feasible: all f_b(m), 0 <= m < L, fast and exactly.

Chapter *The RoPE base lower bound*, section "Deciding feasibility fast, and exactly"
(kexue.fm/archives/10122). A blocked evaluator (angle addition turns the L values into one
matrix product) with a rounding bound; values inside the bound are re-decided by the direct
float64 sum :func:`lib.transformers.rope.cos_sum`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lib.transformers.rope import (
    _EPS,
    _check_base,
    _check_d,
    _check_length,
    _check_scalar_base,
    _direct,
)

__all__ = [
    "first_negative",
    "is_feasible",
    "cos_sum_min",
    "feasibility_profile",
]


# ---------------------------------------------------------------------------------------
# feasibility: a blocked evaluator (section "Deciding feasibility fast, and exactly")
# ---------------------------------------------------------------------------------------
class _Oracle:
    r"""All values :math:`f_b(m)`, ``0 <= m < L``, by one matrix product.

    Write ``m = a*C + j`` with ``0 <= j < C``. The angle-addition formula gives
    :math:`f_b(aC+j) = \sum_i [\cos(aC\theta_i)\cos(j\theta_i) - \sin(aC\theta_i)\sin(j\theta_i)]`,
    i.e. ``F = [cos(aC th), -sin(aC th)] @ [cos(j th); sin(j th)]``: ``(A + C) * d``
    trigonometric evaluations and one ``(A, d) @ (d, C)`` product instead of ``L * d/2``
    cosines. Its value differs from the direct sum :func:`cos_sum` by at most
    ``tol = d * (L + 8) * eps + 1e-10`` (phase rounding ``|m theta| eps`` per term in each
    method, plus the product's accumulation); a value below ``tol`` is re-evaluated by
    :func:`cos_sum`, so every sign this class reports is the reference sign.
    """

    def __init__(self, length: int, d: int):
        self.L, self.d = length, d
        c = 1 << max(4, min(10, (max(length, 2) - 1).bit_length() // 2))
        self.C = min(c, 1 << (max(length, 2) - 1).bit_length())
        self.A = -(-length // self.C)
        self.j = torch.arange(self.C, dtype=torch.float64)
        self.aC = torch.arange(self.A, dtype=torch.float64) * self.C
        self.tol = d * (length + 8) * _EPS + 1e-10
        last = self.L - (self.A - 1) * self.C  # valid entries of the last row
        self.pad = torch.zeros(self.C, dtype=torch.float64)
        self.pad[last:] = math.inf

    def theta(self, base: float) -> Tensor:
        # unchecked: the article's grids start at B / 10**k, which can be below 1
        i = np.arange(self.d // 2, dtype=np.float64)
        return torch.from_numpy(np.float64(base) ** (-2 * i / self.d))

    def table(self, th: Tensor) -> Tensor:
        ph = th[:, None] * self.j[None, :]
        return torch.cat((torch.cos(ph), torch.sin(ph)), 0)

    def rows(self, th: Tensor, T: Tensor, a0: int, a1: int) -> Tensor:
        ph = self.aC[a0:a1, None] * th[None, :]
        F = torch.cat((torch.cos(ph), -torch.sin(ph)), 1) @ T
        if a1 == self.A:
            F[-1] += self.pad
        return F

    def confirm(self, base: float, F: Tensor, a0: int, ascending: bool = True):
        """A reference-negative ``m`` among the suspicious entries of ``F``, or None."""
        sus = torch.nonzero(F < self.tol)
        if sus.numel() == 0:
            return None
        ms = (sus[:, 0] + a0) * self.C + sus[:, 1]
        vals = F[sus[:, 0], sus[:, 1]]
        sure = vals < -self.tol
        if ascending:
            order = torch.argsort(ms)
        else:  # deepest first: the most robust witness
            order = torch.argsort(vals)
        ms, sure = ms[order].numpy(), sure[order].numpy()
        # entries within tol of zero are decided by the direct sum, in order
        for s in range(0, len(ms), 256):
            chunk_m, chunk_sure = ms[s : s + 256], sure[s : s + 256]
            neg = chunk_sure.copy()
            amb = ~chunk_sure
            if amb.any():
                neg[amb] = _direct(chunk_m[amb], self.d, base) < 0
            hit = np.nonzero(neg)[0]
            if hit.size:
                return int(chunk_m[hit[0]])
        return None

    def first_negative(self, base: float) -> int:
        th = self.theta(base)
        T = self.table(th)
        a0, step = 0, 1
        while a0 < self.A:
            a1 = min(self.A, a0 + step)
            r = self.confirm(base, self.rows(th, T, a0, a1), a0)
            if r is not None:
                return r
            a0, step = a1, min(2 * step, 64)
        return self.L

    def minimum(self, base: float) -> tuple[float, int]:
        th = self.theta(base)
        T = self.table(th)
        best, arg = math.inf, -1
        for a0 in range(0, self.A, 64):
            a1 = min(self.A, a0 + 64)
            F = self.rows(th, T, a0, a1)
            v, k = torch.min(F.reshape(-1), 0)
            if float(v) < best:
                best, arg = float(v), a0 * self.C + int(k)
        return float(_direct(np.array([arg]), self.d, base)[0]), arg

    def refute(self, base: float, hint: int | None = None):
        """Some reference-negative ``m`` for ``base`` (a robust one if cheap), or None.

        Order: the row of ``hint`` (where a neighbouring base failed), the first row (small
        ``m``: bases far below the bound fail there, and a small-``m`` witness refutes a
        wide range of bases), then the rows from the top down (bases near the bound fail
        near ``m = L``). Returns None only after every ``m < L`` was checked.
        """
        th = self.theta(base)
        T = self.table(th)
        done = np.zeros(self.A, dtype=bool)
        order: list[tuple[int, int]] = []
        if hint is not None and 0 <= hint < self.L:
            order.append((hint // self.C, hint // self.C + 1))
        order.append((0, 1))
        a1, step = self.A, 2
        while a1 > 0:
            a0 = max(0, a1 - step)
            order.append((a0, a1))
            a1, step = a0, min(2 * step, 64)
        for a0, a1 in order:
            keep = ~done[a0:a1]
            if not keep.any():
                continue
            F = self.rows(th, T, a0, a1)
            F[torch.from_numpy(~keep)] = math.inf
            done[a0:a1] = True
            r = self.confirm(base, F, a0, ascending=False)
            if r is not None:
                return r
        return None


def first_negative(base, length: int, d: int = 128) -> int:
    r"""The smallest ``m`` in ``[0, length)`` with :math:`f_b(m) < 0`, or ``length`` if none.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-condition). Signs are those of
    the direct float64 sum :func:`cos_sum`; the blocked evaluator (``_Oracle``) only skips
    values that are positive by more than its rounding bound. Cost ~ one ``(L/C, d) @ (d,
    C)`` product with ``C ~ sqrt(L)``, stopping at the first block with a negative value.
    """
    d = _check_d(d)
    L = _check_length(length)
    b = _check_scalar_base(base)
    return _Oracle(L, d).first_negative(b)


def is_feasible(base, length: int, d: int = 128) -> bool:
    r"""``True`` iff :math:`f_b(m) \ge 0` for every integer ``0 <= m < length``.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-condition); equal to
    ``first_negative(base, length, d) == length``.
    """
    return first_negative(base, length, d) == _check_length(length)


def cos_sum_min(base, length: int, d: int = 128) -> tuple[float, int]:
    r"""``(min, argmin)`` of :math:`f_b(m)` over ``0 <= m < length``.

    Chapter *The RoPE base lower bound*, section "The admissible bases are not an interval":
    the margin by which a base is feasible. The argmin is that of the blocked evaluator (it may differ
    from the exact argmin only between values within its rounding bound); the minimum is
    the direct float64 sum at that ``m``.
    """
    d = _check_d(d)
    L = _check_length(length)
    return _Oracle(L, d).minimum(_check_scalar_base(base))


def feasibility_profile(bases, length: int, d: int = 128) -> np.ndarray:
    r""":func:`first_negative` for each base of an array (``length`` where feasible).

    Chapter *The RoPE base lower bound*, section "The admissible bases are not an interval".
    Returns an int64 array of the shape of ``bases``.
    """
    d = _check_d(d)
    L = _check_length(length)
    b = _check_base(bases)
    oracle = _Oracle(L, d)
    out = np.array([oracle.first_negative(float(x)) for x in b.reshape(-1)], dtype=np.int64)
    return out.reshape(b.shape)
