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
#     date: '2020-09-15'
#     id: 7737
#     title: 'Policy Gradient and Zeroth-Order Optimisation: Different Roads to the
#       Same Place'
#     title_zh: "\u6B8A\u9014\u540C\u5F52\u7684\u7B56\u7565\u68AF\u5EA6\u4E0E\u96F6\u9636\
#       \u4F18\u5316"
#     url: https://kexue.fm/archives/7737
# ---

# %% [markdown]
# (ch-policy-gradient-zeroth-order)=
# # Policy gradient and zeroth-order optimisation
#
# Accuracy, F1 and BLEU come from an argmax, so their gradient is zero almost everywhere. The
# **policy gradient** (REINFORCE) differentiates the expected reward of the model's softmax;
# **zeroth-order optimisation** correlates random parameter perturbations with the score. The
# article argues that both give roughly the same direction. Sharper: for Gaussian perturbations
# the zeroth-order gradient is *exactly* that of a smoothed objective, for a linear softmax model
# a probit policy of temperature (perturbation size)$\times\|x\|$. The roads meet only with the
# temperature tied to the perturbation; at $\tau=1$ and a small perturbation they can be far apart.
#
# :::{prf:theorem} Two estimators of the gradient of an argmax objective
# :label: thm-policy-gradient-zeroth-order
# Let $p_\tau(k\mid x)=\mathrm{softmax}_k(x^\top W/\tau)$ with $W\in\mathbb R^{d\times C}$, rewards
# $r_{ik}$, the surrogate $J_\tau(W)=\frac1n\sum_{i,k}p_\tau(k\mid x_i)r_{ik}$ and the argmax
# objective $R(W)=\frac1n\sum_ir_{i,\arg\max_k x_i^\top W_{:k}}$.
#
# 1. $\nabla_WJ_\tau=\frac1{n\tau}\sum_ix_i\bigl[p_i\odot(r_i-\langle p_i,r_i\rangle)\bigr]^\top$
#    is the mean of the REINFORCE estimate $\hat g=\frac1n\sum_i(r_{iy_i}-b_i)\nabla_W\log
#    p_\tau(y_i\mid x_i)$, $y_i\sim p_\tau(\cdot\mid x_i)$, for any baselines $b_i$ independent
#    of $y_i$; its total variance is smallest at
#    $b_i^*=\sum_kp_{ik}r_{ik}\|e_k-p_i\|^2\big/\sum_kp_{ik}\|e_k-p_i\|^2$.
# 2. For $U$ with i.i.d. standard normal entries, $R$ bounded (continuous or not) and any
#    constant $b$, $\tfrac1\varepsilon\,\mathbb E\bigl[(R(W+\varepsilon U)-b)\,U\bigr]
#    =\nabla_W\bar R_\varepsilon(W)$, where $\bar R_\varepsilon(W)=\mathbb E\,R(W+\varepsilon U)$
#    is the expected reward of the multinomial-probit policy that picks class $k$ for example $i$
#    with probability $P[\arg\max_c(x_i^\top W_{:c}+\varepsilon\|x_i\|\xi_c)=k]$, $\xi\sim\mathcal N(0,I_C)$.
# 3. For differentiable $f$, the variance-optimal zeroth-order baseline $b^*=\mathbb
#    E[f(x+\varepsilon u)\|u\|^2]/\mathbb E\|u\|^2$ is $f(x)+O(\varepsilon^2)$ for standard normal
#    $u$, but only $f(x)+O(\varepsilon)$ for a general $u$ with mean 0 and covariance $I$.
# :::
#
# The article is {cite}`7737-su-policy-zeroth`; REINFORCE is Williams' {cite}`7737-williams-reinforce`,
# the smoothing reading Nesterov and Spokoiny's {cite}`7737-nesterov-random`; the article cites
# gradientless descent {cite}`7737-golovin-gld` and its own sampling view {cite}`7737-su-sampling`.
# Parts 2–3 of the theorem and all experiments are this chapter's: the article runs none.

# %% tags=["hide-input"]
import itertools
import math
from fractions import Fraction
from statistics import mean, pvariance

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

from lib.book import Chapter, show_table
from lib.optimization import (
    argmax_objective,
    grad_cosine,
    grad_cosine_mc,
    probit_smoothed_grad_exact,
    probit_smoothed_objective,
    reinforce_grad,
    reinforce_variance_exact,
    softmax_policy_grad_exact,
    zo_grad,
)
from lib.softmax import perturb_max_probs
from lib.stats import mc_tolerance, mean_se

ch = Chapter("policy-gradient-zeroth-order", seed=7737)
EPS = np.finfo(np.float64).eps

# %% [markdown]
# The data: $n=300$ points in the plane, three classes with means $(0,2)$, $(-1.7,-1)$,
# $(1.7,-1)$ and unit Gaussian noise, a bias column (so $W$ has 9 entries), the accuracy reward
# $r_{ik}=\mathbb 1[k=y_i]$, and a random start $W_0$ with entries $0.3\,\mathcal N(0,1)$, which
# classifies {glue:text}`accuracy-w0:.3f` of the points correctly.

