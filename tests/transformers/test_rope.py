"""Tests of lib/transformers/rope*.py: RoPE, the cosine sum f_b(m), feasibility, the article's search,
the certified infimum, the Ci asymptotics, and the stored bounds in data/."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import sici

from lib import transformers

DATA = Path(__file__).resolve().parents[2] / "data" / "rope_base_bounds.json"
# the article's own row (Su, "本文"), d = 128, 1k = 1024: read from its one copy in data/
_TABLE = json.loads(DATA.read_text())["article_table"]
SU_ROW = {L // 1024: float(s) for L, s in zip(_TABLE["L"], _TABLE["article"], strict=True)}


def round_sig(x: float, n: int = 2) -> float:
    return float(f"{x:.{n - 1}e}")


def direct_f(m: int | float, d: int, b: float) -> float:
    """f_b(m) summed term by term with math.cos (the definition, no vectorisation)."""
    return sum(math.cos(m * b ** (-2 * i / d)) for i in range(d // 2))


def brute_first_negative(b: float, L: int, d: int) -> int:
    i = np.arange(d // 2, dtype=np.float64)
    f = np.cos(np.arange(L, dtype=np.float64)[:, None] * b ** (-2 * i / d)).sum(1)
    neg = np.nonzero(f < 0)[0]
    return int(neg[0]) if neg.size else L


def su_bmin_reference(L: int, d: int, stages: int) -> float:
    """The article's bmin, transcribed literally (float64 NumPy instead of JAX)."""
    i = np.arange(d // 2, dtype=np.float64)
    m = np.arange(L, dtype=np.float64)
    B = 1000 * L
    for k in range(1, stages + 1):
        bs = np.linspace(0, 1, 10**k + 1)[1:] * B
        for b in bs:
            if np.cos(m[:, None] * b ** (-2 * i / d)).sum(1).min() >= 0:
                B = b
                break
    return float(B)


# -- thetas, rope_matrix, apply_rope ----------------------------------------------------
def test_thetas_values_and_partial():
    th = transformers.thetas(8, 10000.0)
    assert th.dtype == np.float64 and th.shape == (4,)
    np.testing.assert_allclose(th, [1.0, 0.1, 0.01, 0.001], rtol=1e-15)
    assert transformers.thetas(8, np.array([10.0, 100.0])).shape == (2, 4)
    half = transformers.thetas(8, 10000.0, rotary_dims=4)
    np.testing.assert_allclose(half, [1.0, 0.01, 0.0, 0.0], rtol=1e-15)


def test_rope_matrix_is_a_rotation_and_matches_apply_rope():
    d, base = 16, 500.0
    R = transformers.rope_matrix(7.5, d, base)
    assert R.dtype == torch.float64 and R.shape == (d, d)
    torch.testing.assert_close(R.T @ R, torch.eye(d, dtype=torch.float64), rtol=0, atol=1e-14)
    x = torch.randn(3, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pos = torch.tensor([0.0, 7.5, 1e5], dtype=torch.float64)
    y = transformers.apply_rope(x, pos, base)
    for r in range(3):
        ref = transformers.rope_matrix(float(pos[r]), d, base) @ x[r]
        torch.testing.assert_close(y[r], ref, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(0, 100_000),
    n=st.integers(0, 100_000),
    base=st.floats(2.0, 1e7),
    seed=st.integers(0, 2**31 - 1),
)
def test_relative_position_property(m, n, base, seed):
    """<R_m q, R_n k> = <q, R_{n-m} k> (eq. rope-base-bound-relative)."""
    d = 32
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 1, d, dtype=torch.float64, generator=g)
    lhs = (transformers.apply_rope(q, [m], base) * transformers.apply_rope(k, [n], base)).sum()
    rhs = q[0] @ (transformers.rope_matrix(n - m, d, base) @ k[0])
    # phases up to 1e5 rad: each cos/sin carries ~1e5 * eps error, times |q||k| ~ d
    assert abs(float(lhs - rhs)) <= 1e-9 * (1 + float(q.norm() * k.norm()))


def test_apply_rope_dtype_device_shape_and_gradcheck():
    x = torch.randn(2, 3, 5, 8, dtype=torch.float32)
    y = transformers.apply_rope(x, torch.arange(5), 10000.0)
    assert y.shape == x.shape and y.dtype == torch.float32 and y.device == x.device
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))  # rotations keep norms
    xd = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: transformers.apply_rope(t, [0, 1, 2, 3], 99.0), (xd,))


