"""Softmax & logsumexp: the functions behind the book's first part.

Sections follow the order of the chapters that use them. Each public function takes torch
tensors, works along ``dim=``, preserves dtype and device, and raises ``ValueError`` naming
the offending argument.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "smooth_max",
    "renyi_entropy",
    "lse_weighted_lower_bound",
    "lse_bound_slacks",
    "log_elementary_symmetric",
    "elementary_symmetric_newton",
    "perturb_max_probs",
    "grad_topk",
    "grad_topk_recursive",
    "thre_topk",
    "soft_k_max_iterative",
    "weighted_softmax_topk",
    "softmax_entropy",
    "entropy_invariant_scale",
    "sphere_mean_field_entropy",
    "argmax_margins",
    "argmaxable",
    "min_norm_in_hull",
]


def _check_finite(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN")


def _check_probability(p: Tensor, dim: int, name: str = "p") -> None:
    _check_finite(p, name)
    if (p < 0).any():
        raise ValueError(f"{name} must be non-negative")
    tol = 1e3 * torch.finfo(p.dtype).eps * p.shape[dim]
    if ((p.sum(dim=dim) - 1).abs() > tol).any():
        raise ValueError(f"{name} must sum to 1 along dim={dim}")


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
    _check_finite(x, "x")
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
    _check_probability(p, dim)
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
    _check_finite(x, "x")
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
        _check_finite(v, name)
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
    _check_finite(logits, "logits")
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
    work = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
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


def elementary_symmetric_newton(logits: Tensor, k: int, dim: int = -1) -> Tensor:
    r"""``e_j(exp(logits))`` for ``j = 0..k`` by Newton's identities — unstable, for comparison.

    Chapter *Multi-label softmax + cross-entropy* (kexue.fm/archives/7359), eq.
    (eq-multilabel-softmax-ce-newton): :math:`j\,e_j = \sum_{p=1}^{j} (-1)^{p-1} e_{j-p} S_p`
    with power sums :math:`S_p = \sum_i e^{p s_i}`. The alternating signs cancel
    catastrophically when the logits are spread out or ``k`` is large; the chapter measures
    where it loses every digit. Works in linear space in the input dtype (so it also
    overflows). Use :func:`log_elementary_symmetric` for anything but that demonstration.
    """
    _check_finite(logits, "logits")
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



# ---------------------------------------------------------------------------------------
# Perturb-and-argmax distributions (chapter 9085)
# ---------------------------------------------------------------------------------------
_PERTURB_NOISES = ("normal", "gumbel")
_PERTURB_METHODS = ("hermite", "quantile", "mc")


def _hermite_rule(nodes: int, dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
    """Probabilists' Gauss–Hermite nodes and weights for the standard normal density."""
    import numpy as np

    eps, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    return (
        torch.as_tensor(eps, dtype=dtype, device=device),
        torch.as_tensor(w, dtype=dtype, device=device),
    )


def _noise_log_cdf(z: Tensor, noise: str) -> Tensor:
    """``log Φ(z)`` of the unit noise: standard normal or standard Gumbel (CDF ``exp(-e^{-z})``)."""
    if noise == "normal":
        return torch.special.log_ndtr(z)
    # clamp so that exp(-z) stays finite (its gradient too); the log-CDF is then ~ -1e308
    return -torch.exp(torch.clamp(-z, max=math.log(torch.finfo(z.dtype).max) - 1))


def _noise_quantile(t: Tensor, noise: str) -> Tensor:
    """``Φ^{-1}(t)`` of the unit noise."""
    if noise == "normal":
        return torch.special.ndtri(t)
    return -torch.log(-torch.log(t))


