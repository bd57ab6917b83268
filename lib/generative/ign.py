"""The Idempotent Generative Network read as a GAN: single-loss GAN forms, the IGN losses, and the
tiny 2-D experiments of the chapter *IGN is a GAN with one network* (kexue.fm/archives/9969).

Contract: shared/contracts/generative.md, section 2. Sign convention of the article: real data
get the LOW score (the discriminator minimises ``mean D(x) - mean D(G(z))``, the generator
minimises ``mean D(G(z))``); ``sg`` is ``.detach()``. ``D``, ``G``, ``f`` are ``torch.nn.Module``s,
``x`` and ``z`` tensors with the batch first; "mean" is over all elements. Randomness only
through an explicit ``numpy.random.Generator`` or ``torch.Generator``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib import checks
from lib.generative.mixture import GaussianMixture

__all__ = [
    "frozen_copy", "sync_frozen_", "gan_single_loss_frozen", "gan_single_loss_sg",
    "functional_form", "complex_step_grad", "ReconstructionScore", "ign_losses", "ign_loss_sg",
    "idempotence_error", "EnsembleMLP", "ring_mixture", "train_ign", "train_gan", "sample_quality",
]

_DISTS = {"l2": F.mse_loss, "l1": F.l1_loss}


# ---------------------------------------------------------------------------------------------
# Frozen copies and the two single-loss forms of a GAN (Eqs. eq-idempotent-gan-frozen, -sg)
# ---------------------------------------------------------------------------------------------


def _module(m, name: str) -> nn.Module:
    if not isinstance(m, nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")
    return m


def _no_grad_params(m, name: str) -> None:
    _module(m, name)
    if any(p.requires_grad for p in m.parameters()):
        raise ValueError(f"{name} must be a frozen copy: a parameter requires grad "
                         "(use frozen_copy(module))")


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` (same weights and buffers, no shared storage) whose parameters
    all have ``requires_grad=False``: the theta' / phi' of Eq. ``eq-idempotent-gan-frozen``."""
    out = copy.deepcopy(_module(module, "module"))
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def sync_frozen_(frozen: nn.Module, module: nn.Module) -> nn.Module:
    """Copy ``module``'s current parameters and buffers into ``frozen`` in place (no autograd)
    and return ``frozen``: the per-step refresh theta' <- theta of Eq. ``eq-idempotent-gan-ign``."""
    _module(frozen, "frozen")
    _module(module, "module")
    a = list(frozen.parameters()) + list(frozen.buffers())
    b = list(module.parameters()) + list(module.buffers())
    if len(a) != len(b) or any(p.shape != q.shape for p, q in zip(a, b, strict=False)):
        raise ValueError("frozen must have module's parameter and buffer shapes")
    with torch.no_grad():
        for p, q in zip(a, b, strict=True):
            p.copy_(q)
    return frozen


def _batch(x, name: str) -> torch.Tensor:
    return checks.finite(x, name, min_ndim=1)


def gan_single_loss_frozen(D, G, D_frozen, G_frozen, x, z) -> torch.Tensor:
    """``mean D(x) - mean D(G_frozen(z)) + mean D_frozen(G(z))``, Eq. ``eq-idempotent-gan-frozen``:
    one loss whose gradient is the discriminator's for D and the generator's for G."""
    _module(D, "D")
    _module(G, "G")
    _no_grad_params(D_frozen, "D_frozen")
    _no_grad_params(G_frozen, "G_frozen")
    x, z = _batch(x, "x"), _batch(z, "z")
    return D(x).mean() - D(G_frozen(z)).mean() + D_frozen(G(z)).mean()


def gan_single_loss_sg(D, G, x, z) -> torch.Tensor:
    """``mean D(x) - 2 mean D(sg G(z)) + mean D(G(z))``, Eq. ``eq-idempotent-gan-sg``: the same
    gradients as :func:`gan_single_loss_frozen` without copies (its VALUE is the WGAN gap)."""
    _module(D, "D")
    _module(G, "G")
    x, z = _batch(x, "x"), _batch(z, "z")
    g = G(z)
    return D(x).mean() - 2 * D(g.detach()).mean() + D(g).mean()


