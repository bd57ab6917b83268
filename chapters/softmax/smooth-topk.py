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
# Softmax is a smooth stand-in for the one-hot argmax. What is the smooth stand-in for the
# multi-hot "top-$k$" indicator — a map into vectors with entries in $[0,1]$ summing to $k$ that
# keeps the order of the inputs, ignores a common shift and tends to the hard top-$k$ at zero
# temperature? Two principled answers work: the gradient of a smoothed top-$k$ sum
# (**GradTopK**, the inclusion probabilities of a softmax over $k$-subsets) and a shifted
# sigmoid-like function whose threshold makes the entries sum to $k$ (**ThreTopK**). The
# heuristic iterations do not: the weighted-softmax iteration tends to $(1.5, 0.5)$ rather than
# $(1,1)$ for $k=2$ — and floating-point underflow can make it look right — and for $k=3$ it can
# return entries like {glue:text}`weighted-k3-first:.1f`; Su's own iteration can leave $[0,1]$ and reverse the order. We also find that the article's recursion
# for GradTopK fails silently before it fails with NaN, and that one of its closing remarks (the
# smooth threshold function reduces to softmax at $k=1$) holds only when no probability exceeds
# one half.
#
# :::{prf:theorem} Smooth top-k maps
# :label: thm-smooth-topk
# Let $x\in\mathbb R^n$, $1\le k<n$, and let $\mathcal T_k(x)\in\{0,1\}^n$ mark the $k$
# largest entries.
#
# 1. (GradTopK) With $Z_k=\sum_{|S|=k}e^{\sum_{i\in S}x_i}$, the map
#    $\mathcal{ST}_k(x)=\nabla_x\log Z_k$ has entries $Z_{k,i}/Z_k\in(0,1)$, where
#    $Z_{k,i}=e^{x_i}e_{k-1}(e^{x_{-i}})$ sums the subsets containing $i$; they sum to $k$;
#    the map is monotone, shift-invariant, equals softmax for $k=1$, and
#    $\mathcal{ST}_k(x/\tau)\to\mathcal T_k(x)$ as $\tau\to0^+$ when the top-$k$ set is unique.
# 2. (ThreTopK) For continuous increasing $f:\mathbb R\to[0,1]$ with limits $0$ at $-\infty$
#    and $1$ at $+\infty$, $\mathcal{ST}_k(x)=f(x-\lambda(x))$ with $\sum_if(x_i-\lambda)=k$
#    has the same three properties (monotone in the weak sense if $f$ saturates, as
#    $\min(1,e^z)$ does). For $f=\min(1,e^z)$,
#    $\lambda=\min_{0\le m<k}\bigl[\log\sum_{i>m}e^{x_{(i)}}-\log(k-m)\bigr]$.
# 3. The weighted-softmax iteration $p\leftarrow p+\mathrm{softmax}(x;1-p)$ is not such a map:
#    for $k=2$ its zero-temperature limit puts $1.5$ on the largest entry and $0.5$ on the
#    runner-up.
# :::
#
# The constructions and the counter-example are the article's {cite}`su2024topk10373`; the
# iteration comes from {cite}`su2019smooth10373`, the weighted variant from a Stack Exchange
# answer {cite}`se2020weighted10373`, and the threshold idea is the one behind sparsemax
# {cite}`martins2016sparsemax10373`. Everything below is float64.

# %% tags=["hide-input"]
import itertools
import math

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
import torch
from scipy import optimize

from lib.book import Chapter
from lib.softmax import grad_topk, log_elementary_symmetric, thre_topk
from lib.softmax.as_published import (  # the article's procedures the chapter shows failing
    grad_topk_recursive,
    soft_k_max_iterative,
    weighted_softmax_topk,
)

ch = Chapter("smooth-topk", seed=10373)
f64 = torch.float64
EPS = torch.finfo(f64).eps


def topk_mask(x, k):
    """The hard top-k indicator T_k(x) along the last dimension."""
    return torch.zeros_like(x).scatter(-1, x.topk(k, dim=-1).indices, 1.0)


X4 = torch.tensor([3.0, 2.0, 1.0, 4.0], dtype=f64)

# %% [markdown]
# ## 1. The problem
#
# $\mathcal T_k$ puts a one on each of the $k$ largest entries, e.g.
# $\mathcal T_2([3,2,1,4])=[1,0,0,1]$. It is piecewise constant, so it passes no gradient. We
# look for $\mathcal{ST}_k:\mathbb R^n\to\Delta_k=\{p\in[0,1]^n:\sum_ip_i=k\}$ with
#
# $$
# \text{monotone: } p_i\ge p_j\Leftrightarrow x_i\ge x_j,\qquad
# \text{invariant: } \mathcal{ST}_k(x+c\mathbf 1)=\mathcal{ST}_k(x),\qquad
# \text{limit: } \lim_{\tau\to0^+}\mathcal{ST}_k(x/\tau)=\mathcal T_k(x).
# $$ (eq-smooth-topk-properties)
#
# Softmax is $\mathcal{ST}_1$. The entries of $\mathcal{ST}_k$ are not a distribution but a
# "soft membership" of the top-$k$ set.

