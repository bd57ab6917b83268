r"""Policy gradient and zeroth-order gradients of an argmax objective.

Chapter: ``chapters/optimization/policy-gradient-zeroth-order.md`` (kexue.fm article 7737).

A linear softmax policy over ``C`` classes, ``p(k | x_i) = softmax_k((X @ W)[i] / tau)``, with
``X`` of shape (n, d) (a bias is a column of ones), ``W`` of shape (d, C) and a reward table
``rewards`` (n, C), ``rewards[i, k] = r(y_i, k)``. Two objectives:

* the smooth surrogate ``J(W) = (1/n) sum_i sum_k p(k|x_i) rewards[i, k]``;
* the argmax objective ``R(W) = (1/n) sum_i rewards[i, argmax_k (X @ W)[i, k]]``.

Functions, in the order the chapter uses them:

* :func:`softmax_policy_grad_exact` — the exact ``grad_W J`` (eq-policy-gradient-zeroth-order-jac);
* :func:`reinforce_grad` — M single-draw REINFORCE estimates with a baseline
  (eq-policy-gradient-zeroth-order-reinforce);
* :func:`reinforce_variance_exact` — the exact total variance of one such estimate, by
  enumerating the classes (eq-policy-gradient-zeroth-order-var);
* :func:`zo_grad` — M single-draw Gaussian zeroth-order estimates (eq-policy-gradient-zeroth-order-zo);
* :func:`argmax_objective` — ``R(W)``;
* :func:`probit_smoothed_objective`, :func:`probit_smoothed_grad_exact` — the Gaussian
  smoothing ``E_U R(W + eps U)`` of the argmax objective, which is a multinomial-probit policy
  objective, and its exact gradient (eq-policy-gradient-zeroth-order-probit);
* :func:`grad_cosine` — the cosine between two gradients, flattened;
* :func:`grad_cosine_mc` — the cosine of a Monte-Carlo mean gradient with a reference, with a
  bootstrap standard error over batch means (the chapter's direction table).

Everything is NumPy in / NumPy out: array-likes are accepted, computation is float64, results
are float64 ``np.ndarray`` (or Python floats). Randomness comes only from ``rng``, a
``numpy.random.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr

from lib import checks
from lib.stats import bootstrap_se

__all__ = [
    "softmax_policy_grad_exact",
    "reinforce_grad",
    "reinforce_variance_exact",
    "zo_grad",
    "argmax_objective",
    "probit_smoothed_objective",
    "probit_smoothed_grad_exact",
    "grad_cosine",
    "grad_cosine_mc",
]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _policy_args(W, X, rewards, tau=None):
    """Validate the linear-policy arguments; return float64 arrays (and tau)."""
    W = checks.float64_array(W, "W")
    X = checks.float64_array(X, "X")
    rewards = checks.float64_array(rewards, "rewards")
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (d, C), got shape {W.shape}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {X.shape}")
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} columns but W has {W.shape[0]} rows")
    if X.shape[0] == 0 or W.shape[1] == 0:
        raise ValueError(f"X needs at least one row and W one column, got {X.shape}, {W.shape}")
    if rewards.shape != (X.shape[0], W.shape[1]):
        raise ValueError(f"rewards must have shape (n, C) = {(X.shape[0], W.shape[1])}, "
                         f"got {rewards.shape}")
    if tau is not None:
        tau = checks.real(tau, "tau", low=0.0, low_open=True)
    return W, X, rewards, tau


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_policy_grad_exact(W, X, rewards, tau=1.0) -> np.ndarray:
    r"""Exact gradient of the surrogate ``J(W) = (1/n) sum_i sum_k p(k|x_i) rewards[i, k]``.

    Eq. ``eq-policy-gradient-zeroth-order-jac``: with ``p_i = softmax(x_i W / tau)``,
    ``grad_W J = (1/n) sum_i x_i^T [p_i * (r_i - <p_i, r_i>)] / tau`` (the softmax Jacobian
    ``(diag p - p p^T)/tau`` applied to the rewards). Shape (d, C). Finite for logits of any
    size (the softmax is shifted by its maximum).

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: ``W`` or ``X`` not 2-D, ``X.shape[1] != W.shape[0]``, ``rewards`` not of
    shape (n, C), ``tau`` not finite and > 0, non-finite entries.
    """
    W, X, rewards, tau = _policy_args(W, X, rewards, tau)
    p = _softmax_rows(X @ W / tau)
    centred = rewards - (p * rewards).sum(axis=1, keepdims=True)
    return X.T @ (p * centred) / (tau * X.shape[0])


def _baselines(p: np.ndarray, rewards: np.ndarray, baseline) -> np.ndarray:
    """Per-example baselines b_i (shape (n,)) for the REINFORCE estimator."""
    n = p.shape[0]
    if baseline is None:
        return np.zeros(n)
    if isinstance(baseline, str):
        checks.choice(baseline, "baseline", ("mean", "optimal"))
        mean = (p * rewards).sum(axis=1)
        if baseline == "mean":
            return mean
        # ||grad_W log p(k|x)||_F^2 = ||x||^2 ||e_k - p||^2 / tau^2; the x- and tau-factors
        # cancel in the ratio, leaving weights p_k ||e_k - p||^2.
        sq = (1.0 - 2.0 * p) + (p * p).sum(axis=1, keepdims=True)
        w = p * sq
        den = w.sum(axis=1)
        num = (w * rewards).sum(axis=1)
        # A one-hot policy has zero score for its only class: every b gives variance 0.
        safe = np.where(den > 0, den, 1.0)
        return np.where(den > 0, num / safe, mean)
    if isinstance(baseline, bool):
        raise ValueError(f"baseline must be None, 'mean', 'optimal', a float or an (n,) array, "
                         f"got {baseline!r}")
    b = checks.float64_array(baseline, "baseline")
    if b.ndim == 0:
        return np.full(n, float(b))
    if b.shape != (n,):
        raise ValueError(f"baseline array must have shape (n,) = ({n},), got {b.shape}")
    return b


def reinforce_grad(W, X, rewards, M, rng, baseline=None, tau=1.0) -> np.ndarray:
    r"""M independent single-draw REINFORCE estimates of ``grad_W J``, shape (M, d, C).

    Eq. ``eq-policy-gradient-zeroth-order-reinforce``: draw ``y_{m,i} ~ p(.|x_i)`` for every
    example independently and return
    ``(1/n) sum_i (rewards[i, y_{m,i}] - b_i) outer(x_i, e_{y_{m,i}} - p_i) / tau``.
    The estimator is ``out.mean(0)``, its standard error ``out.std(0, ddof=1) / sqrt(M)``.

    ``baseline``: ``None`` (``b_i = 0``), ``"mean"`` (``b_i = sum_k p_ik rewards[i, k]``, exact),
    ``"optimal"`` (``b_i = sum_k p_k r_k ||g_k||^2 / sum_k p_k ||g_k||^2`` with
    ``g_k = grad_W log p(k|x_i)``, exact over all classes), a float, or an array of shape (n,).
    The classes are drawn by inverse CDF from ``rng.random((M, n))``: they depend only on
    ``(W, X, tau, M)`` and the state of ``rng``, not on ``rewards`` or ``baseline``.

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: as :func:`softmax_policy_grad_exact`, plus ``M`` not a positive int, ``rng``
    not a ``numpy.random.Generator``, an unknown baseline string, a baseline array not of
    shape (n,).
    """
    W, X, rewards, tau = _policy_args(W, X, rewards, tau)
    M = checks.integer(M, "M", minimum=1)
    checks.generator(rng)
    n, C = rewards.shape
    p = _softmax_rows(X @ W / tau)
    b = _baselines(p, rewards, baseline)
    uniforms = rng.random((M, n))
    cdf = np.cumsum(p, axis=1)[:, :-1]  # (n, C-1): the last edge is 1 by definition
    out = np.empty((M, X.shape[1], C))
    chunk = max(1, 2_000_000 // (n * C))
    for s in range(0, M, chunk):
        u = uniforms[s:s + chunk]
        y = (u[:, :, None] >= cdf[None]).sum(axis=2)  # (m, n) sampled classes
        coef = np.take_along_axis(rewards, y.T, axis=1).T - b  # (m, n)
        A = coef[:, :, None] * ((y[:, :, None] == np.arange(C)) - p[None])  # (m, n, C)
        m = len(u)
        # sum_i x_i outer (coef (e_y - p))_i for every draw at once: one (d, n) @ (n, m*C) product
        out[s:s + m] = (X.T @ A.transpose(1, 0, 2).reshape(n, m * C)).reshape(-1, m, C) \
            .transpose(1, 0, 2)
    return out / (n * tau)


def reinforce_variance_exact(W, X, rewards, baseline=None, tau=1.0) -> float:
    r"""Exact total variance (trace of the covariance) of one REINFORCE estimate.

    Eq. ``eq-policy-gradient-zeroth-order-var``: the draws are independent across examples, so
    ``tr Cov = (1/n^2) sum_i [ sum_k p_ik (r_ik - b_i)^2 ||x_i||^2 ||e_k - p_i||^2 / tau^2
    - ||grad_W J_i||^2 ]``, an enumeration over the C classes of every example. ``baseline`` as
    in :func:`reinforce_grad`. The MC variance of ``reinforce_grad(...)`` summed over the
    (d, C) entries estimates this number.

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: as :func:`reinforce_grad` (without ``M`` and ``rng``).
    """
    W, X, rewards, tau = _policy_args(W, X, rewards, tau)
    n = X.shape[0]
    p = _softmax_rows(X @ W / tau)
    b = _baselines(p, rewards, baseline)
    xsq = (X * X).sum(axis=1)
    sq = (1.0 - 2.0 * p) + (p * p).sum(axis=1, keepdims=True)  # ||e_k - p||^2
    second = xsq * (p * (rewards - b[:, None]) ** 2 * sq).sum(axis=1) / tau**2
    centred = rewards - (p * rewards).sum(axis=1, keepdims=True)
    mean_sq = xsq * ((p * centred) ** 2).sum(axis=1) / tau**2  # ||x_i (p*(r-<p,r>))/tau||^2
    return float(np.maximum(second - mean_sq, 0.0).sum() / n**2)


def zo_grad(fn, theta, eps, M, rng, baseline="f") -> np.ndarray:
    r"""M single-draw zeroth-order (Gaussian-smoothing) gradient estimates of ``fn`` at ``theta``.

    Eq. ``eq-policy-gradient-zeroth-order-zo``: ``g_m = (fn(theta + eps u_m) - b) u_m / eps``
    with ``u_m`` i.i.d. standard normal of theta's shape (``E u = 0``, ``E u u^T = I``), drawn as
    ``rng.standard_normal((M, *theta.shape))``, so they depend only on ``theta.shape``, ``M``
    and the state of ``rng``. Returns shape (M, *theta.shape). Whatever ``b``, for Gaussian
    ``u`` the mean is the gradient of the smoothed ``E_u fn(theta + eps u)`` (Stein's identity),
    even for a discontinuous ``fn``.

    ``fn`` is called with one float64 array of theta's shape at a time and must return a
    finite real scalar. ``baseline``: ``"f"`` (``b = fn(theta)``), ``None`` (``b = 0``),
    ``"optimal"`` (one scalar ``b = sum_m fn(theta + eps u_m) ||u_m||^2 / sum_m ||u_m||^2``
    from the same draws) or a float.

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: ``eps`` not finite and > 0, ``M`` not a positive int, ``rng`` not a
    Generator, an unknown baseline, ``theta`` non-finite, ``fn`` not callable or returning a
    non-finite or non-scalar value.
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    theta = checks.float64_array(theta, "theta")
    eps = checks.real(eps, "eps", low=0.0, low_open=True)
    M = checks.integer(M, "M", minimum=1)
    checks.generator(rng)
    if isinstance(baseline, str):
        checks.choice(baseline, "baseline", ("f", "optimal"))
    elif baseline is not None:
        if isinstance(baseline, bool):
            raise ValueError(f"baseline must be 'f', 'optimal', None or a float, got {baseline!r}")
        baseline = checks.real(baseline, "baseline")

    def call(t):
        v = fn(t)
        try:
            v = float(np.asarray(v, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise ValueError(f"fn must return a real scalar, got {v!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"fn returned a non-finite value {v!r}")
        return v

    u = rng.standard_normal((M,) + theta.shape)
    f = np.array([call(theta + eps * u[m]) for m in range(M)])
    if baseline == "f":
        b = call(theta.copy())
    elif baseline == "optimal":
        sq = (u * u).reshape(M, -1).sum(axis=1)
        b = float((f * sq).sum() / sq.sum()) if sq.sum() > 0 else float(f.mean())
    elif baseline is None:
        b = 0.0
    else:
        b = baseline
    return ((f - b) / eps).reshape((M,) + (1,) * theta.ndim) * u


def argmax_objective(W, X, rewards) -> float:
    r"""The argmax objective ``R(W) = (1/n) sum_i rewards[i, argmax_k (X @ W)[i, k]]``.

    Eq. ``eq-policy-gradient-zeroth-order-argmax``; ties go to the first maximal class (a
    measure-zero event under Gaussian perturbations of ``W``). Piecewise constant in ``W``.

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: as :func:`softmax_policy_grad_exact` (no ``tau``).
    """
    W, X, rewards, _ = _policy_args(W, X, rewards)
    k = (X @ W).argmax(axis=1)
    return float(rewards[np.arange(X.shape[0]), k].mean())


def _probit_parts(W, X, rewards, eps, nodes):
    W, X, rewards, _ = _policy_args(W, X, rewards)
    eps = checks.real(eps, "eps", low=0.0, low_open=True)
    nodes = checks.integer(nodes, "nodes", minimum=2, maximum=200)
    t, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)  # weights of E over a standard normal: they sum to 1
    z = X @ W
    sigma = eps * np.sqrt((X * X).sum(axis=1))  # noise std of every logit of example i
    if np.any(sigma <= 0):
        raise ValueError("X has an all-zero row: its logits are not perturbed (add a bias column)")
    a = (z[:, :, None] - z[:, None, :]) / sigma[:, None, None]  # a[i, k, j] = (z_k - z_j)/sigma
    C = z.shape[1]
    a[:, np.arange(C), np.arange(C)] = np.inf  # j = k contributes log Phi(inf) = 0
    lcdf = log_ndtr(a[..., None] + t)  # (n, C, C, Q)
    S = lcdf.sum(axis=2)  # (n, C, Q): log prod_{j != k} Phi(a_kj + t)
    return X, rewards, sigma, t, w, a, lcdf, S


def probit_smoothed_objective(W, X, rewards, eps, nodes=64) -> float:
    r"""The Gaussian-smoothed argmax objective ``E_U R(W + eps U)``, U i.i.d. standard normal.

    Eq. ``eq-policy-gradient-zeroth-order-probit``: the logits of example i move by
    ``eps ||x_i|| xi`` with ``xi ~ N(0, I_C)``, so the smoothed objective is the multinomial
    probit policy ``(1/n) sum_i sum_k rewards[i, k] P_ik`` with
    ``P_ik = E_t prod_{j != k} Phi((z_ik - z_ij)/sigma_i + t)``, ``sigma_i = eps ||x_i||``,
    evaluated by ``nodes``-point Gauss–Hermite quadrature in log space (error ~1e-12 at 64
    nodes for 3 classes).

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: as :func:`argmax_objective`, plus ``eps`` not finite and > 0, ``nodes``
    not an int in [2, 200], an all-zero row of ``X``.
    """
    X, rewards, _, _, w, _, _, S = _probit_parts(W, X, rewards, eps, nodes)
    P = np.exp(S) @ w  # (n, C)
    return float((P * rewards).sum(axis=1).mean())


def probit_smoothed_grad_exact(W, X, rewards, eps, nodes=64) -> np.ndarray:
    r"""Exact gradient of :func:`probit_smoothed_objective` with respect to ``W``, shape (d, C).

    Eq. ``eq-policy-gradient-zeroth-order-probit``: for ``j != k``,
    ``dP_k/dz_j = -(1/sigma) E_t[phi(a_kj + t) prod_{l != k, j} Phi(a_kl + t)]`` and
    ``dP_k/dz_k = -sum_{j != k} dP_k/dz_j``; then ``grad_W = (1/n) sum_i x_i^T dF_i/dz_i`` with
    ``F_i = sum_k rewards[i, k] P_ik``. By Stein's identity this is also the mean of
    :func:`zo_grad` applied to :func:`argmax_objective`. Gauss–Hermite quadrature, log space.

    Chapter: policy-gradient-zeroth-order (article 7737).

    ``ValueError``: as :func:`probit_smoothed_objective`.
    """
    X, rewards, sigma, t, w, a, lcdf, S = _probit_parts(W, X, rewards, eps, nodes)
    x = a[..., None] + t
    logphi = -0.5 * x * x - _LOG_SQRT_2PI
    # phi(a_kj+t) prod_{l != k,j} Phi(a_kl+t) = exp(log phi - log Phi(a_kj+t) + S_k); j = k -> 0
    with np.errstate(invalid="ignore"):
        terms = np.exp(logphi - lcdf + S[:, :, None, :])
    C = a.shape[1]
    terms[:, np.arange(C), np.arange(C)] = 0.0
    dP = -(terms @ w) / sigma[:, None, None]  # dP[i, k, j] = dP_ik/dz_ij, j != k
    dP[:, np.arange(C), np.arange(C)] = -dP.sum(axis=2)
    dF = np.einsum("ik,ikj->ij", rewards, dP)  # (n, C)
    return X.T @ dF / X.shape[0]


def grad_cosine(a, b) -> float:
    r"""Cosine of the angle between two gradients, both flattened: ``<a, b> / (|a| |b|)``.

    Used to compare directions (zeroth-order vs policy gradient). Chapter:
    policy-gradient-zeroth-order (article 7737).

    ``ValueError``: ``a`` and ``b`` of different sizes, non-finite, or one of them zero.
    """
    a = checks.float64_array(a, "a").ravel()
    b = checks.float64_array(b, "b").ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same number of entries, got {a.size} and {b.size}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0:
        raise ValueError("a is the zero vector: its direction is undefined")
    if nb == 0:
        raise ValueError("b is the zero vector: its direction is undefined")
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


def grad_cosine_mc(draws, ref, rng, batches=200, n_boot=500) -> tuple[float, float]:
    r"""Cosine of a Monte-Carlo gradient with ``ref``, and its bootstrap standard error.

    ``draws`` (M, ...) are single-draw gradient estimates (e.g. from :func:`zo_grad`); the
    estimate is ``grad_cosine(draws.mean(0), ref)``. Its standard error is the bootstrap
    (``lib.stats.bootstrap_se``, ``n_boot`` resamples drawn from ``rng``) of the cosine over
    ``batches`` means of ``M // batches`` consecutive draws each. Returns ``(cosine, se)``.

    Chapter: policy-gradient-zeroth-order (article 7737), the table comparing directions.

    ``ValueError``: ``M`` not a multiple of ``batches``, ``batches < 2``, one draw of another
    size than ``ref``, non-finite entries, a zero mean or ``ref``, ``rng`` not a Generator.
    """
    draws = checks.float64_array(draws, "draws")
    ref = checks.float64_array(ref, "ref").ravel()
    batches = checks.integer(batches, "batches", minimum=2)
    checks.generator(rng)
    if draws.ndim < 1 or draws.shape[0] % batches:
        raise ValueError(f"draws must have a multiple of batches = {batches} rows, "
                         f"got shape {draws.shape}")
    flat = draws.reshape(draws.shape[0], -1)
    if flat.shape[1] != ref.size:
        raise ValueError(f"draws has {flat.shape[1]} entries per draw but ref has {ref.size}")
    cos = grad_cosine(flat.mean(0), ref)
    means = flat.reshape(batches, -1, ref.size).mean(1)

    def stat(bm):  # (n_boot, batches, k) resampled batch means -> cosine of their mean
        m = bm.mean(-2)
        return (m @ ref) / (np.linalg.norm(m, axis=-1) * np.linalg.norm(ref))

    return cos, float(bootstrap_se(stat, means, n_boot=n_boot, rng=rng))
