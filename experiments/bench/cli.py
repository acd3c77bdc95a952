"""The `sweep-bench` command (and python -m experiments.bench): ours timed against peers; not the peers.

Trains the same configuration with every requested peer that is installed, one after
another in this process, and prints seconds per epoch (median of the epochs), test
accuracy after the last epoch, and each peer's time as a multiple of ours. Every peer is
pinned to the same number of threads, and the settings, the BLAS libraries and the CPU
are printed with the table. Then the arithmetic floor: the epoch's matrix products at
the throughput BLAS reaches at their shapes, measured here.
"""

import argparse
import difflib
import itertools
import os
import platform
import sys

import numpy as np
from tabulate import tabulate
from threadpoolctl import threadpool_info, threadpool_limits

from experiments.argtypes import positive_float, positive_int
from experiments.bench.peers import DEFAULT_DTYPE, PEERS, REFERENCE, BenchConfig, Problem, run_peer
from experiments.bench.peers.floor import matmul_floor, profile_step
from experiments.bench.peers.jax_xla import set_xla_flags, xla_flags
from experiments.data.datasets import load_dataset
from experiments.errors import NNSweepError

EXIT_OK, EXIT_ERROR = 0, 1


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sweep-bench",
        description="Seconds per epoch and accuracy of our NumPy network and of the same "
                    "training in per-sample NumPy, scikit-learn, PyTorch and JAX.")
    parser.add_argument("--mini-batch-size", type=positive_int, nargs="+", default=[10],
                        help="one or more mini-batch sizes (default: 10)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[30],
                        help="one or more hidden layer sizes, for [784, hidden, 10] (default: 30)")
    parser.add_argument("--grid", action="store_true",
                        help="all four of mini-batch sizes 10 and 100 by hidden sizes 30 and 100")
    parser.add_argument("--epochs", type=positive_int, default=5, help="default: 5")
    parser.add_argument("--train-size", type=positive_int,
                        help="train on the first N of the 50,000 training images (default: all)")
    parser.add_argument("--peers", type=peer_list, default=list(PEERS),
                        help=f"comma-separated, from {', '.join(PEERS)}; a prefix such as "
                             f"'numpy' or 'jax' takes all its variants (default: all)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS/OpenMP/XLA threads for every peer (default: 1)")
    parser.add_argument("--eta", type=positive_float, default=3.0, help="learning rate (default: 3.0)")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("--data-dir", help="directory with the MNIST files (default: $MNIST_DIR, "
                                           "then the per-user cache)")
    parser.add_argument("--profile", action="store_true",
                        help="also time each NumPy call of our training step")
    parser.add_argument("--repeat", type=positive_int, default=3,
                        help="train each peer this many times, in rounds of every peer once, "
                             "and report the median of its runs' medians (default: 3)")
    parser.add_argument("--cores", type=core_list, default=None,
                        help="the CPU cores every peer runs on, e.g. 0 or 0,1 (default: as many "
                             "of the allowed cores as --threads): pinned with "
                             "os.sched_setaffinity, so no library borrows another core")
    return parser


def core_list(text):
    """'0' or '0,1' -> a set of core numbers; an argparse error when not integers."""
    try:
        cores = {int(part) for part in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected core numbers such as 0 or 0,1, "
                                         f"got {text!r}") from None
    if min(cores) < 0:
        raise argparse.ArgumentTypeError(f"expected core numbers >= 0, got {text!r}")
    return cores


def pin_cores(cores, threads):
    """Run this process (and the threads and processes it starts) on `cores` only; by
    default the first `threads` of the cores allowed now. Returns the cores."""
    allowed = sorted(os.sched_getaffinity(0))
    cores = cores or set(allowed[:threads])
    try:
        os.sched_setaffinity(0, cores)
    except (OSError, ValueError) as error:
        raise NNSweepError(f"--cores {','.join(map(str, sorted(cores)))}: cannot run there "
                           f"({error}); allowed: {','.join(map(str, allowed))}") from None
    return sorted(cores)


