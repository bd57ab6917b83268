"""Exponentiated gradient descent and a meta-learned per-coordinate step size.

Chapter: ``chapters/optimization/exponentiated-gradient.md`` (kexue.fm article 8968).

* :func:`eg_step` — one exponentiated-gradient (EG) step ``theta * exp(-eta * grad)``,
  Eq. ``eq-exponentiated-gradient-eg``: mirror descent with the entropy mirror map, which keeps
  a non-negative vector non-negative;
* :func:`eg_local_rate` — the local linear rate of EG at a non-negative least-squares
  solution, Eq. ``eq-exponentiated-gradient-rate``;
* :func:`meta_lr_step` — one step of the meta-learned step-size rule,
  Eq. ``eq-exponentiated-gradient-meta``: the multipliers ``nu`` take an EG step on the
  hypergradient ``-eta * g_prev * g`` (``mode="product"``, the article's rule) or on its sign
  only (``mode="sign"``, a Rprop-like variant that is not in the article), clipped to
  ``[-50, 50]`` in the exponent, then ``theta`` takes a gradient step scaled by ``nu``;
* :func:`meta_lr_descent` — the whole run from ``theta0`` with ``nu_1 = 1``.

Experiment drivers of the chapter (plain loops over the functions above):

* :func:`eg_nnls_run` — EG (or gradient descent in log-coordinates) on a batch of non-negative
  least-squares problems, with the error and objective gap along the run;
  :func:`lsq_loss_rounding_bound` — the float64 error bound of the computed objective;
* :func:`meta_phase_map` — the meta rule on ``theta^2 / 2`` over a grid of ``(eta, kappa)``;
* :func:`gd_diag_rel_loss`, :func:`meta_diag_rel_loss` — relative loss curves of gradient descent
  (closed form) and of the meta rule on a diagonal quadratic.

Everything is NumPy in / NumPy out: array-likes are accepted, computation is float64, and
the results are float64 ``np.ndarray``. There is no randomness.
"""

from __future__ import annotations

import numpy as np

from lib import checks

__all__ = ["eg_step", "eg_local_rate", "meta_lr_step", "meta_lr_descent", "META_CLIP", "META_MODES",
           "eg_nnls_run", "lsq_loss_rounding_bound", "meta_phase_map", "gd_diag_rel_loss", "meta_diag_rel_loss"]

#: Bound on the exponent of one multiplicative step-size update (both modes).
META_CLIP = 50.0
#: The two step-size rules: the article's ``"product"`` and the sign-only variant ``"sign"``.
META_MODES = ("product", "sign")


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")


