-- Orders placed through kura-reservation, what each line holds where, and the hand-overs.
-- state: 0 placing (its ledger holds are being created), 1 pending, 2 confirmed, 3 fulfilled,
-- 4 cancelled, 5 expired (the OrderState numbers; 0 is internal).
CREATE TABLE orders (
  order_id bigserial PRIMARY KEY,
  channel text NOT NULL,
  external_order_id text NOT NULL,
  customer text NOT NULL,
  pickup_store text NOT NULL,
  state smallint NOT NULL CHECK (state BETWEEN 0 AND 5),
  request bytea NOT NULL,  -- the PlaceOrder request, to recognise a repeat
  expires_at timestamptz NOT NULL,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  UNIQUE (channel, external_order_id)
);
CREATE INDEX orders_due ON orders (expires_at) WHERE state IN (0, 1);
CREATE INDEX orders_customer ON orders (customer, order_id);

CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders ON DELETE CASCADE,
  line_no integer NOT NULL,
  sku text NOT NULL,
  quantity bigint NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, line_no)
);

-- Units of a line sourced from one location, reserved by one ledger hold.
CREATE TABLE allocations (
  order_id bigint NOT NULL REFERENCES orders ON DELETE CASCADE,
  position integer NOT NULL,
  sku text NOT NULL,
  location text NOT NULL,
  quantity bigint NOT NULL CHECK (quantity > 0),
  fulfilled bigint NOT NULL DEFAULT 0 CHECK (fulfilled BETWEEN 0 AND quantity),
  hold_id text NOT NULL UNIQUE,
  PRIMARY KEY (order_id, position)
);

-- FulfilOrder requests already applied, with their answers.
CREATE TABLE fulfilments (
  request_id text PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders,
  request bytea NOT NULL,
  response bytea NOT NULL
);
