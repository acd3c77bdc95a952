"""Mini-batch stochastic gradient descent, for one network or K stacked ones; it never prints.

SGD(network, ...) trains one network and yields an EpochRecord per epoch, as the book's
SGD prints one line per epoch. Underneath, Trainer trains a Network of leading shape ()
or (K,) (nn.network) with one Member per network: its own generator (its own shuffles),
learning rate, L2 and momentum, its own early stopping, and its own count of epochs. The
K networks take every step together, one matrix product per layer for all of them, and
each gets the numbers it would get alone. A member that diverges, stops early or reaches
its last epoch leaves the stack; the others go on.
"""

import math
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from nn.errors import DivergedError

SCHEDULES = ("none", "halve")
HALVE_PATIENCE = 10  # the book's no-improvement-in-10, for `halve` without early_stopping
HALVINGS = 7  # `halve` stops when eta has dropped to 1/2^7 = 1/128 of its first value


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of training did.

    epoch: 1 for the first pass over the training data.
    cost: mean over the epoch's examples of the cost (e.g. 1/2 ||a - y||^2), each taken in
        the forward pass of its mini-batch (the weights move during the epoch, as in the
        training loss frameworks report), plus L2's (lmbda / 2n) sum w^2 at the epoch's end.
    accuracy: fraction of the test set classified right after the epoch, None without one.
    validation_accuracy: the same on the validation set.
    seconds: wall time of the epoch's gradient steps (evaluation not included); for a
        stack of K networks, 1/K of the stack's time.
    eta: the learning rate of the epoch (it changes only with eta_schedule).
    stopped: on a member's last record, why it stopped before its last epoch ("" if not).
    """

    epoch: int
    cost: float
    accuracy: Optional[float]
    validation_accuracy: Optional[float]
    seconds: float
    eta: float = 0.0
    stopped: str = ""


@dataclass
class Member:
    """One network's training: settings, generator, and how far it has got (mutable).

    rng: shuffles the training set at the start of each epoch. eta: the learning rate.
    epochs: how many epochs to train in all. lmbda: L2 regularization (0: none).
    momentum: mu of momentum-based gradient descent (0: plain SGD).
    early_stopping: N > 0 stops after N epochs without a better validation accuracy
        (the book's no-improvement-in-N); 0 never stops early.
    eta_schedule: "none", or "halve": on no improvement in N epochs (early_stopping, else
        10), halve eta instead of stopping, and stop when it has dropped to eta/128.
    """

    rng: np.random.Generator = field(compare=False)  # generators compare by identity
    eta: float
    epochs: int
    lmbda: float = 0.0
    momentum: float = 0.0
    early_stopping: int = 0
    eta_schedule: str = "none"
    epoch: int = 0  # epochs done
    current_eta: Optional[float] = None  # eta now; None: eta
    best_validation: float = -1.0
    epochs_without_improvement: int = 0

    def state(self):
        """Everything needed to go on exactly from here, as builtin types (for a checkpoint)."""
        values = {key: getattr(self, key) for key in self.__dataclass_fields__ if key != "rng"}
        return {**values, "rng": _builtin(self.rng.bit_generator.state)}

    @classmethod
    def from_state(cls, state):
        """The Member that state() described, its generator where it was."""
        state = dict(state)
        rng_state = state.pop("rng")
        rng = np.random.Generator(getattr(np.random, rng_state["bit_generator"])())
        rng.bit_generator.state = rng_state
        return cls(rng=rng, **state)

    def __post_init__(self):
        if self.eta_schedule not in SCHEDULES:
            raise ValueError(f"eta_schedule must be one of {SCHEDULES}, got {self.eta_schedule!r}")
        if self.current_eta is None:
            self.current_eta = self.eta

    @property
    def watches_validation(self):
        return self.early_stopping > 0 or self.eta_schedule != "none"

    def after_epoch(self, validation_accuracy):
        """Count the epoch and apply early stopping and the schedule; why it stops, or ""."""
        self.epoch += 1
        if validation_accuracy is not None:
            if validation_accuracy > self.best_validation:
                self.best_validation, self.epochs_without_improvement = validation_accuracy, 0
            else:
                self.epochs_without_improvement += 1
        if self.watches_validation:
            patience = self.early_stopping or HALVE_PATIENCE
            if self.epochs_without_improvement >= patience:
                if self.eta_schedule == "none":
                    return (f"no better validation accuracy in {patience} "
                            f"epoch{'s' * (patience != 1)}")
                self.current_eta /= 2
                self.epochs_without_improvement = 0
                if self.current_eta <= self.eta / 2 ** HALVINGS:
                    return f"eta halved {HALVINGS} times, to eta/{2 ** HALVINGS}"
        return ""


def _builtin(value):
    """A generator's state with its NumPy arrays and scalars as lists and numbers (MT19937,
    Philox and SFC64 keep arrays in theirs; PCG64's is builtin already)."""
    if isinstance(value, dict):
        return {key: _builtin(item) for key, item in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


def one_hot(labels, n_classes, dtype):
    """Desired output vectors for integer labels. labels: (n,) -> (n, n_classes)."""
    Y = np.zeros((len(labels), n_classes), dtype=dtype)
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def with_ones_column(X, dtype):
    """X with a last column of ones, the input the biases multiply. (n, n_0) -> (n, n_0 + 1)

    Made once per training run, so that every mini-batch arrives with its ones column
    (see Network.update_mini_batch) instead of being copied into a buffer that has one.
    """
    Xa = np.empty((len(X), X.shape[1] + 1), dtype=dtype)
    Xa[:, :-1] = X
    Xa[:, -1] = 1.0
    return Xa


class Trainer:
    """Mini-batch SGD of a Network of leading shape () (one member) or (K,) (K members).

    training_data, test_data, validation_data: (X, labels) with X (n, sizes[0]) and labels
    (n,) integers. The last mini-batch of an epoch holds what is left (n mod
    mini_batch_size examples) and is stepped with its own size. A mini_batch_size of n or
    more is full-batch gradient descent: one step per epoch on the whole training set, in
    its own order (a sum does not depend on the order), so nothing is shuffled or copied.
    `networks[i]` is member i's trained network once it has left the stack; with
    keep_best, `best_networks[i]` is a copy of it after its best epoch by validation
    accuracy so far (never by test accuracy: choosing on the test set would leak it).
    Members may differ in momentum, but not some with momentum 0 and some without: with
    L2 the two updates round otherwise (w (1 - eta lmbda / n) + nabla against w + v), and a
    stack has velocities for all its members or for none.
    """

    def __init__(self, network, members, training_data, mini_batch_size, test_data=None,
                 validation_data=None, keep_best=False):
        self.members = list(members)
        if len(self.members) != (network.lead[0] if network.lead else 1):
            raise ValueError(f"{len(self.members)} members for a network of leading shape "
                             f"{network.lead}")
        if len({member.momentum == 0 for member in self.members}) > 1:
            raise ValueError("members with momentum 0 and members with momentum cannot be "
                             "trained in one stack")
        self.network = network
        self.X = with_ones_column(training_data[0], network.dtype)  # (n, n_0 + 1)
        self.Y = one_hot(training_data[1], network.sizes[-1], network.dtype)  # (n, n_L)
        self.n = len(self.X)
        self.mini_batch_size = mini_batch_size
        self.test_data = _in_dtype(network, test_data)  # converted once, not every epoch
        self.validation_data = _in_dtype(network, validation_data)
        if self.validation_data is None and any(m.watches_validation for m in self.members):
            raise ValueError("early stopping and eta schedules need validation data")
        self.keep_best = keep_best
        self.best_networks = {}
        self.active = list(range(len(self.members)))
        self.networks = {}  # member index -> its trained Network, once it has left
        done = [p for p, member in enumerate(self.members) if member.epoch >= member.epochs]
        for p in done:  # resumed after its last epoch: nothing left to train
            self.networks[p] = network.member(p) if network.lead else network
        self._leave(done)

    def run_epoch(self):
        """Train every active member for one epoch: [(member index, EpochRecord or DivergedError)].

        Members that diverged, stopped early or did their last epoch leave the stack.
        """
        network, members = self.network, [self.members[i] for i in self.active]
        eta, lmbda, momentum = (_per_member([getattr(m, key) for m in members], network.lead)
                                for key in ("current_eta", "lmbda", "momentum"))
        start = time.perf_counter()
        costs = self._steps(members, eta, lmbda, momentum) / self.n
        seconds = (time.perf_counter() - start) / len(members)
        with np.errstate(all="ignore"):  # a diverged member is told by `finite`, not warnings
            if isinstance(lmbda, np.ndarray) or lmbda != 0:  # the book's total_cost adds it
                squares = np.asarray(network.squared_weights(), dtype=np.float64)
                # not to members without L2: alone they add nothing (0 * inf would be NaN)
                costs = costs + np.where(lmbda != 0, lmbda / (2 * self.n) * squares, 0.0)
            finite = np.isfinite(costs) & network.parameters_finite()
            accuracies = _accuracies(network, self.test_data, len(members))
            validations = _accuracies(network, self.validation_data, len(members))
        outcomes, leaving = [], []
        for position, (index, member) in enumerate(zip(self.active, members)):
            cost = float(np.reshape(costs, -1)[position])
            if not np.reshape(finite, -1)[position]:
                what = "the training cost" if not math.isfinite(cost) else "a weight or bias"
                outcomes.append((index, DivergedError(member.epoch + 1, what)))
                leaving.append(position)
                continue
            used_eta = member.current_eta
            if self.keep_best and validations[position] is not None and \
                    validations[position] > member.best_validation:
                self.best_networks[index] = self._copy(position)
            stopped = member.after_epoch(validations[position])
            outcomes.append((index, EpochRecord(member.epoch, cost, accuracies[position],
                                                validations[position], seconds, used_eta,
                                                stopped)))
            if stopped or member.epoch >= member.epochs:
                self.networks[index] = network.member(position) if network.lead else network
                leaving.append(position)
        self._leave(leaving)
        return outcomes

    def snapshot(self, index):
        """(a copy of member `index`'s network, velocities included; its Member.state()), of
        an active member, between epochs: all that a checkpoint needs to go on from here."""
        position = self.active.index(index)
        return self._copy(position), self.members[index].state()

    def _copy(self, position):
        network = self.network
        return network.member(position) if network.lead else network.copy()

    def _steps(self, members, eta, lmbda, momentum):
        """One epoch of gradient steps for all members at once; their summed costs (lead...)."""
        network, X, Y, n = self.network, self.X, self.Y, self.n
        m = self.mini_batch_size
        # A diverging run overflows; it is told by the checks after the epoch, not by warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if m >= n:
                return _no_costs(network) + network.update_mini_batch(X, Y, eta, lmbda, n,
                                                                      momentum)
            # shuffle indices, not data: one permutation per member, (lead..., n)
            if not network.lead:
                return self._epoch(network, members[0].rng.permutation(n), eta, lmbda,
                                   momentum)
            orders = np.stack([member.rng.permutation(n) for member in members])  # (K, n)
            shared, which = _distinct(orders)
            if shared is None:  # every member's rows its own
                return self._epoch(network, orders, eta, lmbda, momentum)
            leads = _broadcast_leads(which)
            if leads is None:  # a distinct order's rows read once, then copied to its members
                return self._epoch(network, shared, eta, lmbda, momentum, which)
            # members that share an order lie along one axis of `lead`: their mini-batch
            # is read once and broadcast to them by matmul, not copied
            lead, shared_lead = leads
            if isinstance(momentum, np.ndarray) or momentum:
                network.start_velocities()  # here, for the reshaped network's steps to share
            grouped = network.reshaped(lead)  # anew each epoch: members may have left
            as_lead = [value.reshape(lead) if isinstance(value, np.ndarray) else value
                       for value in (eta, lmbda, momentum)]
            cost_sum = self._epoch(grouped, shared.reshape(shared_lead + (n,)), *as_lead)
            return cost_sum.reshape(network.lead)

    def _epoch(self, network, orders, eta, lmbda, momentum, which=None):
        """The steps of one epoch; the members' summed costs (lead...).

        orders: (lead..., n), each member's order of the training set, or orders that
        broadcast to it ((U, 1, n) for a lead (U, r): r members take the same rows); or,
        with which (lead...), the distinct orders, (U, n), and the one each member takes.
        """
        X, Y, n, m = self.X, self.Y, self.n, self.mini_batch_size
        update_mini_batch = network.update_mini_batch  # looked up once, not 5,000 times
        cost_sum = _no_costs(network)
        for k in range(0, n, m):
            batch = orders[..., k:k + m]  # (..., m)
            # X.take(batch, axis=0) is X[batch], ~1.5 us faster per step: fancy indexing
            # has more per-call machinery, and a step is only ~35 us
            inputs, desired = X.take(batch, axis=0), Y.take(batch, axis=0)  # (..., m, n_0 + 1)
            if which is not None:  # copied to each member: (lead..., m, n_0 + 1)
                inputs, desired = inputs.take(which, axis=0), desired.take(which, axis=0)
            cost_sum += update_mini_batch(inputs, desired, eta, lmbda, n, momentum)
        return cost_sum

    def _leave(self, positions):
        """Take the members at these stack positions out of the stack (and out of `active`)."""
        if not positions:
            return
        staying = [p for p in range(len(self.active)) if p not in positions]
        if self.network.lead and staying:
            self.network.select(staying)
        self.active = [self.active[p] for p in staying]


def SGD(network, training_data, epochs, mini_batch_size, eta, rng, test_data=None,
        validation_data=None, lmbda=0.0, momentum=0.0, early_stopping=0, eta_schedule="none"):
    """Train one `network` in place with mini-batch SGD, yielding an EpochRecord per epoch.

    rng: the np.random.Generator that shuffles the training set at the start of every
    epoch. lmbda, momentum, early_stopping, eta_schedule: as in Member. Ends early when
    early stopping says so (the last record says why). Raises DivergedError when the cost
    or a parameter stops being finite.
    """
    member = Member(rng, eta, epochs, lmbda, momentum, early_stopping, eta_schedule)
    trainer = Trainer(network, [member], training_data, mini_batch_size, test_data,
                      validation_data)
    while trainer.active:
        for _, outcome in trainer.run_epoch():
            if isinstance(outcome, DivergedError):
                raise outcome
            yield outcome


def _distinct(orders):
    """(the distinct rows of orders (K, n), (U, n); each row's index among them, (K,)), or
    (None, None) when every row differs.

    Members that start an epoch with generators in the same state (trials of one seed that
    differ in eta or lmbda) shuffle alike. Their mini-batches' rows are then read from the
    training set once a step and copied to each, or broadcast to them (_broadcast_leads): a
    random row of a set that does not fit in the cache costs a trip to memory, the copy of a
    row just read does not (a stack of 8 seeds x 2 etas, [784, 30, 10]: 67 us of gathers a
    step -> ~45 with the copies, ~34 without).
    """
    distinct, which = [], []
    for order in orders:
        for index, seen in enumerate(distinct):
            if seen[0] == order[0] and np.array_equal(seen, order):
                which.append(index)
                break
        else:
            which.append(len(distinct))
            distinct.append(order)
    if len(distinct) == len(orders):
        return None, None
    return np.stack(distinct), np.array(which)


def _broadcast_leads(which):
    """(lead, shared lead) when the members that share an order (which: (K,), each member's
    index among the U distinct orders) lie along one axis of a leading shape: lead (U, r)
    and shared lead (U, 1) when they are neighbours (which = 0, 0, 1, 1, ...), lead (r, U)
    and shared lead (1, U) when they repeat (which = 0, 1, ..., 0, 1, ...), as trials of
    seeds x etas come; else None.
    """
    distinct = int(which.max()) + 1
    repeats, rest = divmod(len(which), distinct)
    if rest:
        return None
    if np.array_equal(which, np.repeat(np.arange(distinct), repeats)):
        return (distinct, repeats), (distinct, 1)
    if np.array_equal(which, np.tile(np.arange(distinct), repeats)):
        return (repeats, distinct), (1, distinct)
    return None


def _no_costs(network):
    """Zero summed costs, float64, of the leading shape: for one network a scalar (+= on a
    0-d array is a ufunc call, once a step)."""
    return np.zeros(network.lead) if network.lead else np.float64(0.0)


def _per_member(values, lead):
    """A number when every member has the same value (or there is one member), else a
    float64 array of the leading shape."""
    if all(value == values[0] for value in values):
        return values[0]
    return np.array(values, dtype=np.float64).reshape(lead)


def _in_dtype(network, data):
    """(X in the network's dtype, labels), or None when there is nothing to evaluate."""
    if data is None or len(data[0]) == 0:
        return None
    return np.asarray(data[0], dtype=network.dtype), data[1]


def _accuracies(network, data, count):
    """Each member's fraction classified right, as a list of `count` floats (None: no data)."""
    if data is None:
        return [None] * count
    correct = np.reshape(network.evaluate(*data), -1)
    return [int(c) / len(data[0]) for c in correct]
