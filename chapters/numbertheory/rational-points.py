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
# Given one point with rational coordinates on a curve with rational coefficients, how do we
# find more? Draw a line through it with rational slope. A line meets a conic twice and a cubic
# three times; the intersections are the roots of a polynomial with rational coefficients, and
# when all roots but one are known to be rational, Vieta's formula makes the last one rational
# too. On a conic one point therefore yields *all* rational points, one for each slope — the
# unit circle gives every Pythagorean triple. On a cubic a chord through two points, or the
# tangent at one, yields a new point, and after a reflection this "chord–tangent" construction
# becomes the addition of a group. This chapter derives each step, checks the algebra with
# SymPy and every point in exact rational arithmetic (Python's `fractions`, never a float),
# verifies the group laws exhaustively on a rank-two curve, computes orders of points, and
# measures how fast the numbers grow: doubling a point multiplies the number of digits by four.
#
# :::{prf:theorem} The secant and chord–tangent methods
# :label: thm-rational-points
# 1. Let $F(x,y)=0$ be a nondegenerate conic with rational coefficients and $P$ a rational point
#    of it. For rational $t$ the line through $P$ of slope $t$ (and the vertical
#    line) meets the conic a second time in a rational point or at infinity, and every rational
#    point $Q\neq P$ of the conic arises in this way from exactly one slope.
# 2. For $x^2+y^2=1$ and $P=(-1,0)$ the second point is
#    $\bigl(\tfrac{1-t^2}{1+t^2},\tfrac{2t}{1+t^2}\bigr)$; with $t=p/q$, $q>p\ge1$ coprime of
#    opposite parity, $(q^2-p^2,\,2pq,\,q^2+p^2)$ runs exactly once through the primitive
#    Pythagorean triples (legs in either order).
# 3. Let $F(x,y)=0$ be a cubic with rational coefficients. The line through two rational points
#    of it meets it a third time (counting multiplicity) in a rational point or at infinity; so
#    does the tangent at a rational point where $\nabla F\neq0$.
# 4. On $E:\ y^2=x^3+ax+b$ with $4a^3+27b^2\neq0$, the third point of the line through
#    $P=(x_1,y_1)$ and $Q=(x_2,y_2)$ has $x_3=\lambda^2-x_1-x_2$, $y_3=y_1+\lambda(x_3-x_1)$, with
#    $\lambda$ the slope of the chord, or $\lambda=(3x_1^2+a)/(2y_1)$ for the tangent. Setting
#    $P+Q=(x_3,-y_3)$, with the point at infinity $O$ as identity, makes $E(\mathbb Q)$ an
#    abelian group.
# :::
#
# The article {cite}`2996-su-rational-points` introduces this geometric technique for finding
# rational points, following Stillwell's *Mathematics and Its History*
# {cite}`2996-stillwell-history`; the elliptic-curve facts used below (Nagell–Lutz, Mazur,
# heights) are textbook material {cite}`2996-silverman-tate`. Only the article's introduction
# was available when this chapter was written, so the derivations below are the standard
# mathematics of the method in our own words, not a retelling of the article's.

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
    ec_add,
    ec_double,
    ec_mul,
    ec_order,
    naive_height,
    pythagorean_triples,
    torsion_candidates,
)

ch = Chapter("rational-points", seed=2996)
x, y, s, t = sp.symbols("x y s t")


def neg(P):
    """-P on a Weierstrass curve (the reflection in the x-axis); -O = O."""
    return None if P is None else (P[0], -P[1])


# %% [markdown]
# ## 1. The secant method on a conic
#
# **Step 1 (a line through a known point).** Let $P$ lie on the conic $F=0$ and let $d$ be a
# direction, $d=(1,t)$ for slope $t$ or $d=(0,1)$ for the vertical line. Expanding $F$ around
# $P$ — it is a polynomial of degree two, so the expansion stops — gives
#
# $$
# \begin{gathered}
# F(P+sd) = F(P) + s\,\nabla F(P)\cdot d + s^2\,F_2(d) = s\,(B + A s),\\
# B=\nabla F(P)\cdot d,\qquad A=F_2(d),
# \end{gathered}
# $$ (eq-rational-points-restrict)
#
# where $F_2$ is the quadratic part of $F$. The root $s=0$ is $P$; the other is
#
# $$
# s^\ast = -\frac{B}{A}, \qquad Q = P + s^\ast d .
# $$ (eq-rational-points-conic)
#
# $A$ and $B$ are rational when $P$ and $t$ are, so $Q$ is rational. Two cases are special: $B=0$
# means the line is the tangent and $Q=P$; $A=0$ (and $B\neq0$) means the line is parallel to an
# asymptote and the second point is at infinity. Conversely, a rational $Q\neq P$ on the conic
# lies on the line through $P$ of the rational slope $(y_Q-y_P)/(x_Q-x_P)$ (or on the vertical
# line), and that line meets the conic only at $P$ and $Q$; this is the bijection of part 1 of
# {prf:ref}`thm-rational-points`.

# %%
cs = sp.symbols("c0:6")
px, py, dx, dy = sp.symbols("p_x p_y d_x d_y")
conic = lambda u, v: (cs[0]*u**2 + cs[1]*u*v + cs[2]*v**2
                      + cs[3]*u + cs[4]*v + cs[5])
