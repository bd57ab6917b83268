"""Tests of lib.recipes.wobert (chapter recipes/wobert, kexue.fm 7758)."""

import functools
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.recipes import fmm_segment, init_word_embeddings, pretokenize, transformer_flops

WORDS = {"中国", "中国人", "人民", "银行", "北京", "北京大学", "大学", "学生"}
ALPHABET = "中国人民银行北京大学生的了 a"


# -- fmm_segment ---------------------------------------------------------------------------
def test_fmm_known_examples():
    assert fmm_segment("中国人民银行", WORDS) == ["中国人", "民", "银行"]
    assert fmm_segment("北京大学生", WORDS) == ["北京大学", "生"]
    assert fmm_segment("北京大学生", WORDS, max_len=2) == ["北京", "大学", "生"]
    assert fmm_segment("", WORDS) == []
    assert fmm_segment("的了", set()) == ["的", "了"]


def test_fmm_keeps_whitespace_and_default_max_len():
    assert fmm_segment("中国 人民", WORDS) == ["中国", " ", "人民"]
    # max_len = 1 turns matching off; words of length 1 are never needed
    assert fmm_segment("中国", WORDS, max_len=1) == ["中", "国"]
    # container that supports `in` and iteration: a list
    assert fmm_segment("北京大学", ["北京", "大学"]) == ["北京", "大学"]


def _brute_fmm(text, words, max_len):
    """Reference written differently: try every cut from the right, recursively."""
    if not text:
        return []
    for L in range(min(max_len, len(text)), 0, -1):
        if L == 1 or text[:L] in words:
            return [text[:L]] + _brute_fmm(text[L:], words, max_len)
    raise AssertionError


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=30), st.integers(1, 5))
def test_fmm_round_trip_and_greedy(text, max_len):
    out = fmm_segment(text, WORDS, max_len=max_len)
    assert "".join(out) == text
    assert all(len(p) == 1 or (p in WORDS and len(p) <= max_len) for p in out)
    assert out == _brute_fmm(text, WORDS, max_len)


def test_fmm_bad_input():
    with pytest.raises(ValueError, match="text"):
        fmm_segment(["中国"], WORDS)
    with pytest.raises(ValueError, match="max_len"):
        fmm_segment("中国", WORDS, max_len=0)
    with pytest.raises(ValueError, match="max_len"):
        fmm_segment("中国", WORDS, max_len=2.5)


# -- pretokenize ---------------------------------------------------------------------------
VOCAB = {"中国", "人民", "银行", "中", "国", "人", "民", "银", "行", "大", "学"}


def test_pretokenize_keep_split_unk():
    seg = functools.partial(fmm_segment, words=WORDS)
    # "中国人" is a segment but not in VOCAB: split into characters, all known
    assert pretokenize("中国人民银行", VOCAB, seg) == ["中", "国", "人", "民", "银行"]
    # "北京" unknown word with unknown characters -> [UNK] each; "大学" split
    assert pretokenize("北京大学", VOCAB, seg) == ["[UNK]", "[UNK]", "大", "学"]
    assert pretokenize("北京", VOCAB, seg, unk_token="<unk>") == ["<unk>", "<unk>"]


def test_pretokenize_whitespace_and_char_fallback():
    seg = functools.partial(fmm_segment, words=WORDS)
    assert pretokenize(" 中国  人民 ", VOCAB, seg) == ["中国", "人民"]
    # a segmenter that returns a piece with inner whitespace: spaces dropped on the split
    assert pretokenize("x", VOCAB, lambda s: ["中 国", "", "  "]) == ["中", "国"]
    # BERT's stock behaviour (one piece per character) ignores the words in the vocabulary
    assert pretokenize("中国人民", VOCAB, list) == ["中", "国", "人", "民"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="中国人民银行大学", max_size=30))
def test_pretokenize_round_trip_when_all_chars_known(text):
    seg = functools.partial(fmm_segment, words=WORDS)
    out = pretokenize(text, VOCAB, seg)
    assert "".join(out) == text
    assert len(out) <= len(text)


