"""Multi-label softmax + cross-entropy (ZLPR): hard, soft-label and sparse forms.

Chapters *Multi-label softmax + CE* (kexue.fm/archives/7359) and *Soft labels* (9064). The
dense losses make one blocked pass over the logits (exponentials, row sums, value checks; the
temporaries stay in cache) and write the closed-form gradient over the saved exponentials: about
the cost of BCE-with-logits from ~10^6 entries; on small inputs a fixed per-call cost (checks,
~25 small torch ops, an autograd node) dominates (``benchmarks/multilabel_ce.py``). An exact
max-shifted form takes over where an exponential could overflow: finite for any finite input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import _check_logits, _check_mask, _check_targets_shape, _no_shift_needed

__all__ = ["multilabel_ce", "soft_multilabel_ce", "sparse_multilabel_ce"]

_BLOCK = 1 << 20  # entries per block of rows (4 MiB of float32) in the fused passes


def _blocks(x: Tensor) -> tuple[list[slice | None], Tensor]:
    """Slices of about ``_BLOCK`` entries (>= 1 row) over the rows of 2-D ``x`` (``[None]``: one
    block of every row, used without views: the per-call cost of small inputs); a scratch block."""
    (rows, cols), step = x.shape, max(1, _BLOCK // x.shape[1])
    if step >= rows:  # one block (or none, without rows)
        return ([None] if rows else []), torch.empty_like(x)
    return [slice(i, min(i + step, rows)) for i in range(0, rows, step)], x.new_empty(step, cols)


def _part(k: slice | None, w: Tensor, *xs: Tensor | None) -> tuple:
    """The first rows of scratch ``w`` and rows ``k`` of each of ``xs`` (``None`` stays)."""
    return (w, *xs) if k is None else (w[: k.stop - k.start], *(None if x is None else x[k] for x in xs))


def _as_work(x: Tensor, dtype: torch.dtype, buf: Tensor | None) -> Tensor:
    """Block ``x`` in ``dtype``, converted into ``buf`` if it is not already (a bool block
    through its 0/1 bytes: several times faster than torch's bool-to-float copy)."""
    if x.dtype == dtype:
        return x
    return (buf if buf.shape[0] == x.shape[0] else buf[: x.shape[0]]).copy_(x.view(torch.uint8) if x.dtype == torch.bool else x)


def _aminmax(x: Tensor) -> list[float]:
    """``[min, max]`` of ``x`` (non-empty) in one pass (one op for a check: per-row extremes
    reduced again cost four); NaN gives NaN for both."""
    return [float(v) for v in torch.aminmax(x)]


def _rows(x: Tensor, C: int, dtype: torch.dtype | None = None) -> Tensor:
    """``x`` (in ``dtype``) as 2-D rows of ``C``, without a no-op ``to`` or ``reshape`` (each
    costs a dispatch and the reshape an autograd node: the per-call cost of small inputs)."""
    x = x if dtype is None or x.dtype == dtype else x.to(dtype)
    return x if x.dim() == 2 else x.reshape(-1, C)


def _reduce(loss: Tensor, logits: Tensor, reduction: str) -> Tensor:
    """Per-row ``loss`` (or 0-d: reduced already) shaped ``logits.shape[:-1]``, reduced, cast."""
    return checks.reduce(loss.reshape(logits.shape[:-1]) if loss.dim() and logits.dim() != 2 else loss,
                         reduction, logits.dtype)


def _check_dense(logits: Tensor, targets, mask, reduction: str) -> Tensor | None:
    """Type/shape checks of the dense losses (values: in the fused pass); the mask as rows."""
    checks.floating(logits, "logits")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits needs a non-empty label dimension (last), got shape {tuple(logits.shape)}")
    checks.reduction(reduction)
    checks.tensor(targets, "targets")
    _check_targets_shape(targets, logits)
    valid = _check_mask(mask, logits.shape)
    return None if valid is None else _rows(valid, logits.shape[-1])


def _max_abs(ext: list[list[float]]) -> float:
    """``max|logits|`` from per-block ``[min, max, ...]``; NaN or ``+inf`` raise."""
    if not all(b[1] < float("inf") for b in ext):  # NaN fails too (and gives a NaN min)
        raise ValueError("logits contains NaN or +inf")
    return max((max(-b[0], b[1]) for b in ext), default=0.0)


def _lse_with_zero(x: Tensor) -> Tensor:
    r""":math:`\log(1 + \sum_i e^{x_i})` over the last dim; ``-inf`` entries are absent. The
    appended zero is the threshold class: the shift ``m = max(0, max x)`` is finite even when
    every entry is ``-inf`` (then the result is exactly 0 with zero gradient)."""
    if x.shape[-1] == 0:
        return x.sum(dim=-1)  # log(1 + 0), keeping the graph
    m = x.detach().amax(dim=-1, keepdim=True).clamp_min(0)
    return m.squeeze(-1) + torch.log(torch.exp(-m.squeeze(-1)) + torch.exp(x - m).sum(dim=-1))


def multilabel_ce(logits: Tensor, targets: Tensor, mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
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
    ``log(finfo.max / C)``): then one fused pass (which also checks the logits and targets)
    and a closed-form gradient are used (see the module's note on cost). Beyond that, each
    log-sum is computed with masked ``-inf`` entries and a max-shift (never ``0 * inf``), so
    the loss is finite for any finite logits in any dtype; float16/bfloat16 are computed in
    float32 and cast back.
    """
    valid = _check_dense(logits, targets, mask, reduction)
    C, work = logits.shape[-1], checks.work_dtype(logits.dtype)
    s, t = _rows(logits, C, work), _rows(targets, C)
    with torch.no_grad():
        e, sums, ext = _zlpr_pass(s, t, valid, t.dtype != torch.bool)
    max_abs = _max_abs(ext)
    if not all(b[2:] == [0.0, 0.0] for b in ext if len(b) > 2):  # NaN differs too
        raise ValueError("targets must hold only 0 and 1 (use soft_multilabel_ce for soft labels)")
    if not _no_shift_needed(max_abs, work, C):
        del e
        return _reduce(_MultilabelCE.apply(s, t != 0, valid), logits, reduction)
    return _reduce(_ZLPRFused.apply(s, t, valid, e, sums, reduction), logits, "none")  # reduced inside


def _zlpr_pass(s: Tensor, t: Tensor, valid: Tensor | None, check: bool):
    r"""The fused forward of eq. (eq-multilabel-softmax-ce-zlpr) over blocks of rows of ``s``.

    Returns :math:`e = \exp(s(1-2t))` (:math:`e^{-s}` on a positive, :math:`e^{s}` on a
    negative, 0 where masked); the row sums :math:`S_+ = \sum t e` and :math:`S_- = \sum (e - t
    e)` (exact for 0/1 targets: products by 0 or 1); per block ``[min, max]`` of ``s`` and, if
    ``check``, of :math:`q = t - t^2`, both 0 exactly when every target is 0 or 1 (any other
    value, NaN and infinities included, gives :math:`q \ne 0`). ``t``, ``valid`` of another
    dtype are converted block by block."""
    (blocks, w), dt = _blocks(s), s.dtype
    e, sums, ext = torch.empty_like(s), s.new_empty(2, s.shape[0]), []
    tb, vb = (None if t.dtype == dt else torch.empty_like(w)), (None if valid is None else torch.empty_like(w))
    for k in blocks:
        wk, sk, ek, tk, vk, pk, nk = _part(k, w, s, e, t, valid, *sums.unbind())
        tk = _as_work(tk, dt, tb)
        ext.append(_aminmax(sk) + (_aminmax(torch.addcmul(tk, tk, tk, value=-1, out=wk)) if check else []))
        torch.addcmul(sk, sk, tk, value=-2, out=ek).exp_()
        if vk is not None:  # a product by 0/1: e is finite whenever the fused result is used
            ek.mul_(_as_work(vk, dt, vb))
        torch.sum(torch.mul(tk, ek, out=wk), dim=-1, out=pk)
        torch.sum(torch.sub(ek, wk, out=wk), dim=-1, out=nk)
    return e, sums, ext


class _Fused(torch.autograd.Function):
    r"""A loss :math:`\log(1+S_+) + \log(1+S_-)` from the sums ``[S_+, S_-]`` of a fused pass,
    for ``max|s|`` below overflow, reduced here (one autograd node less: the per-call cost of
    small inputs). The pass's exponentials ``e`` (the only full-size buffer) are kept on ``ctx``
    and the gradient is written over them; a second backward through a retained graph
    recomputes them; ``create_graph=True`` differentiates the composed form instead."""

    @staticmethod
    def forward(ctx, s, t, valid, e, sums, reduction):
        ctx.e, ctx.valid, ctx.reduction = e, valid, reduction
        ctx.save_for_backward(s, t, sums)
        return checks.reduce(torch.log1p(sums).sum(0), reduction)

    @staticmethod
    def _per_row(ctx, grad_out: Tensor, sums: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        r"""Each row's upstream gradient ``g`` (0-d if reduced: ``grad / N`` for a mean, as
        ``mean``'s backward) and :math:`g / (1 + S_\pm)` as columns."""
        g = grad_out / sums.shape[1] if ctx.reduction == "mean" else grad_out
        return g, *(g / (1 + sums)).unsqueeze(-1).unbind()


class _ZLPRFused(_Fused):
    r"""Eq. (eq-multilabel-softmax-ce-zlpr): :math:`\partial\mathcal L/\partial s = e c_-` on a
    negative and :math:`-e c_+` on a positive, :math:`c_\pm = g/(1+S_\pm)`: with :math:`w = t e`,
    :math:`(e - w) c_- - w c_+`, one of whose terms is an exact 0 on every entry, so each entry
    is a single rounded product (no cancellation between the classes)."""

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        s, t, sums = ctx.saved_tensors
        g, c_pos, c_neg = _Fused._per_row(ctx, grad_out, sums)
        if torch.is_grad_enabled():
            return _composed_grads(s, t.to(s.dtype), ctx.valid, g.expand(s.shape[0]), True, False)[0], *[None] * 5
        e, ctx.e = (_zlpr_pass(s, t, ctx.valid, False)[0] if ctx.e is None else ctx.e), None  # retained graph
        blocks, w = _blocks(e)
        for k in blocks:
            wk, ek, tk, cn, cp = _part(k, w, e, t, c_neg, c_pos)
            torch.mul(ek, _as_work(tk, e.dtype, wk), out=wk)
            ek.sub_(wk).mul_(cn).addcmul_(wk, cp, value=-1)
        return e, *[None] * 5


class _MultilabelCE(torch.autograd.Function):
    r"""Eq. (eq-multilabel-softmax-ce-zlpr) with max-shifts, for any finite logits: forward keeps
    :math:`e^{s_i-m_-}` on the negatives and :math:`e^{-s_j-m_+}` on the positives (zeros
    elsewhere; :math:`m_\pm \ge 0` the group max-shifts); the gradient is
    :math:`e^{s_i}/(1+\sum_{\rm neg} e^{s})` on a negative and :math:`-e^{-s_j}/(1+\sum_{\rm
    pos} e^{-s})` on a positive: those two tensors over their normalisers."""

    @staticmethod
    def forward(ctx, s: Tensor, pos: Tensor, valid: Tensor | None) -> Tensor:
        inf = float("inf")
        e_neg = s.masked_fill(pos, -inf)  # negatives: s_i; positives: -inf
        e_pos = torch.where(pos, s, inf)  # positives: s_j; negatives: +inf
        if valid is not None:
            e_neg.masked_fill_(~valid, -inf), e_pos.masked_fill_(~valid, inf)
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
        return (e_neg * (g / d_neg)).addcmul_(e_pos, g / d_pos, value=-1), None, None


def soft_multilabel_ce(logits: Tensor, targets: Tensor, mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
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
    valid = _check_dense(logits, targets, mask, reduction)
    C, work = logits.shape[-1], checks.work_dtype(logits.dtype)
    s, t = _rows(logits, C, work), _rows(targets, C, work)
    with torch.no_grad():
        e, sums, ext = _soft_pass(s, t, valid)
    max_abs = _max_abs(ext)
    if not all(b[2] >= 0 and b[3] <= 1 for b in ext):  # NaN fails both comparisons
        raise ValueError("targets must lie in [0, 1] (and not be NaN)")
    if not _no_shift_needed(max_abs, work, C):
        del e
        return _reduce(_soft_multilabel_ce_composed(s, t, valid), logits, reduction)
    return _reduce(_SoftFused.apply(s, t, valid, e, sums, reduction), logits, "none")  # reduced inside


def _soft_pass(s: Tensor, t: Tensor, valid: Tensor | None):
    r"""The fused forward of eq. (eq-multilabel-soft-labels-loss) over blocks of rows:
    :math:`e = e^{s}` (0 where masked), :math:`S_+ = \sum t e^{-s}`, :math:`S_- = \sum (1-t)
    e^{s}` (zero weights drop terms exactly) and per block ``[min, max]`` of ``s`` and of ``t``."""
    blocks, w = _blocks(s)
    e, sums, ext = torch.empty_like(s), s.new_empty(2, s.shape[0]), []
    vb = None if valid is None else torch.empty_like(w)
    for k in blocks:
        wk, sk, tk, ek, vk, pk, nk = _part(k, w, s, t, e, valid, *sums.unbind())
        ext.append(_aminmax(sk) + _aminmax(tk))
        rk = torch.reciprocal(torch.exp(sk, out=ek), out=wk)
        if vk is not None:  # products by 0/1 (both finite whenever the fused result is used)
            vk = _as_work(vk, s.dtype, vb)
            ek.mul_(vk), rk.mul_(vk)
        torch.sum(rk.mul_(tk), dim=-1, out=pk)
        torch.sum(torch.neg(tk, out=wk).add_(1).mul_(ek), dim=-1, out=nk)  # 1 - t
    return e, sums, ext


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
    return _lse_with_zero(torch.where(neg_sel, s + log_1mt, ninf)) + _lse_with_zero(torch.where(pos_sel, log_t - s, ninf))


def _composed_grads(s, t, valid, grad_out, need_s: bool, need_t: bool):
    """Gradients of the composed loss, with a graph: what the fused Functions hand back when
    asked for ``create_graph=True`` (Hessians, double backward)."""
    with torch.enable_grad():
        loss = _soft_multilabel_ce_composed(s, t, valid)
        wanted = [x for x, need in ((s, need_s), (t, need_t)) if need]
        grads = list(torch.autograd.grad(loss, wanted, grad_out, create_graph=True))
    return (grads.pop(0) if need_s else None), (grads.pop(0) if need_t else None)


class _SoftFused(_Fused):
    r"""Eq. (eq-multilabel-soft-labels-loss) with :math:`r = 1/e = e^{-s}` (0 where masked),
    :math:`a = g/(1+S_+)`, :math:`b = g/(1+S_-)`: :math:`\partial/\partial s = (1-t) e b - t r
    a`, formed as ``lerp`` from :math:`e b` to :math:`-r a` (exactly its end points at :math:`t
    = 0, 1`), and :math:`\partial/\partial t = r a - e b`."""

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        s, t, sums = ctx.saved_tensors
        need_s, need_t = ctx.needs_input_grad[:2]
        g, a, b = _Fused._per_row(ctx, grad_out, sums)
        if torch.is_grad_enabled():
            return *_composed_grads(s, t, ctx.valid, g.expand(s.shape[0]), need_s, need_t), *[None] * 4
        valid = ctx.valid
        e, ctx.e = (_soft_pass(s, t, valid)[0] if ctx.e is None else ctx.e), None  # retained graph
        (blocks, w), grad_t = _blocks(e), (torch.empty_like(e) if need_t else None)
        for k in blocks:
            wk, ek, tk, vk, ak, bk, gk = _part(k, w, e, t, valid, a, b, grad_t)
            rk = torch.reciprocal(ek, out=wk)
            if vk is not None:  # 1/0 = inf where masked: replaced, not multiplied, by 0
                torch.where(vk, rk, e.new_zeros(()), out=rk)
            rk.mul_(ak)
            if need_t:
                torch.addcmul(rk, ek, bk, value=-1, out=gk)
            torch.lerp(ek.mul_(bk), rk.neg_(), tk, out=ek)
        return (e if need_s else None), grad_t, *[None] * 4


def sparse_multilabel_ce(logits: Tensor, positive_index: Tensor, reduction: str = "mean", *,
                         ignore_index: int = -1) -> Tensor:
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
        raise ValueError(f"positive_index must have shape logits.shape[:-1] + (P,) = {tuple(logits.shape[:-1])}"
                         f" + (P,), got {tuple(idx.shape)}")
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
