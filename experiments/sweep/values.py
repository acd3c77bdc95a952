"""Checks of single sweep-config values; not the structure of a sweep file (config.py).

Each check returns the value in its stored form or raises ConfigError naming `where`
the value was found (e.g. "configs/a.yaml: trials[2].eta").
"""

import math
import re

from experiments.data.datasets import SOURCES, TRAINING_IMAGES
from experiments.errors import ConfigError
from experiments.sweep import limits
from experiments.sweep.overrides import did_you_mean
from nn.activations import ACTIVATIONS
from nn.costs import COSTS
from nn.initializers import INITIALIZERS
from nn.network import DTYPES
from nn.training import SCHEDULES

INPUTS = 784  # pixels per image, the width of every network's first layer


def trial_value(key, value, where, dataset):
    if key == "layers":
        return layers(value, where, dataset)
    if key == "epochs":
        return at_most(positive_int(value, where), _MAXIMUM[key], where)
    if key == "mini_batch_size":
        if value == "full":
            return value
        return at_most(positive_int(value, where, " or 'full'"), _MAXIMUM[key], where)
    if key == "eta":
        return eta(value, where)
    if key == "seed":
        return seed(value, where)
    if key in ("comment", "source"):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: must be a string, got {show(value)}")
        return value
    if key == "train_size":
        if value is None or (is_int(value) and 0 < value <= TRAINING_IMAGES):
            # all of them, however written: one configuration, one run id
            return None if value == TRAINING_IMAGES else value
        raise ConfigError(f"{where}: must be a positive integer <= {TRAINING_IMAGES}, "
                          f"or null for all of them, got {show(value)}")
    if key in NUMBER_RANGES:
        return number_in_range(value, where, *NUMBER_RANGES[key])
    if key == "early_stopping":
        if value is None or (is_int(value) and value >= 0):
            return value or 0
        raise ConfigError(f"{where}: must be a number of epochs >= 1, or 0 or null for none, "
                          f"got {show(value)}")
    if key == "reference":
        return reference(value, where)
    choices = {"dtype": tuple(DTYPES), "activation": tuple(ACTIVATIONS), "cost": tuple(COSTS),
               "init": tuple(INITIALIZERS), "eta_schedule": SCHEDULES}[key]
    return choice(value, choices, key.replace("_", " "), where)


# key -> the range [low, high) of its values, and how messages say it
NUMBER_RANGES = {"lmbda": (0.0, math.inf, "a number >= 0"),
                 "momentum": (0.0, 1.0, "a number >= 0 and < 1")}


def number_in_range(value, where, low, high, expected):
    """A float in [low, high), as a float whatever the YAML wrote (0 is 0.0: one run id)."""
    number = _float(value)
    if number is not None and low <= number < high:
        return number
    raise ConfigError(f"{where}: must be {expected}, got {show(value)}{_yaml_hint(value)}")


def reference(value, where):
    """A published accuracy as a fraction in (0, 1], or None."""
    if value is None:
        return None
    number = _float(value)
    if number is not None and 0 < number <= 1:
        return number
    hint = f" (for {number:g}% write {number / 100:g})" if number and 1 < number <= 100 else ""
    raise ConfigError(f"{where}: must be an accuracy as a fraction in (0, 1], e.g. 0.9507, "
                      f"got {show(value)}{hint}")


def layers(value, where, dataset):
    if not (isinstance(value, list) and len(value) >= 2
            and all(is_int(size) and size > 0 for size in value)):
        raise ConfigError(f"{where}: must be a list of at least 2 positive integers, "
                          f"got {show(value)}")
    classes = len(SOURCES[dataset].classes)
    if value[0] != INPUTS:
        raise ConfigError(f"{where}: first layer must be {INPUTS} (the inputs of {dataset}), "
                          f"got {value[0]}")
    if value[-1] != classes:
        raise ConfigError(f"{where}: last layer must be {classes} (the classes of {dataset}), "
                          f"got {value[-1]}")
    _check_layer_bounds(value, where)
    return tuple(value)


def positive_int(value, where, alternative=""):
    if is_int(value) and value > 0:
        return value
    raise ConfigError(f"{where}: must be a positive integer{alternative}, got {show(value)}")


