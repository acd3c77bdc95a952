"""Peers "jax-jit" and "jax-scan": JAX, its SGD step jit-compiled, or a whole epoch under lax.scan; not ours.

"jax-jit" dispatches one compiled step per mini-batch from Python (as nn.SGD does);
"jax-scan" compiles the epoch's loop too (jax.lax.scan over the shuffled batches), so
Python is out of the loop and XLA sees the whole epoch. Both keep the training set on
the device and gather each batch inside the compiled step. Compilation is done ahead of
time (jit(...).lower(...).compile()) and reported in the note, not in the epoch times.
The same network, cost and update as nn.Network; the same start and shuffles.
"""

import os
import sys
import time

import numpy as np

from experiments.bench.peers import PeerResult, accuracy, one_hot, require, starting_point


def xla_flags(threads):
    """The XLA_FLAGS that pin XLA's CPU backend to `threads` threads."""
    multi = "true" if threads > 1 else "false"
    return f"--xla_cpu_multi_thread_eigen={multi} intra_op_parallelism_threads={threads}"


def set_xla_flags(threads):
    """Put the flags in the environment; XLA reads them once, when jax is first imported."""
    if "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = xla_flags(threads)


def run(config, problem, name, scan):
    set_xla_flags(config.threads)
    jax = require("jax")
    weights, biases, rng = starting_point(config, "float32")
    params = tuple((jax.numpy.asarray(w), jax.numpy.asarray(b)) for w, b in zip(weights, biases))
    X = jax.numpy.asarray(problem.X_train)  # (n, n_0), on the device once
    Y = jax.numpy.asarray(one_hot(problem.labels_train, config.sizes[-1], "float32"))  # (n, n_L)
    n, m = len(problem.X_train), config.mini_batch_size
    step, epoch = _compiled_functions(jax, config.eta)
    start = time.perf_counter()
    compiled = {}  # what to compile: the full batches and, if n % m, the last one
    for size in {m, n % m} - {0}:
        compiled[size] = step.lower(params, X, Y, np.zeros(size, np.int32)).compile()
    if scan:
        compiled["epoch"] = epoch.lower(params, X, Y, np.zeros((n // m, m), np.int32)).compile()
    compile_seconds = time.perf_counter() - start
    seconds = []
    for _ in range(config.epochs):
        start = time.perf_counter()
        order = rng.permutation(n).astype(np.int32)  # same shuffles as nn.SGD
        costs = []
        if scan:
            params, epoch_costs = compiled["epoch"](params, X, Y, order[:n // m * m].reshape(-1, m))
            costs.append(epoch_costs.sum())
            first_left = n // m * m
        else:
            first_left = 0
        for k in range(first_left, n, m):
            batch = order[k:k + m]
            params, cost = compiled[len(batch)](params, X, Y, batch)
            costs.append(cost)
        float(sum(costs))  # waits for the device, as nn.SGD has its costs by now
        jax.block_until_ready(params)
        seconds.append(time.perf_counter() - start)
    weights = [np.asarray(w) for w, _ in params]
    biases = [np.asarray(b) for _, b in params]
    return PeerResult(name=name, dtype="float32", epoch_seconds=tuple(seconds),
                      accuracy=accuracy(weights, biases, problem.X_test, problem.labels_test),
                      note=f"jax {jax.__version__}, compiled in {compile_seconds:.1f} s")


def _compiled_functions(jax, eta):
    jnp = jax.numpy

    def cost(params, x, y):  # x: (m, n_0), y: (m, n_L) -> summed quadratic cost
        a = x
        for w, b in params:
            a = jax.nn.sigmoid(a @ w.T + b)  # (m, n_out)
        return 0.5 * jnp.sum((a - y) ** 2)

    def step(params, X, Y, batch):  # batch: (m,) indices into X and Y
        c, nabla = jax.value_and_grad(cost)(params, X[batch], Y[batch])
        scale = eta / batch.shape[0]  # w <- w - (eta / m) * sum of per-example gradients
        return jax.tree_util.tree_map(lambda p, g: p - scale * g, params, nabla), c

    def epoch(params, X, Y, batches):  # batches: (steps, m)
        return jax.lax.scan(lambda p, batch: step(p, X, Y, batch), params, batches)

    return jax.jit(step), jax.jit(epoch)
