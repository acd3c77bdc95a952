"""Asynchronous successive halving (ASHA: Li et al., "A System for Massively Parallel
Hyperparameter Tuning"): which trials go on past a rung; not how they are paused (runner.py).

Rungs stand at min_epochs x reduction_factor^k epochs, below a trial's last epoch. A trial
that reaches a rung goes on only if its metric there is among the top 1/reduction_factor of
the values recorded at that rung so far, itself included; while fewer than
reduction_factor trials have reached the rung, only if it is the best so far. That is
Optuna's SuccessiveHalvingPruner's rule, decided as each trial arrives, so no trial ever
waits for another: with one job the outcome depends only on the sweep's order.
"""

from dataclasses import dataclass, field


@dataclass
class Rungs:
    """The rungs of a sweep and the metric values recorded at each, in arrival order."""

    min_epochs: int
    reduction_factor: int
    maximize: bool = True
    values: dict = field(default_factory=dict)  # rung epoch -> [metric values]

    def rungs_below(self, epochs):
        """The rung epochs a trial of `epochs` epochs passes before its last: [1, 3, 9] for
        min_epochs 1, reduction_factor 3 and 27 epochs."""
        rungs, rung = [], self.min_epochs
        while rung < epochs:
            rungs.append(rung)
            rung *= self.reduction_factor
        return rungs

    def next_stop(self, epochs_done, epochs):
        """The epoch at which a trial that has done `epochs_done` must stop next: its next
        rung, or its last epoch."""
        return next_stop(self.rungs_below(epochs), epochs_done, epochs)

    def promote(self, rung, value):
        """Record `value` at `rung`; True when the trial goes on past it."""
        recorded = self.values.setdefault(rung, [])
        recorded.append(value)
        ranked = sorted(recorded, reverse=self.maximize)  # the best first
        index = max(len(recorded) // self.reduction_factor - 1, 0)
        return value >= ranked[index] if self.maximize else value <= ranked[index]

    def record(self, rung, value):
        """Add a value recorded before (a trial of an earlier run of the sweep), no decision."""
        self.values.setdefault(rung, []).append(value)


def next_stop(rungs, epochs_done, epochs):
    """The first of `rungs` (epochs, ascending) past `epochs_done`, else `epochs`: where a
    trial that has done `epochs_done` of its `epochs` stops next."""
    return next((rung for rung in rungs if rung > epochs_done), epochs)
