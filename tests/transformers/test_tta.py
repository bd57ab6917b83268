"""T-TA (7661): the no-leak properties for any weights, the leaking variant, the Markov-chain
conditionals against brute-force enumeration, the MLM baseline, training, bad input."""

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.transformers import (
    MaskedLMEncoder,
    TTAEncoder,
    conditional_nll,
    influence_matrix,
    markov_conditionals,
    mask_tokens,
    random_markov_chain,
    sample_markov_chain,
    train_conditional_lm,
)

f64 = torch.float64
OFF = ~torch.eye(9, dtype=torch.bool)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is much faster on a shared 2-core machine (as in Chapter)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def random_model(seed, n_layers, kv_source="input", V=11, d=12, heads=3, max_len=16):
    """Every parameter (embeddings, projections, LayerNorm affine, biases) drawn N(0, 1)."""
    torch.manual_seed(seed)
    m = TTAEncoder(V, d, n_layers, heads, max_len, kv_source=kv_source).double().eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(generator=g)
    return m


def tokens9(seed, V=11):
    return torch.randint(0, V, (9,), generator=torch.Generator().manual_seed(100 + seed))


@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_no_leak_sees_others_and_self_without_mask(seed, n_layers):
    m, x = random_model(seed, n_layers), tokens9(seed)
    D = influence_matrix(m, x)
    assert D.dtype == f64 and D.shape == (9, 9)
    assert float(D.diag().max()) <= 1e-12  # position i never sees x_i
    assert float(D[OFF].min()) > 1e-6  # but sees every other token
    assert float(influence_matrix(m, x, mask_self=False).diag().min()) > 1e-6


@pytest.mark.parametrize("seed", [0, 1])
def test_previous_variant_leaks_from_two_layers(seed):
    x = tokens9(seed)
    assert float(influence_matrix(random_model(seed, 1, "previous"), x).diag().max()) <= 1e-12
    for n_layers in (2, 3):
        D = influence_matrix(random_model(seed, n_layers, "previous"), x)
        assert float(D.diag().min()) > 1e-6


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_layers=st.integers(1, 3), T=st.integers(1, 6),
       V=st.integers(2, 6), sigma=st.floats(0.05, 5.0))
def test_no_leak_property_any_weights(seed, n_layers, T, V, sigma):
    torch.manual_seed(seed)
    m = TTAEncoder(V, 8, n_layers, 2, 6).double().eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0.0, sigma, generator=g)
    x = torch.randint(0, V, (T,), generator=g)
    D = influence_matrix(m, x)
    assert torch.isfinite(D).all() and float(D.diag().max()) <= 1e-12


def test_influence_matches_a_direct_swap():
    m, x = random_model(3, 2), tokens9(3)
    D = influence_matrix(m, x)
    base = m(x[None])[0]
    y = x.clone()
    y[4] = (x[4] + 1) % 11
    direct = (m(y[None])[0] - base).abs().amax(-1)  # change at every position i
    assert torch.all(direct <= D[:, 4] + 1e-15)


def test_shapes_dtype_batch_rows_and_T1():
    m = random_model(0, 2)
    x = torch.randint(0, 11, (3, 7), generator=torch.Generator().manual_seed(0))
    out = m(x)
    assert out.shape == (3, 7, 11) and out.dtype == f64
    assert torch.allclose(out[1], m(x[1:2])[0], rtol=0, atol=1e-12)  # rows never mix
    for mask_self in (True, False):
        assert torch.isfinite(m(torch.tensor([[4]]), mask_self=mask_self)).all()
    assert TTAEncoder(5, 8, 1, 2, 4)(torch.tensor([[1, 2]])).dtype == torch.float32


def test_autograd_reaches_every_parameter():
    m = TTAEncoder(7, 8, 2, 2, 6)
    m(torch.tensor([[1, 2, 3, 4]])).sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_tta_bad_input():
    with pytest.raises(ValueError, match="n_heads"):
        TTAEncoder(10, 10, 1, 3, 8)
    with pytest.raises(ValueError, match="kv_source"):
        TTAEncoder(10, 8, 1, 2, 8, kv_source="output")
    with pytest.raises(ValueError, match="n_layers"):
        TTAEncoder(10, 8, 0, 2, 8)
    m = TTAEncoder(10, 8, 1, 2, 5)
    for bad in (torch.zeros(2, 3), torch.tensor([1, 2]), torch.zeros(2, 3, dtype=torch.bool),
                torch.zeros(1, 6, dtype=torch.long), torch.tensor([[0, 10]]), torch.tensor([[-1, 2]]),
                [[1, 2]]):
        with pytest.raises(ValueError, match="tokens"):
            m(bad)
    with pytest.raises(ValueError, match="tokens"):
        influence_matrix(m, torch.tensor([[1, 2]]))


