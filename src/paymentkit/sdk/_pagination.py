"""Pages of a list or search, and the iterator that walks every page.

A `Page` is one answer: `data` (the objects), `count` (the matches; a lower bound when
`count_is_exact` is false, which the server may answer above 10,000 matches), `page`,
`page_size`, `has_more` (whether another page follows in the direction the page was fetched) and
`direction` ("forward", or "backward" for a page fetched with `ending_before`).

`page.auto_paging_iter()` yields every object of every page from this one on, fetching each next
page only when the previous one is used up, with the same filters and order. Use `for` with
`PaymentKit` and `async for` with `AsyncPaymentKit`. It walks with cursors: the next request is
the same one with `page`/`pageSize` replaced by `starting_after=<id of the page's last object>` and
`limit=<page size>`. A page fetched with `ending_before` is walked backwards instead, with
`ending_before=<id of the page's first object>`: pages come in reverse order, and each page's
objects in the order the server returns them (the list's order), exactly as `page.data` shows
them. The walk ends at a page with `has_more` false, or an empty one.

Because every page is anchored on an object rather than numbered, objects created while you walk
no longer shift later pages: nothing is skipped or repeated. (An object whose sort key changes
meanwhile, say under `order="updated_at:ASC"`, can still come round again; the iterator skips any
id it has already yielded, so nothing comes twice.) The one thing a walk cannot survive is the
deletion of the very object the next cursor names: the server refuses that cursor (400,
`InvalidRequestError`).

A server older than cursors answers without `has_more` and `count_is_exact`: `has_more` is then
`page * page_size < count` and `count_is_exact` true, and auto-paging asks for the next page by
number, as such a server refuses cursor parameters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from paymentkit.sdk.types import PaymentKitObject

if TYPE_CHECKING:
    from paymentkit.sdk._endpoint import Cursor, Sender, Spec

ObjT = TypeVar("ObjT", bound=PaymentKitObject)
Direction = Literal["forward", "backward"]


class Page(Generic[ObjT]):
    """One page of a list or search. Iterating it (or `len`) covers this page only; use
    `auto_paging_iter()` for every page.

    `has_more`: whether another page exists in the direction of travel, after this page's last
    object (or, when `direction` is "backward", before its first one). `count`: the matches, exact
    when `count_is_exact`, else a lower bound. `page` is 1 for a page fetched with a cursor, and
    `page_size` the `limit` the server used.
    """

    def __init__(
        self,
        data: list[ObjT],
        *,
        count: int,
        page: int,
        page_size: int,
        has_more: bool | None = None,
        count_is_exact: bool = True,
        direction: Direction = "forward",
        sender: Sender | None = None,
        spec: Spec[Page[ObjT]] | None = None,
    ) -> None:
        self.data = data
        self.count = count
        self.page = page
        self.page_size = page_size
        self.count_is_exact = count_is_exact
        self.direction: Direction = direction
        # None: the server did not say, so it predates cursors (see the module's docstring).
        self._cursors = has_more is not None
        self.has_more = page * page_size < count if has_more is None else has_more
        self._sender = sender
        self._spec = spec

    @classmethod
    def from_wire(
        cls, data: Any, item: type[ObjT], sender: Sender, spec: Spec[Page[ObjT]]
    ) -> Page[ObjT]:
        paging = data["paging"]
        has_more = _flag(data, "has_more")
        count_is_exact = _flag(data, "count_is_exact")
        return cls(
            [item.from_wire(x) for x in data["list"]],
            count=int(data["count"]),
            page=int(paging["page"]),
            page_size=int(paging["pageSize"]),
            has_more=has_more,
            count_is_exact=True if count_is_exact is None else count_is_exact,
            direction="backward" if spec.param("ending_before") is not None else "forward",
            sender=sender,
            spec=spec,
        )

    def auto_paging_iter(self) -> AutoPager[ObjT]:
        """Every object from this page on, fetching later pages lazily: `for` on `PaymentKit`,
        `async for` on `AsyncPaymentKit`."""
        return AutoPager(self)

    def to_dict(self) -> dict[str, Any]:
        """The page in its wire form: `{"count", "list", "paging": {"page", "pageSize"},
        "has_more", "count_is_exact"}`."""
        return {
            "count": self.count,
            "list": [x.to_dict() for x in self.data],
            "paging": {"page": self.page, "pageSize": self.page_size},
            "has_more": self.has_more,
            "count_is_exact": self.count_is_exact,
        }

    def __iter__(self) -> Iterator[ObjT]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        count = str(self.count) if self.count_is_exact else f"more than {self.count}"
        where = "" if self.direction == "forward" else ", backward"
        more = ", more" if self.has_more else ""
        return (
            f"<Page {self.page} of {count} matches, page_size {self.page_size}{where}: "
            f"{len(self.data)} objects{more}>"
        )


class AutoPager(Generic[ObjT]):
    """Walks every page from a first one: `for x in pager` (sync client) or
    `async for x in pager` (async client)."""

    def __init__(self, first: Page[ObjT]) -> None:
        self._first = first

    def _next_spec(self, page: Page[ObjT]) -> Spec[Page[ObjT]] | None:
        """The request for the page after `page` in its direction, or None at the end."""
        if not page.data or not page.has_more or page._spec is None:
            return None
        if not page._cursors:  # a server older than cursors
            return page._spec.with_page(page.page + 1)
        backward = page.direction == "backward"
        cursor: Cursor = "ending_before" if backward else "starting_after"
        anchor = getattr(page.data[0] if backward else page.data[-1], "id", None)
        if not isinstance(anchor, str) or anchor == page._spec.param(cursor):
            return None  # nothing to go on from, or a server that does not move on
        return page._spec.with_cursor(cursor, anchor, page.page_size)

    def __iter__(self) -> Iterator[ObjT]:
        sender = self._first._sender
        if sender is not None and sender.is_async:
            raise TypeError(
                "this page comes from AsyncPaymentKit: use `async for` over auto_paging_iter()"
            )
        return self._walk()

    def _walk(self) -> Iterator[ObjT]:
        page, seen = self._first, set[str]()
        while True:
            yield from _unseen(page.data, seen)
            spec = self._next_spec(page)
            if spec is None or page._sender is None:
                return
            page = page._sender.send(spec)

    def __aiter__(self) -> AsyncIterator[ObjT]:
        sender = self._first._sender
        if sender is not None and not sender.is_async:
            raise TypeError("this page comes from PaymentKit: use `for` over auto_paging_iter()")
        return self._awalk()

    async def _awalk(self) -> AsyncIterator[ObjT]:
        page, seen = self._first, set[str]()
        while True:
            for item in _unseen(page.data, seen):
                yield item
            spec = self._next_spec(page)
            if spec is None or page._sender is None:
                return
            page = await page._sender.send(spec)


def _flag(data: Any, name: str) -> bool | None:
    """A boolean field of the answer; None when it is absent (an older server)."""
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be a boolean, not {value!r}")
    return value if isinstance(value, bool) else None


def _unseen(items: list[ObjT], seen: set[str]) -> Iterator[ObjT]:
    for item in items:
        key = getattr(item, "id", None)
        if isinstance(key, str):
            if key in seen:
                continue
            seen.add(key)
        yield item
