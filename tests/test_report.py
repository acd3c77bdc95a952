"""Tests of experiments.report and sweep-report: rows, seed arithmetic, options, errors, exits."""

import csv
import io
import json
import math
import random
import struct
import time

import pytest

from experiments.errors import ResultsError
from experiments.report import cli as report_cli
from experiments.report.frames import load_results
from experiments.report.labels import parameter_count
from experiments.report.markdown import markdown_table
from experiments.report.page import write_report
from experiments.report.table import comparison_table, filter_table, render_table, sort_table
from experiments.store.columns import (
    METRIC_COLUMNS,
    METRICS_FILE,
    REQUIRED_METRIC_COLUMNS,
    REQUIRED_RUN_COLUMNS,
    RUN_COLUMNS,
    RUNS_FILE,
)
from experiments.store.csv_files import csv_text

DIVERGED_ERROR = "diverged at epoch 2: the training cost is not finite"
FAILED_ERROR = "DataError: /data/mnist: no such directory"


def run(run_id, layers="784-30-10", eta=3.0, seed=0, status="finished", accuracy=None, **extra):
    """A runs.csv row with the book's defaults; best accuracy = final, at the last epoch."""
    finished = status == "finished"
    return {"run_id": run_id, "layers": layers, "epochs": 3, "mini_batch_size": 10, "eta": eta,
            "seed": seed, "dataset": "mnist", "train_size": "", "dtype": "float32",
            "status": status, "accuracy": accuracy if finished else None,
            "best_accuracy": accuracy, "best_epoch": 3 if finished else 1,
            "validation_accuracy": accuracy, "train_seconds": 30.0, "seconds_per_epoch": 10.0,
            "comment": "", "started_at": "2024-05-01T12:00:00+00:00", "error": "", **extra}


# Three seeds of the book's network (final accuracies 0.94, 0.95, 0.96: mean 0.95, sample
# std 0.01), a network without hidden layer, one that diverged, one that failed at once.
RUNS = [
    run("a0", seed=0, accuracy=0.95, train_seconds=30.0, best_epoch=3),
    run("a1", seed=1, accuracy=0.96, train_seconds=33.0, best_epoch=2),
    run("a2", seed=2, accuracy=0.94, train_seconds=36.0, best_epoch=3),
    run("b0", layers="784-10", eta=1.0, accuracy=0.7612, train_seconds=75.5,
        comment="no hidden | layer"),
    run("c0", eta=100.0, status="diverged", accuracy=0.5, train_seconds=10.0, error=DIVERGED_ERROR),
    run("d0", layers="784-100-10", status="failed", train_seconds=0.0, best_epoch=None,
        seconds_per_epoch=None, error=FAILED_ERROR),
]


def metric_rows():
    rows = []
    for run_id, finals in (("a0", 0.95), ("a1", 0.96), ("a2", 0.94), ("b0", 0.7612)):
        rows += [{"run_id": run_id, "epoch": epoch, "cost": 0.1 / epoch,
                  "accuracy": finals - 0.1 * (3 - epoch), "validation_accuracy": finals,
                  "seconds": 10.0} for epoch in (1, 2, 3)]
    rows.append({"run_id": "c0", "epoch": 1, "cost": 0.3, "accuracy": 0.5,
                 "validation_accuracy": 0.5, "seconds": 10.0})
    # a leftover of an interrupted write: its trial has no runs row
    rows.append({"run_id": "zz", "epoch": 1, "cost": 0.3, "accuracy": 0.1,
                 "validation_accuracy": 0.1, "seconds": 1.0})
    return rows


@pytest.fixture
def sweep(tmp_path):
    directory = tmp_path / "architectures"
    directory.mkdir()
    (directory / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, RUNS))
    (directory / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, metric_rows()))
    return directory


def cells(markdown_line):
    """The stripped cells of a Markdown table line."""
    return [cell.strip() for cell in markdown_line.strip().strip("|").split(" | ")]


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, which follows the 8-byte signature."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- the table --------------------------------------------------------------------------

def test_parameter_count_sums_weights_and_biases():
    assert parameter_count("784-30-10") == 784 * 30 + 30 + 30 * 10 + 10 == 23860
    assert parameter_count("784-10") == 7850