# ---------------------------------------------------------------------------------------------
# An independent route to gradients: complex-step differentiation of a written-out objective
# ---------------------------------------------------------------------------------------------


def functional_form(module: nn.Module):
    """``(theta, call)``: ``module``'s parameters flattened into one detached float64 vector, and
    ``call(theta, *inputs)`` that evaluates the module with the parameters read from ``theta``
    (any dtype, complex included; ``theta`` and the inputs are promoted to a common dtype) via
    ``torch.func.functional_call``. No autograd involved: idempotent-gan writes the objectives of
    Eqs. ``eq-idempotent-gan-wgan`` and ``eq-idempotent-gan-ign`` with it for the complex step."""
    _module(module, "module")
    names, shapes = zip(*[(n, p.shape) for n, p in module.named_parameters()], strict=True)
    sizes = [math.prod(s) for s in shapes]
    theta = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()])

    def call(th, *inputs):
        dtype = th.dtype
        for u in inputs:
            dtype = torch.promote_types(dtype, u.dtype)
        th, inputs = th.to(dtype), tuple(u.to(dtype) for u in inputs)
        parts = torch.split(th, sizes)
        params = {n: t.reshape(s) for n, t, s in zip(names, parts, shapes, strict=True)}
        return torch.func.functional_call(module, params, inputs)

    return theta, call


def complex_step_grad(fun, theta: torch.Tensor, h: float = 1e-30) -> torch.Tensor:
    """Gradient of a real-analytic scalar ``fun`` at the real vector ``theta`` by the complex
    step ``d fun / d theta_i = Im fun(theta + i h e_i) / h`` (Squire and Trapp 1998): no
    subtraction, so no cancellation; the error is ``O(h^2)`` (nil at h = 1e-30) plus rounding
    of ``fun`` itself. ``fun`` maps a complex128 vector to a 0-d complex tensor; float64 out.
    The independent reference of every gradient check in idempotent-gan (sections 1 and 2)."""
    theta = checks.finite(theta, "theta", ndim=1).detach().to(torch.complex128)
    h = checks.real(h, "h", low=0.0, low_open=True)
    if not callable(fun):
        raise ValueError("fun must be callable")
    out = torch.empty(theta.numel(), dtype=torch.float64)
    for i in range(theta.numel()):
        t = theta.clone()
        t[i] += 1j * h
        v = fun(t)
        if not isinstance(v, torch.Tensor) or v.numel() != 1:
            raise ValueError("fun must return a scalar tensor")
        out[i] = v.reshape(()).imag / h
    return out


# ---------------------------------------------------------------------------------------------
# The IGN losses (Eq. eq-idempotent-gan-ign) and their copy-free twin (Eq. eq-idempotent-gan-ignsg)
# ---------------------------------------------------------------------------------------------


def _ign_args(x, z, dist, weights):
    checks.choice(dist, "dist", tuple(_DISTS))
    x, z = _batch(x, "x"), _batch(z, "z")
    if x.shape[1:] != z.shape[1:]:
        raise ValueError(f"z must have x's shape after the batch dim {tuple(x.shape[1:])}, "
                         f"got {tuple(z.shape[1:])}")
    try:
        w = tuple(weights)
    except TypeError:
        raise ValueError(f"weights must be three numbers, got {weights!r}") from None
    if len(w) != 3:
        raise ValueError(f"weights must be three numbers, got {weights!r}")
    w = tuple(checks.real(v, "weights") for v in w)
    return x, z, _DISTS[dist], w


