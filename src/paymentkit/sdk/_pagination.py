"""Pages of a list or search, and the iterator that walks every page.

A `Page` is one answer: `data` (the objects), `count` (every match), `page` and `page_size`.
`page.auto_paging_iter()` yields every object of every page from this one on, fetching each next
page only when the previous one is used up, with the same filters. Use `for` with `PaymentKit` and
`async for` with `AsyncPaymentKit`.

Pages are numbered, so objects created while you walk (newest first) push others to later pages;
the iterator skips any id it has already yielded, so nothing comes twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from paymentkit.sdk.types import PaymentKitObject

if TYPE_CHECKING:
    from paymentkit.sdk._endpoint import Sender, Spec

ObjT = TypeVar("ObjT", bound=PaymentKitObject)


class Page(Generic[ObjT]):
    """One page of a list or search. Iterating it (or `len`) covers this page only; use
    `auto_paging_iter()` for every page."""

    def __init__(
        self,
        data: list[ObjT],
        *,
        count: int,
        page: int,
        page_size: int,
        sender: Sender | None = None,
        spec: Spec[Page[ObjT]] | None = None,
    ) -> None:
        self.data = data
        self.count = count
        self.page = page
        self.page_size = page_size
        self._sender = sender
        self._spec = spec

    @classmethod
    def from_wire(
        cls, data: Any, item: type[ObjT], sender: Sender, spec: Spec[Page[ObjT]]
    ) -> Page[ObjT]:
        paging = data["paging"]
        return cls(
            [item.from_wire(x) for x in data["list"]],
            count=int(data["count"]),
            page=int(paging["page"]),
            page_size=int(paging["pageSize"]),
            sender=sender,
            spec=spec,
        )

    @property
    def has_more(self) -> bool:
        """Whether pages after this one hold more matches."""
        return self.page * self.page_size < self.count

    def auto_paging_iter(self) -> AutoPager[ObjT]:
        """Every object from this page on, fetching later pages lazily: `for` on `PaymentKit`,
        `async for` on `AsyncPaymentKit`."""
        return AutoPager(self)

    def to_dict(self) -> dict[str, Any]:
        """The page in its wire form: `{"count", "list", "paging": {"page", "pageSize"}}`."""
        return {
            "count": self.count,
            "list": [x.to_dict() for x in self.data],
            "paging": {"page": self.page, "pageSize": self.page_size},
        }

    def __iter__(self) -> Iterator[ObjT]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"<Page {self.page} of {self.count} matches, page_size {self.page_size}: "
            f"{len(self.data)} objects>"
        )


class AutoPager(Generic[ObjT]):
    """Walks every page from a first one: `for x in pager` (sync client) or
    `async for x in pager` (async client)."""

    def __init__(self, first: Page[ObjT]) -> None:
        self._first = first

    def _next_spec(self, page: Page[ObjT]) -> Spec[Page[ObjT]] | None:
        if not page.data or not page.has_more or page._spec is None:
            return None
        return page._spec.with_page(page.page + 1)

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


def _unseen(items: list[ObjT], seen: set[str]) -> Iterator[ObjT]:
    for item in items:
        key = getattr(item, "id", None)
        if isinstance(key, str):
            if key in seen:
                continue
            seen.add(key)
        yield item
