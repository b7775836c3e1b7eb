"""The main job: train a small GPT-NeoX offline, ingest every checkpoint, analyse every graph
(shortest-path, and one-hop for comparison), tabulate alpha_0 / width / E against validation
loss, and draw the figures. Every stage is cached, so a re-run only redraws."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from neuromfa import api
from neuromfa.analysis.emergence import spearman_with
from neuromfa.analysis.tables import graphs_of
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.plots.data import emergence_and_metrics, nfd_frame, spectra_frame
from neuromfa.plots.emergence import plot_emergence
from neuromfa.plots.nfd import plot_nfd
from neuromfa.plots.spectrum import plot_spectra
from neuromfa.schema.params import AnalysisParams
from neuromfa.store.statements import cypher
from neuromfa.training.train_example import train_example

MODES = ("shortest-path", "one-hop")


class DemoModeResult(BaseModel):
    mode: str
    table: list[dict]
    spearman_E_val_loss: float | None
    spearman_p: float | None


class DemoReport(BaseModel):
    model: str
    out_dir: Path
    steps: list[int]
    graphs: int
    results: list[DemoModeResult]
    figures: list[Path]
    seconds: dict[str, float]


def missing_analyses(store, gids: list[str], params: AnalysisParams) -> bool:
    wanted = [params.analysis_id(g) for g in gids]
    have = set(store.read(cypher("analyses_present"), aids=wanted)[0]["aids"])
    return any(a not in have for a in wanted)


def run_demo(
    store,
    out_dir: str | Path = "neuromfa-demo",
    *,
    preset: str = "tiny",
    samples: int = 3,
    k: int = 32,
    workers: int = 2,
    stage: Callable[[str], None] = lambda _: None,
    train_progress=None,
    on_graph=None,
    on_outcome=None,
) -> DemoReport:
    out = Path(out_dir)
    model = f"demo-{preset}"
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    stage(f"training a {preset} GPT-NeoX on the Python standard library (cached in {out / 'run'})")
    run = train_example(out / "run", preset=preset, progress=train_progress)
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    stage(f"ingesting {len(run.steps)} checkpoints x {samples} samples as model {model!r}")
    ingest_path(store, run.out_dir, name=model, samples=samples, k=k, on_graph=on_graph)
    seconds["ingest"] = time.perf_counter() - t

    gids = [g["gid"] for g in graphs_of(store, model, samples=list(range(samples)))]
    results: list[DemoModeResult] = []
    for mode in MODES:
        t = time.perf_counter()
        params = AnalysisParams(mode=mode)
        if missing_analyses(store, gids, params):
            stage(f"analysing {len(gids)} graphs ({mode})")
            api.analyze(model, samples=list(range(samples)), params=params, workers=workers,
                        settings=store.settings, on_outcome=on_outcome)
        seconds[f"analyze {mode}"] = time.perf_counter() - t
        table, _ = emergence_and_metrics(store, model, mode)
        rho, p = spearman_with(table) or (None, None)
        results.append(DemoModeResult(mode=mode, table=table.to_dict("records"), spearman_E_val_loss=rho,
                                      spearman_p=p))

    t = time.perf_counter()
    stage(f"drawing figures into {out / 'figures'}")
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures: list[Path] = []
    table, metrics = emergence_and_metrics(store, model, "shortest-path")
    figures += plot_emergence(table, fig_dir / "emergence", metrics_df=metrics if len(metrics) else None).paths
    onehop, _ = emergence_and_metrics(store, model, "one-hop")
    figures += plot_emergence(onehop, fig_dir / "emergence-one-hop", metrics_df=metrics if len(metrics) else None).paths
    figures += plot_spectra(spectra_frame(store, model, "shortest-path"), fig_dir / "spectra").paths
    figures += plot_nfd(nfd_frame(store, model, "shortest-path"), fig_dir / "nfd").paths
    seconds["plots"] = time.perf_counter() - t
    return DemoReport(model=model, out_dir=out, steps=run.steps, graphs=len(gids), results=results,
                      figures=figures, seconds={k: round(v, 2) for k, v in seconds.items()})
