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
#     date: '2021-12-29'
#     id: 8833
#     paper: 'Barron (2021), Squareplus: A Softplus-Like Algebraic Rectifier'
#     paper_url: https://arxiv.org/abs/2112.11687
#     title: 'SquarePlus: Possibly the Cheapest Smooth Approximation of ReLU'
#     title_zh: "SquarePlus\uFF1A\u53EF\u80FD\u662F\u8FD0\u7B97\u6700\u7B80\u5355\u7684\
#       ReLU\u5149\u6ED1\u8FD1\u4F3C"
#     url: https://kexue.fm/archives/8833
# ---

# %% [markdown]
# (ch-squareplus)=
# # SquarePlus
#
# ReLU is $\max(x,0) = \tfrac12(x+\sqrt{x^2})$; putting a constant $b>0$ under the square root
# gives SquarePlus, a smooth, increasing, convex function built from one square root and no
# exponential. How does it relate to SoftPlus $\log(1+e^x)$, the usual smooth ReLU? Exactly two
# numbers answer that: SquarePlus lies above SoftPlus everywhere if and only if
# $b\ge4\log^22\approx$ {glue:text}`dominance-threshold:.4f`, and the $b$ that makes the two closest in the uniform norm is
# $b^\star\approx$ {glue:text}`minimax-b:.4f`, with maximal error $\approx$ {glue:text}`minimax-error:.4f` — attained three times with
# alternating signs. This chapter derives both, checks them to the article's printed digits,
# and repairs the textbook formula, which cancels catastrophically for negative $x$ in float32.
#
# :::{prf:theorem} SquarePlus against SoftPlus
# :label: thm-squareplus
# Let $\mathrm{SP}_b(x)=\tfrac12\bigl(x+\sqrt{x^2+b}\bigr)$ with $b>0$ and
# $\mathrm{SoftPlus}(x)=\log(1+e^x)$. Then
#
# 1. $\mathrm{SP}_b'(x)=\tfrac12\bigl(1+x/\sqrt{x^2+b}\bigr)\in(0,1)$ and
#    $\mathrm{SP}_b''(x)=\dfrac{b}{2(x^2+b)^{3/2}}>0$: SquarePlus is increasing, convex, and
#    above ReLU;
# 2. $\mathrm{SP}_b(x)\ge\mathrm{SoftPlus}(x)$ for all $x$ if and only if $b\ge4\log^22$;
# 3. $\min_b\max_x|\mathrm{SP}_b(x)-\mathrm{SoftPlus}(x)|$ is attained at the unique $b^\star$
#    where the error equioscillates: $\mathrm{SoftPlus}(0)-\mathrm{SP}_{b^\star}(0) =
#    \max_x\bigl(\mathrm{SP}_{b^\star}(x)-\mathrm{SoftPlus}(x)\bigr)$;
#    $b^\star=$ {glue:text}`minimax-b:.10f`…, error {glue:text}`minimax-error:.10f`…
# :::
#
# SquarePlus was proposed by Barron {cite}`barron2021squareplus8833`; the two exercises and
# their answers are from the article {cite}`su2021squareplus8833`. Everything is float64
# unless said otherwise.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import sympy as sp
import torch
from scipy.optimize import brentq, minimize_scalar

from lib.book import Chapter
from lib.softmax import squareplus

ch = Chapter("squareplus", seed=8833)
f64 = torch.float64
EPS = torch.finfo(f64).eps


def softplus(x):
    """log(1 + e^x) without the cut-off that torch.nn.functional.softplus applies at x > 20."""
    return torch.logaddexp(x, torch.zeros_like(x))


# %% [markdown]
# ## 1. Definition, derivatives, convexity
#
# For $b>0$,
#
# $$
# \mathrm{SP}_b(x) = \frac{x+\sqrt{x^2+b}}{2},
# \qquad
# \mathrm{SP}_b'(x) = \frac12\Bigl(1+\frac{x}{\sqrt{x^2+b}}\Bigr),
# \qquad
# \mathrm{SP}_b''(x) = \frac{b}{2(x^2+b)^{3/2}} .
# $$ (eq-squareplus-def)
#
# Since $|x|<\sqrt{x^2+b}$, the first derivative lies strictly between 0 and 1 and the second
# is positive, so $\mathrm{SP}_b$ is increasing and convex; and $\sqrt{x^2+b}>|x|$ puts it
# strictly above $\max(x,0)$, to which it tends as $b\to0$. Two more facts will matter below.
# Both functions satisfy the same *reflection law*
#
# $$
# f(x) - f(-x) = x ,
# $$ (eq-squareplus-reflection)
#
# for SquarePlus because the square-root terms cancel, for SoftPlus because
# $(1+e^x)/(1+e^{-x})=e^x$. Hence their difference $d_b=\mathrm{SP}_b-\mathrm{SoftPlus}$ is an
# **even** function. SymPy confirms all of this:

