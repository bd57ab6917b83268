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
#     date: '2022-01-18'
#     id: 8870
#     title: 'Musings on Multi-Task Learning (1): In the Name of the Loss'
#     title_zh: "\u591A\u4EFB\u52A1\u5B66\u4E60\u6F2B\u8C08\uFF08\u4E00\uFF09\uFF1A\u4EE5\
#       \u635F\u5931\u4E4B\u540D"
#     url: https://kexue.fm/archives/8870
# ---

# %% [markdown]
# (ch-multitask-loss-weighting)=
# # Weighting the losses of several tasks
#
# A network trained on several tasks must add losses of different units and sizes: how should
# they be weighted so that no task swamps the others? The article {cite}`8870-su-multitask`
# answers with invariances. The combination should not care if a loss is multiplied by a constant,
# and ideally not if a constant is added to it. Dividing each loss by its initial value or by its
# own stopped-gradient value removes the scale. Dividing by its gradient norm removes scale and
# shift. Each step is derived and checked below, the power mean that links the sum to the
# stopped-gradient scheme is computed stably, and a toy with two conflicting tasks, one scaled by
# 1000, measures which scheme balances them. The measurement adds what the article does not say: a
# noise floor acts like an additive shift, so the schemes that ignore scale but not shift favour
# the task with the lower floor.
#
# :::{prf:proposition} Scale- and shift-invariant loss weighting
# :label: thm-multitask-loss-weighting
# Let $\mathcal L_1,\dots,\mathcal L_n>0$ be task losses of shared parameters $\theta$, and write
# every objective's gradient as $\sum_i\omega_i\nabla\mathcal L_i$.
#
# 1. The weights $\omega_i=1/\mathcal L_i^{(0)}$ (initial loss) and $\omega_i=1/\mathcal L_i$ (stopped
#    gradient) keep the update direction under $\mathcal L_i\to c_i\mathcal L_i$ ($c_i>0$), not under
#    $\mathcal L_i\to\mathcal L_i+s_i$; the plain sum does the opposite.
# 2. $\nabla\sum_i\mathcal L_i/\mathrm{sg}(\mathcal L_i)=\nabla\sum_i\log\mathcal L_i=\frac nG\nabla G$
#    with $G$ the geometric mean of the losses.
# 3. The power mean $M_\gamma=(\frac1n\sum_i\mathcal L_i^\gamma)^{1/\gamma}$ satisfies
#    $\frac{d}{d\gamma}\log M_\gamma=\mathrm{KL}(q_\gamma\|u)/\gamma^2\ge0$, $M_0=G$,
#    $M_{\pm\infty}=\max/\min$; rescaling task $i$ multiplies its weight by $c_i^\gamma$, so only
#    $\gamma=0$ is scale-invariant.
# 4. $\sum_i\mathcal L_i/\mathrm{sg}(\|\nabla\mathcal L_i\|)$ has the gradient
#    $\sum_i\nabla\mathcal L_i/\|\nabla\mathcal L_i\|$, invariant under both transformations.
# :::
#
# GradNorm {cite}`8870-chen-gradnorm` is the closest published method to item 4; the monotonicity
# of power means is classical {cite}`8870-hardy-inequalities`.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import sympy as sp
import torch
from scipy.optimize import minimize

from lib import optimization as mt
from lib.book import Chapter, show_table
from lib.stats import mean_se, paired_t

ch = Chapter("multitask-loss-weighting", seed=8870)
f64 = torch.float64
EPS = torch.finfo(f64).eps
cosine, ce = torch.nn.functional.cosine_similarity, torch.nn.functional.cross_entropy

# %% [markdown]
# ## 1. Four ways to add the losses
#
# With $\mathrm{sg}(\cdot)$ the stop-gradient (a constant for differentiation) the four schemes are
#
# $$
# \sum_i\mathcal L_i,\qquad \sum_i\frac{\mathcal L_i}{\mathcal L_i^{(0)}},\qquad
# \sum_i\frac{\mathcal L_i}{\mathrm{sg}(\mathcal L_i)},\qquad
# \sum_i\frac{\mathcal L_i}{\mathrm{sg}(\|\nabla_\theta\mathcal L_i\|)} .
# $$ (eq-multitask-loss-weighting-schemes)
#
# The normaliser $\mathcal L_i^{(0)}$ can be measured on a few batches or predicted. A network whose
# outputs start near zero predicts the uniform distribution for a $K$-class task and zero for a
# regression; a slightly better reference is the loss of the best input-independent prediction
# (the label frequencies $\hat p$, the mean target $\bar y$):
#
# $$
# \begin{gathered}
# \mathcal L^{(0)}_{\rm CE}=\log K,\qquad \mathcal L^{\rm prior}_{\rm CE}=H(\hat p),\\
# \mathcal L^{(0)}_{\rm MSE}=\overline{\|y\|^2},\qquad \mathcal L^{\rm prior}_{\rm MSE}=\overline{\|y-\bar y\|^2} .
# \end{gathered}
# $$ (eq-multitask-loss-weighting-ref)
#
# `reference_loss` returns these. Independent checks: the cross-entropy of all-zero logits is
# $\log K$; a BFGS search over constant logit vectors finds no loss below the entropy $H(\hat p)$.