c_s = sp.Poly(sp.expand(conic(px + s*dx, py + s*dy) - conic(px, py)), s)
at_P = {x: px, y: py}
grad_d = (sp.diff(conic(x, y), x).subs(at_P)*dx
          + sp.diff(conic(x, y), y).subs(at_P)*dy)
F2_d = cs[0]*dx**2 + cs[1]*dx*dy + cs[2]*dy**2
ok = (c_s.degree() == 2 and c_s.coeff_monomial(1) == 0
      and sp.expand(c_s.coeff_monomial(s) - grad_d) == 0
      and sp.expand(c_s.coeff_monomial(s**2) - F2_d) == 0)
ch.claim("restrict-sympy", ok, equals=True, why="exact symbolic expansion",
         statement="Eq. (eq-rational-points-restrict), general conic")

# %% [markdown]
# The library function is exactly {eq}`eq-rational-points-conic`: it expands $F$ on the line
# with `Fraction` coefficients and returns `None` for a point at infinity.
#
# ```{literalinclude} /lib/numbertheory/rational_points.py
# :pyobject: conic_secant_point
# ```
#
# **Step 2 (the unit circle).** For $x^2+y^2=1$ and $P=(-1,0)$, substituting $y=t(x+1)$ gives
#
# $$
# (1+t^2)\,x^2 + 2t^2\,x + t^2-1 = 0 .
# $$ (eq-rational-points-circle-quadratic)
#
# One root is $x=-1$, so by Vieta the other is $(1-t^2)/(1+t^2)$ (the product of the roots is
# $(t^2-1)/(1+t^2)$), and the line gives $y$:
#
# $$
# (x,y) = \Bigl(\frac{1-t^2}{1+t^2},\ \frac{2t}{1+t^2}\Bigr).
# $$ (eq-rational-points-circle)

# %%
X, Y = (1 - t**2)/(1 + t**2), 2*t/(1 + t**2)
roots = sp.solve(sp.expand(x**2 + (t*(x + 1))**2 - 1), x)
other = [r for r in roots if r != -1]
ch.claim("circle-roots-sympy", len(roots) == 2 and len(other) == 1
         and sp.simplify(other[0] - X) == 0,
         equals=True, why="exact symbolic root finding",
         statement="the roots of Eq. (eq-rational-points-circle-quadratic)")
ch.claim("circle-identity-sympy", sp.simplify(X**2 + Y**2 - 1) == 0,
         equals=True, why="exact symbolic simplification",
         statement="Eq. (eq-rational-points-circle) lies on the circle")

# %% [markdown]
# Now the library on many slopes, and the converse by brute force: every rational point of the
# circle with denominator at most 100 comes from the lattice of integer solutions of
# $a^2+b^2=c^2$, and each one must be returned by the slope $y/(x+1)$.

# %%
circle = lambda u, v: u**2 + v**2 - 1
slopes = {Fr(p, q) for p in range(-30, 31) for q in range(1, 31)}
formula = lambda tv: ((1 - tv*tv)/(1 + tv*tv), 2*tv/(1 + tv*tv))
bad_forward = sum(conic_secant_point(circle, (-1, 0), tv) != formula(tv)
                  for tv in slopes)
points = set()  # all (a/c, b/c) with a^2 + b^2 = c^2, c <= 100, both signs
for c in range(1, 101):
    for a in range(-c, c + 1):
        b = math.isqrt(c*c - a*a)
        if a*a + b*b == c*c:
            points |= {(Fr(a, c), Fr(b, c)), (Fr(a, c), Fr(-b, c))}
slope_of = lambda X0, Y0: None if X0 == -1 else Y0/(X0 + 1)
bad_back = sum(conic_secant_point(circle, (-1, 0), slope_of(*pt)) != pt
               for pt in points)
ch.claim("circle-forward-mismatches", bad_forward, equals=0,
         why="exact rational arithmetic",
         statement="conic_secant_point = Eq. (eq-rational-points-circle), "
                   "all t = p/q with |p|, q <= 30")
ch.measured("circle-points-found", len(points),
            why="descriptive: size of the brute-force set")
ch.claim("circle-converse-mismatches", bad_back, equals=0,
         why="exact rational arithmetic",
         statement="each rational point (denominator <= 100) comes "
                   "from its slope y/(x+1)")

# %% [markdown]
# All {glue:text}`circle-points-found:d` rational points with denominator at most 100 (including
# $P$ itself, which the vertical tangent returns) are recovered from their slopes, with
# {glue:text}`circle-converse-mismatches:d` mismatches.
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
# If $p,q$ are both odd all three entries are even, so opposite parity is needed for a
# primitive triple; with it, a prime dividing $a$ and $c$ would divide $2q^2$ and $2p^2$, which
# coprimality and the oddness of $c$ exclude. Completeness is the converse of Step 1: a
# primitive triple gives the rational point $(a/c,b/c)$ (or $(b/c,a/c)$), hence a slope, and the
# slope in lowest terms is $p/q$ with these properties.
#
# ```{literalinclude} /lib/numbertheory/rational_points.py
# :pyobject: pythagorean_triples
# ```

