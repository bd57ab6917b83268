"""Tests of lib.numbertheory.rational_points (chapter "rational-points", kexue.fm 2996).

References are independent of the code under test: brute-force enumeration, SymPy root
finding, closed forms from the literature (Bachet's duplication, Diophantus IV.24, torsion
points listed in Silverman–Tate), and the group axioms as hypothesis properties.
"""

import math
from fractions import Fraction as Fr
from itertools import product

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lib.numbertheory import (
    conic_secant_point,
    cubic_third_point,
    duplication_error_bounds,
    duplication_forms,
    ec_add,
    ec_double,
    ec_mul,
    ec_order,
    naive_height,
    plot_chord_tangent,
    plot_circle_secants,
    pythagorean_triples,
    torsion_candidates,
)

CIRCLE = lambda x, y: x**2 + y**2 - 1  # noqa: E731
BACHET = lambda x, y: y**2 - x**3 + 2  # noqa: E731  y^2 = x^3 - 2


def weierstrass(a, b):
    return lambda x, y: y**2 - x**3 - a * x - b


def on_ec(P, a, b):
    return P is None or P[1] ** 2 == P[0] ** 3 + a * P[0] + b


# -- pythagorean_triples -------------------------------------------------------------------
def brute_force_triples(cmax):
    out = []
    for c in range(1, cmax + 1):
        for a in range(1, c):
            b2 = c * c - a * a
            b = math.isqrt(b2)
            if b * b == b2 and a < b and math.gcd(a, b) == 1:
                out.append((a, b, c))
    return sorted(out, key=lambda t: (t[2], t[0]))


def test_triples_match_brute_force():
    assert pythagorean_triples(300) == brute_force_triples(300)
    assert len(pythagorean_triples(100)) == 16  # known count of primitive triples, c <= 100
    assert pythagorean_triples(25)[:4] == [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25)]


@pytest.mark.parametrize("cmax", [-7, 0, 4])
def test_triples_small_cmax_is_empty(cmax):
    assert pythagorean_triples(cmax) == []
    assert pythagorean_triples(5) == [(3, 4, 5)]


@pytest.mark.parametrize("bad", [10.0, True, "10", None])
def test_triples_bad_cmax(bad):
    with pytest.raises(ValueError, match="cmax"):
        pythagorean_triples(bad)


# -- conic_secant_point --------------------------------------------------------------------
@given(st.fractions(min_value=-50, max_value=50, max_denominator=60))
def test_circle_secant_closed_form(t):
    x, y = conic_secant_point(CIRCLE, (-1, 0), t)
    assert (x, y) == ((1 - t * t) / (1 + t * t), 2 * t / (1 + t * t))
    assert x * x + y * y == 1 and isinstance(x, Fr) and isinstance(y, Fr)
    if (x, y) != (-1, 0):  # the inverse map: slope of the line back to P
        assert y / (x + 1) == t


def test_circle_secant_matches_sympy_roots():
    t, x = sp.symbols("t x")
    roots = sp.solve(sp.expand(x**2 + (t * (x + 1)) ** 2 - 1), x)
    other = [r for r in roots if sp.simplify(r + 1) != 0][0]
    for tv in [Fr(2, 3), Fr(-5, 7), Fr(11, 2)]:
        got = conic_secant_point(CIRCLE, (-1, 0), tv)
        assert got[0] == Fr(str(other.subs(t, sp.Rational(tv.numerator, tv.denominator))))


def test_conic_tangent_and_infinity():
    assert conic_secant_point(CIRCLE, (-1, 0), None) == (-1, 0)  # vertical tangent -> P
    assert conic_secant_point(CIRCLE, (0, 1), 0) == (0, 1)  # horizontal tangent -> P
    hyperbola = lambda x, y: x**2 - y**2 - 1  # noqa: E731
    assert conic_secant_point(hyperbola, (1, 0), 1) is None  # parallel to an asymptote
    assert conic_secant_point(hyperbola, (1, 0), 0) == (-1, 0)
    parabola = lambda x, y: y - x**2  # noqa: E731
    assert conic_secant_point(parabola, (1, 1), None) is None  # the axis direction
    assert conic_secant_point(parabola, (1, 1), 5) == (4, 16)


