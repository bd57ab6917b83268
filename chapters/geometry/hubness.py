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
# Scatter $N$ random points in $\mathbb R^d$, let each one name its $k$ nearest neighbours, and
# count how often each point is named. The counts always average exactly $k$, but in high
# dimension they are wildly unequal: a few *hubs* are named hundreds of times and a large share
# of the points is never named at all. The article {cite}`9147-su-hubness` traces this to the
# collapse of the unit ball inside its cube and describes the use Liang et al.
# {cite}`9147-liang-hubness-gan` make of it: keep only the GAN latents with large counts. We derive
# the collapse, then go one step further than the article: for Gaussian points the expected count
# of a point is an explicit function of its norm, steeply decreasing, which we check to eleven
# digits. The hubs are therefore the latents closest to the centre, and the hub filter is a norm
# truncation estimated from samples. Whether it improves a generator depends on where that
# generator's bad samples lie; a toy generator with known defects shows both outcomes.
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
#    $\|x_i\|=\rho$ is the expectation below, with $B_{m,n}(p)$ the binomial CDF at $m$ and
#    $F_{d,\lambda}$ the CDF of the non-central $\chi^2_d(\lambda)$ law. For large $d$, writing
#    $\|x_i\|^2=d+\sqrt{2d}\,s$, it is close to $(N-1)\,\Phi\bigl(-\sqrt{3/2}\,z-s/\sqrt2\bigr)$
#    with $z=\Phi^{-1}\bigl(1-k/(N-1)\bigr)$.
#
# $$
# \begin{aligned}
# \mathbb E\bigl[N_k(x_i)\mid \|x_i\|=\rho\bigr] &= (N-1)\,\mathbb E_{y}\bigl[B_{k-1,N-2}(q)\bigr],\\
# q &= F_{d,\|y\|^2}\bigl(\|x_i-y\|^2\bigr).
# \end{aligned}
# $$
# :::
#
# The standard reference on hubness is Radovanović et al. {cite}`9147-radovanovic-hubs`; part 3
# is our own derivation, in the spirit of their argument that points closer to the data mean are
# closer to everybody.

# %% tags=["hide-input"]
import math
from functools import partial

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
from scipy import optimize, stats
from scipy.spatial.distance import cdist
from scipy.special import roots_hermitenorm, roots_legendre

from lib.book import Chapter, show_table
from lib.geometry import (
    ball_to_cube_ratio,
    expected_k_occurrence,
    hub_filter,
    k_occurrence,
    probit_hub_limit,
    skewness,
    top_share,
)
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
# $V_{n+2}=V_n\int_{\text{disc}}(1-r^2)^{n/2}\,dA=\frac{2\pi}{n+2}V_n$, hence
# $r_{n+2}/r_n=\pi/(2(n+2))$: every two dimensions the share is multiplied by a factor that itself
# goes to zero, which is faster than any geometric decay. $r_n$ drops below double precision's
# smallest number near $n\approx1100$, so the library evaluates the logarithm with `gammaln`:
#
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: ball_to_cube_ratio
# ```
#
# SymPy confirms the closed forms and the recurrence; the float64 values agree with 30-digit
# SymPy values for $n\le60$ and with `mpmath` in log space at $n=10^5$.

# %%
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
         why="sum of three O(1e5) terms, a few ulp each", statement="log r_n is finite and exact at n = 10^5")

# %% [markdown]
# Two readings of the collapse. First, rejection sampling from the ball through the cube accepts
# a fraction $r_n$ of the proposals: $10^6$ uniform points of $[-1,1]^{10}$ give the acceptance rates
# of every $n\le10$ at once (the first $n$ coordinates). Second, a uniform point of the ball has
# $P(\|x\|\le\varrho)=\varrho^n$, so nearly all the volume sits in a thin outer shell.

# %%
M = 10**6
accepted = np.zeros(10)
radii10 = []
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

# %% [markdown]
# Only {glue:text}`inner-ball-share-n10:.3f` of the 10-ball's volume lies within radius 0.9.

