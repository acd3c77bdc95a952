"""The names a results directory is made of: its files, the CSV columns, the statuses; not how they are written."""

RUNS_FILE = "runs.csv"
METRICS_FILE = "metrics.csv"

RUN_COLUMNS = (
    "run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "dataset", "train_size",
    "dtype", "activation", "cost_function", "status", "accuracy", "best_accuracy", "best_epoch", "validation_accuracy",
    "train_seconds", "seconds_per_epoch", "comment", "started_at", "error",
)
METRIC_COLUMNS = ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds")
# runs.csv's cost_function is the config key `cost` (e.g. quadratic), named apart from
# metrics.csv's cost, the value of that function on the training data.

# The columns of the first release, which every results file has: a column added since may be
# missing from a file written before it was. Readers take its cells as empty (its default),
# and the store rewrites such a file with the current header before it appends to it.
REQUIRED_RUN_COLUMNS = (
    "run_id", "layers", "epochs", "mini_batch_size", "eta", "seed", "dataset", "train_size",
    "dtype", "activation", "cost_function", "status", "accuracy", "best_accuracy", "best_epoch",
    "validation_accuracy", "train_seconds", "seconds_per_epoch", "comment", "started_at", "error",
)
REQUIRED_METRIC_COLUMNS = ("run_id", "epoch", "cost", "accuracy", "validation_accuracy", "seconds")

# status of a recorded trial
FINISHED, DIVERGED, FAILED = "finished", "diverged", "failed"
STATUSES = (FINISHED, DIVERGED, FAILED)

# What a trial did rather than what it was; every other runs.csv column is configuration,
# by which the report tells trials apart and merges their seeds.
OUTCOME_COLUMNS = ("run_id", "seed", "started_at", "status", "accuracy", "best_accuracy",
                   "best_epoch", "validation_accuracy", "train_seconds", "seconds_per_epoch",
                   "error")
CONFIG_COLUMNS = tuple(column for column in RUN_COLUMNS if column not in OUTCOME_COLUMNS)
