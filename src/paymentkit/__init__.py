"""paymentkit: a self-hostable payments backend wire-compatible with Payment Kit's API."""

__version__ = "0.1.0"
