"""Tests of lib.optimization.simsiam (chapter simsiam-dynamics, article 7980)."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib import optimization
from lib.optimization import (
    expansion_terms,
    linear_simsiam,
    normalized_output_std,
    simsiam_collapse_map,
    simsiam_cosine_loss,
    simsiam_toy_fate,
    simsiam_toy_flow,
    simsiam_toy_limit,
    simsiam_toy_rhs,
    simsiam_toy_solve,
)
from lib.optimization.simsiam import TOY_MODES

torch.set_num_threads(1)
unit = st.floats(0.02, 0.98)
pos = st.floats(0.02, 2.0)


# -- the flow ------------------------------------------------------------------------------------
def _sympy_flows():
    """Independent route: differentiate l(φ, θ_online, θ_target) with SymPy."""
    f, a, b = sp.symbols("phi a b", real=True)
    loss = (f * a - b) ** 2 / 2
    dphi = -sp.diff(loss, f)
    first, second = -sp.diff(loss, a), -sp.diff(loss, b)
    th = sp.Symbol("theta", real=True)
    sub = {a: th, b: th}
    flows = {"stopgrad": first, "full": first + second, "second": second}
    return {m: sp.lambdify((f, th), (dphi.subs(sub), g.subs(sub))) for m, g in flows.items()}


FLOWS = _sympy_flows()


@pytest.mark.parametrize("mode", TOY_MODES)
def test_rhs_matches_sympy_gradients(mode):
    rng = np.random.default_rng(1)
    phi, theta = rng.normal(size=50) * 2, rng.normal(size=50) * 2
    got = simsiam_toy_rhs(phi, theta, mode)
    want = FLOWS[mode](phi, theta)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13, atol=1e-14)


def test_rhs_scalars_and_broadcast():
    d = simsiam_toy_rhs(0.6, 0.1, "full")
    assert all(isinstance(v, float) for v in d)
    assert d == pytest.approx((0.004, -0.016), rel=1e-12)
    a, b = simsiam_toy_rhs(np.full((2, 3), 0.6), 0.1, "second")
    assert a.shape == b.shape == (2, 3) and a.dtype == np.float64


def test_rhs_extreme_finite():
    a, b = simsiam_toy_rhs(1e100, 1e100, "stopgrad")
    assert np.isinf(a) or np.isfinite(a)  # overflow to inf is allowed, never NaN
    assert not np.isnan(b)


@pytest.mark.parametrize("kw,match", [({"mode": "sg"}, "mode"), ({"phi": np.nan}, "phi"),
                                      ({"theta": [1.0, np.inf]}, "theta")])
def test_rhs_bad_input(kw, match):
    args = {"phi": 0.5, "theta": 0.5, "mode": "full"} | kw
    with pytest.raises(ValueError, match=match):
        simsiam_toy_rhs(**args)


# -- solver and limits ---------------------------------------------------------------------------
REF = {  # closed forms at the article's start (0.6, 0.1), computed by hand
    "stopgrad": (1.0, math.sqrt(0.65)),
    "full": (1 - math.sqrt(0.15), 0.0),
    "second": (0.605, 0.0),
}


@pytest.mark.parametrize("mode", TOY_MODES)
def test_limit_article_start(mode):
    assert simsiam_toy_limit(mode, 0.6, 0.1) == pytest.approx(REF[mode], abs=1e-15)


@pytest.mark.parametrize("mode", TOY_MODES)
@pytest.mark.parametrize("rtol", [1e-8, 1e-10])
def test_solve_reaches_limit(mode, rtol):
    t, phi, theta = simsiam_toy_solve(mode, 0.6, 0.1, T=200.0, n_eval=11, rtol=rtol)
    assert t.shape == phi.shape == theta.shape == (11,) and t[-1] == 200.0
    assert phi[0] == 0.6 and theta[0] == 0.1
    ref = REF[mode]
    # tolerance proportionality: the global error stays within 10 local tolerances
    assert abs(phi[-1] - ref[0]) <= 10 * (rtol + 1e-12)
    assert abs(theta[-1] - ref[1]) <= 10 * (rtol + 1e-12)


@pytest.mark.parametrize("mode,start", [("full", (0.6, 0.5)), ("second", (0.6, 1.0)),
                                        ("stopgrad", (0.3, 1.2))])
def test_solve_noncollapsing_starts(mode, start):
    _, phi, theta = simsiam_toy_solve(mode, *start, T=400.0, n_eval=3)
    lim = simsiam_toy_limit(mode, *start)
    assert lim[1] > 0.1
    assert phi[-1] == pytest.approx(lim[0], abs=1e-9)
    assert theta[-1] == pytest.approx(lim[1], abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(p=unit, q=pos)
def test_conserved_quantity_along_path(p, q):
    inv = {"stopgrad": lambda a, b: b**2 - a**2, "full": lambda a, b: (a - 1) ** 2 - b**2,
           "second": lambda a, b: a + b**2 / 2}
    for mode, f in inv.items():
        _, phi, theta = simsiam_toy_solve(mode, p, q, T=50.0, n_eval=51)
        drift = np.abs(f(phi, theta) - f(p, q)).max()
        scale = 2 * max(1.0, np.abs(phi).max(), np.abs(theta).max()) ** 2  # |dQ/dy|·|y|
        assert drift <= 10 * (1e-10 * scale + 1e-12)


def test_solve_stiff_start_is_fast_and_finite():
    _, phi, theta = simsiam_toy_solve("stopgrad", 0.5, 1e3, T=200.0, n_eval=5)
    assert np.all(np.isfinite(phi)) and np.all(np.isfinite(theta))
    assert phi[-1] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("kw,match", [
    ({"mode": "x"}, "mode"), ({"T": 0.0}, "T"), ({"T": np.inf}, "T"), ({"n_eval": 1}, "n_eval"),
    ({"phi0": np.nan}, "phi0"), ({"theta0": np.inf}, "theta0"), ({"rtol": -1.0}, "rtol"),
])
def test_solve_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        simsiam_toy_solve(**kw)


@settings(max_examples=60, deadline=None)
@given(p=unit, q=pos)
def test_limit_regions_closed_form(p, q):
    """Collapse conditions written independently of the implementation."""
    _, th_sg = simsiam_toy_limit("stopgrad", p, q)
    assert th_sg == pytest.approx(math.sqrt(1 + q * q - p * p), rel=1e-14)
    ph, th = simsiam_toy_limit("full", p, q)
    if q > 1 - p:
        assert ph == 1.0 and th == pytest.approx(math.sqrt(q * q - (1 - p) ** 2), rel=1e-12)
    else:
        assert th == 0.0 and (ph - 1) ** 2 == pytest.approx((1 - p) ** 2 - q * q, abs=1e-14)
    ph, th = simsiam_toy_limit("second", p, q)
    if q * q > 2 * (1 - p):
        assert ph == 1.0 and th**2 / 2 == pytest.approx(p + q * q / 2 - 1, abs=1e-14)
    else:
        assert th == 0.0 and ph == pytest.approx(p + q * q / 2, rel=1e-15)


def test_limit_boundaries_and_arrays():
    assert simsiam_toy_limit("full", 0.6, 0.4) == pytest.approx((1.0, 0.0), abs=1e-15)
    assert simsiam_toy_limit("second", 0.5, 1.0) == pytest.approx((1.0, 0.0), abs=1e-15)
    ph, th = simsiam_toy_limit("full", np.array([0.6, 0.6]), np.array([0.1, 0.5]))
    assert ph.shape == (2,) and th[0] == 0.0 and th[1] == pytest.approx(0.3)
    assert np.isfinite(simsiam_toy_limit("stopgrad", 1e-300, 1e300)).all()


@pytest.mark.parametrize("kw,match", [({"phi0": 0.0}, "phi0"), ({"phi0": 1.0}, "phi0"),
                                      ({"phi0": 1.5}, "phi0"), ({"theta0": 0.0}, "theta0"),
                                      ({"theta0": -1.0}, "theta0"), ({"mode": "x"}, "mode")])
def test_limit_bad_input(kw, match):
    args = {"mode": "full", "phi0": 0.5, "theta0": 0.5} | kw
    with pytest.raises(ValueError, match=match):
        simsiam_toy_limit(**args)


@pytest.mark.parametrize("mode,start,want", [
    ("stopgrad", (-0.5, 0.3), (-0.4, 0.0)),          # C = -0.16 < 0: dies before φ = 0
    ("stopgrad", (-0.3, 0.5), (1.0, math.sqrt(1.16))),  # C = 0.16 > 0: passes φ = 0
    ("stopgrad", (1.5, 0.5), (math.sqrt(2.0), 0.0)),   # 1 + C = -1 < 0
    ("stopgrad", (1.2, 1.0), (1.0, math.sqrt(0.56))),
    ("full", (1.5, 0.3), (1.0 + 0.4, 0.0)),
    ("second", (1.5, 0.3), (1.0, math.sqrt(1.09))),
])
def test_fate_outside_unit_interval_matches_ode(mode, start, want):
    ph, th, col = simsiam_toy_fate(mode, *start)
    assert (ph, th) == pytest.approx(want, abs=1e-12)
    assert col == (want[1] == 0.0)
    _, p, q = simsiam_toy_solve(mode, *start, T=400.0, n_eval=2)
    assert p[-1] == pytest.approx(want[0], abs=1e-8) and q[-1] == pytest.approx(want[1], abs=1e-8)


@settings(max_examples=100, deadline=None)
@given(p=st.floats(-3.0, 3.0), q=st.floats(0.01, 3.0), mode=st.sampled_from(TOY_MODES))
def test_fate_is_a_fixed_point_on_the_level_curve(p, q, mode):
    """Laws: the limit lies on a line of fixed points and on the start's level curve."""
    inv = {"stopgrad": lambda a, b: b**2 - a**2, "full": lambda a, b: (a - 1) ** 2 - b**2,
           "second": lambda a, b: a + b**2 / 2}[mode]
    ph, th, col = simsiam_toy_fate(mode, p, q)
    assert th >= 0.0 and (th == 0.0) == col
    assert th == 0.0 or ph == 1.0
    assert inv(ph, th) == pytest.approx(inv(p, q), abs=1e-12 * (1 + p * p + q * q))
    dphi, dth = simsiam_toy_rhs(ph, th, mode)
    assert dphi == 0.0 and dth == 0.0


