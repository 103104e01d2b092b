"""The one error hierarchy of coldrec.

Every error raised on purpose by the library derives from :class:`ColdrecError`, so callers
can catch all of them at once, or one family at a time.
"""

from __future__ import annotations

__all__ = ["ColdrecError", "ConfigError", "DataError", "NotFittedError"]


class ColdrecError(Exception):
    """Base class of every error coldrec raises on purpose."""


class DataError(ColdrecError, ValueError):
    """Input data is unusable; the message names the file, column and row when known."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.source = source
        self.column = column
        self.row = row
        where = []
        if source is not None:
            where.append(str(source))
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ConfigError(ColdrecError, ValueError):
    """A configuration value or hyperparameter is invalid or inconsistent."""


class NotFittedError(ColdrecError, RuntimeError):
    """A model was used before `fit` was called."""
