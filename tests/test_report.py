"""`neuromfa report`: the page holds the stored values, is self-contained, and renders in headless
Chromium (Debian's chromium package) with every figure loaded."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli
from jobs_helpers import FIXTURE, settings_for, store_graph

from neuromfa import api
from neuromfa.base.errors import AnalysisError, NotFoundError
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.queries import run_query
from neuromfa.report import STEP_LIST_MAX, step_list, write_report
from neuromfa.report_html import OPEN_ROWS, fmt, fmt_pm, frame_table, table_html
from neuromfa.results.compare import compare_frame
from neuromfa.results.tables import emergence_frame, results_frame
from neuromfa.schema.params import AnalysisParams

CHROMIUM = Path("/usr/bin/chromium")
MODEL = "rep"
# Three checkpoints of the fixture, each sampled with its own seeds so the values differ per step.
STEPS = {0: 0, 10: 7, 100: 13}  # step -> seed_base
VAL_LOSS = {0: 6.25, 10: 5.125, 100: 4.5}
PM = " ± "
CLI = [sys.executable, "-m", "neuromfa.cli"]


class PageParser(HTMLParser):
    """Tables by id (header cells, body rows of cell text) and every <img>'s attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list]] = {}
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self._table: dict[str, list] | None = None
        self._part = "body"
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id") or f"table{len(self.tables)}", {"head": [], "rows": []})
        elif tag in ("thead", "tbody"):
            self._part = tag
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append({k: v or "" for k, v in a.items()})

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._part == "thead":
                self._table["head"] = self._row
            else:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def columns(table: dict[str, list]) -> list[dict[str, str]]:
    return [dict(zip(table["head"], row)) for row in table["rows"]]


@pytest.fixture
def analysed(store, graph_server):
    """Model MODEL: the fixture at three steps x 2 samples, val_loss per step, a metric at one
    step only, analysed in shortest-path and one-hop mode."""
    for step, seed_base in STEPS.items():
        metrics = {"val_loss": VAL_LOSS[step], **({"lambada_acc": 0.25} if step == 100 else {})}
        for sample in range(2):
            snin = snin_for_checkpoint(FIXTURE, sample=sample, k=8, seed_base=seed_base)
            store_graph(store, snin, MODEL, step, sample, k=8, metrics=metrics)
    settings = settings_for(graph_server, store)
    for mode in ("shortest-path", "one-hop"):
        api.analyze(MODEL, mode=mode, wait=False, settings=settings)
        api.work(once=True, store=store)
    return store