class ReconstructionScore(nn.Module):
    """IGN's discriminator ``delta_f(u)``: per-sample mean over the feature dims of ``d(f(u), u)``
    (shape ``(..., n)``), sharing ``f``'s parameters (Eq. ``eq-idempotent-gan-delta``). With it,
    ``gan_single_loss_frozen(ReconstructionScore(f), f, ReconstructionScore(f_frozen), f_frozen,
    x, z)`` is the IGN total with unit weights."""

    def __init__(self, f: nn.Module, dist: str = "l2"):
        super().__init__()
        self.f = _module(f, "f")
        self.dist = checks.choice(dist, "dist", tuple(_DISTS))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        r = self.f(u) - u
        return (r * r if self.dist == "l2" else r.abs()).mean(-1)


def ign_losses(f, f_frozen, x, z, dist: str = "l2", weights=(20.0, 20.0, 2.5)) -> dict:
    """The three IGN losses and their weighted total, Eq. ``eq-idempotent-gan-ign``.

    With ``d`` = mean squared (``"l2"``) or absolute (``"l1"``) difference over all elements:
    ``rec = d(f(x), x)``; ``idem = d(f_frozen(f(z)), f(z))`` (gradient through both occurrences
    of ``f(z)``); ``tight = -d(f(sg f(z)), sg f(z))`` (<= 0, gradient through the outer ``f``);
    ``total = w_rec rec + w_idem idem + w_tight tight``. Returns a dict of 0-d tensors.
    """
    _module(f, "f")
    if f_frozen is f:
        raise ValueError("f_frozen must be a frozen copy of f, not f itself")
    _no_grad_params(f_frozen, "f_frozen")
    x, z, d, (wr, wi, wt) = _ign_args(x, z, dist, weights)
    fz = f(z)
    y = fz.detach()
    rec = d(f(x), x)
    idem = d(f_frozen(fz), fz)
    tight = -d(f(y), y)
    return {"rec": rec, "idem": idem, "tight": tight, "total": wr * rec + wi * idem + wt * tight}


def ign_loss_sg(f, x, z, dist: str = "l2", weights=(20.0, 20.0, 2.5)) -> torch.Tensor:
    """The IGN objective without a frozen copy, Eq. ``eq-idempotent-gan-ignsg``:
    ``w_rec d(f(x), x) + w_idem d(f(g), g) - (w_idem + w_tight) d(f(sg g), sg g)``, ``g = f(z)``.
    Its gradient equals that of ``ign_losses(...)["total"]`` (the stop-gradient trick of
    :func:`gan_single_loss_sg` applied to the shared network); its value does not."""
    _module(f, "f")
    x, z, d, (wr, wi, wt) = _ign_args(x, z, dist, weights)
    g = f(z)
    y = g.detach()
    return wr * d(f(x), x) + wi * d(f(g), g) - (wi + wt) * d(f(y), y)


def idempotence_error(f, y, dist: str = "l2") -> float:
    """``d(f(f(y)), f(y))`` under ``torch.no_grad()`` (the idempotence error of the chapter's
    experiments), ``d`` as in :func:`ign_losses`."""
    _module(f, "f")
    d = _DISTS[checks.choice(dist, "dist", tuple(_DISTS))]
    y = _batch(y, "y")
    with torch.no_grad():
        fy = f(y)
        return float(d(f(fy), fy))


# ---------------------------------------------------------------------------------------------
# The experiments: S independent MLPs trained at once, the 8-Gaussian ring, two training loops
# ---------------------------------------------------------------------------------------------