# %%
y10 = torch.as_tensor(ch.rng.integers(0, 10, size=1000))
ch.claim("ce-init-is-log-k", mt.reference_loss(y10, "ce", "init", num_classes=10),
         equals=float(ce(torch.zeros(1000, 10, dtype=f64), y10)), rtol=16 * EPS,
         why="float64 rounding of a mean of 1000 equal terms",
         statement="log K (K = 10) is the cross-entropy of all-zero logits")
y5 = torch.as_tensor(ch.rng.choice(5, size=1000, p=[0.5, 0.2, 0.15, 0.1, 0.05]))
best = minimize(lambda z: float(ce(torch.tensor(z).expand(1000, 5), y5)), np.zeros(5),
                method="BFGS", options={"gtol": 1e-9})
ch.claim("ce-prior-is-best-constant", mt.reference_loss(y5, "ce", "prior"), equals=best.fun,
         atol=1e-12, why="BFGS stops at gradient norm 1e-9, a value error ~1e-18 / curvature; "
         "plus float64 rounding of a mean of 1000 terms (~1e-13)",
         statement="the entropy of the label frequencies is the best constant-prediction loss")

# %% [markdown]
# For $K=10$ the initial loss is {glue:text}`ce-init-is-log-k:.6f`. The four schemes are one
# function with detached denominators:
#
# ```{literalinclude} /lib/optimization/multitask.py
# :pyobject: combine_losses
# ```
#
# ## 2. Which transformations each scheme ignores
#
# The schemes' gradients are $\sum_i\omega_i\nabla\mathcal L_i$ with $\omega_i=1$,
# $1/\mathcal L_i^{(0)}$, $1/\mathcal L_i$ or $1/\|\nabla\mathcal L_i\|$. Replace task 2 by
# $c\mathcal L_2+s$ ($c>0$): its gradient becomes $c\nabla\mathcal L_2$, its measured initial value
# $c\mathcal L^{(0)}_2+s$, its gradient norm $c\|\nabla\mathcal L_2\|$. The update direction is
# unchanged exactly when the relative weight of the original $\nabla\mathcal L_2$,
#
# $$
# \rho(c,s)=\frac{c\,\omega_2(c\mathcal L_2+s)}{\omega_1(\mathcal L_1)},
# $$ (eq-multitask-loss-weighting-ratio)
#
# does not move. SymPy computes $\rho(c,0)/\rho(1,0)$ and $\rho(1,s)/\rho(1,0)$ for each scheme
# and for the power mean of §4 ($\omega_i\propto\mathcal L_i^{\gamma-1}$):

# %%
L1, L2, a1, a2, N1, N2, c, s, gam = sp.symbols("L1 L2 a1 a2 N1 N2 c s gamma", positive=True)
weights = {"sum": lambda L, a, N: sp.Integer(1), "init": lambda L, a, N: 1 / a,
           "sg": lambda L, a, N: 1 / L, "grad": lambda L, a, N: 1 / N,
           "power mean": lambda L, a, N: L ** (gam - 1)}


def rho(w, cc, ss):
    return cc * w(cc * L2 + ss, cc * a2 + ss, cc * N2) / w(L1, a1, N1)


factors = {k: (sp.simplify(rho(w, c, 0) / rho(w, 1, 0)), sp.simplify(rho(w, 1, s) / rho(w, 1, 0)))
           for k, w in weights.items()}
show_table(["scheme", "ρ(c,0)/ρ(1,0)", "ρ(1,s)/ρ(1,0)"],
           [[k, str(a), str(b)] for k, (a, b) in factors.items()])
invariant = {k: (a == 1, b == 1) for k, (a, b) in factors.items() if k != "power mean"}
expected = {"sum": (False, True), "init": (True, False), "sg": (True, False), "grad": (True, True)}
ch.claim("invariance-table-sympy", invariant == expected, equals=True, why="exact symbolic",
         statement="sum: shift-invariant only; init, sg: scale-invariant only; grad: both")
ch.claim("power-mean-weight-factor-sympy", sp.simplify(factors["power mean"][0] - c**gam) == 0,
         equals=True, why="exact symbolic",
         statement="rescaling a task by c multiplies its power-mean weight by c^gamma")

