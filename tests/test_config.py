"""Tests of experiments.sweep.config: expansion, precedence, run ids, overrides, exact error messages."""

import dataclasses
import hashlib
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from experiments.errors import ConfigError
from experiments.sweep.config import BUILTIN_DEFAULTS, TRIAL_KEYS, Sweep, TrialConfig, load_sweep

LAYERS = "layers: [784, 30, 10]"


@pytest.fixture
def write(tmp_path, monkeypatch):
    """write(text, name) -> the relative path of a new file; messages then name it exactly."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()

    def write(text, name="configs/a.yaml"):
        Path(name).write_text(textwrap.dedent(text))
        return name

    return write


def error_of(path, overrides=()):
    with pytest.raises(ConfigError) as caught:
        load_sweep(path, overrides)
    return str(caught.value)


# Expansion and precedence

def test_minimal_file_gets_builtin_defaults_and_its_stem_as_name(write):
    sweep = load_sweep(write(f"defaults: {{{LAYERS}}}\n"))
    assert sweep == Sweep("a", Path("configs/a.yaml"), "mnist", None,
                          (TrialConfig(layers=(784, 30, 10)),))
    (trial,) = sweep.trials
    assert (trial.epochs, trial.mini_batch_size, trial.eta, trial.seed, trial.comment) == \
        (30, 10, 3.0, 0, "")
    assert (trial.train_size, trial.dtype, trial.activation, trial.cost, trial.dataset) == \
        (None, "float32", "sigmoid", "quadratic", "mnist")


def test_quick_style_file(write):
    path = write("""
        name: quick
        dataset: mnist
        defaults: {epochs: 3, mini_batch_size: 10, eta: 3.0, train_size: 5000}
        seeds: [0]
        trials:
          - {layers: [784, 30, 10], comment: Nielsen's network on a slice}
          - {layers: [784, 10], comment: without hidden layer}
        grid:
          eta: [1.0, 3.0]
    """)
    sweep = load_sweep(path)
    assert sweep.name == "quick" and sweep.data_dir is None
    assert [(t.layers, t.eta, t.epochs, t.train_size) for t in sweep.trials] == [
        ((784, 30, 10), 1.0, 3, 5000), ((784, 30, 10), 3.0, 3, 5000),
        ((784, 10), 1.0, 3, 5000), ((784, 10), 3.0, 3, 5000)]


def test_expansion_is_trials_then_grid_in_written_order_then_seeds(write):
    path = write("""
        trials: [{layers: [784, 10]}, {layers: [784, 30, 10]}]
        grid: {mini_batch_size: [10, 50], eta: [0.5, 3]}
        seeds: [7, 8]
    """)
    got = [(len(t.layers), t.mini_batch_size, t.eta, t.seed) for t in load_sweep(path).trials]
    assert got == [(layers, batch, eta, seed) for layers in (2, 3) for batch in (10, 50)
                   for eta in (0.5, 3.0) for seed in (7, 8)]


def test_precedence_builtin_defaults_trial_grid_then_command_line(write):
    path = write("""
        defaults: {layers: [784, 10], epochs: 5, mini_batch_size: 20, eta: 2.0}
        trials:
          - {epochs: 6, mini_batch_size: 30, eta: 1.0}
        grid: {eta: [0.25]}
    """)
    (trial,) = load_sweep(path).trials
    assert (trial.seed, trial.epochs, trial.mini_batch_size, trial.eta) == (0, 6, 30, 0.25)
    (trial,) = load_sweep(path, ["epochs=1"]).trials
    assert trial.epochs == 1


def test_values_are_stored_in_their_types(write):
    path = write("""
        data_dir: /data/mnist
        defaults: {layers: [784, 10], eta: 3, train_size: 100, dtype: float64, comment: x}
    """)
    sweep = load_sweep(path)
    (trial,) = sweep.trials
    assert sweep.data_dir == "/data/mnist"
    assert type(trial.eta) is float and trial.layers == (784, 10) and trial.train_size == 100
    assert trial.dtype == "float64" and trial.comment == "x"


def test_null_sections_are_absent_and_dataset_reaches_every_trial(write):
    path = write(f"""
        name: null
        dataset: fashion-mnist
        data_dir: null
        seeds: null
        grid: null
        trials: [{{{LAYERS}}}, {{layers: [784, 10]}}]
    """)
    sweep = load_sweep(path)
    assert sweep.name == "a" and sweep.dataset == "fashion-mnist" and len(sweep.trials) == 2
    assert {trial.dataset for trial in sweep.trials} == {"fashion-mnist"}


def test_seed_may_be_swept_by_the_grid_when_seeds_is_absent(write):
    path = write(f"defaults: {{{LAYERS}}}\ngrid: {{seed: [1, 2]}}\n")
    assert [t.seed for t in load_sweep(path).trials] == [1, 2]


def test_trial_keys_and_builtin_defaults():
    assert TRIAL_KEYS == ("layers", "epochs", "mini_batch_size", "eta", "seed", "comment",
                          "train_size", "dtype", "activation", "cost", "init", "lmbda",
                          "momentum", "early_stopping", "eta_schedule", "reference", "source")
    assert "layers" not in BUILTIN_DEFAULTS and BUILTIN_DEFAULTS["eta"] == 3.0


# run ids

def test_run_id_is_pinned():
    trial = TrialConfig(layers=(784, 30, 10))
    canonical = ('{"activation":"sigmoid","cost":"quadratic","dataset":"mnist","dtype":"float32",'
                 '"epochs":30,"eta":3.0,"layers":[784,30,10],"mini_batch_size":10,"seed":0,'
                 '"train_size":null}')
    assert hashlib.sha256(canonical.encode()).hexdigest()[:8] == "f1d24039"
    assert trial.run_id == "784-30-10_e30_b10_eta3_s0_f1d24039"
    assert trial.layers_label == "784-30-10"
    small_eta = TrialConfig(layers=(784, 10), eta=0.001, seed=2)
    assert small_eta.run_id.startswith("784-10_e30_b10_eta0.001_s2_")


def test_run_id_ignores_the_labels_but_not_any_other_field():
    base = TrialConfig(layers=(784, 30, 10))
    labels = {"comment": "edited", "reference": 0.95, "source": "the book"}
    assert dataclasses.replace(base, **labels).run_id == base.run_id
    other_values = {"layers": (784, 20, 10), "epochs": 31, "mini_batch_size": 11, "eta": 3.5,
                    "seed": 1, "train_size": 100, "dataset": "fashion-mnist", "dtype": "float64",
                    "activation": "other", "cost": "other", "init": "scaled", "lmbda": 5.0,
                    "momentum": 0.9, "early_stopping": 10, "eta_schedule": "halve"}
    assert set(other_values) | set(labels) == {f.name for f in dataclasses.fields(TrialConfig)}
    ids = {dataclasses.replace(base, **{key: value}).run_id for key, value in other_values.items()}
    assert len(ids) == len(other_values) and base.run_id not in ids


def test_as_dict_is_plain_and_dumpable():
    values = TrialConfig(layers=(784, 10), comment="c").as_dict()
    assert values["layers"] == [784, 10] and list(values)[:2] == ["layers", "epochs"]
    assert yaml.safe_load(yaml.safe_dump(values)) == values == json.loads(json.dumps(values))


# Command-line overrides

def test_single_value_override_replaces_the_key_and_its_grid_axis(write):
    path = write(f"trials: [{{{LAYERS}, eta: 1.0}}, {{layers: [784, 10]}}]\n"
                 "grid: {eta: [0.5, 2]}\n")
    assert [t.eta for t in load_sweep(path, ["eta=0.1"]).trials] == [0.1, 0.1]


def test_comma_sweep_becomes_the_last_grid_axis(write):
    path = write(f"defaults: {{{LAYERS}}}\ngrid: {{eta: [9.0], epochs: [1, 2]}}\n")
    got = [(t.epochs, t.eta) for t in load_sweep(path, ["eta=0.5,3"]).trials]
    assert got == [(1, 0.5), (1, 3.0), (2, 0.5), (2, 3.0)]


def test_layers_sweep_and_list_values(write):
    path = write(f"defaults: {{{LAYERS}}}\n")
    sweep = load_sweep(path, ["layers=[784,30,10],[784, 100, 10]"])
    assert [t.layers for t in sweep.trials] == [(784, 30, 10), (784, 100, 10)]
    assert [t.layers for t in load_sweep(path, ["layers=[784,10]"]).trials] == [(784, 10)]


def test_top_level_and_text_overrides(write):
    path = write(f"name: a\ndefaults: {{{LAYERS}, train_size: 10}}\n")
    sweep = load_sweep(path, ["name=try", "dataset=fashion-mnist", "data_dir=/d",
                              "comment='hello, world'", "train_size=null"])
    assert (sweep.name, sweep.dataset, sweep.data_dir) == ("try", "fashion-mnist", "/d")
    (trial,) = sweep.trials
    assert (trial.comment, trial.train_size) == ("hello, world", None)


def test_seed_overrides_replace_seeds_without_a_conflict(write):
    path = write(f"defaults: {{{LAYERS}, seed: 5}}\ngrid: {{seed: [1, 2]}}\n")
    assert [t.seed for t in load_sweep(path, ["seed=3"]).trials] == [3]
    assert [t.seed for t in load_sweep(path, ["seed=0,1,2"]).trials] == [0, 1, 2]
    path = write(f"defaults: {{{LAYERS}}}\nseeds: [4]\n", "configs/b.yaml")
    assert [t.seed for t in load_sweep(path, ["seeds=[0,1,2]"]).trials] == [0, 1, 2]
    assert [t.seed for t in load_sweep(path, ["seed=9"]).trials] == [9]


@pytest.mark.parametrize("overrides, message", [
    (["etta=1"], "overrides: etta: unknown key (did you mean 'eta'?)"),
    (["eta=-1.0"], "overrides: eta: must be a number > 0, got -1.0"),
    (["eta=1,-1"], "overrides: eta: must be a number > 0, got -1"),
    (["eta"], "overrides: 'eta': expected key=value"),
    (["=3"], "overrides: '=3': expected key=value"),
    (["+etta=1"], "overrides: etta: unknown key (did you mean 'eta'?)"),
    (["~eta"], "overrides: '~eta': Hydra's ~key (delete a key) is not supported: every trial "
               "has every key; give its value with key=value"),
    (["seed=range(0,100000)"], "overrides: seed: cannot parse 'range(0,100000)': range(0, "
     "100000, 1) has 100000 values, more than the 10000 trials a sweep may have"),
    (["eta=range(0,3)"], "overrides: eta: must be a number > 0, got 0"),
    (["epochs=true"], "overrides: epochs: must be a positive integer, got True"),
    (["layers=[784,30,11]"],
     "overrides: layers: last layer must be 10 (the classes of mnist), got 11"),
    (["layers=[784,[30],10]"],
     "overrides: layers: must be a list of at least 2 positive integers, got [784, [30], 10]"),
    (["dataset=mnsit"], "overrides: dataset: unknown data set 'mnsit' (did you mean 'mnist'?)"),
    (["name=a,b"], "overrides: name: takes a single value, not a comma sweep"),
    (["seeds=[0],[1]"], "overrides: seeds: takes one list such as [0,1,2], not a comma sweep"),
    (["seeds=3"], "overrides: seeds: must be a list of integers >= 0, got 3"),
    (["seeds=[0,-1]"], "overrides: seeds[1]: must be an integer >= 0, got -1"),
    (["seed=-1"], "overrides: seed: must be an integer >= 0, got -1"),
    (["seed=1", "seeds=[2]"], "overrides: seeds: seed and seeds both set the seeds; give one"),
    (["grid=1"], "overrides: grid: cannot be set on the command line; edit the file"),
    (["eta=1", "eta=2"], "overrides: eta: given more than once"),
    (["layers=[784,30"], "overrides: layers: cannot parse '[784,30': no viable alternative "
                         "at input '[784,30'"),
    (["qqq=1"], "overrides: qqq: unknown key, expected one of layers, epochs, mini_batch_size, "
                "eta, seed, comment, train_size, dtype, activation, cost, init, lmbda, momentum, "
                "early_stopping, eta_schedule, reference, source, name, dataset, data_dir, "
                "save_networks, seeds"),
])
def test_override_errors(write, overrides, message):
    assert error_of(write(f"defaults: {{{LAYERS}}}\n"), overrides) == message


def test_override_layers_are_checked_against_the_overridden_dataset(write, monkeypatch):
    from experiments.data import datasets
    narrow = dataclasses.replace(datasets.SOURCES["fashion-mnist"], classes=("a", "b"))
    monkeypatch.setitem(datasets.SOURCES, "fashion-mnist", narrow)
    path = write("defaults: {layers: [784, 2]}\ndataset: fashion-mnist\n")
    assert load_sweep(path).trials[0].layers == (784, 2)
    assert error_of(path, ["dataset=mnist"]) == \
        "configs/a.yaml: defaults.layers: last layer must be 10 (the classes of mnist), got 2"
    assert error_of(path, ["layers=[784,10]"]) == \
        "overrides: layers: last layer must be 2 (the classes of fashion-mnist), got 10"


# Errors in files: each message is one line naming the file, the location and the bad value

D = "defaults: {layers: [784, 10]}"
T = "trials: [{layers: [784, 30, 10]}, {layers: [784, 10]}, "  # two good trials, then the bad one
CONFLICT = "cannot be set when seeds is given (seeds already repeats every trial for each seed)"


def defaults_with(entries):
    return "defaults: {layers: [784, 10], " + entries + "}"



@pytest.mark.parametrize("text, message", [
    (T + "{layers: [784, 10], eta: -1.0}]", "trials[2].eta: must be a number > 0, got -1.0"),
    (T + "{layers: [784, 10], eta: 1e-3}]",
     "trials[2].eta: must be a number > 0, got '1e-3' (YAML reads this as text: write 1.0e-3)"),
    ("trials: [{layers: [784, 10], etta: 1}]", "trials[0].etta: unknown key (did you mean 'eta'?)"),
    ("trials: [{layers: [784, 10], dataset: mnist}]",
     "trials[0].dataset: dataset is a top-level key, it cannot be set here"),
    (defaults_with("zzz: 1"),
     "defaults.zzz: unknown key, expected one of layers, epochs, mini_batch_size, eta, seed, "
     "comment, train_size, dtype, activation, cost, init, lmbda, momentum, early_stopping, "
     "eta_schedule, reference, source"),
    (defaults_with("epochs: ten"), "defaults.epochs: must be a positive integer, got 'ten'"),
    (defaults_with("epochs: true"), "defaults.epochs: must be a positive integer, got True"),
    (defaults_with("mini_batch_size: 0"),
     "defaults.mini_batch_size: must be a positive integer or 'full', got 0"),
    (defaults_with("mini_batch_size: ful"),
     "defaults.mini_batch_size: must be a positive integer or 'full', got 'ful'"),
    (defaults_with("seed: -1"), "defaults.seed: must be an integer >= 0, got -1"),
    (defaults_with("comment: 3"), "defaults.comment: must be a string, got 3"),
    (defaults_with("train_size: 50001"),
     "defaults.train_size: must be a positive integer <= 50000, or null for all of them, "
     "got 50001"),
    (defaults_with("dtype: float16"),
     "defaults.dtype: unknown dtype 'float16' (did you mean 'float64'?)"),
    (defaults_with("dtype: 32"),
     "defaults.dtype: must be one of 'float32', 'float64', got 32"),
    (defaults_with("activation: softplus"),
     "defaults.activation: unknown activation 'softplus', expected one of 'sigmoid', 'tanh', "
     "'relu'"),
    (defaults_with("cost: cross-entropy"),
     "defaults.cost: unknown cost 'cross-entropy' (did you mean 'cross_entropy'?)"),
    (defaults_with("init: xavier"),
     "defaults.init: unknown init 'xavier', expected one of 'normal', 'scaled', 'he'"),
    (defaults_with("lmbda: -0.1"), "defaults.lmbda: must be a number >= 0, got -0.1"),
    (defaults_with("lmbda: .inf"), "defaults.lmbda: must be a number >= 0, got inf"),
    (defaults_with("momentum: 1.0"), "defaults.momentum: must be a number >= 0 and < 1, got 1.0"),
    (defaults_with("momentum: -0.1"),
     "defaults.momentum: must be a number >= 0 and < 1, got -0.1"),
    (defaults_with("early_stopping: -1"),
     "defaults.early_stopping: must be a number of epochs >= 1, or 0 or null for none, got -1"),
    (defaults_with("eta_schedule: half"),
     "defaults.eta_schedule: unknown eta schedule 'half' (did you mean 'halve'?)"),
    (defaults_with("reference: 95.07"),
     "defaults.reference: must be an accuracy as a fraction in (0, 1], e.g. 0.9507, got 95.07 "
     "(for 95.07% write 0.9507)"),
    (defaults_with("source: 3"), "defaults.source: must be a string, got 3"),
    (defaults_with("cost: quadratik"),
     "defaults.cost: unknown cost 'quadratik' (did you mean 'quadratic'?)"),
    (D + "\ngrid: {eta: 3.0}", "grid.eta: must be a non-empty list of values, got 3.0"),
    (D + "\ngrid: {eta: [1, 0]}", "grid.eta[1]: must be a number > 0, got 0"),
    (D + "\ngrid: {etaa: [1]}", "grid.etaa: unknown key (did you mean 'eta'?)"),
    ("trials: [{layers: [784, 10]}, {layers: [785, 10]}]",
     "trials[1].layers: first layer must be 784 (the inputs of mnist), got 785"),
    ("trials: [{layers: [784, 30, 9]}]",
     "trials[0].layers: last layer must be 10 (the classes of mnist), got 9"),
    ("dataset: fashion-mnist\ntrials: [{layers: [784, 3]}]",
     "trials[0].layers: last layer must be 10 (the classes of fashion-mnist), got 3"),
    ("trials: [{layers: [784]}]",
     "trials[0].layers: must be a list of at least 2 positive integers, got [784]"),
    ("trials: [{layers: [784, 0, 10]}]",
     "trials[0].layers: must be a list of at least 2 positive integers, got [784, 0, 10]"),
    ("trials: [{layers: 784-10}]",
     "trials[0].layers: must be a list of at least 2 positive integers, got '784-10'"),
    ("dataset: mnsit\n" + D, "dataset: unknown data set 'mnsit' (did you mean 'mnist'?)"),
    ("dataset: cifar\n" + D,
     "dataset: unknown data set 'cifar', expected one of 'mnist', 'fashion-mnist'"),
    ("name: a/b\n" + D,
     "name: must be a plain name (a non-empty string without '/'), got 'a/b'"),
    ("data_dir: 3\n" + D, "data_dir: must be a directory (a string) or null, got 3"),
    (D + "\ntrials: []", "empty sweep: no trials to run (trials is an empty list)"),
    (D + "\ngrid: {eta: [1.0], epochs: []}",
     "empty sweep: no trials to run (grid.epochs is an empty list)"),
    (D + "\nseeds: []", "empty sweep: no trials to run (seeds is an empty list)"),
    ("trials: [{layers: [784, 10]}, {eta: 1.0}]", "trials[1].layers: required key missing"),
    ("defaults: {eta: 1.0}", "defaults.layers: required key missing"),
    (D + "\nseeds: [0, x]", "seeds[1]: must be an integer >= 0, got 'x'"),
    (D + "\nseeds: 0", "seeds: must be a list of integers >= 0, got 0"),
    (defaults_with("seed: 1") + "\nseeds: [0]", "defaults.seed: " + CONFLICT),
    (T + "{layers: [784, 10], seed: 2}]\nseeds: [0]", "trials[2].seed: " + CONFLICT),
    (D + "\ngrid: {seed: [1]}\nseeds: [0]", "grid.seed: " + CONFLICT),
    (D + "\nseedz: [0]", "seedz: unknown key (did you mean 'seeds'?)"),
    ("- 1\n- 2", "expected a mapping at the top level, got list"),
    ("", "expected a mapping at the top level, got an empty file"),
    ("defaults: [1]", "defaults: must be a mapping of trial keys, got list"),
    ("trials: {layers: [784, 10]}", "trials: must be a list of mappings, got dict"),
    ("trials: [{layers: [784, 10]}, x]", "trials[1]: must be a mapping of trial keys, got str"),
    (D + "\ngrid: [eta]", "grid: must be a mapping of keys to lists, got list"),
    (D + "\ngrid: []", "grid: must be a mapping of keys to lists, got list"),
    ("defaults:\n  eta: 1\n    epochs: 2",
     "invalid YAML at line 3, column 11: mapping values are not allowed here"),
])
def test_file_errors(write, text, message):
    assert error_of(write(text)) == f"configs/a.yaml: {message}"


@pytest.mark.parametrize("text, message", [
    (T + "{layers: [784, 30, 10], comment: same}]", "trials[2]: same configuration as trials[0]"),
    (D + "\ngrid: {eta: [3, 1, 3.0]}", "grid.eta[2]: same configuration as grid.eta[0]"),
    (D + "\nseeds: [1, 0, 1]", "seeds[2]: same configuration as seeds[0]"),
])
def test_duplicate_trials_are_errors_naming_both(write, text, message):
    layers = (784, 30, 10) if text.startswith("trials") else (784, 10)
    seed = 1 if "seeds" in text else 0
    run_id = TrialConfig(layers=layers, seed=seed).run_id
    assert error_of(write(text)) == f"configs/a.yaml: {message} (run id {run_id})"


def test_duplicates_made_by_an_override_are_errors(write):
    path = write("trials: [{layers: [784, 10], eta: 1.0}, {layers: [784, 10], eta: 2.0}]")
    assert error_of(path, ["eta=3"]) == ("configs/a.yaml: trials[1]: same configuration as "
                                         "trials[0] (run id 784-10_e30_b10_eta3_s0_62e5bfa2)")


def test_unreadable_files(write, tmp_path):
    assert error_of("configs/missing.yaml") == "configs/missing.yaml: cannot read: no such file"
    assert error_of("configs") == "configs: cannot read: is a directory"
    Path("configs/latin1.yaml").write_bytes(b"name: caf\xe9\n")
    assert error_of("configs/latin1.yaml") == "configs/latin1.yaml: cannot read: not UTF-8 text"


def test_overrides_are_checked_before_the_file_is_read(write):
    assert error_of("configs/missing.yaml", ["etta=1"]) == \
        "overrides: etta: unknown key (did you mean 'eta'?)"


def test_path_may_be_a_path_and_is_kept_as_given(write):
    sweep = load_sweep(Path(write(f"defaults: {{{LAYERS}}}\n", "configs/b.yaml")))
    assert sweep.path == Path("configs/b.yaml") and sweep.name == "b"


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")),
                         ids=lambda path: path.name)
def test_the_shipped_configs_load(path):
    assert load_sweep(path).trials


def test_a_key_added_later_keeps_earlier_run_ids_at_its_default():
    # What adding, say, momentum to TrialConfig will do: same id while it is at its default.
    Later = dataclasses.make_dataclass("Later", [("momentum", float, 0.0)], bases=(TrialConfig,),
                                       frozen=True)
    before = TrialConfig(layers=(784, 30, 10))
    assert Later(layers=(784, 30, 10)).run_id == before.run_id
    assert Later(layers=(784, 30, 10), momentum=0.9).run_id != before.run_id


def test_train_size_of_all_images_is_the_same_trial_as_null(tmp_path):
    config = tmp_path / "s.yaml"
    config.write_text("trials:\n  - {layers: [784, 10], train_size: 50000}\n"
                      "  - {layers: [784, 10], train_size: null}\n")
    with pytest.raises(ConfigError, match=r"trials\[1\]: same configuration as trials\[0\]"):
        load_sweep(config)


# Hydra's sweeps and +key on the command line

def test_range_and_choice_sweep_like_a_comma_list(write):
    path = write(f"defaults: {{{LAYERS}}}\n")
    assert [t.seed for t in load_sweep(path, ["seed=range(0,3)"]).trials] == [0, 1, 2]
    assert [t.eta for t in load_sweep(path, ["eta=choice(0.5,1,3)"]).trials] == [0.5, 1.0, 3.0]
    assert [t.eta for t in load_sweep(path, ["eta=range(0.5,2,0.5)"]).trials] == [0.5, 1.0, 1.5]
    assert [t.layers for t in load_sweep(path, ["layers=choice([784,10],[784,30,10])"]).trials] \
        == [(784, 10), (784, 30, 10)]


def test_plus_key_adds_a_key_the_file_does_not_set(write):
    path = write(f"defaults: {{{LAYERS}}}\n")
    sweep = load_sweep(path, ["+comment=first try", "+seed=range(0,2)", "+name=try"])
    assert [(t.comment, t.seed) for t in sweep.trials] == [("first try", 0), ("first try", 1)]
    assert sweep.name == "try"


@pytest.mark.parametrize("text, item, where", [
    (f"defaults: {{{LAYERS}, eta: 1.0}}\n", "+eta=2", "defaults.eta"),
    (f"trials: [{{layers: [784, 10]}}, {{{LAYERS}, comment: x}}]\n", "+comment=y",
     "trials[1].comment"),
    (f"defaults: {{{LAYERS}}}\ngrid: {{epochs: [1, 2]}}\n", "+epochs=3", "grid.epochs"),
    (f"defaults: {{{LAYERS}}}\nseeds: [0, 1]\n", "+seed=3", "seeds"),
    (f"defaults: {{{LAYERS}}}\nseeds: [0, 1]\n", "+seeds=[3]", "seeds"),
    (f"name: a\ndefaults: {{{LAYERS}}}\n", "+name=b", "name"),
])
def test_plus_key_refuses_a_key_the_file_sets_as_hydra_does(write, text, item, where):
    key = item[1:].partition("=")[0]
    assert error_of(write(text), [item]) == (
        f"overrides: +{key}: configs/a.yaml already sets it ({where}); "
        f"override it with {key}=... or ++{key}=...")
    overridden = load_sweep("configs/a.yaml", ["+" + item])  # ++key: add or override
    assert overridden.trials


def test_plus_plus_key_overrides_like_a_plain_key(write):
    path = write(f"defaults: {{{LAYERS}, eta: 1.0}}\n")
    assert [t.eta for t in load_sweep(path, ["++eta=0.5,2"]).trials] == [0.5, 2.0]


# Hostile files: bounds on numbers, YAML that safe_load would let through, huge values

@pytest.mark.parametrize("text, message", [
    (defaults_with("epochs: 10001"), "defaults.epochs: must be a positive integer <= 10000, "
                                     "got 10001"),
    (defaults_with("mini_batch_size: 50001"),
     "defaults.mini_batch_size: must be a positive integer <= 50000, got 50001"),
    (defaults_with("seed: 4294967296"),
     "defaults.seed: must be an integer from 0 to 4294967295, got 4294967296"),
    (D + "\nseeds: [0, 4294967296]", "seeds[1]: must be an integer from 0 to 4294967295, "
                                     "got 4294967296"),
    ("trials: [{layers: [784, 1000001, 10]}]",
     "trials[0].layers: at most 1000000 neurons in a layer, got 1000001"),
    ("trials: [{layers: [784" + ", 1" * 19 + ", 10]}]",
     "trials[0].layers: at most 20 layers (input and output included), got 21"),
    (D + "\ngrid: {eta: [" + ", ".join(f"{i}.5" for i in range(101)) + "], "
     "epochs: [" + ", ".join(str(i) for i in range(1, 101)) + "]}",
     "10,100 trials (101 grid.eta x 100 grid.epochs), more than --max-trials 10,000; pass "
     "--max-trials 10100 to run them all"),
    ("trials: [{layers: [784, 10]}, {layers: [784, 30, 10]}]\nseeds: [" +
     ", ".join(map(str, range(5001))) + "]",
     "10,002 trials (2 trials x 5,001 seeds), more than --max-trials 10,000; pass "
     "--max-trials 10002 to run them all"),
    (D + "\nname: a\nname: b", "invalid YAML at line 3, column 1: duplicate key 'name' "
                               "(first at line 2)"),
    ("defaults: {layers: [784, 10], eta: 0.5, eta: 3.0}",
     "invalid YAML at line 1, column 41: duplicate key 'eta' (first at line 1)"),
    (defaults_with("epochs: " + "9" * 5000),
     "invalid YAML at line 1, column 39: a value of 5000 characters is not a valid int"),
    ("defaults: {layers: " + "[" * 3000, "invalid YAML at line 1, column 68: nested more than "
                                         "50 levels deep"),
    ('"a\\r\\nb": 1', "'a\\r\\nb': unknown key, expected one of name, dataset, data_dir, "
                    "save_networks, defaults, seeds, trials, grid, search, early_terminate"),
    ("'': 1", "'': unknown key, expected one of name, dataset, data_dir, save_networks, "
              "defaults, seeds, trials, grid, search, early_terminate"),
])
def test_hostile_files(write, text, message):
    assert error_of(write(text)) == f"configs/a.yaml: {message}"


def test_a_value_made_of_nested_aliases_is_shown_short_not_expanded(write):
    # Nine levels of ten aliases: a billion items, whose repr would never end.
    levels = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [
        f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = write(f"defaults:\n  layers: [784, 10]\n  comment: [{', '.join(levels)}]\n")
    assert error_of(path) == ("configs/a.yaml: defaults.comment: must be a string, got "
                              "[[1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [[1, 1, 1, 1, 1, 1, 1, 1...")


def test_the_longest_run_id_the_limits_allow_names_a_folder():
    from experiments.sweep import limits
    trial = TrialConfig(layers=(784,) + (limits.MAX_LAYER_SIZE,) * (limits.MAX_LAYERS - 2) + (10,),
                        epochs=limits.MAX_EPOCHS, mini_batch_size=50_000, eta=1.2345678e-300,
                        seed=limits.MAX_SEED)
    assert len(trial.run_id.encode()) < 255  # NAME_MAX of ext4, APFS, NTFS


# The trial count, checked before expansion

BIG = """\
trials:
  - {layers: [784, 10]}
  - {layers: [784, 30, 10]}
grid:
  eta: [%s]
seeds: [0, 1, 2, 3, 4]
""" % ", ".join(f"{i + 1}.0" for i in range(200))


def test_too_many_trials_are_refused_before_any_is_expanded(write, monkeypatch):
    from experiments.sweep import config

    monkeypatch.setattr(config, "_expand", lambda *args: pytest.fail("expanded"))
    with pytest.raises(ConfigError) as caught:
        load_sweep(write(BIG), ["epochs=1,2,3"], max_trials=5000)
    assert str(caught.value) == (
        "configs/a.yaml: 6,000 trials (2 trials x 200 grid.eta x 3 epochs on the command line "
        "x 5 seeds), more than --max-trials 5,000; pass --max-trials 6000 to run them all")


def test_a_sweep_of_exactly_max_trials_expands(write):
    assert len(load_sweep(write(BIG), max_trials=2000).trials) == 2000
    assert len(load_sweep(write(BIG)).trials) == 2000  # no limit


def test_a_million_trial_dry_run_answers_in_under_a_second_with_one_line(write, capsys):
    from time import perf_counter

    from experiments.sweep.cli import main

    start = perf_counter()
    assert main([write(BIG), "--dry-run", "mini_batch_size=" + ",".join(map(str, range(1, 1001)))]) == 2
    assert perf_counter() - start < 1.0
    out, err = capsys.readouterr()
    assert out == "" and err == (
        "sweep: configs/a.yaml: 2,000,000 trials (2 trials x 200 grid.eta x 1,000 "
        "mini_batch_size on the command line x 5 seeds), more than --max-trials 10,000; "
        "pass --max-trials 2000000 to run them all\n")
