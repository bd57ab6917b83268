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
#     date: '2022-03-03'
#     id: 8968
#     paper: Amid, Anil, Fifty, Warmuth (2022), Step-size Adaptation Using Exponentiated
#       Gradient Updates
#     paper_url: https://arxiv.org/abs/2202.00145
#     title: Exponentiated Gradient Descent + Meta-Learning = Adaptive Learning Rates
#     title_zh: "\u6307\u6570\u68AF\u5EA6\u4E0B\u964D + \u5143\u5B66\u4E60 = \u81EA\u9002\
#       \u5E94\u5B66\u4E60\u7387"
#     url: https://kexue.fm/archives/8968
# ---

# %% [markdown]
# (ch-exponentiated-gradient)=
# # Exponentiated gradients and a meta-learned step size
#
# Exponentiated gradient (EG) keeps a parameter vector non-negative by multiplying it with
# $e^{-\eta\nabla\mathcal L}$; the article uses EG one level up, to learn a per-coordinate step
# multiplier $\nu$ from the product of consecutive gradients. When do these work? EG is mirror
# descent with the entropy: on non-negative least squares it reaches the optimum at the predicted
# linear rate, while gradient descent in log-coordinates (the article's starting point, before it
# drops a factor) crawls at $1/t$. The step rule drifts towards Newton's step on a quadratic, but
# the drift fades as the iterate converges, so the step freezes wherever it is; it helps only while
# $\gamma h^2\theta^2$ stays in a narrow window, and blows up above it, clip or no clip.
#
# :::{prf:proposition} EG and the meta-learned step size
# :label: thm-exponentiated-gradient
# Let $g_t=\nabla\mathcal L(\theta_t)$ and $\eta,\gamma>0$.
#
# 1. $\theta_{t+1}=\theta_t\odot e^{-\eta g_t}$ minimises $\eta\langle g_t,\theta\rangle$ plus the
#    generalised KL divergence from $\theta_t$ over $\theta>0$ (on the simplex, then normalised).
#    On non-negative least squares it converges linearly at the rate
#    {eq}`eq-exponentiated-gradient-rate`; gradient descent in $\log\theta$ drives each inactive
#    coordinate to zero only like $1/(\eta\mu_i t)$.
# 2. With $\nu_1=\mathbf 1$, the rule $\nu_{t+1}=\nu_t\odot e^{\gamma g_{t-1}\odot g_t}$,
#    $\theta_{t+1}=\theta_t-\eta\,\nu_{t+1}\odot g_t$ gives $\nu_{t+1}=\exp\bigl(\gamma\sum_{k=1}^{t}g_{k-1}\odot g_k\bigr)$.
# 3. On $\tfrac12h\theta^2$ the effective step $s_t=\eta h\nu_t$ obeys
#    $\log s_{t+1}-\log s_t=\gamma h^2\theta_{t-1}^2(1-s_t)$: the drift points at Newton's step
#    $s=1$, its size vanishes as $\theta\to0$, and the run depends only on $\eta h$ and
#    $\kappa=\gamma h^2\theta_0^2$.
# :::
#
# The article {cite}`8968-su-eg-meta` summarises the paper {cite}`8968-amid-stepsize`. EG comes
# from online learning {cite}`8968-kivinen-eg`, its mirror-descent reading from
# {cite}`8968-beck-mirror`; step sizes from consecutive gradients go back to delta-bar-delta
# {cite}`8968-jacobs-dbd`, IDBD {cite}`8968-sutton-idbd`, Rprop {cite}`8968-riedmiller-rprop` and
# hypergradient descent {cite}`8968-baydin-hypergradient`. The article runs no experiments.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from scipy.optimize import minimize, nnls

from lib.book import Chapter, show_table
from lib.optimization import (
    eg_local_rate,
    eg_nnls_run,
    eg_step,
    gd_diag_rel_loss,
    lsq_loss_rounding_bound,
    meta_diag_rel_loss,
    meta_lr_descent,
    meta_phase_map,
)
from lib.stats import bootstrap_se, proportion_se

ch = Chapter("exponentiated-gradient", seed=8968)

