"""Tests of lib/optimization/multitask.py (chapter: multitask-loss-weighting, article 8870)."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.stats import entropy

from lib import optimization
from lib.optimization import (
    combine_losses,
    linear_task_losses,
    linear_tasks,
    log_objective_minimisers,
    multitask_descent,
    normalized_grad_sum,
    power_mean,
    reference_loss,
    relative_excess,
)

f64 = torch.float64
EPS = torch.finfo(f64).eps
pos = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)
gammas = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


def loss_vectors(min_n=1, max_n=6, elements=pos):
    return st.lists(elements, min_size=min_n, max_size=max_n).map(lambda v: torch.tensor(v, dtype=f64))


def mp_power_mean(values, gamma, dps=60):
    """High-precision reference with mpmath (independent of the log-space code)."""
    with mpmath.workdps(dps):
        x = [mpmath.mpf(float(v)) for v in values]
        if gamma == 0:
            return float(mpmath.exp(mpmath.fsum(mpmath.log(v) for v in x) / len(x)))
        g = mpmath.mpf(gamma)
        return float((mpmath.fsum(v**g for v in x) / len(x)) ** (1 / g))


def quadratic_tasks(seed, n_tasks=3, p=4):
    """Task losses L_i(theta) = ||A_i theta - b_i||^2 / m with their closed-form gradients."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n_tasks, 6, p, generator=g, dtype=f64)
    b = torch.randn(n_tasks, 6, generator=g, dtype=f64)
    theta = torch.randn(p, generator=g, dtype=f64)

    def losses(th):
        return ((torch.einsum("tmp,p->tm", A, th) - b) ** 2).mean(-1)

    r = torch.einsum("tmp,p->tm", A, theta) - b
    grads = 2 * torch.einsum("tmp,tm->tp", A, r) / A.shape[1]
    return losses, theta, grads


def grad_of(objective, theta):
    th = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(objective(th), th)
    return g


# ---------------------------------------------------------------- reference_loss
def test_reference_loss_ce_init_is_log_k_and_matches_uniform_cross_entropy():
    y = torch.randint(0, 10, (500,), generator=torch.Generator().manual_seed(0))
    assert reference_loss(y, "ce", "init", num_classes=10) == pytest.approx(math.log(10), rel=1e-15)
    ce = torch.nn.functional.cross_entropy(torch.zeros(500, 10, dtype=f64), y)
    assert reference_loss(y.numpy(), "ce", "init", num_classes=10) == pytest.approx(float(ce), rel=1e-14)


def test_reference_loss_ce_prior_is_entropy_and_the_best_constant_prediction():
    y = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    h = reference_loss(y, "ce", "prior")
    assert h == pytest.approx(entropy(np.bincount(y) / y.size), rel=1e-14)

    def ce_const(z):  # cross-entropy of one constant logit vector for every example
        return float(torch.nn.functional.cross_entropy(torch.tensor(z, dtype=f64).expand(10, 4),
                                                       torch.tensor(y)))
    best = minimize(ce_const, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    assert best.fun == pytest.approx(h, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40))
def test_reference_loss_prior_at_most_init_and_permutation_invariant(labels):
    y = np.array(labels)
    h = reference_loss(y, "ce", "prior", num_classes=7)
    assert 0 <= h <= reference_loss(y, "ce", "init", num_classes=7) + 1e-12
    perm = (y + 3) % 7  # relabelling the classes leaves the entropy unchanged
    assert reference_loss(perm, "ce", "prior") == pytest.approx(h, abs=1e-12)


