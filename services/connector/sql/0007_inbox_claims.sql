-- Inbox workers claim a delivery and its order for a while (a lease), apply it with no
-- transaction open (reservation and ledger calls, platform reads), then record the outcome
-- under the claim. One order's deliveries are applied one at a time: a delivery is claimed only
-- while no live claim holds its order. A worker that dies leaves its claims to lapse.
ALTER TABLE inbox ADD COLUMN claim text, ADD COLUMN claimed_until timestamptz;
ALTER TABLE platform_orders ADD COLUMN claim text, ADD COLUMN claimed_until timestamptz;
