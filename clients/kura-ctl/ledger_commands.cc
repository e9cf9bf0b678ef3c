#include "ledger_commands.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "args.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/change_feed.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/rpc/status.h"
#include "output.h"

namespace kura::ctl {
namespace {

namespace v1 = ::kura::ledger::v1;

const char kUsage[] =
    "ledger commands (--addr HOST:PORT, default $KURA_LEDGER_ADDR or 127.0.0.1:7101;\n"
    "                 --json prints the API's JSON instead of a table):\n"
    "  items [--group G]                     list items\n"
    "  items create --sku S --name N --price YEN [--tax standard|reduced] [--group G]\n"
    "               [--attr K=V]... [--barcode CODE]... [--cost YEN]\n"
    "  items get SKU | items barcode CODE    show one item\n"
    "  locations | locations create --code C --name N --kind store|warehouse|virtual\n"
    "               [--tz Asia/Tokyo] [--pickup] [--at LAT,LNG]\n"
    "  locations update CODE --at LAT,LNG    set a location's coordinates\n"
    "  channels | channels create --code C --name N --kind ec|register --locations A,B\n"
    "               [--no-safety-stock]\n"
    "  stock SKU... [--location L]... [--channel C]...   availability table\n"
    "  receive SKU LOCATION QTY [--ref R] [--incoming]   goods from a supplier (--incoming:\n"
    "                                        against a purchase order)\n"
    "  order-incoming SKU LOCATION QTY --expected DATE [--ref PO]   a purchase order\n"
    "  incoming SKU... [--location L]...     ordered stock still expected, by date\n"
    "  count SKU LOCATION COUNTED [--ref R]  a stock count of the sellable shelf\n"
    "  adjust SKU LOCATION DELTA [--ref R]   a signed correction of the sellable shelf\n"
    "  holds [--state pending|posted|voided|expired] [--sku S] [--order O]\n"
    "  changes [--after N] [--follow]        the change feed\n"
    "  verify                                check the books' invariants\n";

struct Context {
  Args args;
  bool json = false;
  std::unique_ptr<v1::CatalogService::Stub> catalog;
  std::unique_ptr<v1::LedgerService::Stub> ledger;
  std::unique_ptr<v1::ChangeFeedService::Stub> feed;
};

int UsageError(const std::string& message) {
  std::fprintf(stderr, "kura-ctl: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

bool ParseQuantity(const std::string& text, int64_t* out) { return absl::SimpleAtoi(text, out); }

// ------------------------------------------------------------------------------ items

int Items(Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.empty()) {
    v1::ListItemsRequest r;
    r.set_product_group(ctx.args.Get("group"));
    r.set_page_size(1000);
    std::vector<std::vector<std::string>> rows;
    while (true) {
      auto page = Call(*ctx.catalog, &v1::CatalogService::Stub::ListItems, r);
      if (!page) return 1;
      for (const auto& item : page->items()) {
        if (ctx.json) {
          PrintJson(item);
          continue;
        }
        std::vector<std::string> attrs;
        for (const auto& [k, v] : item.attributes()) attrs.push_back(k + "=" + v);
        std::sort(attrs.begin(), attrs.end());
        rows.push_back({item.sku(), item.name(), item.product_group(), absl::StrJoin(attrs, ","),
                        std::to_string(item.price_yen()),
                        Short(v1::TaxClass_Name(item.tax_class()), 10),
                        absl::StrJoin(item.barcodes(), ",")});
      }
      if (page->next_page_token().empty()) break;
      r.set_page_token(page->next_page_token());
    }
    if (!ctx.json)
      PrintTable({"SKU", "NAME", "GROUP", "ATTRIBUTES", "PRICE", "TAX", "BARCODES"}, rows);
    return 0;
  }
  if (pos[0] == "get" && pos.size() == 2) {
    v1::GetItemRequest r;
    r.set_sku(pos[1]);
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::GetItem, r);
    if (!resp) return 1;
    PrintJson(resp->item());
    return 0;
  }
  if (pos[0] == "barcode" && pos.size() == 2) {
    v1::LookupBarcodeRequest r;
    r.set_barcode(pos[1]);
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::LookupBarcode, r);
    if (!resp) return 1;
    PrintJson(resp->item());
    return 0;
  }
  if (pos[0] == "create" && pos.size() == 1) {
    v1::CreateItemRequest r;
    r.set_request_id(ctx.args.Get("request-id", NewRequestId()));
    v1::Item* item = r.mutable_item();
    item->set_sku(ctx.args.Get("sku"));
    item->set_name(ctx.args.Get("name"));
    item->set_product_group(ctx.args.Get("group"));
    int64_t price = 0, cost = 0;
    if (!absl::SimpleAtoi(ctx.args.Get("price"), &price))
      return UsageError("--price YEN is required");
    if (ctx.args.Has("cost") && !absl::SimpleAtoi(ctx.args.Get("cost"), &cost)) {
      return UsageError("--cost must be a number of yen");
    }
    item->set_price_yen(price);
    item->set_unit_cost_yen(cost);
    std::string tax = ctx.args.Get("tax", "standard");
    if (tax == "standard") {
      item->set_tax_class(v1::TAX_CLASS_STANDARD);
    } else if (tax == "reduced") {
      item->set_tax_class(v1::TAX_CLASS_REDUCED);
    } else {
      return UsageError("--tax must be standard or reduced");
    }
    for (const auto& kv : ctx.args.All("attr")) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) return UsageError("--attr takes KEY=VALUE");
      (*item->mutable_attributes())[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& b : ctx.args.All("barcode")) item->add_barcodes(b);
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::CreateItem, r);
    if (!resp) return 1;
    if (ctx.json)
      PrintJson(resp->item());
    else
      std::printf("created item %s\n", resp->item().sku().c_str());
    return 0;
  }
  return UsageError("items: unknown form");
}

