r"""Rational points by chord and tangent, in exact rational arithmetic.

Chapter "rational-points" (kexue.fm 2996). A line with rational coefficients meets a curve
with rational coefficients in points whose parameters are the roots of a polynomial with
rational coefficients. When all roots but one are known rational numbers, Vieta's formula
makes the last one rational too:

* **conic, secant method** ({eq}`eq-rational-points-conic`): on the line ``P + s d`` the conic
  restricts to ``A s^2 + B s`` (``s = 0`` is P), so the second point is ``s = -B / A``;
* **cubic, chord–tangent method** ({eq}`eq-rational-points-vieta`): on the chord PQ
  (``s = 0, 1``) the cubic restricts to ``c3 s^3 + c2 s^2 + c1 s``, whose third root is
  ``s = -c2/c3 - 1``; on the tangent at P (``s = 0`` twice) it is ``s = -c2/c3``;
* **elliptic curves** ``y^2 = x^3 + a x + b`` ({eq}`eq-rational-points-addition`): the group
  law reflects the third intersection, ``P + Q = (x3, -y3)``;
* **heights** ({eq}`eq-rational-points-dup-forms`): ``x(2P)`` as a ratio of two binary quartic
  forms, and the proven bounds on how far a doubling is from multiplying the height by four;
* the chapter's two construction figures (:func:`plot_circle_secants`, :func:`plot_chord_tangent`).

Conventions (contract ``shared/contracts/geometry.md``, section ``lib.numbertheory``):
rationals are ``int`` or ``fractions.Fraction`` (any ``numbers.Rational``; floats and bools
raise ``ValueError``); a point is a pair ``(x, y)``; returned points are tuples of two
``Fraction``; the point at infinity is ``None``. A curve ``F`` is a callable ``F(x, y)``
built from ``+ - *``, non-negative integer powers and rational constants.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np
import sympy as sp

from lib import checks

__all__ = [
    "pythagorean_triples",
    "conic_secant_point",
    "cubic_third_point",
    "ec_add",
    "ec_double",
    "ec_mul",
    "ec_order",
    "torsion_candidates",
    "naive_height",
    "duplication_forms",
    "duplication_error_bounds",
    "plot_circle_secants",
    "plot_chord_tangent",
]

_X, _Y = sp.symbols("x y")

#: No point of finite order on y^2 = x^3 + ax + b over Q has order > 12 (Mazur, 1977).
MAZUR_BOUND = 12


# -- argument checks -----------------------------------------------------------------------
def _rational(v, name: str) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, numbers.Rational):
        raise ValueError(f"{name} must be a rational number (int or Fraction), got {v!r}")
    return Fraction(int(v.numerator), int(v.denominator))


def _point(P, name: str) -> tuple[Fraction, Fraction]:
    if not isinstance(P, tuple | list) or len(P) != 2:
        raise ValueError(f"{name} must be a pair (x, y) of rationals, got {P!r}")
    return _rational(P[0], f"{name}[0]"), _rational(P[1], f"{name}[1]")


def _monomials(F, max_degree: int) -> dict[tuple[int, int], Fraction]:
    """``F`` as ``{(i, j): coefficient of x^i y^j}``; checks rational coefficients and degree."""
    if not callable(F):
        raise ValueError(f"F must be a callable F(x, y), got {type(F).__name__}")
    try:
        expr = sp.expand(sp.sympify(F(_X, _Y)))
        if expr.has(sp.Float):
            raise ValueError("it has a floating-point coefficient")
        poly = sp.Poly(expr, _X, _Y, domain=sp.QQ)
    except (TypeError, ValueError, sp.SympifyError, sp.polys.polyerrors.PolynomialError,
            sp.polys.polyerrors.CoercionFailed) as err:
        raise ValueError(f"F must be a polynomial in x, y with rational coefficients ({err})") \
            from None
    if poly.is_zero:
        raise ValueError("F is the zero polynomial: it does not define a curve")
    if poly.total_degree() > max_degree:
        raise ValueError(f"F must have degree <= {max_degree}, got {poly.total_degree()}")
    return {m: Fraction(int(c.p), int(c.q)) for m, c in poly.terms()}


def _value(terms, P) -> Fraction:
    return sum((c * P[0] ** i * P[1] ** j for (i, j), c in terms.items()), Fraction(0))


def _on_curve(terms, P, name: str, what: str) -> None:
    v = _value(terms, P)
    if v != 0:
        raise ValueError(f"{name} = ({P[0]}, {P[1]}) is not on the {what}: F({name}) = {v}")


def _restrict(terms, P, d, degree: int) -> list[Fraction]:
    """Coefficients ``c[0..degree]`` of ``s -> F(P + s d)`` (exact polynomial expansion)."""
    c = [Fraction(0)] * (degree + 1)
    for (i, j), coef in terms.items():
        poly = [coef]  # (P_x + s d_x)^i (P_y + s d_y)^j, multiplied out factor by factor
        for base, step in [(P[0], d[0])] * i + [(P[1], d[1])] * j:
            poly = [base * u + step * v for u, v in zip(poly + [0], [0] + poly, strict=True)]
        for k, v in enumerate(poly):
            c[k] += v
    return c


def _gradient(terms, P) -> tuple[Fraction, Fraction]:
    fx = sum((c * i * P[0] ** (i - 1) * P[1] ** j for (i, j), c in terms.items() if i),
             Fraction(0))
    fy = sum((c * j * P[0] ** i * P[1] ** (j - 1) for (i, j), c in terms.items() if j),
             Fraction(0))
    return fx, fy


# -- conics: the secant method -------------------------------------------------------------
def pythagorean_triples(cmax) -> list[tuple[int, int, int]]:
    """All primitive Pythagorean triples ``(a, b, c)`` with ``a < b`` and ``c <= cmax``.

    Chapter "rational-points", Eq. (eq-rational-points-triples): ``(q^2 - p^2, 2pq, q^2 + p^2)``
    with ``q > p >= 1`` coprime and of opposite parity, legs ordered; sorted by c, then a.
    ``cmax < 5`` gives ``[]``. ValueError: cmax not an integer.
    """
    cmax = checks.integer(cmax, "cmax")
    out = []
    q = 2
    while q * q + 1 <= cmax:
        for p in range(1 + q % 2, q, 2):  # p of the other parity than q
            if q * q + p * p <= cmax and math.gcd(p, q) == 1:
                a, b = q * q - p * p, 2 * p * q
                out.append((min(a, b), max(a, b), q * q + p * p))
        q += 1
    return sorted(out, key=lambda t: (t[2], t[0]))


def conic_secant_point(F, P, t):
    """Second intersection of the conic ``F = 0`` with the line through P of slope ``t``.

    Chapter "rational-points", Eq. (eq-rational-points-conic). The line is ``P + s (1, t)``
    (``t=None``: the vertical line ``P + s (0, 1)``); on it ``F = A s^2 + B s`` and the answer
    is ``P + (-B/A) d``: P itself for the tangent (``B = 0``), ``None`` when ``A = 0`` (the second
    point is at infinity). ValueError: F not of degree <= 2, P not on the conic, t not
    rational, the line lies in the conic.
    """
    terms = _monomials(F, 2)
    P = _point(P, "P")
    _on_curve(terms, P, "P", "conic")
    d = (Fraction(0), Fraction(1)) if t is None else (Fraction(1), _rational(t, "t"))
    _, B, A = _restrict(terms, P, d, 2)
    if A == 0 and B == 0:
        raise ValueError(f"t = {t}: this line through P lies inside the conic")
    if A == 0:
        return None
    s = -B / A
    return (P[0] + s * d[0], P[1] + s * d[1])


# -- cubics: the chord-tangent method ------------------------------------------------------
def cubic_third_point(F, P, Q=None):
    """Third intersection of the line PQ (or the tangent at P) with the cubic ``F = 0``.

    Chapter "rational-points", Eq. (eq-rational-points-vieta). The chord ``P + s (Q - P)``
    meets the cubic at ``s = 0, 1`` and, by Vieta, at ``s = -c2/c3 - 1`` where ``c3 s^3 + c2 s^2
    + c1 s`` is F on the line. ``Q=None`` or ``Q == P``: the tangent at P, direction
    ``(F_y(P), -F_x(P))``, double root ``s = 0``, third root ``s = -c2/c3`` (P again at an
    inflection point). Roots are counted with multiplicity. ``None`` when the third point is at
    infinity (``c3 = 0``). ValueError: F not of degree <= 3, P or Q off the curve, tangent at a
    singular point, the line lies in the curve.
    """
    terms = _monomials(F, 3)
    P = _point(P, "P")
    _on_curve(terms, P, "P", "curve")
    Q = P if Q is None else _point(Q, "Q")
    _on_curve(terms, Q, "Q", "curve")
    if Q == P:
        fx, fy = _gradient(terms, P)
        if fx == 0 and fy == 0:
            raise ValueError(f"P = ({P[0]}, {P[1]}) is a singular point (F_x = F_y = 0): "
                             "the tangent is not defined")
        d, shift, culprit = (fy, -fx), 0, "P (its tangent)"
    else:
        d, shift, culprit = (Q[0] - P[0], Q[1] - P[1]), 1, "Q (the line PQ)"
    c = _restrict(terms, P, d, 3)
    if c[3] == 0:
        if not any(c):
            raise ValueError(f"{culprit} lies inside the curve: no third intersection")
        return None
    s = -c[2] / c[3] - shift
    return (P[0] + s * d[0], P[1] + s * d[1])


# -- elliptic curves: the group law --------------------------------------------------------
def _curve(a, b) -> tuple[Fraction, Fraction]:
    a, b = _rational(a, "a"), _rational(b, "b")
    if 4 * a**3 + 27 * b**2 == 0:
        raise ValueError(f"a, b: y^2 = x^3 + ({a})x + ({b}) is singular (4a^3 + 27b^2 = 0)")
    return a, b


def _ec_point(P, name: str, a: Fraction, b: Fraction):
    if P is None:
        return None
    P = _point(P, name)
    if P[1] ** 2 != P[0] ** 3 + a * P[0] + b:
        raise ValueError(f"{name} = ({P[0]}, {P[1]}) is not on y^2 = x^3 + ({a})x + ({b})")
    return P


def _add(P, Q, a: Fraction):
    """The group law on already-validated points (the core of :func:`ec_add`)."""
    if P is None:
        return Q
    if Q is None:
        return P
    (x1, y1), (x2, y2) = P, Q
    if x1 == x2:
        if y1 == -y2:  # P + (-P), including the doubling of a point with y = 0
            return None
        lam = (3 * x1 * x1 + a) / (2 * y1)  # tangent
    else:
        lam = (y2 - y1) / (x2 - x1)  # chord
    x3 = lam * lam - x1 - x2
    y3 = y1 + lam * (x3 - x1)
    return (x3, -y3)


def ec_add(P, Q, a, b):
    """``P + Q`` on ``y^2 = x^3 + a x + b``: the reflection of the third intersection.

    Chapter "rational-points", Eq. (eq-rational-points-addition): ``lam = (y2 - y1)/(x2 - x1)``,
    or ``(3 x1^2 + a)/(2 y1)`` when ``P = Q``; ``x3 = lam^2 - x1 - x2``, ``y3 = y1 + lam (x3 - x1)``;
    the sum is ``(x3, -y3)``. ``None`` is the identity; ``P + (-P) = None``. ValueError: singular
    curve (``4a^3 + 27b^2 = 0``), a point off the curve, non-rational input.
    """
    a, b = _curve(a, b)
    return _add(_ec_point(P, "P", a, b), _ec_point(Q, "Q", a, b), a)


def ec_double(P, a, b):
    """``2P = ec_add(P, P, a, b)``: the tangent construction (chapter "rational-points")."""
    return ec_add(P, P, a, b)


def ec_mul(P, n, a, b):
    """``n P`` for any integer n (``-P = (x, -y)``), by double-and-add.

    Chapter "rational-points", section on heights and orders. ValueError: n not an integer,
    and the checks of :func:`ec_add`.
    """
    a, b = _curve(a, b)
    P = _ec_point(P, "P", a, b)
    n = checks.integer(n, "n")
    if P is None:
        return None
    if n < 0:
        P, n = (P[0], -P[1]), -n
    result, power = None, P
    while n:
        if n & 1:
            result = _add(result, power, a)
        power, n = _add(power, power, a), n >> 1
    return result


def ec_order(P, a, b):
    """The order of P in the group of rational points, or ``None`` if it is infinite.

    Chapter "rational-points", section on orders: the smallest ``n >= 1`` with ``n P = None``.
    By Mazur's theorem a rational point of finite order has order at most 12, so after 12
    steps without reaching the identity the order is infinite. ValueError: as :func:`ec_add`.
    """
    a, b = _curve(a, b)
    P = _ec_point(P, "P", a, b)
    Q = P
    for n in range(1, MAZUR_BOUND + 1):
        if Q is None:
            return n
        Q = _add(Q, P, a)
    return None


def torsion_candidates(a, b) -> list[tuple[Fraction, Fraction]]:
    """Integer points of ``y^2 = x^3 + a x + b`` with ``y = 0`` or ``y^2 | 4a^3 + 27b^2``.

    Chapter "rational-points", section on orders. By the Nagell–Lutz theorem every rational
    point of finite order other than O is in this list (the converse fails in general). For
    each admissible y the integer roots of ``x^3 + a x + b - y^2`` lie in
    ``|x| <= 1 + max(|a|, |b - y^2|)`` (Cauchy's bound), so the search is complete. Sorted by
    (x, y). ValueError: a or b not an integer, singular curve.
    """
    a, b = checks.integer(a, "a"), checks.integer(b, "b")
    _curve(a, b)
    D = abs(4 * a**3 + 27 * b**2)
    ys = [0] + [s * v for v in range(1, math.isqrt(D) + 1) if D % (v * v) == 0 for s in (1, -1)]
    found = []
    for v in ys:
        bound = 1 + max(abs(a), abs(b - v * v))
        found += [(Fraction(u), Fraction(v)) for u in range(-bound, bound + 1)
                  if v * v == u**3 + a * u + b]
    return sorted(found)


def naive_height(x) -> float:
    """``h(x) = log max(|m|, |n|)`` for ``x = m/n`` in lowest terms (natural log).

    Chapter "rational-points", section on heights (``h(x)``); exact integers go into
    ``math.log``, so it is finite for numerators of any size. ValueError: x not rational.
    """
    x = _rational(x, "x")
    return math.log(max(abs(x.numerator), x.denominator))


def duplication_forms(m, n, a, b):
    """``(Phi(m, n), Psi(m, n))`` with ``x(2P) = Phi / Psi`` for ``x(P) = m / n``.

    Chapter "rational-points", Eq. (eq-rational-points-dup-forms):
    ``Phi = m^4 - 2a m^2 n^2 - 8b m n^3 + a^2 n^4``, ``Psi = 4n (m^3 + a m n^2 + b n^3)``. Exact
    for Python integers of any size; NumPy arrays for ``m``, ``n`` are evaluated elementwise.
    ValueError: a or b not an integer.
    """
    a, b = checks.integer(a, "a"), checks.integer(b, "b")
    return (m**4 - 2 * a * m**2 * n**2 - 8 * b * m * n**3 + a**2 * n**4,
            4 * n * (m**3 + a * m * n**2 + b * n**3))


def duplication_error_bounds(a, b, grid=200_000) -> tuple[float, float, int]:
    """``(lo, hi, R)``: proven bounds ``lo <= h(x(2P)) - 4 h(x(P)) <= hi`` on ``y^2 = x^3 + ax + b``.

    Chapter "rational-points", section on heights. With the forms of :func:`duplication_forms`,
    ``hi = log L`` (``L`` the larger sum of absolute coefficients) and ``lo = log(mu) - log R``,
    where ``R = |resultant|`` of the two forms (the gcd of ``Phi(m, n)``, ``Psi(m, n)`` divides
    it; SymPy) and ``mu`` is a lower bound of ``max(|Phi|, |Psi|)`` on the boundary of the
    square ``[-1, 1]^2``: the minimum over ``grid + 1`` points per side minus the Lipschitz slack
    ``4L`` times half the spacing. ValueError: singular curve, ``grid < 2``, ``mu <= 0`` (grid
    too coarse).
    """
    a, b = checks.integer(a, "a"), checks.integer(b, "b")
    _curve(a, b)
    grid = checks.integer(grid, "grid", minimum=2)
    m = sp.symbols("m")
    phi, psi = (sp.Poly(f, m) for f in duplication_forms(m, 1, a, b))
    R = int(abs(sp.resultant(phi, psi)))  # Psi has degree 3 in m: the forms' resultant is this
    L = max(1 + 2 * abs(a) + 8 * abs(b) + a * a, 4 * (1 + abs(a) + abs(b)))
    u = np.linspace(-1, 1, grid + 1)
    side = [np.maximum(np.abs(f), np.abs(g)).min()
            for f, g in (duplication_forms(1.0, u, a, b), duplication_forms(u, 1.0, a, b))]
    mu = min(side) - 4 * L * (u[1] - u[0]) / 2
    if mu <= 0:
        raise ValueError(f"grid = {grid} is too coarse for a positive lower bound")
    return math.log(mu) - math.log(R), math.log(L), R


# -- figures (matplotlib axes in, drawn on; exact points converted to floats only here) ------
def plot_circle_secants(ax, points, slopes) -> None:
    """Chapter "rational-points", Eq. (eq-rational-points-circle): the unit circle, ``points``
    (pairs of Fractions) as dots, and the chord from ``P = (-1, 0)`` to
    :func:`conic_secant_point` for each rational slope in ``slopes``."""
    th = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(th), np.sin(th), color="0.6", lw=1)
    ax.scatter(*zip(*[(float(u), float(v)) for u, v in points], strict=True), s=9, color="k",
               zorder=3, label="rational points")
    for t in slopes:
        Q = conic_secant_point(lambda u, v: u**2 + v**2 - 1, (-1, 0), t)
        ax.plot([-1, float(Q[0])], [0, float(Q[1])], lw=1.2, label=f"$t={t}$")
    ax.plot([-1], [0], "o", color="C1", ms=7)
    ax.annotate("$P$", (-1, 0), xytext=(-1.25, 0.08))
    ax.set(aspect="equal", xlim=(-1.2, 2.7), xlabel="$x$", ylabel="$y$")
    ax.legend(fontsize=7, loc="center right")


def plot_chord_tangent(ax, a, b, P, Q, xlim) -> None:
    """Chapter "rational-points", Eqs. (eq-rational-points-vieta), (eq-rational-points-addition):
    ``y^2 = x^3 + ax + b`` over ``xlim``, the chord PQ (the tangent if ``Q`` is None), the (finite)
    third point R of :func:`cubic_third_point` and its reflection, ``P + Q`` by :func:`ec_add`."""
    xs = np.linspace(*xlim, 2000)
    rhs = xs**3 + a * xs + b
    ys = np.where(rhs >= 0, np.sqrt(np.clip(rhs, 0, None)), np.nan)
    ax.plot(xs, ys, xs, -ys, color="0.4", lw=1.2)
    R = cubic_third_point(lambda u, v: v**2 - u**3 - a * u - b, P, Q)
    S = ec_add(P, P if Q is None else Q, a, b)
    xx = np.array([float(e[0]) for e in ([P, R] if Q is None else [P, Q, R])])
    line_x = np.linspace(xx.min() - 0.4, xx.max() + 0.4, 10)
    slope = float((R[1] - P[1]) / (R[0] - P[0]))
    ax.plot(line_x, float(P[1]) + slope * (line_x - float(P[0])), color="C1")
    ax.plot([float(R[0])] * 2, [float(R[1]), float(S[1])], "--", color="C2")
    for pt, name in [(P, "$P$"), (Q, "$Q$"), (R, "$R$"), (S, "$2P$" if Q is None else "$P+Q$")]:
        if pt is not None:
            ax.plot(float(pt[0]), float(pt[1]), "o", color="k", ms=5)
            ax.annotate(name, (float(pt[0]), float(pt[1])), xytext=(5, 5),
                        textcoords="offset points")
    ax.set(xlabel="$x$", ylabel="$y$")