def test_tables_hold_the_stored_values(analysed, tmp_path):
    store = analysed
    info = write_report(store, MODEL, tmp_path / "out", mode="shortest-path")
    assert info.path == tmp_path / "out" / f"{MODEL}-report.html"
    assert info.steps == list(STEPS)
    assert info.tables == ["summary", "modes", "emergence", "results"]
    assert info.figures == ["emergence-figure", "spectra-figure", "nfd-figure"]
    assert info.notes == []
    html = info.path.read_text(encoding="utf-8")
    page = parse(html)

    # the summary, against the Model node and the graphs as stored
    model = store.read("MATCH (m:Model {name: $m}) RETURN m.arch AS arch, m.hidden AS hidden, "
                       "m.blocks AS blocks, m.params AS params", m=MODEL)[0]
    summary = dict(page.tables["summary"]["rows"])
    assert summary["model"] == MODEL
    assert summary["architecture"] == model["arch"]
    assert summary["hidden size"] == fmt(model["hidden"]) == "64"
    assert summary["blocks"] == fmt(model["blocks"]) == "2"
    assert summary["parameters"] == f"{model['params']:,}"
    assert summary["checkpoints"] == "3 (steps 0 to 100)"
    assert summary["steps"] == "0, 10, 100"
    assert summary["graphs"] == "6 (2 samples)"
    assert summary["analysed graphs"] == "6" and summary["analyses"] == "12"
    assert summary["checkpoint metrics"] == "val_loss, lambada_acc"

    modes = {r["mode"]: r for r in columns(page.tables["modes"])}
    assert set(modes) == {"one-hop", "shortest-path"}
    for row in modes.values():
        assert (row["analyses"], row["graphs"], row["steps"], row["parameter sets"]) == ("6", "6", "3", "1")

    # the emergence table, row by row, against the frame read from the database
    expected = emergence_frame(store, MODEL, mode="shortest-path")
    shown = columns(page.tables["emergence"])
    assert [r["step"] for r in shown] == [fmt(s) for s in STEPS]
    for row, want in zip(shown, expected.itertuples()):
        assert row["val_loss"] == fmt(VAL_LOSS[want.step]) == fmt(want.val_loss)
        assert row["lambada_acc"] == ("0.25" if want.step == 100 else "–")
        assert row["n samples"] == "2" and row["passed filter"] == fmt(want.n_passed)
        assert row["α₀ mean ± std"] == f"{fmt(want.alpha0_mean)}{PM}{fmt(want.alpha0_std)}"
        assert row["width mean ± std"] == f"{fmt(want.width_mean)}{PM}{fmt(want.width_std)}"
        assert row["E of the means"] == fmt(want.E)
        assert row["E mean ± std"] == f"{fmt(want.E_mean)}{PM}{fmt(want.E_std)}"
        assert row["paired samples"] == fmt(want.n_paired)
    assert shown[0]["E of the means"] == "0"  # E(t0) = 0 by definition
    assert len({r["α₀ mean ± std"] for r in shown}) == 3  # the steps really differ
    # without a null model: the columns as they were before null models existed
    assert page.tables["emergence"]["head"] == [
        "step", "val_loss", "lambada_acc", "n samples", "passed filter", "α₀ mean ± std", "width mean ± std",
        "E of the means", "E mean ± std", "paired samples"]
    assert "E_struct" not in html and "null model" not in html

    # the per-graph results, against the results frame, and against the Analysis nodes
    results = results_frame(store, MODEL, mode="shortest-path")
    rows = columns(page.tables["results"])
    assert [r["gid"] for r in rows] == results["gid"].tolist()
    assert not {"null", "band", "α₀ z", "width z"} & set(page.tables["results"]["head"])
    for row, want in zip(rows, results.itertuples()):
        assert (row["step"], row["sample"], row["mode"]) == (fmt(want.step), fmt(want.sample), "shortest-path")
        assert row["α₀"] == fmt(want.alpha0) and row["width"] == fmt(want.width)
        assert row["min R²"] == fmt(want.r2_min) and row["T"] == fmt(want.threshold)
        assert row["nodes used"] == fmt(want.nodes_used) and row["edges used"] == fmt(want.edges_used)
        assert row["passed filter"] == ("yes" if want.passed_filter else "no")
    stored = store.read("MATCH (a:Analysis {mode: 'shortest-path'})-[:ANALYSIS_OF]->(g:Graph) "
                        "RETURN g.gid AS gid, a.alpha0 AS alpha0")
    assert {r["gid"]: fmt(r["alpha0"]) for r in stored} == {r["gid"]: r["α₀"] for r in rows}

    # self-contained: three inlined PNGs, no script, nothing fetched from anywhere
    assert len(page.images) == 3
    for img in page.images:
        assert img["src"].startswith("data:image/png;base64,")
        png = mpimg.imread(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])), format="png")
        assert png.shape[0] > 300 and png.shape[1] > 600
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert not re.search(r"""\b(src|href|action|srcset)\s*=\s*(?!["']?data:)""", html, re.I)
    assert "url(" not in html and "@import" not in html


def test_one_hop_mode_and_reference_step(analysed, tmp_path):
    info = write_report(analysed, MODEL, tmp_path, mode="one-hop", reference_step=10)
    page = parse(info.path.read_text(encoding="utf-8"))
    expected = emergence_frame(analysed, MODEL, mode="one-hop", reference_step=10)
    shown = columns(page.tables["emergence"])
    assert [r["E of the means"] for r in shown] == [fmt(e) for e in expected["E"]]
    assert shown[1]["E of the means"] == "0"
    assert "with t0 = step 10:" in info.path.read_text(encoding="utf-8")
    assert {r["mode"] for r in columns(page.tables["results"])} == {"one-hop"}


