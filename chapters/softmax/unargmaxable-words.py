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
#     date: '2022-04-20'
#     id: 9046
#     paper: Grivas, Bogoychev and Lopez (2022), Low-Rank Softmax Can Have Unargmaxable
#       Classes in Theory but Rarely in Practice
#     paper_url: https://arxiv.org/abs/2203.06462
#     title: Does Your Language Model Have "Unpredictable Words"?
#     title_zh: "\u4F60\u7684\u8BED\u8A00\u6A21\u578B\u6709\u6CA1\u6709\u201C\u65E0\u6CD5\
#       \u9884\u6D4B\u7684\u8BCD\u201D\uFF1F"
#     url: https://kexue.fm/archives/9046
# ---

# %% [markdown]
# (ch-unargmaxable-words)=
# # Unargmaxable words
#
# A softmax classifier scores class $i$ as $w_i\cdot z+b_i$ and predicts the largest score. Can
# a class be *unargmaxable* — never the strict maximum, whatever the input $z$? Yes: without
# biases, exactly when its vector lies in the convex hull of the other class vectors; for class
# vectors in general position that needs at least $d+2$ classes in $d$ dimensions (three
# collinear vectors already do it in the plane). An exact test is a small linear programme;
# the article's own test, a minimum-norm point found by Frank–Wolfe, is exact without biases
# but ignores them, and the bias can flip the verdict. Without biases, distinct classes of equal
# norm are always argmaxable, and for random class vectors the unargmaxable fraction collapses as the
# dimension grows: 40 000 random classes in 200 dimensions are, as far as we can sample, all
# argmaxable.
#
# :::{prf:theorem} Argmaxable classes
# :label: thm-unargmaxable-words
# Let $w_1,\dots,w_n\in\mathbb R^d$ and $b\in\mathbb R^n$. Class $k$ is *argmaxable* if some
# $z\in\mathbb R^d$ has $w_k\cdot z+b_k>w_i\cdot z+b_i$ for all $i\ne k$.
#
# 1. Class $k$ is argmaxable if and only if the linear programme
#    $t^\star=\max\{t:(w_k-w_i)\cdot z+(b_k-b_i)u\ge t\ (i\ne k),\ u\ge t,\ |z_j|\le1,\ u\le1\}$
#    has $t^\star>0$.
# 2. It is unargmaxable if and only if some convex combination of the *other* classes matches
#    it: $\sum_{i\ne k}\alpha_iw_i=w_k$ with $\sum_{i\ne k}\alpha_ib_i\ge b_k$.
#    Without biases: iff $w_k\in\mathrm{conv}\{w_i\}_{i\ne k}$, iff
#    $\min_{\alpha}\|\sum_{i\ne k}\alpha_i(w_k-w_i)\|=0$.
# 3. If the $w_i$ are distinct and of equal norm and there are no biases, every class is
#    argmaxable.
# 4. Without biases and with the $w_i$ in general position, $n\le d+1$ classes are all
#    argmaxable, while $n=d+2$ can have an unargmaxable class.
# :::
#
# The question, the example below and the min-norm test are the article's
# {cite}`su2022unargmaxable9046`, which discusses the paper of Grivas, Bogoychev and Lopez
# {cite}`grivas2022unargmaxable9046`. Everything is float64.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.spatial import ConvexHull

from lib.book import Chapter
from lib.softmax import argmax_margins, argmaxable, min_norm_in_hull
from lib.stats import mean_se

ch = Chapter("unargmaxable-words", seed=9046)
f64 = torch.float64
gen = torch.Generator().manual_seed(9046)

# %% [markdown]
# ## 1. An unargmaxable class in the plane
#
# Class $k$ is argmaxable when some input makes it the strict winner,
#
# $$
# \exists z\in\mathbb R^d:\qquad w_k\cdot z+b_k > w_i\cdot z+b_i\quad\text{for all } i\ne k,
# $$ (eq-unargmaxable-words-def)
#
# and unargmaxable otherwise: for every input some other class ties with it or beats it. Ties
# must not count — without biases every class ties at $z=0$. The article's example has five classes in $d=2$, no biases: four vectors around
# $w_5=(1,1)$, offset from it by the four unit axis vectors,
#
# $$
# w_1=(1,2),\quad w_2=(2,1),\quad w_3=(1,0),\quad w_4=(0,1),\quad w_5=(1,1).
# $$ (eq-unargmaxable-words-example)
#
# For any $z$, the differences $w_i-w_5\in\{(0,1),(1,0),(0,-1),(-1,0)\}$ cannot all have a
# negative inner product with $z$ (two of them are opposite), so some class always ties with or
# beats class 5. Geometrically, $w_5$ is the centre of the square spanned by the others. Random
# inputs agree: among $10^5$ Gaussian $z$, each of classes 1–4 wins strictly, class 5 never.

# %%
W5 = torch.tensor([[1, 2], [2, 1], [1, 0], [0, 1], [1, 1]], dtype=f64)
z = torch.randn(100_000, 2, generator=gen, dtype=f64)
scores = z @ W5.T
top2 = scores.topk(2, dim=1)
strict_winner = top2.indices[top2.values[:, 0] > top2.values[:, 1], 0]
wins = torch.bincount(strict_winner, minlength=5)
ch.claim("example-sampled-class5-never-wins", int(wins[4]), equals=0,
         why="exact integer count", statement="class 5 never wins strictly on 1e5 random inputs")
ch.claim("example-sampled-others-win", int(wins[:4].min()), at_least=1,
         why="exact integer count", statement="each of classes 1-4 wins on some random input")
axes4 = torch.tensor([[0, 1], [1, 0], [0, -1], [-1, 0]], dtype=f64)
ch.claim("example-offsets", bool(torch.equal(W5[:4] - W5[4], axes4)), equals=True, why="exact integers",
         statement="w_1..w_4 are w_5 = (1, 1) plus (0, 1), (1, 0), (0, -1), (-1, 0)")
for i, printed in enumerate(["(1, 2)", "(2, 1)", "(1, 0)", "(0, 1)"]):
    ch.source_number(printed, where=f"§Does it exist: the example, w_{i + 1}", fate="reproduced",
                     claim="example-offsets")
# the angle between z and the nearest of the four offsets: cos >= max(|z_1|, |z_2|)/|z| >= 1/sqrt 2
cos_best = float(((z @ axes4.T).amax(1) / z.norm(dim=1)).min())
ch.claim("example-angle-below-90", cos_best, at_least=1 / math.sqrt(2), atol=1e-15,
         why="exact bound 1/sqrt 2 (attained on the diagonals); float64 rounding",
         statement="every sampled z is within 45 degrees (so < 90) of one of the four offsets")
ch.source_number("90", where="§Does it exist: every z makes an angle below 90 degrees with one offset",
                 fate="reproduced", claim="example-angle-below-90")

# %% mystnb={"figure": {"caption": "The article's example. Left: the five class vectors; $w_5$ (red) is inside the convex hull of the other four. Right: which class is the strict argmax of $Wz$ at each input $z$ \u2014 four sectors, one per class 1\u20134; class 5 owns no region (it only ties, on the boundaries).", "name": "fig-unargmaxable-words-example"}}
fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 4))
fig.subplots_adjust(wspace=0.35)
hull = ConvexHull(W5[:4].numpy())
for simplex in hull.simplices:
    ax.plot(*W5[:4][simplex].T.numpy(), "k-", lw=1)
ax.scatter(*W5[:4].T.numpy(), s=40, color="#0072B2")
ax.scatter(*W5[4].numpy(), s=60, color="#D55E00", zorder=3)
for i, (x, y) in enumerate(W5.tolist()):
    ax.annotate(f"$w_{i + 1}$", (x, y), textcoords="offset points", xytext=(6, 4))
ax.set_xlim(-0.4, 2.5)
ax.set_ylim(-0.4, 2.5)
ax.set_aspect("equal")
ax.set_xlabel("first coordinate")
ax.set_ylabel("second coordinate")
g1 = torch.linspace(-1, 1, 401, dtype=f64)
Z = torch.stack(torch.meshgrid(g1, g1, indexing="xy"), -1).reshape(-1, 2)
t2 = (Z @ W5.T).topk(2, dim=1)
win = torch.where(t2.values[:, 0] > t2.values[:, 1] + 1e-12, t2.indices[:, 0], -1)
bx.imshow(win.reshape(401, 401).numpy(), origin="lower", extent=(-1, 1, -1, 1),
          cmap="tab10", vmin=-1, vmax=8, interpolation="nearest")
for k, (x, y) in enumerate([(0.25, 0.75), (0.75, 0.25), (0.0, -0.7), (-0.7, 0.0)]):
    bx.text(x, y, f"class {k + 1}", ha="center", color="white", fontsize=10)
bx.set_xlabel("$z_1$")
bx.set_ylabel("$z_2$")
plt.show()

# %% [markdown]
# ## 2. The exact test: a linear programme
#
# Class $k$ is argmaxable iff the strict system $(w_k-w_i)\cdot z+(b_k-b_i)>0$ ($i\ne k$) has a
# solution. Strict inequalities are awkward for a solver, and the solution set is unbounded, so
# we homogenise: a solution $z$ gives $(z,u)=(z,1)$ with all margins positive, and conversely
# $(z,u)$ with $u>0$ gives the solution $z/u$. Scaling $(z,u)$ into a box then yields the
# bounded linear programme
#
# $$
# t^\star=\max_{z,u,t}\ t\quad\text{s.t.}\quad (w_k-w_i)\cdot z+(b_k-b_i)\,u\ge t\ \ (i\ne k),
# \quad u\ge t,\quad |z_j|\le1,\quad u\le1,
# $$ (eq-unargmaxable-words-lp)
#
# which is feasible ($z=0,u=0,t=0$) and bounded ($t\le1$); class $k$ is argmaxable iff
# $t^\star>0$. No bound on $\|z\|$ is assumed. The library solves one such LP per class with
# SciPy's HiGHS — all classes of a matrix at once, as independent blocks of one sparse LP, with
# constraints added only as they become active:
#
# ```{literalinclude} /lib/softmax/argmax.py
# :pyobject: argmax_margins
# ```
#
# :::{admonition} Code: `argmaxable` (lib/softmax/argmax.py, 49 lines)
# :class: dropdown
# ```{literalinclude} /lib/softmax/argmax.py
# :pyobject: argmaxable
# ```
# :::
#
# On the example, the LP gives class 5 the margin $t^\star=0$ exactly and classes 1–4 a clearly
# positive one:

# %%
m5 = argmax_margins(W5)
ch.claim("example-lp-class5", float(m5[4]), equals=0.0, atol=1e-9,
         why="HiGHS solution accuracy ~1e-9 (the exact optimum is 0: z = 0, u = 0)",
         statement="LP margin of class 5 is 0: unargmaxable")
ch.source_number("5", where="§Does it exist: class 5 of the example is unargmaxable", fate="reproduced",
                 claim="example-lp-class5")
ch.claim("example-lp-others", float(m5[:4].min()), at_least=0.1,
         why="exact optimum 1/2 after scaling W by max|w| = 2; solver error ~1e-9",
         statement="LP margins of classes 1-4 are positive: argmaxable")

# %% [markdown]
# An independent check of the LP against an exact formula. Place one class at the origin,
# $w_0=0$, among $m$ classes with i.i.d. Gaussian vectors in $\mathbb R^d$, no biases. Class 0
# is argmaxable iff $0\notin\mathrm{conv}\{w_i\}$, iff the $m$ points lie in an open half-space,
# and for any symmetric distribution Wendel's theorem {cite}`wendel1962problem9046` gives
# $P=2^{-(m-1)}\sum_{j=0}^{d-1}\binom{m-1}{j}$; for $d=3$, $m=6$ that is exactly $1/2$.

# %%
trials, m, dw = 300, 6, 3
Wt = torch.cat([torch.zeros(trials, 1, dw, dtype=f64),
                torch.randn(trials, m, dw, generator=gen, dtype=f64)], dim=1)
frac = float(argmaxable(Wt)[:, 0].double().mean())
p_wendel = sum(math.comb(m - 1, j) for j in range(dw)) / 2 ** (m - 1)
ch.claim("wendel", frac, equals=p_wendel, atol=4 * math.sqrt(p_wendel * (1 - p_wendel) / trials),
         why="4 binomial standard errors with 300 trials",
         statement="P(origin class argmaxable) matches Wendel's formula (d = 3, m = 6)")


# %% [markdown]
# The fraction is {glue:text}`wendel:.3f` against Wendel's $1/2$.
#
# ## 3. The article's test: a minimum-norm point
#
# The article reaches the same question from the other side. Write $\Delta w_i=w_k-w_i$,
# $\Delta b_i=b_k-b_i$ and restrict $\|z\|\le r$. A minimum over $i$ is a minimum over the
# probability simplex, and von Neumann's minimax theorem swaps the order:
#
# $$
# \max_{\|z\|\le r}\min_i\bigl(\Delta w_i\cdot z+\Delta b_i\bigr)
# =\min_{\alpha\in\Delta}\Bigl(r\,\Bigl\|\sum_i\alpha_i\Delta w_i\Bigr\|+\sum_i\alpha_i\Delta b_i\Bigr).
# $$ (eq-unargmaxable-words-minimax)
#
# The article then argues that for large $r$ the bias term is negligible, so the sign is decided
# by the **minimum norm** $\min_\alpha\|\sum_i\alpha_i\Delta w_i\|$ — the distance from $w_k$
# to the convex hull of the other classes — computed with the Frank–Wolfe algorithm:
#
# $$
# \text{class } k \text{ argmaxable} \iff \min_{\alpha\in\Delta}\Bigl\|\sum_i\alpha_i\,\Delta w_i\Bigr\|>0
# \qquad(\text{no biases}).
# $$ (eq-unargmaxable-words-minnorm)
#
# Without biases this is exact (item 2 of the theorem; it is Gordan's theorem of the
# alternative). The library uses the pairwise variant of Frank–Wolfe, which converges linearly
# on polytopes where the plain method only converges sublinearly
# {cite}`lacoste2015fw9046`; its duality gap certifies how far the returned norm can be from the
# minimum.
#
# :::{admonition} Code: `min_norm_in_hull` (lib/softmax/argmax.py, 54 lines)
# :class: dropdown
# ```{literalinclude} /lib/softmax/argmax.py
# :pyobject: min_norm_in_hull
# ```
# :::

# %%
def hull_distance(W, k):
    """Distance from w_k to the hull of the other rows (the article's min-norm test)."""
    others = torch.arange(W.shape[0]) != k
    return min_norm_in_hull(W[k] - W[others])


norms = [hull_distance(W5, k) for k in range(5)]
ch.claim("minnorm-class5", norms[4][0], at_most=math.sqrt(2 * norms[4][2]) + 1e-15,
         why="Frank-Wolfe certificate: the min-norm is 0 and ||x||^2 <= 2 * duality gap",
         statement="min-norm of class 5 is 0 (w_5 inside the hull)")
ch.claim("minnorm-others", max(abs(n[0] - 1.0) for n in norms[:4]), at_most=1e-9,
         why="exact distance 1 (to the opposite edge); converged to duality gap <= 1e-14",
         statement="min-norm of classes 1-4 is exactly 1")
W_r = torch.randn(60, 3, generator=gen, dtype=f64)
lp_ok = argmaxable(W_r)
fw_ok = torch.tensor([hull_distance(W_r, k)[0] > 1e-6 for k in range(60)])
ch.claim("minnorm-agrees-with-lp", bool(torch.equal(lp_ok, fw_ok)), equals=True,
         why="exact comparison of verdicts; random margins are >> 1e-6",
         statement="without biases the min-norm test and the LP agree on 60 random classes")

# %% [markdown]
# ## 4. Where the article is imprecise: the bias can decide
#
# The step "for large $r$ the bias is negligible" holds only when the minimum norm is positive.
# If $w_k$ is inside the hull, the norm term of {eq}`eq-unargmaxable-words-minimax` vanishes at
# the minimising $\alpha$ for every $r$, and what is left is the bias term
# $\sum_i\alpha_i\Delta b_i$ — which is item 2 of the theorem: the class loses exactly when a
# convex combination of the others reproduces $w_k$ with at least its bias. So a bias can make
# an "unargmaxable" class argmaxable. In the example, give class 5 the bias $b_5=0.5$: at
# $z=0$ it beats every other class by $0.5$, yet its minimum norm, which ignores $b$, is still 0.

# %%
b5 = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.5], dtype=f64)
lp_bias = argmaxable(W5, b5)
s0 = torch.zeros(2, dtype=f64) @ W5.T + b5
BIAS_ERRATUM = ("The article says that for large enough r the bias term is negligible, so the verdict is "
                "that of the bias-free min-norm test (§How to decide)")
ch.claim("bias-flips-verdict-lp", bool(lp_bias[4]), equals=True, erratum=BIAS_ERRATUM,
         why="exact LP verdict (margin 0.25 after scaling)",
         statement="with b_5 = 0.5 the LP finds class 5 argmaxable")
