"""experiments: everything around the network that reads, writes or prints (nn/ is the pure math).

Subpackages follow the data on its way, and import only downward (tests/test_architecture.py):
    data/     where data sets come from: IDX files, locating and downloading them, the split
    store/    a sweep's results directory: CSV columns, records, the lock
    report/   results -> comparison table and figures; the `sweep-report` command
    sweep/    sweep file + overrides -> trials -> executor -> store, progress; the `sweep` command
    bench/    our network timed against its peers; the `sweep-bench` command
    train/    one network trained and printed epoch by epoch; `python -m experiments train`
and the few modules all of them share: errors.py, files.py (atomic writes), argtypes.py.
"""
