"""Which classes can be the argmax of W h + b: margins by linear programming.

Chapter *Unargmaxable words* (kexue.fm/archives/9046).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "argmax_margins",
    "argmaxable",
    "min_norm_in_hull",
]


# ---------------------------------------------------------------------------------------
# Argmaxable classes (chapter 9046)
# ---------------------------------------------------------------------------------------
def _as_float64(x, name: str) -> Tensor:
    t = torch.as_tensor(x)
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{name} must be a real tensor, got dtype {t.dtype}")
    t = t.detach().to("cpu", torch.float64)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return t


def _check_classes(W, bias) -> tuple[Tensor, Tensor]:
    W64 = _as_float64(W, "W")
    if W64.dim() < 2 or W64.shape[-2] == 0 or W64.shape[-1] == 0:
        raise ValueError(f"W must have shape (..., n, d) with n, d >= 1, got {tuple(W64.shape)}")
    if bias is None:
        b64 = torch.zeros(W64.shape[:-1], dtype=torch.float64)
    else:
        b64 = _as_float64(bias, "bias")
        if b64.shape != W64.shape[:-1]:
            raise ValueError(
                f"bias must have shape {tuple(W64.shape[:-1])} (W's shape without d), "
                f"got {tuple(b64.shape)}"
            )
    return W64, b64


def _margins_lp(W: Tensor, b: Tensor, ks: list[int]) -> Tensor:
    """Exact LP margins of the classes ``ks`` of one matrix ``W`` (n, d) with biases ``b``.

    Two devices keep this fast and exact. (1) The per-class LPs (see :func:`argmax_margins`)
    share no variables, so they are stacked block-diagonally into one sparse LP maximising the
    sum of margins: a sum of independent maxima is maximised exactly when every block is at
    its own optimum. (2) Constraint generation: each block starts with a few competitors;
    dropping constraints can only raise the optimum, so a block whose solution satisfies
    *all* ``n - 1`` constraints is optimal for the full LP; otherwise its most violated
    competitors are added and the LP is solved again.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n, d = W.shape
    out = torch.ones(len(ks), dtype=torch.float64)  # n == 1: a lone class wins (margin 1)
    if n == 1 or not ks:
        return out
    Wn, bn = W.numpy(), b.numpy()
    nv = d + 2  # variables per block: z (d), u, t
    # Start from the competitors scoring highest at z = w_k, the natural probe.
    start = min(n - 1, 2 * d + 2)
    scores = Wn[ks] @ Wn.T + bn
    scores[np.arange(len(ks)), ks] = -np.inf
    active = [set(np.argsort(-scores[j])[:start].tolist()) for j in range(len(ks))]
    pending = list(range(len(ks)))
    for _ in range(n):  # each round adds >= 1 constraint to every unfinished block
        rows, cols, vals = [], [], []
        r0 = 0
        for blk, j in enumerate(pending):
            k, comp = ks[j], np.fromiter(active[j], dtype=np.int64)
            m = len(comp)
            c0 = blk * nv
            rr = r0 + np.arange(m)
            rows += [np.repeat(rr, d), rr, rr, [r0 + m, r0 + m]]
            cols += [np.tile(c0 + np.arange(d), m), np.full(m, c0 + d), np.full(m, c0 + d + 1),
                     [c0 + d, c0 + d + 1]]
            vals += [-(Wn[k] - Wn[comp]).ravel(), -(bn[k] - bn[comp]), np.ones(m), [-1.0, 1.0]]
            r0 += m + 1
        K = len(pending)
        A_ub = coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(r0, K * nv),
        ).tocsr()
        cost = np.zeros(K * nv)
        cost[np.arange(K) * nv + d + 1] = -1.0
        res = linprog(
            cost,
            A_ub=A_ub,
            b_ub=np.zeros(r0),
            bounds=np.tile(np.array([(-1.0, 1.0)] * d + [(0.0, 1.0), (-np.inf, 1.0)]), (K, 1)),
            method="highs",
        )
        if res.status != 0:  # pragma: no cover - always feasible (t = 0) and bounded (t <= 1)
            raise RuntimeError(f"linprog failed: {res.message}")
        x = res.x.reshape(K, nv)
        still = []
        for blk, j in enumerate(pending):
            k = ks[j]
            z, u, t = x[blk, :d], x[blk, d], x[blk, d + 1]
            margin = (Wn[k] - Wn) @ z + (bn[k] - bn) * u
            margin[k] = np.inf
            violated = np.nonzero(margin < t - 1e-9)[0]
            if violated.size == 0:
                out[j] = float(t)
            else:
                worst = violated[np.argsort(margin[violated])[: max(4, d + 1)]]
                active[j].update(worst.tolist())
                still.append(j)
        pending = still
        if not pending:
            return out
    raise RuntimeError("constraint generation did not converge")  # pragma: no cover


