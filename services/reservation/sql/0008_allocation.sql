-- Channel caps and safety stock per item (sku) or product group at a location.
-- kind: 1 quota, 2 ratio in basis points, 3 safety stock (channel ''). A schedule is weekdays
-- (bit d-1 for ISO weekday d; 0 every day) and local minutes [start_minute, end_minute) of the
-- location's time zone (an end before the start spans midnight); scheduled false: always.
CREATE TABLE allocation_rules (
  rule_id bigserial PRIMARY KEY,
  sku text NOT NULL,
  product_group text NOT NULL,
  location text NOT NULL,
  channel text NOT NULL,
  kind smallint NOT NULL CHECK (kind IN (1, 2, 3)),
  value bigint NOT NULL,
  scheduled boolean NOT NULL,
  weekdays smallint NOT NULL,
  start_minute integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
  end_minute integer NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
  update_time timestamptz NOT NULL,
  CHECK ((sku = '') <> (product_group = '')),
  CHECK ((kind = 3) = (channel = ''))
);

-- What the applier wrote to the ledger per (sku, location, channel; '' for safety stock):
-- value is "quota N", "ratio N", "safety N" or "none"; pending is a write started and not yet
-- confirmed (made again, as a new version, on the next pass); version numbers the writes, to
-- give each its own ledger request id.
CREATE TABLE applied_allocations (
  sku text NOT NULL,
  location text NOT NULL,
  channel text NOT NULL,
  value text NOT NULL,
  pending text,
  version integer NOT NULL,
  PRIMARY KEY (sku, location, channel)
);