def brute_force_conditionals(P, pi, T):
    """p(x_i = v | rest) by enumerating the joint law of all V^T sequences."""
    V = P.shape[0]
    seqs = torch.tensor(list(itertools.product(range(V), repeat=T)))
    joint = pi[seqs[:, 0]] * torch.prod(P[seqs[:, :-1], seqs[:, 1:]], -1) if T > 1 else pi[seqs[:, 0]]
    table = {tuple(s.tolist()): float(p) for s, p in zip(seqs, joint, strict=True)}
    out = torch.zeros(len(seqs), T, V, dtype=f64)
    for n, s in enumerate(seqs.tolist()):
        for i in range(T):
            w = torch.tensor([table[tuple(s[:i] + [v] + s[i + 1:])] for v in range(V)], dtype=f64)
            out[n, i] = w / w.sum() if w.sum() > 0 else float("nan")
    return seqs, out


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_markov_conditionals_against_enumeration(T):
    g = torch.Generator().manual_seed(T)
    P = torch.rand(3, 3, generator=g, dtype=f64) + 0.05
    P /= P.sum(-1, keepdim=True)
    pi = torch.tensor([0.2, 0.5, 0.3], dtype=f64)
    seqs, ref = brute_force_conditionals(P, pi, T)
    got = markov_conditionals(seqs, P, pi)
    assert got.shape == (3**T, T, 3) and got.dtype == f64
    assert float((got - ref).abs().max()) <= 1e-15
    if T == 1:
        assert torch.allclose(got[0, 0], pi, rtol=0, atol=0)


def test_markov_conditionals_sparse_chain_on_its_support():
    P, pi = random_markov_chain(4, 2, generator=torch.Generator().manual_seed(1))
    seqs, ref = brute_force_conditionals(P, pi, 4)
    ok = ~torch.isnan(ref).any(-1).any(-1)
    assert float((markov_conditionals(seqs[ok], P, pi) - ref[ok]).abs().max()) <= 1e-15


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(2, 8))
def test_markov_conditionals_properties(seed, T):
    g = torch.Generator().manual_seed(seed)
    P, pi = random_markov_chain(5, 5, generator=g)
    x = sample_markov_chain(P, pi, 3, T, generator=g)
    c = markov_conditionals(x, P, pi)
    assert torch.allclose(c.sum(-1), torch.ones(3, T, dtype=f64), rtol=0, atol=1e-14)
    i = int(torch.randint(0, T, (1,), generator=g))
    y = x.clone()
    y[:, i] = (x[:, i] + 1) % 5  # the conditional at i ignores x_i; elsewhere it may change
    assert torch.allclose(markov_conditionals(y, P, pi)[:, i], c[:, i], rtol=0, atol=0)


def test_markov_conditionals_bad_input():
    P = torch.full((3, 3), 1 / 3, dtype=f64)
    pi = torch.full((3,), 1 / 3, dtype=f64)
    x = torch.tensor([[0, 1, 2]])
    with pytest.raises(ValueError, match="P"):
        markov_conditionals(x, P[:, :2], pi)
    with pytest.raises(ValueError, match="P"):
        markov_conditionals(x, P * 1.1, pi)
    with pytest.raises(ValueError, match="pi"):
        markov_conditionals(x, P, pi * 2)
    with pytest.raises(ValueError, match="pi"):
        markov_conditionals(x, P, torch.tensor([1.5, -0.5, 0.0], dtype=f64))
    with pytest.raises(ValueError, match="tokens"):
        markov_conditionals(torch.tensor([[0, 3]]), P, pi)
    with pytest.raises(ValueError, match="tokens"):
        markov_conditionals(torch.tensor([[0.0, 1.0]]), P, pi)
    Pz = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=f64)
    with pytest.raises(ValueError, match="normaliser"):
        markov_conditionals(torch.tensor([[0, 0, 0]]), Pz, pi)  # 0 -> ? -> 0 is impossible


