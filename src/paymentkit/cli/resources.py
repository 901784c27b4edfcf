"""`paymentkit customers|invoices|subscriptions|payment-methods|payment-currencies|events|
webhook-endpoints …` and `paymentkit listen`: the API's resources from the shell, through the SDK.

Every command takes `--api-key` and `--base-url` (or PAYMENTKIT_API_KEY and PAYMENTKIT_BASE_URL)
and prints a table, or with `--json` the API's own JSON. An API error is one line on stderr and
exit status 1. One module per resource; shared options and printing in `_common.py`.
"""

from __future__ import annotations

import click

from paymentkit.cli.billing import payment_currencies, payment_methods, subscriptions
from paymentkit.cli.customers import customers
from paymentkit.cli.events import events, webhook_endpoints
from paymentkit.cli.invoices import invoices
from paymentkit.cli.listen import listen

GROUPS: tuple[click.Command, ...] = (
    customers,
    invoices,
    subscriptions,
    payment_methods,
    payment_currencies,
    events,
    webhook_endpoints,
    listen,
)