# %% [markdown]
# ## 1. Two derivations of EG
#
# **A change of variables.** Write $\theta=e^{\varphi}$ with $\varphi$ unconstrained. By the chain
# rule $\nabla_{\varphi}\mathcal L(e^{\varphi})=e^{\varphi}\odot\nabla_\theta\mathcal L(\theta)$,
# so a gradient step on $\varphi$, exponentiated, reads
#
# $$
# \theta_{t+1} = \theta_t\odot\exp\bigl(-\eta\,\theta_t\odot\nabla\mathcal L(\theta_t)\bigr).
# $$ (eq-exponentiated-gradient-loggd)
#
# The article treats the factor $\theta_t\odot$ as a mere per-coordinate learning rate and drops
# it, which leaves exponentiated gradient descent (the orthant is never left, zeros stay zero):
#
# $$
# \theta_{t+1} = \theta_t\odot\exp\bigl(-\eta\,\nabla\mathcal L(\theta_t)\bigr).
# $$ (eq-exponentiated-gradient-eg)
#
# **Mirror descent.** A cleaner derivation drops nothing: trade the linearised loss against the
# generalised Kullback–Leibler divergence from the current point,
#
# $$
# \theta_{t+1}=\arg\min_{\theta>0}\ \eta\langle g_t,\theta\rangle+\sum_i\Bigl(\theta_i\log\frac{\theta_i}{\theta_{t,i}}-\theta_i+\theta_{t,i}\Bigr).
# $$ (eq-exponentiated-gradient-mirror)
#
# It is separable and strictly convex (second derivative $1/\theta_i$); setting the derivative
# $\eta g_i+\log(\theta_i/\theta_{t,i})$ to zero gives {eq}`eq-exponentiated-gradient-eg`. On the
# simplex a Lagrange multiplier for $\sum_i\theta_i=1$ adds one constant to every $\log\theta_i$
# (checked below symbolically, with the chain rule, and against SciPy's SLSQP solver):
#
# $$
# \theta_{t+1,i}=\frac{\theta_{t,i}e^{-\eta g_{t,i}}}{\sum_j\theta_{t,j}e^{-\eta g_{t,j}}}.
# $$ (eq-exponentiated-gradient-simplex)

# %%
p1, p2 = sp.symbols("phi1 phi2", real=True)
t1, t2 = sp.symbols("theta1 theta2", positive=True)
L = sp.Function("L")  # a generic loss
lhs, rhs = sp.diff(L(sp.exp(p1), sp.exp(p2)), p1), sp.exp(p1) * sp.diff(L(t1, t2), t1).subs(
    {t1: sp.exp(p1), t2: sp.exp(p2)})
ch.claim("log-chain-rule-sympy", sp.simplify(lhs - rhs) == 0, equals=True,
         why="exact symbolic differentiation of a generic function L",
         statement="the chain rule grad_phi L(e^phi) = e^phi * grad_theta L, for a generic loss")
x, th, eta_s, g_s = sp.symbols("x theta eta", positive=True) + (sp.Symbol("g", real=True),)
obj = eta_s * g_s * x + x * sp.log(x / th) - x + th
ch.claim("mirror-orthant-sympy", sp.solve(sp.diff(obj, x), x) == [th * sp.exp(-eta_s * g_s)]
         and sp.diff(obj, x, 2) == 1 / x, equals=True, why="exact symbolic solve",
         statement="the only stationary point of Eq. (mirror) is the EG step, a minimum")
ths, gs = sp.symbols("t1:4", positive=True), sp.symbols("g1:4", real=True)
Z = sum(a * sp.exp(-eta_s * b) for a, b in zip(ths, gs, strict=True))
xs = [a * sp.exp(-eta_s * b) / Z for a, b in zip(ths, gs, strict=True)]
stat = [sp.expand_log(eta_s * b + sp.log(xi / a), force=True)
        for a, b, xi in zip(ths, gs, xs, strict=True)]
ok = sp.simplify(sum(xs) - 1) == 0 and all(sp.simplify(s - stat[0]) == 0 for s in stat)
ch.claim("mirror-simplex-sympy", ok, equals=True, why="exact symbolic simplification",
         statement="Eq. (simplex) sums to one; all stationarity conditions share one multiplier")
theta_t, g_t = ch.rng.dirichlet(np.ones(6)), ch.rng.normal(size=6)
res = minimize(lambda v: 0.7 * g_t @ v + np.sum(v * np.log(v / theta_t) - v + theta_t),
               theta_t, method="SLSQP", bounds=[(1e-12, 1)] * 6, tol=1e-14,
               constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}])
closed = eg_step(theta_t, g_t, 0.7)
ch.claim("mirror-simplex-slsqp", np.abs(res.x - closed / closed.sum()).max(), at_most=1e-7,
         why="SLSQP stops at a KKT residual near its tol; on an objective with curvature "
         "1/theta = O(10) that leaves errors of order sqrt(tol), i.e. 1e-7",
         statement="a constrained solver finds the normalised EG step")

# %% [markdown]
# ## 2. EG on non-negative least squares, and the dropped factor
#
# The test problem is $\min_{\theta\ge0}\tfrac12\|A\theta-b\|^2$ with $A\in\mathbb R^{30\times10}$
# and $b$ Gaussian, solved exactly by Lawson–Hanson's active-set method {cite}`8968-lawson-nnls`
# (SciPy's `nnls`). EG starts from $\theta_0=\mathbf 1$ with $\eta=0.02$ and runs 20 000 steps on
# 12 random problems at once (`eg_nnls_run`). **How fast?** With $u=\log\theta$, near $\theta^*$
# EG is $u\leftarrow u-\eta\nabla\mathcal L$. On the active set
# $\nabla_A\mathcal L\approx H_{AA}(\theta_A-\theta^*_A)\approx H_{AA}D\,\delta u_A$ with
# $D=\mathrm{diag}(\theta^*_A)$, so the error is multiplied by $I-\eta H_{AA}D$, with the
# eigenvalues of $I-\eta D^{1/2}H_{AA}D^{1/2}$; an inactive coordinate, with multiplier
# $\mu_i>0$, shrinks by $e^{-\eta\mu_i}$ per step. Hence $\|\theta_t-\theta^*\|\sim C\rho^{\,t}$ with
#
# $$
# \rho=\max\Bigl(\max_j\bigl|1-\eta\lambda_j(D^{1/2}H_{AA}D^{1/2})\bigr|,\ \max_{i\notin A}e^{-\eta\mu_i}\Bigr).
# $$ (eq-exponentiated-gradient-rate)
#
# An active coordinate with a tiny optimum moves tiny steps (the $D^{1/2}$). `eg_local_rate`
# computes $\rho$ from `nnls`'s solution, to compare with the tail contraction of each run.

