-- Limited items: a sale window, a total cap, a per-customer limit and a markdown schedule.
-- reserved counts the units of orders that are neither cancelled nor expired (handed-over
-- units stay counted); customer_usage counts the same per customer.
CREATE TABLE limited_items (
  sku text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL CHECK (window_end > window_start),
  total_cap bigint NOT NULL CHECK (total_cap >= 0),
  per_customer_limit bigint NOT NULL CHECK (per_customer_limit >= 0),
  markdowns bytea NOT NULL,  -- the PriceStep list, serialized as a LimitedItem
  reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);

CREATE TABLE customer_usage (
  sku text NOT NULL REFERENCES limited_items,
  customer text NOT NULL,
  quantity bigint NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (sku, customer)
);

-- Whether a line was counted against its item's limits when the order was placed, so that
-- only counted lines are given back when the order ends.
ALTER TABLE order_lines ADD COLUMN counted boolean NOT NULL DEFAULT false;
