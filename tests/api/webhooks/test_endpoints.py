"""Webhook endpoints over HTTP on SQLite and PostgreSQL (API.md, "Events and webhooks"): create,
list (with `size`), retrieve, update, delete, rotate_secret; the secret only where the contract
shows it; validation 400s naming their `param`; modes kept apart."""

from __future__ import annotations

import base64
import re
from datetime import UTC
from typing import Any

import pytest
import standardwebhooks

from paymentkit.server.crypto import SecretBox
from paymentkit.server.db.engine import Database
from paymentkit.server.ids import now_ms
from paymentkit.server.webhooks import signing
from tests.api.billing.helpers import assert_error, body, ids, list_all
from tests.api.webhooks.helpers import (
    RECEIVER,
    endpoint_seq,
    make_endpoint,
    without_secret,
)
from tests.conftest import API

ID_RE = re.compile(r"^we_[0-9A-Za-z]{24}$")
SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENDPOINT_KEYS = {
    "id",
    "object",
    "livemode",
    "api_version",
    "url",
    "description",
    "enabled_events",
    "metadata",
    "status",
    "created_via",
    "created_at",
    "updated_at",
}
PATH = "/api/webhook-endpoints"


def secrets_of(db: Database, box: SecretBox, endpoint_id: str, at: int | None = None) -> list[str]:
    seq = endpoint_seq(db, endpoint_id)
    when = now_ms() if at is None else at
    return db.run_sync(lambda tx: signing.signing_secrets(tx, box, seq, when))


def test_create_answers_the_whole_endpoint_and_its_secret(hooks: API) -> None:
    r = hooks.post(
        PATH,
        json={
            "url": " http://127.0.0.1:9/hooks?x=1 ",
            "enabled_events": ["invoice.paid", "customer.created", "invoice.paid"],
            "description": " Orders ",
            "metadata": {"team": "billing", "n": 2},
        },
    )
    e = body(r, 201)
    assert set(e) == ENDPOINT_KEYS | {"secret"}
    assert ID_RE.match(e["id"]) and e["object"] == "webhook_endpoint"
    assert e["livemode"] is False
    assert e["url"] == "http://127.0.0.1:9/hooks?x=1"
    assert e["enabled_events"] == ["invoice.paid", "customer.created"]  # each once, in order
    assert (e["description"], e["metadata"]) == ("Orders", {"team": "billing", "n": 2})
    assert (e["status"], e["api_version"], e["created_via"]) == ("enabled", "2023-09-05", "api")
    assert TIMESTAMP_RE.match(e["created_at"]) and e["updated_at"] == e["created_at"]
    assert SECRET_RE.match(e["secret"])
    assert len(base64.b64decode(e["secret"].removeprefix("whsec_"))) == 32


def test_defaults_and_a_disabled_create(hooks: API) -> None:
    e = make_endpoint(hooks)
    assert (e["description"], e["metadata"], e["status"]) == (None, {}, "enabled")
    assert e["enabled_events"] == ["*"]
    off = make_endpoint(hooks, status="disabled", api_version="2023-09-05")
    assert off["status"] == "disabled"


def test_the_secret_is_shown_on_create_and_rotate_only(
    hooks: API, db: Database, box: SecretBox
) -> None:
    e = make_endpoint(hooks)
    secret = e["secret"]
    plain = without_secret(e)
    answers = [
        body(hooks.get(f"{PATH}/{e['id']}"), 200),
        body(hooks.put(f"{PATH}/{e['id']}", json={"description": "x"}), 200),
        *list_all(hooks, PATH)["list"],
        *body(hooks.get(PATH, params={"size": 5}), 200)["list"],
    ]
    for answer in answers:
        assert "secret" not in answer
        assert answer["id"] == plain["id"]
    # The stored form is encrypted; the server's box opens it to the secret it answered.
    stored = db.run_sync(lambda tx: tx.all("SELECT * FROM webhook_endpoints"))
    assert secret not in repr(stored) and secret.removeprefix("whsec_") not in repr(stored)
    assert secrets_of(db, box, e["id"]) == [secret]
    deleted = body(hooks.delete(f"{PATH}/{e['id']}"), 200)
    assert "secret" not in deleted


