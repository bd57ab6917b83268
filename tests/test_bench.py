"""The benchmark runner tools/bench.py on fake benchmark scripts (no real benchmark runs)."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("tools_bench", ROOT / "tools" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

GOOD = '''
def rows(quick=False):
    n = 1 if quick else 2
    return [
        {"benchmark": "good", "case": f"fast, n = {n}", "peer": "builtin", "ratio": 0.5,
         "goal": 1.0, "met": True},
        {"benchmark": "good", "case": "slow", "peer": "builtin", "ratio": 2.0, "goal": 1.5,
         "met": False},
        {"benchmark": "good", "case": "no claim", "peer": "reference", "ratio": 3.0,
         "goal": None, "met": None},
    ]
'''
RAISING = '''
def rows(quick=False):
    raise RuntimeError("boom")
'''
NO_ROWS = '''
def measure():
    return 1.0
'''


def _write(directory: Path, **scripts: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        (directory / f"{name}.py").write_text(textwrap.dedent(body))
    return directory


@pytest.fixture
def isolated(monkeypatch):
    """main() pins the thread env vars and torch threads: restore both afterwards."""
    for var in bench.THREAD_ENV:
        monkeypatch.setenv(var, "1")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _run(tmp_path, *extra, **scripts):
    d = _write(tmp_path / "benchmarks", **scripts)
    out = tmp_path / "build" / "bench.json"
    code = bench.main(["--dir", str(d), "--out", str(out), *extra])
    return code, (json.loads(out.read_text()) if out.exists() else None)


@pytest.mark.parametrize(("ratio", "goal", "expected"), [
    (0.5, 1.0, True), (1.0, 1.0, True), (1.0000001, 1.0, False), (2.0, 1.5, False),
    (0.1, None, None), (50.0, None, None),
])
def test_met_is_ratio_at_most_goal(ratio, goal, expected):
    assert bench.met(ratio, goal) is expected


def test_json_shape_and_error_reporting(tmp_path, isolated, capsys):
    code, data = _run(tmp_path, "--quick", a_good=GOOD, b_raising=RAISING)
    assert code == 1  # one script raised
    assert set(data) == {"machine", "rows"}
    assert [r["case"] for r in data["rows"]] == ["fast, n = 1", "slow", "no claim"]  # quick=True
    for r in data["rows"]:
        assert list(r) == ["benchmark", "case", "peer", "ratio", "goal", "met"]
    assert [(r["ratio"], r["goal"], r["met"]) for r in data["rows"]] == [
        (0.5, 1.0, True), (2.0, 1.5, False), (3.0, None, None)]
    m = data["machine"]
    assert m["quick"] is True and m["torch_threads"] == 1
    assert m["thread_env"] == {var: "1" for var in bench.THREAD_ENV}
    for key in ("cpu", "cpu_count", "affinity", "torch", "numpy", "python", "platform", "date",
                "commit"):
        assert key in m
    assert m["date"].endswith("+00:00")
    out = capsys.readouterr().out
    assert "ERROR in b_raising.py: RuntimeError: boom" in out
    header = next(line for line in out.splitlines() if line.startswith("benchmark"))
    assert header.split() == ["benchmark", "case", "peer", "ratio", "goal", "met"]
    assert "a_good" in out and "b_raising" in out  # per-script times


def test_full_mode_passes_quick_false(tmp_path, isolated):
    code, data = _run(tmp_path, a_good=GOOD)
    assert code == 0  # an unmet goal alone does not fail ...
    assert data["rows"][0]["case"] == "fast, n = 2" and data["machine"]["quick"] is False


def test_strict_fails_on_unmet_goal(tmp_path, isolated):
    code, _ = _run(tmp_path, "--strict", a_good=GOOD)
    assert code == 1  # ... unless --strict


def test_script_without_rows_fails(tmp_path, isolated, capsys):
    code, data = _run(tmp_path, a_good=GOOD, norows=NO_ROWS)
    assert code == 1
    assert len(data["rows"]) == 3  # the good script's rows are still written
    assert "norows.py defines no rows(quick) function" in capsys.readouterr().out


def test_store_writes_same_json_only_when_all_succeed(tmp_path, isolated):
    store = tmp_path / "data" / "benchmarks.json"
    code, data = _run(tmp_path, "--store", str(store), a_good=GOOD)
    assert code == 0 and json.loads(store.read_text()) == data
    store.unlink()
    code, _ = _run(tmp_path, "--store", str(store), a_good=GOOD, b_raising=RAISING)
    assert code == 1 and not store.exists()


def test_helpers_skipped_and_empty_dir_fails(tmp_path, isolated):
    assert [p.name for p in bench.discover(_write(tmp_path / "b", _helper=RAISING, x=GOOD))] == [
        "x.py"]
    code, data = _run(tmp_path / "empty")
    assert code == 1 and data is None


@pytest.mark.parametrize(("row", "match"), [
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": 1.0}, "missing keys"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": 1.0, "goal": None, "note": ""},
     "unknown keys"),
    ({"benchmark": "x", "case": "", "peer": "p", "ratio": 1.0, "goal": None}, "case"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": 0.0, "goal": None}, "ratio"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": float("nan"), "goal": 1.0}, "ratio"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": True, "goal": 1.0}, "ratio"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": 1.0, "goal": -1.0}, "goal"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": 2.0, "goal": 1.0, "met": True}, "met"),
    ({"benchmark": "x", "case": "c", "peer": "p", "ratio": 2.0, "goal": None, "met": False},
     "met"),
])
def test_malformed_rows_rejected(row, match):
    with pytest.raises(ValueError, match=match):
        bench.check_row(row, "t.py row 0")


def test_malformed_row_fails_its_script(tmp_path, isolated, capsys):
    bad = 'def rows(quick=False):\n    return [{"benchmark": "b", "case": "c", "peer": "p", ' \
          '"ratio": 2.0, "goal": 1.0, "met": True}]\n'
    code, data = _run(tmp_path, a_good=GOOD, bad=bad)
    assert code == 1 and {r["benchmark"] for r in data["rows"]} == {"good"}
    assert "ERROR in bad.py: ValueError: bad.py row 0: met = True" in capsys.readouterr().out


def test_met_computed_when_missing_and_table_marks():
    row = bench.check_row({"benchmark": "x", "case": "c", "peer": "p", "ratio": 1.5,
                           "goal": 1.25}, "t")
    assert row["met"] is False
    table = bench.format_table([row, {**row, "ratio": 0.25, "goal": None, "met": None}])
    lines = table.splitlines()
    assert lines[2].endswith("NO") and "<= 1.25" in lines[2]
    assert lines[3].rstrip().endswith("-") and "0.25" in lines[3]
