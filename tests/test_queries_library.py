"""The query library without a server: headers, typed parameters, the write-clause gate,
error locations and the output formats."""

from __future__ import annotations

import csv
import io
import json
import re

import pyarrow.parquet as pq
import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.cli.console import error_lines
from neuromfa.queries import QueryInfo, get_query, list_queries
from neuromfa.queries.export import Format, render, table_for, to_csv, to_json
from neuromfa.queries.library import (
    QueryParam,
    bind_params,
    json_value,
    parse_assignments,
    parse_query,
    parse_value,
)
from neuromfa.queries.runner import QueryResult, _offending_line, write_clauses

REQUIRED_TOPICS = {
    "strongest-synapses", "hub-neurons", "weight-histogram", "distance-histogram",
    "neuron-across-checkpoints", "nfd-extremes", "emergence", "layer-weight-change",
    "shortest-path", "band-census", "graphs-without-analysis", "failed-jobs", "model-summary",
}


def test_library_has_the_required_queries_with_complete_headers():
    queries = list_queries()
    names = [q.name for q in queries]
    assert names == sorted(names)
    assert set(names) >= REQUIRED_TOPICS
    assert len(queries) >= 12
    for q in queries:
        assert isinstance(q, QueryInfo)
        assert q.description and q.returns and q.example.startswith(f"neuromfa query {q.name}")
        # the example's parameters exist and their values parse with the declared types
        given = dict(re.findall(r"--param (\w+)=(\S+)", q.example))
        bind_params(q, given)
        # every declared parameter is used in the body, and nothing undeclared is
        assert {p.name for p in q.params} == set(re.findall(r"\$(\w+)", q.text))
        assert "//" not in q.text


def test_no_library_query_contains_a_write_clause():
    for q in list_queries():
        assert write_clauses(q.text) == [], q.name


HEADER = """// name: demo-query
// description: A demo
//   over two lines.
// param: limit int = 20 -- how many
// param: kind str(a|b) = "a" -- which kind
// param: graph str = null -- a graph
// param: flag bool = true
// param: x float -- required number
// returns: n, k
// example: neuromfa query demo-query --param x=1.5
// note: a note
MATCH (n) WHERE n.kind = $kind AND ($graph IS NULL OR n.graph = $graph) AND $flag AND n.x > $x
RETURN n.v AS n, n.kind AS k LIMIT $limit
"""


def test_parse_query_reads_every_header_field():
    q = parse_query(HEADER)
    assert q.name == "demo-query"
    assert q.description == "A demo over two lines."
    assert q.returns == ("n", "k")
    assert q.notes == ("a note",)
    assert q.text.startswith("MATCH (n)") and q.text.endswith("LIMIT $limit")
    by_name = {p.name: p for p in q.params}
    assert by_name["limit"] == QueryParam(name="limit", type="int", required=False, default=20,
                                          description="how many")
    assert by_name["kind"].choices == ("a", "b") and by_name["kind"].default == "a"
    assert by_name["graph"].default is None and not by_name["graph"].required
    assert by_name["flag"].default is True
    assert by_name["x"].required and by_name["x"].type == "float"
    assert by_name["limit"].spec() == "limit:int=20"
    assert by_name["kind"].spec() == 'kind:str(a|b)="a"'
    assert by_name["x"].spec() == "x:float"


@pytest.mark.parametrize("broken, why", [
    (HEADER.replace("// name: demo-query\n", ""), "lacks name"),
    (HEADER.replace("// returns: n, k\n", ""), "lacks returns"),
    (HEADER.replace("// param: flag bool = true\n", ""), "undeclared"),
    (HEADER.replace("AND $flag ", ""), "unused"),
    (HEADER.replace("limit int = 20", "limit int = twenty"), "bad default"),
    (HEADER.replace('kind str(a|b) = "a"', 'kind str(a|b) = "c"'), "not one of its choices"),
    (HEADER.replace('kind str(a|b) = "a"', "kind str(a|b) = a"), "double-quoted"),
    (HEADER.replace("// returns: n, k", "// returns: n, missing"), "never mentions"),
    (HEADER.replace("// note: a note", "// colour: blue"), "unknown header key"),
    (HEADER.replace("limit int = 20", "limit integer = 20"), "bad param line"),
])
def test_parse_query_rejects_broken_headers(broken, why):
    with pytest.raises(ValueError, match=why):
        parse_query(broken)


