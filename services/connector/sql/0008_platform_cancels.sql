-- Orders kura could not cover (UNFULFILLABLE in the reservation) that the channel cancels on
-- its platform: the intent is recorded with the delivery that found the order short, then a
-- worker claims it, calls the platform and records the result (state 0 waiting, 1 done,
-- 2 given up; attempts count failures).
ALTER TABLE connections ADD COLUMN cancel_unfulfillable boolean NOT NULL DEFAULT false;
CREATE TABLE platform_cancels (
  channel text NOT NULL,
  order_id text NOT NULL,
  reason text NOT NULL,
  skus text[] NOT NULL,  -- the order's items, pushed afresh once it is cancelled there
  state smallint NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),
  attempts integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  done_at timestamptz,
  claim text,
  claimed_until timestamptz,
  PRIMARY KEY (channel, order_id)
);
CREATE INDEX platform_cancels_due ON platform_cancels (next_attempt_at) WHERE state = 0;
