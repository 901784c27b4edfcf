"""Validation rules every resource shares (pure, no I/O). Each failure names its `param`."""

from __future__ import annotations

from typing import Any, TypeVar, overload

from msgspec import UNSET, UnsetType

from paymentkit.schemas.common import MetadataValue
from paymentkit.server.errors import InvalidRequest

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


def text(value: str | None, param: str, limit: int) -> str | None:
    """Trimmed text; empty means absent."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidRequest(f"{param} must be at most {limit} characters", param)
    return value or None


def metadata(
    current: dict[str, MetadataValue], changes: dict[str, Any] | None
) -> dict[str, MetadataValue]:
    """Merge metadata key by key: null or "" removes a key; None for `changes` clears all."""
    if changes is None:
        return {}
    if len(changes) > METADATA_MAX_KEYS:
        raise InvalidRequest(f"metadata may have at most {METADATA_MAX_KEYS} keys", "metadata")
    merged = dict(current)
    for key, value in changes.items():
        param = f"metadata.{key}"
        if not key or len(key) > METADATA_KEY_MAX:
            raise InvalidRequest(f"metadata keys must be 1 to {METADATA_KEY_MAX} characters", param)
        if value is None or value == "":
            merged.pop(key, None)
            continue
        if not isinstance(value, str | int | float | bool):
            raise InvalidRequest("metadata values must be strings, numbers or booleans", param)
        if len(metadata_text(value)) > METADATA_VALUE_MAX:
            raise InvalidRequest(
                f"metadata values must be at most {METADATA_VALUE_MAX} characters", param
            )
        merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise InvalidRequest(f"metadata may have at most {METADATA_MAX_KEYS} keys", "metadata")
    return merged


def metadata_text(value: MetadataValue) -> str:
    """How a metadata value compares with a `metadata.KEY=VALUE` filter (query values are strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def required_text(value: str, param: str, limit: int) -> str:
    cleaned = text(value, param, limit)
    if cleaned is None:
        raise InvalidRequest(f"{param} may not be empty", param)
    return cleaned


AMOUNT_MAX_DIGITS = 78  # NUMERIC(78,0) on PostgreSQL: up to 10^78 - 1


def amount(value: str | int, param: str, *, allow_zero: bool = True) -> int:
    """A non-negative integer amount from a decimal string (or JSON integer); exact, no float."""
    if isinstance(value, bool):
        raise InvalidRequest(f"{param} must be an integer string", param)
    raw = str(value).strip() if isinstance(value, int) else value.strip()
    if not raw.isascii() or not raw.isdigit():
        raise InvalidRequest(f'{param} must be a non-negative integer string like "1000"', param)
    if len(raw.lstrip("0")) > AMOUNT_MAX_DIGITS:
        raise InvalidRequest(f"{param} may have at most {AMOUNT_MAX_DIGITS} digits", param)
    parsed = int(raw)
    if parsed == 0 and not allow_zero:
        raise InvalidRequest(f"{param} must be greater than zero", param)
    return parsed


T = TypeVar("T")
D = TypeVar("D")


@overload
def given(value: T | UnsetType) -> T | None: ...
@overload
def given(value: T | UnsetType, default: D) -> T | D: ...
def given(value: Any, default: Any = None) -> Any:
    """A request field's value, or `default` when the client did not send it (msgspec's UNSET)."""
    return default if value is UNSET else value
