#include "books.h"

#include <pqxx/pqxx>

#include <future>
#include <limits>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "storage/feed_store.h"
#include "storage/holds_store.h"
#include "storage/invariants_store.h"
#include "storage/movements_store.h"
#include "storage/stock_store.h"
#include "to_api.h"
#include "transactions.h"
#include "validate.h"

namespace kura::ledger {
namespace {

using Tx = pqxx::transaction_base;

template <typename Response>
absl::StatusOr<Response> Parse(const MutationResult& result) {
  if (!result.ok()) return result.status();
  Response response;
  if (!response.ParseFromString(*result)) return absl::InternalError("response unreadable");
  return response;
}

absl::Status NotFound(const char* reason, const char* what, const char* key,
                      const std::string& code) {
  return MakeError(absl::StatusCode::kNotFound, reason,
                   absl::StrCat("no ", what, " with ", std::string(key) == "sku" ? "sku" : "code",
                                " \"", code, "\""),
                   {{key, code}});
}

// The ids of `codes` in their order; NOT_FOUND for the first that names nothing.
template <typename Id>
absl::StatusOr<std::vector<Id>> IdsOf(const google::protobuf::RepeatedPtrField<std::string>& codes,
                                      const std::map<std::string, Id>& found, const char* reason,
                                      const char* what, const char* key) {
  std::vector<Id> ids;
  for (const std::string& code : codes) {
    auto it = found.find(code);
    if (it == found.end()) return NotFound(reason, what, key, code);
    ids.push_back(it->second);
  }
  return ids;
}

using Codes = google::protobuf::RepeatedPtrField<std::string>;

// The ids of user location codes, in their order.
absl::StatusOr<std::vector<int32_t>> LocationIds(Tx& tx, const Codes& codes) {
  return IdsOf(codes, storage::LocationsByCode(tx, {codes.begin(), codes.end()}),
               "LOCATION_NOT_FOUND", "location", "location");
}

// The ids of skus, in their order.
absl::StatusOr<std::vector<int64_t>> ItemIds(Tx& tx, const Codes& skus) {
  return IdsOf(skus, storage::ItemsBySku(tx, {skus.begin(), skus.end()}), "ITEM_NOT_FOUND", "item",
               "sku");
}

// The skus and locations a stock query names: 1 to 1000 skus, valid codes.
absl::Status ValidateStockQuery(const Codes& skus, const Codes& locations) {
  if (skus.empty()) return InvalidArgument("skus", "skus is empty");
  if (skus.size() > 1000) return InvalidArgument("skus", "at most 1000 skus");
  for (const auto& sku : skus) RETURN_IF_ERROR(ValidateSku("skus", sku));
  for (const auto& code : locations) RETURN_IF_ERROR(ValidateCode("locations", code));
  return absl::OkStatus();
}

}  // namespace

// ------------------------------------------------------------------------- mutations

template <typename Response, typename Request>
void Books::Submit(const Request& request, Done<Response> done) {
  if (absl::Status invalid = Validate(request); !invalid.ok()) {
    done(invalid);
    return;
  }
  writer_.Submit(Mutation{
      &request, [done = std::move(done)](MutationResult result) { done(Parse<Response>(result)); },
      rpc::CurrentDeadline()});
}

template <typename Response, typename Request>
absl::StatusOr<Response> Books::Call(const Request& request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<Response>>>();
  auto result = promise->get_future();
  Submit<Response>(request, Done<Response>([promise](absl::StatusOr<Response> r) {
                     promise->set_value(std::move(r));
                   }));
  return result.get();
}

void Books::CreateHolds(const v1::CreateHoldsRequest& r, Done<v1::CreateHoldsResponse> done) {
  Submit<v1::CreateHoldsResponse>(r, std::move(done));
}
void Books::ApplyMovements(const v1::ApplyMovementsRequest& r,
                           Done<v1::ApplyMovementsResponse> done) {
  Submit<v1::ApplyMovementsResponse>(r, std::move(done));
}
absl::StatusOr<v1::CreateHoldsResponse> Books::CreateHolds(const v1::CreateHoldsRequest& r) {
  return Call<v1::CreateHoldsResponse>(r);
}
absl::StatusOr<v1::ApplyMovementsResponse> Books::ApplyMovements(
    const v1::ApplyMovementsRequest& r) {
  return Call<v1::ApplyMovementsResponse>(r);
}
absl::StatusOr<v1::PostHoldResponse> Books::PostHold(const v1::PostHoldRequest& r) {
  return Call<v1::PostHoldResponse>(r);
}
absl::StatusOr<v1::VoidHoldResponse> Books::VoidHold(const v1::VoidHoldRequest& r) {
  return Call<v1::VoidHoldResponse>(r);
}
absl::StatusOr<v1::FulfilCommittedResponse> Books::FulfilCommitted(
    const v1::FulfilCommittedRequest& r) {
  return Call<v1::FulfilCommittedResponse>(r);
}
absl::StatusOr<v1::CancelCommittedResponse> Books::CancelCommitted(
    const v1::CancelCommittedRequest& r) {
  return Call<v1::CancelCommittedResponse>(r);
}
absl::StatusOr<v1::SetSafetyStockResponse> Books::SetSafetyStock(
    const v1::SetSafetyStockRequest& r) {
  return Call<v1::SetSafetyStockResponse>(r);
}
absl::StatusOr<v1::SetChannelAllocationResponse> Books::SetChannelAllocation(
    const v1::SetChannelAllocationRequest& r) {
  return Call<v1::SetChannelAllocationResponse>(r);
}

absl::StatusOr<int> Books::ExpireDueHolds(int limit) {
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(ExpireHoldsRequest request,
                   Read<ExpireHoldsRequest>(db_, [&](Tx& tx) -> absl::StatusOr<ExpireHoldsRequest> {
                     return ExpireHoldsRequest{storage::DueHolds(tx, now, limit)};
                   }));
  if (request.hold_ids.empty()) return 0;
  auto promise = std::make_shared<std::promise<MutationResult>>();
  auto result = promise->get_future();
  writer_.Submit(Mutation{
      &request, [promise](MutationResult r) { promise->set_value(std::move(r)); }, std::nullopt});
  ASSIGN_OR_RETURN(v1::ListHoldsResponse expired, Parse<v1::ListHoldsResponse>(result.get()));
  return expired.holds_size();
}

// ------------------------------------------------------------------------------ holds

absl::StatusOr<v1::GetHoldResponse> Books::GetHold(const v1::GetHoldRequest& request) {
  RETURN_IF_ERROR(ValidateHoldId("hold_id", request.hold_id()));
  return Read<v1::GetHoldResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::GetHoldResponse> {
    std::optional<HoldRow> hold = storage::GetHold(tx, request.hold_id());
    if (!hold) {
      return MakeError(absl::StatusCode::kNotFound, "HOLD_NOT_FOUND",
                       absl::StrCat("no hold with id \"", request.hold_id(), "\""),
                       {{"hold_id", request.hold_id()}});
    }
    v1::GetHoldResponse response;
    *response.mutable_hold() = ToApi(*hold);
    return response;
  });
}

