#include "connector_commands.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "args.h"
#include "kura/connector/v1/admin.grpc.pb.h"
#include "output.h"

namespace kura::ctl {
namespace {

namespace v1 = ::kura::connector::v1;
using Stub = v1::ConnectorAdminService::Stub;

const char kUsage[] =
    "connector commands (--addr HOST:PORT, default $KURA_CONNECTOR_ADDR or 127.0.0.1:7103;\n"
    "                    --json prints the API's JSON):\n"
    "  connector connections                          channels' platform connections\n"
    "  connector connect CHANNEL --platform P --secret S [--secret S2]\n"
    "            [--notification-url U] [--api-url U] [--credentials C] [--push-location L]\n"
    "            [--cancel-unfulfillable]             creates or replaces the connection;\n"
    "                                                 --cancel-unfulfillable: orders kura\n"
    "                                                 cannot cover are cancelled on the\n"
    "                                                 platform too (shopify: refunded;\n"
    "                                                 woocommerce: refund it in the shop);\n"
    "                                                 P: shopify|woocommerce|square|kura;\n"
    "                                                 a second --secret during a rotation\n"
    "  connector items CHANNEL                        the channel's item mappings\n"
    "  connector map-item CHANNEL PLATFORM_ITEM_ID SKU [--inventory-item ID]\n"
    "  connector unmap-item CHANNEL PLATFORM_ITEM_ID\n"
    "  connector locations CHANNEL                    the channel's location mappings\n"
    "  connector map-location CHANNEL PLATFORM_LOCATION_ID LOCATION\n"
    "  connector dead-letters [--channel C] [--limit N]   deliveries not applied, newest first\n"
    "  connector retry DEAD_LETTER_ID                 puts the delivery back in the inbox\n"
    "  connector reconcile [CHANNEL]                  compare platform stock with kura's now\n"
    "  drift list [--state open|kura|platform]        drift incidents, newest first\n"
    "  drift resolve INCIDENT_ID --trust=kura|platform   apply one side and unfreeze the item\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "kura-ctl: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// One line of at most `max` bytes, "..." marking a cut.
std::string Clip(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() <= max) return s;
  size_t n = max - 3;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
  return s.substr(0, n) + "...";
}

// Prints a mutation's response as JSON, or `text`.
void PrintDone(const google::protobuf::Message& response, bool json, const std::string& text) {
  if (json) {
    PrintJson(response);
  } else {
    std::printf("%s\n", text.c_str());
  }
}

int Connections(const Args& args, Stub& stub) {
  const bool json = args.Has("json");
  auto resp = Call(stub, &Stub::ListConnections, v1::ListConnectionsRequest());
  if (!resp) return 1;
  PrintRows(json, resp->connections(),
            {"CHANNEL", "PLATFORM", "SECRETS", "NOTIFICATION_URL", "API_URL", "CANCELS", "UPDATED"},
            [&](const auto& c) -> std::vector<std::string> {
              return {c.channel(),
                      c.platform(),
                      std::to_string(c.webhook_secret_count()),
                      OrDash(c.notification_url()),
                      OrDash(c.api_url()),
                      c.cancel_unfulfillable() ? "unfulfillable" : "-",
                      c.has_update_time() ? FormatTime(c.update_time()) : "-"};
            });
  return 0;
}

int Connect(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  if (pos.size() != 2) return UsageError("connector connect CHANNEL expected");
  const std::vector<std::string> secrets = args.All("secret");
  if (!args.Has("platform") || secrets.empty() || secrets.size() > 2) {
    return UsageError("connector connect needs --platform and one or two --secret");
  }
  v1::SetConnectionRequest r;
  v1::Connection* c = r.mutable_connection();
  c->set_channel(pos[1]);
  c->set_platform(args.Get("platform"));
  for (const std::string& s : secrets) c->add_webhook_secrets(s);
  c->set_notification_url(args.Get("notification-url"));
  c->set_api_url(args.Get("api-url"));
  c->set_api_credentials(args.Get("credentials"));
  c->set_push_location_id(args.Get("push-location"));
  c->set_cancel_unfulfillable(args.Has("cancel-unfulfillable"));
  auto resp = Call(stub, &Stub::SetConnection, r);
  if (!resp) return 1;
  PrintDone(*resp, args.Has("json"),
            absl::StrCat("channel ", resp->connection().channel(), " connected to ",
                         resp->connection().platform()));
  return 0;
}

int Items(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.size() != 2) return UsageError("connector items CHANNEL expected");
  v1::ListItemMappingsRequest r;
  r.set_channel(pos[1]);
  auto resp = Call(stub, &Stub::ListItemMappings, r);
  if (!resp) return 1;
  PrintRows(json, resp->mappings(), {"PLATFORM_ITEM", "SKU", "INVENTORY_ITEM"},
            [&](const auto& m) -> std::vector<std::string> {
              return {m.platform_item_id(), m.sku(), OrDash(m.platform_inventory_item_id())};
            });
  return 0;
}