ch.claim("bias-flips-verdict-witness", float(s0[4] - s0[:4].max()), equals=0.5, erratum=BIAS_ERRATUM,
         why="exact arithmetic at z = 0", statement="witness: at z = 0 class 5 wins by 0.5")
ch.claim("bias-flips-verdict-minnorm", norms[4][0] > 1e-6, equals=False,
         why="the min-norm does not depend on b; it is 0 up to ~1e-15",
         statement="the min-norm test (bias ignored) still says 'unargmaxable'")

# %% [markdown]
# The opposite failure needs bounded inputs, which is how the article justifies a finite $r$ in
# the first place (network outputs are bounded). Give class 1 the bias $b_1=-3$. It is a hull
# vertex, so for large enough $z$ it wins, and both the LP and the min-norm test call it
# argmaxable. But by {eq}`eq-unargmaxable-words-minimax`, *any* $\alpha$ bounds the best
# margin within $\|z\|\le r$ from above; taking the Frank–Wolfe $\alpha$ of class 1 at $r=1$
# gives a negative bound, so with $\|z\|\le1$ class 1 never wins — which sampling confirms.

# %%
b1 = torch.tensor([-3.0, 0.0, 0.0, 0.0, 0.0], dtype=f64)
norm1, alpha1, _ = hull_distance(W5, 0)
upper_r1 = 1.0 * norm1 + float(alpha1 @ (b1[0] - b1[1:]))
zb = torch.randn(100_000, 2, generator=gen, dtype=f64)
zb = zb / zb.norm(dim=1, keepdim=True) * torch.rand(100_000, 1, generator=gen, dtype=f64).sqrt()
sb = zb @ W5.T + b1
ch.claim("bounded-input-bound", upper_r1, at_most=0.0,
         why="exact: 1 * ||w_1 - hull|| + sum alpha (b_1 - b_i) = 1 - 3 = -2",
         statement="within ||z|| <= 1, the best margin of class 1 is at most -2")
ch.claim("bounded-input-sampled", int((sb.argmax(1) == 0).sum()), equals=0,
         why="exact integer count over 1e5 uniform points of the unit disc",
         statement="class 1 never wins for ||z|| <= 1 ...")
ch.claim("bounded-input-lp", bool(argmaxable(W5, b1)[0]), equals=True,
         why="exact LP verdict", statement="... although it is argmaxable for unbounded z")

# %% [markdown]
# So with biases the verdict depends on the range of inputs one admits; the LP
# {eq}`eq-unargmaxable-words-lp` answers the unbounded question exactly, and adding the
# constraint $\|z\|_\infty\le r$ with $u=1$ would answer the bounded one.
#
# ## 5. Equal norms: no unargmaxable classes
#
# If all $w_i$ are distinct with the same norm and there are no biases, take $z=w_k$: by
# Cauchy–Schwarz $w_i\cdot w_k<\|w_i\|\|w_k\|=\|w_k\|^2$ for every $w_i\ne w_k$, so class $k$ wins
# strictly. Normalisation layers keep the norms of output embeddings similar, one reason the
# phenomenon is rare in trained models. With 100 random unit vectors in $\mathbb R^3$ — far more
# classes than dimensions — every class is argmaxable; giving the same directions random norms
# (log-normal, spread 0.5) makes some of them unargmaxable.

# %%
U = torch.randn(100, 3, generator=gen, dtype=f64)
U = U / U.norm(dim=1, keepdim=True)
G = U @ U.T
cs_margin = float((G.diagonal() - (G - 2 * torch.eye(100, dtype=f64)).amax(1)).min())
ch.claim("equal-norm-certificate", cs_margin, at_least=1e-9,
         why="exact sign: 1 - max_i w_i . w_k > 0 for distinct unit vectors; rounding ~1e-16",
         statement="z = w_k wins strictly for every unit vector (Cauchy-Schwarz)")
ch.claim("equal-norm-all-argmaxable", bool(argmaxable(U).all()), equals=True,
         why="exact LP verdicts", statement="all 100 unit vectors in R^3 are argmaxable")
