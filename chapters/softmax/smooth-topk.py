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
#     date: '2024-09-19'
#     id: 10373
#     title: 'Softmax Sequel: Looking for a Smooth Approximation of Top-k'
#     title_zh: "Softmax\u540E\u4F20\uFF1A\u5BFB\u627ETop-K\u7684\u5149\u6ED1\u8FD1\u4F3C"
#     url: https://kexue.fm/archives/10373
# ---

# %% [markdown]
# (ch-smooth-topk)=
# # Smooth top-k
#
# Softmax smooths the one-hot argmax. What smooths the multi-hot top-$k$ indicator — a map to
# entries in $[0,1]$ summing to $k$ that keeps the order, ignores a common shift and tends to
# the hard top-$k$ at zero temperature? Two principled answers work: the gradient of a smoothed
# top-$k$ sum (**GradTopK**, inclusion probabilities of a softmax over $k$-subsets) and a
# sigmoid-like function with a threshold making the entries sum to $k$ (**ThreTopK**). The
# heuristic iterations fail: the weighted-softmax one tends to $(1.5,0.5)$, not $(1,1)$, for
# $k=2$ (underflow can hide it) and gives entries like {glue:text}`weighted-k3-first:.1f` for
# $k=3$; Su's leaves $[0,1]$ and reverses the order. The article's GradTopK recursion fails
# silently before it fails with NaN, and its smooth threshold map is softmax at $k=1$ only when
# no probability exceeds one half.
#
# :::{prf:theorem} Smooth top-k maps
# :label: thm-smooth-topk
# Let $x\in\mathbb R^n$, $1\le k<n$, $\mathcal T_k(x)\in\{0,1\}^n$ mark the $k$ largest entries.
#
# 1. (GradTopK) With $Z_k=\sum_{|S|=k}e^{\sum_{i\in S}x_i}$, the map
#    $\mathcal{ST}_k(x)=\nabla_x\log Z_k$ has entries $Z_{k,i}/Z_k\in(0,1)$, where
#    $Z_{k,i}=e^{x_i}e_{k-1}(e^{x_{-i}})$ sums the subsets containing $i$; they sum to $k$;
#    the map is monotone, shift-invariant, equals softmax for $k=1$, and
#    $\mathcal{ST}_k(x/\tau)\to\mathcal T_k(x)$ as $\tau\to0^+$ when the top-$k$ set is unique.
# 2. (ThreTopK) For continuous increasing $f:\mathbb R\to[0,1]$ with limits $0$ and $1$,
#    $\mathcal{ST}_k(x)=f(x-\lambda(x))$ with $\sum_if(x_i-\lambda)=k$ has the same three
#    properties (monotone weakly if $f$ saturates, as $\min(1,e^z)$ does, for which
#    $\lambda=\min_{0\le m<k}\bigl[\log\sum_{i>m}e^{x_{(i)}}-\log(k-m)\bigr]$).
# 3. The weighted-softmax iteration $p\leftarrow p+\mathrm{softmax}(x;1-p)$ is not such a map:
#    for $k=2$ its zero-temperature limit is $1.5$ on the largest entry, $0.5$ on the runner-up.
# :::
#
# Sources: {cite}`su2024topk10373`; the iteration {cite}`su2019smooth10373`; the weighted variant
# {cite}`se2020weighted10373`; the threshold idea of sparsemax {cite}`martins2016sparsemax10373`. All float64.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

from lib.book import Chapter
from lib.softmax import grad_topk, log_elementary_symmetric, thre_topk
from lib.softmax.as_published import (  # the article's procedures the chapter shows failing
    grad_topk_recursive,
    recursion_failure_scan,
    soft_k_max_iterative,
    weighted_limit_symbolic,
    weighted_softmax_topk,
)
from lib.softmax.topk import (  # the chapter's experiments and figures, moved to the module
    brent_thre_topk,
    brute_grad_topk,
    plot_top2_limits,
    sigmoid_jacobians,
    smooth_f_symbolic,
    topk_audit,
    topk_audit_cases,
    topk_mask,
    zk_identities_symbolic,
)

ch = Chapter("smooth-topk", seed=10373)
f64 = torch.float64
EPS = torch.finfo(f64).eps
X4 = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)

# %% [markdown]
# ## 1. The problem
#
# $\mathcal T_k$ marks the $k$ largest entries, e.g. $\mathcal T_2([3,2,1,4])=[1,0,0,1]$; being
# piecewise constant it passes no gradient. We look for
# $\mathcal{ST}_k:\mathbb R^n\to\Delta_k=\{p\in[0,1]^n:\sum_ip_i=k\}$ with
#
# $$
# \text{monotone: } p_i\ge p_j\Leftrightarrow x_i\ge x_j,\qquad
# \text{invariant: } \mathcal{ST}_k(x+c\mathbf 1)=\mathcal{ST}_k(x),\qquad
# \text{limit: } \lim_{\tau\to0^+}\mathcal{ST}_k(x/\tau)=\mathcal T_k(x).
# $$ (eq-smooth-topk-properties)
#
# Softmax is $\mathcal{ST}_1$; entries of $\mathcal{ST}_k$ are soft top-$k$ memberships.

# %%
ch.claim("hard-top2-example", bool(torch.equal(topk_mask(X4, 2), torch.tensor([1.0, 0, 0, 1], dtype=f64))),
         equals=True, why="exact", statement="T_2([3, 2, 1, 4]) = [1, 0, 0, 1]")