def eg_step(theta, grad, eta) -> np.ndarray:
    """One exponentiated-gradient step, Eq. ``eq-exponentiated-gradient-eg``.

    Returns ``theta * exp(-eta * grad)`` elementwise (float64, the shape of ``theta``). It is
    the mirror-descent step with the entropy mirror map on the non-negative orthant: zero
    entries stay exactly zero and positive entries stay positive (until they underflow). An
    entry whose true value exceeds the float64 range comes back as ``inf``, never ``NaN``.

    Chapter: exponentiated-gradient (article 8968).

    ``ValueError``: ``grad`` not of ``theta``'s shape, ``theta`` with a negative or non-finite
    entry, ``grad`` non-finite, ``eta`` negative or non-finite.
    """
    theta = checks.float64_array(theta, "theta")
    grad = checks.float64_array(grad, "grad")
    _same_shape(theta, grad, "theta", "grad")
    if np.any(theta < 0):
        raise ValueError("theta must be non-negative (EG lives on the non-negative orthant)")
    eta = checks.real(eta, "eta", low=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        factor = np.exp(-eta * grad)
        # 0 * inf would be NaN: a zero entry is a fixed point of the update, whatever the factor.
        return np.where(theta > 0, theta * factor, 0.0)


def eg_local_rate(A, b, theta_star, eta) -> float:
    """Local linear rate of EG on ``min_{theta >= 0} ||A theta - b||^2 / 2`` at its solution.

    Implements Eq. ``eq-exponentiated-gradient-rate``: with the active set ``S = {theta* > 0}``,
    ``D = diag(theta*_S)``, ``H = A^T A`` and the multipliers ``mu = H theta* - A^T b`` (positive
    off ``S`` at a strictly complementary solution), the rate is
    ``max(max_j |1 - eta lambda_j(D^1/2 H_SS D^1/2)|, max_{i not in S} exp(-eta mu_i))``: the
    error of EG near ``theta*`` shrinks like ``rho**t``. Returns ``rho`` as a float (``>= 1``
    means the linearisation is not contracting). ``theta_star`` must be the solution (e.g. from
    ``scipy.optimize.nnls``); this function does not check optimality.

    Chapter: exponentiated-gradient (article 8968).

    ``ValueError``: ``A`` not 2-D, ``b`` not of shape ``(A.shape[0],)``, ``theta_star`` not of
    shape ``(A.shape[1],)`` or with a negative entry, non-finite entries, ``eta`` not finite
    and > 0.
    """
    A = checks.float64_array(A, "A")
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D, got shape {A.shape}")
    b = checks.float64_array(b, "b")
    if b.shape != (A.shape[0],):
        raise ValueError(f"b must have shape ({A.shape[0]},), got {b.shape}")
    theta_star = checks.float64_array(theta_star, "theta_star")
    if theta_star.shape != (A.shape[1],):
        raise ValueError(f"theta_star must have shape ({A.shape[1]},), got {theta_star.shape}")
    if np.any(theta_star < 0):
        raise ValueError("theta_star must be non-negative")
    eta = checks.real(eta, "eta", low=0.0, low_open=True)
    act = theta_star > 0
    H = A.T @ A
    mu = H @ theta_star - A.T @ b
    d = np.sqrt(theta_star[act])
    lam = np.linalg.eigvalsh(d[:, None] * H[np.ix_(act, act)] * d[None, :])
    active = float(np.abs(1 - eta * lam).max(initial=0.0))
    inactive = float(np.exp(-eta * mu[~act]).max(initial=0.0))
    return max(active, inactive)


def _meta_exponent(g_prev: np.ndarray, g: np.ndarray, gamma: float, mode: str) -> np.ndarray:
    """The clipped exponent ``e`` of the multiplier update (no argument checks)."""
    with np.errstate(over="ignore", invalid="ignore"):
        prod = g_prev * g
        raw = gamma * (prod if mode == "product" else np.sign(prod))
    return np.clip(raw, -META_CLIP, META_CLIP)


def _meta_core(theta, nu, g, g_prev, eta, gamma, mode):
    """One unchecked step of Eq. ``eq-exponentiated-gradient-meta``; returns (theta, nu)."""
    if g_prev is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            nu = nu * np.exp(_meta_exponent(g_prev, g, gamma, mode))
    with np.errstate(over="ignore", invalid="ignore"):
        return theta - eta * nu * g, nu


def meta_lr_step(theta, nu, g, g_prev, eta, gamma, mode: str = "product"):
    """One step of the meta-learned step-size rule, Eq. ``eq-exponentiated-gradient-meta``.

    ``g`` is the gradient at ``theta``, ``g_prev`` the gradient at the previous iterate
    (``None`` on the first step). The multipliers take one EG step,
    ``nu_new = nu * exp(e)`` with ``e = clip(gamma * g_prev * g, -50, 50)`` (``mode="product"``,
    the article's rule) or ``e = clip(gamma * sign(g_prev * g), -50, 50)`` (``mode="sign"``,
    ``sign(0) = 0``); with ``g_prev=None``, ``nu_new = nu``. Then
    ``theta_new = theta - eta * nu_new * g``. Returns ``(theta_new, nu_new)``, float64 arrays of
    ``theta``'s shape. ``gamma = 0`` is a plain gradient step of size ``eta * nu``.

    Chapter: exponentiated-gradient (article 8968).

    ``ValueError``: unknown ``mode``; ``nu``, ``g`` or ``g_prev`` not of ``theta``'s shape;
    non-finite entries in any array; ``nu`` with a negative entry; ``eta`` or ``gamma`` negative
    or non-finite. With finite inputs the result can still overflow to ``inf`` when
    ``nu * exp(e)`` exceeds the float64 range (a diverging run).
    """
    checks.choice(mode, "mode", META_MODES)
    theta = checks.float64_array(theta, "theta")
    nu = checks.float64_array(nu, "nu")
    g = checks.float64_array(g, "g")
    _same_shape(theta, nu, "theta", "nu")
    _same_shape(theta, g, "theta", "g")
    if g_prev is not None:
        g_prev = checks.float64_array(g_prev, "g_prev")
        _same_shape(theta, g_prev, "theta", "g_prev")
    if np.any(nu < 0):
        raise ValueError("nu must be non-negative (it multiplies the step size)")
    eta = checks.real(eta, "eta", low=0.0)
    gamma = checks.real(gamma, "gamma", low=0.0)
    return _meta_core(theta, nu, g, g_prev, eta, gamma, mode)


def meta_lr_descent(grad_fn, theta0, eta, gamma, steps, mode: str = "product"):
    """Run the meta-learned step-size rule for ``steps`` updates (``nu_1 = 1``).

    With ``g_t = grad_fn(theta_t)``: ``theta_1 = theta_0 - eta * g_0``; for ``t >= 1``
    ``nu_{t+1} = nu_t * exp(e(g_{t-1}, g_t))`` and ``theta_{t+1} = theta_t - eta * nu_{t+1} *
    g_t`` (Eq. ``eq-exponentiated-gradient-meta``; ``e`` as in :func:`meta_lr_step`). Returns
    ``(thetas, nus)``: ``thetas`` of shape ``(steps + 1, *theta0.shape)`` with ``thetas[t] =
    theta_t``, and ``nus`` of shape ``(steps, *theta0.shape)`` with ``nus[t] = nu_{t+1}``, the
    multiplier of the update ``theta_t -> theta_{t+1}`` (``nus[0] = 1``; in product mode and
    without clipping ``nus[t] = exp(gamma * sum_{k=1..t} g_{k-1} g_k)``,
    Eq. ``eq-exponentiated-gradient-closed``). ``gamma = 0`` is plain gradient descent.

    A diverging run does not raise: from the first iterate with a non-finite entry on, every
    row of ``thetas`` (and of ``nus``) is ``NaN``, and ``grad_fn`` is no longer called.

    Chapter: exponentiated-gradient (article 8968).

    ``ValueError``: as :func:`meta_lr_step`; ``steps`` not a non-negative int; ``grad_fn`` not
    callable or returning an array of another shape than ``theta0``.
    """
    checks.choice(mode, "mode", META_MODES)
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be callable, got {type(grad_fn).__name__}")
    theta = checks.float64_array(theta0, "theta0")
    eta = checks.real(eta, "eta", low=0.0)
    gamma = checks.real(gamma, "gamma", low=0.0)
    steps = checks.integer(steps, "steps", minimum=0)
    thetas = np.full((steps + 1, *theta.shape), np.nan)
    nus = np.full((steps, *theta.shape), np.nan)
    thetas[0] = theta
    nu = np.ones_like(theta)
    g_prev = None
    for t in range(steps):
        g = np.asarray(grad_fn(theta.copy()), dtype=np.float64)
        if g.shape != theta.shape:
            raise ValueError(f"grad_fn must return an array of shape {theta.shape}, got {g.shape}")
        theta, nu = _meta_core(theta, nu, g, g_prev, eta, gamma, mode)
        if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(nu))):
            if np.all(np.isfinite(nu)):
                nus[t] = nu  # the multiplier was finite; the iterate it produced was not
            break
        nus[t] = nu
        thetas[t + 1] = theta
        g_prev = g
    return thetas, nus


