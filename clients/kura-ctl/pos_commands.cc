#include "pos_commands.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "args.h"
#include "kura/pos/v1/pos.grpc.pb.h"
#include "output.h"

namespace kura::ctl {
namespace {

namespace v1 = ::kura::pos::v1;
using Stub = v1::PosAdminService::Stub;

const char kUsage[] =
    "register commands (--addr HOST:PORT of the gateway's admin listener, default\n"
    "                   $KURA_POS_ADMIN_ADDR or 127.0.0.1:7105;\n"
    "                   --json prints the API's JSON):\n"
    "  terminals [--store S]                          registers and their stores\n"
    "  terminals issue TERMINAL_ID --store S [--name N]\n"
    "                                                 issues (or reissues) a register's token;\n"
    "                                                 the token is printed once\n"
    "  terminals revoke TERMINAL_ID                   the token stops working at once\n"
    "  pos-store STORE                                a store's register settings\n"
    "  pos-store set STORE --name N --invoice T0000000000000 [--address A] [--phone P]\n"
    "            [--layout SPEC] [--returns-without-receipt]\n"
    "                                                 receipt header, invoice registration\n"
    "                                                 number, in-store code layout (e.g.\n"
    "                                                 20-24:price:4,25-29:weight:5:3)\n"
    "  pos-incidents [--store S] [--limit N]          oversold register sales and offline\n"
    "                                                 entries the gateway could not book\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "kura-ctl: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

void PrintSettings(const v1::StoreSettings& s, bool json, const google::protobuf::Message& resp) {
  if (json) {
    PrintJson(resp);
    return;
  }
  PrintTable({"STORE", "NAME", "INVOICE", "LAYOUT", "NO_RECEIPT_RETURNS", "TIME_ZONE"},
             {{s.location(), s.name(), s.invoice_number(),
               s.in_store_layout().empty() ? "default" : s.in_store_layout(),
               s.returns_without_receipt() ? "yes" : "no", s.time_zone()}});
}

int Terminals(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.empty()) {
    v1::ListTerminalsRequest r;
    r.set_location(args.Get("store"));
    auto resp = Call(stub, &Stub::ListTerminals, r);
    if (!resp) return 1;
    PrintRows(json, resp->terminals(), {"TERMINAL", "STORE", "NAME", "ISSUED", "REVOKED"},
              [](const v1::Terminal& t) -> std::vector<std::string> {
                return {t.terminal_id(), t.location(), t.name(), FormatTime(t.issue_time()),
                        t.has_revoke_time() ? FormatTime(t.revoke_time()) : "-"};
              });
    return 0;
  }
  if (pos[0] == "issue") {
    if (pos.size() != 2 || !args.Has("store")) {
      return UsageError("terminals issue TERMINAL_ID --store S [--name N]");
    }
    v1::IssueTerminalRequest r;
    r.mutable_terminal()->set_terminal_id(pos[1]);
    r.mutable_terminal()->set_location(args.Get("store"));
    r.mutable_terminal()->set_name(args.Get("name", pos[1]));
    auto resp = Call(stub, &Stub::IssueTerminal, r);
    if (!resp) return 1;
    if (json) {
      PrintJson(*resp);
    } else {
      std::printf("terminal %s of store %s\ntoken %s\n", resp->terminal().terminal_id().c_str(),
                  resp->terminal().location().c_str(), resp->token().c_str());
    }
    return 0;
  }
  if (pos[0] == "revoke") {
    if (pos.size() != 2) return UsageError("terminals revoke TERMINAL_ID");
    v1::RevokeTerminalRequest r;
    r.set_terminal_id(pos[1]);
    auto resp = Call(stub, &Stub::RevokeTerminal, r);
    if (!resp) return 1;
    if (json) {
      PrintJson(*resp);
    } else {
      std::printf("terminal %s revoked\n", pos[1].c_str());
    }
    return 0;
  }
  return UsageError("unknown terminals command '" + pos[0] + "'");
}

int Store(const Args& args, Stub& stub) {
  const auto& pos = args.positional();
  const bool json = args.Has("json");
  if (pos.size() == 1 && pos[0] != "set") {
    v1::GetStoreSettingsRequest r;
    r.set_location(pos[0]);
    auto resp = Call(stub, &Stub::GetStoreSettings, r);
    if (!resp) return 1;
    PrintSettings(resp->settings(), json, *resp);
    return 0;
  }
  if (pos.size() != 2 || pos[0] != "set") {
    return UsageError("pos-store STORE | pos-store set STORE --name N --invoice T...");
  }
  v1::SetStoreSettingsRequest r;
  auto* s = r.mutable_settings();
  s->set_location(pos[1]);
  s->set_name(args.Get("name"));
  s->set_invoice_number(args.Get("invoice"));
  s->set_address(args.Get("address"));
  s->set_phone(args.Get("phone"));
  s->set_in_store_layout(args.Get("layout"));
  s->set_returns_without_receipt(args.Has("returns-without-receipt"));
  auto resp = Call(stub, &Stub::SetStoreSettings, r);
  if (!resp) return 1;
  PrintSettings(resp->settings(), json, *resp);
  return 0;
}

int Incidents(const Args& args, Stub& stub) {
  if (!args.positional().empty()) return UsageError("pos-incidents takes no arguments");
  v1::ListIncidentsRequest r;
  r.set_location(args.Get("store"));
  int limit = 0;
  if (args.Has("limit") && !absl::SimpleAtoi(args.Get("limit"), &limit)) {
    return UsageError("--limit takes a number");
  }
  r.set_limit(limit);
  auto resp = Call(stub, &Stub::ListIncidents, r);
  if (!resp) return 1;
  PrintRows(args.Has("json"), resp->incidents(),
            {"KIND", "STORE", "TERMINAL", "TRANSACTION", "ITEMS / DETAIL", "RECORDED"},
            [](const v1::Incident& i) -> std::vector<std::string> {
              return {i.kind(),
                      i.location(),
                      i.terminal_id(),
                      i.transaction_id(),
                      i.skus().empty() ? i.detail()
                      : i.detail().empty()
                          ? absl::StrJoin(i.skus(), ",")
                          : absl::StrCat(absl::StrJoin(i.skus(), ","), ": ", i.detail()),
                      FormatTime(i.record_time())};
            });
  return 0;
}

}  // namespace

const char* PosUsage() { return kUsage; }

int RunPosCommand(const std::string& command, const std::vector<std::string>& argv) {
  if (command != "terminals" && command != "pos-store" && command != "pos-incidents") return -1;
  auto args =
      Args::Parse(argv, {"json", "returns-without-receipt"},
                  {"addr", "store", "name", "invoice", "address", "phone", "layout", "limit"});
  if (!args.ok()) return UsageError(absl::StrCat(command, ": ", args.status().message()));
  const char* env_addr = std::getenv("KURA_POS_ADMIN_ADDR");
  const std::string addr = args->Get("addr", env_addr != nullptr ? env_addr : "127.0.0.1:7105");
  auto stub =
      v1::PosAdminService::NewStub(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  if (command == "terminals") return Terminals(*args, *stub);
  if (command == "pos-incidents") return Incidents(*args, *stub);
  return Store(*args, *stub);
}

}  // namespace kura::ctl