def argmax_margins(W, bias=None) -> Tensor:
    r"""Exact LP margin of every class: positive iff the class can be the strict argmax.

    Chapter *Unargmaxable words* (9046), eq. (eq-unargmaxable-words-lp). Class :math:`k` is
    argmaxable iff some :math:`z` gives :math:`(w_k-w_i)\cdot z + (b_k-b_i) > 0` for all
    :math:`i\ne k`. Homogenising with :math:`u>0` (divide :math:`z` by :math:`u`), this holds
    iff the linear programme

    .. math:: t^\star = \max t\ \ \text{s.t.}\ (w_k-w_i)\cdot z + (b_k-b_i)\,u \ge t\ (i\ne k),
              \ u \ge t,\ |z_j|\le 1,\ u\le 1

    has :math:`t^\star > 0`; no bound on :math:`\|z\|` is assumed, and a class that cannot win
    has :math:`t^\star = 0` exactly (``z = 0, u = 0`` is optimal). ``W`` and ``bias`` are
    divided by their largest absolute entry first, so :math:`t^\star` is scale-free. Solved
    with SciPy's HiGHS, all classes of one matrix in a single block-diagonal sparse LP.

    ``W``: (..., n, d); ``bias``: (..., n) or ``None``. Returns float64 margins (..., n) on the
    CPU. A single class (``n == 1``) is trivially argmaxable (margin 1).
    """
    W64, b64 = _check_classes(W, bias)
    scale = max(float(W64.abs().max()), float(b64.abs().max()) if b64.numel() else 0.0)
    if scale > 0:
        W64, b64 = W64 / scale, b64 / scale
    n = W64.shape[-2]
    Wf = W64.reshape(-1, *W64.shape[-2:])
    bf = b64.reshape(-1, n)
    out = torch.stack([_margins_lp(Wf[j], bf[j], list(range(n))) for j in range(Wf.shape[0])])
    return out.reshape(b64.shape)


def argmaxable(W, bias=None, *, tol: float = 1e-7, n_probe: int = 256, seed: int = 0) -> Tensor:
    r"""Which classes can be the **strict** argmax of :math:`Wz + b` for some input :math:`z`.

    Chapter *Unargmaxable words* (9046), definition (eq-unargmaxable-words-def) decided
    exactly by the LP of :func:`argmax_margins`: margin ``> tol``. The default ``tol = 1e-7``
    sits above HiGHS's solution accuracy (margins agree to ~3e-8 across formulations) and far
    below the margins of random class vectors (1e-4 or more). To save work, a class is
    first certified argmaxable if it already wins with a margin ``> tol`` (in the LP's
    normalisation, so the certificate is a feasible point of the LP) at a probe input:
    :math:`z = w_k` (which settles every class when all norms are equal and there is no bias),
    :math:`z = 0` (the largest bias) or one of ``n_probe`` seeded random Gaussian directions.
    Only the remaining classes get an LP, so the answer does not depend on the probes.

    ``W``: (..., n, d); ``bias``: (..., n) or ``None``. Returns a bool tensor (..., n) on the
    CPU. Ties never count: with no bias every class ties at :math:`z = 0`.
    """
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if isinstance(n_probe, bool) or not isinstance(n_probe, int) or n_probe < 0:
        raise ValueError(f"n_probe must be a non-negative integer, got {n_probe!r}")
    W64, b64 = _check_classes(W, bias)
    scale = max(float(W64.abs().max()), float(b64.abs().max()) if b64.numel() else 0.0)
    if scale > 0:
        W64, b64 = W64 / scale, b64 / scale
    n, d = W64.shape[-2:]
    Wf = W64.reshape(-1, n, d)
    bf = b64.reshape(-1, n)
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros(bf.shape, dtype=torch.bool)
    for j in range(Wf.shape[0]):
        Wj, bj = Wf[j], bf[j]
        if n == 1:
            out[j] = True
            continue
        # Probe inputs (z, u): z = w_k for every k, and random directions; u = 1 (bias on).
        rand = torch.randn(n_probe, d, generator=gen, dtype=torch.float64)
        probes = torch.cat([Wj, rand])
        probes = probes / probes.abs().amax(dim=1, keepdim=True).clamp_min(1e-300)
        probes = torch.cat([probes, torch.zeros(1, d, dtype=torch.float64)])
        scores = probes @ Wj.T + bj  # (P, n)
        top2 = scores.topk(2, dim=1)
        win_margin = torch.minimum(top2.values[:, 0] - top2.values[:, 1], torch.ones(()))
        certified = torch.zeros(n, dtype=torch.bool)
        ok = win_margin > tol
        certified[top2.indices[ok, 0]] = True
        rest = torch.nonzero(~certified).flatten()
        certified[rest] = _margins_lp(Wj, bj, rest.tolist()) > tol
        out[j] = certified
    return out.reshape(b64.shape)