# %%
rng, n, C = ch.rng, 300, 3
labels = rng.integers(0, C, n)
means = np.array([[0.0, 2.0], [-1.7, -1.0], [1.7, -1.0]])
X = np.c_[means[labels] + rng.standard_normal((n, 2)), np.ones(n)]
R = np.eye(C)[labels]
W0 = 0.3 * rng.standard_normal((3, C))
idx, BASIS = np.arange(n), np.eye(9).reshape(9, 3, C)  # BASIS: the 9 unit directions E_ac
accuracy = lambda W: R[idx, (X @ W).argmax(1)].mean()  # R(W), fast for the many ZO calls
ch.claim("accuracy-fast-equals-lib", accuracy(W0), equals=argmax_objective(W0, X, R),
         why="exact: the same average of 0/1 values", statement="the fast R(W) is the library's")
_ = ch.measured("accuracy-w0", accuracy(W0), why="descriptive: accuracy at the random start")

# %% [markdown]
# ## 1. The policy gradient, REINFORCE and the baseline
#
# The policy-gradient route replaces the piecewise-constant $R$ by the smooth $J_\tau$. The
# article links the two by the rearrangement inequality ($\sum_ka_kb_k$ is largest when $a$ and $b$
# are sorted alike, smallest in opposite orders, whatever the signs): $J_\tau$ prefers
# probabilities sorted like the rewards, the top class as $R$ does, and the runners-up too.
# With $z=x^\top W/\tau$ and $p=\mathrm{softmax}(z)$, the softmax Jacobian
# $\partial p_k/\partial z_j=p_k(\delta_{kj}-p_j)$ gives
#
# $$
# \begin{gathered}
# \frac{\partial}{\partial z}\sum_kp_kr_k=p\odot(r-\langle p,r\rangle)=\sum_kp_k\,r_k\,(e_k-p),\\
# \nabla_W\log p_\tau(k\mid x)=\frac{x\,(e_k-p)^\top}{\tau}.
# \end{gathered}
# $$ (eq-policy-gradient-zeroth-order-jac)
#
# The first form is `softmax_policy_grad_exact`; the second is an expectation over $k\sim p$,
# which REINFORCE estimates with one sampled class per example:
#
# $$
# \hat g=\frac1n\sum_i\bigl(r_{iy_i}-b_i\bigr)\nabla_W\log p_\tau(y_i\mid x_i),\qquad y_i\sim p_\tau(\cdot\mid x_i).
# $$ (eq-policy-gradient-zeroth-order-reinforce)
#
# A baseline $b_i$ leaves the mean unchanged, as $\mathbb E_{k\sim p}[\nabla\log p_k]=
# \sum_k\nabla p_k=\nabla 1=0$. The draws of different examples are independent, so the total
# variance (trace of the covariance) is a sum of finite sums over classes,
#
# $$
# \begin{gathered}
# \mathrm{tr\,Cov}\,\hat g=\frac1{n^2}\sum_iV_i,\\
# V_i=\frac{\|x_i\|^2}{\tau^2}\sum_kp_{ik}(r_{ik}-b_i)^2\|e_k-p_i\|^2-\|\nabla_WJ_i\|^2,
# \end{gathered}
# $$ (eq-policy-gradient-zeroth-order-var)
#
# with $J_i$ example $i$'s term of $J_\tau$. Its minimiser over $b_i$ is the article's optimal
# baseline, a reward average weighted by $p_k\|\nabla\log p_k\|^2$, simplified there to the mean
# $b_i=\sum_kp_{ik}r_{ik}$. Checked: the rearrangement inequality (200 random cases), then the
# four identities symbolically for $C=3$:

# %%
worst_hi, worst_lo = math.inf, math.inf
for _ in range(200):
    a, b = np.sort(rng.normal(size=5))[::-1], np.sort(rng.normal(size=5))[::-1]
    sums = np.array([a @ b[list(s)] for s in itertools.permutations(range(5))])
    worst_hi, worst_lo = min(worst_hi, a @ b - sums.max()), min(worst_lo, sums.min() - a @ b[::-1])
ch.claim("rearrangement-same-order", worst_hi, at_least=0.0, atol=8 * EPS,
         why="float64 rounding of 5-term sums",
         statement="same order gives the largest sum (200 cases x 120 orders)")
ch.claim("rearrangement-reverse-order", worst_lo, at_least=0.0, atol=8 * EPS,
         why="float64 rounding of 5-term sums", statement="reverse order gives the smallest sum")