ch.source_number("[1,0,0,1]", where="§Problem statement: worked example T_2([3,2,1,4])", fate="reproduced",
                 claim="hard-top2-example")

# %% [markdown]
# ## 2. Iterative constructions, and why they fail
#
# **Su's 2019 iteration.** For $x\ge0$, start from $p=0$ and repeat $k$ times
# $p\leftarrow p+\mathrm{softmax}\bigl((1-p)\otimes x\bigr)$; with a hard argmax each round zeroes
# the winner. The article reports no problem in tests and calls range and monotonicity hard to
# prove. Both fail on small examples:

# %%
SU_ERRATUM = ("The article reports that its 2019 iteration shows no problem in tests and only says that "
              "range [0,1] and monotonicity are hard to prove (§As a gradient)")
su_over = soft_k_max_iterative(torch.tensor([2.0, 0.0, 0.0], dtype=f64), 2)
su_rev = soft_k_max_iterative(torch.tensor([4.0, 3.0, 0.0], dtype=f64), 2)
ch.claim("su-iter-above-one", su_over.max(), at_least=1.1, erratum=SU_ERRATUM,
         why="a violation of the range must exceed rounding (1e-16) by far",
         statement="Su's iteration at x = [2, 0, 0], k = 2 has an entry above 1")
ch.claim("su-iter-order-reversed", su_rev[1] - su_rev[0], at_least=1e-3, erratum=SU_ERRATUM,
         why="an order reversal far above rounding",
         statement="Su's iteration at x = [4, 3, 0], k = 2 ranks x_2 above x_1")
ch.claim("su-iter-limit", (soft_k_max_iterative(X4 / 0.05, 2) - topk_mask(X4, 2)).abs().max(),
         at_most=2 * 3 * math.exp(-1 / 0.05),
         why="each round is a softmax whose winner leads by >= gap/tau = 20, within (n-1) e^{-20} "
         "of one-hot; the first winner keeps weight 1 - p ~ e^{-20} in the second round",
         statement="Su's iteration at tau = 0.05 is close to T_2([3, 2, 1, 4])")

# %% [markdown]
# At $x=[2,0,0]$ an entry is {glue:text}`su-iter-above-one:.3f`; at $x=[4,3,0]$ the second
# entry beats the first by {glue:text}`su-iter-order-reversed:.4f`. The low-temperature limit is right.
#
# **The weighted-softmax iteration** repeats $p\leftarrow p+\mathrm{softmax}(x;1-p)$, with
# $[\mathrm{softmax}(x;w)]_i=w_ie^{x_i}/\sum_jw_je^{x_j}$. For $a=e^{x_{(1)}/\tau}\gg b=e^{x_{(2)}/\tau}\gg$
# the rest, round one gives $1-p_{(1)}\approx b/a$, so in round two the largest entry weighs
# $(1-p_{(1)})a\approx b$, as much as the runner-up, and the round splits evenly:
#
# $$
# \lim_{\tau\to0^+}p^{(2)}\bigl(x/\tau\bigr)=\bigl(\tfrac32,\tfrac12,0,\dots\bigr)\quad
# \text{(sorted)}.
# $$ (eq-smooth-topk-weighted-limit)
#
# SymPy takes the limit for $x=(2,1,0)$, $t=e^{-1/\tau}\to0$. `weighted_softmax_topk` updates
# $w=1-p$ exactly instead of forming $1-p$: $1-p_{(1)}\approx e^{-\mathrm{gap}/\tau}$ rounds to
# zero below $2^{-53}$, and then the second round picks the runner-up and the output is exactly
# $\mathcal T_k$. For a gap of one that happens below $\tau^*=1/(53\ln2)$, an ordinary
# temperature: the wrong limit then *looks* right.

# %%
lim = weighted_limit_symbolic()  # exact SymPy limit of two rounds at x = (2, 1, 0) / tau
ch.claim("weighted-limit-sympy", lim == [sp.Rational(3, 2), sp.Rational(1, 2), 0], equals=True,
         why="exact symbolic limit", statement="Eq. (eq-smooth-topk-weighted-limit) for x = (2, 1, 0)")
for printed, what in (("1.5", "largest entry"), ("0.5", "runner-up"), ("0", "all other entries")):
    ch.source_number(printed, where=f"§Iterative construction: weighted-softmax iteration, k = 2, τ -> 0+, {what}",
                     fate="reproduced", claim="weighted-limit-sympy")
target = torch.tensor([0.5, 0.0, 0.0, 1.5], dtype=f64)
w01 = weighted_softmax_topk(X4 / 0.1, 2)
ch.claim("weighted-top-tau01", w01.max(), equals=1.5, atol=4 * math.exp(-1 / 0.1),
         why="corrections are O(e^{-gap/tau}) = e^{-10} = 4.5e-5 per neighbour",
         statement="weighted iteration, k = 2, tau = 0.1: top entry -> 1.5")
ch.claim("weighted-second-tau01", w01.sort().values[-2], equals=0.5, atol=4 * math.exp(-1 / 0.1),
         why="corrections are O(e^{-gap/tau}) = e^{-10}",
         statement="weighted iteration, k = 2, tau = 0.1: runner-up -> 0.5")
