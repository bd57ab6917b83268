"""Diffusion models in Su's notation: schedules, exact Gaussian-mixture scores, SDE/ODE samplers.

Chapters: *The reverse-time SDE* (``chapters/generative/reverse-time-sde``, kexue.fm/archives/9209)
and *The probability-flow ODE* (``chapters/generative/probability-flow-ode``,
kexue.fm/archives/9228).

Notation. The forward kernel is ``p(x_t | x_0) = N(abar_t x_0, bbar_t^2 I)``: ``abar`` is the
*signal coefficient*, not its square (the DDPM paper's alpha-bar is our ``abar**2``). The linear
forward SDE ``dx = f_t x dt + g_t dw`` with that kernel has ``f_t = d log(abar_t)/dt`` and
``g_t^2 = abar_t^2 d(bbar_t^2/abar_t^2)/dt``.

The data are Gaussian mixtures, so every marginal ``p_t`` is again a Gaussian mixture whose
score, Laplacian, CDF and quantiles are exact. The samplers below use that exact score where a
trained model would use a network, so every error they show is the sampler's own.

Conventions. Points are ``(n, d)`` arrays (``(n,)`` is accepted when d = 1). NumPy in gives
NumPy out; torch in gives torch out with dtype and device preserved (``log_prob``, ``score`` and
``laplacian_log_prob`` are differentiable). Randomness only through an explicit
``numpy.random.Generator``. Bad input raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "book_mixture",
    "VPLinear",
    "VEGeometric",
    "ddpm_discrete",
    "GaussianMixture",
    "diffuse",
    "marginal",
    "posterior_moments",
    "family_drift",
    "time_grid",
    "integrate_family",
    "reverse_sample",
    "score_evaluations",
    "probability_flow",
    "ode_log_likelihood",
    "ks_distance",
    "wasserstein1",
]

_LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# Schedules (reverse-time-sde, "designing the SDE from its kernel")
# ---------------------------------------------------------------------------------------------


def _check_t(t, name: str = "t") -> np.ndarray:
    if isinstance(t, float | int) and not isinstance(t, bool):  # fast path for scalars
        if not 0.0 <= t <= 1.0:  # NaN fails too
            raise ValueError(f"{name} must lie in [0, 1], got {t!r}")
        return np.float64(t)
    arr = np.asarray(t, dtype=np.float64)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0.0) or np.any(arr > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {t!r}")
    return arr


def _ret(arr: np.ndarray):
    """A 0-d result becomes a Python float; arrays stay arrays."""
    return float(arr) if arr.ndim == 0 else arr


class _Schedule:
    """Shared parts of a schedule: ``bbar`` from ``bbar2`` and the kernel pair."""

    def bbar(self, t):
        """``bbar_t``, the noise coefficient of the kernel N(abar_t x0, bbar_t^2 I)."""
        return _ret(np.sqrt(np.asarray(self.bbar2(t))))

    def kernel(self, t) -> tuple[float, float]:
        """``(abar_t, bbar_t)`` at a scalar time."""
        t = float(_check_t(t))
        return float(self.abar(t)), float(self.bbar(t))


@dataclass(frozen=True)
class VPLinear(_Schedule):
    """Variance-preserving SDE with a linear beta(t) (Song et al.'s VP defaults).

    reverse-time-sde, Eq. ``eq-reverse-time-sde-fg``: ``beta(t) = beta_min + t (beta_max -
    beta_min)``, ``f_t = -beta(t)/2``, ``g_t^2 = beta(t)``, ``log abar_t = -t^2 (beta_max -
    beta_min)/4 - t beta_min/2`` and ``abar_t^2 + bbar_t^2 = 1``.
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self):
        if not (math.isfinite(self.beta_min) and self.beta_min > 0):
            raise ValueError(f"beta_min must be finite and > 0, got {self.beta_min}")
        if not (math.isfinite(self.beta_max) and self.beta_max >= self.beta_min):
            raise ValueError(f"beta_max must be finite and >= beta_min, got {self.beta_max}")

    def beta(self, t):
        t = _check_t(t)
        return _ret(self.beta_min + t * (self.beta_max - self.beta_min))

    def log_abar(self, t):
        t = _check_t(t)
        return _ret(-0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min)

    def abar(self, t):
        return _ret(np.exp(np.asarray(self.log_abar(t))))

    def bbar2(self, t):
        return _ret(-np.expm1(2.0 * np.asarray(self.log_abar(t))))

    def f(self, t):
        return _ret(-0.5 * np.asarray(self.beta(t)))

    def g2(self, t):
        return self.beta(t)


