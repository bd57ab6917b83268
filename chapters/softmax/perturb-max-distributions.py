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
#     date: '2022-05-25'
#     id: 9085
#     title: Building Discrete Distributions from the Reparameterisation Viewpoint
#     title_zh: "\u4ECE\u91CD\u53C2\u6570\u7684\u89D2\u5EA6\u770B\u79BB\u6563\u6982\u7387\
#       \u5206\u5E03\u7684\u6784\u5EFA"
#     url: https://kexue.fm/archives/9085
# ---

# %% [markdown]
# (ch-perturb-max-distributions)=
# # Discrete distributions from reparameterisation
#
# Softmax turns a score vector into a probability vector that is non-negative, sums to one,
# keeps the order of the scores and ignores a common shift. Which other maps have these four
# properties? Turn the Gumbel-max trick around: add independent noise to the scores, take the
# argmax, and call the probability that entry $i$ wins $p_i$. All four properties are then
# automatic, and $p_i$ is a one-dimensional integral. Gumbel noise gives softmax exactly; normal
# noise gives a "multinomial probit" with no closed form once there are three or more classes.
# To compute it, Gauss–Hermite quadrature is far more accurate than the article's quantile rule:
# 32 nodes reach an error of {glue:text}`hermite-err-32:.0e`, while the quantile rule is biased by about $(p_i-\tfrac12)/K$ with
# $K$ nodes, so its rows do not sum to one.
#
# :::{prf:theorem} Perturb-and-argmax distributions
# :label: thm-perturb-max-distributions
# Let $\varepsilon_1,\dots,\varepsilon_n$ be i.i.d. with density $\phi$ and continuous CDF
# $\Phi$, and for $\mu\in\mathbb R^n$ let $p_i(\mu)=P[\arg\max_j(\mu_j+\varepsilon_j)=i]$. Then
#
# 1. $p_i=\displaystyle\int_{-\infty}^{\infty}\phi(\varepsilon)\prod_{j\ne i}
#    \Phi(\mu_i-\mu_j+\varepsilon)\,d\varepsilon$;
# 2. $p_i\ge0$, $\sum_ip_i=1$, $\mu_i\ge\mu_j\Rightarrow p_i\ge p_j$, and
#    $p(\mu+c\mathbf 1)=p(\mu)$ for every $c\in\mathbb R$;
# 3. for standard Gumbel noise ($\Phi(\varepsilon)=e^{-e^{-\varepsilon}}$),
#    $p=\mathrm{softmax}(\mu)$;
# 4. for standard normal noise and $n=2$, $p_1=\Phi\bigl((\mu_1-\mu_2)/\sqrt2\bigr)$.
# :::
#
# The construction is the article's {cite}`su2022perturb9085`; drawing from a distribution by
# perturbing and maximising is the "perturb-and-MAP" idea {cite}`papandreou2011perturb9085`, and
# the normal-noise version is Thurstone's model of comparative judgement. Everything below is
# float64.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
from scipy import integrate, stats

from lib.book import Chapter
from lib.softmax import perturb_max_probs

ch = Chapter("perturb-max-distributions", seed=9085)
f64 = torch.float64
EPS = torch.finfo(f64).eps

# %% [markdown]
# ## 1. Four properties, and why ratio maps fail the fourth
#
# We want $\mathcal T:\mathbb R^n\to\Delta^{n-1}$, $\mu\mapsto p$, with
#
# $$
# \text{(1) } p_i\ge0,\quad \text{(2) } \sum_ip_i=1,\quad
# \text{(3) } p_i\ge p_j\Leftrightarrow\mu_i\ge\mu_j,\quad
# \text{(4) } \mathcal T(\mu+c\mathbf 1)=\mathcal T(\mu).
# $$ (eq-perturb-max-properties)
#
# Any positive increasing $f$ gives (1)–(3) through the ratio $p_i=f(\mu_i)/\sum_jf(\mu_j)$.
# Property (4) is what makes this hard: with two classes it says $f(a+c)/f(b+c)=f(a)/f(b)$ for
# all $a,b,c$, so $\log f(a+c)-\log f(a)$ does not depend on $a$. A continuous function with
# that property is affine, $\log f(x)=\log A+\beta x$: among ratio maps, only softmax at some
# temperature is shift-invariant. SymPy confirms the exponential works; a monotone
# non-exponential choice such as softplus visibly does not:

