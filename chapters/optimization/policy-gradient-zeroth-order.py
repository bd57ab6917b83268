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
# Accuracy, F1 and BLEU are computed from an argmax, so their gradient is zero almost everywhere.
# Two standard ways around this look unrelated: the **policy gradient** replaces the argmax by
# sampling from the model's softmax and differentiates the expected reward (REINFORCE), while
# **zeroth-order optimisation** never differentiates at all and correlates random parameter
# perturbations with the change in the score. The article argues that, applied to the same
# argmax objective, the two give roughly the same update direction. The answer here is sharper.
# For Gaussian perturbations the zeroth-order gradient is *exactly* the gradient of a
# smoothed objective, and for a linear softmax model that smoothed objective is itself a
# policy objective (a probit policy whose temperature is the perturbation size times
# $\|x\|$). So the two roads meet, but only when the softmax temperature is tied to the
# perturbation size. With the article's default temperature $\tau=1$ and a small
# perturbation, the two directions can be far apart.
#
# :::{prf:theorem} Two estimators of the gradient of an argmax objective
# :label: thm-policy-gradient-zeroth-order
# Let $p_\tau(k\mid x)=\mathrm{softmax}_k(x^\top W/\tau)$ with $W\in\mathbb R^{d\times C}$, rewards
# $r_{ik}$, the surrogate $J_\tau(W)=\frac1n\sum_i\sum_kp_\tau(k\mid x_i)r_{ik}$ and the argmax
# objective $R(W)=\frac1n\sum_ir_{i,\arg\max_k x_i^\top W_{:k}}$.
#
# 1. The surrogate's gradient has the closed form
#
#    $$
#    \nabla_WJ_\tau=\frac1{n\tau}\sum_ix_i\bigl[p_i\odot(r_i-\langle p_i,r_i\rangle)\bigr]^\top ,
#    $$
#
#    and it is the mean of the REINFORCE estimate
#    $\hat g=\frac1n\sum_i(r_{iy_i}-b_i)\nabla_W\log p_\tau(y_i\mid x_i)$,
#    $y_i\sim p_\tau(\cdot\mid x_i)$, for any baselines $b_i$ that do not depend on $y_i$.
#    The total variance of $\hat g$ is smallest at
#    $b_i^*=\sum_kp_{ik}r_{ik}\|e_k-p_i\|^2\big/\sum_kp_{ik}\|e_k-p_i\|^2$.
# 2. Let $U$ have i.i.d. standard normal entries and let $R$ be bounded, continuous or not. Then
#
#    $$
#    \tfrac1\varepsilon\,\mathbb E\bigl[(R(W+\varepsilon U)-b)\,U\bigr]=\nabla_W\bar R_\varepsilon(W)
#    $$
#
#    for every constant $b$, where $\bar R_\varepsilon(W)=\mathbb E\,R(W+\varepsilon U)$. And
#    $\bar R_\varepsilon$ is the expected reward of a multinomial-probit policy: example $i$
#    picks class $k$ with probability
#    $P[\arg\max_c(x_i^\top W_{:c}+\varepsilon\|x_i\|\xi_c)=k]$, $\xi\sim\mathcal N(0,I_C)$.
# 3. For a differentiable $f$, the variance-optimal zeroth-order baseline
#    $b^*=\mathbb E[f(x+\varepsilon u)\|u\|^2]/\mathbb E\|u\|^2$ equals $f(x)+O(\varepsilon^2)$
#    when $u$ is standard normal, but only $f(x)+O(\varepsilon)$ for a general $u$ with mean 0
#    and covariance $I$ (the $O(\varepsilon)$ term is set by the third moments of $u$).
# :::
#
# The article is {cite}`7737-su-policy-zeroth`; REINFORCE is due to Williams
# {cite}`7737-williams-reinforce`, the Gaussian-smoothing reading of the zeroth-order gradient
# to Nesterov and Spokoiny {cite}`7737-nesterov-random`, and the article points to gradientless
# descent {cite}`7737-golovin-gld` and to its own earlier sampling view of optimisation
# {cite}`7737-su-sampling`. Parts 2 and 3 of the theorem, the probit reading, and all the
# experiments are this chapter's additions. The article runs no experiment.

# %% tags=["hide-input"]
import itertools
import math
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
from scipy.optimize import minimize_scalar
from scipy.special import expit, ndtr

from lib.book import Chapter, show_table
from lib.optimization import (
    argmax_objective,
    grad_cosine,
    probit_smoothed_grad_exact,
    probit_smoothed_objective,
    reinforce_grad,
    reinforce_variance_exact,
    softmax_policy_grad_exact,
    zo_grad,
)
from lib.softmax import perturb_max_probs
from lib.stats import bootstrap_se, mc_tolerance, mean_se, proportion_se

ch = Chapter("policy-gradient-zeroth-order", seed=7737)
EPS = np.finfo(np.float64).eps

# %% [markdown]
# Throughout, the data set is synthetic: $n=300$ points in the plane, three classes with means
# $(0,2)$, $(-1.7,-1)$, $(1.7,-1)$ and unit Gaussian noise, a bias column (so $x_i\in\mathbb R^3$
# and $W$ has 9 entries), the accuracy reward $r_{ik}=\mathbb 1[k=y_i]$, and a random starting
# point $W_0$ with entries $0.3\,\mathcal N(0,1)$.

# %%
rng = ch.rng
n, C = 300, 3
labels = rng.integers(0, C, n)
means = np.array([[0.0, 2.0], [-1.7, -1.0], [1.7, -1.0]])
X = np.c_[means[labels] + rng.standard_normal((n, 2)), np.ones(n)]
R = np.eye(C)[labels]
W0 = 0.3 * rng.standard_normal((3, C))
idx = np.arange(n)


def accuracy(W):  # R(W), vectorised for the many calls of the zeroth-order estimator
    return R[idx, (X @ W).argmax(1)].mean()


ch.claim("accuracy-fast-equals-lib", accuracy(W0), equals=argmax_objective(W0, X, R),
         why="exact: the same average of 0/1 values", statement="the fast R(W) is the library's")
acc0 = ch.measured("accuracy-w0", accuracy(W0), why="descriptive: accuracy at the random start")