def test_pretokenize_bad_input():
    with pytest.raises(ValueError, match="text"):
        pretokenize(None, VOCAB, list)
    with pytest.raises(ValueError, match="segment"):
        pretokenize("中国", VOCAB, "not callable")
    with pytest.raises(ValueError, match="segment"):
        pretokenize("中国", VOCAB, lambda s: [1, 2])
    with pytest.raises(ValueError, match="unk_token"):
        pretokenize("中国", VOCAB, list, unk_token=None)


# -- init_word_embeddings ------------------------------------------------------------------
def test_init_mean_with_multiplicity_exact():
    emb = torch.tensor([[1.0, 0.0], [0.0, 3.0], [5.0, 7.0]], dtype=torch.float64)
    cv = {"一": 0, "二": 1, "三": 2}
    out = init_word_embeddings(emb, cv, ["一一二", "三", "二三"])
    want = [[Fraction(2, 3), Fraction(1, 1)], [5, 7], [Fraction(5, 2), 5]]
    assert out.dtype == torch.float64 and out.shape == (3, 2)
    assert out.tolist() == [[float(v) for v in row] for row in want]


def test_init_dtype_device_no_mutation_and_empty():
    emb = torch.randn(5, 4, dtype=torch.float32)
    before = emb.clone()
    cv = {c: i for i, c in enumerate("abcde")}
    out = init_word_embeddings(emb, cv, ["ab", "e"])
    assert out.dtype == torch.float32 and out.device == emb.device
    assert torch.equal(emb, before)
    torch.testing.assert_close(out[0], (emb[0] + emb[1]) / 2)
    assert init_word_embeddings(emb, cv, []).shape == (0, 4)


def test_init_large_values_finite():
    emb = torch.full((2, 3), 1e307, dtype=torch.float64)
    out = init_word_embeddings(emb, {"a": 0, "b": 1}, ["ab"])
    # the sum of two 1e307 would be 2e307 < max float64: finite, exact mean
    assert torch.isfinite(out).all() and out[0, 0].item() == 1e307


def test_init_bad_input():
    cv = {"a": 0}
    with pytest.raises(ValueError, match="char_emb"):
        init_word_embeddings(torch.zeros(3), cv, ["a"])
    with pytest.raises(ValueError, match="char_emb"):
        init_word_embeddings(torch.zeros(3, 2, dtype=torch.long), cv, ["a"])
    with pytest.raises(ValueError, match="words"):
        init_word_embeddings(torch.zeros(3, 2), cv, ["a", ""])
    with pytest.raises(ValueError, match="words"):
        init_word_embeddings(torch.zeros(3, 2), cv, "a")
    with pytest.raises(ValueError, match="char_vocab"):
        init_word_embeddings(torch.zeros(3, 2), cv, ["ab"])
    with pytest.raises(ValueError, match="char_vocab"):
        init_word_embeddings(torch.zeros(3, 2), {"a": 7}, ["a"])


# -- transformer_flops ---------------------------------------------------------------------
def test_flops_exact_integer_and_bert_base():
    assert transformer_flops(1, 1) == 28
    v = transformer_flops(512, 768, 12)
    assert isinstance(v, int)
    # BERT-base at 512 tokens: 12 * (24*512*768^2 + 4*512^2*768), counted by hand
    assert v == 12 * (24 * 512 * 589824 + 4 * 262144 * 768)
    assert transformer_flops(0, 768) == 0


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1e4), st.floats(1, 4096), st.integers(1, 48))
def test_flops_matrix_count_law(n, h, layers):
    # per layer: 6 h x h matmuls' worth of projections + FFN (4h^2 + 8h^2 MACs) and 2 n x n x h
    macs = n * (4 * h * h + 2 * 4 * h * h) + 2 * n * n * h
    assert transformer_flops(n, h, layers) == pytest.approx(2 * layers * macs, rel=1e-12)


def test_flops_bad_input():
    with pytest.raises(ValueError, match="n"):
        transformer_flops(-1, 768)
    with pytest.raises(ValueError, match="h"):
        transformer_flops(10, 0)
    with pytest.raises(ValueError, match="layers"):
        transformer_flops(10, 768, 0)
    with pytest.raises(ValueError, match="n"):
        transformer_flops(float("nan"), 768)
