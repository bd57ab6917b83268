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
#     date: '2020-12-01'
#     id: 7921
#     paper: Choromanski et al. (2021), Rethinking Attention with Performers
#     paper_url: https://arxiv.org/abs/2009.14794
#     title: 'Performer: Linearising Attention''s Complexity with Random Projections'
#     title_zh: "Performer\uFF1A\u7528\u968F\u673A\u6295\u5F71\u5C06Attention\u7684\u590D\
#       \u6742\u5EA6\u7EBF\u6027\u5316"
#     url: https://kexue.fm/archives/7921
# ---

# %% [markdown]
# (ch-performer-favor)=
# # Performer: softmax attention from positive random features
#
# Softmax attention costs $\mathcal O(n^2)$ in the sequence length. Linear attention avoids
# the $n\times n$ matrix by writing the similarity as an inner product of feature vectors.
# Performer {cite}`7921-choromanski-performer`, as Su explains it {cite}`7921-su-performer`,
# finds such features for the softmax kernel $e^{q\cdot k}$ itself, by writing it as an
# expectation over a Gaussian vector and sampling. Does this reproduce attention, and how many
# samples does it take? The derivation is a completed square. The error is set by a variance
# that depends on $|q+k|$, not on the attention weight, so positive features are accurate
# exactly where softmax weights are small, unlike Fourier features. But the variance grows
# exponentially with the norms: at head size 64, FAVOR+ with a few times $d$ features is further
# from exact attention than plain averaging unless the logits are small.
#
# :::{prf:theorem} FAVOR+ and its variance
# :label: thm-performer-favor
# Let $q,k\in\mathbb R^d$, $s=q+k$, $u=q-k$ and $\omega\sim\mathcal N(0,I_d)$. Then
#
# 1. $e^{q\cdot k}=\mathbb E\big[e^{\omega\cdot q-|q|^2/2}\,e^{\omega\cdot k-|k|^2/2}\big]$, so
#    with $m$ samples $e^{q\cdot k}\approx\varphi(q)\cdot\varphi(k)$,
#    $\varphi(x)=m^{-1/2}\big(e^{\omega_l\cdot x-|x|^2/2}\big)_{l\le m}$: attention becomes a
#    ratio of two linear-cost sums.
# 2. One sample's relative mean-square error is $e^{|s|^2}-1$ (positive features),
#    $2\sinh^2(|u|^2/2)$ (trigonometric, $e^{(|q|^2+|k|^2)/2}\cos\omega\cdot u$) and
#    $2\sinh^2(|s|^2/2)$ (the antithetic pair $\pm\omega$, "hyperbolic").
# 3. Orthogonal directions lower the mean-square error. Su's deterministic quantile norms
#    lower it further in our test, but they make the estimator biased.
# :::

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
from torch.utils.flop_counter import FlopCounterMode

from lib.book import Chapter, show_table
from lib.stats import mean_se
from lib.transformers import (
    favor_attention,
    feature_norms,
    fixed_norm_kernel_mean,
    kernel_estimates,
    positive_features,
    random_feature_matrix,
    softmax_attention,
    softmax_kernel_variance,
)

ch = Chapter("performer-favor", seed=7921)
f64 = torch.float64
gen = torch.Generator().manual_seed(7921)


def pair(r, angle, d=16):  # q, k in R^d with |q| = |k| = r at the given angle
    q, k = torch.zeros(d, dtype=f64), torch.zeros(d, dtype=f64)
    q[0], k[0], k[1] = r, r * math.cos(angle), r * math.sin(angle)
    return q, k


QA, KA = pair(0.6, math.pi / 3)  # a moderate kernel value: q.k = 0.18
QB, KB = pair(math.sqrt(2 * math.sqrt(3)), 5 * math.pi / 6)  # a small one: q.k = -3

