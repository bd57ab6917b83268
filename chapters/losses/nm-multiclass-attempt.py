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
#     date: '2022-07-15'
#     id: 9158
#     title: 'An Unsuccessful Attempt: Generalising the Multi-Label Cross-Entropy to
#       "n Tasks of m Classes"'
#     title_zh: "\u4E0D\u6210\u529F\u7684\u5C1D\u8BD5\uFF1A\u5C06\u591A\u6807\u7B7E\u4EA4\
#       \u53C9\u71B5\u63A8\u5E7F\u5230\u201Cn\u4E2Am\u5206\u7C7B\u201D\u4E0A\u53BB"
#     url: https://kexue.fm/archives/9158
# ---

# %% [markdown]
# (ch-nm-multiclass-attempt)=
# # An unsuccessful attempt: n tasks of m classes
#
# Multi-label classification is $n$ two-way problems, and the multi-label loss of
# {cite}`su2020zlpr9039` handles their imbalance by putting the sum over labels *inside* a
# logarithm; its soft-label version {cite}`su2022soft9158` even has an explicit optimum,
# $t=\sigma(2s)$. Does the same construction work for $n$ problems of $m$ classes each — a loss
# that balances classes through a log-of-sum *and* whose soft-label optimum can be written down?
# The article {cite}`su2022nm9158` says openly that it did not find one, and this chapter confirms
# its two candidates behave as reported. The first-order truncation $l_1$ of the softmax
# cross-entropy is a sound hard-label loss, but its soft-label optimum is neither
# $\mathrm{softmax}(S)$ nor $\mathrm{softmax}(2S)$ nor any temperature in between. The loss $l_3$,
# reverse-engineered to have the optimum $\mathrm{softmax}(S)=T$, does — yet with hard labels it
# only asks the target logit to beat the row *mean*, and in a small training run its accuracy on
# two confusable classes decays towards chance while its loss keeps falling. Both reduce to the
# soft-label multi-label loss when $m=2$ ($l_3$ only after halving the logits). One step beyond the
# article: the stationarity conditions of $l_1$ collapse to $m$ coupled quadratic equations, which
# say exactly when the natural guess $\mathrm{softmax}(2S)=T$ is right — for $m=2$ always, for
# $m\ge3$ only when the classes' "overlaps" balance. That explains the failure; it does not repair it.
#
# :::{prf:proposition} What holds for the two candidates
# :label: thm-nm-multiclass-attempt
# Logits $S=(s_{ij})$ and labels $T=(t_{ij})$, $i=1..n$ tasks, $j=1..m$ classes, rows of $T$ in
# the probability simplex.
#
# 1. (*Reductions*) For $m=2$, with $z_i=s_{i1}-s_{i2}$ and $t_i=t_{i1}$:
#    $l_1(S,T)=\mathcal L_{\rm soft}(z;t)$ and $l_3(S,T)=\mathcal L_{\rm soft}(z/2;t)$, where
#    $\mathcal L_{\rm soft}$ is the soft-label multi-label loss.
# 2. (*The centred loss*) $l_1$ and $l_3$ are convex in $S$; for $T>0$, any $S$ with
#    $\mathrm{softmax}(S)=T$ row by row minimises $l_3$.
# 3. (*The truncated loss; our analysis, not in the article*) For $T>0$, at the minimiser of $l_1$,
#    $\mathrm{softmax}(2S)_{ij}=w_jt_{ij}/\sum_kw_kt_{ik}$ with class weights $w_j=v_j^2$, where
#    $v>0$ solves $(1-N_j)\,v_j^2+v_j\,(Gv)_j=1$, $N_j=\sum_it_{ij}$,
#    $G_{jk}=\sum_i\sqrt{t_{ij}t_{ik}}$. The weights are all equal — i.e.
#    $\mathrm{softmax}(2S)=T$ — exactly when the overlaps $o_j=\sum_{k\ne j}G_{jk}$ are equal, which
#    always holds for $m=2$.
# 4. (*Hard labels*) $l_1<\log2$ implies every task is classified correctly; $l_3$ can be made
#    arbitrarily small with the wrong arg-max.
# :::

# %% tags=["hide-input"]
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
from scipy.optimize import minimize, minimize_scalar, root

from lib.book import Chapter
from lib.losses import nm_loss_centered, nm_loss_truncated, soft_multilabel_ce
from lib.stats import z_score

ch = Chapter("nm-multiclass-attempt", seed=9158)
F64 = torch.float64
EPS = torch.finfo(F64).eps
gen = torch.Generator().manual_seed(9158)
rng = ch.rng

# %% [markdown]
# ## 1. Truncating the softmax cross-entropy
#
# For one task, $-\log\mathrm{softmax}(s_i)_j=\log\bigl(1+\sum_{k\ne j}e^{s_{ik}-s_{ij}}\bigr)$.
# Summing over tasks with weights $t_{ij}$ and grouping by class,
#
# $$
# -\sum_{i,j}t_{ij}\log\mathrm{softmax}(s_i)_j
# =\sum_j\log\prod_i\Bigl(1+\sum_{k\ne j}e^{s_{ik}-s_{ij}}\Bigr)^{t_{ij}} .
# $$ (eq-nm-multiclass-attempt-ce)
#
# Expanding the product, its first-order part is $1+\sum_it_{ij}\sum_{k\ne j}e^{s_{ik}-s_{ij}}$;
# the rest are cross terms between tasks. Keeping only the first order gives the article's first
# candidate,
#
# $$
# l_1=\sum_{j=1}^m\log\Bigl(1+\sum_{i=1}^n\sum_{k\ne j}t_{ij}\,e^{s_{ik}-s_{ij}}\Bigr),
# $$ (eq-nm-multiclass-attempt-l1)
#
# the $m$-class analogue of the step that leads from binary cross-entropy to the soft-label
# multi-label loss. The sum over tasks now sits inside the log: class $j$ contributes about
# $\log(\text{its number of tasks})$ instead of a number proportional to it, which is where the
# class balancing comes from. SymPy checks the single-task identity ($m=3$) and the first-order
# expansion of the product (two tasks):