def test_reference_loss_mse_init_and_prior():
    rng = np.random.default_rng(1)
    y = rng.normal(2.0, 3.0, size=(300, 3))
    init = reference_loss(y, "mse", "init")
    prior = reference_loss(torch.from_numpy(y), "mse", "prior")
    assert init == pytest.approx(float(np.mean(np.sum(y**2, 1))), rel=1e-14)
    assert prior == pytest.approx(float(np.sum(np.var(y, axis=0))), rel=1e-13)
    # the prior is init minus the squared mean (bias-variance split) and the best constant
    assert prior == pytest.approx(init - float(np.sum(y.mean(0) ** 2)), rel=1e-12)
    y1 = y[:, 0]
    assert reference_loss(y1, "mse", "prior") == pytest.approx(float(np.var(y1)), rel=1e-13)


@pytest.mark.parametrize("kwargs, match", [
    (dict(y=[0, 1], kind="l1", state="init"), "kind"),
    (dict(y=[0, 1], kind="ce", state="final", num_classes=2), "state"),
    (dict(y=[], kind="ce", state="prior"), "y"),
    (dict(y=np.zeros((0, 2)), kind="mse", state="init"), "y"),
    (dict(y=[0, -1], kind="ce", state="prior"), "y"),
    (dict(y=[0.5, 1.0], kind="ce", state="prior"), "y"),
    (dict(y=[0, 3], kind="ce", state="init", num_classes=3), "y"),
    (dict(y=[0, 1], kind="ce", state="init"), "num_classes"),
    (dict(y=[0, 1], kind="ce", state="init", num_classes=0), "num_classes"),
    (dict(y=[[0, 1]], kind="ce", state="prior"), "y"),
    (dict(y=[1.0, np.nan], kind="mse", state="init"), "y"),
    (dict(y=np.zeros((2, 2, 2)), kind="mse", state="init"), "y"),
])
def test_reference_loss_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        reference_loss(**kwargs)


# ---------------------------------------------------------------- combine_losses
def test_combine_losses_values():
    L = torch.tensor([0.5, 2.0, 8.0], dtype=f64)
    assert float(combine_losses(L)) == 10.5
    assert float(combine_losses(L, "init", init=[1.0, 4.0, 16.0])) == 1.5
    assert float(combine_losses(L, "sg")) == 3.0
    assert float(combine_losses(L, "grad", grad_norms=torch.tensor([0.5, 1.0, 2.0]))) == 7.0
    init_seq = [torch.tensor(1.0, requires_grad=True), np.float32(4.0), 16]
    assert float(combine_losses(L, "init", init=init_seq)) == 1.5
    out = combine_losses(L.float(), "init", init=torch.tensor([1.0, 2.0, 4.0], dtype=f64))
    assert out.dtype == torch.float32 and out.dim() == 0


@pytest.mark.parametrize("seed", range(3))
def test_combine_losses_gradients_match_closed_forms(seed):
    losses, theta, G = quadratic_tasks(seed)
    L = losses(theta)
    init = torch.tensor([3.0, 0.7, 11.0], dtype=f64)
    norms = torch.linalg.vector_norm(G, dim=1)
    cases = {
        "sum": G.sum(0),
        "init": (G / init[:, None]).sum(0),
        "sg": (G / L[:, None]).sum(0),
        "grad": (G / norms[:, None]).sum(0),
    }
    for scheme, ref in cases.items():
        g = grad_of(lambda th, s=scheme: combine_losses(losses(th), s, init=init, grad_norms=norms), theta)
        torch.testing.assert_close(g, ref, rtol=1e-12, atol=1e-13)
    # the sg gradient is the gradient of sum(log L): the geometric-mean direction
    g_log = grad_of(lambda th: losses(th).log().sum(), theta)
    torch.testing.assert_close(cases["sg"], g_log, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(cases["grad"], normalized_grad_sum(G), rtol=1e-12, atol=1e-13)


def _direction(scheme, losses, theta, c, s):
    """Update direction when task 0's loss is replaced by c * L_0 + s."""
    aff = torch.tensor([c, 1.0, 1.0], dtype=f64)
    sh = torch.tensor([s, 0.0, 0.0], dtype=f64)
    theta0 = torch.zeros_like(theta)
    init = (losses(theta0) * aff + sh).detach()
    th = theta.clone().requires_grad_(True)
    per = losses(th) * aff + sh
    norms = torch.stack([torch.linalg.vector_norm(torch.autograd.grad(per[i], th, retain_graph=True)[0])
                         for i in range(3)])
    (g,) = torch.autograd.grad(combine_losses(per, scheme, init=init, grad_norms=norms), th)
    return g / torch.linalg.vector_norm(g)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.floats(1e-3, 1e3), st.floats(0.1, 100.0))
