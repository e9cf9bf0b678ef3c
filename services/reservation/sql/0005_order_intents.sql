-- Intent states, committed before an operation's ledger calls so that a failed call is resumed,
-- never forgotten: 6 confirming (holds being posted), 7 cancelling (units being given back;
-- cancelled_from is the state it left).
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state BETWEEN 0 AND 7);
ALTER TABLE orders ADD COLUMN cancelled_from smallint;

-- Units of a counted line that were counted against the customer's limit (0 when the item had
-- none then): what a release gives back to customer_usage, at most.
ALTER TABLE order_lines ADD COLUMN counted_usage bigint NOT NULL DEFAULT 0;
