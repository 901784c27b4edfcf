"""Invoice actions (finalize, pay an amount, mark uncollectible, void) and cancelling a
subscription, each behind a confirmation page; resending an event."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from paymentkit.server import errors
from paymentkit.server.dashboard import rules, sessions
from paymentkit.server.dashboard.views.customers import ACTION_LABELS, ACTIONS
from paymentkit.server.dashboard.web import HOME, Page, pages, redirect
from paymentkit.server.db.engine import Tx
from paymentkit.server.events import service as events
from paymentkit.server.invoices import service as invoices
from paymentkit.server.payment_currencies import service as currencies
from paymentkit.server.subscriptions import service as subscriptions


def _action(page: Page) -> str:
    action = page.path("action")
    if action not in ACTIONS:
        raise errors.NotFound(f"No such invoice action: {action[:40]}")
    return action


def _invoice_and_currency(tx: Tx, livemode: bool, invoice_id: str) -> tuple[Any, Any]:
    invoice = invoices.retrieve(tx, livemode, invoice_id)
    return invoice, currencies.RESOURCE.retrieve(tx, livemode, invoice.currency_id)


def _customer_page(customer_id: str) -> str:
    return f"/dashboard/customers/{customer_id}"


async def _confirm(
    page: Page, action: str, status: int = 200, error: errors.APIError | None = None
) -> Response:
    invoice_id = page.path("id")
    invoice, currency = await page.read(
        lambda tx: _invoice_and_currency(tx, page.livemode, invoice_id)
    )
    amount = page.form.get("amount")
    if amount is None:  # what remains, in the currency's units
        amount = rules.format_amount(invoice.amount_remaining, currency.decimal, "")
    return page.render(
        "confirm_invoice.html",
        status,
        invoice=invoice,
        currency=currency,
        action=action,
        label=ACTION_LABELS[action],
        amount=amount,
        form_key=sessions.new_token(),
        error=error,
        error_field=rules.field_of(error.param) if error else None,
    )


@pages.get("/invoices/{id}/{action}")
async def confirm_action(page: Page) -> Response:
    """Asks before an invoice action (with the amount to pay, for `pay`)."""
    return await _confirm(page, _action(page))


@pages.post("/invoices/{id}/{action}")
async def run_action(page: Page) -> Response:
    """The action, as the API's transition; its refusals are shown on the confirmation page."""
    action = _action(page)
    invoice_id = page.path("id")
    livemode = page.livemode

    def work(tx: Tx) -> Any:
        if action != "pay":
            return invoices.transition(tx, livemode, invoice_id, action)
        _, currency = _invoice_and_currency(tx, livemode, invoice_id)
        amount = rules.parse_amount(page.form.get("amount", ""), currency.decimal)
        return invoices.pay(tx, livemode, invoice_id, amount)

    try:
        # A payment is the one action that a second run would repeat (the others refuse it).
        if action != "pay":
            invoice = await page.write(work)
        elif (paid := await page.write_once(page.form.get("form_key"), work)) is not None:
            invoice = paid
        else:  # the same form again: its payment is recorded already
            invoice = await page.read(lambda tx: invoices.retrieve(tx, livemode, invoice_id))
    except (errors.InvalidRequest, errors.InvalidState) as exc:
        return await _confirm(page, action, exc.status, exc)
    return redirect(_customer_page(invoice.customer_id), notice=action)


@pages.get("/subscriptions/{id}/cancel")
async def confirm_cancel(page: Page) -> Response:
    """Asks before cancelling a subscription."""
    sub = await page.read(lambda tx: subscriptions.retrieve(tx, page.livemode, page.path("id")))
    return page.render("confirm_cancel.html", sub=sub, error=None)


@pages.post("/subscriptions/{id}/cancel")
async def cancel(page: Page) -> Response:
    """Cancels as the API does (a subscription that has ended cannot be)."""
    sub_id = page.path("id")
    try:
        sub = await page.write(lambda tx: subscriptions.cancel(tx, page.livemode, sub_id))
    except errors.InvalidState as exc:
        sub = await page.read(lambda tx: subscriptions.retrieve(tx, page.livemode, sub_id))
        return page.render("confirm_cancel.html", 409, sub=sub, error=exc)
    return redirect(_customer_page(sub.customer_id), notice="canceled")


@pages.post("/events/{id}/resend")
async def resend(page: Page) -> Response:
    """Queues the event again for every enabled endpoint subscribed to it (or the one named in
    `webhook_endpoint_id`), then goes back where the form was."""
    event_id = page.path("id")
    endpoint = page.form.get("webhook_endpoint_id") or None
    livemode = page.livemode

    queued = await page.write(lambda tx: events.queue_again(tx, livemode, event_id, endpoint))
    notice = "resent" if queued else "resent_nowhere"
    return redirect(rules.local_path(page.form.get("back"), HOME), notice=notice)