# %% [markdown]
# The last row is the point the article leaves implicit: a power mean is scale-invariant per task
# only at $\gamma=0$, and shift-invariant only at $\gamma=1$ (the sum).
#
# ## 3. The stopped-gradient scheme is the geometric mean
#
# Each term $\mathcal L_i/\mathrm{sg}(\mathcal L_i)$ has the value 1 and the gradient
# $\nabla\mathcal L_i/\mathcal L_i=\nabla\log\mathcal L_i$. Summing, with $G=(\prod_i\mathcal
# L_i)^{1/n}$,
#
# $$
# \nabla\sum_i\frac{\mathcal L_i}{\mathrm{sg}(\mathcal L_i)}=\sum_i\frac{\nabla\mathcal L_i}{\mathcal L_i}
# =\nabla\sum_i\log\mathcal L_i=n\,\nabla\log G=\frac nG\,\nabla G ,
# $$ (eq-multitask-loss-weighting-sg)
#
# a positive multiple of the geometric mean's gradient (the same $\sum_i\log\mathcal L_i$ is what
# uncertainty weighting {cite}`8870-kendall-uncertainty` reduces to once its variances are optimal).
# The numerical checks use the toy of §6, two least-squares tasks $\mathcal
# L_i(w)=\frac1N\|X_iw-y_i\|^2$ sharing $w\in\mathbb R^5$, whose gradients $\frac2NX_i^\top(X_iw-y_i)$
# give an independent closed form.

# %%
th = sp.symbols("theta", real=True)
Lf = [sp.Function(f"L{i}")(th) for i in range(1, 4)]
G3 = (Lf[0] * Lf[1] * Lf[2]) ** sp.Rational(1, 3)
ch.claim("sg-is-geometric-mean-sympy",
         sp.simplify(sp.diff(G3, th) - G3 / 3 * sum(sp.diff(f, th) / f for f in Lf)) == 0,
         equals=True, why="exact symbolic", statement="grad G = (G/n) sum grad L_i / L_i (n = 3)")

X, Y = mt.linear_tasks(ch.rng, replicates=40, n=200, d=5, noise=(1.0, 0.1))
w = torch.tensor(ch.rng.normal(size=5), dtype=f64, requires_grad=True)
Lw = mt.linear_task_losses(w.expand(40, 5), X, Y)[0]  # replicate 0 at a random point
r = torch.einsum("tnd,d->tn", X[0], w.detach()) - Y[0]
G_task = 2 * torch.einsum("tnd,tn->td", X[0], r) / X.shape[2]  # closed-form task gradients
obj_sg = mt.combine_losses(Lw, "sg")
(g_sg,) = torch.autograd.grad(obj_sg, w, retain_graph=True)
(g_geo,) = torch.autograd.grad(mt.power_mean(Lw, 0.0), w)
ch.claim("sg-value-is-n", obj_sg, equals=2.0, why="IEEE division x/x is exactly 1",
         statement="every term L_i / sg(L_i) has the value 1")
ch.claim("sg-gradient-closed-form", (g_sg - (G_task / Lw.detach()[:, None]).sum(0)).abs().max(),
         at_most=64 * EPS * float(g_sg.abs().max()),
         why="float64 rounding of sums of 200 products (~64 ulp of the gradient's scale)",
         statement="the sg gradient is sum grad L_i / L_i, which is not 0")
ch.claim("sg-parallel-to-geometric-mean", cosine(g_sg, g_geo, dim=0), equals=1.0, atol=8 * EPS,
         why="cosine of two float64 vectors that agree to rounding",
         statement="Eq. (sg): the sg gradient is parallel to grad G")

# %% [markdown]
# ## 4. The power mean, and how to compute it
#
# The article generalises the arithmetic mean ($\gamma=1$) and the geometric mean to
#
# $$
# M_\gamma=\Bigl(\frac1n\sum_i\mathcal L_i^\gamma\Bigr)^{1/\gamma},\qquad
# \log M_\gamma=\frac1\gamma\log\frac1n\sum_ie^{\gamma\ell_i},\quad \ell_i=\log\mathcal L_i .
# $$ (eq-multitask-loss-weighting-power)
#
# **Limit $\gamma\to0$.** Expanding $e^{\gamma\ell_i}=1+\gamma\ell_i+O(\gamma^2)$ gives
# $\log M_\gamma\to\bar\ell$, so $M_0=G$. **Monotonicity.** With $q_i\propto e^{\gamma\ell_i}$ and
# $u$ uniform, differentiating {eq}`eq-multitask-loss-weighting-power` gives
#
# $$
# \frac{d}{d\gamma}\log M_\gamma
# =\frac1{\gamma^2}\Bigl(\gamma\sum_iq_i\ell_i-\log\frac1n\sum_ie^{\gamma\ell_i}\Bigr)
# =\frac{\mathrm{KL}(q\,\|\,u)}{\gamma^2}\ \ge0 .
# $$ (eq-multitask-loss-weighting-dgamma)
#
# **Limits $\gamma\to\pm\infty$.** For $\gamma>0$ the sum lies between $e^{\gamma\ell_{\max}}$ and
# $n\,e^{\gamma\ell_{\max}}$, so $\ell_{\max}-\frac{\log n}{\gamma}\le\log M_\gamma\le\ell_{\max}$;
# for $\gamma<0$ the same holds with the minimum. SymPy checks the three steps ($n=3$):

