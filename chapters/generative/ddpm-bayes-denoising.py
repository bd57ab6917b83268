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
#     date: '2022-07-19'
#     id: 9164
#     paper: Ho, Jain, Abbeel (2020), Denoising Diffusion Probabilistic Models
#     paper_url: https://arxiv.org/abs/2006.11239
#     title: 'Musings on Generative Diffusion Models (3): DDPM = Bayes + Denoising'
#     title_zh: "\u751F\u6210\u6269\u6563\u6A21\u578B\u6F2B\u8C08\uFF08\u4E09\uFF09\uFF1A\
#       DDPM = \u8D1D\u53F6\u65AF + \u53BB\u566A"
#     url: https://kexue.fm/archives/9164
# ---

# %% [markdown]
# (ch-ddpm-bayes-denoising)=
# # DDPM = Bayes + denoising
#
# DDPM generates data by undoing, one small step at a time, a chain that adds Gaussian noise. The
# step it needs, $p(x_{t-1}|x_t)$, is unknown because it depends on the data law. What *is*
# known in closed form is the step when the clean point is also given, $q(x_{t-1}|x_t,x_0)$:
# Bayes' rule applied to three Gaussians. DDPM's sampler is that step with $x_0$ replaced by a
# denoiser's guess. We derive the posterior, its noise-prediction form and the loss; show that
# the sampler is "denoise, then re-noise with correctly correlated noise"; and measure the part
# the derivation leaves open — the sampling variance — with the exact denoiser of a Gaussian
# mixture. With the Bayes denoiser the plug-in step has the *exact* reverse mean; its variance is
# a choice, and for smooth data the choice $\beta_t^2$ is the nearly exact one.
#
# :::{prf:theorem} The DDPM step by Bayes' rule
# :label: thm-ddpm-bayes-denoising
# Let $x_t=\alpha_tx_{t-1}+\beta_t\varepsilon_t$ with $\alpha_t^2+\beta_t^2=1$, independent
# $\varepsilon_t\sim\mathcal N(0,I)$, $\bar\alpha_t=\alpha_1\cdots\alpha_t$ and
# $\bar\beta_t=\sqrt{1-\bar\alpha_t^2}$. Then
#
# 1. $p(x_t|x_0)=\mathcal N(\bar\alpha_tx_0,\bar\beta_t^2I)$;
# 2. $q(x_{t-1}|x_t,x_0)=\mathcal N\big(\frac{\alpha_t\bar\beta_{t-1}^2}{\bar\beta_t^2}x_t
#    +\frac{\bar\alpha_{t-1}\beta_t^2}{\bar\beta_t^2}x_0,\ \tilde\sigma_t^2I\big)$ with
#    $\tilde\sigma_t^2=\bar\beta_{t-1}^2\beta_t^2/\bar\beta_t^2$;
# 3. with $x_0=(x_t-\bar\beta_t\epsilon)/\bar\alpha_t$ the mean is
#    $\frac1{\alpha_t}\big(x_t-\frac{\beta_t^2}{\bar\beta_t}\epsilon\big)$, and
#    $\|x_0-\hat x_0\|^2=\frac{\bar\beta_t^2}{\bar\alpha_t^2}\|\varepsilon-\epsilon_\theta\|^2$;
# 4. the step equals $\bar\alpha_{t-1}\hat x_0+\bar\beta_{t-1}\big(\rho_t\hat\epsilon
#    +\sqrt{1-\rho_t^2}\,z\big)$ with $\rho_t=\alpha_t\bar\beta_{t-1}/\bar\beta_t$;
# 5. with $\hat x_0=\mathbb E[x_0|x_t]$ its mean is exactly $\mathbb E[x_{t-1}|x_t]$ for any data
#    law; the true reverse variance is $\tilde\sigma_t^2$ for data $\delta(0)$ and $\beta_t^2$ for
#    data $\mathcal N(0,I)$.
# :::
#
# The article {cite}`su2022ddpm9164` gives this third derivation of DDPM {cite}`ho2020ddpm9209`;
# the optimal-variance question it leaves open was later answered in closed form by
# Analytic-DPM {cite}`bao2022analytic9164`, and learned by interpolating between the two choices in
# {cite}`nichol2021improved9164`. The continuous-time view is the chapter
# {ref}`ch-reverse-time-sde`; the deterministic member of the family of item 4 is the
# probability-flow ODE of {ref}`ch-probability-flow-ode`. The test bed is the same 1-D mixture
# $p_0$ (weights $0.3,0.5,0.2$, means $-2,0.5,3$, standard deviations $0.3,0.6,0.4$), whose
# diffused laws, scores and posteriors are all exact.

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from lib.book import Chapter, show_table
from lib.generative import (
    GaussianMixture,
    VPLinear,
    ancestral_sample,
    book_mixture,
    ddpm_discrete,
    ddpm_posterior,
    diffuse,
    eps_to_x0,
    gmm_denoiser,
    ks_distance,
    posterior_moments,
    renoise_sample,
    reverse_sample,
    schedule_from_abar,
    wasserstein1,
)
from lib.stats import mean_se

ch = Chapter("ddpm-bayes-denoising", seed=9164)
T = 1000
ho = ddpm_discrete(T, 1e-4, 0.02)  # Ho et al.'s schedule, in Su's notation, index 0 = data
p0 = book_mixture()
N = 20_000
KS_999 = 1.949 / math.sqrt(N)  # 99.9% quantile of the KS statistic of N exact samples

# %% [markdown]
# ## 1. Two notations
#
# Su writes the forward step with the *coefficients* $\alpha_t,\beta_t$ (so
# $\alpha_t^2+\beta_t^2=1$); Ho et al. write it with the *variances*. The dictionary:
#
# | Su (this chapter, `lib.generative`) | Ho et al. | meaning |
# |---|---|---|
# | $\beta_t^2$ | $\beta_t$ | variance added at step $t$ |
# | $\alpha_t^2=1-\beta_t^2$ | $\alpha_t$ | signal kept at step $t$ (squared) |
# | $\bar\alpha_t^2$ | $\bar\alpha_t$ | signal kept after $t$ steps (squared) |
# | $\tilde\sigma_t^2=\bar\beta_{t-1}^2\beta_t^2/\bar\beta_t^2$ | $\tilde\beta_t$ | posterior variance |
#
# A schedule is a dict of arrays indexed by the step, index 0 being the data
# ($\bar\alpha_0=1,\bar\beta_0=0$). **Check:** `ddpm_discrete` (Ho's linear $\beta$ from $10^{-4}$
# to $0.02$, $T=1000$) against Ho's own definitions,
# $\bar\alpha^{\rm Ho}_t=\prod_{s\le t}(1-\beta^{\rm Ho}_s)$:

# %%
beta_ho = np.linspace(1e-4, 0.02, T)
abar_ho = np.cumprod(1 - beta_ho)  # Ho's alpha-bar, by his definition
err = max(np.max(np.abs(ho["beta"][1:] ** 2 - beta_ho)),
          np.max(np.abs(ho["abar"][1:] ** 2 - abar_ho)),
          np.max(np.abs(ho["alpha"] ** 2 + ho["beta"] ** 2 - 1)))
ch.claim("ho-notation-max-error", err, at_most=1e-14,
         why="float64: a product of 1000 factors against exp of a sum of logs, ~10 ulp of 1",
         statement="Su's beta^2, abar^2 are Ho's beta, alpha-bar")
ch.measured("abar-T", ho["abar"][T], why="descriptive: Su's abar_T for Ho's schedule")
ch.measured("abar-T-ho", abar_ho[-1], why="descriptive: Ho's alpha-bar_T = Su's abar_T^2");

# %% [markdown]
# After $T$ steps Su's $\bar\alpha_T$ is {glue:text}`abar-T:.5f`, Ho's $\bar\alpha_T$ its square
# {glue:text}`abar-T-ho:.2e`.
#
# ## 2. The forward marginal, by composing Gaussians
#
# If $x_{t-1}=\bar\alpha_{t-1}x_0+\bar\beta_{t-1}\varepsilon'$, one more step gives
# $x_t=\alpha_t\bar\alpha_{t-1}x_0+(\alpha_t\bar\beta_{t-1}\varepsilon'+\beta_t\varepsilon_t)$; the
# bracket is Gaussian with variance $\alpha_t^2(1-\bar\alpha_{t-1}^2)+1-\alpha_t^2=1-\bar\alpha_t^2$.
# By induction
#
# $$
# p(x_t|x_0)=\mathcal N(\bar\alpha_tx_0,\bar\beta_t^2I),\qquad \bar\alpha_t=\alpha_1\cdots\alpha_t,\quad
# \bar\beta_t^2=1-\bar\alpha_t^2 .
# $$ (eq-ddpm-bayes-denoising-forward)
#
# **Checks.** SymPy for the induction step and for the fully unrolled sum at $t=4$,
# $\sum_{s\le4}(\alpha_{s+1}\cdots\alpha_4)^2\beta_s^2=1-(\alpha_1\cdots\alpha_4)^2$; then $N$
# simulated chains of all 1000 steps from $x_0=1.5$, whose mean and variance at $t=10,100,1000$
# must match {eq}`eq-ddpm-bayes-denoising-forward` within Monte Carlo error.

# %%
a, A = sp.symbols("alpha_t abar_prev", positive=True)  # alpha_t and abar_{t-1}
induction = a**2 * (1 - A**2) + (1 - a**2) - (1 - (a * A) ** 2)
al = sp.symbols("alpha1:5", positive=True)
unrolled = (sum(sp.prod(al[s + 1:]) ** 2 * (1 - al[s] ** 2) for s in range(4))
            - (1 - sp.prod(al) ** 2))
ch.claim("forward-marginal-sympy", sp.simplify(induction) == 0 and sp.expand(unrolled) == 0,
         equals=True, why="exact symbolic algebra",
         statement="Eq. (forward): the noise variances add to 1 - abar_t^2")

x0_fixed, x, z = 1.5, np.full(N, 1.5), []
for t in range(1, T + 1):
    x = ho["alpha"][t] * x + ho["beta"][t] * ch.rng.standard_normal(N)
    if t in (10, 100, 1000):
        m, v = ho["abar"][t] * x0_fixed, ho["bbar"][t] ** 2
        z += [(x.mean() - m) / math.sqrt(v / N),
              (x.var(ddof=1) - v) / (v * math.sqrt(2 / (N - 1)))]
ch.claim("forward-chain-max-z", np.max(np.abs(z)), at_most=4.5,
         why="six z-scores, each ~N(0,1) if Eq. (forward) holds (Gaussian: se of a variance is "
             "v sqrt(2/(N-1))); P(max |z| > 4.5) ~ 4e-5",
         statement="1000 simulated steps reach N(abar_t x0, bbar_t^2) at t = 10, 100, 1000")