def test_scale_and_shift_invariance_laws(seed, c, s):
    """Laws of the chapter's invariance table: which schemes keep the update direction."""
    losses, theta, _ = quadratic_tasks(seed)
    base = {k: _direction(k, losses, theta, 1.0, 0.0) for k in ("sum", "init", "sg", "grad")}
    for k in ("init", "sg", "grad"):  # scale-invariant
        torch.testing.assert_close(_direction(k, losses, theta, c, 0.0), base[k], rtol=1e-9, atol=1e-11)
    for k in ("sum", "grad"):  # shift-invariant
        torch.testing.assert_close(_direction(k, losses, theta, 1.0, s), base[k], rtol=1e-9, atol=1e-11)


def test_scale_and_shift_negative_controls():
    losses, theta, _ = quadratic_tasks(0)
    for k, c, s in (("sum", 1000.0, 0.0), ("init", 1.0, 10.0), ("sg", 1.0, 10.0)):
        d = _direction(k, losses, theta, c, s) - _direction(k, losses, theta, 1.0, 0.0)
        assert float(torch.linalg.vector_norm(d)) > 1e-2


def test_combine_losses_gradcheck():
    losses, theta, _ = quadratic_tasks(5)
    th = theta.clone().requires_grad_(True)
    # "sg" is left out on purpose: its value is constant (n), so finite differences give 0 while
    # the stop-gradient's gradient is sum grad L_i / L_i (tested against the closed form above)
    for scheme in ("sum", "init", "grad"):
        assert torch.autograd.gradcheck(
            lambda t, s=scheme: combine_losses(losses(t), s, init=[1.0, 2.0, 3.0], grad_norms=[4.0, 5.0, 6.0]),
            (th,))


@pytest.mark.parametrize("kwargs, match", [
    (dict(losses=torch.ones(2, dtype=f64), scheme="mean"), "scheme"),
    (dict(losses=torch.ones(2, 2, dtype=f64)), "losses"),
    (dict(losses=torch.ones(0, dtype=f64)), "losses"),
    (dict(losses=torch.tensor([1.0, math.nan], dtype=f64)), "losses"),
    (dict(losses=torch.tensor([1, 2])), "losses"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="init"), "init"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="init", init=[1.0]), "init"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="init", init=[1.0, 0.0]), "init"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="init", init=["a", "b"]), "init"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="init", init=3.0), "init"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="grad"), "grad_norms"),
    (dict(losses=torch.ones(2, dtype=f64), scheme="grad", grad_norms=[1.0, -1.0]), "grad_norms"),
    (dict(losses=torch.tensor([1.0, 0.0], dtype=f64), scheme="sg"), "losses"),
])
def test_combine_losses_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        combine_losses(**kwargs)


# ---------------------------------------------------------------- power_mean
def test_power_mean_known_values_exact_fractions():
    L = torch.tensor([0.5, 2.0, 8.0], dtype=f64)
    x = [Fraction(1, 2), Fraction(2), Fraction(8)]
    harmonic = float(3 / sum(1 / v for v in x))
    quadratic = math.sqrt(float(sum(v * v for v in x) / 3))
    for g, ref in ((-1, harmonic), (0, 2.0), (1, 3.5), (2, quadratic), (math.inf, 8.0), (-math.inf, 0.5)):
        assert float(power_mean(L, g)) == pytest.approx(ref, rel=4 * EPS)
    assert float(power_mean(L, np.float32(1.0))) == pytest.approx(3.5, rel=4 * EPS)


