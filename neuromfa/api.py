"""Python API for analyses stored in the graph database (what the CLI commands call).

    import neuromfa.api as nm
    nm.ingest("path/to/run", name="pythia-70m", samples=10)              # IngestReport
    nm.graphs("pythia-70m")              # DataFrame, one row per stored graph
    report = nm.analyze("pythia-70m", mode="shortest-path", workers=2)   # queue + run jobs
    nm.results("pythia-70m")             # DataFrame, one row per graph
    nm.emergence("pythia-70m")           # DataFrame, one row per step
    nm.sweep("pythia-70m", [50, 150, 500]).frame()   # SweepResult: one row per threshold T
    nm.jobs(status="failed")             # list[JobInfo]
    nm.delete("model", "pythia-70m")     # Removed: what went (one transaction per graph)

Every function opens the configured database (NEO4J_* / NEUROMFA_* environment, or the
``settings`` given; the local server is started when nothing is configured) unless a ``store``
is passed, and raises NeuromfaError subclasses with a one-line message and a hint.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

import pandas as pd
from pydantic import BaseModel

from neuromfa.analysis.sweep import SweepResult, sign_warning, sweep_row
from neuromfa.base.errors import AnalysisError, ConfigError, action, param
from neuromfa.base.limits import MAX_SWEEP_THRESHOLDS
from neuromfa.base.settings import DatabaseSettings
from neuromfa.ingest.pipeline import IngestReport, ingest_path
from neuromfa.jobs import queue as _jobs
from neuromfa.jobs.executors import ExecutorName, make_executor
from neuromfa.jobs.queue import JobInfo
from neuromfa.jobs.worker import JobOutcome, worker_loop
from neuromfa.results.compare import ParamFilter, compare_frame, params_per_model
from neuromfa.results.tables import checkpoint_metrics, emergence_frame, graphs_of, results_frame
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import Topology
from neuromfa.store.connection import Store, open_store
from neuromfa.store.deletes import DeletePlan, DeleteRepository, Removed
from neuromfa.store.deletes import Target as DeleteTarget
from neuromfa.store.graphs import GraphRepository

__all__ = ["AnalyzeReport", "DeletePlan", "IngestReport", "JobInfo", "JobOutcome", "Removed", "analyze", "cancel_job",
           "compare", "delete", "delete_plan", "emergence",
           "graphs", "ingest", "job", "jobs", "results", "retry_job", "SweepResult", "sweep", "work"]

WAIT_POLL_S = 1.0


class AnalyzeReport(BaseModel):
    """What `analyze` queued and, when it waited, what became of each job."""

    model: str
    params: AnalysisParams
    jids: list[str]
    created: list[str]
    reused: list[str]
    skipped: list[str] = []  # gids that already had a done analysis with these parameters
    outcomes: list[JobOutcome] = []
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out


@contextlib.contextmanager
def _opened(store: Store | None, settings: DatabaseSettings | None,
            notify: Callable[[str], None] | None = None) -> Iterator[Store]:
    if store is not None:
        yield store
        return
    with open_store(settings, notify=notify) as st:
        yield st


def _steps(values: int | Sequence[int] | None) -> list[int] | None:
    if values is None:
        return None
    vals = [values] if isinstance(values, int) else list(values)
    return vals or None


def ingest(path, *, name: str, step: int | None = None, samples: int | Sequence[int] = 10, k: int = 32,
           seed_base: int = 0, topology: Topology = "reference", store: Store | None = None,
           settings: DatabaseSettings | None = None, notify: Callable[[str], None] | None = None) -> IngestReport:
    """Store SNINs of every checkpoint under ``path`` (a model, a GGUF file or a training run)
    and every sample; graphs already stored are skipped. ``topology``: reference (the
    authors' reading) or faithful (docs/method.md section 1), one per model name."""
    with _opened(store, settings, notify) as st:
        st.apply_schema()
        return ingest_path(st, path, name=name, step=step, samples=samples, k=k, seed_base=seed_base,
                           topology=topology)


def graphs(model: str | None = None, *, store: Store | None = None,
           settings: DatabaseSettings | None = None) -> pd.DataFrame:
    """Stored graphs (gid, model, step, sample, seed, k, topology, nodes, edges, created)."""
    with _opened(store, settings) as st:
        return pd.DataFrame([g.model_dump() for g in GraphRepository(st).list_graphs(model)])


def analyze(
    model: str,
    *,
    steps: int | Sequence[int] | None = None,
    samples: int | Sequence[int] | None = None,
    params: AnalysisParams | None = None,
    mode: str | None = None,
    threshold: float | None = None,
    q_min: float | None = None,
    q_max: float | None = None,
    q_step: float | None = None,
    min_mass: int | None = None,
    filter: int | None = None,
    structural: str | None = None,
    band: str | None = None,
    null: str | None = None,
    null_samples: int | None = None,
    force: bool = False,
    workers: int = 1,
    executor: ExecutorName = "local",
    ray_address: str | None = None,
    wait: bool = True,
    settings: DatabaseSettings | None = None,
    notify: Callable[[str], None] | None = None,
    on_queued: Callable[[AnalyzeReport], None] | None = None,
    on_outcome: Callable[[JobOutcome], None] | None = None,
) -> AnalyzeReport:
    """Queue one analysis Job per stored graph of ``model`` (optionally only some steps and
    samples) and, with ``wait``, run them on ``executor`` with ``workers`` processes.

    Parameters are ``params`` or the individual values (None = the default of AnalysisParams;
    ``mode`` None = layered where every graph is a layer DAG, which every ingested topology
    is, else shortest-path). A graph that already has a done analysis with these parameters is
    skipped (``report.skipped``) unless ``force``. A graph with a queued or running job of the
    same parameters reuses it. Jobs that another worker holds are waited for. Invalid
    parameters or an unknown executor fail before anything is queued.
    """
    choose_mode = params is None and mode is None
    if params is None:
        if null_samples is not None and null in (None, "none"):
            raise ConfigError(f"{param('null_samples')} is set but no null model is chosen",
                              f"add {param('null', 'shuffle')} or {param('null', 'gaussian')}", param="null")
        params = _jobs.parse_params(mode=mode, threshold=threshold, q_min=q_min, q_max=q_max, q_step=q_step,
                                    min_mass=min_mass, filter=filter, structural=structural, band=band,
                                    null=null, null_samples=null_samples)
    runner = (make_executor(executor, workers=workers, settings=settings, ray_address=ray_address, notify=notify)
              if wait else None)
    start = time.perf_counter()
    with open_store(settings, notify=notify) as store:
        graphs = graphs_of(store, model, _steps(steps), _steps(samples))
        if choose_mode:
            params = params.model_copy(update={"mode": _jobs.default_mode(g.topology for g in graphs)})
        gids = [g.gid for g in graphs]
        done = set() if force else _jobs.analysed(store, gids, params)
        created, reused = _jobs.enqueue(store, [g for g in gids if g not in done], params)
        report = AnalyzeReport(model=model, params=params, jids=created + reused, created=created, reused=reused,
                               skipped=[g for g in gids if g in done])
        if on_queued:
            on_queued(report)
        if runner is None:
            return report
        outcomes: dict[str, JobOutcome] = {}
        for outcome in runner.run(report.jids):
            if outcome.status not in ("skipped", "lost"):
                outcomes[outcome.jid] = outcome
                if on_outcome:
                    on_outcome(outcome)
        # jobs another worker (e.g. `neuromfa worker`) holds: wait for them to finish
        for outcome in _wait_for(store, [j for j in report.jids if j not in outcomes]):
            outcomes[outcome.jid] = outcome
            if on_outcome:
                on_outcome(outcome)
    report.outcomes = [outcomes[j] for j in report.jids]
    report.seconds = time.perf_counter() - start
    return report


def _wait_for(store: Store, jids: list[str]) -> Iterator[JobOutcome]:
    """Poll jobs run elsewhere until each finishes, or its worker is gone (reported as is), or
    it was deleted (status "missing")."""
    left = set(jids)
    while left:
        found = _jobs.list_jobs(store, jids=sorted(left), limit=len(left))
        for jid in sorted(left - {job.jid for job in found}):
            # deleted meanwhile (e.g. `neuromfa db reset` or its graph removed): nothing to wait for
            left.discard(jid)
            yield JobOutcome(jid=jid, status="missing", error="the job was deleted from the database while waiting for it")
        for job in found:
            gone = job.status == "running" and _jobs.worker_gone(job)
            if job.status in _jobs.FINISHED or gone or job.status == "queued":
                # queued again here means nobody runs it now: say so instead of waiting forever
                left.discard(job.jid)
                yield JobOutcome(jid=job.jid, graph=job.graph, status=job.status, aid=job.aid,
                                 error=job.error or (f"worker gone: {gone}" if gone else None), worker=job.worker or "")
        if left:
            time.sleep(WAIT_POLL_S)


def _models(model: str | Sequence[str]) -> list[str]:
    models = [model] if isinstance(model, str) else list(model)
    if not models:
        raise ConfigError("no model named", f"name one with {param('model')}", param="model")
    if len(set(models)) < len(models):
        raise ConfigError("a model is named twice", "name each model once", param="model")
    return models


def _stacked(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One model's frame as it is; several: their rows one after another with a model column first."""
    if len(frames) == 1:
        return next(iter(frames.values()))
    parts = [df.assign(model=m)[["model", *df.columns]] for m, df in frames.items()]
    return pd.concat(parts, ignore_index=True)


def _results_of(st: Store, model: str, step: int | Sequence[int] | None, mode: str | None, all_analyses: bool,
                timings: bool, chosen: AnalysisParams | None) -> pd.DataFrame:
    if chosen is None:
        return results_frame(st, model, steps=_steps(step), mode=mode, all_analyses=all_analyses, timings=timings)
    df = results_frame(st, model, steps=_steps(step), mode=chosen.mode, all_analyses=True, timings=timings)
    df = df[df["aid"] == df["gid"].map(chosen.analysis_id)].reset_index(drop=True)
    return df if all_analyses else df.drop(columns="params")


def results(model: str | Sequence[str], step: int | Sequence[int] | None = None, *, mode: str | None = None,
            all_analyses: bool = False, timings: bool = False, aid: str | None = None,
            threshold: float | None = None, band: str | None = None, null: str | None = None,
            store: Store | None = None, settings: DatabaseSettings | None = None) -> pd.DataFrame:
    """One row per stored graph of ``model``: gid, step, sample, mode, threshold, alpha0, width,
    r2_min, nodes_used, edges_used, passed_filter, aid (empty metrics where not analysed).
    ``aid`` or ``threshold`` / ``band`` / ``null``: only the analyses of the one parameter set
    they select (ConfigError listing the sets when several match). Several models: the rows of
    each, with a ``model`` column first (an aid's parameter set applies to every model)."""
    models = _models(model)
    with _opened(store, settings) as st:
        chosen = params_per_model(st, models, mode, ParamFilter(aid=aid, threshold=threshold, band=band, null=null))
        return _stacked({m: _results_of(st, m, step, mode, all_analyses, timings, chosen[m]) for m in models})


def emergence(model: str | Sequence[str], reference_step: int | None = None, *, mode: str | None = None,
              params: AnalysisParams | None = None, aid: str | None = None, threshold: float | None = None,
              band: str | None = None, null: str | None = None, store: Store | None = None,
              settings: DatabaseSettings | None = None) -> pd.DataFrame:
    """One row per step: n_samples, n_passed, alpha0/width mean and std, E, E_mean, E_std,
    n_paired, the null columns (E_null, E_struct, alpha0_null, width_null, their mean null
    stds, alpha0_z, width_z; empty without a null model), and the checkpoint's scalar metrics
    (e.g. val_loss). Each graph's current analysis, or with ``params`` that parameter set's; ``aid`` or
    ``threshold`` / ``band`` / ``null`` select one set as in ``results``. Several models: the rows
    of each (E against each model's own t0), with a ``model`` column first."""
    models = _models(model)
    with _opened(store, settings) as st:
        chosen: dict[str, AnalysisParams | None] = (
            dict.fromkeys(models, params) if params is not None else
            params_per_model(st, models, mode, ParamFilter(aid=aid, threshold=threshold, band=band, null=null)))
        return _stacked({m: emergence_frame(st, m, reference_step=reference_step, mode=mode, params=chosen[m])
                         for m in models})


def compare(models: Sequence[str], *, step: int | None = None, aid: str | None = None,
            threshold: float | None = None, band: str | None = None, null: str | None = None,
            store: Store | None = None, settings: DatabaseSettings | None = None) -> pd.DataFrame:
    """Models side by side, per mode and quantity (alpha0, width; their structural excess over
    the null where nulls are stored): n, mean, std (ddof 1) over the samples at ``step`` (each
    model's last by default), diff from the first model and diff / pooled std. ``aid`` or
    ``threshold`` / ``band`` / ``null`` pick one parameter set where several coexist."""
    with _opened(store, settings) as st:
        return compare_frame(st, list(models), step=step,
                             chosen=ParamFilter(aid=aid, threshold=threshold, band=band, null=null))


def _sweep_params(thresholds: float | Sequence[float], values: dict) -> list[AnalysisParams]:
    """One parameter set per threshold, increasing; every value checked before any job runs."""
    thresholds = [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
    if not thresholds:
        raise ConfigError("the sweep needs at least one threshold", f"pass {param('thresholds')}, e.g. 50, 150 and 500",
                          param="thresholds")
    if len(thresholds) > MAX_SWEEP_THRESHOLDS:
        raise ConfigError(f"the sweep got {len(thresholds)} thresholds; at most {MAX_SWEEP_THRESHOLDS} are allowed "
                          "(each one analyses every graph again)", "pick a few thresholds, e.g. 50, 150 and 500",
                          param="thresholds")
    if values.get("null_samples") is not None and values.get("null") in (None, "none"):
        raise ConfigError(f"{param('null_samples')} is set but no null model is chosen",
                          f"add {param('null', 'shuffle')} or {param('null', 'gaussian')}", param="null")
    params = [_jobs.parse_params(threshold=t, **values) for t in thresholds]
    params.sort(key=lambda p: p.threshold)
    repeated = sorted({p.threshold for p in params if sum(q.threshold == p.threshold for q in params) > 1})
    if repeated:
        raise ConfigError(f"threshold {', '.join(f'{t:g}' for t in repeated)} is given twice", "list each T once")
    return params


def sweep(
    model: str,
    thresholds: float | Sequence[float],
    *,
    mode: str | None = None,
    band: str | None = None,
    null: str | None = None,
    null_samples: int | None = None,
    min_mass: int | None = None,
    filter: int | None = None,
    structural: str | None = None,
    reference_step: int | None = None,
    workers: int = 1,
    settings: DatabaseSettings | None = None,
    notify: Callable[[str], None] | None = None,
    on_analyzed: Callable[[AnalyzeReport], None] | None = None,
) -> SweepResult:
    """Analyse every graph of ``model`` at each threshold T (one `analyze` per T, with its rules
    for reusing jobs), then one row per T: alpha_0,
    width, E, E_null and E_struct at the last step and Spearman(E, metric) for every stored
    checkpoint metric, plus a one-line warning when a sign changes with T. A failed job is an
    AnalysisError: a sweep over partial analyses would compare different graphs."""
    values = dict(mode=mode, band=band, null=null, null_samples=null_samples, min_mass=min_mass,
                  filter=filter, structural=structural)
    param_sets = _sweep_params(thresholds, values)
    if mode is None:  # as in analyze: layered where every graph is a layer DAG
        with open_store(settings, notify=notify) as st:
            chosen = _jobs.default_mode(g.topology for g in graphs_of(st, model))
        param_sets = [p.model_copy(update={"mode": chosen}) for p in param_sets]
    for p in param_sets:
        report = analyze(model, params=p, workers=workers, settings=settings, notify=notify)
        if on_analyzed:
            on_analyzed(report)
        bad = [o for o in report.outcomes if o.status != "done"]
        if bad:
            raise AnalysisError(f"{len(bad)} of {len(report.outcomes)} analysis job(s) at T={p.threshold:g} "
                                f"did not finish ({bad[0].status}: {bad[0].error or 'no error text'})",
                                f"see {action('jobs', status='failed')}, fix the cause and run the sweep again")
    with open_store(settings, notify=notify) as st:
        metrics = [c for c in checkpoint_metrics(st, model).columns if c != "step"]
        rows = [sweep_row(p, emergence_frame(st, model, reference_step=reference_step, params=p), metrics)
                for p in param_sets]
    return SweepResult(model=model, params=param_sets, rows=rows, warning=sign_warning(rows))


def jobs(status: str | Sequence[str] | None = None, *, model: str | None = None, limit: int = 1000,
         store: Store | None = None, settings: DatabaseSettings | None = None) -> list[JobInfo]:
    """Jobs, newest first, optionally of some statuses and one model."""
    statuses = [status] if isinstance(status, str) else status
    with _opened(store, settings) as st:
        return _jobs.list_jobs(st, statuses=statuses, model=model, limit=limit)


def job(jid: str, *, store: Store | None = None, settings: DatabaseSettings | None = None) -> JobInfo:
    with _opened(store, settings) as st:
        return _jobs.get_job(st, jid)


def cancel_job(jid: str, *, store: Store | None = None, settings: DatabaseSettings | None = None) -> JobInfo:
    with _opened(store, settings) as st:
        return _jobs.cancel(st, jid)


def retry_job(jid: str, *, stale_after: float = _jobs.STALE_AFTER_S, store: Store | None = None,
              settings: DatabaseSettings | None = None) -> JobInfo:
    with _opened(store, settings) as st:
        return _jobs.retry(st, jid, stale_after=stale_after)


def work(*, once: bool = False, poll: float = 2.0, max_jobs: int | None = None,
         on_outcome: Callable[[JobOutcome], None] | None = None, store: Store | None = None,
         settings: DatabaseSettings | None = None, notify: Callable[[str], None] | None = None) -> int:
    """Run queued jobs in this process (what `neuromfa worker` does). Returns jobs run."""
    with _opened(store, settings, notify) as st:
        return worker_loop(st, once=once, poll=poll, max_jobs=max_jobs, on_outcome=on_outcome)


def delete_plan(target: DeleteTarget, key: str, *, store: Store | None = None,
                settings: DatabaseSettings | None = None) -> DeletePlan:
    """What ``delete(target, key)`` would remove (read only); NotFoundError when it is not stored.
    ``target``: "model" (a name), "graph" (a gid) or "analysis" (an aid)."""
    with _opened(store, settings) as st:
        return DeleteRepository(st).plan(target, key)


def delete(target: DeleteTarget, key: str, *, on_graph: Callable[[str, Removed], None] | None = None,
           store: Store | None = None, settings: DatabaseSettings | None = None) -> Removed:
    """Remove a model (its checkpoints and every graph), one graph, or one analysis, with
    everything under it: neurons, synapses, analyses and their MEASURED edges, jobs. One
    transaction per graph (``on_graph`` runs after each); returns what was removed."""
    with _opened(store, settings) as st:
        repo = DeleteRepository(st)
        if target == "model":
            return repo.delete_model(key, on_graph=on_graph)
        if target == "graph":
            return repo.delete_graph(key)
        return repo.delete_analysis(key)
