"""Tests of the smooth top-k section of lib.softmax (chapter: smooth top-k,
kexue.fm/archives/10373): grad_topk, thre_topk and the iterative constructions."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize

from lib.softmax import (
    grad_topk,
    grad_topk_recursive,
    log_elementary_symmetric,
    soft_k_max_iterative,
    thre_topk,
    weighted_softmax_topk,
)

f64 = torch.float64
FS = ("exp", "sigmoid", "smooth")


def brute_grad_topk(x, k):
    """Z_{k,i}/Z_k by enumerating every k-subset (independent of lib)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    num, Z = np.zeros(n), 0.0
    for c in itertools.combinations(range(n), k):
        w = math.exp(sum(x[i] for i in c) - x.max() * k)
        Z += w
        num[list(c)] += w
    return num / Z


F_NUMPY = {
    "exp": lambda z: np.minimum(1.0, np.exp(np.minimum(z, 0))),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "smooth": lambda z: np.where(
        z >= 0, 1 - 0.5 * np.exp(-np.maximum(z, 0)), 0.5 * np.exp(np.minimum(z, 0))
    ),
}


def brute_thre_topk(x, k, f):
    """Solve sum_i f(x_i - lam) = k with Brent's method (independent of lib)."""
    x = np.asarray(x, dtype=float)
    fn = F_NUMPY[f]
    g = lambda lam: fn(x - lam).sum() - k  # noqa: E731
    lam = optimize.brentq(g, x.min() - 50, x.max() + 50, xtol=1e-14, rtol=1e-15, maxiter=500)
    return fn(x - lam)


def topk_mask(x, k):
    return torch.zeros_like(x).scatter(-1, x.topk(k, dim=-1).indices, 1.0)


def distinct_vectors(n_min=2, n_max=9):
    el = st.floats(-8, 8, allow_nan=False, allow_infinity=False)
    return (
        st.integers(n_min, n_max)
        .flatmap(lambda n: arrays(np.float64, n, elements=el, unique=True))
        .filter(lambda a: np.diff(np.sort(a)).min() > 1e-3)
    )


ALL_MAPS = {
    "grad": lambda x, k: grad_topk(x, k),
    "exp": lambda x, k: thre_topk(x, k, "exp"),
    "sigmoid": lambda x, k: thre_topk(x, k, "sigmoid"),
    "smooth": lambda x, k: thre_topk(x, k, "smooth"),
}


# ------------------------------------------------------------------ GradTopK
@pytest.mark.parametrize("k", [1, 2, 3, 5, 6])
def test_grad_topk_matches_brute_force(k):
    x = torch.randn(7, dtype=f64, generator=torch.Generator().manual_seed(k))
    assert np.abs(grad_topk(x, k).numpy() - brute_grad_topk(x.numpy(), k)).max() < 1e-14
    if k <= 3:  # the recursion loses digits as k grows (cancellation in 1 - Z_{k-1,i}/Z_{k-1})
        rec = grad_topk_recursive(x, k).numpy()
        assert np.abs(rec - brute_grad_topk(x.numpy(), k)).max() < 1e-13


def test_grad_topk_is_autograd_gradient_of_log_zk_and_k1_is_softmax():
    x = torch.randn(3, 9, dtype=f64, requires_grad=True)
    (g,) = torch.autograd.grad(log_elementary_symmetric(x, 4)[..., 4].sum(), x)
    assert torch.allclose(grad_topk(x, 4), g, atol=1e-14, rtol=0)
    assert torch.allclose(grad_topk(x, 1), torch.softmax(x, -1), atol=1e-15, rtol=0)


def test_recursion_breaks_for_spread_inputs_but_grad_topk_does_not():
    x = 10 * torch.randn(20, 100, dtype=f64, generator=torch.Generator().manual_seed(0))
    assert torch.isnan(grad_topk_recursive(x, 10)).any()
    p = grad_topk(x, 10)
    assert torch.isfinite(p).all()
    assert (p.sum(-1) - 10).abs().max() < 1e-11
    small = x[:2, :9]
    for row in small:
        assert np.abs(grad_topk(row, 3).numpy() - brute_grad_topk(row.numpy(), 3)).max() < 1e-13


def test_recursion_garbage_at_low_temperature():
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    assert torch.allclose(grad_topk_recursive(x / 0.02, 2), torch.tensor([2.0, 0, 0, 0], dtype=f64))
    assert torch.allclose(grad_topk(x / 0.02, 2), torch.tensor([1.0, 0, 0, 1], dtype=f64))


def test_grad_topk_gradcheck():
    x = torch.randn(1, 6, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: grad_topk(t, 3), (x,))


