"""Gaussian mixtures with exact log-density, score, Laplacian, CDF and quantiles.

The data law of every generative chapter: each marginal of a linear diffusion of a mixture is
again a mixture, so scores are exact and every error a sampler shows is the sampler's own.
Points are ``(n, d)`` arrays (``(n,)`` accepted when d = 1); NumPy in gives NumPy out, torch in
gives torch out with dtype and device preserved (``log_prob``, ``score`` and
``laplacian_log_prob`` are differentiable). Randomness only through an explicit
``numpy.random.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lib import checks

_LOG_2PI = math.log(2.0 * math.pi)

__all__ = [
    "GaussianMixture",
]


# ---------------------------------------------------------------------------------------------
# Gaussian mixtures: exact density, score, Laplacian, CDF (both chapters)
# ---------------------------------------------------------------------------------------------


def _xp(x):
    """The array namespace of ``x``: torch for tensors, numpy otherwise."""
    return torch if isinstance(x, torch.Tensor) else np


class GaussianMixture:
    """``p(x) = sum_k w_k N(x; m_k, C_k)`` with exact log-density, score and Laplacian.

    probability-flow-ode, Eq. ``eq-probability-flow-ode-gmm-score``: with responsibilities
    ``r_k(x)`` and ``a_k = -C_k^{-1}(x - m_k)``, the score is ``sum_k r_k a_k`` and the
    Laplacian of ``log p`` is ``-sum_k r_k tr C_k^{-1} + sum_k r_k |a_k - score|^2``.

    Parameters
    ----------
    weights : (K,) non-negative, summing to 1.
    means : (K, d) (or (K,) for d = 1).
    covs : (K, d, d) symmetric positive definite, or (K,) isotropic variances.

    The parameters are stored as float64 NumPy arrays (``weights``, ``means``, ``covs``). NumPy
    points are evaluated in float64 NumPy (fast on a CPU); torch points in torch, in their own
    dtype and device, so autograd works through every method.
    """

    def __init__(self, weights, means, covs):
        w = checks.float64_array(weights, "weights")
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"weights must have shape (K,), got {w.shape}")
        if np.any(w < 0):
            raise ValueError("weights must be non-negative")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got {w.sum()!r}")
        K = w.size
        m = checks.float64_array(means, "means")
        if m.ndim == 1:
            m = m[:, None]
        if m.ndim != 2 or m.shape[0] != K:
            raise ValueError(f"means must have shape ({K}, d), got {np.shape(means)}")
        d = m.shape[1]
        c = checks.float64_array(covs, "covs")
        if c.ndim == 1:
            if c.shape != (K,):
                raise ValueError(f"covs must have shape ({K},) or ({K}, {d}, {d}), got {c.shape}")
            if np.any(c <= 0):
                raise ValueError("covs (isotropic variances) must be > 0")
            c = c[:, None, None] * np.eye(d)
        elif c.shape != (K, d, d):
            raise ValueError(f"covs must have shape ({K},) or ({K}, {d}, {d}), got {c.shape}")
        elif not np.allclose(c, np.swapaxes(c, 1, 2), rtol=1e-12, atol=0.0):
            raise ValueError("covs must be symmetric")
        self._set(w.copy(), m.copy(), c.copy())

    @classmethod
    def _trusted(cls, w: np.ndarray, m: np.ndarray, c: np.ndarray) -> GaussianMixture:
        """Build from float64 arrays that are already valid (internal fast path)."""
        obj = cls.__new__(cls)
        obj._set(w, m, c)
        return obj

    def _set(self, w, m, c):
        if c.shape[-1] == 1:  # closed form, much cheaper than LAPACK calls
            if not np.all(c > 0):
                raise ValueError("covs must be positive definite")
            chol, prec, logdet = np.sqrt(c), 1.0 / c, np.log(c[:, 0, 0])
        else:
            try:
                chol = np.linalg.cholesky(c)
            except np.linalg.LinAlgError as e:
                raise ValueError("covs must be positive definite") from e
            prec = np.linalg.inv(c)
            prec = 0.5 * (prec + np.swapaxes(prec, 1, 2))
            logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(-1)
        self.weights, self.means, self.covs = w, m, c
        self._chol, self._prec = chol, prec
        with np.errstate(divide="ignore"):  # a zero weight is a component that never fires
            self._const = np.log(w) - 0.5 * logdet - 0.5 * m.shape[1] * _LOG_2PI
        self._tr_prec = np.trace(prec, axis1=1, axis2=2)
        self._torch_cache: dict = {}

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.n_components}, d={self.dim})"

    # -- input/output plumbing -----------------------------------------------------------------
    def _prep(self, x, name: str = "x"):
        """Validate points; return them as (n, d) in the working dtype, plus how to undo that."""
        if isinstance(x, torch.Tensor):
            if x.is_complex() or x.dtype == torch.bool:
                raise ValueError(f"{name} must be a real array")
            out_dtype = x.dtype if x.is_floating_point() else torch.float64
            xw = x if x.dtype in (torch.float32, torch.float64) else x.to(
                torch.float64 if not x.is_floating_point() else torch.float32
            )
            finite = bool(torch.isfinite(xw).all())
        else:
            arr = np.asarray(x)
            if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
                raise ValueError(f"{name} must be a real array")
            out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
            xw = np.asarray(arr, dtype=np.float64)
            finite = bool(np.isfinite(xw).all())
        squeeze = False
        if xw.ndim == 1 and self.dim == 1:
            xw, squeeze = xw[:, None], True
        elif xw.ndim != 2 or xw.shape[1] != self.dim:
            extra = " or (n,)" if self.dim == 1 else ""
            raise ValueError(f"{name} must have shape (n, {self.dim}){extra}, got {tuple(xw.shape)}")
        if not finite:
            raise ValueError(f"{name} must be finite")
        return xw, (squeeze, out_dtype)

    @staticmethod
    def _finish(y, how, vector: bool):
        squeeze, out_dtype = how
        if vector and squeeze:
            y = y[:, 0]
        return y.to(out_dtype) if isinstance(y, torch.Tensor) else y.astype(out_dtype, copy=False)

    def _params(self, like):
        """(means, precisions, log-constants, trace of precisions) in ``like``'s namespace."""
        if not isinstance(like, torch.Tensor):
            return self.means, self._prec, self._const, self._tr_prec
        key = (like.dtype, like.device)
        if key not in self._torch_cache:
            self._torch_cache[key] = tuple(
                torch.as_tensor(a, dtype=like.dtype, device=like.device)
                for a in (self.means, self._prec, self._const, self._tr_prec)
            )
        return self._torch_cache[key]

    # The internal layout puts the points last, (K, d, n): reductions over the few components
    # and coordinates then run over leading axes, which is far faster than reducing a short
    # trailing axis of an (n, K) array.
    def _components(self, x):
        """Per-component ``log(w_k N(x; m_k, C_k))`` (K, n) and ``a_k = -C_k^{-1}(x - m_k)``
        (K, d, n) for points ``x`` (n, d), NumPy or torch."""
        xp = _xp(x)
        m, prec, const, _ = self._params(x)
        if self.dim == 1:  # 2-D arrays: several times faster than the (K, 1, n) broadcast
            diff = x[:, 0][None] - m
            a = diff * (-prec[:, 0])
            with np.errstate(over="ignore"):  # overflow to -inf is caught below
                logc = const[:, None] + 0.5 * diff * a
            a = a[:, None, :]
        else:
            diff = x.T[None] - m[:, :, None]
            a = -(prec @ diff)
            with np.errstate(over="ignore"):
                logc = const[:, None] + 0.5 * (diff * a).sum(1)
        top = xp.amax(logc, 0)
        lowest = xp.amin(top)
        if not math.isfinite(float(lowest.detach() if xp is torch else lowest)):
            raise ValueError("x is too far from every component (overflow in the exponent)")
        return logc, a, top

    def _log_prob(self, x):
        xp = _xp(x)
        logc, _, top = self._components(x)
        return top + xp.log(xp.exp(logc - top).sum(0))

    def _resp(self, x):
        """Responsibilities (K, n) and the a_k (K, d, n)."""
        xp = _xp(x)
        logc, a, top = self._components(x)
        e = xp.exp(logc - top)
        return e / e.sum(0), a

    def _score(self, x):
        r, a = self._resp(x)
        if self.dim == 1:
            return (r * a[:, 0]).sum(0)[:, None]
        return (r[:, None, :] * a).sum(0).T

    def _laplacian(self, x):
        r, a = self._resp(x)
        xp = _xp(x)
        # a component with r_k = 0 adds nothing: its deviation is zeroed before squaring, or
        # far out (|a_k - score| > 1e154) the square overflows and 0 * inf makes the sum NaN
        if self.dim == 1:
            a = a[:, 0]
            spread = xp.where(r > 0, a - (r * a).sum(0), 0.0) ** 2
        else:
            dev = xp.where((r > 0)[:, None, :], a - (r[:, None, :] * a).sum(0)[None], 0.0)
            spread = (dev**2).sum(1)
        return (r * (spread - self._params(x)[3][:, None])).sum(0)

    # -- public methods ------------------------------------------------------------------------
    def log_prob(self, x):
        """``log p(x)`` by logsumexp over components; ``(n, d) -> (n,)``."""
        xw, how = self._prep(x)
        return self._finish(self._log_prob(xw), how, False)

    def posterior_weights(self, x):
        """Responsibilities ``r_k(x) = P(component k | x)``; ``(n, d) -> (n, K)``."""
        xw, how = self._prep(x)
        return self._finish(self._resp(xw)[0].T, how, False)

    def score(self, x):
        """``grad_x log p(x)``; ``(n, d) -> (n, d)`` (``(n,) -> (n,)`` in 1-D)."""
        xw, how = self._prep(x)
        return self._finish(self._score(xw), how, True)

    def laplacian_log_prob(self, x):
        """``Delta_x log p(x)`` (trace of the Hessian of log p), analytic; ``(n, d) -> (n,)``."""
        xw, how = self._prep(x)
        return self._finish(self._laplacian(xw), how, False)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws, float64 ``(n, d)``: a component by its weight, then a
        Gaussian draw ``m_k + L_k z``."""
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        rng = checks.generator(rng)
        k = rng.choice(self.n_components, size=int(n), p=self.weights)
        z = rng.standard_normal((int(n), self.dim))
        return self.means[k] + np.einsum("nij,nj->ni", self._chol[k], z)

    def mean(self) -> np.ndarray:
        """Mixture mean ``sum_k w_k m_k``, shape ``(d,)``."""
        return self.weights @ self.means

    def covariance(self) -> np.ndarray:
        """Mixture covariance (law of total variance), shape ``(d, d)``."""
        dm = self.means - self.mean()
        second = self.covs + dm[:, :, None] * dm[:, None, :]
        return np.einsum("k,kij->ij", self.weights, second)

    # -- one-dimensional extras -------------------------------------------------------------------
    def _need_1d(self, what: str):
        if self.dim != 1:
            raise ValueError(f"{what} is defined for one-dimensional mixtures only (d = {self.dim})")

    def _std(self) -> np.ndarray:
        return np.sqrt(self.covs[:, 0, 0])

    def central_moment(self, order: int) -> float:
        """``E[(x - mean)^order]`` of a 1-D mixture (exact, from the Gaussian moments)."""
        self._need_1d("central_moment")
        if not isinstance(order, int | np.integer) or order < 0:
            raise ValueError(f"order must be a non-negative integer, got {order!r}")
        mu = float(self.mean()[0])
        total = 0.0
        for w, m, s in zip(self.weights, self.means[:, 0], self._std(), strict=True):
            delta = m - mu
            acc = 0.0
            for j in range(0, order + 1, 2):  # odd Gaussian moments vanish
                acc += math.comb(order, j) * delta ** (order - j) * s**j * _double_factorial(j - 1)
            total += w * acc
        return float(total)

    def cdf(self, x):
        """``P(X <= x)`` of a 1-D mixture, elementwise (any shape; torch input is
        differentiable)."""
        self._need_1d("cdf")
        if isinstance(x, torch.Tensor):
            xt = x if x.is_floating_point() else x.to(torch.float64)
            if bool(torch.isnan(xt).any()):
                raise ValueError("x must not contain NaN")
            m, s, w = (torch.as_tensor(a, dtype=xt.dtype, device=xt.device)
                       for a in (self.means[:, 0], self._std(), self.weights))
            return (w * torch.special.ndtr((xt[..., None] - m) / s)).sum(-1)
        from scipy.special import ndtr

        xn = np.asarray(x, dtype=np.float64)
        if np.isnan(xn).any():
            raise ValueError("x must not contain NaN")
        z = (xn[..., None] - self.means[:, 0]) / self._std()
        return ndtr(z) @ self.weights

    def _pdf(self, x: np.ndarray) -> np.ndarray:
        s = self._std()
        z = (x[..., None] - self.means[:, 0]) / s
        return (np.exp(-0.5 * z**2) / (s * math.sqrt(2 * math.pi))) @ self.weights

    def _G(self, x: np.ndarray, upper: bool = False) -> np.ndarray:
        """``int_{-inf}^x F`` (or ``int_x^inf (1 - F)`` when ``upper``), in closed form."""
        from scipy.special import ndtr

        s = self._std()
        z = (x[..., None] - self.means[:, 0]) / s
        if upper:
            z = -z
        psi = z * ndtr(z) + np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
        return psi @ (self.weights * s)

    def icdf(self, u):
        """Quantile function of a 1-D mixture, elementwise: bisection to a bracket of
        ~1e-9 of the component scale, then two Newton steps (error at float64 rounding)."""
        self._need_1d("icdf")
        is_torch = isinstance(u, torch.Tensor)
        un = u.detach().cpu().numpy().astype(np.float64) if is_torch else np.asarray(
            u, dtype=np.float64
        )
        if np.isnan(un).any() or np.any((un < 0) | (un > 1)):
            raise ValueError("u must lie in [0, 1]")
        m, s = self.means[:, 0], self._std()
        lo = np.full(un.shape, (m - 40 * s.max()).min())
        hi = np.full(un.shape, (m + 40 * s.max()).max())
        for _ in range(36):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < un
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        x = 0.5 * (lo + hi)
        for _ in range(2):
            pdf = self._pdf(x)
            safe = np.where(pdf > 0, pdf, 1.0)
            x = np.clip(x - np.where(pdf > 0, (self.cdf(x) - un) / safe, 0.0), lo, hi)
        x = np.where(un == 0, -np.inf, np.where(un == 1, np.inf, x))
        return torch.as_tensor(x, dtype=u.dtype, device=u.device) if is_torch else x


def _double_factorial(k: int) -> int:
    return 1 if k <= 0 else k * _double_factorial(k - 2)