def test_a_null_model_shows_beside_the_real_values(analysed, graph_server, tmp_path):
    settings = settings_for(graph_server, analysed)
    api.analyze(MODEL, mode="one-hop", min_mass=3, null="shuffle", null_samples=3, wait=False, settings=settings)
    api.work(once=True, store=analysed)
    info = write_report(analysed, MODEL, tmp_path, mode="one-hop")
    html = info.path.read_text(encoding="utf-8")
    page = parse(html)
    expected = emergence_frame(analysed, MODEL, mode="one-hop")
    assert expected["E_null"].notna().all()
    head = page.tables["emergence"]["head"]
    assert head[head.index("E of the means"):] == [
        "E of the means", "E mean ± std", "paired samples", "E_null", "E_struct", "α₀ null mean ± std",
        "width null mean ± std", "α₀ z", "width z"]
    shown = columns(page.tables["emergence"])
    for row, want in zip(shown, expected.itertuples()):
        assert row["E of the means"] == fmt(want.E)
        assert row["E_null"] == fmt(want.E_null) and row["E_struct"] == fmt(want.E_struct)
        assert row["α₀ null mean ± std"] == f"{fmt(want.alpha0_null)}{PM}{fmt(want.alpha0_null_std)}"
        assert row["width null mean ± std"] == f"{fmt(want.width_null)}{PM}{fmt(want.width_null_std)}"
        assert row["α₀ z"] == fmt(want.alpha0_z) and row["width z"] == fmt(want.width_z)
    # the null std column is the mean over the samples of the stored per-graph null std
    stds = analysed.read("MATCH (a:Analysis)-[:ANALYSIS_OF]->(g:Graph) WHERE a.null = 'shuffle' "
                         "RETURN g.step AS step, a.null_alpha0_std AS s")
    by_step = pd.DataFrame(stds).groupby("step")["s"].mean()
    assert np.allclose(expected.set_index("step")["alpha0_null_std"], by_step, rtol=0, atol=1e-12)
    assert "Of E_struct (E − E_null) with val_loss: ρ = " in html
    assert "dashed grey: the null model" in html and "E_struct = E − E_null" in html
    results = columns(page.tables["results"])
    assert {r["null"] for r in results} == {"shuffle"} and all(r["α₀ z"] != "–" for r in results)


def _one_checkpoint(store, graph_server, name="one", step=5):
    """A model with one checkpoint (2 samples), analysed in one-hop mode."""
    for sample in range(2):
        store_graph(store, snin_for_checkpoint(FIXTURE, sample=sample, k=8, seed_base=3), name, step, sample, k=8)
    api.analyze(name, mode="one-hop", wait=False, settings=settings_for(graph_server, store))
    api.work(once=True, store=store)


def test_a_single_checkpoint_model_gets_a_checkpoint_page(store, graph_server, tmp_path):
    _one_checkpoint(store, graph_server)
    info = write_report(store, "one", tmp_path)
    assert info.mode == "one-hop" and info.steps == [5] and info.notes == []
    assert info.tables == ["summary", "modes", "emergence", "band-census", "results"]
    assert info.figures == ["spectra-figure", "nfd-figure"]  # no emergence figure: no training axis
    html = info.path.read_text(encoding="utf-8")
    page = parse(html)
    assert "Checkpoint at step 5" in html and "over training" not in html and "symlog" not in html
    assert page.tables["emergence"]["head"] == ["step", "n samples", "passed filter", "α₀ mean ± std", "width mean ± std"]
    want = emergence_frame(store, "one", mode="one-hop").iloc[0]
    (row,) = columns(page.tables["emergence"])
    assert row["α₀ mean ± std"] == fmt_pm(want.alpha0_mean, want.alpha0_std)
    # the band census: the query's per-graph rows summed per kind, at the analyses' T
    census = run_query("band-census", store=store, model="one", threshold=AnalysisParams().threshold)
    sums = census.groupby("kind")[["edges", "in_band", "beyond_band"]].sum()
    shown = {r["kind"]: r for r in columns(page.tables["band-census"])}
    assert set(shown) == set(sums.index)
    for kind, r in shown.items():
        assert (r["edges"], r["in band"], r["beyond band"]) == tuple(fmt(int(v)) for v in sums.loc[kind])
    assert sum(int(r["edges"].replace(",", "")) for r in shown.values()) == \
        store.read("MATCH (g:Graph {model: 'one'}) RETURN sum(g.edges) AS n")[0]["n"]