int Locations(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.size() != 2) return UsageError("connector locations CHANNEL expected");
  v1::ListLocationMappingsRequest r;
  r.set_channel(pos[1]);
  auto resp = Call(stub, &Stub::ListLocationMappings, r);
  if (!resp) return 1;
  PrintRows(json, resp->mappings(), {"PLATFORM_LOCATION", "LOCATION"},
            [&](const auto& m) -> std::vector<std::string> {
              return {m.platform_location_id(), m.location()};
            });
  return 0;
}

int MapOrUnmap(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  const std::string& verb = pos[0];
  if (verb == "map-item" && pos.size() == 4) {
    v1::SetItemMappingRequest r;
    v1::ItemMapping* m = r.mutable_mapping();
    m->set_channel(pos[1]);
    m->set_platform_item_id(pos[2]);
    m->set_sku(pos[3]);
    m->set_platform_inventory_item_id(args.Get("inventory-item"));
    auto resp = Call(stub, &Stub::SetItemMapping, r);
    if (!resp) return 1;
    PrintDone(*resp, json, absl::StrCat("item ", pos[2], " of ", pos[1], " mapped to ", pos[3]));
    return 0;
  }
  if (verb == "unmap-item" && pos.size() == 3) {
    v1::DeleteItemMappingRequest r;
    r.set_channel(pos[1]);
    r.set_platform_item_id(pos[2]);
    auto resp = Call(stub, &Stub::DeleteItemMapping, r);
    if (!resp) return 1;
    PrintDone(*resp, json, absl::StrCat("item ", pos[2], " of ", pos[1], " unmapped"));
    return 0;
  }
  if (verb == "map-location" && pos.size() == 4) {
    v1::SetLocationMappingRequest r;
    v1::LocationMapping* m = r.mutable_mapping();
    m->set_channel(pos[1]);
    m->set_platform_location_id(pos[2]);
    m->set_location(pos[3]);
    auto resp = Call(stub, &Stub::SetLocationMapping, r);
    if (!resp) return 1;
    PrintDone(*resp, json,
              absl::StrCat("location ", pos[2], " of ", pos[1], " mapped to ", pos[3]));
    return 0;
  }
  return UsageError("connector " + verb + ": wrong arguments");
}

int DeadLetters(const Args& args, Stub& stub) {
  const bool json = args.Has("json");
  if (args.positional().size() != 1) return UsageError("connector dead-letters takes no arguments");
  v1::ListDeadLettersRequest r;
  r.set_channel(args.Get("channel"));
  int32_t limit = 0;
  if (args.Has("limit") &&
      (!absl::SimpleAtoi(args.Get("limit"), &limit) || limit < 1 || limit > 500)) {
    return UsageError("--limit is a number, 1 to 500");
  }
  r.set_page_size(limit);
  auto resp = Call(stub, &Stub::ListDeadLetters, r);
  if (!resp) return 1;
  PrintRows(json, resp->dead_letters(),
            {"ID", "CHANNEL", "PLATFORM", "REASON", "TOPIC", "EVENT", "WHEN", "DETAIL"},
            [&](const auto& d) -> std::vector<std::string> {
              return {std::to_string(d.dead_letter_id()),
                      d.channel(),
                      d.platform(),
                      d.reason(),
                      OrDash(d.topic()),
                      OrDash(d.event_id()),
                      FormatTime(d.create_time()),
                      Clip(d.detail(), 60)};
            });
  return 0;
}

int Retry(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  v1::RetryDeadLetterRequest r;
  int64_t id = 0;
  if (pos.size() != 2 || !absl::SimpleAtoi(pos[1], &id) || id <= 0) {
    return UsageError("connector retry DEAD_LETTER_ID expected");
  }
  r.set_dead_letter_id(id);
  auto resp = Call(stub, &Stub::RetryDeadLetter, r);
  if (!resp) return 1;
  PrintDone(*resp, args.Has("json"), absl::StrCat("dead letter ", id, " put back in the inbox"));
  return 0;
}

