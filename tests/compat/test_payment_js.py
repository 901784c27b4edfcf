"""The published Node client `@blocklet/payment-js` 1.27.2, unmodified, against a real paymentkit.

`tests/compat/node/package-lock.json` pins the client and everything it loads. The suite installs it
once per machine with `npm ci --ignore-scripts` into a cache outside the repository
(`$PAYMENTKIT_NODE_CACHE`, else `$XDG_CACHE_HOME/paymentkit` or `~/.cache/paymentkit`, in a directory
named after the lockfile's hash), starts `paymentkit serve` with a freshly generated Ed25519 app key
on a free port and a temporary SQLite database, and runs `node/client.mjs` with nothing in its
environment but the three variables the issue names:

    BLOCKLET_MOUNT_POINTS='[{"did":"z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk","port":PORT,"status":6}]'
    BLOCKLET_APP_SK=0x<hex seed or seed+pk>
    BLOCKLET_MODE=test

What the client does with them (read from its source and checked here):
- it signs every request with the app key (`x-component-sig*` headers) and sends it to
  `http://127.0.0.1:PORT`; every call appends `livemode=true|false` as the last query parameter;
- the mode is the client's own global, live unless `PAYMENT_LIVEMODE=false` (or `PAYMENT_LIVE_MODE`,
  `PAYMENT_TEST_MODE=true`) is set when it loads or the program calls
  `payment.environments.setLivemode(false)` / `setTestMode(true)`. `BLOCKLET_MODE=test` does not
  choose the mode: it only keeps @blocklet/sdk from connecting to a Blocklet Server's notification
  socket (without it the client still works, but logs connection errors);
- an HTTP error surfaces as the axios error, `error.response.status` and `error.response.data`; 4xx
  answers are not retried, 5xx are retried three times.

Missing node or npm skips these tests with the reason, except under CI (`CI=true`) or with
`PAYMENTKIT_REQUIRE_NODE=1`, where it fails them. A failed `npm ci` always fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.cli.test_serve import PAYMENTKIT, clean_env, free_port

pytestmark = pytest.mark.timeout(900)  # the first run on a machine includes `npm ci`

NODE_DIR = Path(__file__).parent / "node"
CLIENT = NODE_DIR / "client.mjs"
PINNED_VERSION = "1.27.2"
PAYMENT_KIT_DID = "z2qaCNvKMv5GjouKdcDWexv6WqtHbpNPQDnAk"
MIN_NODE_MAJOR = 18
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SIG_RE = re.compile(r"^0x[0-9a-f]{128}$")
SECRET_SETTING = "sk_hidden_" + secrets.token_hex(8)
ALLOW_PRIVATE = "PAYMENTKIT_WEBHOOK_ALLOW_PRIVATE"


# -- node, npm and the pinned client ------------------------------------------------------------


def _node_required() -> bool:
    return (
        os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
        or os.environ.get("PAYMENTKIT_REQUIRE_NODE") == "1"
    )


def _unavailable(reason: str) -> NoReturn:
    if _node_required():
        pytest.fail(f"{reason} (required here: CI or PAYMENTKIT_REQUIRE_NODE=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if path is None]
    if node is None or npm is None:
        _unavailable(
            f"{' and '.join(missing)} not found on PATH: the @blocklet/payment-js compatibility "
            "tests need Node.js 18+ with npm"
        )
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        _unavailable(f"node {version or '(unknown version)'} is too old: need {MIN_NODE_MAJOR}+")
    return node


def _cache_root() -> Path:
    explicit = os.environ.get("PAYMENTKIT_NODE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paymentkit"


def _installed_version(root: Path) -> str | None:
    if not (root / ".complete").is_file():
        return None
    manifest = root / "node_modules" / "@blocklet" / "payment-js" / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


@pytest.fixture(scope="session")
def payment_js(node: str) -> Path:
    """A directory whose node_modules holds exactly what the lockfile pins; made once per machine."""
    npm = shutil.which("npm")
    assert npm is not None
    manifest = (NODE_DIR / "package.json").read_bytes()
    lock = (NODE_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(manifest + b"\0" + lock).hexdigest()[:16]
    root = _cache_root()
    target = root / f"payment-js-{digest}"
    if _installed_version(target) is None:
        root.mkdir(parents=True, exist_ok=True)
        if target.exists():  # not made by this code (those appear whole, by rename): start over
            shutil.rmtree(target)
        work = Path(tempfile.mkdtemp(prefix=f"payment-js-{digest}.", dir=root))
        try:
            (work / "package.json").write_bytes(manifest)
            (work / "package-lock.json").write_bytes(lock)
            done = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=840,
                check=False,
            )
            if done.returncode != 0:
                pytest.fail(
                    f"npm ci of tests/compat/node/package-lock.json failed ({done.returncode}):\n"
                    f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
                )
            (work / ".complete").write_text(f"{digest}\n")
            try:
                work.rename(target)
            except OSError:  # another session installed it meanwhile
                if _installed_version(target) is None:
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    assert _installed_version(target) == PINNED_VERSION, target
    return target


# -- keys ---------------------------------------------------------------------------------------


def new_seed() -> bytes:
    return secrets.token_bytes(32)


def sk32(seed: bytes) -> str:
    return "0x" + seed.hex()


def sk64(seed: bytes) -> str:
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return "0x" + (seed + public).hex()


@pytest.fixture(scope="session")
def app_seed() -> bytes:
    """The app key of this test session: a random Ed25519 seed."""
    return new_seed()


def new_did() -> str:
    return "z" + "".join(secrets.choice(BASE58) for _ in range(35))


# -- the server ---------------------------------------------------------------------------------


class Paymentkit:
    """`paymentkit serve` on a free port with a temporary SQLite database."""

    def __init__(
        self,
        workdir: Path,
        *,
        app_sk: str | None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.url = f"sqlite:///{workdir / 'paymentkit.db'}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = clean_env()
        for name in ("PAYMENTKIT_APP_SK", "PAYMENTKIT_APP_SK_FILE", ALLOW_PRIVATE):
            environment.pop(name, None)
        if app_sk is not None:
            environment["PAYMENTKIT_APP_SK"] = app_sk
        environment.update(env or {})
        self.log_path = workdir / "serve.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [PAYMENTKIT, "serve", "--port", str(self.port), "--database-url", self.url, *args],
                cwd=workdir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=self.base, timeout=30, trust_env=False)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> Paymentkit:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"paymentkit exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"paymentkit not ready after {timeout}s:\n{self.output()}")

    def create_key(self, mode: str) -> str:
        """An API key made the way an operator makes one: `paymentkit keys create`."""
        done = subprocess.run(
            [PAYMENTKIT, "keys", "create", "--mode", mode, "--json", "--database-url", self.url],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        secret: str = json.loads(done.stdout)["secret"]
        assert secret.startswith(f"sk_{mode}_")
        return secret

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.http.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """Start servers for one test; every one is stopped afterwards, whatever happened."""
    started: list[Paymentkit] = []

    def start(
        name: str,
        *,
        app_sk: str | None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> Paymentkit:
        server = Paymentkit(tmp_path / name, app_sk=app_sk, args=args, env=env)
        started.append(server)
        return server.wait_ready()

    try:
        yield start
    finally:
        for server in started:
            server.stop()


# -- the client ---------------------------------------------------------------------------------


def client_env(port: int, app_sk: str, **extra: str) -> dict[str, str]:
    """Exactly the variables the issue names (plus `extra`): no PATH, HOME or proxy settings."""
    mount_points = [{"did": PAYMENT_KIT_DID, "port": port, "status": 6}]
    return {
        "BLOCKLET_MOUNT_POINTS": json.dumps(mount_points, separators=(",", ":")),
        "BLOCKLET_APP_SK": app_sk,
        "BLOCKLET_MODE": "test",
        **extra,
    }


def run_client(
    node: str,
    payment_js: Path,
    env: dict[str, str],
    calls: list[tuple[str, str, list[Any]]],
    livemode: bool | None = None,
) -> dict[str, Any]:
    """Run `calls` [(label, "resource.method", args)] in one node process; its JSON answer."""
    scenario = {
        "livemode": livemode,
        "calls": [{"label": label, "call": call, "args": args} for label, call, args in calls],
    }
    done = subprocess.run(
        [node, str(CLIENT), str(payment_js)],
        input=json.dumps(scenario),
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"client.mjs failed ({done.returncode}):\n{done.stderr[-4000:]}"
    out: dict[str, Any] = json.loads(done.stdout)
    assert list(out["results"]) == [label for label, _, _ in calls]
    return out


def ok(out: dict[str, Any], label: str) -> Any:
    result = out["results"][label]
    assert result["ok"], f"{label}: {result}"
    return result["value"]


def failed(out: dict[str, Any], label: str, status: int, code: str) -> dict[str, Any]:
    result = out["results"][label]
    assert not result["ok"], f"{label} succeeded: {result}"
    assert result["status"] == status, f"{label}: {result}"
    data: dict[str, Any] = result["data"]
    assert set(data) == {"code", "error", "param", "request_id"}, data
    assert data["code"] == code, f"{label}: {data}"
    assert result["message"] == f"Request failed with status code {status}", result
    return data


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["list"]]


def assert_signed_wire(wire: dict[str, Any], method: str, livemode: bool) -> None:
    """What went over the socket: signed headers, `livemode` as the last query parameter."""
    assert wire["method"] == method, wire
    assert wire["path"].startswith("/api/"), wire
    assert wire["path"].endswith(f"livemode={'true' if livemode else 'false'}"), wire
    headers = wire["headers"]
    assert SIG_RE.match(headers["x-component-sig"]), headers
    assert headers["x-component-sig-version"] == "1", headers
    iat, exp = int(headers["x-component-sig-iat"]), int(headers["x-component-sig-exp"])
    assert exp - iat == 300, headers
    assert abs(iat - time.time()) < 600, headers


# -- data the client cannot make: set up over HTTP with an API key of each mode ------------------


class Api:
    def __init__(self, server: Paymentkit, secret: str) -> None:
        self.http = server.http
        self.headers = {"Authorization": f"Bearer {secret}"}

    def call(self, method: str, path: str, status: int, payload: Any = None) -> Any:
        r = self.http.request(method, path, json=payload, headers=self.headers)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def post(self, path: str, payload: Any = None, status: int = 201) -> Any:
        return self.call("POST", path, status, payload)

    def get(self, path: str) -> Any:
        return self.call("GET", path, 200)


# Amounts per mode, so that each mode's overdue summary is its own.
AMOUNTS = {
    "test": {
        "usd": ("1000", "300", "500"),
        "eth": ("3000000000000000000", "123456789012345678901"),
    },
    "live": {"usd": ("2500", "1", "700"), "eth": ("9007199254740993", "18446744073709551617")},
}
EXTRA_CUSTOMERS = {"test": 2, "live": 1}


def seed_mode(api: Api, mode: str, shared: dict[str, str]) -> dict[str, Any]:
    """Methods, currencies, customers, subscriptions and invoices of one mode; what to expect."""
    stripe = api.post(
        "/api/payment-methods",
        {"type": "stripe", "name": "Stripe", "settings": {"secret_key": SECRET_SETTING}},
    )
    ethereum = api.post("/api/payment-methods", {"type": "ethereum", "name": "Ethereum"})
    usd = api.post(
        "/api/payment-currencies",
        {"payment_method_id": stripe["id"], "name": "US Dollar", "symbol": "USD", "decimal": 2},
    )
    eth = api.post(
        "/api/payment-currencies",
        {"payment_method_id": ethereum["id"], "name": "Ether", "symbol": "ETH", "decimal": 18},
    )

    def customer(**fields: Any) -> dict[str, Any]:
        made: dict[str, Any] = api.post("/api/customers", fields)
        return made

    carol = customer(
        did=new_did(), name="Carol", email="carol@example.com", metadata={"a": "1", "b": "1"}
    )
    alice = customer(did=shared["alice_did"], name="Alice Smith", email="alice@example.com")
    bob = customer(did=new_did(), name="Bob", email="bob@example.org")
    zoe = customer(did=new_did(), name="Zoë & Ünïcode/Co? Ltd")
    extras = [customer(name=f"{mode}-extra-{i}") for i in range(EXTRA_CUSTOMERS[mode])]
    created = [carol, alice, bob, zoe, *extras]  # oldest first
    # Carol is updated last, so "updated_at ASC" differs from the default "newest first".
    time.sleep(0.005)
    carol = api.call("PUT", f"/api/customers/{carol['id']}", 200, {"description": "regular"})

    sub1 = api.post("/api/subscriptions", {"customer_id": alice["id"], "currency_id": usd["id"]})
    sub2 = api.post("/api/subscriptions", {"customer_id": alice["id"], "currency_id": eth["id"]})
    api.post("/api/subscriptions", {"customer_id": bob["id"], "currency_id": usd["id"]})

    def invoice(who: dict[str, Any], currency: dict[str, Any], due: str, **fields: Any) -> str:
        payload = {"customer_id": who["id"], "currency_id": currency["id"], "amount_due": due}
        made: dict[str, Any] = api.post("/api/invoices", {**payload, **fields})
        return str(made["id"])

    def act(invoice_id: str, *steps: str) -> None:
        for step in steps:
            api.post(f"/api/invoices/{invoice_id}/{step}", status=200)

    def pay(invoice_id: str, amount: str) -> None:
        api.post(f"/api/invoices/{invoice_id}/pay", {"amount": amount}, status=200)

    (usd_due, usd_paid, usd_due2), (eth_due, eth_due2) = (
        AMOUNTS[mode]["usd"],
        AMOUNTS[mode]["eth"],
    )
    overdue = [
        invoice(alice, usd, usd_due, subscription_id=sub1["id"]),
        invoice(alice, usd, usd_due2, subscription_id=sub1["id"]),
        invoice(alice, eth, eth_due, subscription_id=sub2["id"]),
        invoice(alice, eth, eth_due2),
    ]
    # Not overdue: other statuses, and another customer's uncollectible invoice.
    draft = invoice(alice, usd, "11")
    opened = invoice(alice, usd, "12")
    act(opened, "finalize")
    paid = invoice(alice, eth, "13")
    act(paid, "finalize", "pay")
    voided = invoice(alice, usd, "14")
    act(voided, "finalize", "mark_uncollectible", "void")
    bobs = invoice(bob, usd, "15")
    act(bobs, "finalize", "mark_uncollectible")
    for invoice_id in reversed(overdue):  # marked newest first; listed oldest first
        act(invoice_id, "finalize", "mark_uncollectible")
    pay(overdue[0], usd_paid)
    half = str(int(eth_due) // 3)
    pay(overdue[2], half)

    usd_sum = int(usd_due) - int(usd_paid) + int(usd_due2)
    eth_sum = int(eth_due) - int(half) + int(eth_due2)
    return {
        "mode": mode,
        "livemode": mode == "live",
        "methods": [stripe["id"], ethereum["id"]],
        "currencies": {"usd": usd, "eth": eth},
        "customers": api.get("/api/customers?pageSize=100")["list"],  # newest first
        "created": [c["id"] for c in created],
        "alice": api.get(f"/api/customers/{alice['id']}"),
        "bob": bob,
        "carol": carol,
        "zoe": zoe,
        "extras": [c["id"] for c in extras],
        "overdue": overdue,
        "overdue_result": api.get(f"/api/customers/{alice['id']}/overdue/invoices"),
        "summary": {usd["id"]: str(usd_sum), eth["id"]: str(eth_sum)},
        "invoices": [*overdue, draft, opened, paid, voided, bobs],
        "subscriptions": [sub1["id"], sub2["id"]],
    }


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, app_seed: bytes, payment_js: Path
) -> Iterator[dict[str, Any]]:
    """One server for the module, with the session's app key (32-byte form) and both modes seeded."""
    server = Paymentkit(tmp_path_factory.mktemp("payment-js-server"), app_sk=sk32(app_seed))
    try:
        server.wait_ready()
        assert "Component signatures (@blocklet/payment-js) are accepted." in server.output()
        keys = {mode: server.create_key(mode) for mode in ("test", "live")}
        shared = {"alice_did": new_did(), "newcomer_did": new_did()}
        seeded = {mode: seed_mode(Api(server, keys[mode]), mode, shared) for mode in keys}
        yield {"server": server, "keys": keys, "shared": shared, **seeded}
    finally:
        server.stop()


