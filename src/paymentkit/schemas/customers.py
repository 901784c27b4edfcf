"""Customer objects on the wire."""

from __future__ import annotations

import builtins
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from paymentkit.schemas.common import ListPage, Metadata, MetadataMap

Str = str | None | UnsetType


class Address(msgspec.Struct):
    country: str | None = None
    state: str | None = None
    city: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None


class AddressInput(msgspec.Struct, forbid_unknown_fields=True):
    """On update, fields merge one by one; a field set to null is removed."""

    country: Annotated[Str, msgspec.Meta(description="ISO 3166-1 alpha-2 code")] = UNSET
    state: Str = UNSET
    city: Str = UNSET
    line1: Str = UNSET
    line2: Str = UNSET
    postal_code: Str = UNSET


class CustomerInput(msgspec.Struct, forbid_unknown_fields=True):
    """Body of create and update. On update, fields not sent stay as they are; `metadata` and
    `address` merge key by key (null or, in metadata, "" removes a key; null for the whole object
    clears it). `did` may be set only while the customer has none."""

    did: Annotated[
        Str,
        msgspec.Meta(
            description="Base58 DID starting with z; did:abt: prefix ok",
            extra_json_schema={"pattern": "^(did:abt:)?z[1-9A-HJ-NP-Za-km-z]+$"},
        ),
    ] = UNSET
    name: Str = UNSET
    email: Str = UNSET
    phone: Annotated[Str, msgspec.Meta(description="Possible number with country code")] = UNSET
    address: AddressInput | UnsetType | None = UNSET
    description: Str = UNSET
    metadata: MetadataMap | UnsetType | None = UNSET


class RetrieveOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of a retrieve by DID: `create: true` makes the customer when it does not exist."""

    create: bool | str | UnsetType = UNSET


class Customer(msgspec.Struct, kw_only=True):
    id: str
    object: str = "customer"
    did: str | None
    name: str | None
    email: str | None
    phone: str | None
    address: Address | None
    description: str | None
    balance: str
    delinquent: bool
    livemode: bool
    metadata: Metadata
    created_at: str
    updated_at: str


class CustomerList(ListPage):
    list: builtins.list[Customer]


class DeletedCustomer(msgspec.Struct):
    id: str
    object: str = "customer"
    deleted: bool = True
