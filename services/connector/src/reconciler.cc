#include "reconciler.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "connector.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/log/log.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;

const char kIncidentColumns[] =
    "SELECT incident_id, channel, sku, platform_item_id, pushed_quantity, platform_quantity, "
    "kura_quantity, state, (extract(epoch FROM opened_at) * 1000000)::bigint, "
    "(extract(epoch FROM resolved_at) * 1000000)::bigint FROM drift_incidents";

v1::DriftIncident ToIncident(const pqxx::row& r) {
  v1::DriftIncident d;
  d.set_incident_id(r[0].as<int64_t>());
  d.set_channel(r[1].as<std::string>());
  d.set_sku(r[2].as<std::string>());
  d.set_platform_item_id(r[3].as<std::string>());
  d.set_pushed_quantity(r[4].as<int64_t>());
  d.set_platform_quantity(r[5].as<int64_t>());
  d.set_kura_quantity(r[6].as<int64_t>());
  d.set_state(static_cast<v1::DriftState>(r[7].as<int>() + 1));
  *d.mutable_open_time() = MicrosToProto(r[8].as<int64_t>());
  if (!r[9].is_null()) *d.mutable_resolve_time() = MicrosToProto(r[9].as<int64_t>());
  return d;
}

// Makes the pusher set the item on the channel again at once.
void ForcePush(Tx& tx, const std::string& channel, const std::string& sku, absl::Time now) {
  tx.exec_params(
      "UPDATE pushes SET pushed_sequence = -1, revision = revision + 1, attempts = 0, "
      "next_attempt_at = $3, "
      "suspect_quantity = NULL WHERE channel = $1 AND sku = $2",
      channel, sku, SqlTime(now));
}

}  // namespace

