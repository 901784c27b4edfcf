"""Subscriptions of customers in a currency."""
