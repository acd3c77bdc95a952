"""Tests of nn.training.SGD: records, shuffling, last mini-batch, divergence, determinism, learning."""

import json

import numpy as np
import pytest

from experiments.data.datasets import load_dataset
from nn import SGD, DivergedError, Member, Network, Trainer


def toy_data(n=23, seed=0):
    """A separable two-class problem: the label is whether x0 > x1."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    return X, (X[:, 0] > X[:, 1]).astype(np.int64)


def test_records_one_per_epoch_with_costs_and_accuracies():
    data = toy_data()
    net = Network([2, 3, 2], 0, dtype="float64")
    records = list(SGD(net, data, 4, 5, 1.0, np.random.default_rng(0),
                       test_data=data, validation_data=data))
    assert [r.epoch for r in records] == [1, 2, 3, 4]
    for r in records:
        assert r.cost > 0 and 0 <= r.accuracy <= 1 and r.seconds >= 0
        assert r.validation_accuracy == r.accuracy  # same data, same network


def test_without_test_data_accuracy_is_none():
    net = Network([2, 2], 0)
    (record,) = SGD(net, toy_data(), 1, 4, 1.0, np.random.default_rng(0))
    assert record.accuracy is None and record.validation_accuracy is None


def test_last_mini_batch_is_smaller_and_stepped_with_its_own_size(monkeypatch):
    sizes = []
    net = Network([2, 2], 0)
    original = net.update_mini_batch

    def spy(X, Y, eta, *rest):
        sizes.append(len(X))
        return original(X, Y, eta, *rest)

    monkeypatch.setattr(net, "update_mini_batch", spy)
    list(SGD(net, toy_data(23), 2, 10, 1.0, np.random.default_rng(0)))
    assert sizes == [10, 10, 3, 10, 10, 3]


def test_every_example_is_used_once_per_epoch_in_a_new_order(monkeypatch):
    X = np.arange(12, dtype=np.float64).reshape(12, 1)
    labels = np.zeros(12, dtype=np.int64)
    seen = []
    net = Network([1, 2], 0, dtype="float64")
    monkeypatch.setattr(net, "update_mini_batch", lambda Xb, Yb, eta, *rest: seen.extend(Xb[:, 0]) or 0.0)
    list(SGD(net, (X, labels), 2, 5, 1.0, np.random.default_rng(0)))
    first, second = seen[:12], seen[12:]
    assert sorted(first) == sorted(second) == list(range(12))
    assert first != second


def test_divergence_is_reported_not_silently_continued():
    net = Network([2, 2], 0, dtype="float64")
    net.weights[0][0, 0] = np.nan
    with pytest.raises(DivergedError, match="diverged at epoch 1"):
        list(SGD(net, toy_data(), 3, 5, 1.0, np.random.default_rng(0)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_gives_bit_identical_runs(dtype):
    def run():
        rng = np.random.default_rng(42)
        net = Network([2, 5, 2], rng, dtype=dtype)
        records = [(r.cost, r.accuracy) for r in SGD(net, toy_data(50), 3, 7, 2.0, rng,
                                                     test_data=toy_data(20, seed=1))]
        return records, [w.tobytes() for w in net.weights] + [b.tobytes() for b in net.biases]

    assert run() == run()


def test_learns_a_real_mnist_slice(mnist_dir):
    """A quick end-to-end check on real data: 10,000 images, 5 epochs (~0.3 s), far above chance.

    Seeds 0-3 reach 89.5-89.7% here; 85% leaves room for BLAS differences between machines.
    """
    data = load_dataset("mnist", mnist_dir, train_size=10_000)
    rng = np.random.default_rng(0)
    net = Network([784, 30, 10], rng)
    records = list(SGD(net, data.training, 5, 10, 3.0, rng, test_data=data.test))
    assert records[-1].accuracy > 0.85
    assert records[-1].cost < records[0].cost


def test_a_diverging_run_raises_without_numpy_warnings():
    import warnings

    net = Network([2, 3, 2], 0, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail the test
        with pytest.raises(DivergedError, match="diverged at epoch 1: the training cost"):
            list(SGD(net, toy_data(), 3, 5, 1e300, np.random.default_rng(0)))


class ScriptedNetwork(Network):
    """A network whose validation accuracy after each epoch follows a script, to test the
    rules that watch it; training itself is real (and irrelevant)."""

    def __init__(self, script):
        super().__init__([2, 2], 0, dtype="float64")
        self.script = list(script)
        self.calls = 0

    def evaluate(self, X, labels):
        self.calls += 1
        return round(self.script[(self.calls - 1) // 2] * len(X))  # test, then validation


def scripted_run(script, **options):
    data = toy_data(10)
    net = ScriptedNetwork(script)
    return list(SGD(net, data, len(script), 5, 1.0, np.random.default_rng(0), test_data=data,
                    validation_data=data, **options))


def test_early_stopping_stops_after_n_epochs_without_a_better_validation_accuracy():
    records = scripted_run([0.5, 0.6, 0.6, 0.7, 0.7, 0.6, 0.6, 0.9, 0.9], early_stopping=3)
    assert [r.epoch for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.stopped for r in records] == [""] * 6 + ["no better validation accuracy in 3 epochs"]


def test_without_early_stopping_every_epoch_runs():
    records = scripted_run([0.5, 0.4, 0.3, 0.2, 0.1])
    assert len(records) == 5 and records[-1].stopped == ""


def test_the_halve_schedule_halves_eta_and_stops_at_eta_over_128():
    """Patience 1: every epoch without improvement halves eta; the 7th halving ends it."""
    records = scripted_run([0.5, 0.6] + [0.6] * 10, early_stopping=1, eta_schedule="halve")
    assert [r.eta for r in records] == [1.0, 1.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125,
                                        0.015625]
    assert records[-1].stopped == "eta halved 7 times, to eta/128"


def test_the_halve_schedule_waits_ten_epochs_without_early_stopping():
    records = scripted_run([0.5] * 13, eta_schedule="halve")
    assert [r.eta for r in records] == [1.0] * 11 + [0.5] * 2


def test_rules_that_watch_validation_accuracy_need_validation_data():
    with pytest.raises(ValueError, match="validation data"):
        list(SGD(Network([2, 2], 0), toy_data(), 2, 5, 1.0, np.random.default_rng(0),
                 early_stopping=2))


def test_full_batch_is_one_step_per_epoch_on_every_example_in_order(monkeypatch):
    X = np.arange(12, dtype=np.float64).reshape(12, 1)
    seen = []
    net = Network([1, 2], 0, dtype="float64")
    monkeypatch.setattr(net, "update_mini_batch",
                        lambda Xb, Yb, eta, *rest: seen.append(list(Xb[:, 0])) or 0.0)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    list(SGD(net, (X, np.zeros(12, dtype=np.int64)), 2, 12, 1.0, rng))
    assert seen == [list(range(12))] * 2
    assert rng.bit_generator.state == state  # nothing drawn: no shuffle needed


def test_the_l2_term_is_in_the_epoch_cost():
    data = toy_data(20)
    runs = {}
    for lmbda in (0.0, 4.0):
        rng = np.random.default_rng(0)
        net = Network([2, 3, 2], rng, dtype="float64")
        (record,) = SGD(net, data, 1, 20, 1e-12, rng, lmbda=lmbda)  # eta ~ 0: weights stay
        runs[lmbda] = record.cost, sum(float((w ** 2).sum()) for w in net.weights)
    (plain, _), (regularized, squares) = runs[0.0], runs[4.0]
    assert regularized == pytest.approx(plain + 4.0 / (2 * 20) * squares, rel=1e-9)


@pytest.mark.parametrize("momentum, schedule", [(0.0, "none"), (0.9, "halve")])
def test_a_run_resumed_from_a_snapshot_ends_bit_identical(momentum, schedule):
    """Stop after 2 of 6 epochs, keep only what snapshot() gives (as a checkpoint would),
    rebuild the trainer from it, and go on: the same records and weights as straight through."""
    data, test = toy_data(40), toy_data(20, seed=1)
    options = {"lmbda": 0.5, "momentum": momentum, "early_stopping": 1, "eta_schedule": schedule}

    def fresh():
        rng = np.random.default_rng(3)
        net = Network([2, 4, 2], rng, dtype="float64", cost="cross_entropy")
        return Trainer(net, [Member(rng, 2.0, 6, **options)], data, 7, test, test, keep_best=True)

    straight = fresh()
    straight_records = [straight.run_epoch()[0][1] for _ in range(6) if straight.active]
    first = fresh()
    records = [first.run_epoch()[0][1] for _ in range(2)]
    network, state = first.snapshot(0)
    state = json.loads(json.dumps(state))  # what a checkpoint file keeps: builtin types
    resumed = Trainer(network, [Member.from_state(state)], data, 7, test, test)
    while resumed.active:
        records.append(resumed.run_epoch()[0][1])
    assert [(r.epoch, r.cost, r.accuracy, r.eta) for r in records] == \
        [(r.epoch, r.cost, r.accuracy, r.eta) for r in straight_records]
    for a, b in zip(resumed.networks[0]._wb, straight.networks[0]._wb):
        assert a.tobytes() == b.tobytes()
    best = straight.best_networks[0]
    assert best is not straight.networks[0]  # a copy, kept at its best epoch


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937,
                                           np.random.Philox, np.random.SFC64])
def test_member_state_is_builtin_types_and_round_trips(bit_generator):
    member = Member(np.random.Generator(bit_generator(5)), 3.0, 30, lmbda=5.0,
                    early_stopping=10)
    member.rng.permutation(100)
    state = member.state()
    assert json.loads(json.dumps(state)) == state  # MT19937's key is an array until made a list
    again = Member.from_state(state)
    assert again == member and again.rng.permutation(50).tolist() == member.rng.permutation(50).tolist()
