"""The article's base search, and the certified infimum beyond it.

Chapter *The RoPE base lower bound* (kexue.fm/archives/10122): sections "Reproducing the
article's table" (the nested grid search of the article, transcribed) and "The exact bound"
(a continuous search that refutes every smaller base with a Taylor/Lipschitz bound).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lib import checks
from lib.transformers.rope import _EPS, _check_d, _check_length, _direct
from lib.transformers.rope_feasibility import _Oracle, is_feasible

__all__ = [
    "su_grid_search",
    "nested_grid",
    "base_lower_bound",
    "certified_base_infimum",
]


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
    return nested_grid(_Scanner(L, d).first_feasible, L, stages)


def nested_grid(first_feasible, L: int, stages: int) -> list[float]:
    """The article's nested grid over bases, given a ``first_feasible(grid) -> index | None``
    verdict: start at ``B = 1000 L``; stage k scans ``linspace(0, 1, 10^k + 1)[1:] * B`` and
    moves ``B`` to the first feasible base. Shared by :func:`su_grid_search` (exact float64
    verdicts) and the float32 replays of ``benchmarks/rope_bound.py``."""
    B = 1000 * L
    out = []
    for k in range(1, stages + 1):
        grid = np.linspace(0, 1, 10**k + 1)[1:] * B
        i = first_feasible(grid)
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

    Returns ``{"b_lo", "b_hi", "steps", "scans"}``; ``RuntimeError`` beyond ``max_steps`` strides.
    """
    d = _check_d(d)
    L = _check_length(length)
    if not (isinstance(start, int | float) and math.isfinite(start) and start >= 1):
        raise ValueError(f"start must be a finite number >= 1, got {start!r}")
    if not (0 < rel_gap < 1e-3):
        raise ValueError(f"rel_gap must be in (0, 1e-3), got {rel_gap!r}")
    max_steps = checks.integer(max_steps, "max_steps", minimum=0)
    oracle = _Oracle(L, d)
    tol = 4 * d * (L + 8) * _EPS + 1e-10
    u = math.log(start)
    tiny = 0.1 * rel_gap  # steps in u below this are "no progress"
    m, t_scan, steps, scans = -1, 0.0, 0, 0
    while True:
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
        if steps >= max_steps:  # one more stride is needed
            raise RuntimeError(f"max_steps={max_steps} reached at b = {math.exp(u)!r}")
        u_next = u + t
        if u_next - u > t:  # never round past the certified interval
            u_next = math.nextafter(u_next, -math.inf)
        u = u_next
        steps += 1
