"""`sweep-bench`: our training step timed against its peers (the book's per-sample loop,
scikit-learn, PyTorch, JAX) on the same data, and against the arithmetic floor (peers/)."""
