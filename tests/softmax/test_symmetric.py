"""Tests of lib.softmax.log_elementary_symmetric (chapter multilabel-softmax-ce, 7359)."""

import itertools
import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.softmax import elementary_symmetric_newton, log_elementary_symmetric

F64 = torch.float64


def brute_log_e(x: list[float], j: int) -> float:
    total = sum(math.exp(sum(c)) for c in itertools.combinations(x, j))
    return math.log(total) if total > 0 else -math.inf


def test_matches_brute_force_small():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, generator=g, dtype=F64) * 2
    out = log_elementary_symmetric(x, 7)
    assert out.shape == (8,)
    for j in range(8):
        assert out[j].item() == pytest.approx(brute_log_e(x.tolist(), j), rel=1e-13, abs=1e-13)


def test_batched_and_dim():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 4, generator=g, dtype=F64)
    out = log_elementary_symmetric(x, 3, dim=1)
    assert out.shape == (3, 4, 4)
    ref = log_elementary_symmetric(x.transpose(1, 2), 3, dim=-1).transpose(1, 2)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert out[1, 2, 3].item() == pytest.approx(brute_log_e(x[1, :, 3].tolist(), 2), rel=1e-13)


def test_k_zero_and_k_above_n():
    x = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    assert log_elementary_symmetric(x, 0).tolist() == [0.0]
    out = log_elementary_symmetric(x, 5)
    assert out[3].item() == pytest.approx(1.5, abs=1e-15)  # e_3 = exp(sum x)
    assert out[4].item() == -math.inf and out[5].item() == -math.inf


def test_neg_inf_logits_are_absent_items_with_zero_gradient():
    x = torch.tensor([[1.0, -math.inf, 2.0, -math.inf, 0.5]], dtype=F64, requires_grad=True)
    out = log_elementary_symmetric(x, 4)
    ref = log_elementary_symmetric(torch.tensor([[1.0, 2.0, 0.5]], dtype=F64), 4)
    torch.testing.assert_close(out.detach(), ref, rtol=1e-15, atol=0)
    assert out[0, 4].item() == -math.inf
    out[..., :4].sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[0, 1].item() == 0.0 and x.grad[0, 3].item() == 0.0


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 6, generator=g, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: log_elementary_symmetric(v, 4), (x,))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-20, 20), min_size=1, max_size=12),
    st.integers(1, 12),
    st.floats(-50, 50),
)
def test_laws_shift_and_inclusion_probabilities(xs, k, c):
    x = torch.tensor(xs, dtype=F64, requires_grad=True)
    k = min(k, len(xs))
    out = log_elementary_symmetric(x, k)
    # homogeneity: e_j(e^{s+c}) = e^{jc} e_j(e^s)
    shifted = log_elementary_symmetric(x.detach() + c, k)
    j = torch.arange(k + 1, dtype=F64)
    torch.testing.assert_close(shifted, out.detach() + j * c, rtol=1e-12, atol=1e-9)
    # d log e_k / d s_i = P(i in the subset): in [0, 1], summing to k
    (grad,) = torch.autograd.grad(out[k], x)
    assert (grad >= -1e-12).all() and (grad <= 1 + 1e-12).all()
    assert grad.sum().item() == pytest.approx(k, rel=1e-10)


def test_newton_agrees_at_small_spread_and_fails_at_large():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(50, generator=g, dtype=F64)
    dp = log_elementary_symmetric(x, 10)
    newton = elementary_symmetric_newton(x, 10).log()
    torch.testing.assert_close(newton, dp, rtol=1e-8, atol=1e-8)
    x = 3 * torch.randn(50, generator=g, dtype=F64)
    mp_x = [mpmath.mpf(v) for v in x.tolist()]
    with mpmath.workdps(60):
        e = [mpmath.mpf(1)] + [mpmath.mpf(0)] * 20
        for v in mp_x:
            for j in range(20, 0, -1):
                e[j] += mpmath.exp(v) * e[j - 1]
        ref = float(mpmath.log(e[20]))
    assert abs(log_elementary_symmetric(x, 20)[20].item() - ref) < 1e-10 * abs(ref)
    newton20 = elementary_symmetric_newton(x, 20)[20].item()
    assert not (newton20 > 0) or abs(math.log(newton20) - ref) > 1e-3 * abs(ref)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_extreme_logits_finite(dtype):
    x = torch.tensor([1e4, -1e4, 0.0, 5.0, -3.0], dtype=dtype, requires_grad=True)
    out = log_elementary_symmetric(x, 3)
    assert out.dtype == dtype and torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_bad_input():
    x = torch.randn(4)
    with pytest.raises(ValueError, match="k"):
        log_elementary_symmetric(x, -1)
    with pytest.raises(ValueError, match="k"):
        log_elementary_symmetric(x, 2.0)
    with pytest.raises(ValueError, match="empty"):
        log_elementary_symmetric(torch.zeros(3, 0), 1)
    with pytest.raises(ValueError, match="NaN"):
        log_elementary_symmetric(torch.tensor([0.0, math.nan]), 1)
    with pytest.raises(ValueError, match=r"\+inf"):
        log_elementary_symmetric(torch.tensor([0.0, math.inf]), 1)
    with pytest.raises(ValueError, match="floating"):
        log_elementary_symmetric(torch.arange(3), 1)
