"""The main job: train a small GPT-NeoX offline, ingest every checkpoint, analyse every graph
with its shuffle null (path masses in the paper's band and in the scale-free band, and one-hop
for comparison), tabulate alpha_0 / width / E / E_null / E_struct against validation loss, and
draw the figures. Every stage is cached, so a re-run only redraws."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from neuromfa import api
from neuromfa.analysis.emergence import spearman_with
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.plots.data import nfd_frame, spectra_frame
from neuromfa.plots.emergence import plot_emergence
from neuromfa.plots.nfd import plot_nfd
from neuromfa.plots.spectrum import plot_spectra
from neuromfa.results.tables import checkpoint_metrics, emergence_frame, graphs_of
from neuromfa.schema.params import AnalysisParams
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.named import NamedStore
from neuromfa.training.presets import Preset, get_preset
from neuromfa.training.train_example import train_example

NULL_SAMPLES = 5
# (name, parameters), in the order they run: the last one becomes each graph's headline analysis,
# which the spectrum and NFD figures draw. `layered` gives the shortest-path masses bit for bit.
ANALYSES: tuple[tuple[str, AnalysisParams], ...] = (
    ("paths, relative band", AnalysisParams(mode="layered", band="relative", null="shuffle", null_samples=NULL_SAMPLES)),
    ("one-hop", AnalysisParams(mode="one-hop", null="shuffle", null_samples=NULL_SAMPLES)),
    ("paths", AnalysisParams(mode="layered", null="shuffle", null_samples=NULL_SAMPLES)),
)
FIGURES = {"paths": "emergence", "one-hop": "emergence-one-hop", "paths, relative band": "emergence-relative"}


class DemoModeResult(BaseModel):
    name: str
    mode: str
    band: str
    null: str
    table: list[dict]
    spearman_E_val_loss: float | None
    spearman_p: float | None
    spearman_E_struct_val_loss: float | None


class DemoReport(BaseModel):
    model: str
    out_dir: Path
    steps: list[int]
    graphs: int
    results: list[DemoModeResult]
    figures: list[Path]
    seconds: dict[str, float]


def missing_analyses(store: NamedStore, gids: list[str], params: AnalysisParams) -> bool:
    wanted = [params.analysis_id(g) for g in gids]
    have = AnalysisRepository(store).present(wanted)
    return any(a not in have for a in wanted)


def run_demo(
    store,
    out_dir: str | Path = "neuromfa-demo",
    *,
    preset: str | Preset = "tiny",
    samples: int = 3,
    k: int = 32,
    workers: int = 2,
    stage: Callable[[str], None] = lambda _: None,
    train_progress=None,
    on_graph=None,
    on_outcome=None,
) -> DemoReport:
    out = Path(out_dir)
    spec = get_preset(preset)  # a name or a Preset of one's own
    model = f"demo-{spec.name}"
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    stage(f"training a {spec.name} GPT-NeoX on the Python standard library (cached in {out / 'run'})")
    run = train_example(out / "run", preset=spec, progress=train_progress)
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    stage(f"ingesting {len(run.steps)} checkpoints x {samples} samples as model {model!r}")
    ingest_path(store, run.out_dir, name=model, samples=samples, k=k, on_graph=on_graph)
    seconds["ingest"] = time.perf_counter() - t

    gids = [g.gid for g in graphs_of(store, model, samples=list(range(samples)))]
    results: list[DemoModeResult] = []
    tables = {}
    for name, params in ANALYSES:
        t = time.perf_counter()
        if missing_analyses(store, gids, params):
            stage(f"analysing {len(gids)} graphs ({name}, {params.mode} mode, {params.band} band, "
                  f"{params.null_samples} {params.null} null draws each)")
            api.analyze(model, samples=list(range(samples)), params=params, workers=workers,
                        settings=store.settings, on_outcome=on_outcome)
        seconds[f"analyze {name}"] = time.perf_counter() - t
        tables[name] = table = emergence_frame(store, model, params=params)
        rho, p = spearman_with(table) or (None, None)
        rho_struct, _ = spearman_with(table, column="E_struct") or (None, None)
        results.append(DemoModeResult(name=name, mode=params.mode, band=params.band, null=params.null,
                                      table=table.to_dict("records"), spearman_E_val_loss=rho, spearman_p=p,
                                      spearman_E_struct_val_loss=rho_struct))

    t = time.perf_counter()
    stage(f"drawing figures into {out / 'figures'}")
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures: list[Path] = []
    metrics = checkpoint_metrics(store, model).melt(id_vars="step", var_name="metric", value_name="value").dropna()
    for name, stem in FIGURES.items():
        figures += plot_emergence(tables[name], fig_dir / stem, metrics_df=metrics if len(metrics) else None).paths
    figures += plot_spectra(spectra_frame(store, model, "layered"), fig_dir / "spectra").paths
    figures += plot_nfd(nfd_frame(store, model, "layered"), fig_dir / "nfd").paths
    seconds["plots"] = time.perf_counter() - t
    return DemoReport(model=model, out_dir=out, steps=run.steps, graphs=len(gids), results=results,
                      figures=figures, seconds={k: round(v, 2) for k, v in seconds.items()})
