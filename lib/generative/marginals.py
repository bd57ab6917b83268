"""Diffusing a Gaussian mixture: the marginal law at time t and the exact posterior mean.

Chapters *The reverse-time SDE* and *The probability-flow ODE* (kexue.fm/archives/9209, 9228):
``x_t = a x_0 + b eps`` maps the mixture to another mixture (:func:`diffuse`), and the Bayes
denoiser ``E[x_0 | x_t]`` is a responsibility-weighted sum of Gaussian posterior means.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lib.generative.mixture import GaussianMixture, _xp

__all__ = [
    "diffuse",
    "book_mixture",
    "marginal",
    "posterior_moments",
]


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
