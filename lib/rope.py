r"""Rotary position embedding (RoPE) and the lower bound on its base.

Chapter *The RoPE base lower bound* (``chapters/transformers/rope-base-bound.md``), after
Su Jianlin, kexue.fm/archives/10122, and Men et al. (2024), *Base of RoPE Bounds Context
Length* (arXiv:2405.14591).

Conventions (the chapter's): a head of even size ``d`` is split into the *interleaved* pairs
``(x[2i], x[2i+1])``, ``i = 0 .. d/2-1``; pair ``i`` at position ``n`` is rotated by the angle
``n * theta_i`` with ``theta_i = base**(-2i/d)``. The quantity behind the bound is

.. math:: f_b(m) = \sum_{i=0}^{d/2-1} \cos\big(m\, b^{-2i/d}\big),

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
import operator

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "thetas",
    "rope_matrix",
    "apply_rope",
    "cos_sum",
    "first_negative",
    "is_feasible",
    "cos_sum_min",
    "feasibility_profile",
    "su_grid_search",
    "base_lower_bound",
    "certified_base_infimum",
    "ci_first_zero",
    "cos_sum_limit",
    "asymptotic_base_bound",
    "infinite_d_base_bound",
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
    if isinstance(length, bool):
        raise ValueError(f"{name} must be an integer >= 1, got {length!r}")
    try:
        n = operator.index(length)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= 1, got {length!r}") from None
    if n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n}")
    return n


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
    r = _check_d(rotary_dims) if not isinstance(rotary_dims, bool) else -1
    if r <= 0 or r > d:
        raise ValueError(f"rotary_dims must be an even integer in [2, d={d}], got {rotary_dims!r}")
    return r


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
    _check_d(d)
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


# ---------------------------------------------------------------------------------------
# the article's search (section "Reproducing the article's table")
# ---------------------------------------------------------------------------------------
class _Scanner:
    """Finds the first feasible base of an ascending list, refuting the others cheaply.

    A base is refuted by a *witness* ``m`` with ``f_b(m) < 0``. Witnesses are remembered
    with the base they refuted; a new base is tried first against the witnesses of the
    nearest remembered bases (``f_b(m)`` is continuous in ``b``, so a nearby base usually
    fails at the same ``m``), then against the most recently useful ones, and only then
    by a blocked scan (``_Oracle.refute``), which also certifies the first feasible base.
    """

    def __init__(self, length: int, d: int):
        self.oracle = _Oracle(length, d)
        self.d = d
        self.mem_b = np.zeros(0)
        self.mem_m = np.zeros(0, dtype=np.int64)
        self.n_scans = 0

    def _neg(self, ms: np.ndarray, bs: np.ndarray) -> np.ndarray:
        """Reference-signed test ``f_{bs}(ms) < 0`` for paired arrays."""
        c = torch.from_numpy(2 * np.arange(self.d // 2, dtype=np.float64) / self.d)
        th = torch.exp(-torch.from_numpy(np.log(bs))[:, None] * c[None, :])
        v = torch.cos(torch.from_numpy(ms.astype(np.float64))[:, None] * th).sum(-1).numpy()
        # exp(-c log b) differs from b**(-c) by a few ulp: allow 64 eps of phase per term
        tol = self.d * (ms.astype(np.float64) * 64 + 8) * _EPS + 1e-10
        neg = v < -tol
        amb = np.abs(v) <= tol
        if amb.any():
            neg[amb] = np.array(
                [_direct(np.array([m]), self.d, b)[0] < 0 for m, b in zip(ms[amb], bs[amb], strict=True)]
            )
        return neg

    def _kill(self, bs, alive, idx, ms, rec_b, rec_m) -> np.ndarray:
        """Mark ``bs[idx]`` dead where ``f(ms) < 0``; remember the refutations."""
        neg = self._neg(ms, bs[idx])
        dead = idx[neg]
        alive[dead] = False
        rec_b.extend(bs[dead])
        rec_m.extend(ms[neg])
        return dead

    def first_feasible(self, grid: np.ndarray, batch: int = 256, n_recent: int = 16) -> int | None:
        rec_b: list[float] = []
        rec_m: list[int] = []
        recent: dict[int, int] = {}  # witness -> index of the last base it refuted
        for pos in range(0, len(grid), batch):
            bs = grid[pos : pos + batch]
            alive = np.ones(len(bs), dtype=bool)
            hints = np.full(len(bs), -1, dtype=np.int64)
            if self.mem_b.size:  # witnesses of the nearest bases of earlier stages
                k = np.searchsorted(self.mem_b, bs)
                for nb in (np.clip(k - 1, 0, None), np.clip(k, None, self.mem_b.size - 1)):
                    idx = np.nonzero(alive)[0]
                    if idx.size == 0:
                        break
                    hints[idx] = self.mem_m[nb[idx]]
                    self._kill(bs, alive, idx, self.mem_m[nb[idx]], rec_b, rec_m)
            for w in sorted(recent, key=recent.get, reverse=True)[:n_recent]:
                idx = np.nonzero(alive)[0]
                if idx.size == 0:
                    break
                ms = np.full(idx.size, w, dtype=np.int64)
                dead = self._kill(bs, alive, idx, ms, rec_b, rec_m)
                if dead.size:
                    recent[w] = pos + int(dead[-1])
            for i in np.nonzero(alive)[0]:
                if not alive[i]:
                    continue
                self.n_scans += 1
                hint = int(hints[i]) if hints[i] >= 0 else None
                m = self.oracle.refute(float(bs[i]), hint)
                if m is None:  # every m < L checked: the first feasible grid point
                    self._remember(rec_b, rec_m)
                    return pos + int(i)
                alive[i] = False
                rec_b.append(bs[i])
                rec_m.append(m)
                recent[m] = pos + int(i)
                rest = np.nonzero(alive)[0]
                rest = rest[rest > i]
                if rest.size:
                    ms = np.full(rest.size, m, dtype=np.int64)
                    dead = self._kill(bs, alive, rest, ms, rec_b, rec_m)
                    if dead.size:
                        recent[m] = pos + int(dead[-1])
        self._remember(rec_b, rec_m)
        return None

    def _remember(self, rec_b, rec_m) -> None:
        b = np.concatenate((self.mem_b, np.asarray(rec_b, dtype=np.float64)))
        m = np.concatenate((self.mem_m, np.asarray(rec_m, dtype=np.int64)))
        order = np.argsort(b, kind="stable")
        self.mem_b, self.mem_m = b[order], m[order]


def su_grid_search(length: int, d: int = 128, *, stages: int = 5) -> list[float]:
    r"""The article's nested-grid search; returns the base after each stage.

    Chapter *The RoPE base lower bound*, section "Reproducing the article's table". The
    procedure, exactly as in the article's code (with float64 feasibility):

    1. ``B = 1000 * length`` (feasible for every length up to 1M);
    2. for ``k = 1, ..., stages``: form the grid ``np.linspace(0, 1, 10**k + 1)[1:] * B``
       (the ``10**k`` points ``j * B / 10**k``, ``j = 1 .. 10**k``), scan it in ascending
       order and set ``B`` to the **first** grid point that is feasible
       (:func:`is_feasible`); the last grid point is ``B`` itself, so one exists whenever
       the start is feasible (if none is, ``B`` is left unchanged, as in the article's code).

    The result depends on the grids: a feasible island narrower than a stage's spacing can
    be stepped over (see :func:`certified_base_infimum`). The scan is exact (every grid
    point below the answer is refuted by an explicit witness ``m`` with ``f_b(m) < 0``);
    it is fast because refutations are reused between neighbouring bases.
    """
    d = _check_d(d)
    L = _check_length(length)
    if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
        raise ValueError(f"stages must be an integer >= 1, got {stages!r}")
    scanner = _Scanner(L, d)
    B = 1000 * L
    out = []
    for k in range(1, stages + 1):
        grid = np.linspace(0, 1, 10**k + 1)[1:] * B
        i = scanner.first_feasible(grid)
        B = grid[i] if i is not None else B
        out.append(float(B))
    return out


def base_lower_bound(length: int, d: int = 128) -> float:
    r"""The article's lower bound on the RoPE base for training length ``length``.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-bstar) and section
    "Reproducing the article's table". Feasibility (:func:`is_feasible`: :math:`f_b(m) \ge 0` for all
    integers ``0 <= m < length``) is **not monotone** in ``b``, so bisection is wrong; this
    is the article's nested grid (:func:`su_grid_search` with 5 stages):
    ``B = 1000 * length``; for ``k = 1..5``, ``B`` becomes the first feasible point of the
    ascending grid ``np.linspace(0, 1, 10**k + 1)[1:] * B``; return ``B``. The article
    writes "1k" for 1024 (its code calls ``bmin(1024 * 128)`` for 128k). Rounded to two
    significant digits this reproduces the article's row for 1k ... 256k and 1M; at 512k the
    float64 search steps over the narrow island the article reports (see
    ``data/rope_base_bounds.json`` and :func:`certified_base_infimum`). Raises ``ValueError``
    if the start ``1000 * length`` is infeasible (never for ``d = 128``, ``length <= 2**20``).
    """
    b = su_grid_search(length, d, stages=5)[-1]
    if not is_feasible(b, length, d):
        raise ValueError(
            f"the article's search needs 1000 * length feasible; it is not for length={length}, "
            f"d={d}"
        )
    return b


# ---------------------------------------------------------------------------------------
# beyond the article: the continuous infimum, certified (section "The exact bound")
# ---------------------------------------------------------------------------------------
def _witness_steps(oracle: _Oracle, u: float, tol: float):
    r"""A witness ``m`` refuting a whole interval of bases ``[e^u, e^{u+t})``, and ``t``.

    With :math:`\varphi_i = m e^{-c_i u}`, :math:`c_i = 2i/d`:
    :math:`g = \sum\cos\varphi_i`, :math:`g' = \sum c_i\varphi_i\sin\varphi_i` and
    :math:`|g''| \le M_2 = \sum c_i^2(\varphi_i^2 + \varphi_i)` for every larger ``u``
    (each :math:`\varphi_i` decreases in ``u``). So
    :math:`g(u+s) \le (g + tol) + g's + M_2 s^2/2 < 0` for ``0 <= s < t`` with ``t`` the
    positive root of the right-hand side, whenever ``g + tol < 0``. All ``m < L`` are
    evaluated by the blocked product of ``_Oracle`` (``g`` and ``g'/m`` are both
    ``(A, d) @ (d, C)`` products); returns the ``m`` with the largest ``t`` (greedy: the
    longest certified stride), or ``(-1, 0.0)`` if no ``m`` is negative by more than tol.
    """
    d = oracle.d
    c = torch.from_numpy(2 * np.arange(d // 2, dtype=np.float64) / d)
    th = torch.exp(-c * u)
    T = oracle.table(th)
    w = c * th
    P, Q = float((c * c * th * th).sum()), float((c * c * th).sum())
    best_t, best_m = 0.0, -1
    for s0 in range(0, oracle.A, 64):
        s1 = min(oracle.A, s0 + 64)
        ph = oracle.aC[s0:s1, None] * th[None, :]
        cs, sn = torch.cos(ph), torch.sin(ph)
        g = torch.cat((cs, -sn), 1) @ T
        if s1 == oracle.A:
            g[-1] += oracle.pad
        neg = g + tol < 0
        if not neg.any():
            continue
        g1 = torch.cat((sn * w, cs * w), 1) @ T  # sum_i c_i theta_i sin(m theta_i)
        m = oracle.aC[s0:s1, None] + oracle.j[None, :]
        g1 = g1 * m
        M2 = m * m * P + m * Q
        a = torch.clamp(-(g + tol), min=0.0)  # > 0 where neg
        root = torch.sqrt(g1 * g1 + 2 * M2 * a)
        # the positive root of M2 t^2/2 + g1 t - a, in the form free of cancellation
        t = torch.where(g1 >= 0, 2 * a / (g1 + root), (root - g1) / M2)
        t = torch.where(neg, t, torch.zeros_like(t))
        v, k = torch.max(t.reshape(-1), 0)
        if float(v) > best_t:
            best_t, best_m = float(v), s0 * oracle.C + int(k)
    return best_m, best_t * (1 - 1e-9)


def _one_step(d: int, m: int, u: float, tol: float) -> float:
    """The certified step of :func:`_witness_steps` for one witness ``m`` (0 if none)."""
    c = 2 * np.arange(d // 2, dtype=np.float64) / d
    phi = m * np.exp(-c * u)
    g = np.cos(phi).sum()
    if g + tol >= 0:
        return 0.0
    g1 = (c * phi * np.sin(phi)).sum()
    M2 = (c * c * (phi * phi + phi)).sum()
    a = -(g + tol)
    root = math.sqrt(g1 * g1 + 2 * M2 * a)
    return (2 * a / (g1 + root) if g1 >= 0 else (root - g1) / M2) * (1 - 1e-9)


def certified_base_infimum(
    length: int, d: int = 128, *, start: float = 1.0, rel_gap: float = 1e-12, max_steps: int = 10**7
) -> dict:
    r"""The exact smallest feasible base :math:`\min\{b \ge start: f_b(m)\ge 0\ \forall m<L\}`.

    Chapter *The RoPE base lower bound*, section "The exact bound" (beyond the article).
    Walks up ``u = ln b`` from ``ln(start)``, covering it with intervals on each of which a
    single witness ``m`` keeps :math:`f_b(m) < 0` (second-order Taylor bound, see
    ``_witness_steps``; the values carry a rounding allowance ``tol = 4 d (L + 8) eps +
    1e-10``). It stops at the first ``u`` where no witness refutes ``e^u``: then every base
    in ``[start, b_lo)`` is infeasible and ``b_hi`` (a hair above ``b_lo``) is
    feasible (checked with :func:`is_feasible`; ``b_hi`` is tried at ``b_lo (1 + k rel_gap)``,
    ``k = 1, 10, 100, 1000``), so the infimum lies in ``[b_lo, b_hi]``.
    Unlike a grid search the answer cannot step over a narrow feasible island.

    Returns ``{"b_lo", "b_hi", "steps", "scans"}``.
    """
    d = _check_d(d)
    L = _check_length(length)
    if not (isinstance(start, int | float) and math.isfinite(start) and start >= 1):
        raise ValueError(f"start must be a finite number >= 1, got {start!r}")
    if not (0 < rel_gap < 1e-3):
        raise ValueError(f"rel_gap must be in (0, 1e-3), got {rel_gap!r}")
    oracle = _Oracle(L, d)
    tol = 4 * d * (L + 8) * _EPS + 1e-10
    u = math.log(start)
    tiny = 0.1 * rel_gap  # steps in u below this are "no progress"
    m, t_scan, steps, scans = -1, 0.0, 0, 0
    while steps < max_steps:
        t = _one_step(d, m, u, tol) if m >= 0 else 0.0
        if t < max(tiny, 0.25 * t_scan):  # the witness is nearly spent: find the best one
            scans += 1
            m, t = _witness_steps(oracle, u, tol)
            t_scan = t
        if t < tiny:
            b = math.exp(u)
            if t <= 0 and is_feasible(b, L, d):
                return {"b_lo": b, "b_hi": b, "steps": steps, "scans": scans}
            # the remaining negatives are all within tol of zero, about to cross it
            for k in (1, 10, 100, 1000):
                b_hi = b * (1 + k * rel_gap)
                if is_feasible(b_hi, L, d):
                    return {"b_lo": b, "b_hi": b_hi, "steps": steps, "scans": scans}
            raise RuntimeError(f"stalled at b = {b!r}: no certified step, not feasible")
        u_next = u + t
        if u_next - u > t:  # never round past the certified interval
            u_next = math.nextafter(u_next, -math.inf)
        u = u_next
        steps += 1
    raise RuntimeError(f"max_steps={max_steps} reached at b = {math.exp(u)!r}")


# ---------------------------------------------------------------------------------------
# d -> infinity: the cosine integral (section "The d -> infinity limit and the cosine integral")
# ---------------------------------------------------------------------------------------
def ci_first_zero() -> float:
    r"""The first positive zero :math:`x_0 = 0.61650548\ldots` of the cosine integral Ci.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-asym): Ci increases on
    :math:`(0, \pi/2)` from :math:`-\infty` to its maximum, so the zero is unique there;
    found by Brent's method to ``xtol = 1e-15``.
    """
    from scipy.optimize import brentq
    from scipy.special import sici

    return float(brentq(lambda x: sici(x)[1], 0.5, 0.7, xtol=1e-15, rtol=4 * _EPS))


def cos_sum_limit(m, base):
    r"""The ``d -> infinity`` limit of :math:`(2/d) f_b(m)`: :math:`[\mathrm{Ci}(m) - \mathrm{Ci}(m/b)]/\ln b`.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-ci): the Riemann sum
    :math:`(2/d)\sum_i \cos(m b^{-2i/d}) \to \int_0^1 \cos(m b^{-s})\,ds`, then
    :math:`t = m b^{-s}`. Broadcasts ``m`` (>= 0) and ``base`` (> 1); the value at ``m = 0``
    is 1.
    """
    from scipy.special import sici

    mm = np.asarray(m, dtype=np.float64)
    if not np.all(np.isfinite(mm)) or np.any(mm < 0):
        raise ValueError("m must be finite and >= 0")
    b = _check_base(base)
    mm, b = np.broadcast_arrays(mm, b)
    pos = mm > 0
    safe = np.where(pos, mm, 1.0)
    out = (sici(safe)[1] - sici(safe / b)[1]) / np.log(b)
    out = np.where(pos, out, 1.0)
    return out[()] if out.ndim == 0 else out


def asymptotic_base_bound(length) -> float:
    r"""The article's ``d -> infinity`` estimate :math:`b \gtrsim L / x_0 \approx 1.62\,L`.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-asym): dropping the small
    term :math:`\mathrm{Ci}(m)` from eq. (eq-rope-base-bound-ci), the condition
    :math:`\mathrm{Ci}(m/b) \le 0` for ``m <= L`` means :math:`L/b \le x_0`
    (:func:`ci_first_zero`). The article rounds this to "about 2L".
    """
    L = _check_length(length)
    return L / ci_first_zero()


def infinite_d_base_bound(length) -> float:
    r"""The exact ``d -> infinity`` bound: smallest ``b`` with the limit condition for all ``b' >= b``.

    Chapter *The RoPE base lower bound*, eq. (eq-rope-base-bound-binf). The limit condition is
    :math:`\mathrm{Ci}(m/b) \le \mathrm{Ci}(m)` for the integers ``1 <= m < length``
    (nothing dropped). For integer ``m >= 1``, :math:`-0.2 < \mathrm{Ci}(m) < \mathrm{Ci}(\pi/2)`,
    so it has a unique solution :math:`x_m \in (0.3, \pi/2]` of
    :math:`\mathrm{Ci}(x_m) = \mathrm{Ci}(m)` on the increasing branch, and for ``m/b`` on
    that branch the condition reads ``m/b <= x_m``. Hence the bound is
    :math:`\max_{m<L} m/x_m`. The ``x_m`` come from Newton's method started at 0.3 (Ci is
    concave there, so the iterates increase monotonically to the root), vectorised over m.
    """
    from scipy.special import sici

    L = _check_length(length)
    if L < 2:
        return 1.0
    m = np.arange(1, L, dtype=np.float64)
    target = sici(m)[1]
    x = np.full_like(m, 0.3)
    for _ in range(30):
        step = (sici(x)[1] - target) * x / np.cos(x)
        x = np.minimum(x - step, np.pi / 2)
        if np.max(np.abs(step)) < 1e-13:  # quadratic convergence: one more step is exact
            step = (sici(x)[1] - target) * x / np.cos(x)
            x = np.minimum(x - step, np.pi / 2)
            break
    return float(np.max(m / x))