// -------------------------------------------------------------------------- locations

bool ParseCoordinates(const std::string& text, v1::GeoPoint* out) {
  std::pair<std::string, std::string> ll = absl::StrSplit(text, ',');
  double lat = 0, lng = 0;
  if (!absl::SimpleAtod(ll.first, &lat) || !absl::SimpleAtod(ll.second, &lng)) return false;
  out->set_latitude(lat);
  out->set_longitude(lng);
  return true;
}

int Locations(Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.empty()) {
    v1::ListLocationsRequest r;
    r.set_page_size(1000);
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::ListLocations, r);
    if (!resp) return 1;
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : resp->locations()) {
      if (ctx.json) {
        PrintJson(l);
        continue;
      }
      rows.push_back({l.code(), l.name(), Short(v1::LocationKind_Name(l.kind()), 14), l.time_zone(),
                      l.pickup_enabled() ? "yes" : "no"});
    }
    if (!ctx.json) PrintTable({"CODE", "NAME", "KIND", "TIME ZONE", "PICKUP"}, rows);
    return 0;
  }
  if (pos[0] == "update" && pos.size() == 2) {
    v1::UpdateLocationRequest r;
    r.set_request_id(ctx.args.Get("request-id", NewRequestId()));
    r.mutable_location()->set_code(pos[1]);
    r.mutable_update_mask()->add_paths("coordinates");
    if (!ParseCoordinates(ctx.args.Get("at"), r.mutable_location()->mutable_coordinates())) {
      return UsageError("locations update takes --at LATITUDE,LONGITUDE");
    }
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::UpdateLocation, r);
    if (!resp) return 1;
    if (ctx.json) {
      PrintJson(resp->location());
    } else {
      std::printf("updated location %s\n", pos[1].c_str());
    }
    return 0;
  }
  if (pos[0] == "create" && pos.size() == 1) {
    v1::CreateLocationRequest r;
    r.set_request_id(ctx.args.Get("request-id", NewRequestId()));
    v1::Location* l = r.mutable_location();
    l->set_code(ctx.args.Get("code"));
    l->set_name(ctx.args.Get("name"));
    l->set_time_zone(ctx.args.Get("tz", "Asia/Tokyo"));
    l->set_pickup_enabled(ctx.args.Has("pickup"));
    if (ctx.args.Has("at") && !ParseCoordinates(ctx.args.Get("at"), l->mutable_coordinates())) {
      return UsageError("--at takes LATITUDE,LONGITUDE in degrees, e.g. 35.6812,139.7671");
    }
    std::string kind = ctx.args.Get("kind");
    if (kind == "store") {
      l->set_kind(v1::LOCATION_KIND_STORE);
    } else if (kind == "warehouse") {
      l->set_kind(v1::LOCATION_KIND_WAREHOUSE);
    } else if (kind == "virtual") {
      l->set_kind(v1::LOCATION_KIND_VIRTUAL);
    } else {
      return UsageError("--kind must be store, warehouse or virtual");
    }
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::CreateLocation, r);
    if (!resp) return 1;
    if (ctx.json)
      PrintJson(resp->location());
    else
      std::printf("created location %s\n", l->code().c_str());
    return 0;
  }
  return UsageError("locations: unknown form");
}

