"""One network, trained and printed epoch by epoch as the book's program does: `python -m experiments train`."""
