"""Part "Generative models" (9209, 9228, 9164, 9969).

Modules in the order of the chapters: ``schedules`` (noise schedules in Su's notation),
``mixture`` (Gaussian mixtures with exact scores), ``marginals`` (diffusing a mixture, the exact
denoiser), ``samplers`` (reverse SDE/ODE family, probability flow, exact likelihood),
``distances`` (KS and exact W1 of a sample to a mixture), then one module per later chapter.
Every public name is re-exported here (contract: shared/contracts/generative.md):
``from lib.generative import GaussianMixture``.
"""

from .ddpm import *  # noqa: F401,F403
from .distances import *  # noqa: F401,F403
from .ign import *  # noqa: F401,F403
from .marginals import *  # noqa: F401,F403
from .mixture import *  # noqa: F401,F403
from .samplers import *  # noqa: F401,F403
from .schedules import *  # noqa: F401,F403
