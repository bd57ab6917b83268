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
#     date: '2022-05-10'
#     id: 9070
#     title: Some Inequalities for the logsumexp Operation
#     title_zh: "logsumexp\u8FD0\u7B97\u7684\u51E0\u4E2A\u4E0D\u7B49\u5F0F"
#     url: https://kexue.fm/archives/9070
# ---

# %% [markdown]
# (ch-logsumexp-inequalities)=
# # Inequalities for logsumexp
#
# How far is $\mathrm{lse}(x)=\log\sum_i e^{x_i}$ from the maximum it is meant to smooth, and what
# can be said about it from below when all we know is a probability vector $p$? The answer is a
# small family of sharp inequalities: lse sits strictly above $\max_i x_i$ and at most $\log n$
# above it; it is bounded below by the mean plus $\log n$, and by $\sum_i p_i x_i$ plus an entropy
# of $p$ for **any** $p$, with equality exactly at $p=\mathrm{softmax}(x)$; it is 1-Lipschitz in
# the max-norm and convex. This chapter derives each one, checks every step, finds each
# equality case, and measures where floating point bends the "strict" inequality.
#
# :::{prf:theorem} Bounds on logsumexp
# :label: thm-logsumexp-inequalities
# Let $x,y\in\mathbb R^n$, $\tau>0$, $\lambda\in[0,1]$, $p$ a probability vector and $t>1$. Then
#
# 1. $\max_i x_i \le \mathrm{lse}(x) \le \max_i x_i + \log n$, strict on the left when $n\ge2$,
#    and $0 < \tau\,\mathrm{lse}(x/\tau) - \max_i x_i \le \tau\log n$;
# 2. $\mathrm{lse}(x) \ge \bar x + \log n$, where $\bar x$ is the mean of $x$;
# 3. $\mathrm{lse}(x) \ge \sum_i p_i x_i + H_t(p)$ with the Rényi entropy
#    $H_t(p) = -\frac{1}{t-1}\log\sum_i p_i^t$, and, as $t\to1$,
#    $\mathrm{lse}(x) \ge \sum_i p_i x_i - \sum_i p_i\log p_i$ with equality iff
#    $p=\mathrm{softmax}(x)$;
# 4. $|\mathrm{lse}(x)-\mathrm{lse}(y)| \le \max_i |x_i-y_i|$;
# 5. $\mathrm{lse}(\lambda x + (1-\lambda) y) \le \lambda\,\mathrm{lse}(x) + (1-\lambda)\,\mathrm{lse}(y)$.
# :::
#
# The article {cite}`su2022lse` collects these facts; convexity and the variational form are
# classical {cite}`boyd2004convex`. Everything below is float64 unless said otherwise.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

from lib.book import Chapter
from lib.softmax import lse_bound_slacks, lse_weighted_lower_bound, renyi_entropy, smooth_max
from lib.stats import mean_se

ch = Chapter("logsumexp-inequalities", seed=9070)
f64 = torch.float64
EPS = torch.finfo(f64).eps

# %% [markdown]
# ## 1. Between the maximum and the maximum plus $\log n$
#
# Write $m=\max_i x_i$ and factor it out of the sum:
#
# $$
# \mathrm{lse}(x) = m + \log\Bigl(1 + \sum_{i\ne i^*} e^{x_i - m}\Bigr),
# $$ (eq-lse-shift)
#
# where $i^*$ is an index of the maximum. Every term of the remaining sum lies in $(0,1]$, so the
# logarithm lies in $[0, \log n]$ — it is $0$ only when the sum is empty ($n=1$) and $\log n$
# only when all entries are equal. That is the first claim:
#
# $$
# m \le \mathrm{lse}(x) \le m + \log n .
# $$ (eq-lse-basic)
#
# Applying {eq}`eq-lse-basic` to $x/\tau$ and multiplying by $\tau$ gives the temperature
# version
#
# $$
# 0 < \tau\,\mathrm{lse}(x/\tau) - m \le \tau \log n \qquad (n\ge2),
# $$ (eq-lse-tau)
#
# so the smooth maximum `smooth_max` converges to the maximum at least linearly in $\tau$.
# Equation {eq}`eq-lse-shift` is also how lse must be computed: the shifted exponentials never
# overflow. The library function is a thin, validated wrapper of the shifted form:
#
# ```{literalinclude} /lib/softmax/lse.py
# :pyobject: smooth_max
# ```
#
# First the identity {eq}`eq-lse-shift`, symbolically, for $n=3$ with $x_1$ the maximum:

# %%
x1, x2, x3, tau = sp.symbols("x1 x2 x3 tau", real=True)
lse3 = sp.log(sp.exp(x1) + sp.exp(x2) + sp.exp(x3))
shifted = x1 + sp.log(1 + sp.exp(x2 - x1) + sp.exp(x3 - x1))
residual = sp.simplify(sp.expand_log(sp.exp(lse3) - sp.exp(shifted), force=True))
ch.claim("shift-identity-sympy", residual == 0, equals=True,
         why="exact symbolic simplification", statement="Eq. (eq-lse-shift) holds symbolically")


# %% [markdown]
# Now the inequalities on random data. We draw 200 groups of 50 vectors; each group has its own
# length $n\in[1,20]$, scale (log-uniform in $[10^{-2},10^{2}]$), temperature
# $\tau\in(0.01,3)$, Hölder exponent $t\in(1.01,10)$ and mixing weight $\lambda$; the weights $p$
# are Dirichlet draws, a quarter of them with some entries set exactly to zero. Each inequality
# is written as a slack (right side minus left side) that must be $\ge 0$; we divide it by
# $1+\max(|x|_\infty,|y|_\infty)$ so that one float64 tolerance fits all scales.

# %%
def random_cases(rng, groups=200, per_group=50):
    worst = {}
    for _ in range(groups):
        n = int(rng.integers(1, 21))
        scale = 10 ** rng.uniform(-2, 2)
        x = torch.tensor(rng.normal(size=(per_group, n)) * scale, dtype=f64)
        y = torch.tensor(rng.normal(size=(per_group, n)) * scale, dtype=f64)
        p = rng.dirichlet(np.full(n, rng.uniform(0.2, 3)), size=per_group)
        if rng.random() < 0.25 and n > 1:
            p[:, : n // 2] = 0.0
            p /= p.sum(axis=1, keepdims=True)
        s = lse_bound_slacks(x, y, torch.tensor(p, dtype=f64), t=rng.uniform(1.01, 10),
                             tau=rng.uniform(0.01, 3), lam=rng.uniform(0, 1))
        norm = 1 + torch.maximum(x.abs().amax(-1), y.abs().amax(-1))
        for k, v in s.items():
            worst[k] = min(worst.get(k, math.inf), float((v / norm).min()))
    return worst


worst = random_cases(ch.rng)
TOL = 1e-12  # ~100x amplification (1/(t-1) at t=1.01) of float64 rounding of O(1) terms
for k in ["max_lt_lse", "lse_le_max_log_n", "tau_upper"]:
    ch.claim(f"worst-slack-{k}", worst[k], at_least=0.0, atol=TOL,
             why="float64 rounding, amplified at most ~100x; 10^4 random cases",
             statement=f"{k}: holds in all 10^4 random cases")
for printed, where, claim in [
        ("log n", "lse(x) <= x_max + log n: error to max at most log n", "lse_le_max_log_n"),
        ("τ log n", "x_max < τ lse(x/τ) <= x_max + τ log n", "tau_upper"),
        ("0", "the error tends to 0 as τ -> 0 (squeezed by τ log n)", "tau_upper")]:
    ch.source_number(printed, where=f"§Basic bounds: {where}", fate="reproduced", claim=f"worst-slack-{claim}")

# %% [markdown]
# The worst normalised slack of the upper bound {eq}`eq-lse-basic` over the $10^4$ cases is
# {glue:text}`worst-slack-lse_le_max_log_n:.2e`: the bound is attained — trivially by the
# vectors of length one, and by every constant vector, which is the equality case:

# %%
c = torch.full((7,), 3.25, dtype=f64)
ch.claim("upper-tight-constant", torch.logsumexp(c, 0) - (c.max() + math.log(7)), equals=0.0,
         atol=16 * EPS, why="a few ulp of numbers of size ~5 (ulp(5) = 8.9e-16)",
         statement="lse = max + log n for a constant vector")

# %% [markdown]
# The figure shows how the temperature version approaches the maximum: the gap
# $\tau\,\mathrm{lse}(x/\tau)-\max x$ is pinned to $\tau\log n$ for a constant vector and falls
# far below it — exponentially fast once $\tau$ is smaller than the gap between the two largest
# entries — for a generic one.

# %% mystnb={"figure": {"caption": "The smoothing error $\\tau\\,\\mathrm{lse}(x/\\tau)-\\max x$ against the temperature, for\nthree vectors of length $n=10$: constant (the bound $\\tau\\log n$ is attained), Gaussian,\nand one with a clear winner (gap 1 between the two largest entries). The dashed line is\nthe bound {eq}`eq-lse-tau`.\n", "name": "fig-logsumexp-tau"}}
taus = torch.logspace(-3, 1, 200, dtype=f64)
n = 10
vectors = {
    "constant": torch.zeros(n, dtype=f64),
    "Gaussian": torch.tensor(ch.rng.normal(size=n), dtype=f64),
    "clear winner (gap 1)": torch.cat([torch.tensor([1.0], dtype=f64), torch.zeros(n - 1, dtype=f64)]),
}
fig, ax = plt.subplots()
ax.loglog(taus, taus * math.log(n), "k--", label=r"bound $\tau\log n$")
for label, v in vectors.items():
    gap = torch.stack([smooth_max(v, float(t)) - v.max() for t in taus])
    ax.loglog(taus, gap.clamp_min(1e-300), label=label)
ax.set_ylim(1e-12, 1e2)
ax.set_xlabel(r"temperature $\tau$")
ax.set_ylabel(r"$\tau\,\mathrm{lse}(x/\tau) - \max x$")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. The mean bound
#
# The exponential is convex, so the average of $e^{x_i}$ is at least the exponential of the
# average (Jensen): $\frac1n\sum_i e^{x_i} \ge e^{\bar x}$. Taking logarithms,
#
# $$
# \mathrm{lse}(x) \ge \bar x + \log n ,
# $$ (eq-lse-mean)
#
# with equality exactly when $x$ is constant. Together with {eq}`eq-lse-basic`, lse is squeezed
# into $[\max(m, \bar x + \log n),\; m + \log n]$.

# %%
ch.claim("worst-slack-mean", worst["mean_bound"], at_least=0.0, atol=TOL,
         why="float64 rounding; 10^4 random cases", statement="Eq. (eq-lse-mean) in all cases")
ch.claim("mean-tight-constant", torch.logsumexp(c, 0) - (c.mean() + math.log(7)), equals=0.0,
         atol=16 * EPS, why="a few ulp of numbers of size ~5",
         statement="the mean bound is attained by a constant vector")
ch.source_number("log n", where="§Average bounds: lse(x) >= mean(x) + log n", fate="reproduced",
                 claim="worst-slack-mean")

# %% [markdown]
# ## 3. Lower bounds from any probability vector
#
# **The $t=2$ case.** Split $e^{x_i/2}$ against $p_i$ with the Cauchy–Schwarz inequality:
#
# $$
# \Bigl(\sum_i p_i e^{x_i/2}\Bigr)^2 \le \sum_i p_i^2 \,\sum_i e^{x_i}.
# $$ (eq-lse-cs)
#
# Jensen's inequality for the concave logarithm under the weights $p$ gives
# $\log\sum_i p_i e^{x_i/2} \ge \frac12\sum_i p_i x_i$. Taking logarithms of {eq}`eq-lse-cs` and
# combining: $\mathrm{lse}(x) \ge \sum_i p_i x_i - \log\sum_i p_i^2$.
#
# **General $t>1$.** Hölder's inequality with the conjugate pair $t$ and $t' = t/(t-1)$ replaces
# Cauchy–Schwarz: $\sum_i p_i e^{x_i/t'} \le (\sum_i p_i^t)^{1/t} (\sum_i e^{x_i})^{1/t'}$. The
# same Jensen step on the left and a multiplication by $t'$ give
#
# $$
# \mathrm{lse}(x) \ge \sum_i p_i x_i + H_t(p), \qquad H_t(p) = -\frac{1}{t-1}\log\sum_i p_i^t .
# $$ (eq-lse-holder)
#
# $H_t$ is the Rényi entropy of order $t$; $t=2$ recovers the Cauchy–Schwarz bound.
#
# **The limit $t\to1$.** Let $g(t) = \log\sum_i p_i^t$. Since $g(1) = \log 1 = 0$, the quotient
# $-g(t)/(t-1)$ tends to $-g'(1) = -\sum_i p_i\log p_i$, the Shannon entropy $H(p)$:
#
# $$
# \mathrm{lse}(x) \ge \sum_i p_i x_i + H(p).
# $$ (eq-lse-gibbs)

# %%
p1, p2, t = sp.symbols("p1 p2 t", positive=True)
p3 = 1 - p1 - p2
g = sp.log(p1**t + p2**t + p3**t)
ch.claim("renyi-limit-g1-sympy", sp.simplify(g.subs(t, 1)) == 0, equals=True,
         why="exact symbolic", statement="g(1) = 0 because the p_i sum to 1")
shannon = p1 * sp.log(p1) + p2 * sp.log(p2) + p3 * sp.log(p3)
ch.claim("renyi-limit-derivative-sympy",
         sp.simplify(sp.diff(g, t).subs(t, 1) - shannon) == 0, equals=True,
         why="exact symbolic", statement="g'(1) = sum p log p, so H_t -> Shannon entropy")

# %% [markdown]
# Numerically, the limit is approached linearly in $t-1$, and $H_t$ never increases with $t$ —
# so among all the bounds {eq}`eq-lse-holder`, the Shannon one is the tightest (a remark not in
# the article: Rényi entropies are non-increasing in their order).

# %%
p = torch.tensor(ch.rng.dirichlet(np.ones(6)), dtype=f64)
hs = (1e-3, 1e-4, 1e-5)
gaps = [float(renyi_entropy(p, 1.0) - renyi_entropy(p, 1 + h)) for h in hs]
# H_{1+h} = H - (V/2) h - (k3/6) h^2 + O(h^3), V and k3 the variance and third cumulant of log p
lp = p.log()
V = float((p * (lp - (p * lp).sum()) ** 2).sum())
k3 = float((p * (lp - (p * lp).sum()) ** 3).sum())
slope_err = max(abs(g / h - V / 2) - (abs(k3) / 6 * h + 8 * EPS / h) for g, h in zip(gaps, hs, strict=True))
ch.claim("renyi-limit-linear-rate", slope_err, at_most=0.0,
         why="gap/(t-1) - Var(log p)/2 is bounded by the next Taylor term |k3|(t-1)/6 plus the "
         "rounding of a difference of O(1) entropies divided by t-1 (8 eps/(t-1)); checked at "
         "t-1 = 1e-3, 1e-4, 1e-5",
         statement="H_t(p) -> H(p) linearly: (H - H_t)/(t-1) -> Var_p(log p)/2")
ts = torch.linspace(1, 10, 400, dtype=f64)
P = torch.tensor(ch.rng.dirichlet(np.full(8, 0.5), size=500), dtype=f64)
H = torch.stack([renyi_entropy(P, float(tt)) for tt in ts])  # (len(ts), 500)
ch.claim("renyi-nonincreasing", float(torch.diff(H, dim=0).max()), at_most=0.0, atol=1e-12,
         why="float64 rounding of differences of O(1) entropies",
         statement="H_t(p) is non-increasing in t (500 random p, 400 values of t)")

# %% [markdown]
# **The equality case is softmax.** With $q=\mathrm{softmax}(x)$, i.e. $\log q_i = x_i -
# \mathrm{lse}(x)$, the gap in {eq}`eq-lse-gibbs` is a Kullback–Leibler divergence:
#
# $$
# \mathrm{lse}(x) - \sum_i p_i x_i - H(p) = \sum_i p_i \log\frac{p_i}{q_i} = \mathrm{KL}(p\,\|\,q) \ge 0,
# $$ (eq-lse-kl)
#
# so {eq}`eq-lse-gibbs` is Gibbs' inequality in disguise, tight exactly at $p = q$: lse is the
# maximum over probability vectors of "expected score plus entropy", attained by softmax.

# %%
xs = sp.symbols("x1:4", real=True)
ps = sp.symbols("p1:4", positive=True)
Z = sum(sp.exp(v) for v in xs)
qs = [sp.exp(v) / Z for v in xs]
gap = sp.log(Z) - sum(a * b for a, b in zip(ps, xs, strict=True)) + sum(a * sp.log(a) for a in ps)
kl = sum(a * sp.log(a / b) for a, b in zip(ps, qs, strict=True))
diff = sp.expand(sp.expand_log(gap - kl, force=True)).subs(ps[2], 1 - ps[0] - ps[1])
ch.claim("gibbs-kl-identity-sympy", sp.simplify(diff) == 0, equals=True, why="exact symbolic",
         statement="Eq. (eq-lse-kl): the Gibbs gap equals KL(p || softmax x)")

x = torch.tensor(ch.rng.normal(size=(1000, 12)) * 5, dtype=f64)
q = torch.softmax(x, -1)
tight = (torch.logsumexp(x, -1) - lse_weighted_lower_bound(x, q, 1.0)).abs().max()
ch.claim("gibbs-tight-at-softmax", tight, at_most=1e-12,
         why="float64 rounding of O(10) terms (~100 ulp)",
         statement="Eq. (eq-lse-gibbs) is an equality at p = softmax(x)")
for k in ["holder_bound", "gibbs_bound"]:
    ch.claim(f"worst-slack-{k}", worst[k], at_least=0.0, atol=TOL,
             why="float64 rounding, amplified at most ~100x by 1/(t-1)",
             statement=f"{k}: holds in all 10^4 random cases")
# the t = 2 (Cauchy-Schwarz) bound spelt out directly, not through lse_weighted_lower_bound
rng_cs = np.random.default_rng([9070, 2])  # own stream: the draws above keep their values
x_cs = torch.tensor(rng_cs.normal(size=(2000, 6)) * 3, dtype=f64)
p_cs = torch.tensor(rng_cs.dirichlet(np.ones(6), size=2000), dtype=f64)
cs_slack = torch.logsumexp(x_cs, -1) - (p_cs * x_cs).sum(-1) + torch.log((p_cs**2).sum(-1))
ch.claim("cauchy-t2-bound", float(cs_slack.min()), at_least=0.0, atol=1e-13,
         why="float64 rounding of O(10) terms (~100 ulp)", statement="lse(x) >= sum p x - log sum p^2 on 2000 random (x, p), n = 6")
for printed, value, where, claim in [
        ("2", 2.0, "Cauchy–Schwarz form, lse(x) >= sum p x - log sum p^2", "cauchy-t2-bound"),
        ("1/(t-1)", None, "Hölder form, coefficient of log sum p^t", "worst-slack-holder_bound"),
        ("t > 1", 1.0, "range of the Hölder exponent", "worst-slack-holder_bound"),
        ("t -> 1", 1.0, "the limit gives the entropy term -sum p log p", "renyi-limit-derivative-sympy"),
        ("0", 0.0, "the entropy form is KL(p || softmax x) >= 0", "worst-slack-gibbs_bound")]:
    ch.source_number(printed, value=value, where=f"§Average bounds: {where}", fate="reproduced", claim=claim)

# %% [markdown]
# The figure fixes one $x$ and shows the lower bound as a function of $t$, for the softmax
# weights and for two other probability vectors: every curve stays below lse, each is highest at
# $t=1$, and only the softmax curve touches lse.

# %% mystnb={"figure": {"caption": "The weighted lower bound $\\sum_i p_ix_i + H_t(p)$ of {eq}`eq-lse-holder` against the\norder $t$ for one $x\\in\\mathbb R^8$ and three choices of $p$. The bound decreases with\n$t$; at $t=1$ it equals lse exactly for $p=\\mathrm{softmax}(x)$.\n", "name": "fig-logsumexp-holder"}}
x8 = torch.tensor(ch.rng.normal(size=8) * 1.5, dtype=f64)
choices = {
    r"$p=\mathrm{softmax}(x)$": torch.softmax(x8, 0),
    r"$p=\mathrm{softmax}(x/2)$": torch.softmax(x8 / 2, 0),
    "uniform $p$": torch.full((8,), 1 / 8, dtype=f64),
}
fig, ax = plt.subplots()
ax.axhline(float(torch.logsumexp(x8, 0)), color="k", ls="--", label=r"$\mathrm{lse}(x)$")
for label, pv in choices.items():
    ax.plot(ts, [float(lse_weighted_lower_bound(x8, pv, float(tt))) for tt in ts], label=label)
ax.set_xlabel("Rényi order $t$")
ax.set_ylabel(r"$\sum_i p_i x_i + H_t(p)$")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Lipschitz in the max-norm
#
# Move from $y$ to $x$ along the segment $z(\lambda) = y + \lambda(x-y)$. The derivative of
# $\mathrm{lse}$ is softmax,
#
# $$
# \nabla\,\mathrm{lse}(z) = \mathrm{softmax}(z), \qquad \|\mathrm{softmax}(z)\|_1 = 1,
# $$ (eq-lse-grad)
#
# so $\frac{d}{d\lambda}\mathrm{lse}(z(\lambda)) = \sum_i \mathrm{softmax}(z)_i (x_i - y_i)$ is an
# average of the differences and can never exceed $\max_i|x_i-y_i|$ in absolute value.
# Integrating over $\lambda\in[0,1]$:
#
# $$
# |\mathrm{lse}(x) - \mathrm{lse}(y)| \le \max_i |x_i - y_i| .
# $$ (eq-lse-lip)
#
# The bound is attained by a shift $y = x + c\mathbf 1$, since $\mathrm{lse}(x + c\mathbf 1) =
# \mathrm{lse}(x) + c$.

# %%
xg = torch.tensor(ch.rng.normal(size=(200, 9)) * 3, dtype=f64, requires_grad=True)
(grad,) = torch.autograd.grad(torch.logsumexp(xg, -1).sum(), xg)
# independent route: central finite differences of the lse VALUE, against softmax
x0, hfd = xg.detach(), EPS ** (1 / 3)
fd = torch.stack([(torch.logsumexp(x0 + hfd * e, -1) - torch.logsumexp(x0 - hfd * e, -1)) / (2 * hfd)
                  for e in torch.eye(9, dtype=f64)], -1)
fd_tol = hfd**2 / 6 + 2 * EPS * float(torch.logsumexp(x0, -1).abs().max()) / hfd
ch.claim("grad-is-softmax-fd", (fd - torch.softmax(x0, -1)).abs().max(), at_most=fd_tol,
         why="central differences: truncation h^2 |f3|/6 with the third derivative |f3| <= 1 "
         "along a coordinate, plus rounding 2 eps |lse| / h; h = eps^(1/3)",
         statement="Eq. (eq-lse-grad): the derivative of lse (by finite differences) is softmax")
ch.claim("grad-l1-norm-one", (grad.abs().sum(-1) - 1).abs().max(), at_most=16 * EPS,
         why="sum of 9 float64 terms", statement="the gradient has l1 norm 1")
ch.claim("worst-slack-lipschitz", worst["lipschitz"], at_least=0.0, atol=TOL,
         why="float64 rounding; 10^4 random cases", statement="Eq. (eq-lse-lip) in all cases")
xs9 = xg.detach()
shift = (torch.logsumexp(xs9 + 2.5, -1) - torch.logsumexp(xs9, -1) - 2.5).abs().max()
ch.claim("lipschitz-tight-shift", shift, at_most=32 * EPS, why="a few ulp of numbers of size ~10",
         statement="a constant shift attains the Lipschitz bound")

# %% [markdown]
# ## 5. Convexity
#
# For $\lambda\in(0,1)$, Hölder's inequality with exponents $1/\lambda$ and $1/(1-\lambda)$ gives
# $\sum_i e^{\lambda x_i} e^{(1-\lambda) y_i} \le (\sum_i e^{x_i})^\lambda (\sum_i
# e^{y_i})^{1-\lambda}$; the logarithm of this is
#
# $$
# \mathrm{lse}(\lambda x + (1-\lambda) y) \le \lambda\,\mathrm{lse}(x) + (1-\lambda)\,\mathrm{lse}(y).
# $$ (eq-lse-convex)
#
# Equivalently, the Hessian $\mathrm{diag}(q) - qq^\top$ (with $q=\mathrm{softmax}(x)$) is
# positive semi-definite: for any $v$, $v^\top(\mathrm{diag}(q)-qq^\top)v$ is the variance of
# $v_i$ under $q$. A consequence used later in the book: for a random vector,
# $\mathbb E[\mathrm{lse}(X)] \ge \mathrm{lse}(\mathbb E[X])$ (Jensen).

# %%
a, b = sp.symbols("a b", real=True)
f2 = sp.log(sp.exp(a) + sp.exp(b))
hess = sp.hessian(f2, (a, b))
qa = sp.exp(a) / (sp.exp(a) + sp.exp(b))
expected = sp.Matrix([[qa * (1 - qa), -qa * (1 - qa)], [-qa * (1 - qa), qa * (1 - qa)]])
ch.claim("hessian-sympy", (hess - expected).applyfunc(sp.cancel) == sp.zeros(2, 2), equals=True,
         why="exact symbolic", statement="Hessian of lse is diag(q) - q q^T (n = 2)")
z16 = torch.tensor(ch.rng.normal(size=16) * 4, dtype=f64)
Hn = torch.autograd.functional.hessian(lambda z: torch.logsumexp(z, 0), z16)
ch.claim("hessian-psd", torch.linalg.eigvalsh(Hn).min(), at_least=0.0, atol=1e-15,
         why="eigenvalue rounding of a float64 matrix with entries <= 1/4",
         statement="the Hessian is positive semi-definite")
ch.claim("worst-slack-convexity", worst["convexity"], at_least=0.0, atol=TOL,
         why="float64 rounding; 10^4 random cases", statement="Eq. (eq-lse-convex) in all cases")
# X ~ N(1, 4 I) in R^5: lse(E[X]) = lse(1, ..., 1) = 1 + log 5 exactly; E[lse(X)] by Monte Carlo
X = torch.tensor(ch.rng.normal(size=(20000, 5)) * 2 + 1, dtype=f64)
e_lse, se_lse = mean_se(torch.logsumexp(X, -1))
ch.claim("jensen-expectation-z", (e_lse - (1 + math.log(5))) / se_lse, at_least=4.0,
         why="the Monte-Carlo estimate of E[lse(X)] exceeds the exact lse(E[X]) by at least 4 "
         "standard errors (one-sided P ~ 3e-5 if the expectations were equal)",
         statement="E[lse(X)] > lse(E[X]) for X ~ N(1, 4 I) in R^5 (Jensen, strict here)")

# %% [markdown]
# ## 6. The smooth-max reading, and softmax
#
# Put {eq}`eq-lse-tau`, {eq}`eq-lse-grad` and {eq}`eq-lse-kl` together: lse is a smooth upper
# approximation of max whose error is at most $\tau\log n$, its gradient is softmax (a smooth
# approximation of the one-hot argmax), and it is the value of the entropy-regularised problem
# $\max_p\,\langle p, x\rangle + H(p)$. This is the lens through which the book reads
# cross-entropy: for a score vector $s$ and target $t$, $-\log\mathrm{softmax}(s)_t =
# \mathrm{lse}(s - s_t)$ is a smooth version of $\max_i(s_i - s_t)$, the largest margin by which
# a wrong class beats the right one. The multi-label loss of the "Classification losses" part is
# built by applying this reading to pairs of scores.

# %%
s = torch.tensor(ch.rng.normal(size=(500, 10)) * 3, dtype=f64)
target = torch.tensor(ch.rng.integers(0, 10, size=500))
ce = torch.nn.functional.cross_entropy(s, target, reduction="none")
margin = s - s.gather(1, target[:, None])
ch.claim("ce-is-lse-of-margins", (ce - torch.logsumexp(margin, -1)).abs().max(), at_most=64 * EPS,
         why="float64 rounding of two evaluations of the same O(10) quantity",
         statement="CE(s, t) = lse(s - s_t)")
sm_gap = ce - margin.amax(-1).clamp_min(0)
ch.claim("ce-smooth-max-gap-min", float(sm_gap.min()), at_least=0.0, atol=64 * EPS,
         why="exact bound Eq. (eq-lse-basic); float64 rounding of O(10) numbers",
         statement="CE - max(0, max_i (s_i - s_t)) >= 0 on all 500 rows")
ch.claim("ce-smooth-max-gap-max", float(sm_gap.max()), at_most=math.log(10), atol=64 * EPS,
         why="exact bound Eq. (eq-lse-basic) with n = 10; float64 rounding",
         statement="CE - max(0, max_i (s_i - s_t)) <= log 10 on all 500 rows")

# %% [markdown]
# ## 7. Where "strictly greater" fails: one entry, and floating point
#
# The article states $\max_i x_i < \mathrm{lse}(x)$ with no condition on $n$; for $n=1$ the two
# sides are equal.

# %%
ch.claim("strict-fails-n1", sp.simplify(sp.log(sp.exp(x1)) - x1) == 0, equals=True,
         erratum="The article states x_max < logsumexp(x) for any x = (x_1, ..., x_n) "
         "(§Basic bounds); it fails for n = 1", why="exact symbolic (x1 real)", statement="for n = 1, lse(x) = x_max exactly: the strict inequality needs n >= 2")


# %% [markdown]
# In floating point the strict inequality fails far more often:
# once every other entry is more than about $\log(2/\varepsilon)$ below the maximum, the sum
# $1+\sum_{i\ne i^*}e^{x_i-m}$ in {eq}`eq-lse-shift` rounds to exactly $1$ and lse *equals* the
# maximum. We find the smallest such gap by bisection for float64 and float32:

# %%
def equality_gap(dtype):
    lo, hi = 0.0, 200.0
    for _ in range(60):
        mid = (lo + hi) / 2
        v = torch.tensor([0.0, -mid], dtype=dtype)
        lo, hi = (mid, hi) if torch.logsumexp(v, 0).item() > 0 else (lo, mid)
    return hi


def ulp(g, dtype):  # spacing of the floating-point numbers of dtype near g
    return 2.0 ** math.floor(math.log2(g)) * torch.finfo(dtype).eps


g64, g32 = equality_gap(torch.float64), equality_gap(torch.float32)
ch.claim("strict-fails-float64-gap", g64, equals=math.log(2 / torch.finfo(torch.float64).eps),
         atol=4 * ulp(g64, torch.float64) + 200 / 2**60,
         why="1 + e^-g rounds to 1 once e^-g < eps/2, i.e. g > log(2/eps); the rounding of exp "
         "moves the boundary by about 1 ulp of g (4 allowed), plus the bisection's resolution",
         statement="float64: lse == max once the gap exceeds log(2/eps)")
ch.claim("strict-fails-float32-gap", g32, equals=math.log(2 / torch.finfo(torch.float32).eps),
         atol=2 * ulp(g32, torch.float32),
         why="same argument in float32, where the gap itself is a float32 number: its spacing "
         "near g is the resolution (2 ulp allowed)",
         statement="float32: lse == max once the gap exceeds log(2/eps)")
ch.claim("strict-fails-example", torch.logsumexp(torch.tensor([0.0, -40.0], dtype=f64), 0),
         equals=0.0, why="exact: the computed value is 0.0 to the last bit",
         statement="lse([0, -40]) == max = 0 exactly in float64, although e^-40 > 0")
naive = torch.log(torch.exp(torch.tensor([710.0, 0.0], dtype=f64)).sum())
ch.claim("naive-overflows", bool(torch.isinf(naive)), equals=True,
         why="exp(710) exceeds the float64 range", statement="log(sum(exp(x))) overflows at x = 710")
ch.claim("shifted-finite", smooth_max(torch.tensor([710.0, 0.0], dtype=f64)), equals=710.0,
         atol=1e-12, why="e^-710 is below float64 resolution at 710",
         statement="the shifted form returns 710 exactly")

# %% [markdown]
# So in float64 the "strict" left inequality holds only while some other entry lies within
# {glue:text}`strict-fails-float64-gap:.2f` of the maximum (float32:
# {glue:text}`strict-fails-float32-gap:.2f`); past that, code must expect equality. The book's
# tests therefore assert $\mathrm{lse}(x) - \max x \ge 0$, never $>0$ (the article reasons in
# exact arithmetic, so only $n=1$ counts against it). **The article's numbers:** it runs no
# experiment; we listed every number in its stated results ($\log n$, $\tau\log n$, the limit
# $0$, the exponent $2$, $\frac{1}{t-1}$, $t>1$, $t\to1$, $\mathrm{KL}\ge0$), all reproduced
# above; numbers inside its proofs ($\varepsilon\in(0,1)$, $t\in[0,1]$) are inputs, not listed.
#
# ## Claims

# %%
ch.table()
