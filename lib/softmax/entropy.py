"""Entropy of softmax attention and the entropy-invariant scale log n.

Chapter *Entropy-invariant softmax* (kexue.fm/archives/9034, 8823).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lib import checks

__all__ = [
    "softmax_entropy",
    "entropy_invariant_scale",
    "sphere_mean_field_entropy",
    "sphere_vectors",
    "random_key_entropy_scan",
    "plot_flat_scales",
]


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
    x = logits.to(checks.work_dtype(logits.dtype))
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
# Experiment and figure of the chapter *Entropy-invariant softmax* (moved from the notebook)
# ---------------------------------------------------------------------------------------
def sphere_vectors(m: int, dim: int, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float64) -> Tensor:
    r"""``m`` random vectors of norm :math:`\sqrt{dim}`, uniform in direction: the queries and
    keys of the random-key model (chapter *Entropy-invariant softmax* §3). Tensor out."""
    checks.integer(m, "m", minimum=1)
    checks.integer(dim, "dim", minimum=1)
    v = torch.randn(m, dim, generator=generator, dtype=dtype)
    return v / v.norm(dim=1, keepdim=True) * math.sqrt(dim)


def random_key_entropy_scan(ns, scales: dict, d: int, n_queries: int, n_draws: int,
                            generator: torch.Generator | None = None,
                            dtype: torch.dtype = torch.float32) -> dict:
    r"""Chapter *Entropy-invariant softmax* §5: attention entropy in the random-key model.

    For each ``n`` in ``ns`` and each of ``n_draws`` draws of ``n`` keys and ``n_queries``
    queries (:func:`sphere_vectors`, dimension ``d``), the entropy of
    ``softmax(scales[name](n) * S)`` for each scale. Returns ``H[name]`` (array
    ``len(ns) x n_draws`` of mean entropies), ``gap[name]`` (list of the per-draw mean of
    :math:`H-(\log n-\lambda(s_{\max}-\bar s))`, the slack of the lower bound
    eq. eq-entropy-invariant-softmax-bound) and ``min_slack`` (smallest slack of any row)."""
    checks.integer(d, "d", minimum=1)
    checks.integer(n_queries, "n_queries", minimum=1)
    checks.integer(n_draws, "n_draws", minimum=2)
    H = {k: np.zeros((len(ns), n_draws)) for k in scales}
    gap = {k: [] for k in scales}
    min_slack = math.inf
    for i, n in enumerate(ns):
        for r in range(n_draws):
            q = sphere_vectors(n_queries, d, generator, dtype)
            S = q @ sphere_vectors(n, d, generator, dtype).T
            spread_q = S.amax(1) - S.mean(1)
            for k, lam_of in scales.items():
                lv = lam_of(n)
                h = softmax_entropy(lv * S)
                H[k][i, r] = float(h.mean())
                slack_q = h - (math.log(n) - lv * spread_q)
                min_slack = min(min_slack, float(slack_q.min()))
                gap[k].append(float(slack_q.mean()))
    return {"H": H, "gap": gap, "min_slack": min_slack}


def plot_flat_scales(ns, mean: dict, se: dict, mf: dict, sigmas: dict, labels: dict, H0: float):
    r"""Figure of chapter *Entropy-invariant softmax* §5. Left: ``mean[name]`` ± 2 ``se`` against
    ``n`` with the mean-field curve ``mf[name]`` dotted and ``H0`` dashed; right:
    ``sigmas[name]`` (:math:`\lambda\sqrt d`) with the freezing line :math:`\sqrt{2\log n}`.
    Returns the figure."""
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8))
    for k in mean:
        line = ax.errorbar(ns, mean[k], yerr=2 * np.asarray(se[k]), marker="o", ms=3,
                           capsize=2, label=labels[k])
        ax.plot(ns, mf[k], ":", color=line[0].get_color())
        bx.plot(ns, sigmas[k], marker="o", ms=3, label=labels[k])
    ax.axhline(H0, color="k", lw=0.8, ls="--")
    bx.plot(ns, [math.sqrt(2 * math.log(n)) for n in ns], "k--", lw=1,
            label=r"freezing $\sqrt{2\log n}$")
    for a in (ax, bx):
        a.set_xscale("log", base=2)
        a.set_xlabel("number of keys $n$")
    ax.set_ylabel("attention entropy $H$ (nats)")
    bx.set_ylabel(r"$\sigma=\lambda\sqrt{d}$")
    ax.legend(fontsize=8)
    bx.set_ylim(0.8, 6.8)
    bx.legend(fontsize=8, ncol=2, loc="upper left")
    return fig