def test_seeds_are_merged_with_mean_and_sample_std(sweep):
    table = comparison_table(load_results(sweep))
    assert list(table["layers"]) == ["784-30-10", "784-10", "784-30-10", "784-100-10"]
    merged = table.iloc[0]
    assert merged["n"] == 3 and merged["run_ids"] == ("a0", "a1", "a2")
    assert merged["accuracy"] == pytest.approx(0.95)
    assert merged["accuracy_std"] == pytest.approx(0.01)  # ddof=1: sqrt((0.01² + 0 + 0.01²) / 2)
    assert merged["train_seconds"] == pytest.approx(33.0)
    assert merged["best_epoch"] == 3  # the median of 3, 2, 3
    single = table.iloc[1]
    assert single["n"] == 1 and math.isnan(single["accuracy_std"])


def test_markdown_rows(sweep):
    lines = markdown_table(comparison_table(load_results(sweep))).splitlines()
    assert cells(lines[0]) == ["network", "parameters", "epochs", "mini-batch", "eta", "seeds",
                               "time", "s/epoch", "accuracy", "best (epoch)", "status", "comment"]
    assert [cells(line) for line in lines[2:]] == [
        ["[784, 30, 10]", "23,860", "3", "10", "3.0", "3", "33.0 s", "10.00 s",
         "95.00% ± 1.00", "95.00% (3)", "finished", "—"],
        ["[784, 10]", "7,850", "3", "10", "1.0", "1", "1 min 16 s", "10.00 s",
         "76.12%", "76.12% (3)", "finished", "no hidden \\| layer"],
        ["[784, 30, 10]", "23,860", "3", "10", "100.0", "1", "10.0 s", "10.00 s",
         "—", "50.00% (1)", DIVERGED_ERROR, "—"],
        ["[784, 100, 10]", "79,510", "3", "10", "3.0", "1", "0.0 s", "—",
         "—", "—", "failed: " + FAILED_ERROR, "—"],
    ]


def test_settings_left_at_their_default_get_no_column_and_others_do(tmp_path):
    directory = tmp_path / "chapter3"
    directory.mkdir()
    rows = [run("q", accuracy=0.95, activation="sigmoid", cost_function="quadratic",
                init="normal", lmbda=0.0, momentum=0.0, early_stopping=0, eta_schedule="none",
                epochs_run=3),
            run("x", accuracy=0.97, activation="sigmoid", cost_function="cross_entropy",
                init="scaled", lmbda=5.0, momentum=0.0, early_stopping=0, eta_schedule="none",
                epochs_run=3)]
    (directory / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, rows))
    (directory / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, []))
    lines = markdown_table(comparison_table(load_results(directory))).splitlines()
    assert cells(lines[0]) == ["network", "parameters", "epochs", "mini-batch", "eta", "cost",
                               "init", "lmbda", "seeds", "time", "s/epoch", "accuracy",
                               "best (epoch)", "status", "comment"]
    assert cells(lines[3])[5:8] == ["cross_entropy", "scaled", "5"]


def test_references_are_shown_beside_ours_and_marked_outside_our_seeds(tmp_path):
    """Seeds 0.94 / 0.95 / 0.96: 0.9507 lies within them, 0.98 does not; an early-stopped
    row gets an `epochs run` column."""
    directory = tmp_path / "book"
    directory.mkdir()
    rows = [run(f"a{seed}", seed=seed, accuracy=accuracy, reference=0.9507, source="the book",
                epochs_run=3) for seed, accuracy in enumerate((0.95, 0.96, 0.94))]
    rows += [run(f"b{seed}", eta=0.5, seed=seed, accuracy=accuracy, reference=0.98,
                 epochs_run=2) for seed, accuracy in enumerate((0.95, 0.96, 0.94))]
    rows.append(run("c0", eta=0.1, accuracy=0.9, epochs_run=3))
    (directory / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, rows))
    (directory / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, []))
    text = markdown_table(comparison_table(load_results(directory)))
    lines = text.splitlines()
    header = cells(lines[0])
    assert header[2:4] == ["epochs", "epochs run"]
    assert header[header.index("accuracy"):header.index("accuracy") + 3] == [
        "accuracy", "reference", "vs reference"]
    assert "source" in header
    at = header.index("reference")
    assert [cells(line)[at:at + 2] for line in lines[2:5]] == [
        ["95.07%", "-0.07"], ["98.00%", "-3.00 *"], ["—", "—"]]
    assert [cells(line)[3] for line in lines[2:5]] == ["3", "2", "3"]
    assert lines[-1] == "\\* the reference lies outside the range of our seeds' accuracies"


