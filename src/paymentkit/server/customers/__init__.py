"""Customers: routes (HTTP) · service (rules, transactions) · repository (SQL) · rules (pure)."""