# %%
g_ = sp.symbols("gamma", nonzero=True)
ls = sp.symbols("l1:4", real=True)
logM = sp.log(sum(sp.exp(g_ * v) for v in ls) / 3) / g_
ch.claim("power-limit-zero-sympy", sp.simplify(sp.limit(logM, g_, 0) - sum(ls) / 3) == 0,
         equals=True, why="exact symbolic", statement="log M_gamma -> mean log L as gamma -> 0")
Zs = sum(sp.exp(g_ * v) for v in ls)
kl = sum(sp.exp(g_ * v) / Zs * sp.log(3 * sp.exp(g_ * v) / Zs) for v in ls)
ch.claim("power-derivative-kl-sympy",
         sp.simplify(sp.expand_log(sp.expand(sp.diff(logM, g_) - kl / g_**2), force=True)) == 0,
         equals=True, why="exact symbolic",
         statement="Eq. (dgamma): d log M / d gamma = KL(q||u) / gamma^2")
M3 = ((sp.Rational(1, 2) ** g_ + 2**g_ + 8**g_) / 3) ** (1 / g_)
lims = (sp.limit(M3, g_, sp.oo), sp.limit(M3, g_, -sp.oo))
ch.claim("power-limits-infinity-sympy", lims == (8, sp.Rational(1, 2)), equals=True,
         why="exact symbolic", statement="M_gamma(1/2, 2, 8) -> 8 and 1/2 as gamma -> +-inf")

# %% [markdown]
# Computing {eq}`eq-multitask-loss-weighting-power` literally fails at both ends: $\mathcal
# L_i^\gamma$ overflows for large $|\gamma|$, and for tiny $\gamma$ every $\mathcal L_i^\gamma$ is
# $1+O(\gamma)$, so the mean loses its information to rounding before the $1/\gamma$ power
# magnifies the error. `power_mean` works with $d_i=\ell_i-\bar\ell$: `log1p`/`expm1` when
# $|\gamma|\max|d_i|\le1$, else a `logsumexp` shifted by the extreme entry. It is checked against
# SymPy's exact values for $(\tfrac12,2,8)$ and 60-digit mpmath; the literal formula is the negative
# control.
#
# :::{admonition} Code: power_mean
# :class: dropdown
# ```{literalinclude} /lib/optimization/multitask.py
# :pyobject: power_mean
# ```
# :::

# %%
L3 = torch.tensor([0.5, 2.0, 8.0], dtype=f64)
exact = {gv: float(M3.subs(g_, gv)) for gv in (-1, 1, 2)} | {0: 2.0}
ch.claim("power-mean-exact-values",
         max(abs(float(mt.power_mean(L3, gv)) / ref - 1) for gv, ref in exact.items()),
         at_most=4 * EPS, why="a few float64 roundings",
         statement="M_-1, M_0, M_1, M_2 of (1/2, 2, 8) = 8/7, 2, 7/2, sqrt(91)/2")
ch.claim("power-gamma-one-is-mean", mt.power_mean(L3, 1), equals=float(L3.mean()), rtol=4 * EPS,
         why="a few float64 roundings", statement="gamma = 1 (weights 1/n) is the arithmetic mean")
gam_grid = [-400, -50, -1, -1e-12, 1e-12, 0.5, 3, 400]
Lr = ch.rng.uniform(1e-3, 10, size=(20, 6))
with mpmath.workdps(60):  # 60-digit reference
    ref = np.array([[float((mpmath.fsum(mpmath.mpf(x) ** gv for x in v) / 6) ** (1 / mpmath.mpf(gv)))
                     for v in Lr] for gv in gam_grid])
ours = np.array([mt.power_mean(torch.tensor(Lr), gv).numpy() for gv in gam_grid])
with np.errstate(over="ignore"):
    naive = np.array([np.mean(Lr**gv, axis=1) ** (1 / gv) for gv in gam_grid])
ch.claim("power-mean-vs-mpmath", np.max(np.abs(ours / ref - 1)), at_most=64 * EPS,
         why="float64 log-space evaluation: rounding of log, exp and a sum of 6 terms, "
         "amplified at most by the log-range (~10) of the inputs",
         statement="power_mean agrees with 60-digit arithmetic, gamma in [-400, 400] incl. +-1e-12")
