#include "pusher.h"

#include <algorithm>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "connector.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/log/log.h"

namespace kura::connector {
namespace {

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
  ASSIGN_OR_RETURN(const int64_t from, store_.Cursor());
  ASSIGN_OR_RETURN(std::vector<RefreshRequest> refreshed, store_.Refreshes());
  ledger_v1::ListChangesRequest list;
  list.set_after_sequence(from);
  list.set_page_size(500);
  ASSIGN_OR_RETURN(
      auto page,
      clients_.Call(*clients_.feed, &ledger_v1::ChangeFeedService::Stub::ListChanges, list));
  if (page.events().empty() && refreshed.empty()) return 0;

  // What changed: items (with their latest commit), and channels whose settings changed.
  std::map<std::string, absl::Time> touched;
  std::set<std::string> channels_changed;
  for (const auto& e : page.events()) {
    const absl::Time at = FromProto(e.commit_time());
    if (e.has_availability_changed()) touched[e.availability_changed().sku()] = at;
    if (e.has_oversold()) touched[e.oversold().sku()] = at;
    if (e.has_channel_changed()) channels_changed.insert(e.channel_changed().channel());
  }
  FollowPlan plan;
  plan.from = from;
  plan.to = page.events().empty() ? from : page.events(page.events_size() - 1).sequence();
  const absl::Time last_at = page.events().empty()
                                 ? clock_.Now()
                                 : FromProto(page.events(page.events_size() - 1).commit_time());
  // Items whose mapping or connection changed are worked out afresh too.
  for (const auto& r : refreshed) touched.emplace(r.sku, clock_.Now());
  for (const auto& channel : channels_changed) {
    ASSIGN_OR_RETURN(auto skus, store_.MappedSkus(channel));
    for (const auto& sku : skus) touched.emplace(sku, last_at);
  }
  // The connected channels that sell them, and what each may offer.
  std::vector<std::string> skus;
  for (const auto& [sku, _] : touched) skus.push_back(sku);
  ASSIGN_OR_RETURN(auto channels_of, store_.ConnectedChannels(skus));
  if (!channels_of.empty()) {
    std::set<std::string> channels;
    for (const auto& [_, sku_channels] : channels_of) {
      channels.insert(sku_channels.begin(), sku_channels.end());
    }
    std::map<std::pair<std::string, std::string>, int64_t> atp;  // (channel, sku)
    ledger_v1::GetAvailabilityRequest ask;
    for (const auto& channel : channels) ask.add_channels(channel);
    auto it = channels_of.begin();
    while (it != channels_of.end()) {  // at most 1000 items a call
      ask.clear_skus();
      for (; it != channels_of.end() && ask.skus_size() < 1000; ++it) ask.add_skus(it->first);
      ASSIGN_OR_RETURN(
          auto rows,
          clients_.Call(*clients_.ledger, &ledger_v1::LedgerService::Stub::GetAvailability, ask));
      for (const auto& row : rows.rows()) {
        atp[{row.channel(), row.sku()}] += std::max<int64_t>(0, row.available_to_promise());
      }
    }
    for (const auto& [sku, sku_channels] : channels_of) {
      for (const auto& channel : sku_channels) {
        plan.values.push_back({channel, sku, atp[{channel, sku}], touched[sku]});
      }
    }
  }
  plan.refreshed = std::move(refreshed);
  // Recorded only if no other follower moved the cursor meanwhile (its values are as new).
  ASSIGN_OR_RETURN(const bool recorded, store_.Commit(plan, clock_.Now()));
  if (!recorded) return 0;
  return page.events_size() + static_cast<int>(plan.refreshed.size());
}

absl::Duration Pusher::Reserve(const std::string& channel, const RateLimit& limit) {
  std::lock_guard lock(pace_mu_);
  const absl::Time now = absl::Now();
  auto it = buckets_.try_emplace(channel, limit, now).first;
  return it->second.Take(limit, now);
}

Pusher::FirstTurn Pusher::ReserveFirst(const std::string& channel, const RateLimit& limit) {
  std::lock_guard lock(pace_mu_);
  if (auto w = waiting_.find(channel); w != waiting_.end()) return {{}, w->second};
  const absl::Time now = absl::Now();
  auto it = buckets_.try_emplace(channel, limit, now).first;
  const absl::Duration wait = it->second.Take(limit, now);
  if (wait > absl::ZeroDuration()) waiting_[channel] = now + wait;
  return {wait, std::nullopt};
}

void Pusher::Waited(const std::string& channel) {
  std::lock_guard lock(pace_mu_);
  waiting_.erase(channel);
}

void Pusher::Pace(const std::string& channel, const RateLimit& limit) {
  absl::SleepFor(Reserve(channel, limit));
}

void Pusher::Learn(const std::string& channel, const RateLimit& limit,
                   const std::vector<PushResult>& answered) {
  for (const auto& r : answered) {
    if (!r.budget) continue;
    std::lock_guard lock(pace_mu_);
    auto it = buckets_.find(channel);
    if (it != buckets_.end()) it->second.Learn(*r.budget, limit, absl::Now());
    return;
  }
}

absl::StatusOr<std::optional<absl::Time>> Pusher::NextDue() {
  ASSIGN_OR_RETURN(std::optional<absl::Time> due, store_.NextDue());
  if (!due) return due;
  // What is due may be a waited-for channel's, which its waiter takes on at its turn: look again
  // then at the earliest (another channel's work wakes the pushers as it comes).
  std::lock_guard lock(pace_mu_);
  std::optional<absl::Time> earliest;
  for (const auto& [_, turn] : waiting_) {
    if (!earliest || turn < *earliest) earliest = turn;
  }
  if (earliest && *due < *earliest) due = earliest;
  return due;
}

absl::StatusOr<bool> Pusher::PushNext() {
  // Long enough for the rate limit's wait and the platform's answer; a pusher that dies leaves
  // its claim to lapse.
  constexpr absl::Duration kLease = absl::Minutes(5);
  // Channels whose waiting pusher takes on what comes due until its turn are left to it.
  std::vector<std::string> waited_for;
  {
    std::lock_guard lock(pace_mu_);
    for (const auto& [channel, _] : waiting_) waited_for.push_back(channel);
  }
  ASSIGN_OR_RETURN(std::optional<PushClaim> claim,
                   store_.Claim(
                       clock_.Now(), kLease,
                       [](const std::string& platform) {
                         const Connector* c = FindConnector(platform);
                         return c == nullptr ? 100 : c->Limits().items_per_call;
                       },
                       waited_for));
  if (!claim) return false;
  const Connector* connector = FindConnector(claim->platform);
  // The first call's turn in the platform's budget is taken now. After a wait for it, the claim
  // takes on the values that came meanwhile (newer values of its items, and the channel's items
  // that came due), so that they go in this call rather than one turn later. One pusher waits
  // per channel: another that claims meanwhile gives its claim back for the waiter to take on.
  bool first_call_paced = false;
  if (connector != nullptr && !claim->api.base_url.empty()) {
    const RateLimit limit = connector->Limits();
    const FirstTurn turn = ReserveFirst(claim->channel, limit);
    if (turn.waiter_turn) {
      // Due again at the waiter's turn (clock_ and absl::Now() agree but in tests).
      RETURN_IF_ERROR(store_.Release(*claim, clock_.Now() + (*turn.waiter_turn - absl::Now())));
      return false;
    }
    if (turn.wait > absl::ZeroDuration()) {
      absl::SleepFor(turn.wait);
      absl::Status renewed =
          store_.Renew(*claim, clock_.Now(), kLease, std::max(1, limit.items_per_call));
      Waited(claim->channel);
      RETURN_IF_ERROR(renewed);
      if (claim->pushes.empty()) return true;  // the claim lapsed meanwhile
    }
    first_call_paced = true;
  }
  const auto& pushes = claim->pushes;

  // One update per platform item mapped to each claimed push.
  std::vector<PushRecord> records;
  std::vector<StockUpdate> updates;
  std::vector<size_t> owner;  // updates[j] is for pushes[owner[j]]
  for (size_t i = 0; i < pushes.size(); ++i) {
    const ClaimedPush& p = pushes[i];
    if (connector == nullptr || claim->api.base_url.empty() || p.targets.empty()) {
      // Nothing to push to (no API configured, or the mapping went): settle it.
      records.push_back({.sku = p.sku,
                         .kind = PushRecord::Kind::kSettled,
                         .sequence = p.sequence,
                         .error = "no stock API or mapping to push to"});
      continue;
    }
    for (const auto& target : p.targets) {
      updates.push_back({target, p.quantity, p.platform_quantity,
                         // One key per distinct request (a retry sends the same).
                         absl::StrCat("kura-", rpc::RequestDigest(absl::StrCat(
                                                   claim->channel, "|", p.sku, "|", target, "|",
                                                   p.sequence, "|", p.quantity))),
                         p.as_of});
      owner.push_back(i);
    }
  }

  // The calls, within the platform's budget, with no transaction open.
  std::vector<PushResult> results;
  if (!updates.empty()) {
    const RateLimit limit = connector->Limits();
    const size_t per_call = static_cast<size_t>(std::max(1, limit.items_per_call));
    for (size_t begin = 0; begin < updates.size(); begin += per_call) {
      std::vector<StockUpdate> chunk(
          updates.begin() + static_cast<ptrdiff_t>(begin),
          updates.begin() + static_cast<ptrdiff_t>(std::min(updates.size(), begin + per_call)));
      if (!std::exchange(first_call_paced, false)) Pace(claim->channel, limit);
      std::vector<PushResult> answered = connector->Push(claim->api, chunk);
      Learn(claim->channel, limit, answered);
      answered.resize(chunk.size());  // (a connector answers each; kRetry if one did not)
      const bool whole_call_refused =
          chunk.size() > 1 && std::all_of(answered.begin(), answered.end(), [](const auto& r) {
            return r.outcome == Outcome::kRejected;
          });
      if (whole_call_refused) {
        // One bad item (deleted on the platform, say) refuses a whole call: each is sent alone,
        // so that only the bad one waits.
        for (size_t k = 0; k < chunk.size(); ++k) {
          Pace(claim->channel, limit);
          std::vector<PushResult> alone = connector->Push(claim->api, {chunk[k]});
          answered[k] = alone.empty() ? PushResult{} : std::move(alone[0]);
        }
      }
      for (auto& r : answered) results.push_back(std::move(r));
    }
  }
  // A push is applied when every platform item took it; otherwise its first refusal decides.
  std::vector<std::optional<size_t>> decisive(pushes.size());  // index into updates
  for (size_t j = 0; j < updates.size(); ++j) {
    auto& d = decisive[owner[j]];
    if (!d ||
        (results[*d].outcome == Outcome::kApplied && results[j].outcome != Outcome::kApplied)) {
      d = j;
    }
  }
  // Stale compare-and-sets: learn the platform's quantities in one read.
  std::vector<std::string> stale_items;
  for (const auto& d : decisive) {
    if (d && results[*d].outcome == Outcome::kStale) stale_items.push_back(updates[*d].item_id);
  }
  absl::StatusOr<std::map<std::string, int64_t>> current = std::map<std::string, int64_t>();
  if (!stale_items.empty()) {
    Pace(claim->channel, connector->Limits());
    current = connector->ReadStock(claim->api, stale_items);
  }

  const absl::Time now = clock_.Now();
  for (size_t i = 0; i < pushes.size(); ++i) {
    if (!decisive[i]) continue;
    const ClaimedPush& p = pushes[i];
    const PushResult& r = results[*decisive[i]];
    PushRecord record{.sku = p.sku, .sequence = p.sequence, .error = r.detail};
    switch (r.outcome) {
      case Outcome::kApplied:
        record.kind = PushRecord::Kind::kApplied;
        record.quantity = p.quantity;
        observer_.SyncLag(claim->platform, now - p.as_of);
        break;
      case Outcome::kStale: {
        // The platform moved (a sale there kura has not heard of yet): learn its quantity,
        // and until kura's next value offer no more than it shows. A level the platform does
        // not have (forgotten, never set there) is set without compare-and-set.
        if (!current.ok()) {
          record.retry_at = now + absl::Seconds(1) * Jitter();
        } else if (auto it = current->find(updates[*decisive[i]].item_id); it != current->end()) {
          record.kind = PushRecord::Kind::kStale;
          record.quantity = it->second;
        } else {
          record.kind = PushRecord::Kind::kUnknown;
        }
        break;
      }
      case Outcome::kThrottled:
        record.retry_at = now + r.retry_after * (1 + Jitter());
        record.count_attempt = false;
        break;
      case Outcome::kRetry:
        record.retry_at = now + std::min(absl::Milliseconds(200) * (1 << std::min(p.attempts, 9)),
                                         absl::Minutes(1)) *
                                    Jitter();
        break;
      case Outcome::kRejected:
        log::Warn("stock push rejected",
                  {{"channel", claim->channel}, {"sku", p.sku}, {"error", r.detail}});
        record.retry_at = now + absl::Minutes(5);
        break;
    }
    records.push_back(std::move(record));
    observer_.Pushed(claim->platform, ResultName(r.outcome));
  }
  for (const auto& r : records) {
    if (r.kind == PushRecord::Kind::kSettled) observer_.Pushed(claim->platform, "skipped");
  }
  RETURN_IF_ERROR(store_.Record(*claim, records, now));
  return true;
}

}  // namespace kura::connector