# %% [markdown]
# The random start classifies {glue:text}`accuracy-w0:.3f` of the points correctly.
#
# ## 1. The surrogate and the rearrangement inequality
#
# The argmax objective $R$ is piecewise constant in $W$. The policy-gradient route replaces it by
# the expected reward of the stochastic policy,
#
# $$
# J_\tau(W)=\frac1n\sum_{i=1}^n\sum_{k=1}^C p_\tau(k\mid x_i)\,r_{ik},
# $$ (eq-policy-gradient-zeroth-order-surrogate)
#
# which is differentiable. The article links the two through the rearrangement inequality: for
# fixed multisets of numbers, $\sum_k a_kb_k$ is largest when $a$ and $b$ are sorted the same
# way and smallest when they are sorted in opposite orders. So the surrogate prefers
# probabilities sorted like the rewards. That includes the top class, which is all the argmax
# objective asks for, and also the runners-up, which it does not ask for. Rewards may be
# negative: the inequality needs no sign.

# %%
worst_hi, worst_lo = math.inf, math.inf
for _ in range(200):
    a, b = np.sort(rng.normal(size=5))[::-1], np.sort(rng.normal(size=5))[::-1]
    sums = np.array([a @ b[list(s)] for s in itertools.permutations(range(5))])
    worst_hi = min(worst_hi, a @ b - sums.max())
    worst_lo = min(worst_lo, sums.min() - a @ b[::-1])
ch.claim("rearrangement-same-order", worst_hi, at_least=0.0, atol=8 * EPS,
         why="float64 rounding of 5-term sums",
         statement="same order gives the largest sum (200 cases x 120 orders)")
ch.claim("rearrangement-reverse-order", worst_lo, at_least=0.0, atol=8 * EPS,
         why="float64 rounding of 5-term sums", statement="reverse order gives the smallest sum")

# %% [markdown]
# Over the whole probability simplex, though, $\sum_kp_kr_k$ is linear, so it is maximised by
# the one-hot vector on the best class. The ordering of the other classes matters only along
# the way, not at the optimum.
#
# ## 2. The policy gradient and REINFORCE
#
# Write $z=x^\top W/\tau$ and $p=\mathrm{softmax}(z)$. The softmax Jacobian is
# $\partial p_k/\partial z_j=p_k(\delta_{kj}-p_j)$, which gives the two forms of the gradient
#
# $$
# \frac{\partial}{\partial z}\sum_kp_kr_k=p\odot(r-\langle p,r\rangle)
# =\sum_kp_k\,r_k\,(e_k-p),
# $$ (eq-policy-gradient-zeroth-order-jac)
#
# $$
# \nabla_W\log p_\tau(k\mid x)=\frac{x\,(e_k-p)^\top}{\tau}.
# $$ (eq-policy-gradient-zeroth-order-score)
#
# The first form is the closed form `softmax_policy_grad_exact` implements. The second is an
# expectation over $k\sim p$, which REINFORCE estimates by sampling one class per example:
#
# $$
# \hat g=\frac1n\sum_i\bigl(r_{iy_i}-b_i\bigr)\nabla_W\log p_\tau(y_i\mid x_i),\qquad y_i\sim p_\tau(\cdot\mid x_i).
# $$ (eq-policy-gradient-zeroth-order-reinforce)
#
# The baseline $b_i$ leaves the mean unchanged because $\mathbb E_{k\sim p}[\nabla\log p_k]=
# \sum_k\nabla p_k=\nabla 1=0$. All three identities are checked symbolically for $C=3$:

# %%
zs, rs = sp.symbols("z1:4", real=True), sp.symbols("r1:4", real=True)
tau_s = sp.symbols("tau", positive=True)
Z = sum(sp.exp(v / tau_s) for v in zs)
ps = [sp.exp(v / tau_s) / Z for v in zs]
Jsym = sum(p * r for p, r in zip(ps, rs, strict=True))
checks_sym = {
    "jacobian-sympy": [sp.diff(Jsym, zs[j]) - ps[j] * (rs[j] - Jsym) / tau_s for j in range(3)],
    "score-sympy": [sp.diff(sp.log(ps[k]), zs[j]) - (int(k == j) - ps[j]) / tau_s
                    for k in range(3) for j in range(3)],
    "baseline-sum-sympy": [sum(sp.diff(p, zs[j]) for p in ps) for j in range(3)],
}
what = {"jacobian-sympy": "d/dz sum_k p_k r_k = p * (r - <p, r>) / tau (C = 3)",
        "score-sympy": "d log p_k / dz_j = (delta_kj - p_j) / tau",
        "baseline-sum-sympy": "sum_k grad p_k = 0, so a baseline does not change the mean"}
for name, residuals in checks_sym.items():
    ch.claim(name, all(sp.simplify(e) == 0 for e in residuals), equals=True,
             why="exact symbolic", statement=what[name])


# %% [markdown]
# ```{literalinclude} /lib/optimization/zeroth_order.py
# :pyobject: softmax_policy_grad_exact
# ```
#
# The closed form is checked against a route that shares no code with it: the complex-step
# derivative $\partial J/\partial W_{ac}=\mathrm{Im}\,J(W+ih\,E_{ac})/h$, with the surrogate
# written out again in complex arithmetic. It has no subtractive cancellation, so $h=10^{-30}$
# leaves only rounding error.

# %%
def surrogate_complex(W, tau=1.0):
    z = X @ W / tau
    e = np.exp(z - z.real.max(1, keepdims=True))
    return ((e / e.sum(1, keepdims=True)) * R).sum(1).mean()


BASIS = np.eye(9).reshape(9, 3, C)  # the 9 unit directions E_ac in W-space


def complex_step_grad(W, tau=1.0, h=1e-30):
    return np.array([surrogate_complex(W + 1j * h * E, tau).imag / h for E in BASIS]).reshape(3, C)


pg = softmax_policy_grad_exact(W0, X, R)
cs_err = max(np.abs(softmax_policy_grad_exact(W0, X, R, t) - complex_step_grad(W0, t)).max()
             for t in (0.3, 1.0))
ch.claim("pg-vs-complex-step", cs_err, at_most=1e-14,
         why="float64 rounding of averages of n = 300 terms of size <= 3/tau (~n eps)",
         statement="the closed-form gradient equals the complex-step derivative (tau = 0.3, 1)")
shift_err = np.abs(softmax_policy_grad_exact(W0, X, R + 5) - pg).max()
ch.claim("pg-shift-invariant", shift_err, at_most=1e-14,
         why="rounding of r + 5 - <p, r + 5>: a few eps x 6 per term",
         statement="adding a constant to all rewards leaves the policy gradient unchanged")

