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
#     date: '2022-06-01'
#     id: 9098
#     paper: 'Karpukhin, Dereka & Kolesnikov (2022), EXACT: How to Train Your Accuracy'
#     paper_url: https://arxiv.org/abs/2205.09615
#     title: How to Train Your Accuracy?
#     title_zh: "\u5982\u4F55\u8BAD\u7EC3\u4F60\u7684\u51C6\u786E\u7387\uFF1F"
#     url: https://kexue.fm/archives/9098
# ---

# %% [markdown]
# (ch-train-your-accuracy)=
# # Training accuracy directly: EXACT
#
# Cross-entropy and the hinge loss are only surrogates for accuracy. The EXACT paper argues with
# a three-point example that they can miss the accuracy-optimal model, and proposes to maximise
# an expected accuracy instead. Is the example evidence against cross-entropy? The article's
# answer, made quantitative here: no — the example fixes the model's scale. Once the logit is
# $k(x-b)$, cross-entropy's optimum lies in the accuracy-optimal interval for every
# $k>k_c=$ {glue:text}`kc-threshold:.3f` (a root of a cubic, computed below), the hinge's for every $k>4$, and with
# a learnable scale both get there by themselves; EXACT's own objective, in turn, fails the
# example just like them when its temperature is 1. What makes cross-entropy a good way to
# train accuracy is that $-\log p$ and the smoothed error $1-p$ agree to first order near $p=1$,
# while $-\log p$ punishes confident mistakes without bound.
#
# :::{prf:proposition} The three-point example, with and without a scale
# :label: thm-train-your-accuracy
# Data $(x,l)\in\{(-\tfrac14,-1),(0,-1),(\tfrac14,+1)\}$, logit $f(x)=k(x-b)$, prediction
# $\mathrm{sign} f(x)$ (a zero logit counts as an error).
#
# 1. All three points are classified correctly iff $b\in(0,\tfrac14)$.
# 2. Cross-entropy $\sum\log(1+e^{-lf(x)})$ has a unique minimiser $b^\star(k)$, the root of
#    $\sigma(k(b-\tfrac14))=\sigma(-k(b+\tfrac14))+\sigma(-kb)$; $b^\star(1)=$ {glue:text}`ce-optimum-k1:.5f`. It
#    decreases in $k$, lies in $(0,\tfrac14)$ iff $k>k_c=-4\log a$, where $a$ is the real root
#    of $3a^3+a^2+a-1=0$ ($k_c=$ {glue:text}`kc-threshold:.4f`), and tends to the max-margin point $\tfrac18$ as
#    $k\to\infty$.
# 3. The hinge loss $\sum\max(0,1-lf(x))$ is minimised exactly on the closed interval between
#    $1/k$ and $|\tfrac14-1/k|$, with value $\max(0,2-k/4)$: on $[\tfrac34,1]$ for $k=1$, inside
#    $(0,\tfrac14)$ iff $k>4$.
# 4. EXACT's expected accuracy $A_\sigma(b)=\frac13\sum\Phi\bigl(l(x-b)/\sigma\bigr)$ has its
#    maximiser in $(0,\tfrac14)$ iff $\sigma<\sigma_c=(-32\log u)^{-1/2}$, $u$ the real root of
#    $u^4+u-1=0$ ($1/\sigma_c=$ {glue:text}`exact-threshold:.3f`); at $\sigma=1$ its maximiser is
#    $b=$ {glue:text}`exact-sigma1-argmax:.2f`.
# 5. For $p\in(0,1]$: $\tfrac12(1-p)^2\le-\log p-(1-p)\le\frac{(1-p)^2}{2p}$.
# :::
#
# The article {cite}`su2022accuracy9098` discusses the EXACT paper {cite}`karpukhin2022exact9098`
# and continues the previous chapter's "$\nabla p\to\nabla\log p$" rule
# ({cite}`su2020imbalance7708`). The example and the numbers for $k=1$ are the paper's, as the
# article quotes them; everything else is computed here in float64.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
import torch
import torch.nn.functional as F
from scipy.optimize import brentq
from scipy.special import expit, ndtr

from lib.book import Chapter, show_table
from lib.losses import expected_accuracy_loss
from lib.stats import proportion_se

ch = Chapter("train-your-accuracy", seed=9098)
D = torch.float64
EPS = np.finfo(float).eps
XS = np.array([-0.25, 0.0, 0.25])
LS = np.array([-1.0, -1.0, 1.0])


# %% [markdown]
# ## 1. The example at a fixed scale
#
# (The article prints the data as `(0.25,,1)`, a typo for $(\tfrac14,+1)$.) With $f(x)=x-b$
# the per-sample losses are
#
# $$
# \ell_{\rm CE} = \log\bigl(1+e^{-l f(x)}\bigr),\qquad
# \ell_{\rm hinge} = \max\bigl(0,\,1-l f(x)\bigr),
# $$ (eq-train-your-accuracy-losses)
#
# and everything is a function of the single parameter $b$. The accuracy is 1 exactly when
# $-\tfrac14-b<0$, $-b<0$ and $\tfrac14-b>0$, i.e. $b\in(0,\tfrac14)$ — an open interval: at
# $b=0$ the middle point sits on the boundary and $\mathrm{sign}(0)=0$ is wrong. A first look
# by brute force: a grid search over $b\in[-1,2]$ with step $10^{-5}$ (our choice of grid):

# %%
def margins(b, k=1.0):
    """l * f(x) for the three points; b may be an array (last axis = points)."""
    return LS * k * (XS - np.asarray(b)[..., None])