# %% mystnb={"figure": {"caption": "Left: the ball's share of its cube, Eq. {eq}`eq-hubness-ratio` (line), and the acceptance rate of rejection sampling from 10^6 cube points (dots; error bars of 4 standard errors are smaller than the dots). Right: the share of the ball's volume within radius $\\varrho$ is $\\varrho^n$; in high dimension it all sits near the surface.", "name": "fig-hubness-ball"}}
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
nn = np.arange(1, 101)
a1.semilogy(nn, ball_to_cube_ratio(nn), label=r"$V_n/2^n$")
a1.errorbar(np.arange(1, 11), accepted / M, yerr=4 * proportion_se(p_n, M), fmt="o", ms=4,
            label="rejection sampling")
a1.set_xlabel("dimension $n$")
a1.set_ylabel("share of the cube")
a1.legend()
rho_grid = np.linspace(0, 1, 200)
for dim in (2, 10, 100):
    a2.plot(rho_grid, rho_grid**dim, label=f"$n={dim}$")
a2.set_xlabel(r"radius $\varrho$")
a2.set_ylabel(r"volume share within $\varrho$")
a2.legend()
plt.show()

# %% [markdown]
# ## 2. Hub values and the counting identity
#
# Call $\mathrm{kNN}(x_j)$ the $k$ points nearest to $x_j$ other than $x_j$ itself. The hub value of
# $x_i$ is the number of lists it appears in:
#
# $$
# N_k(x_i) = \#\{\,j\ne i:\ x_i\in\mathrm{kNN}(x_j)\,\}.
# $$ (eq-hubness-nk)
#
# Every list has exactly $k$ entries, so adding the counts over all points counts every list
# entry once:
#
# $$
# \sum_{i=1}^N N_k(x_i) = Nk, \qquad \frac1N\sum_i N_k(x_i) = k .
# $$ (eq-hubness-sum)
#
# The library computes squared distances as $\|a\|^2+\|b\|^2-2a\cdot b$, one block of query rows at a
# time so that no $N\times N$ matrix is ever held, and picks the $k$ smallest per row with
# a partial selection (`torch.topk`) instead of a full sort:
#
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: k_occurrence
# ```
#
# An independent route is the article's own recipe: all pairwise distances by SciPy, a full sort
# of each row, the first entry (the point itself) dropped. On 1500 points in 512 dimensions the
# two agree count for count.

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
# so $\bar x$ minimises the total squared distance, and a point near $\bar x$ is close to many
# points at once. The identity holds coordinate by coordinate; SymPy checks one coordinate.

# %%
xs, cc = sp.symbols("x1:6", real=True), sp.symbols("c", real=True)
xbar = sum(xs) / 5
gap = sum((x - cc) ** 2 for x in xs) - sum((x - xbar) ** 2 for x in xs) - 5 * (cc - xbar) ** 2
ch.claim("mean-decomposition-sympy", sp.expand(gap) == 0, equals=True, why="exact symbolic",
         statement="Eq. (eq-hubness-mean) for five points (one coordinate)")

# %% [markdown]
# **Step 2: for Gaussian data, distance grows with norm.** For $Y\sim\mathcal N(0,I_d)$ and a fixed
# $x$, $\mathbb E\|x-Y\|^2=\|x\|^2+d$: the squared norm of a point is its whole disadvantage. The
# norm, however, is concentrated: $\|x\|^2\sim\chi^2_d$ has mean $d$ and standard deviation
# $\sqrt{2d}$, and a ball of radius well below $\sqrt d$ around the centre holds a vanishing share
# of the points, the probabilistic twin of Section 1.

# %%
x50 = np.zeros(50)
x50[0] = 5.0
sq = ((x50 - rng.standard_normal((100_000, 50))) ** 2).sum(axis=1)
m_sq, se_sq = mean_se(sq)
ch.claim("mean-sq-distance-z", (m_sq - (25 + 50)) / se_sq, between=(-4.0, 4.0),
         why="4 Monte Carlo standard errors", statement="E|x - Y|^2 = |x|^2 + d (d = 50, |x| = 5)")


