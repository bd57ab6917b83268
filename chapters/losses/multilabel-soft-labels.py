# ---
# jupyter:
#   jupytext:
#     default_lexer: ipython3
#     formats: md:myst,py:percent
#     notebook_metadata_filter: kexue
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   kexue:
#     date: '2022-05-07'
#     id: 9064
#     paper: 'Su et al. (2022), ZLPR: A Novel Loss for Multi-label Classification'
#     paper_url: https://arxiv.org/abs/2208.02955
#     title: A Soft-Label Version of the Multi-Label "Softmax + Cross-Entropy"
#     title_zh: "\u591A\u6807\u7B7E\u201CSoftmax+\u4EA4\u53C9\u71B5\u201D\u7684\u8F6F\
#       \u6807\u7B7E\u7248\u672C"
#     url: https://kexue.fm/archives/9064
# ---

# %% [markdown]
# (ch-multilabel-soft-labels)=
# # Soft labels for the multi-label softmax cross-entropy
#
# The multi-label softmax cross-entropy of the previous chapter (ZLPR,
# {cite}`su2020multilabel7359`) takes hard
# 0/1 labels, which rules out label smoothing, mixup or distillation targets. How should it
# take labels $t_i\in[0,1]$, and what do its scores then mean? The article
# {cite}`su2022soft9064` finds the answer through a link with binary cross-entropy (BCE): the
# sum of $n$ BCE terms is the logarithm of a product whose expansion contains ZLPR's two sums
# plus all higher-order cross terms, so ZLPR is BCE with those terms deleted — and the same
# deletion applied to soft-label BCE gives
# $\log(1+\sum_i t_ie^{-s_i})+\log(1+\sum_i(1-t_i)e^{s_i})$. Its minimiser is exactly
# $t_i=\sigma(2s_i)$, so $\sigma(2s)$, not $\sigma(s)$, reads the scores back as the soft
# targets. We prove and check each step, find the minimum value in closed form, show why
# clipping $t$ before taking logarithms breaks masked logits and what implementation is
# right — and show that the $\sigma(2s)$ reading does **not** carry over to a model trained on
# hard labels.
#
# :::{prf:theorem} Soft-label multi-label softmax cross-entropy
# :label: thm-multilabel-soft-labels
# Let $s\in\mathbb R^n$ be scores and $t\in[0,1]^n$ targets, and define
#
# $$
# \mathcal L(s;t)=\log\Bigl(1+\sum_{i=1}^n t_ie^{-s_i}\Bigr)+\log\Bigl(1+\sum_{i=1}^n(1-t_i)e^{s_i}\Bigr).
# $$
#
# 1. For $t\in\{0,1\}^n$, $\mathcal L$ is the multi-label softmax cross-entropy, and the sum of
#    the $n$ BCE terms exceeds it by the logarithms of the deleted higher-order terms:
#    $\mathrm{BCE}(s;t)\ge\mathcal L(s;t)$, with equality iff at most one target and at most one
#    non-target are present.
# 2. $\mathcal L(\cdot;t)$ is convex. For $t\in(0,1)^n$ its unique minimiser is
#    $s_i^\star=\tfrac12\log\frac{t_i}{1-t_i}$, i.e. $t_i=\sigma(2s_i^\star)$, and
#    $\min_s\mathcal L(s;t)=2\log\bigl(1+\sum_i\sqrt{t_i(1-t_i)}\bigr)$.
# :::

# %% tags=["hide-input"]
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
import torch.nn.functional as F
from scipy.optimize import minimize, minimize_scalar
from scipy.stats import binom

from lib.book import Chapter
from lib.losses import multilabel_ce, soft_multilabel_ce
from lib.softmax import log_elementary_symmetric

ch = Chapter("multilabel-soft-labels", seed=9064)
D = torch.float64
EPS = torch.finfo(D).eps
gen = torch.Generator().manual_seed(9064)

