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
#     date: '2014-10-24'
#     id: 2996
#     paper: Stillwell (2010), Mathematics and Its History (the source the article credits)
#     title: "Starting from Fermat's Last Theorem (11): Rational Points and the Chord\u2013\
#       Tangent Method"
#     title_zh: "\u4ECE\u8D39\u9A6C\u5927\u5B9A\u7406\u8C08\u8D77\uFF08\u5341\u4E00\uFF09\
#       \uFF1A\u6709\u7406\u70B9\u4E0E\u5207\u5272\u7EBF\u6CD5"
#     url: https://kexue.fm/archives/2996
# ---

# %% [markdown]
# (ch-rational-points)=
# # Rational points by chord and tangent
#
# Given one rational point on a curve with rational coefficients, how do we find more? Draw a
# line through it with rational slope. The intersections are the roots of a polynomial with
# rational coefficients, and when all roots but one are rational, Vieta's formula makes the last
# one rational too. On a conic one point yields *all* rational points, one per slope (the unit
# circle gives every Pythagorean triple). On a cubic a chord through two points, or the tangent at
# one, yields a new point, and after a reflection this "chord–tangent" construction becomes the
# addition of a group. We check the algebra with SymPy and every point in exact rational
# arithmetic (`fractions`, never a float), verify the group laws exhaustively on a rank-two curve,
# compute orders of points, and measure how doubling a point multiplies its digits by four.
#
# :::{prf:theorem} The secant and chord–tangent methods
# :label: thm-rational-points
# 1. Let $F(x,y)=0$ be a nondegenerate conic with rational coefficients and $P$ a rational point
#    of it. For rational $t$ the line through $P$ of slope $t$ (and the vertical line) meets the
#    conic a second time in a rational point or at infinity, and every rational point $Q\neq P$
#    of the conic arises in this way from exactly one slope.
# 2. For $x^2+y^2=1$ and $P=(-1,0)$ the second point is
#    $\bigl(\tfrac{1-t^2}{1+t^2},\tfrac{2t}{1+t^2}\bigr)$; with $t=p/q$, $q>p\ge1$ coprime of
#    opposite parity, $(q^2-p^2,\,2pq,\,q^2+p^2)$ runs exactly once through the primitive
#    Pythagorean triples (legs in either order).
# 3. Let $F(x,y)=0$ be a cubic with rational coefficients. The line through two rational points
#    of it meets it a third time (counting multiplicity) in a rational point or at infinity; so
#    does the tangent at a rational point where $\nabla F\neq0$.
# 4. On $E:\ y^2=x^3+ax+b$ with $4a^3+27b^2\neq0$, the third point $(x_3,y_3)$ of the line through
#    $P=(x_1,y_1)$ and $Q=(x_2,y_2)$ has $x_3=\lambda^2-x_1-x_2$, $y_3=y_1+\lambda(x_3-x_1)$, with
#    $\lambda$ the chord's slope, or $(3x_1^2+a)/(2y_1)$ for the tangent. $P+Q=(x_3,-y_3)$, with
#    the point at infinity $O$ as identity, makes $E(\mathbb Q)$ an abelian group.
# :::
#
# The article {cite}`2996-su-rational-points` introduces the technique following Stillwell's
# *Mathematics and Its History* {cite}`2996-stillwell-history`; the elliptic-curve facts below are
# textbook material {cite}`2996-silverman-tate`. Only the article's introduction was available, so
# the derivations are the standard mathematics of the method, not a retelling of the article's.

# %% tags=["hide-input"]
import math
from fractions import Fraction as Fr
from itertools import product

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from lib.book import Chapter, show_table
from lib.numbertheory import (
    conic_secant_point,
    cubic_third_point,
    duplication_error_bounds,
    duplication_forms,
    ec_add,
    ec_double,
    ec_mul,
    ec_order,
    naive_height,
    plot_chord_tangent,
    plot_circle_secants,
    pythagorean_triples,
    torsion_candidates,
)

