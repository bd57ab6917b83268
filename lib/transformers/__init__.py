"""Part "Transformers & attention" (10122, 9603, 8978, 7921, 7661).

One module per topic, in the order of the chapters: ``rope`` (rotary embeddings and the
cosine sum), ``rope_feasibility``, ``rope_search`` and ``rope_asymptotics`` (the base lower
bound, 10122), ``attention`` (the part's shared attention primitives), then one module per
later chapter. Every public name is re-exported here (contract:
shared/contracts/transformers.md): ``from lib.transformers import apply_rope``.
"""

from .attention import *  # noqa: F401,F403
from .deepnet import *  # noqa: F401,F403
from .hwfa import *  # noqa: F401,F403
from .performer import *  # noqa: F401,F403
from .rope import *  # noqa: F401,F403
from .rope_asymptotics import *  # noqa: F401,F403
from .rope_feasibility import *  # noqa: F401,F403
from .rope_search import *  # noqa: F401,F403
from .tta import *  # noqa: F401,F403
