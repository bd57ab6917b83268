"""The d -> infinity limit of the RoPE bound: the cosine integral.

Chapter *The RoPE base lower bound*, section "The d -> infinity limit and the cosine
integral" (kexue.fm/archives/10122).
"""

from __future__ import annotations

import numpy as np

from lib.transformers.rope import _EPS, _check_base, _check_length

__all__ = [
    "ci_first_zero",
    "cos_sum_limit",
    "asymptotic_base_bound",
    "infinite_d_base_bound",
]


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
    concave there, so the iterates increase monotonically to the root and never pass it),
    vectorised over m; it stops once every step is below 1e-13, when the quadratic error
    term (~1e-26) is far below rounding.
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
        x = x - step
        if np.max(np.abs(step)) < 1e-13:  # quadratic convergence: x is now exact to rounding
            break  # (after ~7 steps for every m: the loop bound 30 is never reached)
    return float(np.max(m / x))
