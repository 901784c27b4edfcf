"""Query parameters shared by every list: numbered or cursor paging, ordering and filters (values
arrive as strings)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from paymentkit.server.db.paging import BASE_SORTABLE, Cursor, ListRequest
from paymentkit.server.errors import InvalidRequest, UnknownParameter
from paymentkit.server.http import QueryParam

_INTEGER = re.compile(r"-?[0-9]{1,12}")
CURSOR_MAX = 64  # far above any id (a prefix and 24 characters)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Far beyond any real listing, and small enough that page × pageSize stays a 64-bit OFFSET.
MAX_PAGE = 10_000_000
# Each metadata filter is one more condition of the statement: SQLite refused ~1,000 of them
# ("Expression tree is too large") and PostgreSQL took 11 s for 200.
MAX_METADATA_FILTERS = 20
# More terms than sortable fields can only repeat one.
MAX_ORDER_TERMS = 5

PAGING_PARAMS = (
    QueryParam(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "Numbered page (not with a cursor)",
    ),
    QueryParam(
        "pageSize",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
        "Objects per page; with a cursor, an alias of limit",
    ),
    QueryParam(
        "starting_after",
        {"type": "string", "minLength": 1, "maxLength": CURSOR_MAX},
        "Cursor: the page after this object, in the list's order",
    ),
    QueryParam(
        "ending_before",
        {"type": "string", "minLength": 1, "maxLength": CURSOR_MAX},
        "Cursor: the page before this object, in the list's order",
    ),
    QueryParam(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
        "Objects per page (the cursor form's name for pageSize)",
    ),
)
PAGING_NAMES = frozenset({"page", "pageSize", "starting_after", "ending_before", "limit"})
LIVEMODE_PARAM = QueryParam(
    "livemode",
    {"type": "string", "enum": ["true", "false"]},
    "Must agree with the API key's mode when given (403 otherwise).",
)


def with_aliases(query: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    """`query` with each alias renamed to its target (`size` → `pageSize`); both given is a 400."""
    out = dict(query)
    for alias, target in aliases.items():
        if alias in out:
            if target in out:
                raise InvalidRequest(f"{alias} is an alias of {target}: send one of them", alias)
            out[target] = out.pop(alias)
    return out


def integer(query: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidRequest(f"{name} must be an integer", name)
    text = str(raw).strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidRequest(f"{name} must be an integer between {low} and {high}", name)
    value = int(text)
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be an integer between {low} and {high}", name)
    return value


def paging(query: dict[str, Any]) -> tuple[int, int, Cursor | None]:
    """(page, size, cursor): `page`/`pageSize`, or `starting_after`/`ending_before` with `limit`
    (pageSize accepted as its alias). A cursor and a page together, or both cursors, are a 400."""
    after = _cursor_id(query, "starting_after")
    before = _cursor_id(query, "ending_before")
    if after is not None and before is not None:
        raise InvalidRequest("give starting_after or ending_before, not both", "ending_before")
    cursor = None
    if after is not None:
        cursor = Cursor(after, before=False)
    elif before is not None:
        cursor = Cursor(before, before=True)
    if cursor is not None and query.get("page") is not None:
        raise InvalidRequest("page cannot be combined with a cursor", "page")
    page = integer(query, "page", 1, 1, MAX_PAGE)
    size = integer(query, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    if query.get("limit") is not None:
        size = integer(query, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return page, size, cursor


def _cursor_id(query: dict[str, Any], name: str) -> str | None:
    value = string(query, name)
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > CURSOR_MAX:
        raise InvalidRequest(f"{name} must be an object id", name)
    return value


def list_request(
    query: dict[str, Any],
    order: list[tuple[str, bool]],
    filters: dict[str, str] | None = None,
) -> ListRequest:
    page, size, cursor = paging(query)
    return ListRequest(page, size, order, filters or {}, cursor)


def order(
    value: Any, sortable: set[str], default: list[tuple[str, bool]]
) -> list[tuple[str, bool]]:
    """`order` in every form the Node client's types allow, as [(field, descending)].

    `"updated_at:ASC"`, `["updated_at", "ASC"]`, `[["updated_at", "ASC"], ["id", "DESC"]]`, and a
    list of `"field:DIR"` strings.
    """
    if value is None:
        return default
    items: list[Any]
    if isinstance(value, str) or (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
        and (value[1].upper() in ("ASC", "DESC"))
    ):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidRequest(
            "order must be 'field:ASC|DESC' or a list of [field, direction]", "order"
        )
    if len(items) > MAX_ORDER_TERMS:
        raise InvalidRequest(f"order may have at most {MAX_ORDER_TERMS} terms", "order")
    result: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, str):
            field, _, direction = item.partition(":")
        elif (
            isinstance(item, list) and len(item) in (1, 2) and all(isinstance(v, str) for v in item)
        ):
            field, direction = item[0], (item[1] if len(item) == 2 else "")
        else:
            raise InvalidRequest("order entries must be 'field:DIR' or [field, DIR]", "order")
        field = field.strip()
        direction = direction.strip().upper() or "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidRequest("order direction must be ASC or DESC", "order")
        if field not in sortable:
            raise InvalidRequest(
                f"order field must be one of {', '.join(sorted(sortable))}", "order"
            )
        if any(field == seen for seen, _ in result):
            raise InvalidRequest(f"order names {field} more than once", "order")
        result.append((field, direction == "DESC"))
    return result or default


def reject_unknown(
    query: dict[str, Any], allowed: set[str], prefixes: tuple[str, ...] = ()
) -> None:
    for name in query:
        if name not in allowed and not name.startswith(prefixes):
            raise UnknownParameter(f"Unknown query parameter: {name}", name)


def boolean(query: dict[str, Any], name: str) -> bool | None:
    """`true` or `false` (as qs sends them), None when absent; anything else is a 400."""
    value = query.get(name)
    if value is None:
        return None
    if value in ("true", "false"):
        return bool(value == "true")
    raise InvalidRequest(f"{name} must be true or false", name)


def string(query: dict[str, Any], name: str) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string", name)
    return value


def billing_list_request(
    query: dict[str, Any],
    filter_names: tuple[str, ...] = (),
    choices: dict[str, tuple[str, ...]] | None = None,
    sortable: Iterable[str] = BASE_SORTABLE,
) -> ListRequest:
    """Paging, `order` (by default created_at, updated_at or id; else a field of `sortable`)
    and exact-match filters of a billing list; any other parameter but livemode is refused."""
    reject_unknown(query, {*filter_names, *PAGING_NAMES, "order", "livemode"})
    found: dict[str, str] = {}
    for name in filter_names:
        value = string(query, name)
        if value is None:
            continue
        allowed = (choices or {}).get(name)
        if allowed is not None and value not in allowed:
            raise InvalidRequest(f"{name} must be one of {', '.join(allowed)}", name)
        found[name] = value
    ordering = order(query.get("order"), set(sortable), [("created_at", True)])
    return list_request(query, ordering, found)


def order_schema(fields: tuple[str, ...]) -> dict[str, Any]:
    """The string form of `order` for the API description (the qs list forms are described in
    words: OpenAPI cannot say `order[0][1]`)."""
    names = "|".join(fields)
    return {
        "type": "string",
        "default": "created_at:DESC",
        "pattern": f"^({names})(:(ASC|DESC|asc|desc))?$",
    }


ORDER_PARAM = QueryParam(
    "order",
    order_schema(("created_at", "updated_at", "id")),
    "created_at, updated_at or id (creation order), with :ASC or :DESC; also the qs list forms",
)