w002 = weighted_softmax_topk(X4 / 0.02, 2)
ch.claim("weighted-stable-tau002", (w002 - target).abs().max(), at_most=4 * EPS,
         why="corrections e^{-50} ~ 2e-22 are below float64 resolution; a few ulp of rounding",
         statement="exact update at tau = 0.02: (0.5, 0, 0, 1.5)")
naive002 = weighted_softmax_topk(X4 / 0.02, 2, stable=False)
ch.claim("weighted-naive-looks-right", (naive002 - topk_mask(X4, 2)).abs().max(), at_most=1e-20,
         why="exact: 1 - p rounds to 0 and the runner-up wins the second round outright "
         "(the remaining entries are e^{-50}-small)",
         statement="forming 1 - p directly at tau = 0.02 returns T_2 (an underflow artefact)")
tau_star = 1 / (53 * math.log(2))
below = weighted_softmax_topk(X4 / (0.98 * tau_star), 2, stable=False)
above = weighted_softmax_topk(X4 / (1.02 * tau_star), 2, stable=False)
ch.claim("weighted-naive-threshold", bool(below.max() == 1.0 and above.max() > 1.25), equals=True,
         why="fl(1 + e^{-1/tau}) = 1 iff e^{-1/tau} <= 2^-53; 2% either side of tau* "
         "changes e^{-1/tau} by a factor ~2",
         statement="the artefact switches on at tau* = 1/(53 ln 2)")
