"""Tests of lib.recipes.ptuning (chapter P-tuning, kexue.fm 8295)."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.recipes import (
    PartialTrainableEmbedding,
    PromptLM,
    SentimentToy,
    cloze_logits,
    cloze_predict,
    fine_tune,
    linear_probe,
    pretrain_lm,
    prompt_concat,
    prompt_tune,
    stop_gradient_rows,
)

torch.set_num_threads(1)


# -- stop_gradient_rows ------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 5), data=st.data())
def test_stop_gradient_rows_value_and_gradient(n, d, data):
    ids = data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n))
    g = torch.Generator().manual_seed(n * 31 + d)
    w = torch.randn(n, d, dtype=torch.float64, generator=g, requires_grad=True)
    c = torch.randn(n, d, dtype=torch.float64, generator=g)
    out = stop_gradient_rows(w, ids)
    assert out.dtype == torch.float64 and torch.equal(out, w)
    (out * c).sum().backward()
    # independent reference: the gradient of sum(w * c) is c on every row; keep the chosen rows
    expected = torch.zeros_like(c)
    expected[sorted(set(ids))] = c[sorted(set(ids))]
    assert torch.equal(w.grad, expected)


def test_stop_gradient_rows_matches_multiply_add_form_and_is_exact_for_inf():
    w = torch.randn(6, 3, requires_grad=True)
    m = torch.zeros(6, 1)
    m[[1, 4]] = 1
    ref = w * m + w.detach() * (1 - m)
    out = stop_gradient_rows(w, torch.tensor([1, 4]))
    assert torch.equal(out, ref)
    big = torch.tensor([[float("inf"), -1e308], [3.0, float("-inf")]], dtype=torch.float64)
    assert torch.equal(stop_gradient_rows(big, [1]), big)
    assert stop_gradient_rows(torch.ones(3, 2, dtype=torch.float16), [0]).dtype == torch.float16


def test_stop_gradient_rows_bad_input():
    with pytest.raises(ValueError, match="weight"):
        stop_gradient_rows(torch.ones(3), [0])
    with pytest.raises(ValueError, match="trainable_ids"):
        stop_gradient_rows(torch.ones(3, 2), [3])
    with pytest.raises(ValueError, match="trainable_ids"):
        stop_gradient_rows(torch.ones(3, 2), [-1])
    with pytest.raises(ValueError, match="trainable_ids"):
        stop_gradient_rows(torch.ones(3, 2), [0.5])


# -- PartialTrainableEmbedding ----------------------------------------------------------
def test_partial_embedding_one_parameter_and_optimisers():
    torch.manual_seed(0)
    emb = PartialTrainableEmbedding(10, 4, [2, 5])
    assert [n for n, _ in emb.named_parameters()] == ["weight"]
    assert emb.weight.shape == (10, 4)
    ids = torch.tensor([[0, 2, 5, 9], [5, 5, 1, 3]])
    assert emb(ids).shape == (2, 4, 4)
    assert torch.equal(emb(ids), emb.weight[ids])
    w0 = emb.weight.detach().clone()
    opt = torch.optim.Adam(emb.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        emb(ids).pow(2).sum().backward()
        opt.step()
    frozen = [0, 1, 3, 4, 6, 7, 8, 9]
    assert torch.equal(emb.weight[frozen], w0[frozen])
    assert not torch.equal(emb.weight[[2, 5]], w0[[2, 5]])
    # AdamW: decoupled decay multiplies frozen rows by (1 - lr * wd) each step
    emb2 = PartialTrainableEmbedding(10, 4, [2, 5])
    w1 = emb2.weight.detach().clone()
    opt = torch.optim.AdamW(emb2.parameters(), lr=0.1, weight_decay=0.5)
    opt.zero_grad()
    emb2(ids).sum().backward()
    opt.step()
    assert torch.allclose(emb2.weight[frozen], w1[frozen] * 0.95, rtol=1e-6, atol=0)


def test_partial_embedding_bad_input():
    with pytest.raises(ValueError, match="trainable_ids"):
        PartialTrainableEmbedding(5, 2, [5])
    with pytest.raises(ValueError, match="num_embeddings"):
        PartialTrainableEmbedding(0, 2, [])
    emb = PartialTrainableEmbedding(5, 2, [1])
    with pytest.raises(ValueError, match="ids"):
        emb(torch.tensor([7]))
    with pytest.raises(ValueError, match="ids"):
        emb(torch.tensor([1.0]))


# -- prompt_concat -----------------------------------------------------------------------
def test_prompt_concat_shapes_values_and_gradients():
    p = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    e = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    out = prompt_concat(p, e)
    assert out.shape == (2, 8, 4) and out.dtype == torch.float64
    assert torch.equal(out[1, :3], p) and torch.equal(out[0, 3:], e[0])
    suf = prompt_concat(p, e, where="suffix")
    assert torch.equal(suf[1, 5:], p) and torch.equal(suf[:, :5], e)
    out.sum().backward()
    assert torch.equal(p.grad, torch.full_like(p, 2.0)) and torch.equal(e.grad, torch.ones_like(e))
    pb = torch.randn(2, 1, 4, dtype=torch.float64)
    assert torch.equal(prompt_concat(pb, e)[:, :1], pb)


def test_prompt_concat_bad_input():
    e = torch.randn(2, 5, 4)
    with pytest.raises(ValueError, match="where"):
        prompt_concat(torch.randn(3, 4), e, where="infix")
    with pytest.raises(ValueError, match="embeds"):
        prompt_concat(torch.randn(3, 4), torch.randn(5, 4))
    with pytest.raises(ValueError, match="d="):
        prompt_concat(torch.randn(3, 3), e)
    with pytest.raises(ValueError, match="batch"):
        prompt_concat(torch.randn(3, 3, 4), e)


# -- the toy world -----------------------------------------------------------------------
def test_sentiment_toy_labels_follow_the_rules():
    toy = SentimentToy(noise=0.0)
    pos, neg, top_a, top_b, neu = toy._pools()
    ids, lab, dot = toy.sample(500, np.random.default_rng(0))
    assert ids.dtype == torch.long and ids.shape[0] == 500
    assert (ids[:, 0] == toy.BOS).all() and (ids[torch.arange(500), dot] == toy.DOT).all()
    for row, y, d in zip(ids.numpy(), lab.numpy(), dot.numpy(), strict=True):
        words = row[2:d]
        s = np.isin(words, pos).sum() - np.isin(words, neg).sum()
        t = np.isin(words, top_a).sum() - np.isin(words, top_b).sum()
        assert y == (s > 0) and abs(s) in (1, 3) and abs(t) in (1, 3)
        want = (t > 0) if row[1] == toy.TOPIC else (s > 0)
        assert row[d + 1] == (toy.GOOD if want else toy.BAD)
        assert set(words) <= set(range(7 + toy.n_unused, toy.vocab_size))
    ids, lab, dot = toy.sample(300, np.random.default_rng(1), task="downstream")
    h = toy.n_domain // 2
    for row, y, d in zip(ids.numpy(), lab.numpy(), dot.numpy(), strict=True):
        words = row[1:d]
        s = np.isin(words, np.r_[pos, neu[:h]]).sum() - np.isin(words, np.r_[neg, neu[h:2 * h]]).sum()
        assert y == (s > 0) and toy.DOT == row[d] and (row[d + 1:] == toy.PAD).all()


def test_sentiment_toy_bad_input():
    toy = SentimentToy()
    with pytest.raises(ValueError, match="n"):
        toy.sample(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        toy.sample(3, 0)
    with pytest.raises(ValueError, match="task"):
        toy.sample(3, np.random.default_rng(0), task="other")


def test_tiny_lm_is_causal_and_validates():
    torch.manual_seed(0)
    lm = PromptLM(20, d=8, layers=2, heads=2)
    ids = torch.randint(0, 20, (3, 7))
    logits, h = lm(ids)
    assert logits.shape == (3, 7, 20) and h.shape == (3, 7, 8)
    ids2 = ids.clone()
    ids2[:, 5:] = (ids2[:, 5:] + 1) % 20
    assert torch.allclose(lm(ids2)[0][:, :5], logits[:, :5], atol=1e-6)
    assert not torch.allclose(lm(ids2)[0][:, 5:], logits[:, 5:])
    with pytest.raises(ValueError, match="ids"):
        lm(torch.tensor([[25]]))
    with pytest.raises(ValueError, match="d="):
        PromptLM(20, d=9, heads=2)
    with pytest.raises(ValueError, match="vocab_size"):
        PromptLM(1)


def test_cloze_logits_and_bad_input():
    logits = torch.arange(2 * 3 * 5, dtype=torch.float64).reshape(2, 3, 5)
    out = cloze_logits(logits, torch.tensor([2, 0]), [4, 1])
    assert torch.equal(out, torch.tensor([[14.0, 11.0], [19.0, 16.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="positions"):
        cloze_logits(logits, torch.tensor([3, 0]), [4, 1])
    with pytest.raises(ValueError, match="positions"):
        cloze_logits(logits, torch.tensor([0]), [4, 1])
    with pytest.raises(ValueError, match="label_ids"):
        cloze_logits(logits, torch.tensor([0, 0]), [5, 1])
    with pytest.raises(ValueError, match="label_ids"):
        cloze_logits(logits, torch.tensor([0, 0]), [1])
    with pytest.raises(ValueError, match="logits"):
        cloze_logits(logits[0], torch.tensor([0, 0]), [1, 2])


@pytest.fixture(scope="module")
def small_world():
    toy = SentimentToy()
    torch.manual_seed(0)
    lm = PromptLM(toy.vocab_size, d=16, layers=1, heads=2)
    losses = pretrain_lm(lm, toy, np.random.default_rng(0), steps=30, batch=16)
    return toy, lm, losses


def test_pretrain_lowers_the_loss(small_world):
    _, _, losses = small_world
    assert len(losses) == 30 and np.mean(losses[-5:]) < np.mean(losses[:5])
    with pytest.raises(ValueError, match="steps"):
        pretrain_lm(small_world[1], small_world[0], np.random.default_rng(0), steps=0)


def test_prompt_tune_changes_only_prompt_rows(small_world):
    toy, lm, _ = small_world
    x, y, d = toy.sample(40, np.random.default_rng(1), task="downstream")
    m = copy.deepcopy(lm)
    prompt_tune(m, toy, x, y, d, n_prompt=3, steps=5, rng=np.random.default_rng(2))
    before, after = lm.state_dict(), m.state_dict()
    for k in before:
        if k != "embed.weight":
            assert torch.equal(before[k], after[k]), k
    rows = toy.unused_ids[:3]
    other = [r for r in range(toy.vocab_size) if r not in rows]
    assert torch.equal(before["embed.weight"][other], after["embed.weight"][other])
    assert not torch.equal(before["embed.weight"][rows], after["embed.weight"][rows])
    assert all(p.requires_grad for p in m.parameters())
    assert cloze_predict(m, toy, x, d, 3).shape == (40,)
    with pytest.raises(ValueError, match="n_prompt"):
        prompt_tune(m, toy, x, y, d, n_prompt=toy.n_unused + 1)
    with pytest.raises(ValueError, match="rng"):
        prompt_tune(m, toy, x, y, d, batch=8, rng=None)
    with pytest.raises(ValueError, match="labels"):
        prompt_tune(m, toy, x, y[:3], d, rng=np.random.default_rng(0))


def test_fine_tune_changes_everything_and_fits(small_world):
    toy, lm, _ = small_world
    x, y, d = toy.sample(16, np.random.default_rng(3), task="downstream")
    m = copy.deepcopy(lm)
    fine_tune(m, toy, x, y, d, steps=60, lr=1e-2)
    assert not torch.equal(m.blocks[0]["qkv"].weight, lm.blocks[0]["qkv"].weight)
    assert (cloze_predict(m, toy, x, d, 4) == y).float().mean() >= 0.9  # memorises 16 examples
    with pytest.raises(ValueError, match="lr"):
        fine_tune(m, toy, x, y, d, lr=0.0)


def test_linear_probe_separable_data_and_bad_input():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(200, 5)))
    w = torch.tensor([1.0, -2.0, 0.5, 0.0, 1.0], dtype=torch.float64)
    y = (x @ w > 0).long()
    pred = linear_probe(x[:100], y[:100], x[100:], weight_decay=0.0, steps=300)
    assert (pred == y[100:]).float().mean() >= 0.93
    with pytest.raises(ValueError, match="train_y"):
        linear_probe(x, y[:5], x)
    with pytest.raises(ValueError, match="test_x"):
        linear_probe(x, y, x[:, :3])
    with pytest.raises(ValueError, match="weight_decay"):
        linear_probe(x, y, x, weight_decay=-1)
