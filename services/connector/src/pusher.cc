#include "pusher.h"

#include <pqxx/pqxx>

#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "connector.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/log/log.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;
using Outcome = PushResult::Outcome;

double Jitter() {
  thread_local std::mt19937 random(std::random_device{}());
  return std::uniform_real_distribution<double>(0.5, 1.0)(random);
}

const char* ResultName(Outcome o) {
  switch (o) {
    case Outcome::kApplied:
      return "applied";
    case Outcome::kStale:
      return "stale";
    case Outcome::kThrottled:
      return "throttled";
    case Outcome::kRetry:
      return "failed";
    case Outcome::kRejected:
      return "rejected";
  }
  return "failed";
}

}  // namespace

absl::StatusOr<int> Pusher::Follow() {
  return db_.Run<int>([&](pqxx::connection& c) {
    return pg::RunInTransaction<int>(c, {}, [&](Tx& tx) -> absl::StatusOr<int> {
      // One follower at a time across replicas: the others skip this turn.
      auto cursor =
          tx.exec("SELECT sequence FROM feed_cursor WHERE name = 'push' FOR UPDATE SKIP LOCKED");
      if (cursor.empty()) return 0;
      ledger_v1::ListChangesRequest list;
      list.set_after_sequence(cursor[0][0].as<int64_t>());
      list.set_page_size(500);
      ASSIGN_OR_RETURN(
          auto page,
          clients_.Call(*clients_.feed, &ledger_v1::ChangeFeedService::Stub::ListChanges, list));
      // Items whose mapping or connection changed are worked out afresh too.
      auto refresh = tx.exec("DELETE FROM push_refresh RETURNING channel, sku");
      if (page.events().empty() && refresh.empty()) return 0;

      // What changed: items (with their latest commit), and channels whose settings changed.
      std::map<std::string, absl::Time> touched;
      std::set<std::string> channels_changed;
      for (const auto& e : page.events()) {
        const absl::Time at = FromProto(e.commit_time());
        if (e.has_availability_changed()) touched[e.availability_changed().sku()] = at;
        if (e.has_oversold()) touched[e.oversold().sku()] = at;
        if (e.has_channel_changed()) channels_changed.insert(e.channel_changed().channel());
      }
      const int64_t last = page.events().empty() ? list.after_sequence()
                                                 : page.events(page.events_size() - 1).sequence();
      const absl::Time last_at = page.events().empty()
                                     ? clock_.Now()
                                     : FromProto(page.events(page.events_size() - 1).commit_time());
      for (const auto& row : refresh) touched.emplace(row[1].as<std::string>(), clock_.Now());
      for (const auto& channel : channels_changed) {
        for (const auto& row :
             tx.exec_params("SELECT DISTINCT sku FROM item_mappings WHERE channel = $1", channel)) {
          touched.emplace(row[0].as<std::string>(), last_at);
        }
      }
      // The connected channels that sell them.
      std::vector<std::string> skus;
      for (const auto& [sku, _] : touched) skus.push_back(sku);
      std::map<std::string, std::set<std::string>> channels_of;  // sku → channels
      std::set<std::string> channels;
      for (const auto& row : tx.exec_params(
               "SELECT DISTINCT m.sku, m.channel FROM item_mappings m JOIN connections c "
               "USING (channel) WHERE m.sku = ANY($1::text[])",
               pg::SqlTextArray(skus))) {
        channels_of[row[0].as<std::string>()].insert(row[1].as<std::string>());
        channels.insert(row[1].as<std::string>());
      }
      if (!channels_of.empty()) {
        std::map<std::pair<std::string, std::string>, int64_t> atp;  // (channel, sku)
        ledger_v1::GetAvailabilityRequest ask;
        for (const auto& channel : channels) ask.add_channels(channel);
        auto it = channels_of.begin();
        while (it != channels_of.end()) {  // at most 1000 items a call
          ask.clear_skus();
          for (; it != channels_of.end() && ask.skus_size() < 1000; ++it) ask.add_skus(it->first);
          ASSIGN_OR_RETURN(auto rows,
                           clients_.Call(*clients_.ledger,
                                         &ledger_v1::LedgerService::Stub::GetAvailability, ask));
          for (const auto& row : rows.rows()) {
            atp[{row.channel(), row.sku()}] += std::max<int64_t>(0, row.available_to_promise());
          }
        }
        const std::string now = SqlTime(clock_.Now());
        for (const auto& [sku, sku_channels] : channels_of) {
          for (const auto& channel : sku_channels) {
            tx.exec_params(
                // A value equal to the one already pushed needs no push; a value worked out
                // afresh at the position of the last push does (pushed_sequence -1).
                "INSERT INTO pushes (channel, sku, desired, desired_sequence, desired_at, "
                "next_attempt_at, pushed_sequence) VALUES ($1, $2, $3, $4, $5, $6, -1) "
                "ON CONFLICT (channel, sku) DO UPDATE SET desired = $3, desired_sequence = $4, "
                "desired_at = $5, next_attempt_at = least(pushes.next_attempt_at, $6), "
                "attempts = 0, stale_cap = NULL, pushed_sequence = CASE "
                "  WHEN pushes.pushed IS NOT DISTINCT FROM $3 "
                "    AND pushes.pushed_sequence >= pushes.desired_sequence THEN $4 "
                "  WHEN pushes.pushed_sequence >= $4 THEN -1 ELSE pushes.pushed_sequence END "
                "WHERE pushes.desired_sequence <= $4",
                channel, sku, atp[{channel, sku}], last, SqlTime(touched[sku]), now);
          }
        }
      }
      for (const auto& row : refresh) {  // set on the platform again, even if unchanged here
        tx.exec_params("UPDATE pushes SET pushed_sequence = -1 WHERE channel = $1 AND sku = $2",
                       row[0].as<std::string>(), row[1].as<std::string>());
      }
      tx.exec_params("UPDATE feed_cursor SET sequence = $1 WHERE name = 'push'", last);
      return page.events_size() + static_cast<int>(refresh.size());
    });
  });
}

