"""Tests of the smooth top-k chapter's experiment helpers (lib.softmax.topk: the brute-force and
Brent references, the property audit, the symbolic facts, the figure; lib.softmax.as_published:
the recursion scan), split from test_topk.py; the helpers' own contracts (issue #20) are checked
against hand-written references of their documented definitions."""

import itertools
import math
import warnings

import matplotlib
import numpy as np
import pytest
import sympy
import torch

from lib.softmax import grad_topk, grad_topk_recursive, thre_topk, weighted_softmax_topk
from lib.softmax.as_published import (
    plot_recursion_scan,
    recursion_failure_scan,
    weighted_limit_symbolic,
)
from lib.softmax.topk import (
    brent_thre_topk,
    plot_top2_limits,
    sigmoid_jacobians,
    smooth_f_symbolic,
    topk_audit,
    topk_audit_cases,
    zk_identities_symbolic,
)
from lib.softmax.topk import brute_grad_topk as lib_brute_grad_topk
from lib.softmax.topk import topk_mask as lib_topk_mask

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

f64 = torch.float64
FS = ("exp", "sigmoid", "smooth")


def brute_grad_topk(x, k):
    """Z_{k,i}/Z_k by enumerating every k-subset (independent of lib)."""
    x = np.asarray(x, dtype=float)
    num, Z = np.zeros(len(x)), 0.0
    for c in itertools.combinations(range(len(x)), k):
        w = math.exp(sum(x[i] for i in c) - x.max() * k)
        Z += w
        num[list(c)] += w
    return num / Z


def test_topk_mask_and_brute_references():
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    assert torch.equal(lib_topk_mask(x, 2), torch.tensor([1.0, 0, 0, 1], dtype=f64))
    xr = np.random.default_rng(1).normal(size=7)
    for k in (1, 3):
        assert np.abs(lib_brute_grad_topk(xr, k) - brute_grad_topk(xr, k)).max() < 1e-14
        assert np.abs(lib_brute_grad_topk(xr, k, dps=30) - brute_grad_topk(xr, k)).max() < 1e-14
    x12 = 20 * torch.randn(12, dtype=f64, generator=torch.Generator().manual_seed(3))
    ref = torch.tensor(lib_brute_grad_topk(x12, 4, dps=50), dtype=f64)  # exact at spread 20
    assert (grad_topk(x12, 4) - ref).abs().max() < 1e-14
    rec = grad_topk_recursive(x12, 4)
    assert torch.isnan(rec).any() or (rec - ref).abs().max() > 1e-9  # >> grad_topk error
    for f in FS:
        assert np.abs(brent_thre_topk(xr, 3, f) - thre_topk(torch.tensor(xr), 3, f).numpy()).max() < 1e-11
    with pytest.raises(ValueError, match="k"):
        lib_brute_grad_topk(xr, 0)
    with pytest.raises(ValueError, match="f"):
        brent_thre_topk(xr, 2, "relu")
    with pytest.raises(ValueError, match="dps"):
        lib_brute_grad_topk(xr, 2, dps=5)


def test_symbolic_helpers():
    assert zk_identities_symbolic(5, 3) and zk_identities_symbolic(4, 2)
    sym = smooth_f_symbolic()  # no arguments: its whole output is checked, types included
    assert sym == {"c1": True, "c2_jump": sympy.Integer(-1), "alt_form": True, "exp_kink": 1,
                   "root": True}
    assert all(type(sym[key]) is bool for key in ("c1", "alt_form", "root"))
    assert type(sym["exp_kink"]) is int and isinstance(sym["c2_jump"], sympy.Integer)
    assert [float(v) for v in weighted_limit_symbolic()] == [1.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="k"):
        zk_identities_symbolic(5, 5)


def test_sigmoid_jacobians_agree():
    x = torch.tensor(np.random.default_rng(2).normal(size=6), dtype=f64)
    J, J_fd, J_ift = sigmoid_jacobians(x, 2)
    assert (J - J_ift).abs().max() < 1e-12 and (J - J_fd).abs().max() < 1e-6
    with pytest.raises(ValueError, match="h"):
        sigmoid_jacobians(x, 2, h=0.0)


def test_audit_passes_principled_map_and_flags_weighted_iteration():
    cases = topk_audit_cases(np.random.default_rng(0), n_max=5, per=2)
    assert len(cases) == 2 + 3 + 4
    good = topk_audit(lambda x, k: grad_topk(x, k), cases)
    assert good["sum"] < 1e-12 and good["order"] < 1e-12 and good["limit"] <= 1
    assert good["grad_limit"] <= 1
    bad = topk_audit(lambda x, k: weighted_softmax_topk(x, k), cases)
    assert bad["high"] > 0.01 and bad["limit"] > 100
    with pytest.raises(ValueError, match="rng"):
        topk_audit_cases(0)
    with pytest.raises(ValueError, match="tau"):
        topk_audit(grad_topk, cases, tau=0.0)