# %%
p_, q_ = sp.symbols("p q")
a_, b_, c_ = q_**2 - p_**2, 2*p_*q_, q_**2 + p_**2
ch.claim("triple-identity-sympy", sp.expand(a_**2 + b_**2 - c_**2) == 0,
         equals=True, why="exact symbolic expansion",
         statement="Eq. (eq-rational-points-triples) is Pythagorean")


def brute_force_triples(cmax):
    """Primitive (a, b, c), a < b, c <= cmax: test every leg (exact int64)."""
    found = set()
    for c in range(5, cmax + 1):
        a = np.arange(1, c, dtype=np.int64)
        b = np.rint(np.sqrt(c*c - a*a)).astype(np.int64)
        keep = (a*a + b*b == c*c) & (a < b) & (np.gcd(a, b) == 1)
        found |= {(int(u), int(v), c)
                  for u, v in zip(a[keep], b[keep], strict=True)}
    return found


for cmax in (100, 2000):
    gen, brute = pythagorean_triples(cmax), brute_force_triples(cmax)
    ch.claim(f"triples-equal-brute-{cmax}",
             set(gen) == brute and len(gen) == len(brute),
             equals=True, why="exact integer sets",
             statement=f"generator = brute force, no repeats, c <= {cmax}")
    ch.measured(f"n-triples-{cmax}", len(gen),
                why="descriptive: a count, checked by the set equality")
ch.claim("n-triples-100-known", len(pythagorean_triples(100)), equals=16,
         why="exact; the count in OEIS A020882 (primitive hypotenuses)",
         statement="16 primitive triples have c <= 100")

# %% [markdown]
# The generator and the brute-force search agree exactly: {glue:text}`n-triples-100:d` primitive
# triples with hypotenuse at most 100 and {glue:text}`n-triples-2000:d` up to 2000, none
# repeated. The figure shows the construction and how the count grows: linearly, close to
# $N/(2\pi)$, the asymptotic found by Lehmer {cite}`2996-lehmer-1900` (at $N=2000$ the ratio
# of the two is {glue:text}`lehmer-ratio:.3f`).

# %% mystnb={"figure": {"caption": "Left: the secant method on the unit circle. Lines through $P=(-1,0)$ with rational slope $t$ (colored) meet the circle again in rational points; the dots are all rational points with denominator at most 25. Right: the number of primitive Pythagorean triples with hypotenuse at most $N$, from the generator, against Lehmer's asymptotic $N/(2\\pi)$.", "name": "fig-rational-points-circle"}} tags=["hide-input"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.6))
th = np.linspace(0, 2*np.pi, 400)
ax1.plot(np.cos(th), np.sin(th), color="0.6", lw=1)
small = [(float(u), float(v)) for u, v in points if u.denominator <= 25]
ax1.scatter(*zip(*small, strict=True), s=9, color="k", zorder=3,
            label="denominator ≤ 25")
for tv in [Fr(1, 3), Fr(1, 2), Fr(2, 3), Fr(3, 2), Fr(-1, 4), Fr(-4, 5)]:
    Q = conic_secant_point(circle, (-1, 0), tv)
    ax1.plot([-1, float(Q[0])], [0, float(Q[1])], lw=1.2, label=f"$t={tv}$")
ax1.plot([-1], [0], "o", color="C1", ms=7)
ax1.annotate("$P$", (-1, 0), xytext=(-1.25, 0.08))
ax1.set_aspect("equal")
ax1.set_xlim(-1.2, 2.7)
ax1.set_xlabel("$x$")
ax1.set_ylabel("$y$")
ax1.legend(fontsize=7, loc="center right")
hyp = np.array([tr[2] for tr in pythagorean_triples(2000)])
N = np.arange(1, 2001)
ax2.step(N, np.searchsorted(hyp, N, side="right"), where="post",
         label="primitive triples with $c\\leq N$")
ax2.plot(N, N/(2*np.pi), "k--", lw=1, label="$N/(2\\pi)$")
ax2.set_xlabel("$N$")
ax2.set_ylabel("count")
ax2.legend()
ch.measured("lehmer-ratio", len(hyp)/(2000/(2*np.pi)),
            why="descriptive: count / (N / 2 pi) at N = 2000")
plt.show()

# %% [markdown]
# **A negative control: the method needs one point.** The circle $x^2+y^2=3$ has none.
# Writing a rational point as $(a/c,b/c)$ in lowest terms gives $a^2+b^2=3c^2$; squares are $0$
# or $1$ modulo 3, so $3\mid a$ and $3\mid b$, hence $9\mid 3c^2$ and $3\mid c$, against lowest
# terms. The circle $x^2+y^2=2$ contains $(1,1)$, and the secant method then produces its
# rational points endlessly.

# %%
residues = {(u*u + v*v) % 3 for u in range(3) for v in range(3)
            if (u, v) != (0, 0)}
ch.claim("mod3-squares", residues == {1, 2}, equals=True,
         why="exhaustive over residues mod 3",
         statement="a^2 + b^2 = 0 mod 3 forces a = b = 0 mod 3")
