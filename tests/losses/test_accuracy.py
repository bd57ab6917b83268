"""Tests for lib.losses.expected_accuracy_loss (chapter train-your-accuracy, kexue.fm 9098)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.losses import expected_accuracy_loss

D = torch.float64


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


@settings(max_examples=40, deadline=None)
@given(d=st.floats(-12, 12), scale=st.floats(0.2, 5))
def test_two_classes_closed_form(d, scale):
    """Two classes: P(z_1/s + e_1 > z_0/s + e_0) = Phi(d / (s sqrt 2)), e_1 - e_0 ~ N(0, 2)."""
    logits = torch.tensor([[0.0, d]], dtype=D)
    p = -expected_accuracy_loss(logits, torch.tensor([1]), scale=scale)
    assert p.item() == pytest.approx(_phi(d / (scale * math.sqrt(2))), abs=1e-12)


def test_probabilities_sum_to_one_and_match_monte_carlo():
    g = torch.Generator().manual_seed(0)
    z = 2 * torch.randn(3, 5, generator=g, dtype=D)
    probs = torch.stack(
        [
            -expected_accuracy_loss(z, torch.full((3,), c), reduction="none")
            for c in range(5)
        ],
        dim=-1,
    )
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, dtype=D), rtol=0, atol=1e-12)
    n = 40_000
    eps = torch.randn(n, 3, 5, generator=g, dtype=D)
    freq = torch.nn.functional.one_hot((z + eps).argmax(-1), 5).to(D).mean(0)
    se = (probs * (1 - probs) / n).sqrt()
    assert ((freq - probs).abs() <= 5 * se + 1e-12).all()  # 5 standard errors


def test_gumbel_is_softmax():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, 6, generator=g, dtype=D)
    t = torch.tensor([0, 5, 2, 2])
    out = expected_accuracy_loss(z, t, noise="gumbel", scale=0.5, reduction="none")
    torch.testing.assert_close(out, -torch.softmax(z / 0.5, -1)[torch.arange(4), t])


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(3, 4, generator=g, dtype=D, requires_grad=True)
    t = torch.tensor([1, 0, 3])
    assert torch.autograd.gradcheck(
        lambda x: expected_accuracy_loss(x, t, scale=0.7, nodes=32, reduction="none"), (z,)
    )
    assert torch.autograd.gradcheck(
        lambda x: expected_accuracy_loss(x, t, noise="gumbel", reduction="sum"), (z,)
    )


def test_gradient_matches_two_class_closed_form():
    # d/dd Phi(d / (s sqrt2)) = phi(d / (s sqrt2)) / (s sqrt2)
    d, s = 0.8, 0.6
    z = torch.tensor([[0.0, d]], dtype=D, requires_grad=True)
    (g,) = torch.autograd.grad(expected_accuracy_loss(z, torch.tensor([1]), scale=s), z)
    u = d / (s * math.sqrt(2))
    dens = math.exp(-u * u / 2) / math.sqrt(2 * math.pi) / (s * math.sqrt(2))
    assert g[0, 1].item() == pytest.approx(-dens, rel=1e-10)
    assert g.sum().item() == pytest.approx(0.0, abs=1e-15)  # shift invariance


def test_extreme_logits_finite():
    z = torch.tensor([[1e4, -1e4, 0.0]], dtype=D, requires_grad=True)
    for t, want in [(0, 1.0), (1, 0.0), (2, 0.0)]:
        out = expected_accuracy_loss(z, torch.tensor([t]))
        assert out.item() == pytest.approx(-want, abs=1e-300)
        (g,) = torch.autograd.grad(out, z)
        assert torch.isfinite(g).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision(dtype):
    g = torch.Generator().manual_seed(3)
    z = torch.randn(5, 4, generator=g, dtype=D)
    t = torch.tensor([0, 1, 2, 3, 0])
    ref = expected_accuracy_loss(z, t, reduction="none")
    out = expected_accuracy_loss(z.to(dtype), t, reduction="none")
    assert out.dtype == dtype
    eps = torch.finfo(dtype).eps
    # |p| <= 1 and |dp/dz| <= 1/sqrt(pi): input rounding eps/2 |z| (|z| < 4) and output rounding
    torch.testing.assert_close(out.to(D), ref, rtol=0, atol=8 * eps)


def test_bad_input():
    z = torch.zeros(2, 3)
    t = torch.tensor([0, 1])
    cases = [
        (lambda: expected_accuracy_loss(z, t, noise="cauchy"), "noise"),
        (lambda: expected_accuracy_loss(z, t, scale=0.0), "scale"),
        (lambda: expected_accuracy_loss(z, t, nodes=1), "nodes"),
        (lambda: expected_accuracy_loss(z, t + 2), "target"),
        (lambda: expected_accuracy_loss(z, t.float()), "target"),
        (lambda: expected_accuracy_loss(z.fill_(float("nan")), t), "logits"),
        (lambda: expected_accuracy_loss(torch.zeros(2, 3), t, reduction="max"), "reduction"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()