def test_fate_bad_input():
    with pytest.raises(ValueError, match="theta0"):
        simsiam_toy_fate("full", 0.5, 0.0)
    with pytest.raises(ValueError, match="phi0"):
        simsiam_toy_fate("full", np.nan, 0.5)
    with pytest.raises(ValueError, match="mode"):
        simsiam_toy_fate("half", 0.5, 0.5)


def test_flow_matches_single_solves():
    p0, q0 = np.array([0.6, 0.6, 0.2, 0.9]), np.array([0.1, 0.5, 0.9, 0.05])
    for mode in TOY_MODES:
        pT, qT = simsiam_toy_flow(mode, p0, q0, T=100.0, rtol=1e-10)
        assert pT.shape == qT.shape == (4,)
        for i in range(4):
            _, p, q = simsiam_toy_solve(mode, p0[i], q0[i], T=100.0, n_eval=2)
            assert pT[i] == pytest.approx(p[-1], abs=1e-7) and qT[i] == pytest.approx(q[-1], abs=1e-7)
    a, b = simsiam_toy_flow("full", 0.6, 0.1, T=10.0)
    assert isinstance(a, float) and isinstance(b, float)


@pytest.mark.parametrize("kw,match", [({"mode": "x"}, "mode"), ({"T": -1.0}, "T"),
                                      ({"phi0": [np.nan]}, "phi0"), ({"atol": 0.0}, "atol")])
