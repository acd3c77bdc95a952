"""Which trials of a sweep are trained together as one stack of networks; not how (nn.training).

Trials that agree on everything that fixes the shapes of their arrays and their data
(layers, mini-batch, epochs, training set, data set, dtype, activation, cost,
initialization, momentum) and differ only in seed, eta, L2, early stopping or labels take
every step together: one matrix product per layer for all of them (nn.network). That pays
where a step is many small NumPy calls, each costing ~0.5 us whatever its size: small
mini-batches of small networks. Where the products are large the calls cost nothing next to
them, and a stack only crowds the cache, so those trials are trained one by one. Measured
on this project's 2-core machine (one step, per network, [784, 30, 10] at mini-batch 10:
31 us alone, 21 us in a stack of 8, 19 us in one of 16; [784, 100, 10] at 10: 63, 53, 56;
at 100: 440, 528, 547).
"""

import math

from experiments.sweep.config import LABELS
from experiments.sweep.worker import mini_batch_size
from nn.network import parameter_count

# What may differ within a stack: each member has its own (nn.training.Member)
PER_MEMBER = ("seed", "eta", "lmbda", "early_stopping", "eta_schedule") + LABELS
# Largest stack by the work of one network's step (examples x parameters), from the
# measurements above: past ~1e6 multiply-adds a step the stack stops paying.
STACK_LIMITS = ((300_000, 16), (1_000_000, 8))


def stack_key(trial):
    """What must be equal for two trials to be trained in one stack."""
    return tuple(getattr(trial, key) for key in trial.__dataclass_fields__ if key not in PER_MEMBER)


def largest_stack(trial):
    """How many trials like this one are worth training together (1: alone)."""
    work = mini_batch_size(trial) * parameter_count(trial.layers)
    return next((limit for bound, limit in STACK_LIMITS if work <= bound), 1)


def make_groups(trials, jobs=1, stack=True):
    """The trials as groups (tuples) to train together, each group in sweep order.

    Alike trials are split into as few groups as their largest stack allows, but into at
    least `jobs` of them when there are enough, so that every worker gets one. stack=False
    (--no-stack) gives a group per trial.
    """
    if not stack:
        return [(trial,) for trial in trials]
    alike = {}
    for trial in trials:
        alike.setdefault(stack_key(trial), []).append(trial)
    groups = []
    for members in alike.values():
        size = min(largest_stack(members[0]), max(1, math.ceil(len(members) / jobs)))
        count = math.ceil(len(members) / size)
        groups += [tuple(members[i::count]) for i in range(count)]  # even sizes, order kept
    position = {id(trial): i for i, trial in enumerate(trials)}
    return sorted(groups, key=lambda group: position[id(group[0])])
