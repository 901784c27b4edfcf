"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]
# Maps whose values the server checks itself, so a bad value is reported as `metadata.KEY` (msgspec
# can only say "metadata[...]"); the schema still tells clients what is allowed.
MetadataMap = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="Up to 50 keys of at most 40 characters; values are strings (at most 500 "
        'characters), numbers or booleans. On update, null or "" removes a key.',
        extra_json_schema={
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
        },
    ),
]
SettingsMap = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="Secret settings: string values, encrypted at rest, never returned. On "
        'update, null or "" removes a key.',
        extra_json_schema={"additionalProperties": {"type": ["string", "null"]}},
    ),
]
# Money on the wire: a decimal integer string in the currency's smallest unit, any size.
Amount = Annotated[
    str, msgspec.Meta(pattern=r"^-?[0-9]+$", description="Integer amount as a string")
]


class Paging(msgspec.Struct):
    page: int
    pageSize: int


class ListPage(msgspec.Struct):
    """What every list and search answers besides its `list`: `count` of every match (a lower
    bound when `count_is_exact` is false, only ever above 10,000), the page asked for (page 1
    for a cursor page) and whether another page lies in the direction of travel."""

    count: int
    paging: Paging
    has_more: bool
    count_is_exact: bool


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