@pytest.mark.parametrize("gamma", [-400, -200, -7.5, -1, -1e-9, -1e-15, 1e-15, 1e-9, 0.3, 3, 200, 400])
def test_power_mean_matches_mpmath_including_large_and_tiny_gamma(gamma):
    rng = np.random.default_rng(int(abs(gamma) * 1000) % 2**32)
    L = rng.uniform(1e-3, 10, size=7)
    got = float(power_mean(torch.tensor(L, dtype=f64), gamma))
    assert got == pytest.approx(mp_power_mean(L, gamma), rel=64 * EPS)


def test_power_mean_extreme_ranges_are_finite():
    L = torch.tensor([1e-300, 1e300, 3.0], dtype=f64)
    for g in (-1e300, -50, -1, 0, 0.5, 50, 1e300):
        v = float(power_mean(L, g))
        assert math.isfinite(v) and 1e-300 <= v <= 1e300
        assert v == pytest.approx(mp_power_mean(L.tolist(), g) if abs(g) < 1e6
                                  else (1e300 if g > 0 else 1e-300), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(loss_vectors(min_n=2), gammas, gammas)
def test_power_mean_is_monotone_in_gamma_and_between_min_and_max(L, g1, g2):
    lo, hi = sorted((g1, g2))
    a, b = float(power_mean(L, lo)), float(power_mean(L, hi))
    assert a <= b * (1 + 1e-13)
    assert float(L.min()) * (1 - 1e-13) <= a and b <= float(L.max()) * (1 + 1e-13)


@settings(max_examples=100, deadline=None)
@given(loss_vectors(), gammas, st.floats(1e-6, 1e6))
def test_power_mean_is_homogeneous_and_symmetric(L, g, c):
    m = float(power_mean(L, g))
    assert float(power_mean(c * L, g)) == pytest.approx(c * m, rel=1e-12)
    assert float(power_mean(L.flip(0), g)) == pytest.approx(m, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.floats(1e-3, 1e3), st.floats(0.2, 3.0))
def test_power_mean_task_scale_invariance_only_at_gamma_zero(seed, c, g):
    """Law: rescaling one task rescales its gradient weight by c^gamma, so only gamma = 0 keeps
    the direction of the power-mean gradient (the geometric mean)."""
    losses, theta, _ = quadratic_tasks(seed)
    aff = torch.tensor([c, 1.0, 1.0], dtype=f64)

    def direction(gamma, scale):
        gr = grad_of(lambda th: power_mean(losses(th) * scale, gamma), theta)
        return gr / torch.linalg.vector_norm(gr)
    one = torch.ones(3, dtype=f64)
    torch.testing.assert_close(direction(0.0, aff), direction(0.0, one), rtol=1e-10, atol=1e-12)
    # gamma != 0: the weight ratio of task 0 changes by exactly c^gamma (checked via closed form)
    _, _, G = quadratic_tasks(seed)
    L = losses(theta)
    for scale in (one, aff):
        w = scale * (scale * L) ** (g - 1)
        ref = (w[:, None] * G).sum(0)
        torch.testing.assert_close(direction(g, scale), ref / torch.linalg.vector_norm(ref),
                                   rtol=1e-9, atol=1e-11)


def test_power_mean_gradcheck_all_branches_and_dim_and_dtype():
    x = torch.tensor([[0.5, 2.0, 8.0], [1.0, 1.5, 0.2]], dtype=f64, requires_grad=True)
    for g in (-30.0, -1.0, -0.01, 0.0, 0.01, 1.0, 30.0):
        assert torch.autograd.gradcheck(lambda t, g=g: power_mean(t, g, dim=1), (x,))
    out = power_mean(x.detach(), 1.0, dim=0)
    torch.testing.assert_close(out, x.detach().mean(0))
    half = power_mean(torch.tensor([1.0, 4.0], dtype=torch.float16), 0)
    assert half.dtype == torch.float16 and float(half) == 2.0
    assert optimization.power_mean is power_mean


@pytest.mark.parametrize("losses, gamma, match", [
    (torch.tensor([1.0, 0.0], dtype=f64), 1.0, "losses"),
    (torch.tensor([1.0, -2.0], dtype=f64), 1.0, "losses"),
    (torch.tensor([1.0, math.inf], dtype=f64), 1.0, "losses"),
    (torch.tensor([1.0, math.nan], dtype=f64), 1.0, "losses"),
    (torch.ones(0, dtype=f64), 1.0, "losses"),
    (torch.tensor(2.0, dtype=f64), 1.0, "losses"),
    (torch.tensor([1, 2]), 1.0, "losses"),
    (torch.tensor([1.0, 2.0], dtype=f64), math.nan, "gamma"),
    (torch.tensor([1.0, 2.0], dtype=f64), "two", "gamma"),
    (torch.tensor([1.0, 2.0], dtype=f64), True, "gamma"),
])
def test_power_mean_bad_input(losses, gamma, match):
    with pytest.raises(ValueError, match=match):
        power_mean(losses, gamma)


# ---------------------------------------------------------------- normalized_grad_sum
def test_normalized_grad_sum_formula_and_dtype():
    g = torch.tensor([[3.0, 4.0], [0.0, -2.0]], dtype=torch.float32)
    out = normalized_grad_sum(g)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([0.6, -0.2]))
    out_eps = normalized_grad_sum(g.double(), eps=1.0)  # rows / (5 + 1) and / (2 + 1)
    torch.testing.assert_close(out_eps, torch.tensor([3 / 6, 4 / 6 - 2 / 3], dtype=f64), rtol=0, atol=1e-16)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.lists(st.floats(1e-200, 1e200), min_size=3, max_size=3))