zs, rs = sp.symbols("z1:4", real=True), sp.symbols("r1:4", real=True)
tau_s, b_s = sp.symbols("tau", positive=True), sp.symbols("b", real=True)
ps = [sp.exp(v / tau_s) / sum(sp.exp(w / tau_s) for w in zs) for v in zs]
Jsym = sum(p * r for p, r in zip(ps, rs, strict=True))
pk, wk = sp.symbols("p1:4", positive=True), sp.symbols("w1:4", positive=True)
var_sym = sum(p * (r - b_s) ** 2 * w for p, r, w in zip(pk, rs, wk, strict=True))
b_star = sp.solve(sp.diff(var_sym, b_s), b_s)[0]
for name, residuals, what in [
        ("jacobian-sympy", [sp.diff(Jsym, zs[j]) - ps[j] * (rs[j] - Jsym) / tau_s for j in range(3)],
         "d/dz sum_k p_k r_k = p * (r - <p, r>) / tau (C = 3)"),
        ("score-sympy", [sp.diff(sp.log(ps[k]), zs[j]) - (int(k == j) - ps[j]) / tau_s
                         for k in range(3) for j in range(3)], "d log p_k / dz_j = (delta_kj - p_j) / tau"),
        ("baseline-sum-sympy", [sum(sp.diff(p, zs[j]) for p in ps) for j in range(3)],
         "sum_k grad p_k = 0, so a baseline does not change the mean"),
        ("optimal-baseline-sympy", [b_star - sum(p * r * w for p, r, w in zip(pk, rs, wk, strict=True))
                                    / sum(p * w for p, w in zip(pk, wk, strict=True))],
         "argmin_b sum_k p_k (r_k - b)^2 w_k = sum p r w / sum p w")]:
    ch.claim(name, all(sp.simplify(e) == 0 for e in residuals), equals=True,
             why="exact symbolic", statement=what)


# %% [markdown]
# ```{literalinclude} /lib/optimization/zeroth_order.py
# :pyobject: softmax_policy_grad_exact
# ```
#
# The closed form is checked against the complex-step derivative $\partial J/\partial W_{ac}=
# \mathrm{Im}\,J(W+ih\,E_{ac})/h$ of $J_\tau$ rewritten in complex arithmetic ($h=10^{-30}$
# leaves only rounding). REINFORCE runs on the shifted rewards $r+5$, the case a baseline is for:
# over $M=20\,000$ draws each of the 9 entries must sit within a few standard errors of the exact
# gradient, whatever the baseline, and the variance must match
# {eq}`eq-policy-gradient-zeroth-order-var`. That $b^*_i$ minimises it is checked by central
# differences in all 300 $b_i$ (exact up to rounding for a quadratic), against the mean baseline
# as negative control.

# %%
def surrogate_c(W, tau):  # J_tau(W) rewritten, in complex arithmetic
    z = X @ W / tau
    e = np.exp(z - z.real.max(1, keepdims=True))
    return ((e / e.sum(1, keepdims=True)) * R).sum(1).mean()


cs_grad = lambda W, t: np.array([surrogate_c(W + 1e-30j * E, t).imag / 1e-30 for E in BASIS])
pg = softmax_policy_grad_exact(W0, X, R)
cs_err = max(np.abs(softmax_policy_grad_exact(W0, X, R, t).ravel() - cs_grad(W0, t)).max()
             for t in (0.3, 1.0))
ch.claim("pg-vs-complex-step", cs_err, at_most=1e-14,
         why="float64 rounding of averages of n = 300 terms of size <= 3/tau (~n eps)",
         statement="the closed-form gradient equals the complex-step derivative (tau = 0.3, 1)")
ch.claim("pg-shift-invariant", np.abs(softmax_policy_grad_exact(W0, X, R + 5) - pg).max(),
         at_most=1e-14, why="rounding of r + 5 - <p, r + 5>: a few eps x 6 per term",
         statement="adding a constant to all rewards leaves the policy gradient unchanged")
M, R5 = 20_000, R + 5.0
exact_var, mc_var = {}, {}
for b in (None, "mean", "optimal"):
    out = reinforce_grad(W0, X, R5, M, np.random.default_rng(1), baseline=b)
    m, se = mean_se(out, dim=0)
    ch.claim(f"reinforce-unbiased-{b}", np.abs((m - pg) / se).max(), at_most=4.5,
             why="largest |z| of 9 entries; 4.5 sigma two-sided tail ~7e-6 each",
             statement=f"REINFORCE (baseline {b}) is unbiased for the exact gradient")
    mc_var[b] = mean_se(((out - out.mean(0)) ** 2).reshape(M, -1).sum(1) * M / (M - 1))
    exact_var[b] = reinforce_variance_exact(W0, X, R5, baseline=b)
    tol, why = mc_tolerance(mc_var[b][1])
    ch.claim(f"variance-exact-{b}", mc_var[b][0], equals=exact_var[b], atol=tol, why=why,
             statement=f"measured total variance = Eq. (var), baseline {b}")
ch.claim("variance-ratio-none-mean", exact_var[None] / exact_var["mean"], at_least=10.0,
         why="exact ratio (no sampling error); 10 = one order of magnitude",
         statement="the mean baseline cuts the variance by more than 10x (rewards r + 5)")
