"""Webhook delivery: the worker that sends each committed event's pending deliveries (worker.py,
repository.py), signed (signing.py), over a guarded HTTP client (sender.py), on the retry schedule
(schedule.py). ARCHITECTURE.md, "Events and delivery", draws the whole path."""
