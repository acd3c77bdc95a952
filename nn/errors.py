"""The exception hierarchy of nn-sweep; not where errors are caught (only the CLI does that)."""


class NNSweepError(Exception):
    """Base class of every error nn-sweep raises on purpose."""


class DivergedError(NNSweepError):
    """Training produced a NaN or an infinity in the cost or the parameters."""

    def __init__(self, epoch: int, what: str):
        self.epoch = epoch
        self.what = what
        super().__init__(f"diverged at epoch {epoch}: {what} is not finite")


class NetworkFileError(NNSweepError):
    """A file that should hold a saved network does not: unreadable, foreign, truncated or tampered."""
