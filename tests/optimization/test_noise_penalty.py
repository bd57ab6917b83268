"""Tests of lib/optimization/noise_penalty.py (chapter noise-penalty-vat, article 7466)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr

from lib.optimization import (
    SMOOTHING_METHODS,
    EnsembleMLP,
    consistency_loss,
    ensemble_metrics,
    fit_smoothed_classifiers,
    gauss_hermite_expectation,
    gradient_penalty,
    rademacher_frob_exact,
    two_moons,
    vat_direction,
)

f64 = torch.float64


def _gauss_moment(k: int) -> float:
    """E xi^k for xi ~ N(0, 1): 0 for odd k, (k - 1)!! for even k."""
    return 0.0 if k % 2 else float(math.prod(range(k - 1, 0, -2)))


# -- gauss_hermite_expectation -----------------------------------------------------------------
@pytest.mark.parametrize("k", [0, 1, 2, 5, 8, 15])
def test_gh_exact_for_polynomials_1d(k):
    x, s = 0.7, 1.3
    ref = sum(math.comb(k, j) * x ** (k - j) * s**j * _gauss_moment(j) for j in range(k + 1))
    got = gauss_hermite_expectation(lambda p: p[:, 0] ** k, [x], s, n=8)
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-12)


def test_gh_exponential_closed_form_and_chunks():
    a = np.array([0.3, -0.5, 0.2])
    x = np.array([0.1, 0.4, -0.2])
    s = 0.8
    ref = math.exp(a @ x + 0.5 * s**2 * a @ a)  # Gaussian moment generating function
    got = gauss_hermite_expectation(lambda p: np.exp(p @ a), x, s, n=40)  # 64000 nodes, 2 chunks
    assert got == pytest.approx(ref, rel=1e-12)


def test_gh_sigma_zero_and_product():
    fn = lambda p: np.sin(p[:, 0]) * np.cos(p[:, 1])  # noqa: E731
    assert gauss_hermite_expectation(fn, [0.3, 0.2], 0.0) == fn(np.array([[0.3, 0.2]]))[0]
    # E sin(x1 + s xi) = sin(x1) e^{-s^2/2}; E cos(x2 + s xi) = cos(x2) e^{-s^2/2}
    ref = math.sin(0.3) * math.cos(0.2) * math.exp(-0.5**2)
    assert gauss_hermite_expectation(fn, [0.3, 0.2], 0.5) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize(("kw", "name"), [
    ({"x": [[0.0, 1.0]]}, "x"), ({"x": []}, "x"), ({"x": [np.nan]}, "x"),
    ({"sigma": -1.0}, "sigma"), ({"sigma": math.inf}, "sigma"), ({"n": 0}, "n"),
    ({"n": 2.5}, "n"), ({"x": np.zeros(4), "n": 40}, "n"),
])
def test_gh_bad_input(kw, name):
    args = {"fn": lambda p: p[:, 0], "x": [0.0], "sigma": 1.0, "n": 5} | kw
    with pytest.raises(ValueError, match=name):
        gauss_hermite_expectation(**args)


def test_gh_bad_fn():
    with pytest.raises(ValueError, match="fn"):
        gauss_hermite_expectation(lambda p: p, [0.0, 1.0], 1.0, n=3)
    with pytest.raises(ValueError, match="fn"):
        gauss_hermite_expectation(lambda p: np.full(len(p), np.nan), [0.0], 1.0, n=3)


# -- consistency_loss ----------------------------------------------------------------------
def test_consistency_loss_values():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=7)
    q = rng.dirichlet(np.ones(5), size=7)
    q[0, 1] = 0.0
    q[0] /= q[0].sum()
    P, Q = torch.tensor(p), torch.tensor(q)
    np.testing.assert_allclose(consistency_loss(P, Q, "kl").numpy(), rel_entr(q, p).sum(1),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(consistency_loss(P, Q, "mse").numpy(), ((p - q) ** 2).sum(1),
                               rtol=1e-13)
    assert consistency_loss(Q, Q).abs().max() == 0
    assert consistency_loss(P.float(), Q.float()).dtype == torch.float32
    assert torch.isinf(consistency_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])))


@pytest.mark.parametrize(("args", "name"), [
    ((torch.ones(3), torch.ones(4)), "target"), ((torch.ones(2), torch.ones(2), "l1"), "loss"),
    ((torch.tensor([-0.5, 1.5]), torch.tensor([0.5, 0.5])), "pred"),
    ((np.ones(2), torch.ones(2)), "pred"), ((torch.ones(2), torch.ones(2, dtype=int)), "target"),
])
def test_consistency_loss_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        consistency_loss(*args)


# -- gradient_penalty ----------------------------------------------------------------------
def test_gp_linear_mse_is_frobenius():
    A = torch.randn(4, 3, dtype=f64, generator=torch.Generator().manual_seed(1))
    x = torch.randn(6, 3, dtype=f64)
    gp = gradient_penalty(lambda z: z @ A.T, x, "mse")
    torch.testing.assert_close(gp, torch.full((6,), 2 * float((A**2).sum()), dtype=f64))


def test_gp_softmax_kl_closed_form():
    g = torch.Generator().manual_seed(2)
    W, b = torch.randn(4, 2, dtype=f64, generator=g), torch.randn(4, dtype=f64, generator=g)
    x = torch.randn(9, 2, dtype=f64, generator=g) * 2
    p = torch.softmax(x @ W.T + b, -1)
    wbar = p @ W  # (N, d)
    ref = (p * ((W[None] - wbar[:, None]) ** 2).sum(-1)).sum(-1)
    got = gradient_penalty(lambda z: torch.softmax(z @ W.T + b, -1), x, "kl")
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-14)


def test_gp_matches_finite_differences():
    f = lambda z: torch.stack([torch.tanh(z[:, 0] + 0.5 * z[:, 1]), torch.sin(z[:, 0] * z[:, 1])], 1)  # noqa: E731
    x = torch.tensor([[0.4, 0.7], [-1.0, 0.3]], dtype=f64)
    h = 1e-5
    J = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in torch.eye(2, dtype=f64)], -1)
    torch.testing.assert_close(gradient_penalty(f, x, "mse"), 2 * (J**2).sum((1, 2)), rtol=1e-9, atol=0)


def test_gp_differentiable_gradcheck_and_dtype():
    W = torch.randn(3, 2, dtype=f64, requires_grad=True)
    x = torch.randn(4, 2, dtype=f64)
    fn = lambda w: gradient_penalty(lambda z: torch.softmax(torch.tanh(z @ w.T), -1), x, "kl")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (W,))
    out = gradient_penalty(lambda z: z.square(), x.float(), "mse")
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, 8 * x.float().square().sum(1))


def test_gp_extremes_and_constant_f():
    x = torch.randn(5, 3, dtype=f64)
    W = torch.randn(4, 3, dtype=f64) * 1e3
    gp = gradient_penalty(lambda z: torch.softmax(z @ W.T, -1), x, "kl")
    assert torch.isfinite(gp).all()
    zero = gradient_penalty(lambda z: torch.ones(z.shape[0], 2, dtype=f64), x, "kl")
    assert (zero == 0).all()


@pytest.mark.parametrize(("x", "loss", "name"), [
    (torch.ones(3, dtype=f64), "mse", "x"), (torch.ones(3, 2, dtype=torch.int64), "mse", "x"),
    (torch.ones(3, 2, dtype=f64), "ce", "loss"), (np.ones((3, 2)), "mse", "x"),
])
def test_gp_bad_input(x, loss, name):
    with pytest.raises(ValueError, match=name):
        gradient_penalty(lambda z: z, x, loss)


def test_gp_bad_f():
    with pytest.raises(ValueError, match="f must"):
        gradient_penalty(lambda z: z.sum(1), torch.ones(3, 2, dtype=f64))


# -- rademacher_frob_exact -------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 6), st.integers(0, 10**6))
def test_rademacher_equals_frobenius(C, d, seed):
    J = np.random.default_rng(seed).normal(size=(C, d)) * 3
    assert rademacher_frob_exact(J) == pytest.approx((J**2).sum(), rel=1e-12)


def test_rademacher_against_itertools_and_chunks():
    J = np.random.default_rng(3).normal(size=(4, 3))
    ref = np.mean([np.sum((np.array(e) @ J) ** 2) for e in itertools.product([-1, 1], repeat=4)])
    assert rademacher_frob_exact(J) == pytest.approx(ref, rel=1e-14)
    J16 = np.random.default_rng(4).normal(size=(16, 2))  # 65536 sign vectors, two chunks
    assert rademacher_frob_exact(J16) == pytest.approx((J16**2).sum(), rel=1e-12)
    assert rademacher_frob_exact(np.zeros((0, 3))) == 0.0


@pytest.mark.parametrize("J", [np.ones(3), np.ones((21, 2)), np.array([[np.nan]]), "ab"])
def test_rademacher_bad_input(J):
    with pytest.raises(ValueError, match="J"):
        rademacher_frob_exact(J)


# -- vat_direction -------------------------------------------------------------------------
def _mse(pred, target):
    return consistency_loss(pred, target, "mse")


@pytest.mark.parametrize("xi", [1e-3, 1.0, 1e3])
def test_vat_linear_hvp_exact(xi):
    g = torch.Generator().manual_seed(5)
    A = torch.randn(3, 6, dtype=f64, generator=g)
    x = torch.randn(8, 6, dtype=f64, generator=g)
    u0 = vat_direction(_mse, lambda z: z @ A.T, x, xi=xi, iters=0,
                       generator=torch.Generator().manual_seed(9))
    ref = u0 @ (A.T @ A)
    ref = ref / ref.norm(dim=1, keepdim=True)
    got = vat_direction(_mse, lambda z: z @ A.T, x, xi=xi, iters=1,
                        generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-9)


def test_vat_iters_zero_is_normalised_gaussian_and_power_iteration_converges():
    x = torch.zeros(5, 4, dtype=f64)
    u = vat_direction(_mse, lambda z: z, x, iters=0, generator=torch.Generator().manual_seed(1))
    raw = torch.randn(5, 4, generator=torch.Generator().manual_seed(1), dtype=f64)
    torch.testing.assert_close(u, raw / raw.norm(dim=1, keepdim=True))
    A = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=f64))
    v = vat_direction(_mse, lambda z: z @ A.T, x, xi=1.0, iters=60,
                      generator=torch.Generator().manual_seed(1))
    assert (v[:, 0].abs() - 1).abs().max() < 1e-12


def test_vat_dtype_determinism_and_zero_gradient():
    x = torch.randn(7, 3)
    f = lambda z: torch.softmax(torch.tanh(z) @ torch.ones(3, 2), -1)  # noqa: E731
    a = vat_direction(consistency_loss, f, x, xi=1e-2, generator=torch.Generator().manual_seed(3))
    b = vat_direction(consistency_loss, f, x, xi=1e-2, generator=torch.Generator().manual_seed(3))
    assert a.dtype == torch.float32 and not a.requires_grad
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    const = vat_direction(_mse, lambda z: torch.zeros(z.shape[0], 2) + 0 * z[:, :2], x, iters=3,
                          generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(const.norm(dim=1), torch.ones(7))


@pytest.mark.parametrize(("kw", "name"), [
    ({"x": torch.ones(3)}, "x"), ({"x": torch.ones(3, 2, dtype=torch.int64)}, "x"),
    ({"xi": 0.0}, "xi"), ({"xi": -1.0}, "xi"), ({"xi": math.nan}, "xi"),
    ({"iters": -1}, "iters"), ({"iters": 1.5}, "iters"),
])
def test_vat_bad_input(kw, name):
    args = {"loss_fn": _mse, "f": lambda z: z, "x": torch.ones(3, 2)} | kw
    with pytest.raises(ValueError, match=name):
        vat_direction(**args)


# -- toy experiment ------------------------------------------------------------------------
def test_two_moons():
    X, y = two_moons(101, 0.0, np.random.default_rng(0))
    assert X.shape == (101, 2) and y.dtype == np.int64 and abs(int(y.sum()) - 50) == 0
    r0 = np.linalg.norm(X[y == 0], axis=1)
    r1 = np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1)
    np.testing.assert_allclose(np.r_[r0, r1], 1.0, rtol=1e-12)
    for kw, name in [({"n": 0}, "n"), ({"noise": -0.1}, "noise"), ({"rng": 3}, "rng")]:
        with pytest.raises(ValueError, match=name):
            two_moons(**({"n": 5, "noise": 0.1, "rng": np.random.default_rng(0)} | kw))


def test_ensemble_members_independent():
    m = EnsembleMLP(3, 2, 8, 2, generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 5, 2, dtype=f64)
    y0 = m(x)
    x2 = x.clone()
    x2[0] += 1.0
    y1 = m(x2)
    assert not torch.allclose(y0[0], y1[0]) and torch.equal(y0[1:], y1[1:])
    p = m.probs_rows(x.reshape(15, 2))
    torch.testing.assert_close(p.sum(1), torch.ones(15, dtype=f64))
    torch.testing.assert_close(p, torch.softmax(y0, -1).reshape(15, 2))
    with pytest.raises(ValueError, match="members"):
        EnsembleMLP(0, 2, 8, 2, generator=torch.Generator())


def _toy(S=2, n=6, m=10):
    rng = np.random.default_rng(1)
    data = [two_moons(n, 0.1, rng) for _ in range(S)]
    xl = torch.tensor(np.array([d[0] for d in data]))
    yl = torch.tensor(np.array([d[1] for d in data]))
    xu = torch.tensor(np.array([two_moons(m, 0.1, rng)[0] for _ in range(S)]))
    return xl, yl, xu


@pytest.mark.parametrize("method", SMOOTHING_METHODS)
def test_fit_runs_and_is_finite(method):
    xl, yl, xu = _toy()
    model = fit_smoothed_classifiers(method, xl, yl, xu, eps=0.2, steps=3,
                                     generator=torch.Generator().manual_seed(0))
    out = ensemble_metrics(model, xl, yl)
    assert out["acc"].shape == (2,) and np.all(np.isfinite(out["ce"]))
    assert np.all((out["acc"] >= 0) & (out["acc"] <= 1))


def test_fit_equal_init_and_learns():
    xl, yl, xu = _toy()
    m0 = [fit_smoothed_classifiers(k, xl, yl, xu, eps=0.2, steps=0,
                                   generator=torch.Generator().manual_seed(4)) for k in ("plain", "vat")]
    for a, b in zip(m0[0].parameters(), m0[1].parameters(), strict=True):
        assert torch.equal(a, b)
    before = ensemble_metrics(m0[0], xl, yl)["ce"]
    m = fit_smoothed_classifiers("plain", xl, yl, xu, eps=0.2, steps=60,
                                 generator=torch.Generator().manual_seed(4))
    assert np.all(ensemble_metrics(m, xl, yl)["ce"] < before)


@pytest.mark.parametrize(("kw", "name"), [
    ({"method": "dropout"}, "method"), ({"eps": -1.0}, "eps"), ({"steps": -1}, "steps"),
    ({"x_unl": torch.ones(3, 4, 2, dtype=f64)}, "x_unl"), ({"y_lab": torch.ones(2, 6)}, "y_lab"),
    ({"y_lab": torch.full((2, 6), 5)}, "y_lab"), ({"x_lab": torch.ones(6, 2)}, "x_lab"),
    ({"lr": 0.0}, "lr"),
])
def test_fit_bad_input(kw, name):
    xl, yl, xu = _toy()
    args = {"method": "plain", "x_lab": xl, "y_lab": yl, "x_unl": xu, "eps": 0.1,
            "generator": torch.Generator()} | kw
    with pytest.raises(ValueError, match=name):
        fit_smoothed_classifiers(**args)


def test_metrics_bad_input():
    xl, yl, _ = _toy()
    m = EnsembleMLP(2, 2, 4, 2, generator=torch.Generator())
    with pytest.raises(ValueError, match="y"):
        ensemble_metrics(m, xl, yl[:, :3])
    with pytest.raises(ValueError, match="x"):
        ensemble_metrics(m, xl[0], yl)
