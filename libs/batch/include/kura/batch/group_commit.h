#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/log/log.h"

namespace kura::batch {

/// How a group-commit writer gathers its batches.
struct GroupCommitOptions {
  /// At most this many items per batch (1: every item alone, the one-at-a-time baseline).
  int max_batch = 256;
  /// How long the writer waits for a burst to gather before it starts a batch.
  absl::Duration window = absl::Microseconds(500);
};

/// The histograms of one group-commit writer: `<prefix>_batch_size`,
/// `<prefix>_batch_queue_wait_seconds` and `<prefix>_batch_seconds`, labelled writer="<name>".
/// Writers of one process that share a prefix share the families.
struct GroupCommitMetrics {
  GroupCommitMetrics(prometheus::Registry& registry, const std::string& prefix,
                     const std::string& writer);
  prometheus::Histogram& batch_size;
  prometheus::Histogram& queue_wait;
  prometheus::Histogram& batch_seconds;
};

/// Group commit: callers Push items; one writer thread takes what is waiting — up to
/// `max_batch`, waiting at most `window` for a burst to gather (less once as many items wait as
/// its last batch had; not at all for a lone item after a lone item) — and hands the batch, in
/// arrival order, to `run`, which applies and commits it and returns the work of answering its
/// items. That work runs on a second thread, in batch order, so that the next batch starts at
/// once. An item whose deadline passes while it waits is not run but rejected with
/// DEADLINE_EXCEEDED. Thread-safe.
///
/// `run` gets the batch by reference and should move the items it answers into the answer it
/// returns only once it can no longer throw: if it throws, every item left in the vector is
/// rejected with INTERNAL. `reject` and the answers must not block; one that throws is logged
/// and dropped. An item rejected for its deadline is answered on the writer thread, possibly
/// before the answers of earlier batches.
template <typename Item>
class GroupCommit {
 public:
  using Answer = std::function<void()>;
  using Run = std::function<Answer(std::vector<Item>& batch)>;
  using Reject = std::function<void(Item&& item, absl::Status why)>;

  /// `metrics` may be null; `clock` judges deadlines. Both must outlive the writer.
  GroupCommit(GroupCommitOptions options, GroupCommitMetrics* metrics, const Clock& clock, Run run,
              Reject reject)
      : options_(options),
        metrics_(metrics),
        clock_(clock),
        run_(std::move(run)),
        reject_(std::move(reject)),
        answerer_([this] { AnswerLoop(); }),
        writer_([this] { WriteLoop(); }) {}

  /// Runs and answers everything queued, then stops the threads.
  ~GroupCommit() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    writer_.join();
    {
      std::lock_guard lock(answers_mu_);
      answers_stop_ = true;
    }
    answers_wake_.notify_all();
    answerer_.join();
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// Queues `item`. Once the writer is stopping, `item` is rejected with UNAVAILABLE at once, on
  /// this thread.
  void Push(Item item, std::optional<absl::Time> deadline = std::nullopt) {
    {
      std::lock_guard lock(mu_);
      if (!stop_) {
        queue_.push_back(Queued{std::move(item), deadline, absl::Now()});
        wake_.notify_one();
        return;
      }
    }
    reject_(std::move(item), absl::UnavailableError("the writer is shutting down"));
  }

 private:
  struct Queued {
    Item item;
    std::optional<absl::Time> deadline;
    absl::Time queued_at;
  };

  // Takes the next batch off the queue (waiting for a burst as described above); empty once
  // stopping and drained.
  std::vector<Queued> Take() ABSL_LOCKS_EXCLUDED(mu_) {
    std::unique_lock lock(mu_);
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return {};
    const size_t max = static_cast<size_t>(std::max(1, options_.max_batch));
    if (queue_.size() < max && options_.window > absl::ZeroDuration() &&
        (last_batch_size_ > 1 || queue_.size() > 1)) {
      wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.window), [&] {
        return stop_ || queue_.size() >= max || queue_.size() >= last_batch_size_;
      });
    }
    std::vector<Queued> taken;
    while (!queue_.empty() && taken.size() < max) {
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    last_batch_size_ = taken.size();
    return taken;
  }

  void WriteLoop() {
    while (true) {
      std::vector<Queued> taken = Take();
      if (taken.empty()) return;  // stopping and drained
      const absl::Time start = absl::Now();
      const absl::Time now = clock_.Now();
      std::vector<Item> batch;
      batch.reserve(taken.size());
      for (Queued& q : taken) {
        if (metrics_ != nullptr) {
          metrics_->queue_wait.Observe(absl::ToDoubleSeconds(start - q.queued_at));
        }
        if (q.deadline && *q.deadline <= now) {
          RejectItem(std::move(q.item),
                     absl::DeadlineExceededError("the deadline passed before the item's turn"));
        } else {
          batch.push_back(std::move(q.item));
        }
      }
      if (batch.empty()) continue;
      if (metrics_ != nullptr) metrics_->batch_size.Observe(static_cast<double>(batch.size()));
      Answer answer;
      try {
        answer = run_(batch);
      } catch (const std::exception& e) {
        for (Item& item : batch) {
          RejectItem(std::move(item),
                     absl::InternalError(std::string("batch failed: ") + e.what()));
        }
      } catch (...) {
        for (Item& item : batch) RejectItem(std::move(item), absl::InternalError("batch failed"));
      }
      if (metrics_ != nullptr) {
        metrics_->batch_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - start));
      }
      if (!answer) continue;
      {
        std::lock_guard lock(answers_mu_);
        answers_.push_back(std::move(answer));
      }
      answers_wake_.notify_one();
    }
  }

  void AnswerLoop() {
    while (true) {
      Answer answer;
      {
        std::unique_lock lock(answers_mu_);
        answers_wake_.wait(lock, [&] { return answers_stop_ || !answers_.empty(); });
        if (answers_.empty()) return;  // stopping and drained
        answer = std::move(answers_.front());
        answers_.pop_front();
      }
      try {
        answer();
      } catch (const std::exception& e) {
        log::Error("a group-commit answer failed", {{"error", e.what()}});
      } catch (...) {
        log::Error("a group-commit answer failed");
      }
    }
  }

  // reject_, which must not throw; should it, the failure is logged rather than ending the writer.
  void RejectItem(Item&& item, absl::Status why) noexcept {
    try {
      reject_(std::move(item), std::move(why));
    } catch (...) {
      log::Error("a group-commit rejection failed");
    }
  }

  const GroupCommitOptions options_;
  GroupCommitMetrics* const metrics_;
  const Clock& clock_;
  const Run run_;
  const Reject reject_;
  std::mutex mu_;  // std::mutex, not absl::Mutex: see docs/decisions/001
  std::condition_variable wake_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  size_t last_batch_size_ ABSL_GUARDED_BY(mu_) = 0;
  std::mutex answers_mu_;
  std::condition_variable answers_wake_;
  std::deque<Answer> answers_ ABSL_GUARDED_BY(answers_mu_);
  bool answers_stop_ ABSL_GUARDED_BY(answers_mu_) = false;
  std::thread answerer_;
  std::thread writer_;  // last: starts once the rest is built
};

}  // namespace kura::batch