# %%
ch.claim("hard-top2-example", bool(torch.equal(topk_mask(X4, 2), torch.tensor([1.0, 0, 0, 1], dtype=f64))),
         equals=True, why="exact", statement="T_2([3, 2, 1, 4]) = [1, 0, 0, 1]")
ch.source_number("[1,0,0,1]", where="§Problem statement: worked example T_2([3,2,1,4])", fate="reproduced",
                 claim="hard-top2-example")

# %% [markdown]
# ## 2. Iterative constructions, and why they fail
#
# **Su's 2019 iteration.** Shift $x$ to be non-negative, start from $p=0$ and repeat $k$ times
# $p\leftarrow p+\mathrm{softmax}\bigl((1-p)\otimes x\bigr)$. With a hard argmax in place of
# softmax, each round zeroes the current winner, so the rounds pick the top $k$ one by one. The
# article says the iteration behaves well in tests but that it is hard to prove its entries stay
# in $[0,1]$ or that it is monotone. In fact both fail, on small examples:

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
# At $x=[2,0,0]$ it returns an entry of {glue:text}`su-iter-above-one:.3f`, and at $x=[4,3,0]$ it
# ranks the second entry above the first by {glue:text}`su-iter-order-reversed:.4f`. It does
# reach the hard top-$k$ at low temperature.
#
# **The weighted-softmax iteration.** With $[\mathrm{softmax}(x;w)]_i=w_ie^{x_i}/\sum_jw_je^{x_j}$,
# repeat $p\leftarrow p+\mathrm{softmax}(x;1-p)$. Write $a=e^{x_{(1)}/\tau}\gg b=e^{x_{(2)}/\tau}\gg$
# the rest. The first round gives $p_{(1)}\approx1$ with $1-p_{(1)}\approx b/a$, so in the second
# round the largest entry carries weight $(1-p_{(1)})\,a\approx b$ — the same as the runner-up's
# $(1-p_{(2)})\,b\approx b$. The second round splits evenly:
#
# $$
# \lim_{\tau\to0^+}p^{(2)}\bigl(x/\tau\bigr)=\bigl(\tfrac32,\tfrac12,0,\dots\bigr)\quad
# \text{(sorted)}.
# $$ (eq-smooth-topk-weighted-limit)
#
# SymPy takes the limit exactly for $x=(2,1,0)$ with $t=e^{-1/\tau}\to0$; the library's
# `weighted_softmax_topk` reproduces it numerically. It carries the weights $w=1-p$ through an
# exact update instead of forming $1-p$, because $1-p_{(1)}\approx e^{-\mathrm{gap}/\tau}$ is
# lost to rounding once it drops below $2^{-53}$: then the weight of the largest entry is
# exactly zero, the second round picks the runner-up, and the output is exactly the hard top-$k$.
# For a gap of one that happens at $\tau^*=1/(53\ln2)$, a temperature one would happily use. The wrong limit then *looks* right.

