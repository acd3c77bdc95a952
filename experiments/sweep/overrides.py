"""The command-line override grammar (Hydra's basic key=value, commas sweep); not what values mean.

Values:  42  -1  0.5  1e-3  inf  true  false  null  'quoted, text'  "quoted"  bare-text
         [784,30,10]  [[1,2],[3]]  []     (lists nest; spaces around items are ignored)
A comma outside brackets and quotes makes a sweep: `eta=0.5,3.0` has two choices.
`key=` gives the empty string, as in Hydra. Quoted text is always a string ('3' is not 3).
sort_overrides says what each item sets (a setting, a trial key, a grid axis, the seeds);
which values a key accepts is experiments.sweep.config's business.
"""

import difflib
import re
from dataclasses import dataclass
from typing import Optional

from experiments.errors import ConfigError

_INT = re.compile(r"[+-]?\d+(?:_\d+)*")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:e[+-]?\d+)?|[+-]?inf|nan", re.IGNORECASE)
_BARE_STOPS = ",[]'\""  # a bare word ends where a list, a sweep or a quoted string could begin
# Hydra's sweep functions, which this grammar does not have: said so rather than misread
_HYDRA_FUNCTION = re.compile(r"\s*(range|choice|interval|glob|tag|shuffle|sort)\(")


@dataclass(frozen=True)
class Override:
    """One `key=value` item: its key and the value(s) it gives."""

    key: str
    choices: tuple  # parsed values, in the order given; two or more when it is a sweep
    is_sweep: bool


@dataclass(frozen=True)
class CommandLine:
    """Overrides sorted by what they set; their values are not checked yet."""

    settings: dict  # top-level key (name, dataset, data_dir) -> value
    fixed: dict  # trial key -> the value every trial gets, whatever the file says
    sweeps: dict  # trial key -> choices: a grid axis after the file's, replacing its own axis
    seeds: Optional[list]  # the seeds, from seed=0,1 (the choices) or seeds=[0,1] (the value)
    seeds_key: str  # "seed" or "seeds" when the command line sets the seeds, else ""


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
    return CommandLine(settings_given, fixed, sweeps, seeds, seeds_key)


def did_you_mean(word, valid, quote=False):
    """The hint after a bad word: (did you mean 'eta'?) if one is close, else the valid words."""
    close = difflib.get_close_matches(str(word), valid, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return ", expected one of " + ", ".join(repr(v) if quote else str(v) for v in valid)


class _Invalid(Exception):
    """A syntax error inside a value; parse_overrides turns it into a ConfigError."""


def parse_overrides(items):
    """Parse `key=value` strings into Overrides. Raises ConfigError on bad syntax or a repeat."""
    parsed = {}
    for item in items:
        key, equals, text = item.partition("=")
        key = key.strip()
        if key[:1] in ("+", "~"):
            raise ConfigError(f"overrides: {item!r}: Hydra's +key, ++key and ~key are not "
                              f"supported; set a key the sweep knows with key=value")
        if not equals or not key or any(c.isspace() for c in key):
            raise ConfigError(f"overrides: {item!r}: expected key=value")
        function = _HYDRA_FUNCTION.match(text)
        if function:
            raise ConfigError(f"overrides: {key}: Hydra's {function.group(1)}(...) is not "
                              f"supported; list the values, as in {key}=1,2,3")
        if key in parsed:
            raise ConfigError(f"overrides: {key}: given more than once")
        try:
            choices = parse_value(text)
        except _Invalid as error:
            raise ConfigError(f"overrides: {key}: cannot parse {text!r}: {error}") from None
        parsed[key] = Override(key, tuple(choices), is_sweep=len(choices) > 1)
    return list(parsed.values())


def parse_value(text):
    """The choices of the right-hand side of `key=value`: one for a value, several for a sweep."""
    if not text.strip():
        return [""]
    parser = _Parser(text)
    choices = [parser.element()]
    while parser.skip_spaces() == ",":
        parser.position += 1
        choices.append(parser.element())
    if parser.skip_spaces() is not None:
        raise _Invalid(f"unexpected {parser.peek()!r} at position {parser.position}")
    return choices


class _Parser:
    """A recursive-descent reader over one value string."""

    def __init__(self, text):
        self.text = text
        self.position = 0

    def peek(self):
        return self.text[self.position] if self.position < len(self.text) else None

    def skip_spaces(self):
        """Move past spaces; the next character (None at the end)."""
        while self.peek() is not None and self.peek().isspace():
            self.position += 1
        return self.peek()

    def element(self):
        """A list, a quoted string, or a bare scalar."""
        first = self.skip_spaces()
        if first == "[":
            return self.list()
        if first in ("'", '"'):
            return self.quoted(first)
        start = self.position
        while self.peek() is not None and self.peek() not in _BARE_STOPS:
            self.position += 1
        word = self.text[start:self.position].strip()
        if not word:
            where = "the end" if first is None else f"{first!r} at position {self.position}"
            raise _Invalid(f"missing value before {where}")
        return parse_scalar(word)

    def list(self):
        self.position += 1  # past "["
        items = []
        if self.skip_spaces() == "]":
            self.position += 1
            return items
        while True:
            items.append(self.element())
            after = self.skip_spaces()
            self.position += 1
            if after == "]":
                return items
            if after is None:
                raise _Invalid("unclosed '['")
            if after != ",":
                at = self.position - 1
                raise _Invalid(f"expected ',' or ']' at position {at}, got {after!r}")

    def quoted(self, quote):
        """A string between `quote`s; a backslash escapes the quote or a backslash."""
        start = self.position
        self.position += 1
        characters = []
        while True:
            character = self.peek()
            if character is None:
                raise _Invalid(f"unterminated quote starting at position {start}")
            self.position += 1
            if character == quote:
                return "".join(characters)
            if character == "\\" and self.peek() in (quote, "\\"):
                character = self.peek()
                self.position += 1
            characters.append(character)


def parse_scalar(word):
    """A bare word as int, float, bool, None, or else the string itself."""
    if _INT.fullmatch(word):
        return int(word.replace("_", ""))
    if _FLOAT.fullmatch(word):
        return float(word)
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return word
