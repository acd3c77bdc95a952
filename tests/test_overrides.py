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
    ("+++eta=1", "overrides: '+++eta=1': expected key=value"),
    # Hydra's own messages, on one line, without ANTLR's lists of token names
    ("layers=[784,30",
     "overrides: layers: cannot parse '[784,30': no viable alternative at input '[784,30'"),
    ("layers=[[1] 2]",
     "overrides: layers: cannot parse '[[1] 2]': no viable alternative at input '[[1] '"),
    ("layers=[784,]",
     "overrides: layers: cannot parse '[784,]': no viable alternative at input '[784,]'"),
    ("eta=1,", "overrides: eta: cannot parse '1,': unexpected end"),
    ("eta=,1", "overrides: eta: cannot parse ',1': unexpected ','"),
    ("comment='abc",
     "overrides: comment: cannot parse \"'abc\": token recognition error at: ''abc'"),
    ("comment='a'b", "overrides: comment: cannot parse \"'a'b\": unexpected 'b'"),
    ("eta=1]", "overrides: eta: cannot parse '1]': unexpected ']'"),
    ("eta=choice()", "overrides: eta: cannot parse 'choice()': ValueError while evaluating "
                     "'choice()': empty choice is not legal"),
    ("layers=[784,choice(30,40),10]", "overrides: layers: cannot parse "
     "'[784,choice(30,40),10]': a sweep can only be the whole value, not inside a list or a dict"),
])
def test_syntax_errors(item, message):
    with pytest.raises(ConfigError) as caught:
        parse_overrides([item])
    assert str(caught.value) == message


@pytest.mark.parametrize("text, choices", [
    ("range(0,4)", [0, 1, 2, 3]), ("range(3)", [0, 1, 2]), ("range(3,0,-1)", [3, 2, 1]),
    ("range(0.5,2,0.5)", [0.5, 1.0, 1.5]), ("range(0,1,0.1)", [i / 10 for i in range(10)]),
    ("range(0,0)", []), ("choice(0.5,1,3)", [0.5, 1, 3]), ("choice(1)", [1]),
    ("choice([784,30,10],[784,10])", [[784, 30, 10], [784, 10]]),
    ("sort(3,1,2)", [1, 2, 3]), ("tag(fast,choice(1,2))", [1, 2]),
    ("float(range(0,2))", [0.0, 1.0]), ("int(3.7)", [3]), ("str(3)", ["3"]),
    ("a\\,b", ["a,b"]), ("'a,b',c", ["a,b", "c"]), ("{a:1}", [{"a": 1}]), ("${x}", ["${x}"]),
])
def test_hydra_functions_and_escapes(text, choices):
    assert parse_value(text) == choices


def test_range_and_choice_are_sweeps_even_of_one_value():
    assert parse_overrides(["seed=range(1)", "eta=choice(3)", "epochs=1"]) == [
        Override("seed", (0,), True), Override("eta", (3,), True), Override("epochs", (1,), False)]


@pytest.mark.parametrize("item, message", [
    ("seed=range(0,1000000000000)", "overrides: seed: cannot parse 'range(0,1000000000000)': "
     "range(0, 1000000000000, 1) has 1000000000000 values, more than the 10000 trials a sweep "
     "may have"),
    ("seed=range(0,10,0)", "overrides: seed: cannot parse 'range(0,10,0)': range(start, stop, "
     "step) needs finite numbers and a step other than 0, got range(0, 10, 0)"),
    ("eta=range(0,inf)", "overrides: eta: cannot parse 'range(0,inf)': range(start, stop, "
     "step) needs finite numbers and a step other than 0, got range(0, inf, 1)"),
    ("eta=interval(0,1)", "overrides: eta: cannot parse 'interval(0,1)': interval(...) is a "
     "continuous range, which only an optimizing sweeper samples; give the values, or "
     "range(start,stop,step)"),
    ("layers=shuffle(list=[784,30,10])", "overrides: layers: cannot parse "
     "'shuffle(list=[784,30,10])': shuffle(...) would run the trials in a random order; "
     "give them in the order to run"),
    ("eta=glob(*)", "overrides: eta: cannot parse 'glob(*)': glob(...) chooses among config "
     "groups, which a sweep file does not have"),
    ("~eta", "overrides: '~eta': Hydra's ~key (delete a key) is not supported: every trial has "
     "every key; give its value with key=value"),
    ("eta=" + "[" * 21, "overrides: eta: cannot parse '" + "[" * 21 + "': brackets nested "
     "more than 20 deep"),
])
def test_what_hydra_accepts_but_a_sweep_refuses(item, message):
    with pytest.raises(ConfigError) as caught:
        parse_overrides([item])
    assert str(caught.value) == message


def test_plus_and_plus_plus_are_kept_for_the_config_to_check():
    assert parse_overrides(["+comment=x", "++eta=1"]) == [
        Override("comment", ("x",), False, "+"), Override("eta", (1,), False, "++")]
    assert sort_overrides(["+comment=x", "++eta=1"], ("comment", "eta"), (), ()).added == \
        ("comment",)


@pytest.mark.parametrize("item, value", [
    ("comment=lr=3", "lr=3"), ("data_dir=/données", "/données"), ("comment=50%!", "50%!"),
    ("comment=  café  ", "café"), ("name=run#1", "run#1"), ("eta =1", 1),
])
def test_text_that_hydras_lexer_refuses_is_still_text(item, value):
    (override,) = parse_overrides([item])
    assert override.choices == (value,) and not override.is_sweep


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
