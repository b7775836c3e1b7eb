"""`neuromfa analyze PATH --no-db` (neuromfa/offline.py): the results table of files analysed in
process equals ingest + analyze + results of the same files on the real server, number for
number, the null draws included (same graph ids, same order as a pulled graph)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from jobs_helpers import settings_for
from model_builders import save, tiny_model
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.cli.main import app, main
from neuromfa.offline import analyze_files, default_name

K = 8
ANALYSIS = ["--min-mass", "3", "--null", "shuffle", "--null-samples", "3"]


def _run(tmp_path):
    run = tmp_path / "neox-run"
    for step, seed in ((0, 0), (4, 1)):  # two checkpoints of one architecture
        save(tiny_model("neox", seed), run / f"step{step}")
    return run


def test_no_db_equals_ingest_analyze_results(store, graph_server, db_env, tmp_path):
    run = _run(tmp_path)
    api.ingest(run, name="neox-run", samples=2, k=K, store=store)
    report = api.analyze("neox-run", min_mass=3, null="shuffle", null_samples=3, settings=settings_for(graph_server, store))
    assert report.counts() == {"done": 4}
    stored = api.results("neox-run", store=store)

    offline = analyze_files(run, name="neox-run", samples=2, k=K, min_mass=3, null="shuffle", null_samples=3)
    pd.testing.assert_frame_equal(offline, stored, check_exact=True)  # the null draws too
    assert offline["alpha0_z"].notna().all() and offline["step"].tolist() == [0, 0, 4, 4]

    # the CLI prints the same table as `results`
    runner = CliRunner(env=db_env)
    tables = {}
    for fmt in ("csv", "table"):
        listed = runner.invoke(app, ["results", "-m", "neox-run", "--format", fmt, "--wide"])
        no_db = runner.invoke(app, ["analyze", str(run), "--no-db", "-m", "neox-run", "--samples", "2", "-k", str(K),
                                    *ANALYSIS, "--format", fmt, "--wide"])
        assert listed.exit_code == 0 and no_db.exit_code == 0, listed.output + no_db.output
        tables[fmt] = (no_db.stdout, listed.stdout)
    assert tables["csv"][0] == tables["csv"][1] and len(pd.read_csv(io.StringIO(tables["csv"][0]))) == 4
    mine, theirs = (t.splitlines() for t in tables["table"])
    assert mine[0] == "results of neox-run (from files, no database)" and theirs[0] == "results of neox-run"
    assert mine[1:4] == theirs[1:4] and len(mine) == len(theirs)  # the same columns, as many rows


def test_no_db_one_step_and_sample_numbers(tmp_path):
    run = _run(tmp_path)
    df = analyze_files(run, steps=[4], samples=[1], k=K, min_mass=3)
    assert df[["gid", "step", "sample", "mode"]].values.tolist() == [["neox-run@4/s1/k8/reference", 4, 1, "layered"]]
    assert default_name(run) == "neox-run" and default_name(tmp_path / "a b") == "a-b"


@pytest.mark.parametrize("args, first", [
    (["{tmp}"], "error: a PATH ({tmp}) is analysed only with --no-db"),
    (["--no-db"], "error: --no-db analyses files: pass the checkpoint or run folder as PATH"),
    (["{tmp}/missing", "--no-db"], "error: {tmp}/missing does not exist"),
    (["{tmp}", "--no-db", "--null-samples", "3"], "error: --null-samples is set but no null model is chosen"),
    (["{tmp}", "--no-db", "--threshold", "0.5"], "error: invalid analysis parameters: --threshold"),
    ([], "error: which model? pass --model NAME (as ingested)"),
])
def test_no_db_errors_are_one_line(args, first, monkeypatch, capsys, tmp_path):
    argv = [a.format(tmp=tmp_path) for a in args]
    monkeypatch.setattr("sys.argv", ["neuromfa", "analyze", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "Traceback" not in err
    assert err.splitlines()[0].startswith(first.format(tmp=tmp_path)) and len(err.splitlines()) <= 2, err
