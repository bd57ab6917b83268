"""Part "Optimization & learning dynamics" (7737, 8968, 7466, 8870, 7980).

One module per chapter topic; every public name is re-exported here, so
``from lib.optimization import zo_grad`` and ``from lib import optimization`` both work.
"""
from .exponentiated import *  # noqa: F401,F403
from .multitask import *  # noqa: F401,F403
from .noise_penalty import *  # noqa: F401,F403
from .simsiam import *  # noqa: F401,F403
from .zeroth_order import *  # noqa: F401,F403
