"""Tests of lib/transformers/rope_feasibility.py against the reference definition: the direct
float64 sum f_b(m) = sum_i cos(m b^(-2i/d)), evaluated here for every m (brute force).

The blocked evaluator splits 0 <= m < L into rows of C values (C a power of two ~ sqrt(L));
these tests pick lengths and bases where that structure could show: a first negative just past
L inside the last row, a minimum in a late row, values closer to zero than the rounding bound."""

import numpy as np
import pytest
import torch

from lib import transformers
from lib.transformers.rope import _EPS
from lib.transformers.rope_feasibility import _Oracle


def f_all(b: float, L: int, d: int) -> np.ndarray:
    """f_b(m) for m = 0 .. L-1: the definition, one cosine per term."""
    i = np.arange(d // 2, dtype=np.float64)
    return np.cos(np.arange(L, dtype=np.float64)[:, None] * b ** (-2 * i / d)).sum(1)


def first_neg(f: np.ndarray) -> int:
    neg = np.nonzero(f < 0)[0]
    return int(neg[0]) if neg.size else len(f)


# Two bases 1.7e-12 apart at the 1k boundary (d = 128): f_b(1009) = +3.0e-11 and -3.0e-11 by the
# direct sum, every other |f_b(m)| > 0.5. The blocked evaluator's rounding allowance there is
# d (L + 8) eps + 1e-10 = 1.3e-10, so the sign at m = 1009 must come from the direct sum.
B_PLUS, B_MINUS = 4293.437569263411, 4293.437569261741


def test_values_inside_the_rounding_bound_get_the_reference_sign():
    L, d = 1024, 128
    fp, fm = f_all(B_PLUS, L, d), f_all(B_MINUS, L, d)
    assert 0 < fp.min() < 1e-10 and -1e-10 < fm.min() < 0 and first_neg(fm) == 1009
    assert transformers.first_negative(B_PLUS, L) == L and transformers.is_feasible(B_PLUS, L)
    assert transformers.first_negative(B_MINUS, L) == 1009
    np.testing.assert_array_equal(transformers.feasibility_profile([B_MINUS, B_PLUS], L),
                                  [1009, L])
    assert transformers.cos_sum_min(B_MINUS, L) == (fm.min(), 1009)
    oracle = _Oracle(L, d)
    assert oracle.refute(B_PLUS) is None and oracle.refute(B_PLUS, hint=1009) is None
    assert oracle.refute(B_MINUS) == 1009 and oracle.refute(B_MINUS, hint=3) == 1009


@pytest.mark.parametrize("b,d", [(3000.0, 128), (1000.0, 16), (20250.0, 128)])
def test_first_negative_and_minimum_for_every_length(b, d):
    """first_negative(b, L) = min(m*, L) and cos_sum_min = the brute-force (min, argmin) for
    every L up to past the first negative m*: the last row's unused tail (m >= L) never counts."""
    f = f_all(b, 4160, d)
    m_star = first_neg(f)
    assert m_star < 4160
    lengths = list(range(max(1, m_star - 40), m_star + 3)) + [1, 2, 3, 17, 33, 100]
    for L in lengths:
        assert transformers.first_negative(b, L, d) == min(m_star, L), L
        assert transformers.is_feasible(b, L, d) == (L <= m_star)
        lo, arg = transformers.cos_sum_min(b, L, d)
        assert arg == int(np.argmin(f[:L])) and lo == pytest.approx(f[:L].min(), abs=1e-12), L


def test_minimum_in_a_late_block():
    """L = 4160 is 65 rows of 64: the minimum of f at b = 20250 sits in row 64 (m = 4097);
    at L = 8192 the minimum of the 83764 base (near the 8k bound) is at m = 8172."""
    for b, L, m in [(20250.0, 4160, 4097), (83764.0, 8192, 8172)]:
        f = f_all(b, L, 128)
        assert int(np.argmin(f)) == m
        assert transformers.cos_sum_min(b, L) == (pytest.approx(f.min(), abs=1e-11), m)


def test_default_head_size_is_128():
    f = f_all(4293.0, 1024, 128)
    assert transformers.first_negative(4293.0, 1024) == first_neg(f) < 1024
    assert transformers.cos_sum_min(4293.0, 1024)[1] == int(np.argmin(f))


def test_feasibility_profile_keeps_the_shape_of_bases():
    bases = np.array([[10.0, 4293.0, 4293.45], [1e4, 2.0, 5e4]])
    prof = transformers.feasibility_profile(bases, 1024)
    assert prof.shape == (2, 3) and prof.dtype == np.int64
    ref = [[first_neg(f_all(b, 1024, 128)) for b in row] for row in bases]
    np.testing.assert_array_equal(prof, ref)
    scalar = transformers.feasibility_profile(4293.0, 1024)
    assert scalar.shape == () and scalar.dtype == np.int64 and scalar == ref[0][1]
    empty = transformers.feasibility_profile(np.zeros(0), 1024)
    assert empty.shape == (0,) and empty.dtype == np.int64


def test_confirm_decides_values_near_zero_by_the_direct_sum():
    """A blocked value of 0 is within the rounding bound: every entry goes to the direct sum
    (in chunks), ascending returns the first negative m, descending some negative m."""
    L, d, b = 1024, 128, 3000.0
    f = f_all(b, L, d)
    oracle = _Oracle(L, d)
    F = torch.zeros(oracle.A, oracle.C, dtype=torch.float64)
    assert first_neg(f) == 806 and oracle.A * oracle.C == L  # > 3 chunks of 256 before 806
    assert oracle.confirm(b, F, 0) == 806
    assert f[oracle.confirm(b, F, 0, ascending=False)] < 0
    assert oracle.confirm(b, F[25:], 25) == 806  # rows 25.. hold m = 800 ..
    assert oracle.confirm(b, F[:25], 0) is None  # no negative below m = 800
    # suspicious entries m = 0..255 and 806..: the first negative is the 257th suspicious one
    G = torch.ones(L, dtype=torch.float64)
    G[:256] = G[806:] = 0.0
    assert oracle.confirm(b, G.reshape(oracle.A, oracle.C), 0) == 806


def test_rounding_allowance_covers_the_blocked_error_at_1m():
    """The blocked value is within tol of the direct sum for the largest phases the book uses
    (L = 2^20, the last 64 rows, where m theta_0 ~ 1e6 rad); measured error ~3e-10."""
    L, d, b = 2**20, 128, 65374955.14936132  # the stored certified 1M bound
    oracle = _Oracle(L, d)
    th = oracle.theta(b)
    F = oracle.rows(th, oracle.table(th), oracle.A - 64, oracle.A).reshape(-1).numpy()
    ms = np.arange((oracle.A - 64) * oracle.C, L)
    i = np.arange(d // 2, dtype=np.float64)
    ref = np.concatenate([np.cos(ms[s:s + 8192, None] * b ** (-2 * i / d)).sum(1)
                          for s in range(0, ms.size, 8192)])
    assert np.abs(F - ref).max() <= oracle.tol <= d * (L + 8) * _EPS + 1e-10


def exact_zero_base() -> float:
    """A float base b near (3 / (pi - 3))^2 with f_b(3) == 0.0 exactly for d = 4
    (f_b(3) = cos 3 + cos(3 / sqrt b) vanishes there; about one float in ten hits 0.0)."""
    b0 = (3 / (np.pi - 3)) ** 2
    for k in range(-400, 400):
        b = b0 + k * np.spacing(b0)
        if f_all(b, 4, 4)[3] == 0.0:
            return float(b)
    pytest.skip("no float base with f_b(3) == 0.0 exactly on this platform's libm")


def test_a_value_of_exactly_zero_is_feasible():
    """f >= 0 is the condition: a base whose only critical value is 0.0 is feasible."""
    b = exact_zero_base()
    assert f_all(b, 4, 4).min() == 0.0
    assert transformers.first_negative(b, 4, d=4) == 4 and transformers.is_feasible(b, 4, d=4)
    assert _Oracle(4, 4).refute(b) is None and transformers.cos_sum_min(b, 4, d=4) == (0.0, 3)
