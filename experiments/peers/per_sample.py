"""Peer "per-sample-<dtype>": Nielsen's one-example-at-a-time algorithm (nn.per_sample); not ours."""

import numpy as np

from experiments.peers import PeerResult
from nn.per_sample import SGD, PerSampleNetwork


def run(config, problem, name, dtype):
    """Same seed, same starting parameters and same shuffles as the numpy peer."""
    rng = np.random.default_rng(config.seed)
    net = PerSampleNetwork(config.sizes, rng, dtype=dtype)
    records = list(SGD(net, (problem.X_train, problem.labels_train), config.epochs,
                       config.mini_batch_size, config.eta, rng))
    accuracy = net.evaluate(problem.X_test.astype(net.dtype), problem.labels_test) / len(problem.X_test)
    return PeerResult(name=name, dtype=dtype, epoch_seconds=tuple(r.seconds for r in records),
                      accuracy=accuracy, note="nn.per_sample: (n, 1) columns, loop over the batch")
