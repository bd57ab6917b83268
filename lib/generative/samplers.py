"""Reverse-time samplers: the SDE/ODE family, its integrators, the probability-flow ODE and
its exact likelihood.

Chapters *The reverse-time SDE* (kexue.fm/archives/9209) and *The probability-flow ODE*
(kexue.fm/archives/9228).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lib import checks
from lib.generative.marginals import marginal
from lib.generative.mixture import GaussianMixture
from lib.generative.schedules import _check_t

__all__ = [
    "family_drift",
    "time_grid",
    "integrate_family",
    "reverse_sample",
    "score_evaluations",
    "probability_flow",
    "ode_log_likelihood",
]


# ---------------------------------------------------------------------------------------------
# The sigma_t family of SDEs and the probability-flow ODE (probability-flow-ode)
# ---------------------------------------------------------------------------------------------


def _check_lam(lam) -> float:
    lam = float(lam)
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be finite and >= 0, got {lam}")
    return lam


def _default_weight(lam: float, direction: str) -> float:
    if direction == "reverse":
        return 0.5 * (1.0 + lam * lam)
    if direction == "forward":
        return 0.5 * (1.0 - lam * lam)
    raise ValueError(f"direction must be 'forward' or 'reverse', got {direction!r}")


def _work(x, gmm: GaussianMixture, name: str = "x"):
    """Points as a float64 NumPy (n, d) working copy, and a function restoring the input's
    type, shape and dtype."""
    xw, (squeeze, out_dtype) = gmm._prep(x, name)
    is_torch = isinstance(x, torch.Tensor)
    device = x.device if is_torch else None
    arr = xw.detach().cpu().numpy() if is_torch else xw
    arr = np.array(arr, dtype=np.float64)

    def restore(y: np.ndarray, vector: bool = True):
        if vector and squeeze:
            y = y[..., 0]
        if is_torch:
            return torch.as_tensor(y, dtype=out_dtype, device=device)
        return y.astype(out_dtype, copy=False)

    return arr, restore


def _drift(x: np.ndarray, t: float, gmm: GaussianMixture, sched, weight: float) -> np.ndarray:
    if weight == 0.0:  # the forward SDE itself (lam = 1): no score needed
        return float(sched.f(t)) * x
    pt = marginal(gmm, sched, t)
    return float(sched.f(t)) * x - (weight * float(sched.g2(t))) * pt._score(x)


def family_drift(x, t: float, gmm, sched, lam: float = 0.0, direction: str = "reverse",
                 score_weight: float | None = None):
    """Drift of the sigma_t = lam g_t family: ``f_t x - w g_t^2 grad log p_t(x)``.

    probability-flow-ode, Eqs. ``eq-probability-flow-ode-forward-family`` and
    ``eq-probability-flow-ode-reverse-family``: ``w = (1 - lam^2)/2`` for the forward family,
    ``w = (1 + lam^2)/2`` for the reverse family (integrated with dt < 0); lam = 0 gives the
    probability-flow velocity either way. ``score_weight`` overrides ``w`` (negative controls).
    """
    lam = _check_lam(lam)
    w = _default_weight(lam, direction) if score_weight is None else float(score_weight)
    t = float(_check_t(t))
    xw, restore = _work(x, gmm)
    return restore(_drift(xw, t, gmm, sched, w))


def time_grid(t_from: float, t_to: float, steps: int, kind: str = "quadratic") -> np.ndarray:
    """``steps + 1`` times from ``t_from`` to ``t_to``; ``"quadratic"`` spaces them as
    ``lo + (hi - lo) s^2`` (fine near the smaller end, where the score varies fastest),
    ``"uniform"`` evenly (probability-flow-ode, "convergence order")."""
    t_from, t_to = float(_check_t(t_from, "t_from")), float(_check_t(t_to, "t_to"))
    if t_from == t_to:
        raise ValueError("t_from and t_to must differ")
    if not isinstance(steps, int | np.integer) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    s = np.arange(int(steps) + 1) / int(steps)
    lo, hi = min(t_from, t_to), max(t_from, t_to)
    if kind == "quadratic":
        grid = lo + (hi - lo) * s**2
    elif kind == "uniform":
        grid = lo + (hi - lo) * s
    else:
        raise ValueError(f"kind must be 'quadratic' or 'uniform', got {kind!r}")
    grid[0], grid[-1] = lo, hi
    return grid if t_to > t_from else grid[::-1].copy()


_SCHEMES = ("heun", "euler_maruyama")


def integrate_family(x, t_grid, gmm: GaussianMixture, sched, lam: float,
                     rng: np.random.Generator | None = None, scheme: str = "euler_maruyama",
                     score_weight: float | None = None, return_path: bool = False):
    """Integrate the sigma_t = lam g_t family along ``t_grid`` (increasing: forward family;
    decreasing: reverse family), vectorised over the points ``x``.

    probability-flow-ode, Eq. ``eq-probability-flow-ode-reverse-family`` (and the forward
    family): per step ``h = t_{i+1} - t_i`` (negative in reverse), Euler-Maruyama
    ``x + b(x, t_i) h + lam sqrt(g2(t_i) |h|) z``; Heun (stochastic Heun for lam > 0, the
    same z in predictor and corrector) averages the drift at both ends. The drift ``b`` is
    ``family_drift`` (``score_weight`` overrides its score coefficient). Returns the end points
    (and, with ``return_path``, the float64 path ``(len(t_grid), n, d)``, ``(len, n)`` in 1-D).
    """
    lam = _check_lam(lam)
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {_SCHEMES}, got {scheme!r}")
    grid = _check_t(t_grid, "t_grid")
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError("t_grid must be a 1-D array of at least two times")
    dt = np.diff(grid)
    if not (np.all(dt > 0) or np.all(dt < 0)):
        raise ValueError("t_grid must be strictly monotone")
    direction = "forward" if dt[0] > 0 else "reverse"
    w = _default_weight(lam, direction) if score_weight is None else float(score_weight)
    if lam > 0:
        rng = checks.generator(rng)
    xw, restore = _work(x, gmm)
    path = [xw.copy()] if return_path else None
    for t0, t1 in zip(grid[:-1].tolist(), grid[1:].tolist(), strict=True):
        h = t1 - t0
        b0 = _drift(xw, t0, gmm, sched, w)
        kick = 0.0
        if lam > 0:
            kick = (lam * math.sqrt(float(sched.g2(t0)) * abs(h))) * rng.standard_normal(xw.shape)
        if scheme == "euler_maruyama":
            xw = xw + b0 * h + kick
        else:
            pred = xw + b0 * h + kick
            xw = xw + (0.5 * h) * (b0 + _drift(pred, t1, gmm, sched, w)) + kick
        if return_path:
            path.append(xw)
    out = restore(xw)
    if not return_path:
        return out
    p = np.stack(path)
    return out, (p[..., 0] if gmm.dim == 1 and np.ndim(x) == 1 else p)


def reverse_sample(x_T, gmm: GaussianMixture, sched, lam: float, steps: int,
                   rng: np.random.Generator | None, scheme: str = "heun", *,
                   t_from: float = 1.0, t_to: float = 0.0, grid: str = "quadratic",
                   score_weight: float | None = None, return_path: bool = False):
    """Samples of ``p_{t_to}`` (default ``p_0``) from points ``x_T ~ p_{t_from}`` by the reverse
    family with sigma_t = lam g_t (lam = 0: the probability-flow ODE).

    probability-flow-ode, Eq. ``eq-probability-flow-ode-reverse-family``: ``steps`` steps of
    ``scheme`` on ``time_grid(t_from, t_to, steps, grid)``; see ``integrate_family``.
    """
    if not t_from > t_to:
        raise ValueError(f"t_from must exceed t_to for the reverse family, got {t_from}, {t_to}")
    g = time_grid(t_from, t_to, steps, grid)
    return integrate_family(x_T, g, gmm, sched, lam, rng, scheme, score_weight, return_path)


def score_evaluations(steps: int, scheme: str) -> int:
    """Score evaluations used by ``integrate_family``: one per Euler-Maruyama step, two per
    Heun step."""
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {_SCHEMES}, got {scheme!r}")
    return int(steps) * (2 if scheme == "heun" else 1)


def _solve(rhs, y0, t_from, t_to, rtol, atol, method):
    from scipy.integrate import solve_ivp

    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be > 0, got {rtol}, {atol}")
    sol = solve_ivp(rhs, (t_from, t_to), y0, method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol.y[:, -1], int(sol.nfev)


def probability_flow(x, t_from: float, t_to: float, gmm: GaussianMixture, sched,
                     rtol: float = 1e-10, atol: float = 1e-10, method: str = "DOP853",
                     return_nfev: bool = False):
    """Transport points by the probability-flow ODE ``dx/dt = f_t x - g_t^2 score_t(x)/2``
    from ``t_from`` to ``t_to`` (either direction), with ``scipy.integrate.solve_ivp`` in
    float64, vectorised over the points (probability-flow-ode, Eq. ``eq-probability-flow-ode-pf``).
    """
    t_from, t_to = float(_check_t(t_from, "t_from")), float(_check_t(t_to, "t_to"))
    xw, restore = _work(x, gmm)
    n, d = xw.shape
    if t_from == t_to:
        out, nfev = xw, 0
    else:

        def rhs(t, y):
            return _drift(y.reshape(n, d), min(max(t, 0.0), 1.0), gmm, sched, 0.5).ravel()

        y, nfev = _solve(rhs, xw.ravel(), t_from, t_to, rtol, atol, method)
        out = y.reshape(n, d)
    res = restore(out)
    return (res, nfev) if return_nfev else res


def ode_log_likelihood(x0, gmm: GaussianMixture, sched, rtol: float = 1e-10,
                       atol: float = 1e-10, t_end: float = 1.0, method: str = "DOP853",
                       return_nfev: bool = False):
    """``log p_0(x0)`` by the instantaneous change of variables along the probability-flow ODE.

    probability-flow-ode, Eq. ``eq-probability-flow-ode-cov``: integrate ``dx/dt = v`` and
    ``dl/dt = div v = d f_t - g_t^2 Delta log p_t(x)/2`` from 0 to ``t_end``; then
    ``log p_0(x0) = log p_{t_end}(x_{t_end}) + l(t_end)``, with the exact ``p_{t_end}``.
    """
    t_end = float(_check_t(t_end, "t_end"))
    xw, restore = _work(x0, gmm, "x0")
    n, d = xw.shape
    if t_end == 0.0:
        res, nfev = gmm._log_prob(xw), 0
    else:

        def rhs(t, y):
            t = min(max(t, 0.0), 1.0)
            z = y[: n * d].reshape(n, d)
            pt = marginal(gmm, sched, t)
            f, g2 = float(sched.f(t)), float(sched.g2(t))
            v = f * z - 0.5 * g2 * pt._score(z)
            div = d * f - 0.5 * g2 * pt._laplacian(z)
            return np.concatenate([v.ravel(), div])

        y0 = np.concatenate([xw.ravel(), np.zeros(n)])
        y, nfev = _solve(rhs, y0, 0.0, t_end, rtol, atol, method)
        zT = y[: n * d].reshape(n, d)
        res = marginal(gmm, sched, t_end)._log_prob(zT) + y[n * d :]
    out = restore(res, vector=False)
    return (out, nfev) if return_nfev else out
