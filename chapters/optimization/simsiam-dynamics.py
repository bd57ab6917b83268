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
#     date: '2020-12-11'
#     id: 7980
#     paper: Chen and He (2021), Exploring Simple Siamese Representation Learning
#     paper_url: https://arxiv.org/abs/2011.10566
#     title: 'Optimisation Algorithms from a Dynamical Viewpoint (6): Why Doesn''t SimSiam
#       Collapse?'
#     title_zh: "\u4ECE\u52A8\u529B\u5B66\u89D2\u5EA6\u770B\u4F18\u5316\u7B97\u6CD5\uFF08\
#       \u516D\uFF09\uFF1A\u4E3A\u4EC0\u4E48SimSiam\u4E0D\u9000\u5316\uFF1F"
#     url: https://kexue.fm/archives/7980
# ---

# %% [markdown]
# (ch-simsiam-dynamics)=
# # Why SimSiam does not collapse: a toy flow and a linear model
#
# SimSiam {cite}`7980-chen-simsiam` makes one augmented view predict another, without negative
# pairs; a constant encoder minimises its loss, yet training with stop-gradient and a predictor
# avoids it. The article {cite}`7980-su-simsiam` puts the reason in the *dynamics* of gradient
# descent, with a two-parameter flow that we solve exactly: with stop-gradient the collapsed state
# *repels*; with the whole gradient a conserved quantity decides the race in advance — the
# article's start loses it, half of the unit square does not. A linear SimSiam reproduces the
# paper's contrast (collapse without stop-gradient or predictor).
#
# :::{prf:theorem} The toy flow
# :label: thm-simsiam-dynamics
# Let $l=\tfrac12(\varphi\theta-\tilde\theta)^2$, where $\tilde\theta$ is the target copy of the
# encoder weight $\theta$, and run gradient flow on $(\varphi,\theta)$ from $0<\varphi_0<1$,
# $\theta_0>0$ with (i) the target stopped, (ii) the whole gradient, (iii) the target-branch
# term alone. Then
#
# 1. the flows conserve $\theta^2-\varphi^2$, $(1-\varphi)^2-\theta^2$ and $\varphi+\theta^2/2$;
# 2. their fixed points are the two lines $\theta=0$ (collapse) and $\varphi=1$ (predictor fits);
#    across $\theta=0$ the linearisation has the eigenvalue $\varphi(1-\varphi)>0$ in (i) — the
#    collapsed line repels — and $-(1-\varphi)^2$, $\varphi-1$ (attracting) in (ii), (iii);
# 3. (i) ends at $\bigl(1,\sqrt{1+\theta_0^2-\varphi_0^2}\bigr)$ and never collapses; (ii)
#    collapses iff $\theta_0\le1-\varphi_0$, otherwise it ends at
#    $\bigl(1,\sqrt{\theta_0^2-(1-\varphi_0)^2}\bigr)$; (iii) collapses iff
#    $\theta_0^2\le2(1-\varphi_0)$, otherwise it ends at $\bigl(1,\sqrt{\theta_0^2+2\varphi_0-2}\bigr)$;
# 4. on the unit square of starts the collapsing fractions are therefore $0$, $\tfrac12$ and
#    $\tfrac56$; the article's start $(0.6, 0.1)$ collapses under (ii) and (iii).
# :::
#
# BYOL {cite}`7980-grill-byol` uses a moving-average target; SimSiam sets its rate to zero.
# Linear versions of both are analysed by {cite}`7980-tian-directpred`. All is float64 unless said.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

from lib.book import Chapter, show_table
from lib.optimization import (
    expansion_terms,
    linear_simsiam,
    simsiam_collapse_map,
    simsiam_toy_fate,
    simsiam_toy_limit,
    simsiam_toy_rhs,
    simsiam_toy_solve,
)
from lib.stats import bootstrap_se, mean_se, proportion_se, z_score

ch = Chapter("simsiam-dynamics", seed=7980)
MODES = {"stopgrad": "stop-gradient", "full": "full gradient", "second": "target term only"}
PHI0, THETA0 = 0.6, 0.1  # the article's start