def test_the_secret_signs_as_standard_webhooks_verifies(hooks: API) -> None:
    # The secret's form is the one the standardwebhooks package takes.
    secret = make_endpoint(hooks)["secret"]
    webhook = standardwebhooks.Webhook(secret)
    payload = '{"id":"evt_1"}'
    from datetime import datetime

    stamp = datetime.now(tz=UTC)
    signature = webhook.sign("evt_1", stamp, payload)
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signature,
    }
    assert webhook.verify(payload, headers) == {"id": "evt_1"}


def test_rotate_secret_overlaps_the_previous_for_24_hours(
    hooks: API, db: Database, box: SecretBox
) -> None:
    e = make_endpoint(hooks)
    first = e["secret"]
    r = body(hooks.post(f"{PATH}/{e['id']}/rotate_secret"), 200)
    second = r["secret"]
    assert SECRET_RE.match(second) and second != first
    assert without_secret(r) | {"updated_at": e["updated_at"]} == without_secret(e)
    assert r["updated_at"] >= e["updated_at"]
    assert secrets_of(db, box, e["id"]) == [second, first]
    now = now_ms()
    day = signing.ROTATION_OVERLAP_MS
    assert secrets_of(db, box, e["id"], now + day - 60_000) == [second, first]
    assert secrets_of(db, box, e["id"], now + day + 60_000) == [second]
    # A second rotation within the 24 hours: only the secret it replaces keeps signing.
    third = body(hooks.post(f"{PATH}/{e['id']}/rotate_secret"), 200)["secret"]
    assert len({first, second, third}) == 3
    assert secrets_of(db, box, e["id"]) == [third, second]
    assert "secret" not in body(hooks.get(f"{PATH}/{e['id']}"), 200)


def test_rotate_secret_refuses_a_body_and_unknown_ids(hooks: API) -> None:
    e = make_endpoint(hooks)
    r = hooks.post(f"{PATH}/{e['id']}/rotate_secret", json={"expire_now": True})
    assert_error(r, 400, "unknown_parameter", "expire_now")
    assert_error(hooks.post(f"{PATH}/we_nope/rotate_secret"), 404, "resource_missing")


