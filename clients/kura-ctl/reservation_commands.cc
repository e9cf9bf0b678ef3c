#include "reservation_commands.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "args.h"
#include "kura/reservation/v1/limits.grpc.pb.h"
#include "kura/reservation/v1/orders.grpc.pb.h"
#include "kura/reservation/v1/substitutes.grpc.pb.h"
#include "output.h"

namespace kura::ctl {
namespace {

namespace v1 = ::kura::reservation::v1;
using Stub = v1::OrderService::Stub;

const char kUsage[] =
    "reservation commands (--addr HOST:PORT, default $KURA_RESERVATION_ADDR or 127.0.0.1:7102;\n"
    "                      --json prints the API's JSON):\n"
    "  orders [--channel C] [--state pending|confirmed|fulfilled|cancelled|expired]\n"
    "         [--customer X]                          list orders, newest first\n"
    "  orders get CHANNEL ORDER                       show one order with its allocations\n"
    "  orders place CHANNEL ORDER SKU=QTY... [--customer X] [--pickup STORE]\n"
    "  orders confirm|cancel CHANNEL ORDER\n"
    "  orders fulfil CHANNEL ORDER [SKU=QTY...] [--request-id R]   all that is left by default\n"
    "  limited                                        limited items, their counts and prices\n"
    "  limited get SKU\n"
    "  limited set SKU --from TIME --until TIME [--cap N] [--per-customer N]\n"
    "              [--markdown TIME=YEN]...   TIME: RFC 3339, e.g. 2026-12-01T10:00:00+09:00\n"
    "  substitutes SKU --channel C|--store S [--quantity N]   in-stock alternatives\n"
    "  substitutes set SKU [SUBSTITUTE...]            explicit substitutes, preferred first\n";

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
  std::printf("order %s on %s: %s, customer %s%s, expires %s\n", o.external_order_id().c_str(),
              o.channel().c_str(), State(o.state()).c_str(), o.customer().c_str(),
              o.pickup_store().empty() ? "" : (", pickup at " + o.pickup_store()).c_str(),
              FormatTime(o.expires_at()).c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : o.allocations()) {
    rows.push_back({a.sku(), a.location(), std::to_string(a.quantity()),
                    std::to_string(a.fulfilled_quantity()), a.hold_id()});
  }
  PrintTable({"SKU", "LOCATION", "QUANTITY", "HANDED_OVER", "HOLD"}, rows);
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
    r.set_page_size(500);
    std::vector<std::vector<std::string>> rows;
    while (true) {
      auto page = Call(stub, &Stub::ListOrders, r);
      if (!page) return 1;
      for (const auto& o : page->orders()) {
        if (json) {
          PrintJson(o);
          continue;
        }
        int64_t units = 0;
        for (const auto& line : o.lines()) units += line.quantity();
        rows.push_back({o.channel(), o.external_order_id(), State(o.state()), o.customer(),
                        std::to_string(units), FormatTime(o.create_time())});
      }
      if (page->next_page_token().empty()) break;
      r.set_page_token(page->next_page_token());
    }
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

}  // namespace

const char* ReservationUsage() { return kUsage; }

int RunReservationCommand(const std::string& command, const std::vector<std::string>& argv) {
  if (command != "orders" && command != "limited" && command != "substitutes") return -1;
  auto args = Args::Parse(argv, {"json"},
                          {"addr", "channel", "state", "customer", "pickup", "request-id", "from",
                           "until", "cap", "per-customer", "markdown", "store", "quantity"});
  if (!args.ok()) return UsageError(absl::StrCat(command, ": ", args.status().message()));
  const char* env_addr = std::getenv("KURA_RESERVATION_ADDR");
  std::string addr = args->Get("addr", env_addr != nullptr ? env_addr : "127.0.0.1:7102");
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  if (command == "limited") return Limited(*args, *v1::LimitedItemService::NewStub(channel));
  if (command == "substitutes") {
    return SubstitutesCommand(*args, *v1::SubstituteService::NewStub(channel));
  }
  return Orders(*args, *v1::OrderService::NewStub(channel));
}

}  // namespace kura::ctl
