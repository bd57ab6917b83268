r"""Conditional LayerNorm and a toy six-task matching benchmark.

Chapter *Sohu text matching: a multi-task baseline built on conditional LayerNorm*
(kexue.fm/archives/8337; background kexue.fm/archives/7124). In chapter order:

* :class:`ConditionalLayerNorm` — Eq. (eq-conditional-layernorm-cln): LayerNorm whose gain and
  bias are shifted by (zero-initialised) linear maps of a condition vector;
* :func:`fit_cln_regression` — a few plain gradient steps on one CLN layer, recording the norms
  of its condition weights (the zero-initialisation trap of Eq. (eq-conditional-layernorm-trap));
* :func:`f1_binary`, :func:`ab_averaged_f1` — the contest metric (F1 on standard-A and on
  standard-B samples, averaged; A = even task id as in ``baseline.py``);
* :func:`make_matching_tasks`, :class:`CLNMatcher`, :func:`train_matcher`, :func:`predict_matches` —
  the synthetic benchmark: two labelling standards x three "length types".

Torch in / torch out for the modules; the metrics accept lists, NumPy or torch and return
Python floats; randomness only through an explicit ``numpy.random.Generator`` (data) or
``torch.Generator`` (initialisation, shuffling).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lib import checks

__all__ = [
    "ConditionalLayerNorm",
    "fit_cln_regression",
    "f1_binary",
    "ab_averaged_f1",
    "make_matching_tasks",
    "CLNMatcher",
    "train_matcher",
    "predict_matches",
]

_ACTS = {"linear": lambda t: t, "relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu, "silu": F.silu}


class ConditionalLayerNorm(nn.Module):
    r"""LayerNorm with condition-dependent gain and bias (chapter *Conditional LayerNorm*,
    Eq. (eq-conditional-layernorm-cln)).

    ``out = (gamma + gamma_dense(c~)) * (x - mu) / sqrt(var + eps) + (beta + beta_dense(c~))``
    with ``c~ = act(hidden_dense(cond))`` (or ``cond`` without a hidden projection), mean and
    biased variance over the last dim of ``x``, and ``c~`` broadcast over every dim of ``x``
    between the first (batch) and the last. ``gamma_dense``/``beta_dense`` start at zero, so a
    fresh layer is plain LayerNorm for every condition; ``hidden_dense`` starts Xavier-uniform.
    """

    def __init__(self, hidden_size: int, cond_size: int, cond_hidden_size: int | None = None,
                 cond_hidden_act=None, eps: float = 1e-12):
        super().__init__()
        self.hidden_size = checks.integer(hidden_size, "hidden_size", minimum=1)
        self.cond_size = checks.integer(cond_size, "cond_size", minimum=1)
        if cond_hidden_size is not None:
            checks.integer(cond_hidden_size, "cond_hidden_size", minimum=1)
        self.eps = checks.real(eps, "eps", low=0.0, low_open=True)
        if cond_hidden_act is None:
            self.act = _ACTS["linear"]
        elif callable(cond_hidden_act):
            self.act = cond_hidden_act
        else:
            self.act = _ACTS[checks.choice(cond_hidden_act, "cond_hidden_act", tuple(_ACTS))]
        self.gamma = nn.Parameter(torch.ones(hidden_size))
        self.beta = nn.Parameter(torch.zeros(hidden_size))
        self.hidden_dense = None
        if cond_hidden_size is not None:
            self.hidden_dense = nn.Linear(cond_size, cond_hidden_size, bias=False)
            nn.init.xavier_uniform_(self.hidden_dense.weight)
        k = cond_hidden_size or cond_size
        self.gamma_dense = nn.Linear(k, hidden_size, bias=False)
        self.beta_dense = nn.Linear(k, hidden_size, bias=False)
        nn.init.zeros_(self.gamma_dense.weight)
        nn.init.zeros_(self.beta_dense.weight)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        checks.floating(x, "x", min_ndim=2)
        if x.shape[-1] != self.hidden_size:
            raise ValueError(f"x must have last dim hidden_size={self.hidden_size}, got {tuple(x.shape)}")
        checks.floating(cond, "cond", ndim=2)
        if cond.shape[-1] != self.cond_size:
            raise ValueError(f"cond must have last dim cond_size={self.cond_size}, got {tuple(cond.shape)}")
        if cond.shape[0] != x.shape[0]:
            raise ValueError(f"cond must have batch size {x.shape[0]} (that of x), got {cond.shape[0]}")
        c = cond if self.hidden_dense is None else self.act(self.hidden_dense(cond))
        view = (x.shape[0],) + (1,) * (x.dim() - 2) + (self.hidden_size,)
        gain = (self.gamma + self.gamma_dense(c)).reshape(view)
        bias = (self.beta + self.beta_dense(c)).reshape(view)
        centred = x - x.mean(-1, keepdim=True)
        var = (centred * centred).mean(-1, keepdim=True)
        return gain * centred / torch.sqrt(var + self.eps) + bias


def fit_cln_regression(layer: ConditionalLayerNorm, x: Tensor, cond: Tensor, target: Tensor,
                       steps: int = 50, lr: float = 0.1) -> dict:
    r"""Plain gradient descent on ``mean((layer(x, cond) - target)^2)``, in place.

    Chapter *Conditional LayerNorm*, the zero-initialisation trap
    (Eq. (eq-conditional-layernorm-trap)). Returns float64 tensors of length ``steps + 1``
    (before each step and after the last): ``"cond_norm"`` = Frobenius norm of
    ``[gamma_dense, beta_dense]``, ``"hidden_norm"`` = that of ``hidden_dense`` (0 without it),
    ``"loss"``; and ``"first_grads"``: a dict of the condition weights' gradient norms at step 0.
    """
    checks.integer(steps, "steps", minimum=1)
    checks.real(lr, "lr", low=0.0, low_open=True)
    checks.same_shape(x, target, "x", "target")
    opt = torch.optim.SGD(layer.parameters(), lr=lr)
    hist = {"cond_norm": [], "hidden_norm": [], "loss": []}
    first = {}

    def record(loss):
        w = torch.cat([layer.gamma_dense.weight, layer.beta_dense.weight]).detach()
        hist["cond_norm"].append(float(w.norm()))
        hd = layer.hidden_dense
        hist["hidden_norm"].append(0.0 if hd is None else float(hd.weight.detach().norm()))
        hist["loss"].append(float(loss))

    for step in range(steps + 1):
        opt.zero_grad()
        loss = ((layer(x, cond) - target) ** 2).mean()
        record(loss.detach())
        if step == steps:
            break
        loss.backward()
        if step == 0:
            named = [("gamma_dense", layer.gamma_dense), ("beta_dense", layer.beta_dense),
                     ("hidden_dense", layer.hidden_dense)]
            first = {k: float(m.weight.grad.norm()) for k, m in named if m is not None}
        opt.step()
    out = {k: torch.tensor(v, dtype=torch.float64) for k, v in hist.items()}
    out["first_grads"] = first
    return out


def _labels(a, name: str) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must contain only 0 and 1")
    return arr.astype(np.int64)


def f1_binary(y_true, y_pred) -> float:
    r"""F1 of the positive class, ``2TP / (2TP + FP + FN)`` (0.0 when the denominator is 0).

    Chapter *Conditional LayerNorm*, the contest metric. 1-D lists, NumPy arrays or tensors of
    0/1 (or bool).
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_pred must have the length of y_true {t.shape[0]}, got {p.shape[0]}")
    tp = int(np.sum((t == 1) & (p == 1)))
    denom = 2 * tp + int(np.sum((t == 0) & (p == 1))) + int(np.sum((t == 1) & (p == 0)))
    return 0.0 if denom == 0 else 2 * tp / denom


def ab_averaged_f1(y_true, y_pred, task_ids) -> dict:
    r"""``{"f1_a", "f1_b", "f1"}``: F1 on even task ids (standard A), on odd ones (B), and
    their mean — the contest score (chapter *Conditional LayerNorm*; ``flag = cond % 2``)."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_pred must have the length of y_true {t.shape[0]}, got {p.shape[0]}")
    ids = task_ids.detach().cpu().numpy() if isinstance(task_ids, Tensor) else np.asarray(task_ids)
    if ids.ndim != 1 or ids.shape != t.shape:
        raise ValueError(f"task_ids must be 1-D of length {t.shape[0]}, got shape {ids.shape}")
    if ids.size and (ids.dtype == bool or not np.all(np.mod(ids, 1) == 0) or ids.min() < 0):
        raise ValueError("task_ids must hold non-negative integers")
    b = (ids.astype(np.int64) % 2) == 1
    f1_a, f1_b = f1_binary(t[~b], p[~b]), f1_binary(t[b], p[b])
    return {"f1_a": float(f1_a), "f1_b": float(f1_b), "f1": float((f1_a + f1_b) / 2)}


def make_matching_tasks(n_per_task: int, rng: np.random.Generator, dim: int = 8,
                        thresholds=(0.0, 0.5), scales=(0.5, 1.0, 2.0), noise=(0.2, 0.35, 0.5)) -> dict:
    r"""Synthetic six-task matching data (chapter *Conditional LayerNorm*, the benchmark).

    Task ``t = 2 l + s``: standard ``s`` (0 = A, looser: threshold ``thresholds[0]``; 1 = B,
    stricter) and length type ``l`` in {0, 1, 2}. A pair has true cosine ``c ~ U(-1, 1)``
    between unit vectors ``u, v`` in R^dim; the label is ``c > thresholds[s]``; the model sees
    ``scales[l] * (u + noise[l] * e1)`` and ``scales[l] * (v + noise[l] * e2)`` with Gaussian
    ``e1, e2`` (longer texts: larger, noisier). Returns float32 ``"features"`` (N, 3 dim) =
    ``[a, b, a*b]``, long ``"labels"`` and ``"tasks"``, float64 ``"cos"``; N = 6 n_per_task.
    """
    n = checks.integer(n_per_task, "n_per_task", minimum=1)
    checks.generator(rng)
    d = checks.integer(dim, "dim", minimum=2)
    if len(thresholds) != 2 or not all(-1 < checks.real(t, "thresholds") < 1 for t in thresholds):
        raise ValueError(f"thresholds must be two numbers in (-1, 1), got {thresholds!r}")
    if len(scales) != 3 or len(noise) != 3:
        raise ValueError("scales and noise must each hold three values (one per length type)")
    for v in scales:
        checks.real(v, "scales", low=0.0, low_open=True)
    for v in noise:
        checks.real(v, "noise", low=0.0)
    tasks = np.repeat(np.arange(6), n)
    u = rng.standard_normal((6 * n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    w = rng.standard_normal((6 * n, d))
    w -= np.sum(w * u, axis=1, keepdims=True) * u
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    c = rng.uniform(-1.0, 1.0, 6 * n)
    v = c[:, None] * u + np.sqrt(1 - c**2)[:, None] * w
    lt, std = tasks // 2, tasks % 2
    sc, nz = np.asarray(scales, float)[lt, None], np.asarray(noise, float)[lt, None]
    a = sc * (u + nz * rng.standard_normal((6 * n, d)))
    b = sc * (v + nz * rng.standard_normal((6 * n, d)))
    labels = (c > np.asarray(thresholds, float)[std]).astype(np.int64)
    return {"features": torch.tensor(np.concatenate([a, b, a * b], 1), dtype=torch.float32),
            "labels": torch.from_numpy(labels), "tasks": torch.from_numpy(tasks),
            "cos": torch.from_numpy(c)}


class CLNMatcher(nn.Module):
    r"""Two-layer MLP matcher whose two LayerNorms are conditional on the task id.

    Chapter *Conditional LayerNorm*, the benchmark: ``Embedding(num_tasks, cond_size)`` ->
    condition of every LN (as the baseline feeds ``Embedding(6, 128)`` to RoFormer), head =
    ``Linear(hidden, 2)``. With ``conditioned=False`` the condition is the zero vector, so
    every LN is plain LayerNorm (the unconditioned model). Weights are drawn from
    ``generator`` (Xavier-uniform; embedding N(0, 1)); condition projections start at zero.
    """

    def __init__(self, in_size: int, hidden_size: int = 32, cond_size: int = 16, num_tasks: int = 6,
                 conditioned: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        checks.integer(in_size, "in_size", minimum=1)
        checks.integer(num_tasks, "num_tasks", minimum=1)
        self.conditioned = bool(conditioned)
        self.embed = nn.Embedding(num_tasks, cond_size)
        self.fc1, self.fc2 = nn.Linear(in_size, hidden_size), nn.Linear(hidden_size, hidden_size)
        self.ln1 = ConditionalLayerNorm(hidden_size, cond_size, eps=1e-6)
        self.ln2 = ConditionalLayerNorm(hidden_size, cond_size, eps=1e-6)
        self.head = nn.Linear(hidden_size, 2)
        with torch.no_grad():
            self.embed.weight.normal_(generator=generator)
            for lin in (self.fc1, self.fc2, self.head):
                nn.init.xavier_uniform_(lin.weight, generator=generator)
                lin.bias.zero_()

    def forward(self, x: Tensor, tasks: Tensor) -> Tensor:
        checks.floating(x, "x", ndim=2)
        if tasks.shape != x.shape[:1]:
            raise ValueError(f"tasks must have shape ({x.shape[0]},), got {tuple(tasks.shape)}")
        cond = self.embed(tasks).to(x.dtype)
        if not self.conditioned:
            cond = torch.zeros_like(cond)
        h = F.gelu(self.ln1(self.fc1(x), cond))
        h = F.gelu(self.ln2(self.fc2(h), cond))
        return self.head(h)


def train_matcher(model: CLNMatcher, features: Tensor, labels: Tensor, tasks: Tensor, *,
                  epochs: int, batch_size: int = 64, lr: float = 3e-3,
                  generator: torch.Generator) -> CLNMatcher:
    r"""Adam on the cross-entropy of ``model(features, tasks)`` against ``labels``, reshuffled
    every epoch with ``generator`` (chapter *Conditional LayerNorm*, the benchmark). In place;
    returns ``model``. One epoch = ``ceil(N / batch_size)`` steps."""
    checks.integer(epochs, "epochs", minimum=1)
    bs = checks.integer(batch_size, "batch_size", minimum=1)
    checks.real(lr, "lr", low=0.0, low_open=True)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    n = features.shape[0]
    if labels.shape != (n,) or tasks.shape != (n,):
        raise ValueError(f"labels and tasks must have shape ({n},)")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator)
        for k in range(math.ceil(n / bs)):
            idx = perm[k * bs:(k + 1) * bs]
            loss = F.cross_entropy(model(features[idx], tasks[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def predict_matches(model: CLNMatcher, features: Tensor, tasks: Tensor) -> Tensor:
    """Predicted 0/1 labels (argmax of the two logits), without gradients (chapter
    *Conditional LayerNorm*, the benchmark)."""
    with torch.no_grad():
        return model(features, tasks).argmax(-1)