# %%
a = sp.symbols("a1:4", real=True)
single = -sp.log(sp.exp(a[0]) / sum(map(sp.exp, a))) - sp.log(1 + sp.exp(a[1] - a[0]) + sp.exp(a[2] - a[0]))
eps_sym = sp.Symbol("epsilon")
u = sp.symbols("u1:3", positive=True)
tau = sp.symbols("tau1:3", positive=True)
product = sp.prod([(1 + eps_sym * ui) ** ti for ui, ti in zip(u, tau, strict=True)])
first_order = sp.series(product, eps_sym, 0, 2).removeO()
ok_single = sp.simplify(sp.expand_log(single, force=True)) == 0
ok_first = sp.simplify(first_order - (1 + eps_sym * sum(ti * ui for ui, ti in zip(u, tau, strict=True)))) == 0
ch.claim("sympy-truncation", ok_single and ok_first, equals=True, why="exact symbolic algebra",
         statement="-log softmax_j = log(1 + sum_{k!=j} e^{s_k - s_j}); prod (1 + u_i)^{t_i} = 1 + sum t_i u_i + O(u^2)")

# %% [markdown]
# With hard labels every deleted cross term is a product of positive numbers, so $l_1$ is below
# the cross-entropy; and the balancing is visible in the gradient. If $N$ tasks of class $j$ all
# have the same logits, with $\xi=\sum_{k\ne j}e^{s_k-s_j}$, class $j$ contributes
# $\log(1+N\xi)$ to $l_1$ but $N\log(1+\xi)$ to the cross-entropy, and the total gradient on the
# $N$ target logits is $N\xi/(1+N\xi)<1$ however large $N$ is.

# %%
S_rand = 2 * torch.randn(2000, 4, 3, dtype=F64, generator=gen)
T_hard = torch.nn.functional.one_hot(torch.randint(0, 3, (2000, 4), generator=gen), 3).to(F64)
ce = -(T_hard * S_rand.log_softmax(-1)).sum((-1, -2))
ch.claim("hard-l1-below-ce", (ce - nm_loss_truncated(S_rand, T_hard)).min(), at_least=0.0, atol=1e-13,
         why="deleted cross terms are >= 0; float64 rounding of losses of size ~10",
         statement="l1 <= softmax cross-entropy for hard labels (2000 random draws)")
s_same = torch.tensor([0.0, -1.0, -2.0], dtype=F64)  # class 0 is the target: xi = e^-1 + e^-2
xi = float(s_same[1:].exp().sum())
for N in (10, 1000):
    S_n = s_same.repeat(N, 1).requires_grad_()
    T_n = torch.zeros(N, 3, dtype=F64)
    T_n[:, 0] = 1
    (g_n,) = torch.autograd.grad(nm_loss_truncated(S_n, T_n), S_n)
    ch.claim(f"balance-grad-N{N}", -g_n[:, 0].sum(), equals=N * xi / (1 + N * xi), rtol=1e-12,
             why="float64 rounding", statement=f"total target-logit gradient for N = {N} tasks is N xi/(1 + N xi) < 1")

# %% [markdown]
# With $N=10$ and $N=1000$ identical tasks the total gradient on the targets is
# {glue:text}`balance-grad-N10:.3f` and {glue:text}`balance-grad-N1000:.4f`; under the
# cross-entropy it would be $N\xi/(1+\xi)$, growing in proportion to $N$.
#
# The library evaluates {eq}`eq-nm-multiclass-attempt-l1` as
# $\mathrm{softplus}\bigl(\mathrm{lse}_i(\log t_{ij}+\mathrm{lse}_{k\ne j}s_{ik}-s_{ij})\bigr)$, with
# entries where $t_{ij}=0$ removed (not clipped) and the leave-one-out log-sum-exp computed without
# cancellation:
#
# ```{literalinclude} /lib/losses/nm.py
# :pyobject: nm_loss_truncated
# ```
#
# ## 2. The gradient of $l_1$
#
# Write $D_j=1+\sum_{i'}\sum_{k\ne j}t_{i'j}e^{s_{i'k}-s_{i'j}}$ for the argument of the $j$-th
# log — a sum over **all** tasks $i'$, which the article's notation reuses $i$ for. Then
#
# $$
# \frac{\partial l_1}{\partial s_{ij}}
# =-\frac{t_{ij}\,e^{-s_{ij}}\sum_{k\ne j}e^{s_{ik}}}{D_j}
# +e^{s_{ij}}\sum_{h\ne j}\frac{t_{ih}\,e^{-s_{ih}}}{D_h}:
# $$ (eq-nm-multiclass-attempt-grad)
#
# $s_{ij}$ appears as the target logit in class $j$'s term and as a competitor in every other
# class's term. Against autograd, soft labels, $n=4$, $m=3$:

# %%
S0 = 1.5 * torch.randn(4, 3, dtype=F64, generator=gen)
T0 = torch.distributions.Dirichlet(torch.ones(3, dtype=F64)).sample((4,))
S0g = S0.clone().requires_grad_()
(g_auto,) = torch.autograd.grad(nm_loss_truncated(S0g, T0), S0g)
e0 = S0.exp()
a0 = T0 * (-S0).exp() * (e0.sum(-1, keepdim=True) - e0)  # t_ij e^{-s_ij} sum_{k != j} e^{s_ik}
D0 = 1 + a0.sum(0)  # D_j, summed over every task
b0 = T0 * (-S0).exp() / D0  # t_ih e^{-s_ih} / D_h
g_closed = -a0 / D0 + e0 * (b0.sum(-1, keepdim=True) - b0)
ch.claim("grad-closed-form", (g_auto - g_closed).abs().max() / g_closed.abs().max(), at_most=1e-12,
         why="float64 rounding of a few dozen operations on O(1) numbers",
         statement="Eq. (eq-nm-multiclass-attempt-grad) equals autograd")

# %% [markdown]
# ## 3. Two classes: back to the soft-label loss
#
# For $m=2$ each class's inner sum has a single competitor, and with $z_i=s_{i1}-s_{i2}$,
# $t_i=t_{i1}$, $1-t_i=t_{i2}$:
#
# $$
# l_1=\log\Bigl(1+\sum_it_ie^{-z_i}\Bigr)+\log\Bigl(1+\sum_i(1-t_i)e^{z_i}\Bigr)=\mathcal L_{\rm soft}(z;t),
# \qquad l_3=\mathcal L_{\rm soft}(z/2;t),
# $$ (eq-nm-multiclass-attempt-m2)
#
# the second because $\bar s_i-s_{i1}=-z_i/2$ (the centred loss $l_3$ is defined in section 6). So
# $l_1$ inherits the optimum $t=\sigma(2z)$, i.e. $\mathrm{softmax}(2S)=T$, and $l_3$ has
# $\sigma(z)$, i.e. $\mathrm{softmax}(S)=T$. Against the library's soft-label loss (one sample
# whose $n$ labels are the tasks):

# %%
S2 = 3 * torch.randn(6, 2, dtype=F64, generator=gen)
T2 = torch.distributions.Dirichlet(torch.ones(2, dtype=F64)).sample((6,))
z2, t2 = S2[:, 0] - S2[:, 1], T2[:, 0]
ch.claim("m2-l1", nm_loss_truncated(S2, T2), equals=soft_multilabel_ce(z2[None], t2[None], reduction="sum"),
         rtol=1e-12, why="float64 rounding", statement="m = 2: l1(S, T) = L_soft(s1 - s2; t1)")
ch.claim("m2-l3", nm_loss_centered(S2, T2), equals=soft_multilabel_ce(z2[None] / 2, t2[None], reduction="sum"),
         rtol=1e-12, why="float64 rounding", statement="m = 2: l3(S, T) = L_soft((s1 - s2)/2; t1)")
for loss_name, claim_name in (("l1 (Eq. loss-1)", "m2-l1"), ("l3 (Eq. loss-3), with the score (s1 - s2)/2", "m2-l3")):
    ch.source_number("2", where=f"§Analysis: for m = 2 {loss_name} reduces to the multi-label cross-entropy",
                     fate="reproduced", claim=claim_name)


# %% [markdown]
# ## 4. Soft labels: the optimum of $l_1$ has no simple form
#
# Both losses are sums of log-sum-exps of affine functions of $S$, hence convex, and both ignore a
# shift of any row of $S$. We pin the last logit of each row at 0 and minimise with Newton's method
# (scipy's trust-region `trust-exact`, exact Hessians from autograd). At the stopping point the
# gradient $g$ and the smallest Hessian eigenvalue $\lambda$ bound the distance to the minimiser
# by $\|g\|/\lambda$ to first order; since $\mathrm{softmax}(\beta s)$ is $\beta/2$-Lipschitz, that
# bound (times 2) is the tolerance for every probability compared below.

# %%
def minimise(loss, T):
    """Minimise loss(S, T) over S with each row's last logit pinned at 0; returns S and the
    first-order bound ||g|| / lambda_min(H) on the error of the free logits."""
    n, m = T.shape
    pad = torch.zeros(n, 1, dtype=F64)

    def f(x):
        return loss(torch.cat([x.view(n, m - 1), pad], 1), T)

    def jac(x):
        xt = torch.from_numpy(x).requires_grad_()
        return torch.autograd.grad(f(xt), xt)[0].numpy()

    def hess(x):
        return torch.autograd.functional.hessian(f, torch.from_numpy(x), vectorize=True).numpy()

    r = minimize(lambda x: f(torch.from_numpy(x)).item(), np.zeros(n * (m - 1)), jac=jac, hess=hess,
                 method="trust-exact", options={"gtol": 1e-13})
    bound = np.linalg.norm(jac(r.x)) / np.linalg.eigvalsh(hess(r.x))[0]
    return torch.cat([torch.from_numpy(r.x).view(n, m - 1), pad], 1), float(bound)


