"""DeepNet (8978): constants against closed forms, deepnorm against F.layer_norm (gradcheck,
extreme inputs), the magnitude probe against a numerical minimiser and finite differences,
the init rule, the toy helpers, bad input."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from torch import nn

from lib.transformers import (
    PostLNStack,
    deepnorm,
    deepnorm_constants,
    depth_sweep,
    gain_law,
    init_deepnorm_,
    magnitude_decompose,
    one_step_update,
    sublayer_gain_grads,
)

f64 = torch.float64


# -- deepnorm_constants ---------------------------------------------------------------------
@pytest.mark.parametrize("N", [1, 6, 18, 100, 1000])
def test_constants_table(N):
    s = 2 * N
    table = {
        ("post", "sgd"): (s**0.25, s**-0.25),
        ("post", "adam"): (s**0.5, s**-0.5),
        ("post", "lamb"): (1.0, s**-0.5),
        ("pre", "sgd"): (1.0, s**-0.5),
        ("pre", "adam"): (1.0, 1 / s),
        ("pre", "lamb"): (1.0, s**-0.5),
    }
    for (norm, opt), (a, lam) in table.items():
        got = deepnorm_constants(N, optimizer=opt, norm=norm)
        assert got == pytest.approx((a, lam), rel=1e-15)
        assert all(isinstance(v, float) for v in got)
    a, b = deepnorm_constants(N, source="paper")
    assert (a, b) == pytest.approx(((2 * N) ** 0.25, (8 * N) ** -0.25), rel=1e-15)
    # the paper's ratio is 1/sqrt(4N); Su's is 1/sqrt(2N): a factor sqrt(2) apart
    assert b / a == pytest.approx(1 / math.sqrt(4 * N), rel=1e-14)
    su_a, su_l = deepnorm_constants(N)
    assert (su_l / su_a) / (b / a) == pytest.approx(math.sqrt(2), rel=1e-14)


@given(st.integers(1, 10**6), st.sampled_from(["sgd", "adam", "lamb"]))
def test_constants_conditions(N, opt):
    a, lam = deepnorm_constants(N, optimizer=opt)
    cond = {"sgd": lam / a * math.sqrt(2 * N), "adam": lam / a * 2 * N, "lamb": lam**2 / a * 2 * N}
    assert cond[opt] == pytest.approx(1.0, rel=1e-12)
    _, lam_pre = deepnorm_constants(N, optimizer=opt, norm="pre")
    cond_pre = {"sgd": lam_pre * math.sqrt(2 * N), "adam": lam_pre * 2 * N,
                "lamb": lam_pre**2 * 2 * N}
    assert cond_pre[opt] == pytest.approx(1.0, rel=1e-12)


def test_constants_bad_input():
    for bad in (0, -3, 2.5, True, "4"):
        with pytest.raises(ValueError, match="N"):
            deepnorm_constants(bad)
    with pytest.raises(ValueError, match="optimizer"):
        deepnorm_constants(4, optimizer="rmsprop")
    with pytest.raises(ValueError, match="norm"):
        deepnorm_constants(4, norm="sandwich")
    with pytest.raises(ValueError, match="source"):
        deepnorm_constants(4, source="blog")
    with pytest.raises(ValueError, match="optimizer"):
        deepnorm_constants(4, optimizer="adam", source="paper")
    with pytest.raises(ValueError, match="norm"):
        deepnorm_constants(4, norm="pre", source="paper")


# -- deepnorm -------------------------------------------------------------------------------
def test_deepnorm_matches_layer_norm():
    g = torch.Generator().manual_seed(0)
    x, fx = torch.randn(3, 5, 16, generator=g, dtype=f64), torch.randn(3, 5, 16, generator=g, dtype=f64)
    for alpha in (0.3, 1.0, 7.5):
        for eps in (0.0, 1e-5, 0.1):
            ref = F.layer_norm(alpha * x + fx, (16,), eps=eps)
            out = deepnorm(x, fx, alpha, eps=eps)
            assert out.dtype == f64 and out.shape == x.shape
            assert torch.allclose(out, ref, rtol=0, atol=1e-13)
        # scale invariance with eps rescaled: LN_eps(a y) = LN_{eps/a^2}(y)
        ref2 = F.layer_norm(x + fx / alpha, (16,), eps=1e-5 / alpha**2)
        assert torch.allclose(deepnorm(x, fx, alpha, eps=1e-5), ref2, rtol=0, atol=1e-13)


def test_deepnorm_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, generator=g, dtype=f64, requires_grad=True)
    fx = torch.randn(2, 6, generator=g, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: deepnorm(a, b, 2.5, eps=1e-3), (x, fx))
    assert torch.autograd.gradcheck(lambda a, b: deepnorm(a, b, 0.7, eps=0.0), (x, fx))
    assert torch.autograd.gradgradcheck(lambda a, b: deepnorm(a, b, 1.3), (x, fx))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, f64])
def test_deepnorm_extreme_inputs(dtype):
    big = torch.finfo(dtype).max / 4
    x = torch.tensor([[big, -big, 0.0, big / 2]], dtype=dtype)
    out = deepnorm(x, torch.zeros_like(x), 1.0)
    assert out.dtype == dtype and torch.isfinite(out).all()
    ref = F.layer_norm(torch.tensor([[1.0, -1.0, 0.0, 0.5]], dtype=f64), (4,), eps=0.0)
    assert torch.allclose(out.double(), ref, atol=1e-2)
    tiny = torch.full((2, 3), torch.finfo(dtype).tiny, dtype=dtype)
    tiny[0, 0] *= 2
    assert torch.isfinite(deepnorm(tiny, torch.zeros_like(tiny), 3.0, eps=0.0)).all()
    const = torch.ones(2, 4, dtype=dtype)  # zero variance, eps = 0: zeros, not NaN
    assert torch.equal(deepnorm(const, const, 2.0, eps=0.0), torch.zeros_like(const))


def test_deepnorm_bad_input():
    x = torch.randn(2, 4)
    with pytest.raises(ValueError, match="alpha"):
        deepnorm(x, x, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        deepnorm(x, x, -1.0)
    with pytest.raises(ValueError, match="fx"):
        deepnorm(x, torch.randn(2, 5), 1.0)
    with pytest.raises(ValueError, match="eps"):
        deepnorm(x, x, 1.0, eps=-1e-5)
    with pytest.raises(ValueError, match="x"):
        deepnorm(torch.tensor([[float("nan"), 1.0]]), torch.zeros(1, 2), 1.0)
    with pytest.raises(ValueError, match="x"):
        deepnorm(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3), 1.0)


# -- magnitude_decompose --------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 5), (3, 8), (9, 2)])
def test_magnitude_matches_numerical_minimiser(shape):
    g = torch.Generator().manual_seed(2)
    W = torch.randn(*shape, generator=g, dtype=f64) * 0.3
    lam, U = magnitude_decompose(W)
    assert lam.dim() == 0 and lam > 0 and lam.dtype == f64
    assert torch.allclose(lam * U, W, rtol=1e-15, atol=0)
    A = (W @ W.T).numpy()
    eye = torch.eye(shape[0], dtype=f64).numpy()
    res = minimize_scalar(lambda k: ((A / k**2 - eye) ** 2).sum(), bounds=(1e-3, 10),
                          method="bounded", options={"xatol": 1e-12})
    assert abs(res.x - float(lam)) <= 1e-6 * float(lam)


def test_magnitude_exact_cases():
    Q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=f64, generator=torch.Generator().manual_seed(3)))
    lam, U = magnitude_decompose(2.5 * Q)  # a scaled orthogonal matrix: lam is the scale
    assert abs(float(lam) - 2.5) < 1e-14
    assert torch.allclose(U @ U.T, torch.eye(6, dtype=f64), atol=1e-14)
    lam2, _ = magnitude_decompose(torch.diag(torch.tensor([1.0, 3.0], dtype=f64)))
    assert abs(float(lam2) ** 2 - 8.2) < 1e-14  # A = diag(1, 9): tr(A^2)/tr(A) = 82/10


def test_magnitude_closed_form_and_transpose():
    W = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]], dtype=f64)
    lam, _ = magnitude_decompose(W)
    A = W @ W.T
    assert float(lam) ** 2 == pytest.approx(float((A @ A).trace() / A.trace()), rel=1e-15)
    assert float(magnitude_decompose(W.T)[0]) == pytest.approx(float(lam), rel=1e-15)


def test_magnitude_probe_gradient():
    g = torch.Generator().manual_seed(4)
    W0 = torch.randn(4, 3, generator=g, dtype=f64)
    lam, U = magnitude_decompose(W0)
    U = U.detach()
    x = torch.randn(7, 4, generator=g, dtype=f64)

    def loss(W):
        return torch.tanh(x @ W).pow(3).sum()

    W = W0.clone().requires_grad_(True)
    (G,) = torch.autograd.grad(loss(W), W)
    lt = lam.detach().clone().requires_grad_(True)
    (dl,) = torch.autograd.grad(loss(lt * U), lt)
    assert float(dl) == pytest.approx(float((G * U).sum()), rel=1e-12)
    h = 1e-5
    fd = (loss((lam + h) * U) - loss((lam - h) * U)) / (2 * h)
    assert float(fd) == pytest.approx(float(dl), rel=1e-7)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_magnitude_extreme_scale(scale):
    W = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=f64)
    lam1, U1 = magnitude_decompose(W)
    lam, U = magnitude_decompose(W * scale)
    assert torch.isfinite(lam) and float(lam) == pytest.approx(float(lam1) * scale, rel=1e-14)
    assert torch.allclose(U, U1, rtol=1e-14)
    lam16, U16 = magnitude_decompose(torch.full((3, 3), 1e4, dtype=torch.float16))
    assert lam16.dtype == torch.float16 and float(lam16) == pytest.approx(3e4, rel=1e-3)
    assert torch.isfinite(U16).all()


def test_magnitude_bad_input():
    with pytest.raises(ValueError, match="W"):
        magnitude_decompose(torch.randn(3))
    with pytest.raises(ValueError, match="W"):
        magnitude_decompose(torch.randn(2, 2, 2))
    with pytest.raises(ValueError, match="W"):
        magnitude_decompose(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="W"):
        magnitude_decompose(torch.tensor([[1.0, float("inf")]]))


# -- init_deepnorm_ --------------------------------------------------------------------------
class _Layer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.self_attn = nn.ModuleDict({k: nn.Linear(d, d) for k in ("q_proj", "k_proj", "v_proj", "out_proj")})
        self.ffn = nn.ModuleDict({"fc1": nn.Linear(d, 4 * d), "fc2": nn.Linear(4 * d, d)})
        self.norm = nn.LayerNorm(d)


def test_init_gains_and_biases():
    d, beta = 64, 0.2
    layer = _Layer(d)
    with torch.no_grad():
        layer.norm.weight.fill_(3.0)
    out = init_deepnorm_(layer, beta, generator=torch.Generator().manual_seed(5))
    assert out is layer
    assert torch.equal(layer.norm.weight, torch.full((d,), 3.0))  # other modules untouched
    for name, mod in layer.named_modules():
        if isinstance(mod, nn.Linear):
            gain = beta if any(s in name for s in ("fc1", "fc2", "v_proj", "out_proj")) else 1.0
            std = gain * math.sqrt(2 / (mod.in_features + mod.out_features))
            n = mod.weight.numel()
            # sample std of n Gaussian draws: relative SE ~ 1/sqrt(2n); 5 SE allowed
            assert abs(float(mod.weight.detach().std()) / std - 1) < 5 / math.sqrt(2 * n)
            assert torch.equal(mod.bias, torch.zeros_like(mod.bias))


def test_init_reproducible_and_bad_input():
    a = init_deepnorm_(_Layer(8), 0.5, generator=torch.Generator().manual_seed(6))
    b = init_deepnorm_(_Layer(8), 0.5, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a.ffn["fc1"].weight, b.ffn["fc1"].weight)
    with pytest.raises(ValueError, match="beta"):
        init_deepnorm_(_Layer(4), 0.0)
    with pytest.raises(ValueError, match="beta"):
        init_deepnorm_(_Layer(4), -1.0)
    with pytest.raises(ValueError, match="module"):
        init_deepnorm_(torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="names"):
        init_deepnorm_(_Layer(4), 0.5, names="fc1")
    with pytest.raises(ValueError, match="generator"):
        init_deepnorm_(_Layer(4), 0.5, generator=0)


# -- the chapter's toys -------------------------------------------------------------------------
def _mats(kind, d, g):
    shapes = {"1": (d, 2 * d), "2": (2 * d, d)} if kind == "ffn" else {k: (d, d) for k in "qkvo"}
    return {k: magnitude_decompose(torch.randn(*s, generator=g, dtype=f64))[1] for k, s in shapes.items()}


@pytest.mark.parametrize("kind", ["ffn", "attn"])
def test_gain_grads_match_finite_differences(kind):
    g = torch.Generator().manual_seed(7)
    d, B, T = 6, 3, 4
    mats = _mats(kind, d, g)
    x, y = torch.randn(B, T, d, generator=g, dtype=f64), torch.randn(B, T, generator=g, dtype=f64)
    r = torch.randn(d, generator=g, dtype=f64)
    lam, alpha = 0.3, 2.0
    grads = sublayer_gain_grads(x, y, r, mats, lam, alpha, kind=kind)
    # independent route: perturb one gain (its matrix) for all samples, per-sample losses
    from lib.transformers import softmax_attention

    def per_sample_loss(m):
        if kind == "ffn":
            br = torch.relu(x @ m["1"]) @ m["2"]
        else:
            br = softmax_attention(x @ m["q"], x @ m["k"], x @ m["v"]) @ m["o"]
        z = F.layer_norm(alpha * x + br, (d,), eps=0.0)
        return 0.5 * ((z @ r - y) ** 2).sum(-1)

    h = 1e-6
    for k in grads:
        up = {j: (lam + (h if j == k else 0)) * M for j, M in mats.items()}
        dn = {j: (lam - (h if j == k else 0)) * M for j, M in mats.items()}
        fd = (per_sample_loss(up) - per_sample_loss(dn)) / (2 * h)
        assert torch.allclose(grads[k], fd, rtol=1e-6, atol=1e-9)


def test_gain_grads_bad_input():
    x, y, r = torch.randn(2, 3, 4, dtype=f64), torch.randn(2, 3, dtype=f64), torch.randn(4, dtype=f64)
    mats = _mats("ffn", 4, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="kind"):
        sublayer_gain_grads(x, y, r, mats, 0.1, 1.0, kind="rnn")
    with pytest.raises(ValueError, match="mats"):
        sublayer_gain_grads(x, y, r, mats, 0.1, 1.0, kind="attn")
    with pytest.raises(ValueError, match="lam"):
        sublayer_gain_grads(x, y, r, mats, 0.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        sublayer_gain_grads(x, y, r, mats, 0.1, -1.0)
    with pytest.raises(ValueError, match="y"):
        sublayer_gain_grads(x, y[:, :2], r, mats, 0.1, 1.0)


def test_stack_models_are_independent():
    g = torch.Generator().manual_seed(8)
    stack = PostLNStack(4, 3, 1.5, 0.5, d_ff=8, n_models=2, generator=g)
    x = torch.randn(2, 5, 4, generator=g, dtype=f64)
    out = stack(x)
    single = PostLNStack(4, 3, 1.5, 0.5, d_ff=8, n_models=1)
    with torch.no_grad():
        single.W1.copy_(stack.W1[:, 1:])
        single.W2.copy_(stack.W2[:, 1:])
    assert torch.allclose(single(x[1:]), out[1:], atol=1e-14)
    with pytest.raises(ValueError, match="n_sub"):
        PostLNStack(4, 0, 1.0)
    with pytest.raises(ValueError, match="lam"):
        PostLNStack(4, 2, 1.0, 0.0)


@settings(deadline=None, max_examples=10)
@given(st.sampled_from(["sgd", "adam"]), st.integers(1, 4))
def test_one_step_first_order(opt, n_sub):
    lr = 1e-6
    out = one_step_update(n_sub, 1.0, 1.0, optimizer=opt, lr=lr, n_models=3, d=4, batch=5,
                          generator=torch.Generator().manual_seed(n_sub))
    assert all(v.shape == (3,) for v in out.values())
    # for a tiny step the loss change is the first-order prediction (second order ~ lr)
    assert torch.allclose(out["delta_loss"], -out["first_order"], rtol=1e-3)
    assert (out["first_order"] > 0).all() and (out["update"] > 0).all()


def test_one_step_sgd_is_lr_times_grad_norm_sq():
    kw = {"n_models": 2, "d": 4, "batch": 5}
    a = one_step_update(3, 1.0, 1.0, optimizer="sgd", lr=1e-3, generator=torch.Generator().manual_seed(9), **kw)
    b = one_step_update(3, 1.0, 1.0, optimizer="sgd", lr=2e-3, generator=torch.Generator().manual_seed(9), **kw)
    assert torch.allclose(b["first_order"], 2 * a["first_order"], rtol=1e-12)
    with pytest.raises(ValueError, match="optimizer"):
        one_step_update(3, 1.0, 1.0, optimizer="lamb", lr=1e-3)
    with pytest.raises(ValueError, match="lr"):
        one_step_update(3, 1.0, 1.0, lr=0.0)


def test_gain_law_exponents():
    rms, expo = gain_law("ffn", (0.05, 0.2), (1.0, 4.0), seeds=2, batch=20, tokens=2, d=8)
    assert rms.shape == (2, 4, 2) and expo.shape == (2, 2, 2)
    # small branch weight lam^2/alpha <= 0.04: exponents (1, -1) up to O(lam^2/alpha)
    assert abs(expo[:, 0] - 1).max() < 0.05 and abs(expo[:, 1] + 1).max() < 0.05
    _, e_attn = gain_law("attn", (0.05, 0.2), (1.0, 4.0), seeds=1, batch=10, tokens=3, d=8)
    assert abs(e_attn[0, 0, 0] - 3) < 0.1 and abs(e_attn[0, 0, 2] - 1) < 0.05  # q and v
    with pytest.raises(ValueError, match="lams"):
        gain_law("ffn", (0.1,), (1.0, 2.0))
    with pytest.raises(ValueError, match="alphas"):
        gain_law("ffn", (0.1, 0.2), (1.0, -2.0))
    with pytest.raises(ValueError, match="kind"):
        gain_law("conv", (0.1, 0.2), (1.0, 2.0))


def test_depth_sweep_matches_one_step():
    kw = {"optimizer": "adam", "lr": 1e-4, "n_models": 2, "d": 4, "batch": 3}
    out = depth_sweep([1, 3], "adam", generator=torch.Generator().manual_seed(10), **kw)
    assert out["first_order"].shape == (2, 2)
    g = torch.Generator().manual_seed(10)
    one_step_update(2, *deepnorm_constants(1, optimizer="adam"), generator=g, **kw)
    ref = one_step_update(6, *deepnorm_constants(3, optimizer="adam"), generator=g, **kw)
    assert np.allclose(out["update"][1], ref["update"].numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="rule"):
        depth_sweep([1], "paper", **kw)
    with pytest.raises(ValueError, match="ns"):
        depth_sweep([0], "vanilla", **kw)
