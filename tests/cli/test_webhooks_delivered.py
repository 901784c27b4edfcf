"""What a Python receiver gets from `paymentkit serve`: real deliveries to an endpoint made with
the SDK, checked with `paymentkit.webhooks.verify` and the secret the create answer showed; after
`rotate_secret` a delivery verifies with the new secret and, during the overlap, the old one."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from paymentkit import PaymentKit
from paymentkit.webhooks import WebhookVerificationError, verify
from tests.cli.receiver import Receiver
from tests.cli.test_serve import Start, the_printed_key
from tests.conftest import wait_until


def test_deliveries_verify_with_the_endpoints_secret_before_and_after_a_rotation(
    servers: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver is on loopback
    server = servers(tmp_path, "--database-url", f"sqlite:///{tmp_path / 'pk.db'}")
    key = the_printed_key(server)
    receiver = Receiver()
    try:
        with PaymentKit(key, server.base) as pk:
            endpoint = pk.webhook_endpoints.create(
                url=receiver.url, enabled_events=["customer.created", "customer.updated"]
            )
            first = endpoint.secret
            assert first is not None
            ada = pk.customers.create(name="Ada")
            [created] = receiver.wait_for(1)
            event = verify(created.body, created.headers, first)
            assert event == pk.events.retrieve(created.headers["webhook-id"]).to_dict() | {
                "pending_webhooks": event["pending_webhooks"]
            }
            assert (event["type"], event["object_id"]) == ("customer.created", ada.id)

            second = pk.webhook_endpoints.rotate_secret(endpoint.id).secret
            assert second is not None and second != first
            pk.customers.update(ada.id, name="Ada L")
            updated = receiver.wait_for(2)[1]
            assert len(updated.headers["webhook-signature"].split()) == 2
            for secret in (second, first):
                assert verify(updated.body, updated.headers, secret)["type"] == "customer.updated"
            stranger = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
            with pytest.raises(WebhookVerificationError):
                verify(updated.body, updated.headers, stranger)
            # The worker records an attempt once the receiver has answered: the receiver can
            # hold the second delivery before its attempt is written.
            expected = {
                (created.headers["webhook-id"], "succeeded", 204),
                (updated.headers["webhook-id"], "succeeded", 204),
            }

            def recorded() -> set[tuple[str, str, int | None]]:
                attempts = pk.webhook_endpoints.attempts(endpoint.id).auto_paging_iter()
                return {(a.event_id, a.status, a.response_status) for a in attempts}

            wait_until(lambda: recorded() == expected, "both attempts recorded")
            assert recorded() == expected
    finally:
        receiver.close()
