"""Tests of lib/generative/ign.py (chapter idempotent-gan): frozen copies, the single-loss GAN
forms, the IGN losses and their copy-free twin, complex-step gradients, the ensemble MLP, the
ring mixture, the training loops and the sample-quality summary."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lib.generative import (
    EnsembleMLP,
    GaussianMixture,
    ReconstructionScore,
    complex_step_grad,
    frozen_copy,
    functional_form,
    gan_single_loss_frozen,
    gan_single_loss_sg,
    idempotence_error,
    ign_loss_sg,
    ign_losses,
    ring_mixture,
    sample_quality,
    sync_frozen_,
    train_gan,
    train_ign,
)

torch.set_num_threads(1)  # tiny tensors: one thread is much faster on a shared 2-core machine
F64, C128 = torch.float64, torch.complex128
EPS = torch.finfo(F64).eps


def nets(seed=0, width=6):
    g = torch.Generator().manual_seed(seed)
    D = EnsembleMLP([2, width, width, 1], 1, generator=g, dtype=F64)
    G = EnsembleMLP([2, width, width, 2], 1, generator=g, dtype=F64)
    return D, G


def batch(seed=0, n=32):
    r = np.random.default_rng(seed)
    return (torch.tensor(r.normal(size=(1, n, 2)) * 2, dtype=F64),
            torch.tensor(r.normal(size=(1, n, 2)), dtype=F64))


def flat_grad(loss, module):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(module.parameters()))])


def fd_grad(fun, theta, h=1e-6):
    """Central finite differences (an independent route for non-analytic objectives)."""
    out = torch.empty_like(theta)
    for i in range(theta.numel()):
        e = torch.zeros_like(theta)
        e[i] = h
        out[i] = (fun(theta + e) - fun(theta - e)) / (2 * h)
    return out


# -- frozen copies -------------------------------------------------------------------------------
def test_frozen_copy_same_outputs_no_grad_no_shared_storage():
    _, G = nets()
    Gf = frozen_copy(G)
    x, _ = batch()
    assert torch.equal(Gf(x), G(x))
    assert not any(p.requires_grad for p in Gf.parameters())
    assert all(p.requires_grad for p in G.parameters())
    with torch.no_grad():
        G.weight0.add_(1.0)
    assert not torch.equal(Gf(x), G(x))


def test_sync_frozen_copies_parameters_and_buffers():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    fr = frozen_copy(m)
    with torch.no_grad():
        m[0].weight.mul_(-2.0)
    m.train()(torch.randn(8, 3, dtype=F64))  # moves the running statistics (buffers)
    assert sync_frozen_(fr, m) is fr
    for a, b in zip(list(fr.parameters()) + list(fr.buffers()),
                    list(m.parameters()) + list(m.buffers()), strict=True):
        assert torch.equal(a, b)
    assert not any(p.requires_grad for p in fr.parameters())


def test_frozen_bad_input():
    with pytest.raises(ValueError, match="module"):
        frozen_copy("not a module")
    with pytest.raises(ValueError, match="frozen"):
        sync_frozen_(nn.Linear(2, 3), nn.Linear(2, 4))
    with pytest.raises(ValueError, match="module"):
        sync_frozen_(nn.Linear(2, 3), 3)


# -- single-loss GAN forms -------------------------------------------------------------------------
def reference_gan_grads(D, G, x, z):
    """Complex-step gradients of the two separate objectives (no autograd, no stop-gradient)."""
    thD, Dfn = functional_form(D)
    thG, Gfn = functional_form(G)
    xc, zc = x.to(C128), z.to(C128)
    gD = complex_step_grad(lambda t: Dfn(t, xc).mean() - Dfn(t, Gfn(thG, zc)).mean(), thD)
    gG = complex_step_grad(lambda p: Dfn(thD, Gfn(p, zc)).mean(), thG)
    return gD, gG


@pytest.mark.parametrize("form", ["frozen", "sg"])
def test_single_loss_gradients_match_separate_objectives(form):
    D, G = nets(1)
    x, z = batch(1)
    loss = (gan_single_loss_frozen(D, G, frozen_copy(D), frozen_copy(G), x, z) if form == "frozen"
            else gan_single_loss_sg(D, G, x, z))
    gD, gG = reference_gan_grads(D, G, x, z)
    assert torch.allclose(flat_grad(loss, D), gD, rtol=0, atol=1e3 * EPS)
    D.zero_grad()
    loss = (gan_single_loss_frozen(D, G, frozen_copy(D), frozen_copy(G), x, z) if form == "frozen"
            else gan_single_loss_sg(D, G, x, z))
    assert torch.allclose(flat_grad(loss, G), gG, rtol=0, atol=1e3 * EPS)


def test_single_loss_values():
    D, G = nets(2)
    x, z = batch(2)
    gap = D(x).mean() - D(G(z)).mean()
    assert torch.allclose(gan_single_loss_sg(D, G, x, z), gap, atol=1e-14)
    assert torch.allclose(gan_single_loss_frozen(D, G, frozen_copy(D), frozen_copy(G), x, z),
                          D(x).mean(), atol=1e-14)  # -D(G'(z)) + D'(G(z)) cancel in value


def test_single_loss_accepts_flat_scores():
    lin = nn.Linear(2, 1).double()

    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lin

        def forward(self, u):
            return self.lin(u)[..., 0]

    G = nn.Linear(2, 2).double()
    x, z = torch.randn(5, 2, dtype=F64), torch.randn(5, 2, dtype=F64)
    a = gan_single_loss_sg(Flat(), G, x, z)
    b = gan_single_loss_sg(lin, G, x, z)
    assert torch.allclose(a, b)


def test_single_loss_bad_input():
    D, G = nets()
    x, z = batch()
    with pytest.raises(ValueError, match="D_frozen"):
        gan_single_loss_frozen(D, G, D, frozen_copy(G), x, z)
    with pytest.raises(ValueError, match="G_frozen"):
        gan_single_loss_frozen(D, G, frozen_copy(D), G, x, z)
    with pytest.raises(ValueError, match="D"):
        gan_single_loss_sg(None, G, x, z)
    with pytest.raises(ValueError, match="x"):
        gan_single_loss_sg(D, G, np.ones((1, 3, 2)), z)
    with pytest.raises(ValueError, match="z"):
        gan_single_loss_sg(D, G, x, torch.ones(1, 3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="x"):
        gan_single_loss_frozen(D, G, frozen_copy(D), frozen_copy(G), torch.full_like(x, math.nan), z)


# -- complex step and functional form --------------------------------------------------------------
def test_complex_step_grad_analytic():
    theta = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
    g = complex_step_grad(lambda t: (torch.sin(t) * t**2).sum(), theta)
    exact = torch.cos(theta) * theta**2 + 2 * theta * torch.sin(theta)
    assert torch.allclose(g, exact, rtol=0, atol=4 * EPS)


def test_functional_form_reproduces_module():
    _, G = nets(3)
    x, _ = batch(3)
    th, call = functional_form(G)
    assert th.dtype == F64 and th.numel() == sum(p.numel() for p in G.parameters())
    assert torch.allclose(call(th, x), G(x), atol=0)
    assert call(th, x.to(C128)).dtype == C128


def test_complex_step_bad_input():
    with pytest.raises(ValueError, match="theta"):
        complex_step_grad(lambda t: t.sum(), torch.tensor([math.nan], dtype=F64))
    with pytest.raises(ValueError, match="theta"):
        complex_step_grad(lambda t: t.sum(), torch.ones(2, 2, dtype=F64))
    with pytest.raises(ValueError, match="h"):
        complex_step_grad(lambda t: t.sum(), torch.ones(2, dtype=F64), h=0.0)
    with pytest.raises(ValueError, match="fun"):
        complex_step_grad(3, torch.ones(2, dtype=F64))
    with pytest.raises(ValueError, match="fun"):
        complex_step_grad(lambda t: t, torch.ones(2, dtype=F64))
    with pytest.raises(ValueError, match="module"):
        functional_form(lambda u: u)


# -- IGN losses ----------------------------------------------------------------------------------
def ign_net(seed=4, skip=False):
    g = torch.Generator().manual_seed(seed)
    return EnsembleMLP([2, 6, 6, 2], 1, generator=g, dtype=F64, skip=skip)


def test_ign_losses_values():
    f = ign_net()
    x, z = batch(4)
    out = ign_losses(f, frozen_copy(f), x, z, weights=(2.0, 3.0, 0.5))
    fz = f(z)
    assert torch.allclose(out["rec"], ((f(x) - x) ** 2).mean())
    assert torch.allclose(out["idem"], ((f(fz) - fz) ** 2).mean())
    assert torch.allclose(out["tight"], -out["idem"])  # same value, different gradient path
    assert torch.allclose(out["total"], 2 * out["rec"] + 3 * out["idem"] + 0.5 * out["tight"])
    l1 = ign_losses(f, frozen_copy(f), x, z, dist="l1")
    assert torch.allclose(l1["rec"], (f(x) - x).abs().mean())
    assert float(l1["tight"].detach()) <= 0


def test_ign_total_gradient_matches_complex_step():
    f = ign_net(5)
    x, z = batch(5)
    w = (20.0, 20.0, 2.5)
    th, fn = functional_form(f)
    xc, zc = x.to(C128), z.to(C128)
    y0 = fn(th, zc)
    ref = (w[0] * complex_step_grad(lambda t: ((fn(t, xc) - xc) ** 2).mean(), th)
           + w[1] * complex_step_grad(lambda t: ((fn(th, fn(t, zc)) - fn(t, zc)) ** 2).mean(), th)
           - w[2] * complex_step_grad(lambda t: ((fn(t, y0) - y0) ** 2).mean(), th))
    got = flat_grad(ign_losses(f, frozen_copy(f), x, z, weights=w)["total"], f)
    assert torch.allclose(got, ref, rtol=0, atol=1e3 * EPS * float(ref.abs().max()))


def test_ign_is_gan_with_reconstruction_discriminator():
    f = ign_net(6)
    fr = frozen_copy(f)
    x, z = batch(6)
    gan = gan_single_loss_frozen(ReconstructionScore(f), f, ReconstructionScore(fr), fr, x, z)
    ign = ign_losses(f, fr, x, z, weights=(1.0, 1.0, 1.0))["total"]
    assert torch.allclose(flat_grad(gan, f), flat_grad(ign, f), rtol=0, atol=1e-14)


def test_ign_l1_gradient_finite_differences():
    f = ign_net(7)
    x, z = batch(7)
    th, fn = functional_form(f)
    y0 = fn(th, z).detach()

    def total(t):
        return (20 * (fn(t, x) - x).abs().mean() + 20 * (fn(th, fn(t, z)) - fn(t, z)).abs().mean()
                - 2.5 * (fn(t, y0) - y0).abs().mean())

    ref = fd_grad(total, th)
    got = flat_grad(ign_losses(f, frozen_copy(f), x, z, dist="l1")["total"], f)
    # truncation ~h^2 away from kinks, rounding ~eps*|total|/h ~ 1e-9
    assert torch.allclose(got, ref, rtol=0, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 30.0), st.floats(0.0, 30.0), st.floats(0.0, 10.0), st.sampled_from(["l1", "l2"]),
       st.integers(0, 1000))
def test_ign_loss_sg_has_the_same_gradient(wr, wi, wt, dist, seed):
    f = ign_net(seed % 7)
    x, z = batch(seed)
    w = (wr, wi, wt)
    a = flat_grad(ign_losses(f, frozen_copy(f), x, z, dist=dist, weights=w)["total"], f)
    b = flat_grad(ign_loss_sg(f, x, z, dist=dist, weights=w), f)
    assert torch.allclose(a, b, rtol=0, atol=1e-12 * (1 + float(a.abs().max())))


def test_identity_is_stationary():
    f = ign_net(8, skip=True)
    with torch.no_grad():
        f.weight2.zero_()
        f.bias2.zero_()
    x, z = batch(8)
    for dist in ("l1", "l2"):
        out = ign_losses(f, frozen_copy(f), x, z, dist=dist)
        assert float(out["total"].detach()) == 0.0
        assert float(flat_grad(out["total"], f).abs().max()) == 0.0


def test_ign_bad_input():
    f = ign_net()
    x, z = batch()
    fr = frozen_copy(f)
    with pytest.raises(ValueError, match="dist"):
        ign_losses(f, fr, x, z, dist="l3")
    with pytest.raises(ValueError, match="f_frozen"):
        ign_losses(f, f, x, z)
    with pytest.raises(ValueError, match="f_frozen"):
        ign_losses(f, ign_net(9), x, z)
    with pytest.raises(ValueError, match="z"):
        ign_losses(f, fr, x, torch.ones(1, 4, 3, dtype=F64))
    with pytest.raises(ValueError, match="weights"):
        ign_losses(f, fr, x, z, weights=(1.0, 2.0))
    with pytest.raises(ValueError, match="weights"):
        ign_losses(f, fr, x, z, weights=(1.0, "a", 2.0))
    with pytest.raises(ValueError, match="weights"):
        ign_loss_sg(f, x, z, weights=3.0)
    with pytest.raises(ValueError, match="dist"):
        ign_loss_sg(f, x, z, dist="L2")
    with pytest.raises(ValueError, match="f"):
        ign_loss_sg("f", x, z)
    with pytest.raises(ValueError, match="x"):
        ign_losses(f, fr, torch.full_like(x, math.inf), z)


# -- idempotence error and the reconstruction score --------------------------------------------------
def test_idempotence_error_known_values():
    P = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        P.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))  # a projection: P P = P
    y = torch.randn(50, 2, dtype=F64)
    assert idempotence_error(P, y) == 0.0
    twice = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        twice.weight.copy_(2 * torch.eye(2, dtype=F64))
    assert math.isclose(idempotence_error(twice, y), float((4 * y**2).mean()), rel_tol=1e-12)
    assert math.isclose(idempotence_error(twice, y, dist="l1"), float((2 * y.abs()).mean()),
                        rel_tol=1e-12)
    with pytest.raises(ValueError, match="dist"):
        idempotence_error(P, y, dist="max")
    with pytest.raises(ValueError, match="y"):
        idempotence_error(P, [1.0, 2.0])


def test_reconstruction_score():
    g = torch.Generator().manual_seed(0)
    f = EnsembleMLP([2, 5, 2], 3, generator=g, dtype=F64)
    u = torch.randn(3, 7, 2, dtype=F64)
    s = ReconstructionScore(f)(u)
    assert s.shape == (3, 7)
    assert torch.allclose(s, ((f(u) - u) ** 2).mean(-1))
    assert torch.allclose(ReconstructionScore(f, "l1")(u), (f(u) - u).abs().mean(-1))
    with pytest.raises(ValueError, match="dist"):
        ReconstructionScore(f, "cos")
    with pytest.raises(ValueError, match="f"):
        ReconstructionScore(None)


# -- the ensemble MLP ------------------------------------------------------------------------------
def test_ensemble_members_are_independent_mlps():
    g = torch.Generator().manual_seed(1)
    f = EnsembleMLP([2, 4, 3], 2, generator=g, dtype=F64)
    u = torch.randn(2, 5, 2, dtype=F64)
    out = f(u)
    for s in range(2):
        w0, b0 = f.layer(0)
        w1, b1 = f.layer(1)
        h = torch.nn.functional.silu(u[s] @ w0[s] + b0[s])
        assert torch.allclose(out[s], h @ w1[s] + b1[s])
    u2 = u.clone()
    u2[0] += 1.0
    assert torch.equal(f(u2)[1], out[1])
    bound = 1 / math.sqrt(2)
    assert float(f.weight0.detach().abs().max()) <= bound
    f2 = EnsembleMLP([2, 4, 3], 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert torch.equal(f2(u), out)


def test_ensemble_skip_zero_last_layer_is_identity():
    f = EnsembleMLP([2, 4, 2], 2, generator=torch.Generator().manual_seed(0), skip=True)
    with torch.no_grad():
        f.weight1.zero_()
        f.bias1.zero_()
    u = torch.randn(2, 3, 2)
    assert torch.equal(f(u), u)


def test_ensemble_bad_input():
    g = torch.Generator()
    with pytest.raises(ValueError, match="sizes"):
        EnsembleMLP([2], 1, generator=g)
    with pytest.raises(ValueError, match="sizes"):
        EnsembleMLP([2, 0, 2], 1, generator=g)
    with pytest.raises(ValueError, match="members"):
        EnsembleMLP([2, 3], 0, generator=g)
    with pytest.raises(ValueError, match="generator"):
        EnsembleMLP([2, 3], 1, generator=0)
    with pytest.raises(ValueError, match="skip"):
        EnsembleMLP([2, 3], 1, generator=g, skip=True)
    f = EnsembleMLP([2, 3], 2, generator=g)
    with pytest.raises(ValueError, match="h"):
        f(torch.ones(5, 2))
    with pytest.raises(ValueError, match="h"):
        f(torch.ones(3, 5, 2))


# -- ring mixture, training loops, sample quality -----------------------------------------------------
def test_ring_mixture():
    gmm = ring_mixture(8, 2.0, 0.1)
    assert isinstance(gmm, GaussianMixture)
    assert np.allclose(np.linalg.norm(gmm.means, axis=1), 2.0)
    assert np.allclose(gmm.weights, 1 / 8) and np.allclose(gmm.covs[:, 0, 0], 0.01)
    assert np.allclose(gmm.means[2], [0.0, 2.0], atol=1e-15)
    with pytest.raises(ValueError, match="k"):
        ring_mixture(0)
    with pytest.raises(ValueError, match="std"):
        ring_mixture(8, 2.0, 0.0)
    with pytest.raises(ValueError, match="radius"):
        ring_mixture(8, -1.0)


def test_train_ign_deterministic_and_reduces_reconstruction():
    gmm = ring_mixture()

    def run(steps):
        f = EnsembleMLP([2, 8, 8, 2], 2, generator=torch.Generator().manual_seed(0))
        return train_ign(f, gmm, steps=steps, batch=32, rng=np.random.default_rng(0))

    x = torch.as_tensor(gmm.sample(400, np.random.default_rng(5)).reshape(2, 200, 2),
                        dtype=torch.float32)
    f0, f1, f1b = run(0), run(40), run(40)
    assert torch.equal(f1(x), f1b(x))
    rec = [float(ReconstructionScore(m)(x).mean().detach()) for m in (f0, f1)]
    assert rec[1] < rec[0]


def test_train_gan_deterministic_and_moves_samples_outwards():
    gmm = ring_mixture()

    def run(steps):
        g = torch.Generator().manual_seed(0)
        G = EnsembleMLP([2, 8, 8, 2], 2, generator=g)
        D = EnsembleMLP([2, 8, 8, 1], 2, generator=g)
        return train_gan(G, D, gmm, steps=steps, batch=32, rng=np.random.default_rng(0))

    z = torch.randn(2, 500, 2, generator=torch.Generator().manual_seed(3))
    G0, G1, G1b = run(0), run(80), run(80)
    assert torch.equal(G1(z), G1b(z))
    err = [np.mean([sample_quality(m(z)[s].detach().numpy(), gmm)["radius_err"] for s in range(2)])
           for m in (G0, G1)]
    assert err[1] < err[0]


def test_training_bad_input():
    gmm = ring_mixture()
    g = torch.Generator()
    f = EnsembleMLP([2, 4, 2], 1, generator=g)
    D = EnsembleMLP([2, 4, 1], 1, generator=g)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="steps"):
        train_ign(f, gmm, steps=-1, batch=4, rng=rng)
    with pytest.raises(ValueError, match="batch"):
        train_ign(f, gmm, steps=1, batch=0, rng=rng)
    with pytest.raises(ValueError, match="lr"):
        train_ign(f, gmm, steps=1, batch=4, rng=rng, lr=0.0)
    with pytest.raises(ValueError, match="betas"):
        train_ign(f, gmm, steps=1, batch=4, rng=rng, betas=(0.5,))
    with pytest.raises(ValueError, match="rng"):
        train_ign(f, gmm, steps=1, batch=4, rng=0)
    with pytest.raises(ValueError, match="gmm"):
        train_ign(f, "ring", steps=1, batch=4, rng=rng)
    with pytest.raises(ValueError, match="f"):
        train_ign(nn.Linear(2, 2), gmm, steps=1, batch=4, rng=rng)
    with pytest.raises(ValueError, match="f"):
        train_ign(D, gmm, steps=1, batch=4, rng=rng)
    with pytest.raises(ValueError, match="D"):
        train_gan(f, f, gmm, steps=1, batch=4, rng=rng)
    with pytest.raises(ValueError, match="D"):
        train_gan(f, EnsembleMLP([2, 4, 1], 2, generator=g), gmm, steps=1, batch=4, rng=rng)


def test_sample_quality_known_cases():
    gmm = ring_mixture()
    at_means = np.repeat(gmm.means, 25, axis=0)
    q = sample_quality(at_means, gmm)
    assert q == {"good": 1.0, "modes": 8, "tv": 0.0, "radius_err": pytest.approx(0.0, abs=1e-15)}
    one_mode = np.repeat(gmm.means[:1], 100, axis=0) + 0.29  # |(0.29, 0.29)| = 0.41 > 3 sigma
    q = sample_quality(one_mode, gmm)
    assert q["good"] == 0.0 and q["modes"] == 0 and q["tv"] == 1.0
    q = sample_quality(np.repeat(gmm.means[:1], 100, axis=0), gmm)
    assert q["modes"] == 1 and math.isclose(q["tv"], 7 / 8)
    assert math.isclose(sample_quality(np.zeros((3, 2)), gmm)["radius_err"], 2.0)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 3.0))
def test_sample_quality_ranges(seed, scale):
    gmm = ring_mixture()
    s = np.random.default_rng(seed).normal(size=(200, 2)) * scale
    q = sample_quality(s, gmm)
    assert 0.0 <= q["good"] <= 1.0 and 0.0 <= q["tv"] <= 1.0 and 0 <= q["modes"] <= 8


def test_sample_quality_bad_input():
    gmm = ring_mixture()
    with pytest.raises(ValueError, match="samples"):
        sample_quality(np.zeros((3, 3)), gmm)
    with pytest.raises(ValueError, match="samples"):
        sample_quality(np.array([[np.nan, 0.0]]), gmm)
    with pytest.raises(ValueError, match="gmm"):
        sample_quality(np.zeros((3, 2)), None)
    with pytest.raises(ValueError, match="n_sigma"):
        sample_quality(np.zeros((3, 2)), gmm, n_sigma=0)
    with pytest.raises(ValueError, match="min_count"):
        sample_quality(np.zeros((3, 2)), gmm, min_count=0)
