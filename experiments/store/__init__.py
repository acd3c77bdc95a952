"""A sweep's results directory: the CSV columns and statuses (columns.py), reading and writing
CSV records (csv_files.py), and the store that records a trial and holds the lock (store.py).
Both the sweep (which writes) and the report (which reads) go through it."""