// --------------------------------------------------------------------------- channels

int Channels(Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.empty()) {
    v1::ListChannelsRequest r;
    r.set_page_size(1000);
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::ListChannels, r);
    if (!resp) return 1;
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : resp->channels()) {
      if (ctx.json) {
        PrintJson(c);
        continue;
      }
      rows.push_back({c.code(), c.name(), Short(v1::ChannelKind_Name(c.kind()), 13),
                      absl::StrJoin(c.location_codes(), ","),
                      c.respects_safety_stock() ? "yes" : "no"});
    }
    if (!ctx.json) PrintTable({"CODE", "NAME", "KIND", "LOCATIONS", "SAFETY STOCK"}, rows);
    return 0;
  }
  if (pos[0] == "create" && pos.size() == 1) {
    v1::CreateChannelRequest r;
    r.set_request_id(ctx.args.Get("request-id", NewRequestId()));
    v1::Channel* c = r.mutable_channel();
    c->set_code(ctx.args.Get("code"));
    c->set_name(ctx.args.Get("name"));
    c->set_respects_safety_stock(!ctx.args.Has("no-safety-stock"));
    std::string kind = ctx.args.Get("kind");
    if (kind == "ec") {
      c->set_kind(v1::CHANNEL_KIND_EC_SITE);
    } else if (kind == "register") {
      c->set_kind(v1::CHANNEL_KIND_STORE_REGISTER);
    } else {
      return UsageError("--kind must be ec or register");
    }
    for (absl::string_view code :
         absl::StrSplit(ctx.args.Get("locations"), ',', absl::SkipEmpty())) {
      c->add_location_codes(std::string(code));
    }
    auto resp = Call(*ctx.catalog, &v1::CatalogService::Stub::CreateChannel, r);
    if (!resp) return 1;
    if (ctx.json)
      PrintJson(resp->channel());
    else
      std::printf("created channel %s\n", c->code().c_str());
    return 0;
  }
  return UsageError("channels: unknown form");
}

// ------------------------------------------------------------------- stock and moves

int Stock(Context& ctx) {
  if (ctx.args.positional().empty()) return UsageError("stock needs at least one SKU");
  v1::GetAvailabilityRequest r;
  for (const auto& sku : ctx.args.positional()) r.add_skus(sku);
  for (const auto& l : ctx.args.All("location")) r.add_locations(l);
  for (const auto& c : ctx.args.All("channel")) r.add_channels(c);
  auto resp = Call(*ctx.ledger, &v1::LedgerService::Stub::GetAvailability, r);
  if (!resp) return 1;
  if (ctx.json) {
    PrintJson(*resp);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : resp->rows()) {
    rows.push_back({a.sku(), a.location(), a.channel().empty() ? "-" : a.channel(),
                    std::to_string(a.sellable()), std::to_string(a.held()),
                    std::to_string(a.committed()), std::to_string(a.incoming()),
                    std::to_string(a.quality_control()), std::to_string(a.damaged()),
                    std::to_string(a.in_transit()), std::to_string(a.safety_stock()),
                    std::to_string(a.available_to_promise())});
  }
  PrintTable({"SKU", "LOCATION", "CHANNEL", "SELLABLE", "HELD", "COMMITTED", "INCOMING", "QC",
              "DAMAGED", "IN TRANSIT", "SAFETY", "ATP"},
             rows);
  return 0;
}

