"""The report's figures (learning curves; final accuracy against parameters, eta); not the table.

Drawn with matplotlib's object API, Figure on the Agg backend, so no display and no pyplot
global state. A row of report.comparison_table is a line or a point, in the same colour in
both figures: a colour per configuration, a line style or marker per seed (or status).
"""

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from experiments.files import figure_png, write_atomically
from experiments.report.labels import eta_text, network_label
from experiments.store.columns import CONFIG_COLUMNS, FINISHED, PRUNED

LEARNING_CURVES_FILE = "learning_curves.png"
ACCURACY_FILE = "accuracy_vs_parameters.png"
FIGURE_TITLES = {LEARNING_CURVES_FILE: "Test accuracy per epoch",
                 ACCURACY_FILE: "Final test accuracy against the number of parameters and eta"}
FIGURE_SIZE = (10, 6)  # inches; at DPI, 1200 x 720 pixels
DPI = 120
_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D")
_X_AXES = {"parameters": "number of parameters (weights and biases)", "eta": "learning rate eta"}
_NOTE = {"fontsize": 8, "color": "0.3"}
MAX_ROWS = 20  # of the table, drawn in a figure (tab20 has as many colours)


def write_figures(results, table) -> list[Path]:
    """Draw the figures of `table`'s rows (at most MAX_ROWS of them, see figure_rows) into
    results.directory; return their paths."""
    title = f"sweep {results.name} ({', '.join(results.runs['dataset'].unique())})"
    shown, note = figure_rows(table)
    figures = {LEARNING_CURVES_FILE: learning_curves_figure(shown, results.metrics, title, note),
               ACCURACY_FILE: accuracy_figure(shown, title, note)}
    paths = []
    for name, figure in figures.items():
        path = results.directory / name
        write_atomically(path, figure_png(figure))  # a reader sees the old figure or the new
        paths.append(path)
    return paths


def figure_rows(table, most=MAX_ROWS):
    """The rows a figure shows, and a note saying which when not all: past `most` rows colours
    repeat, the legend outgrows the figure, and thousands of lines take minutes to draw. Then
    the `most` rows with the best final accuracy, in the table's order."""
    if len(table) <= most:
        return table, ""
    accuracy = table["accuracy"].to_numpy(dtype=float, na_value=np.nan)
    best = np.argsort(-np.nan_to_num(accuracy, nan=-np.inf), kind="stable")[:most]
    note = (f"the {most} of {len(table):,} rows with the best final accuracy "
            f"(--filter, --sort-by and --top choose others)")
    return table.iloc[np.sort(best)], note


def row_labels(table) -> list:
    """A legend label per row, its network and training, "[784, 30, 10]  eta=3.0, batch 10";
    other settings (epochs, seed, ...) and the number of seeds only where rows differ in them."""
    varying = [column for column in (*CONFIG_COLUMNS, "seed", "n")
               if column in table and column not in ("layers", "eta", "mini_batch_size", "comment")
               and table[column].nunique(dropna=False) > 1]
    labels = []
    for row in table.to_dict("records"):
        settings = [f"eta={eta_text(row['eta'])}", f"batch {row['mini_batch_size']}"]
        settings += [_setting(column, row[column]) for column in varying]
        labels.append(f"{network_label(row['layers'])}  {', '.join(settings)}")
    # configurations that differ only in their comment: the comment tells them apart
    comments = {}
    for label, comment in zip(labels, table["comment"]):
        comments.setdefault(label, set()).add(comment)
    return [f"{label}: {comment}" if len(comments[label]) > 1 and comment else label
            for label, comment in zip(labels, table["comment"])]


def _setting(column, value):
    if pd.isna(value):
        return "all images" if column == "train_size" else f"no {column}"
    if column == "train_size":
        return f"{value:,} images"
    texts = {"epochs": f"{value} epochs", "seed": f"seed {value}",
             "n": f"{value} seed{'s' * (value != 1)}", "init": f"init {value}",
             "lmbda": f"lmbda={value:g}" if isinstance(value, float) else "",
             "momentum": f"momentum {value:g}" if isinstance(value, float) else "",
             "early_stopping": f"early stopping {value}",
             "eta_schedule": f"eta schedule {value}"}
    return texts.get(column) or str(value)


