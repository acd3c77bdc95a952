"""The comparison table as Markdown, cell by cell: percentages, durations, optional columns; not the table's data (table.py)."""

import pandas as pd
from tabulate import tabulate

from experiments.report.labels import eta_text, network_label
from experiments.store.columns import USUALLY_DEFAULT


def markdown_table(table, validation=False) -> str:
    """The table in the shape of the book's: network | epochs, mini-batch, eta | time |
    accuracy | comment, plus parameters, seeds, seconds per epoch, best epoch and status.

    Accuracies are percentages to 0.01, one test image in 10,000; a merged row shows
    mean ± standard deviation, in percentage points. Settings that most sweeps leave at
    their default (the cost, L2, ...) get a column only where some row does not; a
    published reference gets one (and the difference from ours) only where a row has one.
    """
    columns = _columns(table, validation)
    rows = [[cell(row) for _, cell in columns] for row in table.to_dict("records")]
    if validation and rows:  # a search's table, the best first: in bold
        rows[0][0] = f"**{rows[0][0]}**"
    headers = [header for header, _ in columns]
    left = {"network", "dataset", "dtype", "activation", "cost", "init", "eta schedule",
            "status", "source", "comment"}
    text = tabulate(rows, headers, tablefmt="pipe", disable_numparse=True,
                    colalign=["left" if header in left else "right" for header in headers])
    if any(row[columns.index(("vs reference", _versus))].endswith("*") for row in rows
           if ("vs reference", _versus) in columns):
        text += "\n\n\\* the reference lies outside the range of our seeds' accuracies"
    return text


def _columns(table, validation=False):
    """(header, function of a row -> cell) for each column the table shows."""
    varying = [c for c in ("dataset", "train_size", "dtype") if table[c].nunique(dropna=False) > 1]
    settings = [c for c, default in USUALLY_DEFAULT.items()  # a blank cell is no setting
                if (table[c].dropna().pipe(lambda given: given[given != ""]) != default).any()]
    seeds = "n" if "n" in table else "seed"
    columns = [("network", lambda row: network_label(row["layers"])),
               ("parameters", lambda row: f"{row['parameters']:,}"),
               ("epochs", lambda row: row["epochs"])]
    if (table["epochs_run"].notna() & (table["epochs_run"] != table["epochs"])).any():
        columns.append(("epochs run", lambda row: _text(row["epochs_run"], "{:g}")))
    columns += [("mini-batch", lambda row: row["mini_batch_size"]),
                ("eta", lambda row: eta_text(row["eta"]))]
    columns += [(c, lambda row, c=c: _text(row[c], "{:,}" if c == "train_size" else "{}", "all"))
                for c in varying]
    columns += [(_SETTING_HEADERS.get(c, c), lambda row, c=c: _text(row[c], "{:g}" if
                                                                  c in ("lmbda", "momentum")
                                                                  else "{}"))
                for c in settings]
    columns += [("seeds" if seeds == "n" else "seed", lambda row: row[seeds]),
                ("time", lambda row: _duration(row["train_seconds"])),
                ("s/epoch", lambda row: _text(row["seconds_per_epoch"], "{:.2f} s")),
                ("accuracy", lambda row: _percent(row["accuracy"], row.get("accuracy_std")))]
    if validation:
        columns.append(("validation", lambda row: _percent(row["validation_accuracy"])))
    if table["reference"].notna().any():
        columns += [("reference", lambda row: _percent(row["reference"])),
                    ("vs reference", _versus)]
    columns += [("best (epoch)", lambda row: _percent(row["best_accuracy"])
                 + _text(row["best_epoch"], " ({:g})", "")),
                ("status", lambda row: _status(row["status"], row["error"]))]
    if (table["source"].fillna("") != "").any():
        columns.append(("source", lambda row: _text(row["source"])))
    return columns + [("comment", lambda row: _text(row["comment"]))]


_SETTING_HEADERS = {"cost_function": "cost", "early_stopping": "early stopping",
                    "eta_schedule": "eta schedule"}


def _versus(row):
    """Ours minus the reference, in percentage points; * when it lies outside our seeds' range."""
    if pd.isna(row["reference"]) or pd.isna(row["accuracy"]):
        return _MISSING
    low, high = row.get("accuracy_min", row["accuracy"]), row.get("accuracy_max", row["accuracy"])
    outside = not low - 1e-12 <= row["reference"] <= high + 1e-12
    return f"{100 * (row['accuracy'] - row['reference']):+.2f}{' *' if outside else ''}"


_MISSING = "—"


def _text(value, template="{}", missing=_MISSING):
    if pd.isna(value) or value == "":
        return missing
    return template.format(value).replace("|", "\\|")  # a | would end the Markdown cell


def _percent(fraction, std=None):
    if pd.isna(fraction):
        return _MISSING
    text = f"{100 * fraction:.2f}%"
    return text if std is None or pd.isna(std) else f"{text} ± {100 * std:.2f}"


def _duration(seconds):
    if pd.isna(seconds):
        return _MISSING
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _status(status, error, width=60):
    """The status, with the error that ended the trial, shortened to one line of `width`."""
    if not error:
        return status
    text = " ".join((error if error.startswith(status) else f"{status}: {error}").split())
    return _text(text if len(text) <= width else text[:width - 1] + "…")
