"""Files the server makes that hold secrets or data: readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path


def create_private_file(path: Path) -> int | None:
    """Create `path` readable by its owner only (mode 0600, a missing folder 0700) and return it
    open for writing; None when it exists already (it and its folder keep their modes)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
