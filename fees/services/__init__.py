"""Every write of the fees app. Each service takes `acting_user`, runs in one transaction and
writes the change, its history, its ledger postings and its outbox events together."""
