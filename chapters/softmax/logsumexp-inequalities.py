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
# (ch-lse)=
# # Inequalities for logsumexp
#
# Test.

# %%
import torch

from lib.book import Chapter
from lib.softmax import smooth_max

ch = Chapter("logsumexp-inequalities")
x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
ch.claim("lse-gap", smooth_max(x) - x.max(), between=(0, float(torch.log(torch.tensor(3.0)))), why="exact bound; float64 rounding far below")

# %% [markdown]
# The gap is {glue:text}`lse-gap:.4f`.
#
# $$
# \mathrm{lse}(x) \le \max x + \log n
# $$ (lse-basic)
#
# See {eq}`lse-basic` and {cite}`su2022lse`.

# %% mystnb={"figure": {"caption": "A test figure.", "name": "fig-test"}}
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
ax.set_xlabel("x")
plt.show()

# %% [markdown]
# See {numref}`fig-test` and {prf:ref}`thm-test`.
#
# :::{prf:theorem} Basic bounds
# :label: thm-test
# For $x\in\mathbb R^n$, $\max x \le \mathrm{lse}(x)$.
# :::
#
# :::{prf:proof}
# Obvious.
# :::
#
# ```{literalinclude} /lib/softmax.py
# :pyobject: smooth_max
# ```

# %%
ch.table()

# %% [markdown]
# ```{bibliography}
# :filter: docname in docnames
# ```
