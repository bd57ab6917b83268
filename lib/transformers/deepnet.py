r"""DeepNet / DeepNorm: the constants, the residual rule, the magnitude probe, and the toys.

Chapter *What is hard about 1000 layers* (``chapters/transformers/deepnet-1000-layers.md``),
after Su Jianlin, kexue.fm/archives/8978, and Wang et al. (2022), arXiv:2203.00555.

Contract part (shared/contracts/transformers.md, section "DeepNet (8978)"):

* :func:`deepnorm_constants` — Su's table of :math:`(\alpha,\lambda)` per optimiser and norm
  placement, and the paper's :math:`((2N)^{1/4}, (8N)^{-1/4})` (eq. eq-deepnet-1000-layers-sgd);
* :func:`deepnorm` — :math:`\mathrm{LN}(\alpha x + F(x))` without affine
  (eq. eq-deepnet-1000-layers-ln);
* :func:`magnitude_decompose` — :math:`W=\lambda U` with the least-squares gain
  (eq. eq-deepnet-1000-layers-kappa);
* :func:`init_deepnorm_` — Xavier-normal init with gain ``beta`` on the named sublayers.

Chapter toys (not in the contract): :func:`sublayer_gain_grads` (per-sample
:math:`\partial\mathcal L/\partial\lambda` of one Post-LN FFN or attention sublayer written with
the probe, eq. eq-deepnet-1000-layers-ffn), :class:`PostLNStack` and :func:`one_step_update`
(the size of one optimiser step in a deep Post-LN residual stack,
eq. eq-deepnet-1000-layers-increment), and the two experiment drivers :func:`gain_law` and
:func:`depth_sweep`.

Tensors in, tensors out; dtype preserved (half precision is computed in float32); randomness
only through an explicit ``generator=``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from lib import checks

from .attention import softmax_attention

__all__ = [
    "deepnorm_constants",
    "deepnorm",
    "magnitude_decompose",
    "init_deepnorm_",
    "sublayer_gain_grads",
    "PostLNStack",
    "one_step_update",
    "gain_law",
    "depth_sweep",
]

# exponent e of (2N)^e for (alpha, lam), Su's table (Post-LN) and its Pre-LN version (alpha = 1)
_SU_EXPONENTS = {
    ("post", "sgd"): (0.25, -0.25),
    ("post", "adam"): (0.5, -0.5),
    ("post", "lamb"): (0.0, -0.5),
    ("pre", "sgd"): (0.0, -0.5),
    ("pre", "adam"): (0.0, -1.0),
    ("pre", "lamb"): (0.0, -0.5),
}


def deepnorm_constants(N: int, *, optimizer: str = "sgd", norm: str = "post",
                       source: str = "su") -> tuple[float, float]:
    r"""``(alpha, lam)`` for an ``N``-layer Transformer (``2N`` sublayers), as floats.

    Chapter *DeepNet*, eqs. eq-deepnet-1000-layers-sgd and eq-deepnet-1000-layers-table.
    ``source="su"``: Su's table — the condition :math:`\lambda/\alpha=(2N)^{-1/2}` (SGD),
    :math:`\lambda/\alpha=(2N)^{-1}` (Adam), :math:`\lambda^2/\alpha=(2N)^{-1}` (LAMB), solved with
    :math:`\lambda=1/\alpha` for SGD/Adam and :math:`\alpha=1` for LAMB and for every Pre-LN row.
    ``source="paper"``: the paper's and torchscale's encoder-only
    :math:`(\alpha,\beta)=((2N)^{1/4},(8N)^{-1/4})`, :math:`\beta` a Xavier gain; only with
    ``optimizer="sgd"``, ``norm="post"``.
    """
    N = checks.integer(N, "N", minimum=1)
    optimizer = checks.choice(optimizer, "optimizer", ("sgd", "adam", "lamb"))
    norm = checks.choice(norm, "norm", ("post", "pre"))
    source = checks.choice(source, "source", ("su", "paper"))
    if source == "paper":
        if optimizer != "sgd":
            raise ValueError(f"optimizer must be 'sgd' with source='paper', got {optimizer!r}")
        if norm != "post":
            raise ValueError(f"norm must be 'post' with source='paper', got {norm!r}")
        return float((2 * N) ** 0.25), float((8 * N) ** -0.25)
    ea, el = _SU_EXPONENTS[(norm, optimizer)]
    return float((2 * N) ** ea), float((2 * N) ** el)


def deepnorm(x: Tensor, fx: Tensor, alpha: float, *, eps: float = 1e-5) -> Tensor:
    r"""``LN(alpha * x + fx)`` over the last dimension, no affine (the DeepNorm residual).

    Chapter *DeepNet*, eq. eq-deepnet-1000-layers-ln. Computed as
    :math:`\mathrm{LN}_{\epsilon}(\alpha y)=\mathrm{LN}_{\epsilon/\alpha^2}(y)` with
    :math:`y=x+f_x/\alpha`, after dividing each row by its largest entry (LN with its
    :math:`\epsilon` rescaled is exactly invariant to that), so values near the dtype's maximum
    stay finite where ``F.layer_norm`` overflows. ``eps=0`` is allowed; a row with zero variance
    then returns zeros (the limit :math:`\epsilon\to0`), never NaN.
    """
    checks.finite(x, "x", min_ndim=1)
    checks.finite(fx, "fx")
    checks.same_shape(x, fx, "x", "fx")
    alpha = checks.real(alpha, "alpha", low=0.0, low_open=True)
    eps = checks.real(eps, "eps", low=0.0)
    out_dtype, work = x.dtype, checks.work_dtype(x.dtype)
    y = x.to(work) + fx.to(work) / alpha
    m = y.detach().abs().amax(-1, keepdim=True)
    m = torch.where(m > 0, m, torch.ones_like(m))
    ys = y / m
    c = ys - ys.mean(-1, keepdim=True)
    var = (c * c).mean(-1, keepdim=True)
    den = torch.sqrt(var + eps / (alpha * m) ** 2)
    return (c / torch.where(den > 0, den, torch.ones_like(den))).to(out_dtype)


def magnitude_decompose(W: Tensor) -> tuple[Tensor, Tensor]:
    r"""``(lam, U)`` with ``W = lam * U`` and ``lam = argmin_{k>0} ||W W^T / k^2 - I||_F``.

    Chapter *DeepNet*, eq. eq-deepnet-1000-layers-kappa: the minimiser is
    :math:`\lambda^2=\mathrm{tr}((WW^\top)^2)/\mathrm{tr}(WW^\top)=\|W^\top W\|_F^2/\|W\|_F^2`
    (the same for :math:`W^\top W`). ``lam`` is a 0-dim tensor of ``W``'s dtype, differentiable;
    ``W`` is divided by its largest entry first, so no square overflows or underflows.
    """
    checks.finite(W, "W", ndim=2)
    out_dtype, work = W.dtype, checks.work_dtype(W.dtype)
    Ww = W.to(work)
    m = Ww.detach().abs().amax()
    if m == 0:
        raise ValueError("W must not be all zero (its magnitude would be 0)")
    Ws = Ww / m
    gram = Ws.T @ Ws if Ws.shape[0] >= Ws.shape[1] else Ws @ Ws.T
    lam = m * torch.sqrt((gram * gram).sum() / (Ws * Ws).sum())
    return lam.to(out_dtype), (Ww / lam).to(out_dtype)


def init_deepnorm_(module: nn.Module, beta: float,
                   names=("fc1", "fc2", "v_proj", "out_proj"), *, generator=None) -> nn.Module:
    r"""Xavier-normal init of every ``nn.Linear`` of ``module``, in place; returns ``module``.

    Chapter *DeepNet* (the paper's initialisation): weight std
    :math:`g\sqrt{2/(\text{fan\_in}+\text{fan\_out})}` with gain :math:`g=\beta` when the
    qualified name from ``named_modules()`` contains any of ``names`` and :math:`g=1`
    otherwise; biases become 0; other modules are untouched.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    beta = checks.real(beta, "beta", low=0.0, low_open=True)
    if isinstance(names, str) or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"names must be a sequence of non-empty strings, got {names!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    with torch.no_grad():
        for qname, sub in module.named_modules():
            if isinstance(sub, nn.Linear):
                gain = beta if any(s in qname for s in names) else 1.0
                nn.init.xavier_normal_(sub.weight, gain=gain, generator=generator)
                if sub.bias is not None:
                    sub.bias.zero_()
    return module


def sublayer_gain_grads(x: Tensor, y: Tensor, readout: Tensor, mats: dict, lam: float,
                        alpha: float, *, kind: str = "ffn") -> dict:
    r"""Per-sample :math:`\partial\mathcal L_b/\partial\lambda` of one Post-LN sublayer in probe form.

    Chapter *DeepNet*, eqs. eq-deepnet-1000-layers-ffn (``kind="ffn"``, gains ``"1"``, ``"2"``:
    :math:`z=x+\lambda_1\lambda_2\,\mathrm{relu}(xU_1)U_2/\alpha`) and
    eq-deepnet-1000-layers-attn (``kind="attn"``, gains ``"q","k","v","o"``:
    :math:`z=x+\lambda_v\lambda_o\,\sigma(\lambda_q\lambda_k\,xU_qU_k^\top x^\top/\sqrt d)\,xU_vU_o/\alpha`,
    attention from :func:`lib.transformers.softmax_attention`). ``x`` is ``(B, T, d)``, ``y``
    ``(B, T)``, ``readout`` ``(d,)``; the loss of sample ``b`` is
    :math:`\tfrac12\sum_t(\mathrm{LN}(z_{bt})\cdot r-y_{bt})^2`. Every gain equals ``lam``; each
    sample gets its own copy of each gain, so one backward pass gives the per-sample
    derivatives. Returns ``{gain name: (B,) tensor}``.
    """
    kind = checks.choice(kind, "kind", ("ffn", "attn"))
    checks.finite(x, "x", ndim=3)
    checks.finite(y, "y", ndim=2)
    checks.finite(readout, "readout", ndim=1)
    if y.shape != x.shape[:2] or readout.shape[0] != x.shape[-1]:
        raise ValueError(f"y must be {tuple(x.shape[:2])} and readout ({x.shape[-1]},), got "
                         f"{tuple(y.shape)} and {tuple(readout.shape)}")
    lam = checks.real(lam, "lam", low=0.0, low_open=True)
    alpha = checks.real(alpha, "alpha", low=0.0, low_open=True)
    need = ("1", "2") if kind == "ffn" else ("q", "k", "v", "o")
    if not isinstance(mats, dict) or any(k not in mats for k in need):
        raise ValueError(f"mats must be a dict with keys {need}")
    B = x.shape[0]
    g = {k: torch.full((B, 1, 1), lam, dtype=x.dtype, requires_grad=True) for k in need}
    if kind == "ffn":
        branch = g["2"] * (torch.relu(g["1"] * (x @ mats["1"])) @ mats["2"])
    else:
        a = softmax_attention(g["q"] * (x @ mats["q"]), g["k"] * (x @ mats["k"]),
                              g["v"] * (x @ mats["v"]))
        branch = g["o"] * (a @ mats["o"])
    out = deepnorm(x, branch, alpha, eps=0.0)
    loss = 0.5 * ((out @ readout - y) ** 2).sum()
    grads = torch.autograd.grad(loss, [g[k] for k in need])
    return {k: gr.reshape(B) for k, gr in zip(need, grads, strict=True)}


class PostLNStack(nn.Module):
    r"""``n_models`` independent stacks of ``n_sub`` residual FFN sublayers,
    :math:`x\leftarrow\mathrm{LN}(\alpha x+\mathrm{relu}(xW_1)W_2)`.

    Chapter *DeepNet*, the depth experiment (eq. eq-deepnet-1000-layers-increment); an
    ``N``-layer Transformer has ``2N`` sublayers. ``alpha = lam = 1`` is vanilla Post-LN.
    ``W1`` is ``(n_sub, n_models, d, d_ff)``, ``W2`` ``(n_sub, n_models, d_ff, d)``, drawn
    Xavier-normal with gain ``lam`` (the :func:`init_deepnorm_` rule, std
    :math:`\lambda\sqrt{2/(d+d_{ff})}`); no biases, no affine LN. The models share no
    parameter, so one backward pass of the summed losses gives each model its own gradient, and
    SGD and Adam (element-wise) take exactly the steps they would take separately.
    ``forward`` maps ``(n_models, B, d)`` to ``(n_models, B, d)``.
    """

    def __init__(self, d: int, n_sub: int, alpha: float, lam: float = 1.0, *,
                 d_ff: int | None = None, n_models: int = 1, generator=None,
                 dtype=torch.float64):
        super().__init__()
        d = checks.integer(d, "d", minimum=1)
        n_sub = checks.integer(n_sub, "n_sub", minimum=1)
        d_ff = 4 * d if d_ff is None else checks.integer(d_ff, "d_ff", minimum=1)
        n_models = checks.integer(n_models, "n_models", minimum=1)
        self.alpha = checks.real(alpha, "alpha", low=0.0, low_open=True)
        lam = checks.real(lam, "lam", low=0.0, low_open=True)
        std = lam * math.sqrt(2.0 / (d + d_ff))
        kw = {"generator": generator, "dtype": dtype}
        self.W1 = nn.Parameter(torch.randn(n_sub, n_models, d, d_ff, **kw) * std)
        self.W2 = nn.Parameter(torch.randn(n_sub, n_models, d_ff, d, **kw) * std)

    def forward(self, x: Tensor) -> Tensor:
        for W1, W2 in zip(self.W1, self.W2, strict=True):
            x = deepnorm(x, torch.relu(x @ W1) @ W2, self.alpha, eps=0.0)
        return x


def one_step_update(n_sub: int, alpha: float, lam: float, *, optimizer: str = "sgd",
                    lr: float, n_models: int = 1, d: int = 16, d_ff: int | None = None,
                    batch: int = 32, generator=None, dtype=torch.float64) -> dict:
    r"""One optimiser step of fresh :class:`PostLNStack` models, and its size, per model.

    Chapter *DeepNet*, eq. eq-deepnet-1000-layers-increment. Each model gets inputs
    :math:`x\sim\mathcal N(0,I_d)`, targets :math:`y\sim\mathcal N(0,1)` and a fixed readout
    :math:`r\sim\mathcal N(0,I_d/d)` (all from ``generator``), loss
    :math:`\mathcal L=\tfrac1{2B}\sum_b(f(x_b)\cdot r-y_b)^2`. ``optimizer`` is ``"sgd"``
    (``torch.optim.SGD``) or ``"adam"`` (``torch.optim.Adam`` with ``eps=1e-16``, whose first
    step is :math:`-\eta\,\mathrm{sign}(g)` up to rounding). Returns ``(n_models,)`` float64
    tensors: ``first_order`` :math:`=-\langle\nabla\mathcal L,\Delta\theta\rangle` (the
    predicted decrease: :math:`\eta\|g\|_2^2` for SGD, :math:`\eta\|g\|_1` for Adam),
    ``delta_loss`` :math:`=\mathcal L(\theta_1)-\mathcal L(\theta_0)` and ``update``
    :math:`=\|f(x;\theta_1)-f(x;\theta_0)\|_F/\|f(x;\theta_0)\|_F`.
    """
    optimizer = checks.choice(optimizer, "optimizer", ("sgd", "adam"))
    lr = checks.real(lr, "lr", low=0.0, low_open=True)
    batch = checks.integer(batch, "batch", minimum=1)
    model = PostLNStack(d, n_sub, alpha, lam, d_ff=d_ff, n_models=n_models,
                        generator=generator, dtype=dtype)
    M, d = n_models, model.W1.shape[2]
    x = torch.randn(M, batch, d, generator=generator, dtype=dtype)
    y = torch.randn(M, batch, generator=generator, dtype=dtype)
    r = torch.randn(M, d, 1, generator=generator, dtype=dtype) / math.sqrt(d)

    def losses(f):
        return 0.5 * ((f @ r).squeeze(-1) - y).pow(2).mean(-1)  # (M,)

    params = list(model.parameters())
    opt = (torch.optim.SGD(params, lr=lr) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=lr, eps=1e-16))
    f0 = model(x)
    loss0 = losses(f0)
    opt.zero_grad()
    loss0.sum().backward()
    grads = [p.grad.detach().clone() for p in params]
    before = [p.detach().clone() for p in params]
    opt.step()
    with torch.no_grad():
        f1 = model(x)
        per_model = [(-g * (p.detach() - b)).sum((0, 2, 3))
                     for g, p, b in zip(grads, params, before, strict=True)]
        return {
            "first_order": sum(per_model),
            "delta_loss": losses(f1) - loss0.detach(),
            "update": (f1 - f0).norm(dim=(1, 2)) / f0.norm(dim=(1, 2)),
        }


