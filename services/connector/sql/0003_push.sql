-- How far the availability pusher has read the ledger's change feed.
CREATE TABLE feed_cursor (
  name text PRIMARY KEY,
  sequence bigint NOT NULL
);
INSERT INTO feed_cursor VALUES ('push', 0);

-- Per (channel, item): the available to promise to offer (desired, as of the feed position
-- desired_sequence and the ledger commit desired_at) and what the platform was last told.
-- A newer desired value replaces an older one (coalescing); an older never replaces a newer.
-- platform_quantity is the platform's quantity as last known (for compare-and-set).
CREATE TABLE pushes (
  channel text NOT NULL,
  sku text NOT NULL,
  desired bigint NOT NULL,
  desired_sequence bigint NOT NULL,
  desired_at timestamptz NOT NULL,
  pushed bigint,
  pushed_sequence bigint NOT NULL DEFAULT 0,
  platform_quantity bigint,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error text NOT NULL DEFAULT '',
  acknowledged_at timestamptz,
  -- After a failed compare-and-set: the platform's quantity then, the most to offer until kura's
  -- next value arrives (a sale there kura has not heard of yet).
  stale_cap bigint,
  PRIMARY KEY (channel, sku)
);
CREATE INDEX pushes_due ON pushes (next_attempt_at) WHERE pushed_sequence < desired_sequence;

-- Items to work out afresh (a mapping or connection changed), whatever the feed says.
CREATE TABLE push_refresh (
  channel text NOT NULL,
  sku text NOT NULL,
  PRIMARY KEY (channel, sku)
);
