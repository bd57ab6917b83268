"""Tests of the softmax-entropy section of lib.softmax (chapter: entropy-invariant softmax)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lib.softmax import (
    entropy_invariant_scale,
    renyi_entropy,
    softmax_entropy,
    sphere_mean_field_entropy,
)

f64 = torch.float64
EPS = torch.finfo(f64).eps
finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


def vectors(n_min=1, n_max=20):
    return st.integers(n_min, n_max).flatmap(lambda n: arrays(np.float64, n, elements=finite))


# ---------------------------------------------------------------- softmax_entropy
def test_matches_direct_shannon_entropy():
    x = torch.tensor([0.3, -1.2, 2.0, 0.0], dtype=f64)
    p = torch.softmax(x, 0)
    direct = -(p * p.log()).sum()
    assert float(softmax_entropy(x)) == pytest.approx(float(direct), abs=1e-15)
    assert float(softmax_entropy(x)) == pytest.approx(float(renyi_entropy(p, 1.0)), abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(vectors(), st.floats(0, 20))
def test_between_zero_and_log_n_and_lower_bound(x, lam):
    """0 <= H <= log n, and the chapter's lower bound log n - lam (s_max - s_mean) <= H."""
    s = torch.tensor(x, dtype=f64)
    n = len(x)
    h = float(softmax_entropy(lam * s))
    scale = 1 + lam * float(s.abs().max())
    assert -1e-14 <= h <= math.log(n) + 1e-12 * scale
    bound = math.log(n) - lam * float(s.max() - s.mean())
    assert bound <= h + 1e-12 * scale


@settings(max_examples=100, deadline=None)
@given(vectors(2), finite)
def test_shift_invariant(x, c):
    s = torch.tensor(x, dtype=f64)
    a, b = softmax_entropy(s), softmax_entropy(s + c)
    assert float(a) == pytest.approx(float(b), abs=1e-11 * (1 + abs(c)))


def test_constant_row_is_log_n_and_one_hot_is_zero():
    assert float(softmax_entropy(torch.full((7,), 3.25, dtype=f64))) == pytest.approx(
        math.log(7), abs=4 * EPS
    )
    assert float(softmax_entropy(torch.tensor([1e4, -1e4, 0.0], dtype=f64))) == 0.0


def test_masked_entries_and_fully_masked_rows():
    inf = math.inf
    x = torch.tensor([[0.0, -inf, 0.0], [-inf, -inf, -inf], [2.0, -inf, -inf]], dtype=f64)
    h = softmax_entropy(x)
    assert torch.allclose(h, torch.tensor([math.log(2), 0.0, 0.0], dtype=f64), atol=1e-15)


def test_no_nan_where_naive_formula_fails():
    x = torch.tensor([0.0, -800.0], dtype=f64)  # p_2 underflows to exactly 0
    p = torch.softmax(x, 0)
    assert p[1] == 0 and torch.isnan((p * p.log()).sum())
    assert float(softmax_entropy(x)) == 0.0


def test_gradcheck_including_masked_entries():
    x = torch.randn(3, 5, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(softmax_entropy, (x,))
    y = torch.tensor([[0.5, -math.inf, 1.0], [-math.inf] * 3], dtype=f64, requires_grad=True)
    softmax_entropy(y).sum().backward()
    assert torch.isfinite(y.grad).all()
    assert y.grad[0, 1] == 0 and (y.grad[1] == 0).all()


def test_gradient_is_analytic_formula():
    """dH/dl_i = -p_i (l_i - sum_j p_j l_j)."""
    x = torch.tensor([0.3, -1.2, 2.0], dtype=f64, requires_grad=True)
    softmax_entropy(x).backward()
    p = torch.softmax(x.detach(), 0)
    expected = -p * (x.detach() - (p * x.detach()).sum())
    assert torch.allclose(x.grad, expected, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, f64])
def test_extreme_logits_dtype_and_dim(dtype):
    x = torch.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    h = softmax_entropy(x)
    assert h.dtype == dtype and torch.isfinite(h).all()
    assert float(h[0]) == 0.0
    assert float(h[1]) == pytest.approx(math.log(3), rel=1e-2)
    y = torch.randn(4, 5, 6, dtype=f64)
    assert softmax_entropy(y, dim=1).shape == (4, 6)
    assert torch.allclose(softmax_entropy(y, dim=1), softmax_entropy(y.transpose(1, 2)))


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.tensor([1.0, float("nan")]), "NaN"),
        (torch.tensor([1.0, float("inf")]), r"\+inf"),
        (torch.tensor([1, 2]), "floating"),
        (torch.tensor(1.0), "at least one"),
        (torch.zeros(3, 0), "empty"),
        ([1.0, 2.0], "torch.Tensor"),
    ],
)
def test_softmax_entropy_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        softmax_entropy(x)


