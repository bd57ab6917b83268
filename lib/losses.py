"""Classification losses: the functions behind the book's "Classification losses" part.

PyTorch functional style: ``logits``/``targets`` tensors, ``reduction="none"|"mean"|"sum"``
over the leading dimensions, dtype preserved, ``ValueError`` naming the argument on bad input.
Sections follow the chapters that use them.
"""

from __future__ import annotations

import torch
from torch import Tensor

# ---------------------------------------------------------------------------------------
# Multi-label softmax + cross-entropy (ZLPR) and its soft-label / sparse forms (7359, 9064)
# ---------------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision inputs are computed in float32 (sums of up to 1e6 exponentials)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _check_logits(logits: Tensor, name: str = "logits") -> None:
    if not isinstance(logits, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty label dimension (last), got shape {tuple(logits.shape)}")
    top = logits.detach().max()  # NaN propagates through max: one pass checks NaN and +inf
    if not bool(top < float("inf")):
        raise ValueError(f"{name} contains NaN or +inf")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_mask(mask: Tensor | None, shape: torch.Size) -> Tensor | None:
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
            f"mask of shape {tuple(mask.shape)} does not broadcast to logits {tuple(shape)}"
        ) from None


def _lse_with_zero(x: Tensor) -> Tensor:
    r""":math:`\log(1 + \sum_i e^{x_i})` over the last dim; ``-inf`` entries are absent.

    The appended zero is the threshold class: the shift ``m = max(0, max x)`` is finite even
    when every entry is ``-inf`` (then the result is exactly 0 with zero gradient).
    """
    if x.shape[-1] == 0:
        return x.sum(dim=-1)  # log(1 + 0), keeping the graph
    m = x.detach().amax(dim=-1, keepdim=True).clamp_min(0)
    return m.squeeze(-1) + torch.log(torch.exp(-m.squeeze(-1)) + torch.exp(x - m).sum(dim=-1))


def _reduce(loss: Tensor, reduction: str, dtype: torch.dtype) -> Tensor:
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss.to(dtype)


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
    dims ("none" keeps them). Each log-sum is computed with masked ``-inf`` entries and a
    max-shift (never ``0 * inf``), so the loss is finite for any finite logits in any dtype;
    float16/bfloat16 are computed in float32 and cast back.
    """
    _check_logits(logits)
    _check_reduction(reduction)
    if not isinstance(targets, Tensor) or targets.shape != logits.shape:
        got = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {got}")
    if targets.dtype == torch.bool:
        pos = targets
    else:
        pos = targets != 0
        if targets.ne(1).logical_and_(pos).any():
            raise ValueError("targets must hold only 0 and 1 (use soft_multilabel_ce for soft labels)")
    valid = _check_mask(mask, logits.shape)
    loss = _MultilabelCE.apply(logits.to(_work_dtype(logits.dtype)), pos, valid)
    return _reduce(loss, reduction, logits.dtype)


class _MultilabelCE(torch.autograd.Function):
    r"""Eq. (eq-multilabel-softmax-ce-zlpr) with its closed-form gradient.

    Forward keeps :math:`e^{s_i-m_-}` on the negatives and :math:`e^{-s_j-m_+}` on the
    positives (zeros elsewhere; :math:`m_\pm \ge 0` the group max-shifts); the gradient is
    :math:`\partial\mathcal L/\partial s_i = e^{s_i}/(1+\sum_{\rm neg} e^{s})` on a negative and
    :math:`-e^{-s_j}/(1+\sum_{\rm pos} e^{-s})` on a positive, i.e. those two tensors over their
    normalisers. Three full-size temporaries in all (the autograd-composed version needs ~10,
    which made it 4x slower than ``binary_cross_entropy_with_logits``).
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
            ctx.save_for_backward(e_neg, e_pos, d_neg, d_pos)
        return (m_neg + d_neg.log() + m_pos + d_pos.log()).squeeze(-1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        e_neg, e_pos, d_neg, d_pos = ctx.saved_tensors
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
    ``mask``, ``reduction`` and dtypes as in :func:`multilabel_ce`.
    """
    _check_logits(logits)
    _check_reduction(reduction)
    if not isinstance(targets, Tensor) or targets.shape != logits.shape:
        got = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__
        raise ValueError(f"targets must have the shape of logits {tuple(logits.shape)}, got {got}")
    work = _work_dtype(logits.dtype)
    t = targets.to(work)
    if not ((t >= 0) & (t <= 1)).all():  # NaN fails both comparisons
        raise ValueError("targets must lie in [0, 1] (and not be NaN)")
    valid = _check_mask(mask, logits.shape)
    s = logits.to(work)
    pos_sel = t > 0 if valid is None else valid & (t > 0)
    neg_sel = t < 1 if valid is None else valid & (t < 1)
    one = torch.ones((), dtype=work, device=t.device)
    log_t = torch.log(torch.where(pos_sel, t, one))  # where-then-log: no log(0) in the graph
    log_1mt = torch.log1p(-torch.where(neg_sel, t, 0 * one))
    ninf = torch.full((), float("-inf"), dtype=work, device=t.device)
    loss = _lse_with_zero(torch.where(neg_sel, s + log_1mt, ninf)) + _lse_with_zero(
        torch.where(pos_sel, log_t - s, ninf)
    )
    return _reduce(loss, reduction, logits.dtype)


def sparse_multilabel_ce(
    logits: Tensor, positive_index: Tensor, reduction: str = "mean", *, ignore_index: int = -1
) -> Tensor:
    r""":func:`multilabel_ce` with the positives given as indices, for huge label spaces.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), eq.
    (eq-multilabel-softmax-ce-zlpr), with targets ``logits.shape[:-1] + (P,)`` integer indices
    into the last dim of ``logits`` (``P`` = most positives in a row; shorter rows are padded
    with ``ignore_index``). No dense target tensor is built: the positive term gathers ``P``
    logits, the negative term is one log-sum over a copy of the logits with the positives
    scattered to ``-inf``. (The subtraction trick :math:`\log(e^{\mathrm{lse(all)}} -
    e^{\mathrm{lse(pos)}})` would avoid the copy but cancels catastrophically once the
    positives carry nearly all the mass, i.e. in a well-trained model.) Equals
    :func:`multilabel_ce` on the corresponding 0/1 targets. Indices must be in ``[0, C)`` and
    distinct within a row.
    """
    _check_logits(logits)
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
    s = logits.to(_work_dtype(logits.dtype))
    ninf = float("-inf")
    safe = torch.where(valid, idx, C).long()  # padding points at an extra, always -inf column
    s_ext = torch.cat([s, s.new_full(s.shape[:-1] + (1,), ninf)], dim=-1)
    pos_term = _lse_with_zero((-s_ext.gather(-1, safe)).masked_fill(~valid, ninf))
    neg_term = _lse_with_zero(s_ext.scatter(-1, safe, ninf))
    return _reduce(neg_term + pos_term, reduction, logits.dtype)



# ---------------------------------------------------------------------------------------
# GlobalPointer symmetric KL (9039) and the n-tasks-of-m-classes attempt (9158)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Class imbalance: focal loss, logit adjustment (7708); accuracy objectives (9098)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# TaiLr (9526) and InfoNCE / FlatNCE (8586)
# ---------------------------------------------------------------------------------------
