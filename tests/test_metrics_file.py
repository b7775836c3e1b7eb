"""External per-step scores from CSV and JSON, and the errors for bad rows."""

from __future__ import annotations

import json

import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.training.metrics_file import MetricRow, parse_metrics_text, read_metrics_file

EXPECTED = [
    MetricRow(step=0, metric="lambada_acc", value=0.0),
    MetricRow(step=1000, metric="lambada_acc", value=0.125),
    MetricRow(step=1000, metric="piqa_acc", value=0.58),
]


def test_csv(tmp_path):
    path = tmp_path / "scores.csv"
    # BOM, extra column, spaces, a blank line and an exact duplicate are all fine.
    path.write_text(
        "\ufeffstep, metric ,value,note\n0,lambada_acc,0,init\n\n1000,lambada_acc, 0.125,\n"
        "1000,piqa_acc,5.8e-1,x\n1000,piqa_acc,0.58,dup\n",
        encoding="utf-8",
    )
    assert read_metrics_file(path) == EXPECTED


def test_json_list_of_rows(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text(json.dumps([{"step": r.step, "metric": r.metric, "value": r.value} for r in EXPECTED]))
    assert read_metrics_file(path) == EXPECTED


def test_json_object_by_step(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text(json.dumps({"0": {"lambada_acc": 0}, "1000": {"lambada_acc": 0.125, "piqa_acc": 0.58}}))
    assert read_metrics_file(path) == EXPECTED


def test_format_is_sniffed_without_a_known_suffix(tmp_path):
    as_json = tmp_path / "scores.txt"
    as_json.write_text(json.dumps({"7": {"acc": 0.5}}))
    assert read_metrics_file(as_json) == [MetricRow(step=7, metric="acc", value=0.5)]
    as_csv = tmp_path / "scores.dat"
    as_csv.write_text("step,metric,value\n7,acc,0.5\n")
    assert read_metrics_file(as_csv) == [MetricRow(step=7, metric="acc", value=0.5)]


def test_integral_float_steps_are_accepted():
    rows = parse_metrics_text('[{"step": 2000.0, "metric": "m", "value": "1.5"}]', "json")
    assert rows == [MetricRow(step=2000, metric="m", value=1.5)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("step,value\n1,0.5\n", r"line 1: the header step,value lacks metric"),
        ("step,metric,value\n1,acc,0.5\n2,acc\n", r"line 3: missing value"),
        ("step,metric,value\n1,acc,0.5\n2,,0.4\n", r"line 3: missing metric"),
        ("step,metric,value\n1,acc,high\n", r"line 2: value 'high' is not a number"),
        ("step,metric,value\n1,acc,0.5\n2,acc,NaN\n", r"line 3: value 'NaN' is not finite"),
        ("step,metric,value\n1,acc,inf\n", r"line 2: value 'inf' is not finite"),
        ("step,metric,value\n1.5,acc,0.5\n", r"line 2: step '1.5' is not an integer"),
        ("step,metric,value\nlast,acc,0.5\n", r"line 2: step 'last' is not an integer"),
        ("step,metric,value\n-1,acc,0.5\n", r"line 2: step -1 is negative"),
        ("step,metric,value\n1,acc,0.5\n1,acc,0.6\n", r"'acc' at step 1 is given twice"),
        ("step,metric,value\n", r"holds no scores"),
        ("", r"lacks step, metric, value"),
    ],
)
def test_bad_csv_rows(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_metrics_text(text, "csv", source="s.csv")


@pytest.mark.parametrize(
    "data, message",
    [
        ([{"step": 1, "metric": "a", "value": 1}, {"step": 2, "metric": "a"}], r"entry 1: missing value"),
        ([{"step": 1, "metric": "a", "value": None}], r"entry 0: value None is not a number"),
        ([{"step": 1, "metric": "a", "value": "x"}], r"entry 0: value 'x' is not a number"),
        ([{"step": 1, "metric": "a", "value": True}], r"entry 0: value True is not a number"),
        ([[1, "a", 0.5]], r"entry 0: expected an object"),
        ([{"step": "one", "metric": "a", "value": 1}], r"entry 0: step 'one' is not an integer"),
        ({"10": {"acc": "nan"}}, r"entry '10'.acc: value 'nan' is not finite"),
        ({"ten": {"acc": 0.1}}, r"entry 'ten'.acc: step 'ten' is not an integer"),
        ({"10": 0.5}, r"entry '10': expected an object of metric: value"),
        (3, r"expected a list"),
        ([], r"holds no scores"),
    ],
)
def test_bad_json_entries(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_metrics_text(json.dumps(data), "json", source="s.json")


def test_json_nan_literal_is_refused():
    with pytest.raises(ConfigError, match=r"entry 0: value nan is not finite"):
        parse_metrics_text('[{"step": 1, "metric": "a", "value": NaN}]', "json")


def test_invalid_json_names_the_line():
    with pytest.raises(ConfigError, match="line 2: not valid JSON"):
        parse_metrics_text('[\n{"step": 1,, }]', "json")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_metrics_file(tmp_path / "none.csv")
