"""A sweep from its file to its records: the file and its overrides, validated and expanded
into frozen trials; the trials run through an executor; each result handed to the store; the
progress shown; and the `sweep` command, which draws the report when it ends."""
