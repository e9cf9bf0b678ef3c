-- A store's pickup orders by state, newest first (ListOrders with pickup_store, as the registers
-- list them), without reading the store's whole order history.
CREATE INDEX orders_pickup ON orders (pickup_store, state, order_id) WHERE pickup_store <> '';