# %%
a, b, c = sp.symbols("a b c", real=True)
A, beta = sp.symbols("A beta", positive=True)
f = lambda x: A * sp.exp(beta * x)
ratio_shift = sp.simplify(f(a + c) / (f(a + c) + f(b + c)) - f(a) / (f(a) + f(b)))
ch.claim("exp-ratio-shift-invariant", ratio_shift == 0, equals=True, why="exact symbolic",
         statement="the ratio map with f = A exp(beta x) satisfies property (4)")

mu0 = torch.tensor([1.0, 2.0, 0.5], dtype=f64)
softplus_map = lambda m: torch.nn.functional.softplus(m) / torch.nn.functional.softplus(m).sum()
shift_gap = (softplus_map(mu0 + 1.0) - softplus_map(mu0)).abs().max()
ch.claim("softplus-ratio-not-shift-invariant", shift_gap, at_least=1e-3,
         why="a failure of (4) must be far above float64 rounding (~1e-16)",
         statement="the softplus ratio map changes under mu -> mu + 1")


# %% [markdown]
# The softplus ratio map moves by {glue:text}`softplus-ratio-not-shift-invariant:.3f` when every
# score is raised by one.
#
# ## 2. Add noise, take the argmax
#
# Draw $\varepsilon_1,\dots,\varepsilon_n$ i.i.d. and *define*
#
# $$
# p_i = P\bigl[\arg\max_j(\mu_j+\varepsilon_j)=i\bigr].
# $$ (eq-perturb-max-def)
#
# Properties (1) and (2) hold because the events "entry $i$ wins" partition the sample space
# (ties have probability zero for continuous noise). The event depends on $\mu$ only through the
# differences $\mu_i-\mu_j$, which gives (4). Swapping $\mu_i$ and $\mu_j$ swaps $p_i$ and $p_j$
# (the noise is exchangeable), and raising $\mu_i$ enlarges the event "$i$ wins" while shrinking
# "$j$ wins"; together these give (3). To compute $p_i$, fix $\varepsilon_i$. Entry $i$ wins when
# $\varepsilon_j<\mu_i-\mu_j+\varepsilon_i$ for every $j\ne i$; these events are independent
# given $\varepsilon_i$, with probabilities $\Phi(\mu_i-\mu_j+\varepsilon_i)$. Averaging over
# $\varepsilon_i$:
#
# $$
# p_i=\int_{-\infty}^{\infty}\phi(\varepsilon)\prod_{j\ne i}\Phi(\mu_i-\mu_j+\varepsilon)\,
# d\varepsilon .
# $$ (eq-perturb-max-integral)
#
# The library evaluates {eq}`eq-perturb-max-integral` for normal or Gumbel noise by Gauss–Hermite
# quadrature, by the article's quantile rule, or by Monte Carlo. The product of CDFs is summed in
# log space, so hundreds of classes or scores of $\pm10^4$ neither underflow nor give NaN:
#
# :::{admonition} Code: `perturb_max_probs` (lib/softmax/perturb.py, 92 lines)
# :class: dropdown
# ```{literalinclude} /lib/softmax/perturb.py
# :pyobject: perturb_max_probs
# ```
# :::
#
# We check {eq}`eq-perturb-max-integral` for standard normal noise at $\mu=(1,2,0.5)$ three
# independent ways: SciPy's adaptive quadrature of the integral, the library's 32-node
# Gauss–Hermite rule, and $10^6$ noisy argmaxes.

# %%
def normal_integral(mu):
    """Adaptive quadrature of eq. (eq-perturb-max-integral) for standard normal noise."""
    mu = np.asarray(mu, dtype=float)
    out = []
    for i in range(len(mu)):
        d = np.delete(mu[i] - mu, i)
        g = lambda e, d=d: stats.norm.pdf(e) * np.prod(stats.norm.cdf(d + e))
        out.append(integrate.quad(g, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0])
    return np.array(out)