# %%
x = sp.symbols("x", real=True)
b = sp.symbols("b", positive=True)
SP = (x + sp.sqrt(x**2 + b)) / 2
d1_ok = sp.simplify(sp.diff(SP, x) - (1 + x / sp.sqrt(x**2 + b)) / 2) == 0
d2_ok = sp.simplify(sp.diff(SP, x, 2) - b / (2 * (x**2 + b) ** sp.Rational(3, 2))) == 0
refl_sp = sp.simplify(SP - SP.subs(x, -x) - x) == 0
refl_soft = sp.simplify((1 + sp.exp(x)) / (1 + sp.exp(-x)) - sp.exp(x)) == 0
ch.claim("derivatives-sympy", d1_ok and d2_ok, equals=True, why="exact symbolic",
         statement="the first and second derivatives in eq. (eq-squareplus-def)")
ch.claim("reflection-law-sympy", refl_sp and refl_soft, equals=True, why="exact symbolic",
         statement="SquarePlus and SoftPlus both satisfy f(x) - f(-x) = x")

# %% [markdown]
# The library function implements the definition in a form that stays accurate in float32
# (section 4 explains the second branch):
#
# :::{admonition} Code: `squareplus` (lib/softmax/activations.py, 44 lines)
# :class: dropdown
# ```{literalinclude} /lib/softmax/activations.py
# :pyobject: squareplus
# ```
# :::
#
# Autograd through it reproduces the closed-form derivatives, and on a fine grid the second
# derivative is positive and the function lies above ReLU. (For $x<0$ the reference first
# derivative is evaluated as $b/\bigl(2h(h-x)\bigr)$ with $h=\sqrt{x^2+b}$, which equals
# {eq}`eq-squareplus-def` but does not cancel.)

# %%
xs = torch.linspace(-30, 30, 6001, dtype=f64, requires_grad=True)
bb = 1.5
(g1,) = torch.autograd.grad(squareplus(xs, bb).sum(), xs, create_graph=True)
(g2,) = torch.autograd.grad(g1.sum(), xs)
xd = xs.detach()
h = torch.sqrt(xd**2 + bb)
ref1 = torch.where(xd < 0, bb / (2 * h * (h - xd)), 0.5 * (1 + xd / h))
err1 = ((g1 - ref1).abs() / ref1).max()
err2 = ((g2 - bb / (2 * h**3)).abs() / g2).max()
amp = 1 + float(xd.max()) ** 2 / bb  # cancellation factor x^2/b of 1/h - x^2/h^3 at |x| = 30
ch.claim("autograd-first-derivative", err1 / EPS, at_most=16.0,
         why="a handful of float64 operations without cancellation: a few ulp",
         statement="autograd equals the closed-form first derivative (max relative error, ulp)")
ch.claim("autograd-second-derivative", err2 / EPS, at_most=4 * amp,
         why="autograd forms b/h^3 as 1/h - x^2/h^3 on x >= 0, amplifying a few ulp by x^2/b",
         statement="autograd equals the closed-form second derivative (max relative error, ulp)")
ch.claim("convex-and-above-relu",
         bool((g2 > 0).all() and (squareplus(xd, bb) > torch.relu(xd)).all()), equals=True,
         why="exact sign checks on 6001 points", statement="SP'' > 0 and SP > ReLU on the grid")

# %% mystnb={"figure": {"caption": "ReLU, SoftPlus and SquarePlus for four values of $b$. At $b=4\\log^22$ SquarePlus touches SoftPlus at $x=0$ and stays above it; at the minimax $b^\\star$ it crosses SoftPlus and stays within its minimax error of it everywhere.", "name": "fig-squareplus-functions"}}
B_DOM = 4 * math.log(2) ** 2
xp = torch.linspace(-4, 4, 801, dtype=f64)
fig, ax = plt.subplots()
ax.plot(xp, torch.relu(xp), "k-", lw=1, label="ReLU")
ax.plot(xp, softplus(xp), "k--", label="SoftPlus")
for bv, lab in [(1.0, "$b=1$"), (1.5238, r"$b\approx b^\star$"),
                (B_DOM, r"$b=4\log^2 2$"), (4.0, "$b=4$")]:
    ax.plot(xp, squareplus(xp, bv), label=f"SquarePlus, {lab}")