# %% [markdown]
# **Step 3: the exact conditional mean.** Fix $x=x_i$ with $\|x\|=\rho$ and take one other point
# $y$ as the query. Given $y$, the remaining $N-2$ points are independent $\mathcal N(0,I_d)$, and
# each is closer to $y$ than $x$ is with probability $F_{d,\|y\|^2}(\|x-y\|^2)$, because
# $\|X-y\|^2\sim\chi^2_d(\|y\|^2)$ for $X\sim\mathcal N(0,I_d)$. The point $x$ is on $y$'s list exactly
# when at most $k-1$ of them are closer, so
# $P(x\in\mathrm{kNN}(y)\mid x,y)=B_{k-1,N-2}\bigl(F_{d,\|y\|^2}(\|x-y\|^2)\bigr)$. Summing over the
# $N-1$ possible queries and averaging over $y$:
#
# $$
# \mathbb E\bigl[N_k(x)\mid\|x\|=\rho\bigr] = (N-1)\,\mathbb E_y\Bigl[B_{k-1,N-2}\bigl(F_{d,\|y\|^2}(\|x-y\|^2)\bigr)\Bigr] .
# $$ (eq-hubness-exact)
#
# By rotation invariance only $y_1=y\cdot x/\rho\sim\mathcal N(0,1)$ and $S=\|y\|^2-y_1^2\sim\chi^2_{d-1}$
# matter: $\|x-y\|^2=(\rho-y_1)^2+S$ and $\|y\|^2=y_1^2+S$. The library does this two-dimensional
# integral by quadrature: the trapezoid rule in $y_1$, and Gauss–Hermite nodes in $S$ after mapping
# $S$ to a standard normal variable through its CDF.
#
# :::{admonition} Full code: expected_k_occurrence
# :class: dropdown
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: expected_k_occurrence
# ```
# :::
#
# Nothing in Eq. {eq}`eq-hubness-exact` forces its average over $\|x\|\sim\chi_d$ to be $k$; only
# the counting identity {eq}`eq-hubness-sum` does. That makes the average a sharp test of the
# formula. For the article's setting ($d=512$, $N=10^4$, $k=5$) and for $d=50$, $N=2000$, $k=10$ it
# returns $k$ to quadrature precision; the same integral with an off-by-one (the point competing
# against $N-1$ others instead of $N-2$) misses by far more.

# %%
def chi_average(f, d, nodes=64):
    """E[f(|x|)] for |x| ~ chi_d by Gauss-Legendre on sqrt(d) +- 7 (~10 standard deviations)."""
    u, w = roots_legendre(nodes)
    lo, hi = max(0.0, math.sqrt(d) - 7), math.sqrt(d) + 7
    r = (u + 1) / 2 * (hi - lo) + lo
    return float((f(r) * w * (hi - lo) / 2 * stats.chi2.pdf(r * r, d) * 2 * r).sum())


for d, N, k in [(512, 10_000, 5), (50, 2000, 10)]:
    avg = chi_average(partial(expected_k_occurrence, d=d, n_points=N, k=k), d)
    avg2 = chi_average(partial(expected_k_occurrence, d=d, n_points=N, k=k, n_y=321, n_s=48), d, 128)
    ch.measured(f"quad-change-d{d}", abs(avg2 - avg) / k, why="descriptive: effect of doubling all nodes")
    ch.claim(f"exact-formula-averages-to-k-d{d}", avg, equals=k, rtol=1e-10,
             why="quadrature error: doubling all nodes moves the value by ~1e-11 relative or less",
             statement=f"Eq. (eq-hubness-exact) averaged over |x| ~ chi_d gives k = {k} (d = {d}, N = {N})")
off = chi_average(lambda r: expected_k_occurrence(r, 512, 10_001, 5) * 9_999 / 10_000, 512)
ch.claim("off-by-one-control", abs(off / 5 - 1), at_least=1e-6,
         why="negative control: must miss by far more than the 1e-10 tolerance above",
         statement="with N-1 competitors instead of N-2 the average is not k")