@dataclass(frozen=True)
class VEGeometric(_Schedule):
    """Variance-exploding SDE with a geometric noise scale (Song et al.'s VE defaults).

    reverse-time-sde, VE case of Eq. ``eq-reverse-time-sde-fg``: ``abar_t = 1``, ``f_t = 0``,
    ``sigma(t) = sigma_min (sigma_max/sigma_min)^t`` and ``g_t^2 = d sigma(t)^2/dt``. The kernel
    of the SDE started at t = 0 has ``bbar_t^2 = sigma(t)^2 - sigma_min^2`` (so bbar_0 = 0),
    not ``sigma(t)^2`` as in the official code, which treats the data as already blurred.
    """

    sigma_min: float = 0.01
    sigma_max: float = 50.0

    def __post_init__(self):
        if not (math.isfinite(self.sigma_min) and self.sigma_min > 0):
            raise ValueError(f"sigma_min must be finite and > 0, got {self.sigma_min}")
        if not (math.isfinite(self.sigma_max) and self.sigma_max > self.sigma_min):
            raise ValueError(f"sigma_max must be finite and > sigma_min, got {self.sigma_max}")

    @property
    def _log_ratio(self) -> float:
        return math.log(self.sigma_max / self.sigma_min)

    def sigma(self, t):
        t = _check_t(t)
        return _ret(self.sigma_min * np.exp(t * self._log_ratio))

    def abar(self, t):
        return _ret(np.ones_like(_check_t(t)))

    def bbar2(self, t):
        t = _check_t(t)
        return _ret(self.sigma_min**2 * np.expm1(2.0 * t * self._log_ratio))

    def f(self, t):
        return _ret(np.zeros_like(_check_t(t)))

    def g2(self, t):
        return _ret(2.0 * self._log_ratio * np.asarray(self.sigma(t)) ** 2)


def ddpm_discrete(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> dict:
    """DDPM's discrete linear schedule (Ho et al.) converted to Su's notation.

    reverse-time-sde, "the DDPM schedule as a continuous one": Ho's ``beta^Ho_i`` runs linearly
    from ``beta_start`` to ``beta_end``; Su's ``alpha_i = sqrt(1 - beta^Ho_i)``,
    ``beta_i = sqrt(beta^Ho_i)``, ``abar_i = alpha_1 ... alpha_i``, ``bbar_i = sqrt(1 -
    abar_i^2)``. Returns arrays of length ``T + 1`` indexed by the step i = 0..T (index 0 is the
    data: ``abar_0 = 1``), and ``t = i / T``.
    """
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    if not (0 < beta_start <= beta_end < 1):
        raise ValueError(
            f"beta_start, beta_end must satisfy 0 < beta_start <= beta_end < 1, "
            f"got {beta_start}, {beta_end}"
        )
    beta_ho = np.concatenate([[0.0], np.linspace(beta_start, beta_end, int(T))])
    log_alpha = 0.5 * np.log1p(-beta_ho)
    log_abar = np.cumsum(log_alpha)
    return {
        "t": np.arange(int(T) + 1) / int(T),
        "alpha": np.exp(log_alpha),
        "beta": np.sqrt(beta_ho),
        "abar": np.exp(log_abar),
        "bbar": np.sqrt(-np.expm1(2.0 * log_abar)),
    }


# ---------------------------------------------------------------------------------------------
# Gaussian mixtures: exact density, score, Laplacian, CDF (both chapters)
# ---------------------------------------------------------------------------------------------


def _as_f64(a, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a real array, got {type(a).__name__}") from e
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _check_rng(rng, name: str = "rng") -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name} must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


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
        w = _as_f64(weights, "weights")
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"weights must have shape (K,), got {w.shape}")
        if np.any(w < 0):
            raise ValueError("weights must be non-negative")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got {w.sum()!r}")
        K = w.size
        m = _as_f64(means, "means")
        if m.ndim == 1:
            m = m[:, None]
        if m.ndim != 2 or m.shape[0] != K:
            raise ValueError(f"means must have shape ({K}, d), got {np.shape(means)}")
        d = m.shape[1]
        c = _as_f64(covs, "covs")
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
            out_dtype = x.dtype if x.is_floating_point() else torch.float64
            xw = x if x.dtype in (torch.float32, torch.float64) else x.to(
                torch.float64 if not x.is_floating_point() else torch.float32
            )
            finite = bool(torch.isfinite(xw).all())
        else:
            arr = np.asarray(x)
            if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
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
        if self.dim == 1:
            a = a[:, 0]
            spread = (a - (r * a).sum(0)) ** 2
        else:
            spread = ((a - (r[:, None, :] * a).sum(0)[None]) ** 2).sum(1)
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
        rng = _check_rng(rng)
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


