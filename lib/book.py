"""The chapter runtime: deterministic set-up and *claims*.

Every chapter starts with ``ch = Chapter("slug")`` and records each result it proves with
``ch.claim(...)``. A claim compares a computed value with a reference (or a bound) under a
stated tolerance and a stated reason for that tolerance. It

* raises ``AssertionError`` naming the chapter, the claim and both numbers when it fails,
  so nbval and the book build stop on a wrong derivation;
* glues the value (MyST-NB ``glue``) under the claim's name, so prose quotes the checked
  number with ``{glue:text}`name:.3g``` instead of typing it;
* records it; ``ch.table()`` closes the chapter with a table of its claims and emits the
  records (MIME type ``application/vnd.kexue.claims+json``) that the book's ledger page
  collects at build time.

See CONTRIBUTING.md ("Claims") for the conventions.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

import numpy as np

from lib.display import (  # noqa: F401  (re-exported: chapters import them from lib.book)
    _checked,
    _exact,
    _fmt,
    claims_html,
    claims_text,
    show_table,
    table_html,
)

CLAIMS_MIME = "application/vnd.kexue.claims+json"

__all__ = ["Chapter", "Claim", "CLAIMS_MIME", "FATES", "check", "show_table", "table_html"]

#: The fate of a number the source article prints (see ``Chapter.source_number``).
FATES = ("reproduced", "contradicted", "out of scope")


@dataclass(frozen=True)
class Claim:
    """One checked statement of a chapter."""

    chapter: str
    name: str
    statement: str
    value: float | bool
    relation: str  # "==", "<=", ">=", "in"
    reference: float | bool | tuple[float, float]
    rtol: float
    atol: float
    why: str
    passed: bool
    erratum: bool = False  # the claim demonstrates that the article is wrong or imprecise
    article_says: str = ""  # for an erratum: what the article states (with its section)
    stored: bool = False  # the value is read from data/ (computed offline), not re-computed live

    def reference_text(self) -> str:
        """The reference as applied (shortest exact repr, not a rounded display)."""
        if self.relation == "in":
            lo, hi = self.reference
            return f"[{_exact(lo)}, {_exact(hi)}]"
        return f"{self.relation} {_exact(self.reference)}"

    def tolerance_text(self) -> str:
        """The tolerances as applied (shortest exact repr)."""
        if isinstance(self.value, bool):
            return "exact"
        parts = []
        if self.rtol:
            parts.append(f"rtol {_exact(self.rtol)}")
        if self.atol:
            parts.append(f"atol {_exact(self.atol)}")
        if parts:
            return ", ".join(parts)
        return "exact" if self.relation == "==" else "none"


def _scalar(value, what: str):
    """Convert a Python/NumPy/torch scalar to ``bool``, ``int`` or ``float``."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"{what} must be a scalar, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    raise ValueError(f"{what} must be a real scalar or bool, got {type(value).__name__}")


def check(
    value,
    *,
    equals=None,
    at_most=None,
    at_least=None,
    between=None,
    rtol: float = 0.0,
    atol: float = 0.0,
) -> tuple[bool, str, object]:
    """Decide one comparison; returns ``(passed, relation, reference)``.

    * ``equals=r``: ``|v - r| <= atol + rtol * |r|`` (booleans and integers: exact unless a
      tolerance is given);
    * ``at_most=r``: ``v <= r + atol + rtol * |r|``;
    * ``at_least=r``: ``v >= r - (atol + rtol * |r|)``;
    * ``between=(lo, hi)``: both of the above.

    NaN never passes.
    """
    given = [x is not None for x in (equals, at_most, at_least, between)]
    if sum(given) != 1:
        raise ValueError("give exactly one of equals=, at_most=, at_least=, between=")
    if rtol < 0 or atol < 0 or not (math.isfinite(rtol) and math.isfinite(atol)):
        raise ValueError(f"rtol and atol must be finite and >= 0, got rtol={rtol}, atol={atol}")
    v = _scalar(value, "value")
    if equals is not None:
        ref = _scalar(equals, "equals")
        if isinstance(v, bool) or isinstance(ref, bool):
            return (bool(v) == bool(ref) and isinstance(v, bool) == isinstance(ref, bool)), "==", ref
        ok = abs(v - ref) <= atol + rtol * abs(ref)
        return bool(ok), "==", ref
    if isinstance(v, bool):
        raise ValueError("a boolean value can only be compared with equals=")
    if at_most is not None:
        ref = _scalar(at_most, "at_most")
        return bool(v <= ref + atol + rtol * abs(ref)), "<=", ref
    if at_least is not None:
        ref = _scalar(at_least, "at_least")
        return bool(v >= ref - (atol + rtol * abs(ref))), ">=", ref
    lo, hi = (_scalar(b, "between") for b in between)
    if lo > hi:
        raise ValueError(f"between=(lo, hi) needs lo <= hi, got ({lo}, {hi})")
    ok = (v >= lo - (atol + rtol * abs(lo))) and (v <= hi + atol + rtol * abs(hi))
    return bool(ok), "in", (lo, hi)