def test_no_aggregate_gives_a_row_per_trial(sweep):
    table = comparison_table(load_results(sweep), aggregate=False)
    assert list(table["run_id"]) == ["a0", "a1", "a2", "b0", "c0", "d0"]
    assert list(table["accuracy"][:3]) == [0.95, 0.96, 0.94]
    assert "n" not in table and "accuracy_std" not in table
    assert cells(markdown_table(table).splitlines()[2])[5:9] == ["0", "30.0 s", "10.00 s", "95.00%"]


def test_seeds_that_ended_differently_get_a_row_per_status(tmp_path):
    (tmp_path / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, [
        run("a0", seed=0, accuracy=0.9), run("a1", seed=1, status="diverged", error=DIVERGED_ERROR),
        run("a2", seed=2, accuracy=0.8)]))
    (tmp_path / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, []))
    table = comparison_table(load_results(tmp_path))
    assert list(zip(table["status"], table["n"])) == [("finished", 2), ("diverged", 1)]
    assert table["accuracy"][0] == pytest.approx(0.85)


def test_leftover_metrics_are_ignored(sweep):
    metrics = load_results(sweep).metrics
    assert "zz" not in set(metrics["run_id"]) and len(metrics) == 13


# --- filter, sort, top ------------------------------------------------------------------

@pytest.mark.parametrize("expression, run_ids", [
    ("eta>=1", ["a0", "b0", "c0", "d0"]),
    ("eta < 3", ["b0"]),
    ("layers==784-30-10", ["a0", "c0"]),
    ("layers == [784, 30, 10]", ["a0", "c0"]),
    ("status!=failed", ["a0", "b0", "c0"]),
    ("accuracy>=95%", ["a0"]),
    ("accuracy>0.5", ["a0", "b0"]),  # no accuracy (diverged, failed): only != matches
    ("accuracy!=0.95", ["b0", "c0", "d0"]),
    ("n>1", ["a0"]),
])
def test_filter(sweep, expression, run_ids):
    table = filter_table(comparison_table(load_results(sweep)), expression)
    assert [ids[0] for ids in table["run_ids"]] == run_ids


@pytest.mark.parametrize("expression, message", [
    ("eta=1", "filter 'eta=1': expected COLUMN OP VALUE, OP one of == != >= <= > <, e.g. eta>=1"),
    ("eta>=", "filter 'eta>=': expected COLUMN OP VALUE, OP one of == != >= <= > <, e.g. eta>=1"),
    ("eta>=fast", "filter 'eta>=fast': eta is a number, got 'fast'"),
    ("layers>784-30-10", "filter 'layers>784-30-10': layers is text, it takes == or != only"),
    ("accuracyy>0.9", "filter 'accuracyy>0.9': unknown column 'accuracyy' "
                      "(did you mean 'accuracy'?); columns: "),
    ("seed==0", "filter 'seed==0': unknown column 'seed' "
                "(seeds are merged into one row; use --no-aggregate); columns: "),
])
def test_filter_errors(sweep, expression, message):
    table = comparison_table(load_results(sweep))
    with pytest.raises(ResultsError) as error:
        filter_table(table, expression)
    assert str(error.value).startswith(message)
    if message.endswith("columns: "):
        assert str(error.value).endswith("comment, error")  # every column named, run_ids not


def test_sort(sweep):
    table = comparison_table(load_results(sweep), aggregate=False)
    assert list(sort_table(table, "-accuracy")["run_id"]) == ["a1", "a0", "a2", "b0", "c0", "d0"]
    assert list(sort_table(table, "accuracy")["run_id"]) == ["b0", "a2", "a0", "a1", "c0", "d0"]
    # layers sort as sizes (784-100-10 after 784-30-10), then descending eta, stably
    assert list(sort_table(table, "layers, -eta")["run_id"]) == ["b0", "c0", "a0", "a1", "a2", "d0"]
    unknown = r"^sort key '-acuracy': unknown column 'acuracy' \(did you mean 'accuracy'\?\)"
    with pytest.raises(ResultsError, match=unknown):
        sort_table(table, "-acuracy")


