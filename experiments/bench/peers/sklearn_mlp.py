"""Peer "sklearn": scikit-learn's MLPClassifier in its closest configuration to ours; not an exact match.

What is the same: sigmoid ('logistic') hidden units, plain SGD (momentum 0, constant
learning rate, no L2 penalty), mini-batches of config.mini_batch_size, and its update
w <- w - lr * mean of the per-example gradients, which is Nielsen's (eta / m) * sum.
What differs, because MLPClassifier has no way to change it: the output layer is softmax
with the log-loss (cross-entropy) cost instead of sigmoid with the quadratic cost; the
initial weights are scikit-learn's (Glorot uniform) and its shuffles come from its own
generator. With cross-entropy the output delta is a - y, without the quadratic cost's
sigma'(z) <= 1/4, so eta = 3.0 would be far too large: lr = 0.5 is the rate Nielsen uses
for the cross-entropy cost on this network (chapter 3).
One epoch is one partial_fit call; the first one also sets the network up.
"""

import time
import warnings

import numpy as np

from experiments.bench.peers import PeerResult, require

CROSS_ENTROPY_ETA = 0.5


def run(config, problem, name):
    require("sklearn")
    from sklearn.neural_network import MLPClassifier

    classifier = MLPClassifier(
        hidden_layer_sizes=tuple(config.sizes[1:-1]), activation="logistic", solver="sgd",
        batch_size=config.mini_batch_size, learning_rate="constant",
        learning_rate_init=CROSS_ENTROPY_ETA, momentum=0.0, nesterovs_momentum=False,
        alpha=0.0, shuffle=True, random_state=config.seed)
    classes = np.arange(config.sizes[-1])
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; one epoch per call is the point
        for _ in range(config.epochs):
            start = time.perf_counter()
            classifier.partial_fit(problem.X_train, problem.labels_train, classes=classes)
            seconds.append(time.perf_counter() - start)
    accuracy = float(classifier.score(problem.X_test, problem.labels_test))
    return PeerResult(name=name, dtype=str(classifier.coefs_[0].dtype), epoch_seconds=tuple(seconds),
                      accuracy=accuracy,
                      note=f"softmax + log-loss output, lr={CROSS_ENTROPY_ETA}, Glorot init")
