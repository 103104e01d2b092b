"""What a shopper or product id may be, for every door that takes one (files, HTTP, the
store): trimmed of surrounding white space (Unicode's too), not empty, without control
characters, at most :data:`MAX_ID_LENGTH` characters."""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_ID_LENGTH", "clean_id", "id_problem"]

MAX_ID_LENGTH = 200


def id_problem(value: object) -> str | None:
    """Why ``value`` cannot be an id (``None`` when it can), judged after trimming."""
    text = str(value).strip()
    if not text:
        return "id is empty"
    if len(text) > MAX_ID_LENGTH:
        return f"id is longer than {MAX_ID_LENGTH} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text):
        return "id contains a control or unassigned character"
    return None


def clean_id(value: object) -> str:
    """``value`` trimmed; raises ``ValueError`` naming the problem when it cannot be an id."""
    problem = id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return str(value).strip()