def test_csv_and_json_hold_the_table_data(sweep):
    table = comparison_table(load_results(sweep))
    rows = list(csv.DictReader(io.StringIO(render_table(table, "csv"))))
    assert [row["layers"] for row in rows] == ["784-30-10", "784-10", "784-30-10", "784-100-10"]
    assert float(rows[0]["accuracy_std"]) == pytest.approx(0.01) and rows[1]["accuracy_std"] == ""
    assert "run_ids" not in rows[0]
    records = json.loads(render_table(table, "json"))
    assert records[0]["n"] == 3 and records[0]["parameters"] == 23860
    assert records[3]["accuracy"] is None and records[3]["error"] == FAILED_ERROR


# --- reading errors ---------------------------------------------------------------------

def runs_text(rows=RUNS):
    return csv_text(RUN_COLUMNS, rows)


@pytest.mark.parametrize("runs, message", [
    ("", "{runs}: empty file, expected a header line"),
    ("run_id,layers\nx,784-10\n", "{runs}: missing columns epochs, mini_batch_size, eta, seed, dataset, "
     "train_size, dtype, activation, cost_function, status, accuracy, best_accuracy, best_epoch, validation_accuracy, "
     "train_seconds, seconds_per_epoch, comment, started_at, error"),
    (runs_text().replace("0.7612", "abc"),
     "{runs}: line 5: accuracy: expected a number, got 'abc'"),
    (runs_text().replace("0.7612", "76.12"),
     "{runs}: line 5: accuracy: expected a fraction between 0 and 1, got '76.12'"),
    (runs_text().replace(",finished,0.95,", ",done,0.95,"),
     "{runs}: line 2: status: expected one of finished, diverged, failed, pruned, got 'done'"),
    (runs_text().replace("784-10,", "784 10,"),
     "{runs}: line 5: layers: expected sizes like 784-30-10, got '784 10'"),
    (runs_text().replace(",0.7612,0.7612,3,", ",,0.7612,3,"),
     "{runs}: line 5: accuracy: empty for a finished trial"),
    (runs_text().replace(",3.0,0,", ",,0,", 1), "{runs}: line 2: eta: empty, expected a value"),
    (runs_text().replace("a1,", "a0,"), "{runs}: line 3: run_id: 'a0' is also on line 2"),
    (runs_text().replace("\nb0,", "\nb0\nb0,"), f"{{runs}}: line 5: expected {len(RUN_COLUMNS)} fields, got 1"),
])
def test_malformed_runs_csv(sweep, runs, message):
    (sweep / RUNS_FILE).write_text(runs)
    with pytest.raises(ResultsError) as error:
        load_results(sweep)
    assert str(error.value) == message.format(runs=sweep / RUNS_FILE)


def test_missing_files_and_directories(tmp_path, sweep):
    with pytest.raises(ResultsError, match=f"^{tmp_path / 'nowhere'}: no such directory$"):
        load_results(tmp_path / "nowhere")
    with pytest.raises(ResultsError) as error:
        load_results(tmp_path)  # an empty directory
    assert str(error.value) == (f"{tmp_path / RUNS_FILE}: no such file; "
                                "is this a sweep's results directory?")
    (sweep / METRICS_FILE).unlink()
    with pytest.raises(ResultsError, match=f"^{sweep / METRICS_FILE}: no such file"):
        load_results(sweep)
    (sweep / RUNS_FILE).write_text(runs_text([]))
    with pytest.raises(ResultsError, match=f"^{sweep / RUNS_FILE}: no trials recorded$"):
        load_results(sweep)


def test_malformed_metrics_csv(sweep):
    text = csv_text(METRIC_COLUMNS, metric_rows())
    (sweep / METRICS_FILE).write_text(text.replace(",0.05,", ",0.05x,", 1))
    with pytest.raises(ResultsError) as error:
        load_results(sweep)
    assert str(error.value) == (f"{sweep / METRICS_FILE}: line 3: cost: "
                                "expected a number, got '0.05x'")


