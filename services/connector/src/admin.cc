#include "admin.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connector.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using pg::SqlTime;

absl::Status CheckPlatformId(const char* field, const std::string& id) {
  if (id.empty()) return InvalidArgument(field, absl::StrCat(field, " is required"));
  return ValidateRef(field, id);
}

absl::Status CheckUrl(const char* field, const std::string& url, bool required) {
  if (url.empty() && !required) return absl::OkStatus();
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return InvalidArgument(field, absl::StrCat(field, " must be an http(s) URL"));
  }
  return ValidateRef(field, url);
}

v1::Connection ToConnection(const pqxx::row& r) {
  v1::Connection c;
  c.set_channel(r[0].as<std::string>());
  c.set_platform(r[1].as<std::string>());
  c.set_webhook_secret_count(r[2].as<int>());
  c.set_notification_url(r[3].as<std::string>());
  c.set_api_url(r[4].as<std::string>());
  *c.mutable_update_time() = MicrosToProto(r[5].as<int64_t>());
  c.set_push_location_id(r[6].as<std::string>());
  c.set_cancel_unfulfillable(r[7].as<bool>());
  return c;
}

const char kConnectionColumns[] =
    "SELECT channel, platform, cardinality(webhook_secrets), notification_url, api_url, "
    "(extract(epoch FROM update_time) * 1000000)::bigint, push_location_id, cancel_unfulfillable "
    "FROM connections";

template <typename T>
absl::StatusOr<T> Read(pg::Database& db, const std::function<T(pqxx::transaction_base&)>& fn) {
  return db.Run<T>([&](pqxx::connection& c) -> absl::StatusOr<T> {
    pqxx::nontransaction tx(c);
    return fn(tx);
  });
}

}  // namespace