# %% [markdown]
# The closed form agrees with the complex step to {glue:text}`pg-vs-complex-step:.1e`, and
# shifting all rewards by 5 moves it by {glue:text}`pg-shift-invariant:.1e`. Next, REINFORCE
# itself. Following the article's point that the rewards may be shifted freely, we use the
# rewards $r+5$, so every sampled reward is large and positive. With $M=20\,000$ independent
# draws of {eq}`eq-policy-gradient-zeroth-order-reinforce`, the mean of each of the 9 entries
# should sit within a few standard errors of the exact gradient, whatever the baseline:
#
# :::{admonition} Full code: `reinforce_grad`
# :class: dropdown
#
# ```{literalinclude} /lib/optimization/zeroth_order.py
# :pyobject: reinforce_grad
# ```
# :::

# %%
M = 20_000
R5 = R + 5.0
draws = {b: reinforce_grad(W0, X, R5, M, np.random.default_rng(1), baseline=b)
         for b in (None, "mean", "optimal")}
for b, out in draws.items():
    m, se = mean_se(out, dim=0)
    ch.claim(f"reinforce-unbiased-{b}", np.abs((m - pg) / se).max(), at_most=4.5,
             why="largest |z| of 9 entries; 4.5 sigma two-sided tail ~7e-6 each",
             statement=f"REINFORCE (baseline {b}) is unbiased for the exact gradient")


# %% [markdown]
# ## 3. Baselines and variance
#
# The article motivates baselines with two lists of numbers that share a mean but not a spread:
# $[4,5,6]$ and $[-10,10,15]$. Drawing one element estimates the mean 5 either way, but the
# worst error of a single draw is 1 for the first list, while for the second it is 15, and even
# the best draw is off by 5. In exact rational arithmetic:

# %%
def pop_stats(v):
    v = [Fraction(x) for x in v]
    mu = sum(v) / len(v)
    return mu, sum((x - mu) ** 2 for x in v) / len(v), [abs(x - mu) for x in v]


(m1, v1, e1), (m2, v2, e2) = pop_stats([4, 5, 6]), pop_stats([-10, 10, 15])
for name, value, printed, what in [
        ("example-mean-a", m1, 5, "mean of [4, 5, 6]"),
        ("example-mean-b", m2, 5, "mean of [-10, 10, 15]"),
        ("example-var-a", v1, 0.67, "variance of [4, 5, 6] (2/3)"),
        ("example-var-b", v2, 116.67, "variance of [-10, 10, 15] (350/3)"),
        ("example-maxerr-a", max(e1), 1, "worst single-draw error, first list"),
        ("example-maxerr-b", max(e2), 15, "worst single-draw error, second list"),
        ("example-minerr-b", min(e2), 5, "best single-draw error, second list")]:
    ch.claim(name, float(value), equals=printed, atol=0.005 if "var" in name else 0.0,
             why="exact rational; variances printed to 2 decimals", statement=what)

# %% [markdown]
# For REINFORCE the draws of different examples are independent, so the total variance (the
# trace of the covariance of $\hat g$) is a sum over examples, and each term is a finite sum over
# the $C$ classes:
#
# $$
# \mathrm{tr\,Cov}\,\hat g=\frac1{n^2}\sum_iV_i,\qquad
# V_i=\frac{\|x_i\|^2}{\tau^2}\sum_kp_{ik}(r_{ik}-b_i)^2\|e_k-p_i\|^2-\|\nabla_WJ_i\|^2,
# $$ (eq-policy-gradient-zeroth-order-var)
#
# where $J_i$ is example $i$'s term of the surrogate.
#
# It is a quadratic in each $b_i$, and setting its derivative to zero gives the optimal
# baseline: an average of the rewards weighted by $p_k\|\nabla\log p_k\|^2$, which is the
# article's formula. The article then simplifies it to the plain mean $b_i=\sum_kp_{ik}r_{ik}$.

# %%
b_s = sp.symbols("b", real=True)
pk, wk = sp.symbols("p1:4", positive=True), sp.symbols("w1:4", positive=True)
second_moment = sum(p * (r - b_s) ** 2 * w for p, r, w in zip(pk, rs, wk, strict=True))
b_star = sp.solve(sp.diff(second_moment, b_s), b_s)[0]
target = (sum(p * r * w for p, r, w in zip(pk, rs, wk, strict=True))
          / sum(p * w for p, w in zip(pk, wk, strict=True)))
ch.claim("optimal-baseline-sympy", sp.simplify(b_star - target) == 0, equals=True,
         why="exact symbolic", statement="argmin_b sum_k p_k (r_k - b)^2 w_k = sum p r w / sum p w")

# %% [markdown]
# Eq. {eq}`eq-policy-gradient-zeroth-order-var` is computed by enumerating classes, and is
# compared with the variance measured from the $M$ draws above (the standard error comes from
# the per-draw squared deviations):

# %%
exact_var, mc_var = {}, {}
for b, out in draws.items():
    dev = ((out - out.mean(0)) ** 2).reshape(M, -1).sum(1) * M / (M - 1)
    mc_var[b] = mean_se(dev)
    exact_var[b] = reinforce_variance_exact(W0, X, R5, baseline=b)
    tol, why = mc_tolerance(mc_var[b][1])
    ch.claim(f"variance-exact-{b}", mc_var[b][0], equals=exact_var[b], atol=tol, why=why,
             statement=f"measured total variance = Eq. (var), baseline {b}")
ratio = exact_var[None] / exact_var["mean"]
ch.claim("variance-ratio-none-mean", ratio, at_least=10.0,
         why="exact ratio (no sampling error); 10 = one order of magnitude",
         statement="the mean baseline cuts the variance by more than 10x (rewards r + 5)")
ch.claim("variance-optimal-below-mean", exact_var["mean"] - exact_var["optimal"], at_least=0.0,
         why="exact values", statement="the optimal baseline is at least as good as the mean")
ch.measured("opt-gain", exact_var["mean"] / exact_var["optimal"], why="descriptive: exact ratio")
show_table(["baseline", "exact total variance", "measured (M = 20 000)"],
           [[str(b), f"{exact_var[b]:.5f}", f"{mc_var[b][0]:.5f} ± {mc_var[b][1]:.5f}"]
            for b in draws])


# %% [markdown]
# Without a baseline the shifted rewards give a total variance {glue:text}`variance-ratio-none-mean:.0f`
# times that of the mean baseline. The optimal baseline is lower still, by a factor
# {glue:text}`opt-gain:.2f`. That the per-example $b^*_i$ really minimises
# {eq}`eq-policy-gradient-zeroth-order-var` is checked by central differences in all 300
# baselines. The variance is exactly quadratic in each $b_i$, so the differences are exact up
# to rounding. The same differences at the mean baseline serve as a negative control.