T4 = torch.from_numpy(rng.dirichlet(np.ones(3), size=4))  # n = 4 tasks, m = 3 classes
S3_opt, err3 = minimise(nm_loss_centered, T4)
S1_opt, err1 = minimise(nm_loss_truncated, T4)
ch.claim("l3-optimum-softmax", (S3_opt.softmax(-1) - T4).abs().max(), at_most=2 * err3,
         why="2x the solver's first-order error bound (see text)",
         statement="the minimiser of l3 satisfies softmax(S*) = T")
err_softmax = float((S1_opt.softmax(-1) - T4).abs().max())
err_softmax2 = float((S1_opt.mul(2).softmax(-1) - T4).abs().max())
best_beta = minimize_scalar(lambda beta: float((S1_opt.mul(beta).softmax(-1) - T4).abs().max()),
                            bounds=(0.1, 10.0), method="bounded", options={"xatol": 1e-8})
for name, value, what in (("l1-not-softmax", err_softmax, "softmax(S*) != T"),
                          ("l1-not-softmax2", err_softmax2, "softmax(2 S*) != T"),
                          ("l1-no-temperature", best_beta.fun, "softmax(beta S*) != T for every beta in [0.1, 10]")):
    ch.claim(name, value, at_least=0.01,
             why=f"T = softmax(beta S*) would make this <= 2x the solver bound ({2 * err1:.0e})",
             statement=f"at the minimiser of l1, {what}")