def test_normalized_grad_sum_is_invariant_to_row_scaling(seed, scales):
    g = torch.randn(3, 7, generator=torch.Generator().manual_seed(seed), dtype=f64)
    ref = normalized_grad_sum(g)
    out = normalized_grad_sum(g * torch.tensor(scales, dtype=f64)[:, None])
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-14)
    assert float(torch.linalg.vector_norm(out)) <= 3 + 1e-12


def test_normalized_grad_sum_extremes_and_eps():
    g = torch.tensor([[1e-320, 0.0], [1e308, 1e308]], dtype=f64)
    torch.testing.assert_close(normalized_grad_sum(g), torch.tensor([1 + 2**-0.5, 2**-0.5], dtype=f64))
    z = torch.tensor([[0.0, 0.0], [0.0, 2.0]], dtype=f64)
    torch.testing.assert_close(normalized_grad_sum(z, eps=1e-8), torch.tensor([0.0, 2 / (2 + 1e-8)], dtype=f64))


@pytest.mark.parametrize("grads, eps, match", [
    (torch.ones(3, dtype=f64), 0.0, "grads"),
    (torch.tensor([[1.0, math.nan]], dtype=f64), 0.0, "grads"),
    (torch.tensor([[1, 2]]), 0.0, "grads"),
    (torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=f64), 0.0, "grads"),
    (torch.ones(2, 2, dtype=f64), -1.0, "eps"),
    (torch.ones(2, 2, dtype=f64), math.inf, "eps"),
])
def test_normalized_grad_sum_bad_input(grads, eps, match):
    with pytest.raises(ValueError, match=match):
        normalized_grad_sum(grads, eps)