ax.set_xlabel("$x$")
ax.set_ylabel("activation")
ax.set_xlim(-4, 4)
ax.set_ylim(-0.1, 4.2)
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Exercise 1: when does SquarePlus dominate SoftPlus?
#
# Write $L(x)=\log(1+e^x)>0$. The inequality $\mathrm{SP}_b(x)\ge L(x)$ reads
# $\sqrt{x^2+b}\ge 2L(x)-x$. The right side is positive, because $2L(x)-x = L(x)+L(-x)$ by
# {eq}`eq-squareplus-reflection`, so squaring is an equivalence:
#
# $$
# \mathrm{SP}_b(x)\ge L(x)\iff b \ge (2L(x)-x)^2-x^2 = 4L(x)\bigl(L(x)-x\bigr) = 4L(x)L(-x) =: g(x).
# $$ (eq-squareplus-dominate)
#
# So SquarePlus dominates SoftPlus everywhere iff $b\ge\max_x g(x)$. The maximum is at $x=0$:
# the function $\log L(x)=\log\log(1+e^x)$ is concave, because
#
# $$
# \frac{d^2}{dx^2}\log\log(1+e^x) = \frac{e^x\bigl(\log(1+e^x)-e^x\bigr)}{(1+e^x)^2\log^2(1+e^x)}
# $$ (eq-squareplus-loglog)
#
# and $\log(1+u)<u$ for $u>0$ makes the numerator negative. Jensen's inequality at the two
# points $x$ and $-x$ then gives $\tfrac12[\log L(x)+\log L(-x)]\le\log L(0)=\log\log2$, that is
# $g(x)\le4\log^22$, with equality only at $x=0$. First the algebra of
# {eq}`eq-squareplus-dominate` and the second derivative {eq}`eq-squareplus-loglog`:

# %%
L = sp.log(1 + sp.exp(x))
Lm = sp.log(1 + sp.exp(-x))
alg_ok = sp.simplify(sp.expand((2 * L - x) ** 2 - x**2 - 4 * L * (L - x))) == 0
ll2 = sp.diff(sp.log(L), x, 2)
target = sp.exp(x) * (L - sp.exp(x)) / ((1 + sp.exp(x)) ** 2 * L**2)
ll_ok = sp.simplify(ll2 - target) == 0
ch.claim("dominance-algebra-sympy", alg_ok and ll_ok, equals=True, why="exact symbolic",
         statement="eq. (eq-squareplus-dominate) and the second derivative (eq-squareplus-loglog)")

# %% [markdown]
# Then the numbers. On a grid of $x\in[-40,40]$ with step $5\cdot10^{-4}$ the maximum of $g$
# is taken at $x=0$ and equals $4\log^22$ to rounding; the second derivative
# {eq}`eq-squareplus-loglog` is negative everywhere on the grid; with $b=4\log^22$ the gap
# $\mathrm{SP}_b-\mathrm{SoftPlus}$ never goes below zero, and with the slightly smaller
# $b=1.9$ it does.

# %%
xg = torch.arange(-80_000, 80_001, dtype=f64) * 5e-4  # x = 0 exactly at the centre
g = 4 * softplus(xg) * softplus(-xg)
i_max = int(g.argmax())
ch.claim("dominance-threshold", B_DOM, between=(1.921812, 1.921813),
         why="the article prints 1.921812...; 4 log^2 2 computed to 1 ulp",
         statement="4 log^2 2 = 1.921812... (article's digits)")
ch.claim("g-max-at-zero", float(xg[i_max]), equals=0.0, atol=0.0,
         why="exact: x = 0 is a grid point and the maximiser",
         statement="g(x) = 4 L(x) L(-x) is largest at x = 0")
ch.claim("g-max-equals-4log2sq", float(g.max()), equals=B_DOM, rtol=4 * EPS,
         why="float64: two logaddexp and two products, a few ulp",
         statement="max g = 4 log^2 2")