# %%
def fd_slope(b_vec, h=1e-3):  # largest |dVar/db_i| over the 300 examples, central differences
    var = lambda b: reinforce_variance_exact(W0, X, R5, baseline=b)  # noqa: E731
    return max(abs(var(b_vec + h * e) - var(b_vec - h * e)) / (2 * h) for e in np.eye(n))


P0 = torch.softmax(torch.tensor(X @ W0), 1).numpy()
sq = 1 - 2 * P0 + (P0 ** 2).sum(1, keepdims=True)
b_opt = (P0 * sq * R5).sum(1) / (P0 * sq).sum(1)
ch.claim("optimal-baseline-stationary", fd_slope(b_opt), at_most=1e-12,
         why="central difference of a quadratic is exact; rounding ~eps x variance / h",
         statement="d Var / d b_i = 0 at the optimal baseline (all 300 examples)")
ch.claim("mean-baseline-not-stationary", fd_slope((P0 * R5).sum(1)), at_least=1e-8,
         why="negative control: the same test must fail for the simplified baseline",
         statement="the mean baseline is not a stationary point")

# %% [markdown]
# A single *constant* baseline $b$ shared by all examples gives a parabola in $b$. Three exact
# evaluations fix it, and its minimum lies at $b=$ {glue:text}`const-b-best:.3f` with variance
# {glue:text}`const-b-var-ratio:.3f` times that of the per-example mean baseline. So on this
# problem one well-chosen constant beats the article's simplified per-example baseline. No
# constant can beat the per-example optimum, which minimises over all baseline vectors:

# %%
v012 = [reinforce_variance_exact(W0, X, R5, baseline=float(b)) for b in (0, 1, 2)]
c2, c1, _ = np.polyfit([0.0, 1.0, 2.0], v012, 2)  # exact: the variance is quadratic in b
b_best = -c1 / (2 * c2)
v_best = reinforce_variance_exact(W0, X, R5, baseline=b_best)
ch.claim("const-baseline-above-optimal", v_best - exact_var["optimal"], at_least=0.0, atol=1e-15,
         why="exact values; float64 rounding of sums of 300 terms",
         statement="no constant baseline beats the per-example optimal baseline")
ch.measured("const-b-best", b_best, why="descriptive: minimiser of the parabola")
_ = ch.measured("const-b-var-ratio", v_best / exact_var["mean"], why="descriptive: exact ratio")

# %% mystnb={"figure": {"caption": "Total variance of one REINFORCE estimate (rewards $r+5$) against a constant baseline $b$ (exact, {eq}`eq-policy-gradient-zeroth-order-var`), with the per-example mean and optimal baselines as horizontal lines. Dots are variances measured from 20 000 draws (standard errors smaller than the dots), the per-example ones placed at the average of their baselines.", "name": "fig-policy-gradient-zeroth-order-variance"}}
bs = np.linspace(0, 10, 201)
fig, ax = plt.subplots()
ax.semilogy(bs, [reinforce_variance_exact(W0, X, R5, baseline=float(b)) for b in bs],
            label="constant $b$")
for b, c in (("mean", "C1"), ("optimal", "C2")):
    ax.axhline(exact_var[b], color=c, ls="--", label=f"per-example {b}")
ax.errorbar([0.0], [mc_var[None][0]], yerr=[2 * mc_var[None][1]], fmt="ko",
            label="measured, $b=0$")
for b, c, where in (("mean", "C1", (P0 * R5).sum(1).mean()), ("optimal", "C2", b_opt.mean())):
    ax.plot([where], [mc_var[b][0]], "o", color=c)
ax.set_xlabel("constant baseline $b$")
ax.set_ylabel("total variance")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. The zeroth-order gradient
#
# The zeroth-order route perturbs the parameters instead of the prediction. For a scalar $f$,
# $u\sim p(u)$ with $\mathbb Eu=0$, $\mathbb Euu^\top=I$ (standard normal in practice) and a
# small $\varepsilon>0$,
#
# $$
# \tilde\nabla f(x)=\mathbb E_u\Bigl[\frac{f(x+\varepsilon u)-b}{\varepsilon}\,u\Bigr],\qquad b=f(x).
# $$ (eq-policy-gradient-zeroth-order-zo)
#
# Because $\mathbb Eu=0$, the constant $b$ does not change the mean. It plays the same role as the
# REINFORCE baseline. For differentiable $f$, Taylor's theorem gives $\tilde\nabla f\to
# \mathbb E[uu^\top]\nabla f=\nabla f$ as $\varepsilon\to0$. For a quadratic the limit is
# reached at every $\varepsilon$, because the second-order term $\tfrac\varepsilon2\mathbb
# E[(u^\top Au)u]$ involves only odd moments, which vanish for a Gaussian:
#
# :::{admonition} Full code: `zo_grad`
# :class: dropdown
#
# ```{literalinclude} /lib/optimization/zeroth_order.py
# :pyobject: zo_grad
# ```
# :::

# %%
A = rng.normal(size=(4, 4))
A = A + A.T
c4, x4 = rng.normal(size=4), rng.normal(size=4)


def quad(x):
    return 0.5 * x @ A @ x + c4 @ x


worst_z = 0.0
for e in (0.1, 1.0, 3.0):
    m, se = mean_se(zo_grad(quad, x4, e, M, np.random.default_rng(2)), dim=0)
    worst_z = max(worst_z, np.abs((m - (A @ x4 + c4)) / se).max())
ch.claim("zo-quadratic-exact", worst_z, at_most=4.5,
         why="largest |z| of 4 entries x 3 eps; 4.5 sigma two-sided tail ~7e-6 each",
         statement="the zeroth-order gradient of a quadratic is its gradient at any eps")

# %% [markdown]
# **The optimal baseline.** Minimising the second moment
# $\mathbb E[(f(x+\varepsilon u)-b)^2\|u\|^2]$ over $b$, exactly as in Section 3, gives
# $b^*=\mathbb E[f(x+\varepsilon u)\|u\|^2]/\mathbb E\|u\|^2$. The article states that
# $b^*=f(x)+O(\varepsilon^2)$ for differentiable $f$, which justifies $b=f(x)$. Expanding $f$ to
# second order (exact for a quadratic with gradient $g$ and Hessian $A$) and using i.i.d.
# coordinates with third and fourth moments $m_3$, $m_4$:
#
# $$
# b^*-f(x)=\frac{\varepsilon\,m_3\sum_jg_j+\tfrac{\varepsilon^2}2\,(m_4+d-1)\,\mathrm{tr}A}{d}.
# $$ (eq-policy-gradient-zeroth-order-bstar)
#
# SymPy derives this by expanding the polynomial and replacing every monomial
# $u_1^{a_1}\cdots u_d^{a_d}$ by its moment $\prod_jm_{a_j}$. It does this for $d=2,3,4$, using
# only $m_0=1$, $m_1=0$, $m_2=1$:

