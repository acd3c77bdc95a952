"""How much memory a trial takes and how much the machine has; the check that refuses a sweep
that cannot fit, before anything trains. Not the network: the estimate follows nn's code.

A worker process training one trial holds, at its peak (counted from nn/network.py and
nn/training.py; within 10% of the peak resident memory measured, the rest being what the
allocator keeps of freed arrays: tests/test_memory.py checks two shapes, 0.92 and 0.95 of
their peaks in a worker of the installed package):
- the interpreter with NumPy and this package: ~45 MiB (BASELINE), and as much of
  OpenBLAS's 64 MiB work buffer as the largest weight matrix fills;
- the data set as load_dataset returns it, float32, mapped from the decoded cache
  (data/decoded.py): only the pages a trial reads become resident, its training images and
  the 10,000 validation and 10,000 test images (the workers of a machine share them, which
  this estimate, counting them for each, leaves as a margin);
- SGD's copies, in the trial's dtype: the training inputs with their ones column
  (train_size, 785), the one-hot outputs (train_size, 10), and in float64 the validation
  and test inputs converted from float32;
- the parameters, and the two Workspaces of update_mini_batch (the mini-batch size m,
  and the remainder of an epoch): per layer, inputs with ones (m, n_in + 1), z, delta and
  sigma' (m, n_out) each, and nablas the size of the parameters;
- an evaluation pass: feedforward of the 10,000 test (or validation) images keeps every
  layer's activations, (10,000, n) per layer;
- while the network is made, its parameters are drawn in float64 before being cast.
"""

import os
from pathlib import Path

import numpy as np

from experiments.data.datasets import TRAINING_IMAGES
from experiments.errors import ConfigError
from experiments.sweep.worker import mini_batch_size
from nn.network import DTYPES, parameter_count

# bytes: a worker process after importing NumPy and experiments (VmHWM measured: 41 MiB
# from an editable install, 45-46 MiB from `pip install ".[dev,mlflow,dask,optuna]"`)
BASELINE = 45 * 2**20
BLAS_BUFFER = 64 * 2**20  # OpenBLAS's work buffer, touched as far as the products need it
EVALUATION_IMAGES = 10_000  # the validation part and the test set (MNIST, Fashion-MNIST)
PIXELS = 784
IMAGE_BYTES = PIXELS * 4 + 8  # a float32 image and its int64 label


def trial_bytes(trial, stacked=1):
    """Peak memory of a worker process training `trial` (a TrialConfig), in bytes; with
    `stacked` trials like it in one stack (sweep/groups.py), of training them all: each has
    its own parameters, workspaces and evaluation passes, the data and its copies are shared."""
    sizes = trial.layers
    itemsize = np.dtype(DTYPES[trial.dtype]).itemsize
    examples = trial.train_size or TRAINING_IMAGES
    batch = min(mini_batch_size(trial), examples)
    parameters = parameter_count(sizes)
    copies = examples * (sizes[0] + 1 + sizes[-1]) * itemsize  # inputs with ones, one-hot
    if itemsize != 4:  # the evaluation sets are converted from float32 once per run
        copies += 2 * EVALUATION_IMAGES * sizes[0] * itemsize
    layer_outputs = sum(sizes[1:])

    def workspace(m):  # ins with their ones, z, delta, sigma', nablas
        return (m * (sum(sizes[:-1]) + len(sizes) - 1 + 3 * layer_outputs) + parameters) * itemsize

    remainder = examples % batch  # the last mini-batch of an epoch, when shorter, has its own
    evaluation = EVALUATION_IMAGES * layer_outputs * itemsize
    training = workspace(batch) + (workspace(remainder) if remainder else 0) + evaluation
    widest = max(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    drawing = parameters * 8 + widest * 8  # every draw, and one layer's [w | b] in float64
    blas = min(BLAS_BUFFER, widest * itemsize)  # OpenBLAS packs its operands into a buffer
    if trial.momentum:  # the velocities, one array like each [w | b]
        training += parameters * itemsize
    # drawing comes before SGD makes its copies; the float64 draws are gone by then
    data = (examples + 2 * EVALUATION_IMAGES) * IMAGE_BYTES  # the pages it reads
    return (BASELINE + blas + data + stacked * parameters * itemsize
            + max(stacked * drawing, copies + stacked * training))


def available_bytes():
    """Memory the system can give without swapping: MemAvailable of /proc/meminfo, else the
    free physical pages (os.sysconf), else None when neither is known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_fits(groups, jobs, available=None):
    """Raise ConfigError when the groups of trials cannot train in the memory available.

    groups: tuples of trials trained together (a trial alone is a group of one). With
    `jobs` workers the largest groups may run at once, each worker with its own copy of
    the data set: their estimates add up. `available`: bytes, by default
    available_bytes(); the check is skipped when that is unknown.
    """
    available = available_bytes() if available is None else available
    if available is None or not groups:
        return
    groups = [group if isinstance(group, tuple) else (group,) for group in groups]
    needs = sorted(((trial_bytes(group[0], len(group)), group[0]) for group in groups),
                   key=lambda need: need[0], reverse=True)  # largest first
    largest, trial = needs[0]
    if largest > available:
        raise ConfigError(
            f"{trial.run_id}: needs about {size(largest)} of memory ({list(trial.layers)} in "
            f"{trial.dtype}, mini-batch {trial.mini_batch_size}, with the data set), more "
            f"than the {size(available)} available")
    at_once = min(jobs, len(needs))
    total = sum(need for need, _ in needs[:at_once])
    if total > available:
        fitting = max(k for k in range(1, at_once + 1)
                      if sum(need for need, _ in needs[:k]) <= available)
        raise ConfigError(
            f"-j {jobs}: {at_once} trials at once need about {size(total)} of memory (the "
            f"largest {size(largest)}), more than the {size(available)} available; "
            f"-j {fitting} would fit")


def size(n_bytes):
    """Bytes in the binary unit that reads best: 420 MiB, 3.2 GiB."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= scale or unit == "MiB":
            return f"{n_bytes / scale:.1f} {unit}" if n_bytes < 100 * scale else \
                f"{n_bytes / scale:.0f} {unit}"