ch = Chapter("rational-points", seed=2996)
x, y, s, t = sp.symbols("x y s t")
neg = lambda P: None if P is None else (P[0], -P[1])  # -P on a Weierstrass curve; -O = O

# %% [markdown]
# ## 1. The secant method on a conic
#
# **Step 1 (a line through a known point).** Let $P$ lie on the conic $F=0$ and take the direction
# $d=(1,t)$ (slope $t$) or $d=(0,1)$ (vertical). $F$ has degree two, so its expansion around $P$
# stops at the quadratic part $F_2$:
#
# $$
# \begin{gathered}
# F(P+sd) = F(P) + s\,\nabla F(P)\cdot d + s^2\,F_2(d) = s\,(B + A s),\\
# B=\nabla F(P)\cdot d,\qquad A=F_2(d).
# \end{gathered}
# $$ (eq-rational-points-restrict)
#
# The root $s=0$ is $P$; the other is
#
# $$
# s^\ast = -\frac{B}{A}, \qquad Q = P + s^\ast d ,
# $$ (eq-rational-points-conic)
#
# rational when $P$ and $t$ are. $B=0$: the line is the tangent and $Q=P$; $A=0\neq B$: it is
# parallel to an asymptote and $Q$ is at infinity. Conversely, a rational $Q\neq P$ lies on the
# line through $P$ of rational slope $(y_Q-y_P)/(x_Q-x_P)$ (or the vertical one), which meets the
# conic only at $P$ and $Q$: the bijection of part 1 of {prf:ref}`thm-rational-points`.

# %%
cs = sp.symbols("c0:6")
px, py, dx, dy = sp.symbols("p_x p_y d_x d_y")
conic = lambda u, v: cs[0]*u**2 + cs[1]*u*v + cs[2]*v**2 + cs[3]*u + cs[4]*v + cs[5]
c_s = sp.Poly(sp.expand(conic(px + s*dx, py + s*dy) - conic(px, py)), s)
grad_d = (sp.diff(conic(x, y), x)*dx + sp.diff(conic(x, y), y)*dy).subs({x: px, y: py})
F2_d = cs[0]*dx**2 + cs[1]*dx*dy + cs[2]*dy**2
ok = (c_s.degree() == 2 and c_s.coeff_monomial(1) == 0
      and sp.expand(c_s.coeff_monomial(s) - grad_d) == 0
      and sp.expand(c_s.coeff_monomial(s**2) - F2_d) == 0)
ch.claim("restrict-sympy", ok, equals=True, why="exact symbolic expansion",
         statement="Eq. (eq-rational-points-restrict), general conic")

# %% [markdown]
# `conic_secant_point` is {eq}`eq-rational-points-conic` in `Fraction` arithmetic (`None` is the
# point at infinity); its code and that of the cubic case below are in the fold.
#
# :::{admonition} Full code: `conic_secant_point`, `cubic_third_point`
# :class: dropdown
# ```{literalinclude} /lib/numbertheory/rational_points.py
# :pyobject: conic_secant_point
# ```
# ```{literalinclude} /lib/numbertheory/rational_points.py
# :pyobject: cubic_third_point
# ```
# :::
#
# **Step 2 (the unit circle).** For $x^2+y^2=1$ and $P=(-1,0)$, substituting $y=t(x+1)$ gives
# $(1+t^2)x^2+2t^2x+t^2-1=0$. One root is $x=-1$ and the product of the roots is
# $(t^2-1)/(1+t^2)$, so by Vieta
#
# $$
# (x,y) = \Bigl(\frac{1-t^2}{1+t^2},\ \frac{2t}{1+t^2}\Bigr).
# $$ (eq-rational-points-circle)

# %%
X, Y = (1 - t**2)/(1 + t**2), 2*t/(1 + t**2)
roots = sp.solve(sp.expand(x**2 + (t*(x + 1))**2 - 1), x)
other = [r for r in roots if r != -1]
ch.claim("circle-roots-sympy", len(roots) == 2 and len(other) == 1
         and sp.simplify(other[0] - X) == 0, equals=True, why="exact symbolic root finding",
         statement="the roots of (1 + t^2) x^2 + 2t^2 x + t^2 - 1")
