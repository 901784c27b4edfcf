"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated

import msgspec

MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]
# Money on the wire: a decimal integer string in the currency's smallest unit, any size.
Amount = Annotated[
    str, msgspec.Meta(pattern=r"^-?[0-9]+$", description="Integer amount as a string")
]


class Paging(msgspec.Struct):
    page: int
    pageSize: int


class ErrorBody(msgspec.Struct):
    """Every error answer: a stable `code`, a human `error`, the offending `param` and the request id."""

    code: str
    error: str
    param: str | None
    request_id: str


class Health(msgspec.Struct):
    ok: bool


class NoBody(msgspec.Struct, forbid_unknown_fields=True):
    """Actions that take no parameters: any field sent is refused by name."""
