"""A sweep's results directory: the CSV columns and statuses (columns.py), reading and writing
CSV records (csv_files.py), the store that records a trial and holds the lock (store.py), and
where the trials' trained networks lie (networks.py). Both the sweep (which writes) and the
report and predict (which read) go through it."""
