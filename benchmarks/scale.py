"""Measurements of issue 11 (sweeps of thousands of trials), to rerun on any machine; not tests.

    python benchmarks/scale.py recording   # 2,000 trials of [784, 10], train_size 100, 1 epoch, -j 2:
                                           # wall time, and the share spent recording them
    python benchmarks/scale.py store       # recording 20 trials of 30 epochs into an empty results
                                           # directory, and into one of 5,000 such trials
    python benchmarks/scale.py jobs        # 4 trials of [784, 30, 10], 2 epochs on 10,000 images:
                                           # -j 2 against -j 1
    python benchmarks/scale.py dask        # configs/architectures.yaml epochs=5: a local Dask
                                           # cluster of 2 workers against -j 2
    python benchmarks/scale.py memory      # peak memory of 2 workers on full MNIST, arrays mapped
                                           # from the decoded cache against decoded in each worker

Runs that are compared alternate (A B A B ...), so that a machine busy with something else
slows both alike; each prints every run, the medians, their ratio and the spread. Needs MNIST
(MNIST_DIR or the per-user cache) and, for `dask`, the dask extra. Results go to a temporary
directory, removed at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEP = [sys.executable, "-m", "experiments", "sweep"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["recording", "store", "jobs", "dask", "memory"])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        {"recording": recording, "store": store, "jobs": jobs, "dask": dask,
         "memory": memory}[args.what](Path(directory), args.repeats)


def recording(directory, repeats):
    """The 2,000-trial sweep in this process, timing store.record and store.finish."""
    from experiments.store.store import ResultsStore
    from experiments.sweep.cli import main as sweep

    config = directory / "two-thousand.yaml"
    config.write_text("name: two-thousand\ndefaults: {epochs: 1, train_size: 100}\n"
                      "trials:\n  - {layers: [784, 10]}\n"
                      f"seeds: [{', '.join(map(str, range(2000)))}]\n")
    spent = {"record": [], "finish": []}
    for method in spent:
        original = getattr(ResultsStore, method)

        def timed(self, *args, original=original, method=method, **kwargs):
            start = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                spent[method].append(time.perf_counter() - start)

        setattr(ResultsStore, method, timed)
    for run in range(repeats):
        for calls in spent.values():
            del calls[:]
        out = directory / f"run{run}"
        start = time.perf_counter()
        sys.stdout.flush()
        saved = os.dup(1)
        with open(os.devnull, "w") as quiet:  # the sweep's 2,000 lines
            os.dup2(quiet.fileno(), 1)
            try:
                status = sweep([str(config), "--out", str(out), "-j", "2", "--no-report"])
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
                os.close(saved)
        wall = time.perf_counter() - start
        recorded = sum(spent["record"]) + sum(spent["finish"])
        print(f"sweep {config.name} -j 2 --no-report: exit {status}, {wall:.1f} s; recording "
              f"{recorded:.2f} s, {100 * recorded / wall:.1f}% ({len(spent['record'])} records "
              f"{sum(spent['record']):.2f} s, the final rewrite {sum(spent['finish']):.2f} s)")


def store(directory, repeats):
    """20 records (store.record, as the sweep makes them) into an empty directory and into one of
    5,000 trials of 30 epochs; opening the store, which reads the files once, timed apart."""
    from experiments.store.columns import RUN_COLUMNS
    from experiments.store.store import ResultsStore

    def record(results, name):
        row = dict.fromkeys(RUN_COLUMNS, "")
        row.update(run_id=name, layers="784-30-10", epochs=30, mini_batch_size=10, eta=3.0,
                   seed=0, dataset="mnist", status="finished", accuracy=0.95)
        results.record(row, [{"run_id": name, "epoch": epoch, "cost": 0.1, "accuracy": 0.95,
                              "validation_accuracy": 0.95, "seconds": 0.17}
                             for epoch in range(1, 31)], "layers: [784, 30, 10]\n", {"run_id": name})

    full = directory / "full"
    with ResultsStore(full) as results:
        for i in range(5000):
            record(results, f"old{i:05d}")
    for run in range(repeats):
        times = {}
        for name, where in (("empty", directory / f"empty{run}"), ("5,000 trials", full)):
            start = time.perf_counter()
            with ResultsStore(where) as results:
                opened = time.perf_counter()
                for i in range(20):
                    record(results, f"new{run}-{i:02d}")
                recorded = time.perf_counter()
            times[name] = (opened - start, recorded - opened, time.perf_counter() - recorded)
            print(f"into {name}: open {times[name][0]:.3f} s, 20 records {times[name][1]:.3f} s, "
                  f"finish {times[name][2]:.3f} s")
        print(f"20 records into 5,000 trials / into an empty directory: "
              f"{times['5,000 trials'][1] / times['empty'][1]:.2f}x")


def jobs(directory, repeats):
    config = directory / "four.yaml"
    config.write_text("name: four\ndefaults: {epochs: 2, mini_batch_size: 10, eta: 3.0, "
                      "train_size: 10000}\ntrials:\n  - {layers: [784, 30, 10]}\n"
                      "seeds: [0, 1, 2, 3]\n")
    alternate(directory, [str(config), "--no-report"], {"-j 1": ["-j", "1"],
                                                         "-j 2": ["-j", "2"]}, repeats)


def dask(directory, repeats):
    config = ROOT / "configs" / "architectures.yaml"
    alternate(directory, [str(config), "epochs=5", "--no-report"],
              {"-j 2": ["-j", "2"], "--executor dask -j 2": ["--executor", "dask", "-j", "2"]},
              repeats)


def alternate(directory, arguments, sides, repeats):
    """Run each side's sweep `repeats` times, alternating, and print medians and their ratio."""
    seconds = {side: [] for side in sides}
    subprocess.run([*SWEEP, *arguments, "--out", str(directory / "warm-up"), "--dry-run"],
                   check=True, capture_output=True)
    for run in range(repeats):
        for side, options in sides.items():
            out = directory / f"{side.replace(' ', '')}-{run}"
            start = time.perf_counter()
            subprocess.run([*SWEEP, *arguments, *options, "--out", str(out)], check=True,
                           capture_output=True)
            seconds[side].append(time.perf_counter() - start)
            print(f"sweep {' '.join(Path(a).name for a in arguments)} {side}: "
                  f"{seconds[side][-1]:.2f} s", flush=True)
    (first, a), (second, b) = seconds.items()
    for side, values in seconds.items():
        print(f"{side}: median {statistics.median(values):.2f} s "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    print(f"{second} / {first}: {statistics.median(b) / statistics.median(a):.2f}x "
          f"(medians; {min(b) / max(a):.2f}x to {max(b) / min(a):.2f}x over the pairs of runs)")


def memory(directory, repeats):
    """Two trials of [784, 100, 10], one epoch on all 50,000 images, -j 2; the peak of the
    workers' summed PSS (each shared page counted once in all) and of their RSS."""
    config = directory / "two.yaml"
    config.write_text("name: two\ndefaults: {epochs: 1}\ntrials:\n  - {layers: [784, 100, 10]}\n"
                      "seeds: [0, 1]\n")
    sides = {"decoded in each worker (no cache)": str(directory / "no" / "cache"),
             "mapped from the decoded cache": str(directory / "cache")}
    (directory / "no").write_text("a file: no cache can be made under it\n")
    subprocess.run([*SWEEP, str(config), "--out", str(directory / "warm"), "epochs=1",
                    "train_size=10", "seeds=[0]", "--no-report"], check=True, capture_output=True,
                   env={**os.environ, "NN_SWEEP_CACHE": sides["mapped from the decoded cache"]})
    for run in range(repeats):
        for side, cache in sides.items():
            pss, rss = peak_worker_memory([*SWEEP, str(config), "--out",
                                           str(directory / f"m{run}{len(side)}"), "-j", "2",
                                           "--no-report"], {**os.environ, "NN_SWEEP_CACHE": cache})
            print(f"{side}: peak of the 2 workers' PSS summed {pss:.0f} MiB, "
                  f"of their RSS summed {rss:.0f} MiB")


def peak_worker_memory(command, environment):
    """(peak PSS, peak RSS), MiB, of the sweep's worker processes, summed, sampled every 20 ms."""
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    peaks = [0.0, 0.0]

    def sample():
        while process.poll() is None:
            totals = [0.0, 0.0]
            for pid in descendants(process.pid):
                for i, field in enumerate(("Pss:", "Rss:")):
                    totals[i] += smaps_rollup(pid, field)
            peaks[:] = [max(peak, total) for peak, total in zip(peaks, totals)]
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    sampler.join()
    return peaks[0] / 1024, peaks[1] / 1024


def descendants(pid):
    """The workers: the children of the sweep's fork server (a child of the sweep)."""
    servers = [child for child in children(pid) if b"forkserver" in cmdline(child)]
    return [worker for server in servers for worker in children(server)]


def children(pid):
    try:
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def smaps_rollup(pid, field):
    """A field of /proc/PID/smaps_rollup, in KiB; 0 for a process that has ended."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(field):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    main()