ch.claim("circle-identity-sympy", sp.simplify(X**2 + Y**2 - 1) == 0, equals=True,
         why="exact symbolic simplification",
         statement="Eq. (eq-rational-points-circle) lies on the circle")

# %% [markdown]
# The library on many slopes, and the converse by brute force: each rational point with
# denominator at most 100 (from $a^2+b^2=c^2$) must come back from its slope $y/(x+1)$.

# %%
circle = lambda u, v: u**2 + v**2 - 1
slopes = {Fr(p, q) for p in range(-30, 31) for q in range(1, 31)}
formula = lambda tv: ((1 - tv*tv)/(1 + tv*tv), 2*tv/(1 + tv*tv))
bad_forward = sum(conic_secant_point(circle, (-1, 0), tv) != formula(tv) for tv in slopes)
points = set()  # all (a/c, b/c) with a^2 + b^2 = c^2, c <= 100, both signs
for c in range(1, 101):
    for a in range(-c, c + 1):
        b = math.isqrt(c*c - a*a)
        if a*a + b*b == c*c:
            points |= {(Fr(a, c), Fr(b, c)), (Fr(a, c), Fr(-b, c))}
slope_of = lambda X0, Y0: None if X0 == -1 else Y0/(X0 + 1)
bad_back = sum(conic_secant_point(circle, (-1, 0), slope_of(*pt)) != pt for pt in points)
ch.claim("circle-forward-mismatches", bad_forward, equals=0, why="exact rational arithmetic",
         statement="conic_secant_point = Eq. (eq-rational-points-circle), |p|, q <= 30")
ch.measured("circle-points-found", len(points), why="descriptive: size of the brute-force set")
ch.claim("circle-converse-mismatches", bad_back, equals=0, why="exact rational arithmetic",
         statement="each rational point (denominator <= 100) comes from its slope y/(x+1)")

# %% [markdown]
# All {glue:text}`circle-points-found:d` such points ($P$ itself from the vertical tangent) come
# back from their slopes, with {glue:text}`circle-converse-mismatches:d` mismatches.
#
# **Step 3 (Pythagorean triples).** Put $t=p/q$ in {eq}`eq-rational-points-circle` and clear the
# denominator $q^2+p^2$:
#
# $$
# \begin{gathered}
# (a,b,c) = (q^2-p^2,\ 2pq,\ q^2+p^2),\\
# q>p\ge1,\quad \gcd(p,q)=1,\quad p\not\equiv q \pmod 2 .
# \end{gathered}
# $$ (eq-rational-points-triples)
#
# If $p,q$ are both odd all entries are even; with opposite parity a prime dividing $a$ and $c$
# would divide $2q^2$ and $2p^2$, excluded by coprimality and odd $c$. Completeness is Step 1's
# converse: a primitive triple gives the point $(a/c,b/c)$ or $(b/c,a/c)$, hence a slope $p/q$ of
# this kind. `pythagorean_triples` runs over such $p,q$; the reference tests every leg instead.

# %%
p_, q_ = sp.symbols("p q")
ch.claim("triple-identity-sympy", sp.expand((q_**2 - p_**2)**2 + (2*p_*q_)**2 - (q_**2 + p_**2)**2)
         == 0, equals=True, why="exact symbolic expansion",
         statement="Eq. (eq-rational-points-triples) is Pythagorean")


def brute_force_triples(cmax):
    """Primitive (a, b, c), a < b, c <= cmax: test every leg (exact int64)."""
    found = set()
    for c in range(5, cmax + 1):
        a = np.arange(1, c, dtype=np.int64)
        b = np.rint(np.sqrt(c*c - a*a)).astype(np.int64)
        keep = (a*a + b*b == c*c) & (a < b) & (np.gcd(a, b) == 1)
        found |= {(int(u), int(v), c) for u, v in zip(a[keep], b[keep], strict=True)}
    return found


for cmax in (100, 2000):
    gen, brute = pythagorean_triples(cmax), brute_force_triples(cmax)
    ch.claim(f"triples-equal-brute-{cmax}", set(gen) == brute and len(gen) == len(brute),
             equals=True, why="exact integer sets",
             statement=f"generator = brute force, no repeats, c <= {cmax}")
    ch.measured(f"n-triples-{cmax}", len(gen), why="descriptive: checked by the set equality")
ch.claim("n-triples-100-known", len(pythagorean_triples(100)), equals=16,
         why="exact; the count in OEIS A020882 (primitive hypotenuses)",
         statement="16 primitive triples have c <= 100")

# %% [markdown]
# Generator and brute force agree exactly: {glue:text}`n-triples-100:d` primitive triples with
# hypotenuse at most 100, {glue:text}`n-triples-2000:d` up to 2000, none repeated.

# %% mystnb={"figure": {"caption": "The secant method on the unit circle. Lines through $P=(-1,0)$ with rational slope $t$ (colored) meet the circle again in rational points; the dots are all rational points with denominator at most 25.", "name": "fig-rational-points-circle"}} tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6, 4.6))
plot_circle_secants(ax, [pt for pt in points if pt[0].denominator <= 25],
                    [Fr(1, 3), Fr(1, 2), Fr(2, 3), Fr(3, 2), Fr(-1, 4), Fr(-4, 5)])
plt.show()

# %% [markdown]
# ## 2. The chord–tangent method on a cubic
#
# **Step 4 (Vieta for three intersections).** Let $P, Q$ lie on the cubic $F=0$, $d=Q-P$. On the
# line, $F(P+sd)=c_3s^3+c_2s^2+c_1s$ has the roots $s=0$ and $s=1$, and the three roots sum to
# $-c_2/c_3$. So the third root is
#
# $$
# s_3 = -\frac{c_2}{c_3} - 1 \quad\text{(chord)}, \qquad
# s_3 = -\frac{c_2}{c_3} \quad\text{(tangent)},
# $$ (eq-rational-points-vieta)
#
# where the tangent at $P$ has $d=(F_y(P),-F_x(P))$, so $c_1=\nabla F(P)\cdot d=0$ and $s=0$ is a
# double root. Rational in, rational out; $c_3=0$ puts the third point at infinity (a vertical
# chord of $y^2=x^3+ax+b$), and $s_3=0$ for the tangent means $P$ is an inflection point.
#
# **Step 5 (the Weierstrass form).** On $y^2=x^3+ax+b$ the line $y=y_1+\lambda(x-x_1)$ leaves
# $x^3+ax+b-(y_1+\lambda(x-x_1))^2$, monic with $x^2$-coefficient $-\lambda^2$, so
#
# $$
# \begin{gathered}
# x_1+x_2+x_3=\lambda^2,\qquad y_3=y_1+\lambda(x_3-x_1),\\
# \lambda=\frac{y_2-y_1}{x_2-x_1}\ \ \text{(chord)}\quad\text{or}\quad
# \lambda=\frac{3x_1^2+a}{2y_1}\ \ \text{(tangent)},
# \end{gathered}
# $$ (eq-rational-points-chord-x)
#
# the tangent slope coming from $2y\,y'=3x^2+a$.

# %%
a, b, lam, x1, y1 = sp.symbols("a b lambda x_1 y_1")
diff = sp.Poly(x**3 + a*x + b - (y1 + lam*(x - x1))**2, x)
ch.claim("vieta-weierstrass-sympy",
         diff.LC() == 1 and sp.expand(diff.coeff_monomial(x**2) + lam**2) == 0,
         equals=True, why="exact symbolic expansion",
         statement="Eq. (eq-rational-points-chord-x): x1 + x2 + x3 = lambda^2")
slope = sp.idiff(y**2 - x**3 - a*x - b, y, x)
ch.claim("tangent-slope-sympy", sp.simplify(slope - (3*x**2 + a)/(2*y)) == 0, equals=True,
         why="exact implicit differentiation", statement="the tangent slope is (3x^2 + a)/(2y)")