# %% [markdown]
# ## 1. The multi-label softmax-CE is BCE without the cross terms
#
# With $\sigma(x)=1/(1+e^{-x})$, $-\log\sigma(s)=\log(1+e^{-s})$ and
# $-\log(1-\sigma(s))=\log(1+e^{s})$, so the $n$ BCE terms of a hard-labelled sample add up to
# the logarithm of two products:
#
# $$
# \mathrm{BCE}(s;t)=\log\prod_{j\in\Omega_+}\bigl(1+e^{-s_j}\bigr)+\log\prod_{i\in\Omega_-}\bigl(1+e^{s_i}\bigr).
# $$ (eq-multilabel-soft-labels-bce)
#
# Expanding a product $\prod_{m=1}^M(1+u_m)$ gives every elementary symmetric polynomial of the
# $u_m$ once, $\sum_{j=0}^{M}e_j(u)=1+\sum_m u_m+\sum_{m<l}u_mu_l+\dots$. The multi-label
# softmax-CE keeps the first two, $e_0+e_1$:
#
# $$
# \mathrm{BCE}-\mathcal L=\log\frac{\sum_{j\ge0}e_j(e^{-s_{\Omega_+}})}{1+e_1(e^{-s_{\Omega_+}})}
# +\log\frac{\sum_{j\ge0}e_j(e^{s_{\Omega_-}})}{1+e_1(e^{s_{\Omega_-}})}\;\ge\;0 .
# $$ (eq-multilabel-soft-labels-gap)
#
# Both pieces vanish only when there are no $e_{j\ge2}$ terms, i.e. at most one target and one
# non-target. The deleted terms are what make BCE large when there are many non-targets: at
# $s=0$ the second product is $2^{|\Omega_-|}$, so BCE grows linearly in their number while
# $\mathcal L$ grows like its logarithm. First the expansion, symbolically for four factors:

# %%
u = sp.symbols("u1:5", positive=True)
e_sym = [sp.Integer(1)] + [sum(sp.prod(c) for c in itertools.combinations(u, j)) for j in range(1, 5)]
ok = sp.expand(sp.prod([1 + v for v in u]) - sum(e_sym)) == 0
ch.claim("product-expansion", ok, equals=True, why="exact symbolic expansion",
         statement="prod(1 + u_m) = sum_j e_j(u) for four factors")

# %% [markdown]
# Then numerically, with the library's log-space elementary symmetric polynomials of
# the previous chapter: $\log\sum_j e_j(e^{x})$ over all $j$ must be the BCE
# product, and over $j\le1$ the multi-label softmax-CE term; and BCE $\ge\mathcal L$ on
# 10 000 random samples.

# %%
s = 3 * torch.randn(10_000, 12, generator=gen, dtype=D)
y = (torch.rand(10_000, 12, generator=gen) < 0.4).to(D)
x = torch.where(y > 0, -s, s)  # e^{-s} for targets, e^{s} for non-targets
terms = []
for keep in (y > 0, y == 0):
    le = log_elementary_symmetric(x.masked_fill(~keep, float("-inf")), 12)  # -inf = absent
    terms.append((torch.logsumexp(le, -1), torch.logsumexp(le[:, :2], -1)))
bce = F.binary_cross_entropy_with_logits(s, y, reduction="none").sum(-1)
zlpr = multilabel_ce(s, y, reduction="none")
scale = bce.abs().clamp_min(1)
ch.claim("bce-as-full-expansion", ((terms[0][0] + terms[1][0] - bce).abs() / scale).max(), at_most=256 * EPS,
         why="log-space recursion over 12 items vs softplus sums: ~12 roundings each, relative to max(1, BCE)",
         statement="Eq. (eq-multilabel-soft-labels-bce): BCE = log of all e_j, j = 0..n")
ch.claim("zlpr-as-first-order", ((terms[0][1] + terms[1][1] - zlpr).abs() / zlpr.clamp_min(1)).max(),
         at_most=64 * EPS, why="two float64 log-sums of at most 13 terms",
         statement="the multi-label softmax-CE keeps e_0 + e_1 of each product")
ch.claim("bce-minus-zlpr", (bce - zlpr).min(), at_least=0.0, atol=1e-12,
         why="Eq. (eq-multilabel-soft-labels-gap) is >= 0 exactly; atol = float64 rounding of losses up to ~100",
         statement="BCE >= multi-label softmax-CE on 10 000 random samples");

