"""The YAML loader of sweep files: yaml.safe_load's, stricter; not what the document must contain.

SweepLoader is a SafeLoader subclass, so it builds only plain Python values (no objects, no
code run), exactly as safe_load does, with three differences, each raised as a
yaml.MarkedYAMLError that names the line:
- a key given twice in one mapping is an error (safe_load keeps the last one silently:
  `eta: 0.5` followed by `eta: 3.0` would train with 3.0 without a word);
- collections nested more than MAX_DEPTH deep are an error (PyYAML's composer recurses
  once per level, so `[[[[...` thousands deep ends in RecursionError);
- a scalar its tag cannot read (an integer of 5,000 digits, `!!timestamp 2001-13-99`) is an
  error, where PyYAML lets ValueError or AttributeError escape.
"""

import yaml
from yaml.constructor import ConstructorError

MAX_DEPTH = 50  # a sweep file needs 4 (grid -> key -> list -> layers list)


class SweepLoader(yaml.SafeLoader):
    """safe_load's loader, refusing duplicate keys, deep nesting and unreadable scalars."""

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, LookupError, TypeError, AttributeError, OverflowError):
            tag = node.tag.rpartition(":")[2]
            what = "this value"
            if isinstance(node, yaml.ScalarNode):
                what = (repr(node.value) if len(node.value) <= 40
                        else f"a value of {len(node.value)} characters")
            raise ConstructorError(None, None, f"{what} is not a valid {tag}",
                                   node.start_mark) from None

    def construct_mapping(self, node, deep=False):
        """A mapping whose keys are all different; the second of two is named, with its line.

        Checked before `<<: *anchor` merges are flattened in: a key written beside a merge
        overrides the merged one, as YAML says, and that is not a duplicate.
        """
        if isinstance(node, yaml.MappingNode):
            first_of = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = first_of.setdefault(key, key_node)
                except TypeError:  # unhashable: construct_mapping below says so, with its mark
                    continue
                if first is not key_node:
                    raise ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line "
                                    f"{first.start_mark.line + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep)


def load_yaml(text):
    """The value of YAML `text`, as yaml.safe_load gives it; raises yaml.YAMLError."""
    return yaml.load(text, Loader=SweepLoader)  # noqa: S506 - SweepLoader is a SafeLoader