def test_recursion_scan_and_plots():
    scan = recursion_failure_scan([1, 10], k=3, n=20, draws=10,
                                  generator=torch.Generator().manual_seed(0))
    assert scan["err"][0] < 1e-11 and scan["nan"][0] == 0.0
    assert scan["stable_sum_err"] < 1e-11 and len(scan["wrong"]) == 2
    assert scan["nan"][1] + scan["wrong"][1] > 0
    with pytest.raises(ValueError, match="n"):
        recursion_failure_scan([1], k=3, n=3)
    plt.close(plot_recursion_scan([1, 10], scan))
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    fig = plot_top2_limits({"GradTopK": grad_topk}, x, np.geomspace(1, 0.1, 4), 0.03)
    assert len(fig.axes) == 2
    plt.close(fig)


# ------------------------------------------------------------------ contracts of the helpers
def test_brent_reference_arguments():
    xr = np.random.default_rng(4).normal(size=7)
    exact = thre_topk(torch.tensor(xr), 3, "exp").numpy()  # closed form
    # brentq to xtol 1e-14 + 4 eps |lambda|; f' <= 1 moves the entries by no more than that
    assert np.abs(brent_thre_topk(xr, 3) - exact).max() < 1e-13  # the default f is "exp"
    x8 = np.array([-6.29, 3.3, -0.57, 2.58, -0.94, -0.4, -0.69, 0.18])  # lambda = -0.935
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b8 = brent_thre_topk(x8, 7)
    assert np.abs(b8 - thre_topk(torch.tensor(x8), 7, "exp").numpy()).max() < 2e-14
    for k in (1, 6):  # 1 <= k <= n - 1
        ref = thre_topk(torch.tensor(xr), k, "smooth").numpy()
        assert np.abs(brent_thre_topk(xr, k, "smooth") - ref).max() < 1e-13
    for k in (0, 7):
        with pytest.raises(ValueError, match=r"^k must be an integer in \[1, 6\]"):
            brent_thre_topk(xr, k)
    with pytest.raises(ValueError, match=r"^x must be 1-D"):
        brent_thre_topk(xr.reshape(1, 7), 2)
    with pytest.raises(ValueError, match=r"^x must be a real array"):
        brent_thre_topk("abc", 2)
    with pytest.raises(ValueError, match=r"^f must be one of"):
        brent_thre_topk(xr, 2, "relu")


def test_brute_reference_arguments_and_large_inputs():
    xr = np.random.default_rng(5).normal(size=6)
    assert np.abs(lib_brute_grad_topk(xr, 2, dps=16) - brute_grad_topk(xr, 2)).max() < 1e-15
    big = np.array([400.0, 399.5, 399.0, 398.0, 390.0])  # e^{sum} alone would overflow
    exact = lib_brute_grad_topk(big, 2, dps=30)  # 30-digit mpmath enumeration
    assert np.abs(lib_brute_grad_topk(big, 2) - exact).max() < 1e-15
    assert np.abs(exact - brute_grad_topk(big, 2)).max() < 1e-15
    with pytest.raises(ValueError, match=r"^k must be an integer in \[1, 6\]"):
        lib_brute_grad_topk(xr, 7)
    with pytest.raises(ValueError, match=r"^x must be a finite 1-D array"):
        lib_brute_grad_topk(xr.reshape(2, 3), 2)
    with pytest.raises(ValueError, match=r"^x must be a real array"):
        lib_brute_grad_topk("abc", 2)


def audit_by_hand(fn, cases, tau=0.05, shift=5.3):
    """The documented definitions of topk_audit, in NumPy; the hard top-k of a permutation of
    0..n-1 is "value >= n - k"."""
    r = dict.fromkeys(("sum", "low", "high", "order", "shift", "limit", "grad_limit"), 0.0)
    for x, k, perm in cases:
        p, xn, pn = fn(x, k).numpy(), x.numpy(), perm.numpy()
        n, e = xn.shape[-1], math.exp(-0.5 / tau)
        c = max(math.comb(n - 1, k - 1), math.comb(n - 1, k))
        by_x = np.take_along_axis(p, np.argsort(xn, -1), -1)
        dev = np.abs(fn(perm / tau, k).numpy() - (pn >= n - k)).max()
        r["sum"] = max(r["sum"], np.abs(p.sum(-1) - k).max())
        r["low"] = min(r["low"], p.min())
        r["high"] = max(r["high"], p.max() - 1)
        r["order"] = max(r["order"], (-np.diff(by_x, axis=-1)).max())
        r["shift"] = max(r["shift"], np.abs(fn(x + shift, k).numpy() - p).max())
        r["limit"] = max(r["limit"], dev / (max(k, n - k, c * e) * e))
        r["grad_limit"] = max(r["grad_limit"], dev / (c * e * e))
    return r


AUDIT_MAPS = {  # imperfect maps, so that every audited property registers
    "scaled softmax": lambda x, k: k * torch.softmax(x, -1),
    "wobbly": lambda x, k: k * torch.softmax(x, -1) + 0.05 * torch.sin(3 * x) - 0.02,
}