# %% mystnb={"figure": {"caption": "Loss at $s=0$ with 3 targets as the number of non-targets grows. BCE, $n\\log2$, is dominated by the higher-order terms of its products; the multi-label softmax-CE keeps only $1+e_1$ of each and grows like $\\log n$.", "name": "fig-multilabel-soft-labels-gap"}}
ns = np.array([5, 10, 30, 100, 300, 1000, 3000])
bce0, zlpr0 = [], []
for n_cls in ns:
    y0 = torch.zeros(int(n_cls), dtype=D)
    y0[:3] = 1
    s0 = torch.zeros_like(y0)
    bce0.append(float(F.binary_cross_entropy_with_logits(s0, y0, reduction="sum")))
    zlpr0.append(float(multilabel_ce(s0, y0)))
ch.claim("zlpr-at-zero", max(abs(z_ - math.log(4) - math.log(n_ - 2)) for z_, n_ in zip(zlpr0, ns, strict=True)),
         at_most=1e-13, why="log(1 + 3) + log(1 + n - 3) exactly; float64 rounding",
         statement="at s = 0 the multi-label softmax-CE is log 4 + log(n - 2)")
fig, ax = plt.subplots()
ax.loglog(ns, bce0, "o-", color="C1", label="BCE (sum over labels)")
ax.loglog(ns, zlpr0, "o-", color="C0", label="multi-label softmax-CE")
ax.set_xlabel("number of labels $n$ (3 targets)")
ax.set_ylabel("loss at $s=0$")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. The soft-label version
#
# For a soft target $t\in[0,1]$ BCE reads
# $-t\log\sigma(s)-(1-t)\log(1-\sigma(s))=\log(1+e^{-s})^{t}+\log(1+e^{s})^{1-t}$, so the sum
# over labels is again a logarithm of two products,
#
# $$
# \sum_i\mathrm{BCE}(s_i;t_i)=\log\prod_i\bigl(1+e^{-s_i}\bigr)^{t_i}+\log\prod_i\bigl(1+e^{s_i}\bigr)^{1-t_i}.
# $$ (eq-multilabel-soft-labels-softbce)
#
# Keeping, as before, only the terms of order at most one in the exponentials — $(1+u)^t=1+tu+O(u^2)$,
# and products of first-order terms dropped — leaves
#
# $$
# \mathcal L(s;t)=\log\Bigl(1+\sum_i t_ie^{-s_i}\Bigr)+\log\Bigl(1+\sum_i(1-t_i)e^{s_i}\Bigr),
# $$ (eq-multilabel-soft-labels-loss)
#
# which for $t\in\{0,1\}^n$ is the hard-label loss. This truncation is only a heuristic for
# *finding* a candidate; what makes it the right generalisation is the exact minimiser in the
# next section. Symbolically, the soft BCE identity and the first-order coefficient:

# %%
ss, tt, uu = sp.symbols("s t u", real=True)
sig = 1 / (1 + sp.exp(-ss))
soft_bce = -tt * sp.log(sig) - (1 - tt) * sp.log(1 - sig)
rhs = tt * sp.log(1 + sp.exp(-ss)) + (1 - tt) * sp.log(1 + sp.exp(ss))
ok_bce = sp.simplify(sp.expand_log(soft_bce - rhs, force=True)) == 0
ok_series = sp.simplify(sp.series((1 + uu) ** tt, uu, 0, 2).removeO() - (1 + tt * uu)) == 0
ch.claim("soft-bce-sympy", ok_bce and ok_series, equals=True, why="exact symbolic simplification",
         statement="Eq. (eq-multilabel-soft-labels-softbce) and (1 + u)^t = 1 + t u + O(u^2)")
hard = multilabel_ce(s, y, reduction="none")
ch.claim("soft-equals-hard", ((soft_multilabel_ce(s, y, reduction="none") - hard).abs() / hard.clamp_min(1)).max(),
         at_most=16 * EPS, why="the same two sums formed in a different order; float64 rounding",
         statement="soft_multilabel_ce equals multilabel_ce on 0/1 targets");

