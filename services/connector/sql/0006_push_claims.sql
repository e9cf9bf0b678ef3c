-- Pushers claim due pushes for a while (a lease), call the platform with no transaction open,
-- then record the result under the claim. A pusher that dies leaves the claim to lapse.
-- revision counts the changes of a row's value (a newer value from the feed, a forced push): a
-- push is done only if the value it set is still the row's (claimed_revision).
ALTER TABLE pushes
  ADD COLUMN revision bigint NOT NULL DEFAULT 0,
  ADD COLUMN claim text,
  ADD COLUMN claimed_until timestamptz,
  ADD COLUMN claimed_revision bigint;

-- push_refresh: each request is a row of its own (no upsert on a hot (channel, item) row, which
-- every order of a best-seller would wait on); the follower removes the rows it read, so that a
-- request made while it works stays for its next pass.
ALTER TABLE push_refresh DROP CONSTRAINT push_refresh_pkey;
ALTER TABLE push_refresh ADD COLUMN request_id bigserial PRIMARY KEY;

-- A drift incident being resolved by moving kura's stock (trust the platform): the intent,
-- committed before the ledger is called, so that another resolution waits for it to finish.
ALTER TABLE drift_incidents ADD COLUMN resolving text NOT NULL DEFAULT '';
