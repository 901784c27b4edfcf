"""Webhook endpoints: where events are sent (routes · service · repository · rules)."""