# %% [markdown]
# ## 1. Two gradient paths, and a toy with one weight each
#
# Write the loss as $\mathcal L(\varphi,\theta)=\mathbb E\,l\bigl(h_\varphi(f_\theta(\mathcal
# T_1x)),\,f_\theta(\mathcal T_2x)\bigr)$: an encoder $f_\theta$ on two augmentations, a predictor
# $h_\varphi$ on one branch. The encoder weight appears twice, so its gradient has two parts:
#
# $$
# \dot\varphi=-\mathbb E\Bigl[\partial_h l\;\partial_\varphi h\Bigr],\qquad
# \dot\theta=-\mathbb E\Bigl[\partial_h l\;\partial_f h\;\partial_\theta f
# \;+\;\underbrace{\partial_f l\;\partial_\theta f}_{\text{target branch}}\Bigr].
# $$ (eq-simsiam-dynamics-gradflow)
#
# Stop-gradient deletes the target-branch term. The toy keeps one scalar of each kind: encoder
# output $\theta$, predictor $\varphi$, target $\tilde\theta=\theta$. With the prediction error
# $r=\varphi\theta-\theta$ the three flows are
#
# $$
# \dot\varphi=-r\theta,\qquad
# \dot\theta=\begin{cases}-r\varphi & \text{stop-gradient},\\
# -r\varphi+r=-\theta(1-\varphi)^2 & \text{full gradient},\\
# +r=-\theta(1-\varphi) & \text{target term only.}\end{cases}
# $$ (eq-simsiam-dynamics-flows)
#
# SymPy: these are the two partial gradients of $l$ and their sum (the derivative of
# $l(\varphi,\theta,\theta)$); `simsiam_toy_rhs`, integrated below, equals them at random points:

# %%
phi, th, tt = sp.symbols("phi theta theta_target", real=True)
loss = (phi * th - tt) ** 2 / 2
online, target = -sp.diff(loss, th), -sp.diff(loss, tt)
r = phi * th - th
article = {"stopgrad": -r * phi, "full": -r * phi + r, "second": r}  # as printed
derived = {"stopgrad": online, "full": online + target, "second": target}
ok = all(sp.simplify(derived[m].subs(tt, th) - article[m]) == 0 for m in MODES)
ok &= sp.simplify(-sp.diff(loss, phi).subs(tt, th) + r * th) == 0
ok &= sp.simplify(-sp.diff(loss.subs(tt, th), th) - article["full"]) == 0
ch.claim("flows-are-gradient-parts-sympy", ok, equals=True, why="exact symbolic",
         statement="Eq. (eq-simsiam-dynamics-flows) are the partial gradients of l")
ch.source_number("1/2", value=0.5, where="§Dynamics of non-collapse, the toy loss",
                 fate="reproduced", claim="flows-are-gradient-parts-sympy")

P, Q = ch.rng.normal(size=1000) * 2, ch.rng.normal(size=1000) * 2
scale = (1 + np.abs(P) + np.abs(Q)) ** 3
worst = max(np.max(np.abs(g - e) / scale) for m in MODES
            for g, e in zip(simsiam_toy_rhs(P, Q, m),
                            sp.lambdify((phi, th), (-r * th, article[m]))(P, Q), strict=True))
ch.claim("rhs-matches-sympy", worst, at_most=4 * np.finfo(np.float64).eps,
         why="two groupings of a cubic: at most ~4 roundings of terms <= (1+|φ|+|θ|)³",
         statement="simsiam_toy_rhs equals the symbolic flows at 1000 random points")

# %% [markdown]
# ## 2. One conserved quantity per flow
#
# Each flow keeps one function of the state constant:
#
# $$
# \begin{aligned}&\text{stop-gradient:}&&\theta^2-\varphi^2,\\
# &\text{full gradient:}&&(1-\varphi)^2-\theta^2,\\
# &\text{target term only:}&&\varphi+\tfrac12\theta^2 .\end{aligned}
# $$ (eq-simsiam-dynamics-invariants)
#
# E.g. $\frac{d}{dt}(\theta^2-\varphi^2)=2\theta(-r\varphi)-2\varphi(-r\theta)=0$. Every trajectory
# runs along one level curve; the only question is where on it it stops.

# %%
INV = {"stopgrad": th**2 - phi**2, "full": (1 - phi) ** 2 - th**2, "second": phi + th**2 / 2}
for m, q in INV.items():
    rate = sp.diff(q, phi) * (-r * th) + sp.diff(q, th) * article[m]
    ch.claim(f"invariant-{m}-sympy", sp.expand(rate) == 0, equals=True,
             why="exact symbolic", statement=f"{MODES[m]}: d/dt of {q} vanishes")