# ---------------------------------------------------------------- the toy
def test_linear_tasks_shapes_determinism_and_losses():
    X, Y = linear_tasks(np.random.default_rng(3), 4, tasks=3, n=50, d=2, noise=(0.0, 1.0, 2.0))
    assert X.shape == (4, 3, 50, 2) and Y.shape == (4, 3, 50) and X.dtype == f64
    X2, Y2 = linear_tasks(np.random.default_rng(3), 4, tasks=3, n=50, d=2, noise=(0.0, 1.0, 2.0))
    assert torch.equal(X, X2) and torch.equal(Y, Y2)
    W = torch.randn(4, 2, dtype=f64)
    L = linear_task_losses(W, X, Y)
    ref = np.array([[np.mean((X[r, t].numpy() @ W[r].numpy() - Y[r, t].numpy()) ** 2) for t in range(3)]
                    for r in range(4)])
    np.testing.assert_allclose(L.numpy(), ref, rtol=1e-13)
    # noise 0: task 0 is exactly linear, so its least-squares excess at the optimum is 0
    best = torch.linalg.lstsq(X[:, 0], Y[:, 0].unsqueeze(-1)).solution.squeeze(-1)
    assert float(linear_task_losses(best, X, Y)[:, 0].max()) < 1e-25


def test_relative_excess_is_one_at_start_zero_at_optimum_and_affine_free():
    X, Y = linear_tasks(np.random.default_rng(4), 3)
    W0 = torch.zeros(3, 5, dtype=f64)
    torch.testing.assert_close(relative_excess(W0, X, Y), torch.ones(3, 2, dtype=f64))
    best = torch.linalg.lstsq(X[:, 1], Y[:, 1].unsqueeze(-1)).solution.squeeze(-1)
    e = relative_excess(torch.stack([W0, best]), X, Y)
    assert e.shape == (2, 3, 2) and float(e[1, :, 1].abs().max()) < 1e-12 and float(e[1, :, 0].min()) > 0


def test_multitask_descent_sum_step_and_scale_invariance_of_init():
    X, Y = linear_tasks(np.random.default_rng(5), 6)
    W0 = torch.zeros(6, 5, dtype=f64)
    Ws, Ls = multitask_descent(lambda W: linear_task_losses(W, X, Y), W0, "sum", lr=0.1, steps=3)
    assert Ws.shape == (4, 6, 5) and Ls.shape == (4, 6, 2)
    g = 2 * torch.einsum("rtnd,rtn->rd", X, -Y) / X.shape[2]  # closed-form gradient at W = 0
    torch.testing.assert_close(Ws[1], -0.1 * g, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(Ls[2], linear_task_losses(Ws[2], X, Y))
    scale = torch.tensor([1.0, 1000.0], dtype=f64)
    for scheme in ("init", "sg", "grad"):
        a, _ = multitask_descent(lambda W: linear_task_losses(W, X, Y), W0, scheme, 0.01, 20)
        b, _ = multitask_descent(lambda W: linear_task_losses(W, X, Y) * scale, W0, scheme, 0.01, 20)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_multitask_descent_power_zero_is_parallel_to_sg_and_divergence_gives_nan():
    X, Y = linear_tasks(np.random.default_rng(6), 4)
    W0 = torch.zeros(4, 5, dtype=f64)
    fn = lambda W: linear_task_losses(W, X, Y)  # noqa: E731
    a, _ = multitask_descent(fn, W0, "power", 0.01, 1, gamma=0.0)
    b, _ = multitask_descent(fn, W0, "sg", 0.01, 1)
    cos = torch.nn.functional.cosine_similarity(a[1], b[1], dim=-1)
    torch.testing.assert_close(cos, torch.ones(4, dtype=f64), rtol=0, atol=1e-14)
    Ws, Ls = multitask_descent(lambda W: fn(W) * 1e4, W0, "sum", 0.05, 200)
    assert torch.isnan(Ws[-1]).all() and torch.isnan(Ls[-1]).all() and torch.isfinite(Ws[1]).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(scheme="mean"), "scheme"),
    (dict(scheme="power"), "gamma"),
    (dict(lr=0.0), "lr"),
    (dict(lr=math.nan), "lr"),
    (dict(steps=-1), "steps"),
    (dict(W0=torch.zeros(5, dtype=f64)), "W0"),
    (dict(loss_fn=lambda W: W.sum()), "loss_fn"),
])
def test_multitask_descent_bad_input(kwargs, match):
    X, Y = linear_tasks(np.random.default_rng(7), 2)
    args = dict(loss_fn=lambda W: linear_task_losses(W, X, Y), W0=torch.zeros(2, 5, dtype=f64))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        multitask_descent(**args)


