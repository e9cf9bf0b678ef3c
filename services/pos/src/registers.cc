#include "registers.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"
#include "kura/pos/barcode.h"
#include "kura/pos/escpos.h"
#include "kura/pos/receipt.h"

namespace kura::pos {
namespace {

using Tx = pqxx::transaction_base;

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

v1::Terminal TerminalOf(const pqxx::row& r) {
  v1::Terminal t;
  t.set_terminal_id(r[0].as<std::string>());
  t.set_location(r[1].as<std::string>());
  t.set_name(r[2].as<std::string>());
  *t.mutable_issue_time() = MicrosToProto(r[3].as<int64_t>());
  if (!r[4].is_null()) *t.mutable_revoke_time() = MicrosToProto(r[4].as<int64_t>());
  return t;
}

constexpr char kTerminalColumns[] =
    "SELECT terminal_id, location, name, (extract(epoch FROM issue_time) * 1000000)::bigint, "
    "(extract(epoch FROM revoke_time) * 1000000)::bigint FROM terminals ";

}  // namespace

absl::StatusOr<TerminalIdentity> Registers::Authenticate(const grpc::ServerContext& context,
                                                         const std::string& store) {
  auto header = context.client_metadata().find("authorization");
  if (header == context.client_metadata().end() ||
      !absl::StartsWith(absl::string_view(header->second.data(), header->second.size()),
                        "Bearer ")) {
    return MakeError(absl::StatusCode::kUnauthenticated, "TOKEN_MISSING",
                     "the call carries no `authorization: Bearer <token>`");
  }
  const std::string token(header->second.data() + 7, header->second.size() - 7);
  auto found = db_.Run<std::optional<TerminalIdentity>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<TerminalIdentity>> {
        pqxx::nontransaction tx(c);
        auto rows = tx.exec_params(
            "SELECT terminal_id, location FROM terminals WHERE token_sha256 = $1 AND "
            "revoke_time IS NULL",
            Sha256Hex(token));
        if (rows.empty()) return std::nullopt;
        return TerminalIdentity{rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
      });
  if (!found.ok()) return found.status();
  if (!*found) {
    return MakeError(absl::StatusCode::kUnauthenticated, "TOKEN_INVALID",
                     "the token is unknown or was revoked");
  }
  if (!store.empty() && store != (*found)->location) {
    return MakeError(absl::StatusCode::kPermissionDenied, "WRONG_STORE",
                     absl::StrCat("terminal ", (*found)->terminal_id, " belongs to store ",
                                  (*found)->location, ", not ", store));
  }
  return **found;
}

absl::StatusOr<v1::IssueTerminalResponse> Registers::Issue(const v1::Terminal& terminal) {
  RETURN_IF_ERROR(ValidateCode("terminal.terminal_id", terminal.terminal_id()));
  RETURN_IF_ERROR(ValidateCode("terminal.location", terminal.location()));
  RETURN_IF_ERROR(ValidateRef("terminal.name", terminal.name()));
  ledger_v1::GetLocationRequest get;
  get.set_code(terminal.location());
  ASSIGN_OR_RETURN(
      auto location,
      clients_.Call(*clients_.catalog, &ledger_v1::CatalogService::Stub::GetLocation, get));
  if (location.location().kind() != ledger_v1::LOCATION_KIND_STORE) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NOT_A_STORE",
                     absl::StrCat(terminal.location(), " is not a store"));
  }
  // A terminal stays in its store: its journal holds that store's sales.
  ASSIGN_OR_RETURN(std::string store, pg::Transact<std::string>(db_, {}, [&](Tx& tx) {
                     auto rows =
                         tx.exec_params("SELECT location FROM terminals WHERE terminal_id = $1",
                                        terminal.terminal_id());
                     return rows.empty() ? terminal.location() : rows[0][0].as<std::string>();
                   }));
  if (store != terminal.location()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "TERMINAL_OF_OTHER_STORE",
                     absl::StrCat("terminal ", terminal.terminal_id(), " belongs to store ", store,
                                  "; issue a new terminal id for ", terminal.location()));
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return absl::InternalError("no randomness");
  const std::string token = absl::StrCat(
      "kpt_", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(random), 32)));
  v1::IssueTerminalResponse out;
  out.set_token(token);
  ASSIGN_OR_RETURN(*out.mutable_terminal(), pg::Transact<v1::Terminal>(db_, {}, [&](Tx& tx) {
    return TerminalOf(tx.exec_params1(
        "INSERT INTO terminals VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (terminal_id) DO "
        "UPDATE SET name = $3, token_sha256 = $4, issue_time = $5, "
        "revoke_time = NULL RETURNING terminal_id, location, name, "
        "(extract(epoch FROM issue_time) * 1000000)::bigint, "
        "(extract(epoch FROM revoke_time) * 1000000)::bigint",
        terminal.terminal_id(), terminal.location(), terminal.name(), Sha256Hex(token),
        pg::SqlTime(clock_.Now())));
  }));
  return out;
}

