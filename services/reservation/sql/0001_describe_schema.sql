COMMENT ON SCHEMA reservation IS 'kura-reservation: orders with expiring holds, pre-orders, limited items, allocation, pickup';