# %% [markdown]
# Three classical examples from the generic `cubic_third_point`, against the literature: the
# tangent at $(3,5)$ on $y^2=x^3-2$ (Bachet's duplication), a chord on $y^2=x^3+17$, and the
# tangent $y=3x-1$ at $(0,-1)$ on $x(6-x)=y^3-y$, Diophantus' *Arithmetica* IV.24 as Stillwell
# retells it {cite}`2996-stillwell-history`, where substitution leaves $-x^2(27x-26)$.

# %%
bachet = lambda u, v: v**2 - u**3 + 2
mordell17 = lambda u, v: v**2 - u**3 - 17
dioph = lambda u, v: u*(6 - u) - (v**3 - v)
examples = [  # (label, curve, P, Q or None for the tangent, literature value)
    ("tangent, y² = x³ − 2", bachet, (3, 5), None, (Fr(129, 100), Fr(383, 1000))),
    ("chord, y² = x³ + 17", mordell17, (-2, 3), (-1, 4), (Fr(4), Fr(9))),
    ("tangent, x(6 − x) = y³ − y", dioph, (0, -1), None, (Fr(26, 27), Fr(17, 9)))]
rows, ok = [], True
for label, F, P, Q, known in examples:
    R = cubic_third_point(F, P, Q)
    ok &= R == known and F(*R) == 0
    rows.append([label, str(P), "tangent" if Q is None else str(Q), f"({R[0]}, {R[1]})", F(*R)])
ch.claim("classical-third-points", ok, equals=True, why="exact rational arithmetic",
         statement="three third points = literature values, on their curves")
ch.claim("diophantus-factor-sympy", sp.factor(dioph(x, 3*x - 1)) == -x**2*(27*x - 26),
         equals=True, why="exact symbolic factorisation",
         statement="on y = 3x - 1 the curve gives -x^2 (27x - 26)")
show_table(["construction", "P", "Q", "third point", "F(third point)"], rows)

# %% [markdown]
# **The Fermat cubic** $x^3+y^3=1$: the chord through $(1,0)$ and $(0,1)$ meets it at infinity, and
# both are inflection points, so their tangents return them. The construction is stuck, as it
# must be: by the case $n=3$ of Fermat's Last Theorem there are no other rational points.

# %%
fermat3 = lambda u, v: u**3 + v**3 - 1
stuck = (cubic_third_point(fermat3, (1, 0), (0, 1)) is None
         and cubic_third_point(fermat3, (1, 0)) == (1, 0)
         and cubic_third_point(fermat3, (0, 1)) == (0, 1))
ch.claim("fermat-cubic-closed", stuck, equals=True, why="exact rational arithmetic",
         statement="chord and tangents on x^3 + y^3 = 1 give no new point")

# %% mystnb={"figure": {"caption": "The chord\u2013tangent construction on two elliptic curves. Left: the tangent at $P=(3,5)$ on $y^2=x^3-2$ meets the curve again at $R$; its reflection is $2P$. Right: the chord through $P=(-2,3)$ and $Q=(-1,4)$ on $y^2=x^3+17$ meets it at $R$; the reflection is $P+Q$. All marked points are computed exactly and plotted as floats.", "name": "fig-rational-points-chord-tangent"}} tags=["hide-input"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
plot_chord_tangent(ax1, 0, -2, (Fr(3), Fr(5)), None, (1.2, 3.6))
ax1.set(ylim=(-4, 6.5), title="$y^2=x^3-2$: tangent")
plot_chord_tangent(ax2, 0, 17, (Fr(-2), Fr(3)), (Fr(-1), Fr(4)), (-2.6, 5))
ax2.set_title("$y^2=x^3+17$: chord")
plt.show()