# %% [markdown]
# Doubling every quadrature node changes the average by {glue:text}`quad-change-d512:.1e` of $k$
# ($d=512$); the off-by-one version misses by {glue:text}`off-by-one-control:.1e`.
#
# **Step 4: the large-$d$ limit.** Write $\|x_j\|^2=d+\sqrt{2d}\,s_j$ and $g_{ij}=x_i\cdot x_j/\sqrt d$.
# For fixed $N$ and $d\to\infty$, the $s_j$ and the $g_{ij}$ become independent standard normals.
# Query $j$ ranks the others by $\|x_i\|^2-2x_i\cdot x_j$ (its own norm is common to the row), that
# is by $\sqrt2\,s_i-2g_{ij}$, a $\mathcal N(0,6)$ variable. Replacing the $k$-th smallest of those
# $N-1$ values by the $k/(N-1)$ quantile $-\sqrt6\,z$ gives $x_i\in\mathrm{kNN}(x_j)$ iff
# $g_{ij}>(\sqrt2\,s_i+\sqrt6\,z)/2$, so
#
# $$
# \mathbb E[N_k\mid s] \approx (N-1)\,\Phi\Bigl(-\sqrt{\tfrac32}\,z-\tfrac{s}{\sqrt2}\Bigr),
# $$ (eq-hubness-probit)
#
# where $z=\Phi^{-1}\bigl(1-k/(N-1)\bigr)$.
#
# The hub value is a probit function of the standardised norm: lowering $s$ by one standard
# deviation raises it by a large factor, which is the hubness. With the Gaussian identity
# $\mathbb E\,\Phi(a+bG)=\Phi\bigl(a/\sqrt{1+b^2}\bigr)$ (here $a=-\sqrt{3/2}\,z$, $b=1/\sqrt2$)
# the average over $s\sim\mathcal N(0,1)$ is $(N-1)\Phi(-z)=k$ exactly, so the approximation keeps the
# counting identity. Because no $d$ is left in Eq. {eq}`eq-hubness-probit`, the inequality of hub
# values approaches a ceiling set by $N$ and $k$ as $d$ grows; Section 4.1 shows the skewness
# levelling off.

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
# At $d=512$ the limit law is within a factor between {glue:text}`probit-over-exact-min:.2f` and
# {glue:text}`probit-over-exact-max:.2f` of the exact formula for $s\in\{-2,-1,0\}$: the shape is
# right, the finite-$d$ corrections (skewness of $\chi^2_d$, fluctuations of the $k$-th distance)
# are visible.
#
# ## 4. Experiments
#
# ### 4.1 Hubness grows with dimension, then levels off
#
# For each $d\in\{2,5,10,20,50,100,200,500\}$ we draw ten clouds of $N=2000$ standard normal points
# and compute $N_{10}$: its skewness (the usual hubness score), the share of all counts held by
# the top 20% of points (the article's "80/20" image), the share of points nobody names, and the
# Spearman correlation between $N_{10}$ and $-\|x\|$.

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
show_table(["d", "skewness", "top-20% share", "share never named", "Spearman(N_k, -|x|)"],
           [[d] + [f"{ms[nm][d][0]:{f}} ± {ms[nm][d][1]:{f}}"
                   for nm, f in (("skew", ".2f"), ("top20", ".4f"), ("zero", ".4f"), ("rho", ".3f"))]
            for d in dims])

# %%
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


def step_z(name, grid):
    return min((ms[name][b][0] - ms[name][a][0]) / math.hypot(ms[name][a][1], ms[name][b][1])
               for a, b in zip(grid[:-1], grid[1:], strict=True))


ch.claim("top20-increases-z", step_z("top20", dims[1:]), at_least=3.0,
         why="each step at least 3 standard errors (one-sided P ~ 1e-3)",
         statement="the top-20% share increases at every step from d = 5 to 500")
ch.claim("spearman-norm-min", min(stat["rho"][d].min() for d in dims[2:]), at_least=0.8,
         why="worst single cloud; the rank correlation is a property of every cloud",
         statement="for d >= 10 the hub value is a decreasing function of the norm (Spearman > 0.8)")
d_skew = ms["skew"][500][0] - ms["skew"][200][0]
ch.measured("skew-200-to-500", d_skew, why="descriptive: change of mean skewness from d = 200 to 500")
_ = ch.measured("skew-200-to-500-se", math.hypot(ms["skew"][200][1], ms["skew"][500][1]),
                why="descriptive: its standard error")

# %% [markdown]
# From $d=200$ to $d=500$ the skewness changes by only {glue:text}`skew-200-to-500:.2f`
# ± {glue:text}`skew-200-to-500-se:.2f`, in line with the $d$-free limit {eq}`eq-hubness-probit`,
# while the top-20% share still creeps up. Hubness is also a matter of **intrinsic** dimension:
# the same 2-D cloud rotated into $\mathbb R^{200}$ keeps exactly its 2-D counts.