def test_parse_value_types_strings_from_the_command_line():
    q = parse_query(HEADER)
    p = {x.name: x for x in q.params}
    assert parse_value(p["limit"], "7") == 7 and isinstance(parse_value(p["limit"], "7"), int)
    assert parse_value(p["limit"], 7.0) == 7
    assert parse_value(p["x"], "1e-3") == 0.001
    assert parse_value(p["x"], 2) == 2.0 and isinstance(parse_value(p["x"], 2), float)
    assert parse_value(p["flag"], "false") is False
    assert parse_value(p["flag"], "YES") is True
    assert parse_value(p["graph"], "null") is None
    assert parse_value(p["graph"], "g@1") == "g@1"
    assert parse_value(p["kind"], "b") == "b"


@pytest.mark.parametrize("name, raw, message", [
    ("limit", "7.5", "not an integer"),
    ("limit", True, "not an integer"),
    ("limit", "ten", "not an integer"),
    ("x", "abc", "not a number"),
    ("x", "nan", "not a finite number"),
    ("x", "null", "a value is required"),
    ("flag", "maybe", "not true or false"),
    ("kind", "c", "not one of a, b"),
    ("graph", 5, "not a string"),
])
def test_parse_value_rejects_values_of_the_wrong_type(name, raw, message):
    q = parse_query(HEADER)
    with pytest.raises(ConfigError, match=message) as err:
        parse_value(q.param(name), raw)
    assert name in err.value.message and err.value.hint


def test_lower_bounds_of_numeric_parameters():
    q = parse_query("""// name: bounded
// description: bounds
// param: bins int(>=1) = 10 -- bins
// param: width float(>0) = 0.5 -- width
// returns: x
// example: neuromfa query bounded
RETURN $bins * $width AS x""")
    bins, width = q.params
    assert (bins.minimum, bins.exclusive_minimum, bins.spec()) == (1.0, False, "bins:int(>=1)=10")
    assert (width.minimum, width.exclusive_minimum, width.spec()) == (0.0, True, "width:float(>0)=0.5")
    assert parse_value(bins, "1") == 1 and parse_value(width, "1e-9") == 1e-9
    with pytest.raises(ConfigError, match="'0' is not >=1|0 is not >=1"):
        parse_value(bins, "0")
    with pytest.raises(ConfigError, match="is not >0"):
        parse_value(width, "0")
    with pytest.raises(ValueError, match="lower bound needs an int or float"):
        parse_query(HEADER.replace('kind str(a|b) = "a"', 'kind str(>=1) = "a"'))
    with pytest.raises(ValueError, match="bad default of limit"):
        parse_query(HEADER.replace("limit int = 20", "limit int(>=1) = 0"))


def test_bind_params_fills_defaults_and_rejects_unknown_or_missing():
    q = parse_query(HEADER)
    assert bind_params(q, {"x": "2"}) == {"limit": 20, "kind": "a", "graph": None, "flag": True,
                                          "x": 2.0}
    with pytest.raises(ConfigError, match="needs parameter 'x'"):
        bind_params(q, {})
    with pytest.raises(ConfigError, match="has no parameter 'lmit'") as err:
        bind_params(q, {"x": 1, "lmit": 3})
    assert "limit" in err.value.hint


def test_get_query_suggests_close_names():
    assert get_query("hub-neurons").name == "hub-neurons"
    with pytest.raises(ConfigError, match="no named query 'hub-neuron'") as err:
        get_query("hub-neuron")
    assert "hub-neurons" in err.value.hint