def min_norm_in_hull(points, *, iters: int = 10_000, tol: float = 1e-14):
    r"""Minimum-norm point of the convex hull of the rows of ``points``, by Frank–Wolfe.

    Chapter *Unargmaxable words* (9046), eq. (eq-unargmaxable-words-minnorm): the article's
    test computes :math:`\min_{\alpha\in\Delta}\|\sum_i\alpha_i\,\Delta w_i\|` with
    :math:`\Delta w_i = w_k - w_i`; it is 0 iff class :math:`k` (no bias) is not argmaxable.
    Minimises :math:`\tfrac12\|x\|^2` over the hull with the *pairwise* Frank–Wolfe method:
    each step moves weight from the active point with the largest :math:`\langle D_i,x\rangle`
    to the point with the smallest, with exact line search. Plain Frank–Wolfe zigzags and
    converges only sublinearly when the answer lies on a face; the pairwise variant converges
    linearly on polytopes. Stops when the Frank–Wolfe duality gap
    :math:`\langle x, x - D_v\rangle` (at least :math:`\tfrac12(\|x\|^2-\|x^\star\|^2)`) is
    ``<= tol`` or after ``iters`` steps.

    ``points``: (m, d). Returns ``(norm, alpha, gap)``: float, float64 tensor (m,) of simplex
    weights, and the final duality gap. A norm of ``1e-7`` means "0 up to the solver", not a
    verdict — :func:`argmaxable` decides exactly.
    """
    D = _as_float64(points, "points")
    if D.dim() != 2 or D.shape[0] == 0 or D.shape[1] == 0:
        raise ValueError(f"points must have shape (m, d) with m, d >= 1, got {tuple(D.shape)}")
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")

    Dn = D.numpy()
    m = Dn.shape[0]
    i0 = int(np.linalg.norm(Dn, axis=1).argmin())
    alpha = np.zeros(m)
    alpha[i0] = 1.0
    x = Dn[i0].copy()
    gap = math.inf
    for _ in range(iters):
        g = Dn @ x
        v = int(g.argmin())
        gap = float(x @ x - g[v])
        if gap <= tol:
            break
        a = int(np.where(alpha > 0, g, -np.inf).argmax())
        step = Dn[v] - Dn[a]
        ss = float(step @ step)
        if ss == 0.0:
            break
        a_weight = alpha[a]
        gamma = min(max(float(g[a] - g[v]) / ss, 0.0), a_weight)
        alpha[v] += gamma
        if gamma >= a_weight:  # a "drop step": a leaves the active set exactly
            alpha[a] = 0.0
            x = alpha @ Dn  # recompute from the weights to keep rounding drift out
        else:
            alpha[a] -= gamma
            x = x + gamma * step
    return float(np.linalg.norm(x)), torch.from_numpy(alpha), gap
