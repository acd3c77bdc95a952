"""Tests of experiments.report.plots: labels, legends, y-ranges that neither squash nor hide, PNG sizes."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from test_report import RUNS, metric_rows, run

from experiments.report import plots
from experiments.report.frames import load_results
from experiments.report.table import comparison_table
from experiments.store.columns import METRIC_COLUMNS, METRICS_FILE, RUN_COLUMNS, RUNS_FILE
from experiments.store.csv_files import csv_text


@pytest.fixture
def results(tmp_path):
    (tmp_path / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, RUNS))
    (tmp_path / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, metric_rows()))
    return load_results(tmp_path)


def curve(values):
    return pd.DataFrame({"epoch": np.arange(1, len(values) + 1), "mean": values,
                         "std": np.nan, "n": 1})


def test_row_labels_name_network_and_training(results):
    table = comparison_table(results)
    assert plots.row_labels(table) == ["[784, 30, 10]  eta=3.0, batch 10, 3 seeds",
                                       "[784, 10]  eta=1.0, batch 10, 1 seed",
                                       "[784, 30, 10]  eta=100.0, batch 10, 1 seed",
                                       "[784, 100, 10]  eta=3.0, batch 10, 1 seed"]
    # settings shared by every row stay out of the labels; a comment tells twins apart
    twins = table.iloc[[0, 0]].assign(comment=["first", "second"], n=1)
    assert plots.row_labels(twins) == ["[784, 30, 10]  eta=3.0, batch 10: first",
                                       "[784, 30, 10]  eta=3.0, batch 10: second"]


def test_legend_without_aggregation_has_an_entry_per_configuration_and_per_seed(results):
    table = comparison_table(results, aggregate=False)
    drawn = [True] * 5 + [False]
    labels = [handle.get_label() for handle in
              plots._legend_handles(table, plots._styles(table), drawn, "no epoch recorded")]
    assert labels == ["[784, 30, 10]  eta=3.0, batch 10", "[784, 10]  eta=1.0, batch 10",
                      "[784, 30, 10]  eta=100.0, batch 10 (diverged)",
                      "[784, 100, 10]  eta=3.0, batch 10 (failed; no epoch recorded)",
                      "seed 0", "seed 1", "seed 2"]


def test_legend_labels_lack_batch_only_when_batch_is_shared():
    table = pd.DataFrame([run("x", accuracy=0.9), run("y", accuracy=0.8, mini_batch_size=50)])
    table["n"] = 1
    assert plots.row_labels(table) == ["[784, 30, 10]  eta=3.0, batch 10",
                                       "[784, 30, 10]  eta=3.0, batch 50"]


def test_y_axis_breaks_only_across_an_empty_gap():
    # the lower panel, a third as tall, spans a third as much: both panels have one scale
    assert plots._y_ranges([95.0, 96.0, 76.0, 25.0]) == [
        pytest.approx((76 - 2.0, 96 + 2.0)), pytest.approx((25 - 4.0, 25 + 4.0))]
    assert plots._y_ranges([95.0, 96.0, 76.0, 1.0])[1] == pytest.approx((0.0, 8.0))
    assert plots._y_ranges([90.0, 80.0, 70.0, 60.0]) == [pytest.approx((57.0, 93.0))]
    assert plots._y_ranges([]) == [(0.0, 100.0)]


def test_learning_curves_zoom_on_the_best_when_one_is_stuck_low():
    good = [curve(np.linspace(0.90, 0.95, 10)), curve(np.linspace(0.88, 0.96, 10))]
    stuck = curve(np.full(10, 0.11))
    low, high = plots._zoom_range(good + [stuck])
    assert 94 < low < 95 and 96 < high < 97  # the curves that end near the best
    assert plots._zoom_range(good) is None  # all of them read well unzoomed
    assert plots._zoom_range([curve([])]) is None


def test_figures_are_pngs_of_the_expected_size(results):
    paths = plots.write_figures(results, comparison_table(results, aggregate=False))
    assert [path.name for path in paths] == ["learning_curves.png", "accuracy_vs_parameters.png"]
    for path in paths:
        height, width, _ = imread(path).shape
        assert (width, height) == (1200, 720)
    assert not list(results.directory.glob("*.tmp"))


def test_a_sweep_where_every_trial_failed_still_draws(tmp_path):
    (tmp_path / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, [
        run("f0", status="failed", error="DataError: x", best_epoch=None)]))
    (tmp_path / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, []))
    results = load_results(tmp_path)
    table = comparison_table(results)
    curves = plots.learning_curves_figure(table, results.metrics, "sweep t")
    accuracy = plots.accuracy_figure(table, "sweep t")
    assert [text.get_text() for text in curves.legends[0].get_texts()] == [
        "[784, 30, 10]  eta=3.0, batch 10 (failed; no epoch recorded)"]
    assert accuracy.legends[0].get_texts()[0].get_text().endswith("(failed; no final accuracy)")


def test_figures_draw_the_rows_with_the_best_accuracy_when_there_are_too_many(results):
    table = comparison_table(results, aggregate=False)  # six trials, two without an accuracy
    everything, no_note = plots.figure_rows(table)
    assert everything is table and no_note == ""
    shown, note = plots.figure_rows(table, most=3)
    assert list(shown["run_id"]) == ["a0", "a1", "a2"]  # 0.95, 0.96, 0.94, in the table's order
    assert note == ("the 3 of 6 rows with the best final accuracy "
                    "(--filter, --sort-by and --top choose others)")
    assert list(plots.figure_rows(table.iloc[::-1], most=5)[0]["run_id"]) == [
        "d0", "b0", "a2", "a1", "a0"]  # no accuracy comes last, whatever the order
    figure = plots.learning_curves_figure(shown, results.metrics, "sweep t", note)
    assert note in figure.legends[0].get_title().get_text()
