"""What a sweep shows while it runs: a progress bar on a terminal, plain lines elsewhere.

On a terminal, one line at the bottom is redrawn as trials advance (tqdm draws the meter):
  6/16 trials  66%|███████████████▉        | 00:13<00:06, 784-30-10 eta3 s0 epoch 2/3 91.97% | ...
trials done out of those to run, the share of the sweep's estimated cost that is done,
elapsed time < estimated time left, then the epoch and accuracy of each running trial.
The cost of a trial is runner.estimated_cost (what schedules the longest first): a running
trial counts for the share of its epochs that are done, and the time left is what is
left of the cost at the average rate so far. Elsewhere (a pipe, a log, CI) only whole
lines are written, one per finished trial.
"""

import shutil
import sys
import time

from experiments.store.columns import DIVERGED, FAILED, FINISHED, PRUNED
from experiments.sweep.runner import estimated_cost

# tqdm's meter: {desc} is "3/24 trials", {postfix} the running trials (after ", ")
BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar:24}| {elapsed}<{remaining}{postfix}"


def percent(fraction):
    return "-" if fraction is None else f"{100 * fraction:.2f}%"


def duration(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def describe(trial):
    """A short human label of a trial: network and the parameters that usually vary."""
    return (f"[{', '.join(map(str, trial.layers))}] epochs={trial.epochs} "
            f"batch={trial.mini_batch_size} eta={trial.eta:g} seed={trial.seed}")


class Display:
    """Receives progress events (`put`) and results; writes lines to `out`.

    With live=True (stderr is a terminal) a progress bar on `status` is redrawn with the
    trials done, the estimated time left and the epoch and accuracy of every running trial;
    otherwise only whole lines are written, one per finished trial, so logs and pipes stay
    readable. columns: the bar's width (default: the terminal's).
    """

    def __init__(self, total, out=None, status=None, live=None, columns=None):
        self.total = total
        # the streams of the moment, not of the import: tests and callers may replace them
        out, status = out or sys.stdout, status or sys.stderr
        self.out, self.status = out, status
        self.live = status.isatty() if live is None else live
        self.columns = columns
        self.done = 0
        self.running = {}  # run_id -> (label, EpochRecord, epochs)
        self.labels = {}  # run_id -> (short label, epochs), to show events of running trials
        self.costs = {}  # run_id -> estimated cost, for the time left
        self.cost_done = 0.0  # of the trials whose result is in
        self.ended = set()  # run_ids whose result is in: their late queued events are stale
        self.started = time.monotonic()
        self.counts = {FINISHED: 0, DIVERGED: 0, FAILED: 0, PRUNED: 0}

    def expect(self, trials):
        for trial in trials:  # what tells running trials apart: 784-30-10 eta3 s0
            label = f"{trial.layers_label} eta{trial.eta:g} s{trial.seed}"
            self.labels[trial.run_id] = (label, trial.epochs)
            self.costs[trial.run_id] = estimated_cost(trial)

    def put(self, event):
        """An EpochEvent from a worker (or from the inline run)."""
        if event.run_id in self.ended:
            return
        label, epochs = self.labels.get(event.run_id, (event.run_id, "?"))
        self.running[event.run_id] = (label, event.record, epochs)
        self._redraw()

    def _redraw(self):
        if not self.live:
            return
        from tqdm import tqdm  # here: only a terminal needs it (~40 ms to import)

        running = " | ".join(f"{label} epoch {record.epoch}/{epochs} {percent(record.accuracy)}"
                             for label, record, epochs in self.running.values())
        # Total and done in units of estimated cost; without the trials' costs, one a trial.
        total = sum(self.costs.values()) or self.total
        done = self.cost_done + sum(self.costs.get(run_id, 1.0) * record.epoch / epochs
                                    for run_id, (_, record, epochs) in self.running.items()
                                    if isinstance(epochs, int))
        columns = self.columns or shutil.get_terminal_size().columns - 1  # no wrap at the edge
        line = tqdm.format_meter(min(done, total), total, time.monotonic() - self.started,
                                 ncols=columns, prefix=f"{self.done}/{self.total} trials",
                                 bar_format=BAR_FORMAT, postfix=running or None)
        self.status.write("\r\x1b[K" + line)
        self.status.flush()

    def _clear(self):
        if self.live:
            self.status.write("\r\x1b[K")
            self.status.flush()

    def result(self, result):
        """One line for a trial that completed, whatever its status."""
        self.running.pop(result.trial.run_id, None)
        self.ended.add(result.trial.run_id)
        self.done += 1
        self.cost_done += self.costs.get(result.trial.run_id, 1.0)
        self.counts[result.status] += 1
        records = result.records
        if result.status == FINISHED:
            best = max(records, key=lambda r: r.accuracy)
            outcome = (f"{percent(records[-1].accuracy)} (best {percent(best.accuracy)} at epoch "
                       f"{best.epoch}), {records[-1].seconds:.2f} s/epoch")
        elif result.status == PRUNED:
            outcome = (f"PRUNED at epoch {records[-1].epoch} (validation "
                       f"{percent(records[-1].validation_accuracy)})")
        else:
            outcome = f"{result.status.upper()}: {result.error}"
        self._clear()
        self.out.write(f"[{self.done}/{self.total}] {describe(result.trial)}: {outcome}, "
                       f"{duration(result.wall_seconds)}\n")
        self.out.flush()
        self._redraw()

    def line(self, text):
        self._clear()
        self.out.write(text + "\n")
        self.out.flush()

    def summary(self, skipped, directory, interrupted=False):
        parts = [f"{n} {status}" for status, n in self.counts.items() if n]
        if skipped:
            parts.append(f"{skipped} already recorded")
        head = "interrupted" if interrupted else "done"
        self.line(f"{head}: {', '.join(parts) or 'nothing to run'} "
                  f"in {duration(time.monotonic() - self.started)}; results in {directory}")
