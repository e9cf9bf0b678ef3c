#pragma once

// Every SQL statement kura-ledger runs, by name (kura/pg/query.h: the name is the prepared
// statement's name and the query label of kura_db_query_seconds). The tables are in
// services/ledger/sql/; the functions that run these and read their rows are in storage/*.cc.

#include "kura/pg/query.h"

namespace kura::ledger::queries {

// ------------------------------------------------------------------ the batch writer

// Locks and reads what a batch of mutations decides against, in one statement. The locks are
// taken in the global lock order: the channels the batch names (FOR SHARE: their settings hold
// until commit; UpdateChannel takes them FOR NO KEY UPDATE), the balance rows (item, location,
// bucket order), the channel usage rows (channel, item, location order), the holds it names
// (hold id order; their accounts and usage rows are locked with the others). Rows that do not
// exist yet are not created here: the write inserts them, and a concurrent first writer makes
// the batch retry. It also resolves the batch's codes and reads the safety stocks, the locations
// serving its channels, which of the hold ids it would create are taken, the stored answers of
// its request ids, and allocates $16 movement ids.
//
// Those reads see the statement's snapshot, taken before the locks: should a lock have waited
// for another transaction that changed a row since, they may be out of date. Every change to
// what they read also updates a row locked here (a safety stock its sellable balance, a
// channel's serving locations the channel; a concurrently stored request id or taken hold id
// makes the write's counts fail), so `stale` — some locked row's version is newer than the
// snapshot's — says so, and the reads are then done again (read_batch).
//
// Every look-up is by key (LATERAL), so the plan does not depend on the tables' statistics. The
// result is the union of the row kinds (the `kind` column), each filling its own columns.
// $1 channel codes; $2 skus; $3 location codes; $4/$5/$6 accounts (sku, location code, bucket);
// $7/$8/$9 usage rows (channel code, sku, location code); $10/$11 hold ids and whether their
// committed account is wanted too; $12/$13 safety stocks (sku, location code); $14 hold ids to
// create; $15 request ids; $16 movement ids to allocate.
inline constexpr pg::Query kLockBatch{"lock_batch", R"sql(
WITH ch AS MATERIALIZED (
  SELECT channel_id, code, kind, respects_safety_stock, xmin AS row_xmin FROM channels
  WHERE code = ANY($1::text[]) ORDER BY channel_id FOR SHARE),
hp AS MATERIALIZED (
  SELECT h.hold_id, h.item_id, h.location_id, h.channel_id, r.committed
  FROM unnest($10::text[], $11::boolean[]) AS r(hold_id, committed),
  LATERAL (SELECT hold_id, item_id, location_id, channel_id FROM holds
           WHERE hold_id = r.hold_id) AS h),
bk AS (
  SELECT i.item_id, l.location_id, k.bucket
  FROM unnest($4::text[], $5::text[], $6::smallint[]) AS k(sku, code, bucket),
  LATERAL (SELECT item_id FROM items WHERE sku = k.sku) AS i,
  LATERAL (SELECT location_id FROM locations
           WHERE code = k.code AND is_system = (k.bucket = 0)) AS l
  UNION SELECT item_id, location_id, 1 FROM hp
  UNION SELECT item_id, location_id, 2 FROM hp WHERE committed),
b AS MATERIALIZED (
  SELECT x.* FROM (SELECT item_id, location_id, bucket FROM bk ORDER BY 1, 2, 3) AS k,
  LATERAL (SELECT ctid, xmin AS row_xmin, item_id, location_id, bucket, on_hand, held
           FROM balances
           WHERE item_id = k.item_id AND location_id = k.location_id AND bucket = k.bucket
           FOR UPDATE) AS x),
uk AS (
  SELECT c.channel_id, i.item_id, l.location_id
  FROM unnest($7::text[], $8::text[], $9::text[]) AS k(channel, sku, code),
  LATERAL (SELECT channel_id FROM channels WHERE code = k.channel) AS c,
  LATERAL (SELECT item_id FROM items WHERE sku = k.sku) AS i,
  LATERAL (SELECT location_id FROM locations WHERE code = k.code AND NOT is_system) AS l
  UNION SELECT channel_id, item_id, location_id FROM hp),
u AS MATERIALIZED (
  SELECT x.* FROM (SELECT channel_id, item_id, location_id FROM uk ORDER BY 1, 2, 3) AS k,
  LATERAL (SELECT ctid, channel_id, item_id, location_id, held, committed, quota, ratio_bp
           FROM channel_usage WHERE channel_id = k.channel_id AND item_id = k.item_id
           AND location_id = k.location_id FOR UPDATE) AS x),
h AS MATERIALIZED (
  SELECT x.* FROM (SELECT hold_id FROM hp ORDER BY hold_id) AS k,
  LATERAL (SELECT ctid, hold_id, item_id, location_id, channel_id, quantity, posted_quantity,
             state, expires_at, order_ref, customer_ref, create_time, end_time
           FROM holds WHERE hold_id = k.hold_id FOR UPDATE) AS x)
SELECT 'channel' AS kind, channel_id, NULL::bigint AS item_id, NULL::integer AS location_id,
  NULL::smallint AS bucket, code, kind AS channel_kind, respects_safety_stock, NULL::boolean AS
  is_system, NULL::bigint AS on_hand, NULL::bigint AS held, NULL::bigint AS committed, NULL::bigint
  AS quota, NULL::integer AS ratio_bp, NULL::text AS hold_id, NULL::bigint AS quantity,
  NULL::bigint AS posted_quantity, NULL::smallint AS state, NULL::bigint AS expires_us, NULL::text
  AS order_ref, NULL::text AS customer_ref, NULL::bigint AS create_us, NULL::bigint AS end_us,
  NULL::text AS row_ctid, NULL::text AS request_id, NULL::text AS method, NULL::text AS
  request_hex, NULL::text AS response_hex, NULL::bigint AS movement_id, NULL::boolean AS stale
FROM ch
UNION ALL SELECT 'item', NULL, item_id, NULL, NULL, sku, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL
FROM (SELECT item_id, sku FROM items WHERE sku = ANY($2::text[])
        UNION SELECT i.item_id, i.sku FROM hp,
          LATERAL (SELECT item_id, sku FROM items WHERE item_id = hp.item_id) AS i) AS i
UNION ALL SELECT 'location', NULL, NULL, location_id, NULL, code, NULL, NULL, is_system, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL
FROM (SELECT location_id, code, is_system FROM locations WHERE code = ANY($3::text[])
        UNION SELECT l.location_id, l.code, l.is_system FROM hp,
          LATERAL (SELECT location_id, code, is_system FROM locations
                   WHERE location_id = hp.location_id) AS l) AS l
UNION ALL SELECT 'hold_channel', channel_id, NULL, NULL, NULL, code, kind, respects_safety_stock,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT DISTINCT c.channel_id, c.code, c.kind, c.respects_safety_stock FROM hp,
        LATERAL (SELECT channel_id, code, kind, respects_safety_stock FROM channels
                 WHERE channel_id = hp.channel_id) AS c) AS c
UNION ALL SELECT 'balance', NULL, item_id, location_id, bucket, NULL, NULL, NULL, NULL, on_hand,
  held, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ctid::text, NULL,
  NULL, NULL, NULL, NULL, NULL
FROM b
UNION ALL SELECT 'usage', channel_id, item_id, location_id, NULL, NULL, NULL, NULL, NULL, NULL,
  held, committed, quota, ratio_bp, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  ctid::text, NULL, NULL, NULL, NULL, NULL, NULL
FROM u
UNION ALL SELECT 'hold', channel_id, item_id, location_id, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, hold_id, quantity, posted_quantity, state, (extract(epoch FROM
  expires_at) * 1000000)::bigint, order_ref, customer_ref, (extract(epoch FROM create_time) *
  1000000)::bigint, (extract(epoch FROM end_time) * 1000000)::bigint, ctid::text, NULL, NULL, NULL,
  NULL, NULL, NULL
FROM h
UNION ALL SELECT 'safety', NULL, p.item_id, p.location_id, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, s.quantity, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL
FROM (SELECT i.item_id, l.location_id FROM unnest($12::text[], $13::text[]) AS k(sku, code),
        LATERAL (SELECT item_id FROM items WHERE sku = k.sku) AS i,
        LATERAL (SELECT location_id FROM locations WHERE code = k.code AND NOT is_system) AS l) AS p,
  LATERAL (SELECT quantity FROM safety_stock
           WHERE item_id = p.item_id AND location_id = p.location_id) AS s
UNION ALL SELECT 'serves', ch.channel_id, NULL, cl.location_id, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL
FROM ch, LATERAL (SELECT location_id FROM channel_locations WHERE channel_id = ch.channel_id) AS cl
UNION ALL SELECT 'taken', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, hold_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL
FROM holds WHERE hold_id = ANY($14::text[])
UNION ALL SELECT 'request', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, request_id, method,
  encode(request, 'hex'), encode(response, 'hex'), NULL, NULL
FROM requests WHERE request_id = ANY($15::text[])
UNION ALL SELECT 'movement_id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  nextval('movements_movement_id_seq'), NULL
FROM generate_series(1, $16::integer)
UNION ALL SELECT 'stale', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  EXISTS (SELECT 1 FROM b, LATERAL (SELECT xmin FROM balances       WHERE item_id = b.item_id AND
  location_id = b.location_id AND bucket = b.bucket) AS s       WHERE s.xmin <> b.row_xmin)     OR
  EXISTS (SELECT 1 FROM ch, LATERAL (SELECT xmin FROM channels       WHERE channel_id =
  ch.channel_id) AS s WHERE s.xmin <> ch.row_xmin)
)sql"};

// The reads of lock_batch again, after its locks, when it said they were stale.
// $1/$2 safety stock places (item, location); $3 channel ids; $4 hold ids; $5 request ids;
// $6 movement ids to allocate.
inline constexpr pg::Query kReadBatch{"read_batch", R"sql(
SELECT 'safety' AS kind, k.item_id, k.location_id, s.quantity, NULL::integer AS channel_id,
  NULL::text AS hold_id, NULL::text AS request_id, NULL::text AS method,
  NULL::text AS request_hex, NULL::text AS response_hex, NULL::bigint AS movement_id
FROM unnest($1::bigint[], $2::integer[]) AS k(item_id, location_id),
LATERAL (SELECT quantity FROM safety_stock
         WHERE item_id = k.item_id AND location_id = k.location_id) AS s
UNION ALL SELECT 'serves', NULL, location_id, NULL, channel_id, NULL, NULL, NULL, NULL, NULL, NULL
  FROM channel_locations WHERE channel_id = ANY($3::integer[])
UNION ALL SELECT 'taken', NULL, NULL, NULL, NULL, hold_id, NULL, NULL, NULL, NULL, NULL
  FROM holds WHERE hold_id = ANY($4::text[])
UNION ALL SELECT 'request', NULL, NULL, NULL, NULL, NULL, request_id, method,
  encode(request, 'hex'), encode(response, 'hex'), NULL
  FROM requests WHERE request_id = ANY($5::text[])
UNION ALL SELECT 'movement_id', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  nextval('movements_movement_id_seq') FROM generate_series(1, $6::integer)
)sql"};