ch.claim("variance-optimal-below-mean", exact_var["mean"] - exact_var["optimal"], at_least=0.0,
         why="exact values", statement="the optimal baseline is at least as good as the mean")
ch.measured("opt-gain", exact_var["mean"] / exact_var["optimal"], why="descriptive: exact ratio")
show_table(["baseline", "exact total variance", "measured (M = 20 000)"],
           [[str(b), f"{exact_var[b]:.5f}", f"{mc_var[b][0]:.5f} ± {mc_var[b][1]:.5f}"]
            for b in exact_var])

# %%
var_b = lambda b: reinforce_variance_exact(W0, X, R5, baseline=b)
fd_slope = lambda b, h=1e-3: max(abs(var_b(b + h * e) - var_b(b - h * e)) / (2 * h)  # max_i |dVar/db_i|
                                 for e in np.eye(n))
P0 = torch.softmax(torch.tensor(X @ W0), 1).numpy()
sq = 1 - 2 * P0 + (P0 ** 2).sum(1, keepdims=True)
ch.claim("optimal-baseline-stationary", fd_slope((P0 * sq * R5).sum(1) / (P0 * sq).sum(1)),
         at_most=1e-12, why="central difference of a quadratic is exact; rounding ~eps x variance / h",
         statement="d Var / d b_i = 0 at the optimal baseline (all 300 examples)")
ch.claim("mean-baseline-not-stationary", fd_slope((P0 * R5).sum(1)), at_least=1e-8,
         why="negative control: the same test must fail for the simplified baseline",
         statement="the mean baseline is not a stationary point")

# %% [markdown]
# The closed form agrees with the complex step to {glue:text}`pg-vs-complex-step:.1e`; shifting
# the rewards by 5 moves it by {glue:text}`pg-shift-invariant:.1e`. Without a baseline the variance
# is {glue:text}`variance-ratio-none-mean:.0f` times the mean baseline's; the optimum is lower
# still, by a factor {glue:text}`opt-gain:.2f`.
#
# ## 2. The zeroth-order gradient
#
# The zeroth-order route perturbs the parameters, not the prediction: for a scalar $f$, $u\sim
# p(u)$ with $\mathbb Eu=0$, $\mathbb Euu^\top=I$ (standard normal in practice) and small $\varepsilon>0$,
#
# $$
# \tilde\nabla f(x)=\mathbb E_u\Bigl[\frac{f(x+\varepsilon u)-b}{\varepsilon}\,u\Bigr],\qquad b=f(x).
# $$ (eq-policy-gradient-zeroth-order-zo)
#
# Since $\mathbb Eu=0$, $b$ does not change the mean: it is a baseline, as in REINFORCE. For
# differentiable $f$, Taylor gives $\tilde\nabla f\to\nabla f$ as $\varepsilon\to0$; for a
# quadratic at every $\varepsilon$, as $\tfrac\varepsilon2\mathbb E[(u^\top Au)u]$ has only odd
# Gaussian moments (checked below with `zo_grad` on a random quadratic in $d=4$).
#
# **The optimal baseline.** Minimising $\mathbb E[(f(x+\varepsilon u)-b)^2\|u\|^2]$ over $b$
# gives $b^*=\mathbb E[f(x+\varepsilon u)\|u\|^2]/\mathbb E\|u\|^2$, which the article says is
# $f(x)+O(\varepsilon^2)$. For a quadratic with gradient $g$ and Hessian $A$, and i.i.d.
# coordinates with third and fourth moments $m_3$, $m_4$:
#
# $$
# b^*-f(x)=\frac{\varepsilon\,m_3\sum_jg_j+\tfrac{\varepsilon^2}2\,(m_4+d-1)\,\mathrm{tr}A}{d}.
# $$ (eq-policy-gradient-zeroth-order-bstar)
#
# For the standard normal ($m_3=0$, $m_4=3$) this is $\varepsilon^2(d+2)\,\mathrm{tr}A/(2d)$,
# $O(\varepsilon^2)$ as the article says; but its $p(u)$ is *any* zero-mean, identity-covariance
# law, and a skewed one has $m_3\neq0$ (Section 4). SymPy derives
# {eq}`eq-policy-gradient-zeroth-order-bstar` for $d=2,3,4$ by replacing every monomial
# $u_1^{a_1}\cdots u_d^{a_d}$ by $\prod_jm_{a_j}$, with only $m_0=1$, $m_1=0$, $m_2=1$ fixed:

# %%
A = rng.normal(size=(4, 4))
A = A + A.T
c4, x4 = rng.normal(size=4), rng.normal(size=4)
worst_z = 0.0
for e in (0.1, 1.0, 3.0):
    m, se = mean_se(zo_grad(lambda x: 0.5 * x @ A @ x + c4 @ x, x4, e, M,
                            np.random.default_rng(2)), dim=0)
    worst_z = max(worst_z, np.abs((m - (A @ x4 + c4)) / se).max())