# %% [markdown]
# The largest of the six $|z|$ is {glue:text}`forward-chain-max-z:.2f`.
#
# ## 3. The posterior $q(x_{t-1}|x_t,x_0)$, by Bayes' rule
#
# $p(x_{t-1}|x_t)=p(x_t|x_{t-1})p(x_{t-1})/p(x_t)$ needs the unknown marginals. Conditioning
# everything on $x_0$ replaces them by known Gaussians:
#
# $$
# q(x_{t-1}|x_t,x_0)=\frac{p(x_t|x_{t-1})\,p(x_{t-1}|x_0)}{p(x_t|x_0)} .
# $$ (eq-ddpm-bayes-denoising-bayes)
#
# (The first factor does not change when $x_0$ is added to its condition: the chain is Markov.)
# Taking logarithms, the exponent is $-\tfrac12Q$ with
#
# $$
# Q=\frac{\|x_t-\alpha_tx_{t-1}\|^2}{\beta_t^2}+\frac{\|x_{t-1}-\bar\alpha_{t-1}x_0\|^2}{\bar\beta_{t-1}^2}
# -\frac{\|x_t-\bar\alpha_tx_0\|^2}{\bar\beta_t^2},
# $$ (eq-ddpm-bayes-denoising-square)
#
# quadratic in $x_{t-1}$, so the posterior is Gaussian. Its $\|x_{t-1}\|^2$ coefficient is
# $\alpha_t^2/\beta_t^2+1/\bar\beta_{t-1}^2=\bar\beta_t^2/(\bar\beta_{t-1}^2\beta_t^2)$ (using
# $\alpha_t^2\bar\beta_{t-1}^2+\beta_t^2=\bar\beta_t^2$), the inverse variance; its linear
# coefficient is $-2\big(\alpha_tx_t/\beta_t^2+\bar\alpha_{t-1}x_0/\bar\beta_{t-1}^2\big)$, which
# divided by $-2$ times the inverse variance gives the mean:
#
# $$
# \begin{aligned}
# q(x_{t-1}|x_t,x_0)&=\mathcal N\Big(\frac{\alpha_t\bar\beta_{t-1}^2}{\bar\beta_t^2}x_t
# +\frac{\bar\alpha_{t-1}\beta_t^2}{\bar\beta_t^2}x_0,\ \tilde\sigma_t^2I\Big),\\
# \tilde\sigma_t^2&=\frac{\bar\beta_{t-1}^2\beta_t^2}{\bar\beta_t^2}.
# \end{aligned}
# $$ (eq-ddpm-bayes-denoising-posterior)
#
# **Checks (SymPy, 1-D suffices since everything is isotropic).** That the log of
# {eq}`eq-ddpm-bayes-denoising-bayes` depends on $x_{t-1}$ as $-\tfrac12Q$; the two coefficients;
# and that $Q$ is *exactly* $(x_{t-1}-\text{mean})^2/\tilde\sigma_t^2$ — no constant left over,
# so with the prefactors, which combine to $(2\pi\tilde\sigma_t^2)^{-1/2}$, the right side of
# {eq}`eq-ddpm-bayes-denoising-bayes` is the normalised Gaussian.

# %%
x0, xt, y = sp.symbols("x_0 x_t x_prev", real=True)
b2, Bp2, B2 = 1 - a**2, 1 - A**2, 1 - (a * A) ** 2  # beta_t^2, bbar_{t-1}^2, bbar_t^2
Q = (xt - a * y) ** 2 / b2 + (y - A * x0) ** 2 / Bp2 - (xt - a * A * x0) ** 2 / B2
mean_post, var_post = a * Bp2 / B2 * xt + A * b2 / B2 * x0, Bp2 * b2 / B2


def log_normal(u, m, v):
    return -(u - m) ** 2 / (2 * v) - sp.log(2 * sp.pi * v) / 2


log_bayes = (log_normal(xt, a * y, b2) + log_normal(y, A * x0, Bp2)
             - log_normal(xt, a * A * x0, B2))
coef = sp.Poly(sp.expand(Q), y)
quad = coef.coeff_monomial(y**2) - B2 / (Bp2 * b2)
lin = coef.coeff_monomial(y) + 2 * (a * xt / b2 + A * x0 / Bp2)
SYM = "exact symbolic algebra"
ch.claim("exponent-is-minus-half-q-sympy", sp.simplify(sp.diff(log_bayes + Q / 2, y)) == 0,
         equals=True, why=SYM, statement="log of Eq. (bayes) = -Q/2 + const in x_{t-1}")
ch.claim("quadratic-coefficient-sympy", sp.simplify(quad) == 0, equals=True, why=SYM,
         statement="coefficient of x_{t-1}^2 = bbar_t^2/(bbar_{t-1}^2 beta_t^2)")
ch.claim("linear-coefficient-sympy", sp.simplify(lin) == 0, equals=True, why=SYM,
         statement="coefficient of x_{t-1} = -2(alpha_t x_t/beta_t^2 + abar_{t-1} x_0/bbar_{t-1}^2)")
ch.claim("posterior-square-sympy", sp.simplify(Q - (y - mean_post) ** 2 / var_post) == 0,
         equals=True, why=SYM, statement="Q = (x_{t-1} - mean)^2 / var exactly: Eq. (posterior)")

# %% [markdown]
# The library function is the formula, with the last step $t=1$ made exact ($\bar\beta_0=0$, so
# the posterior is the point $x_0$):
#
# ```{literalinclude} /lib/generative/ddpm.py
# :pyobject: ddpm_posterior
# ```
#
# **Check (float64, an independent route).** Given $x_0$, the pair $(x_{t-1},x_t)$ is jointly
# Gaussian; conditioning by the Schur complement of its $2\times2$ covariance, built from Ho's
# variances alone, must give the same mean and variance at every $t=2,\dots,1000$. At $t=1$ the
# function must return $(x_0,0)$ exactly.

# %%
x_t1, x_01 = ch.rng.normal(size=2)
rel = []
for t in range(2, T + 1):  # Ho's notation: variances, from beta_ho and abar_ho only
    v_prev, b = 1 - abar_ho[t - 2], beta_ho[t - 1]
    c = math.sqrt(1 - b) * v_prev  # Cov(x_{t-1}, x_t | x_0)
    cov = np.array([[v_prev, c], [c, (1 - b) * v_prev + b]])
    m_prev, m_t = math.sqrt(abar_ho[t - 2]) * x_01, math.sqrt(abar_ho[t - 1]) * x_01
    c_mean = m_prev + cov[0, 1] / cov[1, 1] * (x_t1 - m_t)
    c_var = cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1]
    mean, var = ddpm_posterior(np.array([x_t1]), np.array([x_01]), t, ho)
    rel.append(max(abs(mean[0] - c_mean) / (1 + abs(c_mean)), abs(var - c_var) / c_var))
ch.claim("posterior-vs-joint-conditioning", max(rel), at_most=1e-12,
         why="float64; the Schur complement v - c^2/v_t cancels ~2 digits at small t",
         statement="Eq. (posterior) = conditioning the joint Gaussian, t = 2..1000")
mean1, var1 = ddpm_posterior(np.array([x_t1]), np.array([x_01]), 1, ho)
ch.claim("posterior-t1-exact", bool(mean1[0] == x_01 and var1 == 0.0), equals=True,
         why="exact: bbar_0 = 0", statement="At t = 1 the posterior is the point x_0")