def test_conic_other_point_and_sympy_constants():
    ell = lambda x, y: x**2 + 3 * y**2 - 4  # noqa: E731
    Q = conic_secant_point(ell, (1, 1), Fr(1, 3))
    assert ell(*Q) == 0 and Q != (1, 1)
    half = lambda x, y: x**2 + y**2 - sp.Rational(1, 2)  # noqa: E731
    assert conic_secant_point(half, (Fr(1, 2), Fr(1, 2)), 0) == (Fr(-1, 2), Fr(1, 2))


def test_conic_bad_input():
    with pytest.raises(ValueError, match="P"):
        conic_secant_point(CIRCLE, (1, 1), 0)
    with pytest.raises(ValueError, match="P"):
        conic_secant_point(CIRCLE, (1, 0, 0), 0)
    with pytest.raises(ValueError, match="P"):
        conic_secant_point(CIRCLE, (1.0, 0), 0)
    with pytest.raises(ValueError, match="t"):
        conic_secant_point(CIRCLE, (1, 0), 0.5)
    with pytest.raises(ValueError, match="t"):
        conic_secant_point(CIRCLE, (1, 0), True)
    with pytest.raises(ValueError, match="F"):
        conic_secant_point(BACHET, (3, 5), 1)  # degree 3
    with pytest.raises(ValueError, match="F"):
        conic_secant_point(lambda x, y: x**2 + y**2 - 0.5, (1, 0), 1)
    with pytest.raises(ValueError, match="F"):
        conic_secant_point(lambda x, y: x**2 - sp.sqrt(2) * y, (0, 0), 1)
    with pytest.raises(ValueError, match="F"):
        conic_secant_point("x^2 + y^2 - 1", (1, 0), 1)
    with pytest.raises(ValueError, match="F"):
        conic_secant_point(lambda x, y: 0 * x, (1, 0), 1)
    with pytest.raises(ValueError, match="t"):  # y = 0 lies in the line pair xy = 0
        conic_secant_point(lambda x, y: x * y, (1, 0), 0)


# -- cubic_third_point ---------------------------------------------------------------------
def test_cubic_literature_examples():
    # Bachet's duplication on y^2 = x^3 - 2 from (3, 5)
    assert cubic_third_point(BACHET, (3, 5)) == (Fr(129, 100), Fr(383, 1000))
    # chord on y^2 = x^3 + 17
    assert cubic_third_point(weierstrass(0, 17), (-2, 3), (-1, 4)) == (4, 9)
    # Diophantus IV.24: x(6 - x) = y^3 - y, tangent at (0, -1)
    assert cubic_third_point(lambda x, y: x * (6 - x) - (y**3 - y), (0, -1)) == (Fr(26, 27),
                                                                                 Fr(17, 9))


def test_cubic_inflection_infinity_multiplicity():
    assert cubic_third_point(weierstrass(0, 1), (0, 1)) == (0, 1)  # (0, 1) is a flex
    assert cubic_third_point(BACHET, (3, 5), (3, -5)) is None  # vertical chord
    fermat = lambda x, y: x**3 + y**3 - 1  # noqa: E731
    assert cubic_third_point(fermat, (1, 0), (0, 1)) is None  # meets at (1 : -1 : 0)
    assert cubic_third_point(fermat, (1, 0)) == (1, 0)
    # the chord from Q to (3, 5) is the tangent at (3, 5): (3, 5) is counted twice
    Q = (Fr(129, 100), Fr(383, 1000))
    assert cubic_third_point(BACHET, Q, (3, 5)) == (3, 5)
    # node y^2 = x^3 + x^2: a chord through the node meets it twice
    node = lambda x, y: y**2 - x**3 - x**2  # noqa: E731
    assert cubic_third_point(node, (0, 0), (3, 6)) == (0, 0)
    # a conic passed as a cubic: the third point is at infinity
    assert cubic_third_point(CIRCLE, (1, 0), (0, 1)) is None


