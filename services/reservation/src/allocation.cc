#include "allocation.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kura/base/claim_token.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/log/log.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::reservation {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;

// How long an allocation pass keeps its turn without a write (each write renews it).
constexpr absl::Duration kPassLease = absl::Minutes(2);

constexpr int kQuota = 1, kRatio = 2, kSafety = 3;
constexpr int64_t kMaxUnits = 1'000'000'000;
constexpr int kDay = 24 * 60;

struct Rule {
  int64_t id = 0;
  std::string sku, group, location, channel;
  int kind = 0;
  int64_t value = 0;
  bool scheduled = false;
  int weekdays = 0;  // bit d-1 for ISO weekday d; 0 every day
  int start = 0, end = kDay;
  int64_t update_micros = 0;
};

const char kSelect[] =
    "SELECT rule_id, sku, product_group, location, channel, kind, value, scheduled, weekdays, "
    "start_minute, end_minute, (extract(epoch FROM update_time) * 1000000)::bigint "
    "FROM allocation_rules";

Rule FromRow(const pqxx::row& r) {
  return Rule{r[0].as<int64_t>(),     r[1].as<std::string>(), r[2].as<std::string>(),
              r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<int>(),
              r[6].as<int64_t>(),     r[7].as<bool>(),        r[8].as<int>(),
              r[9].as<int>(),         r[10].as<int>(),        r[11].as<int64_t>()};
}

std::string Clock(int minute) { return absl::StrFormat("%02d:%02d", minute / 60, minute % 60); }

bool ParseClock(const std::string& text, int* minute) {
  int h = 0, m = 0;
  if (text.size() != 5 || text[2] != ':' || !absl::SimpleAtoi(text.substr(0, 2), &h) ||
      !absl::SimpleAtoi(text.substr(3, 2), &m) || m < 0 || m > 59 || h < 0 || h > 24 ||
      (h == 24 && m != 0)) {
    return false;
  }
  *minute = h * 60 + m;
  return true;
}

v1::AllocationRule ToProto(const Rule& r) {
  v1::AllocationRule out;
  out.set_rule_id(r.id);
  out.set_sku(r.sku);
  out.set_product_group(r.group);
  out.set_location(r.location);
  out.set_channel(r.channel);
  if (r.kind == kQuota) out.set_quota(r.value);
  if (r.kind == kRatio) out.set_ratio_basis_points(static_cast<int32_t>(r.value));
  if (r.kind == kSafety) out.set_safety_stock(r.value);
  if (r.scheduled) {
    auto* s = out.mutable_schedule();
    for (int d = 1; d <= 7; ++d) {
      if (r.weekdays & (1 << (d - 1))) s->add_weekdays(d);
    }
    s->set_start(Clock(r.start));
    s->set_end(Clock(r.end));
  }
  *out.mutable_update_time() = MicrosToProto(r.update_micros);
  return out;
}

