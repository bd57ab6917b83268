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
#     date: '2022-06-28'
#     id: 9147
#     paper: Liang et al. (2022), Exploring and Exploiting Hubness Priors for High-Quality
#       GAN Latent Sampling
#     paper_url: https://arxiv.org/abs/2206.06014
#     title: A Brief Look at the Hubness Phenomenon of the "Curse of Dimensionality"
#     title_zh: "\u201C\u7EF4\u5EA6\u707E\u96BE\u201D\u4E4BHubness\u73B0\u8C61\u6D45\
#       \u6790"
#     url: https://kexue.fm/archives/9147
# ---

# %% [markdown]
# (ch-hubness)=
# # Hubness: the few points everybody calls a neighbour
#
# Let $N$ random points in $\mathbb R^d$ each name their $k$ nearest neighbours and count how
# often each point is named. The counts average exactly $k$, but in high dimension a few *hubs*
# are named hundreds of times and many points never. The article {cite}`9147-su-hubness` traces
# this to the collapse of the unit ball inside its cube and describes how Liang et al.
# {cite}`9147-liang-hubness-gan` keep only the GAN latents with large counts. Going one step
# further, we show that for Gaussian points the expected count is an explicit, steeply decreasing
# function of the norm (checked to eleven digits): the hub filter is a norm truncation estimated
# from samples, and a toy generator with known defects shows it can help or hurt.
#
# :::{prf:proposition} Hubness of Gaussian point clouds
# :label: prop-hubness
# 1. **Collapsing ball.** The unit $n$-ball fills the fraction
#    $r_n = V_n/2^n = \pi^{n/2}/\bigl(2^n\,\Gamma(\tfrac n2+1)\bigr)$ of the cube $[-1,1]^n$, and
#    $r_{n+2}/r_n = \pi/(2(n+2))$, so $r_n$ vanishes faster than any exponential.
# 2. **Counting.** For any $N$ distinct points and $1\le k\le N-1$, the $k$-occurrences
#    satisfy $\sum_i N_k(x_i) = Nk$: their mean is exactly $k$.
# 3. **Hub value against norm.** For $x_1,\dots,x_N$ i.i.d. $\mathcal N(0,I_d)$ and
#    $y\sim\mathcal N(0,I_d)$ independent of them, the conditional mean of $N_k(x_i)$ given
#    $\|x_i\|=\rho$ is given below ($B_{m,n}$: binomial CDF at $m$; $F_{d,\lambda}$: CDF of
#    $\chi^2_d(\lambda)$). For large $d$ and $\|x_i\|^2=d+\sqrt{2d}\,s$ it is close to
#    $(N-1)\,\Phi\bigl(-\sqrt{3/2}\,z-s/\sqrt2\bigr)$, $z=\Phi^{-1}\bigl(1-k/(N-1)\bigr)$.
#
# $$
# \begin{aligned}
# \mathbb E\bigl[N_k(x_i)\mid \|x_i\|=\rho\bigr] &= (N-1)\,\mathbb E_{y}\bigl[B_{k-1,N-2}(q)\bigr],\\
# q &= F_{d,\|y\|^2}\bigl(\|x_i-y\|^2\bigr).
# \end{aligned}
# $$
# :::
#
# The standard reference is Radovanović et al. {cite}`9147-radovanovic-hubs`; part 3 is our own
# derivation, in the spirit of their argument that points near the data mean are near everybody.

# %% tags=["hide-input"]
import math
from functools import partial

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
from scipy import optimize, stats
from scipy.spatial.distance import cdist
from scipy.special import roots_hermitenorm

from lib import geometry as geo
from lib.book import Chapter, show_table
from lib.geometry import ball_to_cube_ratio, expected_k_occurrence, hub_filter, k_occurrence
from lib.geometry.hubness import probit_hub_limit, skewness, top_share
from lib.metrics import spearman
from lib.stats import mean_se, paired_t, proportion_se

ch = Chapter("hubness", seed=9147)
rng = ch.rng

