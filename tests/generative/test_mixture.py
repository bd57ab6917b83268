"""Tests of lib.generative.mixture (GaussianMixture) that pin its contract down where mutation
testing (issue #20) found test_diffusion.py silent: argument checks and their messages, dtypes
of torch points, components that never fire, far-out points, moments of every order and the
quantile function's edge cases. References: SciPy's densities and quadrature, closed forms."""

import contextlib
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate, optimize, stats

from lib.generative import GaussianMixture
from tests.generative.conftest import MU, SD, W


@contextlib.contextmanager
def no_warnings():
    """Every warning (NumPy's RuntimeWarning, torch's UserWarning) becomes an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def mixture_pdf(x, w=W, mu=MU, sd=SD):
    """Component densities w_k N(x; m_k, s_k^2), shape (n, K), from SciPy."""
    return np.stack([wk * stats.norm.pdf(x, m, s) for wk, m, s in zip(w, mu, sd, strict=True)], 1)


# --- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, match",
    [
        (("abc", [0.0], [1.0]), r"^weights must be a real array"),
        (([[0.5], [0.5]], [0.0, 1.0], [1.0, 1.0]), r"^weights must have shape \(K,\), got \(2, 1\)"),
        (([], [], []), r"^weights must have shape \(K,\), got \(0,\)"),
        (([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0]), r"^means must have shape \(2, d\), got \(3,\)"),
        (([1.0], [0.0], "abc"), r"^covs must be a real array"),
        (([0.5, 0.5], [0.0, 1.0], [1.0, 1.0, 1.0]),
         r"^covs must have shape \(2,\) or \(2, 1, 1\), got \(3,\)"),
        (([0.5, 0.5], [0.0, 1.0], [1.0, 0.0]), r"^covs \(isotropic variances\) must be > 0"),
        (([1.0], [[0.0]], [[[-1.0]]]), r"^covs must be positive definite"),
        # an asymmetry far above rounding (1e-10 on entries of size 0.5) is rejected
        (([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.5 + 1e-10, 1.0]]]), r"^covs must be symmetric"),
    ],
)
def test_constructor_messages_name_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(*args)


def test_symmetry_check_tolerates_rounding_only():
    """One ulp of asymmetry (what forming a covariance in floats leaves) is accepted."""
    c = np.array([[1.0, 0.1], [np.nextafter(0.1, 1.0), 1.0]])
    g = GaussianMixture([1.0], [[0.0, 0.0]], [c])
    assert g.covs.shape == (1, 2, 2)


def test_zero_weight_component_never_fires():
    """w_k = 0 is allowed (no warning): the mixture is the other component exactly."""
    x = np.linspace(-5, 5, 11)
    with no_warnings():
        g = GaussianMixture([0.0, 1.0], [-3.0, 2.0], [0.5, 1.5])
        lp, r = g.log_prob(x), g.posterior_weights(x)
    assert np.allclose(lp, stats.norm.logpdf(x, 2.0, math.sqrt(1.5)), rtol=1e-14, atol=1e-14)
    assert np.all(r[:, 0] == 0.0) and np.all(r[:, 1] == 1.0)


# --- points: types, shapes, dtypes -----------------------------------------------------------


@pytest.mark.parametrize(
    "x",
    [np.array(["1.0"]), np.array([True, False]), np.array([1 + 2j]), torch.tensor([1 + 2j]),
     torch.tensor([True])],
)
def test_points_must_be_real_numbers(g1, x):
    """Strings, booleans and complex numbers are rejected, not cast (complex used to lose its
    imaginary part with only a warning)."""
    with pytest.raises(ValueError, match=r"^x must be a real array"):
        g1.log_prob(x)


def test_point_messages_name_x_and_the_shapes(g1, g2):
    with pytest.raises(ValueError, match=r"^x must be finite"):
        g1.log_prob(np.array([np.nan]))
    with pytest.raises(ValueError, match=r"^x must have shape \(n, 1\) or \(n,\), got \(3, 2\)$"):
        g1.score(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^x must have shape \(n, 2\), got \(4,\)$"):
        g2.score(np.zeros(4))


def test_one_dimensional_methods_name_themselves(g2):
    calls = {"central_moment": lambda: g2.central_moment(2), "cdf": lambda: g2.cdf(np.zeros(3)),
             "icdf": lambda: g2.icdf(np.array([0.5]))}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"^{name} is defined for one-dimensional mixtures only \(d = 2\)"):
            call()


def test_integer_tensors_are_promoted_to_float64(g1):
    """Integer points give float64 results equal to those of the same points in float64."""
    xi = torch.tensor([-2, 0, 1, 3])
    xf = xi.numpy().astype(np.float64)
    ref = np.log(mixture_pdf(xf).sum(1))
    out = g1.log_prob(xi)
    assert out.dtype == torch.float64 and np.allclose(out.numpy(), ref, rtol=1e-14, atol=0)
    for method in ("score", "laplacian_log_prob"):
        out = getattr(g1, method)(xi)
        assert out.dtype == torch.float64
        assert np.allclose(out.numpy(), getattr(g1, method)(xf), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_points_are_computed_in_float32(g1, dtype):
    """The book's one rule for half precision (lib.checks.work_dtype): compute in float32, cast
    back. Results must equal the float32 evaluation of the same points, rounded."""
    x = torch.linspace(-4, 5, 4001).to(dtype)
    for method in ("log_prob", "score", "laplacian_log_prob"):
        out = getattr(g1, method)(x)
        assert out.dtype == dtype
        assert torch.equal(out, getattr(g1, method)(x.float()).to(dtype)), method


def test_numpy_points_are_computed_in_float64(g1):
    """NumPy points are evaluated in float64 and returned in their own float dtype: float32 and
    longdouble points give the float64 results of the same values, cast."""
    x = np.linspace(-3, 4, 15)
    for dtype in (np.float32, np.longdouble):
        xd = x.astype(dtype)
        for method in ("log_prob", "score", "laplacian_log_prob"):
            out = getattr(g1, method)(xd)
            ref = getattr(g1, method)(xd.astype(np.float64)).astype(dtype)
            assert out.dtype == dtype and np.array_equal(out, ref), (dtype, method)
    xl = x.astype(np.longdouble)
    assert np.array_equal(g1.cdf(xl), g1.cdf(x))
    u = np.linspace(0.01, 0.99, 9)
    assert np.array_equal(g1.icdf(u.astype(np.longdouble)), g1.icdf(u))


def test_results_follow_the_input_device_not_the_default_device():
    """With torch's default device elsewhere ("meta"), CPU points still give CPU results equal
    to the usual ones: parameters and outputs are placed on the input's device explicitly."""
    g = GaussianMixture(W, MU, np.array(SD) ** 2)  # a fresh one: no cached tensors yet
    x = torch.linspace(-3, 3, 5, dtype=torch.float64)
    u = torch.tensor([0.2, 0.5], dtype=torch.float64)
    with torch.device("meta"):
        out = [g.log_prob(x), g.score(x), g.cdf(x), g.icdf(u)]
    ref = [g.log_prob(x.numpy()), g.score(x.numpy()), g.cdf(x.numpy()), g.icdf(u.numpy())]
    for o, r in zip(out, ref, strict=True):
        assert o.device.type == "cpu" and np.allclose(o.numpy(), r, rtol=1e-15, atol=1e-15)


