"""A sweep's recorded trials copied into an MLflow tracking store, an MLflow run per trial; not the command (cli.py).

MLflow is an optional extra (`pip install ".[mlflow]"`): it is imported here only, when an
export starts, so that no other command pays its import or needs it installed.

Each trial becomes a run of the experiment named after the sweep, named and tagged with
its run_id: its configuration as params, metrics.csv's columns as metrics with the epoch
as step (so MLflow's latest accuracy is the final one), runs.csv's outcome (best accuracy
and epoch, epochs run, times) as metrics, the comment as the run's description, and the
trial's files (run.json, config.yaml, the saved networks) as artifacts. A fingerprint of
all that is tagged last, after the run is complete: exporting again skips a trial whose
fingerprint is unchanged and replaces (deletes, then recreates) one whose record changed
or whose export was cut short, so that no trial is ever there twice.
"""

import hashlib
import importlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from experiments.errors import ExportError
from experiments.report.frames import load_results
from experiments.store.columns import CONFIG_COLUMNS, FINISHED
from experiments.store.networks import BEST_EPOCH_NETWORK_FILE, NETWORK_FILE

RUN_ID_TAG = "nn_sweep.run_id"
FINGERPRINT_TAG = "nn_sweep.fingerprint"
STATUS_TAG, ERROR_TAG = "nn_sweep.status", "nn_sweep.error"
DESCRIPTION_TAG = "mlflow.note.content"  # what the MLflow UI shows as a run's description
ARTIFACTS = ("run.json", "config.yaml", NETWORK_FILE, BEST_EPOCH_NETWORK_FILE)
PARAMS = tuple(column for column in CONFIG_COLUMNS if column != "comment") + ("seed",)
EPOCH_METRICS = ("cost", "accuracy", "validation_accuracy", "seconds", "eta")
OUTCOME_METRICS = ("best_accuracy", "best_epoch", "epochs_run", "train_seconds",
                   "seconds_per_epoch")
BATCH = 1000  # MLflow's limit of metrics per log_batch


@dataclass(frozen=True)
class ExportSummary:
    """What an export did: runs created, replaced (their trial's record had changed) and
    left as they were, in experiment `experiment` (its id) of the store at tracking_uri."""

    experiment: str
    experiment_id: str
    tracking_uri: str
    created: int
    replaced: int
    unchanged: int


def export_sweep(directory, tracking_uri=None, experiment=None) -> ExportSummary:
    """Copy the sweep in `directory` into MLflow, an MLflow run per recorded trial.

    tracking_uri: MLflow's (e.g. sqlite:///mlflow.db, http://host:5000); None: MLflow's
    default ($MLFLOW_TRACKING_URI, else its own). experiment: the experiment's name, by
    default the results directory's. Raises ResultsError for unreadable results,
    ExportError when MLflow is missing or refuses.
    """
    results = load_results(directory)
    mlflow, entities, mlflow_error = _mlflow()
    try:
        tracking_uri = str(tracking_uri or mlflow.get_tracking_uri())
        _check_sql_store(tracking_uri)
        client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        experiment_id = _experiment(client, experiment or results.name)
        existing = _exported_runs(client, experiment_id)
        counts = {"created": 0, "replaced": 0, "unchanged": 0}
        epochs_of = {run_id: epochs.to_dict("records")  # once, not a scan of them per trial
                     for run_id, epochs in results.metrics.groupby("run_id", sort=False)}
        for row in results.runs.to_dict("records"):
            trial = _Trial(row, epochs_of.get(row["run_id"], []),
                           Path(results.directory) / row["run_id"])
            previous = existing.get(row["run_id"], [])
            fingerprints = [run.data.tags.get(FINGERPRINT_TAG) for run in previous]
            if fingerprints == [trial.fingerprint]:
                counts["unchanged"] += 1
                continue
            for run in previous:  # a changed record, or an export cut short
                client.delete_run(run.info.run_id)
            _log_trial(client, entities, experiment_id, trial)
            counts["replaced" if previous else "created"] += 1
    except ImportError as error:  # a store's own dependency, imported when first used
        raise ExportError(_missing(error.name)) from None
    except mlflow_error as error:
        raise ExportError(f"mlflow: {_first_line(error)}") from None
    except OSError as error:  # a trial's file unreadable, or the artifact store unwritable
        raise ExportError(f"{error.filename or tracking_uri}: {error.strerror or error}") from None
    return ExportSummary(experiment or results.name, experiment_id, tracking_uri, **counts)


def _mlflow():
    """The mlflow module, its entities and MlflowException, or ExportError saying how to
    install them."""
    try:
        import mlflow
        from mlflow import entities
        from mlflow.exceptions import MlflowException
    except ImportError as error:
        raise ExportError(_missing(error.name)) from None
    return mlflow, entities, MlflowException