class EnsembleMLP(nn.Module):
    """``members`` independent MLPs ``sizes[0] -> ... -> sizes[-1]`` (SiLU between layers; the
    networks of idempotent-gan, sections 1-4), evaluated together: input ``(members, n, sizes[0])``, output ``(members, n, sizes[-1])``.

    A loss that is the mean over all elements gives member ``s`` the gradient ``1/members`` times
    that of its own mean loss; Adam is invariant to that factor (up to its ``eps``), so training
    the ensemble trains ``members`` independent seeds in one pass. Initialisation as
    ``nn.Linear`` (uniform in +-1/sqrt(fan_in)) from the explicit ``generator``. With
    ``skip=True`` the output is ``input + MLP(input)`` (a residual map, the identity when the
    last layer is zero).
    """

    def __init__(self, sizes, members: int, *, generator: torch.Generator,
                 dtype: torch.dtype = torch.float32, skip: bool = False):
        super().__init__()
        sizes = [checks.integer(s, "sizes", minimum=1) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
        members = checks.integer(members, "members", minimum=1)
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        if skip and sizes[0] != sizes[-1]:
            raise ValueError(f"skip needs equal input and output sizes, got sizes={sizes}")
        self.sizes, self.members, self.skip = sizes, members, bool(skip)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            bound = 1.0 / math.sqrt(a)
            u = torch.rand((members, a + 1, b), generator=generator, dtype=dtype) * 2 - 1
            self.register_parameter(f"weight{i}", nn.Parameter(bound * u[:, :a]))
            self.register_parameter(f"bias{i}", nn.Parameter(bound * u[:, a:]))

    def layer(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight ``(members, in, out)`` and bias ``(members, 1, out)`` of layer ``i``."""
        return getattr(self, f"weight{i}"), getattr(self, f"bias{i}")

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() != 3 or h.shape[0] != self.members or h.shape[2] != self.sizes[0]:
            raise ValueError(f"h must have shape ({self.members}, n, {self.sizes[0]}), "
                             f"got {tuple(h.shape)}")
        u, last = h, len(self.sizes) - 2
        for i in range(last + 1):
            w, b = self.layer(i)
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = F.silu(h)
        return u + h if self.skip else h


def ring_mixture(k: int = 8, radius: float = 2.0, std: float = 0.1) -> GaussianMixture:
    """The 2-D test bed of idempotent-gan (sections 3-4): ``k`` equal-weight isotropic Gaussians (standard deviation ``std``) at
    angles ``2 pi j / k`` on a circle of the given ``radius``."""
    k = checks.integer(k, "k", minimum=1)
    radius = checks.real(radius, "radius", low=0.0)
    std = checks.real(std, "std", low=0.0, low_open=True)
    a = 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(a), np.sin(a)], 1)
    return GaussianMixture(np.full(k, 1.0 / k), means, np.full(k, std**2))


def _draw(gmm: GaussianMixture, rng: np.random.Generator, shape, dtype):
    x = gmm.sample(int(np.prod(shape[:-1])), rng).reshape(shape)
    return torch.as_tensor(x, dtype=dtype)


def _train_args(net, name, out, gmm, steps, batch, lr, betas, rng):
    """Validated training arguments; ``out=None`` means the data dimension."""
    if not isinstance(gmm, GaussianMixture):
        raise ValueError(f"gmm must be a GaussianMixture, got {type(gmm).__name__}")
    if not isinstance(net, EnsembleMLP):
        raise ValueError(f"{name} must be an EnsembleMLP, got {type(net).__name__}")
    out = gmm.dim if out is None else out
    if net.sizes[0] != gmm.dim or net.sizes[-1] != out:
        raise ValueError(f"{name} must map {gmm.dim} -> {out} features, got sizes {net.sizes}")
    try:
        b1, b2 = (checks.real(b, "betas", low=0.0, high=1.0, high_open=True) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}") from None
    return (checks.integer(steps, "steps", minimum=0), checks.integer(batch, "batch", minimum=1),
            checks.real(lr, "lr", low=0.0, low_open=True), (b1, b2), checks.generator(rng))


def train_ign(f: EnsembleMLP, gmm: GaussianMixture, *, steps: int, batch: int, rng,
              lr: float = 1e-3, betas=(0.5, 0.999), dist: str = "l2",
              weights=(20.0, 20.0, 2.5)) -> nn.Module:
    """Train ``f`` in place on ``ign_losses(...)["total"]`` with Adam, refreshing the frozen copy
    from the current weights before every step (Eq. ``eq-idempotent-gan-ign``); data from
    ``gmm``, noise ``z ~ N(0, I)`` of the data's shape. Returns ``f``."""
    steps, batch, lr, betas, rng = _train_args(f, "f", None, gmm, steps, batch, lr, betas, rng)
    dtype = f.weight0.dtype
    frozen = frozen_copy(f)
    opt = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)
    shape = (f.members, batch, gmm.dim)
    for _ in range(steps):
        x = _draw(gmm, rng, shape, dtype)
        z = torch.as_tensor(rng.standard_normal(shape), dtype=dtype)
        sync_frozen_(frozen, f)
        loss = ign_losses(f, frozen, x, z, dist=dist, weights=weights)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return f


def train_gan(G: EnsembleMLP, D: EnsembleMLP, gmm: GaussianMixture, *, steps: int, batch: int,
              rng, lr: float = 1e-3, betas=(0.5, 0.999)) -> nn.Module:
    """The plain-GAN baseline of idempotent-gan section 4, alternating and non-saturating, in the article's sign convention
    (``D`` is the logit of "fake"): ``D`` minimises ``softplus(D(x)) + softplus(-D(G(z)))``,
    then ``G`` minimises ``softplus(D(G(z)))`` with the updated ``D``. Returns ``G``."""
    _train_args(D, "D", 1, gmm, steps, batch, lr, betas, rng)
    steps, batch, lr, betas, rng = _train_args(G, "G", None, gmm, steps, batch, lr, betas, rng)
    if D.members != G.members:
        raise ValueError(f"D must have G's number of members {G.members}, got {D.members}")
    dtype = G.weight0.dtype
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    shape = (G.members, batch, gmm.dim)
    for _ in range(steps):
        x = _draw(gmm, rng, shape, dtype)
        z = torch.as_tensor(rng.standard_normal(shape), dtype=dtype)
        g = G(z)
        loss_d = F.softplus(D(x)).mean() + F.softplus(-D(g.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(D(g)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    return G


def sample_quality(samples, gmm: GaussianMixture, *, n_sigma: float = 3.0,
                   min_count: int = 20) -> dict:
    """Sample-vs-data summary for an isotropic mixture (idempotent-gan section 4; NumPy in, floats
    out): a sample is *good*
    if it lies within ``n_sigma`` standard deviations of its nearest mean; a mode is *covered*
    if at least ``min_count`` good samples sit at it. Returns ``good`` (fraction), ``modes``
    (number covered), ``tv`` (total variation between the good samples' mode histogram and the
    weights; 1 if none is good) and ``radius_err`` (mean | |g| - |m| | for a ring of equal radii
    |m|)."""
    s = checks.float64_array(samples, "samples")
    if not isinstance(gmm, GaussianMixture):
        raise ValueError(f"gmm must be a GaussianMixture, got {type(gmm).__name__}")
    if s.ndim != 2 or s.shape[1] != gmm.dim or s.shape[0] == 0:
        raise ValueError(f"samples must have shape (n, {gmm.dim}), got {s.shape}")
    n_sigma = checks.real(n_sigma, "n_sigma", low=0.0, low_open=True)
    min_count = checks.integer(min_count, "min_count", minimum=1)
    std = np.sqrt(gmm.covs[:, 0, 0])
    dist = np.linalg.norm(s[:, None, :] - gmm.means[None], axis=-1)
    k = dist.argmin(1)
    good = dist[np.arange(len(s)), k] <= n_sigma * std[k]
    counts = np.bincount(k[good], minlength=gmm.n_components)
    hist = counts / counts.sum() if counts.sum() else None
    radius = float(np.linalg.norm(gmm.means, axis=1).mean())
    return {"good": float(good.mean()), "modes": int((counts >= min_count).sum()),
            "tv": 1.0 if hist is None else float(0.5 * np.abs(hist - gmm.weights).sum()),
            "radius_err": float(np.abs(np.linalg.norm(s, axis=1) - radius).mean())}
