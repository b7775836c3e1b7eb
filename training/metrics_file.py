"""External per-step scores (e.g. LAMBADA/PIQA accuracy of Pythia revisions) from CSV or JSON.

Accepted shapes:
- CSV with a header naming ``step``, ``metric`` and ``value`` (other columns are ignored);
- JSON: a list of ``{"step": ..., "metric": ..., "value": ...}`` objects, or an object
  ``{"<step>": {"<metric>": value, ...}, ...}``.
Every bad row is a ConfigError that names the line (CSV) or entry (JSON).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from neuromfa.base.errors import ConfigError

# A checkpoint folder's own metrics (val_loss, token_accuracy): train-example writes it, ingest
# attaches it to the Checkpoint.
METRICS_FILE = "metrics.json"

REQUIRED_COLUMNS = ("step", "metric", "value")


class MetricRow(BaseModel):
    """One score of one checkpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int
    metric: str
    value: float


def _step(raw: Any, where: str) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{where}: step {raw!r} is not an integer")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                as_float = math.nan
            if not as_float.is_integer():
                raise ConfigError(f"{where}: step {raw!r} is not an integer") from None
            value = int(as_float)
    else:
        raise ConfigError(f"{where}: step {raw!r} is not an integer")
    if value < 0:
        raise ConfigError(f"{where}: step {value} is negative")
    return value


def _metric(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: metric name {raw!r} is empty or not text")
    return raw.strip()


def _value(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or raw is None:
        raise ConfigError(f"{where}: value {raw!r} is not a number")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: value {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{where}: value {raw!r} is not finite", "drop the row or give a number")
    return value


def _row(step: Any, metric: Any, value: Any, where: str) -> MetricRow:
    return MetricRow(step=_step(step, where), metric=_metric(metric, where), value=_value(value, where))


def parse_csv(text: str, source: str = "<csv>") -> list[MetricRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"{source} line 1: the header {','.join(header) or '(empty)'} lacks {', '.join(missing)}",
            "the first line must be step,metric,value",
        )
    reader.fieldnames = header
    rows: list[MetricRow] = []
    for record in reader:
        where = f"{source} line {reader.line_num}"
        if not any((v or "").strip() for k, v in record.items() if k is not None):
            continue  # blank line
        absent = [c for c in REQUIRED_COLUMNS if record.get(c) is None or not str(record[c]).strip()]
        if absent:
            raise ConfigError(f"{where}: missing {', '.join(absent)}")
        rows.append(_row(record["step"], record["metric"], record["value"], where))
    return rows


def parse_json(text: str, source: str = "<json>") -> list[MetricRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    rows: list[MetricRow] = []
    if isinstance(data, list):
        for i, entry in enumerate(data):
            where = f"{source} entry {i}"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: expected an object with step, metric, value")
            absent = [c for c in REQUIRED_COLUMNS if c not in entry]
            if absent:
                raise ConfigError(f"{where}: missing {', '.join(absent)}")
            rows.append(_row(entry["step"], entry["metric"], entry["value"], where))
    elif isinstance(data, dict):
        for step, scores in data.items():
            where = f"{source} entry {step!r}"
            if not isinstance(scores, dict):
                raise ConfigError(f"{where}: expected an object of metric: value")
            for metric, value in scores.items():
                rows.append(_row(step, metric, value, f"{where}.{metric}"))
    else:
        raise ConfigError(
            f"{source}: expected a list of {{step, metric, value}} objects or an object "
            "{step: {metric: value}}"
        )
    return rows


def _check_duplicates(rows: list[MetricRow], source: str) -> None:
    seen: dict[tuple[int, str], float] = {}
    for row in rows:
        key = (row.step, row.metric)
        if key in seen and seen[key] != row.value:
            raise ConfigError(
                f"{source}: metric {row.metric!r} at step {row.step} is given twice "
                f"({seen[key]} and {row.value})",
                "keep one value per step and metric",
            )
        seen[key] = row.value


def parse_metrics_text(text: str, fmt: str, source: str = "<metrics>") -> list[MetricRow]:
    """Parse ``text`` as ``fmt`` ("csv" or "json"); rows in file order, exact duplicates merged."""
    if fmt == "csv":
        rows = parse_csv(text, source)
    elif fmt == "json":
        rows = parse_json(text, source)
    else:
        raise ConfigError(f"unknown metrics format {fmt!r}", "use csv or json")
    if not rows:
        raise ConfigError(f"{source} holds no scores")
    _check_duplicates(rows, source)
    unique = list(dict.fromkeys(rows))
    return unique


def read_metrics_file(path: str | Path) -> list[MetricRow]:
    """Read a CSV or JSON scores file (format from the suffix; otherwise sniffed)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"metrics file {path} does not exist", "give the path of a CSV or JSON file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"metrics file {path} is not UTF-8 text ({exc.reason})") from None
    suffix = path.suffix.lower()
    if suffix in (".csv", ".json"):
        fmt = suffix[1:]
    else:
        fmt = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    return parse_metrics_text(text, fmt, source=path.name)