# -- cos_sum ------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(m=st.integers(0, 10**6), base=st.floats(1.5, 1e9), d=st.sampled_from([2, 8, 64, 128]))
def test_cos_sum_matches_the_direct_sum(m, base, d):
    # the two evaluations round m*theta differently: <= d/2 * m * eps apart
    tol = d / 2 * (m + 1) * 4e-16 + 1e-13
    assert abs(transformers.cos_sum(m, d, base) - direct_f(m, d, base)) <= tol


def test_cos_sum_broadcasting_and_types():
    m = np.arange(5)[:, None]
    b = np.array([10.0, 1e4, 1e6])
    out = transformers.cos_sum(m, 16, b)
    assert out.shape == (5, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out[0], 8.0)  # f_b(0) = d/2
    for r in range(5):
        for c in range(3):
            assert abs(out[r, c] - direct_f(r, 16, b[c])) < 1e-13
    t = transformers.cos_sum(torch.arange(5), 16, 1e4)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert isinstance(transformers.cos_sum(3, 16, 1e4), float)


def test_partial_rope_sum_is_never_negative():
    """Half rotary: sum = sum_{i<d/4} (1 + cos(m b^{-4i/d})) >= 0 (eq. rope-base-bound-partial)."""
    m = np.arange(20000)
    for b in (10.0, 1e4, 1e6):
        f = transformers.cos_sum(m, 128, b, rotary_dims=64)
        assert f.min() >= 0
        ref = (1 + np.cos(m[:, None] * b ** (-4 * np.arange(32) / 128))).sum(1)
        np.testing.assert_allclose(f, ref, rtol=0, atol=1e-11)


# -- first_negative / is_feasible ---------------------------------------------------------
def test_first_negative_hand_cases():
    # d = 2: f = cos m; cos 1 > 0 > cos 2
    assert transformers.first_negative(7.0, 100, d=2) == 2
    assert transformers.first_negative(7.0, 2, d=2) == 2 and transformers.is_feasible(7.0, 2, d=2)
    assert not transformers.is_feasible(7.0, 3, d=2)
    # d = 4, b = 4: f = cos m + cos(m/2): 2, 1.418, 0.124, -0.919 at m = 0..3
    assert transformers.first_negative(4.0, 10, d=4) == 3
    assert transformers.first_negative(4.0, 3, d=4) == 3
    assert transformers.first_negative(1e4, 1, d=128) == 1  # f(0) = d/2 > 0


@settings(max_examples=25, deadline=None)
@given(base=st.floats(1.01, 1e6), L=st.integers(1, 5000), d=st.sampled_from([2, 16, 128]))
def test_first_negative_matches_brute_force(base, L, d):
    assert transformers.first_negative(base, L, d) == brute_first_negative(base, L, d)


def test_article_values_feasibility_and_tightness():
    # the article's 1k and 2k bases are feasible; the bound is tight (min just above 0)
    lo, arg = transformers.cos_sum_min(4293.45, 1024)
    assert 0 <= lo < 1e-3 and arg > 900
    assert transformers.is_feasible(11587.4, 2048)
    assert not transformers.is_feasible(4293.0, 1024)


def test_feasibility_is_not_monotone_in_the_base():
    bs = 4293.45 * np.exp(np.linspace(0, math.log(10), 400))
    prof = transformers.feasibility_profile(bs, 1024)
    feas = prof == 1024
    assert feas[0] and not feas.all() and feas[-1]
    assert prof.shape == bs.shape


