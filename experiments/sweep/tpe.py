"""A `method: tpe` search: Optuna's TPE sampler chooses each configuration from the results so far.

The study lives in the results directory (study.journal, Optuna's journal file storage),
so that an interrupted search resumes its study: configurations already told count toward
`count`, and those asked but never told (running when the sweep stopped) are trained again
(from their checkpoints) rather than replaced, so that `count: 30` interrupted after 12 ends
with 30 configurations, not 42. A configuration is crossed with the sweep's trial entries
and seeds like a grid point; it is told the mean of their metric once all are recorded.
Optuna is an optional extra (pip install ".[optuna]"), imported only here.
"""

import math
import signal
from contextlib import contextmanager

import numpy as np

from experiments.errors import ConfigError
from experiments.store.columns import FINISHED, PRUNED

STUDY_FILE = "study.journal"


def optuna_module():
    """optuna, or a one-line ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError('search.method: tpe needs Optuna: pip install "nn-sweep[optuna]" '
                          '(or use method: random)') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our lines, not its log
    return optuna


class TpePlan:
    """The groups a TPE search trains next, asked of the study as workers free up.

    make_groups: how trials become groups (sweep.groups.make_groups with the sweep's
    options); on_new_trials(trials): told of every trial before it is submitted.
    """

    def __init__(self, sweep, directory, recorded, make_groups, on_new_trials=lambda t: None):
        """recorded: {run_id: (status, metric value)} of the trials recorded already."""
        optuna = optuna_module()
        self.sweep, self.search = sweep, sweep.search
        self.make_groups, self.on_new_trials = make_groups, on_new_trials
        self.recorded = dict(recorded)
        self.distributions = _distributions(optuna, self.search)
        self.constants = {p.key: p.choices[0] for p in self.search.parameters
                          if p.distribution == "value"}
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(directory / STUDY_FILE)))
        study = optuna.load_study if _has_study(optuna, storage, sweep.name) else None
        existing = study(study_name=sweep.name, storage=storage).trials if study else []
        # A resumed study draws on from a seed of its own: the first run's seed again would
        # propose its first configurations again (TPE starts with random draws).
        seed = int(np.random.SeedSequence([self.search.seed, len(existing)]).generate_state(1)[0])
        self.study = optuna.create_study(storage=storage, sampler=optuna.samplers.TPESampler(
            seed=seed), study_name=sweep.name, direction=self.search.goal, load_if_exists=True)
        self.state = optuna.trial.TrialState
        existing = self.study.get_trials(deepcopy=False)
        self.asked = len(existing)
        self.resumable = [t for t in existing if t.state == self.state.RUNNING]
        self.waiting = {}  # optuna trial number -> {run_id: metric value or None}

    def next_groups(self, slots):
        """Groups for up to `slots` new configurations; [] when there are none to start."""
        groups = []
        while slots > 0 and (self.resumable or self.asked < self.search.count):
            if self.resumable:
                frozen = self.resumable.pop(0)
                number, params = frozen.number, frozen.params
            else:
                with _uninterrupted():  # a trial asked but half-drawn could not be resumed
                    trial = self.study.ask(self.distributions)
                number, params = trial.number, trial.params
                self.asked += 1
            # the same configuration always makes the same trials, with the same run ids:
            # a resumed configuration finds what it recorded, and its checkpoints
            trials = self.sweep.expansion.trials([self._configuration(params)])
            self.waiting[number] = {t.run_id: None for t in trials}
            to_run = [t for t in trials if t.run_id not in self.recorded]
            for trial in trials:
                if trial.run_id in self.recorded:  # recorded before the interruption
                    self._arrived(number, trial.run_id, self.recorded[trial.run_id])
            if to_run:
                self.on_new_trials(to_run)
                groups += self.make_groups(to_run)
                slots -= 1
        return groups

    def told(self, result, metric_value):
        """Note a trial's final result; tell the study when its configuration is complete."""
        for number, values in self.waiting.items():
            if result.trial.run_id in values:
                self._arrived(number, result.trial.run_id, (result.status, metric_value))
                return

    @property
    def exhausted(self):
        return not self.resumable and self.asked >= self.search.count

    def _arrived(self, number, run_id, outcome):
        """(status, value) of one trial of configuration `number`; told when all are in."""
        outcomes = self.waiting[number]
        outcomes[run_id] = outcome
        if any(value is None for value in outcomes.values()):
            return
        del self.waiting[number]
        finished = [value for status, value in outcomes.values() if status == FINISHED
                    and value is not None and math.isfinite(value)]
        with _uninterrupted():
            if finished:
                self.study.tell(number, sum(finished) / len(finished))
            elif all(status == PRUNED for status, _ in outcomes.values()):
                self.study.tell(number, state=self.state.PRUNED)
            else:
                self.study.tell(number, state=self.state.FAIL)

    def _configuration(self, params):
        configuration = {key: _decode(key, value) for key, value in params.items()}
        return {**configuration, **self.constants}


@contextmanager
def _uninterrupted():
    """Hold Ctrl-C and SIGTERM back until the study's journal has the whole of an operation."""
    held = []
    previous = {number: signal.signal(number, lambda *args: held.append(args))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if held:
            raise KeyboardInterrupt


def _has_study(optuna, storage, name):
    return any(summary.study_name == name for summary in storage.get_all_studies())


def _distributions(optuna, search):
    """Optuna distributions of the searched parameters (constants are not searched)."""
    distributions = {}
    for p in search.parameters:
        if p.distribution == "values":
            distributions[p.key] = optuna.distributions.CategoricalDistribution(
                [_encode(choice) for choice in p.choices])
        elif p.distribution == "int_uniform":
            distributions[p.key] = optuna.distributions.IntDistribution(int(p.low), int(p.high))
        elif p.distribution != "value":
            distributions[p.key] = optuna.distributions.FloatDistribution(
                p.low, p.high, log=p.distribution == "log_uniform_values",
                step=p.q if p.distribution == "q_uniform" else None)
    return distributions


def _encode(choice):
    """A categorical value as Optuna stores it: layers (a tuple) as "784-30-10"."""
    return "-".join(map(str, choice)) if isinstance(choice, tuple) else choice


def _decode(key, value):
    if key == "layers" and isinstance(value, str):
        return tuple(int(size) for size in value.split("-"))
    return value
