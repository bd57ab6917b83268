"""Tests of lib/transformers/rope_search.py against independent references: the scanner of the
article's grid search against brute-force feasibility on a dense grid, the certified strides
against the exact root of their Taylor bound and direct evaluation, and the certified infimum
against an independent first-order certificate."""

import math

import mpmath
import numpy as np
import pytest

from lib import transformers
from lib.transformers import rope_search
from lib.transformers.rope import _EPS
from lib.transformers.rope_feasibility import _Oracle
from lib.transformers.rope_search import _one_step, _Scanner, _witness_steps
from tests.transformers.test_rope_feasibility import B_MINUS, B_PLUS, f_all


def taylor(d: int, m, u: float):
    """g, g' = dg/du and the curvature bound M2 of g(u) = f_{e^u}(m), as the docstring states."""
    c = 2 * np.arange(d // 2) / d
    phi = np.asarray(m, dtype=np.float64)[..., None] * np.exp(-np.multiply.outer(u, c))
    return (np.cos(phi).sum(-1), (c * phi * np.sin(phi)).sum(-1),
            (c * c * (phi * phi + phi)).sum(-1))


def exact_root(g: float, g1: float, M2: float, tol: float) -> float:
    """Positive root of (g + tol) + g1 s + M2 s^2 / 2, to 40 digits."""
    mpmath.mp.dps = 40
    a = -(mpmath.mpf(g) + mpmath.mpf(tol))
    return float((mpmath.sqrt(mpmath.mpf(g1) ** 2 + 2 * mpmath.mpf(M2) * a) - g1) / M2)


def u_where(m: int, d: int, b0: float, b1: float, target: float) -> float:
    """u in [ln b0, ln b1] with g(u) = target (bisection; g - target changes sign there)."""
    lo, hi = math.log(b0), math.log(b1)
    s_lo = taylor(d, m, lo)[0] > target
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if (taylor(d, m, mid)[0] > target) == s_lo else (lo, mid)
    return lo


def first_order_walk(L: int, d: int, start: float, stop: float, margin: float = 1e-9) -> float:
    """Independent certificate: every base in [start, returned) is infeasible. At u = ln b each
    |d f_{e^u}(m) / du| <= m sum_i c_i theta_i(u) for all larger u (the theta_i decrease), so a
    negative f stays negative for (-f - margin) / that bound; take the longest such stride."""
    c = 2 * np.arange(d // 2) / d
    ms = np.arange(1, L, dtype=np.float64)
    u = math.log(start)
    while u < math.log(stop):
        th = np.exp(-c * u)
        t = (-np.cos(ms[:, None] * th).sum(1) - margin) / (ms * (c * th).sum())
        if t.max() < 1e-12:
            break
        u += t.max()
    return math.exp(u)


# -- the article's search: the scanner ----------------------------------------------------
def test_scanner_against_a_dense_grid():
    L, d = 400, 32
    grid = np.exp(np.linspace(math.log(1.5), math.log(3e4), 1200))
    feas = np.array([f_all(b, L, d).min() >= 0 for b in grid])
    first = int(np.argmax(feas))
    assert 0 < first and not feas[first:].all()  # infeasible start, non-monotone after
    starts = sorted(set(range(0, 1200, 53)) | {first - 1, first, first + 1})
    for kw in ({}, {"batch": 7, "n_recent": 2}):
        scanner = _Scanner(L, d)  # one scanner for all calls: its memory carries over
        for k in starts:
            nxt = np.nonzero(feas[k:])[0]
            assert scanner.first_feasible(grid[k:], **kw) == (int(nxt[0]) if nxt.size else None)
        assert scanner.first_feasible(grid[:first], **kw) is None


def test_scanner_decides_values_near_zero_by_the_direct_sum():
    """B_MINUS is refuted (witness m = 1009); B_PLUS, tried first against that witness, has
    f(1009) = +3e-11, inside the allowance: the direct sum must keep it alive; later calls try
    the remembered witness on both again."""
    scanner = _Scanner(1024, 128)
    for _ in range(2):
        assert scanner.first_feasible(np.array([B_MINUS, B_PLUS])) == 1
    assert scanner.first_feasible(np.array([B_MINUS])) is None


def test_grid_search_arguments():
    assert len(transformers.su_grid_search(300, 16, stages=1)) == 1
    assert transformers.base_lower_bound(300, d=16) == transformers.su_grid_search(300, 16)[-1]
    with pytest.raises(ValueError, match="^stages "):
        transformers.su_grid_search(300, 16, stages=True)
    # d = 2: f_b(m) = cos m for every base, so 1000 * L (L >= 3) is infeasible
    with pytest.raises(ValueError, match=r"needs 1000 \* length feasible"):
        transformers.base_lower_bound(3, d=2)


# -- certified strides ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "m,d,b0,b1,target",
    [
        (1009, 128, 4293.4375692, 4293.4375693, -1.2e-10),  # rising through 0, a ~ 1e-12
        (285, 128, 50.0576, 50.0864, -1.0e-10 - 1e-12),      # rising: g' > 0
        (170, 128, 50.0576, 50.0864, -1.0e-10 - 1e-12),      # falling through 0: g' < 0
        (170, 128, 50.0576, 50.0864, -0.5),                   # far from 0
        (3, 4, 448.9118, 448.9119, -1.0e-10 - 1e-12),         # slow: 0 < g' < 1, M2 ~ 0.04
    ],
)
def test_one_step_is_the_taylor_root_and_certifies_its_stride(m, d, b0, b1, target):
    tol = 1e-10
    u = u_where(m, d, b0, b1, target)
    g, g1, M2 = taylor(d, m, u)
    root = exact_root(g, g1, M2, tol)
    t = _one_step(d, m, u, tol)
    assert root * (1 - 2e-9) <= t <= root  # a hair below the root, never above
    s = np.linspace(0, t, 33)[:-1]
    assert (taylor(d, m, u + s)[0] < 0).all()  # f stays negative over the stride
    assert _one_step(d, m, math.log(b1 if g1 > 0 else b0), tol) == 0.0  # g >= 0 there


def test_one_step_is_zero_without_a_clear_negative():
    # f_b(1) > 0 for every base; f(1009) = -3e-11 at B_MINUS is within the allowance 1e-10
    assert _one_step(128, 1, math.log(4000.0), 1e-10) == 0.0
    assert _one_step(128, 1009, math.log(B_MINUS), 1e-10) == 0.0


@pytest.mark.parametrize(
    "L,d,where",
    [
        (1024, 128, 3000.0),
        (8192, 128, 20000.0),  # the longest stride is m = 4954: second block of 64 rows
        (8192, 128, 17950.0),  # m = 4119: row 64, the first row of the second block
        (8192, 128, 83000.0),  # no negative below m = 4096: the first block has none
        (4950, 128, 20000.0),  # m = 4954 lies past L in the last row and must not count
        (1024, 128, B_PLUS),  # nothing negative beyond tol
        # the end of a feasible island: f(254) falls through 0 and is -tol/2 here, all others
        # are >= 0.3: no certified stride exists
        (400, 32, (254, 6193.978412986033, 6245.35124285267, 0.5)),
        (4, 4, (3, 448.9118, 448.9119, 1.01)),  # slow crossing: 0 < g' < 1, f(3) = -1.01 tol
    ],
)
def test_witness_steps_is_the_longest_certified_stride(L, d, where):
    """(m, t) = the m with the longest Taylor stride over all m < L, by direct evaluation."""
    tol = 4 * d * (L + 8) * _EPS + 1e-10
    if isinstance(where, tuple):
        m_cross, b0, b1, depth = where
        u = u_where(m_cross, d, b0, b1, -depth * tol)
    else:
        u = math.log(where)
    g, g1, M2 = taylor(d, np.arange(L), u)
    a = -(g + tol)
    with np.errstate(invalid="ignore"):  # 0/0 where M2 = 0 (m = 0), discarded by where
        root = np.where(a > 0, (np.sqrt(g1 * g1 + 2 * M2 * np.maximum(a, 0)) - g1) / M2, 0.0)
    m, t = _witness_steps(_Oracle(L, d), u, tol)
    if root.max() == 0:
        assert (m, t) == (-1, 0.0)
        return
    ref = exact_root(g[m], g1[m], M2[m], tol)
    assert m == int(np.argmax(root)) and ref * (1 - 2e-9) <= t <= ref
    assert (taylor(d, m, u + np.linspace(0, t, 33)[:-1])[0] < 0).all()


# -- the certified infimum --------------------------------------------------------------------
@pytest.mark.parametrize("L,d", [(3, 128), (100, 8), (200, 16), (400, 32), (300, 64)])
def test_certified_infimum_against_an_independent_certificate(L, d):
    """[1, b_ind) is infeasible by the first-order walk, which stops where every f >= -1e-9
    (measured: within 6e-10 of the lib's b_lo); b_hi is feasible by brute force. A stride of
    the lib that stepped over a feasible island would put b_lo far above b_ind."""
    r = transformers.certified_base_infimum(L, d)
    assert set(r) == {"b_lo", "b_hi", "steps", "scans"}
    assert r["b_lo"] <= r["b_hi"] <= r["b_lo"] * (1 + 1000e-12)
    assert f_all(r["b_hi"], L, d).min() >= 0
    b_ind = first_order_walk(L, d, 1.0, r["b_hi"])
    assert b_ind <= r["b_hi"] and r["b_lo"] <= b_ind * (1 + 1e-8)


def test_certified_infimum_counts_its_strides_and_scans(monkeypatch):
    L, d = 200, 16
    r = transformers.certified_base_infimum(L, d)
    assert transformers.certified_base_infimum(L, d, max_steps=r["steps"]) == r
    with pytest.raises(RuntimeError, match=rf"max_steps={r['steps'] - 1} reached at b = "):
        transformers.certified_base_infimum(L, d, max_steps=r["steps"] - 1)
    calls = []
    scan = rope_search._witness_steps
    monkeypatch.setattr(rope_search, "_witness_steps", lambda *a: calls.append(1) or scan(*a))
    assert transformers.certified_base_infimum(L, d)["scans"] == len(calls) == r["scans"]


def test_certified_infimum_from_a_start_near_zero():
    """From B_PLUS (feasible) the answer is the start itself; from B_MINUS (f(1009) = -3e-11,
    within the allowance, so no stride) b_hi is the first b_lo (1 + k rel_gap), k = 1, 10, 100,
    1000, that is feasible, or the search stops with an error."""
    r = transformers.certified_base_infimum(1024, start=B_PLUS, max_steps=0)
    assert r == {"b_lo": r["b_lo"], "b_hi": r["b_lo"], "steps": 0, "scans": 1}
    assert r["b_lo"] == pytest.approx(B_PLUS, rel=4e-16)
    # d = 64, L = 7: 10.4982 is feasible (the d = 64 infimum is 10.49815...), not for d = 128
    assert transformers.is_feasible(10.4982, 7, 64) and not transformers.is_feasible(10.4982, 7)
    r = transformers.certified_base_infimum(7, 64, start=10.4982)
    assert r["b_lo"] == r["b_hi"] == pytest.approx(10.4982, rel=4e-16)
    for rel_gap in (1e-12, 1e-13, 1e-14, 1e-15):
        r = transformers.certified_base_infimum(1024, start=B_MINUS, rel_gap=rel_gap)
        b = r["b_lo"]
        k = next(k for k in (1, 10, 100, 1000) if f_all(b * (1 + k * rel_gap), 1024, 128).min() >= 0)
        assert b == pytest.approx(B_MINUS, rel=4e-16) and (r["steps"], r["scans"]) == (0, 1)
        assert r["b_hi"] == b * (1 + k * rel_gap)
    with pytest.raises(RuntimeError, match="stalled at b = "):
        transformers.certified_base_infimum(1024, start=B_MINUS, rel_gap=1e-17)
    for bad in (1e-3, 0.01):
        with pytest.raises(ValueError, match="^rel_gap "):
            transformers.certified_base_infimum(1024, rel_gap=bad)


def test_scanner_keeps_a_base_whose_value_is_exactly_zero():
    """The witness m = 3 of a slightly smaller base gives f = 0.0 at b: f >= 0, so b is the
    first feasible base (d = 4, L = 4)."""
    from tests.transformers.test_rope_feasibility import exact_zero_base

    b = exact_zero_base()
    below = b * (1 - 1e-9)
    assert f_all(below, 4, 4)[3] < 0 <= f_all(below, 4, 4)[:3].min()
    assert _Scanner(4, 4).first_feasible(np.array([below, b])) == 1
