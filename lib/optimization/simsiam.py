"""Why SimSiam does not collapse: a toy gradient flow and a linear SimSiam.

Chapter: ``chapters/optimization/simsiam-dynamics.md`` (kexue.fm article 7980).

The toy loss is ``l = ½(φθ − θ')²`` where ``θ'`` is the *target* copy of the encoder weight
``θ``. Gradient flow on ``(φ, θ)`` with the target branch stopped (``"stopgrad"``), with the
whole gradient (``"full"``), or with the target-branch term alone (``"second"``):

* :func:`simsiam_toy_rhs` — the three vector fields, Eq. ``eq-simsiam-dynamics-flows``;
* :func:`simsiam_toy_solve` — one trajectory with ``scipy.integrate.solve_ivp`` (LSODA);
* :func:`simsiam_toy_fate` — the exact ``t → ∞`` limit from the conserved quantities,
  Eq. ``eq-simsiam-dynamics-limits``, for every real ``φ0`` and ``θ0 > 0``, with the flag
  "collapses" (``θ → 0``);
* :func:`simsiam_toy_limit` — the same limit restricted to ``0 < φ0 < 1`` (the contract);
* :func:`simsiam_toy_flow` — many trajectories at once, end points only (the collapse map);
* :func:`simsiam_collapse_map` — solver verdict, closed-form verdict and decidability at ``T``.

The NumPy functions accept array-likes, compute in float64 and return float64 arrays (Python
floats for scalar input). The torch functions implement a linear SimSiam on synthetic data:

* :func:`simsiam_cosine_loss` — the symmetrised negative-cosine loss with optional
  stop-gradient on the targets;
* :func:`normalized_output_std` — the collapse monitor of the SimSiam paper;
* :func:`linear_simsiam` — one training run, with or without predictor / stop-gradient.

Finally :func:`expansion_terms` evaluates the two quadratic forms of the article's
first-order expansion (Eqs. ``eq-simsiam-dynamics-centred`` and ``eq-simsiam-dynamics-pair``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.integrate import solve_ivp
from torch import Tensor

from lib import checks

__all__ = [
    "TOY_MODES",
    "simsiam_toy_rhs",
    "simsiam_toy_solve",
    "simsiam_toy_fate",
    "simsiam_toy_limit",
    "simsiam_toy_flow",
    "simsiam_collapse_map",
    "simsiam_cosine_loss",
    "normalized_output_std",
    "linear_simsiam",
    "expansion_terms",
]

#: The three flows: target branch stopped, whole gradient, target-branch term only.
TOY_MODES = ("stopgrad", "full", "second")


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def _dtheta(phi, theta, mode):
    r = (phi - 1.0) * theta  # φθ − θ, the residual of the prediction
    if mode == "stopgrad":
        return -r * phi
    if mode == "full":
        return -r * phi + r
    return r


def simsiam_toy_rhs(phi, theta, mode: str = "stopgrad"):
    """The toy flow ``(dφ/dt, dθ/dt)``, Eq. ``eq-simsiam-dynamics-flows``.

    ``dφ/dt = −(φθ−θ)θ`` in every mode; ``dθ/dt = −(φθ−θ)φ`` (``"stopgrad"``),
    ``−(φθ−θ)φ + (φθ−θ)`` (``"full"``, the whole gradient of ``½(φθ−θ)²``) or ``+(φθ−θ)``
    (``"second"``, the target-branch term alone). ``phi`` and ``theta`` are floats or
    broadcastable arrays; floats in give floats out.

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: unknown ``mode``, non-finite
    ``phi`` or ``theta``.
    """
    checks.choice(mode, "mode", TOY_MODES)
    phi = checks.float64_array(phi, "phi")
    theta = checks.float64_array(theta, "theta")
    dphi = -(phi - 1.0) * theta * theta
    dtheta = _dtheta(phi, theta, mode)
    dphi, dtheta = np.broadcast_arrays(dphi, dtheta)
    return _out(np.array(dphi)), _out(np.array(dtheta))


def _jac(phi, theta, mode):
    """Jacobian of the flow at one point (rows: dφ/dt, dθ/dt; columns: φ, θ)."""
    j = [[-theta * theta, -2.0 * (phi - 1.0) * theta]]
    if mode == "stopgrad":
        j.append([-theta * (2.0 * phi - 1.0), -phi * (phi - 1.0)])
    elif mode == "full":
        j.append([-2.0 * theta * (phi - 1.0), -((phi - 1.0) ** 2)])
    else:
        j.append([theta, phi - 1.0])
    return np.array(j)


def simsiam_toy_solve(mode: str = "stopgrad", phi0=0.6, theta0=0.1, T=200.0, n_eval=2001,
                      rtol=1e-10, atol=1e-12):
    """Integrate the toy flow from ``(phi0, theta0)`` on ``[0, T]``.

    Returns ``(t, phi, theta)``, three float64 arrays of length ``n_eval`` with
    ``t = np.linspace(0, T, n_eval)``, from ``scipy.integrate.solve_ivp`` with LSODA (stiff-safe:
    large ``theta0`` makes ``φ`` fast) and the analytic Jacobian, at ``rtol``/``atol``.

    Chapter: simsiam-dynamics (article 7980), Eq. ``eq-simsiam-dynamics-flows``.
    ``ValueError``: unknown ``mode``, ``T`` not finite and > 0, ``n_eval < 2``, non-finite
    initial values, ``rtol``/``atol`` not finite and > 0.
    """
    checks.choice(mode, "mode", TOY_MODES)
    phi0 = checks.real(phi0, "phi0")
    theta0 = checks.real(theta0, "theta0")
    T = checks.real(T, "T", low=0.0, low_open=True)
    n_eval = checks.integer(n_eval, "n_eval", minimum=2)
    rtol = checks.real(rtol, "rtol", low=0.0, low_open=True)
    atol = checks.real(atol, "atol", low=0.0, low_open=True)
    t = np.linspace(0.0, T, n_eval)

    def f(_, y):
        return [-(y[0] - 1.0) * y[1] * y[1], _dtheta(y[0], y[1], mode)]

    sol = solve_ivp(f, (0.0, T), [phi0, theta0], method="LSODA", t_eval=t, rtol=rtol,
                    atol=atol, jac=lambda _, y: _jac(y[0], y[1], mode))
    if not sol.success:  # pragma: no cover - LSODA does not fail on this bounded flow
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    phi, theta = sol.y[0].copy(), sol.y[1].copy()
    phi[0], theta[0] = phi0, theta0  # the interpolant at t = 0 can be off by an ulp
    return t, phi, theta


def simsiam_toy_fate(mode, phi0, theta0):
    """Exact limit of the toy flow for any real ``phi0`` and ``theta0 > 0``.

    Returns ``(phi_inf, theta_inf, collapses)`` (broadcast arrays, or floats and a bool),
    Eq. ``eq-simsiam-dynamics-limits``. Each flow keeps one quantity constant —
    ``θ²−φ²`` (stopgrad), ``(φ−1)²−θ²`` (full), ``φ+θ²/2`` (second) — and ends on one of its
    two lines of fixed points, ``φ = 1`` or ``θ = 0``; the limit is where the level curve
    through the start meets the line it reaches first. ``collapses`` is ``θ_inf == 0``.
    Boundary starts (the level curve through the corner ``(1, 0)`` or the origin) collapse.

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: unknown ``mode``, ``phi0`` not
    finite, ``theta0`` not finite and > 0.
    """
    checks.choice(mode, "mode", TOY_MODES)
    p = checks.float64_array(phi0, "phi0")
    q = checks.float64_array(theta0, "theta0")
    if np.any(q <= 0):
        raise ValueError("theta0 must be > 0")
    p, q = np.broadcast_arrays(p, q)
    # Work with the invariants divided by m² (m ≥ 1 the scale of the start): no overflow.
    m = np.maximum(1.0, np.maximum(np.abs(p), q))
    ps, qs, inv = p / m, q / m, (1.0 / m) ** 2
    if mode == "stopgrad":
        cs = qs * qs - ps * ps  # (θ² − φ²)/m²
        low = (p < 0) & (cs <= 0)  # θ dies before φ reaches 0
        high = (p > 1) & (cs <= -inv)  # θ dies before φ comes down to 1
        col = low | high
        r = m * np.sqrt(np.abs(cs))
        phi_inf = np.where(low, -r, np.where(high, r, 1.0))
        theta_inf = np.where(col, 0.0, m * np.sqrt(np.maximum(inv + cs, 0.0)))
    elif mode == "full":
        ds = ((p - 1.0) / m) ** 2 - qs * qs  # ((φ−1)² − θ²)/m²
        col = ds >= 0
        r = m * np.sqrt(np.abs(ds))
        phi_inf = np.where(col, 1.0 + np.sign(p - 1.0) * r, 1.0)
        theta_inf = np.where(col, 0.0, r)
    else:
        es = 2.0 * (p - 1.0) / m / m + qs * qs  # 2(φ + θ²/2 − 1)/m²
        col = (p < 1) & (es <= 0)
        with np.errstate(over="ignore", invalid="ignore"):  # only used where θ0² ≤ 2(1 − φ0)
            phi_inf = np.where(col, p + q * q / 2.0, 1.0)
        theta_inf = np.where(col, 0.0, m * np.sqrt(np.maximum(es, 0.0)))
    if col.ndim == 0:
        return float(phi_inf), float(theta_inf), bool(col)
    return phi_inf.astype(np.float64), theta_inf.astype(np.float64), col


def simsiam_toy_limit(mode, phi0, theta0):
    """Exact ``t → ∞`` limit ``(phi_inf, theta_inf)`` for ``0 < phi0 < 1``, ``theta0 > 0``.

    Eq. ``eq-simsiam-dynamics-limits`` (see :func:`simsiam_toy_fate` for all real ``phi0``).
    Stopgrad ends at ``(1, √(1+θ0²−φ0²))``; full at ``(1−√D, 0)`` if
    ``D = (1−φ0)²−θ0² ≥ 0`` else ``(1, √−D)``; second at ``(E, 0)`` if ``E = φ0+θ0²/2 ≤ 1``
    else ``(1, √(2(E−1)))``. Scalars in give floats out; arrays broadcast.

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: ``phi0`` outside (0, 1),
    ``theta0 ≤ 0``, unknown ``mode``.
    """
    checks.choice(mode, "mode", TOY_MODES)
    p = checks.float64_array(phi0, "phi0")
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError(f"phi0 must lie in (0, 1), got {phi0!r}")
    phi_inf, theta_inf, _ = simsiam_toy_fate(mode, p, theta0)
    return phi_inf, theta_inf


def simsiam_toy_flow(mode, phi0, theta0, T=200.0, rtol=1e-8, atol=1e-12):
    """End points ``(phi(T), theta(T))`` of many toy trajectories, integrated as one system.

    ``phi0``/``theta0`` broadcast to a common shape; the states are interleaved so that the
    Jacobian is block-diagonal and LSODA can use it as a banded matrix. The error control is
    a root-mean-square over all trajectories, so one trajectory may be less accurate than
    ``rtol``; use :func:`simsiam_toy_solve` for a single accurate path.

    Chapter: simsiam-dynamics (article 7980), collapse map. ``ValueError``: unknown ``mode``,
    non-finite starts, ``T`` not finite and > 0, ``rtol``/``atol`` not finite and > 0.
    """
    checks.choice(mode, "mode", TOY_MODES)
    p, q = np.broadcast_arrays(checks.float64_array(phi0, "phi0"),
                               checks.float64_array(theta0, "theta0"))
    T = checks.real(T, "T", low=0.0, low_open=True)
    rtol = checks.real(rtol, "rtol", low=0.0, low_open=True)
    atol = checks.real(atol, "atol", low=0.0, low_open=True)
    y0 = np.empty(2 * p.size)
    y0[0::2], y0[1::2] = p.ravel(), q.ravel()

    def f(_, y):
        out = np.empty_like(y)
        out[0::2] = -(y[0::2] - 1.0) * y[1::2] ** 2
        out[1::2] = _dtheta(y[0::2], y[1::2], mode)
        return out

    sol = solve_ivp(f, (0.0, T), y0, method="LSODA", t_eval=[T], rtol=rtol, atol=atol,
                    lband=1, uband=1)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    y = sol.y[:, -1]
    return _out(y[0::2].reshape(p.shape)), _out(y[1::2].reshape(p.shape))


def simsiam_collapse_map(mode, phi0, theta0, T=2000.0, eps=1e-4):
    """Classify starts ``0 < phi0 < 1``, ``theta0 > 0`` twice: by the solver and in closed form.

    Returns three boolean arrays: ``solver`` (:func:`simsiam_toy_flow` to ``T`` ends with
    ``θ(T) < eps·θ0``), ``exact`` (:func:`simsiam_toy_fate` says it collapses) and ``decided``
    (the verdict at ``T`` is guaranteed by the bounds of the chapter's section 4: a collapsing
    start decays at least at the rate ``(1−φ0)²−θ0²`` (full) or ``1−φ0−θ0²/2`` (second), which
    times ``T`` must exceed ``ln(1/eps)``; a surviving one needs ``θ_inf ≥ eps·θ0``).

    Chapter: simsiam-dynamics (article 7980), collapse map. ``ValueError``: as for the two
    functions it calls, ``eps`` not in (0, 1).
    """
    eps = checks.real(eps, "eps", low=0.0, high=1.0, low_open=True, high_open=True)
    _, theta_T = simsiam_toy_flow(mode, phi0, theta0, T=T)
    _, th_inf, exact = simsiam_toy_fate(mode, phi0, theta0)
    p, q = np.broadcast_arrays(np.asarray(phi0, dtype=float), np.asarray(theta0, dtype=float))
    rate = {"stopgrad": 0 * p, "full": (1 - p) ** 2 - q**2, "second": 1 - p - q**2 / 2}[mode]
    decided = np.where(exact, rate * T > math.log(1 / eps), th_inf >= eps * q)
    return np.asarray(theta_T < eps * q), np.asarray(exact), decided


# -- linear SimSiam (torch) ------------------------------------------------------------------
def simsiam_cosine_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor,
                        stop_gradient: bool = True) -> Tensor:
    """Symmetrised SimSiam loss ``−½[cos(p1, z2) + cos(p2, z1)]``, rows averaged (0-d tensor).

    ``p*`` are predictions of shape ``(N, k)`` and ``z*`` the targets (the other view's
    encoding); with ``stop_gradient=True`` the targets are detached, which removes the
    target-branch term of Eq. ``eq-simsiam-dynamics-gradflow``. The input's dtype and device
    are kept.

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: an argument not a 2-D floating
    tensor, shapes that differ.
    """
    for name, x in (("p1", p1), ("p2", p2), ("z1", z1), ("z2", z2)):
        checks.floating(x, name, ndim=2)
        checks.same_shape(p1, x, "p1", name)
    if stop_gradient:
        z1, z2 = z1.detach(), z2.detach()
    return -(F.cosine_similarity(p1, z2, dim=-1).mean()
             + F.cosine_similarity(p2, z1, dim=-1).mean()) / 2


def normalized_output_std(z: Tensor) -> Tensor:
    """Collapse monitor: the mean over channels of the std over rows of ``z/‖z‖`` (0-d).

    ``z`` has shape ``(N, k)``; the std is the population std (``correction=0``). Outputs
    spread uniformly on the sphere give about ``1/√k``; a collapsed encoder (every row the
    same direction) gives 0. Rows of zeros are left at zero instead of producing NaN.

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: ``z`` not a 2-D floating tensor
    with at least one row.
    """
    checks.finite(z, "z", ndim=2)
    if z.shape[0] < 1:
        raise ValueError("z must have at least one row")
    return F.normalize(z, dim=1).std(dim=0, correction=0).mean()


def linear_simsiam(*, predictor: bool = True, stop_gradient: bool = True, target: str = "view",
                   predictor_lr: float = 1.0, dim: int = 16, out_dim: int = 8, steps: int = 300,
                   batch: int = 128, sigma: float = 0.5, lr: float = 0.1, momentum: float = 0.9,
                   weight_decay: float = 1e-4, generator: torch.Generator) -> dict:
    """Train a linear SimSiam on synthetic Gaussian data; return its collapse history.

    Data ``x ~ N(0, diag(s²))`` with ``s`` evenly spaced from 1 to 0.2 over ``dim`` inputs;
    a view is ``x + sigma·ε``. Encoder ``z = Wx + b`` (``b`` makes the constant output, the
    collapsed solution, reachable), predictor ``p = Pz`` (``P`` starts near the identity; with
    ``predictor=False``, ``p = z``). ``target="view"``: each view predicts the other one
    (:func:`simsiam_cosine_loss`); ``target="center"``: both views predict the encoding of the
    clean ``x``, the mean of the views (the article's untested proposal). SGD with momentum
    and weight decay; the predictor's learning rate is ``predictor_lr · lr`` (0 freezes it).
    Float32, one generator for initialisation and data.

    Returns ``{"std": (steps,), "loss": (steps,)}`` float64 tensors: the
    :func:`normalized_output_std` of the first view's encodings and the loss at each step.

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: ``generator`` not a
    ``torch.Generator``, unknown ``target``, non-positive sizes, negative rates.
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    checks.choice(target, "target", ("view", "center"))
    dim = checks.integer(dim, "dim", minimum=1)
    k = checks.integer(out_dim, "out_dim", minimum=1)
    steps = checks.integer(steps, "steps", minimum=1)
    n = checks.integer(batch, "batch", minimum=2)
    sigma = checks.real(sigma, "sigma", low=0.0)
    lr = checks.real(lr, "lr", low=0.0, low_open=True)
    predictor_lr = checks.real(predictor_lr, "predictor_lr", low=0.0)
    momentum = checks.real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    weight_decay = checks.real(weight_decay, "weight_decay", low=0.0)
    g = generator
    scales = torch.linspace(1.0, 0.2, dim)
    W = (torch.randn(k, dim, generator=g) / math.sqrt(dim)).requires_grad_()
    b = (torch.randn(k, generator=g) / math.sqrt(k)).requires_grad_()
    P = (torch.eye(k) + 0.1 * torch.randn(k, k, generator=g) / math.sqrt(k)).requires_grad_()
    groups = [{"params": [W, b]}]
    if predictor and predictor_lr > 0:
        groups.append({"params": [P], "lr": lr * predictor_lr})
    opt = torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    std, losses = torch.empty(steps, dtype=torch.float64), torch.empty(steps, dtype=torch.float64)
    for s in range(steps):
        x = torch.randn(n, dim, generator=g) * scales
        x1 = x + sigma * torch.randn(n, dim, generator=g)
        x2 = x + sigma * torch.randn(n, dim, generator=g)
        z1, z2 = x1 @ W.T + b, x2 @ W.T + b
        p1, p2 = (z1 @ P.T, z2 @ P.T) if predictor else (z1, z2)
        if target == "view":
            loss = simsiam_cosine_loss(p1, p2, z1, z2, stop_gradient=stop_gradient)
        else:
            zc = x @ W.T + b
            loss = simsiam_cosine_loss(p1, p2, zc, zc, stop_gradient=stop_gradient)
        opt.zero_grad()
        loss.backward()
        opt.step()
        std[s] = float(normalized_output_std(z1.detach()))
        losses[s] = float(loss.detach())
    return {"std": std, "loss": losses}


# -- the expansion view (NumPy) --------------------------------------------------------------
def expansion_terms(J, views1, views2, center):
    """Per-sample ``a = ‖J(T₁x − c)‖²`` and ``b = ‖J(T₁x − T₂x)‖²``.

    ``J``: (k, d) Jacobian; ``views1``, ``views2``: (M, d) two independent augmentations of
    one input; ``center``: (d,) or (M, d). ``a`` is the sample of the centred loss
    Eq. ``eq-simsiam-dynamics-centred`` (minimised in ``c`` by the mean view ``x̄``), ``b`` of
    the pairwise loss Eq. ``eq-simsiam-dynamics-pair`` (no predictor, no stop-gradient).
    Returns two float64 arrays of shape (M,).

    Chapter: simsiam-dynamics (article 7980). ``ValueError``: ``J`` not 2-D, views not
    (M, d) with ``d = J.shape[1]`` and equal shapes, ``center`` of the wrong shape,
    non-finite entries.
    """
    J = checks.float64_array(J, "J")
    if J.ndim != 2:
        raise ValueError(f"J must be 2-D (k, d), got shape {J.shape}")
    v1 = checks.float64_array(views1, "views1")
    v2 = checks.float64_array(views2, "views2")
    if v1.ndim != 2 or v1.shape[1] != J.shape[1]:
        raise ValueError(f"views1 must have shape (M, {J.shape[1]}), got {v1.shape}")
    if v2.shape != v1.shape:
        raise ValueError(f"views2 must have the shape of views1 {v1.shape}, got {v2.shape}")
    c = checks.float64_array(center, "center")
    if c.shape not in ((J.shape[1],), v1.shape):
        raise ValueError(f"center must have shape ({J.shape[1]},) or {v1.shape}, got {c.shape}")
    a = np.sum(((v1 - c) @ J.T) ** 2, axis=1)
    b = np.sum(((v1 - v2) @ J.T) ** 2, axis=1)
    return a, b