# ------------------------------------------------------------------ ThreTopK
@pytest.mark.parametrize("f", FS)
@pytest.mark.parametrize("k", [1, 2, 4])
def test_thre_topk_solves_threshold_equation(f, k):
    x = 2 * torch.randn(12, dtype=f64, generator=torch.Generator().manual_seed(k))
    ref = brute_thre_topk(x.numpy(), k, f)
    assert np.abs(thre_topk(x, k, f).numpy() - ref).max() < 1e-11


def test_thre_topk_k1_softmax_exp_always_smooth_only_below_half():
    x = torch.tensor([0.3, -1.0, 0.8, 0.1], dtype=f64)  # softmax max < 1/2
    sm = torch.softmax(x, -1)
    assert torch.allclose(thre_topk(x, 1, "exp"), sm, atol=1e-15, rtol=0)
    assert torch.allclose(thre_topk(x, 1, "smooth"), sm, atol=1e-15, rtol=0)
    y = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)  # softmax max 0.644 > 1/2
    smy = torch.softmax(y, -1)
    assert torch.allclose(thre_topk(y, 1, "exp"), smy, atol=1e-15, rtol=0)
    p = smy.max()
    top = thre_topk(y, 1, "smooth").max()
    assert float(top) == pytest.approx(float(1 - 0.5 * torch.sqrt((1 - p) / p)), abs=1e-15)
    assert abs(float(top - p)) > 0.01


def test_sigmoid_jacobian_is_implicit_function_formula():
    x = torch.randn(7, dtype=f64)
    J = torch.autograd.functional.jacobian(lambda t: thre_topk(t, 3, "sigmoid"), x)
    s = thre_topk(x, 3, "sigmoid")
    ds = s * (1 - s)
    expected = torch.diag(ds) - torch.outer(ds, ds) / ds.sum()
    assert torch.allclose(J, expected, atol=1e-13, rtol=0)
    assert torch.allclose(J, J.T, atol=1e-15, rtol=0)


@pytest.mark.parametrize("f", FS)
def test_thre_topk_gradcheck(f):
    x = torch.randn(2, 6, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: thre_topk(t, 2, f), (x,))


# ------------------------------------------------------------------ properties of all maps
@settings(max_examples=40, deadline=None)
@given(distinct_vectors(), st.data())
def test_properties(x, data):
    n = len(x)
    k = data.draw(st.integers(1, n - 1))
    c = data.draw(st.floats(-50, 50))
    t = torch.tensor(x, dtype=f64)
    order = torch.argsort(t)
    for name, fn in ALL_MAPS.items():
        p = fn(t, k)
        assert abs(float(p.sum()) - k) < 1e-10, name
        assert float(p.min()) >= -1e-15 and float(p.max()) <= 1 + 1e-12, name
        assert (p[order].diff() >= -1e-12).all(), name  # monotone
        assert torch.allclose(fn(t + c, k), p, atol=1e-10, rtol=0), name  # shift-invariant
        perm = torch.randperm(n)
        assert torch.allclose(fn(t[perm], k), p[perm], atol=1e-12, rtol=0), name


@pytest.mark.parametrize("name", list(ALL_MAPS))
def test_zero_temperature_limit(name):
    x = torch.tensor([3.0, 2.0, 1.0, 4.0, -1.0, 0.0], dtype=f64)
    for k in (1, 2, 3):
        p = ALL_MAPS[name](x / 0.05, k)
        # gaps >= 1 at tau = 0.05: thresholds deviate <= max(k, n-k) e^{-10}, GradTopK
        # <= max(C(n-1,k-1), C(n-1,k)) e^{-20}
        n = len(x)
        bound = max(k, n - k, max(math.comb(n - 1, k - 1), math.comb(n - 1, k)) * math.exp(-10))
        bound *= math.exp(-10)
        assert (p - topk_mask(x, k)).abs().max() <= bound, name


# ------------------------------------------------------------------ iterative constructions
def test_weighted_softmax_limit_is_one_and_a_half():
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    target = torch.tensor([0.5, 0.0, 0.0, 1.5], dtype=f64)
    assert (weighted_softmax_topk(x / 0.02, 2) - target).abs().max() < 1e-15
    # the naive 1 - p rounds to 0 below tau = 1/(53 ln 2) and looks right
    naive = weighted_softmax_topk(x / 0.02, 2, stable=False)
    assert torch.equal(naive.round(decimals=12), torch.tensor([1.0, 0, 0, 1], dtype=f64))
    assert torch.allclose(
        weighted_softmax_topk(x / 0.1, 2, stable=False), weighted_softmax_topk(x / 0.1, 2),
        atol=1e-11, rtol=0,
    )


