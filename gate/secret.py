"""The API key as a value that cannot leak through repr, str, logs or tracebacks by accident."""

from __future__ import annotations


class Secret:
    """Holds a secret string; only ``reveal()`` returns it (used solely to build the auth header)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Replace every occurrence of the secret in ``text`` (last line of defence for error messages)."""
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)
