"""Procedures as the articles publish them, kept because the chapters show them FAILING.

Do not use these for results: each docstring says how it fails and which function of
``lib.softmax`` to use instead. They live here, apart from the correct versions, so that
nobody mistakes one for the other.

* ``elementary_symmetric_newton`` — Newton's identities lose every digit (chapter 7359);
* ``soft_k_max_iterative`` — Su's 2019 iteration: entries above 1, order reversals (10373);
* ``weighted_softmax_topk`` — the weighted iteration's wrong zero-temperature limit (10373);
* ``grad_topk_recursive`` — the article's GradTopK recursion: NaN for spread inputs (10373).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks
from lib.softmax.topk import _check_topk_args

__all__ = [
    "elementary_symmetric_newton",
    "soft_k_max_iterative",
    "weighted_softmax_topk",
    "grad_topk_recursive",
]


def elementary_symmetric_newton(logits: Tensor, k: int, dim: int = -1) -> Tensor:
    r"""``e_j(exp(logits))`` for ``j = 0..k`` by Newton's identities — unstable, for comparison.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), eq.
    (eq-multilabel-softmax-ce-newton): :math:`j\,e_j = \sum_{p=1}^{j} (-1)^{p-1} e_{j-p} S_p`
    with power sums :math:`S_p = \sum_i e^{p s_i}`. The alternating signs cancel
    catastrophically when the logits are spread out or ``k`` is large; the chapter measures
    where it loses every digit. Works in linear space in the input dtype (so it also
    overflows). Use :func:`log_elementary_symmetric` for anything but that demonstration.
    """
    checks.no_nan(logits, "logits")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative int, got {k!r}")
    x = logits.movedim(dim, -1)
    if x.shape[-1] == 0:
        raise ValueError(f"logits has an empty dimension dim={dim}")
    power_sums = [None] + [torch.exp(p * x).sum(dim=-1) for p in range(1, k + 1)]
    e = [torch.ones_like(x[..., 0])]
    for j in range(1, k + 1):
        acc = torch.zeros_like(e[0])
        for p in range(1, j + 1):
            acc = acc + (-1) ** (p - 1) * e[j - p] * power_sums[p]
        e.append(acc / j)
    return torch.stack(e, dim=-1).movedim(-1, dim)



def soft_k_max_iterative(x: Tensor, k: int, dim: int = -1) -> Tensor:
    r"""Su's 2019 iterative soft-k-max (chapter *Smooth top-k*, section 2).

    :math:`x \leftarrow x - \min x`, :math:`p^{(0)} = 0`, then ``k`` times
    :math:`p^{(i)} = p^{(i-1)} + \mathrm{softmax}\bigl((1-p^{(i-1)})\otimes x\bigr)`.
    Sums to ``k`` and tends to the hard top-k as the temperature goes to 0, but the chapter
    shows entries above 1 (``x = [2, 0, 0]``, ``k = 2``) and order reversals
    (``x = [4, 3, 0]``); kept for that comparison.
    """
    _check_topk_args(x, k, dim)
    z = x.movedim(dim, -1)
    z = z - z.amin(dim=-1, keepdim=True)
    p = torch.zeros_like(z)
    for _ in range(k):
        p = p + torch.softmax((1 - p) * z, dim=-1)
    return p.movedim(-1, dim)


def weighted_softmax_topk(x: Tensor, k: int, dim: int = -1, *, stable: bool = True) -> Tensor:
    r"""The weighted-softmax iteration (chapter *Smooth top-k*, eq. eq-smooth-topk-weighted-limit).

    :math:`p^{(i)} = p^{(i-1)} + \mathrm{softmax}(x; w)` with :math:`w = 1-p^{(i-1)}` and
    :math:`[\mathrm{softmax}(x;w)]_j = w_je^{x_j}/\sum_l w_le^{x_l}`. It is **not** a top-k
    approximation: for ``k = 2`` its zero-temperature limit is ``1.5`` on the largest entry
    and ``0.5`` on the runner-up. ``stable=False`` forms ``w = 1 - p`` as written, which
    rounds to 0 at low temperature and makes the wrong limit *look* right (the chapter's
    underflow demonstration). ``stable=True`` carries ``w`` itself through the exact update
    :math:`w_j \leftarrow w_j\bigl(\sum_{l\ne j}w_le^{x_l} - p_je^{x_j}\bigr)/\sum_l w_le^{x_l}`
    (leave-one-out sums by prefix/suffix sums), so tiny weights keep their relative accuracy
    down to the float range (``e^{-gap/tau}`` must not underflow: gap/tau < ~700 in float64).
    Finite for any finite input.
    """
    _check_topk_args(x, k, dim)
    z = x.movedim(dim, -1)
    p = torch.zeros_like(z)
    w = torch.ones_like(z)
    zero = torch.zeros_like(z[..., :1])
    for _ in range(k):
        la = torch.log(w.abs()) + z  # log|w_j e^{x_j}|, -inf where w_j = 0
        c = torch.sign(w) * torch.exp(la - la.amax(dim=-1, keepdim=True))  # w e^{x - M}
        s = c.sum(dim=-1, keepdim=True)
        if stable:
            before = torch.cat([zero, c.cumsum(dim=-1)[..., :-1]], dim=-1)
            after = torch.cat([c.flip(-1).cumsum(dim=-1)[..., :-1].flip(-1), zero], dim=-1)
            w = (w * (before + after) - p * c) / s
        p = p + c / s
        if not stable:
            w = 1 - p
    return p.movedim(-1, dim)


def grad_topk_recursive(x: Tensor, k: int, dim: int = -1) -> Tensor:
    r"""GradTopK by the article's recursion — breaks down (NaN) for spread-out inputs.

    Chapter *Smooth top-k*, eq. (eq-smooth-topk-recursion): :math:`\log Z_{1,i} = x_i`,
    :math:`\log Z_{j,i} = x_i + \log Z_{j-1} + \log(1 - e^{\log Z_{j-1,i} - \log Z_{j-1}})`,
    :math:`\log Z_j = \mathrm{lse}_i \log Z_{j,i} - \log j`, output :math:`Z_{k,i}/Z_k`. When
    the largest :math:`Z_{j-1,i}` is indistinguishable from :math:`Z_{j-1}` in floating
    point the log argument is 0 and the result is ``-inf``/NaN or wrong; kept to measure that
    failure. Use :func:`grad_topk`.
    """
    _check_topk_args(x, k, dim)
    if k == 0:
        return torch.zeros_like(x)
    z = x.movedim(dim, -1)
    log_zi = z
    log_z = torch.logsumexp(log_zi, dim=-1, keepdim=True)
    for j in range(2, k + 1):
        log_zi = z + log_z + torch.log(1 - torch.exp(log_zi - log_z))
        log_z = torch.logsumexp(log_zi, dim=-1, keepdim=True) - math.log(j)
    return torch.exp(log_zi - log_z).movedim(-1, dim)
