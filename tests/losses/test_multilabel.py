"""Tests of the multi-label softmax-CE family in lib.losses (chapters 7359 and 9064)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import lib.losses.multilabel as ml
from lib.losses import multilabel_ce, soft_multilabel_ce, sparse_multilabel_ce

F64 = torch.float64


def _data(shape=(6, 9), seed=0, scale=2.0, p=0.3):
    g = torch.Generator().manual_seed(seed)
    s = scale * torch.randn(*shape, generator=g, dtype=F64)
    y = (torch.rand(*shape, generator=g) < p).to(F64)
    return s, y


def _pairwise(s, y):
    """The unfactorised form: one exponential per required inequality (neg < pos, neg < 0 < pos)."""
    out = []
    for row, lab in zip(s.reshape(-1, s.shape[-1]), y.reshape(-1, y.shape[-1]), strict=True):
        pos, neg = row[lab == 1], row[lab == 0]
        total = 1 + (neg[:, None] - pos[None, :]).exp().sum() + neg.exp().sum() + (-pos).exp().sum()
        out.append(torch.log(total))
    return torch.stack(out).reshape(s.shape[:-1])


def _to_index(y, pad=-1):
    P = max(int(y.sum(-1).max()), 1)
    idx = torch.full(y.shape[:-1] + (P,), pad, dtype=torch.long)
    flat_i, flat_y = idx.view(-1, P), y.reshape(-1, y.shape[-1])
    for r in range(flat_y.shape[0]):
        p = flat_y[r].nonzero().flatten()
        flat_i[r, : len(p)] = p
    return idx


def test_factorised_equals_pairwise_double_sum():
    s, y = _data((4, 3, 10))
    torch.testing.assert_close(multilabel_ce(s, y, reduction="none"), _pairwise(s, y), rtol=1e-13, atol=0)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.floats(0.1, 8.0))
def test_bce_upper_bounds_zlpr(seed, n, scale):
    s, y = _data((3, n), seed=seed, scale=scale)
    bce = F.binary_cross_entropy_with_logits(s, y, reduction="none").sum(-1)
    zlpr = multilabel_ce(s, y, reduction="none")
    assert (bce - zlpr >= -1e-12).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 20))
def test_soft_equals_hard_and_sparse_equals_dense(seed, n):
    s, y = _data((2, 3, n), seed=seed)
    hard = multilabel_ce(s, y, reduction="none")
    torch.testing.assert_close(soft_multilabel_ce(s, y, reduction="none"), hard, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(sparse_multilabel_ce(s, _to_index(y), reduction="none"), hard, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(multilabel_ce(s, y.bool(), reduction="none"), hard, rtol=0, atol=0)
    torch.testing.assert_close(multilabel_ce(s, y.long(), reduction="none"), hard, rtol=0, atol=0)


def test_soft_minimiser_is_sigmoid_of_twice_the_logit():
    g = torch.Generator().manual_seed(5)
    t = 0.01 + 0.98 * torch.rand(4, 8, generator=g, dtype=F64)
    s_star = (0.5 * torch.logit(t)).requires_grad_()
    loss = soft_multilabel_ce(s_star, t, reduction="sum")
    (grad,) = torch.autograd.grad(loss, s_star)
    assert grad.abs().max().item() < 1e-14
    min_value = 2 * torch.log1p(torch.sqrt(t * (1 - t)).sum(-1))
    torch.testing.assert_close(soft_multilabel_ce(s_star.detach(), t, reduction="none"), min_value, rtol=1e-14, atol=0)
    # a perturbation raises the loss (convexity: the stationary point is the minimum)
    bumped = soft_multilabel_ce(s_star.detach() + 1e-3 * torch.randn(4, 8, generator=g, dtype=F64), t, reduction="none")
    assert (bumped > min_value).all()


def test_gradcheck_float64():
    s, y = _data((3, 7), seed=7)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, :2] = False
    s.requires_grad_()
    assert torch.autograd.gradcheck(lambda v: multilabel_ce(v, y, mask, reduction="none"), (s,))
    t = (0.05 + 0.9 * torch.rand(3, 7, dtype=F64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v, w: soft_multilabel_ce(v, w, mask, reduction="none"), (s, t))
    assert torch.autograd.gradcheck(lambda v: sparse_multilabel_ce(v, _to_index(y), reduction="none"), (s,))


def test_masking_deletes_positions_and_all_masked_row_is_zero():
    s, y = _data((3, 6), seed=8)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[0, [1, 4]] = False
    mask[2] = False
    s.requires_grad_()
    for fn in (multilabel_ce, soft_multilabel_ce):
        loss = fn(s, y, mask, reduction="none")
        keep = mask[0]
        torch.testing.assert_close(loss[0], fn(s[0, keep], y[0, keep], reduction="none"), rtol=1e-15, atol=0)
        assert loss[2].item() == 0.0
        (grad,) = torch.autograd.grad(loss.sum(), s)
        assert torch.isfinite(grad).all() and (grad[2] == 0).all() and (grad[0, [1, 4]] == 0).all()
    # a broadcast mask over the label dim
    torch.testing.assert_close(
        multilabel_ce(s, y, mask[0], reduction="none"),
        multilabel_ce(s[:, mask[0]], y[:, mask[0]], reduction="none"),
        rtol=1e-15,
        atol=0,
    )


def test_soft_masking_with_huge_negative_logits():
    s = torch.tensor([[1.0, -2.0, -1e7]], dtype=F64)
    t = torch.tensor([[0.8, 0.1, 0.0]], dtype=F64)
    mask = torch.tensor([[True, True, False]])
    ref = soft_multilabel_ce(s[:, :2], t[:, :2], reduction="none")
    torch.testing.assert_close(soft_multilabel_ce(s, t, mask, reduction="none"), ref, rtol=1e-15, atol=0)


def test_rows_without_positives_or_negatives():
    s = torch.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=F64)
    y = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64)
    loss = multilabel_ce(s, y, reduction="none")
    torch.testing.assert_close(loss[0], torch.log1p(s[0].exp().sum()), rtol=1e-15, atol=0)
    torch.testing.assert_close(loss[1], torch.log1p((-s[1]).exp().sum()), rtol=1e-15, atol=0)
    empty = torch.empty(2, 0, dtype=torch.long)
    torch.testing.assert_close(sparse_multilabel_ce(s, empty, reduction="none"), loss.new_tensor([loss[0].item(), torch.log1p(s[1].exp().sum()).item()]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("fn", ["hard", "soft", "sparse"])
def test_extreme_logits_finite(dtype, fn):
    s = torch.tensor([[1e4, -1e4, 0.0, 5.0, -1e4], [-1e4, 1e4, 3.0, 1.0, 1e4]], dtype=dtype, requires_grad=True)
    y = torch.tensor([[1, 1, 0, 0, 0], [0, 1, 0, 1, 0]], dtype=dtype)
    mask = torch.tensor([[True, True, True, True, False], [True] * 5])
    if fn == "hard":
        loss = multilabel_ce(s, y, mask, reduction="none")
    elif fn == "soft":
        loss = soft_multilabel_ce(s, y * 0.9 + 0.05, mask, reduction="none")
    else:
        loss = sparse_multilabel_ce(s, _to_index(y.float()), reduction="none")
    assert loss.dtype == dtype and torch.isfinite(loss).all()
    (grad,) = torch.autograd.grad(loss.float().sum(), s)
    assert grad.dtype == dtype and torch.isfinite(grad).all()
    if fn == "hard":  # row 0: positive at -1e4 costs 1e4; the rest is O(10)
        assert abs(loss[0].float().item() - 1e4) < 0.01 * 1e4


def test_reductions_over_leading_dims():
    s, y = _data((2, 3, 5), seed=9)
    none = multilabel_ce(s, y, reduction="none")
    assert none.shape == (2, 3)
    torch.testing.assert_close(multilabel_ce(s, y), none.mean())
    torch.testing.assert_close(multilabel_ce(s, y, reduction="sum"), none.sum())
    assert multilabel_ce(s[0, 0], y[0, 0], reduction="none").shape == ()


def test_bad_input():
    s, y = _data((2, 4))
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, y[:, :3])
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, y * 2)
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, y - 1)
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, y * 0.5)
    with pytest.raises(ValueError, match="targets"):
        soft_multilabel_ce(s, y + 0.5)
    with pytest.raises(ValueError, match="targets"):
        soft_multilabel_ce(s, y * math.nan)
    with pytest.raises(ValueError, match="logits needs a non-empty label dimension"):
        multilabel_ce(torch.zeros(2, 0), torch.zeros(2, 0))
    with pytest.raises(ValueError, match="logits needs a non-empty label dimension"):
        sparse_multilabel_ce(torch.zeros(2, 0), torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, y.tolist())
    with pytest.raises(ValueError, match="logits"):
        multilabel_ce(s * math.nan, y)
    with pytest.raises(ValueError, match="logits"):
        multilabel_ce(torch.ones(2, 4, dtype=torch.long), y)
    with pytest.raises(ValueError, match="reduction"):
        multilabel_ce(s, y, reduction="avg")
    with pytest.raises(ValueError, match="mask"):
        multilabel_ce(s, y, torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        multilabel_ce(s, y, torch.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="positive_index"):
        sparse_multilabel_ce(s, torch.tensor([[0, 4], [1, -1]]))
    with pytest.raises(ValueError, match="positive_index"):
        sparse_multilabel_ce(s, torch.tensor([[0, 0], [1, -1]]))
    with pytest.raises(ValueError, match="positive_index"):
        sparse_multilabel_ce(s, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="positive_index"):
        sparse_multilabel_ce(s, torch.tensor([[0.0], [1.0]]))


@pytest.mark.parametrize("fn", ["hard", "soft", "sparse"])
def test_unshifted_and_shifted_paths_agree(fn):
    """A masked huge logit pushes the call onto the max-shifted path; results must not change."""
    s, y = _data((4, 6), seed=11)
    big = torch.cat([s, torch.full((4, 1), 1e4, dtype=F64)], dim=-1).requires_grad_()
    y_big = torch.cat([y, torch.zeros(4, 1, dtype=F64)], dim=-1)
    s = s.clone().requires_grad_()
    mask = torch.ones(4, 7, dtype=torch.bool)
    mask[:, -1] = False
    if fn == "hard":
        small, large = multilabel_ce(s, y, reduction="none"), multilabel_ce(big, y_big, mask, reduction="none")
    elif fn == "soft":
        t, t_big = 0.1 + 0.8 * y, torch.cat([0.1 + 0.8 * y, torch.zeros(4, 1, dtype=F64)], -1)
        small, large = soft_multilabel_ce(s, t, reduction="none"), soft_multilabel_ce(big, t_big, mask, reduction="none")
    else:  # a huge positive logit (800 > log(float64 max)) instead of a masked one
        big = torch.cat([s.detach(), torch.full((4, 1), 800.0, dtype=F64)], dim=-1).requires_grad_()
        idx = _to_index(torch.cat([y, torch.ones(4, 1, dtype=F64)], -1))
        small = multilabel_ce(s, y, reduction="none")  # e^{-800} adds nothing in float64
        large = sparse_multilabel_ce(big, idx, reduction="none")
    torch.testing.assert_close(large, small, rtol=1e-14, atol=1e-14)
    (g_small,) = torch.autograd.grad(small.sum(), s)
    (g_large,) = torch.autograd.grad(large.sum(), big)
    torch.testing.assert_close(g_large[:, :6], g_small, rtol=1e-13, atol=1e-15)


def test_fractional_targets_rejected_on_both_paths():
    s, y = _data((2, 4))
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s * 1e3, y * 0.5)  # max-shifted path
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, torch.where(y > 0, 0.999, 0.0))  # fused path


def test_micro_f1_and_best_threshold():
    from lib.metrics import best_f1_threshold, micro_f1

    g = torch.Generator().manual_seed(12)
    logits = torch.randn(3, 40, 5, generator=g, dtype=F64)
    y = (torch.rand(3, 40, 5, generator=g) < 0.3).to(F64)
    f1 = micro_f1(logits, y, 0.0, start_dim=1)
    for k in range(3):
        pred = logits[k] > 0
        tp = (pred & (y[k] > 0)).sum().item()
        assert f1[k].item() == pytest.approx(2 * tp / (pred.sum().item() + y[k].sum().item()))
    thr = best_f1_threshold(logits, y, start_dim=1)
    best = micro_f1(logits, y, thr, start_dim=1)
    grid = torch.linspace(-4, 4, 801, dtype=F64)
    for k in range(3):  # no grid threshold does better than the exact search
        assert max(micro_f1(logits[k], y[k], float(t)).item() for t in grid) <= best[k].item() + 1e-12
    assert micro_f1(torch.zeros(2, 2), torch.zeros(2, 2)).item() == 1.0
    with pytest.raises(ValueError, match="targets"):
        micro_f1(logits, y[:, :3])


def test_double_backward_gradgradcheck():
    """The fused Functions hand back a differentiable gradient when create_graph=True."""
    s, y = _data((3, 5), seed=13)
    s.requires_grad_()
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1, 0] = False
    assert torch.autograd.gradgradcheck(lambda v: multilabel_ce(v, y, mask, reduction="none"), (s,))
    big = torch.cat([s.detach(), torch.full((3, 1), 1e4, dtype=F64)], -1).requires_grad_()
    y_big = torch.cat([y, torch.zeros(3, 1, dtype=F64)], -1)
    assert torch.autograd.gradgradcheck(lambda v: multilabel_ce(v, y_big, reduction="none"), (big,))
    t = (0.1 + 0.8 * torch.rand(3, 5, dtype=F64)).requires_grad_()
    assert torch.autograd.gradgradcheck(lambda v, w: soft_multilabel_ce(v, w, mask, reduction="none"), (s, t))
    assert torch.autograd.gradgradcheck(lambda v: sparse_multilabel_ce(v, _to_index(y), reduction="none"), (s,))
    h = torch.autograd.functional.hessian(lambda v: soft_multilabel_ce(v, t.detach()[0]), s.detach()[0])
    assert torch.linalg.eigvalsh(h).min() > 0


# -- the fused (blocked) forward and closed-form backward, against independent references --------
def _ref_zlpr(s, t, mask=None):
    """Eq. (eq-multilabel-softmax-ce-zlpr) from torch.logsumexp with the threshold's 0 appended,
    absent entries at -inf; autograd supplies the reference gradient."""
    keep = torch.ones(s.shape, dtype=torch.bool) if mask is None else mask.expand(s.shape)
    ninf, zero = torch.tensor(float("-inf"), dtype=s.dtype), s.new_zeros(s.shape[:-1] + (1,))
    neg = torch.cat([torch.where(keep & (t == 0), s, ninf), zero], -1)
    pos = torch.cat([torch.where(keep & (t == 1), -s, ninf), zero], -1)
    return torch.logsumexp(neg, -1) + torch.logsumexp(pos, -1)


def _ref_soft(s, t, mask):
    r"""Eq. (eq-multilabel-soft-labels-loss) as :math:`\log(1+\sum e^{\log t - s})` etc. by
    torch.logsumexp, for targets strictly inside (0, 1) (so the logs have finite gradients)."""
    ninf, zero = torch.tensor(float("-inf"), dtype=s.dtype), s.new_zeros(s.shape[:-1] + (1,))
    pos = torch.cat([torch.where(mask, torch.log(t) - s, ninf), zero], -1)
    neg = torch.cat([torch.where(mask, torch.log1p(-t) + s, ninf), zero], -1)
    return torch.logsumexp(pos, -1) + torch.logsumexp(neg, -1)


def _wide_case(dtype, seed=21):
    """(2, 3, 9) logits over [-40, 40] with rows whose positives are scored far below the
    negatives (a positive at -40 in a row of small negatives: c_+ << c_-, the case where
    forming the positives' coefficient as c_- - (c_- + c_+) would cancel to 0), a masked
    position, an all-negative and an all-positive row."""
    g = torch.Generator().manual_seed(seed)
    s = (8 * torch.randn(2, 3, 9, generator=g, dtype=F64)).clamp(-40, 40)
    y = (torch.rand(2, 3, 9, generator=g) < 0.4).to(F64)
    s[0, 0], y[0, 0], y[0, 1], y[0, 2] = torch.tensor([-40.0, 0.5, -1, 2, 0.1, -3, 1, 0, -0.5]), 0, 0, 1
    y[0, 0, 0] = 1
    mask = torch.ones(2, 3, 9, dtype=torch.bool)
    mask[1, :, 4] = False
    return s.to(dtype), y, mask


# Per entry the fused float32 result carries (u = 2**-24): exp <= 2 u, a sum of <= 9 non-negative
# terms <= 8 u, 1 + S, g / (1 + S) and e * c 3 u: <= 13 u < 1e-6 relative (the float64
# reference's own error ~1e-15); rtol 1e-5 leaves a factor 10. In float64, 13 * 2**-53 ~ 1.5e-15
# plus the reference's: rtol 1e-13. The soft gradient adds 1/e (0.5 u) and lerp's rounding (2 u).
RTOL = {torch.float32: 1e-5, torch.float64: 1e-13}


@pytest.mark.parametrize("block", [7, 1 << 20])  # 7: one row per block, several blocks
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("tdtype", [None, torch.bool, torch.long, torch.float16])
def test_fused_zlpr_matches_logsumexp_reference(monkeypatch, block, dtype, tdtype):
    monkeypatch.setattr(ml, "_BLOCK", block)
    s, y, mask = _wide_case(dtype)
    w = torch.linspace(-1.0, 2.0, 6, dtype=F64).reshape(2, 3)  # per-row grad_out, signs mixed
    x64 = s.to(F64).requires_grad_()
    ref = _ref_zlpr(x64, y, mask)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x64)
    x = s.clone().requires_grad_()
    loss = multilabel_ce(x, y.to(tdtype or dtype), mask, reduction="none")
    (grad,) = torch.autograd.grad((loss * w.to(dtype)).sum(), x)
    torch.testing.assert_close(loss.to(F64), ref, rtol=RTOL[dtype], atol=0)
    torch.testing.assert_close(grad.to(F64), g_ref, rtol=RTOL[dtype], atol=0)
    assert (grad[1, :, 4] == 0).all() and grad[0, 0, 0].item() == pytest.approx(-w[0, 0].item(), rel=1e-6)
    if tdtype is not None:  # every target dtype runs the very same arithmetic
        ref_loss = multilabel_ce(x, y.to(dtype), mask, reduction="none")
        assert torch.equal(loss, ref_loss)
        assert torch.equal(grad, torch.autograd.grad((ref_loss * w.to(dtype)).sum(), x)[0])


@pytest.mark.parametrize("block", [5, 1 << 20])
def test_fused_soft_matches_logsumexp_reference(monkeypatch, block):
    """Gradients for both logits and targets, per entry within ~16 u (see RTOL) of the size of
    its two terms (:math:`(1-t)e^s b` and :math:`t e^{-s} a`, in float64), not of itself: the
    gradient can cancel to ~0 near the minimum."""
    monkeypatch.setattr(ml, "_BLOCK", block)
    s, _, mask = _wide_case(torch.float32)
    t = 0.02 + 0.96 * torch.rand(2, 3, 9, generator=torch.Generator().manual_seed(4), dtype=F64)
    x64, t64 = s.to(F64).requires_grad_(), t.clone().requires_grad_()
    ref = _ref_soft(x64, t64, mask)
    g_ref = torch.autograd.grad(ref.sum(), (x64, t64))
    x, t32 = s.clone().requires_grad_(), t.float().requires_grad_()
    loss = soft_multilabel_ce(x, t32, mask, reduction="none")
    grads = torch.autograd.grad(loss.sum(), (x, t32))
    torch.testing.assert_close(loss.to(F64), ref, rtol=1e-5, atol=0)
    s64, keep = s.to(F64), mask.to(F64)
    a = 1 / (1 + (keep * t * torch.exp(-s64)).sum(-1, keepdim=True))
    b = 1 / (1 + (keep * (1 - t) * torch.exp(s64)).sum(-1, keepdim=True))
    scale_s = keep * ((1 - t) * torch.exp(s64) * b + t * torch.exp(-s64) * a)
    scale_t = keep * (torch.exp(s64) * b + torch.exp(-s64) * a)
    for got, want, scale in zip(grads, g_ref, (scale_s, scale_t), strict=True):
        assert ((got.to(F64) - want).abs() <= 1e-5 * scale).all()
    # exact 0/1 targets: the gradient for the logits is multilabel_ce's (each within 16 u of
    # the exact value, so within 32 u = 1.9e-6 of each other)
    y = (t > 0.5).float()
    g_soft = torch.autograd.grad(soft_multilabel_ce(x, y, mask), x)[0]
    g_hard = torch.autograd.grad(multilabel_ce(x, y, mask), x)[0]
    torch.testing.assert_close(g_soft, g_hard, rtol=2e-6, atol=0)


@pytest.mark.parametrize("fn", ["hard", "soft"])
def test_second_backward_through_retained_graph(fn):
    """The fused backward writes the gradient over its saved exponentials; a second backward
    must recompute them and give the same gradient."""
    s, y = _data((4, 6), seed=14)
    x = s.clone().requires_grad_()
    loss = multilabel_ce(x, y) if fn == "hard" else soft_multilabel_ce(x, 0.1 + 0.8 * y)
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * first, rtol=1e-15, atol=0)


def test_empty_batch_and_bad_values_in_any_block(monkeypatch):
    monkeypatch.setattr(ml, "_BLOCK", 8)  # blocks of two rows
    for fn in (multilabel_ce, soft_multilabel_ce):
        assert fn(torch.zeros(0, 4), torch.zeros(0, 4), reduction="none").shape == (0,)
        assert fn(torch.zeros(0, 4), torch.zeros(0, 4), reduction="sum").item() == 0
        with pytest.raises(ValueError, match="reduction"):
            fn(torch.zeros(0, 4), torch.zeros(0, 4))
    s, y = _data((5, 4), seed=15)
    mask = torch.ones(5, 4, dtype=torch.bool)
    mask[4, 1] = False
    bad_t, bad_s = y.clone(), s.clone()
    bad_t[4, 1] = 0.5  # bad values in the last block, at a masked position
    with pytest.raises(ValueError, match="targets"):
        multilabel_ce(s, bad_t, mask)
    with pytest.raises(ValueError, match="targets"):
        soft_multilabel_ce(s, bad_t + 0.6, mask)
    for fn, v in [(f, v) for f in (multilabel_ce, soft_multilabel_ce) for v in (math.nan, math.inf)]:
        bad_s[4, 1] = v
        with pytest.raises(ValueError, match="logits"):
            fn(bad_s, y, mask)


@pytest.mark.parametrize("fn", [multilabel_ce, soft_multilabel_ce])
def test_reduction_inside_fused_function(fn):
    """mean/sum are taken inside the fused Function; the gradients (first and second order) must
    be those of reducing the per-row losses outside (bitwise: grad / N per row, as mean's backward)."""
    s, y = _data((5, 6), seed=16)
    x = s.requires_grad_()
    for how, red in (("mean", torch.mean), ("sum", torch.sum)):
        g_in = torch.autograd.grad(fn(x, y, reduction=how), x)[0]
        assert torch.equal(g_in, torch.autograd.grad(red(fn(x, y, reduction="none")), x)[0])
        assert torch.autograd.gradgradcheck(lambda v, how=how: fn(v, y, reduction=how), (x,))


# -- contract details found by mutation testing (issue #20) --------------------------------------
@pytest.mark.parametrize("shape, block", [((5, 2), 6), ((5, 3), 9), ((7, 4), 8)])
@pytest.mark.parametrize("tdtype", [torch.bool, torch.long, F64])
def test_fused_blocks_of_several_rows(monkeypatch, shape, block, tdtype):
    """Blocks of 3 + 2, 3 + 2 and 2 + 2 + 2 + 1 rows (the last one shorter than the scratch
    buffer): losses and gradients are the logsumexp references' (float64: rtol 1e-13, RTOL)."""
    monkeypatch.setattr(ml, "_BLOCK", block)
    s, y = _data(shape, seed=31)
    t = 0.05 + 0.9 * torch.rand(shape, generator=torch.Generator().manual_seed(31), dtype=F64)
    mask = torch.ones(shape, dtype=torch.bool)
    mask[-1, 0] = False
    for fn, ref_fn, targets, ref_targets in ((multilabel_ce, _ref_zlpr, y.to(tdtype), y),
                                             (soft_multilabel_ce, _ref_soft, t, t)):
        x64, x = s.clone().requires_grad_(), s.clone().requires_grad_()
        ref = ref_fn(x64, ref_targets, mask)
        loss = fn(x, targets, mask, reduction="none")
        torch.testing.assert_close(loss, ref, rtol=1e-13, atol=0)
        g_ref, g = torch.autograd.grad(ref.sum(), x64)[0], torch.autograd.grad(loss.sum(), x)[0]
        torch.testing.assert_close(g, g_ref, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(dtype):
    """The book's rule (lib.checks.work_dtype): half logits are computed in float32 and the
    result cast back, on every path (1e4 forces the max-shifted ones)."""
    s, y = _data((4, 6), seed=32)
    t = 0.125 + 0.75 * y  # exact in half precision
    for big in (False, True):
        s16 = s.to(dtype)
        if big:
            s16[0, 0] = 1e4
        for red in ("none", "mean"):
            for fn, tt in ((multilabel_ce, y.to(dtype)), (soft_multilabel_ce, t.to(dtype))):
                out = fn(s16, tt, reduction=red)
                assert out.dtype == dtype and torch.equal(out, fn(s16.float(), tt.float(), reduction=red).to(dtype))
            out = sparse_multilabel_ce(s16, _to_index(y), reduction=red)
            ref = sparse_multilabel_ce(s16.float(), _to_index(y), reduction=red).to(dtype)
            assert out.dtype == dtype and torch.equal(out, ref)


def test_every_path_reduces_like_the_per_row_losses():
    s, y = _data((4, 6), seed=33)
    t = 0.1 + 0.8 * y
    fns = ((multilabel_ce, y), (soft_multilabel_ce, t),
           (lambda a, b, reduction: sparse_multilabel_ce(a, _to_index(b), reduction), y))
    for big in (False, True):
        x = s.clone()
        if big:
            x[0, 0] = 1e4  # beyond overflow: the max-shifted paths
        for fn, tt in fns:
            none = fn(x, tt, reduction="none")
            assert none.shape == (4,) and torch.isfinite(none).all()
            torch.testing.assert_close(fn(x, tt, reduction="mean"), none.mean(), rtol=1e-15, atol=0)
            torch.testing.assert_close(fn(x, tt, reduction="sum"), none.sum(), rtol=1e-15, atol=0)


@pytest.mark.parametrize("masked", [False, True])
def test_soft_shifted_path_with_targets_at_0_and_1(masked):
    """float32 logits with entries at +-100 (e^100 overflows float32: the max-shifted path),
    targets exactly 0 and 1 among fractions, a mask that removes entries with t > 0. Loss and
    logits' gradient against float64 closed forms (per entry within 1e-5 of the size of its
    terms, see RTOL); the targets' gradient is finite everywhere and the closed form
    e^{-s}/(1+S_+) - e^{s}/(1+S_-) where 0 < t < 1."""
    s = torch.tensor([[100.0, 0.5, -1.0, 2.0, 0.3, -3.0], [0.2, -0.7, 1.5, -100.0, 0.0, 4.0]])
    t = torch.tensor([[0.0, 1.0, 0.4, 1.0, 0.0, 0.7], [1.0, 0.3, 0.0, 0.5, 1.0, 0.9]])
    mask = torch.tensor([[True, True, False, True, True, True], [True, False, True, True, True, True]])
    x, w = s.clone().requires_grad_(), t.clone().requires_grad_()
    loss = soft_multilabel_ce(x, w, mask if masked else None, reduction="none")
    gs, gt = torch.autograd.grad(loss.sum(), (x, w))
    s64, t64 = s.double(), t.double()
    keep = mask.double() if masked else torch.ones_like(s64)
    a = 1 / (1 + (keep * t64 * torch.exp(-s64)).sum(-1, keepdim=True))
    b = 1 / (1 + (keep * (1 - t64) * torch.exp(s64)).sum(-1, keepdim=True))
    ref = -torch.log(a * b).squeeze(-1)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss.double(), ref, rtol=1e-6, atol=0)
    pos, neg = keep * t64 * torch.exp(-s64) * a, keep * (1 - t64) * torch.exp(s64) * b
    sub = 1e-44  # entries near e^-100 are float32 subnormals: spacing 2^-149 = 1.4e-45
    assert ((gs.double() - (neg - pos)).abs() <= 1e-5 * (neg + pos) + sub).all()
    assert torch.isfinite(gt).all()
    rp, rn = keep * torch.exp(-s64) * a, keep * torch.exp(s64) * b
    inner = (t64 > 0) & (t64 < 1)
    assert ((gt.double() - (rp - rn)).abs() <= 1e-5 * (rp + rn) + sub)[inner].all()


def test_create_graph_gives_the_same_first_gradient():
    """With create_graph=True the Functions differentiate a composed graph instead: its first
    gradient must be the plain one (masks included), for the logits and the soft targets."""
    s, y = _data((3, 5), seed=34)
    t = 0.1 + 0.8 * y
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1, 0] = mask[2, 3] = False
    col = torch.full((3, 1), 1e4, dtype=F64)
    big, y_big, t_big = torch.cat([s, col], -1), torch.cat([y, 0 * col], -1), torch.cat([t, 0 * col + 0.5], -1)
    m_big = torch.cat([mask, torch.zeros(3, 1, dtype=torch.bool)], -1)
    w = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    cases = [(lambda v: multilabel_ce(v, y, mask, reduction="none"), s),
             (lambda v: multilabel_ce(v, y_big, m_big, reduction="none"), big),
             (lambda v: soft_multilabel_ce(v, t, mask, reduction="none"), s),
             (lambda v: soft_multilabel_ce(v, t_big, m_big, reduction="none"), big),
             (lambda v: sparse_multilabel_ce(v, _to_index(y), reduction="none"), s),
             (lambda v: sparse_multilabel_ce(v[:, None], _to_index(y)[:, None], reduction="none")[:, 0], s),
             (lambda v: soft_multilabel_ce(s, v, mask, reduction="none"), t)]  # the targets alone
    for fn, x0 in cases:
        x = x0.clone().requires_grad_()
        plain = torch.autograd.grad((fn(x) * w).sum(), x)[0]
        graph = torch.autograd.grad((fn(x) * w).sum(), x, create_graph=True)[0]
        assert graph.requires_grad
        torch.testing.assert_close(graph, plain, rtol=1e-12, atol=1e-300)
    assert torch.autograd.gradgradcheck(lambda v: soft_multilabel_ce(s, v, mask, reduction="none"),
                                        (t.clone().requires_grad_(),))


@pytest.mark.parametrize("shape", [(6,), (2, 6), (2, 3, 6)])
@pytest.mark.parametrize("n_pos", [0, 1, 2])
def test_sparse_any_leading_shape_on_both_paths(shape, n_pos):
    """Logits of any number of leading dims, rows with no, one and two positives (indices, or
    an empty index tensor), small logits and a negative at 1e4 (the max-shifted path): losses
    and gradients as the logsumexp reference's."""
    s = 2 * torch.randn(*shape, generator=torch.Generator().manual_seed(35), dtype=F64)
    y = torch.zeros(shape, dtype=F64)
    y[..., 1 : 1 + n_pos] = 1
    indices = [_to_index(y)] + ([torch.empty(shape[:-1] + (0,), dtype=torch.long)] if n_pos == 0 else [])
    for big, idx in [(b, i) for b in (False, True) for i in indices]:
        x0 = s.clone()
        if big:
            x0[..., -1] = 1e4
        x64, x = x0.clone().requires_grad_(), x0.clone().requires_grad_()
        ref = _ref_zlpr(x64, y)
        loss = sparse_multilabel_ce(x, idx, reduction="none")
        assert loss.shape == shape[:-1]
        torch.testing.assert_close(loss, ref, rtol=1e-13, atol=0)
        g_ref, g = torch.autograd.grad(ref.sum(), x64)[0], torch.autograd.grad(loss.sum(), x)[0]
        torch.testing.assert_close(g, g_ref, rtol=1e-13, atol=1e-300)


def test_bad_input_messages():
    s, y = _data((2, 4))
    with pytest.raises(ValueError, match=r"^logits contains NaN or \+inf"):
        multilabel_ce(s * math.nan, y)
    with pytest.raises(ValueError, match=r"^targets must lie in \[0, 1\] \(and not be NaN\)"):
        soft_multilabel_ce(s, y - 0.5)  # below 0 only
    with pytest.raises(ValueError, match=r"^positive_index must be an integer torch\.Tensor"):
        sparse_multilabel_ce(s, torch.tensor([[True], [False]]))
    with pytest.raises(ValueError, match=r"^positive_index must have shape"):
        sparse_multilabel_ce(s, torch.zeros(3, 1, dtype=torch.long))  # same dims, other rows
    with pytest.raises(ValueError, match=r"^positive_index must have shape logits\.shape\[:-1\] \+ \(P,\) "
                                         r"= \(2, 3\) \+ \(P,\), got \(2, 1, 1\)$"):
        sparse_multilabel_ce(torch.zeros(2, 3, 4, dtype=F64), torch.zeros(2, 1, 1, dtype=torch.long))
    repeated = [(s, torch.tensor([[0, 2, 2], [1, -1, -1]])),  # not the smallest index
                (s[:1], torch.tensor([[3, 3]])),  # a single row
                (torch.zeros(2, 3, 4, dtype=F64), torch.tensor([[[0, 1]] * 3, [[2, 3], [1, 1], [0, 3]]]))]
    for logits, idx in repeated:
        with pytest.raises(ValueError, match=r"^positive_index has a repeated index within a row"):
            sparse_multilabel_ce(logits, idx)


def test_results_follow_the_input_device_not_the_default_device():
    """With torch's default device elsewhere ("meta"), CPU inputs still give CPU results equal
    to the usual ones, on the fused and the max-shifted paths (the dense losses: the sparse
    one's boolean indexing cannot run under a meta default device at all)."""
    s, y = _data((3, 5), seed=36)
    t = 0.1 + 0.8 * y
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0, 1] = False
    for big in (False, True):
        x = s.clone()
        if big:
            x[1, 2] = 1e4
        ref = [multilabel_ce(x, y, mask), soft_multilabel_ce(x, t, mask)]
        with torch.device("meta"):
            out = [multilabel_ce(x, y, mask), soft_multilabel_ce(x, t, mask)]
        for o, r in zip(out, ref, strict=True):
            assert o.device.type == "cpu" and torch.equal(o, r)