int Move(Context& ctx, v1::MovementKind kind, const char* name) {
  const auto& pos = ctx.args.positional();
  int64_t quantity = 0;
  if (pos.size() != 3 || !ParseQuantity(pos[2], &quantity)) {
    return UsageError(absl::StrCat(name, " takes SKU LOCATION QUANTITY"));
  }
  v1::ApplyMovementsRequest r;
  r.set_request_id(ctx.args.Get("request-id", NewRequestId()));
  v1::MovementRequest* m = r.add_movements();
  m->set_kind(kind);
  m->set_sku(pos[0]);
  m->set_location(pos[1]);
  if (kind == v1::MOVEMENT_KIND_COUNT) {
    m->set_counted_quantity(quantity);
  } else {
    m->set_quantity(quantity);
  }
  m->set_source_ref(ctx.args.Get("ref"));
  m->set_channel(ctx.args.Get("channel"));
  if (kind == v1::MOVEMENT_KIND_ORDER_INCOMING) {
    absl::Time expected;
    if (!ParseDate(ctx.args.Get("expected"), &expected)) {
      return UsageError("--expected takes a date (2026-12-24) or an RFC 3339 time");
    }
    *m->mutable_expected_at() = MicrosToProto(absl::ToUnixMicros(expected));
  }
  auto resp = Call(*ctx.ledger, &v1::LedgerService::Stub::ApplyMovements, r);
  if (!resp) return 1;
  if (ctx.json) {
    PrintJson(*resp);
    return 0;
  }
  if (resp->movements().empty()) std::printf("no change: the count matches the books\n");
  auto account = [](const std::string& location, v1::Bucket bucket) {
    return bucket == v1::BUCKET_UNSPECIFIED ? location
                                            : location + "/" + Short(v1::Bucket_Name(bucket), 7);
  };
  for (const auto& mv : resp->movements()) {
    std::printf("movement %lld: %lld × %s  %s → %s\n", static_cast<long long>(mv.movement_id()),
                static_cast<long long>(mv.quantity()), mv.sku().c_str(),
                account(mv.from_location(), mv.from_bucket()).c_str(),
                account(mv.to_location(), mv.to_bucket()).c_str());
  }
  if (resp->oversold()) std::printf("warning: availability went below zero (oversold)\n");
  return 0;
}

int Incoming(Context& ctx) {
  v1::ListIncomingRequest r;
  for (const auto& sku : ctx.args.positional()) r.add_skus(sku);
  for (const auto& location : ctx.args.All("location")) r.add_locations(location);
  auto resp = Call(*ctx.ledger, &v1::LedgerService::Stub::ListIncoming, r);
  if (!resp) return 1;
  std::vector<std::vector<std::string>> rows;
  for (const auto& lot : resp->lots()) {
    if (ctx.json) {
      PrintJson(lot);
      continue;
    }
    rows.push_back({lot.sku(), lot.location(), std::to_string(lot.quantity()),
                    FormatTime(lot.expected_at()), lot.source_ref()});
  }
  if (!ctx.json) PrintTable({"SKU", "LOCATION", "EXPECTED", "DATE", "PURCHASE ORDER"}, rows);
  return 0;
}

