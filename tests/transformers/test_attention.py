"""Shared attention primitives: masks, softmax attention (against PyTorch's SDPA and a
per-row loop), the log-n factor, empty rows, gradcheck, bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from lib.transformers import self_mask, softmax_attention, window_causal_mask


def test_window_mask_definition():
    n, w = 7, 3
    m = window_causal_mask(n, w)
    for i in range(n):
        for j in range(n):
            assert bool(m[i, j]) == (0 <= i - j < w)
    assert torch.equal(window_causal_mask(n), torch.ones(n, n, dtype=torch.bool).tril())
    assert torch.equal(window_causal_mask(n, n), window_causal_mask(n))
    assert torch.equal(self_mask(4), ~torch.eye(4, dtype=torch.bool))


@pytest.mark.parametrize("mask_kind", ["none", "causal", "window"])
def test_matches_scaled_dot_product_attention(mask_kind):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 9, 5, generator=g, dtype=torch.float64) for _ in range(3))
    mask = {"none": None, "causal": window_causal_mask(9), "window": window_causal_mask(9, 4)}[mask_kind]
    ours = softmax_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(ours, ref, rtol=0, atol=1e-13)
    assert ours.dtype == torch.float64


def test_log_n_factor_row_by_row():
    g = torch.Generator().manual_seed(1)
    n, d, w, base = 12, 4, 5, 8.0
    q, k, v = (torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(3))
    out = softmax_attention(q, k, v, window_causal_mask(n, w), log_n_base=base, scale=0.7)
    for i in range(n):
        js = [j for j in range(n) if 0 <= i - j < w]
        lam = math.log(len(js)) / math.log(base)
        s = torch.tensor([0.7 * lam * float(q[i] @ k[j]) for j in js], dtype=torch.float64)
        p = torch.softmax(s, 0)
        assert torch.allclose(out[i], (p[:, None] * v[js]).sum(0), atol=1e-14)
    # no mask: n_i = n_k for every row
    full = softmax_attention(q, k, v, log_n_base=base)
    ref = F.scaled_dot_product_attention(q, k, v, scale=math.log(n) / math.log(base) / math.sqrt(d))
    assert torch.allclose(full, ref, atol=1e-13)


def test_empty_rows_are_zero_and_extreme_logits_finite():
    q = torch.full((3, 2), 1e4, dtype=torch.float32)
    k = torch.randn(4, 2) * 1e4
    v = torch.randn(4, 3)
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1] = False
    out = softmax_attention(q, k, v, mask)
    assert torch.isfinite(out).all()
    assert torch.equal(out[1], torch.zeros(3))
    assert torch.isfinite(softmax_attention(q.half(), k.half(), v.half(), mask)).all()


def test_gradcheck():
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3))
    m = window_causal_mask(5, 2)
    assert torch.autograd.gradcheck(lambda a, b, c: softmax_attention(a, b, c, m, log_n_base=3.0), (q, k, v))


def test_bad_input():
    x = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="n"):
        window_causal_mask(0)
    with pytest.raises(ValueError, match="w"):
        window_causal_mask(3, 0)
    with pytest.raises(ValueError, match="n"):
        self_mask(0)
    with pytest.raises(ValueError, match="k must have the head size"):
        softmax_attention(x, torch.zeros(4, 2), x)
    with pytest.raises(ValueError, match="v must have"):
        softmax_attention(x, x, torch.zeros(5, 3))
    with pytest.raises(ValueError, match="mask"):
        softmax_attention(x, x, x, torch.ones(4, 4))
    with pytest.raises(ValueError, match="mask"):
        softmax_attention(x, x, x, torch.ones(3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="log_n_base"):
        softmax_attention(x, x, x, log_n_base=1.0)