def _styles(table):
    """A style per row: a colour per configuration and, within one, a line style and a marker
    per seed (a row per trial) or per status (seeds merged, some diverged)."""
    keys = [tuple(map(str, row)) for row in table[list(CONFIG_COLUMNS)].itertuples(index=False)]
    configurations = list(dict.fromkeys(keys))
    palette = colormaps["tab10" if len(configurations) <= 10 else "tab20"]
    seeds = sorted(table["seed"].unique()) if "seed" in table else []
    styles, seen = [], {}
    for key, seed in zip(keys, table["seed"] if seeds else keys):
        seen[key] = seen.get(key, -1) + 1
        rank = seeds.index(seed) if seeds else seen[key]
        styles.append({"color": palette(configurations.index(key) % palette.N),
                       "linestyle": _LINESTYLES[rank % 4], "marker": _MARKERS[rank % 4]})
    return styles


def _legend_handles(table, styles, drawn, missing, point=False):
    """An entry per row; or, with a row per trial, one per configuration (its colour) and one
    per seed (its line style or marker), which reads better than one per trial. Rows not
    drawn say why: `missing`."""
    per_trial = "seed" in table
    labels = row_labels(table.drop(columns="seed") if per_trial else table)
    entries = {}  # (label, status or None) -> [style, {status: seeds}, drawn]
    for label, style, status, seed, shown in zip(labels, styles, table["status"],
                                                  table.get("seed", labels), drawn):
        entry = entries.setdefault((label, None if per_trial else status), [style, {}, False])
        entry[1].setdefault(status, []).append(seed)
        entry[2] = entry[2] or shown
    handles = []
    for (label, _), (style, seeds_by_status, shown) in entries.items():
        every_seed = len(seeds_by_status) == 1 or not per_trial  # then the status alone says it
        notes = [status if every_seed else f"{status}: seed {', '.join(map(str, seeds))}"
                 for status, seeds in seeds_by_status.items() if status != FINISHED]
        notes += [] if shown else [missing]
        look = _look(style, point, plain=per_trial) if shown else {"linestyle": "none"}
        text = f"{label} ({'; '.join(notes)})" if notes else label
        handles.append(Line2D([], [], color=style["color"], label=text, **look))
    if per_trial:
        for seed, style in dict(zip(table["seed"], styles)).items():
            handles.append(Line2D([], [], color="0.3", label=f"seed {seed}", **_look(style, point)))
    return handles


def _look(style, point, plain=False):
    """How a legend entry draws: the style's marker or line style, or plain ones (a colour)."""
    if point:
        return {"marker": "o" if plain else style["marker"], "linestyle": "none"}
    return {"linestyle": "-" if plain else style["linestyle"]}


def mean_curve(metrics, run_ids):
    """Test accuracy per epoch of some trials: DataFrame of epoch, mean, std (ddof=1), n."""
    rows = metrics[metrics["run_id"].isin(run_ids) & metrics["accuracy"].notna()]
    curve = rows.groupby("epoch")["accuracy"].agg(["mean", "std", "size"])
    return curve.rename(columns={"size": "n"}).reset_index()


def learning_curves_figure(table, metrics, title, note="") -> Figure:
    """Test accuracy per epoch, a line per table row: the mean of its seeds, with a band of
    ± one sample standard deviation where it has several; x marks where a trial diverged.

    When some curves sit far below the best (stuck at 10%), a second panel zooms on the
    curves that end near the best, and the first shows every curve on 0-100%.
    """
    figure = _figure()
    curves = [mean_curve(metrics, run_ids) for run_ids in table["run_ids"]]
    zoom = _zoom_range(curves)
    axes = list(figure.subplots(1, 2, width_ratios=[1, 2])) if zoom else [figure.add_subplot()]
    styles = _styles(table)
    for style, status, curve in zip(styles, table["status"], curves):
        if not curve.empty:  # a trial that failed before its first epoch ended is not drawn
            _draw_curve(axes, curve, style, status)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(PercentFormatter(100))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    if zoom:
        axes[0].set_ylim(0, 100)
        axes[0].axhspan(*zoom, color="0.85", zorder=0)
        axes[0].set_title("every trial; shaded: the zoom", **_NOTE)
        axes[1].set_ylim(*zoom)
        axes[1].set_title(f"zoom on the best, {zoom[0]:.1f}% to {zoom[1]:.1f}%", **_NOTE)
    else:
        axes[0].set_ylim(*_padded(*_extent(curves)))
    merged = "n" in table and table["n"].max() > 1
    ended = (~table["status"].isin([FINISHED, PRUNED])).any()
    pruned = (table["status"] == PRUNED).any()
    notes = ["lines: mean over seeds, bands: ± 1 sample std" if merged else "",
             "x: last epoch before the trial diverged" if ended else "",
             "faint, o: pruned (stopped early by ASHA)" if pruned else "", note]
    figure.suptitle(f"Test accuracy after each epoch, {title}")
    drawn = [not curve.empty for curve in curves]
    _legend(figure, _legend_handles(table, styles, drawn, "no epoch recorded"), notes)
    return figure


