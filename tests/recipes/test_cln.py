"""Tests of lib.recipes.cln (chapter *Conditional LayerNorm*, kexue.fm 8337 / 7124)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.recipes import (
    CLNMatcher,
    ConditionalLayerNorm,
    ab_averaged_f1,
    f1_binary,
    fit_cln_regression,
    make_matching_tasks,
    predict_matches,
    train_matcher,
)

f64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny ops run far slower with several threads on a shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _randomised(h=6, c=4, k=None, act=None, seed=0):
    torch.manual_seed(seed)
    ln = ConditionalLayerNorm(h, c, k, act).double()
    with torch.no_grad():
        for p in ln.parameters():
            p.normal_()
    return ln


def _numpy_cln(ln, x, cond, act=lambda t: t):
    """Independent NumPy route of the contract's formula."""
    x, cond = x.numpy(), cond.numpy()
    g, b = ln.gamma.detach().numpy(), ln.beta.detach().numpy()
    c = cond if ln.hidden_dense is None else act(cond @ ln.hidden_dense.weight.detach().numpy().T)
    gain = g + c @ ln.gamma_dense.weight.detach().numpy().T
    bias = b + c @ ln.beta_dense.weight.detach().numpy().T
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)  # NumPy's default ddof=0: the biased variance
    return gain.reshape(shape) * (x - mu) / np.sqrt(var + ln.eps) + bias.reshape(shape)


# -- ConditionalLayerNorm ------------------------------------------------------------------
def test_attributes_and_init():
    ln = ConditionalLayerNorm(5, 3, 2, "tanh")
    assert ln.gamma.shape == (5,) and torch.equal(ln.gamma.data, torch.ones(5))
    assert ln.beta.shape == (5,) and torch.equal(ln.beta.data, torch.zeros(5))
    assert ln.hidden_dense.weight.shape == (2, 3) and ln.hidden_dense.bias is None
    assert ln.hidden_dense.weight.abs().sum() > 0
    bound = np.sqrt(6 / (3 + 2))  # Xavier-uniform bound
    assert ln.hidden_dense.weight.abs().max() <= bound
    for m in (ln.gamma_dense, ln.beta_dense):
        assert m.weight.shape == (5, 2) and m.bias is None and m.weight.abs().sum() == 0
    plain = ConditionalLayerNorm(5, 3)
    assert plain.hidden_dense is None and plain.gamma_dense.weight.shape == (5, 3)
    assert plain.eps == 1e-12


@pytest.mark.parametrize("shape", [(4, 6), (4, 3, 6), (2, 3, 5, 6)])
def test_identity_at_init(shape):
    ln = ConditionalLayerNorm(6, 4, 3, "gelu").double()
    x = torch.randn(shape, dtype=f64) * 3 + 1
    for cond in (torch.randn(shape[0], 4, dtype=f64) * 10, torch.zeros(shape[0], 4, dtype=f64)):
        out = ln(x, cond)
        ref = F.layer_norm(x, (6,), eps=1e-12)
        assert out.dtype == f64 and out.shape == x.shape
        assert (out - ref).abs().max() < 1e-13


@pytest.mark.parametrize("k,act,npact", [(None, None, None), (3, "relu", lambda t: np.maximum(t, 0)),
                                         (3, "tanh", np.tanh), (3, "linear", lambda t: t),
                                         (3, torch.sin, np.sin)])
def test_formula_against_numpy(k, act, npact):
    ln = _randomised(k=k, act=act)
    x, cond = torch.randn(3, 2, 6, dtype=f64), torch.randn(3, 4, dtype=f64)
    x0, c0 = x.clone(), cond.clone()
    out = ln(x, cond).detach().numpy()
    ref = _numpy_cln(ln, x, cond, npact or (lambda t: t))
    assert np.abs(out - ref).max() < 1e-12
    assert torch.equal(x, x0) and torch.equal(cond, c0)  # inputs untouched


