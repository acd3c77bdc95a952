"""The errors experiments raises, under nn's base class; only the CLI catches them."""

from nn.errors import DivergedError, NNSweepError

__all__ = ["NNSweepError", "DivergedError", "DataError", "ConfigError", "ResultsError",
           "ImageError", "ExportError", "WriteError", "WorkerLostError"]


class DataError(NNSweepError):
    """A data set is missing, unreadable, corrupt or fails its checksum."""


class ConfigError(NNSweepError):
    """A sweep configuration or an override is invalid."""


class ResultsError(NNSweepError):
    """A results directory is unreadable, malformed or in use by another sweep."""


class ImageError(NNSweepError):
    """An image given to classify is unreadable, not a PNG or JPEG, empty, blank or too large."""


class ExportError(NNSweepError):
    """Results cannot be exported: the exporter's package is missing, or its store refused them."""


class WriteError(ResultsError):
    """A results file could not be written (a full disk, a read-only directory): not bad input."""


class WorkerLostError(NNSweepError):
    """The worker running a trial died (killed, out of memory) as many times as allowed: the
    trial is recorded as failed, with this message, and the sweep goes on."""
