"""Peer "numpy-<dtype>": our nn.Network trained by nn.SGD, as `sweep` trains it; not the floor (floor.py)."""

import numpy as np

from experiments.peers import PeerResult
from nn import SGD, Network


def run(config, problem, name, dtype):
    """Train nn.Network as `sweep` does (seeded Network, then SGD on the same generator)."""
    rng = np.random.default_rng(config.seed)
    net = Network(config.sizes, rng, dtype=dtype)
    records = list(SGD(net, (problem.X_train, problem.labels_train), config.epochs,
                       config.mini_batch_size, config.eta, rng))
    accuracy = net.evaluate(problem.X_test.astype(net.dtype), problem.labels_test) / len(problem.X_test)
    return PeerResult(name=name, dtype=dtype, epoch_seconds=tuple(r.seconds for r in records),
                      accuracy=accuracy, note="nn.Network + nn.SGD (bias folded into [w | b])")
