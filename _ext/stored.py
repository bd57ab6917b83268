"""Tables of measurements stored in ``data/`` (not made at build time) for the status page.

``{benchmark-table}`` renders ``data/benchmarks.json`` (written by ``make bench`` with
``--store``: ratios of ours against a named peer) and ``{mutation-table}`` the latest entry
per module of ``data/mutation.json`` (written by ``make mutate``). Both say when and where
they were measured: the build only shows them. The page depends on the file (``note_dependency``),
so storing a new measurement rebuilds it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive


def _esc(x) -> str:
    return html.escape("" if x is None else str(x))


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<table class='claims-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _ratio(x) -> str:
    return "—" if x is None else f"{x:.3g}"


def benchmarks_html(data: dict) -> str:
    m = data.get("machine", {})
    where = (f"Measured on {_esc(m.get('date'))} on {_esc(m.get('cpu'))} "
             f"({_esc(m.get('cpu_count'))} cores, load average "
             f"{_esc(', '.join(str(x) for x in m.get('load_average') or []) or 'unknown')}; "
             f"torch {_esc(m.get('torch'))}, NumPy "
             f"{_esc(m.get('numpy'))}, {_esc(m.get('torch_threads'))} torch thread(s); commit "
             f"{_esc(m.get('commit'))}{'; quick mode' if m.get('quick') else ''}) and stored in "
             "<code>data/benchmarks.json</code> by <code>make bench</code>; <b>not</b> measured "
             "when this site was built. Ratio = ours ÷ peer (lower is better); goal = the "
             "largest acceptable ratio.")
    rows = []
    for r in data.get("rows", []):
        met = r.get("met")
        verdict = "—" if met is None else ("met" if met else "<b>not met</b>")
        rows.append([_esc(r.get("benchmark")), _esc(r.get("case")), _esc(r.get("peer")),
                     _ratio(r.get("ratio")), _ratio(r.get("goal")), verdict])
    return (f"<p>{where}</p>"
            + _table(["Benchmark", "Case", "Peer", "Ratio", "Goal", "Goal met"], rows))


def mutation_html(runs: list[dict]) -> str:
    latest: dict[str, dict] = {}
    for run in runs:  # the file is appended to: the last run of a module is its current state
        latest[run.get("module")] = run
    rows = []
    for module, r in sorted(latest.items(), key=lambda kv: str(kv[0])):
        n = r.get("counts", {})
        equivalent = n.get("equivalent (rule)", 0) + n.get("equivalent (listed)", 0)
        detected = n.get("killed", 0) + n.get("timeout", 0) + n.get("segfault", 0)
        undetected = sum(n.get(k, 0) for k in ("survived", "no tests", "suspicious",
                                               "not checked"))
        rate = r.get("kill_rate")
        rows.append([f"<code>{_esc(module)}</code>", _esc(r.get("total")), _esc(detected),
                     _esc(equivalent), _esc(undetected),
                     "—" if rate is None else f"{100 * rate:.1f} %",
                     _esc(str(r.get("date", ""))[:10]), _esc(r.get("mutmut"))])
    return ("<p>Mutation testing of <code>lib</code> modules with mutmut: each row is the "
            "latest run stored in <code>data/mutation.json</code> by <code>make mutate</code>, "
            "measured on the date shown, <b>not</b> when this site was built. Survivors and why "
            "each is equivalent: <code>data/mutation-survivors.md</code>.</p>"
            + _table(["Module", "Mutants", "Detected (killed, timeout)", "Equivalent",
                      "Undetected", "Kill rate", "Date", "mutmut"], rows))


class _StoredTable(Directive):
    file = ""
    render = staticmethod(lambda data: "")

    def run(self):
        env = self.state.document.settings.env
        path = Path(env.srcdir) / "data" / self.file
        env.note_dependency(str(path))
        if not path.exists():
            para = nodes.paragraph(text=f"No stored measurements yet (data/{self.file}).")
            return [para]
        data = json.loads(path.read_text(encoding="utf8"))
        return [nodes.raw("", self.render(data), format="html")]


class BenchmarkTable(_StoredTable):
    file = "benchmarks.json"
    render = staticmethod(benchmarks_html)


class MutationTable(_StoredTable):
    file = "mutation.json"
    render = staticmethod(mutation_html)


def setup(app):
    app.add_directive("benchmark-table", BenchmarkTable)
    app.add_directive("mutation-table", MutationTable)
