"""Multi-label softmax + cross-entropy (ZLPR): hard, soft-label and sparse forms.

Chapters *Multi-label softmax + CE* (kexue.fm/archives/7359) and *Soft labels for the
multi-label CE* (9064). Fused closed-form gradients with an exact max-shift fallback keep the
losses at BCE speed and finite for any finite input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import (
    _check_logits,
    _check_mask,
    _check_targets_shape,
    _no_shift_needed,
)

__all__ = [
    "multilabel_ce",
    "soft_multilabel_ce",
    "sparse_multilabel_ce",
]


def _lse_with_zero(x: Tensor) -> Tensor:
    r""":math:`\log(1 + \sum_i e^{x_i})` over the last dim; ``-inf`` entries are absent.

    The appended zero is the threshold class: the shift ``m = max(0, max x)`` is finite even
    when every entry is ``-inf`` (then the result is exactly 0 with zero gradient).
    """
    if x.shape[-1] == 0:
        return x.sum(dim=-1)  # log(1 + 0), keeping the graph
    m = x.detach().amax(dim=-1, keepdim=True).clamp_min(0)
    return m.squeeze(-1) + torch.log(torch.exp(-m.squeeze(-1)) + torch.exp(x - m).sum(dim=-1))


def multilabel_ce(
    logits: Tensor, targets: Tensor, mask: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    r"""Multi-label softmax + cross-entropy (ZLPR) with the threshold class fixed at 0.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), eq.
    (eq-multilabel-softmax-ce-zlpr):

    .. math::
        \mathcal L = \log\Bigl(1+\sum_{i\in\Omega_{\rm neg}} e^{s_i}\Bigr)
                   + \log\Bigl(1+\sum_{j\in\Omega_{\rm pos}} e^{-s_j}\Bigr),

    the pairwise "every target beats every non-target, targets beat 0, non-targets lose to
    0" loss after factorisation; predict the labels with ``logits > 0``. The label dim is the
    last one; ``targets`` (same shape, values 0/1, any dtype) mark the positives; ``mask``
    (bool, broadcastable to ``logits``; ``True`` = take part) removes positions from both
    sums: a fully masked row has loss 0 and zero gradient. ``reduction`` is over the leading
    dims ("none" keeps them). Because the threshold class contributes a 1 to each sum, no
    max-shift is needed while no :math:`e^{\pm s}` can overflow (``max|s|`` below about
    ``log(finfo.max / C)``): then one fused pass with a closed-form gradient is used (as fast
    as BCE-with-logits). Beyond that, each log-sum is computed with masked ``-inf`` entries
    and a max-shift (never ``0 * inf``), so the loss is finite for any finite logits in any
    dtype; float16/bfloat16 are computed in float32 and cast back.
    """
    max_abs = _check_logits(logits)
    checks.reduction(reduction)
    _check_targets_shape(targets, logits)
    work = checks.work_dtype(logits.dtype)
    t = targets.to(work)
    if targets.dtype != torch.bool:
        lo, hi = torch.aminmax(t)
        if not (bool(lo >= 0) and bool(hi <= 1)):  # NaN fails too
            raise ValueError("targets must hold only 0 and 1 (use soft_multilabel_ce for soft labels)")
    valid = _check_mask(mask, logits.shape)
    s = logits.to(work)
    if _no_shift_needed(max_abs, work, logits.shape[-1]):
        loss = _MultilabelCEFast.apply(s, t, valid, targets.dtype != torch.bool)
    else:
        if targets.dtype != torch.bool and targets.ne(1).logical_and_(targets != 0).any():
            raise ValueError("targets must hold only 0 and 1 (use soft_multilabel_ce for soft labels)")
        loss = _MultilabelCE.apply(s, targets != 0, valid)
    return checks.reduce(loss, reduction, logits.dtype)


class _MultilabelCEFast(torch.autograd.Function):
    r"""Eq. (eq-multilabel-softmax-ce-zlpr) without max-shifts, for ``max|s|`` below overflow.

    One exponential per entry: :math:`e = \exp(s(1-2t))` is :math:`e^{-s_j}` on a positive and
    :math:`e^{s_i}` on a negative; the two sums are :math:`\sum t e` and :math:`\sum (1-t) e`.
    The gradient is :math:`e\,[(1-t)/(1+S_-) - t/(1+S_+)]`. Three full-size temporaries in
    all (BCE-with-logits allocates about five); the same buffer then checks
    :math:`\sum t(1-t) = 0`, i.e. that the targets are 0/1.
    """

    @staticmethod
    def forward(ctx, s: Tensor, t: Tensor, valid: Tensor | None, check: bool) -> Tensor:
        e = torch.addcmul(s, s, t, value=-2).exp_()
        if valid is not None:
            e.masked_fill_(~valid, 0)
        w = torch.mul(t, e)
        s_pos = w.sum(dim=-1)
        s_neg = torch.sub(e, w, out=w).sum(dim=-1)  # (1 - t) e, exact for t in {0, 1}
        if check and torch.addcmul(t, t, t, value=-1, out=w).sum() != 0:  # sum t(1 - t)
            raise ValueError("targets must hold only 0 and 1 (use soft_multilabel_ce for soft labels)")
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(s, e, t, s_pos, s_neg)
            ctx.valid = valid
        return torch.log1p(s_pos) + torch.log1p(s_neg)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        s, e, t, s_pos, s_neg = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate a composed graph instead
            return _composed_grads(s, t, ctx.valid, grad_out, True, False)[0], None, None, None
        c_neg = (grad_out / (1 + s_neg)).unsqueeze(-1)
        c_pos = (grad_out / (1 + s_pos)).unsqueeze(-1)
        return torch.addcmul(c_neg, t, c_neg + c_pos, value=-1).mul_(e), None, None, None


class _MultilabelCE(torch.autograd.Function):
    r"""Eq. (eq-multilabel-softmax-ce-zlpr) with max-shifts, for any finite logits.

    Forward keeps :math:`e^{s_i-m_-}` on the negatives and :math:`e^{-s_j-m_+}` on the
    positives (zeros elsewhere; :math:`m_\pm \ge 0` the group max-shifts); the gradient is
    :math:`\partial\mathcal L/\partial s_i = e^{s_i}/(1+\sum_{\rm neg} e^{s})` on a negative and
    :math:`-e^{-s_j}/(1+\sum_{\rm pos} e^{-s})` on a positive, i.e. those two tensors over their
    normalisers.
    """

    @staticmethod
    def forward(ctx, s: Tensor, pos: Tensor, valid: Tensor | None) -> Tensor:
        inf = float("inf")
        e_neg = s.masked_fill(pos, -inf)  # negatives: s_i; positives: -inf
        e_pos = torch.where(pos, s, inf)  # positives: s_j; negatives: +inf
        if valid is not None:
            e_neg.masked_fill_(~valid, -inf)
            e_pos.masked_fill_(~valid, inf)
        m_neg = e_neg.amax(dim=-1, keepdim=True).clamp_min_(0)
        m_pos = e_pos.amin(dim=-1, keepdim=True).neg_().clamp_min_(0)  # max of -s_j, at least 0
        e_neg.sub_(m_neg).exp_()
        e_pos.add_(m_pos).neg_().exp_()
        d_neg = torch.exp(-m_neg) + e_neg.sum(dim=-1, keepdim=True)  # e^{-m}(1 + sum e^{s})
        d_pos = torch.exp(-m_pos) + e_pos.sum(dim=-1, keepdim=True)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(s, pos, e_neg, e_pos, d_neg, d_pos)
            ctx.valid = valid
        return (m_neg + d_neg.log() + m_pos + d_pos.log()).squeeze(-1)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        s, pos, e_neg, e_pos, d_neg, d_pos = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate a composed graph instead
            return _composed_grads(s, pos.to(s.dtype), ctx.valid, grad_out, True, False)[0], None, None
        g = grad_out.unsqueeze(-1)
        grad = e_neg * (g / d_neg)
        grad.addcmul_(e_pos, g / d_pos, value=-1)
        return grad, None, None


def soft_multilabel_ce(
    logits: Tensor, targets: Tensor, mask: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    r"""Soft-label multi-label softmax + cross-entropy; minimised at ``targets = sigmoid(2 logits)``.

    Chapter *Soft labels for multi-label softmax + cross-entropy* (kexue.fm/archives/9064),
    eq. (eq-multilabel-soft-labels-loss):

    .. math::
        \mathcal L = \log\Bigl(1+\sum_i t_i e^{-s_i}\Bigr) + \log\Bigl(1+\sum_i (1-t_i) e^{s_i}\Bigr),

    with ``targets`` :math:`t_i \in [0, 1]`; on 0/1 targets it equals :func:`multilabel_ce`.
    Implemented exactly, without clipping: :math:`t_i e^{-s_i} = e^{-s_i + \log t_i}` with
    entries where :math:`t_i = 0` (resp. :math:`t_i = 1`) removed from the first (second) sum by
    ``-inf``, and masked positions removed from both — the masking the chapter shows clipping
    alone gets wrong. The minimum over ``logits`` is :math:`2\log(1+\sum_i\sqrt{t_i(1-t_i)})`
    (eq. eq-multilabel-soft-labels-min). Gradients flow to ``targets`` too (never NaN).
    ``mask``, ``reduction`` and dtypes as in :func:`multilabel_ce`. When ``max|logits|`` is
    small enough that no exponential can overflow, the sums are formed directly with the
    weights :math:`t_i` and :math:`1-t_i` (zeros drop terms exactly) in one fused pass.
    """
    max_abs = _check_logits(logits)
    checks.reduction(reduction)
    _check_targets_shape(targets, logits)
    work = checks.work_dtype(logits.dtype)
    t = targets.to(work)
    lo, hi = torch.aminmax(t.detach())
    if not (bool(lo >= 0) and bool(hi <= 1)):  # NaN fails both comparisons
        raise ValueError("targets must lie in [0, 1] (and not be NaN)")
    valid = _check_mask(mask, logits.shape)
    s = logits.to(work)
    if _no_shift_needed(max_abs, work, logits.shape[-1]):
        return checks.reduce(_SoftMultilabelCEFast.apply(s, t, valid), reduction, logits.dtype)
    return checks.reduce(_soft_multilabel_ce_composed(s, t, valid), reduction, logits.dtype)


def _soft_multilabel_ce_composed(s: Tensor, t: Tensor, valid: Tensor | None) -> Tensor:
    r"""Eq. (eq-multilabel-soft-labels-loss) in log space from differentiable torch ops:
    :math:`\log(1 + \sum e^{-s + \log t})` with :math:`t = 0` and masked entries at ``-inf``,
    :math:`\log(1 + \sum e^{s + \log(1-t)})` likewise for :math:`t = 1`, each max-shifted."""
    pos_sel = t > 0 if valid is None else valid & (t > 0)
    neg_sel = t < 1 if valid is None else valid & (t < 1)
    one = torch.ones((), dtype=s.dtype, device=s.device)
    log_t = torch.log(torch.where(pos_sel, t, one))  # where-then-log: no log(0) in the graph
    log_1mt = torch.log1p(-torch.where(neg_sel, t, 0 * one))
    ninf = torch.full((), float("-inf"), dtype=s.dtype, device=s.device)
    return _lse_with_zero(torch.where(neg_sel, s + log_1mt, ninf)) + _lse_with_zero(
        torch.where(pos_sel, log_t - s, ninf)
    )


def _composed_grads(s, t, valid, grad_out, need_s: bool, need_t: bool):
    """Gradients of the composed loss, with a graph: what the fused Functions hand back when
    asked for ``create_graph=True`` (Hessians, double backward)."""
    with torch.enable_grad():
        loss = _soft_multilabel_ce_composed(s, t, valid)
        wanted = [x for x, need in ((s, need_s), (t, need_t)) if need]
        grads = list(torch.autograd.grad(loss, wanted, grad_out, create_graph=True))
    return (grads.pop(0) if need_s else None), (grads.pop(0) if need_t else None)


class _SoftMultilabelCEFast(torch.autograd.Function):
    r"""Eq. (eq-multilabel-soft-labels-loss) as written, :math:`\sum t e^{-s}` and
    :math:`\sum (1-t) e^{s}`, for ``max|s|`` below overflow: zero weights drop terms exactly,
    so no logarithm of a target is ever taken. Gradients for ``s`` and ``t`` in closed form."""

    @staticmethod
    def forward(ctx, s: Tensor, t: Tensor, valid: Tensor | None) -> Tensor:
        e = torch.exp(s)
        r = torch.reciprocal(e)
        if valid is not None:
            e.masked_fill_(~valid, 0)
            r.masked_fill_(~valid, 0)
        w = torch.mul(t, r)
        s_pos = w.sum(dim=-1)
        s_neg = torch.neg(t, out=w).add_(1).mul_(e).sum(dim=-1)  # (1 - t) is exact
        ctx.save_for_backward(s, t, e, r, s_pos, s_neg)
        ctx.valid = valid
        return torch.log1p(s_pos) + torch.log1p(s_neg)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        s, t, e, r, s_pos, s_neg = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate a composed graph instead
            gs, gt = _composed_grads(s, t, ctx.valid, grad_out, *ctx.needs_input_grad[:2])
            return gs, gt, None
        a = (grad_out / (1 + s_pos)).unsqueeze(-1)
        b = (grad_out / (1 + s_neg)).unsqueeze(-1)
        grad_s = grad_t = None
        if ctx.needs_input_grad[0]:
            grad_s = torch.neg(t).add_(1).mul_(e).mul_(b).sub_(torch.mul(t, r).mul_(a))
        if ctx.needs_input_grad[1]:
            grad_t = torch.mul(r, a).sub_(torch.mul(e, b))
        return grad_s, grad_t, None


def sparse_multilabel_ce(
    logits: Tensor, positive_index: Tensor, reduction: str = "mean", *, ignore_index: int = -1
) -> Tensor:
    r""":func:`multilabel_ce` with the positives given as indices, for huge label spaces.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), eq.
    (eq-multilabel-softmax-ce-zlpr), with targets ``logits.shape[:-1] + (P,)`` integer indices
    into the last dim of ``logits`` (``P`` = most positives in a row; shorter rows are padded
    with ``ignore_index``). No dense target tensor is built: the positive term gathers ``P``
    logits; for the negative term the positives are removed from the sum exactly (their
    :math:`e^{s}` zeroed in place or, for logits beyond the overflow range, their logits set
    to ``-inf`` in a copy). (The subtraction trick :math:`\log(e^{\mathrm{lse(all)}} -
    e^{\mathrm{lse(pos)}})` would avoid that but cancels catastrophically once the positives
    carry nearly all the mass, i.e. in a well-trained model.) Equals :func:`multilabel_ce` on
    the corresponding 0/1 targets. Indices must be in ``[0, C)`` and distinct within a row.
    """
    max_abs = _check_logits(logits)
    checks.reduction(reduction)
    idx = positive_index
    if not isinstance(idx, Tensor) or idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        raise ValueError("positive_index must be an integer torch.Tensor")
    if idx.dim() != logits.dim() or idx.shape[:-1] != logits.shape[:-1]:
        raise ValueError(
            f"positive_index must have shape logits.shape[:-1] + (P,) = {tuple(logits.shape[:-1])} + (P,), "
            f"got {tuple(idx.shape)}"
        )
    C = logits.shape[-1]
    valid = idx != ignore_index
    if ((idx < 0) | (idx >= C))[valid].any():
        raise ValueError(f"positive_index must lie in [0, {C}) (or equal ignore_index={ignore_index})")
    if idx.shape[-1] > 1:
        srt = idx.sort(dim=-1).values
        if ((srt[..., 1:] == srt[..., :-1]) & (srt[..., 1:] != ignore_index)).any():
            raise ValueError("positive_index has a repeated index within a row")
    work = checks.work_dtype(logits.dtype)
    s = logits.to(work)
    if _no_shift_needed(max_abs, work, C):
        safe = torch.where(valid, idx, 0).long()  # padding points at column 0 with weight 1
        return checks.reduce(_SparseMultilabelCEFast.apply(s, safe, valid), reduction, logits.dtype)
    ninf = float("-inf")
    safe = torch.where(valid, idx, C).long()  # padding points at an extra, always -inf column
    s_ext = torch.cat([s, s.new_full(s.shape[:-1] + (1,), ninf)], dim=-1)
    pos_term = _lse_with_zero((-s_ext.gather(-1, safe)).masked_fill(~valid, ninf))
    neg_term = _lse_with_zero(s_ext.scatter(-1, safe, ninf))
    return checks.reduce(neg_term + pos_term, reduction, logits.dtype)


class _SparseMultilabelCEFast(torch.autograd.Function):
    r"""Sparse eq. (eq-multilabel-softmax-ce-zlpr) for ``max|s|`` below overflow: one
    full-size buffer :math:`e^{s}` with the positives multiplied by 0 in place (padding by 1),
    then the closed-form gradient with the positives' entries scattered in."""

    @staticmethod
    def forward(ctx, s: Tensor, safe: Tensor, valid: Tensor) -> Tensor:
        keep = valid.to(s.dtype)
        r_pos = torch.exp(-s.gather(-1, safe)).mul_(keep)  # e^{-s_j} on the positives
        e = torch.exp(s).scatter_reduce_(-1, safe, 1 - keep, reduce="prod")
        s_pos, s_neg = r_pos.sum(dim=-1), e.sum(dim=-1)
        ctx.save_for_backward(s, keep, e, safe, r_pos, s_pos, s_neg)
        return torch.log1p(s_pos) + torch.log1p(s_neg)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        s, keep, e, safe, r_pos, s_pos, s_neg = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate a composed graph instead
            t = torch.zeros_like(s).scatter_add_(-1, safe, keep)  # dense 0/1 targets
            return _composed_grads(s, t, None, grad_out, True, False)[0], None, None
        grad = e * (grad_out / (1 + s_neg)).unsqueeze(-1)
        grad.scatter_add_(-1, safe, r_pos * (-grad_out / (1 + s_pos)).unsqueeze(-1))
        return grad, None, None