absl::StatusOr<v1::ReconcileResponse> Reconciler::Reconcile(const std::string& only,
                                                            const std::set<std::string>& skus) {
  if (!only.empty()) RETURN_IF_ERROR(ValidateCode("channel", only));
  struct Connection {
    std::string channel, platform;
    ApiEndpoint api;
  };
  ASSIGN_OR_RETURN(
      auto connections,
      db_.Run<std::vector<Connection>>(
          [&](pqxx::connection& c) -> absl::StatusOr<std::vector<Connection>> {
            pqxx::nontransaction tx(c);
            std::vector<Connection> out;
            for (const auto& r : tx.exec_params("SELECT channel, platform, api_url, "
                                                "api_credentials, push_location_id FROM "
                                                "connections WHERE api_url <> '' AND "
                                                "($1 = '' OR channel = $1) ORDER BY channel",
                                                only)) {
              out.push_back(
                  {r[0].as<std::string>(),
                   r[1].as<std::string>(),
                   {r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>()}});
            }
            return out;
          }));
  v1::ReconcileResponse out;
  for (const Connection& conn : connections) {
    const Connector* connector = FindConnector(conn.platform);
    if (connector == nullptr) continue;
    // The items pushed there, settled (no push in flight), by the platform's id.
    struct Item {
      std::string sku, target;
      int64_t pushed;
    };
    ASSIGN_OR_RETURN(
        auto items,
        db_.Run<std::vector<Item>>([&](pqxx::connection& c) -> absl::StatusOr<std::vector<Item>> {
          pqxx::nontransaction tx(c);
          std::vector<Item> got;
          for (const auto& r : tx.exec_params("SELECT m.sku, CASE WHEN "
                                              "m.platform_inventory_item_id <> '' THEN "
                                              "m.platform_inventory_item_id ELSE "
                                              "m.platform_item_id END, p.pushed FROM "
                                              "item_mappings m JOIN pushes p USING (channel, "
                                              "sku) WHERE m.channel = $1 AND p.pushed IS NOT "
                                              "NULL AND p.pushed_sequence >= p.desired_sequence",
                                              conn.channel)) {
            if (!skus.empty() && !skus.count(r[0].as<std::string>())) continue;
            got.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>()});
          }
          return got;
        }));
    std::vector<std::string> targets;
    for (const auto& item : items) targets.push_back(item.target);
    std::map<std::string, int64_t> platform;
    for (size_t from = 0; from < targets.size(); from += 100) {
      std::vector<std::string> chunk(targets.begin() + from,
                                     targets.begin() + std::min(targets.size(), from + 100));
      auto got = connector->ReadStock(conn.api, chunk);
      if (!got.ok()) {  // this channel is skipped this time; the others go on
        log::Warn("reconciliation could not read the platform's stock",
                  {{"channel", conn.channel}, {"error", std::string(got.status().message())}});
        platform.clear();
        break;
      }
      platform.insert(got->begin(), got->end());
    }
    for (const auto& item : items) {
      auto it = platform.find(item.target);
      if (it == platform.end()) continue;
      out.set_checked(out.checked() + 1);
      const int64_t seen = it->second;
      ASSIGN_OR_RETURN(int outcome, db_.Run<int>([&](pqxx::connection& c) {
        return pg::RunInTransaction<int>(c, {}, [&](Tx& tx) -> absl::StatusOr<int> {
          auto row = tx.exec_params(
              "SELECT pushed, suspect_quantity, desired, pushed_sequence >= desired_sequence, "
              "EXISTS (SELECT 1 FROM drift_incidents d WHERE d.channel = p.channel AND "
              "d.sku = p.sku AND d.state = 0), suspect_at <= $3, "
              "EXISTS (SELECT 1 FROM inbox i WHERE i.channel = p.channel AND i.state = 0) "
              "FROM pushes p WHERE channel = $1 AND sku = $2 FOR UPDATE",
              conn.channel, item.sku, SqlTime(clock_.Now() - confirm_after_));
          // Moved since it was read (a push went out), or already frozen: nothing to say.
          if (row.empty() || row[0][0].as<int64_t>() != item.pushed || !row[0][3].as<bool>() ||
              row[0][4].as<bool>()) {
            return 0;
          }
          if (seen == item.pushed) {
            tx.exec_params(
                "UPDATE pushes SET suspect_quantity = NULL WHERE channel = $1 AND sku = $2",
                conn.channel, item.sku);
            return 0;
          }
          if (row[0][1].is_null() || row[0][1].as<int64_t>() != seen) {
            tx.exec_params(
                "UPDATE pushes SET suspect_quantity = $3, suspect_at = $4 "
                "WHERE channel = $1 AND sku = $2",
                conn.channel, item.sku, seen, SqlTime(clock_.Now()));
            return 1;
          }
          // Seen again: a drift once it has lasted drift_confirm_after and no delivery of the
          // channel is waiting (a platform sale on its way to kura looks the same meanwhile).
          if (!row[0][5].as<bool>() || row[0][6].as<bool>()) return 1;
          tx.exec_params(
              "INSERT INTO drift_incidents (channel, sku, platform_item_id, pushed_quantity, "
              "platform_quantity, kura_quantity, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
              conn.channel, item.sku, item.target, item.pushed, seen, row[0][2].as<int64_t>(),
              SqlTime(clock_.Now()));
          // Frozen: offered as 0 from the next push (compare-and-set from what it shows).
          tx.exec_params("UPDATE pushes SET platform_quantity = $3 WHERE channel = $1 AND sku = $2",
                         conn.channel, item.sku, seen);
          ForcePush(tx, conn.channel, item.sku, clock_.Now());
          log::Warn("stock drift: item frozen on the channel",
                    {{"channel", conn.channel},
                     {"sku", item.sku},
                     {"pushed", std::to_string(item.pushed)},
                     {"platform", std::to_string(seen)}});
          return 2;
        });
      }));
      if (outcome == 1) out.set_suspected(out.suspected() + 1);
      if (outcome == 2) out.set_opened(out.opened() + 1);
    }
  }
  return out;
}

absl::StatusOr<v1::ListDriftsResponse> Reconciler::List(v1::DriftState state) {
  if (!v1::DriftState_IsValid(state)) return InvalidArgument("state", "state is not a DriftState");
  return db_.Run<v1::ListDriftsResponse>(
      [&](pqxx::connection& c) -> absl::StatusOr<v1::ListDriftsResponse> {
        pqxx::nontransaction tx(c);
        v1::ListDriftsResponse out;
        for (const auto& row :
             tx.exec_params(std::string(kIncidentColumns) +
                                " WHERE $1 < 0 OR state = $1 ORDER BY incident_id DESC LIMIT 500",
                            static_cast<int>(state) - 1)) {
          *out.add_incidents() = ToIncident(row);
        }
        return out;
      });
}

