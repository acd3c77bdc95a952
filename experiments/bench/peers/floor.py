"""Not a peer: the arithmetic floor of an SGD epoch, and a per-call profile of nn.Network's step.

Floor: the matrix products an epoch must do (forward w a, backward delta w and
delta a^T for every mini-batch), their FLOPs, and how fast this machine's BLAS runs them
*at these shapes*, measured; FLOPs / throughput is the time no implementation built on
these products can beat. Profile: each NumPy call nn.Network.update_mini_batch makes, with
the same shapes and dtypes, timed alone; what the step takes beyond their sum is Python.
"""

import timeit
from dataclasses import dataclass
from functools import partial

import numpy as np

from nn import Network
from nn.training import one_hot, with_ones_column


@dataclass(frozen=True)
class StepProfile:
    """Seconds per call of each operation of a training step, and of the whole step."""

    loop_rows: list  # [(operation, seconds)] of nn.SGD's loop around the step
    step_rows: list  # [(operation, seconds)] of the NumPy calls in update_mini_batch
    step_seconds: float  # one whole update_mini_batch, its batch in cache

    @property
    def python_seconds(self):
        """What the step takes beyond its NumPy calls: Python calls, loops and look-ups."""
        return self.step_seconds - sum(seconds for _, seconds in self.step_rows)


@dataclass(frozen=True)
class Floor:
    """The time an epoch's matrix products take at the throughput BLAS reaches at their shapes."""

    flops_per_epoch: float
    matmul_seconds_per_step: float  # the step's products, each timed alone
    gflops: float  # measured throughput at these shapes
    seconds_per_epoch: float  # flops_per_epoch / throughput


def best_time(function, calls=2000, repeat=7):
    """Seconds per call, the fastest of `repeat` runs of `calls` calls (noise only adds)."""
    return min(timeit.repeat(function, number=calls, repeat=repeat)) / calls


def matmul_floor(sizes, m, dtype, n_train):
    """Time the products of one step at their shapes, with np.dot or np.matmul, whichever is faster."""
    rng = np.random.default_rng(0)
    flops, seconds = 0.0, 0.0
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        a = rng.random((m, n_in)).astype(dtype)
        w = rng.random((n_out, n_in)).astype(dtype)
        delta = rng.random((m, n_out)).astype(dtype)
        products = [(a, w.T), (delta.T, a)]  # z = a w^T; nabla_w = delta^T a
        if l > 0:
            products.append((delta, w))  # delta behind = delta w
        for left, right in products:
            out = np.empty((left.shape[0], right.shape[1]), dtype)
            seconds += min(best_time(lambda: np.dot(left, right, out=out)),
                           best_time(lambda: np.matmul(left, right, out=out)))
            flops += 2.0 * left.shape[0] * left.shape[1] * right.shape[1]
    steps = n_train / m
    gflops = flops / seconds / 1e9
    return Floor(flops_per_epoch=flops * steps, matmul_seconds_per_step=seconds,
                 gflops=gflops, seconds_per_epoch=flops * steps / (gflops * 1e9))