absl::StatusOr<Rule> FromProto(const v1::AllocationRule& in) {
  Rule r;
  r.id = in.rule_id();
  if (r.id < 0) return InvalidArgument("rule.rule_id", "rule_id must not be negative");
  if (in.sku().empty() == in.product_group().empty()) {
    return InvalidArgument("rule.sku", "set exactly one of sku and product_group");
  }
  if (!in.sku().empty()) RETURN_IF_ERROR(ValidateSku("rule.sku", in.sku()));
  if (!in.product_group().empty()) {
    RETURN_IF_ERROR(ValidateRef("rule.product_group", in.product_group()));
  }
  RETURN_IF_ERROR(ValidateCode("rule.location", in.location()));
  r.sku = in.sku();
  r.group = in.product_group();
  r.location = in.location();
  r.channel = in.channel();
  switch (in.value_case()) {
    case v1::AllocationRule::kQuota:
      r.kind = kQuota;
      r.value = in.quota();
      if (r.value < 0 || r.value > kMaxUnits) {
        return InvalidArgument("rule.quota", "quota must be between 0 and 1,000,000,000");
      }
      break;
    case v1::AllocationRule::kRatioBasisPoints:
      r.kind = kRatio;
      r.value = in.ratio_basis_points();
      if (r.value < 1 || r.value > 10000) {
        return InvalidArgument("rule.ratio_basis_points",
                               "ratio_basis_points must be between 1 and 10000");
      }
      break;
    case v1::AllocationRule::kSafetyStock:
      r.kind = kSafety;
      r.value = in.safety_stock();
      if (r.value < 0 || r.value > kMaxUnits) {
        return InvalidArgument("rule.safety_stock",
                               "safety_stock must be between 0 and 1,000,000,000");
      }
      break;
    default:
      return InvalidArgument("rule.value", "set one of quota, ratio_basis_points, safety_stock");
  }
  if (r.kind == kSafety && !r.channel.empty()) {
    return InvalidArgument("rule.channel", "a safety stock rule has no channel");
  }
  if (r.kind != kSafety) RETURN_IF_ERROR(ValidateCode("rule.channel", r.channel));
  if (in.has_schedule()) {
    const auto& s = in.schedule();
    r.scheduled = true;
    for (int d : s.weekdays()) {
      if (d < 1 || d > 7) {
        return InvalidArgument("rule.schedule.weekdays", "weekdays are 1 (Monday) to 7 (Sunday)");
      }
      r.weekdays |= 1 << (d - 1);
    }
    if (!s.start().empty() && !ParseClock(s.start(), &r.start)) {
      return InvalidArgument("rule.schedule.start", "start must be HH:MM, 00:00 to 24:00");
    }
    if (!s.end().empty() && !ParseClock(s.end(), &r.end)) {
      return InvalidArgument("rule.schedule.end", "end must be HH:MM, 00:00 to 24:00");
    }
    if (r.start == r.end) {
      return InvalidArgument("rule.schedule.end", "the schedule's start and end are the same");
    }
  }
  return r;
}

// Whether a rule applies at a local time.
bool Active(const Rule& r, absl::CivilMinute local) {
  if (!r.scheduled) return true;
  const absl::CivilDay day(local);
  auto on = [&](absl::CivilDay d) {
    const int iso = (static_cast<int>(absl::GetWeekday(d)) + 1);  // abseil: Monday is 0
    return r.weekdays == 0 || (r.weekdays & (1 << (iso - 1))) != 0;
  };
  const int minute = local.hour() * 60 + local.minute();
  if (r.start < r.end) return on(day) && r.start <= minute && minute < r.end;
  return (on(day) && minute >= r.start) || (on(day - 1) && minute < r.end);
}

// The rule that wins for a key: an item's over its group's, scheduled over always, newer over
// older. Null when none applies.
const Rule* Choose(const std::vector<Rule>& rules, const std::string& sku, const std::string& group,
                   const std::string& location, const std::string& channel,
                   absl::CivilMinute local) {
  const Rule* best = nullptr;
  auto rank = [&](const Rule& r) { return std::make_tuple(!r.sku.empty(), r.scheduled, r.id); };
  for (const Rule& r : rules) {
    if (r.location != location || r.channel != channel) continue;
    if (!(r.sku == sku && !sku.empty()) && !(r.group == group && !group.empty())) continue;
    if (!Active(r, local)) continue;
    if (best == nullptr || rank(r) > rank(*best)) best = &r;
  }
  return best;
}

std::string ValueText(const Rule* r) {
  if (r == nullptr) return "none";
  const char* kind = r->kind == kQuota ? "quota" : r->kind == kRatio ? "ratio" : "safety";
  return absl::StrCat(kind, " ", r->value);
}

std::string Reason(const Rule* r, const std::string& time_zone) {
  if (r == nullptr) return "no rule applies now";
  std::string scope =
      r->sku.empty() ? absl::StrCat("product group ", r->group) : absl::StrCat("item ", r->sku);
  std::string when = "always";
  if (r->scheduled) {
    static const char* kNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    std::vector<std::string> days;
    for (int d = 0; d < 7; ++d) {
      if (r->weekdays & (1 << d)) days.push_back(kNames[d]);
    }
    when = absl::StrCat(days.empty() ? "every day" : absl::StrJoin(days, ","), " ", Clock(r->start),
                        "-", Clock(r->end), " ", time_zone);
  }
  return absl::StrCat("rule ", r->id, ": ", scope, ", ", when);
}

