-- A sale that took units held for online orders: recorded with the items (held_skus) and, once
-- the reservation moved those orders' holds, which orders and where to (detail). Until then
-- `resourced` is false and the gateway retries the move.
ALTER TABLE oversold_incidents ADD COLUMN held_skus text[] NOT NULL DEFAULT '{}',
  ADD COLUMN detail text NOT NULL DEFAULT '',
  ADD COLUMN resourced boolean NOT NULL DEFAULT true;
CREATE INDEX oversold_incidents_to_resource ON oversold_incidents (incident_id) WHERE NOT resourced;

-- A sale or return of limited items to be counted against their caps in the reservation (done
-- after the ledger call; retried while the reservation cannot be reached).
ALTER TABLE transactions ADD COLUMN limits_pending boolean NOT NULL DEFAULT false;
CREATE INDEX transactions_limits_pending ON transactions (location, transaction_id)
  WHERE limits_pending;