# -- the article's search -----------------------------------------------------------------
@pytest.mark.parametrize("L,d,stages", [(300, 16, 4), (64, 128, 3), (1000, 8, 4)])
def test_su_grid_search_equals_a_literal_transcription(L, d, stages):
    assert transformers.su_grid_search(L, d, stages=stages)[-1] == su_bmin_reference(L, d, stages)


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_base_lower_bound_reproduces_the_article_row(k):
    b = transformers.base_lower_bound(1024 * k)
    assert round_sig(b) == SU_ROW[k]
    assert transformers.is_feasible(b, 1024 * k)


def test_su_grid_stages_descend():
    stages = transformers.su_grid_search(1024)
    assert len(stages) == 5 and all(a >= b for a, b in zip(stages, stages[1:], strict=False))
    assert stages[-1] == transformers.base_lower_bound(1024)


# -- certified infimum --------------------------------------------------------------------
def test_certified_infimum_brackets_the_minimum():
    L, d = 400, 32
    r = transformers.certified_base_infimum(L, d)
    assert r["b_hi"] >= r["b_lo"] and r["b_hi"] <= r["b_lo"] * (1 + 1e-9)
    assert transformers.is_feasible(r["b_hi"], L, d)
    # every base below b_lo is infeasible: sample densely, log-uniform
    rng = np.random.default_rng(0)
    bs = np.exp(rng.uniform(1e-6, math.log(r["b_lo"]), 3000))
    bs = np.concatenate((bs, r["b_lo"] * (1 - np.logspace(-12, -2, 50))))
    assert (transformers.feasibility_profile(bs, L, d) < L).all()
    # the grid search can only land on or above the infimum
    assert transformers.su_grid_search(L, d, stages=4)[-1] >= r["b_lo"]


def test_certified_infimum_1k_is_just_below_the_article_value():
    r = transformers.certified_base_infimum(1024)
    assert 4293.0 < r["b_lo"] <= 4293.45 and round_sig(r["b_hi"]) == 4.3e3


# -- asymptotics --------------------------------------------------------------------------
def test_ci_first_zero_and_asymptotic_bound():
    x0 = transformers.ci_first_zero()
    assert abs(x0 - 0.6165054856207162) < 1e-14
    assert abs(sici(x0)[1]) < 1e-15
    assert transformers.asymptotic_base_bound(1024) == pytest.approx(1024 / x0, rel=1e-15)


def test_cos_sum_limit_is_the_large_d_limit():
    m, b = np.array([0.0, 1.0, 10.0, 300.0]), 1e4
    d = 2**16
    fin = 2 / d * transformers.cos_sum(m, d, b)
    lim = transformers.cos_sum_limit(m, b)
    # left Riemann sum of a function with bounded variation V: error <= V * 2/d
    np.testing.assert_allclose(fin, lim, rtol=0, atol=2 / d * (1 + m.max()))