def seed(value, where):
    if is_int(value) and value >= 0:
        return at_most(value, limits.MAX_SEED, where, "an integer from 0 to")
    raise ConfigError(f"{where}: must be an integer >= 0, got {show(value)}")


def eta(value, where):
    number = _float(value)
    if number is not None and 0 < number < math.inf:
        return number
    raise ConfigError(f"{where}: must be a number > 0, got {show(value)}{_yaml_hint(value)}")


def _float(value):
    """A YAML number as a float (NaN included), or None for anything else."""
    if is_int(value) or isinstance(value, float):
        try:
            return float(value)
        except OverflowError:  # an int beyond float's range
            return math.inf
    return None


def _yaml_hint(value):
    """PyYAML reads YAML 1.1, where a float needs a dot: 1e-3 is a string, 1.0e-3 a number."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+[eE][+-]?\d+", value):
        return f" (YAML reads this as text: write {re.sub('[eE]', '.0e', value)})"
    return ""


def choice(value, choices, what, where):
    if isinstance(value, str) and value in choices:
        return value
    if not isinstance(value, str):
        listing = ", ".join(repr(choice) for choice in choices)
        raise ConfigError(f"{where}: must be one of {listing}, got {show(value)}")
    hint = did_you_mean(value, choices, quote=True)
    raise ConfigError(f"{where}: unknown {what} {value!r}{hint}")


def dataset(value, where):
    return "mnist" if value is None else choice(value, tuple(SOURCES), "data set", where)


def name(value, where, default):
    if value is None:
        return default
    # the name is likely to name a folder: no path separators, nothing that means "here" or "up"
    if isinstance(value, str) and value.strip() and value not in (".", "..") \
            and not {"/", "\\"} & set(value):
        return value
    raise ConfigError(f"{where}: must be a plain name (a non-empty string without '/'), "
                      f"got {show(value)}")


SAVE_NETWORKS = ("final", "final+best", "none")


def save_networks(value, where):
    return "final" if value is None else choice(value, SAVE_NETWORKS, "choice", where)


def data_dir(value, where):
    if value is None or (isinstance(value, str) and value):
        return value
    raise ConfigError(f"{where}: must be a directory (a string) or null, got {show(value)}")


_MAXIMUM = {"epochs": limits.MAX_EPOCHS, "mini_batch_size": TRAINING_IMAGES}


def at_most(value, maximum, where, what="a positive integer <="):
    """value, when it is no more than `maximum` (see limits.py for why each bound)."""
    if value <= maximum:
        return value
    raise ConfigError(f"{where}: must be {what} {maximum}, got {show(value)}")


def _check_layer_bounds(sizes, where):
    if len(sizes) > limits.MAX_LAYERS:
        raise ConfigError(f"{where}: at most {limits.MAX_LAYERS} layers (input and output "
                          f"included), got {len(sizes)}")
    widest = max(sizes)
    if widest > limits.MAX_LAYER_SIZE:
        raise ConfigError(f"{where}: at most {limits.MAX_LAYER_SIZE} neurons in a layer, "
                          f"got {show(widest)}")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's true is not 1 epoch


def show(value, limit=60):
    """repr of a bad value, shortened so that the message stays one readable line.

    Built piece by piece and cut at the limit: YAML aliases can make a list whose full repr
    runs to gigabytes (`&a [1, 1]`, `&b [*a, *a]`, ... nine levels is a billion items).
    """
    text = ""
    for piece in _repr_pieces(value):
        text += piece
        if len(text) > limit:
            return text[:limit - 3] + "..."
    return text


def _repr_pieces(value):
    """repr(value) in pieces: the same text as repr for lists, tuples and dicts of values."""
    kind = type(value)
    if kind in (list, tuple):
        yield "[" if kind is list else "("
        for i, item in enumerate(value):
            yield ", " if i else ""
            yield from _repr_pieces(item)
        yield "]" if kind is list else ",)" if len(value) == 1 else ")"
    elif kind is dict:
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ", " if i else ""
            yield from _repr_pieces(key)
            yield ": "
            yield from _repr_pieces(item)
        yield "}"
    elif isinstance(value, (str, bytes)):
        yield repr(value[:200])  # enough to fill a message; the cut then shows as "..."
    else:
        try:
            yield repr(value)
        except ValueError:  # an int of more than 4,300 digits
            yield f"<an integer of {value.bit_length()} bits>"
