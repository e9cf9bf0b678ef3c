-- Register sales and returns counted against limited items' caps, once per store transaction.
CREATE TABLE store_sale_counts (
  request_id text PRIMARY KEY,
  counted_at timestamptz NOT NULL
);