def test_cubic_matches_sympy_intersection():
    x, y = sp.symbols("x y")
    cases = [((0, 17), (-2, 3), (2, 5)), ((-43, 166), (3, 8), (-5, 16)), ((0, -2), (3, 5), None)]
    for (a, b), P, Q in cases:
        got = cubic_third_point(weierstrass(a, b), P, Q)
        lam = sp.Rational(3 * P[0] ** 2 + a, 2 * P[1]) if Q is None else \
            sp.Rational(Q[1] - P[1], Q[0] - P[0])
        poly = sp.Poly(sp.expand((P[1] + lam * (x - P[0])) ** 2 - x**3 - a * x - b), x)
        known = [P[0], P[0] if Q is None else Q[0]]
        quotient = sp.quo(poly, sp.Poly((x - known[0]) * (x - known[1]), x))
        assert quotient.degree() == 1
        assert got[0] == Fr(str(sp.solve(quotient.as_expr(), x)[0]))


def test_cubic_bad_input():
    with pytest.raises(ValueError, match="P"):
        cubic_third_point(BACHET, (3, 4))
    with pytest.raises(ValueError, match="Q"):
        cubic_third_point(BACHET, (3, 5), (1, 1))
    with pytest.raises(ValueError, match="P"):  # tangent at the node is undefined
        cubic_third_point(lambda x, y: y**2 - x**3 - x**2, (0, 0))
    with pytest.raises(ValueError, match="Q"):  # x = 0 lies in x (x^2 + y^2 - 1) = 0
        cubic_third_point(lambda x, y: x * (x**2 + y**2 - 1), (0, 1), (0, -1))
    with pytest.raises(ValueError, match="P"):  # tangent y = 0 lies in y (y - x^2) = 0
        cubic_third_point(lambda x, y: y * (y - x**2), (1, 0))
    with pytest.raises(ValueError, match="F"):
        cubic_third_point(lambda x, y: x**4 - y, (1, 1))
    with pytest.raises(ValueError, match="Q"):
        cubic_third_point(BACHET, (3, 5), (Fr(3), 5.0))


# -- the group law -------------------------------------------------------------------------
def test_ec_add_edge_cases():
    a, b = 0, -2
    P = (3, 5)
    assert ec_add(None, P, a, b) == P and ec_add(P, None, a, b) == P
    assert ec_add(None, None, a, b) is None
    assert ec_add(P, (3, -5), a, b) is None
    assert ec_double((-1, 0), 0, 1) is None  # a 2-torsion point
    assert ec_double(P, a, b) == (Fr(129, 100), Fr(-383, 1000))
    assert all(isinstance(c, Fr) for c in ec_add((-2, 3), (-1, 4), 0, 17))
    assert ec_add((-2, 3), (-1, 4), 0, 17) == (4, -9)


def test_ec_orders_from_the_literature():
    # y^2 = x^3 + 1: E(Q) = Z/6 (Silverman–Tate); y^2 = x^3 + 4x: (2, 4) has order 4
    assert [ec_order(P, 0, 1) for P in [(-1, 0), (0, 1), (0, -1), (2, 3), (2, -3)]] == \
        [2, 3, 3, 6, 6]
    assert ec_order((2, 4), 4, 0) == 4 and ec_order(None, 4, 0) == 1
    assert ec_order((3, 8), -43, 166) == 7  # the classical order-7 point
    assert ec_order((3, 5), 0, -2) is None and ec_order((-2, 3), 0, 17) is None
    assert [ec_order((x, 0), -1, 0) for x in (-1, 0, 1)] == [2, 2, 2]  # Z/2 x Z/2


def test_ec_mul():
    a, b, P = 0, -2, (3, 5)
    Q = None
    for n in range(0, 9):
        assert ec_mul(P, n, a, b) == Q
        assert ec_mul(P, -n, a, b) == (None if Q is None else (Q[0], -Q[1]))
        Q = ec_add(Q, P, a, b)
    assert ec_mul(None, 5, a, b) is None and ec_mul(None, -3, a, b) is None
    assert ec_mul((2, 3), 6, 0, 1) is None and ec_mul((2, 3), 7, 0, 1) == (2, 3)


def test_ec_bad_input():
    for a, b in [(0, 0), (-3, 2)]:  # cusp, node
        with pytest.raises(ValueError, match="a, b"):
            ec_add(None, None, a, b)
    with pytest.raises(ValueError, match="a"):
        ec_add((3, 5), (3, 5), 0.0, -2)
    with pytest.raises(ValueError, match="b"):
        ec_add((3, 5), (3, 5), 0, True)
    with pytest.raises(ValueError, match="P"):
        ec_add((3, 4), (3, 5), 0, -2)
    with pytest.raises(ValueError, match="Q"):
        ec_add((3, 5), (3, 4), 0, -2)
    with pytest.raises(ValueError, match="P"):
        ec_double((3,), 0, -2)
    with pytest.raises(ValueError, match="n"):
        ec_mul((3, 5), 2.0, 0, -2)
    with pytest.raises(ValueError, match="P"):
        ec_order((0, 0), 0, -2)
    with pytest.raises(ValueError, match="x"):
        naive_height(0.5)