def test_gelu_silu_names():
    x, cond = torch.randn(2, 6, dtype=f64), torch.randn(2, 4, dtype=f64)
    for name, fn in [("gelu", F.gelu), ("silu", F.silu)]:
        ln = _randomised(k=3, act=name)
        ref = _randomised(k=3, act=fn)
        assert torch.allclose(ln(x, cond), ref(x, cond), rtol=0, atol=1e-14)


def test_extreme_inputs_finite():
    ln = _randomised()
    const = torch.full((2, 6), 1e4, dtype=f64)
    big = torch.randn(2, 6, dtype=f64) * 1e6
    cond = torch.randn(2, 4, dtype=f64)
    out = ln(const, cond)
    assert torch.isfinite(out).all()
    # a constant row normalises to 0, leaving only the conditional bias
    assert torch.allclose(out, (ln.beta + ln.beta_dense(cond)).detach(), atol=1e-12)
    assert torch.isfinite(ln(big, cond)).all()
    assert ConditionalLayerNorm(6, 4)(torch.randn(2, 6), torch.randn(2, 4)).dtype == torch.float32


def test_cln_bad_input():
    ln = ConditionalLayerNorm(6, 4)
    with pytest.raises(ValueError, match="x"):
        ln(torch.randn(2, 5), torch.randn(2, 4))
    with pytest.raises(ValueError, match="x"):
        ln(torch.randn(6), torch.randn(1, 4))
    with pytest.raises(ValueError, match="cond"):
        ln(torch.randn(2, 6), torch.randn(2, 1, 4))
    with pytest.raises(ValueError, match="cond"):
        ln(torch.randn(2, 6), torch.randn(2, 3))
    with pytest.raises(ValueError, match="cond"):
        ln(torch.randn(2, 6), torch.randn(3, 4))
    with pytest.raises(ValueError, match="cond_hidden_act"):
        ConditionalLayerNorm(6, 4, 2, "sigmoid")
    with pytest.raises(ValueError, match="eps"):
        ConditionalLayerNorm(6, 4, eps=0.0)
    with pytest.raises(ValueError, match="hidden_size"):
        ConditionalLayerNorm(0, 4)
    with pytest.raises(ValueError, match="cond_hidden_size"):
        ConditionalLayerNorm(6, 4, 0)


# -- the zero-initialisation trap -----------------------------------------------------------
def _trap_data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32, 5, 6, generator=g, dtype=f64)
    cond = torch.randn(32, 4, generator=g, dtype=f64)
    target = torch.randn(32, 5, 6, generator=g, dtype=f64)
    return x, cond, target


def test_trap_all_zero_stays_zero():
    x, cond, target = _trap_data()
    ln = ConditionalLayerNorm(6, 4, 3, "tanh").double()
    torch.nn.init.zeros_(ln.hidden_dense.weight)
    h = fit_cln_regression(ln, x, cond, target, steps=10, lr=0.5)
    assert h["cond_norm"].abs().max() == 0 and h["hidden_norm"].abs().max() == 0
    assert h["first_grads"] == {"gamma_dense": 0.0, "beta_dense": 0.0, "hidden_dense": 0.0}
    assert h["loss"][-1] < h["loss"][0]  # gamma and beta still learn
    assert h["loss"].shape == (11,)


def test_trap_xavier_escapes():
    x, cond, target = _trap_data()
    torch.manual_seed(0)
    ln = ConditionalLayerNorm(6, 4, 3, "tanh").double()
    h0 = ln.hidden_dense.weight.detach().clone()
    h = fit_cln_regression(ln, x, cond, target, steps=10, lr=0.5)
    assert h["first_grads"]["hidden_dense"] == 0.0  # flows through zero W_gamma, W_beta
    assert h["first_grads"]["gamma_dense"] > 0 and h["first_grads"]["beta_dense"] > 0
    assert h["cond_norm"][0] == 0 and h["cond_norm"][-1] > 0
    assert not torch.equal(ln.hidden_dense.weight.detach(), h0)
    plain = ConditionalLayerNorm(6, 4).double()
    hp = fit_cln_regression(plain, x, cond, target, steps=2)
    assert "hidden_dense" not in hp["first_grads"] and hp["hidden_norm"].abs().max() == 0


