"""Command-line overrides in Hydra's grammar, read by hydra-core's own parser; not what values mean.

What a Hydra user types works here as it does there
(https://hydra.cc/docs/advanced/override_grammar/basic/):
  key=value          42  -1  0.5  1e-3  inf  true  null  'quoted, text'  "quoted"  bare text
                     [784,30,10]  [[1,2],[3]]  []  (lists nest)   key=  (the empty string)
  key=a,b,c          a sweep: each value is a trial, as is each of choice(a,b,c)
  key=range(0,10)    0 to 9; range(start, stop, step), floats too: range(0.5,2,0.5)
  sort(...), tag(...), int(...), float(...), str(...), bool(...) as in Hydra
  +key=value         sets a key the sweep file does not set (config.py refuses one it sets)
  ++key=value        sets a key whether the file sets it or not, like key=value
Quoted text is always a string ('3' is not 3); in bare text a backslash escapes Hydra's
special characters: \\, \\( \\) \\[ \\] \\{ \\} \\: \\= and \\ (a space).
Refused, each with the reason: ~key (a trial has every key: give its value), interval(),
glob(), shuffle(). A value Hydra's grammar cannot read but that holds none of its special
characters , [ ] { } ( ) ' " \\ is taken as text, as before this project used Hydra's
parser: comment=lr=3, data_dir=/données.
sort_overrides says what each item sets (a setting, a trial key, a grid axis, the seeds);
which values a key accepts is experiments.sweep.config's business.
"""

import difflib
import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from experiments.errors import ConfigError
from experiments.sweep.limits import MAX_TRIALS

_MAX_DEPTH = 20  # brackets and calls within one another; a sweep's values need 2
_HYDRA_SPECIAL = set(",[]{}()'\"\\")  # characters that make a value more than text for Hydra
_ANTLR_UNEXPECTED = re.compile(r"(?:mismatched|extraneous) input '(.*)' expecting .*")
_REFUSED = {
    "interval": "is a continuous range, which only an optimizing sweeper samples; "
                "give the values, or range(start,stop,step)",
    "glob": "chooses among config groups, which a sweep file does not have",
    "shuffle": "would run the trials in a random order; give them in the order to run",
}


@dataclass(frozen=True)
class Override:
    """One `key=value` item: its key and the value(s) it gives."""

    key: str
    choices: tuple  # parsed values, in the order given; a sweep may have one, or none
    is_sweep: bool
    prefix: str = ""  # Hydra's "+" (add a key the file does not set) or "++" (add or set)


@dataclass(frozen=True)
class CommandLine:
    """Overrides sorted by what they set; their values are not checked yet."""

    settings: dict  # top-level key (name, dataset, data_dir) -> value
    fixed: dict  # trial key -> the value every trial gets, whatever the file says
    sweeps: dict  # trial key -> choices: a grid axis after the file's, replacing its own axis
    seeds: Optional[list]  # the seeds, from seed=0,1 (the choices) or seeds=[0,1] (the value)
    seeds_key: str  # "seed" or "seeds" when the command line sets the seeds, else ""
    added: tuple = ()  # keys given as +key: the file must not set them


def sort_overrides(items, trial_keys, settings, file_keys):
    """Parse `key=value` items and sort them. Raises ConfigError on any key that cannot be set.

    trial_keys: keys of a trial; settings: top-level keys that take one value;
    file_keys: every top-level key, for a clear message about those only a file can set.
    """
    parsed = parse_overrides(items)
    if {"seed", "seeds"} <= {item.key for item in parsed}:
        raise ConfigError("overrides: seeds: seed and seeds both set the seeds; give one")
    settings_given, fixed, sweeps, seeds, seeds_key = {}, {}, {}, None, ""
    for item in parsed:
        key, where = item.key, f"overrides: {item.key}"
        if key in ("seed", "seeds"):
            if key == "seeds" and item.is_sweep:
                raise ConfigError(f"{where}: takes one list such as [0,1,2], not a comma sweep")
            seeds, seeds_key = list(item.choices) if key == "seed" else item.choices[0], key
        elif key in trial_keys and item.is_sweep:
            sweeps[key] = list(item.choices)
        elif key in trial_keys:
            fixed[key] = item.choices[0]
        elif key in settings:
            if item.is_sweep:
                raise ConfigError(f"{where}: takes a single value, not a comma sweep")
            settings_given[key] = item.choices[0]
        elif key in file_keys:
            raise ConfigError(f"{where}: cannot be set on the command line; edit the file")
        else:
            hint = did_you_mean(key, (*trial_keys, *settings, "seeds"))
            raise ConfigError(f"{where}: unknown key{hint}")
    added = tuple(item.key for item in parsed if item.prefix == "+")
    return CommandLine(settings_given, fixed, sweeps, seeds, seeds_key, added)


