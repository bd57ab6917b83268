"""Tests of TaiLr (chapter losses/tailr-overconfidence, kexue.fm/archives/9526) in lib.losses:
``tailr_loss``, ``tailr_weight`` and ``expected_calibration_error``."""

import math

import mpmath
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.losses import tailr_loss, tailr_weight
from lib.metrics import expected_calibration_error

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _binary_logits(p: list[float]) -> torch.Tensor:
    """Logits ``[log p, log(1-p)]`` so that class 0 has probability ``p`` (to float64)."""
    p = torch.tensor(p, dtype=F64)
    return torch.stack([p.log(), torch.log1p(-p)], dim=-1)


def _reference(logits: torch.Tensor, target: torch.Tensor, gamma: float) -> list[float]:
    """The closed form in 50-digit arithmetic, from the exact softmax of the given logits."""
    mpmath.mp.dps = 50
    out = []
    for row, t in zip(logits.tolist(), target.tolist(), strict=True):
        z = [mpmath.mpf(v) for v in row]
        p = mpmath.exp(z[t]) / mpmath.fsum(mpmath.exp(v) for v in z)
        g = mpmath.mpf(gamma)
        out.append(float(1 - p if gamma == 1 else -mpmath.log(g + (1 - g) * p) / (1 - g)))
    return out


# -- values -------------------------------------------------------------------------------
def test_gamma_zero_is_cross_entropy():
    z = torch.randn(7, 4, dtype=F64) * 3
    y = torch.randint(0, 4, (7,))
    for red in ("none", "mean", "sum"):
        torch.testing.assert_close(
            tailr_loss(z, y, 0.0, reduction=red), F.cross_entropy(z, y, reduction=red)
        )


@pytest.mark.parametrize("gamma", [0.0, 1e-7, 0.1, 0.5, 0.9, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12, 1.0])
def test_closed_form_matches_high_precision(gamma):
    z = _binary_logits([1e-6, 0.01, 0.255, 0.5, 0.745, 0.99, 1 - 1e-6])
    y = torch.zeros(len(z), dtype=torch.long)
    got = tailr_loss(z, y, gamma, reduction="none")
    ref = torch.tensor(_reference(z, y, gamma), dtype=F64)
    # log_softmax forms log(1 + e^(z_j - z_t)): its log p carries an absolute error of a few
    # eps (which dominates as p -> 1); dL/dlog p = w <= 1 passes it on unamplified.
    torch.testing.assert_close(got, ref, rtol=64 * EPS, atol=4 * EPS)


def test_gamma_one_limit_is_one_minus_p_not_minus_p():
    z = _binary_logits([0.01, 0.3, 0.7, 0.99])
    y = torch.zeros(4, dtype=torch.long)
    p = z[:, 0].exp()
    lim = tailr_loss(z, y, 1.0, reduction="none")
    torch.testing.assert_close(lim, 1 - p, rtol=4 * EPS, atol=4 * EPS)
    assert torch.all((lim - (-p) - 1).abs() < 8 * EPS)  # offset 1 from the article's -p
    eps_ = 1e-6
    near = tailr_loss(z, y, 1 - eps_, reduction="none")
    # L = q + eps q^2/2 + eps^2 q^3/3 + ... with q = 1 - p: between q and q + eps/(2(1-eps)).
    assert torch.all(near >= 1 - p - 4 * EPS)
    assert torch.all(near - (1 - p) <= eps_ / (2 * (1 - eps_)) + 4 * EPS)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-30, 30), min_size=2, max_size=6),
    st.floats(0.0, 1.0),
)
def test_sandwiched_between_one_minus_p_and_ce(row, gamma):
    z = torch.tensor([row], dtype=F64)
    y = torch.tensor([0])
    p = torch.softmax(z, -1)[0, 0]
    loss = tailr_loss(z, y, gamma)
    ce = F.cross_entropy(z, y)
    slack = 16 * EPS * (1 + ce)
    assert (1 - p) - slack <= loss <= ce + slack


# -- gradients ----------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 0.1, 0.3, 0.7]),
)
def test_gradient_is_weight_times_ce_gradient(seed, gamma, floor):
    g = torch.Generator().manual_seed(seed)
    z = (4 * torch.randn(5, 6, generator=g, dtype=F64)).requires_grad_()
    y = torch.randint(0, 6, (5,), generator=g)
    (g_ce,) = torch.autograd.grad(F.cross_entropy(z, y, reduction="sum"), z)
    w = tailr_weight(z, y, gamma)
    (g_closed,) = torch.autograd.grad(tailr_loss(z, y, gamma, reduction="sum"), z)
    torch.testing.assert_close(g_closed, w[:, None] * g_ce, rtol=1e-12, atol=1e-14)
    (g_w0,) = torch.autograd.grad(tailr_loss(z, y, gamma, mode="weighted", reduction="sum"), z)
    torch.testing.assert_close(g_w0, g_closed, rtol=1e-12, atol=1e-14)
    wb = tailr_weight(z, y, gamma, min_weight=floor)
    torch.testing.assert_close(wb, w.clamp(min=floor), rtol=0, atol=0)
    loss_b = tailr_loss(z, y, gamma, min_weight=floor, mode="weighted", reduction="sum")
    (g_wb,) = torch.autograd.grad(loss_b, z)
    torch.testing.assert_close(g_wb, wb[:, None] * g_ce, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.99, 1 - 1e-9, 1.0])
def test_gradcheck_closed(gamma):
    z = torch.randn(4, 5, dtype=F64, requires_grad=True)
    y = torch.tensor([0, 3, 4, 1])
    assert torch.autograd.gradcheck(lambda x: tailr_loss(x, y, gamma, reduction="none"), (z,))


def test_weight_values_and_bounds():
    p = torch.tensor([1e-3, 0.1, 0.5, 0.9], dtype=F64)
    z = _binary_logits(p.tolist())
    y = torch.zeros(4, dtype=torch.long)
    w = tailr_weight(z, y, 0.5)
    torch.testing.assert_close(w, 2 * p / (1 + p), rtol=16 * EPS, atol=0)
    assert not w.requires_grad
    torch.testing.assert_close(tailr_weight(z, y, 0.0), torch.ones(4, dtype=F64))
    torch.testing.assert_close(tailr_weight(z, y, 1.0), p, rtol=16 * EPS, atol=0)
    for gamma in (0.1, 0.5, 0.9):
        w = tailr_weight(z, y, gamma)
        assert torch.all(w >= p * (1 - 8 * EPS)) and torch.all(w <= 1)


# -- extreme input, precision, shapes ------------------------------------------------------
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1 - 1e-9, 1.0])
@pytest.mark.parametrize("mode", ["closed", "weighted"])
def test_extreme_logits_are_finite(gamma, mode):
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype=torch.float32, requires_grad=True)
    y = torch.tensor([1, 1])  # row 0: p = 0 (underflow); row 1: p = 1
    loss = tailr_loss(z, y, gamma, mode=mode, reduction="none")
    assert torch.isfinite(loss).all()
    (g,) = torch.autograd.grad(loss.sum(), z)
    assert torch.isfinite(g).all()
    assert loss[1].abs() < 1e-30
    if mode == "closed" and 0 < gamma < 1:
        expected = -math.log(gamma) / (1 - gamma)  # p = 0 exactly
        assert abs(loss[0].item() - expected) <= 1e-6 * expected


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("mode", ["closed", "weighted"])
def test_low_precision_preserves_dtype_and_stays_close(dtype, mode):
    z64 = torch.randn(3, 4, 5, dtype=F64) * 4
    y = torch.randint(0, 5, (3, 4))
    z = z64.to(dtype).requires_grad_()
    loss = tailr_loss(z, y, 0.5, mode=mode, reduction="none")
    assert loss.dtype == dtype and loss.shape == (3, 4)
    ref = tailr_loss(z.detach().to(F64), y, 0.5, mode=mode, reduction="none")
    # computed in float32, then one rounding to ``dtype``: relative error <= eps(dtype)
    tol = torch.finfo(dtype).eps
    torch.testing.assert_close(loss.to(F64), ref, rtol=tol, atol=1e-6)
    (g,) = torch.autograd.grad(loss.sum(), z)
    assert g.dtype == dtype and torch.isfinite(g).all()


def test_reductions_and_leading_dims():
    z = torch.randn(2, 3, 4, dtype=F64)
    y = torch.randint(0, 4, (2, 3))
    none = tailr_loss(z, y, 0.3, reduction="none")
    assert none.shape == (2, 3)
    torch.testing.assert_close(tailr_loss(z, y, 0.3, reduction="sum"), none.sum())
    torch.testing.assert_close(tailr_loss(z, y, 0.3), none.mean())
    flat = tailr_loss(z.reshape(6, 4), y.reshape(6), 0.3, reduction="none")
    torch.testing.assert_close(flat, none.reshape(6))


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gamma": -0.1}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": float("nan")}, "gamma"),
        ({"gamma": "half"}, "gamma"),
        ({"gamma": 0.5, "min_weight": -0.1, "mode": "weighted"}, "min_weight"),
        ({"gamma": 0.5, "min_weight": 2.0, "mode": "weighted"}, "min_weight"),
        ({"gamma": 0.5, "min_weight": 0.2}, "min_weight"),
        ({"gamma": 0.5, "mode": "sg"}, "mode"),
        ({"gamma": 0.5, "reduction": "avg"}, "reduction"),
    ],
)
def test_bad_arguments(kwargs, match):
    z = torch.randn(3, 4)
    y = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=match):
        tailr_loss(z, y, **kwargs)


def test_bad_tensors():
    z = torch.randn(3, 4)
    y = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="target"):
        tailr_loss(z, torch.tensor([0, 1, 4]), 0.5)
    with pytest.raises(ValueError, match="target"):
        tailr_loss(z, torch.tensor([0, -100, 1]), 0.5)
    with pytest.raises(ValueError, match="target"):
        tailr_loss(z, torch.tensor([0, 1]), 0.5)
    with pytest.raises(ValueError, match="target"):
        tailr_loss(z, y.float(), 0.5)
    with pytest.raises(ValueError, match="logits"):
        tailr_loss(z.long(), y, 0.5)
    with pytest.raises(ValueError, match="logits"):
        tailr_loss(torch.tensor([[0.0, float("nan")]]), torch.tensor([0]), 0.5)
    with pytest.raises(ValueError, match="logits"):
        tailr_loss(torch.zeros(3, 0), y, 0.5)
    with pytest.raises(ValueError, match="empty"):
        tailr_loss(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 0.5)
    assert tailr_loss(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 0.5, reduction="sum") == 0


# -- expected calibration error -----------------------------------------------------------
def test_ece_hand_example():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]], dtype=F64)
    target = torch.tensor([0, 1, 0, 1])
    # bins (10): 0.9 -> two samples, acc 1/2, conf 0.9; 0.6 -> acc 1, conf 0.6;
    # 0.7 -> acc 1, conf 0.7. ECE = (2*0.4 + 0.4 + 0.3) / 4.
    ece = expected_calibration_error(probs, target, n_bins=10)
    assert abs(ece.item() - 1.5 / 4) < 1e-15


def test_ece_of_a_calibrated_predictor_is_small():
    g = torch.Generator().manual_seed(0)
    n = 200_000
    conf = 0.5 + 0.5 * torch.rand(n, generator=g, dtype=F64)
    correct = torch.rand(n, generator=g, dtype=F64) < conf
    probs = torch.stack([conf, 1 - conf], -1)
    target = torch.where(correct, 0, 1)
    ece = expected_calibration_error(probs, target, n_bins=10).item()
    # per-bin accuracy has standard error <= sqrt(0.25/(n/10)); 4 sigma
    assert ece < 4 * math.sqrt(0.25 / (n / 10))


def test_ece_bad_input():
    probs = torch.tensor([[0.5, 0.5]])
    with pytest.raises(ValueError, match="probs"):
        expected_calibration_error(torch.tensor([[0.7, 0.7]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="probs"):
        expected_calibration_error(torch.tensor([[1.5, -0.5]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(probs, torch.tensor([0]), n_bins=0)
    with pytest.raises(ValueError, match="target"):
        expected_calibration_error(probs, torch.tensor([2]))