ch.measured("l1-best-beta", float(best_beta.x), why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")
ch.measured("l1-solver-bound", 2 * err1, why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% [markdown]
# For $l_3$ the numerical minimiser reproduces $T$ through the softmax to
# {glue:text}`l3-optimum-softmax:.0e`. For $l_1$, $\mathrm{softmax}(S^\star)$ misses $T$ by up to
# {glue:text}`l1-not-softmax:.3f`, $\mathrm{softmax}(2S^\star)$ by {glue:text}`l1-not-softmax2:.3f`,
# and the best single temperature ($\beta=$ {glue:text}`l1-best-beta:.2f`) still by
# {glue:text}`l1-no-temperature:.3f` — against a solver accuracy of
# {glue:text}`l1-solver-bound:.0e`. The reason no row-wise formula can work: the optimal logits of a
# task depend on the *other* tasks' labels. Change the labels of tasks 2–4 and keep task 1's:

# %%
T4b = T4.clone()
T4b[1:] = torch.from_numpy(rng.dirichlet(np.ones(3), size=3))
S1_b, err1_b = minimise(nm_loss_truncated, T4b)
S3_b, err3_b = minimise(nm_loss_centered, T4b)
ch.claim("l1-coupled", (S1_b[0] - S1_opt[0]).abs().max(), at_least=0.01,
         why=f"a row-wise optimum would leave task 1's logits fixed up to the solver bounds (~{err1 + err1_b:.0e})",
         statement="the l1 optimum of task 1 moves when only the other tasks' labels change")
ch.claim("l3-decoupled", (S3_b[0] - S3_opt[0]).abs().max(), at_most=err3 + err3_b,
         why="sum of the two solver error bounds", statement="the l3 optimum of task 1 does not move")


# %% [markdown]
# Task 1's optimal logits under $l_1$ move by {glue:text}`l1-coupled:.3f`; under $l_3$ by
# {glue:text}`l3-decoupled:.0e`. A loss whose optimum for one task depends on the labels of the
# others cannot have an optimum of the form $t_i=g(s_i)$ with $g$ one-to-one up to shifts.
#
# ## 5. What the optimum of $l_1$ is (our analysis)
#
# The article stops at "no explicit solution". The stationarity conditions can be pushed further.
# Write $p_{ij}=\mathrm{softmax}(s_i)_j$ and $w_j=1/D_j$. With $e^{s_{ij}}=p_{ij}E_i$,
# $E_i=\sum_ke^{s_{ik}}$, setting {eq}`eq-nm-multiclass-attempt-grad` to zero and moving the
# $h=j$ term across gives $w_jt_{ij}/p_{ij}=p_{ij}\sum_hw_ht_{ih}/p_{ih}$, that is
#
# $$
# \frac{w_j\,t_{ij}}{p_{ij}^2}=c_i\quad\text{for every class }j
# \qquad\Longleftrightarrow\qquad
# \mathrm{softmax}(2s_i)_j=\frac{w_j\,t_{ij}}{\sum_kw_kt_{ik}} .
# $$ (eq-nm-multiclass-attempt-reweighted)
#
# So $\mathrm{softmax}(2S^\star)$ is $T$ with the classes reweighted by $w_j=1/D_j$. The weights
# depend on the optimum, but only through $m$ numbers: with $v_j=\sqrt{w_j}$,
# $p_{ij}=v_j\sqrt{t_{ij}}/\sum_kv_k\sqrt{t_{ik}}$, and
# $D_j=1+\sum_it_{ij}(1/p_{ij}-1)$ becomes
#
# $$
# (1-N_j)\,v_j^2+v_j\,(Gv)_j=1,\qquad N_j=\sum_it_{ij},\quad G_{jk}=\sum_i\sqrt{t_{ij}t_{ik}},
# $$ (eq-nm-multiclass-attempt-v)
#
# $m$ coupled quadratics, with minimum value $l_1^\star=\sum_j\log D_j=-2\sum_j\log v_j$. Because
# $l_1$ is convex, any positive solution gives the minimiser. Equal weights $v_j\equiv v$ solve
# {eq}`eq-nm-multiclass-attempt-v` iff $1+o_j$ is the same for every $j$, where
# $o_j=\sum_{k\ne j}G_{jk}$ (use $G_{jj}=N_j$). For $m=2$, $o_1=o_2=\sum_i\sqrt{t_i(1-t_i)}$
# always: the weights are equal, $\mathrm{softmax}(2S^\star)=T$, and $v^2=1/(1+\sum_i\sqrt{t_i(1-t_i)})$
# reproduces the soft-label loss's minimum $2\log(1+\sum_i\sqrt{t_i(1-t_i)})$. For $m\ge3$ the
# overlaps generically differ, and so do the weights. We check each statement on the numerical
# optimum, solving {eq}`eq-nm-multiclass-attempt-v` from $T$ alone with scipy's `root`:

# %%
def class_weights(T):
    """Solve Eq. (eq-nm-multiclass-attempt-v) for v > 0; returns w = v^2."""
    R = T.sqrt().numpy()
    G, N = R.T @ R, T.sum(0).numpy()
    sol = root(lambda v: (1 - N) * v**2 + v * (G @ v) - 1, np.full(T.shape[1], 0.5), tol=1e-14)
    return torch.from_numpy(sol.x**2), float(np.abs((1 - N) * sol.x**2 + sol.x * (G @ sol.x) - 1).max())


def reweighted(T, w):
    return w * T / (w * T).sum(-1, keepdim=True)


p1 = S1_opt.softmax(-1)
e1 = S1_opt.exp()
w_direct = 1 / (1 + (T4 * (e1.sum(-1, keepdim=True) - e1) / e1).sum(0))  # w_j = 1 / D_j at S*
c_rows = w_direct * T4 / p1**2
ch.claim("c-constant", ((c_rows.amax(-1) - c_rows.amin(-1)) / c_rows.mean(-1)).max(), at_most=16 * err1,
         why="log p moves by <= 2 err per entry, so log(w t / p^2) by <= 6 err and a spread by <= 12 err; "
         "rounded up to 16 err (err = solver bound)",
         statement="w_j t_ij / p_ij^2 is the same for every class j (Eq. eq-nm-multiclass-attempt-reweighted)")
w4, resid4 = class_weights(T4)
ch.claim("v-system-optimum", (reweighted(T4, w4) - S1_opt.mul(2).softmax(-1)).abs().max(), at_most=2 * err1,
         why="2x the Newton solver bound; the quadratic system is solved to a residual of ~1e-16",
         statement="softmax(2S*) of the minimiser = T reweighted by w from Eq. (eq-nm-multiclass-attempt-v)")
ch.claim("v-system-minimum", nm_loss_truncated(S1_opt, T4), equals=-w4.log().sum(), rtol=1e-12,
         why="at a minimum the loss is second-order in the logit error (~1e-16 relative); float64 rounding",
         statement="min l1 = -2 sum log v_j")
ch.measured("w-ratio", float(w4.max() / w4.min()), why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% [markdown]
# The minimiser found by Newton's method and the one read off {eq}`eq-nm-multiclass-attempt-v`
# agree to {glue:text}`v-system-optimum:.0e`, and the class weights differ by a factor
# {glue:text}`w-ratio:.2f`. Two cases with equal overlaps: $m=2$ with random labels, and a
# three-class example whose rows are the cyclic shifts of $(0.6,0.3,0.1)$:

# %%
T2r = torch.from_numpy(rng.dirichlet(np.ones(2), size=5))
w2, _ = class_weights(T2r)
ch.claim("m2-equal-weights", (w2[0] / w2[1] - 1).abs(), at_most=1e-12, why="root solved to 1e-14; float64",
         statement="m = 2: the class weights are equal")
ch.claim("m2-minimum", -w2.log().sum(), equals=2 * math.log1p((T2r[:, 0] * T2r[:, 1]).sqrt().sum()), rtol=1e-12,
         why="float64 rounding", statement="m = 2: min l1 = 2 log(1 + sum sqrt(t(1 - t))), the soft-label result")
T_cyc = torch.stack([torch.tensor([0.6, 0.3, 0.1], dtype=F64).roll(k) for k in range(3)])
S_cyc, err_cyc = minimise(nm_loss_truncated, T_cyc)
ch.claim("cyclic-softmax2", (S_cyc.mul(2).softmax(-1) - T_cyc).abs().max(), at_most=2 * err_cyc,
         why="2x the solver's first-order error bound",
         statement="equal overlaps (cyclic labels, m = 3): softmax(2S*) = T exactly")

# %% mystnb={"figure": {"caption": "Soft-label optima for $n=20$ tasks of $m=4$ classes with random labels. Left, the centred loss $l_3$ recovers the labels through $\\mathrm{softmax}(S^\\star)$, while the truncated loss $l_1$ read through $\\mathrm{softmax}(2S^\\star)$ scatters around the diagonal. Right, the same $l_1$ predictions against the labels reweighted by the class weights of section 5, computed from $T$ alone.", "name": "fig-nm-multiclass-attempt-optima"}}
T20 = torch.from_numpy(rng.dirichlet(np.ones(4), size=20))
S20_1, err20_1 = minimise(nm_loss_truncated, T20)
S20_3, err20_3 = minimise(nm_loss_centered, T20)
w20, _ = class_weights(T20)
ch.claim("n20-v-system", (reweighted(T20, w20) - S20_1.mul(2).softmax(-1)).abs().max(), at_most=2 * err20_1,
         why="2x the solver's first-order error bound", statement="the reweighting holds for n = 20, m = 4 as well")
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.8), sharey=True)
axes[0].scatter(T20.flatten(), S20_3.softmax(-1).flatten(), s=14, label=r"$l_3$: softmax$(S^\star)$")
axes[0].scatter(T20.flatten(), S20_1.mul(2).softmax(-1).flatten(), s=14, marker="x",
                label=r"$l_1$: softmax$(2S^\star)$")
axes[0].set_xlabel(r"label $t_{ij}$")
axes[0].set_ylabel("probability read off the optimal logits")
axes[1].scatter(reweighted(T20, w20).flatten(), S20_1.mul(2).softmax(-1).flatten(), s=14, marker="x", color="C1")
axes[1].set_xlabel(r"reweighted label $w_jt_{ij}/\sum_k w_kt_{ik}$")
for ax in axes:
    ax.plot([0, 1], [0, 1], "k:", lw=1)
axes[0].legend(loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# This is an explanation, not a rescue: the weights solve $m$ coupled quadratics that depend on
# every task's labels, so reading probabilities off $l_1$'s logits needs all of $T$ — which is what
# one wants to predict.
#
# ## 6. Reverse-engineering the optimum: the centred loss
#
# The article's second attempt starts from the shape both losses share,
# $l=\sum_j\log\bigl(1+\sum_it_{ij}e^{-f(s_{ij})}\bigr)$, and asks which $f$ makes
# $t_{ij}=e^{f(s_{ij})}/Z_i$ stationary. Substituting that $T$ turns every $t_{ij}e^{-f(s_{ij})}$
# into $1/Z_i$, the same for every class, so
#
# $$
# \frac{\partial l}{\partial s_{ik}}=-\frac{1/Z_i}{1+\sum_{i'}1/Z_{i'}}\;
# \frac{\partial}{\partial s_{ik}}\sum_jf(s_{ij}),
# $$
#
# which vanishes when $\sum_jf(s_{ij})$ does not depend on $s_i$. The simplest choice is
# $f(s_{ij})=s_{ij}-\bar s_i$ with $\bar s_i=\frac1m\sum_js_{ij}$:
#
# $$
# l_3=\sum_{j=1}^m\log\Bigl(1+\sum_{i=1}^nt_{ij}\,e^{\bar s_i-s_{ij}}\Bigr),
# \qquad\text{stationary at } T=\mathrm{softmax}(S).
# $$ (eq-nm-multiclass-attempt-l3)
#
# SymPy differentiates $l_3$ for $n=2$, $m=3$ and substitutes $t_{ij}=\mathrm{softmax}(s_i)_j$:

# %%
S_sym = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"s{i}{j}", real=True))
T_sym = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"t{i}{j}", positive=True))
sbar = [sum(S_sym.row(i)) / 3 for i in range(2)]
l3_sym = sum(sp.log(1 + sum(T_sym[i, j] * sp.exp(sbar[i] - S_sym[i, j]) for i in range(2))) for j in range(3))
at_softmax = {T_sym[i, j]: sp.exp(S_sym[i, j]) / sum(sp.exp(S_sym[i, k]) for k in range(3))
              for i in range(2) for j in range(3)}
