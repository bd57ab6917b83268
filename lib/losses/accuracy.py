"""Training the accuracy itself: the expected-accuracy objective (EXACT, and Su's critique).

Chapter *Train your accuracy* (kexue.fm/archives/9098).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lib import checks
from lib.losses._validate import (
    _check_class_logits,
    _check_class_target,
)

__all__ = [
    "expected_accuracy_loss",
]


def expected_accuracy_loss(
    logits: Tensor,
    target: Tensor,
    noise: str = "normal",
    scale: float = 1.0,
    nodes: int = 64,
    reduction: str = "mean",
) -> Tensor:
    r"""EXACT's loss :math:`-p(y\mid x)`, with :math:`p(y\mid x)=P(y=\arg\max_i[z_i/s+\varepsilon_i])`.

    Chapter *Training accuracy directly: EXACT*, eq. (eq-train-your-accuracy-exact): minus
    the expected accuracy of the perturb-and-argmax classifier (Karpukhin et al. 2022).

    * ``noise="gumbel"``: :math:`p = \mathrm{softmax}(z/s)_y` exactly (Gumbel-max);
    * ``noise="normal"`` (EXACT): :math:`p=\int\varphi(t)\prod_{i\ne y}\Phi(t+(z_y-z_i)/s)\,dt`,
      by ``nodes``-point Gauss–Hermite quadrature in the log domain (``log_ndtr``), so it is
      finite for any finite logits; absolute error well below 1e-10 for ``nodes=64``
      and :math:`|z_y-z_i|/s\le 8` (see the tests).

    ``s = scale`` is the noise temperature. ``logits [..., C]``, integer ``target [...]``.
    The returned loss is :math:`-p` (EXACT's code uses :math:`1-p`: same gradient).
    """
    work = _check_class_logits(logits, reduction)
    _check_class_target(logits, target)
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    z = logits.to(work) / scale
    t = target.unsqueeze(-1)
    if noise == "gumbel":
        p = torch.softmax(z, dim=-1).gather(-1, t).squeeze(-1)
    elif noise == "normal":
        if not (isinstance(nodes, int) and nodes >= 2):
            raise ValueError(f"nodes must be an integer >= 2, got {nodes!r}")
        import numpy as np

        tk, wk = np.polynomial.hermite_e.hermegauss(nodes)
        tk = torch.as_tensor(tk, dtype=work, device=logits.device)
        logw = torch.as_tensor(np.log(wk / math.sqrt(2 * math.pi)), dtype=work, device=logits.device)
        d = z.gather(-1, t) - z  # [..., C]: margins of the target over each class
        lcdf = torch.special.log_ndtr(tk + d.unsqueeze(-1))  # [..., C, K]
        own = torch.nn.functional.one_hot(target, z.shape[-1]).bool().unsqueeze(-1)
        logint = lcdf.masked_fill(own, 0.0).sum(dim=-2)  # [..., K]
        p = torch.exp(torch.logsumexp(logint + logw, dim=-1))
    else:
        raise ValueError(f"noise must be 'normal' or 'gumbel', got {noise!r}")
    return checks.reduce(-p, reduction, logits.dtype)