ref = normal_integral(mu0.numpy())
herm = perturb_max_probs(mu0, nodes=32).numpy()
N_MC = 10**6
gen = torch.Generator().manual_seed(9085)
mc = perturb_max_probs(mu0, method="mc", nodes=N_MC, generator=gen).numpy()
z_mc = np.abs(mc - ref) / np.sqrt(ref * (1 - ref) / N_MC)
ch.claim("hermite-vs-quad", np.abs(herm - ref).max(), at_most=1e-11,
         why="quad is asked for 1e-13; 32-node Gauss-Hermite of an entire integrand converges "
         "geometrically (section 5 measures ~1e-12)",
         statement="Gauss-Hermite (32 nodes) equals adaptive quadrature of Eq. (eq-perturb-max-integral)")
ch.claim("mc-vs-quad-zscore", z_mc.max(), at_most=4.0,
         why="Monte Carlo: 4 standard errors sqrt(p(1-p)/N), N = 10^6",
         statement="the frequency of argmax wins matches the integral")
for i in (1, 2, 3):  # the article prints no normal-noise values: these are computed here
    ch.measured(f"p{i}-normal", ref[i - 1],
                why="adaptive quadrature; the two claims above check it against Gauss-Hermite "
                "and Monte Carlo")


# %% [markdown]
# For $\mu=(1,2,0.5)$ the probabilities are
# ({glue:text}`p1-normal:.7f`, {glue:text}`p2-normal:.7f`, {glue:text}`p3-normal:.7f`); the
# Monte Carlo frequencies are within {glue:text}`mc-vs-quad-zscore:.2f` standard errors of them.
#
# The four properties, on 1000 random score vectors of lengths 2 to 7 with entries in $[-2,2]$
# (Gauss–Hermite, 64 nodes):

# %%
def random_scores(rng, count=1000, n_max=7, scale=2.0):
    """count random score vectors, lengths 2..n_max, grouped by length into batches."""
    sizes = rng.integers(2, n_max + 1, size=count)
    return [torch.tensor(rng.uniform(-scale, scale, size=(int((sizes == n).sum()), n)), dtype=f64)
            for n in range(2, n_max + 1)]


def property_gaps(batches, fn):
    lowest, sum_err, mono, shift = 1.0, 0.0, 0.0, 0.0
    for m in batches:
        p = fn(m)
        lowest = min(lowest, float(p.min()))
        sum_err = max(sum_err, float((p.sum(-1) - 1).abs().max()))
        p_sorted = p.gather(-1, torch.argsort(m, dim=-1))
        mono = max(mono, float(p_sorted.diff(dim=-1).neg().max()))  # > 0: order broken
        shift = max(shift, float((fn(m + 3.7) - p).abs().max()))
    return lowest, sum_err, mono, shift


batches = random_scores(ch.rng)
lowest, sum_err, mono, shift = property_gaps(batches, lambda m: perturb_max_probs(m, nodes=64))
ch.claim("prop-nonnegative", lowest, at_least=0.0, why="exact: exp of a finite log-probability",
         statement="property (1)")
ch.claim("prop-sum-one", sum_err, at_most=1e-10,
         why="64-node Gauss-Hermite for gaps <= 4: error ~1e-12 (the error grows with the gaps; "
         "48 nodes would give ~1e-10)",
         statement="property (2), to quadrature accuracy")
ch.claim("prop-monotone", mono, at_most=0.0, why="exact order comparison (no rounding slack)",
         statement="property (3): p sorted like mu")
ch.claim("prop-shift", shift, at_most=1e-13,
         why="only the rounding of mu_i - mu_j changes under the shift (~|mu| eps)",
         statement="property (4)")
ch.source_number("4", where="§Noise perturbation: the argmax construction satisfies all 4 conditions "
                 "(the non-trivial one is the shift invariance (4))", fate="reproduced", claim="prop-shift")

