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


# ------------------------------------------------------------------ contract details (issue #20)
# Cases where the threshold sits among many entries: for the smooth f, k - m = +2 and -2 (the
# conjugate branch of the closed form); clusters and a wide spread.
THRESHOLD_CASES = [
    ([10.0, 0, 0, 0, 0, 0, 0, 0], 3),
    ([0.0, 0, 0, 0, 0, 0, 0, 0, -10], 6),
    ([5.0, 5, 5, 0, 0, -5, -5], 2),
    ([5.0, 5, 5, 0, 0, -5, -5], 4),
    ([5.0, 5, 5, 0, 0, -5, -5], 5),
    ([3.0, 2.9, -1, -1.2, -30, 25, 0.4, 0.5], 3),
    ([0.3, 0.1, -0.2, 0.25, 0.0], 2),  # a range below 1
    ([1e-6, -2e-6, 0.5e-6, 3e-6, -1e-6, 0.0], 3),  # a tiny scale: lambda still to ~1e-12
]


@pytest.mark.parametrize("f", FS)
@pytest.mark.parametrize("x, k", THRESHOLD_CASES)
def test_thre_topk_against_brent_where_the_threshold_is_crowded(f, x, k):
    """Bisection to tol = 1e-12 leaves the sigmoid's lambda within 5e-13 and its entries within
    1/4 of that; the closed forms are exact to rounding (~10 eps max|x| <= 7e-14)."""
    ref = brute_thre_topk(x, k, f)
    assert np.abs(thre_topk(torch.tensor(x, dtype=f64), k, f).numpy() - ref).max() < 2e-13


def test_thre_topk_default_is_exp():
    x = torch.tensor(THRESHOLD_CASES[5][0], dtype=f64)
    assert torch.equal(thre_topk(x, 3), thre_topk(x, 3, "exp"))


def test_sigmoid_rows_are_bisected_on_their_own_bracket():
    """With max_iter halvings of the row's bracket [min x - s, max x - s] the threshold error is
    <= w 2^-(max_iter+1) (w = max x - min x) and the entries' <= that / 4 (sigma' <= 1/4):
    a row shifted by 1000 in the same batch must agree with the first to twice that."""
    x = torch.tensor(THRESHOLD_CASES[5][0], dtype=f64)
    x = x[x.abs() < 10]  # w = 4.5
    w, m = float(x.max() - x.min()), 20
    out = thre_topk(torch.stack([x, x + 1000]), 3, "sigmoid", max_iter=m)
    assert (out[0] - out[1]).abs().max() <= 2 * w * 2.0 ** -(m + 1) / 4 + 1e-12
    ref = brute_thre_topk(x.numpy(), 3, "sigmoid")
    assert np.abs(out[0].numpy() - ref).max() <= w * 2.0 ** -(m + 1) / 4 + 1e-12
    one = thre_topk(x, 3, "sigmoid", max_iter=1)  # max_iter = 1 is allowed: one halving
    assert np.abs(one.numpy() - ref).max() <= w / 4 / 4 + 1e-12


@pytest.mark.parametrize("name", list(ALL_MAPS))
def test_constant_rows_give_k_over_n(name):
    """A batch of constant rows (zero-width bracket for the sigmoid bisection)."""
    assert torch.allclose(ALL_MAPS[name](torch.full((2, 5), 3.0, dtype=f64), 2),
                          torch.full((2, 5), 0.4, dtype=f64), atol=1e-15, rtol=0)


@pytest.mark.parametrize("name", list(ALL_MAPS))
def test_k_zero_and_k_n_with_zero_inputs(name):
    """k = 0 and k = n are exact constants with a zero gradient, also where x is 0."""
    x = torch.tensor([[0.0, 1.0, 0.0], [-2.0, 0.0, 3.0]], dtype=f64, requires_grad=True)
    for k, value in ((0, 0.0), (3, 1.0)):
        p = ALL_MAPS[name](x, k)
        assert torch.equal(p, torch.full_like(x, value))
        (g,) = torch.autograd.grad(p.sum(), x)
        assert torch.equal(g, torch.zeros_like(x))


def test_max_iter_must_be_a_positive_int():
    for bad in (0, True, 2.5):
        with pytest.raises(ValueError, match=r"^max_iter must be a positive int"):
            thre_topk(torch.zeros(3), 1, "sigmoid", max_iter=bad)


def test_grad_topk_entries_lie_in_the_unit_interval():
    """Rounding of the autograd gradient overshoots 1 by up to ~3e-13 on spread inputs; the
    documented range [0, 1] must hold exactly."""
    x = 30 * torch.randn(500, 20, dtype=f64, generator=torch.Generator().manual_seed(0))
    p = grad_topk(x, 10)
    assert float(p.min()) >= 0.0 and float(p.max()) <= 1.0
    assert (p.sum(-1) - 10).abs().max() < 1e-11


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_grad_topk_half_precision_is_computed_in_float32(dtype):
    """The book's rule (lib.checks.work_dtype): half precision is computed in float32."""
    x = torch.randn(4, 9, generator=torch.Generator().manual_seed(1)).to(dtype)
    assert torch.equal(grad_topk(x, 3), grad_topk(x.float(), 3).to(dtype))


@pytest.mark.parametrize("shape, dim", [((6,), -1), ((2, 5, 3), 1)])
def test_grad_topk_gradcheck_other_shapes(shape, dim):
    x = torch.randn(*shape, dtype=f64, generator=torch.Generator().manual_seed(2), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: grad_topk(t, 2, dim=dim), (x,))


def test_results_follow_the_input_device_not_the_default_device():
    """With torch's default device elsewhere ("meta"), CPU inputs give CPU results and
    gradients equal to the usual ones."""
    x = torch.randn(2, 6, dtype=f64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    ref = [fn(x, 2) for fn in ALL_MAPS.values()]
    ref_grad = torch.autograd.grad(ref[0].pow(2).sum(), x)[0]
    with torch.device("meta"):
        out = [fn(x, 2) for fn in ALL_MAPS.values()]
        grad = torch.autograd.grad(out[0].pow(2).sum(), x)[0]
    for o, r in zip(out, ref, strict=True):
        assert o.device.type == "cpu" and torch.equal(o, r)
    assert grad.device.type == "cpu" and torch.equal(grad, ref_grad)


def test_backward_closed_form_against_brute_force_on_the_input_device():
    """The closed form that the backward pass differentiates, e^{x_i} e_{k-1}(e^{x_-i})/e_k(e^x),
    equals the subset enumeration, and builds its index tensors on the input's device. Backward
    passes run outside torch's default-device context, so the function is called directly."""
    from lib.softmax.topk import _grad_topk_loo

    x = torch.randn(2, 7, dtype=f64, generator=torch.Generator().manual_seed(4))
    with torch.device("meta"):
        p = _grad_topk_loo(x, 3)
    assert p.device.type == "cpu"
    for row, prow in zip(x, p, strict=True):
        assert np.abs(prow.numpy() - brute_grad_topk(row.numpy(), 3)).max() < 1e-14
