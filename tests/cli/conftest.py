"""Fixtures shared by the CLI tests: `servers` starts `paymentkit serve` processes (test_serve.py)."""

from tests.cli.test_serve import servers  # noqa: F401