hits = sum(a*a + math.isqrt(3*c*c - a*a)**2 == 3*c*c
           for c in range(1, 301) for a in range(0, math.isqrt(3*c*c) + 1))
ch.claim("circle3-brute-count", hits, equals=0,
         why="exact integer search (c <= 300)",
         statement="no rational point on x^2 + y^2 = 3")
two = lambda u, v: u**2 + v**2 - 2
slopes2 = {Fr(p, q) for p in range(-10, 11) for q in range(1, 11)}
made = {conic_secant_point(two, (1, 1), tv) for tv in slopes2}
ch.claim("circle2-points-made", len(made - {None}), equals=len(slopes2),
         why="exact: distinct slopes give distinct points (Step 1)",
         statement="one new rational point of x^2 + y^2 = 2 per slope")

# %% [markdown]
# ## 2. The chord–tangent method on a cubic
#
# **Step 4 (Vieta for three intersections).** Let $P, Q$ lie on the cubic $F=0$ and put
# $d=Q-P$. On the line, $F(P+sd)=c_3s^3+c_2s^2+c_1s$ (no constant term, since $F(P)=0$) has the
# roots $s=0$ and $s=1$, and the sum of its three roots is $-c_2/c_3$. The third root is
# therefore
#
# $$
# s_3 = -\frac{c_2}{c_3} - 1 \quad\text{(chord)}, \qquad
# s_3 = -\frac{c_2}{c_3} \quad\text{(tangent)},
# $$ (eq-rational-points-vieta)
#
# where for the tangent at $P$ we take $d=(F_y(P),-F_x(P))$, which makes $c_1=\nabla F(P)\cdot
# d=0$ and $s=0$ a double root. Rational in, rational out; $c_3=0$ puts the third point at
# infinity (a vertical chord of $y^2=x^3+ax+b$, or the line through $(1,0)$ and $(0,1)$ on
# $x^3+y^3=1$), and $s_3=0$ for the tangent means $P$ is an inflection point.
#
# :::{admonition} Full code: `cubic_third_point`
# :class: dropdown
# ```{literalinclude} /lib/numbertheory/rational_points.py
# :pyobject: cubic_third_point
# ```
# :::
#
# **Step 5 (the Weierstrass form).** On $y^2=x^3+ax+b$ substitute the line
# $y=y_1+\lambda(x-x_1)$: the difference $x^3+ax+b-(y_1+\lambda(x-x_1))^2$ is monic in $x$ with
# $x^2$-coefficient $-\lambda^2$, so the three $x$-coordinates satisfy
#
# $$
# \begin{gathered}
# x_1+x_2+x_3=\lambda^2,\qquad y_3=y_1+\lambda(x_3-x_1),\\
# \lambda=\frac{y_2-y_1}{x_2-x_1}\ \ \text{(chord)}\quad\text{or}\quad
# \lambda=\frac{3x_1^2+a}{2y_1}\ \ \text{(tangent)},
# \end{gathered}
# $$ (eq-rational-points-chord-x)
#
# the tangent slope coming from implicit differentiation, $2y\,y'=3x^2+a$.

# %%
a, b, lam, x1, y1 = sp.symbols("a b lambda x_1 y_1")
diff = sp.Poly(x**3 + a*x + b - (y1 + lam*(x - x1))**2, x)
ch.claim("vieta-weierstrass-sympy",
         diff.LC() == 1 and sp.expand(diff.coeff_monomial(x**2) + lam**2) == 0,
         equals=True, why="exact symbolic expansion",
         statement="Eq. (eq-rational-points-chord-x): x1 + x2 + x3 = lambda^2")
slope = sp.idiff(y**2 - x**3 - a*x - b, y, x)
ch.claim("tangent-slope-sympy", sp.simplify(slope - (3*x**2 + a)/(2*y)) == 0,
         equals=True, why="exact implicit differentiation",
         statement="the tangent slope is (3x^2 + a)/(2y)")

# %% [markdown]
# Three classical examples, each computed by the generic `cubic_third_point` and compared with
# the value in the literature: the tangent at $(3,5)$ on $y^2=x^3-2$ (Bachet's duplication), a
# chord on $y^2=x^3+17$, and the tangent at $(0,-1)$ on $x(6-x)=y^3-y$, the problem from
# Diophantus' *Arithmetica* (Book IV, Problem 24) as Stillwell retells it
# {cite}`2996-stillwell-history`. In the last one the tangent is $y=3x-1$ and substituting it
# leaves $-x^2(27x-26)$: a double root at the point of tangency, and the new point.

# %%
bachet = lambda u, v: v**2 - u**3 + 2
mordell17 = lambda u, v: v**2 - u**3 - 17
dioph = lambda u, v: u*(6 - u) - (v**3 - v)
examples = [  # (label, curve, P, Q or None for the tangent, literature value)
    ("tangent, y² = x³ − 2", bachet, (3, 5), None,
     (Fr(129, 100), Fr(383, 1000))),
    ("chord, y² = x³ + 17", mordell17, (-2, 3), (-1, 4), (Fr(4), Fr(9))),
    ("tangent, x(6 − x) = y³ − y", dioph, (0, -1), None,
     (Fr(26, 27), Fr(17, 9)))]
