"""lib.metrics.spearman against a brute-force rank correlation (the other metrics are tested
with the losses chapters that use them, in tests/losses/)."""

import numpy as np
import pytest

from lib.metrics import spearman


def _ranks(x):  # mean ranks for ties, by brute force
    return np.array([np.sum(x < v) + (np.sum(x == v) + 1) / 2 for v in x])


def test_spearman_is_pearson_of_ranks():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 8, size=40).astype(float)  # many ties
    y = x + rng.normal(size=40)
    rx, ry = _ranks(x), _ranks(y)
    ref = np.corrcoef(rx, ry)[0, 1]
    assert spearman(x, y) == pytest.approx(ref, rel=1e-12)
    assert spearman(y, np.exp(y)) == pytest.approx(1.0, abs=1e-15)


def test_spearman_bad_input():
    with pytest.raises(ValueError, match="y must be 1-D"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="x needs at least 3"):
        spearman([1, 2], [1, 2])
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="x must be finite"):
        spearman([1, np.nan, 3], [1, 2, 3])
