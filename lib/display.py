"""How claims and small result tables look in a notebook and on the page.

The rendering half of the chapter runtime (``lib.book`` keeps the logic): number formats, the
one-line check mark a claim shows when it ends a cell, the closing claims table, and
``show_table`` for the small result tables chapters display. Cells are HTML-escaped.
"""

from __future__ import annotations

import html

import numpy as np

__all__ = ["claims_text", "claims_html", "table_html", "show_table"]


def _fmt(x) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int | np.integer):
        return str(int(x))
    x = float(x)
    if x == 0 or (1e-3 <= abs(x) < 1e5):
        return f"{x:.6g}"
    return f"{x:.4e}"


def _exact(x) -> str:
    """Shortest string that round-trips to the same float (what a comparison applied)."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int | np.integer):
        return str(int(x))
    return repr(float(x))


class _ClaimDisplay:
    """Mixin: a claimed number that displays as a one-line check when it ends a cell."""

    claim: object

    def _repr_html_(self) -> str:
        return _claim_line_html(self.claim)

    def __repr__(self) -> str:
        return _claim_line_text(self.claim)


class _CheckedFloat(_ClaimDisplay, float):
    """A claimed float; arithmetic is the float's."""


class _CheckedInt(_ClaimDisplay, int):
    """A claimed int or bool (as 0/1); arithmetic is the int's."""


def _checked(v, c):
    out = _CheckedFloat(v) if isinstance(v, float) else _CheckedInt(v)
    out.claim = c
    return out


def _claim_line_text(c) -> str:
    return f"✓ {c.name} = {_fmt(c.value)}  ({c.reference_text()}; {c.tolerance_text()})"


def _claim_line_html(c) -> str:
    e = html.escape
    return (
        f"<div class='claim-line'><span class='claim-ok'>✓ claim</span> <code>{e(c.name)}</code>"
        f" = <strong>{e(_fmt(c.value))}</strong> <span class='claim-statement'>"
        f"({e(c.reference_text())}; {e(c.tolerance_text())})</span></div>"
    )



def claims_text(claims) -> str:
    rows = [f"{'claim':40s} {'value':>14s}  {'reference':>24s}  tolerance  pass"]
    for c in claims:
        rows.append(
            f"{c.name:40s} {_fmt(c.value):>14s}  {c.reference_text():>24s}  "
            f"{c.tolerance_text()}  {'yes' if c.passed else 'NO'}"
        )
    return "\n".join(rows)


def _tags_html(c) -> str:
    """Small labels after a claim's name: erratum, stored data."""
    get = (lambda k: c.get(k)) if isinstance(c, dict) else (lambda k: getattr(c, k, False))
    tags = []
    if get("erratum"):
        tags.append("<span class='claim-tag tag-erratum'>erratum</span>")
    if get("stored"):
        tags.append("<span class='claim-tag tag-stored'>stored data</span>")
    return (" " + " ".join(tags)) if tags else ""


def claims_html(claims) -> str:
    e = html.escape
    head = (
        "<table class='claims-table'><thead><tr><th>Claim</th><th>Value</th>"
        "<th>Reference</th><th>Tolerance</th><th>Why this tolerance</th><th>Pass</th>"
        "</tr></thead><tbody>"
    )
    body = "".join(
        f"<tr class='{'claim-pass' if c.passed else 'claim-fail'}'>"
        f"<td><code>{e(c.name)}</code>{_tags_html(c)}<br><span class='claim-statement'>{e(c.statement)}</span></td>"
        f"<td>{e(_fmt(c.value))}</td><td>{e(c.reference_text())}</td>"
        f"<td>{e(c.tolerance_text())}</td><td>{e(c.why)}</td>"
        f"<td>{'✓' if c.passed else '✗ FAIL'}</td></tr>"
        for c in claims
    )
    return head + body + "</tbody></table>"


def table_html(header, rows, *, caption: str | None = None) -> str:
    """A small HTML result table (escaped cells; numbers formatted like the claims table)."""
    e = html.escape

    def cell(x):
        if isinstance(x, float | np.floating):
            return e(_fmt(float(x)))
        return e(str(x))

    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(x)}</td>" for x in r) + "</tr>" for r in rows)
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return (f"<table class='result-table'>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def show_table(header, rows, *, caption: str | None = None) -> None:
    """Display :func:`table_html` in the cell's output, wherever in the cell it is called.

    The one way chapters show small result tables; cells are strings or numbers (format
    numbers yourself, e.g. ``f"{m:.3f} ± {se:.3f}"``, when a precision matters).
    """
    from IPython.display import HTML, display

    display(HTML(table_html(header, rows, caption=caption)))
