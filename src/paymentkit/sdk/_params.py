"""Turning keyword arguments into request bodies and query strings.

`NOT_GIVEN` marks an argument the caller left out, so it is not sent at all; `None` is sent as
JSON null, which on update clears the field (API.md, update semantics).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypedDict, Unpack, final
from urllib.parse import quote

from paymentkit.sdk.types import Address, PaymentKitObject

MetadataValue = str | int | float | bool
MetadataParam = Mapping[str, MetadataValue | None]
"""Metadata to write: up to 50 keys; on update a key set to None or "" is removed."""
MetadataFilter = Mapping[str, str | int | bool]
"""Metadata to filter a list by: every KEY must equal VALUE (compared as text)."""
Amount = int | str
"""An integer amount in the currency's smallest unit; sent as an exact decimal string."""

_INTEGER = re.compile(r"-?[0-9]+")


@final
class NotGiven:
    """The type of `NOT_GIVEN`: an argument left out, as opposed to `None` (JSON null)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class AddressParams(TypedDict, total=False):
    """An address to write. On update, fields merge one by one and a field set to None is removed."""

    country: str | None
    state: str | None
    city: str | None
    line1: str | None
    line2: str | None
    postal_code: str | None


def amount(value: Amount, name: str) -> str:
    """An amount as the wire's exact decimal string; floats are refused, never rounded."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"{name} must be an int (or a decimal integer string) in the currency's smallest "
            f"unit, not {type(value).__name__}"
        )
    text = str(value).strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{name} must be an integer in the currency's smallest unit: {value!r}")
    return text


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields that were given (None stays: it is sent as null)."""
    return {name: _json(value) for name, value in fields.items() if value is not NOT_GIVEN}


def _json(value: Any) -> Any:
    if isinstance(value, PaymentKitObject):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    return value


class Paging(TypedDict, total=False):
    """The paging keywords of every list and search: `page` (from 1) and `page_size`, or a
    cursor — `starting_after` or `ending_before` an object id — and `limit` (see `paging`)."""

    page: int | None
    page_size: int | None
    starting_after: str
    ending_before: str
    limit: int


def paging(**given: Unpack[Paging]) -> tuple[tuple[str, str], ...]:
    """The paging parameters of a list or search: `page`/`pageSize`, or a cursor and `limit`.

    Only combinations the API always refuses are refused here (a `ValueError` before anything is
    sent): both cursors at once, a cursor with `page`, and a cursor that is not a non-empty string.
    Ranges (`limit` 1–100, …) are left to the server, as for `page_size`.
    """
    cursors: dict[str, str] = {}
    for name in ("starting_after", "ending_before"):
        value: object = given.get(name, NOT_GIVEN)
        if isinstance(value, NotGiven):
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be an object id, not {value!r}")
        cursors[name] = value
    if len(cursors) > 1:
        raise ValueError("give starting_after or ending_before, not both")
    page = given.get("page")
    if cursors and page is not None:
        raise ValueError(f"{next(iter(cursors))} and page cannot be used together")
    return (
        query(page=page, pageSize=given.get("page_size"))
        + tuple(cursors.items())
        + query(limit=given.get("limit"))
    )


def query(
    metadata: MetadataFilter | None = None, **params: str | int | bool | None
) -> tuple[tuple[str, str], ...]:
    """Query parameters of a list or search, leaving out those not given; `metadata` becomes
    `metadata.KEY=VALUE` pairs."""
    pairs = [(name, _text(value)) for name, value in params.items() if value is not None]
    for key, value in (metadata or {}).items():
        pairs.append((f"metadata.{key}", _text(value)))
    return tuple(pairs)


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def path_id(value: str) -> str:
    """An id (or DID) as one path segment."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"an id must be a non-empty string, not {value!r}")
    return quote(value, safe=":")


def address(value: AddressParams | Address | NotGiven | None) -> Any:
    """An address argument as sent: an `Address` object is written whole."""
    if isinstance(value, Address):
        return value.to_dict()
    return value


Timestamp = datetime | int | str
"""A point in time for a filter: a timezone-aware `datetime`, unix seconds (int), or the
server's own text (ISO-8601 such as an object's `created_at`, or unix seconds)."""


def timestamp(value: Timestamp | None, name: str) -> str | None:
    """A time filter as sent: ISO-8601 with milliseconds and `Z` for a datetime, the number for
    unix seconds, text as given. A naive datetime is refused: it names no instant."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime (say tzinfo=UTC)")
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be a datetime, unix seconds or text, not {value!r}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text


def names(value: Sequence[str] | NotGiven, name: str) -> list[str] | NotGiven:
    """A list of names (event types) as sent; a lone string is refused, as it would otherwise
    be read as its characters."""
    if isinstance(value, NotGiven):
        return value
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{name} must be a list of strings, such as [{value!r}]")
    return list(value)