scaled = U * torch.exp(0.5 * torch.randn(100, 1, generator=gen, dtype=f64))
n_unarg = int((~argmaxable(scaled)).sum())
ch.claim("unequal-norms-some-unargmaxable", n_unarg, at_least=1,
         why="exact integer count of LP verdicts",
         statement="the same directions with random norms: some classes become unargmaxable")

# %% [markdown]
# With random norms, {glue:text}`unequal-norms-some-unargmaxable` of the 100 classes become
# unargmaxable.
#
# ## 6. How many classes does it take?
#
# In general position, $n\le d+1$ vectors are affinely independent, so none lies in the hull of
# the others; $d+2$ suffice for an unargmaxable class — the centroid of a simplex. The article's
# remark that in two dimensions four classes already count as "many more than $d$" is this
# count.

# %%
ok_min = []
for dd in range(2, 7):
    simplex = torch.cat([torch.eye(dd, dtype=f64), -torch.ones(1, dd, dtype=f64)])
    W_s = torch.cat([simplex, simplex.mean(0, keepdim=True)])
    ok_min.append(argmaxable(W_s).tolist() == [True] * (dd + 1) + [False])
ch.claim("minimal-example-d-plus-2", all(ok_min), equals=True, why="exact LP verdicts",
         statement="for d = 2..6 the centroid of a simplex makes d + 2 classes with one unargmaxable")
ch.source_number("4", where="§In practice: in 2 dimensions, 4 classes already count as far more than d",
                 fate="reproduced", claim="minimal-example-d-plus-2")

# %% [markdown]
# For random class vectors the answer depends steeply on $d$. We draw $n$ i.i.d. Gaussian class
# vectors for $n\in\{50,200\}$ and $d$ from 2 to 16, no biases, and count unargmaxable classes
# with the LP; for $d\le5$ the verdicts are compared with the vertices of the convex hull found
# independently by Qhull. The equal-norm version of the same vectors is shown for contrast.

# %%
dims = [2, 3, 4, 5, 6, 8, 10, 12, 16]
R = 4  # independent draws of the class vectors per (n, d): the fractions are estimates
draws = {50: np.zeros((R, len(dims))), 200: np.zeros((R, len(dims)))}
unit_draws = np.zeros((R, len(dims)))
qhull_agree = True
for r in range(R):
    for n_cls in draws:
        for j, dd in enumerate(dims):
            Wg = torch.randn(n_cls, dd, generator=gen, dtype=f64)
            ok = argmaxable(Wg)
            draws[n_cls][r, j] = 1 - float(ok.double().mean())
            if dd <= 5 and r == 0:
                vertex = torch.zeros(n_cls, dtype=torch.bool)
                vertex[ConvexHull(Wg.numpy()).vertices] = True
                qhull_agree &= bool(torch.equal(ok, vertex))
            if n_cls == 200:
                unit = Wg / Wg.norm(dim=1, keepdim=True)
                unit_draws[r, j] = 1 - float(argmaxable(unit).double().mean())
fraction = {n: list(v.mean(0)) for n, v in draws.items()}
fraction_se = {n: mean_se(v, dim=0)[1] for n, v in draws.items()}
ch.claim("lp-agrees-with-qhull", qhull_agree, equals=True, why="exact comparison of verdicts",
         statement="LP verdicts equal the convex-hull vertices (Qhull) for d <= 5")
# consecutive d share no draws, so the difference's standard error is the root sum of squares
steps_z = [(a - b) / max(math.hypot(sa, sb), 1e-12)
           for n in draws for a, b, sa, sb in zip(fraction[n], fraction[n][1:], fraction_se[n],
                                                  fraction_se[n][1:], strict=False)]
ch.claim("fraction-nonincreasing-in-d-z", min(steps_z), at_least=-3.0,
         why="no step from one d to the next raises the mean fraction by 3 standard errors "
         "(4 draws per point); an increase that large would have P < 0.2% per step",
         statement="the expected unargmaxable fraction does not increase with d (n = 50 and 200)")
drop_z = (fraction[200][0] - fraction[200][-1]) / math.hypot(fraction_se[200][0], fraction_se[200][-1] + 1e-3)
ch.claim("fraction-drop-d2-to-d16-z", drop_z, at_least=10.0,
         why="the d = 2 and d = 16 means differ by >= 10 standard errors (the d = 16 se, zero when "
         "every draw gives 0, is floored at 0.001: one class in 1000)",
         statement="from d = 2 to d = 16 the fraction falls from most classes to none")