rows, ok = [], True
for label, F, P, Q, known in examples:
    R = cubic_third_point(F, P, Q)
    ok &= R == known and F(*R) == 0
    rows.append([label, str(P), "tangent" if Q is None else str(Q),
                 f"({R[0]}, {R[1]})", F(*R)])
ch.claim("classical-third-points", ok, equals=True,
         why="exact rational arithmetic",
         statement="three third points = literature values, on their curves")
ch.claim("diophantus-factor-sympy",
         sp.factor(dioph(x, 3*x - 1)) == -x**2*(27*x - 26), equals=True,
         why="exact symbolic factorisation",
         statement="on y = 3x - 1 the curve gives -x^2 (27x - 26)")
show_table(["construction", "P", "Q", "third point", "F(third point)"], rows)

# %% [markdown]
# **The Fermat cubic.** On $x^3+y^3=1$ the known points are $(1,0)$, $(0,1)$ and the point at
# infinity $(1:-1:0)$. The chord through the first two meets the curve at infinity, and both are
# inflection points, so their tangents return them: the construction is stuck, which is
# consistent with the case $n=3$ of Fermat's Last Theorem proved earlier in the series (there
# are no other rational points).

# %%
fermat3 = lambda u, v: u**3 + v**3 - 1
stuck = (cubic_third_point(fermat3, (1, 0), (0, 1)) is None
         and cubic_third_point(fermat3, (1, 0)) == (1, 0)
         and cubic_third_point(fermat3, (0, 1)) == (0, 1))
ch.claim("fermat-cubic-closed", stuck, equals=True,
         why="exact rational arithmetic",
         statement="chord and tangents on x^3 + y^3 = 1 give no new point")


# %% mystnb={"figure": {"caption": "The chord\u2013tangent construction on two elliptic curves. Left: the tangent at $P=(3,5)$ on $y^2=x^3-2$ meets the curve again at $R$; its reflection is $2P$. Right: the chord through $P=(-2,3)$ and $Q=(-1,4)$ on $y^2=x^3+17$ meets it at $R$; the reflection is $P+Q$. All marked points are computed exactly and plotted as floats.", "name": "fig-rational-points-chord-tangent"}} tags=["hide-input"]
def draw(ax, A, B, P, Q, xlim):
    xs = np.linspace(*xlim, 2000)
    rhs = xs**3 + A*xs + B
    ys = np.where(rhs >= 0, np.sqrt(np.clip(rhs, 0, None)), np.nan)
    ax.plot(xs, ys, color="0.4", lw=1.2)
    ax.plot(xs, -ys, color="0.4", lw=1.2)
    F = lambda u, v: v**2 - u**3 - A*u - B
    R = cubic_third_point(F, P, Q)
    S = ec_add(P, P if Q is None else Q, A, B)
    ends = [P, R] if Q is None else [P, Q, R]
    xx = np.array([float(e[0]) for e in ends])
    slope = float((R[1] - P[1]) / (R[0] - P[0]))
    line_x = np.linspace(xx.min() - 0.4, xx.max() + 0.4, 10)
    ax.plot(line_x, float(P[1]) + slope*(line_x - float(P[0])), color="C1")
    ax.plot([float(R[0])]*2, [float(R[1]), float(S[1])], "--", color="C2")
    marks = [(P, "$P$"), (Q, "$Q$"), (R, "$R$"),
             (S, "$2P$" if Q is None else "$P+Q$")]
    for pt, name in marks:
        if pt is not None:
            xy = (float(pt[0]), float(pt[1]))
            ax.plot(*xy, "o", color="k", ms=5)
            ax.annotate(name, xy, xytext=(5, 5), textcoords="offset points")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
draw(ax1, 0, -2, (Fr(3), Fr(5)), None, (1.2, 3.6))
ax1.set_ylim(-4, 6.5)
ax1.set_title("$y^2=x^3-2$: tangent")
draw(ax2, 0, 17, (Fr(-2), Fr(3)), (Fr(-1), Fr(4)), (-2.6, 5))
ax2.set_title("$y^2=x^3+17$: chord")
plt.show()

# %% [markdown]
# ## 3. The group law
#
# **Step 6 (reflect the third point).** The third intersection $P*Q$ itself is not a good
# operation: it has no identity. Reflecting it in the $x$-axis, which is the third intersection
# with the point at infinity $O$ (vertical lines pass through $O$), gives
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
# We test it on $y^2=x^3+17$, a curve of rank two on which $P_1=(-2,3)$ and $P_2=(-1,4)$ are
# independent points {cite}`2996-silverman-tate`. The test set is
# $S=\{mP_1+nP_2:\ m,n\in\{-1,0,1,2\}\}\setminus\{O\}$. First `ec_add` against the generic
# construction of Section 2 — a different code path (expansion of $F$ on the line, no
# Weierstrass formulas) — for all ordered pairs; then associativity on all ordered triples.

# %%
A, B = 0, 17
P1, P2 = (-2, 3), (-1, 4)
add = lambda U, V: ec_add(U, V, A, B)
S = [add(ec_mul(P1, m, A, B), ec_mul(P2, n, A, B))
     for m in (-1, 0, 1, 2) for n in (-1, 0, 1, 2)]
