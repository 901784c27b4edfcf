"""The `paymentkit` command."""
