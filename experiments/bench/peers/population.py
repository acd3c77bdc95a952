"""Peers "numpy-stack-K" (K of our networks trained as one stack) and "jax-vmap-K" (JAX's vmap over
K networks, each epoch under lax.scan); not single networks (ours.py, jax_xla.py).

A sweep trains alike trials together (sweep/groups.py): K networks that differ in their seed
take every step at once. Their time is reported per network, the stack's epoch divided by
K, so it compares with a single network's. Member 0 has the benchmark's seed and its
shuffles, so its accuracy equals the single network's: the stack changes no result.
JAX's vmap of the same K networks is the honest peer of a stack: it batches the same
products, and XLA fuses the elementwise work that NumPy cannot.
"""

import time
from dataclasses import replace

import numpy as np

from experiments.bench.peers import PeerResult, accuracy, one_hot, require, starting_point
from experiments.bench.peers.jax_xla import _compiled_functions, set_xla_flags
from nn import Member, Network, Trainer


def run_stack(config, problem, name, members):
    """K members of seeds seed, seed + 1, ...; epoch_seconds are per network."""
    networks, trainees = [], []
    for k in range(members):
        rng = np.random.default_rng(config.seed + k)
        networks.append(Network(config.sizes, rng, dtype="float32"))
        trainees.append(Member(rng, config.eta, config.epochs))
    network = networks[0] if members == 1 else Network.stack(networks)
    trainer = Trainer(network, trainees, (problem.X_train, problem.labels_train),
                      config.mini_batch_size)
    seconds = []
    while trainer.active:
        outcomes = trainer.run_epoch()
        seconds.append(outcomes[0][1].seconds)  # the stack's epoch / K, every member alike
    first = trainer.networks[0]
    X_test = problem.X_test.astype(first.dtype)
    return PeerResult(name=name, dtype="float32", epoch_seconds=tuple(seconds),
                      accuracy=first.evaluate(X_test, problem.labels_test) / len(X_test),
                      note=(f"{members} networks as one stack, time per network" if members > 1
                            else "a stack of one network"))


def run_vmap(config, problem, name, members):
    """JAX: the same K networks, their steps vmapped, each epoch one compiled lax.scan."""
    set_xla_flags(config.threads)
    jax = require("jax")
    jnp = jax.numpy
    starts = [starting_point(replace(config, seed=config.seed + k), "float32")
              for k in range(members)]
    params = tuple((jnp.stack([jnp.asarray(s[0][l]) for s in starts]),
                    jnp.stack([jnp.asarray(s[1][l]) for s in starts]))
                   for l in range(len(config.sizes) - 1))  # (K, n_out, n_in), (K, n_out)
    rngs = [s[2] for s in starts]
    X = jnp.asarray(problem.X_train)
    Y = jnp.asarray(one_hot(problem.labels_train, config.sizes[-1], "float32"))
    n, m = len(problem.X_train), config.mini_batch_size
    step, _ = _compiled_functions(jax, config.eta)
    steps = n // m

    def epoch(params, batches):  # batches: (K, steps, m)
        def member_epoch(p, member_batches):
            return jax.lax.scan(lambda q, batch: step(q, X, Y, batch), p, member_batches)
        return jax.vmap(member_epoch)(params, batches)

    start = time.perf_counter()
    compiled = jax.jit(epoch).lower(params, np.zeros((members, steps, m), np.int32)).compile()
    compile_seconds = time.perf_counter() - start
    seconds = []
    for _ in range(config.epochs):
        start = time.perf_counter()
        orders = np.stack([rng.permutation(n)[:steps * m].reshape(steps, m) for rng in rngs])
        params, costs = compiled(params, orders.astype(np.int32))
        float(costs.sum())
        jax.block_until_ready(params)
        seconds.append((time.perf_counter() - start) / members)
    weights = [np.asarray(w[0]) for w, _ in params]
    biases = [np.asarray(b[0]) for _, b in params]
    return PeerResult(name=name, dtype="float32", epoch_seconds=tuple(seconds),
                      accuracy=accuracy(weights, biases, problem.X_test, problem.labels_test),
                      note=f"jax {jax.__version__}, vmap of {members}, compiled in "
                           f"{compile_seconds:.1f} s; time per network (n mod m dropped)")


def run(config, problem, name, members, jax=False):
    return (run_vmap if jax else run_stack)(config, problem, name, members)

