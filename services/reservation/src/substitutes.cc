#include "substitutes.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/transaction.h"

namespace kura::reservation {
namespace {

constexpr int kMaxSubstitutes = 20;

}  // namespace

absl::StatusOr<v1::SetSubstitutesResponse> Substitutes::Set(
    const v1::SetSubstitutesRequest& request, std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  if (request.substitute_skus_size() > kMaxSubstitutes) {
    return InvalidArgument("substitute_skus", "at most 20 substitutes");
  }
  std::set<std::string> seen;
  for (int i = 0; i < request.substitute_skus_size(); ++i) {
    const std::string& sku = request.substitute_skus(i);
    std::string at = absl::StrCat("substitute_skus[", i, "]");
    RETURN_IF_ERROR(ValidateSku(at, sku));
    if (sku == request.sku()) return InvalidArgument(at, "an item cannot substitute itself");
    if (!seen.insert(sku).second) return InvalidArgument(at, "each substitute may appear once");
  }
  // Every SKU must be in the catalog (ITEM_NOT_FOUND otherwise).
  std::vector<std::string> skus = {request.sku()};
  skus.insert(skus.end(), request.substitute_skus().begin(), request.substitute_skus().end());
  for (const std::string& sku : skus) {
    ledger_v1::GetItemRequest get;
    get.set_sku(sku);
    RETURN_IF_ERROR(
        ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetItem, get, deadline)
            .status());
  }
  RETURN_IF_ERROR(
      db_.Run<bool>([&](pqxx::connection& c) {
           return pg::RunInTransaction<bool>(
               c, {}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                 // Concurrent Sets of one item take turns (a new item has no rows to lock yet).
                 tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('kura.substitutes.' || $1))",
                                request.sku());
                 tx.exec_params("DELETE FROM substitutes WHERE sku = $1", request.sku());
                 for (int i = 0; i < request.substitute_skus_size(); ++i) {
                   tx.exec_params("INSERT INTO substitutes VALUES ($1, $2, $3)", request.sku(), i,
                                  request.substitute_skus(i));
                 }
                 return true;
               });
         })
          .status());
  v1::SetSubstitutesResponse out;
  *out.mutable_substitute_skus() = request.substitute_skus();
  return out;
}

absl::StatusOr<v1::SuggestAlternativesResponse> Substitutes::Suggest(
    const v1::SuggestAlternativesRequest& request, std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  if (request.channel().empty() == request.store().empty()) {
    return InvalidArgument("channel", "give exactly one of channel and store");
  }
  if (!request.channel().empty()) RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  if (!request.store().empty()) RETURN_IF_ERROR(ValidateCode("store", request.store()));
  if (request.quantity() <= 0 || request.quantity() > 1'000'000) {
    return InvalidArgument("quantity", "quantity must be between 1 and 1,000,000");
  }
  // The item, its variants and its explicit substitutes.
  ledger_v1::GetItemRequest get;
  get.set_sku(request.sku());
  ASSIGN_OR_RETURN(
      auto item,
      ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetItem, get, deadline));
  std::map<std::string, ledger_v1::Item> candidates;
  if (!item.item().product_group().empty()) {
    ledger_v1::ListItemsRequest list;
    list.set_product_group(item.item().product_group());
    list.set_page_size(1000);
    ASSIGN_OR_RETURN(auto variants,
                     ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::ListItems,
                                  list, deadline));
    for (const auto& v : variants.items()) {
      if (v.sku() != request.sku()) candidates[v.sku()] = v;
    }
  }
  ASSIGN_OR_RETURN(auto explicit_skus,
                   db_.Run<std::vector<std::string>>(
                       [&](pqxx::connection& c) -> absl::StatusOr<std::vector<std::string>> {
                         pqxx::nontransaction tx(c);
                         std::vector<std::string> out;
                         for (const auto& row : tx.exec_params(
                                  "SELECT substitute_sku FROM substitutes WHERE sku = $1 "
                                  "ORDER BY position",
                                  request.sku())) {
                           out.push_back(row[0].as<std::string>());
                         }
                         return out;
                       }));
  for (const std::string& sku : explicit_skus) {
    if (candidates.count(sku)) continue;
    ledger_v1::GetItemRequest one;
    one.set_sku(sku);
    auto found =
        ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetItem, one, deadline);
    if (found.ok()) candidates[sku] = found->item();
  }
  v1::SuggestAlternativesResponse out;
  if (!candidates.empty()) {
    RETURN_IF_ERROR(AddInStock(request, item.item(), candidates, explicit_skus, deadline, &out));
  }

  // Last, the item itself as a pre-order, when it takes them and has room.
  auto preorder = preorders_.Get(request.sku(), deadline);
  if (preorder.ok() && preorder->enabled() && preorder->available() >= request.quantity()) {
    v1::Alternative* a = out.add_alternatives();
    a->set_sku(request.sku());
    a->set_name(item.item().name());
    a->set_kind(v1::ALTERNATIVE_KIND_PREORDER);
    a->set_available(preorder->available());
    *a->mutable_expected_at() = preorder->expected_at();
  } else if (!preorder.ok() && ErrorReason(preorder.status()) != "PREORDER_ITEM_NOT_FOUND") {
    return preorder.status();
  }
  return out;
}

