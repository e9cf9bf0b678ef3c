-- A pending order whose hold is being moved off a shelf that no longer has its units (state 12,
-- shown as PENDING): `moving_hold` is the hold being replaced; the new allocations carry hold
-- ids of the order's current attempt. Found by the sweeper when a move was cut off.
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state BETWEEN 0 AND 12);
ALTER TABLE orders ADD COLUMN moving_hold text, ADD COLUMN moving_request text;
CREATE INDEX orders_moving ON orders (order_id) WHERE state = 12;
-- Pending orders' allocations at a shelf, for the move.
CREATE INDEX allocations_shelf ON allocations (location, sku) WHERE fulfilled = 0;
-- The moves each ResourceHolds request made, so that a repeat (its answer lost) answers them all.
CREATE TABLE moved_holds (
  request_id text NOT NULL,
  order_id bigint NOT NULL REFERENCES orders ON DELETE CASCADE,
  sku text NOT NULL,
  quantity bigint NOT NULL,
  from_location text NOT NULL,
  to_locations text[] NOT NULL,
  PRIMARY KEY (request_id, order_id, sku, from_location)
);
