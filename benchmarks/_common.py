"""Shared helpers of the benchmark scripts: machine facts and section updates of the docs."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"
IMG = ROOT / "docs" / "img"
#: the page each generated section lives on, by the section name's prefix
PAGES = (("protocols-", "protocols"), ("eval-speed", "protocols"), ("coldstart-", "coldstart"),
         ("collab-", "collaborative"), ("recbole-", "collaborative"),
         ("longtail-", "longtail"), ("serve-", "serving"), ("experiments-", "experiments"),
         ("shop-", "shop"))

HEADER = """# Benchmarks

Every table on this page is written by a script in `benchmarks/`; each section names the command
that reproduces it, the machine and the date. Peer figures come from
`../shared/benchmarks/PEERS.md` (same protocols, same splits, same evaluator definitions).
Timings are wall-clock on the machine named; read single fit times as ±50 % on a shared
machine, and compare only figures taken in the same run. Accuracy figures are means over the
test users and carry sampling noise; the cold-start target tables give each figure's 95 %
bootstrap interval and the paired difference to the best other model of the run
(`coldrec.eval.stats`), and `coldrec evaluate` prints the intervals for any run.
"""

PACKAGES = ("numpy", "scipy", "pandas", "implicit", "scikit-learn", "torch")


def machine() -> str:
    """One line naming the machine, Python and the key package versions."""
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} cores ({cpu}); {', '.join(versions)}")


def command() -> str:
    """The command line that ran this script, relative to the project root."""
    script = Path(sys.argv[0]).resolve()
    shown = str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else sys.argv[0]
    return "python " + " ".join(shlex.quote(a) for a in [shown, *sys.argv[1:]])


def stamp() -> str:
    return (f"_Command: `{command()}` — {dt.date.today().isoformat()} — {machine()}._\n")


def update_section(name: str, body: str) -> Path:
    """Replace (or append) the section between ``<!-- BEGIN name -->`` and its END."""
    page = next((p for prefix, p in PAGES if name.startswith(prefix)), "other")
    doc = DOCS / f"{page}.md"
    text = doc.read_text() if doc.exists() else HEADER
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else \
        text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    return doc
