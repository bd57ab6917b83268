"""logsumexp as a smooth maximum: its bounds, Renyi entropies and the Gibbs inequality.

Chapter *Inequalities for logsumexp* (kexue.fm/archives/9070).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lib import checks

__all__ = [
    "smooth_max",
    "renyi_entropy",
    "lse_weighted_lower_bound",
    "lse_bound_slacks",
]


# ---------------------------------------------------------------------------------------
# logsumexp inequalities (chapter "Inequalities for logsumexp", kexue.fm/archives/9070)
# ---------------------------------------------------------------------------------------
def smooth_max(x: Tensor, tau: float = 1.0, dim: int = -1) -> Tensor:
    r"""Temperature-``tau`` smooth maximum :math:`\tau\,\mathrm{lse}(x/\tau)`.

    Chapter *logsumexp inequalities*, eq. (lse-tau):
    :math:`\max_i x_i < \tau\,\mathrm{lse}(x/\tau) \le \max_i x_i + \tau\log n`, so it tends
    to the maximum as ``tau -> 0``. The maximum is factored out *before* dividing by
    ``tau`` (eq. lse-shift), so ``x/tau`` never overflows, even in float16 at ``x = 1e4``,
    ``tau = 0.1``.
    """
    checks.no_nan(x, "x")
    if not (tau > 0):
        raise ValueError(f"tau must be > 0, got {tau}")
    if x.shape[dim] == 0:
        raise ValueError(f"x has an empty dimension dim={dim}")
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # rows that are all -inf
    return (m + tau * torch.logsumexp((x - m) / tau, dim=dim, keepdim=True)).squeeze(dim)


def renyi_entropy(p: Tensor, t: float, dim: int = -1) -> Tensor:
    r"""Rényi entropy :math:`H_t(p) = -\frac{1}{t-1}\log\sum_i p_i^t` (``t = 1``: Shannon).

    Chapter *logsumexp inequalities*, eq. (lse-holder): the penalty in the weighted lower
    bound :math:`\mathrm{lse}(x) \ge \sum_i p_i x_i + H_t(p)`. At ``t == 1`` the Shannon form
    :math:`-\sum_i p_i\log p_i` is used, with :math:`0\log 0 = 0`. ``t`` must be ``>= 1``.
    """
    checks.probability(p, "p", dim=dim)
    if not (t >= 1):
        raise ValueError(f"t must be >= 1, got {t}")
    if t == 1:
        plogp = torch.where(p > 0, p * torch.log(torch.where(p > 0, p, 1)), torch.zeros_like(p))
        return -plogp.sum(dim=dim)
    if t == float("inf"):
        return -torch.log(p.amax(dim=dim))
    h = t - 1
    log_p = torch.log(p)  # p = 0 gives -inf, whose powers contribute exactly 0 below
    if h < 0.5:
        # Near t = 1 the quotient g(t)/(t-1) with g(t) = log sum p^t is 0/0: evaluate
        # g = log1p(sum p (p^h - 1)) with expm1, which keeps full relative precision as h -> 0
        # (p is renormalised so that sum p = 1 holds to rounding).
        q = p / p.sum(dim=dim, keepdim=True)
        terms = torch.where(q > 0, q * torch.expm1(h * torch.log(q)), torch.zeros_like(q))
        return -torch.log1p(terms.sum(dim=dim)) / h
    # log sum p^t computed as logsumexp(t log p); p = 0 contributes exp(-inf) = 0.
    return -torch.logsumexp(t * log_p, dim=dim) / h


def lse_weighted_lower_bound(x: Tensor, p: Tensor, t: float = 1.0, dim: int = -1) -> Tensor:
    r"""The weighted lower bound :math:`\sum_i p_i x_i + H_t(p) \le \mathrm{lse}(x)`.

    Chapter *logsumexp inequalities*, eqs. (lse-cs) (``t = 2``), (lse-holder) (``t > 1``) and
    (lse-gibbs) (``t = 1``, tight at ``p = softmax(x)``).
    """
    checks.no_nan(x, "x")
    if x.shape != p.shape:
        raise ValueError(f"x and p must have the same shape, got {tuple(x.shape)} and {tuple(p.shape)}")
    px = torch.where(p > 0, p * x, torch.zeros_like(x)).sum(dim=dim)
    return px + renyi_entropy(p, t, dim=dim)


def lse_bound_slacks(
    x: Tensor, y: Tensor, p: Tensor, *, t: float, tau: float, lam: float
) -> dict[str, Tensor]:
    r"""Slack of every inequality of the chapter, for batches of vectors along the last dim.

    Each entry is ``right - left`` for an inequality written ``left <= right``, so every
    slack is ``>= 0`` (up to rounding) when the inequalities hold:

    * ``max_lt_lse``: :math:`\mathrm{lse}(x) - \max x` (eq. lse-basic, left);
    * ``lse_le_max_log_n``: :math:`\max x + \log n - \mathrm{lse}(x)` (eq. lse-basic, right);
    * ``tau_upper``: :math:`\max x + \tau\log n - \tau\,\mathrm{lse}(x/\tau)` (eq. lse-tau);
    * ``mean_bound``: :math:`\mathrm{lse}(x) - \bar x - \log n` (eq. lse-mean);
    * ``holder_bound``: :math:`\mathrm{lse}(x) - \sum p x - H_t(p)` (eq. lse-holder);
    * ``gibbs_bound``: the same with ``t = 1`` (eq. lse-gibbs);
    * ``lipschitz``: :math:`\max|x-y| - |\mathrm{lse}(x) - \mathrm{lse}(y)|` (eq. lse-lip);
    * ``convexity``: :math:`\lambda\,\mathrm{lse}(x) + (1-\lambda)\mathrm{lse}(y) -
      \mathrm{lse}(\lambda x + (1-\lambda) y)` (eq. lse-convex).
    """
    for name, v in (("x", x), ("y", y)):
        checks.no_nan(v, name)
    if x.shape != y.shape or x.shape != p.shape:
        raise ValueError(
            f"x, y and p must have one shape, got {tuple(x.shape)}, {tuple(y.shape)}, {tuple(p.shape)}"
        )
    if not (0 <= lam <= 1):
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if not (t > 1):
        raise ValueError(f"t must be > 1 for the Hölder bound, got {t}")
    n = x.shape[-1]
    log_n = torch.log(torch.tensor(float(n), dtype=x.dtype))
    lse_x = torch.logsumexp(x, dim=-1)
    lse_y = torch.logsumexp(y, dim=-1)
    xmax = x.amax(dim=-1)
    return {
        "max_lt_lse": lse_x - xmax,
        "lse_le_max_log_n": xmax + log_n - lse_x,
        "tau_upper": xmax + tau * log_n - smooth_max(x, tau),
        "mean_bound": lse_x - x.mean(dim=-1) - log_n,
        "holder_bound": lse_x - lse_weighted_lower_bound(x, p, t),
        "gibbs_bound": lse_x - lse_weighted_lower_bound(x, p, 1.0),
        "lipschitz": (x - y).abs().amax(dim=-1) - (lse_x - lse_y).abs(),
        "convexity": lam * lse_x + (1 - lam) * lse_y - torch.logsumexp(lam * x + (1 - lam) * y, dim=-1),
    }
