"""Fixtures shared by the generative part's tests: the book's 1-D mixture and a 2-D one."""

import numpy as np
import pytest

from lib.generative import GaussianMixture

W, MU, SD = [0.3, 0.5, 0.2], [-2.0, 0.5, 3.0], [0.3, 0.6, 0.4]


@pytest.fixture
def g1():
    """The 1-D mixture of the diffusion chapters."""
    return GaussianMixture(W, MU, np.array(SD) ** 2)


@pytest.fixture
def g2():
    """A 2-D mixture with full, correlated covariances."""
    covs = np.array([[[0.5, 0.2], [0.2, 0.3]], [[0.2, -0.1], [-0.1, 0.4]], [[1.0, 0.0], [0.0, 0.1]]])
    return GaussianMixture([0.2, 0.5, 0.3], [[-1.0, 0.5], [1.0, -1.0], [0.0, 2.0]], covs)
