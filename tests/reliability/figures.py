"""The numbers each reliability test measured, printed at the end of the run.

RELIABILITY.md's table is filled in from this summary (and from the JSON file written
when RELIABILITY_FIGURES names a path).
"""

from __future__ import annotations

import json
import os
from typing import Any

MEASURED: list[tuple[str, dict[str, Any]]] = []


def record(test: str, **figures: Any) -> None:
    MEASURED.append((test, figures))
    print(f"[reliability] {test}: {json.dumps(figures)}")  # noqa: T201 - shown with -s


def summary_lines() -> list[str]:
    return [f"{test}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
            for test, figures in MEASURED]


def write(path: str | None = None) -> None:
    target = path or os.environ.get("RELIABILITY_FIGURES")
    if target and MEASURED:
        with open(target, "w") as handle:
            json.dump(dict(MEASURED), handle, indent=2)
