"""Smooth top-k: GradTopK (exact, by leave-one-out symmetric polynomials) and ThreTopK.

Chapter *Smooth top-k* (kexue.fm/archives/10373). The article's iterative and recursive
procedures that the chapter shows failing are in ``lib.softmax.as_published``.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import torch
from torch import Tensor

from lib import checks
from lib.softmax.symmetric import log_elementary_symmetric

__all__ = [
    "grad_topk",
    "thre_topk",
    "topk_mask",
    "brute_grad_topk",
    "brent_thre_topk",
    "zk_identities_symbolic",
    "smooth_f_symbolic",
    "sigmoid_jacobians",
    "topk_audit_cases",
    "topk_audit",
    "plot_top2_limits",
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


# ---------------------------------------------------------------------------------------
# Experiments and figures of the chapter *Smooth top-k* (moved out of the notebook)
# ---------------------------------------------------------------------------------------
def topk_mask(x: Tensor, k: int) -> Tensor:
    r"""The hard top-k indicator :math:`\mathcal T_k(x)` along the last dim (chapter *Smooth
    top-k*, eq. eq-smooth-topk-properties). Ties are broken by ``torch.topk``."""
    _check_topk_args(x, k, -1)
    return torch.zeros_like(x).scatter(-1, x.topk(k, dim=-1).indices, 1.0)


def brute_grad_topk(x, k: int, dps: int | None = None) -> np.ndarray:
    """Reference :math:`Z_{k,i}/Z_k` by enumerating the k-subsets of a 1-D ``x`` (chapter *Smooth
    top-k*, eq. eq-smooth-topk-grad), in float64, or in ``dps``-digit mpmath if ``dps`` is set."""
    x = checks.float64_array(x, "x")
    if x.ndim != 1 or not np.isfinite(x).all():
        raise ValueError("x must be a finite 1-D array")
    checks.integer(k, "k", minimum=1, maximum=len(x))
    if dps is not None:
        checks.integer(dps, "dps", minimum=16)
        with mpmath.workdps(dps):
            num, z = [mpmath.mpf(0)] * len(x), mpmath.mpf(0)
            for s in itertools.combinations(range(len(x)), k):
                w = mpmath.exp(sum(mpmath.mpf(float(x[i])) for i in s))
                z += w
                for i in s:
                    num[i] += w
            return np.array([float(v / z) for v in num])
    num, z = np.zeros(len(x)), 0.0
    for s in itertools.combinations(range(len(x)), k):
        w = math.exp(sum(x[i] for i in s) - k * x.max())
        z += w
        num[list(s)] += w
    return num / z


_F_NP = {
    "exp": lambda z: np.minimum(1.0, np.exp(np.minimum(z, 0))),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "smooth": lambda z: np.where(z >= 0, 1 - 0.5 * np.exp(-np.abs(z)), 0.5 * np.exp(-np.abs(z))),
}


def brent_thre_topk(x, k: int, f: str = "exp") -> np.ndarray:
    r"""Reference ThreTopK (chapter *Smooth top-k*, eq. eq-smooth-topk-thre), 1-D NumPy: the
    threshold by SciPy's ``brentq`` (xtol 1e-14), independent of :func:`thre_topk`."""
    from scipy import optimize
    x = checks.float64_array(x, "x")
    if x.ndim != 1:
        raise ValueError("x must be 1-D")
    checks.integer(k, "k", minimum=1, maximum=len(x) - 1)
    fn = _F_NP[checks.choice(f, "f", tuple(_F_NP))]
    lam = optimize.brentq(lambda t: fn(x - t).sum() - k, x.min() - 60, x.max() + 60,
                          xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    return fn(x - lam)


def zk_identities_symbolic(n: int = 5, k: int = 3) -> bool:
    r"""Exact SymPy expansion behind chapter *Smooth top-k* §3 for ``n`` positive symbols
    :math:`y_i=e^{x_i}`: :math:`Z_{k,i}=y_i(Z_{k-1}-Z_{k-1,i})`, :math:`\sum_iZ_{k,i}=kZ_k` and
    eq. eq-smooth-topk-monotone. True iff all three hold identically."""
    import sympy as sp
    checks.integer(n, "n", minimum=3)
    checks.integer(k, "k", minimum=2, maximum=n - 1)
    y = sp.symbols(f"y1:{n + 1}", positive=True)
    e_k = lambda v, j: sum(sp.prod(c) for c in itertools.combinations(v, j))  # noqa: E731
    zk_i = lambda i, j: y[i] * e_k(y[:i] + y[i + 1:], j - 1)  # noqa: E731
    rec = all(sp.expand(zk_i(i, k) - y[i] * (e_k(y, k - 1) - zk_i(i, k - 1))) == 0
              for i in range(n))
    total = sp.expand(sum(zk_i(i, k) for i in range(n)) - k * e_k(y, k)) == 0
    mono = sp.expand(zk_i(0, k) - zk_i(1, k) - (y[0] - y[1]) * e_k(y[2:], k - 1)) == 0
    return bool(rec and total and mono)


def smooth_f_symbolic() -> dict:
    r"""Exact SymPy facts behind chapter *Smooth top-k* §4 (eq. eq-smooth-topk-smooth-lambda):
    ``c1`` (the smooth f and f' are continuous at 0), ``c2_jump`` (f''(0+) - f''(0-)),
    ``alt_form`` (f = (1 - e^{-|z|}) sign(z)/2 + 1/2 on both sides of 0), ``exp_kink``
    (left minus right slope of min(1, e^z) at 0), ``root`` (the root solves the quadratic)."""
    import sympy as sp
    z, m, k = sp.symbols("z m k", real=True)
    up, lo = 1 - sp.exp(-z) / 2, sp.exp(z) / 2
    jump = [sp.diff(up, z, r).subs(z, 0) - sp.diff(lo, z, r).subs(z, 0) for r in (0, 1, 2)]
    zp, zn = sp.symbols("z_p", positive=True), sp.symbols("z_n", negative=True)
    alt = lambda t: (1 - sp.exp(-sp.Abs(t))) * sp.sign(t) / 2 + sp.Rational(1, 2)  # noqa: E731
    A, B = sp.symbols("A_p B_p", positive=True)
    u = B / (sp.sqrt((k - m) ** 2 + A * B) + (k - m))
    return {
        "c1": all(sp.simplify(j) == 0 for j in jump[:2]),
        "c2_jump": jump[2],
        "alt_form": sp.simplify(alt(zp) - up.subs(z, zp)) == 0
        and sp.simplify(alt(zn) - lo.subs(z, zn)) == 0,
        "exp_kink": int(sp.diff(sp.exp(z), z).subs(z, 0) - sp.diff(sp.Integer(1), z)),
        "root": sp.simplify(A * u**2 + 2 * (k - m) * u - B) == 0,
    }


def sigmoid_jacobians(x: Tensor, k: int, h: float = 1e-5) -> tuple:
    """Chapter *Smooth top-k* §4, eq. eq-smooth-topk-ift, for ThreTopK with the sigmoid at a
    1-D float64 ``x``: (autograd Jacobian, central finite differences with step ``h``, the
    implicit-function formula diag(s') - s' s'^T / sum s')."""
    checks.real(h, "h", low=0, low_open=True)
    f = lambda t: thre_topk(t, k, "sigmoid")  # noqa: E731
    J = torch.autograd.functional.jacobian(f, x)
    J_fd = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h)
                        for e in torch.eye(len(x), dtype=x.dtype)], 1)
    ds = f(x) * (1 - f(x))
    return J, J_fd, torch.diag(ds) - torch.outer(ds, ds) / ds.sum()