// Writes everything a batch decided in one statement: new and changed holds, balances and
// channel usage rows, safety stocks, movements, the new request ids with their responses, and
// the change events. Existing rows are updated where the batch locked them (by ctid: the locks
// keep them in place); new rows are inserted unless a concurrent writer created them first,
// which the counts returned show. The select list reads every write before `nt`, which locks the
// feed head: the head is locked last (only the events, new rows, are inserted after it) and held
// only until commit, so sequence order is commit order; the events are stamped with the
// database's clock read under that lock (never backwards along the feed), and watchers are
// notified. Rows are found by the ctid the lock returned or by their key, so the plan does not
// depend on the tables' statistics.
// $1 now; $2-$11 new holds (id, item, location, channel, quantity, posted, state, expires, order,
// customer: a hold may be created and ended in one batch); $12-$14 ended holds (ctid, state,
// posted); $15-$19 new balances (item, location, bucket, on hand, held); $20-$22 changed balances
// (ctid, on hand, held); $23-$29 new usage rows (channel, item, location, held, committed, quota,
// ratio); $30-$34 changed usage rows (ctid, held, committed, quota, ratio); $35-$37 safety stocks
// (item, location, quantity); $38-$50 movements (id, batch, kind, item, quantity, from, from
// bucket, to, to bucket, channel or 0, source ref, occurred, expected); $51-$54 requests (id,
// method, request hex, response hex); $55 event payloads (hex).
inline constexpr pg::Query kWriteBatch{"write_batch", R"sql(
WITH hi AS (
  INSERT INTO holds (hold_id, item_id, location_id, channel_id, quantity, posted_quantity, state,
    expires_at, order_ref, customer_ref, create_time, end_time)
  SELECT v.id, v.i, v.l, v.c, v.q, v.p, v.s, v.e, v.o, v.cu, $1::timestamptz,
    CASE WHEN v.s <> 1 THEN $1::timestamptz END
  FROM unnest($2::text[], $3::bigint[], $4::integer[], $5::integer[], $6::bigint[], $7::bigint[],
    $8::smallint[], $9::timestamptz[], $10::text[], $11::text[])
    AS v(id, i, l, c, q, p, s, e, o, cu)
  ORDER BY v.id ON CONFLICT DO NOTHING RETURNING 1),
hu AS (
  UPDATE holds t SET state = v.s, posted_quantity = v.p, end_time = $1::timestamptz
  FROM unnest($12::tid[], $13::smallint[], $14::bigint[]) AS v(c, s, p)
  WHERE t.ctid = v.c RETURNING 1),
bi AS (
  INSERT INTO balances (item_id, location_id, bucket, on_hand, held)
  SELECT * FROM unnest($15::bigint[], $16::integer[], $17::smallint[], $18::bigint[],
    $19::bigint[]) AS v(i, l, b, o, h)
  ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING RETURNING 1),
bu AS (
  UPDATE balances t SET on_hand = v.o, held = v.h
  FROM unnest($20::tid[], $21::bigint[], $22::bigint[]) AS v(c, o, h)
  WHERE t.ctid = v.c RETURNING 1),
ui AS (
  INSERT INTO channel_usage (channel_id, item_id, location_id, held, committed, quota, ratio_bp)
  SELECT * FROM unnest($23::integer[], $24::bigint[], $25::integer[], $26::bigint[],
    $27::bigint[], $28::bigint[], $29::integer[]) AS v(c, i, l, h, m, q, r)
  ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING RETURNING 1),
uu AS (
  UPDATE channel_usage t SET held = v.h, committed = v.m, quota = v.q, ratio_bp = v.r
  FROM unnest($30::tid[], $31::bigint[], $32::bigint[], $33::bigint[], $34::integer[])
    AS v(c, h, m, q, r)
  WHERE t.ctid = v.c RETURNING 1),
ss AS (
  INSERT INTO safety_stock (item_id, location_id, quantity)
  SELECT * FROM unnest($35::bigint[], $36::integer[], $37::bigint[])
  ON CONFLICT (item_id, location_id) DO UPDATE SET quantity = EXCLUDED.quantity RETURNING 1),
mi AS (
  INSERT INTO movements (movement_id, batch_id, kind, item_id, quantity, from_location_id,
    from_bucket, to_location_id, to_bucket, channel_id, source_ref, occurred_at, recorded_at,
    expected_at)
  SELECT v.id, v.batch, v.k, v.i, v.q, v.fl, v.fb, v.tl, v.tb, NULLIF(v.c, 0), v.s, v.o,
    $1::timestamptz, v.e
  FROM unnest($38::bigint[], $39::text[], $40::smallint[], $41::bigint[], $42::bigint[],
    $43::integer[], $44::smallint[], $45::integer[], $46::smallint[], $47::integer[], $48::text[],
    $49::timestamptz[], $50::timestamptz[]) AS v(id, batch, k, i, q, fl, fb, tl, tb, c, s, o, e)
  RETURNING 1),
qi AS (
  INSERT INTO requests (request_id, method, request, response)
  SELECT v.id, v.m, decode(v.q, 'hex'), decode(v.r, 'hex')
  FROM unnest($51::text[], $52::text[], $53::text[], $54::text[]) AS v(id, m, q, r)
  ORDER BY v.id ON CONFLICT DO NOTHING RETURNING 1),
head AS (
  UPDATE feed_head SET last = last + cardinality($55::text[])
  WHERE id = 1 AND cardinality($55::text[]) > 0 RETURNING last),
stamp AS (SELECT clock_timestamp() AS t FROM head),
ev AS (
  INSERT INTO events (sequence, commit_time, payload)
  SELECT head.last - cardinality($55::text[]) + e.n, stamp.t, decode(e.p, 'hex')
  FROM head, stamp, unnest($55::text[]) WITH ORDINALITY AS e(p, n)),
nt AS (SELECT pg_notify('kura_ledger_changes', last::text) FROM head)
SELECT (SELECT count(*) FROM hi) AS holds_inserted, (SELECT count(*) FROM bi) AS balances_inserted,
  (SELECT count(*) FROM ui) AS usage_inserted, (SELECT count(*) FROM qi) AS requests_inserted,
  (SELECT count(*) FROM hu) + (SELECT count(*) FROM bu) + (SELECT count(*) FROM uu)
    + (SELECT count(*) FROM ss) + (SELECT count(*) FROM mi) AS rows_written,
  (SELECT count(*) FROM nt) AS notified
)sql"};