def ce_total(b, k=1.0):
    return np.logaddexp(0, -margins(b, k)).sum(-1)


def hinge_total(b, k=1.0):
    return np.maximum(0, 1 - margins(b, k)).sum(-1)


def accuracy(b, k=1.0):
    return (margins(b, k) > 0).mean(-1)


grid = np.round(np.linspace(-1, 2, 300001), 10)
step = 1e-5
ce_g, hi_g, acc_g = ce_total(grid), hinge_total(grid), accuracy(grid)
b_ce_grid = grid[ce_g.argmin()]
hinge_set = grid[hi_g <= hi_g.min() + 1e-12]
acc_set = grid[acc_g == 1]
ch.claim("grid-ce-argmin-rounds", round(float(b_ce_grid), 1), equals=0.7, atol=1e-12,
         why="exact comparison after rounding to the printed precision (one decimal)",
         statement="grid search: CE is minimised at b = 0.7 to the precision the paper prints")
ch.source_number("0.7", where="the paper's toy example, quoted in the article (§ the example)",
                 fate="reproduced", claim="grid-ce-argmin-rounds")
ch.claim("grid-hinge-set-left", hinge_set.min(), equals=0.75, atol=step, why="grid step 1e-5",
         statement="grid search: the hinge minimiser set starts at 3/4")
ch.claim("grid-hinge-set-right", hinge_set.max(), equals=1.0, atol=step, why="grid step 1e-5",
         statement="grid search: the hinge minimiser set ends at 1")
ch.claim("grid-hinge-min", hi_g.min(), equals=1.75, atol=8 * EPS, why="sum of three float64 terms",
         statement="the minimal hinge loss is 7/4")
ch.claim("grid-acc-set", max(abs(acc_set.min() - 0), abs(acc_set.max() - 0.25)), at_most=step, atol=1e-12,
         why="the open ends sit one grid step (1e-5) inside; grid values are rounded to 1e-10",
         statement="accuracy 1 exactly on (0, 1/4)")
ch.claim("acc-endpoints-wrong", float(accuracy(0.0) + accuracy(0.25)), equals=4 / 3, rtol=1e-15,
         why="exact: each endpoint gets 2 of 3 points right", statement="b = 0 and b = 1/4 are not accuracy-optimal")
for printed, claim_ in (("0.75", "grid-hinge-set-left"), ("1", "grid-hinge-set-right")):
    ch.source_number(printed, where="the paper's toy example, quoted in the article (§ the example): hinge b in [0.75, 1]",
                     fate="reproduced", claim=claim_)
for printed in ("0", "0.25"):
    ch.source_number(printed, where="the paper's toy example, quoted in the article (§ the example): "
                     "accuracy 1 needs b in (0, 0.25)", fate="reproduced", claim="grid-acc-set")


# %% [markdown]
# The paper's numbers are reproduced: cross-entropy picks $b\approx$
# {glue:text}`ce-optimum-k1:.5f`, the hinge loss is flat at its minimum
# {glue:text}`grid-hinge-min:.2f` on $[\tfrac34,1]$, and neither lands in $(0,\tfrac14)$.
# (A grid `argmin` would return only the left end of the hinge's interval; we collect all grid
# points within $10^{-12}$ of the minimum.)
#
# To go beyond the grid: the cross-entropy total is a sum of softplus functions of affine
# functions of $b$, hence strictly convex, and $\partial_b\,\mathrm{softplus}(-lk(x-b)) =
# lk\,\sigma(-lk(x-b))$. Setting the sum to zero,
#
# $$
# \sigma\bigl(k(b-\tfrac14)\bigr) = \sigma\bigl(-k(b+\tfrac14)\bigr) + \sigma(-kb) ,
# $$ (eq-train-your-accuracy-stationary)
#
# whose unique root is $b^\star(k)$. We solve it by bracketing (Brent's method, tolerance
# $10^{-15}$):

# %%
def ce_stationarity(b, k=1.0):
    return expit(k * (b - 0.25)) - expit(-k * (b + 0.25)) - expit(-k * b)


def b_star(k):
    return brentq(ce_stationarity, -5, 5, args=(k,), xtol=1e-15, rtol=4 * EPS)


b1 = b_star(1.0)
# an independent route for every reference: the same equation solved in 40-digit arithmetic
mpmath.mp.dps = 40


def mp_b_star(k):
    k = mpmath.mpf(k)
    sig = lambda t: 1 / (1 + mpmath.exp(-t))
    return mpmath.findroot(lambda b: sig(k * (b - mpmath.mpf(1) / 4)) - sig(-k * (b + mpmath.mpf(1) / 4))
                           - sig(-k * b), 0.5)


def mp_ce_total(b, k=1):
    return sum(mpmath.log1p(mpmath.exp(-l_ * k * (x_ - b))) for x_, l_ in zip(XS, LS, strict=True))


b1_mp = mp_b_star(1)
ch.claim("ce-optimum-k1", b1, equals=float(b1_mp), atol=4 * EPS,
         why="Brent (float64, tolerance 1e-15) against mpmath's 40-digit root: a few ulp",
         statement="Eq. (eq-train-your-accuracy-stationary) at k = 1, solved two ways")
ch.claim("ce-min-loss-k1", ce_total(b1), equals=float(mp_ce_total(b1_mp)), rtol=16 * EPS,
         why="float64 evaluation of three softplus terms vs 40-digit arithmetic",
         statement="minimal CE at k = 1")
ch.claim("ce-accuracy-k1", accuracy(b1), equals=2 / 3, rtol=1e-15, why="exact count",
         statement="the CE optimum gets 2 of 3 points right")
