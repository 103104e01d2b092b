"""Evaluation reports on disk: what ``coldrec evaluate --report-dir`` and ``coldrec demo``
leave behind, and what the service's metrics view shows (the newest one)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from coldrec.eval.runner import ProtocolResult

__all__ = ["latest_evaluation", "save_evaluation"]


def save_evaluation(results: Sequence[ProtocolResult], directory: str | Path,
                    command: str) -> Path:
    """Write ``results`` (one protocol run per model) as one JSON report; returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    first = results[0] if results else None
    name = "evaluation" if first is None else \
        f"evaluation-{first.dataset}-{first.protocol}".replace("/", "_").replace(":", "_")
    path = directory / f"{name}-{stamp}.json"
    body = {"created": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command,
            "results": [r.to_json() for r in results]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1, default=float), encoding="utf-8")
    tmp.replace(path)  # readers never see half a report
    return path


def latest_evaluation(directory: str | Path) -> dict[str, Any] | None:
    """The newest report in ``directory`` (None when there is none or it is unreadable)."""
    paths = sorted(Path(directory).glob("evaluation*.json"), key=lambda p: p.stat().st_mtime)
    for path in reversed(paths):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        body["file"] = path.name
        return body
    return None
