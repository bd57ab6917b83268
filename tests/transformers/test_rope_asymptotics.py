"""Tests of lib/transformers/rope_asymptotics.py against independent references: the cosine
integral's zero bracketed by its float neighbours, the d -> infinity limit in float64 for any
input dtype, and the d -> infinity bound against a root-by-root Brent solve."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import sici

from lib import transformers


def bound_by_brent(L: int) -> float:
    """max_{1<=m<L} m / x_m with Ci(x_m) = Ci(m), x_m on Ci's increasing branch (0, pi/2),
    each root found by Brent's method (an independent solver; the lib uses Newton)."""
    if L < 2:
        return 1.0  # no condition: every base > 1 qualifies
    ms = np.arange(1, L)
    xs = [brentq(lambda x, m=m: sici(x)[1] - sici(m)[1], 0.1, math.pi / 2, xtol=1e-16)
          for m in ms]
    return float(np.max(ms / np.array(xs)))


def test_ci_first_zero_is_the_float_nearest_the_root():
    x0 = transformers.ci_first_zero()
    lo, hi = np.nextafter(x0, 0.0), np.nextafter(x0, 1.0)
    assert sici(lo)[1] < 0 < sici(hi)[1]  # the sign change is at x0 (Ci increasing there)
    assert abs(sici(x0)[1]) <= min(abs(sici(lo)[1]), abs(sici(hi)[1]))


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 10, 50, 300])
def test_infinite_d_base_bound_matches_a_brent_solve(L):
    # both solvers put each x_m within a few ulp (Newton converges quadratically, Brent to
    # xtol = 1e-16 + 4 eps |x|); m/x_m inherits ~1e-15 relative error: 1e-14 leaves margin
    assert transformers.infinite_d_base_bound(L) == pytest.approx(bound_by_brent(L), rel=1e-14)


def test_infinite_d_base_bound_small_cases_exactly():
    assert transformers.infinite_d_base_bound(1) == 1.0  # no m < 1: no condition at all
    # L = 2: only m = 1, and Ci(1/b) <= Ci(1) iff 1/b <= 1 on the increasing branch
    assert transformers.infinite_d_base_bound(2) == pytest.approx(1.0, rel=4e-16)


def test_cos_sum_limit_types_and_float64_for_any_input():
    v = transformers.cos_sum_limit(10.0, 1e4)
    assert isinstance(v, float) and not isinstance(v, np.ndarray)  # a scalar for scalars
    ref = (sici(10.0)[1] - sici(10.0 / 1e4)[1]) / math.log(1e4)
    assert v == pytest.approx(ref, rel=1e-15)
    out = transformers.cos_sum_limit(np.array([[0], [1], [300]]), np.array([10.0, 1e4]))
    assert out.shape == (3, 2) and out.dtype == np.float64
    np.testing.assert_array_equal(out[0], 1.0)  # m = 0: the limit of (2/d) * (d/2) is 1
    # float32 (exactly representable) or integer positions give the float64 values
    m64 = np.array([1.0, 10.0, 300.0, 4096.0])
    ref = transformers.cos_sum_limit(m64, 1e4)
    np.testing.assert_array_equal(transformers.cos_sum_limit(m64.astype(np.float32), 1e4), ref)
    np.testing.assert_array_equal(transformers.cos_sum_limit([1, 10, 300, 4096], 1e4), ref)
