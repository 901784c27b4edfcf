"""Payment methods: where money comes from (Stripe, chain wallets), with encrypted settings."""