ch.claim("zo-quadratic-exact", worst_z, at_most=4.5,
         why="largest |z| of 4 entries x 3 eps; 4.5 sigma two-sided tail ~7e-6 each",
         statement="the zeroth-order gradient of a quadratic is its gradient at any eps")
m3s, m4s, eps_s = sp.symbols("m3 m4 epsilon", real=True)
MOM = {0: 1, 1: 0, 2: 1, 3: m3s, 4: m4s}
expect = lambda poly, us: sum(c * sp.prod([MOM[a] for a in mono])  # E over i.i.d. coordinates
                              for mono, c in sp.Poly(sp.expand(poly), *us).terms())
bstar_ok = True
for d in (2, 3, 4):
    us, gs = sp.symbols(f"u1:{d + 1}"), sp.symbols(f"g1:{d + 1}")
    As = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"A{min(i, j)}{max(i, j)}"))
    delta = eps_s * sum(g * u for g, u in zip(gs, us, strict=True)) \
        + eps_s**2 / 2 * (sp.Matrix(us).T * As * sp.Matrix(us))[0]
    rhs = (eps_s * m3s * sum(gs) + eps_s**2 / 2 * (m4s + d - 1) * As.trace()) / d
    bstar_ok &= sp.expand(expect(delta * sum(u**2 for u in us), us) / d - rhs) == 0
ch.claim("bstar-moments-sympy", bstar_ok, equals=True, why="exact symbolic (d = 2, 3, 4)",
         statement="Eq. (bstar): b* - f(x) for a quadratic and i.i.d. coordinates")

# %% [markdown]
# ## 3. Where the two roads meet
#
# **Gaussian smoothing (not in the article).** For $u\sim\mathcal N(0,I)$ and $h$ bounded,
# continuous or not, write the expectation as a convolution with the density
# $\varphi_\varepsilon(v-\theta)$ of $\theta+\varepsilon u$ and move the derivative onto it:
#
# $$
# \nabla_\theta\,\mathbb E\,h(\theta+\varepsilon u)=\int h(v)\,\nabla_\theta\varphi_\varepsilon(v-\theta)\,dv
# =\frac1\varepsilon\,\mathbb E\bigl[h(\theta+\varepsilon u)\,u\bigr].
# $$ (eq-policy-gradient-zeroth-order-stein)
#
# The zeroth-order gradient is thus *unbiased* for the gradient of the smoothed
# $\bar h_\varepsilon(\theta)=\mathbb E\,h(\theta+\varepsilon u)$ at every $\varepsilon$, with no
# limit and no smoothness. **The smoothed argmax objective is a probit policy:** $\varepsilon U$
# adds to the logits of example $i$ the $C$ independent $\mathcal N(0,\varepsilon^2\|x_i\|^2)$
# entries of $\varepsilon x_i^\top U$. Therefore
#
# $$
# \bar R_\varepsilon(W)=\frac1n\sum_i\sum_kr_{ik}P_{ik},\qquad
# P_{ik}=\mathbb E_t\prod_{j\ne k}\Phi\Bigl(\frac{z_{ik}-z_{ij}}{\sigma_i}+t\Bigr),
# $$ (eq-policy-gradient-zeroth-order-probit)
#
# with $\sigma_i=\varepsilon\|x_i\|$ and $t\sim\mathcal N(0,1)$. The library evaluates it and its
# exact gradient (differentiating under the one-dimensional integral) by Gauss–Hermite quadrature:
#
# ```{literalinclude} /lib/optimization/zeroth_order.py
# :pyobject: probit_smoothed_grad_exact
# ```
#
# Checks: {eq}`eq-policy-gradient-zeroth-order-stein` for a step function (both sides are
# $\varphi(\theta/\varepsilon)/\varepsilon$); the probabilities against the perturb-and-argmax
# chapter's separate quadrature; the objective against Monte Carlo over $R(W_0+\varepsilon U)$;
# the gradient against central differences (step halving estimates their truncation error).

# %%
th, ep, uu = sp.symbols("theta epsilon u", positive=True)
phi = sp.exp(-uu**2 / 2) / sp.sqrt(2 * sp.pi)
lhs = sp.integrate(uu * phi, (uu, -th / ep, sp.oo)) / ep  # E[1{theta + eps u > 0} u] / eps
rhs = sp.diff(sp.integrate(phi, (uu, -th / ep, sp.oo)), th)  # d/dtheta P(theta + eps u > 0)
ch.claim("stein-step-sympy", sp.simplify(lhs - rhs) == 0, equals=True, why="exact symbolic",
         statement="Eq. (stein) for h = step function: both sides are phi(theta/eps)/eps")