void Pusher::Pace(const std::string& channel, double requests_per_second) {
  absl::Time slot;
  {
    std::lock_guard lock(pace_mu_);
    const absl::Time now = absl::Now();
    absl::Time& next = next_slot_[channel];
    slot = std::max(next, now);
    next = slot + absl::Seconds(1.0 / requests_per_second);
  }
  absl::SleepFor(slot - absl::Now());
}

absl::StatusOr<bool> Pusher::PushNext() {
  std::string platform, result;
  std::optional<absl::Duration> lag;
  auto pushed = db_.Run<bool>([&](pqxx::connection& c) {
    return pg::RunInTransaction<bool>(c, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
      result.clear();
      lag.reset();
      const absl::Time now = clock_.Now();
      auto rows = tx.exec_params(
          "SELECT p.channel, p.sku, p.desired, p.desired_sequence, "
          "(extract(epoch FROM p.desired_at) * 1000000)::bigint, p.platform_quantity, "
          "p.attempts, c.platform, c.api_url, c.api_credentials, c.push_location_id, "
          "EXISTS (SELECT 1 FROM drift_incidents d WHERE d.channel = p.channel AND "
          "d.sku = p.sku AND d.state = 0), p.stale_cap "
          "FROM pushes p JOIN connections c USING (channel) "
          "WHERE p.pushed_sequence < p.desired_sequence AND p.next_attempt_at <= $1 "
          "ORDER BY p.next_attempt_at LIMIT 1 FOR UPDATE OF p SKIP LOCKED",
          SqlTime(now));
      if (rows.empty()) return false;
      const auto& r = rows[0];
      const std::string channel = r[0].as<std::string>(), sku = r[1].as<std::string>();
      const int64_t sequence = r[3].as<int64_t>();
      const int attempts = r[6].as<int>();
      platform = r[7].as<std::string>();
      const Connector* connector = FindConnector(platform);
      auto later = [&](absl::Duration wait, const std::string& error, bool count) {
        tx.exec_params(
            "UPDATE pushes SET attempts = attempts + $3, next_attempt_at = $4, last_error = $5 "
            "WHERE channel = $1 AND sku = $2",
            channel, sku, count ? 1 : 0, SqlTime(clock_.Now() + wait), error);
      };
      auto targets = tx.exec_params(
          "SELECT CASE WHEN platform_inventory_item_id <> '' THEN platform_inventory_item_id "
          "ELSE platform_item_id END FROM item_mappings WHERE channel = $1 AND sku = $2 "
          "ORDER BY platform_item_id",
          channel, sku);
      if (connector == nullptr || r[8].as<std::string>().empty() || targets.empty()) {
        // Nothing to push to (no API configured, or the mapping went): settle it.
        tx.exec_params(
            "UPDATE pushes SET pushed_sequence = desired_sequence, last_error = $3 "
            "WHERE channel = $1 AND sku = $2",
            channel, sku, "no stock API or mapping to push to");
        result = "skipped";
        return true;
      }
      const ApiEndpoint api{r[8].as<std::string>(), r[9].as<std::string>(),
                            r[10].as<std::string>()};
      std::optional<int64_t> expected;
      if (!r[5].is_null()) expected = r[5].as<int64_t>();
      // An item with an open drift incident is frozen: offered as 0. After a failed
      // compare-and-set, no more than the platform showed.
      int64_t quantity = r[11].as<bool>() ? 0 : r[2].as<int64_t>();
      if (!r[12].is_null()) quantity = std::min(quantity, r[12].as<int64_t>());
      for (const auto& target : targets) {
        StockUpdate update{
            target[0].as<std::string>(), quantity, expected,
            // One key per distinct request (a retry sends the same).
            absl::StrCat("kura-", rpc::RequestDigest(absl::StrCat(channel, "|", sku, "|",
                                                                  target[0].as<std::string>(), "|",
                                                                  sequence, "|", quantity))),
            absl::FromUnixMicros(r[4].as<int64_t>())};
        Pace(channel, connector->Limits().requests_per_second);
        PushResult pushed_one = connector->Push(api, update);
        result = ResultName(pushed_one.outcome);
        switch (pushed_one.outcome) {
          case Outcome::kApplied:
            continue;
          case Outcome::kStale: {
            // The platform moved (a sale there kura has not heard of yet): learn its quantity,
            // and until kura's next value offer no more than it shows.
            auto current = connector->ReadStock(api, {update.item_id});
            if (!current.ok() || !current->count(update.item_id)) {
              later(absl::Seconds(1) * Jitter(), pushed_one.detail, true);
              return true;
            }
            tx.exec_params(
                "UPDATE pushes SET platform_quantity = $3, stale_cap = $3 "
                "WHERE channel = $1 AND sku = $2",
                channel, sku, current->at(update.item_id));
            later(absl::ZeroDuration(), pushed_one.detail, true);
            return true;
          }
          case Outcome::kThrottled:
            later(pushed_one.retry_after * (1 + Jitter()), pushed_one.detail, false);
            return true;
          case Outcome::kRetry:
            later(
                std::min(absl::Milliseconds(200) * (1 << std::min(attempts, 9)), absl::Minutes(1)) *
                    Jitter(),
                pushed_one.detail, true);
            return true;
          case Outcome::kRejected:
            log::Warn("stock push rejected",
                      {{"channel", channel}, {"sku", sku}, {"error", pushed_one.detail}});
            later(absl::Minutes(5), pushed_one.detail, true);
            return true;
        }
      }
      tx.exec_params(
          "UPDATE pushes SET pushed = $4, pushed_sequence = desired_sequence, "
          "platform_quantity = $4, stale_cap = NULL, attempts = 0, last_error = '', "
          "acknowledged_at = $3 "
          "WHERE channel = $1 AND sku = $2",
          channel, sku, SqlTime(clock_.Now()), quantity);
      lag = clock_.Now() - absl::FromUnixMicros(r[4].as<int64_t>());
      return true;
    });
  });
  if (pushed.ok() && *pushed && !result.empty()) {
    observer_.Pushed(platform, result);
    if (lag) observer_.SyncLag(*lag);
  }
  return pushed;
}

}  // namespace kura::connector