# %%
X2 = rng.standard_normal((N, 2))
Q, _ = np.linalg.qr(rng.standard_normal((200, 2)))
same = int((k_occurrence(X2, K) != k_occurrence(X2 @ Q.T, K)).sum())
ch.claim("intrinsic-dimension-control", same, equals=0,
         why="exact: an isometry keeps all distances; rounding (~1e-15 relative) could only swap "
         "neighbours tied to that precision", statement="a 2-D cloud embedded in R^200 has its 2-D hub values")

# %% [markdown]
# ### 4.2 The exact formula against simulation
#
# We bin the points of the ten clouds by norm (bins at the 1%, 5%, 20% and 50% quantiles of
# $\chi_d$) and compare, cloud by cloud, the mean hub value in each bin with the mean of
# Eq. {eq}`eq-hubness-exact` over the same points. The differences, averaged over the clouds, are
# within a few standard errors of zero in every bin.

# %%
qs = [0.0, 0.01, 0.05, 0.2, 0.5, 1.0]
zs, rel_top, pooled = [], {}, {}
for d in (10, 50, 500):
    allr = np.concatenate([r for _, r in runs[d]])
    grid = np.linspace(allr.min(), allr.max(), 60)
    log_e = np.log(expected_k_occurrence(grid, d, N, K))
    edges = np.sqrt(stats.chi2.ppf(qs, d))
    diffs, preds = [], []
    for cnt, r in runs[d]:
        pred, b = np.exp(np.interp(r, grid, log_e)), np.digitize(r, edges[1:-1])
        diffs.append([(cnt[b == i] - pred[b == i]).mean() for i in range(len(qs) - 1)])
        preds.append(pred[b == 0].mean())
    m, se = mean_se(np.array(diffs), dim=0)
    zs.extend(m / se)
    rel_top[d] = m[0] / np.mean(preds)
    pooled[d] = (allr, np.concatenate([cnt for cnt, _ in runs[d]]), grid, log_e)
ch.claim("exact-formula-bins-z", np.abs(zs).max(), at_most=5.0,
         why="5 standard errors over 10 clouds: t with 9 dof exceeds 5 with P ~ 7e-4, ~1% for 15 bins",
         statement="Eq. (eq-hubness-exact) predicts the mean hub value in every norm bin (d = 10, 50, 500)")
_ = ch.measured("exact-formula-hub-bin-rel-d500", rel_top[500],
                why="descriptive: relative error in the 1% smallest-norm bin, d = 500")

# %% [markdown]
# In the bin of the 1% smallest norms at $d=500$, where the hubs live, the relative error is
# {glue:text}`exact-formula-hub-bin-rel-d500:.3f`.

# %% mystnb={"figure": {"caption": "Top left: histograms of the hub value $N_{10}$ for one cloud of 2000 Gaussian points per dimension. Top right: skewness of $N_{10}$ for each of 10 clouds (dots) and their median. Bottom left: share of all counts held by the top 20% of points, and share of points never named (means with 2 standard errors). Bottom right: mean $N_{10}$ in 20 norm bins of the pooled clouds (dots) against Eq. {eq}`eq-hubness-exact` (lines), as a function of the standardised squared norm $s$.", "name": "fig-hubness-dimension"}}
fig, ((a1, a2), (a3, a4)) = plt.subplots(2, 2, figsize=(9, 6.6))
for d in (2, 10, 50, 200):
    cnt = runs[d][0][0]
    a1.hist(cnt, bins=np.arange(0, cnt.max() + 5, 5), histtype="step", label=f"$d={d}$")
a1.set(yscale="log", xlabel="$N_{10}$", ylabel="points")
jitter = np.random.default_rng(0)  # horizontal jitter of the dots only
for d in dims:
    a2.plot(np.full(SEEDS, d) * np.exp(jitter.uniform(-0.08, 0.08, SEEDS)), stat["skew"][d], ".",
            color="C0", alpha=0.5)
a2.plot(dims, [np.median(stat["skew"][d]) for d in dims], "-", color="C0", label="median of 10 clouds")
a2.set(xscale="log", xlabel="dimension $d$", ylabel="skewness of $N_{10}$")
for nm, lab in (("top20", "top-20% share"), ("zero", "never named")):
    a3.errorbar(dims, [ms[nm][d][0] for d in dims], yerr=[2 * ms[nm][d][1] for d in dims],
                fmt="o-", ms=4, label=lab)
