r"""Input noise, gradient penalties and virtual adversarial training (VAT).

Chapter: ``chapters/optimization/noise-penalty-vat.md`` (kexue.fm article 7466).

Training with Gaussian input noise ``eps ~ N(0, sigma^2 I)`` replaces a loss ``l(x)`` by
``E l(x + eps) = l + (sigma^2/2) Laplacian(l) + O(sigma^4)``; the label-free smoothness term
``E l(f(x + eps), f(x))`` becomes ``(sigma^2/2) sum_i lambda_i ||grad_x f_i||^2`` (a gradient
penalty), and VAT replaces the random ``eps`` by the top eigenvector of the Hessian of that
term, found by power iteration with finite-difference Hessian-vector products.

Functions, in the order the chapter uses them:

* :func:`gauss_hermite_expectation` — ``E f(x + sigma xi)`` by tensor-product Gauss–Hermite
  quadrature (NumPy; eq-noise-penalty-vat-laplace);
* :func:`consistency_loss` — the per-row smoothness loss ``l(pred, target)``, squared error or
  KL (torch; eq-noise-penalty-vat-surrogate);
* :func:`gradient_penalty` — ``sum_i lambda_i ||grad_x f_i||^2`` per row (torch;
  eq-noise-penalty-vat-gp);
* :func:`rademacher_frob_exact` — the mean of ``||J^T eta||^2`` over all sign vectors (NumPy;
  eq-noise-penalty-vat-rademacher);
* :func:`vat_direction` — the VAT power iteration (torch; eq-noise-penalty-vat-power);
* :func:`two_moons`, :class:`EnsembleMLP`, :func:`fit_smoothed_classifiers`,
  :func:`ensemble_metrics` — the semi-supervised toy experiment (noise vs penalty vs VAT).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss
from torch import Tensor

from lib import checks

__all__ = [
    "gauss_hermite_expectation",
    "consistency_loss",
    "gradient_penalty",
    "rademacher_frob_exact",
    "vat_direction",
    "two_moons",
    "EnsembleMLP",
    "SMOOTHING_METHODS",
    "fit_smoothed_classifiers",
    "ensemble_metrics",
]

_MAX_NODES = 10**6
_CHUNK = 2**15


def gauss_hermite_expectation(fn, x, sigma, n: int = 40) -> float:
    """``E_{xi ~ N(0, I_d)} fn(x + sigma xi)`` by the tensor-product n-point Gauss–Hermite rule.

    Chapter noise-penalty-vat, Eq. ``eq-noise-penalty-vat-laplace``. ``x``: 1-D array-like of
    length d; ``fn`` is called with arrays of points of shape (m, d), one point per row, and
    returns shape (m,). The ``n**d`` nodes carry the probabilists' Hermite weights normalised to
    sum 1, so the rule is exact for polynomials of degree <= 2n - 1 in each coordinate.
    ``sigma = 0`` returns ``fn(x)``. NumPy in, Python float out (float64).
    """
    x = checks.float64_array(x, "x")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x must be a non-empty 1-D array, got shape {x.shape}")
    sigma = checks.real(sigma, "sigma", low=0.0)
    n = checks.integer(n, "n", minimum=1)
    d = x.size
    if n**d > _MAX_NODES:
        raise ValueError(f"n: n**d = {n}**{d} exceeds {_MAX_NODES} quadrature nodes")
    if sigma == 0.0:
        return float(_evaluate(fn, x[None, :])[0])
    t, w = hermegauss(n)
    w = w / w.sum()
    total, m = [], n**d
    for start in range(0, m, _CHUNK):
        idx = np.stack(np.unravel_index(np.arange(start, min(m, start + _CHUNK)), (n,) * d), 1)
        vals = _evaluate(fn, x + sigma * t[idx])
        total.append(float(np.prod(w[idx], axis=1) @ vals))
    return math.fsum(total)


def _evaluate(fn, pts: np.ndarray) -> np.ndarray:
    vals = np.asarray(fn(pts), dtype=np.float64)
    if vals.shape != (pts.shape[0],):
        raise ValueError(f"fn must return shape ({pts.shape[0]},) for points of shape "
                         f"{pts.shape}, got {vals.shape}")
    if not np.all(np.isfinite(vals)):
        raise ValueError("fn returned non-finite values")
    return vals


def consistency_loss(pred: Tensor, target: Tensor, loss: str = "kl") -> Tensor:
    """Per-row smoothness loss ``l(pred, target)`` over the last dimension, shape ``pred.shape[:-1]``.

    Chapter noise-penalty-vat, Eq. ``eq-noise-penalty-vat-surrogate``. ``"mse"``:
    ``sum_i (pred_i - target_i)^2``; ``"kl"``: ``sum_i target_i log(target_i / pred_i)`` for
    probability vectors (``0 log 0 = 0``; ``inf`` where ``pred_i = 0 < target_i``). The
    prediction is the first argument, as in ``l(f(x + eps), f(x))``. Dtype and device preserved.
    """
    checks.floating(pred, "pred", min_ndim=1)
    checks.floating(target, "target", min_ndim=1)
    checks.same_shape(pred, target, "pred", "target")
    checks.choice(loss, "loss", ("mse", "kl"))
    if loss == "mse":
        return (pred - target).square().sum(-1)
    if (pred < 0).any() or (target < 0).any():
        raise ValueError("pred and target must be non-negative probabilities for loss='kl'")
    return (torch.xlogy(target, target) - torch.xlogy(target, pred)).sum(-1)


def gradient_penalty(f, x: Tensor, loss: str = "mse") -> Tensor:
    """``sum_i lambda_i(x_n) ||grad_x f_i(x_n)||^2`` for each row ``x_n``: shape (N,).

    Chapter noise-penalty-vat, Eq. ``eq-noise-penalty-vat-gp``:
    ``E_eps l(f(x + eps), f(x)) = (sigma^2 / 2) * gradient_penalty + O(sigma^4)`` for
    ``eps ~ N(0, sigma^2 I)`` (the ``sigma^2 / 2`` is not included). ``f`` maps (N, d) to
    (N, C) row by row. ``loss="mse"``: ``lambda_i = 2``; ``loss="kl"`` (``f`` returns
    probabilities): ``lambda_i = 1 / f_i``, i.e. ``sum_i f_i ||grad log f_i||^2`` (a term with
    ``f_i = 0`` contributes 0). Built with ``create_graph=True`` when grad mode is on, so the
    result is differentiable in ``f``'s parameters. Dtype and device of ``x``.
    """
    checks.floating(x, "x", ndim=2)
    checks.choice(loss, "loss", ("mse", "kl"))
    graph = torch.is_grad_enabled()
    xg = x if x.requires_grad else x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = f(xg)
        if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != x.shape[0]:
            raise ValueError(f"f must return a tensor of shape ({x.shape[0]}, C), got "
                             f"{tuple(out.shape) if isinstance(out, Tensor) else type(out)}")
        pen = torch.zeros(x.shape[0], dtype=out.dtype, device=out.device)
        if not out.requires_grad:  # f ignores x: every gradient is zero
            return pen.to(x.dtype)
        for i in range(out.shape[1]):
            (g,) = torch.autograd.grad(out[:, i].sum(), xg, create_graph=graph, retain_graph=True,
                                       allow_unused=True)
            if g is None:
                continue
            sq = g.square().sum(-1)
            if loss == "mse":
                pen = pen + 2.0 * sq
            else:
                fi = out[:, i]
                pen = pen + torch.where(fi > 0, sq / fi.clamp_min(torch.finfo(fi.dtype).tiny), 0.0)
    return (pen if graph else pen.detach()).to(x.dtype)


def rademacher_frob_exact(J) -> float:
    """The mean of ``||J^T eta||^2`` over all ``2^C`` sign vectors ``eta in {-1, +1}^C``.

    Chapter noise-penalty-vat, Eq. ``eq-noise-penalty-vat-rademacher`` (the identity says it
    equals ``||J||_F^2``; this function enumerates, it does not use the identity). ``J``:
    array-like of shape (C, d), C <= 20. NumPy in, Python float out (float64).
    """
    J = checks.float64_array(J, "J")
    if J.ndim != 2:
        raise ValueError(f"J must be 2-D (C, d), got shape {J.shape}")
    C = J.shape[0]
    if C > 20:
        raise ValueError(f"J: C = {C} rows means 2^{C} sign vectors; at most 20 rows allowed")
    bits = np.arange(C)
    parts = []
    for start in range(0, 2**C, _CHUNK):
        k = np.arange(start, min(2**C, start + _CHUNK))
        eta = 1.0 - 2.0 * ((k[:, None] >> bits) & 1)
        parts.append(float(np.square(eta @ J).sum()))
    return math.fsum(parts) / 2**C


def _unit_rows(u: Tensor, fallback: Tensor | None = None) -> Tensor:
    norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    out = u / norm.clamp_min(torch.finfo(u.dtype).tiny)
    if fallback is not None:  # a row whose gradient vanished keeps its previous direction
        out = torch.where(norm > 0, out, fallback)
    return out


def vat_direction(loss_fn, f, x: Tensor, xi: float = 1e-6, iters: int = 1,
                  generator: torch.Generator | None = None) -> Tensor:
    """The VAT power iteration: one detached unit direction per row of ``x``, shape (N, d).

    Chapter noise-penalty-vat, Eq. ``eq-noise-penalty-vat-power``. ``u`` starts as
    ``torch.randn(x.shape, generator=generator)`` (``x``'s dtype and device); ``iters`` times:
    normalise each row, then ``u = grad_{x'} sum_n loss_fn(f(x'), f(x).detach())_n`` at
    ``x' = x + xi u`` (a finite-difference Hessian-vector product of the smoothness loss);
    finally normalise each row. ``iters = 0`` returns the normalised Gaussian draw. ``f`` maps
    (N, d) to (N, C) row by row; ``loss_fn(pred, target)`` returns per-row losses (N,). A row
    whose gradient is exactly zero keeps its previous direction.
    """
    checks.floating(x, "x", ndim=2)
    xi = checks.real(xi, "xi", low=0.0, low_open=True)
    iters = checks.integer(iters, "iters", minimum=0)
    x = x.detach()
    u = _unit_rows(torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device))
    if iters == 0:
        return u
    with torch.no_grad():
        target = f(x)
    with torch.enable_grad():
        for _ in range(iters):
            xp = (x + xi * u).requires_grad_(True)
            (g,) = torch.autograd.grad(loss_fn(f(xp), target).sum(), xp)
            u = _unit_rows(g, fallback=u)
    return u.detach()


def two_moons(n: int, noise: float, rng: np.random.Generator):
    """``n`` points of the two-moons data set with Gaussian jitter ``noise``: ``(X, y)``.

    Chapter noise-penalty-vat (the toy experiment). Labels alternate ``y = 0, 1, 0, ...``
    (balanced); class 0 lies on the upper unit half-circle, class 1 on the lower one shifted by
    ``(1, 0.5)``. NumPy out: ``X`` float64 (n, 2), ``y`` int64 (n,).
    """
    n = checks.integer(n, "n", minimum=1)
    noise = checks.real(noise, "noise", low=0.0)
    rng = checks.generator(rng)
    y = np.arange(n) % 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], 1)
    X = np.where(y[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    return X, y.astype(np.int64)


class EnsembleMLP(torch.nn.Module):
    """``members`` independent tanh MLPs ``d -> hidden -> hidden -> classes`` run as one batch.

    Chapter noise-penalty-vat (the toy experiment). ``forward(x)``: (S, N, d) -> logits (S, N, C);
    ``probs_rows(z)``: (S*N, d) -> probabilities (S*N, C), row by row (the ``f`` that
    :func:`vat_direction` and :func:`gradient_penalty` take). Initialised like
    ``torch.nn.Linear`` (uniform in ``+-1/sqrt(fan_in)``) from ``generator``.
    """

    def __init__(self, members: int, d: int, hidden: int, classes: int, *,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.members = checks.integer(members, "members", minimum=1)
        sizes = [checks.integer(d, "d", minimum=1), checks.integer(hidden, "hidden", minimum=1),
                 hidden, checks.integer(classes, "classes", minimum=2)]
        self.sizes = sizes
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(a)
            self.weights.append(torch.nn.Parameter(
                (torch.rand(members, a, b, generator=generator, dtype=dtype) * 2 - 1) * bound))
            self.biases.append(torch.nn.Parameter(
                (torch.rand(members, 1, b, generator=generator, dtype=dtype) * 2 - 1) * bound))

    def forward(self, x: Tensor) -> Tensor:
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < len(self.weights) - 1:
                h = torch.tanh(h)
        return h

    def probs_rows(self, z: Tensor) -> Tensor:
        S = self.members
        return torch.softmax(self(z.reshape(S, -1, z.shape[-1])), -1).reshape(z.shape[0], -1)


#: The training objectives compared in the toy experiment (see fit_smoothed_classifiers).
SMOOTHING_METHODS = ("plain", "input-noise", "noise", "penalty", "vat")


def fit_smoothed_classifiers(method: str, x_lab: Tensor, y_lab: Tensor, x_unl: Tensor, *,
                             eps: float, generator: torch.Generator, alpha: float = 1.0,
                             steps: int = 300, lr: float = 1e-2, hidden: int = 32,
                             classes: int = 2, xi: float = 1e-6) -> EnsembleMLP:
    """Train one :class:`EnsembleMLP` member per leading index with full-batch Adam.

    Chapter noise-penalty-vat (toy experiment, Eq. ``eq-noise-penalty-vat-match``). Shapes:
    ``x_lab`` (S, n, d), ``y_lab`` (S, n) integer, ``x_unl`` (S, m, d). Every method minimises
    the cross-entropy on the labelled rows, plus (on all S(n+m) inputs ``x``, with
    ``sigma = eps / sqrt(d)`` so that the terms agree to second order):

    * ``"plain"``: nothing; ``"input-noise"``: the cross-entropy is taken at ``x_lab + sigma xi``
      (one Gaussian draw per step) instead;
    * ``"noise"``: ``alpha * KL(f(x) || f(x + eps u))`` with ``u`` a random unit vector
      (:func:`vat_direction` with ``iters = 0``), the target ``f(x)`` detached;
    * ``"penalty"``: ``alpha * (sigma^2 / 2) * gradient_penalty(f, x, "kl")``;
    * ``"vat"``: as ``"noise"`` with ``u`` from one power iteration (``xi``).

    The initial weights depend only on ``generator``'s state, so methods run from equal states
    start from equal networks. Returns the trained model.
    """
    checks.choice(method, "method", SMOOTHING_METHODS)
    checks.floating(x_lab, "x_lab", ndim=3)
    checks.floating(x_unl, "x_unl", ndim=3)
    S, n, d = x_lab.shape
    if x_unl.shape[0] != S or x_unl.shape[2] != d:
        raise ValueError(f"x_unl must have shape ({S}, m, {d}), got {tuple(x_unl.shape)}")
    if not isinstance(y_lab, Tensor) or tuple(y_lab.shape) != (S, n) or y_lab.is_floating_point():
        raise ValueError(f"y_lab must be an integer tensor of shape ({S}, {n})")
    eps = checks.real(eps, "eps", low=0.0)
    alpha = checks.real(alpha, "alpha", low=0.0)
    steps = checks.integer(steps, "steps", minimum=0)
    lr = checks.real(lr, "lr", low=0.0, low_open=True)
    if n and (int(y_lab.min()) < 0 or int(y_lab.max()) >= classes):
        raise ValueError(f"y_lab values must lie in [0, {classes - 1}]")
    model = EnsembleMLP(S, d, hidden, classes, generator=generator, dtype=x_lab.dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x_all = torch.cat([x_lab, x_unl], 1).reshape(-1, d)
    sigma = eps / math.sqrt(d)
    ce = torch.nn.functional.cross_entropy
    for _ in range(steps):
        xl = x_lab
        if method == "input-noise":
            xl = x_lab + sigma * torch.randn(x_lab.shape, generator=generator, dtype=x_lab.dtype)
        loss = ce(model(xl).reshape(S * n, -1), y_lab.reshape(-1)) * S
        if method in ("noise", "vat"):
            u = vat_direction(consistency_loss, model.probs_rows, x_all, xi=xi,
                              iters=int(method == "vat"), generator=generator)
            with torch.no_grad():
                target = model.probs_rows(x_all)
            pert = model.probs_rows(x_all + eps * u)
            loss = loss + alpha * consistency_loss(pert, target).mean() * S
        elif method == "penalty":
            gp = gradient_penalty(model.probs_rows, x_all, "kl")
            loss = loss + alpha * 0.5 * sigma**2 * gp.mean() * S
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model


def ensemble_metrics(model: EnsembleMLP, x: Tensor, y: Tensor) -> dict:
    """Per-member accuracy and mean cross-entropy on ``x`` (S, N, d), ``y`` (S, N).

    Chapter noise-penalty-vat (toy experiment). Returns ``{"acc", "ce"}``, two float64 NumPy
    arrays of shape (S,).
    """
    checks.floating(x, "x", ndim=3)
    if not isinstance(y, Tensor) or tuple(y.shape) != tuple(x.shape[:2]):
        raise ValueError(f"y must be a tensor of shape {tuple(x.shape[:2])}")
    with torch.no_grad():
        logits = model(x)
        acc = (logits.argmax(-1) == y).double().mean(1)
        ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1)
    return {"acc": acc.cpu().numpy(), "ce": ce.double().cpu().numpy()}
