#pragma once

// Terminals (registers), their tokens, and the stores' register settings.

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "clients.h"
#include "kura/base/clock.h"
#include "kura/base/ttl_cache.h"
#include "kura/pg/database.h"
#include "kura/pos/v1/pos.pb.h"

namespace kura::pos {

/// The terminal a call comes from.
struct TerminalIdentity {
  std::string terminal_id;
  std::string location;
};

/// Terminals, tokens and store settings. Thread-safe.
class Registers {
 public:
  Registers(pg::Database& db, const Clock& clock, const Clients& clients)
      : db_(db), clock_(clock), clients_(clients) {}

  /// The terminal whose token the call carries (`authorization: Bearer <token>`), looked up on
  /// every call so that a revoked token stops at once. UNAUTHENTICATED (TOKEN_MISSING,
  /// TOKEN_INVALID) otherwise. `store`, when the request names one, must be the terminal's:
  /// PERMISSION_DENIED (WRONG_STORE).
  absl::StatusOr<TerminalIdentity> Authenticate(const grpc::ServerContext& context,
                                                const std::string& store);

  /// Issues (or reissues) a terminal's token; the store must be a store location.
  absl::StatusOr<v1::IssueTerminalResponse> Issue(const v1::Terminal& terminal);
  absl::StatusOr<v1::Terminal> Revoke(const std::string& terminal_id);
  absl::StatusOr<v1::ListTerminalsResponse> List(const std::string& location);

  /// Sets a store's settings (validated: invoice number T + 13 digits, the in-store layout).
  absl::StatusOr<v1::StoreSettings> SetSettings(const v1::StoreSettings& settings);
  /// A store's settings with its time zone; FAILED_PRECONDITION (STORE_NOT_CONFIGURED) when it
  /// has none. Read at most once a second per store (every sale prints them).
  absl::StatusOr<v1::StoreSettings> Settings(const std::string& location);
  /// Oversold sales and rejected journal entries, newest first.
  absl::StatusOr<v1::ListIncidentsResponse> Incidents(const v1::ListIncidentsRequest& request);

 private:
  absl::StatusOr<v1::StoreSettings> LoadSettings(const std::string& location);

  pg::Database& db_;
  const Clock& clock_;
  const Clients& clients_;
  TtlCache<std::string, v1::StoreSettings> settings_{clock_, absl::Seconds(1)};
};

}  // namespace kura::pos