ch.claim("naive-overflows-at-400", bool(np.isinf(naive[-1]).any()), equals=True,
         why="10^400 exceeds the float64 range", statement="negative control: L^400 overflows")
ch.claim("naive-cancellation-near-zero", np.max(np.abs(naive[3:5] / ref[3:5] - 1)), at_least=1e-6,
         why="rounding eps of a mean of numbers 1 + O(1e-12) is magnified 1e12 times by 1/gamma",
         statement="negative control: the literal formula is inaccurate at |gamma| = 1e-12")
curve = np.array([float(mt.power_mean(L3, gv)) for gv in np.linspace(-30, 30, 601)])
ch.claim("power-mean-monotone", float(np.diff(np.log(curve)).min()), at_least=0.0, atol=8 * EPS,
         why="Eq. (dgamma) gives >= 0; float64 rounding of log M (~8 eps)",
         statement="M_gamma(1/2, 2, 8) is non-decreasing on a 601-point grid")
gap200 = max(math.log(8 / float(mt.power_mean(L3, 200))),
             math.log(float(mt.power_mean(L3, -200)) / 0.5))
ch.claim("power-mean-squeeze-200", gap200, equals=math.log(3) / 200, atol=8 * EPS,
         why="the bound log(n)/|gamma| is attained up to the other terms' share 4^-200; rounding",
         statement="at gamma = +-200 the power mean sits log(3)/200 from the max / min (in log)")

# %% [markdown]
# The naive formula's relative error at $|\gamma|=10^{-12}$ is
# {glue:text}`naive-cancellation-near-zero:.1e`; the log-space one stays below
# {glue:text}`power-mean-vs-mpmath:.1e` everywhere. At $\gamma=\pm200$ the gap to the maximum
# (minimum) is the bound $\log n/|\gamma|$ itself. On the toy, with task 2 multiplied by 1000, the
# autograd gradient of the power mean matches $\sum_ic_i(c_i\mathcal L_i)^{\gamma-1}\nabla\mathcal L_i$
# (the factor $c^\gamma$ of §2) for every $\gamma$ tried, and its cosine with the unscaled gradient
# is 1 at $\gamma=0$ only (median {glue:text}`power-not-invariant-at-one:.2f` at $\gamma=1$):

# %%
Wr = torch.tensor(ch.rng.normal(size=(40, 5)), dtype=f64)
Gr = 2 * torch.einsum("rtnd,rtn->rtd", X, torch.einsum("rtnd,rd->rtn", X, Wr) - Y) / X.shape[2]
Lr0 = mt.linear_task_losses(Wr, X, Y)
one, scale = torch.ones(2, dtype=f64), torch.tensor([1.0, 1000.0], dtype=f64)


def pm_grad(gv, sc):
    return torch.func.grad(lambda W: mt.power_mean(mt.linear_task_losses(W, X, Y) * sc, gv).sum())(Wr)


def closed(gv):  # sum_i c_i (c_i L_i)^(gamma - 1) grad L_i, from the closed-form task gradients
    return ((scale * (scale * Lr0) ** (gv - 1))[..., None] * Gr).sum(1)


form_err = max(float((1 - cosine(pm_grad(gv, scale), closed(gv), dim=-1)).abs().max())
               for gv in (-2.0, -0.5, 0.0, 0.5, 1.0, 3.0))
ch.claim("power-grad-closed-form", form_err, at_most=64 * EPS,
         why="cosine of float64 vectors equal to rounding",
         statement="power-mean gradient weights are c_i (c_i L_i)^(gamma-1) (6 gammas, 40 points)")
ch.claim("power-scale-invariant-at-zero",
         float((1 - cosine(pm_grad(0.0, one), pm_grad(0.0, scale))).abs().max()),
         at_most=8 * EPS, why="float64 rounding of a cosine",
         statement="gamma = 0: rescaling task 2 does not turn the gradient")
ch.claim("power-not-invariant-at-one", float(cosine(pm_grad(1.0, one), pm_grad(1.0, scale)).median()),
         at_most=0.95, why="a structural rotation towards grad L2 (its weight grows 1000-fold), far "
         "above the rounding level of the gamma = 0 check", statement="gamma = 1: rescaling task 2 "
         "by 1000 turns the gradient (median cosine over 40 points below 0.95)")

