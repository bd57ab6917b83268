"""Multi-task loss weighting: scale- and shift-invariant ways to add task losses.

Chapter: ``chapters/optimization/multitask-loss-weighting.md`` (kexue.fm article 8870).

* :func:`reference_loss` — the per-task normaliser (initial or prior loss) of a classification
  (cross-entropy) or regression (squared error) task, Eq. ``eq-multitask-loss-weighting-ref``;
* :func:`combine_losses` — one scalar from the task losses: the plain sum, initial-loss
  normalisation, stop-gradient normalisation, gradient-norm normalisation,
  Eq. ``eq-multitask-loss-weighting-schemes``;
* :func:`power_mean` — the generalised mean of the losses, computed in log space,
  Eq. ``eq-multitask-loss-weighting-power``;
* :func:`normalized_grad_sum` — the sum of the unit task gradients,
  Eq. ``eq-multitask-loss-weighting-gradsum``;
* :func:`linear_tasks`, :func:`linear_task_losses`, :func:`relative_excess`,
  :func:`multitask_descent`, :func:`log_objective_minimisers` — the chapter's toy: least-squares
  tasks sharing one weight vector, full-batch gradient descent under a weighting scheme (many
  replicates at once), and where the sg scheme ends with the curvature that limits its step.

Torch functions return the input's dtype and device (half precision computed in float32);
:func:`reference_loss` returns a Python float. Randomness only through an explicit ``rng``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lib import checks

__all__ = [
    "SCHEMES",
    "reference_loss",
    "combine_losses",
    "power_mean",
    "normalized_grad_sum",
    "linear_tasks",
    "linear_task_losses",
    "relative_excess",
    "multitask_descent",
    "log_objective_minimisers",
]

#: The weighting schemes of :func:`combine_losses`.
SCHEMES = ("sum", "init", "sg", "grad")


# -- normalisers ---------------------------------------------------------------------------
def _labels(y) -> np.ndarray:
    a = y.detach().cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"y must be 1-D integer labels, got shape {a.shape}")
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"y must hold integer class labels, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating) and not (np.all(np.isfinite(a)) and np.all(a == np.round(a))):
        raise ValueError("y must hold integer class labels (found a non-integer value)")
    if a.size and a.min() < 0:
        raise ValueError("y must hold non-negative class labels")
    return a.astype(np.int64)


def reference_loss(y, kind: str, state: str, num_classes=None) -> float:
    """The loss a task starts from, Eq. ``eq-multitask-loss-weighting-ref`` (a Python float).

    ``kind="ce"`` (``y``: integer labels, shape (N,)): ``state="init"`` gives ``log K``, the
    cross-entropy of the uniform prediction (``num_classes=K`` required); ``"prior"`` gives the
    entropy (natural log) of the empirical label frequencies, the cross-entropy of predicting
    those frequencies for every example. ``kind="mse"`` (``y``: (N,) or (N, k)): ``"init"`` gives
    ``mean_n ||y_n||^2`` (prediction 0); ``"prior"`` gives ``mean_n ||y_n - ybar||^2`` (prediction
    the mean target, divided by N). NumPy arrays or tensors in, computed in float64.

    Chapter: multitask-loss-weighting (article 8870).

    ``ValueError``: unknown ``kind`` or ``state``, empty ``y``, labels negative, non-integer or
    ``>= num_classes``, ``"ce"``/``"init"`` without ``num_classes``, non-finite targets.
    """
    checks.choice(kind, "kind", ("ce", "mse"))
    checks.choice(state, "state", ("init", "prior"))
    if kind == "ce":
        labels = _labels(y)
        if labels.size == 0:
            raise ValueError("y must not be empty")
        if num_classes is None and state == "init":
            raise ValueError("num_classes is required for kind='ce', state='init'")
        if num_classes is not None:
            k = checks.integer(num_classes, "num_classes", minimum=1)
            if labels.max() >= k:
                raise ValueError(f"y has a label >= num_classes = {k}")
        if state == "init":
            return math.log(k)
        freq = np.bincount(labels) / labels.size
        freq = freq[freq > 0]
        return float(-(freq * np.log(freq)).sum())
    t = checks.float64_array(y, "y")
    if t.ndim not in (1, 2):
        raise ValueError(f"y must have shape (N,) or (N, k), got {t.shape}")
    if t.shape[0] == 0 or t.size == 0:
        raise ValueError("y must not be empty")
    t = t.reshape(t.shape[0], -1)
    if state == "prior":
        t = t - t.mean(axis=0)
    return float((t**2).sum(axis=1).mean())


# -- combining task losses -----------------------------------------------------------------
def _positive_constants(v, n: int, like: Tensor, name: str) -> Tensor:
    if v is None:
        raise ValueError(f"{name} is required for this scheme")
    if isinstance(v, Tensor):
        t = v.detach()
    else:
        try:
            t = torch.tensor([float(x.detach()) if isinstance(x, Tensor) else float(x) for x in v],
                             dtype=torch.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a tensor or a sequence of numbers, got {v!r}") from None
    t = t.to(dtype=like.dtype, device=like.device).reshape(-1)
    if t.numel() != n:
        raise ValueError(f"{name} must have {n} entries (one per task), got {t.numel()}")
    if not torch.isfinite(t).all() or (t <= 0).any():
        raise ValueError(f"{name} must hold finite positive numbers")
    return t


def combine_losses(losses: Tensor, scheme: str = "sum", init=None, grad_norms=None) -> Tensor:
    """One objective from n task losses, Eq. ``eq-multitask-loss-weighting-schemes`` (0-d).

    ``losses``: 1-D tensor (n,) attached to the graph. ``"sum"``: ``sum L_i``; ``"init"``:
    ``sum L_i / init_i`` (``init``: n positive constants, the initial or prior losses);
    ``"sg"``: ``sum L_i / sg(L_i)`` (value n, gradient ``sum grad L_i / L_i``); ``"grad"``:
    ``sum L_i / grad_norms_i`` (``grad_norms``: the n norms ``||grad L_i||``; gradient
    ``sum grad L_i / ||grad L_i||``). Denominators are constants: no gradient flows through them.

    Chapter: multitask-loss-weighting (article 8870).

    ``ValueError``: unknown scheme, ``losses`` not a 1-D floating tensor or non-finite,
    ``init``/``grad_norms`` missing, of the wrong length or with a non-positive entry, a loss
    ``<= 0`` under ``"sg"``.
    """
    checks.choice(scheme, "scheme", SCHEMES)
    checks.finite(losses, "losses", ndim=1)
    n = losses.shape[0]
    if n == 0:
        raise ValueError("losses must hold at least one task loss")
    if scheme == "sum":
        return losses.sum()
    if scheme == "sg":
        if (losses.detach() <= 0).any():
            raise ValueError("losses must be > 0 under scheme='sg' (each is divided by itself)")
        return (losses / losses.detach()).sum()
    name, v = ("init", init) if scheme == "init" else ("grad_norms", grad_norms)
    return (losses / _positive_constants(v, n, losses, name)).sum()


def power_mean(losses: Tensor, gamma, dim: int = -1) -> Tensor:
    """Generalised mean ``((1/n) sum L_i^gamma)^(1/gamma)`` along ``dim``,
    Eq. ``eq-multitask-loss-weighting-power``.

    ``gamma = 0`` is the geometric mean ``exp(mean log L)``, ``gamma = +-inf`` the max / min.
    Computed from ``l = log L`` as ``lbar + (1/gamma) log mean exp(gamma (l - lbar))`` (``lbar``
    the mean of ``l``): with ``log1p``/``expm1`` when ``|gamma| max|l - lbar| <= 1`` over the
    whole tensor (no cancellation as gamma -> 0), otherwise with ``logsumexp`` shifted by the
    largest (gamma > 0) or smallest (gamma < 0) entry, so no exponent is positive and any finite
    gamma is safe. Differentiable; ``dim`` is removed.

    Chapter: multitask-loss-weighting (article 8870).

    ``ValueError``: ``losses`` not floating, empty along ``dim``, or with an entry that is
    ``<= 0``, NaN or inf; ``gamma`` not a real number or NaN.
    """
    checks.finite(losses, "losses", min_ndim=1)
    if (losses.detach() <= 0).any():
        raise ValueError("losses must be > 0 (a power mean of non-positive numbers is undefined)")
    n = losses.shape[dim]
    if n == 0:
        raise ValueError(f"losses must not be empty along dim={dim}")
    if isinstance(gamma, bool | Tensor):
        raise ValueError(f"gamma must be a real number, got {gamma!r}")
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma must be a real number, got {gamma!r}") from None
    if math.isnan(g):
        raise ValueError("gamma must not be NaN")
    dtype = losses.dtype
    x = losses.to(checks.work_dtype(dtype))
    if g == math.inf:
        return x.amax(dim).to(dtype)
    if g == -math.inf:
        return x.amin(dim).to(dtype)
    lg = x.log()
    lbar = lg.mean(dim, keepdim=True)
    d = lg - lbar
    if g == 0.0:
        out = lbar
    elif abs(g) * float(d.detach().abs().max()) <= 1.0:
        out = lbar + torch.log1p(torch.expm1(g * d).mean(dim, keepdim=True)) / g
    else:  # shift by the extreme entry so that every exponent is <= 0 (no overflow)
        top = (d.amax(dim, keepdim=True) if g > 0 else d.amin(dim, keepdim=True)).detach()
        out = lbar + top + (torch.logsumexp(g * (d - top), dim, keepdim=True) - math.log(n)) / g
    out = out.squeeze(dim)
    return out.exp().to(dtype)


def _unit_rows(g: Tensor, eps: float) -> Tensor:
    """Rows (last dim) of ``g`` divided by ``||row|| + eps``, scaled first so no overflow."""
    s = g.abs().amax(-1, keepdim=True)
    safe = torch.where(s > 0, s, torch.ones_like(s))
    u = g / safe
    norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    if eps == 0.0:
        return u / norm
    return u / (norm + torch.full_like(safe, eps) / safe)  # tensor / tensor: exact for subnormals


def normalized_grad_sum(grads: Tensor, eps: float = 0.0) -> Tensor:
    """``sum_i g_i / (||g_i|| + eps)`` for ``grads`` of shape (n, P), one task per row,
    Eq. ``eq-multitask-loss-weighting-gradsum``. Returns (P,), dtype and device of ``grads``.

    Each row is divided by its largest magnitude before its norm is taken, so rows near the
    float range limits neither overflow nor underflow. ``eps > 0`` damps rows whose norm is
    small compared with ``eps`` (a zero row then contributes 0).

    Chapter: multitask-loss-weighting (article 8870).

    ``ValueError``: ``grads`` not a 2-D floating tensor or non-finite, ``eps`` negative or not
    finite, a zero row when ``eps == 0``.
    """
    checks.finite(grads, "grads", ndim=2)
    eps = checks.real(eps, "eps", low=0.0)
    dtype = grads.dtype
    g = grads.to(checks.work_dtype(dtype))
    if eps == 0.0 and (g == 0).all(-1).any():
        raise ValueError("grads has a zero row: its direction is undefined (pass eps > 0)")
    return _unit_rows(g, eps).sum(0).to(dtype)


# -- the toy: least-squares tasks with one shared weight vector -----------------------------
def linear_tasks(rng, replicates: int, tasks: int = 2, n: int = 200, d: int = 5,
                 noise=(1.0, 0.1)) -> tuple[Tensor, Tensor]:
    """Draw ``replicates`` independent copies of a multi-task least-squares problem.

    Task ``i`` of a replicate has its own design ``X ~ N(0, 1)`` of shape (n, d), its own true
    weights ``w_i ~ N(0, I_d)`` and targets ``y = X w_i + noise[i] * N(0, 1)``: the tasks
    conflict (different optima) and have different noise floors. Returns float64 tensors
    ``X`` (replicates, tasks, n, d) and ``Y`` (replicates, tasks, n).

    Chapter: multitask-loss-weighting (article 8870), the toy of section 6.

    ``ValueError``: ``rng`` not a ``numpy.random.Generator``, a non-positive size, ``noise``
    not ``tasks`` non-negative finite numbers.
    """
    checks.generator(rng)
    for v, name in ((replicates, "replicates"), (tasks, "tasks"), (n, "n"), (d, "d")):
        checks.integer(v, name, minimum=1)
    sig = checks.float64_array(noise, "noise").reshape(-1)
    if sig.size != tasks or (sig < 0).any():
        raise ValueError(f"noise must hold {tasks} non-negative numbers, got {noise!r}")
    X = rng.standard_normal((replicates, tasks, n, d))
    w = rng.standard_normal((replicates, tasks, d))
    Y = np.einsum("rtnd,rtd->rtn", X, w) + sig[None, :, None] * rng.standard_normal((replicates, tasks, n))
    return torch.from_numpy(X), torch.from_numpy(Y)


def linear_task_losses(W: Tensor, X: Tensor, Y: Tensor) -> Tensor:
    """Mean squared residuals ``L[r, i] = mean_k (X[r, i] @ W[r] - Y[r, i])_k^2``: (R, tasks).

    ``W`` (R, d) holds one shared weight vector per replicate. Differentiable in ``W``.

    Chapter: multitask-loss-weighting (article 8870).

    ``ValueError``: shapes that do not fit ``X`` (R, tasks, n, d) and ``Y`` (R, tasks, n).
    """
    checks.floating(X, "X", ndim=4)
    checks.floating(Y, "Y", ndim=3)
    checks.floating(W, "W", ndim=2)
    R, T, n, d = X.shape
    if tuple(Y.shape) != (R, T, n):
        raise ValueError(f"Y must have shape {(R, T, n)}, got {tuple(Y.shape)}")
    if tuple(W.shape) != (R, d):
        raise ValueError(f"W must have shape {(R, d)}, got {tuple(W.shape)}")
    r = torch.einsum("rtnd,rd->rtn", X, W) - Y
    return (r**2).mean(-1)


def relative_excess(W: Tensor, X: Tensor, Y: Tensor, W0: Tensor | None = None) -> Tensor:
    """Each task's excess loss over its own optimum, relative to the start: (..., R, tasks).

    ``e = (L_i(W) - min L_i) / (L_i(W0) - min L_i)`` with ``min L_i`` from a least-squares
    solve of task i alone and ``W0 = 0`` by default: 0 at the task's optimum, 1 at the start.
    It is unchanged by rescaling or shifting a loss, so it compares schemes fairly. ``W`` may
    carry leading dims (e.g. a trajectory, (T, R, d)).

    Chapter: multitask-loss-weighting (article 8870).

    ``ValueError``: shapes as in :func:`linear_task_losses`; ``W0`` at a task's optimum.
    """
    checks.floating(W, "W", min_ndim=2)
    lead = W.shape[:-2]
    Wf = W.reshape(-1, *W.shape[-2:])
    if W0 is None:
        W0 = torch.zeros_like(Wf[0])
    best = torch.linalg.lstsq(X, Y.unsqueeze(-1)).solution.squeeze(-1)  # (R, tasks, d)
    lmin = ((torch.einsum("rtnd,rtd->rtn", X, best) - Y) ** 2).mean(-1)
    l0 = linear_task_losses(W0, X, Y)
    if not (l0 > lmin).all():
        raise ValueError("W0 must not be a task's optimum (the excess is measured relative to it)")
    L = torch.stack([linear_task_losses(w, X, Y) for w in Wf])
    return ((L - lmin) / (l0 - lmin)).reshape(*lead, *lmin.shape)


def multitask_descent(loss_fn, W0: Tensor, scheme: str = "sum", lr: float = 0.05,
                      steps: int = 100, gamma=None) -> tuple[Tensor, Tensor]:
    """Full-batch gradient descent on ``R`` independent replicates under a weighting scheme.

    ``loss_fn(W)`` maps ``W`` (R, P) to task losses (R, n), row r depending only on ``W[r]``.
    Each step minimises, for every replicate at once, ``combine_losses`` of its losses with
    ``scheme`` in ``SCHEMES`` — ``"init"`` uses the losses at ``W0`` as ``init``, ``"grad"`` the
    norms of the n per-task gradients (n extra backward passes) — or, with ``scheme="power"``,
    ``power_mean(losses, gamma)``. Returns ``(Ws, Ls)``: shapes (steps+1, R, P) and
    (steps+1, R, n), the iterates and their losses. A run whose losses become non-finite stops:
    later rows are NaN.

    Chapter: multitask-loss-weighting (article 8870), the toy of section 6.

    ``ValueError``: unknown scheme, ``gamma`` missing for ``"power"``, ``lr`` not finite and
    > 0, ``steps`` not a non-negative int, ``W0`` not a 2-D floating tensor, ``loss_fn`` not
    returning shape (R, n); from :func:`combine_losses`, a per-task gradient that is exactly 0.
    """
    checks.choice(scheme, "scheme", (*SCHEMES, "power"))
    checks.floating(W0, "W0", ndim=2)
    lr = checks.real(lr, "lr", low=0.0, low_open=True)
    steps = checks.integer(steps, "steps", minimum=0)
    if scheme == "power" and gamma is None:
        raise ValueError("gamma is required for scheme='power'")
    W = W0.detach().clone().requires_grad_(True)
    L = loss_fn(W)
    if not isinstance(L, Tensor) or L.dim() != 2 or L.shape[0] != W0.shape[0]:
        raise ValueError(f"loss_fn must return a tensor of shape ({W0.shape[0]}, n_tasks), "
                         f"got {getattr(L, 'shape', type(L).__name__)}")
    Ws = torch.full((steps + 1, *W0.shape), math.nan, dtype=W0.dtype, device=W0.device)
    Ls = torch.full((steps + 1, *L.shape), math.nan, dtype=L.dtype, device=L.device)
    init = L.detach().reshape(-1).clone()
    for t in range(steps + 1):
        Ws[t], Ls[t] = W.detach(), L.detach()
        if t == steps or not torch.isfinite(L).all():
            break
        if scheme == "power":
            obj = power_mean(L, gamma).sum()
        else:
            norms = None
            if scheme == "grad":
                per_task = [torch.autograd.grad(L[:, i].sum(), W, retain_graph=True)[0]
                            for i in range(L.shape[1])]
                norms = torch.linalg.vector_norm(torch.stack(per_task, 1), dim=-1).reshape(-1)
            obj = combine_losses(L.reshape(-1), scheme, init=init, grad_norms=norms)
        (g,) = torch.autograd.grad(obj, W)
        with torch.no_grad():
            W -= lr * g
        L = loss_fn(W)
    return Ws, Ls


def log_objective_minimisers(X: Tensor, Y: Tensor) -> tuple[Tensor, Tensor]:
    """Per replicate, the minimiser of ``sum_i log L_i(w)`` (the sg / geometric-mean objective,
    Eq. ``eq-multitask-loss-weighting-sg``) and the eigenvalues of its Hessian there.

    Found by SciPy's BFGS from ``w = 0`` with autograd gradients, then polished by three Newton
    steps with autograd's Hessian (which also gives the eigenvalues). Returns ``(w_star, eigenvalues)``, shapes (R, d) and (R, d),
    eigenvalues ascending. Gradient descent on the sg scheme with step ``lr`` is stable at
    ``w_star`` exactly when ``lr * eigenvalues[:, -1] < 2``.

    Chapter: multitask-loss-weighting (article 8870), section 6.

    ``ValueError``: shapes as in :func:`linear_task_losses`.
    """
    from scipy.optimize import minimize

    checks.floating(X, "X", ndim=4)
    R, d = X.shape[0], X.shape[3]
    linear_task_losses(torch.zeros(R, d, dtype=X.dtype), X, Y)  # validates the shapes
    ws, lams = [], []
    for r in range(R):
        def objective(w, r=r):
            return torch.log(((X[r] @ w - Y[r]) ** 2).mean(-1)).sum()

        def f_and_g(z, objective=objective):
            zt = torch.tensor(z, dtype=X.dtype, requires_grad=True)
            v = objective(zt)
            return float(v.detach()), torch.autograd.grad(v, zt)[0].numpy()

        w = torch.tensor(minimize(f_and_g, np.zeros(d), jac=True, method="BFGS").x, dtype=X.dtype)
        for _ in range(3):  # Newton polish: quadratic convergence to float64 resolution
            g = torch.autograd.functional.jacobian(objective, w)
            w = w - torch.linalg.solve(torch.autograd.functional.hessian(objective, w), g)
        ws.append(w)
        lams.append(torch.linalg.eigvalsh(torch.autograd.functional.hessian(objective, w)))
    return torch.stack(ws), torch.stack(lams)