def test_flow_bad_input(kw, match):
    args = {"mode": "full", "phi0": [0.5], "theta0": [0.5]} | kw
    with pytest.raises(ValueError, match=match):
        simsiam_toy_flow(**args)


def test_collapse_map_verdicts_agree_where_decided():
    rng = np.random.default_rng(4)
    p0, q0 = rng.uniform(size=300), rng.uniform(size=300)
    for mode in TOY_MODES:
        solver, exact, decided = simsiam_collapse_map(mode, p0, q0, T=2000.0, eps=1e-4)
        assert solver.dtype == exact.dtype == decided.dtype == bool and solver.shape == (300,)
        np.testing.assert_array_equal(exact, simsiam_toy_fate(mode, p0, q0)[2])
        assert not np.any((solver != exact) & decided) and decided.mean() > 0.9
    # the boundary of the full flow (D = 0) cannot be decided in finite time; far from it, it can
    s, e, d = simsiam_collapse_map("full", np.array([0.6, 0.6, 0.6]),
                                   np.array([0.4 - 1e-7, 0.1, 0.9]), T=2000.0)
    assert list(d) == [False, True, True] and list(e[1:]) == [True, False]
    assert list(s[1:]) == [True, False]


@pytest.mark.parametrize("kw,match", [({"eps": 0.0}, "eps"), ({"eps": 1.0}, "eps"),
                                      ({"mode": "x"}, "mode"), ({"theta0": [0.0]}, "theta0")])