# %%
m3s, m4s, eps_s = sp.symbols("m3 m4 epsilon", real=True)
MOM = {0: 1, 1: 0, 2: 1, 3: m3s, 4: m4s}


def expect(poly, us):
    total = 0
    for mono, coeff in sp.Poly(sp.expand(poly), *us).terms():
        total += coeff * sp.prod([MOM[a] for a in mono])
    return total


bstar_ok = True
for d in (2, 3, 4):
    us, gs = sp.symbols(f"u1:{d + 1}"), sp.symbols(f"g1:{d + 1}")
    As = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"A{min(i, j)}{max(i, j)}"))
    uvec = sp.Matrix(us)
    delta = (eps_s * sum(g * u for g, u in zip(gs, us, strict=True))
             + eps_s**2 / 2 * (uvec.T * As * uvec)[0])
    lhs = expect(delta * sum(u**2 for u in us), us) / d
    rhs = (eps_s * m3s * sum(gs) + eps_s**2 / 2 * (m4s + d - 1) * As.trace()) / d
    bstar_ok &= sp.expand(lhs - rhs) == 0
ch.claim("bstar-moments-sympy", bstar_ok, equals=True, why="exact symbolic (d = 2, 3, 4)",
         statement="Eq. (bstar): b* - f(x) for a quadratic and i.i.d. coordinates")

# %% [markdown]
# For the standard normal, $m_3=0$ and $m_4=3$, so $b^*-f(x)=\varepsilon^2(d+2)\,\mathrm{tr}A/(2d)$,
# which is $O(\varepsilon^2)$ as the article says. But the article's $p(u)$ is *any* zero-mean,
# identity-covariance distribution, and a skewed one has $m_3\neq0$. Section 7 returns to this.
#
# **Dimension.** The article names the variance in high dimension as the weak point of the
# method. For a linear $f(x)=g^\top x$ the estimate is $(g^\top u)u$, and Isserlis' theorem
# gives the exact total variance $(d+1)\|g\|^2$. So the noise-to-signal ratio grows like
# $\sqrt d$:

# %%
us3 = sp.symbols("u1:4")
g3 = sp.symbols("g1:4")
MOM[3], MOM[4] = 0, 3
iss = expect(sum(g * u for g, u in zip(g3, us3, strict=True)) ** 2 * sum(u**2 for u in us3), us3)
ch.claim("isserlis-sympy", sp.expand(iss - 5 * sum(g**2 for g in g3)) == 0, equals=True,
         why="exact symbolic (d = 3)", statement="E[(g.u)^2 |u|^2] = (d + 2)|g|^2 for Gaussian u")
for d in (9, 900):
    gvec = rng.normal(size=d)
    out = zo_grad(lambda x, g=gvec: g @ x, np.zeros(d), 0.1, 4000, np.random.default_rng(d))
    dev = ((out - out.mean(0)) ** 2).sum(1) * 4000 / 3999
    v, se = mean_se(dev)
    tol, why = mc_tolerance(se)
    ch.claim(f"zo-variance-d{d}", v / (gvec @ gvec), equals=d + 1, atol=tol / (gvec @ gvec),
             why=why, statement=f"zeroth-order total variance = (d + 1)|g|^2 at d = {d}")

# %% [markdown]
# ## 5. Where the two roads meet
#
# **Gaussian smoothing (not in the article).** Let $u\sim\mathcal N(0,I)$ and let $h$ be any
# bounded function, continuous or not. Write the expectation as a convolution with the density
# $\varphi_\varepsilon(v-\theta)$ of $\theta+\varepsilon u$, and move the derivative onto the
# density, where $\nabla_\theta\varphi_\varepsilon(v-\theta)=\varphi_\varepsilon(v-\theta)\,
# (v-\theta)/\varepsilon^2$:
#
# $$
# \nabla_\theta\,\mathbb E\,h(\theta+\varepsilon u)=\int h(v)\,\nabla_\theta\varphi_\varepsilon(v-\theta)\,dv
# =\frac1\varepsilon\,\mathbb E\bigl[h(\theta+\varepsilon u)\,u\bigr].
# $$ (eq-policy-gradient-zeroth-order-stein)
#
# So the zeroth-order gradient is an *unbiased* estimate of the gradient of the smoothed
# objective $\bar h_\varepsilon(\theta)=\mathbb E\,h(\theta+\varepsilon u)$ at every
# $\varepsilon$. No limit and no smoothness are needed. For a step function in one dimension
# both sides are $\varphi(\theta/\varepsilon)/\varepsilon$:

# %%
th, ep, uu = sp.symbols("theta epsilon u", positive=True)
phi = sp.exp(-uu**2 / 2) / sp.sqrt(2 * sp.pi)
lhs = sp.integrate(uu * phi, (uu, -th / ep, sp.oo)) / ep  # E[1{theta + eps u > 0} u] / eps
rhs = sp.diff(sp.integrate(phi, (uu, -th / ep, sp.oo)), th)  # d/dtheta P(theta + eps u > 0)
ch.claim("stein-step-sympy", sp.simplify(lhs - rhs) == 0, equals=True, why="exact symbolic",
         statement="Eq. (stein) for h = step function: both sides are phi(theta/eps)/eps")

# %% [markdown]
# **The smoothed argmax objective is a probit policy.** Perturbing $W$ by $\varepsilon U$ adds
# $\varepsilon x_i^\top U$ to the logits of example $i$. Its $C$ entries are independent
# $\mathcal N(0,\varepsilon^2\|x_i\|^2)$, because the columns of $U$ are independent. Therefore
#
# $$
# \bar R_\varepsilon(W)=\frac1n\sum_i\sum_kr_{ik}P_{ik},\qquad
# P_{ik}=\mathbb E_t\prod_{j\ne k}\Phi\Bigl(\frac{z_{ik}-z_{ij}}{\sigma_i}+t\Bigr),
# $$ (eq-policy-gradient-zeroth-order-probit)
#
# with $\sigma_i=\varepsilon\|x_i\|$ and $t\sim\mathcal N(0,1)$. This is the expected reward of a policy, the multinomial probit,
# and its exact gradient follows by differentiating under the one-dimensional integral. The
# library evaluates both by Gauss–Hermite quadrature. The core is a few lines:
#
# ```{literalinclude} /lib/optimization/zeroth_order.py
# :pyobject: probit_smoothed_grad_exact
# ```
#
# Three independent checks: the probabilities against the quadrature written for the chapter on
# perturb-and-argmax distributions (`perturb_max_probs`, a separate implementation); the
# smoothed objective against a plain Monte-Carlo average of $R(W_0+\varepsilon U)$; and the
# gradient against central differences of the objective, with step halving to estimate the
# truncation error.