ch.claim("ce-grid-agrees", abs(b_ce_grid - b1), at_most=step / 2, atol=1e-12,
         why="the grid argmin is the grid point nearest the true minimiser (convex function)",
         statement="the grid search and the root agree")

# %% [markdown]
# The paper's "$b=0.7$" is {glue:text}`ce-optimum-k1:.8f` rounded.
#
# ## 2. Put the scale back
#
# Real classifiers have a free scale: the logit is $k(x-b)$ (or $wx-c$), never $x-b$. Solving
# {eq}`eq-train-your-accuracy-stationary` for several $k$:

# %%
ks = [1.0, 2.0, 4.0, 10.0, 100.0]
bk = {k: b_star(k) for k in ks}
show_table(["k", *(f"{k:g}" for k in ks)],
           [["b*(k)", *(f"{bk[k]:.4f}" for k in ks)], ["accuracy", *(f"{accuracy(bk[k], k):.3f}" for k in ks)]])
ch.claim("ce-optimum-k2", bk[2.0], equals=float(mp_b_star(2)), atol=4 * EPS,
         why="Brent in float64 vs mpmath's 40-digit root", statement="b*(2), still outside (0, 1/4)")
ch.claim("ce-optimum-k4", bk[4.0], equals=float(mp_b_star(4)), atol=4 * EPS,
         why="Brent in float64 vs mpmath's 40-digit root", statement="b*(4), inside (0, 1/4)")
ch.claim("ce-optimum-k2-outside", bk[2.0], at_least=0.25, why="exact comparison",
         statement="at k = 2 the CE optimum is still outside (0, 1/4)")
ch.claim("ce-optimum-k4-inside", bk[4.0], between=(0.0, 0.25), why="exact comparison",
         statement="at k = 4 the CE optimum is inside (0, 1/4)")
k_dense = np.geomspace(0.5, 100, 400)
b_dense = np.array([b_star(k) for k in k_dense])
ch.claim("ce-optimum-decreasing", np.diff(b_dense).max(), at_most=0.0, atol=2.2e-15,
         why="two Brent tolerances (1.1e-15 each); the smallest true step, near k = 100, is ~2e-14",
         statement="b*(k) decreases in k (400 values of k in [0.5, 100])")

# %% [markdown]
# **The threshold.** Because $b^\star(k)$ decreases, it enters $(0,\tfrac14)$ exactly when it
# crosses $\tfrac14$. Setting $b=\tfrac14$ in {eq}`eq-train-your-accuracy-stationary` gives
# $\tfrac12=\sigma(-k/2)+\sigma(-k/4)$; with $a=e^{-k/4}$ this is
# $\tfrac12=\frac{a^2}{1+a^2}+\frac{a}{1+a}$, which clears to the cubic
#
# $$
# 3a^3+a^2+a-1=0,\qquad k_c=-4\log a .
# $$ (eq-train-your-accuracy-kc)
#
# The cubic is increasing on $a>0$, so it has one positive root. We check the algebra with
# SymPy and compare $k_c$ with a direct root solve of $b^\star(k)=\tfrac14$:

# %%
a_ = sp.symbols("a", positive=True)
eq = sp.Rational(1, 2) - a_**2 / (1 + a_**2) - a_ / (1 + a_)
num = sp.factor(sp.together(eq)).as_numer_denom()[0]
ch.claim("kc-cubic-sympy", sp.expand(num + (3 * a_**3 + a_**2 + a_ - 1)) == 0
         or sp.expand(num - (3 * a_**3 + a_**2 + a_ - 1)) == 0, equals=True,
         why="exact symbolic algebra", statement="b = 1/4 in Eq. (eq-train-your-accuracy-stationary) is the cubic 3a^3 + a^2 + a - 1 = 0")
a_root = float(sp.nsolve(3 * a_**3 + a_**2 + a_ - 1, a_, 0.5, prec=30))
k_c = -4 * math.log(a_root)
k_c_solve = brentq(lambda k: b_star(k) - 0.25, 2, 4, xtol=1e-13)
ch.claim("kc-threshold", k_c_solve, equals=k_c, atol=1e-11,
         why="nested Brent solves: inner tolerance 1e-15 in b, outer 1e-13 in k",
         statement="the root of b*(k) = 1/4 is k_c = -4 log a (Eq. eq-train-your-accuracy-kc)")
below, above = b_star(k_c * (1 - 1e-6)), b_star(k_c * (1 + 1e-6))
ch.claim("kc-crossing", (below > 0.25) and (0 < above < 0.25), equals=True,
         why="exact comparisons; |b* - 1/4| ~ 1e-7 here, far above the 1e-15 solver tolerance",
         statement="b*(k) is outside (0, 1/4) just below k_c and inside just above")


# %% [markdown]
# So a fixed scale between 1 and {glue:text}`kc-threshold:.4f` leaves cross-entropy at the wrong
# answer; any larger scale puts it right.
#
# **The limit $k\to\infty$.** For large $k$ and $b\in(0,\tfrac14)$ every argument in
# {eq}`eq-train-your-accuracy-stationary` is large and negative, so $\sigma(t)\approx e^t$:
# $e^{k(b-1/4)}\approx e^{-kb}(1+e^{-k/4})$, i.e.
#
# $$
# b^\star(k) \approx \tfrac18 + \frac{\log(1+e^{-k/4})}{2k} \;\xrightarrow[k\to\infty]{}\; \tfrac18 .
# $$ (eq-train-your-accuracy-limit)
#
# The limit is the **max-margin** threshold: halfway between the closest points of the two
# classes, $0$ and $\tfrac14$ — what logistic regression on separable data converges to in
# direction {cite}`soudry2018implicit9098`.

