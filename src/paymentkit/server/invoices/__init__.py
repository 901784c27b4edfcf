"""Invoices, their state machine and exact money."""
