"""Events: the outbox written by each change's own transaction (outbox.py), the Events API
(routes · service · repository) and the type names (types.py)."""