// ------------------------------------------------------------------------- reads: holds

#define KURA_HOLD_COLUMNS                                                                       \
  "h.hold_id, h.item_id, h.location_id, h.channel_id, h.quantity, h.posted_quantity, h.state, " \
  "(extract(epoch FROM h.expires_at) * 1000000)::bigint AS expires_us, h.order_ref, "           \
  "h.customer_ref, (extract(epoch FROM h.create_time) * 1000000)::bigint AS create_us, "        \
  "(extract(epoch FROM h.end_time) * 1000000)::bigint AS end_us, i.sku, l.code AS location, "   \
  "c.code AS channel FROM holds h JOIN items i USING (item_id) "                                \
  "JOIN locations l USING (location_id) JOIN channels c USING (channel_id) "

// $1 hold id.
inline constexpr pg::Query kGetHold{"get_hold", "SELECT " KURA_HOLD_COLUMNS "WHERE h.hold_id = $1"};

// Newest first, filtered (0 / '' for no filter): $1 state, $2 sku, $3 order ref; after the page
// token's ($4 create time in µs, $5 hold id); $6 rows.
inline constexpr pg::Query kListHolds{
    "list_holds",
    "SELECT " KURA_HOLD_COLUMNS
    "WHERE ($1 = 0 OR h.state = $1) AND ($2 = '' OR i.sku = $2) "
    "AND ($3 = '' OR h.order_ref = $3) "
    "AND ((extract(epoch FROM h.create_time) * 1000000)::bigint, h.hold_id) < ($4, $5) "
    "ORDER BY h.create_time DESC, h.hold_id DESC LIMIT $6"};