# %%
t_s = sp.symbols("t", positive=True)
e3 = [t_s**-2, t_s**-1, sp.Integer(1)]
p1 = [e / sum(e3) for e in e3]
w2 = [1 - p for p in p1]
s2 = sum(w * e for w, e in zip(w2, e3, strict=True))
p2 = [p + w * e / s2 for p, w, e in zip(p1, w2, e3, strict=True)]
lim = [sp.limit(sp.simplify(q), t_s, 0) for q in p2]
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
# {glue:text}`weighted-second-tau01:.5f`; the threshold of the artefact is
# $\tau^*=${glue:text}`tau-star:.4f`.
#
# The limit is not the only problem. Once an entry of $p$ exceeds one, its weight $1-p$ is
# negative, the weighted normaliser can come close to zero, and the next round explodes. This
# happens already at $\tau=1$. For $x=[3,2,1,4]$ and $k=2$ the top entry is
# {glue:text}`weighted-k2-tau1-top:.3f`. For $x=[3,1,1,0]$ and $k=3$ the normaliser of the third round
# nearly cancels, and the output is
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
# The hard top-$k$ indicator is a gradient: $\mathcal T_k(x)=\nabla_x\sum_{i\in\Omega_k(x)}x_i$,
# where $\Omega_k(x)$ is the index set of the $k$ largest entries, and that sum is the largest
# sum over $k$-subsets. Replacing the maximum by logsumexp gives a smooth scalar,
#
# $$
# \sum_{i\in\Omega_k(x)}x_i=\max_{|S|=k}\sum_{i\in S}x_i\;\approx\;\log Z_k,\qquad
# Z_k=\sum_{|S|=k}e^{\sum_{i\in S}x_i}=e_k\bigl(e^{x_1},\dots,e^{x_n}\bigr),
# $$ (eq-smooth-topk-zk)
#
# with $e_k$ the elementary symmetric polynomial, and its gradient is the candidate map:
#
# $$
# [\mathcal{ST}_k(x)]_i=\frac{\partial\log Z_k}{\partial x_i}=\frac{Z_{k,i}}{Z_k},\qquad
# Z_{k,i}=\sum_{S\ni i,\,|S|=k}e^{\sum_{j\in S}x_j}=e^{x_i}\,e_{k-1}\bigl(e^{x_{-i}}\bigr).
# $$ (eq-smooth-topk-grad)
#
# Read $e^{\sum_{i\in S}x_i}/Z_k$ as a softmax over the $\binom nk$ subsets: then
# $Z_{k,i}/Z_k$ is the probability that $i$ belongs to the random subset. Everything in the
# theorem follows. Each subset is counted once for each of its $k$ members, so
# $\sum_iZ_{k,i}=kZ_k$. For $k<n$, some subset avoids $i$, so $Z_{k,i}<Z_k$. Shifting every
# $x_i$ by $c$ multiplies $Z_k$ by $e^{kc}$, which leaves its log-gradient unchanged. For
# $x_i>x_j$, the subsets that contain exactly one of $i,j$ pair up, and
#
# $$
# Z_{k,i}-Z_{k,j}=\bigl(e^{x_i}-e^{x_j}\bigr)\,e_{k-1}\bigl(e^{x_{-i,-j}}\bigr)>0 .
# $$ (eq-smooth-topk-monotone)
#
# At temperature $\tau$, a subset other than the top one has weight at most
# $e^{-g/\tau}$ relative to it ($g$ the gap between the $k$-th and $(k+1)$-th largest entries).
# A bottom entry is in $\binom{n-1}{k-1}$ subsets and a top entry is missing from
# $\binom{n-1}{k}$, so every entry is within
# $\max\bigl(\binom{n-1}{k-1},\binom{n-1}{k}\bigr)e^{-g/\tau}$ of $\mathcal T_k$. For $k=1$, $Z_1=\sum_ie^{x_i}$
# and the map is softmax.
#
# The library computes $\log Z_k$ with the book's log-space elementary symmetric polynomials, a
# recursion with positive terms only, so there is no cancellation for any spread of $x$. The
# values of the map are the autograd gradient of $\log Z_k$ (cost $O(nk)$). For the map's own
# gradient it differentiates the closed form of {eq}`eq-smooth-topk-grad` instead, because
# PyTorch's second derivative of `logcumsumexp` is NaN wherever an incoming gradient is zero:
#
# ```{literalinclude} /lib/softmax/topk.py
# :pyobject: grad_topk
# ```
#
# We check {eq}`eq-smooth-topk-grad` against brute-force enumeration of subsets and against its
# leave-one-out closed form, and the identities behind the theorem (including
# {eq}`eq-smooth-topk-monotone`) symbolically.

# %%
def brute_grad_topk(x, k):
    """Z_{k,i} / Z_k by enumerating every k-subset."""
    x = np.asarray(x, dtype=float)
    num, z = np.zeros(len(x)), 0.0
    for s in itertools.combinations(range(len(x)), k):
        w = math.exp(sum(x[i] for i in s) - k * x.max())
        z += w
        num[list(s)] += w
    return num / z


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

