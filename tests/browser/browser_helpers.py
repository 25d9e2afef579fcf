"""What the browser tests share with their fixtures: the served site and screenshots in the artefact folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard_seed import Seeded

ARTIFACTS = Path(os.environ.get("CHANNELHUB_ARTIFACTS") or Path(__file__).parent / "artifacts")


@dataclass
class Site:
    url: str
    seeded: Seeded


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot of `page` as <name>.png in the artefact folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
