"""Tests of stacked training (nn.training.Trainer over a Network of leading shape (K,)):
every member gets exactly the numbers it would get alone."""

import itertools

import numpy as np
import pytest

import nn.network as network_module
from nn import SGD, DivergedError, Member, Network, Trainer
from nn.training import _broadcast_leads, _distinct

SIZES = [20, 8, 6, 4]


def problem(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]))
    labels = (X[:, :4].argmax(axis=1)).astype(np.int64)  # learnable: the brightest of 4 pixels
    return X, labels


def alone(seed, eta, lmbda=0.0, epochs=3, dtype="float64", batch=7, **settings):
    """(records, network) of one network trained by itself with SGD."""
    data, test = problem(), problem(30, seed=1)
    momentum = settings.pop("momentum", 0.0)
    early_stopping = settings.pop("early_stopping", 0)
    rng = np.random.default_rng(seed)
    net = Network(SIZES, rng, dtype=dtype, **settings)
    try:
        records = list(SGD(net, data, epochs, batch, eta, rng, test_data=test, validation_data=test,
                           lmbda=lmbda, momentum=momentum, early_stopping=early_stopping))
    except DivergedError as error:
        return error, None
    return records, net


def together(specs, epochs=3, dtype="float64", batch=7, **settings):
    """{member index: (records or DivergedError, network)} of the specs trained as one stack."""
    data, test = problem(), problem(30, seed=1)
    momentum = settings.pop("momentum", 0.0)
    early_stopping = settings.pop("early_stopping", 0)
    members, networks = [], []
    for seed, eta, lmbda in specs:
        rng = np.random.default_rng(seed)
        networks.append(Network(SIZES, rng, dtype=dtype, **settings))
        members.append(Member(rng, eta, epochs, lmbda=lmbda, momentum=momentum,
                              early_stopping=early_stopping))
    trainer = Trainer(Network.stack(networks), members, data, batch, test, test)
    outcomes = {index: [] for index in range(len(specs))}
    while trainer.active:
        for index, outcome in trainer.run_epoch():
            if isinstance(outcome, DivergedError):
                outcomes[index] = outcome
            else:
                outcomes[index].append(outcome)
    return {index: (outcomes[index], trainer.networks.get(index)) for index in outcomes}


def assert_same_run(stacked, single):
    (records, net), (records_alone, net_alone) = stacked, single
    if isinstance(records_alone, DivergedError):
        assert isinstance(records, DivergedError) and str(records) == str(records_alone)
        return
    strip = [(r.epoch, r.cost, r.accuracy, r.validation_accuracy, r.eta, r.stopped) for r in records]
    assert strip == [(r.epoch, r.cost, r.accuracy, r.validation_accuracy, r.eta, r.stopped)
                     for r in records_alone]
    for w, w_alone in zip(net._wb, net_alone._wb):
        assert w.tobytes() == w_alone.tobytes()


SPECS = [(0, 3.0, 0.0), (1, 3.0, 0.0), (2, 0.5, 0.0), (3, 1.5, 2.0), (4, 0.7, 0.5)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation, cost", [("sigmoid", "quadratic"),
                                              ("tanh", "cross_entropy"),
                                              ("relu", "log_likelihood")])
def test_each_member_is_bit_identical_to_training_it_alone(dtype, activation, cost):
    settings = {"activation": activation, "cost": cost, "init": "scaled"}
    stacked = together(SPECS, dtype=dtype, **settings)
    for index, (seed, eta, lmbda) in enumerate(SPECS):
        assert_same_run(stacked[index], alone(seed, eta, lmbda, dtype=dtype, **settings))