S = [P for P in S if P is not None]
ch.claim("test-set-distinct", len(set(S)), equals=15,
         why="exact: 16 combinations minus O, no coincidences",
         statement="the 15 nonzero points of S are distinct")
mismatch = sum(add(U, V) != neg(cubic_third_point(mordell17, U, V))
               for U, V in product(S[:8], repeat=2))
ch.claim("sum-is-reflected-third-point", mismatch, equals=0,
         why="exact rational arithmetic",
         statement="ec_add = reflected generic third point (64 pairs)")
triples = list(product(S, repeat=3))
assoc_fail = sum(add(add(U, V), W) != add(U, add(V, W))
                 for U, V, W in triples)
ch.measured("n-triples-tested", len(triples),
            why="descriptive: the number of ordered triples of S")
ch.claim("associativity-failures", assoc_fail, equals=0,
         why="exact rational arithmetic",
         statement="(U+V)+W = U+(V+W) for every ordered triple of S")

# %% [markdown]
# Associativity holds in all {glue:text}`n-triples-tested:d` triples. The bare operation $P*Q$
# is a negative control: by the group law $(P*Q)*R = -(-(P+Q)+R) = P+Q-R$ and $P*(Q*R) =
# Q+R-P$, equal exactly when $2P=2R$, and since $x^3+17$ has no rational root the curve has no
# point of order two, so exactly when $P=R$. The count of associative triples must be $|S|^2$.

# %%
star = lambda U, V: neg(add(U, V))  # the third intersection P*Q
ch.claim("no-2-torsion", any(r**3 + 17 == 0 for r in (1, -1, 17, -17)),
         equals=False,
         why="rational root theorem: a root must be an integer dividing 17",
         statement="y^2 = x^3 + 17 has no point of order 2")
star_assoc = sum(star(star(U, V), W) == star(U, star(V, W))
                 for U, V, W in triples)
ch.claim("star-associative-count", star_assoc, equals=len(S)**2,
         why="exact count predicted by the group law",
         statement="P*Q is associative only on the triples with P = R")


# %% [markdown]
# Only {glue:text}`star-associative-count:d` of the {glue:text}`n-triples-tested:d` triples are
# associative for $*$, exactly as predicted. The test file `tests/numbertheory/test_rational_points.py`
# adds hypothesis property tests of closure, commutativity, identity, inverses and associativity
# on curves through random rational points.
#
# **Orders of points.** A point has finite order $n$ when $nP=O$. Two classical theorems give an
# independent check {cite}`2996-silverman-tate`: by Nagell–Lutz, on a curve with integer $a,b$ a
# point of finite order has integer coordinates and $y=0$ or $y^2\mid 4a^3+27b^2$; by Mazur, its
# order is at most 12 (so `ec_order` stops after 12 steps). For each admissible $y$ the integer
# roots $x$ of $x^3+ax+b=y^2$ satisfy $|x|\le 1+\max(|a|,|b-y^2|)$, so a finite search lists
# every candidate.
#
# `torsion_candidates` performs this search; `ec_order` adds $P$ to itself until it reaches
# $O$. The two are independent routes to the torsion points.

# %%
def multiples(P, a, b):
    """The nonzero multiples of a point of finite order."""
    return {ec_mul(P, k, a, b) for k in range(1, ec_order(P, a, b))}


cases = [("y² = x³ + 1", 0, 1, (2, 3)),
         ("y² = x³ − 43x + 166", -43, 166, (3, 8)),
         ("y² = x³ + 4x", 4, 0, (2, 4)), ("y² = x³ − x", -1, 0, (0, 0)),
         ("y² = x³ − 2", 0, -2, (3, 5)),
         ("y² = x³ + 17", 0, 17, (-2, 3))]
rows = [[name, str(P), ec_order(P, ea, eb), len(torsion_candidates(ea, eb))]
        for name, ea, eb, P in cases]
show_table(["curve", "P", "order of P (None = infinite)",
            "Nagell–Lutz candidates"], rows)

# %%
ch.claim("z6-torsion", ec_order((2, 3), 0, 1) == 6
         and multiples((2, 3), 0, 1) == set(torsion_candidates(0, 1)),
         equals=True,
         why="exact set equality",
         statement="y^2 = x^3 + 1: (2, 3) has order 6, its multiples "
                   "are all candidates")
ch.claim("order7-point", ec_order((3, 8), -43, 166), equals=7,
         why="exact integer",
         statement="(3, 8) has order 7 on y^2 = x^3 - 43x + 166")
ch.claim("order7-all-candidates",
         multiples((3, 8), -43, 166) == set(torsion_candidates(-43, 166)),
         equals=True, why="exact set equality",
         statement="its multiples are exactly the Nagell-Lutz candidates")
two_p = ec_double((3, 5), 0, -2)
ch.claim("bachet-infinite-order", two_p[0].denominator > 1
         and not torsion_candidates(0, -2)
         and ec_order((3, 5), 0, -2) is None,
         equals=True, why="Nagell-Lutz: exact",
         statement="y^2 = x^3 - 2: no torsion candidate, 2P not integral, "
                   "(3, 5) has infinite order")