# %% [markdown]
# ## 1. Attention as a kernel ratio, and why features make it linear
#
# Row $i$ of attention is a weighted average of the values. The weights come from a
# similarity $\mathrm{sim}(q_i,k_j)$, and softmax attention uses $e^{q_i\cdot k_j}$ (the scale
# $1/\sqrt d$ is absorbed into $q$ and $k$):
#
# $$
# \begin{aligned}
# y_i&=\frac{\sum_j \mathrm{sim}(q_i,k_j)\,v_j}{\sum_j\mathrm{sim}(q_i,k_j)},\\
# \mathrm{sim}(q,k)=\varphi(q)\cdot\varphi(k)\ \Longrightarrow\ Y
# &=\frac{\varphi(Q)\,\big(\varphi(K)^\top V\big)}{\varphi(Q)\,\big(\varphi(K)^\top\mathbf 1\big)} .
# \end{aligned}
# $$ (eq-performer-linear)
#
# Bracketing $\varphi(K)^\top V$ first costs $\mathcal O(nm(d+d_v))$ instead of
# $\mathcal O(n^2 d)$; causal attention uses prefix sums over $j\le i$
# {cite}`7921-katharopoulos-linear`. The library evaluates the ratio as a softmax over the $m$
# features of per-feature key averages: exact, and free of overflow. We check it against the
# explicit quadratic ratio, and count flops with PyTorch's `FlopCounterMode`.
#
# ```{literalinclude} /lib/transformers/performer.py
# :pyobject: _favor_noncausal
# ```

# %%
n, d, m = 300, 16, 64
Q, K, V = (torch.randn(2, n, d, generator=gen, dtype=f64) / 2 for _ in range(3))
W = random_feature_matrix(m, d, generator=gen, dtype=f64)
A = positive_features(Q / d**0.25, W) @ positive_features(K / d**0.25, W).transpose(-1, -2)
causal = torch.ones(n, n, dtype=torch.bool).tril()
for name, mask in [("favor-equals-quadratic-ratio", None), ("causal-equals-masked-ratio", causal)]:
    kind = "FAVOR+" if mask is None else "causal FAVOR+ (prefix sums)"
    Am = A if mask is None else A * mask
    ref = (Am @ V) / Am.sum(-1, keepdim=True)
    err = (favor_attention(Q, K, V, W, causal=mask is not None) - ref).abs().max()
    ch.claim(name, err, at_most=1e-12, why="float64 rounding of sums of ~300 positive terms and "
             "of the log-space prefix sums (~1e3 ulp of O(1) values)",
             statement=f"{kind}, with no n x n matrix, equals the explicit ratio of eq. eq-performer-linear")


def flops(fn, n, d=64, m=256):
    x, W64 = torch.randn(n, d), random_feature_matrix(m, d, generator=gen)
    with FlopCounterMode(display=False) as fc:
        fn(x, x, x, W64)
    return fc.get_total_flops()


exact = lambda q, k, v, w: softmax_attention(q, k, v)  # noqa: E731
for name, fn, expo in [("flops-exponent-softmax", exact, 2), ("flops-exponent-favor", favor_attention, 1)]:
    ch.claim(name, math.log2(flops(fn, 2048) / flops(fn, 1024)), equals=expo,
             why="exact integer flop counts of the matrix products",
             statement="doubling n multiplies the flops by 2^exponent")
ch.claim("flops-crossover-2m", flops(exact, 512) - flops(favor_attention, 512), equals=0,
         why="exact integers: 4 n^2 d = 4 n m (d + d_v) at n = 2m when d_v = d",
         statement="with m = 4d = 256 features the flop counts meet at n = 2m = 512")

# %% [markdown]
# ## 2. Positive features by completing the square
#
# For a Gaussian $\omega$, the product of the two exponentials collects into one square:
#
# $$
# -\tfrac12|\omega|^2+\omega\cdot(q+k)-\tfrac12|q|^2-\tfrac12|k|^2
# =-\tfrac12|\omega-q-k|^2+q\cdot k ,
# $$ (eq-performer-square)
#
# so integrating against $(2\pi)^{-d/2}$ leaves $e^{q\cdot k}$ (equivalently,
# $\mathbb E[e^{\omega\cdot s}]=e^{|s|^2/2}$ since $\omega\cdot s\sim\mathcal N(0,|s|^2)$):
#
# $$
# e^{q\cdot k}=\mathbb E_{\omega}\big[e^{\omega\cdot q-|q|^2/2}\,e^{\omega\cdot k-|k|^2/2}\big]
# \approx\varphi(q)\cdot\varphi(k).
# $$ (eq-performer-favor)

# %%
w, q, k = (sp.symbols(f"{c}1:4", real=True) for c in "wqk")
dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
lhs = -dot(w, w) / 2 + dot(w, q) + dot(w, k) - dot(q, q) / 2 - dot(k, k) / 2
c = [a - b - e for a, b, e in zip(w, q, k, strict=True)]
ch.claim("complete-square-sympy", sp.expand(lhs - (-dot(c, c) / 2 + dot(q, k))) == 0, equals=True,
         why="exact symbolic", statement="Eq. (eq-performer-square) in d = 3 components")
x, t = sp.symbols("x t", real=True)
gauss = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
mgf = sp.simplify(sp.integrate(sp.exp(t * x) * gauss, (x, -sp.oo, sp.oo)))
cf = sp.simplify(sp.integrate(sp.exp(sp.I * t * x) * gauss, (x, -sp.oo, sp.oo)))
ch.claim("gaussian-mgf-sympy", sp.simplify(mgf - sp.exp(t**2 / 2)) == 0, equals=True,
         why="exact symbolic integration", statement="E[e^{tX}] = e^{t^2/2} for X ~ N(0, 1)")

# %% [markdown]
# The feature map `positive_features` needs no stabiliser: its exponent equals
# $|\omega_l|^2/2-|x-\omega_l|^2/2$, so a feature never exceeds $e^{|\omega_l|^2/2}/\sqrt m$.
#
# ## 3. Where the formula comes from: Fourier features and $q\to-iq$
#
# Su's general recipe: damp any kernel, take its Fourier transform and sample frequencies.
# This yields sine and cosine features, which need not be positive. For the exponential kernel
# one variable suffices, because
# $e^{q\cdot k}=e^{(|q|^2+|k|^2)/2}e^{-|q-k|^2/2}$ and a Gaussian is its own Fourier
# transform:
#
# $$
# e^{q\cdot k}=e^{(|q|^2+|k|^2)/2}\,\mathbb E_\omega\big[e^{i\omega\cdot(q-k)}\big]
# =\mathbb E_\omega\big[e^{(|q|^2+|k|^2)/2}\cos\omega\cdot(q-k)\big].
# $$ (eq-performer-fourier)
#
# These are the random Fourier features of {cite}`7921-rahimi-rff`. Both sides are entire in
# $(q,k)$, so the identity survives Su's substitution $q\to-iq$, $k\to ik$; with $|x|^2$ read
# as $x\cdot x$ it keeps $q\cdot k$ and turns the right side into {eq}`eq-performer-favor`.

# %%
qs, ks = sp.symbols("q1:4"), sp.symbols("k1:4")
sub = {**{a: -sp.I * a for a in qs}, **{b: sp.I * b for b in ks}}
diff, summ = [a - b for a, b in zip(qs, ks, strict=True)], [a + b for a, b in zip(qs, ks, strict=True)]
e_trig = dot(qs, qs) / 2 + dot(ks, ks) / 2 - dot(w, w) / 2 + sp.I * dot(w, diff)
e_pos = -dot(qs, qs) / 2 - dot(ks, ks) / 2 - dot(w, w) / 2 + dot(w, summ)
ok = (sp.simplify(cf - sp.exp(-t**2 / 2)) == 0
      and sp.expand(dot(qs, ks).subs(sub, simultaneous=True) - dot(qs, ks)) == 0
      and sp.expand(e_trig.subs(sub, simultaneous=True) - e_pos) == 0)
ch.claim("q-to-minus-iq-sympy", ok, equals=True, why="exact symbolic",
         statement="E[e^{i w.u}] = e^{-|u|^2/2}; q -> -iq, k -> ik maps the Fourier integrand of "
         "eq. eq-performer-fourier onto that of eq. eq-performer-favor and keeps q.k")

# %% [markdown]
# ## 4. Exact variances, by SymPy, quadrature and Monte Carlo
#
# Every estimator depends on $\omega$ only through $\omega\cdot s$ or $\omega\cdot u$, which
# are one-dimensional Gaussians. Write $Q=|q|^2$, $K=|k|^2$, $P=q\cdot k$, so
# $|s|^2=Q+K+2P$ and $|u|^2=Q+K-2P$. The second moments then follow from the moment generating
# function and the characteristic function:
#
# $$
# \begin{aligned}
# \mathrm{Var}_+&=e^{2P}\big(e^{|s|^2}-1\big),\qquad
# \mathrm{Var}_{\rm trig}=\tfrac12e^{Q+K}\big(1-e^{-|u|^2}\big)^2,\\
# \mathrm{Var}_{\rm hyp}&=\tfrac12\big(1-e^{-|s|^2}\big)\mathrm{Var}_+ .
# \end{aligned}
# $$ (eq-performer-var)
#
# "hyp" is the antithetic pair $\tfrac12(Z(\omega)+Z(-\omega))=e^{-(Q+K)/2}\cosh\omega\cdot s$:
# two features per $\omega$ that beat $2m$ independent positive ones, since
# $1-e^{-|s|^2}<1$. Dividing by $e^{2P}$ gives the relative errors of the theorem.

