"""The names a results directory is made of: its files, the CSV columns, the statuses; not how they are written."""

RUNS_FILE = "runs.csv"
METRICS_FILE = "metrics.csv"
SEARCH_FILE = "search.yaml"  # a searching sweep's search: block, for the report

RUN_COLUMNS = (
    "run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "dataset", "train_size",
    "dtype", "activation", "cost_function", "init", "lmbda", "momentum", "early_stopping",
    "eta_schedule", "status", "accuracy", "best_accuracy", "best_epoch", "validation_accuracy",
    "epochs_run", "stopped", "train_seconds", "seconds_per_epoch", "comment", "reference",
    "source", "started_at", "error",
)
METRIC_COLUMNS = ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds", "eta")
# runs.csv's cost_function is the config key `cost` (e.g. quadratic), named apart from
# metrics.csv's cost, the value of that function on the training data.

# The columns of the first release, which every results file has: a column added since may be
# missing from a file written before it was. Readers take its cells as what its absence
# meant (MISSING_MEANS, else empty), and the store rewrites such a file with the current
# header before it appends to it.
REQUIRED_RUN_COLUMNS = (
    "run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "dataset", "train_size",
    "dtype", "activation", "cost_function", "status", "accuracy", "best_accuracy", "best_epoch",
    "validation_accuracy", "train_seconds", "seconds_per_epoch", "comment", "started_at", "error",
)
REQUIRED_METRIC_COLUMNS = ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds")
# A setting added since the first release, as trials recorded before it trained: its default.
MISSING_MEANS = {"init": "normal", "lmbda": "0.0", "momentum": "0.0", "early_stopping": "0",
                 "eta_schedule": "none"}

# status of a recorded trial; pruned: stopped by early termination (ASHA) at a rung
FINISHED, DIVERGED, FAILED, PRUNED = "finished", "diverged", "failed", "pruned"
STATUSES = (FINISHED, DIVERGED, FAILED, PRUNED)

# What a trial did rather than what it was; every other runs.csv column is configuration,
# by which the report tells trials apart and merges their seeds.
OUTCOME_COLUMNS = ("run_id", "seed", "started_at", "status", "accuracy", "best_accuracy",
                   "best_epoch", "validation_accuracy", "epochs_run", "stopped", "train_seconds",
                   "seconds_per_epoch", "error", "reference", "source")
CONFIG_COLUMNS = tuple(column for column in RUN_COLUMNS if column not in OUTCOME_COLUMNS)
# Settings most sweeps leave at their default, so the report shows them only where some row
# does not: the default of each, as the report reads it.
USUALLY_DEFAULT = {"activation": "sigmoid", "cost_function": "quadratic", "init": "normal",
                   "lmbda": 0.0, "momentum": 0.0, "early_stopping": 0, "eta_schedule": "none"}
