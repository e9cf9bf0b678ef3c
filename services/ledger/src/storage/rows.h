#pragma once

// The ledger's rows as the storage layer hands them to the domain: plain typed structs, read
// by column name next to the query that returns them (storage/*.cc).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "kura/ledger/v1/catalog.pb.h"
#include "kura/ledger/v1/ledger.pb.h"

namespace kura::ledger {

namespace v1 = ::kura::ledger::v1;

/// Bucket number of the single account of a system location (@supplier, @customer, ...).
inline constexpr int kSystemBucket = 0;

/// An account: (item, location, bucket).
using AccountKey = std::tuple<int64_t, int32_t, int>;
/// A channel's usage row: (channel, item, location).
using UsageKey = std::tuple<int32_t, int64_t, int32_t>;
/// An item at a location: (item, location).
using Place = std::pair<int64_t, int32_t>;

/// A balance row: on hand, and (for the sellable bucket) what pending holds hold of it.
struct BalanceRow {
  int64_t on_hand = 0;
  int64_t held = 0;
};

/// What a channel holds and has committed of an item at a location, and its cap there.
struct UsageRow {
  int64_t held = 0;
  int64_t committed = 0;
  std::optional<int64_t> quota;
  std::optional<int> ratio_bp;
};

/// A hold row, with the codes of what it refers to.
struct HoldRow {
  std::string hold_id;
  int64_t item_id = 0;
  int32_t location_id = 0;
  int32_t channel_id = 0;
  std::string sku, location, channel;
  int64_t quantity = 0;
  int64_t posted_quantity = 0;
  v1::HoldState state = v1::HOLD_STATE_UNSPECIFIED;
  absl::Time expires_at;
  std::string order_ref, customer_ref;
  absl::Time create_time;
  std::optional<absl::Time> end_time;
};

/// A movement row (movement_id set once allocated).
struct MovementRow {
  int64_t movement_id = 0;
  std::string batch_id;
  v1::MovementKind kind = v1::MOVEMENT_KIND_UNSPECIFIED;
  int64_t item_id = 0;
  int64_t quantity = 0;
  int32_t from_location_id = 0;
  int from_bucket = 0;
  int32_t to_location_id = 0;
  int to_bucket = 0;
  int32_t channel_id = 0;  // 0: none
  std::string source_ref;
  absl::Time occurred_at;
  absl::Time recorded_at;
  std::optional<absl::Time> expected_at;
};

/// A location as the books resolve it.
struct LocationRef {
  int32_t id = 0;
  std::string code;
  bool is_system = false;
};

/// A channel as the books need it: its settings and the locations that serve it.
struct ChannelRef {
  int32_t id = 0;
  std::string code;
  v1::ChannelKind kind = v1::CHANNEL_KIND_UNSPECIFIED;
  bool respects_safety_stock = true;
  std::set<int32_t> serving;
};

/// A request id's stored request (bytes) and response (bytes).
struct StoredRequest {
  std::string method;
  std::string request;
  std::string response;
};

/// A new idempotent request to store with its response.
struct NewRequest {
  std::string request_id;
  std::string method;
  std::string request;
  std::string response;
};

/// A purchase order's incoming lot as recorded (ORDER_INCOMING movements).
struct IncomingOrderRow {
  int64_t quantity = 0;
  absl::Time expected_at;
  std::string source_ref;
};

/// One finding of VerifyInvariants.
struct ViolationRow {
  std::string check;
  int64_t item_id = 0;
  std::optional<int32_t> location_id;
  int bucket = 0;
  int64_t recorded = 0;
  int64_t expected = 0;
};

/// A change-feed event as stored: its payload without sequence and commit time.
struct EventRow {
  int64_t sequence = 0;
  absl::Time commit_time;
  std::string payload;
};

}  // namespace kura::ledger
