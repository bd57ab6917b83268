"""Elementary symmetric polynomials of exponentials, in log space.

Chapters *Smooth top-k* (10373; GradTopK's normaliser) and *Multi-label softmax + CE* (7359;
the k-label partition function). The naive route by Newton's identities is in
``lib.softmax.as_published``, kept because the chapter shows it failing.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks

__all__ = [
    "log_elementary_symmetric",
]


# ---------------------------------------------------------------------------------------
# Elementary symmetric polynomials in log space (chapters 7359 multi-label CE, 10373 top-k)
# ---------------------------------------------------------------------------------------
def log_elementary_symmetric(logits: Tensor, k: int, dim: int = -1) -> Tensor:
    r"""``log e_j(exp(logits))`` for ``j = 0, ..., k``: the partition functions of k-subsets.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), eq.
    (eq-multilabel-softmax-ce-zk): :math:`Z_j = e_j(e^{s_1},\dots,e^{s_n}) = \sum_{i_1<\dots<i_j}
    e^{s_{i_1}+\dots+s_{i_j}}`, the normaliser of a softmax over the :math:`\binom nj` subsets
    of size ``j``. Computed by the positive-term recursion of eq. (eq-multilabel-softmax-ce-dp),
    :math:`e_j(x_{1..i}) = e_j(x_{1..i-1}) + x_i\,e_{j-1}(x_{1..i-1})`, in log space: for each
    ``j`` the sum over ``i`` is one ``torch.logcumsumexp``, so the cost is ``O(nk)`` with ``k``
    Python steps. Every term is positive, so there is no cancellation (unlike Newton's
    identities, :func:`elementary_symmetric_newton`); relative error ~ ``n * eps``.

    ``dim`` (size ``n >= 1``) is replaced by a dimension of size ``k + 1`` holding
    ``log e_0 = 0, log e_1 = logsumexp, ..., log e_k``. ``log e_j = -inf`` when fewer than
    ``j`` logits are finite (in particular for ``j > n``); ``-inf`` logits count as absent
    items and get zero gradient (never NaN). The gradient of ``log e_k`` is the vector of
    inclusion probabilities of the k-subset softmax (it sums to ``k``; chapter 10373).
    float16/bfloat16 inputs are computed in float32 and cast back (``log e_k`` of logits
    near 1e4 can exceed the float16 range: ``inf`` then means "not representable").
    """
    checks.no_nan(logits, "logits")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative int, got {k!r}")
    if logits.dim() == 0:
        raise ValueError("logits must have at least one dimension")
    n = logits.shape[dim]
    if n == 0:
        raise ValueError(f"logits has an empty dimension dim={dim}")
    if (logits == float("inf")).any():
        raise ValueError("logits contains +inf")
    x = logits.movedim(dim, -1)
    work = checks.work_dtype(x.dtype)
    x = x.to(work)
    absent = torch.isneginf(x)
    # -inf items become a huge finite surrogate: exp(surrogate - any real value) is exactly 0,
    # so real results are unchanged, and logcumsumexp never sees -inf (its backward would
    # give NaN there). Results that are really -inf are restored from the finite counts.
    x = torch.where(absent, torch.full((), -1e30, dtype=work, device=x.device), x)
    n_finite = (~absent).sum(dim=-1, keepdim=True)
    out = [torch.zeros(x.shape[:-1] + (1,), dtype=work, device=x.device)]
    prev = torch.zeros(x.shape[:-1] + (n + 1,), dtype=work, device=x.device)  # log e_0(x_{1..i})
    for j in range(1, min(k, n) + 1):
        # prev[..., m] = log e_{j-1}(x_1..x_{m+j-1}), m = 0..n-j+1
        prev = torch.logcumsumexp(x[..., j - 1 :] + prev[..., :-1], dim=-1)
        out.append(prev[..., -1:])
    res = torch.cat(out, dim=-1)
    if k > n:
        res = torch.cat([res, res.new_full(x.shape[:-1] + (k - n,), float("-inf"))], dim=-1)
    j = torch.arange(k + 1, device=x.device)
    res = torch.where(j <= n_finite, res, torch.full((), float("-inf"), dtype=work, device=x.device))
    return res.to(logits.dtype).movedim(-1, dim)