# %%
Q_, K_, P_ = sp.symbols("Q K P", real=True)
s2, u2 = Q_ + K_ + 2 * P_, Q_ + K_ - 2 * P_
M, C = sp.Lambda(t, mgf), sp.Lambda(t, cf)
moments = {  # (E[Z], E[Z^2]) from the 1-D laws of w.s and w.u
    "positive": (sp.exp(-(Q_ + K_) / 2) * M(sp.sqrt(s2)), sp.exp(-(Q_ + K_)) * M(2 * sp.sqrt(s2))),
    "trig": (sp.exp((Q_ + K_) / 2) * C(sp.sqrt(u2)), sp.exp(Q_ + K_) * (1 + C(2 * sp.sqrt(u2))) / 2),
    "hyp": (sp.exp(-(Q_ + K_) / 2) * M(sp.sqrt(s2)), sp.exp(-(Q_ + K_)) * (M(2 * sp.sqrt(s2)) + 1) / 2),
}
var_pos = sp.exp(2 * P_) * (sp.exp(s2) - 1)
stated = {"positive": var_pos, "trig": sp.exp(Q_ + K_) * (1 - sp.exp(-u2)) ** 2 / 2,
          "hyp": (1 - sp.exp(-s2)) * var_pos / 2}
relative = {"positive": sp.exp(s2) - 1, "trig": 2 * sp.sinh(u2 / 2) ** 2, "hyp": 2 * sp.sinh(s2 / 2) ** 2}
ok = all(sp.simplify(m1 - sp.exp(P_)) == 0
         and sp.simplify(sp.expand(m2 - m1**2 - stated[kind])) == 0
         and sp.simplify((stated[kind] * sp.exp(-2 * P_) - relative[kind]).rewrite(sp.exp)) == 0
         for kind, (m1, m2) in moments.items())
ch.claim("variances-sympy", ok, equals=True, why="exact symbolic", statement="all three are "
         "unbiased; eq. eq-performer-var and the relative errors of the theorem")

# %% [markdown]
# `softmax_kernel_variance` implements {eq}`eq-performer-var`. Two routes through the feature
# maps check it: a 2-D Gauss–Hermite rule on the plane of $q,k$ (where $\omega$ projects to
# $\mathcal N(0,I_2)$), and $10^6$ Monte-Carlo draws; $d=16$, $|q|=|k|=0.6$ at $60°$.

# %%
nodes, weights = np.polynomial.hermite_e.hermegauss(80)
basis = torch.linalg.qr(torch.stack([QA, KA], 1))[0]
grid = torch.tensor(np.stack(np.meshgrid(nodes, nodes, indexing="ij"), -1).reshape(-1, 2)) @ basis.T
wq = torch.tensor(np.outer(weights, weights).ravel() / (2 * math.pi))
smA = math.exp(float(QA @ KA))
draws = torch.cat([torch.randn(200_000, 16, generator=gen, dtype=f64) for _ in range(5)])
rows, mc = [], {}
for kind in ("positive", "trig", "hyp"):
    exact_var = float(softmax_kernel_variance(QA, KA, kind))
    z = kernel_estimates(QA, KA, grid, kind)
    quad_var = float((wq * z * z).sum()) - float((wq * z).sum()) ** 2
    ch.claim(f"quadrature-var-{kind}", quad_var, equals=exact_var, rtol=1e-10, why="80-node "
             "Gauss-Hermite rule (~1e-13 here) plus float64 cancellation in E[Z^2] - E[Z]^2",
             statement=f"{kind}: the quadrature variance equals eq. eq-performer-var")
    zmc = kernel_estimates(QA, KA, draws, kind)
    mean, se = mean_se(zmc)
    var, se_var = mean_se((zmc - smA) ** 2)  # E[(Z - e^{q.k})^2]: the MSE, = variance if unbiased
    mc[kind] = float(var), float(se_var)
    ch.claim(f"mc-mean-{kind}", float(mean), equals=smA, atol=4 * float(se),
             why="4 Monte-Carlo standard errors (10^6 draws)", statement=f"{kind} is unbiased")
    ch.claim(f"mc-var-{kind}", float(var), equals=exact_var, atol=4 * float(se_var),
             why="4 standard errors of the mean of (Z - e^{q.k})^2 over 10^6 draws",
             statement=f"{kind}: the Monte-Carlo variance matches eq. eq-performer-var")
    rows.append([kind, f"{exact_var:.5g}", f"{float(var):.5g} ± {float(se_var):.2g}"])