absl::StatusOr<v1::ListHoldsResponse> Books::ListHolds(const v1::ListHoldsRequest& request) {
  const int page_size = request.page_size() <= 0 ? 100 : std::min(request.page_size(), 1000);
  int64_t before = std::numeric_limits<int64_t>::max();
  std::string before_id = "\x7f";
  if (!request.page_token().empty()) {
    auto bar = request.page_token().find('|');
    if (bar == std::string::npos ||
        !absl::SimpleAtoi(request.page_token().substr(0, bar), &before)) {
      return InvalidArgument("page_token", "page_token is not from a ListHolds response");
    }
    before_id = request.page_token().substr(bar + 1);
  }
  return Read<v1::ListHoldsResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::ListHoldsResponse> {
    std::vector<HoldRow> holds =
        storage::ListHolds(tx, static_cast<int>(request.state()), request.sku(),
                           request.order_ref(), before, before_id, page_size + 1);
    v1::ListHoldsResponse response;
    for (int i = 0; i < static_cast<int>(holds.size()) && i < page_size; ++i) {
      *response.add_holds() = ToApi(holds[i]);
    }
    if (static_cast<int>(holds.size()) > page_size) {
      const HoldRow& last = holds[page_size - 1];
      response.set_next_page_token(
          absl::StrCat(absl::ToUnixMicros(last.create_time), "|", last.hold_id));
    }
    return response;
  });
}

// ----------------------------------------------------------------------- availability