# %% [markdown]
# ## 3. Gumbel noise gives softmax
#
# For the standard Gumbel distribution $\Phi(\varepsilon)=e^{-e^{-\varepsilon}}$ and
# $\phi(\varepsilon)=e^{-\varepsilon-e^{-\varepsilon}}$, so the product in
# {eq}`eq-perturb-max-integral` is $\exp\bigl(-e^{-\varepsilon}S_i\bigr)$ with
# $S_i=\sum_{j\ne i}e^{\mu_j-\mu_i}$, and
#
# $$
# p_i=\int_{-\infty}^{\infty}e^{-\varepsilon}\exp\bigl(-e^{-\varepsilon}(1+S_i)\bigr)\,d\varepsilon
# =\Bigl[\frac{\exp(-e^{-\varepsilon}(1+S_i))}{1+S_i}\Bigr]_{-\infty}^{\infty}
# =\frac1{1+S_i}=\frac{e^{\mu_i}}{\sum_je^{\mu_j}} .
# $$ (eq-perturb-max-gumbel)
#
# (The substitution $u=e^{-\varepsilon}$ turns the integral into $\int_0^\infty e^{-u(1+S_i)}du$.)
# SymPy checks the antiderivative and both limits; SciPy's quadrature of the $\varepsilon$-integral
# matches softmax on random scores; and Gumbel-perturbed argmaxes match it in frequency.

# %%
eps_s = sp.symbols("epsilon", real=True)
S = sp.symbols("S", positive=True)
integrand = sp.exp(-eps_s - sp.exp(-eps_s)) * sp.exp(-sp.exp(-eps_s) * S)
antider = sp.exp(-sp.exp(-eps_s) * (1 + S)) / (1 + S)
ok = (sp.simplify(sp.diff(antider, eps_s) - integrand) == 0
      and sp.limit(antider, eps_s, sp.oo) == 1 / (1 + S)
      and sp.limit(antider, eps_s, -sp.oo) == 0)
ch.claim("gumbel-softmax-sympy", ok, equals=True, why="exact symbolic",
         statement="Eq. (eq-perturb-max-gumbel): the Gumbel integral is 1/(1 + S_i)")


def gumbel_integral(mu):
    out = []
    for i in range(len(mu)):
        s_i = np.exp(np.delete(mu, i) - mu[i]).sum()
        g = lambda e, s=s_i: np.exp(-e - np.exp(-e) * (1 + s))
        out.append(integrate.quad(g, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0])
    return np.array(out)


with np.errstate(over="ignore"):  # exp(-e) overflows far in the left tail, where g = 0
    gumbel_err = max(
        np.abs(gumbel_integral(m) - torch.softmax(torch.tensor(m), 0).numpy()).max()
        for m in ch.rng.normal(size=(5, 5)) * 2
    )
ch.claim("gumbel-quad-softmax", gumbel_err, at_most=1e-10,
         why="adaptive quadrature asked for 1e-13 absolute; 1e-10 leaves room for its estimate",
         statement="quadrature of the Gumbel integral equals softmax on 5 random mu in R^5")
mc_g = perturb_max_probs(mu0, noise="gumbel", method="mc", nodes=N_MC, generator=gen).numpy()
sm0 = torch.softmax(mu0, 0).numpy()
ch.claim("gumbel-mc-zscore", (np.abs(mc_g - sm0) / np.sqrt(sm0 * (1 - sm0) / N_MC)).max(),
         at_most=4.0, why="Monte Carlo: 4 standard errors, N = 10^6",
         statement="Gumbel-perturbed argmax frequencies match softmax")

# %% [markdown]
# The article notes that it knows no second noise distribution with a closed-form answer. There
# is a reason: for $n\ge3$, the Gumbel family is essentially the only i.i.d. noise whose
# argmax probabilities have the ratio form $f(\mu_i)/\sum_jf(\mu_j)$ {cite}`yellott1977luce9085`,
# and section 1 showed that among ratio maps only softmax is shift-invariant.
#
# ## 4. Normal noise: a probit-like map
#
# With two classes, entry 1 wins when $\varepsilon_2-\varepsilon_1<\mu_1-\mu_2$, and the
# difference of two independent standard normals is $\mathcal N(0,2)$:
#
# $$
# p_1=\Phi\Bigl(\frac{\mu_1-\mu_2}{\sqrt2}\Bigr)\qquad(n=2,\ \text{standard normal noise}).
# $$ (eq-perturb-max-probit)
#
# Noise of scale $s$ is the same as unit noise on $\mu/s$. Gumbel noise has standard deviation
# $\pi/\sqrt6$, so "normal noise with Gumbel's spread" means `perturb_max_probs(mu / s)` with
# $s=\pi/\sqrt6$; for $n=2$ it compares the probit $\Phi(\Delta/(s\sqrt2))$ with the logistic
# $\sigma(\Delta)$.

