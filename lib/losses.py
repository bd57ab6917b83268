"""Classification losses: the functions behind the book's "Classification losses" part.

PyTorch functional style: ``logits``/``targets`` tensors, ``reduction="none"|"mean"|"sum"``
over the leading dimensions, dtype preserved, ``ValueError`` naming the argument on bad input.
Sections follow the chapters that use them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# ---------------------------------------------------------------------------------------
# Shared helpers: reductions and working precision (every section below uses them)
# ---------------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision inputs are computed in float32 and the result cast back."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, dtype: torch.dtype) -> Tensor:
    """Apply ``reduction`` over every element and cast to ``dtype``; an empty batch has no
    mean (``ValueError`` rather than a silent NaN)."""
    if reduction == "mean":
        if loss.numel() == 0:
            raise ValueError("reduction='mean' needs at least one sample, got an empty batch")
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss.to(dtype)


# ---------------------------------------------------------------------------------------
# Multi-label softmax + cross-entropy (ZLPR) and its soft-label / sparse forms (7359, 9064)
# ---------------------------------------------------------------------------------------


def _check_logits(logits: Tensor, name: str = "logits") -> float:
    """Validate; return max |logits| (one ``aminmax`` pass, which also propagates NaN)."""
    if not isinstance(logits, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty label dimension (last), got shape {tuple(logits.shape)}")
    lo, hi = torch.aminmax(logits.detach())
    if not bool(hi < float("inf")):
        raise ValueError(f"{name} contains NaN or +inf")
    return max(-float(lo), float(hi))


def _no_shift_needed(max_abs: float, dtype: torch.dtype, n: int) -> bool:
    r"""``n`` terms :math:`e^{\pm s}` cannot overflow, so :math:`\log(1+\sum e^{\pm s})` needs no
    max-shift: terms that underflow are negligible next to the threshold class's 1."""
    return max_abs <= math.log(torch.finfo(dtype).max) - math.log(n) - 1


def _check_mask(mask: Tensor | None, shape: torch.Size, name: str = "logits") -> Tensor | None:
    """``mask`` (bool, or 0/1; True = keep) broadcast to ``shape``; ``None`` stays ``None``."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise ValueError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        if not ((mask == 0) | (mask == 1)).all():
            raise ValueError("mask must be boolean (or hold only 0 and 1)")
        mask = mask != 0
    try:
        return mask.expand(shape)
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to {name} {tuple(shape)}"
        ) from None


def _check_targets_shape(targets, logits: Tensor) -> None:
    if not isinstance(targets, Tensor) or targets.shape != logits.shape:
        got = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {got}")


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
    _check_reduction(reduction)
    _check_targets_shape(targets, logits)
    work = _work_dtype(logits.dtype)
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
    return _reduce(loss, reduction, logits.dtype)


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
    _check_reduction(reduction)
    _check_targets_shape(targets, logits)
    work = _work_dtype(logits.dtype)
    t = targets.to(work)
    lo, hi = torch.aminmax(t.detach())
    if not (bool(lo >= 0) and bool(hi <= 1)):  # NaN fails both comparisons
        raise ValueError("targets must lie in [0, 1] (and not be NaN)")
    valid = _check_mask(mask, logits.shape)
    s = logits.to(work)
    if _no_shift_needed(max_abs, work, logits.shape[-1]):
        return _reduce(_SoftMultilabelCEFast.apply(s, t, valid), reduction, logits.dtype)
    return _reduce(_soft_multilabel_ce_composed(s, t, valid), reduction, logits.dtype)


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
    _check_reduction(reduction)
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
    work = _work_dtype(logits.dtype)
    s = logits.to(work)
    if _no_shift_needed(max_abs, work, C):
        safe = torch.where(valid, idx, 0).long()  # padding points at column 0 with weight 1
        return _reduce(_SparseMultilabelCEFast.apply(s, safe, valid), reduction, logits.dtype)
    ninf = float("-inf")
    safe = torch.where(valid, idx, C).long()  # padding points at an extra, always -inf column
    s_ext = torch.cat([s, s.new_full(s.shape[:-1] + (1,), ninf)], dim=-1)
    pos_term = _lse_with_zero((-s_ext.gather(-1, safe)).masked_fill(~valid, ninf))
    neg_term = _lse_with_zero(s_ext.scatter(-1, safe, ninf))
    return _reduce(neg_term + pos_term, reduction, logits.dtype)


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


def micro_f1(logits: Tensor, targets: Tensor, threshold: float | Tensor = 0.0, start_dim: int = 0) -> Tensor:
    r"""Micro-averaged F1 of the prediction ``logits > threshold`` against 0/1 ``targets``.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), section 5:
    :math:`F_1 = 2\,TP/(\#\text{predicted} + \#\text{true})`, counted over all dims from
    ``start_dim`` on (``start_dim=1``: one F1 per entry of dim 0, e.g. per task; then
    ``threshold`` may be a tensor with one threshold per entry). 0/0 (nothing predicted,
    nothing true) gives 1.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {tuple(targets.shape)}")
    thr = torch.as_tensor(threshold, dtype=logits.dtype, device=logits.device)
    thr = thr.reshape(thr.shape + (1,) * (logits.dim() - thr.dim()))
    pred, true = logits > thr, targets > 0
    dims = tuple(range(start_dim, logits.dim()))
    tp = (pred & true).sum(dims)
    denom = pred.sum(dims) + true.sum(dims)
    return torch.where(denom > 0, 2 * tp / denom.clamp_min(1), torch.ones_like(tp, dtype=torch.float64))


