"""How the report names a network: its label and its number of parameters, from runs.csv's layers; not the table or the figures."""

import nn.network


def parameter_count(layers: str) -> int:
    """Weights and biases of a network "784-30-10": sum over layers of n_in * n_out + n_out."""
    return nn.network.parameter_count([int(size) for size in layers.split("-")])


def network_label(layers: str) -> str:
    """ "784-30-10" as the book writes it: "[784, 30, 10]"."""
    return "[" + ", ".join(layers.split("-")) + "]"


def eta_text(eta) -> str:
    """3.0 as the book writes it, 0.1 not 0.1000000000000001, and a sampled 7.3461584146
    as 7.346: four significant digits (the run id and runs.csv keep every digit)."""
    return str(float(f"{float(eta):.4g}"))