def test_an_idempotent_create_replays_its_secret_but_stores_it_sealed(
    hooks: API, db: Database
) -> None:
    payload = {"url": RECEIVER, "enabled_events": ["*"]}
    headers = {"Idempotency-Key": "create-hook-1"}
    first = hooks.post(PATH, json=payload, headers=headers)
    again = hooks.post(PATH, json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert list_all(hooks, PATH)["count"] == 1
    secret = first.json()["secret"]
    stored = db.run_sync(lambda tx: tx.all("SELECT response FROM idempotency_keys"))
    assert stored and all(secret not in str(row) for row in stored)
    rotated = hooks.post(
        f"{PATH}/{first.json()['id']}/rotate_secret", headers={"Idempotency-Key": "rot-1"}
    )
    replay = hooks.post(
        f"{PATH}/{first.json()['id']}/rotate_secret", headers={"Idempotency-Key": "rot-1"}
    )
    assert replay.json()["secret"] == rotated.json()["secret"] != secret
    stored = db.run_sync(lambda tx: tx.all("SELECT response FROM idempotency_keys"))
    assert all(rotated.json()["secret"] not in str(row) for row in stored)


def test_an_idempotent_update_is_stored_as_usual(hooks: API, db: Database) -> None:
    e = make_endpoint(hooks)
    headers = {"Idempotency-Key": "upd-1"}
    one = hooks.put(f"{PATH}/{e['id']}", json={"description": "a"}, headers=headers)
    two = hooks.put(f"{PATH}/{e['id']}", json={"description": "a"}, headers=headers)
    assert one.json() == two.json() and two.headers["idempotent-replayed"] == "true"
    stored = db.run_sync(lambda tx: tx.scalar("SELECT response FROM idempotency_keys"))
    assert str(stored).startswith("{")


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"enabled_events": ["*"]}, "url"),
        ({"url": RECEIVER}, "enabled_events"),
        ({"url": RECEIVER, "enabled_events": []}, "enabled_events"),
        ({"url": RECEIVER, "enabled_events": "*"}, "enabled_events"),
        ({"url": RECEIVER, "enabled_events": ["*", "customer.exploded"]}, "enabled_events.1"),
        ({"url": RECEIVER, "enabled_events": ["x" * 65]}, "enabled_events.0"),
        ({"url": RECEIVER, "enabled_events": ["*"] * 257}, "enabled_events"),
        ({"url": RECEIVER, "enabled_events": [5]}, "enabled_events.0"),
        ({"url": RECEIVER, "enabled_events": ["*"], "description": "d" * 1001}, "description"),
        ({"url": RECEIVER, "enabled_events": ["*"], "status": "paused"}, "status"),
        ({"url": RECEIVER, "enabled_events": ["*"], "api_version": "2020-08-27"}, "api_version"),
        ({"url": RECEIVER, "enabled_events": ["*"], "metadata": {"k": [1]}}, "metadata.k"),
        (
            {"url": RECEIVER, "enabled_events": ["*"], "metadata": {"k" * 41: "v"}},
            "metadata." + "k" * 41,
        ),
        ({"url": "", "enabled_events": ["*"]}, "url"),
        ({"url": 5, "enabled_events": ["*"]}, "url"),
        ({"url": "ftp://127.0.0.1/x", "enabled_events": ["*"]}, "url"),
        ({"url": "127.0.0.1:9/hooks", "enabled_events": ["*"]}, "url"),
        ({"url": "javascript:alert(1)", "enabled_events": ["*"]}, "url"),
        ({"url": "http:///hooks", "enabled_events": ["*"]}, "url"),
        ({"url": "http://user:pw@127.0.0.1:9/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://user@127.0.0.1:9/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/#frag", "enabled_events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:99999/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:0/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/a b", "enabled_events": ["*"]}, "url"),
        ({"url": "http://exa mple.com/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://[::1/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://" + "a" * 64 + ".com/", "enabled_events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/" + "p" * 2048, "enabled_events": ["*"]}, "url"),
        ({"url": "http://no-such-host.invalid/", "enabled_events": ["*"]}, "url"),
    ],
)
def test_create_validation(hooks: API, payload: dict[str, Any], param: str) -> None:
    assert_error(hooks.post(PATH, json=payload), 400, "invalid_request", param)
    assert list_all(hooks, PATH)["count"] == 0


@pytest.mark.parametrize(
    "field", ["id", "object", "livemode", "secret", "created_via", "created_at", "bogus"]
)
def test_create_refuses_unknown_or_read_only_fields(hooks: API, field: str) -> None:
    r = hooks.post(PATH, json={"url": RECEIVER, "enabled_events": ["*"], field: "v"})
    assert_error(r, 400, "unknown_parameter", field)
    assert list_all(hooks, PATH)["count"] == 0


def test_unknown_query_parameters_are_refused(hooks: API) -> None:
    r = hooks.post(PATH, params={"expand": "x"}, json={"url": RECEIVER, "enabled_events": ["*"]})
    assert_error(r, 400, "unknown_parameter", "expand")
    assert_error(hooks.get(PATH, params={"page_size": 2}), 400, "unknown_parameter", "page_size")