# ---------------------------------------------------------------- experiment drivers
def eg_nnls_run(A, b, theta_star, etas, steps, keep_factor: bool = False, n_checkpoints: int = 60):
    """EG from ``theta_0 = 1`` on a batch of problems ``min_{theta >= 0} ||A_p theta - b_p||^2 / 2``.

    ``A`` (P, m, d), ``b`` (P, m), ``theta_star`` (P, d) the solutions (e.g. from
    ``scipy.optimize.nnls``), ``etas`` a sequence of K step sizes: every step size runs on every
    problem. Each step is ``theta <- eg_step(theta, eta * g, 1)`` with ``g = A^T (A theta - b)``
    (Eq. ``eq-exponentiated-gradient-eg``), or with ``eta * theta * g`` when ``keep_factor``
    (gradient descent in log-coordinates, Eq. ``eq-exponentiated-gradient-loggd``).

    Returns ``(theta, checkpoints, gaps, errs, lowest)``: the final iterates (K, P, d); the steps
    ``unique(int(geomspace(1, steps, n_checkpoints)))``; the objective gaps
    ``L(theta_t) - L(theta_star)`` at those steps (len(checkpoints), K, P); the errors
    ``max_i |theta_t - theta_star|`` after every step (steps, K, P); the smallest entry of any
    iterate.

    Chapter: exponentiated-gradient (article 8968), the NNLS experiment.

    ``ValueError``: inconsistent shapes, non-finite entries, an ``eta`` negative, ``steps`` or
    ``n_checkpoints`` not a positive int.
    """
    A = checks.float64_array(A, "A")
    b = checks.float64_array(b, "b")
    theta_star = checks.float64_array(theta_star, "theta_star")
    if A.ndim != 3 or b.shape != A.shape[:2] or theta_star.shape != (A.shape[0], A.shape[2]):
        raise ValueError(f"A must be (P, m, d), b (P, m) and theta_star (P, d); got A {A.shape}, "
                         f"b {b.shape}, theta_star {theta_star.shape}")
    etas = checks.float64_array(etas, "etas")
    if etas.ndim != 1 or np.any(etas < 0):
        raise ValueError(f"etas must be a 1-D sequence of step sizes >= 0, got {etas!r}")
    steps = checks.integer(steps, "steps", minimum=1)
    n_checkpoints = checks.integer(n_checkpoints, "n_checkpoints", minimum=1)

    def loss(th):
        return 0.5 * np.sum((np.einsum("pij,...pj->...pi", A, th) - b) ** 2, axis=-1)

    etas = etas[:, None, None]
    th = np.ones((etas.shape[0], A.shape[0], A.shape[2]))
    checkpoints = np.unique(np.geomspace(1, steps, n_checkpoints).astype(int))
    gaps, errs, lowest = [], [], np.inf
    for t in range(1, steps + 1):
        g = np.einsum("pij,kpi->kpj", A, np.einsum("pij,kpj->kpi", A, th) - b)
        th = eg_step(th, etas * (th * g if keep_factor else g), 1.0)
        lowest = min(lowest, th.min())
        errs.append(np.abs(th - theta_star).max(-1))
        if t in checkpoints:
            gaps.append(loss(th) - loss(theta_star))
    return th, checkpoints, np.array(gaps), np.array(errs), float(lowest)


