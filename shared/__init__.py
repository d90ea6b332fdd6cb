"""The processing core: members, program rules, ledger, purchases, outbox, due jobs."""
