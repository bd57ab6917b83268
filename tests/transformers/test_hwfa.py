"""Tests of lib/transformers/hwfa.py: the receptive-field and window rules (against brute
force), the tiny LM (exact Jacobian support, translation invariance, gradcheck, extreme
inputs), the toy language, the trainer and the accuracy split; bad input everywhere."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.transformers import (
    hwfa_window,
    init_lm,
    lm_hidden,
    lm_logits,
    markov_successors,
    receptive_field,
    split_accuracy,
    toy_language_tokens,
    train_lms,
)

f64 = torch.float64


def brute_window(N, L, alpha):
    """Enumerate w = 1, 2, ... (the definition of hwfa_window, no closed form)."""
    budget = Fraction(alpha) * N
    ok = [w for w in range(1, N + 2) if (w - 1) * (L - 1) + 1 <= budget]
    return max(ok)


def support(kinds, T=20, d=4, w=3, seed=0):
    """Which inputs s each output t of the stack depends on: exact Jacobian, float64."""
    g = torch.Generator().manual_seed(seed)
    p = init_lm(kinds, vocab_size=5, d_model=d, generator=g, dtype=f64)
    x = torch.randn(1, 1, T, d, generator=g, dtype=f64)
    J = torch.autograd.functional.jacobian(
        lambda z: lm_hidden(p, z, kinds, window=w, train_len=8), x, vectorize=True)
    return J.reshape(T, d, T, d).abs().amax((1, 3))


# -- the counting rules --------------------------------------------------------------------
def test_receptive_field_values_and_bad_input():
    assert receptive_field(4, 3) == 10
    assert receptive_field(1, 7) == 1
    assert receptive_field(16, 23) == 346
    assert receptive_field(10**9, 10**9) == (10**9 - 1) * 10**9 + 1  # exact Python int
    for bad in [dict(w=0, L=1), dict(w=2.0, L=1), dict(w=True, L=1)]:
        with pytest.raises(ValueError, match="w"):
            receptive_field(**bad)
    with pytest.raises(ValueError, match="L"):
        receptive_field(3, 0)


def test_hwfa_window_article_case_and_edges():
    assert hwfa_window(512, 24) == 17  # 16*23+1 = 369 <= 384 < 392 = 17*23+1
    assert hwfa_window(512, 25) == 16  # the rule applied to all 24 window-or-full layers
    assert hwfa_window(4, 2, 1.0) == 4  # equality counts: (4-1)*1+1 = 4
    assert hwfa_window(8, 3, 0.125) == 1  # alpha*N = 1: only w = 1
    assert hwfa_window(10**6, 2, 1.0) == 10**6


@settings(max_examples=300, deadline=None)
@given(N=st.integers(1, 400), L=st.integers(2, 40),
       alpha=st.sampled_from([0.25, 0.5, 2 / 3, 0.676, 0.75, 0.9, 1.0]))
def test_hwfa_window_matches_brute_force(N, L, alpha):
    if alpha * N < 1:
        with pytest.raises(ValueError, match="alpha"):
            hwfa_window(N, L, alpha)
        return
    w = hwfa_window(N, L, alpha)
    assert w == brute_window(N, L, alpha)
    assert (w - 1) * (L - 1) + 1 <= Fraction(alpha) * N < w * (L - 1) + 1


def test_hwfa_window_bad_input():
    with pytest.raises(ValueError, match="N"):
        hwfa_window(0, 3)
    with pytest.raises(ValueError, match="L"):
        hwfa_window(512, 1)
    for a in [0.0, -0.1, 1.5, math.nan, math.inf, "x"]:
        with pytest.raises(ValueError, match="alpha"):
            hwfa_window(512, 24, a)
    with pytest.raises(ValueError, match="alpha"):
        hwfa_window(1, 2, 0.5)


# -- the model -----------------------------------------------------------------------------
@pytest.mark.parametrize("w,L", [(3, 2), (2, 4), (4, 3)])
def test_window_stack_support_is_the_receptive_field(w, L):
    S = support(("window",) * L, w=w)
    R = receptive_field(w, L)
    t, s = torch.meshgrid(torch.arange(20), torch.arange(20), indexing="ij")
    inside = (s <= t) & (t - s < R)
    assert torch.all(S[~inside] == 0)  # exact structural zeros
    assert torch.all(S[inside] > 1e-10)


def test_hwfa_stack_is_global_and_full_layers_are_causal():
    for kinds in [("window", "full_logn"), ("full_rope", "full_rope")]:
        S = support(kinds, w=2)
        causal = torch.ones(20, 20, dtype=torch.bool).tril()
        assert torch.all(S[~causal] == 0)
        assert torch.all(S[causal] > 1e-10)


def test_window_stack_translation_invariance():
    g = torch.Generator().manual_seed(3)
    kinds, w, d = ("window",) * 3, 3, 8
    R = receptive_field(w, 3)
    p = init_lm(kinds, vocab_size=5, d_model=d, n_heads=2, generator=g, dtype=f64)
    x = torch.randn(1, 2, 40, d, generator=g, dtype=f64)
    out = lm_hidden(p, x, kinds, window=w, train_len=8, n_heads=2)
    for t in range(R - 1, 40):
        cut = lm_hidden(p, x[:, :, t - R + 1: t + 1], kinds, window=w, train_len=8, n_heads=2)
        assert torch.allclose(cut[:, :, -1], out[:, :, t], rtol=0, atol=1e-12)
    # one token fewer is not enough (the receptive field is tight)
    cut = lm_hidden(p, x[:, :, 40 - R + 1:], kinds, window=w, train_len=8, n_heads=2)
    assert (cut[:, :, -1] - out[:, :, -1]).abs().max() > 1e-6


def test_lm_hidden_gradcheck_dtype_and_extremes():
    g = torch.Generator().manual_seed(1)
    kinds = ("window", "full_logn")
    p = init_lm(kinds, vocab_size=4, d_model=4, n_models=2, generator=g, dtype=f64)
    p = {k: v.requires_grad_() for k, v in p.items()}
    x = torch.randn(2, 1, 5, 4, generator=g, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z, q: lm_hidden({**p, "0.q": q}, z, kinds, window=2, train_len=4),
        (x, p["0.q"]))
    p32 = init_lm(kinds, vocab_size=4, d_model=4, generator=g)
    x32 = torch.randn(1, 3, 6, 4, generator=g)
    assert lm_hidden(p32, x32, kinds, window=2, train_len=4).dtype == torch.float32
    for scale in [1e-30, 1e4, 1e30]:
        out = lm_hidden(p32, x32 * scale, kinds, window=2, train_len=4)
        assert torch.isfinite(out).all()
    assert torch.isfinite(lm_hidden(p32, x32[:, :, :1], kinds, window=2, train_len=4)).all()


def test_lm_logits_token_shift_reach():
    g = torch.Generator().manual_seed(2)
    kinds = ("window",)
    p = init_lm(kinds, vocab_size=6, d_model=4, generator=g, dtype=f64)
    tok = torch.tensor([[[5, 0, 1, 2, 3, 4, 0]]])
    base = lm_logits(p, tok, kinds, window=1, train_len=4)
    assert base.shape == (1, 1, 7, 6) and base.dtype == f64
    changed = tok.clone()
    changed[..., 3] = 4  # position 3 reaches outputs 3 (itself) and 4 (token shift) only
    diff = (lm_logits(p, changed, kinds, window=1, train_len=4) - base).abs().amax(-1)[0, 0]
    assert torch.all(diff[[0, 1, 2, 5, 6]] == 0) and torch.all(diff[[3, 4]] > 1e-8)


def test_model_bad_input():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="kinds"):
        init_lm("window", vocab_size=4)
    with pytest.raises(ValueError, match="kinds"):
        init_lm(("window", "lstm"), vocab_size=4)
    with pytest.raises(ValueError, match="n_heads"):
        init_lm(("window",), vocab_size=4, d_model=6, n_heads=2)
    with pytest.raises(ValueError, match="vocab_size"):
        init_lm(("window",), vocab_size=1)
    with pytest.raises(ValueError, match="dtype"):
        init_lm(("window",), vocab_size=4, dtype=torch.int64)
    p = init_lm(("window",), vocab_size=4, d_model=4, n_models=2, generator=g)
    kw = dict(window=2, train_len=4)
    with pytest.raises(ValueError, match="x"):
        lm_hidden(p, torch.zeros(3, 1, 5, 4), ("window",), **kw)
    with pytest.raises(ValueError, match="x"):
        lm_hidden(p, torch.zeros(2, 5, 4), ("window",), **kw)
    with pytest.raises(ValueError, match="window"):
        lm_hidden(p, torch.zeros(2, 1, 5, 4), ("window",), window=0, train_len=4)
    with pytest.raises(ValueError, match="train_len"):
        lm_hidden(p, torch.zeros(2, 1, 5, 4), ("window",), window=2, train_len=1)
    with pytest.raises(ValueError, match="tokens"):
        lm_logits(p, torch.zeros(2, 1, 5), ("window",), **kw)
    with pytest.raises(ValueError, match="tokens"):
        lm_logits(p, torch.full((2, 1, 5), 4), ("window",), **kw)
    with pytest.raises(ValueError, match="tokens"):
        lm_logits(p, torch.zeros(3, 1, 5, dtype=torch.long), ("window",), **kw)


# -- the toy language ----------------------------------------------------------------------
def test_markov_successors():
    succ = markov_successors(10, 4, rng=np.random.default_rng(0))
    assert succ.shape == (10, 4)
    assert all(len(set(r)) == 4 for r in succ)
    with pytest.raises(ValueError, match="n_succ"):
        markov_successors(3, 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        markov_successors(3, 2, rng=0)


def test_toy_language_structure_and_frequencies():
    rng = np.random.default_rng(1)
    V, probs = 8, np.array([0.5, 0.25, 0.125, 0.125])
    succ = markov_successors(V, 4, rng=rng)
    P = np.array([[40] * 200 + [3, 5, 8] * 10])
    tok = toy_language_tokens(succ, probs, P, 40, rng=rng)
    assert tok.shape == (1, 230, 40) and tok.dtype == torch.int64
    assert torch.all(tok[..., 0] == V)
    plain = tok[0, :200, 1:].numpy()
    rank = (succ[plain[:, :-1]] == plain[:, 1:, None]).argmax(-1)
    assert np.all((succ[plain[:, :-1]] == plain[:, 1:, None]).any(-1))  # every step is legal
    freq = np.bincount(rank.ravel(), minlength=4) / rank.size
    se = np.sqrt(probs * (1 - probs) / rank.size)
    assert np.all(np.abs(freq - probs) < 5 * se)
    for b, p in zip(range(200, 230), P[0, 200:], strict=True):
        s = tok[0, b, 1:]
        assert torch.equal(s[p:], s[:-p]) and len(set(s[:p].tolist())) == p


def test_toy_language_bad_input():
    rng = np.random.default_rng(0)
    succ = markov_successors(4, 2, rng=rng)
    ok = dict(probs=[0.5, 0.5], periods=np.array([3]), length=10, rng=rng)
    with pytest.raises(ValueError, match="succ"):
        toy_language_tokens(succ + 4, **ok)
    with pytest.raises(ValueError, match="probs"):
        toy_language_tokens(succ, **{**ok, "probs": [0.5, 0.4]})
    with pytest.raises(ValueError, match="periods"):
        toy_language_tokens(succ, **{**ok, "periods": np.array([0])})
    with pytest.raises(ValueError, match="periods"):
        toy_language_tokens(succ, **{**ok, "periods": np.array([5])})  # 5 > V = 4
    with pytest.raises(ValueError, match="length"):
        toy_language_tokens(succ, **{**ok, "length": 1})


# -- training and evaluation ---------------------------------------------------------------
def run(seed):
    rng = np.random.default_rng(seed)
    succ = markov_successors(6, 2, rng=rng)
    return train_lms(("window", "full_logn"), succ, [0.7, 0.3], n_models=2, steps=4, batch=3,
                     length=12, periods=(2, 5), p_plain=0.5, window=3,
                     generator=torch.Generator().manual_seed(seed), rng=rng, d_model=8)


def test_train_lms_shapes_and_determinism():
    p1, l1 = run(0)
    p2, l2 = run(0)
    assert l1.shape == (4, 2) and torch.isfinite(l1).all()
    assert torch.equal(l1, l2) and all(torch.equal(p1[k], p2[k]) for k in p1)
    assert p1["out"].shape == (2, 8, 6) and p1["emb"].shape == (2, 7, 8)
    with pytest.raises(ValueError, match="periods"):
        train_lms(("window",), np.zeros((3, 1), int), [1.0], n_models=1, steps=1, batch=1,
                  length=8, periods=(4, 2), p_plain=0.5, window=2,
                  generator=torch.Generator(), rng=np.random.default_rng(0))


def test_split_accuracy_counts():
    tok = torch.tensor([[[9, 1, 2, 3, 1, 2, 3, 1], [9, 4, 5, 6, 7, 0, 1, 2]]])  # T = 8
    P = torch.tensor([[3, 8]])
    perfect = torch.nn.functional.one_hot(tok[..., 1:], 10).double()
    loc, cop = split_accuracy(perfect, tok, P)
    assert loc.item() == 1 and cop.item() == 1
    wrong = perfect.clone()
    wrong[0, 0, 4] = torch.flip(wrong[0, 0, 4], [0])  # letter j = 4 > P: a copied letter
    wrong[0, 1, 0] = torch.flip(wrong[0, 1, 0], [0])  # letter 0 of plain text: not counted
    loc, cop = split_accuracy(wrong, tok, P)
    assert loc.item() == 1 and cop.item() == pytest.approx(2 / 3)  # copied letters j = 4, 5, 6
    with pytest.raises(ValueError, match="copied"):
        split_accuracy(perfect, tok, torch.tensor([[8, 8]]))
    with pytest.raises(ValueError, match="logits"):
        split_accuracy(perfect[..., :-1, :], tok, P)
    with pytest.raises(ValueError, match="periods"):
        split_accuracy(perfect, tok, torch.tensor([3, 8]))