# %% [markdown]
# ## 1. The collapsing ball
#
# The unit ball in $\mathbb R^n$ has volume $V_n=\pi^{n/2}/\Gamma(\frac n2+1)$, and the smallest
# cube around it has side 2, so the ball's share of the cube is
#
# $$
# r_n = \frac{V_n}{2^n} = \frac{\pi^{n/2}}{2^n\,\Gamma\bigl(\frac n2+1\bigr)} .
# $$ (eq-hubness-ratio)
#
# Slicing the $(n+2)$-ball into $n$-balls of radius $\sqrt{1-r^2}$ over a unit disc gives
# $V_{n+2}=\frac{2\pi}{n+2}V_n$, hence $r_{n+2}/r_n=\pi/(2(n+2))$: a factor that itself goes to
# zero, faster than any geometric decay. $r_n$ underflows float64 near $n\approx1100$, so the
# library evaluates the logarithm with `gammaln`:
#
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: ball_to_cube_ratio
# ```
#
# SymPy checks the closed forms and the recurrence, 30-digit SymPy values the float64 ones for
# $n\le60$, and `mpmath` the log at $n=10^5$. Two readings of the collapse: rejection sampling
# from the ball through the cube accepts a fraction $r_n$ ($10^6$ points of $[-1,1]^{10}$ give
# every $n\le10$ at once, using the first $n$ coordinates), and a uniform point of the ball has
# $P(\|x\|\le\varrho)=\varrho^n$: the volume sits in a thin outer shell (only
# {glue:text}`inner-ball-share-n10:.3f` of the 10-ball lies within radius 0.9).

# %% mystnb={"figure": {"caption": "Left: the ball's share of its cube, Eq. {eq}`eq-hubness-ratio`, and the acceptance rate of rejection sampling from 10^6 cube points (dots; 4-standard-error bars hidden by the dots). Right: the volume share $\\varrho^n$ within radius $\\varrho$.", "name": "fig-hubness-ball"}}
n = sp.symbols("n", positive=True, integer=True)
V = sp.pi ** (n / 2) / sp.gamma(n / 2 + 1)
closed = (sp.simplify(V.subs(n, 10) - sp.pi**5 / 120) == 0
          and sp.simplify(V.subs(n, 20) - sp.pi**10 / sp.factorial(10)) == 0)
ch.claim("ball-volumes-sympy", closed, equals=True, why="exact symbolic",
         statement="V_10 = pi^5/120 and V_20 = pi^10/10! from the Gamma formula")
ch.claim("ball-recurrence-sympy", sp.simplify(V.subs(n, n + 2) / V - 2 * sp.pi / (n + 2)) == 0,
         equals=True, why="exact symbolic",
         statement="V_(n+2) = 2 pi V_n/(n+2), so r_(n+2)/r_n = pi/(2(n+2)) -> 0")
ref = np.array([float(sp.N(V.subs(n, m) / 2**m, 30)) for m in range(1, 61)])
ch.claim("ratio-vs-sympy", np.max(np.abs(ball_to_cube_ratio(np.arange(1, 61)) / ref - 1)),
         at_most=1e-13, why="exp of a log of size <= 85 carries ~85 eps relative error, plus "
         "gammaln's own few-ulp error", statement="Eq. (eq-hubness-ratio) in float64, n = 1..60")
big = 10**5
log_ref = float(big / 2 * mpmath.log(mpmath.pi) - mpmath.loggamma(mpmath.mpf(big) / 2 + 1)
                - big * mpmath.log(2))
ch.claim("log-ratio-n-1e5", ball_to_cube_ratio(big, log=True), equals=log_ref, rtol=1e-14,
         why="sum of three O(1e5) terms, a few ulp each",
         statement="log r_n is finite and exact at n = 10^5")