# %%
eps0 = 0.5
sig = eps0 * np.linalg.norm(X, axis=1)
P_lib = perturb_max_probs(torch.tensor((X @ W0) / sig[:, None]), noise="normal", nodes=64).numpy()
probit_gap = abs(probit_smoothed_objective(W0, X, R, eps0) - (P_lib * R).sum(1).mean())
ch.claim("probit-vs-perturb-max", probit_gap, at_most=1e-12, why="two Gauss-Hermite rules of 64 nodes, each accurate to ~1e-13",
         statement="Eq. (probit) agrees with the perturb-and-argmax quadrature")
U = np.random.default_rng(3).standard_normal((10_000, 3, C))
hits = R[idx, np.einsum("nd,mdc->mnc", X, W0 + eps0 * U).argmax(2)].mean(1)
m, se = mean_se(hits)
tol, why = mc_tolerance(se)
ch.claim("probit-vs-monte-carlo", m, equals=probit_smoothed_objective(W0, X, R, eps0), atol=tol,
         why=why, statement="Eq. (probit) = E R(W0 + eps U) by Monte Carlo")


def fd(e, h):
    obj = lambda W: probit_smoothed_objective(W, X, R, e)  # noqa: E731
    return np.array([(obj(W0 + h * E) - obj(W0 - h * E)) / (2 * h) for E in BASIS]).reshape(3, C)


fd_err = 0.0
for e in (0.05, 0.5):
    f1, f2 = fd(e, 1e-4), fd(e, 5e-5)
    trunc = np.abs(f1 - f2).max() / 3  # step halving: the O(h^2) error of f2 is ~|f1 - f2| / 3
    err = np.abs(probit_smoothed_grad_exact(W0, X, R, e) - f2).max()
    fd_err = max(fd_err, err / (trunc + 1e-10))
ch.claim("probit-grad-vs-fd", fd_err, at_most=4.0,
         why="error / (step-halving truncation estimate + 1e-10 rounding floor); 4x margin",
         statement="the exact probit gradient matches finite differences (eps = 0.05, 0.5)")

# %% [markdown]
# Now the zeroth-order estimator is run on the discontinuous accuracy itself, with $M=20\,000$
# perturbations, at four values of $\varepsilon$. By {eq}`eq-policy-gradient-zeroth-order-stein`
# its mean must be the exact probit gradient at every $\varepsilon$, small or not:

# %%
eps_list = (0.05, 0.2, 0.5, 1.0)
zo_draws = {e: zo_grad(accuracy, W0, e, M, np.random.default_rng(4)) for e in eps_list}
smooth = {e: probit_smoothed_grad_exact(W0, X, R, e) for e in eps_list}
for e in eps_list:
    m, se = mean_se(zo_draws[e], dim=0)
    ch.claim(f"stein-argmax-eps{e}", np.abs((m - smooth[e]) / se).max(), at_most=4.5,
             why="largest |z| of 9 entries; 4.5 sigma two-sided tail ~7e-6 each",
             statement=f"zeroth-order mean on the accuracy = exact probit gradient (eps = {e})")

# %% [markdown]
# **Comparing directions.** The table gives the cosine between the zeroth-order gradient and the
# exact policy gradient at $\tau=1$ (the article's default) and at $\tau=0.3$. Each cell shows
# the Monte-Carlo estimate, with a bootstrap standard error over 200 batch means of 100
# draws, and the noise-free cosine of the exact smoothed gradient.

# %%
pg_tau = {t: softmax_policy_grad_exact(W0, X, R, t) for t in (1.0, 0.3)}
batch = {e: zo_draws[e].reshape(200, 100, -1).mean(1) for e in eps_list}


def cos_rows(bm, ref):  # cosine of the mean of resampled batch means with ref (vectorised)
    mvec = bm.mean(-2)
    return (mvec @ ref.ravel()) / (np.linalg.norm(mvec, axis=-1) * np.linalg.norm(ref))


cos_mc = {(e, t): (grad_cosine(zo_draws[e].mean(0), pg_tau[t]),
                   bootstrap_se(lambda bm, t=t: cos_rows(bm, pg_tau[t]), batch[e], n_boot=500,
                                rng=rng))
          for e in eps_list for t in (1.0, 0.3)}
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
# The best agreement moves with $\varepsilon$. At $\varepsilon=0.05$ the cosine with the
# $\tau=1$ gradient is low, and the exact column shows this is **not** Monte-Carlo noise: the
# smoothed gradient really points elsewhere. The whole picture is a map of the exact cosine
# over $(\varepsilon,\tau)$. For every $\varepsilon$ some temperature matches almost perfectly,
# and that temperature grows in proportion to $\varepsilon$. The heuristic line uses the
# two-class case: the difference of two perturbed logits has noise $\sigma\sqrt2$, and
# $\Phi(x)\approx\mathrm{logistic}(\kappa x)$ with $\kappa$ fitted below. Together they give
# $\tau\approx\sqrt2\,\varepsilon\|x\|/\kappa$.

# %%
eps_grid, tau_grid = np.geomspace(0.01, 3, 40), np.geomspace(0.01, 10, 400)
PGs = [softmax_policy_grad_exact(W0, X, R, t) for t in tau_grid]
ZOs = [probit_smoothed_grad_exact(W0, X, R, e) for e in eps_grid]
cosmap = np.array([[grad_cosine(zg_, g) for g in PGs] for zg_ in ZOs])  # (eps, tau)
tau_star = tau_grid[cosmap.argmax(1)]
grid6 = np.linspace(-6, 6, 2001)
kappa = minimize_scalar(lambda k: np.abs(ndtr(grid6) - expit(k * grid6)).max(), bounds=(1, 2.5),
                        method="bounded").x
heuristic = math.sqrt(2) / kappa * math.sqrt((X**2).sum(1).mean())
ch.claim("best-cos-every-eps", cosmap.max(1).min(), at_least=0.99,
         why="noise-free; 0.99 = 'same direction within 8 degrees'",
         statement="for every eps in [0.01, 3] some tau makes the directions agree")