a3.axhline(0.8, color="grey", ls=":", lw=1)
a3.set(xscale="log", xlabel="dimension $d$", ylabel="share")
for j, (d, (r, cnt, grid, log_e)) in enumerate(pooled.items()):
    sd, sg = (r**2 - d) / math.sqrt(2 * d), (grid**2 - d) / math.sqrt(2 * d)
    b = np.digitize(sd, np.quantile(sd, np.linspace(0, 1, 21)[1:-1]))
    a4.plot([sd[b == i].mean() for i in range(20)], [cnt[b == i].mean() for i in range(20)], "o",
            ms=4, color=f"C{j}", label=f"$d={d}$")
    a4.plot(sg, np.exp(log_e), "-", color=f"C{j}", lw=1)
a4.set(yscale="log", xlim=(-3.5, 3.5), ylim=(0.05, 400), xlabel="standardised squared norm $s$",
       ylabel="mean $N_{10}$")
for ax in (a1, a2, a3, a4):
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 4.3 The article's setting: $d=512$, $N=10^4$, $k=5$, $t=50$
#
# The article's sampler draws $10^4$ latents of a 512-dimensional generator, counts 5-occurrences
# in blocks of 1000 query points and keeps the latents counted more than 50 times. One such batch:

# %%
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

# %% [markdown]
# {glue:text}`hub-count:d` latents ({glue:text}`hub-fraction:.2%`) pass the filter; the largest
# count is {glue:text}`max-count:d`, the skewness {glue:text}`skew-512:.1f`, and
# {glue:text}`never-named-512:.0%` of the latents are on nobody's list. The hubs' mean norm is
# {glue:text}`norm-mean-hubs:.2f` against {glue:text}`norm-mean-all:.2f` for the batch, and the top
# 20% of the latents hold {glue:text}`top20-share-512:.0%` of all counts: the article's "80% of the
# wealth in 20% of the hands" is, in its own setting, an understatement. Where the filter's
# threshold falls follows from the formulas: Eq. {eq}`eq-hubness-exact` reaches 50 at a norm
# $\rho_{50}$, and the share of latents below it is $P(\chi^2_{512}\le\rho_{50}^2)$; the probit limit
# gives $\Phi(s_{50})$ in the same way.

# %%
rho50 = optimize.brentq(lambda r: float(expected_k_occurrence(r, 512, 10_000, 5)) - 50, 18, 24)
s50 = optimize.brentq(lambda s: float(probit_hub_limit(s, 10_000, 5)) - 50, -6, 0)
ch.measured("rho50", rho50, why="descriptive: norm where Eq. (eq-hubness-exact) equals t = 50")
ch.measured("fraction-below-rho50", stats.chi2.cdf(rho50**2, 512),
            why="descriptive: ignores the spread of N_5 at a given norm")
_ = ch.measured("fraction-probit", stats.norm.cdf(s50), why="descriptive: probit-limit analogue")

# %% [markdown]
# The exact formula puts the threshold at $\rho_{50}=${glue:text}`rho50:.2f`, with
# {glue:text}`fraction-below-rho50:.2%` of latents below it; the probit limit says
# {glue:text}`fraction-probit:.2%`. Both are near the measured {glue:text}`hub-fraction:.2%`
# (neither is exact: at a given norm the count still scatters around its mean).

# %% mystnb={"figure": {"caption": "Hub value $N_5$ (plus one, log scale) against the norm for one batch of $10^4$ latents in 512 dimensions. Solid: Eq. {eq}`eq-hubness-exact`; dashed: the probit limit, Eq. {eq}`eq-hubness-probit`. Latents above the dotted line $t=50$ are kept by the hub filter; they are the ones with the smallest norms.", "name": "fig-hubness-norm"}}
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(rho0[~hubs0], c0[~hubs0] + 1, s=3, alpha=0.3, label="latents")
ax.scatter(rho0[hubs0], c0[hubs0] + 1, s=6, color="C1", label="kept: $N_5 > 50$")
rg = np.linspace(rho0.min(), rho0.max(), 80)
ax.plot(rg, expected_k_occurrence(rg, 512, 10_000, 5) + 1, "k-", label="Eq. (exact)")
ax.plot(rg, probit_hub_limit((rg**2 - 512) / 32, 10_000, 5) + 1, "k--", label="probit limit")
ax.axhline(51, color="grey", ls=":")
ax.set_yscale("log")
ax.set_xlabel(r"$\|z\|$")
ax.set_ylabel("$N_5 + 1$")
ax.legend()
plt.show()

