"""Tests of the chapter runtime and claims (lib/book.py)."""

import math

import numpy as np
import pytest
import torch

from lib.book import CLAIMS_MIME, Chapter, check, claims_html


@pytest.fixture
def ch():
    return Chapter("test-chapter", glue=False)


def test_equals_with_tolerances():
    assert check(1.0 + 1e-13, equals=1.0, rtol=1e-12)[0]
    assert not check(1.0 + 1e-11, equals=1.0, rtol=1e-12)[0]
    assert check(1e-20, equals=0.0, atol=1e-15)[0]
    assert not check(1e-10, equals=0.0, rtol=1.0)[0]  # rtol of zero reference is zero


def test_bounds_and_between():
    assert check(0.5, at_most=1.0)[0]
    assert not check(1.5, at_most=1.0)[0]
    assert check(1.0 + 1e-12, at_most=1.0, atol=1e-10)[0]
    assert check(2.0, at_least=1.0)[0]
    assert not check(0.0, at_least=1.0)[0]
    assert check(0.3, between=(0.0, 1.0))[0]
    assert not check(1.3, between=(0.0, 1.0))[0]


def test_nan_never_passes():
    nan = float("nan")
    assert not check(nan, equals=1.0, atol=1e9)[0]
    assert not check(nan, at_most=1.0)[0]
    assert not check(nan, at_least=1.0)[0]
    assert not check(nan, between=(0, 1))[0]


def test_bools_and_integers_exact():
    assert check(True, equals=True)[0]
    assert not check(False, equals=True)[0]
    assert not check(1, equals=True)[0]
    assert check(7, equals=7)[0]
    assert not check(7, equals=8)[0]


def test_accepts_numpy_and_torch_scalars():
    assert check(np.float64(1.0), equals=1.0)[0]
    assert check(torch.tensor(2.0, dtype=torch.float64), equals=2.0)[0]
    assert check(np.array([3.0]), equals=3.0)[0]
    assert check(torch.tensor(True), equals=True)[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one of equals=, at_most=, at_least=, between="),
        ({"equals": 1.0, "at_most": 2.0}, "exactly one of equals=, at_most=, at_least=, between="),
        ({"equals": 1.0, "rtol": -1.0}, "^rtol and atol must be finite"),
        ({"equals": 1.0, "atol": math.inf}, "^rtol and atol must be finite"),
        ({"between": (2.0, 1.0)}, r"^between=\(lo, hi\) needs lo <= hi"),
    ],
)
def test_bad_check_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check(1.0, **kwargs)


def test_array_value_rejected():
    with pytest.raises(ValueError, match="value must be a scalar"):
        check(np.ones(3), equals=1.0)


def test_failing_claim_names_chapter_claim_and_numbers(ch):
    with pytest.raises(AssertionError) as e:
        ch.claim("the-bound", 1.25, at_most=1.0, atol=1e-12, why="exact inequality")
    msg = str(e.value)
    assert "'test-chapter'" in msg and "'the-bound'" in msg
    assert "1.25" in msg and "<= 1" in msg
    assert ch.claims[-1].passed is False


def test_claim_records_and_returns_value(ch):
    v = ch.claim("x", torch.tensor(0.5), equals=0.5, why="exact", statement="half")
    assert v == 0.5 and isinstance(v, float) and v + 1 == 1.5
    assert "✓" in repr(v) and "claim-line" in v._repr_html_()
    assert ch.claim("b", True, equals=True, why="exact")
    c = ch.claims[0]
    assert c.passed and c.statement == "half" and c.chapter == "test-chapter"


def test_claim_requires_reason_and_unique_name(ch):
    with pytest.raises(ValueError, match="why"):
        ch.claim("a", 1.0, equals=1.0, why=" ")
    ch.claim("a", 1.0, equals=1.0, why="exact")
    with pytest.raises(ValueError, match="used twice"):
        ch.claim("a", 1.0, equals=1.0, why="exact")
    with pytest.raises(ValueError, match="identifier"):
        ch.claim("has space", 1.0, equals=1.0, why="exact")


