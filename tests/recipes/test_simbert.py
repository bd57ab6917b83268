"""Tests of lib.recipes.simbert (chapter SimBERTv2 / RoFormer-Sim, kexue.fm 8454)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.recipes import (
    CLS,
    N_SPECIAL,
    SEP,
    TinyUniLM,
    causal_mask,
    concepts_of,
    cosine_matrix_distill_loss,
    generate_greedy,
    inbatch_pair_contrastive_loss,
    is_paraphrase,
    pack_pairs,
    realize,
    recall_at_k,
    sample_meanings,
    sentence_vectors,
    train_simbert,
    unilm_mask,
    unilm_seq2seq_loss,
)

f64 = torch.float64


# -- masks ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=9))
def test_unilm_mask_brute_force(seg):
    s = torch.tensor([seg])
    out = unilm_mask(s)[0]
    c = np.cumsum(seg)
    for i in range(len(seg)):
        for j in range(len(seg)):
            assert bool(out[i, j]) == (c[j] <= c[i])


def test_unilm_mask_layout_and_padding():
    s = torch.tensor([[0, 0, 0, 1, 1, 0]])
    am = torch.tensor([[1, 1, 1, 1, 1, 0]])
    out = unilm_mask(s, am)[0]
    assert out[:3, :3].all() and not out[:3, 3:5].any()  # source: bidirectional, no target
    assert out[3, :4].all() and not out[3, 4] and out[4, :5].all()  # target: causal
    assert not out[:, 5].any()  # padded key never attended
    assert unilm_mask(s, am.bool())[0].equal(out)


def test_unilm_mask_all_target_is_causal():
    assert unilm_mask(torch.ones(1, 5, dtype=torch.long))[0].equal(causal_mask(5))
    assert unilm_mask(torch.zeros(1, 4, dtype=torch.long))[0].all()


def test_causal_mask():
    assert causal_mask(1).equal(torch.tensor([[True]]))
    assert causal_mask(3).equal(torch.tril(torch.ones(3, 3, dtype=torch.bool)))


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(3, dtype=torch.long), "segment_ids"),
    (torch.zeros(1, 3), "segment_ids"),
    (torch.tensor([[0, 2]]), "segment_ids"),
])
def test_unilm_mask_bad(bad, match):
    with pytest.raises(ValueError, match=match):
        unilm_mask(bad)


def test_unilm_mask_bad_attention_mask():
    with pytest.raises(ValueError, match="attention_mask"):
        unilm_mask(torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 4))
    with pytest.raises(ValueError, match="T"):
        causal_mask(0)


# -- losses --------------------------------------------------------------------------------
def test_seq2seq_loss_brute_force():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 6, 7, generator=g, dtype=f64)
    tok = torch.randint(0, 7, (2, 6), generator=g)
    seg = torch.tensor([[0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1]])
    terms = [-torch.log_softmax(logits[b, t - 1], 0)[tok[b, t]]
             for b in range(2) for t in range(1, 6) if seg[b, t]]
    ref = torch.stack(terms).mean()  # token-weighted, not a mean of per-sequence means
    out = unilm_seq2seq_loss(logits, tok, seg)
    assert out.dtype == f64 and out.dim() == 0
    assert torch.allclose(out, ref, atol=1e-14)


def test_seq2seq_loss_bad():
    lg, tok = torch.zeros(1, 3, 4), torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="segment_ids"):
        unilm_seq2seq_loss(lg, tok, torch.tensor([[1, 0, 0]]))
    with pytest.raises(ValueError, match="token_ids"):
        unilm_seq2seq_loss(lg, torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="logits"):
        unilm_seq2seq_loss(torch.zeros(3, 4), tok, tok)


def test_contrastive_ideal_value():
    for B, s in [(4, 20.0), (16, 30.0), (64, 5.0)]:
        base = torch.eye(B // 2, dtype=f64) * 3.0
        vecs = base.repeat_interleave(2, 0)  # rows 2k, 2k+1 identical, pairs orthogonal
        out = inbatch_pair_contrastive_loss(vecs, s)
        assert abs(float(out) - math.log1p((B - 2) * math.exp(-s))) < 1e-12


def test_contrastive_brute_force_and_reductions():
    g = torch.Generator().manual_seed(1)
    v = torch.randn(6, 5, generator=g, dtype=f64)
    u = v / v.norm(dim=1, keepdim=True)
    S = 20 * u @ u.T
    ref = torch.stack([torch.logsumexp(torch.cat([S[i, :i], S[i, i + 1:]]), 0) - S[i, i ^ 1]
                       for i in range(6)])
    none = inbatch_pair_contrastive_loss(v, reduction="none")
    assert none.shape == (6,) and torch.allclose(none, ref, atol=1e-12)
    assert torch.allclose(inbatch_pair_contrastive_loss(v, reduction="sum"), ref.sum())
    assert torch.allclose(inbatch_pair_contrastive_loss(v), ref.mean())
    assert float(inbatch_pair_contrastive_loss(torch.randn(2, 3, generator=g))) == 0.0  # B=2
    h = inbatch_pair_contrastive_loss(v.half())
    assert h.dtype == torch.float16 and torch.isfinite(h)
    assert torch.isfinite(inbatch_pair_contrastive_loss(v * 1e30))


def test_contrastive_bad():
    with pytest.raises(ValueError, match="vecs"):
        inbatch_pair_contrastive_loss(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="vecs"):
        inbatch_pair_contrastive_loss(torch.zeros(4))
    with pytest.raises(ValueError, match="reduction"):
        inbatch_pair_contrastive_loss(torch.ones(2, 2), reduction="max")


def test_distill_brute_force_invariance_and_detach():
    g = torch.Generator().manual_seed(2)
    s = torch.randn(5, 4, generator=g, dtype=f64, requires_grad=True)
    t = torch.randn(5, 7, generator=g, dtype=f64, requires_grad=True)
    cos = torch.nn.functional.cosine_similarity
    ref = 100 / 25 * sum((cos(t[i], t[j], 0) - cos(s[i], s[j], 0)) ** 2
                         for i in range(5) for j in range(5))
    out = cosine_matrix_distill_loss(s, t)
    assert torch.allclose(out, ref, atol=1e-12)
    out.backward()
    assert t.grad is None and s.grad is not None
    Q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=f64))
    sd = s.detach()
    assert float(cosine_matrix_distill_loss(sd, sd)) == pytest.approx(0, abs=1e-12)
    rot = cosine_matrix_distill_loss(sd @ Q * torch.rand(5, 1, dtype=f64, generator=g) * 9 + 0, t)
    assert torch.allclose(rot, out.detach(), atol=1e-11)


def test_distill_bad():
    with pytest.raises(ValueError, match="teacher"):
        cosine_matrix_distill_loss(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="student"):
        cosine_matrix_distill_loss(torch.zeros(3), torch.zeros(3, 2))


# -- language ------------------------------------------------------------------------------
def test_language_roundtrip():
    rng = np.random.default_rng(0)
    m = sample_meanings(50, 6, 16, rng)
    assert m.shape == (50, 6) and m.min() >= 0 and m.max() < 16
    w = realize(m, rng, n_synonyms=3, swap_prob=0.5)
    assert (w >= N_SPECIAL).all()
    assert all(is_paraphrase(x, mm, 3) for x, mm in zip(w, m, strict=True))
    assert (np.sort(concepts_of(w, 3), 1) == np.sort(m, 1)).all()
    w0 = realize(m, rng, swap_prob=0.0)
    assert (concepts_of(w0) == m).all()
    assert not is_paraphrase(np.array([4, 6, 8]), np.array([2, 0, 1]))  # a 3-cycle is no swap
    assert concepts_of(np.array([CLS, SEP])).tolist() == [-1, -1]


def test_language_bad():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n"):
        sample_meanings(0, 6, 16, rng)
    with pytest.raises(ValueError, match="rng"):
        sample_meanings(2, 6, 16, 0)
    with pytest.raises(ValueError, match="meanings"):
        realize(np.zeros(3, int), rng)
    with pytest.raises(ValueError, match="swap_prob"):
        realize(np.zeros((1, 3), int), rng, swap_prob=2)
    with pytest.raises(ValueError, match="words"):
        concepts_of(np.zeros(2))
    with pytest.raises(ValueError, match="meaning"):
        is_paraphrase(np.array([4, 5]), np.array([0]))
    with pytest.raises(ValueError, match="b"):
        pack_pairs(np.zeros((2, 3), int), np.zeros((2, 4), int))


def test_pack_pairs():
    tok, seg = pack_pairs(np.array([[5, 6]]), np.array([[7, 8]]))
    assert tok.tolist() == [[CLS, 5, 6, SEP, 7, 8, SEP], [CLS, 7, 8, SEP, 5, 6, SEP]]
    assert seg.tolist() == [[0, 0, 0, 0, 1, 1, 1]] * 2


# -- model ---------------------------------------------------------------------------------
def test_model_no_peek_and_training_smoke():
    model = TinyUniLM(N_SPECIAL + 8, d_model=8, n_heads=2, seed=3).double()
    tok, seg = pack_pairs(np.array([[4, 5, 6]]), np.array([[7, 8, 9]]))
    h1, lg = model(tok, seg)
    tok2 = tok.clone()
    tok2[:, 5] = 10
    h2, _ = model(tok2, seg)
    assert lg.shape == (2, 9, N_SPECIAL + 8)
    assert (h1[:, :5] - h2[:, :5]).abs().max() < 1e-12  # source and earlier target unchanged
    v = sentence_vectors(model, np.array([[4, 5, 6], [7, 8, 9]]))
    assert torch.allclose(v, model.sentence_vector(h1), atol=1e-12)
    hist = train_simbert(model, np.random.default_rng(0), steps=3, pairs=2, length=3,
                         n_concepts=4, scale=5.0)
    assert len(hist) == 3 and all(math.isfinite(x) for x in hist)
    g = generate_greedy(model, np.array([[4, 5, 6]]), 3)
    assert g.shape == (1, 3) and (g >= N_SPECIAL).all()
    with pytest.raises(ValueError, match="d_model"):
        TinyUniLM(10, d_model=6, n_heads=2)
    with pytest.raises(ValueError, match="steps"):
        train_simbert(model, np.random.default_rng(0), steps=0)
    with pytest.raises(ValueError, match="length"):
        generate_greedy(model, np.array([[4]]), 0)


def test_recall_at_k():
    q = torch.tensor([[1.0, 0], [0, 1], [1, 1]])
    keys = torch.tensor([[1.0, 0.1], [1, 0], [1, 1]])
    r1 = recall_at_k(q, keys)
    assert r1.tolist() == [0.0, 0.0, 1.0]  # query 0: key 1 (cos 1) beats key 0
    assert recall_at_k(q, keys, k=3).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="k"):
        recall_at_k(q, keys, k=4)
    with pytest.raises(ValueError, match="keys"):
        recall_at_k(q, keys[:2])