def test_collapse_map_bad_input(kw, match):
    args = {"mode": "full", "phi0": [0.5], "theta0": [0.5]} | kw
    with pytest.raises(ValueError, match=match):
        simsiam_collapse_map(**args)


# -- torch: loss, monitor, training --------------------------------------------------------------
def test_cosine_loss_value_and_stop_gradient():
    g = torch.Generator().manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(6, 4, generator=g, dtype=torch.float64) for _ in range(4))
    z1.requires_grad_()
    z2.requires_grad_()
    want = -0.5 * (np.mean([np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)
                            for a, b in zip(p1.numpy(), z2.detach().numpy(), strict=True)])
                   + np.mean([np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)
                              for a, b in zip(p2.numpy(), z1.detach().numpy(), strict=True)]))
    for sg in (True, False):
        loss = simsiam_cosine_loss(p1, p2, z1, z2, stop_gradient=sg)
        assert loss.dtype == torch.float64 and loss.shape == ()
        assert float(loss.detach()) == pytest.approx(want, rel=1e-12)
    loss = simsiam_cosine_loss(p1, p2, z1, z2, stop_gradient=True)
    assert not loss.requires_grad  # nothing upstream of the predictions requires grad
    loss = simsiam_cosine_loss(p1, p2, z1, z2, stop_gradient=False)
    gz1, = torch.autograd.grad(loss, z1)
    assert float(gz1.abs().max()) > 0


def test_cosine_loss_gradcheck():
    g = torch.Generator().manual_seed(1)
    xs = [torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(4)]
    assert torch.autograd.gradcheck(lambda *a: simsiam_cosine_loss(*a, stop_gradient=False), xs)


def test_cosine_loss_bad_input():
    a = torch.randn(4, 3)
    with pytest.raises(ValueError, match="z2"):
        simsiam_cosine_loss(a, a, a, torch.randn(4, 2))
    with pytest.raises(ValueError, match="p1"):
        simsiam_cosine_loss(torch.randn(4), a, a, a)
    with pytest.raises(ValueError, match="p2"):
        simsiam_cosine_loss(a, torch.ones(4, 3, dtype=torch.int64), a, a)


