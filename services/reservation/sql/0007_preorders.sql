-- Items that take pre-orders against their incoming stock. preordered: units on orders that wait
-- for stock (states 9 and 10), kept by PlaceOrder, cancellation and conversion under the row lock.
CREATE TABLE preorder_items (
  sku text PRIMARY KEY,
  enabled boolean NOT NULL,
  overbook_percent integer NOT NULL CHECK (overbook_percent BETWEEN 0 AND 100),
  preordered bigint NOT NULL DEFAULT 0 CHECK (preordered >= 0),
  update_time timestamptz NOT NULL
);

-- 9 preordered: a pre-order waiting for stock, holding nothing; 10 converting: its allocations on
-- received stock are recorded and their ledger holds are being created and posted (attempt
-- numbers the try, so that every try has its own ledger request ids). Both show as PREORDERED.
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state BETWEEN 0 AND 10);
ALTER TABLE orders ADD COLUMN preorder boolean NOT NULL DEFAULT false,
  ADD COLUMN expected_at timestamptz, ADD COLUMN attempt integer NOT NULL DEFAULT 0;
CREATE INDEX orders_waiting ON orders (order_id) WHERE state IN (9, 10);
