"""Part "Classification losses" (7359, 9064, 7708, 9098, 9158, 9526, 9039, 8586).

Modules in the order of the chapters: ``multilabel`` (ZLPR, soft labels, sparse), ``imbalance``
(focal loss, logit adjustment, smooth F1), ``accuracy`` (the expected-accuracy objective),
``nm`` (the n-tasks-of-m-classes attempt), ``tailr``, ``divergence`` (GlobalPointer KL),
``nce`` (InfoNCE / FlatNCE). Argument conventions: ``logits`` and ``targets`` (multi-label,
same shape) or ``target`` (class indices), ``dim=``, ``reduction=`` in {"none", "mean", "sum"};
half precision is computed in float32 and cast back (``lib.checks.work_dtype``). Metrics
(micro-F1, balanced accuracy, ECE) are in ``lib.metrics``.
Every public name is re-exported here: ``from lib.losses import multilabel_ce``.
"""

from .accuracy import *  # noqa: F401,F403
from .divergence import *  # noqa: F401,F403
from .imbalance import *  # noqa: F401,F403
from .multilabel import *  # noqa: F401,F403
from .nce import *  # noqa: F401,F403
from .nm import *  # noqa: F401,F403
from .tailr import *  # noqa: F401,F403