# %% [markdown]
# Largest relative disagreement: {glue:text}`posterior-vs-joint-conditioning:.1e`.
#
# ## 4. Denoising: the $\epsilon$ and $x_0$ parameterisations
#
# Generation cannot condition on the unknown $x_0$, so DDPM replaces it by an estimate
# $\hat x_0(x_t)$ trained with $\|x_0-\hat x_0(x_t)\|^2$ — a denoiser. Since
# $x_t=\bar\alpha_tx_0+\bar\beta_t\varepsilon$, the natural parameterisation predicts the noise:
#
# $$
# \begin{aligned}
# \hat x_0&=\frac{x_t-\bar\beta_t\epsilon_\theta(x_t,t)}{\bar\alpha_t},\\
# \|x_0-\hat x_0\|^2&=\frac{\bar\beta_t^2}{\bar\alpha_t^2}
# \big\|\varepsilon-\epsilon_\theta(\bar\alpha_tx_0+\bar\beta_t\varepsilon,t)\big\|^2,
# \end{aligned}
# $$ (eq-ddpm-bayes-denoising-param)
#
# DDPM's loss with the weight dropped. Substituting $\hat x_0$ into the posterior mean and using
# $\frac{\alpha_t\bar\beta_{t-1}^2}{\bar\beta_t^2}+\frac{\bar\alpha_{t-1}\beta_t^2}{\bar\alpha_t\bar\beta_t^2}=\frac1{\alpha_t}$
# gives the sampling step
#
# $$
# x_{t-1}=\frac1{\alpha_t}\Big(x_t-\frac{\beta_t^2}{\bar\beta_t}\epsilon_\theta(x_t,t)\Big)+\sigma_tz,\qquad z\sim\mathcal N(0,I),
# $$ (eq-ddpm-bayes-denoising-step)
#
# with $\sigma_t=\tilde\sigma_t$ by the derivation (section 6 revisits this).

# %%
eps, eps_th = sp.symbols("varepsilon epsilon_theta", real=True)
abar_t, bbar_t = a * A, sp.sqrt(B2)
x0_hat = (xt - bbar_t * eps_th) / abar_t
x0_pred = (abar_t * x0 + bbar_t * eps - bbar_t * eps_th) / abar_t  # x_t = abar x0 + bbar eps
loss = (x0 - x0_pred) ** 2 - (bbar_t / abar_t) ** 2 * (eps - eps_th) ** 2
step = mean_post.subs(x0, x0_hat) - (xt - b2 / bbar_t * eps_th) / a
ch.claim("eps-loss-and-step-sympy", sp.simplify(loss) == 0 and sp.simplify(step) == 0,
         equals=True, why=SYM, statement="Eqs. (param) and (step): loss weight and eps-form mean")


def step_gap(t, x, e):
    mean = ddpm_posterior(x, eps_to_x0(x, e, t, ho), t, ho)[0]
    return np.max(np.abs(mean - (x - ho["beta"][t] ** 2 / ho["bbar"][t] * e) / ho["alpha"][t]))


x_r, e_r = ch.rng.normal(size=5), ch.rng.normal(size=5)
step_err = max(step_gap(t, x_r, e_r) for t in range(2, T + 1))
ch.claim("eps-step-float64", step_err, at_most=1e-13,
         why="float64, |x| ~ 1: a few ulp, amplified by 1/abar_T ~ 160 at t = T",
         statement="ddpm_posterior(eps_to_x0(...)) = Eq. (step), t = 2..1000")

# %% [markdown]
# **The exact denoiser.** The minimiser of $\mathbb E\|x_0-\hat x_0(x_t)\|^2$ is the posterior mean
# $\mathbb E[x_0|x_t]$. For mixture data it is exact — per component a Gaussian posterior mean,
# weighted by the responsibilities under the diffused mixture:
#
# ```{literalinclude} /lib/generative/ddpm.py
# :pyobject: gmm_denoiser
# ```
#
# Two checks. Tweedie's formula $\mathbb E[x_0|x_t]=(x_t+\bar\beta_t^2\nabla\log p_t(x_t))/\bar\alpha_t$
# (derived in {ref}`ch-reverse-time-sde`) computes the same thing from the score of the diffused
# density. And a stronger statement: since $\mathbb E[x_{t-1}|x_t]=\mathbb E\big[\mathbb E[x_{t-1}|x_t,x_0]\,\big|\,x_t\big]$
# and the inner mean is linear in $x_0$, **plugging the Bayes denoiser into the posterior mean
# gives the exact mean of the true reverse step**, for any data. The right side is computed
# independently: the true reverse step of mixture data is itself Bayes' rule on the mixture
# $p_{t-1}$ and one forward step (`posterior_moments`).

# %%
den = gmm_denoiser(p0, ho)
y_grid = np.linspace(-4.0, 5.0, 181)
tweedie, mean_gap = [], []
for t in [1, 2, 5, 20, 100, 500, 1000]:
    ab, bb = ho["abar"][t], ho["bbar"][t]
    d = den(y_grid, t)
    via_score = (y_grid + bb**2 * diffuse(p0, ab, bb).score(y_grid)) / ab
    tweedie.append(np.max(np.abs(d - via_score) / (1 + np.abs(d))))
    if t > 1:  # the true reverse step: Bayes on p_{t-1} and one forward step
        p_prev = diffuse(p0, ho["abar"][t - 1], ho["bbar"][t - 1])
        true_mean = posterior_moments(y_grid, p_prev, ho["alpha"][t], ho["beta"][t])[0]
        mean_gap.append(np.max(np.abs(true_mean - ddpm_posterior(y_grid, d, t, ho)[0])))
ch.claim("denoiser-tweedie", max(tweedie), at_most=1e-12,
         why="float64: values <= ~5, rounding ~1e-15, amplified ~160x by 1/abar_T at t = T",
         statement="gmm_denoiser = Tweedie's formula from the exact score")
ch.claim("plug-in-mean-is-exact", max(mean_gap), at_most=1e-13,
         why="float64 rounding of values <= ~5 in two independent Bayes computations (~100 ulp)",
         statement="mean of q(x_{t-1}|x_t, E[x0|x_t]) = E[x_{t-1}|x_t] for mixture data")