absl::Status Substitutes::AddInStock(const v1::SuggestAlternativesRequest& request,
                                     const ledger_v1::Item& item,
                                     const std::map<std::string, ledger_v1::Item>& candidates,
                                     const std::vector<std::string>& explicit_skus,
                                     std::optional<absl::Time> deadline,
                                     v1::SuggestAlternativesResponse* response) {
  v1::SuggestAlternativesResponse& out = *response;
  // What each can promise where asked.
  ledger_v1::GetAvailabilityRequest availability;
  for (const auto& [sku, _] : candidates) availability.add_skus(sku);
  if (!request.channel().empty()) {
    ledger_v1::GetChannelRequest channel;
    channel.set_code(request.channel());
    ASSIGN_OR_RETURN(auto found,
                     ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetChannel,
                                  channel, deadline));
    for (const auto& l : found.channel().location_codes()) availability.add_locations(l);
    availability.add_channels(request.channel());
  } else {
    availability.add_locations(request.store());
  }
  ASSIGN_OR_RETURN(auto rows,
                   ledger_.Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::GetAvailability,
                                availability, deadline));
  std::map<std::string, int64_t> available;
  for (const auto& row : rows.rows()) {
    available[row.sku()] += std::max<int64_t>(0, row.available_to_promise());
  }

  auto add = [&](const ledger_v1::Item& c, v1::AlternativeKind kind,
                 std::vector<std::string> differs) {
    v1::Alternative* a = out.add_alternatives();
    a->set_sku(c.sku());
    a->set_name(c.name());
    a->set_kind(kind);
    for (auto& d : differs) a->add_differs_in(std::move(d));
    a->set_available(available[c.sku()]);
  };
  std::set<std::string> taken;
  for (const std::string& sku : explicit_skus) {
    auto it = candidates.find(sku);
    if (it == candidates.end() || available[sku] < request.quantity()) continue;
    add(it->second, v1::ALTERNATIVE_KIND_EXPLICIT, {});
    taken.insert(sku);
  }
  // Variants ranked by how many attributes differ (same color other size before both differing).
  std::vector<std::pair<std::vector<std::string>, const ledger_v1::Item*>> variants;
  for (const auto& [sku, c] : candidates) {
    if (taken.count(sku) || c.product_group() != item.product_group() ||
        available[sku] < request.quantity()) {
      continue;
    }
    std::set<std::string> keys;
    for (const auto& [k, _] : c.attributes()) keys.insert(k);
    for (const auto& [k, _] : item.attributes()) keys.insert(k);
    std::vector<std::string> differs;
    for (const auto& k : keys) {
      auto a = c.attributes().find(k);
      auto b = item.attributes().find(k);
      if (a == c.attributes().end() || b == item.attributes().end() || a->second != b->second) {
        differs.push_back(k);
      }
    }
    variants.push_back({std::move(differs), &c});
  }
  std::stable_sort(variants.begin(), variants.end(),
                   [](const auto& x, const auto& y) { return x.first.size() < y.first.size(); });
  for (auto& [differs, c] : variants) add(*c, v1::ALTERNATIVE_KIND_VARIANT, std::move(differs));
  return absl::OkStatus();
}

}  // namespace kura::reservation