# %% [markdown]
# ## 5. Normalising the task gradients
#
# The fourth scheme divides by the stopped norm of each task's gradient, so its gradient is the
# sum of unit vectors,
#
# $$
# \nabla\sum_i\frac{\mathcal L_i}{\mathrm{sg}(\|\nabla\mathcal L_i\|)}=\sum_i\frac{\nabla\mathcal L_i}{\|\nabla\mathcal L_i\|} .
# $$ (eq-multitask-loss-weighting-gradsum)
#
# It can be built task by task (one backward pass per task, normalise, accumulate): that is
# `normalized_grad_sum`, whose core scales each row by its largest entry so no norm overflows:
#
# ```{literalinclude} /lib/optimization/multitask.py
# :pyobject: _unit_rows
# ```
#
# For two tasks the sum vanishes where the gradients are antiparallel: every Pareto-stationary point
# {cite}`8870-desideri-mgda` is a fixed point, and the path decides which one is reached.

# %%
Lw = mt.linear_task_losses(w.expand(40, 5), X, Y)[0]  # a fresh graph at the same point
norms = torch.stack([torch.autograd.grad(Lw[i], w, retain_graph=True)[0].norm() for i in range(2)])
(g_gn,) = torch.autograd.grad(mt.combine_losses(Lw, "grad", grad_norms=norms), w)
ch.claim("grad-scheme-is-unit-sum", (g_gn - mt.normalized_grad_sum(G_task)).abs().max(),
         at_most=16 * EPS, why="float64 rounding of two unit vectors (entries <= 1)",
         statement="autograd of the grad scheme = sum of the closed-form unit task gradients")

# %% [markdown]
# ## 6. Two conflicting tasks, one of them a thousand times larger
#
# The toy: 40 replicates of two least-squares tasks on their own data ($N=200$, $X\sim\mathcal
# N(0,1)$, independent true weights $w_i\sim\mathcal N(0,I_5)$, so the optima conflict) sharing one
# $w$. Task 1 has noise level 1, task 2 noise level 0.1. Full-batch gradient descent starts at
# $w=0$ ("init" divides by the losses there). Balance is each task's relative excess
# $e_i=(\mathcal L_i(w)-\min\mathcal L_i)/(\mathcal L_i(0)-\min\mathcal L_i)$: 0 at the task's own
# optimum, 1 at the start, blind to scale and shift. Each scheme runs with task 2 as is,
# $\times1000$ and $+10$, at learning rate 0.05, except the sum at $\times1000$ ($0.05/1000$; at
# 0.05 it diverges) and the sg scheme (0.004, explained below).

# %%
W0 = torch.zeros(40, 5, dtype=f64)
CONDS = {"×1": (1.0, 0.0), "×1000": (1000.0, 0.0), "+10": (1.0, 10.0)}
LR = {"sum": 0.05, "init": 0.05, "sg": 0.004, "grad": 0.05}
STEPS = {"sum": 1000, "init": 1000, "sg": 3000, "grad": 1000}


def tasks(c=1.0, s=0.0):
    a, b = torch.tensor([1.0, c], dtype=f64), torch.tensor([0.0, s], dtype=f64)
    return lambda W: mt.linear_task_losses(W, X, Y) * a + b


runs = {(k, cond): mt.multitask_descent(tasks(c_, s_), W0, k, LR[k] / c_ if k == "sum" else LR[k],
                                        STEPS[k])[0] for k in LR for cond, (c_, s_) in CONDS.items()}
diverged = mt.multitask_descent(tasks(1000.0), W0, "sum", 0.05, 100)[0]
dev = {(k, cond): float((runs[k, cond] - runs[k, "×1"]).abs().max()) for k, cond in runs}
wmax = max(float(runs[k, "×1"].abs().max()) for k in LR)
for k in ("init", "sg", "grad"):
    ch.claim(f"scale-invariant-run-{k}", dev[k, "×1000"], at_most=STEPS[k] * 16 * EPS * wmax,
             why="rounding of each step (~16 ulp of |w|) adds up at most linearly over a stable run",
             statement=f"{k}: the whole trajectory is unchanged when task 2 is multiplied by 1000")
ch.claim("sum-same-lr-diverges", bool(torch.isnan(diverged[-1]).all()), equals=True,
         why="lr 0.05 is far above 2 / lambda_max of the Hessian of 1000 L2",
         statement="sum: at the unscaled learning rate the scaled problem diverges")
for k in ("sum", "grad"):
    ch.claim(f"shift-run-{k}", dev[k, "+10"], equals=0.0, why="exact: a constant added to a loss "
             "leaves its autograd gradient (and its norm) bit-identical",
             statement=f"{k}: adding 10 to task 2 leaves the trajectory bit-identical")
for k in ("init", "sg"):
    ch.claim(f"shift-run-{k}", dev[k, "+10"], at_least=1e-3,
             why="1e-3 is ~10^10 times the rounding level of the invariant runs",
             statement=f"{k}: adding 10 to task 2 moves the trajectory")
show_table(["scheme", "max |Δw|, task 2 ×1000", "max |Δw|, task 2 +10"],
           [[k, "diverges at lr 0.05" if k == "sum" else f"{dev[k, '×1000']:.1e}",
             f"{dev[k, '+10']:.1e}"] for k in LR])