# %% [markdown]
# ## 3. The group law
#
# **Step 6 (reflect the third point).** The third intersection $P*Q$ has no identity. Reflecting it
# in the $x$-axis (the third point on the vertical line through it and $O$, at infinity) gives
#
# $$
# \begin{gathered}
# P+Q = -(P*Q) = (x_3,\,-y_3),\\
# P+(-P)=O,\qquad P+O=P,
# \end{gathered}
# $$ (eq-rational-points-addition)
#
# with $x_3,y_3$ from {eq}`eq-rational-points-chord-x`. The core of `ec_add` (the public function
# adds argument checks):
#
# ```{literalinclude} /lib/numbertheory/rational_points.py
# :pyobject: _add
# ```
#
# We test it on $y^2=x^3+17$, of rank two, with independent points $P_1=(-2,3)$, $P_2=(-1,4)$
# {cite}`2996-silverman-tate` and $S=\{mP_1+nP_2:\ m,n\in\{-1,0,1,2\}\}\setminus\{O\}$: `ec_add`
# against the generic construction of Section 2 (another code path: $F$ expanded on the line),
# then associativity on all ordered triples.

# %%
A, B = 0, 17
P1, P2 = (-2, 3), (-1, 4)
add = lambda U, V: ec_add(U, V, A, B)
S = [add(ec_mul(P1, m, A, B), ec_mul(P2, n, A, B)) for m in (-1, 0, 1, 2) for n in (-1, 0, 1, 2)]
S = [P for P in S if P is not None]
ch.claim("test-set-distinct", len(set(S)), equals=15, why="exact: 16 combinations minus O, no "
         "coincidences", statement="the 15 nonzero points of S are distinct")
mismatch = sum(add(U, V) != neg(cubic_third_point(mordell17, U, V))
               for U, V in product(S[:8], repeat=2))
ch.claim("sum-is-reflected-third-point", mismatch, equals=0, why="exact rational arithmetic",
         statement="ec_add = reflected generic third point (64 pairs)")
triples = list(product(S, repeat=3))
assoc_fail = sum(add(add(U, V), W) != add(U, add(V, W)) for U, V, W in triples)
ch.measured("n-triples-tested", len(triples), why="descriptive: the ordered triples of S")
ch.claim("associativity-failures", assoc_fail, equals=0, why="exact rational arithmetic",
         statement="(U+V)+W = U+(V+W) for every ordered triple of S")

# %% [markdown]
# Associativity holds in all {glue:text}`n-triples-tested:d` triples. As a negative control, the
# bare $P*Q$ gives $(P*Q)*R=P+Q-R$ and $P*(Q*R)=Q+R-P$, equal iff $2P=2R$, i.e. (no point of order
# two, as $x^3+17$ has no rational root) iff $P=R$: exactly $|S|^2$ associative triples.

# %%
star = lambda U, V: neg(add(U, V))  # the third intersection P*Q
ch.claim("no-2-torsion", any(r**3 + 17 == 0 for r in (1, -1, 17, -17)), equals=False,
         why="rational root theorem: a root divides 17", statement="y^2 = x^3 + 17: no 2-torsion")
star_assoc = sum(star(star(U, V), W) == star(U, star(V, W)) for U, V, W in triples)
ch.claim("star-associative-count", star_assoc, equals=len(S)**2, why="exact count predicted by the "
         "group law", statement="P*Q is associative only on the triples with P = R")

# %% [markdown]
# Only {glue:text}`star-associative-count:d` triples are, as predicted. The unit tests add hypothesis
# checks of all group axioms on curves through random rational points.
#
# **Orders of points.** $P$ has order $n$ when $nP=O$; `ec_order` adds $P$ to itself until it
# reaches $O$, stopping after 12 steps (Mazur's bound). An independent route
# {cite}`2996-silverman-tate`: by Nagell–Lutz a point of finite order on a curve with integer
# $a,b$ has integer coordinates and $y=0$ or $y^2\mid 4a^3+27b^2$, and then
# $|x|\le 1+\max(|a|,|b-y^2|)$, so `torsion_candidates` lists every candidate by a finite search.

# %%
multiples = lambda P, a, b: {ec_mul(P, k, a, b) for k in range(1, ec_order(P, a, b))}
ch.claim("z6-torsion", ec_order((2, 3), 0, 1) == 6 and multiples((2, 3), 0, 1)
         == set(torsion_candidates(0, 1)), equals=True, why="exact set equality",
         statement="y^2 = x^3 + 1: (2, 3) has order 6, its multiples are all candidates")
