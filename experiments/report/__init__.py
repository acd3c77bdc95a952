"""From recorded results to what a reader sees: the CSVs read into frames, the comparison
table and report.md, the figures, the best run's confusion matrix and mistakes (from its
saved weights), and the `sweep-report` command. It reads; it never trains."""
