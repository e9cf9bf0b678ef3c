-- Registers (terminals) and their tokens: only a SHA-256 of a token is kept; a revoked or
-- reissued token stops working at once (every call looks it up).
CREATE TABLE terminals (
  terminal_id text PRIMARY KEY,
  location text NOT NULL,
  name text NOT NULL,
  token_sha256 text NOT NULL UNIQUE,
  issue_time timestamptz NOT NULL,
  revoke_time timestamptz
);
CREATE INDEX terminals_location ON terminals (location);

-- What a store's registers print and how they scan.
CREATE TABLE store_settings (
  location text PRIMARY KEY,
  name text NOT NULL,
  address text NOT NULL,
  phone text NOT NULL,
  invoice_number text NOT NULL,
  in_store_layout text NOT NULL,
  returns_without_receipt boolean NOT NULL
);

-- Every sale and return a register recorded, once per (terminal, transaction id), and each id
-- once per store (a return names its sale by it): the receipt
-- as answered (a repeat gets the same one), the request's digest (a different request under a
-- used id is refused), and for a return the sale it refers to. kind: 1 sale, 2 return.
CREATE TABLE transactions (
  terminal_id text NOT NULL,
  transaction_id text NOT NULL,
  location text NOT NULL,
  kind smallint NOT NULL,
  request_digest text NOT NULL,
  receipt bytea NOT NULL,
  oversold boolean NOT NULL,
  original_transaction_id text NOT NULL DEFAULT '',
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  from_journal boolean NOT NULL,
  PRIMARY KEY (terminal_id, transaction_id)
);
CREATE UNIQUE INDEX transactions_by_store ON transactions (location, transaction_id);
CREATE INDEX transactions_returns ON transactions (location, original_transaction_id)
  WHERE kind = 2;

-- Units of a sale returned so far, per item (returns may come in parts).
CREATE TABLE returned_units (
  location text NOT NULL,
  sale_transaction_id text NOT NULL,
  sku text NOT NULL,
  quantity bigint NOT NULL,
  PRIMARY KEY (location, sale_transaction_id, sku)
);

-- Sales that drove stock below zero (applied all the same: they happened), for follow-up.
CREATE TABLE oversold_incidents (
  incident_id bigserial PRIMARY KEY,
  terminal_id text NOT NULL,
  transaction_id text NOT NULL,
  location text NOT NULL,
  skus text[] NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL
);

-- Journal entries the gateway could not book as sent (malformed, an id used by another
-- transaction, more returned than sold): they happened at the register, so they are kept for an
-- operator rather than dropped.
CREATE TABLE journal_rejections (
  terminal_id text NOT NULL,
  transaction_id text NOT NULL,
  location text NOT NULL,
  entry bytea NOT NULL,
  reason text NOT NULL,
  detail text NOT NULL,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (terminal_id, transaction_id)
);