show_table(["estimator", "exact variance", "Monte Carlo (± se)"], rows)
forgot = float(softmax_kernel_variance(QA, KA)) / smA**2  # drops the factor e^{2 q.k}
ch.claim("negative-control-z", abs(mc["positive"][0] - forgot) / mc["positive"][1], at_least=4.0,
         why="a wrong variance (no factor e^{2q.k}) must fail the same 4-se test",
         statement="the Monte-Carlo check has power")

# %% [markdown]
# At this moderate kernel value ($q\cdot k=0.18$) the trigonometric estimator has the
# **smaller** variance ({glue:text}`mc-var-trig:.4f` against {glue:text}`mc-var-positive:.4f`):
# positivity does not buy accuracy everywhere.
#
# ## 5. Small attention weights: where positive features win
#
# The positive relative error depends on $|q+k|$, the trigonometric one on $|q-k|$. A small
# attention weight, $q\cdot k\ll0$, means that $q$ and $k$ point apart, so $|q+k|$ is small
# and $|q-k|$ large; long-sequence attention consists mostly of such weights. At
# $|q|^2=|k|^2=2\sqrt3$ and $150°$ ($q\cdot k=-3$) the positive relative error is
# {glue:text}`rel-mse-positive-B:.3f`, the trigonometric one {glue:text}`rel-mse-trig-B:.3g`.
# The figure sweeps the angle; Monte Carlo ($5\times10^4$ draws a point) confirms the formulas
# where the fourth moment is moderate.

# %% mystnb={"figure": {"caption": "Relative mean-square error of one random feature, $\\mathbb E[(Z-e^{q\\cdot k})^2]/e^{2q\\cdot k}$, against the angle between $q$ and $k$ ($|q|^2=|k|^2=2\\sqrt3$, $d=16$). Lines are {eq}`eq-performer-var`; dots are Monte-Carlo estimates with 2-standard-error bars. The kernel value falls from $e^{2\\sqrt3}$ (left) to $e^{-2\\sqrt3}$ (right), where the positive and hyperbolic features become exact and the trigonometric ones blow up.", "name": "fig-performer-favor-relative-error"}}
r = math.sqrt(2 * math.sqrt(3))
angles = np.linspace(0, math.pi, 181)
kinds = {"positive": "C0", "trig": "C1", "hyp": "C2"}
fig, ax = plt.subplots()
for kind, col in kinds.items():
    curve = [float(softmax_kernel_variance(*pair(r, a), kind)) / math.exp(2 * r * r * math.cos(a)) for a in angles]
    ax.semilogy(np.degrees(angles), curve, color=col, label=kind)
zs = []
for kind, degs in {"positive": (150, 160, 170), "hyp": (150, 160, 170), "trig": (60, 90, 120, 150, 170)}.items():
    for deg in degs:
        q, k = pair(r, math.radians(deg))
        sm = math.exp(float(q @ k))
        est = kernel_estimates(q, k, torch.randn(50_000, 16, generator=gen, dtype=f64), kind)
        mse, se = (float(v) / sm**2 for v in mean_se((est - sm) ** 2))
        zs.append(abs(mse - float(softmax_kernel_variance(q, k, kind)) / sm**2) / se)
        ax.errorbar(deg, mse, yerr=2 * se, fmt="o", color=kinds[kind], ms=4)
ax.set_xlabel("angle between q and k (degrees)")
ax.set_ylabel("relative MSE of one feature")
ax.legend()
plt.show()

# %%
ch.claim("figure-mc-max-z", max(zs), at_most=4.0, why="11 Monte-Carlo points, each within 4 "
         "standard errors of its formula", statement="the figure's formulas agree with Monte Carlo")
relB = {kind: float(softmax_kernel_variance(QB, KB, kind)) / math.exp(-6.0) for kind in kinds}
ch.claim("rel-mse-positive-B", relB["positive"], equals=math.expm1(2 * r * r - 6), rtol=1e-12,
         why="float64: |q+k|^2 = 2 r^2 (1 + cos 150 deg) = 4 sqrt 3 - 6 in closed form",
         statement="positive features at q.k = -3: relative MSE e^{|q+k|^2} - 1")
ch.claim("rel-mse-trig-B", relB["trig"], equals=2 * math.sinh(r * r + 3) ** 2, rtol=1e-12,
         why="float64: |q-k|^2 = 4 sqrt 3 + 6 in closed form",
         statement="trigonometric features at q.k = -3: relative MSE 2 sinh^2(|q-k|^2/2)")

