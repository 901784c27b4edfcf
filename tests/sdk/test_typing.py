"""The one implementation types correctly on both clients: mypy --strict over typing_check.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SRC = HERE.parent.parent / "src"


def test_resource_methods_type_as_calls_on_the_sync_client_and_awaitables_on_the_async_one(
    tmp_path: Path,
) -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "/dev/null",
            "--cache-dir",
            str(tmp_path),
            str(HERE / "typing_check.py"),
        ],
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