lam = xg.exp()
ll2_num = lam * (softplus(xg) - lam) / ((1 + lam) ** 2 * softplus(xg) ** 2)
ch.claim("loglog-concave", float(ll2_num[xg.abs() < 30].max()), at_most=0.0,
         why="sign check; |x| < 30 keeps e^x and its square finite",
         statement="the second derivative of log log(1 + e^x) is negative on the grid")
gap_dom = squareplus(xg, B_DOM) - softplus(xg)
ch.claim("gap-nonnegative-at-threshold", float(gap_dom.min()), at_least=0.0, atol=4 * EPS,
         why="the gap is exactly 0 at x = 0; rounding of numbers ~0.7 is a few ulp",
         statement="with b = 4 log^2 2, SquarePlus >= SoftPlus on the grid")
ch.claim("gap-negative-below-threshold",
         float((squareplus(xg, 1.9) - softplus(xg)).min()), at_most=-1e-3,
         why="exact value at x = 0 is sqrt(1.9)/2 - log 2 = -0.0040, far beyond rounding",
         statement="with b = 1.9 SquarePlus dips below SoftPlus")


# %% [markdown]
# ## 3. Exercise 2: the best uniform approximation
#
# Now choose $b$ to minimise $E(b)=\max_x|d_b(x)|$ with $d_b=\mathrm{SP}_b-\mathrm{SoftPlus}$.
# The article solves this numerically (Powell's method on a grid over $[-2,4)$); here is a
# route to all the digits. Three facts pin the optimum down.
#
# * $d_b$ is even ({eq}`eq-squareplus-reflection`), so only $x\ge0$ matters.
# * $d_b(x)$ increases with $b$ for every $x$ ($\partial_b\mathrm{SP}_b=1/(4\sqrt{x^2+b})>0$).
# * For $b$ near 1.5, $d_b$ is negative at 0, $d_b(0)=\sqrt b/2-\log2$, rises to one positive
#   maximum at some $x^\star(b)>0$ where $d_b'(x^\star)=0$, and decays to $0^+$ (since
#   $d_b(x)\approx b/(4x)$ for large $x$).
#
# So $E(b)=\max\{-d_b(0),\,d_b(x^\star(b))\}$: the first term falls and the second rises as $b$
# grows, and the minimum is where they meet,
#
# $$
# d_{b^\star}\bigl(x^\star(b^\star)\bigr) = -d_{b^\star}(0),
# $$ (eq-squareplus-equioscillation)
#
# an *equioscillation*: the error reaches its maximum modulus at $-x^\star,0,x^\star$ with
# alternating signs. Equation {eq}`eq-squareplus-equioscillation` is one smooth equation in
# $b$, solved below by nested root-finding ($x^\star$ from $d_b'=0$, then $b$), each to
# $10^{-15}$.

# %%
def d(xv, bv):
    t = torch.tensor(xv, dtype=f64)
    return float(squareplus(t, bv) - softplus(t))


def d_prime(xv, bv):
    return 0.5 * (1 + xv / math.sqrt(xv * xv + bv)) - 1 / (1 + math.exp(-xv))


def x_star(bv):
    return brentq(d_prime, 0.5, 20.0, args=(bv,), xtol=1e-15)


b_star = brentq(lambda bv: d(x_star(bv), bv) + d(0.0, bv), 1.0, 2.0, xtol=1e-15)
x_peak = x_star(b_star)
err_star = -d(0.0, b_star)
ch.claim("minimax-b", b_star, between=(1.52382103, 1.52382104),
         why="the article prints b = 1.52382103...; root-finding error ~1e-15",
         statement="minimax b* = 1.52382103... (article's digits)")
ch.claim("minimax-error", err_star, between=(0.075931, 0.075932),
         why="the article prints 0.075931...; error of d(0) a few ulp",
         statement="minimax error 0.075931... (article's digits)")

# %% [markdown]
# The optimum is $b^\star=$ {glue:text}`minimax-b:.10f` with maximal error
# {glue:text}`minimax-error:.10f`, agreeing with every digit the article prints. The positive
# peaks sit at $x=\pm${glue:text}`peak-location:.4f`.
#
# Two independent checks. First, a brute-force minimax that knows nothing about
# equioscillation: the inner maximum of $|d_b|$ on a grid of $[-20,20]$ with step $10^{-4}$,
# the outer minimum by bounded Brent search. The grid misses a peak by at most
# $\tfrac12\max|d_b''|h^2\approx10^{-9}$ in the error, which moves $b$ by about that amount
# divided by the slope of $E$ at the kink ($\approx0.2$). Second, on a dense grid the error
# of $b^\star$ equioscillates: its maximum and minus its minimum agree.

