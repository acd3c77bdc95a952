"""The first layer's products in the two layouts its weights could have; not tests.

    python benchmarks/products.py                  # [784, 30, 10] at mini-batch 10, and
                                                   # [784, 100, 10] at mini-batch 100
    python benchmarks/products.py --shapes 10x100

nn.network keeps [w | b] as (n_out, 785), so the forward product is X @ [w | b]^T with the
weights read transposed (BLAS's "NT"); stored as (785, n_out) it would be "NN". For each
shape (mini-batch x hidden neurons) this times both forms, and the backward product in
each layout, delta^T @ X (n_out, 785) as now and X^T @ delta (785, n_out), on one core (the
median of rounds of 500 calls, alternating), and counts in how many of 20 random draws the
two forward forms round differently: where they do, changing the layout would change every
result already recorded, not only the time.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

N_IN = 785  # 784 pixels and the ones column


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["10x30", "100x100"],
                        help="mini-batch x hidden, e.g. 10x30 (default: 10x30 100x100)")
    parser.add_argument("--core", type=int, default=0, help="the core to run on (default 0)")
    parser.add_argument("--rounds", type=int, default=7, help="default 7")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.core})
    rng = np.random.default_rng(0)
    print(f"{'m x h':>9}  {'X @ wb.T (NT)':>14}  {'X @ wbT (NN)':>13}  {'delta.T @ X':>12}  "
          f"{'X.T @ delta':>12}  NT and NN round otherwise in")
    for shape in args.shapes:
        m, h = (int(part) for part in shape.split("x"))
        X = rng.random((m, N_IN), dtype=np.float32)
        wb = rng.standard_normal((h, N_IN), dtype=np.float32)
        wb_T = np.ascontiguousarray(wb.T)  # (785, h), the other layout
        delta = rng.standard_normal((m, h), dtype=np.float32)
        z, nabla = np.empty((m, h), np.float32), np.empty((h, N_IN), np.float32)
        nabla_T = np.empty((N_IN, h), np.float32)
        calls = {"NT": lambda: np.dot(X, wb.T, out=z), "NN": lambda: np.dot(X, wb_T, out=z),
                 "backward": lambda: np.matmul(delta.T, X, out=nabla),
                 "backward, other layout": lambda: np.matmul(X.T, delta, out=nabla_T)}
        times = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, call in calls.items():
                times[name].append(_microseconds(call))
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"{shape:>9}  {median['NT']:>11.1f} us  {median['NN']:>10.1f} us  "
              f"{median['backward']:>9.1f} us  {median['backward, other layout']:>9.1f} us  "
              f"{_differing(rng, m, h)} of 20 draws")


def _microseconds(call, calls=500):
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def _differing(rng, m, h):
    """In how many of 20 random draws X @ wb.T and X @ (wb.T stored) differ in any bit."""
    count = 0
    for _ in range(20):
        X = rng.random((m, N_IN), dtype=np.float32)
        wb = rng.standard_normal((h, N_IN), dtype=np.float32)
        count += not np.array_equal(X @ wb.T, X @ np.ascontiguousarray(wb.T))
    return count


if __name__ == "__main__":
    main()