# -- the scenario, in each mode -----------------------------------------------------------------


def _expected_order(
    customers: list[dict[str, Any]], created: list[str], tie_desc: bool
) -> list[str]:
    position = {cid: i for i, cid in enumerate(created)}
    return [
        c["id"]
        for c in sorted(
            customers,
            key=lambda c: (c["updated_at"], -position[c["id"]] if tie_desc else position[c["id"]]),
        )
    ]


@pytest.mark.parametrize("mode", ["test", "live"])
def test_every_customers_method_and_the_billing_lists(
    world: dict[str, Any], node: str, payment_js: Path, app_seed: bytes, mode: str
) -> None:
    server: Paymentkit = world["server"]
    mine, other = world[mode], world["live" if mode == "test" else "test"]
    livemode = mode == "live"
    alice, carol, zoe = mine["alice"], mine["carol"], mine["zoe"]
    alice_did, newcomer = world["shared"]["alice_did"], world["shared"]["newcomer_did"]
    total = len(mine["customers"])
    newest = [c["id"] for c in mine["customers"]]
    calls: list[tuple[str, str, list[Any]]] = [
        # Reads of the seeded state.
        ("retrieve_id", "customers.retrieve", [alice["id"]]),
        ("retrieve_did", "customers.retrieve", [alice_did]),
        ("retrieve_did_prefixed", "customers.retrieve", [f"did:abt:{alice_did}"]),
        ("retrieve_missing", "customers.retrieve", ["cus_" + "0" * 24]),
        ("retrieve_other_mode", "customers.retrieve", [other["alice"]["id"]]),
        ("list_default", "customers.list", [{}]),
        ("list_page1", "customers.list", [{"page": 1, "pageSize": 2}]),
        ("list_page2", "customers.list", [{"page": 2, "pageSize": 2}]),
        ("list_did", "customers.list", [{"did": alice_did}]),
        # The Pagination fields the Node client declares: cursors and limit.
        ("cursor_first", "customers.list", [{"limit": 2}]),
        ("cursor_next", "customers.list", [{"limit": 2, "starting_after": newest[1]}]),
        ("cursor_back", "customers.list", [{"limit": 1, "ending_before": newest[2]}]),
        ("cursor_missing", "customers.list", [{"limit": 2, "starting_after": "cus_" + "0" * 24}]),
        ("list_did_other", "customers.list", [{"did": new_did(), "page": 1, "pageSize": 5}]),
        ("order_string", "customers.list", [{"order": "updated_at:ASC", "pageSize": 100}]),
        ("order_pair", "customers.list", [{"order": ["updated_at", "ASC"], "pageSize": 100}]),
        (
            "order_pairs",
            "customers.list",
            [{"order": [["updated_at", "ASC"], ["id", "DESC"]], "pageSize": 100}],
        ),
        ("search", "customers.search", [{"query": "alice smith"}]),
        ("search_upper", "customers.search", [{"query": "ALICE SMITH"}]),
        ("search_special", "customers.search", [{"query": "zoë & ünïcode/co?"}]),
        ("search_page1", "customers.search", [{"query": "@example.com", "page": 1, "pageSize": 1}]),
        ("search_page2", "customers.search", [{"query": "@example.com", "page": 2, "pageSize": 1}]),
        ("search_other_mode", "customers.search", [{"query": f"{other['mode']}-extra"}]),
        ("overdue_id", "customers.overdueInvoices", [alice["id"]]),
        ("overdue_did", "customers.overdueInvoices", [alice_did]),
        ("overdue_none", "customers.overdueInvoices", [zoe["id"]]),
        ("invoices", "invoices.list", [{"pageSize": 100}]),
        (
            "invoices_filtered",
            "invoices.list",
            [{"customer_id": alice["id"], "status": "uncollectible"}],
        ),
        ("currencies", "paymentCurrencies.list", [{}]),
        ("methods", "paymentMethods.list", [{}]),
        ("subscriptions", "subscriptions.list", [{}]),
        ("subscriptions_alice", "subscriptions.list", [{"customer_id": alice["id"]}]),
        # Writes.
        ("create", "customers.retrieve", [newcomer, {"create": True}]),
        ("create_again", "customers.retrieve", [newcomer, {"create": True}]),
        ("list_after_create", "customers.list", [{"page": 1, "pageSize": 1}]),
        (
            "update_merge",
            "customers.update",
            [
                carol["id"],
                {
                    "metadata": {
                        "b": "2",
                        "c": "x",
                        "ratio": 1.5,
                        "n": 7,
                        "flag": True,
                        "😀": "grin",
                        "｡": "dot",
                    }
                },
            ],
        ),
        (
            "update_remove",
            "customers.update",
            [carol["id"], {"metadata": {"c": None, "a": ""}, "name": 'Carol Q. "Ünïcode"'}],
        ),
        ("retrieve_updated", "customers.retrieve", [carol["id"]]),
        ("update_invalid", "customers.update", [carol["id"], {"email": "not-an-email"}]),
        ("update_other_mode", "customers.update", [other["carol"]["id"], {"name": "nope"}]),
    ]
    other_api = Api(server, world["keys"][other["mode"]])
    other_before = other_api.get("/api/customers?pageSize=100")
    out = run_client(
        node,
        payment_js,
        client_env(server.port, sk32(app_seed)),
        calls,
        livemode=None if livemode else False,
    )
    # With only the three variables the client is in live mode; test mode is the client's switch.
    assert out["initialLivemode"] is True
    assert out["livemode"] is livemode

    for label, _, _ in calls:
        wire = out["results"][label]["wire"]
        assert wire is not None, label
        method = "PUT" if label.startswith("update") else "GET"
        assert_signed_wire(wire, method, livemode)

    # retrieve: by id, by DID, by did:abt:DID; the same object the API key sees.
    assert ok(out, "retrieve_id") == alice
    assert alice["delinquent"] is True and alice["livemode"] is livemode
    assert ok(out, "retrieve_did") == alice
    assert ok(out, "retrieve_did_prefixed") == alice
    failed(out, "retrieve_missing", 404, "resource_missing")
    failed(out, "retrieve_other_mode", 404, "resource_missing")
    wire = out["results"]["retrieve_id"]["wire"]
    assert wire["path"] == f"/api/customers/{alice['id']}?livemode={str(livemode).lower()}"
    assert wire["body"] is None

    # list: paging, DID filter, the three order forms.
    newest_first = [c["id"] for c in mine["customers"]]
    assert newest_first == list(reversed(mine["created"]))
    listed = ok(out, "list_default")
    assert listed["count"] == total and ids(listed) == newest_first
    assert listed["list"] == mine["customers"]
    assert listed["paging"] == {"page": 1, "pageSize": 20}
    page1, page2 = ok(out, "list_page1"), ok(out, "list_page2")
    assert page1["count"] == page2["count"] == total
    assert ids(page1) == newest_first[:2] and ids(page2) == newest_first[2:4]
    assert page1["paging"] == {"page": 1, "pageSize": 2}
    assert page2["paging"] == {"page": 2, "pageSize": 2}
    assert out["results"]["list_page1"]["wire"]["path"] == (
        f"/api/customers?page=1&pageSize=2&livemode={str(livemode).lower()}"
    )
    first, following = ok(out, "cursor_first"), ok(out, "cursor_next")
    assert ids(first) == newest_first[:2] and first["has_more"] is True
    assert ids(following) == newest_first[2:4]
    assert following["has_more"] is (total > 4) and following["count"] == total
    back = ok(out, "cursor_back")
    assert ids(back) == newest_first[1:2] and back["has_more"] is True
    assert "starting_after=" + newest_first[1] in out["results"]["cursor_next"]["wire"]["path"]
    assert failed(out, "cursor_missing", 400, "invalid_request")["param"] == "starting_after"
    by_did = ok(out, "list_did")
    assert by_did["count"] == 1 and by_did["list"] == [alice]
    nobody = ok(out, "list_did_other")
    assert nobody == {
        "count": 0,
        "list": [],
        "paging": {"page": 1, "pageSize": 5},
        "has_more": False,
        "count_is_exact": True,
    }
    ascending = _expected_order(mine["customers"], mine["created"], tie_desc=False)
    assert ascending[-1] == carol["id"] and ascending != list(reversed(newest_first))
    assert ids(ok(out, "order_string")) == ascending
    assert ids(ok(out, "order_pair")) == ascending
    assert ids(ok(out, "order_pairs")) == _expected_order(
        mine["customers"], mine["created"], tie_desc=True
    )
    assert "order=updated_at%3AASC" in out["results"]["order_string"]["wire"]["path"]
    assert (
        "order%5B0%5D=updated_at&order%5B1%5D=ASC" in out["results"]["order_pair"]["wire"]["path"]
    )
    assert (
        "order%5B0%5D%5B0%5D=updated_at&order%5B0%5D%5B1%5D=ASC"
        "&order%5B1%5D%5B0%5D=id&order%5B1%5D%5B1%5D=DESC"
    ) in out["results"]["order_pairs"]["wire"]["path"]

    # search: case-insensitive, non-ASCII and & / ? travel intact, paging, this mode only.
    found = ok(out, "search")
    assert found["count"] == 1 and found["list"] == [alice]
    assert ok(out, "search_upper") == found
    special = ok(out, "search_special")
    assert special["count"] == 1 and ids(special) == [zoe["id"]]
    assert out["results"]["search_special"]["wire"]["path"] == (
        "/api/customers/search?query=zo%C3%AB%20%26%20%C3%BCn%C3%AFcode%2Fco%3F"
        f"&livemode={str(livemode).lower()}"
    )
    s1, s2 = ok(out, "search_page1"), ok(out, "search_page2")
    assert s1["count"] == s2["count"] == 2
    assert ids(s1) == [alice["id"]] and ids(s2) == [carol["id"]]
    assert s2["paging"] == {"page": 2, "pageSize": 1}
    assert ok(out, "search_other_mode")["count"] == 0

    # overdueInvoices: the uncollectible invoices oldest first, exact sums beyond 2^64.
    overdue = ok(out, "overdue_id")
    assert overdue == mine["overdue_result"]
    assert ok(out, "overdue_did") == overdue
    assert overdue["customer"] == alice
    assert [i["id"] for i in overdue["invoices"]] == mine["overdue"]
    assert all(i["status"] == "uncollectible" for i in overdue["invoices"])
    assert {cid: s["amount"] for cid, s in overdue["summary"].items()} == mine["summary"]
    for currency_id, entry in overdue["summary"].items():
        assert entry["currency"]["id"] == currency_id
        assert entry["method"]["id"] == entry["currency"]["payment_method_id"]
    assert overdue["subscriptionCount"] == 2
    assert SECRET_SETTING not in json.dumps(out)
    assert ok(out, "overdue_none") == {
        "customer": zoe,
        "invoices": [],
        "summary": {},
        "subscriptionCount": 0,
    }

    # The billing lists.
    invoices = ok(out, "invoices")
    assert invoices["count"] == len(mine["invoices"])
    assert set(ids(invoices)) == set(mine["invoices"])
    assert all(i["livemode"] is livemode for i in invoices["list"])
    filtered = ok(out, "invoices_filtered")
    assert filtered["count"] == 4 and set(ids(filtered)) == set(mine["overdue"])
    currencies = ok(out, "currencies")
    assert currencies["count"] == 2
    assert set(ids(currencies)) == {c["id"] for c in mine["currencies"].values()}
    methods = ok(out, "methods")
    assert methods["count"] == 2 and set(ids(methods)) == set(mine["methods"])
    subscriptions = ok(out, "subscriptions")
    assert subscriptions["count"] == 3
    alice_subs = ok(out, "subscriptions_alice")
    assert alice_subs["count"] == 2 and set(ids(alice_subs)) == set(mine["subscriptions"])

    # retrieve with {create: true} in the body of the GET: get-or-create, per mode.
    created = ok(out, "create")
    assert created["did"] == newcomer and created["livemode"] is livemode
    assert created["id"].startswith("cus_") and created["metadata"] == {}
    assert created["id"] != ok(out, "retrieve_id")["id"]
    assert ok(out, "create_again") == created
    wire = out["results"]["create"]["wire"]
    assert wire["method"] == "GET" and json.loads(wire["body"]) == {"create": True}
    assert wire["path"] == f"/api/customers/{newcomer}?livemode={str(livemode).lower()}"
    after = ok(out, "list_after_create")
    assert after["count"] == total + 1 and ids(after) == [created["id"]]

    # update: metadata merges key by key; null or "" removes a key; other fields stay.
    merged = ok(out, "update_merge")
    assert merged["metadata"] == {
        "a": "1",
        "b": "2",
        "c": "x",
        "ratio": 1.5,
        "n": 7,
        "flag": True,
        "😀": "grin",
        "｡": "dot",
    }
    assert merged["email"] == "carol@example.com" and merged["description"] == "regular"
    removed = ok(out, "update_remove")
    assert removed["metadata"] == {
        "b": "2",
        "ratio": 1.5,
        "n": 7,
        "flag": True,
        "😀": "grin",
        "｡": "dot",
    }
    assert removed["name"] == 'Carol Q. "Ünïcode"'
    assert ok(out, "retrieve_updated") == removed
    invalid = failed(out, "update_invalid", 400, "invalid_request")
    assert invalid["param"] == "email"
    failed(out, "update_other_mode", 404, "resource_missing")

    # The other mode saw none of it.
    assert other_api.get("/api/customers?pageSize=100") == other_before


