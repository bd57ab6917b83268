"""Tests of lib.generative.samplers that pin down what mutation testing (issue #20) found
test_diffusion.py silent on: the integrators' exact one-step updates (written out here from the
schedule's f, g^2 and the exact marginal score, independently of the samplers' code), the
forward family, grids between interior times, the solver options, and argument messages."""

import math

import numpy as np
import pytest
import torch

from lib.generative import (
    VPLinear,
    family_drift,
    integrate_family,
    marginal,
    ode_log_likelihood,
    probability_flow,
    reverse_sample,
    score_evaluations,
    time_grid,
)

S = VPLinear()
X = np.linspace(-2.0, 2.5, 7)


def drift(x, t, g, w):
    """f_t x - w g_t^2 grad log p_t(x), p_t the exact marginal (the family's drift)."""
    return S.f(t) * x - w * S.g2(t) * marginal(g, S, t).score(x)


def steps_by_hand(x, grid, g, lam, scheme, w, seed):
    """Euler-Maruyama x + b h + lam sqrt(g2 |h|) z, or stochastic Heun (the same z in predictor
    and corrector), along ``grid``; z drawn from ``default_rng(seed)`` one step at a time."""
    rng = np.random.default_rng(seed)
    for t0, t1 in zip(grid[:-1], grid[1:], strict=True):
        h = t1 - t0
        b0 = drift(x, t0, g, w)
        kick = lam * math.sqrt(S.g2(t0) * abs(h)) * rng.standard_normal(x.shape) if lam else 0.0
        if scheme == "euler_maruyama":
            x = x + b0 * h + kick
        else:
            pred = x + b0 * h + kick
            x = x + 0.5 * h * (b0 + drift(pred, t1, g, w)) + kick
    return x


# --- the drift and the integrators -----------------------------------------------------------


def test_family_drift_defaults_and_score_weight(g1):
    t = 0.4
    assert np.allclose(family_drift(X, t, g1, S), drift(X, t, g1, 0.5), rtol=1e-14, atol=1e-14)
    assert np.allclose(family_drift(X, t, g1, S, 0.7, score_weight=0.3), drift(X, t, g1, 0.3),
                       rtol=1e-14, atol=1e-14)
    with pytest.raises(ValueError, match=r"^direction must be 'forward' or 'reverse'"):
        family_drift(X, t, g1, S, direction="sideways")


@pytest.mark.parametrize("scheme", ["euler_maruyama", "heun"])
@pytest.mark.parametrize("lam", [0.0, 0.8])
@pytest.mark.parametrize("grid", [[0.9, 0.5, 0.2], [0.2, 0.6], [0.1, 0.35, 0.7]])
def test_integrators_take_the_documented_steps(g1, scheme, lam, grid):
    """Reverse grids use w = (1 + lam^2)/2, forward grids w = (1 - lam^2)/2 (lam = 1 forward:
    the forward SDE itself); a two-point grid is one step."""
    w = 0.5 * (1 + lam**2) if grid[1] < grid[0] else 0.5 * (1 - lam**2)
    out = integrate_family(X, grid, g1, S, lam, np.random.default_rng(5), scheme)
    ref = steps_by_hand(X[:, None], grid, g1, lam, scheme, w, seed=5)[:, 0]
    assert out.shape == X.shape and np.allclose(out, ref, rtol=1e-13, atol=1e-13)


def test_score_weight_and_grid_reach_the_integrator(g1):
    grid = [0.8, 0.3]
    out = integrate_family(X, grid, g1, S, 0.0, scheme="euler_maruyama", score_weight=0.25)
    ref = steps_by_hand(X[:, None], grid, g1, 0.0, "euler_maruyama", 0.25, 0)[:, 0]
    assert np.allclose(out, ref, rtol=1e-13, atol=1e-13)
    out = reverse_sample(X, g1, S, 0.0, 2, None, "euler_maruyama", grid="uniform", score_weight=0.7)
    ref = steps_by_hand(X[:, None], [1.0, 0.5, 0.0], g1, 0.0, "euler_maruyama", 0.7, 0)[:, 0]
    assert np.allclose(out, ref, rtol=1e-13, atol=1e-13)
    out = reverse_sample(X, g1, S, 0.0, 2, None, "euler_maruyama")  # quadratic: 1, 1/4, 0
    ref = steps_by_hand(X[:, None], [1.0, 0.25, 0.0], g1, 0.0, "euler_maruyama", 0.5, 0)[:, 0]
    assert np.allclose(out, ref, rtol=1e-13, atol=1e-13)


