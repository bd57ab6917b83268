"""Tests of the argmaxable-classes section of lib.softmax (chapter: unargmaxable words)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull

from lib.softmax import argmax_margins, argmaxable, min_norm_in_hull

f64 = torch.float64
# The article's example: w_5 = (1, 1) is the centre of the other four.
W5 = torch.tensor([[1.0, 2.0], [2.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=f64)


def test_article_example_without_and_with_bias():
    assert argmaxable(W5).tolist() == [True, True, True, True, False]
    m = argmax_margins(W5)
    assert m[4] == 0.0 and (m[:4] > 0.1).all()
    b = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.5], dtype=f64)
    assert argmaxable(W5, b).all()  # class 5 wins at z = 0


def test_verdicts_do_not_depend_on_probes():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(60, 3, generator=g, dtype=f64)
    b = torch.randn(60, generator=g, dtype=f64)
    exact = argmax_margins(W, b) > 1e-7
    for n_probe in [0, 5, 256]:
        assert torch.equal(argmaxable(W, b, n_probe=n_probe), exact)


@pytest.mark.parametrize("d, n", [(2, 80), (3, 60), (4, 40)])
def test_no_bias_argmaxable_iff_hull_vertex(d, n):
    """Without bias, class k wins somewhere iff w_k is a vertex of conv(W) (qhull)."""
    rng = np.random.default_rng(d)
    W = rng.normal(size=(n, d))
    vertex = np.zeros(n, bool)
    vertex[ConvexHull(W).vertices] = True
    assert argmaxable(torch.tensor(W)).numpy().tolist() == vertex.tolist()


def test_bias_is_the_upper_hull_of_lifted_points():
    """With bias, class k wins iff (w_k, b_k) is a vertex of the upper hull of (w_i, b_i)."""
    rng = np.random.default_rng(7)
    W, b = rng.normal(size=(40, 2)), rng.normal(size=40)
    hull = ConvexHull(np.c_[W, b])
    upper = np.zeros(40, bool)
    for simplex, eq in zip(hull.simplices, hull.equations, strict=True):
        if eq[2] > 1e-12:  # outward normal points up in the bias coordinate
            upper[simplex] = True
    assert argmaxable(torch.tensor(W), torch.tensor(b)).numpy().tolist() == upper.tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_certificate_property(n, d, seed):
    """Every class reported argmaxable wins strictly at the LP's own kind of input: check by
    brute force that no class reported unargmaxable ever wins strictly on random inputs."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, d, generator=g, dtype=f64)
    b = torch.randn(n, generator=g, dtype=f64)
    ok = argmaxable(W, b)
    z = torch.randn(2000, d, generator=g, dtype=f64) * torch.logspace(-2, 2, 2000, dtype=f64)[:, None]
    s = z @ W.T + b
    top = s.topk(min(2, n), dim=1)
    strict = top.values[:, 0] > (top.values[:, 1] if n > 1 else -math.inf)
    winners = set(top.indices[strict, 0].tolist())
    assert all(bool(ok[k]) for k in winners)


def test_equal_norms_all_argmaxable_and_duplicates_never():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(100, 3, generator=g, dtype=f64)
    W = W / W.norm(dim=1, keepdim=True)
    assert argmaxable(W).all()
    Wd = torch.cat([W[:5], W[:1]])  # class 0 duplicated: neither copy can win strictly
    ok = argmaxable(Wd)
    assert not ok[0] and not ok[5] and ok[1:5].all()


def test_minimal_example_is_d_plus_2_classes():
    """The centroid of a simplex (d + 1 vertices) is unargmaxable: n = d + 2 suffices."""
    for d in [2, 3, 5]:
        simplex = torch.cat([torch.eye(d, dtype=f64), -torch.ones(1, d, dtype=f64)])
        W = torch.cat([simplex, simplex.mean(0, keepdim=True)])
        assert argmaxable(W).tolist() == [True] * (d + 1) + [False]


