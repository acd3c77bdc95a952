"""nn: a vectorized NumPy multilayer perceptron (pure math; no files, no printing)."""

from nn.errors import DivergedError, NNSweepError
from nn.network import Classification, Network
from nn.training import SGD, EpochRecord

__all__ = ["Network", "Classification", "SGD", "EpochRecord", "NNSweepError", "DivergedError"]
