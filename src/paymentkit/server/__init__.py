"""The paymentkit HTTP service."""
