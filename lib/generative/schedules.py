"""Noise schedules in Su's notation (VP linear, VE geometric, DDPM's discrete one).

Notation.The forward kernel is ``p(x_t | x_0) = N(abar_t x_0, bbar_t^2 I)``: ``abar`` is the
*signal coefficient*, not its square (the DDPM paper's alpha-bar is our ``abar**2``). The linear
forward SDE ``dx = f_t x dt + g_t dw`` with that kernel has ``f_t = d log(abar_t)/dt`` and
``g_t^2 = abar_t^2 d(bbar_t^2/abar_t^2)/dt``.

Chapter *The reverse-time SDE* ("designing the SDE from its kernel", kexue.fm/archives/9209)
and *DDPM = Bayes + denoising* (kexue.fm/archives/9164).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "VPLinear",
    "VEGeometric",
    "ddpm_discrete",
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
