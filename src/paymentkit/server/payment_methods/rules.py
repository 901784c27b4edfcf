"""Pure payment-method rules (no I/O). Each failure names its `param`."""

from __future__ import annotations

import re

from paymentkit.schemas.billing import KNOWN_METHOD_TYPES, METHOD_TYPE_PATTERN
from paymentkit.server.errors import InvalidRequest

__all__ = ["KNOWN_METHOD_TYPES", "method_type"]

# The schema's pattern, matched whole: msgspec (re.search) lets `$` match before a final "\n".
_METHOD_TYPE = re.compile(METHOD_TYPE_PATTERN.removeprefix("^").removesuffix("$"))


def method_type(value: str) -> str:
    """A type as stored: any short lower-case identifier. The known ones (KNOWN_METHOD_TYPES)
    have no settings rules of their own today; every type is handled alike."""
    if not _METHOD_TYPE.fullmatch(value):
        raise InvalidRequest(
            "type must be a lower-case identifier: a letter, then up to 15 letters, digits or _"
            " (stripe, arcblock, ethereum, bitcoin, base, card, …)",
            "type",
        )
    return value
