"""analyze: the default mode (layered on layer DAGs), skipping done (graph, parameters) pairs,
--force (real local server)."""

from __future__ import annotations

from jobs_helpers import settings_for, store_fixture
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.cli.main import app
from neuromfa.jobs.queue import default_mode
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id

K = 8


def test_default_mode_is_layered_on_layer_dags_only():
    assert default_mode(["reference", "faithful"]) == "layered"
    assert default_mode(["reference", "hand-made"]) == "shortest-path"


def test_analyze_skips_done_pairs_unless_forced(store, graph_server, db_env):
    store_fixture(store, "neox", steps=(0,), samples=(0,), k=K)
    gid = graph_id("neox", 0, 0, K)
    settings = settings_for(graph_server, store)
    first = api.analyze("neox", min_mass=3, settings=settings)
    assert first.params == AnalysisParams(mode="layered", min_mass=3) and first.counts() == {"done": 1}
    again = api.analyze("neox", min_mass=3, settings=settings)
    assert (again.skipped, again.jids, again.outcomes) == ([gid], [], [])

    runner = CliRunner(env=db_env)
    out = runner.invoke(app, ["analyze", "-m", "neox", "--min-mass", "3"])
    assert out.exit_code == 0, out.output
    assert "queued 0 job(s) for neox; skipped 1 already analysed with these parameters (--force re-runs them): layered" in out.output
    assert "neox: 1 skipped (already analysed)" in out.output
    forced = runner.invoke(app, ["analyze", "-m", "neox", "--min-mass", "3", "--force"])
    assert forced.exit_code == 0 and "neox: 1 done" in forced.output, forced.output

    # shortest-path stays available as the reference: the same numbers, bit for bit
    api.analyze("neox", mode="shortest-path", min_mass=3, settings=settings)
    both = api.results("neox", all_analyses=True, store=store).set_index("mode")
    assert both.loc["layered", "alpha0"] == both.loc["shortest-path", "alpha0"]
    assert both.loc["layered", "width"] == both.loc["shortest-path", "width"]