def best_f1_threshold(logits: Tensor, targets: Tensor, start_dim: int = 0) -> Tensor:
    r"""The threshold that maximises :func:`micro_f1` exactly (over dims from ``start_dim``).

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), section 5 (the
    tuned threshold BCE needs): sort the scores, count true positives cumulatively, take the
    best cut, and return the midpoint between the last score kept and the first dropped.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {tuple(targets.shape)}")
    lead = logits.shape[:start_dim]
    sc, order = logits.reshape(lead + (-1,)).sort(dim=-1, descending=True)
    y = (targets.reshape(lead + (-1,)) > 0).to(torch.float64).gather(-1, order)
    m = sc.shape[-1]
    if m == 0:
        raise ValueError("logits is empty")
    f1 = 2 * y.cumsum(-1) / (torch.arange(1, m + 1, dtype=torch.float64) + y.sum(-1, keepdim=True))
    i = f1.argmax(-1, keepdim=True)
    below = torch.cat([sc[..., 1:], sc[..., -1:] - 1], dim=-1)  # keeping all: 1 below the last
    return ((sc.gather(-1, i) + below.gather(-1, i)) / 2).squeeze(-1)



# ---------------------------------------------------------------------------------------
# GlobalPointer symmetric KL (9039) and the n-tasks-of-m-classes attempt (9158)
# ---------------------------------------------------------------------------------------
def _kl_nm_check_tensor(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")


def _kl_check_pair(s, t, dim: int) -> None:
    """Two score tensors of one shape with a non-empty ``dim``."""
    _kl_nm_check_tensor(s, "s")
    _kl_nm_check_tensor(t, "t")
    if s.shape != t.shape:
        raise ValueError(f"s and t must have the same shape, got {tuple(s.shape)} and {tuple(t.shape)}")
    if s.dim() == 0 or s.shape[dim] == 0:
        raise ValueError(f"s has an empty (or no) dimension dim={dim}")


def symmetric_kl_softmax(s: Tensor, t: Tensor, dim: int = -1) -> Tensor:
    r"""Symmetric KL :math:`KL(p\|q)+KL(q\|p)` of ``p = softmax(s)``, ``q = softmax(t)``.

    Chapter *A "KL divergence" for GlobalPointer* (kexue.fm/archives/9039), eq.
    (eq-globalpointer-kl-softmax):
    :math:`D = \sum_i (p_i-q_i)(s_i-t_i) = \langle \mathrm{softmax}(s)-\mathrm{softmax}(t),
    s-t\rangle`. The logit difference is taken after centring by the log-partition
    (``log_softmax(s) - log_softmax(t)``: ``s - t`` minus a constant whose contribution
    cancels, the chapter's step 2), so a large common shift of ``s`` or ``t`` adds no
    rounding error. Reduces ``dim``; dtype and device are
    preserved (float16/bfloat16 are computed in float32).

    Masked classes: a class that is ``-inf`` in *both* ``s`` and ``t`` has probability 0
    under both and contributes 0 (with zero gradient). ``-inf`` in only one of them makes
    the divergence infinite and raises ``ValueError``, as do NaN, ``+inf``, a row with no
    finite logit, a shape mismatch and an empty ``dim``.
    """
    _kl_check_pair(s, t, dim)
    for name, x in (("s", s), ("t", t)):
        if torch.isnan(x).any() or (x == float("inf")).any():
            raise ValueError(f"{name} contains NaN or +inf")
    s_off, t_off = torch.isneginf(s), torch.isneginf(t)
    if (s_off != t_off).any():
        raise ValueError("s and t must be -inf at the same positions (otherwise the divergence is infinite)")
    if s_off.all(dim=dim).any():
        raise ValueError(f"s has a row with no finite logit along dim={dim}")
    cd = _work_dtype(s.dtype)
    s32, t32 = s.to(cd), t.to(cd)
    log_p = torch.log_softmax(s32, dim=dim)
    log_q = torch.log_softmax(t32, dim=dim)
    # A class off in both has p = q = 0; its log-ratio (-inf) - (-inf) is set to 0.
    log_ratio = torch.where(s_off, 0.0, log_p - log_q)
    d = (log_p.exp() - log_q.exp()) * log_ratio
    return d.sum(dim=dim).to(s.dtype)


def symmetric_kl_sigmoid(s: Tensor, t: Tensor, mask: Tensor | None = None, *, dim: int = -1) -> Tensor:
    r"""GlobalPointer's divergence :math:`D_{\rm GP}(s,t)=\sum_i(\sigma(s_i)-\sigma(t_i))(s_i-t_i)`.

    Chapter *A "KL divergence" for GlobalPointer* (kexue.fm/archives/9039), eq.
    (eq-globalpointer-kl-gp): the sum over labels
    of the symmetric KL of the Bernoulli pairs :math:`[\sigma(s_i), 1-\sigma(s_i)]` and
    :math:`[\sigma(t_i), 1-\sigma(t_i)]` (eq. eq-globalpointer-kl-bernoulli). Each term is
    computed as :math:`\sigma(a)\,\sigma(-b)\,(1-e^{-|s_i-t_i|})\,|s_i-t_i|` with
    :math:`a=\max(s_i,t_i)`, :math:`b=\min(s_i,t_i)` — the same number, but every factor is
    in :math:`[0, 1]` or is :math:`|s_i-t_i|`, so nothing overflows and the relative error
    stays at a few ulps even when :math:`s_i\approx t_i` (where the plain difference of
    sigmoids cancels).

    ``mask`` (bool or 0/1, broadcastable to ``s``; ``True`` = keep) removes positions: they
    contribute 0 with zero gradient whatever their values (``-inf``, ``-1e12``, NaN), and an
    all-masked row gives 0. Kept positions must be finite. Reduces ``dim`` (flatten
    GlobalPointer's ``(heads, L, L)`` into it); dtype and device are preserved
    (float16/bfloat16 are computed in float32; a float16 *total* above 65504 is not
    representable and becomes ``inf``).
    """
    _kl_check_pair(s, t, dim)
    keep = _check_mask(mask, s.shape, "s's shape")
    if keep is None:
        keep = torch.ones_like(s, dtype=torch.bool)
    for name, x in (("s", s), ("t", t)):
        if (keep & ~torch.isfinite(x)).any():
            raise ValueError(f"{name} must be finite at unmasked positions")
    cd = _work_dtype(s.dtype)
    s32 = torch.where(keep, s.to(cd), 0.0)
    t32 = torch.where(keep, t.to(cd), 0.0)
    a, b = torch.maximum(s32, t32), torch.minimum(s32, t32)
    gap = a - b
    d = torch.sigmoid(a) * torch.sigmoid(-b) * (-torch.expm1(-gap)) * gap
    return torch.where(keep, d, 0.0).sum(dim=dim).to(s.dtype)


def _kl_nm_check_nm(S, T) -> None:
    _kl_nm_check_tensor(S, "S")
    _kl_nm_check_tensor(T, "T")
    if S.shape != T.shape:
        raise ValueError(f"S and T must have the same shape, got {tuple(S.shape)} and {tuple(T.shape)}")
    if S.dim() < 2:
        raise ValueError(f"S must have shape [..., n, m], got {tuple(S.shape)}")
    if S.shape[-1] < 2:
        raise ValueError(f"S needs m >= 2 classes in its last dimension, got m={S.shape[-1]}")
    if S.shape[-2] == 0:
        raise ValueError("S has no tasks (n = 0)")
    if not torch.isfinite(S).all():
        raise ValueError("S must be finite")
    if torch.isnan(T).any() or (T < 0).any() or (T > 1).any():
        raise ValueError("T must lie in [0, 1]")
    cd = _work_dtype(T.dtype)
    rows = T.to(cd).sum(dim=-1)
    tol = 10 * T.shape[-1] * torch.finfo(T.dtype).eps
    if not (((rows - 1).abs() <= tol) | (rows.abs() <= tol)).all():
        raise ValueError("every row of T must sum to 1 (or be all zero: an ignored padding row)")


def _kl_nm_lse_others(s: Tensor) -> Tensor:
    r""":math:`\log\sum_{k\ne j} e^{s_k}` for every ``j`` along the last dim, in O(m).

    For ``j`` not the arg-max, ``softmax_j <= 1/2`` and :math:`\mathrm{lse}(s)+\log(1-
    \mathrm{softmax}_j)` is accurate; for the arg-max the lse of the other entries is taken
    directly (the subtraction would cancel there).
    """
    lse = torch.logsumexp(s, dim=-1, keepdim=True)
    top = s.argmax(dim=-1, keepdim=True)
    is_top = torch.zeros_like(s, dtype=torch.bool).scatter_(-1, top, True)
    p = torch.exp(torch.where(is_top, -1.0, s - lse))  # exp(-1) at the top, never used
    rest_of_top = torch.logsumexp(s.masked_fill(is_top, float("-inf")), dim=-1, keepdim=True)
    return torch.where(is_top, rest_of_top, lse + torch.log1p(-p))


def _kl_nm_log1p_sum(x: Tensor, t: Tensor) -> Tensor:
    r""":math:`\sum_j\log(1+\sum_i t_{ij}e^{x_{ij}})` over ``[..., n, m]``; ``t = 0`` terms are
    dropped exactly (masked to :math:`-\infty` before the lse, never clipped)."""
    pos = t > 0
    z = torch.where(pos, x + torch.log(torch.where(pos, t, 1.0)), float("-inf"))
    # log(1 + e^y) with y = lse_i z_ij, as max(y, 0) + log1p(e^{-|y|}): keeps tiny losses
    # to full relative precision. A class with no t > 0 gets y = 0 in place of -inf (so the
    # lse has a finite gradient) and is then dropped.
    some = pos.any(dim=-2)
    y = torch.logsumexp(torch.where(some.unsqueeze(-2), z, 0.0), dim=-2)
    sp = y.clamp_min(0) + torch.log1p(torch.exp(-y.abs()))
    return torch.where(some, sp, 0.0).sum(dim=-1)


def nm_loss_truncated(S: Tensor, T: Tensor) -> Tensor:
    r"""First-order truncation :math:`l_1` of softmax CE over n tasks of m classes.

    Chapter *An unsuccessful attempt: n tasks of m classes* (kexue.fm/archives/9158), eq.
    (eq-nm-multiclass-attempt-l1):
    :math:`l_1=\sum_j\log\bigl(1+\sum_i\sum_{k\ne j}t_{ij}\,e^{s_{ik}-s_{ij}}\bigr)`, with
    ``S``, ``T`` of shape ``[..., n, m]`` (tasks ``i``, classes ``j``); the sum over tasks
    sits inside the log. Returns one value per leading index (shape ``S.shape[:-2]``). For
    ``m = 2`` it is the soft-label multi-label loss of logits ``s[..., 0] - s[..., 1]``.

    Computed as ``softplus(lse_i(log t_ij + lse_{k!=j} s_ik - s_ij))`` (an O(nm) stable
    form); ``t_ij = 0`` entries are masked out, not clipped. ``T`` must lie in ``[0, 1]``
    with rows summing to 1; an all-zero row is an ignored padding row (no loss, zero
    gradient). ``S`` must be finite, ``m >= 2``. float16/bfloat16 are computed in float32.
    """
    _kl_nm_check_nm(S, T)
    cd = _work_dtype(S.dtype)
    s, t = S.to(cd), T.to(cd)
    return _kl_nm_log1p_sum(_kl_nm_lse_others(s) - s, t).to(S.dtype)


def nm_loss_centered(S: Tensor, T: Tensor) -> Tensor:
    r"""Reverse-engineered loss :math:`l_3` whose soft-label optimum is ``T = softmax(S)``.

    Chapter *An unsuccessful attempt: n tasks of m classes* (kexue.fm/archives/9158), eq.
    (eq-nm-multiclass-attempt-l3):
    :math:`l_3=\sum_j\log\bigl(1+\sum_i t_{ij}\,e^{\bar s_i-s_{ij}}\bigr)`,
    :math:`\bar s_i=\frac1m\sum_j s_{ij}`. Shapes, masking and validation as in
    :func:`nm_loss_truncated`. With hard labels it only asks the target logit to beat the
    row *mean*, so it can be near 0 with the wrong arg-max (the chapter's failure case).
    """
    _kl_nm_check_nm(S, T)
    cd = _work_dtype(S.dtype)
    s, t = S.to(cd), T.to(cd)
    return _kl_nm_log1p_sum(s.mean(dim=-1, keepdim=True) - s, t).to(S.dtype)


# ---------------------------------------------------------------------------------------
# Class imbalance: focal loss, logit adjustment (7708); accuracy objectives (9098)
# ---------------------------------------------------------------------------------------
def _ci_check_common(logits: Tensor, reduction: str) -> torch.dtype:
    """Validate ``logits`` and ``reduction``; return the dtype to compute in."""
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.numel() == 0:
        raise ValueError(f"logits is empty (shape {tuple(logits.shape)})")
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite (found NaN or inf)")
    _check_reduction(reduction)
    return _work_dtype(logits.dtype)


def _ci_check_class_target(logits: Tensor, target: Tensor) -> None:
    """``logits [..., C]`` (C >= 2) with integer class indices ``target [...]``."""
    if logits.dim() < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have a class dimension of size >= 2, got {tuple(logits.shape)}")
    if not isinstance(target, Tensor) or target.is_floating_point() or target.dtype == torch.bool:
        raise ValueError("target must be an integer tensor of class indices")
    if target.shape != logits.shape[:-1]:
        raise ValueError(
            f"target shape {tuple(target.shape)} must equal logits.shape[:-1] = "
            f"{tuple(logits.shape[:-1])}"
        )
    if ((target < 0) | (target >= logits.shape[-1])).any():
        raise ValueError(f"target values must lie in [0, {logits.shape[-1]})")


def _ci_check_binary_target(logits: Tensor, target: Tensor) -> None:
    """Binary labels in {0, 1}, same shape as ``logits``."""
    if not isinstance(target, Tensor):
        raise ValueError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.shape != logits.shape:
        raise ValueError(
            f"target shape {tuple(target.shape)} must equal logits shape {tuple(logits.shape)}"
        )
    if not ((target == 0) | (target == 1)).all():
        raise ValueError("target must contain only 0 and 1")


def smooth_accuracy_binary(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    r"""Smoothed binary accuracy :math:`y\,\sigma(z) + (1-y)\,\sigma(-z)` (a score, not a loss).

    Chapter *Class imbalance: re-weighting vs modified losses*, eq. (eq-class-imbalance-acc):
    the hard prediction :math:`\mathbb 1[z>0]` replaced by :math:`p=\sigma(z)`. Its logit
    gradient for a positive is :math:`p(1-p)`, which vanishes on badly wrong samples.
    ``target`` holds 0/1 labels with the shape of ``logits``.
    """
    work = _ci_check_common(logits, reduction)
    _ci_check_binary_target(logits, target)
    z = logits.to(work)
    y = target.to(work)
    acc = y * torch.sigmoid(z) + (1 - y) * torch.sigmoid(-z)
    return _reduce(acc, reduction, logits.dtype)


def smooth_f1_binary(logits: Tensor, target: Tensor) -> Tensor:
    r"""Smoothed F1 :math:`2\sum_i y_i p_i / \sum_i (y_i + p_i)` over all elements, :math:`p=\sigma(z)`.

    Chapter *Class imbalance*, eq. (eq-class-imbalance-f1). A set-level score (no
    ``reduction``). Returns 0 when the denominator underflows to 0 (no positives and all
    :math:`p` rounded to 0).
    """
    work = _ci_check_common(logits, "mean")
    _ci_check_binary_target(logits, target)
    p = torch.sigmoid(logits.to(work))
    y = target.to(work)
    den = (y + p).sum()
    tiny = torch.finfo(work).tiny
    return (2 * (y * p).sum() / den.clamp_min(tiny)).to(logits.dtype)


def f1_weighted_bce(
    logits: Tensor, target: Tensor, reduction: str = "mean", *, f1: float | Tensor | None = None
) -> Tensor:
    r"""BCE re-weighted by the current smoothed F1: positives :math:`1-F_1/2`, negatives :math:`F_1/2`.

    Chapter *Class imbalance*, eq. (eq-class-imbalance-f1-bce):
    :math:`-y(1-\tfrac12F_1)\log\sigma(z)-(1-y)\tfrac12F_1\log\sigma(-z)` with :math:`F_1`
    held constant (computed from the batch under ``no_grad`` unless given as ``f1``). Its
    gradient is the smooth-F1 gradient with the rule :math:`\nabla p\to\nabla\log p`
    applied per sample.
    """
    work = _ci_check_common(logits, reduction)
    _ci_check_binary_target(logits, target)
    if f1 is None:
        with torch.no_grad():
            f1 = smooth_f1_binary(logits, target).to(work)
    else:
        f1 = torch.as_tensor(f1, dtype=work, device=logits.device).detach()
        if f1.numel() != 1 or not (0 <= float(f1) <= 1):
            raise ValueError(f"f1 must be a scalar in [0, 1], got {f1}")
    z = logits.to(work)
    y = target.to(work)
    half = f1 / 2
    logsig = torch.nn.functional.logsigmoid
    loss = -(y * (1 - half) * logsig(z) + (1 - y) * half * logsig(-z))
    return _reduce(loss, reduction, logits.dtype)


def focal_loss(logits: Tensor, target: Tensor, gamma: float, reduction: str = "mean") -> Tensor:
    r"""Focal loss :math:`-(1-p_t)^\gamma\log p_t` (Lin et al. 2017); ``gamma = 0`` is CE.

    Chapter *Class imbalance*, eq. (eq-class-imbalance-focal): its logit gradient is CE's
    gradient times the non-negative weight :math:`(1-p)^\gamma[1-\gamma p\log p/(1-p)]`.

    Two forms, chosen by ``target``:

    * integer class indices ``target [...]`` with ``logits [..., C]``: softmax form,
      :math:`p_t = \mathrm{softmax}(z)_t`;
    * 0/1 labels with the shape of ``logits`` (any dtype): sigmoid form,
      :math:`p_t = \sigma(\pm z)` (the softmax form with logits :math:`(0, z)`).

    Stable for any finite logits: :math:`\log p_t` and :math:`\log(1-p_t)` are both taken
    from logsumexp differences (never ``1 - p``), so the weight is exact even when
    :math:`p_t` rounds to 1. Half-precision inputs are computed in float32 and returned in
    their own dtype.
    """
    work = _ci_check_common(logits, reduction)
    if not (isinstance(gamma, int | float) and math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
    z = logits.to(work)
    if not (isinstance(target, Tensor) and target.shape == logits.shape):
        _ci_check_class_target(logits, target)
        t = target.unsqueeze(-1)
        lse = torch.logsumexp(z, dim=-1, keepdim=True)
        log_pt = (z.gather(-1, t) - lse).squeeze(-1)
        own = torch.nn.functional.one_hot(target, z.shape[-1]).bool()
        others = z.masked_fill(own, -math.inf)
        log_1m_pt = (torch.logsumexp(others, dim=-1, keepdim=True) - lse).squeeze(-1)
    else:
        _ci_check_binary_target(logits, target)
        s = 2 * target.to(work) - 1
        log_pt = torch.nn.functional.logsigmoid(s * z)
        log_1m_pt = torch.nn.functional.logsigmoid(-s * z)
    loss = -torch.exp(gamma * log_1m_pt) * log_pt
    return _reduce(loss, reduction, logits.dtype)


def logit_adjusted_ce(
    logits: Tensor,
    target: Tensor,
    log_prior: Tensor,
    tau: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    r"""Logit-adjusted cross-entropy :math:`-\log\mathrm{softmax}(z + \tau\log\pi)_y` (Menon et al.).

    Chapter *Class imbalance*, eq. (eq-class-imbalance-la). **Sign convention:** the
    *training* loss adds :math:`+\tau\log\pi_i` to every logit (rare classes get a negative
    offset, so they must win by the margin :math:`\tau\log(\pi_i/\pi_y)`); at *inference*
    predict with the raw ``logits``. (The equivalent post-hoc form trains plain CE and
    predicts with ``logits - tau * log_prior``; doing both double-counts the prior.)

    ``logits [..., C]``, integer ``target [...]``, ``log_prior [C]`` finite (it need not be
    normalised: a constant shift cancels in the softmax). ``tau >= 0``; ``tau = 0`` is CE.
    """
    work = _ci_check_common(logits, reduction)
    _ci_check_class_target(logits, target)
    if not isinstance(log_prior, Tensor):
        log_prior = torch.as_tensor(log_prior)
    if log_prior.shape != logits.shape[-1:]:
        raise ValueError(
            f"log_prior must have shape ({logits.shape[-1]},), got {tuple(log_prior.shape)}"
        )
    if not torch.isfinite(log_prior).all():
        raise ValueError("log_prior must be finite (a class with prior 0 has log_prior -inf)")
    if not (isinstance(tau, int | float) and math.isfinite(tau) and tau >= 0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    z = logits.to(work) + tau * log_prior.to(dtype=work, device=logits.device)
    c = z.shape[-1]
    loss = torch.nn.functional.cross_entropy(
        z.reshape(-1, c), target.reshape(-1), reduction="none"
    )
    return _reduce(loss.reshape(target.shape), reduction, logits.dtype)


def balanced_accuracy(logits: Tensor, target: Tensor) -> Tensor:
    r"""Mean over classes of the per-class recall of ``argmax(logits, -1)`` (float64 scalar).

    Chapter *Class imbalance*: the metric logit adjustment targets. Classes absent from
    ``target`` are left out of the mean.
    """
    _ci_check_common(logits, "mean")
    _ci_check_class_target(logits, target)
    pred = logits.argmax(dim=-1).reshape(-1)
    t = target.reshape(-1)
    c = logits.shape[-1]
    hits = torch.bincount(t[pred == t], minlength=c).double()
    counts = torch.bincount(t, minlength=c).double()
    present = counts > 0
    return (hits[present] / counts[present]).mean()


def expected_accuracy_loss(
    logits: Tensor,
    target: Tensor,
    noise: str = "normal",
    scale: float = 1.0,
    nodes: int = 64,
    reduction: str = "mean",
) -> Tensor:
    r"""EXACT's loss :math:`-p(y\mid x)`, with :math:`p(y\mid x)=P(y=\arg\max_i[z_i/s+\varepsilon_i])`.

    Chapter *Training accuracy directly: EXACT*, eq. (eq-train-your-accuracy-exact): minus
    the expected accuracy of the perturb-and-argmax classifier (Karpukhin et al. 2022).

    * ``noise="gumbel"``: :math:`p = \mathrm{softmax}(z/s)_y` exactly (Gumbel-max);
    * ``noise="normal"`` (EXACT): :math:`p=\int\varphi(t)\prod_{i\ne y}\Phi(t+(z_y-z_i)/s)\,dt`,
      by ``nodes``-point Gauss–Hermite quadrature in the log domain (``log_ndtr``), so it is
      finite for any finite logits; absolute error well below 1e-10 for ``nodes=64``
      and :math:`|z_y-z_i|/s\le 8` (see the tests).

    ``s = scale`` is the noise temperature. ``logits [..., C]``, integer ``target [...]``.
    The returned loss is :math:`-p` (EXACT's code uses :math:`1-p`: same gradient).
    """
    work = _ci_check_common(logits, reduction)
    _ci_check_class_target(logits, target)
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    z = logits.to(work) / scale
    t = target.unsqueeze(-1)
    if noise == "gumbel":
        p = torch.softmax(z, dim=-1).gather(-1, t).squeeze(-1)
    elif noise == "normal":
        if not (isinstance(nodes, int) and nodes >= 2):
            raise ValueError(f"nodes must be an integer >= 2, got {nodes!r}")
        import numpy as np

        tk, wk = np.polynomial.hermite_e.hermegauss(nodes)
        tk = torch.as_tensor(tk, dtype=work, device=logits.device)
        logw = torch.as_tensor(np.log(wk / math.sqrt(2 * math.pi)), dtype=work, device=logits.device)
        d = z.gather(-1, t) - z  # [..., C]: margins of the target over each class
        lcdf = torch.special.log_ndtr(tk + d.unsqueeze(-1))  # [..., C, K]
        own = torch.nn.functional.one_hot(target, z.shape[-1]).bool().unsqueeze(-1)
        logint = lcdf.masked_fill(own, 0.0).sum(dim=-2)  # [..., K]
        p = torch.exp(torch.logsumexp(logint + logw, dim=-1))
    else:
        raise ValueError(f"noise must be 'normal' or 'gumbel', got {noise!r}")
    return _reduce(-p, reduction, logits.dtype)


# ---------------------------------------------------------------------------------------
# TaiLr (9526) and InfoNCE / FlatNCE (8586)
# ---------------------------------------------------------------------------------------
def _tn_unit_float(value, name: str) -> float:
    """``value`` as a Python float in [0, 1], or ``ValueError`` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a real number in [0, 1], got {value!r}") from None
    if not (0.0 <= v <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {v}")
    return v


def _tn_scores_and_index(
    x: Tensor, index: Tensor, xname: str, iname: str, min_k: int
) -> tuple[Tensor, Tensor]:
    """Validate ``x [..., K]`` and ``index [...]`` (an integer class index per row).

    Returns ``x`` upcast to float32 if it is float16/bfloat16 (the callers compute in at
    least float32 and cast the result back) and ``index`` as int64.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{xname} must be a floating-point torch.Tensor, got {got}")
    if x.dim() < 1 or x.shape[-1] < min_k:
        why = " (the positive and at least one negative)" if min_k == 2 else ""
        raise ValueError(
            f"{xname} must have at least {min_k} entries along its last dimension{why}, "
            f"got shape {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{xname} must be finite (it contains NaN or ±inf)")
    if not isinstance(index, Tensor) or index.is_floating_point() or index.is_complex():
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise ValueError(f"{iname} must be an integer torch.Tensor, got {got}")
    if index.dtype == torch.bool:
        raise ValueError(f"{iname} must be an integer torch.Tensor, got torch.bool")
    if index.shape != x.shape[:-1]:
        raise ValueError(
            f"{iname} must have shape {tuple(x.shape[:-1])} (that of {xname} without its "
            f"last dimension), got {tuple(index.shape)}"
        )
    k = x.shape[-1]
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= k):
        raise ValueError(f"{iname} must lie in [0, {k - 1}], got values outside")
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return x, index.long()


def _tailr_log_mix(logp: Tensor, gamma: float) -> Tensor:
    r""":math:`\log(\gamma + (1-\gamma)p)` from :math:`\log p`, accurate for every ``gamma``.

    With :math:`u = (1-\gamma)(1-p)` the argument is :math:`1-u`: for :math:`u \le 1/2` use
    ``log1p(-u)`` (no cancellation as ``gamma -> 1`` or ``p -> 1``; ``1 - p`` is
    ``-expm1(log p)``); otherwise the argument is below 1/2 and
    ``logaddexp(log gamma, log(1-gamma) + log p)`` is accurate (and finite as ``p -> 0``).
    """
    if gamma == 0.0:
        return logp
    if gamma == 1.0:
        return torch.zeros_like(logp)
    u = (1.0 - gamma) * -torch.expm1(logp)
    near_one = u <= 0.5
    a = torch.log1p(-torch.where(near_one, u, torch.zeros_like(u)))
    b = torch.logaddexp(torch.full_like(logp, math.log(gamma)), math.log1p(-gamma) + logp)
    return torch.where(near_one, a, b)


def _tailr_weight_from_logp(logp: Tensor, gamma: float, min_weight: float) -> Tensor:
    with torch.no_grad():
        return torch.exp(logp - _tailr_log_mix(logp, gamma)).clamp(min=min_weight, max=1.0)


def tailr_weight(logits: Tensor, target: Tensor, gamma: float, min_weight: float = 0.0) -> Tensor:
    r"""TaiLr's per-sample weight :math:`\max\bigl(b, w_\gamma(p)\bigr)`, detached.

    Chapter *Over-confidence of cross-entropy: TaiLr* (kexue.fm/archives/9526), eq.
    (eq-tailr-overconfidence-grad): :math:`w_\gamma(p) = p / (\gamma + (1-\gamma)p) \in [p, 1]` with
    :math:`p = \mathrm{softmax}(\text{logits})_{\text{target}}`, floored at ``min_weight``
    :math:`= b`. ``logits [..., C]`` (classes last), ``target [...]``; returns ``[...]``
    without gradient, dtype of ``logits``. ``gamma = 0`` gives 1 (cross-entropy),
    ``gamma = 1`` gives ``p``.
    """
    gamma = _tn_unit_float(gamma, "gamma")
    min_weight = _tn_unit_float(min_weight, "min_weight")
    work, target = _tn_scores_and_index(logits, target, "logits", "target", 1)
    logp = torch.log_softmax(work, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return _tailr_weight_from_logp(logp, gamma, min_weight).to(logits.dtype)


def tailr_loss(
    logits: Tensor,
    target: Tensor,
    gamma: float,
    min_weight: float = 0.0,
    mode: str = "closed",
    reduction: str = "mean",
) -> Tensor:
    r"""TaiLr loss of Ji et al. (2023), in closed form or as a stop-gradient weighted NLL.

    Chapter *Over-confidence of cross-entropy: TaiLr* (kexue.fm/archives/9526).

    * ``mode="closed"``, eq. (eq-tailr-overconfidence-loss):
      :math:`\mathcal L_\gamma = -\log\bigl(\gamma + (1-\gamma)p\bigr)/(1-\gamma)`, with
      :math:`p = \mathrm{softmax}(\text{logits})_{\text{target}}`. ``gamma = 0`` is exactly
      cross-entropy; ``gamma = 1`` is the limit :math:`1 - p` (eq.
      (eq-tailr-overconfidence-limit)); values of ``gamma`` close to 1 are computed without
      cancellation (no division ``0/0``). Its gradient is :math:`w_\gamma(p)` times that of
      cross-entropy (eq. (eq-tailr-overconfidence-grad)).
      ``min_weight`` must be 0 here (a floored weight has no simple primitive).
    * ``mode="weighted"`` (the chapter's section 4): :math:`-\mathrm{sg}[\max(b, w_\gamma(p))]\log p`
      with :math:`b` = ``min_weight`` (the form the paper's code trains with). Same gradient
      as the closed form when ``min_weight = 0``; its *value* is not the closed form's.

    ``logits [..., C]`` (classes last), ``target [...]`` integer in ``[0, C)``;
    ``reduction`` is ``"none" | "mean" | "sum"`` over the leading dimensions. float16 and
    bfloat16 inputs are computed in float32 and the result is cast back.
    """
    gamma = _tn_unit_float(gamma, "gamma")
    min_weight = _tn_unit_float(min_weight, "min_weight")
    if mode not in ("closed", "weighted"):
        raise ValueError(f"mode must be 'closed' or 'weighted', got {mode!r}")
    if mode == "closed" and min_weight != 0.0:
        raise ValueError("min_weight must be 0 with mode='closed' (use mode='weighted')")
    _check_reduction(reduction)
    work, target = _tn_scores_and_index(logits, target, "logits", "target", 1)
    logp = torch.log_softmax(work, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    if mode == "weighted":
        loss = -_tailr_weight_from_logp(logp, gamma, min_weight) * logp
    elif gamma == 1.0:
        loss = -torch.expm1(logp)
    else:
        loss = -_tailr_log_mix(logp, gamma) / (1.0 - gamma)
    return _reduce(loss, reduction, logits.dtype)


def expected_calibration_error(
    probs: Tensor, target: Tensor, n_bins: int = 15, dim: int = -1
) -> Tensor:
    r"""Expected calibration error with ``n_bins`` equal-width confidence bins.

    Chapter *Over-confidence of cross-entropy: TaiLr*, eq. (eq-tailr-overconfidence-ece):
    :math:`\mathrm{ECE} = \sum_b \frac{|B_b|}{n}\,\bigl|\mathrm{acc}(B_b) -
    \mathrm{conf}(B_b)\bigr|`, where the confidence is :math:`\max_c p_c` and bin
    :math:`b` holds confidences in :math:`((b-1)/B, b/B]`. ``probs [..., C]`` along ``dim``
    (rows summing to 1), ``target [...]``; returns a 0-d tensor in ``[0, 1]``.
    """
    if not isinstance(probs, Tensor) or not probs.is_floating_point():
        raise ValueError("probs must be a floating-point torch.Tensor")
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    probs = probs.movedim(dim, -1)
    work, target = _tn_scores_and_index(probs, target, "probs", "target", 1)
    if (work < 0).any() or (work > 1).any():
        raise ValueError("probs must lie in [0, 1]")
    if ((work.sum(-1) - 1).abs() > 1e-3).any():
        raise ValueError(f"probs must sum to 1 along dim={dim}")
    if target.numel() == 0:
        raise ValueError("target is empty: the ECE of no samples is undefined")
    conf, pred = work.reshape(-1, work.shape[-1]).max(dim=-1)
    correct = (pred == target.reshape(-1)).to(conf.dtype)
    bins = torch.clamp(torch.ceil(conf * n_bins).long() - 1, 0, n_bins - 1)
    count = conf.new_zeros(n_bins).index_add_(0, bins, torch.ones_like(conf))
    gap = conf.new_zeros(n_bins).index_add_(0, bins, correct - conf)
    return (gap.abs().sum() / count.sum()).to(probs.dtype)


def _nce_log_xi(scores: Tensor, index: Tensor) -> Tensor:
    r""":math:`\log\xi = \mathrm{lse}_{i\ne t}(s_i - s_t)` along the last dimension."""
    pos = scores.gather(-1, index.unsqueeze(-1))
    is_pos = torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, index.unsqueeze(-1), True)
    return torch.logsumexp((scores - pos).masked_fill(is_pos, float("-inf")), dim=-1)


def info_nce(scores: Tensor, positive_index: Tensor, reduction: str = "mean") -> Tensor:
    r"""InfoNCE (cross-entropy over candidates) computed in the log domain.

    Chapter *FlatNCE and floating-point error* (kexue.fm/archives/8586), eq. (eq-flatnce-ce):
    :math:`-\log\bigl(e^{s_t}/\sum_i e^{s_i}\bigr) = \log(1+\xi)` with
    :math:`\xi = \sum_{i\ne t} e^{s_i - s_t}`, evaluated as
    ``logaddexp(log xi, 0)`` from :math:`\log\xi = \mathrm{lse}_{i\ne t}(s_i - s_t)`. Unlike
    ``lse(s) - s_t`` it never forms :math:`1 + \xi`, so a small :math:`\xi` (a well-separated
    positive) keeps its relative accuracy in the value and in the gradient.

    ``scores [..., K]`` (candidates last, ``K >= 2``: at least one negative),
    ``positive_index [...]`` integer in ``[0, K)``; ``reduction`` ``"none" | "mean" | "sum"``.
    float16/bfloat16 are computed in float32 and cast back.
    """
    _check_reduction(reduction)
    work, index = _tn_scores_and_index(scores, positive_index, "scores", "positive_index", 2)
    log_xi = _nce_log_xi(work, index)
    return _reduce(torch.logaddexp(log_xi, torch.zeros_like(log_xi)), reduction, scores.dtype)


def flatnce(scores: Tensor, positive_index: Tensor, reduction: str = "mean") -> Tensor:
    r"""FlatNCE of Chen et al. (2021) in Su's primitive form :math:`\log\xi`.

    Chapter *FlatNCE and floating-point error* (kexue.fm/archives/8586), eq.
    (eq-flatnce-primitive): :math:`\log\sum_{i\ne t} e^{s_i - s_t} =
    \mathrm{lse}_{i\ne t}(s_i) - s_t`, whose gradient is that of the paper's
    :math:`\xi/\mathrm{sg}(\xi)` (value 1; eq. (eq-flatnce-sg)) and, per sample,
    :math:`(1+\xi)/\xi` times InfoNCE's (eq. (eq-flatnce-reweight)). It can be negative and is
    unbounded below; computed in the log domain, it stays accurate for any :math:`\xi`.

    ``scores [..., K]`` (candidates last, ``K >= 2``: the log-sum over no negatives would be
    :math:`-\infty`), ``positive_index [...]`` integer in ``[0, K)``; ``reduction``
    ``"none" | "mean" | "sum"``. float16/bfloat16 are computed in float32 and cast back.
    """
    _check_reduction(reduction)
    work, index = _tn_scores_and_index(scores, positive_index, "scores", "positive_index", 2)
    return _reduce(_nce_log_xi(work, index), reduction, scores.dtype)
