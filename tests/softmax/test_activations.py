"""Tests of lib.softmax.activations (chapter: SquarePlus)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.softmax import squareplus

f64 = torch.float64
LOG2SQ4 = 4 * math.log(2) ** 2


def reference(x: float, b: float) -> float:
    """float64 reference in the cancellation-free form, from Python floats."""
    h = math.hypot(x, math.sqrt(b))
    return 0.5 * (x + h) if x >= 0 else 0.5 * b / (h - x)


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-3, 10))
def test_matches_definition_and_lies_above_relu(x, b):
    v = float(squareplus(torch.tensor(x, dtype=f64), b))
    assert v == pytest.approx(reference(x, b), rel=4e-16, abs=0)
    assert v > max(x, 0.0) or (x > 1e3 and v == x)  # strict in exact arithmetic


@settings(max_examples=200, deadline=None)
@given(st.floats(-30, 30), st.floats(0.01, 10))
def test_reflection_law_and_monotone_in_b(x, b):
    """f(x) - f(-x) = x (both SquarePlus and SoftPlus), and f grows with b."""
    t = torch.tensor([x, -x], dtype=f64)
    f = squareplus(t, b)
    assert float(f[0] - f[1]) == pytest.approx(x, abs=1e-13 * (1 + abs(x)))
    assert float(squareplus(t[:1], b * 1.5)) > float(f[0])


def test_b_zero_is_relu_with_finite_gradient():
    x = torch.tensor([-2.0, 0.0, 3.0], dtype=f64, requires_grad=True)
    y = squareplus(x, 0.0)
    assert torch.equal(y, torch.relu(x.detach()))
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_derivatives_match_closed_forms():
    b = 1.5
    x = torch.linspace(-20, 20, 401, dtype=f64, requires_grad=True)
    (d1,) = torch.autograd.grad(squareplus(x, b).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    xd = x.detach()
    assert torch.allclose(d1, 0.5 * (1 + xd / torch.sqrt(xd**2 + b)), rtol=1e-13, atol=0)
    assert torch.allclose(d2, b / (2 * (xd**2 + b) ** 1.5), rtol=1e-10, atol=1e-300)
    assert (d1 > 0).all() and (d2 > 0).all()


def test_gradcheck():
    x = torch.tensor([-1e3, -3.0, -0.1, 0.0, 0.2, 5.0, 1e3], dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: squareplus(t, 1.52), (x,))


def test_dominates_softplus_iff_b_at_least_4_log2_squared():
    x = torch.linspace(-40, 40, 160_001, dtype=f64)
    softplus = torch.logaddexp(x, torch.zeros_like(x))  # exact; F.softplus cuts off at 20
    gap_ok = squareplus(x, LOG2SQ4) - softplus
    assert float(gap_ok.min()) >= -1e-15
    assert float((squareplus(x, 0.999 * LOG2SQ4) - softplus).min()) < 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, f64])
def test_large_negative_inputs_keep_relative_precision(dtype):
    x = torch.tensor([-1e4, -3e4, -100.0, -1.0], dtype=dtype)
    y = squareplus(x, 1.5238)
    ref = torch.tensor([reference(float(v), 1.5238) for v in x.double()], dtype=f64)
    eps = torch.finfo(dtype).eps
    assert y.dtype == dtype and (y > 0).all()
    assert torch.allclose(y.double(), ref, rtol=4 * eps, atol=0)


def test_float32_naive_formula_cancels_but_stable_does_not():
    x = torch.tensor([-1e4], dtype=torch.float32)
    naive = 0.5 * (x + torch.sqrt(x * x + 1.5238))
    assert float(naive) == 0.0
    assert float(squareplus(x, 1.5238)) == pytest.approx(reference(-1e4, 1.5238), rel=1e-6)


def test_no_overflow_near_float32_max():
    big = torch.finfo(torch.float32).max
    x = torch.tensor([-big, -1e30, 1e30, big], dtype=torch.float32)
    y = squareplus(x, 4.0)
    assert torch.isfinite(y).all()
    assert float(y[3]) == big and float(y[2]) == pytest.approx(1e30, rel=1e-6)
    assert float(y[1]) == pytest.approx(1e-30, rel=1e-6)


def test_shape_device_and_dtype_preserved():
    x = torch.randn(2, 3, 4)
    y = squareplus(x)
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert torch.allclose(squareplus(x, torch.tensor(4.0)), y)


@pytest.mark.parametrize(
    "x, b, match",
    [
        (torch.tensor([1.0, float("nan")]), 4.0, "NaN"),
        (torch.tensor([1, 2]), 4.0, "floating"),
        ([1.0], 4.0, "torch.Tensor"),
        (torch.tensor([1.0]), -1.0, "b must"),
        (torch.tensor([1.0]), float("inf"), "b must"),
        (torch.tensor([1.0]), torch.tensor([1.0, 2.0]), "scalar"),
    ],
)
def test_bad_input(x, b, match):
    with pytest.raises(ValueError, match=match):
        squareplus(x, b)