ch.claim("order7-point", ec_order((3, 8), -43, 166), equals=7, why="exact integer",
         statement="(3, 8) has order 7 on y^2 = x^3 - 43x + 166")
ch.claim("order7-all-candidates", multiples((3, 8), -43, 166) == set(torsion_candidates(-43, 166)),
         equals=True, why="exact set equality",
         statement="its multiples are exactly the Nagell-Lutz candidates")
ch.claim("bachet-infinite-order", ec_double((3, 5), 0, -2)[0].denominator > 1
         and not torsion_candidates(0, -2) and ec_order((3, 5), 0, -2) is None,
         equals=True, why="Nagell-Lutz: exact",
         statement="y^2 = x^3 - 2: no torsion candidate, 2P not integral, (3, 5) of infinite order")

# %% [markdown]
# On $y^2=x^3-2$ there is no candidate at all: $(3,5)$ generates infinitely many rational points.
#
# ## 4. How fast the numbers grow
#
# For $x=m/n$ in lowest terms the naive height $h(x)=\log\max(|m|,|n|)$ counts digits. With the
# tangent slope, {eq}`eq-rational-points-chord-x` gives $x(2P)$ as a ratio of binary quartic forms,
#
# $$
# \begin{gathered}
# x(2P) = \frac{\Phi(m,n)}{\Psi(m,n)},\\
# \Phi = m^4-2am^2n^2-8bmn^3+a^2n^4,\qquad \Psi = 4n\,(m^3+amn^2+bn^3).
# \end{gathered}
# $$ (eq-rational-points-dup-forms)
#
# So $h(x(2P)) = 4h(x(P)) + e$, $e=\log\bigl(\max(|\Phi|,|\Psi|)/M^4\bigr)-\log g$ with
# $M=\max(|m|,|n|)$, $g=\gcd(\Phi,\Psi)$. Now $\max(|\Phi|,|\Psi|)\le L\,M^4$ ($L$ the larger sum
# of absolute coefficients) and $\ge\mu M^4$ ($\mu>0$ its minimum on the boundary of $[-1,1]^2$:
# the forms have no common real zero on a nonsingular curve), and $g$ divides their resultant $R$.
# Hence $\log\mu-\log|R|\le e\le\log L$: **each doubling multiplies the number of digits by
# four, up to an additive constant.** `duplication_error_bounds` computes $L$, $R$ (SymPy) and a
# lower bound of $\mu$ (a fine grid minus the Lipschitz slack):

# %%
lam_t, rhs = (3*x**2 + a)/(2*y), x**3 + a*x + b
dup = sp.simplify((lam_t**2 - 2*x).subs(y, sp.sqrt(rhs))
                  - (x**4 - 2*a*x**2 - 8*b*x + a**2)/(4*rhs))
ch.claim("duplication-sympy", dup == 0, equals=True, why="exact symbolic simplification",
         statement="x(2P) = (x^4 - 2ax^2 - 8bx + a^2)/(4y^2)")
a0, b0 = 0, -2
lo, hi, R_res = duplication_error_bounds(a0, b0)
ch.measured("e-lower-bound", lo, why="descriptive: log(mu) - log|R|, a proven bound")
ch.measured("e-upper-bound", hi, why="descriptive: log L, a proven bound");

# %% [markdown]
# Now double $P=(3,5)$ eight times on $y^2=x^3-2$, exactly, recording the height, $e$ and $g$:

# %%
Q, heights, errors, exact = (Fr(3), Fr(5)), [naive_height(3)], [], True
for _ in range(8):
    mm, nn = Q[0].numerator, Q[0].denominator
    ph, ps = duplication_forms(mm, nn, a0, b0)  # Python integers: exact
    Q = ec_double(Q, a0, b0)
    exact &= Q[0] == Fr(ph, ps) and R_res % math.gcd(ph, ps) == 0
    heights.append(naive_height(Q[0]))
    errors.append(heights[-1] - 4*heights[-2])
ch.claim("doubling-forms-gcd", exact, equals=True, why="exact integers",
         statement="x(2Q) = Phi/Psi and gcd(Phi, Psi) | R at every step")
