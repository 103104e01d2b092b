"""What a shopper or product id may be, for every door that takes one (files, HTTP, the
store): trimmed of surrounding white space (Unicode's too), not empty, without control
characters (C0, DEL, C1) or lone surrogates, at most :data:`MAX_ID_LENGTH` characters.
:data:`ID_PATTERN` says the same as a regular expression (for the OpenAPI document)."""

from __future__ import annotations

import re

__all__ = ["ID_PATTERN", "MAX_ID_LENGTH", "clean_id", "id_problem"]

MAX_ID_LENGTH = 200
_ALLOWED = r"[^\x00-\x1f\x7f-\x9f]"
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
#: an id: allowed characters only, at least one of them not white space (lone surrogates,
#: which valid UTF-8 cannot carry, are refused too but not named here: the validators of
#: OpenAPI documents reject surrogate ranges in a pattern)
ID_PATTERN = rf"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def id_problem(value: object) -> str | None:
    """Why ``value`` cannot be an id (``None`` when it can)."""
    text = str(value)
    if _FORBIDDEN.search(text):
        return "id contains a control character"
    text = text.strip()
    if not text:
        return "id is empty"
    if len(text) > MAX_ID_LENGTH:
        return f"id is longer than {MAX_ID_LENGTH} characters"
    return None


def clean_id(value: object) -> str:
    """``value`` trimmed; raises ``ValueError`` naming the problem when it cannot be an id."""
    problem = id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return str(value).strip()
