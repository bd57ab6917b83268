"""Activation functions: the smooth ReLU approximations of the book's softmax part.

SoftPlus is :math:`\\mathrm{lse}([0, x])`; SquarePlus replaces its exponential and logarithm
by a square root. Functions take tensors, work elementwise, preserve dtype and device and
raise ``ValueError`` naming the offending argument.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["squareplus"]


# ---------------------------------------------------------------------------------------
# SquarePlus (chapter "SquarePlus", kexue.fm/archives/8833)
# ---------------------------------------------------------------------------------------
def squareplus(x: Tensor, b: float = 4.0) -> Tensor:
    r"""SquarePlus :math:`\tfrac12\bigl(x + \sqrt{x^2 + b}\bigr)`, accurate for every float ``x``.

    Chapter *SquarePlus* (8833), eq. (eq-squareplus-def), in the cancellation-free form
    eq. (eq-squareplus-stable):

    .. math:: \mathrm{SquarePlus}_b(x) = \begin{cases}
              \tfrac12 x + \tfrac12 h, & x \ge 0,\\
              \dfrac{b/2}{h - x}, & x < 0,\end{cases}\qquad h = \sqrt{x^2 + b},

    the second branch being the first multiplied by :math:`(h - x)/(h - x)`. For large negative
    ``x`` the textbook form subtracts two nearly equal numbers and returns 0 in float32 at
    ``x = -1e4``; this form keeps full relative precision. :math:`h` is ``hypot(x, sqrt(b))``,
    so :math:`x^2` never overflows (float32 ``x`` up to its maximum stays finite).

    ``b >= 0``; ``b == 0`` is ReLU (returned as ``relu(x)``, so the gradient at 0 is 0, not
    NaN). The default ``b = 4`` follows the JAX/Keras implementations of the paper; the
    chapter's minimax value is ``b = 1.5238...``. NaN in ``x`` raises ``ValueError``.
    """
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if isinstance(b, Tensor):
        if b.numel() != 1:
            raise ValueError(f"b must be a scalar, got a tensor of shape {tuple(b.shape)}")
        b = float(b)
    if isinstance(b, bool) or not isinstance(b, int | float) or not (0 <= b < math.inf):
        raise ValueError(f"b must be a finite number >= 0, got {b!r}")
    if torch.isnan(x).any():
        raise ValueError("x contains NaN")
    if b == 0:
        return torch.relu(x)
    h = torch.hypot(x, torch.tensor(math.sqrt(b), dtype=x.dtype, device=x.device))
    half_x = 0.5 * x
    half_h = 0.5 * h
    positive = half_x + half_h
    # (b/2)/(h - x) written with halves so h - x cannot overflow; x is clamped to <= 0 so
    # that on x >= 0, where this branch is discarded, it stays finite (<= sqrt(b)/2).
    negative = (0.25 * b) / (half_h - 0.5 * x.clamp(max=0))
    # Blend with a 0/1 mask instead of torch.where (several times slower on CPU): both
    # branches are finite, so each output is exactly one of them, and so is its gradient.
    mask = (x >= 0).to(x.dtype)
    return mask * positive + (1 - mask) * negative