// Every rule, by id, read on `c`.
std::vector<Rule> ReadRules(pqxx::connection& c) {
  std::vector<Rule> out;
  for (const auto& row : pqxx::nontransaction(c).exec(std::string(kSelect) + " ORDER BY rule_id")) {
    out.push_back(FromRow(row));
  }
  return out;
}

absl::StatusOr<std::vector<Rule>> LoadRules(pg::Database& db) {
  return db.Run<std::vector<Rule>>(
      [](pqxx::connection& c) -> absl::StatusOr<std::vector<Rule>> { return ReadRules(c); });
}

// Each location's time zone, looked up once per use.
class TimeZones {
 public:
  TimeZones(const LedgerClient& ledger, std::optional<absl::Time> deadline)
      : ledger_(ledger), deadline_(deadline) {}
  absl::StatusOr<std::pair<std::string, absl::TimeZone>> Of(const std::string& location) {
    auto it = zones_.find(location);
    if (it != zones_.end()) return it->second;
    ledger_v1::GetLocationRequest request;
    request.set_code(location);
    ASSIGN_OR_RETURN(auto response,
                     ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetLocation,
                                  request, deadline_));
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(response.location().time_zone(), &tz)) {
      return absl::InternalError(absl::StrCat("time zone ", response.location().time_zone(),
                                              " of location ", location, " is not installed"));
    }
    return zones_[location] = {response.location().time_zone(), tz};
  }

 private:
  const LedgerClient& ledger_;
  std::optional<absl::Time> deadline_;
  std::map<std::string, std::pair<std::string, absl::TimeZone>> zones_;
};

// The items of a product group, from the ledger's catalog.
absl::StatusOr<std::vector<std::string>> GroupItems(const LedgerClient& ledger,
                                                    const std::string& group,
                                                    std::optional<absl::Time> deadline) {
  std::vector<std::string> out;
  ledger_v1::ListItemsRequest request;
  request.set_product_group(group);
  request.set_page_size(1000);
  do {
    ASSIGN_OR_RETURN(auto page,
                     ledger.Call(ledger.catalog(), &ledger_v1::CatalogService::Stub::ListItems,
                                 request, deadline));
    for (const auto& item : page.items()) out.push_back(item.sku());
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return out;
}

// Whether a pass after a change wrote everything (else the periodic pass will).
bool Applied(const absl::StatusOr<Allocation::Pass>& pass) {
  if (!pass.ok()) {
    log::Warn("allocation stored; the ledger is updated on a later pass",
              {{"error", std::string(pass.status().message())}});
  }
  return pass.ok() && pass->ran;
}

}  // namespace

absl::StatusOr<v1::SetAllocationRuleResponse> Allocation::Set(
    const v1::SetAllocationRuleRequest& request, std::optional<absl::Time> deadline) {
  ASSIGN_OR_RETURN(Rule rule, FromProto(request.rule()));
  // What the rule names must exist.
  if (!rule.sku.empty()) {
    ledger_v1::GetItemRequest get;
    get.set_sku(rule.sku);
    RETURN_IF_ERROR(
        ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetItem, get, deadline)
            .status());
  }
  ledger_v1::GetLocationRequest get_location;
  get_location.set_code(rule.location);
  RETURN_IF_ERROR(ledger_
                      .Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetLocation,
                            get_location, deadline)
                      .status());
  if (!rule.channel.empty()) {
    ledger_v1::GetChannelRequest get;
    get.set_code(rule.channel);
    ASSIGN_OR_RETURN(auto channel,
                     ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetChannel,
                                  get, deadline));
    const auto& served = channel.channel().location_codes();
    if (std::find(served.begin(), served.end(), rule.location) == served.end()) {
      return MakeError(
          absl::StatusCode::kFailedPrecondition, "LOCATION_NOT_IN_CHANNEL",
          absl::StrCat("location ", rule.location, " does not serve channel ", rule.channel),
          {{"location", rule.location}, {"channel", rule.channel}});
    }
  }
  auto stored = db_.Run<Rule>([&](pqxx::connection& c) {
    return pg::RunInTransaction<Rule>(
        c, {.deadline = deadline}, [&](Tx& tx) -> absl::StatusOr<Rule> {
          const std::string now = SqlTime(clock_.Now());
          pqxx::result rows;
          if (rule.id == 0) {
            rows = tx.exec_params(
                "INSERT INTO allocation_rules (sku, product_group, location, channel, kind, value, "
                "scheduled, weekdays, start_minute, end_minute, update_time) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING rule_id",
                rule.sku, rule.group, rule.location, rule.channel, rule.kind, rule.value,
                rule.scheduled, rule.weekdays, rule.start, rule.end, now);
          } else {
            rows = tx.exec_params(
                "UPDATE allocation_rules SET sku = $2, product_group = $3, location = $4, "
                "channel = $5, kind = $6, value = $7, scheduled = $8, weekdays = $9, "
                "start_minute = $10, end_minute = $11, update_time = $12 WHERE rule_id = $1 "
                "RETURNING rule_id",
                rule.id, rule.sku, rule.group, rule.location, rule.channel, rule.kind, rule.value,
                rule.scheduled, rule.weekdays, rule.start, rule.end, now);
          }
          if (rows.empty()) {
            return MakeError(absl::StatusCode::kNotFound, "ALLOCATION_RULE_NOT_FOUND",
                             absl::StrCat("no allocation rule ", rule.id),
                             {{"rule_id", std::to_string(rule.id)}});
          }
          return FromRow(tx.exec_params1(std::string(kSelect) + " WHERE rule_id = $1",
                                         rows[0][0].as<int64_t>()));
        });
  });
  if (!stored.ok()) return stored.status();
  v1::SetAllocationRuleResponse out;
  *out.mutable_rule() = ToProto(*stored);
  out.set_applied(Applied(Apply(deadline)));
  return out;
}

absl::StatusOr<v1::DeleteAllocationRuleResponse> Allocation::Delete(
    const v1::DeleteAllocationRuleRequest& request, std::optional<absl::Time> deadline) {
  if (request.rule_id() <= 0) return InvalidArgument("rule_id", "rule_id must be positive");
  auto deleted = db_.Run<bool>([&](pqxx::connection& c) -> absl::StatusOr<bool> {
    pqxx::nontransaction tx(c);
    return !tx.exec_params("DELETE FROM allocation_rules WHERE rule_id = $1 RETURNING 1",
                           request.rule_id())
                .empty();
  });
  if (!deleted.ok()) return deleted.status();
  if (!*deleted) {
    return MakeError(absl::StatusCode::kNotFound, "ALLOCATION_RULE_NOT_FOUND",
                     absl::StrCat("no allocation rule ", request.rule_id()),
                     {{"rule_id", std::to_string(request.rule_id())}});
  }
  v1::DeleteAllocationRuleResponse out;
  out.set_applied(Applied(Apply(deadline)));
  return out;
}

absl::StatusOr<v1::ListAllocationRulesResponse> Allocation::List(
    const v1::ListAllocationRulesRequest& request) {
  if (!request.sku().empty()) RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  RETURN_IF_ERROR(ValidateRef("product_group", request.product_group()));
  if (!request.location().empty()) RETURN_IF_ERROR(ValidateCode("location", request.location()));
  ASSIGN_OR_RETURN(auto rules, LoadRules(db_));
  v1::ListAllocationRulesResponse out;
  for (const Rule& r : rules) {
    if (!request.sku().empty() && r.sku != request.sku()) continue;
    if (!request.product_group().empty() && r.group != request.product_group()) continue;
    if (!request.location().empty() && r.location != request.location()) continue;
    *out.add_rules() = ToProto(r);
  }
  return out;
}