# trials of one seed that differ in eta, lmbda: their generators shuffle alike, and the step
# reads their mini-batches' rows once (nn.training._distinct)
SHARED_SEEDS = [(0, 3.0, 0.0), (1, 3.0, 0.0), (0, 0.5, 0.0), (1, 0.5, 2.0), (2, 0.7, 0.0),
                (0, 1.5, 0.5)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_members_of_one_seed_share_their_rows_and_each_is_as_alone(dtype):
    stacked = together(SHARED_SEEDS, dtype=dtype, momentum=0.5)
    for index, (seed, eta, lmbda) in enumerate(SHARED_SEEDS):
        assert_same_run(stacked[index], alone(seed, eta, lmbda, dtype=dtype, momentum=0.5))


def test_a_member_of_a_shared_seed_that_diverges_leaves_its_twin_as_it_was():
    specs = [(0, 3.0, 0.0), (0, 1e300, 0.0), (1, 0.5, 0.0), (1, 2.0, 1.0)]
    stacked = together(specs, epochs=3, dtype="float32")
    assert isinstance(stacked[1][0], DivergedError)
    for index, spec in enumerate(specs):
        assert_same_run(stacked[index], alone(*spec, dtype="float32"))


def test_distinct_orders_and_which_member_has_which():
    a, b, c = np.arange(6), np.arange(6)[::-1], np.array([1, 0, 2, 3, 4, 5])
    distinct, which = _distinct(np.stack([a, b, a.copy(), c, b.copy()]))
    assert distinct.tolist() == [a.tolist(), b.tolist(), c.tolist()]
    assert which.tolist() == [0, 1, 0, 2, 1]
    assert _distinct(np.stack([a, b, c])) == (None, None)  # all differ: gathered as they are


# seeds x etas, as a sweep's grid lists them: one seed's members repeat every 3 (tile), or
# lie side by side (repeat); a step then reads each seed's rows once and matmul broadcasts
# them to its members, through a view of the stack of leading shape (2, 3) or (3, 2)
SEEDS_BY_ETAS = {"tile": [(seed, eta, lmbda) for eta, lmbda in ((3.0, 0.0), (0.5, 1.0))
                          for seed in (0, 1, 2)],
                 "repeat": [(seed, eta, lmbda) for seed in (0, 1, 2)
                            for eta, lmbda in ((3.0, 0.0), (0.5, 1.0))]}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order, lead", [("tile", (2, 3)), ("repeat", (3, 2))])
@pytest.mark.parametrize("activation, cost", [("sigmoid", "quadratic"),
                                              ("tanh", "cross_entropy"),
                                              ("relu", "log_likelihood")])
def test_a_seed_s_rows_broadcast_to_its_members_each_as_alone(dtype, order, lead, activation,
                                                              cost, monkeypatch):
    views = []
    reshaped = Network.reshaped
    monkeypatch.setattr(Network, "reshaped",
                        lambda self, shape: views.append(shape) or reshaped(self, shape))
    specs = SEEDS_BY_ETAS[order]
    settings = {"activation": activation, "cost": cost, "momentum": 0.5}
    stacked = together(specs, dtype=dtype, **settings)
    assert views == [lead] * 3  # one view an epoch: the broadcast was taken
    for index, (seed, eta, lmbda) in enumerate(specs):
        assert_same_run(stacked[index], alone(seed, eta, lmbda, dtype=dtype, **settings))


def test_which_members_share_an_axis():
    def leads(which):
        return _broadcast_leads(np.array(which))

    assert leads([0, 1, 2, 0, 1, 2]) == ((2, 3), (1, 3))  # tile: a seed every 3 members
    assert leads([0, 0, 1, 1, 2, 2]) == ((3, 2), (3, 1))  # repeat: a seed's members together
    assert leads([0, 1, 0, 1]) == ((2, 2), (1, 2))  # as many seeds as etas: still told apart
    assert leads([0, 0, 1, 1]) == ((2, 2), (2, 1))
    assert leads([0, 1, 0, 2, 1]) is None  # 5 members of 3 orders: copied, not broadcast
    assert leads([0, 1, 1, 0]) is None
    assert leads([0, 0, 0, 1]) is None


def test_members_with_their_own_momentum_each_as_alone():
    data, test = problem(), problem(30, seed=1)
    specs = [(0, 3.0, 1.0, 0.9), (1, 0.5, 0.0, 0.5), (0, 1.5, 2.0, 0.2)]  # seed, eta, lmbda, mu
    members, networks = [], []
    for seed, eta, lmbda, mu in specs:
        rng = np.random.default_rng(seed)
        networks.append(Network(SIZES, rng, dtype="float64"))
        members.append(Member(rng, eta, 3, lmbda=lmbda, momentum=mu))
    trainer = Trainer(Network.stack(networks), members, data, 7, test, test)
    records = {index: [] for index in range(len(specs))}
    while trainer.active:
        for index, record in trainer.run_epoch():
            records[index].append(record)
    for index, (seed, eta, lmbda, mu) in enumerate(specs):
        assert_same_run((records[index], trainer.networks[index]),
                        alone(seed, eta, lmbda, momentum=mu))


def test_momentum_0_and_momentum_are_not_stacked():
    # with L2 a member without momentum would round otherwise than alone (and get velocities)
    members = [Member(np.random.default_rng(seed), 0.5, 1, lmbda=1.0, momentum=mu)
               for seed, mu in ((0, 0.9), (1, 0.0))]
    networks = Network.stack([Network(SIZES, seed) for seed in (0, 1)])
    with pytest.raises(ValueError, match="^members with momentum 0 and members with momentum "
                                         "cannot be trained in one stack$"):
        Trainer(networks, members, problem(), 7)


def test_with_momentum_and_a_last_smaller_batch():
    stacked = together(SPECS, momentum=0.9, batch=11, cost="cross_entropy")
    for index, (seed, eta, lmbda) in enumerate(SPECS):
        assert_same_run(stacked[index], alone(seed, eta, lmbda, momentum=0.9, batch=11,
                                              cost="cross_entropy"))


def test_full_batch_members_share_the_training_set():
    stacked = together(SPECS[:3], batch=1000)
    for index, (seed, eta, lmbda) in enumerate(SPECS[:3]):
        assert_same_run(stacked[index], alone(seed, eta, lmbda, batch=1000))


def test_a_member_that_diverges_leaves_and_the_others_go_on():
    specs = [(0, 3.0, 0.0), (1, 1e300, 0.0), (2, 0.5, 0.0)]  # 1e300 is inf in float32
    stacked = together(specs, epochs=3, dtype="float32")
    assert isinstance(stacked[1][0], DivergedError) and stacked[1][1] is None
    for index in (0, 2):
        assert len(stacked[index][0]) == 3
    for index, spec in enumerate(specs):
        assert_same_run(stacked[index], alone(*spec, dtype="float32"))


def test_a_member_without_l2_is_not_charged_for_a_neighbour_s_l2():
    # its weights grow past float64's square (sum w^2 = inf): alone it adds no L2 term and
    # goes on; beside a member with L2 it must too (0 * inf would make its cost NaN)
    rng = np.random.default_rng(0)
    X = rng.random((5, 12))
    data, validation = (X, X[:, :2].argmax(axis=1)), problem(7, seed=2)
    validation = (validation[0][:, :12], validation[1] % 2)
    settings = {"activation": "relu", "init": "scaled"}
    members, networks, alone_runs = [], [], []
    for seed, eta, lmbda in ((0, 1e200, 0.0), (1, 0.5, 1.0)):
        rng = np.random.default_rng(seed)
        networks.append(Network([12, 2], rng, dtype="float64", **settings))
        members.append(Member(rng, eta, 2, lmbda=lmbda))
        rng = np.random.default_rng(seed)
        net = Network([12, 2], rng, dtype="float64", **settings)
        alone_runs.append((list(SGD(net, data, 2, 1, eta, rng, validation_data=validation,
                                    lmbda=lmbda)), net))
    trainer = Trainer(Network.stack(networks), members, data, 1, None, validation)
    records = {0: [], 1: []}
    while trainer.active:
        for index, record in trainer.run_epoch():
            records[index].append(record)
    assert not any(isinstance(record, DivergedError) for record in records[0])
    for index in (0, 1):
        assert_same_run((records[index], trainer.networks[index]), alone_runs[index])


def test_a_member_that_stops_early_leaves_and_the_others_go_on():
    specs = [(seed, eta, 0.0) for seed, eta in itertools.product((0, 1), (0.05, 4.0))]
    stacked = together(specs, epochs=12, early_stopping=2)
    lengths = [len(stacked[i][0]) for i in range(4)]
    assert min(lengths) < 12  # someone stopped early, and so did it alone
    for index, (seed, eta, lmbda) in enumerate(specs):
        assert_same_run(stacked[index], alone(seed, eta, lmbda, epochs=12, early_stopping=2))


def test_stack_member_and_select_round_trip():
    networks = [Network(SIZES, seed, init="he") for seed in range(3)]
    stack = Network.stack(networks)
    assert stack.lead == (3,) and stack.weights[0].shape == (3, 8, 20)
    for k, network in enumerate(networks):
        assert all(np.array_equal(a, b) for a, b in zip(stack.member(k)._wb, network._wb))
    stack.select([2, 0])
    assert stack.lead == (2,)
    assert np.array_equal(stack.member(0).weights[1], networks[2].weights[1])
    with pytest.raises(ValueError, match="same sizes"):
        Network.stack([Network(SIZES, 0), Network(SIZES, 0, cost="cross_entropy")])


# (sizes, dtype, members, rows): the last three are shapes where OpenBLAS 0.3.31 rounds a
# member's columns of the side-by-side product otherwise than the member's own product
@pytest.mark.parametrize("sizes, cost, dtype, members, rows", [
    (SIZES, "quadratic", "float32", 4, 50), ([20, 4], "log_likelihood", "float32", 4, 50),
    ([784, 10], "quadratic", "float32", 2, 10), ([784, 30, 10], "quadratic", "float64", 8, 32),
    ([784, 100, 10], "cross_entropy", "float64", 3, 500)])
def test_a_stack_evaluates_every_member_on_shared_inputs_as_each_alone(sizes, cost, dtype,
                                                                      members, rows):
    networks = [Network(sizes, seed, cost=cost, dtype=dtype) for seed in range(members)]
    stack = Network.stack(networks)
    rng = np.random.default_rng(0)
    for _ in range(3):  # the first product of a shape made both ways, then the one chosen
        X = rng.random((rows, sizes[0])).astype(dtype)
        labels = rng.integers(0, sizes[-1], rows)
        assert list(stack.evaluate(X, labels)) == [n.evaluate(X, labels) for n in networks]
        outputs = stack.feedforward(X)
        for k, network in enumerate(networks):
            assert outputs[k].tobytes() == network.feedforward(X).tobytes()


@pytest.mark.parametrize("agrees", [True, False])
def test_the_side_by_side_product_is_used_where_it_agrees_and_decided_once_a_shape(agrees,
                                                                                 monkeypatch):
    decided, used = [], []
    monkeypatch.setattr(network_module, "_SIDE_BY_SIDE_AGREES", {})
    monkeypatch.setattr(network_module, "_side_by_side_agrees",
                        lambda m, w, dtype: decided.append((m, w.shape, dtype)) or agrees)
    side_by_side = network_module._side_by_side
    monkeypatch.setattr(network_module, "_side_by_side",
                        lambda a, w: used.append(a.shape) or side_by_side(a, w))
    stack = Network.stack([Network(SIZES, seed) for seed in range(3)])
    X = problem(9)[0].astype(np.float32)
    stack.feedforward(X)
    assert decided == [(9, (3, 8, 20), np.dtype(np.float32))] and used == [(9, 20)] * agrees
    stack.feedforward(X[:, ::2].repeat(2, axis=1).T.copy().T)  # not contiguous: each its own
    assert used == [(9, 20)] * agrees


def test_whether_it_agrees_is_decided_on_random_numbers_laid_out_as_the_weights(monkeypatch):
    agrees = {}
    monkeypatch.setattr(network_module, "_SIDE_BY_SIDE_AGREES", agrees)
    weights = Network.stack([Network([5, 4, 3], seed, "float64") for seed in range(3)]).weights[0]
    assert weights.strides[-2] == 6 * 8  # a view of [w | b]: rows n_in + 1 apart
    answer = network_module._side_by_side_agrees(6, weights, np.float64)
    rng = np.random.default_rng(0)
    a = rng.random((6, 5))
    w = np.zeros((3, 4, 6))[..., :-1]  # as the probe lays them out: every member the same
    w[...] = rng.standard_normal((4, 5))
    assert answer == (network_module._side_by_side(a, w).tobytes() ==
                      (a @ w.swapaxes(-1, -2)).tobytes())
    assert agrees == {(6, (3, 4, 5), weights.strides, "<f8"): answer}
    agrees[6, (3, 4, 5), weights.strides, "<f8"] = "kept"
    assert network_module._side_by_side_agrees(6, weights, np.float64) == "kept"



def test_a_reshaped_stack_is_the_same_members():
    networks = [Network(SIZES, seed) for seed in range(4)]
    stack = Network.stack(networks)
    grid = stack.reshaped((2, 2))
    X = problem(9)[0].astype(np.float32)
    assert grid.feedforward(X).tobytes() == stack.feedforward(X).tobytes()  # (2, 2, 9, 4)
    grid.weights[0][1, 0] += 1.0  # a view: member 2 of the stack changes with it
    assert np.array_equal(stack.weights[0][2], networks[2].weights[0] + 1.0)