# %% [markdown]
# ## 6. Orthogonal features and Su's quantile norms
#
# Gaussian directions are uniform on the sphere; making $m\le d$ of them exactly orthogonal
# spreads them more evenly, and each row stays $\mathcal N(0,I)$ if its norm is drawn from
# $\chi_d$ {cite}`7921-choromanski-orthogonal`. Su also de-randomises the norms, fixing them at
# the quantiles $R_i$ with $P(\chi^2_d\le R_i^2)=i/(m+1)$. Orthogonality leaves the mean of a
# feature alone; fixed norms do not. At norm $R$, the sphere average is a Bessel function,
#
# $$
# \mathbb E_u\big[e^{R\,u\cdot s}\big]={}_0F_1\big(;\tfrac d2;\tfrac14R^2|s|^2\big),
# \qquad \mathbb E_{R\sim\chi_d}\big[{}_0F_1(\cdot)\big]=e^{|s|^2/2},
# $$ (eq-performer-fixed-norm)
#
# and the average over $m$ quantiles, which miss the tails of $\chi_d$, is not
# $e^{|s|^2/2}$. Four samplers at the pair of §4, $m=d=16$, $4\times10^4$ estimates each
# (the orthogonal ones share their directions):

# %%
R, m16 = 40_000, 16
dirs = random_feature_matrix(R * m16, 16, norms="sqrt_d", generator=gen, dtype=f64) / 4
qnorms = feature_norms(m16, 16, "quantile", generator=gen)
samplers = {
    "i.i.d. Gaussian": random_feature_matrix(R * m16, 16, orthogonal=False, generator=gen, dtype=f64),
    "orthogonal, chi norms": dirs * feature_norms(R * m16, 16, "chi", generator=gen)[:, None],
    "orthogonal, quantile norms (Su)": dirs * qnorms.repeat(R)[:, None],
    "orthogonal, all norms sqrt(d)": dirs * 4,
}
exact_bias = {name: float(fixed_norm_kernel_mean(QA, KA, r).mean()) - smA for name, r in
              [("orthogonal, quantile norms (Su)", qnorms), ("orthogonal, all norms sqrt(d)", [4.0])]}
iid_closed = float(softmax_kernel_variance(QA, KA)) / m16
rows, res = [], {}
for name, Wv in samplers.items():
    est = kernel_estimates(QA, KA, Wv).view(R, m16).mean(1)
    mse, se = (float(v) for v in mean_se((est - smA) ** 2))
    bias, bse = (float(v) for v in mean_se(est - smA))
    res[name] = mse, se, bias, bse
    rows.append([name, f"{mse / iid_closed:.3f} ± {se / iid_closed:.3f}", f"{bias / smA:+.4f} ± {bse / smA:.4f}",
                 f"{exact_bias.get(name, 0.0) / smA:+.4f}"])
show_table(["sampler", "MSE / i.i.d. closed form", "relative bias (MC)", "relative bias (exact)"], rows)
mse, se, *_ = res["i.i.d. Gaussian"]
ch.claim("iid-mse-closed-form", mse, equals=iid_closed, atol=4 * se, why="4 Monte-Carlo "
         "standard errors", statement="the i.i.d. sampler's MSE is Var_+/m")
mse, se, bias, bse = res["orthogonal, chi norms"]
ch.measured("orf-mse-ratio", mse / iid_closed, why="descriptive: the size of the reduction")
ch.claim("orf-mse-reduction-z", (iid_closed - mse) / se, at_least=4.0, why="one-sided: at least "
         "4 standard errors below the exact i.i.d. MSE", statement="orthogonal directions lower the MSE")
ch.claim("orf-chi-unbiased-z", abs(bias) / bse, at_most=4.0, why="control: with chi norms each "
         "row is N(0, I), so the bias test must pass", statement="orthogonal + chi norms is unbiased")
mse, se, bias, bse = res["orthogonal, quantile norms (Su)"]
ch.measured("quantile-mse-ratio", mse / iid_closed, why="descriptive")
ch.measured("quantile-bias-rel", bias / smA, why="descriptive: relative bias, Monte Carlo")
ch.measured("sqrt-d-mse-ratio", res["orthogonal, all norms sqrt(d)"][0] / iid_closed, why="descriptive")
ch.measured("quantile-bias-rel-m256", float(fixed_norm_kernel_mean(QA, KA, feature_norms(
    256, 16, "quantile")).mean()) / smA - 1, why="descriptive: exact relative bias, m = 256")
ch.claim("quantile-bias-matches-exact", bias, equals=exact_bias["orthogonal, quantile norms (Su)"],
         atol=4 * bse, why="4 Monte-Carlo standard errors",
         statement="the quantile-norm bias is the one eq. eq-performer-fixed-norm predicts")
ch.claim("quantile-bias-z", abs(bias) / bse, at_least=4.0, why="at least 4 standard errors from 0",
         statement="Su's quantile norms give a biased estimator of e^{q.k}",
         erratum="The article proposes fixing the norms at the chi quantiles as a further "
         "de-randomisation that simply replaces the random norms (§ orthogonalisation), without "
         "noting that the estimator is then no longer unbiased")

# %% [markdown]
# Orthogonal directions cut the mean-square error to {glue:text}`orf-mse-ratio:.2f` of the
# i.i.d. value; Su's quantile norms cut it to {glue:text}`quantile-mse-ratio:.2f` but shift the
# mean by a relative {glue:text}`quantile-bias-rel:.4f` (with 256 quantiles the exact shift falls
# to {glue:text}`quantile-bias-rel-m256:.2g`). At $m=16$ the shift is far below the noise, so the
# proposal pays off; norms all equal to $\sqrt d$, biased too, do better still
# ({glue:text}`sqrt-d-mse-ratio:.2f`). But a bias does not average out over heads and layers.
#
# ## 7. FAVOR+ attention at head size 64
#
# Head size $d=64$, $n=512$, Gaussian $q,k,v$ scaled so that the logits $q\cdot k/\sqrt d$
# have standard deviation $\tau$. Then $|q'|^2=\tau\sqrt d$ on average ($q'=q/d^{1/4}$), a
# feature's relative variance is of order $e^{|q'+k'|^2}$, and the features needed grow like
# $e^{2\tau\sqrt d}$. The baseline any approximation should beat: plain averaging of $v$.

# %%
ms, taus, seeds, n64 = [64, 256, 1024, 4096], [0.125, 0.25, 0.5], 5, 512
err = np.zeros((len(taus), 2, seeds, len(ms)))
uni = np.zeros((len(taus), seeds))
keep = []
for s in range(seeds):
    q0, k0, v0 = (torch.randn(n64, 64, generator=gen, dtype=f64) for _ in range(3))
    keep = keep or [q0, k0, v0]
    for it, tau in enumerate(taus):
        qt, kt = q0 * tau**0.5, k0 * tau**0.5
        ref = softmax_attention(qt, kt, v0)
        uni[it, s] = float((v0.mean(0) - ref).norm() / ref.norm())
        for io, orth in enumerate((False, True)):
            for im, m in enumerate(ms):
                Wm = random_feature_matrix(m, 64, orthogonal=orth, generator=gen, dtype=f64)
                err[it, io, s, im] = float((favor_attention(qt, kt, v0, Wm) - ref).norm() / ref.norm())
qt, kt, v0 = keep[0] / 8**0.5, keep[1] / 8**0.5, keep[2]  # tau = 1/8, first seed: 16 draws per m
ref = softmax_attention(qt, kt, v0)
sq = {m: torch.tensor([float((favor_attention(qt, kt, v0, random_feature_matrix(
    m, 64, orthogonal=False, generator=gen, dtype=f64)) - ref).norm() / ref.norm()) ** 2
    for _ in range(16)]) for m in (256, 4096)}

# %% mystnb={"figure": {"caption": "Relative error of FAVOR+ against exact softmax attention ($d=64$, $n=512$, mean of 5 seeds) for three logit scales $\\tau$. Solid lines use i.i.d. features and dashed lines orthogonal ones; dotted horizontal lines show the error of uniform attention. The grey line has slope $-1/2$. The vertical line marks $m=4d$.", "name": "fig-performer-favor-attention-error"}}
fig, ax = plt.subplots()
for it, tau in enumerate(taus):
    col = f"C{it}"
    ax.loglog(ms, err[it, 0].mean(0), "o-", color=col, label=rf"$\tau={tau}$")
    ax.loglog(ms, err[it, 1].mean(0), "s--", color=col)
    ax.axhline(uni[it].mean(), color=col, ls=":")