# %%
two = perturb_max_probs(torch.tensor([0.7, -0.3], dtype=f64), nodes=32)
ch.claim("n2-probit", two[0], equals=stats.norm.cdf(1 / math.sqrt(2)), atol=1e-12,
         why="32-node Gauss-Hermite for n = 2 (error ~1e-15 at this gap)",
         statement="Eq. (eq-perturb-max-probit) at mu = (0.7, -0.3)")
x_s = sp.symbols("x", real=True)
Phi_erf = (1 + sp.erf(x_s / sp.sqrt(2))) / 2  # the article's expression of the normal CDF
ok = (sp.simplify(sp.diff(Phi_erf, x_s) - sp.exp(-x_s**2 / 2) / sp.sqrt(2 * sp.pi)) == 0
      and sp.limit(Phi_erf, x_s, -sp.oo) == 0)
ch.claim("normal-cdf-erf-sympy", ok, equals=True, why="exact symbolic",
         statement="(1 + erf(x/sqrt 2))/2 has the standard normal density and tends to 0 at -oo")
for printed, value in (("1/2", 0.5), ("√2", math.sqrt(2))):
    ch.source_number(printed, value=value, where="§Numerical computation: Φ(x) = ½(1 + erf(x/√2)) for "
                     "standard normal noise", fate="reproduced", claim="normal-cdf-erf-sympy")

S_GUMBEL = math.pi / math.sqrt(6)
gap = max(float((perturb_max_probs(m / S_GUMBEL, nodes=48) - torch.softmax(m, -1)).abs().max())
          for m in random_scores(ch.rng, scale=1.0))
ch.claim("matched-normal-vs-softmax", gap, at_least=1e-3,
         why="a real difference must exceed the quadrature error (~1e-12) by orders of magnitude",
         statement="normal noise with Gumbel's std is close to softmax but not equal to it")
delta = np.linspace(-6, 6, 601)
probit = stats.norm.cdf(delta / (S_GUMBEL * math.sqrt(2)))
logistic = 1 / (1 + np.exp(-delta))
ch.claim("n2-max-gap", np.abs(probit - logistic).max(), at_least=1e-3,
         why="closed forms on both sides; a real gap must be far above rounding (1e-16)",
         statement="n = 2: the probit and the logistic differ at matched variance")

# %% [markdown]
# Over 1000 random $\mu\in[-1,1]^n$, $n\le7$, the largest entrywise difference between normal
# noise (at Gumbel's spread) and softmax is {glue:text}`matched-normal-vs-softmax:.3f`: close,
# but not the same map. The figure shows the two-class case.

# %% mystnb={"figure": {"caption": "Two classes. Left: probability that class 1 wins against the score gap $\\Delta=\\mu_1-\\mu_2$, for Gumbel noise (softmax, i.e. the logistic function) and for normal noise with the same standard deviation $\\pi/\\sqrt6$ (a probit). Right: their difference; at matched variance the probit is flatter at $0$ and has lighter tails.", "name": "fig-perturb-max-probit"}}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1.plot(delta, logistic, label="Gumbel noise: softmax")
ax1.plot(delta, probit, "--", label=r"normal noise, std $\pi/\sqrt{6}$")
ax1.set_xlabel(r"score gap $\Delta=\mu_1-\mu_2$")
ax1.set_ylabel(r"$p_1$")
ax1.legend()
ax2.plot(delta, probit - logistic)
ax2.axhline(0, color="k", lw=0.5)
ax2.set_xlabel(r"score gap $\Delta$")
ax2.set_ylabel("probit $-$ logistic")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Computing the integral: quantile rule, Gauss–Hermite, Monte Carlo
#
# The article substitutes $t=\Phi(\varepsilon)$, which turns {eq}`eq-perturb-max-integral` into
# $p_i=\int_0^1g_i(t)\,dt$ with $g_i(t)=\prod_{j\ne i}\Phi(\mu_i-\mu_j+\Phi^{-1}(t))$, and
# averages the integrand at $K$ equally spaced quantiles:
#
# $$
# p_i\approx Q_K=\frac1K\sum_{k=1}^K g_i\Bigl(\frac k{K+1}\Bigr).
# $$ (eq-perturb-max-quantile)
#
# How accurate is this? The trapezoid rule on the $K+1$ intervals of width $h=1/(K+1)$ uses the
# same interior points plus the end points: $T=h\bigl[\tfrac12g_i(0)+\sum_kg_i(kh)+\tfrac12g_i(1)\bigr]$.
# Solving for the sum,
#
# $$
# Q_K=\frac{K+1}{K}\,T-\frac{g_i(0)+g_i(1)}{2K},\qquad g_i(0)=0,\ g_i(1)=1\ (n\ge2),
# $$ (eq-perturb-max-trapezoid)
#
# and with $T\to p_i$ this gives the bias $Q_K-p_i\approx(p_i-\tfrac12)/K$. Summed over the
# row, $\sum_iQ_K-1\approx(1-\tfrac n2)/K$: for $n\ge3$ the rows sum to **less than one**, and
# the error decays only like $1/K$. With equal scores the integrand is $t^{n-1}$ and the rule can
# be summed exactly; for $n=3$ the row sum is $1-\frac1{2(K+1)}$.
#
# Gauss–Hermite quadrature instead integrates in $\varepsilon$ against the normal density
# itself, with nodes and weights from `numpy.polynomial.hermite_e.hermegauss` (weights divided
# by $\sqrt{2\pi}$). The integrand is smooth and bounded, so the error falls geometrically.