y = sp.symbols("y1:6", positive=True)
e_k = lambda vals, k: sum(sp.prod(c) for c in itertools.combinations(vals, k))
zk_i = lambda i, k: y[i] * e_k(y[:i] + y[i + 1:], k - 1)
recursion_ok = all(sp.expand(zk_i(i, 3) - y[i] * (e_k(y, 2) - zk_i(i, 2))) == 0 for i in range(5))
sum_ok = sp.expand(sum(zk_i(i, 3) for i in range(5)) - 3 * e_k(y, 3)) == 0
mono_ok = sp.expand(zk_i(0, 3) - zk_i(1, 3) - (y[0] - y[1]) * e_k(y[2:], 2)) == 0
ch.claim("zk-identities-sympy", recursion_ok and sum_ok and mono_ok, equals=True,
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
# The factor $1-Z_{k-1,i}/Z_{k-1}$ is one minus an inclusion probability. When that probability
# is within a few ulp of one — an entry that is surely in the top $k-1$ — the subtraction loses
# all its digits, and when it rounds to exactly one the logarithm is $-\infty$ and the next step
# produces NaN. The article warns about the $\log0$. It does not say that the recursion fails
# silently first. The output is normalised to sum to $k$ by construction, so a wrong result
# still passes the sum check. We run it on $100$ draws of $x\sim\mathcal N(0,s^2I_{100})$ with
# $k=10$ for a range of spreads $s$, and compare with `grad_topk`:

# %%
spreads = [0.5, 1, 2, 3, 5, 7, 10, 20, 40]
frac_nan, frac_wrong = [], []
stable_sum_err = wrong_err = wrong_sum_err = 0.0
gen = torch.Generator().manual_seed(10373)
for s in spreads:
    xs = s * torch.randn(100, 100, dtype=f64, generator=gen)
    rec, good = grad_topk_recursive(xs, 10), grad_topk(xs, 10)
    nan_rows = ~torch.isfinite(rec).all(-1)
    err = (rec - good).abs().amax(-1)
    wrong = (err > 1e-6) & ~nan_rows
    frac_nan.append(float(nan_rows.double().mean()))
    frac_wrong.append(float(wrong.double().mean()))
    stable_sum_err = max(stable_sum_err, float((good.sum(-1) - 10).abs().max()))
    if wrong.any():
        wrong_err = max(wrong_err, float(err[wrong].max()))
        wrong_sum_err = max(wrong_sum_err, float((rec[wrong].sum(-1) - 10).abs().max()))
    if s == 1:
        ch.claim("recursion-ok-s1", (rec - good).abs().max(), at_most=1e-11,
                 why="cancellation amplifies eps by 1/(1 - pi) <= ~1e3 at this spread",
                 statement="the recursion is accurate for s = 1")
ch.claim("recursion-silent-error", wrong_err, at_least=0.5,
         why="a wrong answer, not a rounding difference (entries must lie in [0, 1])",
         statement="some finite outputs of the recursion are wrong by more than 0.5")
ch.claim("recursion-silent-sums-k", wrong_sum_err, at_most=1e-11,
         why="float64 rounding of a sum of 100 terms; the normalisation is built in",
         statement="... and those wrong outputs still sum to k")
ch.claim("recursion-nan-s10", frac_nan[spreads.index(10)], at_least=0.5,
         why="measured fraction of 100 draws; the claim only says 'most'",
         statement="at s = 10 most draws give NaN")
ch.claim("stable-sum-k", stable_sum_err, at_most=1e-11,
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
# The stable route is also exact in a regime where float64 cannot even represent the spread of
# the subset weights. With $n=12$, $k=4$ and $s=20$, $Z_k$ spans hundreds of orders of
# magnitude; 50-digit arithmetic over all $\binom{12}4=495$ subsets confirms `grad_topk`:

# %%
mpmath.mp.dps = 50
x12 = (20 * torch.randn(12, dtype=f64, generator=gen))
num, zz = [mpmath.mpf(0)] * 12, mpmath.mpf(0)
for s in itertools.combinations(range(12), 4):
    w = mpmath.exp(sum(mpmath.mpf(float(x12[i])) for i in s))
    zz += w
    for i in s:
        num[i] += w
mp_ref = torch.tensor([float(v / zz) for v in num], dtype=f64)
ch.claim("grad-vs-mpmath-s20", (grad_topk(x12, 4) - mp_ref).abs().max(), at_most=1e-14,
         why="~n eps relative error of the log-space recursion; mpmath reference exact to 1e-50",
         statement="grad_topk matches 50-digit enumeration at spread 20")
ch.claim("recursion-nan-example", bool(torch.isnan(grad_topk_recursive(x12, 4)).any()
                                        or (grad_topk_recursive(x12, 4) - mp_ref).abs().max() > 1e-3),
         equals=True, why="exact test", statement="the article's recursion fails on the same input")

# %% mystnb={"figure": {"caption": "The article's log-space recursion for GradTopK on 100 draws of $x\\sim\\mathcal N(0,s^2I_{100})$, $k=10$, against the spread $s$: the fraction of draws where it returns NaN, and the fraction where it returns finite numbers that are wrong by more than $10^{-6}$ (they still sum to $k$). The route through log-space elementary symmetric polynomials is exact at every spread.", "name": "fig-smooth-topk-recursion"}}
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.semilogx(spreads, frac_nan, "o-", label="NaN")
ax.semilogx(spreads, frac_wrong, "s-", label=r"finite but wrong ($>10^{-6}$)")
ax.semilogx(spreads, np.array(frac_nan) + np.array(frac_wrong), "k:", label="total failures")
ax.set_xlabel("spread $s$ of the inputs")
ax.set_ylabel("fraction of draws")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. ThreTopK: one threshold for all entries
#
# Pick an increasing $f:\mathbb R\to[0,1]$ with limits $0$ and $1$, and shift all inputs by one
# common threshold:
#
# $$
# \mathcal{ST}_k(x)=f\bigl(x-\lambda(x)\bigr),\qquad \sum_{i=1}^nf\bigl(x_i-\lambda(x)\bigr)=k .
# $$ (eq-smooth-topk-thre)
#
# $F(\lambda)=\sum_if(x_i-\lambda)$ decreases continuously from $n$ to $0$, so the threshold
# exists (and is unique where $F$ is strictly decreasing). Monotonicity is inherited from $f$. A
# shift of $x$ is absorbed by $\lambda$. For the limit, let $g$ be the gap between the $k$-th and
# $(k+1)$-th entries of $x/\tau$. The threshold is at distance $\ge g/2$ from one side. If from
# the bottom, every bottom entry is at most $f(-g/2)$; if from the top, every top entry is at
# least $f(g/2)$. The sum constraint makes the total deficit of the top entries equal the
# total mass of the bottom ones, so every entry is within $\max(k,n-k)\,e^{-g/2}$ of
# $\mathcal T_k$. This uses $f(-z)\le e^{-z}$ and $1-f(z)\le e^{-z}$ for $z>0$, true for all
# three choices of $f$ below.
#
# **$f(z)=\min(1,e^z)$.** Sort $x_{(1)}>\dots>x_{(n)}$ and suppose the first $m$ entries are
# saturated at one. The others contribute $e^{-\lambda}\sum_{i>m}e^{x_{(i)}}=k-m$, so
#
# $$
# \lambda_m=\log\sum_{i>m}e^{x_{(i)}}-\log(k-m),\qquad m=0,\dots,k-1 ;\qquad
# \lambda=\min_m\lambda_m .
# $$ (eq-smooth-topk-exp-lambda)
#
# The article scans $m$ for the one consistent with $x_{(m)}\ge\lambda_m\ge x_{(m+1)}$. The
# minimum gives the same answer without a search. Every term of $F$ is at most its "assumed"
# form ($1$ for the saturated entries, $e^{x_i-\lambda}$ for the others), so
# $F(\lambda_m)\le k$ and hence $\lambda_m\ge\lambda$ for every $m$, with equality at the
# consistent $m$. It is also immune to ties, where a consistency test on floats can find no $m$
# or two. For $k=1$ only $m=0$ exists, $\lambda=\mathrm{lse}(x)$, and the map is softmax.
#
# **$f=\sigma$.** There is no closed form. $F$ is decreasing, and
# $\lambda\in[\min x-\sigma^{-1}(k/n),\,\max x-\sigma^{-1}(k/n)]$, so bisection converges.
# The gradient comes from the implicit function theorem applied to
# $\sum_i\sigma(x_i-\lambda)=k$,
#
# $$
# \frac{\partial\lambda}{\partial x_j}=\frac{\sigma'(x_j-\lambda)}{\sum_i\sigma'(x_i-\lambda)},
# \qquad
# \frac{\partial[\mathcal{ST}_k]_i}{\partial x_j}=\sigma'_i\,\delta_{ij}-\frac{\sigma'_i\sigma'_j}{\sum_l\sigma'_l},
# $$ (eq-smooth-topk-ift)
#
# It is injected with the stop-gradient trick
# $\lambda\leftarrow x\cdot\mathrm{sg}[\nabla\lambda]+\mathrm{sg}[\lambda-x\cdot\nabla\lambda]$. The
# Jacobian is symmetric, and its rows and columns sum to zero.
#
# **A smooth $f$ with a closed form.** $f(z)=1-\tfrac12e^{-z}$ for $z\ge0$ and $\tfrac12e^{z}$
# for $z<0$ — an S-curve whose value and slope are continuous at $0$ (its second derivative
# jumps from $\tfrac12$ to $-\tfrac12$, so it is $C^1$, not $C^2$). With the top $m$ entries
# above the threshold and $u=e^{\lambda}$, $A_m=\sum_{i\le m}e^{-x_{(i)}}$,
# $B_m=\sum_{i>m}e^{x_{(i)}}$, the constraint is $m-\tfrac u2A_m+\tfrac1{2u}B_m=k$, a quadratic
# $A_mu^2+2(k-m)u-B_m=0$ with positive root
#
# $$
# \lambda=\log B_m-\log\Bigl(\sqrt{(k-m)^2+A_mB_m}+(k-m)\Bigr).
# $$ (eq-smooth-topk-smooth-lambda)
#
# The library finds $m$ as the number of sorted entries with $F(x_{(j)})<k$ ($F$ decreases).
# When $m>k$ the denominator suffers cancellation, so it uses the conjugate form
# $\lambda=-\log A_m+\log(\sqrt{\cdot}+|k-m|)$ instead. All sums are kept in log space.
#
# :::{admonition} Code: `thre_topk` (lib/softmax/topk.py, 52 lines)
# :class: dropdown
# ```{literalinclude} /lib/softmax/topk.py
# :pyobject: thre_topk
# ```
# :::
#
# Checks: each threshold solves {eq}`eq-smooth-topk-thre` (compared with Brent's root finder on
# $F$), the symbolic facts about the smooth $f$, and the implicit-function Jacobian.

# %%
F_NP = {
    "exp": lambda z: np.minimum(1.0, np.exp(np.minimum(z, 0))),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "smooth": lambda z: np.where(z >= 0, 1 - 0.5 * np.exp(-np.maximum(z, 0)), 0.5 * np.exp(np.minimum(z, 0))),
}


def brent_thre(x, k, f):
    g = lambda lam: F_NP[f](x - lam).sum() - k
    lam = optimize.brentq(g, x.min() - 60, x.max() + 60, xtol=1e-14, rtol=4 * EPS, maxiter=500)
    return F_NP[f](x - lam)


root_err = 0.0
for _ in range(30):
    n = int(ch.rng.integers(3, 15))
    xr = ch.rng.normal(size=n) * 3
    k = int(ch.rng.integers(1, n))
    for f in F_NP:
        root_err = max(root_err, np.abs(thre_topk(torch.tensor(xr), k, f).numpy() - brent_thre(xr, k, f)).max())
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

z_s, m_s, k_s, A_s, B_s = sp.symbols("z m k A B", real=True)
up, lo = 1 - sp.exp(-z_s) / 2, sp.exp(z_s) / 2
c1 = all(sp.simplify(sp.diff(up, z_s, r).subs(z_s, 0) - sp.diff(lo, z_s, r).subs(z_s, 0)) == 0
         for r in (0, 1))
c2 = sp.diff(up, z_s, 2).subs(z_s, 0) - sp.diff(lo, z_s, 2).subs(z_s, 0)
ch.claim("smooth-f-c1", c1, equals=True, why="exact symbolic", statement="f and f' are continuous at 0")
zp, zn = sp.symbols("z_p", positive=True), sp.symbols("z_n", negative=True)
alt = lambda z: (1 - sp.exp(-sp.Abs(z))) * sp.sign(z) / 2 + sp.Rational(1, 2)
ch.claim("smooth-f-alt-form", sp.simplify(alt(zp) - up.subs(z_s, zp)) == 0 and sp.simplify(alt(zn) - lo.subs(z_s, zn)) == 0,
         equals=True, why="exact symbolic", statement="f = (1 - e^{-|x|}) sign(x)/2 + 1/2 on both sides of 0")
ch.claim("exp-f-kink", int(sp.diff(sp.exp(z_s), z_s).subs(z_s, 0) - sp.diff(sp.Integer(1), z_s)), equals=1,
         why="exact symbolic", statement="min(1, e^x) has slopes 1 (left) and 0 (right) at x = 0")
for printed, value, where, claim in [
        ("x=0", 0.0, "min(1, e^x) is not differentiable at x = 0", "exp-f-kink"),
        ("x=0", 0.0, "smooth f and its derivative are continuous at x = 0", "smooth-f-c1"),
        ("1/2", 0.5, "smooth f = (1 - e^{-|x|}) sign(x)/2 + 1/2", "smooth-f-alt-form")]:
    ch.source_number(printed, value=value, where=f"§General results / §Both at once: {where}",
                     fate="reproduced", claim=claim)
ch.claim("smooth-f-not-c2", float(c2), equals=-1.0, why="exact symbolic: f''(0+) - f''(0-) = -1/2 - 1/2",
         statement="f'' jumps at 0 (C^1, not C^2)")
A_p, B_p = sp.symbols("A_p B_p", positive=True)
u_root = B_p / (sp.sqrt((k_s - m_s) ** 2 + A_p * B_p) + (k_s - m_s))
quad_res = sp.simplify(A_p * u_root**2 + 2 * (k_s - m_s) * u_root - B_p)
ch.claim("smooth-root-sympy", quad_res == 0, equals=True, why="exact symbolic",
         statement="Eq. (eq-smooth-topk-smooth-lambda) solves the quadratic")
ch.source_number("(k-m)^2", value=2.0, where="§Both at once: closed-form threshold of the smooth f",
                 fate="reproduced", claim="smooth-root-sympy")

xj = torch.tensor(ch.rng.normal(size=7), dtype=f64)
J = torch.autograd.functional.jacobian(lambda t: thre_topk(t, 3, "sigmoid"), xj)
sj = thre_topk(xj, 3, "sigmoid")
ds = sj * (1 - sj)
h = 1e-5
J_fd = torch.stack([(thre_topk(xj + h * e, 3, "sigmoid") - thre_topk(xj - h * e, 3, "sigmoid")) / (2 * h)
                    for e in torch.eye(7, dtype=f64)], 1)
# the formula, checked by an independent route (finite differences of the bisection's output)
ch.claim("sigmoid-jacobian-formula-fd", (J_fd - (torch.diag(ds) - torch.outer(ds, ds) / ds.sum())).abs().max(),
         at_most=1e-6, why="bisection tolerance 1e-12 on lambda divided by h = 1e-5 gives ~1e-7; "
         "truncation h^2 ~ 1e-10",
         statement="Eq. (eq-smooth-topk-ift) equals the finite-difference Jacobian")
ch.claim("sigmoid-jacobian-fd", (J - J_fd).abs().max(), at_most=1e-6,
         why="bisection tolerance 1e-12 on lambda divided by h = 1e-5 gives ~1e-7; truncation h^2 ~ 1e-10",
         statement="the implicit-function gradient matches finite differences of the bisection")
ch.claim("sigmoid-jacobian-symmetric", (J - J.T).abs().max(), at_most=EPS,
         why="the same factors multiplied in another order: <= 1 ulp of entries <= 1/4",
         statement="the Jacobian is symmetric")
ch.claim("sigmoid-jacobian-rows", J.sum(1).abs().max(), at_most=1e-15, why="float64 rounding",
         statement="J 1 = 0 (shift invariance) and, by symmetry, 1^T J = 0 (sum k)")

# %% [markdown]
# ## 5. All constructions side by side
#
# Random inputs: eight vectors $x\sim\mathcal N(0,4I)$ for every $3\le n\le10$ and $1\le k<n$
# (352 in all). For the limit we
# use a random permutation of $(0,1,\dots,n-1)$ (gaps of one) at $\tau=0.05$; the bounds of
# sections 3 and 4 then allow a deviation of at most
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
groups = []  # 8 random vectors for every (n, k) with 3 <= n <= 10, 1 <= k < n
for n in range(3, 11):
    for k in range(1, n):
        perms = torch.tensor(np.array([ch.rng.permutation(n) for _ in range(8)]), dtype=f64)
        groups.append((torch.tensor(ch.rng.normal(size=(8, n)) * 2, dtype=f64), k, perms))


def audit(fn):
    r = dict(sum=0.0, low=0.0, high=0.0, order=0.0, shift=0.0, limit=0.0)
    for x, k, perm in groups:
        p = fn(x, k)
        r["sum"] = max(r["sum"], float((p.sum(-1) - k).abs().max()))
        r["low"] = min(r["low"], float(p.min()))
        r["high"] = max(r["high"], float(p.max()) - 1)
        r["order"] = max(r["order"], float(p.gather(-1, torch.argsort(x, -1)).diff(dim=-1).neg().max()))
        r["shift"] = max(r["shift"], float((fn(x + 5.3, k) - p).abs().max()))
        n = x.shape[-1]
        n_sub = max(math.comb(n - 1, k - 1), math.comb(n - 1, k))
        bound = max(k, n - k, n_sub * math.exp(-10)) * math.exp(-10)
        r["limit"] = max(r["limit"], float((fn(perm / 0.05, k) - topk_mask(perm, k)).abs().max()) / bound)
    return r


report = {name: audit(fn) for name, fn in MAPS.items()}
# GradTopK's own, tighter limit bound (section 3): max(C(n-1,k-1), C(n-1,k)) e^{-g/tau}, g = 1
grad_ratio = max(float((grad_topk(perm / 0.05, k) - topk_mask(perm, k)).abs().max())
                 / (max(math.comb(x.shape[-1] - 1, k - 1), math.comb(x.shape[-1] - 1, k)) * math.exp(-20))
                 for x, k, perm in groups)
ch.claim("gradtopk-limit-own-bound", grad_ratio, at_most=1.0,
         why="the bound of section 3 is rigorous; e^{-20} ~ 2e-9 is far above float64 rounding",
         statement="GradTopK is within max(C(n-1,k-1), C(n-1,k)) e^{-gap/tau} of T_k, all 352 cases")
print(f"{'map':20s} {'|sum-k|':>9s} {'min':>9s} {'max-1':>9s} {'order':>9s} {'shift':>9s} {'limit/bound':>12s}")
for name, r in report.items():
    print(f"{name:20s} {r['sum']:9.1e} {r['low']:9.1e} {r['high']:9.1e} {r['order']:9.1e} "
          f"{r['shift']:9.1e} {r['limit']:12.2e}")

# %% [markdown]
# The four principled maps pass every property; we record that as claims. The two iterations sum
# to $k$ and are shift-invariant, but Su's leaves $[0,1]$ and reverses the order, and the
# weighted one leaves $[0,1]$ far behind (section 2) and misses the limit by a factor of
# thousands of the bound.

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

# %% [markdown]
# The figure follows the top two entries of $x=[3,2,1,4]/\tau$, $k=2$, as the temperature falls.

# %% mystnb={"figure": {"caption": "Top-2 smoothing of $x=[3,2,1,4]/\\tau$. Left: the entry of the largest input; right: the entry of the runner-up. GradTopK, the three ThreTopK maps and Su's iteration tend to $(1,1)$. The weighted-softmax iteration tends to $(1.5,0.5)$. Formed naively ($1-p$ in floating point), it jumps to $(1,1)$ at $\\tau^*=1/(53\\ln2)$ (dotted), where $1-p_{\\max}$ underflows.", "name": "fig-smooth-topk-limits"}}
taus = np.geomspace(2, 0.01, 120)
curves = dict(MAPS)
curves["weighted, naive 1 - p"] = lambda x, k: weighted_softmax_topk(x, k, stable=False)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
for name, fn in curves.items():
    vals = torch.stack([fn(X4 / float(t), 2) for t in taus]).numpy()
    style = "--" if "naive" in name else "-"
    axes[0].semilogx(taus, vals[:, 3], style, label=name)
    axes[1].semilogx(taus, vals[:, 0], style, label=name)
for ax, title in zip(axes, ["largest input ($x=4$)", "runner-up ($x=3$)"], strict=True):
    ax.axvline(tau_star, color="k", ls=":", lw=0.8)
    ax.set_xlabel(r"temperature $\tau$")
    ax.set_title(title)
    ax.invert_xaxis()
axes[0].set_ylabel(r"$[\mathcal{ST}_2(x/\tau)]_i$")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Where the article is imprecise
#
# 1. **The weighted-softmax iteration.** The article rejects it for its limit $(1.5,0.5)$. It
#    is worse than that: its entries leave $[0,1]$ at ordinary temperatures, and for $k=3$ they
#    can be of either sign and far outside $[0,1]$ (section 2).
# 2. **Su's iteration.** The article reports that it behaves well in tests and leaves range and
#    monotonicity open. Both fail (section 2): $[2,0,0]\mapsto$ an entry of
#    {glue:text}`su-iter-above-one:.3f`; $[4,3,0]$ is ranked in the wrong order.
# 3. **The recursion for GradTopK** fails silently before it fails loudly (section 3). The
#    remedy is not more care in log space but a different recursion, one with positive terms only.
# 4. **The smooth $f$ at $k=1$.** The article leaves as an exercise that ThreTopK with the smooth
#    $f$ reduces to softmax for $k=1$. With $m=0$ the threshold is
#    $\lambda=\mathrm{lse}(x)-\log2$ and the entries are $e^{x_i-\lambda}/2=\mathrm{softmax}(x)_i$
#    — but $m=0$ requires every $x_i\le\lambda$, i.e. $\max_i\mathrm{softmax}(x)_i\le\tfrac12$.
#    Otherwise $m=1$, $\lambda=\tfrac12\bigl(x_{(1)}+\log\sum_{i>1}e^{x_{(i)}}\bigr)$, and the top
#    entry is $1-\tfrac12\sqrt{(1-p)/p}$ with $p$ the top softmax probability, which is *smaller*
#    than $p$ for every $p>\tfrac12$. At $x=[3,2,1,4]$ the top softmax probability is above one half, and the two differ:

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
# At $x=[3,2,1,4]$ the smooth-$f$ map differs from softmax by
# {glue:text}`erratum-smooth-k1-not-softmax:.4f`; its top entry is
# {glue:text}`smooth-k1-closed-form:.4f` against softmax's {glue:text}`softmax-top:.4f`.
#
# 5. **Monotonicity with a saturating $f$.** The article derives monotonicity of ThreTopK from
#    that of $f$ and counts $\min(1,e^x)$ among the admissible $f$. Saturated entries tie at one
#    whatever their inputs, so the "$\Leftrightarrow$" of {eq}`eq-smooth-topk-properties` holds
#    only in the weak sense (last claim of the cell above); a strictly increasing $f$ is needed.
#
# **The article's numbers.** We read its text, equations and code and listed every number in a
# stated result: the worked example, the limit $(1.5,0.5,0)$, the bounds and sum of GradTopK,
# the $\log k$ and the range of $m$ of the recursions, the bisection bracket, the points and
# constants of the three $f$, and the two "$k=1$ gives softmax" statements — one of them
# contradicted above. The constants of its code (the clip at $10^{-12}$, 20 bisection steps, an
# unused `eps`) are inputs, as are the $k$ and $\tau$ of its examples.
#
# ## Claims

# %%
ch.table();