def test_float32_points_are_computed_in_float32(g1):
    """torch points are evaluated in their own dtype: at 1e20 the squared distance overflows
    float32 (rejected, as the log-density itself would), while float64 still has it."""
    with pytest.raises(ValueError, match="too far from every component"):
        g1.log_prob(torch.tensor([1e20], dtype=torch.float32))
    assert np.isfinite(g1.log_prob(torch.tensor([1e20], dtype=torch.float64)).item())


def test_float32_then_float64_points_each_get_their_precision(g1):
    """Parameters are cached per dtype: a float64 call after a float32 one is float64-exact."""
    x = np.linspace(-3, 4, 15)
    g1.log_prob(torch.tensor(x, dtype=torch.float32))
    out = g1.log_prob(torch.tensor(x, dtype=torch.float64))
    assert np.allclose(out.numpy(), np.log(mixture_pdf(x).sum(1)), rtol=1e-14, atol=1e-14)


def test_points_requiring_grad_and_far_points_raise_no_warning(g1, g2):
    x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    with no_warnings():
        g1.log_prob(x).sum().backward()
        g1.score(x)
        g2.log_prob(torch.zeros(3, 2, dtype=torch.float64, requires_grad=True))
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("d", [1, 2])
def test_overflow_in_a_narrow_component_is_silent_and_exact(d):
    """Far from a very narrow component its exponent overflows to -inf (weight 0): no warning,
    and log p, score and Laplacian are those of the wide component (closed forms)."""
    g = GaussianMixture([0.5, 0.5], np.zeros((2, d)), [1e-300, 1.0])
    x = np.full((1, d), 1e5)
    with no_warnings():
        lp, sc, lap = g.log_prob(x), g.score(x), g.laplacian_log_prob(x)
    assert lp[0] == pytest.approx(math.log(0.5) + d * stats.norm.logpdf(1e5), rel=1e-15)
    assert np.array_equal(sc, -x) and lap[0] == -d