def test_a_bad_cell_is_named_in_file_order_whatever_its_column(sweep):
    text = runs_text().replace("0.7612,0.7612,3,", "0.7612,x,3,")  # line 5, best_accuracy
    text = text.replace(",33.0,", ",33.5x,")  # line 3, train_seconds: first in the file
    (sweep / RUNS_FILE).write_text(text)
    with pytest.raises(ResultsError) as error:
        load_results(sweep)
    assert str(error.value) == f"{sweep / RUNS_FILE}: line 3: train_seconds: expected a number, got '33.5x'"
    (sweep / RUNS_FILE).write_text(runs_text().replace(",3,10,3.0,0,", ",3.5,10,3.0,0,", 1))
    with pytest.raises(ResultsError, match=r"line 2: epochs: expected a whole number, got '3.5'$"):
        load_results(sweep)


def test_a_text_nan_is_a_number_but_an_empty_cell_is_missing(sweep):
    (sweep / RUNS_FILE).write_text(runs_text().replace(",0.7612,0.7612,3,", ",nan,0.7612,3,"))
    runs = load_results(sweep).runs
    assert math.isnan(runs.loc[3, "accuracy"]) and runs.loc[3, "status"] == "finished"


def test_an_older_header_reads_with_what_the_missing_columns_meant(sweep):
    """A results directory written before columns were added still reads: a setting added
    since as its default (what those trials trained with), any other column empty."""
    (sweep / RUNS_FILE).write_text(csv_text(REQUIRED_RUN_COLUMNS, RUNS))
    (sweep / METRICS_FILE).write_text(csv_text(REQUIRED_METRIC_COLUMNS, metric_rows()))
    results = load_results(sweep)
    assert list(results.runs["run_id"]) == [row["run_id"] for row in RUNS]
    assert (results.runs["momentum"] == 0.0).all() and (results.runs["init"] == "normal").all()
    assert results.runs["epochs_run"].isna().all() and (results.runs["stopped"] == "").all()
    assert results.metrics["eta"].isna().all()
    assert len(results.metrics) == 13


def test_a_truncated_last_line_is_skipped_and_noted(sweep):
    text = runs_text()
    (sweep / RUNS_FILE).write_text(text[:text.rindex("\n", 0, -1) + 25])  # d0's row cut short
    results = load_results(sweep)
    assert list(results.runs["run_id"]) == ["a0", "a1", "a2", "b0", "c0"]
    assert results.skipped == (f"{sweep / RUNS_FILE}: line 7: incomplete last line skipped",)


# --- the command ------------------------------------------------------------------------

def test_default_writes_report_and_figures_and_prints_the_table(sweep, capsys):
    assert report_cli.main([str(sweep)]) == 0
    out, err = capsys.readouterr()
    report = (sweep / "report.md").read_text()
    assert out.strip() in report and out.splitlines()[0].startswith("| network")
    assert report.startswith("# Sweep architectures\n\n6 trials on mnist, the full training set "
                             "(4 finished, 1 diverged, 1 failed); a row per configuration")
    assert "![Test accuracy per epoch](learning_curves.png)" in report
    for name in ("learning_curves.png", "accuracy_vs_parameters.png"):
        assert png_size(sweep / name) == (1200, 720)
    assert err == (f"sweep-report: wrote {sweep / 'report.md'}, {sweep / 'learning_curves.png'}, "
                   f"{sweep / 'accuracy_vs_parameters.png'}\n")


def test_write_report_returns_the_paths_it_wrote(sweep):
    paths, notes = write_report(sweep)
    assert notes == []  # no trial saved a network: no best-run figures, and nothing to say
    assert [path.name for path in paths] == ["report.md", "learning_curves.png",
                                             "accuracy_vs_parameters.png"]
    assert all(path.stat().st_size > 0 for path in paths)


def test_options_select_and_format_rows(sweep, capsys, tmp_path):
    output = tmp_path / "table.csv"
    argv = [str(sweep), "--filter", "status!=failed", "--sort-by=-accuracy", "--top", "2",
            "--format", "csv", "--no-aggregate", "-o", str(output)]
    assert report_cli.main(argv) == 0
    assert capsys.readouterr() == ("", "")
    rows = list(csv.DictReader(output.open()))
    assert [row["run_id"] for row in rows] == ["a1", "a0"]
    assert not (sweep / "report.md").exists()  # -o writes the table and nothing else
    assert report_cli.main([str(sweep), "--format", "json", "--top", "1", "-o", "-"]) == 0
    assert [row["layers"] for row in json.loads(capsys.readouterr().out)] == ["784-30-10"]