absl::StatusOr<v1::GetAvailabilityResponse> Books::GetAvailability(
    const v1::GetAvailabilityRequest& request) {
  RETURN_IF_ERROR(ValidateStockQuery(request.skus(), request.locations()));
  for (const auto& code : request.channels()) RETURN_IF_ERROR(ValidateCode("channels", code));
  const std::vector<std::string> channel_codes(request.channels().begin(),
                                               request.channels().end());
  return Read<v1::GetAvailabilityResponse>(
      db_, [&](Tx& tx) -> absl::StatusOr<v1::GetAvailabilityResponse> {
        std::map<std::string, ChannelRef> found_channels =
            storage::ChannelsByCode(tx, channel_codes);
        std::vector<const ChannelRef*> channels;
        for (const std::string& code : channel_codes) {
          auto it = found_channels.find(code);
          if (it == found_channels.end()) {
            return NotFound("CHANNEL_NOT_FOUND", "channel", "channel", code);
          }
          channels.push_back(&it->second);
        }
        ASSIGN_OR_RETURN(std::vector<int32_t> asked, LocationIds(tx, request.locations()));
        ASSIGN_OR_RETURN(std::vector<int64_t> items, ItemIds(tx, request.skus()));
        // Per sku, its locations: the asked ones, or every user location that has stock of the
        // item or serves an asked channel.
        std::vector<std::vector<std::pair<int32_t, std::string>>> places(items.size());
        std::set<int32_t> all_locations;
        if (!asked.empty()) {
          for (auto& p : places) {
            for (int i = 0; i < request.locations_size(); ++i) {
              p.emplace_back(asked[i], request.locations(i));
            }
          }
        } else {
          std::map<int64_t, std::vector<std::pair<int32_t, std::string>>> by_item;
          for (const auto& [item, location, code] :
               storage::LocationsOfItems(tx, items, channel_codes)) {
            by_item[item].emplace_back(location, code);
          }
          for (size_t i = 0; i < items.size(); ++i) places[i] = by_item[items[i]];
        }
        for (const auto& p : places) {
          for (const auto& [location, code] : p) all_locations.insert(location);
        }
        std::vector<int32_t> channel_ids;
        for (const ChannelRef* c : channels) channel_ids.push_back(c->id);
        const storage::Stock stock =
            storage::StockOf(tx, items, {all_locations.begin(), all_locations.end()}, channel_ids);
        v1::GetAvailabilityResponse response;
        for (size_t s = 0; s < items.size(); ++s) {
          const int64_t item = items[s];
          for (const auto& [loc, code] : places[s]) {
            int64_t bucket[7] = {};
            int64_t held = 0;
            for (int b = 1; b <= 6; ++b) {
              auto it = stock.balances.find({item, loc, b});
              if (it == stock.balances.end()) continue;
              bucket[b] = it->second.on_hand;
              if (b == v1::BUCKET_SELLABLE) held = it->second.held;
            }
            auto safety_it = stock.safety.find({item, loc});
            const int64_t safety = safety_it == stock.safety.end() ? 0 : safety_it->second;
            auto fill = [&](v1::Availability* a) {
              a->set_sku(request.skus(static_cast<int>(s)));
              a->set_location(code);
              a->set_sellable(bucket[v1::BUCKET_SELLABLE]);
              a->set_held(held);
              a->set_committed(bucket[v1::BUCKET_COMMITTED]);
              a->set_incoming(bucket[v1::BUCKET_INCOMING]);
              a->set_quality_control(bucket[v1::BUCKET_QUALITY_CONTROL]);
              a->set_damaged(bucket[v1::BUCKET_DAMAGED]);
              a->set_in_transit(bucket[v1::BUCKET_IN_TRANSIT]);
              a->set_safety_stock(safety);
            };
            if (channels.empty()) {
              v1::Availability* a = response.add_rows();
              fill(a);
              a->set_available_to_promise(std::max<int64_t>(0, bucket[v1::BUCKET_SELLABLE] - held));
              continue;
            }
            for (const ChannelRef* channel : channels) {
              v1::Availability* a = response.add_rows();
              fill(a);
              a->set_channel(channel->code);
              int64_t atp = bucket[v1::BUCKET_SELLABLE] - held -
                            (channel->respects_safety_stock ? safety : 0);
              auto usage = stock.usage.find({channel->id, item, loc});
              if (usage != stock.usage.end()) {
                if (auto cap = ChannelCapRemaining(usage->second, bucket[v1::BUCKET_SELLABLE])) {
                  atp = std::min(atp, *cap);
                }
              }
              a->set_available_to_promise(channel->serving.count(loc) ? std::max<int64_t>(0, atp)
                                                                      : 0);
            }
          }
        }
        return response;
      });
}