grads_zero = all(sp.simplify(sp.diff(l3_sym, v).subs(at_softmax)) == 0 for v in S_sym)
ch.claim("sympy-l3-stationary", grads_zero, equals=True, why="exact symbolic algebra",
         statement="every partial derivative of l3 vanishes at T = softmax(S) (n = 2, m = 3)")
ch.source_number("0", where="§Working backwards: sum_j f(s_ij) = 0 for f = s_ij - mean_i, so the gradient "
                 "vanishes at T = softmax(S)", fate="reproduced", claim="sympy-l3-stationary")

# %% [markdown]
# Section 4 confirmed numerically that this stationary point is the minimiser.
#
# ```{literalinclude} /lib/losses/nm.py
# :pyobject: nm_loss_centered
# ```
#
# ## 7. Hard labels: where the centred loss fails
#
# With a one-hot row, $l_3$ only sees $s_{ij}-\bar s_i$ for the target $j$: it asks the target to
# beat the row *mean*, not the row *maximum*. Take one task with logits $(10,5,-5)$ and target
# class 2 (the middle one): the target is above the mean $10/3$ but below the first logit. Scaling
# the logits by $c$ drives $l_3$ to 0 with the arg-max still wrong, while $l_1$ grows like $5c$.
# In general $l_1\ge\log(1+e^{s_{ik}-s_{ij}})\ge\log2$ as soon as some task $i$ of class $j$ has a
# competitor $k$ with $s_{ik}\ge s_{ij}$, so $l_1<\log2$ certifies that every task is right;
# nothing of the sort holds for $l_3$.

# %%
s_row = torch.tensor([[10.0, 5.0, -5.0]], dtype=F64)
t_row = torch.tensor([[0.0, 1.0, 0.0]], dtype=F64)
scales = [1, 2, 5, 10]
l3_scaled = [float(nm_loss_centered(c * s_row, t_row)) for c in scales]
l1_scaled = [float(nm_loss_truncated(c * s_row, t_row)) for c in scales]
ch.claim("hard-l3-c1", l3_scaled[0], equals=math.log1p(math.exp(10 / 3 - 5)), rtol=1e-14,
         why="float64 rounding", statement="l3 = log(1 + e^{mean - s_target}) although the arg-max is wrong")
