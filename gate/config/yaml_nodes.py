"""YAML nodes for the config file: their tags, the types each kind of setting takes, and how a node is described."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gate.config.settings import FileShape
from gate.config.values import show

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node

YAML_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL_TAG, DATE = (
    YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
PLAIN_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL_TAG, DATE})
#: The YAML types each kind of value accepts: a number where a path belongs is a mistake, not a file named 5.
ACCEPTED = {
    FileShape.TEXT: frozenset({STR}),
    FileShape.WORD: frozenset({STR, BOOL}),  # the scalar's source text ("off") is what the setting parses
    FileShape.PATH_OR_NULL: frozenset({STR, NULL_TAG}),
    FileShape.DURATION: frozenset({STR, INT, FLOAT}),  # 90 is ninety seconds
    FileShape.BOOLEAN: frozenset({BOOL}),
    FileShape.WHOLE_NUMBER: frozenset({INT}),
}
TYPE_NAMES = {STR: "the text", INT: "the number", FLOAT: "the number", BOOL: "the boolean", DATE: "the date"}


def value_of(node: MappingNode, name: str) -> Node | None:
    """The value under key ``name`` in a mapping node, if there is one."""
    return next((value for key, value in node.value if getattr(key, "value", None) == name), None)


def yaml_problem(exc: Any) -> str:
    """PyYAML's context and problem as one line ("while parsing a flow sequence, expected ',' or ']' ...")."""
    parts = [str(part) for part in (exc.context, exc.problem) if part]
    what = " ".join(", ".join(parts or ["unreadable"]).split())
    if "'\\t'" in what:
        what += " (indent with spaces: YAML does not allow tabs there)"
    return what


def typed(node: Node) -> str:
    """A scalar of the wrong type as the user wrote it: ``the number 5``, ``the text '8'``."""
    value = show(str(node.value)) if node.tag == STR else str(node.value)
    return f"{TYPE_NAMES.get(node.tag, 'the value')} {value}"


def remedy(node: Node, accepts: frozenset[str]) -> str:
    """How to write it so it is read as intended: quoted for text, unquoted when the text is a true/number."""
    import yaml
    from yaml.nodes import ScalarNode

    if STR in accepts:
        # Only where a number is no reading of its own (a duration takes 90 as seconds).
        return "; quote it if that is meant as text" if INT not in accepts else ""
    unquoted = yaml.SafeLoader("").resolve(ScalarNode, str(node.value), (True, False))
    return "; write it without quotes" if unquoted in accepts else ""


def kind(node: Node) -> str:
    """What a node of the wrong shape is: ``a mapping``, ``a list``, ``nothing (null)``, ``the value 'x'``."""
    from yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing (null)"
    return f"the value {show(str(node.value))}"


__all__ = ["ACCEPTED", "NULL_TAG", "PLAIN_TAGS", "YAML_TAG", "kind", "remedy", "typed", "value_of", "yaml_problem"]
