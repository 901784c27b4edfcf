"""`pk.webhook_endpoints` against the real app in process, on both clients and both databases:
the whole life of an endpoint, the secret shown on create and rotate only (and replayed under
the same Idempotency-Key), and the errors a client can cause."""

from __future__ import annotations

import re

import pytest

from paymentkit import InvalidRequestError, NotFoundError, WebhookEndpoint
from tests.sdk.conftest import Both

pytestmark = pytest.mark.anyio

SECRET_RE = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")
URL = "http://127.0.0.1:9/hooks"  # loopback: allowed by the setting below, never reached


@pytest.fixture(autouse=True)
def private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE", "1")


async def test_the_life_of_an_endpoint(client: Both) -> None:
    pk, r = client.pk, client.resolve
    made = await r(
        pk.webhook_endpoints.create(
            url=URL,
            enabled_events=["invoice.paid", "customer.created"],
            description="orders",
            metadata={"team": "billing"},
        )
    )
    assert isinstance(made, WebhookEndpoint)
    assert made.id.startswith("we_") and made.status == "enabled" and made.created_via == "api"
    assert made.enabled_events == ["invoice.paid", "customer.created"]
    assert made.secret is not None and SECRET_RE.fullmatch(made.secret)
    assert made.secret not in repr(made)

    got = await r(pk.webhook_endpoints.retrieve(made.id))
    assert got.secret is None and "secret" not in got.to_dict()
    made.secret = None
    assert got == made

    updated = await r(
        pk.webhook_endpoints.update(
            made.id, status="disabled", enabled_events=["*"], metadata={"team": None, "n": 1}
        )
    )
    assert (updated.status, updated.enabled_events, updated.metadata) == (
        "disabled",
        ["*"],
        {"n": 1},
    )
    other = await r(pk.webhook_endpoints.create(url=URL + "/2", enabled_events=["*"]))
    assert [e.id for e in (await r(pk.webhook_endpoints.list())).data] == [other.id, made.id]
    disabled = await r(pk.webhook_endpoints.list(status="disabled"))
    assert [e.id for e in disabled.data] == [made.id]
    walked = await client.collect(await r(pk.webhook_endpoints.list(limit=1)))
    assert [e.id for e in walked] == [other.id, made.id]

    ada = await r(pk.customers.create(name="Ada"))
    event = (await r(pk.events.list(object_id=ada.id))).data[0]
    resent = await r(pk.events.resend(event.id, webhook_endpoint_id=other.id))
    assert resent.id == event.id and resent.pending_webhooks == event.pending_webhooks + 1
    with pytest.raises(InvalidRequestError) as not_enabled:  # made is disabled now
        await r(pk.events.resend(event.id, webhook_endpoint_id=made.id))
    assert not_enabled.value.param == "webhook_endpoint_id"

    rotated = await r(pk.webhook_endpoints.rotate_secret(made.id))
    assert rotated.secret is not None and SECRET_RE.fullmatch(rotated.secret)
    assert rotated.secret != other.secret

    attempts = await r(pk.webhook_endpoints.attempts(made.id, status="failed"))
    assert (attempts.count, attempts.data) == (0, [])

    gone = await r(pk.webhook_endpoints.delete(made.id))
    assert gone.id == made.id and gone.secret is None
    with pytest.raises(NotFoundError):
        await r(pk.webhook_endpoints.retrieve(made.id))
    with pytest.raises(NotFoundError):
        await r(pk.webhook_endpoints.attempts(made.id))


async def test_a_retried_create_gives_back_the_same_endpoint_and_secret(client: Both) -> None:
    pk, r = client.pk, client.resolve
    first = await r(
        pk.webhook_endpoints.create(url=URL, enabled_events=["*"], idempotency_key="k1")
    )
    again = await r(
        pk.webhook_endpoints.create(url=URL, enabled_events=["*"], idempotency_key="k1")
    )
    assert again == first and again.secret == first.secret
    assert (await r(pk.webhook_endpoints.list())).count == 1


async def test_what_a_client_gets_wrong_is_a_4xx_naming_the_field(client: Both) -> None:
    pk, r = client.pk, client.resolve
    with pytest.raises(InvalidRequestError) as unknown:
        await r(pk.webhook_endpoints.create(url=URL, enabled_events=["invoice.paid", "nope"]))
    assert unknown.value.param == "enabled_events.1"
    with pytest.raises(InvalidRequestError) as scheme:
        await r(pk.webhook_endpoints.create(url="ftp://127.0.0.1/x", enabled_events=["*"]))
    assert scheme.value.param == "url"
    with pytest.raises(InvalidRequestError) as empty:
        await r(pk.webhook_endpoints.create(url=URL, enabled_events=[]))
    assert empty.value.param == "enabled_events"
    with pytest.raises(NotFoundError):
        await r(pk.webhook_endpoints.update("we_missing", status="disabled"))
    with pytest.raises(NotFoundError):
        await r(pk.webhook_endpoints.rotate_secret("we_missing"))
