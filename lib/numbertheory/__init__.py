"""Part "Number theory" (2996): exact rational arithmetic on conics and cubics.

Every public name is re-exported here: ``from lib.numbertheory import ec_add``.
"""
from .rational_points import *  # noqa: F401,F403
