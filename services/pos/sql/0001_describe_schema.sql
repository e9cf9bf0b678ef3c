COMMENT ON SCHEMA pos IS 'kura-pos-gateway: terminals, register sales and returns, offline journal replay';
