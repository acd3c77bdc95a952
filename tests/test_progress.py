"""Tests of experiments.sweep.progress: the exact lines written, with and without a live status line."""

import io
from types import SimpleNamespace

import pytest

from experiments.sweep import progress
from experiments.sweep.config import TrialConfig
from experiments.sweep.progress import Display
from experiments.sweep.runner import estimated_cost
from experiments.sweep.worker import EpochEvent, TrialResult
from nn.training import EpochRecord

FIRST = TrialConfig(layers=(784, 10), epochs=2, eta=3.0, seed=0)
SECOND = TrialConfig(layers=(784, 30, 10), epochs=3, mini_batch_size=20, eta=0.5, seed=1)
THIRD = TrialConfig(layers=(784, 10), epochs=2, eta=100.0, seed=2)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """A clock that moves only when told to, so that durations are exact."""
    now = SimpleNamespace(value=1000.0)
    monkeypatch.setattr(progress, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


def record(epoch, accuracy, seconds=0.5):
    return EpochRecord(epoch, 0.1, accuracy, accuracy, seconds)


def finished(trial, *accuracies, wall_seconds=2.0):
    records = tuple(record(i + 1, accuracy) for i, accuracy in enumerate(accuracies))
    return TrialResult(trial, "finished", records, "", "t", wall_seconds, 0.0)


def ended(trial, status, error, wall_seconds=1.0):
    return TrialResult(trial, status, (record(1, 0.1),), error, "t", wall_seconds, 0.0)


def display(total, live):
    out, status = io.StringIO(), io.StringIO()
    shown = Display(total, out=out, status=status, live=live)
    shown.expect([FIRST, SECOND, THIRD])
    return shown, out, status


def test_not_live_writes_one_whole_line_per_result():
    shown, out, status = display(2, live=False)
    shown.put(EpochEvent(FIRST.run_id, record(1, 0.8)))
    shown.put(EpochEvent(FIRST.run_id, record(2, 0.91)))
    shown.result(finished(FIRST, 0.8, 0.91))
    shown.put(EpochEvent(SECOND.run_id, record(1, 0.95)))
    shown.result(finished(SECOND, 0.95, 0.97, 0.96, wall_seconds=125))
    assert out.getvalue().splitlines() == [
        "[1/2] [784, 10] epochs=2 batch=10 eta=3 seed=0: 91.00% (best 91.00% at epoch 2), "
        "0.50 s/epoch, 2.0s",
        "[2/2] [784, 30, 10] epochs=3 batch=20 eta=0.5 seed=1: 96.00% (best 97.00% at epoch 2), "
        "0.50 s/epoch, 2m05s",
    ]
    assert out.getvalue().endswith("\n")
    assert status.getvalue() == ""


def test_best_is_the_first_epoch_with_the_best_accuracy():
    shown, out, _ = display(1, live=False)
    shown.result(finished(SECOND, 0.9, 0.95, 0.95))
    assert out.getvalue() == ("[1/1] [784, 30, 10] epochs=3 batch=20 eta=0.5 seed=1: 95.00% "
                              "(best 95.00% at epoch 2), 0.50 s/epoch, 2.0s\n")


def test_diverged_and_failed_lines_give_the_error():
    shown, out, _ = display(2, live=False)
    shown.result(ended(THIRD, "diverged", "cost is nan at epoch 1"))
    shown.result(ended(FIRST, "failed", "DataError: no MNIST here", wall_seconds=0.04))
    assert out.getvalue().splitlines() == [
        "[1/2] [784, 10] epochs=2 batch=10 eta=100 seed=2: DIVERGED: cost is nan at epoch 1, 1.0s",
        "[2/2] [784, 10] epochs=2 batch=10 eta=3 seed=0: FAILED: DataError: no MNIST here, 0.0s",
    ]


def test_summary_counts_each_status_and_the_skipped(clock):
    shown, out, status = display(2, live=False)
    shown.result(finished(FIRST, 0.9))
    shown.result(ended(THIRD, "diverged", "cost is nan"))
    clock.value += 75
    shown.summary(3, "results/small")
    assert out.getvalue().splitlines()[-1] == (
        "done: 1 finished, 1 diverged, 3 already recorded in 1m15s; results in results/small")
    assert "\r" not in out.getvalue() + status.getvalue()
    assert "\x1b" not in out.getvalue() + status.getvalue()


def test_summary_of_an_interrupted_sweep():
    shown, out, _ = display(3, live=False)
    shown.result(ended(FIRST, "failed", "MemoryError: "))
    shown.summary(0, "out", interrupted=True)
    assert out.getvalue().splitlines()[-1] == "interrupted: 1 failed in 0.0s; results in out"


def test_summary_with_nothing_to_run():
    shown, out, _ = display(0, live=False)
    shown.summary(4, "out")
    assert out.getvalue() == "done: 4 already recorded in 0.0s; results in out\n"
    shown, out, _ = display(0, live=False)
    shown.summary(0, "out")
    assert out.getvalue() == "done: nothing to run in 0.0s; results in out\n"


def test_line_writes_a_whole_line():
    shown, out, status = display(1, live=False)
    shown.line("running 1 trial")
    assert out.getvalue() == "running 1 trial\n" and status.getvalue() == ""


class FakeTerminal(io.StringIO):
    """What sys.stderr is in a terminal, as far as Display can tell."""

    def isatty(self):
        return True


def live_display(total, columns=160):
    out, status = io.StringIO(), FakeTerminal()
    shown = Display(total, out=out, status=status, columns=columns)
    shown.expect([FIRST, SECOND, THIRD])
    return shown, out, status


def last_frame(status):
    """The bar as the terminal shows it now: what follows the last erase of the line."""
    return status.getvalue().rpartition("\r\x1b[K")[2]


COST = {trial.run_id: estimated_cost(trial) for trial in (FIRST, SECOND, THIRD)}


def test_a_terminal_gets_a_progress_bar_of_trials_cost_and_running_epochs(clock):
    shown, out, status = live_display(2)
    assert shown.live  # told by isatty()
    shown.put(EpochEvent(FIRST.run_id, record(1, 0.8)))
    total = sum(COST.values())
    share = COST[FIRST.run_id] / 2 / total  # half of FIRST's epochs
    assert last_frame(status) == (
        f"0/2 trials {100 * share:3.0f}%|{bar(share)}| 00:00<?, 784-10 eta3 s0 epoch 1/2 80.00%")
    clock.value += 3
    shown.put(EpochEvent(SECOND.run_id, record(2, 0.9)))
    share += COST[SECOND.run_id] * 2 / 3 / total
    left = 3 * (1 - share) / share  # what is left at the average rate so far (whole seconds)
    assert last_frame(status) == (
        f"0/2 trials {100 * share:3.0f}%|{bar(share)}| 00:03<00:{int(left):02d}, "
        "784-10 eta3 s0 epoch 1/2 80.00% | 784-30-10 eta0.5 s1 epoch 2/3 90.00%")
    assert out.getvalue() == ""


def bar(share, width=24):
    """tqdm's bar of `width` characters, built independently: full blocks, then one of eighths."""
    eighths = int(share * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if full < width else "")).ljust(width)