ch.claim("doubling-error-min", min(errors), at_least=lo, why="proven lower bound log(mu) - "
         "log|R|", statement="h(2Q) - 4h(Q) >= log(mu) - log|R| at every step")
ch.claim("doubling-error-max", max(errors), at_most=hi, why="proven upper bound log L",
         statement="h(2Q) - 4h(Q) <= log L at every step")
h_prev = heights[-2]
ch.claim("last-digit-ratio", heights[-1]/h_prev, between=(4 + lo/h_prev, 4 + hi/h_prev), why="the "
         "bounds on e divided by h(Q)", statement="the last doubling multiplies the digits by ~4")
ch.measured("digits-last", heights[-1]/math.log(10),
            why="descriptive: decimal digits of max(|m|, n) for 256P");

# %% [markdown]
# The error $e$ stays between {glue:text}`doubling-error-min:.3g` and
# {glue:text}`doubling-error-max:.3g`, inside the proven [{glue:text}`e-lower-bound:.3g`,
# {glue:text}`e-upper-bound:.3g`], while $256P$ has {glue:text}`digits-last:.0f` digits; the last
# doubling multiplies them by {glue:text}`last-digit-ratio:.6f`. A chord–tangent search for small
# solutions can take only a few steps before the numbers become enormous.

# %% mystnb={"figure": {"caption": "Height growth on $y^2=x^3-2$ from $P=(3,5)$: decimal digits of $x(2^kP)$ (numerator or denominator, whichever is larger) against the number of doublings, with the line $4^k$ for comparison.", "name": "fig-rational-points-heights"}} tags=["hide-input"]
fig, ax = plt.subplots()
ks, digits = np.arange(len(heights)), np.array(heights)/math.log(10)
ax.semilogy(ks, digits, "o-", label="digits of $x(2^kP)$")
ax.semilogy(ks, digits[1]*4.0**(ks - 1), "k--", lw=1, label="$\\propto 4^k$")
ax.set(xlabel="doublings $k$", ylabel="decimal digits")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. What the article prints, and what is left out
#
# We could read the article's introduction and listed every number in it: the exponents $n=3,4$
# of Fermat's Last Theorem (proved in earlier articles with the Eisenstein and Gaussian integers),
# the life dates of Gauss and Eisenstein (biography, agreeing with the standard ones), and the
# equation $x^4+y^4=z^4+w^4$ of a later article; all are out of scope. We found nothing to correct
# (Diophantus' use of the method is borne out by the *Arithmetica* example), so there is no erratum.
#
# Left out for length (an earlier version checked them): the circle $x^2+y^2=3$, which has no
# rational point (squares mod 3; a search to denominator 300), against $x^2+y^2=2$, where one
# point gives a new point per slope; a table of orders on three more curves; the canonical-height
# limit of $h(x(nP))/n^2$; and Euler's smallest solution $59^4+158^4=133^4+134^4$ of the later
# article's equation, confirmed minimal by a direct search; and the count of primitive triples
# against Lehmer's asymptotic $N/(2\pi)$ {cite}`2996-lehmer-1900`.

# %%
earlier = "proved in earlier articles of the series, not in this one"
ch.source_number("3", where="introduction: FLT for n = 3", fate="out of scope",
                 reason=earlier + "; see the check fermat-cubic-closed")
ch.source_number("4", where="introduction: FLT for n = 4", fate="out of scope", reason=earlier)
for year, who in [("1777", "Gauss, born"), ("1855", "Gauss, died"),
                  ("1823", "Eisenstein, born"), ("1852", "Eisenstein, died")]:
    ch.source_number(year, where=f"introduction: {who}", fate="out of scope",
                     reason="a biographical date, not a computation (it agrees with standard "
                     "biographies)")
ch.source_number("x^4+y^4=z^4+w^4", value=4.0, where="introduction: the equation of a later "
                 "article", fate="out of scope", reason="studied in a later article")

# %% [markdown]
# ## Claims

# %%
ch.table()