# %%
def limit_rel_error(k):
    return (b_star(k) - 0.125) / (math.log1p(math.exp(-k / 4)) / (2 * k)) - 1


ch.claim("ce-limit", limit_rel_error(40.0), at_most=3 * math.exp(-40 / 8),
         why="the neglected terms are relatively O(e^{-k/8}), coefficient ~2 (next claim); Brent error 2e-9 relative",
         statement="b*(40) - 1/8 matches Eq. (eq-train-your-accuracy-limit)")
ch.claim("ce-limit-rate", limit_rel_error(60.0) / limit_rel_error(40.0), equals=math.exp(-20 / 8), rtol=0.05,
         why="the relative error decays like e^{-k/8}; its own corrections are O(e^{-k/8}) ~ 0.7% at k = 40, "
         "Brent error 4e-7 relative at k = 60",
         statement="the error of Eq. (eq-train-your-accuracy-limit) decays like e^{-k/8}")
ch.claim("ce-limit-k200", abs(b_star(200.0) - 0.125), at_most=2.2e-15,
         why="Eq. (eq-train-your-accuracy-limit) gives e^{-50}/400 ~ 5e-25; what remains is the solver tolerance",
         statement="b*(200) = 1/8 to solver precision")

# %% [markdown]
# **The hinge loss at scale $k$.** Its three terms have slopes $-k$, $-k$, $+k$ in $b$ and
# switch on at $b<1/k-\tfrac14$, $b<1/k$ and $b>\tfrac14-1/k$. Between
# $|\tfrac14-1/k|$ and $1/k$ only the last two are active and their sum is the constant
# $2-k/4$; to the left the slope is negative, to the right positive. For $k>8$ that interval
# is empty and instead all terms vanish on $[1/k,\tfrac14-1/k]$. So the minimiser set is the
# interval between $1/k$ and $|\tfrac14-1/k|$ — for $k=1$ the paper's $[\tfrac34,1]$, for $k=4$
# the closed $[0,\tfrac14]$ (whose ends are wrong), for $k>4$ inside $(0,\tfrac14)$.

# %%
worst = 0.0
for k in [1, 2, 3, 4, 5, 6, 7, 8, 10, 20]:
    h = hinge_total(grid, k)
    s = grid[h <= h.min() + 1e-12]
    lo, hi = sorted([1 / k, abs(0.25 - 1 / k)])
    worst = max(worst, abs(s.min() - lo), abs(s.max() - hi), abs(h.min() - max(0, 2 - k / 4)))
ch.claim("hinge-minimiser-sets", worst, at_most=step, atol=1e-12,
         why="grid step 1e-5 (endpoints); minimum values exact up to float64 rounding",
         statement="hinge minimiser set = [min, max] of {1/k, |1/4 - 1/k|}, value max(0, 2 - k/4), k in 1..20")


# %% [markdown]
# **A learnable scale.** Parametrise $f(x)=wx-c$ (so $b=c/w$ and $k=w$) and run plain gradient
# descent on the mean cross-entropy, learning rate 1, from $w=1$, $c=0$:

# %%
def joint_gd(steps):
    w, c = 1.0, 0.0
    b_path, w_path, last_wrong = [], [], 0
    for t in range(1, steps + 1):
        s = expit(-LS * (w * XS - c))  # minus d softplus(-m)/dm at the margins
        w, c = w + (s * LS * XS).mean(), c - (s * LS).mean()
        if np.any(LS * (w * XS - c) <= 0):
            last_wrong = t
        b_path.append(c / w)
        w_path.append(w)
    return np.array(b_path), np.array(w_path), last_wrong


b_path, w_path, last_wrong = joint_gd(20000)
ch.claim("joint-accuracy-one", last_wrong, at_most=100, why="exact count of steps",
         statement="with a learnable scale, accuracy is 1 from step 100 on (in fact from much earlier)")
inside = (b_path[last_wrong:] > 0) & (b_path[last_wrong:] < 0.25)
ch.claim("joint-stays-inside", bool(inside.all()), equals=True, why="exact comparisons",
         statement="b = c/w stays in (0, 1/4) for all later steps")
ch.claim("joint-b-final", b_path[-1], between=(0.12, 0.13),
         why="qualitative: within 0.005 of the max-margin 1/8 (the drift is logarithmically slow)",
         statement="b = c/w approaches 1/8 as w grows")
ch.claim("joint-b-closer", abs(b_path[-1] - 0.125) / abs(b_path[99] - 0.125), at_most=0.1,
         why="qualitative: an order of magnitude closer to 1/8 after 2e4 steps than after 100",
         statement="the drift towards 1/8 continues")