def gain_law(kind: str, lams, alphas, *, seeds: int = 8, seed0: int = 0, batch: int = 100,
             tokens: int = 8, d: int = 32) -> tuple:
    r"""Measure the gradient-scale law of one Post-LN sublayer on a grid of ``(lam, alpha)``.

    Chapter *DeepNet*, eqs. eq-deepnet-1000-layers-ffn / eq-deepnet-1000-layers-attn. For each
    seed ``seed0 + s`` (a ``torch.Generator``): probe matrices ``U`` from
    :func:`magnitude_decompose` of Gaussian draws (FFN hidden size ``4d``), inputs
    ``(batch, tokens, d)``, targets and a readout; then :func:`sublayer_gain_grads` at every
    grid point. Returns NumPy arrays ``rms`` of shape ``(seeds, len(lams)*len(alphas), gains)``
    (per-sample RMS of each gain's derivative; grid in ``lam``-major order) and ``expo`` of shape
    ``(seeds, 2, gains)``: the least-squares exponents ``(a, b)`` in
    :math:`\log\mathrm{rms}=c+a\log\lambda+b\log\alpha`. Gains in the order of
    :func:`sublayer_gain_grads` (``"1","2"`` or ``"q","k","v","o"``).
    """
    kind = checks.choice(kind, "kind", ("ffn", "attn"))
    seeds = checks.integer(seeds, "seeds", minimum=1)
    grid = [(checks.real(lam, "lams", low=0.0, low_open=True),
             checks.real(a, "alphas", low=0.0, low_open=True)) for lam in lams for a in alphas]
    if len({g[0] for g in grid}) < 2 or len({g[1] for g in grid}) < 2:
        raise ValueError("lams and alphas need at least two distinct values each")
    shapes = {"1": (d, 4 * d), "2": (4 * d, d)} if kind == "ffn" else dict.fromkeys("qkvo", (d, d))
    design = np.array([[1.0, math.log(lam), math.log(a)] for lam, a in grid])
    rms, expo = [], []
    for s in range(seeds):
        g = torch.Generator().manual_seed(seed0 + s)
        mats = {k: magnitude_decompose(torch.randn(*sh, generator=g, dtype=torch.float64))[1]
                for k, sh in shapes.items()}
        x = torch.randn(batch, tokens, d, generator=g, dtype=torch.float64)
        y = torch.randn(batch, tokens, generator=g, dtype=torch.float64)
        r = torch.randn(d, generator=g, dtype=torch.float64) / math.sqrt(d)
        v = np.array([[float(t.pow(2).mean().sqrt()) for t in
                       sublayer_gain_grads(x, y, r, mats, lam, a, kind=kind).values()]
                      for lam, a in grid])
        rms.append(v)
        expo.append(np.linalg.lstsq(design, np.log(v), rcond=None)[0][1:])
    return np.stack(rms), np.stack(expo)


def depth_sweep(ns, rule: str, *, optimizer: str, lr: float, n_models: int, generator=None,
                **kw) -> dict:
    r""":func:`one_step_update` for ``2N`` sublayers at every ``N`` in ``ns``.

    Chapter *DeepNet*, the depth experiment. ``rule`` is ``"vanilla"`` (``alpha = lam = 1``)
    or an optimiser name, whose Post-LN row of Su's table (:func:`deepnorm_constants`) sets
    ``(alpha, lam)`` at each ``N``. Extra keywords go to :func:`one_step_update`. Returns the
    same keys as :func:`one_step_update`, each a NumPy array ``(len(ns), n_models)``.
    """
    rule = checks.choice(rule, "rule", ("vanilla", "sgd", "adam", "lamb"))
    out = {}
    for n in ns:
        n = checks.integer(n, "ns", minimum=1)
        alpha, lam = (1.0, 1.0) if rule == "vanilla" else deepnorm_constants(n, optimizer=rule)
        res = one_step_update(2 * n, alpha, lam, optimizer=optimizer, lr=lr, n_models=n_models,
                              generator=generator, **kw)
        for k, v in res.items():
            out.setdefault(k, []).append(v.numpy())
    return {k: np.stack(v) for k, v in out.items()}
