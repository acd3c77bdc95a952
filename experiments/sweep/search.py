"""A sweep's `search:` block: parameters sampled from distributions (W&B's vocabulary); not the runs.

    search:
      method: random              # random | tpe (Optuna's sampler: pip install ".[optuna]")
      count: 27                   # how many configurations
      seed: 0                     # the search's own seed (the networks' stay `seeds:`)
      metric: {name: validation_accuracy, goal: maximize}
      parameters:
        eta: {distribution: log_uniform_values, min: 0.05, max: 50}
        mini_batch_size: {values: [10, 20, 50]}
      early_terminate: {type: asha, min_epochs: 1, reduction_factor: 3}

A random search's configuration i is drawn from a generator seeded by (seed, i), so a file
gives the same configurations on every machine, and a larger count keeps the first ones.
Every value is checked as the sweep checks that key (sweep/values.py), bounds included.
"""

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from experiments.errors import ConfigError
from experiments.sweep import values
from experiments.sweep.overrides import did_you_mean

METHODS = ("random", "tpe")
DISTRIBUTIONS = ("uniform", "log_uniform_values", "int_uniform", "q_uniform")
METRICS = {"validation_accuracy": "maximize", "cost": "minimize"}  # never the test set's
GOALS = ("maximize", "minimize")
SEARCH_KEYS = ("method", "count", "seed", "metric", "parameters", "early_terminate")
MAX_COUNT = 100_000


@dataclass(frozen=True)
class Parameter:
    """One searched key: a distribution over [low, high] (step q), or a list of values."""

    key: str
    distribution: str  # one of DISTRIBUTIONS, or "values", or "value" (a constant)
    low: Optional[float] = None
    high: Optional[float] = None
    q: Optional[float] = None
    choices: tuple = ()

    def sample(self, rng):
        if self.distribution in ("values", "value"):
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.distribution == "int_uniform":
            return int(rng.integers(self.low, self.high + 1))
        if self.distribution == "log_uniform_values":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        value = float(rng.uniform(self.low, self.high))
        if self.distribution == "q_uniform":  # W&B: round(X / q) * q, kept within the bounds
            value = min(max(round(value / self.q) * self.q, self.low), self.high)
        return value


@dataclass(frozen=True)
class Asha:
    """early_terminate: {type: asha, min_epochs, reduction_factor}."""

    min_epochs: int
    reduction_factor: int


@dataclass(frozen=True)
class Search:
    """A validated search: block."""

    method: str
    count: int
    seed: int
    metric: str
    goal: str
    parameters: tuple  # of Parameter
    early_terminate: Optional[Asha] = None

    def as_dict(self):
        """The search as plain types, as the sweep writes it beside its results (search.yaml)."""
        parameters = {}
        for p in self.parameters:
            if p.distribution in ("values", "value"):
                choices = [list(c) if isinstance(c, tuple) else c for c in p.choices]
                parameters[p.key] = {"value": choices[0]} if p.distribution == "value" \
                    else {"values": choices}
            else:
                bounds = {"min": p.low, "max": p.high, **({"q": p.q} if p.q else {})}
                parameters[p.key] = {"distribution": p.distribution, **bounds}
        early = self.early_terminate
        return {"method": self.method, "count": self.count, "seed": self.seed,
                "metric": {"name": self.metric, "goal": self.goal}, "parameters": parameters,
                **({"early_terminate": {"type": "asha", "min_epochs": early.min_epochs,
                                        "reduction_factor": early.reduction_factor}}
                   if early else {})}

    def configurations(self, start=0, stop=None):
        """The sampled configurations start..stop-1 of a random search, as {key: value}."""
        stop = self.count if stop is None else stop
        return [self.configuration(i) for i in range(start, stop)]

    def configuration(self, i):
        rng = np.random.default_rng([self.seed, i])  # (search seed, i): independent of count
        return {parameter.key: parameter.sample(rng) for parameter in self.parameters}


def parse_search(block, where, trial_keys, dataset):
    """The Search of a `search:` mapping found at `where`; ConfigError naming the bad key."""
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: must be a mapping with method, count and parameters, "
                          f"got {values.show(block)}")
    _known(block, SEARCH_KEYS, where)
    method = block.get("method", "random")
    if method not in METHODS:
        raise ConfigError(f"{where}.method: unknown method {values.show(method)}"
                          f"{did_you_mean(str(method), METHODS, quote=True)}")
    if "count" not in block:
        raise ConfigError(f"{where}.count: required: how many configurations to sample")
    count = block["count"]
    if not (values.is_int(count) and 1 <= count <= MAX_COUNT):
        raise ConfigError(f"{where}.count: must be an integer from 1 to {MAX_COUNT:,}, "
                          f"got {values.show(count)}")
    seed = values.seed(block.get("seed", 0), f"{where}.seed")
    metric, goal = _metric(block.get("metric"), f"{where}.metric")
    parameters = block.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise ConfigError(f"{where}.parameters: must be a mapping of trial keys to "
                          f"distributions, got {values.show(parameters)}")
    parsed = tuple(_parameter(key, spec, f"{where}.parameters.{key}", trial_keys, dataset)
                   for key, spec in parameters.items())
    early = block.get("early_terminate")
    asha = None if early is None else parse_asha(early, f"{where}.early_terminate")
    return Search(method, count, seed, metric, goal, parsed, asha)


def parse_asha(block, where):
    """An early_terminate mapping: only ASHA (asynchronous successive halving) is known."""
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: must be a mapping such as {{type: asha, min_epochs: 1, "
                          f"reduction_factor: 3}}, got {values.show(block)}")
    _known(block, ("type", "min_epochs", "reduction_factor"), where)
    if block.get("type") != "asha":
        raise ConfigError(f"{where}.type: must be 'asha', got {values.show(block.get('type'))}")
    min_epochs, factor = block.get("min_epochs", 1), block.get("reduction_factor", 3)
    if not (values.is_int(min_epochs) and min_epochs >= 1):
        raise ConfigError(f"{where}.min_epochs: must be an integer >= 1, "
                          f"got {values.show(min_epochs)}")
    if not (values.is_int(factor) and factor >= 2):
        raise ConfigError(f"{where}.reduction_factor: must be an integer >= 2, "
                          f"got {values.show(factor)}")
    return Asha(min_epochs, factor)


def _metric(block, where):
    if block is None:
        return "validation_accuracy", "maximize"
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: must be a mapping such as {{name: validation_accuracy, "
                          f"goal: maximize}}, got {values.show(block)}")
    _known(block, ("name", "goal"), where)
    name = block.get("name", "validation_accuracy")
    if name not in METRICS:
        hint = (" (choosing on the test set would leak it into the choice)"
                if str(name) in ("accuracy", "test_accuracy") else "")
        raise ConfigError(f"{where}.name: must be one of {', '.join(METRICS)}, "
                          f"got {values.show(name)}{hint}")
    goal = block.get("goal", METRICS[name])
    if goal not in GOALS:
        raise ConfigError(f"{where}.goal: must be maximize or minimize, got {values.show(goal)}")
    return name, goal


def _parameter(key, spec, where, trial_keys, dataset):
    if key not in trial_keys:
        raise ConfigError(f"{where}: unknown key{did_you_mean(key, trial_keys)}")
    if key == "seed":
        raise ConfigError(f"{where}: seeds are not searched; list them in seeds:")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be a mapping such as {{values: [...]}} or "
                          f"{{distribution: uniform, min: 0, max: 1}}, got {values.show(spec)}")
    if "values" in spec or "value" in spec:
        _known(spec, ("values", "value", "distribution"), where)
        if "value" in spec:
            choices = [spec["value"]]
        elif isinstance(spec["values"], list) and spec["values"]:
            choices = spec["values"]
        else:
            raise ConfigError(f"{where}.values: must be a non-empty list, "
                              f"got {values.show(spec['values'])}")
        checked = tuple(values.trial_value(key, value, f"{where}.values[{i}]", dataset)
                        for i, value in enumerate(choices))
        return Parameter(key, "value" if "value" in spec else "values", choices=checked)
    _known(spec, ("distribution", "min", "max", "q"), where)
    distribution = spec.get("distribution")
    if distribution not in DISTRIBUTIONS:
        if "log" in str(distribution).lower():  # W&B's log_uniform takes ln(min), ln(max)
            hint = (" (did you mean 'log_uniform_values'? its min and max are the values "
                    "themselves, not their logarithms)")
        else:
            hint = did_you_mean(str(distribution), DISTRIBUTIONS, quote=True)
        raise ConfigError(f"{where}.distribution: unknown distribution "
                          f"{values.show(distribution)}{hint}")
    low, high = (_bound(spec, bound, where, distribution) for bound in ("min", "max"))
    if not low < high:
        raise ConfigError(f"{where}: min must be < max, got min {low:g}, max {high:g}")
    if distribution == "log_uniform_values" and low <= 0:
        raise ConfigError(f"{where}.min: a log range must lie above 0, got {low:g}")
    q = None
    if distribution == "q_uniform":
        q = spec.get("q")
        if not (isinstance(q, (int, float)) and not isinstance(q, bool) and 0 < q <= high - low):
            raise ConfigError(f"{where}.q: must be a number > 0 and <= max - min, "
                              f"got {values.show(q)}")
    for bound, value in (("min", low), ("max", high)):  # both ends must be valid values
        values.trial_value(key, int(value) if distribution == "int_uniform" else value,
                           f"{where}.{bound}", dataset)
    return Parameter(key, distribution, low, high, q)


def _bound(spec, bound, where, distribution):
    value = spec.get(bound)
    if distribution == "int_uniform":
        if not values.is_int(value):
            raise ConfigError(f"{where}.{bound}: must be an integer, got {values.show(value)}")
        return value
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)):
        raise ConfigError(f"{where}.{bound}: must be a number, got {values.show(value)}")
    return float(value)


def _known(block, keys, where):
    for key in block:
        if key not in keys:
            raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(str(key), keys)}")