# %% [markdown]
# ## 3. The minimiser is $t=\sigma(2s)$
#
# Differentiating {eq}`eq-multilabel-soft-labels-loss`,
#
# $$
# \frac{\partial\mathcal L}{\partial s_i}=-\frac{t_ie^{-s_i}}{1+\sum_k t_ke^{-s_k}}
# +\frac{(1-t_i)e^{s_i}}{1+\sum_k(1-t_k)e^{s_k}} .
# $$ (eq-multilabel-soft-labels-grad)
#
# If $t_ie^{-s_i}=(1-t_i)e^{s_i}$ for *every* $i$, the two numerators agree term by term, hence
# so do the two denominators, and every partial derivative vanishes. Solving for $s_i$:
#
# $$
# e^{2s_i}=\frac{t_i}{1-t_i}\iff s_i^\star=\tfrac12\log\frac{t_i}{1-t_i}\iff t_i=\sigma(2s_i^\star).
# $$ (eq-multilabel-soft-labels-argmin)
#
# Each term of $\mathcal L$ is a logsumexp of affine functions of $s$ (with the constant 0 for the
# 1), hence convex {cite}`boyd2004convex`, so this stationary point is the global minimum (and
# unique: the Hessian is positive definite when every $t_i\in(0,1)$). At the optimum
# $t_ie^{-s_i}=(1-t_i)e^{s_i}=\sqrt{t_i(1-t_i)}$, so both logarithms are equal and
#
# $$
# \min_s\mathcal L(s;t)=2\log\Bigl(1+\sum_i\sqrt{t_i(1-t_i)}\Bigr).
# $$ (eq-multilabel-soft-labels-min)
#
# The gradient formula, the stationary point and the minimum value symbolically for $n=2$:

# %%
s1, s2 = sp.symbols("s1 s2", real=True)
t1, t2 = sp.symbols("t1 t2", positive=True)
L = sp.log(1 + t1 * sp.exp(-s1) + t2 * sp.exp(-s2)) + sp.log(1 + (1 - t1) * sp.exp(s1) + (1 - t2) * sp.exp(s2))
grad_formula = (-t1 * sp.exp(-s1) / (1 + t1 * sp.exp(-s1) + t2 * sp.exp(-s2))
                + (1 - t1) * sp.exp(s1) / (1 + (1 - t1) * sp.exp(s1) + (1 - t2) * sp.exp(s2)))
ok_grad = sp.simplify(sp.diff(L, s1) - grad_formula) == 0
# parametrise the targets by a_i = e^{s_i*} > 0: t_i = a_i^2/(1 + a_i^2), sqrt(t_i(1 - t_i)) = a_i/(1 + a_i^2)
a1, a2 = sp.symbols("a1 a2", positive=True)
star = {s1: sp.log(a1), s2: sp.log(a2), t1: a1**2 / (1 + a1**2), t2: a2**2 / (1 + a2**2)}
ok_stat = all(sp.simplify(sp.diff(L, v).subs(star)) == 0 for v in (s1, s2))
ok_min = sp.simplify(sp.expand_log(L.subs(star) - 2 * sp.log(1 + a1 / (1 + a1**2) + a2 / (1 + a2**2)),
                                   force=True)) == 0
ch.claim("argmin-sympy", ok_grad and ok_stat and ok_min, equals=True, why="exact symbolic simplification",
         statement="Eqs. (eq-multilabel-soft-labels-grad), (-argmin) and (-min) for n = 2");

# %% [markdown]
# Then numerically for $n=8$: the closed form has zero gradient, a quasi-Newton solver started
# at random scores lands on it, its loss equals {eq}`eq-multilabel-soft-labels-min`, the Hessian
# is positive definite along the way, and $\sigma(s^\star)$ — the "natural" reading of a score
# — misses the targets.

# %%
t8 = 0.01 + 0.98 * torch.rand(8, generator=gen, dtype=D)
s_closed = (0.5 * torch.logit(t8)).requires_grad_()
(g_closed,) = torch.autograd.grad(soft_multilabel_ce(s_closed, t8), s_closed)
ch.claim("closed-form-gradient", g_closed.abs().max(), at_most=1e-14,
         why="the two gradient terms cancel exactly; float64 rounding of values O(1)",
         statement="s* = logit(t)/2 is a stationary point")


