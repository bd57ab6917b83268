"""Tests of the GlobalPointer divergence (9039) and the n-tasks-of-m-classes losses (9158).

Functions under test (lib/losses/divergence.py and nm.py, formerly the section "GlobalPointer symmetric KL (9039) and the
n-tasks-of-m-classes attempt (9158)"): symmetric_kl_softmax, symmetric_kl_sigmoid,
nm_loss_truncated (l1), nm_loss_centered (l3).
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.losses import (
    nm_loss_centered,
    nm_loss_truncated,
    soft_multilabel_ce,
    symmetric_kl_sigmoid,
    symmetric_kl_softmax,
)

F64 = torch.float64
LOW = [torch.float16, torch.bfloat16, torch.float32]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed=0, scale=1.0):
    return scale * torch.randn(*shape, dtype=F64, generator=_gen(seed))


def _soft_labels(n, m, seed=0):
    """Rows in the simplex, bounded away from 0 (soft labels)."""
    return _normalise(torch.rand(n, m, dtype=F64, generator=_gen(seed)) + 0.05)


def _normalise(x):
    return x / x.sum(-1, keepdim=True)


def _kl(p, q):
    return (p * (p / q).log()).sum(-1)


seeds = st.integers(0, 2**31 - 1)


# ----------------------------------------------------------------------------------------
# symmetric_kl_softmax
# ----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=seeds, n=st.integers(2, 12), scale=st.floats(0.1, 6.0))
def test_softmax_equals_kl_definition_and_logit_form(seed, n, scale):
    s, t = _randn(3, n, seed=seed, scale=scale), _randn(3, n, seed=seed + 1, scale=scale)
    p, q = s.softmax(-1), t.softmax(-1)
    d = symmetric_kl_softmax(s, t)
    torch.testing.assert_close(d, _kl(p, q) + _kl(q, p), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(d, ((p - q) * (s - t)).sum(-1), rtol=1e-10, atol=1e-12)
    assert (d >= 0).all()


@settings(max_examples=30, deadline=None)
@given(seed=seeds, c=st.floats(-50, 50), c2=st.floats(-50, 50))
def test_softmax_shift_invariant_and_symmetric(seed, c, c2):
    s, t = _randn(4, 7, seed=seed, scale=2), _randn(4, 7, seed=seed + 1, scale=2)
    d = symmetric_kl_softmax(s, t)
    torch.testing.assert_close(symmetric_kl_softmax(s + c, t + c2), d, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(symmetric_kl_softmax(t, s), d, rtol=1e-12, atol=1e-14)


def test_softmax_dim_argument():
    s, t = _randn(5, 3, 4), _randn(5, 3, 4, seed=1)
    d1 = symmetric_kl_softmax(s, t, dim=1)
    d2 = symmetric_kl_softmax(s.transpose(1, 2), t.transpose(1, 2), dim=-1)
    assert d1.shape == (5, 4)
    torch.testing.assert_close(d1, d2)


def test_softmax_neg_inf_in_both_equals_deletion_with_zero_grad():
    s, t = _randn(2, 6, seed=3, scale=2), _randn(2, 6, seed=4, scale=2)
    keep = torch.tensor([True, False, True, True, False, True])
    s_m = s.masked_fill(~keep, float("-inf")).requires_grad_()
    t_m = t.masked_fill(~keep, float("-inf")).requires_grad_()
    d = symmetric_kl_softmax(s_m, t_m)
    torch.testing.assert_close(d, symmetric_kl_softmax(s[:, keep], t[:, keep]), rtol=1e-12, atol=1e-14)
    d.sum().backward()
    for x in (s_m, t_m):
        assert torch.isfinite(x.grad).all()
        assert (x.grad[:, ~keep] == 0).all()


def test_softmax_gradcheck():
    s = _randn(3, 5, seed=5, scale=2).requires_grad_()
    t = _randn(3, 5, seed=6, scale=2).requires_grad_()
    assert torch.autograd.gradcheck(symmetric_kl_softmax, (s, t))


@pytest.mark.parametrize("dtype", LOW)
def test_softmax_extreme_low_precision(dtype):
    s = torch.tensor([[1e4, -1e4, 0.0, 3.0]], dtype=dtype)
    t = torch.tensor([[-1e4, 1e4, 0.0, -3.0]], dtype=dtype)
    d = symmetric_kl_softmax(s, t)
    assert d.dtype == dtype and torch.isfinite(d).all()
    ref = symmetric_kl_softmax(s.to(F64), t.to(F64))  # = 2 * 2e4 (mass swaps between 0 and 1)
    torch.testing.assert_close(d.to(F64), ref, rtol=1e-2, atol=0)


@pytest.mark.parametrize(
    "s,t,match",
    [
        (torch.zeros(2, 3), torch.zeros(2, 4), "shape of s"),
        (torch.zeros(2, 0), torch.zeros(2, 0), "empty"),
        (torch.tensor([0.0, float("nan")]), torch.zeros(2), "NaN"),
        (torch.tensor([0.0, float("inf")]), torch.zeros(2), r"\+inf"),
        (torch.tensor([0.0, float("-inf")]), torch.zeros(2), "same positions"),
        (torch.full((2,), float("-inf")), torch.full((2,), float("-inf")), "no finite"),
        (torch.zeros(3, dtype=torch.long), torch.zeros(3), "floating"),
    ],
)
def test_softmax_bad_input(s, t, match):
    with pytest.raises(ValueError, match=match):
        symmetric_kl_softmax(s, t)


# ----------------------------------------------------------------------------------------
# symmetric_kl_sigmoid
# ----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=seeds, n=st.integers(1, 12), scale=st.floats(0.1, 20.0))
def test_sigmoid_equals_naive_and_sum_of_bernoulli_kls(seed, n, scale):
    s, t = _randn(3, n, seed=seed, scale=scale), _randn(3, n, seed=seed + 1, scale=scale)
    d = symmetric_kl_sigmoid(s, t)
    naive = ((s.sigmoid() - t.sigmoid()) * (s - t)).sum(-1)
    torch.testing.assert_close(d, naive, rtol=1e-10, atol=1e-13)
    # each label is the two-class softmax of [s_i, 0]
    zero = torch.zeros_like(s)
    pair = symmetric_kl_softmax(torch.stack([s, zero], -1), torch.stack([t, zero], -1)).sum(-1)
    torch.testing.assert_close(d, pair, rtol=1e-10, atol=1e-13)


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_sigmoid_nonneg_symmetric_sign_flip_and_zero_iff_equal(seed):
    s, t = _randn(4, 9, seed=seed, scale=3), _randn(4, 9, seed=seed + 1, scale=3)
    d = symmetric_kl_sigmoid(s, t)
    assert (d > 0).all()
    assert (symmetric_kl_sigmoid(s, s) == 0).all()
    torch.testing.assert_close(symmetric_kl_sigmoid(t, s), d, rtol=1e-13, atol=0)
    torch.testing.assert_close(symmetric_kl_sigmoid(-s, -t), d, rtol=1e-13, atol=0)


def test_sigmoid_not_shift_invariant():
    s = _randn(1, 6, seed=7, scale=2)
    assert symmetric_kl_softmax(s, s + 3).abs().item() < 1e-15
    assert symmetric_kl_sigmoid(s, s + 3).item() > 1.0


def test_sigmoid_relative_accuracy_near_equal_float32():
    """s ~ t: the plain difference of sigmoids cancels; the library form keeps a few ulps."""
    s32 = _randn(1000, seed=8, scale=3).float()
    t32 = (s32.double() + 1e-4 * _randn(1000, seed=9)).float()
    keep = s32 != t32  # rounding to float32 may merge a pair; its divergence is exactly 0
    s32, t32 = s32[keep], t32[keep]
    s, t = s32.double(), t32.double()  # the same (rounded) inputs in float64
    ref = (s.sigmoid() - t.sigmoid()) * (s - t)  # relative error ~ 1e-16 / 1e-4 = 1e-12
    lib32 = symmetric_kl_sigmoid(s32[:, None], t32[:, None]).double()
    naive32 = ((s32.sigmoid() - t32.sigmoid()) * (s32 - t32)).double()
    rel_lib = ((lib32 - ref) / ref).abs().max().item()
    rel_naive = ((naive32 - ref) / ref).abs().max().item()
    assert rel_lib < 20 * torch.finfo(torch.float32).eps
    assert rel_naive > 100 * rel_lib


def test_sigmoid_mask_equals_deletion_and_never_nan():
    s, t = _randn(2, 6, seed=10, scale=2), _randn(2, 6, seed=11, scale=2)
    keep = torch.tensor([[True, False, True, True, False, True], [False] * 6])
    junk = torch.tensor([float("-inf"), float("nan"), -1e12, float("inf"), 0.0, 1.0], dtype=F64)
    s_m = torch.where(keep, s, junk).requires_grad_()
    t_m = torch.where(keep, t, junk.flip(0)).requires_grad_()
    d = symmetric_kl_sigmoid(s_m, t_m, mask=keep)
    torch.testing.assert_close(d[0], symmetric_kl_sigmoid(s[0, keep[0]], t[0, keep[0]]), rtol=1e-13, atol=0)
    assert d[1].item() == 0.0  # all-masked row
    d.sum().backward()
    for x in (s_m, t_m):
        assert torch.isfinite(x.grad).all()
        assert (x.grad[~keep] == 0).all()


def test_sigmoid_mask_broadcasts_and_accepts_01():
    s, t = _randn(3, 4, 5, seed=12), _randn(3, 4, 5, seed=13)
    keep = torch.rand(4, 5, generator=_gen(0)) > 0.3
    d = symmetric_kl_sigmoid(s, t, mask=keep)
    torch.testing.assert_close(d, symmetric_kl_sigmoid(s, t, mask=keep.expand(3, 4, 5)))
    torch.testing.assert_close(d, symmetric_kl_sigmoid(s, t, mask=keep.float()))


def test_sigmoid_gradcheck():
    s = _randn(3, 5, seed=14, scale=2).requires_grad_()
    t = _randn(3, 5, seed=15, scale=2).requires_grad_()
    keep = torch.rand(3, 5, generator=_gen(1)) > 0.3
    assert torch.autograd.gradcheck(symmetric_kl_sigmoid, (s, t))
    assert torch.autograd.gradcheck(lambda a, b: symmetric_kl_sigmoid(a, b, mask=keep), (s, t))


@pytest.mark.parametrize("dtype", LOW)
def test_sigmoid_extreme_low_precision(dtype):
    s = torch.tensor([[1e4, -1e4, 0.5]], dtype=dtype)
    t = torch.tensor([[-1e4, -1e4, -0.5]], dtype=dtype)
    d = symmetric_kl_sigmoid(s, t)
    assert d.dtype == dtype and torch.isfinite(d).all()
    torch.testing.assert_close(d.double(), symmetric_kl_sigmoid(s.double(), t.double()), rtol=1e-2, atol=0)


@pytest.mark.parametrize(
    "s,t,mask,match",
    [
        (torch.zeros(2, 3), torch.zeros(3, 2), None, "shape of s"),
        (torch.zeros(2, 0), torch.zeros(2, 0), None, "empty"),
        (torch.tensor([0.0, float("nan")]), torch.zeros(2), None, "finite"),
        (torch.zeros(2), torch.tensor([float("-inf"), 0.0]), None, "finite"),
        (torch.zeros(2), torch.zeros(2), torch.full((2,), 0.5), "boolean"),
        (torch.zeros(2), torch.zeros(2), [True, False], "Tensor"),
        (torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(3, 3, dtype=torch.bool), "broadcast"),
        (torch.zeros(3, dtype=torch.long), torch.zeros(3), None, "floating"),
    ],
)
def test_sigmoid_bad_input(s, t, mask, match):
    with pytest.raises(ValueError, match=match):
        symmetric_kl_sigmoid(s, t, mask=mask)


# ----------------------------------------------------------------------------------------
# n tasks of m classes: l1 (truncated) and l3 (centred)
# ----------------------------------------------------------------------------------------
def _l1_bruteforce(S, T):
    """Eq. (l1) term by term in float64: sum_j log(1 + sum_i sum_{k!=j} t_ij e^{s_ik - s_ij})."""
    n, m = S.shape
    S, T = S.tolist(), T.tolist()
    total = 0.0
    for j in range(m):
        inner = sum(
            T[i][j] * math.exp(S[i][k] - S[i][j]) for i in range(n) for k in range(m) if k != j
        )
        total += math.log1p(inner)
    return total


def _l3_bruteforce(S, T):
    n, m = S.shape
    sbar = S.mean(-1).tolist()
    S, T = S.tolist(), T.tolist()
    return sum(math.log1p(sum(T[i][j] * math.exp(sbar[i] - S[i][j]) for i in range(n))) for j in range(m))


def _lsoft(z, t):
    """Soft-label multi-label loss of 9064, one sample: log(1+sum t e^-z) + log(1+sum (1-t) e^z)."""
    return torch.log1p((t * (-z).exp()).sum(-1)) + torch.log1p(((1 - t) * z.exp()).sum(-1))


@settings(max_examples=25, deadline=None)
@given(seed=seeds, n=st.integers(1, 5), m=st.integers(2, 5), scale=st.floats(0.1, 5.0))
def test_nm_losses_equal_their_definitions(seed, n, m, scale):
    S = _randn(n, m, seed=seed, scale=scale)
    T = _soft_labels(n, m, seed=seed + 1)
    assert math.isclose(nm_loss_truncated(S, T).item(), _l1_bruteforce(S, T), rel_tol=1e-12)
    assert math.isclose(nm_loss_centered(S, T).item(), _l3_bruteforce(S, T), rel_tol=1e-12)


def _lse(values):
    mx = max(values)
    return mx + math.log(sum(math.exp(v - mx) for v in values))


def test_nm_truncated_accurate_with_dominant_logit():
    """lse_{k != j} of the top class is never formed by cancellation (1 - softmax ~ 0)."""
    S = torch.tensor([[60.0, 0.0, -3.0], [0.0, 1e4, 2.0]], dtype=F64)
    T = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]], dtype=F64)
    s, t = S.tolist(), T.tolist()
    want = sum(
        _lse([0.0] + [math.log(t[i][j]) + s[i][k] - s[i][j] for i in range(2) for k in range(3) if k != j and t[i][j] > 0])
        for j in range(3)
    )
    assert math.isclose(nm_loss_truncated(S, T).item(), want, rel_tol=1e-13)
    # row 1 alone: log(1 + e^{-60} + e^{-63}), which a cancelling 1 - softmax would return as 0
    assert math.isclose(nm_loss_truncated(S[:1], T[:1]).item(), math.exp(-60) + math.exp(-63), rel_tol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, c=st.floats(-30, 30))
def test_nm_losses_invariant_to_row_shifts(seed, c):
    S, T = _randn(4, 3, seed=seed, scale=2), _soft_labels(4, 3, seed=seed + 1)
    shift = c * _randn(4, 1, seed=seed + 2)
    for f in (nm_loss_truncated, nm_loss_centered):
        torch.testing.assert_close(f(S + shift, T), f(S, T), rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, n=st.integers(1, 6))
def test_m2_reductions_to_soft_label_loss(seed, n):
    S, T = _randn(n, 2, seed=seed, scale=3), _soft_labels(n, 2, seed=seed + 1)
    z, t = S[:, 0] - S[:, 1], T[:, 0]
    torch.testing.assert_close(nm_loss_truncated(S, T), _lsoft(z, t), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(nm_loss_centered(S, T), _lsoft(z / 2, t), rtol=1e-12, atol=1e-14)
    # ... and against the library's soft-label loss of 9064 (one sample with n labels)
    soft = soft_multilabel_ce(z[None], t[None], reduction="sum")
    torch.testing.assert_close(nm_loss_truncated(S, T), soft, rtol=1e-12, atol=1e-14)
    soft_half = soft_multilabel_ce(z[None] / 2, t[None], reduction="sum")
    torch.testing.assert_close(nm_loss_centered(S, T), soft_half, rtol=1e-12, atol=1e-14)


def test_centered_optimum_is_softmax():
    """T = softmax(S) is a stationary point of l3 (the loss is convex, so the minimiser)."""
    S = _randn(4, 3, seed=20, scale=1.5).requires_grad_()
    T = S.detach().softmax(-1)
    nm_loss_centered(S, T).backward()
    assert S.grad.abs().max().item() < 1e-14


def test_truncated_closed_form_gradient():
    S = _randn(4, 3, seed=21, scale=1.5).requires_grad_()
    T = _soft_labels(4, 3, seed=22)
    nm_loss_truncated(S, T).backward()
    s = S.detach()
    e = s.exp()
    others = e.sum(-1, keepdim=True) - e  # sum_{k != j} e^{s_ik}
    a = T * (-s).exp() * others  # a_ij = t_ij e^{-s_ij} sum_{k != j} e^{s_ik}
    den = 1 + a.sum(0)  # D_j, summed over every task
    b = T * (-s).exp() / den  # t_ih e^{-s_ih} / D_h
    grad = -a / den + e * (b.sum(-1, keepdim=True) - b)
    torch.testing.assert_close(S.grad, grad, rtol=1e-12, atol=1e-15)


def test_hard_label_failure_of_centered():
    S = torch.tensor([[10.0, 5.0, -5.0]], dtype=F64)
    T = torch.tensor([[0.0, 1.0, 0.0]], dtype=F64)
    l3 = [nm_loss_centered(c * S, T).item() for c in (1, 2, 5, 10)]
    l1 = [nm_loss_truncated(c * S, T).item() for c in (1, 2, 5, 10)]
    assert all(a > b for a, b in zip(l3, l3[1:], strict=False)) and l3[-1] < 1e-7
    assert all(a < b for a, b in zip(l1, l1[1:], strict=False)) and l1[-1] > 49
    assert S.argmax().item() != T.argmax().item()


def test_padding_rows_are_ignored_with_zero_grad():
    S, T = _randn(5, 4, seed=23, scale=2), _soft_labels(5, 4, seed=24)
    T_pad = T.clone()
    T_pad[[1, 3]] = 0
    for f in (nm_loss_truncated, nm_loss_centered):
        Sg = S.clone().requires_grad_()
        out = f(Sg, T_pad)
        torch.testing.assert_close(out, f(S[[0, 2, 4]], T[[0, 2, 4]]), rtol=1e-13, atol=0)
        out.backward()
        assert torch.isfinite(Sg.grad).all() and (Sg.grad[[1, 3]] == 0).all()
        Sz = S.clone().requires_grad_()
        zero = f(Sz, torch.zeros_like(T))
        zero.backward()
        assert zero.item() == 0 and (Sz.grad == 0).all()


def test_nm_batch_dims_and_gradcheck():
    S, T = _randn(2, 3, 4, 3, seed=25), torch.stack([_soft_labels(4, 3, seed=k) for k in range(6)]).reshape(2, 3, 4, 3)
    for f in (nm_loss_truncated, nm_loss_centered):
        out = f(S, T)
        assert out.shape == (2, 3)
        torch.testing.assert_close(out[1, 2], f(S[1, 2], T[1, 2]))
        Sg = S[0, :2].clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda x, f=f: f(x, T[0, :2]), (Sg,))


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("f", [nm_loss_truncated, nm_loss_centered])
def test_nm_extreme_low_precision(dtype, f):
    S = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4]], dtype=dtype)
    T = torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]], dtype=dtype)
    out = f(S, T)
    assert out.dtype == dtype and torch.isfinite(out)
    torch.testing.assert_close(out.double(), f(S.double(), T.double()), rtol=1e-2, atol=0)


@pytest.mark.parametrize(
    "S,T,match",
    [
        (torch.zeros(2, 3), torch.zeros(3, 2), "same shape"),
        (torch.zeros(3), torch.zeros(3), r"\[..., n, m\]"),
        (torch.zeros(2, 1), torch.ones(2, 1), "m >= 2"),
        (torch.zeros(2, 0), torch.zeros(2, 0), "m >= 2"),
        (torch.zeros(0, 3), torch.zeros(0, 3), "n = 0"),
        (torch.tensor([[0.0, float("inf")]]), torch.tensor([[1.0, 0.0]]), "finite"),
        (torch.tensor([[0.0, float("nan")]]), torch.tensor([[1.0, 0.0]]), "finite"),
        (torch.zeros(1, 2), torch.tensor([[1.5, -0.5]]), r"\[0, 1\]"),
        (torch.zeros(1, 2), torch.tensor([[float("nan"), 0.0]]), r"\[0, 1\]"),
        (torch.zeros(1, 3), torch.tensor([[0.5, 0.2, 0.2]]), "sum to 1"),
        (torch.zeros(1, 2, dtype=torch.long), torch.tensor([[1.0, 0.0]]), "floating"),
    ],
)
@pytest.mark.parametrize("f", [nm_loss_truncated, nm_loss_centered])
def test_nm_bad_input(S, T, match, f):
    with pytest.raises(ValueError, match=match):
        f(S, T)
