"""Idempotency-Key: a write sent again with the same key is answered once (API.md, Conventions)."""