int Reconcile(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  if (pos.size() > 2) return UsageError("connector reconcile [CHANNEL] expected");
  v1::ReconcileRequest r;
  if (pos.size() == 2) r.set_channel(pos[1]);
  auto resp = Call(stub, &Stub::Reconcile, r);
  if (!resp) return 1;
  PrintDone(*resp, args.Has("json"),
            absl::StrCat(resp->checked(), " items compared, ", resp->suspected(),
                         " mismatches seen once, ", resp->opened(), " drift incidents opened"));
  return 0;
}

std::string DriftStateName(v1::DriftState state) {
  switch (state) {
    case v1::DRIFT_STATE_OPEN:
      return "open (frozen)";
    case v1::DRIFT_STATE_RESOLVED_KURA:
      return "resolved: kura";
    case v1::DRIFT_STATE_RESOLVED_PLATFORM:
      return "resolved: platform";
    default:
      return "-";
  }
}

int Drift(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (!pos.empty() && pos[0] == "list" && pos.size() == 1) {
    v1::ListDriftsRequest r;
    const std::string state = args.Get("state");
    if (state == "open") {
      r.set_state(v1::DRIFT_STATE_OPEN);
    } else if (state == "kura") {
      r.set_state(v1::DRIFT_STATE_RESOLVED_KURA);
    } else if (state == "platform") {
      r.set_state(v1::DRIFT_STATE_RESOLVED_PLATFORM);
    } else if (!state.empty()) {
      return UsageError("--state is open, kura or platform");
    }
    auto resp = Call(stub, &Stub::ListDrifts, r);
    if (!resp) return 1;
    PrintRows(json, resp->incidents(),
              {"ID", "CHANNEL", "SKU", "PUSHED", "PLATFORM", "KURA", "STATE", "OPENED"},
              [&](const auto& d) -> std::vector<std::string> {
                return {std::to_string(d.incident_id()),
                        d.channel(),
                        d.sku(),
                        std::to_string(d.pushed_quantity()),
                        std::to_string(d.platform_quantity()),
                        std::to_string(d.kura_quantity()),
                        DriftStateName(d.state()),
                        FormatTime(d.open_time())};
              });
    return 0;
  }
  int64_t id = 0;
  if (pos.size() == 2 && pos[0] == "resolve" && absl::SimpleAtoi(pos[1], &id) && id > 0) {
    v1::ResolveDriftRequest r;
    r.set_incident_id(id);
    r.set_trust(args.Get("trust"));
    auto resp = Call(stub, &Stub::ResolveDrift, r);
    if (!resp) return 1;
    PrintDone(
        *resp, json,
        absl::StrCat("drift incident ", id, " ", DriftStateName(resp->incident().state()), "; ",
                     resp->incident().sku(), " unfrozen on ", resp->incident().channel()));
    return 0;
  }
  return UsageError("drift list | drift resolve INCIDENT_ID --trust=kura|platform expected");
}

}  // namespace

const char* ConnectorUsage() { return kUsage; }

int RunConnectorCommand(const std::string& command, const std::vector<std::string>& argv) {
  if (command != "connector" && command != "drift") return -1;
  auto args =
      Args::Parse(argv, {"json", "cancel-unfulfillable"},
                  {"addr", "platform", "secret", "notification-url", "api-url", "credentials",
                   "inventory-item", "channel", "limit", "push-location", "state", "trust"});
  if (!args.ok()) return UsageError(absl::StrCat(command, ": ", args.status().message()));
  const auto& pos = args->positional();
  const char* env_addr = std::getenv("KURA_CONNECTOR_ADDR");
  std::string addr = args->Get("addr", env_addr != nullptr ? env_addr : "127.0.0.1:7103");
  auto stub = v1::ConnectorAdminService::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  if (command == "drift") return Drift(*args, *stub);
  if (pos.empty()) return UsageError("connector: a command expected");
  const std::string& verb = pos[0];
  if (verb != "connections" && verb != "connect" && verb != "items" && verb != "map-item" &&
      verb != "unmap-item" && verb != "locations" && verb != "map-location" &&
      verb != "dead-letters" && verb != "retry" && verb != "reconcile") {
    return UsageError("unknown connector command '" + verb + "'");
  }
  if (verb == "connections") {
    if (pos.size() != 1) return UsageError("connector connections takes no arguments");
    return Connections(*args, *stub);
  }
  if (verb == "connect") return Connect(*args, *stub);
  if (verb == "items") return Items(*args, *stub);
  if (verb == "locations") return Locations(*args, *stub);
  if (verb == "dead-letters") return DeadLetters(*args, *stub);
  if (verb == "retry") return Retry(*args, *stub);
  if (verb == "reconcile") return Reconcile(*args, *stub);
  return MapOrUnmap(*args, *stub);
}

}  // namespace kura::ctl