absl::StatusOr<v1::Terminal> Registers::Revoke(const std::string& terminal_id) {
  RETURN_IF_ERROR(ValidateCode("terminal_id", terminal_id));
  return pg::Transact<v1::Terminal>(db_, {}, [&](Tx& tx) -> absl::StatusOr<v1::Terminal> {
    tx.exec_params(
        "UPDATE terminals SET revoke_time = coalesce(revoke_time, $2) WHERE terminal_id = $1",
        terminal_id, pg::SqlTime(clock_.Now()));
    auto rows =
        tx.exec_params(std::string(kTerminalColumns) + "WHERE terminal_id = $1", terminal_id);
    if (rows.empty()) {
      return MakeError(absl::StatusCode::kNotFound, "TERMINAL_NOT_FOUND",
                       absl::StrCat("no terminal ", terminal_id));
    }
    return TerminalOf(rows[0]);
  });
}

absl::StatusOr<v1::ListTerminalsResponse> Registers::List(const std::string& location) {
  if (!location.empty()) RETURN_IF_ERROR(ValidateCode("location", location));
  return pg::Transact<v1::ListTerminalsResponse>(db_, {}, [&](Tx& tx) {
    v1::ListTerminalsResponse out;
    for (const auto& r : tx.exec_params(
             std::string(kTerminalColumns) + "WHERE $1 = '' OR location = $1 ORDER BY terminal_id",
             location)) {
      *out.add_terminals() = TerminalOf(r);
    }
    return out;
  });
}

absl::StatusOr<v1::StoreSettings> Registers::SetSettings(const v1::StoreSettings& s) {
  RETURN_IF_ERROR(ValidateCode("settings.location", s.location()));
  if (s.name().empty()) return InvalidArgument("settings.name", "the store's name is required");
  for (const auto& [field, value] : {std::pair{"settings.name", &s.name()},
                                     {"settings.address", &s.address()},
                                     {"settings.phone", &s.phone()}}) {
    RETURN_IF_ERROR(ValidateRef(field, *value));
  }
  RETURN_IF_ERROR(ValidateRegistrationNumber(s.invoice_number()));
  RETURN_IF_ERROR(ParseInStoreLayout(s.in_store_layout()).status());
  // The header must print on a Shift_JIS receipt printer (UNPRINTABLE_CHARACTER otherwise).
  ASSIGN_OR_RETURN(
      Receipt sample,
      MakeReceipt({s.name(), s.address(), s.phone(), s.invoice_number(), "t", "t", "", false},
                  {{"-", {1, 1, TaxClass::kStandard, {}}}}, {{TenderKind::kCash, 1}}));
  RETURN_IF_ERROR(RenderEscPos(sample).status());
  ledger_v1::GetLocationRequest get;
  get.set_code(s.location());
  ASSIGN_OR_RETURN(
      auto location,
      clients_.Call(*clients_.catalog, &ledger_v1::CatalogService::Stub::GetLocation, get));
  if (location.location().kind() != ledger_v1::LOCATION_KIND_STORE) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NOT_A_STORE",
                     absl::StrCat(s.location(), " is not a store"));
  }
  RETURN_IF_ERROR(pg::Transact<bool>(db_, {}, [&](Tx& tx) {
                    tx.exec_params(
                        "INSERT INTO store_settings VALUES ($1, $2, $3, $4, $5, $6, $7) "
                        "ON CONFLICT (location) DO UPDATE SET name = $2, address = $3, "
                        "phone = $4, invoice_number = $5, in_store_layout = $6, "
                        "returns_without_receipt = $7",
                        s.location(), s.name(), s.address(), s.phone(), s.invoice_number(),
                        s.in_store_layout(), s.returns_without_receipt());
                    return true;
                  }).status());
  settings_.Forget(s.location());
  v1::StoreSettings out = s;
  out.set_time_zone(location.location().time_zone());
  return out;
}