#undef KURA_HOLD_COLUMNS

// Pending holds due at $1, the longest due first, at most $2.
inline constexpr pg::Query kDueHolds{"due_holds", R"sql(
SELECT hold_id FROM holds WHERE state = 1 AND expires_at <= $1 ORDER BY expires_at LIMIT $2
)sql"};

// How long the oldest due pending hold has been past expiry (0 when none is).
inline constexpr pg::Query kSweeperLag{"sweeper_lag", R"sql(
SELECT coalesce(extract(epoch FROM now() - min(expires_at)), 0)::float8 AS lag_seconds
FROM holds WHERE state = 1 AND expires_at <= now()
)sql"};

// ------------------------------------------------------------------ reads: availability

// $1 skus.
inline constexpr pg::Query kItemsBySku{"items_by_sku", R"sql(
SELECT item_id, sku FROM items WHERE sku = ANY($1::text[])
)sql"};

// $1 location codes (user locations only).
inline constexpr pg::Query kLocationsByCode{"locations_by_code", R"sql(
SELECT location_id, code FROM locations WHERE code = ANY($1::text[]) AND NOT is_system
)sql"};

// $1 channel codes, with the locations serving them.
inline constexpr pg::Query kChannelsByCode{"channels_by_code", R"sql(
SELECT c.channel_id, c.code, c.kind, c.respects_safety_stock,
  array_remove(array_agg(cl.location_id), NULL)::text AS serving
FROM channels c LEFT JOIN channel_locations cl USING (channel_id)
WHERE c.code = ANY($1::text[]) GROUP BY c.channel_id
)sql"};

// Per item of $1, the user locations that have an account of it or serve a channel of $2
// (channel codes), by code.
// (Set-based: the items' balance rows by their primary key, and the channels' locations once;
// the per-row EXISTS form it replaces took about 0.44 s a call for 1,000 items in a full resync,
// scripts/bench resync.)
inline constexpr pg::Query kLocationsOfItems{"locations_of_items", R"sql(
SELECT x.item_id, l.location_id, l.code
FROM (SELECT b.item_id, b.location_id FROM balances b WHERE b.item_id = ANY($1::bigint[])
      UNION
      SELECT i.item_id, s.location_id
      FROM unnest($1::bigint[]) AS i(item_id)
      CROSS JOIN (SELECT cl.location_id FROM channel_locations cl JOIN channels c USING (channel_id)
                  WHERE c.code = ANY($2::text[])) AS s) AS x
JOIN locations l ON l.location_id = x.location_id AND NOT l.is_system
ORDER BY x.item_id, l.code
)sql"};

// The accounts, safety stocks and channel usage rows of items $1 at locations $2 (usage of
// channels $3).
inline constexpr pg::Query kStockOf{"stock_of", R"sql(
SELECT 'balance' AS kind, item_id, location_id, bucket, on_hand, held, NULL::integer AS channel_id,
  NULL::bigint AS committed, NULL::bigint AS quota, NULL::integer AS ratio_bp
FROM balances WHERE item_id = ANY($1::bigint[]) AND location_id = ANY($2::integer[])
UNION ALL SELECT 'safety', item_id, location_id, NULL, quantity, NULL, NULL, NULL, NULL, NULL
FROM safety_stock WHERE item_id = ANY($1::bigint[]) AND location_id = ANY($2::integer[])
UNION ALL SELECT 'usage', item_id, location_id, NULL, NULL, held, channel_id, committed, quota,
  ratio_bp
FROM channel_usage WHERE item_id = ANY($1::bigint[]) AND location_id = ANY($2::integer[])
  AND channel_id = ANY($3::integer[])
)sql"};

// ---------------------------------------------------------------------- reads: incoming

// The incoming stock (bucket 5) of item $1 per location (of $2, or all when empty), by code.
inline constexpr pg::Query kIncomingBalances{"incoming_balances", R"sql(
SELECT b.location_id, l.code, b.on_hand FROM balances b JOIN locations l USING (location_id)
WHERE b.item_id = $1 AND b.bucket = 5 AND b.on_hand > 0
  AND (cardinality($2::integer[]) = 0 OR b.location_id = ANY($2::integer[]))
ORDER BY l.code
)sql"};

// The purchase orders (ORDER_INCOMING movements, kind 2, into bucket 5) of item $1 into location
// $2, latest expected first.
inline constexpr pg::Query kIncomingOrders{"incoming_orders", R"sql(
SELECT quantity, (extract(epoch FROM expected_at) * 1000000)::bigint AS expected_us, source_ref
FROM movements WHERE item_id = $1 AND to_location_id = $2 AND to_bucket = 5 AND kind = 2
ORDER BY expected_at DESC, movement_id DESC
)sql"};

// -------------------------------------------------------------------- reads: invariants