def test_a_mode_holds_at_most_100_endpoints(hooks: API, db: Database) -> None:
    # Made in the database: a hundred creates over HTTP would only repeat the create test.
    e = make_endpoint(hooks)
    db.run_sync(
        lambda tx: tx.executemany(
            "INSERT INTO webhook_endpoints (id, livemode, url, enabled_events, status,"
            " api_version, created_via, secret_encrypted, created_at, updated_at)"
            " SELECT ?, livemode, url, enabled_events, status, api_version, created_via,"
            " secret_encrypted, created_at, updated_at FROM webhook_endpoints WHERE id = ?",
            [(f"we_copy{i:017d}", e["id"]) for i in range(99)],
        ),
        write=True,
    )
    r = hooks.post(PATH, json={"url": RECEIVER, "enabled_events": ["*"]})
    assert_error(r, 400, "invalid_request", None)
    assert list_all(hooks, PATH)["count"] == 100


# -- list, retrieve -------------------------------------------------------------------------------


def test_list_newest_first_with_size_as_an_alias_of_page_size(hooks: API) -> None:
    made = [without_secret(make_endpoint(hooks, description=f"e{i}")) for i in range(5)]
    newest = [e["id"] for e in reversed(made)]
    full = list_all(hooks, PATH)
    assert full["count"] == 5 and ids(full) == newest
    assert full["list"] == list(reversed(made))
    page = body(hooks.get(PATH, params={"size": 2, "page": 2}), 200)
    assert ids(page) == newest[2:4]
    assert page["paging"] == {"page": 2, "pageSize": 2} and page["has_more"] is True
    assert body(hooks.get(PATH, params={"pageSize": 2, "page": 2}), 200) == page
    after = body(hooks.get(PATH, params={"starting_after": newest[1], "size": 2}), 200)
    assert ids(after) == newest[2:4]
    both = hooks.get(PATH, params={"size": 2, "pageSize": 2})
    assert_error(both, 400, "invalid_request", "size")
    assert_error(hooks.get(PATH, params={"size": 0}), 400, "invalid_request", "pageSize")


def test_list_filters_by_status(hooks: API) -> None:
    on = make_endpoint(hooks)
    off = make_endpoint(hooks, status="disabled")
    assert ids(list_all(hooks, PATH, status="enabled")) == [on["id"]]
    assert ids(list_all(hooks, PATH, status="disabled")) == [off["id"]]
    assert_error(hooks.get(PATH, params={"status": "gone"}), 400, "invalid_request", "status")


def test_retrieve(hooks: API) -> None:
    e = make_endpoint(hooks)
    assert body(hooks.get(f"{PATH}/{e['id']}"), 200) == without_secret(e)
    assert_error(hooks.get(f"{PATH}/we_nope"), 404, "resource_missing")


def test_modes_are_kept_apart(hooks: API, live_hooks: API) -> None:
    test = make_endpoint(hooks)
    live = make_endpoint(live_hooks)
    assert live["livemode"] is True and test["livemode"] is False
    assert ids(list_all(hooks, PATH)) == [test["id"]]
    assert ids(list_all(live_hooks, PATH)) == [live["id"]]
    for api, other in ((hooks, live), (live_hooks, test)):
        path = f"{PATH}/{other['id']}"
        assert_error(api.get(path), 404, "resource_missing")
        assert_error(api.put(path, json={"description": "x"}), 404, "resource_missing")
        assert_error(api.delete(path), 404, "resource_missing")
        assert_error(api.post(f"{path}/rotate_secret"), 404, "resource_missing")
        assert_error(api.get(f"{path}/attempts"), 404, "resource_missing")
    assert body(live_hooks.get(f"{PATH}/{live['id']}"), 200) == without_secret(live)
    r = hooks.get(PATH, params={"livemode": "true"})
    assert_error(r, 403, "forbidden", "livemode")


# -- update, delete -------------------------------------------------------------------------------