def diffuse(gmm: GaussianMixture, a: float, b: float) -> GaussianMixture:
    """Law of ``a x + b eps`` for ``x ~ gmm``, ``eps ~ N(0, I)``: means ``a m_k``, covariances
    ``a^2 C_k + b^2 I`` (reverse-time-sde, "Test bed": a mixture pushed through the kernel of
    Theorem ``thm-reverse-time-sde``, or through one Euler step, Eq. ``eq-reverse-time-sde-euler``)."""
    if not isinstance(gmm, GaussianMixture):
        raise ValueError("gmm must be a GaussianMixture")
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)) or b < 0:
        raise ValueError(f"a must be finite and b finite and >= 0, got a={a}, b={b}")
    covs = a * a * gmm.covs
    if gmm.dim == 1:
        covs = covs + b * b
    else:
        covs = covs + b * b * np.eye(gmm.dim)
    try:
        return GaussianMixture._trusted(gmm.weights, a * gmm.means, covs)
    except ValueError as e:
        raise ValueError(
            f"a = {a} and b = {b} give a degenerate law (a^2 C_k + b^2 I is singular in float64)"
        ) from e


def book_mixture() -> GaussianMixture:
    """The 1-D test bed of both generative chapters (*The reverse-time SDE, by Bayes' rule*
    and *The probability-flow ODE, from Fokker–Planck*): weights (0.3, 0.5, 0.2), means
    (-2, 0.5, 3), standard deviations (0.3, 0.6, 0.4). Its marginals, scores, CDFs and
    quantiles are all exact, so every check compares against an analytic answer."""
    return GaussianMixture([0.3, 0.5, 0.2], [-2.0, 0.5, 3.0], np.array([0.3, 0.6, 0.4]) ** 2)


def marginal(gmm: GaussianMixture, sched, t: float) -> GaussianMixture:
    """The marginal ``p_t`` of the forward SDE started from ``p_0 = gmm``:
    ``diffuse(gmm, abar_t, bbar_t)`` (reverse-time-sde, kernel of Eq. ``eq-reverse-time-sde-fg``)."""
    a, b = sched.kernel(t)
    return diffuse(gmm, a, b)