// Each returns the accounts where what is recorded differs from what is expected: item_id,
// location_id, bucket, recorded, expected.
inline constexpr pg::Query kBalanceNeMovements{"balance_ne_movements", R"sql(
WITH flows AS (
  SELECT item_id, to_location_id AS location_id, to_bucket AS bucket, quantity AS q FROM movements
  UNION ALL SELECT item_id, from_location_id, from_bucket, -quantity FROM movements),
sums AS (SELECT item_id, location_id, bucket, sum(q)::bigint AS s FROM flows GROUP BY 1, 2, 3)
SELECT item_id, location_id, bucket, coalesce(b.on_hand, 0) AS recorded,
  coalesce(s.s, 0) AS expected
FROM balances b FULL JOIN sums s USING (item_id, location_id, bucket)
WHERE coalesce(b.on_hand, 0) <> coalesce(s.s, 0)
)sql"};

inline constexpr pg::Query kItemSumNonzero{"item_sum_nonzero", R"sql(
SELECT item_id, NULL::integer AS location_id, 0 AS bucket, sum(on_hand)::bigint AS recorded,
  0::bigint AS expected
FROM balances GROUP BY item_id HAVING sum(on_hand) <> 0
)sql"};

inline constexpr pg::Query kHeldNePendingHolds{"held_ne_pending_holds", R"sql(
WITH pending AS (SELECT item_id, location_id, sum(quantity)::bigint AS q FROM holds
  WHERE state = 1 GROUP BY 1, 2)
SELECT item_id, location_id, 1 AS bucket, coalesce(b.held, 0) AS recorded,
  coalesce(p.q, 0) AS expected
FROM (SELECT * FROM balances WHERE bucket = 1) b FULL JOIN pending p USING (item_id, location_id)
WHERE coalesce(b.held, 0) <> coalesce(p.q, 0)
)sql"};

inline constexpr pg::Query kChannelHeldNePendingHolds{"channel_held_ne_pending_holds", R"sql(
WITH pending AS (SELECT channel_id, item_id, location_id, sum(quantity)::bigint AS q FROM holds
  WHERE state = 1 GROUP BY 1, 2, 3)
SELECT item_id, location_id, 1 AS bucket, coalesce(u.held, 0) AS recorded,
  coalesce(p.q, 0) AS expected
FROM channel_usage u FULL JOIN pending p USING (channel_id, item_id, location_id)
WHERE coalesce(u.held, 0) <> coalesce(p.q, 0)
)sql"};

// Committed per channel: COMMIT (13) in, FULFIL (14) and CANCEL_COMMITTED (15) out.
inline constexpr pg::Query kChannelCommittedNeMovements{"channel_committed_ne_movements", R"sql(
WITH flows AS (
  SELECT channel_id, item_id,
    CASE kind WHEN 13 THEN to_location_id ELSE from_location_id END AS location_id,
    CASE kind WHEN 13 THEN quantity ELSE -quantity END AS q
  FROM movements WHERE kind IN (13, 14, 15)),
sums AS (SELECT channel_id, item_id, location_id, sum(q)::bigint AS s FROM flows GROUP BY 1, 2, 3)
SELECT item_id, location_id, 2 AS bucket, coalesce(u.committed, 0) AS recorded,
  coalesce(s.s, 0) AS expected
FROM channel_usage u FULL JOIN sums s USING (channel_id, item_id, location_id)
WHERE coalesce(u.committed, 0) <> coalesce(s.s, 0)
)sql"};

inline constexpr pg::Query kHeldOutsideSellable{"held_outside_sellable", R"sql(
SELECT item_id, location_id, bucket, held AS recorded, 0::bigint AS expected FROM balances
WHERE bucket <> 1 AND held <> 0
)sql"};

// Holds and movements that name an item, location or channel that does not exist (the tables
// have no foreign keys: sql/0004), per item and location: how many.
inline constexpr pg::Query kDanglingReferences{"dangling_references", R"sql(
WITH refs AS (
  SELECT item_id, location_id, channel_id FROM holds
  UNION ALL SELECT item_id, from_location_id, channel_id FROM movements
  UNION ALL SELECT item_id, to_location_id, NULL FROM movements)
SELECT r.item_id, r.location_id, 0 AS bucket, count(*)::bigint AS recorded, 0::bigint AS expected
FROM refs r
WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.item_id = r.item_id)
  OR NOT EXISTS (SELECT 1 FROM locations l WHERE l.location_id = r.location_id)
  OR (r.channel_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.channel_id = r.channel_id))
GROUP BY r.item_id, r.location_id
)sql"};

inline constexpr pg::Query kCountAccounts{"count_accounts", R"sql(
SELECT count(*) AS accounts FROM balances
)sql"};

