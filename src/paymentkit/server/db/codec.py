"""JSON kept in TEXT columns (metadata, addresses, settings keys): compact text in, dicts out."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_object = msgspec.json.Decoder(dict[str, Any])


def to_text(value: Any) -> str:
    return _encoder.encode(value).decode()


def object_of(text: str) -> dict[str, Any]:
    return _object.decode(text)
