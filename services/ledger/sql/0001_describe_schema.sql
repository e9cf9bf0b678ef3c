-- The ledger's schema: catalog, locations, movements, balances, holds and the change feed.
-- Its tables arrive with the ledger issue; this first version only documents the owner.
COMMENT ON SCHEMA ledger IS 'kura-ledger: the books (catalog, movements, balances, holds, change feed)';