ax.loglog(ms, err[0, 0].mean(0)[0] * (np.array(ms) / ms[0]) ** -0.5, color="grey", lw=1)
ax.axvline(256, color="k", lw=0.8)
ax.set_xlabel("number of random features m")
ax.set_ylabel("relative Frobenius error")
ax.legend()
plt.show()
(lo, lo_se), (hi, hi_se) = (map(float, mean_se(sq[m])) for m in (256, 4096))
slope = 0.5 * math.log(hi / lo) / math.log(16)
slope_se = 0.5 * math.hypot(lo_se / lo, hi_se / hi) / math.log(16)
ch.claim("error-slope-tau-1-8", slope, equals=-0.5, atol=4 * slope_se, why="4 standard errors "
         "(delta method; 16 feature draws per m, fixed inputs) of the slope of the rms error, m = 256 to 4096",
         statement="at tau = 1/8 the error falls like m^(-1/2)")
gain, gain_se = mean_se(np.log(err[0, 1] / err[0, 0]).ravel())
ch.claim("orf-attention-gain-z", -gain / gain_se, at_least=4.0, why="4 standard errors of paired "
         "log-ratios (5 seeds x 4 m)", statement="orthogonal features lower the error at tau = 1/8")
for it, tau in [(1, "1-4"), (2, "1-2")]:
    dm, dse = mean_se(np.log(err[it, 0, :, 1] / uni[it]))
    ch.claim(f"worse-than-uniform-tau-{tau}", dm / dse, at_least=4.0, why="4 standard errors of "
             "paired log error ratios over 5 seeds", statement=f"tau = {tau.replace('-', '/')}, m = 4d: "
             "FAVOR+ is further from softmax attention than uniform averaging")
for name, val in [("err-m256-tau-1-8", err[0, 0, :, 1]), ("uniform-tau-1-8", uni[0]),
                  ("err-m4096-tau-1-8", err[0, 0, :, 3])]:
    ch.measured(name, val.mean(), why="descriptive: mean over seeds")

# %% [markdown]
# The error follows $m^{-1/2}$ (slope {glue:text}`error-slope-tau-1-8:.3f`) and orthogonal
# features help at small logits, but the constant is brutal. At $\tau=1/8$, where attention is
# nearly uniform, $m=4d$ gives error {glue:text}`err-m256-tau-1-8:.3f` against
# {glue:text}`uniform-tau-1-8:.3f` for plain averaging; $m=4096$ reaches
# {glue:text}`err-m4096-tau-1-8:.3f`. At $\tau\ge1/4$, $m=4d$ loses to averaging by many
# standard errors. This fits the paper's finding, quoted by Su, that Performer cannot reuse a
# pretrained Transformer without fine-tuning: a trained Performer must learn small $|q'|,|k'|$.
#
# **Cost.** The flop counts of §1 meet at $n=2m$, i.e. $n=8d$ for $m=4d$. Su's break-even of
# about 5000 tokens corresponds to $m=5000/2$ features at $d=64$, the range where the errors
# above drop well below averaging at $\tau=1/8$. Wall-clock times depend on hardware and on kernel fusion:
# `benchmarks/favor_attention.py` times FAVOR+, `softmax_attention` and PyTorch's fused
# `scaled_dot_product_attention` side by side, prints the crossover length and peak memory, and
# repeats the error scan (a benchmark, not a check).
#
# ## 8. The article's numbers, and what we found
#
# We read every sentence and formula of the article for printed numbers. The complexities
# $\mathcal O(n^2)$ and $\mathcal O(n)$ are reproduced by the flop counts of §1; the
# 5000-token break-even is an estimate for unstated hardware and settings (related to the flop
# model above, not checkable here); the "six pages" of the paper's appendix is a page count. Its
# figures are copies of the paper's and the surveys' plots. One proposal fails a test: the
# quantile norms of §6 are biased (slightly, and they still reduce the error at $m=16$).

# %%
ch.source_number("O(n^2)", value=2, where="§Attention, cost of softmax attention", fate="reproduced",
                 claim="flops-exponent-softmax")
ch.source_number("O(n)", value=1, where="§Attention, cost of linear attention", fate="reproduced",
                 claim="flops-exponent-favor")
ch.source_number("5000", where="§问题与思考, Su's break-even length", fate="out of scope",
                 reason="a wall-clock estimate for unstated hardware, m and d; the flop model puts "
                 "the break-even at n = 2m; benchmarks/favor_attention.py measures CPU times")
ch.source_number("6", where="§正交化降低方差, pages of the paper's appendix on orthogonal features",
                 fate="out of scope", reason="a page count, not a computed quantity")

# %% [markdown]
# ## Claims

# %%
ch.table()