ch.measured("joint-w-final", float(w_path[-1]), why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% [markdown]
# Accuracy is 1 after step {glue:text}`joint-accuracy-one:d` and stays there. Afterwards the
# loss can only keep decreasing by growing the scale: $w$ reaches
# {glue:text}`joint-w-final:.1f` after $2\times10^4$ steps (it grows like $\log t$), and $b=c/w$
# drifts slowly to the max-margin $\tfrac18$ ({glue:text}`joint-b-final:.5f`).
#
# ## 3. EXACT's objective on the same example
#
# EXACT defines a classifier's probabilities by perturbing its logits and taking the argmax —
# the construction of the chapter on discrete distributions from reparameterisation, with
# normal instead of Gumbel noise — and maximises the expected accuracy:
#
# $$
# p(y\mid x) = P_{\varepsilon\sim\mathcal N(0,I)}\Bigl[y=\arg\max_i\bigl(\mu_i(x)/\sigma(x)+\varepsilon_i\bigr)\Bigr],
# \qquad \mathcal L_{\rm EXACT} = -\mathbb E_{(x,y)}\bigl[p(y\mid x)\bigr],
# $$ (eq-train-your-accuracy-exact)
#
# with $\mu(x)$ a vector and $\sigma(x)>0$ a scalar output of the network. Conditioning on
# the target's noise $\varepsilon_y=t$ gives $p(y\mid x)=\int\varphi(t)\prod_{i\ne
# y}\Phi\bigl(t+(\mu_y-\mu_i)/\sigma\bigr)dt$, which the library evaluates by Gauss–Hermite
# quadrature for the target class only:
#
# :::{admonition} Code: `expected_accuracy_loss` (lib/losses/accuracy.py, 46 lines)
# :class: dropdown
# ```{literalinclude} /lib/losses/accuracy.py
# :pyobject: expected_accuracy_loss
# ```
# :::
#
# Two cross-checks by independent routes: against Monte Carlo (draw the noise, count how often
# the noisy argmax is the target), and, for two classes, against the closed form: with logits
# $(0,\sqrt2 f)$ the difference $\varepsilon_2-\varepsilon_1$ has variance 2, so
# $p(\text{class }2)=\Phi(f/\sigma)$. In the example this is noise on the score,
# $\mathrm{sign}(f(x)+\sigma\varepsilon)$, and the expected accuracy is
#
# $$
# A_\sigma(b) = \frac13\sum_{(x,l)}\Phi\Bigl(\frac{l(x-b)}{\sigma}\Bigr).
# $$ (eq-train-your-accuracy-A)

# %%
mu = torch.randn(200, 6, dtype=D, generator=torch.Generator().manual_seed(1)) * 2
tgt = torch.randint(0, 6, (200,), generator=torch.Generator().manual_seed(2))
p_ours = -expected_accuracy_loss(mu, tgt, scale=0.8, reduction="none")
# an independent route: Monte Carlo of argmax(mu + 0.8 eps) == target, 20000 draws per row
n_mc = 20000
eps_mc = torch.randn(n_mc, 200, 6, dtype=D, generator=torch.Generator().manual_seed(3))
p_mc = ((mu + 0.8 * eps_mc).argmax(-1) == tgt).to(D).mean(0)
# binomial standard errors; for a probability below 1/n the normal approximation fails, so the
# standard error is floored at that of p = 1/n (one expected event)
z_mc = ((p_mc - p_ours) / proportion_se(p_ours.clamp(1 / n_mc, 1 - 1 / n_mc), n_mc)).abs().max()
ch.claim("exact-vs-monte-carlo", z_mc, at_most=4.5,
         why="binomial standard errors of 200 independent frequencies (floored at p = 1/n); "
         "P(max |z| > 4.5) ~ 200 x 7e-6 = 1e-3",
         statement="expected_accuracy_loss equals the Monte-Carlo frequency of a correct noisy argmax")
bq = torch.linspace(-1, 2, 301, dtype=D)
f_toy = torch.tensor(LS, dtype=D) * (torch.tensor(XS, dtype=D) - bq[:, None])  # l (x - b)
two = torch.stack([torch.zeros_like(f_toy), math.sqrt(2) * f_toy], -1).reshape(-1, 2)
A_lib = -expected_accuracy_loss(two, torch.ones(len(two), dtype=torch.long), scale=0.5,
                                reduction="none").reshape(-1, 3).mean(1)
A_closed = torch.special.ndtr(f_toy / 0.5).mean(1)
ch.claim("exact-toy-closed-form", (A_lib - A_closed).abs().max(), at_most=1e-12,
         why="Gauss-Hermite accuracy at 64 nodes for a two-class integral (see tests)",
         statement="EXACT on the example is Eq. (eq-train-your-accuracy-A)")


# %% [markdown]
# $A_\sigma$ is smooth with derivative
# $A_\sigma'(b)=\frac{1}{3\sigma}\bigl[\varphi(\tfrac{b+1/4}{\sigma})+\varphi(\tfrac b\sigma)-\varphi(\tfrac{1/4-b}{\sigma})\bigr]$,
# so its maximiser solves $\varphi\bigl(\frac{1/4-b}{\sigma}\bigr)=\varphi\bigl(\frac{b+1/4}{\sigma}\bigr)+\varphi\bigl(\frac b\sigma\bigr)$.
# Its threshold follows exactly as for cross-entropy: at $b=\tfrac14$,
# $1=e^{-1/(8\sigma^2)}+e^{-1/(32\sigma^2)}$, and with $u=e^{-1/(32\sigma^2)}$,
#
# $$
# u^4+u-1=0,\qquad \sigma_c=\bigl(-32\log u\bigr)^{-1/2}.
# $$ (eq-train-your-accuracy-sigmac)

# %%
def exact_stationarity(b, s):
    phi = lambda t: math.exp(-t * t / 2)
    return phi((0.25 - b) / s) - phi((b + 0.25) / s) - phi(b / s)


def exact_argmax(s):
    """Global maximiser of A_s: coarse grid, then a Brent solve of the stationarity condition."""
    bb = np.linspace(-1, 6, 7001)
    b0 = bb[ndtr(LS * (XS - bb[:, None]) / s).mean(1).argmax()]
    return brentq(exact_stationarity, b0 - 2e-3, b0 + 2e-3, args=(s,), xtol=1e-15)


b_ex = {s: exact_argmax(s) for s in (1.0, 0.5, 0.2)}
A = lambda b, s: float(ndtr(LS * (XS - b) / s).mean())
ch.claim("exact-sigma1-argmax", b_ex[1.0], at_least=0.25,
         why="exact comparison; the maximiser lies far beyond the boundary 1/4",
         statement="sigma = 1 (no temperature): EXACT's optimum is outside (0, 1/4)")
ch.claim("exact-sigma1-accuracy", accuracy(b_ex[1.0]), equals=2 / 3, rtol=1e-15, why="exact count",
         statement="...and gets 2 of 3 points right")
def mp_exact_argmax(s, b0):
    phi = lambda t: mpmath.exp(-t * t / 2)
    s = mpmath.mpf(s)
    return mpmath.findroot(lambda b: phi((mpmath.mpf(1) / 4 - b) / s) - phi((b + mpmath.mpf(1) / 4) / s)
                           - phi(b / s), b0)


for s_, name in ((0.5, "exact-sigma05-argmax"), (0.2, "exact-sigma02-argmax")):
    ch.claim(name, b_ex[s_], equals=float(mp_exact_argmax(s_, b_ex[s_])), atol=1e-14,
             why="Brent (xtol 1e-15) against mpmath's 40-digit root started at the same maximiser",
             statement=f"sigma = {s_}: EXACT's maximiser, solved two ways")
ch.claim("exact-sigma05-outside", b_ex[0.5], at_least=0.25, why="exact comparison",
         statement="sigma = 0.5: EXACT's maximiser is still outside (0, 1/4)")
ch.claim("exact-sigma02-inside", b_ex[0.2], between=(0.0, 0.25), why="exact comparison",
         statement="sigma = 0.2: EXACT's maximiser is inside (0, 1/4)")
u_root = float(sp.nsolve(a_**4 + a_ - 1, a_, 0.7, prec=30))
sigma_c = (-32 * math.log(u_root)) ** -0.5
ch.claim("exact-threshold", 1 / brentq(lambda s: exact_argmax(s) - 0.25, 0.25, 0.4, xtol=1e-13),
         equals=1 / sigma_c, rtol=1e-10, why="nested Brent solves (1e-15 inner, 1e-13 outer)",
         statement="EXACT's optimum enters (0, 1/4) at 1/sigma_c from Eq. (eq-train-your-accuracy-sigmac)")
s_lim = 0.04
inv_sig = np.geomspace(1, 25, 120)
b_exact_sweep = np.array([exact_argmax(1 / v) for v in inv_sig])
ch.claim("exact-argmax-decreasing", np.diff(b_exact_sweep).max(), at_most=0.0, atol=2.2e-15,
         why="two Brent tolerances (1.1e-15 each)",
         statement="EXACT maximiser is non-increasing in 1/sigma (120 values in [1, 25]): the threshold is sharp")
ch.claim("exact-limit", exact_argmax(s_lim), equals=0.125, atol=2.2e-15,
         why="as sigma -> 0 the condition reduces to (1/4 - b)^2 = b^2; at sigma = 0.04 the "
         "correction is ~e^{-78}, so only the Brent tolerance (1.1e-15) remains",
         statement="EXACT's optimum also tends to the max-margin 1/8")

# %% [markdown]
# So EXACT without a temperature ($\sigma=1$) picks $b=$ {glue:text}`exact-sigma1-argmax:.3f`
# and gets the example wrong just like cross-entropy; it needs an inverse temperature above
# {glue:text}`exact-threshold:.3f`, almost the same threshold as cross-entropy's
# {glue:text}`kc-threshold:.3f`. The paper's example therefore does not separate the losses —
# it separates models with and without a scale, which is the article's objection.
#
# The smoothed accuracy built from the *logistic* instead,
# $\frac13\sum\sigma\bigl(l(x-b)\bigr)$ at $k=1$, is worse still: it has no maximiser at all.
# As $b\to\infty$ it tends to $\tfrac23$ from below (to leading order the deficit is
# $\tfrac13e^{-b}(1+e^{-1/4}-e^{1/4})>0$), and it increases along the way (checked on
# $[-20,30]$). (EXACT at $\sigma=1$ does have one, because the Gaussian tail at $b-\tfrac14$
# eventually dominates the two tails at $b$ and $b+\tfrac14$.)

# %%
bl = np.linspace(-20, 30, 500001)
dsig = lambda t: expit(t) * expit(-t)  # sigma'(t), accurate in both tails
S_prime = (dsig(bl + 0.25) + dsig(bl) - dsig(bl - 0.25)) / 3
ch.claim("sigmoid-acc-increasing", (S_prime / dsig(bl)).min(), at_least=0.0,
         why="the derivative relative to sigma'(b) stays bounded away from 0 on the grid; float64 error a few eps",
         statement="the logistic smoothed accuracy (k = 1) has a positive derivative on [-20, 30]")
S_end = float(expit(LS * (XS - 30.0)).mean())
ch.claim("sigmoid-acc-sup", 2 / 3 - S_end, between=(0.0, 1e-13),
         why="leading-order deficit (1 + e^{-1/4} - e^{1/4}) e^{-30}/3 = 1.5e-14 > 0",
         statement="it approaches 2/3 from below: no finite maximiser")

# %% mystnb={"figure": {"caption": "Where each objective puts the threshold $b$ of the three-point example as the scale grows \u2014 cross-entropy at fixed $k$, hinge at fixed $k$ (its minimiser set), and EXACT's expected accuracy at inverse temperature $1/\\sigma$. The green band is the accuracy-optimal interval $(0,\\frac14)$, the dotted line the max-margin threshold $\\frac18$; markers show the thresholds $k_c$, $4$ and $1/\\sigma_c$.", "name": "fig-train-your-accuracy-scale"}}
kk = np.geomspace(0.5, 100, 300)
fig, ax = plt.subplots(figsize=(7.2, 4.0))
ax.axhspan(0, 0.25, color="#009E73", alpha=0.15, label=r"accuracy 1: $b\in(0,1/4)$")
ax.axhline(0.125, color="k", ls=":", lw=1)
ax.plot(kk, [b_star(k) for k in kk], label="cross-entropy $b^\\star(k)$")
lo_h = np.minimum(1 / kk, np.abs(0.25 - 1 / kk))
hi_h = np.maximum(1 / kk, np.abs(0.25 - 1 / kk))
ax.fill_between(kk, lo_h, hi_h, color="#D55E00", alpha=0.35, label="hinge minimiser set")
ax.plot(inv_sig, b_exact_sweep, color="#CC79A7",
        label=r"EXACT argmax $A_\sigma$, vs $1/\sigma$")
for xv, c in [(k_c, "#0072B2"), (4.0, "#D55E00"), (1 / sigma_c, "#CC79A7")]:
    ax.plot([xv], [0.25], "o", color=c)
ax.set_xscale("log")
ax.set_ylim(-0.05, 1.05)
ax.set_xlabel(r"scale $k$ (or inverse temperature $1/\sigma$)")
ax.set_ylabel("optimal threshold $b$")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# **A small multi-class comparison.** The article reports that, on its NLP tasks, EXACT stayed
# below softmax plus cross-entropy (no numbers are given, and the paper's large benchmarks
# cannot be rerun on a CPU budget). A toy version: five Gaussian classes in ten dimensions
# (means with entries $\mathcal N(0,0.6^2)$, unit covariance), 1000 training and 20 000 test
# points, a linear model trained with Adam (150 steps, learning rate 0.1) on cross-entropy, on
# the softmax expected accuracy $-p_y$ (Gumbel noise), and on EXACT (normal noise, 16-node
# quadrature). The scale is learnable here — it is the norm of the weights.

# %%
gen = torch.Generator().manual_seed(9098)
C, dim = 5, 10
means = torch.randn(C, dim, generator=gen, dtype=D) * 0.6


def draw(n):
    yy = torch.randint(0, C, (n,), generator=gen)
    return means[yy] + torch.randn(n, dim, generator=gen, dtype=D), yy


Xtr, ytr = draw(1000)
Xte, yte = draw(20000)
losses = {
    "cross-entropy": F.cross_entropy,
    "softmax expected accuracy $-p_y$": lambda s, t: expected_accuracy_loss(s, t, noise="gumbel"),
    "EXACT (normal noise)": lambda s, t: expected_accuracy_loss(s, t, noise="normal", nodes=16),
}
test_acc = {}
for name, loss in losses.items():
    W = torch.zeros(dim + 1, C, dtype=D, requires_grad=True)
    opt = torch.optim.Adam([W], lr=0.1)
    for _ in range(150):
        opt.zero_grad()
        loss(Xtr @ W[:dim] + W[dim], ytr).backward()
        opt.step()
    test_acc[name] = float(((Xte @ W[:dim].detach() + W[dim].detach()).argmax(1) == yte).to(D).mean())
show_table(["training loss", "test accuracy"], [[k, f"{v:.4f}"] for k, v in test_acc.items()])
se_t = math.sqrt(0.25 / len(yte))
best_other = max(v for k, v in test_acc.items() if k != "cross-entropy")
ch.claim("toy-ce-not-worse", test_acc["cross-entropy"] - best_other, at_least=-3 * se_t,
         why="3 worst-case standard errors sqrt(0.25/20000) of a test accuracy",
         statement="cross-entropy is not worse than either expected-accuracy loss on the toy")

# %% [markdown]
# Cross-entropy is ahead of the better expected-accuracy loss by
# {glue:text}`toy-ce-not-worse:.4f` here. That is consistent with the article's experience, but it
# is one linear toy, not a test of the paper's full recipe (which adds margin and variance
# schedules and gradient normalisation).
#
# ## 4. Why cross-entropy trains accuracy anyway
#
# Training pushes most target probabilities $p=p(y\mid x)$ towards 1, and near 1 the logarithm
# is linear: $\log p\approx p-1$. Hence
#
# $$
# \mathbb E\bigl[-\log p(y\mid x)\bigr] \approx \mathbb E\bigl[1-p(y\mid x)\bigr] = 1-\mathbb E\bigl[p(y\mid x)\bigr],
# $$ (eq-train-your-accuracy-first-order)
#
# and late in training cross-entropy *is* the smoothed error — the quantity EXACT optimises.
# Where they differ is far from 1: $-\log p\to\infty$ as $p\to0$ while $1-p\le1$, and the
# gradients $-1/p$ and $-1$ differ by the factor $1/p$ — the factor of the previous chapter's
# "$\nabla p\to\nabla\log p$" rule. Cross-entropy keeps pulling at confident mistakes.

# %%
pe = sp.symbols("p", positive=True)
ch.claim("error-bounded-ce-unbounded-sympy", bool(sp.limit(1 - pe, pe, 0, "+") == 1 and sp.diff(1 - pe, pe) < 0
         and sp.limit(-sp.log(pe), pe, 0, "+") == sp.oo), equals=True, why="exact symbolic limits",
         statement="on (0, 1] the smoothed error 1 - p is at most 1 (its limit as p -> 0), while -log p -> infinity")
ch.source_number("1", where="§ a new perspective: 1 - p(y|x) gives at most 1 when p(y|x) << 1",
                 fate="reproduced", claim="error-bounded-ce-unbounded-sympy")

# %% [markdown]
# How good is {eq}`eq-train-your-accuracy-first-order`? With $u=1-p\in[0,1)$,
# $-\log p-(1-p) = -\log(1-u)-u = \sum_{m\ge2}u^m/m$. Keeping the first term gives a lower bound;
# replacing every $1/m$ by $\tfrac12$ gives an upper bound, $\tfrac12\sum_{m\ge2}u^m =
# \frac{u^2}{2(1-u)}$:
#
# $$
# \tfrac12(1-p)^2 \;\le\; -\log p-(1-p) \;\le\; \frac{(1-p)^2}{2p} .
# $$ (eq-train-your-accuracy-bounds)
#
# (These bounds are ours, not the article's.) The gap to first order is therefore
# quadratic in the error $1-p$, with a constant between $\tfrac12$ and $\frac1{2p}$.

# %%
uu = sp.symbols("u", positive=True)
series = sp.series(-sp.log(1 - uu) - uu, uu, 0, 6).removeO()
ch.claim("bounds-series-sympy", sp.expand(series - sum(uu**m / m for m in range(2, 6))) == 0,
         equals=True, why="exact symbolic series", statement="-log(1-u) - u = sum_{m>=2} u^m/m")
pp = (np.arange(10**6) + 0.5) / 10**6
u_ = 1 - pp
gap = -np.log(pp) - u_
lower_slack = (gap - u_**2 / 2) / u_**2
upper_slack = (u_**2 / (2 * pp) - gap) / u_**2
ch.claim("bounds-lower", lower_slack.min(), at_least=0.0,
         why="true slack >= u/3 >= 1.7e-7 (relative), float64 error <= ~4 eps/u <= 2e-9: no tolerance needed",
         statement="lower bound of Eq. (eq-train-your-accuracy-bounds) on 1e6 points of (0, 1)")
ch.claim("bounds-upper", upper_slack.min(), at_least=0.0,
         why="true slack >= u/6 (relative), float64 error <= ~4 eps/u: no tolerance needed",
         statement="upper bound of Eq. (eq-train-your-accuracy-bounds) on 1e6 points of (0, 1)")

# %% mystnb={"figure": {"caption": "Left, cross-entropy $-\\log p$ and the smoothed error $1-p$ as functions of the target probability, with the band allowed by {eq}`eq-train-your-accuracy-bounds`; they agree to first order at $p=1$ and part ways for confident mistakes. Right, the ratio of their gradients, $1/p$.", "name": "fig-train-your-accuracy-log"}}
pl = np.linspace(0.02, 1, 500)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.6))
ax1.plot(pl, -np.log(pl), label=r"cross-entropy $-\log p$")
ax1.plot(pl, 1 - pl, label=r"smoothed error $1-p$")
ax1.fill_between(pl, (1 - pl) + (1 - pl) ** 2 / 2, (1 - pl) + (1 - pl) ** 2 / (2 * pl),
                 color="#0072B2", alpha=0.2, label="two-sided bounds")