absl::StatusOr<v1::GetEffectiveAllocationResponse> Allocation::Effective(
    const v1::GetEffectiveAllocationRequest& request, std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  RETURN_IF_ERROR(ValidateCode("location", request.location()));
  ledger_v1::GetItemRequest get_item;
  get_item.set_sku(request.sku());
  ASSIGN_OR_RETURN(auto item,
                   ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetItem,
                                get_item, deadline));
  const std::string& group = item.item().product_group();
  TimeZones zones(ledger_, deadline);
  ASSIGN_OR_RETURN(auto zone, zones.Of(request.location()));
  ASSIGN_OR_RETURN(auto rules, LoadRules(db_));
  auto applied = db_.Run<std::map<std::string, std::string>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::map<std::string, std::string>> {
        pqxx::nontransaction tx(c);
        std::map<std::string, std::string> out;
        for (const auto& row :
             tx.exec_params("SELECT channel, value || coalesce(' (writing ' || pending || ')', '') "
                            "FROM applied_allocations WHERE sku = $1 AND location = $2",
                            request.sku(), request.location())) {
          out[row[0].as<std::string>()] = row[1].as<std::string>();
        }
        return out;
      });
  if (!applied.ok()) return applied.status();

  const absl::Time now = clock_.Now();
  const absl::CivilMinute local = absl::ToCivilMinute(now, zone.second);
  v1::GetEffectiveAllocationResponse out;
  out.set_sku(request.sku());
  out.set_location(request.location());
  out.set_time_zone(zone.first);
  out.set_local_time(absl::FormatTime("%Y-%m-%d %H:%M %a", now, zone.second));
  std::set<std::string> channels;
  for (const Rule& r : rules) {
    if (r.location == request.location() && !r.channel.empty() &&
        (r.sku == request.sku() || (!group.empty() && r.group == group))) {
      channels.insert(r.channel);
    }
  }
  for (const auto& [channel, _] : *applied) {
    if (!channel.empty()) channels.insert(channel);
  }
  auto add = [&](const std::string& channel) {
    const Rule* r = Choose(rules, request.sku(), group, request.location(), channel, local);
    v1::EffectiveValue* v = out.add_values();
    v->set_channel(channel);
    if (r != nullptr) {
      v->set_rule_id(r->id);
      if (r->kind == kQuota) v->set_quota(r->value);
      if (r->kind == kRatio) v->set_ratio_basis_points(static_cast<int32_t>(r->value));
      if (r->kind == kSafety) v->set_safety_stock(r->value);
    }
    v->set_reason(Reason(r, zone.first));
    auto it = applied->find(channel);
    v->set_in_ledger(it == applied->end() ? "none" : it->second);
  };
  for (const std::string& channel : channels) {
    if (!channel.empty()) add(channel);
  }
  add("");
  return out;
}

absl::StatusOr<Allocation::Pass> Allocation::Apply(std::optional<absl::Time> deadline) {
  // One pass at a time across replicas: a lease in the database, taken here, renewed with each
  // write's intent and given up at the end; no connection is held across the ledger calls.
  const std::string holder = NewClaimToken();
  ASSIGN_OR_RETURN(bool taken, pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
                     const absl::Time now = clock_.Now();
                     return !tx.exec_params(
                                   "INSERT INTO allocation_pass (id, holder, until) "
                                   "VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET "
                                   "holder = $1, until = $2 WHERE allocation_pass.until <= $3 "
                                   "RETURNING 1",
                                   holder, SqlTime(now + kPassLease), SqlTime(now))
                                 .empty();
                   }));
  if (!taken) return Pass{};
  auto pass = RunPass(holder, deadline);
  auto released = pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
    tx.exec_params("UPDATE allocation_pass SET until = '-infinity' WHERE id = 1 AND holder = $1",
                   holder);
    return true;
  });
  if (!released.ok()) return released.status();  // the lease lapses by itself
  return pass;
}