def _draw_curve(axes, curve, style, status):
    """A row's curve; a pruned one faint, with a hollow o where it stopped; a diverged one
    with an x where it ended."""
    epochs, mean, std = curve["epoch"], 100 * curve["mean"], 100 * curve["std"]
    alpha = 0.35 if status == PRUNED else 1.0
    for ax in axes:
        ax.plot(epochs, mean, color=style["color"], linestyle=style["linestyle"], alpha=alpha)
        spread = std.notna()  # a single seed has no band
        ax.fill_between(epochs[spread], (mean - std)[spread], (mean + std)[spread],
                        color=style["color"], alpha=0.2 * alpha, linewidth=0)
        if status == PRUNED:
            ax.plot(epochs.iloc[-1:], mean.iloc[-1:], marker="o", markerfacecolor="none",
                    color=style["color"], alpha=0.6)
        elif status != FINISHED:
            ax.plot(epochs.iloc[-1:], mean.iloc[-1:], marker="x", markersize=10,
                    markeredgewidth=2, color=style["color"])


def _extent(curves):
    values = [100 * (curve["mean"] + sign * curve["std"].fillna(0))
              for curve in curves for sign in (-1, 1)]
    values = np.concatenate([[]] + values)
    return (values.min(), values.max()) if values.size else (0.0, 100.0)


def _zoom_range(curves, near=10.0, span=20.0):
    """The y-range (percent) of the curves that end within `near` points of the best one, when
    all the curves span over `span` points and three times that range; else None."""
    drawn = [curve for curve in curves if not curve.empty]
    if not drawn:
        return None
    finals = np.array([100 * curve["mean"].iloc[-1] for curve in drawn])
    bottom, top = _extent(drawn)
    low = finals[finals >= finals.max() - near].min()
    return _padded(low, top) if top - bottom > max(span, 3 * (top - low)) else None


def accuracy_figure(table, title, note="") -> Figure:
    """Final test accuracy (mean ± std over seeds) of each row against its number of
    parameters and against eta, each where the rows differ in it; rows with no final accuracy
    (diverged, failed) are named in the legend, not drawn."""
    figure = _figure()
    drawn = table["accuracy"].notna().to_numpy()
    shown = table[drawn]
    spread = shown.get("accuracy_std", shown["accuracy"] * np.nan).fillna(0)
    extremes = np.concatenate([shown["accuracy"] - spread, shown["accuracy"] + spread])
    ranges = _y_ranges(100 * extremes)
    panels = [x for x in _X_AXES if shown[x].nunique() > 1] or ["parameters"]
    styles = _styles(table)
    for subfigure, x in zip(np.ravel(figure.subfigures(1, len(panels))), panels):
        axes = _value_axes(subfigure, ranges)
        _draw_points(axes, shown, spread, [s for s, has in zip(styles, drawn) if has], x)
        axes[-1].set_xlabel(_X_AXES[x])
        if shown[x].min() > 0 and shown[x].max() >= 10 * shown[x].min():
            axes[-1].set_xscale("log")
        axes[-1].xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))
    figure.supylabel("final test accuracy")
    figure.suptitle(f"Test accuracy after the last epoch, {title}")
    notes = ["points: mean over seeds, bars: ± 1 sample std" if (spread > 0).any() else "", note]
    _legend(figure, _legend_handles(table, styles, drawn, "no final accuracy", point=True), notes)
    return figure


def _draw_points(axes, shown, spread, styles, x):
    """A point per row. Against eta, points that differ only in eta are joined by a grey line;
    against parameters, each network is named once, at its best point, above and below in
    turn so that neighbours' names do not overlap."""
    for ax in axes:
        if x == "eta":
            others = [column for column in (*CONFIG_COLUMNS, "seed")
                      if column in shown and column not in ("comment", "eta")]
            for _, series in shown.groupby(others, dropna=False, sort=False):
                series = series.sort_values("eta")
                ax.plot(series["eta"], 100 * series["accuracy"], color="0.7", linewidth=1)
        for (_, row), style, error in zip(shown.iterrows(), styles, spread):
            ax.errorbar(row[x], 100 * row["accuracy"], 100 * error, marker=style["marker"],
                        capsize=3, color=style["color"])
    if x != "parameters":
        return
    best = shown.loc[shown.groupby("layers", sort=False)["accuracy"].idxmax()].sort_values(x)
    for turn, (_, row) in enumerate(best.iterrows()):
        for ax in axes:
            ax.annotate(network_label(row["layers"]), (row[x], 100 * row["accuracy"]),
                        xytext=(5, 7 if turn % 2 == 0 else -14), textcoords="offset points",
                        fontsize=8, annotation_clip=True)


def _figure():
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # Agg draws into memory: no display needed
    return figure


def _y_ranges(values, gap=20.0):
    """One y-range (low, high) in percent holding every value or, when the values fall in two
    groups more than `gap` points apart (a network stuck at 10%), one per group, upper first:
    the axis breaks there, which hides nothing since no value lies in the gap. The lower
    range spans at least a third of the upper, as its panel is a third as tall: one scale."""
    values = np.sort(np.asarray(values, dtype=float))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [(0.0, 100.0)]
    gaps = np.diff(values)
    if not gaps.size or gaps.max() <= gap:
        return [_padded(values[0], values[-1])]
    split = int(gaps.argmax()) + 1
    upper, (low, high) = _padded(values[split], values[-1]), _padded(values[0], values[split - 1])
    half = max(high - low, (upper[1] - upper[0]) / 3) / 2
    middle = min(max((low + high) / 2, half), upper[0] - half)  # within 0% and the upper range
    return [upper, (middle - half, middle + half)]


def _padded(low, high):
    margin = max(0.5, 0.1 * (high - low))
    return max(0.0, low - margin), min(100.0, high + margin)


def _value_axes(container, ranges):
    """Axes sharing x, stacked top to bottom, one per y-range; two make a broken y axis."""
    if len(ranges) == 1:
        axes = [container.add_subplot()]
    else:
        axes = list(container.subplots(2, 1, sharex=True, height_ratios=[3, 1]))
        _mark_break(*axes)
        axes[1].yaxis.set_major_locator(MaxNLocator(nbins=3))
    for ax, (low, high) in zip(axes, ranges):
        ax.set_ylim(low, high)
        ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0 if high - low > 5 else 1))
        ax.grid(alpha=0.3)
    return axes


def _mark_break(top, bottom):
    """The broken-axis marks: the facing spines hidden, a slash at each end of both."""
    top.spines["bottom"].set_visible(False)
    bottom.spines["top"].set_visible(False)
    top.tick_params(bottom=False)
    slash = {"marker": [(-1, -0.5), (1, 0.5)], "markersize": 12, "linestyle": "none",
             "color": "k", "markeredgewidth": 1, "clip_on": False}
    top.plot([0, 1], [0, 0], transform=top.transAxes, **slash)
    bottom.plot([0, 1], [1, 1], transform=bottom.transAxes, **slash)


def _legend(figure, handles, notes):
    """Below the axes, where it hides nothing: in two columns when the labels fit (about 85
    characters of 8-point text each), else in one, labels cut at 120 characters."""
    for handle in handles:
        label = handle.get_label()
        handle.set_label(label if len(label) <= 120 else label[:119] + "…")
    longest = max((len(handle.get_label()) for handle in handles), default=0)
    figure.legend(handles=handles, loc="outside lower center", fontsize=8, frameon=False,
                  ncols=2 if longest <= 85 and len(handles) > 4 else 1,
                  title="; ".join(note for note in notes if note) or None, title_fontsize=8)
