#include "snapshot.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"

namespace kura::ledger {

absl::StatusOr<int64_t> Draft::Item(const std::string& sku) const {
  auto it = base_.items.find(sku);
  if (it == base_.items.end()) {
    return MakeError(absl::StatusCode::kNotFound, "ITEM_NOT_FOUND",
                     absl::StrCat("no item with sku \"", sku, "\""), {{"sku", sku}});
  }
  return it->second;
}

absl::StatusOr<int32_t> Draft::Location(const std::string& code, bool allow_system) const {
  auto it = base_.locations.find(code);
  if (it != base_.locations.end() && it->second.is_system && !allow_system) {
    return MakeError(absl::StatusCode::kNotFound, "LOCATION_NOT_FOUND",
                     absl::StrCat("\"", code, "\" is one of kura's own accounts, not a location"),
                     {{"location", code}});
  }
  if (it == base_.locations.end()) {
    return MakeError(absl::StatusCode::kNotFound, "LOCATION_NOT_FOUND",
                     absl::StrCat("no location with code \"", code, "\""), {{"location", code}});
  }
  return it->second.id;
}

absl::StatusOr<const ChannelRef*> Draft::Channel(const std::string& code) const {
  auto it = base_.channels.find(code);
  if (it == base_.channels.end()) {
    return MakeError(absl::StatusCode::kNotFound, "CHANNEL_NOT_FOUND",
                     absl::StrCat("no channel with code \"", code, "\""), {{"channel", code}});
  }
  return &it->second;
}

int32_t Draft::System(const std::string& code) const {
  auto it = base_.locations.find(code);
  // The system locations are created by the schema migration; their absence is a broken
  // installation (or a request that did not declare them), not bad input.
  if (it == base_.locations.end()) throw std::logic_error("system location " + code + " missing");
  return it->second.id;
}

const std::string& Draft::SkuOf(int64_t item_id) const {
  auto it = base_.skus.find(item_id);
  if (it == base_.skus.end()) throw std::logic_error("item not loaded");
  return it->second;
}

const std::string& Draft::CodeOf(int32_t location_id) const {
  auto it = base_.location_codes.find(location_id);
  if (it == base_.location_codes.end()) throw std::logic_error("location not loaded");
  return it->second;
}

const std::string& Draft::ChannelCodeOf(int32_t channel_id) const {
  auto it = base_.channel_codes.find(channel_id);
  if (it == base_.channel_codes.end()) throw std::logic_error("channel not loaded");
  return it->second;
}

namespace {

// The row of `key` in the request's own copies, else in the batch's snapshot.
template <typename Map>
const typename Map::mapped_type& Find(const Map& own, const Map& base,
                                      const typename Map::key_type& key, const char* what) {
  if (auto it = own.find(key); it != own.end()) return it->second;
  auto it = base.find(key);
  if (it == base.end()) throw std::logic_error(std::string(what) + " used without being loaded");
  return it->second;
}

// The request's own copy of the row of `key`, made on first use.
template <typename Map>
typename Map::mapped_type& Copy(Map& own, const Map& base, const typename Map::key_type& key,
                                const char* what) {
  if (auto it = own.find(key); it != own.end()) return it->second;
  return own.emplace(key, Find(own, base, key, what)).first->second;
}

}  // namespace

const BalanceRow& Draft::Balance(const AccountKey& key) const {
  return Find(balances_, base_.balances, key, "a balance");
}

const UsageRow& Draft::Usage(const UsageKey& key) const {
  return Find(usage_, base_.usage, key, "a channel usage row");
}

BalanceRow& Draft::MutableBalance(const AccountKey& key) {
  const auto& [item, location, bucket] = key;
  if (bucket == v1::BUCKET_SELLABLE) announce_.insert({item, location});
  return Copy(balances_, base_.balances, key, "a balance");
}

UsageRow& Draft::MutableUsage(const UsageKey& key) {
  return Copy(usage_, base_.usage, key, "a channel usage row");
}

int64_t Draft::Safety(const Place& place) const {
  if (auto own = safety_.find(place); own != safety_.end()) return own->second;
  auto it = base_.safety.find(place);
  return it == base_.safety.end() ? 0 : it->second;
}

void Draft::SetSafety(const Place& place, int64_t quantity) { safety_[place] = quantity; }

const HoldRow* Draft::Hold(const std::string& hold_id) const {
  if (auto own = holds_.find(hold_id); own != holds_.end()) return &own->second;
  auto it = base_.holds.find(hold_id);
  return it == base_.holds.end() ? nullptr : &it->second;
}

HoldRow& Draft::MutableHold(const std::string& hold_id) {
  return Copy(holds_, base_.holds, hold_id, "a hold");
}

bool Draft::HoldIdTaken(const std::string& hold_id) const {
  return holds_.count(hold_id) > 0 || base_.holds.count(hold_id) > 0 ||
         base_.taken_hold_ids.count(hold_id) > 0;
}

void Draft::CreateHold(HoldRow hold) {
  created_.push_back(hold.hold_id);
  std::string id = hold.hold_id;
  holds_.emplace(std::move(id), std::move(hold));
}

const MovementRow& Draft::Record(MovementRow movement) {
  const size_t index = changes_.movements.size() + movements_.size();
  if (index >= base_.movement_ids.size()) throw std::logic_error("movement ids exhausted");
  movement.movement_id = base_.movement_ids[index];
  return movements_.emplace_back(std::move(movement));
}

void Draft::Commit() {
  for (auto& [key, row] : balances_) {
    base_.balances[key] = row;
    changes_.balances.insert(key);
  }
  for (auto& [key, row] : usage_) {
    base_.usage[key] = row;
    changes_.usage.insert(key);
  }
  for (auto& [place, quantity] : safety_) {
    base_.safety[place] = quantity;
    changes_.safety.insert(place);
  }
  // A hold created in this batch (by this request or an earlier one) is inserted with its final
  // state; only holds that existed before the batch are updated.
  std::set<std::string> created(created_.begin(), created_.end());
  created.insert(changes_.new_holds.begin(), changes_.new_holds.end());
  for (auto& [id, hold] : holds_) {
    if (!created.count(id)) changes_.ended_holds.insert(id);
    base_.holds[id] = std::move(hold);
  }
  changes_.new_holds.insert(changes_.new_holds.end(), created_.begin(), created_.end());
  for (MovementRow& m : movements_) changes_.movements.push_back(std::move(m));
  for (v1::ChangeEvent& e : events_) changes_.events.push_back(std::move(e));
  changes_.announce.insert(announce_.begin(), announce_.end());
  balances_.clear(), usage_.clear(), safety_.clear(), holds_.clear(), created_.clear();
  movements_.clear(), events_.clear(), announce_.clear();
}

}  // namespace kura::ledger
