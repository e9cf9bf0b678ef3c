-- Refunds read from the platform and applied (WooCommerce names every refund of an order again
-- on each later delivery; each is read and applied once).
CREATE TABLE applied_refunds (
  channel text NOT NULL,
  refund_id text NOT NULL,
  applied_at timestamptz NOT NULL,
  PRIMARY KEY (channel, refund_id)
);

-- The platform's inventory history (Square) is kura's business from the mapping on:
-- history_from is when the item was mapped, history_read_to how far its history was read.
ALTER TABLE item_mappings
  ADD COLUMN history_from timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN history_read_to timestamptz;
