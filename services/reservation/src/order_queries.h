#pragma once

// The reservation's order SQL, by name (pg::Query: prepared once per connection, timed in
// kura_db_query_seconds{query}). Orders, their lines, allocations and fulfilments.

#include "kura/pg/query.h"

namespace kura::reservation::queries {

inline constexpr pg::Query kReadOrder{
    "order_read",
    "SELECT order_id, state, customer, (extract(epoch FROM expires_at) * 1000000)::bigint "
    "FROM orders WHERE channel = $1 AND external_order_id = $2"};
inline constexpr pg::Query kLockOrder{
    "order_lock",
    "SELECT order_id, state, customer, (extract(epoch FROM expires_at) * 1000000)::bigint "
    "FROM orders WHERE channel = $1 AND external_order_id = $2 FOR UPDATE"};
inline constexpr pg::Query kOrderAllocations{
    "order_allocations",
    "SELECT position, sku, location, hold_id, quantity, fulfilled FROM allocations "
    "WHERE order_id = $1 ORDER BY position"};
inline constexpr pg::Query kLoadOrder{
    "order_load_order",
    "SELECT channel, external_order_id, customer, pickup_store, state, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint, "
    "(extract(epoch FROM create_time) * 1000000)::bigint, "
    "(extract(epoch FROM update_time) * 1000000)::bigint, preorder, "
    "(extract(epoch FROM expected_at) * 1000000)::bigint, unfulfillable_reason, "
    "unfulfillable_detail, short_sku FROM orders WHERE order_id = $1"};
inline constexpr pg::Query kOrderLines{
    "order_lines", "SELECT sku, quantity FROM order_lines WHERE order_id = $1 ORDER BY line_no"};
inline constexpr pg::Query kLoadAllocations{
    "order_load_allocations",
    "SELECT sku, location, quantity, fulfilled, hold_id FROM allocations "
    "WHERE order_id = $1 ORDER BY position"};
inline constexpr pg::Query kSetState{
    "order_set_state", "UPDATE orders SET state = $2, update_time = $3 WHERE order_id = $1"};
inline constexpr pg::Query kInsertUnfulfillable{
    "order_insert_unfulfillable",
    "INSERT INTO orders (channel, external_order_id, customer, pickup_store, state, "
    "request, expires_at, create_time, update_time, preorder, unfulfillable_reason, "
    "unfulfillable_detail, short_sku) VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), "
    "$7, $7, $7, false, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING order_id"};
inline constexpr pg::Query kInsertUncountedLine{
    "order_insert_uncounted_line",
    "INSERT INTO order_lines (order_id, line_no, sku, quantity, counted, "
    "counted_usage) VALUES ($1, $2, $3, $4, false, 0)"};
inline constexpr pg::Query kExistingOrder{
    "order_existing_order",
    "SELECT order_id, request = decode($3, 'hex') FROM orders "
    "WHERE channel = $1 AND external_order_id = $2"};
inline constexpr pg::Query kInsertOrder{
    "order_insert_order",
    "INSERT INTO orders (channel, external_order_id, customer, pickup_store, state, "
    "request, expires_at, create_time, update_time, preorder) "
    "VALUES ($1, $2, $3, $4, $8, decode($5, 'hex'), $6, $7, $7, $9) "
    "ON CONFLICT DO NOTHING RETURNING order_id"};
inline constexpr pg::Query kInsertLine{
    "order_insert_line",
    "INSERT INTO order_lines (order_id, line_no, sku, quantity, counted, "
    "counted_usage) VALUES ($1, $2, $3, $4, $5, $6)"};
inline constexpr pg::Query kSetExpected{"order_set_expected",
                                        "UPDATE orders SET expected_at = $2 WHERE order_id = $1"};
inline constexpr pg::Query kInsertAllocation{
    "order_insert_allocation",
    "INSERT INTO allocations (order_id, position, sku, location, quantity, hold_id) "
    "VALUES ($1, $2, $3, $4, $5, $6)"};
inline constexpr pg::Query kDeleteOrder{"order_delete_order",
                                        "DELETE FROM orders WHERE order_id = $1"};
inline constexpr pg::Query kStartCancel{
    "order_start_cancel",
    "UPDATE orders SET cancelled_from = state, state = $2, update_time = $3 "
    "WHERE order_id = $1"};
inline constexpr pg::Query kCancelledFrom{"order_cancelled_from",
                                          "SELECT cancelled_from FROM orders WHERE order_id = $1"};
inline constexpr pg::Query kStoredFulfilment{
    "order_stored_fulfilment",
    "SELECT request = decode($2, 'hex'), encode(response, 'hex') FROM fulfilments "
    "WHERE request_id = $1"};
inline constexpr pg::Query kFulfilmentOfOrder{
    "order_fulfilment_of_order",
    "SELECT 1 FROM fulfilments WHERE request_id = $1 AND order_id = $2"};
inline constexpr pg::Query kInsertFulfilment{
    "order_insert_fulfilment",
    "INSERT INTO fulfilments (request_id, order_id, request) "
    "VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT DO NOTHING RETURNING 1"};
inline constexpr pg::Query kAddFulfilled{"order_add_fulfilled",
                                         "UPDATE allocations SET fulfilled = fulfilled + $3 "
                                         "WHERE order_id = $1 AND position = $2"};
inline constexpr pg::Query kFulfilmentResponse{
    "order_fulfilment_response",
    "UPDATE fulfilments SET response = decode($2, 'hex') WHERE request_id = $1"};
inline constexpr pg::Query kOrderId{
    "order_id_of", "SELECT order_id FROM orders WHERE channel = $1 AND external_order_id = $2"};
inline constexpr pg::Query kListOrders{
    "order_list_orders",
    "SELECT order_id FROM orders WHERE order_id < $1 "
    "AND ($2 = '' OR channel = $2) AND ($3 = '' OR customer = $3) "
    "AND ($4 OR state = ANY($6::integer[])) AND ($7 = '' OR pickup_store = $7) "
    "ORDER BY order_id DESC LIMIT $5"};
inline constexpr pg::Query kPreorderHead{
    "order_preorder_head",
    "SELECT channel, external_order_id, pickup_store, state FROM orders WHERE order_id = $1"};
inline constexpr pg::Query kStartConversion{"order_start_conversion",
                                            "UPDATE orders SET state = $2, attempt = attempt + 1, "
                                            "expires_at = $3, update_time = $4 WHERE order_id = $1 "
                                            "RETURNING attempt"};
inline constexpr pg::Query kConversionAttempt{"order_conversion_attempt",
                                              "SELECT attempt FROM orders WHERE order_id = $1"};
inline constexpr pg::Query kDeleteAllocations{"order_delete_allocations",
                                              "DELETE FROM allocations WHERE order_id = $1"};
inline constexpr pg::Query kPreordersToConvert{
    "order_preorders_to_convert",
    "SELECT o.order_id, o.channel, o.pickup_store, "
    "string_agg(l.sku, E'\\n' ORDER BY l.sku) FROM orders o "
    "JOIN order_lines l USING (order_id) WHERE o.state IN (9, 10) "
    "AND o.order_id > $1 GROUP BY o.order_id ORDER BY o.order_id LIMIT $2"};
inline constexpr pg::Query kExpireDue{
    "order_expire_due",
    "UPDATE orders SET state = 5, update_time = $1 WHERE order_id IN ("
    "  SELECT order_id FROM orders WHERE state IN (0, 1) AND expires_at <= $1 "
    "  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING order_id"};

// Counted per order placed: limited items (locked, in SKU order) and waiting pre-orders.
inline constexpr pg::Query kLockLimited{
    "limited_lock",
    "SELECT sku, window_start <= $2 AND $2 < window_end, total_cap, reserved, "
    "per_customer_limit FROM limited_items WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE"};
inline constexpr pg::Query kPreorderedOf{
    "preorder_waiting",
    "SELECT sku, preordered FROM preorder_items WHERE sku = ANY($1::text[]) AND preordered > 0"};

// Moving a pending order's hold off a shelf that no longer has its units (state 12).
inline constexpr pg::Query kHeldAtShelf{
    "order_held_at_shelf",
    "SELECT a.order_id, a.position, a.quantity, a.hold_id FROM allocations a "
    "JOIN orders o USING (order_id) WHERE a.location = $1 AND a.sku = $2 AND a.fulfilled = 0 "
    "AND o.state = 1 ORDER BY a.order_id DESC LIMIT $3"};
inline constexpr pg::Query kMovingAtShelf{
    "order_moving_at_shelf",
    "SELECT coalesce(sum(a.quantity), 0)::bigint FROM allocations a JOIN orders o USING (order_id) "
    "WHERE a.location = $1 AND a.sku = $2 AND o.state = 12 AND a.hold_id = o.moving_hold"};
inline constexpr pg::Query kStartMove{
    "order_start_move",
    "UPDATE orders SET state = 12, attempt = attempt + 1, moving_hold = $2, update_time = $3, "
    "moving_request = $4 WHERE order_id = $1 RETURNING attempt"};
inline constexpr pg::Query kMoveHead{
    "order_move_head",
    "SELECT channel, external_order_id, state, attempt, coalesce(moving_hold, ''), "
    "pickup_store, coalesce(moving_request, '') FROM orders WHERE order_id = $1"};
inline constexpr pg::Query kRecordMove{
    "order_record_move",
    "INSERT INTO moved_holds (request_id, order_id, sku, quantity, from_location, to_locations) "
    "VALUES ($1, $2, $3, $4, $5, $6::text[]) ON CONFLICT DO NOTHING"};
inline constexpr pg::Query kMovesOfRequest{
    "order_moves_of_request",
    "SELECT o.channel, o.external_order_id, m.sku, m.quantity, "
    "array_to_string(m.to_locations, ',') FROM moved_holds m JOIN orders o USING (order_id) "
    "WHERE m.request_id = $1 ORDER BY m.order_id DESC, m.sku"};
inline constexpr pg::Query kLastPosition{
    "order_last_position",
    "SELECT coalesce(max(position), -1) FROM allocations WHERE order_id = $1"};
inline constexpr pg::Query kDeleteAllocation{
    "order_delete_allocation", "DELETE FROM allocations WHERE order_id = $1 AND hold_id = $2"};
inline constexpr pg::Query kEndMove{
    "order_end_move",
    "UPDATE orders SET state = 1, moving_hold = NULL, update_time = $2 WHERE order_id = $1"};
inline constexpr pg::Query kMoveUnfulfillable{
    "order_move_unfulfillable",
    "UPDATE orders SET state = 11, moving_hold = NULL, unfulfillable_reason = 'HELD_UNITS_SOLD', "
    "unfulfillable_detail = $2, short_sku = $3, update_time = $4 WHERE order_id = $1"};
inline constexpr pg::Query kMovesCutOff{
    "order_moves_cut_off",
    "SELECT order_id FROM orders WHERE state = 12 AND update_time <= $1 ORDER BY order_id "
    "LIMIT $2"};

}  // namespace kura::reservation::queries
