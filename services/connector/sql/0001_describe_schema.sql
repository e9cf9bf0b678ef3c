COMMENT ON SCHEMA connector IS 'kura-connector: webhook inbox, mappings, availability push, reconciliation';