def loss_and_grad(v, t=t8):
    sv = torch.tensor(v, dtype=D, requires_grad=True)
    loss = soft_multilabel_ce(sv, t)
    (g_,) = torch.autograd.grad(loss, sv)
    return float(loss.detach()), g_.numpy()


res = minimize(loss_and_grad, 3 * torch.randn(8, generator=gen, dtype=D).numpy(), jac=True, method="BFGS",
               options={"gtol": 1e-12})
s_num = torch.tensor(res.x, dtype=D)
ch.claim("bfgs-recovers-sigma-2s", (torch.sigmoid(2 * s_num) - t8).abs().max(), at_most=1e-8,
         why="BFGS stopped at gradient norm 1e-12; near the minimum |Delta s| ~ |grad|/lambda_min, far below 1e-8",
         statement="the numerical minimiser satisfies t = sigma(2 s*)")
ch.source_number("2", where="§Proving the result: t_i = 1/(1 + e^{-2 s_i}) = sigma(2 s_i)", fate="reproduced",
                 claim="bfgs-recovers-sigma-2s")
min_closed = 2 * math.log1p(float(torch.sqrt(t8 * (1 - t8)).sum()))
ch.claim("minimum-value", res.fun, equals=min_closed, rtol=1e-13,
         why="the loss is flat at the minimum: error ~ |grad|^2, plus float64 rounding",
         statement="Eq. (eq-multilabel-soft-labels-min): the minimum is 2 log(1 + sum sqrt(t(1-t)))")
ch.claim("sigma-s-misses", (torch.sigmoid(s_num) - t8).abs().max(), at_least=0.05,
         why="the factor 2 matters: sigma(s*) differs from t by ~0.1 for t away from 1/2",
         statement="sigma(s*) is not the target")
def hessian_margin(v):  # smallest eigenvalue over its float64 rounding scale n eps ||H||
    ev = torch.linalg.eigvalsh(torch.autograd.functional.hessian(lambda w: soft_multilabel_ce(w, t8), v))
    return float(ev.min() / (len(v) * EPS * ev.abs().max()))


hess_margin = min(hessian_margin(3 * torch.randn(8, generator=gen, dtype=D)) for _ in range(50))
ch.claim("hessian-positive-definite", hess_margin, at_least=100.0,
         why="eigenvalues carry rounding ~ n eps ||H||; the smallest exceeds 100x that at every "
         "one of 50 random points, so it is positive, not a rounding artefact",
         statement="the Hessian is positive definite (not merely semi-definite) at 50 random points")
t_ls = torch.tensor([0.9, 0.1, 0.9, 0.1], dtype=D)
res_ls = minimize(loss_and_grad, np.zeros(4), args=(t_ls,), jac=True, method="BFGS", options={"gtol": 1e-12})
ls_target = 0.5 * math.log(9) * np.array([1, -1, 1, -1])
ch.claim("label-smoothing-logit", float(np.abs(res_ls.x - ls_target).max()), at_most=1e-9,
         why="BFGS minimiser (gradient norm <= 1e-12, curvature O(0.1)) against the closed form "
         "logit(0.9)/2",
         statement="with label smoothing 0.9/0.1 the minimising scores are +-log(9)/2")

# %% mystnb={"figure": {"caption": "Reading the optimal scores back as probabilities. Dots are the BFGS minimiser for eight random targets; the curves are the closed form $s^\\star=\\tfrac12\\operatorname{logit}t$. $\\sigma(2s^\\star)$ lies on the diagonal; $\\sigma(s^\\star)$ is pulled towards $1/2$.", "name": "fig-multilabel-soft-labels-calibration"}}
tg = torch.linspace(0.005, 0.995, 199, dtype=D)
fig, ax = plt.subplots(figsize=(4.6, 4.2))
ax.plot(tg, torch.sigmoid(torch.logit(tg)), color="C0", label=r"$\sigma(2s^\star)$")
ax.plot(tg, torch.sigmoid(0.5 * torch.logit(tg)), color="C1", label=r"$\sigma(s^\star)$")
ax.plot(t8, torch.sigmoid(2 * s_num), "o", color="C0")
ax.plot(t8, torch.sigmoid(s_num), "o", color="C1")
ax.set_xlabel("soft target $t$")
ax.set_ylabel("probability read from the optimal score")
ax.legend()
plt.show()