def test_weighted_softmax_leaves_unit_interval_at_tau_one():
    p = weighted_softmax_topk(torch.tensor([3.0, 1.0, 1.0, 0.0], dtype=f64), 3)
    assert float(p[0]) < -10 and float(p[1]) > 5
    naive = weighted_softmax_topk(torch.tensor([3.0, 1.0, 1.0, 0.0], dtype=f64), 3, stable=False)
    assert torch.allclose(p, naive, atol=1e-12, rtol=0)
    assert float(p.sum()) == pytest.approx(3.0, abs=1e-12)


def test_su_iteration_counterexamples():
    over = soft_k_max_iterative(torch.tensor([2.0, 0.0, 0.0], dtype=f64), 2)
    assert float(over[0]) > 1.2
    rev = soft_k_max_iterative(torch.tensor([4.0, 3.0, 0.0], dtype=f64), 2)
    assert float(rev[0]) < float(rev[1])
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    assert (soft_k_max_iterative(x / 0.05, 2) - topk_mask(x, 2)).abs().max() < 1e-6


@pytest.mark.parametrize("fn", [soft_k_max_iterative, weighted_softmax_topk, grad_topk_recursive])
def test_iterations_sum_to_k(fn):
    x = torch.randn(5, 8, dtype=f64)
    assert (fn(x, 3).sum(-1) - 3).abs().max() < 1e-12


# ------------------------------------------------------------------ batching, dtypes, extremes
@pytest.mark.parametrize("name", list(ALL_MAPS))
def test_batch_and_dim(name):
    x = torch.randn(3, 7, 4, dtype=f64)
    out = {
        "grad": grad_topk(x, 2, dim=1),
        "exp": thre_topk(x, 2, "exp", dim=1),
        "sigmoid": thre_topk(x, 2, "sigmoid", dim=1),
        "smooth": thre_topk(x, 2, "smooth", dim=1),
    }[name]
    assert out.shape == x.shape
    for a in range(3):
        for b in range(4):
            assert torch.allclose(out[a, :, b], ALL_MAPS[name](x[a, :, b], 2), atol=1e-13)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, f64])
@pytest.mark.parametrize("name", list(ALL_MAPS))
def test_extreme_inputs_finite_and_dtype_preserved(dtype, name):
    x = torch.tensor([[1e4, -1e4, 0.0, 5.0, 9000.0], [2.0, 2.0, 2.0, 2.0, 2.0]], dtype=dtype)
    p = ALL_MAPS[name](x, 2)
    assert p.dtype == dtype
    assert torch.isfinite(p).all()
    expected = torch.tensor([[1.0, 0, 0, 0, 1.0], [0.4] * 5])
    assert torch.allclose(p.float(), expected, atol=1e-2)