# %% [markdown]
# ## 3. Fixed points: two lines, and which one attracts
#
# $\dot\varphi=0$ needs $\theta=0$ or $\varphi=1$, and in all three flows either also stops
# $\theta$: the fixed points are the collapsed line $\theta=0$ and the fitted line $\varphi=1$.
# Across the collapsed line the only non-zero eigenvalue is the growth rate of a small $\theta$,
#
# $$
# \lambda_{\theta=0}=\begin{cases}\varphi(1-\varphi) & \text{stop-gradient},\\
# -(1-\varphi)^2 & \text{full gradient},\\ \varphi-1 & \text{target term only,}\end{cases}
# $$ (eq-simsiam-dynamics-eigen)
#
# and across the fitted line it is $-\theta^2$ in every flow. For $0<\varphi<1$ stop-gradient
# makes the collapsed line **repel** (the encoder grows like $e^{\varphi(1-\varphi)t}$); the other
# two flows attract it there.

# %%
expected = {"stopgrad": phi * (1 - phi), "full": -(1 - phi) ** 2, "second": phi - 1}
ok = True
for m in MODES:
    F = sp.Matrix([-r * th, article[m]])
    sols = sp.solve(list(F), [phi, th], dict=True)
    ok &= {tuple(s.items()) for s in sols} == {((th, 0),), ((phi, 1),)}
    Jm = F.jacobian([phi, th])
    on_collapse = [e for e in Jm.subs(th, 0).eigenvals() if e != 0]
    on_fit = [e for e in Jm.subs(phi, 1).eigenvals() if e != 0]
    ok &= len(on_collapse) == 1 and sp.simplify(on_collapse[0] - expected[m]) == 0
    ok &= len(on_fit) == 1 and sp.simplify(on_fit[0] + th**2) == 0
ch.claim("fixed-points-and-eigenvalues-sympy", ok, equals=True, why="exact symbolic",
         statement="fixed points θ = 0 and φ = 1; eigenvalues of Eq. (eq-simsiam-dynamics-eigen)")

# %% [markdown]
# So stop-gradient has no race; the article's race is the full flow's, decided by the invariant.
# A predictor $\kappa$ times faster ($\dot\varphi=-\kappa r\theta$) conserves
# $(1-\varphi)^2-\kappa\theta^2$ and wins without stop-gradient if $\kappa>(1-\varphi_0)^2/\theta_0^2$,
# {glue:text}`fast-predictor-threshold` from the article's start (it fails on a linear SimSiam, §6).

# %%
kappa, a0, b0 = sp.symbols("kappa phi_0 theta_0", positive=True)
inv_k = (1 - phi) ** 2 - kappa * th**2
rate_k = sp.diff(inv_k, phi) * (-kappa * r * th) + sp.diff(inv_k, th) * article["full"]
ch.claim("fast-predictor-invariant-sympy", sp.expand(rate_k) == 0, equals=True,
         why="exact symbolic", statement="predictor κ times faster: (1−φ)² − κθ² is conserved")
kappa_star = ((1 - a0) ** 2 / b0**2).subs({a0: sp.Rational(3, 5), b0: sp.Rational(1, 10)})
ch.claim("fast-predictor-threshold", int(kappa_star), equals=16,
         why="exact rational arithmetic",
         statement="from (0.6, 0.1) the full flow survives iff the predictor is > 16x faster")

# %% [markdown]
# ## 4. Where each flow ends
#
# Each trajectory moves monotonically along its level curve {eq}`eq-simsiam-dynamics-invariants`
# until it meets a line of fixed points (for $0<\varphi_0<1$, $\varphi$ rises in the first two
# flows and stays below $\varphi_0+\theta_0^2/2$ in the third). With $C=\theta_0^2-\varphi_0^2$,
# $D=(1-\varphi_0)^2-\theta_0^2$ and $E=\varphi_0+\tfrac12\theta_0^2$ the limits are
#
# $$
# \begin{aligned}&\text{stop-gradient:} && (1,\ \sqrt{1+C}),\\
# &\text{full:} && (1-\sqrt D,\ 0)\ \text{if}\ D\ge0,\ \text{else}\ (1,\ \sqrt{-D}),\\
# &\text{target only:} && (E,\ 0)\ \text{if}\ E\le1,\ \text{else}\ (1,\ \sqrt{2(E-1)}).\end{aligned}
# $$ (eq-simsiam-dynamics-limits)
#
# At the article's start $C=-0.35$, $D=0.15$, $E=0.605$: only stop-gradient survives, at
# $\theta=\sqrt{0.65}$. `simsiam_toy_fate` covers any real $\varphi_0$ (section 5 needs it):
#
# :::{admonition} Full code: simsiam_toy_fate
# :class: dropdown
# ```{literalinclude} /lib/optimization/simsiam.py
# :pyobject: simsiam_toy_fate
# ```
# :::
#
# We integrate each flow with SciPy's LSODA (stiff-safe) at `rtol=1e-10`, `atol=1e-12` to
# $T=200$. Tolerance: ten local tolerances for the solver (the tests check this proportionality)
# plus a bound on how far the *exact* flow is from its limit at $T$: $\theta(T)\le\theta_0e^{-DT}$
# (full, as $\dot\theta/\theta\le-D$), $\theta(T)\le\theta_0e^{(E-1)T}$ (target term), and
# $|1-\varphi(T)|\le|1-\varphi(t_1)|\,e^{-\theta(t_1)^2(T-t_1)}$ (stop-gradient, $\theta$ increasing).

