-- Intents left unapplied (a gateway that crashed after its ledger call, a register that never
-- retried), found by the gateway's periodic resume.
CREATE INDEX transactions_intents_left ON transactions (recorded_at) WHERE NOT applied;