@pytest.mark.parametrize(
    ("extra", "livemode"),
    [
        ({}, True),
        ({"PAYMENT_LIVEMODE": "false"}, False),
        ({"PAYMENT_LIVEMODE": "true"}, True),
        ({"PAYMENT_TEST_MODE": "true"}, False),
    ],
    ids=[
        "three-variables-only",
        "PAYMENT_LIVEMODE=false",
        "PAYMENT_LIVEMODE=true",
        "PAYMENT_TEST_MODE",
    ],
)
def test_the_mode_is_chosen_by_the_client_environment_not_by_blocklet_mode(
    world: dict[str, Any],
    node: str,
    payment_js: Path,
    app_seed: bytes,
    extra: dict[str, str],
    livemode: bool,
) -> None:
    server: Paymentkit = world["server"]
    mode = "live" if livemode else "test"
    env = client_env(server.port, sk32(app_seed), **extra)
    out = run_client(
        node, payment_js, env, [("alice", "customers.retrieve", [world["shared"]["alice_did"]])]
    )
    assert out["initialLivemode"] is livemode and out["livemode"] is livemode
    alice = ok(out, "alice")
    assert alice["id"] == world[mode]["alice"]["id"] and alice["livemode"] is livemode
    assert out["results"]["alice"]["wire"]["path"].endswith(f"?livemode={str(livemode).lower()}")