# %% [markdown]
# On $y^2=x^3-2$ the Nagell–Lutz search finds no candidate at all, so the only point of finite
# order is $O$ and $(3,5)$ generates infinitely many rational points — in agreement with
# `ec_order`, which returns `None`, and with the non-integral $2P$ in the table of Section 2.
#
# ## 4. How fast the numbers grow
#
# Write $x=m/n$ in lowest terms and define the naive height
#
# $$
# h(x) = \log\max(|m|,|n|),
# $$ (eq-rational-points-height)
#
# a measure of the number of digits. Eliminating $\lambda$ from
# {eq}`eq-rational-points-chord-x` with the tangent slope gives the duplication formula as a
# ratio of two binary quartic forms,
#
# $$
# \begin{gathered}
# x(2P) = \frac{\Phi(m,n)}{\Psi(m,n)},\\
# \Phi = m^4-2am^2n^2-8bmn^3+a^2n^4,\\
# \Psi = 4n\,(m^3+amn^2+bn^3).
# \end{gathered}
# $$ (eq-rational-points-dup-forms)
#
# So $h(x(2P)) = 4h(x(P)) + e$ with $e=\log\bigl(\max(|\Phi|,|\Psi|)/M^4\bigr)-\log g$, where
# $M=\max(|m|,|n|)$ and $g=\gcd(\Phi,\Psi)$, and $e$ is bounded independently of $P$:
# $\max(|\Phi|,|\Psi|)\le L\,M^4$ with $L$ the larger sum of absolute coefficients, and
# $\max(|\Phi|,|\Psi|)\ge\mu M^4$ with $\mu>0$ the minimum of $\max(|\Phi|,|\Psi|)$ on the
# boundary of the square $[-1,1]^2$ (the forms have no common real zero because the curve is
# nonsingular); $g$ divides the resultant $R$ of the two forms. Hence
# $\log\mu-\log|R|\le e\le\log L$: **each doubling multiplies the number of digits by four,
# up to an additive constant.**

# %%
m_, n_ = sp.symbols("m n")
a0, b0 = 0, -2
Phi = m_**4 - 2*a0*m_**2*n_**2 - 8*b0*m_*n_**3 + a0**2*n_**4
Psi = 4*n_*(m_**3 + a0*m_*n_**2 + b0*n_**3)
lam_t = (3*x**2 + a)/(2*y)
rhs = x**3 + a*x + b
dup = sp.simplify((lam_t**2 - 2*x).subs(y, sp.sqrt(rhs))
                  - (x**4 - 2*a*x**2 - 8*b*x + a**2)/(4*rhs))
ch.claim("duplication-sympy", dup == 0, equals=True,
         why="exact symbolic simplification",
         statement="x(2P) = (x^4 - 2ax^2 - 8bx + a^2)/(4y^2)")
# Psi has degree 3 in m, so the resultant of the forms gains lc(Phi) = 1
R_res = int(abs(sp.resultant(Phi.subs(n_, 1), Psi.subs(n_, 1), m_)))
L = max(sum(abs(int(c)) for c in sp.Poly(f, m_, n_).coeffs())
        for f in (Phi, Psi))
u = np.linspace(-1, 1, 200_001)
f_phi, f_psi = sp.lambdify((m_, n_), Phi), sp.lambdify((m_, n_), Psi)
grid_min = min(np.maximum(abs(f_phi(1, u)), abs(f_psi(1, u))).min(),
               np.maximum(abs(f_phi(u, 1)), abs(f_psi(u, 1))).min())
mu = grid_min - 4*L*(u[1] - u[0])/2  # forms are 4L-Lipschitz on a side
lo, hi = math.log(mu) - math.log(R_res), math.log(L)
ch.measured("e-lower-bound", lo,
            why="descriptive: log(mu) - log|R|, a proven bound")
ch.measured("e-upper-bound", hi, why="descriptive: log L, a proven bound");

# %% [markdown]
# Now double $P=(3,5)$ eight times on $y^2=x^3-2$, exactly, and record the height, the error $e$
# of each step and the gcd $g$:

# %%
Q, heights, errors, exact = (Fr(3), Fr(5)), [naive_height(3)], [], True
for _ in range(8):
    mm, nn = Q[0].numerator, Q[0].denominator
    ph, ps = f_phi(mm, nn), f_psi(mm, nn)  # Python integers: exact
    Q = ec_double(Q, a0, b0)
    exact &= Q[0] == Fr(ph, ps) and R_res % math.gcd(ph, ps) == 0
    heights.append(naive_height(Q[0]))
    errors.append(heights[-1] - 4*heights[-2])
ch.claim("doubling-forms-gcd", exact, equals=True, why="exact integers",
         statement="x(2Q) = Phi/Psi and gcd(Phi, Psi) | R at every step")
ch.claim("doubling-error-min", min(errors), at_least=lo,
         why="proven lower bound log(mu) - log|R|",
         statement="h(2Q) - 4h(Q) >= log(mu) - log|R| at every step")
ch.claim("doubling-error-max", max(errors), at_most=hi,
         why="proven upper bound log L",
         statement="h(2Q) - 4h(Q) <= log L at every step")