ch.measured("tau-star", tau_star, why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% [markdown]
# At $\tau=0.1$ the top two entries are {glue:text}`weighted-top-tau01:.5f` and
# {glue:text}`weighted-second-tau01:.5f`; the artefact starts at $\tau^*=${glue:text}`tau-star:.4f`. Worse, once an entry exceeds one its weight $1-p$ is negative, the normaliser can nearly
# cancel and the next round explodes — already at $\tau=1$: for $x=[3,2,1,4]$, $k=2$ the top
# entry is {glue:text}`weighted-k2-tau1-top:.3f`; for $x=[3,1,1,0]$, $k=3$ the output is
# ({glue:text}`weighted-k3-first:.1f`, {glue:text}`weighted-k3-second:.2f`, …).

# %%
ch.claim("weighted-k2-tau1-top", weighted_softmax_topk(X4, 2).max(), at_least=1.0 + 1e-3,
         why="a range violation far above rounding", statement="weighted iteration, k = 2, tau = 1: an entry > 1")
wk3 = weighted_softmax_topk(torch.tensor([3.0, 1.0, 1.0, 0.0], dtype=f64), 3)
ch.claim("weighted-k3-first", wk3[0], at_most=-10.0,
         why="entries must lie in [0, 1]; this is off by more than 10",
         statement="weighted iteration at x = [3, 1, 1, 0], k = 3: the largest input gets a negative entry")
ch.claim("weighted-k3-second", wk3[1], at_least=5.0, why="entries must lie in [0, 1]",
         statement="... and the runner-up an entry above 5")

# %% [markdown]
# ## 3. GradTopK: the gradient of a smoothed top-$k$ sum
#
# $\mathcal T_k(x)=\nabla_x\sum_{i\in\Omega_k(x)}x_i$ ($\Omega_k$: the $k$ largest indices); with logsumexp for the maximum,
#
# $$
# \sum_{i\in\Omega_k(x)}x_i=\max_{|S|=k}\sum_{i\in S}x_i\;\approx\;\log Z_k,\qquad
# Z_k=\sum_{|S|=k}e^{\sum_{i\in S}x_i}=e_k\bigl(e^{x_1},\dots,e^{x_n}\bigr),
# $$ (eq-smooth-topk-zk)
#
# ($e_k$ elementary symmetric), whose gradient is the candidate map:
#
# $$
# [\mathcal{ST}_k(x)]_i=\frac{\partial\log Z_k}{\partial x_i}=\frac{Z_{k,i}}{Z_k},\qquad
# Z_{k,i}=\sum_{S\ni i,\,|S|=k}e^{\sum_{j\in S}x_j}=e^{x_i}\,e_{k-1}\bigl(e^{x_{-i}}\bigr).
# $$ (eq-smooth-topk-grad)
#
# With $e^{\sum_{i\in S}x_i}/Z_k$ a softmax over the $\binom nk$ subsets, $Z_{k,i}/Z_k$ is the
# probability that $i$ is in the random subset, and the theorem follows: each subset is counted
# by its $k$ members ($\sum_iZ_{k,i}=kZ_k$); some subset avoids $i$ ($Z_{k,i}<Z_k$); a shift by
# $c$ multiplies $Z_k$ by $e^{kc}$; and for $x_i>x_j$ the subsets holding one of $i,j$ pair up:
#
# $$
# Z_{k,i}-Z_{k,j}=\bigl(e^{x_i}-e^{x_j}\bigr)\,e_{k-1}\bigl(e^{x_{-i,-j}}\bigr)>0 .
# $$ (eq-smooth-topk-monotone)
#
# At temperature $\tau$ any other subset weighs at most $e^{-g/\tau}$ relative to the top one
# ($g$ the gap between the $k$-th and $(k+1)$-th entries); a bottom entry lies in
# $\binom{n-1}{k-1}$ subsets and a top one misses $\binom{n-1}{k}$, so every entry is within
# $\max\bigl(\binom{n-1}{k-1},\binom{n-1}{k}\bigr)e^{-g/\tau}$ of $\mathcal T_k$. For $k=1$ the
# map is softmax. The library takes $\log Z_k$ from the book's log-space elementary symmetric
# polynomials (positive terms only: no cancellation), the map as its autograd gradient ($O(nk)$),
# and the map's own gradient from the closed form {eq}`eq-smooth-topk-grad`, since PyTorch's
# second derivative of `logcumsumexp` is NaN where an incoming gradient is zero:
#
# ```{literalinclude} /lib/softmax/topk.py
# :pyobject: grad_topk
# ```
#
# Checks: {eq}`eq-smooth-topk-grad` against enumeration of subsets (`brute_grad_topk`) and its
# leave-one-out form; the identities, with {eq}`eq-smooth-topk-monotone`, symbolically.

# %%
x8 = torch.tensor(ch.rng.normal(size=8), dtype=f64)
brute_err = max(np.abs(grad_topk(x8, k).numpy() - brute_grad_topk(x8.numpy(), k)).max()
                for k in (1, 2, 3, 5))
ch.claim("grad-vs-brute", brute_err, at_most=1e-14,
         why="float64 rounding of sums of <= 70 positive terms (~n eps relative)",
         statement="GradTopK equals enumeration over k-subsets, n = 8, k = 1, 2, 3, 5")
xg = torch.tensor(ch.rng.normal(size=(50, 12)) * 3, dtype=f64)
loo = torch.stack([torch.cat([xg[:, :i], xg[:, i + 1:]], -1) for i in range(12)], 1)  # x_{-i}
closed = torch.exp(xg + log_elementary_symmetric(loo, 3)[..., 3]
                   - log_elementary_symmetric(xg, 4)[..., 4:5])
ch.claim("grad-vs-closed-form", (grad_topk(xg, 4) - closed).abs().max(), at_most=1e-13,
         why="two float64 evaluations of the same quantity (~n eps each)",
         statement="autograd of log Z_k equals e^{x_i} e_{k-1}(x_{-i}) / e_k(x)")
ch.claim("grad-k1-softmax", (grad_topk(xg, 1) - torch.softmax(xg, -1)).abs().max(),
         at_most=1e-14, why="exp of log-ratios of size <= ~10: relative error ~10 eps",
         statement="GradTopK with k = 1 is softmax")
ch.source_number("ST_1", value=1.0, where="§As a gradient: GradTopK at k = 1 is softmax", fate="reproduced",
                 claim="grad-k1-softmax")
ch.claim("zk-identities-sympy", zk_identities_symbolic(n=5, k=3), equals=True,
         why="exact symbolic expansion, n = 5, k = 3",
         statement="Z_{k,i} = y_i (Z_{k-1} - Z_{k-1,i}), sum_i Z_{k,i} = k Z_k, and Eq. (eq-smooth-topk-monotone)")
ch.source_number("log k", where="§As a gradient: recursion, log Z_k = lse_i log Z_{k,i} - log k (from sum_i Z_{k,i} "
                 "= k Z_k)", fate="reproduced", claim="zk-identities-sympy")

# %% [markdown]
# ### The article's recursion, and where it breaks
#
# The article computes {eq}`eq-smooth-topk-grad` by the recursion
# $Z_{k,i}=e^{x_i}(Z_{k-1}-Z_{k-1,i})$, $kZ_k=\sum_iZ_{k,i}$, in log space:
#
# $$
# \log Z_{k,i}=x_i+\log Z_{k-1}+\log\bigl(1-e^{\log Z_{k-1,i}-\log Z_{k-1}}\bigr),\qquad
# \log Z_k=\mathrm{lse}_i\log Z_{k,i}-\log k .
# $$ (eq-smooth-topk-recursion)
#
# $1-Z_{k-1,i}/Z_{k-1}$ is one minus an inclusion probability: for an entry surely in the top
# $k-1$ the subtraction loses all digits, and once it rounds to zero the log is $-\infty$ and
# then NaN. The article warns of the $\log0$, not that the recursion first fails silently —
# normalised to sum to $k$, a wrong result passes the sum check. `recursion_failure_scan` runs
# it on 100 draws of $x\sim\mathcal N(0,s^2I_{100})$, $k=10$, per spread $s$, against `grad_topk`:

# %%
spreads = [0.5, 1, 2, 3, 5, 7, 10, 20, 40]
gen = torch.Generator().manual_seed(10373)
scan = recursion_failure_scan(spreads, k=10, n=100, draws=100, generator=gen)
ch.claim("recursion-ok-s1", scan["err"][spreads.index(1)], at_most=1e-11,
         why="cancellation amplifies eps by 1/(1 - pi) <= ~1e3 at this spread",
         statement="the recursion is accurate for s = 1")
ch.claim("recursion-silent-error", scan["wrong_err"], at_least=0.5,
         why="a wrong answer, not a rounding difference (entries must lie in [0, 1])",
         statement="some finite outputs of the recursion are wrong by more than 0.5")
ch.claim("recursion-silent-sums-k", scan["wrong_sum_err"], at_most=1e-11,
         why="float64 rounding of a sum of 100 terms; the normalisation is built in",
         statement="... and those wrong outputs still sum to k")
ch.claim("recursion-nan-s10", scan["nan"][spreads.index(10)], at_least=0.5,
         why="measured fraction of 100 draws; the claim only says 'most'",
         statement="at s = 10 most draws give NaN")
ch.claim("stable-sum-k", scan["stable_sum_err"], at_most=1e-11,
         why="float64 rounding of 100 terms of size <= 1 after exp of a log-ratio (~1e-13)",
         statement="grad_topk sums to k for every spread")
rec_low_temp = grad_topk_recursive(X4 / 0.02, 2)
ch.claim("recursion-garbage-tau002", rec_low_temp.max(), at_least=1.5,
         why="a valid top-k map has entries <= 1; this is far outside",
         statement="recursion at x = [3, 2, 1, 4] / 0.02 returns [2, 0, 0, 0]")
ch.claim("grad-low-temp", (grad_topk(X4 / 0.02, 2) - topk_mask(X4, 2)).abs().max(),
         at_most=3 * math.exp(-1 / 0.02) + 4 * EPS,
         why="max(binom(3, 1), binom(3, 2)) e^{-gap/tau} bound (section 3) plus rounding near 1",
         statement="grad_topk at the same input is T_2 to within e^{-50}")

# %% [markdown]
# ## 4. ThreTopK: one threshold for all entries
#
# Shift all inputs by one threshold inside an increasing $f:\mathbb R\to[0,1]$ with limits $0$, $1$:
#
# $$
# \mathcal{ST}_k(x)=f\bigl(x-\lambda(x)\bigr),\qquad \sum_{i=1}^nf\bigl(x_i-\lambda(x)\bigr)=k .
# $$ (eq-smooth-topk-thre)
#
# $F(\lambda)=\sum_if(x_i-\lambda)$ falls continuously from $n$ to $0$, so $\lambda$ exists
# (unique where $F$ strictly decreases); $f$ gives monotonicity, $\lambda$ absorbs shifts. For
# the limit, let $g$ be the gap between the $k$-th and $(k+1)$-th entries of $x/\tau$: the
# threshold is $\ge g/2$ from one side, so all bottom entries are $\le f(-g/2)$ or all top ones
# $\ge f(g/2)$; the top entries' total deficit equals the bottom ones' total mass, so every entry
# is within $\max(k,n-k)\,e^{-g/2}$ of $\mathcal T_k$ (using $f(-z),1-f(z)\le e^{-z}$ for $z>0$,
# true for the three $f$ below).
#
# **$f(z)=\min(1,e^z)$.** With $x_{(1)}>\dots>x_{(n)}$ and the first $m$ saturated at one, the
# others give $e^{-\lambda}\sum_{i>m}e^{x_{(i)}}=k-m$, so
#
# $$
# \lambda_m=\log\sum_{i>m}e^{x_{(i)}}-\log(k-m),\qquad m=0,\dots,k-1 ;\qquad
# \lambda=\min_m\lambda_m .
# $$ (eq-smooth-topk-exp-lambda)
#
# The article scans for the $m$ with $x_{(m)}\ge\lambda_m\ge x_{(m+1)}$; the minimum needs no
# search: each term of $F$ is at most its assumed form ($1$, or $e^{x_i-\lambda}$), so
# $F(\lambda_m)\le k$, i.e. $\lambda_m\ge\lambda$, with equality at the consistent $m$ — and ties,
# where a float consistency test finds no $m$ or two, do no harm. For $k=1$, $\lambda=\mathrm{lse}(x)$: softmax.
#
# **$f=\sigma$.** No closed form; bisection on
# $[\min x-\sigma^{-1}(k/n),\,\max x-\sigma^{-1}(k/n)]$. The implicit function theorem gives
#
# $$
# \frac{\partial\lambda}{\partial x_j}=\frac{\sigma'(x_j-\lambda)}{\sum_i\sigma'(x_i-\lambda)},
# \qquad
# \frac{\partial[\mathcal{ST}_k]_i}{\partial x_j}=\sigma'_i\,\delta_{ij}-\frac{\sigma'_i\sigma'_j}{\sum_l\sigma'_l},
# $$ (eq-smooth-topk-ift)
#
# injected by stop-gradient, $\lambda\leftarrow x\cdot\mathrm{sg}[\nabla\lambda]+\mathrm{sg}[\lambda-x\cdot\nabla\lambda]$; the Jacobian is symmetric, rows and columns summing to zero.
#
# **A smooth $f$.** $f(z)=1-\tfrac12e^{-z}$ ($z\ge0$), $\tfrac12e^{z}$ ($z<0$) is $C^1$, not
# $C^2$ ($f''$ jumps from $\tfrac12$ to $-\tfrac12$). With $m$ entries above the threshold,
# $u=e^{\lambda}$, $A_m=\sum_{i\le m}e^{-x_{(i)}}$, $B_m=\sum_{i>m}e^{x_{(i)}}$, the constraint
# $m-\tfrac u2A_m+\tfrac1{2u}B_m=k$ is the quadratic $A_mu^2+2(k-m)u-B_m=0$, with positive root
#
# $$
# \lambda=\log B_m-\log\Bigl(\sqrt{(k-m)^2+A_mB_m}+(k-m)\Bigr).
# $$ (eq-smooth-topk-smooth-lambda)
#
# `thre_topk` takes $m=\#\{j:F(x_{(j)})<k\}$, sums in log space, and for $m>k$ the conjugate form
# $\lambda=-\log A_m+\log(\sqrt{\cdot}+|k-m|)$. Checks: thresholds against Brent's method, the
# smooth $f$ in SymPy, and the implicit-function Jacobian.

# %%
root_err = 0.0  # against brent_thre_topk: SciPy's brentq on F(lambda) - k
for _ in range(30):
    n = int(ch.rng.integers(3, 15))
    xr, k = ch.rng.normal(size=n) * 3, int(ch.rng.integers(1, n))
    for f in ("exp", "sigmoid", "smooth"):
        err = np.abs(thre_topk(torch.tensor(xr), k, f).numpy() - brent_thre_topk(xr, k, f)).max()
        root_err = max(root_err, err)
ch.claim("thre-vs-brent", root_err, at_most=1e-11,
         why="Brent to xtol 1e-14 on lambda; entries move by f' * dlambda <= dlambda; bisection tol 1e-12",
         statement="all three ThreTopK thresholds solve Eq. (eq-smooth-topk-thre)")
ch.source_number("m = 0, 1, ..., k-1", value=0.0, where="§Analytic solution: scan range of m for f = min(1, e^x)",
                 fate="reproduced", claim="thre-vs-brent")
# the article's bisection bracket for f = sigmoid: F(x_min - s) >= k >= F(x_max - s), s = logit(k/n)
bracket, rng_b = [], np.random.default_rng([10373, 4])  # own stream: later draws keep their values
for n, k in ((5, 1), (9, 4), (30, 29), (100, 10)):
    xb = torch.tensor(rng_b.normal(size=(200, n)) * 3, dtype=f64)
    s_kn = math.log(k / n) - math.log1p(-k / n)
    F_b = lambda lam: torch.sigmoid(xb - lam).sum(-1) - k  # noqa: B023
    bracket += [-float(F_b(xb.amin(-1, keepdim=True) - s_kn).min()), float(F_b(xb.amax(-1, keepdim=True) - s_kn).max())]
ch.claim("sigmoid-bracket", max(bracket), at_most=1e-12, why="float64 rounding of sums of <= 100 terms <= 1",
         statement="[x_min - logit(k/n), x_max - logit(k/n)] brackets the sigmoid threshold (800 random x)")
ch.source_number("k/n", where="§General results: bisection bracket [x_min - σ^-1(k/n), x_max - σ^-1(k/n)]",
                 fate="reproduced", claim="sigmoid-bracket")
sym = smooth_f_symbolic()  # exact SymPy: continuity, alternative form, kink, root
ch.claim("smooth-f-c1", sym["c1"], equals=True, why="exact symbolic", statement="f and f' are continuous at 0")
ch.claim("smooth-f-alt-form", sym["alt_form"], equals=True, why="exact symbolic", statement="f = (1 - e^{-|x|}) sign(x)/2 + 1/2 on both sides of 0")
ch.claim("exp-f-kink", sym["exp_kink"], equals=1, why="exact symbolic", statement="min(1, e^x) has slopes 1 (left) and 0 (right) at x = 0")
for printed, value, where, claim in [
        ("x=0", 0.0, "min(1, e^x) is not differentiable at x = 0", "exp-f-kink"),
        ("x=0", 0.0, "smooth f and its derivative are continuous at x = 0", "smooth-f-c1"),
        ("1/2", 0.5, "smooth f = (1 - e^{-|x|}) sign(x)/2 + 1/2", "smooth-f-alt-form")]:
    ch.source_number(printed, value=value, where=f"§General results / §Both at once: {where}",
                     fate="reproduced", claim=claim)
ch.claim("smooth-f-not-c2", float(sym["c2_jump"]), equals=-1.0, why="exact symbolic: f''(0+) - f''(0-) = -1/2 - 1/2",
         statement="f'' jumps at 0 (C^1, not C^2)")
ch.claim("smooth-root-sympy", sym["root"], equals=True, why="exact symbolic",
         statement="Eq. (eq-smooth-topk-smooth-lambda) solves the quadratic")
ch.source_number("(k-m)^2", value=2.0, where="§Both at once: closed-form threshold of the smooth f",
                 fate="reproduced", claim="smooth-root-sympy")
# autograd, finite differences (h = 1e-5) of the bisection's output, and eq. (eq-smooth-topk-ift)
J, J_fd, J_ift = sigmoid_jacobians(torch.tensor(ch.rng.normal(size=7), dtype=f64), 3, h=1e-5)
FD = "bisection tolerance 1e-12 on lambda divided by h = 1e-5 gives ~1e-7; truncation h^2 ~ 1e-10"
ch.claim("sigmoid-jacobian-formula-fd", (J_fd - J_ift).abs().max(), at_most=1e-6, why=FD,
         statement="Eq. (eq-smooth-topk-ift) equals the finite-difference Jacobian")
ch.claim("sigmoid-jacobian-fd", (J - J_fd).abs().max(), at_most=1e-6, why=FD,
         statement="the implicit-function gradient matches finite differences of the bisection")
ch.claim("sigmoid-jacobian-symmetric", (J - J.T).abs().max(), at_most=EPS, why="the same factors "
         "in another order: <= 1 ulp of entries <= 1/4", statement="the Jacobian is symmetric")
ch.claim("sigmoid-jacobian-rows", J.sum(1).abs().max(), at_most=1e-15, why="float64 rounding",
         statement="J 1 = 0 (shift invariance) and, by symmetry, 1^T J = 0 (sum k)")

# %% [markdown]
# ## 5. All constructions side by side
#
# Eight $x\sim\mathcal N(0,4I)$ for every $3\le n\le10$, $1\le k<n$ (352 in all); for the limit,
# permutations of $(0,\dots,n-1)$ (gaps of one) at $\tau=0.05$, where sections 3–4 allow at most
# $\max\bigl(k,\,n-k,\,\binom{n-1}{k-1}e^{-10},\,\binom{n-1}{k}e^{-10}\bigr)e^{-10}$.

# %%
MAPS = {
    "GradTopK": lambda x, k: grad_topk(x, k),
    "ThreTopK exp": lambda x, k: thre_topk(x, k, "exp"),
    "ThreTopK sigmoid": lambda x, k: thre_topk(x, k, "sigmoid"),
    "ThreTopK smooth": lambda x, k: thre_topk(x, k, "smooth"),
    "Su iteration": soft_k_max_iterative,
    "weighted iteration": lambda x, k: weighted_softmax_topk(x, k),
}
cases = topk_audit_cases(ch.rng)  # 8 random x and 8 permutations per (n, k)
report = {name: topk_audit(fn, cases, tau=0.05) for name, fn in MAPS.items()}
# GradTopK's own, tighter limit bound (section 3): max(C(n-1,k-1), C(n-1,k)) e^{-g/tau}, g = 1
ch.claim("gradtopk-limit-own-bound", report["GradTopK"]["grad_limit"], at_most=1.0,
         why="the bound of section 3 is rigorous; e^{-20} ~ 2e-9 is far above float64 rounding",
         statement="GradTopK is within max(C(n-1,k-1), C(n-1,k)) e^{-gap/tau} of T_k, all 352 cases")

# %% [markdown]
# The four principled maps pass every property; both iterations sum to $k$ and are
# shift-invariant, but leave $[0,1]$, and the weighted one misses the limit by thousands of bounds.

# %%
for name in ["GradTopK", "ThreTopK exp", "ThreTopK sigmoid", "ThreTopK smooth"]:
    r, key = report[name], name.split()[-1].lower()
    ch.claim(f"{key}-sum-k", r["sum"], at_most=1e-10,
             why="float64 rounding; bisection tolerance 1e-12 times sum of slopes <= n/4",
             statement=f"{name}: entries sum to k")
    ch.claim(f"{key}-range", max(-r["low"], r["high"]), at_most=1e-12,
             why="float64 rounding of values in [0, 1]", statement=f"{name}: entries in [0, 1]")
    ch.claim(f"{key}-monotone", r["order"], at_most=1e-12, why="float64 rounding of near-equal entries",
             statement=f"{name}: sorted like x")
    ch.claim(f"{key}-shift", r["shift"], at_most=1e-10,
             why="rounding of x + c (|x| <= ~8) propagated through exp and the threshold",
             statement=f"{name}: shift-invariant")
    ch.claim(f"{key}-limit", r["limit"], at_most=1.0, why="the analytic bound of sections 3-4 (ratio <= 1)",
             statement=f"{name}: within the bound of T_k at tau = 0.05")
for printed, value, claim in (("0", 0.0, "gradtopk-range"), ("1", 1.0, "gradtopk-range"), ("k", None, "gradtopk-sum-k")):
    ch.source_number(printed, value=value, where="§As a gradient: 0 < [ST_k]_i < 1 and sum_i [ST_k]_i = k",
                     fate="reproduced", claim=claim)
ch.claim("su-range-violated", report["Su iteration"]["high"], at_least=0.01, erratum=SU_ERRATUM,
         why="a range violation far above rounding", statement="Su's iteration exceeds 1 on random inputs")
ch.claim("weighted-limit-violated", report["weighted iteration"]["limit"], at_least=100.0,
         why="the deviation is ~0.5, thousands of times the bound", statement="the weighted iteration misses T_k")

# %% mystnb={"figure": {"caption": "Top-2 smoothing of $x=[3,2,1,4]/\\tau$. Left: the entry of the largest input; right: the entry of the runner-up. GradTopK, the three ThreTopK maps and Su's iteration tend to $(1,1)$. The weighted-softmax iteration tends to $(1.5,0.5)$. Formed naively ($1-p$ in floating point), it jumps to $(1,1)$ at $\\tau^*=1/(53\\ln2)$ (dotted), where $1-p_{\\max}$ underflows.", "name": "fig-smooth-topk-limits"}}
curves = dict(MAPS, **{"weighted, naive 1 - p": lambda x, k: weighted_softmax_topk(x, k, stable=False)})
plot_top2_limits(curves, X4, np.geomspace(2, 0.01, 120), tau_star)
plt.show()

# %% [markdown]
# ## 6. Where the article is imprecise
#
# 1. **The iterations** (section 2): the weighted one is worse than its wrong limit — its
#    entries leave $[0,1]$ at ordinary temperatures, with either sign for $k=3$; Su's, reported
#    as behaving well, leaves $[0,1]$ and reverses the order.
# 2. **The GradTopK recursion** fails silently before it fails loudly (section 3); the remedy is
#    a recursion with positive terms only, not more care in log space.
# 3. **The smooth $f$ at $k=1$**, left as an exercise to reduce to softmax. With $m=0$,
#    $\lambda=\mathrm{lse}(x)-\log2$ and $e^{x_i-\lambda}/2=\mathrm{softmax}(x)_i$ — but $m=0$
#    needs every $x_i\le\lambda$, i.e. $\max_i\mathrm{softmax}(x)_i\le\tfrac12$. Otherwise $m=1$,
#    $\lambda=\tfrac12\bigl(x_{(1)}+\log\sum_{i>1}e^{x_{(i)}}\bigr)$ and the top entry is
#    $1-\tfrac12\sqrt{(1-p)/p}<p$ ($p>\tfrac12$ the top softmax probability), as at $x=[3,2,1,4]$:

# %%
p_top = torch.softmax(X4, 0).max()
smooth1 = thre_topk(X4, 1, "smooth")
ch.claim("erratum-smooth-k1-not-softmax", (smooth1 - torch.softmax(X4, 0)).abs().max(), at_least=1e-3,
         erratum="The article says ThreTopK with the smooth f reduces exactly to softmax at k = 1, left to the "
         "reader to prove (§Both at once)", why="if the article were right this would be ~1e-16",
         statement="ThreTopK with the smooth f at k = 1 is not softmax when max softmax > 1/2")
ch.claim("smooth-k1-closed-form", smooth1.max(), equals=1 - 0.5 * torch.sqrt((1 - p_top) / p_top),
         atol=4 * EPS, why="float64 rounding", statement="its top entry is 1 - sqrt((1-p)/p)/2")
x_small = torch.tensor(ch.rng.normal(size=(200, 30)), dtype=f64)
mask = torch.softmax(x_small, -1).amax(-1) <= 0.5
ch.claim("smooth-k1-softmax-below-half", (thre_topk(x_small[mask], 1, "smooth")
                                          - torch.softmax(x_small[mask], -1)).abs().max(),
         at_most=1e-15, why="float64 rounding", statement="... and it is softmax when max softmax <= 1/2")
ch.claim("exp-k1-softmax", (thre_topk(x_small, 1, "exp") - torch.softmax(x_small, -1)).abs().max(),
         at_most=1e-15, why="float64 rounding", statement="ThreTopK with min(1, e^z) at k = 1 is softmax")
ch.source_number("k=1", value=1.0, where="§Analytic solution: for k = 1 only m = 0 exists and ThreTopK (min(1, e^x)) "
                 "is softmax", fate="reproduced", claim="exp-k1-softmax")
ch.source_number("k=1", value=1.0, where="§Both at once: ThreTopK with the smooth f reduces exactly to softmax at k = 1",
                 fate="contradicted", claim="erratum-smooth-k1-not-softmax")
sat = thre_topk(torch.tensor([5.0, 4.0, 0.0, 0.0, 0.0], dtype=f64), 3, "exp")
ch.claim("exp-saturated-ties", bool(sat[0] == sat[1] == 1.0), equals=True, why="exact: min(1, .) returns 1.0",
         erratum="The article says ThreTopK is monotone (p_i >= p_j <=> x_i >= x_j) because f is, and lists "
         "min(1, e^x) among the admissible f (§General idea)",
         statement="min(1, e^x) ThreTopK at x = [5, 4, 0, 0, 0], k = 3 gives p_1 = p_2 = 1 although x_1 > x_2")
pp, qq = sp.symbols("p q", positive=True)
gap_expr = 1 - sp.sqrt((1 - pp) / pp) / 2 - pp
# with q = sqrt((1-p)/p), i.e. p = 1/(1+q^2), q in (0, 1) for p in (1/2, 1):
factored = -qq * (qq - 1) ** 2 / (2 * (qq**2 + 1))
ch.claim("smooth-k1-below-softmax-factor", sp.simplify(1 - qq / 2 - 1 / (1 + qq**2) - factored) == 0,
         equals=True, why="exact symbolic: the gap is -q (q-1)^2 / (2 (q^2+1)) < 0 for q in (0, 1)",
         statement="1 - sqrt((1-p)/p)/2 - p = -q(q-1)^2/(2(q^2+1)), negative for every p in (1/2, 1)")
ch.claim("smooth-k1-below-softmax", sp.solveset(gap_expr >= 0, pp, sp.Interval.open(sp.Rational(1, 2), 1))
         == sp.S.EmptySet, equals=True, why="exact symbolic: SymPy's solveset over the open interval",
         statement="1 - sqrt((1-p)/p)/2 < p for all p in (1/2, 1)")
ch.measured("softmax-top", float(p_top), why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% [markdown]
# There the smooth-$f$ map differs from softmax by {glue:text}`erratum-smooth-k1-not-softmax:.4f`:
# top entry {glue:text}`smooth-k1-closed-form:.4f` against {glue:text}`softmax-top:.4f`.
#
# 4. **Monotonicity with a saturating $f$.** The article derives it from that of $f$ and admits
#    $\min(1,e^x)$; saturated entries tie at one whatever their inputs, so the
#    "$\Leftrightarrow$" of {eq}`eq-smooth-topk-properties` holds only weakly (`exp-saturated-ties`).
#
# **The article's numbers.** We listed every number in a stated result of its text, equations
# and code: the worked example, the limit $(1.5,0.5,0)$, GradTopK's bounds and sum, the $\log k$
# and range of $m$, the bisection bracket, the points and constants of the three $f$, and the two
# "$k=1$ gives softmax" statements (one contradicted). Its code constants (clip $10^{-12}$, 20
# bisection steps, an unused `eps`) and the $k$, $\tau$ of its examples are inputs. *Left out
# when shortening:* the figure of the recursion's failure fractions (still claimed), the printed
# property table of section 5 (its entries are claims), and the 50-digit comparisons at spread 20
# (`grad-vs-mpmath-s20`, `recursion-nan-example`; kept as unit tests).
#
# ## Claims

# %%
ch.table();
