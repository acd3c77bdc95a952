"""Tests of experiments.sweep.loader: safe_load's values; duplicate keys, deep nesting, bad scalars."""

from pathlib import Path

import pytest
import yaml

from experiments.sweep.loader import MAX_DEPTH, SweepLoader, load_yaml

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


def problem_of(text):
    """(problem, line) of the error that loading `text` raises."""
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        load_yaml(text)
    return caught.value.problem, caught.value.problem_mark.line + 1


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_the_same_values_as_safe_load(path):
    assert load_yaml(path.read_text()) == yaml.safe_load(path.read_text())


def test_is_a_safe_loader_that_builds_no_objects():
    assert issubclass(SweepLoader, yaml.SafeLoader)
    assert problem_of("a: !!python/object/apply:os.system [echo hi]")[0].startswith(
        "could not determine a constructor for the tag")


@pytest.mark.parametrize("text, problem, line", [
    ("eta: 0.5\nepochs: 3\neta: 3.0\n", "duplicate key 'eta' (first at line 1)", 3),
    ("defaults:\n  eta: 0.5\n  eta: 0.5\n", "duplicate key 'eta' (first at line 2)", 3),
    ("trials:\n  - {layers: [784, 10], layers: [784, 30, 10]}\n",
     "duplicate key 'layers' (first at line 2)", 2),
    ("1: a\n1.0: b\n", "duplicate key 1.0 (first at line 1)", 2),  # one key for Python
])
def test_a_key_given_twice_is_an_error_naming_it_and_both_lines(text, problem, line):
    assert problem_of(text) == (problem, line)


def test_the_same_key_in_two_mappings_and_merge_keys_are_not_duplicates():
    text = ("base: &base {epochs: 3, eta: 1.0}\n"
            "trials:\n  - {<<: *base, eta: 2.0}\n  - {eta: 0.5, <<: *base}\n")
    assert load_yaml(text)["trials"] == [{"epochs": 3, "eta": 2.0}, {"epochs": 3, "eta": 0.5}]


def test_nesting_is_bounded_before_pyyaml_recurses():
    assert load_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    assert problem_of("a: " + "[" * 3000) == (f"nested more than {MAX_DEPTH} levels deep", 1)


@pytest.mark.parametrize("text, problem", [
    ("epochs: " + "9" * 5000, "a value of 5000 characters is not a valid int"),
    ("name: !!timestamp 2001-13-99", "'2001-13-99' is not a valid timestamp"),
    ("name: 2001-02-30", "'2001-02-30' is not a valid timestamp"),
    ("name: !!timestamp", "'' is not a valid timestamp"),
    ("eta: !!float", "'' is not a valid float"),  # these three were IndexError and KeyError
    ("epochs: !!int", "'' is not a valid int"),
    ("name: !!bool maybe", "'maybe' is not a valid bool"),
])
def test_a_scalar_its_tag_cannot_read_is_an_error_not_a_python_exception(text, problem):
    assert problem_of(text) == (problem, 1)