# %%
RTOL, ATOL, T = 1e-10, 1e-12, 200.0
SOLVER = 10 * (RTOL + ATOL)  # the states are O(1)
runs = {m: simsiam_toy_solve(m, PHI0, THETA0, T=T, rtol=RTOL, atol=ATOL) for m in MODES}
phi_a, theta_a = sp.Rational(3, 5), sp.Rational(1, 10)
exact = [theta_a**2 - phi_a**2, (1 - phi_a) ** 2 - theta_a**2, phi_a + theta_a**2 / 2]
ch.claim("article-start-invariants",
         exact == [sp.Rational(-7, 20), sp.Rational(3, 20), sp.Rational(121, 200)],
         equals=True, why="exact rational arithmetic",
         statement="at (0.6, 0.1): C = -0.35, D = 0.15, E = 0.605")
_, D0, E0 = (float(v) for v in exact)
t_sg, phi_sg, th_sg = runs["stopgrad"]
i = len(t_sg) // 2  # t1 = T/2 in the stop-gradient bound
transient = {"stopgrad": abs(1 - phi_sg[i]) * math.exp(-th_sg[i] ** 2 * (T - t_sg[i])),
             "full": THETA0 * math.exp(-D0 * T), "second": THETA0 * math.exp(-(1 - E0) * T)}
why = "solver: 10 x (rtol + atol), plus the transient bound at T derived above"
for m, (_, ph, q) in runs.items():
    lim_phi, lim_th = simsiam_toy_limit(m, PHI0, THETA0)
    ch.claim(f"limit-{m}-phi", ph[-1], equals=lim_phi, atol=SOLVER + transient[m], why=why,
             statement=f"{MODES[m]}: φ(200) equals the closed-form limit")
    ch.claim(f"limit-{m}-theta", q[-1], equals=lim_th, atol=SOLVER + transient[m], why=why,
             statement=f"{MODES[m]}: θ(200) equals the closed-form limit")
    inv = sp.lambdify((phi, th), INV[m])
    drift = np.max(np.abs(inv(ph, q) - inv(PHI0, THETA0)))
    ch.claim(f"drift-{m}", drift, at_most=2 * max(1, np.abs(q).max()) * SOLVER,
             why="|dQ/dy| <= 2 max|y| times the solver error of y",
             statement=f"{MODES[m]}: the invariant stays constant along the path")
where = "§Dynamics of non-collapse, "
for printed, what, name in (("1", "first plot: φ tends to 1 (stop-gradient)", "stopgrad-phi"),
                            ("0", "second plot: θ tends to 0 (full gradient)", "full-theta"),
                            ("0", "text: θ tends to 0 (target term only)", "second-theta")):
    ch.source_number(printed, where=where + what, fate="reproduced", claim=f"limit-{name}")
for printed in ("φ(0)=0.6", "θ(0)=0.1"):
    ch.source_number(printed, value=float(printed.split("=")[1]),
                     where=where + "the toy's initial values", fate="out of scope",
                     reason="an input of the toy, used as given by the claims of Sections 4-5")

# %% [markdown]
# Under stop-gradient the encoder ends at {glue:text}`limit-stopgrad-theta:.6f` ($=\sqrt{0.65}$);
# the predictor stalls at {glue:text}`limit-full-phi:.6f` ($=1-\sqrt{0.15}$, full gradient) and
# {glue:text}`limit-second-phi:.6f` (target term), with $\theta\to0$. The invariants drift by
# {glue:text}`drift-stopgrad:.1e`, {glue:text}`drift-full:.1e`, {glue:text}`drift-second:.1e`.
# The article's two plots show the same ({numref}`fig-simsiam-dynamics-phase`, black curves).
#
# ## 5. Which starts collapse — and what the article's example does not show
#
# The article picks its start arbitrarily (随便选的) and reports that with the target-branch
# term, added or alone, $\theta$ goes to zero and $\varphi$ never reaches 1. True there (section
# 4), but not in general ({prf:ref}`thm-simsiam-dynamics`). Surviving areas of the unit square:

# %%
a, b = sp.symbols("a b", positive=True)  # a = φ0, b = θ0
area_full = sp.integrate(sp.integrate(1, (b, 1 - a, 1)), (a, 0, 1))  # θ0 > 1 − φ0
area_second = sp.integrate(sp.integrate(1, (a, 1 - b**2 / 2, 1)), (b, 0, 1))  # φ0 > 1 − θ0²/2
ch.claim("area-survive-full", area_full == sp.Rational(1, 2), equals=True,
         why="exact symbolic", statement="half of the unit square survives the full gradient")
ch.claim("area-survive-second", area_second == sp.Rational(1, 6), equals=True,
         why="exact symbolic", statement="a sixth of the unit square survives the target term")

# %% [markdown]
# Now measured (`simsiam_collapse_map`): {glue:text}`map-n` uniform starts, integrated to $T=2000$
# as one banded system; collapsed means $\theta(T)<10^{-4}\,\theta_0$. A start is *decided* when
# section 4's bounds guarantee the verdict at $T$ ($DT$ or $(1-E)T$ above $\ln 10^4$ if collapsing,
# $\theta_\infty\ge10^{-4}\theta_0$ if not); there solver and closed form must agree, and the
# undecided fraction widens the tolerance.

# %%
N_MAP, T_MAP, EPS_C = 4000, 2000.0, 1e-4
p0, q0 = ch.rng.uniform(size=N_MAP), ch.rng.uniform(size=N_MAP)
ch.measured("map-n", N_MAP, why="descriptive: the Monte Carlo sample size")
mismatch, survive, undecided, ode_col = 0, {}, {}, {}
for m in MODES:
    ode_col[m], collapsed, decided = simsiam_collapse_map(m, p0, q0, T=T_MAP, eps=EPS_C)
    mismatch += int(np.sum((ode_col[m] != collapsed) & decided))
    survive[m], undecided[m] = float(np.mean(~ode_col[m])), float(np.mean(~decided))
    ch.measured(f"map-undecided-{m}", undecided[m],
                why="descriptive: starts a finite T cannot classify")
ch.claim("map-mismatches", mismatch, equals=0, why="exact count (decided starts only)",
         statement="solver and closed form classify every decided start alike (3 flows)")
ch.claim("map-stopgrad-survive", survive["stopgrad"], equals=1.0, why="exact fraction",
         statement="no start in the unit square collapses under stop-gradient")
says = ("The article integrates the toy from one start it calls arbitrary, (0.6, 0.1), and "
        "concludes that with the target-branch term added or alone θ goes to 0 and φ cannot "
        "reach 1 (§Dynamics of non-collapse)")
for m, area in (("full", 0.5), ("second", 1 / 6)):
    ch.claim(f"erratum-survive-{m}", survive[m], equals=area,
             atol=4 * proportion_se(area, N_MAP) + undecided[m], erratum=says,
             why="4 binomial standard errors + the undecided fraction (all misclassified)",
             statement=f"{MODES[m]}: fraction of the unit square that does not collapse")

# %% [markdown]
# The solver agrees on all decided starts (undecided: {glue:text}`map-undecided-full:.1%` full,
# {glue:text}`map-undecided-second:.1%` target term) and measures surviving fractions
# {glue:text}`erratum-survive-full:.3f` and {glue:text}`erratum-survive-second:.3f`: the article's
# conclusion describes its start, not the flows. Counterexamples: from $(0.6,0.5)$ the full flow
# ends at $\theta=$ {glue:text}`counterexample-full:.6f`, from $(0.6,1)$ the target-term flow at
# {glue:text}`counterexample-second:.6f` ($\sqrt{0.09}$, $\sqrt{0.2}$). Nor is stop-gradient
# unconditional: outside $0<\varphi_0<1$ its collapsed line attracts, and $\theta$ dies first if
# $\theta_0\le|\varphi_0|$ ($\varphi_0<0$) or $\theta_0^2\le\varphi_0^2-1$ ($\varphi_0>1$):

# %%
for m, start in (("full", (0.6, 0.5)), ("second", (0.6, 1.0))):
    _, ph, q = simsiam_toy_solve(m, *start, T=400.0, rtol=RTOL, atol=ATOL)
    lim_phi, lim_th = simsiam_toy_limit(m, *start)
    tail = abs(1 - start[0]) * math.exp(-lim_th**2 * 400.0)  # θ ≥ θ∞ all along
    ch.claim(f"counterexample-{m}", q[-1], equals=lim_th, atol=SOLVER + tail,
             why="solver: 10 x (rtol + atol) plus the transient bound |1-φ0| exp(-θ∞² T)",
             statement=f"{MODES[m]} from {start}: θ(400) equals the non-zero limit")
