-- A register transaction is recorded before the ledger is called (applied = false: the intent,
-- with the ledger request it makes), then marked applied. No transaction is open across the
-- call; a repeat of the transaction, or the register's retry after a crash, resumes the call
-- (idempotent on the same request id). A refusal removes the intent.
ALTER TABLE transactions
  ADD COLUMN applied boolean NOT NULL DEFAULT true,
  ADD COLUMN ledger_request bytea;