def test_a_report_of_two_models_compares_them(analysed, graph_server, db_env, tmp_path, monkeypatch, capsys):
    store = analysed
    _one_checkpoint(store, graph_server)
    info = write_report(store, [MODEL, "one"], tmp_path, mode="one-hop")
    assert info.path == tmp_path / f"{MODEL}_vs_one-report.html" and info.models == [MODEL, "one"]
    assert info.tables[0] == "compare" and f"{MODEL}-emergence" in info.tables and "one-band-census" in info.tables
    assert info.figures[0] == "compare-spectra-figure" and f"{MODEL}-emergence-figure" in info.figures
    assert "one-emergence-figure" not in info.figures and info.notes == []
    page = parse(info.path.read_text(encoding="utf-8"))
    want = compare_frame(store, [MODEL, "one"])
    want = want[want["mode"] == "one-hop"]
    rows = columns(page.tables["compare"])
    assert [(r["quantity"], r["model"], r["step"]) for r in rows] == \
        [(q, m, fmt(s)) for q, m, s in zip(want["quantity"], want["model"], want["step"])]
    assert [r["mean ± std"] for r in rows] == [fmt_pm(m, s) for m, s in zip(want["mean"], want["std"])]
    assert [r["diff / pooled std"] for r in rows] == [fmt(v) for v in want["diff_pooled_std"]]
    assert rows[1]["diff"] not in ("–", "0")  # the models differ
    # each model's sections are its own report's
    alone = parse(write_report(store, "one", tmp_path / "alone").path.read_text(encoding="utf-8"))
    assert page.tables["one-emergence"] == alone.tables["emergence"]
    code, _, err = run_cli(monkeypatch, capsys, db_env, "report", "-m", MODEL, "-m", "one", "--mode", "one-hop",
                           "-T", "150", "--out", str(tmp_path / "cli"))
    assert code == 0, err
    cli_page = parse((tmp_path / "cli" / f"{MODEL}_vs_one-report.html").read_text(encoding="utf-8"))
    assert cli_page.tables["compare"] == page.tables["compare"]


def test_the_report_takes_a_parameter_set(analysed, graph_server, tmp_path):
    store = analysed
    api.analyze(MODEL, mode="one-hop", threshold=50, wait=False, settings=settings_for(graph_server, store))
    api.work(once=True, store=store)
    info = write_report(store, MODEL, tmp_path, threshold=50)
    assert info.mode == "one-hop" and info.notes == []
    page = parse(info.path.read_text(encoding="utf-8"))
    assert {r["T"] for r in columns(page.tables["results"])} == {"50"}
    p50 = AnalysisParams(mode="one-hop", threshold=50)
    want = emergence_frame(store, MODEL, params=p50)
    assert [r["E of the means"] for r in columns(page.tables["emergence"])] == [fmt(e) for e in want["E"]]
    aid = p50.analysis_id(results_frame(store, MODEL)["gid"].iloc[0])
    by_aid = parse(write_report(store, MODEL, tmp_path / "aid", aid=aid).path.read_text(encoding="utf-8"))
    assert by_aid.tables["emergence"] == page.tables["emergence"]
    with pytest.raises(AnalysisError, match="share no analysis parameter set matching the filter"):
        write_report(store, MODEL, tmp_path, threshold=7)


def test_unanalysed_model_gives_a_page_with_notes(store, tmp_path):
    ingest_path(store, FIXTURE, name="raw", samples=1, k=8)
    info = write_report(store, "raw", tmp_path)
    assert info.tables == ["summary", "results"] and info.figures == [] and info.steps == []
    assert any("has no analysis" in n for n in info.notes), info.notes
    page = parse(info.path.read_text(encoding="utf-8"))
    assert dict(page.tables["summary"]["rows"])["analysed graphs"] == "0"
    assert [r["α₀"] for r in columns(page.tables["results"])] == ["–"]
    with pytest.raises(NotFoundError, match="no model 'nope'"):
        write_report(store, "nope", tmp_path)


