"""The plots draw what they should (curves, error bars, legends, labels) and write PNG + SVG."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.container import ErrorbarContainer

from neuromfa.base.errors import ConfigError
from neuromfa.plots.emergence import emergence_figure, models_emergence_figure, plot_emergence, plot_model_emergence
from neuromfa.plots.figure import output_paths
from neuromfa.plots.nfd import models_nfd_figure, nfd_figure, plot_model_nfd, plot_nfd
from neuromfa.plots.spectrum import models_spectrum_figure, plot_model_spectra, plot_spectra, spectrum_figure
from neuromfa.schema.layers import KINDS

STEPS = [0, 1, 2, 4, 8, 64, 512, 1000]
Q = np.round(np.arange(-3.0, 3.01, 0.1), 1)


def _spectra(steps=STEPS, samples=4, seed=0) -> pd.DataFrame:
    """A spectrum per (step, sample) from a quadratic tau(q): alpha falls with step."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, step in enumerate(steps):
        for s in range(samples):
            a0 = 1.5 - 0.05 * i + rng.normal(0, 0.01)
            width = 0.1 + 0.05 * i
            tau = a0 * Q - 0.05 * width * Q**2
            alpha = np.diff(tau) / 0.1
            f = Q[:-1] * alpha - tau[:-1]
            rows.append({"step": step, "sample": s, "alpha": alpha.tolist(), "f": f.tolist()})
    return pd.DataFrame(rows)


def _emergence(steps=STEPS) -> pd.DataFrame:
    i = np.arange(len(steps))
    return pd.DataFrame(
        {
            "step": steps,
            "alpha0_mean": 1.5 - 0.05 * i, "alpha0_std": np.full(len(i), 0.01),
            "width_mean": 0.1 + 0.05 * i, "width_std": np.full(len(i), 0.02),
            "E_mean": 0.1 * i, "E_std": np.full(len(i), 0.03),
        }
    )


def _metrics(steps=STEPS) -> pd.DataFrame:
    rows = [{"step": s, "metric": "val_loss", "value": 5.5 / (1 + k)} for k, s in enumerate(steps)]
    rows += [{"step": s, "metric": "lambada_acc", "value": 0.1 * k} for k, s in enumerate(steps[::2])]
    return pd.DataFrame(rows)


def _check_files(summary, tmp_path, *texts: str) -> None:
    png, svg = summary.paths
    assert png.suffix == ".png" and svg.suffix == ".svg"
    image = mpimg.imread(png)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 400
    # Not a blank canvas: many distinct colours.
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 50
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    svg_text = svg.read_text()
    assert svg.stat().st_size > 10_000
    for text in texts:
        assert text in svg_text, text


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


# spectrum


def test_spectrum_one_curve_per_step_with_band_and_colorbar():
    df = _spectra().sample(frac=1.0, random_state=1)  # row order must not matter
    fig, summary = spectrum_figure(df)
    ax, cbar_ax = fig.axes
    assert len(ax.lines) == len(STEPS) == summary.curves
    assert summary.steps == STEPS and summary.samples == {s: 4 for s in STEPS}
    # One shaded band per step.
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == len(STEPS)
    # Curves are in step order, each the mean over samples, coloured along the colour map.
    first = df[df["step"] == 0]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), np.mean(first["alpha"].tolist(), axis=0))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.mean(first["f"].tolist(), axis=0))
    colours = [tuple(line.get_color()) for line in ax.lines]
    assert len(set(colours)) == len(STEPS)
    assert "α" in ax.get_xlabel() and "f(α)" in ax.get_ylabel()
    assert "training step" in cbar_ax.get_ylabel()
    assert _legend_texts(ax) == ["step 0", "step 1000", "±1 std of f over samples", "curve: mean over samples"]


def test_spectrum_of_one_checkpoint_has_no_colour_bar():
    df = _spectra(steps=[7], samples=3)
    fig, drawn = spectrum_figure(df)
    assert drawn.steps == [7] and drawn.curves == 1 and drawn.samples == {7: 3}
    assert len(fig.axes) == 1  # no colour bar axis around a single step
    ax = fig.axes[0]
    assert "step 7" in ax.get_title() and "over training" not in ax.get_title()
    alpha = np.asarray(df["alpha"].tolist())
    assert np.allclose(ax.get_lines()[0].get_xdata(), alpha.mean(axis=0))


