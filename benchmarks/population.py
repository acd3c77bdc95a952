"""Measurements of issue 14 (population training), to rerun on any machine; not tests.

    python benchmarks/population.py                        # [784, 30, 10]
    python benchmarks/population.py --layers 784,100,10

Runs benchmarks/stack16.yaml (16 trials: 8 seeds x 2 etas, mini-batch 10, 2 epochs on 20,000
images) stacked and with --no-stack, and sweep-bench's jax-scan peer (one network, the whole
epoch compiled) on the same 20,000 images, in rounds of the three, every one pinned to core
0. Prints each run, the medians and their ratios: the sweeps' wall times, and the training
seconds per trial-epoch (runs.csv's seconds_per_epoch, the median over the 16 trials; for a
stack its time over its members) against JAX's seconds per epoch. Checks that stacked and
alone wrote the same rows. Needs MNIST (MNIST_DIR or the per-user cache) and, for the JAX
column, the bench extra. Results go to a temporary directory, removed at the end.
"""

import argparse
import csv
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "benchmarks" / "stack16.yaml"
SWEEP = [sys.executable, "-m", "experiments", "sweep"]
BENCH = [sys.executable, "-m", "experiments", "bench"]
TIMING_COLUMNS = {"train_seconds", "seconds_per_epoch", "started_at"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", default="784,30,10", help="default: 784,30,10")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--core", type=int, default=0, help="the core every run is pinned to")
    args = parser.parse_args(argv)
    layers = f"layers=[{args.layers}]"
    hidden = args.layers.split(",")[1]
    walls = {"stacked": [], "alone": []}
    per_trial_epoch = {"stacked": [], "alone": [], "JAX scan, one network": []}
    jax = _has_jax()
    with tempfile.TemporaryDirectory() as directory:
        for run in range(args.repeats):
            for side, options in (("stacked", []), ("alone", ["--no-stack"])):
                out = Path(directory) / f"{side}-{run}"
                start = time.perf_counter()
                pinned(args.core, [*SWEEP, str(CONFIG), layers, "--out", str(out), "--no-report",
                                   *options])
                walls[side].append(time.perf_counter() - start)
                per_trial_epoch[side].append(statistics.median(
                    float(row["seconds_per_epoch"]) for row in rows(out)))
                print(f"sweep stack16.yaml {layers} {' '.join(options)}: "
                      f"{walls[side][-1]:.2f} s, {per_trial_epoch[side][-1]:.4f} s per "
                      f"trial-epoch", flush=True)
            if rows(Path(directory) / f"stacked-{run}", timing=False) != \
                    rows(Path(directory) / f"alone-{run}", timing=False):
                sys.exit("stacked and alone wrote different rows")
            if jax:
                # 5 epochs and their median: JAX's steady pace, its first epoch's warm-up
                # left out (the sweep's seconds include its own)
                output = pinned(args.core, [*BENCH, "--peers", "jax-scan", "--hidden", hidden,
                                            "--train-size", "20000", "--epochs", "5",
                                            "--repeat", "1"])
                seconds = float(re.search(r"^jax-scan +float32 +([0-9.]+)", output,
                                          re.MULTILINE).group(1))
                per_trial_epoch["JAX scan, one network"].append(seconds)
                print(f"sweep-bench --peers jax-scan --hidden {hidden} --train-size 20000 "
                      f"--epochs 5: {seconds:.3f} s/epoch (median of 5)", flush=True)
    print("identical rows stacked and alone in every round")
    median = {side: statistics.median(values) for side, values in walls.items()}
    print(f"wall time: stacked {median['stacked']:.2f} s, alone {median['alone']:.2f} s "
          f"(medians); alone / stacked {median['alone'] / median['stacked']:.2f}x")
    medians = {side: statistics.median(v) for side, v in per_trial_epoch.items() if v}
    print("training seconds per trial-epoch (medians): " +
          ", ".join(f"{side} {value:.4f}" for side, value in medians.items()))
    for side in ("alone", "JAX scan, one network"):
        if side in medians:
            print(f"{side} / stacked: {medians[side] / medians['stacked']:.2f}x")


def pinned(core, command):
    """Run command on one core; its stdout. Fails loudly, with its stderr, if it fails."""
    result = subprocess.run(command, capture_output=True, text=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)}: exit {result.returncode}\n{result.stderr}")
    return result.stdout


def rows(out, timing=True):
    with open(out / "runs.csv", newline="") as file:
        found = list(csv.DictReader(file))
    if not timing:
        found = [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in found]
    return found


def _has_jax():
    if importlib.util.find_spec("jax") is None:
        print("(JAX not installed: pip install \".[bench]\" for the JAX column)")
        return False
    return True


if __name__ == "__main__":
    main()
