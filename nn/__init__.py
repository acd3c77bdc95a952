"""nn: a vectorized NumPy multilayer perceptron (pure math; no printing, and no files but a saved network's)."""

from nn.errors import DivergedError, NetworkFileError, NNSweepError
from nn.network import Classification, Network
from nn.saving import load_network, save_network
from nn.training import SGD, EpochRecord, Member, Trainer

__all__ = ["Network", "Classification", "SGD", "Trainer", "Member", "EpochRecord", "NNSweepError",
           "DivergedError", "NetworkFileError", "save_network", "load_network"]
