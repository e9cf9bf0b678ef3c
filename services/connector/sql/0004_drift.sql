-- A platform's quantity that disagrees with what kura last pushed, seen on two reconciliation
-- passes in a row. While open, the item is offered as 0 on that channel. state: 0 open,
-- 1 resolved trusting kura (kura's quantity pushed), 2 resolved trusting the platform (kura's
-- stock adjusted to it).
CREATE TABLE drift_incidents (
  incident_id bigserial PRIMARY KEY,
  channel text NOT NULL,
  sku text NOT NULL,
  platform_item_id text NOT NULL,
  pushed_quantity bigint NOT NULL,
  platform_quantity bigint NOT NULL,
  kura_quantity bigint NOT NULL,
  state smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
  opened_at timestamptz NOT NULL,
  resolved_at timestamptz
);
CREATE UNIQUE INDEX drift_open ON drift_incidents (channel, sku) WHERE state = 0;

-- A mismatch seen once, waiting for the next pass to confirm it (a platform sale whose webhook
-- is still on its way looks the same for a moment).
ALTER TABLE pushes ADD COLUMN suspect_quantity bigint, ADD COLUMN suspect_at timestamptz;
