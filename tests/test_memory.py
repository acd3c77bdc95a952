"""Tests of experiments.sweep.memory: the estimate against a real worker's peak; the refusals."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from experiments.errors import ConfigError
from experiments.sweep import memory
from experiments.sweep.config import TrialConfig
from experiments.sweep.memory import check_fits, size, trial_bytes

MiB, GiB = 2**20, 2**30
NIELSEN = TrialConfig(layers=(784, 30, 10))


def test_the_estimate_adds_up_what_nn_allocates():
    # [784, 30, 10], float32, mini-batch 10, all 50,000 images: no remainder batch
    parameters = 784 * 30 + 30 + 30 * 10 + 10
    workspace = (10 * (784 + 30 + 2 + 3 * 40) + parameters) * 4
    training = (50_000 * (785 + 10) * 4 + workspace + 10_000 * 40 * 4)
    data = (50_000 + 2 * 10_000) * memory.IMAGE_BYTES  # training, validation and test images
    expected = (memory.BASELINE + 784 * 30 * 4 + data + parameters * 4 + training)
    assert trial_bytes(NIELSEN) == expected
    assert size(trial_bytes(NIELSEN)) == "408 MiB"  # 404 MiB measured (ru_maxrss)
    assert (size(5 * MiB), size(int(1.56 * GiB)), size(300 * GiB)) == ("5.0 MiB", "1.6 GiB",
                                                                      "300 GiB")


def test_what_grows_the_estimate():
    bigger = [TrialConfig(layers=(784, 100, 10)),
              TrialConfig(layers=(784, 30, 10), dtype="float64"),
              TrialConfig(layers=(784, 30, 10), mini_batch_size=1000),
              TrialConfig(layers=(784, 30, 10), mini_batch_size=7)]  # a remainder batch
    assert all(trial_bytes(trial) > trial_bytes(NIELSEN) for trial in bigger)
    assert trial_bytes(TrialConfig(layers=(784, 30, 10), train_size=1000)) < trial_bytes(NIELSEN)


@pytest.mark.parametrize("layers, dtype, mini_batch_size, train_size", [
    ([784, 2000, 10], "float64", 100, 500),
    ([784, 1000, 1000, 10], "float32", 50, 300),
])
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_the_estimate_is_within_ten_percent_of_a_real_worker_peak(mnist_dir, layers, dtype,
                                                                  mini_batch_size, train_size):
    # VmHWM, not ru_maxrss: Linux folds the parent's peak into a child's ru_maxrss at exec,
    # and pytest's process may have grown past what the trial needs by then.
    program = textwrap.dedent(f"""
        import json
        from experiments.sweep.config import TrialConfig
        from experiments.sweep.worker import WorkerSettings, run_trial
        trial = TrialConfig(layers={tuple(layers)}, epochs=1, mini_batch_size={mini_batch_size},
                            train_size={train_size}, dtype={dtype!r})
        result = run_trial(trial, WorkerSettings(data_dir={mnist_dir!r}))
        with open("/proc/self/status") as status:
            peak = next(line for line in status if line.startswith("VmHWM:")).split()[1]
        print(json.dumps([result.status, int(peak)]))
    """)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    status, peak_kib = json.loads(out.stdout)
    estimate = trial_bytes(TrialConfig(layers=tuple(layers), mini_batch_size=mini_batch_size,
                                       train_size=train_size, dtype=dtype))
    assert status == "finished"
    assert 0.9 < estimate / (peak_kib * 1024) < 1.1


def test_a_trial_larger_than_the_memory_available_is_refused():
    huge = TrialConfig(layers=(784, 1_000_000, 10))
    with pytest.raises(ConfigError) as caught:
        check_fits([NIELSEN, huge], jobs=1, available=8 * GiB)
    assert str(caught.value) == (
        f"{huge.run_id}: needs about 43.8 GiB of memory ([784, 1000000, 10] in float32, "
        "mini-batch 10, with the data set), more than the 8.0 GiB available")


def test_the_largest_trials_running_at_once_must_fit_together():
    trials = [TrialConfig(layers=(784, 30, 10), seed=seed) for seed in range(4)]
    check_fits(trials, jobs=2, available=1 * GiB)
    with pytest.raises(ConfigError) as caught:
        check_fits(trials, jobs=4, available=1 * GiB)
    assert str(caught.value) == ("-j 4: 4 trials at once need about 1.6 GiB of memory (the "
                                 "largest 408 MiB), more than the 1.0 GiB available; "
                                 "-j 2 would fit")
    check_fits(trials[:2], jobs=4, available=1 * GiB)  # only two would run at once


def test_nothing_is_refused_when_the_memory_available_is_unknown(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: None)
    check_fits([TrialConfig(layers=(784, 1_000_000, 10))], jobs=1)


def test_memory_available_comes_from_proc_meminfo():
    available = memory.available_bytes()
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as meminfo:
            line = next(line for line in meminfo if line.startswith("MemAvailable:"))
        assert abs(available - int(line.split()[1]) * 1024) < 512 * MiB  # it moves
    assert available is None or available > 0


def test_sweep_refuses_before_anything_trains(tmp_path, monkeypatch, capsys):
    from experiments.sweep.cli import main

    config = tmp_path / "wide.yaml"
    config.write_text("trials:\n  - {layers: [784, 30, 10]}\n  - {layers: [784, 1000000, 10]}\n")
    monkeypatch.setattr(memory, "available_bytes", lambda: 8 * GiB)
    monkeypatch.chdir(tmp_path)
    assert main(["wide.yaml", "--data-dir", str(tmp_path / "nowhere")]) == 2
    wide = TrialConfig(layers=(784, 1_000_000, 10)).run_id
    assert capsys.readouterr() == ("", (
        f"sweep: {wide}: needs about 43.8 GiB of memory ([784, 1000000, 10] in float32, "
        "mini-batch 10, with the data set), more than the 8.0 GiB available\n"))
    assert not (tmp_path / "results").exists()
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 * GiB)
    (tmp_path / "four.yaml").write_text("defaults: {layers: [784, 30, 10]}\n")
    assert main(["four.yaml", "seed=range(0,4)", "-j", "4",
                 "--data-dir", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        "sweep: -j 4: 4 trials at once need about 1.6 GiB of memory (the largest 408 MiB), "
        "more than the 1.0 GiB available; -j 2 would fit\n")


def test_train_refuses_too(monkeypatch, capsys):
    from experiments.train.cli import train_main

    monkeypatch.setattr(memory, "available_bytes", lambda: 8 * GiB)
    assert train_main(["--layers", "784", "1000000", "10", "--data-dir", "/nowhere"]) == 2
    wide = TrialConfig(layers=(784, 1_000_000, 10)).run_id
    assert capsys.readouterr().err == (
        f"train: {wide}: needs about 43.8 GiB of memory ([784, 1000000, 10] in float32, "
        "mini-batch 10, with the data set), more than the 8.0 GiB available\n")


def test_a_stack_needs_each_members_own_arrays_once_the_shared_data_counted():
    trial = TrialConfig(layers=(784, 100, 10), mini_batch_size="full")
    one, two, eight = (trial_bytes(trial, stacked=k) for k in (1, 2, 8))
    assert one < eight < 8 * one  # the data set and its copies are not counted eight times
    assert eight - one == 7 * (two - one) > 0  # ... but every member's arrays are
