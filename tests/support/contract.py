"""Readers for README's sections, tables and code blocks, used by the contract tests."""

from __future__ import annotations

import dataclasses
import re
import shlex

from tests.support.paths import REPO

ROOT = REPO
_HEADING = re.compile(r"^(#{1,6}) +(.*?) *$")
_FENCE = re.compile(r"^```")
_CODE_SPAN = re.compile(r"`([^`]+)`")


def runner_input_variable(name: str) -> str:
    """How actions/runner exports an input: ``INPUT_`` + upper case, spaces to ``_``, hyphens KEPT."""
    return "INPUT_" + name.replace(" ", "_").upper()


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class Fenced:
    info: str
    body: str


def section(text: str, title: str) -> str:
    """The lines under the heading ``title`` up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    start = level = None
    fenced = False
    for index, line in enumerate(lines):
        fenced ^= bool(_FENCE.match(line))
        match = None if fenced else _HEADING.match(line)
        if match is None:
            continue
        if start is None and match.group(2) == title:
            start, level = index + 1, len(match.group(1))
        elif start is not None and level is not None and len(match.group(1)) <= level:
            return "\n".join(lines[start:index])
    assert start is not None, f"README has no section titled {title!r}"
    return "\n".join(lines[start:])


def fenced_blocks(text: str) -> list[Fenced]:
    """Every ``` block with its info string (``sh``, ``yaml``, or empty)."""
    blocks: list[Fenced] = []
    info: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if _FENCE.match(line):
            if info is None:
                info, body = line[3:].strip(), []
            else:
                blocks.append(Fenced(info, "\n".join(body)))
                info = None
        elif info is not None:
            body.append(line)
    return blocks


def prose(text: str) -> str:
    """``text`` without its fenced blocks."""
    kept, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return "\n".join(kept)


def split_row(line: str) -> list[str]:
    """A Markdown table row's cells; a ``|`` inside a code span does not split."""
    cells, current, in_code = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    return [*cells, current.strip()]


def table(text: str) -> list[dict[str, str]]:
    """The first Markdown table in ``text`` as rows keyed by header."""
    lines = prose(text).splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.lstrip().startswith("|"):
            break
        rows.append(split_row(line))
    header, separator, *body = rows
    assert all(set(cell) <= set("-: ") for cell in separator), f"not a table separator: {separator}"
    return [dict(zip(header, row, strict=True)) for row in body]


def code_spans(text: str) -> list[str]:
    return _CODE_SPAN.findall(text)


def flags_in(text: str) -> set[str]:
    """Long options named in the code spans of ``text`` (``--x`` in ``--x PATH`` or ``--x`` / ``--no-x``)."""
    return {flag for span in code_spans(text) for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", span)}


def shell_commands(script: str) -> list[str]:
    """The command lines of a shell script or block: not blank, not a comment."""
    lines = (line.strip() for line in script.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def and_list(command: str) -> list[str]:
    """``a && b && c`` -> the normalised commands ``a``, ``b``, ``c``."""
    return [shlex.join(shlex.split(part)) for part in command.split("&&")]