@pytest.mark.parametrize("tau", [0.05, 1.0])
@pytest.mark.parametrize("name", list(AUDIT_MAPS))
def test_topk_audit_matches_its_definitions(name, tau):
    fn = AUDIT_MAPS[name]
    cases = topk_audit_cases(np.random.default_rng(6), n_max=6, per=2)
    cases.append((torch.tensor([0.3, -1.0, 2.0, 0.1, 0.7], dtype=f64), 2,
                  torch.tensor([3.0, 0.0, 4.0, 1.0, 2.0], dtype=f64)))  # a single 1-D case
    for case in cases:  # one case at a time, so no case hides behind another's maximum
        got, ref = topk_audit(fn, [case], tau=tau), audit_by_hand(fn, [case], tau=tau)
        assert got.keys() == ref.keys()
        assert all(got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-15) for key in ref), case
    got, ref = topk_audit(fn, cases, tau=tau), audit_by_hand(fn, cases, tau=tau)
    assert all(got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-15) for key in ref)


def test_topk_audit_cases_defaults_and_law():
    cases = topk_audit_cases(np.random.default_rng(7))  # defaults: 3 <= n <= 10, 8 per (n, k)
    assert [(x.shape[-1], k) for x, k, _ in cases] == [(n, k) for n in range(3, 11) for k in range(1, n)]
    for x, _, perm in cases:
        n = x.shape[-1]
        assert x.shape == perm.shape == (8, n) and x.dtype == perm.dtype == f64
        assert torch.equal(perm.sort(-1).values, torch.arange(n, dtype=f64).expand(8, n))
    # x ~ N(0, 4 I): the sample variance of N entries has standard error 4 sqrt(2/N)
    xs = torch.cat([x.flatten() for x, _, _ in cases])
    assert abs(float(xs.var()) - 4.0) < 5 * 4.0 * math.sqrt(2 / xs.numel())
    assert abs(float(xs.mean())) < 5 * 2.0 / math.sqrt(xs.numel())
    assert len(topk_audit_cases(np.random.default_rng(0), n_max=3, per=1)) == 2
    for kw, name in (({"n_max": 2}, "n_max"), ({"per": 0}, "per")):
        with pytest.raises(ValueError, match=rf"^{name} must be an integer in"):
            topk_audit_cases(np.random.default_rng(0), **kw)


def test_zk_identities_argument_range():
    assert zk_identities_symbolic(3, 2) and zk_identities_symbolic(4, 3)
    with pytest.raises(ValueError, match=r"^n must be an integer in \[3, inf\]"):
        zk_identities_symbolic(2, 1)
    with pytest.raises(ValueError, match=r"^k must be an integer in \[2, 4\]"):
        zk_identities_symbolic(5, 1)


def test_top2_figure_shows_what_its_docstring_says():
    x = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)
    taus = np.geomspace(1, 0.1, 4)
    curves = {"GradTopK": grad_topk, "naive weighted": weighted_softmax_topk}
    fig = plot_top2_limits(curves, x, taus, 0.03)
    axes = fig.axes
    assert len(axes) == 2 and tuple(fig.get_size_inches()) == (10.0, 3.8)
    assert axes[0].get_position().x1 < axes[1].get_position().x0  # side by side
    assert axes[0].get_position().y0 == axes[1].get_position().y0
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[1])
    for ax, idx, title in zip(axes, (3, 0), ("largest input", "runner-up"), strict=True):
        assert ax.get_title() == title and ax.get_xlabel() == r"temperature $\tau$"
        assert ax.get_xscale() == "log" and ax.xaxis_inverted()
        *curve_lines, vline = ax.get_lines()
        for line, (name, fn) in zip(curve_lines, curves.items(), strict=True):
            want = [float(fn(x / float(t), 2)[idx]) for t in taus]
            assert line.get_label() == name and np.array_equal(line.get_xdata(), taus)
            assert np.allclose(line.get_ydata(), want, rtol=0, atol=1e-15)
            assert line.get_linestyle() == ("--" if "naive" in name else "-")
        assert list(vline.get_xdata()) == [0.03, 0.03] and vline.get_linestyle() == ":"
        assert vline.get_color() == "k" and vline.get_linewidth() == 0.8
    assert axes[0].get_ylabel() == r"$[\mathcal{ST}_2(x/\tau)]_i$" and axes[1].get_ylabel() == ""
    assert axes[0].get_legend() is None
    legend = axes[1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(curves)
    assert legend.get_texts()[0].get_fontsize() == 8
    plt.close(fig)


def test_sigmoid_jacobians_columns_are_central_differences():
    """Column j of the finite-difference Jacobian is (f(x + h e_j) - f(x - h e_j)) / (2h)."""
    x = torch.tensor(np.random.default_rng(2).normal(size=6), dtype=f64)
    h = 1e-5
    _, J_fd, _ = sigmoid_jacobians(x, 2, h=h)
    for j in range(6):
        e = torch.zeros(6, dtype=f64)
        e[j] = h
        col = (thre_topk(x + e, 2, "sigmoid") - thre_topk(x - e, 2, "sigmoid")) / (2 * h)
        assert torch.allclose(J_fd[:, j], col, rtol=0, atol=1e-14)