# %% [markdown]
# These are the invariances of the SymPy table in §2. Now the balance: relative excesses after
# training, mean ± standard error over the 40 replicates.

# %%
E = {key: mt.relative_excess(Wt[-1], X, Y) for key, Wt in runs.items()}  # (40, 2) each
show_table(["scheme", "task 2", "e₁ (noisy task)", "e₂ (clean task)", "worst task"],
           [[k, cond] + ["{:.3f} ± {:.3f}".format(*mean_se(v))
                          for v in (e[:, 0], e[:, 1], e.amax(1))] for (k, cond), e in E.items()])
e_sum, pt = E["sum", "×1000"], lambda a, b: paired_t(a, b)["t"]
ch.claim("sum-scale-hurts-task1", pt(e_sum[:, 0], E["sum", "×1"][:, 0]), at_least=3.0,
         why="paired t >= 3 over 40 replicates (one-sided P ~ 0.002 under no effect)",
         statement="sum: multiplying task 2 by 1000 raises task 1's final excess")
ch.measured("sum-scaled-e1", e_sum[:, 0].mean(), why="descriptive: mean e1, sum scheme, task 2 x1000")
ch.claim("sum-scaled-task2-at-optimum", float(e_sum[:, 1].mean()), at_most=1e-4,
         why="the minimiser of L1 + 1000 L2 is task 2's optimum up to O(1/1000), so its excess is "
         "O(1e-6) times an O(1) constant", statement="sum, task 2 x1000: task 2 reaches its optimum")
for k in ("init", "sg"):
    ch.claim(f"{k}-favours-clean-task", pt(E[k, "×1000"][:, 0], E[k, "×1000"][:, 1]), at_least=4.0,
             why="paired t >= 4 over 40 replicates (P < 1e-3 under no effect)",
             statement=f"{k}: the task with the lower noise floor ends closer to its optimum")
ch.claim("grad-treats-tasks-alike", abs(pt(E["grad", "×1000"][:, 0], E["grad", "×1000"][:, 1])),
         at_most=3.0, why="under a shift-invariant scheme the tasks are exchangeable up to the noise "
         "in the least-squares fits (a floor is a shift): E[e1 - e2] ~ 0, and |t| > 3 has P ~ 0.005",
         statement="grad: no measurable difference between the tasks")
ch.claim("grad-best-worst-task", min(pt(E[k, "×1000"].amax(1), E["grad", "×1000"].amax(1))
                                     for k in ("sum", "init", "sg")), at_least=3.0,
         why="paired t >= 3 against each other scheme (one-sided P ~ 0.002 each)",
         statement="grad has the smallest worst-task excess of the four schemes (task 2 x1000)")

# %% [markdown]
# The sum at $\times1000$ drives the large task to its optimum and pushes the other's excess to
# {glue:text}`sum-scaled-e1:.2f` on average (above 1: worse than at the start). The scale-invariant
# schemes give one answer at $\times1$ and $\times1000$, but only gradient normalisation treats the
# tasks alike. A noise floor $\sigma_i^2$ is an additive constant in $\mathcal L_i$, and the weights
# $1/\mathcal L_i^{(0)}$, $1/\mathcal L_i$ shrink with it; the sg weight of the clean task grows as
# its loss nears $\sigma_2^2$, which also limits the step. At the sg fixed point $w^*$ (the minimiser
# of $\sum_i\log\mathcal L_i$, by BFGS and Newton) descent is stable only if
# $\eta\lambda_{\max}(\nabla^2\sum_i\log\mathcal L_i)<2$:

# %%
w_star, lam = mt.log_objective_minimisers(X, Y)
ch.claim("sg-stable-at-small-lr", float(LR["sg"] * lam[:, -1].max()), at_most=2.0,
         why="stability condition of gradient descent at a minimum",
         statement="lr 0.004 is below 2 / lambda_max in every replicate")
contraction = float(((1 - LR["sg"] * lam[:, 0]) ** STEPS["sg"] * w_star.norm(dim=1)).max())
ch.claim("sg-run-reaches-geometric-minimiser", float((runs["sg", "×1"][-1] - w_star).abs().max()),
         at_most=10 * contraction, why="linear convergence (1 - lr lambda_min)^T |w*|, x10 for the "
         "early nonlinear phase", statement="the sg run converges to the minimiser of sum log L_i")
