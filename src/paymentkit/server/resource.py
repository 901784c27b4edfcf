"""The shape every billing-style resource shares: retrieve one object by id, list them, and the
two routes that answer those, and the handler of an action on one object (`act`).

A resource names itself once (`Resource`: its noun, its table's `Records`, how a row renders, its
list struct); its service then has `retrieve`/`require`/`list` from it and its routes register
`list_route` and `retrieve_route` instead of writing the same handler again. What differs between
resources (filters, extra query names, docs) is a parameter; anything more (customers' search,
events' type prefixes) stays in the resource's own files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from paymentkit.schemas.common import ListPage, NoBody
from paymentkit.server import errors, listing, params
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.db.paging import ListRequest
from paymentkit.server.db.records import Records
from paymentkit.server.http import READ_ERRORS, Call, QueryParam, Registry, Reply, convert

W = TypeVar("W")

_MODE = (params.LIVEMODE_PARAM,)


@dataclass(frozen=True)
class Resource(Generic[W]):
    noun: str  # as error messages name it: "No such {noun}: {id}"
    records: Records
    to_wire: Callable[[Row], W]
    list_shape: type[ListPage]

    def require(self, tx: Tx, livemode: bool, id: str, *, lock: bool = False) -> Row:
        """The row with this id in this mode (locked when asked); 404 when there is none."""
        row = self.records.get(tx, livemode, id, lock=lock)
        if row is None:
            raise errors.NotFound(f"No such {self.noun}: {id}")
        return row

    def retrieve(self, tx: Tx, livemode: bool, id: str) -> W:
        return self.to_wire(self.require(tx, livemode, id))

    def list(self, tx: Tx, livemode: bool, request: ListRequest) -> Any:
        page = self.records.page(tx, livemode, request)
        return listing.answer(self.list_shape, request, page, self.to_wire)


def list_route(
    api: Registry,
    resource: Resource[Any],
    path: str,
    summary: str,
    doc: str,
    *,
    filters: tuple[QueryParam, ...] = (),
    aliases: dict[str, str] | None = None,
) -> None:
    """`GET path`: numbered or cursor paging, `order`, and exact-match `filters` (a filter whose
    schema has an `enum` accepts only those values); `aliases` map other names onto paging's."""
    names = tuple(f.name for f in filters)
    choices = {f.name: tuple(f.schema["enum"]) for f in filters if "enum" in f.schema}
    alias_params = tuple(
        QueryParam(alias, {"type": "integer"}, f"alias of {target}")
        for alias, target in (aliases or {}).items()
    )

    async def list_(call: Call) -> Reply:
        query = params.with_aliases(call.query, aliases) if aliases else call.query
        request = params.billing_list_request(query, names, choices)
        result = await call.services.db.transaction(
            lambda tx: resource.list(tx, call.livemode, request)
        )
        return Reply(200, result)

    list_.__doc__ = doc
    api.route(
        "GET",
        path,
        summary,
        response=resource.list_shape,
        query=(*params.PAGING_PARAMS, *alias_params, *filters, params.ORDER_PARAM, *_MODE),
        errors=READ_ERRORS,
    )(list_)


def retrieve_route(
    api: Registry, resource: Resource[Any], path: str, summary: str, doc: str, response: Any
) -> None:
    """`GET path` with an `{id}`: the object, or 404."""

    async def retrieve(call: Call) -> Reply:
        params.reject_unknown(call.query, {"livemode"})
        object_id = call.path("id")
        result = await call.services.db.transaction(
            lambda tx: resource.retrieve(tx, call.livemode, object_id)
        )
        return Reply(200, result)

    retrieve.__doc__ = doc
    api.route(
        "GET", path, summary, response=response, query=_MODE, errors=(*READ_ERRORS, errors.NotFound)
    )(retrieve)


async def act(call: Call, work: Callable[[Tx, bool, str], Any], *, seal: bool = False) -> Reply:
    """An action on the object the path's `{id}` names, taking no body (an empty JSON object at
    most) and no query but `livemode`: `work(tx, livemode, id)` as the request's write (so an
    Idempotency-Key replays it), answered 200; `seal` as `Call.write`'s."""
    params.reject_unknown(call.query, {"livemode"})
    object_id = call.path("id")
    convert(await call.json(), NoBody)
    return await call.write(lambda tx: work(tx, call.livemode, object_id), 200, seal=seal)