int Holds(Context& ctx) {
  v1::ListHoldsRequest r;
  r.set_page_size(1000);
  r.set_sku(ctx.args.Get("sku"));
  r.set_order_ref(ctx.args.Get("order"));
  if (ctx.args.Has("state")) {
    std::string name = "HOLD_STATE_" + ctx.args.Get("state");
    for (char& c : name) c = static_cast<char>(std::toupper(c));
    v1::HoldState state;
    if (!v1::HoldState_Parse(name, &state)) {
      return UsageError("--state must be pending, posted, voided or expired");
    }
    r.set_state(state);
  }
  auto resp = Call(*ctx.ledger, &v1::LedgerService::Stub::ListHolds, r);
  if (!resp) return 1;
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : resp->holds()) {
    if (ctx.json) {
      PrintJson(h);
      continue;
    }
    rows.push_back({h.hold_id(), h.channel(), h.sku(), h.location(), std::to_string(h.quantity()),
                    Short(v1::HoldState_Name(h.state()), 11), FormatTime(h.expires_at()),
                    h.order_ref()});
  }
  if (!ctx.json) {
    PrintTable({"HOLD", "CHANNEL", "SKU", "LOCATION", "QTY", "STATE", "EXPIRES", "ORDER"}, rows);
  }
  return 0;
}

std::string Describe(const v1::ChangeEvent& e) {
  auto hold = [](const char* what, const v1::Hold& h) {
    return absl::StrCat(what, " ", h.hold_id(), " ", h.quantity(), " × ", h.sku(), " at ",
                        h.location(), " for ", h.channel());
  };
  switch (e.payload_case()) {
    case v1::ChangeEvent::kMovementApplied: {
      const auto& m = e.movement_applied().movement();
      return absl::StrCat("movement ", Short(v1::MovementKind_Name(m.kind()), 14), " ",
                          m.quantity(), " × ", m.sku(), " ", m.from_location(), " → ",
                          m.to_location());
    }
    case v1::ChangeEvent::kHoldCreated:
      return hold("hold created", e.hold_created().hold());
    case v1::ChangeEvent::kHoldPosted:
      return hold("hold posted", e.hold_posted().hold());
    case v1::ChangeEvent::kHoldVoided:
      return hold("hold voided", e.hold_voided().hold());
    case v1::ChangeEvent::kHoldExpired:
      return hold("hold expired", e.hold_expired().hold());
    case v1::ChangeEvent::kAvailabilityChanged: {
      const auto& a = e.availability_changed();
      return absl::StrCat("availability ", a.sku(), " at ", a.location(), ": sellable ",
                          a.sellable(), ", held ", a.held());
    }
    case v1::ChangeEvent::kOversold: {
      const auto& o = e.oversold();
      return absl::StrCat("OVERSOLD ", o.sku(), " at ", o.location(), " by ", -o.shortfall());
    }
    default:
      return "unknown event";
  }
}

void PrintEvent(Context& ctx, const v1::ChangeEvent& e) {
  if (ctx.json) {
    PrintJson(e);
  } else {
    std::printf("%8lld  %s  %s\n", static_cast<long long>(e.sequence()),
                FormatTime(e.commit_time()).c_str(), Describe(e).c_str());
  }
  std::fflush(stdout);
}

int Changes(Context& ctx) {
  int64_t after = 0;
  if (ctx.args.Has("after") && !absl::SimpleAtoi(ctx.args.Get("after"), &after)) {
    return UsageError("--after must be a sequence number");
  }
  if (!ctx.args.Has("follow")) {
    v1::ListChangesRequest r;
    r.set_after_sequence(after);
    r.set_page_size(1000);
    while (true) {
      auto page = Call(*ctx.feed, &v1::ChangeFeedService::Stub::ListChanges, r);
      if (!page) return 1;
      for (const auto& e : page->events()) PrintEvent(ctx, e);
      if (page->events().empty()) return 0;
      r.set_after_sequence(page->last_sequence());
    }
  }
  // Follow: stream, and reconnect from the last event shown whenever the stream ends.
  while (true) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    v1::WatchChangesRequest r;
    r.set_after_sequence(after);
    auto reader = ctx.feed->WatchChanges(&context, r);
    v1::WatchChangesResponse resp;
    while (reader->Read(&resp)) {
      PrintEvent(ctx, resp.event());
      after = resp.event().sequence();
    }
    grpc::Status status = reader->Finish();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      std::fprintf(stderr, "error: %s\n", status.error_message().c_str());
      return 1;
    }
    std::fprintf(stderr, "(stream ended: %s; reconnecting from %lld)\n",
                 status.error_message().c_str(), static_cast<long long>(after));
  }
}

