"""Component signatures over HTTP (API.md, "Authentication and modes"): requests signed the way
`@blocklet/payment-js` signs them, here in Python with the app key. A valid signature reads and writes
the mode its `livemode` asks for (live by default); a missing, expired, tampered or foreign signature
is a 401 `invalid_signature`; a server without the app key answers signatures with 401
`authentication_required`; headers such as `x-user-did` never authenticate."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from paymentkit.server.app import create_app
from paymentkit.server.component_sig import signed_text
from paymentkit.server.config import Settings
from paymentkit.server.db.engine import Database
from tests.api.test_auth_and_modes import assert_error, customer_count, new_did
from tests.conftest import API


class Signer:
    """Signs requests like @blocklet/sdk: ed25519 over sha3-256 of the stable JSON payload."""

    def __init__(self, seed: bytes | None = None) -> None:
        self.seed = secrets.token_bytes(32) if seed is None else seed
        self.private = Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def app_sk(self) -> str:
        return "0x" + self.seed.hex()

    def headers(
        self,
        method: str,
        url: str,
        query: dict[str, str],
        body: Any = None,
        iat: int | None = None,
        exp: int | None = None,
    ) -> dict[str, str]:
        iat = int(time.time()) if iat is None else iat
        exp = iat + 300 if exp is None else exp
        payload = {
            "body": {} if body is None else body,
            "exp": exp,
            "iat": iat,
            "method": method.lower(),
            "query": query,
            "url": url,
        }
        signature = self.private.sign(hashlib.sha3_256(signed_text(payload)).digest())
        return {
            "x-component-sig": "0x" + signature.hex(),
            "x-component-sig-iat": str(iat),
            "x-component-sig-exp": str(exp),
            "x-component-sig-version": "1",
        }


def query_string(query: dict[str, str]) -> str:
    """What qs.stringify writes for flat string values: RFC 3986 percent-encoding, `&`-joined."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())