def topk_audit_cases(rng: np.random.Generator, n_max: int = 10, per: int = 8) -> list:
    r"""Chapter *Smooth top-k* §5: for every ``3 <= n <= n_max``, ``1 <= k < n``, ``per``
    vectors :math:`x\sim\mathcal N(0,4I)` and ``per`` random permutations of
    ``0..n-1`` (gaps of one). Returns a list of ``(x, k, perm)`` float64 tensors."""
    checks.generator(rng, "rng")
    checks.integer(n_max, "n_max", minimum=3), checks.integer(per, "per", minimum=1)
    cases = []
    for n in range(3, n_max + 1):
        for k in range(1, n):
            perms = torch.tensor(np.array([rng.permutation(n) for _ in range(per)]),
                                 dtype=torch.float64)
            x = torch.tensor(rng.normal(size=(per, n)) * 2, dtype=torch.float64)
            cases.append((x, k, perms))
    return cases


def topk_audit(fn, cases: list, tau: float = 0.05, shift: float = 5.3) -> dict:
    """Worst violations of the properties (eq. eq-smooth-topk-properties) of a top-k map
    ``fn(x, k)`` over ``cases`` (chapter *Smooth top-k* §5): ``sum`` = max |sum - k|,
    ``low`` = min entry, ``high`` = max entry - 1, ``order`` = worst order reversal,
    ``shift`` = max change under ``x + shift``, ``limit`` = max deviation from T_k at ``perm /
    tau`` over max(k, n-k, C e^{-1/(2tau)}) e^{-1/(2tau)}, C = max(C(n-1,k-1), C(n-1,k));
    ``grad_limit`` = the same over GradTopK's bound C e^{-1/tau}."""
    checks.real(tau, "tau", low=0, low_open=True)
    r = dict(sum=0.0, low=0.0, high=0.0, order=0.0, shift=0.0, limit=0.0, grad_limit=0.0)
    for x, k, perm in cases:
        p = fn(x, k)
        r["sum"] = max(r["sum"], float((p.sum(-1) - k).abs().max()))
        r["low"] = min(r["low"], float(p.min()))
        r["high"] = max(r["high"], float(p.max()) - 1)
        rev = p.gather(-1, torch.argsort(x, -1)).diff(dim=-1).neg().max()
        r["order"] = max(r["order"], float(rev))
        r["shift"] = max(r["shift"], float((fn(x + shift, k) - p).abs().max()))
        n, e = x.shape[-1], math.exp(-0.5 / tau)
        n_sub = max(math.comb(n - 1, k - 1), math.comb(n - 1, k))
        dev = float((fn(perm / tau, k) - topk_mask(perm, k)).abs().max())
        r["limit"] = max(r["limit"], dev / (max(k, n - k, n_sub * e) * e))
        r["grad_limit"] = max(r["grad_limit"], dev / (n_sub * e * e))
    return r


def plot_top2_limits(curves: dict, x: Tensor, taus, tau_star: float):
    """Figure of chapter *Smooth top-k* §5: entries of the largest and second-largest input
    of ``fn(x / tau, 2)`` for each ``fn`` in ``curves`` against ``tau`` (dashed when the
    name contains "naive"), with a dotted line at ``tau_star``. Returns the figure."""
    import matplotlib.pyplot as plt
    order = x.argsort(descending=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for name, fn in curves.items():
        vals = torch.stack([fn(x / float(t), 2) for t in taus]).numpy()
        style = "--" if "naive" in name else "-"
        for ax, i in zip(axes, order[:2], strict=True):
            ax.semilogx(taus, vals[:, int(i)], style, label=name)
    for ax, title in zip(axes, ["largest input", "runner-up"], strict=True):
        ax.axvline(tau_star, color="k", ls=":", lw=0.8)
        ax.set_xlabel(r"temperature $\tau$")
        ax.set_title(title)
    axes[0].invert_xaxis()  # the panels share x: one call inverts both (a second would undo it)
    axes[0].set_ylabel(r"$[\mathcal{ST}_2(x/\tau)]_i$")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
