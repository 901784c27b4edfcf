"""The answer every list and search returns (schemas.common.ListPage), built from a paged read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from paymentkit.schemas.common import ListPage, Paging
from paymentkit.server.db.paging import ListRequest, Page

L = TypeVar("L", bound=ListPage)
T = TypeVar("T")


def answer(shape: type[L], request: ListRequest, page: Page[T], item: Callable[[T], Any]) -> L:
    """`shape` (a resource's list struct) holding `page`'s rows as `item` renders them."""
    return shape(  # type: ignore[call-arg]  # every list struct adds its `list`
        count=page.count,
        list=[item(row) for row in page.rows],
        paging=Paging(
            page=1 if request.cursor is not None else request.page, pageSize=request.size
        ),
        has_more=page.has_more,
        count_is_exact=page.exact,
    )