def test_a_wrong_app_key_gets_401_invalid_signature_and_changes_nothing(
    world: dict[str, Any], node: str, payment_js: Path
) -> None:
    server: Paymentkit = world["server"]
    carol = world["test"]["carol"]
    calls: list[tuple[str, str, list[Any]]] = [
        ("retrieve", "customers.retrieve", [carol["id"]]),
        ("create", "customers.retrieve", [new_did(), {"create": True}]),
        ("list", "customers.list", [{"page": 1, "pageSize": 5}]),
        ("search", "customers.search", [{"query": "carol"}]),
        ("update", "customers.update", [carol["id"], {"metadata": {"hacked": "yes"}}]),
        ("overdue", "customers.overdueInvoices", [carol["id"]]),
        ("invoices", "invoices.list", [{}]),
    ]
    api = Api(server, world["keys"]["test"])
    before = api.get("/api/customers?pageSize=100")
    for wrong in (sk32(new_seed()), sk64(new_seed())):
        out = run_client(node, payment_js, client_env(server.port, wrong), calls, livemode=False)
        for label, _, _ in calls:
            data = failed(out, label, 401, "invalid_signature")
            assert data["param"] is None
            # The request was signed, just not by the app's key.
            assert SIG_RE.match(out["results"][label]["wire"]["headers"]["x-component-sig"])
    assert api.get("/api/customers?pageSize=100") == before
    assert "hacked" not in api.get(f"/api/customers/{carol['id']}")["metadata"]


