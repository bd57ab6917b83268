"""Part "Softmax & logsumexp" (9070, 9085, 10373, 9034, 8833, 9046).

Modules in the order of the chapters: ``lse`` (logsumexp inequalities), ``perturb``
(perturb-max distributions), ``symmetric`` and ``topk`` (smooth top-k), ``entropy``
(entropy-invariant softmax), ``activations`` (SquarePlus), ``argmax`` (unargmaxable words).
``as_published`` holds the articles' procedures that the chapters show failing; they are
re-exported too, so a chapter can import them by name, but live apart from the correct ones.
Every public name is re-exported here: ``from lib.softmax import smooth_max``.
"""

from .activations import *  # noqa: F401,F403
from .argmax import *  # noqa: F401,F403
from .as_published import *  # noqa: F401,F403
from .entropy import *  # noqa: F401,F403
from .lse import *  # noqa: F401,F403
from .perturb import *  # noqa: F401,F403
from .symmetric import *  # noqa: F401,F403
from .topk import *  # noqa: F401,F403