def test_models_spectra_overlay_one_curve_per_model_at_its_last_step(tmp_path):
    frames = {"a": _spectra(steps=[0, 10], samples=3, seed=1), "b": _spectra(steps=[0, 1, 2, 4], samples=2, seed=2)}
    fig, drawn = models_spectrum_figure(frames)
    assert drawn.models == ["a", "b"] and drawn.steps == {"a": 10, "b": 4} and drawn.samples == {"a": 3, "b": 2}
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.get_lines()) == 2
    for line, df in zip(ax.get_lines(), frames.values()):
        last = df[df["step"] == df["step"].max()]
        assert np.allclose(line.get_ydata(), np.asarray(last["f"].tolist()).mean(axis=0))
    assert _legend_texts(ax)[:2] == ["a (step 10, 3 samples)", "b (step 4, 2 samples)"]
    assert len({tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
                for line in ax.get_lines()}) == 2
    _check_files(plot_model_spectra(frames, tmp_path / "two"), tmp_path)
    with pytest.raises(ConfigError, match="no model"):
        models_spectrum_figure({})


def test_spectrum_skips_non_finite_rows_and_checks_lengths():
    df = _spectra(steps=[0, 10])
    df.at[0, "f"] = [np.nan] * len(df.at[0, "f"])
    fig, summary = spectrum_figure(df)
    assert summary.skipped_rows == 1 and summary.samples == {0: 3, 10: 4}
    df.at[1, "alpha"] = df.at[1, "alpha"][:-1]
    with pytest.raises(ConfigError, match="different lengths"):
        spectrum_figure(df)
    with pytest.raises(ConfigError, match="lacks column"):
        spectrum_figure(df.drop(columns=["f"]))


def test_plot_spectra_writes_png_and_svg(tmp_path):
    (tmp_path / "figs").mkdir()
    summary = plot_spectra(_spectra(), tmp_path / "figs" / "spectrum.png")
    assert summary.paths == output_paths(tmp_path / "figs" / "spectrum")
    _check_files(summary, tmp_path, "Lipschitz", "step 1000", "training step")