def test_values_are_formatted_and_escaped():
    assert [fmt(v) for v in (1234567, np.int64(5), 0.123456, 2.0, -1.5e-7, float("nan"), None, pd.NA,
                             True, np.bool_(False), "a<b")] == \
        ["1,234,567", "5", "0.1235", "2", "-1.5e-07", "–", "–", "–", "yes", "no", "a<b"]
    df = pd.DataFrame({"name": ["<script>alert(1)</script>", "a & b"], "x": [1.0, float("nan")]})
    html = table_html(frame_table(df, "t"))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "a &amp; b" in html
    rows = columns(parse(html).tables["t"])
    assert rows == [{"name": "<script>alert(1)</script>", "x": "1"}, {"name": "a & b", "x": "–"}]


def test_long_tables_fold_and_long_step_lists_shorten():
    def page(n: int) -> str:
        return table_html(frame_table(pd.DataFrame({"step": range(n)}), "t"))

    assert "<details>" not in page(OPEN_ROWS) and "<details>" in page(OPEN_ROWS + 1)
    assert len(columns(parse(page(OPEN_ROWS + 1)).tables["t"])) == OPEN_ROWS + 1
    assert step_list([0, 1, 1000]) == "0, 1, 1,000"
    shown = step_list(list(range(0, 100_000, 1000)))
    assert shown.startswith("0, 1,000, ") and shown.endswith(", 99,000") and ", …, " in shown
    assert shown.count(", ") == STEP_LIST_MAX  # STEP_LIST_MAX steps and the ellipsis


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing may come from the network
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


# Appended to a copy of the page: after load, writes what the browser made of it into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => i.complete + ":" + i.naturalWidth + "x" + i.naturalHeight
                                            + ":" + i.getBoundingClientRect().width);
  const tables = [...document.querySelectorAll("table")].map(t => t.id + "=" + t.rows.length);
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({imgs, tables, width: document.documentElement.scrollWidth});
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.servers("arcadedb")  # the page, not the server, is its subject
@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (apt-get install chromium); CI must have it")
def test_cli_report_renders_in_headless_chromium(analysed, db_env, tmp_path):
    assert CHROMIUM.exists(), "CI must have /usr/bin/chromium (apt-get install chromium)"
    out = subprocess.run([*CLI, "report", "--model", MODEL, "--out",
                          str(tmp_path / "out")], env=db_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    page_path = tmp_path / "out" / f"{MODEL}-report.html"
    assert f"wrote {page_path}" in out.stderr.replace("\n", "")
    html = page_path.read_text(encoding="utf-8")
    stored = parse(html)

    probe_page = tmp_path / "probe.html"
    probe_page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium("--dump-dom", probe_page.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, f"the page's load handler did not run: {dom.stdout[-1000:]}"
    probe = json.loads(match.group(1).replace("&quot;", '"'))
    assert len(probe["imgs"]) == 3
    for img in probe["imgs"]:
        complete, size, shown_width = img.split(":")
        width, height = (int(v) for v in size.split("x"))
        assert complete == "true" and width > 600 and height > 300 and float(shown_width) > 300
    want = {tid: len(t["rows"]) + (1 if t["head"] else 0) for tid, t in stored.tables.items()}
    assert dict(t.split("=") for t in probe["tables"]) == {k: str(v) for k, v in want.items()}
    rendered = parse(dom.stdout)
    assert rendered.tables["emergence"] == stored.tables["emergence"]

    shot = tmp_path / "shot.png"
    res = _chromium(f"--screenshot={shot}", "--window-size=1200,3000", page_path.as_uri(),
                    profile=tmp_path / "profile-shot")
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    keep = os.environ.get("NEUROMFA_REPORT_SHOT")  # to look at it: NEUROMFA_REPORT_SHOT=/tmp/x.png
    if keep:
        shutil.copy(shot, keep)
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1200)
    ink = (pixels.min(axis=2) < 0.9).mean(axis=1)  # share of non-white pixels per screen row
    assert (ink > 0.01).sum() > 1500  # text, tables and figures fill much of the height
    # the figures' colours made it to the screen (not only black text on white)
    assert (np.ptp(pixels, axis=2) > 0.3).sum() > 10_000


def test_cli_unknown_model_is_one_line(db_env, tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, db_env, "report", "--model", "nope", "--out", str(tmp_path))
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == "error: no model 'nope' in the database"
    assert lines[1].strip().startswith("hint:") and len(lines) == 2
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []
