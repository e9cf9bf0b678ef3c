#include "reservation_commands.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "args.h"
#include "kura/reservation/v1/allocation.grpc.pb.h"
#include "kura/reservation/v1/limits.grpc.pb.h"
#include "kura/reservation/v1/orders.grpc.pb.h"
#include "kura/reservation/v1/pickup.grpc.pb.h"
#include "kura/reservation/v1/preorders.grpc.pb.h"
#include "kura/reservation/v1/substitutes.grpc.pb.h"
#include "output.h"

namespace kura::ctl {
namespace {

namespace v1 = ::kura::reservation::v1;
using Stub = v1::OrderService::Stub;

const char kUsage[] =
    "reservation commands (--addr HOST:PORT, default $KURA_RESERVATION_ADDR or 127.0.0.1:7102;\n"
    "                      --json prints the API's JSON):\n"
    "  orders [--channel C] [--customer X] [--state STATE]   list orders, newest first\n"
    "         STATE: pending|confirmed|preordered|fulfilled|cancelled|expired|unfulfillable\n"
    "  orders unfulfillable [--channel C]             orders a platform accepted that the stock\n"
    "                                                 could not cover, why, and in-stock\n"
    "                                                 alternatives to the short item\n"
    "  orders get CHANNEL ORDER                       show one order with its allocations\n"
    "  orders place CHANNEL ORDER SKU=QTY... [--customer X] [--pickup STORE] [--preorder]\n"
    "  orders confirm|cancel CHANNEL ORDER\n"
    "  orders fulfil CHANNEL ORDER [SKU=QTY...] [--request-id R]   all that is left by default\n"
    "  limited                                        limited items, their counts and prices\n"
    "  limited get SKU\n"
    "  limited set SKU --from TIME --until TIME [--cap N] [--per-customer N]\n"
    "              [--markdown TIME=YEN]...   TIME: RFC 3339, e.g. 2026-12-01T10:00:00+09:00\n"
    "  substitutes SKU --channel C|--store S [--quantity N]   in-stock alternatives\n"
    "  substitutes set SKU [SUBSTITUTE...]            explicit substitutes, preferred first\n"
    "  allocation [--sku S] [--group G] [--location L]   channel allocation rules\n"
    "  allocation set --sku S|--group G --location L [--channel C]\n"
    "                 --quota N|--ratio PERCENT|--safety N [--days DAYS] [--from HH:MM]\n"
    "                 [--to HH:MM] [--rule ID]        a new rule, or replaces rule ID\n"
    "                 DAYS: ISO weekdays 1..7 or mon..sun, e.g. 1,2,3; schedules are in the\n"
    "                 location's time zone; --safety takes no --channel\n"
    "  allocation delete ID\n"
    "  allocation effective SKU LOCATION              what applies now, and why\n"
    "  preorders                                      pre-order items and their counts\n"
    "  preorders get SKU\n"
    "  preorders set SKU [--overbook PERCENT] [--disable]   replaces the item's settings\n"
    "  pickup check --channel C --store S SKU=QTY...  can the store hand over now; if not,\n"
    "                                                 which stores can, or when\n"
    "  pickup complete --channel C --order ORDER --store S [--request-id R]\n"
    "                                                 the customer collected the order\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "kura-ctl: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

// SKU=QTY arguments into order lines; false on a malformed one.
bool ParseLines(const std::vector<std::string>& args, size_t from,
                google::protobuf::RepeatedPtrField<v1::OrderLine>* lines) {
  for (size_t i = from; i < args.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(args[i], absl::MaxSplits('=', 1));
    int64_t quantity = 0;
    if (kv.first.empty() || !absl::SimpleAtoi(kv.second, &quantity)) return false;
    auto* line = lines->Add();
    line->set_sku(kv.first);
    line->set_quantity(quantity);
  }
  return true;
}

std::string State(v1::OrderState s) { return Short(v1::OrderState_Name(s), 12); }

void PrintOrder(const v1::Order& o, bool json) {
  if (json) {
    PrintJson(o);
    return;
  }
  std::string when = "expires " + FormatTime(o.expires_at());
  if (o.preorder()) {
    when = o.has_expected_at() ? "pre-order, expected " + FormatTime(o.expected_at()) : "pre-order";
  }
  if (o.state() == v1::ORDER_STATE_UNFULFILLABLE) {
    when = absl::StrCat(o.unfulfillable_reason(), ": ", o.unfulfillable_detail());
  }
  std::printf("order %s on %s: %s, customer %s%s, %s\n", o.external_order_id().c_str(),
              o.channel().c_str(), State(o.state()).c_str(), o.customer().c_str(),
              o.pickup_store().empty() ? "" : (", pickup at " + o.pickup_store()).c_str(),
              when.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : o.allocations()) {
    rows.push_back({a.sku(), a.location(), std::to_string(a.quantity()),
                    std::to_string(a.fulfilled_quantity()), a.hold_id()});
  }
  PrintTable({"SKU", "LOCATION", "QUANTITY", "HANDED_OVER", "HOLD"}, rows);
}

// Calls `each` with every order ListOrders answers to `r`, page by page; false when a call failed
// (the failure printed).
bool EachOrder(Stub& stub, v1::ListOrdersRequest r,
               const std::function<bool(const v1::Order&)>& each) {
  r.set_page_size(500);
  while (true) {
    auto page = Call(stub, &Stub::ListOrders, r);
    if (!page) return false;
    for (const auto& o : page->orders()) {
      if (!each(o)) return false;
    }
    if (page->next_page_token().empty()) return true;
    r.set_page_token(page->next_page_token());
  }
}

// Orders its platform accepted that the stock could not cover, newest first, each with what
// refused it and the alternatives in stock on its channel for the short item.
int Unfulfillable(const Args& args, Stub& stub, v1::SubstituteService::Stub& substitutes) {
  v1::ListOrdersRequest r;
  r.set_channel(args.Get("channel"));
  r.set_state(v1::ORDER_STATE_UNFULFILLABLE);
  std::vector<std::vector<std::string>> rows;
  const bool listed = EachOrder(stub, r, [&](const v1::Order& o) {
    std::string alternatives;
    if (!o.short_sku().empty()) {
      v1::SuggestAlternativesRequest suggest;
      suggest.set_sku(o.short_sku());
      suggest.set_channel(o.channel());
      int64_t wanted = 0;
      for (const auto& line : o.lines()) {
        if (line.sku() == o.short_sku()) wanted = line.quantity();
      }
      suggest.set_quantity(std::max<int64_t>(1, wanted));
      // Without alternatives (the item gone from the catalog, say) the order is listed anyway.
      auto found = Call(substitutes, &v1::SubstituteService::Stub::SuggestAlternatives, suggest);
      for (int i = 0; found && i < found->alternatives_size(); ++i) {
        const v1::Alternative& a = found->alternatives(i);
        if (alternatives.size() > 60) break;
        absl::StrAppend(&alternatives, alternatives.empty() ? "" : " ", a.sku(), "(", a.available(),
                        ")");
      }
    }
    if (args.Has("json")) {
      PrintJson(o);
    } else {
      rows.push_back({o.channel(), o.external_order_id(), o.unfulfillable_reason(), o.short_sku(),
                      FormatTime(o.create_time()), alternatives.empty() ? "-" : alternatives});
    }
    return true;
  });
  if (!listed) return 1;
  if (!args.Has("json")) {
    PrintTable({"CHANNEL", "ORDER", "REASON", "SHORT_SKU", "PLACED", "ALTERNATIVES(AVAILABLE)"},
               rows);
  }
  return 0;
}

int Orders(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.empty()) {
    v1::ListOrdersRequest r;
    r.set_channel(args.Get("channel"));
    r.set_customer(args.Get("customer"));
    if (args.Has("state")) {
      v1::OrderState state;
      std::string name = "ORDER_STATE_" + args.Get("state");
      for (char& c : name) c = static_cast<char>(std::toupper(c));
      if (!v1::OrderState_Parse(name, &state)) return UsageError("unknown --state");
      r.set_state(state);
    }
    std::vector<std::vector<std::string>> rows;
    const bool listed = EachOrder(stub, r, [&](const v1::Order& o) {
      if (json) {
        PrintJson(o);
        return true;
      }
      int64_t units = 0;
      for (const auto& line : o.lines()) units += line.quantity();
      rows.push_back({o.channel(), o.external_order_id(), State(o.state()), o.customer(),
                      std::to_string(units), FormatTime(o.create_time())});
      return true;
    });
    if (!listed) return 1;
    if (!json) PrintTable({"CHANNEL", "ORDER", "STATE", "CUSTOMER", "UNITS", "PLACED"}, rows);
    return 0;
  }
  if (pos.size() < 3) return UsageError("orders " + pos[0] + ": CHANNEL ORDER expected");
  const std::string& verb = pos[0];
  std::optional<v1::Order> order;
  if (verb == "get" && pos.size() == 3) {
    v1::GetOrderRequest r;
    r.set_channel(pos[1]);
    r.set_external_order_id(pos[2]);
    auto resp = Call(stub, &Stub::GetOrder, r);
    if (resp) order = resp->order();
  } else if (verb == "place") {
    v1::PlaceOrderRequest r;
    r.set_channel(pos[1]);
    r.set_external_order_id(pos[2]);
    r.set_customer(args.Get("customer"));
    r.set_pickup_store(args.Get("pickup"));
    r.set_preorder(args.Has("preorder"));
    if (!ParseLines(pos, 3, r.mutable_lines())) return UsageError("lines are SKU=QTY");
    auto resp = Call(stub, &Stub::PlaceOrder, r);
    if (resp) order = resp->order();
  } else if (verb == "confirm" && pos.size() == 3) {
    v1::ConfirmOrderRequest r;
    r.set_channel(pos[1]);
    r.set_external_order_id(pos[2]);
    auto resp = Call(stub, &Stub::ConfirmOrder, r);
    if (resp) order = resp->order();
  } else if (verb == "cancel" && pos.size() == 3) {
    v1::CancelOrderRequest r;
    r.set_channel(pos[1]);
    r.set_external_order_id(pos[2]);
    auto resp = Call(stub, &Stub::CancelOrder, r);
    if (resp) order = resp->order();
  } else if (verb == "fulfil") {
    v1::FulfilOrderRequest r;
    r.set_request_id(args.Get("request-id", NewRequestId()));
    r.set_channel(pos[1]);
    r.set_external_order_id(pos[2]);
    if (!ParseLines(pos, 3, r.mutable_lines())) return UsageError("lines are SKU=QTY");
    auto resp = Call(stub, &Stub::FulfilOrder, r);
    if (resp) order = resp->order();
  } else {
    return UsageError("unknown orders command");
  }
  if (!order) return 1;
  PrintOrder(*order, json);
  return 0;
}

bool ParseTime(const std::string& text, google::protobuf::Timestamp* out) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return false;
  out->set_seconds(absl::ToUnixSeconds(t));
  return true;
}

void PrintLimited(const v1::LimitedItem& item, bool json,
                  std::vector<std::vector<std::string>>* rows) {
  if (json) {
    PrintJson(item);
    return;
  }
  auto limit = [](int64_t n) { return n == 0 ? std::string("-") : std::to_string(n); };
  rows->push_back({item.sku(), FormatTime(item.window_start()), FormatTime(item.window_end()),
                   item.window_open() ? "open" : "closed", limit(item.total_cap()),
                   limit(item.per_customer_limit()), std::to_string(item.reserved()),
                   limit(item.current_price_yen())});
}

int Limited(const Args& args, v1::LimitedItemService::Stub& stub) {
  using LStub = v1::LimitedItemService::Stub;
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  std::vector<std::vector<std::string>> rows;
  if (pos.empty()) {
    auto resp = Call(stub, &LStub::ListLimitedItems, v1::ListLimitedItemsRequest());
    if (!resp) return 1;
    for (const auto& item : resp->items()) PrintLimited(item, json, &rows);
  } else if (pos[0] == "get" && pos.size() == 2) {
    v1::GetLimitedItemRequest r;
    r.set_sku(pos[1]);
    auto resp = Call(stub, &LStub::GetLimitedItem, r);
    if (!resp) return 1;
    PrintLimited(resp->item(), json, &rows);
  } else if (pos[0] == "set" && pos.size() == 2) {
    v1::SetLimitedItemRequest r;
    v1::LimitedItem* item = r.mutable_item();
    item->set_sku(pos[1]);
    if (!ParseTime(args.Get("from"), item->mutable_window_start()) ||
        !ParseTime(args.Get("until"), item->mutable_window_end())) {
      return UsageError("--from and --until are RFC 3339 times");
    }
    int64_t n = 0;
    if (args.Has("cap")) {
      if (!absl::SimpleAtoi(args.Get("cap"), &n)) return UsageError("--cap is a number");
      item->set_total_cap(n);
    }
    if (args.Has("per-customer")) {
      if (!absl::SimpleAtoi(args.Get("per-customer"), &n)) {
        return UsageError("--per-customer is a number");
      }
      item->set_per_customer_limit(n);
    }
    for (const std::string& step : args.All("markdown")) {
      size_t eq = step.rfind('=');
      auto* markdown = item->add_markdowns();
      int64_t price = 0;
      if (eq == std::string::npos ||
          !ParseTime(step.substr(0, eq), markdown->mutable_starts_at()) ||
          !absl::SimpleAtoi(step.substr(eq + 1), &price)) {
        return UsageError("--markdown is TIME=YEN");
      }
      markdown->set_price_yen(price);
    }
    auto resp = Call(stub, &LStub::SetLimitedItem, r);
    if (!resp) return 1;
    PrintLimited(resp->item(), json, &rows);
  } else {
    return UsageError("unknown limited command");
  }
  if (!json) {
    PrintTable({"SKU", "FROM", "UNTIL", "WINDOW", "CAP", "PER_CUSTOMER", "RESERVED", "PRICE"},
               rows);
  }
  return 0;
}

int SubstitutesCommand(const Args& args, v1::SubstituteService::Stub& stub) {
  using SStub = v1::SubstituteService::Stub;
  const auto& pos = args.positional();
  if (pos.size() >= 2 && pos[0] == "set") {
    v1::SetSubstitutesRequest r;
    r.set_sku(pos[1]);
    for (size_t i = 2; i < pos.size(); ++i) r.add_substitute_skus(pos[i]);
    auto resp = Call(stub, &SStub::SetSubstitutes, r);
    if (!resp) return 1;
    if (args.Has("json")) {
      PrintJson(*resp);
    } else {
      std::printf("%s: %d substitutes\n", pos[1].c_str(), resp->substitute_skus_size());
    }
    return 0;
  }
  if (pos.size() != 1) return UsageError("substitutes SKU --channel C|--store S expected");
  v1::SuggestAlternativesRequest r;
  r.set_sku(pos[0]);
  r.set_channel(args.Get("channel"));
  r.set_store(args.Get("store"));
  int64_t quantity = 1;
  if (args.Has("quantity") && !absl::SimpleAtoi(args.Get("quantity"), &quantity)) {
    return UsageError("--quantity is a number");
  }
  r.set_quantity(quantity);
  auto resp = Call(stub, &SStub::SuggestAlternatives, r);
  if (!resp) return 1;
  if (args.Has("json")) {
    PrintJson(*resp);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : resp->alternatives()) {
    std::string differs;
    for (const auto& d : a.differs_in()) differs += (differs.empty() ? "" : ",") + d;
    rows.push_back({a.sku(), a.name(), Short(v1::AlternativeKind_Name(a.kind()), 17), differs,
                    std::to_string(a.available())});
  }
  PrintTable({"SKU", "NAME", "KIND", "DIFFERS_IN", "AVAILABLE"}, rows);
  return 0;
}

// Prints that a rule change is stored; warns when the ledger is behind.
void PrintApplied(const std::string& what, bool applied) {
  std::printf("%s\n", what.c_str());
  if (!applied) {
    std::printf("warning: the ledger was unreachable; the caps are written on the next pass\n");
  }
}

// `v` with `decimals` digits after the point: "30.00", "3.2".
std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

const char* const kWeekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// "quota 5", "ratio 30.00%", "safety 3" or "none": AllocationRule and EffectiveValue share the
// value oneof.
template <typename M>
std::string ValueText(const M& m) {
  switch (m.value_case()) {
    case M::kQuota:
      return absl::StrCat("quota ", m.quota());
    case M::kRatioBasisPoints:
      return "ratio " + Fixed(m.ratio_basis_points() / 100.0, 2) + "%";
    case M::kSafetyStock:
      return absl::StrCat("safety ", m.safety_stock());
    default:
      return "none";
  }
}

// "Mon,Tue 10:00-18:00", "every day 22:00-06:00" or "always".
std::string ScheduleText(const v1::AllocationRule& r) {
  if (!r.has_schedule()) return "always";
  const v1::Schedule& s = r.schedule();
  std::vector<std::string> days;
  for (int d : s.weekdays()) days.push_back(d >= 1 && d <= 7 ? kWeekdays[d - 1] : "?");
  return absl::StrCat(days.empty() ? "every day" : absl::StrJoin(days, ","), " ",
                      s.start().empty() ? "00:00" : s.start(), "-",
                      s.end().empty() ? "24:00" : s.end());
}

// --days values (1..7 or mon..sun, comma-separated) into the schedule; false on a bad one.
bool ParseWeekdays(const std::vector<std::string>& values, v1::Schedule* s) {
  for (const std::string& value : values) {
    for (absl::string_view day : absl::StrSplit(value, ',')) {
      int d = 0;
      if (!absl::SimpleAtoi(day, &d)) {
        for (int i = 0; i < 7; ++i) {
          if (absl::EqualsIgnoreCase(day, kWeekdays[i])) d = i + 1;
        }
      }
      if (d < 1 || d > 7) return false;
      s->add_weekdays(d);
    }
  }
  return true;
}

// Fills the rule of `allocation set`; returns the usage error, empty when there is none.
std::string ParseRule(const Args& args, v1::AllocationRule* rule) {
  int64_t n = 0;
  if (args.Has("rule") && (!absl::SimpleAtoi(args.Get("rule"), &n) || n <= 0)) {
    return "--rule is a rule id";
  }
  rule->set_rule_id(n);
  if (args.Has("sku") == args.Has("group") || !args.Has("location")) {
    return "allocation set needs --location and one of --sku and --group";
  }
  rule->set_sku(args.Get("sku"));
  rule->set_product_group(args.Get("group"));
  rule->set_location(args.Get("location"));
  rule->set_channel(args.Get("channel"));
  if (args.Has("quota") + args.Has("ratio") + args.Has("safety") != 1) {
    return "allocation set needs one of --quota, --ratio and --safety";
  }
  if (args.Has("safety") == args.Has("channel")) {
    return "--quota and --ratio need --channel; --safety takes none";
  }
  if (args.Has("ratio")) {
    double percent = 0;
    long basis_points = 0;
    if (absl::SimpleAtod(args.Get("ratio"), &percent) && percent > 0 && percent <= 100) {
      basis_points = std::lround(percent * 100);
    }
    if (basis_points == 0 || std::abs(percent * 100 - static_cast<double>(basis_points)) > 1e-6) {
      return "--ratio is a percentage above 0, up to 100, to two decimals (e.g. 12.5)";
    }
    rule->set_ratio_basis_points(static_cast<int32_t>(basis_points));
  } else {
    const std::string name = args.Has("quota") ? "quota" : "safety";
    if (!absl::SimpleAtoi(args.Get(name), &n)) return "--" + name + " is a number";
    if (name == "quota") {
      rule->set_quota(n);
    } else {
      rule->set_safety_stock(n);
    }
  }
  if (args.Has("days") || args.Has("from") || args.Has("to")) {
    v1::Schedule* s = rule->mutable_schedule();
    if (!ParseWeekdays(args.All("days"), s)) {
      return "--days are ISO weekdays 1..7 or mon..sun, comma-separated";
    }
    s->set_start(args.Get("from"));
    s->set_end(args.Get("to"));
  }
  return "";
}

int Allocation(const Args& args, v1::AllocationService::Stub& stub) {
  using AStub = v1::AllocationService::Stub;
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.empty()) {
    v1::ListAllocationRulesRequest r;
    r.set_sku(args.Get("sku"));
    r.set_product_group(args.Get("group"));
    r.set_location(args.Get("location"));
    auto resp = Call(stub, &AStub::ListAllocationRules, r);
    if (!resp) return 1;
    PrintRows(json, resp->rules(), {"ID", "SCOPE", "LOCATION", "CHANNEL", "VALUE", "SCHEDULE"},
              [&](const auto& rule) -> std::vector<std::string> {
                return {std::to_string(rule.rule_id()),
                        rule.sku().empty() ? "group " + rule.product_group() : "item " + rule.sku(),
                        rule.location(),
                        rule.channel().empty() ? "-" : rule.channel(),
                        ValueText(rule),
                        ScheduleText(rule)};
              });
    return 0;
  }
  if (pos[0] == "set" && pos.size() == 1) {
    v1::SetAllocationRuleRequest r;
    if (std::string error = ParseRule(args, r.mutable_rule()); !error.empty()) {
      return UsageError(error);
    }
    auto resp = Call(stub, &AStub::SetAllocationRule, r);
    if (!resp) return 1;
    if (json) {
      PrintJson(*resp);
    } else {
      PrintApplied(absl::StrCat("rule ", resp->rule().rule_id(), " stored"), resp->applied());
    }
    return 0;
  }
  if (pos[0] == "delete" && pos.size() == 2) {
    v1::DeleteAllocationRuleRequest r;
    int64_t id = 0;
    if (!absl::SimpleAtoi(pos[1], &id) || id <= 0) return UsageError("ID is a rule id");
    r.set_rule_id(id);
    auto resp = Call(stub, &AStub::DeleteAllocationRule, r);
    if (!resp) return 1;
    if (json) {
      PrintJson(*resp);
    } else {
      PrintApplied(absl::StrCat("rule ", id, " deleted"), resp->applied());
    }
    return 0;
  }
  if (pos[0] == "effective" && pos.size() == 3) {
    v1::GetEffectiveAllocationRequest r;
    r.set_sku(pos[1]);
    r.set_location(pos[2]);
    auto resp = Call(stub, &AStub::GetEffectiveAllocation, r);
    if (!resp) return 1;
    if (json) {
      PrintJson(*resp);
      return 0;
    }
    std::printf("%s at %s, local time %s (%s)\n", resp->sku().c_str(), resp->location().c_str(),
                resp->local_time().c_str(), resp->time_zone().c_str());
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : resp->values()) {
      rows.push_back({v.channel().empty() ? "(safety stock)" : v.channel(), ValueText(v),
                      v.rule_id() == 0 ? "-" : std::to_string(v.rule_id()), v.reason(),
                      v.in_ledger()});
    }
    PrintTable({"CHANNEL", "VALUE", "RULE", "REASON", "IN_LEDGER"}, rows);
    return 0;
  }
  return UsageError("unknown allocation command");
}

void PrintPreorder(const v1::PreorderItem& item, bool json,
                   std::vector<std::vector<std::string>>* rows) {
  if (json) {
    PrintJson(item);
    return;
  }
  rows->push_back({item.sku(), item.enabled() ? "yes" : "no",
                   absl::StrCat(item.overbook_percent(), "%"), std::to_string(item.incoming()),
                   std::to_string(item.preordered()), std::to_string(item.available()),
                   item.has_expected_at() ? FormatTime(item.expected_at()) : "-"});
}

int Preorders(const Args& args, v1::PreorderService::Stub& stub) {
  using PStub = v1::PreorderService::Stub;
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  std::vector<std::vector<std::string>> rows;
  if (pos.empty()) {
    auto resp = Call(stub, &PStub::ListPreorderItems, v1::ListPreorderItemsRequest());
    if (!resp) return 1;
    for (const auto& item : resp->items()) PrintPreorder(item, json, &rows);
  } else if (pos[0] == "get" && pos.size() == 2) {
    v1::GetPreorderItemRequest r;
    r.set_sku(pos[1]);
    auto resp = Call(stub, &PStub::GetPreorderItem, r);
    if (!resp) return 1;
    PrintPreorder(resp->item(), json, &rows);
  } else if (pos[0] == "set" && pos.size() == 2) {
    v1::SetPreorderItemRequest r;
    v1::PreorderItem* item = r.mutable_item();
    item->set_sku(pos[1]);
    item->set_enabled(!args.Has("disable"));
    int32_t percent = 0;
    if (args.Has("overbook") && !absl::SimpleAtoi(args.Get("overbook"), &percent)) {
      return UsageError("--overbook is a whole percentage, 0 to 100");
    }
    item->set_overbook_percent(percent);
    auto resp = Call(stub, &PStub::SetPreorderItem, r);
    if (!resp) return 1;
    PrintPreorder(resp->item(), json, &rows);
  } else {
    return UsageError("unknown preorders command");
  }
  if (!json) {
    PrintTable({"SKU", "ENABLED", "OVERBOOK", "INCOMING", "PREORDERED", "AVAILABLE", "EXPECTED"},
               rows);
  }
  return 0;
}

int Pickup(const Args& args, v1::PickupService::Stub& stub) {
  using PStub = v1::PickupService::Stub;
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.empty() || !args.Has("channel") || !args.Has("store")) {
    return UsageError("pickup check|complete --channel C --store S expected");
  }
  if (pos[0] == "complete" && pos.size() == 1) {
    if (!args.Has("order")) return UsageError("pickup complete needs --order");
    v1::CompletePickupRequest r;
    r.set_request_id(args.Get("request-id", NewRequestId()));
    r.set_channel(args.Get("channel"));
    r.set_external_order_id(args.Get("order"));
    r.set_store(args.Get("store"));
    auto resp = Call(stub, &PStub::CompletePickup, r);
    if (!resp) return 1;
    PrintOrder(resp->order(), json);
    return 0;
  }
  if (pos[0] != "check") return UsageError("unknown pickup command");
  v1::CheckPickupRequest r;
  r.set_channel(args.Get("channel"));
  r.set_store(args.Get("store"));
  if (!ParseLines(pos, 1, r.mutable_lines()) || r.lines().empty()) {
    return UsageError("pickup check needs lines SKU=QTY");
  }
  auto resp = Call(stub, &PStub::CheckPickup, r);
  if (!resp) return 1;
  if (json) {
    PrintJson(*resp);
    return 0;
  }
  std::printf("%s at %s\n", resp->available_now() ? "available now" : "not available",
              r.store().c_str());
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const v1::PickupStore& s) {
    std::vector<std::string> lines;  // "TEE-1 2/2": available of asked, in the order asked
    for (const auto& want : r.lines()) {
      int64_t have = 0;
      for (const auto& a : s.available()) {
        if (a.sku() == want.sku()) have = a.quantity();
      }
      lines.push_back(absl::StrCat(want.sku(), " ", have, "/", want.quantity()));
    }
    rows.push_back({s.store(), s.name(),
                    s.has_distance_km() ? Fixed(s.distance_km(), 1) + " km" : "-",
                    absl::StrJoin(lines, ", ")});
  };
  add(resp->store());
  for (const auto& s : resp->alternatives()) add(s);
  PrintTable({"STORE", "NAME", "DISTANCE", "AVAILABLE"}, rows);
  if (resp->has_expected_at()) {
    std::printf("expected at %s: %s\n", r.store().c_str(), FormatTime(resp->expected_at()).c_str());
  }
  return 0;
}

}  // namespace

const char* ReservationUsage() { return kUsage; }

int RunReservationCommand(const std::string& command, const std::vector<std::string>& argv) {
  if (command != "orders" && command != "limited" && command != "substitutes" &&
      command != "allocation" && command != "preorders" && command != "pickup") {
    return -1;
  }
  auto args = Args::Parse(argv, {"json", "preorder", "disable"},
                          {"addr",     "channel", "state", "customer",     "pickup",   "request-id",
                           "from",     "until",   "cap",   "per-customer", "markdown", "store",
                           "quantity", "sku",     "group", "location",     "quota",    "ratio",
                           "safety",   "days",    "to",    "rule",         "overbook", "order"});
  if (!args.ok()) return UsageError(absl::StrCat(command, ": ", args.status().message()));
  const char* env_addr = std::getenv("KURA_RESERVATION_ADDR");
  std::string addr = args->Get("addr", env_addr != nullptr ? env_addr : "127.0.0.1:7102");
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  if (command == "limited") return Limited(*args, *v1::LimitedItemService::NewStub(channel));
  if (command == "substitutes") {
    return SubstitutesCommand(*args, *v1::SubstituteService::NewStub(channel));
  }
  if (command == "allocation") return Allocation(*args, *v1::AllocationService::NewStub(channel));
  if (command == "preorders") return Preorders(*args, *v1::PreorderService::NewStub(channel));
  if (command == "pickup") return Pickup(*args, *v1::PickupService::NewStub(channel));
  if (args->positional().size() == 1 && args->positional()[0] == "unfulfillable") {
    return Unfulfillable(*args, *v1::OrderService::NewStub(channel),
                         *v1::SubstituteService::NewStub(channel));
  }
  return Orders(*args, *v1::OrderService::NewStub(channel));
}

}  // namespace kura::ctl