worst = 0.0
for start in ((-0.5, 0.3), (1.5, 0.5)):
    _, ph, q = simsiam_toy_solve("stopgrad", *start, T=T, rtol=RTOL, atol=ATOL)
    lim_phi, lim_th, collapses = simsiam_toy_fate("stopgrad", *start)
    assert collapses
    worst = max(worst, abs(ph[-1] - lim_phi), abs(q[-1] - lim_th))
ch.claim("stopgrad-collapses-outside", worst, at_most=SOLVER,
         why="solver: 10 x (rtol + atol); θ decays at rate >= 0.56, transient < 1e-40",
         statement="stop-gradient: (-0.5, 0.3) -> (-0.4, 0) and (1.5, 0.5) -> (√2, 0)")

# %% mystnb={"figure": {"caption": "The toy flows. Shaded: collapsing starts (closed form); dots: Monte Carlo starts, red if the solver collapses them by $T=2000$. Black: the article's path from the star; dotted: the unit square of the erratum.", "name": "fig-simsiam-dynamics-phase"}}
fig, axes = plt.subplots(1, 3, figsize=(11, 4.4), sharey=True, layout="constrained")
gp, gq = np.meshgrid(np.linspace(-1, 2, 301), np.linspace(0.005, 1.5, 200))
sp_, sq_, sub = gp[::12, ::12], gq[::12, ::12], slice(0, 600)
for ax, m in zip(axes, MODES, strict=True):
    ax.contourf(gp, gq, simsiam_toy_fate(m, gp, gq)[2].astype(float), levels=[0.5, 1.5],
                colors=["#D55E00"], alpha=0.18)
    ax.streamplot(sp_, sq_, *simsiam_toy_rhs(sp_, sq_, m), color="0.6", density=0.7,
                  linewidth=0.6)
    ax.scatter(p0[sub], q0[sub], s=3, c=np.where(ode_col[m][sub], "#D55E00", "#0072B2"))
    ax.plot(*runs[m][1:], color="k", lw=1.6)
    ax.plot(PHI0, THETA0, "k*", ms=10)
    ax.plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], "k:", lw=1)
    ax.set(title=MODES[m], xlabel=r"predictor $\varphi$", xlim=(-1, 2), ylim=(0, 1.5))
axes[0].set_ylabel(r"encoder $\theta$")
plt.show()

# %% [markdown]
# ## 6. A linear SimSiam on synthetic data
#
# For the paper's contrast we train a linear SimSiam: $x\in\mathbb R^{16}$ Gaussian (standard
# deviations 1 down to 0.2), views $x+0.5\,\varepsilon$, encoder $z=Wx+b$ into $\mathbb R^8$ (the
# bias makes the constant output available), predictor $p=Pz$ started near the identity,
# symmetrised negative-cosine loss, 300 SGD steps (momentum 0.9, learning rate 0.1, weight decay
# $10^{-4}$). Monitor: the std of the normalised outputs times $\sqrt8$ (1 spread, 0 collapsed).
#
# :::{admonition} Full code: linear_simsiam
# :class: dropdown
# ```{literalinclude} /lib/optimization/simsiam.py
# :pyobject: linear_simsiam
# ```
# :::
#
# Variants: no stop-gradient; no predictor; the article's untested proposal (regress each view on
# the encoding of the mean view, here the clean $x$, with neither); the toy's remedy (no
# stop-gradient, 10× faster predictor); predictor learning rate ×0, ×0.1, ×10. Five paired seeds.

# %%
SEEDS, K_OUT = range(5), 8
VARIANTS = {  # key: (label, arguments of linear_simsiam)
    "simsiam": ("SimSiam", {}), "no-sg": ("no stop-gradient", {"stop_gradient": False}),
    "no-pred": ("no predictor", {"predictor": False}),
    "mean-view": ("mean-view target (article's proposal)",
                  {"target": "center", "predictor": False, "stop_gradient": False}),
    "no-sg-fast": ("no stop-gradient, predictor 10x",
                   {"stop_gradient": False, "predictor_lr": 10.0}),
    "frozen": ("predictor frozen", {"predictor_lr": 0.0}),
    "slow": ("predictor 0.1x", {"predictor_lr": 0.1}),
    "fast": ("predictor 10x", {"predictor_lr": 10.0}),
}
spread = lambda seed, kw: linear_simsiam(
    generator=torch.Generator().manual_seed(seed), **kw)["std"].numpy() * math.sqrt(K_OUT)