def test_torsion_candidates():
    assert torsion_candidates(0, 1) == [(-1, 0), (0, -1), (0, 1), (2, -3), (2, 3)]
    assert torsion_candidates(0, -2) == []  # y^2 = x^3 - 2: trivial torsion
    got = torsion_candidates(-43, 166)
    assert len(got) == 6 and all(ec_order(P, -43, 166) == 7 for P in got)
    # every torsion point found by brute force over small multiples is a candidate
    for a, b, P in [(4, 0, (2, 4)), (-1, 0, (1, 0)), (0, 1, (2, 3))]:
        n = ec_order(P, a, b)
        assert {ec_mul(P, k, a, b) for k in range(1, n)} <= set(torsion_candidates(a, b))


@settings(max_examples=30, deadline=None)
@given(st.integers(-30, 30), st.integers(-30, 30))
def test_torsion_candidates_complete(a, b):
    """The Cauchy bound loses nothing: compare with a search over a wide box."""
    assume(4 * a**3 + 27 * b**2 != 0)
    D = abs(4 * a**3 + 27 * b**2)
    box = set()
    for x in range(-200, 201):  # here every admissible point has |x| < 60
        r = x**3 + a * x + b
        y = math.isqrt(r) if r >= 0 else -1
        if y >= 0 and y * y == r and (y == 0 or D % (y * y) == 0):
            box |= {(Fr(x), Fr(y)), (Fr(x), Fr(-y))}
    assert torsion_candidates(a, b) == sorted(box)


def test_torsion_candidates_bad_input():
    with pytest.raises(ValueError, match="a"):
        torsion_candidates(Fr(1, 2), 1)
    with pytest.raises(ValueError, match="b"):
        torsion_candidates(0, 1.0)
    with pytest.raises(ValueError, match="a, b"):
        torsion_candidates(0, 0)


def test_naive_height():
    assert naive_height(0) == 0.0 and naive_height(Fr(-7, 3)) == math.log(7)
    assert naive_height(Fr(129, 100)) == math.log(129)
    big = Fr(10**4000 + 1, 3)
    assert math.isfinite(naive_height(big)) and abs(naive_height(big) - 4000 * math.log(10)) < 1e-9


# -- hypothesis: the group axioms on curves through random rational points -----------------
small = st.fractions(min_value=-12, max_value=12, max_denominator=6)


def curve_through(P, Q):
    """(a, b) of the Weierstrass curve through two points with distinct x."""
    (x1, y1), (x2, y2) = P, Q
    a = ((y1 * y1 - x1**3) - (y2 * y2 - x2**3)) / (x1 - x2)
    return a, y1 * y1 - x1**3 - a * x1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(small, small, small, small)
