"""Payment method rules. Settings are secret: encrypted at rest, shown only as redacted keys."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UnsetType

from paymentkit.schemas.billing import (
    REDACTED,
    PaymentMethod,
    PaymentMethodCreate,
    PaymentMethodList,
    PaymentMethodUpdate,
)
from paymentkit.server import errors, validation
from paymentkit.server.crypto import SecretBox
from paymentkit.server.db import codec
from paymentkit.server.db.engine import Row, Tx
from paymentkit.server.events import outbox, types
from paymentkit.server.ids import iso_ms, new_id, now_ms
from paymentkit.server.payment_methods import repository as repo
from paymentkit.server.payment_methods import rules
from paymentkit.server.resource import Resource

NAME_MAX = 256
DESCRIPTION_MAX = 1000
SETTINGS_MAX_KEYS = 20
SETTINGS_KEY_MAX = 64
SETTINGS_VALUE_MAX = 4096

_keys_decoder = msgspec.json.Decoder(list[str])
_settings_decoder = msgspec.json.Decoder(dict[str, str])


def to_wire(row: Row) -> PaymentMethod:
    id_, livemode, type_, name, description, active, keys, metadata, created, updated = row
    return PaymentMethod(
        id=id_,
        type=type_,
        name=name,
        description=description,
        active=bool(active),
        settings=dict.fromkeys(_keys_decoder.decode(keys), REDACTED),
        livemode=bool(livemode),
        metadata=codec.object_of(metadata),
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
    )


RESOURCE = Resource("payment method", repo.records, to_wire, PaymentMethodList)
retrieve = RESOURCE.retrieve


def _merge_settings(current: dict[str, str], changes: dict[str, Any] | None) -> dict[str, str]:
    if changes is None:
        return {}
    merged = dict(current)
    for key, value in changes.items():
        param = f"settings.{key}"
        if not key or len(key) > SETTINGS_KEY_MAX:
            raise errors.InvalidRequest(
                f"settings keys must be 1 to {SETTINGS_KEY_MAX} characters", param
            )
        if value is None or value == "":
            merged.pop(key, None)
        elif not isinstance(value, str):
            raise errors.InvalidRequest("settings values must be strings", param)
        elif len(value) > SETTINGS_VALUE_MAX:
            raise errors.InvalidRequest(
                f"settings values must be at most {SETTINGS_VALUE_MAX} characters", param
            )
        else:
            merged[key] = value
    if len(merged) > SETTINGS_MAX_KEYS:
        raise errors.InvalidRequest(
            f"settings may have at most {SETTINGS_MAX_KEYS} keys", "settings"
        )
    return merged


def _sealed(box: SecretBox, settings: dict[str, str]) -> dict[str, Any]:
    return {
        "settings_encrypted": box.encrypt(codec.to_text(settings).encode()) if settings else None,
        "settings_keys": codec.to_text(sorted(settings)),
    }


def create(tx: Tx, box: SecretBox, livemode: bool, data: PaymentMethodCreate) -> PaymentMethod:
    now = now_ms()
    method_id = new_id("pm")
    settings = _merge_settings({}, validation.given(data.settings))
    metadata = validation.metadata({}, validation.given(data.metadata))
    repo.insert(
        tx,
        {
            "id": method_id,
            "livemode": livemode,
            "type": rules.method_type(data.type),
            "name": validation.required_text(data.name, "name", NAME_MAX),
            "description": validation.text(
                validation.given(data.description),
                "description",
                DESCRIPTION_MAX,
            ),
            "active": validation.given(data.active, True),
            **_sealed(box, settings),
            "metadata": codec.to_text(metadata),
            "created_at": now,
            "updated_at": now,
        },
    )
    return retrieve(tx, livemode, method_id)


def settings_of(tx: Tx, box: SecretBox, method_id: str) -> dict[str, str]:
    """The decrypted settings, for code that talks to the processor; never for responses."""
    token = repo.encrypted_settings(tx, method_id)
    return {} if token is None else _settings_decoder.decode(box.decrypt(token))


def update(
    tx: Tx, box: SecretBox, livemode: bool, method_id: str, data: PaymentMethodUpdate
) -> PaymentMethod:
    row = RESOURCE.require(tx, livemode, method_id, lock=True)
    fields: dict[str, Any] = {}
    if not isinstance(data.name, UnsetType):
        fields["name"] = validation.required_text(data.name, "name", NAME_MAX)
    if not isinstance(data.description, UnsetType):
        fields["description"] = validation.text(data.description, "description", DESCRIPTION_MAX)
    if not isinstance(data.active, UnsetType):
        fields["active"] = data.active
    if not isinstance(data.settings, UnsetType):
        current = settings_of(tx, box, method_id)
        fields.update(_sealed(box, _merge_settings(current, data.settings)))
    if not isinstance(data.metadata, UnsetType):
        metadata = validation.metadata(
            codec.object_of(repo.records.value(row, "metadata")), data.metadata
        )
        fields["metadata"] = codec.to_text(metadata)
    if not fields:
        return to_wire(row)
    fields["updated_at"] = max(now_ms(), int(repo.records.value(row, "updated_at")))
    repo.update(tx, method_id, fields)
    method = retrieve(tx, livemode, method_id)
    previous = outbox.changes(to_wire(row), method)
    outbox.record(tx, livemode, types.PAYMENT_METHOD_UPDATED, method, previous)
    return method
