"""End-to-end tests of the installed `sweep` command on small slices of real MNIST."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.store.columns import METRIC_COLUMNS, RUN_COLUMNS
from experiments.store.store import ResultsStore

SWEEP = Path(sys.executable).parent / "sweep"
MNIST_DIR = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).resolve())
pytestmark = pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")

SMALL = """\
name: small
defaults: {epochs: 2, mini_batch_size: 10, eta: 3.0, train_size: 2000}
trials:
  - {layers: [784, 20, 10], comment: "hidden, with a comma"}
  - {layers: [784, 10], eta: 1.0}
grid:
  seed: [0, 1]
"""


def sweep(*args, cwd, timeout=120):
    return subprocess.run([str(SWEEP), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MNIST_DIR": MNIST_DIR})


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def small(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    return config


def test_sweep_records_runs_metrics_and_trial_files(small, tmp_path):
    result = sweep(small, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "results" / "small"
    runs = rows(out / "runs.csv")
    assert list(runs[0]) == list(RUN_COLUMNS)
    assert len(runs) == 4 and {r["status"] for r in runs} == {"finished"}
    assert [r["layers"] for r in runs] == ["784-20-10", "784-20-10", "784-10", "784-10"]
    assert [r["seed"] for r in runs] == ["0", "1", "0", "1"]
    assert runs[0]["comment"] == "hidden, with a comma"
    for run in runs:
        assert 0.2 < float(run["accuracy"]) <= float(run["best_accuracy"]) <= 1
        info = json.loads((out / run["run_id"] / "run.json").read_text())
        assert info["status"] == "finished" and info["config"]["layers"] == [
            int(n) for n in run["layers"].split("-")]
        assert {"python", "numpy"} <= set(info["versions"]) and info["host"]
        assert 20 < info["worker_peak_rss_mb"] < 4096
        assert (out / run["run_id"] / "config.yaml").exists()
    metrics = rows(out / "metrics.csv")
    assert list(metrics[0]) == list(METRIC_COLUMNS)
    assert [(m["run_id"], m["epoch"]) for m in metrics] == [
        (r["run_id"], str(e)) for r in runs for e in (1, 2)]
    assert "4 finished" in result.stdout
    assert "report not written" not in result.stdout
    for name in ("report.md", "learning_curves.png", "accuracy_vs_parameters.png"):
        assert (out / name).stat().st_size > 0


def test_rerun_skips_recorded_trials_and_force_reruns_them(small, tmp_path):
    assert sweep(small, cwd=tmp_path).returncode == 0
    runs_csv = tmp_path / "results" / "small" / "runs.csv"
    before = runs_csv.read_text()
    again = sweep(small, cwd=tmp_path)
    assert again.returncode == 0
    assert "0 of 4 trials to run" in again.stdout and "4 already recorded" in again.stdout
    assert runs_csv.read_text() == before
    forced = sweep(small, "--force", "--no-report", cwd=tmp_path)
    assert "4 of 4 trials to run" in forced.stdout and "4 finished" in forced.stdout
    assert len(rows(runs_csv)) == 4
    assert len(rows(runs_csv.with_name("metrics.csv"))) == 8  # replaced, not appended


def test_an_edited_comment_or_reference_relabels_without_rerunning(small, tmp_path):
    assert sweep(small, "--no-report", cwd=tmp_path).returncode == 0
    small.write_text(SMALL.replace('comment: "hidden, with a comma"',
                                   'comment: renamed, reference: 0.9, source: a book'))
    result = sweep(small, "--no-report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 of 4 trials to run" in result.stdout
    assert "updated the comment, reference or source of 2 recorded trial(s)" in result.stdout
    runs = rows(tmp_path / "results" / "small" / "runs.csv")
    assert [(r["comment"], r["reference"], r["source"]) for r in runs[:2]] == \
        [("renamed", "0.9", "a book")] * 2


def test_retry_failed_reruns_only_failed_trials(small, tmp_path):
    assert sweep(small, "--no-report", cwd=tmp_path).returncode == 0
    runs_csv = tmp_path / "results" / "small" / "runs.csv"
    recorded = rows(runs_csv)
    recorded[2]["status"], recorded[2]["error"] = "failed", "DataError: simulated"
    with open(runs_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RUN_COLUMNS)
        writer.writeheader()
        writer.writerows(recorded)
    plain = sweep(small, "--no-report", cwd=tmp_path)
    assert "0 of 4 trials to run" in plain.stdout
    retried = sweep(small, "--retry-failed", "--no-report", cwd=tmp_path)
    assert "1 of 4 trials to run" in retried.stdout, retried.stdout
    assert [r["status"] for r in rows(runs_csv)] == ["finished"] * 4


def test_diverged_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    config = tmp_path / "wild.yaml"
    config.write_text("defaults: {epochs: 2, train_size: 500}\n"
                      "trials:\n  - {layers: [784, 10], eta: 1.0e+300}\n  - {layers: [784, 10]}\n")
    result = sweep(config, "--no-report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = rows(tmp_path / "results" / "wild" / "runs.csv")
    assert [r["status"] for r in runs] == ["diverged", "finished"]
    assert runs[0]["error"].startswith("diverged at epoch 1:") and runs[0]["accuracy"] == ""
    assert "DIVERGED: diverged at epoch 1" in result.stdout
    stopped = sweep(config, "--force", "--fail-fast", "--no-report", cwd=tmp_path)
    assert stopped.returncode == 1 and "1 diverged" in stopped.stdout
    assert "finished" not in stopped.stdout.split("diverged at")[0]


def test_dry_run_lists_trials_and_writes_nothing(small, tmp_path):
    result = sweep(small, "--dry-run", "epochs=1", cwd=tmp_path)
    assert result.returncode == 0
    assert "small: 4 trials on mnist, 4 to run" in result.stdout
    assert "784-20-10_e1_b10_eta3_s1_" in result.stdout
    assert not (tmp_path / "results").exists()


def test_hydra_overrides_through_the_installed_command(small, tmp_path):
    result = sweep(small, "--dry-run", "seed=range(0,3)", "eta=choice(0.5,3)",
                   "++comment='by hand, with a comma'", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "small: 12 trials on mnist, 12 to run" in result.stdout  # 2 trials x 2 eta x 3 seeds
    assert "784-10_e2_b10_eta0.5_s2_" in result.stdout and "by hand, with a comma" in result.stdout
    refused = sweep(small, "+comment=x", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        f"sweep: overrides: +comment: {small} already sets it (trials[0].comment); "
        "override it with comment=... or ++comment=...\n")


def test_jobs_2_writes_the_same_rows_as_jobs_1(small, tmp_path):
    assert sweep(small, "--out", "one", "--no-report", cwd=tmp_path).returncode == 0
    two = sweep(small, "--out", "two", "-j", "2", "--no-report", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    timing = {"train_seconds", "seconds_per_epoch", "started_at", "seconds"}
    for name in ("runs.csv", "metrics.csv"):
        one_rows, two_rows = rows(tmp_path / "one" / name), rows(tmp_path / "two" / name)
        strip = lambda table: [{k: v for k, v in r.items() if k not in timing} for r in table]
        assert strip(one_rows) == strip(two_rows)


def test_a_second_sweep_on_the_same_directory_is_refused(small, tmp_path):
    out = tmp_path / "results" / "small"
    with ResultsStore(out):
        result = sweep(small, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"sweep: results/small: another sweep is writing here "
                             f"(pid {os.getpid()}); wait for it to end or pass --out DIR\n")
    assert not (out / "runs.csv").exists()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_sweep_leaves_valid_csvs_and_rerun_completes(tmp_path, how):
    config = tmp_path / "long.yaml"
    config.write_text("name: long\ndefaults: {epochs: 12, train_size: 6000}\n"
                      "trials:\n  - {layers: [784, 30, 10]}\ngrid:\n  seed: [0, 1, 2, 3]\n")
    out = tmp_path / "results" / "long"
    # --no-stack: the seeds are recorded one by one, so a kill falls between two of them
    process = subprocess.Popen([str(SWEEP), str(config), "--no-report", "--no-stack"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "MNIST_DIR": MNIST_DIR})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / "runs.csv").exists():
        time.sleep(0.02)
    time.sleep(0.3)  # now well inside a later trial
    process.send_signal(how)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == (-signal.SIGKILL if how == signal.SIGKILL else 130)
    recorded = rows(out / "runs.csv")
    assert 1 <= len(recorded) < 4
    assert all(r["status"] == "finished" for r in recorded)
    if how == signal.SIGINT:
        assert "rerun the same command to resume" in stdout
    rerun = sweep(config, "--no-report", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{4 - len(recorded)} of 4 trials to run" in rerun.stdout
    final = rows(out / "runs.csv")
    assert len({r["run_id"] for r in final}) == 4 and [r["seed"] for r in final] == list("0123")
    metrics = rows(out / "metrics.csv")
    assert len(metrics) == 4 * 12
    assert len({(m["run_id"], m["epoch"]) for m in metrics}) == 4 * 12


BAD_CONFIGS = [
    ("trials:\n  - {layers: [784, 10], etta: 1.0}\n",
     "trials[0].etta: unknown key (did you mean 'eta'?)"),
    ("defaults: {epochs: ten}\ntrials:\n  - {layers: [784, 10]}\n",
     "defaults.epochs: must be a positive integer, got 'ten'"),
    ("trials:\n  - {layers: [784, 10]}\n  - {layers: [784, 10], eta: -1.0}\n",
     "trials[1].eta: must be a number > 0, got -1.0"),
    ("trials:\n  - {layers: [784, 10], mini_batch_size: 0}\n",
     "trials[0].mini_batch_size: must be a positive integer or 'full', got 0"),
    ("trials:\n  - {layers: [785, 30, 10]}\n",
     "trials[0].layers: first layer must be 784 (the inputs of mnist), got 785"),
    ("trials:\n  - {layers: [784, 30, 9]}\n",
     "trials[0].layers: last layer must be 10 (the classes of mnist), got 9"),
    ("trials: []\n", "empty sweep: no trials to run (trials is an empty list)"),
    ("trials:\n  - {layers: [784, 10]}\ngrid:\n  eta: []\n",
     "empty sweep: no trials to run (grid.eta is an empty list)"),
]


@pytest.mark.parametrize("text, message", BAD_CONFIGS)
def test_bad_config_gives_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys,
                                                            text, message):
    from experiments.sweep.cli import main

    (tmp_path / "bad.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["bad.yaml"]) == 2
    assert capsys.readouterr().err == f"sweep: bad.yaml: {message}\n"
    assert not (tmp_path / "results").exists()


def test_bad_override_through_the_installed_command(small, tmp_path):
    result = sweep(small, "etta=1", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "sweep: overrides: etta: unknown key (did you mean 'eta'?)\n"
    assert not (tmp_path / "results").exists()


def test_python_dash_m_experiments_runs_the_sweep(small, tmp_path):
    result = subprocess.run([sys.executable, "-m", "experiments", str(small), "--dry-run"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "small: 4 trials on mnist, 4 to run" in result.stdout


def test_a_worker_killed_by_the_system_stops_the_sweep_cleanly(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text("name: long\ndefaults: {epochs: 40, train_size: 6000}\n"
                      "trials:\n  - {layers: [784, 30, 10]}\ngrid:\n  seed: [0, 1, 2, 3]\n")
    # without the BLAS thread variables: the command sets them itself (sweep/start.py)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    process = subprocess.Popen([str(SWEEP), str(config), "-j", "2", "--no-report"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**environment, "MNIST_DIR": MNIST_DIR})
    workers = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        # the installed command keeps one thread, so its workers fork from it (no fork server)
        workers = [pid for pid, args in children(process.pid) if "forkserver" not in args]
    assert len(workers) == 2, "the workers are not the sweep's own children"
    time.sleep(1.0)  # the workers are training now
    os.kill(workers[0], signal.SIGKILL)  # as the kernel's OOM killer would
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.endswith("sweep: a worker process died (killed, or out of memory?); the trials "
                           "it ran are not recorded, the finished ones are: rerun to resume\n")
    runs_csv = tmp_path / "results" / "long" / "runs.csv"
    recorded = rows(runs_csv) if runs_csv.exists() else []
    assert all(r["status"] == "finished" for r in recorded) and len(recorded) < 4
    rerun = sweep(config, "--no-report", cwd=tmp_path)
    assert rerun.returncode == 0 and f"{4 - len(recorded)} of 4 trials to run" in rerun.stdout
    assert len(rows(runs_csv)) == 4


def children(pid):
    """(pid, command line) of each child of process `pid`."""
    # -ww: without a terminal ps cuts lines at 80 columns, and a long venv path pushes the
    # words we look for past them
    lines = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)],
                           capture_output=True, text=True).stdout.splitlines()
    return [(int(line.split()[0]), line.split(None, 1)[1]) for line in lines]
