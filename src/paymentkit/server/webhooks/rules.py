"""Pure webhook-endpoint rules (no I/O): what a create or an update may set. Each failure is a
400 naming its `param`. Whether the URL's host may be reached is addresses.py's question."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from msgspec import UnsetType

from paymentkit.schemas.webhooks import (
    URL_MAX,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from paymentkit.server import validation
from paymentkit.server.errors import InvalidRequest
from paymentkit.server.events import types

API_VERSION = types.API_VERSION
DESCRIPTION_MAX = 1000
CREATED_VIA = "api"
STATUSES = ("enabled", "disabled")
# Host names: labels of letters, digits, `-` and `_` (seen in real names), 63 at most each, 253
# in all (RFC 1035); an internationalised name is checked in its IDNA (xn--) form.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_HOST_MAX = 253


def url(value: str) -> str:
    """A webhook URL as stored: trimmed, at most URL_MAX characters, `http` or `https`, naming a
    host (a name or an IP literal) and at most a port; no credentials (`user:pass@` would be
    stored in clear and shown in every answer: authenticate with the signature instead), no
    `#fragment` (never sent), no spaces or control characters."""
    value = value.strip()
    if not value:
        raise InvalidRequest("url may not be empty", "url")
    if len(value) > URL_MAX:
        raise InvalidRequest(f"url must be at most {URL_MAX} characters", "url")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidRequest("url may not contain spaces or control characters", "url")
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # brackets of an IPv6 host not closed, NFKC tricks in the host
        raise InvalidRequest(f"url cannot be read: {exc}", "url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidRequest("url must be an http:// or https:// URL", "url")
    if "@" in parts.netloc:
        raise InvalidRequest(
            "url may not contain credentials (user:password@); receivers check the signature",
            "url",
        )
    if "#" in value:
        raise InvalidRequest("url may not have a #fragment (it is never sent)", "url")
    try:
        port = parts.port
    except ValueError:
        raise InvalidRequest("url's port must be a number from 1 to 65535", "url") from None
    if port == 0:
        raise InvalidRequest("url's port must be a number from 1 to 65535", "url")
    host = parts.hostname
    if not host:
        raise InvalidRequest("url must name a host", "url")
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidRequest("url's host is not a valid IPv6 address", "url") from None
    elif not _valid_host(host):
        raise InvalidRequest(f"url's host is not a valid host name: {host!r}", "url")
    return value


def _valid_host(host: str) -> bool:
    name = host.removesuffix(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    if not name or len(name) > _HOST_MAX:
        return False
    return all(_LABEL.fullmatch(label) for label in name.split("."))


def description(value: str | None) -> str | None:
    return validation.text(value, "description", DESCRIPTION_MAX)


def api_version(value: str) -> str:
    """Events are rendered in one version; an endpoint may name it (as Payment Kit's create
    allows) but no other."""
    if value.strip() != API_VERSION:
        raise InvalidRequest(
            f"api_version must be {API_VERSION}, the only version events are rendered in",
            "api_version",
        )
    return API_VERSION


def enabled_events(value: list[str]) -> list[str]:
    return types.enabled_events(value)


@dataclass(frozen=True)
class Draft:
    """A new endpoint's checked fields (the secret is made by the service)."""

    url: str
    enabled_events: list[str]
    description: str | None
    metadata: dict[str, Any]
    status: str
    api_version: str


def draft(data: WebhookEndpointCreate) -> Draft:
    return Draft(
        url=url(data.url),
        enabled_events=enabled_events(data.enabled_events),
        description=description(validation.given(data.description)),
        metadata=validation.metadata({}, validation.given(data.metadata)),
        status=validation.given(data.status, "enabled"),
        api_version=api_version(validation.given(data.api_version, API_VERSION)),
    )


@dataclass(frozen=True)
class Changes:
    """An update's checked fields; UNSET ones stay as they are. `metadata` is the request's
    changes (merged into the stored metadata by the service; checked here already)."""

    fields: dict[str, Any]
    metadata: dict[str, Any] | UnsetType | None

    @property
    def url(self) -> str | None:
        value: str | None = self.fields.get("url")
        return value


def changes(data: WebhookEndpointUpdate) -> Changes:
    fields: dict[str, Any] = {}
    if not isinstance(data.url, UnsetType):
        fields["url"] = url(data.url)
    if not isinstance(data.enabled_events, UnsetType):
        fields["enabled_events"] = enabled_events(data.enabled_events)
    if not isinstance(data.description, UnsetType):
        fields["description"] = description(data.description)
    if not isinstance(data.status, UnsetType):
        fields["status"] = data.status
    if not isinstance(data.api_version, UnsetType):
        fields["api_version"] = api_version(data.api_version)
    if not isinstance(data.metadata, UnsetType):
        validation.metadata({}, data.metadata)  # refuse a bad key or value before any I/O
    return Changes(fields, data.metadata)
