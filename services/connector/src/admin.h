#pragma once

#include "absl/status/statusor.h"
#include "clients.h"
#include "kura/base/clock.h"
#include "kura/connector/v1/admin.pb.h"
#include "kura/pg/database.h"

namespace kura::connector {

namespace v1 = ::kura::connector::v1;

/// ConnectorAdminService: connections, mappings and dead letters. Names are checked against
/// the ledger's catalog. Thread-safe.
class Admin {
 public:
  Admin(pg::Database& db, const Clock& clock, const Clients& clients)
      : db_(db), clock_(clock), clients_(clients) {}

  absl::StatusOr<v1::Connection> SetConnection(const v1::SetConnectionRequest& r);
  absl::StatusOr<v1::Connection> GetConnection(const std::string& channel);
  absl::StatusOr<v1::ListConnectionsResponse> ListConnections();
  absl::StatusOr<v1::ItemMapping> SetItemMapping(const v1::SetItemMappingRequest& r);
  absl::Status DeleteItemMapping(const v1::DeleteItemMappingRequest& r);
  absl::StatusOr<v1::ListItemMappingsResponse> ListItemMappings(const std::string& channel);
  absl::StatusOr<v1::LocationMapping> SetLocationMapping(const v1::SetLocationMappingRequest& r);
  absl::StatusOr<v1::ListLocationMappingsResponse> ListLocationMappings(const std::string& channel);
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(const v1::ListDeadLettersRequest& r);
  absl::Status RetryDeadLetter(int64_t dead_letter_id);

 private:
  // NOT_FOUND CONNECTION_NOT_FOUND unless the channel has a connection.
  absl::Status RequireConnection(const std::string& channel);

  pg::Database& db_;
  const Clock& clock_;
  const Clients& clients_;
};

}  // namespace kura::connector
