-- Explicit substitutes of an item, in order of preference.
CREATE TABLE substitutes (
  sku text NOT NULL,
  position integer NOT NULL,
  substitute_sku text NOT NULL,
  PRIMARY KEY (sku, position),
  UNIQUE (sku, substitute_sku)
);