int Verify(Context& ctx) {
  auto resp =
      Call(*ctx.ledger, &v1::LedgerService::Stub::VerifyInvariants, v1::VerifyInvariantsRequest());
  if (!resp) return 1;
  if (ctx.json) {
    PrintJson(*resp);
  } else if (resp->violations().empty()) {
    std::printf(
        "ok: %lld accounts, every balance equals its movements, every item sums to 0, "
        "held equals pending holds\n",
        static_cast<long long>(resp->accounts_checked()));
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : resp->violations()) {
      rows.push_back({v.check(), v.sku(), v.location(), Short(v1::Bucket_Name(v.bucket()), 7),
                      std::to_string(v.recorded()), std::to_string(v.expected())});
    }
    PrintTable({"CHECK", "SKU", "LOCATION", "BUCKET", "RECORDED", "EXPECTED"}, rows);
  }
  return resp->violations().empty() ? 0 : 1;
}

}  // namespace

const char* LedgerUsage() { return kUsage; }

int RunLedgerCommand(const std::string& command, const std::vector<std::string>& argv) {
  static const std::set<std::string> kCommands = {
      "items",  "locations", "channels", "stock",  "receive",  "count",
      "adjust", "holds",     "changes",  "verify", "incoming", "order-incoming"};
  if (!kCommands.count(command)) return -1;
  auto args = Args::Parse(
      argv, {"json", "pickup", "no-safety-stock", "follow", "incoming"},
      {"addr",    "group", "sku",   "name",       "price",     "cost",     "tax",     "attr",
       "barcode", "code",  "kind",  "tz",         "locations", "location", "channel", "ref",
       "state",   "order", "after", "request-id", "at",        "expected"});
  if (!args.ok()) return UsageError(absl::StrCat(command, ": ", args.status().message()));
  Context ctx{*std::move(args)};
  ctx.json = ctx.args.Has("json");
  const char* env_addr = std::getenv("KURA_LEDGER_ADDR");
  std::string addr = ctx.args.Get("addr", env_addr != nullptr ? env_addr : "127.0.0.1:7101");
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  ctx.catalog = v1::CatalogService::NewStub(channel);
  ctx.ledger = v1::LedgerService::NewStub(channel);
  ctx.feed = v1::ChangeFeedService::NewStub(channel);

  if (command == "items") return Items(ctx);
  if (command == "locations") return Locations(ctx);
  if (command == "channels") return Channels(ctx);
  if (command == "stock") return Stock(ctx);
  if (command == "receive") {
    return ctx.args.Has("incoming") ? Move(ctx, v1::MOVEMENT_KIND_RECEIVE_INCOMING, "receive")
                                    : Move(ctx, v1::MOVEMENT_KIND_RECEIVE, "receive");
  }
  if (command == "order-incoming") {
    return Move(ctx, v1::MOVEMENT_KIND_ORDER_INCOMING, "order-incoming");
  }
  if (command == "incoming") return Incoming(ctx);
  if (command == "count") return Move(ctx, v1::MOVEMENT_KIND_COUNT, "count");
  if (command == "adjust") return Move(ctx, v1::MOVEMENT_KIND_ADJUST, "adjust");
  if (command == "holds") return Holds(ctx);
  if (command == "changes") return Changes(ctx);
  return Verify(ctx);
}

}  // namespace kura::ctl