// $1 item ids, $2 location ids: their codes (for messages).
inline constexpr pg::Query kCodesOf{"codes_of", R"sql(
SELECT 'item' AS kind, item_id AS id, sku AS code FROM items WHERE item_id = ANY($1::bigint[])
UNION ALL SELECT 'location', location_id, code FROM locations
WHERE location_id = ANY($2::integer[])
)sql"};

// ------------------------------------------------------------------------ change feed

// Events after sequence $1, at most $2.
inline constexpr pg::Query kListEvents{"list_events", R"sql(
SELECT sequence, encode(payload, 'hex') AS payload_hex,
  (extract(epoch FROM commit_time) * 1000000)::bigint AS commit_us
FROM events WHERE sequence > $1 ORDER BY sequence LIMIT $2
)sql"};

// The feed's last sequence, on the change notifier's own connection (which sets no search path).
inline constexpr pg::Query kFeedHead{"feed_head", R"sql(
SELECT last FROM ledger.feed_head WHERE id = 1
)sql"};

// Appends $1 event payloads (hex) as the transaction's last step: the feed head locked last
// (sequence order is commit order), the events stamped with the database's clock under that
// lock, watchers notified.
inline constexpr pg::Query kAppendEvents{"append_events", R"sql(
WITH head AS (UPDATE feed_head SET last = last + cardinality($1::text[]) WHERE id = 1
  RETURNING last),
stamp AS (SELECT clock_timestamp() AS t FROM head),
ins AS (INSERT INTO events (sequence, commit_time, payload)
  SELECT head.last - cardinality($1::text[]) + e.n, stamp.t, decode(e.p, 'hex')
  FROM head, stamp, unnest($1::text[]) WITH ORDINALITY AS e(p, n))
SELECT pg_notify('kura_ledger_changes', last::text) FROM head
)sql"};

// ------------------------------------------------------------ idempotent requests

// Claims request id $1 for method $2 with request bytes $3 (hex); a concurrent first request
// with the same id makes this wait until it commits or rolls back. Returns a row when claimed.
inline constexpr pg::Query kClaimRequest{"claim_request", R"sql(
INSERT INTO requests (request_id, method, request) VALUES ($1, $2, decode($3, 'hex'))
ON CONFLICT DO NOTHING RETURNING 1
)sql"};

// Whether request id $1 was stored for method $2 and the same bytes $3, and its response.
inline constexpr pg::Query kStoredRequest{"stored_request", R"sql(
SELECT method = $2 AND request = decode($3, 'hex') AS same, encode(response, 'hex') AS response_hex
FROM requests WHERE request_id = $1
)sql"};

inline constexpr pg::Query kStoreResponse{"store_response", R"sql(
UPDATE requests SET response = decode($2, 'hex') WHERE request_id = $1
)sql"};

// ------------------------------------------------------------------------------ catalog

#define KURA_ITEM_COLUMNS                                                    \
  "item_id, sku, name, product_group, price_yen, tax_class, unit_cost_yen, " \
  "(extract(epoch FROM create_time) * 1000000)::bigint AS create_us, "       \
  "(extract(epoch FROM update_time) * 1000000)::bigint AS update_us FROM items "