# ---------------------------------------------------------------- entropy_invariant_scale
def test_scale_calibration_and_kappa_form():
    d = 64
    assert entropy_invariant_scale(512, d) == pytest.approx(1 / math.sqrt(d), rel=1e-15)
    assert entropy_invariant_scale(1024, d, base=1024) == pytest.approx(1 / 8, rel=1e-15)
    assert entropy_invariant_scale(512, d, kappa=1 / 0.24) == pytest.approx(
        math.log(512) / (0.24 * d), rel=1e-15
    )
    # the calibrated form is the kappa form with kappa = sqrt(d) / log(base)
    k = math.sqrt(d) / math.log(512)
    assert entropy_invariant_scale(3000, d) == pytest.approx(
        entropy_invariant_scale(3000, d, kappa=k), rel=1e-14
    )
    assert entropy_invariant_scale(1, d) == 0.0


def test_scale_tensor_n_per_row():
    n = torch.arange(1, 6)  # causal attention: row i sees i keys
    lam = entropy_invariant_scale(n, 16)
    assert lam.dtype == f64 and lam.shape == (5,)
    assert torch.allclose(lam, torch.log(n.double()) / math.log(512) / 4)
    lam32 = entropy_invariant_scale(n.float(), 16)
    assert lam32.dtype == torch.float32


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(n=0, d=4), "n must"),
        (dict(n=float("nan"), d=4), "n must"),
        (dict(n=torch.tensor([0.5, 2.0]), d=4), "n must"),
        (dict(n=10, d=0), "d must"),
        (dict(n=10, d=2.5), "d must"),
        (dict(n=10, d=4, kappa=-1.0), "kappa must"),
        (dict(n=10, d=4, base=1.0), "base must"),
    ],
)
def test_scale_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        entropy_invariant_scale(**kw)


# ---------------------------------------------------------------- sphere_mean_field_entropy
def test_mean_field_small_lambda_expansion():
    """H_mf = log n - s^2/2 + 3 s^4 / (4 (d + 2)) + O(s^6/d^2) with s = lam sqrt(d)."""
    d = 256
    for s in [0.05, 0.2, 0.5]:
        lam = s / math.sqrt(d)
        h = float(sphere_mean_field_entropy(100, lam, d))
        approx = math.log(100) - s**2 / 2 + 3 * s**4 / (4 * (d + 2))
        assert abs(h - approx) < 5 * s**6 / d**2 + 1e-12
    assert float(sphere_mean_field_entropy(100, 0.0, d)) == pytest.approx(math.log(100))


def test_mean_field_matches_monte_carlo_expectations():
    """Against E over random cosines (sampled exactly as normalised Gaussians), 5 sigma."""
    d, lam, n = 16, 0.3, 50
    g = np.random.default_rng(0)
    x = g.normal(size=(200_000, d))
    u = (x[:, 0] / np.linalg.norm(x, axis=1)).reshape(20, -1)  # 20 batches for the SE
    w = np.exp(lam * d * u)
    h = math.log(n) + np.log(w.mean(1)) - lam * d * (w * u).mean(1) / w.mean(1)
    se = h.std(ddof=1) / math.sqrt(len(h))
    assert abs(float(sphere_mean_field_entropy(n, lam, d)) - h.mean()) < 5 * se


def test_mean_field_large_t_is_finite_and_decreasing():
    h = sphere_mean_field_entropy(1000, np.array([0.1, 1.0, 10.0, 100.0]), 64)
    assert np.isfinite(h).all() and (np.diff(h) < 0).all()


@pytest.mark.parametrize(
    "args, match",
    [((0, 0.1, 8), "n must"), ((10, -0.1, 8), "lam must"), ((10, 0.1, 1), "d must")],
)
def test_mean_field_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        sphere_mean_field_entropy(*args)


def test_sphere_vectors_and_random_key_scan():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lib.softmax import plot_flat_scales, random_key_entropy_scan, sphere_vectors

    g = torch.Generator().manual_seed(0)
    v = sphere_vectors(5, 16, g)
    assert torch.allclose(v.norm(dim=1), torch.full((5,), 4.0, dtype=f64))
    scales = {"zero": lambda n: 0.0, "std": lambda n: 0.25}
    out = random_key_entropy_scan([32, 64], scales, 16, 4, 2, g)
    assert np.allclose(out["H"]["zero"], np.log([[32, 32], [64, 64]]), atol=1e-5)
    assert (out["H"]["std"] < out["H"]["zero"]).all() and out["min_slack"] >= -1e-4
    assert len(out["gap"]["std"]) == 4
    with pytest.raises(ValueError, match="n_draws"):
        random_key_entropy_scan([32], scales, 16, 4, 1, g)
    with pytest.raises(ValueError, match="dim"):
        sphere_vectors(3, 0)
    mean = {k: v.mean(1) for k, v in out["H"].items()}
    fig = plot_flat_scales([32, 64], mean, {k: [0, 0] for k in mean}, mean,
                           {k: [1, 1] for k in mean}, {k: k for k in mean}, 3.0)
    plt.close(fig)
