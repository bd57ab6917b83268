"""Part "Geometry of embeddings & linear algebra" (9079, 9147, 9368, 10407).

One module per chapter topic; every public name is re-exported here, so
``from lib.geometry import whitening_fit`` works (contract: shared/contracts/geometry.md).
"""
from .geodesic import *  # noqa: F401,F403
from .hubness import *  # noqa: F401,F403
from .lowrank import *  # noqa: F401,F403
from .whitening import *  # noqa: F401,F403