eps0, sig = 0.5, 0.5 * np.linalg.norm(X, axis=1)
P_lib = perturb_max_probs(torch.tensor((X @ W0) / sig[:, None]), noise="normal", nodes=64).numpy()
ch.claim("probit-vs-perturb-max",
         abs(probit_smoothed_objective(W0, X, R, eps0) - (P_lib * R).sum(1).mean()), at_most=1e-12,
         why="two Gauss-Hermite rules of 64 nodes, each accurate to ~1e-13",
         statement="Eq. (probit) agrees with the perturb-and-argmax quadrature")
U = np.random.default_rng(3).standard_normal((10_000, 3, C))
m, se = mean_se(R[idx, np.einsum("nd,mdc->mnc", X, W0 + eps0 * U).argmax(2)].mean(1))
tol, why = mc_tolerance(se)
ch.claim("probit-vs-monte-carlo", m, equals=probit_smoothed_objective(W0, X, R, eps0), atol=tol,
         why=why, statement="Eq. (probit) = E R(W0 + eps U) by Monte Carlo")
fd_err = 0.0
for e in (0.05, 0.5):
    obj = lambda W, e=e: probit_smoothed_objective(W, X, R, e)
    f1, f2 = (np.array([(obj(W0 + h * E) - obj(W0 - h * E)) / (2 * h) for E in BASIS]).reshape(3, C)
              for h in (1e-4, 5e-5))
    trunc = np.abs(f1 - f2).max() / 3  # step halving: the O(h^2) error of f2 is ~|f1 - f2| / 3
    fd_err = max(fd_err, np.abs(probit_smoothed_grad_exact(W0, X, R, e) - f2).max() / (trunc + 1e-10))
ch.claim("probit-grad-vs-fd", fd_err, at_most=4.0,
         why="error / (step-halving truncation estimate + 1e-10 rounding floor); 4x margin",
         statement="the exact probit gradient matches finite differences (eps = 0.05, 0.5)")

# %% [markdown]
# **Comparing directions.** Run on the discontinuous accuracy with $M=20\,000$ perturbations,
# the zeroth-order mean must be the exact probit gradient at every $\varepsilon$
# ({eq}`eq-policy-gradient-zeroth-order-stein`). The table gives its cosine with the exact policy
# gradient at $\tau=1$ (the article's default) and $\tau=0.3$, with a bootstrap standard error
# (200 batch means of 100 draws), and the noise-free cosine of the exact smoothed gradient.

# %%
eps_list = (0.05, 0.2, 0.5, 1.0)
zo_draws = {e: zo_grad(accuracy, W0, e, M, np.random.default_rng(4)) for e in eps_list}
smooth = {e: probit_smoothed_grad_exact(W0, X, R, e) for e in eps_list}
for e in eps_list:
    m, se = mean_se(zo_draws[e], dim=0)
    ch.claim(f"stein-argmax-eps{e}", np.abs((m - smooth[e]) / se).max(), at_most=4.5,
             why="largest |z| of 9 entries; 4.5 sigma two-sided tail ~7e-6 each",
             statement=f"zeroth-order mean on the accuracy = exact probit gradient (eps = {e})")
pg_tau = {t: softmax_policy_grad_exact(W0, X, R, t) for t in (1.0, 0.3)}
cos_mc = {(e, t): grad_cosine_mc(zo_draws[e], pg_tau[t], rng) for e in eps_list for t in (1.0, 0.3)}
show_table(["ε", "cos vs PG, τ = 1", "cos vs PG, τ = 0.3"],
           [[f"{e:g}"] + [f"{cos_mc[e, t][0]:.3f} ± {cos_mc[e, t][1]:.3f} "
                          f"(exact {grad_cosine(smooth[e], pg_tau[t]):.3f})" for t in (1.0, 0.3)]
            for e in eps_list])
ch.claim("cos-eps05-tau1", grad_cosine(smooth[0.5], pg_tau[1.0]), at_least=0.95,
         why="noise-free (quadrature); 0.95 = 'same direction within 18 degrees'",
         statement="at eps = 0.5 the zeroth-order direction is the tau = 1 policy gradient's")
ch.claim("cos-eps05-tau1-mc", cos_mc[0.5, 1.0][0], equals=grad_cosine(smooth[0.5], pg_tau[1.0]),
         atol=4 * cos_mc[0.5, 1.0][1], why="4 bootstrap standard errors of the Monte-Carlo cosine",
         statement="the Monte-Carlo cosine agrees with the exact one")

# %% [markdown]
# At $\varepsilon=0.5$ the directions agree, as the article says. At $\varepsilon=0.05$ the cosine
# with the $\tau=1$ gradient is low, and not from Monte-Carlo noise: the exact cosine is low too.
#
# ## 4. Where the article is imprecise
#
# **The equivalence needs $\tau$ tied to $\varepsilon$.** The article's final step replaces the
# indicator of the region where the perturbed model predicts $y$ by
# $p_{\theta+\varepsilon u}(y\mid x)$, exact only as $\tau\to0$, then expands it to first order in
# $\varepsilon$, accurate only if the logits move by much less than $\tau$
# ($\varepsilon\|x\|\ll\tau$). The two steps pull in opposite directions; the exact cosine over
# $(\varepsilon,\tau)$ ({numref}`fig-policy-gradient-zeroth-order-errata`, left) shows where they
# balance. With $\tau=1$ and a small $\varepsilon$, "approximately the policy gradient" fails:

# %%
eps_grid, tau_grid = np.geomspace(0.01, 3, 40), np.geomspace(0.01, 10, 400)
PGs = [softmax_policy_grad_exact(W0, X, R, t) for t in tau_grid]
ZOs = [probit_smoothed_grad_exact(W0, X, R, e) for e in eps_grid]
cosmap = np.array([[grad_cosine(z, g) for g in PGs] for z in ZOs])  # (eps, tau)
tau_star = tau_grid[cosmap.argmax(1)]
ch.claim("best-cos-every-eps", cosmap.max(1).min(), at_least=0.99,
         why="noise-free; 0.99 = 'same direction within 8 degrees'",
         statement="for every eps in [0.01, 3] some tau makes the directions agree")
ch.claim("tau-star-monotone", np.diff(tau_star).min(), at_least=0.0,
         why="exact comparison on the grid", statement="the best temperature grows with eps")
ch.measured("tau-star-slope", np.median(tau_star / eps_grid), why="descriptive: median of tau*/eps")
ch.claim("erratum-small-eps-tau1", grad_cosine(smooth[0.05], pg_tau[1.0]), at_most=0.8,
         why="noise-free (quadrature); cos 0.8 = 37 degrees apart",
         statement="at eps = 0.05 the zeroth-order direction is far from the tau = 1 PG",
         erratum="The zeroth-order gradient of the argmax objective is approximately the policy "
                 "gradient, with tau = 1 by default and eps a small positive number (§貌离神合, "
                 "§形式描述, §零阶梯度)")
ch.claim("small-eps-small-tau", cosmap[np.argmin(np.abs(eps_grid - 0.05))].max(), at_least=0.99,
         why="noise-free; 0.99 = 'same direction within 8 degrees'",
         statement="the same eps = 0.05 direction matches a policy gradient at a small tau")

# %% [markdown]
# The best temperature is $\tau^*\approx$ {glue:text}`tau-star-slope:.2f`$\,\varepsilon$ (median
# over the grid): $\varepsilon$ acts as a temperature. At $\varepsilon=0.05$ the cosine with the
# $\tau=1$ policy gradient is {glue:text}`erratum-small-eps-tau1:.3f`, with the best temperature
# {glue:text}`small-eps-small-tau:.4f`. The match is not exact because the noise is Gaussian:
# Gumbel noise would make the argmax follow a softmax exactly (the Gumbel-max trick).
#
# **$b^*=f(x)+O(\varepsilon^2)$ needs a symmetric $p(u)$.** The article allows any $p(u)$ with zero
# mean and identity covariance. By {eq}`eq-policy-gradient-zeroth-order-bstar` the first-order
# term is $\varepsilon m_3\sum_jg_j/d$, zero for symmetric $p(u)$ but not for a skewed one. Take
# $u_j=E_j-1$, $E_j$ standard exponential: SymPy gives its moments, Monte Carlo confirms
# {eq}`eq-policy-gradient-zeroth-order-bstar` at $\varepsilon=0.3$.

# %%
xe = sp.symbols("x", positive=True)
m3e, m4e = (sp.integrate((xe - 1) ** k * sp.exp(-xe), (xe, 0, sp.oo)) for k in (3, 4))
ch.claim("exp-moments-sympy", (m3e, m4e) == (2, 9), equals=True, why="exact symbolic",
         statement="centred exponential: m3 = 2, m4 = 9")
d3, g3v, A3 = 3, A[:3, :3] @ x4[:3] + c4[:3], A[:3, :3]
bstar_gap = lambda e, m3, m4: (e * m3 * g3v.sum() + e**2 / 2 * (m4 + d3 - 1) * np.trace(A3)) / d3
ue = np.random.default_rng(7).exponential(size=(400_000, 3)) - 1  # E|u|^2 = d exactly
m, se = mean_se((0.3 * ue @ g3v + 0.09 / 2 * np.einsum("mi,ij,mj->m", ue, A3, ue))  # f(x+eps u)-f(x)
                * (ue**2).sum(1) / d3)  # times |u|^2 / d, at eps = 0.3
tol, why = mc_tolerance(se)
ch.claim("bstar-exp-monte-carlo", m, equals=bstar_gap(0.3, 2, 9), atol=tol, why=why,
         statement="Eq. (bstar) for centred-exponential u at eps = 0.3 (E|u|^2 = d exactly)")
slope = {k: math.log(abs(bstar_gap(2e-3, *mm) / bstar_gap(1e-3, *mm))) / math.log(2)
         for k, mm in {"normal": (0, 3), "exponential": (2, 9)}.items()}
ch.claim("bstar-slope-normal", slope["normal"], equals=2.0, atol=1e-9,
         why="exact eps^2 law; float64 rounding", statement="Gaussian u: b* - f(x) = O(eps^2)")