hist = {key: np.stack([spread(s, kw) for s in SEEDS]) for key, (_, kw) in VARIANTS.items()}
final = {key: h[:, -1] for key, h in hist.items()}
show_table(["variant", "final output spread (mean ± s.e., 5 seeds)"],
           [[VARIANTS[key][0], "{:.4f} ± {:.4f}".format(*map(float, mean_se(v)))]
            for key, v in final.items()])
m_ok, se_ok = map(float, mean_se(final["simsiam"]))
ch.claim("linear-simsiam-healthy", m_ok, at_least=0.5, atol=4 * se_ok,
         why="4 seed standard errors", statement="SimSiam keeps its outputs spread (> 0.5)")
for key in ("no-sg", "no-pred", "mean-view", "no-sg-fast", "frozen"):
    m_c, se_c = map(float, mean_se(final[key]))
    ch.claim(f"linear-collapse-{key}", m_c, at_most=0.05, atol=4 * se_c,
             why="4 seed standard errors",
             statement=f"{VARIANTS[key][0]}: outputs collapse (< 0.05, from about 1)")
for name, hi, lo, sig in (("sg-effect", "simsiam", "no-sg", 4.0),
                          ("fast-vs-default", "fast", "simsiam", 3.0),
                          ("default-vs-slow", "simsiam", "slow", 3.0)):
    ch.claim(f"linear-{name}-z", float(z_score(final[hi] - final[lo])), at_least=sig,
             why=f"paired over seeds: the difference exceeds {sig:g} of its standard errors",
             statement=f"{VARIANTS[hi][0]} spreads more than {VARIANTS[lo][0]}")

# %% [markdown]
# SimSiam keeps a spread of {glue:text}`linear-simsiam-healthy:.3f`; without stop-gradient or
# predictor it falls to {glue:text}`linear-collapse-no-sg:.1e` and
# {glue:text}`linear-collapse-no-pred:.1e`, the paper's ablation in miniature. The predictor sweep
# is ordered as the article predicts — frozen ({glue:text}`linear-collapse-frozen:.3f`), slower,
# default, faster. Two negative results: the toy's remedy collapses
# ({glue:text}`linear-collapse-no-sg-fast:.1e`), and so does the mean-view proposal
# ({glue:text}`linear-collapse-mean-view:.1e`): the toy does not predict which remedies carry over.

# %% mystnb={"figure": {"caption": "Linear SimSiam: output spread ($\\sqrt8\\times$ std of the normalised outputs) in training, mean of 5 seeds \u00b1 2 s.e. Left: ablations; right: predictor rate.", "name": "fig-simsiam-dynamics-linear"}}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, layout="constrained")
groups = [["simsiam", "no-sg", "no-pred", "mean-view", "no-sg-fast"],
          ["frozen", "slow", "simsiam", "fast"]]
for ax, keys in zip(axes, groups, strict=True):
    for key in keys:
        mu, se = mean_se(hist[key].T)
        ax.plot(mu, label=VARIANTS[key][0])
        ax.fill_between(range(len(mu)), mu - 2 * se, mu + 2 * se, alpha=0.2)
    ax.set(xlabel="SGD step")
    ax.legend(fontsize=8)
axes[0].set_ylabel("output spread")
plt.show()

# %% [markdown]
# ## 7. The expansion view
#
# The article's second argument reads SimSiam as minimising $\mathbb E\|\mathcal F_\theta(\mathcal
# Tx)-\eta_x\|^2$ alternately; the best $\eta_x$ is $\mathbb E_{\mathcal T}\mathcal F_\theta(\mathcal
# Tx)$, so to first order ($J=\partial\mathcal F_\theta/\partial x$) the loss is centred, while
# without stop-gradient and predictor two views are compared:
#
# $$
# \mathbb E\,\|J(\mathcal Tx-\bar x)\|^2,\quad \bar x=\mathbb E_{\mathcal T}[\mathcal Tx],
# $$ (eq-simsiam-dynamics-centred)
#
# $$
# \mathbb E\,\|J(\mathcal T_1x-\mathcal T_2x)\|^2 .
# $$ (eq-simsiam-dynamics-pair)
#
# With $\mathcal Tx=\bar x+u$, $\mathbb Eu=0$, $\mathbb Euu^\top=\Sigma$, the loss centred at $c$
# is $\|J(\bar x-c)\|^2+\operatorname{tr}(J\Sigma J^\top)$, smallest at $c=\bar x$ (not $x$); the
# pairwise loss is twice it, and for Gaussian $u$ its variance is four times the centred
# $2\operatorname{tr}((J^\top J\Sigma)^2)$. Checks: SymPy; Monte Carlo with a biased, correlated
# Gaussian augmentation in $\mathbb R^6$ and `expansion_terms` (the two quadratic forms):