def test_laplacian_stays_finite_far_out(g1, g2):
    """At |x| >= 2e153 the narrow components' |a_k - score|^2 overflows although their
    responsibility is 0; the Laplacian must still be the widest component's -tr C^{-1} (it was
    NaN). log p and score are finite there too."""
    x = np.array([2e153, -1e154])
    for xx in (x, torch.tensor(x)):
        lap = g1.laplacian_log_prob(xx)
        assert np.allclose(np.asarray(lap), -1 / 0.36, rtol=1e-12)
    pts = np.array([[3e153, 0.0]])  # owned by the component with the largest x-variance
    assert g2.laplacian_log_prob(pts)[0] == pytest.approx(-np.trace(np.linalg.inv(g2.covs[2])),
                                                          rel=1e-12)


def test_posterior_weights_of_one_dimensional_points(g1):
    """(n,) points give (n, K) responsibilities, Bayes' rule from SciPy's densities."""
    x = np.linspace(-3, 4, 8)
    dens = mixture_pdf(x)
    r = g1.posterior_weights(x)
    assert r.shape == (8, 3)
    assert np.allclose(r, dens / dens.sum(1, keepdims=True), rtol=1e-12, atol=1e-15)


# --- moments and sampling ------------------------------------------------------------------------


def test_central_moments_of_a_gaussian_are_double_factorials():
    """E(x - m)^p = s^p (p - 1)!! for even p, 0 for odd p (exactly: every term has a zero)."""
    s = 2.5
    g = GaussianMixture([1.0], [1.7], [s**2])
    for p in range(10):
        exact = 0.0 if p % 2 else s**p * math.prod(range(p - 1, 0, -2))
        assert g.central_moment(p) == pytest.approx(exact, rel=1e-14, abs=0)


def test_high_central_moments_by_quadrature(g1):
    mu = g1.mean()[0]
    for k in range(5, 9):
        ref = integrate.quad(lambda x, k=k: (x - mu) ** k * mixture_pdf(np.array([x])).sum(),
                             -14, 16, limit=400, epsabs=0, epsrel=1e-13)[0]
        assert g1.central_moment(k) == pytest.approx(ref, rel=1e-9)


def test_central_moment_rejects_bad_order(g1):
    for bad in (-1, 1.5, "2"):
        with pytest.raises(ValueError, match=r"^order must be a non-negative integer"):
            g1.central_moment(bad)


def test_sample_counts(g2):
    rng = np.random.default_rng(0)
    assert g2.sample(0, rng).shape == (0, 2)
    assert g2.sample(np.int64(3), rng).shape == (3, 2)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match=r"^n must be a non-negative integer"):
            g2.sample(bad, rng)