absl::StatusOr<v1::DriftIncident> Reconciler::Resolve(const v1::ResolveDriftRequest& request) {
  if (request.incident_id() <= 0) return InvalidArgument("incident_id", "incident_id is required");
  if (request.trust() != "kura" && request.trust() != "platform") {
    return InvalidArgument("trust", "trust must be kura or platform");
  }
  // The incident, locked and still open; fails otherwise.
  const auto open_incident = [&](Tx& tx) -> absl::StatusOr<v1::DriftIncident> {
    auto rows = tx.exec_params(std::string(kIncidentColumns) + " WHERE incident_id = $1 FOR UPDATE",
                               request.incident_id());
    if (rows.empty()) {
      return MakeError(absl::StatusCode::kNotFound, "DRIFT_NOT_FOUND",
                       absl::StrCat("no drift incident ", request.incident_id()));
    }
    v1::DriftIncident d = ToIncident(rows[0]);
    if (d.state() != v1::DRIFT_STATE_OPEN) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "DRIFT_RESOLVED",
                       "the incident is resolved already");
    }
    return d;
  };
  // Trusting the platform moves kura's stock: the intent is committed first (the incident is
  // being resolved that way: another way is refused meanwhile), then the ledger is called with
  // no transaction open (idempotent by the incident), then the result is committed. A crash in
  // between leaves the intent: resolving again the same way completes it.
  std::optional<ledger_v1::ApplyMovementsRequest> adjust;
  ASSIGN_OR_RETURN(
      const v1::DriftIncident intended,
      pg::Transact<v1::DriftIncident>(db_, {}, [&](Tx& tx) -> absl::StatusOr<v1::DriftIncident> {
        adjust.reset();
        ASSIGN_OR_RETURN(v1::DriftIncident d, open_incident(tx));
        const std::string resolving =
            tx.exec_params1("SELECT resolving FROM drift_incidents WHERE incident_id = $1",
                            d.incident_id())[0]
                .as<std::string>();
        if (!resolving.empty() && resolving != request.trust()) {
          return MakeError(absl::StatusCode::kFailedPrecondition, "DRIFT_RESOLVING",
                           absl::StrCat("the incident is being resolved trusting ", resolving));
        }
        // Either way is an intent: the other way is refused until this one is done.
        tx.exec_params("UPDATE drift_incidents SET resolving = $2 WHERE incident_id = $1",
                       d.incident_id(), request.trust());
        if (request.trust() != "platform") return d;
        // kura's stock at the location the platform's stock stands for, moved by the
        // difference between the platform's quantity and kura's available to promise.
        auto location = tx.exec_params(
            "SELECT m.location FROM connections c JOIN location_mappings m ON "
            "m.channel = c.channel AND m.platform_location_id = c.push_location_id "
            "WHERE c.channel = $1",
            d.channel());
        if (location.empty()) {
          return MakeError(absl::StatusCode::kFailedPrecondition, "UNMAPPED_LOCATION",
                           "the connection's push location is not mapped to a kura "
                           "location: map it, or trust kura");
        }
        // What the platform shows beyond what kura pushed is what kura's stock lacks.
        const int64_t delta = d.platform_quantity() - d.pushed_quantity();
        if (delta != 0) {
          adjust.emplace();
          adjust->set_request_id(absl::StrCat("cn-drift-", d.incident_id()));
          auto* m = adjust->add_movements();
          m->set_kind(ledger_v1::MOVEMENT_KIND_ADJUST);
          m->set_sku(d.sku());
          m->set_location(location[0][0].as<std::string>());
          m->set_quantity(delta);
          m->set_channel(d.channel());
          m->set_source_ref(absl::StrCat("drift incident ", d.incident_id()));
        }
        return d;
      }));
  if (adjust) {
    RETURN_IF_ERROR(
        clients_.Call(*clients_.ledger, &ledger_v1::LedgerService::Stub::ApplyMovements, *adjust)
            .status());
  }
  return pg::Transact<v1::DriftIncident>(db_, {}, [&](Tx& tx) -> absl::StatusOr<v1::DriftIncident> {
    ASSIGN_OR_RETURN(v1::DriftIncident d, open_incident(tx));
    const std::string resolving =
        tx.exec_params1("SELECT resolving FROM drift_incidents WHERE incident_id = $1",
                        d.incident_id())[0]
            .as<std::string>();
    if (resolving != request.trust()) {  // taken over by the other way meanwhile
      return MakeError(absl::StatusCode::kFailedPrecondition, "DRIFT_RESOLVING",
                       absl::StrCat("the incident is being resolved trusting ", resolving));
    }
    tx.exec_params("UPDATE drift_incidents SET state = $2, resolved_at = $3 WHERE incident_id = $1",
                   d.incident_id(), request.trust() == "kura" ? 1 : 2, SqlTime(clock_.Now()));
    ForcePush(tx, d.channel(), d.sku(), clock_.Now());
    return ToIncident(tx.exec_params1(std::string(kIncidentColumns) + " WHERE incident_id = $1",
                                      intended.incident_id()));
  });
}

}  // namespace kura::connector