ch.claim("erratum-bstar-slope-skewed", slope["exponential"], at_most=1.5,
         why="exact Eq. (bstar); the article's O(eps^2) would give a log-log slope of 2",
         statement="skewed u: b* - f(x) is O(eps), log-log slope ~1",
         erratum="For differentiable f the optimal baseline is f(x) + O(eps^2), for p(u) any "
                 "zero-mean identity-covariance distribution (§也有baseline, §零阶梯度)")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left: exact cosine between the zeroth-order gradient of the accuracy (the probit gradient, {eq}`eq-policy-gradient-zeroth-order-probit`) and the policy gradient at temperature $\\tau$; white curve, the best $\\tau$ for each $\\varepsilon$; dots, the table's pairs. Right: $|b^*-f(x)|$ for a quadratic in $d=3$ ({eq}`eq-policy-gradient-zeroth-order-bstar`): slope 2 for symmetric perturbations, as the article says, but 1 for a zero-mean, unit-variance exponential one.", "name": "fig-policy-gradient-zeroth-order-errata"}}
fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
mesh = ax.pcolormesh(eps_grid, tau_grid, cosmap.T, vmin=0.5, vmax=1, shading="auto")
ax.plot(eps_grid, tau_star, "w-", label=r"best $\tau$")
ax.plot([e for e in eps_list for _ in (1, 2)], [1.0, 0.3] * 4, "o", color="C1", label="table")
ax.set(xscale="log", yscale="log", ylim=(0.01, 10), xlabel=r"perturbation size $\varepsilon$",
       ylabel=r"temperature $\tau$")
ax.grid(False)
fig.colorbar(mesh, ax=ax, label="cosine")
ax.legend(loc="lower right")
es = np.geomspace(1e-3, 0.3, 60)
for lab, mm in {"normal": (0, 3), "Rademacher": (0, 1), "centred exponential": (2, 9)}.items():
    bx.loglog(es, np.abs(bstar_gap(es, *mm)), label=lab)
bx.set(xlabel=r"$\varepsilon$", ylabel=r"$|b^*-f(x)|$")
bx.legend()
plt.show()

# %% [markdown]
# For the centred exponential the log–log slope at small $\varepsilon$ is
# {glue:text}`erratum-bstar-slope-skewed:.3f`, not 2. The article's recommended (symmetric) standard
# normal is safe; the general statement is too broad.
#
# ## 5. The article's numbers, and what is left out
#
# The article has no experiments. It prints the numbers of its variance example (lists with
# mean 5, $[4,5,6]$ and $[-10,10,15]$, whose single draws miss it by at most 1 and by 5 to 15),
# checked below exactly; the default $\tau=1$, a convention; and the order $O(\varepsilon^2)$ of
# $b^*-f(x)$, contradicted in Section 4. The list comes from reading the article section by
# section; equation numbers, indices and the arXiv identifier are not counted.

# %%
la, lb = [Fraction(v) for v in (4, 5, 6)], [Fraction(v) for v in (-10, 10, 15)]
err_a, err_b = [abs(v - mean(la)) for v in la], [abs(v - mean(lb)) for v in lb]
for name, value, printed, what in [
        ("example-mean-a", mean(la), 5, "mean of [4, 5, 6]"),
        ("example-mean-b", mean(lb), 5, "mean of [-10, 10, 15]"),
        ("example-var-a", pvariance(la), 0.67, "variance of [4, 5, 6] (2/3)"),
        ("example-var-b", pvariance(lb), 116.67, "variance of [-10, 10, 15] (350/3)"),
        ("example-maxerr-a", max(err_a), 1, "worst single-draw error, first list"),
        ("example-maxerr-b", max(err_b), 15, "worst single-draw error, second list"),
        ("example-minerr-b", min(err_b), 5, "best single-draw error, second list")]:
    ch.claim(name, float(value), equals=printed, atol=0.005 if "var" in name else 0.0,
             why="exact rational; variances printed to 2 decimals", statement=what)
    ch.source_number(str(printed), where="§降低方差 (variance example)", fate="reproduced", claim=name)
ch.source_number("1", where="§形式描述: default temperature tau = 1", fate="out of scope",
                 reason="a convention, not a result; it is the tau of the erratum comparison")
ch.source_number("O(ε²)", value=2.0, where="§也有baseline: b* = f(x) + O(eps^2) for any p(u)",
                 fate="contradicted", claim="erratum-bstar-slope-skewed")

# %% [markdown]
# Left out for length (none of it backs the theorem, an erratum or a printed number): training
# the classifier with the three estimators; the best *constant* REINFORCE baseline; the growth
# $(d+1)\|g\|^2$ of the zeroth-order variance with the dimension (the weakness the article
# names); the variance the baseline $f(x)$ saves on the accuracy; a check of Gumbel-max.
#
# ## Claims

# %%
ch.table()