# --- CDF and quantiles ---------------------------------------------------------------------------


def test_cdf_of_tensors_any_shape_against_scipy(g1):
    x = np.linspace(-6, 7, 27).reshape(3, 9)
    ref = sum(w * stats.norm.cdf(x, m, s) for w, m, s in zip(W, MU, SD, strict=True))
    out = g1.cdf(torch.tensor(x))
    assert out.shape == (3, 9) and np.allclose(out.numpy(), ref, rtol=0, atol=1e-15)
    assert np.allclose(g1.cdf(x), ref, rtol=0, atol=1e-15)
    xi = torch.tensor([-2, 0, 3])
    ref_i = sum(w * stats.norm.cdf(xi.numpy(), m, s) for w, m, s in zip(W, MU, SD, strict=True))
    out = g1.cdf(xi)
    assert out.dtype == torch.float64 and np.allclose(out.numpy(), ref_i, rtol=0, atol=1e-15)
    for bad in (torch.tensor([0.0, float("nan")]), np.array([0.0, np.nan])):
        with pytest.raises(ValueError, match=r"^x must not contain NaN"):
            g1.cdf(bad)


def brent_quantile(g, u, lo=-1e3, hi=1e3):
    return optimize.brentq(lambda y: g.cdf(y) - u, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500)


def test_icdf_of_tensors_returns_tensors(g1):
    u = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float32)
    out = g1.icdf(u)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    ref = [brent_quantile(g1, float(v)) for v in u]
    assert np.allclose(out.numpy(), ref, rtol=1e-6, atol=1e-6)  # float32 output
    x = torch.tensor([-2.1, 0.3, 2.9], dtype=torch.float64, requires_grad=True)
    back = g1.icdf(g1.cdf(x))  # u that requires grad is accepted (icdf is not differentiable)
    assert back.dtype == torch.float64 and torch.allclose(back, x.detach(), atol=1e-12)


def test_icdf_of_a_wide_mixture(g1):
    """The bisection bracket scales with the widest component (sd 20 here)."""
    g = GaussianMixture([0.5, 0.5], [-5.0, 5.0], [100.0, 400.0])
    u = np.array([1e-9, 1e-3, 0.5, 0.999, 1 - 1e-9])
    x = g.icdf(u)
    for xi, ui in zip(x, u, strict=True):
        root = brent_quantile(g, ui)
        # conditioning: ~4 ulp of error in F moves the quantile by 4 ulp / p(x)
        tol = 1e-12 * abs(root) + 1e-15 / math.exp(float(g.log_prob(np.array([root]))[0]))
        assert xi == pytest.approx(root, abs=tol)


def test_icdf_is_the_generalised_inverse_on_a_flat_stretch():
    """Between two far components F is flat in float64 (0.5 to the last bit over [-1.7, 1.7]);
    the quantile is the smallest x with F(x) >= u (to the bisection's 2e-9 resolution)."""
    g = GaussianMixture([0.5, 0.5], [-10.0, 10.0], [1.0, 1.0])
    u = 0.5 - np.arange(12) * 2.0**-54  # 0.5 and the 11 floats just below it
    x = g.icdf(u)
    assert np.all(g.cdf(x) >= u)
    assert np.all(g.cdf(x - 1e-7) < u)


def test_icdf_where_the_density_underflows():
    """sd 1e20: at the bisection point of u = 1e-320 the density underflows to 0 and the Newton
    step is skipped, without a warning; the other quantiles are SciPy's (times sd)."""
    g = GaussianMixture([1.0], [0.0], [1e40])
    with no_warnings():
        x = g.icdf(np.array([1e-320, 1e-300, 0.5]))
    assert np.all(np.isfinite(x)) and x[0] < x[1] < x[2]
    assert x[1] == pytest.approx(stats.norm.ppf(1e-300) * 1e20, rel=1e-9)
    assert abs(x[2]) < 1e-15 * 1e20  # the median 0, to rounding relative to sd
