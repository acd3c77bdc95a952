"""The figures of a search: the metric against each searched parameter, and parallel coordinates.

Drawn from runs.csv and the search.yaml a searching sweep writes beside it, a point (or a
line) per trial. As W&B's sweep page: each searched parameter against the metric (a log
axis for a log-uniform one), and every parameter side by side with the metric, each trial a
line coloured by its metric. Trials stopped early (pruned by ASHA) are drawn hollow and
faint, so the configurations the search gave up on stay visible but apart.
"""

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from experiments.files import figure_png, write_atomically
from experiments.store.columns import FINISHED, PRUNED

PARAMETERS_FILE = "search_parameters.png"
PARALLEL_FILE = "search_parallel.png"
FIGURE_TITLES = {PARAMETERS_FILE: "The metric against each searched parameter",
                 PARALLEL_FILE: "Searched parameters and the metric, a line per trial"}
_COLUMNS = {"cost": "cost_function"}  # a trial key whose runs.csv column is named otherwise
_METRIC_LABELS = {"validation_accuracy": "validation accuracy", "cost": "training cost"}


def write_figures(results):
    """Draw a search's figures into results.directory (none for a grid); their paths."""
    paths = []
    for name, figure in search_figures(results).items():
        path = results.directory / name
        write_atomically(path, figure_png(figure))
        paths.append(path)
    return paths


def search_figures(results):
    """{file name: Figure} for a search's results (results.search set), else {}."""
    search = results.search
    if not search:
        return {}
    runs = results.runs.copy()
    metric = search["metric"]["name"]
    runs["metric"] = _metric(results, metric)
    axes = [(key, spec) for key, spec in search["parameters"].items()
            if spec.get("distribution") != "value"]  # a constant is no axis
    if not axes:
        return {}
    title = f"search of sweep {results.name}: {len(runs)} trials"
    return {PARAMETERS_FILE: _parameters_figure(runs, axes, metric, title),
            PARALLEL_FILE: _parallel_figure(runs, axes, metric, search["metric"]["goal"], title)}


def _metric(results, metric):
    if metric == "validation_accuracy":
        return 100 * results.runs["validation_accuracy"]
    last = results.metrics.groupby("run_id")["cost"].last()
    return results.runs["run_id"].map(last)


def _values(runs, key, spec):
    """(x positions of the trials, tick positions, tick labels or None, log scale?)."""
    column = runs[_COLUMNS.get(key, key)]
    numeric = pd.to_numeric(column, errors="coerce")
    if spec.get("distribution") or numeric.notna().all():
        return numeric.astype(float), None, None, spec.get("distribution") == "log_uniform_values"
    labels = list(dict.fromkeys(str(value) for value in column))  # categories, in order met
    if key == "layers":
        labels.sort(key=lambda text: [int(size) for size in text.split("-")])
    positions = column.astype(str).map({label: i for i, label in enumerate(labels)})
    return positions.astype(float), list(range(len(labels))), labels, False


def _parameters_figure(runs, axes, metric, title):
    columns = min(len(axes), 3)
    rows = math.ceil(len(axes) / columns)
    figure = _figure((4.2 * columns, 3.4 * rows + 0.8))
    grid = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for ax, (key, spec) in zip(grid, axes):
        x, ticks, labels, log = _values(runs, key, spec)
        for status, look in _LOOKS.items():
            chosen = runs["status"] == status if status else ~runs["status"].isin(_LOOKS)
            ax.plot(x[chosen], runs["metric"][chosen], linestyle="none", **look)
        if log:
            ax.set_xscale("log")
        if ticks is not None:
            ax.set_xticks(ticks, labels, rotation=20, fontsize=8)
        ax.set_xlabel(key)
        ax.grid(alpha=0.3)
        if metric == "validation_accuracy":
            ax.yaxis.set_major_formatter(PercentFormatter(100))
    for ax in grid[len(axes):]:
        ax.set_visible(False)
    figure.supylabel(_METRIC_LABELS[metric])
    figure.suptitle(f"{_METRIC_LABELS[metric].capitalize()} after each trial's last epoch, "
                    f"{title}")
    figure.legend(handles=[Line2D([], [], linestyle="none", label=label, **look)
                           for label, look in (("finished", _LOOKS[FINISHED]),
                                               ("pruned (at its last epoch)", _LOOKS[PRUNED]))],
                  loc="outside lower center", ncols=2, fontsize=8)
    return figure


_LOOKS = {FINISHED: {"marker": "o", "color": "tab:blue", "alpha": 0.8},
          PRUNED: {"marker": "o", "markerfacecolor": "none", "color": "0.55", "alpha": 0.7},
          None: {"marker": "x", "color": "tab:red"}}  # None: diverged or failed


def _parallel_figure(runs, axes, metric, goal, title):
    figure = _figure((max(6.0, 1.9 * (len(axes) + 1)), 5.2))
    ax = figure.add_subplot()
    columns, tick_texts = [], []
    for key, spec in axes:
        x, ticks, labels, log = _values(runs, key, spec)
        scaled, texts = _unit_scale(np.log10(x) if log else x, ticks, labels, log)
        columns.append(scaled)
        tick_texts.append(texts)
    value = runs["metric"].astype(float)
    scaled, texts = _unit_scale(value, None, None, False)
    columns.append(scaled)
    tick_texts.append(texts)
    coordinates = np.column_stack(columns)  # (trials, axes)
    colours = colormaps["viridis"]
    finite = value[np.isfinite(value)]
    norm = Normalize(finite.min(), finite.max()) if len(finite) else Normalize(0, 1)
    order = np.argsort(value.fillna(-np.inf).to_numpy() * (1 if goal == "maximize" else -1))
    for i in order:  # the best last, on top
        status = runs["status"].iloc[i]
        if not np.isfinite(value.iloc[i]):
            continue
        style = ({"linestyle": "--", "alpha": 0.25, "linewidth": 1} if status == PRUNED
                 else {"alpha": 0.85, "linewidth": 1.6})
        ax.plot(range(len(columns)), coordinates[i], color=colours(norm(value.iloc[i])), **style)
    for position, texts in enumerate(tick_texts):
        ax.axvline(position, color="0.3", linewidth=0.8)
        for height, text in texts:
            ax.annotate(text, (position, height), xytext=(4, 0), textcoords="offset points",
                        fontsize=7, va="center", color="0.25")
    ax.set_xticks(range(len(columns)), [key for key, _ in axes] + [_METRIC_LABELS[metric]])
    ax.set_yticks([])
    ax.set_xlim(-0.1, len(columns) - 0.6)
    ax.set_ylim(-0.05, 1.05)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    figure.colorbar(ScalarMappable(norm=norm, cmap=colours), ax=ax,
                    label=_METRIC_LABELS[metric], fraction=0.04)
    figure.suptitle(f"A line per trial (dashed, faint: pruned), {title}")
    return figure


def _unit_scale(values, ticks, labels, log):
    """Values mapped to [0, 1] for a parallel axis, and (height, text) of its tick labels."""
    values = np.asarray(values, dtype=float)
    if labels is not None:
        span = max(len(labels) - 1, 1)
        return values / span, [(i / span, label) for i, label in enumerate(labels)]
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    span = high - low or 1.0
    heights = np.linspace(0, 1, 5)
    texts = [(h, f"{(10 ** (low + h * span)) if log else (low + h * span):.3g}") for h in heights]
    return (values - low) / span, texts


def _figure(size):
    figure = Figure(figsize=size, dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure
