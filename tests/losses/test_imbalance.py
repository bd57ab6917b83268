"""Tests for lib.losses, section "Class imbalance" (chapter class-imbalance, kexue.fm 7708)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.losses import (
    f1_weighted_bce,
    focal_loss,
    logit_adjusted_ce,
    smooth_accuracy_binary,
    smooth_f1_binary,
)
from lib.metrics import balanced_accuracy

D = torch.float64


def _data(n=7, c=4, seed=0, dtype=D):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=dtype)
    t = torch.randint(0, c, (n,), generator=g)
    return z, t


# ---- smooth accuracy / smooth F1 / F1-weighted BCE ----------------------------------------
def test_smooth_accuracy_values_and_gradient():
    z = torch.tensor([-10.0, -5.0, 0.0, 5.0], dtype=D, requires_grad=True)
    y = torch.ones(4, dtype=D)
    acc = smooth_accuracy_binary(z, y, reduction="none")
    p = torch.sigmoid(z.detach())
    torch.testing.assert_close(acc, p, rtol=0, atol=0)
    (g,) = torch.autograd.grad(-acc.sum(), z)
    torch.testing.assert_close(g, -p * (1 - p), rtol=1e-14, atol=0)
    # negatives: accuracy is 1 - p = sigma(-z)
    acc0 = smooth_accuracy_binary(z.detach(), torch.zeros(4, dtype=D), reduction="none")
    torch.testing.assert_close(acc0, torch.sigmoid(-z.detach()))


def test_smooth_f1_matches_definition_and_gradient_identity():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(50, generator=g, dtype=D, requires_grad=True)
    y = (torch.rand(50, generator=g) < 0.3).to(D)
    f1 = smooth_f1_binary(z, y)
    p = torch.sigmoid(z)
    torch.testing.assert_close(f1, 2 * (y * p).sum() / (y + p).sum())
    (grad,) = torch.autograd.grad(f1, z)
    pd = p.detach()
    closed = 2 / (y + pd).sum() * (y - f1.detach() / 2) * pd * (1 - pd)
    torch.testing.assert_close(grad, closed, rtol=1e-12, atol=1e-15)


def test_f1_weighted_bce_gradient_is_rule_transformed_f1_gradient():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(40, generator=g, dtype=D, requires_grad=True)
    y = (torch.rand(40, generator=g) < 0.25).to(D)
    (grad,) = torch.autograd.grad(f1_weighted_bce(z, y), z)
    p = torch.sigmoid(z.detach())
    f1 = smooth_f1_binary(z.detach(), y)
    coef = y - f1 / 2  # per-sample coefficient of grad p in grad F1
    q = torch.where(y == 1, p, 1 - p)  # grad p -> grad log p (pos), grad log(1-p) (neg)
    rule = -coef * p * (1 - p) / q / len(z)
    torch.testing.assert_close(grad, rule, rtol=1e-12, atol=1e-16)


def test_f1_weighted_bce_explicit_f1_and_extremes():
    z = torch.tensor([1e4, -1e4, 0.0], dtype=D)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=D)
    out = f1_weighted_bce(z, y, f1=0.5, reduction="none")
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[2], torch.tensor(0.75 * math.log(2), dtype=D))
    assert smooth_f1_binary(torch.full((3,), -1e4, dtype=D), torch.zeros(3, dtype=D)) == 0
    with pytest.raises(ValueError, match="f1"):
        f1_weighted_bce(z, y, f1=1.5)


# ---- focal loss ------------------------------------------------------------------------------
def test_focal_gamma_zero_is_cross_entropy():
    z, t = _data()
    torch.testing.assert_close(
        focal_loss(z, t, 0.0, reduction="none"), F.cross_entropy(z, t, reduction="none")
    )
    zb = z[:, 0]
    yb = (t % 2).to(D)
    torch.testing.assert_close(
        focal_loss(zb, yb, 0.0), F.binary_cross_entropy_with_logits(zb, yb), rtol=1e-14, atol=0
    )


@settings(max_examples=40, deadline=None)
@given(
    z=st.floats(-30, 30),
    gamma=st.floats(0, 5),
)
def test_focal_binary_gradient_is_reweighted_ce_gradient(z, gamma):
    """d/dz focal = -(1-p)^g [(1-p) - g p log p] = CE gradient times a weight >= 0."""
    zt = torch.tensor(z, dtype=D, requires_grad=True)
    (g,) = torch.autograd.grad(focal_loss(zt, torch.tensor(1.0, dtype=D), gamma), zt)
    p = torch.sigmoid(torch.tensor(z, dtype=D))
    q = torch.sigmoid(torch.tensor(-z, dtype=D))  # 1 - p without cancellation
    nlogp = F.softplus(torch.tensor(-z, dtype=D))  # -log p, accurate as p -> 1
    closed = -(q**gamma) * (q + gamma * p * nlogp)
    torch.testing.assert_close(g, closed, rtol=1e-10, atol=1e-300)
    assert g <= 0  # same sign as CE's gradient -(1-p)


def test_focal_binary_equals_softmax_form_with_zero_logit():
    z, t = _data(n=9)
    zb, yb = z[:, 1], (t % 2)
    two = torch.stack([torch.zeros_like(zb), zb], dim=-1)
    torch.testing.assert_close(
        focal_loss(zb, yb.to(D), 2.0, "none"), focal_loss(two, yb, 2.0, "none"), rtol=1e-13, atol=0
    )


def test_focal_gradcheck_float64():
    z, t = _data(n=5, c=3)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: focal_loss(x, t, 2.0, "none"), (z,))
    assert torch.autograd.gradcheck(lambda x: focal_loss(x, t, 0.5, "sum"), (z,))
    zb = torch.randn(6, dtype=D, requires_grad=True)
    yb = torch.tensor([0, 1, 1, 0, 1, 0], dtype=D)
    assert torch.autograd.gradcheck(lambda x: focal_loss(x, yb, 1.5, "none"), (zb,))


def test_focal_extreme_logits_finite_with_finite_gradient():
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]], dtype=D, requires_grad=True)
    t = torch.tensor([1, 1])
    loss = focal_loss(z, t, 2.0, "none")
    assert torch.isfinite(loss).all()
    assert loss[0].item() == pytest.approx(2e4)  # (1-p)^2 = 1, -log p = 2e4
    assert loss[1] == 0
    (g,) = torch.autograd.grad(loss.sum(), z)
    assert torch.isfinite(g).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_focal_low_precision(dtype):
    z, t = _data(n=8, c=5)
    ref = focal_loss(z, t, 2.0, "none")
    out = focal_loss(z.to(dtype), t, 2.0, "none")
    assert out.dtype == dtype
    eps = torch.finfo(dtype).eps
    # input rounding (|dz| <= eps/2 |z|, |z| < 4) moves the loss by <= ~ 8 eps (rel.)
    torch.testing.assert_close(out.to(D), ref, rtol=16 * eps, atol=16 * eps)
    big = torch.tensor([[1e4, -1e4]], dtype=dtype)  # loss 2e4: representable in float16
    assert torch.isfinite(focal_loss(big, torch.tensor([1]), 2.0))
    assert focal_loss(big, torch.tensor([0]), 2.0) == 0


# ---- logit adjustment ------------------------------------------------------------------------
def test_logit_adjusted_ce_definition_and_margin_form():
    z, t = _data(n=10, c=3)
    prior = torch.tensor([0.9, 0.09, 0.01], dtype=D)
    lp = prior.log()
    out = logit_adjusted_ce(z, t, lp, tau=1.0, reduction="none")
    torch.testing.assert_close(out, F.cross_entropy(z + lp, t, reduction="none"))
    # pairwise-margin form: log(1 + sum_{i != y} exp(z_i - z_y + tau log(pi_i / pi_y)))
    zy = z.gather(1, t[:, None])
    m = z - zy + (lp - lp[t][:, None])
    m = m.masked_fill(F.one_hot(t, 3).bool(), -math.inf)
    torch.testing.assert_close(out, torch.log1p(torch.exp(m).sum(1)), rtol=1e-13, atol=0)
    # tau = 0 is CE; an unnormalised log prior gives the same loss
    torch.testing.assert_close(logit_adjusted_ce(z, t, lp, tau=0.0), F.cross_entropy(z, t))
    torch.testing.assert_close(logit_adjusted_ce(z, t, lp + 7.0), logit_adjusted_ce(z, t, lp))


def test_logit_adjusted_ce_gradcheck_and_extremes():
    z, t = _data(n=4, c=3)
    z.requires_grad_(True)
    lp = torch.tensor([0.7, 0.2, 0.1], dtype=D).log()
    assert torch.autograd.gradcheck(lambda x: logit_adjusted_ce(x, t, lp, 0.5, "none"), (z,))
    big = torch.tensor([[1e4, -1e4, 0.0]], dtype=D)
    assert logit_adjusted_ce(big, torch.tensor([0]), lp) == 0
    assert logit_adjusted_ce(big, torch.tensor([1]), lp) == pytest.approx(2e4 + math.log(0.7 / 0.2))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_logit_adjusted_ce_low_precision(dtype):
    z, t = _data(n=6, c=3)
    lp = torch.tensor([0.7, 0.2, 0.1], dtype=D).log()
    out = logit_adjusted_ce(z.to(dtype), t, lp, reduction="none")
    assert out.dtype == dtype
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(out.to(D), logit_adjusted_ce(z, t, lp, reduction="none"), rtol=16 * eps, atol=16 * eps)


def test_balanced_accuracy():
    logits = torch.eye(3, dtype=D)[[0, 0, 0, 1, 2, 0]]
    target = torch.tensor([0, 0, 1, 1, 2, 2])
    # per-class recall 1, 1/2, 1/2
    assert balanced_accuracy(logits, target).item() == pytest.approx(2 / 3, abs=1e-15)


# ---- bad input -------------------------------------------------------------------------------
def test_bad_input_raises_value_error_naming_the_argument():
    z, t = _data(n=4, c=3)
    lp = torch.zeros(3, dtype=D)
    cases = [
        (lambda: focal_loss(z, t, -1.0), "gamma"),
        (lambda: focal_loss(z, t, float("nan")), "gamma"),
        (lambda: focal_loss(z, t + 3, 2.0), "target"),
        (lambda: focal_loss(z, t.to(D), 2.0), "target"),
        (lambda: focal_loss(z[:, :1], t * 0, 2.0), "logits"),
        (lambda: focal_loss(z.masked_fill(z > 0, float("nan")), t, 2.0), "logits"),
        (lambda: focal_loss(z, t, 2.0, reduction="avg"), "reduction"),
        (lambda: focal_loss(z[:, 0], torch.full((4,), 0.5, dtype=D), 2.0), "target"),
        (lambda: logit_adjusted_ce(z, t, torch.zeros(4, dtype=D)), "log_prior"),
        (lambda: logit_adjusted_ce(z, t, torch.tensor([0.0, -math.inf, 0.0])), "log_prior"),
        (lambda: logit_adjusted_ce(z, t, lp, tau=-1.0), "tau"),
        (lambda: logit_adjusted_ce(z.long(), t, lp), "logits"),
        (lambda: logit_adjusted_ce(z, t[:3], lp), "target"),
        (lambda: smooth_accuracy_binary(z, t), "target"),
        (lambda: smooth_f1_binary(z[:, 0], torch.full((4,), 2.0)), "target"),
        (lambda: f1_weighted_bce(torch.empty(0, dtype=D), torch.empty(0)), "logits"),
        (lambda: balanced_accuracy(z, t[:2]), "target"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()


@settings(max_examples=30, deadline=None)
@given(
    tau=st.floats(0, 3),
    prior=st.lists(st.floats(1e-4, 1.0), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_logit_adjusted_ce_is_pairwise_margin_ce(tau, prior, seed):
    """Eq. (eq-class-imbalance-la): CE with margin tau log(pi_i / pi_y) against every i != y."""
    z, t = _data(n=6, c=3, seed=seed)
    lp = torch.tensor(prior, dtype=D).log()
    out = logit_adjusted_ce(z, t, lp, tau=tau, reduction="none")
    m = z - z.gather(1, t[:, None]) + tau * (lp - lp[t][:, None])
    m = m.masked_fill(F.one_hot(t, 3).bool(), -math.inf)
    ref = torch.log1p(torch.exp(m).sum(1))
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_binary_scores_low_precision(dtype):
    g = torch.Generator().manual_seed(5)
    z = 3 * torch.randn(64, generator=g, dtype=D)
    y = (torch.rand(64, generator=g) < 0.3).to(D)
    eps = torch.finfo(dtype).eps
    zl, yl = z.to(dtype), y.to(dtype)
    for fn in (smooth_accuracy_binary, f1_weighted_bce):
        out = fn(zl, yl)
        assert out.dtype == dtype and torch.isfinite(out)
        # input rounding |dz| <= eps/2 |z| (|z| < 12) moves these O(1) means by <= ~6 eps
        torch.testing.assert_close(out.to(D), fn(z, y), rtol=0, atol=16 * eps)
    f1 = smooth_f1_binary(zl, yl)
    assert f1.dtype == dtype
    torch.testing.assert_close(f1.to(D), smooth_f1_binary(z, y), rtol=0, atol=16 * eps)