ch.claim("fraction-d2-n200", fraction[200][0], at_least=0.8,
         why="expected hull vertices of 200 Gaussian points in the plane ~ 2 sqrt(2 pi log n) "
             "~ 12 (Renyi-Sulanke), i.e. ~94% interior; 0.8 would need 40 vertices",
         statement="in the plane, most of 200 random classes are unargmaxable")
ch.claim("fraction-d16-n200", fraction[200][-1], equals=0.0, why="exact count",
         statement="in 16 dimensions, all 200 random classes are argmaxable")
ch.claim("equal-norm-fraction", float(unit_draws.max()), equals=0.0, why="exact counts (every draw)",
         statement="normalised to equal norms, no class is ever unargmaxable")

# %% mystnb={"figure": {"caption": "Fraction of unargmaxable classes among $n$ random Gaussian class vectors (no bias) against the dimension $d$, decided by the LP; mean and standard error over four independent draws per point. Normalising the same vectors to equal norm removes the phenomenon entirely (theorem, item 3).", "name": "fig-unargmaxable-words-fraction"}}
fig, ax = plt.subplots()
for n_cls, f in fraction.items():
    ax.errorbar(dims, f, yerr=fraction_se[n_cls], marker="o", capsize=3, label=f"$n={n_cls}$ Gaussian")
ax.plot(dims, unit_draws.mean(0), marker="s", ls="--", label="$n=200$, equal norms")
ax.set_xlabel("dimension $d$")
ax.set_ylabel("fraction unargmaxable")
ax.set_xscale("log", base=2)
ax.legend()
plt.show()

# %% [markdown]
# **Large vocabularies.** The article's point that "many more classes than dimensions" means
# far more in high dimensions can be checked at its own numbers, $d=200$ and $n=40\,000$
# classes. For Gaussian vectors the cheap certificate $z=w_k$ already works:
# $\|w_k\|^2\approx200$ while the largest $w_k\cdot w_i$ over $40\,000$ others is about
# $\sqrt{200}\sqrt{2\log40\,000}\approx65$. We check it for 400 randomly chosen classes:

# %%
Wbig = torch.randn(40_000, 200, generator=gen, dtype=f64)
idx = torch.randperm(40_000, generator=gen)[:400]
cert = math.inf
for chunk in idx.split(100):  # scores of the chosen classes against all others, by chunks
    Gbig = Wbig[chunk] @ Wbig.T
    Gbig[torch.arange(len(chunk)), chunk] = -math.inf  # exclude each class itself
    cert = min(cert, float((Wbig[chunk].pow(2).sum(1) - Gbig.amax(1)).min()))
ch.claim("vocab-40000-certified", cert, at_least=1.0,
         why="exact sign of a margin of size ~100; float64 rounding ~1e-12",
         statement="all 400 sampled classes of 40000 in d = 200 win at z = w_k")
for printed in ("200", "40000"):
    ch.source_number(printed, where="§In practice: in 200 dimensions even 40000 classes are not far more than d",
                     fate="reproduced", claim="vocab-40000-certified")

# %% [markdown]
# The smallest certified margin is {glue:text}`vocab-40000-certified:.0f`: every sampled class
# wins at its own vector, so (rule of three) fewer than 0.75% of the 40 000 classes can be
# unargmaxable at 95% confidence — and the margins suggest none are.
#
# ## 7. What this means in practice
#
# Grivas, Bogoychev and Lopez checked 150 public language and translation models and found
# unargmaxable tokens in 13 of them, all rare tokens that are unlikely to matter
# {cite}`grivas2022unargmaxable9046` (quoted, not reproduced: the models are not part of this
# book). The property concerns greedy decoding only: an unargmaxable token still has positive
# probability, so sampling or beam search can still emit it.
#
# The article's own numbers: we read its text and listed every number in a stated result — the
# points of its example, class 5, the 90-degree angle, the "four classes in two dimensions" and
# "40 000 classes in 200 dimensions" — all reproduced above; the translation-model table it shows
# is an image of the paper's results on pretrained models and is out of scope.

# %%
ch.source_number("table (image)", where="§In practice: the paper's machine-translation results, shown as an image",
                 fate="out of scope", reason="pretrained translation models; the values are only in an image")

# %% [markdown]
# ## Claims

# %%
ch.table();
