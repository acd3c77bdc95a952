"""experiments: data sets, sweep configs, runner, results store, report, benchmark and commands (I/O lives here, not in nn)."""
