-- Orders a platform accepted that the stock or an item's limits could not cover (state 11,
-- shown as UNFULFILLABLE): kept with the refusal instead of lost, nothing held for them.
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state BETWEEN 0 AND 11);
ALTER TABLE orders ADD COLUMN unfulfillable_reason text NOT NULL DEFAULT '',
  ADD COLUMN unfulfillable_detail text NOT NULL DEFAULT '',
  ADD COLUMN short_sku text NOT NULL DEFAULT '';
-- The operators' list of them, newest first.
CREATE INDEX orders_unfulfillable ON orders (order_id) WHERE state = 11;
