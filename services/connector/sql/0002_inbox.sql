-- A channel's platform connection. webhook_secrets: the current secret first, then (during a
-- rotation) the previous one. notification_url: the webhook URL as registered at the platform
-- (Square signs it). api_url / api_credentials: the platform's stock API (pushes, reads).
CREATE TABLE connections (
  channel text PRIMARY KEY,
  platform text NOT NULL,
  webhook_secrets text[] NOT NULL CHECK (cardinality(webhook_secrets) BETWEEN 1 AND 2),
  notification_url text NOT NULL,
  api_url text NOT NULL,
  api_credentials text NOT NULL,
  push_location_id text NOT NULL DEFAULT '',
  update_time timestamptz NOT NULL
);

-- A platform's variant / inventory item, per channel, to a kura SKU.
CREATE TABLE item_mappings (
  channel text NOT NULL REFERENCES connections ON DELETE CASCADE,
  platform_item_id text NOT NULL,
  sku text NOT NULL,
  platform_inventory_item_id text NOT NULL,
  PRIMARY KEY (channel, platform_item_id)
);
CREATE INDEX item_mappings_sku ON item_mappings (channel, sku);

-- A platform's location, per channel, to a kura location.
CREATE TABLE location_mappings (
  channel text NOT NULL REFERENCES connections ON DELETE CASCADE,
  platform_location_id text NOT NULL,
  location text NOT NULL,
  PRIMARY KEY (channel, platform_location_id)
);

-- Verified deliveries, stored before they are answered. state: 0 to do, 1 done, 2 dead (see
-- dead_letters). Deduplicated on the platform's event id and, for deliveries about an order, on
-- (order, topic, platform time).
CREATE TABLE inbox (
  inbox_id bigserial PRIMARY KEY,
  channel text NOT NULL,
  platform text NOT NULL,
  topic text NOT NULL,
  event_id text NOT NULL,
  order_id text NOT NULL,
  platform_time timestamptz,
  headers text NOT NULL,  -- JSON object of the (lower-cased) headers
  body bytea NOT NULL,
  received_at timestamptz NOT NULL,
  state smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error text NOT NULL DEFAULT '',
  done_at timestamptz,
  UNIQUE (channel, topic, event_id)
);
CREATE UNIQUE INDEX inbox_order_delivery ON inbox (channel, order_id, topic, platform_time)
  WHERE order_id <> '' AND platform_time IS NOT NULL;
CREATE INDEX inbox_due ON inbox (next_attempt_at, inbox_id) WHERE state = 0;

-- Deliveries that cannot be applied: malformed bodies (no inbox row), unknown items, unmapped
-- locations, refusals, rows that kept failing.
CREATE TABLE dead_letters (
  dead_letter_id bigserial PRIMARY KEY,
  inbox_id bigint REFERENCES inbox,
  channel text NOT NULL,
  platform text NOT NULL,
  reason text NOT NULL,
  detail text NOT NULL,
  headers text NOT NULL,
  body bytea NOT NULL,
  created_at timestamptz NOT NULL
);

-- Per platform order: the newest platform time applied (older deliveries of an order's state are
-- stale), and whether it was cancelled (a cancel may arrive before its create).
CREATE TABLE platform_orders (
  channel text NOT NULL,
  order_id text NOT NULL,
  platform_time timestamptz,
  cancelled boolean NOT NULL DEFAULT false,
  PRIMARY KEY (channel, order_id)
);