ch.claim("tau-star-monotone", np.diff(tau_star).min(), at_least=0.0,
         why="exact comparison on the grid", statement="the best temperature grows with eps")
ch.measured("kappa-probit", kappa, why="descriptive: minimax fit of Phi(x) by logistic(kappa x)")
ch.measured("tau-star-slope", np.median(tau_star / eps_grid), why="descriptive: median of tau*/eps")
_ = ch.measured("tau-star-heuristic", heuristic, why="descriptive: sqrt(2)/kappa x rms |x|")

# %% mystnb={"figure": {"caption": "Exact cosine between the zeroth-order gradient of the accuracy (the probit gradient, {eq}`eq-policy-gradient-zeroth-order-probit`) and the policy gradient at temperature $\\tau$. The white curve is the best $\\tau$ for each $\\varepsilon$, the dashed line the probit\u2013logistic heuristic $\\tau=\\sqrt2\\varepsilon\\|x\\|_{\\rm rms}/\\kappa$, the dots the table's $(\\varepsilon,\\tau)$ pairs.", "name": "fig-policy-gradient-zeroth-order-cosmap"}}
fig, ax = plt.subplots(figsize=(6.4, 4.2))
mesh = ax.pcolormesh(eps_grid, tau_grid, cosmap.T, vmin=0.5, vmax=1, shading="auto")
ax.plot(eps_grid, tau_star, "w-", label=r"best $\tau$")
ax.plot(eps_grid, heuristic * eps_grid, "w--", label="probit heuristic")
ax.plot([e for e in eps_list for _ in (1, 2)], [1.0, 0.3] * 4, "o", color="C1", label="table")
ax.set(xscale="log", yscale="log", ylim=(0.01, 10), xlabel=r"perturbation size $\varepsilon$",
       ylabel=r"temperature $\tau$")
ax.grid(False)
fig.colorbar(mesh, label="cosine")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# The best temperature is $\tau^*\approx$ {glue:text}`tau-star-slope:.2f`$\,\varepsilon$ (median
# over the grid), close to the heuristic {glue:text}`tau-star-heuristic:.2f`$\,\varepsilon$ (with
# $\kappa=$ {glue:text}`kappa-probit:.3f`). So $\varepsilon$ acts as a temperature. The probit
# noise is also the reason the match is close but not exact: with Gumbel noise on the logits,
# the argmax of the perturbed logits would follow a softmax exactly, with temperature equal to
# the noise scale. A quick check of that fact:

# %%
zg, beta, N = np.array([0.4, -0.3, 0.1]), 0.7, 200_000
wins = (zg + beta * np.random.default_rng(5).gumbel(size=(N, 3))).argmax(1)
freq = np.bincount(wins, minlength=3) / N
soft = np.exp(zg / beta) / np.exp(zg / beta).sum()
ch.claim("gumbel-max-softmax", np.abs((freq - soft) / proportion_se(soft, N)).max(), at_most=4.5,
         why="largest |z| of 3 binomial frequencies; 4.5 sigma",
         statement="argmax(z + beta G) ~ softmax(z / beta)")

# %% [markdown]
# The article's point that $-f(x)$ in {eq}`eq-policy-gradient-zeroth-order-zo` is a baseline
# carries over to the accuracy. Without it the estimator is far noisier, and the optimal
# baseline is slightly better again:

# %%
zo_var = {}
for b in (None, "f", "optimal"):
    out = zo_grad(accuracy, W0, 0.5, M, np.random.default_rng(6), baseline=b)
    zo_var[b] = mean_se(((out - out.mean(0)) ** 2).reshape(M, -1).sum(1))
z_gap = (zo_var[None][0] - zo_var["f"][0]) / math.hypot(zo_var[None][1], zo_var["f"][1])
ch.claim("zo-baseline-helps", z_gap, at_least=4.0,
         why="difference of variances in units of its standard error",
         statement="the baseline f(x) reduces the zeroth-order variance on the accuracy")
z_opt = (zo_var["f"][0] - zo_var["optimal"][0]) / math.hypot(zo_var["f"][1], zo_var["optimal"][1])
ch.claim("zo-optimal-baseline-helps", z_opt, at_least=4.0,
         why="difference in units of its standard error (conservative: the draws are shared)",
         statement="the optimal zeroth-order baseline beats b = f(x)")
_ = ch.measured("zo-var-ratio", zo_var[None][0] / zo_var["f"][0],
                why="descriptive: variance ratio at eps = 0.5")

# %% [markdown]
# At $\varepsilon=0.5$ dropping the baseline multiplies the variance by
# {glue:text}`zo-var-ratio:.1f`.
#
# ## 6. Both roads reach the same place
#
# Finally, each estimator drives plain gradient ascent from 8 random starts for 150 steps with
# step size 1: the exact policy gradient of $J_1$, REINFORCE with the mean baseline and one
# draw per example, and the zeroth-order gradient of the accuracy with $\varepsilon=0.5$ and 20
# perturbations per step.

# %%
STEP = {"exact PG": lambda W, r: softmax_policy_grad_exact(W, X, R),
        "REINFORCE": lambda W, r: reinforce_grad(W, X, R, 1, r, baseline="mean")[0],
        "zeroth-order": lambda W, r: zo_grad(accuracy, W, 0.5, 20, r).mean(0)}


def train(method, seed, steps=150, lr=1.0):
    r = np.random.default_rng(100 + seed)
    W, curve = 0.3 * r.standard_normal((3, C)), []
    for _ in range(steps):
        W = W + lr * STEP[method](W, r)
        curve.append(accuracy(W))
    return curve


methods = tuple(STEP)
curves = {mth: np.array([train(mth, s) for s in range(8)]) for mth in methods}
final = {mth: mean_se(curves[mth][:, -1]) for mth in methods}
for mth in methods[1:]:
    gap = abs(final[mth][0] - final["exact PG"][0])
    ch.claim(f"final-acc-{mth.split()[0].lower()}", gap,
             at_most=4 * math.hypot(final[mth][1], final["exact PG"][1]) + 1 / n,
             why="4 standard errors over 8 starts plus one example (accuracy moves in steps of 1/n)",
             statement=f"{mth} reaches the accuracy of exact policy-gradient ascent")
ch.measured("final-acc-pg", final["exact PG"][0], why="descriptive: mean final accuracy")
show_table(["method", "final accuracy (mean ± s.e., 8 starts)"],
           [[mth, f"{final[mth][0]:.4f} ± {final[mth][1]:.4f}"] for mth in methods])