def test_infinite_d_base_bound():
    for L in (1024, 8192):
        b = transformers.infinite_d_base_bound(L)
        m = np.arange(1, L, dtype=np.float64)
        assert (sici(m)[1] - sici(m / b)[1]).min() >= -1e-12
        assert (sici(m)[1] - sici(m / (b * (1 - 1e-6)))[1]).min() < 0
        assert abs(b / L - 1 / transformers.ci_first_zero()) < 2 / L
        assert b < 0.5 * SU_ROW[L // 1024]  # far below the finite-d bound


# -- stored values (benchmark output) -----------------------------------------------------
def f32_phase_model(b: float, ms: np.ndarray, d: int = 128) -> np.ndarray:
    """f_b(m) with float32 base, frequencies and phases (the article's JAX default precision)."""
    e = (np.float32(-2) * np.arange(d // 2, dtype=np.float32) / np.float32(d)).astype(np.float64)
    th = (np.float64(np.float32(b)) ** e).astype(np.float32)
    return np.cos((ms.astype(np.float32)[:, None] * th).astype(np.float64)).sum(1)


def test_stored_table_is_the_article_table():
    data = json.loads(DATA.read_text())
    t = data["article_table"]
    assert "kexue.fm/archives/10122" in t["source"]
    assert t["L"] == [1024 * 2**i for i in range(11)] and len(t["labels"]) == 11
    assert len(t["paper"]) == len(t["article"]) == 11
    assert [r["label"] for r in data["rows"]] == t["labels"]
    assert all(isinstance(s, str) and float(s) > 1 for s in t["paper"] + t["article"])


def test_stored_bounds_are_feasible():
    """Every stored base satisfies f_b(m) >= 0 for all m < L, up to L = 1M (d = 128)."""
    data = json.loads(DATA.read_text())
    assert data["provenance"]["script"] == "benchmarks/rope_bound.py"
    for row in data["rows"]:
        L, d = row["L"], data["settings"]["d"]
        assert transformers.is_feasible(row["su_grid_float64"], L, d)
        assert transformers.is_feasible(row["certified"]["b_hi"], L, d)
        assert not transformers.is_feasible(row["certified"]["b_lo"] * (1 - 1e-9), L, d)
        assert row["certified"]["b_lo"] <= row["su_grid_float64"]


def test_stored_float32_replay_at_512k():
    """The stored float32-phase search at 512k is a float32-feasible point of the stage-5 grid."""
    data = json.loads(DATA.read_text())
    row = next(r for r in data["rows"] if r["label"] == "512k")
    L, b32 = row["L"], row["su_grid_float32"]
    grid = np.linspace(0, 1, 10**5 + 1)[1:] * row["su_grid_float32_stages"][3]
    assert b32 in grid
    ms = np.arange(L)
    assert min(f32_phase_model(b32, ms[s : s + 65536]).min() for s in range(0, L, 65536)) >= 0
    # float32 phases reject the float64 answer, which float64 accepts
    b64 = row["su_grid_float64"]
    assert transformers.is_feasible(b64, L) and f32_phase_model(b64, ms[-65536:]).min() < 0


# -- argument types and edges -------------------------------------------------------------
def test_numeric_types_are_the_same_reals():
    """A base or position of any numeric type (tensor, NumPy or arbitrary-size Python int,
    float32) means the same real number: the results are the float64 ones."""
    ref = transformers.thetas(8, 1e4)
    np.testing.assert_array_equal(transformers.thetas(8, torch.tensor(1e4)), ref)
    np.testing.assert_array_equal(transformers.thetas(np.int64(8), 10_000), ref)
    np.testing.assert_array_equal(transformers.thetas(8, 10**20), transformers.thetas(8, 1e20))
    assert transformers.cos_sum(2**64, 8, 1e4) == transformers.cos_sum(2.0**64, 8, 1e4)
    m = torch.arange(5.0, dtype=torch.float64, requires_grad=True)  # e.g. positions of a model
    np.testing.assert_array_equal(transformers.cos_sum(m, 16, 1e4).numpy(),
                                  transformers.cos_sum(np.arange(5.0), 16, 1e4))
    R = transformers.rope_matrix(3.0, 8, 1e4, dtype=torch.float32)
    assert R.dtype == torch.float32
    torch.testing.assert_close(R, transformers.rope_matrix(3.0, 8, 1e4).float(), rtol=0, atol=0)


def test_rotary_dims_at_its_limits():
    full = transformers.thetas(8, 1e4)
    np.testing.assert_array_equal(transformers.thetas(8, 1e4, rotary_dims=8), full)  # r = d
    np.testing.assert_array_equal(transformers.thetas(8, 1e4, rotary_dims=2), [1.0, 0, 0, 0])


def test_apply_rope_positions_are_float64_reals_and_device_is_kept():
    x = torch.randn(2, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    pos = [0.1, 12345.678]  # not float32 numbers: a float32 phase would be ~1e-3 rad off
    y = transformers.apply_rope(x, pos, 1e4)
    for r in range(2):
        torch.testing.assert_close(y[r], transformers.rope_matrix(pos[r], 8, 1e4) @ x[r],
                                   rtol=0, atol=1e-12)
    # positions are data: no gradient flows into them, the output's graph is that of x
    p = torch.tensor(pos, dtype=torch.float64, requires_grad=True)
    assert not transformers.apply_rope(x, p, 1e4).requires_grad
    # the result lives on x's device (the meta device needs no accelerator)
    xm = torch.empty(3, 5, 8, device="meta")
    ym = transformers.apply_rope(xm, torch.arange(5), 1e4)
    assert ym.device == xm.device and ym.shape == xm.shape and ym.dtype == xm.dtype


# -- bad input: ValueError whose message starts with the argument's name ----------------------
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: transformers.thetas(7, 100.0), "d"),
        (lambda: transformers.thetas(0, 100.0), "d"),
        (lambda: transformers.thetas(8.0, 100.0), "d"),
        (lambda: transformers.thetas(8, 1.0), "base"),
        (lambda: transformers.thetas(8, float("nan")), "base"),
        (lambda: transformers.thetas(8, 10.0, rotary_dims=3), "rotary_dims"),
        (lambda: transformers.thetas(8, 10.0, rotary_dims=10), "rotary_dims"),
        (lambda: transformers.thetas(8, 10.0, rotary_dims=0), "rotary_dims"),
        (lambda: transformers.thetas(8, 10.0, rotary_dims=True), "rotary_dims"),
        (lambda: transformers.thetas(8, 10.0, rotary_dims=4.0), "rotary_dims"),
        (lambda: transformers.cos_sum(np.array([1.0, np.inf]), 8, 10.0), "m"),
        (lambda: transformers.cos_sum(1, -2, 10.0), "d"),
        (lambda: transformers.first_negative(0.5, 100), "base"),
        (lambda: transformers.first_negative(np.array([10.0, 100.0]), 100), "base"),
        (lambda: transformers.first_negative(100.0, 0), "length"),
        (lambda: transformers.first_negative(100.0, 10.5), "length"),
        (lambda: transformers.first_negative(100.0, True), "length"),
        (lambda: transformers.is_feasible(100.0, 100, d=3), "d"),
        (lambda: transformers.base_lower_bound(0), "length"),
        (lambda: transformers.base_lower_bound(1024.5), "length"),
        (lambda: transformers.su_grid_search(100, stages=0), "stages"),
        (lambda: transformers.asymptotic_base_bound(-1), "length"),
        (lambda: transformers.cos_sum_limit(-1.0, 10.0), "m"),
        (lambda: transformers.rope_matrix(float("nan"), 8, 10.0), "position"),
        (lambda: transformers.apply_rope(torch.zeros(8), [0], 10.0), "x"),
        (lambda: transformers.apply_rope(torch.zeros(3, 7), [0, 1, 2], 10.0), "x"),
        (lambda: transformers.apply_rope(torch.zeros(3, 0), [0, 1, 2], 10.0), "x"),
        (lambda: transformers.apply_rope(torch.zeros(3, 8), [0, 1], 10.0), "positions"),
        (lambda: transformers.apply_rope(torch.zeros(3, 8), [0, 1, float("nan")], 10.0),
         "positions"),
        (lambda: transformers.apply_rope(torch.zeros(3, 8, dtype=torch.int64), [0, 1, 2], 10.0),
         "x"),
        (lambda: transformers.certified_base_infimum(100, start=0.5), "start"),
        (lambda: transformers.certified_base_infimum(100, rel_gap=0.0), "rel_gap"),
        (lambda: transformers.certified_base_infimum(100, max_steps=-1), "max_steps"),
    ],
)
def test_bad_input_raises_value_error(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()


def test_nested_grid_with_a_known_verdict():
    """nested_grid alone, with the verdict 'feasible iff base >= 1234.5' at L = 4 (B = 4000):
    worked by hand, the stages give 1600, 1248 and 1235.52 (990 x 1.248)."""
    def first(g):
        ok = g >= 1234.5
        return int(np.argmax(ok)) if ok.any() else None

    assert transformers.nested_grid(first, 4, 3) == pytest.approx([1600.0, 1248.0, 1235.52], rel=1e-12)