// $1 sku, $2 name, $3 group, $4 price, $5 tax class, $6 unit cost, $7 now.
inline constexpr pg::Query kInsertItem{"insert_item", R"sql(
INSERT INTO items (sku, name, product_group, price_yen, tax_class, unit_cost_yen, create_time,
  update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (sku) DO NOTHING RETURNING item_id
)sql"};
inline constexpr pg::Query kItemBySku{"item_by_sku", "SELECT " KURA_ITEM_COLUMNS "WHERE sku = $1"};
inline constexpr pg::Query kItemBySkuForUpdate{
    "item_by_sku_for_update", "SELECT " KURA_ITEM_COLUMNS "WHERE sku = $1 FOR NO KEY UPDATE"};
// After sku $1, of group $2 ('' for all), at most $3.
inline constexpr pg::Query kListItems{
    "list_items", "SELECT " KURA_ITEM_COLUMNS
                  "WHERE sku > $1 AND ($2 = '' OR product_group = $2) ORDER BY sku LIMIT $3"};
#undef KURA_ITEM_COLUMNS
// $1 item ids.
inline constexpr pg::Query kItemAttributes{"item_attributes", R"sql(
SELECT item_id, name, value FROM item_attributes WHERE item_id = ANY($1::bigint[])
)sql"};
inline constexpr pg::Query kItemBarcodes{"item_barcodes", R"sql(
SELECT item_id, barcode FROM barcodes WHERE item_id = ANY($1::bigint[]) ORDER BY barcode
)sql"};
// $1 sku, then as kInsertItem ($7 now).
inline constexpr pg::Query kUpdateItem{"update_item", R"sql(
UPDATE items SET name = $2, product_group = $3, price_yen = $4, tax_class = $5,
  unit_cost_yen = $6, update_time = $7 WHERE sku = $1 RETURNING item_id
)sql"};
inline constexpr pg::Query kDeleteAttributes{"delete_attributes", R"sql(
DELETE FROM item_attributes WHERE item_id = $1
)sql"};
// $1 item id, $2 names, $3 values.
inline constexpr pg::Query kInsertAttributes{"insert_attributes", R"sql(
INSERT INTO item_attributes (item_id, name, value)
SELECT $1, n, v FROM unnest($2::text[], $3::text[]) AS a(n, v)
)sql"};
inline constexpr pg::Query kDeleteBarcodes{"delete_barcodes", R"sql(
DELETE FROM barcodes WHERE item_id = $1
)sql"};
// $1 item id, $2 barcodes; returns those inserted (the others belong to another item).
inline constexpr pg::Query kInsertBarcodes{"insert_barcodes", R"sql(
INSERT INTO barcodes (barcode, item_id) SELECT b, $1 FROM unnest($2::text[]) AS b
ON CONFLICT DO NOTHING RETURNING barcode
)sql"};
inline constexpr pg::Query kSkuOfBarcode{"sku_of_barcode", R"sql(
SELECT i.sku FROM barcodes b JOIN items i USING (item_id) WHERE b.barcode = $1
)sql"};

#define KURA_LOCATION_COLUMNS                                                              \
  "code, name, kind, time_zone, pickup_enabled, "                                          \
  "(extract(epoch FROM create_time) * 1000000)::bigint AS create_us, latitude, longitude " \
  "FROM locations "

// $1 code, $2 name, $3 kind, $4 time zone, $5 pickup, $6 now, $7 latitude, $8 longitude.
inline constexpr pg::Query kInsertLocation{"insert_location", R"sql(
INSERT INTO locations (code, name, kind, time_zone, pickup_enabled, create_time, latitude,
  longitude) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (code) DO NOTHING RETURNING 1
)sql"};
inline constexpr pg::Query kLocationByCode{
    "location_by_code", "SELECT " KURA_LOCATION_COLUMNS "WHERE code = $1 AND NOT is_system"};
// After code $1, at most $2.
inline constexpr pg::Query kListLocations{
    "list_locations",
    "SELECT " KURA_LOCATION_COLUMNS "WHERE NOT is_system AND code > $1 ORDER BY code LIMIT $2"};
#undef KURA_LOCATION_COLUMNS
// $1 code, $2 name, $3 time zone, $4 pickup, $5 latitude, $6 longitude.
inline constexpr pg::Query kUpdateLocation{"update_location", R"sql(
UPDATE locations SET name = $2, time_zone = $3, pickup_enabled = $4, latitude = $5,
  longitude = $6 WHERE code = $1
)sql"};

// $1 code, $2 name, $3 kind, $4 respects safety stock, $5 now.
inline constexpr pg::Query kInsertChannel{"insert_channel", R"sql(
INSERT INTO channels (code, name, kind, respects_safety_stock, create_time)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING RETURNING channel_id
)sql"};
inline constexpr pg::Query kChannelByCode{"channel_by_code", R"sql(
SELECT channel_id, code, name, kind, respects_safety_stock,
  (extract(epoch FROM create_time) * 1000000)::bigint AS create_us FROM channels WHERE code = $1
)sql"};
inline constexpr pg::Query kChannelByCodeForUpdate{"channel_by_code_for_update", R"sql(
SELECT channel_id, code, name, kind, respects_safety_stock,
  (extract(epoch FROM create_time) * 1000000)::bigint AS create_us FROM channels WHERE code = $1
FOR NO KEY UPDATE
)sql"};
// The codes of the locations serving channel $1, in priority order.
inline constexpr pg::Query kChannelLocationCodes{"channel_location_codes", R"sql(
SELECT l.code FROM channel_locations cl JOIN locations l USING (location_id)
WHERE cl.channel_id = $1 ORDER BY cl.priority
)sql"};
// After code $1, at most $2.
inline constexpr pg::Query kListChannelCodes{"list_channel_codes", R"sql(
SELECT code FROM channels WHERE code > $1 ORDER BY code LIMIT $2
)sql"};
// $1 code, $2 name, $3 respects safety stock.
inline constexpr pg::Query kUpdateChannel{"update_channel", R"sql(
UPDATE channels SET name = $2, respects_safety_stock = $3 WHERE code = $1 RETURNING channel_id
)sql"};
inline constexpr pg::Query kDeleteChannelLocations{"delete_channel_locations", R"sql(
DELETE FROM channel_locations WHERE channel_id = $1
)sql"};
// $1 channel id, $2 location ids in priority order.
inline constexpr pg::Query kInsertChannelLocations{"insert_channel_locations", R"sql(
INSERT INTO channel_locations (channel_id, location_id, priority)
SELECT $1, l, p FROM unnest($2::integer[]) WITH ORDINALITY AS x(l, p)
)sql"};

}  // namespace kura::ledger::queries