@pytest.mark.parametrize("name", list(ALL_MAPS))
def test_k_zero_and_k_n(name):
    x = torch.randn(2, 5, dtype=f64)
    assert torch.equal(ALL_MAPS[name](x, 0), torch.zeros_like(x))
    assert torch.equal(ALL_MAPS[name](x, 5), torch.ones_like(x))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: grad_topk([1.0, 2.0], 1), "x must be a torch.Tensor"),
        (lambda: grad_topk(torch.tensor([1, 2]), 1), "x must be a floating-point"),
        (lambda: grad_topk(torch.tensor([1.0, float("nan")]), 1), "x contains NaN"),
        (lambda: thre_topk(torch.tensor([1.0, float("-inf")]), 1), "x must be finite"),
        (lambda: thre_topk(torch.tensor(1.0), 1), "x must have at least one dimension"),
        (lambda: thre_topk(torch.zeros(2, 0), 1), "x has an empty dimension"),
        (lambda: grad_topk(torch.zeros(3), 4), "k must be an int with 0 <= k <= n"),
        (lambda: grad_topk(torch.zeros(3), -1), "k must be an int"),
        (lambda: thre_topk(torch.zeros(3), 1.0), "k must be an int"),
        (lambda: thre_topk(torch.zeros(3), True), "k must be an int"),
        (lambda: thre_topk(torch.zeros(3), 1, f="relu"), "f must be one of"),
        (lambda: thre_topk(torch.zeros(3), 1, "sigmoid", tol=0.0), "tol must be > 0"),
        (lambda: thre_topk(torch.zeros(3), 1, "sigmoid", max_iter=0), "max_iter must be"),
        (lambda: weighted_softmax_topk(torch.zeros(3), 5), "k must be an int"),
        (lambda: soft_k_max_iterative(torch.zeros(3), 5), "k must be an int"),
        (lambda: grad_topk_recursive(torch.zeros(3), 5), "k must be an int"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- experiment helpers moved out of the chapter (lib.softmax.topk / as_published) ---------
from lib.softmax.as_published import (  # noqa: E402
    plot_recursion_scan,
    recursion_failure_scan,
    weighted_limit_symbolic,
)
from lib.softmax.topk import (  # noqa: E402
    brent_thre_topk,
    plot_top2_limits,
    sigmoid_jacobians,
    smooth_f_symbolic,
    topk_audit,
    topk_audit_cases,
    zk_identities_symbolic,
)
from lib.softmax.topk import brute_grad_topk as lib_brute_grad_topk  # noqa: E402
from lib.softmax.topk import topk_mask as lib_topk_mask  # noqa: E402


def test_topk_mask_and_brute_references():
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    assert torch.equal(lib_topk_mask(x, 2), torch.tensor([1.0, 0, 0, 1], dtype=f64))
    xr = np.random.default_rng(1).normal(size=7)
    for k in (1, 3):
        assert np.abs(lib_brute_grad_topk(xr, k) - brute_grad_topk(xr, k)).max() < 1e-14
        assert np.abs(lib_brute_grad_topk(xr, k, dps=30) - brute_grad_topk(xr, k)).max() < 1e-14
    x12 = 20 * torch.randn(12, dtype=f64, generator=torch.Generator().manual_seed(3))
    ref = torch.tensor(lib_brute_grad_topk(x12, 4, dps=50), dtype=f64)  # exact at spread 20
    assert (grad_topk(x12, 4) - ref).abs().max() < 1e-14
    rec = grad_topk_recursive(x12, 4)
    assert torch.isnan(rec).any() or (rec - ref).abs().max() > 1e-9  # >> grad_topk error
    for f in FS:
        assert np.abs(brent_thre_topk(xr, 3, f) - thre_topk(torch.tensor(xr), 3, f).numpy()).max() < 1e-11
    with pytest.raises(ValueError, match="k"):
        lib_brute_grad_topk(xr, 0)
    with pytest.raises(ValueError, match="f"):
        brent_thre_topk(xr, 2, "relu")
    with pytest.raises(ValueError, match="dps"):
        lib_brute_grad_topk(xr, 2, dps=5)


def test_symbolic_helpers():
    assert zk_identities_symbolic(5, 3) and zk_identities_symbolic(4, 2)
    sym = smooth_f_symbolic()
    assert sym["c1"] and sym["alt_form"] and sym["root"] and sym["exp_kink"] == 1
    assert float(sym["c2_jump"]) == -1.0
    assert [float(v) for v in weighted_limit_symbolic()] == [1.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="k"):
        zk_identities_symbolic(5, 5)


def test_sigmoid_jacobians_agree():
    x = torch.tensor(np.random.default_rng(2).normal(size=6), dtype=f64)
    J, J_fd, J_ift = sigmoid_jacobians(x, 2)
    assert (J - J_ift).abs().max() < 1e-12 and (J - J_fd).abs().max() < 1e-6
    with pytest.raises(ValueError, match="h"):
        sigmoid_jacobians(x, 2, h=0.0)


def test_audit_passes_principled_map_and_flags_weighted_iteration():
    cases = topk_audit_cases(np.random.default_rng(0), n_max=5, per=2)
    assert len(cases) == 2 + 3 + 4
    good = topk_audit(lambda x, k: grad_topk(x, k), cases)
    assert good["sum"] < 1e-12 and good["order"] < 1e-12 and good["limit"] <= 1
    assert good["grad_limit"] <= 1
    bad = topk_audit(lambda x, k: weighted_softmax_topk(x, k), cases)
    assert bad["high"] > 0.01 and bad["limit"] > 100
    with pytest.raises(ValueError, match="rng"):
        topk_audit_cases(0)
    with pytest.raises(ValueError, match="tau"):
        topk_audit(grad_topk, cases, tau=0.0)


def test_recursion_scan_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scan = recursion_failure_scan([1, 10], k=3, n=20, draws=10,
                                  generator=torch.Generator().manual_seed(0))
    assert scan["err"][0] < 1e-11 and scan["nan"][0] == 0.0
    assert scan["stable_sum_err"] < 1e-11 and len(scan["wrong"]) == 2
    assert scan["nan"][1] + scan["wrong"][1] > 0
    with pytest.raises(ValueError, match="n"):
        recursion_failure_scan([1], k=3, n=3)
    plt.close(plot_recursion_scan([1, 10], scan))
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    fig = plot_top2_limits({"GradTopK": grad_topk}, x, np.geomspace(1, 0.1, 4), 0.03)
    assert len(fig.axes) == 2
    plt.close(fig)