def test_table_emits_ledger_records(ch, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    ch.claim("a", 1.0, equals=1.0, rtol=1e-12, why="float64")
    ch.claim("b", 0.1, between=(0, 1), why="exact")
    assert ch.table() is None
    (bundle,) = shown
    payload = bundle[CLAIMS_MIME]
    assert payload["chapter"] == "test-chapter"
    assert [r["name"] for r in payload["claims"]] == ["a", "b"]
    assert payload["claims"][1]["reference_text"] == "[0, 1]"
    assert "<table" in bundle["text/html"] and "claim-pass" in bundle["text/html"]


def test_chapter_is_deterministic():
    a = Chapter("s", seed=3, glue=False).rng.normal(size=4)
    b = Chapter("s", seed=3, glue=False).rng.normal(size=4)
    assert np.array_equal(a, b)
    assert torch.get_num_threads() == 1


def test_empty_slug_rejected():
    with pytest.raises(ValueError, match="^slug must be a non-empty string"):
        Chapter("")


# -- the runtime cannot lose a claim -------------------------------------------------------
def test_nothing_after_table():
    ch = Chapter("t-closed", glue=False)
    ch.claim("a", 1.0, equals=1.0, why="exact")
    ch.table()
    with pytest.raises(RuntimeError, match="after ch.table"):
        ch.claim("b", 1.0, equals=1.0, why="exact")
    with pytest.raises(RuntimeError, match="after ch.table"):
        ch.measured("c", 1.0, why="descriptive")
    with pytest.raises(RuntimeError, match="after ch.table"):
        ch.source_number("1", where="§1", fate="out of scope", reason="r")
    with pytest.raises(RuntimeError, match="twice"):
        ch.table()


def test_tolerances_and_intervals_print_as_applied():
    ch = Chapter("t-exact", glue=False)
    c = ch.claim("a", 4293.4412, between=(4293.441, 4293.4419), atol=0.0014, why="w").claim
    assert c.tolerance_text() == "atol 0.0014"
    assert c.reference_text() == "[4293.441, 4293.4419]"


def test_measured_erratum_and_source_numbers():
    ch = Chapter("t-src", glue=False)
    ch.measured("t-run", 1.5, why="descriptive: a run time")
    with pytest.raises(ValueError, match="used twice"):
        ch.claim("t-run", 1.0, equals=1.0, why="exact")
    ch.claim("ok", 0.693, equals=0.6931, atol=5e-4, why="printed to 3 decimals")
    ch.claim("wrong", 2.0, at_least=1.5, why="exact", erratum="the article says 1 (§2)")
    assert ch.claims[-1].erratum and ch.claims[-1].article_says.startswith("the article")
    ch.source_number("0.693", where="§1", fate="reproduced", claim="ok")
    ch.source_number("1", where="§2", fate="contradicted", claim="wrong")
    ch.source_number("81.2%", where="Table 2", fate="out of scope", reason="pretrained weights")
    assert [s["value"] for s in ch.source_numbers] == [0.693, 1.0, 81.2]
    with pytest.raises(ValueError, match="erratum"):
        ch.source_number("0.693", where="§1", fate="contradicted", claim="ok")
    with pytest.raises(ValueError, match="claim"):
        ch.source_number("3", where="§1", fate="reproduced", claim="nope")
    with pytest.raises(ValueError, match="reason"):
        ch.source_number("3", where="§1", fate="out of scope")
    with pytest.raises(ValueError, match="fate"):
        ch.source_number("3", where="§1", fate="maybe")
    with pytest.raises(ValueError, match="erratum"):
        ch.claim("e", 1.0, equals=1.0, why="w", erratum=" ")


def test_stored_and_erratum_tags():
    ch = Chapter("t-tags", glue=False)
    c = ch.claim("s", 1.0, equals=1.0, why="exact", stored=True).claim
    assert c.stored and not c.erratum
    html_out = claims_html(ch.claims)
    assert "stored data" in html_out


def test_records_are_json_safe():
    import json

    ch = Chapter("t-json", glue=False)
    ch.claim("inf-ok", float("inf"), at_least=1.0, why="exact")
    ch.measured("m-inf", float("inf"), why="descriptive")
    ch.source_number("∞", where="§1", fate="out of scope", reason="r")
    from lib.book import _json_safe, _record

    rec = _json_safe(_record(ch.claims[0]))
    json.dumps(rec, allow_nan=False)
    json.dumps(ch.source_numbers, allow_nan=False)
    assert rec["value"] is None and ch.source_numbers[0]["value"] is None