# %%
K_s = sp.symbols("K", positive=True, integer=True)
k_s = sp.symbols("k", integer=True)
row3 = 3 * sp.summation((k_s / (K_s + 1)) ** 2, (k_s, 1, K_s)) / K_s
ch.claim("quantile-equal-scores-sympy", sp.simplify(row3 - (1 - 1 / (2 * (K_s + 1)))) == 0,
         equals=True, why="exact symbolic sum",
         statement="n = 3 equal scores: the quantile rule's row sum is 1 - 1/(2(K+1))")
q5 = float(perturb_max_probs(torch.zeros(3, dtype=f64), method="quantile", nodes=5).sum())
ch.claim("quantile-equal-scores-lib", q5, equals=1 - 1 / 12, atol=4 * EPS,
         why="float64 rounding of a 5-term sum", statement="the library's rule at K = 5 agrees")

Ks = [8, 32, 128, 1024, 8192]
quant = {K: perturb_max_probs(mu0, method="quantile", nodes=K).numpy() for K in Ks}
q_err = {K: np.abs(quant[K] - ref).max() for K in Ks}
q_sum = {K: quant[K].sum() for K in Ks}
lead_bias = np.abs(ref - 0.5).max()
for K in Ks[:4]:
    ch.claim(f"quantile-err-K{K}", q_err[K], at_most=lead_bias / K,
             why="leading-order bias max|p_i - 1/2|/K of Eq. (eq-perturb-max-trapezoid); "
             "the O(1/K) remainder has the opposite sign for this mu",
             statement=f"max error of the quantile rule, K = {K}")
    ch.claim(f"quantile-rowsum-K{K}", q_sum[K], at_most=1 - 1e-4,
             why="the deficit (n/2 - 1)/K >= 4.9e-4 for K <= 1024 is far above rounding",
             statement=f"quantile rule row sum < 1, K = {K}")
ch.claim("quantile-err-decreasing", all(q_err[a] > q_err[b] for a, b in zip(Ks, Ks[1:], strict=False)),
         equals=True, why="exact comparison", statement="quantile error falls with K")
ch.claim("quantile-err-K1024-small", q_err[1024], at_most=1e-3,
         why="bias (p_i - 1/2)/K <= 0.5/1024 = 4.9e-4 to leading order",
         statement="K = 1024 error below 1e-3")
lead = {K: np.abs(K * (quant[K] - ref) - (ref - 0.5)).max() for K in Ks}
ch.claim("quantile-bias-leading-term", all(lead[a] > lead[b] for a, b in zip(Ks, Ks[1:], strict=False)),
         equals=True, why="exact comparison of the remainders along K = 8 ... 8192",
         statement="K (Q_K - p_i) approaches p_i - 1/2 (Eq. eq-perturb-max-trapezoid)")
deficit = {K: (1 - q_sum[K]) * K for K in Ks}
ch.claim("quantile-deficit-converges", all(abs(deficit[a] - 0.5) > abs(deficit[b] - 0.5)
                                           for a, b in zip(Ks, Ks[1:], strict=False)),
         equals=True, why="exact comparison", statement="K (1 - row sum) approaches n/2 - 1 = 1/2")
rate = (8192 * abs(deficit[8192] - 0.5)) / (1024 * abs(deficit[1024] - 0.5))
ch.claim("quantile-deficit-rate", rate, between=(0.5, 2.0),
         why="if the remainder of K(1 - row sum) - 1/2 is O(1/K), K times it is constant to "
         "leading order from K = 1024 to 8192; a slower rate (e.g. 1/sqrt K) would give ~2.8",
         statement="the row-sum deficit is (n/2 - 1)/K + O(1/K^2)")

nodes_h = [4, 8, 16, 32, 64]
h_err = {m: np.abs(perturb_max_probs(mu0, nodes=m).numpy() - ref).max() for m in nodes_h}
ch.claim("hermite16-beats-quantile-1e6", h_err[16], at_most=lead_bias / 1e6,
         why="the quantile rule's error follows its leading bias max|p_i - 1/2|/K (claims above); "
         "at K = 10^6 that is the bound; exact comparison",
         statement="16 Gauss-Hermite nodes beat the quantile rule with a million nodes")
ch.claim("hermite-err-8", h_err[8], at_most=h_err[4] / 10, why="exact comparison: geometric decay",
         statement="Gauss-Hermite error with 8 nodes is >= 10x smaller than with 4")
for m in (16, 32):
    ch.claim(f"hermite-err-{m}", h_err[m], at_most=h_err[m // 2] / 100,
             why="exact comparison: geometric decay (quad reference good to ~1e-13)",
             statement=f"doubling to {m} Gauss-Hermite nodes cuts the error >= 100x")

# %% [markdown]
# | nodes $K$ | quantile rule: max error | quantile rule: row sum | Gauss–Hermite: max error |
# |---|---|---|---|
# | 8 | {glue:text}`quantile-err-K8:.1e` | {glue:text}`quantile-rowsum-K8:.4f` | {glue:text}`hermite-err-8:.1e` |
# | 32 | {glue:text}`quantile-err-K32:.1e` | {glue:text}`quantile-rowsum-K32:.4f` | {glue:text}`hermite-err-32:.1e` |
# | 128 | {glue:text}`quantile-err-K128:.1e` | {glue:text}`quantile-rowsum-K128:.4f` | — |
# | 1024 | {glue:text}`quantile-err-K1024:.1e` | {glue:text}`quantile-rowsum-K1024:.5f` | — |
#
# Gauss–Hermite with 16 nodes already has error {glue:text}`hermite-err-16:.1e`, better than the
# quantile rule with a million nodes would be. Monte Carlo, the third option, is unbiased but
# converges at rate $N^{-1/2}$. The figure compares all of them, plus the quantile rule
# renormalised so that each row sums to one — which does not help, because the bias
# $(p_i-\frac12)/K$ is not proportional to $p_i$.

# %% mystnb={"figure": {"caption": "Largest error of $p$ for $\\mu=(1,2,0.5)$ and standard normal noise against the number of nodes (or Monte Carlo samples). The article's quantile rule follows its predicted bias $\\max_i|p_i-\\frac12|/K$ (dotted); renormalising the rows makes them sum to one but does not reduce the error; Gauss\u2013Hermite reaches float64 resolution with a few dozen nodes; Monte Carlo tracks its standard error.", "name": "fig-perturb-max-convergence"}}
K_grid = [2**j for j in range(2, 15)]
q_line, qn_line = [], []
for K in K_grid:
    q = perturb_max_probs(mu0, method="quantile", nodes=K).numpy()
    q_line.append(np.abs(q - ref).max())
    qn_line.append(np.abs(q / q.sum() - ref).max())
h_grid = list(range(2, 50, 2))
h_line = [max(np.abs(perturb_max_probs(mu0, nodes=m).numpy() - ref).max(), 1e-17) for m in h_grid]
n_grid = [10**j for j in range(2, 7)]
mc_line = [np.abs(perturb_max_probs(mu0, method="mc", nodes=N, generator=gen).numpy() - ref).max()
           for N in n_grid]
se = [np.sqrt((ref * (1 - ref)).max() / N) for N in n_grid]
fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.loglog(K_grid, q_line, "o-", label="quantile rule (article)")
ax.loglog(K_grid, np.abs(ref - 0.5).max() / np.array(K_grid), "k:", label=r"$\max_i|p_i-1/2|\,/K$")
ax.loglog(K_grid, qn_line, "s-", label="quantile rule, rows renormalised")
ax.loglog(h_grid, h_line, "^-", label="Gauss–Hermite")
ax.loglog(n_grid, mc_line, "d-", label="Monte Carlo")
ax.loglog(n_grid, se, "k--", lw=0.8, label="MC standard error")
ax.set_xlabel("nodes $K$ / samples $N$")
ax.set_ylabel(r"$\max_i |\hat p_i - p_i|$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 6. Gradients
#
# The quadrature formula is differentiable in $\mu$, so normal-noise perturb-and-argmax can be
# trained like softmax. Two identities pin down the Jacobian $J_{ij}=\partial p_i/\partial\mu_j$:
# shift invariance gives $J\mathbf 1=0$ (rows sum to zero), and $\sum_ip_i=1$ gives
# $\mathbf 1^\top J=0$ (columns sum to zero; for the quadrature only up to its error). We check
# both and compare autograd with central finite differences.

# %%
mu_g = torch.tensor([0.3, -1.0, 0.8, 2.0, 0.1], dtype=f64)
fn = lambda m: perturb_max_probs(m, nodes=48)
J = torch.autograd.functional.jacobian(fn, mu_g)
h = 1e-5
J_fd = torch.stack([(fn(mu_g + h * e) - fn(mu_g - h * e)) / (2 * h) for e in torch.eye(5, dtype=f64)], 1)
ch.claim("jacobian-vs-fd", (J - J_fd).abs().max(), at_most=1e-9,
         why="central differences: truncation h^2 |p'''|/6 ~ 1e-11, rounding eps/h ~ 2e-11",
         statement="autograd through the Gauss-Hermite formula matches finite differences")
ch.claim("jacobian-rows-zero", J.sum(1).abs().max(), at_most=1e-14,
         why="shift invariance is exact in the formula; float64 rounding of 5 terms",
         statement="J 1 = 0 (shift invariance)")
ch.claim("jacobian-cols-zero", J.sum(0).abs().max(), at_most=1e-10,
         why="sum p = 1 holds to the quadrature accuracy (~1e-12) only",
         statement="1^T J = 0 (normalisation)")

# %% [markdown]
# ## 7. What the article leaves unsaid
#
# The article proposes {eq}`eq-perturb-max-quantile` as the way to evaluate the normal-noise
# map, and presents it as an approximation ($\approx$), which it is — so this is no error of the
# article, only a cost it does not mention. The rule is first order: its bias is
# $(p_i-\frac12)/K$, so its rows do not sum to one and, at the $K=32$ one might pick for a network
# layer, the largest error is {glue:text}`quantile-err-K32:.3f` and the row sum
# {glue:text}`quantile-rowsum-K32:.4f`.

# %%
ch.claim("quantile-not-normalised-K32", 1 - q_sum[32], at_least=1e-3,
         why="a normalised rule would give a deficit at the 1e-16 level",
         statement="the article's quantile rule (K = 32) loses more than 0.1% of the mass")
ch.claim("hermite-rows-sum-one", abs(herm.sum() - 1), at_most=1e-11,
         why="32-node Gauss-Hermite error (~1e-12)", statement="Gauss-Hermite rows sum to 1")

# %% [markdown]
# The fix costs nothing: Gauss–Hermite nodes are as easy to precompute as quantiles, and
# `perturb_max_probs(mu)` uses them by default.
#
# **The article's numbers.** It runs no experiment. We read its text and equations and listed
# every number in a stated result: the count of four properties the construction satisfies and
# the constants $\tfrac12$ and $\sqrt2$ of its normal CDF, all reproduced above. The nodes
# $k/(K+1)$ and the weight $1/K$ of its quantile rule define the method (inputs, not results) and
# are not listed; it prints no probability values (those quoted in section 2 are computed here).
#
# ## Claims

# %%
ch.table();