def perturb_max_probs(
    mu: Tensor,
    noise: str = "normal",
    method: str = "hermite",
    nodes: int = 32,
    *,
    dim: int = -1,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Perturb-and-argmax probabilities :math:`p_i = P[\arg\max(\mu+\varepsilon) = i]`.

    Chapter *Discrete distributions from reparameterisation* (kexue.fm/archives/9085),
    eq. (eq-perturb-max-integral): with i.i.d. unit noise of CDF :math:`\Phi`,

    .. math:: p_i = \int p(\varepsilon)\prod_{j\ne i}\Phi(\mu_i-\mu_j+\varepsilon)\,d\varepsilon .

    ``noise="gumbel"`` gives ``softmax(mu)`` exactly (eq. eq-perturb-max-gumbel);
    ``noise="normal"`` (standard normal) has no closed form. Noise of scale ``s`` is
    ``perturb_max_probs(mu / s)``. ``method`` selects how the integral is evaluated:

    * ``"hermite"``: Gauss–Hermite quadrature with ``nodes`` nodes (normal noise only);
      error ~1e-12 at 32 nodes for a few classes with logit gaps of order 1, rows sum to 1 to
      that accuracy. Many classes need more nodes (the winner's noise sits in the tail):
      for 100 spread logits the row-sum error is ~4e-6 at 32 nodes, ~4e-13 at 128.
    * ``"quantile"``: the article's rule, eq. (eq-perturb-max-quantile): average of the
      integrand in :math:`t=\Phi(\varepsilon)` at :math:`t_k = k/(K+1)`, ``K = nodes``. Its
      bias is :math:`(p_i-\tfrac12)/K + o(1/K)` (eq. eq-perturb-max-trapezoid) and its rows do
      **not** sum to 1.
    * ``"mc"``: the frequency of each argmax over ``nodes`` noise draws (``generator`` for
      reproducibility); standard error :math:`\sqrt{p_i(1-p_i)/\text{nodes}}`.

    The product of CDFs is summed in log space (``log_ndtr``), so many classes or logits of
    1e4 neither underflow nor give NaN. Batches over all dimensions but ``dim``; the cost is
    ``O(n^2 * nodes)`` per row. float16/bfloat16 inputs are computed in float32 and cast back.
    """
    _check_finite(mu, "mu")
    if not torch.isfinite(mu).all():
        raise ValueError("mu must be finite")
    if mu.dim() == 0:
        raise ValueError("mu must have at least one dimension")
    if noise not in _PERTURB_NOISES:
        raise ValueError(f"noise must be one of {_PERTURB_NOISES}, got {noise!r}")
    if method not in _PERTURB_METHODS:
        raise ValueError(f"method must be one of {_PERTURB_METHODS}, got {method!r}")
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise ValueError(f"nodes must be a positive int, got {nodes!r}")
    if method == "hermite" and noise != "normal":
        raise ValueError(
            "method='hermite' needs noise='normal' (Gumbel noise gives softmax in closed form; "
            "use method='quantile' or 'mc' to evaluate its integral numerically)"
        )
    if method == "hermite" and nodes > 200:
        raise ValueError(f"nodes must be <= 200 for method='hermite', got {nodes}")
    n = mu.shape[dim]
    if n == 0:
        raise ValueError(f"mu has an empty dimension dim={dim}")
    x = mu.movedim(dim, -1)
    work = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    x = x.to(work)

    if method == "mc":
        # Count argmaxes in chunks of draws to bound memory at ~2^22 numbers.
        counts = torch.zeros_like(x)
        chunk = max(1, (1 << 22) // max(1, x.numel()))
        done = 0
        while done < nodes:
            m = min(chunk, nodes - done)
            shape = (m,) + tuple(x.shape)
            if noise == "normal":
                eps = torch.randn(shape, generator=generator, dtype=work, device=x.device)
            else:
                u = torch.rand(shape, generator=generator, dtype=work, device=x.device)
                eps = -torch.log(-torch.log(u.clamp_min(torch.finfo(work).tiny)))
            winner = (x + eps).argmax(dim=-1)  # [m, ...]
            counts += torch.zeros((m,) + tuple(x.shape), dtype=work, device=x.device).scatter_(
                -1, winner[..., None], 1.0).sum(dim=0)
            done += m
        return (counts / nodes).to(mu.dtype).movedim(-1, dim)

    if method == "hermite":
        eps, w = _hermite_rule(nodes, work, x.device)
        log_w = torch.log(w)
    else:
        t = torch.arange(1, nodes + 1, dtype=torch.float64, device=x.device) / (nodes + 1)
        eps = _noise_quantile(t, noise).to(work)
        log_w = torch.full_like(eps, -math.log(nodes))
    diff = x[..., :, None] - x[..., None, :]  # [..., i, j] = mu_i - mu_j
    log_cdf = _noise_log_cdf(diff[..., None] + eps, noise)  # [..., i, j, node]
    off_diag = ~torch.eye(n, dtype=torch.bool, device=x.device)[..., None]
    log_prod = torch.where(off_diag, log_cdf, torch.zeros((), dtype=work, device=x.device)).sum(dim=-2)
    p = torch.exp(torch.logsumexp(log_prod + log_w, dim=-1))
    return p.to(mu.dtype).movedim(-1, dim)


# ---------------------------------------------------------------------------------------
# Smooth top-k: GradTopK and ThreTopK (chapter 10373)
# ---------------------------------------------------------------------------------------
_THRE_TOPK_FS = ("exp", "sigmoid", "smooth")


def _check_topk_args(x: Tensor, k: int, dim: int) -> int:
    """Validate ``x`` (finite, float, non-scalar) and ``0 <= k <= n``; return ``n``."""
    _check_finite(x, "x")
    if not torch.isfinite(x).all():
        raise ValueError("x must be finite")
    if x.dim() == 0:
        raise ValueError("x must have at least one dimension")
    n = x.shape[dim]
    if n == 0:
        raise ValueError(f"x has an empty dimension dim={dim}")
    if isinstance(k, bool) or not isinstance(k, int) or not (0 <= k <= n):
        raise ValueError(f"k must be an int with 0 <= k <= n = {n}, got {k!r}")
    return n


def _work_dtype(x: Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


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


def _grad_topk_loo(z: Tensor, k: int) -> Tensor:
    r"""Closed form :math:`e^{x_i}e_{k-1}(e^{x_{-i}})/e_k(e^x)` along the last dim (``1 <= k < n``)."""
    n = z.shape[-1]
    # row i of `others` lists every index but i
    others = torch.arange(n - 1, device=z.device) + (
        torch.arange(n - 1, device=z.device) >= torch.arange(n, device=z.device)[:, None]
    )
    log_loo = log_elementary_symmetric(z[..., others], k - 1, dim=-1)[..., k - 1]  # [..., n]
    log_zk = log_elementary_symmetric(z, k, dim=-1)[..., k : k + 1]
    return torch.exp(z + log_loo - log_zk)


class _GradTopK(torch.autograd.Function):
    """Forward: autograd of ``log Z_k`` (``O(nk)``); backward: the closed form's VJP."""

    @staticmethod
    def forward(ctx, z: Tensor, k: int) -> Tensor:
        with torch.enable_grad():
            zz = z.detach().requires_grad_()
            log_zk = log_elementary_symmetric(zz, k, dim=-1)[..., k]
            (g,) = torch.autograd.grad(log_zk.sum(), zz)
        ctx.save_for_backward(z)
        ctx.k = k
        return g.clamp(0, 1)  # true values lie in [0, 1]; removes ~1e-12 rounding overshoot

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        (z,) = ctx.saved_tensors
        with torch.enable_grad():
            zz = z.detach().requires_grad_()
            (grad_in,) = torch.autograd.grad(_grad_topk_loo(zz, ctx.k), zz, grad_out)
        return grad_in, None


def grad_topk(x: Tensor, k: int, dim: int = -1) -> Tensor:
    r"""GradTopK: :math:`\nabla_x \log Z_k`, the gradient of the smoothed top-k sum.

    Chapter *Smooth top-k* (kexue.fm/archives/10373), eq. (eq-smooth-topk-grad):
    :math:`[\mathcal{ST}_k(x)]_i = \partial\log Z_k/\partial x_i = Z_{k,i}/Z_k` with
    :math:`Z_k = e_k(e^{x_1},\dots,e^{x_n})`, the inclusion probabilities of a softmax over
    k-subsets. The values are the autograd gradient of :math:`\log Z_k` from
    :func:`log_elementary_symmetric` (positive-term log-space recursion, no cancellation, so
    any spread of ``x`` is fine — unlike the article's recursion,
    :func:`grad_topk_recursive`); cost ``O(nk)``. The map's own gradient uses the closed form
    :math:`Z_{k,i} = e^{x_i}\,e_{k-1}(e^{x_{-i}})` (``O(n^2 k)``, only when backpropagating),
    because the double backward of ``torch.logcumsumexp`` is NaN wherever an incoming
    gradient is 0. Entries lie in ``[0, 1]`` and sum to ``k`` up to rounding; ``k = 1`` is
    ``softmax``. ``0 <= k <= n``; float16/bfloat16 are computed in float32 and cast back.
    """
    n = _check_topk_args(x, k, dim)
    if k == 0 or k == n:
        return torch.full_like(x, float(k == n)) + 0 * x
    z = x.movedim(dim, -1).to(_work_dtype(x))
    return _GradTopK.apply(z, k).to(x.dtype).movedim(-1, dim)


def _smooth_f(z: Tensor) -> Tensor:
    r""":math:`f(z) = 1 - e^{-z}/2` (``z >= 0``), :math:`e^{z}/2` (``z < 0``), NaN-free gradients."""
    upper = 1 - 0.5 * torch.exp(-z.clamp_min(0))
    lower = 0.5 * torch.exp(z.clamp_max(0))
    return torch.where(z >= 0, upper, lower)


def _thre_lambda_exp(xs: Tensor, k: int) -> Tensor:
    r"""Threshold for :math:`f=\min(1,e^z)`, ``xs`` sorted descending: :math:`\min_{m<k}\lambda_m`."""
    # lse of the tail x_{m+1..n} for m = 0..k-1 (reverse cumulative logsumexp).
    tail = torch.logcumsumexp(xs.flip(-1), dim=-1).flip(-1)[..., :k]
    m = torch.arange(k, dtype=xs.dtype, device=xs.device)
    return (tail - torch.log(k - m)).amin(dim=-1, keepdim=True)


def _thre_lambda_smooth(xs: Tensor, k: int) -> Tensor:
    """Threshold for the smooth two-branch ``f``, ``xs`` sorted descending (eq. smooth-lambda)."""
    n = xs.shape[-1]
    ninf = torch.full(xs.shape[:-1] + (1,), float("-inf"), dtype=xs.dtype, device=xs.device)
    # log A_m = lse_{i<=m}(-x_i), log B_m = lse_{i>m}(x_i), for m = 0..n.
    log_a = torch.cat([ninf, torch.logcumsumexp(-xs, dim=-1)], dim=-1)
    log_b = torch.cat([torch.logcumsumexp(xs.flip(-1), dim=-1).flip(-1), ninf], dim=-1)
    # F(x_j) = sum_i f(x_i - x_j); F is decreasing, so m = #{j : F(x_j) < k}.
    with torch.no_grad():
        above = torch.exp(xs + log_a[..., :-1])  # sum_{i<j} e^{x_j - x_i}
        below = torch.exp(log_b[..., 1:] - xs)  # sum_{i>j} e^{x_i - x_j}
        j = torch.arange(n, dtype=xs.dtype, device=xs.device)
        f_at = j - 0.5 * above + 0.5 + 0.5 * below
        m = (f_at < k).sum(dim=-1, keepdim=True)
    la, lb = log_a.gather(-1, m), log_b.gather(-1, m)
    d = k - m.to(xs.dtype)
    log_abs_d = torch.log(d.abs())
    root = 0.5 * torch.logaddexp(2 * log_abs_d, la + lb)  # log sqrt(d^2 + A B)
    # d >= 0: lambda = log B - log(sqrt + d); d < 0 (no cancellation): -log A + log(sqrt + |d|)
    lam_pos = lb - torch.logaddexp(root, log_abs_d)
    lam_neg = -la + torch.logaddexp(root, log_abs_d)
    return torch.where(d >= 0, lam_pos, lam_neg)


def _thre_lambda_sigmoid(x: Tensor, k: int, tol: float, max_iter: int) -> Tensor:
    r"""Bisection for :math:`\sum_i\sigma(x_i-\lambda)=k`, gradient by the implicit function theorem."""
    n = x.shape[-1]
    with torch.no_grad():
        shift = math.log(k / (n - k))  # sigma^{-1}(k / n)
        lo = x.amin(dim=-1, keepdim=True) - shift
        hi = x.amax(dim=-1, keepdim=True) - shift
        floor = 4 * torch.finfo(x.dtype).eps * torch.maximum(lo.abs(), hi.abs()).amax().item()
        width = (hi - lo).amax().item()
        steps = 0 if width <= 0 else min(max_iter, max(0, math.ceil(math.log2(width / max(tol, floor)))))
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            big = torch.sigmoid(x - mid).sum(dim=-1, keepdim=True) > k  # lambda lies above mid
            lo = torch.where(big, mid, lo)
            hi = torch.where(big, hi, mid)
        lam = 0.5 * (lo + hi)
        s = torch.sigmoid(x - lam)
        ds = s * (1 - s)
        g = ds / ds.sum(dim=-1, keepdim=True)  # d lambda / d x, eq. (eq-smooth-topk-ift)
    # stop-gradient trick: value lam, gradient g.
    return (x * g).sum(dim=-1, keepdim=True) + (lam - (x * g).sum(dim=-1, keepdim=True)).detach()


def thre_topk(
    x: Tensor,
    k: int,
    f: str = "exp",
    dim: int = -1,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> Tensor:
    r"""ThreTopK: :math:`f(x - \lambda(x))` with the threshold chosen so the entries sum to ``k``.

    Chapter *Smooth top-k* (kexue.fm/archives/10373), eq. (eq-smooth-topk-thre):
    :math:`\sum_i f(x_i-\lambda)=k` for an increasing :math:`f:\mathbb R\to[0,1]`.

    * ``f="exp"``: :math:`f=\min(1,e^z)`; closed form (eq. eq-smooth-topk-exp-lambda)
      :math:`\lambda=\min_{0\le m<k}\bigl[\log\sum_{i>m}e^{x_{(i)}}-\log(k-m)\bigr]` over the
      descending order statistics — the minimum picks the consistent ``m`` without a search
      and is robust to ties. ``k = 1`` is ``softmax``. Entries may equal 1 exactly (zero
      gradient there).
    * ``f="sigmoid"``: bisection to ``tol`` on the bracket
      :math:`[\min x-\sigma^{-1}(k/n),\max x-\sigma^{-1}(k/n)]`; the gradient of
      :math:`\lambda` is injected with the stop-gradient trick from the implicit function
      theorem, :math:`\partial\lambda/\partial x_j=\sigma'_j/\sum_i\sigma'_i` (first
      derivatives only).
    * ``f="smooth"``: :math:`f(z)=1-\tfrac12e^{-z}` (``z >= 0``), :math:`\tfrac12e^{z}`
      (``z < 0``), :math:`C^1`; closed-form threshold (eq. eq-smooth-topk-smooth-lambda) in
      log space, the number ``m`` of entries above it read off from the monotone
      :math:`F(x_{(j)})`, and the conjugate form when ``k < m`` (no cancellation).

    All three are monotone, shift-invariant and tend to the hard top-k as
    ``x / tau``, ``tau -> 0``. ``k = 0`` and ``k = n`` give zeros and ones. Batches over all
    dims but ``dim``; float16/bfloat16 are computed in float32 and cast back.
    """
    n = _check_topk_args(x, k, dim)
    if f not in _THRE_TOPK_FS:
        raise ValueError(f"f must be one of {_THRE_TOPK_FS}, got {f!r}")
    if not (tol > 0):
        raise ValueError(f"tol must be > 0, got {tol}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    if k == 0 or k == n:
        return torch.full_like(x, float(k == n)) + 0 * x
    z = x.movedim(dim, -1).to(_work_dtype(x))
    if f == "sigmoid":
        out = torch.sigmoid(z - _thre_lambda_sigmoid(z, k, tol, max_iter))
    else:
        xs = z.sort(dim=-1, descending=True).values
        if f == "exp":
            out = torch.exp(torch.clamp(z - _thre_lambda_exp(xs, k), max=0))
        else:
            out = _smooth_f(z - _thre_lambda_smooth(xs, k))
    return out.to(x.dtype).movedim(-1, dim)


# ---------------------------------------------------------------------------------------
# Softmax entropy and the entropy-invariant scale (chapters 9034, 8823)
# ---------------------------------------------------------------------------------------
def softmax_entropy(logits: Tensor, dim: int = -1) -> Tensor:
    r"""Shannon entropy (nats) of :math:`\mathrm{softmax}(\ell)` along ``dim``, never via ``log p``.

    Chapter *Entropy-invariant softmax* (9034), eq. (eq-entropy-invariant-softmax-identity):
    :math:`H = \mathrm{lse}(\ell) - \sum_i p_i\ell_i` with :math:`p = \mathrm{softmax}(\ell)`.
    It is evaluated after a shift by the row maximum, :math:`z = \ell - \max\ell`,
    as :math:`H = \log S - \sum_i e^{z_i} z_i / S` with :math:`S = \sum_i e^{z_i} \ge 1`, so
    probabilities that underflow to 0 contribute exactly 0 (the form
    :math:`-\sum p\log p` gives ``0 * -inf = NaN`` there) and gradients stay finite.

    Masked logits may be ``-inf`` (their ``p_i`` is 0); a row that is entirely ``-inf`` has
    entropy 0 by convention. ``+inf`` or NaN raise ``ValueError``. float16/bfloat16 inputs are
    computed in float32 and the result is cast back; dtype and device are preserved.
    """
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.dim() == 0:
        raise ValueError("logits must have at least one dimension")
    if logits.shape[dim] == 0:
        raise ValueError(f"logits has an empty dimension dim={dim}")
    if torch.isnan(logits).any():
        raise ValueError("logits contains NaN")
    if torch.isposinf(logits).any():
        raise ValueError("logits contains +inf")
    x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    valid = torch.isfinite(x)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    # H is shift-invariant, so the shift carries no gradient: detaching it is exact.
    m = x.detach().amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, zero)
    z = torch.where(valid, x - m, zero)
    e = torch.where(valid, torch.exp(z), zero)
    s = e.sum(dim=dim)
    nonempty = s > 0
    s_safe = torch.where(nonempty, s, torch.ones_like(s))
    h = torch.log(s_safe) - (e * z).sum(dim=dim) / s_safe
    return torch.where(nonempty, h, zero).to(logits.dtype)


def entropy_invariant_scale(n, d: int, kappa: float | None = None, base: float = 512):
    r"""The length-dependent softmax scale :math:`\lambda(n)` of entropy-invariant attention.

    Chapter *Entropy-invariant softmax* (9034, background 8823), eq.
    (eq-entropy-invariant-softmax-scale): with ``kappa`` given,
    :math:`\lambda = \kappa\log n / d` (the article's form; its Laplace estimate is
    :math:`\kappa = 1/0.24`); with ``kappa=None``, the calibrated form
    :math:`\lambda = \log_{\text{base}} n/\sqrt d`, equal to the usual :math:`1/\sqrt d` at
    ``n == base`` (the article uses 512).

    ``n`` is the number of keys a query sees (``>= 1``): a Python number (returns a float) or
    a tensor, e.g. the per-row count of visible keys in causal attention (returns a tensor of
    ``n``'s floating dtype, float64 for integer tensors, on ``n``'s device).
    """
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if kappa is not None and not (kappa > 0 and math.isfinite(kappa)):
        raise ValueError(f"kappa must be a finite number > 0, got {kappa!r}")
    if not (base > 1 and math.isfinite(base)):
        raise ValueError(f"base must be a finite number > 1, got {base!r}")
    if isinstance(n, Tensor):
        nt = n if n.is_floating_point() else n.to(torch.float64)
        if torch.isnan(nt).any() or (nt < 1).any() or torch.isinf(nt).any():
            raise ValueError("n must be finite and >= 1")
        log_n = torch.log(nt)
    else:
        if isinstance(n, bool) or not isinstance(n, int | float) or not (1 <= n < math.inf):
            raise ValueError(f"n must be a finite number >= 1, got {n!r}")
        log_n = math.log(n)
    if kappa is None:
        return log_n / (math.log(base) * math.sqrt(d))
    return kappa * log_n / d


def sphere_mean_field_entropy(n, lam, d: int):
    r"""Large-``n`` (mean-field) attention entropy for random keys on a sphere.

    Chapter *Entropy-invariant softmax* (8823's model), eq. (eq-entropy-invariant-softmax-mf):
    queries and keys of norm :math:`\sqrt d`, keys uniform on the sphere, scores
    :math:`s = \lambda\,q\cdot k = \lambda d\,u` with :math:`u` the cosine of a random angle
    (density :math:`\propto(1-u^2)^{(d-3)/2}`). Replacing the sums over keys by
    :math:`n\,\mathbb E` gives

    .. math:: H_{\rm mf} = \log n + \log M(t) - t\,M'(t)/M(t),\qquad t = \lambda d,

    with :math:`M(t) = \mathbb E\,e^{tu} = \Gamma(\nu+1)(2/t)^\nu I_\nu(t)` and
    :math:`M'/M = I_{\nu+1}(t)/I_\nu(t)`, :math:`\nu = d/2-1` (modified Bessel functions,
    evaluated exponentially scaled so large ``t`` does not overflow). The approximation
    ignores the finite-``n`` fluctuation of the sums, so it fails once the softmax
    concentrates on the few largest scores.

    Arguments are numbers or NumPy arrays (broadcast); returns a NumPy float64 array (0-d
    for scalars). ``n >= 1``, ``lam >= 0``, ``d >= 2``.
    """
    import numpy as np
    from scipy.special import gammaln, ive

    if isinstance(d, bool) or not isinstance(d, int) or d < 2:
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    n = np.asarray(n, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    if np.isnan(n).any() or (n < 1).any() or np.isinf(n).any():
        raise ValueError("n must be finite and >= 1")
    if np.isnan(lam).any() or (lam < 0).any() or np.isinf(lam).any():
        raise ValueError("lam must be finite and >= 0")
    nu = d / 2 - 1
    t = lam * d
    small = t < 1e-8
    ts = np.where(small, 1.0, t)
    # log M(t) = log Gamma(nu+1) + nu log(2/t) + log I_nu(t); ive(nu, t) = I_nu(t) e^{-t}.
    log_m = gammaln(nu + 1) + nu * np.log(2 / ts) + np.log(ive(nu, ts)) + ts
    tm = ts * ive(nu + 1, ts) / ive(nu, ts)
    # Small t: log M = t^2/(2d) + O(t^4), t M'/M = t^2/d + O(t^4), so H = log n - t^2/(2d).
    out = np.where(small, -t * t / (2 * d), log_m - tm)
    return np.log(n) + out


# ---------------------------------------------------------------------------------------
# Argmaxable classes (chapter 9046)
# ---------------------------------------------------------------------------------------
def _as_float64(x, name: str) -> Tensor:
    t = torch.as_tensor(x)
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{name} must be a real tensor, got dtype {t.dtype}")
    t = t.detach().to("cpu", torch.float64)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return t


def _check_classes(W, bias) -> tuple[Tensor, Tensor]:
    W64 = _as_float64(W, "W")
    if W64.dim() < 2 or W64.shape[-2] == 0 or W64.shape[-1] == 0:
        raise ValueError(f"W must have shape (..., n, d) with n, d >= 1, got {tuple(W64.shape)}")
    if bias is None:
        b64 = torch.zeros(W64.shape[:-1], dtype=torch.float64)
    else:
        b64 = _as_float64(bias, "bias")
        if b64.shape != W64.shape[:-1]:
            raise ValueError(
                f"bias must have shape {tuple(W64.shape[:-1])} (W's shape without d), "
                f"got {tuple(b64.shape)}"
            )
    return W64, b64


def _margins_lp(W: Tensor, b: Tensor, ks: list[int]) -> Tensor:
    """Exact LP margins of the classes ``ks`` of one matrix ``W`` (n, d) with biases ``b``.

    Two devices keep this fast and exact. (1) The per-class LPs (see :func:`argmax_margins`)
    share no variables, so they are stacked block-diagonally into one sparse LP maximising the
    sum of margins: a sum of independent maxima is maximised exactly when every block is at
    its own optimum. (2) Constraint generation: each block starts with a few competitors;
    dropping constraints can only raise the optimum, so a block whose solution satisfies
    *all* ``n - 1`` constraints is optimal for the full LP; otherwise its most violated
    competitors are added and the LP is solved again.
    """
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n, d = W.shape
    out = torch.ones(len(ks), dtype=torch.float64)  # n == 1: a lone class wins (margin 1)
    if n == 1 or not ks:
        return out
    Wn, bn = W.numpy(), b.numpy()
    nv = d + 2  # variables per block: z (d), u, t
    # Start from the competitors scoring highest at z = w_k, the natural probe.
    start = min(n - 1, 2 * d + 2)
    scores = Wn[ks] @ Wn.T + bn
    scores[np.arange(len(ks)), ks] = -np.inf
    active = [set(np.argsort(-scores[j])[:start].tolist()) for j in range(len(ks))]
    pending = list(range(len(ks)))
    for _ in range(n):  # each round adds >= 1 constraint to every unfinished block
        rows, cols, vals = [], [], []
        r0 = 0
        for blk, j in enumerate(pending):
            k, comp = ks[j], np.fromiter(active[j], dtype=np.int64)
            m = len(comp)
            c0 = blk * nv
            rr = r0 + np.arange(m)
            rows += [np.repeat(rr, d), rr, rr, [r0 + m, r0 + m]]
            cols += [np.tile(c0 + np.arange(d), m), np.full(m, c0 + d), np.full(m, c0 + d + 1),
                     [c0 + d, c0 + d + 1]]
            vals += [-(Wn[k] - Wn[comp]).ravel(), -(bn[k] - bn[comp]), np.ones(m), [-1.0, 1.0]]
            r0 += m + 1
        K = len(pending)
        A_ub = coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(r0, K * nv),
        ).tocsr()
        cost = np.zeros(K * nv)
        cost[np.arange(K) * nv + d + 1] = -1.0
        res = linprog(
            cost,
            A_ub=A_ub,
            b_ub=np.zeros(r0),
            bounds=np.tile(np.array([(-1.0, 1.0)] * d + [(0.0, 1.0), (-np.inf, 1.0)]), (K, 1)),
            method="highs",
        )
        if res.status != 0:  # pragma: no cover - always feasible (t = 0) and bounded (t <= 1)
            raise RuntimeError(f"linprog failed: {res.message}")
        x = res.x.reshape(K, nv)
        still = []
        for blk, j in enumerate(pending):
            k = ks[j]
            z, u, t = x[blk, :d], x[blk, d], x[blk, d + 1]
            margin = (Wn[k] - Wn) @ z + (bn[k] - bn) * u
            margin[k] = np.inf
            violated = np.nonzero(margin < t - 1e-9)[0]
            if violated.size == 0:
                out[j] = float(t)
            else:
                worst = violated[np.argsort(margin[violated])[: max(4, d + 1)]]
                active[j].update(worst.tolist())
                still.append(j)
        pending = still
        if not pending:
            return out
    raise RuntimeError("constraint generation did not converge")  # pragma: no cover


def argmax_margins(W, bias=None) -> Tensor:
    r"""Exact LP margin of every class: positive iff the class can be the strict argmax.

    Chapter *Unargmaxable words* (9046), eq. (eq-unargmaxable-words-lp). Class :math:`k` is
    argmaxable iff some :math:`z` gives :math:`(w_k-w_i)\cdot z + (b_k-b_i) > 0` for all
    :math:`i\ne k`. Homogenising with :math:`u>0` (divide :math:`z` by :math:`u`), this holds
    iff the linear programme

    .. math:: t^\star = \max t\ \ \text{s.t.}\ (w_k-w_i)\cdot z + (b_k-b_i)\,u \ge t\ (i\ne k),
              \ u \ge t,\ |z_j|\le 1,\ u\le 1

    has :math:`t^\star > 0`; no bound on :math:`\|z\|` is assumed, and a class that cannot win
    has :math:`t^\star = 0` exactly (``z = 0, u = 0`` is optimal). ``W`` and ``bias`` are
    divided by their largest absolute entry first, so :math:`t^\star` is scale-free. Solved
    with SciPy's HiGHS, all classes of one matrix in a single block-diagonal sparse LP.

    ``W``: (..., n, d); ``bias``: (..., n) or ``None``. Returns float64 margins (..., n) on the
    CPU. A single class (``n == 1``) is trivially argmaxable (margin 1).
    """
    W64, b64 = _check_classes(W, bias)
    scale = max(float(W64.abs().max()), float(b64.abs().max()) if b64.numel() else 0.0)
    if scale > 0:
        W64, b64 = W64 / scale, b64 / scale
    n = W64.shape[-2]
    Wf = W64.reshape(-1, *W64.shape[-2:])
    bf = b64.reshape(-1, n)
    out = torch.stack([_margins_lp(Wf[j], bf[j], list(range(n))) for j in range(Wf.shape[0])])
    return out.reshape(b64.shape)


def argmaxable(W, bias=None, *, tol: float = 1e-7, n_probe: int = 256, seed: int = 0) -> Tensor:
    r"""Which classes can be the **strict** argmax of :math:`Wz + b` for some input :math:`z`.

    Chapter *Unargmaxable words* (9046), definition (eq-unargmaxable-words-def) decided
    exactly by the LP of :func:`argmax_margins`: margin ``> tol``. The default ``tol = 1e-7``
    sits above HiGHS's solution accuracy (margins agree to ~3e-8 across formulations) and far
    below the margins of random class vectors (1e-4 or more). To save work, a class is
    first certified argmaxable if it already wins with a margin ``> tol`` (in the LP's
    normalisation, so the certificate is a feasible point of the LP) at a probe input:
    :math:`z = w_k` (which settles every class when all norms are equal and there is no bias),
    :math:`z = 0` (the largest bias) or one of ``n_probe`` seeded random Gaussian directions.
    Only the remaining classes get an LP, so the answer does not depend on the probes.

    ``W``: (..., n, d); ``bias``: (..., n) or ``None``. Returns a bool tensor (..., n) on the
    CPU. Ties never count: with no bias every class ties at :math:`z = 0`.
    """
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if isinstance(n_probe, bool) or not isinstance(n_probe, int) or n_probe < 0:
        raise ValueError(f"n_probe must be a non-negative integer, got {n_probe!r}")
    W64, b64 = _check_classes(W, bias)
    scale = max(float(W64.abs().max()), float(b64.abs().max()) if b64.numel() else 0.0)
    if scale > 0:
        W64, b64 = W64 / scale, b64 / scale
    n, d = W64.shape[-2:]
    Wf = W64.reshape(-1, n, d)
    bf = b64.reshape(-1, n)
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros(bf.shape, dtype=torch.bool)
    for j in range(Wf.shape[0]):
        Wj, bj = Wf[j], bf[j]
        if n == 1:
            out[j] = True
            continue
        # Probe inputs (z, u): z = w_k for every k, and random directions; u = 1 (bias on).
        rand = torch.randn(n_probe, d, generator=gen, dtype=torch.float64)
        probes = torch.cat([Wj, rand])
        probes = probes / probes.abs().amax(dim=1, keepdim=True).clamp_min(1e-300)
        probes = torch.cat([probes, torch.zeros(1, d, dtype=torch.float64)])
        scores = probes @ Wj.T + bj  # (P, n)
        top2 = scores.topk(2, dim=1)
        win_margin = torch.minimum(top2.values[:, 0] - top2.values[:, 1], torch.ones(()))
        certified = torch.zeros(n, dtype=torch.bool)
        ok = win_margin > tol
        certified[top2.indices[ok, 0]] = True
        rest = torch.nonzero(~certified).flatten()
        certified[rest] = _margins_lp(Wj, bj, rest.tolist()) > tol
        out[j] = certified
    return out.reshape(b64.shape)


def min_norm_in_hull(points, *, iters: int = 10_000, tol: float = 1e-14):
    r"""Minimum-norm point of the convex hull of the rows of ``points``, by Frank–Wolfe.

    Chapter *Unargmaxable words* (9046), eq. (eq-unargmaxable-words-minnorm): the article's
    test computes :math:`\min_{\alpha\in\Delta}\|\sum_i\alpha_i\,\Delta w_i\|` with
    :math:`\Delta w_i = w_k - w_i`; it is 0 iff class :math:`k` (no bias) is not argmaxable.
    Minimises :math:`\tfrac12\|x\|^2` over the hull with the *pairwise* Frank–Wolfe method:
    each step moves weight from the active point with the largest :math:`\langle D_i,x\rangle`
    to the point with the smallest, with exact line search. Plain Frank–Wolfe zigzags and
    converges only sublinearly when the answer lies on a face; the pairwise variant converges
    linearly on polytopes. Stops when the Frank–Wolfe duality gap
    :math:`\langle x, x - D_v\rangle` (at least :math:`\tfrac12(\|x\|^2-\|x^\star\|^2)`) is
    ``<= tol`` or after ``iters`` steps.

    ``points``: (m, d). Returns ``(norm, alpha, gap)``: float, float64 tensor (m,) of simplex
    weights, and the final duality gap. A norm of ``1e-7`` means "0 up to the solver", not a
    verdict — :func:`argmaxable` decides exactly.
    """
    D = _as_float64(points, "points")
    if D.dim() != 2 or D.shape[0] == 0 or D.shape[1] == 0:
        raise ValueError(f"points must have shape (m, d) with m, d >= 1, got {tuple(D.shape)}")
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    import numpy as np

    Dn = D.numpy()
    m = Dn.shape[0]
    i0 = int(np.linalg.norm(Dn, axis=1).argmin())
    alpha = np.zeros(m)
    alpha[i0] = 1.0
    x = Dn[i0].copy()
    gap = math.inf
    for _ in range(iters):
        g = Dn @ x
        v = int(g.argmin())
        gap = float(x @ x - g[v])
        if gap <= tol:
            break
        a = int(np.where(alpha > 0, g, -np.inf).argmax())
        step = Dn[v] - Dn[a]
        ss = float(step @ step)
        if ss == 0.0:
            break
        a_weight = alpha[a]
        gamma = min(max(float(g[a] - g[v]) / ss, 0.0), a_weight)
        alpha[v] += gamma
        if gamma >= a_weight:  # a "drop step": a leaves the active set exactly
            alpha[a] = 0.0
            x = alpha @ Dn  # recompute from the weights to keep rounding drift out
        else:
            alpha[a] -= gamma
            x = x + gamma * step
    return float(np.linalg.norm(x)), torch.from_numpy(alpha), gap