absl::StatusOr<v1::StoreSettings> Registers::Settings(const std::string& location) {
  RETURN_IF_ERROR(ValidateCode("location", location));
  return settings_.Get(location, [&] { return LoadSettings(location); });
}

absl::StatusOr<v1::StoreSettings> Registers::LoadSettings(const std::string& location) {
  ASSIGN_OR_RETURN(auto stored,
                   pg::Transact<std::optional<v1::StoreSettings>>(
                       db_, {}, [&](Tx& tx) -> absl::StatusOr<std::optional<v1::StoreSettings>> {
                         auto rows = tx.exec_params(
                             "SELECT name, address, phone, invoice_number, in_store_layout, "
                             "returns_without_receipt FROM store_settings WHERE location = $1",
                             location);
                         if (rows.empty()) return std::nullopt;
                         v1::StoreSettings s;
                         s.set_location(location);
                         s.set_name(rows[0][0].as<std::string>());
                         s.set_address(rows[0][1].as<std::string>());
                         s.set_phone(rows[0][2].as<std::string>());
                         s.set_invoice_number(rows[0][3].as<std::string>());
                         s.set_in_store_layout(rows[0][4].as<std::string>());
                         s.set_returns_without_receipt(rows[0][5].as<bool>());
                         return s;
                       }));
  if (!stored) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "STORE_NOT_CONFIGURED",
        absl::StrCat("store ", location, " has no register settings (kura-ctl pos-store set)"));
  }
  ledger_v1::GetLocationRequest get;
  get.set_code(location);
  ASSIGN_OR_RETURN(auto loc, clients_.Call(*clients_.catalog,
                                           &ledger_v1::CatalogService::Stub::GetLocation, get));
  stored->set_time_zone(loc.location().time_zone());
  return *stored;
}

absl::StatusOr<v1::ListIncidentsResponse> Registers::Incidents(
    const v1::ListIncidentsRequest& request) {
  if (!request.location().empty()) RETURN_IF_ERROR(ValidateCode("location", request.location()));
  if (request.limit() < 0 || request.limit() > 1000) {
    return InvalidArgument("limit", "limit must be between 0 and 1000");
  }
  const int limit = request.limit() == 0 ? 100 : request.limit();
  return pg::Transact<v1::ListIncidentsResponse>(db_, {}, [&](Tx& tx) {
    v1::ListIncidentsResponse out;
    for (const auto& r : tx.exec_params(
             "SELECT * FROM ("
             "SELECT CASE WHEN cardinality(skus) > 0 THEN 'OVERSOLD' ELSE 'HELD_UNITS_SOLD' END, "
             "location, terminal_id, transaction_id, "
             "array_to_string(ARRAY(SELECT DISTINCT unnest(skus || held_skus) ORDER BY 1), ','), "
             "detail, "
             "(extract(epoch FROM occurred_at) * 1000000)::bigint AS occurred, "
             "(extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded "
             "FROM oversold_incidents WHERE $1 = '' OR location = $1 "
             "UNION ALL SELECT 'JOURNAL_REJECTED', location, terminal_id, transaction_id, '', "
             "reason || ': ' || detail, NULL, "
             "(extract(epoch FROM recorded_at) * 1000000)::bigint "
             "FROM journal_rejections WHERE $1 = '' OR location = $1) i "
             "ORDER BY recorded DESC, transaction_id LIMIT $2",
             request.location(), limit)) {
      auto* i = out.add_incidents();
      i->set_kind(r[0].as<std::string>());
      i->set_location(r[1].as<std::string>());
      i->set_terminal_id(r[2].as<std::string>());
      i->set_transaction_id(r[3].as<std::string>());
      for (absl::string_view sku :  // SKUs have no commas
           absl::StrSplit(r[4].as<std::string>(), ',', absl::SkipEmpty())) {
        i->add_skus(std::string(sku));
      }
      i->set_detail(r[5].as<std::string>());
      if (!r[6].is_null()) *i->mutable_occurred_at() = MicrosToProto(r[6].as<int64_t>());
      *i->mutable_record_time() = MicrosToProto(r[7].as<int64_t>());
    }
    return out;
  });
}

}  // namespace kura::pos
