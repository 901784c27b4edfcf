"""Customers: routes (HTTP) · service (rules, transactions) · repository (SQL) · rules (pure)
· lifecycle (delete and the rules it shares with invoices and subscriptions) · overdue."""