# %% [markdown]
# Largest gaps: {glue:text}`denoiser-tweedie:.1e` (Tweedie) and
# {glue:text}`plug-in-mean-is-exact:.1e` (reverse mean).
#
# ## 5. Denoise, then re-noise
#
# Write $\hat\epsilon=(x_t-\bar\alpha_t\hat x_0)/\bar\beta_t$ for the noise the denoiser implies.
# The step {eq}`eq-ddpm-bayes-denoising-step` with $\sigma_t=\tilde\sigma_t$ is
#
# $$
# x_{t-1}=\bar\alpha_{t-1}\hat x_0+\bar\beta_{t-1}\big(\rho_t\hat\epsilon+\sqrt{1-\rho_t^2}\,z\big),\qquad
# \rho_t=\frac{\alpha_t\bar\beta_{t-1}}{\bar\beta_t}:
# $$ (eq-ddpm-bayes-denoising-renoise)
#
# jump to the predicted clean point, then noise it back to level $t-1$ with a mixture of the
# noise already present and fresh noise. The weight $\rho_t$ is not arbitrary: it is the
# correlation of the forward noises, since given $x_0$,
# $\mathrm{Cov}(\bar\beta_{t-1}\varepsilon',\bar\beta_t\varepsilon)=\alpha_t\bar\beta_{t-1}^2$. Fresh
# noise only ($\rho=0$) and no fresh noise ($\rho=1$, DDIM {cite}`song2021ddim9228`) are other
# samplers. Check: SymPy for {eq}`eq-ddpm-bayes-denoising-renoise`; then the code —
# `renoise_sample` with $\rho_t$ must reproduce `ancestral_sample` draw for draw. We use Ho's
# schedule respaced to 100 steps (`schedule_from_abar` on every tenth $\bar\alpha$) and start
# from the exact $p_T$.

# %%
rho = a * sp.sqrt(Bp2) / bbar_t
renoise = A * x0 + sp.sqrt(Bp2) * rho * (xt - abar_t * x0) / bbar_t
ok = sp.simplify(renoise - mean_post) == 0 and sp.simplify(Bp2 * (1 - rho**2) - var_post) == 0
ch.claim("renoise-sympy", ok, equals=True, why=SYM,
         statement="Eq. (renoise): mean and fresh-noise variance of the ancestral step")