def test_forward_sde_needs_no_score(g2):
    """lam = 1 on an increasing grid is the forward SDE: x + f_t x h + g_t sqrt(h) z."""
    x = np.array([[0.3, -0.2], [1.0, 2.0]])
    out = integrate_family(x, [0.2, 0.5], g2, S, 1.0, np.random.default_rng(1))
    z = np.random.default_rng(1).standard_normal(x.shape)
    assert np.allclose(out, x + S.f(0.2) * x * 0.3 + math.sqrt(S.g2(0.2) * 0.3) * z, rtol=1e-14)


def test_path_shapes_and_default_return(g1, g2):
    assert isinstance(integrate_family(X, [1.0, 0.5], g1, S, 0.0), np.ndarray)
    out, path = integrate_family(X[:, None], [1.0, 0.5, 0.0], g1, S, 0.0, return_path=True)
    assert out.shape == (7, 1) and path.shape == (3, 7, 1)
    out, path = integrate_family(X, [1.0, 0.5, 0.0], g1, S, 0.0, return_path=True)
    assert out.shape == (7,) and path.shape == (3, 7)
    x2 = np.zeros((4, 2))
    out, path = reverse_sample(x2, g2, S, 0.0, 3, None, return_path=True)
    assert out.shape == (4, 2) and path.shape == (4, 4, 2) and np.array_equal(path[-1], out)


@pytest.mark.parametrize(
    "t_grid, match",
    [
        ([0.5], r"^t_grid must be a 1-D array of at least two times"),
        ([[0.1, 0.2], [0.3, 0.4]], r"^t_grid must be a 1-D array of at least two times"),
        ([0.0, 0.5, 0.5, 1.0], r"^t_grid must be strictly monotone"),
        ([1.0, 0.5, 0.5, 0.0], r"^t_grid must be strictly monotone"),
        ([0.0, 1.5], r"^t_grid must lie in \[0, 1\]"),
    ],
)
def test_integrate_family_rejects_bad_grids(g1, t_grid, match):
    with pytest.raises(ValueError, match=match):
        integrate_family(X, t_grid, g1, S, 0.0)


# --- inputs and outputs ---------------------------------------------------------------------------


def test_point_types_and_dtypes(g1):
    x32 = X.astype(np.float32)
    assert reverse_sample(x32, g1, S, 0.0, 3, None).dtype == np.float32
    out = reverse_sample(X.tolist(), g1, S, 0.0, 3, None)  # a list is an array-like
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    xt = torch.tensor(X, requires_grad=True)  # samplers are not differentiable: taken as data
    assert torch.allclose(reverse_sample(xt, g1, S, 0.0, 3, None),
                          torch.tensor(reverse_sample(X, g1, S, 0.0, 3, None)), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"^x must have shape \(n, 1\)"):
        reverse_sample(np.zeros((3, 2)), g1, S, 0.0, 10, None)
    with pytest.raises(ValueError, match=r"^x0 must have shape \(n, 1\)"):
        ode_log_likelihood(np.zeros((3, 2)), g1, S)


def test_results_follow_the_input_device_not_the_default_device(g1):
    """With torch's default device elsewhere ("meta"), CPU points still give CPU results."""
    x = torch.tensor(X)
    with torch.device("meta"):
        out = [reverse_sample(x, g1, S, 0.0, 3, None), probability_flow(x, 1.0, 0.5, g1, S),
               ode_log_likelihood(x, g1, S, rtol=1e-6, atol=1e-6)]
    ref = [reverse_sample(X, g1, S, 0.0, 3, None), probability_flow(X, 1.0, 0.5, g1, S),
           ode_log_likelihood(X, g1, S, rtol=1e-6, atol=1e-6)]
    for o, r in zip(out, ref, strict=True):
        assert o.device.type == "cpu" and np.array_equal(o.numpy(), r)


def test_float32_tensors_are_integrated_in_float64(g1):
    """The working copy is float64: float32 points give the float64 result, rounded."""
    x = torch.linspace(-3, 3, 601, dtype=torch.float32)
    out = integrate_family(x, [1.0, 0.0], g1, S, 0.0, scheme="euler_maruyama")
    ref = integrate_family(x.double(), [1.0, 0.0], g1, S, 0.0, scheme="euler_maruyama")
    assert out.dtype == torch.float32 and torch.equal(out, ref.float())