def posterior_moments(y, gmm: GaussianMixture, a: float, b: float):
    """Mean and covariance of ``x`` given ``y = a x + b eps`` for ``x ~ gmm`` (exact Bayes).

    reverse-time-sde, Eq. ``eq-reverse-time-sde-tweedie``: within component k the posterior is
    Gaussian with gain ``G_k = a C_k (a^2 C_k + b^2 I)^{-1}``, mean ``m_k + G_k (y - a m_k)``
    and covariance ``C_k - a G_k C_k``; the mixture weights are the responsibilities of ``y``
    under ``diffuse(gmm, a, b)``. Returns ``(mean (n, d), cov (n, d, d))`` (``(n,)``, ``(n,)``
    for 1-D input).
    """
    py = diffuse(gmm, a, b)
    yw, how = py._prep(y, "y")
    xp = _xp(yw)
    r, _ = py._resp(yw)  # (K, n)
    gain = a * gmm.covs @ py._prec  # (K, d, d)
    Vk = gmm.covs - a * gain @ gmm.covs
    if xp is torch:
        gain, Vk, m = (torch.as_tensor(v, dtype=yw.dtype, device=yw.device)
                       for v in (gain, Vk, gmm.means))
    else:
        m = gmm.means
    resid = yw.T[None] - a * m[:, :, None]  # (K, d, n)
    mk = m[:, :, None] + gain @ resid  # (K, d, n)
    mean = (r[:, None, :] * mk).sum(0)  # (d, n)
    dev = mk - mean[None]
    outer = dev[:, :, None, :] * dev[:, None, :, :]  # (K, d, d, n)
    cov = (r[:, None, None, :] * (Vk[..., None] + outer)).sum(0)  # (d, d, n)
    mean, cov = mean.T, cov.permute(2, 0, 1) if xp is torch else np.moveaxis(cov, 2, 0)
    if how[0]:
        mean, cov = mean[:, 0], cov[:, 0, 0]
    return GaussianMixture._finish(mean, how, False), GaussianMixture._finish(cov, how, False)


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
        rng = _check_rng(rng)
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


# ---------------------------------------------------------------------------------------------
# Distances of a 1-D sample to a mixture (both chapters' experiments; benchmarks/ode_vs_sde.py)
# ---------------------------------------------------------------------------------------------


def _sample_1d(samples, name: str = "samples") -> np.ndarray:
    x = _as_f64(samples, name)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, 1), got {x.shape}")
    return np.sort(x)


def ks_distance(samples, gmm: GaussianMixture) -> float:
    """Kolmogorov-Smirnov distance ``sup_x |F_n(x) - F(x)|`` of a 1-D sample to the mixture
    (the sampler checks of reverse-time-sde and probability-flow-ode)."""
    gmm._need_1d("ks_distance")
    x = _sample_1d(samples)
    n = x.size
    F = gmm.cdf(x)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def wasserstein1(samples, gmm: GaussianMixture) -> float:
    """Exact Wasserstein-1 distance ``int |F_n(x) - F(x)| dx`` of a 1-D sample to the mixture
    (probability-flow-ode, "What the ODE buys"; ``benchmarks/ode_vs_sde.py``).

    Between consecutive order statistics ``F_n = i/n`` is constant and ``int F`` has the closed
    form ``sum_k w_k s_k psi((x - m_k)/s_k)``, ``psi(z) = z Phi(z) + phi(z)``; an interval where
    F crosses ``i/n`` is split at the quantile ``F^{-1}(i/n)``. No grid, no truncation.
    """
    gmm._need_1d("wasserstein1")
    x = _sample_1d(samples)
    n = x.size
    total = gmm._G(x[:1])[0] + gmm._G(x[-1:], upper=True)[0]
    if n == 1:
        return float(total)
    a, b = x[:-1], x[1:]
    c = np.arange(1, n) / n
    F = gmm.cdf(x)
    Fa, Fb = F[:-1], F[1:]
    Ga, Gb = gmm._G(a), gmm._G(b)
    below = Fb <= c
    above = (Fa >= c) & ~below
    cross = ~(below | above)
    total += np.sum(c[below] * (b - a)[below] - (Gb - Ga)[below])
    total += np.sum((Gb - Ga)[above] - c[above] * (b - a)[above])
    if np.any(cross):
        cc, ac, bc = c[cross], a[cross], b[cross]
        xs = np.clip(gmm.icdf(cc), ac, bc)
        Gs = gmm._G(xs)
        total += np.sum(cc * (xs - ac) - (Gs - Ga[cross]) + (Gb[cross] - Gs) - cc * (bc - xs))
    return float(total)
