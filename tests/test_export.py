"""Tests of sweep-export mlflow: a real sweep read back from an SQLite store with MlflowClient; no duplicates; errors."""

import subprocess
import sys

import pytest
import yaml
from test_networks import trial, write_sweep

from experiments.export import cli as export_cli
from experiments.export.mlflow_runs import FINGERPRINT_TAG, RUN_ID_TAG
from experiments.report.frames import load_results
from experiments.store.networks import network_path
from experiments.sweep import cli as sweep_cli
from nn import Network, save_network

# MLflow's SQL store, on SQLAlchemy 2.1, uses a loader SQLAlchemy deprecates: theirs to mend
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")

TINY = {"name": "tiny", "defaults": {"epochs": 2, "mini_batch_size": 10, "eta": 3.0,
                                     "train_size": 1000},
        "seeds": [0, 1], "trials": [{"layers": [784, 10], "comment": "no hidden layer"}]}


@pytest.fixture(scope="module")
def mlflow():
    """The mlflow module, or a skip saying how to install the extra."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_LOGGING_LEVEL", "WARNING")  # read once, when mlflow is imported
        module = pytest.importorskip("mlflow", reason="the mlflow extra is not installed: "
                                     "pip install \".[mlflow]\" to test sweep-export mlflow")
    for name in ("sqlalchemy", "alembic"):
        pytest.importorskip(name, reason=f"{name}, of the mlflow extra, is not installed")
    return module


@pytest.fixture(scope="module")
def store(tmp_path_factory, mlflow):
    """An SQLite tracking store shared by the tests (MLflow takes seconds to create one), in
    a directory whose mlruns/ receives the artifacts."""
    directory = tmp_path_factory.mktemp("mlflow")
    return directory, f"sqlite:///{directory / 'mlflow.db'}"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, mnist_dir):
    """A results directory written by a real sweep of two trials, one of which has its
    network saved (as the runner saves them)."""
    directory = tmp_path_factory.mktemp("sweep")
    config = directory / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY, "data_dir": mnist_dir}))
    assert sweep_cli.main([str(config), "--out", str(directory / "tiny"), "--no-report"]) == 0
    results = directory / "tiny"
    first = load_results(results).runs["run_id"][0]
    save_network(Network([784, 10], 0), network_path(results, first))
    return results


def export(store, sweep, experiment, capsys):
    _, uri = store
    argv = ["mlflow", str(sweep), "--tracking-uri", uri, "--experiment", experiment]
    assert export_cli.main(argv) == 0
    return capsys.readouterr().out


def exported(mlflow, uri, experiment):
    """{our run_id: MLflow run} of the experiment's active runs, and the client."""
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id])
    assert len({run.data.tags[RUN_ID_TAG] for run in runs}) == len(runs)  # no duplicates
    return {run.data.tags[RUN_ID_TAG]: run for run in runs}, client


def test_each_trial_becomes_a_run_with_params_metrics_and_artifacts(mlflow, store, sweep, capsys,
                                                                    monkeypatch):
    monkeypatch.chdir(store[0])
    out = export(store, sweep, "tiny", capsys)
    assert out == (f"sweep-export: 2 trials of {sweep} in MLflow experiment 'tiny' (id 1) at "
                   f"{store[1]}: 2 created, 0 replaced, 0 unchanged\n")
    results = load_results(sweep)
    runs, client = exported(mlflow, store[1], "tiny")
    assert sorted(runs) == sorted(results.runs["run_id"])
    for row in results.runs.to_dict("records"):
        run = runs[row["run_id"]]
        assert run.info.run_name == row["run_id"] and run.info.status == "FINISHED"
        assert {key: run.data.params[key] for key in ("layers", "epochs", "eta", "seed")} == {
            "layers": "784-10", "epochs": "2", "eta": "3.0", "seed": str(row["seed"])}
        assert run.data.tags["mlflow.note.content"] == "no hidden layer"
        assert run.data.metrics["best_accuracy"] == row["best_accuracy"]
        epochs = results.metrics[results.metrics["run_id"] == row["run_id"]]
        history = client.get_metric_history(run.info.run_id, "accuracy")
        assert [(metric.step, metric.value) for metric in history] == list(
            zip(epochs["epoch"], epochs["accuracy"]))
        assert run.data.metrics["accuracy"] == row["accuracy"]  # the latest is the final one
        artifacts = sorted(info.path for info in client.list_artifacts(run.info.run_id))
        saved = network_path(sweep, row["run_id"]).is_file()
        assert artifacts == ["config.yaml", *(["network.npz"] if saved else []), "run.json"]


def test_exporting_again_adds_nothing_and_replaces_what_changed(mlflow, store, sweep, capsys,
                                                               monkeypatch):
    monkeypatch.chdir(store[0])
    export(store, sweep, "again", capsys)
    assert export(store, sweep, "again", capsys).endswith(
        ": 0 created, 0 replaced, 2 unchanged\n")
    runs, client = exported(mlflow, store[1], "again")
    first = next(run_id for run_id in sorted(runs) if network_path(sweep, run_id).is_file())
    second = next(run_id for run_id in runs if run_id != first)
    client.delete_tag(runs[second].info.run_id, FINGERPRINT_TAG)  # an export cut short
    changed = network_path(sweep, first)
    kept = changed.read_bytes()
    save_network(Network([784, 10], 1), changed)  # a rerun with --force: new weights
    try:
        assert export(store, sweep, "again", capsys).endswith(
            ": 0 created, 2 replaced, 0 unchanged\n")
    finally:
        changed.write_bytes(kept)
    after, _ = exported(mlflow, store[1], "again")
    assert sorted(after) == sorted([first, second])
    assert after[first].info.run_id != runs[first].info.run_id
    assert client.get_run(runs[first].info.run_id).info.lifecycle_stage == "deleted"


MISSING = ("is not installed; the MLflow export is an optional extra: pip install \".[mlflow]\" "
           "(mlflow-skinny, sqlalchemy, alembic)\n")


def test_errors_are_one_line_and_exit_2(store, sweep, tmp_path, capsys, monkeypatch):
    assert export_cli.main(["mlflow", str(tmp_path / "none"), "--tracking-uri", store[1]]) == 2
    assert capsys.readouterr().err == f"sweep-export: {tmp_path / 'none'}: no such directory\n"
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as with mlflow-skinny alone
    assert export_cli.main(["mlflow", str(sweep), "--tracking-uri", store[1]]) == 2
    assert capsys.readouterr().err == f"sweep-export: {store[1]}: sqlalchemy {MISSING}"


def test_without_mlflow_one_line_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    directory = write_sweep(tmp_path / "s", [trial("a", 0.9)])
    monkeypatch.setitem(sys.modules, "mlflow", None)  # whether it is installed or not
    assert export_cli.main(["mlflow", str(directory)]) == 2
    assert capsys.readouterr() == ("", f"sweep-export: mlflow {MISSING}")


def test_no_other_command_imports_mlflow():
    modules = ["experiments.__main__", "experiments.export.cli", "experiments.sweep.cli",
               "experiments.report.cli", "experiments.predict.cli", "experiments.bench.cli"]
    code = f"import sys; import {', '.join(modules)}; print(sorted(m for m in sys.modules " \
           "if m.split('.')[0] in ('mlflow', 'sqlalchemy', 'alembic')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
