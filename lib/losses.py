"""Classification losses: the functions behind the book's "Classification losses" part.

PyTorch functional style: ``logits``/``targets`` tensors, ``reduction="none"|"mean"|"sum"``
over the leading dimensions, dtype preserved, ``ValueError`` naming the argument on bad input.
Sections follow the chapters that use them.
"""

from __future__ import annotations

import torch
from torch import Tensor

# ---------------------------------------------------------------------------------------
# Multi-label softmax + cross-entropy (ZLPR) and its soft-label / sparse forms (7359, 9064)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# GlobalPointer symmetric KL (9039) and the n-tasks-of-m-classes attempt (9158)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Class imbalance: focal loss, logit adjustment (7708); accuracy objectives (9098)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# TaiLr (9526) and InfoNCE / FlatNCE (8586)
# ---------------------------------------------------------------------------------------