class Chapter:
    """Per-chapter runtime: seeds, single-threaded numerics, figure style and claims.

    Parameters
    ----------
    slug:
        The chapter's file name without extension (e.g. ``"logsumexp-inequalities"``);
        it names the chapter in failure messages and in the ledger.
    seed:
        Seeds Python's, NumPy's legacy and torch's global generators. Chapters should still
        pass explicit generators (``ch.rng`` is a ``numpy.random.Generator``).
    glue:
        Glue every claimed value for the prose (off outside a notebook, e.g. in tests).
    """

    def __init__(self, slug: str, *, seed: int = 0, glue: bool = True):
        if not slug or not isinstance(slug, str):
            raise ValueError("slug must be a non-empty string")
        self.slug = slug
        self.seed = seed
        self.claims: list[Claim] = []
        self.measured_values: dict[str, tuple] = {}
        self._closed = False
        self.source_numbers: list[dict] = []
        self._glue = glue
        random.seed(seed)
        np.random.seed(seed)
        self.rng = np.random.default_rng(seed)
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a book requirement
            torch = None
        if torch is not None:
            torch.manual_seed(seed)
            # Small ops on 2 cores run ~25x slower with two threads than with one.
            torch.set_num_threads(1)
        from lib import plotting

        plotting.use_book_style()

    # -- claims ---------------------------------------------------------------------------
    def claim(
        self,
        name: str,
        value,
        *,
        equals=None,
        at_most=None,
        at_least=None,
        between=None,
        rtol: float = 0.0,
        atol: float = 0.0,
        why: str,
        statement: str = "",
        erratum: str | None = None,
        stored: bool = False,
    ):
        """Check ``value`` against a reference or bound, glue it as ``name``, record it.

        ``why`` says where the tolerance comes from (float precision, Monte Carlo standard
        error, solver tolerance, "exact integer", ...); it is required. ``erratum="…"`` marks
        the claim as demonstrating an error of the article and says what the article states
        (cite its section); such a claim must be one that would fail if the article were
        right. Returns ``value`` as a Python number (a ``float``/``int`` subclass; booleans
        come back as 0/1) that displays as a one-line check mark when it ends a notebook cell.
        ``stored=True`` marks a claim whose value is read from ``data/`` (computed offline, with
        provenance) rather than computed when the chapter runs; the ledger labels it so.
        """
        if erratum is not None and not str(erratum).strip():
            raise ValueError("erratum= must state what the article says (or be omitted)")
        self._new_name(name)
        if not why or not why.strip():
            raise ValueError("why= must say where the tolerance comes from")
        passed, relation, ref = check(
            value,
            equals=equals,
            at_most=at_most,
            at_least=at_least,
            between=between,
            rtol=rtol,
            atol=atol,
        )
        v = _scalar(value, "value")
        c = Claim(self.slug, name, statement or name, v, relation, ref, rtol, atol, why, passed,
                  erratum is not None, erratum or "", bool(stored))
        self.claims.append(c)
        if not passed:
            raise AssertionError(
                f"chapter {self.slug!r}, claim {name!r} failed: value {v!r} is not "
                f"{c.reference_text()} ({c.tolerance_text()}; {why})"
            )
        if self._glue:
            _glue(name, v)
        return _checked(v, c)

    def _new_name(self, name: str) -> None:
        if self._closed:
            raise RuntimeError(
                f"chapter {self.slug!r}: {name!r} recorded after ch.table(); the ledger has "
                "already been emitted, so it would be lost — move it before the table"
            )
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"name must be a non-empty identifier, got {name!r}")
        if any(c.name == name for c in self.claims) or name in self.measured_values:
            raise ValueError(f"name {name!r} is used twice in chapter {self.slug!r}")

    def measured(self, name: str, value, *, why: str):
        """Glue a number the notebook measured but does not check (a descriptive value).

        Prose may quote it with ``{glue:text}`` like a claim; it is listed in the claims
        table's "measured, not checked" section, so a reader sees which numbers carry no
        assertion. ``why`` says why it needs none (e.g. "descriptive: the run time").
        """
        self._new_name(name)
        if not why or not why.strip():
            raise ValueError("why= must say why this number is reported without a check")
        v = _scalar(value, "value")
        self.measured_values[name] = (v, why)
        if self._glue:
            _glue(name, v)
        return v

    def source_number(
        self,
        printed: str,
        *,
        where: str,
        fate: str,
        claim: str | None = None,
        value: float | None = None,
        reason: str = "",
    ) -> None:
        """Record one number the source article prints and what became of it.

        ``printed`` is the string as the article prints it (``"0.693"``), ``where`` the
        table/section/equation; ``fate`` is ``"reproduced"`` or ``"contradicted"`` (then
        ``claim`` names a claim of this chapter that compares with it; a contradicted number
        needs an erratum claim) or ``"out of scope"`` (then ``reason`` says why).
        """
        if self._closed:
            raise RuntimeError(f"chapter {self.slug!r}: source number recorded after ch.table()")
        if fate not in FATES:
            raise ValueError(f"fate must be one of {FATES}, got {fate!r}")
        if not str(printed).strip() or not str(where).strip():
            raise ValueError("printed and where must be non-empty strings")
        if fate == "out of scope":
            if not reason.strip():
                raise ValueError("reason: an out-of-scope number needs the reason")
        else:
            found = [c for c in self.claims if c.name == claim]
            if not found:
                raise ValueError(f"claim: {claim!r} is not a claim made so far in {self.slug!r}")
            if fate == "contradicted" and not found[0].erratum:
                raise ValueError(f"claim: a contradicted number needs an erratum claim, "
                                 f"{claim!r} is not marked erratum=")
        if value is None:
            try:
                value = float(str(printed).replace(",", "").rstrip("%"))
            except ValueError:
                value = float("nan")
        self.source_numbers.append({
            "chapter": self.slug, "printed": str(printed), "value": _finite_or_none(value),
            "where": where, "fate": fate, "claim": claim if fate != "out of scope" else None,
            "reason": reason,
        })

    def table(self) -> None:
        """Display the chapter's claims table and emit its ledger records (once: a claim
        made after this raises, since the ledger would not see it)."""
        if self._closed:
            raise RuntimeError(f"chapter {self.slug!r}: ch.table() called twice")
        self._closed = True
        records = [_json_safe(_record(c)) for c in self.claims]
        measured = [{"name": k, "value": _finite_or_none(v), "value_text": _fmt(v), "why": w}
                    for k, (v, w) in self.measured_values.items()]
        html_out = claims_html(self.claims)
        if measured:
            html_out += "<p><strong>Measured, not checked</strong> (descriptive numbers quoted in " \
                "the text)</p>" + table_html(["name", "value", "why no check"],
                                               [[m["name"], m["value_text"], m["why"]] for m in measured])
        if self.source_numbers:
            html_out += "<p><strong>Numbers printed in the article</strong></p>" + table_html(
                ["printed", "where", "fate", "claim / reason"],
                [[s["printed"], s["where"], s["fate"], s["claim"] or s["reason"]]
                 for s in self.source_numbers])
        bundle = {
            "text/html": html_out,
            "text/plain": claims_text(self.claims),
            CLAIMS_MIME: {"chapter": self.slug, "claims": records, "measured": measured,
                          "source_numbers": self.source_numbers},
        }
        try:
            from IPython.display import display

            display(bundle, raw=True)
        except ImportError:  # pragma: no cover
            print(bundle["text/plain"])


def _record(c: Claim) -> dict:
    d = asdict(c)
    d["reference_text"] = c.reference_text()
    d["tolerance_text"] = c.tolerance_text()
    d["value_text"] = _fmt(c.value)
    if isinstance(d["reference"], tuple):
        d["reference"] = list(d["reference"])
    return d


def _glue(name: str, value) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - myst-nb is a book requirement
        return
    glue(name, value, display=False)


def _finite_or_none(x):
    """JSON has no NaN or infinity: a non-finite number is recorded as null (its text stays)."""
    if isinstance(x, bool) or x is None:
        return x
    x = float(x) if not isinstance(x, int) else x
    return x if isinstance(x, int) or math.isfinite(x) else None


def _json_safe(d: dict) -> dict:
    """A ledger record with non-finite numbers (value, reference, bounds) replaced by null."""
    out = dict(d)
    for k in ("value", "reference"):
        v = out.get(k)
        if isinstance(v, list):
            out[k] = [_finite_or_none(x) for x in v]
        elif isinstance(v, int | float):
            out[k] = _finite_or_none(v)
    return out