def test_update_is_partial(hooks: API) -> None:
    e = without_secret(make_endpoint(hooks, description="old", metadata={"a": "1", "b": "2"}))
    u = body(
        hooks.put(
            f"{PATH}/{e['id']}",
            json={
                "url": "http://localhost:9/new",
                "enabled_events": ["invoice.paid"],
                "metadata": {"a": None, "c": 3},
            },
        ),
        200,
    )
    assert u["url"] == "http://localhost:9/new" and u["enabled_events"] == ["invoice.paid"]
    assert u["metadata"] == {"b": "2", "c": 3} and u["description"] == "old"
    assert (u["status"], u["created_at"], u["api_version"]) == (
        e["status"],
        e["created_at"],
        e["api_version"],
    )
    assert u["updated_at"] >= e["updated_at"]
    assert body(hooks.get(f"{PATH}/{e['id']}"), 200) == u
    cleared = body(hooks.put(f"{PATH}/{e['id']}", json={"description": None}), 200)
    assert cleared["description"] is None
    same = body(hooks.put(f"{PATH}/{e['id']}", json={}), 200)
    assert same == cleared


@pytest.mark.parametrize(
    ("payload", "param", "code"),
    [
        ({"url": None}, "url", "invalid_request"),
        ({"url": "gopher://127.0.0.1/"}, "url", "invalid_request"),
        ({"enabled_events": None}, "enabled_events", "invalid_request"),
        ({"enabled_events": []}, "enabled_events", "invalid_request"),
        ({"enabled_events": ["nope"]}, "enabled_events.0", "invalid_request"),
        ({"status": "off"}, "status", "invalid_request"),
        ({"description": "d" * 1001}, "description", "invalid_request"),
        ({"metadata": {"": "x"}}, "metadata.", "invalid_request"),
        ({"secret": "whsec_x"}, "secret", "unknown_parameter"),
        ({"livemode": True}, "livemode", "unknown_parameter"),
    ],
)
def test_update_validation(hooks: API, payload: dict[str, Any], param: str, code: str) -> None:
    e = without_secret(make_endpoint(hooks))
    assert_error(hooks.put(f"{PATH}/{e['id']}", json=payload), 400, code, param)
    assert body(hooks.get(f"{PATH}/{e['id']}"), 200) == e


def test_update_unknown_is_404(hooks: API) -> None:
    assert_error(hooks.put(f"{PATH}/we_nope", json={"description": "x"}), 404, "resource_missing")


def test_delete_answers_the_endpoint_as_it_was(hooks: API) -> None:
    keep = make_endpoint(hooks)
    gone = without_secret(make_endpoint(hooks, description="bye"))
    assert body(hooks.delete(f"{PATH}/{gone['id']}"), 200) == gone
    assert_error(hooks.get(f"{PATH}/{gone['id']}"), 404, "resource_missing")
    assert_error(hooks.delete(f"{PATH}/{gone['id']}"), 404, "resource_missing")
    assert ids(list_all(hooks, PATH)) == [keep["id"]]
    assert_error(
        hooks.delete(f"{PATH}/{keep['id']}", json={"force": True}),
        400,
        "unknown_parameter",
        "force",
    )


def test_openapi_names_the_secret_only_on_create_and_rotate(hooks: API) -> None:
    doc = hooks.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "secret" in schemas["WebhookEndpointWithSecret"]["properties"]
    assert "secret" not in schemas["WebhookEndpoint"]["properties"]
    assert schemas["WebhookEndpointCreate"]["additionalProperties"] is False

    def answer(path: str, method: str, status: str) -> str:
        ref: str = doc["paths"][path][method]["responses"][status]["content"]["application/json"][
            "schema"
        ]["$ref"]
        return ref.rsplit("/", 1)[1]

    assert answer(PATH, "post", "201") == "WebhookEndpointWithSecret"
    assert answer(PATH + "/{id}/rotate_secret", "post", "200") == "WebhookEndpointWithSecret"
    for method in ("get", "put", "delete"):
        assert answer(PATH + "/{id}", method, "200") == "WebhookEndpoint"