# %% [markdown]
# At the numerical optimum $\sigma(2s^\star)$ matches the targets to
# {glue:text}`bfgs-recovers-sigma-2s:.1e`, while $\sigma(s^\star)$ is off by up to
# {glue:text}`sigma-s-misses:.2f`. With label smoothing to 0.9/0.1 the optimal scores are
# $\pm\tfrac12\log 9$ (the numerical minimiser agrees to {glue:text}`label-smoothing-logit:.0e`), so smoothed labels keep the scores bounded.
#
# ## 4. Implementing it: clipping is not enough
#
# To evaluate {eq}`eq-multilabel-soft-labels-loss` with logsumexp one moves the weights into
# the exponents, $t_ie^{-s_i}=e^{-s_i+\log t_i}$ and $(1-t_i)e^{s_i}=e^{s_i+\log(1-t_i)}$, and
# appends a 0 for the 1. At $t_i=0$ or $1$ one of the logarithms is $-\infty$; the tempting fix
# is to clip $t$ to $[\epsilon,1-\epsilon]$ first. The article points out that this breaks a
# common situation: GlobalPointer-style models *mask* impossible positions by setting their
# logits to a huge negative number, say $-10^7$, with target 0 there. The first sum then
# contains $e^{10^7+\log\epsilon}$, and $\log\epsilon\approx-16$ for $\epsilon=10^{-7}$ does
# nothing against $10^7$: the loss becomes about $10^7$. Entries with $t_i=0$ must leave the
# first sum exactly (exponent $-\infty$), entries with $t_i=1$ the second, and masked positions
# both. The library does exactly that, with no $\epsilon$ at all (the logarithm of $t$ is only
# taken where $t>0$), and when no exponential can overflow it forms the weighted sums directly:
#
# ```{literalinclude} /lib/losses/multilabel.py
# :pyobject: soft_multilabel_ce
# ```

# %%
def clipped_only(logits, t, eps=1e-7):
    """The tempting implementation: clip t, add log t / log(1 - t), logsumexp with a 0."""
    tc = t.clamp(eps, 1 - eps)
    zero = torch.zeros(logits.shape[:-1] + (1,), dtype=logits.dtype)
    return (torch.logsumexp(torch.cat([-logits + tc.log(), zero], -1), -1)
            + torch.logsumexp(torch.cat([logits + (1 - tc).log(), zero], -1), -1))


s_m = torch.tensor([1.2, -0.7, 0.3, -1e7], dtype=D)  # the last position is masked by its logit
t_m = torch.tensor([0.8, 0.1, 0.6, 0.0], dtype=D)
mask = torch.tensor([True, True, True, False])
reference = soft_multilabel_ce(s_m[:3], t_m[:3])  # the masked position deleted
ch.claim("clipping-breaks", clipped_only(s_m, t_m), at_least=0.99e7,
         why="e^{1e7 + log 1e-7} dominates the first sum: loss ~ 1e7 - 16",
         statement="clip-only implementation: a logit masked at -1e7 with t = 0 gives a loss of ~1e7")
ch.claim("log-clip-eps", math.log(1e-7), equals=-16, atol=0.5,
         why="the article prints 'about -16': rounding to an integer leaves at most 0.5",
         statement="log(epsilon) for epsilon = 1e-7 is -16 to the nearest integer")
ch.source_number("-16", where="§Implementation: log epsilon for epsilon = 1e-7", fate="reproduced", claim="log-clip-eps")
ch.source_number("10^7", value=1e7, where="§Implementation: -s_i + log t_i stays a large positive number, ~10^7",
                 fate="reproduced", claim="clipping-breaks")