def peer_list(text):
    """'numpy,jax-scan' -> the peer names it selects, in PEERS order; an argparse error if unknown."""
    chosen = set()
    for token in filter(None, (t.strip() for t in text.split(","))):
        matches = [name for name in PEERS if name == token or name.startswith(token + "-")]
        if not matches:
            close = difflib.get_close_matches(token, list(PEERS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise argparse.ArgumentTypeError(f"unknown peer {token!r}, expected one of "
                                             f"{', '.join(PEERS)}{hint}")
        chosen.update(matches)
    return [name for name in PEERS if name in chosen]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    pin_threads(args.threads)
    try:
        args.cores = pin_cores(args.cores, args.threads)
        run_benchmark(args)
    except NNSweepError as error:
        print(f"sweep-bench: {error}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def pin_threads(threads):
    """Thread limits for libraries not loaded yet; loaded ones get threadpool_limits per run."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    set_xla_flags(threads)  # XLA reads its flags when jax is first imported


def run_benchmark(args):
    """Load the data once, then run every configuration asked for."""
    data = load_dataset("mnist", directory=args.data_dir, train_size=args.train_size)
    problem = Problem(*data.training, *data.test)
    batch_sizes, hidden_sizes = ([10, 100], [30, 100]) if args.grid else (args.mini_batch_size, args.hidden)
    print_settings(args, len(problem.X_train))
    with threadpool_limits(limits=args.threads):
        for m, hidden in itertools.product(batch_sizes, hidden_sizes):
            run_configuration(args, problem, m, hidden)
        with threadpool_limits(limits=args.threads):  # also the pools peers have loaded since
            print_libraries()


def run_configuration(args, problem, m, hidden):
    """Run every peer on [784, hidden, 10] with mini-batches of m and print what they did."""
    config = BenchConfig(sizes=(784, hidden, 10), mini_batch_size=m, eta=args.eta,
                         epochs=args.epochs, seed=args.seed, threads=args.threads)
    print(f"\n== {list(config.sizes)}, mini-batch {m}, eta {args.eta}, {args.epochs} epochs, "
          f"{len(problem.X_train):,} training images, seed {args.seed}", flush=True)
    # In rounds, every peer once per round, so that a spell of load on this machine, or the
    # warm-up of the first run, falls on several peers rather than on all runs of one.
    runs = {name: [] for name in args.peers}
    for round_ in range(args.repeat):
        for name in args.peers:
            with threadpool_limits(limits=args.threads):  # again: a peer may have loaded a pool
                runs[name].append(run_peer(name, config, problem))
            if round_ == args.repeat - 1:
                print(f"   {name}: {_seconds(median_of_runs(runs[name]).median_seconds)} "
                      f"s/epoch", file=sys.stderr, flush=True)
    results = [median_of_runs(runs[name]) for name in args.peers]
    print(results_table(results, args.epochs), flush=True)
    print_floor(config, results, len(problem.X_train))
    if args.profile:
        print_profile(config, len(problem.X_train))


def median_of_runs(runs):
    """One PeerResult for several runs of a peer: its epochs those of the run whose median is
    the median of the runs' medians (a skipped peer: the first run)."""
    timed = sorted((run for run in runs if run.epoch_seconds), key=lambda run: run.median_seconds)
    return timed[(len(timed) - 1) // 2] if timed else runs[0]


def results_table(results, epochs):
    """The table of one configuration; ratio = the peer's seconds per epoch / ours."""
    ours = next((r.median_seconds for r in results if r.name == REFERENCE), None)
    rows = []
    for r in results:
        ratio = f"{r.median_seconds / ours:.1f}x" if ours and r.median_seconds else "-"
        accuracy = f"{r.accuracy:.2%}" if r.accuracy is not None else "-"
        rows.append([r.name, r.dtype, _seconds(r.median_seconds), ratio, accuracy, r.note])
    headers = ["peer", "dtype", f"s/epoch (median of {epochs})", f"ratio to {REFERENCE}",
               f"test accuracy after {epochs}", "note"]
    return tabulate(rows, headers=headers, disable_numparse=True)


def print_floor(config, results, n_train):
    """For each numpy row: the epoch's products at measured BLAS speed, and how far we are from it."""
    for r in results:
        if not r.name.startswith("numpy-") or not r.epoch_seconds:
            continue
        floor = matmul_floor(config.sizes, config.mini_batch_size, r.dtype, n_train)
        print(f"Arithmetic floor, {r.dtype}: {floor.flops_per_epoch / 1e9:.2f} GFLOP per epoch in the "
              f"products a w^T, delta^T a, delta w; BLAS runs them at {floor.gflops:.0f} GFLOP/s at "
              f"these shapes (measured: {floor.matmul_seconds_per_step * 1e6:.1f} us per step) -> "
              f"{floor.seconds_per_epoch:.3f} s/epoch. "
              f"{r.name} takes {r.median_seconds / floor.seconds_per_epoch:.1f}x that.", flush=True)


def print_profile(config, n_train):
    """Each NumPy call of our step (default dtype) timed alone, and what Python adds to them."""
    dtype = DEFAULT_DTYPE
    profile = profile_step(config.sizes, config.mini_batch_size, dtype, n_train, config.eta)
    in_step = profile.step_seconds - profile.python_seconds
    table = [[label, f"{seconds * 1e6:.2f}"] for label, seconds in profile.loop_rows + profile.step_rows]
    table += [["sum of the NumPy calls in update_mini_batch", f"{in_step * 1e6:.2f}"],
              ["update_mini_batch, whole (its batch in cache)", f"{profile.step_seconds * 1e6:.2f}"],
              ["-> Python: calls, loops, attribute look-ups", f"{profile.python_seconds * 1e6:.2f}"]]
    print(f"\nOne training step of our {dtype} network, each NumPy call timed alone:")
    print(tabulate(table, headers=["operation", "us per call"], disable_numparse=True), flush=True)


def print_settings(args, n_train):
    """What every peer shares: data, timing, threads, CPU, Python and NumPy."""
    print(f"sweep-bench: {args.epochs} epochs on {n_train:,} MNIST images, seconds are the "
          f"gradient steps only (no evaluation, no compilation)")
    print(f"threads: {args.threads} for every peer: threadpoolctl.threadpool_limits({args.threads}); "
          f"torch.set_num_threads({args.threads}); XLA_FLAGS='{xla_flags(args.threads)}'; "
          f"OMP/OPENBLAS/MKL_NUM_THREADS={args.threads}; all pinned to core(s) "
          f"{','.join(map(str, args.cores))} (os.sched_setaffinity); each peer run "
          f"{args.repeat} time(s), the median run reported")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; Python {platform.python_version()}, "
          f"NumPy {np.__version__}")


def print_libraries():
    """The BLAS and OpenMP pools loaded in this process, and their thread counts."""
    print("\nThread pools loaded by the end of the run (threadpoolctl.threadpool_info()):")
    for pool in threadpool_info():
        print(f"  {pool.get('internal_api')} {pool.get('version') or ''} "
              f"{pool.get('architecture') or ''} {pool.get('threading_layer') or ''}: "
              f"num_threads={pool.get('num_threads')} ({pool.get('filepath')})")


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _seconds(value):
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