# %% [markdown]
# ### 4.4 The hub filter on a generator whose bad samples are known
#
# The paper's premise is that a generator is better trained where latents are dense, so hubs give
# better images. A toy makes the premise explicit. Take the 512-dimensional Gaussian latent and
# declare a set of latents where the generator fails, each set holding 20% of the latent mass:
#
# * **tail defects**: the generator fails on the 20% of latents with the largest norms (the
#   paper's picture: rarely seen, poorly trained);
# * **shell defects**: it fails outside the central 80% of norms (10% on each side), i.e. it has
#   learned only the typical shell where most training latents lie.
#
# We run `hub_filter` with the article's settings on fresh batches, and compare with no filter and
# with a plain norm truncation that keeps the same fraction of latents.
#
# ```{literalinclude} /lib/geometry/hubness.py
# :pyobject: hub_filter
# ```

# %%
q_tail = stats.chi2.ppf(0.8, 512)
q_lo, q_hi = stats.chi2.ppf([0.1, 0.9], 512)
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

# %%
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
# The hub filter is, to {glue:text}`hubs-are-norm-truncation:.0%` overlap, the norm truncation that
# keeps the same number of latents, and its effect on sample quality is the truncation's: the
# share of bad samples falls from 20% to {glue:text}`hub-filter-bad-tail:.1%` with tail defects
# and rises to {glue:text}`hub-filter-bad-shell:.1%` with shell defects. Which case a real GAN resembles
# is an empirical question that the paper answers with pretrained StyleGAN2 models; the geometry
# alone cannot. (The author's reply to a reader's comment makes the same point: hub filtering and
# truncation tricks share one idea.)
#
# ### 4.5 The density centre, not the mean
#
# The article notes that the mean is only the simplest picture and that hubs gather near the
# *density* centre. Two well separated clusters (centres $\pm10e_1$ in $d=50$) test it: the global
# mean lies in the empty gap between them. Over eight clouds of 2000 points, the hub value follows
# the distance to the point's own cluster centre far more closely than the distance to the mean.

# %%
own, glob = [], []
for _ in range(8):
    lab = rng.integers(0, 2, N)
    centres = np.where(lab[:, None] == 1, 1.0, -1.0) * np.eye(50)[0] * 10
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
# The rank correlation with the own-centre distance is {glue:text}`spearman-own:.2f`, with the
# distance to the global mean {glue:text}`spearman-global:.2f`.
#
# ## 5. Where the article is imprecise
#
# The text describes the filter as keeping latents whose hub value is **at least** $t$, while its
# reference code keeps those **strictly above** $t$ (`hub > t`). The two rules differ on the
# latents counted exactly $t$ times, and with $t=50$ such latents are not rare: the batch of
# Section 4.3 has {glue:text}`ties-at-t:d` of them. `hub_filter` follows the code.

# %%
ch.claim("ties-at-t", int((c0 >= 50).sum() - (c0 > 50).sum()), at_least=1,
         why="exact integer count; P(N_5 = 50) ~ 1e-3 per latent gives several per batch of 10^4",
         statement="'>= t' and '> t' keep different sets in the article's setting",
         erratum="the text keeps hub values >= t while the code keeps hub > t (§提升采样 / sampling)")

# %% [markdown]
# ## 6. The numbers the article prints
#
# We listed every numeral of the article's text and code. Its two figures (the ball-to-cube curve
# and a side-by-side comparison of generated images) carry no printed values, and it quotes no image-quality scores;
# the paper's FID and precision/recall tables would need pretrained StyleGAN2 models and image
# data sets, which are out of this book's scope.

# %%
ch.source_number("80%", where="§Hubness现象: the 80/20 wealth analogy",
                 fate="reproduced", claim="top20-share-512")
ch.source_number("20%", where="§Hubness现象: the 80/20 wealth analogy", fate="reproduced",
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