chaos = {c_: mt.multitask_descent(tasks(c_), W0, "sg", 0.05, 300)[0] for c_ in (1.0, 1e3, 1024.0)}
dev_chaos = (chaos[1e3] - chaos[1.0]).abs().amax(-1)  # (301, 40)
unstable, separated = 0.05 * lam[:, -1] > 2, dev_chaos[-1] > 1e-6
ch.claim("sg-separation-needs-instability", bool((separated <= unstable).all()), equals=True,
         why="exact comparison of two boolean vectors (1e-6 is ~10^10 times the rounding level)",
         statement="at lr 0.05 only replicates with lr lambda_max > 2 lose scale invariance")
ch.measured("sg-unstable-count", int(unstable.sum()), why="descriptive: count out of 40")
ch.measured("sg-separated-count", int(separated.sum()), why="descriptive: count out of 40")
ch.claim("sg-power-of-two-scale-exact", float((chaos[1024.0] - chaos[1.0]).abs().max()), equals=0.0,
         why="exact: multiplying by 1024 changes no mantissa, so every step is bit-identical",
         statement="negative control: with c = 1024 the unstable runs are bit-identical")

# %% [markdown]
# At learning rate 0.05, {glue:text}`sg-unstable-count` of the 40 replicates violate the condition
# and {glue:text}`sg-separated-count` lose the scale invariance: the rounding difference between
# multiplying by 1 and by 1000 is amplified until the trajectories part (instability is necessary
# for this, not sufficient: a run can settle on a periodic orbit that does not amplify errors). No
# stable replicate separates. Multiplied by 1024, which changes no mantissa, the unstable runs stay
# bit-identical: the law holds, the iteration is unstable.

# %% mystnb={"figure": {"caption": "Left: relative excess of the two tasks after training (mean \u00b1 s.e., 40 replicates) with task 2 as is (open), \u00d71000 (filled) and +10 (cross); 0 is a task's own optimum, 1 its start. Right: largest difference between the runs with task 2 \u00d71 and \u00d71000, per step (values below 1e-17 drawn at 1e-17).", "name": "fig-multitask-loss-weighting-toy"}}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
for j, k in enumerate(LR):
    for cond, mk, fill in (("×1", "o", "none"), ("×1000", "o", None), ("+10", "x", None)):
        (m1, s1), (m2, s2) = mean_se(E[k, cond][:, 0]), mean_se(E[k, cond][:, 1])
        ax1.errorbar(m1, m2, xerr=s1, yerr=s2, fmt=mk, color=f"C{j}", mfc=fill,
                     label=k if cond == "×1000" else None)
ax1.plot([0, 3], [0, 3], ":", color="grey", lw=1)
ax1.set(xlabel="$e_1$ (noise 1)", ylabel="$e_2$ (noise 0.1)")
ax1.legend()
for j, k in enumerate(("init", "sg", "grad")):
    d = (runs[k, "×1000"] - runs[k, "×1"]).abs().amax((-1, -2)).clamp_min(1e-17)
    ax2.semilogy(d, color=f"C{j + 1}", label=f"{k} (lr {LR[k]})")
ax2.semilogy(dev_chaos.amax(-1).clamp_min(1e-17), color="C2", ls="--", label="sg (lr 0.05)")
ax2.set(xlabel="step", ylabel=r"max $|w_{\times1000}-w_{\times1}|$", xlim=(0, 1000))
ax2.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 7. What the article says, and what it leaves out
#
# Every executable statement of the article held (the invariances of §2, the geometric-mean
# equivalence, the power mean's monotonicity and limits), so there is no erratum. What it does not
# say, measured above: the power mean is scale-invariant per task only at $\gamma=0$, so choosing
# $\gamma$ brings the unit problem back; a noise floor is an additive constant, so "init" and "sg"
# favour the task with the lower floor (paired t {glue:text}`sg-favours-clean-task:.1f` for sg); and
# the sg weight raises the curvature as a loss nears its floor, so a step that suits the other
# schemes makes the run chaotic and loses the invariance to rounding.
#
# **The article's printed numbers.** It runs no experiment and prints few numbers. We read its text
# and listed every numeral that is not an equation label, a date or a citation:

# %%
for printed, where, claim in [
        ("1/n", "§Weighted sum: equal weights give the arithmetic mean", "power-gamma-one-is-mean"),
        ("1", "§Real-time state: each L_i / sg(L_i) is constantly 1", "sg-value-is-n"),
        ("0", "§Real-time state: the gradient is not constantly 0", "sg-gradient-closed-form"),
        ("1", "§Generalised mean: gamma = 1 is the arithmetic mean", "power-gamma-one-is-mean"),
        ("0", "§Generalised mean: gamma = 0 is the geometric mean", "power-limit-zero-sympy")]:
    ch.source_number(printed, where=where, fate="reproduced", claim=claim)
ch.source_number("1", where="§Generalised mean: the hyperparameters drop from n to 1",
                 fate="out of scope", reason="a count of tuning knobs, true by definition")

# %% [markdown]
# ## Claims

# %%
ch.table()