absl::Status Admin::RequireConnection(const std::string& channel) {
  RETURN_IF_ERROR(ValidateCode("channel", channel));
  ASSIGN_OR_RETURN(
      bool found, Read<bool>(db_, [&](pqxx::transaction_base& tx) {
        return !tx.exec_params("SELECT 1 FROM connections WHERE channel = $1", channel).empty();
      }));
  if (!found) {
    return MakeError(absl::StatusCode::kNotFound, "CONNECTION_NOT_FOUND",
                     absl::StrCat("channel ", channel, " has no platform connection"),
                     {{"channel", channel}});
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Connection> Admin::SetConnection(const v1::SetConnectionRequest& request) {
  const v1::Connection& c = request.connection();
  RETURN_IF_ERROR(ValidateCode("connection.channel", c.channel()));
  if (FindConnector(c.platform()) == nullptr) {
    return InvalidArgument("connection.platform", absl::StrCat("platform must be one of ",
                                                               absl::StrJoin(Platforms(), ", ")));
  }
  if (c.webhook_secrets_size() < 1 || c.webhook_secrets_size() > 2) {
    return InvalidArgument("connection.webhook_secrets",
                           "give the current webhook secret, and during a rotation the previous");
  }
  for (const auto& secret : c.webhook_secrets()) {
    if (secret.size() < 8 || secret.size() > 256) {
      return InvalidArgument("connection.webhook_secrets",
                             "a webhook secret is 8 to 256 characters");
    }
  }
  RETURN_IF_ERROR(
      CheckUrl("connection.notification_url", c.notification_url(), c.platform() == "square"));
  RETURN_IF_ERROR(CheckUrl("connection.api_url", c.api_url(), false));
  RETURN_IF_ERROR(ValidateRef("connection.push_location_id", c.push_location_id()));
  if (c.cancel_unfulfillable()) {
    if (!FindConnector(c.platform())->CancelsOrders()) {
      return InvalidArgument("connection.cancel_unfulfillable",
                             absl::StrCat(c.platform(), " orders are not cancelled through kura"));
    }
    if (c.api_url().empty()) {
      return InvalidArgument("connection.cancel_unfulfillable",
                             "cancelling orders on the platform needs its api_url");
    }
  }
  if (c.api_credentials().size() > 1024) {
    return InvalidArgument("connection.api_credentials", "api_credentials is too long");
  }
  ledger_v1::GetChannelRequest get;
  get.set_code(c.channel());
  RETURN_IF_ERROR(
      clients_.Call(*clients_.catalog, &ledger_v1::CatalogService::Stub::GetChannel, get).status());
  return db_.Run<v1::Connection>([&](pqxx::connection& conn) -> absl::StatusOr<v1::Connection> {
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO connections (channel, platform, webhook_secrets, notification_url, api_url, "
        "api_credentials, update_time, push_location_id, cancel_unfulfillable) "
        "VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (channel) DO UPDATE SET platform = $2, webhook_secrets = $3::text[], "
        "notification_url = $4, api_url = $5, api_credentials = $6, update_time = $7, "
        "push_location_id = $8, cancel_unfulfillable = $9",
        c.channel(), c.platform(),
        pg::SqlTextArray({c.webhook_secrets().begin(), c.webhook_secrets().end()}),
        c.notification_url(), c.api_url(), c.api_credentials(), SqlTime(clock_.Now()),
        c.push_location_id(), c.cancel_unfulfillable());
    tx.exec_params(  // what the channel offers is pushed afresh to the (new) endpoint
        "INSERT INTO push_refresh (channel, sku) SELECT channel, sku FROM item_mappings "
        "WHERE channel = $1",
        c.channel());
    v1::Connection out = ToConnection(
        tx.exec_params1(std::string(kConnectionColumns) + " WHERE channel = $1", c.channel()));
    tx.commit();
    return out;
  });
}

absl::StatusOr<v1::Connection> Admin::GetConnection(const std::string& channel) {
  RETURN_IF_ERROR(RequireConnection(channel));
  return Read<v1::Connection>(db_, [&](pqxx::transaction_base& tx) {
    return ToConnection(
        tx.exec_params1(std::string(kConnectionColumns) + " WHERE channel = $1", channel));
  });
}

absl::StatusOr<v1::ListConnectionsResponse> Admin::ListConnections() {
  return Read<v1::ListConnectionsResponse>(db_, [&](pqxx::transaction_base& tx) {
    v1::ListConnectionsResponse out;
    for (const auto& row : tx.exec(std::string(kConnectionColumns) + " ORDER BY channel")) {
      *out.add_connections() = ToConnection(row);
    }
    return out;
  });
}

absl::StatusOr<v1::ItemMapping> Admin::SetItemMapping(const v1::SetItemMappingRequest& request) {
  const v1::ItemMapping& m = request.mapping();
  RETURN_IF_ERROR(RequireConnection(m.channel()));
  RETURN_IF_ERROR(CheckPlatformId("mapping.platform_item_id", m.platform_item_id()));
  RETURN_IF_ERROR(
      ValidateRef("mapping.platform_inventory_item_id", m.platform_inventory_item_id()));
  RETURN_IF_ERROR(ValidateSku("mapping.sku", m.sku()));
  ledger_v1::GetItemRequest get;
  get.set_sku(m.sku());
  RETURN_IF_ERROR(
      clients_.Call(*clients_.catalog, &ledger_v1::CatalogService::Stub::GetItem, get).status());
  RETURN_IF_ERROR(Read<bool>(db_, [&](pqxx::transaction_base& tx) {
                    tx.exec_params(
                        "WITH mapped AS (INSERT INTO item_mappings (channel, platform_item_id, "
                        "sku, platform_inventory_item_id) VALUES ($1, $2, $3, $4) ON CONFLICT "
                        "(channel, platform_item_id) DO UPDATE SET sku = $3, "
                        "platform_inventory_item_id = $4 RETURNING channel, sku) "
                        "INSERT INTO push_refresh (channel, sku) SELECT channel, sku FROM mapped",
                        m.channel(), m.platform_item_id(), m.sku(), m.platform_inventory_item_id());
                    return true;
                  }).status());
  return m;
}

absl::Status Admin::DeleteItemMapping(const v1::DeleteItemMappingRequest& request) {
  RETURN_IF_ERROR(RequireConnection(request.channel()));
  ASSIGN_OR_RETURN(bool deleted, Read<bool>(db_, [&](pqxx::transaction_base& tx) {
                     return !tx.exec_params(
                                   "DELETE FROM item_mappings WHERE channel = $1 AND "
                                   "platform_item_id = $2 RETURNING 1",
                                   request.channel(), request.platform_item_id())
                                 .empty();
                   }));
  if (!deleted) {
    return MakeError(absl::StatusCode::kNotFound, "MAPPING_NOT_FOUND",
                     absl::StrCat("platform item \"", request.platform_item_id(),
                                  "\" is not mapped on ", request.channel()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListItemMappingsResponse> Admin::ListItemMappings(const std::string& channel) {
  RETURN_IF_ERROR(RequireConnection(channel));
  return Read<v1::ListItemMappingsResponse>(db_, [&](pqxx::transaction_base& tx) {
    v1::ListItemMappingsResponse out;
    for (const auto& row : tx.exec_params(
             "SELECT platform_item_id, sku, platform_inventory_item_id FROM item_mappings "
             "WHERE channel = $1 ORDER BY platform_item_id",
             channel)) {
      auto* m = out.add_mappings();
      m->set_channel(channel);
      m->set_platform_item_id(row[0].as<std::string>());
      m->set_sku(row[1].as<std::string>());
      m->set_platform_inventory_item_id(row[2].as<std::string>());
    }
    return out;
  });
}

absl::StatusOr<v1::LocationMapping> Admin::SetLocationMapping(
    const v1::SetLocationMappingRequest& request) {
  const v1::LocationMapping& m = request.mapping();
  RETURN_IF_ERROR(RequireConnection(m.channel()));
  RETURN_IF_ERROR(CheckPlatformId("mapping.platform_location_id", m.platform_location_id()));
  RETURN_IF_ERROR(ValidateCode("mapping.location", m.location()));
  ledger_v1::GetLocationRequest get;
  get.set_code(m.location());
  RETURN_IF_ERROR(
      clients_.Call(*clients_.catalog, &ledger_v1::CatalogService::Stub::GetLocation, get)
          .status());
  RETURN_IF_ERROR(Read<bool>(db_, [&](pqxx::transaction_base& tx) {
                    tx.exec_params(
                        "INSERT INTO location_mappings (channel, platform_location_id, location) "
                        "VALUES ($1, $2, $3) ON CONFLICT (channel, platform_location_id) "
                        "DO UPDATE SET location = $3",
                        m.channel(), m.platform_location_id(), m.location());
                    return true;
                  }).status());
  return m;
}

absl::StatusOr<v1::ListLocationMappingsResponse> Admin::ListLocationMappings(
    const std::string& channel) {
  RETURN_IF_ERROR(RequireConnection(channel));
  return Read<v1::ListLocationMappingsResponse>(db_, [&](pqxx::transaction_base& tx) {
    v1::ListLocationMappingsResponse out;
    for (const auto& row : tx.exec_params(
             "SELECT platform_location_id, location FROM location_mappings WHERE channel = $1 "
             "ORDER BY platform_location_id",
             channel)) {
      auto* m = out.add_mappings();
      m->set_channel(channel);
      m->set_platform_location_id(row[0].as<std::string>());
      m->set_location(row[1].as<std::string>());
    }
    return out;
  });
}

absl::StatusOr<v1::ListDeadLettersResponse> Admin::ListDeadLetters(
    const v1::ListDeadLettersRequest& request) {
  if (!request.channel().empty()) RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  if (request.page_size() < 0 || request.page_size() > 500) {
    return InvalidArgument("page_size", "page_size must be between 0 and 500");
  }
  const int limit = request.page_size() == 0 ? 100 : request.page_size();
  return Read<v1::ListDeadLettersResponse>(db_, [&](pqxx::transaction_base& tx) {
    v1::ListDeadLettersResponse out;
    for (const auto& row : tx.exec_params(
             "SELECT d.dead_letter_id, d.channel, d.platform, d.reason, d.detail, "
             "(extract(epoch FROM d.created_at) * 1000000)::bigint, coalesce(d.inbox_id, 0), "
             "coalesce(i.event_id, ''), coalesce(i.topic, '') FROM dead_letters d "
             "LEFT JOIN inbox i USING (inbox_id) WHERE ($1 = '' OR d.channel = $1) "
             "ORDER BY d.dead_letter_id DESC LIMIT $2",
             request.channel(), limit)) {
      auto* d = out.add_dead_letters();
      d->set_dead_letter_id(row[0].as<int64_t>());
      d->set_channel(row[1].as<std::string>());
      d->set_platform(row[2].as<std::string>());
      d->set_reason(row[3].as<std::string>());
      d->set_detail(row[4].as<std::string>());
      *d->mutable_create_time() = MicrosToProto(row[5].as<int64_t>());
      d->set_inbox_id(row[6].as<int64_t>());
      d->set_event_id(row[7].as<std::string>());
      d->set_topic(row[8].as<std::string>());
    }
    return out;
  });
}

absl::Status Admin::RetryDeadLetter(int64_t dead_letter_id) {
  if (dead_letter_id <= 0) return InvalidArgument("dead_letter_id", "dead_letter_id is required");
  // One transaction: the delivery goes back to the inbox and leaves the dead letters together.
  ASSIGN_OR_RETURN(int found, db_.Run<int>([&](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::work tx(c);
    auto rows = tx.exec_params(
        "SELECT coalesce(inbox_id, 0) FROM dead_letters WHERE dead_letter_id = $1", dead_letter_id);
    if (rows.empty()) return 0;
    if (rows[0][0].as<int64_t>() == 0) return 1;
    tx.exec_params(
        "UPDATE inbox SET state = 0, attempts = 0, next_attempt_at = $2 "
        "WHERE inbox_id = $1 AND state = 2",
        rows[0][0].as<int64_t>(), SqlTime(clock_.Now()));
    tx.exec_params("DELETE FROM dead_letters WHERE dead_letter_id = $1", dead_letter_id);
    tx.commit();
    return 2;
  }));
  if (found == 0) {
    return MakeError(absl::StatusCode::kNotFound, "DEAD_LETTER_NOT_FOUND",
                     absl::StrCat("no dead letter ", dead_letter_id));
  }
  if (found == 1) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NOT_RETRYABLE",
                     "the delivery was malformed and never entered the inbox");
  }
  return absl::OkStatus();
}

}  // namespace kura::connector
