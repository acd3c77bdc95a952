"""Sweep files (YAML + command-line overrides) -> validated, frozen TrialConfigs; not the runner.

A sweep's trials are every entry of `trials` (one empty entry when absent) x every
combination of `grid` (keys in the order written, the last varying fastest) x every seed of
`seeds`. A key's value is, from weakest to strongest: the built-in default, `defaults`, the
trial entry, the grid, the command line. An optional top-level key set to null is absent.
"""

import dataclasses
import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional, Union

import yaml

from experiments.errors import ConfigError
from experiments.sweep import values
from experiments.sweep.limits import MAX_TRIALS
from experiments.sweep.loader import load_yaml
from experiments.sweep.overrides import did_you_mean, sort_overrides
from experiments.sweep.search import Asha, Search, parse_asha, parse_search

TOP_LEVEL_KEYS = ("name", "dataset", "data_dir", "save_networks", "defaults", "seeds", "trials",
                  "grid", "search", "early_terminate")
# and seeds, which sort_overrides knows
COMMAND_LINE_SETTINGS = ("name", "dataset", "data_dir", "save_networks")
_READ_ERRORS = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory",
                PermissionError: "permission denied", UnicodeDecodeError: "not UTF-8 text"}


@dataclass(frozen=True)
class TrialConfig:
    """One training run: everything that decides its result, plus labels that do not
    (comment, and a published figure to compare with: reference, source)."""

    layers: tuple  # of ints, Nielsen's `sizes`: (784, 30, 10)
    epochs: int = 30
    mini_batch_size: Union[int, str] = 10  # or "full": one step per epoch on all of it
    eta: float = 3.0
    seed: int = 0
    comment: str = ""
    train_size: Optional[int] = None  # None: all 50,000 training images
    dataset: str = "mnist"
    dtype: str = "float32"
    activation: str = "sigmoid"  # of the hidden layers: sigmoid, tanh, relu
    cost: str = "quadratic"  # quadratic, cross_entropy, log_likelihood
    init: str = "normal"  # normal (N(0, 1)), scaled (N(0, 1/n_in)), he (N(0, 2/n_in))
    lmbda: float = 0.0  # L2 regularization, as network2.py's lmbda
    momentum: float = 0.0  # mu in [0, 1); 0 is plain SGD
    early_stopping: int = 0  # stop after N epochs without a better validation accuracy; 0: never
    eta_schedule: str = "none"  # or "halve" (halve eta on no improvement, stop at eta/128)
    reference: Optional[float] = None  # a published accuracy (a fraction) to compare with
    source: str = ""  # where `reference` comes from

    @property
    def layers_label(self) -> str:
        return "-".join(str(size) for size in self.layers)

    @functools.cached_property  # asked for several times per trial; 10,000 trials in a sweep
    def run_id(self) -> str:
        """A label and a hash of every field but the labels: 784-30-10_e30_b10_eta3_s0_1a2b3c4d.

        sha256 of canonical JSON, not hash(): the id names result folders, so it must be the
        same in every process and on every machine. The labels (comment, reference, source)
        are left out so that editing them does not make a finished trial run again (a rerun
        updates them in runs.csv instead); a key added after the first release is
        hashed only when it differs from its default, so that adding one (momentum, say)
        keeps the ids, and the recorded results, of every earlier trial.
        """
        defaults = {field.name: field.default for field in dataclasses.fields(self)}
        identity = {key: value for key, value in self.as_dict().items() if key not in LABELS
                    and (key in _HASHED_ALWAYS or value != defaults[key])}
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
        return (f"{self.layers_label}_e{self.epochs}_b{self.mini_batch_size}"
                f"_eta{self.eta:g}_s{self.seed}_{digest}")

    def as_dict(self) -> dict:
        """The fields as plain types (layers as a list), in declaration order, for YAML or JSON."""
        values = dataclasses.asdict(self)
        values["layers"] = list(self.layers)
        return values


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file: its identity and its expanded trials."""

    name: str
    path: Path  # the config file as the user named it
    dataset: str
    data_dir: Optional[str]
    trials: tuple  # of TrialConfig, in expansion order (a tpe search adds its own as it goes)
    save_networks: str = "final"  # which trained networks each trial keeps: final, final+best, none
    search: Optional[Search] = None  # the search: block, if any
    early_terminate: Optional[Asha] = None  # ASHA, from search: or the top level
    expansion: Optional["Expansion"] = field(default=None, compare=False, repr=False)  # for tpe


@dataclass(frozen=True)
class Expansion:
    """The checked parts of a sweep file that make trials of a configuration: every entry of
    `trials` x every combination of `grid` x every seed, each with the configuration's values
    (a sampled search configuration is crossed with them as the grid is)."""

    prefix: str
    dataset: str
    defaults: dict
    entries: list
    axes: list
    seeds: object  # _Axis or None
    fixed: dict

    def trials(self, configurations=({},)):
        return _expand(self.prefix, self.dataset, self.defaults, self.entries, self.axes,
                       self.seeds, self.fixed, configurations)


# dataset is the sweep's, set at the top level; every other field is a trial key
# What names or annotates a trial without changing what it trains: not in its run id.
LABELS = ("comment", "reference", "source")
# The keys of the first release, hashed whatever their value (see TrialConfig.run_id).
_HASHED_ALWAYS = ("layers", "epochs", "mini_batch_size", "eta", "seed", "train_size",
                  "dataset", "dtype", "activation", "cost")
TRIAL_KEYS = tuple(f.name for f in dataclasses.fields(TrialConfig) if f.name != "dataset")
BUILTIN_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrialConfig)
                    if f.name in TRIAL_KEYS and f.default is not dataclasses.MISSING}


class _Axis(NamedTuple):
    """One dimension of the cartesian product: a key and its candidate values."""

    key: str
    values: list
    label: str  # where it came from, for messages: "grid.eta", "overrides: eta", "seeds"


def load_sweep(path, overrides=(), max_trials=MAX_TRIALS) -> Sweep:
    """Read, validate and expand sweep file `path`, with command-line `overrides` applied.

    path: str or Path of a YAML file; overrides: "key=value" strings. Everything is checked
    before this returns. Raises ConfigError, one line naming file, location and bad value,
    also when the sweep has more than `max_trials` trials (counted before expanding them, so
    that a grid of a million answers at once).
    """
    command_line = sort_overrides(overrides or (), TRIAL_KEYS, COMMAND_LINE_SETTINGS,
                                  TOP_LEVEL_KEYS)
    prefix = str(path)  # messages name the file as the user did
    document = _read_document(path, prefix)
    _check_keys(document, TOP_LEVEL_KEYS, lambda key: f"{prefix}: {key}")

    def setting(key):  # (value, where) of a top-level key; the command line wins
        if key in command_line.settings:
            return command_line.settings[key], f"overrides: {key}"
        return document.get(key), f"{prefix}: {key}"

    dataset = values.dataset(*setting("dataset"))
    name = values.name(*setting("name"), default=Path(path).stem)
    data_dir = values.data_dir(*setting("data_dir"))
    save_networks = values.save_networks(*setting("save_networks"))
    defaults, entries, axes = _sections(document, prefix, dataset)
    _check_added(prefix, command_line.added, document, defaults, entries, axes)
    seeds = _seeds_to_run(command_line, document, prefix, defaults, entries, axes)
    axes, fixed = _with_command_line(axes, command_line, dataset)
    search, early_terminate = _search(document, prefix, dataset)
    _check_count(prefix, search.count if search and search.method == "random" else 1, entries,
                 axes, seeds, max_trials)
    expansion = Expansion(prefix, dataset, defaults, entries, axes, seeds, fixed)
    if search is None:
        trials = expansion.trials()
    elif search.method == "random":
        trials = expansion.trials(search.configurations())
    else:  # tpe: chosen one by one as results come in (sweep/tpe.py); a random draw
        expansion.trials(search.configurations(0, 1))  # checks the file's parts now
        trials = ()
    return Sweep(name, Path(path), dataset, data_dir, trials, save_networks, search,
                 early_terminate, expansion)


def _search(document, prefix, dataset):
    """(Search or None, Asha or None) of the search: and early_terminate: blocks."""
    search = None
    if document.get("search") is not None:
        search = parse_search(document["search"], f"{prefix}: search", TRIAL_KEYS, dataset)
    early = document.get("early_terminate")
    if early is not None and search is not None and search.early_terminate is not None:
        raise ConfigError(f"{prefix}: early_terminate: given twice, at the top level and in "
                          f"search; keep one")
    if early is not None:
        return search, parse_asha(early, f"{prefix}: early_terminate")
    return search, search.early_terminate if search else None


def _seeds_to_run(command_line, document, prefix, defaults, entries, axes):
    """The seeds as an _Axis: the command line's, else the file's; None when neither sets any."""
    if command_line.seeds_key:  # it replaces any seed the file sets: no conflict to report
        where = f"overrides: {command_line.seeds_key}"
        return _seeds(command_line.seeds, where, where, indexed=command_line.seeds_key == "seeds")
    seeds = _seeds(document.get("seeds"), f"{prefix}: seeds", "seeds")
    if seeds is not None:
        _check_no_seed(prefix, defaults, entries, axes)
    return seeds


def _with_command_line(axes, command_line, dataset):
    """The file's grid axes with the command line's sweeps last, and its fixed values; checked."""
    overridden = {*command_line.fixed, *command_line.sweeps}
    if command_line.seeds_key:
        overridden.add("seed")
    axes = [axis for axis in axes if axis.key not in overridden]
    axes += [_Axis(key, [values.trial_value(key, value, f"overrides: {key}", dataset)
                         for value in choices], f"overrides: {key}")
             for key, choices in command_line.sweeps.items()]
    fixed = {key: values.trial_value(key, value, f"overrides: {key}", dataset)
             for key, value in command_line.fixed.items()}
    return axes, fixed


def _read_document(path, prefix):
    """The file's top-level mapping, read as yaml.safe_load does, duplicate keys refused."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = next((reason for kind, reason in _READ_ERRORS.items() if isinstance(error, kind)),
                      getattr(error, "strerror", None) or str(error))
        raise ConfigError(f"{prefix}: cannot read: {reason}") from None
    try:
        document = load_yaml(text)  # safe_load's, refusing duplicate keys (loader.py)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context
        raise ConfigError(f"{prefix}: invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{prefix}: invalid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict):
        got = "an empty file" if document is None else type(document).__name__
        raise ConfigError(f"{prefix}: expected a mapping at the top level, got {got}")
    return document


def _sections(document, prefix, dataset):
    """The checked `defaults` (dict), `trials` ([(label, dict)]) and `grid` ([_Axis])."""
    defaults = _trial_mapping(document.get("defaults"), f"{prefix}: defaults", dataset)
    trials = document.get("trials")
    if trials is None:
        entries = [(None, {})]
    elif not isinstance(trials, list):
        raise ConfigError(f"{prefix}: trials: must be a list of mappings, "
                          f"got {type(trials).__name__}")
    else:
        entries = [(f"trials[{i}]", _trial_mapping(entry, f"{prefix}: trials[{i}]", dataset))
                   for i, entry in enumerate(trials)]
    grid = {} if document.get("grid") is None else document["grid"]
    if not isinstance(grid, dict):
        raise ConfigError(f"{prefix}: grid: must be a mapping of keys to lists, "
                          f"got {type(grid).__name__}")
    _check_keys(grid, TRIAL_KEYS, lambda key: f"{prefix}: grid.{key}")
    axes = []
    for key, candidates in grid.items():
        if not isinstance(candidates, list):
            raise ConfigError(f"{prefix}: grid.{key}: must be a non-empty list of values, "
                              f"got {values.show(candidates)}")
        axes.append(_Axis(key, [values.trial_value(key, value, f"{prefix}: grid.{key}[{i}]",
                                                   dataset)
                                for i, value in enumerate(candidates)], f"grid.{key}"))
    if trials == []:
        raise ConfigError(f"{prefix}: empty sweep: no trials to run (trials is an empty list)")
    return defaults, entries, axes


def _trial_mapping(mapping, where, dataset):
    """A checked dict of trial keys; None (an empty YAML section) is {}."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: must be a mapping of trial keys, "
                          f"got {type(mapping).__name__}")
    _check_keys(mapping, TRIAL_KEYS, lambda key: f"{where}.{key}")
    return {key: values.trial_value(key, value, f"{where}.{key}", dataset)
            for key, value in mapping.items()}


def _check_keys(mapping, valid, where_of):
    """Unknown keys are errors, with a "did you mean" when one is close."""
    for key in mapping:
        if key in valid:
            continue
        if key in TOP_LEVEL_KEYS:
            raise ConfigError(f"{where_of(key)}: {key} is a top-level key, it cannot be set here")
        # a key with a line break, or blank, is shown as its repr: one line, and visible
        shown = key if str(key).isprintable() and str(key).strip() else values.show(key)
        raise ConfigError(f"{where_of(shown)}: unknown key{did_you_mean(key, valid)}")


def _where_set(key, defaults, entries, axes):
    """Where the file first sets trial key `key` ("defaults.eta", "grid.eta"...), or None."""
    places = [("defaults", defaults)] + [(label, entry) for label, entry in entries if label]
    where = next((f"{label}.{key}" for label, mapping in places if key in mapping), None)
    return where or next((axis.label for axis in axes if axis.key == key), None)


def _check_added(prefix, added, document, defaults, entries, axes):
    """Hydra's +key adds a key the file does not set; adding one it sets is an error there too."""
    for key in added:
        where = key if document.get(key) is not None else None  # name, dataset, seeds...
        if key in TRIAL_KEYS:
            where = where or _where_set(key, defaults, entries, axes)
        if key == "seed" and document.get("seeds") is not None:
            where = where or "seeds"
        if where:
            raise ConfigError(f"overrides: +{key}: {prefix} already sets it ({where}); "
                              f"override it with {key}=... or ++{key}=...")


def _check_no_seed(prefix, defaults, entries, axes):
    """`seeds` repeats every trial over each seed, so a seed set elsewhere would fight it."""
    where = _where_set("seed", defaults, entries, axes)
    if where:
        raise ConfigError(f"{prefix}: {where}: cannot be set when seeds is given "
                          f"(seeds already repeats every trial for each seed)")


def _expand(prefix, dataset, defaults, entries, axes, seeds, fixed, configurations=({},)):
    """The TrialConfigs of configurations x entries x grid x seeds, in that nested order; no
    two alike. A configuration (a sampled one of a search) overrides the entries and the grid;
    the command line overrides it."""
    for axis in (*axes, seeds):
        if axis is not None and not axis.values:
            raise ConfigError(f"{prefix}: empty sweep: no trials to run "
                              f"({axis.label} is an empty list)")
    seeds = seeds or _Axis("seed", [None], "")
    settable = {*defaults, *fixed, *(axis.key for axis in axes), *configurations[0]}
    trials, origins = [], []
    for config_index, configuration in enumerate(configurations):
        for entry_index, (label, entry) in enumerate(entries):
            if "layers" not in settable and "layers" not in entry:
                raise ConfigError(f"{prefix}: {label or 'defaults'}.layers: required key missing")
            for combination in itertools.product(*(enumerate(axis.values) for axis in axes)):
                fields = {**BUILTIN_DEFAULTS, **defaults, **entry,
                          **{axis.key: value for axis, (_, value) in zip(axes, combination)},
                          **configuration, **fixed}
                for seed_index, seed in enumerate(seeds.values):
                    if seed is not None:
                        fields["seed"] = seed
                    trials.append(TrialConfig(dataset=dataset, **fields))
                    origins.append((config_index, entry_index, *(i for i, _ in combination),
                                    seed_index))
    return _unique(prefix, trials, origins, axes, seeds)


def _check_count(prefix, configurations, entries, axes, seeds, max_trials):
    """The number of trials, configurations x entries x each axis x seeds, counted before any
    is built (a grid a typo away can multiply to millions), must not pass `max_trials`."""
    factors = [(configurations, "search configurations")] if configurations > 1 else []
    factors += [(len(entries), "trials")] if entries[0][0] else []
    factors += [(len(axis.values), axis.label.replace("overrides: ", "") + " on the command line"
                 if axis.label.startswith("overrides") else axis.label) for axis in axes]
    factors += [(len(seeds.values), "seeds")] if seeds else []
    count = math.prod(n for n, _ in factors)
    if max_trials is not None and count > max_trials:
        product = " x ".join(f"{n:,} {label}" for n, label in factors if n > 1)
        raise ConfigError(f"{prefix}: {count:,} trials ({product}), more than --max-trials "
                          f"{max_trials:,}; pass --max-trials {count} to run them all")


def _unique(prefix, trials, origins, axes, seeds):
    """The trials, each once. Two with one run_id would share a results folder: an error that
    names both where they differ, unless they are two draws of one search configuration
    (a random search over a few values draws some twice): then the first stands."""
    first_of, unique = {}, []
    for trial, origin in zip(trials, origins):
        if trial.run_id not in first_of:
            first_of[trial.run_id] = origin
            unique.append(trial)
            continue
        earlier = first_of[trial.run_id]
        part = next(i for i, (a, b) in enumerate(zip(earlier, origin)) if a != b)
        if part == 0:
            continue
        labels = ["search", "trials"] + [axis.label for axis in axes] + [seeds.label]
        raise ConfigError(f"{prefix}: {labels[part]}[{origin[part]}]: same configuration as "
                          f"{labels[part]}[{earlier[part]}] (run id {trial.run_id})")
    return tuple(unique)


def _seeds(value, where, label, indexed=True):
    """The seeds as an _Axis over "seed", or None when not given."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of integers >= 0, got {values.show(value)}")
    return _Axis("seed", [values.seed(seed, f"{where}[{i}]" if indexed else where)
                          for i, seed in enumerate(value)], label)