ch.claim("hard-l3-c10", l3_scaled[-1], equals=math.log1p(math.exp(10 * (10 / 3 - 5))), rtol=1e-12,
         why="float64 rounding", statement="at scale 10, l3 is tiny with the arg-max still wrong")
ch.claim("hard-l1-grows", min(b - a for a, b in zip(l1_scaled, l1_scaled[1:], strict=False)), at_least=0.0,
         why="exact monotonicity: every term e^{c(s_k - s_target)} with s_k > s_target grows with c",
         statement="l1 increases along the same scaling")
has_error = (S_rand.argmax(-1) != T_hard.argmax(-1)).any(-1)
ch.claim("hard-l1-certificate", nm_loss_truncated(S_rand, T_hard)[has_error].min(), at_least=math.log(2),
         rtol=1e-15, why="exact bound log 2; float64 rounding",
         statement="every random draw (section 1) with a misclassified task has l1 >= log 2")
ch.measured("hard-l1-c10", l1_scaled[-1], why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% [markdown]
# $l_3$ is {glue:text}`hard-l3-c1:.3f` at scale 1 and {glue:text}`hard-l3-c10:.1e` at scale 10,
# while $l_1$ reaches {glue:text}`hard-l1-c10:.1f`. Does this matter in training, where one set of
# weights must serve all tasks? A linear classifier on 2-d inputs with three classes: $A$ and $B$
# are unit Gaussians centred at $(\mp0.5,0)$ — heavily overlapping, Bayes accuracy between them
# $\Phi(0.5)=$ {glue:text}`bayes-ab:.3f` — and $C$ sits far away at $(0,6)$. Every task of $A$ or
# $B$ can reach a large margin over the *mean* simply by pushing $C$'s logit down, which does
# nothing to separate $A$ from $B$. A training example is a group of $n=10$ tasks (the loss is
# defined per group, as the multi-label loss is per input); 60 groups, the loss averaged over
# them, full batch, Adam with learning rate 0.5, 400 steps. The same model is trained with $l_1$,
# $l_3$ and the softmax cross-entropy, each from three independent draws of the data (stacked
# along a leading axis and trained in one loop), and we track the held-out accuracy on the $A$/$B$
# points.

# %%
centres = torch.tensor([[-0.5, 0.0], [0.5, 0.0], [0.0, 6.0]], dtype=F64)
runs, groups, n_tasks, steps = 3, 60, 10, 400


def make_tasks(shape):
    y = torch.randint(0, 3, shape, generator=gen)
    return centres[y] + torch.randn(*shape, 2, dtype=F64, generator=gen), y


x_tr, y_tr = make_tasks((runs, groups, n_tasks))
x_te, y_te = make_tasks((runs, 6000))
T_tr = torch.nn.functional.one_hot(y_tr, 3).to(F64)
ab = y_te < 2  # held-out points of the confusable pair


def softmax_ce(S, T):
    return -(T * S.log_softmax(-1)).sum((-1, -2))


def ab_accuracy(correct):
    return torch.stack([correct[r][ab[r]].double().mean() for r in range(runs)])


eval_steps = list(range(0, steps + 1, 20))
curves, loss_curves, final_correct = {}, {}, {}
for name, loss_fn in (("cross-entropy", softmax_ce), ("l1", nm_loss_truncated), ("l3", nm_loss_centered)):
    W = torch.zeros(runs, 1, 2, 3, dtype=F64, requires_grad=True)
    bias = torch.zeros(runs, 1, 1, 3, dtype=F64, requires_grad=True)
    opt = torch.optim.Adam([W, bias], lr=0.5)
    accs, losses = [], []
    for step in range(steps + 1):
        if step in eval_steps:
            with torch.no_grad():
                correct = (x_te @ W[:, 0] + bias[:, 0]).argmax(-1) == y_te
            accs.append(ab_accuracy(correct))
        loss = loss_fn(x_tr @ W + bias, T_tr).mean(-1)  # one value per run
        losses.append(loss.detach())
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    curves[name], loss_curves[name], final_correct[name] = torch.stack(accs), torch.stack(losses), correct

# %%
n_ab = ab.sum(-1).double()
bayes = 0.5 * (1 + math.erf(0.5 / math.sqrt(2)))  # Phi(0.5)
se_acc = (bayes * (1 - bayes) / n_ab).sqrt()  # per run
ch.claim("train-ce-bayes", ((curves["cross-entropy"][-1] - bayes) / se_acc).abs().max(), at_most=4.0,
         why="binomial standard error on the held-out A/B points, 4 sigma (C's density near A/B is negligible)",
         statement="cross-entropy reaches the Bayes accuracy between A and B (every run)")
ch.claim("train-l1-like-ce", ((curves["l1"][-1] - curves["cross-entropy"][-1]) / se_acc).abs().max(), at_most=2.0,
         why="the two boundaries differ by less than 2 standard errors of either accuracy",
         statement="l1 ends as accurate as cross-entropy (every run)")
gap_z = [float(z_score((final_correct["cross-entropy"][r].double()
                         - final_correct["l3"][r].double())[ab[r]])) for r in range(runs)]
ch.claim("train-l3-gap-z", min(gap_z), at_least=4.0,
         why="4 standard errors of the paired difference on the same held-out points",
         statement="after training, l3 is less accurate than cross-entropy on the confusable pair (every run)")
peak_step = torch.tensor(eval_steps)[curves["l3"].argmax(0)]  # per run: step of best A/B accuracy
loss_at_peak = loss_curves["l3"][peak_step, torch.arange(runs)]
ch.claim("train-l3-loss-ratio", (loss_curves["l3"][-1] / loss_at_peak).max(), at_most=1.0,
         why="exact comparison: a value below 1 means the loss is still lower at the end than at the peak",
         statement="after its accuracy peak, l3's training loss keeps falling (every run)")
ch.claim("train-l3-acc-drop", ((curves["l3"].amax(0) - curves["l3"][-1]) / (math.sqrt(2) * se_acc)).min(), at_least=4.0,
         why="4 standard errors of a difference of two held-out accuracies (unpaired, conservative)",
         statement="every run's l3 accuracy falls well below its own best value")
ch.measured("bayes-ab", bayes, why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")
for name in curves:
    ch.measured(f"train-final-{name}", float(curves[name][-1].mean()), why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")
ch.measured("train-peak-l3", float(curves["l3"].amax(0).mean()), why="descriptive: quoted in the text; the comparison it illustrates is checked by the claims")

# %% mystnb={"figure": {"caption": "Hard labels, linear model, three classes of which $A$ and $B$ overlap; three runs per loss. Left, held-out accuracy on the $A$/$B$ points (dotted, the Bayes accuracy); right, training loss relative to its value at step 0. The centred loss $l_3$ keeps lowering its loss by making $C$'s logit very negative, while its accuracy on $A$ versus $B$ decays.", "name": "fig-nm-multiclass-attempt-training"}}
fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4))
for name, colour in (("cross-entropy", "C0"), ("l1", "C2"), ("l3", "C1")):
    label = name if name == "cross-entropy" else f"${name[0]}_{name[1]}$"
    for r in range(runs):
        axes[0].plot(eval_steps, curves[name][:, r], color=colour, lw=1.2, label=label if r == 0 else None)
        axes[1].semilogy(loss_curves[name][:, r] / loss_curves[name][0, r], color=colour, lw=1.2,
                         label=label if r == 0 else None)
axes[0].axhline(bayes, color="k", ls=":", lw=1)
axes[0].set_xlabel("step")
axes[0].set_ylabel("held-out accuracy, A vs B")
axes[1].set_xlabel("step")
axes[1].set_ylabel("training loss / initial")
axes[0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Averaged over the three runs, cross-entropy ends at {glue:text}`train-final-cross-entropy:.3f` on
# the $A$/$B$ points (Bayes: {glue:text}`bayes-ab:.3f`) and $l_1$ at
# {glue:text}`train-final-l1:.3f`, while $l_3$ ends at {glue:text}`train-final-l3:.3f`, down from a
# best of {glue:text}`train-peak-l3:.3f`, while its training loss kept falling (to at most
# {glue:text}`train-l3-loss-ratio:.2f` of its value at the accuracy peak). How far it falls depends
# on the run and on how long one trains: nothing in $l_3$ stops the drift. The article's
# recommendation stands: $l_1$ for hard labels; for soft labels, nothing.
#
# ## Where the article is imprecise
#
# 1. *"For $m=2$ both losses reduce to the multi-label cross-entropy."* True for $l_1$ with the
#    score $z=s_{i1}-s_{i2}$; $l_3$ reduces to it with the score $z/2$,
#    {eq}`eq-nm-multiclass-attempt-m2`. Logits have no fixed scale, so this is a precision rather
#    than an error (section 3 records the statement as reproduced), but it matters when reading
#    probabilities: the calibrated one is $\sigma(z)$ under $l_3$, not the $\sigma(2z)$ of the
#    multi-label loss in $z$. At the unhalved score the two losses differ by an amount of order one:

# %%
gap_unhalved = float((nm_loss_centered(S2, T2) - soft_multilabel_ce(z2[None], t2[None], reduction="sum")).abs())
ch.claim("m2-l3-unhalved-gap", gap_unhalved, at_least=0.1,
         why="were the two losses equal at the same score, this would be a float64 rounding error (~1e-15)",
         statement="for m = 2, l3 differs from L_soft(s1 - s2; t): the reduction needs the halved score")

# %% [markdown]
# 2. The gradient formula reuses $i$ for the task being differentiated and for the summation over
#    tasks in the denominator; read literally it is wrong, read as {eq}`eq-nm-multiclass-attempt-grad`
#    (denominators summed over all tasks $i'$) it is right, as checked above.
# 3. *"No analytic solution."* There is no closed form in general, but the problem is smaller than
#    it looks: the $nm$ stationarity equations reduce to the $m$ quadratics
#    {eq}`eq-nm-multiclass-attempt-v`, and when the class overlaps balance (always for $m=2$) the
#    solution is exactly $\mathrm{softmax}(2S)=T$. This refines the article's verdict without
#    overturning it.
#
# None of these is an error that a claim could refute, so no claim here is marked as an erratum.
#
# **The numbers the article prints.** We went through every sentence and equation of the article;
# it reports no experiment. Its numerals with content are the case $m=2$ in which both losses
# reduce to the multi-label loss (section 3) and the constant value 0 of $\sum_jf(s_{ij})$ that
# makes $\mathrm{softmax}(S)$ the optimum of $l_3$ (section 6); the ranges $1\sim n$, $1\sim m$ of
# its indices are notation.
#
# ## Claims

# %%
ch.table();