# --- time grids ---------------------------------------------------------------------------------


def test_time_grid_between_interior_times():
    assert time_grid(0.2, 0.6, 4, "uniform") == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6], abs=1e-15)
    assert time_grid(0.6, 0.2, 2) == pytest.approx([0.6, 0.3, 0.2], abs=1e-15)  # 0.2 + 0.4 s^2
    assert time_grid(0.2, 0.7, 1).tolist() == [0.2, 0.7]
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"^steps must be a positive integer"):
            time_grid(0.0, 1.0, bad)
    with pytest.raises(ValueError, match=r"^t_from must lie in \[0, 1\]"):
        time_grid(1.5, 0.0, 3)
    with pytest.raises(ValueError, match=r"^t_to must lie in \[0, 1\]"):
        time_grid(0.0, -1.0, 3)
    with pytest.raises(ValueError, match=r"^t_from and t_to must differ"):
        time_grid(0.3, 0.3, 2)


def test_reverse_sample_and_scheme_checks(g1):
    with pytest.raises(ValueError, match=r"^t_from must exceed t_to"):
        reverse_sample(X, g1, S, 0.0, 4, None, t_from=0.5, t_to=0.5)
    with pytest.raises(ValueError, match=r"^scheme must be one of"):
        score_evaluations(10, "rk4")


# --- the ODE solvers ----------------------------------------------------------------------------


def test_probability_flow_options(g1):
    x0, nfev = probability_flow(X, 1.0, 0.0, g1, S, return_nfev=True)
    assert nfev > 0 and np.allclose(x0, probability_flow(X, 1.0, 0.0, g1, S), rtol=0, atol=0)
    same, zero = probability_flow(X, 0.5, 0.5, g1, S, return_nfev=True)
    assert zero == 0 and np.array_equal(same, X)
    # the method is honoured: 3rd-order RK23 needs many more evaluations than 8th-order DOP853
    _, n23 = probability_flow(X, 1.0, 0.0, g1, S, rtol=1e-8, atol=1e-8, method="RK23",
                              return_nfev=True)
    _, n853 = probability_flow(X, 1.0, 0.0, g1, S, rtol=1e-8, atol=1e-8, return_nfev=True)
    assert n23 > 3 * n853
    with pytest.raises(ValueError, match="method"):
        probability_flow(X, 1.0, 0.0, g1, S, method="no-such-method")
    for tol in ({"rtol": 0.0}, {"atol": 0.0}, {"rtol": -1e-9}):
        with pytest.raises(ValueError, match=r"^rtol and atol must be > 0"):
            probability_flow(X, 1.0, 0.0, g1, S, **tol)
    with pytest.raises(ValueError, match=r"^t_from must lie in \[0, 1\]"):
        probability_flow(X, 1.2, 0.0, g1, S)
    with pytest.raises(ValueError, match=r"^t_to must lie in \[0, 1\]"):
        probability_flow(X, 1.0, -0.1, g1, S)


class _SingularDrift(VPLinear):
    """f_t = 1/(1/2 - t) below t = 1/2: x_t grows like 1/(1/2 - t) (no overflow), so the
    solver's step must shrink below float spacing as t -> 1/2 and it cannot get past."""

    def f(self, t):
        return 1.0 / (0.5 - t) if t < 0.5 else 0.0


def test_solver_failure_is_an_error(g1):
    with pytest.raises(RuntimeError, match=r"^solve_ivp failed: Required step size"):
        probability_flow(X[:1], 0.0, 1.0, g1, _SingularDrift(), rtol=1e-3, atol=1e-3)


def test_ode_log_likelihood_options(g1):
    exact = g1.log_prob(X)
    ll, nfev = ode_log_likelihood(X, g1, S, return_nfev=True)
    assert nfev > 0 and np.max(np.abs(ll - exact)) < 1e-8
    # the change of variables holds to any end time
    ll, nfev = ode_log_likelihood(X, g1, S, t_end=0.5, return_nfev=True)
    assert nfev > 0 and np.max(np.abs(ll - exact)) < 1e-8
    ll, nfev = ode_log_likelihood(X, g1, S, t_end=0.0, return_nfev=True)
    assert nfev == 0 and np.array_equal(ll, exact)
    with pytest.raises(ValueError, match=r"^t_end must lie in \[0, 1\]"):
        ode_log_likelihood(X, g1, S, t_end=1.5)