def test_the_bar_is_cut_to_the_terminal_width():
    shown, _, status = live_display(2, columns=50)
    shown.put(EpochEvent(FIRST.run_id, record(1, 0.8)))
    shown.put(EpochEvent(SECOND.run_id, record(2, 0.9)))
    assert len(last_frame(status)) <= 50


def test_live_result_clears_the_bar_writes_its_line_then_redraws_the_others():
    shown, out, status = live_display(2)
    shown.put(EpochEvent(FIRST.run_id, record(1, 0.8)))
    shown.put(EpochEvent(SECOND.run_id, record(1, 0.9)))
    before = len(status.getvalue())
    shown.result(finished(FIRST, 0.8, 0.91))
    after = status.getvalue()[before:]
    assert after.startswith("\r\x1b[K\r\x1b[K1/2 trials ")
    assert after.endswith(", 784-30-10 eta0.5 s1 epoch 1/3 90.00%") and "784-10 " not in after
    assert out.getvalue() == ("[1/2] [784, 10] epochs=2 batch=10 eta=3 seed=0: 91.00% "
                              "(best 91.00% at epoch 2), 0.50 s/epoch, 2.0s\n")


def test_live_ignores_late_events_of_a_trial_whose_result_is_in():
    shown, _, status = live_display(2)
    shown.put(EpochEvent(FIRST.run_id, record(1, 0.8)))
    shown.result(finished(FIRST, 0.8, 0.91))
    before = status.getvalue()
    shown.put(EpochEvent(FIRST.run_id, record(2, 0.91)))  # queued before the result, read after
    assert status.getvalue() == before
    assert "784-10 eta3 s0 epoch 2/2" not in status.getvalue()


def test_the_plain_lines_do_not_change_on_a_terminal():
    live, live_out, _ = live_display(2)
    plain, plain_out, plain_status = display(2, live=False)
    for shown in (live, plain):
        shown.put(EpochEvent(FIRST.run_id, record(1, 0.8)))
        shown.result(finished(FIRST, 0.8, 0.91))
        shown.result(ended(THIRD, "diverged", "cost is nan"))
        shown.summary(1, "out")
    assert live_out.getvalue() == plain_out.getvalue() and plain_status.getvalue() == ""
