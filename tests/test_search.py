"""Tests of search: blocks (sampling, validation) and of ASHA (the promotion rule, pruned trials)."""

import csv
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.errors import ConfigError
from experiments.sweep.asha import Rungs
from experiments.sweep.config import load_sweep
from experiments.sweep.runner import rungs_of
from experiments.sweep.search import Asha
from nn import EpochRecord

SWEEP = Path(sys.executable).parent / "sweep"
MNIST_DIR = os.environ.get("MNIST_DIR") and str(Path(os.environ["MNIST_DIR"]).resolve())

SEARCH = """\
name: s
defaults: {{layers: [784, 30, 10], epochs: 9}}
seeds: [0]
search:
  method: random
  count: {count}
  seed: 0
  parameters:
    eta: {{distribution: log_uniform_values, min: 0.05, max: 50}}
    mini_batch_size: {{values: [10, 20, 50]}}
    epochs: {{distribution: int_uniform, min: 3, max: 9}}
    lmbda: {{distribution: q_uniform, min: 0, max: 5, q: 0.5}}
    momentum: {{distribution: uniform, min: 0.0, max: 0.9}}
    layers: {{values: [[784, 30, 10], [784, 100, 10]]}}
    init: {{value: scaled}}
"""


@pytest.fixture
def write(tmp_path):
    def write(text, name="s.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def test_the_same_file_gives_the_same_trials_and_a_larger_count_keeps_the_first(write):
    first = load_sweep(write(SEARCH.format(count=40))).trials
    again = load_sweep(write(SEARCH.format(count=40))).trials
    more = load_sweep(write(SEARCH.format(count=60))).trials
    assert first == again and more[:len(first)] == first and len(first) == 40


def test_sampled_values_lie_in_their_ranges_and_a_log_range_covers_its_decades(write):
    trials = load_sweep(write(SEARCH.format(count=600))).trials
    etas = np.array([t.eta for t in trials])
    assert etas.min() >= 0.05 and etas.max() <= 50
    decades = np.histogram(np.log10(etas), bins=[math.log10(0.05), math.log10(0.5),
                                                 math.log10(5), math.log10(50)])[0]
    assert all(150 < count < 250 for count in decades), decades  # 200 each, by the log scale
    assert {t.mini_batch_size for t in trials} == {10, 20, 50}
    assert {t.epochs for t in trials} == set(range(3, 10))
    assert set(t.lmbda for t in trials) <= {0.5 * k for k in range(11)}
    assert all(0 <= t.momentum <= 0.9 for t in trials)
    assert {t.layers for t in trials} == {(784, 30, 10), (784, 100, 10)}
    assert {t.init for t in trials} == {"scaled"}


def test_a_configuration_drawn_twice_is_one_trial(write):
    text = ("defaults: {layers: [784, 10]}\nsearch:\n  count: 30\n  parameters:\n"
            "    eta: {values: [1.0, 3.0]}\n")
    assert sorted(t.eta for t in load_sweep(write(text)).trials) == [1.0, 3.0]


BASE = "defaults: {layers: [784, 10]}\nsearch:\n"


@pytest.mark.parametrize("block, message", [
    ("  parameters: {eta: {values: [1.0]}}\n",
     "search.count: required: how many configurations to sample"),
    ("  count: 0\n  parameters: {eta: {values: [1.0]}}\n",
     "search.count: must be an integer from 1 to 100,000, got 0"),
    ("  count: 1000000000\n  parameters: {eta: {values: [1.0]}}\n",
     "search.count: must be an integer from 1 to 100,000, got 1000000000"),
    ("  count: 3\n  method: bayes\n  parameters: {eta: {values: [1.0]}}\n",
     "search.method: unknown method 'bayes', expected one of 'random', 'tpe'"),
    ("  count: 3\n  parameters: {eta: {distribution: loguniform, min: 0.1, max: 1}}\n",
     "search.parameters.eta.distribution: unknown distribution 'loguniform' "
     "(did you mean 'log_uniform_values'? its min and max are the values themselves, not "
     "their logarithms)"),
    ("  count: 3\n  parameters: {eta: {distribution: unifrom, min: 0.1, max: 1}}\n",
     "search.parameters.eta.distribution: unknown distribution 'unifrom' "
     "(did you mean 'uniform'?)"),
    ("  count: 3\n  parameters: {eta: {distribution: uniform, min: 2, max: 1}}\n",
     "search.parameters.eta: min must be < max, got min 2, max 1"),
    ("  count: 3\n  parameters: {lmbda: {distribution: log_uniform_values, min: 0, max: 1}}\n",
     "search.parameters.lmbda.min: a log range must lie above 0, got 0"),
    ("  count: 3\n  parameters: {eta: {distribution: uniform, min: 0, max: 1}}\n",
     "search.parameters.eta.min: must be a number > 0, got 0.0"),
    ("  count: 3\n  parameters: {momentum: {distribution: uniform, min: 0.5, max: 1.5}}\n",
     "search.parameters.momentum.max: must be a number >= 0 and < 1, got 1.5"),
    ("  count: 3\n  parameters: {etta: {values: [1.0]}}\n",
     "search.parameters.etta: unknown key (did you mean 'eta'?)"),
    ("  count: 3\n  parameters: {seed: {values: [1]}}\n",
     "search.parameters.seed: seeds are not searched; list them in seeds:"),
    ("  count: 3\n  parameters: {eta: {values: []}}\n",
     "search.parameters.eta.values: must be a non-empty list, got []"),
    ("  count: 3\n  parameters: {eta: {distribution: q_uniform, min: 0.5, max: 1}}\n",
     "search.parameters.eta.q: must be a number > 0 and <= max - min, got None"),
    ("  count: 3\n  metric: {name: accuracy}\n  parameters: {eta: {values: [1.0]}}\n",
     "search.metric.name: must be one of validation_accuracy, cost, got 'accuracy' "
     "(choosing on the test set would leak it into the choice)"),
    ("  count: 3\n  parameters: {eta: {values: [1.0]}}\n  early_terminate: {type: hyperband}\n",
     "search.early_terminate.type: must be 'asha', got 'hyperband'"),
    ("  count: 3\n  parameters: {eta: {values: [1.0]}}\n"
     "  early_terminate: {type: asha, reduction_factor: 1}\n",
     "search.early_terminate.reduction_factor: must be an integer >= 2, got 1"),
])
def test_bad_search_blocks_give_one_line_naming_the_key(write, block, message):
    path = write(BASE + block)
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    assert str(caught.value) == f"{path}: {message}"


def test_asha_rungs_and_stops():
    rungs = Rungs(1, 3)
    assert rungs.rungs_below(9) == [1, 3] and rungs.rungs_below(27) == [1, 3, 9]
    assert rungs.rungs_below(1) == [] and Rungs(2, 2).rungs_below(9) == [2, 4, 8]
    assert [rungs.next_stop(done, 9) for done in (0, 1, 2, 3, 5)] == [1, 3, 3, 9, 9]


def test_asha_promotion_rule_on_hand_made_curves():
    """Reduction factor 3: while fewer than 3 trials reached a rung, only the best so far
    goes on; then only those in the top third of the values recorded there."""
    rungs = Rungs(1, 3)
    decisions = [rungs.promote(1, value) for value in
                 (0.50, 0.40, 0.60, 0.55, 0.30, 0.61, 0.58, 0.62, 0.20)]
    # 0.50 best so far; 0.40 not; 0.60 best; then 3+ values: top third (len // 3 best):
    # 0.55 of [0.6, 0.55, 0.5, 0.4] -> index 0 (0.6): no; 0.30 no; 0.61 of six -> index 1
    # (0.60): yes; 0.58 of 7 -> index 1 (0.60): no; 0.62 of 8 -> index 1: yes; 0.20 no
    assert decisions == [True, False, True, False, False, True, False, True, False]
    lower_is_better = Rungs(1, 2, maximize=False)
    # 0.45 is the second of four: within the best half (reduction factor 2)
    assert [lower_is_better.promote(3, cost) for cost in (0.5, 0.6, 0.4, 0.45, 0.55)] == \
        [True, False, True, True, False]


def test_rungs_are_restored_from_the_recorded_trials_in_their_order():
    runs = {"a": {"epochs": "9"}, "c": {"epochs": "9"}}
    metrics = [{"run_id": run_id, "epoch": str(epoch), "validation_accuracy": str(0.1 * epoch + s)}
               for s, run_id in enumerate("abc") for epoch in range(1, 10)]
    rungs = rungs_of(Asha(1, 3), runs, metrics, "validation_accuracy", "maximize")
    assert rungs.values == {1: [pytest.approx(0.1), pytest.approx(2.1)],
                            3: [pytest.approx(0.3), pytest.approx(2.3)]}


def test_rungs_count_the_trials_an_interrupted_sweep_had_sent_on():
    def record(epoch, value):
        return EpochRecord(epoch, 0.5, None, value, 0.1)

    # one checkpoint past rung 3 (sent on at 1 and 3), one at rung 3 (sent on: a pruned trial
    # is recorded as it is pruned), one before its first rung
    going_on = [(9, [record(e, 0.1 * e) for e in range(1, 5)]),
                (9, [record(e, 0.2 * e) for e in range(1, 4)]), (9, [])]
    rungs = rungs_of(Asha(1, 3), {}, [], "validation_accuracy", "maximize", going_on)
    assert rungs.values == {1: [pytest.approx(0.1), pytest.approx(0.2)],
                            3: [pytest.approx(0.3), pytest.approx(0.6)]}


def rows(path):
    timing = ("train_seconds", "seconds_per_epoch", "started_at", "seconds")
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in timing} for row in csv.DictReader(handle)]


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
def test_a_search_with_asha_records_pruned_trials_deterministically_and_skips_them_after(write,
                                                                                     tmp_path):
    config = write("name: a\ndefaults: {epochs: 9, train_size: 1000}\nsearch:\n  count: 6\n"
                   "  parameters:\n    eta: {distribution: log_uniform_values, min: 0.01, max: 30}\n"
                   "    layers: {values: [[784, 10], [784, 20, 10]]}\n"
                   "  early_terminate: {type: asha, min_epochs: 1, reduction_factor: 3}\n")
    env = {**os.environ, "MNIST_DIR": MNIST_DIR}
    for out in ("first", "second"):
        result = subprocess.run([str(SWEEP), str(config), "--out", out, "--no-report"],
                                cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
    first = rows(tmp_path / "first" / "runs.csv")
    assert first == rows(tmp_path / "second" / "runs.csv")
    assert rows(tmp_path / "first" / "metrics.csv") == rows(tmp_path / "second" / "metrics.csv")
    statuses = [row["status"] for row in first]
    assert "pruned" in statuses and "finished" in statuses
    for row in first:
        if row["status"] == "pruned":
            assert int(row["epochs_run"]) in (1, 3)
            assert row["stopped"] == f"pruned by ASHA at epoch {row['epochs_run']}"
    epochs = [int(row["epochs_run"]) for row in first]
    assert sum(epochs) < 6 * 9
    rerun = subprocess.run([str(SWEEP), str(config), "--out", "first", "--no-report"],
                           cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert "0 of 6 trials to run" in rerun.stdout


TPE = """\
name: tpe
defaults: {{epochs: {epochs}, train_size: 2000}}
search:
  method: tpe
  count: {count}
  seed: 0
  parameters:
    eta: {{distribution: log_uniform_values, min: 0.1, max: 10}}
    layers: {{values: [[784, 10], [784, 20, 10]]}}
"""


ASHA_2 = """name: asha2
defaults: {epochs: 9, mini_batch_size: 10, train_size: 2000, layers: [784, 100, 10]}
seeds: [0]
grid:
  eta: [3.0, 60.0]
early_terminate: {type: asha, min_epochs: 1, reduction_factor: 3}
"""


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
def test_an_asha_sweep_interrupted_past_a_rung_decides_as_one_that_was_not(write, tmp_path):
    # eta 3 passes rung 1 and trains on; interrupted there, the rerun must still hold its
    # value at rung 1 against eta 60, as the uninterrupted sweep does (found in review)
    import signal
    import time
    config = write(ASHA_2)
    env = {**os.environ, "MNIST_DIR": MNIST_DIR}
    # checkpoints only as trials pause at a rung (a rerun goes on from those)
    command = [str(SWEEP), str(config), "--no-report", "--no-stack", "--checkpoint-every", "100"]
    straight = subprocess.run([*command, "--out", "straight"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    assert straight.returncode == 0, straight.stderr
    first = tmp_path / "cut" / "784-100-10_e9_b10_eta3_s0_dafbb57c" / "checkpoint.npz"
    process = subprocess.Popen([*command, "--out", "cut"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not first.exists():  # written as it pauses at 1
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130 and not (tmp_path / "cut" / "runs.csv").exists()
    rerun = subprocess.run([*command, "--out", "cut"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert rows(tmp_path / "cut" / "runs.csv") == rows(tmp_path / "straight" / "runs.csv")
    assert rows(tmp_path / "cut" / "metrics.csv") == rows(tmp_path / "straight" / "metrics.csv")
    assert [row["status"] for row in rows(tmp_path / "straight" / "runs.csv")] == \
        ["finished", "pruned"]


def study_states(directory):
    optuna = pytest.importorskip("optuna")
    backend = optuna.storages.journal.JournalFileBackend(str(directory / "study.journal"))
    study = optuna.load_study(study_name="tpe", storage=optuna.storages.JournalStorage(backend))
    return [trial.state.name for trial in study.trials]


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
def test_an_interrupted_tpe_search_resumes_its_study_and_ends_with_count_configurations(
        write, tmp_path):
    pytest.importorskip("optuna", reason="the optuna extra is not installed")
    import signal
    import time
    config = write(TPE.format(epochs=12, count=5))
    env = {**os.environ, "MNIST_DIR": MNIST_DIR}
    out = tmp_path / "results" / "tpe"
    process = subprocess.Popen([str(SWEEP), str(config), "--no-report"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not (out / "runs.csv").exists()
                                           or len(rows(out / "runs.csv")) < 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    recorded = len(rows(out / "runs.csv"))
    assert process.returncode == 130 and 2 <= recorded < 5
    assert study_states(out).count("RUNNING") >= 1  # asked when interrupted, never told
    result = subprocess.run([str(SWEEP), str(config), "--no-report"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{5 - recorded} of 5 trials to run" in result.stdout
    assert study_states(out) == ["COMPLETE"] * 5
    assert len({row["run_id"] for row in rows(out / "runs.csv")}) == 5


def test_tpe_without_optuna_is_one_line(write, monkeypatch, capsys, tmp_path):
    from experiments.sweep.cli import main
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    monkeypatch.chdir(tmp_path)
    assert main([str(write(TPE.format(epochs=1, count=2))), "--no-report"]) == 2
    assert capsys.readouterr().err == ('sweep: search.method: tpe needs Optuna: pip install '
                                       '"nn-sweep[optuna]" (or use method: random)\n')


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a directory with MNIST")
def test_a_tpe_configuration_too_large_for_memory_is_refused_before_it_trains(
        write, monkeypatch, capsys, tmp_path):
    pytest.importorskip("optuna", reason="the optuna extra is not installed")
    from experiments.sweep import memory
    from experiments.sweep.cli import main
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 * 2**30)
    monkeypatch.chdir(tmp_path)
    config = write(TPE.format(epochs=1, count=2).replace(
        "[[784, 10], [784, 20, 10]]", "[[784, 1000000, 10]]"))
    assert main([str(config), "--data-dir", MNIST_DIR, "--no-report"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"sweep: 784-1000000-10_e1_b10_eta[0-9.]+_s0_[0-9a-f]{8}: needs about "
                        r"[0-9.]+ GiB of memory \(\[784, 1000000, 10\] in float32, mini-batch 10, "
                        r"with the data set\), more than the 8.0 GiB available\n", err), err
    assert not (tmp_path / "results" / "tpe" / "runs.csv").exists() or \
        rows(tmp_path / "results" / "tpe" / "runs.csv") == []