def test_parse_assignments_and_json_values():
    assert parse_assignments(["a=1", "b =x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ConfigError, match="bad query parameter") as err:
        parse_assignments(["novalue"])
    assert error_lines(err.value)[1] == "write --param name=value"
    with pytest.raises(ConfigError, match="given twice"):
        parse_assignments(["a=1", "a=2"])
    assert json_value("3") == 3 and json_value("2.5") == 2.5 and json_value("true") is True
    assert json_value("[1, 2]") == [1, 2] and json_value("null") is None
    assert json_value("tiny@0/s0") == "tiny@0/s0" and json_value("") == ""


@pytest.mark.parametrize("text, clauses", [
    ("MATCH (n) RETURN n", []),
    ("MATCH (n) SET n.x = 1", ["SET"]),
    ("match (n) detach delete n", ["DETACH", "DELETE"]),
    ("MERGE (n:A {x: 1})", ["MERGE"]),
    ("CREATE INDEX i FOR (n:A) ON (n.x)", ["CREATE"]),
    ("DROP CONSTRAINT c", ["DROP"]),
    ("MATCH (n) REMOVE n.x", ["REMOVE"]),
    ("FOREACH (i IN [1] | CREATE (:A))", ["FOREACH", "CREATE"]),
    ("LOAD CSV FROM 'file:///x' AS row RETURN row", ["LOAD CSV"]),
    ("UNWIND [1] AS i CALL { WITH i RETURN i AS j } IN TRANSACTIONS RETURN j", ["IN TRANSACTIONS"]),
    ("CALL db.createLabel('X')", ["CALL db.createLabel"]),
    ("CALL db.index.fulltext.createNodeIndex('i', ['A'], ['x'])", ["CALL db.index.fulltext.createNodeIndex"]),
    ("CALL db.labels() YIELD label RETURN label", []),
    ("CALL { MATCH (n) RETURN n } RETURN n", []),
    # names that only look like write words
    ("MATCH (n:Create) WHERE n.set = 1 RETURN n.delete AS `merge`, {remove: 1} AS m", []),
    ("MATCH (n) WHERE n.note = 'CREATE (x)' RETURN n // SET\n", []),
    ("MATCH (n) /* DELETE n */ RETURN $set AS s, \"MERGE\" AS t", []),
])
def test_write_clauses(text, clauses):
    assert write_clauses(text) == clauses


def test_offending_line_from_position_or_quoted_name():
    text = "MATCH (n)\nWHERE n.x = 1\nRETRUN n"
    assert _offending_line(text, "Unexpected input 'RETRUN' at line 3, column 0") == (3, "RETRUN n")
    assert _offending_line(text, "Invalid input (line 2, column 7 (offset: 16))") == (2, "WHERE n.x = 1")
    assert _offending_line(text, "Syntax error at line 1:4 - mismatched input") == (1, "MATCH (n)")
    assert _offending_line("MATCH (n)\nRETURN foo(n)", "Unknown function 'foo'") == (2, "RETURN foo(n)")
    assert _offending_line("RETURN 1 / 0", "/ by zero") == (1, "RETURN 1 / 0")
    assert _offending_line(text, "something went wrong") is None


RESULT = QueryResult(
    columns=["name", "n", "x", "ok", "path", "missing"],
    rows=[["a,b", 1, 0.5, True, ["u", "v"], None],
          ["c", 2, 1e-20, False, [], None]],
)


def test_json_and_csv_output_keep_types_and_nulls():
    assert json.loads(to_json(RESULT)) == [
        {"name": "a,b", "n": 1, "x": 0.5, "ok": True, "path": ["u", "v"], "missing": None},
        {"name": "c", "n": 2, "x": 1e-20, "ok": False, "path": [], "missing": None},
    ]
    rows = list(csv.reader(io.StringIO(to_csv(RESULT))))
    assert rows == [["name", "n", "x", "ok", "path", "missing"],
                    ["a,b", "1", "0.5", "true", '["u", "v"]', ""],
                    ["c", "2", "1e-20", "false", "[]", ""]]


def test_parquet_needs_out_and_round_trips(tmp_path):
    with pytest.raises(ConfigError, match="parquet"):
        render(RESULT, Format.parquet)
    out = tmp_path / "r.parquet"
    render(RESULT, Format.parquet, out=out)
    table = pq.read_table(out)
    assert table.column_names == RESULT.columns
    assert table.to_pylist() == RESULT.records()


def test_render_to_an_unwritable_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot write"):
        render(RESULT, Format.csv, out=tmp_path / "no" / "such" / "dir.csv")


def test_empty_result_frame_keeps_its_columns():
    df = QueryResult(columns=["a", "b"], rows=[]).frame()
    assert list(df.columns) == ["a", "b"] and len(df) == 0


def test_wide_rows_switch_to_one_line_per_column():
    narrow = table_for(RESULT, width=30)
    assert not narrow.show_header and len(narrow.columns) == 2  # column name | value
    assert len(narrow.rows) == len(RESULT.rows)
    wide = table_for(RESULT, width=200)
    assert [str(c.header) for c in wide.columns] == RESULT.columns


def test_every_named_query_is_a_python_function_with_its_signature():
    import inspect

    from neuromfa.queries import named

    assert dir(named) == sorted(q.name.replace("-", "_") for q in list_queries())
    fn = named.strongest_synapses
    sig = inspect.signature(fn)
    assert list(sig.parameters) == ["graph", "kind", "block", "limit", "learned_only", "store"]
    assert sig.parameters["limit"].default == 20 and sig.parameters["kind"].default == "mlp_hidden"
    assert "layer kind of the source neurons" in fn.__doc__ and "src_index" in fn.__doc__
    with pytest.raises(ConfigError, match="'limit'"):
        fn(limit="many")  # typed before any database is opened
    with pytest.raises(AttributeError, match="no named query function"):
        named.no_such_query