s100 = schedule_from_abar(ho["abar"][:: T // 100])  # Ho's schedule, every tenth step
d100 = gmm_denoiser(p0, s100)
pT = diffuse(p0, ho["abar"][T], ho["bbar"][T])  # the exact p_T
x_T = pT.sample(N, ch.rng)[:, 0]
x_anc = ancestral_sample(x_T, d100, s100, np.random.default_rng(1))
x_ren = {r: renoise_sample(x_T, d100, s100, np.random.default_rng(1), rho=r)
         for r in ["posterior", 0.0, 1.0]}
ch.claim("renoise-equals-ancestral", np.max(np.abs(x_ren["posterior"] - x_anc)), at_most=1e-11,
         why="same draws; float64 rounding of two algebraically equal updates, 100 steps",
         statement="renoise_sample(rho_t) is ancestral_sample")
w1_ren = {r: wasserstein1(v, p0) for r, v in x_ren.items()}
ch.claim("fresh-renoise-w1", w1_ren[0.0], at_least=0.1,
         why="control: ten times the W1 of 20000 exact samples (~0.01, section 6)",
         statement="Control: re-noising with fresh noise only (rho = 0) fails")

# %% [markdown]
# The two updates agree to {glue:text}`renoise-equals-ancestral:.0e`. With 100 steps the
# ancestral sampler reaches $W_1=$ {glue:text}`w1-ancestral-K100:.3f`; re-noising with fresh noise
# only stalls at {glue:text}`fresh-renoise-w1:.3f`:

# %%
ch.measured("w1-ancestral-K100", w1_ren["posterior"], why="descriptive: W1, 100 steps")
names = {"posterior": "rho_t (ancestral)", 0.0: "rho = 0 (fresh only)", 1.0: "rho = 1 (DDIM)"}
rows = [[names[r], f"{w1_ren[r]:.4f}", f"{x_ren[r].var():.3f}"] for r in names]
show_table(["re-noising", "W1 to p0 (100 steps)", "output variance"],
           rows + [["exact p0", "0", f"{p0.central_moment(2):.3f}"]])


# %% [markdown]
# Fresh noise forgets what $x_t$ knows beyond the denoiser's average: each step keeps only
# $\hat x_0$, a shrunken point, and the output is far too narrow. Keeping all of the predicted
# noise (DDIM) is a valid deterministic sampler, the probability-flow ODE in discrete time.
#
# ## 6. The sampling variance: two exact cases, and the truth in between
#
# The article settles the variance with two data laws for which $p(x_{t-1}|x_t)$ is exact:
# data $\delta(0)$ (then $x_0$ is known, and the reverse kernel *is* the posterior at $x_0=0$,
# variance $\tilde\sigma_t^2$) and data $\mathcal N(0,I)$ (every $x_t$ is standard normal and the
# reverse kernel is $\mathcal N(\alpha_tx_t,\beta_t^2I)$). These are Ho et al.'s two choices
# $\tilde\beta_t$ and $\beta_t$. **Check:** the exact reverse kernel of mixture data — Bayes'
# rule on $p_{t-1}$ and one forward step, `posterior_moments` — for a single component of
# variance $10^{-30}$ (a stand-in for $\delta(0)$) and of variance 1, at every $t$:

# %%
def reverse_kernel(x, data, t, s):
    """Exact mean and variance of x_{t-1} | x_t = x for mixture data."""
    p_prev = diffuse(data, s["abar"][t - 1], s["bbar"][t - 1])
    return posterior_moments(x, p_prev, s["alpha"][t], s["beta"][t])


delta = GaussianMixture([1.0], [0.0], [1e-30])
gauss = GaussianMixture([1.0], [0.0], [1.0])
gap = []
for t in range(2, T + 1):
    m_d, v_d = reverse_kernel(y_grid, delta, t, ho)
    m_q, v_q = ddpm_posterior(y_grid, np.zeros_like(y_grid), t, ho)
    m_g, v_g = reverse_kernel(y_grid, gauss, t, ho)
    gap += [np.max(np.abs(m_d - m_q)), abs(v_d[0] / v_q - 1),
            np.max(np.abs(m_g - ho["alpha"][t] * y_grid)), abs(v_g[0] / ho["beta"][t] ** 2 - 1)]
ch.claim("special-cases-exact", max(gap), at_most=1e-11,
         why="float64; the 1e-30 variance of the delta stand-in is invisible at this precision",
         statement="delta(0) data: reverse kernel = q(.|x_t, 0); N(0,1): N(alpha_t x_t, beta_t^2)")

# %% [markdown]
# Largest discrepancy: {glue:text}`special-cases-exact:.1e`.
#
# **The truth in between.** For any data the reverse variance splits, by the law of total
# variance, into the posterior variance and the uncertainty of $x_0$ carried through the mean:
#
# $$
# \mathrm{Var}(x_{t-1}|x_t)=\tilde\sigma_t^2+\Big(\frac{\bar\alpha_{t-1}\beta_t^2}{\bar\beta_t^2}\Big)^2\mathrm{Var}(x_0|x_t).
# $$ (eq-ddpm-bayes-denoising-revvar)
#
# So $\tilde\sigma_t^2$ is a *lower* bound, attained only when $x_t$ pins $x_0$ down. When the data
# look smooth at the noise scale (small $t$, each mixture component wide compared with
# $\bar\beta_t$), $\mathrm{Var}(x_0|x_t)\approx\bar\beta_t^2/\bar\alpha_t^2$ and the right side
# becomes $\beta_t^2/\alpha_t^2\approx\beta_t^2$: the *other* choice. We compute the exact
# average $\mathbb E_{x_t\sim p_t}\mathrm{Var}(x_{t-1}|x_t)$ for the mixture at every step
# (quadrature on a grid) and divide by both candidates.

# %%
xq = np.linspace(-9.0, 9.0, 4001)
ratio_post, ratio_beta = [], []
for t in range(2, T + 1):
    w = np.exp(diffuse(p0, ho["abar"][t], ho["bbar"][t]).log_prob(xq))
    avg_var = np.sum(w * reverse_kernel(xq, p0, t, ho)[1]) / np.sum(w)
    ratio_post.append(avg_var / ddpm_posterior(xq, xq, t, ho)[1])
    ratio_beta.append(avg_var / ho["beta"][t] ** 2)
ratio_post, ratio_beta = np.array(ratio_post), np.array(ratio_beta)
# smooth-data limit at t = 2: (beta^2/alpha^2) / sigma~^2 = bbar_2^2 / (alpha_2^2 bbar_1^2)
smooth_limit = ho["bbar"][2] ** 2 / (ho["alpha"][2] ** 2 * ho["bbar"][1] ** 2)
ch.claim("reverse-var-over-posterior-t2", ratio_post[0], equals=smooth_limit, rtol=0.01,
         why="smooth-data limit of Eq. (revvar); corrections of relative order "
             "bbar_2^2 / (smallest component variance) ~ 0.3%",
         statement="At t = 2 the true reverse variance is the smooth-data multiple of sigma~^2",
         erratum="§去噪过程: plugging x0-hat into q(x_{t-1}|x_t,x_0) is said to fix the "
                 "sampling variance too, as the posterior variance")
ch.claim("reverse-var-over-beta2-max-dev", np.max(np.abs(ratio_beta - 1)), at_most=0.01,
         why="reading 'beta_t^2 is the right variance for this data' as within 1% at every step",
         statement="For the mixture, E Var(x_{t-1}|x_t) = beta_t^2 within 1% at every t")

# %% [markdown]
# At $t=2$ the true reverse variance is {glue:text}`reverse-var-over-posterior-t2:.3f` times
# $\tilde\sigma_t^2$, while it stays within {glue:text}`reverse-var-over-beta2-max-dev:.1e` of
# $\beta_t^2$ at every step (left panel of {numref}`fig-ddpm-bayes-denoising-steps`). Analytic-DPM
# {cite}`bao2022analytic9164` turns {eq}`eq-ddpm-bayes-denoising-revvar` into a training-free
# estimate of the optimal variance for a trained network.
#
# **Does it matter for sampling?** We run the ancestral sampler with the exact denoiser from the
# same $N$ points of the exact $p_T$, for Ho's schedule respaced to $K$ steps, with both
# variances, and measure the exact $W_1$ and KS distances to $p_0$. A sample of $N$ points of
# $p_0$ itself is not at distance 0: the Monte Carlo floor of $W_1$ is measured on 20 exact
# samples; for KS, $1.949/\sqrt N$ is the 99.9% quantile.
#
# :::{admonition} Code: `ancestral_sample` (lib/generative/ddpm.py)
# :class: dropdown
# ```{literalinclude} /lib/generative/ddpm.py
# :pyobject: ancestral_sample
# ```
# :::

# %%
floor = np.array([wasserstein1(p0.sample(N, ch.rng), p0) for _ in range(20)])
var0, mu4 = p0.central_moment(2), p0.central_moment(4)
se_var = math.sqrt((mu4 - var0**2) / N)
Ks, runs = [10, 20, 50, 100, 200, 1000], {}
for K in Ks:
    sK = schedule_from_abar(ho["abar"][:: T // K])  # Ho's schedule respaced to K steps
    dK = gmm_denoiser(p0, sK)
    for v in ("posterior", "beta"):
        xs = ancestral_sample(x_T, dK, sK, ch.rng, var=v)
        runs[K, v] = dict(x=xs, w1=wasserstein1(xs, p0), ks=ks_distance(xs, p0),
                          var=mean_se((xs - xs.mean()) ** 2))
for v in ("posterior", "beta"):
    r = runs[T, v]
    ch.claim(f"ks-{v}-T1000", r["ks"], at_most=KS_999,
             why="99.9% quantile of the KS statistic, N = 20000",
             statement=f"var = {v}: 1000 steps regenerate p0 (KS)")
    ch.claim(f"var-{v}-T1000", r["var"][0], equals=var0, atol=4 * se_var,
             why="4 standard errors sqrt((mu4 - var^2)/N), exact mu4",
             statement=f"var = {v}: output variance, 1000 steps")
    ch.claim(f"w1-{v}-T1000", r["w1"], at_most=floor.mean() + 4 * floor.std(ddof=1),
             why="Monte Carlo floor: mean + 4 sd of W1 over 20 exact samples of size N",
             statement=f"var = {v}: W1 at the Monte Carlo floor after 1000 steps")

# %%
for K in (10, 20):
    p, b = runs[K, "posterior"], runs[K, "beta"]
    z_var = (b["var"][0] - p["var"][0]) / math.hypot(b["var"][1], p["var"][1])
    ch.claim(f"var-gap-z-K{K}", z_var, at_least=4.0,
             why="4 standard errors of the difference of two sample variances",
             statement=f"{K} steps: beta_t^2 loses less variance than the posterior choice")
    ch.claim(f"w1-gap-K{K}", p["w1"] - b["w1"], at_least=4 * floor.std(ddof=1),
             why="4 sd of the W1 of an exact sample of size N (the sampling noise of a W1)",
             statement=f"{K} steps: W1 is larger with the posterior variance")
for v in ("posterior", "beta"):
    ch.measured(f"var-{v}-K10", runs[10, v]["var"][0], why="descriptive: output variance")
ch.measured("w1-floor", floor.mean(), why="descriptive: mean W1 of 20 exact samples of size N")
ch.measured("var-p0", var0, why="descriptive: the exact variance of p0");

# %% [markdown]
# After 1000 steps both variances regenerate $p_0$: KS {glue:text}`ks-posterior-T1000:.4f`
# (posterior) and {glue:text}`ks-beta-T1000:.4f` ($\beta_t^2$), both below the 99.9% quantile,
# and $W_1$ at the floor {glue:text}`w1-floor:.4f`. With few steps the choice matters, in the
# direction {eq}`eq-ddpm-bayes-denoising-revvar` predicts: with 10 steps the posterior variance
# leaves an output variance of {glue:text}`var-posterior-K10:.2f`, $\beta_t^2$ leaves
# {glue:text}`var-beta-K10:.2f` (exact: {glue:text}`var-p0:.4f`), a gap of
# {glue:text}`var-gap-z-K10:.0f` standard errors. Even $\beta_t^2$ falls short with coarse steps:
# the true reverse kernel is then a mixture, not a Gaussian of any variance.

# %% mystnb={"figure": {"caption": "Left: the exact average reverse variance $\\mathbb E\\,\\mathrm{Var}(x_{t-1}|x_t)$ of the mixture at each of Ho's 1000 steps, divided by $\\tilde\\sigma_t^2$ and by $\\beta_t^2$. Right: $W_1$ to $p_0$ of 20 000 ancestral samples against the number of steps $K$ (Ho's schedule respaced), for both variances; band: Monte Carlo floor of exact samples (mean \u00b1 2 sd).", "name": "fig-ddpm-bayes-denoising-steps"}}
label = {"posterior": r"$\tilde\sigma_t^2$", "beta": r"$\beta_t^2$"}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.semilogx(np.arange(2, T + 1), ratio_post, label="divided by " + label["posterior"])
ax1.semilogx(np.arange(2, T + 1), ratio_beta, label="divided by " + label["beta"])
ax1.set_xlabel("step t")
ax1.set_ylabel("reverse variance ratio")
ax1.legend()
for v, mk in (("posterior", "o-"), ("beta", "s-")):
    ax2.loglog(Ks, [runs[K, v]["w1"] for K in Ks], mk, label=r"$\sigma_t^2=$" + label[v])
lo, hi = floor.mean() - 2 * floor.std(), floor.mean() + 2 * floor.std()
ax2.axhspan(lo, hi, color="0.85", label="exact-sample floor")
ax2.set_xlabel("steps K")
ax2.set_ylabel(r"$W_1$ to $p_0$")
ax2.legend()
plt.show()

# %% [markdown]
# ## 7. DDPM's step is an Euler–Maruyama step of the reverse-time SDE
#
# {ref}`ch-reverse-time-sde` shows symbolically (its section 5) that with
# $\bar\alpha_{t-1}=\bar\alpha(t-\Delta t)$ the DDPM step with $\sigma_t=\beta_t$ agrees with one
# Euler–Maruyama step of $dx=[f_tx-g_t^2\nabla\log p_t]dt+g_t\,dw$ up to $O(\Delta t^2)$ per step.
# Here we measure what that means for whole trajectories. Discretise Song et al.'s VP schedule
# ($\beta(t)$ from 0.1 to 20) at $K$ uniform times into a DDPM schedule
# ($\bar\alpha_k=\bar\alpha(k/K)$, `schedule_from_abar`), start both samplers from the same 2000
# points of the exact $p_1$, feed them **the same Gaussian draws** (both use one draw per step, in
# the same order), and end both with the same denoising step $x_0=\hat x_0(x_{1/K})$. Per step the
# means differ by $O(\Delta t^2)$ and the noise scales by a relative $O(\Delta t)$, so the paths
# should differ by $O(1/K)$ after $K$ steps. With $\tilde\sigma_t$ instead of $\beta_t$ the noise
# differs by a relative $1/k$ at the $k$-th step from the end, which does not shrink with
# $\Delta t$; it still vanishes in the limit, because the noise of those last steps does, but more
# slowly (as $K^{-1/2}$ asymptotically).

# %%
vp = VPLinear()
x1 = diffuse(p0, *vp.kernel(1.0)).sample(2000, ch.rng)[:, 0]
K_em = np.array([25, 50, 100, 200, 400, 800])
gap_em = {"posterior": [], "beta": []}
for K in K_em.tolist():
    sK = schedule_from_abar(vp.abar(np.arange(K + 1) / K))  # abar_k = abar(k/K)
    dK = gmm_denoiser(p0, sK)
    _, path = reverse_sample(x1, p0, vp, lam=1.0, steps=K, rng=np.random.default_rng(K),
                             scheme="euler_maruyama", grid="uniform", return_path=True)
    x_em = dK(path[-2], 1)  # Euler-Maruyama down to t = 1/K, then the same final denoising
    for v in gap_em:
        x_dd = ancestral_sample(x1, dK, sK, np.random.default_rng(K), var=v)
        gap_em[v].append(mean_se(np.abs(x_dd - x_em)))
gap_em = {v: np.array(g) for v, g in gap_em.items()}  # rows: (mean, se)
order = {v: -np.polyfit(np.log(K_em), np.log(g[:, 0]), 1)[0] for v, g in gap_em.items()}
ch.claim("em-coupling-order-beta", order["beta"], between=(0.8, 1.2),
         why="O(dt^2) per step over K steps: order 1; a few paths switch mode near decision "
             "boundaries, so the fitted slope carries ~0.1 of noise",
         statement="DDPM (sigma = beta) and Euler-Maruyama paths differ by O(1/K)")
ch.claim("em-coupling-order-posterior", order["posterior"], between=(0.5, 1.2),
         why="last-step noise mismatch of relative size 1/k gives order 1/2 asymptotically, order 1 "
             "while the O(dt) terms dominate",
         statement="With sigma = posterior the paths still converge, more slowly")

# %% [markdown]
# The coupled paths differ by $O(K^{-p})$ with fitted $p=$ {glue:text}`em-coupling-order-beta:.2f`
# for $\sigma_t=\beta_t$ and {glue:text}`em-coupling-order-posterior:.2f` for $\tilde\sigma_t$. As
# $\mathbb E|x^{\rm DDPM}-x^{\rm EM}|$ bounds $W_1$ between the two output laws, DDPM and the
# discretised SDE produce the same law in the limit — and both the limit of the data.

# %% mystnb={"figure": {"caption": "Mean distance between coupled DDPM and Euler\u2013Maruyama trajectories (same start, same Gaussian draws, same final denoising step) against the number of steps $K$, with \u00b1 2 standard errors. Dotted: slope \u22121.", "name": "fig-ddpm-bayes-denoising-em"}}
fig, ax = plt.subplots()
for v, mk in (("beta", "s-"), ("posterior", "o-")):
    g = gap_em[v]
    ax.errorbar(K_em, g[:, 0], yerr=2 * g[:, 1], fmt=mk, capsize=3,
                label=r"$\sigma_t=\beta_t$" if v == "beta" else r"$\sigma_t=\tilde\sigma_t$")
ax.plot(K_em, gap_em["beta"][0, 0] * K_em[0] / K_em, "k:", lw=1, label="slope −1")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(K_em, [str(k) for k in K_em])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("steps K")
ax.set_ylabel("mean |x_DDPM − x_EM|")
ax.legend()
plt.show()

# %% [markdown]
# ## 8. Where the article is imprecise
#
# * **"The sampling variance is determined too."** After plugging $\hat x_0$ into the posterior,
#   the article says the variance of the sampling distribution comes out of the derivation as
#   $\tilde\sigma_t^2$. It does not: substituting a point estimate for $x_0$ drops the second
#   term of {eq}`eq-ddpm-bayes-denoising-revvar`. For the mixture the true reverse variance is
#   {glue:text}`reverse-var-over-posterior-t2:.2f` times $\tilde\sigma_t^2$ at $t=2$ (erratum claim
#   above), and sampling with few steps shows the cost (section 6). The article's own last section
#   then offers $\beta_t^2$ as a second choice — for this data it is the better one.
# * **"If $\hat x_0$ were accurate, one step would suffice."** The article explains the many small
#   steps by the estimate being inaccurate, especially early on. But the best possible estimate
#   under the article's loss is $\mathbb E[x_0|x_t]$, an *average*: with the exact denoiser, one
#   step from $p_T$ returns points whose variance is a tiny fraction of the data's. The
#   inaccuracy is not a shortfall of training that a better network removes; it is why a single
#   denoising step cannot generate.

# %%
s1 = schedule_from_abar([1.0, ho["abar"][T]])  # one step from T to 0
x_one = ancestral_sample(x_T, gmm_denoiser(p0, s1), s1, ch.rng)
snr = ho["abar"][T] ** 2 * var0 / (ho["abar"][T] ** 2 * var0 + ho["bbar"][T] ** 2)
ch.claim("one-step-variance-ratio", x_one.var() / var0, equals=snr, rtol=0.05,
         why="4 Monte Carlo standard errors of a sample variance (4 sqrt(2/N) = 4%) plus 1% "
             "for the terms of order abar_T^2 that the linear prediction drops",
         statement="One step with the exact denoiser keeps the fraction abar^2 v/(abar^2 v + "
                   "bbar^2) of the data variance",
         erratum="§预估修正: an accurate estimate of x0 would allow generation in one step")

# %% [markdown]
# One exact denoising step keeps a fraction {glue:text}`one-step-variance-ratio:.1e` of the data
# variance, as the linear-Gaussian prediction
# $\bar\alpha_T^2\sigma_0^2/(\bar\alpha_T^2\sigma_0^2+\bar\beta_T^2)$ says (with
# $\sigma_0^2=\mathrm{Var}\,x_0$): at $t=T$ almost nothing of $x_0$ is left to estimate.
#
# **Numbers printed in the article.** We went through the article's text for every numeral.
# Apart from equation numbers, the series numbers (1)–(3) and the title of the cited Lookahead
# paper (*k steps forward, 1 step back*), it prints three: the factor $-1/2$ of the Gaussian
# exponent and the factor $-2$ of the linear term in the derivation of
# {eq}`eq-ddpm-bayes-denoising-posterior` (both checked by the SymPy claims of section 3), and
# that Lookahead {cite}`zhang2019lookahead9164` appeared "three years" before the article. The
# article prints no experiments, so there is no FID or likelihood table to account for (the FID
# of Ho et al. is the paper's, not the article's, and needs GPU-scale training).

# %%
# the article: July 2022; Lookahead, arXiv:1907.08610: July 2019
months = (2022 * 12 + 7) - (2019 * 12 + 7)
ch.claim("lookahead-years", months / 12, equals=3, why="exact: calendar months between the dates",
         statement="Lookahead appeared three years before the article")
ch.source_number("-1/2", value=-0.5, where="§请贝叶斯, derivation: factor of the exponent",
                 fate="reproduced", claim="exponent-is-minus-half-q-sympy")
ch.source_number("-2", where="§请贝叶斯, derivation: linear coefficient", fate="reproduced",
                 claim="linear-coefficient-sympy")
ch.source_number("3", where="§预估修正, Lookahead 'three years ago'", fate="reproduced",
                 claim="lookahead-years")

# %% [markdown]
# ## Claims

# %%
ch.table();
