"""What a sweep shows while it runs: a live status line on a terminal, plain lines elsewhere."""

import sys
import time

from experiments.store.columns import DIVERGED, FAILED, FINISHED, PRUNED


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

    With live=True (stderr is a terminal) one status line on `status` is redrawn with the
    epoch and accuracy of every running trial; otherwise only whole lines are written, one
    per finished trial, so logs and pipes stay readable.
    """

    def __init__(self, total, out=sys.stdout, status=sys.stderr, live=None):
        self.total = total
        self.out, self.status = out, status
        self.live = status.isatty() if live is None else live
        self.done = 0
        self.running = {}  # run_id -> (label, EpochRecord, epochs)
        self.labels = {}  # run_id -> (layers label, epochs), to show events of running trials
        self.ended = set()  # run_ids whose result is in: their late queued events are stale
        self.started = time.monotonic()
        self.counts = {FINISHED: 0, DIVERGED: 0, FAILED: 0, PRUNED: 0}

    def expect(self, trials):
        for trial in trials:
            self.labels[trial.run_id] = (trial.layers_label, trial.epochs)

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
        parts = [f"{label} epoch {record.epoch}/{epochs} {percent(record.accuracy)}"
                 for label, record, epochs in self.running.values()]
        line = f"[{self.done}/{self.total} done] " + " | ".join(parts)
        line += f"  {duration(time.monotonic() - self.started)}"
        self.status.write("\r\x1b[K" + line[:200])
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
