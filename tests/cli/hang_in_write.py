"""`paymentkit serve` whose customer creates hang inside their write transaction (test only).

Run as `python -m tests.cli.hang_in_write serve …` with HANG_MARKER set to a file path: a create
does its insert, touches the marker, then never returns, holding its transaction open, so that the
test can kill -9 the server mid-write. It lives under tests/ and nothing in the package imports it,
so no production server can reach it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from paymentkit.cli.main import main
from paymentkit.server.customers import service


def _hang_after(real: Any) -> Any:
    def create(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        Path(os.environ["HANG_MARKER"]).touch()
        while True:
            time.sleep(60)

    return create


if __name__ == "__main__":
    service.create = _hang_after(service.create)  # type: ignore[assignment]
    main()
