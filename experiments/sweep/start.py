"""The `sweep` command's entry point: keeps the command's process to one thread, then hands
over to cli.

The process trains with one BLAS thread anyway (-j 1 in it, -j N in worker processes of one
thread each), but OpenBLAS starts a thread per core when NumPy loads, which makes the process
unsafe to fork (runner.worker_context). Told before NumPy loads, it starts none, and -j N's
workers fork from the sweep process, ready in milliseconds, rather than from a fork server
that must import NumPy and the sweep's modules first (~0.2 s). A variable the user set is
left as it is.
"""

import os
import sys

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv=None) -> int:
    one_blas_thread()
    from experiments.sweep.cli import main as sweep_main  # after one_blas_thread

    return sweep_main(argv)


def one_blas_thread():
    """Ask the BLAS that NumPy will load for one thread, unless the user said otherwise."""
    if "numpy" not in sys.modules:  # once loaded, its BLAS has its threads already
        for variable in BLAS_THREADS:
            os.environ.setdefault(variable, "1")