# %%
P, T_NNLS, ETA = 12, 20_000, 0.02
rng_nnls = np.random.default_rng(ch.seed)  # own generator: the problems the text describes
A, b = rng_nnls.normal(size=(P, 30, 10)), rng_nnls.normal(size=(P, 30))
star = np.stack([nnls(A[p], b[p])[0] for p in range(P)])
th_eg, ck, gaps_eg, errs_eg, lowest = eg_nnls_run(A, b, star, [ETA], T_NNLS)
th_eg, gaps_eg, errs_eg = th_eg[0], gaps_eg[:, 0], errs_eg[:, 0]
loss = lambda th: 0.5 * np.sum((np.einsum("pij,pj->pi", A, th) - b) ** 2, axis=-1)
rho = np.array([eg_local_rate(A[p], b[p], star[p], ETA) for p in range(P)])
reached = rho ** T_NNLS < 1e-8  # problems the analysis says must be finished
rate_err = []
for e, r in zip(errs_eg.T[reached], rho[reached], strict=True):  # tail: error 1e-8 -> 1e-13
    t1, t2 = np.argmax(e < 1e-8), np.argmax(e < 1e-13)
    rate_err.append(abs(np.log(e[t2] / e[t1]) / (t2 - t1) / np.log(r) - 1))
ch.claim("eg-nnls-positive", lowest, at_least=0.0, why="exact: products of positive floats",
         statement="EG never leaves the orthant (all 12 problems, 20 000 steps)")
gap = loss(th_eg) - loss(star)
bound = lsq_loss_rounding_bound(A, b, th_eg) + lsq_loss_rounding_bound(A, b, star)
ch.claim("eg-nnls-gap", np.max(np.abs(gap[reached]) / bound[reached]), at_most=1.0,
         why="gap in units of the forward rounding bound of both objective values "
         "(gamma_n |A||theta| for the residuals, then the sum of squares)",
         statement="EG reaches scipy's NNLS optimum to rounding wherever rho^T < 1e-8")
ch.claim("eg-nnls-support", bool(np.all((th_eg > 1e-8) == (star > 0), axis=1)[reached].all()),
         equals=True, why="exact comparison of supports (inactive coordinates are ~1e-300)",
         statement="EG's support equals nnls's support wherever rho^T < 1e-8")
ch.claim("eg-nnls-rate", max(rate_err), at_most=0.05,
         why="a finite window fits a mixture of modes; where the slowest active and inactive "
         "rates nearly coincide the slope mixes them by a few percent; 5% covers that",
         statement="Eq. (rate) predicts the measured tail contraction of every finished run")
slow = np.argmax(rho)
ch.measured("eg-nnls-slow-count", int((~reached).sum()), why="descriptive")
_ = ch.measured("eg-nnls-slow-theta", star[slow][star[slow] > 0].min(), why="descriptive")

# %% [markdown]
# Where the analysis says the run is done, EG sits on `nnls`'s optimum to float64 rounding, with
# the same support, and its tail contraction matches the predicted rate (largest relative
# difference {glue:text}`eg-nnls-rate:.1e`). It also says which runs are not done
# ({glue:text}`eg-nnls-slow-count:d` of 12) and why: in the slowest, an active optimum of
# {glue:text}`eg-nnls-slow-theta:.1e` makes the scaled Hessian nearly singular.
#
# **The factor that was dropped.** Is $\theta_t\odot$ "just a learning rate"? Keeping it
# ({eq}`eq-exponentiated-gradient-loggd`), an inactive coordinate near the optimum follows
# $\theta\leftarrow\theta e^{-\eta\mu\theta}\approx\theta-\eta\mu\theta^2$, so
# $\theta_t\approx1/(\eta\mu t)$, and the gap $\approx\sum_{i\notin A}\mu_i\theta_i$ decays like
# $|A^c|/(\eta t)$ whatever the $\mu_i$: geometric convergence turns into $1/t$. We run four step
# sizes (larger ones are unstable) and keep the best per problem.