def test_trap_bad_input():
    x, cond, target = _trap_data()
    ln = ConditionalLayerNorm(6, 4).double()
    with pytest.raises(ValueError, match="steps"):
        fit_cln_regression(ln, x, cond, target, steps=0)
    with pytest.raises(ValueError, match="lr"):
        fit_cln_regression(ln, x, cond, target, lr=-1.0)
    with pytest.raises(ValueError, match="target"):
        fit_cln_regression(ln, x, cond, target[:, :2])


# -- metrics ----------------------------------------------------------------------------------
def test_f1_known_values():
    assert f1_binary([1, 1, 0, 0], [1, 0, 1, 0]) == 0.5  # TP=FP=FN=1
    assert f1_binary([1, 1, 1, 0], [1, 1, 0, 0]) == pytest.approx(0.8)  # 4/5
    assert f1_binary([0, 0], [0, 0]) == 0.0 and f1_binary([], []) == 0.0
    assert f1_binary([1, 0], [0, 1]) == 0.0
    t, p = [1, 0, 1, 1, 0], [1, 1, 1, 0, 0]
    vals = {f1_binary(t, p), f1_binary(np.array(t), np.array(p)),
            f1_binary(torch.tensor(t), torch.tensor(p)), f1_binary(np.array(t, bool), p)}
    assert vals == {2 * 2 / (2 * 2 + 1 + 1)} and isinstance(f1_binary(t, p), float)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=40))
def test_f1_is_harmonic_mean(pairs):
    t = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    tp = np.sum((t == 1) & (p == 1))
    if tp == 0:
        assert f1_binary(t, p) == 0.0
        return
    prec, rec = tp / p.sum(), tp / t.sum()
    assert f1_binary(t, p) == pytest.approx(2 * prec * rec / (prec + rec), rel=1e-12)
    assert f1_binary(t, p) == pytest.approx(f1_binary(p, t), rel=1e-15)  # symmetric


def test_ab_averaged_split_by_parity():
    t = [1, 0, 1, 1, 0, 1]
    p = [1, 1, 0, 1, 0, 1]
    ids = [0, 1, 2, 3, 4, 5]
    r = ab_averaged_f1(t, p, ids)
    fa = f1_binary([1, 1, 0], [1, 0, 0])  # even ids 0, 2, 4
    fb = f1_binary([0, 1, 1], [1, 1, 1])  # odd ids 1, 3, 5
    assert r == {"f1_a": fa, "f1_b": fb, "f1": (fa + fb) / 2}
    assert ab_averaged_f1(torch.tensor(t), torch.tensor(p), torch.tensor(ids)) == r
    assert ab_averaged_f1(np.array(t), np.array(p), np.array(ids, float)) == r


def test_metric_bad_input():
    with pytest.raises(ValueError, match="y_true"):
        f1_binary([[1, 0]], [[1, 0]])
    with pytest.raises(ValueError, match="y_pred"):
        f1_binary([1, 0], [1])
    with pytest.raises(ValueError, match="y_pred"):
        f1_binary([1, 0], [2, 0])
    with pytest.raises(ValueError, match="y_true"):
        f1_binary([0.5, 0], [1, 0])
    with pytest.raises(ValueError, match="task_ids"):
        ab_averaged_f1([1, 0], [1, 0], [0])
    with pytest.raises(ValueError, match="task_ids"):
        ab_averaged_f1([1, 0], [1, 0], [0, -1])
    with pytest.raises(ValueError, match="task_ids"):
        ab_averaged_f1([1, 0], [1, 0], [0, 0.5])
    with pytest.raises(ValueError, match="y_pred"):
        ab_averaged_f1([1, 0], [1, 3], [0, 1])