def test_batch_scale_and_single_class():
    Wb = torch.stack([W5, 10 * W5, -W5])
    out = argmaxable(Wb)
    assert out.shape == (3, 5) and out.dtype == torch.bool
    assert out[0].tolist() == out[1].tolist() == out[2].tolist() == [True] * 4 + [False]
    assert torch.allclose(argmax_margins(1e-6 * W5), argmax_margins(W5), atol=1e-9)
    assert argmaxable(torch.ones(1, 3)).tolist() == [True]
    assert argmaxable(np.asarray(W5)).tolist() == [True] * 4 + [False]


@pytest.mark.parametrize(
    "W, bias, match",
    [
        (torch.ones(3), None, "shape"),
        (torch.ones(0, 2), None, "shape"),
        (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), None, "finite"),
        (torch.ones(3, 2), torch.ones(2), "bias must have shape"),
        (torch.ones(3, 2), torch.tensor([0.0, float("inf"), 0.0]), "finite"),
        (torch.ones(3, 2, dtype=torch.complex64), None, "real"),
    ],
)
def test_bad_input(W, bias, match):
    with pytest.raises(ValueError, match=match):
        argmaxable(W, bias)
    with pytest.raises(ValueError, match=match):
        argmax_margins(W, bias)


def test_bad_options():
    with pytest.raises(ValueError, match="tol"):
        argmaxable(W5, tol=-1.0)
    with pytest.raises(ValueError, match="n_probe"):
        argmaxable(W5, n_probe=-1)


# ---------------------------------------------------------------- min_norm_in_hull
def test_min_norm_article_example():
    for k in range(5):
        D = W5[k] - W5[[i for i in range(5) if i != k]]
        norm, alpha, gap = min_norm_in_hull(D)
        assert alpha.sum() == pytest.approx(1.0, abs=1e-14) and (alpha >= 0).all()
        assert gap <= 1e-12
        assert norm == pytest.approx(0.0 if k == 4 else 1.0, abs=1e-6)


def test_min_norm_is_distance_to_segment_and_hull():
    D = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=f64)
    norm, alpha, _ = min_norm_in_hull(D)
    assert norm == pytest.approx(1.0, abs=1e-9) and torch.allclose(alpha, torch.tensor([0.5, 0.5], dtype=f64))
    # the closest point is a vertex, (3, 0) ...
    norm, alpha, _ = min_norm_in_hull(torch.tensor([[3.0, 0.0], [4.0, 5.0]], dtype=f64))
    assert norm == pytest.approx(3.0, abs=1e-9) and alpha.tolist() == [1.0, 0.0]
    # ... or inside an edge: distance |det| / |edge| = 15 / sqrt(26)
    norm, _, _ = min_norm_in_hull(torch.tensor([[3.0, 0.0], [2.0, 5.0]], dtype=f64))
    assert norm == pytest.approx(15 / math.sqrt(26), abs=1e-9)


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 20), st.integers(2, 4), st.integers(0, 2**31 - 1))
def test_min_norm_zero_iff_unargmaxable(n, d, seed):
    """Unargmaxable: the min-norm is 0, so ||x||^2 <= 2 * gap certifies the iterate. Argmaxable:
    the min-norm is positive (w_k outside the hull of the others)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, d, generator=g, dtype=f64)
    ok = argmaxable(W)
    for k in range(n):
        norm, alpha, gap = min_norm_in_hull(W[k] - W[torch.arange(n) != k])
        assert alpha.sum() == pytest.approx(1.0, abs=1e-12) and (alpha >= 0).all()
        if ok[k]:
            assert norm > 1e-6
        else:
            assert norm**2 <= 2 * gap + 1e-24


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(points=torch.ones(3)), "shape"),
        (dict(points=torch.ones(2, 2), iters=0), "iters"),
        (dict(points=torch.ones(2, 2), tol=-1.0), "tol"),
        (dict(points=torch.tensor([[float("nan"), 1.0]])), "finite"),
    ],
)
def test_min_norm_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        min_norm_in_hull(**kw)