def did_you_mean(word, valid, quote=False):
    """The hint after a bad word: (did you mean 'eta'?) if one is close, else the valid words."""
    close = difflib.get_close_matches(str(word), valid, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return ", expected one of " + ", ".join(repr(v) if quote else str(v) for v in valid)


class _Invalid(Exception):
    """A value that cannot be read; parse_overrides turns it into a ConfigError."""


class _Refused(Exception):
    """Raised inside Hydra's parser by a function this project does not support."""


def parse_overrides(items):
    """Parse `key=value` strings into Overrides. Raises ConfigError on bad syntax or a repeat."""
    parsed = {}
    for item in items:
        key, equals, text = item.partition("=")
        key = key.strip()  # `eta =1` worked before Hydra's grammar; it still does
        name = key.lstrip("+")
        if key.startswith("~"):
            raise ConfigError(f"overrides: {item!r}: Hydra's ~key (delete a key) is not "
                              f"supported: every trial has every key; give its value with "
                              f"key=value")
        if not equals or not name or len(key) - len(name) > 2 \
                or not name.isprintable() or any(c.isspace() for c in name):
            raise ConfigError(f"overrides: {item!r}: expected key=value")
        if name in parsed:
            raise ConfigError(f"overrides: {name}: given more than once")
        try:
            choices, is_sweep = _parse(text)
        except _Invalid as error:
            raise ConfigError(f"overrides: {name}: cannot parse {text!r}: {error}") from None
        parsed[name] = Override(name, tuple(choices), is_sweep, prefix=key[:len(key) - len(name)])
    return list(parsed.values())


def parse_value(text):
    """The choices of the right-hand side of `key=value`: one for a value, several for a sweep."""
    return _parse(text)[0]


def _parse(text):
    """(choices, is_sweep) of the text after `key=`, by Hydra's grammar; raises _Invalid."""
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep, Sweep
    from hydra.errors import HydraException

    if _depth(text) > _MAX_DEPTH:  # ANTLR recurses per level: 3,000 levels take seconds
        raise _Invalid(f"brackets nested more than {_MAX_DEPTH} deep")
    try:
        value = _parser().parse_override("key=" + text).value()
    except HydraException as error:
        if isinstance(error.__cause__, _Refused):
            raise _Invalid(str(error.__cause__)) from None
        if not _HYDRA_SPECIAL & set(text):
            return [text.strip()], False  # plain text Hydra's lexer refuses: é, !, #, =...
        raise _Invalid(_first_line(error)) from None
    except ValueError as error:  # int() of more than 4,300 digits, inside Hydra's visitor
        raise _Invalid(_first_line(error).partition(";")[0]) from None
    if isinstance(value, RangeSweep):
        return _range_values(value), True
    if isinstance(value, ChoiceSweep):
        return [_plain(choice) for choice in value.list], True
    if isinstance(value, Sweep):
        raise _Invalid(f"{type(value).__name__} is not supported")
    return [_plain(value)], False


@functools.lru_cache(maxsize=1)
def _parser():
    """hydra-core's OverridesParser, its refused functions replaced by ones that say why.

    Imported here, not at the top: hydra takes ~150 ms to import, which a sweep
    without overrides (and every worker process) need not pay.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser, create_functions

    functions = create_functions()
    for name, reason in _REFUSED.items():
        def refuse(*args, _name=name, _reason=reason, **kwargs):
            raise _Refused(f"{_name}(...) {_reason}")

        functions.definitions.pop(name)
        functions.functions.pop(name)
        functions.register(name, refuse)
    return OverridesParser(functions)


def _depth(text):
    """How deep (, [ and { nest in text, outside quotes (a backslash escapes a character)."""
    depth = deepest = 0
    quote, escaped = None, False
    for character in text:
        if escaped:
            escaped = False
        elif character == "\\":
            escaped = True
        elif quote:
            quote = None if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in ")]}":
            depth -= 1
    return deepest


def _range_values(sweep):
    """The values of range(start, stop, step), counted before any is made.

    Counted exactly (Fraction) so that range(0, 10**12) is refused at once rather than built,
    and a step of 0 or a bound that is not finite is an error rather than a hang.
    """
    start, stop, step = sweep.start, sweep.stop, sweep.step
    numbers = (start, stop, step)
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in numbers) \
            or not all(abs(x) < float("inf") for x in numbers) or step == 0:
        raise _Invalid(f"range(start, stop, step) needs finite numbers and a step other "
                       f"than 0, got range({start}, {stop}, {step})")
    count = max(0, -((Fraction(start) - Fraction(stop)) // Fraction(step)))  # ceil division
    if count > MAX_TRIALS:
        raise _Invalid(f"range({start}, {stop}, {step}) has {count} values, more than the "
                       f"{MAX_TRIALS} trials a sweep may have")
    # Hydra steps floats in binary: range(0,1,0.1) would give 0.7000000000000001, a trial
    # apart from eta=0.7 under the same label; 15 significant digits give back the 0.7 meant
    return [value if isinstance(value, int) else float(f"{value:.15g}") for value in sweep.range()]


def _plain(value):
    """A value of Hydra's parse as plain Python: quoted strings are strings."""
    from hydra.core.override_parser.types import QuotedString, Sweep

    if isinstance(value, QuotedString):
        return value.text
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Sweep):
        raise _Invalid("a sweep can only be the whole value, not inside a list or a dict")
    return value


def _first_line(error):
    """Hydra's message on one line: its first, any character it quotes from the input that
    would break the line escaped, and ANTLR's list of expected token names (BRACKET_OPEN,
    QUOTED_VALUE, ...), which mean nothing to a user, left out."""
    line = str(error).strip().split("\n")[0] or "syntax error"
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
    unexpected = _ANTLR_UNEXPECTED.fullmatch(line)
    if unexpected:
        token = unexpected.group(1)
        return "unexpected end" if token == "<EOF>" else f"unexpected {token!r}"
    return line