absl::StatusOr<Allocation::Pass> Allocation::RunPass(const std::string& holder,
                                                     std::optional<absl::Time> deadline) {
  ASSIGN_OR_RETURN(const std::vector<Rule> rules, LoadRules(db_));
  // Every key a rule covers: (sku, location, channel), with the item's product group.
  std::map<std::string, std::string> group_of;
  std::set<std::tuple<std::string, std::string, std::string>> keys;
  for (const Rule& r : rules) {
    if (!r.sku.empty()) {
      keys.insert({r.sku, r.location, r.channel});
      continue;
    }
    ASSIGN_OR_RETURN(auto skus, GroupItems(ledger_, r.group, deadline));
    for (const auto& sku : skus) {
      group_of[sku] = r.group;
      keys.insert({sku, r.location, r.channel});
    }
  }
  // What the ledger was told; `pending` is a write that was started and not confirmed.
  struct Applied {
    std::string value;
    std::optional<std::string> pending;
    int version;
  };
  using AppliedMap = std::map<std::tuple<std::string, std::string, std::string>, Applied>;
  ASSIGN_OR_RETURN(
      AppliedMap applied, pg::ReadEach<AppliedMap>(db_, [](Tx& tx) {
        AppliedMap out;
        for (const auto& row : tx.exec("SELECT sku, location, channel, value, "
                                       "pending, version FROM applied_allocations")) {
          out[{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()}] = {
              row[3].as<std::string>(),
              row[4].is_null() ? std::nullopt : std::optional(row[4].as<std::string>()),
              row[5].as<int>()};
        }
        return out;
      }));
  for (const auto& [key, _] : applied) keys.insert(key);

  TimeZones zones(ledger_, deadline);
  const absl::Time now = clock_.Now();
  Pass pass{.ran = true};
  absl::Status first_error;  // of a key not written; the others are
  for (const auto& key : keys) {
    const auto& [sku, location, channel] = key;
    auto zone = zones.Of(location);
    if (!zone.ok()) {
      if (first_error.ok()) first_error = zone.status();
      continue;
    }
    auto g = group_of.find(sku);
    const Rule* r = Choose(rules, sku, g == group_of.end() ? "" : g->second, location, channel,
                           absl::ToCivilMinute(now, zone->second));
    const std::string value = ValueText(r);
    auto was = applied.find(key);
    if (was == applied.end() ? value == "none"
                             : !was->second.pending && was->second.value == value) {
      continue;
    }
    // Record the write before making it, so that one cut off is made again on the next pass
    // (with a new version, hence a new ledger request id) rather than taken as done.
    const int version = was == applied.end() ? 1 : was->second.version + 1;
    ASSIGN_OR_RETURN(
        bool ours, pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
          if (tx.exec_params("UPDATE allocation_pass SET until = $2 WHERE id = 1 AND holder = $1 "
                             "RETURNING 1",
                             holder, SqlTime(clock_.Now() + kPassLease))
                  .empty()) {
            return false;  // the lease lapsed and another pass took over
          }
          tx.exec_params(
              "INSERT INTO applied_allocations (sku, location, channel, value, pending, version) "
              "VALUES ($1, $2, $3, 'none', $4, $5) ON CONFLICT (sku, location, channel) "
              "DO UPDATE SET pending = $4, version = $5",
              sku, location, channel, value, version);
          return true;
        }));
    if (!ours) return absl::AbortedError("the allocation pass lost its lease to another");
    const std::string request_id = absl::StrCat(
        "rsv-alloc-", RequestDigest(absl::StrCat(sku, "|", location, "|", channel)), "-", version);
    absl::Status written;
    if (channel.empty()) {
      ledger_v1::SetSafetyStockRequest set;
      set.set_request_id(request_id);
      set.set_sku(sku);
      set.set_location(location);
      set.set_quantity(r == nullptr ? 0 : r->value);
      written = ledger_
                    .Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::SetSafetyStock, set,
                          deadline)
                    .status();
    } else {
      ledger_v1::SetChannelAllocationRequest set;  // neither quota nor ratio clears the cap
      set.set_request_id(request_id);
      set.set_channel(channel);
      set.set_sku(sku);
      set.set_location(location);
      if (r != nullptr && r->kind == kQuota) set.set_quota(r->value);
      if (r != nullptr && r->kind == kRatio) {
        set.set_ratio_basis_points(static_cast<int32_t>(r->value));
      }
      written = ledger_
                    .Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::SetChannelAllocation,
                          set, deadline)
                    .status();
    }
    if (!written.ok()) {
      log::Warn("allocation not written to the ledger",
                {{"sku", sku},
                 {"location", location},
                 {"channel", channel},
                 {"error", std::string(written.message())}});
      if (first_error.ok()) first_error = written;
      continue;
    }
    RETURN_IF_ERROR(pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
                      tx.exec_params(
                          "UPDATE applied_allocations SET value = pending, pending = NULL "
                          "WHERE sku = $1 AND location = $2 AND channel = $3 AND version = $4",
                          sku, location, channel, version);
                      return true;
                    }).status());
    ++pass.writes;
  }
  if (!first_error.ok()) return first_error;
  return pass;
}

}  // namespace kura::reservation
