#pragma once

// What a batch of ledger mutations decides against, and what it decides: the writer loads a
// Snapshot (rows locked for the batch's transaction) for everything the batch's requests Want,
// decides each request in arrival order in a Draft over it, and persists the Changes in one
// write. No SQL here: storage/batch_store.h loads and persists.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/ledger/v1/change_feed.pb.h"
#include "storage/rows.h"

namespace kura::ledger {

/// What the requests of a batch need loaded, by code (the load resolves codes to ids).
struct Wants {
  /// Codes to resolve. Channels are locked FOR SHARE (their settings hold until commit).
  std::set<std::string> skus, locations, channels;
  /// Accounts to lock: (sku, location code, bucket).
  std::set<std::tuple<std::string, std::string, int>> accounts;
  /// Channel usage rows to lock: (channel code, sku, location code).
  std::set<std::tuple<std::string, std::string, std::string>> usage;
  /// Safety stocks to read: (sku, location code).
  std::set<std::pair<std::string, std::string>> safety;
  /// Existing holds to lock, with their accounts and usage rows; true: also the committed
  /// account (a post).
  std::map<std::string, bool> holds;
  /// Holds a request wants to create (are their ids taken?): id → (sku, location code), so that
  /// a post of the new hold later in the batch can declare the hold's committed account.
  std::map<std::string, std::pair<std::string, std::string>> new_holds;
  /// Request ids whose stored answers to read.
  std::set<std::string> request_ids;
  /// Movement ids to allocate (an upper bound of the movements the batch records).
  int movements = 0;
};

/// The loaded, locked rows a batch decides against.
struct Snapshot {
  std::map<std::string, int64_t> items;  // sku → id
  std::map<int64_t, std::string> skus;
  std::map<std::string, LocationRef> locations;  // code → location
  std::map<int32_t, std::string> location_codes;
  std::map<std::string, ChannelRef> channels;  // code → channel
  std::map<int32_t, std::string> channel_codes;
  std::map<AccountKey, BalanceRow> balances;
  std::map<UsageKey, UsageRow> usage;
  std::map<Place, int64_t> safety;                // the safety stocks read (absent: 0)
  std::map<std::string, HoldRow> holds;           // existing holds, locked
  std::set<std::string> taken_hold_ids;           // of Wants::new_holds, the ids that exist
  std::map<std::string, StoredRequest> requests;  // known request ids
  std::vector<int64_t> movement_ids;              // allocated, used in order
  /// For the write: where the locked rows are (their ctids), and the rows wanted that do not
  /// exist yet (loaded as zero rows), which the write inserts.
  std::map<AccountKey, std::string> balance_ctids;
  std::map<UsageKey, std::string> usage_ctids;
  std::map<std::string, std::string> hold_ctids;
  std::set<AccountKey> new_balances;
  std::set<UsageKey> new_usage;
};

/// What a batch changed, to persist in one write.
struct Changes {
  std::set<AccountKey> balances;
  std::set<UsageKey> usage;
  std::set<Place> safety;
  std::vector<std::string> new_holds;  // ids of holds created (rows in Snapshot::holds)
  std::set<std::string> ended_holds;   // ids of existing holds posted, voided or expired
  std::vector<MovementRow> movements;
  std::vector<NewRequest> requests;
  std::vector<v1::ChangeEvent> events;  // in order; availability changes are added last
  std::set<Place> announce;             // sellable accounts whose availability changed
};

/// One request's tentative changes over a Snapshot: reads see the snapshot with this request's
/// own changes; Commit applies them to the snapshot and the batch's Changes, and a Draft that is
/// dropped (the request failed) leaves both as they were.
class Draft {
 public:
  Draft(Snapshot& snapshot, Changes& changes, absl::Time now)
      : base_(snapshot), changes_(changes), now_(now) {}
  Draft(const Draft&) = delete;
  Draft& operator=(const Draft&) = delete;

  absl::Time now() const { return now_; }

  /// Resolution; errors NOT_FOUND with ITEM_NOT_FOUND, LOCATION_NOT_FOUND (also for a system
  /// location unless `allow_system`), CHANNEL_NOT_FOUND.
  absl::StatusOr<int64_t> Item(const std::string& sku) const;
  absl::StatusOr<int32_t> Location(const std::string& code, bool allow_system = false) const;
  absl::StatusOr<const ChannelRef*> Channel(const std::string& code) const;
  /// The id of a system location such as "@customer" (std::logic_error when not loaded).
  int32_t System(const std::string& code) const;
  const std::string& SkuOf(int64_t item_id) const;
  const std::string& CodeOf(int32_t location_id) const;
  const std::string& ChannelCodeOf(int32_t channel_id) const;

  /// Locked rows as this request sees them (std::logic_error for one the batch did not load).
  const BalanceRow& Balance(const AccountKey& key) const;
  const UsageRow& Usage(const UsageKey& key) const;
  int64_t Safety(const Place& place) const;
  /// An existing or newly created hold, or null.
  const HoldRow* Hold(const std::string& hold_id) const;
  /// The same rows, to change: the request's own copies until Commit. Changing a sellable
  /// balance announces its availability.
  BalanceRow& MutableBalance(const AccountKey& key);
  UsageRow& MutableUsage(const UsageKey& key);
  HoldRow& MutableHold(const std::string& hold_id);
  void SetSafety(const Place& place, int64_t quantity);
  /// Whether a hold id is taken (also by a request decided earlier in the batch).
  bool HoldIdTaken(const std::string& hold_id) const;
  /// Adds a new pending hold.
  void CreateHold(HoldRow hold);
  /// Records a movement (its id allocated here) and returns it.
  const MovementRow& Record(MovementRow movement);
  /// Adds a change event.
  v1::ChangeEvent& AddEvent() { return events_.emplace_back(); }
  /// The sellable account of `place` changed (an availability event at the end of the batch).
  void Announce(const Place& place) { announce_.insert(place); }

  /// Applies this request's changes to the snapshot and the batch's changes.
  void Commit();

 private:
  Snapshot& base_;
  Changes& changes_;
  const absl::Time now_;
  std::map<AccountKey, BalanceRow> balances_;
  std::map<UsageKey, UsageRow> usage_;
  std::map<Place, int64_t> safety_;
  std::map<std::string, HoldRow> holds_;  // touched or created
  std::vector<std::string> created_;
  std::vector<MovementRow> movements_;
  std::vector<v1::ChangeEvent> events_;
  std::set<Place> announce_;
};

}  // namespace kura::ledger
