"""The SSRF guard over HTTP: without PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE a URL whose host is, or
resolves to, a loopback, private, link-local (the metadata address included), CGNAT, multicast,
reserved or unspecified address is a 400 on `url` at create and at a url update; with it, local
receivers are accepted. Nothing here connects anywhere: the check only resolves names (IP
literals and `localhost`, which /etc/hosts answers)."""

from __future__ import annotations

import pytest

from tests.api.billing.helpers import assert_error, body, list_all
from tests.api.webhooks.helpers import make_endpoint, without_secret
from tests.conftest import API

PATH = "/api/webhook-endpoints"
REFUSED = [
    "http://127.0.0.1:9/hooks",
    "https://127.0.0.1/hooks",
    "http://127.255.0.7/",
    "http://10.0.0.1/",
    "http://10.20.30.40:8443/x?y=1",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0:9/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://[::1]:9/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]:9/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/",
    "http://[ff02::1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
    "http://[2001:db8::1]/",
    # Names: resolved, then every address tested.
    "http://localhost:9/",
    "http://LocalHost/",
    # Shorthand and numeric IPv4 forms the resolver reads as 127.0.0.1.
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
]
LOCAL = ["http://127.0.0.1:9/hooks", "http://localhost:9/hooks", "http://[::1]:9/hooks"]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_addresses_are_refused_at_create(strict: API, url: str) -> None:
    r = strict.post(PATH, json={"url": url, "enabled_events": ["*"]})
    err = assert_error(r, 400, "invalid_request", "url")
    assert "public addresses" in err["error"], err
    assert "PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE=1" in err["error"]
    assert list_all(strict, PATH)["count"] == 0


def test_the_refusal_does_not_echo_what_a_name_resolved_to(strict: API) -> None:
    err = assert_error(
        strict.post(PATH, json={"url": "http://localhost:9/", "enabled_events": ["*"]}),
        400,
        "invalid_request",
        "url",
    )
    assert "127.0.0.1" not in err["error"] and "loopback" in err["error"]


@pytest.mark.parametrize("url", LOCAL)
def test_the_setting_allows_local_receivers(hooks: API, url: str) -> None:
    e = make_endpoint(hooks, url=url)
    assert e["url"] == url


def test_the_setting_still_needs_a_host_that_resolves(hooks: API) -> None:
    r = hooks.post(PATH, json={"url": "http://no-such-host.invalid/", "enabled_events": ["*"]})
    err = assert_error(r, 400, "invalid_request", "url")
    assert "cannot be resolved" in err["error"]


def test_a_public_address_is_accepted_without_the_setting(strict: API) -> None:
    # Created disabled: nothing is ever sent to it.
    url = "https://93.184.215.14/hooks"
    e = body(
        strict.post(PATH, json={"url": url, "enabled_events": ["*"], "status": "disabled"}), 201
    )
    assert e["url"] == url
    e6 = body(
        strict.post(
            PATH,
            json={
                "url": "https://[2606:4700::1111]/",
                "enabled_events": ["*"],
                "status": "disabled",
            },
        ),
        201,
    )
    assert e6["status"] == "disabled"


def test_a_url_update_is_checked_too(hooks: API, strict: API) -> None:
    e = without_secret(make_endpoint(hooks))  # a loopback URL, made while allowed
    for url in ("http://127.0.0.1:8/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]/"):
        r = strict.put(f"{PATH}/{e['id']}", json={"url": url})
        assert_error(r, 400, "invalid_request", "url")
    assert body(strict.get(f"{PATH}/{e['id']}"), 200) == e
    # Other changes do not check the stored URL again.
    changed = body(strict.put(f"{PATH}/{e['id']}", json={"description": "kept"}), 200)
    assert changed["url"] == e["url"]
    moved = body(hooks.put(f"{PATH}/{e['id']}", json={"url": "http://localhost:8/"}), 200)
    assert moved["url"] == "http://localhost:8/"
