"""lib.stats against closed forms, SciPy and Monte Carlo."""

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

from lib import stats


def test_mean_se_closed_form_and_kinds():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    m, se = stats.mean_se(x)
    assert m == 3.5
    assert se == pytest.approx(math.sqrt(((x - 3.5) ** 2).sum() / 3 / 4), rel=1e-15)
    mt, set_ = stats.mean_se(torch.tensor(x))
    assert isinstance(mt, torch.Tensor) and float(set_) == pytest.approx(se, rel=1e-15)
    m2, se2 = stats.mean_se(np.stack([x, 2 * x]), dim=-1)
    assert se2[1] == pytest.approx(2 * se, rel=1e-15)
    assert stats.z_score(x) == pytest.approx(3.5 / se, rel=1e-15)
    with pytest.raises(ValueError, match="x needs at least 2 samples"):
        stats.mean_se(np.array([1.0]))
    with pytest.raises(ValueError, match="x needs at least one dimension"):
        stats.mean_se(1.0)


def test_paired_t_against_scipy_and_by_hand():
    rng = np.random.default_rng(0)
    a = rng.normal(size=30)
    b = a - 0.3 + rng.normal(scale=0.5, size=30)
    r = stats.paired_t(a, b)
    d = a - b
    t_hand = d.mean() / (d.std(ddof=1) / math.sqrt(30))
    assert r["t"] == pytest.approx(t_hand, rel=1e-12)
    assert r["p"] == pytest.approx(2 * sps.t.sf(abs(t_hand), 29), rel=1e-10)
    assert r["dof"] == 29 and r["n_positive"] == int((d > 0).sum())
    with pytest.raises(ValueError, match="a and b must be 1-D"):
        stats.paired_t(a, b[:-1])


def test_bootstrap_se_of_a_mean_matches_the_standard_error():
    """The bootstrap SE of a sample mean estimates s*sqrt((n-1)/n)/sqrt(n); with 4000
    resamples its own relative error is ~1/sqrt(2*4000) = 1.1%, so 5% is ~4.5 sigma."""
    rng = np.random.default_rng(1)
    x = rng.exponential(size=400)
    se_boot = stats.bootstrap_se(lambda s: s.mean(1), x, n_boot=4000, rng=np.random.default_rng(2))
    target = x.std(ddof=0) / math.sqrt(400)
    assert se_boot == pytest.approx(target, rel=0.05)


def test_bootstrap_is_paired_and_torch_works():
    """Two identical samples resampled together give a difference of exactly 0 every time."""
    x = torch.arange(50, dtype=torch.float64)
    reps = stats.bootstrap(lambda a, b: (a - b).mean(1), x, x.clone(), n_boot=20,
                           rng=np.random.default_rng(0))
    assert torch.equal(reps, torch.zeros(20, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"samples\[1\] has 3 rows"):
        stats.bootstrap(lambda a, b: a, np.zeros(4), np.zeros(3), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng must be"):
        stats.bootstrap(lambda a: a, np.zeros(4), rng=0)


def test_proportion_se_and_tolerance():
    assert stats.proportion_se(0.5, 100) == pytest.approx(0.05, rel=1e-15)
    assert torch.allclose(stats.proportion_se(torch.tensor([0.0, 0.5]), 4),
                          torch.tensor([0.0, 0.25]))
    with pytest.raises(ValueError, match="p must lie in"):
        stats.proportion_se(1.5, 10)
    tol, why = stats.mc_tolerance(0.01, sigmas=4)
    assert tol == pytest.approx(0.04) and "4 Monte-Carlo standard errors" in why
    assert "6e-05" in why  # two-sided normal tail at 4 sigma: 6.3e-5
    with pytest.raises(ValueError, match="sigmas"):
        stats.mc_tolerance(0.01, sigmas=0)


def test_diff_z_independent_and_paired():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([0.0, 1.0, 1.0, 2.0])
    d, z = stats.diff_z(a, b)
    sa, sb = a.std(ddof=1) / 2, b.std(ddof=1) / 2
    assert d == pytest.approx(2.5 - 1.0) and z == pytest.approx(1.5 / math.hypot(sa, sb))
    d2, z2 = stats.diff_z(a - b)
    assert d2 == pytest.approx(1.5) and z2 == pytest.approx(stats.z_score(a - b))