// --------------------------------------------------------------------------- incoming

absl::StatusOr<v1::ListIncomingResponse> Books::ListIncoming(
    const v1::ListIncomingRequest& request) {
  RETURN_IF_ERROR(ValidateStockQuery(request.skus(), request.locations()));
  return Read<v1::ListIncomingResponse>(
      db_, [&](Tx& tx) -> absl::StatusOr<v1::ListIncomingResponse> {
        ASSIGN_OR_RETURN(std::vector<int32_t> locations, LocationIds(tx, request.locations()));
        ASSIGN_OR_RETURN(std::vector<int64_t> items, ItemIds(tx, request.skus()));
        v1::ListIncomingResponse response;
        for (size_t s = 0; s < items.size(); ++s) {
          // Receipts use up the earliest expected units, so what is still incoming belongs to
          // the latest orders: walk back from the latest until it is covered.
          for (const auto& [loc, code, incoming] :
               storage::IncomingBalances(tx, items[s], locations)) {
            int64_t left = incoming;
            std::vector<v1::IncomingLot> lots;
            for (const IncomingOrderRow& order : storage::IncomingOrders(tx, items[s], loc)) {
              if (left <= 0) break;
              v1::IncomingLot& lot = lots.emplace_back();
              lot.set_sku(request.skus(static_cast<int>(s)));
              lot.set_location(code);
              lot.set_quantity(std::min(left, order.quantity));
              *lot.mutable_expected_at() = ToProto(order.expected_at);
              lot.set_source_ref(order.source_ref);
              left -= lot.quantity();
            }
            for (auto it = lots.rbegin(); it != lots.rend(); ++it) *response.add_lots() = *it;
          }
        }
        return response;
      });
}

// ------------------------------------------------------------------------- invariants

absl::StatusOr<v1::VerifyInvariantsResponse> Books::VerifyInvariants() {
  return Read<v1::VerifyInvariantsResponse>(
      db_, [&](Tx& tx) -> absl::StatusOr<v1::VerifyInvariantsResponse> {
        const std::vector<ViolationRow> violations = storage::Violations(tx);
        std::vector<int64_t> item_ids;
        std::vector<int32_t> location_ids;
        for (const ViolationRow& v : violations) {
          item_ids.push_back(v.item_id);
          if (v.location_id) location_ids.push_back(*v.location_id);
        }
        std::map<int64_t, std::string> skus;
        std::map<int32_t, std::string> codes;
        storage::CodesOf(tx, item_ids, location_ids, skus, codes);
        v1::VerifyInvariantsResponse response;
        for (const ViolationRow& v : violations) {
          v1::InvariantViolation* out = response.add_violations();
          out->set_check(v.check);
          out->set_sku(skus[v.item_id]);
          if (v.location_id) out->set_location(codes[*v.location_id]);
          out->set_bucket(static_cast<v1::Bucket>(v.bucket));
          out->set_recorded(v.recorded);
          out->set_expected(v.expected);
        }
        response.set_accounts_checked(storage::CountAccounts(tx));
        return response;
      });
}

// ------------------------------------------------------------------------ change feed

absl::StatusOr<v1::ListChangesResponse> Books::ListChanges(const v1::ListChangesRequest& request) {
  if (request.after_sequence() < 0) {
    return InvalidArgument("after_sequence", "after_sequence must not be negative");
  }
  const int page_size = request.page_size() <= 0 ? 100 : std::min(request.page_size(), 1000);
  return Read<v1::ListChangesResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::ListChangesResponse> {
    v1::ListChangesResponse response;
    response.set_last_sequence(request.after_sequence());
    for (const EventRow& row : storage::ListEvents(tx, request.after_sequence(), page_size)) {
      v1::ChangeEvent* event = response.add_events();
      if (!event->ParseFromString(row.payload)) {
        return absl::InternalError("unreadable change event");
      }
      event->set_sequence(row.sequence);
      *event->mutable_commit_time() = ToProto(row.commit_time);
      response.set_last_sequence(row.sequence);
    }
    return response;
  });
}

absl::StatusOr<double> Books::SweeperLagSeconds() {
  return Read<double>(
      db_, [](Tx& tx) -> absl::StatusOr<double> { return storage::SweeperLagSeconds(tx); });
}

}  // namespace kura::ledger
