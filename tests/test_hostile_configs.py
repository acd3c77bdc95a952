"""Property tests of sweep files and overrides: any input gives a sweep or one line of our error.

Random YAML documents, random damage to the shipped configs and random override strings
go through load_sweep (and a few through the `sweep` command). The property: success, or
an NNSweepError whose message is one non-empty line; never another exception, never more
than a few seconds, never more than a few tens of MiB. Every example that once failed,
found by hypothesis or by hand while writing these tests, is kept as an @example, which
hypothesis runs first, every time.
"""

import contextlib
import io
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from experiments.errors import NNSweepError
from experiments.sweep.cli import main
from experiments.sweep.config import TOP_LEVEL_KEYS, TRIAL_KEYS, load_sweep

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
SHIPPED = [path.read_text() for path in CONFIGS]
BASE = "defaults: {layers: [784, 30, 10], epochs: 1}\n"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    """One file that every example rewrites (hypothesis runs many examples per test call)."""
    return tmp_path_factory.mktemp("hostile") / "sweep.yaml"


def outcome(path, overrides=()):
    """None when the sweep loads, else its error message, checked to be one line."""
    try:
        load_sweep(path, overrides)
    except NNSweepError as error:
        message = str(error)
        assert len(message.splitlines()) == 1 and message.strip(), repr(message)
        return message
    return None


def check_text(path, text, within_bounds, overrides=()):
    path.write_text(text, encoding="utf-8")
    with within_bounds():
        return outcome(path, overrides)


# Strategies

KEYS = st.one_of(st.sampled_from(TOP_LEVEL_KEYS + TRIAL_KEYS + ("seed", "etta")),
                 st.text(max_size=6))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.integers(-3, 800),
    st.floats(), st.text(max_size=12),
    st.sampled_from(["mnist", "fashion-mnist", "float32", "float64", "sigmoid", "quadratic",
                     "1e-3", "", "/", ".", ".."]))
VALUES = st.recursive(SCALARS, lambda children: st.lists(children, max_size=5)
                      | st.dictionaries(KEYS, children, max_size=4), max_leaves=25)
LAYERS = st.one_of(
    st.lists(st.integers(-1, 2**40), max_size=6).map(lambda middle: [784, *middle, 10]), VALUES)
TRIAL = st.dictionaries(st.sampled_from(TRIAL_KEYS + ("etta",)),
                        st.one_of(VALUES, LAYERS), max_size=4)
DOCUMENTS = st.one_of(
    VALUES,
    st.fixed_dictionaries({}, optional={
        "name": VALUES, "dataset": st.sampled_from(["mnist", "fashion-mnist", "cifar"]) | VALUES,
        "data_dir": VALUES, "defaults": TRIAL | VALUES,
        "seeds": st.lists(st.integers(-2, 2**70), max_size=6) | VALUES,
        "trials": st.lists(TRIAL, max_size=4) | VALUES,
        "grid": st.dictionaries(st.sampled_from(TRIAL_KEYS + ("zz",)),
                                st.lists(VALUES, max_size=4) | VALUES, max_size=3)}))

# Pieces of YAML text, hostile ones among them: huge numbers, deep nesting, anchors and
# aliases (exponential expansion), tags, impossible dates, merge keys, duplicate keys.
YAML_PIECES = st.sampled_from([
    "\n", "\n  ", "\n    ", "- ", ": ", ", ", "{", "}", "[", "]", "? ", "#", "'", '"', "|", ">",
    "---\n", "...\n", "&a ", "*a", "&b ", "*b", "<<: *a", "!!binary ", "!!timestamp ",
    "!!set ", "!!omap ", "!!python/object:os.system ", "!!int ", "!!float ", "%YAML 1.1\n",
    "name", "dataset", "defaults", "trials", "grid", "seeds", "layers", "epochs", "eta",
    "seed", "mini_batch_size", "train_size", "dtype", "comment", "data_dir", "784", "10",
    "30", "0", "-1", "3.0", "1e-3", "1.0e+300", ".nan", ".inf", "0x1F", "0o17", "1_000",
    "2001-13-99", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "12:30:45", "true", "null",
    "~", "mnist", "float64", "é", "\t", "\x00", "\ufeff", "9" * 5000, "[" * 60, "{a: " * 60,
])
YAML_TEXT = st.lists(YAML_PIECES, max_size=30).map("".join)


@st.composite
def damaged_config(draw):
    """A shipped config with a few random edits of its text."""
    text = draw(st.sampled_from(SHIPPED))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "repeat line"]))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "insert":
            text = text[:start] + draw(YAML_PIECES | st.text(max_size=3)) + text[start:]
        elif kind == "replace":
            text = text[:start] + draw(st.text(max_size=3)) + text[end:]
        else:
            lines = text.splitlines(keepends=True) or [""]
            line = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[:line + 1] + lines[line:])
    return text


@st.composite
def altered_config(draw):
    """A shipped config with one value of its parsed document replaced or deleted."""
    document = yaml.safe_load(draw(st.sampled_from(SHIPPED)))
    parents = [document]
    node = document
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        parents.append(node)
        node = node[draw(st.sampled_from(list(node) if isinstance(node, dict)
                                          else range(len(node))))]
    parent = parents[-1]
    slot = draw(st.sampled_from(list(parent) if isinstance(parent, dict) else range(len(parent))))
    if draw(st.booleans()):
        parent[slot] = draw(VALUES | LAYERS)
    else:
        del parent[slot]
    return yaml.safe_dump(document, sort_keys=False)


OVERRIDE_KEYS = st.sampled_from([*TRIAL_KEYS, "name", "dataset", "data_dir", "seeds", "grid",
                                 "trials", "etta", "", "a.b", "a@b", "hydra/x", "e ta"])
OVERRIDE_PIECES = st.sampled_from([
    "range(", "choice(", "interval(", "glob(", "shuffle(", "sort(", "tag(", "int(", "float(",
    "str(", "bool(", ")", ",", ", ", "[", "]", "{", "}", ":", "'", '"', "\\", "\\,", "=", " ",
    "0", "1", "3", "10", "784", "30", "-1", "0.5", "1e-3", "inf", "nan", "null", "true",
    "mnist", "float64", "9" * 30, "start=", "stop=", "step=", "${a}", "é", "x", "#", "!",
])
OVERRIDE_VALUES = st.one_of(st.lists(OVERRIDE_PIECES, max_size=12).map("".join),
                            st.text(max_size=12))
OVERRIDES = st.lists(st.tuples(st.sampled_from(["", "", "", "+", "++", "~"]), OVERRIDE_KEYS,
                               st.sampled_from(["=", "=", "=", "", " ="]), OVERRIDE_VALUES)
                     .map("".join), max_size=3)


# Properties

@settings(max_examples=400)
@given(DOCUMENTS)
@example({"\r": None})  # found: the key's line break split the message in two
@example({"defaults": {"layers": [784, 30, 10]},
          "grid": {"eta": [0.5 + i for i in range(100)], "epochs": list(range(1, 101)),
                   "mini_batch_size": list(range(1, 101))}})  # found by hand: 53 s, 1M trials
def test_random_documents(config_path, within_bounds, document):
    check_text(config_path, yaml.safe_dump(document, allow_unicode=True), within_bounds)


@settings(max_examples=500)
@given(YAML_TEXT)
@example("9" * 5000)  # found: ValueError, Python's limit on int() of long strings
@example("[" * 3000)  # found: RecursionError after seconds in PyYAML's composer
@example("!!timestamp ")  # found: AttributeError in PyYAML's timestamp constructor
@example("!!float ")  # found: IndexError in PyYAML's float constructor
@example("!!int ")  # found: IndexError in PyYAML's int constructor
@example("name: 2001-13-99")  # found by hand: ValueError (month must be in 1..12)
@example("defaults: {layers: [784, 10], comment: [&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], " + ", ".join(
    f"&{k} [{', '.join([f'*{chr(ord(k) - 1)}'] * 10)}]" for k in "bcdefghi") + "]}")  # by hand:
# an alias bomb (a billion items) whose repr in the message never ended
def test_random_yaml_text(config_path, within_bounds, text):
    check_text(config_path, text, within_bounds)


@settings(max_examples=300)
@given(damaged_config())
def test_damaged_shipped_configs(config_path, within_bounds, text):
    check_text(config_path, text, within_bounds)


@settings(max_examples=300)
@given(altered_config())
def test_altered_shipped_configs(config_path, within_bounds, text):
    check_text(config_path, text, within_bounds)


@settings(max_examples=600)
@given(OVERRIDES)
@example(["epochs=" + "9" * 5000])  # found by hand: ValueError inside Hydra's visitor
@example(["eta=" + "[" * 3000])  # found by hand: 3 s of ANTLR recursion
@example(["seed=range(0,1000000000000)"])  # found by hand: would build 10**12 values
def test_random_overrides(config_path, within_bounds, overrides):
    check_text(config_path, BASE, within_bounds, overrides)


@settings(max_examples=60)
@given(st.one_of(damaged_config(), YAML_TEXT), OVERRIDES)
def test_the_command_exits_0_or_2_with_one_line(tmp_path_factory, within_bounds, text,
                                                 overrides):
    directory = tmp_path_factory.mktemp("command")
    (directory / "s.yaml").write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with within_bounds(seconds=5), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = main([str(directory / "s.yaml"), *overrides, "--dry-run",
                     "--out", str(directory / "out")])
    assert code in (0, 2)
    if code == 2:
        assert err.getvalue().startswith("sweep: ") and err.getvalue().count("\n") == 1
    else:
        assert err.getvalue() == ""