h_prev = heights[-2]
ch.claim("last-digit-ratio", heights[-1]/h_prev,
         between=(4 + lo/h_prev, 4 + hi/h_prev),
         why="the bounds on e divided by h(Q)",
         statement="the last doubling multiplies the digits by ~4")
ch.measured("digits-last", heights[-1]/math.log(10),
            why="descriptive: decimal digits of max(|m|, n) for 256P");

# %% [markdown]
# The measured error $e$ stays between {glue:text}`doubling-error-min:.3g` and
# {glue:text}`doubling-error-max:.3g`, inside the proven interval
# [{glue:text}`e-lower-bound:.3g`, {glue:text}`e-upper-bound:.3g`], while the height itself
# grows to about {glue:text}`digits-last:.0f` decimal digits for $256P$; the last doubling
# multiplies the digit count by {glue:text}`last-digit-ratio:.6f`. For general multiples the
# same argument gives $h(x(nP))\approx \hat h(P)\,n^2$ (the canonical height): the figure shows
# $h(x(nP))/n^2$ settling to a constant.

# %% mystnb={"figure": {"caption": "Height growth on $y^2=x^3-2$ from $P=(3,5)$. Left: decimal digits of $x(2^kP)$ (numerator or denominator, whichever is larger) against the number of doublings, with the line $4^k$ for comparison. Right: $h(x(nP))/n^2$ for $n\\le60$, which converges to the canonical height of $P$.", "name": "fig-rational-points-heights"}} tags=["hide-input"]
Qn, ratio = None, []
for n in range(1, 61):
    Qn = ec_add(Qn, (3, 5), a0, b0)
    ratio.append(naive_height(Qn[0])/n**2)
ch.measured("canonical-height-estimate", ratio[-1],
            why="descriptive: h(x(60P))/60^2")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ks = np.arange(len(heights))
digits = np.array(heights)/math.log(10)
ax1.semilogy(ks, digits, "o-", label="digits of $x(2^kP)$")
ax1.semilogy(ks, digits[1]*4.0**(ks - 1), "k--", lw=1, label="$\\propto 4^k$")
ax1.set_xlabel("doublings $k$")
ax1.set_ylabel("decimal digits")
ax1.legend()
ax2.plot(range(1, 61), ratio, "o", ms=3)
ax2.set_xlabel("$n$")
ax2.set_ylabel("$h(x(nP))/n^2$")
plt.show()

# %% [markdown]
# The ratio settles near {glue:text}`canonical-height-estimate:.4f`: the digits of $nP$ grow
# quadratically in $n$, which is why a chord–tangent search for small solutions can only take a
# few steps before the numbers become enormous.
#
# ## 5. What the article prints, and what comes next
#
# The part of the article we could read is its introduction; we listed every number in it. It
# recalls that the series proved Fermat's Last Theorem for $n=3$ and $n=4$ with unique
# factorisation in the Eisenstein and Gaussian integers, gives the life dates of Gauss and
# Eisenstein, and announces that a later article takes up $x^4+y^4=z^4+w^4$, where even finding
# a few solutions is hard. None of these is computed here: the exponents belong to earlier
# articles, the dates are biography (they agree with the standard ones), and the quartic
# equation to a later article. As a preview of that difficulty, the smallest nontrivial
# solution of $x^4+y^4=z^4+w^4$, found by Euler, is already
# {glue:text}`euler-quartic-smallest:d`; a direct search confirms that nothing smaller exists.

# %%
sums = {}
for p in range(1, 160):
    for q in range(p, 160):
        sums.setdefault(p**4 + q**4, []).append((p, q))
smallest = min(k for k, v in sums.items() if len(v) > 1)
ch.claim("euler-quartic-smallest", smallest, equals=59**4 + 158**4,
         why="exact search: a smaller sum only uses bases below 159",
         statement="the least x^4 + y^4 = z^4 + w^4 is Euler's "
                   "59^4 + 158^4 = 133^4 + 134^4")
ch.claim("euler-quartic-identity", 59**4 + 158**4 == 133**4 + 134**4,
         equals=True, why="exact integers", statement="Euler's identity")
earlier = "proved in earlier articles of the series, not in this one"
ch.source_number("3", where="introduction: FLT for n = 3", fate="out of scope",
                 reason=earlier + "; see the check fermat-cubic-closed")
ch.source_number("4", where="introduction: FLT for n = 4", fate="out of scope",
                 reason=earlier)
for year, who in [("1777", "Gauss, born"), ("1855", "Gauss, died"),
                  ("1823", "Eisenstein, born"), ("1852", "Eisenstein, died")]:
    ch.source_number(year, where=f"introduction: {who}", fate="out of scope",
                     reason="a biographical date, not a computation "
                            "(it agrees with standard biographies)")
ch.source_number("x^4+y^4=z^4+w^4", value=4.0,
                 where="introduction: the equation of a later article",
                 fate="out of scope",
                 reason="studied in a later article; "
                        "euler-quartic-smallest is only a preview")

# %% [markdown]
# **Where the article is imprecise.** In the part we could read we found nothing to correct:
# the dates are right, and the remark that Diophantus already used the method is borne out by
# the *Arithmetica* example of Section 2. This chapter therefore has no erratum claim.
#
# ## Claims

# %%
ch.table()
