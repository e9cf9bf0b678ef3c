#include "replayer.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kura::pos_terminal {

ReplayReport Replayer::ReplayNow(const std::function<bool()>& cancelled) {
  std::lock_guard<std::mutex> lock(send_mu_);
  ReplayReport report;
  while (true) {
    if (cancelled()) {
      report.status = absl::CancelledError("the replay was cancelled");
      break;
    }
    absl::StatusOr<std::vector<JournalRecord>> batch = journal_.Pending(kBatch);
    if (!batch.ok()) {
      report.status = batch.status();
      break;
    }
    if (batch->empty()) break;
    v1::SyncJournalRequest request;
    request.set_store(catalog_.store());
    for (const JournalRecord& record : *batch) *request.add_entries() = record.entry;
    absl::StatusOr<v1::SyncJournalResponse> response = gateway_.SyncJournal(request);
    if (!response.ok()) {
      report.status = response.status();
      break;
    }
    std::map<std::string, const v1::JournalResult*> results;
    for (const v1::JournalResult& result : response->results()) {
      results[result.transaction_id()] = &result;
    }
    int64_t settled = 0;
    for (const JournalRecord& record : *batch) {
      auto it = results.find(record.transaction_id);
      if (it == results.end()) continue;  // Not answered: stays pending, sent again.
      const v1::JournalResult& result = *it->second;
      absl::Status marked;
      if (!result.error().empty()) {
        marked = journal_.MarkRefused(record.transaction_id, result.error());
        ++report.refused;
        console_.Line(absl::StrCat("REFUSED ", record.transaction_id,
                                   " by the gateway (not resent): ", result.error()));
      } else if (result.applied() || result.duplicate()) {
        marked = journal_.MarkSynced(record.transaction_id, result.oversold());
        ++(result.duplicate() ? report.duplicates : report.applied);
        if (result.oversold()) {
          ++report.oversold;
          console_.Line(absl::StrCat("OVERSOLD ", record.transaction_id,
                                     ": it drove stock below zero; the gateway recorded an "
                                     "oversold incident"));
        }
      } else {
        continue;
      }
      if (!marked.ok()) {
        report.status = marked;
        break;
      }
      ++settled;
    }
    if (!report.status.ok()) break;
    if (settled == 0) {
      report.status = absl::InternalError("the gateway settled no entry of the batch");
      break;
    }
  }
  if (absl::StatusOr<JournalCounts> counts = journal_.Counts(); counts.ok()) {
    report.pending = counts->pending;
  }
  return report;
}

BackgroundSync::BackgroundSync(Replayer& replayer, Journal& journal, Catalog& catalog,
                               Gateway& gateway, Console& console, absl::Duration interval,
                               absl::Duration catalog_interval)
    : replayer_(replayer),
      journal_(journal),
      catalog_(catalog),
      gateway_(gateway),
      console_(console),
      interval_(interval),
      catalog_interval_(catalog_interval) {
  thread_ = std::thread([this] { Run(); });
}

BackgroundSync::~BackgroundSync() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void BackgroundSync::Report(const std::string& line) {
  if (line == last_report_) return;
  last_report_ = line;
  console_.Line(line);
}

void BackgroundSync::RunOnce() {
  int64_t pending = 0;
  if (absl::StatusOr<JournalCounts> counts = journal_.Counts(); counts.ok()) {
    pending = counts->pending;
  }
  if (pending > 0) {
    ReplayReport report = replayer_.ReplayNow([this] { return Stopping(); });
    if (report.sent() > 0) {
      last_report_.clear();
      console_.Line(absl::StrCat("SYNC ", report.sent(), " sent (", report.applied, " applied, ",
                                 report.duplicates, " duplicate, ", report.refused, " refused); ",
                                 report.pending, " pending"));
    }
    if (!report.status.ok() && !IsUnreachable(report.status) && !IsUnauthorised(report.status) &&
        !absl::IsCancelled(report.status)) {
      Report(absl::StrCat("SYNC failed: ", Describe(report.status)));
    }
    pending = report.pending;
  }
  // A refused terminal: the replay just asked the gateway again; with nothing pending, the
  // catalog refresh or the probe does.
  const bool refused = !gateway_.refusal().ok();
  const absl::Time now = absl::Now();
  if (now >= next_catalog_ && (pending == 0 || (gateway_.online() && !refused))) {
    absl::StatusOr<int64_t> items = catalog_.RefreshFrom(gateway_, [this] { return Stopping(); });
    if (items.ok()) {
      // Said once at start, then only after a failure.
      if (!catalog_synced_) {
        last_report_.clear();
        console_.Line(absl::StrCat("CATALOG ", *items, " items synced"));
      }
      catalog_synced_ = true;
      next_catalog_ = now + catalog_interval_;
    } else {
      catalog_synced_ = false;
      if (!IsUnreachable(items.status()) && !IsUnauthorised(items.status()) &&
          !absl::IsCancelled(items.status())) {
        Report(absl::StrCat("CATALOG refresh failed: ", Describe(items.status())));
      }
    }
  } else if ((!gateway_.online() || refused) && pending == 0) {
    v1::GetCatalogRequest probe;
    probe.set_page_size(1);
    probe.set_store(catalog_.store());
    (void)gateway_.GetCatalog(probe);
  }
}

bool BackgroundSync::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

void BackgroundSync::Run() {
  while (true) {
    RunOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock,
                       absl::ToChronoSeconds(interval_) +
                           absl::ToChronoMilliseconds(interval_ % absl::Seconds(1)),
                       [this] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace kura::pos_terminal
