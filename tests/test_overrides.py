"""Tests of experiments.sweep.overrides: the key=value grammar, its errors, and how items are sorted."""

import pytest

from experiments.errors import ConfigError
from experiments.sweep.overrides import (
    Override,
    did_you_mean,
    parse_overrides,
    parse_value,
    sort_overrides,
)


@pytest.mark.parametrize("text, choices", [
    ("1", [1]), ("-3", [-3]), ("1_000", [1000]), ("0.5", [0.5]), ("1e-3", [0.001]),
    ("-2.5E+2", [-250.0]), (".5", [0.5]), ("inf", [float("inf")]),
    ("true", [True]), ("False", [False]), ("null", [None]),
    ("mnist", ["mnist"]), ("fashion-mnist", ["fashion-mnist"]), ("/data/mnist", ["/data/mnist"]),
    ("'3'", ["3"]), ('"a, b"', ["a, b"]), ("'hello, world'", ["hello, world"]),
    (r"'it\'s'", ["it's"]), ("''", [""]), ("", [""]), ("  ", [""]),
    ("[784,30,10]", [[784, 30, 10]]), ("[ 784 , 30 ]", [[784, 30]]), ("[]", [[]]),
    ("[[1,2],[3]]", [[[1, 2], [3]]]), ("['a,b', x]", [["a,b", "x"]]),
    ("0.5,3.0", [0.5, 3.0]), ("0.5, 3", [0.5, 3]),
    ("[784,30,10],[784,100,10]", [[784, 30, 10], [784, 100, 10]]),
    ("a,'b,c',null", ["a", "b,c", None]), ("hello world", ["hello world"]),
    ("[784 30]", [["784 30"]]),  # a bare word may hold spaces; config's check of layers refuses it
])
def test_values(text, choices):
    assert parse_value(text) == choices


@pytest.mark.parametrize("item, message", [
    ("eta", "overrides: 'eta': expected key=value"),
    ("=1", "overrides: '=1': expected key=value"),
    ("e ta=1", "overrides: 'e ta=1': expected key=value"),
    ("layers=[784,30", "overrides: layers: cannot parse '[784,30': unclosed '['"),
    ("layers=[[1] 2]", "overrides: layers: cannot parse '[[1] 2]': "
                       "expected ',' or ']' at position 5, got '2'"),
    ("layers=[784,]",
     "overrides: layers: cannot parse '[784,]': missing value before ']' at position 5"),
    ("eta=1,", "overrides: eta: cannot parse '1,': missing value before the end"),
    ("eta=,1", "overrides: eta: cannot parse ',1': missing value before ',' at position 0"),
    ("comment='abc",
     "overrides: comment: cannot parse \"'abc\": unterminated quote starting at position 0"),
    ("comment='a'b", "overrides: comment: cannot parse \"'a'b\": unexpected 'b' at position 3"),
    ("eta=1]", "overrides: eta: cannot parse '1]': unexpected ']' at position 1"),
])
def test_syntax_errors(item, message):
    with pytest.raises(ConfigError) as caught:
        parse_overrides([item])
    assert str(caught.value) == message


def test_items_keep_their_order_and_say_whether_they_sweep():
    assert parse_overrides(["eta=0.5,3", "epochs=1", "value==x"]) == [
        Override("eta", (0.5, 3), True), Override("epochs", (1,), False),
        Override("value", ("=x",), False)]


def test_a_repeated_key_is_an_error():
    with pytest.raises(ConfigError, match=r"^overrides: eta: given more than once$"):
        parse_overrides(["eta=1", "eta=2"])


def test_sorting():
    command_line = sort_overrides(
        ["eta=1", "epochs=1,2", "name=x", "seed=0,1"], trial_keys=("eta", "epochs", "seed"),
        settings=("name",), file_keys=("name", "grid"))
    assert command_line.fixed == {"eta": 1} and command_line.sweeps == {"epochs": [1, 2]}
    assert command_line.settings == {"name": "x"}
    assert (command_line.seeds, command_line.seeds_key) == ([0, 1], "seed")
    command_line = sort_overrides(["seeds=[3]"], ("seed",), (), ())
    assert (command_line.seeds, command_line.seeds_key) == ([3], "seeds")
    assert sort_overrides([], ("seed",), (), ()).seeds_key == ""


def test_did_you_mean():
    assert did_you_mean("etta", ("eta", "epochs")) == " (did you mean 'eta'?)"
    assert did_you_mean("zzz", ("eta", "epochs")) == ", expected one of eta, epochs"
    assert did_you_mean("zzz", ("a", "b"), quote=True) == ", expected one of 'a', 'b'"