@pytest.mark.parametrize("call, match", [
    (lambda: linear_tasks(0, 2), "rng"),
    (lambda: linear_tasks(np.random.default_rng(0), 0), "replicates"),
    (lambda: linear_tasks(np.random.default_rng(0), 2, noise=(1.0,)), "noise"),
    (lambda: linear_tasks(np.random.default_rng(0), 2, noise=(1.0, -1.0)), "noise"),
    (lambda: linear_task_losses(torch.zeros(2, 4, dtype=f64), *linear_tasks(np.random.default_rng(0), 2)), "W"),
    (lambda: linear_task_losses(torch.zeros(2, 5, dtype=f64), torch.zeros(2, 2, 3, 5, dtype=f64),
                                torch.zeros(2, 2, 4, dtype=f64)), "Y"),
    (lambda: relative_excess(torch.zeros(5, dtype=f64), *linear_tasks(np.random.default_rng(0), 2)), "W"),
])
def test_toy_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_relative_excess_rejects_w0_at_an_optimum():
    X, Y = linear_tasks(np.random.default_rng(8), 2, noise=(0.0, 0.0))
    Y = torch.zeros_like(Y)  # every task's optimum is W = 0
    with pytest.raises(ValueError, match="W0"):
        relative_excess(torch.ones(2, 5, dtype=f64), X, Y)


def test_log_objective_minimisers_stationary_and_hessian_by_finite_differences():
    X, Y = linear_tasks(np.random.default_rng(9), 3)
    w_star, lam = log_objective_minimisers(X, Y)
    assert w_star.shape == (3, 5) and lam.shape == (3, 5)
    assert torch.all(lam[:, 1:] >= lam[:, :-1]) and float(lam.min()) > 0  # a minimum

    def f(w, r):
        return float(np.log(np.mean((X[r].numpy() @ w[:, None] - Y[r].numpy()[..., None]) ** 2, axis=1)).sum())
    h = 1e-4
    for r in range(3):
        w = w_star[r].numpy()
        E = np.eye(5) * h
        grad = np.array([(f(w + e, r) - f(w - e, r)) / 2e-6 for e in np.eye(5) * 1e-6])
        assert np.abs(grad).max() < 1e-7  # ~0 at the minimiser: central differences err ~1e-9 here
        H = np.array([[(f(w + a + b, r) - f(w + a - b, r) - f(w - a + b, r) + f(w - a - b, r)) / (4 * h * h)
                       for b in E] for a in E])
        np.testing.assert_allclose(np.linalg.eigvalsh(H), lam[r].numpy(), rtol=1e-4, atol=1e-3)
    # one sg step of gradient descent from w_star stays put (the gradient there is ~0)
    Ws, _ = multitask_descent(lambda W: linear_task_losses(W, X, Y), w_star, "sg", 0.01, 1)
    torch.testing.assert_close(Ws[1], w_star, rtol=0, atol=1e-14)


def test_log_objective_minimisers_bad_input():
    X, Y = linear_tasks(np.random.default_rng(9), 2)
    with pytest.raises(ValueError, match="X"):
        log_objective_minimisers(X[0], Y)
    with pytest.raises(ValueError, match="Y"):
        log_objective_minimisers(X, Y[:, :, :5])