for v_, x_, what in (("10^{-7}", 1e-7, "clipping epsilon"), ("-10^7", -1e7, "mask value of a GlobalPointer logit")):
    ch.source_number(v_, value=x_, where=f"§Implementation: {what}", fate="out of scope",
                     reason="an input of the example, not a result")
ch.claim("exact-masking-by-t", (soft_multilabel_ce(s_m, t_m) - reference).abs(), at_most=4 * EPS,
         why="t = 0 removes the entry from the first sum exactly; e^{-1e7} = 0 in the second",
         statement="without a mask, t = 0 at the masked logit already gives the deleted-position loss")
ch.claim("exact-masking-by-mask", (soft_multilabel_ce(s_m, t_m, mask) - reference).abs(), at_most=4 * EPS,
         why="masked positions leave both sums exactly",
         statement="with an explicit mask, any target at the masked position gives the same loss");

# %% [markdown]
# The clip-only version returns {glue:text}`clipping-breaks:.4g` where the right value is a
# number of order one. Half precision adds a second trap for masks built by arithmetic, such as
# subtracting `y * 1e12` from the logits: once the constant is a float16 it is $+\infty$, and
# $0\cdot\infty$ is NaN wherever $y=0$. The library masks with `torch.where`/`masked_fill`
# and computes half-precision inputs in float32:

# %%
y16 = torch.tensor([[0.0, 1.0, 0.0, 1.0]], dtype=torch.float16)
s16 = torch.tensor([[2.0, -1.0, 1e4, -1e4]], dtype=torch.float16)
masked_by_arithmetic = s16 - y16 * torch.tensor(1e12, dtype=torch.float16)
ch.claim("fp16-arithmetic-mask-nan", bool(masked_by_arithmetic.isnan().any()), equals=True,
         why="IEEE: 1e12 overflows float16 to inf, 0 * inf = NaN",
         statement="masking by subtracting 1e12 * y produces NaN in float16")
ch.claim("fp16-lib-finite", bool(torch.isfinite(soft_multilabel_ce(s16, y16 * 0.9 + 0.05)).all()
                                 and torch.isfinite(multilabel_ce(s16, y16)).all()), equals=True,
         why="exact: masks by torch.where, sums in float32",
         statement="the library's losses are finite for float16 logits of size 1e4");


# %% [markdown]
# ## 5. Where the article is imprecise: $\sigma(2s)$ after training on hard labels
#
# The article concludes that to output probabilities "the correct way is $\sigma(2s)$, not
# $\sigma(s)$". That is exact for the soft loss trained on the probabilities themselves
# ({eq}`eq-multilabel-soft-labels-argmin`). But the usual situation is a model trained with
# **hard** labels $y_i\sim\mathrm{Bernoulli}(p_i)$; it minimises the *expected* hard loss
# $\mathbb E_y\,\mathcal L(s;y)$, which is not $\mathcal L(s;p)$ because $\mathcal L$ is not
# linear in its targets. For a single label the multi-label softmax-CE *is* BCE,
# $\log(1+e^{-s})$ or $\log(1+e^{s})$, and the expected loss is minimised at $\sigma(s)=p$, not
# $\sigma(2s)=p$. For $n$ labels with a common $p$ the expected loss is convex and symmetric in
# $s$, so its minimiser has equal entries $s$ and depends on the label set only through the
# number $m\sim\mathrm{Binomial}(n,p)$ of targets:
# $\mathbb E_m[\log(1+(n-m)e^{s})+\log(1+me^{-s})]$, a one-dimensional minimisation.

# %%
def hard_label_optimum(n_lab, p):
    """Score minimising the expected hard-label loss when all n labels are Bernoulli(p)."""
    m = np.arange(n_lab + 1)
    w = binom.pmf(m, n_lab, p)
    res = minimize_scalar(lambda v: float(np.sum(w * (np.log1p((n_lab - m) * np.exp(v))
                                                       + np.log1p(m * np.exp(-v))))),
                          bracket=(-5.0, 5.0), tol=1e-12)
    return res.x


def sigm(v):
    return 1 / (1 + math.exp(-v))


