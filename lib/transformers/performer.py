r"""Performer / FAVOR+: softmax attention through positive random features.

Chapter *Performer: softmax attention from positive random features*
(``chapters/transformers/performer-favor.md``), after Su Jianlin, kexue.fm/archives/7921, and
Choromanski et al. (2021), *Rethinking Attention with Performers* (arXiv:2009.14794).

The softmax kernel is an expectation over a Gaussian vector (eq. ``eq-performer-favor``),

.. math:: e^{q\cdot k} = \mathbb E_{\omega\sim\mathcal N(0,I_d)}
          \big[e^{\omega\cdot q-|q|^2/2}\,e^{\omega\cdot k-|k|^2/2}\big],

so ``m`` samples turn it into an inner product of ``m``-dimensional positive features and
attention into a linear-cost computation. In chapter order: the norms and the random matrix of
the ``omega`` (i.i.d. or orthogonal blocks; chi, fixed or quantile norms), the positive and the
trigonometric features, FAVOR+ attention (non-causal and causal), the single-sample estimates
and their exact variances, and the exact mean of the positive estimator at fixed norms (which
shows that Su's quantile norms are biased).

Contract: shared/contracts/transformers.md, section "Performer / FAVOR+ (7921)". Tensors in,
tensors out, dtype preserved (half precision is computed in float32); randomness only via
``generator=``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special, stats
from torch import Tensor

from lib import checks

__all__ = [
    "feature_norms",
    "random_feature_matrix",
    "positive_features",
    "trig_features",
    "favor_attention",
    "kernel_estimates",
    "softmax_kernel_variance",
    "fixed_norm_kernel_mean",
]

NORMS = ("chi", "sqrt_d", "quantile")
KINDS = ("positive", "trig", "hyp")


# ---------------------------------------------------------------------------------------
# the random directions and norms
# ---------------------------------------------------------------------------------------
def _check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def feature_norms(
    m: int, d: int, norms: str = "chi", *, generator: torch.Generator | None = None
) -> Tensor:
    r"""The ``m`` row norms :math:`|\omega_l|` used by :func:`random_feature_matrix`, float64
    ``(m,)`` (section 6, "Orthogonal features and Su's quantile norms").

    ``"chi"``: independent :math:`\chi_d` draws (norms of Gaussian vectors); ``"sqrt_d"``: all
    :math:`\sqrt d`; ``"quantile"`` (Su's proposal): :math:`R_i` with
    :math:`P(\chi^2_d \le R_i^2) = i/(m+1)`, ``i = 1..m``, in a random order.
    """
    m = checks.integer(m, "m", minimum=1)
    d = checks.integer(d, "d", minimum=1)
    checks.choice(norms, "norms", NORMS)
    _check_generator(generator)
    f64 = torch.float64
    if norms == "chi":
        return torch.randn(m, d, generator=generator, dtype=f64).norm(dim=-1)
    if norms == "sqrt_d":
        return torch.full((m,), math.sqrt(d), dtype=f64)
    levels = np.arange(1, m + 1) / (m + 1)
    radii = torch.tensor(np.sqrt(stats.chi2.ppf(levels, d)), dtype=f64)
    return radii[torch.randperm(m, generator=generator)]


def random_feature_matrix(
    m: int,
    d: int,
    *,
    orthogonal: bool = True,
    norms: str = "chi",
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""``(m, d)`` matrix whose rows are the random vectors :math:`\omega_l` (eq.
    ``eq-performer-favor``; orthogonal blocks: section 6).

    Rows come in consecutive blocks of ``d`` (the last one partial when ``d`` does not divide
    ``m``). ``orthogonal=True``: the rows of a block are exactly orthogonal, with directions
    from a Haar-random orthogonal matrix (QR of a Gaussian matrix with the signs of
    ``diag(R)`` fixed); blocks are independent. ``orthogonal=False``: i.i.d. uniform
    directions. Norms: ``"chi"`` independent :math:`\chi_d` (each row marginally
    :math:`\mathcal N(0, I)`; i.i.d. Gaussian rows when not orthogonal), ``"sqrt_d"`` all
    :math:`\sqrt d`, ``"quantile"`` (Su's proposal) the multiset
    :math:`\{\sqrt{F^{-1}_{\chi^2_d}(i/(m+1))}\}_{i=1..m}` in a random order. Drawn in float64,
    returned in ``dtype`` (default: torch's default dtype).
    """
    m = checks.integer(m, "m", minimum=1)
    d = checks.integer(d, "d", minimum=1)
    checks.choice(norms, "norms", NORMS)
    _check_generator(generator)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    f64 = torch.float64
    if orthogonal:
        blocks = -(-m // d)
        g = torch.randn(blocks, d, d, generator=generator, dtype=f64)
        qmat, r = torch.linalg.qr(g)
        qmat = qmat * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)  # Haar
        directions = qmat.transpose(-1, -2).reshape(blocks * d, d)[:m]  # rows of Haar Q^T
    else:
        g = torch.randn(m, d, generator=generator, dtype=f64)
        if norms == "chi":  # i.i.d. N(0, I) rows: norm and direction of one Gaussian
            return g.to(dtype)
        directions = g / g.norm(dim=-1, keepdim=True)
    radii = feature_norms(m, d, norms, generator=generator)
    return (directions * radii.unsqueeze(-1)).to(dtype)


# ---------------------------------------------------------------------------------------
# the two feature maps
# ---------------------------------------------------------------------------------------
def _features_setup(x, omega):
    checks.floating(x, "x", min_ndim=1)
    checks.floating(omega, "omega", ndim=2)
    if omega.shape[-1] != x.shape[-1]:
        raise ValueError(f"omega must have shape (m, {x.shape[-1]}) for x of shape "
                         f"{tuple(x.shape)}, got {tuple(omega.shape)}")
    if omega.shape[0] < 1:
        raise ValueError("omega must have at least one row (m >= 1)")
    work = checks.work_dtype(x.dtype)
    return x.to(work), omega.to(device=x.device, dtype=work), work


def positive_features(x: Tensor, omega: Tensor) -> Tensor:
    r"""Positive random features :math:`e^{\omega_l\cdot x-|x|^2/2}/\sqrt m`, ``(..., m)``
    (eq. ``eq-performer-favor``); column ``l`` belongs to ``omega[l]``.

    No stabiliser, no epsilon. The exponent equals :math:`|\omega_l|^2/2-|x-\omega_l|^2/2`, so
    a feature never exceeds :math:`e^{|\omega_l|^2/2}/\sqrt m` whatever ``x`` is; large ``x``
    only underflows to 0. :func:`favor_attention` never forms these features.
    """
    xw, om, work = _features_setup(x, omega)
    logits = xw @ om.T - 0.5 * (xw * xw).sum(-1, keepdim=True)
    return (torch.exp(logits) / math.sqrt(om.shape[0])).to(x.dtype)


def trig_features(x: Tensor, omega: Tensor) -> Tensor:
    r"""Trigonometric (random Fourier) features for :math:`e^{q\cdot k}`, ``(..., 2m)``:
    :math:`e^{|x|^2/2}/\sqrt m\,[\cos(x\omega^\top), \sin(x\omega^\top)]` (eq.
    ``eq-performer-fourier``); their inner product averages
    :math:`e^{(|q|^2+|k|^2)/2}\cos(\omega_l\cdot(q-k))`. Overflows once :math:`|x|^2/2`
    exceeds the log of the largest float, as the formula does.
    """
    xw, om, work = _features_setup(x, omega)
    proj = xw @ om.T
    scale = torch.exp(0.5 * (xw * xw).sum(-1, keepdim=True)) / math.sqrt(om.shape[0])
    return (scale * torch.cat([torch.cos(proj), torch.sin(proj)], dim=-1)).to(x.dtype)


# ---------------------------------------------------------------------------------------
# FAVOR+ attention
# ---------------------------------------------------------------------------------------
def _favor_noncausal(a: Tensor, b: Tensor, v: Tensor) -> Tensor:
    """FAVOR+ as a mixture over the m features (exact rewriting of the ratio).

    ``a (..., n_q, m)``: query logits (per-row constants dropped, they cancel);
    ``b (..., n_k, m)``: key logits w.l - |k|^2/2. Feature l carries the key average
    ``M_l = softmax_j(b_jl) @ v`` and the log-mass ``log Z_l = logsumexp_j b_jl``; query i mixes
    the ``M_l`` with weights ``softmax_l(a_il + log Z_l)``. Every exponential is <= 1.
    """
    log_z = torch.logsumexp(b, dim=-2)  # (..., m)
    mean_v = torch.softmax(b, dim=-2).transpose(-1, -2) @ v  # (..., m, d_v)
    mix = torch.softmax(a + log_z.unsqueeze(-2), dim=-1)  # (..., n_q, m)
    return mix @ mean_v


def _favor_causal(a: Tensor, b: Tensor, v: Tensor, chunk: int) -> Tensor:
    """Causal FAVOR+ by prefix sums, in log space: the mixture of :func:`_favor_noncausal`
    with running log-masses ``logcumsumexp_j<=i b_jl`` and running key averages. The values
    are shifted to ``v + t >= s > 0`` (``t`` per column, detached) so that their prefix sums
    can be taken in log space; the shift cancels exactly because every ``M_il`` is a convex
    combination. Positions are processed in chunks with the last prefix carried over."""
    lo, hi = v.detach().amin(-2, keepdim=True), v.detach().amax(-2, keepdim=True)
    tiny = torch.finfo(v.dtype).tiny
    s = torch.maximum(hi - lo, torch.maximum(hi.abs(), lo.abs())).clamp_min(tiny)
    t = s - lo  # v + t in [s, 2s]
    log_v = torch.log(v + t)  # (..., n, d_v)
    outs, carry_z, carry_v = [], None, None
    for start in range(0, b.shape[-2], chunk):
        bc, ac = b[..., start:start + chunk, :], a[..., start:start + chunk, :]
        lz = torch.logcumsumexp(bc, dim=-2)  # (..., c, m)
        lv = torch.logcumsumexp(bc.unsqueeze(-1) + log_v[..., start:start + chunk, None, :], dim=-3)
        if carry_z is not None:
            lz = torch.logaddexp(lz, carry_z)
            lv = torch.logaddexp(lv, carry_v)
        carry_z, carry_v = lz[..., -1:, :], lv[..., -1:, :, :]
        mean_v = torch.exp(lv - lz.unsqueeze(-1)) - t.unsqueeze(-2)  # (..., c, m, d_v)
        mix = torch.softmax(ac + lz, dim=-1)  # (..., c, m)
        outs.append((mix.unsqueeze(-2) @ mean_v).squeeze(-2))
    return torch.cat(outs, dim=-2)


def favor_attention(
    q: Tensor, k: Tensor, v: Tensor, omega: Tensor, *, causal: bool = False, scale: float | None = None
) -> Tensor:
    r"""FAVOR+ attention (eq. ``eq-performer-linear``): with
    :math:`\varphi` = :func:`positive_features` ``(·, omega)``, :math:`q'=\sqrt{s}\,q`,
    :math:`k'=\sqrt{s}\,k` (``scale`` :math:`s`, default :math:`1/\sqrt d`),

    .. math:: y_i = \frac{\sum_j \varphi(q'_i)\cdot\varphi(k'_j)\, v_j}
                         {\sum_j \varphi(q'_i)\cdot\varphi(k'_j)},

    the sums over :math:`j\le i` when ``causal`` (then ``n_q == n_k``). ``q (..., n_q, d)``,
    ``k (..., n_k, d)``, ``v (..., n_k, d_v)``, ``omega (m, d)`` → ``(..., n_q, d_v)``.

    Exact up to rounding, with no epsilon: the ratio is evaluated as a softmax-weighted mixture
    of per-feature key averages (the stabilisers are one constant per query row and one per
    feature shared by all keys, so they cancel). Time and memory are linear in ``n``; no
    ``n_q × n_k`` matrix is formed. ``scale=1.0`` gives the article's :math:`e^{q\cdot k}`.
    """
    checks.floating(q, "q", min_ndim=2)
    checks.floating(k, "k", min_ndim=2)
    checks.floating(v, "v", min_ndim=2)
    checks.floating(omega, "omega", ndim=2)
    d = q.shape[-1]
    if k.shape[-1] != d:
        raise ValueError(f"k must have the head size d={d} of q, got shape {tuple(k.shape)}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"v must have the n_k={k.shape[-2]} rows of k, got shape {tuple(v.shape)}")
    if k.shape[-2] < 1:
        raise ValueError("k must hold at least one key (n_k >= 1)")
    if omega.shape[-1] != d or omega.shape[0] < 1:
        raise ValueError(f"omega must have shape (m, {d}) with m >= 1, got {tuple(omega.shape)}")
    try:
        torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        raise ValueError(f"the leading dims of q {tuple(q.shape)}, k {tuple(k.shape)} and "
                         f"v {tuple(v.shape)} do not broadcast") from None
    if causal and q.shape[-2] != k.shape[-2]:
        raise ValueError(f"causal=True needs n_q == n_k, got q {tuple(q.shape)}, k {tuple(k.shape)}")
    for name, t in (("q", q), ("k", k), ("v", v), ("omega", omega)):
        checks.finite(t, name)
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    scale = checks.real(scale, "scale", low=0.0, low_open=True)
    out_dtype, work = q.dtype, checks.work_dtype(q.dtype)
    root = math.sqrt(scale)
    qs, ks, vw = root * q.to(work), root * k.to(work), v.to(work)
    om = omega.to(device=q.device, dtype=work)
    a = qs @ om.T  # the per-row constant -|q'|^2/2 cancels in the ratio
    b = ks @ om.T - 0.5 * (ks * ks).sum(-1, keepdim=True)
    if not causal:
        return _favor_noncausal(a, b, vw).to(out_dtype)
    chunk = max(1, (1 << 21) // (om.shape[0] * v.shape[-1] or 1))
    return _favor_causal(a, b, vw, chunk).to(out_dtype)


# ---------------------------------------------------------------------------------------
# exact variances and means of the single-sample estimators
# ---------------------------------------------------------------------------------------
def _pair(q, k):
    checks.floating(q, "q", min_ndim=1)
    checks.floating(k, "k", min_ndim=1)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"k must have the last dim {q.shape[-1]} of q, got shape {tuple(k.shape)}")
    try:
        torch.broadcast_shapes(q.shape, k.shape)
    except RuntimeError:
        raise ValueError(f"the shapes of q {tuple(q.shape)} and k {tuple(k.shape)} do not "
                         "broadcast") from None


def kernel_estimates(q: Tensor, k: Tensor, omega: Tensor, kind: str = "positive") -> Tensor:
    r"""One unbiased single-sample estimate of :math:`e^{q\cdot k}` per row of ``omega``,
    ``(m,)``, built from the feature maps (section 4, "Exact variances"): ``"positive"``
    :math:`m\,\varphi_l(q)\varphi_l(k)`, ``"trig"`` the sum of the cos and sin products,
    ``"hyp"`` the average of the positive estimates at :math:`\omega_l` and
    :math:`-\omega_l` (the antithetic pair, :math:`e^{-(|q|^2+|k|^2)/2}\cosh(\omega_l\cdot
    (q+k))`). ``q``, ``k`` are 1-D of size ``d``; ``omega (m, d)``.
    """
    checks.floating(q, "q", ndim=1)
    checks.floating(k, "k", ndim=1)
    if k.shape != q.shape:
        raise ValueError(f"k must have the shape of q {tuple(q.shape)}, got {tuple(k.shape)}")
    checks.choice(kind, "kind", KINDS)
    m = _features_setup(q, omega)[1].shape[0]
    if kind == "positive":
        return m * positive_features(q, omega) * positive_features(k, omega)
    if kind == "trig":
        return m * (trig_features(q, omega) * trig_features(k, omega)).view(2, m).sum(0)
    both = torch.cat([omega, -omega])
    return (2 * m * positive_features(q, both) * positive_features(k, both)).view(2, m).mean(0)


def softmax_kernel_variance(q: Tensor, k: Tensor, kind: str = "positive") -> Tensor:
    r"""Exact variance of one sample (one :math:`\omega\sim\mathcal N(0,I)`, no scale) of an
    unbiased estimator of :math:`e^{q\cdot k}` (eqs. ``eq-performer-var-pos``,
    ``eq-performer-var-trig``, ``eq-performer-var-hyp``); :math:`s=q+k`, :math:`u=q-k`:

    * ``"positive"``, :math:`Z=e^{\omega\cdot q-|q|^2/2}e^{\omega\cdot k-|k|^2/2}`:
      :math:`e^{2q\cdot k}(e^{|s|^2}-1)`;
    * ``"trig"``, :math:`Z=e^{(|q|^2+|k|^2)/2}\cos(\omega\cdot u)`:
      :math:`\tfrac12 e^{|q|^2+|k|^2}(1-e^{-|u|^2})^2`;
    * ``"hyp"``, :math:`Z=e^{-(|q|^2+|k|^2)/2}\cosh(\omega\cdot s)`:
      :math:`\tfrac12 e^{2q\cdot k}(e^{|s|^2}-1)(1-e^{-|s|^2})`.

    ``q (..., d)``, ``k (..., d)`` broadcast; returns ``(...)``. Evaluated as exponentials of
    sums times ``expm1`` factors (no ``inf * 0``).
    """
    _pair(q, k)
    checks.choice(kind, "kind", KINDS)
    work = checks.work_dtype(q.dtype)
    q, k = q.to(work), k.to(work)
    qq, kk, qk = (q * q).sum(-1), (k * k).sum(-1), (q * k).sum(-1)
    ss = qq + kk + 2 * qk
    if kind == "positive":
        out = torch.exp(2 * qk + ss) * -torch.expm1(-ss)
    elif kind == "trig":
        out = 0.5 * torch.exp(qq + kk) * torch.expm1(-(qq + kk - 2 * qk)) ** 2
    else:
        out = 0.5 * torch.exp(2 * qk + ss) * torch.expm1(-ss) ** 2
    return out


def fixed_norm_kernel_mean(q: Tensor, k: Tensor, norms) -> Tensor:
    r"""Exact mean of the positive estimator when :math:`\omega = R\,u` with :math:`u` uniform
    on the sphere and the norm :math:`R` fixed (eq. ``eq-performer-fixed-norm``):

    .. math:: \mathbb E_u\big[e^{R\,u\cdot s}\big]\,e^{-(|q|^2+|k|^2)/2}
              = {}_0F_1\!\big(;\tfrac d2;\tfrac{R^2|s|^2}{4}\big)\,e^{-(|q|^2+|k|^2)/2},

    one value per norm: ``q (..., d)``, ``k (..., d)``, ``norms`` 1-D (R values ≥ 0) →
    ``(..., R)`` in float64 via SciPy's ``hyp0f1`` (no autograd). Averaged over
    :math:`R\sim\chi_d` it gives :math:`e^{q\cdot k}`; averaged over Su's quantile norms it
    does not.
    """
    _pair(q, k)
    r = checks.float64_array(norms, "norms")
    if r.ndim != 1 or r.size < 1 or np.any(r < 0):
        raise ValueError(f"norms must be a non-empty 1-D array of values >= 0, got shape {r.shape}")
    qn = checks.float64_array(q, "q")
    kn = checks.float64_array(k, "k")
    s2 = ((qn + kn) ** 2).sum(-1)
    a = (qn**2).sum(-1) + (kn**2).sum(-1)
    d = q.shape[-1]
    vals = special.hyp0f1(d / 2, r**2 * s2[..., None] / 4) * np.exp(-a / 2)[..., None]
    return torch.tensor(vals, dtype=torch.float64)
