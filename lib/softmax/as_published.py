"""Procedures as the articles publish them, kept because the chapters show them FAILING.

Do not use these for results: each docstring says how it fails and which function of
``lib.softmax`` to use instead. They live here, apart from the correct versions, so that
nobody mistakes one for the other.

* ``elementary_symmetric_newton`` — Newton's identities lose every digit (chapter 7359);
* ``soft_k_max_iterative`` — Su's 2019 iteration: entries above 1, order reversals (10373);
* ``weighted_softmax_topk`` — the weighted iteration's wrong zero-temperature limit (10373);
* ``grad_topk_recursive`` — the article's GradTopK recursion: NaN for spread inputs (10373).
  ``recursion_failure_scan`` and ``plot_recursion_scan`` measure and draw that failure.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lib import checks
from lib.softmax.topk import _check_topk_args, grad_topk

__all__ = [
    "elementary_symmetric_newton",
    "soft_k_max_iterative",
    "weighted_softmax_topk",
    "grad_topk_recursive",
    "weighted_limit_symbolic",
    "recursion_failure_scan",
    "plot_recursion_scan",
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


def weighted_limit_symbolic() -> list:
    r"""Chapter *Smooth top-k* §2, eq. eq-smooth-topk-weighted-limit: the exact SymPy limit
    :math:`t=e^{-1/\tau}\to0^+` of two weighted-softmax rounds (:func:`weighted_softmax_topk`)
    at :math:`x=(2,1,0)/\tau`, i.e. weights :math:`(t^{-2},t^{-1},1)`. Returns the 3 limits."""
    import sympy as sp

    t = sp.symbols("t", positive=True)
    e3 = [t**-2, t**-1, sp.Integer(1)]
    p1 = [e / sum(e3) for e in e3]
    w2 = [1 - p for p in p1]
    s2 = sum(w * e for w, e in zip(w2, e3, strict=True))
    p2 = [p + w * e / s2 for p, w, e in zip(p1, w2, e3, strict=True)]
    return [sp.limit(sp.simplify(q), t, 0) for q in p2]


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


# Experiment and figure of chapter *Smooth top-k* §3 (measuring the recursion's failure)
def recursion_failure_scan(spreads, k: int = 10, n: int = 100, draws: int = 100,
                           generator: torch.Generator | None = None) -> dict:
    r"""Chapter *Smooth top-k* §3: the article's recursion (``grad_topk_recursive``,
    eq. eq-smooth-topk-recursion) against ``lib.softmax.grad_topk`` on ``draws`` vectors
    :math:`x\sim\mathcal N(0,s^2I_n)` per spread ``s``. Returns per-spread fractions
    ``nan`` and ``wrong`` (finite, off by > 1e-6), per-spread max errors ``err`` (NaN when
    any row is NaN), and the worst ``wrong_err``, ``wrong_sum_err`` (|sum - k| of wrong
    rows) and
    ``stable_sum_err`` (|sum - k| of grad_topk)."""
    checks.integer(k, "k", minimum=1)
    checks.integer(n, "n", minimum=k + 1)
    checks.integer(draws, "draws", minimum=1)
    out = dict(nan=[], wrong=[], err=[], wrong_err=0.0, wrong_sum_err=0.0, stable_sum_err=0.0)
    for s in spreads:
        xs = checks.real(s, "spreads", low=0, low_open=True) * torch.randn(
            draws, n, dtype=torch.float64, generator=generator)
        rec, good = grad_topk_recursive(xs, k), grad_topk(xs, k)
        nan_rows = ~torch.isfinite(rec).all(-1)
        err = (rec - good).abs().amax(-1)
        wrong = (err > 1e-6) & ~nan_rows
        out["nan"].append(float(nan_rows.double().mean()))
        out["wrong"].append(float(wrong.double().mean()))
        out["err"].append(float((rec - good).abs().max()))  # NaN if any row is NaN
        out["stable_sum_err"] = max(out["stable_sum_err"], float((good.sum(-1) - k).abs().max()))
        if wrong.any():
            out["wrong_err"] = max(out["wrong_err"], float(err[wrong].max()))
            out["wrong_sum_err"] = max(out["wrong_sum_err"],
                                       float((rec[wrong].sum(-1) - k).abs().max()))
    return out


def plot_recursion_scan(spreads, scan: dict):
    """Figure of chapter *Smooth top-k* §3: the fractions ``scan["nan"]``, ``scan["wrong"]``
    and their sum (from :func:`recursion_failure_scan`) against the spread. Returns it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.semilogx(spreads, scan["nan"], "o-", label="NaN")
    ax.semilogx(spreads, scan["wrong"], "s-", label=r"finite but wrong ($>10^{-6}$)")
    ax.semilogx(spreads, np.add(scan["nan"], scan["wrong"]), "k:", label="total failures")
    ax.set_xlabel("spread $s$ of the inputs")
    ax.set_ylabel("fraction of draws")
    ax.legend()
    return fig
