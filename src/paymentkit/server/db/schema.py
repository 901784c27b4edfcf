"""The schema the code expects, as SQLAlchemy Core tables.

Only the migrations (Alembic) and the schema test use these objects; the request path runs plain SQL
through `paymentkit.server.db.engine`. Money columns are NUMERIC(78,0) on PostgreSQL and TEXT holding a
decimal integer on SQLite, whose own integers stop at 2^63.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Money = Numeric(78, 0).with_variant(Text(), "sqlite")
Seq = BigInteger().with_variant(Integer(), "sqlite")

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("livemode", Boolean(), nullable=False),
    Column("name", String(256), nullable=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("secret_hint", String(32), nullable=False),
    Column("created_at", BigInteger(), nullable=False),
    Column("revoked_at", BigInteger(), nullable=True),
)

customers = Table(
    "customers",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("did", String(128), nullable=True),
    Column("name", String(256), nullable=True),
    Column("email", String(512), nullable=True),
    Column("email_lower", String(512), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("address", Text(), nullable=True),
    Column("description", Text(), nullable=True),
    Column("balance", Money, nullable=False, server_default=text("'0'")),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("search_text", Text(), nullable=False),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
    Column("deleted_at", BigInteger(), nullable=True),
    # Bumped by every write to one of the customer's invoices, in the same transaction: the key
    # under which a rendered overdue summary may be reused (customers/overdue.py).
    Column("invoices_version", BigInteger(), nullable=False, server_default=text("0")),
    # True exactly while one of the customer's invoices is uncollectible; set by every invoice
    # write in its transaction, with invoices_version (repository.invoices_changed), so the
    # list's `delinquent` filter reads an index of these customers (migration 0010).
    Column("delinquent", Boolean(), nullable=False, server_default=false()),
)

_live = text("deleted_at IS NULL")
# The DID is unique per mode among customers that are not deleted; a deleted customer frees its DID.
Index(
    "uq_customers_livemode_did",
    customers.c.livemode,
    customers.c.did,
    unique=True,
    sqlite_where=_live,
    postgresql_where=_live,
)
Index(
    "ix_customers_created",
    customers.c.livemode,
    customers.c.created_at,
    customers.c.seq,
    customers.c.deleted_at,  # always NULL here: it lets SQLite skip rows index-only
    sqlite_where=_live,
    postgresql_where=_live,
)
Index(
    "ix_customers_updated",
    customers.c.livemode,
    customers.c.updated_at,
    customers.c.seq,
    customers.c.deleted_at,  # always NULL here: it lets SQLite skip rows index-only
    sqlite_where=_live,
    postgresql_where=_live,
)
# The live delinquent customers in each order of the list (name and email: CUSTOMER_INDEXES):
# `delinquent=true` is one range of these, whatever the order (migration 0010).
_late = text("deleted_at IS NULL AND delinquent")
Index(
    "ix_customers_late_created",
    customers.c.livemode,
    customers.c.created_at,
    customers.c.seq,
    customers.c.deleted_at,
    sqlite_where=_late,
    postgresql_where=_late,
)
Index(
    "ix_customers_late_updated",
    customers.c.livemode,
    customers.c.updated_at,
    customers.c.seq,
    customers.c.deleted_at,
    sqlite_where=_late,
    postgresql_where=_late,
)
# The number of live customers per mode, kept by the write path in the same transaction so an
# unfiltered list answers `count` without scanning (count(*) of 100k rows cost 3.6 ms on SQLite).
# Writers add to one of COUNTER_SHARDS rows at random, so concurrent creates on PostgreSQL do not
# all queue on a single row lock; readers sum the shards.
COUNTER_SHARDS = 8
customer_counts = Table(
    "customer_counts",
    metadata,
    Column("livemode", Boolean(), primary_key=True),
    Column("shard", Integer(), primary_key=True, autoincrement=False),
    Column("n", BigInteger(), nullable=False),
    # Of those, the delinquent ones: changed when an invoice write flips a customer's flag
    # (migration 0010), so `delinquent=true|false` has an exact count at any size.
    Column("n_delinquent", BigInteger(), nullable=False, server_default=text("0")),
)

# One row per metadata key of a live customer, with the value as the text a `metadata.KEY=VALUE`
# filter compares against; kept in step with `customers.metadata` by the same transaction and
# removed when the customer is deleted. `livemode` and `created_at` are the customer's (both never
# change), so a filter in the default order is one range of ix_customer_metadata_filter.
customer_metadata = Table(
    "customer_metadata",
    metadata,
    Column("customer_seq", Seq, ForeignKey("customers.seq", ondelete="CASCADE"), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("value", String(500), nullable=False),
    Column("livemode", Boolean(), nullable=False),
    Column("created_at", BigInteger(), nullable=False),
    # The customer's `delinquent`, copied when it changes (migration 0010): a metadata filter
    # with `delinquent` is one range of ix_customer_metadata_late, or of the filter index.
    Column("delinquent", Boolean(), nullable=False, server_default=false()),
)
Index(
    "ix_customer_metadata_late",
    customer_metadata.c.livemode,
    customer_metadata.c.key,
    customer_metadata.c.value,
    customer_metadata.c.created_at,
    customer_metadata.c.customer_seq,
    sqlite_where=text("delinquent"),
    postgresql_where=text("delinquent"),
)
Index(
    "ix_customer_metadata_filter",
    customer_metadata.c.livemode,
    customer_metadata.c.key,
    customer_metadata.c.value,
    customer_metadata.c.created_at,
    customer_metadata.c.customer_seq,
)

# Live customers per (mode, metadata key, value), kept by the write path in the same transaction
# and sharded like customer_counts: a single `metadata.KEY=VALUE` filter answers an exact count
# at any size (counting 10,001 index entries cost 3-8 ms on PostgreSQL at 1M customers).
customer_metadata_counts = Table(
    "customer_metadata_counts",
    metadata,
    Column("livemode", Boolean(), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("value", String(500), primary_key=True),
    Column("shard", Integer(), primary_key=True, autoincrement=False),
    Column("n", BigInteger(), nullable=False),
)

# How common each trigram of the live customers' search_text is, per mode, estimated from a
# sample (customers/search_stats.py, migration 0011): a search reads the posting lists of its
# rarest trigrams only and checks each candidate against the whole term, instead of every
# trigram's (an exact email's 25 trigrams include `com` and `exa`, held by most customers). The
# row with the empty trigram holds the live customers counted when the sample was taken; a
# trigram missing from the table was too rare to be seen in the sample. Only speed depends on
# these numbers: every match is checked against the term, so stale figures cannot change an
# answer.
search_trigrams = Table(
    "search_trigrams",
    metadata,
    Column("livemode", Boolean(), primary_key=True),
    Column("trigram", String(16), primary_key=True),
    Column("docs", BigInteger(), nullable=False),
)

# How many live customers of each mode hold each word of their search_text (runs of letters,
# customers/rules.search_words), exact, kept by every customer write in its own transaction and
# sharded like customer_counts (migration 0012): a word held by more than 10,000 proves that
# a search for any beginning of it has more than 10,000 matches, which cost 9-20 ms to count.
search_word_counts = Table(
    "search_word_counts",
    metadata,
    Column("livemode", Boolean(), primary_key=True),
    Column("word", Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True),
    Column("shard", Integer(), primary_key=True, autoincrement=False),
    Column("n", BigInteger(), nullable=False),
)

# The words the last sample (customers/search_stats.py) found held by 5,000 or more of the mode's
# live customers (migration 0012): the candidates a search for the middle of a word checks the
# exact counts of (a term inside a word held by more than 10,000 has more than 10,000 matches).
search_common_words = Table(
    "search_common_words",
    metadata,
    Column("livemode", Boolean(), primary_key=True),
    Column("word", Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True),
)

# -- billing objects (migration 0002) ---------------------------------------------------------

payment_methods = Table(
    "payment_methods",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("type", String(16), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text(), nullable=True),
    Column("active", Boolean(), nullable=False),
    # Fernet token of the JSON settings object; the key comes from PAYMENTKIT_SECRET_KEY.
    Column("settings_encrypted", Text(), nullable=True),
    Column("settings_keys", Text(), nullable=False, server_default=text("'[]'")),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
Index(
    "ix_payment_methods_list",
    payment_methods.c.livemode,
    payment_methods.c.created_at,
    payment_methods.c.seq,
)

payment_currencies = Table(
    "payment_currencies",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("payment_method_id", String(32), ForeignKey("payment_methods.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("decimal", Integer(), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
Index(
    "ix_payment_currencies_list",
    payment_currencies.c.livemode,
    payment_currencies.c.created_at,
    payment_currencies.c.seq,
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("customer_id", String(32), ForeignKey("customers.id"), nullable=False),
    Column("currency_id", String(32), ForeignKey("payment_currencies.id"), nullable=False),
    Column("status", String(24), nullable=False),
    Column("canceled_at", BigInteger(), nullable=True),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
Index("ix_subscriptions_customer", subscriptions.c.customer_id, subscriptions.c.status)
# A customer's subscriptions in list order (`?customer_id=`, the dashboard's customer page).
Index(
    "ix_subscriptions_customer_list",
    subscriptions.c.livemode,
    subscriptions.c.customer_id,
    subscriptions.c.created_at,
    subscriptions.c.seq,
)
Index(
    "ix_subscriptions_list",
    subscriptions.c.livemode,
    subscriptions.c.created_at,
    subscriptions.c.seq,
)

invoices = Table(
    "invoices",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("customer_id", String(32), ForeignKey("customers.id"), nullable=False),
    Column("currency_id", String(32), ForeignKey("payment_currencies.id"), nullable=False),
    Column("subscription_id", String(32), ForeignKey("subscriptions.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("amount_due", Money, nullable=False),
    Column("amount_paid", Money, nullable=False),
    Column("amount_remaining", Money, nullable=False),
    Column("due_date", BigInteger(), nullable=True),
    Column("period_start", BigInteger(), nullable=True),
    Column("period_end", BigInteger(), nullable=True),
    Column("description", Text(), nullable=True),
    Column("finalized_at", BigInteger(), nullable=True),
    Column("marked_uncollectible_at", BigInteger(), nullable=True),
    Column("paid_at", BigInteger(), nullable=True),
    Column("voided_at", BigInteger(), nullable=True),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
# Overdue lookups and `delinquent` read a customer's invoices by status, oldest first.
Index(
    "ix_invoices_customer_status",
    invoices.c.customer_id,
    invoices.c.status,
    invoices.c.created_at,
    invoices.c.seq,
)
Index("ix_invoices_list", invoices.c.livemode, invoices.c.created_at, invoices.c.seq)
# A customer's invoices in list order (`?customer_id=`, the dashboard's customer page): without
# it SQLite walked the mode's whole list index testing customer_id (migration 0010).
Index(
    "ix_invoices_customer_list",
    invoices.c.livemode,
    invoices.c.customer_id,
    invoices.c.created_at,
    invoices.c.seq,
)

# -- idempotency (migration 0004) -------------------------------------------------------------

# One row per Idempotency-Key and mode: the request's fingerprint and, once answered, the stored
# answer. A 'running' row names its claim (`owner`: the process's instance id and a token of the
# claim, migration 0007) and a lease (`lease_until`, ms) that the owner renews while the request
# runs: once the lease has lapsed the owner is dead and the next request takes the claim over.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("livemode", Boolean(), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("status", Integer(), nullable=True),
    Column("response", Text(), nullable=True),
    Column("created_at", BigInteger(), nullable=False),
    Column("owner", String(64), nullable=True),
    Column("lease_until", BigInteger(), nullable=True),
)
Index("ix_idempotency_keys_created", idempotency_keys.c.created_at)

# -- component signatures already spent (migration 0007) --------------------------------------

# The SHA-256 of each component signature a write has accepted, kept until it can no longer
# verify (`expires_at`, unix seconds: its exp plus the clock skew allowed), so that no worker
# accepts it for a second write. Inserted in the write's own transaction.
component_signatures = Table(
    "component_signatures",
    metadata,
    Column("signature_hash", String(64), primary_key=True),
    Column("expires_at", BigInteger(), nullable=False),
)
Index("ix_component_signatures_expires_at", component_signatures.c.expires_at)

# -- events and webhooks (migration 0008) -----------------------------------------------------

# The transactional outbox: one row per change, inserted by the change's own transaction
# (server/events/outbox.py). `data` is the JSON of {"object": ..., "previous_attributes": ...};
# `pending_webhooks` counts the deliveries of it still running. Kept `event_retention_days`.
events = Table(
    "events",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("type", String(64), nullable=False),
    Column("api_version", String(32), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(32), nullable=False),
    Column("data", Text(), nullable=False),
    Column("request_id", String(32), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("requested_by", String(32), nullable=True),
    Column("pending_webhooks", Integer(), nullable=False, server_default=text("0")),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
Index("ix_events_list", events.c.livemode, events.c.created_at, events.c.seq)
Index("ix_events_type", events.c.livemode, events.c.type, events.c.created_at, events.c.seq)
Index("ix_events_object", events.c.livemode, events.c.object_id, events.c.created_at, events.c.seq)
Index("ix_events_created_at", events.c.created_at)  # pruning, across modes

# Webhook endpoints. The signing secret is stored encrypted (Fernet, as payment-method settings);
# after a rotation the previous secret keeps signing until `previous_secret_expires_at` (ms).
# `failing_since` is when the current unbroken run of failed attempts began (NULL after a success).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column("url", Text(), nullable=False),
    Column("description", Text(), nullable=True),
    Column("enabled_events", Text(), nullable=False),
    Column("metadata", Text(), nullable=False, server_default=text("'{}'")),
    Column("status", String(16), nullable=False),
    Column("api_version", String(32), nullable=False),
    Column("created_via", String(16), nullable=False),
    Column("secret_encrypted", Text(), nullable=False),
    Column("previous_secret_encrypted", Text(), nullable=True),
    Column("previous_secret_expires_at", BigInteger(), nullable=True),
    Column("failing_since", BigInteger(), nullable=True),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
Index(
    "ix_webhook_endpoints_list",
    webhook_endpoints.c.livemode,
    webhook_endpoints.c.created_at,
    webhook_endpoints.c.seq,
)

# One row per (event, endpoint) to deliver, made with the event (or by a resend). `status`:
# pending, succeeded, failed (gave up). A worker claims a pending row by writing its `lease_owner`
# and `lease_until` (ms), sends outside any transaction and records the result only while the lease
# is still its own; a worker killed mid-send leaves a lease that lapses, and the row is sent again
# with the same webhook-id. Per endpoint, an object's rows go out in `seq` order: a row waits while
# an earlier pending row of the same (endpoint, object) exists.
_pending = text("status = 'pending'")
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("event_seq", Seq, ForeignKey("events.seq", ondelete="CASCADE"), nullable=False),
    Column(
        "endpoint_seq",
        Seq,
        ForeignKey("webhook_endpoints.seq", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("object_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default=text("0")),
    Column("next_attempt_at", BigInteger(), nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger(), nullable=True),
    Column("created_at", BigInteger(), nullable=False),
    Column("updated_at", BigInteger(), nullable=False),
)
Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.next_attempt_at,
    webhook_deliveries.c.seq,
    sqlite_where=_pending,
    postgresql_where=_pending,
)
Index(
    "ix_webhook_deliveries_queue",
    webhook_deliveries.c.endpoint_seq,
    webhook_deliveries.c.object_id,
    webhook_deliveries.c.seq,
    sqlite_where=_pending,
    postgresql_where=_pending,
)
Index("ix_webhook_deliveries_event", webhook_deliveries.c.event_seq)

# Every attempt of a delivery, as GET /api/webhook-endpoints/{id}/attempts shows it.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("livemode", Boolean(), nullable=False),
    Column(
        "delivery_seq",
        Seq,
        ForeignKey("webhook_deliveries.seq", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("endpoint_seq", Seq, nullable=False),
    Column("event_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("response_status", Integer(), nullable=True),
    Column("response_body", Text(), nullable=True),
    Column("duration_ms", Integer(), nullable=False),
    Column("error", Text(), nullable=True),
    Column("retry_count", Integer(), nullable=False),
    Column("created_at", BigInteger(), nullable=False),
)
Index(
    "ix_webhook_attempts_endpoint",
    webhook_attempts.c.endpoint_seq,
    webhook_attempts.c.created_at,
    webhook_attempts.c.seq,
)
Index("ix_webhook_attempts_delivery", webhook_attempts.c.delivery_seq)

# Named leases between processes (the SQLite delivery lease: one delivering process at a time).
worker_leases = Table(
    "worker_leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("lease_until", BigInteger(), nullable=False),
)

# -- dashboard (migration 0009) ----------------------------------------------------------------

# Signed-in dashboard sessions (server/dashboard/sessions.py). The browser's cookie holds a random
# token; only its SHA-256 is kept here, with the API key it was opened with (never the key itself),
# the key's mode and the session's CSRF token. A session ends after 30 minutes without a request,
# 12 hours after sign-in, at sign-out, or when its key is revoked.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(32), ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("livemode", Boolean(), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", BigInteger(), nullable=False),
    Column("last_seen_at", BigInteger(), nullable=False),
)
Index("ix_dashboard_sessions_key_id", dashboard_sessions.c.key_id)
Index("ix_dashboard_sessions_last_seen_at", dashboard_sessions.c.last_seen_at)

# Made by migrations outside this metadata because they are dialect-specific (ARCHITECTURE.md,
# "Storage decisions"): on SQLite one FTS5 trigram table per mode holding the live customers'
# search_text (with the shadow tables FTS5 keeps); on PostgreSQL the pg_trgm GIN index (only where
# the extension could be installed). Both: the name and email order indexes (COLLATE "C" on
# PostgreSQL, so text sorts by code point on either database) and the id/DID prefix indexes.
SEARCH_TABLES_SQLITE = tuple(
    f"customers_search_{mode}{part}"
    for mode in ("test", "live")
    for part in ("", "_config", "_data", "_docsize", "_idx", "_vocab")
)
SEARCH_INDEX_POSTGRESQL = "ix_customers_search_trgm"
CUSTOMER_INDEXES = {
    # name: (what follows "ON customers" on SQLite, the same on PostgreSQL); all partial on live rows
    # SQLite reads a row to test `deleted_at IS NULL` unless the index holds the column (always
    # NULL in these partial indexes): with it, skipping rows (OFFSET, counts) stays index-only.
    "ix_customers_name": (
        "(livemode, name, seq, deleted_at)",
        '(livemode, name COLLATE "C", seq)',
    ),
    "ix_customers_email": (
        "(livemode, email_lower, seq, deleted_at)",
        '(livemode, email_lower COLLATE "C", seq)',
    ),
    # the delinquent ones only (`deleted_at IS NULL AND delinquent`, migration 0010)
    "ix_customers_late_name": (
        "(livemode, name, seq, deleted_at)",
        '(livemode, name COLLATE "C", seq)',
    ),
    "ix_customers_late_email": (
        "(livemode, email_lower, seq, deleted_at)",
        '(livemode, email_lower COLLATE "C", seq)',
    ),
    "ix_customers_id_prefix": (
        "(livemode, lower(id))",
        '(livemode, lower(id) COLLATE "C")',
    ),
    "ix_customers_did_prefix": (
        "(livemode, lower(did))",
        '(livemode, lower(did) COLLATE "C")',
    ),
}
