"""The dashboard's pure rules: money as exact decimal text, amounts typed in currency units, and
the edit form's fields as the API's update body. No I/O; integers and strings only, no float.

What a value must be (an email, a phone, metadata limits, a payment amount's range) is never
decided here: the form becomes the API's own body and the API's services judge it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from paymentkit.server import errors
from paymentkit.server.customers.rules import ADDRESS_FIELDS

MAX_DECIMAL = 18
AMOUNT_INPUT_MAX = 100  # characters of a typed amount
METADATA_LINES_MAX = 200  # the API allows 50 keys; more lines than this is no edit
_TYPED_AMOUNT = re.compile(r"(-?)([0-9]*)(?:\.([0-9]*))?")
PROFILE_FIELDS = ("name", "email", "phone", "description")


def format_amount(amount: str, decimal: int, symbol: str) -> str:
    """An integer amount in the currency's smallest unit as exact decimal text with the symbol:
    ("5000", 2, "USD") → "50.00 USD"; any size (18 decimals, past 2^64)."""
    text = amount.strip()
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"not an integer amount: {amount!r}")
    if not 0 <= decimal <= MAX_DECIMAL:
        raise ValueError(f"a currency's decimal is 0-{MAX_DECIMAL}, not {decimal}")
    digits = digits.lstrip("0") or "0"
    if decimal:
        digits = digits.rjust(decimal + 1, "0")
        number = f"{digits[:-decimal]}.{digits[-decimal:]}"
    else:
        number = digits
    sign = "-" if negative and digits.strip("0") else ""
    return f"{sign}{number} {symbol}".rstrip()


def parse_amount(typed: str, decimal: int, param: str = "amount") -> str:
    """An amount typed in currency units ("12.5" with 2 decimals) as the integer string of the
    smallest unit ("1250") that the API takes. Only the form of the text is checked here (400
    naming `param`); whether the amount may be paid is the API's rule."""
    text = typed.strip()
    match = _TYPED_AMOUNT.fullmatch(text) if len(text) <= AMOUNT_INPUT_MAX else None
    if match is None or not (match.group(2) or match.group(3)):
        raise errors.InvalidRequest(
            "amount must be a number such as 12.50, in the currency's units", param
        )
    sign, whole, fraction = match.group(1), match.group(2) or "0", match.group(3) or ""
    if len(fraction) > decimal:
        raise errors.InvalidRequest(
            f"amount has more than the currency's {decimal} decimal places", param
        )
    value = int(whole) * 10**decimal + int(fraction.ljust(decimal, "0") or "0")
    return f"{sign}{value}"


def metadata_text(value: Any) -> str:
    """A metadata value as the edit form shows it: strings as they are, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def metadata_lines(metadata: dict[str, Any]) -> str:
    return "\n".join(f"{key}={metadata_text(value)}" for key, value in metadata.items())


def metadata_changes(typed: str, current: dict[str, Any]) -> dict[str, Any]:
    """The `metadata` of an update body from the form's `key=value` lines: keys that left the
    text are removed (null), new or changed lines set a string, lines left as shown are not
    sent (so a number or boolean stays one)."""
    lines = [line for line in typed.replace("\r\n", "\n").split("\n") if line.strip()]
    if len(lines) > METADATA_LINES_MAX:
        raise errors.InvalidRequest(
            f"metadata may have at most {METADATA_LINES_MAX} lines", "metadata"
        )
    wanted: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise errors.InvalidRequest(
                f"metadata lines are key=value: {line.strip()[:60]}", "metadata"
            )
        if key in wanted:
            raise errors.InvalidRequest(f"metadata key {key[:40]} appears twice", "metadata")
        wanted[key] = value.strip()
    changes: dict[str, Any] = {k: None for k in current if k not in wanted}
    for key, value in wanted.items():
        if key not in current or metadata_text(current[key]) != value:
            changes[key] = value
    return changes


def _field(form: dict[str, str], name: str) -> str | None:
    return form[name].strip() or None


def customer_changes(form: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """The API's update body (`PUT /api/customers/{id}`) for the edit form: every field the form
    holds, an empty one as null (clears it); `did` only when typed (it can be set once);
    `metadata` as `metadata_changes`. `current` is the customer as the API renders it."""
    body: dict[str, Any] = {name: _field(form, name) for name in PROFILE_FIELDS if name in form}
    if form.get("did", "").strip():
        body["did"] = form["did"].strip()
    address = {f: _field(form, f"address.{f}") for f in ADDRESS_FIELDS if f"address.{f}" in form}
    if address:
        body["address"] = address
    if "metadata" in form:
        changes = metadata_changes(form["metadata"], current.get("metadata") or {})
        if changes:
            body["metadata"] = changes
    return body


def field_of(param: str | None) -> str | None:
    """The form field an API error's `param` belongs to: `metadata.tier` → `metadata` (one
    text area holds them all), `enabled_events.0` → `enabled_events` (a list's item)."""
    if param is None:
        return None
    if param.startswith("metadata"):
        return "metadata"
    head, _, last = param.rpartition(".")
    return head if head and last.isdigit() else param


def local_path(target: str | None, default: str) -> str:
    """A path inside the dashboard to go back to (a sign-in's `next`), else `default`: no other
    site, scheme or control character can come through."""
    if (
        not target
        or len(target) > 500
        or not target.startswith("/dashboard/")
        or "//" in target
        or "\\" in target
        or not target.isprintable()
    ):
        return default
    return target