# %%
ETAS_LOG = [0.02, 0.05, 0.1, 0.2]
_, _, gaps_log, _, _ = eg_nnls_run(A, b, star, ETAS_LOG, T_NNLS, keep_factor=True)
best_gap_log = np.nanmin(gaps_log[-1], axis=0)  # best of the four step sizes, per problem
i_half = int(np.argmin(np.abs(ck - T_NNLS // 2)))
slope = np.log(gaps_log[-1, 1] / gaps_log[i_half, 1]) / np.log(ck[-1] / ck[i_half])
n_inactive = (star == 0).sum(1)
ch.claim("loggd-one-over-t", np.abs(slope + 1).max(), at_most=0.1,
         why="1/t law with next-order corrections of relative size O(1/(eta mu^2 t)); 0.1 allows "
         "a 7% drift of gap*t over one doubling of t",
         statement="GD in log-coordinates: gap ~ 1/t (log-log slope -1; eta = 0.05, all problems)")
ch.claim("loggd-gap-vs-eg", best_gap_log.min(), at_least=1e-4,
         erratum="The article says the dropped factor e^phi only adjusts the learning rate and is "
         "therefore inessential (section 'Exponentiated gradient descent')",
         why="the 1/t law predicts a gap of |inactive|/(eta T) >= 1/(0.2 * 20000) on every problem; "
         "1e-4 allows a prefactor down to 0.4",
         statement="with the factor kept, the best step size still leaves a gap >= 1e-4 after "
         "20 000 steps on every problem (EG: rounding level on every finished run)")
ch.measured("loggd-median-gap", np.median(best_gap_log), why="descriptive")
_ = ch.measured("loggd-prefactor", np.median(gaps_log[-1, 1] * 0.05 * T_NNLS / n_inactive),
                why="descriptive: gap * eta * T / |inactive|, which the 1/t law says tends to 1")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Objective gap against step on 12 random non-negative least-squares problems. EG (blue) falls geometrically to float64 rounding, at the rate of {eq}`eq-exponentiated-gradient-rate`; the run still on its way has an active coordinate with a small optimum. Gradient descent in log-coordinates (orange, the update before the article drops the factor $\\theta_t$, $\\eta=0.05$) follows the dashed $|A^c|/(\\eta t)$ law.", "name": "fig-exponentiated-gradient-nnls"}}
fig, ax = plt.subplots()
for p in range(P):
    ax.loglog(ck, np.maximum(gaps_eg[:, p], 1e-17), color="C0", lw=1, alpha=0.7,
              label="EG, $\\eta=0.02$" if p == 0 else None)
    ax.loglog(ck, gaps_log[:, 1, p], color="C1", lw=1, alpha=0.7,
              label="GD in $\\log\\theta$, $\\eta=0.05$" if p == 0 else None)
ax.loglog(ck, np.median(n_inactive) / (0.05 * ck), "k--", lw=1, label="$|A^c|/(\\eta t)$")
ax.set(xlabel="step $t$", ylabel=r"$L(\theta_t)-L(\theta^*)$ (floored at $10^{-17}$)", ylim=(1e-17, 1e2))
ax.legend()
plt.show()

# %% [markdown]
# After 20 000 steps the best log-coordinate run has a median gap of
# {glue:text}`loggd-median-gap:.1e`, and $\text{gap}\cdot\eta t/|A^c|$ is {glue:text}`loggd-prefactor:.2f`
# (the law predicts 1). The two updates share their fixed points; the factor decides how fast the
# boundary is reached, which is what a non-negativity method is for.
#
# ## 3. The meta-learned step size
#
# Put a non-negative multiplier on each coordinate's step, $\theta_{t+1}=\theta_t-\eta\,\nu_{t+1}
# \odot g_t$, and learn $\nu$ by EG on the same loss. As $\theta_t=\theta_{t-1}-\eta\,\nu_t\odot
# g_{t-1}$, the loss at $\theta_t$ depends on $\nu_t$, with hypergradient
#
# $$
# \nabla_{\nu_t}\mathcal L(\theta_t)=-\eta\,g_{t-1}\odot g_t .
# $$ (eq-exponentiated-gradient-hyper)
#
# An EG step on $\nu$ with rate $\gamma/\eta$ (the article absorbs $\eta$ into $\gamma$) gives the
# rule, and unrolling it from $\nu_1=\mathbf 1$ gives its closed form:
#
# $$
# \nu_{t+1}=\nu_t\odot e^{\gamma\,g_{t-1}\odot g_t},\qquad
# \theta_{t+1}=\theta_t-\eta\,\nu_{t+1}\odot g_t ,
# $$ (eq-exponentiated-gradient-meta)
#
# $$
# \nu_{t+1}=\exp\Bigl(\gamma\sum_{k=1}^{t}g_{k-1}\odot g_k\Bigr).
# $$ (eq-exponentiated-gradient-closed)
#
# The library's step clips the exponent to $[-50,50]$ and offers a sign-only variant, not in the
# article (`mode="sign"`: exponent $\gamma\,\mathrm{sign}(g_{t-1}g_t)$, close to Rprop). Below we
# check {eq}`eq-exponentiated-gradient-hyper` by central differences on a non-quadratic loss (a
# Rosenbrock valley with a quartic term), and {eq}`eq-exponentiated-gradient-closed` symbolically
# (five steps with symbolic gradients) and on a run of `meta_lr_descent`.
#
# ```{literalinclude} /lib/optimization/exponentiated.py
# :pyobject: _meta_core
# ```

# %%
rosen = lambda v: (1 - v[0]) ** 2 + 10 * (v[1] - v[0] ** 2) ** 2 + 0.1 * v[2] ** 4
rosen_grad = lambda v: np.array([-2 * (1 - v[0]) - 40 * v[0] * (v[1] - v[0] ** 2),
                                 20 * (v[1] - v[0] ** 2), 0.4 * v[2] ** 3])
prev, nu_t, eta_h, step = np.array([-0.7, 0.4, 1.3]), np.array([0.8, 1.5, 0.6]), 0.05, 1e-5
g_prev = rosen_grad(prev)
fd = np.array([(rosen(prev - eta_h * (nu_t + step * e) * g_prev)
                - rosen(prev - eta_h * (nu_t - step * e) * g_prev)) / (2 * step)
               for e in np.eye(3)])
hyper = -eta_h * g_prev * rosen_grad(prev - eta_h * nu_t * g_prev)
ch.claim("hypergradient-fd", np.abs(fd / hyper - 1).max(), at_most=1e-8,
         why="central differences: truncation O(step^2 * L''') ~ 1e-10 plus rounding "
         "eps*L/step ~ 1e-11, relative to hypergradients of size ~0.01-1",
         statement="Eq. (hyper) agrees with finite differences of L(theta_t) in nu_t")
gam, g_sym = sp.symbols("gamma", positive=True), sp.symbols("g0:6", real=True)
nu_sym, ok = sp.Integer(1), True
for t in range(1, 6):
    nu_sym = nu_sym * sp.exp(gam * g_sym[t - 1] * g_sym[t])
    closed_t = sp.exp(gam * sum(g_sym[k - 1] * g_sym[k] for k in range(1, t + 1)))
    ok &= sp.simplify(sp.powsimp(nu_sym) - closed_t) == 0
ch.claim("closed-form-sympy", ok, equals=True, why="exact symbolic, t = 1..5 from nu_1 = 1",
         statement="Eq. (closed) unrolls Eq. (meta)")
ch.source_number("1", where="Eq. (12): nu initialised to all ones, sum from k = 1",
                 fate="reproduced", claim="closed-form-sympy")
M, y = ch.rng.normal(size=(8, 5)), ch.rng.normal(size=8)
ls_grad = lambda v: M.T @ (M @ v - y) / 8
thetas, nus = meta_lr_descent(ls_grad, np.zeros(5), 0.3, 0.5, 60)
G = np.array([ls_grad(v) for v in thetas[:-1]])
log_nu = np.vstack([np.zeros(5), np.cumsum(0.5 * G[:-1] * G[1:], axis=0)])
ch.claim("closed-form-numeric", np.abs(nus / np.exp(log_nu) - 1).max(), at_most=1e-13,
         why="60 multiplications of ~1 ulp each, against exp of a 60-term sum (60 * 8 eps)",
         statement="meta_lr_descent's multipliers equal Eq. (closed) on a 60-step run")

# %% [markdown]
# By {eq}`eq-exponentiated-gradient-closed`, a coordinate whose gradients keep their sign gains
# step size and one that flips loses it, weighted by the gradients' *sizes*: small gradients
# hardly adapt, the opposite of Adam, whose normalisation boosts exactly those coordinates.
#
# ## 4. One dimension: the Newton drift, acceleration and blow-up
#
# On $\mathcal L=\tfrac12h\theta^2$, with $g=h\theta$ and effective step $s_t=\eta h\nu_t$, one
# step gives $\theta_t=(1-s_t)\theta_{t-1}$, hence
#
# $$
# g_{t-1}g_t=h^2\theta_{t-1}^2(1-s_t),\qquad \log s_{t+1}-\log s_t=\gamma h^2\theta_{t-1}^2(1-s_t).
# $$ (eq-exponentiated-gradient-drift)
#
# The step grows while $s<1$ and shrinks while $s>1$: the drift points at Newton's step $s=1$,
# but its size $\gamma h^2\theta_{t-1}^2$ vanishes as the run converges. As $(\theta_0,\gamma)\to
# (c\theta_0,\gamma/c^2)$ only rescales $\theta$, the run depends on $\eta h$ and
# $\kappa=\gamma h^2\theta_0^2$ alone (so rescaling the loss changes it). A map over $(\eta,\kappa)$
# with $h=\theta_0=1$ and 100 steps (`meta_phase_map`, {numref}`fig-exponentiated-gradient-phase`)
# shows the whole story: colour is the number of decades by which $|\theta_{100}|$ beats plain GD
# from the same $\eta$; grey cells *blew up* (non-finite or above $|\theta_0|$), red ones *stalled*
# (finite, worse than GD). The table follows four runs (white dots) for 200 steps.

# %%
h_s, th0, nu_s, eta_q = sp.symbols("h theta0 nu eta", positive=True)
drift = h_s * th0 * h_s * (th0 - eta_q * nu_s * h_s * th0) - h_s**2 * th0**2 * (1 - eta_q * h_s * nu_s)
ch.claim("drift-sympy", sp.expand(drift) == 0, equals=True, why="exact symbolic",
         statement="Eq. (drift): g_{t-1} g_t = h^2 theta_{t-1}^2 (1 - s_t)")
_, nu_a = meta_lr_descent(lambda v: v, [1.0], 0.3, 1e-3, 100)
_, nu_b = meta_lr_descent(lambda v: v, [10.0], 0.3, 1e-5, 100)
ch.claim("kappa-invariance", np.abs(nu_a / nu_b - 1).max(), at_most=1e-13,
         why="the runs differ only by rounding of the scaled iterates (~100 ulp in 100 steps)",
         statement="(theta0, gamma) -> (10 theta0, gamma/100) leaves every multiplier unchanged")
ETA_GRID, KAPPA_GRID = np.geomspace(1e-3, 1.99, 30), np.geomspace(1e-2, 1e3, 30)
gain, s_final, hit_clip = meta_phase_map(ETA_GRID, KAPPA_GRID, 100)
blown, stalled, helped, accel = np.isnan(gain), gain < 0, gain >= 0, gain > 10
kap2d = np.broadcast_to(KAPPA_GRID, (30, 30))
below_newton = np.broadcast_to(ETA_GRID[:, None], (30, 30)) <= 1
ch.claim("converges-small-kappa", int(blown[kap2d <= 2].sum()), equals=0,
         why="exact count over the grid", statement="no run with kappa <= 2 blows up")
ch.claim("blows-up-large-kappa", int((~blown[(kap2d >= 30) & below_newton]).sum()), equals=0,
         why="exact count over the grid",
         statement="for eta h <= 1 (at most Newton's step), every run with kappa >= 30 blows up")
ch.claim("clip-never-when-helping", int(hit_clip[helped & below_newton].sum()), equals=0,
         why="exact count",
         statement="for eta h <= 1, no run that beats plain GD reaches the clip |gamma g g| = 50")
ch.claim("clip-in-every-blowup", int((~hit_clip[blown]).sum()), equals=0, why="exact count",
         statement="every run that blows up has hit the clip")
ch.claim("newton-only-approximate", np.median(np.abs(s_final[accel] - 1)), at_least=0.1,
         why="if the drift's fixed point were reached, s would equal 1 to rounding; 0.1 is "
         "orders of magnitude above that",
         statement="accelerated runs (gain > 10 decades) typically end far from Newton's step")
ch.measured("s-final-q10", np.quantile(s_final[accel], 0.1), why="descriptive")
ch.measured("s-final-q90", np.quantile(s_final[accel], 0.9), why="descriptive")
ch.measured("accel-fraction", accel[below_newton].mean(), why="descriptive: share of cells")
ch.measured("boundary-kappa-min", KAPPA_GRID[blown.any(0)].min(), why="descriptive")
_ = ch.measured("stalled-count", int(stalled.sum()), why="descriptive: cells worse than GD")

# %%
rows, finals = [], []
for e, gm in [(0.01, 2.0), (0.01, 5.0), (1.9, 2.0), (1.9, 5.0)]:
    thetas, nus = meta_lr_descent(lambda v: v, [1.0], e, gm, 200)
    finals.append(abs(thetas[-1, 0]))
    rows.append([e, gm, f"{e * nus[5, 0]:.3f}", f"{e * nus[-1, 0]:.3f}", f"{finals[-1]:.1e}",
                 f"{abs(1 - e) ** 200:.1e}"])
show_table(["η", "γ = κ", "s after 5 steps", "s after 200", "|θ_200|", "GD |θ_200|"], rows)
ch.claim("accelerates-four-runs", max(finals), at_most=1e-20,
         why="a threshold, not a tolerance: ten decades below plain GD's |1 - eta|^200 "
         "from the better start",
         statement="from eta = 0.01 (far too small) or 1.9 (nearly unstable), kappa = 2 and 5 "
         "reach |theta_200| < 1e-20")
blow = [np.isnan(meta_lr_descent(lambda v: v, [1.0], e, 50.0, 200)[0][-1, 0]) for e in (0.01, 1.9)]
ch.claim("kappa-50-blows-up", all(blow), equals=True, why="exact: the runs end in NaN",
         statement="kappa = 50 blows up from both starting steps despite the clip")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Decades gained over plain GD after 100 steps on $\\tfrac12\\theta^2$, as a function of the initial step $\\eta$ and of $\\kappa=\\gamma h^2\\theta_0^2$. Grey: blew up; red: stalled (worse than GD). White dots: the four runs of the table above; crosses: $\\kappa=50$ (blows up). Below Newton's step the window where the rule helps is narrow in $\\kappa$ and almost independent of $\\eta$.", "name": "fig-exponentiated-gradient-phase"}}
fig, ax = plt.subplots(figsize=(6.4, 4.2))
ax.set_facecolor("0.75")
cmap = plt.get_cmap("viridis").copy()
cmap.set_under("#D55E00")
mesh = ax.pcolormesh(KAPPA_GRID, ETA_GRID, np.ma.masked_invalid(np.minimum(gain, 150)),
                     shading="nearest", cmap=cmap, vmin=0, vmax=150)
fig.colorbar(mesh, ax=ax, label="decades gained over GD (capped at 150)")
ax.plot([2, 5, 2, 5], [0.01, 0.01, 1.9, 1.9], "o", color="white", mec="k")
ax.plot([50, 50], [0.01, 1.9], "x", color="k", ms=8, mew=2)
ax.axhline(1.0, color="k", lw=0.8, ls=":")
ax.set(xscale="log", yscale="log", xlabel=r"$\kappa=\gamma h^2\theta_0^2$", ylabel=r"initial step $\eta h$")
ax.grid(False)
plt.show()

# %% [markdown]
# Below Newton's step ($\eta h\le1$, under the dotted line) two regimes meet almost at once. For
# $\kappa$ up to a few the rule accelerates strongly from any step
# ({glue:text}`accel-fraction:.0%` of those cells gain over ten decades); the first blow-up is at
# $\kappa\approx${glue:text}`boundary-kappa-min:.2g`, and from $\kappa=30$ on every run blows up:
# an early overshoot ($s\gg2$) throws $\theta$ far out, the next $g_{t-1}g_t$ is hugely negative
# and crushes $\nu$, the iterate stalls, the next products are hugely positive and $\nu$ explodes.
# The clip caps each jump at $e^{50}$ but cannot stop this: every blow-up has hit it, and no run
# below Newton's step that beats GD touches it. Above Newton's step the first update overshoots
# ($g_0g_1<0$) and $\nu$ shrinks first, so the map changes shape; near $\eta h=2$ a large $\kappa$
# kills $\nu$ at once ({glue:text}`stalled-count:d` stalled cells). The Newton intuition is only
# qualitative: accelerated runs end with steps from {glue:text}`s-final-q10:.2f` to
# {glue:text}`s-final-q90:.2f` (10th–90th percentile), because once $s\in(0,2)$, $\theta$
# collapses geometrically, the drift's weight $\theta^2$ with it, and $s$ freezes wherever it is.
#
# ## 5. Random problems: one $\gamma$ for many coordinates
#
# On a diagonal quadratic $\tfrac12\sum_ih_i(\theta_i-\theta^*_i)^2$ each coordinate runs its own
# copy of Section 4 with $\kappa_i=\gamma h_i^2\theta_i^{*2}$, so a single $\gamma$ works only if
# every $\kappa_i$ is in the window. Three families of 24 random problems ($d=10$, $\theta_0=0$,
# 200 steps from the step $\eta=0.01$, 100 times too small): **A**, $h_i$ log-uniform in
# $[0.3,1]$ and $\theta^*_i=\pm1$, so the $\kappa_i$ span one decade; **B**, the same $h_i$ but
# $\theta^*_i\sim\mathcal N(0,1)$, so they span several; **C**, ill-conditioned, $h_i$ log-uniform
# in $[0.01,1]$ and $\theta^*_i\sim\mathcal N(0,1)$. Baselines: GD from the same step, and GD with
# the best fixed step of a 200-point grid per problem (an oracle, cheap from GD's closed-form
# loss). The score is $\log_{10}$ of the final loss relative to the initial one, floored at $-30$
# ("solved").

# %%
FAMILIES = {"A": (-0.5, "pm1"), "B": (-0.5, "gauss"), "C": (-2.0, "gauss")}
METHODS = ["GD, η=0.01", "GD, tuned η", "meta γ=0.3", "meta γ=1", "meta γ=3", "sign γ=0.1"]
P_RAND, T_RAND, d, eta_grid = 24, 200, 10, np.geomspace(0.01, 1.99, 200)
scores = {}
for fam, (lo, kind) in FAMILIES.items():
    cv = np.empty((len(METHODS), P_RAND, T_RAND + 1))
    for p in range(P_RAND):
        h = 10 ** ch.rng.uniform(lo, 0, d)
        h[np.argmax(h)] = 1.0
        ts = ch.rng.choice([-1.0, 1.0], d) if kind == "pm1" else ch.rng.normal(size=d)
        gd = gd_diag_rel_loss(h, ts, eta_grid, T_RAND)
        cv[:, p] = [gd[0], gd[np.argmin(gd[:, -1])]] + [
            meta_diag_rel_loss(h, ts, 0.01, gm, T_RAND, mode=mode)
            for gm, mode in [(0.3, "product"), (1.0, "product"), (3.0, "product"), (0.1, "sign")]]
    scores[fam] = np.where(cv[..., -1] > 1, np.inf, np.log10(np.maximum(cv[..., -1], 1e-30)))
rows = []
for fam, sc in scores.items():
    for m, name in enumerate(METHODS):
        blown_m, med = np.isinf(sc[m]).mean(), np.median(sc[m])
        med_text = (f"{med:.1f} ± {bootstrap_se(lambda s: np.median(s, -1), sc[m], rng=ch.rng):.1f}"
                    if blown_m == 0 else "blew up" if np.isinf(med) else f"{med:.1f} (some blew up)")
        rows.append([fam, name, med_text, f"{blown_m:.0%} ± {proportion_se(blown_m, P_RAND):.0%}",
                     f"{(sc[m] <= -30).mean():.0%}"])
show_table(["family", "method", "median log10 rel. loss ± s.e.", "blew up", "solved (≤ 1e-30)"],
           rows)

# %%
solved_a = (scores["A"][4] <= -30).mean()
blown_a, blown_b = np.isinf(scores["A"][4]).mean(), np.isinf(scores["B"][4]).mean()
se_a = max(proportion_se(blown_a, P_RAND), 1 / P_RAND)  # floor: 0/24 still has an uncertainty
se_diff = np.hypot(proportion_se(blown_b, P_RAND), se_a)
ch.claim("family-a-meta-solves", solved_a, at_least=0.5,
         why="binomial s.e. at n = 24 is at most 0.1; the claim is a clear majority",
         statement="A (kappa_i within a decade): meta gamma = 3 from a 100x too small step "
         "solves most problems")
ch.measured("family-b-blown", blown_b, why="descriptive: share of B runs that blew up")
ch.claim("family-b-blowups", (blown_b - blown_a) / se_diff, at_least=3.0,
         why="3 binomial standard errors (s.e. of A floored at 1/24 when no run blew up)",
         statement="B vs A (only the spread of kappa_i differs): gamma = 3 blows up more often")
best_meta_c, tuned_c = scores["C"][2:5].min(0), scores["C"][1]  # per problem: best of 3 gammas
med_gap = lambda x, y: np.median(x, -1) - np.median(y, -1)
gap_c = med_gap(best_meta_c, tuned_c)
gap_c_se = bootstrap_se(med_gap, best_meta_c, tuned_c, rng=ch.rng)
ch.claim("family-c-meta-vs-tuned", gap_c / gap_c_se, at_least=4.0,
         why="4 paired-bootstrap standard errors of the difference of medians",
         statement="C: even the best gamma per problem ends far behind tuned GD")
ch.measured("family-c-gap", gap_c, why="descriptive: decades between the medians")
sign_solved = np.mean([(scores[f][5] <= -30).mean() for f in scores])
ch.claim("sign-solves-all", float(sign_solved), equals=1.0, why="exact count: all 72 problems",
         statement="the sign-only variant solves every problem in every family")
_ = ch.measured("family-a-gain", np.median(scores["A"][0] - scores["A"][4]),
                why="descriptive: decades, meta gamma = 3 vs GD eta = 0.01")

# %% [markdown]
# In A the rule does what it promises: from a step 100 times too small it gains a median
# {glue:text}`family-a-gain:.0f` decades over GD and solves {glue:text}`family-a-meta-solves:.0%`
# of the problems. B changes only the targets, hence the spread of the $\kappa_i$, and with the
# same $\gamma$ the rule blows up in {glue:text}`family-b-blown:.0%` of them. In C the small-$h_i$
# coordinates have $\kappa_i$ four decades below the others and never adapt, while a larger
# $\gamma$ blows up the large ones: the best $\gamma$ per problem ends
# {glue:text}`family-c-gap:.1f` decades behind tuned GD ({glue:text}`family-c-meta-vs-tuned:.0f`
# standard errors). The sign-only variant ignores gradient magnitudes and sidesteps the issue.
#
# ## 6. What the article gets right, the one imprecision, and what is left out
#
# The article's algebra checks out: the change of variables, the hypergradient
# {eq}`eq-exponentiated-gradient-hyper` and the closed form {eq}`eq-exponentiated-gradient-closed`
# with $\nu_1=\mathbf 1$ and the sum from $k=1$, as printed (reading every sentence and equation,
# these are its only numerals with content; there is no experiment). The imprecision is the
# justification of EG: the dropped factor $e^{\varphi_t}$ is no inessential learning rate, since
# keeping it turns geometric convergence near the boundary into $1/t$ (`loggd-gap-vs-eg`,
# {numref}`fig-exponentiated-gradient-nnls`); mirror descent gives EG with nothing dropped. The
# rule is, as the article says, a simplification of the paper's (a global scale plus gains driven
# by the alignment of the gradient with an average of past ones), not reproduced here.
#
# Left out for length, and not checked here: the small-$\kappa$ expansion of $\log\nu_T$ along
# plain GD's iterates, the median loss curves of the random problems, and the rule under noisy
# gradients (a commenter under the article reports the step collapsing in language-model training).
#
# ## Claims

# %%
ch.table()