# %%
u, c, xb = (sp.Matrix(sp.symbols(f"{n}1 {n}2", real=True)) for n in ("u", "c", "xb"))
Jsym = sp.Matrix(2, 2, sp.symbols("j1:5", real=True))
s11, s12, s22 = sp.symbols("s11 s12 s22", real=True)
S, v = sp.Matrix([[s11, s12], [s12, s22]]), Jsym * (xb + u - c)
quad = sp.Poly(sp.expand((v.T * v)[0]), *u)
moment = {(0, 0): 1, (1, 0): 0, (0, 1): 0, (2, 0): s11, (0, 2): s22, (1, 1): s12}
expect = sum(coef * moment[mon] for mon, coef in quad.terms())  # E over u, term by term
closed = ((Jsym * (xb - c)).T * (Jsym * (xb - c)))[0] + (Jsym * S * Jsym.T).trace()
ok = sp.expand(expect - closed) == 0
ok &= all(sp.expand(sp.diff(closed, ci).subs(dict(zip(c, xb, strict=True)))) == 0 for ci in c)
ch.claim("centred-loss-sympy", ok, equals=True, why="exact symbolic (linearity of expectation)",
         statement="E||J(Tx − c)||² = ||J(x̄ − c)||² + tr(JΣJᵀ), stationary at c = x̄")

d, k, n_mc = 6, 4, 50_000
J = ch.rng.normal(size=(k, d))
L = ch.rng.normal(size=(d, d)) / math.sqrt(d)  # Σ = L Lᵀ
x = ch.rng.normal(size=d)
xbar = x + 0.3 * ch.rng.normal(size=d)  # the augmentation shifts on average
views = [xbar + ch.rng.normal(size=(n_mc, d)) @ L.T for _ in range(2)]
a_c, b_pair = expansion_terms(J, views[0], views[1], xbar)
a_x, _ = expansion_terms(J, views[0], views[1], x)
A = J.T @ J @ (L @ L.T)
ratios = {"pair-over-centred-mean": (lambda p, q: q.mean(-1) / p.mean(-1), 2.0),
          "pair-over-centred-var": (lambda p, q: q.var(-1) / p.var(-1), 4.0)}
for name, (stat, ref) in ratios.items():
    se = float(bootstrap_se(stat, a_c, b_pair, n_boot=100, rng=ch.rng))
    ch.claim(name, float(stat(a_c, b_pair)), equals=ref, atol=4 * se,
             why="4 bootstrap standard errors (paired, 100 resamples)",
             statement=f"pairwise / centred {name.split('-')[-1]} = {ref:g}")
m_gap, se_gap = map(float, mean_se(a_x - a_c))
ch.claim("centre-at-x-costs", m_gap, equals=float(np.sum((J @ (xbar - x)) ** 2)),
         atol=4 * se_gap, why="4 Monte Carlo standard errors",
         statement="centring at x instead of x̄ costs ||J(x̄ − x)||²")
se_var = float(bootstrap_se(lambda p: p.var(-1), a_c, n_boot=100, rng=ch.rng))
ch.claim("centred-var-closed-form", float(a_c.var()), equals=float(2 * np.trace(A @ A)),
         atol=4 * se_var, why="4 bootstrap standard errors",
         statement="Var ||J u||² = 2 tr((JᵀJΣ)²) for Gaussian u")

# %% [markdown]
# The article's "larger loss and larger variance" are ratios {glue:text}`pair-over-centred-mean:.3f`
# and {glue:text}`pair-over-centred-var:.2f`. That this is *why* the un-stopped network collapses
# stays a conjecture; the article's fix collapsed in section 6.
#
# ## 8. The article's numbers
#
# Read top to bottom, the article prints the rate $\tau=0$ (BYOL to SimSiam) and the year 2009 of
# a cited paper (recorded here), the toy's factor $\frac12$, start 0.6, 0.1 and plotted limits
# ($\varphi\to1$ with stop-gradient, $\theta\to0$ otherwise; recorded in sections 1 and 4).

# %%
ch.source_number("τ=0", value=0.0, where="§SimSiam: SimSiam is BYOL with average rate 0",
                 fate="out of scope",
                 reason="a definition (our linear SimSiam's target is its online encoder)")
ch.source_number("2009", where="§Deep image prior: year of a cited paper on random CNN "
                               "features", fate="out of scope", reason="bibliographic year")

# %% [markdown]
# ## Claims

# %%
ch.table()