def test_group_axioms(x1, y1, x2, y2):
    assume(x1 != x2)
    P, Q = (x1, y1), (x2, y2)
    a, b = curve_through(P, Q)
    assume(4 * a**3 + 27 * b**2 != 0)
    R = ec_add(ec_double(P, a, b), (Q[0], -Q[1]), a, b)  # 2P - Q, a third point
    pts = [None, P, Q, R]
    for U, V in product(pts, repeat=2):
        S = ec_add(U, V, a, b)
        assert on_ec(S, a, b)  # closure
        assert S == ec_add(V, U, a, b)  # commutativity
    for U in pts:
        assert ec_add(U, None, a, b) == U  # identity
        assert ec_add(U, None if U is None else (U[0], -U[1]), a, b) is None  # inverse
    for U, V, W in product(pts[1:], repeat=3):
        assert ec_add(ec_add(U, V, a, b), W, a, b) == ec_add(U, ec_add(V, W, a, b), a, b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(small, small, small, small)
def test_sum_is_reflected_third_point(x1, y1, x2, y2):
    """ec_add agrees with the generic chord–tangent construction, up to the reflection."""
    assume(x1 != x2)
    P, Q = (x1, y1), (x2, y2)
    a, b = curve_through(P, Q)
    assume(4 * a**3 + 27 * b**2 != 0)
    F = weierstrass(a, b)
    for U, V in [(P, Q), (P, P), (Q, Q)]:
        S = ec_add(U, V, a, b)
        T = cubic_third_point(F, U, V)
        assert (S is None and T is None) or S == (T[0], -T[1])


@settings(max_examples=30, deadline=None)
@given(st.integers(-6, 6), st.integers(-6, 6))
def test_multiples_are_a_homomorphism(m, n):
    a, b, P = 0, 17, (-2, 3)
    assert ec_add(ec_mul(P, m, a, b), ec_mul(P, n, a, b), a, b) == ec_mul(P, m + n, a, b)
    assert ec_mul(ec_mul(P, m, a, b), n, a, b) == ec_mul(P, m * n, a, b)


# -- duplication forms and the height bounds ------------------------------------------------
@pytest.mark.parametrize("a, b, P", [(0, -2, (3, 5)), (0, 17, (-2, 3)), (-43, 166, (3, 8)),
                                     (-7, 10, (1, 2))])
def test_duplication_forms_give_x_of_2p(a, b, P):
    xs = sp.symbols("x")
    ref = (xs**4 - 2 * a * xs**2 - 8 * b * xs + a**2) / (4 * (xs**3 + a * xs + b))  # SymPy
    Q = P
    for _ in range(4):
        m, n = Fr(Q[0]).numerator, Fr(Q[0]).denominator
        phi, psi = duplication_forms(m, n, a, b)
        D = ec_double(Q, a, b)
        if D is None:
            break
        assert Fr(phi, psi) == D[0] == Fr(str(ref.subs(xs, sp.Rational(m, n))))
        Q = D


def test_duplication_forms_on_arrays_and_bad_input():
    import numpy as np

    phi, psi = duplication_forms(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 0, -2)
    assert phi.tolist() == [1 + 16, 16 + 32] and psi.tolist() == [4 * (1 - 2), 4 * (8 - 2)]
    with pytest.raises(ValueError, match="a"):
        duplication_forms(1, 1, 0.5, 1)


def test_duplication_error_bounds_known_values_and_validity():
    lo, hi, R = duplication_error_bounds(0, -2)
    m = sp.symbols("m")
    assert R == abs(sp.resultant(m**4 + 16 * m, 4 * m**3 - 8, m))  # independent SymPy resultant
    assert hi == pytest.approx(math.log(17)) and lo < 0 < hi
    for a, b, P in [(0, -2, (3, 5)), (0, 17, (-2, 3)), (-2, 5, (1, 2))]:
        lo, hi, R = duplication_error_bounds(a, b)
        Q = (Fr(P[0]), Fr(P[1]))
        for _ in range(5):
            D = ec_double(Q, a, b)
            e = naive_height(D[0]) - 4 * naive_height(Q[0])
            phi, psi = duplication_forms(Q[0].numerator, Q[0].denominator, a, b)
            assert lo <= e <= hi and R % math.gcd(phi, psi) == 0
            Q = D


def test_duplication_error_bounds_bad_input():
    with pytest.raises(ValueError, match="singular"):
        duplication_error_bounds(0, 0)
    with pytest.raises(ValueError, match="grid"):
        duplication_error_bounds(0, -2, grid=2)
    with pytest.raises(ValueError, match="b"):
        duplication_error_bounds(0, Fr(1, 2))


def test_plots_draw_the_constructions():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2)
    plot_circle_secants(ax1, [(Fr(3, 5), Fr(4, 5)), (Fr(0), Fr(1))], [Fr(1, 2), Fr(1)])
    assert len(ax1.lines) == 1 + 2 + 1 and len(ax1.collections) == 1
    plot_chord_tangent(ax2, 0, 17, (Fr(-2), Fr(3)), (Fr(-1), Fr(4)), (-2.6, 5))
    marked = {(x, y) for line in ax2.lines[4:] for x, y in line.get_xydata()}
    assert {(-2.0, 3.0), (-1.0, 4.0), (4.0, 9.0), (4.0, -9.0)} <= marked  # P, Q, R, P + Q
    plt.close(fig)