def test_random_chain_and_sampler():
    g = torch.Generator().manual_seed(0)
    P, pi = random_markov_chain(6, 2, generator=g)
    assert torch.allclose(P.sum(-1), torch.ones(6, dtype=f64), rtol=0, atol=1e-15)
    assert torch.equal((P > 0).sum(-1), torch.full((6,), 2))
    x = sample_markov_chain(P, pi, 4000, 6, generator=g)
    assert x.shape == (4000, 6) and x.dtype == torch.long
    assert bool((P[x[:, :-1], x[:, 1:]] > 0).all())  # never an impossible transition
    counts = torch.zeros(6, 6, dtype=f64).index_put_((x[:, :-1].reshape(-1), x[:, 1:].reshape(-1)),
                                                     torch.ones(4000 * 5, dtype=f64), accumulate=True)
    freq = counts / counts.sum(-1, keepdim=True)
    se = (P * (1 - P) / counts.sum(-1, keepdim=True)).sqrt()
    assert bool(((freq - P).abs() <= 5 * se + 1e-12).all())  # 5 binomial standard errors
    with pytest.raises(ValueError, match="k"):
        random_markov_chain(4, 5)
    with pytest.raises(ValueError, match="T"):
        sample_markov_chain(P, pi, 3, 0)


def test_masked_lm_baseline():
    torch.manual_seed(0)
    m = MaskedLMEncoder(7, 8, 2, 2, 6).double()
    t = TTAEncoder(7, 8, 2, 2, 6)
    n_m, n_t = (sum(p.numel() for p in mod.parameters()) for mod in (m, t))
    assert n_m - n_t == 8  # the same size, plus one [MASK] embedding row
    x = torch.tensor([[1, 2, 3, 4, 5]])
    assert m(x).shape == (1, 5, 7)
    assert m(torch.tensor([[7, 2]])).shape == (1, 2, 7)  # mask_id = 7 is accepted
    with pytest.raises(ValueError, match="tokens"):
        m(torch.tensor([[8, 2]]))
    with pytest.raises(ValueError, match="n_heads"):
        MaskedLMEncoder(7, 9, 1, 2, 6)


def test_mask_tokens():
    x = torch.randint(0, 5, (200, 50), generator=torch.Generator().manual_seed(0))
    inp, tgt = mask_tokens(x, 5, 0.15, generator=torch.Generator().manual_seed(1))
    assert torch.equal(inp[tgt], torch.full_like(inp[tgt], 5)) and torch.equal(inp[~tgt], x[~tgt])
    assert abs(float(tgt.double().mean()) - 0.15) <= 5 * (0.15 * 0.85 / 10_000) ** 0.5
    with pytest.raises(ValueError, match="rate"):
        mask_tokens(x, 5, 0.0)


def test_conditional_nll_against_loops():
    torch.manual_seed(0)
    x = torch.randint(0, 6, (2, 5), generator=torch.Generator().manual_seed(0))
    t = TTAEncoder(6, 8, 2, 2, 5).double()
    ref_t = -t(x).log_softmax(-1).gather(-1, x[..., None])[..., 0]
    assert torch.allclose(conditional_nll(t, x), ref_t, rtol=0, atol=1e-14)
    m = MaskedLMEncoder(6, 8, 2, 2, 5).double()
    ref = torch.zeros(2, 5, dtype=f64)
    for i in range(5):  # one [MASK] at a time, one forward each
        y = x.clone()
        y[:, i] = m.mask_id
        ref[:, i] = -m(y).log_softmax(-1)[torch.arange(2), i, x[:, i]]
    assert torch.allclose(conditional_nll(m, x), ref, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="model"):
        conditional_nll(torch.nn.Linear(2, 2), x)


def test_training_lowers_the_loss():
    g = torch.Generator().manual_seed(0)
    P, pi = random_markov_chain(6, 2, generator=g)
    tr, ev = sample_markov_chain(P, pi, 640, 6, generator=g), sample_markov_chain(P, pi, 32, 6, generator=g)
    for cls in (TTAEncoder, MaskedLMEncoder):
        torch.manual_seed(0)
        log = train_conditional_lm(cls(6, 16, 1, 2, 6), tr, ev, steps=40, batch_size=16, lr=1e-2,
                                   eval_every=20, generator=g)
        assert log["step"].tolist() == [0, 20, 40]
        assert float(log["nll"][-1]) < float(log["nll"][0]) - 0.3
        per_step = 16 * 6 if cls is TTAEncoder else None
        if per_step:
            assert log["targets"][-1] == 40 * per_step
    with pytest.raises(ValueError, match="steps"):
        train_conditional_lm(TTAEncoder(6, 8, 1, 2, 6), tr, ev, steps=0, batch_size=4, lr=1e-3, eval_every=1)
    with pytest.raises(ValueError, match="model"):
        train_conditional_lm(torch.nn.Linear(2, 2), tr, ev, steps=1, batch_size=4, lr=1e-3, eval_every=1)
