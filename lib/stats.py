"""Standard errors and tests for the book's experiments (one place, every chapter).

A claim about an estimate carries its standard error: these helpers compute it. They accept
NumPy arrays or torch tensors and return the same kind (float64 for NumPy; the input's dtype for
torch), reducing along ``dim`` (default: the last dimension, i.e. the samples).

* :func:`mean_se` — sample mean and its standard error ``s/sqrt(n)``;
* :func:`z_score` — a mean divided by its standard error (paired: pass the differences);
* :func:`diff_z` — the difference of two independent means in units of its standard error;
* :func:`paired_t` — the paired t-statistic with its degrees of freedom and two-sided p-value
  (SciPy's ``ttest_rel``, so the p-value comes from the t distribution, not a normal guess);
* :func:`bootstrap` / :func:`bootstrap_se` — a paired bootstrap over the rows of one or more
  samples: every resample draws the *same* rows from each argument, so differences between
  methods evaluated on the same test set keep their pairing;
* :func:`proportion_se` — the binomial standard error of a fraction;
* :func:`mc_tolerance` — ``sigmas`` standard errors, with the one-sided normal tail that many
  sigmas leave, for ``why=`` strings.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats as _sps

from lib import checks

__all__ = [
    "mean_se",
    "z_score",
    "diff_z",
    "paired_t",
    "bootstrap",
    "bootstrap_se",
    "proportion_se",
    "mc_tolerance",
]


def _values(x, name: str):
    if isinstance(x, torch.Tensor):
        checks.tensor(x, name, min_ndim=1)
        return x if x.is_floating_point() else x.double()
    arr = checks.float64_array(x, name, finite_only=False)
    if arr.ndim == 0:
        raise ValueError(f"{name} needs at least one dimension of samples, got a scalar")
    return arr


def mean_se(x, dim: int = -1):
    """Sample mean of ``x`` along ``dim`` and its standard error ``std(ddof=1)/sqrt(n)``.

    Returns ``(mean, se)`` of the input's kind. ``ValueError`` with fewer than two samples.
    """
    v = _values(x, "x")
    n = v.shape[dim]
    if n < 2:
        raise ValueError(f"x needs at least 2 samples along dim={dim}, got {n}")
    if isinstance(v, torch.Tensor):
        return v.mean(dim), v.std(dim, correction=1) / math.sqrt(n)
    return v.mean(axis=dim), v.std(axis=dim, ddof=1) / math.sqrt(n)


def z_score(x, dim: int = -1):
    """``mean(x) / se(x)`` along ``dim``: how many standard errors the mean is from 0.

    For a paired comparison pass the per-sample differences ``a - b``.
    """
    m, se = mean_se(x, dim)
    return m / se


def diff_z(a, b=None, dim: int = -1) -> tuple[float, float]:
    """``(difference of means, z)`` for two independent samples ``a`` and ``b``:
    ``z = (mean a - mean b) / sqrt(se_a^2 + se_b^2)``. With ``b=None``, ``a`` holds paired
    differences and this is ``(mean a, z_score(a))``. Returns Python floats (1-D input).
    """
    if b is None:
        m, se = mean_se(a, dim)
        return float(m), float(m / se)
    (ma, sa), (mb, sb) = mean_se(a, dim), mean_se(b, dim)
    return float(ma - mb), float((ma - mb) / math.hypot(float(sa), float(sb)))


def paired_t(a, b) -> dict:
    """Paired t-test of ``mean(a - b) = 0`` over 1-D samples ``a``, ``b`` of equal length.

    Returns ``{"diff", "se", "t", "dof", "p", "n_positive"}``: the mean difference, its
    standard error, the t statistic, the degrees of freedom ``n - 1``, the two-sided p-value
    (from SciPy's ``ttest_rel``) and how many pairs have ``a > b``.
    """
    a = np.asarray(_to_numpy(_values(a, "a")), dtype=np.float64)
    b = np.asarray(_to_numpy(_values(b, "b")), dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be 1-D of one length, got {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError(f"a needs at least 2 paired samples, got {a.size}")
    d = a - b
    res = _sps.ttest_rel(a, b)
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    return {
        "diff": float(d.mean()),
        "se": se,
        "t": float(res.statistic),
        "dof": int(d.size - 1),
        "p": float(res.pvalue),
        "n_positive": int((d > 0).sum()),
    }


def _to_numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def bootstrap(statistic, *samples, n_boot: int = 500, rng: np.random.Generator, dim: int = 0):
    """Paired bootstrap: ``statistic(*resampled)`` for ``n_boot`` resamples of the rows.

    Every sample is indexed along ``dim`` with the same row indices in each resample, so a
    statistic of several methods' results on one test set keeps the pairing. ``statistic``
    receives arrays/tensors with a new leading axis of length ``n_boot`` inserted before the
    resampled rows (vectorised), and must reduce the rows; the result is stacked as returned.
    """
    checks.integer(n_boot, "n_boot", minimum=2)
    checks.generator(rng)
    if not samples:
        raise ValueError("samples: give at least one sample to resample")
    n = samples[0].shape[dim]
    for i, s in enumerate(samples):
        if s.shape[dim] != n:
            raise ValueError(f"samples[{i}] has {s.shape[dim]} rows along dim={dim}, expected {n}")
    if n < 2:
        raise ValueError(f"samples need at least 2 rows along dim={dim}, got {n}")
    idx = rng.integers(0, n, size=(n_boot, n))
    out = []
    for s in samples:
        if isinstance(s, torch.Tensor):
            out.append(s.index_select(dim, torch.as_tensor(idx.ravel(), device=s.device))
                       .unflatten(dim, (n_boot, n)).movedim(dim, 0))
        else:
            out.append(np.moveaxis(np.take(np.asarray(s), idx, axis=dim), dim, 0))
    return statistic(*out)


def bootstrap_se(statistic, *samples, n_boot: int = 500, rng: np.random.Generator, dim: int = 0):
    """Standard deviation over paired bootstrap resamples of ``statistic`` (see :func:`bootstrap`)."""
    reps = bootstrap(statistic, *samples, n_boot=n_boot, rng=rng, dim=dim)
    if isinstance(reps, torch.Tensor):
        return reps.double().std(0, correction=1)
    return np.asarray(reps, dtype=np.float64).std(axis=0, ddof=1)


def proportion_se(p, n):
    """Binomial standard error ``sqrt(p(1-p)/n)`` of a fraction ``p`` estimated from ``n`` draws."""
    n = checks.integer(n, "n", minimum=1) if not hasattr(n, "shape") else n
    if isinstance(p, torch.Tensor):
        if ((p < 0) | (p > 1)).any():
            raise ValueError("p must lie in [0, 1]")
        return (p * (1 - p) / n).sqrt()
    arr = checks.float64_array(p, "p")
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    out = np.sqrt(arr * (1 - arr) / n)
    return float(out) if out.ndim == 0 else out


def mc_tolerance(se, sigmas: float = 4.0) -> tuple[float, str]:
    """``(sigmas * se, why)``: a Monte-Carlo tolerance and the sentence that justifies it.

    The sentence states the two-sided normal tail probability of exceeding it by chance
    (e.g. 4 sigma: ~6e-5), so a claim's ``why=`` says what the tolerance costs.
    """
    se = checks.real(float(se), "se", low=0.0)
    sigmas = checks.real(sigmas, "sigmas", low=0.0, low_open=True)
    tail = math.erfc(sigmas / math.sqrt(2))
    return sigmas * se, f"{sigmas:g} Monte-Carlo standard errors (se={se:.2g}; two-sided P ~ {tail:.0e})"