ax1.set_ylim(0, 4)
ax1.set_xlabel("target probability $p$")
ax1.set_ylabel("loss")
ax1.legend()
ax2.semilogy(pl, 1 / pl)
ax2.set_xlabel("target probability $p$")
ax2.set_ylabel(r"gradient ratio $1/p$")
plt.show()

# %% [markdown]
# ## 5. Where the article is imprecise
#
# **A remark, not an erratum: the temperature must be large enough, or learnable.** The article
# says that with an *adjustable* temperature cross-entropy and the hinge loss find a correct
# $b$ — which section 2 confirms (a learnable scale grows past the threshold). A reader who
# fixes the temperature instead should know that not every fixed value works: doubling the
# scale is not enough for either loss.

# %%
h2 = hinge_total(grid, 2.0)
hinge_k2 = grid[h2 <= h2.min() + 1e-12]
ch.claim("fixed-k2-ce-wrong", accuracy(bk[2.0], 2.0), equals=2 / 3, rtol=1e-15, why="exact count",
         statement="at k = 2 the CE optimum still misclassifies a point")
ch.claim("fixed-k2-hinge-wrong", accuracy(hinge_k2, 2.0).max(), equals=2 / 3, rtol=1e-15,
         why="exact count over the whole minimiser set [1/4, 1/2]",
         statement="at k = 2 every hinge minimiser misclassifies a point")

# %% [markdown]
# The thresholds are $k_c=$ {glue:text}`kc-threshold:.4f` for cross-entropy and exactly 4 for the
# hinge loss (at $k=4$ its minimiser set $[0,\tfrac14]$ still contains wrong endpoints).
#
# **The rounded optimum.** The quoted "$b=0.7$" is {glue:text}`ce-optimum-k1:.5f` rounded to
# the one decimal it is printed with; nothing more can be read from it.
#
# **The article's numbers.** We read the article's text and listed every number in a stated
# result: the optima of the toy example it quotes from the paper ($b=0.7$, the hinge interval
# $[0.75,1]$, the accuracy interval $(0,0.25)$) and the bound 1 of the smoothed error. All are
# reproduced; the table at the end links each to its check. The three data points and the
# unit-variance noise are inputs. The paper's benchmark results appear in the article only as
# an image, and the author's own NLP comparison is reported without numbers, so neither gives a
# printed number to check.
#
# ## Claims

# %%
ch.table();
