"""Payment currencies: what amounts are counted in, each tied to a payment method."""