def lsq_loss_rounding_bound(A, b, theta) -> np.ndarray:
    """Float64 forward-error bound of the computed ``||A theta - b||^2 / 2``, batched over problems.

    ``A`` (..., m, d), ``b`` (..., m), ``theta`` (..., d). The residual is a length-``d`` dot
    product minus ``b``, so its rounding error is at most about ``(d + 2) eps (|A||theta| + |b|)``
    per entry (first order in ``eps``); the half sum of ``m`` squares adds ``(m + 1) eps L``.
    Returns ``eps * ((d + 2) sum_i |r_i| (|A||theta| + |b|)_i + (m + 1) L)``, shape (...,): the
    tolerance below which two computed objective values cannot be told apart.

    Chapter: exponentiated-gradient (article 8968), the claim that EG reaches the NNLS optimum.

    ``ValueError``: inconsistent shapes, non-finite entries.
    """
    A = checks.float64_array(A, "A")
    b = checks.float64_array(b, "b")
    theta = checks.float64_array(theta, "theta")
    if A.ndim < 2 or b.shape != A.shape[:-1] or theta.shape != A.shape[:-2] + A.shape[-1:]:
        raise ValueError(f"A must be (..., m, d), b (..., m) and theta (..., d); got A {A.shape}, "
                         f"b {b.shape}, theta {theta.shape}")
    m, d = A.shape[-2:]
    r = np.einsum("...ij,...j->...i", A, theta) - b
    size = np.einsum("...ij,...j->...i", np.abs(A), np.abs(theta)) + np.abs(b)
    loss = 0.5 * np.sum(r**2, axis=-1)
    return np.finfo(np.float64).eps * ((d + 2) * np.sum(np.abs(r) * size, -1) + (m + 1) * loss)