s_one = hard_label_optimum(1, 0.05)
s_ten = hard_label_optimum(10, 0.05)
ch.claim("one-label-sigma-s", abs(sigm(s_one) - 0.05), at_most=1e-8,
         why="one label: the loss is BCE, minimised at sigma(s) = p; Brent tolerance 1e-12 in s",
         statement="trained on hard labels, a single label's probability is sigma(s)")
SIGMA_2S = ("The article concludes from t = sigma(2s) that scores are turned into probabilities by "
            "sigma(2s), not sigma(s) (§Proving the result, point 2), without restricting this to "
            "training on soft targets")
ch.claim("one-label-sigma-2s", sigm(2 * s_one), at_most=0.01,
         why="would be 0.05 if sigma(2s) were calibrated; it is p^2/(p^2 + (1-p)^2), far below",
         statement="... and sigma(2s) is far below p = 0.05", erratum=SIGMA_2S)
ch.claim("ten-labels-sigma-2s", sigm(2 * s_ten), at_most=0.025,
         why="would be 0.05 if sigma(2s) were calibrated for hard labels; less than half of it",
         statement="10 labels, p = 0.05: sigma(2s*) underestimates p by more than half", erratum=SIGMA_2S)
ch.claim("many-labels-sigma-2s-error", abs(sigm(2 * hard_label_optimum(1000, 0.2)) - 0.2), at_most=1 / (1000 * 0.2),
         why="delta method: the hard-label expectation deviates from the soft loss at relative order (1-p)/(np) < 1/(np)",
         statement="1000 labels, p = 0.2: sigma(2s*) is close to p");

# %% mystnb={"figure": {"caption": "Probability read from the score that minimises the expected *hard*-label loss, all $n$ labels Bernoulli($p$). For one label $\\sigma(s)$ (dashed) is exact and $\\sigma(2s)$ (solid) is not; as the expected number of targets $np$ grows, $\\sigma(2s)$ approaches $p$ \u2014 the hard labels average out to the soft loss.", "name": "fig-multilabel-soft-labels-hard"}}
ps = np.linspace(0.01, 0.99, 50)
fig, ax = plt.subplots(figsize=(4.6, 4.2))
for c, n_lab in enumerate([1, 10, 100]):
    opt = [hard_label_optimum(n_lab, p) for p in ps]
    ax.plot(ps, [sigm(2 * v) for v in opt], color=f"C{c}", label=rf"$\sigma(2s)$, $n={n_lab}$")
    ax.plot(ps, [sigm(v) for v in opt], "--", color=f"C{c}", label=rf"$\sigma(s)$, $n={n_lab}$")
ax.plot([0, 1], [0, 1], color="k", lw=0.8)
ax.set_xlabel("label probability $p$")
ax.set_ylabel("probability read from the optimal score")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# For one label at $p=0.05$ the hard-label optimum gives $\sigma(2s)=$
# {glue:text}`one-label-sigma-2s:.4f`; for ten labels {glue:text}`ten-labels-sigma-2s:.4f`.
# With many expected targets the rule does come back: the count $m$ concentrates around $np$,
# the expected loss approaches the soft loss at $t=p$ up to terms of relative order
# $\operatorname{Var}m/(\mathbb Em)^2=(1-p)/(np)$, and at $n=1000$, $p=0.2$ the deviation is
# {glue:text}`many-labels-sigma-2s-error:.1e`. So $\sigma(2s)$ is the calibrated reading for the
# soft loss trained on probabilities (label smoothing, mixup, distillation), and approximately
# for samples with many targets; with a handful of targets per sample — the typical
# multi-label task — a hard-label model needs its probabilities calibrated on held-out data
# like any other.
#
# **The numbers the article prints.** We went through every sentence and equation of the article;
# it reports no experiment and no measured value. Its numerals with content are the factor 2 of
# $\sigma(2s)$ (section 3) and, in its implementation remark, $\log\epsilon\approx-16$ for
# $\epsilon=10^{-7}$ and the resulting exponent of order $10^7$ for a logit masked at $-10^7$
# (section 4); $\epsilon$ and the mask value are inputs of that example.
#
# ## Claims

# %%
ch.table();