def test_normalized_output_std():
    z = torch.ones(10, 5) * torch.tensor([1.0, 2, 3, 4, 5])
    assert float(normalized_output_std(z)) == 0.0
    assert float(normalized_output_std(torch.zeros(3, 4))) == 0.0
    g = torch.Generator().manual_seed(0)
    k = 16
    z = torch.randn(20000, k, generator=g, dtype=torch.float64)
    # coordinates of a uniform unit vector have variance exactly 1/k
    assert float(normalized_output_std(z)) == pytest.approx(1 / math.sqrt(k), rel=0.02)
    assert normalized_output_std(z.float()).dtype == torch.float32
    with pytest.raises(ValueError, match="z"):
        normalized_output_std(torch.randn(5))
    with pytest.raises(ValueError, match="z"):
        normalized_output_std(torch.tensor([[1.0, float("nan")]]))


def test_linear_simsiam_contrast_and_determinism():
    def run(**kw):
        out = linear_simsiam(generator=torch.Generator().manual_seed(0), steps=200, **kw)
        return out, float(out["std"][-1]) * math.sqrt(8)  # ≈ 1 healthy, 0 collapsed

    a, healthy = run()
    b, _ = run()
    assert torch.equal(a["std"], b["std"]) and a["std"].shape == (200,)
    assert a["std"].dtype == torch.float64 and torch.isfinite(a["loss"]).all()
    assert healthy > 0.5
    c, no_sg = run(stop_gradient=False)
    assert no_sg < 0.01 and float(c["loss"][-1]) == pytest.approx(-1.0, abs=1e-3)
    assert run(predictor=False)[1] < 0.05
    assert run(predictor=False, stop_gradient=False, target="center")[1] < 0.05


@pytest.mark.parametrize("kw,match", [({"generator": None}, "generator"),
                                      ({"target": "x"}, "target"), ({"steps": 0}, "steps"),
                                      ({"lr": 0.0}, "lr"), ({"predictor_lr": -1.0}, "predictor_lr"),
                                      ({"sigma": -0.1}, "sigma"), ({"momentum": 1.0}, "momentum"),
                                      ({"batch": 1}, "batch")])
def test_linear_simsiam_bad_input(kw, match):
    args = {"generator": torch.Generator().manual_seed(0), "steps": 2} | kw
    with pytest.raises(ValueError, match=match):
        linear_simsiam(**args)


# -- expansion -----------------------------------------------------------------------------------
def test_expansion_terms_values():
    J = np.array([[1.0, 2.0], [0.0, 1.0]])
    v1, v2 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])
    a, b = expansion_terms(J, v1, v2, np.zeros(2))
    np.testing.assert_allclose(a, [1.0, 5.0])
    np.testing.assert_allclose(b, [1.0, 1.0])
    a2, _ = expansion_terms(J, v1, v2, v1)
    np.testing.assert_array_equal(a2, 0.0)


def test_expansion_ratio_two_monte_carlo():
    rng = np.random.default_rng(0)
    J = rng.normal(size=(3, 4))
    m = 200_000
    xbar = rng.normal(size=4)
    v1, v2 = xbar + rng.normal(size=(m, 4)), xbar + rng.normal(size=(m, 4))
    a, b = expansion_terms(J, v1, v2, xbar)
    frob = np.sum(J**2)  # E a = tr(J Σ Jᵀ) with Σ = I
    assert a.mean() == pytest.approx(frob, rel=0.02) and b.mean() == pytest.approx(2 * frob, rel=0.02)


@pytest.mark.parametrize("args,match", [
    ((np.ones(3), np.ones((2, 3)), np.ones((2, 3)), np.zeros(3)), "J"),
    ((np.ones((2, 3)), np.ones((2, 2)), np.ones((2, 2)), np.zeros(3)), "views1"),
    ((np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 3)), np.zeros(3)), "views2"),
    ((np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3)), np.zeros(2)), "center"),
    ((np.ones((2, 3)), np.full((2, 3), np.nan), np.ones((2, 3)), np.zeros(3)), "views1"),
])
def test_expansion_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        expansion_terms(*args)


def test_reexported():
    for name in ("simsiam_toy_rhs", "simsiam_toy_solve", "simsiam_toy_limit"):
        assert hasattr(optimization, name)
