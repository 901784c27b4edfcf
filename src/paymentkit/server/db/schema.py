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
    sqlite_where=_live,
    postgresql_where=_live,
)
Index(
    "ix_customers_updated",
    customers.c.livemode,
    customers.c.updated_at,
    customers.c.seq,
    sqlite_where=_live,
    postgresql_where=_live,
)
Index(
    "ix_customers_email",
    customers.c.livemode,
    customers.c.email_lower,
    sqlite_where=_live,
    postgresql_where=_live,
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
)

# One row per metadata key, with the value as the text a `metadata.KEY=VALUE` filter compares against;
# kept in step with `customers.metadata` by the same transaction.
customer_metadata = Table(
    "customer_metadata",
    metadata,
    Column("customer_seq", Seq, ForeignKey("customers.seq", ondelete="CASCADE"), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("value", String(500), nullable=False),
)
Index("ix_customer_metadata_lookup", customer_metadata.c.key, customer_metadata.c.value)

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
Index("ix_payment_methods_list", payment_methods.c.livemode, payment_methods.c.created_at)

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
Index("ix_payment_currencies_list", payment_currencies.c.livemode, payment_currencies.c.created_at)

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
Index("ix_subscriptions_list", subscriptions.c.livemode, subscriptions.c.created_at)

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
Index("ix_invoices_list", invoices.c.livemode, invoices.c.created_at)

# -- idempotency (migration 0004) -------------------------------------------------------------

# One row per Idempotency-Key and mode: the request's fingerprint and, once answered, the stored
# answer. A 'running' row whose request never completed (crash) is taken over after a while.
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
)
Index("ix_idempotency_keys_created", idempotency_keys.c.created_at)

# Made by migration 0005 outside this metadata because they are dialect-specific: the FTS5
# trigram table for customer search (and the shadow tables FTS5 keeps) on SQLite, the pg_trgm GIN
# index on PostgreSQL (only where the extension could be installed).
SEARCH_TABLES_SQLITE = (
    "customers_search",
    "customers_search_config",
    "customers_search_data",
    "customers_search_docsize",
    "customers_search_idx",
)
SEARCH_INDEX_POSTGRESQL = "ix_customers_search_trgm"