@pytest.mark.parametrize("argv, message", [
    (["{sweep}", "--filter", "eta=>1"],
     "sweep-report: filter 'eta=>1': expected COLUMN OP VALUE, "
     "OP one of == != >= <= > <, e.g. eta>=1\n"),
    (["{sweep}/missing"], "sweep-report: {sweep}/missing: no such directory\n"),
    (["{sweep}", "-o", "{sweep}/no/such/dir/t.md"],
     "sweep-report: {sweep}/no/such/dir/t.md: No such file or directory\n"),
])
def test_errors_print_one_line_and_exit_2(sweep, capsys, argv, message):
    assert report_cli.main([arg.format(sweep=sweep) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == message.format(sweep=sweep)


def test_a_non_numeric_accuracy_exits_2_naming_the_file(sweep, capsys):
    (sweep / RUNS_FILE).write_text(runs_text().replace("0.7612", "n/a"))
    assert report_cli.main([str(sweep)]) == 2
    assert capsys.readouterr().err == (f"sweep-report: {sweep / RUNS_FILE}: line 5: accuracy: "
                                       f"expected a number, got 'n/a'\n")


def test_a_truncated_last_line_is_a_warning(sweep, capsys):
    text = runs_text()
    (sweep / RUNS_FILE).write_text(text[:text.rindex("\n", 0, -1) + 25])  # d0's row cut short
    assert report_cli.main([str(sweep), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 + 3  # header, and d0 is gone
    assert err == (f"sweep-report: warning: {sweep / RUNS_FILE}: line 7: incomplete last line "
                   f"skipped (a write cut short?)\n")


@pytest.mark.parametrize("argv", [[], ["DIR", "--top", "0"], ["DIR", "--format", "html"]])
def test_usage_errors_exit_2(argv, capsys):
    assert report_cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("usage: sweep-report")


def test_help_exits_0(capsys):
    assert report_cli.main(["--help"]) == 0
    assert "--sort-by=-accuracy" in capsys.readouterr().out


def test_ten_thousand_trials_of_thirty_epochs_report_in_under_ten_seconds(tmp_path, capsys):
    """The issue's bound for a big sweep: the CSVs read in a second or two, the figures show the
    20 best rows (drawing thousands took minutes)."""
    rng = random.Random(0)
    runs, metrics = [], []
    for i in range(10_000):
        configuration, seed = divmod(i, 5)  # 2,000 configurations of 5 seeds
        accuracies = [rng.uniform(0.5, 0.97) for _ in range(30)]
        runs.append(run(f"t{i:05d}", layers=("784-30-10", "784-10", "784-100-10")[configuration % 3],
                        eta=(0.5, 1.0, 3.0)[configuration // 3 % 3], seed=seed, epochs=30,
                        mini_batch_size=10 + configuration // 9, accuracy=accuracies[-1]))
        metrics += [{"run_id": f"t{i:05d}", "epoch": epoch, "cost": 0.1, "accuracy": accuracy,
                     "validation_accuracy": accuracy, "seconds": 0.2}
                    for epoch, accuracy in enumerate(accuracies, 1)]
    (tmp_path / RUNS_FILE).write_text(csv_text(RUN_COLUMNS, runs))
    (tmp_path / METRICS_FILE).write_text(csv_text(METRIC_COLUMNS, metrics))
    start = time.perf_counter()
    assert report_cli.main([str(tmp_path)]) == 0
    seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 + 2000  # configurations: 10,000 trials, seeds merged
    assert "learning_curves.png" in err and (tmp_path / "accuracy_vs_parameters.png").exists()
    assert seconds < 10, f"sweep-report took {seconds:.1f} s"


@pytest.mark.parametrize("eta, text", [(3.0, "3.0"), (0.1, "0.1"), (0.1 + 2e-17, "0.1"),
                                       (7.3461584146138215, "7.346"), (46.6891936889, "46.69"),
                                       (0.000123456, "0.0001235")])
def test_eta_is_shown_to_four_significant_digits(eta, text):
    from experiments.report.labels import eta_text
    assert eta_text(eta) == text
