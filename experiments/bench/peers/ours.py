"""Peers "numpy-<dtype>" (nn.Network, ours) and "per-sample-<dtype>" (nn.per_sample, Nielsen's loop).

Both start from the same seeded parameters and shuffle with the same generator; not the floor
(floor.py).
"""

import numpy as np

import nn
import nn.per_sample
from experiments.bench.peers import PeerResult

# per_sample -> (network class, its SGD, the note printed beside the row)
IMPLEMENTATIONS = {
    False: (nn.Network, nn.SGD, "nn.Network + nn.SGD (bias folded into [w | b])"),
    True: (nn.per_sample.PerSampleNetwork, nn.per_sample.SGD,
           "nn.per_sample: (n, 1) columns, loop over the batch"),
}


def run(config, problem, name, dtype, per_sample=False):
    """Train as `sweep` does: a seeded network, then SGD on the same generator."""
    network_class, sgd, note = IMPLEMENTATIONS[per_sample]
    rng = np.random.default_rng(config.seed)
    net = network_class(config.sizes, rng, dtype=dtype)
    records = list(sgd(net, (problem.X_train, problem.labels_train), config.epochs,
                       config.mini_batch_size, config.eta, rng))
    accuracy = net.evaluate(problem.X_test.astype(net.dtype), problem.labels_test) / len(problem.X_test)
    return PeerResult(name=name, dtype=dtype, epoch_seconds=tuple(r.seconds for r in records),
                      accuracy=accuracy, note=note)