def send(
    client: TestClient,
    signer: Signer,
    method: str,
    url: str,
    query: dict[str, str] | None = None,
    body: Any = None,
    *,
    sent_method: str | None = None,
    sent_url: str | None = None,
    sent_query: dict[str, str] | None = None,
    sent_body: Any = None,
    drop: tuple[str, ...] = (),
    **sign: Any,
) -> Any:
    """A request signed for (method, url, query, body) and sent as the `sent_*` values (default:
    the same), without the headers named in `drop`."""
    query = {} if query is None else query
    headers = signer.headers(method, url, query, body, **sign)
    for name in drop:
        del headers[name]
    sent_query = query if sent_query is None else sent_query
    target = (sent_url or url) + (f"?{query_string(sent_query)}" if sent_query else "")
    payload = body if sent_body is None else sent_body
    content = None if payload is None else json.dumps(payload)
    if content is not None:
        headers["content-type"] = "application/json"
    return client.request(sent_method or method, target, content=content, headers=headers)


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def signed_client(database_url: str, signer: Signer) -> Iterator[TestClient]:
    """An app with the signer's app key, on the same database as `api` and `live_api`."""
    app = create_app(
        Settings(database_url=database_url, app_sk=signer.app_sk), db=Database(database_url)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


# -- a valid signature --------------------------------------------------------------------------


def test_a_valid_signature_reads_the_mode_it_asks_for(
    api: API, live_api: API, signed_client: TestClient, signer: Signer
) -> None:
    test_customer = ok(api.post("/api/customers", json={"name": "Test"}), 201)
    live_customer = ok(live_api.post("/api/customers", json={"name": "Live"}), 201)

    as_test = ok(send(signed_client, signer, "GET", "/api/customers", {"livemode": "false"}))
    assert as_test["list"] == [test_customer]
    as_live = ok(send(signed_client, signer, "GET", "/api/customers", {"livemode": "true"}))
    assert as_live["list"] == [live_customer]
    by_default = ok(send(signed_client, signer, "GET", "/api/customers"))
    assert by_default["list"] == [live_customer]

    path = f"/api/customers/{test_customer['id']}"
    assert ok(send(signed_client, signer, "GET", path, {"livemode": "false"})) == test_customer
    missing = send(signed_client, signer, "GET", path, {"livemode": "true"})
    assert_error(missing, 404, "resource_missing")


def test_signed_writes_land_in_the_mode_asked(
    api: API, live_api: API, signed_client: TestClient, signer: Signer
) -> None:
    body = {"name": "Signed", "metadata": {"a": "1", "n": 2, "ratio": 1.5, "ok": True}}
    made = ok(
        send(signed_client, signer, "POST", "/api/customers", {"livemode": "false"}, body), 201
    )
    assert made["livemode"] is False and made["metadata"] == body["metadata"]
    assert ok(api.get(f"/api/customers/{made['id']}")) == made
    assert_error(live_api.get(f"/api/customers/{made['id']}"), 404, "resource_missing")

    path = f"/api/customers/{made['id']}"
    update = {"metadata": {"a": None, "b": "2", "😀": "é"}, "name": 'Ünïcode "q"'}
    updated = ok(send(signed_client, signer, "PUT", path, {"livemode": "false"}, update))
    assert updated["metadata"] == {"n": 2, "ratio": 1.5, "ok": True, "b": "2", "😀": "é"}
    assert updated["name"] == 'Ünïcode "q"'


def test_retrieve_with_create_in_the_body_of_a_signed_get(
    api: API, signed_client: TestClient, signer: Signer
) -> None:
    did = new_did()
    path = f"/api/customers/{did}"
    first = send(signed_client, signer, "GET", path, {"livemode": "false"}, {"create": True})
    created = ok(first, 201)
    assert created["did"] == did and created["livemode"] is False
    again = send(signed_client, signer, "GET", path, {"livemode": "false"}, {"create": True})
    assert ok(again) == created
    assert ok(api.get(f"/api/customers/{did}")) == created


def test_search_with_non_ascii_and_reserved_characters(
    api: API, signed_client: TestClient, signer: Signer
) -> None:
    zoe = ok(api.post("/api/customers", json={"name": "Zoë & Ünïcode/Co? 100%"}), 201)
    ok(api.post("/api/customers", json={"name": "Someone else"}), 201)
    query = {"query": "zoë & ünïcode/co? 100%", "page": "1", "pageSize": "5", "livemode": "false"}
    found = ok(send(signed_client, signer, "GET", "/api/customers/search", query))
    assert found["list"] == [zoe]
    assert found["paging"] == {"page": 1, "pageSize": 5}


def test_the_qs_list_forms_of_order_are_signed_as_lists(
    api: API, signed_client: TestClient, signer: Signer
) -> None:
    first = ok(api.post("/api/customers", json={"name": "First"}), 201)
    second = ok(api.post("/api/customers", json={"name": "Second"}), 201)
    headers = signer.headers(
        "GET",
        "/api/customers",
        {"order": [["created_at", "ASC"]], "livemode": "false"},  # type: ignore[dict-item]
    )
    r = signed_client.get(
        "/api/customers?order%5B0%5D%5B0%5D=created_at&order%5B0%5D%5B1%5D=ASC&livemode=false",
        headers=headers,
    )
    assert [c["id"] for c in ok(r)["list"]] == [first["id"], second["id"]]


def test_billing_routes_take_signatures_too(
    api: API, live_api: API, signed_client: TestClient, signer: Signer
) -> None:
    method = ok(api.post("/api/payment-methods", json={"type": "stripe", "name": "S"}), 201)
    for path in ("/api/payment-methods", "/api/payment-currencies", "/api/invoices"):
        as_test = ok(send(signed_client, signer, "GET", path, {"livemode": "false"}))
        as_live = ok(send(signed_client, signer, "GET", path, {"livemode": "true"}))
        assert as_live["count"] == 0
        if path == "/api/payment-methods":
            assert [m["id"] for m in as_test["list"]] == [method["id"]]


def test_a_signed_livemode_that_is_not_true_or_false_is_400(
    signed_client: TestClient, signer: Signer
) -> None:
    r = send(signed_client, signer, "GET", "/api/customers", {"livemode": "yes"})
    assert_error(r, 400, "invalid_request", "livemode")


# -- refused signatures -------------------------------------------------------------------------

NOW = int(time.time())


@pytest.mark.parametrize(
    "variant",
    [
        {"drop": ("x-component-sig-iat",)},
        {"drop": ("x-component-sig-exp",)},
        {"drop": ("x-component-sig-iat", "x-component-sig-exp", "x-component-sig-version")},
        {"iat": NOW - 400, "exp": NOW - 100},
        {"iat": NOW - 301, "exp": NOW - 1},
        {"sent_query": {"livemode": "true"}},
        {"sent_query": {"livemode": "false", "page": "2"}},
        {"sent_query": {}},
        {"sent_url": "/api/customers/search"},
        {"sent_url": "/api/%63ustomers"},
        {"sent_method": "POST"},
        {"sent_body": {"name": "Mallory"}},
    ],
    ids=[
        "no iat",
        "no exp",
        "signature alone",
        "expired",
        "expired a second ago",
        "livemode changed",
        "parameter added",
        "query dropped",
        "other path",
        "path percent-encoded",
        "other method",
        "body added",
    ],
)
def test_missing_expired_or_tampered_is_401_invalid_signature(
    signed_client: TestClient, signer: Signer, db: Database, variant: dict[str, Any]
) -> None:
    r = send(signed_client, signer, "GET", "/api/customers", {"livemode": "false"}, **variant)
    assert_error(r, 401, "invalid_signature")
    assert customer_count(db) == 0


@pytest.mark.parametrize(
    "variant",
    [
        {"sent_body": {"name": "Mallory"}},
        {"sent_body": {"name": "Signed", "extra": "1"}},
        {"sent_query": {"livemode": "true"}},
        {"sent_method": "PUT", "sent_url": "/api/customers/cus_" + "0" * 24},
    ],
    ids=["body changed", "body key added", "mode changed", "method and path changed"],
)
def test_a_tampered_write_changes_nothing(
    signed_client: TestClient, signer: Signer, db: Database, variant: dict[str, Any]
) -> None:
    body = {"name": "Signed"}
    r = send(
        signed_client, signer, "POST", "/api/customers", {"livemode": "false"}, body, **variant
    )
    assert_error(r, 401, "invalid_signature")
    assert customer_count(db) == 0


def test_a_signature_by_another_key_is_401(signed_client: TestClient, db: Database) -> None:
    stranger = Signer()
    r = send(
        signed_client, stranger, "POST", "/api/customers", {"livemode": "false"}, {"name": "x"}
    )
    assert_error(r, 401, "invalid_signature")
    assert customer_count(db) == 0


def test_an_unknown_signature_version_is_401(signed_client: TestClient, signer: Signer) -> None:
    headers = signer.headers("GET", "/api/customers", {})
    headers["x-component-sig-version"] = "2"
    assert_error(signed_client.get("/api/customers", headers=headers), 401, "invalid_signature")


def test_a_mangled_signature_header_is_401(signed_client: TestClient, signer: Signer) -> None:
    headers = signer.headers("GET", "/api/customers", {})
    for value in ("", "0x", headers["x-component-sig"][2:], headers["x-component-sig"][:-2]):
        r = signed_client.get("/api/customers", headers={**headers, "x-component-sig": value})
        assert_error(r, 401, "invalid_signature")


def test_signature_headers_without_the_signature_are_no_credentials(
    signed_client: TestClient, signer: Signer
) -> None:
    r = send(signed_client, signer, "GET", "/api/customers", drop=("x-component-sig",))
    assert_error(r, 401, "authentication_required")


# -- a server without the app key ---------------------------------------------------------------


def test_without_an_app_key_signatures_are_not_credentials(
    app_client: TestClient, signer: Signer, db: Database
) -> None:
    for method, body in (("GET", None), ("POST", {"name": "x"})):
        r = send(app_client, signer, method, "/api/customers", {"livemode": "false"}, body)
        assert_error(r, 401, "authentication_required")
        assert "PAYMENTKIT_APP_SK" in r.json()["error"]
    assert customer_count(db) == 0


# -- nothing else authenticates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"x-user-did": "zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ", "x-user-role": "owner"},
        {"x-user-did": "did:abt:zNKa5mpgjBK9h5KQ5BxCSSPmy8F5NJwuSmxQ", "x-user-role": "admin"},
        {"x-component-did": "z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk"},
        {
            "x-component-sig-pk": "0x" + "00" * 32,
            "x-component-did": "z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk",
        },
    ],
    ids=["x-user-did owner", "x-user-did admin", "x-component-did", "x-component-sig-pk"],
)
def test_identity_headers_never_authenticate(
    signed_client: TestClient, app_client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    for client in (signed_client, app_client):
        assert_error(client.get("/api/customers", headers=headers), 401, "authentication_required")
        r = client.post("/api/customers", json={"name": "x"}, headers=headers)
        assert_error(r, 401, "authentication_required")
    assert customer_count(db) == 0


def test_api_keys_still_work_on_a_server_with_an_app_key(
    api: API, live_api: API, signed_client: TestClient
) -> None:
    for key, livemode in ((api.secret, False), (live_api.secret, True)):
        headers = {"Authorization": f"Bearer {key}"}
        made = ok(signed_client.post("/api/customers", json={"name": "k"}, headers=headers), 201)
        assert made["livemode"] is livemode
        other = "false" if livemode else "true"
        r = signed_client.get(f"/api/customers?livemode={other}", headers=headers)
        assert_error(r, 403, "forbidden", "livemode")


# -- once per write, bounded validity, integers a signature can cover ---------------------------


def test_a_signed_write_sent_again_is_401_and_writes_once(
    database_url: str, signed_client: TestClient, signer: Signer, db: Database
) -> None:
    headers = signer.headers("POST", "/api/customers", {"livemode": "false"}, {"name": "Once"})
    headers["content-type"] = "application/json"

    def post(client: TestClient, sig: str | None = None) -> Any:
        sent = headers if sig is None else {**headers, "x-component-sig": sig}
        return client.post("/api/customers?livemode=false", content='{"name":"Once"}', headers=sent)

    ok(post(signed_client), 201)
    assert_error(post(signed_client), 401, "invalid_signature")
    # The same bytes in upper-case hex, and another worker on the same database: still spent.
    assert_error(
        post(signed_client, "0x" + headers["x-component-sig"][2:].upper()), 401, "invalid_signature"
    )
    other = create_app(
        Settings(database_url=database_url, app_sk=signer.app_sk), db=Database(database_url)
    )
    with TestClient(other, raise_server_exceptions=False) as second:
        assert_error(post(second), 401, "invalid_signature")
    assert customer_count(db) == 1


def test_racing_copies_of_a_signed_write_make_one_customer(
    database_url: str, signer: Signer, db: Database
) -> None:
    apps = [
        create_app(
            Settings(database_url=database_url, app_sk=signer.app_sk), db=Database(database_url)
        )
        for _ in "ab"
    ]
    clients = [TestClient(app, raise_server_exceptions=False) for app in apps]
    for client in clients:
        client.__enter__()
    try:
        for n in range(3):
            body = {"name": f"Race {n}"}
            headers = signer.headers("POST", "/api/customers", {"livemode": "false"}, body)
            barrier = threading.Barrier(4)
            results: list[Any] = []

            def fire(client: TestClient, headers: dict[str, str] = headers) -> None:
                barrier.wait()
                r = client.post("/api/customers?livemode=false", json=body, headers=headers)
                results.append(r)

            threads = [threading.Thread(target=fire, args=(clients[i % 2],)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(r.status_code for r in results) == [201, 401, 401, 401]
        assert customer_count(db) == 3
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def test_a_write_that_fails_does_not_spend_its_signature(
    signed_client: TestClient, signer: Signer, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    from paymentkit.server.customers import service

    real = service.create

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    body = {"name": "Retried"}
    headers = signer.headers("POST", "/api/customers", {"livemode": "false"}, body)

    def post() -> Any:
        return signed_client.post("/api/customers?livemode=false", json=body, headers=headers)

    monkeypatch.setattr(service, "create", broken)
    assert post().status_code == 500
    monkeypatch.setattr(service, "create", real)
    ok(post(), 201)  # the Node client's retry of a 5xx, with the same signature
    assert_error(post(), 401, "invalid_signature")
    # A refusal spends nothing either: the same signed update of a missing customer is a 404 again.
    path = "/api/customers/cus_" + "0" * 24
    update = signer.headers("PUT", path, {"livemode": "false"}, {"name": "x"})
    for _ in range(2):
        r = signed_client.put(f"{path}?livemode=false", json={"name": "x"}, headers=update)
        assert_error(r, 404, "resource_missing")
    assert customer_count(db) == 1


def test_an_idempotent_retry_of_a_signed_write_gets_the_stored_answer(
    signed_client: TestClient, signer: Signer, db: Database
) -> None:
    body = {"name": "Keyed"}
    headers = {
        **signer.headers("POST", "/api/customers", {"livemode": "false"}, body),
        "Idempotency-Key": "signed-1",
    }
    first = signed_client.post("/api/customers?livemode=false", json=body, headers=headers)
    again = signed_client.post("/api/customers?livemode=false", json=body, headers=headers)
    assert ok(first, 201) == ok(again, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert customer_count(db) == 1


def test_reads_may_repeat_and_get_or_create_spends_only_when_it_creates(
    api: API, signed_client: TestClient, signer: Signer, db: Database
) -> None:
    listing = signer.headers("GET", "/api/customers", {"livemode": "false"})
    for _ in range(2):
        ok(signed_client.get("/api/customers?livemode=false", headers=listing))
    did = new_did()
    path = f"/api/customers/{did}"
    headers = signer.headers("GET", path, {"livemode": "false"}, {"create": True})

    def get() -> Any:
        return signed_client.request(
            "GET", f"{path}?livemode=false", json={"create": True}, headers=headers
        )

    made = ok(get(), 201)
    assert ok(get()) == made  # found, not created: a lookup spends nothing
    ok(api.delete(f"/api/customers/{made['id']}"))
    # Sent again after the delete it would create again: the creation spent it.
    assert_error(get(), 401, "invalid_signature")
    assert customer_count(db) == 1


@pytest.mark.parametrize(
    ("iat_offset", "validity"),
    [(0, 301), (0, 3600), (0, 100_000_000_000 - NOW), (-10, 86_400), (200, 400)],
    ids=["301 s", "an hour", "year 5138", "a day", "future iat, 400 s"],
)
def test_exp_more_than_300_s_after_iat_is_401(
    signed_client: TestClient, signer: Signer, db: Database, iat_offset: int, validity: int
) -> None:
    iat = int(time.time()) + iat_offset
    r = send(
        signed_client,
        signer,
        "POST",
        "/api/customers",
        {"livemode": "false"},
        {"name": "x"},
        iat=iat,
        exp=iat + validity,
    )
    assert_error(r, 401, "invalid_signature")
    assert customer_count(db) == 0


@pytest.mark.parametrize("iat_offset", [0, -299, 299])
def test_exp_300_s_after_iat_is_fine(
    signed_client: TestClient, signer: Signer, iat_offset: int
) -> None:
    iat = int(time.time()) + iat_offset
    body = {"name": f"ok {iat_offset}"}
    r = send(signed_client, signer, "POST", "/api/customers", {"livemode": "false"}, body, iat=iat)
    ok(r, 201)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {"n": 2**53}}, "metadata.n"),
        ({"metadata": {"n": -(2**53)}}, "metadata.n"),
        ({"metadata": {"n": 9007199254740993}}, "metadata.n"),
        ({"metadata": {"deep": 10**30}}, "metadata.deep"),
        ({"name": "x", "balance": 2**64}, "balance"),
    ],
    ids=["2^53", "-2^53", "2^53+1", "10^30", "2^64 at the top"],
)
def test_an_integer_beyond_2_53_in_a_signed_body_is_400(
    signed_client: TestClient, signer: Signer, db: Database, body: dict[str, Any], param: str
) -> None:
    r = send(signed_client, signer, "POST", "/api/customers", {"livemode": "false"}, body)
    assert_error(r, 400, "invalid_request", param)
    assert customer_count(db) == 0
    # Sent as another integer that JavaScript rounds the same way: still a 400, never written.
    if param == "metadata.n" and body["metadata"]["n"] > 0:
        tampered = {"metadata": {"n": body["metadata"]["n"] ^ 1}}  # 2^53 <-> 2^53+1
        r = send(
            signed_client,
            signer,
            "POST",
            "/api/customers",
            {"livemode": "false"},
            body,
            sent_body=tampered,
        )
        assert_error(r, 400, "invalid_request", param)
    assert customer_count(db) == 0


def test_the_largest_safe_integers_are_signed_and_kept(
    signed_client: TestClient, signer: Signer
) -> None:
    body = {"metadata": {"max": 2**53 - 1, "min": -(2**53 - 1)}}
    made = ok(
        send(signed_client, signer, "POST", "/api/customers", {"livemode": "false"}, body), 201
    )
    assert made["metadata"] == body["metadata"]


def test_spent_signatures_are_pruned_once_expired(
    signed_client: TestClient, signer: Signer, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paymentkit.server import signature_replays

    now = int(time.time())
    db.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO component_signatures (signature_hash, expires_at) VALUES (?, ?), (?, ?)",
            ("a" * 64, now - 1, "b" * 64, now + 500),
        ),
        write=True,
    )
    monkeypatch.setattr(signature_replays, "_pruning", signature_replays._Pruning())
    ok(send(signed_client, signer, "POST", "/api/customers", {"livemode": "false"}, {}), 201)
    kept = db.run_sync(
        lambda tx: tx.all("SELECT signature_hash, expires_at FROM component_signatures")
    )
    assert len(kept) == 2 and ("a" * 64, now - 1) not in [tuple(row) for row in kept]
    assert ("b" * 64, now + 500) in [tuple(row) for row in kept]
