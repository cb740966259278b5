"""`.docketqa.yml` to a Layer of raw settings; every problem as `path:line: key.path: what is wrong`."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from gate.config import Blueprint
from gate.config.settings import FileShape, Setting, file_keys, file_sections, rows
from gate.config.sources import Given, Layer
from gate.config.values import parse_bool, parse_id, show
from gate.config.yaml_nodes import (
    ACCEPTED,
    NULL_TAG,
    PLAIN_TAGS,
    YAML_TAG,
    kind,
    remedy,
    typed,
    value_of,
    yaml_problem,
)
from gate.errors import os_reason

if TYPE_CHECKING:
    from yaml.nodes import MappingNode, Node

#: A settings file is a few hundred bytes; a megabyte means the wrong file was named.
MAX_CONFIG_BYTES = 1_000_000
#: How the mistake of giving a section something other than a mapping is explained.
SECTION_EXAMPLES = {"reports": "{junit: PATH, json: PATH}", "wait_for": "{urls: [URL], text: TEXT, timeout: 10m}"}
ENTRY_KEYS = ("id", "name", "allow_failure")


def read_config_file(path: Path, *, display: str, origin: str | None) -> Layer:
    """Read and check the file; ``display`` is how messages name it, ``origin`` the flag/env/input that chose it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        where = f"{origin}: cannot read {show(display)}" if origin else f"{display}: cannot read"
        return unusable(f"{where}: {os_reason(exc)}")
    if len(data) > MAX_CONFIG_BYTES:
        return unusable(f"{display}: larger than 1 MB; is this the right file?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return unusable(f"{display}:{line}: not UTF-8 text; save the file as UTF-8")
    return parse_config_text(text, display=display)


def parse_config_text(text: str, *, display: str) -> Layer:
    """Compose (never construct: no object can be built from tags) and walk the nodes, keeping line numbers."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f":{mark.line + 1}" if mark else ""
        return unusable(f"{display}{at}: invalid YAML: {yaml_problem(exc)}")
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        return unusable(f"{display}:{line}: invalid YAML: character #x{exc.character:04x} is not allowed")
    except (yaml.YAMLError, RecursionError):
        return unusable(f"{display}: invalid YAML: nested too deeply or unreadable")
    if root is None or root.tag == NULL_TAG:  # empty, only comments, or a bare "---" / "~": no settings
        return Layer()
    walker = _Walker(display)
    walker.top(root)
    return Layer(walker.values, tuple(walker.problems), failed=frozenset(walker.failed))


def unusable(problem: str) -> Layer:
    """A file that could not be read at all: every setting it may hold counts as given wrongly, so no
    "no blueprints to run" is added to the one problem that matters."""
    return Layer(problems=(problem,), failed=frozenset(row.name for row in rows() if row.file_key))


def top_keys() -> tuple[str, ...]:
    """Every key the file may hold at the top level: settings, and sections such as ``reports``."""
    return (*file_keys(), *file_sections())


class _Walker:
    """Checks the node tree against the settings table, collecting values and every problem."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.values: dict[str, Given] = {}
        self.problems: list[str] = []
        #: Settings whose value has a problem (their "missing" hint would be noise).
        self.failed: set[str] = set()

    def where(self, node: Node, path: str) -> str:
        return f"{self.display}:{node.start_mark.line + 1}: {path}"

    def problem(self, node: Node, path: str, *, what: str) -> None:
        self.problems.append(f"{self.where(node, path)}: {what}")

    def top(self, root: Node) -> None:
        from yaml.nodes import MappingNode

        if not isinstance(root, MappingNode):
            self.problem(root, "top level", what=f"expected a mapping of settings (key: value), got {kind(root)}")
            self.failed.update(row.name for row in rows() if row.file_key)
            return
        keys = file_keys()
        for name, path, node in self.items(root, "", allowed=top_keys()):
            if name in keys:
                self.setting(keys[name], node, path=path)
            else:
                self.section(name, node)

    def setting(self, row: Setting, node: Node, *, path: str) -> None:
        before = len(self.problems)
        if row.file_shape is FileShape.BLUEPRINTS:
            self.blueprints(row.name, node, path)
        elif row.file_shape is FileShape.IDS:
            self.values[row.name] = Given(tuple(self.id_list(node, path)), self.where(node, path))
        elif row.file_shape is FileShape.TEXTS:
            self.text_list(row, node, path)
        else:
            expected = row.file_expects or row.file_shape.value
            text = self.text(node, path, expected=expected, accepts=ACCEPTED[row.file_shape])
            if text is not _MISSING:
                self.values[row.name] = Given(text, self.where(node, path))
        if len(self.problems) > before:
            self.failed.add(row.name)

    def section(self, name: str, node: Node) -> None:
        from yaml.nodes import MappingNode

        if not isinstance(node, MappingNode):
            self.problem(node, name, what=f"expected a mapping such as {SECTION_EXAMPLES[name]}, got {kind(node)}")
            return
        keys = file_keys(name)
        for key, path, value in self.items(node, name, allowed=tuple(keys)):
            self.setting(keys[key], value, path=path)

    def items(self, node: MappingNode, parent: str, *, allowed: tuple[str, ...]) -> list[tuple[str, str, Node]]:
        """(name, key path, value node) for each known key; non-text, duplicate and unknown keys are problems."""
        from yaml.nodes import ScalarNode

        found: list[tuple[str, str, Node]] = []
        seen: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.problem(key, parent or "top level", what=f"keys must be plain names, got {kind(key)}")
                continue
            path = f"{parent}.{key.value}" if parent else key.value
            if key.value in seen:
                self.problem(key, path, what=f"duplicate key (first on line {seen[key.value]})")
                continue
            seen[key.value] = key.start_mark.line + 1
            if key.value not in allowed:
                self.problem(key, path, what=_unknown(key.value, allowed))
                continue
            found.append((key.value, path, value))
        return found

    def text(self, node: Node, path: str, *, expected: str, accepts: frozenset[str]) -> str | None | object:
        """The scalar's source text (so `1:30` is not read as sexagesimal 90), None for an allowed null."""
        from yaml.nodes import ScalarNode

        if not isinstance(node, ScalarNode) or (node.tag == NULL_TAG and NULL_TAG not in accepts):
            self.problem(node, path, what=f"expected {expected}, got {kind(node)}")
            return _MISSING
        if node.tag not in PLAIN_TAGS:
            self.problem(node, path, what=f"the YAML tag {show(node.tag.replace(YAML_TAG, '!!'))} is not allowed here")
            return _MISSING
        if node.tag not in accepts:
            self.problem(node, path, what=f"expected {expected}, got {typed(node)}{remedy(node, accepts)}")
            return _MISSING
        return None if node.tag == NULL_TAG else node.value

    def text_list(self, row: Setting, node: Node, path: str) -> None:
        """A list of texts (or one text); each item checked as a scalar, with its own line."""
        from yaml.nodes import SequenceNode

        single = not isinstance(node, SequenceNode)
        items = [node] if single else node.value
        expected = row.file_expects or "a list of texts"
        accepts = ACCEPTED[FileShape.TEXTS]
        found = [self.text(item, path if single else f"{path}[{i}]", expected=expected, accepts=accepts)
                 for i, item in enumerate(items)]  # fmt: skip
        if all(isinstance(text, str) for text in found):
            self.values[row.name] = Given(tuple(found), self.where(node, path))

    def blueprints(self, name: str, node: Node, key_path: str) -> None:
        from yaml.nodes import MappingNode, ScalarNode, SequenceNode

        if not isinstance(node, SequenceNode):
            self.problem(node, key_path, what=f"expected a list of blueprint ids or id/name entries, got {kind(node)}")
            return
        entries: list[Blueprint] = []
        first_line: dict[int, int] = {}
        for index, item in enumerate(node.value):
            path = f"{key_path}[{index}]"
            if isinstance(item, MappingNode):
                entry, id_node, id_path = self.entry(item, path), value_of(item, "id"), f"{path}.id"
            elif isinstance(item, ScalarNode):
                number = self.id(item, path)
                entry, id_node, id_path = (Blueprint(id=number) if number else None), item, path
            else:
                self.problem(item, path, what=f"expected a blueprint id or an id/name entry, got {kind(item)}")
                continue
            if entry is None or id_node is None:
                continue
            if entry.id in first_line:
                self.problem(id_node, id_path, what=f"blueprint {entry.id} is listed twice (first on line {first_line[entry.id]})")
                continue
            first_line[entry.id] = id_node.start_mark.line + 1
            entries.append(entry)
        self.values[name] = Given(tuple(entries), self.where(node, key_path))

    def entry(self, node: MappingNode, path: str) -> Blueprint | None:
        """An ``{id, name, allow_failure}`` entry, or None when any part of it is a problem."""
        before = len(self.problems)
        fields = {name: (value, key_path) for name, key_path, value in self.items(node, path, allowed=ENTRY_KEYS)}
        if "id" not in fields:
            self.problem(node, path, what="missing 'id' (the blueprint id)")
        number = self.id(*fields["id"]) if "id" in fields else None
        name = self.name(*fields["name"]) if "name" in fields else None
        allow = self.boolean(*fields["allow_failure"]) if "allow_failure" in fields else False
        if number is None or len(self.problems) > before:
            return None
        return Blueprint(id=number, name=name, allow_failure=bool(allow))

    def name(self, node: Node, path: str) -> str | None:
        raw = self.text(node, path, expected="a display name", accepts=ACCEPTED[FileShape.TEXT])
        if isinstance(raw, str) and not raw.strip():
            self.problem(node, path, what="the display name is empty")
        # One line: names end up in table cells and testcase names.
        return " ".join(raw.split()) if isinstance(raw, str) and raw.strip() else None

    def boolean(self, node: Node, path: str) -> bool | None:
        raw = self.text(node, path, expected="true or false", accepts=ACCEPTED[FileShape.BOOLEAN])
        if not isinstance(raw, str):
            return None
        try:
            return parse_bool(raw)
        except ValueError as exc:
            self.problem(node, path, what=str(exc))
            return None

    def id(self, node: Node, path: str) -> int | None:
        raw = self.text(node, path, expected="a positive integer id", accepts=ACCEPTED[FileShape.WHOLE_NUMBER])
        if not isinstance(raw, str):
            return None
        try:
            return parse_id(raw)
        except ValueError as exc:
            self.problem(node, path, what=str(exc))
            return None

    def id_list(self, node: Node, path: str) -> list[int]:
        from yaml.nodes import SequenceNode

        if not isinstance(node, SequenceNode):
            self.problem(node, path, what=f"expected a list of blueprint ids, got {kind(node)}")
            return []
        ids: list[int] = []
        first_line: dict[int, int] = {}
        for index, item in enumerate(node.value):
            number = self.id(item, f"{path}[{index}]")
            if number is not None and number in first_line:
                self.problem(item, f"{path}[{index}]", what=f"id {number} is listed twice (first on line {first_line[number]})")
            elif number is not None:
                first_line[number] = item.start_mark.line + 1
                ids.append(number)
        return ids


_MISSING = object()


def _unknown(name: str, allowed: tuple[str, ...]) -> str:
    if name == "api_key":
        # Never in a committed file: it would be readable by anyone with the repository.
        return "the API key does not belong in a file; set DOCKET_API_KEY (a masked CI secret) instead"
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key; known keys: {', '.join(sorted(allowed))}"


__all__ = ["ENTRY_KEYS", "MAX_CONFIG_BYTES", "parse_config_text", "read_config_file", "top_keys"]
