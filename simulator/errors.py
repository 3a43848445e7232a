"""Error types. User errors subclass ``ValueError`` and name the file and field at fault."""

from __future__ import annotations


class SimulatorError(Exception):
    """Base class of every error the simulator raises on purpose."""


class InputError(SimulatorError, ValueError):
    """Bad user input: a scenario key, a data file, a field value.

    The message is one line: ``<file>: <field>: <what was expected>, got <what was received>``.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.file = file
        self.field = field
        parts = [p for p in (file, field) if p]
        text = ": ".join([*parts, message]) if parts else message
        super().__init__(" ".join(text.split()))


class MissingDependencyError(SimulatorError, ImportError):
    """An optional heavy dependency is not installed."""