def test_api_keys_still_work_beside_signatures(
    world: dict[str, Any], node: str, payment_js: Path, app_seed: bytes
) -> None:
    server: Paymentkit = world["server"]
    out = run_client(
        node,
        payment_js,
        client_env(server.port, sk32(app_seed)),
        [("list", "customers.list", [{"pageSize": 100}])],
        livemode=False,
    )
    by_signature = ok(out, "list")
    for mode, livemode in (("test", False), ("live", True)):
        headers = {"Authorization": f"Bearer {world['keys'][mode]}"}
        r = server.http.get("/api/customers?pageSize=100", headers=headers)
        assert r.status_code == 200, r.text
        assert all(c["livemode"] is livemode for c in r.json()["list"])
        if mode == "test":
            assert r.json() == by_signature
        # The key still fixes the mode: asking for the other one is a 403.
        other = "false" if livemode else "true"
        r = server.http.get(f"/api/customers?livemode={other}", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    r = server.http.get("/api/customers", headers={"Authorization": "Bearer sk_test_not_a_key"})
    assert r.status_code == 401 and r.json()["code"] == "authentication_required"
    # Nothing but a key or a signature authenticates.
    r = server.http.get(
        "/api/customers",
        headers={"x-user-did": world["shared"]["alice_did"], "x-user-role": "owner"},
    )
    assert r.status_code == 401 and r.json()["code"] == "authentication_required"


def test_the_64_byte_key_form_on_both_sides(
    start_server: Any, node: str, payment_js: Path, tmp_path: Path
) -> None:
    seed = new_seed()
    key_file = tmp_path / "app-sk"
    key_file.write_text(sk64(seed) + "\n")
    server = start_server("sk64", app_sk=None, args=("--app-sk-file", str(key_file)))
    assert "Component signatures (@blocklet/payment-js) are accepted." in server.output()
    did = new_did()
    for client_key in (sk64(seed), sk32(seed)):
        out = run_client(
            node,
            payment_js,
            client_env(server.port, client_key),
            [
                ("create", "customers.retrieve", [did, {"create": True}]),
                ("list", "customers.list", [{"did": did}]),
            ],
        )
        created = ok(out, "create")
        assert created["did"] == did and created["livemode"] is True
        assert ok(out, "list")["list"] == [created]
    # A 64-byte key whose public half is not the seed's: the server refuses to start.
    bad = tmp_path / "bad-sk"
    bad.write_text(sk64(seed)[:-2] + ("00" if not sk64(seed).endswith("00") else "01"))
    done = subprocess.run(
        [
            PAYMENTKIT,
            "serve",
            "--port",
            str(free_port()),
            "--app-sk-file",
            str(bad),
            "--database-url",
            f"sqlite:///{tmp_path / 'bad.db'}",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "public half does not match" in done.stderr


def test_signatures_are_refused_when_the_server_has_no_app_key(
    start_server: Any, node: str, payment_js: Path
) -> None:
    server = start_server("no-app-key", app_sk=None)
    assert "Component signatures" not in server.output()
    out = run_client(
        node,
        payment_js,
        client_env(server.port, sk32(new_seed())),
        [
            ("list", "customers.list", [{}]),
            ("retrieve", "customers.retrieve", [new_did(), {"create": True}]),
        ],
    )
    failed(out, "list", 401, "authentication_required")
    failed(out, "retrieve", 401, "authentication_required")


# -- webhook endpoints ----------------------------------------------------------------------------

WEBHOOK_KEYS = {
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


@pytest.mark.parametrize("mode", ["live", "test"])
def test_every_webhook_endpoints_method(
    start_server: Any, node: str, payment_js: Path, app_seed: bytes, mode: str
) -> None:
    # Receivers on loopback need the server's setting; nothing listens on port 9 and no event
    # is written here, so nothing is sent anywhere.
    server = start_server("webhooks", app_sk=sk32(app_seed), env={ALLOW_PRIVATE: "1"})
    livemode = mode == "live"
    env = client_env(server.port, sk32(app_seed))
    made = run_client(
        node,
        payment_js,
        env,
        [
            (
                "create",
                "webhookEndpoints.create",
                [
                    {
                        "url": "http://127.0.0.1:9/orders",
                        "enabled_events": ["customer.created", "invoice.paid"],
                        "description": "Orders",
                        "metadata": {"team": "billing"},
                    }
                ],
            ),
            (
                "create_all",
                "webhookEndpoints.create",
                [{"url": "http://localhost:9/all", "enabled_events": ["*"]}],
            ),
            ("create_invalid", "webhookEndpoints.create", [{"url": "http://127.0.0.1:9/"}]),
            (
                "create_unknown_event",
                "webhookEndpoints.create",
                [{"url": "http://127.0.0.1:9/", "enabled_events": ["order.shipped"]}],
            ),
        ],
        livemode=livemode,
    )
    orders, everything = ok(made, "create"), ok(made, "create_all")
    for endpoint in (orders, everything):
        assert set(endpoint) == WEBHOOK_KEYS | {"secret"}
        assert endpoint["secret"].startswith("whsec_") and endpoint["livemode"] is livemode
        assert endpoint["object"] == "webhook_endpoint" and endpoint["status"] == "enabled"
        assert (endpoint["api_version"], endpoint["created_via"]) == ("2023-09-05", "api")
    assert orders["enabled_events"] == ["customer.created", "invoice.paid"]
    assert orders["metadata"] == {"team": "billing"} and orders["description"] == "Orders"
    wire = made["results"]["create"]["wire"]
    assert wire["method"] == "POST"
    assert wire["path"] == f"/api/webhook-endpoints?livemode={str(livemode).lower()}"
    assert_signed_wire(wire, "POST", livemode)
    assert failed(made, "create_invalid", 400, "invalid_request")["param"] == "enabled_events"
    bad = failed(made, "create_unknown_event", 400, "invalid_request")
    assert bad["param"] == "enabled_events.0"

    orders_id, everything_id = orders["id"], everything["id"]
    out = run_client(
        node,
        payment_js,
        env,
        [
            ("retrieve", "webhookEndpoints.retrieve", [orders_id]),
            (
                "update",
                "webhookEndpoints.update",
                [orders_id, {"status": "disabled", "metadata": {"team": None, "v": "2"}}],
            ),
            ("list", "webhookEndpoints.list", [{}]),
            ("list_size", "webhookEndpoints.list", [{"size": 1}]),
            ("list_page2", "webhookEndpoints.list", [{"page": 2, "pageSize": 1}]),
            ("list_disabled", "webhookEndpoints.list", [{"status": "disabled"}]),
            ("update_private", "webhookEndpoints.update", [everything_id, {"url": "ftp://x/"}]),
            ("del", "webhookEndpoints.del", [everything_id]),
            ("retrieve_deleted", "webhookEndpoints.retrieve", [everything_id]),
        ],
        livemode=livemode,
    )
    plain = {k: v for k, v in orders.items() if k != "secret"}
    assert ok(out, "retrieve") == plain
    updated = ok(out, "update")
    assert updated["status"] == "disabled" and updated["metadata"] == {"v": "2"}
    assert "secret" not in updated
    wire = out["results"]["update"]["wire"]
    assert wire["method"] == "PUT"
    assert wire["path"] == f"/api/webhook-endpoints/{orders_id}?livemode={str(livemode).lower()}"
    listed = ok(out, "list")
    assert listed["count"] == 2 and ids(listed) == [everything_id, orders_id]
    assert all("secret" not in e for e in listed["list"])
    sized = ok(out, "list_size")
    assert ids(sized) == [everything_id] and sized["paging"] == {"page": 1, "pageSize": 1}
    assert out["results"]["list_size"]["wire"]["path"] == (
        f"/api/webhook-endpoints?size=1&livemode={str(livemode).lower()}"
    )
    assert ids(ok(out, "list_page2")) == [orders_id]
    assert ids(ok(out, "list_disabled")) == [orders_id]
    assert failed(out, "update_private", 400, "invalid_request")["param"] == "url"
    deleted = ok(out, "del")
    assert deleted["id"] == everything_id and set(deleted) == WEBHOOK_KEYS
    assert out["results"]["del"]["wire"]["method"] == "DELETE"
    failed(out, "retrieve_deleted", 404, "resource_missing")

    # The other mode sees none of it.
    other = run_client(
        node,
        payment_js,
        env,
        [
            ("list", "webhookEndpoints.list", [{}]),
            ("retrieve", "webhookEndpoints.retrieve", [orders_id]),
        ],
        livemode=not livemode,
    )
    assert ok(other, "list")["count"] == 0
    failed(other, "retrieve", 404, "resource_missing")


def test_private_webhook_urls_are_refused_without_the_setting(
    world: dict[str, Any], node: str, payment_js: Path, app_seed: bytes
) -> None:
    server: Paymentkit = world["server"]
    urls = [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://[::1]:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
    ]
    out = run_client(
        node,
        payment_js,
        client_env(server.port, sk32(app_seed)),
        [(url, "webhookEndpoints.create", [{"url": url, "enabled_events": ["*"]}]) for url in urls]
        + [("list", "webhookEndpoints.list", [{}])],
        livemode=False,
    )
    for url in urls:
        assert failed(out, url, 400, "invalid_request")["param"] == "url"
    assert ok(out, "list")["count"] == 0
