"""Smooth top-k: GradTopK (exact, by leave-one-out symmetric polynomials) and ThreTopK.

Chapter *Smooth top-k* (kexue.fm/archives/10373). The article's iterative and recursive
procedures that the chapter shows failing are in ``lib.softmax.as_published``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks
from lib.softmax.symmetric import log_elementary_symmetric

__all__ = [
    "grad_topk",
    "thre_topk",
]


# ---------------------------------------------------------------------------------------
# Smooth top-k: GradTopK and ThreTopK (chapter 10373)
# ---------------------------------------------------------------------------------------
_THRE_TOPK_FS = ("exp", "sigmoid", "smooth")


def _check_topk_args(x: Tensor, k: int, dim: int) -> int:
    """Validate ``x`` (finite, float, non-scalar) and ``0 <= k <= n``; return ``n``."""
    checks.no_nan(x, "x")
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
    z = x.movedim(dim, -1).to(checks.work_dtype(x.dtype))
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
    z = x.movedim(dim, -1).to(checks.work_dtype(x.dtype))
    if f == "sigmoid":
        out = torch.sigmoid(z - _thre_lambda_sigmoid(z, k, tol, max_iter))
    else:
        xs = z.sort(dim=-1, descending=True).values
        if f == "exp":
            out = torch.exp(torch.clamp(z - _thre_lambda_exp(xs, k), max=0))
        else:
            out = _smooth_f(z - _thre_lambda_smooth(xs, k))
    return out.to(x.dtype).movedim(-1, dim)