# %%
xb = torch.linspace(-20, 20, 400_001, dtype=f64)
sp_xb = softplus(xb)
res = minimize_scalar(lambda bv: float((squareplus(xb, bv) - sp_xb).abs().max()),
                      bounds=(1.0, 2.0), method="bounded", options={"xatol": 1e-11})
ch.claim("minimax-b-brute-force", res.x, equals=b_star, atol=1e-7,
         why="grid error ~1e-9 in E divided by the slope ~0.2 of E at its kink, x20 margin",
         statement="a grid-based minimax finds the same b")
d_star = squareplus(xb, b_star) - sp_xb
ch.claim("peak-location", x_peak, equals=float(xb[int(d_star.argmax())].abs()), atol=1e-4,
         why="one grid step (1e-4): the root of d_b' against the grid maximiser",
         statement="the positive error peaks are where d_b'(x) = 0 (root against the grid maximiser)")
ch.claim("equioscillation", float(d_star.max() + d_star.min()), equals=0.0, atol=1e-9,
         why="grid step 1e-4 misses the smooth peak by <= max|d''| h^2 / 2 ~ 1e-9",
         statement="max d = -min d at b*: three extremes of equal size")
ch.claim("even-error", float((d_star - d_star.flip(0)).abs().max()), at_most=0.0,
         atol=8 * EPS * 20, why="float64 rounding of numbers up to 20, a few ulp",
         statement="d_b is an even function")

# %% mystnb={"figure": {"caption": "The error $\\mathrm{SquarePlus}_b-\\mathrm{SoftPlus}$ for the minimax $b^\\star$ (it touches $\\pm E(b^\\star)$ three times with alternating signs) and for $b=4\\log^22$ (never negative, zero at $x=0$).", "name": "fig-squareplus-error"}}
xe = torch.linspace(-10, 10, 2001, dtype=f64)
fig, ax = plt.subplots()
ax.plot(xe, squareplus(xe, b_star) - softplus(xe), label=r"$b=b^\star$")
ax.plot(xe, squareplus(xe, B_DOM) - softplus(xe), label=r"$b=4\log^2 2$")
for s in (1, -1):
    ax.axhline(s * err_star, color="k", ls=":", lw=1)
ax.set_xlabel("$x$")
ax.set_ylabel(r"$\mathrm{SquarePlus}_b(x)-\mathrm{SoftPlus}(x)$")
ax.legend()
plt.show()

# %% [markdown]
# The article's grid, $[-2,4)$, contains only the right-hand peak; evenness of $d_b$ makes that
# harmless, since the left peak has the same height.
#
# ## 4. Float32: the textbook formula cancels
#
# For $x\ll0$, $\sqrt{x^2+b}\approx|x|$ and the sum $x+\sqrt{x^2+b}$ subtracts two nearly equal
# numbers. Rounding the square root costs an absolute error of about
# $\varepsilon|x|$ ($\varepsilon$ the unit roundoff), while the true value is only
# $\mathrm{SP}_b(x)\approx b/(4|x|)$, so the relative error grows like $4\varepsilon x^2/b$ and
# the answer is pure noise once $|x|\gtrsim\sqrt{b/\varepsilon}$, about $3500$ in float32.
# Multiplying and dividing by the conjugate removes the subtraction:
#
# $$
# \mathrm{SP}_b(x) = \frac{b}{2\bigl(\sqrt{x^2+b}-x\bigr)} \qquad (x<0),
# $$ (eq-squareplus-stable)
#
# where the denominator adds two positive numbers. The library uses this branch for $x<0$
# (and `hypot` for the square root, so $x^2$ never overflows).

# %%
B = 1.5238
x32 = -torch.logspace(-2, 6, 321, dtype=torch.float32)
truth = squareplus(x32.double(), B)
naive = 0.5 * (x32 + torch.sqrt(x32 * x32 + B))  # the textbook formula, float32
stable = squareplus(x32, B)
rel_naive = ((naive.double() - truth).abs() / truth)
rel_stable = ((stable.double() - truth).abs() / truth)
eps32 = torch.finfo(torch.float32).eps
x_1e4 = torch.tensor([-1e4], dtype=torch.float32)
ch.claim("naive-float32-at-minus-1e4", float(0.5 * (x_1e4 + torch.sqrt(x_1e4 * x_1e4 + B))),
         equals=0.0, why="exact: x^2 + b rounds to x^2 in float32, the sum cancels to 0",
         statement="the textbook formula returns 0 at x = -1e4 in float32")