# -- the benchmark ----------------------------------------------------------------------------
def test_make_matching_tasks():
    d = make_matching_tasks(200, np.random.default_rng(0), dim=5)
    assert d["features"].shape == (1200, 15) and d["features"].dtype == torch.float32
    assert torch.equal(torch.bincount(d["tasks"]), torch.full((6,), 200))
    thr = torch.tensor([0.0, 0.5], dtype=f64)[d["tasks"] % 2]
    assert torch.equal(d["labels"], (d["cos"] > thr).long())
    assert d["cos"].abs().max() < 1
    f = d["features"].double()
    assert torch.allclose(f[:, 10:], f[:, :5] * f[:, 5:10], atol=1e-5)
    # noise-free: the observed cosine is the true one
    z = make_matching_tasks(50, np.random.default_rng(1), dim=4, noise=(0, 0, 0))
    a, b = z["features"][:, :4].double(), z["features"][:, 4:8].double()
    cs = (a * b).sum(1) / a.norm(dim=1) / b.norm(dim=1)
    assert (cs - z["cos"]).abs().max() < 1e-6
    again = make_matching_tasks(200, np.random.default_rng(0), dim=5)
    assert torch.equal(again["features"], d["features"])


def test_make_matching_tasks_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_per_task"):
        make_matching_tasks(0, rng)
    with pytest.raises(ValueError, match="rng"):
        make_matching_tasks(5, 0)
    with pytest.raises(ValueError, match="thresholds"):
        make_matching_tasks(5, rng, thresholds=(0.0, 1.5))
    with pytest.raises(ValueError, match="scales"):
        make_matching_tasks(5, rng, scales=(1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="noise"):
        make_matching_tasks(5, rng, noise=(0.1, 0.1))


def test_matcher_zero_init_ignores_task_then_learns():
    g = torch.Generator().manual_seed(0)
    d = make_matching_tasks(100, np.random.default_rng(2), dim=4, noise=(0.05, 0.05, 0.05))
    m = CLNMatcher(12, hidden_size=16, cond_size=8, generator=g)
    x = d["features"][:6]
    same = torch.stack([m(x, torch.full((6,), t)) for t in range(6)])
    assert (same - same[0]).abs().max() == 0  # zero-init CLN: the task id has no effect yet
    train_matcher(m, d["features"], d["labels"], d["tasks"], epochs=30, batch_size=64, lr=1e-2,
                  generator=g)
    pred = predict_matches(m, d["features"], d["tasks"])
    assert pred.shape == (600,) and pred.dtype == torch.long
    assert (pred == d["labels"]).double().mean() > 0.8
    diff = torch.stack([m(x, torch.full((6,), t)) for t in range(6)])
    assert (diff - diff[0]).abs().max() > 0  # now it does
    u = CLNMatcher(12, conditioned=False, generator=g)
    out = torch.stack([u(x, torch.full((6,), t)) for t in range(6)])
    assert (out - out[0]).abs().max() == 0


def test_matcher_bad_input():
    g = torch.Generator().manual_seed(0)
    m = CLNMatcher(12, generator=g)
    x, t, y = torch.randn(4, 12), torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="tasks"):
        m(x, t[:3])
    with pytest.raises(ValueError, match="in_size"):
        CLNMatcher(0)
    with pytest.raises(ValueError, match="generator"):
        train_matcher(m, x, y, t, epochs=1, generator=0)
    with pytest.raises(ValueError, match="epochs"):
        train_matcher(m, x, y, t, epochs=0, generator=g)
    with pytest.raises(ValueError, match="labels"):
        train_matcher(m, x, y[:2], t, epochs=1, generator=g)