# %% mystnb={"figure": {"caption": "Training accuracy along gradient ascent with the three estimators (mean over 8 starts, band = \u00b11 standard error).", "name": "fig-policy-gradient-zeroth-order-training"}}
fig, ax = plt.subplots()
for mth in methods:
    mu, se = mean_se(curves[mth], dim=0)
    ax.plot(np.arange(1, 151), mu, label=mth)
    ax.fill_between(np.arange(1, 151), mu - se, mu + se, alpha=0.25)
ax.set(xlabel="step", ylabel="accuracy", xscale="log")
ax.legend()
plt.show()

# %% [markdown]
# All three end at an accuracy of about {glue:text}`final-acc-pg:.3f`. On this problem the
# roads do lead to the same place. Exact policy-gradient ascent uses no sampling, and the other
# two estimators also agree with it within their standard errors (table).
#
# ## 7. Where the article is imprecise
#
# **The equivalence needs $\tau$ tied to $\varepsilon$.** The article's final step replaces the
# indicator of the region where the perturbed model predicts $y$ by
# $p_{\theta+\varepsilon u}(y\mid x)$, which is exact only as $\tau\to0$. It then expands
# $p_{\theta+\varepsilon u}$ to first order in $\varepsilon$, which is accurate only when the
# logits move by much less than $\tau$, that is $\varepsilon\|x\|\ll\tau$. The two steps pull in
# opposite directions, and Section 5 shows where they balance: $\tau\approx$
# {glue:text}`tau-star-slope:.1f`$\,\varepsilon$. With the article's default $\tau=1$ and a small
# $\varepsilon$, the claimed "approximately the policy gradient" fails measurably, without
# any sampling noise:

# %%
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
# At $\varepsilon=0.05$ the cosine with the $\tau=1$ policy gradient is
# {glue:text}`erratum-small-eps-tau1:.3f`, while the best temperature gives
# {glue:text}`small-eps-small-tau:.4f`.
#
# **$b^*=f(x)+O(\varepsilon^2)$ needs a symmetric $p(u)$.** The article allows any $p(u)$ with
# zero mean and identity covariance, and then states $b^*=f(x)+O(\varepsilon^2)$. By
# {eq}`eq-policy-gradient-zeroth-order-bstar` the first-order term is $\varepsilon m_3\sum_jg_j/d$.
# It vanishes for the standard normal (and for any symmetric $p(u)$) but not for a skewed one.
# Take coordinates $u_j=E_j-1$ with $E_j$ standard exponential. SymPy gives their moments, and a
# Monte-Carlo run confirms {eq}`eq-policy-gradient-zeroth-order-bstar` at $\varepsilon=0.3$:

# %%
xe = sp.symbols("x", positive=True)
m3e = sp.integrate((xe - 1) ** 3 * sp.exp(-xe), (xe, 0, sp.oo))
m4e = sp.integrate((xe - 1) ** 4 * sp.exp(-xe), (xe, 0, sp.oo))
ch.claim("exp-moments-sympy", (m3e, m4e) == (2, 9), equals=True, why="exact symbolic",
         statement="centred exponential: m3 = 2, m4 = 9")
d3, g3v, A3 = 3, A[:3, :3] @ x4[:3] + c4[:3], A[:3, :3]


def bstar_gap(e, m3, m4):  # Eq. (bstar)
    return (e * m3 * g3v.sum() + e**2 / 2 * (m4 + d3 - 1) * np.trace(A3)) / d3


ue = np.random.default_rng(7).exponential(size=(400_000, 3)) - 1
# (f(x + eps u) - f(x)) |u|^2 / d at eps = 0.3; E|u|^2 = d exactly
num = (0.3 * ue @ g3v + 0.09 / 2 * np.einsum("mi,ij,mj->m", ue, A3, ue)) * (ue**2).sum(1) / d3
m, se = mean_se(num)
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

# %% mystnb={"figure": {"caption": "$|b^*-f(x)|$ against $\\varepsilon$ for a quadratic in $d=3$, from {eq}`eq-policy-gradient-zeroth-order-bstar`. Gaussian and Rademacher perturbations give slope 2, as the article says, but a zero-mean, unit-variance exponential perturbation gives slope 1 at small $\\varepsilon$.", "name": "fig-policy-gradient-zeroth-order-bstar"}}
es = np.geomspace(1e-3, 0.3, 60)
fig, ax = plt.subplots()
for lab, mm in {"normal ($m_3=0$)": (0, 3), "Rademacher ($m_3=0$)": (0, 1),
                "centred exponential ($m_3=2$)": (2, 9)}.items():
    ax.loglog(es, np.abs(bstar_gap(es, *mm)), label=lab)
ax.set(xlabel=r"$\varepsilon$", ylabel=r"$|b^*-f(x)|$")
ax.legend()
plt.show()

# %% [markdown]
# With the centred exponential the log–log slope at small $\varepsilon$ is
# {glue:text}`erratum-bstar-slope-skewed:.3f`, not 2. The article's recommendation, the
# standard normal, is symmetric, so in practice the claim holds. It is the general
# statement that is too broad.
#
# ## 8. The numbers the article prints
#
# The article has no experiments. Besides the numbers of its variance example (checked in
# Section 3) it prints two numbers: the default temperature $\tau=1$, a convention that
# Section 7 uses, and the order $O(\varepsilon^2)$ of $b^*-f(x)$, which Section 7 contradicts
# for a general $p(u)$ (it holds for the normal). The list was made by reading the article's
# text section by section; equation numbers, the indices of the rearrangement inequality and
# the arXiv identifier are not counted.

# %%
W_EX = "§降低方差 (variance example)"
for printed, claim in [("5", "example-mean-a"), ("5", "example-mean-b"),
                       ("0.67", "example-var-a"), ("116.67", "example-var-b"),
                       ("1", "example-maxerr-a"), ("15", "example-maxerr-b"), ("5", "example-minerr-b")]:
    ch.source_number(printed, where=W_EX, fate="reproduced", claim=claim)
ch.source_number("1", where="§形式描述: default temperature tau = 1", fate="out of scope",
                 reason="a convention, not a result; it is the tau of the erratum comparison")
ch.source_number("O(ε²)", value=2.0, where="§也有baseline: b* = f(x) + O(eps^2) for any p(u)",
                 fate="contradicted", claim="erratum-bstar-slope-skewed")

# %% [markdown]
# ## Claims

# %%
ch.table()