def meta_phase_map(eta_grid, kappa_grid, steps):
    """The meta rule on ``L = theta^2 / 2`` from ``theta_0 = 1`` over a grid of ``(eta, kappa)``.

    With ``h = theta_0 = 1`` the run depends only on ``eta`` and ``kappa = gamma``
    (Eq. ``eq-exponentiated-gradient-drift``). For every cell, :func:`meta_lr_descent` runs
    ``steps`` steps with ``gamma = kappa``. Returns ``(gain, s_final, hit_clip)``, arrays of shape
    (len(eta_grid), len(kappa_grid)): ``gain`` = decades by which ``|theta_steps|`` beats plain GD
    from the same ``eta`` (``steps * log10|1 - eta| - log10|theta_steps|``; NaN when the run
    ``blew up``: ended non-finite or with ``|theta| >= 1``), ``s_final`` = the last effective step
    ``eta * nu`` (NaN when blown up), ``hit_clip`` = whether ``|kappa g_{t-1} g_t|`` ever exceeded
    :data:`META_CLIP` along the finite part of the run.

    Chapter: exponentiated-gradient (article 8968), the phase map.

    ``ValueError``: grids not 1-D, with non-finite or non-positive entries; ``steps`` not a
    positive int.
    """
    eta_grid = checks.float64_array(eta_grid, "eta_grid")
    kappa_grid = checks.float64_array(kappa_grid, "kappa_grid")
    for name, grid in (("eta_grid", eta_grid), ("kappa_grid", kappa_grid)):
        if grid.ndim != 1 or np.any(grid <= 0):
            raise ValueError(f"{name} must be a 1-D array of positive numbers")
    steps = checks.integer(steps, "steps", minimum=1)
    shape = (eta_grid.size, kappa_grid.size)
    gain, s_final, hit_clip = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, bool)
    for i, e in enumerate(eta_grid):
        for j, kap in enumerate(kappa_grid):
            thetas, nus = meta_lr_descent(lambda v: v, [1.0], e, kap, steps)
            z = thetas[:, 0][np.isfinite(thetas[:, 0])]
            with np.errstate(over="ignore"):
                hit_clip[i, j] = np.any(np.abs(kap * z[:-1] * z[1:]) > META_CLIP)
            if z.size == steps + 1 and abs(z[-1]) < 1:
                gain[i, j] = steps * np.log10(abs(1 - e)) - np.log10(max(abs(z[-1]), 1e-300))
                s_final[i, j] = e * nus[-1, 0]
    return gain, s_final, hit_clip


def _diag_args(h, theta_star, steps):
    h = checks.float64_array(h, "h")
    theta_star = checks.float64_array(theta_star, "theta_star")
    if h.ndim != 1 or np.any(h <= 0):
        raise ValueError("h must be a 1-D array of positive curvatures")
    _same_shape(h, theta_star, "h", "theta_star")
    if not np.any(theta_star != 0):
        raise ValueError("theta_star must not be all zero (the initial loss would be 0)")
    return h, theta_star, checks.integer(steps, "steps", minimum=0)


def gd_diag_rel_loss(h, theta_star, etas, steps) -> np.ndarray:
    """Gradient descent from 0 on ``sum_i h_i (theta_i - theta*_i)^2 / 2``, relative loss.

    Closed form: coordinate ``i`` after ``t`` steps of size ``eta`` is off by
    ``(1 - eta h_i)^t theta*_i``, so the loss relative to the initial one is
    ``sum_i h_i theta*_i^2 (1 - eta h_i)^(2t) / sum_i h_i theta*_i^2``. Returns shape
    (len(etas), steps + 1), ``t = 0..steps``.

    Chapter: exponentiated-gradient (article 8968), the random-problem baselines.

    ``ValueError``: ``h`` not 1-D positive, ``theta_star`` of another shape or all zero,
    non-finite entries, ``steps`` not a non-negative int.
    """
    h, theta_star, steps = _diag_args(h, theta_star, steps)
    etas = checks.float64_array(etas, "etas").ravel()
    L0 = 0.5 * np.sum(h * theta_star**2)
    powers = 2 * np.arange(steps + 1)[None, :, None]
    return 0.5 * np.sum(h * theta_star**2 * (1 - np.outer(etas, h))[:, None] ** powers, -1) / L0


def meta_diag_rel_loss(h, theta_star, eta, gamma, steps, mode: str = "product") -> np.ndarray:
    """The meta rule from 0 on ``sum_i h_i (theta_i - theta*_i)^2 / 2``, relative loss.

    Runs :func:`meta_lr_descent` (Eq. ``eq-exponentiated-gradient-meta``) with gradient
    ``h * (theta - theta_star)`` from ``theta_0 = 0`` and returns the loss divided by the
    initial loss at ``t = 0..steps``, shape (steps + 1,); ``inf`` from the first non-finite
    iterate on (a run that blew up).

    Chapter: exponentiated-gradient (article 8968), the random problems.

    ``ValueError``: as :func:`gd_diag_rel_loss`, plus as :func:`meta_lr_descent`.
    """
    h, theta_star, steps = _diag_args(h, theta_star, steps)
    thetas, _ = meta_lr_descent(lambda v: h * (v - theta_star), np.zeros_like(h), eta, gamma,
                                steps, mode=mode)
    with np.errstate(over="ignore", invalid="ignore"):
        r = 0.5 * np.sum(h * (thetas - theta_star) ** 2, -1) / (0.5 * np.sum(h * theta_star**2))
    return np.where(np.isfinite(r), r, np.inf)
