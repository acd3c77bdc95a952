"""Recorded sweeps copied into other tools' stores (MLflow: mlflow_runs.py), and the `sweep-export`
command. It reads results; it never trains."""