M, accepted, radii10 = 10**6, np.zeros(10), []
for _ in range(4):  # four blocks of 250 000 keep memory small
    r2 = np.cumsum(rng.uniform(-1, 1, size=(M // 4, 10)) ** 2, axis=1)
    accepted += (r2 <= 1).sum(axis=0)
    radii10.append(np.sqrt(r2[r2[:, 9] <= 1, 9]))
p_n = ball_to_cube_ratio(np.arange(1, 11))
z_acc = (accepted[1:] / M - p_n[1:]) / proportion_se(p_n[1:], M)  # n = 1 accepts everything
ch.claim("rejection-acceptance-z", np.abs(z_acc).max(), at_most=4.0,
         why="4 binomial standard errors (two-sided P ~ 6e-5 each, 9 rates)",
         statement="acceptance of cube-to-ball rejection sampling equals r_n, n = 2..10")
radii10 = np.concatenate(radii10)
shell = (radii10 <= 0.9).mean()
ch.claim("inner-ball-mass-n10", (shell - 0.9**10) / proportion_se(0.9**10, radii10.size),
         between=(-4.0, 4.0), why="4 binomial standard errors",
         statement="in 10 dimensions the inner ball of radius 0.9 holds 0.9^10 of the volume")
_ = ch.measured("inner-ball-share-n10", shell, why="descriptive: Monte Carlo estimate of 0.9^10")
geo.plot_ball_collapse(accepted, M)
plt.show()

# %% [markdown]
# ## 2. Hub values and the counting identity
#
# With $\mathrm{kNN}(x_j)$ the $k$ points nearest to $x_j$ other than itself, the hub value of
# $x_i$ is the number of lists it appears in:
#
# $$
# N_k(x_i) = \#\{\,j\ne i:\ x_i\in\mathrm{kNN}(x_j)\,\}.
# $$ (eq-hubness-nk)
#
# Every list has exactly $k$ entries, so the counts add up to the number of list entries:
#
# $$
# \sum_{i=1}^N N_k(x_i) = Nk, \qquad \frac1N\sum_i N_k(x_i) = k .
# $$ (eq-hubness-sum)
#
# The library computes squared distances as $\|a\|^2+\|b\|^2-2a\cdot b$ one block of query rows
# at a time (no $N\times N$ matrix) and picks the $k$ smallest per row with `torch.topk`:
#
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: k_occurrence
# ```
#
# The article's own recipe (all SciPy pairwise distances, a full sort per row, the point itself
# dropped) is an independent route; on 1500 points in 512 dimensions they agree count for count.

# %%
X = rng.standard_normal((1500, 512))
D = cdist(X, X, "sqeuclidean")
np.fill_diagonal(D, np.inf)
brute = np.bincount(np.argsort(D, axis=1)[:, :5].ravel(), minlength=1500)
c = k_occurrence(X, 5, chunk=256)
ch.claim("k-occurrence-vs-full-sort", int((c != brute).sum()), equals=0,
         why="exact integers; ties have probability 0 for Gaussian data",
         statement="Eq. (eq-hubness-nk): block-wise top-k equals a full sort of all distances")
ch.claim("counting-identity-1500", int(c.sum()), equals=1500 * 5, why="exact integer identity",
         statement="Eq. (eq-hubness-sum): the counts add up to N k")

# %% [markdown]
# ## 3. Why the points near the centre are the hubs
#
# **Step 1: the mean is closest to everybody.** Expanding around $\bar x=\frac1N\sum_ix_i$,
#
# $$
# \sum_i\|x_i-c\|^2 = \sum_i\|x_i-\bar x\|^2 + N\|c-\bar x\|^2 ,
# $$ (eq-hubness-mean)
#
# so $\bar x$ minimises the total squared distance and a point near it is close to many points
# at once. The identity holds coordinate-wise; SymPy checks one coordinate.
#
# **Step 2: for Gaussian data, distance grows with norm.** For $Y\sim\mathcal N(0,I_d)$ and fixed
# $x$, $\mathbb E\|x-Y\|^2=\|x\|^2+d$. The norm is concentrated ($\|x\|^2\sim\chi^2_d$, mean $d$,
# standard deviation $\sqrt{2d}$): a ball of radius well below $\sqrt d$ holds a vanishing share
# of the points, the probabilistic twin of Section 1.

# %%
xs, cc = sp.symbols("x1:6", real=True), sp.symbols("c", real=True)
xbar = sum(xs) / 5
gap = sum((x - cc) ** 2 for x in xs) - sum((x - xbar) ** 2 for x in xs) - 5 * (cc - xbar) ** 2
ch.claim("mean-decomposition-sympy", sp.expand(gap) == 0, equals=True, why="exact symbolic",
         statement="Eq. (eq-hubness-mean) for five points (one coordinate)")
x50 = np.zeros(50)
x50[0] = 5.0
sq = ((x50 - rng.standard_normal((100_000, 50))) ** 2).sum(axis=1)
m_sq, se_sq = mean_se(sq)
ch.claim("mean-sq-distance-z", (m_sq - (25 + 50)) / se_sq, between=(-4.0, 4.0),
         why="4 Monte Carlo standard errors", statement="E|x - Y|^2 = |x|^2 + d (d = 50, |x| = 5)")

# %% [markdown]
# **Step 3: the exact conditional mean.** Fix $x=x_i$ with $\|x\|=\rho$ and a query $y$. Each of
# the other $N-2$ points is independently closer to $y$ than $x$ with probability
# $F_{d,\|y\|^2}(\|x-y\|^2)$, since $\|X-y\|^2\sim\chi^2_d(\|y\|^2)$; $x$ is on $y$'s list iff at
# most $k-1$ are closer. Summing over the $N-1$ queries and averaging over $y$:
#
# $$
# \mathbb E\bigl[N_k(x)\mid\|x\|=\rho\bigr] = (N-1)\,\mathbb E_y\Bigl[B_{k-1,N-2}\bigl(F_{d,\|y\|^2}(\|x-y\|^2)\bigr)\Bigr] .
# $$ (eq-hubness-exact)
#
# By rotation invariance only $y_1=y\cdot x/\rho\sim\mathcal N(0,1)$ and $S=\|y\|^2-y_1^2\sim\chi^2_{d-1}$
# matter ($\|x-y\|^2=(\rho-y_1)^2+S$, $\|y\|^2=y_1^2+S$). The library integrates by the trapezoid
# rule in $y_1$ and Gauss–Hermite nodes in $S$ mapped to a standard normal through its CDF.
#
# :::{admonition} Full code: expected_k_occurrence
# :class: dropdown
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: expected_k_occurrence
# ```
# :::
#
# Nothing in Eq. {eq}`eq-hubness-exact` forces its average over $\|x\|\sim\chi_d$ to be $k$; only
# the counting identity {eq}`eq-hubness-sum` does, which makes the average a sharp test. For the
# article's setting ($d=512$, $N=10^4$, $k=5$) and for $d=50$, $N=2000$, $k=10$ it returns $k$ to
# quadrature precision (doubling every node changes it by {glue:text}`quad-change-d512:.1e` of $k$
# at $d=512$); an off-by-one ($N-1$ competitors instead of $N-2$) misses by
# {glue:text}`off-by-one-control:.1e`.

# %%
chi_average = geo.chi_norm_average  # E[f(|x|)], Gauss-Legendre on sqrt(d) +- 7
for d, N, k in [(512, 10_000, 5), (50, 2000, 10)]:
    avg = chi_average(partial(expected_k_occurrence, d=d, n_points=N, k=k), d)
    avg2 = chi_average(partial(expected_k_occurrence, d=d, n_points=N, k=k, n_y=321, n_s=48),
                       d, 128)
    ch.measured(f"quad-change-d{d}", abs(avg2 - avg) / k, why="descriptive: doubling all nodes")
    ch.claim(f"exact-formula-averages-to-k-d{d}", avg, equals=k, rtol=1e-10,
             why="quadrature error: doubling all nodes moves the value by ~1e-11 relative or less",
             statement=f"Eq. (eq-hubness-exact) averaged over |x| ~ chi_d gives k = {k} (d = {d}, N = {N})")
off = chi_average(lambda r: expected_k_occurrence(r, 512, 10_001, 5) * 9_999 / 10_000, 512)
ch.claim("off-by-one-control", abs(off / 5 - 1), at_least=1e-6,
         why="negative control: must miss by far more than the 1e-10 tolerance above",
         statement="with N-1 competitors instead of N-2 the average is not k")

# %% [markdown]
# **Step 4: the large-$d$ limit.** Write $\|x_j\|^2=d+\sqrt{2d}\,s_j$ and $g_{ij}=x_i\cdot x_j/\sqrt d$.
# For fixed $N$ and $d\to\infty$ these become independent standard normals. Query $j$ ranks the
# others by $\|x_i\|^2-2x_i\cdot x_j$, i.e. by $\sqrt2\,s_i-2g_{ij}\sim\mathcal N(0,6)$. Replacing
# the $k$-th smallest of the $N-1$ values by the $k/(N-1)$ quantile $-\sqrt6\,z$ gives
# $x_i\in\mathrm{kNN}(x_j)$ iff $g_{ij}>(\sqrt2\,s_i+\sqrt6\,z)/2$, so, with $z=\Phi^{-1}\bigl(1-k/(N-1)\bigr)$,
#
# $$
# \mathbb E[N_k\mid s] \approx (N-1)\,\Phi\Bigl(-\sqrt{\tfrac32}\,z-\tfrac{s}{\sqrt2}\Bigr),
# $$ (eq-hubness-probit)
#
# a probit function of the standardised norm: one standard deviation less raises it by a large
# factor, the hubness. By $\mathbb E\,\Phi(a+bG)=\Phi\bigl(a/\sqrt{1+b^2}\bigr)$ its mean over
# $s\sim\mathcal N(0,1)$ is $(N-1)\Phi(-z)=k$ exactly. No $d$ is left, so hubness approaches a
# ceiling set by $N$ and $k$ (Section 4.1). At $d=512$ the limit is within a factor
# {glue:text}`probit-over-exact-min:.2f` to {glue:text}`probit-over-exact-max:.2f` of the exact
# formula for $s\in\{-2,-1,0\}$: right shape, visible finite-$d$ corrections.

# %%
v, wv = roots_hermitenorm(120)
ch.claim("probit-averages-to-k", float((probit_hub_limit(v, 10_000, 5) * wv).sum() / wv.sum()),
         equals=5.0, rtol=1e-10, why="120-node Gauss-Hermite on a smooth integrand: error ~1e-14",
         statement="Eq. (eq-hubness-probit) averaged over s ~ N(0, 1) gives k exactly")
s_grid = np.array([-2.0, -1.0, 0.0])
exact_s = expected_k_occurrence(np.sqrt(512 + math.sqrt(1024) * s_grid), 512, 10_000, 5)
ratio_s = probit_hub_limit(s_grid, 10_000, 5) / exact_s
ch.measured("probit-over-exact-max", ratio_s.max(), why="descriptive: finite-d correction at d = 512")
_ = ch.measured("probit-over-exact-min", ratio_s.min(), why="descriptive: finite-d correction at d = 512")

# %% [markdown]
# ## 4. Experiments
#
# ### 4.1 Hubness grows with dimension, then levels off
#
# For each $d\in\{2,5,10,20,50,100,200,500\}$, ten clouds of $N=2000$ standard normal points:
# skewness of $N_{10}$ (the usual hubness score), the top-20% share of counts (the "80/20" image),
# the share never named, and Spearman's correlation of $N_{10}$ with $-\|x\|$.

# %%
dims, SEEDS, N, K = [2, 5, 10, 20, 50, 100, 200, 500], 10, 2000, 10
runs = {d: [] for d in dims}
for _ in range(SEEDS):
    for d in dims:
        Xd = rng.standard_normal((N, d))
        runs[d].append((k_occurrence(Xd, K), np.linalg.norm(Xd, axis=1)))
stat = {name: {d: np.array([f(cnt, r) for cnt, r in runs[d]]) for d in dims} for name, f in {
    "skew": lambda cnt, r: skewness(cnt), "top20": lambda cnt, r: top_share(cnt, 0.2),
    "zero": lambda cnt, r: (cnt == 0).mean(), "rho": lambda cnt, r: spearman(cnt, -r)}.items()}
ms = {name: {d: mean_se(stat[name][d]) for d in dims} for name in stat}
fmt = (("skew", ".2f"), ("top20", ".4f"), ("zero", ".4f"), ("rho", ".3f"))
show_table(["d", "skewness", "top-20% share", "share never named", "Spearman(N_k, -|x|)"],
           [[d] + [f"{ms[nm][d][0]:{f}} ± {ms[nm][d][1]:{f}}" for nm, f in fmt] for d in dims])
ch.claim("counting-identity-all-runs",
         max(abs(int(cnt.sum()) - N * K) for d in dims for cnt, _ in runs[d]), equals=0,
         why="exact integer identity", statement="mean N_k = k exactly in all 80 clouds")
ch.claim("skewness-vs-scipy", max(abs(skewness(cnt) - stats.skew(cnt)) for cnt, _ in runs[500]),
         at_most=1e-12, why="two float64 evaluations of moments of integers < 1000",
         statement="lib skewness equals scipy.stats.skew (bias=True)")
ch.claim("skew-d2-max", stat["skew"][2].max(), at_most=0.5,
         why="every one of the 10 clouds (a property of each cloud, no averaging)",
         statement="no hubness at d = 2: skewness < 0.5")
ch.claim("skew-high-d-min", min(stat["skew"][d].min() for d in (50, 100, 200, 500)), at_least=2.0,
         why="every one of the 40 clouds (a property of each cloud, no averaging)",
         statement="strong hubness for d >= 50: skewness > 2")
steps = [2, 10, 50, 200]
p_steps = [stats.mannwhitneyu(stat["skew"][a], stat["skew"][b], alternative="less").pvalue
           for a, b in zip(steps[:-1], steps[1:], strict=True)]
ch.claim("skew-increases-p", max(p_steps), at_most=0.01,
         why="one-sided Mann-Whitney rank test per step at the 1% level (10 vs 10 clouds), "
         "robust to the heavy tail of sample skewness",
         statement="skewness increases along d = 2, 10, 50, 200")
top_z = min((ms["top20"][b][0] - ms["top20"][a][0]) / math.hypot(ms["top20"][a][1], ms["top20"][b][1])
            for a, b in zip(dims[1:-1], dims[2:], strict=True))
ch.claim("top20-increases-z", top_z, at_least=3.0,
         why="each step at least 3 standard errors (one-sided P ~ 1e-3)",
         statement="the top-20% share increases at every step from d = 5 to 500")
ch.claim("spearman-norm-min", min(stat["rho"][d].min() for d in dims[2:]), at_least=0.8,
         why="worst single cloud; the rank correlation is a property of every cloud",
         statement="for d >= 10 the hub value is a decreasing function of the norm (Spearman > 0.8)")
d_skew = ms["skew"][500][0] - ms["skew"][200][0]
ch.measured("skew-200-to-500", d_skew, why="descriptive: change of mean skewness from d = 200 to 500")
_ = ch.measured("skew-200-to-500-se", math.hypot(ms["skew"][200][1], ms["skew"][500][1]),
                why="descriptive: its standard error")
X2 = rng.standard_normal((N, 2))
Q, _ = np.linalg.qr(rng.standard_normal((200, 2)))
same = int((k_occurrence(X2, K) != k_occurrence(X2 @ Q.T, K)).sum())
ch.claim("intrinsic-dimension-control", same, equals=0,
         why="exact: an isometry keeps all distances; rounding (~1e-15 relative) could only swap "
         "neighbours tied to that precision", statement="a 2-D cloud embedded in R^200 has its 2-D hub values")

# %% [markdown]
# From $d=200$ to $500$ the skewness changes by only {glue:text}`skew-200-to-500:.2f`
# ± {glue:text}`skew-200-to-500-se:.2f`, as the $d$-free limit {eq}`eq-hubness-probit` says.
# Hubness follows the **intrinsic** dimension: a 2-D cloud rotated into $\mathbb R^{200}$ keeps its
# 2-D counts.
#
# ### 4.2 The exact formula against simulation
#
# Binning each cloud's points by norm (at the 1%, 5%, 20%, 50% quantiles of $\chi_d$), the mean
# hub value per bin matches the mean of Eq. {eq}`eq-hubness-exact` over the same points within a
# few standard errors; in the 1% smallest-norm bin at $d=500$, where the hubs live, the relative
# error is {glue:text}`exact-formula-hub-bin-rel-d500:.3f`.

# %% mystnb={"figure": {"caption": "Hub values $N_{10}$ of 2000 Gaussian points. Top: histograms (one cloud per $d$); skewness per cloud (dots) and median. Bottom: top-20% share and share never named (mean, 2 standard errors); mean $N_{10}$ in 20 norm bins (dots) against Eq. {eq}`eq-hubness-exact` (lines) versus the standardised squared norm $s$.", "name": "fig-hubness-dimension"}}
zs, rel_top, pooled = [], {}, {}
for d in (10, 50, 500):
    res = geo.norm_bin_residuals(runs[d], d, N, K, quantiles=(0.01, 0.05, 0.2, 0.5))
    m, se = mean_se(res["diff"], dim=0)
    zs.extend(m / se)
    rel_top[d] = m[0] / res["pred_first"].mean()
    pooled[d] = (res["norms"], res["counts"], res["grid"], res["expected"])
ch.claim("exact-formula-bins-z", np.abs(zs).max(), at_most=5.0,
         why="5 standard errors over 10 clouds: t with 9 dof exceeds 5 with P ~ 7e-4, ~1% for 15 bins",
         statement="Eq. (eq-hubness-exact) predicts the mean hub value in every norm bin (d = 10, 50, 500)")
_ = ch.measured("exact-formula-hub-bin-rel-d500", rel_top[500],
                why="descriptive: relative error in the 1% smallest-norm bin, d = 500")
geo.plot_dimension_study(runs, pooled)
plt.show()

# %% [markdown]
# ### 4.3 The article's setting: $d=512$, $N=10^4$, $k=5$, $t=50$
#
# The article's sampler draws $10^4$ latents in 512 dimensions, counts 5-occurrences in blocks of
# 1000 queries and keeps latents counted more than 50 times. One batch:

# %% mystnb={"figure": {"caption": "Hub value $N_5$ + 1 against the norm, $10^4$ latents in 512 dimensions. Solid: Eq. {eq}`eq-hubness-exact`; dashed: Eq. {eq}`eq-hubness-probit`. The hub filter keeps the latents above the dotted line $t=50$: the smallest norms.", "name": "fig-hubness-norm"}}
Z0 = rng.standard_normal((10_000, 512))
c0 = k_occurrence(Z0, 5)
rho0 = np.linalg.norm(Z0, axis=1)
hubs0 = c0 > 50
ch.claim("counting-identity-10k", int(c0.sum()), equals=50_000, why="exact integer identity",
         statement="the 10^4 counts add up to N k")
for name, value in {"hub-count": hubs0.sum(), "hub-fraction": hubs0.mean(), "max-count": c0.max(),
                    "skew-512": skewness(c0), "never-named-512": (c0 == 0).mean(),
                    "norm-mean-all": rho0.mean(), "norm-mean-hubs": rho0[hubs0].mean(),
                    "spearman-512": spearman(c0, -rho0)}.items():
    ch.measured(name, value, why="descriptive: one batch of the article's setting")
ch.claim("hubs-have-small-norm", rho0[hubs0].mean(), at_most=rho0.mean() - 1.0,
         why="a fixed margin of 1, i.e. 1.4 standard deviations of the norm (1/sqrt 2 each); "
         "Eq. (eq-hubness-exact) reaches t = 50 only further out in the tail",
         statement="hubs' mean norm is more than 1 below the batch's mean norm")
ch.claim("top20-share-512", top_share(c0, 0.2), at_least=0.8,
         why="the bound is the article's 80/20 image itself; the share varies by a few 1e-3 "
         "between clouds (Section 4.1)", statement="the top 20% of latents hold at least 80% of all counts")
rho50 = optimize.brentq(lambda r: float(expected_k_occurrence(r, 512, 10_000, 5)) - 50, 18, 24)
s50 = optimize.brentq(lambda s: float(probit_hub_limit(s, 10_000, 5)) - 50, -6, 0)
ch.measured("rho50", rho50, why="descriptive: norm where Eq. (eq-hubness-exact) equals t = 50")
ch.measured("fraction-below-rho50", stats.chi2.cdf(rho50**2, 512),
            why="descriptive: ignores the spread of N_5 at a given norm")
_ = ch.measured("fraction-probit", stats.norm.cdf(s50), why="descriptive: probit-limit analogue")
geo.plot_hub_norm(rho0, c0, 50, 512, 10_000, 5)
plt.show()

# %% [markdown]
# {glue:text}`hub-count:d` latents ({glue:text}`hub-fraction:.2%`) pass; the largest count is
# {glue:text}`max-count:d`, the skewness {glue:text}`skew-512:.1f`, {glue:text}`never-named-512:.0%`
# are on nobody's list, the hubs' mean norm is {glue:text}`norm-mean-hubs:.2f` against
# {glue:text}`norm-mean-all:.2f`, and the top 20% hold {glue:text}`top20-share-512:.0%` of all
# counts: the article's "80% of the wealth in 20% of the hands" is an understatement.
# Eq. {eq}`eq-hubness-exact` reaches 50 at $\rho_{50}=${glue:text}`rho50:.2f`, so about
# {glue:text}`fraction-below-rho50:.2%` of latents pass (probit limit: {glue:text}`fraction-probit:.2%`),
# near the measured rate (at a given norm the count still scatters).
#
# ### 4.4 The hub filter on a generator whose bad samples are known
#
# The paper's premise is that a generator is better trained where latents are dense. A toy makes
# it explicit: the generator fails on 20% of the 512-dimensional latent mass, either the largest
# norms (**tail defects**: rarely seen, poorly trained) or outside the central 80% of norms
# (**shell defects**: it learned only the typical shell). We run `hub_filter` with the article's
# settings on fresh batches, against no filter and a norm truncation keeping the same fraction.
#
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: hub_filter
# ```

# %%
q_lo, q_hi, q_tail = stats.chi2.ppf([0.1, 0.9, 0.8], 512)
defects = {"tail": lambda Z: (Z**2).sum(1) > q_tail,
           "shell": lambda Z: ((Z**2).sum(1) < q_lo) | ((Z**2).sum(1) > q_hi)}
kept = hub_filter(lambda m: rng.standard_normal((m, 512)), size=150, k=5, t=50, batch=10_000)
trunc = Z0[np.argsort(rho0)[: hubs0.sum()]]  # norm truncation at the hub filter's rate
rows, ci = [], {}
for name, bad in defects.items():
    base = bad(Z0).mean()
    ch.claim(f"base-rate-{name}-z", (base - 0.2) / proportion_se(0.2, Z0.shape[0]), between=(-4.0, 4.0),
             why="4 binomial standard errors", statement=f"{name} defects hit 20% of unfiltered latents")
    hits = int(bad(kept).sum())
    ci[name] = stats.binomtest(hits, kept.shape[0]).proportion_ci(0.999)
    rows.append([name, f"{base:.3f}", f"{hits / kept.shape[0]:.3f} [{ci[name].low:.3f}, {ci[name].high:.3f}]",
                 f"{bad(trunc).mean():.3f}"])
    ch.measured(f"hub-filter-bad-{name}", hits / kept.shape[0], why="descriptive: see the CI claims")
show_table(["defects", "no filter", "hub filter (99.9% CI)", "norm truncation, same rate"], rows)
ch.claim("hub-filter-helps-tail", ci["tail"].high, at_most=0.2,
         why="upper end of a 99.9% Clopper-Pearson interval below the unfiltered rate",
         statement="with tail defects the hub filter lowers the bad-sample rate")
ch.claim("hub-filter-hurts-shell", ci["shell"].low, at_least=0.2,
         why="lower end of a 99.9% Clopper-Pearson interval above the unfiltered rate",
         statement="with shell defects the hub filter raises the bad-sample rate")
small0 = np.zeros(len(rho0), bool)
small0[np.argsort(rho0)[: hubs0.sum()]] = True
ch.claim("hubs-are-norm-truncation", (hubs0 & small0).sum() / hubs0.sum(), at_least=0.8,
         why="threshold for 'mostly the same set'; binomial standard error of the overlap ~0.02",
         statement="at least 80% of the hubs are among the same number of smallest-norm latents")

# %% [markdown]
# The hub filter is, to {glue:text}`hubs-are-norm-truncation:.0%` overlap, the norm truncation
# keeping as many latents: bad samples fall from 20% to {glue:text}`hub-filter-bad-tail:.1%` with
# tail defects and rise to {glue:text}`hub-filter-bad-shell:.1%` with shell defects. Which case a
# real GAN resembles is for pretrained StyleGAN2 models, not geometry, to answer (the author,
# replying to a reader, also links hub filtering to truncation tricks).
#
# ### 4.5 The density centre, not the mean
#
# The article notes that hubs gather near the *density* centre, not the mean. Two clusters
# (centres $\pm10e_1$, $d=50$) put the mean in an empty gap; over eight clouds of 2000 points the
# hub value follows the distance to the own cluster centre far more closely: rank correlation
# {glue:text}`spearman-own:.2f`, against {glue:text}`spearman-global:.2f` for the global mean.

# %%
own, glob = [], []
for _ in range(8):
    centres = np.where(rng.integers(0, 2, N)[:, None] == 1, 1.0, -1.0) * np.eye(50)[0] * 10
    Xc = rng.standard_normal((N, 50)) + centres
    cnt = k_occurrence(Xc, K)
    own.append(spearman(cnt, -np.linalg.norm(Xc - centres, axis=1)))
    glob.append(spearman(cnt, -np.linalg.norm(Xc - Xc.mean(0), axis=1)))
pt = paired_t(np.array(own), np.array(glob))
ch.claim("density-centre-beats-mean-t", pt["t"], at_least=4.0,
         why="paired t over 8 clouds: with no difference, P(t_7 > 4) ~ 3e-3",
         statement="hub value tracks the distance to the cluster centre better than to the global mean")
ch.measured("spearman-own", np.mean(own), why="descriptive: mean over 8 clouds")
_ = ch.measured("spearman-global", np.mean(glob), why="descriptive: mean over 8 clouds")

# %% [markdown]
# ## 5. Where the article is imprecise, and the numbers it prints
#
# The text keeps latents whose hub value is **at least** $t$, the reference code those
# **strictly above** $t$ (`hub > t`). They differ on latents counted exactly $t$ times, which the
# batch of Section 4.3 has {glue:text}`ties-at-t:d` of. `hub_filter` follows the code.
# We listed every numeral of the article's text and code. Its two figures (the ball-to-cube curve,
# generated images) carry no values and it quotes no image-quality scores; the paper's FID and
# precision/recall tables need pretrained StyleGAN2 models, out of this book's scope.

# %%
ch.claim("ties-at-t", int((c0 >= 50).sum() - (c0 > 50).sum()), at_least=1,
         why="exact integer count; P(N_5 = 50) ~ 1e-3 per latent gives several per batch of 10^4",
         statement="'>= t' and '> t' keep different sets in the article's setting",
         erratum="the text keeps hub values >= t while the code keeps hub > t (§提升采样 / sampling)")
for printed in ("80%", "20%"):
    ch.source_number(printed, where="§Hubness现象: the 80/20 wealth analogy", fate="reproduced",
                     claim="top20-share-512")
SETTING = "a setting of the reference code, not a result; used as given in §4.3-4.4"
for printed, what in [("10000", "latents per round"), ("1000", "query block size"),
                      ("10", "number of blocks"), ("5", "k, neighbours per list"),
                      ("50", "threshold t")]:
    ch.source_number(printed, where=f"§提升采样 code: {what}", fate="out of scope", reason=SETTING)

# %% [markdown]
# ## Claims

# %%
ch.table()
