-- Allocation passes take turns through a lease row instead of a session advisory lock, so that
-- no connection is held across the pass's ledger calls (docs/decisions/005).
CREATE TABLE allocation_pass (
  id integer PRIMARY KEY CHECK (id = 1),
  holder text NOT NULL,
  until timestamptz NOT NULL
);
