"""Part "Language-model recipes" (8454, 8337, 8295, 7758, 7877), at toy scale.

One module per chapter topic; every public name is re-exported here:
``from lib.recipes import unilm_mask``.
"""
from .cln import *  # noqa: F401,F403
from .ptuning import *  # noqa: F401,F403
from .simbert import *  # noqa: F401,F403
from .wobert import *  # noqa: F401,F403
from .xiangqi import *  # noqa: F401,F403
