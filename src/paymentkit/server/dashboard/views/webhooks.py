"""Webhook endpoints: list, create (the secret shown once), enable/disable, rotate the secret
(shown once), delete, and each endpoint's recent attempts with their response codes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from paymentkit.schemas.webhooks import WebhookEndpointCreate, WebhookEndpointUpdate
from paymentkit.server import errors, http, params
from paymentkit.server.dashboard import rules
from paymentkit.server.dashboard.web import Page, pages, redirect
from paymentkit.server.db.engine import Tx
from paymentkit.server.db.paging import ListRequest
from paymentkit.server.events import types
from paymentkit.server.webhooks import addresses, service
from paymentkit.server.webhooks import rules as endpoint_rules

LIST = "/dashboard/webhooks"
ENDPOINTS_SHOWN = 100  # the most a mode may have (service.MAX_ENDPOINTS_PER_MODE)
ATTEMPTS_SHOWN = 25
EVENT_TYPES = sorted(types.EMITTED)


def _endpoint_path(endpoint_id: str) -> str:
    return f"{LIST}/{endpoint_id}"


async def _list_page(
    page: Page,
    status: int = 200,
    *,
    form: dict[str, Any] | None = None,
    error: errors.APIError | None = None,
    created: Any = None,
) -> Response:
    listed = await page.read(
        lambda tx: service.RESOURCE.list(tx, page.livemode, ListRequest(1, ENDPOINTS_SHOWN))
    )
    shown = form or {"url": "", "description": "", "enabled_events": []}
    return page.render(
        "webhooks.html",
        status,
        endpoints=listed,
        form=shown,
        event_types=EVENT_TYPES,
        error=error,
        error_field=rules.field_of(error.param) if error else None,
        created=created,
    )


@pages.get("/webhooks")
async def endpoints(page: Page) -> Response:
    """The mode's endpoints and a form to add one."""
    return await _list_page(page)


@pages.post("/webhooks")
async def create(page: Page) -> Response:
    """Creates an endpoint as the API does (URL checks included); its secret is shown in this
    answer only."""
    chosen = [e for e in page.lists.get("enabled_events", []) if e]
    form = {
        "url": page.form.get("url", "").strip(),
        "description": page.form.get("description", "").strip(),
        "enabled_events": chosen,
    }
    body: dict[str, Any] = {"url": form["url"], "enabled_events": chosen}
    if form["description"]:
        body["description"] = form["description"]
    try:
        draft = endpoint_rules.draft(http.convert(body, WebhookEndpointCreate))
        await addresses.check_url(draft.url, page.services.webhook_allow_private)
        box = page.services.box
        created = await page.write(lambda tx: service.create(tx, box, page.livemode, draft))
    except errors.InvalidRequest as exc:
        return await _list_page(page, exc.status, form=form, error=exc)
    return await _list_page(page, created=created)


def _detail(tx: Tx, livemode: bool, endpoint_id: str, request: ListRequest) -> tuple[Any, Any]:
    endpoint = service.retrieve(tx, livemode, endpoint_id)
    return endpoint, service.attempts(tx, livemode, endpoint_id, request)


async def _endpoint_page(
    page: Page, endpoint_id: str, *, secret: str | None = None, status: int = 200
) -> Response:
    paging = {"pageSize": str(ATTEMPTS_SHOWN)}
    after = page.query("starting_after")
    if after:
        paging["starting_after"] = after
    request = params.list_request(paging, [("created_at", True)])
    endpoint, attempts = await page.read(
        lambda tx: _detail(tx, page.livemode, endpoint_id, request)
    )
    older = None
    if attempts.has_more and attempts.list:
        older = f"{_endpoint_path(endpoint.id)}?starting_after={attempts.list[-1].id}"
    return page.render(
        "webhook.html", status, endpoint=endpoint, attempts=attempts, older=older, secret=secret
    )


@pages.get("/webhooks/{id}")
async def endpoint(page: Page) -> Response:
    """One endpoint and its recent delivery attempts."""
    return await _endpoint_page(page, page.path("id"))


@pages.post("/webhooks/{id}/status")
async def set_status(page: Page) -> Response:
    """Enable or disable (disabling settles its pending deliveries, as the API does)."""
    endpoint_id = page.path("id")
    wanted = page.form.get("status", "")
    changes = endpoint_rules.changes(http.convert({"status": wanted}, WebhookEndpointUpdate))
    await page.write(lambda tx: service.update(tx, page.livemode, endpoint_id, changes))
    back = rules.local_path(page.form.get("back"), _endpoint_path(endpoint_id))
    return redirect(back, notice=wanted)


def _confirm(page: Page, endpoint: Any, what: str) -> Response:
    return page.render("confirm_webhook.html", endpoint=endpoint, what=what)


@pages.get("/webhooks/{id}/rotate")
async def confirm_rotate(page: Page) -> Response:
    """Asks before making a new secret."""
    found = await page.read(lambda tx: service.retrieve(tx, page.livemode, page.path("id")))
    return _confirm(page, found, "rotate")


@pages.post("/webhooks/{id}/rotate")
async def rotate(page: Page) -> Response:
    """A new signing secret, shown in this answer only (the previous one signs beside it for
    24 hours)."""
    endpoint_id = page.path("id")
    box = page.services.box
    rotated = await page.write(
        lambda tx: service.rotate_secret(tx, box, page.livemode, endpoint_id)
    )
    return await _endpoint_page(page, endpoint_id, secret=rotated.secret)


@pages.get("/webhooks/{id}/delete")
async def confirm_delete(page: Page) -> Response:
    """Asks before deleting an endpoint."""
    found = await page.read(lambda tx: service.retrieve(tx, page.livemode, page.path("id")))
    return _confirm(page, found, "delete")


@pages.post("/webhooks/{id}/delete")
async def delete(page: Page) -> Response:
    """Deletes the endpoint with its pending deliveries and attempts."""
    endpoint_id = page.path("id")
    await page.write(lambda tx: service.delete(tx, page.livemode, endpoint_id))
    return redirect(LIST, notice="endpoint_deleted")
