"""How resources are written once for both clients.

A resource method builds a `Spec` — the request to send and how to read the answer — and the
`endpoint` decorator turns it into a method that sends it with the client's transport. On
`PaymentKit` the transport answers at once; on `AsyncPaymentKit` it answers with an awaitable. The
type checker follows: `endpoint.__get__` is overloaded on the resource's kind, so
`PaymentKit().customers.retrieve` is `(id: str, ...) -> Customer` and
`AsyncPaymentKit().customers.retrieve` is `(id: str, ...) -> Awaitable[Customer]`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import (
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    Self,
    TypeVar,
    final,
    overload,
)

from paymentkit.sdk._pagination import Page
from paymentkit.sdk.types import PaymentKitObject

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
ObjT = TypeVar("ObjT", bound=PaymentKitObject)
K = TypeVar("K")


@final
class SyncKind:
    """Marks the resources of `PaymentKit`: calls return their result."""


@final
class AsyncKind:
    """Marks the resources of `AsyncPaymentKit`: calls return an awaitable of their result."""


class Sender(Protocol):
    """A transport: sends a `Spec` and returns its result (or, when `is_async`, an awaitable)."""

    @property
    def is_async(self) -> bool: ...

    def send(self, spec: Spec[T]) -> Any: ...


Decode = Callable[[Any, Sender, "Spec[Any]"], T_co]
Cursor = Literal["starting_after", "ending_before"]
"""The two cursor parameters: the page after an object, or the page before it."""
PAGING_PARAMS = frozenset({"page", "pageSize", "limit", "starting_after", "ending_before"})


@dataclass(frozen=True, slots=True)
class Spec(Generic[T]):
    """One API call: method, path, query, JSON body, and how to decode a 2xx answer.

    `idempotency_key` is the caller's key for a write; None means one is generated per call (and
    kept across its retries).
    """

    method: str
    path: str
    decode: Decode[T]
    query: tuple[tuple[str, str], ...] = ()
    body: dict[str, Any] | None = None
    idempotency_key: str | None = None

    def with_page(self, page: int) -> Spec[T]:
        """The same call for another page (the other query parameters kept)."""
        rest = tuple((k, v) for k, v in self.query if k != "page")
        return dataclasses.replace(self, query=(("page", str(page)), *rest))

    def with_cursor(self, cursor: Cursor, id: str, limit: int) -> Spec[T]:
        """The same call for the page after (`"starting_after"`) or before (`"ending_before"`)
        the object `id`, `limit` objects long: the paging parameters (page, pageSize, both
        cursors, limit) are replaced, the filters and order kept."""
        rest = tuple((k, v) for k, v in self.query if k not in PAGING_PARAMS)
        return dataclasses.replace(self, query=((cursor, id), ("limit", str(limit)), *rest))

    def param(self, name: str) -> str | None:
        """The value of query parameter `name`, or None when it is not sent."""
        return next((v for k, v in self.query if k == name), None)


def _object(cls: type[ObjT]) -> Decode[ObjT]:
    def decode(data: Any, sender: Sender, spec: Spec[Any]) -> ObjT:
        return cls.from_wire(data)

    return decode


def get(path: str, cls: type[ObjT], query: tuple[tuple[str, str], ...] = ()) -> Spec[ObjT]:
    return Spec("GET", path, _object(cls), query=query)


def get_page(
    path: str, cls: type[ObjT], query: tuple[tuple[str, str], ...] = ()
) -> Spec[Page[ObjT]]:
    def decode(data: Any, sender: Sender, spec: Spec[Any]) -> Page[ObjT]:
        return Page.from_wire(data, cls, sender, spec)

    return Spec("GET", path, decode, query=query)


def post(
    path: str,
    cls: type[ObjT],
    body: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Spec[ObjT]:
    return Spec("POST", path, _object(cls), body=body, idempotency_key=idempotency_key)


def put(
    path: str,
    cls: type[ObjT],
    body: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Spec[ObjT]:
    return Spec("PUT", path, _object(cls), body=body, idempotency_key=idempotency_key)


def delete(path: str, cls: type[ObjT], idempotency_key: str | None = None) -> Spec[ObjT]:
    return Spec("DELETE", path, _object(cls), idempotency_key=idempotency_key)


class Resource(Generic[K]):
    """Base of `client.customers`, `client.invoices`, …: holds the client's transport."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    def __repr__(self) -> str:
        kind = "async" if self._sender.is_async else "sync"
        return f"<{type(self).__name__} ({kind})>"


class endpoint(Generic[P, T]):
    """Decorator: a method returning `Spec[T]` becomes a call returning `T` on the sync client
    and `Awaitable[T]` on the async one, with the same parameters."""

    def __init__(self, build: Callable[Concatenate[Any, P], Spec[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__
        self.__qualname__ = build.__qualname__
        parameters = list(inspect.signature(build).parameters.values())[1:]
        self._signature = inspect.Signature(parameters)

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.__name__ = name

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(
        self, obj: Resource[SyncKind], owner: type[Any] | None = None
    ) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, obj: Resource[AsyncKind], owner: type[Any] | None = None
    ) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, obj: Resource[Any] | None, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        build = self._build
        send = obj._sender.send

        def call(*args: Any, **kwargs: Any) -> Any:
            return send(build(obj, *args, **kwargs))

        call.__name__ = self.__name__
        call.__qualname__ = self.__qualname__
        call.__doc__ = self.__doc__
        call.__signature__ = self._signature  # type: ignore[attr-defined]
        obj.__dict__[self.__name__] = call  # bound once per resource object
        return call