def test_missing_output_folder_is_an_error_not_created(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        plot_spectra(_spectra(), tmp_path / "no" / "such" / "spectrum")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a folder"):
        plot_nfd(_nfd_table(), tmp_path / "file" / "nfd")


def test_cli_plot_into_a_missing_folder_fails_before_the_database(tmp_path, monkeypatch, capsys):
    """One line and a hint, no traceback; the unreachable database is never contacted (the
    first as a real process, the others through the same entry point in this process)."""
    env = {**os.environ, "NEO4J_URI": "bolt://127.0.0.1:9", "NEUROMFA_HOME": str(tmp_path / "home")}
    for kind in ("spectrum", "emergence", "nfd"):
        args = ["plot", kind, "--model", "m", "--out", str(tmp_path / "missing" / "fig")]
        if kind == "spectrum":
            done = subprocess.run([sys.executable, "-m", "neuromfa.cli", *args], env=env, capture_output=True,
                                  text=True, timeout=60)
            code, err = done.returncode, done.stderr
        else:
            code, _, err = run_cli(monkeypatch, capsys, env, *args)
        assert code == 1, err
        assert err.startswith(f"error: cannot write fig.png: the folder {tmp_path / 'missing'} does not exist")
        assert "Traceback" not in err and len(err.strip().splitlines()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "given, stem",
    [
        ("figs/fig", "figs/fig"),  # a bare stem gets both extensions
        ("figs/fig.png", "figs/fig"),
        ("figs/fig.SVG", "figs/fig"),
        ("figs/fig.pdf", "figs/fig"),  # another format's extension is replaced, not kept
        ("figs/pythia-1.4b", "figs/pythia-1.4b"),  # a dot in a name is no extension
        ("figs/run.step1000", "figs/run.step1000"),
    ],
)
def test_output_paths_replace_an_extension(tmp_path, given, stem):
    assert output_paths(tmp_path / given) == [tmp_path / f"{stem}.png", tmp_path / f"{stem}.svg"]


# emergence


def test_emergence_three_panels_with_error_bars_and_metric_axis():
    fig, summary = emergence_figure(_emergence(), metrics_df=_metrics())
    main = [ax for ax in fig.axes if ax.get_xscale() == "symlog" and ax.containers]
    twins = [ax for ax in fig.axes if ax not in main]
    assert len(main) == 3 and len(twins) == 3
    for ax, (name, label) in zip(main, [("alpha0", "α₀"), ("width", "width"), ("E", "emergence E")]):
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 1
        line = bars[0].lines[0]
        np.testing.assert_array_equal(line.get_xdata(), STEPS)
        np.testing.assert_allclose(line.get_ydata(), _emergence()[f"{name}_mean"])
        assert label in ax.get_ylabel()
    for twin in twins:
        assert len(twin.lines) == 1 and len(twin.lines[0].get_xdata()) == len(STEPS)
        assert twin.get_ylabel() == "validation loss (nats/token)"
        legend = _legend_texts(twin)
        assert len(legend) == 2 and legend[1] == "validation loss (nats/token)"
    assert "symlog" in main[-1].get_xlabel() and "step" in main[-1].get_xlabel()
    assert summary.metric == "val_loss" and summary.metric_points == len(STEPS)
    assert summary.panels == ["alpha0", "width", "E"]


def test_emergence_with_an_imported_metric_or_none():
    fig, summary = emergence_figure(_emergence(), metric="lambada_acc", metrics_df=_metrics())
    assert summary.metric == "lambada_acc" and summary.metric_points == len(STEPS[::2])
    assert sum(1 for ax in fig.axes if ax.get_ylabel() == "lambada_acc") == 3
    fig, summary = emergence_figure(_emergence())
    assert len(fig.axes) == 3 and summary.metric is None
    assert all(len(_legend_texts(ax)) == 1 for ax in fig.axes)
    with pytest.raises(ConfigError, match="no metric 'piqa'") as err:
        emergence_figure(_emergence(), metric="piqa", metrics_df=_metrics())
    assert "lambada_acc" in err.value.hint and "val_loss" in err.value.hint


def test_plot_emergence_writes_png_and_svg(tmp_path):
    summary = plot_emergence(_emergence(), tmp_path / "emergence", metrics_df=_metrics())
    _check_files(summary, tmp_path, "degree of emergence", "validation loss (nats/token)", "symlog")


def _with_null(df: pd.DataFrame) -> pd.DataFrame:
    i = np.arange(len(df))
    return df.assign(alpha0_null=df["alpha0_mean"] + 0.01 * i, alpha0_null_std=0.015,
                     width_null=df["width_mean"] - 0.02 * i, width_null_std=0.01,
                     E_null=0.07 * i, E_struct=0.03 * i)


def test_emergence_draws_the_null_as_a_band_beside_the_real_curves(tmp_path):
    df = _with_null(_emergence())
    fig, summary = emergence_figure(df, metrics_df=_metrics())
    assert summary.null
    main = [ax for ax in fig.axes if ax.get_xscale() == "symlog" and ax.containers]
    for ax, name in zip(main, ("alpha0", "width", "E")):
        real = [c for c in ax.containers if isinstance(c, ErrorbarContainer)][0].lines[0]
        dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert len(dashed) == 1
        mean_col = {"alpha0": "alpha0_null", "width": "width_null", "E": "E_null"}[name]
        np.testing.assert_allclose(dashed[0].get_ydata(), df[mean_col])
        np.testing.assert_allclose(real.get_ydata(), df[f"{name}_mean"])  # the real curve is untouched
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        if name == "E":
            assert bands == []
            struct = [line for line in ax.lines if line.get_color() == "tab:orange"]
            assert len(struct) == 1
            np.testing.assert_allclose(struct[0].get_ydata(), df["E_struct"])
        else:
            assert len(bands) == 1
            ys = bands[0].get_paths()[0].vertices[:, 1]
            std = df[f"{mean_col}_std"]
            assert ys.min() == pytest.approx((df[mean_col] - std).min())
            assert ys.max() == pytest.approx((df[mean_col] + std).max())
    # one legend per panel, outside the axes, naming the real curve first, then the null
    legends = [_legend_texts(ax) for ax in fig.axes if ax.get_legend() is not None]
    assert [texts[0].split(",")[0] for texts in legends] == ["α₀", "w", "E"]
    assert "α₀ of the null model: mean, ±1 std of one draw" in legends[0]
    assert legends[2][1:3] == ["E_null: E of the null means", "E_struct = E − E_null (of the means)"]
    assert all(texts[-1] == "validation loss (nats/token)" for texts in legends)
    _check_files(plot_emergence(df, tmp_path / "null"), tmp_path, "E_struct", "null model")


def test_emergence_without_a_stored_null_draws_no_null():
    # what emergence_frame gives without a null model: the columns are there, empty
    df = _emergence().assign(alpha0_null=np.nan, alpha0_null_std=np.nan, width_null=np.nan,
                             width_null_std=np.nan, E_null=None, E_struct=None)
    fig, summary = emergence_figure(df)
    assert not summary.null
    for ax in fig.axes:  # the error bars only: no dashed null line, no E_struct, no band
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 1 and set(ax.lines) == {bars[0].lines[0], *bars[0].lines[1]}
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert all(len(_legend_texts(ax)) == 1 for ax in fig.axes)


def test_models_emergence_one_curve_per_model_in_each_panel_at_its_own_steps(tmp_path):
    tables = {"a": _emergence(), "b": _with_null(_emergence(steps=[0, 10, 100])).assign(E_mean=lambda d: -d["E_mean"])}
    fig, drawn = models_emergence_figure(tables)
    assert drawn.models == ["a", "b"] and drawn.steps == {"a": STEPS, "b": [0, 10, 100]}
    assert drawn.panels == ["alpha0", "width", "E"] and len(fig.axes) == 3  # no metric axes
    for ax, name in zip(fig.axes, drawn.panels):
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 2
        for bar, (model, df) in zip(bars, tables.items()):
            np.testing.assert_array_equal(bar.lines[0].get_xdata(), drawn.steps[model])
            np.testing.assert_allclose(bar.lines[0].get_ydata(), df[f"{name}_mean"])
        assert bars[0].lines[0].get_color() != bars[1].lines[0].get_color()
        assert not [line for line in ax.lines if line.get_linestyle() == "--"]  # no null drawn
        assert _legend_texts(ax) == [f"a ({len(STEPS)} steps)", "b (3 steps)"]
    assert "2 models" in fig.axes[0].get_title() and "plot one model" in fig.axes[0].get_title()
    _check_files(plot_model_emergence(tables, tmp_path / "two"), tmp_path, "a (8 steps)", "b (3 steps)")
    one, _ = models_emergence_figure({"c": _emergence(steps=[5])})
    assert _legend_texts(one.axes[0]) == ["c (1 step)"]
    with pytest.raises(ConfigError, match="no model"):
        models_emergence_figure({})
    with pytest.raises(ConfigError, match="model 'b'.*lacks column"):
        models_emergence_figure({"a": _emergence(), "b": _emergence().drop(columns="E_std")})


# NFD


def _nfd_table(seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = {"input": 32, "qkv": 96, "context": 32, "attn_out": 32, "mlp_hidden": 64, "output": 32}
    kinds = np.repeat(list(sizes), list(sizes.values()))
    nfd = rng.normal(1.5, 0.3, len(kinds))
    nfd[::5] = np.nan  # ineligible neurons
    nfd[kinds == "output"] = np.nan
    nfd[np.flatnonzero(kinds == "output")[0]] = 1.1  # one eligible output neuron: no violin
    return pd.DataFrame({"kind": kinds, "nfd": nfd}).sample(frac=1.0, random_state=2)


def test_nfd_one_distribution_per_kind_in_network_order():
    df = _nfd_table()
    fig, summary = nfd_figure(df)
    (ax,) = fig.axes
    assert summary.kinds == list(KINDS)
    ticks = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert ticks == list(KINDS)
    expected = {k: int(np.isfinite(df[df["kind"] == k]["nfd"]).sum()) for k in KINDS}
    assert summary.counts == expected and summary.counts["output"] == 1
    assert [t.get_text().split("\n")[1] for t in ax.get_xticklabels()] == [f"(n={expected[k]})" for k in KINDS]
    excluded = int(df["nfd"].isna().sum())
    assert summary.excluded == excluded
    # Five violins (bodies are PolyCollections) and the lone output value as a point.
    assert summary.violins == 5
    bodies = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bodies) == 5
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1
    np.testing.assert_allclose(points[0].get_offsets(), [[len(KINDS), 1.1]])
    legend = _legend_texts(ax)
    assert legend == [f"eligible neurons: {sum(expected.values())}", f"ineligible (no NFD, excluded): {excluded}"]
    assert "NFD" in ax.get_ylabel() and "layer kind" in ax.get_xlabel()


def test_nfd_unknown_kinds_go_last_and_all_ineligible_is_an_error():
    df = pd.DataFrame({"kind": ["zeta", "qkv", "qkv", "alpha_kind", "input", "input"],
                       "nfd": [1.0, 1.2, 1.4, 0.9, 1.1, None]})
    _, summary = nfd_figure(df)
    assert summary.kinds == ["input", "qkv", "alpha_kind", "zeta"]
    assert summary.excluded == 1 and summary.violins == 1
    with pytest.raises(ConfigError, match="no neuron has an NFD"):
        nfd_figure(pd.DataFrame({"kind": ["qkv"], "nfd": [np.nan]}))


def test_plot_nfd_writes_png_and_svg(tmp_path):
    summary = plot_nfd(_nfd_table(), tmp_path / "nfd.svg")
    assert [p.name for p in summary.paths] == ["nfd.png", "nfd.svg"]
    _check_files(summary, tmp_path, "mlp_hidden", "ineligible (no NFD, excluded)")


def test_models_nfd_side_by_side_violins_per_kind(tmp_path):
    a = _nfd_table(seed=1)
    b = pd.DataFrame({"kind": ["input"] * 4 + ["qkv"] * 3 + ["zeta"],
                      "nfd": [1.0, 1.2, 1.4, np.nan, 2.0, 2.0, np.nan, 0.5]})
    fig, drawn = models_nfd_figure({"a": a, "b": b}, {"a": 10, "b": 0})
    (ax,) = fig.axes
    assert drawn.models == ["a", "b"] and drawn.steps == {"a": 10, "b": 0}
    assert drawn.kinds == [*KINDS, "zeta"]
    assert drawn.counts["b"] == {**dict.fromkeys(KINDS, 0), "input": 3, "qkv": 2, "zeta": 1}
    assert drawn.counts["a"]["zeta"] == 0 and drawn.counts["a"]["qkv"] == int(a[a["kind"] == "qkv"]["nfd"].notna().sum())
    assert drawn.excluded == {"a": int(a["nfd"].isna().sum()), "b": 2}
    # a: five violins (its lone output value a point); b: one (input), qkv (one value twice) and zeta as points
    assert drawn.violins == {"a": 5, "b": 1}
    bodies = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bodies) == 6
    assert {tuple(np.round(b.get_facecolor()[0][:3], 3)) for b in bodies} == {
        tuple(np.round(to_rgb(c), 3)) for c in ("C0", "C1")}
    points = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    qkv, zeta, output = 1 + KINDS.index("qkv"), len(KINDS) + 1, len(KINDS)
    # a's points left of each kind's tick, b's right of it
    assert sorted(map(tuple, np.round(points, 6))) == sorted(
        [(output - 0.2, 1.1), (qkv + 0.2, 2.0), (qkv + 0.2, 2.0), (zeta + 0.2, 0.5)])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == f"input\n(n={drawn.counts['a']['input']}/3)" and ticks[-1] == "zeta\n(n=0/1)"
    assert _legend_texts(ax) == [f"a (step 10): {sum(drawn.counts['a'].values())} with an NFD, "
                                 f"{drawn.excluded['a']} ineligible (excluded)",
                                 "b (step 0): 6 with an NFD, 2 ineligible (excluded)"]
    _check_files(plot_model_nfd({"a": a, "b": b}, {"a": 10, "b": 0}, tmp_path / "two"), tmp_path,
                 "a (step 10)", "b (step 0)")
    with pytest.raises(ConfigError, match="no model"):
        models_nfd_figure({}, {})
    with pytest.raises(ConfigError, match="model 'b' has an NFD"):
        models_nfd_figure({"a": a, "b": b.assign(nfd=np.nan)}, {"a": 1, "b": 1})
