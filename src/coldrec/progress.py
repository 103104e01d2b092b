"""Progress bars for long steps (written to stderr; off when disabled or COLDREC_PROGRESS=0)."""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def progress_bar(total: int | None = None, desc: str = "", *, enabled: bool = True,
                 **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr; disabled when ``enabled`` is false or ``COLDREC_PROGRESS=0``."""
    off = not enabled or os.environ.get("COLDREC_PROGRESS", "1") == "0"
    return tqdm(total=total, desc=desc, disable=off, file=sys.stderr, leave=False,
                dynamic_ncols=True, **kwargs)