ch.claim("true-value-at-minus-1e4", float(squareplus(torch.tensor(-1e4, dtype=f64), B)),
         equals=B / 4e4, rtol=1e-8, why="asymptotic b/(4|x|), relative correction b/(4x^2)",
         statement="whereas the true value is b/(4|x|) = 3.81e-5")
ch.claim("naive-error-within-rounding-model",
         float((rel_naive / (4 * eps32 * x32.double() ** 2 / B + 2 * eps32)).max()),
         at_most=1.0, why="rounding analysis: |error| <= eps |x| (square root) + eps |result|",
         statement="the naive relative error obeys the bound 4 eps x^2 / b + 2 eps")
ch.claim("stable-float32-relative-error", float(rel_stable.max() / eps32), at_most=4.0,
         why="a handful of correctly rounded float32 operations, each <= eps/2",
         statement="the stable form is accurate to a few float32 ulp for all x in [-1e6, -1e-2]")

# %% mystnb={"figure": {"caption": "Relative error of SquarePlus ($b=1.5238$) in float32 for negative $x$. The textbook formula follows the rounding model $4\\varepsilon x^2/b$ and returns 0 (relative error 1) from $|x|\\approx10^4$ on; the conjugate form {eq}`eq-squareplus-stable` stays at the level of $\\varepsilon$.", "name": "fig-squareplus-float32"}}
fig, ax = plt.subplots()
ax.loglog(-x32, rel_naive.clamp_min(1e-10), label="textbook $(x+\\sqrt{x^2+b})/2$")
ax.loglog(-x32, rel_stable.clamp_min(1e-10), label="conjugate form (library)")
ax.loglog(-x32, (4 * eps32 * x32.double() ** 2 / B).clamp(max=1.0), "k:",
          label=r"model $4\varepsilon x^2/b$")
ax.set_xlabel("$-x$")
ax.set_ylabel("relative error (float32)")
ax.set_ylim(1e-10, 3)
ax.legend()
plt.show()

# %% [markdown]
# ## 5. Is it faster?
#
# The paper's motivation is speed: one square root instead of an exponential and a logarithm.
# Timing is not something a chapter can assert — it depends on the machine and its load — so
# it lives in a benchmark script, `benchmarks/squareplus.py`, which times the library
# SquarePlus, the textbook formula, `torch.nn.functional.softplus` and `logaddexp` side by side
# on the CPU and prints their ratios. When we ran it in eager PyTorch, the library SquarePlus
# was several times *slower* than `F.softplus`, and even the textbook formula was not reliably
# faster: every elementwise operation is a separate pass over memory, and SoftPlus is one fused
# kernel while SquarePlus is several (the accurate form of section 4 needs about twice as many
# as the textbook one). A speed advantage needs a fused or compiled implementation; run the
# script to see the ratios on your machine.
#
# ## The article's numbers
#
# The article prints three results — the dominance threshold and the minimax $b^\star$ and error
# — and all three are reproduced above to the digits it prints. Its other numerals are inputs of
# its numerical search (the grid $[-2,4)$ with step $10^{-4}$, the optimiser's tolerances $10^{-10}$)
# and of a figure ($b=1$); the paper's CPU timing table is not printed in the article. The list
# was made by reading every number in the article's text and code.

# %%
ch.source_number("1.921812", where="Approximation, exercise 1", fate="reproduced", claim="dominance-threshold")
ch.source_number("1.52382103", where="Approximation, exercise 2", fate="reproduced", claim="minimax-b")
ch.source_number("0.075931", where="Approximation, exercise 2", fate="reproduced", claim="minimax-error")
ch.source_number("0.0001", where="Approximation, the article's search code (grid step on [-2, 4))",
                 fate="out of scope", reason="an input of the article's numerical search, not a result")
ch.source_number("1e-10", where="Approximation, the article's search code (Powell tolerances)",
                 fate="out of scope", reason="an input of the article's numerical search, not a result")

# %% [markdown]
# ## Claims

# %%
ch.table();