def _check_sql_store(tracking_uri):
    """An SQL tracking store (sqlite:///mlflow.db, MLflow's default) needs sqlalchemy and
    alembic, which mlflow-skinny lacks: without them MLflow only says that the URI is
    'unsupported'."""
    if urlparse(tracking_uri).scheme.split("+")[0] in ("sqlite", "postgresql", "mysql", "mssql"):
        for module in ("sqlalchemy", "alembic"):
            try:
                importlib.import_module(module)
            except ImportError:
                raise ExportError(f"{tracking_uri}: {_missing(module)}") from None


def _missing(module):
    return (f"{module or 'mlflow'} is not installed; the MLflow export is an optional extra: "
            "pip install \".[mlflow]\" (mlflow-skinny, sqlalchemy, alembic)")


def _first_line(error):
    text = getattr(error, "message", None) or str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _experiment(client, name):
    """The id of the experiment `name`, created (or restored from MLflow's bin) if need be."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _exported_runs(client, experiment_id):
    """{our run_id: [its MLflow runs]} of the experiment's active runs, page by page."""
    runs, token = {}, None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        for run in page:
            if RUN_ID_TAG in run.data.tags:
                runs.setdefault(run.data.tags[RUN_ID_TAG], []).append(run)
        token = page.token
        if not token:
            return runs


class _Trial:
    """One recorded trial as MLflow takes it: params, metrics, tags, artifacts, times (ms)."""

    def __init__(self, row, epochs, folder):
        self.row, self.epochs = row, epochs
        self.run_id = row["run_id"]
        self.artifacts = [folder / name for name in ARTIFACTS if (folder / name).is_file()]
        self.start = _milliseconds(row["started_at"])
        self.end = self.start + round(1000 * (_number(row["train_seconds"]) or 0))
        self.params = {key: str(row[key]) for key in PARAMS if _present(row[key])}
        self.tags = {STATUS_TAG: row["status"]}
        if _present(row["error"]):
            self.tags[ERROR_TAG] = row["error"]
        if _present(row["comment"]):
            self.tags[DESCRIPTION_TAG] = row["comment"]
        self.fingerprint = self._fingerprint()

    def metrics(self):
        """(key, value, timestamp ms, step) of every epoch's numbers, then the outcome's."""
        elapsed = 0.0
        for epoch in self.epochs:
            elapsed += _number(epoch["seconds"]) or 0.0
            for key in EPOCH_METRICS:
                if _number(epoch[key]) is not None:
                    yield key, _number(epoch[key]), self.start + round(1000 * elapsed), \
                        int(epoch["epoch"])
        last = int(self.epochs[-1]["epoch"]) if self.epochs else 0
        for key in OUTCOME_METRICS:
            if _number(self.row.get(key)) is not None:
                yield key, _number(self.row[key]), self.end, last

    def _fingerprint(self):
        """SHA-256 of what the export writes: a changed record or file changes it."""
        digest = hashlib.sha256(json.dumps([self.params, self.tags, list(self.metrics())],
                                           sort_keys=True, default=str).encode())
        for path in self.artifacts:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()


def _log_trial(client, entities, experiment_id, trial):
    run = client.create_run(experiment_id, start_time=trial.start, run_name=trial.run_id,
                            tags={RUN_ID_TAG: trial.run_id})
    mlflow_run_id = run.info.run_id
    client.log_batch(mlflow_run_id,
                     params=[entities.Param(key, value) for key, value in trial.params.items()],
                     tags=[entities.RunTag(key, value) for key, value in trial.tags.items()])
    metrics = [entities.Metric(key, value, timestamp, step)
               for key, value, timestamp, step in trial.metrics()]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(mlflow_run_id, metrics=metrics[start:start + BATCH])
    for path in trial.artifacts:
        client.log_artifact(mlflow_run_id, str(path))
    client.set_terminated(mlflow_run_id, "FINISHED" if trial.row["status"] == FINISHED
                          else "FAILED", end_time=trial.end)
    client.set_tag(mlflow_run_id, FINGERPRINT_TAG, trial.fingerprint)  # last: the run is whole


def _present(value):
    return not pd.isna(value) and value != ""  # not None, NaN, pandas' NA or empty


def _number(value):
    """A finite float, or None for a missing or non-finite value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _milliseconds(started_at):
    """An ISO 8601 time (runs.csv's started_at) as milliseconds since 1970; now if unreadable."""
    try:
        moment = datetime.fromisoformat(str(started_at))
    except ValueError:
        moment = datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)