def profile_step(sizes, m, dtype, n_train=50_000, eta=3.0):
    """Time each NumPy call of one nn.Network training step, alone, at the step's shapes.

    The loop's gathers are timed over a real epoch's shuffled batches, so their rows come
    from memory, not cache, as in training. Returns a StepProfile.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    X = with_ones_column(rng.random((n_train, sizes[0])), dtype)  # (n, n_0 + 1)
    Y = one_hot(rng.integers(0, sizes[-1], n_train), sizes[-1], dtype)  # (n, n_L)
    loop_rows = _gather_rows(X, Y, rng.permutation(n_train), m)
    step_rows = [(label, best_time(call)) for label, call in _step_calls(sizes, m, dtype, eta)]
    net = Network(sizes, rng, dtype=dtype)
    step_seconds = best_time(partial(net.update_mini_batch, X[:m], Y[:m], 0.0))  # eta 0: w stays
    return StepProfile(loop_rows=loop_rows, step_rows=step_rows, step_seconds=step_seconds)


def _gather_rows(X, Y, order, m):
    """nn.SGD's per-step work around update_mini_batch, over one epoch of shuffled batches."""
    def epoch(gather):
        for k in range(0, len(order), m):
            batch = order[k:k + m]
            if gather:
                X.take(batch, axis=0), Y.take(batch, axis=0)

    steps = -(-len(order) // m)
    loop = best_time(partial(epoch, False), calls=1, repeat=3)
    gathers = best_time(partial(epoch, True), calls=1, repeat=3)
    return [("nn.SGD: X.take(batch), Y.take(batch) (rows from memory)", (gathers - loop) / steps),
            ("nn.SGD: the loop itself", loop / steps)]


def _step_calls(sizes, m, dtype, eta):
    """(label, call) for each NumPy call of Network.update_mini_batch, on arrays of its shapes.

    Each call writes to a scratch array of its output's shape instead of in place, so that
    timing it thousands of times leaves its inputs as they were (repeated in-place
    multiplications would drift into subnormal numbers, which are slow).
    """
    rng = np.random.default_rng(1)
    like = lambda *shape: rng.random(shape).astype(dtype)  # noqa: E731
    half, one = np.array(0.5, dtype), np.array(1.0, dtype)
    ins = [like(m, sizes[0] + 1)] + [np.ones((m, n + 1), dtype) for n in sizes[1:-1]]
    zs = [like(m, n) for n in sizes[1:]]
    wbs = [like(n_out, n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    calls = []
    for l, (a, wb, z) in enumerate(zip(ins, wbs, zs)):
        out = np.empty_like(z)
        calls += [(f"forward {l}: np.dot {a.shape} @ {wb.T.shape}", partial(np.dot, a, wb.T, out=out)),
                  (f"· sigmoid: z * 1/2 on {z.shape}", partial(np.multiply, z, half, out=out)),
                  ("· sigmoid: tanh", partial(np.tanh, z, out=out)),
                  ("· sigmoid: * 1/2", partial(np.multiply, z, half, out=out)),
                  ("· sigmoid: + 1/2", partial(np.add, z, half, out=out))]
        if l + 1 < len(ins):
            calls.append((f"· copy a into [a | 1] {ins[l + 1].shape}",
                          partial(np.copyto, ins[l + 1][:, :-1], z)))
    a, out = zs[-1], np.empty_like(zs[-1])
    calls += [(f"output: d = a - y {a.shape}", partial(np.subtract, a, a)),
              ("output: sigma' = 1 - a", partial(np.subtract, one, a, out=out)),
              ("output: sigma' *= a", partial(np.multiply, a, a, out=out)),
              ("output: delta = sigma' * d", partial(np.multiply, a, a, out=out)),
              ("output: cost = vdot(d, d)", partial(np.vdot, a, a)),
              ("output: delta *= -eta / m", partial(np.multiply, a, -eta / m, out=out))]
    for l in range(len(wbs) - 1, -1, -1):
        delta = zs[l]  # any array of delta's shape will do
        if l > 0:
            w, behind = wbs[l][:, :-1], np.empty_like(zs[l - 1])
            calls += [(f"backward {l}: matmul delta @ w {delta.shape} @ {w.shape}",
                       partial(np.matmul, delta, w, out=behind)),
                      ("· sigma' = 1 - a", partial(np.subtract, one, zs[l - 1], out=behind)),
                      ("· sigma' *= a", partial(np.multiply, zs[l - 1], zs[l - 1], out=behind)),
                      ("· delta behind *= sigma'", partial(np.multiply, zs[l - 1], zs[l - 1], out=behind))]
        calls.append((f"backward {l}: matmul delta.T @ [a | 1] {delta.T.shape} @ {ins[l].shape}",
                      partial(np.matmul, delta.T, ins[l], out=np.empty_like(wbs[l]))))
    for l, wb in enumerate(wbs):  # in place, as in the step; a zero nabla leaves wb as it is
        calls.append((f"update {l}: [w | b] += nabla {wb.shape}",
                      partial(np.add, wb, np.zeros_like(wb), out=wb)))
    return calls
