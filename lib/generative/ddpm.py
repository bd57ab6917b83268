"""DDPM in Su's notation: the Bayes posterior, the two parameterisations, the exact denoiser of a
Gaussian mixture and the ancestral sampler.

Chapter *DDPM = Bayes + denoising* (kexue.fm/archives/9164). Notation: ``x_t = alpha_t x_{t-1} +
beta_t eps`` with ``alpha_t^2 + beta_t^2 = 1``, ``abar_t = alpha_1 ... alpha_t`` and ``bbar_t =
sqrt(1 - abar_t^2)``; Ho et al.'s ``beta_t`` and ``alpha-bar_t`` are our ``beta_t^2`` and
``abar_t^2``. A *schedule* ``sched`` is a dict with 1-D float arrays ``"alpha"``, ``"beta"``,
``"abar"``, ``"bbar"`` of length ``T + 1`` indexed by the step, index 0 being the data
(``alpha_0 = abar_0 = 1``, ``beta_0 = bbar_0 = 0``); ``ddpm_discrete`` (lib/generative/schedules.py)
and :func:`schedule_from_abar` build one. Contract: shared/contracts/generative.md, section 1.
:func:`reverse_moments`, :func:`mean_reverse_variance` (the true reverse step of mixture data)
and :func:`ddpm_em_coupling` (DDPM against Euler-Maruyama) serve the chapter's experiments.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lib import checks
from lib.generative.marginals import diffuse, posterior_moments
from lib.generative.mixture import GaussianMixture
from lib.generative.samplers import reverse_sample

__all__ = [
    "ddpm_posterior",
    "eps_to_x0",
    "x0_to_eps",
    "gmm_denoiser",
    "reverse_moments",
    "mean_reverse_variance",
    "ancestral_sample",
    "renoise_sample",
    "schedule_from_abar",
    "ddpm_em_coupling",
]

_KEYS = ("alpha", "beta", "abar", "bbar")
_TOL = 1e-8  # self-consistency tolerance of a schedule (float64 products of ~1e4 factors)


# ---------------------------------------------------------------------------------------------
# Schedules and arguments
# ---------------------------------------------------------------------------------------------


def _check_sched(sched) -> tuple[dict, int]:
    """The four arrays of ``sched`` as float64 NumPy arrays, and T. Rejects a missing key,
    arrays that are not 1-D, of unequal length or shorter than 2, non-finite values, index 0
    not the data, and schedules that break ``alpha^2 + beta^2 = 1``, ``abar = cumprod(alpha)``
    or ``abar^2 + bbar^2 = 1`` (the usual sign of Ho's notation passed for Su's)."""
    if not isinstance(sched, dict):
        raise ValueError(f"sched must be a dict with keys {_KEYS}, got {type(sched).__name__}")
    arr = {}
    for k in _KEYS:
        if k not in sched:
            raise ValueError(f"sched is missing the key {k!r}")
        a = checks.float64_array(sched[k], f"sched[{k!r}]")
        if a.ndim != 1 or a.size < 2:
            raise ValueError(f"sched[{k!r}] must be a 1-D array of length T + 1 >= 2, got {a.shape}")
        arr[k] = a
    n = arr["alpha"].size
    if any(a.size != n for a in arr.values()):
        raise ValueError("sched arrays must all have the same length T + 1")
    al, be, ab, bb = (arr[k] for k in _KEYS)
    if abs(al[0] - 1) > _TOL or abs(ab[0] - 1) > _TOL or abs(be[0]) > _TOL or abs(bb[0]) > _TOL:
        raise ValueError("sched index 0 must be the data: alpha[0] = abar[0] = 1, beta[0] = bbar[0] = 0")
    if np.any(ab[1:] <= 0) or np.any(bb[1:] <= 0) or np.any(al[1:] <= 0) or np.any(be[1:] <= 0):
        raise ValueError("sched needs alpha, beta, abar, bbar > 0 for every step t >= 1")
    if (np.max(np.abs(al**2 + be**2 - 1)) > _TOL or np.max(np.abs(ab**2 + bb**2 - 1)) > _TOL
            or np.max(np.abs(ab - np.cumprod(al)) / ab) > _TOL):
        raise ValueError("sched is not self-consistent in Su's notation (alpha^2 + beta^2 = 1, "
                         "abar = alpha_1...alpha_t, abar^2 + bbar^2 = 1); Ho's beta is our beta^2")
    return arr, n - 1


def _step(t, T: int, low: int = 1) -> int:
    return checks.integer(t, "t", minimum=low, maximum=T)


def _posterior_coefs(s: dict, t: int) -> tuple[float, float, float]:
    """``(c_x, c_0, var)`` with ``mean = c_x x_t + c_0 x_0`` (Eq. ``eq-ddpm-bayes-denoising-posterior``).
    At t = 1 (``bbar_0 = 0``) exactly ``(0, 1, 0)``."""
    if t == 1:
        return 0.0, 1.0, 0.0
    al, be, ab, bb = (float(s[k][t]) for k in _KEYS)
    ab_prev, bb_prev = float(s["abar"][t - 1]), float(s["bbar"][t - 1])
    return al * bb_prev**2 / bb**2, ab_prev * be**2 / bb**2, (bb_prev * be / bb) ** 2


def _pair(a, b, name_a: str, name_b: str):
    """Two arrays of one kind and shape; ``b`` cast to ``a``'s dtype (and device)."""
    if isinstance(a, torch.Tensor) != isinstance(b, torch.Tensor):
        raise ValueError(f"{name_b} must be of the same type as {name_a} (both NumPy arrays or "
                         f"both torch tensors), got {type(a).__name__} and {type(b).__name__}")
    if isinstance(a, torch.Tensor):
        checks.finite(a, name_a)
        checks.finite(b, name_b)
        checks.same_shape(a, b, name_a, name_b)
        return a, b.to(dtype=a.dtype, device=a.device)
    a, b = np.asarray(a), np.asarray(b)
    if not (np.issubdtype(a.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
        a, b = checks.float64_array(a, name_a), checks.float64_array(b, name_b)
    for x, name in ((a, name_a), (b, name_b)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} must be finite")
    checks.same_shape(a, b, name_a, name_b)
    return a, b.astype(a.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# The posterior q(x_{t-1} | x_t, x_0) and the eps <-> x_0 parameterisations
# ---------------------------------------------------------------------------------------------


def ddpm_posterior(x_t, x_0, t, sched):
    """Mean and variance of ``q(x_{t-1} | x_t, x_0)`` (chapter ddpm-bayes-denoising,
    Eq. ``eq-ddpm-bayes-denoising-posterior``):
    ``mean = alpha_t bbar_{t-1}^2/bbar_t^2 x_t + abar_{t-1} beta_t^2/bbar_t^2 x_0`` and
    ``var = bbar_{t-1}^2 beta_t^2/bbar_t^2`` (a Python float; covariance ``var I``), for
    ``1 <= t <= T``; at ``t = 1`` exactly ``(x_0, 0.0)``. ``x_t``, ``x_0``: both NumPy or both
    torch, one shape; the mean has ``x_t``'s type, dtype and device (differentiable in torch)."""
    s, T = _check_sched(sched)
    t = _step(t, T)
    x_t, x_0 = _pair(x_t, x_0, "x_t", "x_0")
    c_x, c_0, var = _posterior_coefs(s, t)
    return c_x * x_t + c_0 * x_0, var


def eps_to_x0(x_t, eps, t, sched):
    """``x_0 = (x_t - bbar_t eps)/abar_t``: the data point implied by a noise prediction
    (chapter ddpm-bayes-denoising, Eq. ``eq-ddpm-bayes-denoising-param``), ``1 <= t <= T``."""
    s, T = _check_sched(sched)
    t = _step(t, T)
    x_t, eps = _pair(x_t, eps, "x_t", "eps")
    return (x_t - float(s["bbar"][t]) * eps) / float(s["abar"][t])


def x0_to_eps(x_t, x_0, t, sched):
    """``eps = (x_t - abar_t x_0)/bbar_t``: the noise implied by a data prediction, the inverse
    of :func:`eps_to_x0` (chapter ddpm-bayes-denoising, Eq. ``eq-ddpm-bayes-denoising-param``)."""
    s, T = _check_sched(sched)
    t = _step(t, T)
    x_t, x_0 = _pair(x_t, x_0, "x_t", "x_0")
    return (x_t - float(s["abar"][t]) * x_0) / float(s["bbar"][t])


# ---------------------------------------------------------------------------------------------
# The exact denoiser of a mixture and the ancestral sampler
# ---------------------------------------------------------------------------------------------


def gmm_denoiser(gmm: GaussianMixture, sched):
    """The Bayes denoiser ``denoise(x, t) = E[x_0 | x_t = x]`` for ``x_0 ~ gmm`` and
    ``x_t = abar_t x_0 + bbar_t eps`` (chapter ddpm-bayes-denoising, "the exact denoiser"):
    ``posterior_moments(x, gmm, abar_t, bbar_t)[0]``, i.e. responsibilities under
    ``diffuse(gmm, abar_t, bbar_t)`` times the per-component Gaussian posterior means.
    ``0 <= t <= T``; points ``(n, d)`` or ``(n,)`` for d = 1, NumPy or torch."""
    if not isinstance(gmm, GaussianMixture):
        raise ValueError(f"gmm must be a GaussianMixture, got {type(gmm).__name__}")
    s, T = _check_sched(sched)
    abar, bbar = s["abar"], s["bbar"]

    def denoise(x, t):
        t = _step(t, T, low=0)
        return posterior_moments(x, gmm, float(abar[t]), float(bbar[t]))[0]

    return denoise


def reverse_moments(x, gmm: GaussianMixture, t, sched):
    """Exact mean and variance of the *true* reverse step ``x_{t-1} | x_t = x`` for data
    ``x_0 ~ gmm`` (chapter ddpm-bayes-denoising, sections 4 and 6, Eq.
    ``eq-ddpm-bayes-denoising-revvar``): Bayes' rule on ``p_{t-1} = diffuse(gmm, abar_{t-1},
    bbar_{t-1})`` and one forward step, ``posterior_moments(x, p_{t-1}, alpha_t, beta_t)``.
    ``1 <= t <= T``; points and return values as for ``posterior_moments``."""
    if not isinstance(gmm, GaussianMixture):
        raise ValueError(f"gmm must be a GaussianMixture, got {type(gmm).__name__}")
    s, T = _check_sched(sched)
    t = _step(t, T)
    p_prev = diffuse(gmm, float(s["abar"][t - 1]), float(s["bbar"][t - 1]))
    return posterior_moments(x, p_prev, float(s["alpha"][t]), float(s["beta"][t]))


def mean_reverse_variance(gmm: GaussianMixture, sched, grid) -> np.ndarray:
    """``E_{x_t ~ p_t} Var(x_{t-1} | x_t)`` for every step ``t = 1..T`` (entry ``t - 1``) for 1-D
    data ``x_0 ~ gmm`` (chapter ddpm-bayes-denoising, section 6, Eq.
    ``eq-ddpm-bayes-denoising-revvar``), by quadrature: the :func:`reverse_moments` variance on
    the 1-D ``grid``, weighted by the density of ``p_t`` there (weights normalised over the grid,
    so the grid must cover ``p_t``)."""
    if not isinstance(gmm, GaussianMixture) or gmm.dim != 1:
        raise ValueError("gmm must be a 1-D GaussianMixture")
    s, T = _check_sched(sched)
    g = checks.float64_array(grid, "grid")
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"grid must be a 1-D array of at least two points, got {g.shape}")
    out = np.empty(T)
    for t in range(1, T + 1):
        w = np.exp(diffuse(gmm, float(s["abar"][t]), float(s["bbar"][t])).log_prob(g))
        out[t - 1] = np.sum(w * reverse_moments(g, gmm, t, s)[1]) / np.sum(w)
    return out


_VARS = ("posterior", "beta")


def ancestral_sample(x_T, denoise, sched, rng, var: str = "posterior") -> np.ndarray:
    """DDPM's ancestral sampler: for t = T..1, ``x0_hat = denoise(x, t)``, then draw ``x_{t-1}``
    from ``N(mean of q(x_{t-1} | x_t, x0_hat), sigma_t^2 I)`` (no noise at t = 1). Chapter
    ddpm-bayes-denoising, Eq. ``eq-ddpm-bayes-denoising-step``; ``sigma_t = bbar_{t-1} beta_t /
    bbar_t`` for ``var="posterior"`` (Ho's beta-tilde), ``sigma_t = beta_t`` for ``var="beta"``.
    One ``rng.standard_normal(x.shape)`` per step t > 1. Returns a float64 NumPy array of
    ``x_T``'s shape; ``denoise(x, t)`` must return an array of ``x``'s shape."""
    s, T = _check_sched(sched)
    checks.choice(var, "var", _VARS)
    checks.generator(rng)
    if not callable(denoise):
        raise ValueError(f"denoise must be callable, got {type(denoise).__name__}")
    x = np.array(checks.float64_array(x_T, "x_T"), dtype=np.float64)
    for t in range(T, 0, -1):
        x0_hat = _denoised(denoise, x, t)
        c_x, c_0, post_var = _posterior_coefs(s, t)
        mean = c_x * x + c_0 * x0_hat
        if t > 1:
            sigma = math.sqrt(post_var) if var == "posterior" else float(s["beta"][t])
            x = mean + sigma * rng.standard_normal(x.shape)
        else:
            x = mean
    return x


def _denoised(denoise, x: np.ndarray, t: int) -> np.ndarray:
    """``denoise(x, t)`` checked: the shape of ``x``, finite float64."""
    x0_hat = denoise(x, t)
    if tuple(np.shape(x0_hat)) != x.shape:
        raise ValueError(f"denoise returned shape {tuple(np.shape(x0_hat))} at t = {t}, "
                         f"expected {x.shape}")
    return checks.float64_array(x0_hat, "denoise(x, t)")


def renoise_sample(x_T, denoise, sched, rng, rho="posterior") -> np.ndarray:
    """Denoise, then re-noise: for t = T..1, ``x0_hat = denoise(x, t)``, ``eps_hat =
    (x - abar_t x0_hat)/bbar_t`` and ``x_{t-1} = abar_{t-1} x0_hat + bbar_{t-1} (rho_t eps_hat +
    sqrt(1 - rho_t^2) z)`` (``x_0 = x0_hat`` at t = 1). Chapter ddpm-bayes-denoising, Eq.
    ``eq-ddpm-bayes-denoising-renoise``: ``rho="posterior"`` uses ``rho_t = alpha_t bbar_{t-1} /
    bbar_t``, the correlation of the forward noises, and is the ancestral sampler; a number in
    ``[0, 1]`` is a constant ``rho`` (0: fresh noise only; 1: deterministic, DDIM). Draws like
    :func:`ancestral_sample` (one ``rng.standard_normal(x.shape)`` per step t > 1)."""
    s, T = _check_sched(sched)
    checks.generator(rng)
    if not callable(denoise):
        raise ValueError(f"denoise must be callable, got {type(denoise).__name__}")
    if rho != "posterior":
        rho = checks.real(rho, "rho", low=0.0, high=1.0)
    x = np.array(checks.float64_array(x_T, "x_T"), dtype=np.float64)
    for t in range(T, 0, -1):
        x0_hat = _denoised(denoise, x, t)
        if t == 1:
            x = x0_hat
            break
        ab, bb, ab_prev, bb_prev = (float(s[k][i]) for k, i in
                                    (("abar", t), ("bbar", t), ("abar", t - 1), ("bbar", t - 1)))
        r = float(s["alpha"][t]) * bb_prev / bb if rho == "posterior" else rho
        eps_hat = (x - ab * x0_hat) / bb
        z = rng.standard_normal(x.shape)
        x = ab_prev * x0_hat + bb_prev * (r * eps_hat + math.sqrt(max(1.0 - r * r, 0.0)) * z)
    return x


# ---------------------------------------------------------------------------------------------
# Building schedules (number-of-steps experiments, the link to the reverse-time SDE)
# ---------------------------------------------------------------------------------------------


def schedule_from_abar(abar) -> dict:
    """The Su-notation schedule with signal coefficients ``abar_0 = 1 > abar_1 > ... > abar_T
    > 0``: ``alpha_t = abar_t/abar_{t-1}``, ``beta_t = sqrt(1 - alpha_t^2)``, ``bbar_t =
    sqrt(1 - abar_t^2)`` (chapter ddpm-bayes-denoising, sections 5-7). ``abar`` taken from a
    longer schedule at a subset of steps gives DDPM with fewer, larger steps; ``abar_t`` of a
    continuous schedule on a grid gives its DDPM discretisation."""
    ab = checks.float64_array(abar, "abar")
    if ab.ndim != 1 or ab.size < 2:
        raise ValueError(f"abar must be a 1-D array of length T + 1 >= 2, got {ab.shape}")
    if ab[0] != 1.0 or np.any(np.diff(ab) >= 0) or ab[-1] <= 0:
        raise ValueError("abar must start at 1 and decrease strictly to a positive value")
    log_alpha = np.concatenate([[0.0], np.diff(np.log(ab))])
    return {
        "alpha": np.concatenate([[1.0], ab[1:] / ab[:-1]]),
        "beta": np.sqrt(-np.expm1(2.0 * log_alpha)),
        "abar": ab.copy(),
        "bbar": np.sqrt(-np.expm1(2.0 * np.log(ab))),
    }


def ddpm_em_coupling(x_1, gmm: GaussianMixture, sde, steps, seed) -> dict:
    """DDPM and Euler-Maruyama on the reverse-time SDE, coupled (chapter ddpm-bayes-denoising,
    section 7). ``sde`` is a continuous schedule with ``abar(t)`` (e.g. ``VPLinear``); the DDPM
    schedule is ``abar_k = sde.abar(k / steps)`` (:func:`schedule_from_abar`). From the same 1-D
    points ``x_1 ~ p_1`` and the same draws (one ``standard_normal`` per step, in order, from
    ``np.random.default_rng(seed)``), Euler-Maruyama (``reverse_sample``, lam = 1, uniform grid)
    runs down to ``t = 1/steps`` and DDPM (:func:`ancestral_sample`) down to step 1; both end
    with the exact denoising step. Returns ``{"em", "posterior", "beta"}`` -> float64 arrays
    (the DDPM keys name its variance choice)."""
    steps = checks.integer(steps, "steps", minimum=2)
    seed = checks.integer(seed, "seed", minimum=0)
    if not callable(getattr(sde, "abar", None)):
        raise ValueError(f"sde must have an abar(t) method, got {type(sde).__name__}")
    s = schedule_from_abar(sde.abar(np.arange(steps + 1) / steps))
    den = gmm_denoiser(gmm, s)
    _, path = reverse_sample(x_1, gmm, sde, lam=1.0, steps=steps, rng=np.random.default_rng(seed),
                             scheme="euler_maruyama", grid="uniform", return_path=True)
    out = {"em": den(path[-2], 1)}
    for v in _VARS:
        out[v] = ancestral_sample(x_1, den, s, np.random.default_rng(seed), var=v)
    return out
