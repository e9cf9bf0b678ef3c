-- The books: catalog, accounts (balances), movements, holds, safety stock, channel caps,
-- idempotent requests and the change-feed outbox. See services/ledger/README.md.

CREATE TABLE items (
  item_id       bigserial PRIMARY KEY,
  sku           text NOT NULL UNIQUE,
  name          text NOT NULL,
  product_group text NOT NULL DEFAULT '',
  price_yen     bigint NOT NULL CHECK (price_yen >= 0),
  tax_class     smallint NOT NULL CHECK (tax_class IN (1, 2)),
  unit_cost_yen bigint NOT NULL DEFAULT 0 CHECK (unit_cost_yen >= 0),
  create_time   timestamptz NOT NULL DEFAULT now(),
  update_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_product_group ON items (product_group, sku);

-- Variant attributes (size, color, ...), compared when suggesting substitutes.
CREATE TABLE item_attributes (
  item_id bigint NOT NULL REFERENCES items,
  name    text NOT NULL,
  value   text NOT NULL,
  PRIMARY KEY (item_id, name)
);

CREATE TABLE barcodes (
  barcode text PRIMARY KEY,
  item_id bigint NOT NULL REFERENCES items
);
CREATE INDEX barcodes_item ON barcodes (item_id);

-- kind: 1 store, 2 warehouse, 3 virtual. System locations (code '@...') are the other side of
-- movements that enter or leave the books.
CREATE TABLE locations (
  location_id    serial PRIMARY KEY,
  code           text NOT NULL UNIQUE,
  name           text NOT NULL,
  kind           smallint NOT NULL CHECK (kind IN (1, 2, 3)),
  time_zone      text NOT NULL DEFAULT 'Asia/Tokyo',
  pickup_enabled boolean NOT NULL DEFAULT false,
  is_system      boolean NOT NULL DEFAULT false,
  create_time    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO locations (code, name, kind, is_system) VALUES
  ('@supplier', 'Suppliers', 3, true),
  ('@customer', 'Customers', 3, true),
  ('@shrink', 'Shrink (written off)', 3, true),
  ('@count_variance', 'Count variance', 3, true);

-- kind: 1 store register, 2 EC site.
CREATE TABLE channels (
  channel_id            serial PRIMARY KEY,
  code                  text NOT NULL UNIQUE,
  name                  text NOT NULL,
  kind                  smallint NOT NULL CHECK (kind IN (1, 2)),
  respects_safety_stock boolean NOT NULL DEFAULT true,
  create_time           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channel_locations (
  channel_id  integer NOT NULL REFERENCES channels,
  location_id integer NOT NULL REFERENCES locations,
  priority    integer NOT NULL,
  PRIMARY KEY (channel_id, location_id)
);

-- An account is (item, location, bucket); bucket 0 is the single account of a system location.
-- on_hand is the projection of the account's movements; held the sum of its pending holds.
CREATE TABLE balances (
  item_id     bigint NOT NULL REFERENCES items,
  location_id integer NOT NULL REFERENCES locations,
  bucket      smallint NOT NULL CHECK (bucket BETWEEN 0 AND 6),
  on_hand     bigint NOT NULL DEFAULT 0,
  held        bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  PRIMARY KEY (item_id, location_id, bucket)
);

CREATE TABLE movements (
  movement_id      bigserial PRIMARY KEY,
  batch_id         text NOT NULL,
  kind             smallint NOT NULL,
  item_id          bigint NOT NULL REFERENCES items,
  quantity         bigint NOT NULL CHECK (quantity > 0),
  from_location_id integer NOT NULL REFERENCES locations,
  from_bucket      smallint NOT NULL,
  to_location_id   integer NOT NULL REFERENCES locations,
  to_bucket        smallint NOT NULL,
  channel_id       integer REFERENCES channels,
  source_ref       text NOT NULL DEFAULT '',
  occurred_at      timestamptz NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  expected_at      timestamptz
);
CREATE INDEX movements_from ON movements (item_id, from_location_id, from_bucket);
CREATE INDEX movements_to ON movements (item_id, to_location_id, to_bucket);

-- state: 1 pending, 2 posted, 3 voided, 4 expired.
CREATE TABLE holds (
  hold_id         text PRIMARY KEY,
  item_id         bigint NOT NULL REFERENCES items,
  location_id     integer NOT NULL REFERENCES locations,
  channel_id      integer NOT NULL REFERENCES channels,
  quantity        bigint NOT NULL CHECK (quantity > 0),
  posted_quantity bigint NOT NULL DEFAULT 0 CHECK (posted_quantity BETWEEN 0 AND quantity),
  state           smallint NOT NULL CHECK (state BETWEEN 1 AND 4),
  expires_at      timestamptz NOT NULL,
  order_ref       text NOT NULL DEFAULT '',
  customer_ref    text NOT NULL DEFAULT '',
  create_time     timestamptz NOT NULL DEFAULT now(),
  end_time        timestamptz
);
CREATE INDEX holds_pending_due ON holds (expires_at) WHERE state = 1;
CREATE INDEX holds_pending_account ON holds (item_id, location_id) WHERE state = 1;
CREATE INDEX holds_order ON holds (order_ref);

CREATE TABLE safety_stock (
  item_id     bigint NOT NULL REFERENCES items,
  location_id integer NOT NULL REFERENCES locations,
  quantity    bigint NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (item_id, location_id)
);

-- What a channel holds and has committed of an item at a location, and its cap there.
CREATE TABLE channel_usage (
  channel_id  integer NOT NULL REFERENCES channels,
  item_id     bigint NOT NULL REFERENCES items,
  location_id integer NOT NULL REFERENCES locations,
  held        bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  committed   bigint NOT NULL DEFAULT 0 CHECK (committed >= 0),
  quota       bigint CHECK (quota >= 0),
  ratio_bp    integer CHECK (ratio_bp BETWEEN 1 AND 10000),
  CHECK (quota IS NULL OR ratio_bp IS NULL),
  PRIMARY KEY (channel_id, item_id, location_id)
);

-- Idempotency: the first request with an id stores its bytes and response in the same
-- transaction as its effect.
CREATE TABLE requests (
  request_id  text PRIMARY KEY,
  method      text NOT NULL,
  request     bytea NOT NULL,
  response    bytea,
  create_time timestamptz NOT NULL DEFAULT now()
);

-- The change feed. Sequences come from feed_head, whose row a writer locks as its last step, so
-- sequence order is commit order and a reader never sees a later event before an earlier one.
CREATE TABLE feed_head (
  id   integer PRIMARY KEY CHECK (id = 1),
  last bigint NOT NULL
);
INSERT INTO feed_head VALUES (1, 0);

CREATE TABLE events (
  sequence    bigint PRIMARY KEY,
  commit_time timestamptz NOT NULL,
  payload     bytea NOT NULL
);
